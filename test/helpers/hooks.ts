// Root hook: before any test, remove what an earlier, killed run may have left
// (only objects carrying a test mark or a test stack's owner mark). Set
// HOSTNET_TEST_NO_STALE_SWEEP=1 when several test runs share the host at once.
import { sweepStale } from "./host";

export const mochaHooks = {
    async beforeAll(this: Mocha.Context) {
        this.timeout(120000);
        if (!process.env.HOSTNET_TEST_NO_STALE_SWEEP) await sweepStale();
    },
};
