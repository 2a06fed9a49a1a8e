// Bridge as the engine receives it, and its checks.
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import { checkBoolean, checkCidrList, checkFields, checkIfName, checkMac, checkMtu, InputFailure } from "../validation";

export interface BridgeInputs {
    name: string;
    /** Its own addresses, IPv4 and IPv6, with prefix lengths. */
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
    /**
     * Accept traffic forwarded between the bridge's ports in the host's
     * firewall (a rule marked with `owner`). Absent in stacks deployed before
     * the option: no rule.
     */
    forward?: boolean;
    owner: string;
}

export interface BridgeOutputs extends BridgeInputs {
    /** True when the bridge existed before this resource (adopted): it will never be deleted by it. */
    adopted: boolean;
    /** Addresses this resource added to an adopted bridge (taken back on destroy; each also has a record on the host, see host/records.ts). */
    addedAddresses: string[];
    /** The chain holding the forwarding rule (`DOCKER-USER` or `FORWARD`), while there is one. */
    forwardChain?: string;
    /**
     * Set by a refresh that found the bridge gone (deleted by hand, or
     * another's now) but its firewall rule left: the resource stays in the
     * state, so that `up` makes the bridge again and a delete takes the rule
     * back. Absent otherwise.
     */
    gone?: boolean;
}

/** iptables keeps at most 255 characters of a rule's comment, where the owner mark goes. */
const MAX_RULE_COMMENT = 255;

export function checkBridgeInputs(inputs: Record<string, unknown>): InputFailure[] {
    const failures = checkFields(inputs, {
        name: { check: checkIfName, required: true },
        addresses: { check: checkCidrList },
        mtu: { check: checkMtu },
        adopt: { check: checkBoolean },
        mac: { check: checkMac },
        forward: { check: checkBoolean },
    });
    const owner = inputs.owner;
    if (inputs.forward === true && typeof owner === "string" && owner.length > MAX_RULE_COMMENT)
        failures.push({
            property: "forward",
            reason: `\`forward\`: the bridge's firewall rule carries the owner mark "${owner}" as its comment, and iptables keeps at most ${MAX_RULE_COMMENT} characters of it (this one has ${owner.length}); give the resource (or the stack) a shorter name, or set \`forward: false\``,
        });
    return failures;
}
