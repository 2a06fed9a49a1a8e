// The preview's blind spots that need a read of the host (issue 18), against
// the fake kernel and Docker (test/fakes): a default route the container has
// already (VethAttachment's `defaultRoute`, MacvlanAttachment's `gateway`),
// and VLAN filtering asked of a kernel without it (asked of the kernel, not
// assumed). Each with its exact message; the real-host rows are in
// test/e2e/badInputs.test.ts.

import * as assert from "node:assert/strict";
import { OWNER_LABEL } from "../../components/src/common/naming";
import { VethAttachmentInputs } from "../../components/src/common/specs/vethAttachment";
import { BridgeInputs } from "../../components/src/common/specs/bridge";
import { vethAttachmentProvider } from "../../components/src/engine/providers/vethAttachment";
import { bridgeProvider } from "../../components/src/engine/providers/bridge";
import { KERNEL_KINDS } from "../fakes/kernel";
import { FakeHost, World } from "../fakes/world";
import { forTests } from "../helpers/providers";

const veth = forTests(vethAttachmentProvider);
const bridge = forTests(bridgeProvider);
const OWNER = "hostnet/proj/stk/VethAttachment/web";

const attachment = (over: Partial<VethAttachmentInputs> = {}): VethAttachmentInputs => ({
    container: "ctr-r",
    bridge: "br7",
    address: "10.7.0.5/24",
    defaultRoute: true,
    containerIfName: "eth1",
    hostIfName: "hn-web",
    owner: OWNER,
    ...over,
});

describe("blind spots read from the host: a default route taken, VLAN filtering missing (fake kernel)", () => {
    let host: FakeHost;
    before(async () => {
        host = await FakeHost.start();
    });
    after(async () => {
        await host?.stop();
    });

    /** A bridge with an address, and a --net=none container with a default route of its own through eth0. */
    function world(kinds?: readonly string[]): World {
        const w = host.world({ kinds });
        w.kernel.addBridge("br7", { addrs: ["10.7.0.1/24"], up: true });
        const c = w.docker.run("ctr-r", { labels: { [OWNER_LABEL]: "hostnet/other/stk/Container/r" } });
        const ns = w.kernel.nsOfPid(c.pid)!;
        const eth0 = w.kernel.addVeth(ns, "eth0", w.kernel.host, "hn-r0", { up: true });
        eth0.addrs.push({ local: "10.8.0.2", prefixlen: 24 });
        ns.routes.push({ gateway: "10.8.0.1", dev: eth0.ifindex });
        return w;
    }
    const reasons = async (inputs: VethAttachmentInputs, olds: Partial<VethAttachmentInputs> = {}) =>
        ((await veth.check(olds as VethAttachmentInputs, inputs)).failures ?? []).map((f) => [f.property, f.reason]);

    it("a default route the container has through another interface is refused at preview, naming it", async () => {
        const w = world();
        assert.deepEqual(await reasons(attachment()), [
            [
                "defaultRoute",
                '`defaultRoute`: container "ctr-r" already has a default route (via 10.8.0.1 dev eth0); set `defaultRoute: false` on this attachment, or remove the other route',
            ],
        ]);
        assert.deepEqual(await reasons(attachment({ defaultRoute: false })), []);
        assert.deepEqual(w.unknown(), []);
    });

    it("the attachment's own route (its interface, changed in place or replaced under another name) is not another's", async () => {
        const w = world();
        // The route is through eth0: an attachment whose interface that is (now, or before this change) owns it.
        assert.deepEqual(await reasons(attachment({ containerIfName: "eth0" })).then((r) => r.filter(([p]) => p === "defaultRoute")), []);
        assert.deepEqual(await reasons(attachment({ address: "10.7.0.6/24" }), attachment({ containerIfName: "eth0" })), []);
        // Another container's interface of that name does not count.
        assert.equal((await reasons(attachment(), attachment({ container: "ctr-x", containerIfName: "eth0" }))).length, 1);
        assert.deepEqual(w.unknown(), []);
    });

    it("the same rule at the start of create: refused before anything is made", async () => {
        const w = world();
        const before = w.kernel.commands.length;
        await assert.rejects(
            veth.create(attachment()),
            /failed to attach "hn-web":\n {2}- `defaultRoute`: container "ctr-r" already has a default route \(via 10.8.0.1 dev eth0\)/,
        );
        assert.ok(
            w.kernel.commands.slice(before).every((c) => !/ (add|set|del) /.test(c.argv.join(" "))),
            "nothing changed on the host",
        );
        assert.equal(
            [...w.kernel.host.links.values()].some((l) => l.name === "hn-web"),
            false,
            "no host end made",
        );
    });

    it("at preview, a route through another attachment of the same stack is let through (it may move in the same deployment); create still refuses while it is there", async () => {
        const w = world();
        // eth0's host end carries the mark of another VethAttachment of this stack, the one the route moves from.
        w.kernel.host.byName("hn-r0")!.alias = "hostnet/proj/stk/VethAttachment/old";
        assert.deepEqual(await reasons(attachment()), []);
        await assert.rejects(
            veth.create(attachment()),
            /`defaultRoute`: container "ctr-r" already has a default route \(via 10.8.0.1 dev eth0\)/,
        );
        // Another stack's mark does not count.
        w.kernel.host.byName("hn-r0")!.alias = "hostnet/proj/other/VethAttachment/old";
        assert.equal((await reasons(attachment())).length, 1);
        assert.deepEqual(w.unknown(), []);
    });

    const bridgeInputs = (over: Partial<BridgeInputs> = {}): BridgeInputs => ({
        name: "br8",
        up: true,
        owner: "hostnet/proj/stk/Bridge/br8",
        ...over,
    });

    it("VLAN filtering: refused at preview when the kernel says it has none, let through when it has it", async () => {
        let w = world();
        const failures = (await bridge.check({} as BridgeInputs, bridgeInputs({ vlanFiltering: true }))).failures ?? [];
        assert.deepEqual(
            failures.map((f) => [f.property, f.reason]),
            [
                [
                    "vlanFiltering",
                    "`vlanFiltering`: this kernel has no bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING); leave `vlanFiltering` unset or false, or run on a kernel built with it",
                ],
            ],
        );
        assert.ok(
            w.kernel.commands.some((c) => c.argv.join(" ") === "unshare --net ip link add name hn-probe type bridge vlan_filtering 1"),
            "the kernel was asked",
        );
        assert.deepEqual((await bridge.check({} as BridgeInputs, bridgeInputs({ vlanFiltering: false }))).failures ?? [], []);
        w = world([...KERNEL_KINDS, "bridge-vlan-filtering"]);
        assert.deepEqual((await bridge.check({} as BridgeInputs, bridgeInputs({ vlanFiltering: true }))).failures ?? [], []);
        assert.deepEqual(w.unknown(), []);
    });
});
