// Link, address and route primitives over iproute2's JSON output (`ip -j`).
// Each function does one kernel operation; orchestration (and rollback) lives
// in the providers. `pid` selects a container's network namespace through
// nsenter, so no /var/run/netns links are ever created (nothing to leak).

import { inNetns, isHostCommandError, runHost } from "./run";

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

function isNoSuchDevice(err: unknown): boolean {
    return isHostCommandError(err) && /does not exist|Cannot find device|No such device/.test(err.stderr);
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
        if (isNoSuchDevice(err)) {
            return undefined;
        }
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
        if (isNoSuchDevice(err)) {
            return [];
        }
        throw err;
    }
}

export async function getDefaultRoutes(pid?: number): Promise<RouteInfo[]> {
    const out = await runHost("read default routes", ip(pid, ["-j", "-4", "route", "show", "default"]));
    return parseJson<RouteInfo>(out);
}

export interface VethSpec {
    hostIfName: string;
    peerIfName: string;
    /** The peer is created directly in this process's network namespace, under its final name. */
    peerPid: number;
    mtu?: number;
    peerMac?: string;
}

/**
 * Creates a veth pair in one kernel operation: the host end here, the peer
 * already inside the container's namespace with its final name, so there is
 * no window in which a half-made pair or a temporary name exists.
 */
export async function createVethPair(spec: VethSpec): Promise<void> {
    const mtu = spec.mtu === undefined ? [] : ["mtu", String(spec.mtu)];
    const mac = spec.peerMac === undefined ? [] : ["address", spec.peerMac];
    await runHost(`create veth pair "${spec.hostIfName}"/"${spec.peerIfName}"`, [
        "ip", "link", "add", "name", spec.hostIfName, ...mtu,
        "type", "veth", "peer", "name", spec.peerIfName, ...mtu, ...mac, "netns", String(spec.peerPid),
    ]);
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
        if (!isNoSuchDevice(err)) {
            throw err;
        }
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
        if (!(isHostCommandError(err) && /Cannot assign requested address/.test(err.stderr)) && !isNoSuchDevice(err)) {
            throw err;
        }
    }
}

/** Adds the IPv4 default route through `gateway`; fails if the namespace already has one. */
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
        if (!(isHostCommandError(err) && /No such process|Cannot find device/.test(err.stderr))) {
            throw err;
        }
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
        if (options.vlanFiltering && isHostCommandError(err) && /Operation not supported/.test(err.stderr)) {
            throw new Error(`failed to configure bridge "${name}": this kernel has no bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING); leave \`vlanFiltering\` unset or false`);
        }
        throw err;
    }
}
