// VethLink as the engine receives it, and its checks.
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import { checkCidr, checkCidrList, checkContainerRef, checkIfName, checkMac, checkMtu, containsUnknown, InputFailure } from "../validation";
import { Bandwidth, checkLinkBandwidth } from "./bandwidth";

export interface VethLinkEnd {
    container: string;
    ifName: string;
    /** The end's one address (either family). Not with `addresses`. */
    address?: string;
    /** The end's addresses, IPv4 and IPv6 (dual-stack). Not with `address`. */
    addresses?: string[];
    mac?: string;
    /** Limits on the traffic into and out of this end's container over the link. */
    bandwidth?: Bandwidth;
}

/** An end's addresses, whichever form gives them (none when neither is given). */
export function endAddresses(end: { address?: string; addresses?: string[] }): string[] {
    return end.addresses ?? (end.address !== undefined ? [end.address] : []);
}

export interface VethLinkInputs {
    a: VethLinkEnd;
    b: VethLinkEnd;
    mtu?: number;
    owner: string;
}

export interface VethLinkOutputs extends VethLinkInputs {
    aContainerId: string;
    bContainerId: string;
}

function checkEnd(side: "a" | "b", end: unknown): InputFailure[] {
    if (typeof end !== "object" || end === null) {
        return [
            {
                property: side,
                reason: `\`${side}\` must be { container, ifName, address? or addresses?, mac?, bandwidth? }; got ${JSON.stringify(end)}`,
            },
        ];
    }
    const e = Object.fromEntries(Object.entries(end).filter(([, v]) => !containsUnknown(v)));
    const known = (k: string) => k in e || !(k in (end as object));
    const reasons = [
        !known("container")
            ? undefined
            : e.container === undefined
              ? `\`${side}.container\` is required`
              : checkContainerRef(`${side}.container`, e.container),
        !known("ifName") ? undefined : e.ifName === undefined ? `\`${side}.ifName\` is required` : checkIfName(`${side}.ifName`, e.ifName),
        e.address === undefined ? undefined : checkCidr(`${side}.address`, e.address),
        e.addresses === undefined ? undefined : checkCidrList(`${side}.addresses`, e.addresses),
        e.address !== undefined && e.addresses !== undefined
            ? `give \`${side}.address\` or \`${side}.addresses\`, not both: \`${side}.addresses\` lists every address of the end (IPv4 and IPv6), e.g. ["10.30.0.1/30", "fd17:30::1/64"]`
            : undefined,
        e.mac === undefined ? undefined : checkMac(`${side}.mac`, e.mac),
    ];
    return reasons.filter((r): r is string => r !== undefined).map((reason) => ({ property: side, reason }));
}

export function checkVethLinkInputs(inputs: Record<string, unknown>): InputFailure[] {
    const failures = [...("a" in inputs ? checkEnd("a", inputs.a) : []), ...("b" in inputs ? checkEnd("b", inputs.b) : [])];
    if (inputs.mtu !== undefined && !containsUnknown(inputs.mtu)) {
        const reason = checkMtu("mtu", inputs.mtu);
        if (reason) failures.push({ property: "mtu", reason });
    }
    const a = inputs.a as VethLinkEnd | undefined;
    const b = inputs.b as VethLinkEnd | undefined;
    if (a && b && failures.length === 0 && !containsUnknown(a.container) && a.container === b.container) {
        failures.push({ property: "b", reason: "`a.container` and `b.container` are the same container: a link joins two namespaces" });
    }
    failures.push(...checkLinkBandwidth(inputs));
    return failures;
}
