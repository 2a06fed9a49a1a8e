// The one place where the library starts host commands. Every `ip`/`nsenter`
// call goes through `runHost`, with an argument array and never a shell. On
// this machine the argv is run as is; inside a host's scope (hostScope.ts) the
// host's runner runs it there, over SSH, quoted for its shell (quote.ts). Tests
// replace the local runner with `setCommandRunner`.
//
// Engine side: loaded by the dynamic-provider process. No Pulumi imports.

import { spawn } from "node:child_process";
import { classifyHostError, NamespaceGoneError, ToolMissingError } from "./errors";
import { HelperTransport, localHelper } from "./helper";
import { currentHost } from "./hostScope";

/** Runs argv and resolves with what it printed; never throws for a non-zero exit. */
export type CommandRunner = (argv: readonly string[], input?: string) => Promise<CommandResult>;

export interface CommandResult {
    exitCode: number | undefined;
    stdout: string;
    stderr: string;
    /** Set when the command could not be started at all (e.g. not installed). */
    spawnError?: Error;
}

/**
 * Runs a program on this machine: argv[0] from PATH, the rest as arguments,
 * no shell, C locale. Forked by the netlink helper (helper.ts) when there is
 * one, so that this process never forks; by this process otherwise.
 */
export const localRunner: CommandRunner = (argv, input) => {
    const helper = localHelper();
    return helper ? execByHelper(helper, argv, input) : forkRunner(argv, input);
};

async function execByHelper(helper: HelperTransport, argv: readonly string[], input?: string): Promise<CommandResult> {
    try {
        const answer = await helper(undefined, [{ op: "exec", argv, ...(input === undefined ? {} : { input }) }]);
        if (answer.error) {
            return { exitCode: undefined, stdout: "", stderr: "", spawnError: new Error(`${argv[0]}: ${answer.error.message}`) };
        }
        const r = answer.results[0] as { exitCode: number; stdout: string; stderr: string };
        return { exitCode: r.exitCode, stdout: r.stdout.replace(/\n$/, ""), stderr: r.stderr.trim() };
    } catch (err) {
        return { exitCode: undefined, stdout: "", stderr: "", spawnError: err as Error };
    }
}

/** Forks argv from this process (HOSTNET_HELPER=off, or no helper). */
export const forkRunner: CommandRunner = (argv, input) =>
    new Promise((resolve) => {
        const child = spawn(argv[0], argv.slice(1), {
            env: { ...process.env, LC_ALL: "C" },
            stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout!.on("data", (c: Buffer) => out.push(c));
        child.stderr!.on("data", (c: Buffer) => err.push(c));
        let spawnError: Error | undefined;
        child.on("error", (e) => (spawnError = e));
        child.on("close", (code) =>
            resolve({
                exitCode: code ?? undefined,
                stdout: Buffer.concat(out).toString("utf8").replace(/\n$/, ""),
                stderr: Buffer.concat(err).toString("utf8").trim(),
                spawnError,
            }),
        );
        if (input !== undefined) child.stdin!.end(input);
    });

let runner: CommandRunner = localRunner;

/** Replaces the runner (tests inject faults this way); returns the previous one. */
export function setCommandRunner(next: CommandRunner): CommandRunner {
    const previous = runner;
    runner = next;
    return previous;
}

/**
 * Runs `argv` and returns its standard output. A failure throws the typed
 * error of host/errors.ts whose message is "failed to <what>: `<argv>`: <stderr>".
 */
export async function runHost(what: string, argv: readonly string[], input?: string): Promise<string> {
    const host = currentHost();
    const result = await (host ? host.runner : runner)(argv, input);
    if (result.exitCode === 0 && !result.spawnError) return result.stdout;
    const stderr = result.stderr || result.spawnError?.message || result.stdout || `exit code ${result.exitCode}`;
    throw classifyHostError(onCurrentHost(what), argv, result.exitCode, stderr, result.spawnError);
}

/**
 * Runs `argv` whose non-zero exit is an answer, not a failure (a probe that
 * got no reply): returns what it printed and its exit code. Throws the typed
 * error only when the command could not run at all: not installed, or its
 * namespace gone (nsenter failed).
 */
export async function runHostAnswer(what: string, argv: readonly string[], input?: string): Promise<CommandResult> {
    const host = currentHost();
    const result = await (host ? host.runner : runner)(argv, input);
    if (result.exitCode === 0 && !result.spawnError) return result;
    const stderr = result.stderr || result.spawnError?.message || result.stdout || `exit code ${result.exitCode}`;
    const err = classifyHostError(onCurrentHost(what), argv, result.exitCode, stderr, result.spawnError);
    if (result.spawnError || err instanceof NamespaceGoneError || err instanceof ToolMissingError) throw err;
    return result;
}

/** `what` naming the current host when it is not this machine: `create bridge br0 on host b`. */
export function onCurrentHost(what: string): string {
    const host = currentHost();
    return host ? `${what} on host ${host.name}` : what;
}

/** The argv that runs `argv` inside the network namespace of process `pid`. */
export function inNetns(pid: number, argv: readonly string[]): string[] {
    return ["nsenter", "--target", String(pid), "--net", "--", ...argv];
}
