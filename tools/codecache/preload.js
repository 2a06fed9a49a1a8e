// @ts-check
// A V8 code cache for the CommonJS modules of a Node.js process, preloaded
// (`--require`) into the Pulumi programs the project's language host runs and
// into the dynamic-provider plugin (installed next to the CLI as
// hostnet-code-cache.js by scripts/build-pulumi.sh).
//
// Why: each run of a program compiles @pulumi/pulumi's ~770 modules, gRPC and
// protobuf (and TypeScript's 9 MB compiler for a .ts program) from source
// again: about 0.6 s of CPU per run, twice per `pulumi up`. V8 can instead
// start from code it produced earlier for the same text (vm.Script's
// cachedData), skipping the parse and the compile of what it had compiled.
//
// How: Module.prototype._compile (which ts-node and require-from-string call
// too, with the text they produce) compiles the module through vm.Script
// with the cached data of an entry keyed by the file's absolute path, V8's
// flags at the compile (v8.cachedDataVersionTag(): a program may change them
// as it runs) and the SHA-256 of the exact text being compiled, in a folder
// per Node.js version and architecture. What it runs is
// what Node.js would: its own wrapper (Module.wrapper), positioned so that
// lines and columns are the file's own, called with `this` = module.exports
// and Node's own `require` for the module (Node's _compile of a
// one-statement body hands it over), so `require.resolve`, `require.main`,
// `require.cache` and strict mode are Node's. Modules that had no usable
// entry are cached once the process has run them for a moment (V8's cache
// then holds the functions compiled lazily since, not just the top level):
// when module loading has been quiet for QUIET_MS, before V8's flags change,
// on SIGINT/SIGTERM (how the engine ends the plugin) and at exit. Entries are
// written to a temporary file and renamed into place, so a concurrent
// process reads a whole entry or none; each carries a checksum of its data.
//
// Never in the way: any doubt (the text changed, V8 rejects the data, a
// corrupt or unreadable entry, an unwritable folder, Node's wrapper patched
// by someone else, --enable-source-maps, a policy, --inspect-brk, an ES
// module, a module that calls import(): see mayImport) and the module is
// compiled by Node.js as usual.
//
// Settings (environment):
//   HOSTNET_CODE_CACHE=0          off (also "off", "false")
//   HOSTNET_CODE_CACHE_DIR=/path  where entries live (default: code-cache/
//                                 beside the folder this file is installed in,
//                                 i.e. $HOSTNET_TOOLCHAIN/code-cache)
//   HOSTNET_CODE_CACHE_MAX_MB=N   the folder's bound (default 256): after a
//                                 write, the oldest entries go first
//   HOSTNET_CODE_CACHE_STATS=file appends a JSON line of counters per process
//                                 (hits, misses, rejected, ...) when it writes
//                                 entries and at exit: for tests and measuring
// Processes the program starts do not load it: it removes its `--require`
// from NODE_OPTIONS and process.execArgv.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const Module = require("node:module");
const path = require("node:path");
const v8 = require("node:v8");
const vm = require("node:vm");

/** Module loading quiet this long (ms): entries of the modules compiled so far are written. */
const QUIET_MS = 300;
/** An entry read this long after it was written is marked as used again (ms), for the bound's order. */
const TOUCH_AFTER_MS = 24 * 3600 * 1000;
/** Temporary files older than this (ms) are left by a crash and removed. */
const STALE_TMP_MS = 3600 * 1000;
/** The first bytes of every entry: format and version. */
const MAGIC = Buffer.from("HNCC\x00\x00\x00\x01", "latin1");
// An entry: MAGIC, SHA-256 of the source text (32), SHA-256 of the data (32),
// length of the path (uint32 LE), the path (UTF-8), V8's cached data.
const HEADER = MAGIC.length + 32 + 32 + 4;

forgetPreload();
install();

/**
 * Removes this file's `--require` from NODE_OPTIONS (the language host appends
 * exactly `--require "<path>"`, quoted as Go's %q does) and from process.execArgv
 * (the dynamic-provider launcher passes it on node's command line), so that
 * Node.js processes the program starts, forked ones included, do not load it.
 */
function forgetPreload() {
    const option = `--require ${JSON.stringify(__filename)}`;
    if (process.env.NODE_OPTIONS !== undefined) {
        const rest = process.env.NODE_OPTIONS.replace(option, "").trim();
        if (rest) process.env.NODE_OPTIONS = rest;
        else delete process.env.NODE_OPTIONS;
    }
    const args = process.execArgv;
    const self = (/** @type {string | undefined} */ arg) => {
        if (arg === undefined) return false;
        try {
            return fs.realpathSync(arg) === __filename;
        } catch {
            return false;
        }
    };
    for (let i = 0; i < args.length; i++) {
        if ((args[i] === "--require" || args[i] === "-r") && self(args[i + 1])) {
            args.splice(i, 2);
            return;
        }
        if (args[i].startsWith("--require=") && self(args[i].slice("--require=".length))) {
            args.splice(i, 1);
            return;
        }
    }
}

/**
 * @param {string | Buffer} data
 * @returns {Buffer}
 */
function sha256(data) {
    // crypto.hash (Node.js 20.12+) is the one-shot form: no Hash object per call.
    const { hash } = /** @type {any} */ (crypto);
    return typeof hash === "function" ? hash("sha256", data, "buffer") : crypto.createHash("sha256").update(data).digest();
}

/** @param {string | undefined} value */
function isOff(value) {
    return value !== undefined && ["0", "off", "false", "no"].includes(value.trim().toLowerCase());
}

function install() {
    if (isOff(process.env.HOSTNET_CODE_CACHE)) return;
    // Node.js 20's module loader, which this follows; Node.js 22 has a compile cache of its own
    // (NODE_COMPILE_CACHE).
    if (process.versions.node.split(".")[0] !== "20") return;
    // Where Node.js's own _compile does what a cached compile would skip: a policy checks
    // each module's text, --inspect-brk pauses in the main module's wrapper.
    const options = `${process.execArgv.join(" ")} ${process.env.NODE_OPTIONS ?? ""}`;
    if (/--(experimental-policy|inspect-brk)\b/.test(options)) return;

    const root = path.resolve(process.env.HOSTNET_CODE_CACHE_DIR || path.join(__dirname, "..", "code-cache"));
    // One folder per toolchain of V8 (version, flags, CPU features), per Node.js release and architecture.
    const dir = path.join(root, `node-${process.version}-${process.arch}-${v8.cachedDataVersionTag().toString(16)}`);
    const maxBytes = (Number(process.env.HOSTNET_CODE_CACHE_MAX_MB) || 256) * 1024 * 1024;
    const statsFile = process.env.HOSTNET_CODE_CACHE_STATS;

    const stats = { hits: 0, misses: 0, stale: 0, rejected: 0, corrupt: 0, written: 0, byNode: 0, errors: 0 };
    /** @type {{ script: vm.Script | undefined, file: string, sourceHash: Buffer, filename: string, tag: number }[]} */
    let pending = [];
    /** @type {NodeJS.Timeout | undefined} */
    let timer;
    let lastCompile = 0;
    // Node's mark of a module whose body runs (for require(esm) cycles), which its _compile
    // sets: on this file's module, which Node.js is running now.
    const isExecuting = Object.getOwnPropertySymbols(module).find((s) => s.description === "kIsExecuting");

    const [head, tail] = Module.wrapper;
    const nodeWrap = Module.wrap;
    const proto = /** @type {any} */ (Module.prototype);
    /** @type {(this: any, content: string, filename: string, format?: string) => any} */
    const nodeCompile = proto._compile;

    /**
     * Node.js's Module.prototype._compile, but for the wrapper's compile.
     * @this {any}
     * @param {string} content
     * @param {string} filename
     * @param {string} [format]
     */
    function _compile(content, filename, format) {
        let compiled;
        try {
            compiled = cachedCompile(content, filename, format);
        } catch {
            stats.errors++;
        }
        if (compiled === undefined) {
            stats.byNode++;
            return Reflect.apply(nodeCompile, this, arguments);
        }
        const require = makeRequire(this);
        const exports = this.exports;
        if (isExecuting) this[isExecuting] = true;
        const result = Reflect.apply(compiled, exports, [exports, require, this, filename, path.dirname(filename)]);
        if (isExecuting) this[isExecuting] = false;
        return result;
    }
    proto._compile = _compile;

    /**
     * The `require` of a module, as Node.js 20's makeRequireFunction makes it
     * without a policy (which turns this cache off).
     * @param {any} mod
     */
    function makeRequire(mod) {
        const M = mod.constructor;
        /** @param {string} id */
        const require = function require(id) {
            return mod.require(id);
        };
        /**
         * @param {string} request
         * @param {any} [options]
         */
        function resolve(request, options) {
            if (typeof request !== "string") return nodeRequire(mod).resolve(request, options);
            return M._resolveFilename(request, mod, false, options);
        }
        /** @param {string} request */
        function paths(request) {
            if (typeof request !== "string") return nodeRequire(mod).resolve.paths(request);
            return M._resolveLookupPaths(request, mod);
        }
        resolve.paths = paths;
        require.resolve = resolve;
        require.main = process.mainModule;
        require.extensions = M._extensions;
        require.cache = M._cache;
        return require;
    }

    /**
     * Node's own require() of a module, for its exact errors on bad arguments:
     * the value of a body that returns it, compiled and run by Node.js.
     * @param {any} mod
     */
    function nodeRequire(mod) {
        const executing = isExecuting ? mod[isExecuting] : undefined;
        const require = Reflect.apply(nodeCompile, mod, ["return require", mod.filename, "commonjs"]);
        if (isExecuting) mod[isExecuting] = executing;
        return require;
    }

    /**
     * The module's wrapper function, compiled with its entry's cached data when
     * there is a usable one; undefined when Node.js should compile it itself.
     * @param {unknown} content
     * @param {unknown} filename
     * @param {unknown} format
     * @returns {Function | undefined}
     */
    function cachedCompile(content, filename, format) {
        if (typeof content !== "string" || typeof filename !== "string" || !path.isAbsolute(filename)) return undefined;
        if (format === "module") return undefined;
        if (Module.wrap !== nodeWrap || Module.wrapper[0] !== head || Module.wrapper[1] !== tail) return undefined;
        // Node.js records source maps of compiled modules itself then.
        if (/** @type {any} */ (process).sourceMapsEnabled) return undefined;

        const sourceHash = sha256(content);
        // V8 checks its flags' hash too, and a program may change flags as it runs (@pulumi/pulumi
        // sets --allow-natives-syntax when loaded): an entry per path and flags of its compile.
        const tag = v8.cachedDataVersionTag();
        const file = path.join(dir, sha256(`${filename}\0${tag}`).toString("hex").slice(0, 40));
        let cachedData = readEntry(file, filename, sourceHash);
        // A marker entry (no data): this text calls import(), which Node.js compiles.
        if (cachedData !== undefined && cachedData.length === 0) return undefined;
        if (cachedData === undefined && mayImport(content)) {
            pending.push({ script: undefined, file, sourceHash, filename, tag });
            armTimer();
            return undefined;
        }
        // V8 reads a hashbang only at the very start of a script: the same comment, as a line comment.
        const text = content.startsWith("#!") ? `//${content.slice(2)}` : content;
        let script;
        try {
            script = new vm.Script(head + text + tail, { filename, columnOffset: -head.length, cachedData });
        } catch {
            // A syntax error (or ES module syntax, which Node.js may load as such): Node.js says so its way.
            return undefined;
        }
        if (cachedData && !script.cachedDataRejected) stats.hits++;
        else {
            if (cachedData) stats.rejected++;
            else stats.misses++;
            pending.push({ script, file, sourceHash, filename, tag });
        }
        armTimer();
        return script.runInThisContext();
    }

    /**
     * The cached data of the entry at `file` when it is for exactly this path and
     * text and intact, else undefined.
     * @param {string} file
     * @param {string} filename
     * @param {Buffer} sourceHash
     * @returns {Buffer | undefined}
     */
    function readEntry(file, filename, sourceHash) {
        let fd;
        try {
            fd = fs.openSync(file, "r");
        } catch {
            return undefined;
        }
        try {
            const st = fs.fstatSync(fd);
            const buf = Buffer.allocUnsafe(st.size);
            let got = 0;
            while (got < st.size) {
                const n = fs.readSync(fd, buf, got, st.size - got, got);
                if (n === 0) break;
                got += n;
            }
            const pathBytes = Buffer.from(filename);
            const dataAt = HEADER + pathBytes.length;
            if (got !== st.size || got < dataAt || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
                stats.corrupt++;
                return undefined;
            }
            const hashAt = MAGIC.length;
            const pathAt = HEADER;
            if (
                buf.readUInt32LE(hashAt + 64) !== pathBytes.length ||
                !buf.subarray(pathAt, dataAt).equals(pathBytes) ||
                !buf.subarray(hashAt, hashAt + 32).equals(sourceHash)
            ) {
                // Another text of this path (the file changed): compiled again and replaced.
                stats.stale++;
                return undefined;
            }
            const data = buf.subarray(dataAt);
            if (!sha256(data).equals(buf.subarray(hashAt + 32, hashAt + 64))) {
                stats.corrupt++;
                return undefined;
            }
            if (Date.now() - st.mtimeMs > TOUCH_AFTER_MS) {
                const now = new Date();
                fs.futimesSync(fd, now, now);
            }
            return data;
        } catch {
            stats.errors++;
            return undefined;
        } finally {
            fs.closeSync(fd);
        }
    }

    function armTimer() {
        lastCompile = Date.now();
        if (timer === undefined && (pending.length > 0 || statsFile)) {
            timer = setTimeout(onQuiet, QUIET_MS);
            timer.unref();
        }
    }

    function onQuiet() {
        timer = undefined;
        const since = Date.now() - lastCompile;
        if (since < QUIET_MS) {
            timer = setTimeout(onQuiet, QUIET_MS - since);
            timer.unref();
            return;
        }
        flush();
    }

    /** Writes the entries of the modules compiled without one, then the counters. */
    function flush() {
        const list = pending;
        pending = [];
        let wrote = 0;
        if (list.length > 0) {
            try {
                fs.mkdirSync(dir, { recursive: true });
            } catch {
                stats.errors += list.length;
                list.length = 0;
            }
        }
        const tag = v8.cachedDataVersionTag();
        for (const entry of list) {
            // Code made under other flags than the module's compile would be rejected at its next load.
            if (entry.tag !== tag) continue;
            try {
                const data = entry.script ? entry.script.createCachedData() : Buffer.alloc(0);
                writeEntry(entry.file, entry.filename, entry.sourceHash, data);
                wrote++;
            } catch {
                stats.errors++;
            }
        }
        stats.written += wrote;
        if (wrote > 0) {
            try {
                bound();
            } catch {
                stats.errors++;
            }
        }
        writeStats();
    }

    /**
     * @param {string} file
     * @param {string} filename
     * @param {Buffer} sourceHash
     * @param {Buffer} data
     */
    function writeEntry(file, filename, sourceHash, data) {
        const pathBytes = Buffer.from(filename);
        const header = Buffer.alloc(HEADER);
        MAGIC.copy(header, 0);
        sourceHash.copy(header, MAGIC.length);
        sha256(data).copy(header, MAGIC.length + 32);
        header.writeUInt32LE(pathBytes.length, MAGIC.length + 64);
        const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
        try {
            fs.writeFileSync(tmp, Buffer.concat([header, pathBytes, data]), { mode: 0o644 });
            fs.renameSync(tmp, file);
        } catch (err) {
            fs.rmSync(tmp, { force: true });
            throw err;
        }
    }

    /**
     * Keeps the cache folder (every Node.js's subfolder) within maxBytes: the
     * entries used longest ago go first; temporary files a crash left, too.
     */
    function bound() {
        /** @type {{ file: string, size: number, mtime: number }[]} */
        const files = [];
        let total = 0;
        const now = Date.now();
        for (const sub of fs.readdirSync(root)) {
            const subdir = path.join(root, sub);
            let names;
            try {
                names = fs.readdirSync(subdir);
            } catch {
                continue;
            }
            for (const name of names) {
                const file = path.join(subdir, name);
                try {
                    const st = fs.statSync(file);
                    if (name.endsWith(".tmp")) {
                        if (now - st.mtimeMs > STALE_TMP_MS) fs.rmSync(file, { force: true });
                        continue;
                    }
                    files.push({ file, size: st.size, mtime: st.mtimeMs });
                    total += st.size;
                } catch {
                    // gone meanwhile (another process's bound)
                }
            }
        }
        files.sort((a, b) => a.mtime - b.mtime);
        for (const f of files) {
            if (total <= maxBytes) break;
            fs.rmSync(f.file, { force: true });
            total -= f.size;
        }
        for (const sub of fs.readdirSync(root)) {
            const subdir = path.join(root, sub);
            if (subdir === dir) continue;
            try {
                fs.rmdirSync(subdir); // only when empty
            } catch {
                // not empty, or gone
            }
        }
    }

    function writeStats() {
        if (!statsFile) return;
        try {
            const { user, system } = process.cpuUsage();
            const line = { pid: process.pid, main: process.argv[1] ?? "", dir, ...stats, cpuMs: Math.round((user + system) / 1000) };
            fs.appendFileSync(statsFile, `${JSON.stringify(line)}\n`);
        } catch {
            // counters are for tests and measuring only
        }
    }

    // Entries are made under the flags their modules were compiled with: before flags change, now.
    const setFlagsFromString = v8.setFlagsFromString;
    v8.setFlagsFromString = function (/** @type {string} */ flags) {
        try {
            flush();
        } catch {
            stats.errors++;
        }
        return setFlagsFromString.call(this, flags);
    };

    // The engine ends plugins with SIGINT (then SIGKILL), which ends Node.js without "exit":
    // the entries are written first, then the signal does what it would have done (when
    // nothing else listens to it: ends the process, by that signal).
    for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
        const onSignal = () => {
            try {
                if (pending.length > 0 || statsFile) flush();
            } catch {
                stats.errors++;
            }
            if (process.listenerCount(signal) === 1) {
                process.removeListener(signal, onSignal);
                process.kill(process.pid, signal);
            }
        };
        process.on(signal, onSignal);
    }

    process.on("exit", () => {
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        flush();
    });
}

// An identifier, keyword or number (what the lexer steps over at once; \u escapes and non-ASCII letters included).
const WORD = /[\w$\\\u0080-\u009f\u00a1-\u2027\u202a-\ufefe\uff00-\uffff]+/y;
// Keywords after which a `/` starts a regular expression, not a division.
const BEFORE_REGEX = new Set([
    "return",
    "typeof",
    "instanceof",
    "in",
    "of",
    "new",
    "delete",
    "void",
    "throw",
    "case",
    "do",
    "else",
    "yield",
    "await",
]);

/**
 * True when `src` may call import() from its code. Node.js 20's V8 drops a
 * script's host-defined options from its code cache, and with them the way
 * import() finds Node's loader ("A dynamic import callback was not
 * specified"): such modules are compiled by Node.js, never from the cache.
 * A text without `import(` is clear at once; otherwise a small lexer skips
 * strings, templates, comments and regular expressions (TypeScript's
 * compiler mentions import() only in those) and answers true on any doubt.
 * @param {string} src
 * @returns {boolean}
 */
function mayImport(src) {
    if (!/\bimport\b/.test(src)) return false;
    const n = src.length;
    /** @type {number[]} open braces of each template's `${ }` being lexed */
    const templates = [];
    let regexOk = true;
    let i = src.startsWith("#!") ? src.indexOf("\n") : 0;
    if (i < 0) return true;
    /** @param {number} at */
    const lineEnd = (at) => {
        const c = src.charCodeAt(at);
        return c === 10 || c === 13 || c === 0x2028 || c === 0x2029;
    };
    /** @param {number} at the index after the backtick or the `}`; returns the index after the template part, or -1 */
    const template = (at) => {
        for (let j = at; j < n; j++) {
            const c = src.charCodeAt(j);
            if (c === 92) j++;
            else if (c === 96) {
                regexOk = false;
                return j + 1;
            } else if (c === 36 && src.charCodeAt(j + 1) === 123) {
                templates.push(0);
                regexOk = true;
                return j + 2;
            }
        }
        return -1;
    };
    while (i < n) {
        const c = src.charCodeAt(i);
        if (c === 32 || c === 9 || lineEnd(i) || c === 11 || c === 12 || c === 0xa0 || c === 0xfeff) {
            i++;
        } else if (c === 47) {
            const next = src.charCodeAt(i + 1);
            if (next === 47) {
                i += 2;
                while (i < n && !lineEnd(i)) i++;
            } else if (next === 42) {
                const end = src.indexOf("*/", i + 2);
                if (end < 0) return true;
                i = end + 2;
            } else if (regexOk) {
                let inClass = false;
                i++;
                for (;;) {
                    if (i >= n || lineEnd(i)) return true;
                    const r = src.charCodeAt(i);
                    if (r === 92) i++;
                    else if (r === 91) inClass = true;
                    else if (r === 93) inClass = false;
                    else if (r === 47 && !inClass) break;
                    i++;
                }
                i++;
                while (i < n && /[\w$]/.test(src[i])) i++;
                regexOk = false;
            } else {
                i++;
                regexOk = true;
            }
        } else if (c === 39 || c === 34) {
            i++;
            for (;;) {
                if (i >= n) return true;
                const q = src.charCodeAt(i);
                if (q === 92) i += 2;
                else if (q === c) break;
                else if (q === 10 || q === 13) return true;
                else i++;
            }
            i++;
            regexOk = false;
        } else if (c === 96) {
            i = template(i + 1);
            if (i < 0) return true;
        } else if (c === 123) {
            if (templates.length > 0) templates[templates.length - 1]++;
            i++;
            regexOk = true;
        } else if (c === 125) {
            if (templates.length > 0 && templates[templates.length - 1] === 0) {
                templates.pop();
                i = template(i + 1);
                if (i < 0) return true;
            } else {
                if (templates.length > 0) templates[templates.length - 1]--;
                i++;
                regexOk = false;
            }
        } else if (c === 41 || c === 93) {
            i++;
            regexOk = false;
        } else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 36 || c === 92 || c > 127) {
            const start = i;
            WORD.lastIndex = i;
            WORD.test(src);
            i = Math.max(WORD.lastIndex, i + 1);
            const word = i - start <= 10 ? src.slice(start, i) : "";
            if (word === "import") {
                // What follows, past blanks and comments: `(` is a call.
                const rest = /^(?:\s|\/\/[^\n\r]*|\/\*[\s\S]*?\*\/)*/.exec(src.slice(i, i + 4096));
                const after = i + (rest ? rest[0].length : 0);
                if (after >= n || src.charCodeAt(after) === 40 || after - i >= 4096) return true;
            }
            regexOk = BEFORE_REGEX.has(word);
        } else {
            i++;
            regexOk = true;
        }
    }
    return templates.length > 0;
}
