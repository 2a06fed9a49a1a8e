// The one rule for parents (engine/parent.ts), as a MacvlanAttachment's
// preview meets it, against the fake kernel and Docker (test/fakes, checked
// against the real ones): each refusal with its exact message, and the
// kernel's kinds read from the kernel, not assumed (a fake kernel with ipvlan
// lets kind ipvlan through; this machine's refuses it).

import * as assert from "node:assert/strict";
import { defaultMac, OWNER_LABEL } from "../../components/src/common/naming";
import { MacvlanAttachmentInputs } from "../../components/src/common/specs/macvlanAttachment";
import { claimParent } from "../../components/src/engine/parent";
import { macvlanAttachmentProvider } from "../../components/src/engine/providers/macvlanAttachment";
import { KERNEL_KINDS } from "../fakes/kernel";
import { FakeHost, World } from "../fakes/world";
import { forTests } from "../helpers/providers";
const provider = forTests(macvlanAttachmentProvider);

const OWNER = "hostnet/proj/stk/MacvlanAttachment/mac";
const inputs = (over: Partial<MacvlanAttachmentInputs> = {}): MacvlanAttachmentInputs => ({
    container: "ctr-a",
    parent: "eth9",
    kind: "macvlan",
    mode: "bridge",
    addresses: ["192.168.9.2/24"],
    containerIfName: "eth0",
    mac: defaultMac(OWNER, "macvlan"),
    owner: OWNER,
    ...over,
});

describe("parents: what the preview refuses of a macvlan's parent, and why (fake kernel)", () => {
    let host: FakeHost;
    before(async () => {
        host = await FakeHost.start();
    });
    after(async () => {
        await host?.stop();
    });

    /** A world with a container, a parent (a veth end, up, with the host's address on the LAN), a bridge with a port. */
    function world(kinds?: readonly string[]): World {
        const w = host.world({ kinds });
        w.docker.run("ctr-a");
        w.docker.run("ctr-b");
        const parent = w.kernel.addVeth(w.kernel.host, "eth9", w.kernel.host, "eth9p", { up: true });
        parent.addrs.push({ local: "192.168.9.1", prefixlen: 24 });
        w.kernel.addBridge("br9");
        w.kernel.addVeth(w.kernel.host, "port9", w.kernel.host, "port9p", { master: "br9" });
        return w;
    }
    const reasons = async (over: Partial<MacvlanAttachmentInputs>) =>
        ((await provider.check({}, inputs(over))).failures ?? []).map((f) => [f.property, f.reason]);

    it("a fine parent passes; the host's own address on it is refused as the attachment's", async () => {
        const w = world();
        assert.deepEqual(await reasons({}), []);
        assert.deepEqual(await reasons({ addresses: ["192.168.9.1/24"] }), [
            [
                "addresses",
                '`addresses`: 192.168.9.1 is the address of parent "eth9" itself (this host on that wire); choose another address',
            ],
        ]);
        assert.deepEqual(w.unknown(), []);
    });

    it("a bridge port, a macvlan, another resource's interface, an MTU above the parent's", async () => {
        const w = world();
        w.kernel.addMacvlan(w.kernel.host, "mv9", w.kernel.host, "eth9");
        w.kernel.addVeth(w.kernel.host, "hn-other", w.kernel.host, "hn-otherp", { alias: "hostnet/proj/stk/VethLink/l" });
        assert.deepEqual(await reasons({ parent: "port9" }), [
            [
                "parent",
                '`parent` "port9" is a port of "br9", which takes every frame that arrives on it, so the kernel refuses a macvlan on it (device busy); use "br9" itself as the parent, or an interface that is no port',
            ],
        ]);
        assert.deepEqual(await reasons({ parent: "mv9" }), [
            ["parent", '`parent` "mv9" is itself a macvlan (of "eth9"); the kernel would use "eth9" instead: name that as the parent'],
        ]);
        assert.deepEqual(await reasons({ parent: "hn-other" }), [
            [
                "parent",
                '`parent` "hn-other" is made by VethLink "l" of stack proj/stk, which deletes it and makes it again as it changes; name an interface of the host\'s, or a Bridge',
            ],
        ]);
        assert.deepEqual(await reasons({ parent: "br9" }), [], "a bridge is a parent to build on");
        assert.deepEqual(await reasons({ mtu: 1600 }), [
            [
                "mtu",
                '`mtu` 1600 is above the MTU of parent "eth9" (1500): a macvlan cannot be larger than its parent; set at most 1500, or raise the parent\'s',
            ],
        ]);
        assert.deepEqual(w.unknown(), []);
    });

    it("passthru: alone on its parent, whoever else is there (a macvlan in a container, another of the stack's)", async () => {
        const w = world();
        const b = w.kernel.namespaceOf(w.docker.container("ctr-b")!.pid)!;
        w.kernel.addMacvlan(b, "eth0", w.kernel.host, "eth9", { mode: "bridge" });
        assert.deepEqual(await reasons({ mode: "passthru", mac: undefined }), [
            [
                "mode",
                '`mode` passthru takes parent "eth9" for one macvlan alone, but it already carries macvlan eth0 of container "ctr-b"; use mode bridge, or another parent',
            ],
        ]);
        w.kernel.removeLink(b, "eth0");
        w.newProcess();
        claimParent("eth9", {
            field: "parent",
            kind: "macvlan",
            kindField: "kind",
            modeField: "mode",
            mode: "passthru",
            owner: "hostnet/proj/stk/MacvlanAttachment/first",
            role: "attachment",
        });
        assert.deepEqual(await reasons({}), [
            [
                "parent",
                '`parent` "eth9" is taken by macvlan of MacvlanAttachment "first" of stack proj/stk in mode passthru, which has the parent for itself; choose another parent',
            ],
        ]);
        assert.deepEqual(w.unknown(), []);
    });

    it("macvlans and ipvlans are not mixed on one parent (a Network of the stack claims it for ipvlan)", async () => {
        world([...KERNEL_KINDS, "ipvlan"]);
        claimParent("eth9", {
            field: "parent",
            kind: "ipvlan",
            kindField: "driver",
            modeField: "mode",
            mode: "l2",
            owner: "hostnet/proj/stk/Network/lan",
            role: "network",
        });
        assert.deepEqual(await reasons({}), [
            [
                "parent",
                '`parent` "eth9" already carries ipvlan of Network "lan" of stack proj/stk: one parent carries macvlans or ipvlans, not both (the kernel refuses it); use kind ipvlan, or another parent',
            ],
        ]);
    });

    it("kind ipvlan: refused by a kernel without it, let through by one with it (the kernel is asked)", async () => {
        const ipvlan = { kind: "ipvlan" as const, mode: "l2", mac: undefined };
        let w = world();
        assert.deepEqual(await reasons(ipvlan), [
            [
                "kind",
                "`kind` ipvlan: this kernel has no ipvlan support; use kind macvlan (same parent, a MAC of its own per container), or run on a kernel built with ipvlan links (CONFIG_IPVLAN)",
            ],
        ]);
        assert.ok(
            w.kernel.commands.some((c) => c.argv.join(" ") === "unshare --net ip link add name hn-probe type ipvlan"),
            "asked",
        );
        w = world([...KERNEL_KINDS, "ipvlan"]);
        assert.deepEqual(await reasons(ipvlan), []);
        assert.deepEqual(w.unknown(), []);
    });

    it("a passthru macvlan beside a Docker macvlan network on the parent is refused, naming the network", async () => {
        const w = world();
        w.docker.macvlanNetwork("lan9", "192.168.9.0/24", "eth9", { labels: { [OWNER_LABEL]: "hostnet/other/stk/Network/lan9" } });
        assert.deepEqual(await reasons({ mode: "passthru", mac: undefined }), [
            [
                "mode",
                '`mode` passthru takes parent "eth9" for one macvlan alone, but it already carries Docker\'s macvlan network "lan9"; use mode bridge, or another parent',
            ],
        ]);
        assert.deepEqual(w.unknown(), []);
    });
});
