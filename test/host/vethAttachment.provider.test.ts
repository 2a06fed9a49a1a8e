// The VethAttachment provider's methods, called directly against real
// containers, a real bridge and real veth pairs on this host. Every assertion
// reads the host back with `ip -j` / nsenter / ping, not through the provider.

import * as assert from "node:assert/strict";
import {
    VethAttachmentInputs,
    VethAttachmentOutputs,
    vethAttachmentProvider as provider,
} from "../../components/providers/vethAttachment";
import {
    containerPid,
    ipDefaultRoutes,
    ipLink,
    ipLinks,
    ipv4Of,
    makeTestBridge,
    ping,
    sh,
    startTestContainer,
    RUN_OWNER,
    sweepRun,
    uniqueSuffix,
} from "../helpers/host";

describe("VethAttachment provider on the real host", function () {
    const sfx = uniqueSuffix();
    const net = 1 + (parseInt(sfx.slice(0, 2), 16) % 250);
    const bridge = `hnt-br-${sfx}`;
    const bridgeIp = `10.251.${net}.1`;
    const container = `hnt-c-${sfx}`;
    let pid: number;

    const inputs = (over: Partial<VethAttachmentInputs> = {}): VethAttachmentInputs => ({
        container,
        bridge,
        address: `10.251.${net}.2/24`,
        defaultRoute: true,
        containerIfName: "eth0",
        hostIfName: `hnt-v-${sfx}`,
        owner: `${RUN_OWNER}veth-${sfx}`,
        ...over,
    });

    before(async () => {
        await makeTestBridge(bridge, `${bridgeIp}/24`);
        await startTestContainer(container);
        pid = await containerPid(container);
    });

    after(async () => {
        await sweepRun();
    });

    it("check reports bad fields and touches nothing", async () => {
        const before = (await ipLinks()).length;
        const result = await provider.check!({}, inputs({ address: "10.251.0.2", hostIfName: "x".repeat(16) }));
        assert.deepEqual(result.failures!.map((f) => f.property), ["address", "hostIfName"]);
        assert.equal((await ipLinks()).length, before);
    });

    describe("create -> read -> drift -> update -> delete", () => {
        let outs: VethAttachmentOutputs;

        it("create does the seed's procedure: host end on the bridge, eth0 in the container, address, default route", async () => {
            const created = await provider.create!(inputs());
            outs = created.outs;
            assert.equal(created.id, `hnt-v-${sfx}`);

            const host = await ipLink(`hnt-v-${sfx}`);
            assert.ok(host, "host end exists");
            assert.equal(host.master, bridge);
            assert.equal(host.ifalias, `${RUN_OWNER}veth-${sfx}`);
            assert.ok(host.flags.includes("UP"));
            assert.equal(host.linkinfo?.info_kind, "veth");

            const eth0 = await ipLink("eth0", pid);
            assert.ok(eth0, "eth0 exists in the container");
            assert.equal(eth0.ifindex, host.link_index, "eth0 is the host end's peer");
            assert.deepEqual(ipv4Of(eth0), [`10.251.${net}.2/24`]);
            assert.ok(eth0.flags.includes("UP"));
            assert.deepEqual(
                (await ipDefaultRoutes(pid)).map((r) => [r.gateway, r.dev]),
                [[bridgeIp, "eth0"]],
            );
            assert.equal(outs.effectiveGateway, bridgeIp, "gateway defaults to the bridge's address");
        });

        it("traffic flows: host -> container and container -> bridge", async () => {
            assert.ok(await ping(`10.251.${net}.2`), "host pings the container");
            assert.ok(await ping(bridgeIp, pid), "container pings the bridge");
        });

        it("read returns exactly what create recorded when nothing drifted", async () => {
            const read = await provider.read!(outs.hostIfName, outs);
            assert.deepEqual(read, { id: outs.hostIfName, props: outs });
            const diff = await provider.diff!(outs.hostIfName, read.props, inputs());
            assert.equal(diff.changes, false);
        });

        it("read sees an address removed by hand; update repairs it in place", async () => {
            const ifindex = (await ipLink(`hnt-v-${sfx}`))!.ifindex;
            await sh(["nsenter", "-t", String(pid), "-n", "ip", "addr", "del", `10.251.${net}.2/24`, "dev", "eth0"]);
            const read = await provider.read!(outs.hostIfName, outs);
            assert.equal(read.props.address, "");
            assert.equal(read.props.effectiveGateway, "", "the default route went with the address");
            const diff = await provider.diff!(outs.hostIfName, read.props, inputs());
            assert.equal(diff.changes, true);
            assert.deepEqual(diff.replaces, []);
            outs = (await provider.update!(outs.hostIfName, read.props, inputs())).outs;
            assert.deepEqual(ipv4Of(await ipLink("eth0", pid)), [`10.251.${net}.2/24`]);
            assert.deepEqual((await ipDefaultRoutes(pid)).map((r) => r.gateway), [bridgeIp]);
            assert.equal((await ipLink(`hnt-v-${sfx}`))!.ifindex, ifindex, "not recreated");
        });

        it("changes address and MTU in place; the pair is not recreated", async () => {
            const ifindex = (await ipLink(`hnt-v-${sfx}`))!.ifindex;
            const next = inputs({ address: `10.251.${net}.7/24`, mtu: 1400 });
            const diff = await provider.diff!(outs.hostIfName, outs, next);
            assert.equal(diff.changes, true);
            assert.deepEqual(diff.replaces, []);
            outs = (await provider.update!(outs.hostIfName, outs, next)).outs;
            const eth0 = await ipLink("eth0", pid);
            assert.deepEqual(ipv4Of(eth0), [`10.251.${net}.7/24`]);
            assert.equal(eth0!.mtu, 1400);
            assert.equal((await ipLink(`hnt-v-${sfx}`))!.mtu, 1400);
            assert.equal((await ipLink(`hnt-v-${sfx}`))!.ifindex, ifindex);
            assert.ok(await ping(`10.251.${net}.7`));
        });

        it("diff replaces (delete first) for container, bridge and names", async () => {
            for (const field of ["container", "bridge", "hostIfName", "containerIfName"] as const) {
                const diff = await provider.diff!(outs.hostIfName, outs, { ...inputs({ address: outs.address, mtu: 1400 }), [field]: "other" });
                assert.deepEqual(diff.replaces, [field], field);
                assert.equal(diff.deleteBeforeReplace, true);
            }
        });

        it("delete removes both ends; deleting again succeeds; read then reports it gone", async () => {
            await provider.delete!(outs.hostIfName, outs);
            assert.equal(await ipLink(`hnt-v-${sfx}`), undefined);
            assert.equal(await ipLink("eth0", pid), undefined);
            await provider.delete!(outs.hostIfName, outs);
            assert.deepEqual(await provider.read!(outs.hostIfName, outs), {});
        });
    });

    it("delete never removes an interface it did not make", async () => {
        const name = `hnt-f-${sfx}`;
        await sh(["ip", "link", "add", "name", name, "type", "bridge"]);
        try {
            const props = { ...inputs({ hostIfName: name }), containerId: container, effectiveGateway: "", bridgeAddress: "", up: true };
            await provider.delete!(name, props);
            assert.ok(await ipLink(name), "the unmarked interface is still there");
            assert.deepEqual(await provider.read!(name, props), {}, "and refresh does not claim it");
        } finally {
            await sh(["ip", "link", "del", "dev", name]);
        }
    });

    it("refuses a host name that is taken, and leaves that interface alone", async () => {
        const name = `hnt-f-${sfx}`;
        await sh(["ip", "link", "add", "name", name, "type", "bridge"]);
        try {
            await assert.rejects(provider.create!(inputs({ hostIfName: name })), {
                message: `failed to create "${name}": an interface of that name already exists on the host (not made by this library); choose another \`hostIfName\``,
            });
            assert.ok(await ipLink(name));
            assert.equal(await ipLink("eth0", pid), undefined);
        } finally {
            await sh(["ip", "link", "del", "dev", name]);
        }
    });

    it("a create that fails halfway leaves nothing behind", async () => {
        // A default route already in the container makes the last step fail.
        await sh(["nsenter", "-t", String(pid), "-n", "ip", "route", "add", "default", "dev", "lo"]);
        try {
            await assert.rejects(provider.create!(inputs()), {
                message: `failed to attach "hnt-v-${sfx}": container "${container}" already has a default route; set \`defaultRoute: false\` on this attachment (or remove the other route)`,
            });
            assert.equal(await ipLink(`hnt-v-${sfx}`), undefined, "host end rolled back");
            assert.equal(await ipLink("eth0", pid), undefined, "peer rolled back");
        } finally {
            await sh(["nsenter", "-t", String(pid), "-n", "ip", "route", "del", "default", "dev", "lo"]);
        }
    });

    it("refuses a missing bridge and a stopped container before touching anything", async () => {
        await assert.rejects(provider.create!(inputs({ bridge: `hnt-no-${sfx}` })), {
            message: `failed to attach "hnt-v-${sfx}": bridge "hnt-no-${sfx}" does not exist; create it (or a Bridge resource) first`,
        });
        const stopped = `hnt-s-${sfx}`;
        await startTestContainer(stopped);
        await sh(["docker", "kill", stopped]);
        await assert.rejects(provider.create!(inputs({ container: stopped })), {
            message: `failed to attach to container "${stopped}": it is exited, not running; start it first`,
        });
        assert.equal(await ipLink(`hnt-v-${sfx}`), undefined);
    });

    it("a second attachment without a default route; the first keeps its route", async () => {
        const first = (await provider.create!(inputs())).outs as VethAttachmentOutputs;
        const second = (await provider.create!(inputs({
            hostIfName: `hnt-w-${sfx}`, containerIfName: "eth1", address: `10.251.${net}.3/24`, defaultRoute: false,
        }))).outs as VethAttachmentOutputs;
        assert.equal(second.effectiveGateway, "");
        assert.deepEqual((await ipDefaultRoutes(pid)).map((r) => [r.gateway, r.dev]), [[bridgeIp, "eth0"]]);
        assert.deepEqual(ipv4Of(await ipLink("eth1", pid)), [`10.251.${net}.3/24`]);
        assert.equal((await provider.diff!(second.hostIfName, (await provider.read!(second.hostIfName, second)).props, inputs({
            hostIfName: `hnt-w-${sfx}`, containerIfName: "eth1", address: `10.251.${net}.3/24`, defaultRoute: false,
        }))).changes, false, "no perpetual diff");
        await provider.delete!(second.hostIfName, second);
        await provider.delete!(first.hostIfName, first);
        assert.equal(await ipLink("eth1", pid), undefined);
    });

    it("a MAC given in upper case is stored as the kernel reports it", async () => {
        const checked = await provider.check!({}, inputs({ mac: "02:AB:CD:00:00:01" }));
        assert.equal(checked.inputs.mac, "02:ab:cd:00:00:01");
        const created = await provider.create!(checked.inputs);
        assert.equal((await ipLink("eth0", pid))?.address, "02:ab:cd:00:00:01");
        assert.deepEqual((await provider.read!(created.id, created.outs)).props, created.outs);
        await provider.delete!(created.id, created.outs);
    });

    it("a restarted container loses the pair with its namespace; read reports it gone", async () => {
        const outs = (await provider.create!(inputs())).outs as VethAttachmentOutputs;
        await sh(["docker", "restart", "-t", "0", container]);
        pid = await containerPid(container);
        assert.equal(await ipLink(`hnt-v-${sfx}`), undefined, "the kernel removed the host end");
        assert.deepEqual(await provider.read!(outs.hostIfName, outs), {});
        await provider.delete!(outs.hostIfName, outs);
    });
});
