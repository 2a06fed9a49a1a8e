// `hostnet gc`: the objects on this machine that carry a stack's marks but
// that no resource of its state accounts for - what a killed `pulumi up`
// made for resources then removed from the program, what a state that was
// lost or `pulumi stack rm --force`d leaves, a rule left by a bridge deleted
// by hand before the library kept such a Bridge in its state - listed, and
// removed with `--delete`, as CNI 1.1's GC removes what no attachment of the
// runtime's list accounts for. Never anything unmarked, or of another stack:
// an object is this stack's when its mark names this project and stack.
//
// An object is accounted for when a resource of the state carries its mark
// and names it (its interface name, its container or network id, its
// bridge and address: host/marked.ts says which, per kind). One whose
// resource has an operation under way in the state (an `up` running, or
// killed: a pending operation) is listed but only removed with `--pending`,
// which must not be used while an `up` runs.
//
// Runs in the `hostnet` command-line tool: neither in a Pulumi program nor in
// the engine. The state comes from `pulumi stack export`; the host is read
// and changed through the host layer (host/marked.ts).

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { describeOwner, parseOwnerMark } from "../common/naming";
import { findMarked, MarkedObject } from "../host/marked";
import { localRunner } from "../host/run";

/** What the state says of a stack: who owns what, and which resources have an operation under way. */
export interface StateView {
    project: string;
    stack: string;
    /** For each owner mark in the state: every string its resources hold (names, ids, addresses). */
    accounted: Map<string, Set<string>>;
    /** Owner marks of resources with an operation under way (or cut short by a killed run). */
    pending: Set<string>;
}

/** A resource (or pending operation's resource) as `pulumi stack export` lists it. */
interface ExportedResource {
    urn?: string;
    id?: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
}

/** The deployment part of `pulumi stack export`'s JSON. */
export interface ExportedDeployment {
    resources?: ExportedResource[] | null;
    pending_operations?: { resource?: ExportedResource; type?: string }[] | null;
}

/** Every owner mark (a string under an `owner` key) and every string in a value, at any depth. */
function walk(value: unknown, owners: Set<string>, strings: Set<string>): void {
    if (typeof value === "string") strings.add(value);
    else if (Array.isArray(value)) for (const v of value) walk(v, owners, strings);
    else if (typeof value === "object" && value !== null) {
        for (const [k, v] of Object.entries(value)) {
            if (k === "owner" && typeof v === "string") owners.add(v);
            walk(v, owners, strings);
        }
    }
}

/** What a state says of the stack `stack` of project `project`. */
export function stateView(deployment: ExportedDeployment | undefined, project: string, stack: string): StateView {
    const accounted = new Map<string, Set<string>>();
    for (const r of deployment?.resources ?? []) {
        const owners = new Set<string>();
        const strings = new Set<string>(r.id ? [r.id] : []);
        walk(r.outputs, owners, strings);
        for (const o of owners) accounted.set(o, new Set([...(accounted.get(o) ?? []), ...strings]));
    }
    const pending = new Set<string>();
    for (const op of deployment?.pending_operations ?? []) walk([op.resource?.inputs, op.resource?.outputs], pending, new Set());
    return { project, stack, accounted, pending };
}

/** The project a state's URNs name (`urn:pulumi:<stack>::<project>::...`), if any. */
export function projectOfState(deployment: ExportedDeployment | undefined): string | undefined {
    const urns = [...(deployment?.resources ?? []), ...(deployment?.pending_operations ?? []).map((o) => o.resource ?? {})].map(
        (r) => r.urn,
    );
    for (const urn of urns) {
        const m = /^urn:pulumi:[^:]+::([^:]+)::/.exec(urn ?? "");
        if (m) return m[1];
    }
    return undefined;
}

/** The project's name in `dir`'s Pulumi.yaml, if there is one. */
export function projectOfFolder(dir: string): string | undefined {
    for (const file of ["Pulumi.yaml", "Pulumi.yml"]) {
        const path = join(dir, file);
        if (!existsSync(path)) continue;
        const m = /^name:\s*["']?([^"'\s#]+)/m.exec(readFileSync(path, "utf8"));
        if (m) return m[1];
    }
    return undefined;
}

/** True when `mark` is an owner mark of this machine for `project`/`stack` (marks made on other hosts say `hostnet@<host>`). */
export function ofStack(mark: string, project: string, stack: string): boolean {
    const id = parseOwnerMark(mark);
    return id !== undefined && id.host === undefined && id.project === project && id.stack === stack;
}

export interface Leftover {
    object: MarkedObject;
    /** Its resource, from its mark: `VethAttachment "seed-eth0"`. */
    resource: string;
    /** Why no resource of the state accounts for it. */
    why: string;
    /** Its resource has an operation under way (or cut short): removed only with `--pending`. */
    pending: boolean;
}

/** Why `o` is a leftover, or undefined when the state accounts for it. */
function unaccounted(o: MarkedObject, view: StateView): string | undefined {
    if (o.stale) return o.stale;
    const strings = view.accounted.get(o.mark);
    if (!strings) return "no resource of the state carries its mark";
    if (!o.names.every((n) => strings.has(n)))
        return `its resource's state names another (${o.names.filter((n) => !strings.has(n)).join(", ")})`;
    return undefined;
}

/** The objects on the host that carry the stack's marks and that its state does not account for. */
export async function findLeftovers(view: StateView): Promise<Leftover[]> {
    const objects = await findMarked((m) => ofStack(m, view.project, view.stack), [...view.pending]);
    const leftovers: Leftover[] = [];
    for (const object of objects) {
        const why = unaccounted(object, view);
        if (why === undefined) continue;
        leftovers.push({ object, resource: describeOwner(object.mark), why, pending: view.pending.has(object.mark) });
    }
    return leftovers;
}

export interface GcResult {
    removed: Leftover[];
    failed: { leftover: Leftover; error: string }[];
    /** Not removed: an operation of their resource is under way (without `--pending`). */
    kept: Leftover[];
}

/** Removes leftovers in the table's order (host/marked.ts); those of pending operations only with `pending`. */
export async function removeLeftovers(leftovers: Leftover[], opts: { pending?: boolean } = {}): Promise<GcResult> {
    const result: GcResult = { removed: [], failed: [], kept: [] };
    for (const l of leftovers) {
        if (l.pending && !opts.pending) {
            result.kept.push(l);
            continue;
        }
        try {
            await l.object.remove();
            result.removed.push(l);
        } catch (err) {
            result.failed.push({ leftover: l, error: (err as Error).message });
        }
    }
    return result;
}

// ---- The command ----

export const GC_USAGE = `usage: hostnet gc --stack NAME [--delete] [--pending] [--cwd DIR] [--pulumi PATH] [--json FILE]
                 [--project NAME] [--without-state]

Lists the objects on this machine (interfaces, firewall rules, nftables
tables, containers, networks, connections, addresses added to adopted
bridges) that carry the
stack's owner marks but that no resource of its state accounts for, and
removes them with --delete. Nothing unmarked, or of another stack, is ever
listed or touched.

  --stack NAME      the stack (required)
  --delete          remove what is listed
  --pending         with --delete: also what resources with an operation under way
                    in the state left (a killed up); never while an up runs
  --cwd DIR         the Pulumi project's folder (default: the current one)
  --pulumi PATH     the Pulumi CLI to read the state with (default: pulumi)
  --json FILE       also write what was found (and removed) as JSON
  --project NAME    the project (default: the state's, else the folder's Pulumi.yaml)
  --without-state   the stack is gone from the backend (pulumi stack rm --force):
                    every object carrying its marks is a leftover (needs --project
                    or a Pulumi.yaml)

exit code: 0 nothing left over (or all removed), 2 leftovers remain, 1 failed
`;

export interface GcOptions {
    stack: string;
    delete: boolean;
    pending: boolean;
    cwd: string;
    pulumi: string;
    json?: string;
    project?: string;
    withoutState: boolean;
}

export function parseGcArgs(argv: string[]): GcOptions {
    const { values } = parseArgs({
        args: argv,
        options: {
            stack: { type: "string" },
            delete: { type: "boolean" },
            pending: { type: "boolean" },
            cwd: { type: "string" },
            pulumi: { type: "string" },
            json: { type: "string" },
            project: { type: "string" },
            "without-state": { type: "boolean" },
        },
    });
    if (!values.stack) throw new Error("`--stack` is required: the stack whose leftovers to find");
    if (values.pending && !values.delete) throw new Error("`--pending` goes with `--delete`");
    return {
        stack: values.stack,
        delete: values.delete ?? false,
        pending: values.pending ?? false,
        cwd: values.cwd ?? process.cwd(),
        pulumi: values.pulumi ?? "pulumi",
        json: values.json,
        project: values.project,
        withoutState: values["without-state"] ?? false,
    };
}

/** The stack's state, read with `pulumi stack export`. */
export async function exportState(opts: Pick<GcOptions, "stack" | "cwd" | "pulumi">): Promise<ExportedDeployment> {
    const argv = [opts.pulumi, "stack", "export", "--stack", opts.stack, "--cwd", opts.cwd, "--non-interactive"];
    const r = await localRunner(argv);
    if (r.spawnError || r.exitCode !== 0) {
        const why = r.spawnError
            ? (r.spawnError as NodeJS.ErrnoException).code === "ENOENT"
                ? `the Pulumi CLI "${opts.pulumi}" was not found; put \`pulumi\` on PATH, or pass its path with --pulumi`
                : r.spawnError.message
            : r.stderr || r.stdout;
        const gone = /no stack named|not found/i.test(why)
            ? `; if the stack was removed from the backend, pass --without-state (with --project) to treat every object carrying its marks as a leftover`
            : "";
        throw new Error(`failed to read the state of stack ${opts.stack}: \`${argv.join(" ")}\`: ${why.trim()}${gone}`);
    }
    return ((JSON.parse(r.stdout) as { deployment?: ExportedDeployment }).deployment ?? {}) as ExportedDeployment;
}

/** The stack's state as gc reads it: from the backend, or empty with --without-state. */
export async function readStateView(opts: Pick<GcOptions, "stack" | "cwd" | "pulumi" | "project" | "withoutState">): Promise<StateView> {
    const deployment = opts.withoutState ? {} : await exportState(opts);
    const project = opts.project ?? projectOfState(deployment) ?? projectOfFolder(opts.cwd);
    if (!project)
        throw new Error(
            `failed to tell the project of stack ${opts.stack}: its state names none and ${opts.cwd} has no Pulumi.yaml; pass --project`,
        );
    return stateView(deployment, project, opts.stack);
}

function line(l: Leftover): string {
    return `  ${l.object.text}: ${l.resource}; ${l.why}${l.pending ? " (an operation of it is under way or was cut short)" : ""}`;
}

export async function runGc(argv: string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
    if (argv.includes("--help") || argv.includes("-h")) {
        out(GC_USAGE);
        return 0;
    }
    const opts = parseGcArgs(argv);
    const view = await readStateView(opts);
    const leftovers = await findLeftovers(view);
    const who = `stack ${view.project}/${view.stack}`;
    const result = opts.delete ? await removeLeftovers(leftovers, { pending: opts.pending }) : undefined;
    if (leftovers.length === 0) out(`hostnet gc: nothing of ${who} is left over on this machine\n`);
    else {
        out(`hostnet gc: ${leftovers.length} object(s) carry the marks of ${who} but no resource of its state accounts for them:\n`);
        for (const l of leftovers) out(`${line(l)}\n`);
    }
    if (result) {
        if (result.removed.length > 0) out(`removed ${result.removed.length}\n`);
        for (const f of result.failed) out(`failed to remove ${f.leftover.object.text}: ${f.error}\n`);
        if (result.kept.length > 0)
            out(
                `kept ${result.kept.length}: their resources have an operation under way in the state; when no \`pulumi\` runs on the stack ` +
                    "(after `pulumi cancel` of a killed one), `pulumi up` takes them over, or `hostnet gc --delete --pending` removes them\n",
            );
    } else if (leftovers.length > 0) out(`run \`hostnet gc --stack ${opts.stack} --delete\` to remove them\n`);
    if (opts.json) {
        const brief = (l: Leftover) => ({ kind: l.object.kind, text: l.object.text, mark: l.object.mark, why: l.why, pending: l.pending });
        const report = {
            project: view.project,
            stack: view.stack,
            leftovers: leftovers.map(brief),
            ...(result
                ? {
                      removed: result.removed.map(brief),
                      failed: result.failed.map((f) => ({ ...brief(f.leftover), error: f.error })),
                      kept: result.kept.map(brief),
                  }
                : {}),
        };
        writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
    }
    const remaining = result ? result.failed.length + result.kept.length : leftovers.length;
    return result && result.failed.length > 0 ? 1 : remaining > 0 ? 2 : 0;
}
