// The provider text each resource stores, and the one in-place update that
// moves a resource stored with another text (0.2's 2 KB stub, code by value
// before it) to this version's: the engine's diff says "update" when nothing
// but the text differs, and that update returns the stored outputs as they
// were, without running a step on the host. Pure: the diffs here read nothing
// (the drift read, engine/drift.ts, is off; test/e2e/upgrade.test.ts migrates
// with it on, through the real engine).

import * as assert from "node:assert/strict";
import { provider, storedProviderDiffers } from "../../components/src/engine";
import { setCommandRunner } from "../../components/src/host/run";
import { providerText } from "../../components/src/program/engineResource";
import { forTests } from "../helpers/providers";

/** What 0.2 stored: Pulumi's serialization of a stub (abridged; only "not this version's text" matters). */
const OLD_STUB =
    'exports.handler = __f0;\n\nvar __provider = {check: __f1, diff: __f3, create: __f4, read: __f5, update: __f6, delete: __f7};\n\nfunction __f2(__0) {\n  return (function() {\n    with({ engineModule: "pulumi-hostnet/engine", kind: "VethAttachment" }) {\n  return () => require(engineModule).provider(kind);\n  }\n}).apply(undefined, undefined).apply(this, arguments);\n}\n';
const NEW = providerText("VethAttachment");

const inputs = {
    container: "c0ffee",
    bridge: "docker0",
    address: "172.17.0.3/16",
    defaultRoute: true,
    containerIfName: "eth0",
    hostIfName: "hn-a-123456",
    mac: "02:00:00:00:00:01",
    owner: "hostnet/p/s/VethAttachment/a",
};
const outputs = { ...inputs, containerId: "c0ffee".padEnd(64, "0"), effectiveGateway: "172.17.0.1", bridgeAddress: "172.17.0.1", up: true };

describe("the stored provider text and its in-place migration", () => {
    const veth = forTests(provider("VethAttachment"));
    // The plan of a diff alone: the drift read (a diff reads the resource back from its host) is off here.
    const savedDrift = process.env.HOSTNET_DRIFT;
    before(() => void (process.env.HOSTNET_DRIFT = "off"));
    after(() => void (savedDrift === undefined ? delete process.env.HOSTNET_DRIFT : (process.env.HOSTNET_DRIFT = savedDrift)));

    it("storedProviderDiffers is true only when both texts are strings and differ", () => {
        assert.equal(storedProviderDiffers({ __provider: OLD_STUB }, { __provider: NEW }), true);
        assert.equal(storedProviderDiffers({ __provider: NEW }, { __provider: NEW }), false);
        assert.equal(storedProviderDiffers({}, { __provider: NEW }), false);
        assert.equal(storedProviderDiffers({ __provider: OLD_STUB }, {}), false);
        assert.equal(storedProviderDiffers(undefined, undefined), false);
    });

    it("diff plans an in-place update (no replacement) when only the stored text differs", async () => {
        const d = await veth.diff("hn-a-123456", { ...outputs, __provider: OLD_STUB } as any, { ...inputs, __provider: NEW } as any);
        assert.equal(d.changes, true);
        assert.deepEqual(d.replaces, []);
    });

    it("diff finds nothing when the stored text is this version's", async () => {
        const d = await veth.diff("hn-a-123456", { ...outputs, __provider: NEW } as any, { ...inputs, __provider: NEW } as any);
        assert.equal(d.changes, false);
    });

    it("a real change beside a new text is planned as that change (a replacement stays a replacement)", async () => {
        const d = await veth.diff(
            "hn-a-123456",
            { ...outputs, __provider: OLD_STUB } as any,
            {
                ...inputs,
                hostIfName: "hn-b-123456",
                __provider: NEW,
            } as any,
        );
        assert.equal(d.changes, true);
        assert.deepEqual(d.replaces, ["hostIfName"]);
    });

    it("the migrating update returns the stored outputs unchanged (the engine adds the new text) and runs no host command", async () => {
        const ran: string[][] = [];
        const previous = setCommandRunner(async (argv) => {
            ran.push([...argv]);
            return { exitCode: 1, stdout: "", stderr: "not in this test" };
        });
        try {
            const r = await veth.update("hn-a-123456", { ...outputs, __provider: OLD_STUB } as any, { ...inputs, __provider: NEW } as any);
            assert.deepEqual(r.outs, outputs);
        } finally {
            setCommandRunner(previous);
        }
        assert.deepEqual(ran, []);
    });
});
