// VethAttachment as the engine receives it: inputs with defaults applied,
// the outputs it records, and the checks of both.
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import { familyOf } from "../address";
import {
    checkBoolean,
    checkCidr,
    checkCidrList,
    checkContainerRef,
    checkFields,
    checkGatewayInSubnet,
    checkIfName,
    checkIPv4,
    checkIPv6,
    checkMac,
    checkMtu,
    containsUnknown,
    InputFailure,
} from "../validation";
import { Bandwidth, checkBandwidth } from "./bandwidth";

/** Inputs as the provider sees them: defaults applied, owner mark set. */
export interface VethAttachmentInputs {
    container: string;
    bridge: string;
    /**
     * The bridge's addresses as the program declares them, when it is a Bridge
     * the program creates (not set by users): when they no longer include the
     * gateway in use, the default route moves in the same up.
     */
    bridgeAddresses?: string[];
    /** The one address (either family): the form stacks made before `addresses` have. Not with `addresses`. */
    address?: string;
    /** The addresses, IPv4 and IPv6 (dual-stack). Not with `address`. */
    addresses?: string[];
    /** The IPv4 default gateway. */
    gateway?: string;
    /** The IPv6 default gateway. */
    ipv6Gateway?: string;
    defaultRoute: boolean;
    containerIfName: string;
    hostIfName: string;
    mtu?: number;
    mac?: string;
    /** Limits on the traffic into and out of the container through this interface, applied on the host end. */
    bandwidth?: Bandwidth;
    /** Ownership mark, stored as the host end's interface alias. */
    owner: string;
}

export interface VethAttachmentOutputs extends VethAttachmentInputs {
    /** Full id of the container the attachment lives in. */
    containerId: string;
    /** The IPv4 default gateway in effect (the given one, or the bridge's address); empty without one. */
    effectiveGateway: string;
    /** The IPv6 default gateway in effect; empty without one. Absent for an attachment without IPv6 (and before IPv6). */
    effectiveIpv6Gateway?: string;
    /** The bridge's IPv4 address (in the attachment's subnet) when last read: the default gateway. */
    bridgeAddress: string;
    /** The bridge's IPv6 address (in the attachment's subnet) when last read; absent without IPv6. */
    bridgeIpv6Address?: string;
    /** Both ends administratively up. */
    up: boolean;
}

/** The attachment's addresses, whichever form gives them: `addresses`, or the one `address`. */
export function attachmentAddresses(inputs: { address?: string; addresses?: string[] }): string[] {
    return inputs.addresses ?? (inputs.address !== undefined ? [inputs.address] : []);
}

/** The field that holds the attachment's `i`-th address, for messages: `address` or `addresses[i]`. */
export function addressField(inputs: { addresses?: unknown }, i: number): string {
    return inputs.addresses !== undefined ? `addresses[${i}]` : "address";
}

/**
 * The rule of the two address forms: `address` (one address, as stacks
 * always had) or `addresses` (a list, for dual-stack), not both: a list and
 * an extra address beside it would leave the reader guessing which wins.
 */
export function addressFormFailures(inputs: Record<string, unknown>, what = "attachment"): InputFailure[] {
    const { address, addresses } = inputs;
    if (address !== undefined && address !== null && addresses !== undefined && addresses !== null) {
        return [
            {
                property: "addresses",
                reason: `give \`address\` or \`addresses\`, not both: \`addresses\` lists every address of the ${what} (IPv4 and IPv6), e.g. ["172.17.0.3/16", "fd17:ac11::3/64"]`,
            },
        ];
    }
    return [];
}

export function checkVethAttachmentInputs(inputs: Record<string, unknown>): InputFailure[] {
    const failures = checkFields(inputs, {
        container: { check: checkContainerRef, required: true },
        bridge: { check: checkIfName, required: true },
        address: { check: checkCidr },
        addresses: { check: (f, v) => checkCidrList(f, v, { nonEmpty: true }) },
        gateway: { check: checkIPv4 },
        ipv6Gateway: { check: checkIPv6 },
        defaultRoute: { check: checkBoolean },
        containerIfName: { check: checkIfName, required: true },
        hostIfName: { check: checkIfName, required: true },
        mtu: { check: checkMtu },
        mac: { check: checkMac },
    });
    failures.push(...addressFormFailures(inputs));
    const { address, addresses } = inputs;
    if ((address === undefined || address === null) && (addresses === undefined || addresses === null)) {
        failures.push({ property: "address", reason: "`address` is required (or `addresses`, a list of IPv4 and IPv6 addresses)" });
    }
    const bad = new Set(failures.map((f) => f.property));
    if (bad.has("address") || bad.has("addresses") || containsUnknown([address, addresses])) return failures;
    const list = attachmentAddresses(inputs as { address?: string; addresses?: string[] });
    for (const [field, family, name] of [
        ["gateway", 4, "IPv4"],
        ["ipv6Gateway", 6, "IPv6"],
    ] as const) {
        const gateway = inputs[field];
        if (typeof gateway !== "string" || containsUnknown(gateway) || bad.has(field)) continue;
        const i = list.findIndex((a) => familyOf(a) === family);
        if (i < 0) {
            failures.push({
                property: field,
                reason: `\`${field}\` ${gateway} is an ${name} gateway, and the attachment has no ${name} address; add one, or remove \`${field}\``,
            });
            continue;
        }
        const reason = checkGatewayInSubnet(gateway, list[i], { gateway: field, address: addressField(inputs, i) });
        if (reason) failures.push({ property: field, reason });
    }
    for (const reason of checkBandwidth("bandwidth", inputs.bandwidth)) failures.push({ property: "bandwidth", reason });
    return failures;
}
