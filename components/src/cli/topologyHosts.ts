// `hostnet topology --host ...`: the container networking of several hosts
// at once. Each host is read as `hostnet topology` reads this machine
// (topology.ts), over SSH for the others; then what joins them is put
// together: VXLAN tunnels between bridges of two hosts (a VxlanLink's two
// devices, paired by VNI and underlay addresses), and Docker swarms (which
// host is which node, as the managers list them) with their overlay networks
// and the containers on them on each host.
//
// Read only. Runs in the `hostnet` command-line tool; hosts are read through
// the host layer (host/*), inside each host's scope.

import { writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { OWNER_LABEL, parseOwnerMark } from "../common/naming";
import { HostSpec } from "../common/specs/host";
import { HostUnreachableError } from "../host/errors";
import { renderSvg } from "../host/graphviz";
import { onHost } from "../host/ssh";
import * as swarm from "../host/swarm";
import { Owner, Topology, topology } from "./topology";
import { renderHostsDot, renderHostsText } from "./topologyRenderHosts";

/** One host's topology, with its name as the command line gave it. */
export interface HostView extends Topology {
    /** The host's name (`local`: this machine). */
    name: string;
    /** Its SSH address, for people. */
    address?: string;
    /** Its engine's swarm membership, when it is in one. */
    swarm?: { nodeId: string; state: string; manager: boolean; clusterId?: string };
    /** Set when the host could not be read at all (SSH). */
    error?: string;
}

/** One side of a VXLAN tunnel: a host's VXLAN device, the bridge it is on, its underlay addresses. */
export interface TunnelEnd {
    host: string;
    device: string;
    bridge?: string;
    local?: string;
    remote?: string;
    owner?: Owner;
}

/** A VXLAN tunnel between two hosts of the view (`b` undefined: its peer is no host that was read). */
export interface VxlanTunnel {
    vni?: number;
    port?: number;
    a: TunnelEnd;
    b?: TunnelEnd;
}

export interface SwarmNodeView {
    id: string;
    /** The host of the view this node is (undefined: none of those read). */
    host?: string;
    hostname?: string;
    role: string;
    state: string;
    availability: string;
    address?: string;
    leader: boolean;
    labels: Record<string, string>;
    owner?: Owner;
}

export interface OverlayView {
    id: string;
    name: string;
    subnet?: string;
    gateway?: string;
    vni?: number;
    owner?: Owner;
    /** The containers on it, by host. */
    members: { host: string; container: string; address: string }[];
}

export interface SwarmView {
    /** Undefined when no manager of it was among the hosts read. */
    clusterId?: string;
    owner?: Owner;
    nodes: SwarmNodeView[];
    overlays: OverlayView[];
}

export interface HostsTopology {
    stack?: string;
    hosts: HostView[];
    tunnels: VxlanTunnel[];
    swarms: SwarmView[];
}

/** What one host says of its swarm: its own membership, and (a manager) the node list and the cluster's mark. */
interface SwarmRead {
    info?: swarm.SwarmInfo;
    nodes?: swarm.NodeInspect[];
}

async function readSwarm(): Promise<SwarmRead> {
    try {
        const info = await swarm.swarmInfo();
        if (!swarm.inSwarm(info)) return {};
        return { info, nodes: info.ControlAvailable ? await swarm.listNodes() : undefined };
    } catch {
        return {}; // no engine: topology() says so
    }
}

/** Reads every host (undefined: this machine), each in its own scope, and what joins them. */
export async function hostsTopology(hosts: { name: string; spec?: HostSpec }[], options: { stack?: string } = {}): Promise<HostsTopology> {
    const reads = await Promise.all(
        hosts.map(async ({ name, spec }) => {
            try {
                return await onHost(spec, async () => {
                    const [t, s] = await Promise.all([topology({ stack: options.stack }), readSwarm()]);
                    const view: HostView = { ...t, host: spec ? spec.name : hostname(), name, ...(spec ? { address: spec.ssh.host } : {}) };
                    if (s.info) {
                        view.swarm = {
                            nodeId: s.info.NodeID,
                            state: s.info.LocalNodeState,
                            manager: s.info.ControlAvailable,
                            ...(s.info.Cluster?.ID ? { clusterId: s.info.Cluster.ID } : {}),
                        };
                    }
                    return { view, swarm: s };
                });
            } catch (err) {
                if (!(err instanceof HostUnreachableError)) throw err;
                const view: HostView = {
                    host: name,
                    name,
                    ...(spec ? { address: spec.ssh.host } : {}),
                    error: err.message,
                    bridges: [],
                    containers: [],
                    networks: [],
                    links: [],
                    namespaces: [],
                };
                return { view, swarm: {} as SwarmRead };
            }
        }),
    );
    const views = reads.map((r) => r.view);
    let swarms = swarmsOf(reads);
    if (options.stack) {
        // Only what the stack owns, and what it is attached to.
        const ours = (o: Owner | undefined) => o?.stack === options.stack;
        swarms = swarms.filter((s) => ours(s.owner) || s.overlays.some((o) => ours(o.owner) || o.members.length > 0));
    }
    return {
        ...(options.stack ? { stack: options.stack } : {}),
        hosts: views,
        tunnels: tunnelsOf(views),
        swarms,
    };
}

/** VXLAN devices of every host, paired across hosts: same VNI, each one's local the other's remote. */
export function tunnelsOf(views: HostView[]): VxlanTunnel[] {
    const ends: (TunnelEnd & { vni?: number; port?: number })[] = [];
    for (const v of views) {
        const hostNs = v.namespaces.find((n) => n.name === "host");
        for (const i of hostNs?.interfaces ?? []) {
            if (i.kind !== "vxlan" || !i.vxlan) continue;
            // Docker's own overlay devices live in namespaces of their own: only host-made tunnels are here.
            ends.push({
                host: v.name,
                device: i.name,
                ...(i.master ? { bridge: i.master } : {}),
                ...(i.vxlan.local ? { local: i.vxlan.local } : {}),
                ...(i.vxlan.remote ? { remote: i.vxlan.remote } : {}),
                ...(i.owner ? { owner: i.owner } : {}),
                vni: i.vxlan.vni,
                port: i.vxlan.port,
            });
        }
    }
    const used = new Set<number>();
    const tunnels: VxlanTunnel[] = [];
    ends.forEach((a, i) => {
        if (used.has(i)) return;
        used.add(i);
        const j = ends.findIndex(
            (b, k) =>
                !used.has(k) &&
                b.host !== a.host &&
                b.vni === a.vni &&
                b.local !== undefined &&
                b.local === a.remote &&
                b.remote === a.local,
        );
        if (j >= 0) used.add(j);
        const strip = ({ vni: _v, port: _p, ...end }: TunnelEnd & { vni?: number; port?: number }) => end;
        tunnels.push({
            ...(a.vni !== undefined ? { vni: a.vni } : {}),
            ...(a.port !== undefined ? { port: a.port } : {}),
            a: strip(a),
            ...(j >= 0 ? { b: strip(ends[j]) } : {}),
        });
    });
    return tunnels;
}

/** The swarms the hosts are in: nodes as their managers list them, matched to hosts by node id; overlays merged by id. */
export function swarmsOf(reads: { view: HostView; swarm: SwarmRead }[]): SwarmView[] {
    const swarms: (SwarmView & { memberIds: Set<string> })[] = [];
    // Managers first: they know the swarm's id and its nodes.
    for (const { swarm: s } of reads) {
        if (!s.info?.ControlAvailable || !s.nodes) continue;
        const id = s.info.Cluster?.ID;
        if (swarms.some((x) => x.clusterId === id)) continue;
        const owner = parseOwnerMark(s.info.Cluster?.Spec?.Labels?.[OWNER_LABEL] ?? undefined);
        swarms.push({
            ...(id ? { clusterId: id } : {}),
            ...(owner ? { owner } : {}),
            nodes: s.nodes.map((n) => nodeView(n, reads)),
            overlays: [],
            memberIds: new Set(s.nodes.map((n) => n.ID)),
        });
    }
    // Nodes no manager of the view lists: a swarm of unknown id each, grouped by their managers' addresses.
    for (const { view, swarm: s } of reads) {
        if (!s.info || swarms.some((x) => x.memberIds.has(s.info!.NodeID))) continue;
        const key = (s.info.RemoteManagers ?? [])
            .map((m) => m.Addr)
            .sort()
            .join(",");
        let group = swarms.find((x) => x.clusterId === undefined && (x as { key?: string }).key === key);
        if (!group) {
            group = Object.assign({ nodes: [], overlays: [], memberIds: new Set<string>() }, { key });
            swarms.push(group);
        }
        group.memberIds.add(s.info.NodeID);
        group.nodes.push({
            id: s.info.NodeID,
            host: view.name,
            role: s.info.ControlAvailable ? "manager" : "worker",
            state: s.info.LocalNodeState,
            availability: "?",
            address: s.info.NodeAddr,
            leader: false,
            labels: {},
        });
    }
    for (const sw of swarms) {
        const byId = new Map<string, OverlayView>();
        for (const { view, swarm: s } of reads) {
            if (!s.info || !sw.memberIds.has(s.info.NodeID)) continue;
            for (const n of view.networks) {
                if (n.driver !== "overlay" || n.name === "ingress") continue;
                let o = byId.get(n.id);
                if (!o) {
                    o = {
                        id: n.id,
                        name: n.name,
                        ...(n.subnet ? { subnet: n.subnet } : {}),
                        ...(n.gateway ? { gateway: n.gateway } : {}),
                        ...(n.vni !== undefined ? { vni: n.vni } : {}),
                        ...(n.owner ? { owner: n.owner } : {}),
                        members: [],
                    };
                    byId.set(n.id, o);
                }
                for (const c of n.containers) o.members.push({ host: view.name, container: c.name, address: c.address });
            }
        }
        sw.overlays = [...byId.values()].sort((x, y) => x.name.localeCompare(y.name));
        // By host; nodes of hosts not read last.
        sw.nodes.sort(
            (x, y) =>
                Number(x.host === undefined) - Number(y.host === undefined) ||
                (x.host ?? "").localeCompare(y.host ?? "") ||
                x.id.localeCompare(y.id),
        );
    }
    return swarms.map(({ memberIds: _m, ...rest }) => {
        const { key: _k, ...sw } = rest as SwarmView & { key?: string };
        return sw;
    });
}

function nodeView(n: swarm.NodeInspect, reads: { view: HostView; swarm: SwarmRead }[]): SwarmNodeView {
    const host = reads.find((r) => r.swarm.info?.NodeID === n.ID)?.view.name;
    const owner = parseOwnerMark(n.Spec.Labels?.[OWNER_LABEL]);
    return {
        id: n.ID,
        ...(host ? { host } : {}),
        ...(n.Description?.Hostname ? { hostname: n.Description.Hostname } : {}),
        role: n.Spec.Role,
        state: n.Status.State,
        availability: n.Spec.Availability,
        ...(n.Status.Addr ? { address: n.Status.Addr } : {}),
        leader: n.ManagerStatus?.Leader === true,
        labels: Object.fromEntries(Object.entries(n.Spec.Labels ?? {}).filter(([k]) => !k.startsWith("io.hostnet."))),
        ...(owner ? { owner } : {}),
    };
}

/** Writes the text view of several hosts (standard output when no file is given), and the diagram as SVG and/or DOT. */
export async function writeHostsTopology(m: HostsTopology, files: { text?: string; svg?: string; dot?: string }): Promise<void> {
    const text = renderHostsText(m);
    if (files.text) writeFileSync(files.text, text);
    else process.stdout.write(text);
    if (files.dot || files.svg) {
        const dot = renderHostsDot(m);
        if (files.dot) writeFileSync(files.dot, dot);
        if (files.svg) writeFileSync(files.svg, await renderSvg(dot));
    }
}
