// DockerContainer as the engine receives it, and its checks.
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import { netModeOf, portsRefusal } from "../modes";
import {
    checkContainerName,
    checkEndpoints,
    checkFields,
    checkImage,
    checkLabels,
    checkNetworkMode,
    checkPorts,
    checkRestartPolicy,
    checkStringArray,
    containsUnknown,
    InputFailure,
    isBuiltinNetworkMode,
} from "../validation";

/** One endpoint on a user-defined network. */
export interface EndpointInput {
    /** Network name or id. */
    network: string;
    /** Static IPv4 address on that network (`docker run --ip`). Default: Docker's IPAM picks one. */
    ipv4Address?: string;
    /** Static IPv6 address on that network (`docker run --ip6`); the network needs an IPv6 subnet. Default: Docker's IPAM picks one when the network has IPv6. */
    ipv6Address?: string;
    /** Extra DNS names of the container on that network (`--network-alias`). */
    aliases?: string[];
}

export interface DockerContainerInputs {
    name: string;
    image: string;
    command?: string[];
    env?: string[];
    networkMode: string;
    networks?: EndpointInput[];
    ports?: string[];
    restartPolicy?: string;
    labels: Record<string, string>;
    owner: string;
}

export interface DockerContainerOutputs extends DockerContainerInputs {
    containerId: string;
    running: boolean;
    /**
     * With network mode `container:`, false when the container is no longer in
     * its target's network namespace (the target restarted and this one stayed
     * in the old, orphaned namespace). Absent for other modes.
     */
    joined?: boolean;
}

export function checkDockerContainerInputs(inputs: Record<string, unknown>): InputFailure[] {
    const failures = checkFields(inputs, {
        name: { check: checkContainerName, required: true },
        image: { check: checkImage, required: true },
        command: { check: checkStringArray },
        env: { check: checkStringArray },
        networkMode: { check: checkNetworkMode, required: true },
        networks: { check: checkEndpoints },
        ports: { check: checkPorts },
        restartPolicy: { check: checkRestartPolicy },
        labels: { check: checkLabels },
    });
    const mode = inputs.networkMode;
    if (typeof mode !== "string" || containsUnknown(mode) || failures.some((f) => f.property === "networkMode")) return failures;
    const ports = inputs.ports;
    const portsReason = Array.isArray(ports) && ports.length > 0 ? portsRefusal(netModeOf(mode), mode) : undefined;
    if (portsReason) failures.push({ property: "ports", reason: portsReason });
    const networks = inputs.networks;
    if (Array.isArray(networks) && networks.length > 0 && !containsUnknown(networks) && !failures.some((f) => f.property === "networks")) {
        if (isBuiltinNetworkMode(mode)) {
            failures.push({
                property: "networks",
                reason: `\`networks\` needs a user-defined network as the network mode; with ${mode} the container cannot join other networks here; use a user-defined network mode`,
            });
        } else if ((networks[0] as EndpointInput).network !== mode) {
            failures.push({
                property: "networks",
                reason: `\`networks[0].network\` must be the network mode's network ${JSON.stringify(mode)}`,
            });
        }
    }
    return failures;
}
