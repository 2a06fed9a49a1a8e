// VxlanLink, engine side: a point-to-point VXLAN tunnel between a bridge on
// host A and a bridge on host B (either may be this machine). Each side is a
// VXLAN device (same VNI and UDP port, `local` its own underlay address,
// `remote` the other's) that joins its bridge, so that everything attached
// to either bridge shares one L2 segment. The devices' MTU leaves room for
// the 50 bytes of encapsulation (70 over an IPv6 underlay), so that the underlay never fragments.
//
// The pair is one resource: created together (the first side is taken back
// if the second fails), read together (one side gone is the link gone: `up`
// makes it again, taking over the side that is left), deleted together.
// Changed in place where the kernel allows: MTU, bridges, underlay addresses;
// the VNI, port, names, MACs and hosts replace it.
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import * as addr from "../../common/address";
import { isOwnedBy } from "../../common/naming";
import { hostLabel } from "../../common/specs/host";
import { checkVxlanLinkInputs, vxlanOverhead, VxlanLinkEnd, VxlanLinkInputs, VxlanLinkOutputs } from "../../common/specs/vxlanLink";
import { containsUnknown, InputFailure } from "../../common/validation";
import { bridgeExists, claimedTwice, nameTaken, push, RuleName } from "../rules";
import { HostUnreachableError } from "../../host/errors";
import * as ip from "../../host/ip";
import { onHost, sshConnection } from "../../host/ssh";
import { hostAddresses } from "../observe";
import { describe, execute, HOST, ipStep, making, Plan } from "../plan";
import { claim } from "../registry";
import { definedOnly, sameValue, storedProps } from "./props";

type Side = "a" | "b";
const SIDES: readonly Side[] = ["a", "b"];
const other = (side: Side): Side => (side === "a" ? "b" : "a");

/** `on host b` / `on this machine`, for step texts. */
function on(end: VxlanLinkEnd): string {
    return `on ${hostLabel(end.host)}`;
}

/** Runs `fn` on the side's host, after making sure that the host answers. */
async function atSide<T>(end: VxlanLinkEnd, fn: () => Promise<T>): Promise<T> {
    return onHost(end.host, async () => {
        if (end.host) await sshConnection(end.host).ensure();
        return fn();
    });
}

/** The steps that make one side: its VXLAN device towards the peer, on its bridge, marked, up. */
function createSide(inputs: VxlanLinkInputs, side: Side, mtu: number | undefined): Plan {
    const end = inputs[side];
    const peer = inputs[other(side)];
    return {
        steps: [
            making(
                ipStep(
                    `create VXLAN device ${end.ifName} (VNI ${inputs.vni}, UDP ${inputs.port}, ${end.underlay} -> ${peer.underlay}${mtu === undefined ? "" : `, MTU ${mtu}`}) ${on(end)}`,
                    HOST,
                    [
                        ip.addVxlan({
                            name: end.ifName,
                            vni: inputs.vni,
                            port: inputs.port,
                            local: end.underlay,
                            remote: peer.underlay,
                            mtu,
                            mac: end.mac,
                        }),
                    ],
                ),
            ),
            ipStep(`mark ${end.ifName} as ${end.owner}, attach it to bridge ${end.bridge}, bring it up ${on(end)}`, HOST, [
                ip.setLink(end.ifName, { alias: end.owner, master: end.bridge, up: true }),
            ]),
        ],
        undo: [ipStep(`delete VXLAN device ${end.ifName} ${on(end)}`, HOST, [ip.deleteLink(end.ifName)])],
    };
}

function deleteSide(props: VxlanLinkInputs, side: Side): Plan {
    const end = props[side];
    return { steps: [ipStep(`delete VXLAN device ${end.ifName} ${on(end)}`, HOST, [ip.deleteLink(end.ifName)])] };
}

/** The host operations of a create, side a then side b (`leftovers`: sides marked as this link's by an interrupted run). */
export function planCreate(inputs: VxlanLinkInputs, mtu?: number, leftovers: Side[] = []): Record<Side, Plan> {
    const plans = { a: createSide(inputs, "a", mtu), b: createSide(inputs, "b", mtu) };
    for (const side of leftovers) {
        const end = inputs[side];
        plans[side].steps.unshift(
            ipStep(`remove ${end.ifName}, left marked as this link's by an interrupted run or gone from its peer, ${on(end)}`, HOST, [
                ip.deleteLink(end.ifName),
            ]),
        );
    }
    return plans;
}

/** The host operations of an in-place update, per side. */
export function planUpdate(olds: VxlanLinkOutputs, news: VxlanLinkInputs, mtu: number): Record<Side, Plan> {
    const plan = (side: Side): Plan => {
        const before = olds[side];
        const after = news[side];
        const steps = [];
        if (before.underlay !== after.underlay || olds[other(side)].underlay !== news[other(side)].underlay) {
            steps.push(
                ipStep(`set the underlay of ${before.ifName} to ${after.underlay} -> ${news[other(side)].underlay} ${on(after)}`, HOST, [
                    ip.setVxlanPeers(before.ifName, after.underlay, news[other(side)].underlay),
                ]),
            );
        }
        const master = before.bridge !== after.bridge ? after.bridge : undefined;
        const what = [mtu !== olds.effectiveMtu ? `MTU ${mtu}` : "", master ? `bridge ${master}` : ""].filter(Boolean);
        const text = what.length > 0 ? `set ${what.join(", ")} on ${before.ifName} and bring it up` : `bring ${before.ifName} up`;
        steps.push(
            ipStep(`${text} ${on(after)}`, HOST, [
                ip.setLink(before.ifName, { mtu: mtu !== olds.effectiveMtu ? mtu : undefined, master, up: true }),
            ]),
        );
        return { steps };
    };
    return { a: plan("a"), b: plan("b") };
}

/** For the preview report: what a change would run, with nothing observed. */
export function describeChange(op: "create" | "update" | "delete", olds?: VxlanLinkOutputs, news?: VxlanLinkInputs): string[] {
    if (op === "create") {
        const plans = planCreate(news!, news!.mtu);
        return [...describe(plans.a), ...describe(plans.b)];
    }
    if (op === "delete") return [...describe(deleteSide(olds!, "a")), ...describe(deleteSide(olds!, "b"))];
    const plans = planUpdate(olds!, news!, news!.mtu ?? olds!.autoMtu);
    return [...describe(plans.a), ...describe(plans.b)];
}

/** The live device of one side, or undefined when it is gone or not this link's. */
async function readSide(end: VxlanLinkEnd): Promise<ip.LinkInfo | undefined> {
    return atSide(end, async () => {
        const link = await ip.getLink(end.ifName);
        return link && isOwnedBy(link.ifalias, end.owner) && link.linkinfo?.info_kind === "vxlan" ? link : undefined;
    });
}

/** The shared host rules (engine/rules.ts) that `hostFailures` runs, for `check` and `create` alike. */
export const hostRules: readonly RuleName[] = ["claimed-twice", "bridge-exists", "name-taken"];

/**
 * What the hosts say against these inputs, before anything is touched: each
 * host answers, each bridge exists (or is this stack's), each name is free
 * (or this link's), each underlay address is the host's own, and nothing is
 * claimed twice in this stack on one host.
 */
async function hostFailures(inputs: VxlanLinkInputs, olds?: Partial<VxlanLinkInputs>): Promise<InputFailure[]> {
    const failures: InputFailure[] = [];
    const known = (v: unknown) => v !== undefined && !containsUnknown(v);
    if (!known(inputs.owner)) return failures;
    const unchanged = olds && Object.keys(olds).length > 0 && sameValue(olds.a, inputs.a) && sameValue(olds.b, inputs.b);
    for (const side of SIDES) {
        const end = inputs[side];
        if (!end || !known(end.host ?? null)) continue;
        // No property: the engine would print the side's value with the message, and its `host` may hold a key.
        const fail = (reason: string) => failures.push({ property: "", reason });
        const add = (f: InputFailure | undefined) => push(failures, f);
        try {
            await atSide(end, async () => {
                if (known(end.ifName)) {
                    const owner = claim("ifname@host", [end.ifName], inputs.owner);
                    add(claimedTwice("", `\`${side}.ifName\` "${end.ifName}" on ${hostLabel(end.host)}`, owner));
                }
                if (known(inputs.vni) && known(inputs.port)) {
                    const owner = claim(`vxlan@${inputs.port}`, [String(inputs.vni)], inputs.owner);
                    add(claimedTwice("", `\`vni\` ${inputs.vni} on UDP port ${inputs.port} on ${hostLabel(end.host)}`, owner));
                }
                if (unchanged) return;
                if (known(end.bridge)) {
                    const bridge = await ip.getLink(end.bridge);
                    const link = bridge && { kind: bridge.linkinfo?.info_kind ?? "plain" };
                    add(bridgeExists("", `${side}.bridge`, end.bridge, link, ` on ${hostLabel(end.host)}`));
                }
                if (known(end.ifName)) {
                    const taken = await ip.getLink(end.ifName);
                    const holder = taken && !isOwnedBy(taken.ifalias, end.owner) ? { mark: taken.ifalias ?? null } : undefined;
                    add(nameTaken("", `${side}.ifName`, end.ifName, `on ${hostLabel(end.host)}`, holder));
                }
                if (known(end.underlay)) {
                    const mine = (await hostAddresses()).some((h) => addr.sameAddress(addr.addressPart(h.cidr), end.underlay));
                    if (!mine)
                        fail(
                            `\`${side}.underlay\` ${end.underlay} is not an address of ${hostLabel(end.host)}; give the address the other side reaches it at`,
                        );
                }
            });
        } catch (err) {
            if (!(err instanceof HostUnreachableError)) throw err;
            fail(err.message);
        }
    }
    return failures;
}

/** The default MTU: the smaller MTU of the two underlay devices (the routes to each peer), minus VXLAN's overhead. */
async function defaultMtu(inputs: VxlanLinkInputs): Promise<number> {
    const mtus = await Promise.all(
        SIDES.map((side) =>
            atSide(inputs[side], async () => {
                const peer = inputs[other(side)].underlay;
                const route = await ip.routeTo(peer);
                const dev = route && (await ip.getLink(route.dev));
                if (!dev) {
                    throw new Error(
                        `failed to create VxlanLink "${inputs.a.ifName}"/"${inputs.b.ifName}": ${hostLabel(inputs[side].host)} has no route to ${peer}; check \`${other(side)}.underlay\``,
                    );
                }
                return dev.mtu;
            }),
        ),
    );
    return Math.min(...mtus) - vxlanOverhead(addr.familyOf(inputs.a.underlay) ?? 4);
}

export const vxlanLinkProvider: pulumi.dynamic.ResourceProvider<VxlanLinkInputs, VxlanLinkOutputs> = {
    async check(olds, news) {
        // The kernel reports MACs in lower case and IPv6 addresses in RFC 5952's form: store them so, or every refresh would differ.
        const lower = (e: VxlanLinkEnd) => {
            if (typeof e !== "object" || e === null) return e;
            const out = { ...e };
            if (typeof e.mac === "string") out.mac = e.mac.toLowerCase();
            if (typeof e.underlay === "string") out.underlay = addr.canonical(e.underlay);
            return out;
        };
        const inputs = { ...news, a: lower(news.a), b: lower(news.b) };
        const failures = checkVxlanLinkInputs({ ...inputs });
        if (failures.length === 0) failures.push(...(await hostFailures(inputs, olds)));
        return { inputs, failures };
    },

    async diff(_id, olds, news) {
        const replaces: string[] = [];
        for (const side of SIDES) {
            if ((olds[side].host?.name ?? "") !== (news[side].host?.name ?? "")) replaces.push(`${side}.host`);
            for (const k of ["ifName", "mac", "owner"] as const) {
                if (!sameValue(olds[side][k], news[side][k])) replaces.push(`${side}.${k}`);
            }
            // The kernel cannot move a VXLAN device's underlay to the other family in place.
            if (addr.familyOf(olds[side].underlay) !== addr.familyOf(news[side].underlay)) replaces.push(`${side}.underlay`);
        }
        for (const k of ["vni", "port", "owner"] as const) if (olds[k] !== news[k]) replaces.push(k);
        const inPlace =
            SIDES.some(
                (side) =>
                    olds[side].bridge !== news[side].bridge ||
                    olds[side].underlay !== news[side].underlay ||
                    !sameValue(olds[side].host, news[side].host),
            ) || (news.mtu ?? olds.autoMtu) !== olds.effectiveMtu;
        return { changes: replaces.length > 0 || inPlace, replaces, deleteBeforeReplace: true };
    },

    async create(inputs) {
        // The same checks as the preview's, for values the preview did not know.
        const failures = await hostFailures(inputs);
        if (failures.length > 0)
            throw new Error(
                `failed to create VxlanLink "${inputs.a.ifName}"/"${inputs.b.ifName}":\n${failures.map((f) => `  - ${f.reason}`).join("\n")}`,
            );
        const autoMtu = await defaultMtu(inputs);
        const mtu = inputs.mtu ?? autoMtu;
        // A side marked as this very link's is a leftover (an interrupted run, or its peer was deleted): made again.
        const leftovers: Side[] = [];
        for (const side of SIDES) {
            const end = inputs[side];
            if (isOwnedBy((await atSide(end, () => ip.getLink(end.ifName)))?.ifalias, end.owner)) leftovers.push(side);
        }
        const plans = planCreate(inputs, mtu, leftovers);
        await atSide(inputs.a, () => execute(plans.a));
        try {
            await atSide(inputs.b, () => execute(plans.b));
        } catch (err) {
            // Created as one: side a goes again when side b cannot be made.
            await atSide(inputs.a, () => execute(deleteSide(inputs, "a"))).catch(() => undefined);
            throw err;
        }
        const outs: VxlanLinkOutputs = { ...inputs, effectiveMtu: mtu, autoMtu };
        return {
            id: `${inputs.vni}:${inputs.a.host?.name ?? ""}/${inputs.a.ifName}:${inputs.b.host?.name ?? ""}/${inputs.b.ifName}`,
            outs: definedOnly(outs),
        };
    },

    async read(id, stored) {
        const props = storedProps(stored);
        const links = await Promise.all(SIDES.map((side) => readSide(props[side])));
        if (links.some((l) => l === undefined)) return {};
        const live: VxlanLinkOutputs = { ...props, a: { ...props.a }, b: { ...props.b } };
        for (const [i, side] of SIDES.entries()) {
            const link = links[i]!;
            const data = link.linkinfo?.info_data ?? {};
            live[side].bridge = link.master ?? "";
            const local = data.local ?? data.local6;
            if (local !== undefined) live[side].underlay = local;
            if (props[side].mac !== undefined) live[side].mac = link.address;
            if (data.id !== undefined) live.vni = data.id;
            if (data.port !== undefined) live.port = data.port;
        }
        live.effectiveMtu = links[0]!.mtu !== props.effectiveMtu ? links[0]!.mtu : links[1]!.mtu;
        if (props.mtu !== undefined) live.mtu = live.effectiveMtu;
        return { id, props: definedOnly(live) };
    },

    async update(_id, olds, news) {
        const mtu = news.mtu ?? olds.autoMtu;
        const plans = planUpdate(olds, news, mtu);
        for (const side of SIDES) await atSide(news[side], () => execute(plans[side]));
        return { outs: definedOnly({ ...news, effectiveMtu: mtu, autoMtu: olds.autoMtu }) };
    },

    async delete(_id, props) {
        // Both sides, even when one fails; the link stays in the state until both are gone.
        const errors: unknown[] = [];
        for (const side of SIDES) {
            try {
                if (await readSide(props[side])) await atSide(props[side], () => execute(deleteSide(props, side)));
            } catch (err) {
                errors.push(err);
            }
        }
        if (errors.length === 1) throw errors[0];
        if (errors.length > 1) throw new Error(errors.map((e) => (e instanceof Error ? e.message : String(e))).join("\n"));
    },
};
