// VethAttachment, engine side: a container's network interface on a host
// bridge. It does what section 4 of the seed does by hand (veth pair, host end
// on the bridge and up, peer in the container's namespace as eth0 with an
// address and a default route), reads it back, changes it in place and
// removes it.
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import { defaultMac, describeOwner, isOwnedBy, markedByMac, sameStack } from "../../common/naming";
import { checkVethAttachmentInputs, VethAttachmentInputs, VethAttachmentOutputs } from "../../common/specs/vethAttachment";
import { failuresError, InputFailure, inSubnet, isKnown, parseCidr } from "../../common/validation";
import * as docker from "../../host/docker";
import { ExistsError } from "../../host/errors";
import * as ip from "../../host/ip";
import { addressesOnBridges, bridgeState, dockerAllocationRange, warn } from "../observe";
import { describe, execute, HOST, ipStep, making, Netns, Plan } from "../plan";
import { claim, declaration, isClaimed } from "../registry";
import { containerFailure, containerNetns } from "./containerNetns";
import { attachmentCleanupSteps, attachmentHasIfb, attachmentSteps, bandwidthHostFailures, readAttachmentBandwidth } from "./shaping";
import { capsOf } from "../bandwidth";
import { sameBandwidth } from "../../common/specs/bandwidth";
import { definedOnly, sameValue, storedProps } from "./props";

const replaceOnChange = ["container", "bridge", "containerIfName", "hostIfName", "mac", "owner"] as const;

/** The inputs whose change makes the preview look at the host again. */
const hostChecked = ["container", "bridge", "address", "gateway", "defaultRoute", "containerIfName", "hostIfName", "mac"] as const;

async function firstIPv4(link: string): Promise<string | undefined> {
    return (await ip.getAddresses(link)).find((a) => a.family === "inet")?.local;
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
    const inet = ip.ipv4Cidrs(peer.addr_info);
    const route = (await ip.getDefaultRoutes(pid)).find((r) => r.dev === peer.ifname);
    const bridge = host.master ?? "";
    const live: VethAttachmentOutputs = {
        ...props,
        bridge,
        containerIfName: peer.ifname,
        address: inet.includes(props.address) ? props.address : (inet[0] ?? ""),
        effectiveGateway: route?.gateway ?? "",
        bridgeAddress: (bridge && (await firstIPv4(bridge))) || props.bridgeAddress,
        up: host.flags.includes("UP") && peer.flags.includes("UP"),
    };
    if (props.mtu !== undefined) live.mtu = host.mtu;
    if (props.mac !== undefined) live.mac = peer.address;
    live.bandwidth = await readAttachmentBandwidth(props);
    return live;
}

/**
 * The bridge address the default route goes through once this change is made:
 * the one last read, unless the program declares the bridge's addresses
 * without it (the bridge's own update takes it away first), then the first
 * one declared.
 */
function bridgeAddressAfter(olds: VethAttachmentOutputs, news: VethAttachmentInputs): string {
    const declared = news.bridgeAddresses;
    if (!Array.isArray(declared) || declared.length === 0 || !isKnown(declared)) return olds.bridgeAddress;
    const plain = declared.map((a) => String(a).split("/")[0]);
    return plain.includes(olds.bridgeAddress) ? olds.bridgeAddress : plain[0];
}

function desiredGateway(news: VethAttachmentInputs, bridgeAddress: string): string {
    return news.defaultRoute === false ? "" : (news.gateway ?? bridgeAddress);
}

function containerNs(inputs: VethAttachmentInputs, pid?: number): Netns {
    return { pid, label: `container "${inputs.container}"` };
}

function routeExplained(inputs: VethAttachmentInputs) {
    return (err: unknown) =>
        err instanceof ExistsError
            ? new Error(
                  `failed to attach "${inputs.hostIfName}": container "${inputs.container}" already has a default route; set \`defaultRoute: false\` on this attachment (or remove the other route)`,
                  { cause: err },
              )
            : undefined;
}

/** The host operations of a create. `gateway` "" means no default route; `leftover`: this attachment's host end, left by an interrupted run, to remove first. */
export function planCreate(inputs: VethAttachmentInputs, ctr: Netns, gateway: string, leftover = false): Plan {
    const host = inputs.hostIfName;
    const peer = inputs.containerIfName;
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
            ipStep(`add address ${inputs.address} to ${peer}`, ctr, [ip.addAddress(peer, inputs.address)]),
            ipStep(`bring ${peer} up`, ctr, [ip.setLink(peer, { up: true })]),
            ...(gateway
                ? [
                      ipStep(`add default route via ${gateway} dev ${peer}`, ctr, [
                          { ...ip.addDefaultRoute(peer, gateway), explain: routeExplained(inputs) },
                      ]),
                  ]
                : []),
            ...attachmentSteps(host, inputs.owner, undefined, inputs.bandwidth),
        ],
        // Deleting the host end removes the peer too (and their qdiscs): nothing is left behind but an ifb, removed too.
        undo: [
            ipStep(`delete veth pair "${host}"`, HOST, [ip.deleteLink(host)]),
            ...(capsOf(inputs.bandwidth).egress ? attachmentCleanupSteps(host, inputs.owner) : []),
        ],
    };
}

/** The host operations of an in-place update. */
/**
 * The host operations of an in-place update. `gateway` is the default
 * gateway in effect after it ("" for none); `shown`, how a description names
 * it when it is only known once the update runs (the bridge's address then).
 */
export function planUpdate(olds: VethAttachmentOutputs, news: VethAttachmentInputs, ctr: Netns, gateway: string, shown = gateway): Plan {
    const dev = olds.containerIfName;
    const addressChanged = olds.address !== news.address;
    const steps = [];
    if (addressChanged) {
        steps.push(
            ipStep(`change address of ${dev} from ${olds.address || "(none)"} to ${news.address}`, ctr, [
                olds.address ? ip.deleteAddress(dev, olds.address) : undefined,
                // Already there when an interrupted update added it: the next up goes on from there.
                { ...ip.addAddress(dev, news.address), existsOk: true },
            ]),
        );
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
    // an address change takes the old one with it, so it is set again.
    if (addressChanged || gateway !== olds.effectiveGateway) {
        steps.push(
            ipStep(gateway ? `set default route via ${shown} dev ${dev}` : `remove the default route via ${dev}`, ctr, [
                ip.deleteDefaultRoute(dev),
                gateway ? { ...ip.addDefaultRoute(dev, gateway), explain: routeExplained(news) } : undefined,
            ]),
        );
    }
    steps.push(...attachmentSteps(olds.hostIfName, olds.owner, olds.bandwidth, news.bandwidth));
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
    if (op === "create") return describe(planCreate(news!, containerNs(news!), desiredGateway(news!, "<the bridge's address>")));
    if (op === "delete") return describe(planDelete(olds!));
    // Without `gateway`, the route goes through the bridge's address as the update finds it.
    const after = bridgeAddressAfter(olds!, news!);
    const gateway = desiredGateway(news!, after);
    const bridgeSays =
        after === olds!.bridgeAddress
            ? `bridge ${news!.bridge}'s address (${after} when last read)`
            : `bridge ${news!.bridge}'s new address (${after}, as the program declares it)`;
    const shown = news!.gateway === undefined && gateway ? bridgeSays : gateway;
    return describe(planUpdate(olds!, news!, containerNs(olds!), gateway, shown));
}

/**
 * What the host says against these inputs, before anything is touched: the
 * container, the bridge, the names, the address against the bridge's subnet
 * and against every holder of an address on that bridge, and claims made
 * twice in this stack. Values not known yet are skipped (they are checked
 * again at create). With `olds` (a preview of a resource in state), the host
 * is read only when an input it guards changed.
 */
/** What the checks read of the host, for the create that follows them to use instead of reading it again. */
interface Seen {
    hostLink?: ip.LinkInfo;
    bridgeCidrs?: string[];
}

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
        const other = claim("ifname@host", [inputs.hostIfName], inputs.owner);
        if (other)
            fail(
                "hostIfName",
                `\`hostIfName\` "${inputs.hostIfName}" is also the host interface of ${describeOwner(other)}; give each attachment its own`,
            );
    }
    if (ownerKnown && known(inputs.container) && known(inputs.containerIfName)) {
        const other = claim(`ifname@${inputs.container}`, [inputs.containerIfName], inputs.owner);
        if (other)
            fail(
                "containerIfName",
                `\`containerIfName\` "${inputs.containerIfName}" in container "${inputs.container}" is also used by ${describeOwner(other)}; give each its own`,
            );
    }
    const address = known(inputs.address) ? inputs.address.split("/")[0] : undefined;
    if (ownerKnown && address && known(inputs.bridge)) {
        const other = claim(`address@${inputs.bridge}`, [address], inputs.owner);
        if (other)
            fail(
                "address",
                `\`address\` ${address} on bridge ${inputs.bridge} is also given to ${describeOwner(other)}; give each attachment its own address`,
            );
    }

    if (olds && Object.keys(olds).length > 0 && hostChecked.every((k) => sameValue(olds[k], inputs[k]))) return failures;

    let pid: number | undefined;
    if (known(inputs.container)) {
        const c = await containerFailure("container", inputs.container, inputs.owner, "vethAttachment");
        if (c.reason) fail("container", c.reason);
        pid = c.pid;
    }

    const hostLink = known(inputs.hostIfName) ? await ip.getLink(inputs.hostIfName) : undefined;
    seen.hostLink = hostLink;
    const ownLink = ownHostEnd(hostLink, inputs.owner);
    if (hostLink && !ownLink) {
        const whose = hostLink.ifalias ? `owned by ${describeOwner(hostLink.ifalias)}` : "not made by this library";
        fail("hostIfName", `\`hostIfName\` "${inputs.hostIfName}" is taken on the host (${whose}); choose another \`hostIfName\``);
    }
    if (pid !== undefined && known(inputs.containerIfName)) {
        const inside = await ip.getLink(inputs.containerIfName, pid);
        const ownPeer = inside && ownLink && inside.link_index === hostLink!.ifindex;
        if (inside && !ownPeer) {
            fail(
                "containerIfName",
                `\`containerIfName\` "${inputs.containerIfName}" is taken in container "${inputs.container}"; choose another \`containerIfName\``,
            );
        }
    }

    if (!known(inputs.bridge)) return failures;
    const live = await bridgeState(inputs.bridge);
    seen.bridgeCidrs = live?.cidrs;
    // A Bridge of this stack declared the addresses it is heading for: judge against those.
    const planned = declaration<string[]>("bridge-cidrs", inputs.bridge);
    const bridge = planned ? { kind: live?.kind ?? "bridge", cidrs: planned } : live;
    if (!bridge) {
        if (!isClaimed("bridge", inputs.bridge)) {
            fail("bridge", `\`bridge\` "${inputs.bridge}" does not exist; create it first (a Bridge resource), or name an existing bridge`);
        }
        return failures;
    }
    if (bridge.kind !== "bridge") {
        fail("bridge", `\`bridge\` "${inputs.bridge}" is a ${bridge.kind} interface, not a bridge`);
        return failures;
    }
    if (inputs.defaultRoute !== false && inputs.gateway === undefined && bridge.cidrs.length === 0) {
        fail(
            "gateway",
            `bridge "${inputs.bridge}" has no IPv4 address to use as the default gateway; set \`gateway\`, or \`defaultRoute: false\``,
        );
    }
    if (!address) return failures;
    const own = bridge.cidrs.find((c) => c.split("/")[0] === address);
    const home = bridge.cidrs.find((c) => inSubnet(address, c));
    if (own) {
        fail(
            "address",
            `\`address\` ${inputs.address} is bridge ${inputs.bridge}'s own address (${own}); choose another address in its subnet`,
        );
    } else if (bridge.cidrs.length > 0 && !home) {
        fail(
            "address",
            `\`address\` ${inputs.address} is outside the subnet of bridge ${inputs.bridge} (${bridge.cidrs.join(", ")}); choose an address in it`,
        );
    } else if (home) {
        const h = parseCidr(home)!;
        const size = 2 ** (32 - h.prefix);
        const network = h.address - (h.address % size);
        const a = parseCidr(`${address}/32`)!.address;
        if (h.prefix <= 30 && (a === network || a === network + size - 1)) {
            fail(
                "address",
                `\`address\` ${inputs.address} is the ${a === network ? "network" : "broadcast"} address of bridge ${inputs.bridge}'s subnet ${home}; choose a host address in it`,
            );
        }
    }
    const allocator = preview ? await dockerAllocationRange(inputs.bridge) : undefined;
    if (allocator && inSubnet(address, allocator.range)) {
        // Not a failure: the address is free now. But Docker's allocator knows nothing of it.
        warn(
            `VethAttachment at ${inputs.hostIfName}: address ${address} on bridge ${inputs.bridge} lies in the range Docker hands out on network "${allocator.network}" (${allocator.range}); ` +
                "a container Docker starts later may get it too. Start dockerd with --fixed-cidr to keep part of the subnet free (the project's scripts/start-docker.sh leaves 172.17.0.0/17 of docker0 free), or give the Network an `ipRange` and use an address outside it",
        );
    }
    // At create, the preview has scanned the namespaces already: only Docker's own placements are read again.
    const holders = ((await addressesOnBridges(preview)).get(inputs.bridge) ?? []).filter(
        (h) => h.address === address && h.owner !== inputs.owner && !sameStack(h.owner, inputs.owner),
    );
    if (holders.length > 0) {
        fail("address", `\`address\` ${address} is already used on bridge ${inputs.bridge} by ${holders[0].holder}; choose a free address`);
    }
    return failures;
}

export const vethAttachmentProvider: pulumi.dynamic.ResourceProvider<VethAttachmentInputs, VethAttachmentOutputs> = {
    async check(olds, news) {
        // The kernel reports MACs in lower case: store them so, or every refresh would differ.
        const inputs = typeof news.mac === "string" ? { ...news, mac: news.mac.toLowerCase() } : news;
        const failures = checkVethAttachmentInputs({ ...inputs });
        if (failures.length === 0) failures.push(...(await hostFailures(inputs, olds)));
        if (failures.length === 0) failures.push(...(await bandwidthHostFailures("bandwidth", inputs.bandwidth)));
        return { inputs, failures };
    },

    async diff(_id, olds, news) {
        const replaces = replaceOnChange.filter((k) => olds[k] !== news[k]);
        const changes: string[] = [];
        if (olds.address !== news.address) changes.push("address");
        if (olds.gateway !== news.gateway || olds.effectiveGateway !== desiredGateway(news, bridgeAddressAfter(olds, news)))
            changes.push("gateway");
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
        // Read just now by the checks: the bridge's first address (the default gateway) and any leftover.
        const bridgeAddress =
            seen.bridgeCidrs !== undefined ? (seen.bridgeCidrs[0]?.split("/")[0] ?? "") : ((await firstIPv4(inputs.bridge)) ?? "");
        const gateway = desiredGateway(inputs, bridgeAddress);
        // An interface of this very attachment's is a leftover of an interrupted run: made again.
        const leftover = ownHostEnd("hostLink" in seen ? seen.hostLink : await ip.getLink(inputs.hostIfName), inputs.owner);
        await execute(planCreate(inputs, containerNs(inputs, pid), gateway, leftover));
        const outs: VethAttachmentOutputs = { ...inputs, containerId, effectiveGateway: gateway, bridgeAddress, up: true };
        return { id: inputs.hostIfName, outs: definedOnly(outs) };
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
        const bridgeAddress = (await firstIPv4(news.bridge)) ?? olds.bridgeAddress;
        const gateway = desiredGateway(news, bridgeAddress);
        await execute(planUpdate(olds, news, containerNs(olds, pid), gateway));
        const outs: VethAttachmentOutputs = { ...news, containerId: olds.containerId, effectiveGateway: gateway, bridgeAddress, up: true };
        return { outs: definedOnly(outs) };
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
