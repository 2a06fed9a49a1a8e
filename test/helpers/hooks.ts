// Mocha's global setup and root hooks (.mocharc.js requires this file).
//
// Global setup: before a whole run (scripts/test.js, which `npm test` runs,
// sets HOSTNET_TEST_SWEEP_STALE=1), remove what an earlier, killed run may have
// left: only objects carrying a test mark or a test stack's owner mark, of runs
// no longer alive. It runs once, in mocha's main process, before any worker of
// `--parallel` starts (never in a worker: it must not race the workers' own
// objects). Off by default, so that a partial run (`npx mocha test/e2e/x.test.ts`)
// never touches objects of another run going on at the same time.
import { forgetScan } from "../../components/src/engine/observe";
import { resetClaims } from "../../components/src/engine/registry";
import { sweepStale } from "./host";

export async function mochaGlobalSetup(): Promise<void> {
    if (process.env.HOSTNET_TEST_SWEEP_STALE !== "1") return;
    const t = Date.now();
    await sweepStale();
    console.log(`stale sweep (leftovers of killed test runs): ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

export const mochaHooks = {
    // The engine's claims and its scan of the host live as long as one deployment's provider process; here, one test.
    beforeEach() {
        resetClaims();
        forgetScan();
    },
};
