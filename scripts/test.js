#!/usr/bin/env node
// The mocha part of `npm test`: every test file under test/unit, test/host,
// test/e2e and test/multihost, found by name (*.test.ts), in two parts:
//
//   1. the parallel part: every file without a serial mark, `--jobs` files at
//      a time, each in a worker process of its own (mocha --parallel). Each
//      worker is a test run of its own (its own RUN id, so its own names,
//      stacks and marks: test/helpers/host.ts), as if several people ran
//      their files at once, which the suites are written for;
//   2. the serial part: the files marked `// @serial: <why>` in their first
//      lines, one after another, with nothing else running.
//
// Before both, once (in a whole run only), the stale sweep (HOSTNET_TEST_SWEEP_STALE=1, the global
// setup in test/helpers/hooks.ts) removes what killed runs left. At the end:
// the slowest 10 tests, each file's time, the wall time and one line
// "tests: N passed, N failed, N skipped" over both parts.
//
// A new file needs no list: it runs in the parallel part, unless it cannot
// share the host (see README, "Tests").
//
//   node scripts/test.js                       # what `npm test` runs (after tsc, lint, Go tests)
//   node scripts/test.js test/e2e test/host/x.test.ts   # a part of the tree, the same way, without the sweep
//   HOSTNET_TEST_JOBS=1 node scripts/test.js   # everything one file at a time
//
// Whole-tree runs sweep other runs' leftovers: on the shared machine, only under
// `flock -x /tmp/hostnet-host.lock` (TEAM.md).

"use strict";
const { spawn } = require("node:child_process");
const { randomBytes } = require("node:crypto");
const { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } = require("node:fs");
const { availableParallelism, tmpdir } = require("node:os");
const { join, relative, resolve } = require("node:path");

const root = resolve(__dirname, "..");
const FOLDERS = ["test/unit", "test/host", "test/e2e", "test/multihost"];
/** The mark of a file that must run alone, in its first 40 lines: `// @serial: <why>`. */
const SERIAL = /^\/\/ @serial: (.+)$/m;

function testFiles(path) {
    if (!existsSync(path)) throw new Error(`failed to find ${relative(root, path)}: no such file or folder`);
    if (statSync(path).isFile()) return [path];
    return readdirSync(path, { withFileTypes: true })
        .sort((a, b) => a.name.localeCompare(b.name))
        .flatMap((e) => (e.isDirectory() ? testFiles(join(path, e.name)) : e.name.endsWith(".test.ts") ? [join(path, e.name)] : []));
}

/** Why a file must run alone, or undefined when it can share the host. */
function serialReason(file) {
    const head = readFileSync(file, "utf8").split("\n").slice(0, 40).join("\n");
    return SERIAL.exec(head)?.[1].trim();
}

/**
 * Order of the parallel part: the longest files first, so that the last ones
 * to start are short and both workers end close together. Folders stand for
 * length (a multihost or e2e file takes minutes, a unit file seconds); within
 * a folder, the bigger file first.
 */
function byExpectedLength(files) {
    const weight = (f) => {
        const folder = FOLDERS.findIndex((d) => relative(root, f).startsWith(d + "/"));
        return { rank: folder === -1 ? 0 : [3, 2, 0, 1][folder], size: statSync(f).size };
    };
    return [...files].sort((a, b) => {
        const [wa, wb] = [weight(a), weight(b)];
        return wb.rank - wa.rank || wb.size - wa.size;
    });
}

/**
 * Packs the library once (scripts/pack.sh) for the files that install it (they import test/helpers/pack):
 * packing rebuilds components/dist, which every other file loads, so it happens before any file runs.
 */
function packOnce(files, dir) {
    if (process.env.HOSTNET_PACK_TGZ || !files.some((f) => /helpers\/pack["']/.test(readFileSync(f, "utf8")))) return Promise.resolve({});
    const t = Date.now();
    return new Promise((done, fail) => {
        const child = spawn("bash", [join(root, "scripts", "pack.sh")], { cwd: root, env: { ...process.env, HOSTNET_PACK_DIR: dir } });
        let out = "";
        let err = "";
        child.stdout.on("data", (c) => (out += c));
        child.stderr.on("data", (c) => (err += c));
        child.on("exit", (code) => {
            if (code !== 0) return fail(new Error(`failed to pack the library: scripts/pack.sh exited ${code}: ${err}`));
            const tgz = out.trim().split("\n").pop();
            console.log(`packed the library once for the files that install it: ${tgz} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
            done({ HOSTNET_PACK_TGZ: tgz });
        });
    });
}

function mocha(args, env) {
    return new Promise((done) => {
        const child = spawn(process.execPath, [join(root, "node_modules", "mocha", "bin", "mocha.js"), ...args], {
            cwd: root,
            stdio: "inherit",
            env: { ...process.env, ...env },
        });
        const forward = (signal) => child.kill(signal);
        process.on("SIGINT", forward).on("SIGTERM", forward);
        child.on("exit", (code, signal) => {
            process.off("SIGINT", forward).off("SIGTERM", forward);
            done(code ?? (signal ? 1 : 0));
        });
    });
}

async function main() {
    const started = Date.now();
    const args = process.argv.slice(2);
    const files = (args.length > 0 ? args : FOLDERS).flatMap((p) => testFiles(resolve(root, p)));
    const serial = files.filter((f) => serialReason(f) !== undefined);
    const parallel = byExpectedLength(files.filter((f) => !serial.includes(f)));
    const jobs = Number(process.env.HOSTNET_TEST_JOBS ?? availableParallelism());
    if (!Number.isInteger(jobs) || jobs < 1)
        throw new Error(`HOSTNET_TEST_JOBS must be a whole number of 1 or more; got ${process.env.HOSTNET_TEST_JOBS}`);

    const scratch = mkdtempSync(join(tmpdir(), "hostnet-test-"));
    const results = join(scratch, "results.jsonl");
    process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
    // A whole run sweeps once, in the global setup of the first part that runs; a part of the tree never does.
    let sweep = args.length === 0 ? { HOSTNET_TEST_SWEEP_STALE: "1" } : {};
    // One base of runByte for all workers: suites running at once get the addresses they would get one after another.
    process.env.HOSTNET_TEST_BASE ??= randomBytes(2).toString("hex");
    const codes = [];
    const pack = await packOnce(files, join(scratch, "pack"));

    console.log(`${files.length} test files: ${parallel.length} in parallel (${jobs} at a time), ${serial.length} alone after them`);
    for (const f of serial) console.log(`  alone: ${relative(root, f)}: ${serialReason(f)}`);
    if (parallel.length > 0) {
        const args = jobs > 1 ? ["--parallel", "--jobs", String(jobs)] : [];
        codes.push(await mocha([...args, ...parallel.map((f) => relative(root, f))], { HOSTNET_TEST_RESULTS: results, ...pack, ...sweep }));
        sweep = {};
    }
    if (serial.length > 0)
        codes.push(
            await mocha(
                serial.map((f) => relative(root, f)),
                { HOSTNET_TEST_RESULTS: results, ...pack, ...sweep },
            ),
        );

    const records = existsSync(results)
        ? readFileSync(results, "utf8")
              .split("\n")
              .filter(Boolean)
              .map((l) => JSON.parse(l))
        : [];
    const { summary } = require(join(root, "test", "helpers", "reporter.js"));
    process.stdout.write(summary(records, Date.now() - started));
    // A part that failed before reporting (a file that does not load, say) fails the run too.
    process.exitCode = codes.some((c) => c !== 0) || records.some((r) => r.state === "failed") ? 1 : 0;
}

main().catch((err) => {
    console.error(`test: ${err.message}`);
    process.exitCode = 1;
});
