// Network (a Docker network) as the engine receives it, and its checks.
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import {
    checkCidr,
    checkContainerName,
    checkFields,
    checkIfName,
    checkIPv4,
    checkLabels,
    checkMtu,
    checkSubnet,
    containsUnknown,
    inSubnet,
    InputFailure,
} from "../validation";
import { parseCidr } from "../address";

export interface NetworkInputs {
    name: string;
    subnet?: string;
    gateway?: string;
    ipRange?: string;
    bridgeName?: string;
    internal: boolean;
    icc: boolean;
    masquerade: boolean;
    mtu?: number;
    labels: Record<string, string>;
    owner: string;
}

export interface NetworkOutputs extends NetworkInputs {
    networkId: string;
    /** The Linux bridge Docker made for the network (`bridgeName`, or `br-<id>`). */
    bridge: string;
}

export function checkNetworkInputs(inputs: Record<string, unknown>): InputFailure[] {
    const failures = checkFields(inputs, {
        name: { check: checkContainerName, required: true },
        subnet: { check: checkSubnet },
        gateway: { check: checkIPv4 },
        ipRange: { check: checkSubnet },
        bridgeName: { check: checkIfName },
        mtu: { check: checkMtu },
        labels: { check: checkLabels },
    });
    const bad = new Set(failures.map((f) => f.property));
    const { subnet, gateway, ipRange } = inputs as Record<string, string | undefined>;
    if (containsUnknown([subnet, gateway, ipRange])) return failures;
    if ((gateway || ipRange) && !subnet) {
        failures.push({
            property: gateway ? "gateway" : "ipRange",
            reason: `\`${gateway ? "gateway" : "ipRange"}\` needs \`subnet\`: set the subnet they belong to`,
        });
    } else if (subnet && !bad.has("subnet")) {
        if (gateway && !bad.has("gateway") && !inSubnet(gateway, subnet)) {
            failures.push({ property: "gateway", reason: `\`gateway\` ${gateway} is outside \`subnet\` ${subnet}` });
        } else if (gateway && !bad.has("gateway")) {
            const reason = checkCidr("gateway", `${gateway}/${subnet.split("/")[1]}`);
            if (reason) failures.push({ property: "gateway", reason });
        }
        if (
            ipRange &&
            !bad.has("ipRange") &&
            !(inSubnet(ipRange.split("/")[0], subnet) && parseCidr(ipRange)!.prefix >= parseCidr(subnet)!.prefix)
        ) {
            failures.push({ property: "ipRange", reason: `\`ipRange\` ${ipRange} must lie inside \`subnet\` ${subnet}` });
        }
    }
    return failures;
}
