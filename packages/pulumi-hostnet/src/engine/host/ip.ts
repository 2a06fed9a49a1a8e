// Link, address and route primitives over iproute2's JSON output (`ip -j`).
// Each function does one kernel operation and owns its argv; orchestration
// (and rollback) lives in the providers. `pid` selects a container's network
// namespace through nsenter, so no /var/run/netns links are ever created
// (nothing to leak). Failures are the typed errors of errors.ts.
//
// Engine side: loaded by the dynamic-provider process. No Pulumi imports.

import { NotFoundError, NotSupportedError } from "./errors";
import { inNetns, runHost } from "./run";

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
    /** For a veth: ifindex of the peer, in the namespace given by link_netnsid. */
    link_index?: number;
    link_netnsid?: number;
    linkinfo?: { info_kind?: string; info_data?: { stp_state?: number; vlan_filtering?: number } };
}

export interface AddressInfo {
    family: "inet" | "inet6";
    local: string;
    prefixlen: number;
}

export interface RouteInfo {
    dst: string;
    gateway?: string;
    dev: string;
}

/** A link's IPv4 addresses as CIDRs (`10.0.0.2/24`), in the kernel's order. */
export function ipv4Cidrs(addresses: readonly AddressInfo[] | undefined): string[] {
    return (addresses ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`);
}

function ip(pid: number | undefined, args: readonly string[]): string[] {
    const argv = ["ip", ...args];
    return pid === undefined ? argv : inNetns(pid, argv);
}

function parseJson<T>(stdout: string): T[] {
    return stdout.trim() === "" ? [] : (JSON.parse(stdout) as T[]);
}

/** The link named `name`, or undefined when there is none. */
export async function getLink(name: string, pid?: number): Promise<LinkInfo | undefined> {
    try {
        const out = await runHost(`read link "${name}"`, ip(pid, ["-j", "-d", "link", "show", "dev", name]));
        return parseJson<LinkInfo>(out)[0];
    } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
    }
}

/** Every link of a namespace, with its addresses. */
export async function listLinksWithAddresses(pid?: number): Promise<(LinkInfo & { addr_info: AddressInfo[] })[]> {
    const out = await runHost("list links", ip(pid, ["-j", "-d", "addr", "show"]));
    return parseJson(out);
}

export async function getAddresses(name: string, pid?: number): Promise<AddressInfo[]> {
    try {
        const out = await runHost(`read addresses of "${name}"`, ip(pid, ["-j", "addr", "show", "dev", name]));
        const [link] = parseJson<{ addr_info?: AddressInfo[] }>(out);
        return link?.addr_info ?? [];
    } catch (err) {
        if (err instanceof NotFoundError) return [];
        throw err;
    }
}

export async function getDefaultRoutes(pid?: number): Promise<RouteInfo[]> {
    const out = await runHost("read default routes", ip(pid, ["-j", "-4", "route", "show", "default"]));
    return parseJson<RouteInfo>(out);
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

/** The argv that creates a veth pair: the one place the library spells it. */
export function vethArgv(spec: VethSpec): string[] {
    const mtu = spec.mtu === undefined ? [] : ["mtu", String(spec.mtu)];
    const mac = (end: VethEnd) => (end.mac === undefined ? [] : ["address", end.mac]);
    const peerNetns = spec.peer.pid === undefined || spec.peer.pid === spec.local.pid ? [] : ["netns", String(spec.peer.pid)];
    return ip(spec.local.pid, [
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
    ]);
}

/**
 * Creates a veth pair in one kernel operation: each end in its namespace with
 * its final name, so there is no window in which a half-made pair or a
 * temporary name exists.
 */
export async function createVethPair(spec: VethSpec): Promise<void> {
    await runHost(`create veth pair "${spec.local.name}"/"${spec.peer.name}"`, vethArgv(spec));
}

export interface LinkSettings {
    master?: string;
    alias?: string;
    mtu?: number;
    up?: boolean;
}

export async function setLink(name: string, settings: LinkSettings, pid?: number): Promise<void> {
    const args = ["link", "set", "dev", name];
    if (settings.master !== undefined) args.push("master", settings.master);
    if (settings.alias !== undefined) args.push("alias", settings.alias);
    if (settings.mtu !== undefined) args.push("mtu", String(settings.mtu));
    if (settings.up !== undefined) args.push(settings.up ? "up" : "down");
    await runHost(`configure link "${name}"`, ip(pid, args));
}

/** Deletes a link (for a veth: both ends). Already gone is success. */
export async function deleteLink(name: string, pid?: number): Promise<void> {
    try {
        await runHost(`delete link "${name}"`, ip(pid, ["link", "del", "dev", name]));
    } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
    }
}

export async function addAddress(name: string, cidr: string, pid?: number): Promise<void> {
    await runHost(`add address ${cidr} to "${name}"`, ip(pid, ["addr", "add", cidr, "dev", name]));
}

/** Removes an address. Already absent is success. */
export async function deleteAddress(name: string, cidr: string, pid?: number): Promise<void> {
    try {
        await runHost(`delete address ${cidr} from "${name}"`, ip(pid, ["addr", "del", cidr, "dev", name]));
    } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
    }
}

/** Adds the IPv4 default route through `gateway`; an ExistsError if the namespace already has one. */
export async function addDefaultRoute(dev: string, gateway: string, pid?: number): Promise<void> {
    await runHost(`add default route via ${gateway}`, ip(pid, ["-4", "route", "add", "default", "via", gateway, "dev", dev]));
}

/** Sets the IPv4 default route through `gateway` on `dev`, replacing any other. */
export async function replaceDefaultRoute(dev: string, gateway: string, pid?: number): Promise<void> {
    await runHost(`set default route via ${gateway}`, ip(pid, ["-4", "route", "replace", "default", "via", gateway, "dev", dev]));
}

export async function deleteDefaultRoute(dev: string, pid?: number): Promise<void> {
    try {
        await runHost("delete default route", ip(pid, ["-4", "route", "del", "default", "dev", dev]));
    } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
    }
}

export interface BridgeOptions {
    stp?: boolean;
    vlanFiltering?: boolean;
}

function bridgeArgs(options: BridgeOptions): string[] {
    const args: string[] = [];
    if (options.stp !== undefined) args.push("stp_state", options.stp ? "1" : "0");
    if (options.vlanFiltering !== undefined) args.push("vlan_filtering", options.vlanFiltering ? "1" : "0");
    return args;
}

/** Creates a bridge; its options are set afterwards by setBridgeOptions, which explains unsupported ones. */
export async function createBridge(name: string): Promise<void> {
    await runHost(`create bridge "${name}"`, ["ip", "link", "add", "name", name, "type", "bridge"]);
}

export async function setBridgeOptions(name: string, options: BridgeOptions): Promise<void> {
    const args = bridgeArgs(options);
    if (args.length === 0) return;
    try {
        await runHost(`configure bridge "${name}"`, ["ip", "link", "set", "dev", name, "type", "bridge", ...args]);
    } catch (err) {
        if (options.vlanFiltering && err instanceof NotSupportedError) {
            throw new Error(
                `failed to configure bridge "${name}": this kernel has no bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING); leave \`vlanFiltering\` unset or false`,
                { cause: err },
            );
        }
        throw err;
    }
}
