// `hostnet preview-report`: runs `pulumi preview` through the real engine and
// writes what it will do as Markdown fit for a pull-request comment, and the
// same as JSON for other tools. Exit code: 0 no change, 2 changes, 1 error
// (the error is in the report).
//
// The host operations of each change come from the engine module's
// `describeChange` (the plan its providers execute) when the installed
// version exports it; without it the section is left out, never guessed.
// After a preview that worked, it also looks on this machine for objects
// that carry the stack's marks but that no resource of its state accounts
// for (cli/gc.ts), and warns about them.
//
// Runs in the `hostnet` command-line tool: neither in a Pulumi program nor in
// the engine's provider process.

import { writeFileSync } from "node:fs";
import * as engine from "../engine";
import { localRunner } from "../host/run";
import { findLeftovers, readStateView } from "./gc";
import {
    countByOperation,
    diagnosticText,
    LOCAL,
    Operation,
    OPERATIONS,
    planOf,
    PreviewDigest,
    PreviewPlan,
    PropertyChange,
    ResourceChange,
    ResourceRef,
    UNKNOWN,
} from "./previewPlan";

/** What `pulumi-hostnet/engine` exports, once the plan layer is there: the host operations a change will run. */
export type DescribeChange = (kind: string, op: Operation, olds: object | undefined, news: object | undefined) => string[];

/** The engine's `describeChange`, or undefined when this version does not export one. */
export function engineDescribeChange(): DescribeChange | undefined {
    const fn = (engine as { describeChange?: unknown }).describeChange;
    return typeof fn === "function" ? (fn as DescribeChange) : undefined;
}

export interface PreviewReport {
    stack?: string;
    /** The hosts the report is limited to (`--host`), by name; `local` is this machine. */
    hosts?: string[];
    /** 0 no change, 2 changes, 1 the preview failed. */
    exitCode: 0 | 1 | 2;
    summary: Record<Operation, number> & { unchanged: number };
    /** Each change; `hosts` says where it runs when the stack is on hosts other than this machine. */
    resources: (Omit<ResourceChange, "hosts"> & { hosts?: string[]; hostOperations?: string[] })[];
    errors: string[];
    warnings: string[];
    /**
     * Objects on this machine that carry the stack's marks but that no
     * resource of its state accounts for (`hostnet gc` lists and removes
     * them); absent when they were not looked for.
     */
    leftovers?: { kind: string; text: string; resource: string; why: string }[];
}

/**
 * The report of a finished preview. `describe` adds each change's host
 * operations; `hosts` keeps only the changes on those hosts (by name,
 * `local` for this machine).
 */
export function reportOf(
    plan: PreviewPlan,
    options: { stack?: string; failed?: boolean; describe?: DescribeChange; hosts?: string[] } = {},
): PreviewReport {
    const failed = options.failed || plan.errors.length > 0;
    const filter = options.hosts && options.hosts.length > 0 ? new Set(options.hosts) : undefined;
    // Where each change runs is said once the stack is on another host than this machine (or only some hosts are shown).
    const multiHost =
        filter !== undefined ||
        plan.changes.some((c) => c.hosts.some((h) => h !== LOCAL)) ||
        Object.keys(plan.unchangedByHost ?? {}).some((h) => h !== LOCAL);
    const kept = filter ? plan.changes.filter((c) => c.hosts.some((h) => filter.has(h))) : plan.changes;
    const unchanged = filter
        ? Object.entries(plan.unchangedByHost ?? {}).reduce((n, [h, k]) => n + (filter.has(h) ? k : 0), 0)
        : plan.unchanged;
    const resources = kept.map(({ hosts, ...rest }) => {
        const c = multiHost ? { ...rest, hosts } : rest;
        if (!options.describe) return c;
        let hostOperations: string[];
        try {
            hostOperations = options.describe(c.kind, c.op, c.olds, c.news);
        } catch (err) {
            hostOperations = [`(could not be described: ${(err as Error).message})`];
        }
        return { ...c, hostOperations };
    });
    return {
        ...(options.stack ? { stack: options.stack } : {}),
        ...(filter ? { hosts: [...filter] } : {}),
        exitCode: failed ? 1 : kept.length > 0 ? 2 : 0,
        // A failed preview is no plan: nothing is counted.
        summary: failed ? { create: 0, update: 0, replace: 0, delete: 0, unchanged: 0 } : { ...countByOperation(kept), unchanged },
        resources: failed ? [] : resources,
        errors: plan.errors,
        warnings: plan.warnings,
    };
}

// ---- Markdown ----

const SYMBOL: Record<Operation, string> = { create: "+", update: "~", replace: "+-", delete: "-" };

function code(text: string): string {
    // Full 64-hex Docker ids are cut to the 12 characters `docker ps` shows (the JSON keeps them whole).
    const flat = text
        .replace(/\b([0-9a-f]{12})[0-9a-f]{52}\b/g, "$1…")
        .replace(/\r?\n/g, " ")
        .replace(/\|/g, "\\|");
    return flat.includes("`") ? `\`\` ${flat} \`\`` : `\`${flat}\``;
}

function shown(value: unknown, present: boolean): string {
    if (!present) return "(not set)";
    if (value === UNKNOWN) return "(known after the up)";
    const text = typeof value === "string" ? value : JSON.stringify(value, (_k, v) => (v === UNKNOWN ? "(known after the up)" : v));
    return code(text);
}

/** A line of text for people: values not known before the up said so, Docker ids cut to 12 characters. */
function plain(text: string): string {
    return text
        .split(UNKNOWN)
        .join("(known after the up)")
        .replace(/\b([0-9a-f]{12})[0-9a-f]{52}\b/g, "$1…");
}

function ref(r: ResourceRef): string {
    return `${r.kind} ${code(r.name)}`;
}

/** `host b`, `hosts b and c`, `this machine`. */
function onHosts(hosts: string[]): string {
    const named = hosts.map((h) => (h === LOCAL ? "this machine" : h));
    return hosts.length === 1 && hosts[0] === LOCAL ? "this machine" : `${hosts.length === 1 ? "host" : "hosts"} ${list(named)}`;
}

function list(items: string[]): string {
    return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** Why a resource is replaced, in one sentence; undefined for other operations. */
function why(c: Omit<ResourceChange, "hosts">): string {
    if (c.op === "delete") return "removed from the program";
    if (c.op === "create") return "new in the program";
    if (c.op === "update") {
        const paths = c.properties.map((p) => code(p.path));
        return paths.length > 0
            ? `${list(paths)} changed in place`
            : "the provider reports a change not visible in the inputs (a secret, or drift)";
    }
    const followed = new Set(c.follows.flatMap((f) => f.properties));
    const own = c.replaceReasons.filter((r) => !followed.has(r.split(/[.[]/)[0]));
    const parts: string[] = [];
    if (own.length > 0) parts.push(`${list(own.map(code))} cannot change in place`);
    for (const f of c.follows) parts.push(`follows ${ref(f)}: its ${list(f.properties.map(code))} comes from it`);
    if (parts.length === 0) parts.push("the engine named no property");
    return parts.join("; ");
}

function propertyTable(properties: PropertyChange[], created: boolean): string[] {
    if (properties.length === 0) return [];
    const after = (p: PropertyChange) => (p.knownAfterUp ? "(known after the up)" : shown(p.new, "new" in p));
    if (created) return ["| property | value |", "|---|---|", ...properties.map((p) => `| ${code(p.path)} | ${after(p)} |`), ""];
    const rows = properties.map(
        (p) => `| ${code(p.path)}${p.forcesReplacement ? " (forces replacement)" : ""} | ${shown(p.old, "old" in p)} | ${after(p)} |`,
    );
    return ["| property | old | new |", "|---|---|---|", ...rows, ""];
}

/** The report as Markdown, for a pull-request comment. */
export function renderMarkdown(report: PreviewReport): string {
    const title = `### hostnet preview${report.stack ? ` of stack ${code(report.stack)}` : ""}${report.hosts ? `, on ${onHosts(report.hosts)} only` : ""}`;
    const out: string[] = [];
    if (report.exitCode === 1) {
        out.push(`${title}: failed`, "", "The preview failed; nothing here is a plan.", "");
        for (const e of report.errors) out.push("```text", e, "```", "");
        return `${out.join("\n").trimEnd()}\n`;
    }
    const s = report.summary;
    out.push(title, "", `**${OPERATIONS.map((op) => `${s[op]} to ${op}`).join(", ")}** (${s.unchanged} unchanged)`, "");
    for (const w of report.warnings) out.push(`> **Warning:** ${w.replace(/\n/g, " ")}`, "");
    if (report.leftovers && report.leftovers.length > 0) {
        const gc = `hostnet gc${report.stack ? ` --stack ${report.stack}` : ""}`;
        out.push(
            `> **Warning:** ${report.leftovers.length} object(s) on this machine carry this stack's marks, but no resource of its state accounts for them ` +
                `(a killed \`pulumi up\`'s leftovers): \`${gc}\` lists them, \`${gc} --delete\` removes them.`,
            "",
            ...report.leftovers.map((l) => `- ${plain(l.text)}: ${l.resource}; ${l.why}`),
            "",
        );
    }
    if (report.resources.length === 0) {
        out.push("No change: `pulumi up` would leave every host object as it is.", "");
        return `${out.join("\n").trimEnd()}\n`;
    }
    const multiHost = report.resources.some((c) => c.hosts !== undefined);
    if (multiHost) {
        out.push("| | resource | on | operation | why |", "|---|---|---|---|---|");
        for (const c of report.resources)
            out.push(`| \`${SYMBOL[c.op]}\` | ${ref(c)} | ${onHosts(c.hosts ?? [LOCAL])} | ${c.op} | ${why(c)} |`);
    } else {
        out.push("| | resource | operation | why |", "|---|---|---|---|");
        for (const c of report.resources) out.push(`| \`${SYMBOL[c.op]}\` | ${ref(c)} | ${c.op} | ${why(c)} |`);
    }
    out.push("");
    for (const c of report.resources) {
        out.push(`#### \`${SYMBOL[c.op]}\` ${c.op} ${ref(c)}${c.hosts ? ` on ${onHosts(c.hosts)}` : ""}`, "");
        if (c.op === "delete") out.push("Removed from the program: deleted from the host.", "");
        if (c.op === "replace") {
            out.push(`Why: ${why(c)}.`);
            if (c.dragsAlong.length > 0) out.push(`Drags along (replaced with it): ${list(c.dragsAlong.map(ref))}.`);
            out.push(
                c.deleteBeforeReplace
                    ? "The old one is deleted before the new one is created."
                    : "The new one is created before the old one is deleted.",
                "",
            );
        }
        out.push(...propertyTable(c.properties, c.op === "create"));
        if (c.hostOperations) {
            out.push(
                "Host operations:",
                "",
                ...(c.hostOperations.length > 0 ? c.hostOperations.map((o) => `- ${plain(o)}`) : ["- (none)"]),
                "",
            );
        }
    }
    return `${out.join("\n").trimEnd()}\n`;
}

// ---- Running the preview ----

export interface PreviewReportOptions {
    /** The Pulumi CLI to run. Default `pulumi` (from PATH). */
    pulumi?: string;
    stack?: string;
    /** The Pulumi project's folder. Default: the current one. */
    cwd?: string;
    /** Refresh the state from the host first (`pulumi preview --refresh`). */
    refresh?: boolean;
    /** Only the changes on these hosts (by name; `local` is this machine). */
    hosts?: string[];
}

/** Runs the preview through the real engine and reads it into a report (the preview changes nothing). */
export async function previewReport(options: PreviewReportOptions): Promise<PreviewReport> {
    const argv = [
        options.pulumi ?? "pulumi",
        "preview",
        "--json",
        "--show-replacement-steps",
        "--show-sames",
        "--non-interactive",
        ...(options.stack ? ["--stack", options.stack] : []),
        ...(options.cwd ? ["--cwd", options.cwd] : []),
        ...(options.refresh ? ["--refresh"] : []),
    ];
    const result = await localRunner(argv);
    let digest: PreviewDigest | undefined;
    try {
        digest = JSON.parse(result.stdout) as PreviewDigest;
    } catch {
        digest = undefined;
    }
    const failed = result.exitCode !== 0 || !!result.spawnError || !digest;
    const plan = digest ? planOf(digest) : { changes: [], unchanged: 0, errors: [], warnings: [] };
    if (failed && plan.errors.length === 0) {
        const why = result.spawnError
            ? (result.spawnError as NodeJS.ErrnoException).code === "ENOENT"
                ? `the Pulumi CLI "${argv[0]}" was not found; put \`pulumi\` on PATH, or pass its path with --pulumi`
                : result.spawnError.message
            : diagnosticText(result.stderr || result.stdout || `exit code ${result.exitCode}`);
        plan.errors.push(`failed to run \`${argv.join(" ")}\`: ${why}`);
    }
    const report = reportOf(plan, { stack: options.stack, failed, describe: engineDescribeChange(), hosts: options.hosts });
    if (!failed) await addLeftovers(report, options);
    return report;
}

/** The stack's leftovers on this machine (see cli/gc.ts), in the report; a failure to look is a warning. */
async function addLeftovers(report: PreviewReport, options: PreviewReportOptions): Promise<void> {
    const pulumi = options.pulumi ?? "pulumi";
    const cwd = options.cwd ?? process.cwd();
    try {
        let stack = options.stack;
        if (!stack) {
            const r = await localRunner([pulumi, "stack", "--show-name", "--cwd", cwd, "--non-interactive"]);
            if (r.exitCode !== 0 || r.spawnError) throw new Error(`\`${pulumi} stack --show-name\`: ${r.stderr || r.spawnError?.message}`);
            stack = r.stdout.trim();
        }
        const view = await readStateView({ stack, cwd, pulumi, withoutState: false });
        report.leftovers = (await findLeftovers(view)).map((l) => ({
            kind: l.object.kind,
            text: l.object.text,
            resource: l.resource,
            why: l.why,
        }));
    } catch (err) {
        report.warnings.push(`failed to look for objects of the stack that its state does not account for: ${(err as Error).message}`);
    }
}

/** Writes the report's Markdown and JSON; `undefined` for a path means standard output (Markdown only). */
export function writeReport(report: PreviewReport, files: { markdown?: string; json?: string }): void {
    const markdown = renderMarkdown(report);
    if (files.markdown) writeFileSync(files.markdown, markdown);
    else process.stdout.write(markdown);
    if (files.json) writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`);
}
