// The example stack: every `docker run --net` mode side by side, plus the
// seed's manual procedure (../shared/seed/README.md, section 4) as desired
// state. Dual-stack: everything made here has an IPv6 address beside its IPv4
// one (docker0 has fd17:ac11::1/64 from the project's dockerd, see
// scripts/start-docker.sh).
//
//   seed      --net=none, given eth0 on docker0 by a VethAttachment (the seed)
//   web       --net=bridge (docker0), port 80 published on 127.0.0.1
//   hostns    --net=host
//   sidecar   --net=container:web
//   api, cli  a user-defined network, talking to each other by name
//   web       also joined to that network by a NetworkAttachment (not recreated)
//   isolated  --net=none, attached to a Linux bridge the stack creates
//   seed <-> isolated   a veth link straight between the two namespaces
//   policy    cli may not open web's HTTP port (an nftables table of the stack's)
//   probes    one path per --net mode checked at every up and refresh, and the
//             policy's: cli -> web:80 blocked, api -> web:80 reachable
//
// Configuration (`bin/pulumi config set KEY VALUE`), with defaults:
//   address 172.17.0.3/16   bridge docker0   gateway (the bridge's address)
//   address6 fd17:ac11::3/64 (the seed's IPv6 address on docker0; `none`: IPv4 only)
//   ipv6Gateway (the bridge's IPv6 address)
//   image hostnet/busybox:1 webPort 18080    labSubnet 10.10.0.0/24
//   labSubnet6 fd17:10::/64 (the lab network's IPv6 subnet; api ::10, cli ::11)
//   lanAddress 10.20.0.1/24 (the created bridge's; isolated gets .2)
//   lanAddress6 fd17:20::1/64 (the created bridge's IPv6 address; isolated gets ::2)
//   webLabHost 20           (web's host number on the lab network, IPv4 and IPv6)
//   webMode bridge          (or `lab`: web created on the lab network itself,
//                           with no NetworkAttachment; changing it replaces web)
//   cliDeniedPorts 80       (web's tcp ports cli may not open, comma-separated)
//   seedEgressRate          (unset: a cap on what the seed sends, like 10mbit)

import * as pulumi from "@pulumi/pulumi";
import { Bridge, Container, Network, NetworkAttachment, Policy, Probe, ProbeArgs, VethAttachment, VethLink } from "pulumi-hostnet";

const config = new pulumi.Config();
const image = config.get("image") ?? "hostnet/busybox:1";
const sleep = ["sleep", "2147483647"];
const webPort = config.getNumber("webPort") ?? 18080;
const labSubnet = config.get("labSubnet") ?? "10.10.0.0/24";
const lab24 = labSubnet.split(".").slice(0, 3).join(".");
const lanAddress = config.get("lanAddress") ?? "10.20.0.1/24";
const webLabHost = config.getNumber("webLabHost") ?? 20;
const lan24 = lanAddress.split(".").slice(0, 3).join(".");
const webMode = config.get("webMode") ?? "bridge";
if (webMode !== "bridge" && webMode !== "lab") throw new Error(`\`webMode\` must be bridge or lab; got "${webMode}"`);
const cliDeniedPorts = (config.get("cliDeniedPorts") ?? "80").split(",").map((p) => Number(p.trim()));
// IPv6: a /64 each, written with their prefix length; `::` ends the prefix the host numbers follow.
const address6 = config.get("address6") ?? "fd17:ac11::3/64";
const labSubnet6 = config.get("labSubnet6") ?? "fd17:10::/64";
const lab6 = labSubnet6.split("/")[0];
const lanAddress6 = config.get("lanAddress6") ?? "fd17:20::1/64";
const lan6 = lanAddress6.split("/")[0].replace(/[0-9a-f]+$/i, "");

// --net=none, attached by hand: the seed, dual-stack.
const seed = new Container("seed", { image, command: sleep, network: { mode: "none" } });
const seedAddress = config.get("address") ?? "172.17.0.3/16";
const seedEth0 = new VethAttachment("seed-eth0", {
    container: seed,
    bridge: config.get("bridge") ?? "docker0",
    addresses: address6 === "none" ? [seedAddress] : [seedAddress, address6],
    gateway: config.get("gateway"),
    ipv6Gateway: config.get("ipv6Gateway"),
    // What the seed may send, when set (tc's units: "10mbit"); none by default.
    ...(config.get("seedEgressRate") ? { bandwidth: { egressRate: config.get("seedEgressRate") } } : {}),
});

// A user-defined dual-stack network; two containers reach each other by name.
const lab = new Network("lab", { subnet: labSubnet, gateway: `${lab24}.1`, ipv6Subnet: labSubnet6 });
const webOnLabEndpoint = {
    network: lab,
    ipv4Address: `${lab24}.${webLabHost}`,
    ipv6Address: `${lab6}${webLabHost}`,
    aliases: ["www"],
};

// --net=bridge, with a published port (or, with webMode lab, on the lab network).
const web = new Container("web", {
    image,
    command: ["sh", "-c", "echo hostnet > /var/www/index.html && exec httpd -f -p 80 -h /var/www"],
    network: webMode === "lab" ? { mode: "networks", networks: [webOnLabEndpoint] } : { mode: "bridge" },
    ports: [`127.0.0.1:${webPort}:80`],
    restartPolicy: "unless-stopped",
});

// --net=host and --net=container:web.
const hostns = new Container("hostns", { image, command: sleep, network: { mode: "host" } });
const sidecar = new Container("sidecar", { image, command: sleep, network: { mode: "container", container: web } });

const api = new Container("api", {
    image,
    command: sleep,
    network: { mode: "networks", networks: [{ network: lab, ipv4Address: `${lab24}.10`, ipv6Address: `${lab6}10`, aliases: ["api"] }] },
});
const cli = new Container("cli", {
    image,
    command: sleep,
    network: { mode: "networks", networks: [{ network: lab, ipv4Address: `${lab24}.11`, ipv6Address: `${lab6}11` }] },
});

// web joins the lab network too, without being recreated.
const webOnLab = webMode === "bridge" ? new NetworkAttachment("web-lab", { container: web, ...webOnLabEndpoint }) : undefined;

// A Linux bridge made by the stack, and docker0 adopted (never deleted).
const lan = new Bridge("lan", { addresses: [lanAddress, lanAddress6] });
const docker0 = new Bridge("docker0", { name: "docker0", adopt: true });

// A --net=none container on the stack's bridge, and a link between it and the seed.
const isolated = new Container("isolated", { image, command: sleep, network: { mode: "none" } });
const isolatedEth0 = new VethAttachment("isolated-eth0", {
    container: isolated,
    bridge: lan.name,
    addresses: [`${lan24}.2/24`, `${lan6}2/64`],
});
const link = new VethLink(
    "seed-isolated",
    {
        a: { container: seed, ifName: "eth1", addresses: ["10.30.0.1/30", "fd17:30::1/64"] },
        b: { container: isolated, ifName: "eth1", addresses: ["10.30.0.2/30", "fd17:30::2/64"] },
    },
    { dependsOn: [seedEth0, isolatedEth0] },
);

// Who may talk to whom: cli may not open web's HTTP port (api may). A deny holds whatever else the
// host's firewall says; Docker's own isolation between its networks stays as it is.
const policy = new Policy("policy", {
    rules: [{ action: "deny", from: cli, to: web, protocol: "tcp", ports: cliDeniedPorts, comment: "cli may not use web" }],
});

// Probes: one path per --net mode, and the policy's, checked at every up (the up fails naming a
// probe that does not hold) and every refresh (a broken path is drift).
const probe = (name: string, args: ProbeArgs) => [name, new Probe(name, args)] as const;
const probes = Object.fromEntries([
    probe("seed-gateway", { from: seed, to: "172.17.0.1" }), // none + VethAttachment -> docker0's address
    // With web on lab (webMode lab) these two cross from docker0 to another Docker network: Docker keeps them apart.
    probe("seed-web", { from: seed, to: web, port: 80, expect: webMode === "lab" ? "blocked" : "reachable" }), // none + VethAttachment -> bridge
    probe("web-seed", { from: web, to: seedEth0, expect: webMode === "lab" ? "blocked" : "reachable" }), // bridge -> the seed's attachment
    probe("hostns-web", { from: hostns, to: web, port: 80 }), // host -> bridge
    probe("sidecar-web", { from: sidecar, to: "127.0.0.1:80" }), // container:web -> web's own port
    probe("cli-api", { from: cli, to: api }), // user-defined network, both ways by name
    probe("api-web", { from: api, to: web, port: 80 }), // a network -> web's NetworkAttachment (or web on lab)
    probe("cli-seed", { from: cli, to: seedEth0, expect: "blocked" }), // Docker keeps lab and docker0 apart
    probe("seed-link", { from: seed, to: "10.30.0.2" }), // the veth link
    probe("isolated-lan", { from: isolated, to: lanAddress.split("/")[0] }), // none + VethAttachment on the stack's bridge
    probe("cli-web", { from: cli, to: web, port: 80, expect: "blocked" }), // the policy
]);

// What `docker ps`, `docker network ls` and `brctl show` would say of this stack.
export const containers = {
    seed: seed.containerName,
    web: web.containerName,
    hostns: hostns.containerName,
    sidecar: sidecar.containerName,
    api: api.containerName,
    cli: cli.containerName,
    isolated: isolated.containerName,
};
export const networks = [
    { name: lab.name, id: lab.networkId, driver: "bridge", subnet: labSubnet, ipv6Subnet: labSubnet6, bridge: lab.bridge },
];
export const bridges = {
    [String(config.get("bridge") ?? "docker0")]: { adopted: docker0.adopted, interfaces: [seedEth0.hostIfName] },
    lan: { name: lan.name, adopted: lan.adopted, addresses: lan.addresses, interfaces: [isolatedEth0.hostIfName] },
};
export const seedAttachment = {
    container: seed.containerName,
    hostInterface: seedEth0.hostIfName,
    bridge: seedEth0.bridge,
    addresses: seedEth0.addresses,
    gateway: seedEth0.effectiveGateway,
    ipv6Gateway: seedEth0.effectiveIpv6Gateway,
};
export const webUrl = `http://127.0.0.1:${webPort}/`;
export const webOnLabAddress = webOnLab?.address ?? webOnLabEndpoint.ipv4Address;
export const webOnLabIpv6Address = webOnLab?.globalIpv6Address ?? webOnLabEndpoint.ipv6Address;
export const linkEnds = { a: link.a, b: link.b };
export const policyTable = policy.table;
export const probeResults = Object.fromEntries(Object.entries(probes).map(([name, p]) => [name, p.outcome]));
