// Reads what bench/profile.ts's instruments wrote for one command and says
// where its time went:
//   otel.json        the engine's spans: a timeline of plans, plugin starts,
//                    program runs, provider calls and checkpoint writes
//   node/*.cpuprofile  CPU profiles of the Node.js processes, by category
//   strace.txt       host processes started (execve) and checkpoint renames
//   engine.*.cpu     the engine's Go CPU profile (via `go tool pprof`)

import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";

export interface AnalyzeInput {
    dir: string;
    command: string;
    n: number;
    wallMs: number;
    cpuMs: number;
    stateBytes?: number;
    pulumiBin: string;
    stateDir: string;
}

const f0 = (x: number) => x.toFixed(0);

// ---------------------------------------------------------------- engine spans

interface Span {
    name: string;
    start: number;
    end: number;
    attrs: Record<string, string>;
}

function readSpans(file: string): Span[] {
    const spans: Span[] = [];
    for (const line of readFileSync(file, "utf8").split("\n")) {
        if (!line.trim()) continue;
        const doc = JSON.parse(line);
        for (const rs of doc.resourceSpans ?? [])
            for (const ss of rs.scopeSpans ?? [])
                for (const s of ss.spans ?? []) {
                    const attrs: Record<string, string> = {};
                    for (const a of s.attributes ?? []) attrs[a.key] = String(Object.values(a.value ?? {})[0]);
                    spans.push({
                        name: s.name,
                        start: Number(BigInt(s.startTimeUnixNano) / 1000n) / 1000,
                        end: Number(BigInt(s.endTimeUnixNano) / 1000n) / 1000,
                        attrs,
                    });
                }
    }
    return spans.sort((a, b) => a.start - b.start);
}

/** A timeline of the command from its engine spans, in ms from the command's own span. */
function timeline(spans: Span[], n: number): string[] {
    const root = spans.find((s) => s.name === "pulumi");
    if (!root) return ["(no `pulumi` span in otel.json)"];
    const t = (x: number) => x - root.start;
    const rows: [string, string, string, string][] = [];
    const row = (what: string, start: number | undefined, dur: number | undefined, note = "") =>
        rows.push([what, start === undefined ? "" : f0(t(start)), dur === undefined ? "" : f0(dur), note]);
    const plans = spans.filter((s) => s.name === "pulumi-plan");
    row("CLI start, stack and secrets (until the first plan)", root.start, (plans[0]?.start ?? root.end) - root.start);
    const fixedParts: number[] = [(plans[0]?.start ?? root.end) - root.start];
    for (const [i, plan] of plans.entries()) {
        const inPlan = (s: Span) => s.start >= plan.start && s.start <= plan.end;
        const kind = plans.length === 2 && i === 0 ? "preview" : (plan.attrs.operation ?? "plan");
        row(`**plan ${i + 1} (${kind})**`, plan.start, plan.end - plan.start);
        const langHost = spans.find((s) => inPlan(s) && s.name === "newPlugin" && s.attrs.prefix === "nodejs");
        if (langHost) row("  language host start", langHost.start, langHost.end - langHost.start);
        const runSpan = spans.find((s) => inPlan(s) && s.name === "pulumirpc.LanguageRuntime/Run");
        const regs = spans.filter((s) => inPlan(s) && s.name === "pulumirpc.ResourceMonitor/RegisterResource");
        if (runSpan && regs.length > 0) {
            row("  program start: node, ts-node, @pulumi/pulumi, until the stack registers", runSpan.start, regs[0].start - runSpan.start);
            fixedParts.push(regs[0].start - runSpan.start);
            if (regs.length > 1) {
                row(
                    `  program body: the stack's registration to the first of ${regs.length - 1} resources`,
                    regs[0].start,
                    regs[1].start - regs[0].start,
                );
                row(`  program: first to last resource registration sent`, regs[1].start, regs[regs.length - 1].start - regs[1].start);
            }
        }
        const provider = spans.find((s) => inPlan(s) && s.name === "newPlugin" && (s.attrs.prefix ?? "").includes("resource"));
        if (provider) {
            row(
                "  dynamic-provider process start (launcher, node, the provider host's modules)",
                provider.start,
                provider.end - provider.start,
            );
            fixedParts.push(provider.end - provider.start);
        }
        let lastCallEnd = 0;
        let firstCall = Infinity;
        for (const method of ["Check", "Diff", "Create", "Read", "Update", "Delete"]) {
            const calls = spans.filter((s) => inPlan(s) && s.name === `pulumirpc.ResourceProvider/${method}`);
            if (calls.length === 0) continue;
            const sum = calls.reduce((a, s) => a + s.end - s.start, 0);
            const first = calls[0].start;
            const last = Math.max(...calls.map((s) => s.end));
            lastCallEnd = Math.max(lastCallEnd, last);
            firstCall = Math.min(firstCall, first);
            const durs = calls.map((s) => s.end - s.start).sort((a, b) => a - b);
            row(
                `  provider ${method} x${calls.length}`,
                first,
                last - first,
                `first call ${f0(calls[0].end - calls[0].start)} ms; median ${f0(durs[Math.floor(durs.length / 2)])}, max ${f0(durs[durs.length - 1])}, sum ${f0(sum)} ms; ${(
                    (last - first) /
                    calls.length
                ).toFixed(1)} ms of span per call`,
            );
        }
        const writes = spans.filter((s) => inPlan(s) && s.name === "gocloud.dev/blob.NewWriter");
        const copies = spans.filter((s) => inPlan(s) && s.name === "gocloud.dev/blob.Copy");
        if (writes.length + copies.length > 0) {
            const sum = [...writes, ...copies].reduce((a, s) => a + s.end - s.start, 0);
            row(
                `  checkpoint: ${writes.length} writes + ${copies.length} backup copies`,
                (writes[0] ?? copies[0]).start,
                undefined,
                `${f0(sum)} ms in blob calls (the marshalling around them is not in a span)`,
            );
        }
        if (lastCallEnd > 0) row("  after the last provider call until the plan ends", lastCallEnd, plan.end - lastCallEnd);
        const outputs = spans.find((s) => inPlan(s) && s.name === "pulumirpc.ResourceMonitor/RegisterResourceOutputs");
        if (runSpan) row("  program run (LanguageRuntime/Run), whole", runSpan.start, runSpan.end - runSpan.start, outputs ? "" : "");
        if (firstCall < Infinity) fixedParts.push(0);
    }
    const lastPlan = plans[plans.length - 1];
    if (lastPlan) row("after the last plan until exit", lastPlan.end, root.end - lastPlan.end);
    row("**whole command**", root.start, root.end - root.start, `N=${n}`);
    return ["| phase | start, ms | duration, ms | notes |", "|---|---|---|---|", ...rows.map((r) => `| ${r.join(" | ")} |`)];
}

// ---------------------------------------------------------------- Node.js CPU profiles

interface ProfileNode {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
}
interface CpuProfile {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
    startTime: number;
    endTime: number;
}

const inModuleLoader = (x: ProfileNode["callFrame"]) =>
    x.url === "node:internal/modules/cjs/loader" && x.functionName.startsWith("Module.");
/** Frames that run a module's body (the anonymous top-level function) rather than one of its functions. */
const isTopLevel = (x: ProfileNode["callFrame"]) => x.functionName === "" && x.lineNumber === 0;

const CATEGORIES: [string, (frames: ProfileNode["callFrame"][]) => boolean][] = [
    ["idle (waiting for the engine, host processes, I/O)", (f) => f[0].functionName === "(idle)"],
    ["garbage collection", (f) => f[0].functionName === "(garbage collector)"],
    [
        "spawning host processes (child_process.spawn, in the event loop)",
        (f) => f.some((x) => x.functionName === "spawn" && (x.url === "node:child_process" || x.url === "node:internal/child_process")),
    ],
    [
        "ts-node transpiling TypeScript",
        (f) =>
            f.some(
                (x) =>
                    (x.url.includes("/ts-node/") || x.url.includes("typescript/lib/typescript.js")) &&
                    !isTopLevel(x) &&
                    /compile|emit|transpile|getOutput/i.test(x.functionName),
            ),
    ],
    ["loading modules (require: resolve, read, compile, run the module body)", (f) => f.some(inModuleLoader)],
    [
        "closure serialization (Pulumi serializing a dynamic provider)",
        (f) => f.some((x) => x.url.includes("runtime/closure/") && !isTopLevel(x)),
    ],
    ["provider deserialization (require-from-string)", (f) => f.some((x) => x.url.includes("require-from-string"))],
    ["hostnet library code", (f) => f.some((x) => x.url.includes("pulumi-hostnet/dist"))],
    ["gRPC and protobuf", (f) => f.some((x) => x.url.includes("@grpc/") || x.url.includes("google-protobuf") || x.url.includes("/proto/"))],
    ["Pulumi SDK, other", (f) => f.some((x) => x.url.includes("@pulumi/pulumi"))],
    ["V8/native, unattributed ((program))", (f) => f[0].functionName === "(program)"],
    ["other", () => true],
];

/** Markers: the first time a frame matching runs, as ms from the profile's start. */
const MARKERS: [string, (x: ProfileNode["callFrame"]) => boolean][] = [
    ["first resource registration (program)", (x) => x.functionName === "registerResource" && x.url.includes("runtime/resource")],
    [
        "first provider call (check/diff/create/read/update/delete)",
        (x) => x.url.includes("dynamic-provider") && /^(check|diff|create|read|update|delete)$/.test(x.functionName),
    ],
    ["first hostnet engine code", (x) => x.url.includes("pulumi-hostnet/dist/engine")],
];

function roleOfArgv(argv: string[]): string {
    if (argv.some((a) => a.includes("dynamic-provider"))) return "dynamic provider";
    if (argv.some((a) => a.includes("cmd/run"))) return "program";
    if (argv.length === 1) return "`node -e` (the provider script resolving its path)";
    return argv.slice(1).join(" ");
}

interface ProcessMeta {
    pid: number;
    argv: string[];
    bootMs: number;
    loadedAt: number;
    endedAt: number;
    requireTotalMs?: number;
    requireMs?: Record<string, number>;
}

function packageOf(file: string): string {
    const parts = file.split("node_modules/");
    if (parts.length < 2) return file.includes("pulumi-hostnet") ? "pulumi-hostnet" : `(project) ${basename(file)}`;
    const seg = parts[parts.length - 1].split("/");
    return seg[0].startsWith("@") ? `${seg[0]}/${seg[1]}` : seg[0];
}

/** Time in require per package (exclusive of nested requires), from the hook's sidecar. */
function requiresByPackage(meta: ProcessMeta, top = 8): string {
    if (!meta.requireMs) return "";
    const byPkg = new Map<string, number>();
    for (const [file, ms] of Object.entries(meta.requireMs)) byPkg.set(packageOf(file), (byPkg.get(packageOf(file)) ?? 0) + ms);
    const list = [...byPkg]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([p, ms]) => `${p} ${f0(ms)}`)
        .join(", ");
    return `${f0(meta.requireTotalMs ?? 0)} ms in require, ${Object.keys(meta.requireMs).length} files: ${list}`;
}

function cpuProfiles(dir: string, t0: number): string[] {
    if (!existsSync(dir)) return [];
    const lines = [
        "| process | pid | started, ms | node boot before the hook, ms | lifetime, ms | CPU (non-idle samples), ms | where the CPU went (ms) | markers, ms after start | module loading (wall, by package) |",
        "|---|---|---|---|---|---|---|---|---|",
    ];
    const metas = readdirSync(dir)
        .filter((f) => f.endsWith(".json"))
        .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as ProcessMeta)
        .sort((a, b) => a.loadedAt - b.loadedAt);
    for (const m of metas) {
        const file = join(dir, `${m.pid}.cpuprofile`);
        if (!existsSync(file)) continue;
        const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
        const byId = new Map(p.nodes.map((x) => [x.id, x]));
        const parent = new Map<number, number>();
        for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
        const stackOf = new Map<number, ProfileNode["callFrame"][]>();
        const stack = (id: number) => {
            let s = stackOf.get(id);
            if (!s) {
                s = [];
                for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) s.push(byId.get(cur)!.callFrame);
                stackOf.set(id, s);
            }
            return s;
        };
        const cat = new Map<string, number>();
        const markers = new Map<string, number>();
        let at = 0;
        let busy = 0;
        for (let i = 0; i < p.samples.length; i++) {
            at += p.timeDeltas[i] / 1000;
            const dur = (p.timeDeltas[i + 1] ?? 0) / 1000;
            const frames = stack(p.samples[i]);
            const c = CATEGORIES.find(([, test]) => test(frames))![0];
            cat.set(c, (cat.get(c) ?? 0) + dur);
            if (!c.startsWith("idle")) busy += dur;
            for (const [name, test] of MARKERS) if (!markers.has(name) && frames.some(test)) markers.set(name, at);
        }
        const parts = [...cat]
            .filter(([c, ms]) => !c.startsWith("idle") && ms >= 5)
            .sort((a, b) => b[1] - a[1])
            .map(([c, ms]) => `${c} ${f0(ms)}`)
            .join("; ");
        const marks = [...markers].map(([k, v]) => `${k} ${f0(v)}`).join("; ");
        lines.push(
            `| ${roleOfArgv(m.argv)} | ${m.pid} | ${f0(m.loadedAt - t0)} | ${f0(m.bootMs)} | ${f0(m.endedAt - m.loadedAt)} | ${f0(busy)} | ${parts} | ${marks} | ${requiresByPackage(m)} |`,
        );
    }
    return lines;
}

// ---------------------------------------------------------------- strace

function strace(file: string, n: number, stateDir: string): string[] {
    if (!existsSync(file)) return [];
    const pending = new Map<string, string>();
    const firstExec = new Map<string, string>();
    const execs = new Map<string, number>();
    let checkpointWrites = 0;
    let backupWrites = 0;
    let otherRenames = 0;
    const ok = (line: string) => /\)\s+= 0$/.test(line);
    for (const line of readFileSync(file, "utf8").split("\n")) {
        const m = /^(\d+)\s+(.*)$/.exec(line);
        if (!m) continue;
        const [, pid, rest] = m;
        let exec: string | undefined;
        if (rest.startsWith("execve(")) {
            const path = /^execve\("([^"]+)"/.exec(rest)?.[1];
            if (rest.includes("<unfinished ...>")) pending.set(pid, path ?? "?");
            else if (ok(rest)) exec = path;
        } else if (rest.startsWith("<... execve resumed>")) {
            if (ok(rest)) exec = pending.get(pid);
            pending.delete(pid);
        } else if (/^rename(at2?)?\(/.test(rest) && ok(rest)) {
            const target = [...rest.matchAll(/"([^"]+)"/g)][1]?.[1] ?? "";
            if (target.startsWith(stateDir) && /\/\.pulumi\/stacks\/.*\.json$/.test(target)) checkpointWrites++;
            else if (target.startsWith(stateDir) && /\/\.pulumi\/stacks\/.*\.json\.bak$/.test(target)) backupWrites++;
            else otherRenames++;
        }
        if (exec) {
            const name = basename(exec);
            execs.set(name, (execs.get(name) ?? 0) + 1);
            if (!firstExec.has(pid)) firstExec.set(pid, name);
        }
    }
    const spawns = new Map<string, number>();
    for (const name of firstExec.values()) spawns.set(name, (spawns.get(name) ?? 0) + 1);
    const names = [...new Set([...execs.keys()])].sort((a, b) => (execs.get(b) ?? 0) - (execs.get(a) ?? 0));
    const hostSpawns = (spawns.get("ip") ?? 0) + (spawns.get("nsenter") ?? 0);
    const hostExecs = (execs.get("ip") ?? 0) + (execs.get("nsenter") ?? 0);
    return [
        "| program | processes started (first execve of a pid) | execve (an nsenter also execs its ip) |",
        "|---|---|---|",
        ...names.map((k) => `| ${k} | ${spawns.get(k) ?? 0} | ${execs.get(k) ?? 0} |`),
        "",
        `Host commands (ip, nsenter): ${hostSpawns} processes started, ${hostExecs} execve; per attachment ${(hostSpawns / n).toFixed(1)} started, ${(hostExecs / n).toFixed(1)} execve.`,
        `Checkpoint: ${checkpointWrites} writes of the stack's checkpoint file and ${backupWrites} of its .bak (each a full copy; renames of a temp file), ${otherRenames} other renames (locks, history).`,
    ];
}

// ---------------------------------------------------------------- engine CPU (Go)

const GO_FUNCS: [string, RegExp][] = [
    ["checkpoint saves (SnapshotManager.saveSnapshot)", /backend\.\(\*SnapshotManager\)\.saveSnapshot$/],
    ["  of which serializing the snapshot (SnapshotManager.Deployment)", /backend\.\(\*SnapshotManager\)\.Deployment$/],
    ["  of which integrity checks (snapshot.VerifyIntegrity)", /snapshot\.VerifyIntegrity$/],
    ["  of which the file backend's write (diyBackend.saveStack)", /diy\.\(\*diyBackend\)\.saveStack$/],
    ["passphrase key derivation (pbkdf2.Key)", /^golang\.org\/x\/crypto\/pbkdf2\.Key$/],
    ["step execution (deploy.(*stepExecutor).executeChain)", /deploy\.\(\*stepExecutor\)\.executeChain$/],
    ["step generation (deploy.(*stepGenerator).GenerateSteps)", /deploy\.\(\*stepGenerator\)\.GenerateSteps$/],
    ["display (display.ShowProgressEvents and friends)", /display\.ShowProgressEvents$/],
    ["gRPC server (handleStream)", /grpc\.\(\*Server\)\.handleStream$/],
    ["garbage collection (runtime.gcBgMarkWorker)", /^runtime\.gcBgMarkWorker$/],
];

function engineProfile(dir: string, bin: string): string[] {
    const file = existsSync(dir) ? readdirSync(dir).find((f) => /^engine\.\d+\.cpu$/.test(f)) : undefined;
    if (!file) return [];
    let out: string;
    try {
        out = execFileSync("go", ["tool", "pprof", "-top", "-cum", "-nodecount=2000", bin, join(dir, file)], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "ignore"],
        });
    } catch (err) {
        return [`(go tool pprof failed: ${(err as Error).message})`];
    }
    const total = /Total samples = ([\d.]+)(ms|s)/.exec(out);
    const totalMs = total ? Number(total[1]) * (total[2] === "s" ? 1000 : 1) : NaN;
    const cum = new Map<string, number>();
    for (const line of out.split("\n")) {
        const m = /^\s*[\d.]+(?:ms|s|us)?\s+[\d.]+%\s+[\d.]+%\s+([\d.]+)(ms|s|us)\s+[\d.]+%\s+(.+)$/.exec(line);
        if (!m) continue;
        const ms = Number(m[1]) * (m[2] === "s" ? 1000 : m[2] === "us" ? 0.001 : 1);
        const fn = m[3].replace(/ \(inline\)$/, "");
        cum.set(fn, Math.max(cum.get(fn) ?? 0, ms));
    }
    const rows = GO_FUNCS.map(([label, re]) => {
        const ms = [...cum].filter(([fn]) => re.test(fn)).reduce((a, [, v]) => Math.max(a, v), 0);
        return `| ${label} | ${f0(ms)} |`;
    });
    return [`Engine CPU, sampled: ${f0(totalMs)} ms in all.`, "", "| engine (Go), cumulative CPU | ms |", "|---|---|", ...rows];
}

/** What a dynamic resource's state is made of, from `pulumi stack export`. */
export function stateComposition(exported: string): string {
    const dep = JSON.parse(exported).deployment as {
        resources?: { type: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }[];
    };
    const dyn = (dep.resources ?? []).filter((r) => r.type.startsWith("pulumi-nodejs:dynamic"));
    if (dyn.length === 0) return "(no dynamic resources)";
    const size = (x: unknown) => (x === undefined ? 0 : Buffer.byteLength(JSON.stringify(x)));
    const avg = (f: (r: (typeof dyn)[number]) => number) => f0(dyn.reduce((a, r) => a + f(r), 0) / dyn.length);
    const whole = size(JSON.parse(exported));
    return [
        `${dyn.length} dynamic resources; the exported deployment is ${whole} bytes (compact JSON), ${f0(whole / dyn.length)} per resource.`,
        "",
        "| per resource, bytes (compact JSON) | mean |",
        "|---|---|",
        `| whole resource entry | ${avg((r) => size(r))} |`,
        `| inputs | ${avg((r) => size(r.inputs))} |`,
        `| of which inputs.__provider | ${avg((r) => size(r.inputs?.__provider))} |`,
        `| outputs | ${avg((r) => size(r.outputs))} |`,
        `| of which outputs.__provider | ${avg((r) => size(r.outputs?.__provider))} |`,
    ].join("\n");
}

export async function analyze(a: AnalyzeInput): Promise<string> {
    const out: string[] = [];
    out.push(`Wall ${f0(a.wallMs)} ms; CPU of every process started ${f0(a.cpuMs)} ms; state after it ${a.stateBytes ?? "n/a"} bytes.`, "");
    const otelFile = join(a.dir, "otel.json");
    let t0 = 0;
    if (existsSync(otelFile)) {
        const spans = readSpans(otelFile);
        t0 = spans.find((s) => s.name === "pulumi")?.start ?? 0;
        out.push("### Timeline (engine spans)", "", ...timeline(spans, a.n), "");
    }
    const node = cpuProfiles(join(a.dir, "node"), t0 || Date.now());
    if (node.length > 0) out.push("### Node.js processes (CPU profiles)", "", ...node, "");
    const st = strace(join(a.dir, "strace.txt"), a.n, a.stateDir);
    if (st.length > 0) out.push("### Processes started and checkpoint writes (strace)", "", ...st, "");
    const eng = engineProfile(a.dir, a.pulumiBin);
    if (eng.length > 0) out.push("### Engine CPU (Go profile)", "", ...eng, "");
    return out.join("\n");
}
