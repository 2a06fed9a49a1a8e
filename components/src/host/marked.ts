// The kinds of object the library marks as a resource's, and how each is
// found and removed: the one table that `hostnet gc` and the preview report
// read (cli/gc.ts). A kind of object a new resource makes (an nftables
// table, a tc qdisc, a swarm service...) adds one entry here; a new kind of
// interface (macvlan, ipvlan) needs none, since interfaces are found by the
// mark in their alias, whatever their kind.
//
// | kind             | its mark                                   | named in a resource's state by |
// |------------------|--------------------------------------------|--------------------------------|
// | connection       | driver option io.hostnet.owner (Docker)    | container id, network id       |
// | interface        | interface alias, in a container's namespace| its name, the container's id   |
// | interface        | interface alias, on the host               | its name                       |
// | container        | label io.hostnet.owner                     | its id                         |
// | network          | label io.hostnet.owner                     | its id                         |
// | firewall rule    | its comment                                | its bridge                     |
// | nftables table   | its comment (a Policy's inet table)        | its name                       |
// | address          | its record (host/records.ts)               | its bridge and address         |
//
// The table's order is the order in which leftovers are removed: what lives
// on or in another object goes first (a connection before its container, a
// veth before the bridge it is a port of).
//
// Engine side and command line: no Pulumi imports. Reads and removals go
// through the host layer's own functions (ip.ts, docker.ts, firewall.ts,
// nft.ts, records.ts), which own every argv and API call.

import { ifbName, markedByMac, OWNER_LABEL } from "../common/naming";
import { deleteScript } from "../common/policyTable";
import * as docker from "./docker";
import { NamespaceGoneError } from "./errors";
import * as networks from "./dockerNetworks";
import * as firewall from "./firewall";
import * as ip from "./ip";
import * as nft from "./nft";
import * as records from "./records";

/** An object on the host that carries an owner mark. */
export interface MarkedObject {
    /** The kind's name, for people: `interface`, `firewall rule`, ... */
    kind: string;
    /** The owner mark it carries (or, not marked yet, the one its MAC was derived from). */
    mark: string;
    /** What a resource's state names it by (its name, its id...): all of them appear in the state of the resource it belongs to. */
    names: string[];
    /** For people: `interface hn-seede-1a2b3c (host)`. */
    text: string;
    /** Why it is a leftover whatever the state says (a record of a bridge that is gone, say). */
    stale?: string;
    /** Removes it from the host; already gone is fine. Refuses (throws) where removing it would hurt others. */
    remove(): Promise<void>;
}

export interface MarkedKind {
    kind: string;
    /**
     * Every object of this kind on the host whose mark `wanted` accepts;
     * with `unmarked`, also the interfaces made for those owners but not
     * marked yet (a run killed between making and marking: only their MAC,
     * derived from the owner mark, says whose they are).
     */
    find(wanted: (mark: string) => boolean, unmarked?: readonly string[]): Promise<MarkedObject[]>;
}

/**
 * The roles the library derives the MACs of interfaces it marks for
 * (common/naming.ts defaultMac): a created bridge, a veth's host end, a
 * VethLink's sides, a VxlanLink's, a MacvlanAttachment's macvlan (unless its MAC is set), a VethAttachment's ifb (a limit on what
 * its container sends). (A veth's container end is never marked: its host end is, and removing one end removes both.)
 */
const MAC_ROLES = ["bridge", "host", "a", "b", "vxlan-a", "vxlan-b", "macvlan", "ifb"];

/** The owner among `unmarked` whose derived MAC the link has, when it carries no mark. */
function ownerByMac(link: ip.LinkInfo, unmarked: readonly string[]): string | undefined {
    return unmarked.find((owner) => MAC_ROLES.some((role) => markedByMac(link, owner, role)));
}

type Link = ip.LinkInfo & { addr_info: ip.AddressInfo[] };

/** The marked interfaces among `links` (of the host, or of the namespace of process `pid`). */
function markedLinks(
    links: Link[],
    wanted: (mark: string) => boolean,
    unmarked: readonly string[],
): { link: Link; mark: string; by: string }[] {
    const found: { link: Link; mark: string; by: string }[] = [];
    for (const link of links) {
        if (link.ifalias && wanted(link.ifalias)) found.push({ link, mark: link.ifalias, by: "" });
        const byMac = link.ifalias ? undefined : ownerByMac(link, unmarked);
        if (byMac) found.push({ link, mark: byMac, by: " (not marked yet: its MAC is the one derived from the mark)" });
    }
    return found;
}

/** `fn` of each item, at most `limit` at a time (a scan of every container costs a process each), in the items' order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
    const results: R[] = new Array(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const i = next++;
            results[i] = await fn(items[i]);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return results;
}

/** How many host reads a scan runs at once. */
const SCAN_PARALLELISM = 8;

/** Running containers with a network namespace of their own, once each (containers sharing one are skipped). */
async function namespaces(): Promise<{ id: string; name: string; pid: number }[]> {
    const candidates = (await docker.listContainers()).filter(
        (c) => c.HostConfig.NetworkMode !== "host" && !c.HostConfig.NetworkMode.startsWith("container:"),
    );
    const inspected = await mapLimit(candidates, SCAN_PARALLELISM, (c) => docker.inspectContainer(c.Id));
    const seen = new Set<number>();
    const out: { id: string; name: string; pid: number }[] = [];
    for (const inspect of inspected) {
        const pid = inspect?.State.Running ? inspect.State.Pid : 0;
        if (!pid || seen.has(pid)) continue;
        seen.add(pid);
        out.push({ id: inspect!.Id, name: inspect!.Name.replace(/^\//, ""), pid });
    }
    return out;
}

export const MARKED_KINDS: readonly MarkedKind[] = [
    {
        kind: "connection",
        async find(wanted) {
            const found: MarkedObject[] = [];
            const all = await docker.listContainers(true);
            for (const inspect of await mapLimit(all, SCAN_PARALLELISM, (c) => docker.inspectContainer(c.Id))) {
                for (const [network, ep] of Object.entries(inspect?.NetworkSettings.Networks ?? {})) {
                    const mark = ep.DriverOpts?.[OWNER_LABEL];
                    if (!mark || !wanted(mark)) continue;
                    const name = inspect!.Name.replace(/^\//, "");
                    found.push({
                        kind: "connection",
                        mark,
                        names: [inspect!.Id, ep.NetworkID],
                        text: `connection of container "${name}" to network ${network}`,
                        remove: () => docker.disconnectNetwork(ep.NetworkID, inspect!.Id),
                    });
                }
            }
            return found;
        },
    },
    {
        kind: "interface",
        async find(wanted, unmarked = []) {
            const found: MarkedObject[] = [];
            const spaces = await namespaces();
            // A container that stopped meanwhile took its interfaces with it: nothing to find there.
            const read = await mapLimit(spaces, SCAN_PARALLELISM, (ns) =>
                ip.listLinksWithAddresses(ns.pid).catch((err: unknown) => {
                    if (err instanceof NamespaceGoneError) return [] as Link[];
                    throw err;
                }),
            );
            for (const [i, ns] of spaces.entries()) {
                for (const { link, mark, by } of markedLinks(read[i], wanted, unmarked)) {
                    found.push({
                        kind: "interface",
                        mark,
                        names: [link.ifname, ns.id],
                        text: `interface ${link.ifname} in container "${ns.name}"${by}`,
                        remove: () =>
                            ip.runIp(`delete interface ${link.ifname} in container "${ns.name}"`, [ip.deleteLink(link.ifname)], ns.pid),
                    });
                }
            }
            return found;
        },
    },
    {
        kind: "interface",
        async find(wanted, unmarked = []) {
            const links = await ip.listLinksWithAddresses();
            const found = markedLinks(links, wanted, unmarked);
            // Ports before the bridges they are on.
            found.sort((x, y) => Number(x.link.linkinfo?.info_kind === "bridge") - Number(y.link.linkinfo?.info_kind === "bridge"));
            return found.map(({ link, mark, by }) => ({
                kind: "interface",
                mark,
                // An ifb is named after its resource's mark, which no output records: its resource in the state accounts for it.
                names: link.linkinfo?.info_kind === "ifb" && link.ifname === ifbName(mark) ? [] : [link.ifname],
                text: `${link.linkinfo?.info_kind ?? "interface"} ${link.ifname} (host)${by}`,
                async remove() {
                    if (link.linkinfo?.info_kind === "bridge") {
                        const ports = (await ip.listLinksWithAddresses()).filter((l) => l.master === link.ifname).map((l) => l.ifname);
                        if (ports.length > 0)
                            throw new Error(
                                `failed to delete bridge ${link.ifname}: interfaces are still on it (${ports.join(", ")}); remove them (or the resources that attached them) first`,
                            );
                    }
                    await ip.runIp(`delete ${link.linkinfo?.info_kind ?? "interface"} ${link.ifname}`, [ip.deleteLink(link.ifname)]);
                },
            }));
        },
    },
    {
        kind: "container",
        async find(wanted) {
            return (await docker.listContainers(true))
                .filter((c) => wanted(c.Labels?.[OWNER_LABEL] ?? ""))
                .map((c) => ({
                    kind: "container",
                    mark: c.Labels![OWNER_LABEL],
                    names: [c.Id],
                    text: `container ${c.Names[0]?.replace(/^\//, "") ?? c.Id.slice(0, 12)} (${c.State})`,
                    remove: () => docker.removeContainer(c.Id),
                }));
        },
    },
    {
        kind: "network",
        async find(wanted) {
            return (await networks.listNetworks())
                .filter((n) => wanted(n.Labels?.[OWNER_LABEL] ?? ""))
                .map((n) => ({
                    kind: "network",
                    mark: n.Labels![OWNER_LABEL],
                    names: [n.Id],
                    text: `network ${n.Name} (${n.Id.slice(0, 12)}, bridge ${networks.bridgeOfNetwork(n)})`,
                    remove: () => networks.removeNetwork(n.Id),
                }));
        },
    },
    {
        kind: "firewall rule",
        async find(wanted) {
            return (await firewall.markedRules())
                .filter((r) => wanted(r.mark))
                .map((r) => ({
                    kind: "firewall rule",
                    mark: r.mark,
                    names: [r.bridge],
                    text: `firewall rule in ${r.chain} accepting forwarding on bridge ${r.bridge}`,
                    remove: () =>
                        firewall.stopAcceptingForwarding(
                            `remove the firewall rule of bridge ${r.bridge} from ${r.chain}`,
                            r.chain,
                            r.bridge,
                            r.mark,
                        ),
                }));
        },
    },
    {
        kind: "nftables table",
        async find(wanted) {
            const found: MarkedObject[] = [];
            // A Policy's table carries its owner mark as its comment (a mark over 128 bytes as its hash, which names no stack: not found).
            for (const name of await nft.listTables()) {
                const table = await nft.readTable(name);
                if (table?.comment === undefined || !wanted(table.comment)) continue;
                found.push({
                    kind: "nftables table",
                    mark: table.comment,
                    names: [name],
                    text: `nftables table inet ${name}`,
                    remove: () => nft.applyScript(`delete nftables table inet ${name}`, deleteScript(name)),
                });
            }
            return found;
        },
    },
    {
        kind: "address",
        async find(wanted) {
            const mine = (await records.listAddressRecords()).filter((r) => wanted(r.owner));
            if (mine.length === 0) return [];
            const links = new Map((await ip.listLinksWithAddresses()).map((l) => [l.ifname, l]));
            return mine.map((r) => {
                const bridge = links.get(r.bridge);
                const current = bridge !== undefined && bridge.ifindex === r.ifindex;
                // Either family: the record says the address as the kernel prints it.
                const live = current && bridge.addr_info.some((a) => `${a.local}/${a.prefixlen}` === r.cidr);
                const state = live
                    ? ""
                    : current
                      ? " (recorded, not there: a run was killed before adding it)"
                      : " (recorded, on a bridge that is gone or was made again)";
                return {
                    kind: "address",
                    mark: r.owner,
                    names: [r.bridge, r.cidr],
                    text: `address ${r.cidr} on bridge ${r.bridge}${state}`,
                    stale: current ? undefined : "its bridge is gone, or was made again: the address went with it",
                    async remove() {
                        if (live) await ip.runIp(`remove address ${r.cidr} from bridge ${r.bridge}`, [ip.deleteAddress(r.bridge, r.cidr)]);
                        await records.removeAddressRecord(
                            `take back the record of address ${r.cidr} on bridge ${r.bridge}`,
                            r.bridge,
                            r.cidr,
                        );
                    },
                };
            });
        },
    },
];

/** Every marked object on the host whose mark `wanted` accepts (and the unmarked interfaces of `unmarked` owners), in the order to remove them. */
export async function findMarked(wanted: (mark: string) => boolean, unmarked: readonly string[] = []): Promise<MarkedObject[]> {
    const found: MarkedObject[] = [];
    for (const k of MARKED_KINDS) found.push(...(await k.find(wanted, unmarked)));
    return found;
}
