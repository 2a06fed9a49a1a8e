// The example stack: the seed's manual procedure (section 4 of
// ../shared/seed/README.md) as desired state. A container started with
// `--net=none`, then given an `eth0` on docker0 by a VethAttachment.
//
//   pulumi config set address 172.17.0.3/16     (default)
//   pulumi config set bridge docker0            (default)
//   pulumi config set gateway 172.17.0.1        (default: the bridge's address)

import * as pulumi from "@pulumi/pulumi";
import { Container, VethAttachment } from "./components";

const config = new pulumi.Config();

const seed = new Container("seed", {
    image: config.get("image") ?? "hostnet/busybox:1",
    command: ["sleep", "2147483647"],
    network: { mode: "none" },
});

const eth0 = new VethAttachment("seed-eth0", {
    container: seed.containerId,
    bridge: config.get("bridge") ?? "docker0",
    address: config.get("address") ?? "172.17.0.3/16",
    gateway: config.get("gateway"),
});

export const container = seed.containerName;
export const containerId = seed.containerId;
export const hostInterface = eth0.hostIfName;
export const bridge = eth0.bridge;
export const address = eth0.address;
export const gateway = eth0.effectiveGateway;
