// Network: a user-defined Docker network, of driver bridge (on one host),
// macvlan or ipvlan (on a host interface's LAN), or overlay (across the hosts
// of a Swarm). The resource class and its arguments; the engine side is
// engine/providers/network.ts.
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { defaultDockerName } from "../common/naming";
import { SUBLINK_MODES, SublinkKind } from "../common/specs/macvlanAttachment";
import { checkNetworkInputs } from "../common/specs/network";
import { staticAddressFailure } from "../common/validation";
import { engineResource } from "./engineResource";
import { HostRef, rememberHost, rememberHostSet, resolveHost, ResolvedHost } from "./host";
import { ParentRef, parentNameOf, SublinkMode } from "./macvlanAttachment";
import { checkPromptly, ownerOf, refuse } from "./promptCheck";
import type { Swarm } from "./swarm";

export interface NetworkArgs {
    /** Docker network name. Default `hn-<stack>-<resource name>`. */
    name?: pulumi.Input<string>;
    /**
     * Docker's network driver. `bridge`: a Linux bridge on the host,
     * containers behind NAT. `macvlan`: each container gets a macvlan of
     * `parent`, with a MAC of its own, straight on that interface's LAN (the
     * host itself cannot reach them through `parent`: the kernel passes no
     * frames between a parent and its macvlans). `ipvlan`: the same with the
     * parent's MAC (refused at preview on a kernel without ipvlan).
     * `overlay`: a network across the hosts of `swarm` (VXLAN between them,
     * made and kept by Docker). Default: `overlay` when `swarm` is given, else
     * `bridge`. Changing it replaces the network.
     */
    driver?: "bridge" | "overlay" | SublinkKind;
    /**
     * macvlan and ipvlan: the host interface on the LAN (Docker's `parent`): a
     * name, or a Bridge. Required on a kernel without dummy links (Docker
     * would make a dummy parent for an isolated network); a name like
     * `eth0.10` that does not exist is made by Docker as VLAN 10 of `eth0`
     * (refused at preview on a kernel without 802.1Q VLANs). Changing it
     * replaces the network.
     */
    parent?: ParentRef;
    /**
     * macvlan: `bridge` (default), `private`, `vepa`, `passthru`; ipvlan: `l2`
     * (default), `l3`, `l3s`. See MacvlanAttachmentArgs.mode. Changing it
     * replaces the network.
     */
    mode?: SublinkMode;
    /**
     * Overlay: the Swarm the network spans. It is made on the swarm's first
     * manager; Containers on any host of the swarm join it (plain containers,
     * as `docker run --network` does on a swarm node). Changing it replaces the network.
     */
    swarm?: Swarm;
    /** Overlay: plain containers may join (`--attachable`). Default true, and required by this library's Containers. */
    attachable?: pulumi.Input<boolean>;
    /**
     * Overlay: encrypt its traffic between the nodes with IPsec (`--opt
     * encrypted`; ESP with AES-GCM, keys rotated by the managers). Costs CPU
     * on every packet (both ends) and 26 bytes of MTU (Docker gives the
     * containers 1424 instead of 1450 on a 1500 underlay). Needs ESP and
     * AES-GCM in every node's kernel: the preview checks each node and
     * refuses it otherwise.
     * Default false. Changing it replaces the network.
     */
    encrypted?: pulumi.Input<boolean>;
    /** IPv4 subnet, e.g. `10.10.0.0/24`; for macvlan and ipvlan, the LAN's. Default: Docker picks a free one. */
    subnet?: pulumi.Input<string>;
    /** Gateway address, inside `subnet`: the bridge's address; for macvlan and ipvlan, the LAN's router. Default: the subnet's first address. */
    gateway?: pulumi.Input<string>;
    /**
     * Range inside `subnet` for Docker's automatic addresses, e.g. `10.10.0.128/25`;
     * static ones may lie outside. On a macvlan or ipvlan network, a range the
     * LAN's own DHCP server does not hand out (Docker knows nothing of the LAN's
     * other hosts).
     */
    ipRange?: pulumi.Input<string>;
    /**
     * IPv6 on the network (`docker network create --ipv6`): containers get an
     * IPv6 address (and default route) beside their IPv4 one. Default: on
     * when `ipv6Subnet` is given. Docker 20.10 has no pool of IPv6 subnets to
     * pick from unless its daemon was given one (`default-address-pools`):
     * give `ipv6Subnet`. Changing it replaces the network.
     */
    enableIpv6?: pulumi.Input<boolean>;
    /**
     * IPv6 subnet, e.g. a unique local `fd17:10::/64` (host bits zero, up to
     * /126); for macvlan and ipvlan, the LAN's IPv6 prefix. Implies
     * `enableIpv6`. Changing it replaces the network.
     */
    ipv6Subnet?: pulumi.Input<string>;
    /**
     * IPv6 gateway, inside `ipv6Subnet`: the bridge's IPv6 address; for
     * macvlan and ipvlan, the LAN's IPv6 router. Default: its first address
     * (`fd17:10::1`).
     */
    ipv6Gateway?: pulumi.Input<string>;
    /**
     * Range inside `ipv6Subnet` for Docker's automatic IPv6 addresses, e.g.
     * `fd17:10::100/120`; static ones (`ipv6Address` of a container) may lie
     * outside, as may VethAttachments on the network's bridge.
     */
    ipv6Range?: pulumi.Input<string>;
    /** Name of the Linux bridge (`com.docker.network.bridge.name`), at most 15 characters. Default: Docker's `br-<id>`. Driver bridge only. */
    bridgeName?: pulumi.Input<string>;
    /** No route out of the network (`--internal`). Default false. */
    internal?: pulumi.Input<boolean>;
    /** Containers on the network may talk to each other (`enable_icc`). Default true. Driver bridge only (macvlan: `mode: "private"`; an overlay: always). */
    icc?: pulumi.Input<boolean>;
    /** Masquerade traffic leaving the network (`enable_ip_masquerade`). Default true. Driver bridge only. */
    masquerade?: pulumi.Input<boolean>;
    /** MTU of the network's interfaces (`com.docker.network.driver.mtu`). Driver bridge only (a macvlan takes its parent's). */
    mtu?: pulumi.Input<number>;
    /** Labels; names under `io.hostnet.` are reserved. */
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * The host it lives on: a Host, or `{ name?, ssh: { host, port?, user?, privateKeyPath?, knownHostsPath? } }`.
     * Default: the nearest Host among its parents, else this machine; an overlay's is its swarm's first manager.
     * Changing it replaces the resource.
     */
    host?: HostRef;
}

/** The driver, subnet and gateway each Network of this program was declared with. */
const declared = new WeakMap<object, DeclaredSubnet>();

interface DeclaredSubnet {
    /** The Network's resource name. */
    name: string;
    driver: "bridge" | "overlay" | SublinkKind;
    subnet?: pulumi.Input<string>;
    gateway?: pulumi.Input<string>;
    ipv6Subnet?: pulumi.Input<string>;
    ipv6Gateway?: pulumi.Input<string>;
    /** IPv6 on: given, or implied by `ipv6Subnet`. */
    enableIpv6?: pulumi.Input<boolean>;
}

/** The subnet and gateway `ref` was declared with, when it is a Network of this program. */
export function declaredSubnetOf(ref: unknown): DeclaredSubnet | undefined {
    return typeof ref === "object" && ref !== null ? declared.get(ref) : undefined;
}

/**
 * Why static addresses on `ref` cannot be had, when it is a Network of this
 * program whose addressing is known now: an IPv6 address on a network
 * without IPv6, an address outside its subnet, its network, broadcast or
 * gateway address (staticAddressFailure's rule). `at` names the fields,
 * e.g. `network.networks[0]` (then `network.networks[0].ipv4Address`), or
 * "" for the fields themselves (`ipv4Address`). Empty when they can, or
 * when `ref` is not such a Network (the provider's check reads the host).
 */
export function declaredAddressFailures(ref: unknown, at: string, ipv4Address?: unknown, ipv6Address?: unknown): string[] {
    const net = declaredSubnetOf(ref);
    if (!net) return [];
    const reasons: string[] = [];
    for (const [field, address, subnet, gw] of [
        ["ipv4Address", ipv4Address, net.subnet, net.gateway],
        ["ipv6Address", ipv6Address, net.ipv6Subnet, net.ipv6Gateway],
    ] as const) {
        if (typeof address !== "string") continue;
        const name = at === "" ? field : `${at}.${field}`;
        if (field === "ipv6Address" && subnet === undefined && (net.enableIpv6 === undefined || net.enableIpv6 === false)) {
            reasons.push(
                `\`${name}\` ${address}: Network "${net.name}" has no IPv6 subnet; give it \`ipv6Subnet\`, or drop \`ipv6Address\``,
            );
            continue;
        }
        if (typeof subnet !== "string") continue;
        const gateway = typeof gw === "string" ? gw : undefined;
        if (gw !== undefined && gateway === undefined) continue;
        const reason = staticAddressFailure(
            name,
            address,
            `Network "${net.name}"`,
            subnet,
            gateway,
            net.driver === "macvlan" || net.driver === "ipvlan" ? "the LAN's router" : undefined,
        );
        if (reason) reasons.push(reason);
    }
    return reasons;
}

/**
 * A user-defined Docker network, marked as this stack's with a label: of
 * driver bridge on one host, macvlan or ipvlan on a host interface's LAN, or
 * overlay across a Swarm's hosts.
 */
export class Network extends pulumi.CustomResource {
    declare readonly networkId: pulumi.Output<string>;
    declare readonly name: pulumi.Output<string>;
    /** The Linux bridge behind a bridge network: pass it to a VethAttachment's `bridge`. Empty for macvlan and ipvlan; an overlay has none on the host. */
    declare readonly bridge: pulumi.Output<string>;
    declare readonly subnet: pulumi.Output<string | undefined>;
    /** An overlay's VXLAN network identifier, as Docker chose it. */
    declare readonly vni: pulumi.Output<number | undefined>;
    declare readonly ipv6Subnet: pulumi.Output<string | undefined>;
    declare readonly owner: pulumi.Output<string>;
    /** The network's driver: `bridge`, `macvlan`, `ipvlan` or `overlay`. */
    public readonly driver: "bridge" | "overlay" | SublinkKind;

    constructor(name: string, args: NetworkArgs = {}, opts?: pulumi.CustomResourceOptions) {
        const what = `Network "${name}"`;
        const driver = args.driver ?? (args.swarm !== undefined ? "overlay" : "bridge");
        const sublink = driver === "macvlan" || driver === "ipvlan";
        const host =
            driver === "overlay"
                ? overlayHost(what, args, opts)
                : resolveHost(what, args.host, opts, [{ field: "parent", value: args.parent }]);
        const common = {
            name: args.name ?? defaultDockerName(pulumi.getStack(), name),
            // Absent for bridge, as networks deployed before the other drivers stored it: no change for them.
            ...(driver === "bridge" ? {} : { driver }),
            parent: args.parent === undefined ? undefined : parentNameOf(args.parent),
            mode: args.mode ?? (sublink ? SUBLINK_MODES[driver as SublinkKind]?.[0] : undefined),
            subnet: args.subnet,
            gateway: args.gateway,
            ipRange: args.ipRange,
            // Absent unless IPv6 is asked for: networks made before it have no such input, and must not differ.
            ...(args.enableIpv6 !== undefined ? { enableIpv6: args.enableIpv6 } : {}),
            ipv6Subnet: args.ipv6Subnet,
            ipv6Gateway: args.ipv6Gateway,
            ipv6Range: args.ipv6Range,
            internal: args.internal ?? false,
            mtu: args.mtu,
            labels: args.labels ?? {},
            owner: ownerOf("Network", name, host?.name),
            ...(host ? { host: host.input } : {}),
        };
        const inputs =
            driver === "overlay"
                ? {
                      ...common,
                      swarm: args.swarm && {
                          clusterId: args.swarm.clusterId,
                          nodes: args.swarm.hosts.map((h) => (h ? { host: h.input } : {})),
                      },
                      attachable: args.attachable ?? true,
                      encrypted: args.encrypted ?? false,
                      // Options of the bridge driver, given anyway: refused by the checks, by name.
                      bridgeName: args.bridgeName,
                      icc: args.icc,
                      masquerade: args.masquerade,
                  }
                : {
                      ...common,
                      bridgeName: args.bridgeName,
                      icc: args.icc ?? true,
                      masquerade: args.masquerade ?? true,
                      swarm: undefined,
                      attachable: args.attachable,
                      encrypted: args.encrypted,
                  };
        if (driver !== "overlay" && args.swarm !== undefined) {
            refuse(what, [
                `\`swarm\` is an option of driver overlay (a network across the hosts of a Swarm); this network's driver is ${driver}; remove \`swarm\`, or leave \`driver\` out (an overlay)`,
            ]);
        }
        checkPromptly(what, inputs, checkNetworkInputs);
        super(...engineResource("Network", name, { networkId: undefined, bridge: undefined, vni: undefined, ...inputs }, opts));
        this.driver = driver;
        declared.set(this, {
            name,
            driver,
            subnet: args.subnet,
            gateway: args.gateway,
            ipv6Subnet: args.ipv6Subnet,
            ipv6Gateway: args.ipv6Gateway,
            enableIpv6: args.enableIpv6,
        });
        rememberHost(this, host);
        if (driver === "overlay" && args.swarm) {
            const sw = args.swarm;
            rememberHostSet(this, {
                what: `Network "${name}", an overlay of Swarm "${sw.swarmName}"`,
                hosts: sw.hosts.map((h) => h?.name),
                member: (h) => sw.nodeOf(h),
            });
        }
    }
}

/** An overlay's host: its swarm's first manager (a `host` given must be that one). */
function overlayHost(what: string, args: NetworkArgs, opts?: pulumi.CustomResourceOptions): ResolvedHost | undefined {
    if (args.swarm === undefined) {
        refuse(what, [
            "`swarm` is required with driver overlay: the Swarm whose hosts the network spans (`new Network(name, { swarm, subnet })`)",
        ]);
    }
    const manager = args.swarm.manager;
    if (args.host !== undefined) {
        const given = resolveHost(what, args.host, opts);
        if (given?.name !== manager?.name) {
            refuse(what, [
                `\`host\` is ${given ? `host ${given.name}` : "this machine"}, but an overlay is made on its swarm's first manager, ${manager ? `host ${manager.name}` : "this machine"}; leave \`host\` out`,
            ]);
        }
    }
    return manager;
}
