// Root hook: before the whole suite (`npm test`, which sets
// HOSTNET_TEST_SWEEP_STALE=1), remove what an earlier, killed run may have left:
// only objects carrying a test mark or a test stack's owner mark. Off by
// default, so that a partial run (`npm run test:unit`) never touches objects of
// another run going on at the same time.
import { forgetScan } from "../../components/src/engine/observe";
import { resetClaims } from "../../components/src/engine/registry";
import { forgetLinkKinds } from "../../components/src/host/linkKinds";
import { sweepStale } from "./host";

export const mochaHooks = {
    async beforeAll(this: Mocha.Context) {
        this.timeout(120000);
        if (process.env.HOSTNET_TEST_SWEEP_STALE === "1") await sweepStale();
    },
    // The engine's claims and its scan of the host live as long as one deployment's provider process; here, one test.
    beforeEach() {
        resetClaims();
        forgetScan();
        // Asked again of each test's kernel (a fake one may have other kinds than this machine's).
        forgetLinkKinds();
    },
};
