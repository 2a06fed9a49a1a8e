// Bandwidth limits on the interfaces the library makes, as plan steps and
// read-backs, for the providers that make them (VethAttachment, VethLink).
// Two primitives, as the CNI bandwidth plugin has them:
//   - a cap on what a device sends: a tbf as its root qdisc;
//   - a cap on what a device receives: its ingress redirected to an ifb
//     device (marked with the owner mark, MAC derived from it), whose root tbf
//     caps it.
// A VethAttachment shapes its host end (out of the container's reach): what
// the host end sends is what the container receives. A VethLink shapes each
// end in its container: what one end sends is what the other receives.
// Changed in place (tc replace), read back with `tc -j`.
//
// Engine side: loaded by the dynamic-provider process.

import { Bandwidth, bandwidthNumbers, bandwidthText, needsNetem } from "../common/specs/bandwidth";
import { defaultMac, ifbName, isOwnedBy, markedByMac } from "../common/naming";
import * as ip from "../host/ip";
import * as tc from "../host/tc";
import { callStep, ipStep, Netns, Step } from "./plan";

/** A device and the namespace it is in. */
export interface Device {
    dev: string;
    ns: Netns;
}

/** The ifb device that carries what a VethAttachment's host end receives: named and marked after the owner. */
export interface Ifb {
    name: string;
    owner: string;
    mac: string;
}

/** The ifb of a resource: `hn-ifb-<8 hex>` (15 characters), its MAC derived from the owner mark. */
export function ifbOf(owner: string): Ifb {
    return { name: ifbName(owner), owner, mac: defaultMac(owner, "ifb") };
}

function rateText(bits: number): string {
    return bandwidthText({ ingressRate: bits }).replace(/^in /, "");
}

function where(d: Device): string {
    return d.ns.label === "host" ? `"${d.dev}"` : `${d.dev} (in ${d.ns.label})`;
}

function sameCap(a: tc.Cap | undefined, b: tc.Cap | undefined): boolean {
    if (!a || !b) return a === b;
    return Math.floor(a.rate / 8) === Math.floor(b.rate / 8) && Math.abs(a.burst - b.burst) <= Math.max(64, b.burst * 0.01);
}

/** The steps that bring the cap on what `d` sends from `before` to `after`. */
export function egressCapSteps(d: Device, before: tc.Cap | undefined, after: tc.Cap | undefined): Step[] {
    if (after && !sameCap(before, after)) {
        const text = `cap what ${where(d)} sends at ${rateText(after.rate)}, burst ${after.burst} B (tc tbf)`;
        return [callStep(text, () => tc.runTc(text, tc.setEgressCap(d.dev, after), d.ns.pid))];
    }
    if (!after && before) {
        const text = `remove the cap on what ${where(d)} sends`;
        return [callStep(text, () => tc.runTc(text, tc.deleteEgressCap(d.dev), d.ns.pid, true))];
    }
    return [];
}

/** The steps that bring the cap on what `d` receives (through `ifb`, in the same namespace) from `before` to `after`. */
export function ingressCapSteps(d: Device, ifb: Ifb, before: tc.Cap | undefined, after: tc.Cap | undefined): Step[] {
    if (after) {
        const steps: Step[] = [];
        if (!before) {
            // Already there when an interrupted run made it: taken over (its name and MAC are this resource's).
            steps.push(
                ipStep(`create ifb device "${ifb.name}", mark it as ${ifb.owner}, bring it up`, d.ns, [
                    { ...tc.addIfb(ifb.name, ifb.mac), existsOk: true },
                    ip.setLink(ifb.name, { alias: ifb.owner, up: true }),
                ]),
            );
            const ingress = `add an ingress qdisc to ${where(d)}`;
            const redirect = `redirect what ${where(d)} receives to "${ifb.name}" (tc filter u32, action mirred)`;
            steps.push(
                callStep(ingress, () => tc.runTc(ingress, tc.addIngress(d.dev), d.ns.pid)),
                callStep(redirect, () => tc.runTc(redirect, tc.redirectIngress(d.dev, ifb.name), d.ns.pid)),
            );
        }
        if (!before || !sameCap(before, after)) {
            const text = `cap what ${where(d)} receives at ${rateText(after.rate)}, burst ${after.burst} B (tc tbf on "${ifb.name}")`;
            steps.push(callStep(text, () => tc.runTc(text, tc.setEgressCap(ifb.name, after), d.ns.pid)));
        }
        return steps;
    }
    if (before) return removeIngressCapSteps(d, ifb);
    return [];
}

/** Stops the redirect and deletes the ifb (each already gone is fine). */
export function removeIngressCapSteps(d: Device, ifb: Ifb): Step[] {
    const text = `stop redirecting what ${where(d)} receives`;
    return [
        callStep(text, () => tc.runTc(text, tc.deleteIngress(d.dev), d.ns.pid, true)),
        ipStep(`delete ifb device "${ifb.name}"`, d.ns, [ip.deleteLink(ifb.name)]),
    ];
}

/** The cap on what `d` sends, as tc has it now. */
export async function readEgressCap(d: Device): Promise<tc.Cap | undefined> {
    return tc.egressCapOf(await tc.qdiscs(d.dev, d.ns.pid));
}

/** The cap on what `d` receives through `ifb`, as tc has it now (none unless the redirect goes to this ifb, and the ifb is ours). */
export async function readIngressCap(d: Device, ifb: Ifb): Promise<tc.Cap | undefined> {
    if ((await tc.ingressRedirectOf(d.dev, d.ns.pid)) !== ifb.name) return undefined;
    const link = await ip.getLink(ifb.name, d.ns.pid);
    if (!link || !(isOwnedBy(link.ifalias, ifb.owner) || markedByMac(link, ifb.owner, "ifb"))) return undefined;
    return tc.egressCapOf(await tc.qdiscs(ifb.name, d.ns.pid));
}

/** The caps a bandwidth asks for, by direction as the container sees it. */
export function capsOf(b: Bandwidth | undefined): { ingress?: tc.Cap; egress?: tc.Cap } {
    const n = bandwidthNumbers(b);
    return {
        ...(n.ingressRate !== undefined ? { ingress: { rate: n.ingressRate, burst: n.burst! } } : {}),
        ...(n.egressRate !== undefined ? { egress: { rate: n.egressRate, burst: n.burst! } } : {}),
    };
}

/** A bandwidth from the caps found (the burst of either: they are set alike). */
export function bandwidthOf(ingress: tc.Cap | undefined, egress: tc.Cap | undefined): Bandwidth {
    const burst = ingress?.burst ?? egress?.burst;
    return {
        ...(ingress ? { ingressRate: ingress.rate } : {}),
        ...(egress ? { egressRate: egress.rate } : {}),
        ...(burst !== undefined ? { burst } : {}),
    };
}

/**
 * Why `bandwidth` (at `field`) cannot be applied on this host, or undefined:
 * delay and loss need netem, which this kernel may lack (asked of the
 * kernel), and which this version does not apply yet.
 */
export async function netemFailure(field: string, b: Bandwidth | undefined): Promise<string | undefined> {
    if (!needsNetem(b)) return undefined;
    if (!(await tc.kernelHasNetem())) {
        return `\`${field}\` asks for delay or loss, which need the kernel's netem qdisc (sch_netem, CONFIG_NET_SCH_NETEM), and this host's kernel has none (tc refuses a netem qdisc: "Specified qdisc kind is unknown"); leave \`delay\` and \`loss\` out, or run on a kernel with sch_netem`;
    }
    return `\`${field}\`: delay and loss (netem) are not applied by this version of pulumi-hostnet yet; leave \`delay\` and \`loss\` out`;
}
