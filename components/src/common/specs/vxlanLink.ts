// VxlanLink as the engine receives it, and its checks: a VXLAN tunnel that
// joins a bridge on one host and a bridge on another, so that what is
// attached to either bridge shares one L2 segment.
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import { Family, familyOf } from "../address";
import { checkAddress, checkIfName, checkMac, checkMtu, containsUnknown, InputFailure } from "../validation";
import { checkHost, HostSpec } from "./host";

/** The IANA port of VXLAN. */
export const VXLAN_PORT = 4789;
/** Bytes VXLAN adds over IPv4: outer IPv4 (20) + UDP (8) + VXLAN (8) + the inner Ethernet header (14). */
export const VXLAN_OVERHEAD = 50;
/** Bytes VXLAN adds over IPv6: outer IPv6 (40) + UDP (8) + VXLAN (8) + the inner Ethernet header (14). */
export const VXLAN_OVERHEAD_IPV6 = 70;

/** What VXLAN adds to a frame over an underlay of `family`. */
export function vxlanOverhead(family: Family): number {
    return family === 6 ? VXLAN_OVERHEAD_IPV6 : VXLAN_OVERHEAD;
}
export const MAX_VNI = 16777215;

/** One side: a bridge on one host, and that host's VXLAN device towards the other side. */
export interface VxlanLinkEnd {
    /** The host (undefined: this machine). */
    host?: HostSpec;
    /** The bridge the VXLAN device joins. */
    bridge: string;
    /** This host's underlay address, IPv4 or IPv6 (both sides of one family): the other side sends the tunnel's UDP datagrams to it. */
    underlay: string;
    /** The VXLAN device's name. */
    ifName: string;
    /** The VXLAN device's MAC. */
    mac?: string;
    /** The owner mark of this side's device (its interface alias): the link's mark on this side's host. */
    owner: string;
}

export interface VxlanLinkInputs {
    a: VxlanLinkEnd;
    b: VxlanLinkEnd;
    /** VXLAN network identifier, 1-16777215. */
    vni: number;
    /** UDP port. */
    port: number;
    /** MTU of both devices. Default: the smaller underlay MTU of the two sides minus 50 (70 over IPv6), so that nothing fragments. */
    mtu?: number;
    /** The link's owner mark (for messages and claims; each side's device carries its own host's mark). */
    owner: string;
}

export interface VxlanLinkOutputs extends VxlanLinkInputs {
    /** The MTU both devices have (the given one, or the default computed at create). */
    effectiveMtu: number;
    /** The default MTU computed at create from the underlay devices. */
    autoMtu: number;
}

function show(value: unknown): string {
    return JSON.stringify(value) ?? String(value);
}

function checkEnd(side: "a" | "b", end: unknown): InputFailure[] {
    if (typeof end !== "object" || end === null || Array.isArray(end)) {
        return [{ property: "", reason: `\`${side}\` must be { host?, bridge, underlay, ifName?, mac? }; got ${show(end)}` }];
    }
    const e = end as Record<string, unknown>;
    const reasons: (string | undefined)[] = [];
    const field = (k: string, check: (f: string, v: unknown) => string | undefined, required = true) => {
        if (containsUnknown(e[k])) return;
        if (e[k] === undefined || e[k] === null) reasons.push(required ? `\`${side}.${k}\` is required` : undefined);
        else reasons.push(check(`${side}.${k}`, e[k]));
    };
    field("bridge", checkIfName);
    field("underlay", checkAddress);
    field("ifName", checkIfName);
    field("mac", checkMac, false);
    // No property: the engine would print the side's value with the message, and its `host` may hold a key.
    const failures = reasons.filter((r): r is string => r !== undefined).map((reason) => ({ property: "", reason }));
    return [...failures, ...checkHost(`${side}.host`, e.host, containsUnknown)];
}

export function checkVxlanLinkInputs(inputs: Record<string, unknown>): InputFailure[] {
    const failures = [...("a" in inputs ? checkEnd("a", inputs.a) : []), ...("b" in inputs ? checkEnd("b", inputs.b) : [])];
    const { vni, port, mtu } = inputs;
    if (!containsUnknown(vni)) {
        if (vni === undefined) failures.push({ property: "vni", reason: "`vni` is required: the VXLAN network identifier, 1-16777215" });
        else if (typeof vni !== "number" || !Number.isInteger(vni) || vni < 1 || vni > MAX_VNI)
            failures.push({ property: "vni", reason: `\`vni\` must be an integer from 1 to ${MAX_VNI}; got ${show(vni)}` });
    }
    if (port !== undefined && !containsUnknown(port) && (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)) {
        failures.push({ property: "port", reason: `\`port\` must be a UDP port, 1-65535 (VXLAN's is ${VXLAN_PORT}); got ${show(port)}` });
    }
    if (mtu !== undefined && !containsUnknown(mtu)) {
        const reason = checkMtu("mtu", mtu);
        if (reason) failures.push({ property: "mtu", reason });
    }
    const a = inputs.a as Partial<VxlanLinkEnd> | undefined;
    const b = inputs.b as Partial<VxlanLinkEnd> | undefined;
    if (a && b && failures.length === 0 && !containsUnknown([a.host, b.host]) && (a.host?.name ?? "") === (b.host?.name ?? "")) {
        failures.push({
            property: "",
            reason: `\`a\` and \`b\` are both on ${a.host ? `host ${a.host.name}` : "this machine"}: a VxlanLink joins bridges on two hosts (on one host, use a VethLink or one bridge)`,
        });
    }
    if (a && b && failures.length === 0 && !containsUnknown([a.underlay, b.underlay]) && a.underlay === b.underlay) {
        failures.push({
            property: "",
            reason: `\`a.underlay\` and \`b.underlay\` are the same address ${a.underlay}: each side has its own`,
        });
    }
    if (a && b && failures.length === 0 && !containsUnknown([a.underlay, b.underlay]) && familyOf(a.underlay!) !== familyOf(b.underlay!)) {
        failures.push({
            property: "",
            reason: `\`a.underlay\` ${a.underlay} and \`b.underlay\` ${b.underlay} are of two families: the tunnel runs over IPv4 or over IPv6; give both sides addresses of one`,
        });
    }
    return failures;
}
