// What a `pulumi preview` will do to a stack, per resource, read from the
// engine's own preview digest (`pulumi preview --json --show-replacement-steps
// --show-sames`): the operation, the properties that change, which of them
// force a replacement, and which replacements are only dragged along by
// another one.
//
// Why the JSON digest and not the Automation API's events: both carry old and
// new inputs and outputs and the replace keys, but only the digest carries
// each resource's `propertyDependencies`, which say where a value comes from
// (needed to tell a replacement of its own from one dragged along). Neither
// carries `diffs`/`detailedDiff` for dynamic resources: the dynamic-provider
// host forwards only `changes`, `replaces` and `deleteBeforeReplace` from a
// provider's `diff`, so the changed properties are computed here, the way the
// providers compare (old outputs against new inputs).
//
// Pure: no host access, no Pulumi import. Runs in the `hostnet` command-line tool.

/** The value the engine puts where an input is not known until the up (e.g. the id of a resource to be replaced). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** The engine's marker of a secret value in serialized state; the digest already shows secrets as "[secret]". */
const SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d";
const PROVIDER_KEY = "__provider";

/** A resource's state as the digest serializes it (apitype.ResourceV3, the fields read here). */
export interface DigestState {
    urn: string;
    type: string;
    custom?: boolean;
    id?: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
    propertyDependencies?: Record<string, string[]>;
}

export interface DigestStep {
    op: string;
    urn: string;
    oldState?: DigestState;
    newState?: DigestState;
    replaceReasons?: string[];
    diffReasons?: string[];
}

/** `pulumi preview --json` output (display.PreviewDigest), the fields read here. */
export interface PreviewDigest {
    steps?: DigestStep[];
    diagnostics?: { urn?: string; message?: string; severity?: string }[];
    changeSummary?: Record<string, number>;
}

export type Operation = "create" | "update" | "replace" | "delete";
export const OPERATIONS: readonly Operation[] = ["create", "update", "replace", "delete"];

export interface ResourceRef {
    urn: string;
    /** The resource type's last part: `VethAttachment`, `DockerContainer`, ... */
    kind: string;
    name: string;
}

export interface PropertyChange {
    /** `address`, `networks[0].ipv4Address`, `a.address`. */
    path: string;
    /** Absent: the property was not set. */
    old?: unknown;
    /** Absent: the property is no longer set, or its value is known only during the up (then `knownAfterUp`). */
    new?: unknown;
    /** The new value comes from a resource the up creates or replaces: unknown until then. */
    knownAfterUp?: boolean;
    /** The provider named this property (or one under it) as forcing replacement. */
    forcesReplacement: boolean;
}

export interface ResourceChange extends ResourceRef {
    op: Operation;
    /** For a replacement: the old object goes before the new one is made (a gap in service). */
    deleteBeforeReplace?: boolean;
    /** The properties the provider (or the engine) named as forcing replacement. */
    replaceReasons: string[];
    properties: PropertyChange[];
    /** Replaced because these are replaced (or created): the listed properties come from them. */
    follows: (ResourceRef & { properties: string[] })[];
    /** Replaced along with this one because their inputs come from it. */
    dragsAlong: ResourceRef[];
    /** The provider's old outputs and new inputs (without the stored provider code), as its diff sees them. */
    olds?: Record<string, unknown>;
    news?: Record<string, unknown>;
    /** The hosts it is on, by name (`local`: this machine); a VxlanLink is on two. */
    hosts: string[];
}

export interface PreviewPlan {
    changes: ResourceChange[];
    /** Resources (custom ones: the host objects) the preview leaves as they are. */
    unchanged: number;
    /** The same, per host (`local`: this machine). */
    unchangedByHost?: Record<string, number>;
    errors: string[];
    warnings: string[];
}

export function refOf(urn: string): ResourceRef {
    const parts = urn.split("::");
    const type = parts[parts.length - 2] ?? "";
    return { urn, kind: type.split("$").pop()!.split(":").pop()!, name: parts[parts.length - 1] ?? urn };
}

export function containsUnknown(value: unknown): boolean {
    if (value === UNKNOWN) return true;
    if (Array.isArray(value)) return value.some(containsUnknown);
    if (isPlainObject(value)) return Object.values(value).some(containsUnknown);
    return false;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): boolean {
    return !Array.isArray(value) && !isPlainObject(value);
}

/** Secrets stay masked: the engine's serialized secret becomes "[secret]" too. */
function masked(value: unknown): unknown {
    if (isPlainObject(value)) {
        if (SECRET_SIGNATURE in value) return "[secret]";
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v)]));
    }
    if (Array.isArray(value)) return value.map(masked);
    return value;
}

export function sameValue(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
    if (isPlainObject(a) && isPlainObject(b)) {
        const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
        return [...keys].every((k) => sameValue(a[k], b[k]));
    }
    return false;
}

/**
 * The leaves that differ between `a` and `b`: objects are walked key by key,
 * arrays of objects of equal length index by index; a list of plain values
 * (addresses, ports) is one property.
 */
function diffValues(a: unknown, b: unknown, path: string, out: { path: string; old?: unknown; new?: unknown }[]): void {
    if (sameValue(a, b)) return;
    if (isPlainObject(a) && isPlainObject(b)) {
        for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) diffValues(a[k], b[k], `${path}.${k}`, out);
        return;
    }
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length && !a.every(isScalar)) {
        a.forEach((x, i) => diffValues(x, b[i], `${path}[${i}]`, out));
        return;
    }
    out.push({ path, ...(a === undefined ? {} : { old: a }), ...(b === undefined ? {} : { new: b }) });
}

function withoutProvider(props: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
    if (!props) return undefined;
    const { [PROVIDER_KEY]: _, ...rest } = props;
    return masked(rest) as Record<string, unknown>;
}

/** True when `key` (a replace key such as `a.ifName`) is `path`, under it, or above it. */
function touches(key: string, path: string): boolean {
    const under = (p: string, q: string) => p === q || p.startsWith(`${q}.`) || p.startsWith(`${q}[`);
    return under(path, key) || under(key, path);
}

function topKey(path: string): string {
    return path.split(/[.[]/)[0];
}

/** What the old state holds for `key`, as the provider's diff sees it: its output, or else its input. */
function oldValue(old: DigestState, key: string): unknown {
    const outputs = old.outputs ?? {};
    return key in outputs ? outputs[key] : old.inputs?.[key];
}

interface Gathered {
    ops: string[];
    old?: DigestState;
    new?: DigestState;
    reasons: string[];
}

/** The one operation a resource's steps add up to, or undefined when it stays as it is. */
function operationOf(ops: string[]): { op: Operation; deleteBeforeReplace?: boolean } | undefined {
    if (ops.includes("create-replacement") || ops.includes("replace")) {
        const deleted = ops.indexOf("delete-replaced");
        const created = ops.indexOf("create-replacement");
        return { op: "replace", deleteBeforeReplace: deleted >= 0 && (created < 0 || deleted < created) };
    }
    if (ops.includes("create") || ops.includes("import")) return { op: "create" };
    if (ops.includes("update")) return { op: "update" };
    // A resource removed from the program whose dependency is replaced delete-first shows as
    // `delete-replaced` only: it is a deletion all the same.
    if (ops.includes("delete") || ops.includes("delete-replaced")) return { op: "delete" };
    return undefined;
}

const OP_ORDER: Record<Operation, number> = { replace: 0, delete: 1, update: 2, create: 3 };

/** The text of an engine diagnostic, without colour codes and without the program's stack trace. */
export function diagnosticText(message: string): string {
    return message
        .replace(/\x1b\[[0-9;]*m/g, "")
        .split("\n")
        .filter((line) => !/^\s+at /.test(line))
        .join("\n")
        .trim();
}

/** The name this machine goes by in reports and `--host`. */
export const LOCAL = "local";

/** The hosts a resource's inputs name (`host`, or each side's for a VxlanLink); `local` when none. */
export function hostsOf(inputs: Record<string, unknown> | undefined): string[] {
    const name = (h: unknown) =>
        typeof h === "object" && h !== null && typeof (h as { name?: unknown }).name === "string" ? (h as { name: string }).name : LOCAL;
    const sides = ["a", "b"].filter((k) => typeof inputs?.[k] === "object" && inputs?.[k] !== null && "bridge" in (inputs[k] as object));
    const hosts = sides.length === 2 ? sides.map((k) => name((inputs![k] as { host?: unknown }).host)) : [name(inputs?.host)];
    return [...new Set(hosts)];
}

/** Reads the preview digest into one change per host object (custom resource). */
export function planOf(digest: PreviewDigest): PreviewPlan {
    const byUrn = new Map<string, Gathered>();
    for (const step of digest.steps ?? []) {
        const state = step.newState ?? step.oldState;
        if (!state?.custom || state.type.startsWith("pulumi:providers:")) continue;
        let g = byUrn.get(step.urn);
        if (!g) byUrn.set(step.urn, (g = { ops: [], reasons: [] }));
        g.ops.push(step.op);
        g.old ??= step.oldState;
        if (step.newState) g.new = step.newState;
        for (const r of step.replaceReasons ?? []) if (!g.reasons.includes(r)) g.reasons.push(r);
    }

    const ops = new Map<string, { op: Operation; deleteBeforeReplace?: boolean }>();
    let unchanged = 0;
    const unchangedByHost: Record<string, number> = {};
    for (const [urn, g] of byUrn) {
        const op = operationOf(g.ops);
        if (op) ops.set(urn, op);
        else {
            unchanged++;
            for (const h of hostsOf(g.new?.inputs ?? g.old?.inputs)) unchangedByHost[h] = (unchangedByHost[h] ?? 0) + 1;
        }
    }

    const changes: ResourceChange[] = [];
    for (const [urn, { op, deleteBeforeReplace }] of ops) {
        const g = byUrn.get(urn)!;
        const olds = op === "create" ? undefined : withoutProvider(g.old?.outputs ?? g.old?.inputs);
        const news = op === "delete" ? undefined : withoutProvider(g.new?.inputs);
        const properties: PropertyChange[] = [];
        if (op !== "delete") {
            const oldInputs = withoutProvider(g.old?.inputs) ?? {};
            const keys = [...new Set([...Object.keys(op === "create" ? {} : oldInputs), ...Object.keys(news ?? {})])].sort();
            const found: { path: string; old?: unknown; new?: unknown }[] = [];
            for (const k of keys) {
                const before = op === "create" || !g.old ? undefined : masked(oldValue(g.old, k));
                diffValues(before, news?.[k], k, found);
            }
            // A property the provider names as forcing replacement is listed even when its values look the same
            // (a secret shows as "[secret]" on both sides).
            for (const reason of op === "replace" ? g.reasons : []) {
                if (found.some((f) => touches(reason, f.path))) continue;
                const key = topKey(reason);
                const before = g.old ? masked(oldValue(g.old, key)) : undefined;
                found.push({
                    path: key,
                    ...(before === undefined ? {} : { old: before }),
                    ...(news?.[key] === undefined ? {} : { new: news[key] }),
                });
            }
            for (const { new: after, ...f } of found) {
                const value = after === UNKNOWN ? { knownAfterUp: true } : after === undefined ? {} : { new: after };
                properties.push({ ...f, ...value, forcesReplacement: g.reasons.some((r) => touches(r, f.path)) });
            }
        }

        const follows: ResourceChange["follows"] = [];
        if (op === "replace") {
            for (const reason of g.reasons) {
                const key = topKey(reason);
                if (!containsUnknown(g.new?.inputs?.[key])) continue;
                for (const dep of g.new?.propertyDependencies?.[key] ?? []) {
                    const depOp = ops.get(dep)?.op;
                    if (dep === urn || (depOp !== "replace" && depOp !== "create")) continue;
                    const entry = follows.find((f) => f.urn === dep) ?? follows[follows.push({ ...refOf(dep), properties: [] }) - 1];
                    if (!entry.properties.includes(key)) entry.properties.push(key);
                }
            }
        }
        changes.push({
            ...refOf(urn),
            op,
            ...(op === "replace" ? { deleteBeforeReplace: !!deleteBeforeReplace } : {}),
            replaceReasons: op === "replace" ? g.reasons : [],
            properties,
            follows,
            dragsAlong: [],
            ...(olds ? { olds } : {}),
            ...(news ? { news } : {}),
            hosts: hostsOf(g.new?.inputs ?? g.old?.inputs),
        });
    }
    for (const c of changes) {
        for (const f of c.follows) {
            const leader = changes.find((x) => x.urn === f.urn);
            if (leader) leader.dragsAlong.push(refOf(c.urn));
        }
    }
    const byName = (a: ResourceRef, b: ResourceRef) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name);
    // Within an operation, what is replaced of its own comes before what it drags along.
    changes.sort((a, b) => OP_ORDER[a.op] - OP_ORDER[b.op] || Math.sign(a.follows.length) - Math.sign(b.follows.length) || byName(a, b));
    for (const c of changes) {
        c.dragsAlong.sort(byName);
        c.follows.sort(byName);
    }

    const texts = (severity: string) => [
        ...new Set(
            (digest.diagnostics ?? [])
                .filter((d) => d.severity === severity && d.message)
                .map((d) => diagnosticText(d.message!))
                .filter(Boolean),
        ),
    ];
    return { changes, unchanged, unchangedByHost, errors: texts("error"), warnings: texts("warning") };
}

/** How many resources each operation touches. */
export function countByOperation(changes: readonly ResourceChange[]): Record<Operation, number> {
    const counts = { create: 0, update: 0, replace: 0, delete: 0 };
    for (const c of changes) counts[c.op]++;
    return counts;
}
