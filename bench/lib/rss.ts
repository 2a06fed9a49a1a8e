// Peak resident memory of a Pulumi command's processes, by role: the engine
// (the `pulumi` CLI process), the Node.js language host, the Node.js
// program (`@pulumi/pulumi/cmd/run`) and the dynamic-provider process (the
// `node .../hostnet-dynamic-provider.js`, or Pulumi's `node .../cmd/dynamic-provider`,
// that `pulumi-resource-pulumi-nodejs` starts).
// Every `intervalMs` the process tree under the command is walked through
// /proc/<pid>/stat and each process's VmHWM (its own peak RSS so far) read
// from /proc/<pid>/status; the last value seen of each process is its peak,
// short of what it may add in its last interval before exiting.

import { readdirSync, readFileSync } from "node:fs";

export type Role = "engine" | "languageHost" | "program" | "provider" | "helper";
export const ROLES: readonly Role[] = ["engine", "languageHost", "program", "provider", "helper"];

/** Peak RSS per role, in MiB (the largest over processes of that role); undefined when none was seen. */
export type PeakRss = Partial<Record<Role, number>>;

function readText(path: string): string | undefined {
    try {
        return readFileSync(path, "utf8");
    } catch {
        return undefined;
    }
}

function parentOf(pid: string): string | undefined {
    const stat = readText(`/proc/${pid}/stat`);
    if (!stat) return undefined;
    // The command name is in parentheses and may contain spaces: fields resume after the last ')'.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1];
}

let ticks: number | undefined;

/** A process's CPU time so far (utime + stime of /proc/<pid>/stat), in ms. */
function cpuMsOf(pid: string): number | undefined {
    const stat = readText(`/proc/${pid}/stat`);
    if (!stat) return undefined;
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks ??= 100; // USER_HZ on Linux
    return ((Number(f[11]) + Number(f[12])) * 1000) / ticks;
}

function hwmKiB(pid: string): number | undefined {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readText(`/proc/${pid}/status`) ?? "");
    return m ? Number(m[1]) : undefined;
}

function roleOf(pid: string): Role | undefined {
    const argv = (readText(`/proc/${pid}/cmdline`) ?? "").split("\0");
    if (/(^|\/)pulumi$/.test(argv[0])) return "engine";
    if (argv[0].endsWith("pulumi-language-nodejs")) return "languageHost";
    if (argv[0].endsWith("hostnet-netlink")) return "helper";
    if (!/(^|\/)node$/.test(argv[0]) || argv[1] === "-e") return undefined;
    if (argv.some((a) => a.includes("@pulumi/pulumi/cmd/run"))) return "program";
    if (argv.some((a) => a.includes("dynamic-provider"))) return "provider";
    return undefined;
}

/** Samples the tree under `rootPid` until stopped. */
export class RssSampler {
    private readonly peaks = new Map<string, { role: Role; kib: number }>();
    private readonly cpu = new Map<string, { role: Role; ms: number }>();
    private timer: NodeJS.Timeout | undefined;

    constructor(
        private readonly rootPid: number,
        intervalMs = 100,
    ) {
        this.sample();
        this.timer = setInterval(() => this.sample(), intervalMs);
    }

    private sample(): void {
        const root = String(this.rootPid);
        const children = new Map<string, string[]>();
        for (const pid of readdirSync("/proc")) {
            if (!/^\d+$/.test(pid)) continue;
            const ppid = parentOf(pid);
            if (ppid === undefined) continue;
            const list = children.get(ppid);
            if (list) list.push(pid);
            else children.set(ppid, [pid]);
        }
        const queue = [root];
        while (queue.length > 0) {
            const pid = queue.pop()!;
            queue.push(...(children.get(pid) ?? []));
            const known = this.peaks.get(pid);
            const role = known?.role ?? roleOf(pid);
            if (!role) continue;
            const kib = hwmKiB(pid);
            if (kib !== undefined) this.peaks.set(pid, { role, kib: Math.max(kib, known?.kib ?? 0) });
            const cpu = cpuMsOf(pid);
            if (cpu !== undefined) this.cpu.set(pid, { role, ms: cpu });
        }
    }

    /**
     * CPU time per role, in ms, as last sampled (a lower bound: what a process
     * did in its last interval before exiting is missed); call after stop().
     */
    cpuByRole(): Partial<Record<Role, number>> {
        const out: Partial<Record<Role, number>> = {};
        for (const { role, ms } of this.cpu.values()) out[role] = (out[role] ?? 0) + ms;
        return out;
    }

    /** Stops sampling; the peak per role, in MiB. */
    stop(): PeakRss {
        if (this.timer) clearInterval(this.timer);
        this.timer = undefined;
        const out: PeakRss = {};
        for (const { role, kib } of this.peaks.values()) out[role] = Math.max(out[role] ?? 0, Math.round((kib / 1024) * 10) / 10);
        return out;
    }
}
