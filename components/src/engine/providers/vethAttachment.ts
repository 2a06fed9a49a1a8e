// VethAttachment, engine side: a container's network interface on a host
// bridge. It does what section 4 of the seed does by hand (veth pair, host end
// on the bridge and up, peer in the container's namespace as eth0 with an
// address and a default route), reads it back, changes it in place and
// removes it.
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import * as addr from "../../common/address";
import { defaultMac, isOwnedBy, markedByMac, sameStack } from "../../common/naming";
import {
    addressField,
    attachmentAddresses,
    checkVethAttachmentInputs,
    VethAttachmentInputs,
    VethAttachmentOutputs,
} from "../../common/specs/vethAttachment";
import { failuresError, InputFailure, inSubnet, isKnown } from "../../common/validation";
import { addressHeld, bridgeExists, claimedTwice, nameTaken, push, RuleName } from "../rules";
import * as docker from "../../host/docker";
import { ExistsError } from "../../host/errors";
import * as ip from "../../host/ip";
import { dadStep, enableIPv6Step, hasIPv6 } from "../addressing";
import { addressesOnBridges, bridgeState, dockerAllocationRanges, hasUnaccountedPorts, warn } from "../observe";
import { describe, execute, HOST, ipStep, making, Netns, Plan, Step } from "../plan";
import { claim, claimant, declaration } from "../registry";
import { containerFailure, containerNetns, defaultRouteFailure } from "./containerNetns";
import { attachmentCleanupSteps, attachmentHasIfb, attachmentSteps, bandwidthHostFailures, readAttachmentBandwidth } from "./shaping";
import { capsOf } from "../bandwidth";
import { sameBandwidth } from "../../common/specs/bandwidth";
import { definedOnly, sameValue, storedProps } from "./props";

const replaceOnChange = ["container", "bridge", "containerIfName", "hostIfName", "mac", "owner"] as const;

/** The inputs whose change makes the preview look at the host again. */
const hostChecked = [
    "container",
    "bridge",
    "address",
    "addresses",
    "gateway",
    "ipv6Gateway",
    "defaultRoute",
    "containerIfName",
    "hostIfName",
    "mac",
] as const;

type Family = addr.Family;
const FAMILIES: readonly Family[] = [4, 6];

/** The default gateways by family; "" for none. */
type Gateways = Record<Family, string>;

function ofFamily(cidrs: readonly string[], family: Family): string[] {
    return cidrs.filter((c) => addr.familyOf(c) === family);
}

/** True when both lists hold the same addresses with the same prefixes, whatever their order and text. */
function sameCidrs(a: readonly string[], b: readonly string[]): boolean {
    const key = (l: readonly string[]) => JSON.stringify(l.map(addr.canonical).sort());
    return key(a) === key(b);
}

/**
 * The bridge's address a default route of `family` goes through: its address
 * of that family whose subnet holds the attachment's first address of the
 * family, else its first of the family; "" when it has none.
 */
function bridgeGateway(bridgeCidrs: readonly string[], attachment: readonly string[], family: Family): string {
    const theirs = ofFamily(bridgeCidrs, family);
    const mine = ofFamily(attachment, family)[0];
    const home = mine === undefined ? undefined : theirs.find((c) => inSubnet(addr.addressPart(mine), c));
    return addr.canonical(addr.addressPart(home ?? theirs[0] ?? ""));
}

/** The bridge's addresses (both families, without link-local ones), or [] when there is no such link. */
async function bridgeCidrsOf(bridge: string): Promise<string[]> {
    return ip.addressCidrs(await ip.getAddresses(bridge));
}

/** The host end's MAC: derived from the owner mark, so that the end is known as this attachment's before it is marked. */
function hostMac(owner: string): string {
    return defaultMac(owner, "host");
}

/** True when the host end is this attachment's: marked as such, or made by it and not marked yet (an interrupted create). */
function ownHostEnd(link: ip.LinkInfo | undefined, owner: string): boolean {
    return link !== undefined && (isOwnedBy(link.ifalias, owner) || markedByMac(link, owner, "host"));
}

/** Reads an attachment back from the host, or undefined when it is not there (or not ours). */
async function readAttachment(props: VethAttachmentOutputs): Promise<VethAttachmentOutputs | undefined> {
    const host = await ip.getLink(props.hostIfName);
    if (!host || !isOwnedBy(host.ifalias, props.owner) || host.link_index === undefined) {
        return undefined;
    }
    const c = await docker.inspectContainer(props.containerId);
    if (!c || !c.State.Running || !c.State.Pid) {
        return undefined;
    }
    const pid = c.State.Pid;
    // Interface indexes are per namespace: the peer must point back at the host end too.
    const peer = (await ip.listLinksWithAddresses(pid)).find((l) => l.ifindex === host.link_index && l.link_index === host.ifindex);
    if (!peer) {
        return undefined;
    }
    // Link-local IPv6 addresses are the kernel's: never drift. An address that failed duplicate detection is as good as gone.
    const live = ip.addressCidrs(peer.addr_info);
    const has = (cidr: string) => live.some((l) => addr.canonical(l) === addr.canonical(cidr));
    const declared = attachmentAddresses(props);
    const v6 = hasIPv6(declared);
    const route = (await ip.getDefaultRoutes(pid)).find((r) => r.dev === peer.ifname);
    const route6 = v6 ? (await ip.getDefaultRoutes(pid, 6)).find((r) => r.dev === peer.ifname) : undefined;
    const bridge = host.master ?? "";
    const bridgeCidrs = bridge ? await bridgeCidrsOf(bridge) : [];
    const out: VethAttachmentOutputs = {
        ...props,
        bridge,
        containerIfName: peer.ifname,
        effectiveGateway: route?.gateway ?? "",
        bridgeAddress: bridgeGateway(bridgeCidrs, declared, 4) || props.bridgeAddress,
        up: host.flags.includes("UP") && peer.flags.includes("UP"),
    };
    if (props.addresses !== undefined) {
        // The list is the interface's addresses: one added by hand is drift too.
        out.addresses = [...declared.filter(has), ...live.filter((l) => !declared.some((d) => addr.canonical(d) === addr.canonical(l)))];
    } else if (props.address !== undefined) {
        out.address = has(props.address) ? props.address : (ofFamily(live, addr.familyOf(props.address) ?? 4)[0] ?? "");
    }
    if (v6) {
        out.effectiveIpv6Gateway = route6?.gateway ?? "";
        out.bridgeIpv6Address = bridgeGateway(bridgeCidrs, declared, 6) || props.bridgeIpv6Address;
    }
    if (props.mtu !== undefined) out.mtu = host.mtu;
    if (props.mac !== undefined) out.mac = peer.address;
    out.bandwidth = await readAttachmentBandwidth(props);
    return out;
}

/** The bridge's address of `family` last read (the default gateway's candidate). */
function lastBridgeAddress(olds: VethAttachmentOutputs, family: Family): string {
    return family === 4 ? olds.bridgeAddress : (olds.bridgeIpv6Address ?? "");
}

/**
 * The bridge address the default route of `family` goes through once this
 * change is made: the one last read, unless the program declares the
 * bridge's addresses without it (the bridge's own update takes it away
 * first), then the declared one in the attachment's subnet.
 */
function bridgeAddressAfter(olds: VethAttachmentOutputs, news: VethAttachmentInputs, family: Family): string {
    const declared = news.bridgeAddresses;
    const last = lastBridgeAddress(olds, family);
    if (!Array.isArray(declared) || declared.length === 0 || !isKnown(declared)) return last;
    const plain = ofFamily(declared, family).map((a) => addr.canonical(addr.addressPart(String(a))));
    return plain.includes(addr.canonical(last)) ? last : bridgeGateway(declared, attachmentAddresses(news), family);
}

/** The default gateways wanted, by family: the given ones, else the bridge's; none for a family without an address. */
function desiredGateways(news: VethAttachmentInputs, bridge: Gateways): Gateways {
    const list = attachmentAddresses(news);
    const want = (family: Family, given: string | undefined) =>
        news.defaultRoute === false || ofFamily(list, family).length === 0 ? "" : (given ?? bridge[family]);
    return { 4: want(4, news.gateway), 6: want(6, news.ipv6Gateway) };
}

function containerNs(inputs: VethAttachmentInputs, pid?: number): Netns {
    return { pid, label: `container "${inputs.container}"` };
}

function routeExplained(inputs: VethAttachmentInputs, family: Family) {
    const which = family === 4 ? "a default route" : "an IPv6 default route";
    return (err: unknown) =>
        err instanceof ExistsError
            ? new Error(
                  `failed to attach "${inputs.hostIfName}": container "${inputs.container}" already has ${which}; set \`defaultRoute: false\` on this attachment (or remove the other route)`,
                  { cause: err },
              )
            : undefined;
}

/** "default route" / "IPv6 default route", for step texts (IPv4's wording is the one reports always had). */
function routeName(family: Family): string {
    return family === 4 ? "default route" : "IPv6 default route";
}

/** The steps that give `dev` addresses: IPv6 on first when one is IPv6. */
function addAddressSteps(ctr: Netns, dev: string, cidrs: readonly string[], existsOk = false): Step[] {
    if (cidrs.length === 0) return [];
    const text = cidrs.length === 1 ? `add address ${cidrs[0]} to ${dev}` : `add addresses ${cidrs.join(", ")} to ${dev}`;
    return [
        ...[enableIPv6Step(ctr, dev, cidrs)].filter((s): s is Step => s !== undefined),
        ipStep(
            text,
            ctr,
            cidrs.map((c) => (existsOk ? { ...ip.addAddress(dev, c), existsOk: true } : ip.addAddress(dev, c))),
        ),
    ];
}

/** The host operations of a create. `gateways` "" means no default route of that family; `leftover`: this attachment's host end, left by an interrupted run, to remove first. */
export function planCreate(inputs: VethAttachmentInputs, ctr: Netns, gateways: Gateways, leftover = false): Plan {
    const host = inputs.hostIfName;
    const peer = inputs.containerIfName;
    const addresses = attachmentAddresses(inputs);
    const dad = dadStep(ctr, peer, addresses, `bridge ${inputs.bridge}`);
    return {
        steps: [
            ...(leftover ? [ipStep(`remove "${host}", left by an interrupted run of this attachment`, HOST, [ip.deleteLink(host)])] : []),
            making(
                ipStep(`create veth pair "${host}" (host) / "${peer}" (${ctr.label})`, HOST, [
                    ip.addVeth({
                        local: { name: host, mac: hostMac(inputs.owner) },
                        peer: { name: peer, pid: ctr.pid, mac: inputs.mac },
                        mtu: inputs.mtu,
                    }),
                ]),
            ),
            ipStep(`mark "${host}" as ${inputs.owner}, attach it to bridge ${inputs.bridge}, bring it up`, HOST, [
                ip.setLink(host, { alias: inputs.owner, master: inputs.bridge, up: true }),
            ]),
            ...addAddressSteps(ctr, peer, addresses),
            ipStep(`bring ${peer} up`, ctr, [ip.setLink(peer, { up: true })]),
            ...FAMILIES.filter((f) => gateways[f]).map((f) =>
                ipStep(`add ${routeName(f)} via ${gateways[f]} dev ${peer}`, ctr, [
                    { ...ip.addDefaultRoute(peer, gateways[f]), explain: routeExplained(inputs, f) },
                ]),
            ),
            ...attachmentSteps(host, inputs.owner, undefined, inputs.bandwidth),
            ...(dad ? [dad] : []),
        ],
        // Deleting the host end removes the peer too (and their qdiscs): nothing is left behind but an ifb, removed too.
        undo: [
            ipStep(`delete veth pair "${host}"`, HOST, [ip.deleteLink(host)]),
            ...(capsOf(inputs.bandwidth).egress ? attachmentCleanupSteps(host, inputs.owner) : []),
        ],
    };
}

/**
 * The host operations of an in-place update. `gateways` are the default
 * gateways in effect after it ("" for none); `shown`, how a description
 * names them when they are only known once the update runs (the bridge's
 * address then).
 */
export function planUpdate(
    olds: VethAttachmentOutputs,
    news: VethAttachmentInputs,
    ctr: Netns,
    gateways: Gateways,
    shown: Gateways = gateways,
): Plan {
    const dev = olds.containerIfName;
    const before = attachmentAddresses(olds).filter((a) => a !== "");
    const after = attachmentAddresses(news);
    const key = (c: string) => addr.canonical(c);
    const removed = before.filter((b) => !after.some((a) => key(a) === key(b)));
    const added = after.filter((a) => !before.some((b) => key(a) === key(b)));
    const steps: Step[] = [];
    const changedFamilies = new Set([...removed, ...added].map((c) => addr.familyOf(c) ?? 4));
    // An address found gone (drift) reads as "": it is simply added again.
    const wasEmpty = attachmentAddresses(olds).some((a) => a === "");
    if (removed.length === 1 && added.length === 1 && addr.familyOf(removed[0]) === addr.familyOf(added[0])) {
        // One address for another, as reports always said it.
        steps.push(
            ...[enableIPv6Step(ctr, dev, added)].filter((s): s is Step => s !== undefined),
            ipStep(`change address of ${dev} from ${removed[0]} to ${added[0]}`, ctr, [
                ip.deleteAddress(dev, removed[0]),
                // Already there when an interrupted update added it: the next up goes on from there.
                { ...ip.addAddress(dev, added[0]), existsOk: true },
            ]),
        );
    } else if (wasEmpty && removed.length === 0 && added.length === 1 && news.addresses === undefined) {
        steps.push(
            ...[enableIPv6Step(ctr, dev, added)].filter((s): s is Step => s !== undefined),
            ipStep(`change address of ${dev} from (none) to ${added[0]}`, ctr, [{ ...ip.addAddress(dev, added[0]), existsOk: true }]),
        );
    } else {
        for (const r of removed) steps.push(ipStep(`remove address ${r} from ${dev}`, ctr, [ip.deleteAddress(dev, r)]));
        steps.push(...addAddressSteps(ctr, dev, added, true));
    }
    if (news.mtu !== undefined && olds.mtu !== news.mtu) {
        steps.push(ipStep(`set MTU ${news.mtu} on "${olds.hostIfName}"`, HOST, [ip.setLink(olds.hostIfName, { mtu: news.mtu })]));
        steps.push(ipStep(`set MTU ${news.mtu} on ${dev}`, ctr, [ip.setLink(dev, { mtu: news.mtu })]));
    }
    if (olds.up === false) {
        steps.push(ipStep(`bring "${olds.hostIfName}" up`, HOST, [ip.setLink(olds.hostIfName, { up: true })]));
        steps.push(ipStep(`bring ${dev} up`, ctr, [ip.setLink(dev, { up: true })]));
    }
    // Only the default route through this attachment's own interface is touched;
    // an address change takes the old one of its family with it, so it is set again.
    const effective: Gateways = { 4: olds.effectiveGateway, 6: olds.effectiveIpv6Gateway ?? "" };
    for (const f of FAMILIES) {
        if (!changedFamilies.has(f) && gateways[f] === effective[f]) continue;
        // A family the attachment has no default route of, and wants none of: nothing to take away (IPv4 always said so).
        if (f === 6 && !gateways[f] && !effective[f]) continue;
        steps.push(
            ipStep(gateways[f] ? `set ${routeName(f)} via ${shown[f]} dev ${dev}` : `remove the ${routeName(f)} via ${dev}`, ctr, [
                ip.deleteDefaultRoute(dev, f),
                gateways[f] ? { ...ip.addDefaultRoute(dev, gateways[f]), explain: routeExplained(news, f) } : undefined,
            ]),
        );
    }
    steps.push(...attachmentSteps(olds.hostIfName, olds.owner, olds.bandwidth, news.bandwidth));
    const dad = dadStep(ctr, dev, added, `bridge ${news.bridge}`);
    if (dad) steps.push(dad);
    return { steps };
}

/** `ifb`: the attachment's ifb is there too (it has, or had, a limit on what the container sends). */
export function planDelete(props: VethAttachmentOutputs, ifb = capsOf(props.bandwidth).egress !== undefined): Plan {
    return {
        steps: [
            ipStep(`delete veth pair "${props.hostIfName}" / "${props.containerIfName}"`, HOST, [ip.deleteLink(props.hostIfName)]),
            ...(ifb ? attachmentCleanupSteps(props.hostIfName, props.owner) : []),
        ],
    };
}

/** For the preview report: what a change would run, with nothing observed. */
export function describeChange(op: "create" | "update" | "delete", olds?: VethAttachmentOutputs, news?: VethAttachmentInputs): string[] {
    if (op === "create") {
        const bridge = { 4: "<the bridge's address>", 6: "<the bridge's IPv6 address>" };
        return describe(planCreate(news!, containerNs(news!), desiredGateways(news!, bridge)));
    }
    if (op === "delete") return describe(planDelete(olds!));
    // Without a given gateway, the route goes through the bridge's address as the update finds it.
    const after: Gateways = { 4: bridgeAddressAfter(olds!, news!, 4), 6: bridgeAddressAfter(olds!, news!, 6) };
    const gateways = desiredGateways(news!, after);
    const shown = { ...gateways };
    for (const f of FAMILIES) {
        const given = f === 4 ? news!.gateway : news!.ipv6Gateway;
        if (given !== undefined || !gateways[f]) continue;
        const name = f === 4 ? "address" : "IPv6 address";
        shown[f] =
            after[f] === lastBridgeAddress(olds!, f)
                ? `bridge ${news!.bridge}'s ${name} (${after[f]} when last read)`
                : `bridge ${news!.bridge}'s new ${name} (${after[f]}, as the program declares it)`;
    }
    return describe(planUpdate(olds!, news!, containerNs(olds!), gateways, shown));
}

/** What the checks read of the host, for the create that follows them to use instead of reading it again. */
interface Seen {
    hostLink?: ip.LinkInfo;
    bridgeCidrs?: string[];
}

/** The shared host rules (engine/rules.ts) that `hostFailures` runs, for `check` and `create` alike. */
export const hostRules: readonly RuleName[] = ["claimed-twice", "container-usable", "name-taken", "bridge-exists", "address-held"];

/**
 * What the host says against these inputs, before anything is touched: the
 * container, the bridge, the names, the address against the bridge's subnet
 * and against every holder of an address on that bridge, and claims made
 * twice in this stack. Values not known yet are skipped (they are checked
 * again at create). With `olds` (a preview of a resource in state), the host
 * is read only when an input it guards changed.
 */
async function hostFailures(
    inputs: VethAttachmentInputs,
    olds?: Partial<VethAttachmentInputs>,
    phase: "preview" | "create" = "preview",
    seen: Seen = {},
): Promise<InputFailure[]> {
    const preview = phase === "preview";
    const failures: InputFailure[] = [];
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    const known = isKnown;
    const ownerKnown = known(inputs.owner);

    // Claims within this stack: always, they cost nothing.
    if (ownerKnown && known(inputs.hostIfName)) {
        push(
            failures,
            claimedTwice("hostIfName", `\`hostIfName\` "${inputs.hostIfName}"`, claim("ifname@host", [inputs.hostIfName], inputs.owner)),
        );
    }
    if (ownerKnown && known(inputs.container) && known(inputs.containerIfName)) {
        const other = claim(`ifname@${inputs.container}`, [inputs.containerIfName], inputs.owner);
        push(
            failures,
            claimedTwice("containerIfName", `\`containerIfName\` "${inputs.containerIfName}" in container "${inputs.container}"`, other),
        );
    }
    // Each address with the field that gives it (`address`, or `addresses[i]`), once known.
    const addresses = known(inputs.address) || known(inputs.addresses) ? attachmentAddresses(inputs) : [];
    const given = addresses.map((cidr, i) => ({ cidr, field: addressField(inputs, i), plain: addr.canonical(addr.addressPart(cidr)) }));
    if (ownerKnown && given.length > 0 && known(inputs.bridge)) {
        const space = `address@${inputs.bridge}`;
        claim(
            space,
            given.map((g) => g.plain),
            inputs.owner,
        );
        for (const g of given) {
            const other = claimant(space, g.plain);
            const property = g.field === "address" ? "address" : "addresses";
            push(
                failures,
                claimedTwice(property, `\`${g.field}\` ${g.plain} on bridge ${inputs.bridge}`, other !== inputs.owner ? other : undefined),
            );
        }
    }

    if (olds && Object.keys(olds).length > 0 && hostChecked.every((k) => sameValue(olds[k], inputs[k]))) return failures;

    let pid: number | undefined;
    let shown = inputs.container;
    if (known(inputs.container)) {
        const c = await containerFailure("container", inputs.container, inputs.owner, "vethAttachment");
        push(failures, c.failure);
        pid = c.pid;
        shown = c.name ?? shown;
    }

    const hostLink = known(inputs.hostIfName) ? await ip.getLink(inputs.hostIfName) : undefined;
    seen.hostLink = hostLink;
    const ownLink = ownHostEnd(hostLink, inputs.owner);
    if (known(inputs.hostIfName)) {
        const holder = hostLink && !ownLink ? { mark: hostLink.ifalias ?? null } : undefined;
        push(failures, nameTaken("hostIfName", "hostIfName", inputs.hostIfName, "on the host", holder));
    }
    if (pid !== undefined && known(inputs.containerIfName)) {
        const inside = await ip.getLink(inputs.containerIfName, pid);
        const ownPeer = inside && ownLink && inside.link_index === hostLink!.ifindex;
        const where = `in container "${inputs.container}"`;
        push(failures, nameTaken("containerIfName", "containerIfName", inputs.containerIfName, where, inside && !ownPeer ? {} : undefined));
    }
    if (pid !== undefined && inputs.defaultRoute !== false && known(inputs.containerIfName) && given.length > 0) {
        // Its own interface's route (changed in place, or the one a replacement takes away first) is not another's.
        const own = [
            inputs.containerIfName,
            ...(olds?.container === inputs.container && olds?.containerIfName ? [olds.containerIfName] : []),
        ];
        for (const family of [4, 6] as const) {
            if (!given.some((g) => addr.familyOf(g.cidr) === family)) continue;
            const reason = await defaultRouteFailure(
                "defaultRoute",
                shown,
                pid,
                family,
                own,
                "set `defaultRoute: false` on this attachment",
                preview ? inputs.owner : undefined,
            );
            if (reason) fail("defaultRoute", reason);
        }
    }

    if (!known(inputs.bridge)) return failures;
    const live = await bridgeState(inputs.bridge);
    seen.bridgeCidrs = live?.cidrs;
    // A Bridge of this stack declared the addresses it is heading for: judge against those.
    const planned = declaration<string[]>("bridge-cidrs", inputs.bridge);
    const bridge = planned ? { kind: live?.kind ?? "bridge", cidrs: planned } : live;
    const noBridge = bridgeExists("bridge", "bridge", inputs.bridge, bridge);
    push(failures, noBridge);
    if (!bridge || noBridge) return failures;
    for (const [family, field] of [
        [4, "gateway"],
        [6, "ipv6Gateway"],
    ] as const) {
        if (inputs.defaultRoute === false || inputs[field] !== undefined || !given.some((g) => addr.familyOf(g.cidr) === family)) continue;
        if (ofFamily(bridge.cidrs, family).length > 0) continue;
        fail(
            field,
            family === 4
                ? `bridge "${inputs.bridge}" has no IPv4 address to use as the default gateway; set \`gateway\`, or \`defaultRoute: false\``
                : `bridge "${inputs.bridge}" has no IPv6 address to use as the IPv6 default gateway; set \`ipv6Gateway\`, or \`defaultRoute: false\``,
        );
    }
    if (given.length === 0) return failures;
    const allocators = preview ? await dockerAllocationRanges(inputs.bridge) : [];
    // The namespaces are read only when a port of the bridge leads to addresses nothing else accounts for;
    // the scan is the deployment's (made once per process), so create judges by what the preview found.
    const scan = !ownerKnown || (await hasUnaccountedPorts(inputs.bridge, inputs.owner));
    const onBridge = (await addressesOnBridges(scan)).get(inputs.bridge) ?? [];
    for (const { cidr, field, plain } of given) {
        const property = field === "address" ? "address" : "addresses";
        const a = addr.parseAddress(plain)!;
        const theirs = ofFamily(bridge.cidrs, a.family);
        const own = theirs.find((c) => addr.sameAddress(addr.addressPart(c), plain));
        const home = theirs.find((c) => inSubnet(plain, c));
        if (own) {
            fail(property, `\`${field}\` ${cidr} is bridge ${inputs.bridge}'s own address (${own}); choose another address in its subnet`);
        } else if (theirs.length > 0 && !home) {
            fail(
                property,
                `\`${field}\` ${cidr} is outside the subnet of bridge ${inputs.bridge} (${theirs.join(", ")}); choose an address in it`,
            );
        } else if (home) {
            const h = addr.parseCidr(home)!;
            // IPv6 has no broadcast address; its all-zero host part is the subnet-router anycast address.
            const first = h.prefix <= (a.family === 4 ? 30 : 126) && a.value === addr.networkOf(h);
            const last = a.family === 4 && h.prefix <= 30 && a.value === addr.lastOf(h);
            if (first || last) {
                fail(
                    property,
                    `\`${field}\` ${cidr} is the ${first ? "network" : "broadcast"} address of bridge ${inputs.bridge}'s subnet ${home}; choose a host address in it`,
                );
            }
        }
        const allocator = allocators.find((r) => inSubnet(plain, r.range));
        if (allocator) {
            // Not a failure: the address is free now. But Docker's allocator knows nothing of it.
            warn(
                `VethAttachment at ${inputs.hostIfName}: address ${plain} on bridge ${inputs.bridge} lies in the range Docker hands out on network "${allocator.network}" (${allocator.range}${allocator.how ? `, ${allocator.how}` : ""}); ` +
                    "a container Docker starts later may get it too. " +
                    (a.family === 4
                        ? "Start dockerd with --fixed-cidr to keep part of the subnet free (the project's scripts/start-docker.sh leaves 172.17.0.0/17 of docker0 free), or give the Network an `ipRange` and use an address outside it"
                        : "Use an address outside it (on the project's docker0, any of fd17:ac11::/64 but fd17:ac11::242:0:0/96), or give the Network an `ipv6Range` and use an address outside it"),
            );
        }
        const holders = onBridge.filter(
            (h) => addr.sameAddress(h.address, plain) && h.owner !== inputs.owner && !sameStack(h.owner, inputs.owner),
        );
        push(failures, addressHeld(property, `\`${field}\` ${plain}`, `on bridge ${inputs.bridge}`, holders[0]?.holder));
    }
    return failures;
}

/** IPv6 text in its canonical form (as the kernel prints it), so that a refresh compares like with like; IPv4 as written. */
function canonicalInputs(news: VethAttachmentInputs): VethAttachmentInputs {
    const inputs = { ...news };
    if (typeof news.mac === "string") inputs.mac = news.mac.toLowerCase();
    if (typeof news.address === "string") inputs.address = addr.canonical(news.address);
    if (Array.isArray(news.addresses)) inputs.addresses = news.addresses.map((a) => (typeof a === "string" ? addr.canonical(a) : a));
    if (typeof news.ipv6Gateway === "string") inputs.ipv6Gateway = addr.canonical(news.ipv6Gateway);
    return inputs;
}

/** What a create or update records: the inputs, and what it found and set; the IPv6 parts only with an IPv6 address. */
function outputsOf(inputs: VethAttachmentInputs, containerId: string, gateways: Gateways, bridge: Gateways): VethAttachmentOutputs {
    const outs: VethAttachmentOutputs = { ...inputs, containerId, effectiveGateway: gateways[4], bridgeAddress: bridge[4], up: true };
    if (hasIPv6(attachmentAddresses(inputs))) {
        outs.effectiveIpv6Gateway = gateways[6];
        outs.bridgeIpv6Address = bridge[6];
    }
    return outs;
}

export const vethAttachmentProvider: pulumi.dynamic.ResourceProvider<VethAttachmentInputs, VethAttachmentOutputs> = {
    async check(olds, news) {
        // The kernel reports MACs in lower case and IPv6 addresses in RFC 5952's form: store them so, or every refresh would differ.
        const inputs = canonicalInputs(news);
        const failures = checkVethAttachmentInputs({ ...inputs });
        if (failures.length === 0) failures.push(...(await hostFailures(inputs, olds)));
        if (failures.length === 0) failures.push(...(await bandwidthHostFailures("bandwidth", inputs.bandwidth)));
        return { inputs, failures };
    },

    async diff(_id, olds, news) {
        const replaces = replaceOnChange.filter((k) => olds[k] !== news[k]);
        const changes: string[] = [];
        // The two forms of the same addresses differ too: the update records the form the program now uses.
        if (
            !sameCidrs(attachmentAddresses(olds), attachmentAddresses(news)) ||
            (olds.addresses === undefined) !== (news.addresses === undefined)
        )
            changes.push(news.addresses !== undefined ? "addresses" : "address");
        const after: Gateways = { 4: bridgeAddressAfter(olds, news, 4), 6: bridgeAddressAfter(olds, news, 6) };
        const wanted = desiredGateways(news, after);
        if (olds.gateway !== news.gateway || olds.effectiveGateway !== wanted[4]) changes.push("gateway");
        if (olds.ipv6Gateway !== news.ipv6Gateway || (olds.effectiveIpv6Gateway ?? "") !== wanted[6]) changes.push("ipv6Gateway");
        if ((olds.defaultRoute ?? true) !== news.defaultRoute) changes.push("defaultRoute");
        if (news.mtu !== undefined ? olds.mtu !== news.mtu : olds.mtu !== undefined) changes.push("mtu");
        if (olds.up === false) changes.push("up");
        if (!sameBandwidth(olds.bandwidth, news.bandwidth)) changes.push("bandwidth");
        return {
            changes: replaces.length > 0 || changes.length > 0,
            replaces: [...replaces],
            // The replacement reuses the same interface names: the old pair must go first.
            deleteBeforeReplace: true,
        };
    },

    async create(inputs) {
        // The same checks as the preview's, for values the preview did not know.
        const seen: Seen = {};
        const failures = await hostFailures(inputs, undefined, "create", seen);
        if (failures.length > 0) throw failuresError(`attach "${inputs.hostIfName}"`, failures);
        const { id: containerId, pid } = await containerNetns(inputs.container, "attach to", "vethAttachment");
        // Read just now by the checks: the bridge's addresses (the default gateways) and any leftover.
        const bridgeCidrs = seen.bridgeCidrs ?? (await bridgeCidrsOf(inputs.bridge));
        const addresses = attachmentAddresses(inputs);
        const bridge: Gateways = { 4: bridgeGateway(bridgeCidrs, addresses, 4), 6: bridgeGateway(bridgeCidrs, addresses, 6) };
        const gateways = desiredGateways(inputs, bridge);
        // An interface of this very attachment's is a leftover of an interrupted run: made again.
        const leftover = ownHostEnd("hostLink" in seen ? seen.hostLink : await ip.getLink(inputs.hostIfName), inputs.owner);
        await execute(planCreate(inputs, containerNs(inputs, pid), gateways, leftover));
        return { id: inputs.hostIfName, outs: definedOnly(outputsOf(inputs, containerId, gateways, bridge)) };
    },

    async read(_id, props) {
        const live = await readAttachment(storedProps(props));
        return live ? { id: live.hostIfName, props: definedOnly(live) } : {};
    },

    async update(_id, olds, news) {
        const host = await ip.getLink(olds.hostIfName);
        if (!host || !isOwnedBy(host.ifalias, olds.owner)) {
            throw new Error(
                `failed to update "${olds.hostIfName}": the host end is gone or no longer this attachment's (the container may have restarted); run \`pulumi refresh\`, then \`pulumi up\` recreates it`,
            );
        }
        const { pid } = await containerNetns(olds.containerId, "attach to", "vethAttachment");
        const bridgeCidrs = await bridgeCidrsOf(news.bridge);
        const addresses = attachmentAddresses(news);
        const bridge: Gateways = {
            4: bridgeGateway(bridgeCidrs, addresses, 4) || olds.bridgeAddress,
            6: bridgeGateway(bridgeCidrs, addresses, 6) || (olds.bridgeIpv6Address ?? ""),
        };
        const gateways = desiredGateways(news, bridge);
        await execute(planUpdate(olds, news, containerNs(olds, pid), gateways));
        return { outs: definedOnly(outputsOf(news, olds.containerId, gateways, bridge)) };
    },

    async delete(_id, props) {
        const host = await ip.getLink(props.hostIfName);
        const ifb = await attachmentHasIfb(props.owner);
        // Never delete an interface this resource did not create: the alias is its mark.
        if (host && isOwnedBy(host.ifalias, props.owner)) await execute(planDelete(props, ifb));
        // The veth went with its container: its ifb stays on the host until removed here.
        else if (ifb) await execute({ steps: attachmentCleanupSteps(props.hostIfName, props.owner) });
    },
};
