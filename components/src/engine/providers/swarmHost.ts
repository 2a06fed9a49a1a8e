// What the swarm providers (swarmCluster.ts, swarmNode.ts) share about the
// host they act on: whether an address to advertise is one of its own, and
// Docker's docker_gwbridge network, which an engine makes when it first takes
// part in a swarm and keeps after it leaves.
//
// Engine side: loaded by the dynamic-provider process.

import { currentHost } from "../../host/hostScope";
import * as networks from "../../host/dockerNetworks";
import { hostAddresses } from "../observe";

/** Docker's bridge network that gives containers on overlays their way out (and the ingress its gateway). */
export const GWBRIDGE = "docker_gwbridge";

function here(): string {
    const h = currentHost();
    return h ? `host ${h.name}` : "this machine";
}

/**
 * Why `address` cannot be advertised by the current host: it is none of its
 * interfaces' addresses (Docker would advertise an address the host does not
 * have, and the overlays' VXLAN would come from elsewhere).
 */
export async function localAddressFailure(field: string, address: string): Promise<string | undefined> {
    const addresses = await hostAddresses();
    if (addresses.some((a) => a.cidr.split("/")[0] === address)) return undefined;
    const shown = addresses
        .filter((a) => a.ifname !== "lo")
        .map((a) => `${a.cidr.split("/")[0]} (${a.ifname})`)
        .slice(0, 8);
    return `\`${field}\` ${address} is no address of ${here()}${shown.length > 0 ? ` (it has ${shown.join(", ")})` : ""}; give the address of its interface the other nodes reach`;
}

export async function gwbridgeExists(): Promise<boolean> {
    return (await networks.inspectNetwork(GWBRIDGE)) !== undefined;
}

/**
 * Removes docker_gwbridge, made for a swarm this library joined, once the
 * engine has left it and no container uses it (its sandbox for the ingress
 * goes a moment after the leave). A network still in use stays.
 */
export async function removeGwbridgeIfMade(): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
        const n = await networks.inspectNetwork(GWBRIDGE);
        if (!n) return;
        // Containers on overlays have an endpoint here (by container id); the ingress sandbox goes with the swarm.
        if (Object.keys(n.Containers ?? {}).some((k) => k !== "ingress-sbox")) return; // in use: it stays
        try {
            await networks.removeNetwork(n.Id);
            return;
        } catch {
            await new Promise((r) => setTimeout(r, 250));
        }
    }
}
