// What this deployment's resources claim: names, addresses, subnets. One
// dynamic-provider process serves every resource of a deployment, and the
// engine calls `check` for each as the program registers it, so a claim made
// twice in one stack (the same address on one bridge, one interface name for
// two attachments) is caught at preview, before anything is touched.
//
// Claims are per host: a space is read inside the current host's scope
// (host/hostScope.ts), so `ifname@host` on host b and on host c are two
// spaces, and this machine's spaces are named as before.
//
// Engine side: loaded by the dynamic-provider process. Per process, in memory.

import { currentHostKey } from "../host/hostScope";

const claims = new Map<string, string>(); // `${space}|${key}` -> owner
const byOwner = new Map<string, Set<string>>(); // owner -> its claims

/**
 * Records that `owner` uses `key` in `space` (e.g. space `address@docker0`,
 * key `172.17.0.3`), replacing what `owner` claimed in that space before.
 * Returns the other owner that claimed it first, if any.
 */
export function claim(space: string, keys: readonly string[], owner: string): string | undefined {
    space = onThisHost(space);
    const mine = byOwner.get(owner) ?? new Set<string>();
    for (const k of [...mine]) {
        if (k.startsWith(`${space}|`)) {
            if (claims.get(k) === owner) claims.delete(k);
            mine.delete(k);
        }
    }
    let conflict: string | undefined;
    for (const key of keys) {
        const k = `${space}|${key}`;
        const other = claims.get(k);
        if (other !== undefined && other !== owner) {
            conflict ??= other;
            continue;
        }
        claims.set(k, owner);
        mine.add(k);
    }
    byOwner.set(owner, mine);
    return conflict;
}

/** True when some resource of this deployment claimed `key` in `space`. */
export function isClaimed(space: string, key: string): boolean {
    return claims.has(`${onThisHost(space)}|${key}`);
}

/** The owner that claimed `key` in `space`, if any. */
export function claimant(space: string, key: string): string | undefined {
    return claims.get(`${onThisHost(space)}|${key}`);
}

/** True when some resource of this deployment gives `address` to an interface (on any bridge, in any container). */
export function isClaimedAddress(address: string): boolean {
    const host = currentHostKey();
    const prefix = host === "" ? "address@" : `${host}:address@`;
    for (const k of claims.keys()) if (k.startsWith(prefix) && k.endsWith(`|${address}`)) return true;
    return false;
}

/** Every claim in `space`, as [key, owner]. */
export function claimsIn(space: string): [string, string][] {
    const prefix = `${onThisHost(space)}|`;
    return [...claims].filter(([k]) => k.startsWith(prefix)).map(([k, owner]) => [k.slice(prefix.length), owner]);
}

const declarations = new Map<string, unknown>(); // `${space}|${key}` -> what the stack will make it

/**
 * Records what this deployment will make of `key` (e.g. the addresses a
 * Bridge of the stack gives its bridge), so that the checks of resources that
 * depend on it judge against the state the deployment is heading for, not
 * the one the host is in now.
 */
export function declare(space: string, key: string, value: unknown): void {
    declarations.set(`${onThisHost(space)}|${key}`, value);
}

/** What this deployment declared for `key` in `space`, if anything. */
export function declaration<T>(space: string, key: string): T | undefined {
    return declarations.get(`${onThisHost(space)}|${key}`) as T | undefined;
}

/** The space on the current host: `space` itself on this machine, `<host>:space` on another. */
function onThisHost(space: string): string {
    const host = currentHostKey();
    return host === "" ? space : `${host}:${space}`;
}

/** Forgets every claim and declaration (tests). */
export function resetClaims(): void {
    claims.clear();
    byOwner.clear();
    declarations.clear();
    swarmNetworks.clear();
    swarmClaims.clear();
}

// Swarm-scoped networks are one object across hosts: known by id and name to
// every host's checks, not per host. `networks` holds what this deployment's
// overlay Networks declared (their cluster and subnet).
const swarmNetworks = new Map<string, { clusterId: string; name: string; id?: string }>();

/** Records an overlay network of this deployment, by its name and (once known) its id. */
export function declareSwarmNetwork(n: { clusterId: string; name: string; id?: string }): void {
    swarmNetworks.set(n.name, n);
    if (n.id) swarmNetworks.set(n.id, n);
}

/** The overlay network of this deployment that `nameOrId` names, if any. */
export function swarmNetwork(nameOrId: string): { clusterId: string; name: string; id?: string } | undefined {
    return swarmNetworks.get(nameOrId);
}

const swarmClaims = new Map<string, string>(); // `${space}|${key}` -> owner, the same on every host

/**
 * `claim` in a space shared by every host (an address on a swarm network is
 * one address whichever node the container is on). Returns the other owner
 * that claimed it first, if any.
 */
export function claimAcrossHosts(space: string, keys: readonly string[], owner: string): string | undefined {
    for (const [k, o] of [...swarmClaims]) if (o === owner && k.startsWith(`${space}|`)) swarmClaims.delete(k);
    let conflict: string | undefined;
    for (const key of keys) {
        const other = swarmClaims.get(`${space}|${key}`);
        if (other !== undefined && other !== owner) conflict ??= other;
        else swarmClaims.set(`${space}|${key}`, owner);
    }
    return conflict;
}
