// The bench's figures from its samples: medians with min and max per
// operation and N, the marginal cost per attachment (slope) between
// consecutive N, ratios to each baseline, peak RSS per process role, state
// size, and the issue's targets, met or not. Rendered as Markdown tables (what
// BENCHMARKS.md quotes) and kept as JSON.

import type { PeakRss, Role } from "./rss";
import { ROLES } from "./rss";

export interface Sample {
    rep: number;
    /** Attachments; 0 for what does not depend on N (the empty program, setup). */
    n: number;
    op: string;
    /** Wall time, ms. */
    ms: number;
    /** CPU time of every process the step started, ms (machine.cpuCountedBy says how). */
    cpuMs: number;
    /** CPU time of the processes the step waited for (children's rusage), ms, when it differs in kind from cpuMs. */
    cpuReapedMs?: number;
    rss?: PeakRss;
    /** CPU time by role as sampled (lower bounds), ms. */
    cpuByRole?: Partial<Record<Role, number>>;
    stateBytes?: number;
    /** Bytes of `pulumi stack export` after the step, and the resources it holds. */
    exported?: { bytes: number; resources: number };
}

export const OPS: Record<string, string> = {
    "hostnet.up": "hostnet: `pulumi up` from empty",
    "hostnet.preview": "hostnet: `pulumi preview`, no change",
    "hostnet.noop-up": "hostnet: `pulumi up`, no change",
    "hostnet.refresh": "hostnet: `pulumi refresh`, no drift",
    "hostnet.destroy": "hostnet: `pulumi destroy`",
    "seed.add": "seed procedure as a script: attach",
    "seed.del": "seed procedure as a script: detach",
    "cni.add": "CNI bridge ADD (with `docker inspect`)",
    "cni.del": "CNI bridge DEL",
    "docker.connect": "`docker network connect`",
    "docker.disconnect": "`docker network disconnect`",
    "empty.preview": "`pulumi preview` of an empty program",
    "setup.warm": "`npm run setup`, warm",
};

const HOSTNET_ATTACH = ["hostnet.up", "hostnet.preview", "hostnet.refresh"];
const BASE_ATTACH = ["cni.add", "seed.add", "docker.connect"];
const BASE_DETACH = ["cni.del", "seed.del", "docker.disconnect"];

export interface Stat {
    median: number;
    min: number;
    max: number;
    runs: number;
}

export function median(xs: readonly number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function stat(xs: readonly number[]): Stat {
    return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs.length };
}

/** The figures of one measure (wall time or CPU time). */
export interface Figures {
    stats: Record<string, Record<number, Stat>>;
    /** ms per attachment between consecutive N, from medians. */
    slopes: Record<string, { from: number; to: number; msPerAttachment: number }[]>;
    /** hostnet op / baseline op: ratio of median totals per N and of slopes per N pair. */
    ratios: { op: string; baseline: string; totals: Record<number, number>; slopes: Record<string, number> }[];
}

export interface Summary {
    ns: number[];
    /** Wall time: what the targets are about. */
    wall: Figures;
    /** CPU time of the processes started: the same figures, less disturbed by other work on the machine. */
    cpu: Figures;
    /** Largest peak RSS (MiB) per role, per hostnet command and N, over the runs. */
    rss: Record<string, Record<number, PeakRss>>;
    /** Checkpoint size after `up`, bytes (median over runs), per up operation (variants apart) and N. */
    stateBytes: Record<string, Record<number, number>>;
    /** `pulumi stack export` after `up` (the last run's), per up operation and N. */
    exported: Record<string, Record<number, { bytes: number; resources: number }>>;
    targets: Target[];
}

export interface Target {
    name: string;
    /** Judged on wall time. */
    met: boolean | undefined;
    detail: string;
    /** The same judged on CPU time, where that applies. */
    metByCpu?: boolean | undefined;
    cpuDetail?: string;
}

function figures(samples: readonly Sample[], sorted: readonly number[], metric: "ms" | "cpuMs"): Figures {
    const stats: Figures["stats"] = {};
    const groups = new Map<string, number[]>();
    for (const s of samples) {
        const key = `${s.op}\0${s.n}`;
        groups.set(key, [...(groups.get(key) ?? []), s[metric]]);
    }
    for (const [key, ms] of groups) {
        const [op, n] = key.split("\0");
        (stats[op] ??= {})[Number(n)] = stat(ms);
    }
    const slopes: Figures["slopes"] = {};
    for (const [op, byN] of Object.entries(stats)) {
        for (let i = 1; i < sorted.length; i++) {
            const [a, b] = [byN[sorted[i - 1]], byN[sorted[i]]];
            if (!a || !b) continue;
            (slopes[op] ??= []).push({
                from: sorted[i - 1],
                to: sorted[i],
                msPerAttachment: (b.median - a.median) / (sorted[i] - sorted[i - 1]),
            });
        }
    }
    const ratios: Figures["ratios"] = [];
    const pairs = [
        ...HOSTNET_ATTACH.flatMap((op) => BASE_ATTACH.map((baseline) => [op, baseline])),
        ...BASE_DETACH.map((baseline) => ["hostnet.destroy", baseline]),
    ];
    for (const [op, baseline] of pairs) {
        if (!stats[op] || !stats[baseline]) continue;
        const totals: Record<number, number> = {};
        for (const n of sorted) if (stats[op][n] && stats[baseline][n]) totals[n] = stats[op][n].median / stats[baseline][n].median;
        const slopeRatios: Record<string, number> = {};
        for (const s of slopes[op] ?? []) {
            const b = slopes[baseline]?.find((x) => x.from === s.from && x.to === s.to);
            if (b && b.msPerAttachment > 0) slopeRatios[`${s.from}-${s.to}`] = s.msPerAttachment / b.msPerAttachment;
        }
        ratios.push({ op, baseline, totals, slopes: slopeRatios });
    }
    return { stats, slopes, ratios };
}

export function summarize(samples: readonly Sample[], ns: readonly number[]): Summary {
    const sorted = [...ns].sort((a, b) => a - b);
    const rss: Summary["rss"] = {};
    const state = new Map<string, number[]>();
    const exported: Summary["exported"] = {};
    for (const s of samples) {
        if (s.rss) {
            const cell = ((rss[s.op] ??= {})[s.n] ??= {});
            for (const role of ROLES) if (s.rss[role] !== undefined) cell[role] = Math.max(cell[role] ?? 0, s.rss[role]!);
        }
        if (s.exported) (exported[s.op] ??= {})[s.n] = s.exported;
        if (s.stateBytes !== undefined) state.set(`${s.op}\0${s.n}`, [...(state.get(`${s.op}\0${s.n}`) ?? []), s.stateBytes]);
    }
    const stateBytes: Summary["stateBytes"] = {};
    for (const [key, xs] of state) {
        const [op, n] = key.split("\0");
        (stateBytes[op] ??= {})[Number(n)] = median(xs);
    }
    const summary: Summary = {
        ns: sorted,
        wall: figures(samples, sorted, "ms"),
        cpu: figures(samples, sorted, "cpuMs"),
        rss,
        stateBytes,
        exported,
        targets: [],
    };
    summary.targets = targets(summary);
    return summary;
}

const slopeOf = (f: Figures, op: string, from: number, to: number) =>
    f.slopes[op]?.find((x) => x.from === from && x.to === to)?.msPerAttachment;
const med = (f: Figures, op: string, n: number) => f.stats[op]?.[n]?.median;
const fmtMs = (ms: number | undefined) => (ms === undefined ? "n/a" : `${ms.toFixed(ms < 100 ? 1 : 0)} ms`);

function targets(s: Summary): Target[] {
    const out: Target[] = [];
    const top = s.ns[s.ns.length - 1];
    const prev = s.ns[s.ns.length - 2];
    const before = s.ns[s.ns.length - 3];
    /** A target judged on wall time (what it is about) and, as a cross-check, on CPU time. */
    const judge = (name: string, measure: (f: Figures) => [number | undefined, number | undefined, string]) => {
        const [a, b, detail] = measure(s.wall);
        const [ca, cb, cpuDetail] = measure(s.cpu);
        const met = (x: number | undefined, y: number | undefined) => (x === undefined || y === undefined ? undefined : x <= y);
        out.push({ name, met: met(a, b), detail, metByCpu: met(ca, cb), cpuDetail });
    };
    if (prev !== undefined) {
        for (const [op, base] of [
            ["hostnet.up", "cni.add"],
            ["hostnet.destroy", "cni.del"],
        ]) {
            judge(`marginal cost of ${op.split(".")[1]} <= ${OPS[base]}'s (N=${prev}->${top})`, (f) => {
                const [a, b] = [slopeOf(f, op, prev, top), slopeOf(f, base, prev, top)];
                return [a, b, `${fmtMs(a)} vs ${fmtMs(b)} per attachment`];
            });
        }
    }
    if (before !== undefined) {
        for (const op of ["hostnet.up", "hostnet.refresh", "hostnet.destroy"]) {
            judge(`${op.split(".")[1]} linear (slope ${prev}->${top} <= 1.5x slope ${before}->${prev})`, (f) => {
                const [late, early] = [slopeOf(f, op, prev, top), slopeOf(f, op, before, prev)];
                const ratio = late !== undefined && early ? `x${(late / early).toFixed(2)}` : "n/a";
                return [late, early === undefined ? undefined : 1.5 * early, `${fmtMs(late)} vs ${fmtMs(early)} per attachment (${ratio})`];
            });
        }
    }
    // The ratio and the fixed costs for hostnet as it is and for each variant (another library, environment, way
    // of running), each against the empty program run the same way where the bench measured that.
    const variants = [
        "",
        ...Object.keys(s.wall.stats).flatMap((op) => (op.startsWith("hostnet.up@") ? [op.slice("hostnet.up".length)] : [])),
    ];
    for (const v of variants) {
        const tag = v ? ` **[${v.slice(1)}]**` : "";
        judge(`no-op preview of ${top} <= 25% of its up${tag}`, (f) => {
            const [pv, up] = [med(f, `hostnet.preview${v}`, top), med(f, `hostnet.up${v}`, top)];
            return [
                pv,
                up === undefined ? undefined : up * 0.25,
                `${fmtMs(pv)} vs ${fmtMs(up)} (${pv && up ? ((100 * pv) / up).toFixed(0) : "n/a"}%)`,
            ];
        });
        const floorOp = s.wall.stats[`empty.preview${v}`] ? `empty.preview${v}` : "empty.preview";
        const floorName = floorOp === "empty.preview" ? "the empty program's preview" : "the empty program's preview, run the same way";
        for (const op of ["hostnet.up", "hostnet.noop-up", "hostnet.preview", "hostnet.refresh", "hostnet.destroy"]) {
            judge(`fixed cost of ${op.split(".")[1]}${tag} (N=1 minus ${floorName}) < 1 s`, (f) => {
                const [one, floor] = [med(f, `${op}${v}`, 1), med(f, floorOp, 0)];
                const fixed = one === undefined || floor === undefined ? undefined : one - floor;
                return [fixed, 1000, `${fmtMs(fixed)} (N=1 ${fmtMs(one)}, empty ${fmtMs(floor)})`];
            });
        }
    }
    const providerPeak = Math.max(0, ...Object.values(s.rss).map((byN) => byN[top]?.provider ?? 0));
    out.push({
        name: `dynamic-provider peak RSS < 200 MB at N=${top}`,
        met: providerPeak ? providerPeak < 200 : undefined,
        detail: `${providerPeak ? providerPeak.toFixed(0) : "n/a"} MiB`,
    });
    judge("`npm run setup` warm < 2 s", (f) => {
        const setup = med(f, "setup.warm", 0);
        return [setup, 2000, fmtMs(setup)];
    });
    return out;
}

const secs = (ms: number) => (ms / 1000).toFixed(ms < 10000 ? 2 : 1);

const yesNo = (met: boolean | undefined) => (met === undefined ? "n/a" : met ? "yes" : "**no**");

/** The label of an operation; a variant's (`hostnet.up@thin`) is its base's with the variant's name. */
function labelOf(op: string): string {
    const [base, variant] = op.split("@");
    return variant ? `${OPS[base] ?? base} **[${variant}]**` : (OPS[op] ?? op);
}

/** Every operation measured, in the order of OPS, each followed by its variants. */
function opsOf(stats: Record<string, unknown>): string[] {
    const keys = Object.keys(stats);
    return Object.keys(OPS)
        .flatMap((op) => [op, ...keys.filter((k) => k.startsWith(`${op}@`)).sort()])
        .filter((k) => k in stats);
}

function renderFigures(f: Figures, cols: readonly number[], unit: string): string[] {
    const lines: string[] = [];
    lines.push(`| ${unit} (seconds: median [min-max]) | ${cols.map((n) => `N=${n}`).join(" | ")} | per attachment at N=${cols.at(-1)} |`);
    lines.push(`|---|${cols.map(() => "---|").join("")}---|`);
    for (const op of opsOf(f.stats)) {
        const label = labelOf(op);
        const byN = f.stats[op];
        if (byN[0]) {
            const x = byN[0];
            lines.push(`| ${label} (independent of N) | ${secs(x.median)} [${secs(x.min)}-${secs(x.max)}] |${" |".repeat(cols.length)}`);
            continue;
        }
        const cells = cols.map((n) => (byN[n] ? `${secs(byN[n].median)} [${secs(byN[n].min)}-${secs(byN[n].max)}]` : ""));
        const top = byN[cols.at(-1)!];
        lines.push(`| ${label} | ${cells.join(" | ")} | ${top ? `${(top.median / cols.at(-1)!).toFixed(1)} ms` : ""} |`);
    }
    const pairs = cols.slice(1).map((n, i) => [cols[i], n] as const);
    lines.push("", `| ${unit}: marginal cost per attachment (ms, from medians) | ${pairs.map(([a, b]) => `N=${a}->${b}`).join(" | ")} |`);
    lines.push(`|---|${pairs.map(() => "---|").join("")}`);
    for (const op of opsOf(f.slopes)) {
        const label = labelOf(op);
        const sl = f.slopes[op];
        lines.push(
            `| ${label} | ${pairs.map(([a, b]) => sl.find((x) => x.from === a && x.to === b)?.msPerAttachment.toFixed(1) ?? "").join(" | ")} |`,
        );
    }
    lines.push(
        "",
        `| ${unit}: ratio hostnet / baseline | ${cols.map((n) => `totals N=${n}`).join(" | ")} | ${pairs.map(([a, b]) => `slopes ${a}->${b}`).join(" | ")} |`,
    );
    lines.push(`|---|${cols.map(() => "---|").join("")}${pairs.map(() => "---|").join("")}`);
    for (const r of f.ratios) {
        const t = cols.map((n) => (r.totals[n] !== undefined ? `${r.totals[n].toFixed(1)}x` : ""));
        const sl = pairs.map(([a, b]) => (r.slopes[`${a}-${b}`] !== undefined ? `${r.slopes[`${a}-${b}`].toFixed(1)}x` : ""));
        lines.push(`| ${r.op.split(".")[1]} / ${r.baseline} | ${[...t, ...sl].join(" | ")} |`);
    }
    return lines;
}

/** The Markdown tables of a summary. */
export function renderMarkdown(s: Summary): string {
    const lines: string[] = [];
    lines.push("| target | met (wall time) | measured (wall time) | met by CPU time | measured (CPU time) |", "|---|---|---|---|---|");
    for (const t of s.targets)
        lines.push(`| ${t.name} | ${yesNo(t.met)} | ${t.detail} | ${t.cpuDetail ? yesNo(t.metByCpu) : ""} | ${t.cpuDetail ?? ""} |`);
    lines.push("", ...renderFigures(s.wall, s.ns, "wall time"));
    lines.push("", ...renderFigures(s.cpu, s.ns, "CPU time"));
    const roleName: Record<Role, string> = {
        engine: "engine",
        languageHost: "language host",
        program: "program",
        provider: "dynamic provider",
        helper: "netlink helper",
    };
    lines.push("", `| peak RSS, MiB (largest of the runs) | ${ROLES.map((r) => roleName[r]).join(" | ")} |`);
    lines.push(`|---|${ROLES.map(() => "---|").join("")}`);
    for (const [op, byN] of Object.entries(s.rss)) {
        for (const n of Object.keys(byN)
            .map(Number)
            .sort((a, b) => a - b)) {
            lines.push(
                `| ${op.replace("hostnet.", "")}${n ? ` N=${n}` : ""} | ${ROLES.map((r) => byN[n][r]?.toFixed(0) ?? "").join(" | ")} |`,
            );
        }
    }
    const upOps = opsOf(s.stateBytes);
    if (upOps.length > 0) {
        const ns = s.ns.filter((n) => upOps.some((op) => s.stateBytes[op][n] !== undefined));
        lines.push("", `| checkpoint file after up, KiB (bytes per resource) | ${ns.map((n) => `N=${n}`).join(" | ")} |`);
        lines.push(`|---|${ns.map(() => "---|").join("")}`);
        for (const op of upOps) {
            const cells = ns.map((n) => {
                const b = s.stateBytes[op][n];
                return b === undefined ? "" : `${(b / 1024).toFixed(1)} (${(b / n).toFixed(0)})`;
            });
            lines.push(`| ${labelOf(op)} | ${cells.join(" | ")} |`);
        }
    }
    const exportOps = opsOf(s.exported ?? {});
    if (exportOps.length > 0) {
        const ns = s.ns.filter((n) => exportOps.some((op) => s.exported[op][n] !== undefined));
        lines.push(
            "",
            `| \`pulumi stack export\` after up: bytes per resource (bytes / resources) | ${ns.map((n) => `N=${n}`).join(" | ")} |`,
        );
        lines.push(`|---|${ns.map(() => "---|").join("")}`);
        for (const op of exportOps) {
            const cells = ns.map((n) => {
                const e = s.exported[op][n];
                return e === undefined ? "" : `${(e.bytes / e.resources).toFixed(0)} (${e.bytes} / ${e.resources})`;
            });
            lines.push(`| ${labelOf(op)} | ${cells.join(" | ")} |`);
        }
    }
    return lines.join("\n");
}
