// Bandwidth of the VethAttachment and the VethLink, as their providers call
// it: which device caps which direction, the steps of a change, the
// read-back, and the checks that need the host. The primitives are in
// engine/bandwidth.ts; the providers only call these functions, so that the
// veth code stays as it is.
//
// Engine side: loaded by the dynamic-provider process.

import { Bandwidth, sameBandwidth } from "../../common/specs/bandwidth";
import type { VethAttachmentOutputs } from "../../common/specs/vethAttachment";
import type { VethLinkInputs, VethLinkOutputs } from "../../common/specs/vethLink";
import { InputFailure } from "../../common/validation";
import * as ip from "../../host/ip";
import { isOwnedBy, markedByMac } from "../../common/naming";
import {
    bandwidthOf,
    capsOf,
    egressCapSteps,
    ifbOf,
    ingressCapSteps,
    netemFailure,
    readEgressCap,
    readIngressCap,
    removeIngressCapSteps,
} from "../bandwidth";
import { HOST, Netns, Step } from "../plan";

// ---- VethAttachment: the host end caps both directions (the container cannot undo it) ----

/**
 * The steps that bring a VethAttachment's limits from `before` to `after`:
 * what the container receives is what the host end sends (its root tbf);
 * what the container sends is what the host end receives (through the ifb).
 */
export function attachmentSteps(hostIfName: string, owner: string, before: Bandwidth | undefined, after: Bandwidth | undefined): Step[] {
    const was = capsOf(before);
    const will = capsOf(after);
    const host = { dev: hostIfName, ns: HOST };
    return [...egressCapSteps(host, was.ingress, will.ingress), ...ingressCapSteps(host, ifbOf(owner), was.egress, will.egress)];
}

/** The ifb's removal, when a VethAttachment goes (a veth takes its qdiscs with it, not the ifb). */
export function attachmentCleanupSteps(hostIfName: string, owner: string): Step[] {
    return removeIngressCapSteps({ dev: hostIfName, ns: HOST }, ifbOf(owner)).filter((s) => s.kind === "ip");
}

/** True when this attachment's ifb exists on the host (marked as its own): its delete removes it. */
export async function attachmentHasIfb(owner: string): Promise<boolean> {
    const ifb = ifbOf(owner);
    const link = await ip.getLink(ifb.name);
    return link !== undefined && (isOwnedBy(link.ifalias, owner) || markedByMac(link, owner, "ifb"));
}

/** The limits the host end has now; `declared` as given when tc has them alike (so that a refresh changes nothing). */
export async function readAttachmentBandwidth(props: VethAttachmentOutputs): Promise<Bandwidth | undefined> {
    if (props.bandwidth === undefined) return undefined;
    const host = { dev: props.hostIfName, ns: HOST };
    const live = bandwidthOf(await readEgressCap(host), await readIngressCap(host, ifbOf(props.owner)));
    return sameBandwidth(live, props.bandwidth) ? props.bandwidth : live;
}

// ---- VethLink: each end caps what it sends, inside its container ----

/** What each end's device sends: its own egress, or what the other end asks to receive. */
function linkCaps(inputs: Pick<VethLinkInputs, "a" | "b">): {
    a: ReturnType<typeof capsOf>["egress"];
    b: ReturnType<typeof capsOf>["egress"];
} {
    const a = capsOf(inputs.a.bandwidth);
    const b = capsOf(inputs.b.bandwidth);
    return { a: a.egress ?? b.ingress, b: b.egress ?? a.ingress };
}

/** The steps that bring a VethLink's limits from `olds` to `news` (`a` and `b`: each end's namespace). */
export function linkSteps(
    olds: Pick<VethLinkInputs, "a" | "b"> | undefined,
    news: Pick<VethLinkInputs, "a" | "b">,
    a: Netns,
    b: Netns,
): Step[] {
    const was = olds ? linkCaps(olds) : { a: undefined, b: undefined };
    const will = linkCaps(news);
    return [
        ...egressCapSteps({ dev: news.a.ifName, ns: a }, was.a, will.a),
        ...egressCapSteps({ dev: news.b.ifName, ns: b }, was.b, will.b),
    ];
}

/** Each end's limits as tc has them now (for ends that declare some); `declared` as given when alike. */
export async function readLinkBandwidth(props: VethLinkOutputs, aPid: number, bPid: number): Promise<{ a?: Bandwidth; b?: Bandwidth }> {
    if (props.a.bandwidth === undefined && props.b.bandwidth === undefined) return {};
    const sends = {
        a: await readEgressCap({ dev: props.a.ifName, ns: { pid: aPid, label: "a" } }),
        b: await readEgressCap({ dev: props.b.ifName, ns: { pid: bPid, label: "b" } }),
    };
    const out: { a?: Bandwidth; b?: Bandwidth } = {};
    for (const [side, other] of [
        ["a", "b"],
        ["b", "a"],
    ] as const) {
        const declared = props[side].bandwidth;
        if (declared === undefined) continue;
        // What this end receives is what the other end sends.
        const live = bandwidthOf(
            declared.ingressRate !== undefined ? sends[other] : undefined,
            declared.egressRate !== undefined ? sends[side] : undefined,
        );
        out[side] = sameBandwidth(live, declared) ? declared : live;
    }
    return out;
}

// ---- checks ----

/** The bandwidth checks that need the host (netem). */
export async function bandwidthHostFailures(field: string, b: Bandwidth | undefined): Promise<InputFailure[]> {
    const why = await netemFailure(field, b);
    return why ? [{ property: field.split(".")[0], reason: why }] : [];
}
