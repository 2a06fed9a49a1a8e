// A Docker swarm over several hosts, and one overlay network across them:
// `containers` containers on each host, each with a static address and an
// alias on the overlay, so that every container reaches every other by name
// whatever host it is on. Pulumi runs on this machine (the controller) and
// reaches every host over SSH; each host's Docker engine joins the swarm (the
// first as the manager that makes it, the others as workers unless listed in
// `managers`).
//
//   bin/pulumi config set --path 'hosts.b' 10.0.0.2     # name -> SSH address (also the address the node advertises)
//   bin/pulumi config set --path 'hosts.c' 10.0.0.3
//   bin/pulumi config set --path 'hosts.d' 10.0.0.4
//   bin/pulumi config set privateKeyPath /root/.ssh/id_ed25519
//   bin/pulumi config set knownHostsPath /root/.ssh/known_hosts
//   bin/pulumi up                                         # then: docker exec hn-<stack>-b-c0 ping d-c0 (on b)
//
// Taking a host out of `hosts` drains it, makes it leave and removes it from
// the swarm (its containers first); putting it back joins it again.

import * as pulumi from "@pulumi/pulumi";
import { Container, Host, Network, Swarm } from "pulumi-hostnet";

const config = new pulumi.Config();
const hosts = config.requireObject<Record<string, string>>("hosts");
const privateKeyPath = config.get("privateKeyPath");
const knownHostsPath = config.get("knownHostsPath");
const managers = config.getObject<string[]>("managers") ?? [];
const containers = config.getNumber("containers") ?? 1;
const overlay = config.get("overlay") ?? "10.90.0"; // the overlay's /24, without its last byte
const encrypted = config.getBoolean("encrypted") ?? false;
const image = config.get("image") ?? "hostnet/busybox:1";

const names = Object.keys(hosts);
if (names.length > 5 || containers > 48) {
    throw new Error("this example numbers containers in one /24: at most 5 hosts and 48 containers per host");
}
const nodes = names.map((name) => ({ name, host: new Host(name, { ssh: { host: hosts[name], privateKeyPath, knownHostsPath } }) }));

// The first host makes the swarm (and is its first manager); the ssh address is the one each node advertises.
const swarm = new Swarm("sw", {
    nodes: nodes.map(({ name, host }, i) => ({
        host,
        role: i === 0 || managers.includes(name) ? "manager" : "worker",
        labels: { "example.hostnet/site": name },
    })),
});

// Swarm hands every node an address of its own on the overlay (its load
// balancer's) from the addresses it allocates itself: without a range, the
// manager's takes .2 and a container given .2 cannot start ("Address already
// in use"). Docker's own addresses come from .192/26; the static ones below
// stay under it.
const net = new Network("ov", { swarm, subnet: `${overlay}.0/24`, gateway: `${overlay}.1`, ipRange: `${overlay}.192/26`, encrypted });

export const addresses: Record<string, pulumi.Output<string>[]> = {};
nodes.forEach(({ name, host }, i) => {
    addresses[name] = [];
    for (let j = 0; j < containers; j++) {
        const node = `${name}-c${j}`;
        // By the host's place in `hosts`: b-c0 is .2, c-c0 .52, d-c0 .102 (taking out the last host moves no one).
        const address = `${overlay}.${i * 50 + j + 2}`;
        const c = new Container(
            node,
            {
                image,
                command: ["sleep", "2147483647"],
                network: { mode: "networks", networks: [{ network: net, ipv4Address: address, aliases: [node] }] },
            },
            { parent: host },
        );
        addresses[name].push(pulumi.interpolate`${c.containerName} ${address} (${node})`);
    }
});
export const clusterId = swarm.clusterId;
export const nodeIds = swarm.nodeIds;
export const vni = net.vni;
