// The toolchain's dynamic-provider server (tools/dynamic-provider/server.js)
// against the one it stands in for, @pulumi/pulumi's cmd/dynamic-provider:
// both started as the engine starts them (in a project folder, with an engine
// address), then sent the same gRPC requests in the same order, every method
// of the ResourceProvider service: successes, check failures, unknown
// provider texts, errors with and without a created id, missing provider
// methods, configuration with secrets, and the methods neither implements.
// Each answer (the response, or the error's code, message and status details)
// must be the same. Then: what each loads (modules, CPU to its first answer),
// and that it steps aside for Pulumi's host when asked or when that host is
// not the one it was checked against.

import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import { projectRoot } from "../helpers/pulumi";

const SERVER = join(projectRoot, "tools", "dynamic-provider", "server.js");
const PULUMI_HOST = join(projectRoot, "node_modules", "@pulumi", "pulumi", "cmd", "dynamic-provider", "index.js");

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const SECRET = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "s3cret" };

/** A provider exercising every branch the hosts take, deterministic, as a `__provider` text. */
const FULL = `exports.handler = () => ({
    async check(olds, news) {
        if (news.fail) return { inputs: news, failures: [{ property: "fail", reason: "bad value" }, { property: "x", reason: "also" }] };
        if (news.throwCheck) throw new Error("check threw");
        return { inputs: { ...news, checked: true, oldX: olds.x ?? null } };
    },
    async diff(id, olds, news) {
        if (news.mode === "unknown") return {};
        if (news.throwDiff) throw new Error("diff threw");
        return { changes: olds.x !== news.x, replaces: news.replace ? ["x", "y"] : [], deleteBeforeReplace: !!news.dbr };
    },
    async create(inputs) {
        if (inputs.initFail) { const e = new Error("made, not ready"); e.id = "half-1"; e.properties = { a: 1, b: [true] }; e.reasons = ["r1", "r2"]; throw e; }
        if (inputs.throwCreate) throw new Error("create threw");
        return { id: "id-" + inputs.x, outs: { ...inputs, made: true } };
    },
    async read(id, props) {
        if (props.gone) return { id: "", props: {} };
        return { id, props: { ...props, read: true }, inputs: props.withInputs ? { x: props.x } : undefined };
    },
    async update(id, olds, news) {
        if (news.throwUpdate) { const e = new Error("update half done"); e.id = id; e.properties = { x: news.x }; throw e; }
        return news.noOuts ? undefined : { outs: { ...news, updated: id, was: olds.x } };
    },
    async delete(id, props) { if (props.throwDelete) throw new Error("delete threw: " + id); },
});
`;

/** A provider with create only: the hosts' defaults for everything else. */
const BARE = `exports.handler = () => ({ async create(inputs) { return { id: "bare", outs: { made: inputs.x } }; } });\n`;

/** A provider that reads its configuration. */
const CONFIGURED = `exports.handler = () => {
    let seen;
    return {
        async configure(req) { seen = { key: req.config.get("key"), full: req.config.get("other:key") ?? null, missing: req.config.get("nope") ?? null }; },
        async create() { return { id: "cfg", outs: seen }; },
    };
};
`;

interface Running {
    child: ChildProcess;
    client: provrpc.ResourceProviderClient;
    stderr: string[];
}

async function start(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Running> {
    const child = spawn("node", argv, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const stderr: string[] = [];
    child.stderr!.on("data", (c: Buffer) => stderr.push(c.toString()));
    const port = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout!.on("data", (c: Buffer) => {
            out += c.toString();
            if (out.includes("\n")) resolve(out.split("\n")[0].trim());
        });
        child.on("exit", (code) => reject(new Error(`${argv.join(" ")} exited ${code} before printing its port: ${stderr.join("")}`)));
    });
    return { child, client: new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()), stderr };
}

function stop(r: Running | undefined): void {
    r?.client.close();
    r?.child.kill("SIGKILL");
}

type Answer = { ok: unknown } | { error: { code: number; details: string; statusDetails?: string } };

/** One unary call, as its answer: the response as an object, or the error's code, details and status details. */
function ask(r: Running, method: string, request: any): Promise<Answer> {
    return new Promise((resolve) => {
        const deadline = new Date(Date.now() + 3000);
        (r.client as any)[method](request, new grpc.Metadata(), { deadline }, (err: grpc.ServiceError | null, resp: any) => {
            if (err) {
                const bin = err.metadata?.get("grpc-status-details-bin")[0];
                resolve({
                    error: {
                        code: err.code,
                        details: err.details,
                        ...(bin ? { statusDetails: Buffer.from(bin as Buffer).toString("base64") } : {}),
                    },
                });
            } else resolve({ ok: resp?.toObject ? resp.toObject() : resp });
        });
    });
}

const struct = (v: Record<string, unknown>) => Struct.fromJavaScript(v as any);

/** The requests, in order: [label, method, request]. */
function requests(): [string, string, any][] {
    const out: [string, string, any][] = [];
    const add = (label: string, method: string, build: () => any) => out.push([label, method, build()]);
    const check = (olds: Record<string, unknown>, news: Record<string, unknown>) => {
        const r = new provproto.CheckRequest();
        r.setUrn("urn:pulumi:s::p::pulumi-nodejs:dynamic:Resource::r");
        r.setOlds(struct(olds));
        r.setNews(struct(news));
        return r;
    };
    const diff = (olds: Record<string, unknown>, news: Record<string, unknown>) => {
        const r = new provproto.DiffRequest();
        r.setId("id-1");
        r.setUrn("urn:pulumi:s::p::pulumi-nodejs:dynamic:Resource::r");
        r.setOlds(struct(olds));
        r.setNews(struct(news));
        return r;
    };
    const create = (props: Record<string, unknown>) => {
        const r = new provproto.CreateRequest();
        r.setUrn("urn:pulumi:s::p::pulumi-nodejs:dynamic:Resource::r");
        r.setProperties(struct(props));
        return r;
    };
    const read = (id: string, props: Record<string, unknown>) => {
        const r = new provproto.ReadRequest();
        r.setId(id);
        r.setUrn("urn:pulumi:s::p::pulumi-nodejs:dynamic:Resource::r");
        r.setProperties(struct(props));
        return r;
    };
    const update = (olds: Record<string, unknown>, news: Record<string, unknown>) => {
        const r = new provproto.UpdateRequest();
        r.setId("id-1");
        r.setUrn("urn:pulumi:s::p::pulumi-nodejs:dynamic:Resource::r");
        r.setOlds(struct(olds));
        r.setNews(struct(news));
        return r;
    };
    const del = (id: string, props: Record<string, unknown>) => {
        const r = new provproto.DeleteRequest();
        r.setId(id);
        r.setUrn("urn:pulumi:s::p::pulumi-nodejs:dynamic:Resource::r");
        r.setProperties(struct(props));
        return r;
    };
    const configure = (args: Record<string, unknown>) => {
        const r = new provproto.ConfigureRequest();
        r.setArgs(struct(args));
        return r;
    };
    const P = { __provider: FULL };
    add("plugin info", "getPluginInfo", () => new Empty());
    add("configure, with a secret", "configure", () => configure({ __provider: "ignored", "project:key": SECRET, "other:key": "v" }));
    add("check", "check", () => check({ x: 1 }, { ...P, x: 2 }));
    add("check, provider text unknown: the olds' text", "check", () => check({ ...P, x: 1 }, { __provider: UNKNOWN, x: 2 }));
    add("check with failures", "check", () => check({}, { ...P, fail: true }));
    add("check that throws", "check", () => check({}, { ...P, throwCheck: true }));
    add("check of a provider without check", "check", () => check({}, { __provider: BARE, x: 3 }));
    add("diff, changes", "diff", () => diff({ ...P, x: 1 }, { ...P, x: 2 }));
    add("diff, none", "diff", () => diff({ ...P, x: 1 }, { ...P, x: 1 }));
    add("diff, replace before delete", "diff", () => diff({ ...P, x: 1 }, { ...P, x: 2, replace: true, dbr: true }));
    add("diff, changes unknown", "diff", () => diff({ ...P }, { ...P, mode: "unknown" }));
    add("diff, provider text unknown", "diff", () => diff({ ...P, x: 1 }, { __provider: UNKNOWN, x: 5 }));
    add("diff that throws", "diff", () => diff({ ...P }, { ...P, throwDiff: true }));
    add("diff of a provider without diff", "diff", () => diff({ __provider: BARE }, { __provider: BARE, x: 1 }));
    add("create", "create", () => create({ ...P, x: 7, nested: { a: [1, "b", null] } }));
    add("create that fails after making the object", "create", () => create({ ...P, initFail: true }));
    add("create that throws", "create", () => create({ ...P, throwCreate: true }));
    add("create of a bare provider", "create", () => create({ __provider: BARE, x: 1 }));
    add("create of a configured provider", "create", () => create({ __provider: CONFIGURED }));
    add("read", "read", () => read("id-7", { ...P, x: 7 }));
    add("read with inputs", "read", () => read("id-7", { ...P, x: 7, withInputs: true }));
    add("read of a gone object", "read", () => read("id-7", { ...P, gone: true }));
    add("read of a provider without read", "read", () => read("bare", { __provider: BARE, made: 1 }));
    add("update", "update", () => update({ ...P, x: 1 }, { ...P, x: 2 }));
    add("update without outs", "update", () => update({ ...P, x: 1 }, { ...P, x: 2, noOuts: true }));
    add("update that fails half way", "update", () => update({ ...P, x: 1 }, { ...P, x: 2, throwUpdate: true }));
    add("update of a provider without update", "update", () => update({ __provider: BARE }, { __provider: BARE, x: 2 }));
    add("delete", "delete", () => del("id-7", { ...P, x: 7 }));
    add("delete that throws", "delete", () => del("id-7", { ...P, throwDelete: true }));
    add("delete of a provider without delete", "delete", () => del("bare", { __provider: BARE }));
    add("invoke", "invoke", () => {
        const r = new provproto.InvokeRequest();
        r.setTok("pkg:index:fn");
        return r;
    });
    add("cancel", "cancel", () => new Empty());
    for (const [method, type] of [
        ["checkConfig", provproto.CheckRequest],
        ["diffConfig", provproto.DiffRequest],
        ["getSchema", provproto.GetSchemaRequest],
        ["construct", provproto.ConstructRequest],
        ["call", provproto.CallRequest],
        ["parameterize", provproto.ParameterizeRequest],
        ["getMapping", provproto.GetMappingRequest],
        ["getMappings", provproto.GetMappingsRequest],
        ["handshake", provproto.ProviderHandshakeRequest],
    ] as const)
        add(`${method} (not implemented)`, method, () => new (type as any)());
    return out;
}

describe("the toolchain's dynamic-provider server answers as @pulumi/pulumi's does", function () {
    this.timeout(60_000);
    let project: string;
    let pulumi: Running | undefined;
    let ours: Running | undefined;

    before(async () => {
        // A project folder, as the engine starts the plugin in: node_modules from the repository.
        project = mkdtempSync(join(tmpdir(), "hostnet-dynprov-"));
        symlinkSync(join(projectRoot, "node_modules"), join(project, "node_modules"));
        pulumi = await start([PULUMI_HOST, "127.0.0.1:1"], project);
        ours = await start([SERVER, "127.0.0.1:1"], project);
    });

    after(() => {
        stop(pulumi);
        stop(ours);
        if (project) rmSync(project, { recursive: true, force: true });
    });

    it("gives the same answer to every request, in order", async () => {
        const differences: string[] = [];
        for (const [label, method, request] of requests()) {
            const [theirs, mine] = [await ask(pulumi!, method, request), await ask(ours!, method, request)];
            try {
                assert.deepEqual(mine, theirs);
            } catch {
                differences.push(`${label}: Pulumi's ${JSON.stringify(theirs)}\n    ours ${JSON.stringify(mine)}`);
            }
        }
        assert.deepEqual(differences, []);
    });

    it("the answers cover successes and errors (the comparison is not between two failures)", async () => {
        const answers = await Promise.all(requests().map(([, method, request]) => ask(ours!, method, request)));
        const ok = answers.filter((a) => "ok" in a).length;
        const codes = new Set(answers.flatMap((a) => ("error" in a ? [a.error.code] : [])));
        assert.ok(ok >= 20, `${ok} successful answers`);
        assert.deepEqual([...codes].sort(), [grpc.status.UNKNOWN, grpc.status.UNIMPLEMENTED].sort());
        const withDetails = answers.filter((a) => "error" in a && a.error.statusDetails).length;
        assert.equal(withDetails, 2, "create and update that fail after making the object carry ErrorResourceInitFailed");
    });

    /** How many modules a server has loaded when it prints its port (a preloaded hook reports it). */
    async function modulesAtPort(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
        const hook = join(project, "count-modules.js");
        writeFileSync(
            hook,
            "const log = console.log; console.log = (...a) => { log(...a); process.stderr.write(`modules ${Object.keys(require.cache).length}\\n`); console.log = log; };\n",
        );
        const r = await start(argv, project, { ...env, NODE_OPTIONS: `--require ${hook}` });
        await new Promise((res) => setTimeout(res, 100));
        stop(r);
        const n = Number(/modules (\d+)/.exec(r.stderr.join(""))?.[1]);
        assert.ok(Number.isInteger(n), `no module count from ${argv.join(" ")}: ${r.stderr.join("")}`);
        return n;
    }

    it("loads a fifth or less of the modules Pulumi's host loads", async () => {
        const theirs = await modulesAtPort([PULUMI_HOST, "127.0.0.1:1"]);
        const mine = await modulesAtPort([SERVER, "127.0.0.1:1"]);
        console.log(`      measured: modules loaded until the port is printed: Pulumi's host ${theirs}, ours ${mine}`);
        assert.ok(theirs > 500, `Pulumi's host: ${theirs}`);
        assert.ok(mine <= theirs / 5, `ours: ${mine}`);
    });

    it("runs Pulumi's own host when HOSTNET_DYNAMIC_PROVIDER=pulumi (its SDK runtime loaded)", async () => {
        const n = await modulesAtPort([SERVER, "127.0.0.1:1"], { HOSTNET_DYNAMIC_PROVIDER: "pulumi" });
        assert.ok(n > 500, `${n} modules`);
    });

    it("runs the program's own @pulumi/pulumi host when that is not the one it was checked against", async () => {
        // A project whose @pulumi/pulumi has another dynamic-provider script (here: one that says it ran).
        const other = mkdtempSync(join(tmpdir(), "hostnet-dynprov-other-"));
        try {
            const pkg = join(other, "node_modules", "@pulumi", "pulumi");
            mkdirSync(join(pkg, "cmd", "dynamic-provider"), { recursive: true });
            writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "@pulumi/pulumi", version: "3.999.0" }));
            writeFileSync(join(pkg, "cmd", "dynamic-provider", "config.js"), readFileSync(join(dirname(PULUMI_HOST), "config.js")));
            writeFileSync(
                join(pkg, "cmd", "dynamic-provider", "index.js"),
                "process.stderr.write(`other host ran with ${JSON.stringify(process.argv.slice(2))}\\n`);\nconsole.log('4242');\n",
            );
            const r = await start([SERVER, "127.0.0.1:1"], other);
            stop(r);
            assert.match(r.stderr.join(""), /other host ran with \["127\.0\.0\.1:1"\]/);
        } finally {
            rmSync(other, { recursive: true, force: true });
        }
    });
});
