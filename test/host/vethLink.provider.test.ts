// The VethLink provider between two real containers, read back with `ip -j`
// in each namespace and a ping across the link.

import * as assert from "node:assert/strict";
import { VethLinkInputs, VethLinkOutputs, vethLinkProvider as provider } from "../../components/providers/vethLink";
import { containerPid, ipLink, ipv4Of, ping, RUN_OWNER, sh, startTestContainer, sweepRun, uniqueSuffix } from "../helpers/host";

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
        assert.ok(!(await ipLink("eth1")), "nothing of the link is in the host namespace");
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

    it("names and containers replace", async () => {
        const diff = await provider.diff!("x", outs, inputs({ a: { container: ca, ifName: "eth9", address: "10.31.0.1/29" } }));
        assert.deepEqual(diff.replaces, ["a.ifName"]);
    });

    it("delete removes both ends; again succeeds; read reports gone", async () => {
        await provider.delete!("x", outs);
        assert.equal(await ipLink("eth1", pa), undefined);
        assert.equal(await ipLink("eth1", pb), undefined);
        await provider.delete!("x", outs);
        assert.deepEqual(await provider.read!("x", outs), {});
    });

    it("a taken name or a host-mode container is refused before anything is made", async () => {
        await sh(["nsenter", "-t", String(pb), "-n", "ip", "link", "add", "eth1", "type", "bridge"]);
        await assert.rejects(provider.create!(inputs()), {
            message: `failed to link container "${cb}": it already has an interface named "eth1"; choose another \`ifName\``,
        });
        assert.equal(await ipLink("eth1", pa), undefined);
        await sh(["nsenter", "-t", String(pb), "-n", "ip", "link", "del", "eth1"]);
        const hostMode = `hnt-lh-${sfx}`;
        await startTestContainer(hostMode, "host");
        await assert.rejects(provider.create!(inputs({ b: { container: hostMode, ifName: "hnt-x" } })), {
            message: `failed to link container "${hostMode}": it uses network mode host and has no network namespace of its own; its interfaces would be the host's`,
        });
        assert.equal(await ipLink("eth1", pa), undefined);
    });
});
