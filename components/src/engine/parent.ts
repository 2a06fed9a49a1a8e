// The checks of a parent interface: the host interface a macvlan or ipvlan
// sits on (a MacvlanAttachment's `parent`, a Network's of driver macvlan or
// ipvlan). One rule for both, made before anything is touched:
//   - the kernel has the kind (host/linkKinds.ts reads it);
//   - what the kernel refuses: a parent that does not exist, is not Ethernet
//     (loopback, a tunnel), is a port of a bridge (the bridge holds its
//     frames: "Device or resource busy"), or is itself a macvlan or ipvlan
//     (the kernel would silently use its parent); macvlans and ipvlans mixed
//     on one parent; anything beside a passthru macvlan; an MTU above the
//     parent's;
//   - what is not ours to build on: an interface another resource of this
//     library makes, and deletes and makes again as it changes (a veth's host
//     end, a VXLAN device). A Bridge is fine: it is there to be built on.
//
// Engine side: loaded by the dynamic-provider process.

import { describeOwner, parseOwnerMark } from "../common/naming";
import { SublinkKind } from "../common/specs/macvlanAttachment";
import { InputFailure } from "../common/validation";
import { currentHostKey } from "../host/hostScope";
import * as ip from "../host/ip";
import { kernelHasLinkKind } from "../host/linkKinds";
import { DockerSublinkNetwork, dockerNetworksOn, Sublink, sublinksOf } from "./observe";
import { claim, claimsIn, isClaimed } from "./registry";

/** The kernel option that gives each kind of link, for the message that says it is missing. */
export const KERNEL_OPTION: Record<string, string> = {
    macvlan: "CONFIG_MACVLAN",
    ipvlan: "CONFIG_IPVLAN",
    dummy: "CONFIG_DUMMY",
    vlan: "CONFIG_VLAN_8021Q",
};

/** How people call a kind, where its name is not enough. */
const KIND_NAME: Record<string, string> = { vlan: "802.1Q VLAN" };

/** "this kernel", or "the kernel of host b" inside another host's scope. */
export function theKernel(): string {
    const host = currentHostKey();
    return host === "" ? "this kernel" : `the kernel of host ${host}`;
}

/** "this kernel has no ipvlan support" when the current host's kernel cannot make links of `kind`; undefined when it can, or cannot be asked. */
export async function kernelLacks(kind: string): Promise<string | undefined> {
    return (await kernelHasLinkKind(kind)) === false ? `${theKernel()} has no ${KIND_NAME[kind] ?? kind} support` : undefined;
}

/** How a resource means to use a parent. */
export interface ParentUse {
    /** The input naming the parent, e.g. `parent`. */
    field: string;
    kind: SublinkKind;
    /** The inputs naming the kind and the mode: `kind`/`mode` (attachment), `driver`/`mode` (network). */
    kindField: string;
    modeField: string;
    mode: string;
    /** The resource's owner mark: its own links are not counted as others'. */
    owner: string;
    /** What it is, for the stack's claims: an attachment makes one link, a network one per container. */
    role: "attachment" | "network";
    /** The MTU of the link it makes, when it sets one. */
    mtu?: number;
}

/** What the checks of a parent found, for the checks that follow (addresses). */
export interface ParentFindings {
    failures: InputFailure[];
    /** The parent as read, or undefined when it does not exist (yet). */
    link?: ip.LinkInfo & { addr_info: ip.AddressInfo[] };
    /** Other macvlans and ipvlans on it. */
    children: Sublink[];
    /** Docker's macvlan and ipvlan networks on it (but the resource's own). */
    networks: DockerSublinkNetwork[];
    /** This stack's other resources that use it (claimed in this deployment). */
    claims: ParentClaim[];
}

/** A claim of this stack on a parent: what uses it, how. */
export interface ParentClaim {
    role: "attachment" | "network";
    kind: SublinkKind;
    mode: string;
    owner: string;
}

/**
 * Records how this resource uses `parent` (so that two resources of the
 * stack that cannot share it are caught at preview, before either exists)
 * and returns the stack's other uses of it.
 */
export function claimParent(parent: string, use: ParentUse): ParentClaim[] {
    const mine: ParentClaim = { role: use.role, kind: use.kind, mode: use.mode, owner: use.owner };
    claim(`sublink@${parent}`, [JSON.stringify(mine)], use.owner);
    return claimsIn(`sublink@${parent}`)
        .filter(([, owner]) => owner !== use.owner)
        .map(([key]) => JSON.parse(key) as ParentClaim);
}

const article = (kind: string) => (kind === "ipvlan" ? "an" : "a");

/**
 * What the host (and the stack's other claims) say against making a link of
 * `use.kind` on `parent`. With `namespaces`, links in every container's
 * namespace are counted too (the deployment's shared scan; at preview).
 */
export async function checkParent(parent: string, use: ParentUse, namespaces: boolean): Promise<ParentFindings> {
    const failures: InputFailure[] = [];
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    const p = `\`${use.field}\` "${parent}"`;
    const others = claimParent(parent, use);

    const link = await ip.getLinkWithAddresses(parent);
    if (!link) {
        if (!isClaimed("bridge", parent))
            fail(
                use.field,
                `${p} does not exist on this host; name an existing interface (\`ip link\` lists them), or pass the Bridge resource that makes it`,
            );
        return { failures, children: [], networks: [], claims: others };
    }
    const kind = link.linkinfo?.info_kind;
    const mark = parseOwnerMark(link.ifalias);
    if (link.flags.includes("LOOPBACK") || link.link_type === "loopback") {
        fail(use.field, `${p} is the loopback interface: a ${use.kind} needs an Ethernet parent; name the interface on the LAN`);
    } else if (link.link_type !== undefined && link.link_type !== "ether") {
        fail(
            use.field,
            `${p} is not an Ethernet interface (link type ${link.link_type}): a ${use.kind} needs one; name the interface on the LAN`,
        );
    } else if (kind === "macvlan" || kind === "ipvlan") {
        const its = link.link ? `"${link.link}"` : "its own parent";
        fail(
            use.field,
            `${p} is itself ${article(kind)} ${kind} (of ${its}); the kernel would use ${its} instead: name that as the parent`,
        );
    } else if (link.master) {
        fail(
            use.field,
            `${p} is a port of "${link.master}", which takes every frame that arrives on it, so the kernel refuses ${article(use.kind)} ${use.kind} on it (device busy); use "${link.master}" itself as the parent, or an interface that is no port`,
        );
    } else if (mark && mark.type !== "Bridge") {
        fail(
            use.field,
            `${p} is made by ${describeOwner(link.ifalias!)}, which deletes it and makes it again as it changes; name an interface of the host's, or a Bridge`,
        );
    }
    if (use.mtu !== undefined && use.mtu > link.mtu) {
        fail(
            "mtu",
            `\`mtu\` ${use.mtu} is above the MTU of parent "${parent}" (${link.mtu}): ${article(use.kind)} ${use.kind} cannot be larger than its parent; set at most ${link.mtu}, or raise the parent's`,
        );
    }
    if (failures.length > 0) return { failures, link, children: [], networks: [], claims: others };

    const children = (await sublinksOf(parent, namespaces)).filter((c) => c.owner !== use.owner);
    const networks = (await dockerNetworksOn(parent)).filter((n) => n.owner !== use.owner);
    const users = [
        ...children.map((c) => ({ kind: c.kind, mode: c.mode, who: `${c.kind} ${c.holder}` })),
        ...networks.map((n) => ({ kind: n.driver, mode: n.mode, who: `Docker's ${n.driver} network "${n.name}"` })),
        ...others.map((o) => ({ kind: o.kind, mode: o.mode, who: `${o.kind} of ${describeOwner(o.owner)}` })),
    ];
    const otherKind = users.find((u) => u.kind !== use.kind);
    const passthru = users.find((u) => u.kind === "macvlan" && u.mode === "passthru");
    if (otherKind) {
        fail(
            use.field,
            `${p} already carries ${otherKind.who}: one parent carries macvlans or ipvlans, not both (the kernel refuses it); use ${use.kindField} ${otherKind.kind}, or another parent`,
        );
    } else if (use.kind === "macvlan" && use.mode === "passthru" && users.length > 0) {
        fail(
            use.modeField,
            `\`${use.modeField}\` passthru takes parent "${parent}" for one macvlan alone, but it already carries ${users[0].who}; use ${use.modeField} bridge, or another parent`,
        );
    } else if (passthru) {
        fail(use.field, `${p} is taken by ${passthru.who} in mode passthru, which has the parent for itself; choose another parent`);
    }
    return { failures, link, children, networks, claims: others };
}
