// Root hooks: before any test, remove what an earlier, killed run may have
// left (only objects carrying a test mark or a test stack's owner mark).
import { sweepTestObjects } from "./host";

export const mochaHooks = {
    async beforeAll(this: Mocha.Context) {
        this.timeout(120000);
        await sweepTestObjects("hostnet/test/");
        await sweepTestObjects("hostnet/hostnet/e2e-");
    },
};
