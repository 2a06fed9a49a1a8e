// Topology under mocks: what a topology file or object expands to (types,
// names, inputs, the wiring between them), that the same data gives the same
// URNs, and that bad data is refused whole, before anything is registered,
// with one exact line per mistake naming the node (or network, link,
// attachment) and the field. Proof limit: mocks run no provider; the lab's
// e2e test (test/e2e/examplesLab.test.ts) deploys a topology file for real.

import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { drain, recordingMocks, Registration, settle } from "../helpers/mocks";

const LAB = `
name: demo
defaults:
  image: hostnet/busybox:1
  command: [sleep, "2147483647"]
networks:
  lab:
    subnet: \${labSubnet}
    gateway: \${lab24}.1
bridges:
  lan:
    name: hn-demo-lan
    addresses: ["10.20.0.1/24"]
    mtu: \${mtu}
nodes:
  api:
    net: lab
    ipv4Address: \${lab24}.10
    aliases: [api]
  cli:
    net: lab
  side:
    net: container:api
  web:
    net: bridge
    ports: ["127.0.0.1:18080:80"]
  isolated: {}
links:
  - endpoints: ["api:eth1", "isolated:eth1"]
    addresses: ["10.30.0.1/30", "10.30.0.2/30"]
attachments:
  - node: isolated
    bridge: lan
    address: 10.20.0.2/24
  - node: web
    network: lab
    ipv4Address: \${lab24}.20
    aliases: [www]
  - node: cli
    bridge: docker0
    ifName: eth9
    address: \${seed:=172.17.0.9/16}
    defaultRoute: false
`;

describe("Topology under mocks", () => {
    let lib: typeof import("../../components/src");
    let registered: Registration[];
    let dir: string;
    const vars = { labSubnet: "10.10.0.0/24", lab24: "10.10.0", mtu: 1400 };

    function file(name: string, text: string): string {
        const path = join(dir, name);
        writeFileSync(path, text);
        return path;
    }

    /** What a Topology registered, as "<type> <name>" of its descendants (the component itself first). */
    async function expand(name: string, args: import("../../components/src").TopologyArgs): Promise<Registration[]> {
        const start = registered.length;
        const t = new lib.Topology(name, args);
        await settle(t.urn);
        await Promise.all(Object.values(t.nodes).map((c) => settle(c.containerId)));
        await Promise.all([...Object.values(t.links), ...Object.values(t.attachments)].map((r) => settle(r.urn)));
        await drain();
        const urn = await settle(t.urn);
        const family = new Set([urn]);
        for (let grew = true; grew;) {
            grew = false;
            for (const r of registered.slice(start)) {
                if (family.has(r.parent) && !family.has(r.urn)) {
                    family.add(r.urn);
                    grew = true;
                }
            }
        }
        return registered.slice(start).filter((r) => family.has(r.urn));
    }

    const short = (r: Registration) => `${r.type.split(":").pop()} ${r.name}`;
    const byName = (rs: Registration[], type: string, name: string) => rs.find((r) => r.type.endsWith(`:${type}`) && r.name === name)!;

    before(async () => {
        registered = await recordingMocks("proj", "stk");
        lib = await import("../../components/src");
        dir = mkdtempSync(join(tmpdir(), "hostnet-topology-"));
    });

    after(() => rmSync(dir, { recursive: true, force: true }));

    it("expands a topology file into the library's resources, named <topology>-<item>, under the Topology", async () => {
        const rs = await expand("lab", { file: file("lab.yaml", LAB), vars });
        assert.deepEqual(rs.map(short).sort(), [
            "Bridge demo-lan",
            "Container demo-api",
            "Container demo-cli",
            "Container demo-isolated",
            "Container demo-side",
            "Container demo-web",
            "DockerContainer demo-api",
            "DockerContainer demo-cli",
            "DockerContainer demo-isolated",
            "DockerContainer demo-side",
            "DockerContainer demo-web",
            "Network demo-lab",
            "NetworkAttachment demo-web-lab",
            "Topology lab",
            "VethAttachment demo-cli-eth9",
            "VethAttachment demo-isolated-eth0",
            "VethLink demo-api-eth1-isolated-eth1",
        ]);
        const network = byName(rs, "Network", "demo-lab");
        assert.equal(network.inputs.subnet, "10.10.0.0/24");
        assert.equal(network.inputs.gateway, "10.10.0.1");
        assert.equal(network.inputs.owner, "hostnet/proj/stk/Network/demo-lab");
        assert.equal(byName(rs, "Bridge", "demo-lan").inputs.mtu, 1400, "a whole-string ${mtu} keeps the number");
    });

    it("wires nodes to networks, container: targets, links and attachments by the resources' ids, with dependencies", async () => {
        const rs = await expand("lab", { file: file("lab.yaml", LAB), vars });
        const urn = (type: string, name: string) => byName(rs, type, name).urn;
        const api = byName(rs, "DockerContainer", "demo-api");
        assert.equal(api.inputs.networkMode, "demo-lab-id");
        assert.deepEqual(api.inputs.networks, [{ network: "demo-lab-id", ipv4Address: "10.10.0.10", aliases: ["api"] }]);
        assert.equal(api.inputs.name, "hn-stk-demo-api");
        assert.deepEqual(api.inputs.command, ["sleep", "2147483647"], "the command comes from defaults");
        assert.ok(api.dependencies.includes(urn("Network", "demo-lab")));

        const side = byName(rs, "DockerContainer", "demo-side");
        assert.equal(side.inputs.networkMode, "container:demo-api-id");
        assert.deepEqual(side.propertyDependencies.networkMode, [api.urn]);
        assert.equal(byName(rs, "DockerContainer", "demo-isolated").inputs.networkMode, "none", "a node without net is --net=none");
        assert.deepEqual(byName(rs, "DockerContainer", "demo-web").inputs.ports, ["127.0.0.1:18080:80"]);

        const link = byName(rs, "VethLink", "demo-api-eth1-isolated-eth1");
        assert.deepEqual(
            [link.inputs.a.container, link.inputs.a.ifName, link.inputs.a.address, link.inputs.b.container, link.inputs.b.address],
            ["demo-api-id", "eth1", "10.30.0.1/30", "demo-isolated-id", "10.30.0.2/30"],
        );
        assert.ok(link.dependencies.includes(api.urn) && link.dependencies.includes(urn("DockerContainer", "demo-isolated")));

        const onLan = byName(rs, "VethAttachment", "demo-isolated-eth0");
        assert.deepEqual(
            [onLan.inputs.bridge, onLan.inputs.address, onLan.inputs.containerIfName],
            ["hn-demo-lan", "10.20.0.2/24", "eth0"],
        );
        assert.ok(onLan.dependencies.includes(urn("Bridge", "demo-lan")), "the attachment waits for the bridge it joins");

        const onDocker0 = byName(rs, "VethAttachment", "demo-cli-eth9");
        assert.deepEqual(
            [onDocker0.inputs.bridge, onDocker0.inputs.address, onDocker0.inputs.containerIfName, onDocker0.inputs.defaultRoute],
            ["docker0", "172.17.0.9/16", "eth9", false],
            "an unknown bridge name is a host bridge; ${seed:=...} takes its default",
        );

        const webLab = byName(rs, "NetworkAttachment", "demo-web-lab");
        assert.deepEqual(
            [webLab.inputs.container, webLab.inputs.network, webLab.inputs.ipv4Address, webLab.inputs.aliases],
            ["demo-web-id", "demo-lab-id", "10.10.0.20", ["www"]],
        );
    });

    it("the same data gives the same URNs: from a file or an object, in any key order, whatever the Topology's own name", async () => {
        const children = (rs: Registration[]) => rs.filter((r) => !r.type.endsWith(":Topology")).map((r) => r.urn);
        const fromFile = children(await expand("first", { file: file("same.yaml", LAB), vars }));
        const parsed = (await import("yaml")).parse(LAB);
        const reordered = {
            attachments: [...parsed.attachments].reverse(),
            links: parsed.links,
            nodes: Object.fromEntries(Object.entries(parsed.nodes as Record<string, object>).reverse()),
            bridges: parsed.bridges,
            networks: parsed.networks,
            defaults: parsed.defaults,
            name: parsed.name,
        };
        const fromObject = children(await expand("second", { spec: reordered, vars }));
        assert.equal(fromFile.length, 16);
        assert.deepEqual([...fromObject].sort(), [...fromFile].sort());
        assert.equal(new Set(fromFile).size, 16, "every resource has its own URN");
    });

    it("without a name in the data, the Topology's name is the prefix", async () => {
        const rs = await expand("solo", { spec: { nodes: { a: { image: "hostnet/busybox:1" } } } });
        assert.deepEqual(rs.map(short).sort(), ["Container solo-a", "DockerContainer solo-a", "Topology solo"]);
    });

    /** The error a topology file is refused with; nothing of it may be registered. */
    function refusal(name: string, text: string, extra: Partial<import("../../components/src").TopologyArgs> = {}): string {
        const path = file(`${name}.yaml`, text);
        const before = registered.length;
        let message = "";
        try {
            new lib.Topology(name, { file: path, ...extra });
        } catch (err) {
            message = (err as Error).message;
        }
        assert.equal(registered.length, before, "nothing registered");
        assert.ok(!registered.some((r) => r.name === name || r.name.startsWith(`${name}-`)));
        return message.replace(path, "<file>");
    }

    it("refuses a node whose net names nothing of the topology, naming the node and the field", () => {
        const text = `
networks:
  lab: {}
nodes:
  api:
    image: hostnet/busybox:1
    net: lan
`;
        assert.equal(
            refusal("badnet", text),
            'invalid Topology "badnet" (<file>):\n' +
                '  - `nodes.api.net` must be none, bridge, host, container:<node> or a network of this topology (lab); got "lan"',
        );
    });

    it("lists every mistake at once: unknown fields, bad values, missing image, dangling references", () => {
        const text = `
nodes:
  api:
    imgae: hostnet/busybox:1
    net: container:db
  web:
    image: Not/An/Image
    net: host
    ports: ["8080:80"]
  cli:
    image: hostnet/busybox:1
    net: none
    ipv4Address: 10.0.0.5
links:
  - endpoints: ["web:eth1", "cli:this-name-is-too-long"]
attachments:
  - node: ghost
    bridge: docker0
    address: 172.17.0.5/16
  - node: cli
    bridge: docker0
    network: lab
`;
        assert.equal(
            refusal("many", text),
            'invalid Topology "many" (<file>):\n' +
                "  - `nodes.api.imgae` is not a field here; known fields: image, command, env, net, ipv4Address, ipv6Address, aliases, ports, restartPolicy, labels, name, host\n" +
                "  - `nodes.api.image` is required (or set `defaults.image`)\n" +
                '  - `nodes.api.net` "container:db" names no node of this topology; nodes: api, web, cli\n' +
                '  - `nodes.web.image` must be an image reference like hostnet/busybox:1 (lower-case repository, optional tag); got "Not/An/Image"\n' +
                "  - `nodes.web.ports` cannot be published with network mode host: the container uses the host's ports directly; remove `ports`\n" +
                "  - `nodes.cli.ipv4Address` applies only when `net` names a network; `net` is none\n" +
                "  - `links[0].endpoints[0]`: the container uses network mode host: it has no network namespace of its own: its interfaces are the host's (node web)\n" +
                '  - `links[0].endpoints[1]` must be at most 15 characters (the kernel\'s limit on interface names); "this-name-is-too-long" has 21 (the interface part)\n' +
                '  - `attachments[0].node` names no node of this topology: "ghost"; nodes: api, web, cli\n' +
                "  - `attachments[1]` must give exactly one of `bridge` (a veth pair onto a bridge) and `network` (a Docker network connection)",
        );
    });

    it("refuses addresses outside their network or bridge, interfaces and connections made twice, modes that cannot take them", () => {
        const text = `
defaults:
  image: hostnet/busybox:1
networks:
  lab:
    subnet: 10.10.0.0/24
bridges:
  lan:
    addresses: [10.20.0.1/24]
nodes:
  api: { net: lab, ipv4Address: 10.11.0.10 }
  box: {}
  cli: { net: bridge }
  side: { net: "container:box" }
links:
  - endpoints: ["api:eth1", "box:eth1"]
attachments:
  - { node: box, bridge: lan, address: 10.21.0.2/24, ifName: eth1 }
  - { node: side, bridge: lan, address: 10.20.0.3/24 }
  - { node: box, network: lab }
  - { node: api, network: lab }
  - { node: cli, network: lab }
  - { node: cli, network: lab }
`;
        assert.equal(
            refusal("addr", text),
            'invalid Topology "addr" (<file>):\n' +
                "  - `nodes.api.ipv4Address` 10.11.0.10 is outside `networks.lab.subnet` 10.10.0.0/24\n" +
                "  - `attachments[0].ifName` puts interface eth1 in node box again (`links[0].endpoints[1]` already does); choose another name\n" +
                "  - `attachments[0].address` 10.21.0.2/24 is in none of `bridges.lan.addresses` subnets (10.20.0.1/24)\n" +
                "  - `attachments[1].node`: the container uses network mode container: it shares another container's network namespace; attach to that container instead (node side)\n" +
                "  - `attachments[2].node`: the container uses network mode none: Docker does not connect a --net=none container to networks; give it a VethAttachment instead (node box)\n" +
                "  - `attachments[3].network` lab is already node api's `net`; remove this attachment\n" +
                "  - `attachments[5]` connects node cli to lab again (`attachments[4]` already does)",
        );
    });

    it("on several hosts: each node, network and bridge on the host its `host` names, links and attachments on their node's; vxlan joins two hosts' bridges, its MTU on their attachments", async () => {
        const text = `
name: mh
defaults: { image: hostnet/busybox:1 }
bridges:
  br-b: { host: b }
  br-c: { host: c }
networks:
  net-c: { host: c, subnet: 10.89.0.0/24 }
vxlan:
  - { bridges: [br-b, br-c], vni: 42 }
nodes:
  b1: { host: b }
  b2: { host: b }
  c1: { host: c, net: net-c }
  c2: { host: c, net: "container:c1" }
links:
  - endpoints: ["b1:eth1", "b2:eth1"]
attachments:
  - { node: b1, bridge: br-b, address: 10.88.0.11/24 }
  - { node: c1, bridge: br-c, address: 10.88.0.21/24, mtu: 1400 }
`;
        const b = new lib.Host("mh-host-b", { name: "b", ssh: { host: "10.0.0.2" } });
        const rs = await expand("mh", { file: file("mh.yaml", text), hosts: { b, c: { name: "c", ssh: { host: "10.0.0.3" } } } });
        const hostOf = (type: string, name: string) => byName(rs, type, name).inputs.host?.name;
        assert.deepEqual(
            [
                ["Bridge", "mh-br-b"],
                ["Bridge", "mh-br-c"],
                ["Network", "mh-net-c"],
                ["DockerContainer", "mh-b1"],
                ["DockerContainer", "mh-c1"],
                ["DockerContainer", "mh-c2"],
                ["VethLink", "mh-b1-eth1-b2-eth1"],
                ["VethAttachment", "mh-b1-eth0"],
                ["VethAttachment", "mh-c1-eth0"],
            ].map(([t, n]) => `${n} ${hostOf(t, n)}`),
            [
                "mh-br-b b",
                "mh-br-c c",
                "mh-net-c c",
                "mh-b1 b",
                "mh-c1 c",
                "mh-c2 c",
                "mh-b1-eth1-b2-eth1 b",
                "mh-b1-eth0 b",
                "mh-c1-eth0 c",
            ],
        );
        const vx = byName(rs, "VxlanLink", "mh-vxlan-br-b-br-c");
        assert.deepEqual(
            [vx.inputs.vni, vx.inputs.a.host.name, vx.inputs.a.underlay, vx.inputs.b.host.name, vx.inputs.b.underlay],
            [42, "b", "10.0.0.2", "c", "10.0.0.3"],
            "each side's underlay is its host's SSH address",
        );
        const b1 = byName(rs, "VethAttachment", "mh-b1-eth0");
        assert.deepEqual([b1.inputs.mtu, b1.propertyDependencies.mtu], [1450, [vx.urn]], "the tunnel's MTU");
        assert.equal(byName(rs, "VethAttachment", "mh-c1-eth0").inputs.mtu, 1400, "an MTU given stays");
    });

    it("refuses a host the Topology has not, and what would join two hosts other than a vxlan link, naming each place", () => {
        const text = `
defaults: { image: hostnet/busybox:1 }
bridges:
  br-b: { host: b }
  br-b2: { host: b }
  br-x: { host: x }
networks:
  net-c: { host: c }
nodes:
  b1: { host: b, net: net-c }
  b2: { host: b }
  c1: { host: c }
  c2: { host: c, net: "container:b2" }
links:
  - endpoints: ["b2:eth1", "c1:eth1"]
attachments:
  - { node: c1, bridge: br-b, address: 10.88.0.21/24 }
vxlan:
  - { bridges: [br-b, br-b2], vni: 7 }
  - { bridges: [br-b, nope], vni: 0 }
`;
        const hosts = { b: { name: "b", ssh: { host: "10.0.0.2" } }, c: { name: "c", ssh: { host: "10.0.0.3" } } };
        assert.equal(
            refusal("place", text, { hosts }),
            'invalid Topology "place" (<file>):\n' +
                '  - `bridges.br-x.host` names no host of the Topology\'s `hosts` (b, c); got "x"\n' +
                "  - `nodes.b1.net` net-c is a network of host c, but node b1 is on host b; put them on one host\n" +
                "  - `nodes.c2.net` container:b2 is on host b, but node c2 is on host c: a shared namespace is on one host\n" +
                "  - `links[0]` joins node b2 (host b) and node c1 (host c): a veth pair stays on one host; join their hosts' bridges with `vxlan` instead\n" +
                "  - `attachments[0]` puts node c1 (host c) on bridges br-b (host b); attach a node to what is on its own host\n" +
                "  - `vxlan[0].bridges` br-b and br-b2 are both on host b: a VXLAN link joins bridges of two hosts (give them `host`s)\n" +
                "  - `vxlan[1].vni` must be an integer from 1 to 16777215; got 0\n" +
                '  - `vxlan[1].bridges[1]` names no bridge of this topology: "nope"; bridges: br-b, br-b2, br-x',
        );
        assert.match(
            refusal("nohosts", "nodes:\n  a: { image: hostnet/busybox:1, host: b }\n"),
            /`nodes\.a\.host` is "b", but the Topology has no `hosts`; pass `hosts: \{ b: <a Host> \}`, or remove `host`/,
        );
    });

    it("expands a dual-stack topology: IPv6 on networks, nodes, bridges, links (a list an end) and attachments", async () => {
        const dual = `
name: six
defaults: { image: hostnet/busybox:1 }
networks:
  lab: { subnet: 10.10.0.0/24, ipv6Subnet: "fd17:10::/64", ipv6Range: "fd17:10::100/120" }
bridges:
  lan: { addresses: [10.20.0.1/24, "fd17:20::1/64"] }
nodes:
  api: { net: lab, ipv4Address: 10.10.0.10, ipv6Address: "fd17:10::10" }
  web: { net: bridge }
  box: {}
links:
  - endpoints: ["api:eth1", "box:eth1"]
    addresses: [[10.30.0.1/30, "fd17:30::1/64"], [10.30.0.2/30, "fd17:30::2/64"]]
attachments:
  - { node: box, bridge: lan, addresses: [10.20.0.2/24, "fd17:20::2/64"] }
  - { node: web, network: lab, ipv6Address: "fd17:10::20" }
`;
        const rs = await expand("six", { file: file("six.yaml", dual) });
        const network = byName(rs, "Network", "six-lab");
        assert.deepEqual([network.inputs.ipv6Subnet, network.inputs.ipv6Range], ["fd17:10::/64", "fd17:10::100/120"]);
        assert.deepEqual(byName(rs, "Bridge", "six-lan").inputs.addresses, ["10.20.0.1/24", "fd17:20::1/64"]);
        assert.deepEqual(byName(rs, "DockerContainer", "six-api").inputs.networks, [
            { network: "six-lab-id", ipv4Address: "10.10.0.10", ipv6Address: "fd17:10::10" },
        ]);
        const link = byName(rs, "VethLink", "six-api-eth1-box-eth1");
        assert.deepEqual(
            [link.inputs.a.addresses, link.inputs.b.addresses, link.inputs.a.address],
            [["10.30.0.1/30", "fd17:30::1/64"], ["10.30.0.2/30", "fd17:30::2/64"], undefined],
        );
        const onLan = byName(rs, "VethAttachment", "six-box-eth0");
        assert.deepEqual([onLan.inputs.addresses, onLan.inputs.address], [["10.20.0.2/24", "fd17:20::2/64"], undefined]);
        assert.equal(byName(rs, "NetworkAttachment", "six-web-lab").inputs.ipv6Address, "fd17:10::20");
    });

    it("refuses IPv6 addresses outside their network or bridge, on a network without IPv6, and both address forms at once", () => {
        const text = `
defaults: { image: hostnet/busybox:1 }
networks:
  lab: { subnet: 10.10.0.0/24, ipv6Subnet: "fd17:10::/64" }
  old: { subnet: 10.11.0.0/24 }
bridges:
  lan: { addresses: [10.20.0.1/24, "fd17:20::1/64"] }
nodes:
  api: { net: lab, ipv6Address: "fd17:11::10" }
  cli: { net: old, ipv6Address: "fd17:12::10" }
  box: {}
links:
  - endpoints: ["api:eth1", "box:eth1"]
    addresses: [["10.30.0.1/30", "fe80::1/64"], "10.30.0.2/30"]
attachments:
  - { node: box, bridge: lan, addresses: [10.20.0.2/24, "fd17:21::2/64"] }
  - { node: box, bridge: lan, address: 10.20.0.3/24, addresses: [10.20.0.4/24], ifName: eth2 }
`;
        assert.equal(
            refusal("six-bad", text),
            'invalid Topology "six-bad" (<file>):\n' +
                "  - `nodes.api.ipv6Address` fd17:11::10 is outside `networks.lab.ipv6Subnet` fd17:10::/64\n" +
                "  - `nodes.cli.ipv6Address` fd17:12::10: network old has no IPv6 subnet; give `networks.old.ipv6Subnet`\n" +
                '  - `links[0].addresses[0][1]` "fe80::1/64" is a link-local address: the kernel gives every interface one by itself; choose a global or unique local address, like fd17:ac11::3/64\n' +
                "  - `attachments[0].addresses[1]` fd17:21::2/64 is in none of `bridges.lan.addresses` subnets (fd17:20::1/64)\n" +
                "  - `attachments[1]`: give `address` or `addresses`, not both: `addresses` lists every address of the attachment",
        );
    });

    it("refuses a variable that vars does not define, naming where it is used", () => {
        const text = `
nodes:
  a:
    image: hostnet/busybox:1
    net: \${mode}
`;
        assert.equal(
            refusal("vars", text),
            'invalid Topology "vars" (<file>):\n' +
                "  - `nodes.a.net` uses ${mode}, which `vars` does not define; pass it in `vars` or give a default, like ${mode:=value}",
        );
    });

    it("refuses a file that is not YAML, or not there, saying which file and what to do", () => {
        assert.equal(
            refusal("syntax", "nodes:\n  a: [unclosed\n"),
            'failed to read topology file "<file>": Flow sequence in block collection must be sufficiently indented and end with a ] at line 3, column 1; fix the YAML there',
        );
        assert.equal(
            refusal("dup", "nodes:\n  a: {}\n  a: {}\n"),
            'failed to read topology file "<file>": Map keys must be unique at line 3, column 3; fix the YAML there',
        );
        assert.throws(() => new lib.Topology("missing", { file: "no-such-topology.yaml" }), {
            message: `failed to read topology file "no-such-topology.yaml" (${join(process.cwd(), "no-such-topology.yaml")}): no such file; paths are relative to the program's folder (where Pulumi.yaml is)`,
        });
        assert.throws(() => new lib.Topology("neither", {}), {
            message: 'invalid Topology "neither":\n  - give exactly one of `spec` (the topology as data) and `file` (a YAML file)',
        });
    });
});
