// What every baseline is: attach N running `--net=none` containers one after
// another (serially), then detach them, each direction timed as a whole; the
// result is read back afterwards with nsenter + ip, outside the timing.

import type { Container } from "../lib/host";

/** Wall time and CPU time (of the processes started), in milliseconds. */
export interface Timing {
    ms: number;
    cpuMs: number;
}

export interface Baseline {
    name: string;
    /** Names of the two timed operations, e.g. ["add", "del"]. */
    ops: readonly [string, string];
    attach(containers: readonly Container[]): Promise<Timing>;
    detach(containers: readonly Container[]): Promise<Timing>;
}

/** Adds the timings of runs. */
export function sum(timings: readonly Timing[]): Timing {
    return timings.reduce((a, t) => ({ ms: a.ms + t.ms, cpuMs: a.cpuMs + t.cpuMs }), { ms: 0, cpuMs: 0 });
}

export type { AddressPlan } from "../lib/host";
