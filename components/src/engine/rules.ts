// The host checks every dynamic provider shares, each a named rule with its
// one message. A provider lists the rules it runs (`hostRules`, exported
// beside its provider) and runs them in its `hostFailures`, which both its
// `check` (the preview) and its `create` (before anything is touched) call:
// the preview and the create refuse the same things in the same words.
//
// A rule is given what the provider read (a claim's other owner, a link, a
// container's inspect) and says whether it fails, as an InputFailure naming
// the input and what to do; where a rule needs the host itself (the kernel's
// link kinds) it reads it. Kept apart from the providers' own checks (those
// of one kind of object only, e.g. a bridge's VLAN filtering).
//
// Why InputFailures and not `pulumi.ResourceError`: a dynamic provider runs
// in the engine's provider process and is given inputs, never the resource
// object; the engine shows a `check` failure against the resource's URN and
// property already, and a `create` error against the resource it created.
//
// Engine side: loaded by the dynamic-provider process.

import { containerModeRefusal, ModeUse, netModeOf } from "../common/modes";
import { describeOwner, nameTakenMessage, OWNER_LABEL, sameStack } from "../common/naming";
import { InputFailure } from "../common/validation";
import type { ContainerInspect } from "../host/docker";
import { KERNEL_OPTION, kernelLacks } from "./parent";
import { isClaimed } from "./registry";

/** The shared rules, by their stable names. */
export const RULE_NAMES = ["claimed-twice", "name-taken", "address-held", "container-usable", "bridge-exists", "kernel-kind"] as const;
export type RuleName = (typeof RULE_NAMES)[number];

// Which rules ran, while a test traces them (see `traceRules`).
let trace: Set<RuleName> | undefined;

function ran(rule: RuleName): void {
    trace?.add(rule);
}

/**
 * Runs `fn` and returns the names of the rules it ran (whether they failed or
 * not), with its result or its error. For tests: which rules a provider's
 * `check` and `create` really run. Not re-entrant.
 */
export async function traceRules<T>(fn: () => Promise<T>): Promise<{ rules: RuleName[]; result?: T; error?: unknown }> {
    trace = new Set();
    try {
        const result = await fn();
        return { rules: [...trace], result };
    } catch (error) {
        return { rules: [...trace], error };
    } finally {
        trace = undefined;
    }
}

/**
 * claimed-twice: `subject` (e.g. "`name` "br0"", "`address` 10.0.0.2 on
 * bridge br0") is claimed in this deployment by `other` too (what the
 * registry's `claim`/`claimant` returned for it; undefined: by nobody else).
 * A `#part` the provider added to its claimer (a side, a network) is not
 * shown.
 */
export function claimedTwice(property: string, subject: string, other: string | undefined): InputFailure | undefined {
    ran("claimed-twice");
    if (other === undefined) return undefined;
    return {
        property,
        reason: `${subject} is also claimed by ${describeOwner(other.replace(/#[^/]*$/, ""))} in this deployment; give each its own, or declare it once and pass that resource around`,
    };
}

/**
 * name-taken: the name given in `field` is taken `where` (e.g. "on the
 * host", `in container "web"`) by `holder`, an object that is not this
 * resource's (undefined: the name is free); its `mark` is that object's
 * owner mark (null: unmarked; undefined: not said).
 */
export function nameTaken(
    property: string,
    field: string,
    name: string,
    where: string,
    holder: { mark?: string | null } | undefined,
): InputFailure | undefined {
    ran("name-taken");
    return holder === undefined ? undefined : { property, reason: nameTakenMessage(field, name, where, holder.mark) };
}

/**
 * address-held: the address `subject` names (e.g. "`address` 10.0.0.2") is
 * held `where` (e.g. "on bridge br0", "on network lab", "on parent eth1",
 * "on this host") by `holder` (e.g. `container "web"`, `interface eth0`), not
 * this resource; undefined holder: free.
 */
export function addressHeld(property: string, subject: string, where: string, holder: string | undefined): InputFailure | undefined {
    ran("address-held");
    if (holder === undefined) return undefined;
    return { property, reason: `${subject} ${where} is already held by ${holder}; choose a free address` };
}

/** How a resource uses the container it names. */
export interface ContainerUse {
    /** The mode rule (common/modes.ts). */
    use: ModeUse;
    /** True when the container must be running (its namespace is entered). */
    running: boolean;
    /** The resource's owner mark: a stopped container of its stack is started in the same deployment. */
    owner?: string;
    /** The container's name as messages show it (default: as given). */
    shown?: string;
}

/**
 * container-usable: the container given in `field` as `container` (`c`: its
 * inspect, undefined when Docker has none) exists (or this deployment makes
 * it), runs when it must (or its stack starts it), and has a network mode
 * that can take the use (the one wording of common/modes.ts).
 */
export function containerUsable(
    property: string,
    field: string,
    container: string,
    c: ContainerInspect | undefined,
    how: ContainerUse,
): InputFailure | undefined {
    ran("container-usable");
    const shown = how.shown ?? container;
    if (!c) {
        if (isClaimed("container", container)) return undefined;
        return {
            property,
            reason: `\`${field}\` "${shown}" does not exist; create it first, or pass the Container resource that makes it`,
        };
    }
    if (how.running && (!c.State.Running || !c.State.Pid)) {
        // A stopped container of this very stack is started by its own resource in this deployment.
        if (sameStack(c.Config.Labels?.[OWNER_LABEL], how.owner)) return undefined;
        return { property, reason: `\`${field}\` "${shown}" is ${c.State.Status}, not running; start it first` };
    }
    const mode = c.HostConfig.NetworkMode;
    const reason = containerModeRefusal(how.use, field, netModeOf(mode), mode, shown);
    return reason === undefined ? undefined : { property, reason };
}

/**
 * bridge-exists: the bridge given in `field` as `name` is there (`link`: the
 * interface of that name, undefined when there is none), or this deployment
 * makes it. `on`: " on host b" for another host, "" for this machine.
 */
export function bridgeExists(
    property: string,
    field: string,
    name: string,
    link: { kind: string } | undefined,
    on = "",
): InputFailure | undefined {
    ran("bridge-exists");
    if (!link) {
        if (isClaimed("bridge", name)) return undefined;
        return {
            property,
            reason: `\`${field}\` "${name}" does not exist${on}; create it first (a Bridge resource${on ? " on that host" : ""}), or name an existing bridge`,
        };
    }
    if (link.kind !== "bridge")
        return { property, reason: `\`${field}\` "${name}"${on} is a ${link.kind} interface, not a bridge; name a bridge` };
    return undefined;
}

/**
 * kernel-kind: the current host's kernel makes links of `kind`, which the
 * input `field` asks for (read once per process by a probe in a throw-away
 * namespace, host/linkKinds.ts); undefined when it does, or cannot be asked.
 * `instead` says what to do.
 */
export async function kernelKind(property: string, field: string, kind: string, instead: string): Promise<InputFailure | undefined> {
    ran("kernel-kind");
    const lacks = await kernelLacks(kind);
    if (!lacks) return undefined;
    const option = KERNEL_OPTION[kind] ? ` (${KERNEL_OPTION[kind]})` : "";
    return { property, reason: `\`${field}\` ${kind}: ${lacks}; ${instead}, or run on a kernel built with ${kind} links${option}` };
}

/** Adds what the rules said to `failures`. */
export function push(failures: InputFailure[], ...said: (InputFailure | undefined)[]): void {
    for (const f of said) if (f) failures.push(f);
}
