// Bridge as the engine receives it, and its checks.
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import { checkBoolean, checkCidr, checkFields, checkIfName, checkMac, checkMtu, InputFailure } from "../validation";

export interface BridgeInputs {
    name: string;
    addresses?: string[];
    mtu?: number;
    stp?: boolean;
    vlanFiltering?: boolean;
    up: boolean;
    /**
     * Use a bridge that exists already, and never delete it (false: create it,
     * and refuse a name that is taken). Absent in stacks deployed before 0.2,
     * which adopted whatever existed.
     */
    adopt?: boolean;
    /** The MAC of a created bridge (a bridge otherwise takes its ports' lowest, which changes as they come and go). */
    mac?: string;
    owner: string;
}

export interface BridgeOutputs extends BridgeInputs {
    /** True when the bridge existed before this resource (adopted): it will never be deleted by it. */
    adopted: boolean;
    /** Addresses this resource added to an adopted bridge (taken back on destroy). */
    addedAddresses: string[];
}

function checkAddresses(field: string, value: unknown): string | undefined {
    if (!Array.isArray(value)) return `\`${field}\` must be a list of addresses like ["10.20.0.1/24"]; got ${JSON.stringify(value)}`;
    for (const [i, a] of value.entries()) {
        const reason = checkCidr(`${field}[${i}]`, a);
        if (reason) return reason;
    }
    return undefined;
}

export function checkBridgeInputs(inputs: Record<string, unknown>): InputFailure[] {
    return checkFields(inputs, {
        name: { check: checkIfName, required: true },
        addresses: { check: checkAddresses },
        mtu: { check: checkMtu },
        adopt: { check: checkBoolean },
        mac: { check: checkMac },
    });
}
