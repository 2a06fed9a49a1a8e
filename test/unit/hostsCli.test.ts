// The command line on several hosts, without a host: `--host` parsing, the
// pairing of VXLAN devices into tunnels and of engines into swarms (from
// models built here), the text and diagram of several hosts, the preview
// report limited to some hosts, and which engines `watch` follows. The real
// reads over SSH are in test/multihost/.

import * as assert from "node:assert/strict";
import { hostSpecOf, parseHostArg, parseHostArgs } from "../../components/src/cli/hostArgs";
import { planOf, PreviewDigest } from "../../components/src/cli/previewPlan";
import { renderMarkdown, reportOf } from "../../components/src/cli/previewReport";
import type { Interface, Topology } from "../../components/src/cli/topology";
import { HostsTopology, HostView, swarmsOf, tunnelsOf } from "../../components/src/cli/topologyHosts";
import { renderHostsDot, renderHostsText } from "../../components/src/cli/topologyRenderHosts";
import { hostsToFollow } from "../../components/src/cli/watch";
import type { NodeInspect, SwarmInfo } from "../../components/src/host/swarm";

describe("--host on the command line", () => {
    it("reads NAME=[USER@]ADDRESS[:PORT], a bare NAME, local, and IPv6 in brackets", () => {
        assert.deepEqual(parseHostArg("b=10.0.0.2"), { name: "b", local: false, ssh: { host: "10.0.0.2" } });
        assert.deepEqual(parseHostArg("c=admin@10.0.0.3:2222", { privateKeyPath: "/k", knownHostsPath: "/kh" }), {
            name: "c",
            local: false,
            ssh: { host: "10.0.0.3", user: "admin", port: 2222, privateKeyPath: "/k", knownHostsPath: "/kh" },
        });
        assert.deepEqual(parseHostArg("v6=[fd00::2]:22"), { name: "v6", local: false, ssh: { host: "fd00::2", port: 22 } });
        assert.deepEqual(parseHostArg("local"), { name: "local", local: true });
        assert.deepEqual(parseHostArg("edge-1"), { name: "edge-1", local: false });
        assert.equal(hostSpecOf(parseHostArg("local")), undefined, "this machine");
    });

    it("refuses a bad value, local with an address, a host twice, and a name alone where an address is needed", () => {
        assert.throws(() => parseHostArg("b=root@"), /`--host` takes NAME=\[USER@\]ADDRESS\[:PORT\], NAME, or local/);
        assert.throws(() => parseHostArg("b=-oProxyCommand=x"), /its host must be an address or DNS name/);
        assert.throws(() => parseHostArg("b=10.0.0.2:0"), /its port must be a TCP port/);
        assert.throws(() => parseHostArg("local=10.0.0.9"), /`--host local` is this machine: it takes no address/);
        assert.throws(() => parseHostArgs(["b=10.0.0.2", "b=10.0.0.3"]), /`--host b` is given twice/);
        assert.throws(() => hostSpecOf(parseHostArg("b")), /`--host b` gives no address: write it as b=\[USER@\]ADDRESS\[:PORT\]/);
    });
});

const vxlanPort = (name: string, bridge: string, vni: number, local: string, remote: string): Interface => ({
    name,
    kind: "vxlan",
    state: "UNKNOWN",
    mac: "02:00:00:00:00:01",
    addresses: [],
    master: bridge,
    vxlan: { vni, local, remote, port: 4789 },
});

function view(name: string, address: string, extra: Interface[] = [], networks: Topology["networks"] = []): HostView {
    const bridges = [...new Set(extra.map((i) => i.master!))].map((b) => ({
        name: b,
        state: "UP",
        addresses: [],
        ports: extra.filter((i) => i.master === b),
    }));
    return {
        host: name,
        name,
        address,
        bridges,
        containers: [],
        networks,
        links: [],
        namespaces: [{ name: "host", interfaces: extra }],
    };
}

describe("several hosts: what joins them", () => {
    it("pairs VXLAN devices of two hosts into a tunnel by VNI and crossed underlay addresses; one with no peer read stays alone", () => {
        const b = view("b", "10.0.0.2", [
            vxlanPort("vx-bc", "br-b", 42, "10.0.0.2", "10.0.0.3"),
            vxlanPort("vx-bz", "br-b", 9, "10.0.0.2", "10.0.0.9"),
        ]);
        const c = view("c", "10.0.0.3", [
            vxlanPort("vx-cb", "br-c", 42, "10.0.0.3", "10.0.0.2"),
            vxlanPort("vx-cd", "br-c", 43, "10.0.0.3", "10.0.0.4"),
        ]);
        const d = view("d", "10.0.0.4", [vxlanPort("vx-dc", "br-d", 43, "10.0.0.4", "10.0.0.3")]);
        const tunnels = tunnelsOf([b, c, d]);
        assert.deepEqual(
            tunnels.map(
                (t) =>
                    `${t.a.host}:${t.a.device}@${t.a.bridge} <-> ${t.b ? `${t.b.host}:${t.b.device}@${t.b.bridge}` : `(${t.a.remote})`} VNI ${t.vni}`,
            ),
            ["b:vx-bc@br-b <-> c:vx-cb@br-c VNI 42", "b:vx-bz@br-b <-> (10.0.0.9) VNI 9", "c:vx-cd@br-c <-> d:vx-dc@br-d VNI 43"],
        );
        const m: HostsTopology = { hosts: [b, c, d], tunnels, swarms: [] };
        const text = renderHostsText(m);
        assert.match(
            text,
            /^hostnet topology of 3 hosts: host b \(10\.0\.0\.2\), host c \(10\.0\.0\.3\), host d \(10\.0\.0\.4\)\nbetween them: 3 VXLAN tunnels, 0 swarms \(0 overlay networks\)/,
        );
        assert.match(text, /b: vx-bc on br-b \(10\.0\.0\.2\)\s+<->\s+c: vx-cb on br-c \(10\.0\.0\.3\)\s+VNI 42, UDP 4789/);
        assert.match(text, /10\.0\.0\.9 \(no host read there\)/);
        const dot = renderHostsDot(m);
        assert.match(dot, /subgraph cluster_host_0 \{[\s\S]*host b \(10\.0\.0\.2\)/);
        assert.match(dot, /"b\/bridge:br-b" -> "c\/bridge:br-c" \[penwidth=2\.5, color="#b45309".*label="VXLAN 42: vx-bc - vx-cb"\]/);
        assert.doesNotMatch(dot, /VXLAN 9/, "a tunnel to no host read is not drawn between clusters");
    });

    it("puts engines in swarms: nodes as a manager lists them, matched to hosts by node id; overlays merged by id with their containers per host", () => {
        const info = (nodeId: string, manager: boolean): SwarmInfo => ({
            NodeID: nodeId,
            NodeAddr: "",
            LocalNodeState: "active",
            ControlAvailable: manager,
            Error: "",
            RemoteManagers: [{ NodeID: "n-b", Addr: "10.0.0.2:2377" }],
            Cluster: manager ? { ID: "cl1", Spec: { Labels: { "io.hostnet.owner": "hostnet@b/p/s/SwarmCluster/sw" } } } : null,
        });
        const node = (id: string, role: "manager" | "worker", addr: string, leader = false): NodeInspect => ({
            ID: id,
            Version: { Index: 1 },
            Spec: { Labels: { site: id, "io.hostnet.owner": `hostnet@x/p/s/SwarmNode/${id}` }, Role: role, Availability: "active" },
            Description: { Hostname: "vm" },
            Status: { State: "ready", Addr: addr },
            ManagerStatus: leader ? { Leader: true } : null,
        });
        const overlay = (containers: { name: string; address: string }[]) => [
            { name: "hn-s-ov", id: "ovid", driver: "overlay", subnet: "10.90.0.0/24", vni: 4097, containers },
            { name: "ingress", id: "ing", driver: "overlay", containers: [] },
        ];
        const reads = [
            {
                view: view("b", "10.0.0.2", [], overlay([{ name: "b-c0", address: "10.90.0.2/24" }])),
                swarm: {
                    info: info("n-b", true),
                    nodes: [node("n-b", "manager", "10.0.0.2", true), node("n-c", "worker", "10.0.0.3"), node("n-x", "worker", "10.0.0.9")],
                },
            },
            { view: view("c", "10.0.0.3", [], overlay([{ name: "c-c0", address: "10.90.0.52/24" }])), swarm: { info: info("n-c", false) } },
            {
                view: view("e", "10.0.0.5"),
                swarm: { info: { ...info("n-e", false), RemoteManagers: [{ NodeID: "m", Addr: "10.9.9.9:2377" }] } },
            },
        ];
        const swarms = swarmsOf(reads);
        assert.equal(swarms.length, 2);
        assert.equal(swarms[0].clusterId, "cl1");
        assert.equal(swarms[0].owner?.type, "SwarmCluster");
        assert.deepEqual(
            swarms[0].nodes.map((n) => `${n.id} ${n.host ?? "-"} ${n.role}${n.leader ? "*" : ""} ${n.state} ${JSON.stringify(n.labels)}`),
            ['n-b b manager* ready {"site":"n-b"}', 'n-c c worker ready {"site":"n-c"}', 'n-x - worker ready {"site":"n-x"}'],
        );
        assert.deepEqual(swarms[0].overlays, [
            {
                id: "ovid",
                name: "hn-s-ov",
                subnet: "10.90.0.0/24",
                vni: 4097,
                members: [
                    { host: "b", container: "b-c0", address: "10.90.0.2/24" },
                    { host: "c", container: "c-c0", address: "10.90.0.52/24" },
                ],
            },
        ]);
        assert.equal(swarms[1].clusterId, undefined, "a worker whose managers were not read: a swarm of unknown id");
        assert.deepEqual(
            swarms[1].nodes.map((n) => n.host),
            ["e"],
        );
        const text = renderHostsText({ hosts: reads.map((r) => r.view), tunnels: [], swarms });
        assert.match(text, /== swarm cl1 \[s\/SwarmCluster\/sw\] ==/);
        assert.match(text, /n-b\s+b\s+manager \(leader\)\s+ready\s+active\s+10\.0\.0\.2\s+site=n-b \[s\/SwarmNode\/n-b\]/);
        assert.match(text, /ovid\s+hn-s-ov\s+10\.90\.0\.0\/24\s+4097\s+b: b-c0 10\.90\.0\.2\/24; c: c-c0 10\.90\.0\.52\/24/);
        assert.match(text, /== swarm \(id not known: none of its managers was read\) ==/);
    });
});

describe("preview report on several hosts", () => {
    const digest: PreviewDigest = {
        steps: [
            {
                op: "create",
                urn: "urn:pulumi:s::p::hostnet:index:Host$pulumi-nodejs:dynamic/hostnet:Bridge::b-br",
                newState: {
                    type: "pulumi-nodejs:dynamic/hostnet:Bridge",
                    custom: true,
                    inputs: { name: "br0", host: { name: "b", ssh: { host: "10.0.0.2" } } },
                },
            },
            {
                op: "create",
                urn: "urn:pulumi:s::p::pulumi-nodejs:dynamic/hostnet:VxlanLink::b-c",
                newState: {
                    type: "pulumi-nodejs:dynamic/hostnet:VxlanLink",
                    custom: true,
                    inputs: {
                        vni: 4,
                        a: { bridge: "br0", host: { name: "b", ssh: { host: "10.0.0.2" } } },
                        b: { bridge: "br0", host: { name: "c", ssh: { host: "10.0.0.3" } } },
                    },
                },
            },
            {
                op: "same",
                urn: "urn:pulumi:s::p::pulumi-nodejs:dynamic/hostnet:Bridge::here",
                newState: { type: "pulumi-nodejs:dynamic/hostnet:Bridge", custom: true, inputs: { name: "br9" } },
            },
            {
                op: "same",
                urn: "urn:pulumi:s::p::pulumi-nodejs:dynamic/hostnet:Bridge::c-br",
                newState: {
                    type: "pulumi-nodejs:dynamic/hostnet:Bridge",
                    custom: true,
                    inputs: { name: "br0", host: { name: "c", ssh: { host: "10.0.0.3" } } },
                },
            },
        ],
    } as unknown as PreviewDigest;

    it("says on which host each change runs; --host keeps the changes on those hosts and counts their unchanged resources", () => {
        const all = reportOf(planOf(digest));
        assert.deepEqual(
            all.resources.map((r) => `${r.kind} ${r.name} ${r.hosts?.join("+")}`),
            ["Bridge b-br b", "VxlanLink b-c b+c"],
        );
        const md = renderMarkdown(all);
        assert.match(md, /\| \| resource \| on \| operation \| why \|/);
        assert.match(md, /\| `\+` \| VxlanLink `b-c` \| hosts b and c \| create \| new in the program \|/);
        assert.match(md, /#### `\+` create Bridge `b-br` on host b/);

        const onC = reportOf(planOf(digest), { hosts: ["c"] });
        assert.deepEqual(
            onC.resources.map((r) => r.name),
            ["b-c"],
        );
        assert.deepEqual([onC.summary.create, onC.summary.unchanged, onC.exitCode], [1, 1, 2]);
        assert.match(renderMarkdown(onC), /^### hostnet preview, on host c only\n/);
        const local = reportOf(planOf(digest), { hosts: ["local"] });
        assert.deepEqual([local.resources.length, local.summary.unchanged, local.exitCode], [0, 1, 0]);
    });

    it("a stack on this machine only: the report reads as it always did (no host column)", () => {
        const report = reportOf(
            planOf({ steps: [digest.steps![2], { ...digest.steps![2], op: "create", urn: digest.steps![2].urn + "2" }] } as PreviewDigest),
        );
        assert.equal(report.resources[0].hosts, undefined);
        assert.match(renderMarkdown(report), /\| \| resource \| operation \| why \|/);
    });
});

describe("hostnet watch: which engines it follows", () => {
    const state = [
        {
            urn: "u1",
            type: "pulumi-nodejs:dynamic/hostnet:DockerContainer",
            inputs: { host: { name: "b", ssh: { host: "10.0.0.2", privateKeyPath: "/k" } } },
        },
        {
            urn: "u2",
            type: "pulumi-nodejs:dynamic/hostnet:VxlanLink",
            inputs: {
                a: { bridge: "x", host: { name: "b", ssh: { host: "10.0.0.2" } } },
                b: { bridge: "y", host: { name: "c", ssh: { host: "10.0.0.3" } } },
            },
        },
        { urn: "u3", type: "pulumi-nodejs:dynamic/hostnet:Bridge", inputs: { name: "br0" } },
    ];

    it("by default this machine and every host the stack's resources are on, as the state reaches them", () => {
        const follow = hostsToFollow(undefined, state);
        assert.deepEqual([...follow.keys()], ["local", "b", "c"]);
        assert.equal(follow.get("local"), undefined);
        assert.deepEqual(follow.get("b"), { name: "b", ssh: { host: "10.0.0.2", privateKeyPath: "/k" } });
    });

    it("with --host, only those: a name from the state, an address given, local; a name the state does not know is refused", () => {
        const follow = hostsToFollow(parseHostArgs(["c", "d=10.0.0.4"]), state);
        assert.deepEqual(
            [...follow.entries()],
            [
                ["c", { name: "c", ssh: { host: "10.0.0.3" } }],
                ["d", { name: "d", ssh: { host: "10.0.0.4" } }],
            ],
        );
        assert.throws(
            () => hostsToFollow(parseHostArgs(["z"]), state),
            /`--host z`: no resource of the stack is on a host of that name \(its hosts: b, c\)/,
        );
    });
});
