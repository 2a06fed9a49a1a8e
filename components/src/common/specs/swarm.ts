// Swarm (Docker's swarm mode over several hosts) as the engine receives it,
// and its checks. Two kinds of resource make one swarm:
//
// - SwarmCluster: `docker swarm init` on the first manager; holds the join
//   tokens (secret outputs) and is deleted by a forced leave of that manager.
// - SwarmNode: one per host, the first manager's included: joins its host
//   (`docker swarm join` with the cluster's token; the first manager is
//   already in), sets the node's labels, role and availability on a manager,
//   and on delete drains it, leaves and is removed from the node list.
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import { parseAddress } from "../address";
import { checkLabels, containsUnknown, InputFailure } from "../validation";
import { checkHost, HostSpec } from "./host";

export type SwarmRole = "manager" | "worker";
export type SwarmAvailability = "active" | "pause" | "drain";

export const SWARM_ROLES: readonly SwarmRole[] = ["manager", "worker"];
export const SWARM_AVAILABILITIES: readonly SwarmAvailability[] = ["active", "pause", "drain"];

/** The swarm's management port (`--listen-addr`'s default). */
export const SWARM_PORT = 2377;

export interface SwarmClusterInputs {
    /** The first manager's host (absent: this machine): where `docker swarm init` runs. */
    host?: HostSpec;
    /** `--advertise-addr`: the first manager's address on the underlay, as the other nodes reach it. */
    advertiseAddress: string;
    /** `--data-path-addr`: the address its overlay (VXLAN) traffic leaves from. Default: the advertise address. */
    dataPathAddress?: string;
    /** `--listen-addr`, `address[:port]`. Default Docker's, 0.0.0.0:2377. */
    listenAddress?: string;
    /** `--data-path-port`: the UDP port of the overlays' VXLAN. Default Docker's, 4789. */
    dataPathPort?: number;
    /** `--default-addr-pool`: where Docker takes overlay subnets given none. Default Docker's, 10.0.0.0/8. */
    defaultAddrPool?: string[];
    /** `--default-addr-pool-mask-length`. Default Docker's, 24. */
    subnetSize?: number;
    owner: string;
}

export interface SwarmClusterOutputs extends SwarmClusterInputs {
    clusterId: string;
    /** The first manager's node id. */
    nodeId: string;
    /** Where the other nodes join: the advertise address and the management port. */
    joinAddress: string;
    /** The join tokens (secret outputs). */
    workerToken: string;
    managerToken: string;
    /** Docker made docker_gwbridge on this host when the swarm came: removed again when it goes. */
    gwbridgeMade?: boolean;
}

/** What a SwarmNode knows of its swarm: the cluster's outputs, and how to reach the manager that made it. */
export interface SwarmRef {
    clusterId: string;
    /** The first manager's host (absent: this machine): node updates and removals go through it. */
    manager?: HostSpec;
    joinAddress: string;
    workerToken: string;
    managerToken: string;
}

export interface SwarmNodeInputs {
    /** The node's host (absent: this machine). */
    host?: HostSpec;
    swarm: SwarmRef;
    /** The first manager, already in the swarm by the cluster's init: it joins nothing and leaves with the cluster. */
    init: boolean;
    role: SwarmRole;
    /** `--advertise-addr` of this node. */
    advertiseAddress?: string;
    /** `--data-path-addr` of this node. */
    dataPathAddress?: string;
    /** `--listen-addr` of this node. */
    listenAddress?: string;
    /** Node labels (`docker node update --label-add`); `io.hostnet.` names are reserved. */
    labels: Record<string, string>;
    availability: SwarmAvailability;
    owner: string;
}

export interface SwarmNodeOutputs extends SwarmNodeInputs {
    nodeId: string;
    /**
     * As the managers see the node: `ready`, `down`, `unknown`, `disconnected`;
     * `left` when the host's engine is in no swarm or in another one.
     */
    state: string;
    /** Docker made docker_gwbridge on this host when it joined: removed again when it leaves. */
    gwbridgeMade?: boolean;
}

function show(value: unknown): string {
    return JSON.stringify(value) ?? String(value);
}

/** An address to advertise or listen on: an IPv4 address, `[IPv6]`, or a host name, with an optional port. */
function checkAddress(field: string, value: unknown, port: "optional" | "none"): string | undefined {
    const notIpv4 = `\`${field}\` must be an IPv4 address${port === "optional" ? " (with an optional :port)" : ""} like 10.0.0.2; got ${show(value)}`;
    // An IPv6 address is refused as such: its last group is no port.
    if (typeof value !== "string" || value === "" || parseAddress(value)?.family === 6) return notIpv4;
    const m = /^(.*?)(?::(\d{1,5}))?$/.exec(value)!;
    const [address, p] = [m[1], m[2]];
    if (p !== undefined && port === "none") return `\`${field}\` takes an address without a port, like 10.0.0.2; got ${show(value)}`;
    if (p !== undefined && (Number(p) < 1 || Number(p) > 65535))
        return `\`${field}\`: port ${p} is not a TCP port; give one from 1 to 65535`;
    if (parseAddress(address)?.family !== 4 && address !== "0.0.0.0") return notIpv4;
    return undefined;
}

/** An IPv4 network for `defaultAddrPool`. */
function checkPool(field: string, value: unknown): string | undefined {
    const reason = `\`${field}\` must be a list of IPv4 networks like ["10.20.0.0/16"]; got ${show(value)}`;
    if (!Array.isArray(value) || value.length === 0) return reason;
    for (const v of value) {
        const m = typeof v === "string" ? /^([\d.]+)\/(\d{1,2})$/.exec(v) : null;
        if (!m || parseAddress(m[1])?.family !== 4 || Number(m[2]) < 1 || Number(m[2]) > 30) return reason;
    }
    return undefined;
}

export function checkSwarmClusterInputs(inputs: Record<string, unknown>): InputFailure[] {
    const failures: InputFailure[] = [];
    const add = (property: string, reason: string | undefined) => reason && failures.push({ property, reason });
    const known = (k: string) => inputs[k] !== undefined && inputs[k] !== null && !containsUnknown(inputs[k]);
    if (inputs.advertiseAddress === undefined) {
        add("advertiseAddress", "`advertiseAddress` is required: the first manager's address, as the other nodes reach it");
    } else if (known("advertiseAddress")) add("advertiseAddress", checkAddress("advertiseAddress", inputs.advertiseAddress, "none"));
    if (known("dataPathAddress")) add("dataPathAddress", checkAddress("dataPathAddress", inputs.dataPathAddress, "none"));
    if (known("listenAddress")) add("listenAddress", checkAddress("listenAddress", inputs.listenAddress, "optional"));
    if (known("dataPathPort")) {
        const p = inputs.dataPathPort;
        if (typeof p !== "number" || !Number.isInteger(p) || p < 1024 || p > 49151) {
            add("dataPathPort", `\`dataPathPort\` must be a UDP port from 1024 to 49151 (Docker's rule; VXLAN's is 4789); got ${show(p)}`);
        }
    }
    if (known("defaultAddrPool")) add("defaultAddrPool", checkPool("defaultAddrPool", inputs.defaultAddrPool));
    if (known("subnetSize")) {
        const s = inputs.subnetSize;
        if (typeof s !== "number" || !Number.isInteger(s) || s < 8 || s > 29) {
            add("subnetSize", `\`subnetSize\` must be a prefix length from 8 to 29 (each overlay's subnet); got ${show(s)}`);
        }
    }
    failures.push(...checkHost("host", inputs.host, containsUnknown));
    return failures;
}

export function checkSwarmNodeInputs(inputs: Record<string, unknown>): InputFailure[] {
    const failures: InputFailure[] = [];
    const add = (property: string, reason: string | undefined) => reason && failures.push({ property, reason });
    const known = (k: string) => inputs[k] !== undefined && inputs[k] !== null && !containsUnknown(inputs[k]);
    if (known("role") && !SWARM_ROLES.includes(inputs.role as SwarmRole)) {
        add("role", `\`role\` must be manager or worker; got ${show(inputs.role)}`);
    }
    if (known("role") && inputs.init === true && inputs.role !== "manager") {
        add("role", "`role`: the first node made the swarm and must stay a manager; make another node the first to change it");
    }
    if (known("availability") && !SWARM_AVAILABILITIES.includes(inputs.availability as SwarmAvailability)) {
        add("availability", `\`availability\` must be active, pause or drain; got ${show(inputs.availability)}`);
    }
    if (known("advertiseAddress")) add("advertiseAddress", checkAddress("advertiseAddress", inputs.advertiseAddress, "none"));
    if (known("dataPathAddress")) add("dataPathAddress", checkAddress("dataPathAddress", inputs.dataPathAddress, "none"));
    if (known("listenAddress")) add("listenAddress", checkAddress("listenAddress", inputs.listenAddress, "optional"));
    if (known("labels")) add("labels", checkLabels("labels", inputs.labels));
    failures.push(...checkHost("host", inputs.host, containsUnknown));
    return failures;
}

/** The address part of `address[:port]`. */
export function addressPart(value: string): string {
    return value.replace(/:\d{1,5}$/, "");
}
