// A plan: the host operations one create, update or delete will run, as data.
//
// Providers build a plan from what they want and what they observed, then
// execute it; the CI preview report lists the same plan's steps (built
// without observing the host: `describe`). One source for both, so the report
// says what the provider really does.
//
// Engine side: loaded by the dynamic-provider process.

import { IpCommand, runIp } from "./host/ip";

/** Where a step runs: the host's network namespace, or a container's (by the PID of its first process). */
export interface Netns {
    /** Unknown when the plan is only described (a preview): then the step is not run. */
    pid?: number;
    /** For people: "host" or `container "web"`. */
    label: string;
}

export const HOST: Netns = { label: "host" };

/** Commands for `ip` in one namespace. */
export interface IpStep {
    kind: "ip";
    /** What it does, for people: `attach "hn-web-1a2b3c" to bridge docker0`. */
    text: string;
    netns: Netns;
    commands: IpCommand[];
}

/** A call of the Docker Engine API (or any step that is not an `ip` command). */
export interface CallStep {
    kind: "call";
    text: string;
    run: () => Promise<void>;
}

export type Step = IpStep | CallStep;

export interface Plan {
    steps: Step[];
    /** Run, best effort, when a step fails: takes back what the steps before it made. */
    undo?: Step[];
}

export function ipStep(text: string, netns: Netns, commands: (IpCommand | undefined)[]): IpStep {
    return { kind: "ip", text, netns, commands: commands.filter((c): c is IpCommand => c !== undefined) };
}

export function callStep(text: string, run: () => Promise<void>): CallStep {
    return { kind: "call", text, run };
}

/** The plan's steps, for people, one line each, with where they run. */
export function describe(plan: Plan): string[] {
    return plan.steps.map((s) => (s.kind === "ip" && s.netns.label !== "host" ? `${s.text} (in ${s.netns.label})` : s.text));
}

/** The step's commands, each carrying the step's text for its error message. */
function named(step: IpStep): IpCommand[] {
    return step.commands.map((c) => ({ ...c, what: c.what ?? step.text }));
}

/**
 * A call step's error, named by the step: "failed to <step>: <why>", with the
 * host layer's typed error kept as the cause. (An `ip` step's error names it
 * already: runIp is given the step's text.)
 */
function namedByStep(step: CallStep, err: unknown): Error {
    const message = err instanceof Error ? err.message : String(err);
    if (message.startsWith(`failed to ${step.text}`)) return err as Error;
    // The host layer's own "failed to <call>: " prefix says less than the step's text.
    const why = message.replace(/^failed to [^:]*: /, "");
    return new Error(`failed to ${step.text}: ${why}`, { cause: err });
}

async function runStep(step: Step): Promise<void> {
    if (step.kind === "call") {
        try {
            return await step.run();
        } catch (err) {
            throw namedByStep(step, err);
        }
    }
    if (step.commands.length === 0) return;
    if (step.netns !== HOST && step.netns.pid === undefined) {
        throw new Error(`failed to ${step.text}: the namespace of ${step.netns.label} is not known; this is a bug, please report it`);
    }
    await runIp(step.text, step.commands, step.netns.pid);
}

/**
 * Runs the steps in order. Consecutive `ip` steps in the same namespace run
 * as one `ip -batch` (one process). When a step fails, the undo steps run
 * (their own failures are ignored) and the step's error is thrown; its
 * message names the step, and its cause (or itself) is the host layer's typed
 * error.
 */
export async function execute(plan: Plan): Promise<void> {
    const groups: Step[] = [];
    for (const step of plan.steps) {
        const last = groups[groups.length - 1];
        if (step.kind === "ip" && last?.kind === "ip" && last.netns === step.netns) {
            // Merged for speed; a failure still names the command that failed.
            groups[groups.length - 1] = { ...last, text: `${last.text}; ${step.text}`, commands: [...last.commands, ...named(step)] };
        } else {
            groups.push(step.kind === "ip" ? { ...step, commands: named(step) } : step);
        }
    }
    for (const step of groups) {
        try {
            await runStep(step);
        } catch (err) {
            for (const u of plan.undo ?? []) await runStep(u).catch(() => undefined);
            throw err;
        }
    }
}
