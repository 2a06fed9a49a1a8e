// Drift in the plan of a plain `pulumi preview` and `pulumi up`, in any stack.
//
// Without `refresh`, the engine diffs the program's inputs against the
// outputs it recorded at the last deployment: a veth deleted by hand, an
// address removed or a container restarted is invisible to it, and the plan
// says "unchanged" over a broken path. Here a provider's `diff` first reads
// the resource back from its host (its own `read`, the one `pulumi refresh`
// runs) and diffs the program against what the host holds:
//   - gone from the host: a replacement (made again by `up`);
//   - different: whatever the provider's diff makes of the live values (what
//     `up --refresh` would do: an update in place or a replacement);
// and says why, as a warning the CLI and the CI report show: which recorded
// values the host no longer holds. `update` then works from the live values
// too, so that `up` repairs what the plan announced.
//
// A Probe's read is no look at something it made: it sends traffic (and a
// blocked path waits its whole timeout). A plain diff must stay cheap and
// must not flap, so a measuring kind (`Measured`) is never read by it; its
// diff instead asks whether this plan repairs a resource on its path (one
// that names its containers or its address, or a Policy on its host): such
// a probe is planned to run again, after that repair (its dependencies come
// first), and the `up` fails, naming it, if the repaired path still does not
// behave. Nothing drifted, nothing run. `pulumi refresh` (and `refresh:
// always`) still runs every probe and records what each path does now.
//
// The read is the one `refresh` makes: in a stack with `options: refresh:
// always` the refresh has just made it, and its result is reused instead of
// reading the host a second time. `HOSTNET_DRIFT=off` turns the read off (the
// engine's own diff of recorded outputs, as before); `refresh: always` stays
// the complete option, which also records the live values in the state.
//
// Engine side: loaded by the dynamic-provider process.

import type * as pulumi from "@pulumi/pulumi";
import { warn } from "./observe";
import { PROVIDER_KEY, storedProps, withoutProvider } from "./providers/props";

type AnyProvider = pulumi.dynamic.ResourceProvider<any, any>;
type Props = Record<string, unknown>;

/** The environment variable that turns the drift read off: `HOSTNET_DRIFT=off`. */
export const DRIFT_ENV = "HOSTNET_DRIFT";

/** True unless `HOSTNET_DRIFT=off` (or `0`, `false`). */
export function driftReadOn(env: NodeJS.ProcessEnv = process.env): boolean {
    return !["off", "0", "false"].includes((env[DRIFT_ENV] ?? "").toLowerCase());
}

// A read made by `refresh` in this process, reused by the diff that follows it in the same deployment.
const REUSE_MS = 60_000;
interface Observed {
    at: number;
    /** The props the read was given (JSON), so that a read of other props is not reused. */
    given: string;
    live: Props | undefined;
}
const recent = new Map<string, Observed>(); // by kind and id

/** A resource this deployment's plan repairs (gone or drifted), and what traffic may cross it. */
interface Repair {
    /** For people: `VethAttachment "seed-eth0" (hn-seede-1a2b3c) drifted on the host and this plan repairs it`. */
    what: string;
    /** The host it is on ("" for this machine). */
    host: string;
    /** Container ids (and names) it names. */
    containers: Set<string>;
    /** Addresses it names, without prefix lengths. */
    addresses: Set<string>;
    /** Any path on its host may cross it (a Policy). */
    everyPath: boolean;
}
const repairs: Repair[] = [];

/** Forgets reads made earlier, and the repairs planned (tests: a new deployment). */
export function forgetReads(): void {
    recent.clear();
    repairs.length = 0;
}

/** The host a resource's props say it is on: its `host`'s name, "" for this machine. */
function hostOf(props: Props): string {
    const h = props.host;
    return isObject(h) && typeof h.name === "string" ? h.name : "";
}

/** Container ids and addresses named anywhere in `value`, under keys that say so (`containerId`, `a.container`, `address`, `ipv4Address`...). */
function pathEnds(value: unknown, key: string, into: { containers: Set<string>; addresses: Set<string> }): void {
    if (typeof value === "string") {
        if (/container/i.test(key)) into.containers.add(value);
        else if (/address/i.test(key) && !/gateway/i.test(key)) into.addresses.add(value.split("/")[0]);
    } else if (Array.isArray(value)) for (const v of value) pathEnds(v, key, into);
    else if (isObject(value)) for (const [k, v] of Object.entries(value)) pathEnds(v, k === "declared" ? "address" : k, into);
}

/** Records that this deployment's plan repairs `olds` (kind `kind`, id `id`). */
function repairing(kind: string, id: string, olds: Props, how = "drifted on the host and this plan repairs it"): void {
    const into = { containers: new Set<string>(kind === "DockerContainer" ? [id] : []), addresses: new Set<string>() };
    pathEnds(withoutProvider(olds), "", into);
    repairs.push({ what: `${named(kind, id, olds)} ${how}`, host: hostOf(olds), ...into, everyPath: kind === "Policy" });
}

/** True when this plan repairs a container `olds` names (on its host): its replacement follows that repair. */
function followsRepair(olds: Props): boolean {
    const into = { containers: new Set<string>(), addresses: new Set<string>() };
    pathEnds(withoutProvider(olds), "", into);
    const host = hostOf(olds);
    return repairs.some((r) => r.host === host && !r.everyPath && [...into.containers].some((c) => r.containers.has(c)));
}

/**
 * A kind whose read measures rather than reads back (a Probe's traffic): the
 * drift read skips it, and it runs again when this plan repairs a resource on
 * its path (see the top of this file).
 */
export interface Measured {
    /** The containers (ids) and addresses a path goes between, from the recorded props. */
    pathOf(props: Props): { containers: string[]; addresses: string[] };
}

/** The first resource this plan repairs that is on a path between `containers` and `addresses` on `host`, for people; undefined when none is. */
export function repairOnPath(host: string, containers: readonly string[], addresses: readonly string[]): string | undefined {
    return repairs.find(
        (r) => r.host === host && (r.everyPath || containers.some((c) => r.containers.has(c)) || addresses.some((a) => r.addresses.has(a))),
    )?.what;
}

/** A value for people: JSON, cut short. */
function shown(value: unknown): string {
    if (value === undefined) return "nothing";
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** True for a JSON object (not an array, not null). */
function isObject(v: unknown): v is Props {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Which recorded values the host holds otherwise, for people, by path down to
 * the values that differ: `address: recorded "10.0.0.2/24", on the host nothing`,
 * `networks[0].ipv4Address: recorded "10.40.0.10", on the host "10.40.0.11"`.
 */
export function driftedValues(recorded: unknown, live: unknown, path = ""): string[] {
    if (JSON.stringify(recorded) === JSON.stringify(live)) return [];
    const at = (k: string | number) => (typeof k === "number" ? `${path}[${k}]` : path ? `${path}.${k}` : k);
    if (isObject(recorded) && isObject(live)) {
        const keys = [...new Set([...Object.keys(recorded), ...Object.keys(live)])].sort();
        return keys.flatMap((k) => driftedValues(recorded[k], live[k], at(k)));
    }
    if (Array.isArray(recorded) && Array.isArray(live) && recorded.length === live.length) {
        return recorded.flatMap((r, i) => driftedValues(r, live[i], at(i)));
    }
    return [`${path || "value"}: recorded ${shown(recorded)}, on the host ${shown(live)}`];
}

/** The resource as people know it: `DockerContainer "api"` from its owner mark (`<project>/<stack>/<type>/<name>`), else by id. */
function named(kind: string, id: string, props: Props): string {
    const owner = typeof props.owner === "string" ? props.owner : "";
    const prefix = `/${kind}/`;
    const at = owner.lastIndexOf(prefix);
    return at >= 0 ? `${kind} "${owner.slice(at + prefix.length)}" (${id})` : `${kind} ${id}`;
}

/**
 * The provider of `kind`, with a diff that reads the resource back from its
 * host and plans the repair of what drifted (see the top of this file).
 * `inner` must run `read` on the resource's host (onItsHost does).
 */
export function seeingDrift(kind: string, inner: AnyProvider, measured?: Measured): AnyProvider {
    if (!inner.read || !inner.diff) return inner;
    if (measured) return rerunNearRepairs(kind, inner, measured);
    const read = inner.read.bind(inner);
    const diff = inner.diff.bind(inner);

    /** What the host holds of the resource: its live props, or undefined when it is gone. */
    async function observe(id: string, olds: Props): Promise<Props | undefined> {
        const key = `${kind}/${id}`;
        const given = JSON.stringify(withoutProvider(storedProps(olds)));
        const seen = recent.get(key);
        recent.delete(key);
        // Refresh's read of these very props: what the state now records, read just now.
        if (seen && seen.given === given && Date.now() - seen.at < REUSE_MS) return seen.live;
        const result = await read(id, olds);
        return result.id ? (result.props as Props) : undefined;
    }

    return {
        ...inner,
        async read(id, props) {
            const result = await read(id, props);
            // Refresh records these live props as the new outputs; the diff of the same deployment is given them back.
            if (result.id && result.props) {
                recent.set(`${kind}/${result.id}`, {
                    at: Date.now(),
                    given: JSON.stringify(withoutProvider(result.props as Props)),
                    live: result.props,
                });
            }
            return result;
        },
        async diff(id, olds, news) {
            const planned = await diff(id, olds, news);
            // A replacement makes it all again; and without the switch, the recorded outputs are the truth.
            if (!driftReadOn()) return planned;
            if ((planned.replaces ?? []).length > 0) {
                // Made again because a container it names is (a removed container's attachments): on the probes' paths too.
                if (followsRepair(olds)) repairing(kind, id, olds, "is made again with a container this plan repairs");
                return planned;
            }
            const live = await observe(id, olds);
            if (live === undefined) {
                repairing(kind, id, olds);
                warn(`${named(kind, id, olds)} is gone from the host (deleted, or its container restarted); it will be made again`);
                // The names it used are free again, but deleting first keeps the order the engine knows.
                return {
                    ...planned,
                    changes: true,
                    replaces: [Object.keys(news).find((k) => k !== PROVIDER_KEY) ?? "id"],
                    deleteBeforeReplace: true,
                };
            }
            const drifted = driftedValues(withoutProvider(olds), withoutProvider(live));
            if (drifted.length === 0) return planned;
            const repair = await diff(id, live, news);
            if (!repair.changes) return planned;
            repairing(kind, id, olds);
            warn(
                `${named(kind, id, olds)} drifted on the host: ${drifted.join("; ")}; ${(repair.replaces ?? []).length > 0 ? "it will be replaced" : "it will be updated in place"}`,
            );
            return { ...repair, changes: true };
        },
        async update(id, olds, news) {
            if (!inner.update) throw new Error(`failed to update a ${kind}: its provider has no update; this is a bug, please report it`);
            // Work from what the host holds, as the diff did: `up` repairs what the plan announced.
            const live = driftReadOn() ? await observe(id, olds) : undefined;
            return inner.update(id, live ? { ...olds, ...live } : olds, news);
        },
    };
}

/**
 * A measuring kind's provider (a Probe): its diff reads nothing from the host;
 * when the provider's own diff plans nothing and this plan repairs a resource
 * on its path, it plans an update (which measures again, after that repair),
 * with a warning naming both. Its update is the provider's, from the recorded
 * props (the measure of the path as it is then is the update itself).
 */
function rerunNearRepairs(kind: string, inner: AnyProvider, measured: Measured): AnyProvider {
    const diff = inner.diff!.bind(inner);
    return {
        ...inner,
        async diff(id, olds, news) {
            const planned = await diff(id, olds, news);
            if (planned.changes || !driftReadOn()) return planned;
            const path = measured.pathOf(withoutProvider(storedProps(olds)));
            const near = repairOnPath(hostOf(olds), path.containers, path.addresses);
            if (near === undefined) return planned;
            warn(`${named(kind, id, olds)} runs again after a repair on its path: ${near}`);
            return { ...planned, changes: true };
        },
    };
}
