// Which kinds of link this host's kernel can make (`ip link add ... type
// <kind>`): one rule, for every kind a resource needs (macvlan, ipvlan, and
// the dummy and 802.1Q VLAN links Docker makes for a macvlan network).
//
// How it is read: by asking the kernel, in a throw-away network namespace.
// `unshare --net ip link add name hn-probe type <kind>` runs `ip` alone in a
// new namespace, which the kernel frees when it exits, so nothing is left
// anywhere, whatever the kind makes. The kernel looks the kind up before
// anything else (and loads its module if it can, as a real `ip link add`
// would); it answers "Unknown device type" (EOPNOTSUPP) for a kind it cannot
// make, and for a kind it knows either makes the link or refuses the bare
// request in the kind's own words ("Invalid argument" for a macvlan without
// a parent): both mean the kind is there. Why not the files: /sys/module lists
// a built-in driver only when it has parameters (this machine's built-in
// macvlan is not there); modules.builtin and /proc/config.gz are missing on
// many hosts (this one has no /lib/modules at all); a module file that exists
// may still fail to load. The probe asks the one thing that decides.
//
// The answer is kept per host for the life of the process (a kernel's kinds
// do not change under a deployment); a host where the probe cannot run (no
// `unshare`, or no right to make a namespace) answers "unknown", and the
// kernel then speaks for itself when the link is made.
//
// Host layer: no Pulumi imports.

import { HostCommandError, NotSupportedError } from "./errors";
import { currentHostKey } from "./hostScope";
import { runHost } from "./run";

/** The argv of the probe for `kind` (run on the host the current scope names). */
export function probeArgv(kind: string): string[] {
    return ["unshare", "--net", "ip", "link", "add", "name", "hn-probe", "type", kind];
}

const known = new Map<string, Promise<boolean | undefined>>(); // `${host}|${kind}`

/**
 * True when the kernel of the current host can make links of `kind`, false
 * when it cannot, undefined when that cannot be found out here (the probe
 * could not run).
 */
export function kernelHasLinkKind(kind: string): Promise<boolean | undefined> {
    const key = `${currentHostKey()}|${kind}`;
    let answer = known.get(key);
    if (!answer) {
        answer = probe(kind);
        known.set(key, answer);
        // A failure of the probe itself is not remembered: the next check asks again.
        answer.catch(() => known.get(key) === answer && known.delete(key));
    }
    return answer;
}

async function probe(kind: string): Promise<boolean | undefined> {
    try {
        await runHost(`find out whether the kernel has ${kind} links`, probeArgv(kind));
        return true;
    } catch (err) {
        if (err instanceof NotSupportedError) return false;
        // `ip` exits 2 for an answer of the kernel: the kind is known, the bare request refused in its own words.
        if (err instanceof HostCommandError && err.exitCode === 2) return true;
        // unshare missing or not allowed: not known here.
        return undefined;
    }
}

/** Forgets what was probed (tests: a new process, or another fake kernel). */
export function forgetLinkKinds(): void {
    known.clear();
}
