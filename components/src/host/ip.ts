// Link, address and route primitives. Each function does one kernel
// operation and owns both of its forms: the netlink helper's operation
// (helper.ts; how this machine is changed) and the `ip` argv that does the
// same (how a host over SSH is changed, how HOSTNET_HELPER=exec|off does it,
// and how messages name it). Reads answer in iproute2's JSON shape (`ip -j`)
// either way. Orchestration (and rollback) lives in the providers. `pid`
// selects a container's network namespace (setns in the helper, nsenter for
// a command), so no /var/run/netns links are ever created (nothing to leak).
// Addresses, gateways and routes are IPv4 or IPv6 alike. Failures are the
// typed errors of errors.ts, classified from errno or from iproute2's words.
//
// Engine side: loaded by the dynamic-provider process. No Pulumi imports.

import { canonical, familyOf } from "../common/address";
import { classifyErrno, classifyHostError, ExistsError, HostCommandError, NotFoundError } from "./errors";
import { HelperOp, HelperTransport, netlinkHelper } from "./helper";
import { inNetns, onCurrentHost, runHost } from "./run";

/** The fields of `ip -j -d link show` this library reads. */
export interface LinkInfo {
    ifindex: number;
    ifname: string;
    flags: string[];
    mtu: number;
    address: string;
    operstate: string;
    /** Name of the bridge this link is enslaved to. */
    master?: string;
    /** Interface alias: the ownership mark of links this library made. */
    ifalias?: string;
    /**
     * For a veth: ifindex of the peer; for a macvlan or ipvlan: of its parent
     * (lower) device; in the namespace given by link_netnsid.
     */
    link_index?: number;
    link_netnsid?: number;
    /** The peer or parent by name, when it is in the same namespace (then there is no link_index). */
    link?: string;
    /** `ether` for Ethernet-like devices, `loopback`, `none` (a tunnel without L2)... */
    link_type?: string;
    linkinfo?: {
        info_kind?: string;
        info_data?: {
            stp_state?: number;
            vlan_filtering?: number;
            /** VXLAN: the VNI, peer and local underlay addresses, UDP port, underlay device. */
            id?: number;
            remote?: string;
            local?: string;
            /** VXLAN over IPv6: the peer and local underlay addresses. */
            remote6?: string;
            local6?: string;
            port?: number;
            link?: string;
            /** macvlan: bridge, private, vepa, passthru, source; ipvlan: l2, l3, l3s. */
            mode?: string;
        };
    };
}

export interface AddressInfo {
    family: "inet" | "inet6";
    local: string;
    prefixlen: number;
    /** `global`, `link` (IPv6 link-local), `host`. */
    scope?: string;
    /** IPv6: duplicate address detection has not finished; the address is not usable yet. */
    tentative?: boolean;
    /** IPv6: duplicate address detection found the address on another node of the link: it is not usable. */
    dadfailed?: boolean;
    /** Made by the kernel from a router advertisement (SLAAC), with a lifetime: not the library's. */
    dynamic?: boolean;
}

export interface RouteInfo {
    dst: string;
    gateway?: string;
    dev: string;
    /** Absent when 0 (`ip -j` leaves it out); an IPv6 route added without one has 1024. */
    metric?: number;
}

/**
 * True for an address the kernel makes and keeps by itself, which the
 * library leaves alone: never reported as drift, never removed. IPv6
 * link-local addresses (every interface gets one) and addresses
 * autoconfigured from router advertisements.
 */
export function isKernelAddress(a: AddressInfo): boolean {
    return a.family === "inet6" && (a.scope === "link" || a.dynamic === true);
}

/**
 * A link's addresses of both families as CIDRs (`10.0.0.2/24`,
 * `fd17:ac11::3/64`), in the kernel's order: IPv4 first, as the kernel lists
 * them. Without what the kernel keeps by itself (link-local IPv6 addresses),
 * and without an IPv6 address that failed duplicate address detection (it
 * does not work: as good as absent).
 */
export function addressCidrs(addresses: readonly AddressInfo[] | undefined): string[] {
    return (addresses ?? []).filter((a) => !isKernelAddress(a) && !a.dadfailed).map((a) => `${a.local}/${a.prefixlen}`);
}

function ip(pid: number | undefined, args: readonly string[]): string[] {
    const argv = ["ip", ...args];
    return pid === undefined ? argv : inNetns(pid, argv);
}

function parseJson<T>(stdout: string): T[] {
    return stdout.trim() === "" ? [] : (JSON.parse(stdout) as T[]);
}

/** A read: the helper's operation, or the `ip -j` argv; either way iproute2's JSON objects. */
async function read<T>(what: string, args: string[], op: HelperOp, pid?: number): Promise<T[]> {
    const helper = netlinkHelper();
    if (!helper) return parseJson<T>(await runHost(what, ip(pid, args)));
    const answer = await ask(helper, what, [op], [args], pid);
    if (answer.error) throw classifyErrno(onCurrentHost(what), ip(pid, args), answer.error);
    const result = answer.results[0];
    return (Array.isArray(result) ? result : [result]) as T[];
}

/** One request to the helper; a helper that died is a failure of the first command (a HostCommandError). */
async function ask(helper: HelperTransport, what: string, ops: HelperOp[], args: string[][], pid?: number) {
    try {
        return await helper(pid, ops);
    } catch (err) {
        throw classifyErrno(onCurrentHost(what), ip(pid, args[0]), { message: (err as Error).message }, err);
    }
}

/** The link named `name`, or undefined when there is none. */
export async function getLink(name: string, pid?: number): Promise<LinkInfo | undefined> {
    try {
        return (await read<LinkInfo>(`read link "${name}"`, ["-j", "-d", "link", "show", "dev", name], { op: "linkGet", name }, pid))[0];
    } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
    }
}

/** The link named `name` with its addresses (one process), or undefined when there is none. */
export async function getLinkWithAddresses(name: string, pid?: number): Promise<(LinkInfo & { addr_info: AddressInfo[] }) | undefined> {
    try {
        const [link] = await read<LinkInfo & { addr_info?: AddressInfo[] }>(
            `read link "${name}"`,
            ["-j", "-d", "addr", "show", "dev", name],
            { op: "linkGet", name, addrs: true },
            pid,
        );
        return link && { ...link, addr_info: link.addr_info ?? [] };
    } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
    }
}

/** Every link of a namespace, with its addresses. */
export async function listLinksWithAddresses(pid?: number): Promise<(LinkInfo & { addr_info: AddressInfo[] })[]> {
    const links = await read<LinkInfo & { addr_info?: AddressInfo[] }>(
        "list links",
        ["-j", "-d", "addr", "show"],
        { op: "linkList", addrs: true },
        pid,
    );
    return links.map((l) => ({ ...l, addr_info: l.addr_info ?? [] }));
}

export async function getAddresses(name: string, pid?: number): Promise<AddressInfo[]> {
    try {
        const [link] = await read<{ addr_info?: AddressInfo[] }>(
            `read addresses of "${name}"`,
            ["-j", "addr", "show", "dev", name],
            { op: "linkGet", name, addrs: true },
            pid,
        );
        return link?.addr_info ?? [];
    } catch (err) {
        if (err instanceof NotFoundError) return [];
        throw err;
    }
}

/** The namespace's default routes of one family (`0.0.0.0/0`, or `::/0`). */
export async function getDefaultRoutes(pid?: number, family: 4 | 6 = 4): Promise<RouteInfo[]> {
    return read<RouteInfo>(
        `read ${family === 4 ? "" : "IPv6 "}default routes`,
        ["-j", `-${family}`, "route", "show", "default"],
        { op: "routeList", family },
        pid,
    );
}

/**
 * Waits until no global IPv6 address of `name` is tentative (duplicate
 * address detection has finished, so the address can be used), as CNI's
 * SettleAddresses. Fails with the address when DAD found a duplicate, or
 * when it is still tentative after `timeoutMs` (a link that is down never
 * finishes DAD). IPv4 addresses are usable at once.
 */
export async function settleAddresses(name: string, pid?: number, timeoutMs = 10_000): Promise<void> {
    const what = `wait for duplicate address detection on ${name}`;
    const helper = netlinkHelper();
    if (helper) {
        const args = ["-6", "addr", "show", "dev", name, "tentative"];
        const answer = await ask(helper, what, [{ op: "addrSettle", name, timeoutMs }], [args], pid);
        if (answer.error) throw classifyErrno(onCurrentHost(what), ip(pid, args), answer.error);
        return;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const addrs = (await getAddresses(name, pid)).filter((a) => a.family === "inet6" && !a.local.toLowerCase().startsWith("fe80:"));
        const failed = addrs.find((a) => a.dadfailed);
        if (failed)
            throw new Error(
                `failed to ${onCurrentHost(what)}: ${failed.local}/${failed.prefixlen} is a duplicate on the link (DAD failed); choose another address`,
            );
        const tentative = addrs.find((a) => a.tentative);
        if (!tentative) return;
        if (Date.now() > deadline)
            throw new Error(
                `failed to ${onCurrentHost(what)}: ${tentative.local}/${tentative.prefixlen} still tentative after ${timeoutMs} ms; is the link up?`,
            );
        await new Promise((r) => setTimeout(r, 50));
    }
}

/** One end of a veth pair. */
export interface VethEnd {
    name: string;
    /** The namespace the end is created in (a process's); default: the host's. */
    pid?: number;
    mac?: string;
}

export interface VethSpec {
    /** Where the command runs: this end is created there. */
    local: VethEnd;
    /** The peer, created directly in its own namespace under its final name. */
    peer: VethEnd;
    mtu?: number;
}

/**
 * One `ip` command, without the program name or the namespace: the unit of
 * every change the library makes to links, addresses and routes. Commands
 * for one namespace run together (see runIp).
 */
export interface IpCommand {
    /** The `ip` arguments (without `ip`): run over SSH and with HOSTNET_HELPER=exec|off, and named in messages. */
    args: string[];
    /** The same as the netlink helper's operation: how this machine runs it. */
    op: HelperOp;
    /** "Not found" is success: the command removes something that may be gone already. */
    absentOk?: boolean;
    /** "Exists" is success: the command adds something that an interrupted run may have added already. */
    existsOk?: boolean;
    /** What it does, for the error message when it fails (default: the whole step's). */
    what?: string;
    /** Turns this command's failure into a clearer error (e.g. a route that exists already). */
    explain?: (err: unknown) => Error | undefined;
}

/**
 * The command that creates a veth pair in one kernel operation: each end in
 * its namespace with its final name, so there is no window in which a
 * half-made pair or a temporary name exists. Run it in `local.pid`'s namespace.
 * The one place the library spells a veth.
 */
export function addVeth(spec: VethSpec): IpCommand {
    const mtu = spec.mtu === undefined ? [] : ["mtu", String(spec.mtu)];
    const mac = (end: VethEnd) => (end.mac === undefined ? [] : ["address", end.mac]);
    const peerPid = spec.peer.pid === undefined || spec.peer.pid === spec.local.pid ? undefined : spec.peer.pid;
    const peerNetns = peerPid === undefined ? [] : ["netns", String(peerPid)];
    return {
        op: {
            op: "vethAdd",
            name: spec.local.name,
            mtu: spec.mtu,
            mac: spec.local.mac,
            peer: { name: spec.peer.name, mtu: spec.mtu, mac: spec.peer.mac, pid: peerPid },
        },
        args: [
            "link",
            "add",
            "name",
            spec.local.name,
            ...mtu,
            ...mac(spec.local),
            "type",
            "veth",
            "peer",
            "name",
            spec.peer.name,
            ...mtu,
            ...mac(spec.peer),
            ...peerNetns,
        ],
    };
}

export interface LinkSettings {
    /** A new name (the link must be down). */
    name?: string;
    master?: string;
    alias?: string;
    mtu?: number;
    mac?: string;
    up?: boolean;
}

export function setLink(name: string, settings: LinkSettings): IpCommand {
    const args = ["link", "set", "dev", name];
    if (settings.name !== undefined) args.push("name", settings.name);
    if (settings.master !== undefined) args.push("master", settings.master);
    if (settings.alias !== undefined) args.push("alias", settings.alias);
    if (settings.mtu !== undefined) args.push("mtu", String(settings.mtu));
    if (settings.mac !== undefined) args.push("address", settings.mac);
    if (settings.up !== undefined) args.push(settings.up ? "up" : "down");
    const { name: newName, ...rest } = settings;
    return { args, op: { op: "linkSet", name, newName, ...rest } };
}

/** Deletes a link (for a veth: both ends). Already gone is success. */
export function deleteLink(name: string): IpCommand {
    return { args: ["link", "del", "dev", name], op: { op: "linkDel", name }, absentOk: true };
}

/** Adds an address (IPv4 or IPv6, with its prefix length): an ExistsError if the link has it. */
export function addAddress(name: string, cidr: string): IpCommand {
    return { args: ["addr", "add", cidr, "dev", name], op: { op: "addrAdd", name, cidr } };
}

/** Removes an address. Already absent is success. */
export function deleteAddress(name: string, cidr: string): IpCommand {
    return { args: ["addr", "del", cidr, "dev", name], op: { op: "addrDel", name, cidr }, absentOk: true };
}

/**
 * Adds the default route of the gateway's family through `gateway`: an
 * ExistsError if the namespace has one. An IPv6 one is spelt `::/0`.
 */
export function addDefaultRoute(dev: string, gateway: string): IpCommand {
    // No `-4`/`-6`: `ip -batch` takes no per-line options; the destination (and gateway) say the family.
    const destination = familyOf(gateway) === 6 ? "::/0" : "default";
    return { args: ["route", "add", destination, "via", gateway, "dev", dev], op: { op: "routeAddDefault", name: dev, gateway } };
}

/** Removes the default route of `family` through `dev` (`default`, or `::/0`). Already absent is success. */
export function deleteDefaultRoute(dev: string, family: 4 | 6 = 4): IpCommand {
    return {
        args: ["route", "del", family === 6 ? "::/0" : "default", "dev", dev],
        op: { op: "routeDelDefault", name: dev, family },
        absentOk: true,
    };
}

/** Where duplicate address detection stands for IPv6 addresses on a link. */
export interface DadStatus {
    /** Still tentative: detection under way. */
    pending: string[];
    /** Found on another node of the link (`dadfailed`). */
    failed: string[];
    /** Not on the link (any more). */
    missing: string[];
}

/**
 * The state of duplicate address detection of `addresses` (plain IPv6
 * addresses; others are ignored) on `dev`, read once.
 */
export async function dadStatus(dev: string, addresses: readonly string[], pid?: number): Promise<DadStatus> {
    const live = await getAddresses(dev, pid);
    const status: DadStatus = { pending: [], failed: [], missing: [] };
    for (const a of addresses) {
        if (familyOf(a) !== 6) continue;
        const info = live.find((l) => l.family === "inet6" && canonical(l.local) === canonical(a));
        if (!info) status.missing.push(a);
        else if (info.dadfailed) status.failed.push(a);
        else if (info.tentative) status.pending.push(a);
    }
    return status;
}

/** The kinds of link that sit on a parent interface, sharing its wire: what MacvlanAttachment and Docker's macvlan and ipvlan drivers make. */
export type SublinkKind = "macvlan" | "ipvlan";

/** A macvlan or ipvlan on a host interface, made in a namespace of its own. */
export interface SublinkSpec {
    kind: SublinkKind;
    /** The parent (lower) device, in the namespace the command runs in. */
    parent: string;
    /** The new link's name, in the namespace it is made in. */
    name: string;
    /** macvlan: bridge, private, vepa, passthru; ipvlan: l2, l3, l3s. */
    mode: string;
    /** The namespace (a process's) the link is made in, under its final name; default: where the command runs. */
    pid?: number;
    mtu?: number;
    /** macvlan only (an ipvlan has its parent's MAC). */
    mac?: string;
}

/**
 * The command that makes a macvlan or ipvlan on `parent` straight in the
 * namespace of `pid`, under its final name, in one kernel operation (the
 * parent is found in the namespace the command runs in). The one place the
 * library spells them.
 */
export function addSublink(spec: SublinkSpec): IpCommand {
    return {
        op: {
            op: "sublinkAdd",
            kind: spec.kind,
            parent: spec.parent,
            name: spec.name,
            mode: spec.mode,
            mtu: spec.mtu,
            mac: spec.mac,
            pid: spec.pid,
        },
        args: [
            "link",
            "add",
            "link",
            spec.parent,
            "name",
            spec.name,
            ...(spec.mtu === undefined ? [] : ["mtu", String(spec.mtu)]),
            ...(spec.mac === undefined ? [] : ["address", spec.mac]),
            ...(spec.pid === undefined ? [] : ["netns", String(spec.pid)]),
            "type",
            spec.kind,
            "mode",
            spec.mode,
        ],
    };
}

/** One end of a point-to-point VXLAN tunnel: this host's device towards one peer. */
export interface VxlanSpec {
    name: string;
    vni: number;
    /** UDP destination port (IANA: 4789). */
    port: number;
    /** This host's underlay address, and the peer's. */
    local: string;
    remote: string;
    mtu?: number;
    mac?: string;
}

/**
 * The command that creates a VXLAN device sending every frame to one peer
 * (unicast, no multicast group): the one place the library spells a VXLAN.
 */
export function addVxlan(spec: VxlanSpec): IpCommand {
    return {
        op: { op: "vxlanAdd", ...spec },
        args: [
            "link",
            "add",
            "name",
            spec.name,
            ...(spec.mtu === undefined ? [] : ["mtu", String(spec.mtu)]),
            ...(spec.mac === undefined ? [] : ["address", spec.mac]),
            "type",
            "vxlan",
            "id",
            String(spec.vni),
            "local",
            spec.local,
            "remote",
            spec.remote,
            "dstport",
            String(spec.port),
        ],
    };
}

/** Changes a VXLAN device's underlay addresses in place (the kernel cannot change its VNI or port). */
export function setVxlanPeers(name: string, local: string, remote: string): IpCommand {
    return {
        args: ["link", "set", "dev", name, "type", "vxlan", "local", local, "remote", remote],
        op: { op: "vxlanSetPeers", name, local, remote },
    };
}

/** The route this host (or process `pid`'s namespace) takes to `address`: its device, gateway and source address (`ip route get`). */
export async function routeTo(address: string, pid?: number): Promise<{ dev: string; gateway?: string; prefsrc?: string } | undefined> {
    return (
        await read<{ dev: string; gateway?: string; prefsrc?: string }>(
            `find the route to ${address}`,
            ["-j", "route", "get", address],
            { op: "routeGet", address },
            pid,
        )
    )[0];
}

export interface BridgeOptions {
    stp?: boolean;
    vlanFiltering?: boolean;
}

/** Creates a bridge, with a fixed MAC when given (a bridge otherwise takes its ports' lowest). */
export function addBridge(name: string, mac?: string): IpCommand {
    return { args: ["link", "add", "name", name, ...(mac ? ["address", mac] : []), "type", "bridge"], op: { op: "bridgeAdd", name, mac } };
}

/** Sets bridge options; undefined when there is nothing to set. */
export function setBridgeOptions(name: string, options: BridgeOptions): IpCommand | undefined {
    const args: string[] = [];
    if (options.stp !== undefined) args.push("stp_state", options.stp ? "1" : "0");
    if (options.vlanFiltering !== undefined) args.push("vlan_filtering", options.vlanFiltering ? "1" : "0");
    return args.length === 0
        ? undefined
        : {
              args: ["link", "set", "dev", name, "type", "bridge", ...args],
              op: { op: "bridgeSet", name, stp: options.stp, vlanFiltering: options.vlanFiltering },
          };
}

// Arguments `ip -batch` reads back exactly: no whitespace, quotes, backslashes or comments.
const BATCHABLE = /^[^\s"'\\#]+$/;

/**
 * The line of an `ip -batch` script for a command, or undefined when one of
 * its arguments cannot be written there safely (then it runs on its own).
 */
function batchLine(cmd: IpCommand): string | undefined {
    return cmd.args.every((a) => BATCHABLE.test(a)) ? cmd.args.join(" ") : undefined;
}

/** What `ip -batch` printed for its failing line: the message, and the line number. */
function failedLine(stderr: string): { line: number; message: string } | undefined {
    const m = /^([\s\S]*?)\n?Command failed -:(\d+)\s*$/m.exec(stderr);
    return m ? { line: Number(m[2]), message: m[1].trim() } : undefined;
}

/**
 * Runs `commands` in one namespace (the host's, or process `pid`'s), in
 * order, stopping at the first failure. Commands run together in one
 * `ip -batch` process (one `nsenter` for a container), so a step of several
 * commands costs one process, not one per command. A failure throws the
 * typed error of the command that failed, naming it; commands marked
 * `absentOk` tolerate "not found", and `existsOk` "exists" (they run on
 * their own).
 */
export async function runIp(what: string, commands: readonly IpCommand[], pid?: number): Promise<void> {
    const helper = netlinkHelper();
    if (helper) return runOps(helper, what, commands, pid);
    let batch: IpCommand[] = [];
    const flush = async () => {
        if (batch.length === 0) return;
        const group = batch;
        batch = [];
        if (group.length === 1) return runOne(what, group[0], pid);
        const script = group.map((c) => batchLine(c)!).join("\n") + "\n";
        try {
            await runHost(what, ip(pid, ["-batch", "-"]), script);
        } catch (err) {
            const failed = err instanceof HostCommandError ? failedLine(err.stderr) : undefined;
            if (!failed || failed.line < 1 || failed.line > group.length) throw err;
            const cmd = group[failed.line - 1];
            const typed = classifyHostError(
                onCurrentHost(cmd.what ?? what),
                ip(pid, cmd.args),
                (err as HostCommandError).exitCode,
                failed.message,
                err,
            );
            throw cmd.explain?.(typed) ?? typed;
        }
    };
    for (const cmd of commands) {
        if (cmd.absentOk || cmd.existsOk || batchLine(cmd) === undefined) {
            await flush();
            await runOne(what, cmd, pid);
        } else {
            batch.push(cmd);
        }
    }
    await flush();
}

/**
 * runIp through the netlink helper: the commands as one request (one
 * message each, no process), in order, up to the first failure; a failure
 * that the command tolerates (absentOk, existsOk) goes on with the rest.
 */
async function runOps(helper: HelperTransport, what: string, commands: readonly IpCommand[], pid?: number): Promise<void> {
    let from = 0;
    while (from < commands.length) {
        const rest = commands.slice(from);
        const answer = await ask(
            helper,
            rest[0].what ?? what,
            rest.map((c) => c.op),
            rest.map((c) => c.args),
            pid,
        );
        if (!answer.error) return;
        const at = answer.error.netns ? 0 : Math.min(Math.max(answer.error.index, 0), rest.length - 1);
        const cmd = rest[at];
        const typed = classifyErrno(onCurrentHost(cmd.what ?? what), ip(pid, cmd.args), answer.error);
        if ((cmd.absentOk && typed instanceof NotFoundError) || (cmd.existsOk && typed instanceof ExistsError)) {
            from += at + 1;
            continue;
        }
        throw cmd.explain?.(typed) ?? typed;
    }
}

async function runOne(what: string, cmd: IpCommand, pid?: number): Promise<void> {
    try {
        await runHost(cmd.what ?? what, ip(pid, cmd.args));
    } catch (err) {
        if (cmd.absentOk && err instanceof NotFoundError) return;
        if (cmd.existsOk && err instanceof ExistsError) return;
        throw cmd.explain?.(err) ?? err;
    }
}

/** The argv of a command in a namespace, as runIp would run it on its own (for messages and tests). */
export function ipArgv(cmd: IpCommand, pid?: number): string[] {
    return ip(pid, cmd.args);
}
