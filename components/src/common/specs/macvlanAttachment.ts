// MacvlanAttachment as the engine receives it (inputs with defaults applied,
// the outputs it records) and its checks; and the modes of the two kinds of
// link that sit on a parent interface, which Network's macvlan and ipvlan
// drivers share.
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import { addressPart, familyOf, isLinkLocal, parseAddress, sameAddress } from "../address";
import {
    checkCidrList,
    checkContainerRef,
    checkFields,
    checkIfName,
    checkIPv4,
    checkIPv6,
    checkMac,
    checkMtu,
    containsUnknown,
    gatewayEdgeFailure,
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
    /** The IPv6 default gateway (route `::/0`) through this interface: the LAN's router (link-local, or on an IPv6 address's subnet); absent: none is set. */
    ipv6Gateway?: string;
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
    /** The IPv6 default gateway in effect through this interface ("" for none; absent in what versions before it stored). */
    effectiveIpv6Gateway?: string;
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
        ipv6Gateway: { check: checkIPv6 },
        containerIfName: { check: checkIfName, required: true },
        mtu: { check: checkMtu },
        mac: { check: checkMac },
    });
    const bad = (k: string) => failures.some((f) => f.property === k);
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    const { kind, mode, addresses, mac } = inputs;
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
        // Each address once: checkCidrList's rule. A gateway is its family's: on the subnet of an address of that
        // family (IPv6's may be link-local, as a router's advertisements name it: on every link).
        for (const [field, family, name] of [
            ["gateway", 4, "IPv4"],
            ["ipv6Gateway", 6, "IPv6"],
        ] as const) {
            const gateway = inputs[field];
            if (typeof gateway !== "string" || containsUnknown(gateway) || bad(field)) continue;
            const same = (addresses as string[]).filter((a) => familyOf(a) === family);
            if (same.some((a) => sameAddress(addressPart(a), gateway))) {
                fail(field, `\`${field}\` ${gateway} is one of this attachment's own \`addresses\`; use the LAN router's address`);
            } else if (same.length === 0) {
                fail(
                    field,
                    `\`${field}\` needs an ${name} address ${family === 4 ? "on its subnet " : ""}in \`addresses\`: the default route must reach it; add one, or drop \`${field}\``,
                );
            } else if (family === 6 && isLinkLocal(parseAddress(gateway)!)) {
                continue;
            } else if (!same.some((a) => inSubnet(gateway, a))) {
                fail(
                    field,
                    `\`${field}\` ${gateway} is outside the subnets of \`addresses\` (${same.join(", ")}): the default route could not reach it; use the LAN router's address on one of them${family === 6 ? " (or its link-local one, fe80::...)" : ""}`,
                );
            } else {
                const i = (addresses as string[]).findIndex((a) => familyOf(a) === family && inSubnet(gateway, a));
                const reason = gatewayEdgeFailure(
                    gateway,
                    (addresses as string[])[i],
                    { gateway: field, address: `addresses[${i}]` },
                    "the LAN router's",
                );
                if (reason) fail(field, reason);
            }
        }
    }
    return failures;
}
