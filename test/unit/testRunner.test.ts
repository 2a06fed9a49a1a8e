// scripts/test.js, the runner of `npm test`, on test files of its own in a
// scratch folder: unmarked files run at the same time in different processes,
// a file marked `// @serial:` runs after them, alone; the summary counts every
// part and names the slowest tests; the file times are kept for the next order.

import * as assert from "node:assert/strict";
import { execa } from "execa";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { projectRoot } from "../helpers/pulumi";

const runner = require(join(projectRoot, "scripts", "test.js"));

/**
 * A file whose test logs its start and end with its pid; with `meet`, it waits (up to 60 s) for the
 * other file to have started too: it passes only when both run at the same time.
 */
function probe(name: string, opts: { meet?: string; serial?: boolean; extra?: string } = {}): string {
    return [
        opts.serial ? "// @serial: a probe that runs alone" : "// a probe of scripts/test.js",
        `import { appendFileSync, existsSync, writeFileSync } from "node:fs";`,
        `const dir = ${JSON.stringify("DIR")};`,
        `describe("probe ${name}", () => {`,
        `    it("${name} runs", async () => {`,
        `        appendFileSync(dir + "/log", "start ${name} " + process.pid + "\\n");`,
        `        writeFileSync(dir + "/${name}.here", "");`,
        opts.meet
            ? `        for (let i = 0; i < 600 && !existsSync(dir + "/${opts.meet}.here"); i++) await new Promise((r) => setTimeout(r, 100));
        if (!existsSync(dir + "/${opts.meet}.here")) throw new Error("${opts.meet} did not run at the same time");`
            : "",
        `        appendFileSync(dir + "/log", "end ${name}\\n");`,
        `    });`,
        opts.extra ?? "",
        `});`,
        "",
    ].join("\n");
}

describe("scripts/test.js: parallel files, serial files, the summary", function () {
    let dir: string;
    let run: { exitCode?: number; stdout: string; stderr: string };

    before(async function () {
        this.timeout(300000);
        dir = mkdtempSync(join(tmpdir(), "hostnet-runner-"));
        const write = (name: string, text: string) => writeFileSync(join(dir, name), text.replace('"DIR"', JSON.stringify(dir)));
        write("a.test.ts", probe("a", { meet: "b" }));
        write("b.test.ts", probe("b", { meet: "a" }));
        write("c.test.ts", probe("c", { serial: true }));
        write(
            "d.test.ts",
            probe("d", {
                extra: `    it("d fails", () => { throw new Error("as it should"); });\n    it.skip("d is skipped", () => undefined);`,
            }),
        );
        const env: NodeJS.ProcessEnv = { ...process.env, HOSTNET_TEST_JOBS: "2", HOSTNET_TEST_TIMES: join(dir, "times.json") };
        // This run's own settings do not leak into the runner under test.
        for (const k of ["MOCHA_WORKER_ID", "HOSTNET_TEST_RESULTS", "HOSTNET_TEST_SWEEP_STALE", "HOSTNET_TEST_BASE"]) delete env[k];
        const r = await execa(process.execPath, [join(projectRoot, "scripts", "test.js"), dir], { cwd: projectRoot, env, reject: false });
        run = { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
    });

    after(() => {
        if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const log = () =>
        readFileSync(join(dir, "log"), "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => l.split(" "));

    it("finds the *.test.ts files of a folder and the serial mark with its reason", () => {
        const files = runner.testFiles(dir).map((f: string) => relative(dir, f));
        assert.deepEqual(files, ["a.test.ts", "b.test.ts", "c.test.ts", "d.test.ts"]);
        assert.equal(runner.serialReason(join(dir, "c.test.ts")), "a probe that runs alone");
        assert.equal(runner.serialReason(join(dir, "a.test.ts")), undefined);
        assert.match(run.stdout, /4 test files: 3 in parallel \(2 at a time, longest first\), 1 alone after them/);
        assert.match(run.stdout, /alone: .*c\.test\.ts: a probe that runs alone/);
    });

    it("two unmarked files run at the same time, each in a process of its own", () => {
        assert.match(run.stdout, /probe a\s+✔ a runs/);
        assert.match(run.stdout, /probe b\s+✔ b runs/);
        const pids = Object.fromEntries(
            log()
                .filter(([what]) => what === "start")
                .map(([, name, pid]) => [name, pid]),
        );
        assert.notEqual(pids.a, pids.b);
        assert.notEqual(pids.a, String(process.pid));
    });

    it("the marked file runs after every unmarked one has ended", () => {
        const lines = log().map((l) => l.slice(0, 2).join(" "));
        const start = lines.indexOf("start c");
        assert.ok(start > 0, lines.join("\n"));
        for (const end of ["end a", "end b", "end d"]) assert.ok(lines.indexOf(end) !== -1 && lines.indexOf(end) < start, lines.join("\n"));
    });

    it("the summary counts both parts, lists the slowest tests and each file, and a failure fails the run", () => {
        assert.equal(run.exitCode, 1, "one test failed");
        assert.match(run.stdout, /\ntests: 4 passed, 1 failed, 1 skipped\n?$/);
        const slowest = /slowest (\d+) tests:\n((?: .*\n)+)/.exec(run.stdout);
        assert.ok(slowest, run.stdout);
        assert.equal(slowest[1], "5", "every test that ran, at most 10");
        assert.match(slowest[2].split("\n")[0], /probe (a|b) (a|b) runs/, "the files that waited for each other are the slowest");
        assert.match(run.stdout, /time per file \(its tests and hooks, slowest first\):\n(?: .*\n){4}/);
        assert.match(run.stdout, /wall time of the run: [\d.]+ s \(pack 0\.0 s, parallel part [\d.]+ s, serial part [\d.]+ s\)/);
    });

    it("keeps each file's time for the next run's order, and orders the longest first", () => {
        const times = JSON.parse(readFileSync(join(dir, "times.json"), "utf8"));
        assert.deepEqual(
            Object.keys(times).sort(),
            ["a", "b", "c", "d"].map((n) => relative(projectRoot, join(dir, `${n}.test.ts`))).sort(),
        );
        const order = runner.longestFirst(
            ["x", "y", "z"].map((n) => join(projectRoot, "test", "e2e", `${n}.test.ts`)),
            { "test/e2e/x.test.ts": 1000, "test/e2e/y.test.ts": 90000 },
        );
        assert.deepEqual(
            order.map((f: string) => relative(projectRoot, f)),
            ["test/e2e/z.test.ts", "test/e2e/y.test.ts", "test/e2e/x.test.ts"],
            "a file without a time (new) goes first in its folder, then by time",
        );
    });
});
