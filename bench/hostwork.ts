// The host work of VethAttachments alone, by each way the engine can do it
// (HOSTNET_HELPER), against the CNI bridge plugin in the same run: the design
// comparison of BENCHMARKS.md ("Host work: where it runs").
//
//   node -r ts-node/register/transpile-only bench/hostwork.ts [--n 50] [--runs 3] [--modes off,exec,netlink] [--bridge docker0|own]
//
// Each mode runs in a Node.js process of its own that first loads
// @pulumi/pulumi's runtime, as the engine's dynamic-provider process does
// (the size of the process is what a fork from it costs), then calls the
// VethAttachment provider as the engine would, one attachment after another:
// check + create of N, read of N (a refresh), delete of N. Each phase is
// timed: wall time, CPU time of every process involved (the Node process,
// the helper, what either forked: the process's own cpuacct cgroup), and
// how long the Node process's event loop was blocked (the engine's calls
// wait behind it). Modes run in turn within each run; CNI ADD/DEL of the same
// N containers run in the same run, as in `npm run bench`. The result is
// read back with nsenter + ip after every create, outside the timing.

import { monitorEventLoopDelay } from "node:perf_hooks";
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { cniBaseline, ensureCniPlugin } from "./baselines/cni";
import { cleanup, cleanupOnExit, onCleanup } from "./lib/cleanup";
import {
    addressPlan,
    checkAttached,
    checkDetached,
    Container,
    MAX_N,
    registerRun,
    RUN,
    startContainers,
    sweep,
    sweepStale,
} from "./lib/host";
import { repoRoot } from "./lib/pulumi";

const MODES = ["off", "exec", "netlink"] as const;
type Mode = (typeof MODES)[number];

interface Phase {
    ms: number;
    cpuMs: number;
    /** Of cpuMs, the Node.js process's own (the rest: the helper, and what either forked). */
    nodeCpuMs: number;
    /** Event-loop time blocked: the sum of delays over 1 ms, and the longest. */
    blockedMs: number;
    maxBlockMs: number;
}

interface ChildReport {
    mode: Mode;
    rssMiB: number;
    helperStartMs: number;
    phases: Record<"create" | "read" | "delete", Phase>;
}

// ---- the child: one mode ----

/** This process's cgroup CPU time (every process in it), ms; falls back to its own CPU. */
function cgroupCpuMs(): number {
    const line = readFileSync("/proc/self/cgroup", "utf8")
        .split("\n")
        .find((l) => /^\d+:[^:]*\bcpuacct\b[^:]*:/.test(l));
    const path = line?.split(":")[2];
    if (path && path !== "/") return Number(readFileSync(`/sys/fs/cgroup/cpuacct${path}/cpuacct.usage`, "utf8")) / 1e6;
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
}

async function child(mode: Mode, spec: { containers: string[]; bridge: string; cidrs: string[] }): Promise<void> {
    process.env.HOSTNET_HELPER = mode;
    // The engine's provider process has @pulumi/pulumi's runtime loaded (~800 modules, 130-150 MB).
    await import("@pulumi/pulumi/runtime");
    const { vethAttachmentProvider: p } = await import("../components/src/engine/providers/vethAttachment");
    const { localHelper } = await import("../components/src/host/helper");
    const provider = p as unknown as {
        check(o: object, n: object): Promise<{ inputs: any; failures?: unknown[] }>;
        create(i: object): Promise<{ id: string; outs: any }>;
        read(id: string, o: object): Promise<{ id?: string; props?: any }>;
        delete(id: string, o: object): Promise<void>;
    };
    const t0 = process.hrtime.bigint();
    if (mode !== "off") await localHelper()?.(undefined, [{ op: "netnsOf", pid: process.pid }]);
    const helperStartMs = Number(process.hrtime.bigint() - t0) / 1e6;

    const inputs = spec.containers.map((container, i) => ({
        container,
        bridge: spec.bridge,
        address: spec.cidrs[i],
        defaultRoute: true,
        containerIfName: "eth0",
        hostIfName: `hwk${RUN}${i.toString(36)}`.slice(0, 15),
        owner: `hostnet/hostnet-bench/b${RUN}-hostwork/VethAttachment/a${i}`,
    }));
    const phase = async (body: () => Promise<void>): Promise<Phase> => {
        const h = monitorEventLoopDelay({ resolution: 1 });
        h.enable();
        const cpu0 = cgroupCpuMs();
        const own0 = process.cpuUsage();
        const s = process.hrtime.bigint();
        await body();
        const ms = Number(process.hrtime.bigint() - s) / 1e6;
        const own = process.cpuUsage(own0);
        const cpuMs = cgroupCpuMs() - cpu0;
        h.disable();
        // Delays beyond the 1 ms resolution, summed over the samples: time the loop could not run.
        const blockedMs = Math.max(0, (h.mean / 1e6 - 1) * h.count);
        return { ms, cpuMs, nodeCpuMs: (own.user + own.system) / 1000, blockedMs, maxBlockMs: h.max / 1e6 };
    };
    const made: { id: string; outs: any }[] = [];
    const create = await phase(async () => {
        for (const i of inputs) {
            const checked = await provider.check({}, i);
            if (checked.failures?.length) throw new Error(`check refused ${i.hostIfName}: ${JSON.stringify(checked.failures)}`);
            made.push(await provider.create(checked.inputs));
        }
    });
    // Outside the timing: the parent reads every attachment back with ip.
    process.send!({ created: true });
    await new Promise<void>((resolve) => process.once("message", () => resolve()));
    const read = await phase(async () => {
        for (const m of made) {
            const r = await provider.read(m.id, m.outs);
            if (!r.props) throw new Error(`read found ${m.id} gone`);
        }
    });
    const del = await phase(async () => {
        for (const m of made) await provider.delete(m.id, m.outs);
    });
    const report: ChildReport = {
        mode,
        rssMiB: process.memoryUsage().rss / 2 ** 20,
        helperStartMs,
        phases: { create, read, delete: del },
    };
    process.send!({ report }, undefined, {}, () => process.disconnect());
}

// ---- the parent ----

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function runMode(mode: Mode, containers: Container[], plan: Awaited<ReturnType<typeof addressPlan>>): Promise<ChildReport> {
    const { fork } = await import("node:child_process");
    const spec = { containers: containers.map((c) => c.name), bridge: plan.bridge, cidrs: containers.map((_, i) => plan.cidr(i)) };
    // A cgroup of its own, so that its cgroupCpuMs counts it, its helper and their forks.
    const cg = `/sys/fs/cgroup/cpuacct/hostnet-hostwork-${RUN}-${mode}`;
    mkdirSync(cg, { recursive: true });
    try {
        const c = fork(__filename, ["--child", mode, JSON.stringify(spec)], {
            execArgv: ["-r", "ts-node/register/transpile-only"],
            cwd: repoRoot,
            stdio: ["ignore", "inherit", "inherit", "ipc"],
        });
        writeFileSync(`${cg}/cgroup.procs`, String(c.pid));
        return await new Promise<ChildReport>((resolve, reject) => {
            c.on("message", async (m: { created?: boolean; report?: ChildReport }) => {
                if (m.created) {
                    await checkAttached(`hostwork ${mode}`, containers, plan.cidr, plan.gateway).then(
                        () => c.send("go"),
                        (err) => (c.kill(), reject(err)),
                    );
                } else if (m.report) resolve(m.report);
            });
            c.on("exit", (code) => code !== 0 && reject(new Error(`hostwork ${mode}: the child exited with ${code}`)));
        });
    } finally {
        // Empty once the child and its helper have ended.
        for (let i = 0; i < 200; i++) {
            try {
                rmdirSync(cg);
                break;
            } catch {
                await new Promise((r) => setTimeout(r, 50));
            }
        }
    }
}

async function main(): Promise<void> {
    const argv = process.argv.slice(2);
    if (argv[0] === "--child") return child(argv[1] as Mode, JSON.parse(argv[2]));
    const opt = (name: string, def: string) => {
        const i = argv.indexOf(name);
        return i < 0 ? def : argv[i + 1];
    };
    const n = Number(opt("--n", "50"));
    const runs = Number(opt("--runs", "3"));
    const modes = opt("--modes", MODES.join(",")).split(",") as Mode[];
    if (!Number.isInteger(n) || n < 1 || n > MAX_N) throw new Error(`--n takes 1 to ${MAX_N}`);
    for (const m of modes) if (!MODES.includes(m)) throw new Error(`--modes takes ${MODES.join(",")}`);
    const log = (s: string) => console.log(`[hostwork ${RUN}] ${s}`);
    cleanupOnExit(log);
    registerRun();
    await sweepStale(log);
    await ensureCniPlugin(log);
    onCleanup("remove the containers and interfaces of this run", () => sweep(RUN));
    const scratch = mkdtempSync(join(tmpdir(), `hostnet-hostwork-${RUN}-`));
    onCleanup("remove the scratch folder", () => rmSync(scratch, { recursive: true, force: true }));
    const plan = await addressPlan(opt("--bridge", "docker0") as "docker0" | "own");
    const containers = await startContainers(`hnb-${RUN}-c`, n, () => undefined);
    const load0 = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    log(`N=${n}, ${runs} runs, modes ${modes.join(",")}, bridge ${plan.bridge}; load ${load0}`);

    const cni = cniBaseline(plan, join(scratch, "cni-ipam"));
    const results: Record<string, { ms: number[]; cpuMs: number[]; nodeCpuMs: number[]; blockedMs: number[]; maxBlockMs: number[] }> = {};
    const add = (key: string, p: Phase) => {
        const r = (results[key] ??= { ms: [], cpuMs: [], nodeCpuMs: [], blockedMs: [], maxBlockMs: [] });
        r.ms.push(p.ms / n);
        r.cpuMs.push(p.cpuMs / n);
        r.nodeCpuMs.push(p.nodeCpuMs / n);
        r.blockedMs.push(p.blockedMs / n);
        r.maxBlockMs.push(p.maxBlockMs);
    };
    const extra: Record<string, { rssMiB: number[]; helperStartMs: number[] }> = {};
    for (let rep = 1; rep <= runs; rep++) {
        const a = await cni.attach(containers);
        add("cni.add", { ...a, nodeCpuMs: 0, blockedMs: 0, maxBlockMs: 0 });
        const d = await cni.detach(containers);
        add("cni.del", { ...d, nodeCpuMs: 0, blockedMs: 0, maxBlockMs: 0 });
        log(
            `run ${rep}: CNI ADD ${(a.ms / n).toFixed(1)} ms (CPU ${(a.cpuMs / n).toFixed(1)}), DEL ${(d.ms / n).toFixed(1)} ms (CPU ${(d.cpuMs / n).toFixed(1)}) per attachment`,
        );
        for (const mode of modes) {
            const r = await runMode(mode, containers, plan);
            await checkDetached(`hostwork ${mode}`, containers);
            for (const [k, p] of Object.entries(r.phases)) add(`${mode}.${k}`, p);
            const e = (extra[mode] ??= { rssMiB: [], helperStartMs: [] });
            e.rssMiB.push(r.rssMiB);
            e.helperStartMs.push(r.helperStartMs);
            log(
                `run ${rep}: ${mode.padEnd(7)} ` +
                    Object.entries(r.phases)
                        .map(
                            ([k, p]) =>
                                `${k} ${(p.ms / n).toFixed(1)} ms (CPU ${(p.cpuMs / n).toFixed(1)}, loop blocked ${(p.blockedMs / n).toFixed(1)})`,
                        )
                        .join(", ") +
                    `; RSS ${r.rssMiB.toFixed(0)} MiB`,
            );
        }
    }
    const load1 = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    const rows = Object.entries(results).map(
        ([k, r]) =>
            `| ${k} | ${median(r.ms).toFixed(1)} | ${median(r.cpuMs).toFixed(1)} | ${k.startsWith("cni.") ? "-" : median(r.nodeCpuMs).toFixed(1)} | ${median(r.blockedMs).toFixed(1)} | ${median(r.maxBlockMs).toFixed(1)} |`,
    );
    const table = [
        `N=${n}, ${runs} runs, medians, per attachment; load ${load0} at the start, ${load1} at the end; ${plan.bridge}`,
        "",
        "| mode.phase | wall ms | CPU ms (all processes) | of which the Node.js process | event loop blocked ms | longest block ms |",
        "|---|---|---|---|---|---|",
        ...rows,
        "",
        ...Object.entries(extra).map(
            ([m, e]) =>
                `- ${m}: process RSS ${median(e.rssMiB).toFixed(0)} MiB; first helper answer after ${median(e.helperStartMs).toFixed(1)} ms`,
        ),
    ].join("\n");
    console.log(`\n${table}\n`);
    const out = join(repoRoot, "bench", "results", `hostwork-${new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19)}.md`);
    mkdirSync(join(out, ".."), { recursive: true });
    writeFileSync(out, table + "\n");
    log(`results: ${out}`);
}

main()
    .catch((err: Error) => {
        console.error(`hostwork: FAILED: ${err.stack ?? err.message}`);
        process.exitCode = 1;
    })
    .finally(() => {
        if (process.argv[2] !== "--child") return cleanup(console.log);
    });
