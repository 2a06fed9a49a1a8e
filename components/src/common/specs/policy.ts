// Policy as the engine receives it, and its checks.
//
// A Policy is an ordered list of allow/deny rules on the traffic the host
// forwards between containers (bridged between the ports of one bridge, or
// routed between bridges), plus a default: each bridge in `isolate` keeps its
// ports from reaching each other unless a rule allows it; everything else no
// rule matches goes on to the host's other rules (Docker's). It is kept in an
// nftables table of its own (engine/providers/policy.ts; the rules'
// text: common/policyTable.ts).
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import { contains, familyOf, formatPrefix, hasHostBits, networkOf, parsePrefix } from "../addresses";
import { checkContainerRef, checkIfName, containsUnknown, InputFailure } from "../validation";

export type PolicyAction = "allow" | "deny";
export type PolicyProtocol = "tcp" | "udp" | "icmp";

/**
 * One side of a rule, as the engine receives it: exactly one of `container`,
 * `bridge`, `network` or `addresses`.
 */
export interface PolicyEndpoint {
    /** A container (name or id): every address in its network namespace, plus `declared`. */
    container?: string;
    /** Addresses the program's attachments give the container (with or without prefix length): they count before they exist. */
    declared?: string[];
    /** A Linux bridge: traffic that comes in from it (`from`) or goes out to it (`to`). */
    bridge?: string;
    /** A Docker network (name or id): its Linux bridge, found by the engine (then in `bridge`). */
    network?: string;
    /** Addresses or networks of either family (`10.10.0.5`, `10.10.0.0/24`, `fd00::/64`). */
    addresses?: string[];
    /** For people, and the name of the container's address sets: the resource's name (`cli`). */
    name?: string;
}

export interface PolicyRule {
    action: PolicyAction;
    /** Where the traffic comes from; absent: anywhere. */
    from?: PolicyEndpoint;
    /** Where it goes; absent: anywhere. */
    to?: PolicyEndpoint;
    /** Absent: every protocol. */
    protocol?: PolicyProtocol;
    /** Destination ports of tcp or udp: numbers, or ranges "8000-8080". */
    ports?: (number | string)[];
    /** Shown in `nft list` next to the rule. */
    comment?: string;
}

export interface PolicyInputs {
    /** The nftables table (family inet) the policy owns. */
    table: string;
    rules: PolicyRule[];
    /** Bridges whose ports may not reach each other, unless a rule allows it. */
    isolate: string[];
    owner: string;
}

export interface PolicyOutputs extends PolicyInputs {
    /** The elements of each set of container addresses, as applied (and as the last read found them). */
    sets: Record<string, string[]>;
    /** What the containers' addresses resolve to now, as the last read found them; where it differs from `sets`, up updates the sets. */
    resolved?: Record<string, string[]>;
    /** The table as nft listed it after the last apply: sets (without elements), the chain, its rules (counters zeroed). */
    listing: string[];
    /** The table as the last read found it, when it differs from `listing` (changed by hand): up writes it again. */
    live?: string[];
}

/** nftables keeps at most this many bytes of a comment (a table's, a rule's). */
export const MAX_NFT_COMMENT = 128;

const TABLE_NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/;
const ENDPOINT_KINDS = ["container", "bridge", "network", "addresses"] as const;
const RULE_FIELDS = ["action", "from", "to", "protocol", "ports", "comment"];

function show(value: unknown): string {
    return JSON.stringify(value) ?? String(value);
}

/** A port or a range as [first, last], or undefined. */
export function parsePortRange(value: unknown): [number, number] | undefined {
    const port = (text: string) => (/^[1-9][0-9]{0,4}$/.test(text) && Number(text) <= 65535 ? Number(text) : undefined);
    if (typeof value === "number") return Number.isInteger(value) && value >= 1 && value <= 65535 ? [value, value] : undefined;
    if (typeof value !== "string") return undefined;
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(value);
    if (!m) return undefined;
    const first = port(m[1]);
    const last = m[2] === undefined ? first : port(m[2]);
    return first !== undefined && last !== undefined && first <= last ? [first, last] : undefined;
}

/** The families an endpoint's addresses belong to; undefined when it is not limited to a family (a bridge, a container, anything). */
export function endpointFamilies(e: PolicyEndpoint | undefined): Set<4 | 6> | undefined {
    if (!e || e.addresses === undefined) return undefined;
    return new Set(e.addresses.map(familyOf).filter((f): f is 4 | 6 => f !== undefined));
}

function checkEndpoint(at: string, e: unknown): string[] {
    if (e === undefined || containsUnknown(e)) return [];
    if (typeof e !== "object" || e === null || Array.isArray(e)) {
        return [
            `\`${at}\` must be a Container, Network, Bridge, VethAttachment, an address or CIDR, or { container }, { bridge }, { network }, { cidr }; got ${show(e)}`,
        ];
    }
    const ep = e as Record<string, unknown>;
    const kinds = ENDPOINT_KINDS.filter((k) => ep[k] !== undefined);
    if (kinds.length !== 1) {
        return [
            `\`${at}\` must name exactly one of container, bridge, network or addresses; got ${kinds.length === 0 ? "none" : kinds.join(" and ")}`,
        ];
    }
    if (containsUnknown(ep)) return [];
    const reasons: string[] = [];
    if (ep.container !== undefined) {
        const r = checkContainerRef(`${at}.container`, ep.container);
        if (r) reasons.push(r);
    }
    if (ep.bridge !== undefined) {
        const r = checkIfName(`${at}.bridge`, ep.bridge);
        if (r) reasons.push(r);
    }
    if (ep.network !== undefined && (typeof ep.network !== "string" || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(ep.network))) {
        reasons.push(`\`${at}.network\` must be a Docker network name or id; got ${show(ep.network)}`);
    }
    for (const [field, list] of [
        ["addresses", ep.addresses],
        ["declared", ep.declared],
    ] as const) {
        if (list === undefined) continue;
        if (!Array.isArray(list) || (field === "addresses" && list.length === 0)) {
            reasons.push(`\`${at}.${field}\` must be a list of addresses or CIDRs like ["10.10.0.0/24", "fd00::5"]; got ${show(list)}`);
            continue;
        }
        for (const [i, a] of list.entries()) {
            const p = typeof a === "string" ? parsePrefix(a) : undefined;
            if (!p) {
                reasons.push(
                    `\`${at}.${field}[${i}]\` must be an IPv4 or IPv6 address, or a network with its prefix length; got ${show(a)}`,
                );
                continue;
            }
            // A network is written with its host bits clear; an attachment's address (`declared`) keeps its prefix length.
            if (field === "addresses" && hasHostBits(p)) {
                reasons.push(
                    `\`${at}.${field}[${i}]\` ${show(a)} has host bits set: write the network (${show(formatPrefix(networkOf(p)))}) or the one address (${show(a.split("/")[0])})`,
                );
            }
        }
        if (field === "addresses" && reasons.length === 0) {
            const parsed = (list as string[]).map((a) => parsePrefix(a)!);
            for (let i = 0; i < parsed.length; i++)
                for (let j = i + 1; j < parsed.length; j++)
                    if (contains(parsed[i], parsed[j]) || contains(parsed[j], parsed[i]))
                        reasons.push(`\`${at}.addresses\` ${show(list[i])} and ${show(list[j])} overlap; list each address once`);
        }
    }
    if (ep.name !== undefined && (typeof ep.name !== "string" || ep.name === "")) {
        reasons.push(`\`${at}.name\` must be a non-empty string; got ${show(ep.name)}`);
    }
    return reasons;
}

/** Why a comment cannot go into nft's listing, or undefined. */
export function commentFailure(field: string, value: unknown): string | undefined {
    if (typeof value !== "string" || value === "" || Buffer.byteLength(value) > MAX_NFT_COMMENT || /["\\\n\r\t]/.test(value)) {
        return `\`${field}\` must be a text of 1 to ${MAX_NFT_COMMENT} bytes, without quotes, backslashes or line breaks; got ${show(value)}`;
    }
    return undefined;
}

function checkRule(i: number, rule: unknown): string[] {
    const at = `rules[${i}]`;
    if (typeof rule !== "object" || rule === null || Array.isArray(rule)) {
        return [`\`${at}\` must be { action, from?, to?, protocol?, ports?, comment? }; got ${show(rule)}`];
    }
    const r = rule as Record<string, unknown>;
    const reasons: string[] = [];
    for (const k of Object.keys(r))
        if (!RULE_FIELDS.includes(k))
            reasons.push(`\`${at}.${k}\` is not a field of a rule; remove it, or use one of ${RULE_FIELDS.join(", ")}`);
    if (!containsUnknown(r.action) && r.action !== "allow" && r.action !== "deny") {
        reasons.push(`\`${at}.action\` must be "allow" or "deny"; got ${show(r.action)}`);
    }
    if (r.protocol !== undefined && !containsUnknown(r.protocol) && !["tcp", "udp", "icmp"].includes(r.protocol as string)) {
        reasons.push(`\`${at}.protocol\` must be "tcp", "udp" or "icmp" (leave it out for every protocol); got ${show(r.protocol)}`);
    }
    if (r.ports !== undefined && !containsUnknown(r.ports)) {
        if (r.protocol !== "tcp" && r.protocol !== "udp") {
            reasons.push(`\`${at}.ports\` needs \`protocol\` "tcp" or "udp"; got protocol ${show(r.protocol ?? "(every protocol)")}`);
        } else if (!Array.isArray(r.ports) || r.ports.length === 0) {
            reasons.push(`\`${at}.ports\` must be a list of ports or ranges like [80, "8000-8080"]; got ${show(r.ports)}`);
        } else {
            const ranges: [number, number][] = [];
            for (const [j, p] of r.ports.entries()) {
                const range = parsePortRange(p);
                if (!range) reasons.push(`\`${at}.ports[${j}]\` must be a port 1-65535 or a range "first-last"; got ${show(p)}`);
                else if (ranges.some(([a, b]) => range[0] <= b && a <= range[1]))
                    reasons.push(`\`${at}.ports[${j}]\` ${show(p)} overlaps another port of the rule; list each port once`);
                else ranges.push(range);
            }
        }
    }
    if (r.comment !== undefined && !containsUnknown(r.comment)) {
        const c = commentFailure(`${at}.comment`, r.comment);
        if (c) reasons.push(c);
    }
    reasons.push(...checkEndpoint(`${at}.from`, r.from), ...checkEndpoint(`${at}.to`, r.to));
    if (r.from === undefined && r.to === undefined) {
        reasons.push(
            `\`${at}\` must name \`from\` or \`to\`: a rule on all the traffic the host forwards would act on other stacks' and Docker's containers too`,
        );
    }
    if (reasons.length === 0 && !containsUnknown([r.from, r.to])) {
        const from = endpointFamilies(r.from as PolicyEndpoint | undefined);
        const to = endpointFamilies(r.to as PolicyEndpoint | undefined);
        if (from && to && ![...from].some((f) => to.has(f))) {
            reasons.push(
                `\`${at}\`: \`from\` is IPv${[...from].join("/")} and \`to\` IPv${[...to].join("/")}: the rule would never match; give both sides addresses of one family (one rule per family)`,
            );
        }
    }
    return reasons;
}

export function checkPolicyInputs(inputs: Record<string, unknown>): InputFailure[] {
    const failures: InputFailure[] = [];
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    const { table, rules, isolate } = inputs;
    if (table !== undefined && !containsUnknown(table) && (typeof table !== "string" || !TABLE_NAME.test(table))) {
        fail(
            "table",
            `\`table\` must be an nftables table name: a letter or '_', then letters, digits or '_', at most 64; got ${show(table)}`,
        );
    }
    if (rules !== undefined && !containsUnknown(rules)) {
        if (!Array.isArray(rules))
            fail("rules", `\`rules\` must be a list of { action, from?, to?, protocol?, ports? }; got ${show(rules)}`);
        else for (const [i, r] of rules.entries()) for (const reason of checkRule(i, r)) fail("rules", reason);
    } else if (Array.isArray(rules)) {
        for (const [i, r] of rules.entries()) if (!containsUnknown(r)) for (const reason of checkRule(i, r)) fail("rules", reason);
    }
    if (isolate !== undefined && !containsUnknown(isolate)) {
        if (!Array.isArray(isolate)) fail("isolate", `\`isolate\` must be a list of bridges; got ${show(isolate)}`);
        else
            for (const [i, b] of isolate.entries()) {
                const r = checkIfName(`isolate[${i}]`, b);
                if (r) fail("isolate", r);
                else if (isolate.indexOf(b) !== i) fail("isolate", `\`isolate\` lists bridge ${show(b)} twice; list each bridge once`);
            }
    }
    return failures;
}
