// A lab over three hosts from one YAML file (topology.yaml): a Host per
// machine, reached over SSH, given to the Topology by the names the file's
// `host:` fields use; the bridges' VXLAN tunnels take each host's SSH address
// as its underlay address.
//
//   bin/pulumi config set --path 'hosts.b' 10.0.0.2
//   bin/pulumi config set --path 'hosts.c' 10.0.0.3
//   bin/pulumi config set --path 'hosts.d' 10.0.0.4
//   bin/pulumi config set privateKeyPath /root/.ssh/id_ed25519
//   bin/pulumi config set knownHostsPath /root/.ssh/known_hosts
//   bin/pulumi up      # then: hostnet topology --host b=10.0.0.2 --host c=10.0.0.3 --host d=10.0.0.4 --svg lab.svg

import * as pulumi from "@pulumi/pulumi";
import { Host, Topology } from "pulumi-hostnet";

const config = new pulumi.Config();
const hosts = config.requireObject<Record<string, string>>("hosts");
const privateKeyPath = config.get("privateKeyPath");
const knownHostsPath = config.get("knownHostsPath");
const net = config.get("net") ?? "10.88.0"; // the segment's /24, without its last byte

const lab = new Topology("lab", {
    file: "topology.yaml",
    vars: { net, image: config.get("image") ?? "hostnet/busybox:1" },
    hosts: Object.fromEntries(
        Object.entries(hosts).map(([name, address]) => [name, new Host(name, { ssh: { host: address, privateKeyPath, knownHostsPath } })]),
    ),
});

export const containers = Object.fromEntries(Object.entries(lab.nodes).map(([k, c]) => [k, c.containerName]));
