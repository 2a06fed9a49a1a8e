// A Policy as an nftables table, in nft's own syntax: the sets holding each
// container's addresses, the one base chain at the forward hook, and its
// rules, written exactly as `nft list table` prints them back (counters
// zeroed), so that the preview, the drift report and the host agree word for
// word. Pure: the rules refer to containers by set (`ip saddr @cli_v4`), so
// their text is known from the inputs alone; the sets' elements (addresses)
// are found on the host when the table is applied.
//
// How the chain combines with the host's other rules (Docker's iptables-nft
// `filter` table hooks the same forward hook): base chains at one hook run in
// priority order, each to its own verdict. A drop here is final: no later
// chain sees the packet. An accept here only ends this chain: Docker's FORWARD
// chain still runs and still drops what it drops (its policy DROP, its
// isolation between networks). So `deny` always holds, and `allow` lets
// through only what the host's other rules accept too (a created Bridge's
// forwarding rule, Docker's accept for its own networks). Replies to a
// connection a rule let through are accepted first (`ct state
// established,related`), so a rule acts on new connections.
//
// Common: pure, used by both the program and the engine.

import { formatPrefix, parsePrefix } from "./addresses";
import { endpointFamilies, parsePortRange, PolicyEndpoint, PolicyInputs, PolicyRule } from "./specs/policy";

/** The base chain's name, hook and priority: before Docker's `filter` table (priority 0), so that this table's drops show in its counters. */
export const POLICY_CHAIN = "forward";
export const CHAIN_HEADER = "type filter hook forward priority filter - 10; policy accept;";
/** Replies of connections a rule let through: accepted before any rule. */
export const ESTABLISHED_RULE = "ct state established,related accept";

/** A set of a container's addresses, in one family. */
export interface AddressSet {
    name: string;
    family: 4 | 6;
    /** The container (name or id) whose addresses it holds. */
    container: string;
    /** Addresses the program declares for it (its attachments'), counted whatever the host says. */
    declared: string[];
    /** For people: `container "cli"`. */
    label: string;
}

const NFT_TYPE = { 4: "ipv4_addr", 6: "ipv6_addr" } as const;

function sanitized(text: string): string {
    const s = text
        .toLowerCase()
        .replace(/[^a-z0-9_]+/g, "_")
        .replace(/^_+|_+$/g, "")
        .slice(0, 32);
    return /^[a-z_]/.test(s) ? s : `c_${s}`;
}

function shortHash(text: string): string {
    // FNV-1a, 32 bits: a stable suffix for set names that would clash (no crypto needed here, and no Node import in common/).
    let h = 0x811c9dc5;
    for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    return h.toString(16).padStart(8, "0").slice(0, 4);
}

/** The containers the rules name, each with a set name (from its resource name) unique in the table. */
function containerSetNames(rules: readonly PolicyRule[]): Map<string, { base: string; label: string; declared: string[] }> {
    const byContainer = new Map<string, { base: string; label: string; declared: string[] }>();
    const taken = new Map<string, string>(); // base -> container
    for (const r of rules) {
        for (const e of [r.from, r.to]) {
            if (e?.container === undefined) continue;
            const known = byContainer.get(e.container);
            if (known) {
                for (const d of e.declared ?? []) if (!known.declared.includes(d)) known.declared.push(d);
                continue;
            }
            const name = e.name ?? e.container;
            let base = sanitized(name);
            if (taken.has(base) && taken.get(base) !== e.container) base = `${base}_${shortHash(e.container)}`;
            taken.set(base, e.container);
            byContainer.set(e.container, { base, label: `container "${name}"`, declared: [...(e.declared ?? [])] });
        }
    }
    return byContainer;
}

/** Every set of container addresses the table holds, in the order the rules first name them. */
export function addressSets(inputs: Pick<PolicyInputs, "rules">): AddressSet[] {
    const sets: AddressSet[] = [];
    for (const [container, { base, label, declared }] of containerSetNames(inputs.rules)) {
        for (const family of [4, 6] as const) {
            sets.push({
                name: `${base}_v${family}`,
                family,
                container,
                label,
                declared: declared.filter((d) => parsePrefix(d)?.family === family),
            });
        }
    }
    return sets;
}

function sortedAddresses(list: readonly string[]): string[] {
    const parsed = list.map((a) => parsePrefix(a)!).filter(Boolean);
    parsed.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : a.length - b.length));
    return [...new Set(parsed.map(formatPrefix))];
}

/** A set's elements as nft keeps them: canonical text, sorted by value, each once. */
export function setElements(addresses: readonly string[]): string[] {
    return sortedAddresses(addresses);
}

function addressMatch(dir: "saddr" | "daddr", family: 4 | 6, e: PolicyEndpoint, sets: Map<string, string>): string | undefined {
    const proto = family === 4 ? "ip" : "ip6";
    if (e.container !== undefined) return `${proto} ${dir} @${sets.get(e.container)}_v${family}`;
    if (e.addresses !== undefined) {
        const mine = sortedAddresses(e.addresses.filter((a) => parsePrefix(a)?.family === family));
        return `${proto} ${dir} ${mine.length === 1 ? mine[0] : `{ ${mine.join(", ")} }`}`;
    }
    return undefined;
}

function portsMatch(rule: PolicyRule): string {
    const ranges = (rule.ports ?? []).map((p) => parsePortRange(p)!).sort((a, b) => a[0] - b[0]);
    const text = ranges.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`));
    return `${rule.protocol} dport ${text.length === 1 ? text[0] : `{ ${text.join(", ")} }`}`;
}

function protocolMatch(rule: PolicyRule, family: 4 | 6 | undefined): string | undefined {
    if (rule.protocol === undefined) return undefined;
    if (rule.protocol === "icmp") {
        return family === 4 ? "meta l4proto icmp" : family === 6 ? "meta l4proto ipv6-icmp" : "meta l4proto { icmp, ipv6-icmp }";
    }
    return rule.ports !== undefined && rule.ports.length > 0 ? portsMatch(rule) : `meta l4proto ${rule.protocol}`;
}

/** The families a rule is written for: one line each; undefined: one line for both (it names no address). */
function ruleFamilies(rule: PolicyRule): (4 | 6)[] | undefined {
    const fixed = [rule.from, rule.to].some((e) => e?.container !== undefined || e?.addresses !== undefined);
    if (!fixed) return undefined;
    let families: (4 | 6)[] = [4, 6];
    for (const e of [rule.from, rule.to]) {
        const f = endpointFamilies(e);
        if (f) families = families.filter((x) => f.has(x));
    }
    return families;
}

/** The lines of one rule, in nft's syntax as `nft list` prints it. */
export function ruleLines(rule: PolicyRule, sets: Map<string, string>): string[] {
    const verdict = rule.action === "allow" ? "accept" : "drop";
    const line = (family: 4 | 6 | undefined) =>
        [
            rule.from?.bridge !== undefined ? `iifname "${rule.from.bridge}"` : undefined,
            rule.to?.bridge !== undefined ? `oifname "${rule.to.bridge}"` : undefined,
            family && rule.from ? addressMatch("saddr", family, rule.from, sets) : undefined,
            family && rule.to ? addressMatch("daddr", family, rule.to, sets) : undefined,
            protocolMatch(rule, family),
            "counter",
            verdict,
            rule.comment !== undefined ? `comment "${rule.comment}"` : undefined,
        ]
            .filter((w) => w !== undefined)
            .join(" ");
    const families = ruleFamilies(rule);
    return families === undefined ? [line(undefined)] : families.map(line);
}

/** The default of a bridge in `isolate`: its ports do not reach each other. */
export function isolationLine(bridge: string): string {
    return `iifname "${bridge}" oifname "${bridge}" counter drop comment "isolate ${bridge}"`;
}

/**
 * The table as a listing: one line per set (its name and type), the chain's
 * header, and its rules, in order. What `nft list table` prints, reduced to
 * what the policy decides (set elements apart, counters zeroed).
 */
export function tableListing(inputs: Pick<PolicyInputs, "rules" | "isolate">): string[] {
    const sets = addressSets(inputs);
    const names = new Map([...containerSetNames(inputs.rules)].map(([c, v]) => [c, v.base]));
    return [
        ...sets.map((s) => `set ${s.name} { type ${NFT_TYPE[s.family]} }`),
        `chain ${POLICY_CHAIN} { ${CHAIN_HEADER} }`,
        ESTABLISHED_RULE,
        ...inputs.rules.flatMap((r) => ruleLines(r, names)),
        ...inputs.isolate.map(isolationLine),
    ];
}

/** The rule lines of a listing (what follows the chain's header). */
export function rulesOf(listing: readonly string[]): string[] {
    const at = listing.findIndex((l) => l.startsWith("chain "));
    return at < 0 ? [] : listing.slice(at + 1);
}

/**
 * The script `nft -f -` applies as one transaction: the table made if
 * missing, deleted, and made again whole, with `mark` as its comment and each
 * set's `elements`. Nothing else of the ruleset is touched; a failure changes
 * nothing.
 */
export function tableScript(
    table: string,
    mark: string,
    inputs: Pick<PolicyInputs, "rules" | "isolate">,
    elements: Record<string, string[]>,
): string {
    const sets = addressSets(inputs);
    const lines = [`table inet ${table}`, `delete table inet ${table}`, `table inet ${table} {`, `\tcomment "${mark}"`];
    for (const s of sets) {
        lines.push(`\tset ${s.name} {`, `\t\ttype ${NFT_TYPE[s.family]}`);
        const e = setElements(elements[s.name] ?? []);
        if (e.length > 0) lines.push(`\t\telements = { ${e.join(", ")} }`);
        lines.push("\t}");
    }
    lines.push(`\tchain ${POLICY_CHAIN} {`, `\t\t${CHAIN_HEADER}`);
    for (const rule of rulesOf(tableListing(inputs))) lines.push(`\t\t${rule}`);
    lines.push("\t}", "}");
    return `${lines.join("\n")}\n`;
}

/** The script that removes the table (nothing when it is gone already). */
export function deleteScript(table: string): string {
    return `table inet ${table}\ndelete table inet ${table}\n`;
}

/**
 * What changes from one listing to another, in order: lines only in
 * `before` as "- ", lines only in `after` as "+ " (a longest common
 * subsequence diff, so that a moved rule shows as removed and added).
 */
export function listingChanges(before: readonly string[], after: readonly string[]): string[] {
    const n = before.length;
    const m = after.length;
    const lcs: number[][] = Array.from({ length: n + 1 }, () => Array<number>(m + 1).fill(0));
    for (let i = n - 1; i >= 0; i--)
        for (let j = m - 1; j >= 0; j--)
            lcs[i][j] = before[i] === after[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    const out: string[] = [];
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && before[i] === after[j]) {
            i++;
            j++;
        } else if (j >= m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1])) {
            out.push(`- ${before[i++]}`);
        } else {
            out.push(`+ ${after[j++]}`);
        }
    }
    return out;
}
