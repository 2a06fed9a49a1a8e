// Docker networks of driver macvlan (and ipvlan where the kernel has it):
// the Network, DockerContainer and NetworkAttachment providers against the
// real Docker engine, on a parent that is one end of a veth pair whose other
// end, addressed in a `--net=none` container, stands for the rest of the LAN.
// Read back with `docker inspect`, `ip -j -d link` in the containers and ping.

import * as assert from "node:assert/strict";
import { DockerContainerInputs } from "../../components/src/common/specs/dockerContainer";
import { NetworkInputs } from "../../components/src/common/specs/network";
import { dockerContainerProvider } from "../../components/src/engine/providers/dockerContainer";
import { networkProvider } from "../../components/src/engine/providers/network";
import { networkAttachmentProvider } from "../../components/src/engine/providers/networkAttachment";
import { resetClaims } from "../../components/src/engine/registry";
import {
    containerPid,
    dockerInspect,
    execPing,
    execPing6,
    ipLink,
    ipv6Host,
    ipv6Of,
    kernelHas,
    makeTestWire,
    ping,
    ping6,
    RUN_OWNER,
    sh,
    startTestContainer,
    sweepRun,
    uniqueSuffix,
    unusedIpv6Subnets,
    unusedSubnets,
} from "../helpers/host";
import { forTests } from "../helpers/providers";
const networks = forTests(networkProvider);
const containers = forTests(dockerContainerProvider);
const attachments = forTests(networkAttachmentProvider);

async function networkInspect(id: string): Promise<any | undefined> {
    const r = await sh(["docker", "network", "inspect", id], { reject: false });
    return r.exitCode === 0 ? JSON.parse(r.stdout)[0] : undefined;
}

async function dockerMajor(): Promise<number> {
    return Number((await sh(["docker", "version", "--format", "{{.Server.Version}}"])).stdout.split(".")[0]);
}

describe("Docker macvlan networks on a veth end as the parent", function () {
    const sfx = uniqueSuffix();
    const parent = `hnt-np-${sfx}`;
    const lan = `hnt-nl-${sfx}`;
    let net = "";
    let lanPid = 0;
    let networkId = "";
    const ip = (host: number) => `${net}.${host}`;

    const netInputs = (over: Partial<NetworkInputs> = {}): NetworkInputs => ({
        name: `hnt-nm-${sfx}`,
        driver: "macvlan",
        parent,
        mode: "bridge",
        subnet: `${net}.0/24`,
        gateway: ip(100),
        ipRange: `${net}.128/25`,
        internal: false,
        icc: true,
        masquerade: true,
        labels: {},
        owner: `${RUN_OWNER}mvnet-${sfx}`,
        ...over,
    });
    const ctr = (name: string, over: Partial<DockerContainerInputs> = {}): DockerContainerInputs => ({
        name: `hnt-${name}-${sfx}`,
        image: "hostnet/busybox:1",
        command: ["sleep", "2147483647"],
        networkMode: networkId,
        labels: {},
        owner: `${RUN_OWNER}${name}-${sfx}`,
        ...over,
    });

    before(async () => {
        net = (await unusedSubnets(1))[0].replace(/\.0\/24$/, "");
        await startTestContainer(lan);
        lanPid = await containerPid(lan);
        await makeTestWire(parent, lanPid, `${ip(100)}/24`);
        // The host's own address on that LAN, as a real parent has one.
        await sh(["ip", "addr", "add", `${ip(1)}/24`, "dev", parent]);
    });

    after(async () => {
        await sweepRun();
    });

    it("Network creates a macvlan network on the parent, marked, with the subnet, gateway, range and mode", async () => {
        const checked = await networks.check({}, netInputs());
        assert.deepEqual(checked.failures, [], "the subnet is the parent's LAN: its own address in it is no overlap");
        const created = await networks.create(netInputs());
        networkId = created.id;
        const n = await networkInspect(networkId);
        assert.equal(n.Driver, "macvlan");
        assert.deepEqual(n.Options, { parent, macvlan_mode: "bridge" });
        assert.deepEqual(n.IPAM.Config, [{ Subnet: `${net}.0/24`, Gateway: ip(100), IPRange: `${net}.128/25` }]);
        assert.equal(n.Labels["io.hostnet.owner"], `${RUN_OWNER}mvnet-${sfx}`);
        assert.equal(created.outs.bridge, "", "a macvlan network has no Linux bridge");
        assert.deepEqual((await networks.read(networkId, created.outs)).props, created.outs, "no drift");
        const diff = await networks.diff(networkId, created.outs, netInputs({ mode: "private" }));
        assert.deepEqual(diff.replaces, ["mode"]);
    });

    it("two containers on it with static addresses: each a macvlan of the parent; they reach each other and the LAN", async () => {
        await containers.create(ctr("mva", { networks: [{ network: networkId, ipv4Address: ip(10) }] }));
        await containers.create(ctr("mvb", { networks: [{ network: networkId, ipv4Address: ip(11) }] }));
        for (const [name, address] of [
            ["mva", ip(10)],
            ["mvb", ip(11)],
        ]) {
            const c = await dockerInspect(`hnt-${name}-${sfx}`);
            assert.equal(Object.values<any>(c.NetworkSettings.Networks)[0].IPAddress, address);
            const eth0 = await ipLink("eth0", c.State.Pid);
            assert.equal(eth0?.linkinfo?.info_kind, "macvlan", `${name}'s eth0 is a macvlan`);
            assert.equal(eth0?.link_index, (await ipLink(parent))!.ifindex, `${name}'s eth0 sits on the parent`);
        }
        assert.ok(await execPing(`hnt-mva-${sfx}`, ip(11)), "a -> b");
        assert.ok(await execPing(`hnt-mvb-${sfx}`, ip(10)), "b -> a");
        assert.ok(await execPing(`hnt-mva-${sfx}`, ip(100)), "a -> the LAN behind the parent");
        assert.ok(await ping(ip(11), lanPid), "the LAN -> b");
    });

    it("NetworkAttachment connects a running --net=bridge container to it: a second interface, on the LAN", async () => {
        const name = `hnt-mvc-${sfx}`;
        await startTestContainer(name, "bridge");
        const outs = (
            await attachments.create({ container: name, network: networkId, ipv4Address: ip(12), owner: `${RUN_OWNER}mvc-${sfx}` })
        ).outs;
        assert.equal(outs.address, ip(12));
        assert.ok(await execPing(name, ip(10)), "the connected container reaches a");
        await attachments.delete(`${outs.containerId}/${outs.networkId}`, outs);
        assert.equal(Object.keys((await dockerInspect(name)).NetworkSettings.Networks).includes(`hnt-nm-${sfx}`), false, "disconnected");
    });

    it("a static address that is the parent's own, or another container's, is refused at preview", async () => {
        resetClaims();
        const reasons = async (address: string) =>
            ((await containers.check({}, ctr("mvd", { networks: [{ network: networkId, ipv4Address: address }] }))).failures ?? []).map(
                (f) => f.reason,
            );
        assert.deepEqual(await reasons(ip(10)), [
            `\`networks[0].ipv4Address\` ${ip(10)} on network hnt-nm-${sfx} is already held by container "hnt-mva-${sfx}"; choose a free address`,
        ]);
        assert.deepEqual(await reasons(ip(1)), [
            `\`networks\`: address ${ip(1)} on network hnt-nm-${sfx} is the address of its parent "${parent}" itself (this host on that wire); choose another address`,
        ]);
    });

    it("a second macvlan network on the same parent: refused at preview where Docker refuses it (before 27.0)", async () => {
        const other = netInputs({
            name: `hnt-nn-${sfx}`,
            subnet: "10.196.77.0/24",
            gateway: undefined,
            ipRange: undefined,
            owner: `${RUN_OWNER}mvnet2-${sfx}`,
        });
        resetClaims();
        const checked = await networks.check({}, other);
        const version = (await sh(["docker", "version", "--format", "{{.Server.Version}}"])).stdout.trim();
        if ((await dockerMajor()) < 27) {
            assert.deepEqual(
                checked.failures!.map((f) => [f.property, f.reason]),
                [
                    [
                        "parent",
                        `\`parent\` "${parent}" is already the parent of Docker's macvlan network "hnt-nm-${sfx}", and Docker ${version} makes one macvlan network per parent (27.0 lifted that, but for passthru); put both subnets on one network, or use another parent`,
                    ],
                ],
            );
            // What Docker itself says, to show the preview says it first.
            const r = await sh(
                ["docker", "network", "create", "-d", "macvlan", "--subnet", "10.196.77.0/24", "-o", `parent=${parent}`, `hnt-nn-${sfx}`],
                {
                    reject: false,
                },
            );
            assert.match(r.stderr, /is already using parent interface/);
        } else {
            assert.deepEqual(checked.failures, []);
        }
        // In mode passthru, refused by every Docker and by the kernel.
        const passthru = await networks.check({}, { ...other, mode: "passthru" });
        assert.ok(
            passthru.failures!.some((f) => f.reason.startsWith("`mode` passthru takes parent")),
            JSON.stringify(passthru.failures),
        );
    });

    it("ipvlan on a kernel without it: refused at preview, naming `driver`", async function () {
        if (await kernelHas("ipvlan")) {
            console.log("      (skipped: this kernel has ipvlan, so there is no refusal to see)");
            this.skip();
        }
        resetClaims();
        const checked = await networks.check(
            {},
            netInputs({
                name: `hnt-ni-${sfx}`,
                driver: "ipvlan",
                mode: "l2",
                subnet: "10.196.78.0/24",
                gateway: undefined,
                ipRange: undefined,
            }),
        );
        assert.deepEqual(
            checked.failures!.map((f) => [f.property, f.reason]),
            [
                [
                    "driver",
                    "`driver` ipvlan: this kernel has no ipvlan support; use driver macvlan (same parent, a MAC of its own per container), or run on a kernel built with ipvlan links (CONFIG_IPVLAN)",
                ],
            ],
        );
    });

    it("an ipvlan network on the parent: containers reach each other and the LAN", async function () {
        if (!(await kernelHas("ipvlan"))) {
            console.log('      skipped: this kernel has no ipvlan support (`ip link add ... type ipvlan` answers "Unknown device type")');
            this.skip();
        }
        // Docker allows one network per parent: this one goes on a parent of its own.
        const parent2 = `hnt-nq-${sfx}`;
        const lan2 = `hnt-nr-${sfx}`;
        await startTestContainer(lan2);
        await makeTestWire(parent2, await containerPid(lan2), "10.196.79.100/24");
        const created = await networks.create(
            netInputs({
                name: `hnt-ni-${sfx}`,
                driver: "ipvlan",
                mode: "l2",
                parent: parent2,
                subnet: "10.196.79.0/24",
                gateway: "10.196.79.100",
                ipRange: undefined,
                owner: `${RUN_OWNER}ipnet-${sfx}`,
            }),
        );
        const save = networkId;
        networkId = created.id;
        try {
            await containers.create(ctr("ipa", { networks: [{ network: networkId, ipv4Address: "10.196.79.10" }] }));
            await containers.create(ctr("ipb", { networks: [{ network: networkId, ipv4Address: "10.196.79.11" }] }));
            assert.ok(await execPing(`hnt-ipa-${sfx}`, "10.196.79.11"));
            assert.ok(await execPing(`hnt-ipa-${sfx}`, "10.196.79.100"));
        } finally {
            await sh(["docker", "rm", "-f", `hnt-ipa-${sfx}`, `hnt-ipb-${sfx}`], { reject: false });
            await networks.delete(created.id, created.outs);
            networkId = save;
        }
    });

    it("delete: containers, then the network; nothing of them is left, the parent stays", async () => {
        for (const name of ["mva", "mvb"]) await sh(["docker", "rm", "-f", `hnt-${name}-${sfx}`]);
        const n = await networkInspect(networkId);
        await networks.delete(networkId, { ...netInputs(), networkId, bridge: "" });
        assert.equal(await networkInspect(networkId), undefined);
        assert.ok(n, "it was there before");
        assert.ok(await ipLink(parent), "the parent is not the network's");
    });
});

describe("a dual-stack Docker macvlan network (ipv6Subnet) on a veth end as the parent", function () {
    const sfx = uniqueSuffix();
    const parent = `hnt-n6-${sfx}`;
    const lan = `hnt-nk-${sfx}`;
    let v4 = "";
    let v6 = "";
    let lanPid = 0;
    let networkId = "";
    const six = (n: number) => ipv6Host(v6, n);
    const name = `hnt-n6m-${sfx}`;
    const netInputs = (): NetworkInputs => ({
        name,
        driver: "macvlan",
        parent,
        mode: "bridge",
        subnet: `${v4}.0/24`,
        gateway: `${v4}.100`,
        ipv6Subnet: v6,
        ipv6Gateway: six(100),
        internal: false,
        icc: true,
        masquerade: true,
        labels: {},
        owner: `${RUN_OWNER}mvnet6-${sfx}`,
    });
    const ctr = (c: string, host: number, ipv6Address: string): DockerContainerInputs => ({
        name: `hnt-${c}-${sfx}`,
        image: "hostnet/busybox:1",
        command: ["sleep", "2147483647"],
        networkMode: networkId,
        networks: [{ network: networkId, ipv4Address: `${v4}.${host}`, ipv6Address }],
        labels: {},
        owner: `${RUN_OWNER}${c}-${sfx}`,
    });

    before(async () => {
        v4 = (await unusedSubnets(1))[0].replace(/\.0\/24$/, "");
        v6 = (await unusedIpv6Subnets(1))[0];
        await startTestContainer(lan);
        lanPid = await containerPid(lan);
        await makeTestWire(parent, lanPid, `${v4}.100/24`);
        await sh(["nsenter", "-t", String(lanPid), "-n", "sysctl", "-q", "-w", "net/ipv6/conf/eth0/disable_ipv6=0"]);
        await sh(["nsenter", "-t", String(lanPid), "-n", "ip", "addr", "add", `${six(100)}/64`, "dev", "eth0"]);
        // The host's own IPv6 address on that LAN, as a real parent has one.
        await sh(["ip", "addr", "add", `${six(1)}/64`, "dev", parent]);
    });

    after(async () => {
        await sweepRun();
    });

    it("Network makes it with both subnets and gateways (docker network inspect); no drift", async () => {
        resetClaims();
        const checked = await networks.check({}, netInputs());
        assert.deepEqual(checked.failures, [], "the parent's own IPv6 address in the LAN's prefix is no overlap");
        const created = await networks.create(checked.inputs as NetworkInputs);
        networkId = created.id;
        const n = await networkInspect(networkId);
        assert.equal(n.Driver, "macvlan");
        assert.equal(n.EnableIPv6, true);
        assert.deepEqual(n.IPAM.Config, [
            { Subnet: `${v4}.0/24`, Gateway: `${v4}.100` },
            { Subnet: v6, Gateway: six(100) },
        ]);
        assert.deepEqual((await networks.read(networkId, created.outs)).props, created.outs, "no drift");
    });

    it("a container with a static IPv6 address on it: docker inspect and ip -j -6 inside agree; ping -6 to and from the LAN behind the parent", async () => {
        await containers.create(ctr("mv6", 10, six(10)));
        const c = await dockerInspect(`hnt-mv6-${sfx}`);
        assert.equal(Object.values<any>(c.NetworkSettings.Networks)[0].GlobalIPv6Address, six(10));
        assert.equal((await ipLink("eth0", c.State.Pid))?.linkinfo?.info_kind, "macvlan");
        assert.deepEqual(await ipv6Of("eth0", c.State.Pid), [`${six(10)}/64`]);
        assert.ok(await execPing6(`hnt-mv6-${sfx}`, six(100)), "container -> the LAN over IPv6");
        assert.ok(await ping6(six(10), lanPid), "the LAN -> container over IPv6");
    });

    it("a static IPv6 address that is the parent's own (written in capitals) is refused at preview, naming it", async () => {
        resetClaims();
        const checked = await containers.check({}, ctr("mv7", 11, six(1).toUpperCase()));
        assert.deepEqual(
            (checked.failures ?? []).map((f) => f.reason),
            [
                `\`networks\`: address ${six(1)} on network ${name} is the address of its parent "${parent}" itself (this host on that wire); choose another address`,
            ],
        );
    });
});
