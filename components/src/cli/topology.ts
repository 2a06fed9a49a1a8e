// `hostnet topology`: reads the live host's container networking - bridges and
// their ports, veth pairs and their peers in container namespaces, containers
// with their `--net` mode, addresses and published ports, Docker networks,
// veth links between containers - into one model, which topologyRender.ts
// writes as a text view and a Graphviz diagram. Objects a hostnet stack owns
// carry their owner mark (interface alias or Docker label), parsed by
// common/naming.ts; everything else is shown plainly.
//
// Read only. Runs in the `hostnet` command-line tool, neither in a Pulumi
// program nor in the engine: the host is read through the host layer
// (host/*), which owns every command line and API call.

import { hostname } from "node:os";
import { netModeOf, NetMode } from "../common/modes";
import { OWNER_LABEL, parseOwnerMark, ResourceIdentity } from "../common/naming";
import * as docker from "../host/docker";
import { bridgeOfNetwork, listNetworks, NetworkInspect } from "../host/dockerNetworks";
import { DockerUnreachableError } from "../host/errors";
import { renderSvg } from "../host/graphviz";
import { addressCidrs, AddressInfo, LinkInfo, listLinksWithAddresses } from "../host/ip";
import { writeFileSync } from "node:fs";
import { renderDot, renderText } from "./topologyRender";

type Link = LinkInfo & { addr_info: AddressInfo[] };

/** Who owns an object: the parsed owner mark (its project, stack and resource); absent for foreign objects. */
export type Owner = ResourceIdentity;

/** Where a veth's other end is. */
export interface PeerRef {
    /** `host`, or the container's name. */
    namespace: string;
    ifname: string;
    addresses: string[];
}

export interface Interface {
    name: string;
    /** `veth`, `bridge`, `loopback`, ... (the kernel's link kind; absent for plain devices). */
    kind?: string;
    state: string;
    mac: string;
    addresses: string[];
    master?: string;
    owner?: Owner;
    peer?: PeerRef;
    /** A VXLAN device's tunnel: its VNI, underlay addresses and UDP port. */
    vxlan?: { vni?: number; local?: string; remote?: string; port?: number };
}

export interface Namespace {
    /** `host`, or the container's name. */
    name: string;
    pid?: number;
    interfaces: Interface[];
}

export interface Bridge {
    name: string;
    state: string;
    addresses: string[];
    owner?: Owner;
    /** The Docker network whose bridge this is. */
    dockerNetwork?: string;
    /** Its ports (`brctl show`), each with the peer of a veth port. */
    ports: Interface[];
}

export interface Container {
    name: string;
    id: string;
    running: boolean;
    /** As `docker run --net` would say it: none, bridge, host, container:<name>, <network name>. */
    mode: string;
    netMode: NetMode;
    owner?: Owner;
    pid?: number;
    /** `127.0.0.1:18080->80/tcp`, as `docker ps` shows them. */
    ports: string[];
    /** Its endpoints on Docker networks: the IPv4 address, and the IPv6 one when the network has IPv6. */
    networks: { name: string; address: string; address6?: string }[];
    /** Its own namespace's interfaces; empty for host and container: modes (and stopped containers). */
    interfaces: Interface[];
}

export interface DockerNetwork {
    name: string;
    id: string;
    driver: string;
    subnet?: string;
    gateway?: string;
    /** The IPv6 subnet and gateway, when the network has IPv6. */
    subnet6?: string;
    gateway6?: string;
    bridge?: string;
    /** An overlay's VXLAN network identifier. */
    vni?: number;
    owner?: Owner;
    containers: { name: string; address: string; address6?: string }[];
}

/** A veth pair straight between two containers (a VethLink). */
export interface VethLinkEdge {
    a: PeerRef;
    b: PeerRef;
    owner?: Owner;
}

export interface Topology {
    host: string;
    /** Set when the Docker engine could not be read: the view then has the kernel's objects only. */
    dockerError?: string;
    /** When a stack was chosen: only what it owns and what that is attached to. */
    stack?: string;
    bridges: Bridge[];
    containers: Container[];
    networks: DockerNetwork[];
    links: VethLinkEdge[];
    namespaces: Namespace[];
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping the order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const i = next++;
            out[i] = await fn(items[i]);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return out;
}

function interfaceOf(link: Link): Interface {
    const owner = parseOwnerMark(link.ifalias);
    const vx = link.linkinfo?.info_kind === "vxlan" ? link.linkinfo.info_data : undefined;
    return {
        name: link.ifname,
        ...(link.linkinfo?.info_kind ? { kind: link.linkinfo.info_kind } : link.ifname === "lo" ? { kind: "loopback" } : {}),
        state: link.operstate,
        mac: link.address,
        // Both families; link-local IPv6 addresses (every interface has one) are left out, as `ip -br addr` users skip them.
        addresses: addressCidrs(link.addr_info),
        ...(link.master ? { master: link.master } : {}),
        ...(owner ? { owner } : {}),
        ...(vx ? { vxlan: definedOnly({ vni: vx.id, local: vx.local, remote: vx.remote, port: vx.port }) } : {}),
    };
}

function definedOnly<T extends object>(o: T): T {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function publishedPorts(c: docker.ContainerInspect): string[] {
    const out: string[] = [];
    for (const [key, bindings] of Object.entries(c.HostConfig.PortBindings ?? {})) {
        for (const b of bindings ?? []) out.push(`${b.HostIp || "0.0.0.0"}:${b.HostPort}->${key}`);
    }
    return out.sort();
}

function networkBridge(n: NetworkInspect): string | undefined {
    return n.Driver === "bridge" ? bridgeOfNetwork(n) : undefined;
}

interface RawContainer {
    inspect: docker.ContainerInspect;
    links: Link[];
}

async function readDocker(): Promise<{ containers: RawContainer[]; networks: NetworkInspect[]; error?: string }> {
    let summaries: docker.ContainerSummary[];
    let networks: NetworkInspect[];
    try {
        [summaries, networks] = await Promise.all([docker.listContainers(true), listNetworks()]);
    } catch (err) {
        if (err instanceof DockerUnreachableError) return { containers: [], networks: [], error: err.message };
        throw err;
    }
    const inspected = await mapLimited(summaries, 8, (s) => docker.inspectContainer(s.Id));
    const containers = await mapLimited(
        inspected.filter((c): c is docker.ContainerInspect => c !== undefined),
        8,
        async (inspect): Promise<RawContainer> => {
            const mode = netModeOf(inspect.HostConfig.NetworkMode);
            if (!inspect.State.Running || !inspect.State.Pid || mode === "host" || mode === "container") return { inspect, links: [] };
            // A container that stops meanwhile has no namespace left to read: it shows without interfaces.
            const links = await listLinksWithAddresses(inspect.State.Pid).catch(() => [] as Link[]);
            return { inspect, links };
        },
    );
    return { containers, networks };
}

/** Reads the host (kernel and Docker engine) into a topology. `stack` keeps only that stack's objects and their neighbours. */
export async function topology(options: { stack?: string } = {}): Promise<Topology> {
    const [hostLinks, dockerView] = await Promise.all([listLinksWithAddresses(), readDocker()]);
    const t = buildTopology(hostLinks, dockerView.containers, dockerView.networks);
    if (dockerView.error) t.dockerError = dockerView.error;
    return options.stack ? onlyStack(t, options.stack) : t;
}

/** Pairs veth ends: both must point at each other (interface indexes are per namespace). */
function isPeerPair(x: Link, y: Link): boolean {
    return x.link_index === y.ifindex && y.link_index === x.ifindex;
}

/** The model of what was read. Exported for tests that build a host of their own. */
export function buildTopology(hostLinks: Link[], rawContainers: RawContainer[], rawNetworks: NetworkInspect[]): Topology {
    const nameOf = (c: docker.ContainerInspect) => c.Name.replace(/^\//, "");
    const byId = new Map(rawContainers.map((c) => [c.inspect.Id, c.inspect]));
    const networkByKey = new Map<string, NetworkInspect>();
    for (const n of rawNetworks) {
        networkByKey.set(n.Id, n);
        networkByKey.set(n.Name, n);
    }

    // Namespaces and their interfaces.
    const host: Namespace = { name: "host", interfaces: hostLinks.map(interfaceOf) };
    const nsOf = new Map<string, { ns: Namespace; raw: Link[] }>();
    for (const { inspect, links } of rawContainers) {
        if (links.length === 0) continue;
        nsOf.set(nameOf(inspect), {
            ns: { name: nameOf(inspect), pid: inspect.State.Pid, interfaces: links.map(interfaceOf) },
            raw: links,
        });
    }

    // Veth pairs: host end <-> container end first, then container <-> container.
    const claimed = new Set<Link>();
    const hostVeths = hostLinks.filter((l) => l.linkinfo?.info_kind === "veth" && l.link_index !== undefined);
    hostLinks.forEach((h, i) => {
        if (!hostVeths.includes(h)) return;
        const hostIf = host.interfaces[i];
        if (h.link_netnsid === undefined) {
            const j = hostLinks.findIndex((o) => o !== h && isPeerPair(h, o));
            if (j >= 0) hostIf.peer = { namespace: "host", ifname: hostLinks[j].ifname, addresses: addressCidrs(hostLinks[j].addr_info) };
            return;
        }
        const candidates: { name: string; k: number; link: Link }[] = [];
        for (const [name, { raw }] of nsOf) {
            raw.forEach((l, k) => {
                if (l.link_netnsid !== undefined && isPeerPair(h, l)) candidates.push({ name, k, link: l });
            });
        }
        if (candidates.length !== 1) return; // not in a container's namespace (or ambiguous): shown without a peer
        const { name, k, link } = candidates[0];
        claimed.add(link);
        const inner = nsOf.get(name)!.ns.interfaces[k];
        hostIf.peer = { namespace: name, ifname: inner.name, addresses: inner.addresses };
        inner.peer = { namespace: "host", ifname: hostIf.name, addresses: hostIf.addresses };
        // The container end of an attachment carries no alias: it is the host end's.
        if (!inner.owner && hostIf.owner) inner.owner = hostIf.owner;
    });
    const links: VethLinkEdge[] = [];
    const entries = [...nsOf.entries()];
    for (let x = 0; x < entries.length; x++) {
        const [nameA, a] = entries[x];
        a.raw.forEach((la, ka) => {
            if (claimed.has(la) || la.linkinfo?.info_kind !== "veth" || la.link_netnsid === undefined) return;
            for (let y = x + 1; y < entries.length; y++) {
                const [nameB, b] = entries[y];
                const kb = b.raw.findIndex((lb) => !claimed.has(lb) && lb.link_netnsid !== undefined && isPeerPair(la, lb));
                if (kb < 0) continue;
                claimed.add(la);
                claimed.add(b.raw[kb]);
                const ia = a.ns.interfaces[ka];
                const ib = b.ns.interfaces[kb];
                ia.peer = { namespace: nameB, ifname: ib.name, addresses: ib.addresses };
                ib.peer = { namespace: nameA, ifname: ia.name, addresses: ia.addresses };
                const owner = ia.owner ?? ib.owner;
                // Ends in name order, so that the same link always reads the same way.
                const ends = [
                    { namespace: nameA, ifname: ia.name, addresses: ia.addresses },
                    { namespace: nameB, ifname: ib.name, addresses: ib.addresses },
                ].sort((x, y) => x.namespace.localeCompare(y.namespace) || x.ifname.localeCompare(y.ifname));
                links.push({ a: ends[0], b: ends[1], ...(owner ? { owner } : {}) });
                return;
            }
        });
    }

    // Docker networks, with the containers on them.
    const networks: DockerNetwork[] = rawNetworks.map((n) => {
        const ipam = (n.IPAM.Config ?? []).find((c) => !c.Subnet?.includes(":"));
        const ipam6 = (n.IPAM.Config ?? []).find((c) => c.Subnet?.includes(":"));
        const owner = parseOwnerMark(n.Labels?.[OWNER_LABEL]);
        const bridge = networkBridge(n);
        const vni = n.Driver === "overlay" ? Number(n.Options?.["com.docker.network.driver.overlay.vxlanid_list"]?.split(",")[0]) : NaN;
        return {
            name: n.Name,
            id: n.Id,
            driver: n.Driver,
            ...(ipam?.Subnet ? { subnet: ipam.Subnet } : {}),
            ...(ipam?.Gateway ? { gateway: ipam.Gateway } : {}),
            ...(ipam6?.Subnet ? { subnet6: ipam6.Subnet } : {}),
            ...(ipam6?.Gateway ? { gateway6: ipam6.Gateway } : {}),
            ...(bridge ? { bridge } : {}),
            ...(Number.isInteger(vni) ? { vni } : {}),
            ...(owner ? { owner } : {}),
            containers: [],
        };
    });

    // Containers.
    const containers: Container[] = rawContainers.map(({ inspect }) => {
        const name = nameOf(inspect);
        const raw = inspect.HostConfig.NetworkMode;
        const netMode = netModeOf(raw);
        let mode = raw === "default" ? "bridge" : raw;
        if (netMode === "container") {
            const target = raw.slice("container:".length);
            const t = byId.get(target) ?? [...byId.values()].find((c) => nameOf(c) === target || c.Id.startsWith(target));
            mode = `container:${t ? nameOf(t) : target.slice(0, 12)}`;
        } else if (netMode === "networks") {
            mode = networkByKey.get(raw)?.Name ?? raw;
        }
        const endpoints: Container["networks"] = [];
        for (const [key, ep] of Object.entries(inspect.NetworkSettings.Networks ?? {})) {
            const n = networkByKey.get(ep.NetworkID) ?? networkByKey.get(key);
            const address = ep.IPAddress ? `${ep.IPAddress}/${ep.IPPrefixLen}` : "";
            const six = ep.GlobalIPv6Address ? { address6: `${ep.GlobalIPv6Address}/${ep.GlobalIPv6PrefixLen}` } : {};
            endpoints.push({ name: n?.Name ?? key, address, ...six });
            const view = networks.find((v) => v.id === n?.Id);
            if (view && n!.Driver !== "host" && n!.Driver !== "null") view.containers.push({ name, address, ...six });
        }
        const owner = parseOwnerMark(inspect.Config.Labels?.[OWNER_LABEL]);
        return {
            name,
            id: inspect.Id,
            running: inspect.State.Running,
            mode,
            netMode,
            ...(owner ? { owner } : {}),
            ...(inspect.State.Running && inspect.State.Pid ? { pid: inspect.State.Pid } : {}),
            ports: publishedPorts(inspect),
            networks: endpoints.sort((x, y) => x.name.localeCompare(y.name)),
            interfaces: nsOf.get(name)?.ns.interfaces ?? [],
        };
    });

    // Bridges and their ports.
    const bridges: Bridge[] = host.interfaces
        .filter((i) => i.kind === "bridge")
        .map((b) => ({
            name: b.name,
            state: b.state,
            addresses: b.addresses,
            ...(b.owner ? { owner: b.owner } : {}),
            ...(networks.find((n) => n.bridge === b.name) ? { dockerNetwork: networks.find((n) => n.bridge === b.name)!.name } : {}),
            ports: host.interfaces.filter((i) => i.master === b.name),
        }));

    // Numbers in names sort as numbers: c2 before c10.
    const byName = <T extends { name: string }>(x: T, y: T) => x.name.localeCompare(y.name, "en", { numeric: true });
    for (const n of networks) n.containers.sort(byName);
    for (const b of bridges) b.ports.sort(byName);
    return {
        host: hostname(),
        bridges: bridges.sort(byName),
        containers: containers.sort(byName),
        networks: networks.sort(byName),
        links: links.sort((x, y) => x.a.namespace.localeCompare(y.a.namespace) || x.a.ifname.localeCompare(y.a.ifname)),
        namespaces: [host, ...[...nsOf.values()].map((v) => v.ns).sort(byName)],
    };
}

function ownedBy(owner: Owner | undefined, stack: string): boolean {
    return owner?.stack === stack;
}

/** Only what `stack` owns, and the bridges, networks and ports it is attached through. */
export function onlyStack(t: Topology, stack: string): Topology {
    const containers = t.containers.filter((c) => ownedBy(c.owner, stack));
    const kept = new Set(containers.map((c) => c.name));
    const portKept = (p: Interface) => ownedBy(p.owner, stack) || (p.peer !== undefined && kept.has(p.peer.namespace));
    const networks = t.networks.filter((n) => ownedBy(n.owner, stack) || n.containers.some((c) => kept.has(c.name)));
    const bridges = t.bridges
        .filter((b) => ownedBy(b.owner, stack) || b.ports.some(portKept) || networks.some((n) => n.bridge === b.name))
        .map((b) => ({ ...b, ports: b.ports.filter(portKept) }));
    const bridgeNames = new Set(bridges.map((b) => b.name));
    const hostNs = t.namespaces[0];
    const hostKept = hostNs.interfaces.filter((i) => bridgeNames.has(i.name) || bridges.some((b) => b.ports.includes(i)));
    return {
        ...t,
        stack,
        bridges,
        containers,
        networks: networks.map((n) => ({ ...n, containers: n.containers.filter((c) => kept.has(c.name)) })),
        links: t.links.filter((l) => kept.has(l.a.namespace) || kept.has(l.b.namespace) || ownedBy(l.owner, stack)),
        namespaces: [{ ...hostNs, interfaces: hostKept }, ...t.namespaces.slice(1).filter((n) => kept.has(n.name))],
    };
}

/** Writes the text view (standard output when no file is given), and the diagram as SVG and/or DOT. */
export async function writeTopology(t: Topology, files: { text?: string; svg?: string; dot?: string }): Promise<void> {
    const text = renderText(t);
    if (files.text) writeFileSync(files.text, text);
    else process.stdout.write(text);
    if (files.dot || files.svg) {
        const dot = renderDot(t);
        if (files.dot) writeFileSync(files.dot, dot);
        if (files.svg) writeFileSync(files.svg, await renderSvg(dot));
    }
}
