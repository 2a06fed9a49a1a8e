// @ts-check
// Deferred loading of what only @pulumi/pulumi's function serialization uses,
// preloaded (`--require`) into the Pulumi programs the project's language host
// runs (installed next to the CLI as hostnet-sdk-defer.js by
// scripts/build-pulumi.sh).
//
// Why: `require("@pulumi/pulumi")` loads its whole runtime, and with it the
// closure serializer's dependencies: TypeScript's 9 MB compiler (to parse a
// serialized function's text) and npm's Arborist with normalize-package-data
// (to find the packages a serialized function needs): ~470 of its ~770
// modules, about 0.7 s of CPU of a 1.1 s load on the machines here (with the
// code cache warm), in every run of every program - twice per `pulumi up`.
// A program whose providers are referenced, not serialized (as this
// project's are), never calls them.
//
// How: when one of the SDK files that import them (parseFunction.js,
// codePaths.js under runtime/closure/) requires one of them, it gets a
// stand-in that loads the real module, exactly as that file would have,
// the first time the file uses it (reads a property, calls it, constructs
// it): a program that serializes a function loads TypeScript then, at its
// first serialization. The stand-in also answers `__esModule` without
// loading, with what the file's import helper needs to keep the stand-in
// (`__importStar` keeps an ES module as is, `__importDefault` wraps a
// CommonJS one): what each file then reads of the binding is pinned below.
//
// Faithful by construction, or not used: a file is served only when its text
// is byte for byte one of the releases listed in KNOWN (SHA-256), whose uses
// of each binding were read (test/unit/sdkDefer.test.ts loads the SDK with
// this preload and serializes functions, one capturing TypeScript, and
// computes code paths through it, against the same without it). Any other
// @pulumi/pulumi loads as usual. What differs: a broken TypeScript or
// Arborist install fails at the first serialization, not at the SDK's load;
// signal-exit's global emitter (Arborist's) is made then too; a require hook
// installed after this one does not see the deferred loads.
//
// Settings (environment): HOSTNET_SDK_DEFER=0 (also "off", "false", "no")
// turns it off. Processes the program starts do not load it: it removes its
// `--require` from NODE_OPTIONS.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const Module = require("node:module");

/**
 * @typedef {{ esModule: boolean | undefined, holdPlace?: boolean }} Binding
 *   esModule: what the stand-in answers for `__esModule` before the module is
 *   loaded (undefined: load it and answer what it says).
 *   holdPlace: the module is a file of the SDK's own that nothing outside it
 *   requires; until it is loaded, a placeholder holding the stand-in keeps its
 *   place in require.cache, and the real module takes that place. The closure
 *   serializer names a module a function captures by the first entry of
 *   require.cache whose exports it is: with the shim's place kept, a program
 *   that requires TypeScript itself and captures it gets the same name
 *   (`@pulumi/pulumi/typescript-shim.js`) as without this preload.
 */

/**
 * The SDK files served, by their path inside @pulumi/pulumi: the SHA-256 of
 * each release's text that was read, and the imports deferred, by the exact
 * request the file makes.
 * @type {Record<string, { sha256: string[], defer: Record<string, Binding> }>}
 */
const KNOWN = {
    // `const ts = require("../../typescript-shim")`, then only `ts.<name>` inside functions.
    "runtime/closure/parseFunction.js": {
        sha256: ["24728f27d7fd4d75ace094aa47ee8faeaa1b2a751a6bc2b6245e06f56f69472c"], // 3.248.0
        defer: { "../../typescript-shim": { esModule: undefined, holdPlace: true } },
    },
    // `__importStar(require("@npmcli/arborist"))`, then only `new arborist.Arborist(...)` inside
    // computeCodePaths: answering "an ES module" keeps the stand-in instead of copying its properties.
    // `__importDefault(require("normalize-package-data"))`, then only `normalize_package_data_1.default(data)`:
    // "not an ES module" wraps the stand-in, which is called.
    "runtime/closure/codePaths.js": {
        sha256: ["3cf7e85bb909599e49da4df9b9d9c5d3efde82750c204911fb4d6bbe36298097"], // 3.248.0
        defer: { "@npmcli/arborist": { esModule: true }, "normalize-package-data": { esModule: false } },
    },
};

/** Every request deferred in some file of KNOWN: any other require() goes straight to Node.js. */
const REQUESTS = new Set(Object.values(KNOWN).flatMap((k) => Object.keys(k.defer)));

const SDK_FILE = /[/\\]node_modules[/\\]@pulumi[/\\]pulumi[/\\](runtime[/\\]closure[/\\][^/\\]+\.js)$/;

/** @param {string | undefined} v */
function isOff(v) {
    return ["0", "off", "false", "no"].includes((v ?? "").trim().toLowerCase());
}

/** Removes this file's `--require` (as the language host appends it) from NODE_OPTIONS. */
function forgetPreload() {
    if (process.env.NODE_OPTIONS === undefined) return;
    const rest = process.env.NODE_OPTIONS.replace(`--require ${JSON.stringify(__filename)}`, "").trim();
    if (rest) process.env.NODE_OPTIONS = rest;
    else delete process.env.NODE_OPTIONS;
}

/**
 * A stand-in for a module: loads it with `load` at its first use and forwards
 * every use to it from then on.
 * @param {() => any} load
 * @param {Binding} binding
 */
function deferred(load, binding) {
    let loaded = false;
    /** @type {any} */
    let real;
    const module = () => {
        if (!loaded) {
            real = load();
            loaded = true;
        }
        return real;
    };
    // A function, so that a module that is a function can be called or constructed through it; a bound one,
    // which has no `prototype` of its own that the proxy would have to report.
    return new Proxy(function deferredModule() {}.bind(undefined), {
        get: (_t, key) =>
            key === "__esModule" && !loaded && binding.esModule !== undefined ? binding.esModule : Reflect.get(module(), key),
        has: (_t, key) => Reflect.has(module(), key),
        set: (_t, key, value) => Reflect.set(module(), key, value),
        apply: (_t, self, args) => Reflect.apply(module(), self, args),
        construct: (_t, args) => Reflect.construct(module(), args),
    });
}

/**
 * Moves `filename`'s entry of require.cache back to the place its placeholder
 * held: after the entries that were before it (`head`), before every other.
 * @param {Record<string, any>} cache
 * @param {Set<string>} head
 * @param {string} filename
 */
function keepPlace(cache, head, filename) {
    const entries = Object.entries(cache);
    const order = [
        ...entries.filter(([k]) => head.has(k)),
        ...entries.filter(([k]) => k === filename),
        ...entries.filter(([k]) => !head.has(k) && k !== filename),
    ];
    for (const [k] of entries) delete cache[k];
    for (const [k, v] of order) cache[k] = v;
}

function install() {
    forgetPreload();
    if (isOff(process.env.HOSTNET_SDK_DEFER)) return;
    /** Whether the SDK file at this path is one read for KNOWN, by path (read once per process). @type {Map<string, boolean>} */
    const served = new Map();
    /** @param {string} file @param {string} relative */
    const isKnown = (file, relative) => {
        let ok = served.get(file);
        if (ok === undefined) {
            try {
                ok = KNOWN[relative].sha256.includes(crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex"));
            } catch {
                ok = false;
            }
            served.set(file, ok);
        }
        return ok;
    };
    /** Node.js's internal loader, which every require() calls, and its cache (require.cache). @type {{ _load: Function, _resolveFilename: Function, _cache: Record<string, any> }} */
    const loader = /** @type {any} */ (Module);
    const load = loader._load;
    loader._load = function (/** @type {string} */ request, /** @type {any} */ parent, /** @type {boolean} */ isMain) {
        if (!REQUESTS.has(request)) return load.apply(this, arguments);
        const file = parent?.filename;
        const relative = typeof file === "string" ? SDK_FILE.exec(file)?.[1]?.replace(/\\/g, "/") : undefined;
        const known = relative !== undefined && Object.hasOwn(KNOWN, relative) ? KNOWN[relative] : undefined;
        if (!known || !Object.hasOwn(known.defer, request) || !isKnown(file, /** @type {string} */ (relative))) {
            return load.apply(this, arguments);
        }
        const binding = known.defer[request];
        if (!binding.holdPlace) return deferred(() => load.call(loader, request, parent, isMain), binding);
        const filename = loader._resolveFilename(request, parent, isMain);
        if (loader._cache[filename]) return load.apply(this, arguments);
        const placeholder = new Module(filename, parent);
        placeholder.filename = filename;
        placeholder.loaded = true;
        placeholder.exports = deferred(() => {
            const cache = loader._cache;
            const before = Object.keys(cache);
            const at = before.indexOf(filename);
            if (cache[filename] === placeholder) delete cache[filename];
            const real = load.call(loader, request, parent, isMain);
            if (at >= 0 && cache[filename]) keepPlace(cache, new Set(before.slice(0, at)), filename);
            return real;
        }, binding);
        loader._cache[filename] = placeholder;
        return placeholder.exports;
    };
}

install();
