// Docker Swarm mode through the Engine API (see docker.ts for the client):
// what `docker swarm init | join | leave`, `docker swarm join-token`, `docker
// info` and `docker node ls | inspect | update | rm` do. Inside a host's
// scope (hostScope.ts) every call goes to that host's engine.
//
// Engine side: loaded by the dynamic-provider process. No Pulumi imports.

import { apiError, apiMessage, request } from "./docker";
import { DockerApiError } from "./errors";

/** `docker info`'s `Swarm` part: this engine's own view of its membership. */
export interface SwarmInfo {
    /** Empty when the engine is in no swarm. */
    NodeID: string;
    NodeAddr: string;
    /** `inactive` (in no swarm), `pending`, `active`, `error`, `locked`. */
    LocalNodeState: string;
    /** True on a manager. */
    ControlAvailable: boolean;
    Error: string;
    RemoteManagers: { NodeID: string; Addr: string }[] | null;
    Cluster?: { ID: string; Spec?: { Name?: string; Labels?: Record<string, string> | null } } | null;
}

/** `GET /swarm` (managers only): the cluster, with its join tokens. */
export interface SwarmInspect {
    ID: string;
    Version: { Index: number };
    Spec: { Name: string; Labels: Record<string, string> | null } & Record<string, unknown>;
    JoinTokens: { Worker: string; Manager: string };
    DataPathPort?: number;
    DefaultAddrPool?: string[] | null;
    SubnetSize?: number;
}

export type NodeRole = "manager" | "worker";
export type NodeAvailability = "active" | "pause" | "drain";

export interface NodeSpec {
    Name?: string;
    Labels: Record<string, string> | null;
    Role: NodeRole;
    Availability: NodeAvailability;
}

/** `GET /nodes/{id}`: a node as the managers see it. */
export interface NodeInspect {
    ID: string;
    Version: { Index: number };
    Spec: NodeSpec;
    Description?: { Hostname?: string; Engine?: { EngineVersion?: string } };
    /** `ready`, `down`, `unknown`, `disconnected`. */
    Status: { State: string; Message?: string; Addr?: string };
    ManagerStatus?: { Leader?: boolean; Reachability?: string; Addr?: string } | null;
}

export interface SwarmInitSpec {
    listenAddress?: string;
    advertiseAddress: string;
    dataPathAddress?: string;
    dataPathPort?: number;
    defaultAddrPool?: string[];
    subnetSize?: number;
    labels: Record<string, string>;
}

export interface SwarmJoinSpec {
    listenAddress?: string;
    advertiseAddress?: string;
    dataPathAddress?: string;
    /** Managers to join through, `address:port`. */
    remoteAddrs: string[];
    token: string;
}

/** `docker info`'s swarm part of the current host's engine. */
export async function swarmInfo(): Promise<SwarmInfo> {
    const res = await request("GET", "/info");
    if (res.statusCode !== 200) throw apiError("read the Docker engine's swarm state (docker info)", res);
    return (res.body as { Swarm: SwarmInfo }).Swarm;
}

/** True when the engine is an active member of some swarm. */
export function inSwarm(info: SwarmInfo): boolean {
    return info.LocalNodeState === "active" || info.LocalNodeState === "pending" || info.LocalNodeState === "locked";
}

/** `docker swarm init`: makes a new swarm with this engine as its first manager; returns the node id. */
export async function initSwarm(spec: SwarmInitSpec): Promise<string> {
    const res = await request("POST", "/swarm/init", {
        ListenAddr: spec.listenAddress ?? "0.0.0.0:2377",
        AdvertiseAddr: spec.advertiseAddress,
        DataPathAddr: spec.dataPathAddress ?? "",
        DataPathPort: spec.dataPathPort ?? 0,
        DefaultAddrPool: spec.defaultAddrPool ?? [],
        SubnetSize: spec.subnetSize ?? 0,
        ForceNewCluster: false,
        Spec: { Labels: spec.labels },
    });
    if (res.statusCode !== 200) throw apiError(`initialize a swarm (advertising ${spec.advertiseAddress})`, res);
    return String(res.body);
}

/** `docker swarm join`: joins this engine to a swarm with a worker's or a manager's token. */
export async function joinSwarm(spec: SwarmJoinSpec): Promise<void> {
    const res = await request("POST", "/swarm/join", {
        ListenAddr: spec.listenAddress ?? "0.0.0.0:2377",
        AdvertiseAddr: spec.advertiseAddress ?? "",
        DataPathAddr: spec.dataPathAddress ?? "",
        RemoteAddrs: spec.remoteAddrs,
        JoinToken: spec.token,
    });
    if (res.statusCode !== 200) throw apiError(`join the swarm through ${spec.remoteAddrs.join(", ")}`, res);
}

/** `docker swarm leave [--force]`. Not in a swarm is success. */
export async function leaveSwarm(force: boolean): Promise<void> {
    const res = await request("POST", `/swarm/leave?force=${force ? "true" : "false"}`);
    if (res.statusCode === 200) return;
    if (res.statusCode === 503 && /not part of a swarm/i.test(apiMessage(res))) return;
    throw apiError(`leave the swarm${force ? " (forced)" : ""}`, res);
}

/** `GET /swarm` (on a manager): the cluster and its join tokens; undefined when this engine is no manager of a swarm. */
export async function inspectSwarm(): Promise<SwarmInspect | undefined> {
    const res = await request("GET", "/swarm");
    if (res.statusCode === 503 || res.statusCode === 406) return undefined;
    if (res.statusCode !== 200) throw apiError("inspect the swarm", res);
    return res.body as SwarmInspect;
}

/** `docker node inspect` (on a manager); undefined when there is no such node. */
export async function inspectNode(id: string): Promise<NodeInspect | undefined> {
    const res = await request("GET", `/nodes/${encodeURIComponent(id)}`);
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) throw apiError(`inspect swarm node ${id}`, res);
    return res.body as NodeInspect;
}

/** `docker node ls` (on a manager). */
export async function listNodes(): Promise<NodeInspect[]> {
    const res = await request("GET", "/nodes");
    if (res.statusCode !== 200) throw apiError("list the swarm's nodes", res);
    return res.body as NodeInspect[];
}

/**
 * `docker node update` (on a manager): sets the node's whole spec. Retried
 * when the node changed meanwhile (its version moved: a heartbeat, a status
 * change), as the docker CLI leaves to the user.
 */
export async function updateNode(id: string, change: (spec: NodeSpec) => NodeSpec): Promise<void> {
    for (let attempt = 0; ; attempt++) {
        const node = await inspectNode(id);
        if (!node) throw new DockerApiError(`failed to update swarm node ${id}: the managers know no such node`, 404, undefined);
        const res = await request("POST", `/nodes/${encodeURIComponent(id)}/update?version=${node.Version.Index}`, change(node.Spec));
        if (res.statusCode === 200) return;
        if (attempt < 5 && /update out of sequence/i.test(apiMessage(res))) continue;
        throw apiError(`update swarm node ${id}`, res);
    }
}

/** `docker node rm [--force]` (on a manager). Already gone is success. */
export async function removeNode(id: string, force: boolean): Promise<void> {
    const res = await request("DELETE", `/nodes/${encodeURIComponent(id)}?force=${force ? "true" : "false"}`);
    if (res.statusCode === 200 || res.statusCode === 404) return;
    throw apiError(`remove swarm node ${id}`, res);
}
