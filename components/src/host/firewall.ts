// The one firewall rule the library makes: accept traffic forwarded between
// the ports of one bridge. Docker sets the FORWARD policy to DROP and has the
// kernel hand bridged frames to iptables (net.bridge.bridge-nf-call-iptables=1),
// accepting them only on its own bridges; without such a rule, containers on a
// bridge the library creates reach the host but not each other. Docker's
// bridge driver adds the same rule (`-i br -o br -j ACCEPT`) for its networks.
//
// The rule goes into Docker's DOCKER-USER chain (meant for users' rules, kept
// across dockerd restarts) when it exists, else into FORWARD. It carries the
// owner mark as its comment, so that it is found, and removed, by exactly its
// resource: a rule without the mark is never touched. Each function runs one
// `iptables` command and owns its argv; failures are the typed errors of
// errors.ts (a missing rule or chain is a NotFoundError).
//
// Engine side: loaded by the dynamic-provider process. No Pulumi imports.

import { NotFoundError } from "./errors";
import { runHost } from "./run";

/** Docker's chain for users' rules, consulted first in FORWARD. */
export const DOCKER_USER = "DOCKER-USER";
export const FORWARD = "FORWARD";

/** `-w`: wait for the xtables lock (dockerd may hold it) instead of failing. */
function iptables(...args: string[]): string[] {
    return ["iptables", "-w", ...args];
}

/** The rule's match and target: traffic in from `bridge` and out to `bridge`, marked with `owner`. */
export function forwardRuleSpec(bridge: string, owner: string): string[] {
    return ["-i", bridge, "-o", bridge, "-m", "comment", "--comment", owner, "-j", "ACCEPT"];
}

/** The chain a new rule goes into: DOCKER-USER where Docker made it, else FORWARD. */
export async function forwardChain(): Promise<string> {
    // The filter table's rules as commands; a chain shows as `-N NAME` (the one listing that does not fail for a missing chain).
    const rules = await runHost("list the firewall's chains", iptables("-S"));
    return rules.split("\n").includes(`-N ${DOCKER_USER}`) ? DOCKER_USER : FORWARD;
}

/** A forwarding rule of the library's, as `iptables -S` lists it: its chain, bridge and mark. */
export interface MarkedRule {
    chain: string;
    bridge: string;
    mark: string;
}

/** Every rule of the filter table with the library's shape (forwarding accepted on one bridge, commented with a mark). */
export async function markedRules(): Promise<MarkedRule[]> {
    const rules: MarkedRule[] = [];
    for (const line of (await runHost("list the firewall's rules", iptables("-S"))).split("\n")) {
        const m = /^-A (\S+) -i (\S+) -o (\S+) -m comment --comment "([^"]*)" -j ACCEPT$/.exec(line);
        if (m && m[2] === m[3]) rules.push({ chain: m[1], bridge: m[2], mark: m[4] });
    }
    return rules;
}

/** True when the rule of `owner` for `bridge` is in `chain`. */
export async function hasForwardRule(chain: string, bridge: string, owner: string): Promise<boolean> {
    try {
        await runHost(`check the firewall rule of bridge ${bridge}`, iptables("-C", chain, ...forwardRuleSpec(bridge, owner)));
        return true;
    } catch (err) {
        if (err instanceof NotFoundError) return false;
        throw err;
    }
}

/** The argv that puts the rule first in `chain`. */
export function insertForwardRule(chain: string, bridge: string, owner: string): string[] {
    return iptables("-I", chain, "1", ...forwardRuleSpec(bridge, owner));
}

/** The argv that removes the rule (this exact rule, with its mark) from `chain`. */
export function deleteForwardRule(chain: string, bridge: string, owner: string): string[] {
    return iptables("-D", chain, ...forwardRuleSpec(bridge, owner));
}

/** Puts the rule in `chain` unless it is there already. */
export async function acceptForwarding(what: string, chain: string, bridge: string, owner: string): Promise<void> {
    if (await hasForwardRule(chain, bridge, owner)) return;
    await runHost(what, insertForwardRule(chain, bridge, owner));
}

/** Removes the rule from `chain`; a rule that is not there (any more) is fine. */
export async function stopAcceptingForwarding(what: string, chain: string, bridge: string, owner: string): Promise<void> {
    try {
        await runHost(what, deleteForwardRule(chain, bridge, owner));
    } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
    }
}
