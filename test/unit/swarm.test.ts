// Swarm and overlay Networks without a host: what the components register
// under Pulumi mocks (names, inputs, hosts, secrets, dependencies), what they
// refuse when the program runs, the checks of the engine's inputs (pinned
// messages), and the plans the preview report shows. Proof limit: mocks run
// no provider; the swarm on real engines is test/multihost/swarm.test.ts.

import * as assert from "node:assert/strict";
import { checkOverlayFields } from "../../components/src/common/specs/overlayNetwork";
import { checkNetworkInputs } from "../../components/src/common/specs/network";
import { checkSwarmClusterInputs, checkSwarmNodeInputs } from "../../components/src/common/specs/swarm";
import { UNKNOWN } from "../../components/src/common/validation";
import { describeChange } from "../../components/src/engine";
import { drain, recordingMocks, Registration, settle } from "../helpers/mocks";

const ssh = (host: string) => ({ host, privateKeyPath: "/root/.ssh/id_ed25519", knownHostsPath: "/root/.ssh/known_hosts" });

describe("Swarm and overlay Networks under mocks", () => {
    let lib: typeof import("../../components/src");
    let registered: Registration[];
    const find = (type: string, name: string) => registered.find((r) => r.type.endsWith(`:${type}`) && r.name === name)!;

    before(async () => {
        registered = await recordingMocks("proj", "stk");
        lib = await import("../../components/src");
    });

    function hosts(prefix: string) {
        return ["b", "c", "d"].map((h, i) => new lib.Host(`${prefix}${h}`, { name: `${prefix}${h}`, ssh: ssh(`10.0.0.${i + 2}`) }));
    }

    it("registers the swarm on its first host and a node per host, <swarm>-<host>: the first a manager that made it, the others workers; each advertises its SSH address; tokens are secret outputs", async () => {
        const [b, c, d] = hosts("s1");
        const sw = new lib.Swarm("sw1", { nodes: [{ host: b }, { host: c, labels: { zone: "east" } }, { host: d, role: "manager" }] });
        await settle(sw.clusterId);
        await drain();
        const cluster = find("SwarmCluster", "sw1");
        assert.equal(cluster.inputs.host.name, "s1b");
        assert.equal(cluster.inputs.advertiseAddress, "10.0.0.2");
        assert.equal(cluster.inputs.owner, "hostnet@s1b/proj/stk/SwarmCluster/sw1");
        assert.deepEqual(cluster.additionalSecretOutputs.sort(), ["managerToken", "workerToken"]);
        // Dynamic resources of the library: one line of provider text each, written out here.
        const text = (kind: string) => `exports.handler = () => require("pulumi-hostnet/engine").provider("${kind}");\n`;
        assert.equal(cluster.type, "pulumi-nodejs:dynamic/hostnet:SwarmCluster");
        assert.equal(cluster.inputs.__provider, text("SwarmCluster"));
        const nodes = ["s1b", "s1c", "s1d"].map((h) => find("SwarmNode", `sw1-${h}`));
        assert.deepEqual(
            nodes.map((n) => [n.inputs.host.name, n.inputs.init, n.inputs.role, n.inputs.advertiseAddress, n.inputs.availability]),
            [
                ["s1b", true, "manager", "10.0.0.2", "active"],
                ["s1c", false, "worker", "10.0.0.3", "active"],
                ["s1d", false, "manager", "10.0.0.4", "active"],
            ],
        );
        assert.deepEqual(nodes[1].inputs.labels, { zone: "east" });
        assert.equal(nodes[1].inputs.owner, "hostnet@s1c/proj/stk/SwarmNode/sw1-s1c");
        for (const n of nodes) {
            assert.deepEqual(n.additionalSecretOutputs, ["swarm"], "the join tokens ride in `swarm`: secret in the state");
            assert.equal(n.type, "pulumi-nodejs:dynamic/hostnet:SwarmNode");
            assert.equal(n.inputs.__provider, text("SwarmNode"));
            assert.equal(n.inputs.swarm.manager.name, "s1b", "node updates go through the first manager");
            assert.ok(n.dependencies.includes(cluster.urn), "a node joins the swarm once it is made");
        }
    });

    it("an overlay Network is made on the swarm's first manager, knows every node's host, and takes no bridge options", async () => {
        const [b, c, d] = hosts("s2");
        const sw = new lib.Swarm("sw2", { nodes: [{ host: b }, { host: c }, { host: d }] });
        const net = new lib.Network("ov2", { swarm: sw, subnet: "10.90.0.0/24", gateway: "10.90.0.1", internal: true });
        await settle(net.networkId);
        await drain();
        const n = find("Network", "ov2");
        assert.equal(net.driver, "overlay");
        assert.equal(n.inputs.driver, "overlay");
        assert.equal(n.inputs.host.name, "s2b");
        assert.equal(n.inputs.owner, "hostnet@s2b/proj/stk/Network/ov2");
        assert.deepEqual(
            n.inputs.swarm.nodes.map((x: { host: { name: string } }) => x.host.name),
            ["s2b", "s2c", "s2d"],
        );
        assert.deepEqual([n.inputs.attachable, n.inputs.encrypted, n.inputs.internal], [true, false, true]);
        for (const k of ["icc", "masquerade", "bridgeName"]) assert.equal(k in n.inputs, false, `no ${k} on an overlay`);
        assert.throws(() => new lib.Network("ov2x", { swarm: sw, bridgeName: "br-x" }), /`bridgeName` is an option of driver bridge/);
        assert.throws(() => new lib.Network("ov2y", { swarm: sw, host: c }), /an overlay is made on its swarm's first manager, host s2b/);
        assert.throws(() => new lib.Network("ov2z", { driver: "overlay" }), /`swarm` is required with driver overlay/);
        assert.throws(() => new lib.Network("ov2w", { driver: "bridge", swarm: sw }), /`swarm` is an option of driver overlay/);
    });

    it("a bridge Network registers as it always did: no driver, no swarm fields", async () => {
        const net = new lib.Network("plain2", { subnet: "10.91.0.0/24" });
        await settle(net.networkId);
        await drain();
        const n = find("Network", "plain2");
        for (const k of ["driver", "swarm", "attachable", "encrypted", "vni"]) assert.equal(n.inputs[k] ?? undefined, undefined, k);
        assert.deepEqual([n.inputs.icc, n.inputs.masquerade], [true, true]);
    });

    it("a Container on an overlay is on one of the swarm's hosts and waits for that host's node; elsewhere it is refused", async () => {
        const [b, c, d] = hosts("s3");
        const sw = new lib.Swarm("sw3", { nodes: [{ host: b }, { host: c }] });
        const ov = new lib.Network("ov3", { swarm: sw, subnet: "10.92.0.0/24" });
        const net = { mode: "networks" as const, networks: [{ network: ov, ipv4Address: "10.92.0.10", aliases: ["api"] }] };
        const api = new lib.Container("s3-api", { image: "hostnet/busybox:1", network: net }, { parent: c });
        await settle(api.containerId);
        await drain();
        const dc = find("DockerContainer", "s3-api");
        assert.equal(dc.inputs.host.name, "s3c");
        assert.deepEqual(dc.inputs.networks, [{ network: "ov3-id", ipv4Address: "10.92.0.10", aliases: ["api"] }]);
        assert.ok(dc.dependencies.includes(find("SwarmNode", "sw3-s3c").urn), "created once c joined, removed before c leaves");
        assert.ok(!dc.dependencies.includes(find("SwarmNode", "sw3-s3b").urn), "not waiting for other hosts' nodes");
        assert.throws(
            () => new lib.Container("s3-far", { image: "hostnet/busybox:1", network: net }, { parent: d }),
            /`network.networks\[0\].network` is Network "ov3", an overlay of Swarm "sw3", whose nodes are hosts s3b, s3c; this resource is on host s3d: put it on one of them/,
        );
        assert.throws(
            () => new lib.Container("s3-here", { image: "hostnet/busybox:1", network: net }),
            /whose nodes are hosts s3b, s3c; this resource is on this machine/,
        );
        const web = new lib.Container("s3-web", { image: "hostnet/busybox:1", network: { mode: "bridge" } }, { parent: b });
        const att = new lib.NetworkAttachment("s3-web-ov", { container: web, network: ov, ipv4Address: "10.92.0.11" });
        await settle(att.urn);
        await drain();
        const a = find("NetworkAttachment", "s3-web-ov");
        assert.equal(a.inputs.host.name, "s3b", "it follows its container");
        assert.ok(a.dependencies.includes(find("SwarmNode", "sw3-s3b").urn));
    });

    it("refuses an overlay where a bridge is wanted: a VethAttachment's or a VxlanLink's", async () => {
        const [b, c] = hosts("s4");
        const sw = new lib.Swarm("sw4", { nodes: [{ host: b }, { host: c }] });
        const ov = new lib.Network("ov4", { swarm: sw });
        const box = new lib.Container("s4-box", { image: "hostnet/busybox:1" }, { parent: b });
        assert.throws(
            () => new lib.VethAttachment("s4-box-eth0", { container: box, bridge: ov, address: "10.93.0.2/24" }),
            /`bridge` is Network "ov4", an overlay of Swarm "sw4": an overlay has no bridge on the host/,
        );
        assert.throws(
            () =>
                new lib.VxlanLink("s4-x", {
                    vni: 5,
                    a: { bridge: ov, underlay: "10.0.0.2" },
                    b: { bridge: "br0", host: c, underlay: "10.0.0.3" },
                }),
            /`a.bridge` is Network "ov4", an overlay of Swarm "sw4"/,
        );
    });

    it("refuses a swarm without nodes, a host twice, a worker first, a node with no address to advertise, naming each", () => {
        const [b, c] = hosts("s5");
        assert.throws(() => new lib.Swarm("e", { nodes: [] }), /`nodes` must list the swarm's hosts/);
        const named = new lib.Host("s5dns", { name: "s5dns", ssh: { host: "node.example.org" } });
        let message = "";
        try {
            new lib.Swarm("bad5", { nodes: [{ host: b, role: "worker" }, { host: c }, { host: c }, { host: named }, {}] });
        } catch (err) {
            message = (err as Error).message;
        }
        assert.equal(
            message,
            'invalid Swarm "bad5":\n' +
                "  - `nodes[2]` is host s5c again (as `nodes[1]`); a host is one node\n" +
                "  - `nodes[3].advertiseAddress` is required: host s5dns's ssh.host is no IPv4 address; give the node's address on the network the hosts reach each other on\n" +
                "  - `nodes[4].advertiseAddress` is required: this machine has no SSH address to take it from; give the node's address on the network the hosts reach each other on\n" +
                "  - `nodes[0].role` is worker, but the first node makes the swarm (`docker swarm init`) and must be a manager; list a manager first",
        );
        assert.ok(!registered.some((r) => r.name === "bad5" || r.name.startsWith("bad5-")), "nothing registered");
    });
});

describe("swarm and overlay checks, as `check` sees the inputs", () => {
    const host = { name: "b", ssh: { host: "10.0.0.2" } };

    it("SwarmCluster: addresses, ports, pools, each named", () => {
        assert.deepEqual(checkSwarmClusterInputs({ advertiseAddress: "10.0.0.2", owner: "o", host }), []);
        assert.deepEqual(
            checkSwarmClusterInputs({
                advertiseAddress: "10.0.0.2:2377",
                dataPathAddress: "eth0",
                listenAddress: "0.0.0.0:99999",
                dataPathPort: 4,
                defaultAddrPool: ["10.20.0.0"],
                subnetSize: 31,
                owner: "o",
            }).map((f) => `${f.property}: ${f.reason}`),
            [
                'advertiseAddress: `advertiseAddress` takes an address without a port, like 10.0.0.2; got "10.0.0.2:2377"',
                'dataPathAddress: `dataPathAddress` must be an IPv4 address like 10.0.0.2; got "eth0"',
                "listenAddress: `listenAddress`: port 99999 is not a TCP port; give one from 1 to 65535",
                "dataPathPort: `dataPathPort` must be a UDP port from 1024 to 49151 (Docker's rule; VXLAN's is 4789); got 4",
                'defaultAddrPool: `defaultAddrPool` must be a list of IPv4 networks like ["10.20.0.0/16"]; got ["10.20.0.0"]',
                "subnetSize: `subnetSize` must be a prefix length from 8 to 29 (each overlay's subnet); got 31",
            ],
        );
        // An IPv6 address is refused as no IPv4 one, not read as an address with a port (its last group).
        assert.deepEqual(
            checkSwarmClusterInputs({
                advertiseAddress: "fd00::1",
                dataPathAddress: "fd00::2:2377",
                listenAddress: "[::]:2377",
                owner: "o",
            }).map((f) => f.reason),
            [
                '`advertiseAddress` must be an IPv4 address like 10.0.0.2; got "fd00::1"',
                '`dataPathAddress` must be an IPv4 address like 10.0.0.2; got "fd00::2:2377"',
                '`listenAddress` must be an IPv4 address (with an optional :port) like 10.0.0.2; got "[::]:2377"',
            ],
        );
        assert.deepEqual(
            checkSwarmClusterInputs({ advertiseAddress: UNKNOWN, owner: "o" }),
            [],
            "a value not known yet is checked once it is",
        );
    });

    it("SwarmNode: role, availability, labels; the first node stays a manager", () => {
        assert.deepEqual(
            checkSwarmNodeInputs({ init: false, role: "boss", availability: "gone", labels: { "io.hostnet.owner": "x" }, owner: "o" }).map(
                (f) => f.reason,
            ),
            [
                '`role` must be manager or worker; got "boss"',
                '`availability` must be active, pause or drain; got "gone"',
                '`labels` may not set "io.hostnet.owner": labels under io.hostnet. (such as io.hostnet.owner) are the library\'s ownership marks; choose another label name',
            ],
        );
        assert.deepEqual(
            checkSwarmNodeInputs({ init: true, role: "worker", availability: "active", labels: {}, owner: "o" }).map((f) => f.reason),
            ["`role`: the first node made the swarm and must stay a manager; make another node the first to change it"],
        );
    });

    it("Network: each driver's options are refused on the other, by name", () => {
        assert.deepEqual(
            checkOverlayFields({
                driver: "overlay",
                bridgeName: "br0",
                icc: false,
                masquerade: false,
                attachable: false,
                swarm: { clusterId: "x", nodes: [] },
            }).map((f) => f.property),
            ["bridgeName", "icc", "masquerade", "attachable"],
        );
        assert.deepEqual(
            checkOverlayFields({ driver: "overlay" }).map((f) => f.reason),
            ["`swarm` is required with driver overlay: the Swarm whose nodes the network spans"],
        );
        assert.deepEqual(
            checkOverlayFields({ encrypted: true }).map((f) => f.reason),
            [
                "`encrypted` is an option of driver overlay (a network across the hosts of a Swarm); this network's driver is bridge; remove `encrypted`, or make the network an overlay (give `swarm`)",
            ],
        );
        // Other drivers' options and unknown drivers are the Network check's (specs/network.ts), not the overlay's.
        assert.deepEqual(checkOverlayFields({ driver: "macvlan" }), []);
        assert.deepEqual(checkOverlayFields({ driver: "vlan", swarm: { clusterId: "x", nodes: [] } }), []);
        assert.deepEqual(
            checkNetworkInputs({
                name: "ov",
                driver: "overlay",
                swarm: { clusterId: "x", nodes: [{ host }] },
                attachable: true,
                encrypted: false,
                subnet: "10.90.0.0/24",
                gateway: "10.91.0.1",
                internal: false,
                labels: {},
                owner: "o",
            }).map((f) => f.reason),
            ["`gateway` 10.91.0.1 is outside `subnet` 10.90.0.0/24"],
            "subnet and gateway are checked for overlays as for bridges",
        );
    });

    it("the preview report's host operations: init, join with a token, drain/leave/remove, an overlay on every node", () => {
        const ref = { clusterId: "cid", manager: host, joinAddress: "10.0.0.2:2377", workerToken: "SWMTKN-w", managerToken: "SWMTKN-m" };
        const node = {
            host: { name: "c", ssh: { host: "10.0.0.3" } },
            swarm: ref,
            init: false,
            role: "worker",
            advertiseAddress: "10.0.0.3",
            labels: { zone: "east" },
            availability: "active",
            owner: "o",
        };
        assert.deepEqual(describeChange("SwarmCluster", "create", undefined, { host, advertiseAddress: "10.0.0.2", owner: "o" }), [
            "initialize a swarm on host b (docker swarm init, advertising 10.0.0.2)",
        ]);
        const join = describeChange("SwarmNode", "create", undefined, node);
        assert.deepEqual(join, [
            "join host c to the swarm as a worker through 10.0.0.2:2377 (docker swarm join, advertising 10.0.0.3)",
            "read the node id of host c",
            "set role worker, availability active, labels zone=east of the node of host c (docker node update, on the first manager (host b))",
        ]);
        assert.ok(!join.join(" ").includes("SWMTKN"), "no token in the report");
        assert.deepEqual(describeChange("SwarmNode", "delete", { ...node, nodeId: "n1", state: "ready" }), [
            "drain the node of host c (docker node update, on the first manager (host b))",
            "leave the swarm on host c (docker swarm leave)",
            "remove the node of host c from the swarm (docker node rm, on the first manager (host b))",
        ]);
        assert.deepEqual(
            describeChange("Network", "create", undefined, {
                name: "hn-dev-ov",
                driver: "overlay",
                swarm: { clusterId: "cid", nodes: [] },
                attachable: true,
                encrypted: false,
                subnet: "10.90.0.0/24",
                internal: false,
                labels: {},
                owner: "o",
                host,
            }),
            ['create Docker network "hn-dev-ov" (driver overlay, subnet 10.90.0.0/24, on swarm cid, attachable)'],
        );
    });
});
