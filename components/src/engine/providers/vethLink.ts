// VethLink, engine side: a veth pair straight between two containers' network
// namespaces, no bridge (a containerlab link). Each end is named, optionally
// addressed, and marked with the owner mark as its interface alias.
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import * as addr from "../../common/address";
import { isOwnedBy, markedByMac } from "../../common/naming";
import { checkVethLinkInputs, endAddresses, VethLinkEnd, VethLinkInputs, VethLinkOutputs } from "../../common/specs/vethLink";
import { failuresError, InputFailure, isKnown } from "../../common/validation";
import { claimedTwice, nameTaken, push, RuleName } from "../rules";
import * as docker from "../../host/docker";
import * as ip from "../../host/ip";
import { dadStep, enableIPv6Step } from "../addressing";
import { describe, execute, ipStep, making, Netns, Plan, Step } from "../plan";
import { claim, claimant } from "../registry";
import { containerFailure, containerNetns } from "./containerNetns";
import { bandwidthHostFailures, linkSteps, readLinkBandwidth } from "./shaping";
import { sameBandwidth } from "../../common/specs/bandwidth";
import { definedOnly, sameValue, storedProps } from "./props";

/** The live state of one end, or undefined when that end is not ours or gone. */
async function readEnd(containerId: string, end: VethLinkEnd, owner: string) {
    const c = await docker.inspectContainer(containerId);
    if (!c || !c.State.Running) return undefined;
    const links = await ip.listLinksWithAddresses(c.State.Pid);
    const link = links.find((l) => l.ifname === end.ifName);
    if (!link || !isOwnedBy(link.ifalias, owner)) return undefined;
    // Link-local IPv6 addresses are the kernel's: never drift. An address that failed duplicate detection is as good as gone.
    const inet = ip.addressCidrs(link.addr_info);
    const key = addr.canonical;
    const has = (cidr: string) => inet.some((l) => key(l) === key(cidr));
    const live: VethLinkEnd = { ...end };
    if (end.addresses !== undefined) {
        // The list is the end's addresses: one added by hand is drift too.
        const declared = end.addresses;
        live.addresses = [...declared.filter(has), ...inet.filter((l) => !declared.some((d) => key(d) === key(l)))];
    } else if (end.address !== undefined) {
        live.address = has(end.address) ? end.address : (inet.filter((l) => addr.familyOf(l) === addr.familyOf(end.address!))[0] ?? "");
    }
    if (end.mac !== undefined) live.mac = link.address;
    return { live, link, pid: c.State.Pid };
}

/** True when an end is this link's: marked as such, or made by it and not marked yet (an interrupted create). */
function ownEnd(link: ip.LinkInfo | undefined, owner: string, side: "a" | "b"): boolean {
    return link !== undefined && (isOwnedBy(link.ifalias, owner) || markedByMac(link, owner, side));
}

/** True when two ends (in two namespaces) are the two ends of one veth pair. */
function peers(x: ip.LinkInfo | undefined, y: ip.LinkInfo | undefined): boolean {
    return x !== undefined && y !== undefined && x.link_index === y.ifindex && y.link_index === x.ifindex;
}

function endNs(end: VethLinkEnd, pid?: number): Netns {
    return { pid, label: `container "${end.container}"` };
}

/** The steps that give an end `cidrs` (IPv6 turned on first when one is IPv6); `existsOk`: an interrupted run may have added them. */
function addressSteps(ns: Netns, dev: string, cidrs: readonly string[], existsOk = false): Step[] {
    if (cidrs.length === 0) return [];
    const text = cidrs.length === 1 ? `add address ${cidrs[0]} to ${dev}` : `add addresses ${cidrs.join(", ")} to ${dev}`;
    return [
        ...[enableIPv6Step(ns, dev, cidrs)].filter((s): s is Step => s !== undefined),
        ipStep(
            text,
            ns,
            cidrs.map((c) => ({ ...ip.addAddress(dev, c), existsOk })),
        ),
    ];
}

/** The wait for duplicate address detection of an end's new IPv6 addresses, when it has any. */
function dadSteps(side: "a" | "b", inputs: VethLinkInputs, ns: Netns, cidrs: readonly string[]): Step[] {
    const other = inputs[side === "a" ? "b" : "a"];
    const step = dadStep(ns, inputs[side].ifName, cidrs, `the link to ${other.ifName} of container "${other.container}"`);
    return step ? [step] : [];
}

/** The host operations of a create; `leftover` names an end of this link's left by an interrupted run. */
export function planCreate(inputs: VethLinkInputs, a: Netns, b: Netns, leftover?: { end: VethLinkEnd; ns: Netns }): Plan {
    const configure = (end: VethLinkEnd, ns: Netns) => [
        ipStep(`mark ${end.ifName} as ${inputs.owner} and bring it up`, ns, [ip.setLink(end.ifName, { alias: inputs.owner, up: true })]),
        ...addressSteps(ns, end.ifName, endAddresses(end)),
    ];
    return {
        steps: [
            ...(leftover
                ? [
                      ipStep(`remove ${leftover.end.ifName}, left by an interrupted run of this link`, leftover.ns, [
                          ip.deleteLink(leftover.end.ifName),
                      ]),
                  ]
                : []),
            // Made inside a's namespace with the peer placed straight into b's: one operation, final names.
            making(
                ipStep(`create veth pair ${inputs.a.ifName} (${a.label}) / ${inputs.b.ifName} (${b.label})`, a, [
                    ip.addVeth({
                        local: { name: inputs.a.ifName, pid: a.pid, mac: inputs.a.mac },
                        peer: { name: inputs.b.ifName, pid: b.pid, mac: inputs.b.mac },
                        mtu: inputs.mtu,
                    }),
                ]),
            ),
            ...configure(inputs.a, a),
            ...configure(inputs.b, b),
            ...linkSteps(undefined, inputs, a, b),
            ...dadSteps("a", inputs, a, endAddresses(inputs.a)),
            ...dadSteps("b", inputs, b, endAddresses(inputs.b)),
        ],
        undo: [ipStep(`delete veth pair ${inputs.a.ifName} / ${inputs.b.ifName}`, a, [ip.deleteLink(inputs.a.ifName)])],
    };
}

export function planUpdate(olds: VethLinkOutputs, news: VethLinkInputs, a: Netns, b: Netns): Plan {
    const steps: Step[] = [];
    const waits: Step[] = [];
    const key = addr.canonical;
    for (const [side, ns] of [
        ["a", a],
        ["b", b],
    ] as const) {
        const dev = olds[side].ifName;
        const before = endAddresses(olds[side]).filter((c) => c !== "");
        const after = endAddresses(news[side]);
        const removed = before.filter((x) => !after.some((y) => key(x) === key(y)));
        const added = after.filter((y) => !before.some((x) => key(x) === key(y)));
        const single = news[side].addresses === undefined && olds[side].addresses === undefined;
        if (single && removed.length + added.length > 0 && removed.length <= 1 && added.length <= 1) {
            // One address for another (or none), as reports always said it.
            steps.push(
                ...[enableIPv6Step(ns, dev, added)].filter((s): s is Step => s !== undefined),
                ipStep(`change address of ${dev} from ${removed[0] || "(none)"} to ${added[0] || "(none)"}`, ns, [
                    removed[0] ? ip.deleteAddress(dev, removed[0]) : undefined,
                    // Already there when an interrupted update added it: the next up goes on from there.
                    added[0] ? { ...ip.addAddress(dev, added[0]), existsOk: true } : undefined,
                ]),
            );
        } else {
            for (const r of removed) steps.push(ipStep(`remove address ${r} from ${dev}`, ns, [ip.deleteAddress(dev, r)]));
            steps.push(...addressSteps(ns, dev, added, true));
        }
        steps.push(
            ipStep(`${news.mtu === undefined ? "" : `set MTU ${news.mtu} on ${dev} and `}bring ${dev} up`, ns, [
                ip.setLink(dev, { mtu: news.mtu, up: true }),
            ]),
        );
        waits.push(...dadSteps(side, { ...news, [side]: { ...news[side], ifName: dev } }, ns, added));
    }
    steps.push(...linkSteps(olds, news, a, b));
    return { steps: [...steps, ...waits] };
}

export function planDelete(props: VethLinkOutputs, from: "a" | "b", ns: Netns): Plan {
    return { steps: [ipStep(`delete veth pair ${props.a.ifName} / ${props.b.ifName}`, ns, [ip.deleteLink(props[from].ifName)])] };
}

/** For the preview report: what a change would run, with nothing observed. */
export function describeChange(op: "create" | "update" | "delete", olds?: VethLinkOutputs, news?: VethLinkInputs): string[] {
    if (op === "create") return describe(planCreate(news!, endNs(news!.a), endNs(news!.b)));
    if (op === "delete") return describe(planDelete(olds!, "a", endNs(olds!.a)));
    return describe(planUpdate(olds!, news!, endNs(olds!.a), endNs(olds!.b)));
}

/** The shared host rules (engine/rules.ts) that `hostFailures` runs, for `check` and `create` alike. */
export const hostRules: readonly RuleName[] = ["claimed-twice", "container-usable", "name-taken"];

/**
 * What the host says against these inputs, before anything is touched: each
 * container exists, runs and has a namespace of its own, each name is free
 * there (or this link's own), and nothing is claimed twice in this stack.
 */
async function hostFailures(inputs: VethLinkInputs, olds?: Partial<VethLinkInputs>): Promise<InputFailure[]> {
    const failures: InputFailure[] = [];
    const known = isKnown;
    if (!known(inputs.owner)) return failures;
    for (const side of ["a", "b"] as const) {
        const end = inputs[side];
        if (!end || !known(end.container)) continue;
        if (known(end.ifName)) {
            const other = claim(`ifname@${end.container}`, [end.ifName], `${inputs.owner}#${side}`);
            push(failures, claimedTwice(side, `\`${side}.ifName\` "${end.ifName}" in container "${end.container}"`, other));
        }
        if (known(end.address) || known(end.addresses)) {
            const space = `address@${end.container}`;
            const mine = `${inputs.owner}#${side}`;
            const cidrs = endAddresses(end);
            claim(
                space,
                cidrs.map((c) => addr.canonical(addr.addressPart(c))),
                mine,
            );
            for (const [i, cidr] of cidrs.entries()) {
                const other = claimant(space, addr.canonical(addr.addressPart(cidr)));
                const field = `${side}.${end.addresses !== undefined ? `addresses[${i}]` : "address"}`;
                push(
                    failures,
                    claimedTwice(side, `\`${field}\` ${cidr} in container "${end.container}"`, other !== mine ? other : undefined),
                );
            }
        }
    }
    if (olds && Object.keys(olds).length > 0 && sameValue(olds.a, inputs.a) && sameValue(olds.b, inputs.b)) return failures;
    const taken: Partial<Record<"a" | "b", ip.LinkInfo>> = {};
    for (const side of ["a", "b"] as const) {
        const end = inputs[side];
        if (!end || !known(end.container)) continue;
        const c = await containerFailure(`${side}.container`, end.container, inputs.owner, "vethLink", side);
        push(failures, c.failure);
        if (c.pid === undefined) continue;
        taken[side] = known(end.ifName) ? await ip.getLink(end.ifName, c.pid) : undefined;
    }
    for (const side of ["a", "b"] as const) {
        const link = taken[side];
        const other = taken[side === "a" ? "b" : "a"];
        // An end of this link's own, or the peer of one (an interrupted create marks one end, then the other).
        const own = ownEnd(link, inputs.owner, side) || (isOwnedBy(other?.ifalias, inputs.owner) && peers(link, other));
        if (!isKnown(inputs[side]?.ifName)) continue;
        const where = `in container "${inputs[side].container}"`;
        push(failures, nameTaken(side, `${side}.ifName`, inputs[side].ifName, where, link && !own ? {} : undefined));
    }
    return failures;
}

export const vethLinkProvider: pulumi.dynamic.ResourceProvider<VethLinkInputs, VethLinkOutputs> = {
    async check(olds, news) {
        // The kernel reports MACs in lower case and IPv6 addresses in RFC 5952's form: store them so, or every refresh would differ.
        const lower = (e: VethLinkEnd) => {
            if (typeof e !== "object" || e === null) return e;
            const out = { ...e };
            if (typeof e.mac === "string") out.mac = e.mac.toLowerCase();
            if (typeof e.address === "string") out.address = addr.canonical(e.address);
            if (Array.isArray(e.addresses)) out.addresses = e.addresses.map((a) => (typeof a === "string" ? addr.canonical(a) : a));
            return out;
        };
        const inputs = { ...news, a: lower(news.a), b: lower(news.b) };
        const failures = checkVethLinkInputs({ ...inputs });
        if (failures.length === 0) failures.push(...(await hostFailures(inputs, olds)));
        for (const side of ["a", "b"] as const) {
            if (failures.length === 0) failures.push(...(await bandwidthHostFailures(`${side}.bandwidth`, inputs[side]?.bandwidth)));
        }
        return { inputs, failures };
    },

    async diff(_id, olds, news) {
        const replaces: string[] = [];
        for (const side of ["a", "b"] as const) {
            for (const k of ["container", "ifName", "mac"] as const) {
                if (!sameValue(olds[side][k], news[side][k])) replaces.push(`${side}.${k}`);
            }
        }
        if (olds.owner !== news.owner) replaces.push("owner");
        const addressesDiffer = (side: "a" | "b") =>
            !sameValue(endAddresses(olds[side]).map(addr.canonical).sort(), endAddresses(news[side]).map(addr.canonical).sort()) ||
            (olds[side].addresses === undefined) !== (news[side].addresses === undefined);
        const inPlace =
            addressesDiffer("a") ||
            addressesDiffer("b") ||
            !sameValue(olds.mtu, news.mtu) ||
            !sameBandwidth(olds.a.bandwidth, news.a.bandwidth) ||
            !sameBandwidth(olds.b.bandwidth, news.b.bandwidth);
        return { changes: replaces.length > 0 || inPlace, replaces, deleteBeforeReplace: true };
    },

    async create(inputs) {
        // The same checks as the preview's, for values the preview did not know.
        const failures = await hostFailures(inputs);
        if (failures.length > 0) throw failuresError(`link "${inputs.a.ifName}"/"${inputs.b.ifName}"`, failures);
        const a = await containerNetns(inputs.a.container, "link", "vethLink", "a.container");
        const b = await containerNetns(inputs.b.container, "link", "vethLink", "b.container");
        const aNs = endNs(inputs.a, a.pid);
        const bNs = endNs(inputs.b, b.pid);
        // An end of this very link's is a leftover of an interrupted run: made again (removing one end removes the pair).
        let leftover: { end: VethLinkEnd; ns: Netns } | undefined;
        for (const [side, end, ns] of [
            ["a", inputs.a, aNs],
            ["b", inputs.b, bNs],
        ] as const) {
            if (ownEnd(await ip.getLink(end.ifName, ns.pid), inputs.owner, side)) leftover ??= { end, ns };
        }
        await execute(planCreate(inputs, aNs, bNs, leftover));
        const outs: VethLinkOutputs = { ...inputs, aContainerId: a.id, bContainerId: b.id };
        return { id: `${a.id.slice(0, 12)}:${inputs.a.ifName}`, outs };
    },

    async read(id, stored) {
        const props = storedProps(stored);
        const a = await readEnd(props.aContainerId, props.a, props.owner);
        const b = await readEnd(props.bContainerId, props.b, props.owner);
        if (!a || !b || a.link.link_index !== b.link.ifindex || b.link.link_index !== a.link.ifindex) return {};
        const live: VethLinkOutputs = { ...props, a: a.live, b: b.live };
        if (props.mtu !== undefined) live.mtu = a.link.mtu;
        const shaped = await readLinkBandwidth(props, a.pid, b.pid);
        if (shaped.a) live.a.bandwidth = shaped.a;
        if (shaped.b) live.b.bandwidth = shaped.b;
        return { id, props: definedOnly(live) };
    },

    async update(_id, olds, news) {
        const a = await containerNetns(olds.aContainerId, "link", "vethLink", "a.container");
        const b = await containerNetns(olds.bContainerId, "link", "vethLink", "b.container");
        await execute(planUpdate(olds, news, endNs(olds.a, a.pid), endNs(olds.b, b.pid)));
        return { outs: definedOnly({ ...news, aContainerId: olds.aContainerId, bContainerId: olds.bContainerId }) };
    },

    async delete(_id, props) {
        // Either end's removal takes the pair; try a's, then b's (a may be gone with its container).
        for (const [side, containerId] of [
            ["a", props.aContainerId],
            ["b", props.bContainerId],
        ] as const) {
            const c = await docker.inspectContainer(containerId);
            if (!c || !c.State.Running) continue;
            const link = await ip.getLink(props[side].ifName, c.State.Pid);
            if (link && isOwnedBy(link.ifalias, props.owner)) {
                await execute(planDelete(props, side, endNs(props[side], c.State.Pid)));
                return;
            }
        }
    },
};
