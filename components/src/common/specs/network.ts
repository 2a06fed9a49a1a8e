// Network (a Docker network: driver bridge, macvlan or ipvlan) as the engine
// receives it, and its checks.
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import { checkOverlayFields, OverlaySwarm } from "./overlayNetwork";
import {
    checkCidr,
    checkContainerName,
    checkFields,
    checkIfName,
    checkIPv4,
    checkLabels,
    checkMtu,
    checkSubnet,
    containsUnknown,
    inSubnet,
    InputFailure,
    parseCidr,
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
        bridgeName: { check: checkIfName },
        mtu: { check: checkMtu },
        labels: { check: checkLabels },
    });
    failures.push(...checkOverlayFields(inputs));
    const bad = new Set(failures.map((f) => f.property));
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
    const { subnet, gateway, ipRange } = inputs as Record<string, string | undefined>;
    if (containsUnknown([subnet, gateway, ipRange])) return failures;
    if ((gateway || ipRange) && !subnet) {
        failures.push({
            property: gateway ? "gateway" : "ipRange",
            reason: `\`${gateway ? "gateway" : "ipRange"}\` needs \`subnet\`: set the subnet they belong to`,
        });
    } else if (subnet && !bad.has("subnet")) {
        if (gateway && !bad.has("gateway") && !inSubnet(gateway, subnet)) {
            failures.push({ property: "gateway", reason: `\`gateway\` ${gateway} is outside \`subnet\` ${subnet}` });
        } else if (gateway && !bad.has("gateway")) {
            const reason = checkCidr("gateway", `${gateway}/${subnet.split("/")[1]}`);
            if (reason) failures.push({ property: "gateway", reason });
        }
        if (
            ipRange &&
            !bad.has("ipRange") &&
            !(inSubnet(ipRange.split("/")[0], subnet) && parseCidr(ipRange)!.prefix >= parseCidr(subnet)!.prefix)
        ) {
            failures.push({ property: "ipRange", reason: `\`ipRange\` ${ipRange} must lie inside \`subnet\` ${subnet}` });
        }
    }
    return failures;
}
