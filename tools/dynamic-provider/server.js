// @ts-check
// The engine's dynamic-provider plugin (`pulumi-resource-pulumi-nodejs`), as
// this project's toolchain runs it: the same gRPC service as Pulumi's own
// (`@pulumi/pulumi/cmd/dynamic-provider`, which this file follows method by
// method), without loading Pulumi's SDK runtime.
//
// Why: Pulumi's host `require`s `@pulumi/pulumi/runtime` to use three
// constants and one small function from it, and that loads 811 modules
// (TypeScript, the closure serializer's package analysis, OpenTelemetry...):
// 0.6-0.9 s of CPU on every start, and every `pulumi` command starts it once per
// pass (twice for up, refresh and destroy). This one loads what the service
// needs, about 75 modules: gRPC, the generated protocol code and
// require-from-string, all resolved from the program's own @pulumi/pulumi
// (so the versions are the ones Pulumi's host would use).
//
// Faithful by construction, or not used: it serves only when the program's
// `cmd/dynamic-provider` files are byte for byte the ones it was checked
// against (KNOWN_HOSTS, by SHA-256; test/unit/dynamicProviderHost.test.ts
// runs both servers on the same requests and compares the answers). For any
// other @pulumi/pulumi, or with HOSTNET_DYNAMIC_PROVIDER=pulumi, it runs
// Pulumi's host itself, in this process.
//
// Started by tools/dynamic-provider/pulumi-resource-pulumi-nodejs, in the
// program's folder, with the engine's address as its argument.
"use strict";

const { createHash } = require("node:crypto");
const { readFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const path = require("node:path");

/**
 * SHA-256 of `cmd/dynamic-provider/index.js` and `config.js` of the
 * @pulumi/pulumi releases this file follows, checked by the parity test.
 */
const KNOWN_HOSTS = {
    "3.248.0": {
        "index.js": "2a04fcb18068bd824db540ad9a6b31c0f724c0b56fc8509b88d706912144b0a3",
        "config.js": "be41c3eb0cce2773c91b618fb23046ef586c28c9f70f3898fe39601d063590ff",
    },
};

/**
 * Pulumi's dynamic-provider script as `require.resolve` finds it from the
 * program's folder (what Pulumi's own launcher runs).
 * @returns {string}
 */
function pulumiHostScript() {
    return createRequire(path.join(process.cwd(), "noop.js")).resolve("@pulumi/pulumi/cmd/dynamic-provider");
}

/**
 * True when this file may serve instead of Pulumi's host at `script`.
 * @param {string} script
 * @returns {boolean}
 */
function mirrors(script) {
    if (process.env.HOSTNET_DYNAMIC_PROVIDER === "pulumi") return false;
    const dir = path.dirname(script);
    const sha = (/** @type {string} */ file) =>
        createHash("sha256")
            .update(readFileSync(path.join(dir, file)))
            .digest("hex");
    return Object.values(KNOWN_HOSTS).some((files) => Object.entries(files).every(([file, hash]) => sha(file) === hash));
}

const hostScript = pulumiHostScript();
if (mirrors(hostScript)) serve(hostScript, process.argv.slice(2));
// Pulumi's host runs its main() on load, with this process's arguments.
else require(hostScript);

/**
 * Serves the ResourceProvider gRPC service as Pulumi's host does, with the
 * modules Pulumi's host would load, resolved from it.
 * @param {string} script Pulumi's host, for module resolution
 * @param {string[]} args the engine's address (required, unused, as there)
 */
function serve(script, args) {
    const load = createRequire(script);
    // As in Pulumi's host, source maps for the stack traces it prints: installed before the first one is
    // formatted (a stack is formatted when first read), not at start (14 modules fewer).
    let sourceMaps = false;
    const withSourceMaps = () => {
        if (!sourceMaps) load("source-map-support/register");
        sourceMaps = true;
    };
    const grpc = load("@grpc/grpc-js");
    const anyproto = load("google-protobuf/google/protobuf/any_pb");
    const emptyproto = load("google-protobuf/google/protobuf/empty_pb");
    const structproto = load("google-protobuf/google/protobuf/struct_pb");
    const plugproto = load("../../proto/plugin_pb");
    const provrpc = load("../../proto/provider_grpc_pb");
    const provproto = load("../../proto/provider_pb");
    const statusproto = load("../../proto/status_pb");
    const { version } = load("../../version");
    const { Config } = load("./config");
    const requireFromString = load("require-from-string");

    // runtime/rpc.js and runtime/settings.js, the values Pulumi's host takes from them.
    const unknownValue = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const specialSigKey = "4dabf18193072939515e22adb298388d";
    const specialSecretSig = "1b47061264138c4ac30d75fd1eb44270";
    /** @param {any} obj */
    const unwrapRpcSecret = (obj) => (obj && obj[specialSigKey] === specialSecretSig ? obj.value : obj);
    const grpcChannelOptions = {
        "grpc.max_receive_message_length": 1024 * 1024 * 400,
        "grpc.server_max_unrequested_time_in_server": 30 * 60,
    };
    // runtime/state.js: the project name the SDK's settings report outside a program.
    const project = process.env.PULUMI_NODEJS_PROJECT || "project";

    const providerKey = "__provider";

    /** @type {Set<unknown>} */
    const uncaughtErrors = new Set();
    /** @param {any} err */
    const uncaughtHandler = (err) => {
        withSourceMaps();
        if (!uncaughtErrors.has(err)) {
            uncaughtErrors.add(err);
            console.error(err.stack || err.message || "" + err);
        }
    };
    process.on("uncaughtException", uncaughtHandler);
    process.on("unhandledRejection", uncaughtHandler);
    process.on("exit", (code) => {
        if (code === 0 && uncaughtErrors.size > 0) process.exitCode = 1;
    });

    /** @type {Record<string, any>} */
    const providerCache = {};

    /**
     * The provider of `props[__provider]`, loaded and configured once per text.
     * @param {Record<string, any>} props
     * @param {Record<string, any> | undefined} rawConfig
     */
    async function getProvider(props, rawConfig) {
        const providerString = props[providerKey];
        let provider = providerCache[providerString];
        if (!provider) {
            provider = requireFromString(providerString).handler();
            providerCache[providerString] = provider;
            if (provider.configure) {
                await provider.configure({ config: new Config(rawConfig, project) });
            }
        }
        return provider;
    }

    /**
     * @param {any} result
     * @param {Record<string, any>} props
     */
    function resultIncludingProvider(result, props) {
        return Object.assign(result || {}, { [providerKey]: props[providerKey] });
    }

    /** @param {any} e */
    function grpcResponseFromError(e) {
        const resp = new statusproto.Status();
        resp.setCode(grpc.status.UNKNOWN);
        resp.setMessage(e.message);
        const metadata = new grpc.Metadata();
        if (e.id) {
            // Created, but failed to initialize: the details carry what was created.
            const detail = new provproto.ErrorResourceInitFailed();
            detail.setId(e.id);
            detail.setProperties(structproto.Struct.fromJavaScript(e.properties || {}));
            detail.setReasonsList(e.reasons || []);
            const details = new anyproto.Any();
            details.pack(detail.serializeBinary(), "pulumirpc.ErrorResourceInitFailed");
            resp.addDetails(details);
            metadata.add("grpc-status-details-bin", Buffer.from(resp.serializeBinary()));
        }
        return { code: grpc.status.UNKNOWN, message: e.message, metadata };
    }

    /** @param {string} what */
    const unimplemented = (what) => ({ code: grpc.status.UNIMPLEMENTED, details: `${what} is not implemented by the dynamic provider` });

    /** @typedef {(err: any, value?: any, metadata?: any) => void} Callback */
    /** @typedef {{ request: any }} Call */

    class ResourceProviderService {
        constructor() {
            /** @type {Record<string, any> | undefined} */
            this.config = undefined;
        }
        /** @param {Call} _call @param {Callback} callback */
        cancel(_call, callback) {
            callback(undefined, new emptyproto.Empty());
        }
        /** @param {Call} call @param {Callback} callback */
        async configure(call, callback) {
            const protoArgs = call.request.getArgs();
            if (!protoArgs) throw new Error("ConfigureRequest missing args");
            const args = protoArgs.toJavaScript();
            /** @type {Record<string, any>} */
            const config = {};
            for (const [k, v] of Object.entries(args)) {
                if (k === providerKey) continue;
                config[k] = unwrapRpcSecret(v);
            }
            this.config = config;
            const resp = new provproto.ConfigureResponse();
            resp.setAcceptsecrets(false);
            callback(undefined, resp);
        }
        /** @param {Call} call @param {Callback} callback */
        async invoke(call, callback) {
            callback(new Error(`unknown function ${call.request.getTok()}`), undefined);
        }
        /** @param {Call} call @param {Callback} callback */
        async check(call, callback) {
            try {
                const req = call.request;
                const resp = new provproto.CheckResponse();
                const olds = req.getOlds().toJavaScript();
                const news = req.getNews().toJavaScript();
                const provider = await getProvider(news[providerKey] === unknownValue ? olds : news, this.config);
                let inputs = news;
                let failures = [];
                if (provider.check) {
                    const result = await provider.check(olds, news);
                    if (result.inputs) inputs = result.inputs;
                    if (result.failures) failures = result.failures;
                } else {
                    inputs = news;
                }
                inputs[providerKey] = news[providerKey];
                resp.setInputs(structproto.Struct.fromJavaScript(inputs));
                if (failures.length !== 0) {
                    const failureList = [];
                    for (const f of failures) {
                        const failure = new provproto.CheckFailure();
                        failure.setProperty(f.property);
                        failure.setReason(f.reason);
                        failureList.push(failure);
                    }
                    resp.setFailuresList(failureList);
                }
                callback(undefined, resp);
            } catch (/** @type {any} */ e) {
                withSourceMaps();
                console.error(`${e}: ${e.stack}`);
                callback(e, undefined);
            }
        }
        /** @param {Call} _call @param {Callback} callback */
        checkConfig(_call, callback) {
            callback(unimplemented("CheckConfig"), undefined);
        }
        /** @param {Call} call @param {Callback} callback */
        async diff(call, callback) {
            try {
                const req = call.request;
                const resp = new provproto.DiffResponse();
                // As Pulumi's host: a changed provider text alone is no reason to replace.
                const olds = req.getOlds().toJavaScript();
                const news = req.getNews().toJavaScript();
                const provider = await getProvider(news[providerKey] === unknownValue ? olds : news, this.config);
                if (provider.diff) {
                    const result = await provider.diff(req.getId(), olds, news);
                    if (result.changes === true) resp.setChanges(provproto.DiffResponse.DiffChanges.DIFF_SOME);
                    else if (result.changes === false) resp.setChanges(provproto.DiffResponse.DiffChanges.DIFF_NONE);
                    else resp.setChanges(provproto.DiffResponse.DiffChanges.DIFF_UNKNOWN);
                    if (result.replaces && result.replaces.length !== 0) resp.setReplacesList(result.replaces);
                    if (result.deleteBeforeReplace) resp.setDeletebeforereplace(result.deleteBeforeReplace);
                }
                callback(undefined, resp);
            } catch (/** @type {any} */ e) {
                withSourceMaps();
                console.error(`${e}: ${e.stack}`);
                callback(e, undefined);
            }
        }
        /** @param {Call} _call @param {Callback} callback */
        diffConfig(_call, callback) {
            callback(unimplemented("DiffConfig"), undefined);
        }
        /** @param {Call} call @param {Callback} callback */
        async create(call, callback) {
            try {
                const req = call.request;
                const resp = new provproto.CreateResponse();
                const props = req.getProperties().toJavaScript();
                const provider = await getProvider(props, this.config);
                const result = await provider.create(props);
                const resultProps = resultIncludingProvider(result.outs, props);
                resp.setId(result.id);
                resp.setProperties(structproto.Struct.fromJavaScript(resultProps));
                callback(undefined, resp);
            } catch (e) {
                const response = grpcResponseFromError(e);
                return callback(response, null, response.metadata);
            }
        }
        /** @param {Call} call @param {Callback} callback */
        async read(call, callback) {
            try {
                const req = call.request;
                const resp = new provproto.ReadResponse();
                const id = req.getId();
                const props = req.getProperties().toJavaScript();
                const provider = await getProvider(props, this.config);
                if (provider.read) {
                    // The provider's read, with __provider carried along so that later calls still find it.
                    const result = await provider.read(id, props);
                    resp.setId(result.id);
                    const resultProps = resultIncludingProvider(result.props, props);
                    resp.setProperties(structproto.Struct.fromJavaScript(resultProps));
                    if (result.inputs) {
                        const resultInputs = resultIncludingProvider(result.inputs, props);
                        resp.setInputs(structproto.Struct.fromJavaScript(resultInputs));
                    }
                } else {
                    resp.setId(id);
                    resp.setProperties(req.getProperties());
                }
                callback(undefined, resp);
            } catch (/** @type {any} */ e) {
                withSourceMaps();
                console.error(`${e}: ${e.stack}`);
                callback(e, undefined);
            }
        }
        /** @param {any} call */
        list(call) {
            call.emit("error", { code: grpc.status.UNIMPLEMENTED, details: "List is not implemented by the dynamic provider" });
        }
        /** @param {Call} call @param {Callback} callback */
        async update(call, callback) {
            try {
                const req = call.request;
                const resp = new provproto.UpdateResponse();
                const olds = req.getOlds().toJavaScript();
                const news = req.getNews().toJavaScript();
                let result = {};
                const provider = await getProvider(news, this.config);
                if (provider.update) result = (await provider.update(req.getId(), olds, news)) || {};
                const resultProps = resultIncludingProvider(/** @type {any} */ (result).outs, news);
                resp.setProperties(structproto.Struct.fromJavaScript(resultProps));
                callback(undefined, resp);
            } catch (e) {
                const response = grpcResponseFromError(e);
                return callback(response, null, response.metadata);
            }
        }
        /** @param {Call} call @param {Callback} callback */
        async delete(call, callback) {
            try {
                const req = call.request;
                const props = req.getProperties().toJavaScript();
                const provider = await getProvider(props, this.config);
                if (provider.delete) await provider.delete(req.getId(), props);
                callback(undefined, new emptyproto.Empty());
            } catch (/** @type {any} */ e) {
                withSourceMaps();
                console.error(`${e}: ${e.stack}`);
                callback(e, undefined);
            }
        }
        /** @param {Call} _call @param {Callback} callback */
        async getPluginInfo(_call, callback) {
            const resp = new plugproto.PluginInfo();
            resp.setVersion(version);
            callback(undefined, resp);
        }
        /** @param {Call} _call @param {Callback} callback */
        handshake(_call, callback) {
            callback(unimplemented("Handshake"), undefined);
        }
        /** @param {Call} _call @param {Callback} callback */
        getSchema(_call, callback) {
            callback(unimplemented("GetSchema"), undefined);
        }
        /** @param {Call} _call @param {Callback} callback */
        construct(_call, callback) {
            callback(unimplemented("Construct"), undefined);
        }
        /** @param {Call} _call @param {Callback} callback */
        parameterize(_call, callback) {
            callback(unimplemented("Parameterize"), undefined);
        }
        /** @param {Call} _call @param {Callback} callback */
        call(_call, callback) {
            callback(unimplemented("Call"), undefined);
        }
        /** @param {Call} _call @param {Callback} callback */
        attach(_call, callback) {
            callback(unimplemented("Attach"), undefined);
        }
        /** @param {Call} _call @param {Callback} callback */
        getMapping(_call, callback) {
            callback(unimplemented("GetMapping"), undefined);
        }
        /** @param {Call} _call @param {Callback} callback */
        getMappings(_call, callback) {
            callback(unimplemented("GetMappings"), undefined);
        }
    }

    if (args.length === 0) {
        console.error("fatal: Missing <engine> address");
        process.exit(-1);
    }
    const server = new grpc.Server({ ...grpcChannelOptions });
    server.addService(provrpc.ResourceProviderService, new ResourceProviderService());
    server.bindAsync(
        `127.0.0.1:0`,
        grpc.ServerCredentials.createInsecure(),
        (/** @type {Error | null} */ err, /** @type {number} */ port) => {
            if (err) {
                // As Pulumi's host: its main() rejects, an unhandled rejection.
                uncaughtHandler(err);
                process.exitCode = 1;
                return;
            }
            // The engine reads the port from the first line of output.
            console.log(port.toString());
        },
    );
}
