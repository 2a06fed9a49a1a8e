// Child processes of the bench: argv arrays, never a shell; each child in a
// process group of its own, so that an abort (Ctrl-C, a failure) can stop it
// and everything it started; wall time measured from spawn to exit.

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";

export interface RunOptions {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    /** Written to the child's standard input, then closed. */
    input?: string;
    /** Called with the child's pid as soon as it runs (e.g. to sample its process tree). */
    onSpawn?: (pid: number) => void;
}

export interface RunResult {
    argv: readonly string[];
    exitCode: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    /** Wall time from spawn to exit, in milliseconds. */
    ms: number;
    /**
     * CPU time (user + system) of the child and every process it started, in
     * milliseconds: less disturbed than wall time by other work on a shared
     * machine. Counted by a cpuacct cgroup of its own where the machine has
     * one (every process, also one that outlives its parent, as a helper
     * process does when the engine kills its provider); otherwise, and in
     * `cpuReapedMs`, the children's rusage (only processes waited for; 10 ms
     * resolution).
     */
    cpuMs: number;
    cpuReapedMs: number;
    /** How cpuMs was counted. */
    cpuBy: "cgroup" | "rusage";
}

// ---- CPU by cgroup (cgroup v1 cpuacct, as this machine has it) ----

const CPUACCT = "/sys/fs/cgroup/cpuacct";
let cgroupBase: string | null | undefined;
let cgroupSeq = 0;

/** A fresh cgroup for one command, or undefined when none can be made (not root, no cpuacct). */
function newCgroup(): string | undefined {
    if (cgroupBase === undefined) {
        cgroupBase = null;
        const base = `${CPUACCT}/hostnet-bench-${process.pid}`;
        try {
            if (existsSync(`${CPUACCT}/cgroup.procs`)) {
                mkdirSync(base, { recursive: true });
                cgroupBase = base;
                process.on("exit", () => removeCgroup(base));
            }
        } catch {
            cgroupBase = null;
        }
    }
    if (!cgroupBase) return undefined;
    const dir = `${cgroupBase}/c${++cgroupSeq}`;
    try {
        mkdirSync(dir);
        return dir;
    } catch {
        return undefined;
    }
}

function cgroupProcs(dir: string): string[] {
    try {
        return readFileSync(`${dir}/cgroup.procs`, "utf8").split("\n").filter(Boolean);
    } catch {
        return [];
    }
}

/** Removes a cgroup, moving what still runs in it (a process that outlived the command) to the root first. */
function removeCgroup(dir: string): void {
    for (const child of existsSync(dir)
        ? execFileSync("find", [dir, "-mindepth", "1", "-type", "d"], { encoding: "utf8" }).split("\n").filter(Boolean).reverse()
        : [])
        removeCgroup(child);
    for (const pid of cgroupProcs(dir)) {
        try {
            writeFileSync(`${CPUACCT}/cgroup.procs`, pid);
        } catch {
            // gone
        }
    }
    try {
        rmdirSync(dir);
    } catch {
        // still busy: removed with the base at exit
    }
}

/** The cgroup's CPU time once every process in it has ended (waiting up to 3 s for stragglers), in ms. */
async function cgroupCpuMs(dir: string): Promise<number> {
    for (let waited = 0; waited < 3000 && cgroupProcs(dir).length > 0; waited += 20) await sleep(20);
    const ns = Number(readFileSync(`${dir}/cpuacct.usage`, "utf8").trim());
    removeCgroup(dir);
    return ns / 1e6;
}

let ticksPerSecond: number | undefined;

/** CPU time of this process's reaped children so far (cutime + cstime of /proc/self/stat), in ms. */
export function childrenCpuMs(): number {
    ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 16 and 17 of stat(5) (cutime, cstime) are at 13 and 14 after the command name.
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / ticksPerSecond;
}

const live = new Set<number>();

/** Runs argv; resolves with its exit status and output (a non-zero exit does not reject). */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const cpuBefore = childrenCpuMs();
        const cgroup = newCgroup();
        const started = process.hrtime.bigint();
        let exitedAt: bigint | undefined;
        let cpuMs = 0;
        const child = spawn(argv[0], argv.slice(1), {
            env: opts.env ?? process.env,
            cwd: opts.cwd,
            stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
            detached: true,
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout!.on("data", (c: Buffer) => out.push(c));
        child.stderr!.on("data", (c: Buffer) => err.push(c));
        child.on("error", (e) => {
            if (child.pid !== undefined) live.delete(child.pid);
            reject(new Error(`failed to start \`${argv.join(" ")}\`: ${e.message}; is ${argv[0]} installed and on PATH?`));
        });
        if (child.pid !== undefined) {
            live.add(child.pid);
            // Right after exec, before the command has started anything of its own.
            if (cgroup) writeFileSync(`${cgroup}/cgroup.procs`, String(child.pid));
            opts.onSpawn?.(child.pid);
        }
        child.on("exit", () => {
            exitedAt = process.hrtime.bigint();
            // The child is reaped by now: its CPU time (and its waited-for descendants') is in ours.
            cpuMs = childrenCpuMs() - cpuBefore;
        });
        child.on("close", (code, signal) => {
            if (child.pid !== undefined) live.delete(child.pid);
            const end = exitedAt ?? process.hrtime.bigint();
            const done = (byCgroup: number | undefined) =>
                resolve({
                    argv,
                    exitCode: code,
                    signal,
                    stdout: Buffer.concat(out).toString("utf8"),
                    stderr: Buffer.concat(err).toString("utf8"),
                    ms: Number(end - started) / 1e6,
                    cpuMs: byCgroup ?? cpuMs,
                    cpuReapedMs: cpuMs,
                    cpuBy: byCgroup === undefined ? "rusage" : "cgroup",
                });
            if (!cgroup) return done(undefined);
            cgroupCpuMs(cgroup).then(done, () => done(undefined));
        });
        if (opts.input !== undefined) child.stdin!.end(opts.input);
    });
}

/** The last lines of a command's output, for error messages. */
export function tail(text: string, lines = 15): string {
    return text.trim().split("\n").slice(-lines).join("\n");
}

/** Runs argv and throws "failed to <what>: ..." unless it exits 0. */
export async function runOk(what: string, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const r = await run(argv, opts);
    if (r.exitCode !== 0) {
        const why = tail(r.stderr || r.stdout) || `exit code ${r.exitCode ?? r.signal}`;
        throw new Error(`failed to ${what}: \`${argv.join(" ")}\` exited with ${r.exitCode ?? r.signal}:\n${why}`);
    }
    return r;
}

/**
 * Stops every child still running, with its process group: SIGINT first (the
 * Pulumi CLI cancels cleanly on it), SIGKILL for what is left after `graceMs`.
 */
export async function stopAll(graceMs = 5000): Promise<void> {
    const groups = [...live];
    if (groups.length === 0) return;
    for (const pid of groups) signalGroup(pid, "SIGINT");
    const until = Date.now() + graceMs;
    while (Date.now() < until && groups.some(groupAlive)) await sleep(100);
    for (const pid of groups) signalGroup(pid, "SIGKILL");
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
    try {
        process.kill(-pid, signal);
    } catch {
        // already gone
    }
}

function groupAlive(pid: number): boolean {
    try {
        process.kill(-pid, 0);
        return true;
    } catch {
        return false;
    }
}

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}
