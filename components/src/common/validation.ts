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

/** Parses a dotted-quad IPv4 address into a 32-bit number, or undefined. */
export function parseIPv4(text: string): number | undefined {
    const parts = text.split(".");
    if (parts.length !== 4) return undefined;
    let value = 0;
    for (const part of parts) {
        if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
        value = value * 256 + Number(part);
    }
    return value;
}

export interface ParsedCidr {
    address: number;
    prefix: number;
}

export function parseCidr(text: string): ParsedCidr | undefined {
    const match = /^([^/]+)\/([0-9]{1,2})$/.exec(text);
    if (!match) return undefined;
    const address = parseIPv4(match[1]);
    const prefix = Number(match[2]);
    if (address === undefined || prefix < 1 || prefix > 32) return undefined;
    return { address, prefix };
}

function networkOf(address: number, prefix: number): number {
    const size = 2 ** (32 - prefix);
    return address - (address % size);
}

/** An IPv4 network with its prefix length and host bits zero, up to /30: `10.10.0.0/24`. */
export function checkSubnet(field: string, value: unknown): string | undefined {
    const cidr = typeof value === "string" ? parseCidr(value) : undefined;
    if (!cidr || cidr.prefix > 30 || cidr.address % 2 ** (32 - cidr.prefix) !== 0) {
        return `\`${field}\` must be an IPv4 network with its prefix length (up to /30), host bits zero, like 10.10.0.0/24; got ${show(value)}`;
    }
    return undefined;
}

/** True when the IPv4 `address` lies in `subnet` (both valid). */
export function inSubnet(address: string, subnet: string): boolean {
    const a = parseIPv4(address)!;
    const s = parseCidr(subnet)!;
    return networkOf(a, s.prefix) === networkOf(s.address, s.prefix);
}

/**
 * Why a container's static `address` on a network of `subnet` (and
 * `gateway`, default the subnet's first address, as Docker does) cannot be
 * used, or undefined when it can. Values that are not valid are left to the
 * fields' own checks.
 */
export function staticAddressFailure(
    field: string,
    address: string,
    network: string,
    subnet: string,
    gateway?: string,
    gatewayIs = "its bridge's address",
): string | undefined {
    const a = parseIPv4(address);
    const s = parseCidr(subnet);
    if (a === undefined || !s) return undefined;
    const first = networkOf(s.address, s.prefix);
    const last = first + 2 ** (32 - s.prefix) - 1;
    if (networkOf(a, s.prefix) !== first) {
        return `\`${field}\` ${address} is outside ${network}'s subnet ${subnet}; choose an address inside it`;
    }
    if (a === first || a === last) {
        return `\`${field}\` ${address} is the ${a === first ? "network" : "broadcast"} address of ${network}'s subnet ${subnet}; choose a host address inside it`;
    }
    const gw = gateway !== undefined ? parseIPv4(gateway) : first + 1;
    if (a === gw) {
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

export function checkCidr(field: string, value: unknown): string | undefined {
    const example = "like 172.17.0.3/16";
    if (typeof value !== "string") {
        return `\`${field}\` must be an IPv4 address with its prefix length, ${example}; got ${show(value)}`;
    }
    const cidr = parseCidr(value);
    if (!cidr) {
        return `\`${field}\` must be an IPv4 address with its prefix length (1-32), ${example}; got ${show(value)}`;
    }
    if (cidr.prefix <= 30) {
        const network = networkOf(cidr.address, cidr.prefix);
        const broadcast = network + 2 ** (32 - cidr.prefix) - 1;
        if (cidr.address === network || cidr.address === broadcast) {
            const which = cidr.address === network ? "network" : "broadcast";
            return `\`${field}\` ${show(value)} is the ${which} address of its subnet; choose a host address inside it, ${example}`;
        }
    }
    return undefined;
}

/** A list of addresses with their prefix lengths, each as `checkCidr` wants it: `["10.20.0.1/24"]`. */
export function checkCidrList(field: string, value: unknown): string | undefined {
    if (!Array.isArray(value)) return `\`${field}\` must be a list of addresses like ["10.20.0.1/24"]; got ${show(value)}`;
    for (const [i, a] of value.entries()) {
        const reason = checkCidr(`${field}[${i}]`, a);
        if (reason) return reason;
    }
    return undefined;
}

export function checkIPv4(field: string, value: unknown): string | undefined {
    if (typeof value !== "string" || parseIPv4(value) === undefined) {
        return `\`${field}\` must be an IPv4 address without a prefix length, like 172.17.0.1; got ${show(value)}`;
    }
    return undefined;
}

/** The gateway must be reachable on the attachment's own subnet, and not the address itself. */
export function checkGatewayInSubnet(gateway: string, address: string): string | undefined {
    const cidr = parseCidr(address);
    const gw = parseIPv4(gateway);
    if (!cidr || gw === undefined) return undefined;
    if (gw === cidr.address) {
        return `\`gateway\` ${gateway} is the attachment's own \`address\`; use the bridge's address instead`;
    }
    if (networkOf(gw, cidr.prefix) !== networkOf(cidr.address, cidr.prefix)) {
        return `\`gateway\` ${gateway} is outside the subnet of \`address\` ${address}: the default route could not reach it; use an address in that subnet (usually the bridge's)`;
    }
    return undefined;
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
            return `\`${field}\` may not set ${show(key)}: labels under io.hostnet. (such as ${OWNER_LABEL}) are the library's ownership marks`;
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
    if (parseIPv4(hostIp) === undefined || hostPort < 1 || hostPort > 65535 || containerPort < 1 || containerPort > 65535) {
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

/** Endpoints on user-defined networks: `{ network, ipv4Address?, aliases? }`. */
export function checkEndpoints(field: string, value: unknown): string | undefined {
    if (!Array.isArray(value)) {
        return `\`${field}\` must be a list of { network, ipv4Address?, aliases? }; got ${show(value)}`;
    }
    const seen = new Set<string>();
    for (const [i, e] of value.entries()) {
        const at = `${field}[${i}]`;
        if (typeof e !== "object" || e === null) return `\`${at}\` must be { network, ipv4Address?, aliases? }; got ${show(e)}`;
        const { network, ipv4Address, aliases } = e as Record<string, unknown>;
        const reason =
            checkUserNetwork(`${at}.network`, network) ??
            (ipv4Address === undefined ? undefined : checkIPv4(`${at}.ipv4Address`, ipv4Address)) ??
            (aliases === undefined ? undefined : checkHostNames(`${at}.aliases`, aliases));
        if (reason) return reason;
        if (seen.has(network as string)) return `\`${at}.network\` ${show(network)} is listed twice`;
        seen.add(network as string);
    }
    return undefined;
}
