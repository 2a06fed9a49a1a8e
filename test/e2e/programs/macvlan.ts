// A Pulumi program for the macvlan e2e test (test/e2e/macvlan.test.ts): a
// Docker macvlan network on a host interface (`parent`, a veth end the test
// makes) with two containers at static addresses, and two `--net=none`
// containers given macvlans of the same parent by MacvlanAttachment, one
// with a default route through the LAN's router (the wire's far end).

import * as pulumi from "@pulumi/pulumi";
import { Container, MacvlanAttachment, Network } from "pulumi-hostnet";

const config = new pulumi.Config();
const parent = config.require("parent");
const net = config.require("net"); // the LAN's first three octets: its subnet is <net>.0/24, its router <net>.100
const image = "hostnet/busybox:1";
const command = ["sleep", "2147483647"];

const lan = new Network("lan", {
    driver: "macvlan",
    parent,
    subnet: `${net}.0/24`,
    gateway: `${net}.100`,
    ipRange: `${net}.128/25`,
});
const onLan = (name: string, host: number) =>
    new Container(name, { image, command, network: { mode: "networks", networks: [{ network: lan, ipv4Address: `${net}.${host}` }] } });
const web = onLan("web", 10);
const api = onLan("api", 11);

const probe = new Container("probe", { image, command });
const probe2 = new Container("probe2", { image, command });
const probeLan = new MacvlanAttachment("probe-lan", {
    container: probe,
    parent,
    address: config.get("probeAddress") ?? `${net}.20/24`,
    gateway: `${net}.100`,
});
new MacvlanAttachment("probe2-lan", { container: probe2, parent, addresses: [`${net}.21/24`] });

export const network = lan.name;
export const containers = { web: web.containerName, api: api.containerName, probe: probe.containerName, probe2: probe2.containerName };
export const probeAddresses = probeLan.addresses;
