// Mocha's spec reporter, plus what a reader of a long run wants at its end:
// the 10 slowest tests, each file's time (its tests and hooks), the wall time,
// and one plain closing line that CI systems read:
// "tests: N passed, N failed, N skipped".
//
// Under scripts/test.js (`npm test`), which runs mocha more than once (the
// parallel part, then the serial files), HOSTNET_TEST_RESULTS names a file:
// each run appends its tests there as JSON lines, prints only its own count,
// and scripts/test.js prints the summary of the whole run.
const { appendFileSync } = require("node:fs");
const { relative } = require("node:path");
const Mocha = require("mocha");

const { EVENT_RUN_END, EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING, EVENT_HOOK_END } = Mocha.Runner.constants;

/** A test's or hook's file, relative to the project, as mocha knows it (in --parallel too). */
function fileOf(runnable) {
    const file = runnable.file ?? runnable.parent?.file;
    return file ? relative(process.cwd(), file) : undefined;
}

/** "1.2 s", "3 min 4 s": how long, for a person. */
function seconds(ms) {
    const s = ms / 1000;
    return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/**
 * The summary printed at the end of a run, from records `{ kind: "test" | "hook", state, title, file, ms }`,
 * with the run's wall time and, from scripts/test.js, the time of each of its parts.
 * Exported for scripts/test.js, which prints it over all of its mocha runs.
 */
function summary(records, wallMs, phases) {
    const tests = records.filter((r) => r.kind === "test");
    const count = (state) => tests.filter((r) => r.state === state).length;
    const lines = [];
    const slowest = tests
        .filter((r) => r.state !== "pending")
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 10);
    if (slowest.length > 0) {
        lines.push("", `slowest ${slowest.length} tests:`);
        for (const r of slowest) lines.push(`  ${seconds(r.ms).padStart(9)}  ${r.title}  (${r.file})`);
    }
    const perFile = new Map();
    for (const r of records) perFile.set(r.file, (perFile.get(r.file) ?? 0) + r.ms);
    if (perFile.size > 1) {
        lines.push("", "time per file (its tests and hooks, slowest first):");
        for (const [file, ms] of [...perFile].sort((a, b) => b[1] - a[1])) lines.push(`  ${seconds(ms).padStart(9)}  ${file}`);
    }
    if (wallMs !== undefined) lines.push("", `wall time of the run: ${seconds(wallMs)}${phases ? ` (${phases})` : ""}`);
    lines.push("", `tests: ${count("passed")} passed, ${count("failed")} failed, ${count("pending")} skipped`);
    return lines.join("\n") + "\n";
}

class SpecWithSummary extends Mocha.reporters.Spec {
    constructor(runner, options) {
        super(runner, options);
        const started = Date.now();
        const records = [];
        const results = process.env.HOSTNET_TEST_RESULTS;
        // Root hooks (test/helpers/hooks.ts) belong to no file: they are left out.
        const record = (kind, state) => (r) => {
            const file = fileOf(r);
            if (file !== undefined) records.push({ kind, state, title: r.fullTitle(), file, ms: r.duration ?? 0 });
        };
        runner.on(EVENT_TEST_PASS, record("test", "passed"));
        runner.on(EVENT_TEST_FAIL, (r) => {
            // A failing hook is reported as a failed test too; its time is counted once, as the hook's.
            if (r.type === "hook") record("hook", "failed")(r);
            else record("test", "failed")(r);
        });
        runner.on(EVENT_TEST_PENDING, record("test", "pending"));
        runner.on(EVENT_HOOK_END, record("hook", "passed"));
        runner.once(EVENT_RUN_END, () => {
            if (results) {
                appendFileSync(results, records.map((r) => JSON.stringify(r) + "\n").join(""));
                const s = runner.stats;
                process.stdout.write(`\nthis part: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
            } else {
                process.stdout.write(summary(records, Date.now() - started));
            }
        });
    }
}

module.exports = SpecWithSummary;
module.exports.summary = summary;
