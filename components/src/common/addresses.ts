// IP addresses and prefixes of either family, as the firewall and the probes
// use them: parsed, and written back in the one form the kernel's tools print
// (`nft list`, `ip -j addr`): dotted quads, and IPv6 in RFC 5952's short
// lower-case form. Kept apart from validation.ts's IPv4 helpers so that a
// rule or a probe never has to know which family it is given.
//
// Common: pure, used by both the program and the engine.

/** An address or a prefix of either family. */
export interface IpPrefix {
    family: 4 | 6;
    /** The address as a number (IPv4: 32 bits, IPv6: 128 bits). */
    value: bigint;
    /** Prefix length: 32 or 128 for a single address. */
    length: number;
}

const V4_PART = /^(0|[1-9][0-9]{0,2})$/;

function parseV4(text: string): bigint | undefined {
    const parts = text.split(".");
    if (parts.length !== 4 || parts.some((p) => !V4_PART.test(p) || Number(p) > 255)) return undefined;
    return parts.reduce((v, p) => (v << 8n) | BigInt(Number(p)), 0n);
}

function parseV6(text: string): bigint | undefined {
    if (!/^[0-9a-fA-F:.]+$/.test(text) || text.split("::").length > 2) return undefined;
    // An embedded IPv4 address at the end (`::ffff:10.0.0.1`) stands for the last two groups.
    const lastColon = text.lastIndexOf(":");
    let body = text;
    if (text.slice(lastColon + 1).includes(".")) {
        const v4 = parseV4(text.slice(lastColon + 1));
        if (v4 === undefined) return undefined;
        body = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
    }
    const halves = body.split("::");
    const head = halves[0] === "" ? [] : halves[0].split(":");
    const tail = halves.length === 2 ? (halves[1] === "" ? [] : halves[1].split(":")) : [];
    if (halves.length === 1 && head.length !== 8) return undefined;
    if (halves.length === 2 && head.length + tail.length > 7) return undefined;
    const zeros = halves.length === 2 ? 8 - head.length - tail.length : 0;
    let value = 0n;
    for (const g of [...head, ...Array<string>(zeros).fill("0"), ...tail]) {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        value = (value << 16n) | BigInt(parseInt(g, 16));
    }
    return value;
}

/** An address without prefix length (`10.0.0.5`, `fd00::5`), or undefined. */
export function parseAddress(text: string): IpPrefix | undefined {
    if (typeof text !== "string") return undefined;
    const v4 = parseV4(text);
    if (v4 !== undefined) return { family: 4, value: v4, length: 32 };
    const v6 = text.includes(":") ? parseV6(text) : undefined;
    return v6 === undefined ? undefined : { family: 6, value: v6, length: 128 };
}

/** An address or a prefix (`10.0.0.0/8`, `fd00::/64`, `10.0.0.5`), or undefined. */
export function parsePrefix(text: string): IpPrefix | undefined {
    if (typeof text !== "string") return undefined;
    const slash = text.indexOf("/");
    if (slash < 0) return parseAddress(text);
    const address = parseAddress(text.slice(0, slash));
    const length = text.slice(slash + 1);
    if (!address || !/^(0|[1-9][0-9]{0,2})$/.test(length)) return undefined;
    const n = Number(length);
    if (n > (address.family === 4 ? 32 : 128)) return undefined;
    return { ...address, length: n };
}

function bits(family: 4 | 6): number {
    return family === 4 ? 32 : 128;
}

/** The prefix with its host bits cleared (`10.1.2.3/8` -> `10.0.0.0/8`). */
export function networkOf(p: IpPrefix): IpPrefix {
    const host = bits(p.family) - p.length;
    return { ...p, value: (p.value >> BigInt(host)) << BigInt(host) };
}

/** True when `p` has host bits set: `10.1.2.3/8` names an address, not a network. */
export function hasHostBits(p: IpPrefix): boolean {
    return networkOf(p).value !== p.value;
}

/** True when `inner` lies inside `outer` (same family). */
export function contains(outer: IpPrefix, inner: IpPrefix): boolean {
    return (
        outer.family === inner.family &&
        outer.length <= inner.length &&
        networkOf({ ...inner, length: outer.length }).value === networkOf(outer).value
    );
}

function formatV4(value: bigint): string {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join(".");
}

/** RFC 5952: lower case, no leading zeros, the longest run (2+) of zero groups as `::` (the first one on a tie). */
function formatV6(value: bigint): string {
    const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
    // An IPv4-mapped address keeps its dotted tail, as the kernel's tools print it.
    if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${formatV4(value & 0xffffffffn)}`;
    let best = { at: -1, len: 1 };
    for (let i = 0; i < 8;) {
        if (groups[i] !== 0) {
            i++;
            continue;
        }
        let j = i;
        while (j < 8 && groups[j] === 0) j++;
        if (j - i > best.len) best = { at: i, len: j - i };
        i = j;
    }
    const hex = groups.map((g) => g.toString(16));
    if (best.at < 0) return hex.join(":");
    return `${hex.slice(0, best.at).join(":")}::${hex.slice(best.at + best.len).join(":")}`;
}

/** The address as the kernel's tools print it. */
export function formatAddress(p: IpPrefix): string {
    return p.family === 4 ? formatV4(p.value) : formatV6(p.value);
}

/** The prefix as nft prints it: a single address without `/32` (`/128`), else `address/length`. */
export function formatPrefix(p: IpPrefix): string {
    return p.length === bits(p.family) ? formatAddress(p) : `${formatAddress(p)}/${p.length}`;
}

/** The canonical text of an address or prefix, or undefined when it does not parse. */
export function canonicalPrefix(text: string): string | undefined {
    const p = parsePrefix(text);
    return p ? formatPrefix(p) : undefined;
}

/** The family of an address or prefix, or undefined. */
export function familyOf(text: string): 4 | 6 | undefined {
    return parsePrefix(text)?.family;
}

/** The address of an interface address with its prefix length (`172.17.0.3/16` -> `172.17.0.3`), canonical. */
export function hostPart(cidr: string): string | undefined {
    const p = parsePrefix(cidr);
    return p ? formatAddress(p) : undefined;
}

/** Is `text` an address of a family, without prefix length? */
export function isAddress(text: unknown): boolean {
    return typeof text === "string" && !text.includes("/") && parseAddress(text) !== undefined;
}

/**
 * Addresses a container can be reached at, out of what `ip -j addr` lists:
 * every IPv4 address but loopback's, and every IPv6 address of global scope
 * (not loopback, not link-local: the host never forwards those).
 */
export function reachableAddresses(addrs: readonly { family: string; local: string; scope?: string }[]): string[] {
    const out: string[] = [];
    for (const a of addrs) {
        const p = parseAddress(a.local);
        if (!p) continue;
        if (p.family === 4 && p.value >> 24n === 127n) continue;
        if (p.family === 6 && (a.scope !== undefined ? a.scope !== "global" : p.value === 1n || p.value >> 118n === 0x3fan)) continue;
        out.push(formatAddress(p));
    }
    return out;
}
