// Composition under Pulumi mocks: which resources the components register,
// with which inputs. Proof limit: mocks never run provider methods, so this
// says nothing about the host; test/host and test/e2e cover that.

import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
}

const registered: Registered[] = [];

function settle<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((v) => resolve(v)));
}

describe("components under mocks", () => {
    let lib: typeof import("../../components/src");

    before(async () => {
        await pulumi.runtime.setMocks(
            {
                newResource(args) {
                    registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                    const state = {
                        ...args.inputs,
                        containerId: `${args.name}-cid`,
                        networkId: `${args.name}-nid`,
                        bridge: `br-${args.name}`,
                    };
                    return { id: `${args.name}-id`, state };
                },
                call: (args) => args.inputs,
            },
            "proj",
            "stk",
        );
        lib = await import("../../components/src");
    });

    it("Container registers one DockerContainer with --net=none by default, named and marked after the stack", async () => {
        const c = new lib.Container("web", { image: "hostnet/busybox:1", command: ["sleep", "1"] });
        await settle(c.containerId);
        const child = registered.find((r) => r.name === "web" && r.type.endsWith("DockerContainer"))!;
        assert.equal(child.type, "pulumi-nodejs:dynamic/hostnet:DockerContainer");
        assert.equal(child.inputs.networkMode, "none");
        assert.equal(child.inputs.name, "hn-stk-web");
        assert.equal(child.inputs.owner, "hostnet/proj/stk/DockerContainer/web");
        assert.deepEqual(child.inputs.command, ["sleep", "1"]);
        assert.equal(child.inputs.__provider, 'exports.handler = () => require("pulumi-hostnet/engine").provider("DockerContainer");\n');
        assert.ok(registered.some((r) => r.type === "hostnet:index:Container" && r.name === "web"));
    });

    it("MacvlanAttachment registers a dynamic resource of its kind storing one line of provider text", async () => {
        const m = new lib.MacvlanAttachment("lan-mv", { container: "hn-stk-web", parent: "eth9", address: "10.9.0.2/24" });
        await settle(m.containerId);
        const r = registered.find((x) => x.name === "lan-mv")!;
        assert.equal(r.type, "pulumi-nodejs:dynamic/hostnet:MacvlanAttachment");
        assert.equal(r.inputs.__provider, 'exports.handler = () => require("pulumi-hostnet/engine").provider("MacvlanAttachment");\n');
        assert.equal(r.inputs.parent, "eth9");
    });

    it("Container maps container: mode to Docker's container:<name>", async () => {
        const c = new lib.Container("side", { image: "hostnet/busybox:1", network: { mode: "container", container: "web-1" } });
        await settle(c.containerId);
        const child = registered.find((r) => r.name === "side" && r.type.endsWith("DockerContainer"))!;
        assert.equal(child.inputs.networkMode, "container:web-1");
    });

    it("VethAttachment fills the seed's defaults: docker0, eth0, a derived host name", async () => {
        const v = new lib.VethAttachment("seed-eth0", { container: "hn-stk-seed", address: "172.17.0.3/16" });
        await settle(v.hostIfName);
        const r = registered.find((x) => x.name === "seed-eth0")!;
        assert.equal(r.type, "pulumi-nodejs:dynamic/hostnet:VethAttachment");
        assert.equal(r.inputs.bridge, "docker0");
        assert.equal(r.inputs.containerIfName, "eth0");
        assert.equal(r.inputs.owner, "hostnet/proj/stk/VethAttachment/seed-eth0");
        assert.equal(r.inputs.hostIfName, lib.defaultHostIfName("hostnet/proj/stk/VethAttachment/seed-eth0", "seed-eth0"));
        assert.equal(r.inputs.gateway, undefined);
    });

    it("VethAttachment refuses bad plain inputs when the program runs, listing each field", () => {
        assert.throws(() => new lib.VethAttachment("bad", { container: "c", address: "10.0.0.1", hostIfName: "much-too-long-name" }), {
            message:
                'invalid VethAttachment "bad":\n' +
                '  - `address` must be an IPv4 address with its prefix length (1-32), like 172.17.0.3/16; got "10.0.0.1"\n' +
                '  - `hostIfName` must be at most 15 characters (the kernel\'s limit on interface names); "much-too-long-name" has 18',
        });
        assert.ok(!registered.some((r) => r.name === "bad"), "nothing is registered for bad input");
    });

    it("does not judge values that are Outputs when the program runs: the provider's check sees them resolved", async () => {
        // Invalid, but inside an Output: construction must not throw (test/host covers check() itself).
        const v = new lib.VethAttachment("later", { container: pulumi.output("c"), address: pulumi.output("10.0.0.5") });
        await settle(v.hostIfName);
        assert.ok(registered.some((r) => r.name === "later"));
    });

    it("Container on user-defined networks: the first network is the mode, given by the Network's id", async () => {
        const lab = new lib.Network("lab", { subnet: "10.10.0.0/24" });
        const c = new lib.Container("api", {
            image: "hostnet/busybox:1",
            network: { mode: "networks", networks: [{ network: lab, ipv4Address: "10.10.0.10", aliases: ["api"] }, { network: "other" }] },
        });
        await settle(c.containerId);
        const child = registered.find((r) => r.name === "api" && r.type.endsWith("DockerContainer"))!;
        assert.equal(child.inputs.networkMode, "lab-id");
        assert.deepEqual(child.inputs.networks, [{ network: "lab-id", ipv4Address: "10.10.0.10", aliases: ["api"] }, { network: "other" }]);
        const net = registered.find((r) => r.name === "lab" && r.type.endsWith("Network"))!;
        assert.equal(net.inputs.name, "hn-stk-lab");
        assert.equal(net.inputs.owner, "hostnet/proj/stk/Network/lab");
    });

    it("refuses, when the program runs, options a network mode cannot take", () => {
        assert.throws(() => new lib.Container("h", { image: "hostnet/busybox:1", network: { mode: "host" }, ports: ["8080:80"] }), {
            message:
                'invalid Container "h":\n  - `ports` cannot be published with network mode host: the container uses the host\'s ports directly; remove `ports`',
        });
        const onHost = new lib.Container("h2", { image: "hostnet/busybox:1", network: { mode: "host" } });
        assert.throws(() => new lib.VethAttachment("h2-eth0", { container: onHost, address: "172.17.0.9/16" }), {
            message:
                'invalid VethAttachment "h2-eth0":\n  - `container`: the container uses network mode host: it has no network namespace of its own: its interfaces are the host\'s',
        });
        const none = new lib.Container("n", { image: "hostnet/busybox:1", network: { mode: "none" } });
        assert.throws(() => new lib.NetworkAttachment("n-lab", { container: none, network: "lab" }), {
            message:
                'invalid NetworkAttachment "n-lab":\n  - `container`: the container uses network mode none: Docker does not connect a --net=none container to networks; give it a VethAttachment instead',
        });
        assert.throws(() => new lib.Container("s", { image: "hostnet/busybox:1", network: { mode: "container", container: onHost } }), {
            message:
                'invalid Container "s":\n  - `network.container`: the container uses network mode host: it has no network namespace of its own to share; use network mode host instead',
        });
    });

    it("container: mode follows the target Container's id, so replacing it replaces this one", async () => {
        const web = new lib.Container("web2", { image: "hostnet/busybox:1", network: { mode: "bridge" } });
        const side = new lib.Container("side2", { image: "hostnet/busybox:1", network: { mode: "container", container: web } });
        await settle(side.containerId);
        const child = registered.find((r) => r.name === "side2" && r.type.endsWith("DockerContainer"))!;
        assert.equal(child.inputs.networkMode, "container:web2-id");
    });

    it("VethAttachment onto a Network uses the network's Linux bridge", async () => {
        const lab = new lib.Network("lab3");
        const v = new lib.VethAttachment("x-eth0", { container: "x", bridge: lab, address: "10.9.0.5/24", defaultRoute: false });
        await settle(v.hostIfName);
        const r = registered.find((x) => x.name === "x-eth0")!;
        assert.equal(r.inputs.bridge, "br-lab3");
        assert.equal(r.inputs.defaultRoute, false);
    });

    it("Sandbox: a --net=none holder that restarts with Docker, its attachments named after it, members joining it by container:", async () => {
        const pod = new lib.Sandbox("pod", {
            image: "hostnet/busybox:1",
            attachments: {
                eth0: { bridge: "docker0", address: "172.17.0.9/16" },
                net1: { bridge: "br1", address: "10.1.0.2/24", defaultRoute: false },
            },
        });
        const app = pod.addContainer("app", { image: "hostnet/busybox:1", command: ["httpd", "-f"] });
        await settle(app.containerId);
        const holder = registered.find((r) => r.name === "pod" && r.type.endsWith("DockerContainer"))!;
        assert.equal(holder.inputs.networkMode, "none");
        assert.deepEqual(holder.inputs.command, ["sleep", "2147483647"]);
        assert.equal(holder.inputs.restartPolicy, "unless-stopped");
        const eth0 = registered.find((r) => r.name === "pod-eth0")!;
        assert.equal(eth0.inputs.container, "pod-id");
        assert.equal(eth0.inputs.containerIfName, "eth0");
        assert.equal(registered.find((r) => r.name === "pod-net1")!.inputs.containerIfName, "net1");
        const member = registered.find((r) => r.name === "app" && r.type.endsWith("DockerContainer"))!;
        assert.equal(member.inputs.networkMode, "container:pod-id");
        assert.equal(pod.networkMode, "none");
    });

    it("Sandbox members refuse network and ports: they use the sandbox's", () => {
        const pod = new lib.Sandbox("pod2", { image: "hostnet/busybox:1" });
        assert.throws(() => pod.addContainer("m", { image: "hostnet/busybox:1", ports: ["8080:80"] } as any), {
            message:
                'invalid Sandbox "pod2" member "m":\n  - `ports` cannot be set: a member uses the sandbox\'s network namespace, where Docker publishes no ports; reach it at the sandbox\'s attachment addresses',
        });
        assert.throws(
            () => pod.addContainer("m", { image: "hostnet/busybox:1", network: { mode: "bridge" } } as any),
            /`network` cannot be set/,
        );
    });
});
