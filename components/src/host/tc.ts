// Traffic control (iproute2's `tc`), as bandwidth limits use it: a token
// bucket (tbf) as a device's root qdisc caps what the device sends; what a
// device receives is redirected (an ingress qdisc, a u32 filter matching
// everything, a mirred action) to an ifb device, whose root tbf caps it. Each
// function owns its argv; reads use `tc -j`. `pid` selects a container's
// network namespace through nsenter, as in ip.ts. Failures are the typed
// errors of errors.ts (no such qdisc: NotFoundError; an unknown qdisc kind:
// NotSupportedError).
//
// Engine side, host layer: no Pulumi imports.

import { NotFoundError, NotSupportedError } from "./errors";
import type { IpCommand } from "./ip";
import { currentHostKey } from "./hostScope";
import { inNetns, runHost } from "./run";

/** A qdisc as `tc -j qdisc show` lists it (the fields read here). */
export interface Qdisc {
    kind: string;
    handle: string;
    root?: boolean;
    parent?: string;
    /** tbf: `rate` in bytes per second, `burst` in bytes. */
    options?: { rate?: number; burst?: number };
}

/** A cap: bits per second, and the bucket's size in bytes. */
export interface Cap {
    rate: number;
    burst: number;
}

/** The handle of the ingress qdisc, and of the one filter on it. */
const INGRESS = "ffff:";
const FILTER_HANDLE = "800::800";
/** How long a packet may wait in the bucket's queue (tc derives the queue's size from it, as the CNI bandwidth plugin does). */
const LATENCY = "25ms";

function tc(pid: number | undefined, args: readonly string[]): string[] {
    const argv = ["tc", ...args];
    return pid === undefined ? argv : inNetns(pid, argv);
}

/** The argv of a tc command in a namespace (for messages, the fake kernel and tests). */
export function tcArgv(args: readonly string[], pid?: number): string[] {
    return tc(pid, args);
}

/** Caps what `dev` sends (its root qdisc, replaced in place). */
export function setEgressCap(dev: string, cap: Cap): string[] {
    return ["qdisc", "replace", "dev", dev, "root", "tbf", "rate", `${cap.rate}bit`, "burst", String(cap.burst), "latency", LATENCY];
}

/** Takes the root qdisc back to the kernel's default. */
export function deleteEgressCap(dev: string): string[] {
    return ["qdisc", "del", "dev", dev, "root"];
}

/** The ingress qdisc of `dev` (where its filter hangs). */
export function addIngress(dev: string): string[] {
    return ["qdisc", "replace", "dev", dev, "handle", INGRESS, "ingress"];
}

/** Redirects everything `dev` receives to `ifb` (one filter, replaced in place by its handle). */
export function redirectIngress(dev: string, ifb: string): string[] {
    return [
        "filter",
        "replace",
        "dev",
        dev,
        "parent",
        INGRESS,
        "protocol",
        "all",
        "prio",
        "1",
        "handle",
        FILTER_HANDLE,
        "u32",
        "match",
        "u32",
        "0",
        "0",
        "action",
        "mirred",
        "egress",
        "redirect",
        "dev",
        ifb,
    ];
}

/** Removes the ingress qdisc of `dev`, and its filter with it. */
export function deleteIngress(dev: string): string[] {
    return ["qdisc", "del", "dev", dev, "ingress"];
}

/** The command that makes an ifb device (with a MAC derived from its owner, so a half-made one is known as its). */
export function addIfb(name: string, mac: string): IpCommand {
    return { args: ["link", "add", "name", name, "address", mac, "type", "ifb"], op: { op: "ifbAdd", name, mac } };
}

/** Runs one tc command; `absentOk`: a qdisc that is not there is success. */
export async function runTc(what: string, args: readonly string[], pid?: number, absentOk = false): Promise<void> {
    try {
        await runHost(what, tc(pid, args));
    } catch (err) {
        if (absentOk && err instanceof NotFoundError) return;
        throw err;
    }
}

/** The qdiscs of `dev`, or undefined when there is no such device. */
export async function qdiscs(dev: string, pid?: number): Promise<Qdisc[] | undefined> {
    try {
        const out = await runHost(`read the qdiscs of "${dev}"`, tc(pid, ["-j", "qdisc", "show", "dev", dev]));
        return out.trim() === "" ? [] : (JSON.parse(out) as Qdisc[]);
    } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
    }
}

/** The cap of `dev`'s root qdisc, when it is a tbf. */
export function egressCapOf(list: readonly Qdisc[] | undefined): Cap | undefined {
    const tbf = list?.find((q) => q.root && q.kind === "tbf");
    return tbf?.options?.rate !== undefined ? { rate: tbf.options.rate * 8, burst: tbf.options.burst ?? 0 } : undefined;
}

/** The device `dev`'s ingress is redirected to, or undefined. */
export async function ingressRedirectOf(dev: string, pid?: number): Promise<string | undefined> {
    const list = await qdiscs(dev, pid);
    if (!list?.some((q) => q.kind === "ingress")) return undefined;
    const out = await runHost(`read the filters of "${dev}"`, tc(pid, ["-j", "filter", "show", "dev", dev, "parent", INGRESS]));
    const filters = out.trim() === "" ? [] : (JSON.parse(out) as { options?: { actions?: { kind: string; to_dev?: string }[] } }[]);
    for (const f of filters) for (const a of f.options?.actions ?? []) if (a.kind === "mirred" && a.to_dev) return a.to_dev;
    return undefined;
}

const netem = new Map<string, Promise<boolean>>(); // by host ("" this machine)

/**
 * Whether the kernel has the netem qdisc (delay, loss): asked of the kernel
 * itself, in a network namespace made for the question and gone with it.
 */
export async function kernelHasNetem(): Promise<boolean> {
    const host = currentHostKey();
    let known = netem.get(host);
    if (!known) {
        known = runHost("ask the kernel for the netem qdisc", [
            "unshare",
            "--net",
            "--",
            "tc",
            "qdisc",
            "add",
            "dev",
            "lo",
            "root",
            "netem",
            "delay",
            "1ms",
        ]).then(
            () => true,
            (err) => {
                if (err instanceof NotSupportedError) return false;
                netem.delete(host);
                throw err;
            },
        );
        netem.set(host, known);
    }
    return known;
}
