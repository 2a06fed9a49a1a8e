// Network (a Docker network: driver bridge, macvlan or ipvlan) as the engine
// receives it, and its checks.
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import { Family, parseCidr, within } from "../address";
import { checkOverlayFields, OverlaySwarm } from "./overlayNetwork";
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
import { checkSublinkKind, sublinkModeFailure, SublinkKind } from "./macvlanAttachment";

/** Docker's network drivers this library makes. Absent in the inputs: `bridge` (as stacks deployed before drivers stored it). */
export type NetworkDriver = "bridge" | "overlay" | SublinkKind;
export const NETWORK_DRIVERS: readonly NetworkDriver[] = ["bridge", "overlay", "macvlan", "ipvlan"];

export interface NetworkInputs {
    name: string;
    /** Docker's driver (absent: bridge, as stacks made before drivers were stored). */
    driver?: NetworkDriver;
    /** macvlan, ipvlan: the host interface the containers' links sit on (Docker's `parent` option). */
    parent?: string;
    /** macvlan: bridge, private, vepa, passthru; ipvlan: l2, l3, l3s (`macvlan_mode`, `ipvlan_mode`). */
    mode?: string;
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
    /** Driver bridge only. */
    icc?: boolean;
    /** Driver bridge only. */
    masquerade?: boolean;
    mtu?: number;
    labels: Record<string, string>;
    owner: string;
    /** Driver overlay only: the swarm it spans (common/specs/overlayNetwork.ts). */
    swarm?: OverlaySwarm;
    /** Driver overlay only: plain containers may join (`--attachable`). */
    attachable?: boolean;
    /** Driver overlay only: IPsec between the nodes (`--opt encrypted`). */
    encrypted?: boolean;
}

export interface NetworkOutputs extends NetworkInputs {
    networkId: string;
    /** The Linux bridge Docker made for the network (`bridgeName`, or `br-<id>`); "" for macvlan and ipvlan, which have none; absent for an overlay. */
    bridge?: string;
    /** An overlay's VXLAN network identifier, as Docker chose it. */
    vni?: number;
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

/** The options of driver bridge, which a macvlan or ipvlan network does not take. */
const BRIDGE_ONLY: Record<string, string> = {
    bridgeName: "it has no Linux bridge",
    mtu: "its containers' links take the parent's MTU (set that)",
};

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
    failures.push(...checkOverlayFields(inputs));
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
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    const { driver, mode, parent } = inputs;
    if (driver !== undefined && driver !== "bridge" && driver !== "overlay" && !containsUnknown(driver)) {
        const reason = checkSublinkKind("driver", driver);
        if (reason) fail("driver", reason.replace("must be macvlan or ipvlan", "must be bridge, macvlan, ipvlan or overlay"));
    }
    const sublink = driver === "macvlan" || driver === "ipvlan" ? (driver as SublinkKind) : undefined;
    if (sublink) {
        if (mode !== undefined && !containsUnknown(mode)) {
            const reason = sublinkModeFailure("mode", mode, sublink, "driver");
            if (reason) fail("mode", reason);
        }
        if (parent !== undefined && !containsUnknown(parent)) {
            const reason = checkIfName("parent", parent);
            if (reason) fail("parent", reason);
        }
        if (inputs.icc === false)
            fail(
                "icc",
                sublink === "macvlan"
                    ? '`icc` is an option of driver bridge; to keep the containers of a macvlan network from reaching each other, use `mode: "private"` and remove `icc`'
                    : "`icc` is an option of driver bridge; Docker's ipvlan driver has none; remove it",
            );
        if (inputs.masquerade === false)
            fail(
                "masquerade",
                `\`masquerade\` is an option of driver bridge; a ${sublink} network's containers are on the parent's LAN with addresses of their own, never masqueraded; remove it`,
            );
        for (const [field, why] of Object.entries(BRIDGE_ONLY)) {
            if (inputs[field] !== undefined)
                fail(field, `\`${field}\` is an option of driver bridge; a ${sublink} network takes none: ${why}; remove it`);
        }
    } else if (driver === undefined || driver === "bridge" || driver === "overlay") {
        for (const field of ["parent", "mode"])
            if (inputs[field] !== undefined)
                fail(field, `\`${field}\` is an option of drivers macvlan and ipvlan; set \`driver\`, or remove \`${field}\``);
    }
    return failures;
}
