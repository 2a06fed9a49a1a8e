// What this deployment's resources claim: names, addresses, subnets. One
// dynamic-provider process serves every resource of a deployment, and the
// engine calls `check` for each as the program registers it, so a claim made
// twice in one stack (the same address on one bridge, one interface name for
// two attachments) is caught at preview, before anything is touched.
//
// Engine side: loaded by the dynamic-provider process. Per process, in memory.

const claims = new Map<string, string>(); // `${space}|${key}` -> owner
const byOwner = new Map<string, Set<string>>(); // owner -> its claims

/**
 * Records that `owner` uses `key` in `space` (e.g. space `address@docker0`,
 * key `172.17.0.3`), replacing what `owner` claimed in that space before.
 * Returns the other owner that claimed it first, if any.
 */
export function claim(space: string, keys: readonly string[], owner: string): string | undefined {
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
    return claims.has(`${space}|${key}`);
}

/** The owner that claimed `key` in `space`, if any. */
export function claimant(space: string, key: string): string | undefined {
    return claims.get(`${space}|${key}`);
}

/** Every claim in `space`, as [key, owner]. */
export function claimsIn(space: string): [string, string][] {
    const prefix = `${space}|`;
    return [...claims].filter(([k]) => k.startsWith(prefix)).map(([k, owner]) => [k.slice(prefix.length), owner]);
}

/** Forgets every claim (tests). */
export function resetClaims(): void {
    claims.clear();
    byOwner.clear();
}
