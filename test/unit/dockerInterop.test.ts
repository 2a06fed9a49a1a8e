// @pulumi/docker resources given to this library's resources, under mocks:
// a docker.Container or docker.Network passed where a container or network is
// expected gives its Docker id as the input, and the registration depends on
// it (read from the request the program sends to the resource monitor, which
// is where Pulumi carries dependencies). @pulumi/docker's provider plugin is
// not run: mocks answer for it. Proof limit: nothing here touches Docker.

import * as assert from "node:assert/strict";
import * as docker from "@pulumi/docker";
import { drain, recordingMocks, Registration, settle, registrationOf } from "../helpers/mocks";

/** Docker-like ids: 64 hex digits, distinct per resource name. */
function dockerId(name: string): string {
    return Buffer.from(name).toString("hex").padEnd(64, "0").slice(0, 64);
}

describe("@pulumi/docker resources as containers and networks, under mocks", () => {
    let lib: typeof import("../../components/src");
    let registered: Registration[];

    const registration = (resource: { urn: import("@pulumi/pulumi").Output<string> }) => registrationOf(registered, resource);

    before(async () => {
        registered = await recordingMocks("proj", "stk", (args) => ({
            id: args.type.startsWith("docker:") ? dockerId(args.name) : `${args.name}-id`,
            state: { ...args.inputs, containerId: `${args.name}-cid`, networkId: `${args.name}-nid`, bridge: `br-${args.name}` },
        }));
        lib = await import("../../components/src");
    });

    it("VethAttachment takes a docker.Container: its id as `container`, and a dependency on it", async () => {
        const box = new docker.Container("box", { image: "hostnet/busybox:1", networkMode: "none", command: ["sleep", "1d"] });
        const v = new lib.VethAttachment("box-eth0", { container: box, bridge: "docker0", address: "172.17.0.5/16" });
        const boxUrn = await settle(box.urn);
        const r = await registration(v);
        assert.equal(r.type, "pulumi-nodejs:dynamic/hostnet:VethAttachment");
        assert.equal(r.inputs.container, dockerId("box"));
        assert.deepEqual(r.propertyDependencies.container, [boxUrn]);
        assert.ok(r.dependencies.includes(boxUrn));
    });

    it("VethAttachment takes a docker.Network as `bridge`: Docker's br-<id> name, or its bridge.name option", async () => {
        const net = new docker.Network("net", { driver: "bridge" });
        const named = new docker.Network("named", { driver: "bridge", options: { "com.docker.network.bridge.name": "hn-named0" } });
        const onNet = await registration(new lib.VethAttachment("on-net", { container: "c1", bridge: net, address: "10.1.0.5/24" }));
        const onNamed = await registration(new lib.VethAttachment("on-named", { container: "c2", bridge: named, address: "10.2.0.5/24" }));
        assert.equal(onNet.inputs.bridge, `br-${dockerId("net").slice(0, 12)}`);
        assert.equal(onNamed.inputs.bridge, "hn-named0");
        assert.deepEqual(onNet.propertyDependencies.bridge, [await settle(net.urn)]);
        assert.deepEqual(onNamed.propertyDependencies.bridge, [await settle(named.urn)]);
    });

    it("VethLink takes docker.Containers at both ends", async () => {
        const a = new docker.Container("end-a", { image: "hostnet/busybox:1", networkMode: "none" });
        const b = new docker.Container("end-b", { image: "hostnet/busybox:1", networkMode: "none" });
        const r = await registration(
            new lib.VethLink("a-b", { a: { container: a, ifName: "eth1", address: "10.30.0.1/30" }, b: { container: b, ifName: "eth1" } }),
        );
        assert.deepEqual([r.inputs.a.container, r.inputs.b.container], [dockerId("end-a"), dockerId("end-b")]);
        const urns = [await settle(a.urn), await settle(b.urn)];
        assert.deepEqual(r.propertyDependencies.a, [urns[0]]);
        assert.deepEqual(r.propertyDependencies.b, [urns[1]]);
        assert.ok(urns.every((u) => r.dependencies.includes(u)));
    });

    it("NetworkAttachment takes a docker.Container and a docker.Network", async () => {
        const web = new docker.Container("web", { image: "hostnet/busybox:1" });
        const lab = new docker.Network("lab", { driver: "bridge" });
        const r = await registration(new lib.NetworkAttachment("web-lab", { container: web, network: lab, aliases: ["www"] }));
        assert.equal(r.inputs.container, dockerId("web"));
        assert.equal(r.inputs.network, dockerId("lab"));
        assert.deepEqual(r.propertyDependencies.container, [await settle(web.urn)]);
        assert.deepEqual(r.propertyDependencies.network, [await settle(lab.urn)]);
    });

    it("Container shares a docker.Container's namespace (container:<id>) and joins a docker.Network, depending on both", async () => {
        const main = new docker.Container("main", { image: "hostnet/busybox:1" });
        const lab = new docker.Network("lab2", { driver: "bridge" });
        const side = new lib.Container("side", { image: "hostnet/busybox:1", network: { mode: "container", container: main } });
        const member = new lib.Container("member", {
            image: "hostnet/busybox:1",
            network: { mode: "networks", networks: [{ network: lab }] },
        });
        await Promise.all([settle(side.containerId), settle(member.containerId)]);
        await drain();
        const child = (name: string) => registered.find((x) => x.name === name && x.type.endsWith(":DockerContainer"))!;
        assert.equal(child("side").inputs.networkMode, `container:${dockerId("main")}`);
        assert.deepEqual(child("side").propertyDependencies.networkMode, [await settle(main.urn)]);
        assert.equal(child("member").inputs.networkMode, dockerId("lab2"));
        assert.deepEqual(child("member").inputs.networks, [{ network: dockerId("lab2") }]);
        assert.ok(child("member").dependencies.includes(await settle(lab.urn)));
    });
});
