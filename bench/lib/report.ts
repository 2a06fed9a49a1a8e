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
    ms: number;
    rss?: PeakRss;
    stateBytes?: number;
}

export const OPS: Record<string, string> = {
    "hostnet.up": "hostnet: `pulumi up` from empty",
    "hostnet.preview": "hostnet: `pulumi preview`, no change",
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

export interface Summary {
    ns: number[];
    stats: Record<string, Record<number, Stat>>;
    /** ms per attachment between consecutive N, from medians. */
    slopes: Record<string, { from: number; to: number; msPerAttachment: number }[]>;
    /** hostnet op / baseline op: ratio of median totals per N and of slopes per N pair. */
    ratios: { op: string; baseline: string; totals: Record<number, number>; slopes: Record<string, number> }[];
    /** Largest peak RSS (MiB) per role, per hostnet command and N, over the runs. */
    rss: Record<string, Record<number, PeakRss>>;
    /** Checkpoint size after `up`, bytes (median over runs). */
    stateBytes: Record<number, number>;
    targets: Target[];
}

export interface Target {
    name: string;
    met: boolean | undefined;
    detail: string;
}

export function summarize(samples: readonly Sample[], ns: readonly number[]): Summary {
    const stats: Summary["stats"] = {};
    const groups = new Map<string, number[]>();
    for (const s of samples) {
        const key = `${s.op}\0${s.n}`;
        groups.set(key, [...(groups.get(key) ?? []), s.ms]);
    }
    for (const [key, ms] of groups) {
        const [op, n] = key.split("\0");
        (stats[op] ??= {})[Number(n)] = stat(ms);
    }
    const sorted = [...ns].sort((a, b) => a - b);
    const slopes: Summary["slopes"] = {};
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
    const ratios: Summary["ratios"] = [];
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
    const rss: Summary["rss"] = {};
    const state = new Map<number, number[]>();
    for (const s of samples) {
        if (s.rss) {
            const cell = ((rss[s.op] ??= {})[s.n] ??= {});
            for (const role of ROLES) if (s.rss[role] !== undefined) cell[role] = Math.max(cell[role] ?? 0, s.rss[role]!);
        }
        if (s.stateBytes !== undefined) state.set(s.n, [...(state.get(s.n) ?? []), s.stateBytes]);
    }
    const stateBytes: Record<number, number> = {};
    for (const [n, xs] of state) stateBytes[n] = median(xs);
    const summary: Summary = { ns: sorted, stats, slopes, ratios, rss, stateBytes, targets: [] };
    summary.targets = targets(summary);
    return summary;
}

const slopeOf = (s: Summary, op: string, from: number, to: number) =>
    s.slopes[op]?.find((x) => x.from === from && x.to === to)?.msPerAttachment;
const med = (s: Summary, op: string, n: number) => s.stats[op]?.[n]?.median;
const fmtMs = (ms: number | undefined) => (ms === undefined ? "n/a" : `${ms.toFixed(ms < 100 ? 1 : 0)} ms`);

function targets(s: Summary): Target[] {
    const out: Target[] = [];
    const top = s.ns[s.ns.length - 1];
    const prev = s.ns[s.ns.length - 2];
    const before = s.ns[s.ns.length - 3];
    const cmp = (name: string, a: number | undefined, b: number | undefined, detail: string) =>
        out.push({ name, met: a === undefined || b === undefined ? undefined : a <= b, detail });
    if (prev !== undefined) {
        const range = `${prev}->${top}`;
        for (const [op, base] of [
            ["hostnet.up", "cni.add"],
            ["hostnet.destroy", "cni.del"],
        ]) {
            const a = slopeOf(s, op, prev, top);
            const b = slopeOf(s, base, prev, top);
            cmp(`marginal cost of ${op.split(".")[1]} <= ${OPS[base]}'s`, a, b, `N=${range}: ${fmtMs(a)} vs ${fmtMs(b)} per attachment`);
        }
    }
    if (before !== undefined) {
        for (const op of ["hostnet.up", "hostnet.refresh", "hostnet.destroy"]) {
            const late = slopeOf(s, op, prev, top);
            const early = slopeOf(s, op, before, prev);
            cmp(
                `${op.split(".")[1]} linear (slope ${prev}->${top} <= 1.5x slope ${before}->${prev})`,
                late,
                early === undefined ? undefined : 1.5 * early,
                `${fmtMs(late)} vs ${fmtMs(early)} per attachment (x${late !== undefined && early ? (late / early).toFixed(2) : "n/a"})`,
            );
        }
    }
    const pv = med(s, "hostnet.preview", top);
    const up = med(s, "hostnet.up", top);
    cmp(
        `no-op preview of ${top} <= 25% of its up`,
        pv,
        up === undefined ? undefined : up * 0.25,
        `${fmtMs(pv)} vs ${fmtMs(up)} (${pv && up ? ((100 * pv) / up).toFixed(0) : "n/a"}%)`,
    );
    const floor = med(s, "empty.preview", 0);
    for (const op of ["hostnet.up", "hostnet.preview", "hostnet.refresh", "hostnet.destroy"]) {
        const one = med(s, op, 1);
        const fixed = one === undefined || floor === undefined ? undefined : one - floor;
        cmp(
            `fixed cost of ${op.split(".")[1]} (N=1 minus the empty preview) < 1 s`,
            fixed,
            1000,
            `${fmtMs(fixed)} (N=1 ${fmtMs(one)}, empty ${fmtMs(floor)})`,
        );
    }
    const providerPeak = Math.max(0, ...Object.values(s.rss).map((byN) => byN[top]?.provider ?? 0));
    cmp(
        `dynamic-provider peak RSS < 200 MB at N=${top}`,
        providerPeak || undefined,
        200,
        `${providerPeak ? providerPeak.toFixed(0) : "n/a"} MiB`,
    );
    const setup = med(s, "setup.warm", 0);
    cmp("`npm run setup` warm < 2 s", setup, 2000, fmtMs(setup));
    return out;
}

const secs = (ms: number) => (ms / 1000).toFixed(ms < 10000 ? 2 : 1);

/** The Markdown tables of a summary. */
export function renderMarkdown(s: Summary): string {
    const lines: string[] = [];
    const cols = s.ns;
    lines.push(`| operation (seconds: median [min-max]) | ${cols.map((n) => `N=${n}`).join(" | ")} | per attachment at N=${cols.at(-1)} |`);
    lines.push(`|---|${cols.map(() => "---|").join("")}---|`);
    for (const [op, label] of Object.entries(OPS)) {
        const byN = s.stats[op];
        if (!byN) continue;
        if (byN[0]) {
            const x = byN[0];
            lines.push(`| ${label} (independent of N) | ${secs(x.median)} [${secs(x.min)}-${secs(x.max)}] |${" |".repeat(cols.length)}`);
            continue;
        }
        const cells = cols.map((n) => (byN[n] ? `${secs(byN[n].median)} [${secs(byN[n].min)}-${secs(byN[n].max)}]` : ""));
        const top = byN[cols.at(-1)!];
        lines.push(`| ${label} | ${cells.join(" | ")} | ${top ? `${(top.median / cols.at(-1)!).toFixed(1)} ms` : ""} |`);
    }
    lines.push(
        "",
        `| marginal cost per attachment (ms, from medians) | ${cols
            .slice(1)
            .map((n, i) => `N=${cols[i]}->${n}`)
            .join(" | ")} |`,
    );
    lines.push(
        `|---|${cols
            .slice(1)
            .map(() => "---|")
            .join("")}`,
    );
    for (const [op, label] of Object.entries(OPS)) {
        const sl = s.slopes[op];
        if (!sl) continue;
        lines.push(
            `| ${label} | ${cols
                .slice(1)
                .map((n, i) => sl.find((x) => x.from === cols[i] && x.to === n)?.msPerAttachment.toFixed(1) ?? "")
                .join(" | ")} |`,
        );
    }
    lines.push(
        "",
        `| ratio hostnet / baseline | ${cols.map((n) => `totals N=${n}`).join(" | ")} | ${cols
            .slice(1)
            .map((n, i) => `slopes ${cols[i]}->${n}`)
            .join(" | ")} |`,
    );
    lines.push(
        `|---|${cols.map(() => "---|").join("")}${cols
            .slice(1)
            .map(() => "---|")
            .join("")}`,
    );
    for (const r of s.ratios) {
        const t = cols.map((n) => (r.totals[n] !== undefined ? `${r.totals[n].toFixed(1)}x` : ""));
        const sl = cols
            .slice(1)
            .map((n, i) => (r.slopes[`${cols[i]}-${n}`] !== undefined ? `${r.slopes[`${cols[i]}-${n}`].toFixed(1)}x` : ""));
        lines.push(`| ${r.op.split(".")[1]} / ${r.baseline} | ${[...t, ...sl].join(" | ")} |`);
    }
    const roleName: Record<Role, string> = {
        engine: "engine",
        languageHost: "language host",
        program: "program",
        provider: "dynamic provider",
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
    if (Object.keys(s.stateBytes).length > 0) {
        lines.push(
            "",
            `| state after up | ${Object.keys(s.stateBytes)
                .map((n) => `N=${n}`)
                .join(" | ")} |`,
        );
        lines.push(
            `|---|${Object.keys(s.stateBytes)
                .map(() => "---|")
                .join("")}`,
        );
        lines.push(
            `| checkpoint file, KiB | ${Object.values(s.stateBytes)
                .map((b) => (b / 1024).toFixed(1))
                .join(" | ")} |`,
        );
        lines.push(
            `| per resource, bytes | ${Object.entries(s.stateBytes)
                .map(([n, b]) => (b / Number(n)).toFixed(0))
                .join(" | ")} |`,
        );
    }
    lines.push("", "| target | met | measured |", "|---|---|---|");
    for (const t of s.targets) lines.push(`| ${t.name} | ${t.met === undefined ? "n/a" : t.met ? "yes" : "**no**"} | ${t.detail} |`);
    return lines.join("\n");
}
