// Input validation shared by components (prompt errors when the program runs)
// and dynamic providers (`check`, which fails the preview before anything on
// the host is touched). Pure functions: no host access, no Pulumi imports.
//
// Common: pure, used by both the program and the engine.
//
// Why strict: a bad value that reaches the host fails halfway through a
// multi-step operation (a veth made, its address refused), and the kernel's
// error ("Invalid argument") names neither the field nor the fix. Each message
// here names the field in backticks, what is allowed, and what was given.

import {
    addressPart,
    BITS,
    canonical,
    contains,
    Family,
    familyName,
    intendedFamily,
    isLinkLocal,
    isNetwork,
    lastOf,
    networkOf,
    parseAddress,
    parseCidr,
    specialUse,
} from "./address";
import { MAX_IFNAME_LENGTH, OWNER_LABEL } from "./naming";

/** One bad field, in the shape a provider's `check` returns. */
export interface InputFailure {
    property: string;
    reason: string;
}

const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const DOCKER_ID = /^[0-9a-f]{12,64}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const IMAGE_REF = /^[a-z0-9][a-z0-9._\/-]*(:[A-Za-z0-9_.-]{1,128})?(@sha256:[0-9a-f]{64})?$/;

/**
 * What the engine passes to `check` and `diff` during a preview for a value not
 * known yet (an Output of a resource still to be created).
 */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True when the value is given and entirely known (not a preview's unknown). */
export function isKnown(value: unknown): boolean {
    return value !== undefined && !containsUnknown(value);
}

/** True when the value, or anything inside it, is not known yet: it is checked once it is. */
export function containsUnknown(value: unknown): boolean {
    if (value === UNKNOWN) return true;
    if (Array.isArray(value)) return value.some(containsUnknown);
    if (typeof value === "object" && value !== null) return Object.values(value).some(containsUnknown);
    return false;
}

/** A value as the user would recognise it: strings quoted, NaN and Infinity as such (JSON would say null). */
function show(value: unknown): string {
    if (typeof value === "number" && !Number.isFinite(value)) return String(value);
    return JSON.stringify(value) ?? String(value);
}

const EXAMPLE_CIDR: Record<Family, string> = { 4: "172.17.0.3/16", 6: "fd17:ac11::3/64" };
const EXAMPLE_ADDRESS: Record<Family, string> = { 4: "172.17.0.1", 6: "fd17:ac11::1" };
const EXAMPLE_SUBNET: Record<Family, string> = { 4: "10.10.0.0/24", 6: "fd17:10::/64" };
/** The longest prefix of a network that still has room for a gateway and an address or two. */
const MAX_SUBNET_PREFIX: Record<Family, number> = { 4: 30, 6: 126 };

/** The family a message speaks of: the one the text looks like, when the field takes it; else the field's first. */
function messageFamily(value: unknown, families: readonly Family[]): Family {
    const meant = intendedFamily(value);
    return families.includes(meant) ? meant : families[0];
}

/** A network with its prefix length and host bits zero, up to /30 (IPv4) or /126 (IPv6): `10.10.0.0/24`, `fd17:10::/64`. */
export function checkSubnet(field: string, value: unknown, family: Family = 4): string | undefined {
    const cidr = typeof value === "string" ? parseCidr(value) : undefined;
    if (!cidr || cidr.family !== family || cidr.prefix > MAX_SUBNET_PREFIX[family] || !isNetwork(cidr)) {
        return `\`${field}\` must be an ${familyName(family)} network with its prefix length (up to /${MAX_SUBNET_PREFIX[family]}), host bits zero, like ${EXAMPLE_SUBNET[family]}; got ${show(value)}`;
    }
    return undefined;
}

/** True when `address` lies in `subnet` (both valid, of one family; false across families). */
export function inSubnet(address: string, subnet: string): boolean {
    const a = parseAddress(addressPart(address));
    const s = parseCidr(subnet);
    return a !== undefined && s !== undefined && contains(s, a);
}

/**
 * Why a container's static `address` on a network of `subnet` (and
 * `gateway`, default the subnet's first address, as Docker does) cannot be
 * used, or undefined when it can. Either family; values that are not valid
 * (or not of the subnet's family) are left to the fields' own checks.
 */
export function staticAddressFailure(
    field: string,
    address: string,
    network: string,
    subnet: string,
    gateway?: string,
    gatewayIs = "its bridge's address",
): string | undefined {
    const a = parseAddress(address);
    const s = parseCidr(subnet);
    if (a === undefined || !s || a.family !== s.family) return undefined;
    if (!contains(s, a)) {
        return `\`${field}\` ${address} is outside ${network}'s subnet ${subnet}; choose an address inside it`;
    }
    const first = networkOf(s);
    // IPv6 has no broadcast address; its all-zero host part is the subnet-router anycast address.
    const last = s.family === 4 ? lastOf(s) : undefined;
    if (a.value === first || a.value === last) {
        return `\`${field}\` ${address} is the ${a.value === first ? "network" : "broadcast"} address of ${network}'s subnet ${subnet}; choose a host address inside it`;
    }
    const gw = gateway !== undefined ? parseAddress(gateway)?.value : first + 1n;
    if (a.value === gw) {
        return `\`${field}\` ${address} is ${network}'s gateway (${gatewayIs}); choose another address in ${subnet}`;
    }
    return undefined;
}

export function checkIfName(field: string, value: unknown): string | undefined {
    if (typeof value !== "string" || value.length === 0) {
        return `\`${field}\` must be an interface name (a non-empty string); got ${show(value)}`;
    }
    if (value.length > MAX_IFNAME_LENGTH) {
        return `\`${field}\` must be at most ${MAX_IFNAME_LENGTH} characters (the kernel's limit on interface names); ${show(value)} has ${value.length}`;
    }
    if (!IFNAME.test(value)) {
        return `\`${field}\` may hold only letters, digits, '_', '.' and '-', starting with a letter or digit; got ${show(value)}`;
    }
    if (RESERVED_IFNAMES.includes(value)) {
        return `\`${field}\` ${show(value)} is a name the kernel reserves (${RESERVED_IFNAMES.join(", ")}); choose another`;
    }
    return undefined;
}

/** Names the kernel refuses for an interface ("all" and "default" name sysctl folders) or every namespace has ("lo"). */
const RESERVED_IFNAMES = ["all", "default", "lo"];

/**
 * An interface's own address with its prefix length, of the `families` the
 * field takes: `172.17.0.3/16`, `fd17:ac11::3/64`. Refused: the network (and
 * IPv4's broadcast) address of its subnet, loopback, multicast and the like,
 * and IPv6 link-local addresses (the kernel gives every interface one by
 * itself, and the library leaves those alone).
 */
export function checkCidr(field: string, value: unknown, families: readonly Family[] = [4, 6]): string | undefined {
    const family = messageFamily(value, families);
    const example = `like ${EXAMPLE_CIDR[family]}`;
    if (typeof value !== "string") {
        return `\`${field}\` must be an ${familyName(family)} address with its prefix length, ${example}; got ${show(value)}`;
    }
    const cidr = parseCidr(value);
    if (!cidr || !families.includes(cidr.family) || cidr.family !== family) {
        return `\`${field}\` must be an ${familyName(family)} address with its prefix length (1-${BITS[family]}), ${example}; got ${show(value)}`;
    }
    const special = specialUse(cidr);
    if (special) {
        return `\`${field}\` ${show(value)} is ${special}, not an interface's own; choose a host address, ${example}`;
    }
    if (isLinkLocal(cidr)) {
        return `\`${field}\` ${show(value)} is a link-local address: the kernel gives every interface one by itself; choose a global or unique local address, ${example}`;
    }
    // Up to /30 (IPv4) and /126 (IPv6): in a /31 or /32 (/127, /128) every address is a host's.
    if (cidr.prefix <= MAX_SUBNET_PREFIX[family]) {
        const which = cidr.value === networkOf(cidr) ? "network" : family === 4 && cidr.value === lastOf(cidr) ? "broadcast" : undefined;
        if (which) {
            return `\`${field}\` ${show(value)} is the ${which} address of its subnet; choose a host address inside it, ${example}`;
        }
    }
    return undefined;
}

/** A list of interface addresses of either family, each once (`addresses` of attachments, link ends, bridges). */
export function checkCidrList(field: string, value: unknown, options: { nonEmpty?: boolean } = {}): string | undefined {
    if (!Array.isArray(value)) {
        return `\`${field}\` must be a list of addresses with their prefix lengths, like ["172.17.0.3/16", "fd17:ac11::3/64"]; got ${JSON.stringify(value)}`;
    }
    if (options.nonEmpty && value.length === 0) {
        return `\`${field}\` must list at least one address, like ["172.17.0.3/16", "fd17:ac11::3/64"]`;
    }
    const seen = new Map<string, number>();
    for (const [i, a] of value.entries()) {
        const reason = checkCidr(`${field}[${i}]`, a);
        if (reason) return reason;
        const key = canonical((a as string).split("/")[0]);
        if (seen.has(key))
            return `\`${field}\` lists ${key} twice (\`${field}[${seen.get(key)}]\` and \`${field}[${i}]\`); give each address once`;
        seen.set(key, i);
    }
    return undefined;
}

/** An address without a prefix length, of the `families` the field takes. */
export function checkAddress(field: string, value: unknown, families: readonly Family[] = [4, 6]): string | undefined {
    const family = messageFamily(value, families);
    const a = typeof value === "string" ? parseAddress(value) : undefined;
    if (!a || a.family !== family) {
        return `\`${field}\` must be an ${familyName(family)} address without a prefix length, like ${EXAMPLE_ADDRESS[family]}; got ${show(value)}`;
    }
    return undefined;
}

export function checkIPv4(field: string, value: unknown): string | undefined {
    return checkAddress(field, value, [4]);
}

export function checkIPv6(field: string, value: unknown): string | undefined {
    return checkAddress(field, value, [6]);
}

/**
 * The gateway must be reachable on the attachment's own subnet, and not the
 * address itself. An IPv6 link-local gateway (`fe80::1`) is on every link:
 * always reachable. Both of one family (the caller pairs them).
 */
export function checkGatewayInSubnet(
    gateway: string,
    address: string,
    fields: { gateway: string; address: string } = { gateway: "gateway", address: "address" },
): string | undefined {
    const cidr = parseCidr(address);
    const gw = parseAddress(gateway);
    if (!cidr || gw === undefined || cidr.family !== gw.family) return undefined;
    if (gw.value === cidr.value) {
        return `\`${fields.gateway}\` ${gateway} is the attachment's own \`${fields.address}\`; use the bridge's address instead`;
    }
    if (!contains(cidr, gw) && !isLinkLocal(gw)) {
        return `\`${fields.gateway}\` ${gateway} is outside the subnet of \`${fields.address}\` ${address}: the default route could not reach it; use an address in that subnet (usually the bridge's)`;
    }
    return gatewayEdgeFailure(gateway, address, fields, "usually the bridge's");
}

/**
 * The one rule of a gateway on its subnet's edge: the network address of the
 * subnet of `address` (IPv6's all-zero host part too) or, for IPv4, its
 * broadcast address, is no router's (up to /30 and /126, as checkCidr: in a
 * /31 or /32 every address is a host's). Undefined when the gateway is
 * neither, or either value is not valid (their own checks say why).
 */
export function gatewayEdgeFailure(
    gateway: string,
    address: string,
    fields: { gateway: string; address: string },
    whose: string,
): string | undefined {
    const cidr = parseCidr(address);
    const gw = parseAddress(gateway);
    if (!cidr || gw === undefined || cidr.family !== gw.family || !contains(cidr, gw)) return undefined;
    if (cidr.prefix > MAX_SUBNET_PREFIX[cidr.family]) return undefined;
    const which = gw.value === networkOf(cidr) ? "network" : cidr.family === 4 && gw.value === lastOf(cidr) ? "broadcast" : undefined;
    if (!which) return undefined;
    return `\`${fields.gateway}\` ${gateway} is the ${which} address of the subnet of \`${fields.address}\` ${address}, not a router's; use the router's address in that subnet (${whose})`;
}

export function checkBoolean(field: string, value: unknown): string | undefined {
    return typeof value === "boolean" ? undefined : `\`${field}\` must be true or false; got ${show(value)}`;
}

export function checkMtu(field: string, value: unknown): string | undefined {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 68 || value > 65535) {
        return `\`${field}\` must be an integer from 68 to 65535 (bytes); got ${show(value)}`;
    }
    return undefined;
}

export function checkMac(field: string, value: unknown): string | undefined {
    if (typeof value !== "string" || !MAC.test(value)) {
        return `\`${field}\` must be a MAC address like 02:42:ac:11:00:03; got ${show(value)}`;
    }
    if (/^(00:){5}00$/.test(value)) {
        return `\`${field}\` ${show(value)} is the all-zero MAC, which no interface may have; use a unicast one such as 02:...`;
    }
    if (parseInt(value.slice(0, 2), 16) & 1) {
        return `\`${field}\` ${show(value)} is a multicast address (lowest bit of the first byte set); use a unicast one such as 02:...`;
    }
    return undefined;
}

export function checkContainerRef(field: string, value: unknown): string | undefined {
    if (typeof value !== "string" || !(DOCKER_NAME.test(value) || DOCKER_ID.test(value))) {
        return `\`${field}\` must be a container name or id (letters, digits, '_', '.', '-'); got ${show(value)}`;
    }
    return undefined;
}

export function checkContainerName(field: string, value: unknown): string | undefined {
    if (typeof value !== "string" || !DOCKER_NAME.test(value)) {
        return `\`${field}\` must be a Docker container name: letters, digits, '_', '.', '-', starting with a letter or digit; got ${show(value)}`;
    }
    return undefined;
}

export function checkImage(field: string, value: unknown): string | undefined {
    if (typeof value !== "string" || !IMAGE_REF.test(value)) {
        return `\`${field}\` must be an image reference like hostnet/busybox:1 (lower-case repository, optional tag); got ${show(value)}`;
    }
    return undefined;
}

export function checkStringArray(field: string, value: unknown): string | undefined {
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
        return `\`${field}\` must be a list of strings; got ${show(value)}`;
    }
    return undefined;
}

export function checkLabels(field: string, value: unknown): string | undefined {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return `\`${field}\` must be a map of label names to string values; got ${show(value)}`;
    }
    for (const [key, v] of Object.entries(value)) {
        if (key === "" || typeof v !== "string") {
            return `\`${field}\` must map non-empty label names to strings; ${show(key)} maps to ${show(v)}`;
        }
        if (key.startsWith("io.hostnet.")) {
            return `\`${field}\` may not set ${show(key)}: labels under io.hostnet. (such as ${OWNER_LABEL}) are the library's ownership marks; choose another label name`;
        }
    }
    return undefined;
}

/**
 * `docker run --net` modes: bridge, none, host, container:<name|id>, or the
 * name of a user-defined network.
 */
export function checkNetworkMode(field: string, value: unknown): string | undefined {
    if (typeof value !== "string" || value === "") {
        return `\`${field}\` must be one of bridge, none, host, container:<name or id>, or a network name; got ${show(value)}`;
    }
    if (value.startsWith("container:")) {
        const target = value.slice("container:".length);
        return target === "" || checkContainerRef(field, target)
            ? `\`${field}\` ${show(value)} must name a container after "container:", like container:web`
            : undefined;
    }
    return DOCKER_NAME.test(value)
        ? undefined
        : `\`${field}\` must be one of bridge, none, host, container:<name or id>, or a network name; got ${show(value)}`;
}

type Check = (field: string, value: unknown) => string | undefined;

/** Runs `check` on each field that is present, collecting every failure at once. */
export function checkFields(inputs: Record<string, unknown>, rules: Record<string, { check: Check; required?: boolean }>): InputFailure[] {
    const failures: InputFailure[] = [];
    for (const [field, rule] of Object.entries(rules)) {
        const value = inputs[field];
        if (containsUnknown(value)) continue;
        if (value === undefined || value === null) {
            if (rule.required) failures.push({ property: field, reason: `\`${field}\` is required` });
            continue;
        }
        const reason = rule.check(field, value);
        if (reason) failures.push({ property: field, reason });
    }
    return failures;
}

/** One error for a failed operation listing every failure: "failed to <what>:\n  - <reason>...". */
export function failuresError(what: string, failures: InputFailure[]): Error {
    return new Error(`failed to ${what}:\n${failures.map((f) => `  - ${f.reason}`).join("\n")}`);
}

/** Throws one error listing every failure, for prompt checks in components. */
export function throwIfFailures(what: string, failures: InputFailure[]): void {
    if (failures.length === 0) return;
    const lines = failures.map((f) => `  - ${f.reason}`).join("\n");
    throw new Error(`invalid ${what}:\n${lines}`);
}

/** A published port, as `docker run -p [host_ip:]host_port:container_port[/proto]`. */
export interface PortSpec {
    hostIp: string;
    hostPort: number;
    containerPort: number;
    protocol: "tcp" | "udp" | "sctp";
}

const PORT_SPEC = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5}):(\d{1,5})(?:\/(tcp|udp|sctp))?$/;

/** Parses `127.0.0.1:8080:80/tcp`; the host address defaults to 0.0.0.0, the protocol to tcp. */
export function parsePortSpec(text: string): PortSpec | undefined {
    const m = PORT_SPEC.exec(text);
    if (!m) return undefined;
    const hostIp = m[1] ?? "0.0.0.0";
    const hostPort = Number(m[2]);
    const containerPort = Number(m[3]);
    if (parseAddress(hostIp)?.family !== 4 || hostPort < 1 || hostPort > 65535 || containerPort < 1 || containerPort > 65535) {
        return undefined;
    }
    return { hostIp, hostPort, containerPort, protocol: (m[4] ?? "tcp") as PortSpec["protocol"] };
}

export function checkPorts(field: string, value: unknown): string | undefined {
    if (!Array.isArray(value)) {
        return `\`${field}\` must be a list like ["127.0.0.1:8080:80/tcp"]; got ${show(value)}`;
    }
    for (const item of value) {
        if (typeof item !== "string" || !parsePortSpec(item)) {
            return `\`${field}\` entry ${show(item)} must read [host_ip:]host_port:container_port[/tcp|udp|sctp], like 127.0.0.1:8080:80/tcp (ports 1-65535)`;
        }
    }
    const seen = new Set<string>();
    for (const item of value as string[]) {
        const p = parsePortSpec(item)!;
        const key = `${p.hostIp}:${p.hostPort}/${p.protocol}`;
        if (seen.has(key)) return `\`${field}\` publishes ${key} twice`;
        seen.add(key);
    }
    return undefined;
}

export function checkRestartPolicy(field: string, value: unknown): string | undefined {
    if (typeof value !== "string" || !/^(no|always|unless-stopped|on-failure(:[1-9][0-9]*)?)$/.test(value)) {
        return `\`${field}\` must be one of no, always, unless-stopped, on-failure or on-failure:<max retries>; got ${show(value)}`;
    }
    return undefined;
}

/** The network modes that are not user-defined networks. */
export function isBuiltinNetworkMode(mode: string): boolean {
    return mode === "bridge" || mode === "none" || mode === "host" || mode === "default" || mode.startsWith("container:");
}

export function checkUserNetwork(field: string, value: unknown): string | undefined {
    if (typeof value !== "string" || !DOCKER_NAME.test(value) || isBuiltinNetworkMode(value)) {
        return `\`${field}\` must name a user-defined network (not bridge, host, none or container:); got ${show(value)}`;
    }
    return undefined;
}

export function checkHostNames(field: string, value: unknown): string | undefined {
    if (!Array.isArray(value) || value.some((a) => typeof a !== "string" || !DOCKER_NAME.test(a))) {
        return `\`${field}\` must be a list of host names (letters, digits, '_', '.', '-'); got ${show(value)}`;
    }
    return undefined;
}

/** Endpoints on user-defined networks: `{ network, ipv4Address?, ipv6Address?, aliases? }`. */
export function checkEndpoints(field: string, value: unknown): string | undefined {
    const shape = "{ network, ipv4Address?, ipv6Address?, aliases? }";
    if (!Array.isArray(value)) {
        return `\`${field}\` must be a list of ${shape}; got ${show(value)}`;
    }
    const seen = new Set<string>();
    for (const [i, e] of value.entries()) {
        const at = `${field}[${i}]`;
        if (typeof e !== "object" || e === null) return `\`${at}\` must be ${shape}; got ${show(e)}`;
        const { network, ipv4Address, ipv6Address, aliases } = e as Record<string, unknown>;
        const reason =
            checkUserNetwork(`${at}.network`, network) ??
            (ipv4Address === undefined ? undefined : checkIPv4(`${at}.ipv4Address`, ipv4Address)) ??
            (ipv6Address === undefined ? undefined : checkIPv6(`${at}.ipv6Address`, ipv6Address)) ??
            (aliases === undefined ? undefined : checkHostNames(`${at}.aliases`, aliases));
        if (reason) return reason;
        if (seen.has(network as string)) return `\`${at}.network\` ${show(network)} is listed twice`;
        seen.add(network as string);
    }
    return undefined;
}
