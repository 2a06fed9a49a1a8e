// MacvlanAttachment as the engine receives it (inputs with defaults applied,
// the outputs it records) and its checks; and the modes of the two kinds of
// link that sit on a parent interface, which Network's macvlan and ipvlan
// drivers share.
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import { addressPart, familyOf, sameAddress } from "../address";
import {
    checkCidrList,
    checkContainerRef,
    checkFields,
    checkIfName,
    checkIPv4,
    checkMac,
    checkMtu,
    containsUnknown,
    inSubnet,
    InputFailure,
} from "../validation";

/** A link on a parent interface: a macvlan (a MAC of its own) or an ipvlan (the parent's MAC). */
export type SublinkKind = "macvlan" | "ipvlan";

export const SUBLINK_KINDS: readonly SublinkKind[] = ["macvlan", "ipvlan"];

/**
 * The modes of each kind, the default first: the macvlan modes Docker's
 * driver takes (`macvlan_mode`; the kernel's `source` mode is not one of
 * them), and the ipvlan modes (`ipvlan_mode`).
 */
export const SUBLINK_MODES: Record<SublinkKind, readonly string[]> = {
    macvlan: ["bridge", "private", "vepa", "passthru"],
    ipvlan: ["l2", "l3", "l3s"],
};

/** Why `mode` is not a mode of `kind`, or undefined when it is. `field`/`kindField` name the inputs for the message. */
export function sublinkModeFailure(field: string, mode: unknown, kind: SublinkKind, kindField: string): string | undefined {
    const modes = SUBLINK_MODES[kind];
    if (typeof mode === "string" && modes.includes(mode)) return undefined;
    return `\`${field}\` must be one of ${modes.join(", ")} for ${kind === "macvlan" ? "a" : "an"} ${kind} (\`${kindField}\`); got ${JSON.stringify(mode)}`;
}

export function checkSublinkKind(field: string, value: unknown): string | undefined {
    return typeof value === "string" && (SUBLINK_KINDS as readonly string[]).includes(value)
        ? undefined
        : `\`${field}\` must be macvlan or ipvlan; got ${JSON.stringify(value)}`;
}

export interface MacvlanAttachmentInputs {
    container: string;
    /** The host interface the link sits on (its lower device). */
    parent: string;
    kind: SublinkKind;
    mode: string;
    /**
     * The container-side addresses with their prefix lengths, IPv4 and IPv6
     * (dual-stack); empty: the container addresses itself (a DHCP client in
     * it, say), and nothing is managed.
     */
    addresses: string[];
    /** The IPv4 default gateway through this interface (the LAN's router); absent: no default route is set. */
    gateway?: string;
    containerIfName: string;
    mtu?: number;
    /** macvlan only, and not in passthru mode. */
    mac?: string;
    /** Ownership mark, stored as the interface's alias. */
    owner: string;
}

export interface MacvlanAttachmentOutputs extends MacvlanAttachmentInputs {
    /** Full id of the container the link lives in. */
    containerId: string;
    /** The default gateway in effect through this interface ("" for none). */
    effectiveGateway: string;
    /** The interface is administratively up. */
    up: boolean;
}

export function checkMacvlanAttachmentInputs(inputs: Record<string, unknown>): InputFailure[] {
    const failures = checkFields(inputs, {
        container: { check: checkContainerRef, required: true },
        parent: { check: checkIfName, required: true },
        kind: { check: checkSublinkKind, required: true },
        addresses: { check: checkCidrList, required: true },
        gateway: { check: checkIPv4 },
        containerIfName: { check: checkIfName, required: true },
        mtu: { check: checkMtu },
        mac: { check: checkMac },
    });
    const bad = (k: string) => failures.some((f) => f.property === k);
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    const { kind, mode, addresses, gateway, mac } = inputs;
    if (mode === undefined || mode === null) fail("mode", "`mode` is required");
    const plainKind = typeof kind === "string" && !containsUnknown(kind) && !bad("kind") ? (kind as SublinkKind) : undefined;
    if (plainKind && mode !== undefined && !containsUnknown(mode)) {
        const reason = sublinkModeFailure("mode", mode, plainKind, "kind");
        if (reason) fail("mode", reason);
    }
    if (plainKind === "ipvlan" && mac !== undefined && !containsUnknown(mac)) {
        fail(
            "mac",
            "`mac` cannot be set on an ipvlan: it has its parent's MAC (that is what ipvlan is); remove `mac`, or use kind macvlan",
        );
    } else if (plainKind === "macvlan" && mode === "passthru" && mac !== undefined && !containsUnknown(mac)) {
        fail(
            "mac",
            "`mac` cannot be set on a passthru macvlan: it takes its parent's MAC, and setting one would change the parent's; remove `mac`",
        );
    }
    if (Array.isArray(addresses) && !containsUnknown(addresses) && !bad("addresses")) {
        // Each address once: checkCidrList's rule. The gateway is IPv4's: on the subnet of an IPv4 address.
        if (typeof gateway === "string" && !containsUnknown(gateway) && !bad("gateway")) {
            const v4 = (addresses as string[]).filter((a) => familyOf(a) === 4);
            if (v4.some((a) => sameAddress(addressPart(a), gateway))) {
                fail("gateway", `\`gateway\` ${gateway} is one of this attachment's own \`addresses\`; use the LAN router's address`);
            } else if (!v4.some((a) => inSubnet(gateway, a))) {
                fail(
                    "gateway",
                    v4.length === 0
                        ? "`gateway` needs an IPv4 address on its subnet in `addresses`: the default route must reach it; add one, or drop `gateway`"
                        : `\`gateway\` ${gateway} is outside the subnets of \`addresses\` (${v4.join(", ")}): the default route could not reach it; use the LAN router's address on one of them`,
                );
            }
        }
    }
    return failures;
}
