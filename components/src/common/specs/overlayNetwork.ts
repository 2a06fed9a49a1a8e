// The overlay driver of Network: a Docker network that spans the nodes of a
// swarm (common/specs/swarm.ts), made on the swarm's first manager, joined by
// plain containers on any node (`--attachable`). What it adds to a Network's
// inputs, and the rules that keep the drivers' options apart.
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import { checkBoolean, containsUnknown, InputFailure } from "../validation";
import { checkHost, HostSpec } from "./host";
import type { NetworkDriver } from "./network";
import { NETWORK_DRIVERS } from "./network";

/** What an overlay Network knows of its swarm. */
export interface OverlaySwarm {
    /** The swarm (SwarmCluster's clusterId): the network's host must be a manager of it. */
    clusterId: string;
    /** Every node's host (absent: this machine): their kernels must carry what the network needs (IPsec for `encrypted`). */
    nodes: { host?: HostSpec }[];
}

function show(value: unknown): string {
    return JSON.stringify(value) ?? String(value);
}

/** Options of one driver given to the other, and a driver Docker's other drivers would need here. */
export function checkOverlayFields(inputs: Record<string, unknown>): InputFailure[] {
    const failures: InputFailure[] = [];
    const given = (k: string) => inputs[k] !== undefined && inputs[k] !== null;
    const driver = inputs.driver;
    // Which drivers there are is checked with the others' options (specs/network.ts).
    if (given("driver") && !containsUnknown(driver) && !NETWORK_DRIVERS.includes(driver as NetworkDriver)) return failures;
    if (driver === "overlay") {
        if (!given("swarm")) {
            failures.push({
                property: "swarm",
                reason: "`swarm` is required with driver overlay: the Swarm whose nodes the network spans",
            });
        } else if (!containsUnknown(inputs.swarm)) {
            const s = inputs.swarm as Partial<OverlaySwarm>;
            if (typeof s !== "object" || typeof s.clusterId !== "string" || !Array.isArray(s.nodes)) {
                failures.push({ property: "swarm", reason: `\`swarm\` must be { clusterId, nodes }; got ${show(s)}` });
            } else {
                s.nodes.forEach((n, i) => failures.push(...checkHost(`swarm.nodes[${i}].host`, n?.host, containsUnknown)));
            }
        }
        for (const [k, why] of [
            ["bridgeName", "an overlay's bridge lives in Docker's own namespace for the network, not on the host"],
            ["icc", "containers on an overlay always reach each other (use `internal` to cut the way out)"],
            ["masquerade", "an overlay's way out is Docker's docker_gwbridge, masqueraded by Docker (use `internal` to have none)"],
        ] as const) {
            if (given(k) && !containsUnknown(inputs[k]) && !(k !== "bridgeName" && inputs[k] === true)) {
                failures.push({ property: k, reason: `\`${k}\` is an option of driver bridge: ${why}; remove it` });
            }
        }
        for (const k of ["attachable", "encrypted"]) {
            const reason = given(k) && !containsUnknown(inputs[k]) ? checkBoolean(k, inputs[k]) : undefined;
            if (reason) failures.push({ property: k, reason });
        }
        if (inputs.attachable === false) {
            failures.push({
                property: "attachable",
                reason: "`attachable` false leaves the overlay to swarm services, which this library does not make; its Containers need it true (the default)",
            });
        }
    } else {
        for (const k of ["swarm", "attachable", "encrypted"]) {
            if (given(k)) {
                failures.push({
                    property: k,
                    reason: `\`${k}\` is an option of driver overlay (a network across the hosts of a Swarm); this network's driver is ${typeof driver === "string" ? driver : "bridge"}; remove \`${k}\`, or make the network an overlay (give \`swarm\`)`,
                });
            }
        }
    }
    return failures;
}
