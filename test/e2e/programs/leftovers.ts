// The program of the leftovers suite (test/e2e/leftovers.test.ts): one
// resource for every kind of object the library marks, so that a `pulumi up`
// killed at any point leaves some of each. Configuration:
//   tag       a short unique prefix: every name the program gives starts with it
//   net       the first two octets of the addresses (a /16 of the test's own)
//   shared    an existing bridge (the test's), adopted with an address added
//   keep      "all" (default), "bridge" (only the created Bridge), or "none" (an empty program)

import { Config } from "@pulumi/pulumi";
import { Bridge, Container, Network, NetworkAttachment, VethAttachment, VethLink } from "pulumi-hostnet";

const config = new Config();
const tag = config.require("tag");
const net = config.require("net");
const keep = config.get("keep") ?? "all";
const image = "hostnet/busybox:1";
const command = ["sleep", "2147483647"];

export const names: Record<string, unknown> = {};

if (keep !== "none") {
    // A created bridge: an interface, and its forwarding rule.
    const lan = new Bridge("lan", { name: `${tag}-br`, addresses: [`${net}.1.1/24`] });
    names.bridge = lan.name;
    if (keep === "all") {
        // An adopted bridge: an address added to it, recorded on the host.
        new Bridge("shared", { name: config.require("shared"), adopt: true, addresses: [`${net}.2.5/24`] });
        // Containers, a veth onto the created bridge, a veth link between two containers.
        const box = new Container("box", { name: `${tag}-box`, image, command });
        const peer = new Container("peer", { name: `${tag}-peer`, image, command });
        new VethAttachment("box-eth0", { container: box, bridge: lan, address: `${net}.1.2/24`, hostIfName: `${tag}-va` });
        new VethLink("box-peer", {
            a: { container: box, ifName: "eth1", address: `${net}.3.1/30` },
            b: { container: peer, ifName: "eth1", address: `${net}.3.2/30` },
        });
        // A network, and a container of --net=bridge joined to it: a connection.
        const lab = new Network("lab", { name: `${tag}-lab`, subnet: `${net}.4.0/24`, bridgeName: `${tag}-lab` });
        const web = new Container("web", { name: `${tag}-web`, image, command, network: { mode: "bridge" } });
        new NetworkAttachment("web-lab", { container: web, network: lab, ipv4Address: `${net}.4.20` });
    }
}
