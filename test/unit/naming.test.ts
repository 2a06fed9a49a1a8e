import * as assert from "node:assert/strict";
import { defaultDockerName, defaultHostIfName, ownerMark } from "../../components/naming";

describe("naming", () => {
    it("marks owners with project, stack and resource name", () => {
        assert.equal(ownerMark("hostnet", "dev", "seed-eth0"), "hostnet/hostnet/dev/seed-eth0");
    });

    it("shortens owner marks that would not fit an interface alias (255 bytes)", () => {
        const mark = ownerMark("p", "s", "x".repeat(300));
        assert.match(mark, /^hostnet\/sha256:[0-9a-f]{40}$/);
    });

    it("derives host interface names that are stable, distinct and at most 15 characters", () => {
        const a = defaultHostIfName(ownerMark("hostnet", "dev", "seed-eth0"), "seed-eth0");
        assert.equal(a, defaultHostIfName(ownerMark("hostnet", "dev", "seed-eth0"), "seed-eth0"));
        assert.match(a, /^hn-seede-[0-9a-f]{6}$/);
        const b = defaultHostIfName(ownerMark("hostnet", "prod", "seed-eth0"), "seed-eth0");
        assert.notEqual(a, b);
        for (const name of ["a", "x".repeat(100), "---", "Ünïcode", "web.1"]) {
            const ifname = defaultHostIfName(ownerMark("p", "s", name), name);
            assert.ok(ifname.length <= 15, `${ifname} is longer than 15`);
            assert.match(ifname, /^hn-[a-z0-9-]+$/);
        }
    });

    it("derives container names Docker accepts", () => {
        assert.equal(defaultDockerName("dev", "seed"), "hn-dev-seed");
        assert.equal(defaultDockerName("my stack", "a/b"), "hn-my-stack-a-b");
    });
});
