// Containers on several Docker hosts, on one L2 segment: on each host a
// bridge, `containers` containers with an interface on it, and a VXLAN tunnel
// from each host's bridge to the next host's (a chain: b - c - d; a ring would
// loop frames without STP). Pulumi runs on this machine (the controller) and
// reaches every host over SSH. With no `hosts`, everything is on this machine.
//
//   bin/pulumi config set --path 'hosts.b' 10.0.0.2     # name -> SSH address (also the underlay address)
//   bin/pulumi config set --path 'hosts.c' 10.0.0.3
//   bin/pulumi config set privateKeyPath /root/.ssh/id_ed25519
//   bin/pulumi config set knownHostsPath /root/.ssh/known_hosts
//   bin/pulumi up
//
// Dual-stack and an IPv6 underlay (both optional):
//   bin/pulumi config set --path 'underlays.b' fd00:250:7::2   # the tunnel's address of each host (default: its SSH address)
//   bin/pulumi config set --path 'underlays.c' fd00:250:7::3
//   bin/pulumi config set overlay6 fd17:77::                    # the containers get an IPv6 address in this /64 too

import * as pulumi from "@pulumi/pulumi";
import { Bridge, Container, Host, VethAttachment, VxlanLink } from "pulumi-hostnet";

const config = new pulumi.Config();
const hosts = config.getObject<Record<string, string>>("hosts") ?? {};
const privateKeyPath = config.get("privateKeyPath");
const privateKey = config.getSecret("privateKey"); // or the key itself: `config set --secret privateKey < key`
const knownHostsPath = config.get("knownHostsPath");
const containers = config.getNumber("containers") ?? 1;
const underlays = config.getObject<Record<string, string>>("underlays") ?? {};
const overlay = config.get("overlay") ?? "10.77.0"; // the segment's /24, without its last byte
const overlay6 = config.get("overlay6"); // the segment's IPv6 /64 prefix, ending in "::" (e.g. fd17:77::): dual-stack
const vni = config.getNumber("vni") ?? 42;
const tunnelMtu = config.getNumber("tunnelMtu"); // default: the underlay's MTU - 50 (70 over IPv6)
const image = config.get("image") ?? "hostnet/busybox:1";

interface Site {
    name: string;
    host?: Host;
    address?: string;
    bridge: Bridge;
}

const names = Object.keys(hosts);
const sites: Site[] = (names.length > 0 ? names : ["local"]).map((name) => {
    const host = names.length > 0 ? new Host(name, { ssh: { host: hosts[name], privateKeyPath, privateKey, knownHostsPath } }) : undefined;
    // Everything created with `{ parent: host }` lives on that host.
    const bridge = new Bridge(`${name}-br`, {}, { parent: host });
    return { name, host, address: underlays[name] ?? hosts[name], bridge };
});

// One VXLAN tunnel between each pair of neighbours, each with its own VNI (a host in
// the middle has two tunnels on one UDP port: the kernel tells them apart by VNI).
// The containers' MTU is the tunnels'.
const links = sites.slice(1).map(
    (site, i) =>
        new VxlanLink(`${sites[i].name}-${site.name}`, {
            vni: vni + i,
            mtu: tunnelMtu,
            a: { bridge: sites[i].bridge, underlay: sites[i].address! },
            b: { bridge: site.bridge, underlay: site.address! },
        }),
);
const mtu = links.length > 0 ? links[0].effectiveMtu : undefined;

export const addresses: Record<string, pulumi.Output<string>[]> = {};
sites.forEach((site, i) => {
    addresses[site.name] = [];
    for (let j = 0; j < containers; j++) {
        const name = `${site.name}-c${j}`;
        const address = `${overlay}.${i * 50 + j + 2}/24`;
        const c = new Container(name, { image, command: ["sleep", "2147483647"] }, { parent: site.host });
        // Dual-stack with `overlay6`: the same host number in the IPv6 /64.
        const addressing = overlay6 ? { addresses: [address, `${overlay6}${(i * 50 + j + 2).toString(16)}/64`] } : { address };
        const eth0 = new VethAttachment(
            `${name}-eth0`,
            { container: c, bridge: site.bridge, ...addressing, defaultRoute: false, mtu },
            { parent: site.host },
        );
        const given = pulumi.all([eth0.address, eth0.addresses]).apply(([one, list]) => (list ?? [one]).join(" "));
        addresses[site.name].push(pulumi.interpolate`${c.containerName} ${given}`);
    }
});
export const tunnels = links.map((l) => pulumi.interpolate`${l.a.ifName} <-> ${l.b.ifName} (VNI ${l.vni}, MTU ${l.effectiveMtu})`);
