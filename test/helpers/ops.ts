// What the engine says it does to each resource, read from its event stream
// (the same events `pulumi preview`/`up`/`refresh` print), keyed by resource
// type and name: `{ "VethAttachment seed-eth0": "create" }`.

import type { EngineEvent } from "@pulumi/pulumi/automation";

export type Ops = Record<string, string>;

/** `hostnet:index:VethAttachment` + `seed-eth0` -> `VethAttachment seed-eth0`. */
function keyOf(urn: string): string {
    const [type, name] = urn.split("::").slice(-2);
    return `${type.split(":").pop()} ${name}`;
}

const REPLACING = ["replace", "create-replacement", "delete-replaced"];

/**
 * Collects the operation planned or done per resource by a preview or an up:
 * create, update, delete, or replace (a replacement shows as several steps,
 * with or without deleting first: all are "replace" here). Unchanged
 * resources, provider resources, and the refresh steps that `--refresh` (or
 * `options: refresh: always`) runs before the update are left out.
 */
export function updateOps(): { ops: Ops; onEvent: (e: EngineEvent) => void } {
    const ops: Ops = {};
    const onEvent = (e: EngineEvent) => {
        const m = e.resourcePreEvent?.metadata;
        if (!m || ["same", "refresh", "read"].includes(m.op) || m.type.startsWith("pulumi:providers:")) return;
        ops[keyOf(m.urn)] = REPLACING.includes(m.op) ? "replace" : m.op;
    };
    return { ops, onEvent };
}

/**
 * Collects what a refresh found per resource: "update" (it differs from the
 * state) or "delete" (it is gone). Resources found as recorded are left out.
 */
export function refreshOps(): { ops: Ops; onEvent: (e: EngineEvent) => void } {
    const ops: Ops = {};
    const onEvent = (e: EngineEvent) => {
        const m = e.resOutputsEvent?.metadata;
        if (!m || m.op === "same" || m.op === "refresh" || m.type.startsWith("pulumi:providers:")) return;
        ops[keyOf(m.urn)] = m.op;
    };
    return { ops, onEvent };
}

/** The example stack's probes (index.ts), by name. */
export const EXAMPLE_PROBES = [
    "api-web",
    "cli-api",
    "cli-seed",
    "cli-web",
    "hostns-web",
    "isolated-lan",
    "seed-gateway",
    "seed-link",
    "seed-web",
    "sidecar-web",
    "web-seed",
] as const;

/** `{ "Probe <name>": op }` for the named probes (all of the example's by default). */
export function probeOps(op: string, names: readonly string[] = EXAMPLE_PROBES): Ops {
    return Object.fromEntries(names.map((n) => [`Probe ${n}`, op]));
}

/**
 * Collects the warnings the engine printed (the engine's own, and a
 * provider's `console.warn`, which reaches the CLI as its stderr), with the resource they were printed for
 * when the engine knows it (`VethAttachment seed-eth0`), in text without
 * colour codes.
 */
export function warningsOf(): { texts: { resource?: string; text: string }[]; onEvent: (e: EngineEvent) => void } {
    const texts: { resource?: string; text: string }[] = [];
    const onEvent = (e: EngineEvent) => {
        const d = e.diagnosticEvent;
        if (!d) return;
        const text = d.message.replace(/\x1b\[[0-9;]*m/g, "").trim();
        // A dynamic provider's console.warn reaches the engine as its process's stderr ("info#err"), in text "warning: ...".
        if (d.severity !== "warning" && !text.startsWith("warning:")) return;
        texts.push({ resource: d.urn ? keyOf(d.urn) : undefined, text });
    };
    return { texts, onEvent };
}
