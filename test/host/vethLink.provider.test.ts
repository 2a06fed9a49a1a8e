// The VethLink provider between two real containers, read back with `ip -j`
// in each namespace and a ping across the link.

import * as assert from "node:assert/strict";
import { VethLinkInputs, VethLinkOutputs } from "../../components/src/common/specs/vethLink";
import { execute } from "../../components/src/engine/plan";
import { planCreate, vethLinkProvider } from "../../components/src/engine/providers/vethLink";
import { containerPid, ipLink, ipLinks, ipv4Of, ping, RUN_OWNER, sh, startTestContainer, sweepRun, uniqueSuffix } from "../helpers/host";
import { forTests } from "../helpers/providers";
const provider = forTests(vethLinkProvider);

describe("VethLink provider between real containers", function () {
    const sfx = uniqueSuffix();
    const [ca, cb] = [`hnt-la-${sfx}`, `hnt-lb-${sfx}`];
    let pa: number;
    let pb: number;
    const inputs = (over: Partial<VethLinkInputs> = {}): VethLinkInputs => ({
        a: { container: ca, ifName: "eth1", address: "10.31.0.1/29" },
        b: { container: cb, ifName: "eth1", address: "10.31.0.2/29" },
        owner: `${RUN_OWNER}link-${sfx}`,
        ...over,
    });

    before(async () => {
        await startTestContainer(ca);
        await startTestContainer(cb);
        pa = await containerPid(ca);
        pb = await containerPid(cb);
    });

    after(async () => {
        await sweepRun();
    });

    let outs: VethLinkOutputs;

    it("create joins the two namespaces with named, addressed, marked ends; ping crosses it", async () => {
        outs = (await provider.create!(inputs())).outs;
        const a = await ipLink("eth1", pa);
        const b = await ipLink("eth1", pb);
        assert.equal(a?.link_index, b?.ifindex, "the ends are peers");
        assert.deepEqual([ipv4Of(a), ipv4Of(b)], [["10.31.0.1/29"], ["10.31.0.2/29"]]);
        assert.equal(a?.ifalias, `${RUN_OWNER}link-${sfx}`);
        assert.equal(b?.ifalias, `${RUN_OWNER}link-${sfx}`);
        assert.ok(await ping("10.31.0.2", pa));
        const marked = (await ipLinks()).filter((l) => l.ifalias === `${RUN_OWNER}link-${sfx}`);
        assert.deepEqual(marked, [], "nothing of the link is in the host namespace");
    });

    it("read reports no drift; an address changes in place", async () => {
        assert.deepEqual((await provider.read!("x", outs)).props, outs);
        const next = inputs({ b: { container: cb, ifName: "eth1", address: "10.31.0.5/29" }, mtu: 1300 });
        const diff = await provider.diff!("x", outs, next);
        assert.deepEqual([diff.changes, diff.replaces], [true, []]);
        const ifindex = (await ipLink("eth1", pb))!.ifindex;
        outs = (await provider.update!("x", outs, next)).outs;
        const b = await ipLink("eth1", pb);
        assert.deepEqual(ipv4Of(b), ["10.31.0.5/29"]);
        assert.equal(b!.ifindex, ifindex);
        assert.equal(b!.mtu, 1300);
        assert.ok(await ping("10.31.0.5", pa));
    });

    it("read sees an address removed by hand; update puts it back", async () => {
        await sh(["nsenter", "-t", String(pa), "-n", "ip", "addr", "del", "10.31.0.1/29", "dev", "eth1"]);
        const read = await provider.read!("x", outs);
        assert.equal(read.props.a.address, "");
        const want = { ...outs, a: { ...outs.a, address: "10.31.0.1/29" } };
        assert.deepEqual((await provider.diff!("x", read.props, want)).replaces, []);
        outs = (await provider.update!("x", read.props, want)).outs;
        assert.deepEqual(ipv4Of(await ipLink("eth1", pa)), ["10.31.0.1/29"]);
        assert.ok(await ping("10.31.0.5", pa));
    });

    it("containers, names and MACs replace", async () => {
        const end = (side: "a" | "b", over: object) => ({ ...outs, [side]: { ...outs[side], ...over } });
        for (const side of ["a", "b"] as const) {
            for (const [field, value] of [
                ["container", "other"],
                ["ifName", "eth9"],
                ["mac", "02:00:00:00:00:0a"],
            ] as const) {
                const diff = await provider.diff!("x", outs, end(side, { [field]: value }));
                assert.deepEqual(diff.replaces, [`${side}.${field}`]);
            }
        }
    });

    it("delete removes both ends; again succeeds; read reports gone", async () => {
        await provider.delete!("x", outs);
        assert.equal(await ipLink("eth1", pa), undefined);
        assert.equal(await ipLink("eth1", pb), undefined);
        await provider.delete!("x", outs);
        assert.deepEqual(await provider.read!("x", outs), {});
    });

    it("MACs are set as given (in the kernel's lower case) on both ends", async () => {
        const checked = await provider.check!(
            {},
            inputs({
                a: { container: ca, ifName: "eth2", mac: "02:AA:00:00:00:01" },
                b: { container: cb, ifName: "eth2", mac: "02:aa:00:00:00:02" },
            }),
        );
        const created = await provider.create!(checked.inputs);
        try {
            assert.equal((await ipLink("eth2", pa))?.address, "02:aa:00:00:00:01");
            assert.equal((await ipLink("eth2", pb))?.address, "02:aa:00:00:00:02");
            assert.deepEqual((await provider.read!(created.id, created.outs)).props, created.outs);
        } finally {
            await provider.delete!(created.id, created.outs);
        }
    });

    it("a create that fails halfway leaves nothing behind", async () => {
        // check() would refuse this address; create is called directly to make the kernel refuse it
        // after the pair exists, which exercises the rollback.
        await assert.rejects(
            provider.create!(
                inputs({
                    a: { container: ca, ifName: "eth3", address: "10.31.1.1/33" },
                    b: { container: cb, ifName: "eth3" },
                }),
            ),
            /add address 10\.31\.1\.1\/33 to eth3.*(any valid prefix is expected rather than|not an address with a prefix length:) "10\.31\.1\.1\/33"/,
        );
        assert.equal(await ipLink("eth3", pa), undefined);
        assert.equal(await ipLink("eth3", pb), undefined);
    });

    it("a name taken after the checks (Docker connecting a network, say) fails the create and is left alone", async () => {
        // The create's own plan, run as create runs it, with eth4 made in a's namespace after its checks:
        // the kernel refuses the pair, and the rollback must not delete the interface it did not make.
        await sh(["nsenter", "-t", String(pa), "-n", "ip", "link", "add", "eth4", "type", "bridge"]);
        try {
            const plan = planCreate(
                inputs({ a: { container: ca, ifName: "eth4", address: "10.31.2.1/30" }, b: { container: cb, ifName: "eth4" } }),
                { pid: pa, label: `container "${ca}"` },
                { pid: pb, label: `container "${cb}"` },
            );
            await assert.rejects(execute(plan), /create veth pair eth4.*(File exists|exists)/s);
            const kept = await ipLink("eth4", pa);
            assert.equal(kept?.linkinfo?.info_kind, "bridge", "the interface the create did not make is still there");
            assert.equal(await ipLink("eth4", pb), undefined);
        } finally {
            await sh(["nsenter", "-t", String(pa), "-n", "ip", "link", "del", "eth4"], { reject: false });
        }
    });

    it("a taken name or a host-mode container is refused before anything is made", async () => {
        await sh(["nsenter", "-t", String(pb), "-n", "ip", "link", "add", "eth1", "type", "bridge"]);
        await assert.rejects(provider.create!(inputs()), {
            message: `failed to link "eth1"/"eth1":\n  - \`b.ifName\` "eth1" is taken in container "${cb}"; choose another \`ifName\``,
        });
        assert.equal(await ipLink("eth1", pa), undefined);
        await sh(["nsenter", "-t", String(pb), "-n", "ip", "link", "del", "eth1"]);
        const hostMode = `hnt-lh-${sfx}`;
        await startTestContainer(hostMode, "host");
        await assert.rejects(provider.create!(inputs({ b: { container: hostMode, ifName: "hnt-x" } })), {
            message: `failed to link "eth1"/"hnt-x":\n  - \`b.container\`: container "${hostMode}" uses network mode host: it has no network namespace of its own: its interfaces are the host's`,
        });
        assert.equal(await ipLink("eth1", pa), undefined);
    });
});
