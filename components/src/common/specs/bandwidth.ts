// Bandwidth of an interface the library makes, as the container sees it:
// `ingressRate` caps what comes into the container through the interface,
// `egressRate` what goes out of it, `burst` is how much may pass at once
// above the rate (a token bucket's size). `delay` and `loss` (netem) are
// refused at preview on a kernel without sch_netem (checked on the host).
//
// Rates are bits per second: a number, or a string with tc's units (`bit`,
// `kbit`, `mbit`, `gbit`; powers of 1000). Sizes are bytes: a number, or a
// string with `b`, `kb`, `mb` (powers of 1024, as tc reads them).
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import { containsUnknown, InputFailure } from "../validation";

export interface Bandwidth {
    /** Cap on traffic into the container through this interface: bits per second, or "10mbit". */
    ingressRate?: number | string;
    /** Cap on traffic out of the container through this interface: bits per second, or "10mbit". */
    egressRate?: number | string;
    /** Bytes that may pass at once above the rate (the token bucket): a number, or "64kb". Default: 10 ms at the rate, at least 16 kb. */
    burst?: number | string;
    /** Delay added to each packet (netem), e.g. "20ms": refused on a kernel without sch_netem. */
    delay?: string;
    /** Share of packets dropped (netem), in percent: refused on a kernel without sch_netem. */
    loss?: number;
}

/** A bandwidth in numbers: rates in bits per second, burst in bytes. */
export interface BandwidthNumbers {
    ingressRate?: number;
    egressRate?: number;
    burst?: number;
}

const RATE_UNITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 };
const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 * 1024 };
export const MIN_RATE = 1000;
export const MAX_RATE = 100e9;
export const MIN_BURST = 2048;
export const MAX_BURST = 1024 * 1024 * 1024;
const DEFAULT_MIN_BURST = 16 * 1024;

function show(value: unknown): string {
    return JSON.stringify(value) ?? String(value);
}

/** Bits per second, or undefined when it is not a rate. */
export function parseRate(value: unknown): number | undefined {
    if (typeof value === "number") return Number.isFinite(value) && value > 0 ? Math.round(value) : undefined;
    if (typeof value !== "string") return undefined;
    const m = /^([0-9]+(?:\.[0-9]+)?)\s*(bit|kbit|mbit|gbit)$/i.exec(value.trim());
    return m ? Math.round(Number(m[1]) * RATE_UNITS[m[2].toLowerCase()]) : undefined;
}

/** Bytes, or undefined when it is not a size. */
export function parseSize(value: unknown): number | undefined {
    if (typeof value === "number") return Number.isInteger(value) && value > 0 ? value : undefined;
    if (typeof value !== "string") return undefined;
    const m = /^([0-9]+(?:\.[0-9]+)?)\s*(b|kb|mb)?$/i.exec(value.trim());
    return m ? Math.round(Number(m[1]) * SIZE_UNITS[(m[2] ?? "b").toLowerCase()]) : undefined;
}

/** The burst used for `rate` when none is given: 10 ms at the rate, at least 16 kb. */
export function defaultBurst(rate: number): number {
    return Math.max(DEFAULT_MIN_BURST, Math.ceil(rate / 8 / 100));
}

/** The numbers a bandwidth stands for (burst filled in when a rate is set). */
export function bandwidthNumbers(b: Bandwidth | undefined): BandwidthNumbers {
    if (!b) return {};
    const ingressRate = parseRate(b.ingressRate);
    const egressRate = parseRate(b.egressRate);
    const rate = Math.max(ingressRate ?? 0, egressRate ?? 0);
    const burst = parseSize(b.burst) ?? (rate > 0 ? defaultBurst(rate) : undefined);
    return {
        ...(ingressRate !== undefined ? { ingressRate } : {}),
        ...(egressRate !== undefined ? { egressRate } : {}),
        ...(burst !== undefined && rate > 0 ? { burst } : {}),
    };
}

/**
 * True when two bandwidths shape alike, as tc keeps them: rates in whole
 * bytes per second, bursts within 1% (tc stores a burst as time at the rate
 * and gives back a rounded size).
 */
export function sameBandwidth(a: Bandwidth | undefined, b: Bandwidth | undefined): boolean {
    const x = bandwidthNumbers(a);
    const y = bandwidthNumbers(b);
    const rate = (p?: number, q?: number) =>
        (p === undefined) === (q === undefined) && (p === undefined || Math.floor(p / 8) === Math.floor(q! / 8));
    const burst = (p?: number, q?: number) =>
        (p === undefined) === (q === undefined) && (p === undefined || Math.abs(p - q!) <= Math.max(64, q! * 0.01));
    return rate(x.ingressRate, y.ingressRate) && rate(x.egressRate, y.egressRate) && burst(x.burst, y.burst);
}

/** Why `value` (at `field`) is not a bandwidth; the reasons, each naming its field. */
export function checkBandwidth(field: string, value: unknown): string[] {
    if (value === undefined || containsUnknown(value)) return [];
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return [`\`${field}\` must be { ingressRate?, egressRate?, burst? }, e.g. { egressRate: "10mbit" }; got ${show(value)}`];
    }
    const b = value as Record<string, unknown>;
    const reasons: string[] = [];
    const known = new Set(["ingressRate", "egressRate", "burst", "delay", "loss"]);
    for (const k of Object.keys(b))
        if (!known.has(k))
            reasons.push(
                `\`${field}.${k}\` is not a setting of bandwidth; remove it, or use one of ingressRate, egressRate, burst, delay, loss`,
            );
    for (const k of ["ingressRate", "egressRate"] as const) {
        if (b[k] === undefined) continue;
        const r = parseRate(b[k]);
        if (r === undefined || r < MIN_RATE || r > MAX_RATE) {
            reasons.push(
                `\`${field}.${k}\` must be a rate from 1kbit to 100gbit: bits per second, or a number with bit, kbit, mbit or gbit ("10mbit"); got ${show(b[k])}`,
            );
        }
    }
    if (b.burst !== undefined) {
        const s = parseSize(b.burst);
        if (s === undefined || s < MIN_BURST || s > MAX_BURST) {
            reasons.push(
                `\`${field}.burst\` must be a size from 2kb to 1024mb: bytes, or a number with b, kb or mb ("64kb"); got ${show(b.burst)}`,
            );
        } else if (b.ingressRate === undefined && b.egressRate === undefined) {
            reasons.push(`\`${field}.burst\` goes with a rate: set \`ingressRate\` or \`egressRate\` too`);
        }
    }
    if (b.delay !== undefined && (typeof b.delay !== "string" || !/^[0-9]+(\.[0-9]+)?(us|ms|s)$/.test(b.delay))) {
        reasons.push(`\`${field}.delay\` must be a time like "20ms"; got ${show(b.delay)}`);
    }
    if (b.loss !== undefined && (typeof b.loss !== "number" || !(b.loss >= 0 && b.loss <= 100))) {
        reasons.push(`\`${field}.loss\` must be a percentage from 0 to 100; got ${show(b.loss)}`);
    }
    return reasons;
}

/** True when the bandwidth asks for netem (delay or loss). */
export function needsNetem(b: Bandwidth | undefined): boolean {
    return b !== undefined && (b.delay !== undefined || b.loss !== undefined);
}

/** For people: `in 10mbit, out 2mbit, burst 16384 B`. */
export function bandwidthText(b: Bandwidth | undefined): string {
    const n = bandwidthNumbers(b);
    const rate = (r: number) =>
        r % 1e9 === 0 ? `${r / 1e9}gbit` : r % 1e6 === 0 ? `${r / 1e6}mbit` : r % 1e3 === 0 ? `${r / 1e3}kbit` : `${r}bit`;
    const parts = [
        n.ingressRate !== undefined ? `in ${rate(n.ingressRate)}` : "",
        n.egressRate !== undefined ? `out ${rate(n.egressRate)}` : "",
        n.burst !== undefined ? `burst ${n.burst} B` : "",
    ].filter(Boolean);
    return parts.length > 0 ? parts.join(", ") : "no limit";
}

/** A VethLink's ends may not both limit one direction (`a.ingressRate` and `b.egressRate` are the same traffic). */
export function checkLinkBandwidth(inputs: Record<string, unknown>): InputFailure[] {
    const failures: InputFailure[] = [];
    for (const side of ["a", "b"] as const) {
        const end = inputs[side] as { bandwidth?: unknown } | undefined;
        for (const reason of checkBandwidth(`${side}.bandwidth`, end?.bandwidth)) failures.push({ property: side, reason });
    }
    if (failures.length > 0) return failures;
    const a = (inputs.a as { bandwidth?: Bandwidth } | undefined)?.bandwidth;
    const b = (inputs.b as { bandwidth?: Bandwidth } | undefined)?.bandwidth;
    for (const [x, y, xs, ys] of [
        [a, b, "a", "b"],
        [b, a, "b", "a"],
    ] as const) {
        if (bandwidthNumbers(x).ingressRate !== undefined && bandwidthNumbers(y).egressRate !== undefined) {
            failures.push({
                property: xs,
                reason: `\`${xs}.bandwidth.ingressRate\` and \`${ys}.bandwidth.egressRate\` both limit the traffic from ${ys} to ${xs}; set one of them`,
            });
        }
    }
    return failures;
}
