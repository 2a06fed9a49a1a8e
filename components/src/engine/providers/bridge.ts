// Bridge, engine side: a plain Linux bridge, created by the stack or adopted
// (docker0, a Docker network's bridge, one made by hand or by another stack).
//
// Ownership is explicit. A created bridge carries the owner mark as its
// interface alias and a fixed MAC; it is deleted on destroy, unless ports of
// other stacks (or foreign ones) are still on it. An adopted bridge is never
// deleted: destroy only takes back the addresses this resource added to it.
// An address carries no mark, so each one added to an adopted bridge is
// recorded on the host before it is added (host/records.ts): what a killed
// run added is recognised by its record and taken back, and an address
// without this resource's record (or its state's word) is never removed.
// Two stacks sharing a bridge cannot race: one creates it, the others adopt.
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import * as addr from "../../common/address";
import { describeOwner, isOwnedBy, markedByMac, parseOwnerMark, sameStack } from "../../common/naming";
import { BridgeInputs, BridgeOutputs, checkBridgeInputs } from "../../common/specs/bridge";
import { failuresError, InputFailure, isKnown } from "../../common/validation";
import { addressHeld, claimedTwice, nameTaken, push, RuleName } from "../rules";
import { ExistsError, NotSupportedError } from "../../host/errors";
import * as firewall from "../../host/firewall";
import * as ip from "../../host/ip";
import { kernelHasBridgeVlanFiltering } from "../../host/linkKinds";
import { dadStep, enableIPv6Step } from "../addressing";
import * as records from "../../host/records";
import { hostAddresses } from "../observe";
import { theKernel } from "../parent";
import { callStep, describe, execute, HOST, ipStep, making, Plan, Step, undoneBy } from "../plan";
import { claim, declare } from "../registry";
import { definedOnly, sameValue, storedProps } from "./props";

type LinkWithAddresses = ip.LinkInfo & { addr_info: ip.AddressInfo[] };

function bridgeWithAddresses(name: string): Promise<LinkWithAddresses | undefined> {
    return ip.getLinkWithAddresses(name);
}

/** True when a bridge is this resource's: marked as such, or made by it and not marked yet (an interrupted create). */
function ownBridge(link: ip.LinkInfo | undefined, owner: string): boolean {
    return link !== undefined && (isOwnedBy(link.ifalias, owner) || markedByMac(link, owner, "bridge"));
}

/** Whether the resource adopts: stacks deployed before 0.2 have no `adopt` input and recorded it as `adopted`. */
function adopts(inputs: BridgeInputs, olds?: BridgeOutputs): boolean {
    return inputs.adopt ?? olds?.adopted ?? false;
}

/** The settings a bridge has now, as far as known (from the host, or from the last refresh). */
interface LiveSettings {
    mac?: string;
    mtu?: number;
    up?: boolean;
    stp?: boolean;
    vlanFiltering?: boolean;
}

/**
 * What an adopted bridge holds of this resource's, as read before a change:
 * its ifindex, and the addresses this resource recorded on it (host/
 * records.ts: it added them, or a killed run was about to).
 */
export interface Adoption {
    /** Unknown when the plan is only described (a preview report). */
    ifindex?: number;
    /** Addresses with a record of this resource's on this bridge. */
    recorded: string[];
    /** Addresses with a record of this resource's on an earlier bridge of that name (deleted, made again): taken back. */
    stale: string[];
}

/** An adoption with nothing recorded (a bridge this resource has not touched yet, or a described plan). */
const NOTHING_RECORDED: Adoption = { recorded: [], stale: [] };

/** What the records say about this resource on bridge `name` (whose ifindex is `ifindex`). */
export function adoptionOf(all: records.AddressRecord[], name: string, ifindex: number, owner: string): Adoption {
    const mine = all.filter((r) => r.bridge === name && r.owner === owner);
    return {
        ifindex,
        recorded: mine.filter((r) => r.ifindex === ifindex).map((r) => r.cidr),
        stale: mine.filter((r) => r.ifindex !== ifindex).map((r) => r.cidr),
    };
}

function recordStep(name: string, owner: string, a: string, adoption: Adoption): Step {
    return callStep(`record that ${owner} adds address ${a} to bridge ${name}`, () =>
        records.writeAddressRecord(`record that ${owner} adds address ${a} to bridge ${name}`, {
            bridge: name,
            ifindex: adoption.ifindex!,
            cidr: a,
            owner,
        }),
    );
}

function forgetStep(name: string, a: string): Step {
    const text = `take back the record of address ${a} on bridge ${name}`;
    return callStep(text, () => records.removeAddressRecord(text, name, a));
}

/**
 * The steps that change a bridge's addresses to `want`'s; `managed` are the
 * addresses they may remove. On an adopted bridge (`adoption`), each address
 * The steps that change a bridge's addresses to `want`'s; `managed` are the
 * addresses they may remove (addresses compared in either spelling). On an
 * adopted bridge (`adoption`), each address is recorded before it is added
 * and its record taken back after it is removed; a step that fails takes
 * back what the steps before it added. On a created bridge (no `adoption`),
 * IPv6 is turned on for it when an IPv6 address is added; an adopted one is
 * left as it is.
 */
function addressSteps(want: BridgeInputs, liveAddresses: string[], managed: string[], adoption?: Adoption): Step[] {
    const name = want.name;
    const key = addr.canonical;
    const wanted = (want.addresses ?? []).map(key);
    const there = liveAddresses.map(key);
    const recorded = adoption?.recorded ?? [];
    const isRecorded = (a: string) => recorded.some((r) => key(r) === key(a));
    const steps: Step[] = [];
    for (const a of adoption?.stale ?? []) steps.push(forgetStep(name, a));
    const seen = new Set<string>();
    for (const a of [...managed, ...recorded]) {
        if (seen.has(key(a))) continue;
        seen.add(key(a));
        if (wanted.includes(key(a))) continue;
        if (there.includes(key(a))) steps.push(ipStep(`remove address ${a} from bridge ${name}`, HOST, [ip.deleteAddress(name, a)]));
        if (isRecorded(a)) steps.push(forgetStep(name, a));
    }
    const added = missingAddresses(want, liveAddresses);
    const enable = adoption ? undefined : enableIPv6Step(HOST, name, added);
    if (enable) steps.push(enable);
    for (const a of added) {
        // An IPv6 address there already failed duplicate detection (a refresh saw it gone): the wait after it says so.
        const command = addr.familyOf(a) === 6 ? { ...ip.addAddress(name, a), existsOk: true } : ip.addAddress(name, a);
        const add = ipStep(`add address ${a} to bridge ${name}`, HOST, [command]);
        if (!adoption) {
            steps.push(add);
            continue;
        }
        if (!isRecorded(a)) steps.push(undoneBy(recordStep(name, want.owner, a, adoption), forgetStep(name, a)));
        steps.push(undoneBy(add, ipStep(`remove address ${a} from bridge ${name}`, HOST, [ip.deleteAddress(name, a)])));
    }
    return steps;
}

/** The addresses of `want` the bridge does not have (either spelling). */
function missingAddresses(want: BridgeInputs, liveAddresses: string[]): string[] {
    const there = liveAddresses.map(addr.canonical);
    return (want.addresses ?? []).filter((a) => !there.includes(addr.canonical(a)));
}

/**
 * The steps that bring a bridge's settings to `want`; `managed` are the
 * addresses they may remove (`adoption`: see addressSteps). A setting
 * `live` already has is not set again. New IPv6 addresses are waited for
 * (duplicate address detection) while the bridge has carrier; without it (a
 * bridge with no port: one made with a fixed MAC has no carrier until its
 * first port joins) detection runs when a port joins, and a duplicate then
 * shows at the next refresh.
 */
function convergeSteps(
    want: BridgeInputs,
    liveAddresses: string[],
    managed: string[],
    live: LiveSettings = {},
    adoption?: Adoption,
): Step[] {
    const name = want.name;
    const steps = addressSteps(want, liveAddresses, managed, adoption);
    const differs = <T>(wanted: T | undefined, now: T | undefined): T | undefined =>
        wanted !== undefined && wanted !== now ? wanted : undefined;
    const stp = differs(want.stp, live.stp);
    const vlanFiltering = differs(want.vlanFiltering, live.vlanFiltering);
    const options = ip.setBridgeOptions(name, { stp, vlanFiltering });
    if (options) {
        const what = [
            stp === undefined ? "" : `STP ${stp ? "on" : "off"}`,
            vlanFiltering === undefined ? "" : `VLAN filtering ${vlanFiltering ? "on" : "off"}`,
        ];
        steps.push(
            ipStep(`set ${what.filter(Boolean).join(", ")} on bridge ${name}`, HOST, [
                { ...options, explain: (err) => vlanExplained(name, want, err) },
            ]),
        );
    }
    const mac = differs(want.mac, live.mac);
    const mtu = differs(want.mtu, live.mtu);
    const up = differs(want.up, live.up);
    const settings = [mtu === undefined ? "" : `MTU ${mtu}`, mac ? `MAC ${mac}` : "", up === undefined ? "" : up ? "up" : "down"].filter(
        Boolean,
    );
    if (settings.length > 0) steps.push(ipStep(`set ${settings.join(", ")} on bridge ${name}`, HOST, [ip.setLink(name, { mtu, mac, up })]));
    const dad = (want.up ?? true) ? dadStep(HOST, name, missingAddresses(want, liveAddresses), `bridge ${name}`, true) : undefined;
    if (dad) steps.push(dad);
    return steps;
}

/** The chain named for people where it is not known yet (a preview): the provider picks it when it runs. */
const SOME_CHAIN = `${firewall.DOCKER_USER} (FORWARD without Docker)`;

/** The step that accepts traffic between the bridge's ports: one firewall rule marked with the owner. */
function acceptStep(name: string, owner: string, chain: string | undefined): Step {
    const text = `accept traffic between the ports of bridge ${name} (firewall rule in ${chain ?? SOME_CHAIN}, marked as ${owner})`;
    return callStep(text, () => firewall.acceptForwarding(text, chain!, name, owner));
}

/** The step that takes the bridge's firewall rule back (a rule already gone is fine). */
function dropRuleStep(name: string, owner: string, chain: string): Step {
    const text = `remove the firewall rule of bridge ${name} from ${chain}`;
    return callStep(text, () => firewall.stopAcceptingForwarding(text, chain, name, owner));
}

/** A bridge's settings as `ip -j -d link` reports them. */
function liveOf(link: ip.LinkInfo): LiveSettings {
    const data = link.linkinfo?.info_data;
    return {
        mac: link.address,
        mtu: link.mtu,
        up: link.flags.includes("UP"),
        stp: data?.stp_state === undefined ? undefined : data.stp_state !== 0,
        vlanFiltering: data?.vlan_filtering === undefined ? undefined : data.vlan_filtering !== 0,
    };
}

function vlanExplained(name: string, want: BridgeInputs, err: unknown): Error | undefined {
    if (!want.vlanFiltering || !(err instanceof NotSupportedError)) return undefined;
    return new Error(`failed to configure bridge "${name}": ${noVlanFiltering()}`, { cause: err });
}

/** The one wording of a kernel without bridge VLAN filtering, at preview (the host read) and where the kernel says so. */
function noVlanFiltering(): string {
    return `\`vlanFiltering\`: ${theKernel()} has no bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING); leave \`vlanFiltering\` unset or false, or run on a kernel built with it`;
}

/**
 * The host operations that create a bridge (`leftover`: this resource's own,
 * left by an interrupted run, is taken over). `chain`: where the forwarding
 * rule goes (undefined when only described).
 */
export function planCreate(inputs: BridgeInputs, leftover?: LinkWithAddresses, chain?: string): Plan {
    const name = inputs.name;
    const mark = ipStep(`mark bridge ${name} as ${inputs.owner}`, HOST, [ip.setLink(name, { alias: inputs.owner })]);
    const accept = inputs.forward ? [acceptStep(name, inputs.owner, chain)] : [];
    if (leftover) {
        const live = ip.addressCidrs(leftover.addr_info);
        return {
            steps: [
                ...(isOwnedBy(leftover.ifalias, inputs.owner) ? [] : [mark]),
                ...convergeSteps(inputs, live, live, liveOf(leftover)),
                ...accept,
            ],
        };
    }
    return {
        steps: [
            making(
                ipStep(`create bridge ${name}${inputs.mac ? ` with MAC ${inputs.mac}` : ""}`, HOST, [
                    {
                        ...ip.addBridge(name, inputs.mac),
                        explain: (err) =>
                            err instanceof ExistsError
                                ? new Error(
                                      `failed to create bridge "${name}": an interface of that name appeared meanwhile (another stack or a person made it); set \`adopt: true\` to use it, or choose another \`name\``,
                                      { cause: err },
                                  )
                                : undefined,
                    },
                ]),
            ),
            mark,
            ...convergeSteps({ ...inputs, mac: undefined }, [], []),
            ...accept,
        ],
        undo: [ipStep(`delete bridge ${name}`, HOST, [ip.deleteLink(name)])],
    };
}

/**
 * The host operations that adopt an existing bridge: only what the resource
 * manages. `adoption`: what this resource recorded on it before (a killed
 * run's addresses, taken over or taken back). A step that fails takes back
 * the addresses this adoption added; the bridge itself is not ours.
 */
export function planAdopt(
    inputs: BridgeInputs,
    liveAddresses: string[],
    live: LiveSettings = {},
    chain?: string,
    adoption: Adoption = NOTHING_RECORDED,
): Plan {
    return {
        steps: [
            ...convergeSteps({ ...inputs, mac: undefined }, liveAddresses, [], live, adoption),
            ...(inputs.forward ? [acceptStep(inputs.name, inputs.owner, chain)] : []),
        ],
    };
}

/** The addresses of `want` this resource has added to an adopted bridge, after a change: not there before it, or recorded as its own. */
function addedAfter(want: BridgeInputs, liveBefore: string[], ownBefore: string[]): string[] {
    const key = addr.canonical;
    const has = (list: string[], a: string) => list.some((l) => key(l) === key(a));
    return (want.addresses ?? []).filter((a) => !has(liveBefore, a) || has(ownBefore, a));
}

/**
 * True when the resource leaves the bridge's MAC as it is: an adopted bridge,
 * or one recorded without a MAC (created before bridges had a fixed one).
 * Changing a live bridge's MAC would leave its neighbours' ARP caches wrong,
 * so such a bridge gets the fixed MAC only when it is created again.
 */
function keepsMac(olds: BridgeOutputs): boolean {
    return olds.adopted || olds.mac === undefined;
}

/**
 * `chain`: where a forwarding rule the update adds goes (undefined when only
 * described). A rule the last refresh found gone is recorded as `forward:
 * false`, so the update puts it back.
 */
export function planUpdate(
    olds: BridgeOutputs,
    news: BridgeInputs,
    liveAddresses: string[],
    live: LiveSettings,
    chain?: string,
    adoption: Adoption = { recorded: olds.addedAddresses, stale: [] },
    leftover?: LinkWithAddresses,
): Plan {
    // Found gone (deleted by hand) with its firewall rule left: made again (`leftover`: as a create finds it).
    if (olds.gone && !olds.adopted) {
        const made = planCreate({ ...news, forward: false }, leftover);
        const steps = [...made.steps];
        if (news.forward) steps.push(acceptStep(news.name, news.owner, chain));
        else if (olds.forwardChain) steps.push(dropRuleStep(olds.name, olds.owner, olds.forwardChain));
        return { steps, undo: made.undo };
    }
    // On an adopted bridge only addresses this resource added may go; the rest were there before it.
    const managed = olds.adopted ? olds.addedAddresses : liveAddresses;
    const want = keepsMac(olds) ? { ...news, mac: undefined } : news;
    const steps = convergeSteps(want, liveAddresses, managed, live, olds.adopted ? adoption : undefined);
    if (news.forward && !olds.forward) steps.push(acceptStep(news.name, news.owner, chain));
    if (!news.forward && olds.forwardChain) steps.push(dropRuleStep(olds.name, olds.owner, olds.forwardChain));
    return { steps };
}

/**
 * `bridge`: false when the bridge is gone or not this resource's any more;
 * its firewall rule goes all the same. `adoption`: the addresses this
 * resource recorded on an adopted bridge (the state's are taken back too).
 */
export function planDelete(props: BridgeOutputs, bridge = true, adoption: Adoption = { recorded: props.addedAddresses, stale: [] }): Plan {
    const rule = props.forwardChain ? [dropRuleStep(props.name, props.owner, props.forwardChain)] : [];
    if (!bridge) return { steps: [...rule, ...adoption.stale.map((a) => forgetStep(props.name, a))] };
    if (props.adopted) {
        const steps: Step[] = [...rule];
        for (const a of adoption.stale) steps.push(forgetStep(props.name, a));
        for (const a of new Set([...props.addedAddresses, ...adoption.recorded])) {
            steps.push(
                ipStep(`remove address ${a} from bridge ${props.name} (adopted: the bridge stays)`, HOST, [
                    ip.deleteAddress(props.name, a),
                ]),
            );
            if (adoption.recorded.includes(a)) steps.push(forgetStep(props.name, a));
        }
        return { steps };
    }
    return { steps: [...rule, ipStep(`delete bridge ${props.name}`, HOST, [ip.deleteLink(props.name)])] };
}

/** For the preview report: what a change would run, with nothing observed. */
export function describeChange(op: "create" | "update" | "delete", olds?: BridgeOutputs, news?: BridgeInputs): string[] {
    if (op === "create") return describe(adopts(news!) ? planAdopt(news!, []) : planCreate(news!));
    if (op === "delete") return describe(planDelete(olds!));
    const last = { mac: olds!.mac, mtu: olds!.mtu, up: olds!.up, stp: olds!.stp, vlanFiltering: olds!.vlanFiltering };
    return describe(planUpdate(olds!, news!, olds!.addresses ?? [], last));
}

/**
 * What the host says against these inputs, before anything is touched: a
 * name taken by someone else (or, to adopt, a bridge that is not there), an
 * address already on another interface of the host, and the same name or
 * address twice in this stack.
 */
/** The shared host rules (engine/rules.ts) that `hostFailures` runs, for `check` and `create` alike. */
export const hostRules: readonly RuleName[] = ["claimed-twice", "name-taken", "address-held"];

async function hostFailures(inputs: BridgeInputs, olds?: Partial<BridgeInputs>, stored?: BridgeOutputs): Promise<InputFailure[]> {
    const failures: InputFailure[] = [];
    const known = isKnown;
    if (!known(inputs.owner) || !known(inputs.name)) return failures;
    push(failures, claimedTwice("name", `\`name\` "${inputs.name}"`, claim("bridge", [inputs.name], inputs.owner)));
    const addresses = known(inputs.addresses) ? (inputs.addresses ?? []) : [];
    // Attachments on this bridge are judged against the addresses it is about to have.
    if (known(inputs.addresses) && inputs.addresses !== undefined && !adopts(inputs))
        declare("bridge-cidrs", inputs.name, inputs.addresses);
    const otherAddress = claim(
        "address@any",
        addresses.map((a) => addr.canonical(addr.addressPart(a))),
        inputs.owner,
    );
    push(failures, claimedTwice("addresses", `an address in \`addresses\` of bridge ${inputs.name}`, otherAddress));

    // Read from the host (a probe in a throw-away namespace, once per process): refused before anything is made.
    if (inputs.vlanFiltering === true && (await kernelHasBridgeVlanFiltering()) === false)
        failures.push({ property: "vlanFiltering", reason: noVlanFiltering() });

    const unchanged =
        olds && Object.keys(olds).length > 0 && (["name", "addresses", "adopt"] as const).every((k) => sameValue(olds[k], inputs[k]));
    if (unchanged) return failures;

    const link = await bridgeWithAddresses(inputs.name);
    const adopt = adopts(inputs, stored);
    if (adopt && !link) {
        failures.push({
            property: "name",
            reason: `\`name\` "${inputs.name}": there is no such bridge to adopt; create it first (the stack that owns it, with a Bridge without \`adopt\`), or drop \`adopt\``,
        });
    }
    const notBridge = link !== undefined && link.linkinfo?.info_kind !== "bridge";
    const kind = link?.linkinfo?.info_kind ?? "plain";
    push(failures, nameTaken("name", "name", inputs.name, `on the host by a ${kind} interface, not a bridge`, notBridge ? {} : undefined));
    if (link && !notBridge && !adopt && !ownBridge(link, inputs.owner)) {
        const whose = link.ifalias ? `created by ${describeOwner(link.ifalias)}` : "not made by this library";
        failures.push({
            property: "adopt",
            reason: `bridge "${inputs.name}" exists already (${whose}); set \`adopt: true\` to use it without owning it (it is then never deleted), or choose another \`name\``,
        });
    }
    if (adopt && link?.linkinfo?.info_kind === "bridge") {
        // An address to add that another resource recorded on this bridge, but is not there: a run of that resource was interrupted.
        const live = ip.addressCidrs(link.addr_info);
        const missing = addresses.filter((a) => !live.includes(a));
        const held =
            missing.length === 0
                ? undefined
                : (await records.listAddressRecords()).find(
                      (r) => r.bridge === inputs.name && r.ifindex === link.ifindex && r.owner !== inputs.owner && missing.includes(r.cidr),
                  );
        if (held) {
            const stack = parseOwnerMark(held.owner);
            failures.push({
                property: "addresses",
                reason:
                    `\`addresses\`: ${held.cidr} is recorded on bridge ${inputs.name} as added by ${describeOwner(held.owner)}, but is not there (a run of it was interrupted); ` +
                    `let that stack's next \`up\` or \`destroy\` finish, or remove the record with \`hostnet gc --stack ${stack?.stack ?? "<stack>"} --delete\`${stack ? ` (project ${stack.project})` : ""}; or choose another address`,
            });
        }
    }
    if (addresses.length > 0) {
        const elsewhere = (await hostAddresses()).filter(
            (h) => h.ifname !== inputs.name && addresses.some((a) => addr.sameAddress(addr.addressPart(a), addr.addressPart(h.cidr))),
        );
        const [held] = elsewhere;
        push(failures, addressHeld("addresses", `\`addresses\` ${held?.cidr}`, "on this host", held && `interface ${held.ifname}`));
    }
    return failures;
}

/** Ports on a created bridge that are neither this stack's nor going away with it: they keep it alive. */
async function foreignPorts(props: BridgeOutputs): Promise<string[]> {
    const links = await ip.listLinksWithAddresses();
    return links
        .filter((l) => l.master === props.name && !sameStack(l.ifalias, props.owner))
        .map((l) => `${l.ifname} (${l.ifalias ? describeOwner(l.ifalias) : "not made by this library"})`);
}

export const bridgeProvider: pulumi.dynamic.ResourceProvider<BridgeInputs, BridgeOutputs> = {
    async check(olds, news) {
        // The kernel reports MACs in lower case and IPv6 addresses in RFC 5952's form: store them so, or every refresh would differ.
        const inputs = { ...news };
        if (typeof news.mac === "string") inputs.mac = news.mac.toLowerCase();
        if (Array.isArray(news.addresses)) inputs.addresses = news.addresses.map((a) => (typeof a === "string" ? addr.canonical(a) : a));
        const failures = checkBridgeInputs({ ...inputs });
        if (failures.length === 0) failures.push(...(await hostFailures(inputs, olds)));
        return { inputs, failures };
    },

    async diff(_id, olds, news) {
        const replaces: string[] = (["name", "owner"] as const).filter((k) => olds[k] !== news[k]);
        // Created and adopted are different lives: switching is a replacement (an adopted bridge is not deleted).
        if (news.adopt !== undefined && news.adopt !== olds.adopted) replaces.push("adopt");
        const inPlace =
            (["addresses", "mtu", "stp", "vlanFiltering", "up", "forward"] as const).some(
                (k) => news[k] !== undefined && !sameValue(olds[k], news[k]),
            ) ||
            (news.addresses === undefined && (olds.addresses ?? []).length > 0 && !olds.adopted) ||
            (!keepsMac(olds) && news.mac !== undefined && news.mac !== olds.mac) ||
            // Found gone with its firewall rule left (made again), or holding an address it added that the program no longer has.
            olds.gone === true ||
            (olds.adopted && (olds.addedAddresses ?? []).some((a) => !(news.addresses ?? []).includes(a)));
        // An adopted bridge is not deleted, so the replacement may be created first.
        return { changes: replaces.length > 0 || inPlace, replaces, deleteBeforeReplace: !olds.adopted };
    },

    async create(inputs) {
        const failures = await hostFailures(inputs);
        if (failures.length > 0) throw failuresError(`set up bridge "${inputs.name}"`, failures);
        const existing = await bridgeWithAddresses(inputs.name);
        const forwardChain = inputs.forward ? await firewall.forwardChain() : undefined;
        if (adopts(inputs) && existing) {
            const before = ip.addressCidrs(existing.addr_info);
            // Addresses an interrupted run of this resource recorded: taken over when still declared, else taken back.
            const adoption = adoptionOf(await records.listAddressRecords(), inputs.name, existing.ifindex, inputs.owner);
            await execute(planAdopt(inputs, before, liveOf(existing), forwardChain, adoption));
            const added = addedAfter(inputs, before, adoption.recorded);
            const outs: BridgeOutputs = { ...inputs, mac: undefined, adopted: true, addedAddresses: added, forwardChain };
            return { id: inputs.name, outs: definedOnly(outs) };
        }
        // A bridge of this very resource's is a leftover of an interrupted run: taken over, not adopted.
        const leftover = ownBridge(existing, inputs.owner) ? existing : undefined;
        await execute(planCreate(inputs, leftover, forwardChain));
        return { id: inputs.name, outs: definedOnly({ ...inputs, adopted: false, addedAddresses: [], forwardChain }) };
    },

    async read(id, stored) {
        const props = storedProps(stored);
        const link = await bridgeWithAddresses(props.name);
        if (!link || link.linkinfo?.info_kind !== "bridge" || (!props.adopted && !isOwnedBy(link.ifalias, props.owner))) {
            // The bridge is gone (or another's now), but its firewall rule, marked as this resource's, may be left: then the
            // resource stays in the state, as gone, so that `up` makes the bridge again and a delete takes the rule back.
            const rule = props.forward && props.forwardChain !== undefined;
            if (rule && (await firewall.hasForwardRule(props.forwardChain!, props.name, props.owner)))
                return { id, props: definedOnly({ ...props, gone: true }) };
            return {};
        }
        // Link-local IPv6 addresses are the kernel's (and Docker's fe80::1 on docker0): never drift.
        const addresses = ip.addressCidrs(link.addr_info);
        const data = link.linkinfo?.info_data ?? {};
        // On an adopted bridge, an address a killed run of this resource added is known by its record: it is this resource's.
        const allRecords = await records.listAddressRecords();
        const recorded = props.adopted ? adoptionOf(allRecords, props.name, link.ifindex, props.owner).recorded : [];
        // On a created bridge, an address another stack's adoption of it recorded is that stack's, not drift.
        const othersOnIt = allRecords
            .filter((r) => r.bridge === props.name && r.ifindex === link.ifindex && r.owner !== props.owner)
            .map((r) => addr.canonical(r.cidr));
        const live: BridgeOutputs = {
            ...props,
            gone: undefined,
            addedAddresses: [...new Set([...(props.addedAddresses ?? []), ...recorded.filter((a) => addresses.includes(a))])],
            // A created bridge is wholly ours: addresses added by hand are drift. On an adopted one, only ours count.
            addresses: props.adopted
                ? (props.addresses ?? []).filter((a) => addresses.includes(a))
                : [
                      ...(props.addresses ?? []).filter((a) => addresses.includes(a)),
                      ...addresses.filter((a) => !(props.addresses ?? []).includes(a) && !othersOnIt.includes(addr.canonical(a))),
                  ],
            up: link.flags.includes("UP"),
        };
        if (props.addresses === undefined && props.adopted) live.addresses = undefined;
        if (props.mtu !== undefined) live.mtu = link.mtu;
        if (props.mac !== undefined && !props.adopted) live.mac = link.address;
        if (props.stp !== undefined) live.stp = (data.stp_state ?? 0) !== 0;
        if (props.vlanFiltering !== undefined) live.vlanFiltering = (data.vlan_filtering ?? 0) !== 0;
        if (props.forward) {
            // A rule removed by hand is drift: recorded as no forwarding, which the next update puts back.
            const there = props.forwardChain !== undefined && (await firewall.hasForwardRule(props.forwardChain, props.name, props.owner));
            if (!there) {
                live.forward = false;
                live.forwardChain = undefined;
            }
        }
        return { id, props: definedOnly(live) };
    },

    async update(_id, olds, news) {
        const link = await bridgeWithAddresses(news.name);
        const isBridge = link?.linkinfo?.info_kind === "bridge";
        if (olds.adopted && !isBridge) {
            throw new Error(
                `failed to update bridge "${news.name}": the bridge this resource adopts is gone (deleted by hand, or its Docker network removed); ` +
                    "make it again, or remove this Bridge from the program (its firewall rule goes with it)",
            );
        }
        // Gone (deleted by hand: the last refresh found only its firewall rule): made again, taking over what an
        // interrupted run of this very update made.
        const gone = !olds.adopted && !(isBridge && isOwnedBy(link.ifalias, olds.owner));
        const leftover = gone && isBridge && ownBridge(link, olds.owner) ? link : undefined;
        const live = link && !gone ? ip.addressCidrs(link.addr_info) : [];
        // A rule there already stays in its chain; a new one goes where the firewall says now.
        const kept = olds.forward && olds.forwardChain !== undefined;
        const forwardChain = !news.forward ? undefined : kept ? olds.forwardChain : await firewall.forwardChain();
        const adoption = olds.adopted ? adoptionOf(await records.listAddressRecords(), news.name, link!.ifindex, olds.owner) : undefined;
        await execute(planUpdate({ ...olds, gone }, news, live, link && !gone ? liveOf(link) : {}, forwardChain, adoption, leftover));
        const added = olds.adopted ? addedAfter(news, live, [...olds.addedAddresses, ...adoption!.recorded]) : [];
        return {
            outs: definedOnly({
                ...news,
                mac: keepsMac(olds) && !gone ? undefined : news.mac,
                adopted: olds.adopted,
                addedAddresses: added,
                forwardChain,
            }),
        };
    },

    async delete(_id, props) {
        const link = await ip.getLink(props.name);
        const bridge = link?.linkinfo?.info_kind === "bridge" ? link : undefined;
        // What this resource recorded on an adopted bridge; with the bridge gone, its records are stale.
        const adoption = props.adopted
            ? adoptionOf(await records.listAddressRecords(), props.name, bridge?.ifindex ?? -1, props.owner)
            : undefined;
        // Gone, or not ours (any more): never deleted; its firewall rule (marked as ours) goes all the same.
        if (!bridge || (!props.adopted && !isOwnedBy(bridge.ifalias, props.owner))) return execute(planDelete(props, false, adoption));
        if (!props.adopted) {
            const others = await foreignPorts(props);
            if (others.length > 0) {
                throw new Error(
                    `failed to delete bridge "${props.name}": ports of others are still on it: ${others.join(", ")}; ` +
                        "remove them first (destroy the stacks that adopted this bridge), then run destroy again",
                );
            }
        }
        await execute(planDelete(props, true, adoption));
    },
};
