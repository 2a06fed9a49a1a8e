// Mocha's global setup and root hooks (.mocharc.js requires this file).
//
// Global setup: before a whole run (scripts/test.js, which `npm test` runs,
// sets HOSTNET_TEST_SWEEP_STALE=1), remove what an earlier, killed run may have
// left: only objects carrying a test mark or a test stack's owner mark, of runs
// no longer alive. It runs once, in mocha's main process, before any worker of
// `--parallel` starts (never in a worker: it must not race the workers' own
// objects). Off by default, so that a partial run (`npx mocha test/e2e/x.test.ts`)
// never touches objects of another run going on at the same time.
import { forgetObservations } from "../../components/src/engine/observe";
import { resetClaims } from "../../components/src/engine/registry";
import { forgetLinkKinds } from "../../components/src/host/linkKinds";
import { sweepStale } from "./host";
import { relative } from "node:path";
import { format } from "node:util";

export async function mochaGlobalSetup(): Promise<void> {
    if (process.env.HOSTNET_TEST_SWEEP_STALE !== "1") return;
    const t = Date.now();
    await sweepStale();
    console.log(`stale sweep (leftovers of killed test runs): ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

// In a worker of `mocha --parallel`, a file's test results are printed whole when
// it ends, but what its tests log goes out at once, among other files' lines:
// each logged line is prefixed with the file it comes from.
let fileNow = "";
if (process.env.MOCHA_WORKER_ID !== undefined) {
    for (const method of ["log", "error", "warn", "info"] as const) {
        const write = console[method].bind(console);
        console[method] = (...args: unknown[]) => {
            if (!fileNow) return write(...args);
            const text = format(...args);
            write(
                text
                    .split("\n")
                    .map((line) => `[${fileNow}] ${line}`)
                    .join("\n"),
            );
        };
    }
}

export const mochaHooks = {
    beforeAll(this: Mocha.Context) {
        // The root suite of a worker's run holds one file's suites.
        const file = this.test?.parent?.suites.find((s) => s.file)?.file;
        fileNow = file ? relative(process.cwd(), file) : "";
    },
    // The engine's claims and its scan of the host live as long as one deployment's provider process; here, one test.
    beforeEach() {
        resetClaims();
        forgetObservations();
        // Asked again of each test's kernel (a fake one may have other kinds than this machine's).
        forgetLinkKinds();
    },
};
