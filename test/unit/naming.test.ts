import * as assert from "node:assert/strict";
import {
    defaultDockerName,
    defaultHostIfName,
    defaultMac,
    isOwnedBy,
    ownerMark,
    parseOwnerMark,
    temporaryIfName,
} from "../../components/src/common/naming";
import { checkMac } from "../../components/src/common/validation";

const id = (name: string, over: Partial<{ project: string; stack: string; type: string }> = {}) => ({
    project: "hostnet",
    stack: "dev",
    type: "VethAttachment",
    name,
    ...over,
});

describe("naming", () => {
    it("marks owners with project, stack, resource type and name", () => {
        assert.equal(ownerMark(id("seed-eth0")), "hostnet/hostnet/dev/VethAttachment/seed-eth0");
    });

    it("shortens owner marks that would not fit an interface alias (255 bytes)", () => {
        assert.match(ownerMark(id("x".repeat(300))), /^hostnet\/sha256:[0-9a-f]{40}$/);
    });

    it("derives host interface names that are stable, distinct per stack and type, and at most 15 characters", () => {
        const a = defaultHostIfName(ownerMark(id("seed-eth0")), "seed-eth0");
        assert.equal(a, defaultHostIfName(ownerMark(id("seed-eth0")), "seed-eth0"));
        assert.match(a, /^hn-seede-[0-9a-f]{6}$/);
        assert.notEqual(a, defaultHostIfName(ownerMark(id("seed-eth0", { stack: "prod" })), "seed-eth0"));
        assert.notEqual(
            defaultHostIfName(ownerMark(id("lan", { type: "Bridge" })), "lan"),
            defaultHostIfName(ownerMark(id("lan")), "lan"),
            "a Bridge and a VethAttachment of the same name get different interfaces",
        );
        for (const name of ["a", "x".repeat(100), "---", "Ünïcode", "web.1"]) {
            const ifname = defaultHostIfName(ownerMark(id(name)), name);
            assert.ok(ifname.length <= 15, `${ifname} is longer than 15`);
            assert.match(ifname, /^hn-[a-z0-9-]+$/);
        }
    });

    it("derives container and network names Docker accepts", () => {
        assert.equal(defaultDockerName("dev", "seed"), "hn-dev-seed");
        assert.equal(defaultDockerName("my stack", "a/b"), "hn-my-stack-a-b");
    });

    it("derives MACs that are stable, unicast, locally administered, and distinct per role", () => {
        const owner = ownerMark(id("seed-isolated", { type: "VethLink" }));
        const a = defaultMac(owner, "a");
        assert.equal(a, defaultMac(owner, "a"));
        assert.notEqual(a, defaultMac(owner, "b"));
        assert.match(a, /^02(:[0-9a-f]{2}){5}$/);
        assert.equal(checkMac("mac", a), undefined);
    });
    it("parseOwnerMark reads back what ownerMark wrote, including names with slashes", () => {
        for (const name of ["seed-eth0", "a/b/c", "web.1"]) {
            assert.deepEqual(parseOwnerMark(ownerMark(id(name))), id(name));
        }
        assert.deepEqual(parseOwnerMark("hostnet/test/1a2b3c/Bridge/lan"), {
            project: "test",
            stack: "1a2b3c",
            type: "Bridge",
            name: "lan",
        });
    });

    it("parseOwnerMark: a shortened mark and other aliases name no owner", () => {
        for (const alias of [
            ownerMark(id("x".repeat(300))),
            undefined,
            "",
            "uplink to rack 3",
            "hostnet-test/1a2b3c",
            "hostnet/dev/Bridge",
            "hostnet/p/s//n",
        ]) {
            assert.equal(parseOwnerMark(alias), undefined, String(alias));
        }
    });

    it("isOwnedBy: only an exact owner mark is ours; an unmarked object never is, even when the owner is missing", () => {
        const owner = "hostnet/p/s/Bridge/lan";
        assert.equal(isOwnedBy(owner, owner), true);
        assert.equal(isOwnedBy("hostnet/p/s/Bridge/lan2", owner), false);
        assert.equal(isOwnedBy(undefined, undefined), false);
        assert.equal(isOwnedBy(null, undefined), false);
        assert.equal(isOwnedBy("", ""), false);
        assert.equal(isOwnedBy("someone", "someone"), false, "a mark the library never writes");
    });

    it("temporaryIfName: 15 characters, stable for an owner, different across owners and from the default host names", () => {
        const owner = ownerMark(id("probe-lan", { type: "MacvlanAttachment" }));
        const t = temporaryIfName(owner);
        assert.match(t, /^hn-t[0-9a-f]{11}$/);
        assert.equal(t, temporaryIfName(owner));
        assert.notEqual(t, temporaryIfName(ownerMark(id("probe-lan", { type: "MacvlanAttachment", stack: "prod" }))));
        assert.notEqual(t, defaultHostIfName(owner, "probe-lan"));
    });
});
