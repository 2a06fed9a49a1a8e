// Docker networks through the Engine API (see docker.ts for the client).
//
// Engine side: loaded by the dynamic-provider process. No Pulumi imports.

import { apiError, apiMessage, request } from "./docker";

export interface NetworkInspect {
    Id: string;
    Name: string;
    Driver: string;
    /** `local`, or `swarm` for a network of a swarm (an overlay). */
    Scope?: string;
    Internal: boolean;
    Attachable?: boolean;
    IPAM: { Config: { Subnet?: string; Gateway?: string; IPRange?: string }[] | null };
    Options: Record<string, string> | null;
    Labels: Record<string, string> | null;
    /** With an IPv6 subnet (`docker network create --ipv6`). */
    EnableIPv6?: boolean;
    Containers: Record<string, { Name: string; IPv4Address: string; IPv6Address?: string }> | null;
}

export interface NetworkCreateSpec {
    name: string;
    /** Default bridge. */
    driver?: "bridge" | "macvlan" | "ipvlan" | "overlay";
    /** Overlay: plain containers may join. */
    attachable?: boolean;
    subnet?: string;
    gateway?: string;
    ipRange?: string;
    /** `--ipv6`: the network has IPv6, with `ipv6Subnet` or one Docker picks from its pools. */
    enableIpv6?: boolean;
    ipv6Subnet?: string;
    ipv6Gateway?: string;
    ipv6Range?: string;
    internal: boolean;
    options: Record<string, string>;
    labels: Record<string, string>;
}

export async function inspectNetwork(nameOrId: string): Promise<NetworkInspect | undefined> {
    const res = await request("GET", `/networks/${encodeURIComponent(nameOrId)}`);
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) throw apiError(`inspect network "${nameOrId}"`, res);
    return res.body as NetworkInspect;
}

/** Creates a network (driver bridge, macvlan or ipvlan, or overlay on a swarm manager) and returns its id. */
export async function createNetwork(spec: NetworkCreateSpec): Promise<string> {
    const ipam = [
        ...(spec.subnet ? [{ Subnet: spec.subnet, Gateway: spec.gateway, IPRange: spec.ipRange }] : []),
        ...(spec.ipv6Subnet ? [{ Subnet: spec.ipv6Subnet, Gateway: spec.ipv6Gateway, IPRange: spec.ipv6Range }] : []),
    ];
    const res = await request("POST", "/networks/create", {
        Name: spec.name,
        Driver: spec.driver ?? "bridge",
        ...(spec.attachable === undefined ? {} : { Attachable: spec.attachable }),
        CheckDuplicate: true,
        EnableIPv6: spec.enableIpv6 === true,
        Internal: spec.internal,
        IPAM: { Driver: "default", Config: ipam },
        Options: spec.options,
        Labels: spec.labels,
    });
    if (res.statusCode !== 201) throw apiError(`create network "${spec.name}"`, res);
    return (res.body as { Id: string }).Id;
}

/**
 * Removes a network. Already gone is success; one still in use is an error
 * saying by whom. A swarm network is held a few seconds after its last
 * container went, until the managers drop that node's attachment ("in use by
 * task"): that wait is made here.
 */
export async function removeNetwork(id: string): Promise<void> {
    let res = await request("DELETE", `/networks/${encodeURIComponent(id)}`);
    for (let waited = 0; /in use by task/.test(apiMessage(res)) && waited < 30000; waited += 500) {
        await new Promise((r) => setTimeout(r, 500));
        res = await request("DELETE", `/networks/${encodeURIComponent(id)}`);
    }
    if (res.statusCode === 204 || res.statusCode === 404) return;
    const users = Object.values((await inspectNetwork(id))?.Containers ?? {})
        .map((c) => c.Name)
        .sort();
    if (users.length > 0) {
        throw new Error(
            `failed to remove network "${id}": containers ${users.map((u) => `"${u}"`).join(", ")} are still connected; ` +
                "disconnect them (or remove the resources that connected them) first",
        );
    }
    throw apiError(`remove network "${id}"`, res);
}

/** Every network, as `docker network ls` lists them (without their containers). */
export async function listNetworks(): Promise<NetworkInspect[]> {
    const res = await request("GET", "/networks");
    if (res.statusCode !== 200) throw apiError("list networks", res);
    return res.body as NetworkInspect[];
}

/** The Linux bridge behind a bridge-driver network: its name option, `docker0` for the default one, or `br-<id>`. */
export function bridgeOfNetwork(n: Pick<NetworkInspect, "Id" | "Name" | "Options">): string {
    return n.Options?.["com.docker.network.bridge.name"] ?? (n.Name === "bridge" ? "docker0" : `br-${n.Id.slice(0, 12)}`);
}
