// Policy, engine side: the stack's allow/deny rules on forwarded traffic, in
// an nftables table (family inet) of the resource's own, marked with its
// owner mark as the table's comment. The table is written whole with one
// `nft -f -` transaction at every create and update (a failure changes
// nothing), read back with `nft list table`, and deleted on destroy; a table
// of that name without the mark is never touched. Rules name containers by
// set (their text: common/policyTable.ts); the sets' elements are the
// containers' addresses, found on the host at every apply and every read, so
// that a re-created container's new address follows.
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import { formatAddress, parsePrefix, reachableAddresses } from "../../common/addresses";
import { containerModeRefusal, netModeOf } from "../../common/modes";
import { nftMark } from "../../common/naming";
import { addressSets, deleteScript, listingChanges, setElements, tableListing, tableScript } from "../../common/policyTable";
import { checkPolicyInputs, PolicyInputs, PolicyOutputs, PolicyRule } from "../../common/specs/policy";
import { failuresError, InputFailure, isKnown } from "../../common/validation";
import { bridgeExists, claimedTwice, containerUsable, nameTaken, push, RuleName } from "../rules";
import * as docker from "../../host/docker";
import * as networks from "../../host/dockerNetworks";
import { ToolMissingError } from "../../host/errors";
import * as ip from "../../host/ip";
import * as nft from "../../host/nft";
import { readSysctl } from "../../host/sysctl";
import { warn } from "../observe";
import { callStep, describe, execute, Plan } from "../plan";
import { claim, isClaimed } from "../registry";
import { definedOnly, sameValue, storedProps } from "./props";

type Elements = Record<string, string[]>;

/** The inputs whose change rewrites the table. */
const RULE_INPUTS = ["rules", "isolate"] as const;

const BR_NETFILTER = { 4: "net.bridge.bridge-nf-call-iptables", 6: "net.bridge.bridge-nf-call-ip6tables" } as const;

function isOurs(table: nft.NftTable | undefined, owner: string): boolean {
    return table !== undefined && table.comment === nftMark(owner);
}

/**
 * The addresses of every set: for each container, the addresses in its
 * network namespace (a stopped or missing container has none there) and the
 * ones the program declares for it (its attachments', present or not yet).
 */
async function resolveElements(inputs: PolicyInputs): Promise<Elements> {
    const live = new Map<string, string[]>();
    const elements: Elements = {};
    for (const set of addressSets(inputs)) {
        let found = live.get(set.container);
        if (!found) {
            found = [];
            const c = await docker.inspectContainer(set.container);
            if (c && netModeOf(c.HostConfig.NetworkMode) === "host") {
                throw new Error(
                    `failed to resolve the addresses of container "${set.container}" for Policy table ${inputs.table}: ${containerModeRefusal("policyEndpoint", "rules", "host", "host", set.container)}`,
                );
            }
            if (c?.State.Running && c.State.Pid) {
                try {
                    found = reachableAddresses((await ip.listLinksWithAddresses(c.State.Pid)).flatMap((l) => l.addr_info ?? []));
                } catch {
                    found = []; // gone meanwhile: no addresses
                }
            }
            live.set(set.container, found);
        }
        const declared = set.declared.map((d) => formatAddress(parsePrefix(d)!));
        elements[set.name] = setElements([...found, ...declared].filter((a) => parsePrefix(a)?.family === set.family));
    }
    return elements;
}

/** Each set's elements as the live table holds them (a set that is gone: none). */
function liveElements(inputs: PolicyInputs, table: nft.NftTable): Elements {
    return Object.fromEntries(
        addressSets(inputs).map((s) => [s.name, setElements(table.sets.find((x) => x.name === s.name)?.elements ?? [])]),
    );
}

function applyText(inputs: PolicyInputs, existed: boolean): string {
    const sets = addressSets(inputs).length;
    const rules = tableListing(inputs).filter((l) => !l.startsWith("set ") && !l.startsWith("chain ")).length;
    return `${existed ? "replace" : "create"} nftables table inet ${inputs.table} (${sets} sets, ${rules} rules), marked as ${inputs.owner}, in one transaction (nft -f)`;
}

/** The host operations that write the table whole (create, update, or a leftover taken over). */
export function planApply(inputs: PolicyInputs, elements: Elements, existed: boolean): Plan {
    const text = applyText(inputs, existed);
    return {
        steps: [callStep(text, () => nft.applyScript(text, tableScript(inputs.table, nftMark(inputs.owner), inputs, elements)))],
    };
}

export function planDelete(props: PolicyOutputs): Plan {
    const text = `delete nftables table inet ${props.table}`;
    return { steps: [callStep(text, () => nft.applyScript(text, deleteScript(props.table)))] };
}

/** For people: what each set holds (`olds`: what it held). */
function setLines(inputs: PolicyInputs, olds?: PolicyOutputs): string[] {
    const lines: string[] = [];
    for (const s of addressSets(inputs)) {
        const before = olds?.sets?.[s.name];
        const after = olds?.resolved?.[s.name] ?? before;
        if (before === undefined) {
            lines.push(`set ${s.name}: the IPv${s.family} addresses of ${s.label}, found when the table is written`);
        } else if (!sameValue(before, after)) {
            lines.push(`set ${s.name} (${s.label}): ${before.join(", ") || "(empty)"} -> ${after!.join(", ") || "(empty)"}`);
        }
    }
    return lines;
}

function changeLines(before: readonly string[], after: readonly string[]): string[] {
    return listingChanges(before, after).map((l) => (l.startsWith("- ") ? `remove: ${l.slice(2)}` : `add: ${l.slice(2)}`));
}

/** For the preview report: what a change would run, with nothing observed; rules and sets in nft's syntax. */
export function describeChange(op: "create" | "update" | "delete", olds?: PolicyOutputs, news?: PolicyInputs): string[] {
    if (op === "delete") return describe(planDelete(olds!));
    if (!isKnown(news!.rules) || !isKnown(news!.isolate)) {
        const text = `${op === "create" ? "create" : "replace"} nftables table inet ${news!.table}, marked as ${news!.owner}, in one transaction (nft -f)`;
        return [text, "its rules are known once the containers they name are made (they are created or replaced in this up)"];
    }
    if (op === "create") return [...describe(planApply(news!, {}, false)), ...setLines(news!), ...changeLines([], tableListing(news!))];
    const before = olds!.live ?? olds!.listing ?? tableListing(olds!);
    return [...describe(planApply(news!, {}, true)), ...setLines(news!, olds), ...changeLines(before, tableListing(news!))];
}

/** The shared host rules (engine/rules.ts) that `hostFailures` runs, for `check` and `create` alike. */
export const hostRules: readonly RuleName[] = ["claimed-twice", "name-taken", "container-usable", "bridge-exists"];

/**
 * What the host says against these inputs, before anything is touched: nft
 * is installed, the table's name is free (or this Policy's), the containers
 * and bridges named exist (or the stack makes them), no container shares the
 * host's namespace, a network's bridge is found, and bridged traffic reaches
 * nftables where the policy depends on it.
 */
async function hostFailures(
    inputs: PolicyInputs,
    olds?: Partial<PolicyInputs>,
): Promise<{ failures: InputFailure[]; inputs: PolicyInputs }> {
    const failures: InputFailure[] = [];
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    if (isKnown(inputs.owner) && isKnown(inputs.table)) {
        push(failures, claimedTwice("table", `\`table\` ${inputs.table}`, claim("nft-table", [inputs.table], inputs.owner)));
    }
    // A network named by name is resolved to its bridge here, so that the rule's text (and the preview) says which.
    // Not known yet in a preview (the ids of containers still to be made): checked at create.
    const given = Array.isArray(inputs.rules) ? inputs.rules : [];
    const isolate = Array.isArray(inputs.isolate) && isKnown(inputs.isolate) ? inputs.isolate : [];
    const rules: PolicyRule[] = [];
    for (const [i, rule] of given.entries()) {
        if (typeof rule !== "object" || rule === null) {
            rules.push(rule);
            continue;
        }
        const resolved = { ...rule };
        for (const side of ["from", "to"] as const) {
            const e = rule[side];
            if (e?.network === undefined || !isKnown(e.network)) continue;
            const n = await networks.inspectNetwork(e.network);
            if (!n) {
                if (!isClaimed("network", e.network))
                    fail(
                        "rules",
                        `\`rules[${i}].${side}.network\` "${e.network}" does not exist; create it first, or pass the Network resource`,
                    );
                continue;
            }
            if (n.Driver !== "bridge") {
                fail(
                    "rules",
                    `\`rules[${i}].${side}.network\` "${e.network}" has driver ${n.Driver}, not bridge: it has no Linux bridge to filter; name its containers or its subnet instead`,
                );
                continue;
            }
            resolved[side] = { ...e, bridge: networks.bridgeOfNetwork(n) };
        }
        rules.push(resolved);
    }
    const out: PolicyInputs = Array.isArray(inputs.rules) ? { ...inputs, rules } : inputs;
    const unchanged =
        olds &&
        Object.keys(olds).length > 0 &&
        sameValue(olds.rules, out.rules) &&
        sameValue(olds.isolate, out.isolate) &&
        olds.table === out.table;
    if (unchanged) return { failures, inputs: out };

    try {
        await nft.nftVersion();
    } catch (err) {
        if (!(err instanceof ToolMissingError)) throw err;
        fail(
            "table",
            "nft is not installed on this host: a Policy keeps its rules in an nftables table; install it (Debian: apt-get install nftables)",
        );
        return { failures, inputs: out };
    }
    if (isKnown(inputs.table) && isKnown(inputs.owner)) {
        const table = await nft.readTable(inputs.table);
        const holder = table && !isOurs(table, inputs.owner) ? { mark: table.comment ?? null } : undefined;
        push(failures, nameTaken("table", "table", inputs.table, "in nftables family inet", holder));
    }
    const bridges = new Map<string, string>(); // bridge -> the first input naming it
    for (const [i, rule] of rules.entries()) {
        for (const side of ["from", "to"] as const) {
            const e = rule[side];
            if (!e || !isKnown(e)) continue;
            if (e.container !== undefined) {
                const c = await docker.inspectContainer(e.container);
                const how = { use: "policyEndpoint" as const, running: false, shown: c ? (e.name ?? e.container) : e.container };
                push(failures, containerUsable("rules", `rules[${i}].${side}.container`, e.container, c, how));
            }
            if (e.bridge !== undefined && !bridges.has(e.bridge)) bridges.set(e.bridge, `rules[${i}].${side}.bridge`);
        }
    }
    for (const [i, b] of isolate.entries()) if (!bridges.has(b)) bridges.set(b, `isolate[${i}]`);
    for (const [b, field] of bridges) {
        const link = await ip.getLink(b);
        push(
            failures,
            bridgeExists(
                field.startsWith("isolate") ? "isolate" : "rules",
                field,
                b,
                link && { kind: link.linkinfo?.info_kind ?? "plain" },
            ),
        );
    }
    // Traffic between the ports of one bridge reaches the forward hook only through br_netfilter, which Docker turns on.
    const bridged = isolate.length > 0;
    if (bridged || rules.length > 0) {
        const off = [];
        for (const family of [4, 6] as const) if ((await readSysctl(BR_NETFILTER[family])) !== "1") off.push(BR_NETFILTER[family]);
        if (off.length > 0) {
            const why = `${off.join(" and ")} ${off.length > 1 ? "are" : "is"} not 1 on this host (br_netfilter not loaded, or turned off; Docker turns it on when it runs): traffic between the ports of one bridge does not reach nftables`;
            if (bridged && off.includes(BR_NETFILTER[4]))
                fail(
                    "isolate",
                    `\`isolate\` cannot keep a bridge's ports apart: ${why}; load br_netfilter and set it to 1, or leave \`isolate\` out`,
                );
            else warn(`Policy table ${inputs.table}: ${why}; its rules act only on traffic routed between bridges`);
        }
    }
    return { failures, inputs: out };
}

/** Reads the live table: undefined when it is gone or not this resource's. */
async function liveOf(props: PolicyOutputs): Promise<PolicyOutputs | undefined> {
    const table = await nft.readTable(props.table);
    if (!isOurs(table, props.owner)) return undefined;
    const listing = nft.listingOf(table!);
    const sets = liveElements(props, table!);
    const resolved = await resolveElements(props);
    const live: PolicyOutputs = { ...props, sets, resolved: sameValue(resolved, sets) ? undefined : resolved, live: undefined };
    if (!sameValue(listing, props.listing)) live.live = listing;
    return live;
}

/** Writes the table and reads it back: the outputs. */
async function apply(inputs: PolicyInputs): Promise<PolicyOutputs> {
    const existing = await nft.readTable(inputs.table);
    if (existing && !isOurs(existing, inputs.owner)) {
        throw new Error(
            `failed to write nftables table inet ${inputs.table}: a table of that name exists and is not this Policy's (${existing.comment ? `its comment: "${existing.comment}"` : "no owner mark"}); choose another \`table\``,
        );
    }
    const elements = await resolveElements(inputs);
    await execute(planApply(inputs, elements, existing !== undefined));
    let table: nft.NftTable | undefined;
    try {
        table = await nft.readTable(inputs.table);
        if (!table)
            throw new Error(
                `failed to read nftables table inet ${inputs.table} back after writing it: it is gone; run \`pulumi up\` again`,
            );
    } catch (err) {
        // A create that fails leaves nothing behind: the table it just wrote goes (an update's stays, for the next up to rewrite).
        if (!existing) await execute(planDelete({ ...inputs, sets: {}, listing: [] })).catch(() => undefined);
        throw err;
    }
    return definedOnly({ ...inputs, sets: liveElements(inputs, table), listing: nft.listingOf(table) });
}

export const policyProvider: pulumi.dynamic.ResourceProvider<PolicyInputs, PolicyOutputs> = {
    async check(olds, news) {
        const failures = checkPolicyInputs({ ...news });
        if (failures.length > 0) return { inputs: news, failures };
        const checked = await hostFailures(news, olds);
        return { inputs: checked.inputs, failures: checked.failures };
    },

    async diff(_id, olds, news) {
        const replaces = (["table", "owner"] as const).filter((k) => olds[k] !== news[k]);
        const changes =
            replaces.length > 0 ||
            RULE_INPUTS.some((k) => !sameValue(olds[k], news[k])) ||
            olds.live !== undefined ||
            (olds.resolved !== undefined && !sameValue(olds.resolved, olds.sets));
        // Both tables may stand for a moment: their drops add up, nothing is let through that either refuses.
        return { changes, replaces, deleteBeforeReplace: false };
    },

    async create(inputs) {
        const checked = await hostFailures(inputs);
        if (checked.failures.length > 0) throw failuresError(`write the Policy's nftables table inet ${inputs.table}`, checked.failures);
        const outs = await apply(checked.inputs);
        return { id: inputs.table, outs };
    },

    async read(id, stored) {
        const live = await liveOf(storedProps(stored));
        return live ? { id, props: definedOnly(live) } : {};
    },

    async update(_id, _olds, news) {
        return { outs: await apply(news) };
    },

    async delete(_id, props) {
        // Never a table this resource did not make: the comment is its mark.
        if (isOurs(await nft.readTable(props.table), props.owner)) await execute(planDelete(props));
    },
};
