// VethAttachment as the engine receives it: inputs with defaults applied,
// the outputs it records, and the checks of both.
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import {
    checkBoolean,
    checkCidr,
    checkContainerRef,
    checkFields,
    checkGatewayInSubnet,
    checkIfName,
    checkIPv4,
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
    address: string;
    gateway?: string;
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
    /** The default gateway in effect (the given one, or the bridge's address); empty without a default route. */
    effectiveGateway: string;
    /** The bridge's first IPv4 address when last read: the default gateway. */
    bridgeAddress: string;
    /** Both ends administratively up. */
    up: boolean;
}

export function checkVethAttachmentInputs(inputs: Record<string, unknown>): InputFailure[] {
    const failures = checkFields(inputs, {
        container: { check: checkContainerRef, required: true },
        bridge: { check: checkIfName, required: true },
        address: { check: checkCidr, required: true },
        gateway: { check: checkIPv4 },
        defaultRoute: { check: checkBoolean },
        containerIfName: { check: checkIfName, required: true },
        hostIfName: { check: checkIfName, required: true },
        mtu: { check: checkMtu },
        mac: { check: checkMac },
    });
    const { gateway, address } = inputs;
    if (
        typeof gateway === "string" &&
        typeof address === "string" &&
        !containsUnknown([gateway, address]) &&
        !failures.some((f) => f.property === "gateway" || f.property === "address")
    ) {
        const reason = checkGatewayInSubnet(gateway, address);
        if (reason) failures.push({ property: "gateway", reason });
    }
    for (const reason of checkBandwidth("bandwidth", inputs.bandwidth)) failures.push({ property: "bandwidth", reason });
    return failures;
}
