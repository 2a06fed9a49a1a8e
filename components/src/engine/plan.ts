// A plan: the host operations one create, update or delete will run, as data.
//
// Providers build a plan from what they want and what they observed, then
// execute it; the CI preview report lists the same plan's steps (built
// without observing the host: `describe`). One source for both, so the report
// says what the provider really does.
//
// Engine side: loaded by the dynamic-provider process.

import { ExistsError, HostCommandError } from "../host/errors";
import { IpCommand, runIp } from "../host/ip";

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
    /** The step makes the plan's object (its first command does): see Plan.undo. */
    makes?: boolean;
    /** Takes back what this step made: see Step.undo. */
    undo?: Step[];
}

/** A call of the Docker Engine API (or any step that is not an `ip` command). */
export interface CallStep {
    kind: "call";
    text: string;
    run: () => Promise<void>;
    /** The step makes the plan's object: see Plan.undo. */
    makes?: boolean;
    /** Takes back what this step made: see Step.undo. */
    undo?: Step[];
}

/**
 * One host operation. A step's own `undo` takes back what that step made
 * (an address it added, a record it wrote): when a later step fails, the
 * undo of every step that finished runs, newest first, and a step that
 * failed (an address someone else added meanwhile) is never undone. A step
 * with an undo runs on its own, never batched with others, so that whether
 * it finished is known exactly.
 */
export type Step = IpStep | CallStep;

export interface Plan {
    steps: Step[];
    /**
     * Run, best effort, when a step fails: takes back what the steps before it
     * made. When a step `makes` the object, only after that step has made it:
     * a failure up to and including its making command (the name is taken by
     * something else, say) leaves the host as it is, so that undo never
     * removes what this plan did not make.
     */
    undo?: Step[];
}

export function ipStep(text: string, netns: Netns, commands: (IpCommand | undefined)[]): IpStep {
    return { kind: "ip", text, netns, commands: commands.filter((c): c is IpCommand => c !== undefined) };
}

export function callStep(text: string, run: () => Promise<void>): CallStep {
    return { kind: "call", text, run };
}

/** The step, as the one that makes the plan's object (see Plan.undo). */
export function making<S extends Step>(step: S): S {
    return { ...step, makes: true };
}

/** The step, with what takes back what it made when a later step fails (see Step). */
export function undoneBy<S extends Step>(step: S, ...undo: Step[]): S {
    return { ...step, undo };
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
 * as one `ip -batch` (one process). When a step fails, the undo of the steps
 * that finished runs (see Step), then the plan's undo steps (their own
 * failures are ignored), and the step's error is thrown; its message names
 * the step, and its cause (or itself) is the host layer's typed error.
 */
export async function execute(plan: Plan): Promise<void> {
    // Steps run in groups; `making` is the index, in its group's commands, of the command that makes the object.
    const groups: { step: Step; making?: number }[] = [];
    for (const step of plan.steps) {
        const last = groups[groups.length - 1];
        if (step.kind === "ip" && !step.undo && last?.step.kind === "ip" && !last.step.undo && last.step.netns === step.netns) {
            // Merged for speed; a failure still names the command that failed.
            const merged = last.step;
            groups[groups.length - 1] = {
                step: { ...merged, text: `${merged.text}; ${step.text}`, commands: [...merged.commands, ...named(step)] },
                making: step.makes ? merged.commands.length : last.making,
            };
        } else {
            groups.push({ step: step.kind === "ip" ? { ...step, commands: named(step) } : step, making: step.makes ? 0 : undefined });
        }
    }
    // Without a making step, anything may have been made: undo applies from the start.
    let made = !plan.steps.some((s) => s.makes);
    const finished: Step[] = [];
    for (const { step, making } of groups) {
        try {
            await runStep(step);
            if (making !== undefined) made = true;
            finished.push(step);
        } catch (err) {
            for (const done of finished.reverse()) for (const u of done.undo ?? []) await runStep(u).catch(() => undefined);
            if (made || (making !== undefined && failedAfter(step, making, err))) {
                for (const u of plan.undo ?? []) await runStep(u).catch(() => undefined);
            }
            throw err;
        }
    }
}

/**
 * True when `err` is the failure of a command of `step` after the one at
 * index `making` (which then made the object). When the failing command is
 * not known (`ip -batch` names no line for an argument it cannot parse), any
 * failure but "exists" is taken as after it: the one failure of the making
 * command that undo must not follow is a name taken by someone else.
 */
function failedAfter(step: Step, making: number, err: unknown): boolean {
    if (step.kind === "call") return false;
    let cause: unknown = err;
    while (cause instanceof Error && !(cause instanceof HostCommandError)) cause = cause.cause;
    if (!(cause instanceof HostCommandError)) return false;
    const argv = cause.argv;
    const failed = step.commands.findIndex(
        (c) => c.args.length <= argv.length && c.args.every((a, i) => argv[argv.length - c.args.length + i] === a),
    );
    return failed === -1 ? !(cause instanceof ExistsError) : failed > making;
}
