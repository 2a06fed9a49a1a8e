// The V8 code cache (tools/codecache/preload.js, the toolchain's
// hostnet-code-cache.js): a small module tree is loaded in child processes
// through the preload, without it (Node.js alone: the reference), cold (no
// entries) and warm (entries written by the cold run). Each run prints what
// the modules saw - the wrapper's arguments, `this`, strict mode, require's
// helpers, a dynamic import, thrown errors' stacks with lines and columns -
// and must print exactly what Node.js alone prints; the preload's counters
// ($HOSTNET_CODE_CACHE_STATS) say whether the warm run took every module
// from the cache. Then: a changed file is compiled again, corrupt, foreign or
// rejected entries fall back to a normal compile and are replaced, ts-node's
// transpiled text is the key of a .ts file, concurrent cold runs, the bound,
// and what turns it off. The dynamic-provider plugin with the preload, killed
// as the engine kills it, is warm at its next start.

import * as assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
    existsSync,
    mkdirSync,
    mkdtempSync,
    readdirSync,
    readFileSync,
    rmSync,
    statSync,
    symlinkSync,
    utimesSync,
    writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { projectRoot } from "../helpers/pulumi";

const PRELOAD = join(projectRoot, "tools", "codecache", "preload.js");

interface Stats {
    pid: number;
    dir: string;
    hits: number;
    misses: number;
    stale: number;
    rejected: number;
    corrupt: number;
    written: number;
    byNode: number;
    errors: number;
}

/** The module tree: CommonJS files that report what they saw, one .mjs, one with a hashbang. */
const TREE: Record<string, string> = {
    "main.js": `"use strict";
const seen = require("./lib/strict.js");
const sloppy = require("./lib/sloppy.js");
const tool = require("./bin/tool.js");
const mentions = require("./lib/mentions.js");
const data = require("./lib/data.json");
const { fail, failOnFirstLine } = require("./lib/thrower.js");
const frames = (err) => err.stack.split("\\n").filter((l) => l.includes(__dirname)).map((l) => l.trim().replace(__dirname, "<tree>"));
const errors = [];
try { fail(); } catch (e) { errors.push(frames(e)); }
try { failOnFirstLine(); } catch (e) { errors.push(frames(e)); }
try { require("./lib/syntax-error.js"); } catch (e) { errors.push([e.name, e.message]); }
const childSaw = require("node:child_process").execFileSync(process.execPath, ["-e",
    "console.log(JSON.stringify({ execArgv: process.execArgv, options: process.env.NODE_OPTIONS ?? null }))"]).toString().trim();
require("./lib/importer.js").load().then((esm) => {
    console.log(JSON.stringify({ seen, sloppy, tool, mentions, data, errors, esm, execArgv: process.execArgv, childSaw }, null, 1));
});
`,
    "lib/strict.js": `"use strict";
module.exports = {
    args: arguments.length,
    thisIsExports: this === module.exports && this === exports,
    filename: __filename.slice(__dirname.length - 3),
    dirname: require("node:path").basename(__dirname),
    id: module.id.slice(-9),
    strictMode: (function () { return this === undefined; })(),
    resolved: require.resolve("./sloppy").slice(-9),
    paths: require.resolve.paths("x").length > 0,
    mainIsMain: require.main !== undefined && require.main.filename.endsWith("main.js"),
    cache: require.cache === require("node:module")._cache,
    extensions: Object.keys(require.extensions),
    parent: module.parent.filename.slice(-7),
    requireName: require.name,
};
`,
    "lib/sloppy.js": `module.exports = { strictMode: (function () { return this === undefined; })(), version: 1 };\n`,
    "bin/tool.js": `#!/usr/bin/env node\nmodule.exports = { tool: "ran", line: new Error().stack.split("\\n")[1].replace(/.*:(\\d+:\\d+)\\)?$/, "$1") };\n`,
    "lib/data.json": `{ "n": 1 }\n`,
    "lib/thrower.js": `function failOnFirstLine() { throw new Error("first line"); }
module.exports = {
    failOnFirstLine,
    fail() {
        const x = 1;
        throw new Error("line six " + x);
    },
};
`,
    "lib/syntax-error.js": `module.exports = { ;\n`,
    "lib/importer.js": `exports.load = () => import("./esm.mjs").then((m) => m.default);\n`,
    "lib/mentions.js": `// Mentions import() only in a comment, a string and a template: compiled from the cache.\nmodule.exports = ["import('x')", \`import(\${"y"})\`].length;\n`,
    "lib/esm.mjs": `export default { esm: import.meta.url.endsWith("/lib/esm.mjs") };\n`,
};

/**
 * The CommonJS modules the preload compiles from the cache. Node.js compiles the others: the syntax
 * error, and importer.js, which calls import() (remembered by a marker entry); .json and .mjs are not CommonJS.
 */
const COMPILED = ["main.js", "lib/strict.js", "lib/sloppy.js", "bin/tool.js", "lib/mentions.js", "lib/thrower.js"];
/** Entries: one per module compiled from the cache, and importer.js's marker. */
const ENTRIES = COMPILED.length + 1;

let scratch: string;
let n = 0;

function makeTree(): string {
    const dir = join(scratch, `tree-${n++}`);
    for (const [file, text] of Object.entries(TREE)) {
        mkdirSync(dirname(join(dir, file)), { recursive: true });
        writeFileSync(join(dir, file), text);
    }
    return dir;
}

interface Run {
    out: string;
    stats: Stats | undefined;
}

/** Runs `node --require preload main.js` in `dir` (or node alone when `preload` is false). */
function run(dir: string, cache: string, opts: { preload?: boolean; env?: NodeJS.ProcessEnv; main?: string[] } = {}): Run {
    const statsFile = join(scratch, `stats-${n++}.jsonl`);
    const args = opts.preload === false ? [] : ["--require", PRELOAD];
    const out = execFileSync("node", [...args, ...(opts.main ?? ["main.js"])], {
        cwd: dir,
        env: { ...process.env, HOSTNET_CODE_CACHE_DIR: cache, HOSTNET_CODE_CACHE_STATS: statsFile, ...opts.env },
        encoding: "utf8",
    });
    const lines = existsSync(statsFile) ? readFileSync(statsFile, "utf8").trim().split("\n") : [];
    const stats = lines.length > 0 ? (JSON.parse(lines[lines.length - 1]) as Stats) : undefined;
    return { out, stats };
}

/** The entries (files) in every folder of a cache. */
function entries(cache: string): string[] {
    if (!existsSync(cache)) return [];
    return readdirSync(cache).flatMap((sub) => readdirSync(join(cache, sub)).map((f) => join(cache, sub, f)));
}

describe("the V8 code cache preload (tools/codecache/preload.js)", function () {
    this.timeout(120_000);

    before(() => {
        scratch = mkdtempSync(join(tmpdir(), "hostnet-codecache-"));
    });
    after(() => rmSync(scratch, { recursive: true, force: true }));

    it("runs the modules as Node.js does, cold and warm: wrapper arguments, this, strict mode, require, stacks, import()", () => {
        const dir = makeTree();
        const cache = join(scratch, "cache-same");
        const node = run(dir, cache, { preload: false }).out;
        const cold = run(dir, cache);
        const warm = run(dir, cache);
        assert.equal(cold.out, node);
        assert.equal(warm.out, node);
        // What Node.js itself reports, spelled out (so that the comparison is not between two wrong outputs).
        const seen = JSON.parse(node);
        assert.deepEqual(seen.seen, {
            args: 5,
            thisIsExports: true,
            filename: "lib/strict.js",
            dirname: "lib",
            id: "strict.js",
            strictMode: true,
            resolved: "sloppy.js",
            paths: true,
            mainIsMain: true,
            cache: true,
            extensions: [".js", ".json", ".node"],
            parent: "main.js",
            requireName: "require",
        });
        assert.equal(seen.sloppy.strictMode, false);
        assert.deepEqual(seen.tool, { tool: "ran", line: "2:39" });
        assert.deepEqual(seen.errors[0].slice(0, 2), [
            "at fail (<tree>/lib/thrower.js:6:15)",
            "at Object.<anonymous> (<tree>/main.js:10:7)",
        ]);
        assert.deepEqual(seen.errors[1][0], "at failOnFirstLine (<tree>/lib/thrower.js:1:36)");
        assert.equal(seen.errors[2][0], "SyntaxError");
        assert.deepEqual(seen.esm, { esm: true });
        // The preload took itself out of the command line: a child node does not load it.
        const child = JSON.parse(JSON.parse(cold.out).childSaw);
        assert.deepEqual(child.execArgv.slice(0, 1), ["-e"], "the child's own options only, no --require");
        assert.equal(child.options, null);
        assert.deepEqual(JSON.parse(cold.out).execArgv, []);

        assert.ok(cold.stats && warm.stats, "counters from both runs");
        assert.equal(cold.stats.misses, COMPILED.length, JSON.stringify(cold.stats));
        assert.equal(cold.stats.written, ENTRIES, JSON.stringify(cold.stats));
        assert.equal(cold.stats.hits, 0);
        assert.equal(warm.stats.hits, COMPILED.length, JSON.stringify(warm.stats));
        assert.equal(warm.stats.misses + warm.stats.rejected + warm.stats.stale + warm.stats.corrupt + warm.stats.errors, 0);
        assert.equal(warm.stats.written, 0, "a warm run writes nothing");
        // The syntax error (Node.js reports it its way) and the module that calls import(), left to Node.js each time.
        assert.equal(warm.stats.byNode, 2);
        assert.equal(entries(cache).length, ENTRIES);
    });

    it("compiles a changed file again (never the old code) and replaces its entry", () => {
        const dir = makeTree();
        const cache = join(scratch, "cache-changed");
        run(dir, cache);
        // Same length, other text: only the content tells them apart.
        writeFileSync(join(dir, "lib/sloppy.js"), TREE["lib/sloppy.js"].replace("version: 1", "version: 2"));
        const changed = run(dir, cache);
        assert.equal(JSON.parse(changed.out).sloppy.version, 2);
        assert.equal(changed.stats!.stale, 1, JSON.stringify(changed.stats));
        assert.equal(changed.stats!.hits, COMPILED.length - 1);
        assert.equal(changed.stats!.written, 1);
        const again = run(dir, cache);
        assert.equal(JSON.parse(again.out).sloppy.version, 2);
        assert.equal(again.stats!.hits, COMPILED.length, JSON.stringify(again.stats));
    });

    it("falls back to a normal compile on corrupt, truncated and garbage entries, then replaces them", () => {
        const dir = makeTree();
        const cache = join(scratch, "cache-corrupt");
        const node = run(dir, cache, { preload: false }).out;
        run(dir, cache);
        const files = entries(cache);
        assert.equal(files.length, ENTRIES);
        files.forEach((file, i) => {
            const buf = readFileSync(file);
            if (i === 0)
                writeFileSync(file, buf.subarray(0, 20)); // truncated
            else if (i === 1) writeFileSync(file, Buffer.from("not an entry at all"));
            else if (buf.length < 200)
                writeFileSync(file, buf.subarray(0, buf.length - 1)); // the marker, cut
            else {
                // V8's data with bytes flipped near its end: only the entry's checksum tells.
                for (let j = buf.length - 64; j < buf.length - 32; j++) buf[j] ^= 0x5a;
                writeFileSync(file, buf);
            }
        });
        const broken = run(dir, cache);
        assert.equal(broken.out, node);
        assert.equal(broken.stats!.corrupt, ENTRIES, JSON.stringify(broken.stats));
        assert.equal(broken.stats!.hits, 0);
        assert.equal(broken.stats!.written, ENTRIES);
        const healed = run(dir, cache);
        assert.equal(healed.out, node);
        assert.equal(healed.stats!.hits, COMPILED.length, JSON.stringify(healed.stats));
    });

    it("compiles normally and rewrites an entry whose data V8 rejects (intact entry, another script's code)", () => {
        const dir = makeTree();
        const cache = join(scratch, "cache-rejected");
        const node = run(dir, cache, { preload: false }).out;
        run(dir, cache);
        // The entry format: magic (8), SHA-256 of the text (32), SHA-256 of the data (32), path length (4), path, data.
        const entryOf = (file: string) =>
            entries(cache).find(
                (e) =>
                    readFileSync(e).includes(Buffer.from(join(dir, file))) && readFileSync(e).readUInt32LE(72) === join(dir, file).length,
            )!;
        const [thrower, strict] = [entryOf("lib/thrower.js"), entryOf("lib/strict.js")];
        const t = readFileSync(thrower);
        const s = readFileSync(strict);
        const foreignData = s.subarray(76 + join(dir, "lib/strict.js").length);
        const header = Buffer.from(t.subarray(0, 76 + join(dir, "lib/thrower.js").length));
        createHash("sha256").update(foreignData).digest().copy(header, 40);
        writeFileSync(thrower, Buffer.concat([header, foreignData]));
        const r = run(dir, cache);
        assert.equal(r.out, node);
        assert.equal(r.stats!.rejected, 1, JSON.stringify(r.stats));
        assert.equal(r.stats!.written, 1);
        assert.equal(run(dir, cache).stats!.hits, COMPILED.length);
    });

    it("keys a TypeScript file by the text ts-node compiles, and keeps its source-mapped stack lines", () => {
        const dir = join(scratch, `ts-${n++}`);
        mkdirSync(dir);
        symlinkSync(join(projectRoot, "node_modules"), join(dir, "node_modules"));
        writeFileSync(
            join(dir, "tsconfig.json"),
            JSON.stringify({ compilerOptions: { target: "ES2020", module: "commonjs", strict: true } }),
        );
        writeFileSync(
            join(dir, "prog.ts"),
            [
                `interface Shape { size: number }`,
                ``,
                `export function fail(s: Shape): never {`,
                `    throw new Error("from line four " + s.size);`,
                `}`,
                `const spread = { ...{ a: 1 }, b: 2 };`,
                `try { fail({ size: 1 }); } catch (e) {`,
                `    console.log(JSON.stringify({ spread, frame: (e as Error).stack!.split("\\n")[1].trim().replace(__dirname, "<dir>") }));`,
                `}`,
                ``,
            ].join("\n"),
        );
        const main = ["-r", "ts-node/register/transpile-only", "prog.ts"];
        const cache = join(scratch, "cache-ts");
        const env = { TS_NODE_PROJECT: join(dir, "tsconfig.json") };
        const node = run(dir, cache, { preload: false, main, env });
        const cold = run(dir, cache, { main, env });
        const warm = run(dir, cache, { main, env });
        assert.deepEqual(JSON.parse(node.out), { spread: { a: 1, b: 2 }, frame: "at fail (<dir>/prog.ts:4:11)" });
        assert.equal(cold.out, node.out);
        assert.equal(warm.out, node.out);
        assert.ok(cold.stats!.misses > 30, JSON.stringify(cold.stats));
        assert.equal(warm.stats!.hits, cold.stats!.misses, JSON.stringify(warm.stats));
        assert.equal(warm.stats!.misses + warm.stats!.stale + warm.stats!.rejected, 0);
        // Another target: ts-node emits other JavaScript for the same, unchanged prog.ts.
        const es5 = run(dir, cache, { main, env: { ...env, TS_NODE_COMPILER_OPTIONS: JSON.stringify({ target: "ES5" }) } });
        assert.equal(es5.out, node.out);
        // prog.ts's entry (its path) no longer matches the text: compiled again and replaced. (ts-node
        // loads one more module of its own for ES5 output: a miss, not a stale entry.)
        assert.equal(es5.stats!.stale, 1, `only prog.ts compiled again: ${JSON.stringify(es5.stats)}`);
        const back = run(dir, cache, { main, env });
        assert.equal(back.out, node.out);
        assert.equal(back.stats!.stale, 1, "back to ES2020: prog.ts's text changed again");
    });

    it("takes every module from the cache when the program changes V8's flags midway, as @pulumi/pulumi does", () => {
        const dir = makeTree();
        writeFileSync(
            join(dir, "flags.js"),
            'require("./lib/sloppy.js");\nrequire("node:v8").setFlagsFromString("--allow-natives-syntax");\nrequire("./lib/thrower.js");\n',
        );
        const cache = join(scratch, "cache-flags");
        const cold = run(dir, cache, { main: ["flags.js"] });
        assert.equal(cold.stats!.misses, 3, JSON.stringify(cold.stats));
        for (const i of [1, 2]) {
            const warm = run(dir, cache, { main: ["flags.js"] });
            assert.equal(warm.stats!.hits, 3, `warm run ${i}: ${JSON.stringify(warm.stats)}`);
            assert.equal(warm.stats!.rejected + warm.stats!.written, 0, `warm run ${i}: ${JSON.stringify(warm.stats)}`);
        }
    });

    it("serves concurrent cold runs: every run correct, whole entries only, no temporary files left", async () => {
        const dir = makeTree();
        const cache = join(scratch, "cache-concurrent");
        const node = run(dir, cache, { preload: false }).out;
        const outs = await Promise.all(
            [0, 1, 2, 3].map(
                () =>
                    new Promise<string>((resolve, reject) => {
                        const child = spawn("node", ["--require", PRELOAD, "main.js"], {
                            cwd: dir,
                            env: { ...process.env, HOSTNET_CODE_CACHE_DIR: cache },
                        });
                        let out = "";
                        child.stdout.on("data", (c: Buffer) => (out += c.toString()));
                        child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
                    }),
            ),
        );
        for (const out of outs) assert.equal(out, node);
        assert.deepEqual(
            entries(cache).filter((f) => f.endsWith(".tmp")),
            [],
        );
        const warm = run(dir, cache);
        assert.equal(warm.stats!.hits, COMPILED.length, JSON.stringify(warm.stats));
    });

    it("keeps the cache folder within HOSTNET_CODE_CACHE_MAX_MB, the oldest entries (another Node.js's first) going first", () => {
        const dir = makeTree();
        const cache = join(scratch, "cache-bound");
        const old = join(cache, "node-v0.0.0-old");
        mkdirSync(old, { recursive: true });
        writeFileSync(join(old, "a"), Buffer.alloc(40_000));
        const long = new Date(Date.now() - 30 * 24 * 3600 * 1000);
        utimesSync(join(old, "a"), long, long);
        const maxBytes = 0.04 * 1024 * 1024;
        run(dir, cache, { env: { HOSTNET_CODE_CACHE_MAX_MB: "0.04" } });
        const left = entries(cache);
        const total = left.reduce((sum, f) => sum + statSync(f).size, 0);
        assert.ok(total <= maxBytes, `${total} bytes left, bound ${maxBytes}`);
        assert.equal(existsSync(old), false, "the other Node.js's entry and folder are gone");
        assert.ok(left.length > 0, "this run's newest entries stay");
    });

    it("does nothing with HOSTNET_CODE_CACHE=0 (no entries, no counters), still removing itself from the command line", () => {
        const dir = makeTree();
        const cache = join(scratch, "cache-off");
        const node = run(dir, cache, { preload: false }).out;
        const off = run(dir, cache, { env: { HOSTNET_CODE_CACHE: "0" } });
        assert.equal(off.out, node);
        assert.equal(off.stats, undefined);
        assert.deepEqual(entries(cache), []);
        assert.deepEqual(JSON.parse(off.out).execArgv, []);
    });

    it("warms the dynamic-provider plugin, which the engine ends with SIGINT (no exit handler runs)", async () => {
        const project = mkdtempSync(join(scratch, "provider-"));
        symlinkSync(join(projectRoot, "node_modules"), join(project, "node_modules"));
        const cache = join(scratch, "cache-provider");
        const server = join(projectRoot, "tools", "dynamic-provider", "server.js");
        const start = async (): Promise<Stats> => {
            const statsFile = join(scratch, `stats-${n++}.jsonl`);
            const child = spawn("node", ["--require", PRELOAD, server, "127.0.0.1:1"], {
                cwd: project,
                env: { ...process.env, HOSTNET_CODE_CACHE_DIR: cache, HOSTNET_CODE_CACHE_STATS: statsFile },
                stdio: ["ignore", "pipe", "inherit"],
            });
            await new Promise<void>((resolve, reject) => {
                child.stdout.once("data", () => resolve());
                child.on("exit", (code) => reject(new Error(`the plugin exited ${code} before printing its port`)));
            });
            // The counters are written once module loading has been quiet for a moment; then ended as the engine does.
            for (let i = 0; i < 100 && !existsSync(statsFile); i++) await new Promise((r) => setTimeout(r, 100));
            const ended = new Promise((r) => child.on("exit", r));
            child.kill("SIGINT");
            await ended;
            const lines = readFileSync(statsFile, "utf8").trim().split("\n");
            return JSON.parse(lines[lines.length - 1]) as Stats;
        };
        const cold = await start();
        const warm = await start();
        assert.ok(cold.misses > 50 && cold.written === cold.misses, JSON.stringify(cold));
        assert.equal(warm.hits, cold.misses, JSON.stringify(warm));
        assert.equal(warm.misses + warm.rejected + warm.stale + warm.corrupt, 0, JSON.stringify(warm));
    });
});
