// Network (a Docker network) as the engine receives it, and its checks.
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import { Family, parseCidr, within } from "../address";
import {
    checkBoolean,
    checkCidr,
    checkContainerName,
    checkFields,
    checkIfName,
    checkIPv4,
    checkIPv6,
    checkLabels,
    checkMtu,
    checkSubnet,
    containsUnknown,
    inSubnet,
    InputFailure,
} from "../validation";

export interface NetworkInputs {
    name: string;
    subnet?: string;
    gateway?: string;
    ipRange?: string;
    /**
     * IPv6 on the network (`docker network create --ipv6`). Absent: on when
     * `ipv6Subnet` is given, else off (networks made before IPv6 have none).
     */
    enableIpv6?: boolean;
    ipv6Subnet?: string;
    ipv6Gateway?: string;
    ipv6Range?: string;
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

/** True when the network has IPv6: asked for, or implied by an IPv6 subnet. */
export function networkHasIPv6(inputs: Pick<NetworkInputs, "enableIpv6" | "ipv6Subnet">): boolean {
    return inputs.enableIpv6 ?? inputs.ipv6Subnet !== undefined;
}

/** The fields of one family's addressing: subnet, gateway, range. */
const FIELDS: Record<Family, { subnet: string; gateway: string; range: string }> = {
    4: { subnet: "subnet", gateway: "gateway", range: "ipRange" },
    6: { subnet: "ipv6Subnet", gateway: "ipv6Gateway", range: "ipv6Range" },
};

/** Subnet, gateway and range of one family must agree: one rule for IPv4 and IPv6. */
function familyFailures(inputs: Record<string, unknown>, family: Family, bad: Set<string>): InputFailure[] {
    const f = FIELDS[family];
    const [subnet, gateway, range] = [inputs[f.subnet], inputs[f.gateway], inputs[f.range]] as (string | undefined)[];
    if (containsUnknown([subnet, gateway, range])) return [];
    const failures: InputFailure[] = [];
    if ((gateway || range) && !subnet) {
        const field = gateway ? f.gateway : f.range;
        failures.push({
            property: field,
            reason: `\`${field}\` needs \`${f.subnet}\`: set the ${family === 4 ? "" : "IPv6 "}subnet they belong to`,
        });
    } else if (subnet && !bad.has(f.subnet)) {
        if (gateway && !bad.has(f.gateway) && !inSubnet(gateway, subnet)) {
            failures.push({ property: f.gateway, reason: `\`${f.gateway}\` ${gateway} is outside \`${f.subnet}\` ${subnet}` });
        } else if (gateway && !bad.has(f.gateway)) {
            const reason = checkCidr(f.gateway, `${gateway}/${subnet.split("/")[1]}`);
            if (reason) failures.push({ property: f.gateway, reason });
        }
        if (range && !bad.has(f.range) && !within(parseCidr(range)!, parseCidr(subnet)!)) {
            failures.push({ property: f.range, reason: `\`${f.range}\` ${range} must lie inside \`${f.subnet}\` ${subnet}` });
        }
    }
    return failures;
}

export function checkNetworkInputs(inputs: Record<string, unknown>): InputFailure[] {
    const failures = checkFields(inputs, {
        name: { check: checkContainerName, required: true },
        subnet: { check: checkSubnet },
        gateway: { check: checkIPv4 },
        ipRange: { check: checkSubnet },
        enableIpv6: { check: checkBoolean },
        ipv6Subnet: { check: (f, v) => checkSubnet(f, v, 6) },
        ipv6Gateway: { check: checkIPv6 },
        ipv6Range: { check: (f, v) => checkSubnet(f, v, 6) },
        bridgeName: { check: checkIfName },
        mtu: { check: checkMtu },
        labels: { check: checkLabels },
    });
    const bad = new Set(failures.map((f) => f.property));
    failures.push(...familyFailures(inputs, 4, bad), ...familyFailures(inputs, 6, bad));
    if (inputs.enableIpv6 === false) {
        const given = ["ipv6Subnet", "ipv6Gateway", "ipv6Range"].filter((k) => inputs[k] !== undefined && inputs[k] !== null);
        if (given.length > 0)
            failures.push({
                property: "enableIpv6",
                reason: `\`enableIpv6\` is false, but \`${given[0]}\` is given: IPv6 addressing needs IPv6 on; drop \`enableIpv6: false\` (or the IPv6 fields)`,
            });
    }
    return failures;
}
