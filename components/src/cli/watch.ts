// `hostnet watch`: containers that restart get their network back by
// themselves.
//
// A veth dies with its container's network namespace, so a restarted
// container comes back with only `lo`. This command follows Docker's event
// stream for the containers a stack owns (their `io.hostnet.owner` label names
// the stack) and, when one starts again, runs the engine on it: a targeted
// `pulumi up --refresh` of that container's resource and of every resource
// that depends on it (found in the stack's state: dependencies, and inputs
// that name the container), with `--target-dependents`. Starts within the
// debounce window are healed together; heals run one at a time, and Pulumi's
// stack lock keeps them apart from anyone else's `up` (a locked stack is
// retried). Each heal is logged with what it changed and how long it took.
//
// At start it runs one full `up --refresh` (what `npm run up` does), for what
// changed while it was not running: after a reboot the stack's bridges are
// gone as well as its veths.
//
// On several hosts: it follows the Docker engine of every host the stack's
// resources name (their `host` in the state), this machine included, or of
// the hosts given with `--host`.
//
// It never changes the host itself: everything goes through the engine. A
// `container:` sidecar whose target restarted is in an orphaned namespace
// that no resource of the stack describes; that is reported, not repaired
// (see sidecars.ts).
//
// CLI side: runs in its own process, next to the user's project.

import { ConcurrentUpdateError, EngineEvent, LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { existsSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { OWNER_LABEL } from "../common/naming";
import { HostSpec } from "../common/specs/host";
import { ContainerEvent, EventStream, followContainerEvents } from "../host/dockerEvents";
import { onHost } from "../host/ssh";
import { HostArg, LOCAL_HOST, parseHostArgs } from "./hostArgs";
import { describeOrphan, orphanedSidecars } from "./sidecars";

export interface WatchOptions {
    /** The stack to keep converged. */
    stack: string;
    /** The Pulumi project's folder (where Pulumi.yaml is). */
    cwd: string;
    /** The Pulumi CLI to run, `<root>/bin/pulumi`. Default: `<cwd>/bin/pulumi` when there is one, else `pulumi` on PATH. */
    pulumi?: string;
    /** How long to wait after a container's last start event before healing it. */
    debounceMs: number;
    /** Run one full `up --refresh` before following events. */
    initialUp: boolean;
    /** The hosts to follow (`--host`); default: this machine and every host the stack's resources name. */
    hosts?: HostArg[];
    /** Where log lines go. */
    log: (line: string) => void;
    /** Stops the watch: the event stream closes, a heal under way finishes. */
    signal: AbortSignal;
    /** Aborts a heal under way (Pulumi cancels it cleanly). */
    abortHeal?: AbortSignal;
}

export const WATCH_USAGE = `usage: hostnet watch --stack NAME [--cwd DIR] [--pulumi PATH] [--debounce MS] [--no-initial-up] [--host H ...]

Follows Docker's events for the containers the stack owns; when one starts
again (a restart, a crash under a restart policy, a reboot), runs a targeted
\`pulumi up --refresh\` of that container and every resource that depends on
it, and logs what it healed. Runs until SIGINT or SIGTERM.

  --stack NAME      the stack to keep converged (required)
  --cwd DIR         the Pulumi project's folder (default: the current folder)
  --pulumi PATH     the Pulumi CLI, as <root>/bin/pulumi (default: DIR/bin/pulumi
                    when it exists, else \`pulumi\` on PATH)
  --debounce MS     wait this long after a container's last start event (default 300)
  --no-initial-up   skip the full \`up --refresh\` at start
  --host H          follow host H's Docker engine (repeat for several): NAME (how the stack
                    reaches it), NAME=[USER@]ADDRESS[:PORT] over SSH, or local for this machine.
                    Default: this machine and every host the stack's resources are on
  --ssh-key FILE, --known-hosts FILE   for hosts given with an address`;

/** Parses `hostnet watch` arguments; throws a usage error naming the problem. */
export function parseWatchArgs(argv: string[]): Omit<WatchOptions, "log" | "signal" | "abortHeal"> {
    const { values } = parseArgs({
        args: argv,
        options: {
            stack: { type: "string" },
            cwd: { type: "string" },
            pulumi: { type: "string" },
            debounce: { type: "string" },
            "no-initial-up": { type: "boolean" },
            host: { type: "string", multiple: true },
            "ssh-key": { type: "string" },
            "known-hosts": { type: "string" },
        },
        strict: true,
        allowPositionals: false,
    });
    if (!values.stack) throw new Error("`--stack` is required: the stack to keep converged");
    const debounceMs = values.debounce === undefined ? 300 : Number(values.debounce);
    if (!Number.isInteger(debounceMs) || debounceMs < 0 || debounceMs > 60000) {
        throw new Error(`\`--debounce\` must be a whole number of milliseconds, 0-60000; got ${JSON.stringify(values.debounce)}`);
    }
    const hosts = parseHostArgs(values.host, {
        ...(values["ssh-key"] ? { privateKeyPath: resolve(values["ssh-key"]) } : {}),
        ...(values["known-hosts"] ? { knownHostsPath: resolve(values["known-hosts"]) } : {}),
    });
    return {
        stack: values.stack,
        cwd: resolve(values.cwd ?? "."),
        pulumi: values.pulumi === undefined ? undefined : resolve(values.pulumi),
        debounceMs,
        initialUp: !values["no-initial-up"],
        ...(hosts.length > 0 ? { hosts } : {}),
    };
}

/** A resource as `pulumi stack export` lists it. */
interface StateResource {
    urn: string;
    type: string;
    id?: string;
    inputs?: Record<string, any>;
    outputs?: Record<string, any>;
    dependencies?: string[];
    propertyDependencies?: Record<string, string[]>;
}

/** The type token of this library's DockerContainer (a dynamic resource: `pulumi-nodejs:dynamic/<module>:<type>`). */
const CONTAINER_TYPE = "pulumi-nodejs:dynamic/hostnet:DockerContainer";

/** `urn:pulumi:dev::hostnet::...$hostnet:index:VethAttachment::seed-eth0` -> `VethAttachment seed-eth0`. */
export function shortName(urn: string): string {
    const [type, name] = urn.split("::").slice(-2);
    return `${type.split(":").pop()} ${name}`;
}

/** The container values (ids, names, `container:` modes) a resource's inputs and outputs refer to. */
function containerRefs(r: StateResource): string[] {
    const refs: string[] = [];
    for (const bag of [r.inputs, r.outputs]) {
        if (!bag) continue;
        for (const v of [bag.container, bag.containerId, bag.aContainerId, bag.bContainerId, bag.a?.container, bag.b?.container]) {
            if (typeof v === "string") refs.push(v);
        }
        if (typeof bag.networkMode === "string" && bag.networkMode.startsWith("container:")) refs.push(bag.networkMode.slice(10));
    }
    return refs;
}

/**
 * The resources to heal when `container` (a DockerContainer resource) started
 * again: itself, and everything that depends on it, transitively, by the
 * state's dependency lists or by naming the container in its inputs.
 */
export function healTargets(resources: StateResource[], container: StateResource): StateResource[] {
    const names = new Set<string>(
        [container.id, container.outputs?.containerId, container.outputs?.name].filter((x) => typeof x === "string"),
    );
    const targets = new Map<string, StateResource>([[container.urn, container]]);
    for (let grew = true; grew;) {
        grew = false;
        for (const r of resources) {
            if (targets.has(r.urn) || r.type.startsWith("pulumi:")) continue;
            const deps = [...(r.dependencies ?? []), ...Object.values(r.propertyDependencies ?? {}).flat()];
            if (deps.some((d) => targets.has(d)) || containerRefs(r).some((ref) => names.has(ref))) {
                targets.set(r.urn, r);
                grew = true;
            }
        }
    }
    return [...targets.values()];
}

/** Every host the state's resources name (their `host`, or a VxlanLink side's), by name. */
export function hostsInState(resources: StateResource[]): Map<string, HostSpec> {
    const hosts = new Map<string, HostSpec>();
    const add = (h: unknown) => {
        const spec = h as HostSpec | undefined;
        if (spec && typeof spec === "object" && typeof spec.name === "string" && spec.ssh && typeof spec.ssh.host === "string") {
            if (!hosts.has(spec.name)) hosts.set(spec.name, spec);
        }
    };
    for (const r of resources) {
        for (const bag of [r.inputs, r.outputs]) {
            add(bag?.host);
            add(bag?.a?.host);
            add(bag?.b?.host);
        }
    }
    return hosts;
}

/**
 * The engines to follow, by host name (undefined spec: this machine): the
 * `--host`s given (a name alone is looked up in the state), or this machine
 * and every host of the state.
 */
export function hostsToFollow(args: HostArg[] | undefined, resources: StateResource[]): Map<string, HostSpec | undefined> {
    const inState = hostsInState(resources);
    const out = new Map<string, HostSpec | undefined>();
    if (!args || args.length === 0) {
        out.set(LOCAL_HOST, undefined);
        for (const [name, spec] of inState) out.set(name, spec);
        return out;
    }
    for (const a of args) {
        if (a.local) out.set(LOCAL_HOST, undefined);
        else if (a.ssh) out.set(a.name, { name: a.name, ssh: a.ssh });
        else {
            const spec = inState.get(a.name);
            if (!spec) {
                throw new Error(
                    `\`--host ${a.name}\`: no resource of the stack is on a host of that name${inState.size > 0 ? ` (its hosts: ${[...inState.keys()].join(", ")})` : ""}; give its address as ${a.name}=[USER@]ADDRESS[:PORT]`,
                );
            }
            out.set(a.name, spec);
        }
    }
    return out;
}

/** The DockerContainer resource of a container, by its id in the state. */
function containerResource(resources: StateResource[], id: string): StateResource | undefined {
    return resources.find((r) => r.type === CONTAINER_TYPE && (r.id === id || r.outputs?.containerId === id));
}

/** What an up did, per resource: `VethAttachment seed-eth0 create`. */
function opsCollector(): { ops: string[]; onEvent: (e: EngineEvent) => void } {
    const ops: string[] = [];
    const onEvent = (e: EngineEvent) => {
        const m = e.resourcePreEvent?.metadata;
        if (!m || ["same", "refresh", "read"].includes(m.op) || m.type.startsWith("pulumi:providers:")) return;
        const op = ["create-replacement", "delete-replaced"].includes(m.op) ? "replace" : m.op;
        const line = `${shortName(m.urn)} ${op}`;
        if (!ops.includes(line)) ops.push(line);
    };
    return { ops, onEvent };
}

/** The Pulumi CLI the watch drives: `--pulumi`, else the project's bin/pulumi, else PATH's. */
async function pulumiCommand(opts: Pick<WatchOptions, "cwd" | "pulumi">): Promise<PulumiCommand> {
    const given = opts.pulumi ?? (existsSync(`${opts.cwd}/bin/pulumi`) ? `${opts.cwd}/bin/pulumi` : undefined);
    if (given === undefined) return PulumiCommand.get({ skipVersionCheck: true });
    if (basename(given) !== "pulumi" || basename(dirname(given)) !== "bin") {
        throw new Error(
            `failed to use the Pulumi CLI "${given}": give its path as <root>/bin/pulumi (the Automation API runs <root>/bin/pulumi)`,
        );
    }
    return PulumiCommand.get({ root: dirname(dirname(given)), skipVersionCheck: true });
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The errors in a failed command's message (Pulumi's own output is long), each once. */
function brief(err: unknown): string {
    const text = err instanceof Error ? err.message : String(err);
    const errors = [
        ...new Set(
            text
                .split("\n")
                .map((l) => /\berror: (.*)$/.exec(l)?.[1]?.trim())
                .filter((l): l is string => !!l && l !== "update failed"),
        ),
    ];
    return errors.length > 0 ? errors.slice(0, 3).join("; ") : text.split("\n")[0];
}

/** Runs the watch until `opts.signal` aborts. */
export async function watch(opts: WatchOptions): Promise<void> {
    const { log } = opts;
    const pulumi = await pulumiCommand(opts);
    // The program is the one already deployed: a heal skips its TypeScript type-check (seconds of CPU
    // per run) unless PULUMI_NODEJS_TRANSPILE_ONLY says otherwise.
    const envVars = { PULUMI_NODEJS_TRANSPILE_ONLY: process.env.PULUMI_NODEJS_TRANSPILE_ONLY ?? "true" };
    const stack: Stack = await LocalWorkspace.selectStack({ stackName: opts.stack, workDir: opts.cwd }, { pulumiCommand: pulumi, envVars });
    const project = (await stack.workspace.projectSettings()).name;
    const ownerPrefix = `hostnet/${project}/${opts.stack}/`;
    /** The owner-mark prefix of the stack's containers on a host (`hostnet@b/...` on host b). */
    const prefixOn = (host: string) => (host === LOCAL_HOST ? ownerPrefix : `hostnet@${host}/${project}/${opts.stack}/`);
    log(`watching stack "${opts.stack}" of project "${project}" in ${opts.cwd} (containers labelled ${OWNER_LABEL}=${ownerPrefix}...)`);

    // Events of the stack's containers, by id: the name (for logs) and the pending debounce.
    const ready = new Set<string>();
    const names = new Map<string, string>();
    const timers = new Map<string, NodeJS.Timeout>();
    const reportedOrphans = new Set<string>();
    let busy = false;
    let wake: () => void = () => undefined;
    // The engines followed, by host name, and the time of the last event of each (a reconnect replays from there).
    const followed = new Map<string, HostSpec | undefined>();
    const lastEventTime = new Map<string, number>();

    async function reportOrphans(): Promise<void> {
        for (const [host, spec] of followed) {
            try {
                for (const o of await onHost(spec, () => orphanedSidecars(prefixOn(host)))) {
                    const key = `${o.id} ${o.sidecarNetns} ${o.targetNetns}`;
                    if (reportedOrphans.has(key)) continue;
                    reportedOrphans.add(key);
                    log(`warning: ${host === LOCAL_HOST ? "" : `host ${host}: `}${describeOrphan(o)}`);
                }
            } catch (err) {
                log(`warning: failed to check container: sidecars${host === LOCAL_HOST ? "" : ` on host ${host}`}: ${brief(err)}`);
            }
        }
    }

    // The stack's state, exported after each heal (off the path of the next one); a heal whose
    // container is not in it, or whose targets Pulumi does not find, exports it again.
    let cachedState: StateResource[] | undefined;
    async function loadState(): Promise<StateResource[]> {
        cachedState = undefined;
        const state = await stack.exportStack();
        cachedState = (state.deployment?.resources ?? []) as StateResource[];
        return cachedState;
    }

    function targetsOf(resources: StateResource[], ids: string[]): { targets: Map<string, StateResource>; missing: string[] } {
        const targets = new Map<string, StateResource>();
        const missing: string[] = [];
        for (const id of ids) {
            const c = containerResource(resources, id);
            if (!c) missing.push(id);
            else for (const t of healTargets(resources, c)) targets.set(t.urn, t);
        }
        return { targets, missing };
    }

    /** `up --refresh` of `targets` and their dependents; retried while the stack is locked. */
    async function upTargets(targets: string[], onEvent: (e: EngineEvent) => void): Promise<void> {
        for (let attempt = 1; ; attempt++) {
            // A signal per run: the Automation API never removes the listener it adds.
            const run = new AbortController();
            const cancel = () => run.abort();
            opts.abortHeal?.addEventListener("abort", cancel, { once: true });
            try {
                await stack.up({ refresh: true, target: targets, targetDependents: true, onEvent, signal: run.signal });
                return;
            } catch (err) {
                if (err instanceof ConcurrentUpdateError && attempt < 30 && !opts.signal.aborted) {
                    if (attempt === 1) log(`the stack is locked by another operation; retrying every 2 s`);
                    await new Promise((r) => setTimeout(r, 2000));
                    continue;
                }
                throw err;
            } finally {
                opts.abortHeal?.removeEventListener("abort", cancel);
            }
        }
    }

    /** One targeted refresh + up for the containers in `ids`. */
    async function heal(ids: string[]): Promise<void> {
        const started = Date.now();
        const shown = ids.map((id) => names.get(id) ?? id.slice(0, 12)).join(", ");
        let fromCache = cachedState !== undefined;
        let { targets, missing } = targetsOf(cachedState ?? (await loadState()), ids);
        if (missing.length > 0 && fromCache) {
            fromCache = false;
            ({ targets, missing } = targetsOf(await loadState(), ids));
        }
        for (const id of missing) log(`${names.get(id) ?? id}: not in the stack's state (replaced, or not deployed yet): nothing to heal`);
        if (targets.size === 0) return;
        log(`healing ${shown}: refresh and up of ${[...targets.keys()].map(shortName).join(", ")}`);
        const done = opsCollector();
        cachedState = undefined;
        try {
            await upTargets([...targets.keys()], done.onEvent);
        } catch (err) {
            if (!fromCache || !/targets could not be found/.test(String(err))) throw err;
            // The stack changed since the state was read (someone ran `up`): read it again.
            const again = targetsOf(await loadState(), ids).targets;
            cachedState = undefined;
            await upTargets([...again.keys()], done.onEvent);
        }
        log(`healed ${shown} in ${seconds(Date.now() - started)}: ${done.ops.length > 0 ? done.ops.join(", ") : "nothing needed repair"}`);
    }

    /** Heals whatever is ready, one batch at a time, until nothing is. */
    async function drain(): Promise<void> {
        if (busy) return;
        busy = true;
        try {
            while (ready.size > 0 && !opts.signal.aborted) {
                const batch = [...ready];
                ready.clear();
                try {
                    await heal(batch);
                } catch (err) {
                    log(
                        `error: failed to heal ${batch.map((id) => names.get(id) ?? id).join(", ")}: ${brief(err)}; the next start of the container tries again`,
                    );
                }
                await reportOrphans();
                if (ready.size === 0) await loadState().then(followAll, () => undefined);
            }
        } finally {
            busy = false;
            wake();
        }
    }

    function onEvent(host: string, e: ContainerEvent): void {
        const owner = e.Actor.Attributes[OWNER_LABEL] ?? "";
        // Long marks are stored hashed: those are matched by id in the state when healed.
        if (!owner.startsWith(prefixOn(host)) && !/^hostnet(@[^/]+)?\/sha256:/.test(owner)) return;
        const id = e.Actor.ID;
        const name = `${e.Actor.Attributes.name ?? id.slice(0, 12)}${host === LOCAL_HOST ? "" : ` (host ${host})`}`;
        names.set(id, name);
        lastEventTime.set(host, Math.max(lastEventTime.get(host) ?? 0, e.time));
        if (e.Action === "die") {
            log(`${name}: died (exit code ${e.Actor.Attributes.exitCode ?? "?"}); healed when it starts again`);
            return;
        }
        if (e.Action === "restart") return; // always preceded by a start
        log(`${name}: started`);
        clearTimeout(timers.get(id));
        timers.set(
            id,
            setTimeout(() => {
                timers.delete(id);
                ready.add(id);
                void drain();
            }, opts.debounceMs),
        );
    }

    // Follow first, so that no start is missed while the initial up runs; reconnect when dockerd restarts.
    const streams = new Map<string, EventStream>();
    const follow = (host: string, spec: HostSpec | undefined) => {
        followed.set(host, spec);
        if (!lastEventTime.has(host)) lastEventTime.set(host, Math.floor(Date.now() / 1000));
        streams.set(
            host,
            onHost(spec, () =>
                followContainerEvents({
                    actions: ["start", "restart", "die"],
                    label: OWNER_LABEL,
                    since: lastEventTime.get(host),
                    onEvent: (e) => onEvent(host, e),
                    onEnd: (err) => {
                        if (opts.signal.aborted) return;
                        const where = host === LOCAL_HOST ? "" : ` of host ${host}`;
                        log(`Docker's event stream${where} ended${err ? ` (${err.message})` : ""}; following again in 2 s`);
                        setTimeout(() => !opts.signal.aborted && follow(host, spec), 2000);
                    },
                }),
            ),
        );
    };
    /** Follows every host to follow that is not followed yet (the state may name new ones after an up). */
    const followAll = (resources: StateResource[]) => {
        for (const [host, spec] of hostsToFollow(opts.hosts, resources)) {
            if (followed.has(host)) continue;
            if (host !== LOCAL_HOST || (opts.hosts ?? []).length > 0) {
                log(`following the Docker engine of ${host === LOCAL_HOST ? "this machine" : `host ${host}`}`);
            }
            follow(host, spec);
        }
    };
    followAll(await loadState().catch(() => [] as StateResource[]));

    if (opts.initialUp) {
        busy = true;
        const started = Date.now();
        const done = opsCollector();
        try {
            log(`initial up --refresh of the whole stack`);
            await stack.up({ refresh: true, onEvent: done.onEvent, signal: opts.abortHeal });
            log(
                `initial up done in ${seconds(Date.now() - started)}: ${done.ops.length > 0 ? done.ops.join(", ") : "nothing needed repair"}`,
            );
        } catch (err) {
            log(`error: the initial up failed: ${brief(err)}; following events anyway`);
        } finally {
            busy = false;
            wake();
        }
    }
    await loadState().then(followAll, (err) => log(`warning: failed to read the stack's state: ${brief(err)}`));
    await reportOrphans();
    log(`following Docker events`);
    void drain();

    await new Promise<void>((resolveStop) => {
        const stop = () => {
            for (const e of streams.values()) e.close();
            for (const t of timers.values()) clearTimeout(t);
            if (!busy) return resolveStop();
            log(`stopping after the heal under way`);
            wake = resolveStop;
        };
        if (opts.signal.aborted) stop();
        else opts.signal.addEventListener("abort", stop, { once: true });
    });
    log(`stopped`);
}

/** `hostnet watch ARGS`: runs until SIGINT/SIGTERM; a second signal aborts a heal under way. */
export async function runWatch(argv: string[]): Promise<number> {
    if (argv.includes("--help") || argv.includes("-h")) {
        console.log(WATCH_USAGE);
        return 0;
    }
    let parsed: ReturnType<typeof parseWatchArgs>;
    try {
        parsed = parseWatchArgs(argv);
    } catch (err) {
        console.error(`hostnet watch: ${(err as Error).message}\n\n${WATCH_USAGE}`);
        return 2;
    }
    const stop = new AbortController();
    const abortHeal = new AbortController();
    const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
    const onSignal = (sig: string) => {
        if (!stop.signal.aborted) {
            log(`${sig}: stopping`);
            stop.abort();
        } else {
            log(`${sig} again: cancelling the heal under way`);
            abortHeal.abort();
        }
    };
    process.on("SIGINT", () => onSignal("SIGINT"));
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    try {
        await watch({ ...parsed, log, signal: stop.signal, abortHeal: abortHeal.signal });
        return 0;
    } catch (err) {
        console.error(`hostnet watch: ${(err as Error).message}`);
        return 1;
    }
}
