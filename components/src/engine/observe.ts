// Reads of the host that the preview-time checks need: a bridge and its
// addresses, and who holds which address on a bridge (containers Docker
// placed there, and veths made by hand or by any stack); which macvlans and
// ipvlans sit on a parent interface (in any container's namespace or the
// host's, made by Docker, by hand or by any stack). Read-only.
//
// The scan of every container's namespace costs a process per running
// container, so checks ask for it only when an input that it guards changed,
// and only for a bridge that has a port nobody accounts for (a veth made by
// hand or by another stack); its result is shared by the checks of one
// deployment.
//
// Engine side: loaded by the dynamic-provider process.

import { OWNER_LABEL, sameStack } from "../common/naming";
import * as addr from "../common/address";
import { inSubnet, staticAddressFailure } from "../common/validation";
import * as docker from "../host/docker";
import { currentHostKey } from "../host/hostScope";
import * as networks from "../host/dockerNetworks";
import * as ip from "../host/ip";
import { inSwarm, swarmInfo } from "../host/swarm";
import { swarmNetwork } from "./registry";

export interface AddressHolder {
    /** The address without prefix length. */
    address: string;
    /** For people: `container "web" (Docker's bridge network)` or `eth0 of container "seed"`. */
    holder: string;
    /** The owner mark of the holder (a host end's alias, a container's label), if it has one. */
    owner?: string;
}

/** A bridge's addresses (IPv4 and IPv6, without link-local ones) as CIDRs, or undefined when there is no link of that name. */
export async function bridgeState(name: string): Promise<{ kind: string; cidrs: string[]; alias?: string } | undefined> {
    const link = await ip.getLinkWithAddresses(name);
    if (!link) return undefined;
    return { kind: link.linkinfo?.info_kind ?? "plain", cidrs: ip.addressCidrs(link.addr_info), alias: link.ifalias };
}

/** A macvlan or ipvlan found on a parent interface. */
export interface Sublink {
    kind: "macvlan" | "ipvlan";
    mode: string;
    /** For people: `eth0 of container "web"`, or `interface "mv0" of this host`. */
    holder: string;
    /** Its owner mark (interface alias), if it has one. */
    owner?: string;
    /** Its addresses (either family), without prefix length. */
    addresses: string[];
}

interface Scan {
    /** Address holders by bridge. */
    byBridge: Map<string, AddressHolder[]>;
    /** Macvlans and ipvlans by parent (a host interface). */
    byParent: Map<string, Sublink[]>;
}

// One scan per host per provider process, i.e. per deployment: the holders as the deployment found them.
// The stack's own attachments are judged by its claims, not by the scan; a foreign holder that
// appears while the deployment runs is a race no check can close.
const scans = new Map<string, Promise<Scan>>(); // by host ("" this machine)

/** The namespace scan of the current host, made once per deployment and shared by every check. */
function namespaceScan(): Promise<Scan> {
    const host = currentHostKey();
    let scan = scans.get(host);
    if (!scan) {
        const made = scanNamespaces();
        scan = made;
        scans.set(host, made);
        made.catch(() => scans.get(host) === made && scans.delete(host));
    }
    return scan;
}

// The host's links as the deployment first read them (for the ports of its bridges), by host.
const hostLinkViews = new Map<string, Promise<Awaited<ReturnType<typeof ip.listLinksWithAddresses>>>>();

function hostLinksOnce(): ReturnType<typeof ip.listLinksWithAddresses> {
    const host = currentHostKey();
    let view = hostLinkViews.get(host);
    if (!view) {
        const made = ip.listLinksWithAddresses();
        view = made;
        hostLinkViews.set(host, made);
        made.catch(() => hostLinkViews.get(host) === made && hostLinkViews.delete(host));
    }
    return view;
}

/**
 * True when a port of `bridge` may lead to an address the checks would not
 * otherwise know: a veth port whose peer is in another network namespace and
 * is not marked by the stack of `owner` (its claims know its attachments),
 * either marked by anyone else (another stack, a tool) or unmarked beyond as
 * many as Docker has endpoints on the bridge (one port each, their addresses
 * from its API). Only then is the namespace scan worth its cost, a process
 * per running container: on a host with hundreds of containers, most
 * deployments never need it. (Not seen: an unmarked port made by hand on a
 * bridge where as many of Docker's ports were deleted by hand.)
 */
export async function hasUnaccountedPorts(bridge: string, owner: string): Promise<boolean> {
    const ports = (await hostLinksOnce()).filter(
        (l) => l.master === bridge && l.linkinfo?.info_kind === "veth" && l.link_netnsid !== undefined && !sameStack(l.ifalias, owner),
    );
    // Docker marks none of its ports: a port with any mark was made by someone else.
    if (ports.some((l) => l.ifalias)) return true;
    return ports.length > (await dockerEndpoints(bridge));
}

/**
 * Who holds which address (IPv4 or IPv6) on each bridge, by bridge name: containers
 * that Docker attached to a network's bridge (from the Engine API), and, with
 * `namespaces`, container interfaces whose veth peer is a port of the bridge
 * (matched both ways: the peer's index and the port's). The namespace scan
 * costs a process per running container: it is made once per deployment
 * and shared by every check.
 */
export async function addressesOnBridges(namespaces: boolean): Promise<Map<string, AddressHolder[]>> {
    const byBridge = await dockerHolders();
    if (!namespaces) return byBridge;
    for (const [bridge, holders] of (await namespaceScan()).byBridge) byBridge.set(bridge, [...(byBridge.get(bridge) ?? []), ...holders]);
    return byBridge;
}

/**
 * The macvlans and ipvlans on the host interface `parent`: in the host's
 * namespace (read now), and, with `namespaces`, in every container's (the
 * deployment's shared scan: Docker's macvlan endpoints, attachments of any
 * stack, links made by hand).
 */
export async function sublinksOf(parent: string, namespaces: boolean): Promise<Sublink[]> {
    const inHost = (await ip.listLinksWithAddresses())
        .filter((l) => l.link === parent && isSublink(l))
        .map((l) => sublink(l, `interface "${l.ifname}" of the host`));
    return namespaces ? [...inHost, ...((await namespaceScan()).byParent.get(parent) ?? [])] : inHost;
}

function isSublink(l: ip.LinkInfo): boolean {
    const kind = l.linkinfo?.info_kind;
    return kind === "macvlan" || kind === "ipvlan";
}

function sublink(l: ip.LinkInfo & { addr_info: ip.AddressInfo[] }, holder: string): Sublink {
    const kind = l.linkinfo!.info_kind as Sublink["kind"];
    return {
        kind,
        mode: l.linkinfo?.info_data?.mode ?? (kind === "macvlan" ? "vepa" : "l3"),
        holder,
        owner: l.ifalias,
        addresses: ip.addressCidrs(l.addr_info).map(addr.addressPart),
    };
}

/** A Docker network of driver macvlan or ipvlan, as the checks of a parent read it. */
export interface DockerSublinkNetwork {
    name: string;
    driver: "macvlan" | "ipvlan";
    mode: string;
    owner?: string;
    /** Its containers, with their addresses of either family (without prefix length; one entry per address). */
    containers: { name: string; address: string }[];
}

/** Docker networks of driver macvlan or ipvlan whose parent is `parent`, with what they say of it. */
export async function dockerNetworksOn(parent: string): Promise<DockerSublinkNetwork[]> {
    const found: DockerSublinkNetwork[] = [];
    for (const n of await networks.listNetworks()) {
        if ((n.Driver !== "macvlan" && n.Driver !== "ipvlan") || n.Options?.parent !== parent) continue;
        const full = await networks.inspectNetwork(n.Id);
        found.push({
            name: n.Name,
            driver: n.Driver,
            mode: n.Driver === "macvlan" ? (n.Options?.macvlan_mode ?? "bridge") : (n.Options?.ipvlan_mode ?? "l2"),
            owner: n.Labels?.[OWNER_LABEL],
            containers: Object.values(full?.Containers ?? {}).flatMap((c) =>
                [c.IPv4Address, c.IPv6Address].filter((a) => !!a).map((a) => ({ name: c.Name, address: addr.addressPart(a!) })),
            ),
        });
    }
    return found;
}

/** Forgets the shared scan (tests: a new engine process starts with none). */
export function forgetObservations(): void {
    scans.clear();
    hostLinkViews.clear();
}

/** How many endpoints Docker has on a bridge (0 on a bridge it does not manage). */
async function dockerEndpoints(bridge: string): Promise<number> {
    let count = 0;
    for (const n of await networks.listNetworks()) {
        if (n.Driver !== "bridge" || networks.bridgeOfNetwork(n) !== bridge) continue;
        count += Object.keys((await networks.inspectNetwork(n.Id))?.Containers ?? {}).length;
    }
    return count;
}

async function dockerHolders(): Promise<Map<string, AddressHolder[]>> {
    const byBridge = new Map<string, AddressHolder[]>();
    for (const n of await networks.listNetworks()) {
        if (n.Driver !== "bridge") continue;
        const full = await networks.inspectNetwork(n.Id);
        const bridge = networks.bridgeOfNetwork(n);
        for (const c of Object.values(full?.Containers ?? {})) {
            for (const cidr of [c.IPv4Address, c.IPv6Address]) {
                const address = (cidr ?? "").split("/")[0];
                if (address)
                    byBridge.set(bridge, [
                        ...(byBridge.get(bridge) ?? []),
                        { address, holder: `container "${c.Name}" (Docker's network "${n.Name}")` },
                    ]);
            }
        }
    }
    return byBridge;
}

async function scanNamespaces(): Promise<Scan> {
    const byBridge = new Map<string, AddressHolder[]>();
    const byParent = new Map<string, Sublink[]>();
    const hostLinks = await hostLinksOnce();
    const ports = new Map(hostLinks.filter((l) => l.master).map((l) => [l.ifindex, l]));
    const byIndex = new Map(hostLinks.map((l) => [l.ifindex, l]));
    const running = (await docker.listContainers()).filter((c) => c.HostConfig.NetworkMode !== "host");
    const seenPids = new Set<number>();
    for (const c of running) {
        const inspect = await docker.inspectContainer(c.Id);
        const pid = inspect?.State.Pid;
        if (!pid || seenPids.has(pid)) continue;
        seenPids.add(pid);
        let links: Awaited<ReturnType<typeof ip.listLinksWithAddresses>>;
        try {
            links = await ip.listLinksWithAddresses(pid);
        } catch {
            continue; // gone meanwhile
        }
        const name = inspect!.Name.replace(/^\//, "");
        for (const l of links) {
            // A macvlan or ipvlan whose parent is in another namespace (the host's, as the library makes them).
            if (isSublink(l) && l.link_index !== undefined && l.link_netnsid !== undefined) {
                const parent = byIndex.get(l.link_index);
                if (parent)
                    byParent.set(parent.ifname, [...(byParent.get(parent.ifname) ?? []), sublink(l, `${l.ifname} of container "${name}"`)]);
                continue;
            }
            const port = l.link_index === undefined ? undefined : ports.get(l.link_index);
            if (!port || port.link_index !== l.ifindex || !port.master) continue;
            for (const cidr of ip.addressCidrs(l.addr_info)) {
                const holder: AddressHolder = {
                    address: cidr.split("/")[0],
                    holder: `${l.ifname} of container "${name}" (host end "${port.ifname}")`,
                    owner: port.ifalias,
                };
                byBridge.set(port.master, [...(byBridge.get(port.master) ?? []), holder]);
            }
        }
    }
    return { byBridge, byParent };
}

/** Every address (IPv4 and IPv6, without link-local ones) on the host's own interfaces, by interface, as CIDRs. */
export async function hostAddresses(): Promise<{ ifname: string; cidr: string; alias?: string }[]> {
    return (await ip.listLinksWithAddresses()).flatMap((l) =>
        ip.addressCidrs(l.addr_info).map((cidr) => ({ ifname: l.ifname, cidr, alias: l.ifalias })),
    );
}

/** True when two subnets (CIDRs, of one family) overlap. */
export function overlaps(a: string, b: string): boolean {
    const x = addr.parseCidr(a);
    const y = addr.parseCidr(b);
    return x !== undefined && y !== undefined && addr.overlaps(x, y);
}

/**
 * The container holding `address` on a Docker network, unless it is `self`
 * or one of the same stack as `owner` (those are the stack's own business:
 * its claims catch a real clash, and a replacement frees the address first).
 */
export async function foreignHolder(
    n: networks.NetworkInspect,
    address: string,
    owner: string | undefined,
    self?: string,
): Promise<string | undefined> {
    for (const c of Object.values(n.Containers ?? {})) {
        const held = [c.IPv4Address, c.IPv6Address ?? ""].some((cidr) => addr.sameAddress(cidr.split("/")[0], address));
        if (!held || c.Name === self?.replace(/^\//, "")) continue;
        const label = (await docker.inspectContainer(c.Name))?.Config.Labels?.[OWNER_LABEL];
        if (!sameStack(label, owner)) return c.Name;
    }
    return undefined;
}

/** Where Docker hands addresses out on one of its networks, for one family. */
export interface AllocationRange {
    network: string;
    range: string;
    /** How, when it is not plain: `addresses Docker derives from its containers' MACs`. */
    how?: string;
}

/** True when a Docker network has IPv6 on and an IPv6 subnet (so a container on it may be given an IPv6 address). */
export function hasIPv6Subnet(n: networks.NetworkInspect): boolean {
    return n.EnableIPv6 === true && (n.IPAM.Config ?? []).some((c) => c.Subnet?.includes(":"));
}

/**
 * Why a container cannot have the static `address` (either family), given
 * in `field`, on Docker network `n` as the host has it: outside its subnet
 * of that family, or its network, broadcast or gateway address
 * (staticAddressFailure's rule, the one the program applies to a Network it
 * declares). Undefined when it can, or when `n` has no subnet of the
 * address's family (the IPv6 refusal says so apart).
 */
export function networkAddressFailure(field: string, n: networks.NetworkInspect, address: string): string | undefined {
    const family = addr.parseAddress(address)?.family;
    const configs = (n.IPAM.Config ?? []).filter((c) => c.Subnet !== undefined && addr.familyOf(c.Subnet) === family);
    if (family === undefined || configs.length === 0) return undefined;
    const home = configs.find((c) => inSubnet(address, c.Subnet!)) ?? configs[0];
    const sublink = n.Driver === "macvlan" || n.Driver === "ipvlan";
    // Docker gives a bridge network the subnet's first address as its gateway when none is set; a macvlan network has none of its own.
    const gateway = home.Gateway ? addr.addressPart(home.Gateway) : sublink ? "" : undefined;
    return staticAddressFailure(field, address, `network ${n.Name}`, home.Subnet!, gateway, sublink ? "the LAN's router" : undefined);
}

/**
 * Why a container cannot have `address` (either family) on `n` for a reason
 * of the wire itself: on a macvlan or ipvlan network, the address is the
 * parent's own (the host's on that LAN, which Docker's IPAM knows nothing
 * of). Undefined for any other network, or a free address.
 */
export async function parentAddressClash(n: networks.NetworkInspect, address: string): Promise<string | undefined> {
    const parent = n.Options?.parent;
    if ((n.Driver !== "macvlan" && n.Driver !== "ipvlan") || !parent) return undefined;
    const link = await ip.getLinkWithAddresses(parent);
    const own = ip.addressCidrs(link?.addr_info).map(addr.addressPart);
    return own.some((o) => addr.sameAddress(o, address))
        ? `address ${address} on network ${n.Name} is the address of its parent "${parent}" itself (this host on that wire); choose another address`
        : undefined;
}

/**
 * The ranges Docker hands addresses out of on a bridge it manages (docker0, a
 * network's bridge), one per family: the network's IP range, or else its
 * whole subnet. On its default bridge with an IPv6 prefix of /80 or shorter,
 * Docker 20.10 derives a container's IPv6 address from its MAC (02:42 and
 * the container's IPv4 address) rather than allocating it: those addresses
 * lie in <prefix>::242:0:0/96. None for a bridge Docker does not manage.
 */
export async function dockerAllocationRanges(bridge: string): Promise<AllocationRange[]> {
    for (const n of await networks.listNetworks()) {
        if (n.Driver !== "bridge" || networks.bridgeOfNetwork(n) !== bridge) continue;
        const ranges: AllocationRange[] = [];
        for (const ipam of n.IPAM.Config ?? []) {
            const subnet = ipam.Subnet ? addr.parseCidr(ipam.Subnet) : undefined;
            if (!subnet) continue;
            if (subnet.family === 6 && n.Name === "bridge" && !ipam.IPRange && subnet.prefix <= 80) {
                const derived = { family: 6 as const, value: addr.networkOf(subnet) | (0x0242n << 32n), prefix: 96 };
                ranges.push({
                    network: n.Name,
                    range: addr.formatCidr(derived),
                    how: "addresses Docker derives from its containers' MACs",
                });
            } else {
                ranges.push({ network: n.Name, range: ipam.IPRange || ipam.Subnet! });
            }
        }
        return ranges;
    }
    return [];
}

/**
 * Says something to the person running the preview, without failing it: a
 * dynamic provider's output reaches the CLI's diagnostics.
 */
export function warn(message: string): void {
    console.warn(`warning: ${message}`);
}

/** A network as the current host knows it; see `networkOnHost`. */
export interface NetworkOnHost {
    /** Its inspect, when the host's engine knows it. */
    inspect?: networks.NetworkInspect;
    /** Its id (or the name given, when only the managers know it). */
    id: string;
    /** Scope swarm: the same network on every node of a swarm. */
    swarm: boolean;
}

/**
 * The network `nameOrId` as the current host sees it. A swarm worker knows an
 * overlay only once one of its containers is on it: until then, an overlay
 * of this deployment (the registry's) or, on a worker, any network the
 * managers may know, is taken as it is given; Docker says at create whether
 * the managers know it. Undefined: no such network.
 */
export async function networkOnHost(nameOrId: string): Promise<NetworkOnHost | undefined> {
    const inspect = await networks.inspectNetwork(nameOrId);
    if (inspect) return { inspect, id: inspect.Id, swarm: inspect.Scope === "swarm" };
    const declared = swarmNetwork(nameOrId);
    if (declared) return { id: declared.id ?? nameOrId, swarm: true };
    const info = await swarmInfo();
    if (inSwarm(info) && !info.ControlAvailable) return { id: nameOrId, swarm: true };
    return undefined;
}
