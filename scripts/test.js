#!/usr/bin/env node
// The test part of `npm test` (after setup and the Go tests): the checks, then
// every test file under test/unit, test/host, test/e2e and test/multihost,
// found by name (*.test.ts), in two parts:
//
//   1. the parallel part: every file without a serial mark, HOSTNET_TEST_JOBS
//      (default: one per core) files at a time, each file in a worker process
//      (mocha --parallel). Each worker is a test run of its own (its own RUN
//      id, so its own names, stacks and marks: test/helpers/host.ts), as if
//      several people ran their files at once, which the suites are written
//      for. The longest files start first (the file times of the last run on
//      this machine, kept in $HOSTNET_CACHE/test-times.json, or HOSTNET_TEST_TIMES);
//   2. the serial part: the files marked `// @serial: <why>` in their first
//      40 lines, one after another, with nothing else running.
//
// Before them, once: with --checks, `tsc -p .` and `npm run lint` side by side;
// the library packed (for the files that install it: packing rebuilds
// components/dist, which every other file loads); and, in a whole run only, the
// stale sweep (HOSTNET_TEST_SWEEP_STALE=1: the global setup in
// test/helpers/hooks.ts). At the end: the slowest 10 tests, each file's time,
// the wall time and one line "tests: N passed, N failed, N skipped" over both
// parts.
//
// A new file needs no list: it runs in the parallel part, unless it cannot
// share the host (README, "Tests": when to mark a file serial).
//
//   node scripts/test.js --checks              # what `npm test` runs
//   node scripts/test.js test/e2e test/host/x.test.ts   # a part of the tree, the same way, without the sweep
//   HOSTNET_TEST_JOBS=1 node scripts/test.js   # every file one after another, in one process
//
// A whole run sweeps other runs' leftovers: on the shared machine, only under
// `flock -x /tmp/hostnet-host.lock` (TEAM.md).

"use strict";
const { spawn } = require("node:child_process");
const { randomBytes } = require("node:crypto");
const { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } = require("node:fs");
const { availableParallelism, tmpdir } = require("node:os");
const { dirname, join, relative, resolve } = require("node:path");

const root = resolve(__dirname, "..");
const FOLDERS = ["test/unit", "test/host", "test/e2e", "test/multihost"];
/** The mark of a file that must run alone, in its first 40 lines: `// @serial: <why>`. */
const SERIAL = /^\/\/ @serial: (.+)$/m;
/** Each file's time in the last run on this machine (a hint for the order, nothing else). */
const TIMES = process.env.HOSTNET_TEST_TIMES ?? join(process.env.HOSTNET_CACHE ?? "/var/cache/hostnet", "test-times.json");

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

function readTimes() {
    try {
        return JSON.parse(readFileSync(TIMES, "utf8"));
    } catch {
        return {};
    }
}

/**
 * The order of the parallel part: the longest files first, so that the last
 * ones to start are short and the workers end close together. A file's time
 * in the last run when there is one; a file without (new, or a first run on
 * this machine) goes by its folder (a multihost or e2e file takes minutes, a
 * unit file seconds), before the known ones of its folder's kind.
 */
function longestFirst(files, times) {
    const guess = (f) => {
        const known = times[relative(root, f)];
        if (known !== undefined) return known;
        const folder = FOLDERS.findIndex((d) => relative(root, f).startsWith(d + "/"));
        return [10, 60, 600, 600][folder] * 1000 || 600000;
    };
    return [...files].sort((a, b) => guess(b) - guess(a));
}

/** Runs a command with its output held back and printed whole when it ends (commands side by side do not interleave). */
function quietly(label, argv, env = {}, show = (output) => output) {
    const t = Date.now();
    return new Promise((done) => {
        const child = spawn(argv[0], argv.slice(1), { cwd: root, env: { ...process.env, ...env } });
        let output = "";
        let stdout = "";
        child.stdout.on("data", (c) => ((output += c), (stdout += c)));
        child.stderr.on("data", (c) => (output += c));
        child.on("error", (err) => (output += `${err.message}\n`));
        child.on("close", (code) => {
            const ok = code === 0;
            const shown = (ok ? show(output) : output).trimEnd();
            process.stdout.write(
                `==> ${label}: ${ok ? "ok" : `FAILED (exit ${code})`} in ${seconds(Date.now() - t)}\n${shown ? shown + "\n" : ""}`,
            );
            done({ ok, output, stdout });
        });
    });
}

/**
 * Packs the library once (scripts/pack.sh) for the files that install it (they import test/helpers/pack):
 * packing rebuilds components/dist, which every other file loads, so it happens before any file runs.
 */
async function packOnce(files, dir) {
    if (process.env.HOSTNET_PACK_TGZ || !files.some((f) => /helpers\/pack["']/.test(readFileSync(f, "utf8")))) return {};
    const r = await quietly(
        "pack the library once, for the files that install it",
        ["bash", join(root, "scripts", "pack.sh")],
        { HOSTNET_PACK_DIR: dir },
        (output) =>
            output
                .split("\n")
                .filter((l) => l.startsWith("packed "))
                .join("\n"),
    );
    if (!r.ok) throw new Error("failed to pack the library (scripts/pack.sh, above)");
    return { HOSTNET_PACK_TGZ: r.stdout.trim().split("\n").pop() };
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

function seconds(ms) {
    const s = ms / 1000;
    return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

async function main() {
    const started = Date.now();
    const argv = process.argv.slice(2);
    const checks = argv.includes("--checks");
    const paths = argv.filter((a) => a !== "--checks");
    const whole = paths.length === 0;
    const files = (whole ? FOLDERS : paths).flatMap((p) => testFiles(resolve(root, p)));
    const times = readTimes();
    const serial = files.filter((f) => serialReason(f) !== undefined);
    const parallel = longestFirst(
        files.filter((f) => !serial.includes(f)),
        times,
    );
    const jobs = Number(process.env.HOSTNET_TEST_JOBS ?? availableParallelism());
    if (!Number.isInteger(jobs) || jobs < 1)
        throw new Error(`HOSTNET_TEST_JOBS must be a whole number of 1 or more; got ${process.env.HOSTNET_TEST_JOBS}`);
    const phases = [];
    const phase = async (name, body) => {
        const t = Date.now();
        const r = await body();
        phases.push(`${name} ${seconds(Date.now() - t)}`);
        return r;
    };

    if (checks) {
        const results = await phase("checks", () =>
            Promise.all([
                quietly("type-check (tsc -p .)", [join(root, "node_modules", ".bin", "tsc"), "-p", "."]),
                quietly("lint (npm run lint)", ["npm", "run", "--silent", "lint"]),
            ]),
        );
        if (results.some((r) => !r.ok)) {
            process.exitCode = 1;
            return;
        }
    }

    const scratch = mkdtempSync(join(tmpdir(), "hostnet-test-"));
    process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
    const results = join(scratch, "results.jsonl");
    const pack = await phase("pack", () => packOnce(files, join(scratch, "pack")));
    // One base of runByte for all workers: suites running at once get the addresses they would get one after another.
    process.env.HOSTNET_TEST_BASE ??= randomBytes(2).toString("hex");
    // A whole run sweeps once, in the global setup of the first part that runs; a part of the tree never does.
    let sweep = whole ? { HOSTNET_TEST_SWEEP_STALE: "1" } : {};
    const codes = [];

    console.log(
        `\n${files.length} test files: ${parallel.length} in parallel (${jobs} at a time, longest first), ${serial.length} alone after them`,
    );
    for (const f of serial) console.log(`  alone: ${relative(root, f)}: ${serialReason(f)}`);
    if (parallel.length > 0) {
        const args = jobs > 1 ? ["--parallel", "--jobs", String(jobs)] : [];
        await phase("parallel part", async () =>
            codes.push(
                await mocha([...args, ...parallel.map((f) => relative(root, f))], { HOSTNET_TEST_RESULTS: results, ...pack, ...sweep }),
            ),
        );
        sweep = {};
    }
    if (serial.length > 0) {
        const names = serial.map((f) => relative(root, f));
        await phase("serial part", async () => codes.push(await mocha(names, { HOSTNET_TEST_RESULTS: results, ...pack, ...sweep })));
    }

    const records = existsSync(results)
        ? readFileSync(results, "utf8")
              .split("\n")
              .filter(Boolean)
              .map((l) => JSON.parse(l))
        : [];
    // The hint for the next run's order: each file's time now, the others' as they were.
    const perFile = {};
    for (const r of records) perFile[r.file] = (perFile[r.file] ?? 0) + r.ms;
    try {
        mkdirSync(dirname(TIMES), { recursive: true });
        writeFileSync(TIMES, JSON.stringify({ ...times, ...perFile }, null, 1) + "\n");
    } catch {
        // Only a hint: a run without it orders by folder.
    }
    const { summary } = require(join(root, "test", "helpers", "reporter.js"));
    process.stdout.write(summary(records, Date.now() - started, phases.join(", ")));
    // A part that failed before reporting (a file that does not load, say) fails the run too.
    process.exitCode = codes.some((c) => c !== 0) || records.some((r) => r.state === "failed") ? 1 : 0;
}

if (require.main === module) {
    main().catch((err) => {
        console.error(`test: ${err.message}`);
        process.exitCode = 1;
    });
}

module.exports = { testFiles, serialReason, longestFirst };
