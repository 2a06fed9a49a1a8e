// A small lab on this host, built with pulumi-hostnet as any other stack
// installs it (from the packed tarball, see README.md):
//
//   api, cli   a user-defined Docker network, reaching each other by name
//              (from topology.yaml, expanded by the package's Topology)
//   lan        a Linux bridge the stack creates
//   isolated   --net=none, given eth0 on lan by a VethAttachment
//   api <-> isolated   a veth pair straight between the two (eth1 each)
//
// Configuration (`pulumi config set KEY VALUE`), with defaults:
//   labSubnet 10.40.0.0/24     the network of api (.10) and cli (.11)
//   lanAddress 10.41.0.1/24    the bridge's address; isolated gets .2
//   linkSubnet 10.42.0.0/30    the link: api .1, isolated .2
//   image hostnet/busybox:1    a locally present image

import * as pulumi from "@pulumi/pulumi";
import { Bridge, Container, Topology, VethAttachment, VethLink } from "pulumi-hostnet";

const config = new pulumi.Config();
const image = config.get("image") ?? "hostnet/busybox:1";
const labSubnet = config.get("labSubnet") ?? "10.40.0.0/24";
const lanAddress = config.get("lanAddress") ?? "10.41.0.1/24";
const linkSubnet = config.get("linkSubnet") ?? "10.42.0.0/30";
/** The first three octets of an address or subnet: `10.40.0`. */
const first3 = (cidr: string) => cidr.split(".").slice(0, 3).join(".");
/** The address `n` hosts further in the last octet: `10.42.0.0/30`, 2 -> `10.42.0.2/30`. */
const host = (subnet: string, n: number) => {
    const [address, prefix] = subnet.split("/");
    return `${first3(address)}.${Number(address.split(".")[3]) + n}/${prefix}`;
};

// The network and its two containers, as data.
const lab = new Topology("lab", { file: "topology.yaml", vars: { image, labSubnet, lab24: first3(labSubnet) } });
const api = lab.nodes["api"];

// A bridge of the stack's own and a --net=none container attached to it.
const lan = new Bridge("lan", { addresses: [lanAddress] });
const isolated = new Container("isolated", { image, command: ["sleep", "2147483647"], network: { mode: "none" } });
const isolatedEth0 = new VethAttachment("isolated-eth0", { container: isolated, bridge: lan, address: host(lanAddress, 1) });

// A cable between api and isolated: no bridge in between.
const link = new VethLink("api-isolated", {
    a: { container: api, ifName: "eth1", address: host(linkSubnet, 1) },
    b: { container: isolated, ifName: "eth1", address: host(linkSubnet, 2) },
});

export const containers = {
    api: api.containerName,
    cli: lab.nodes["cli"].containerName,
    isolated: isolated.containerName,
};
export const network = { name: lab.networks["net"].name, bridge: lab.networks["net"].bridge, subnet: labSubnet };
export const bridge = { name: lan.name, addresses: lan.addresses, interfaces: [isolatedEth0.hostIfName] };
export const linkEnds = { a: link.a, b: link.b };
