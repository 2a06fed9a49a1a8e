// The one address model of the library, for IPv4 and IPv6 alike: parse and
// print addresses and prefixes, their network and host bits, containment and
// overlap. Every check and every comparison of addresses, on both sides, goes
// through these functions.
//
// An address is its family and its value as a bigint (32 or 128 bits), so
// that one arithmetic serves both. IPv6 text is printed in RFC 5952's
// canonical form (lower case, the longest run of zero groups as `::`), the
// form `ip` prints: an address the user wrote as `FD17:0::3` is compared, and
// stored, as `fd17::3`.
//
// Common: pure, used by both the program and the engine.

export type Family = 4 | 6;

/** An address: its family and its bits. */
export interface Address {
    family: Family;
    value: bigint;
}

/** An address with its prefix length, as written (host bits included): `172.17.0.3/16`, `fd17:ac11::3/64`. */
export interface Cidr extends Address {
    prefix: number;
}

/** Bits of an address of each family. */
export const BITS: Record<Family, number> = { 4: 32, 6: 128 };

/** `IPv4` or `IPv6`, for messages. */
export function familyName(family: Family): string {
    return family === 4 ? "IPv4" : "IPv6";
}

/**
 * The family a text is meant to be, for choosing which message to give when
 * it is not valid: a colon means IPv6, anything else IPv4 (the messages of
 * IPv4 inputs are the ones they have always been).
 */
export function intendedFamily(text: unknown): Family {
    return typeof text === "string" && text.includes(":") ? 6 : 4;
}

/** A dotted quad: four decimal numbers 0-255 without leading zeros. */
function parseIPv4(text: string): bigint | undefined {
    const parts = text.split(".");
    if (parts.length !== 4) return undefined;
    let value = 0n;
    for (const part of parts) {
        if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
        value = value * 256n + BigInt(part);
    }
    return value;
}

/**
 * RFC 4291's text forms: eight groups of 1-4 hex digits, one `::` standing
 * for one or more zero groups, and a dotted quad for the last 32 bits
 * (`::ffff:10.0.0.1`). No zone (`%eth0`): an address on an interface here is
 * never scoped by name.
 */
function parseIPv6(text: string): bigint | undefined {
    if (!/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
    const halves = text.split("::");
    if (halves.length > 2) return undefined;
    const groupsOf = (part: string, last: boolean): number[] | undefined => {
        if (part === "") return [];
        const out: number[] = [];
        const pieces = part.split(":");
        for (const [i, piece] of pieces.entries()) {
            if (last && i === pieces.length - 1 && piece.includes(".")) {
                const v4 = parseIPv4(piece);
                if (v4 === undefined) return undefined;
                out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
            } else if (/^[0-9A-Fa-f]{1,4}$/.test(piece)) {
                out.push(parseInt(piece, 16));
            } else {
                return undefined;
            }
        }
        return out;
    };
    const head = groupsOf(halves[0], halves.length === 1);
    const tail = halves.length === 2 ? groupsOf(halves[1], true) : [];
    if (!head || !tail) return undefined;
    const missing = 8 - head.length - tail.length;
    if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
    const groups = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
    return groups.reduce((v, g) => (v << 16n) | BigInt(g), 0n);
}

/** An address of either family, without a prefix length, or undefined when the text is none. */
export function parseAddress(text: string): Address | undefined {
    if (typeof text !== "string") return undefined;
    const v4 = parseIPv4(text);
    if (v4 !== undefined) return { family: 4, value: v4 };
    const v6 = text.includes(":") ? parseIPv6(text) : undefined;
    return v6 === undefined ? undefined : { family: 6, value: v6 };
}

/** `address/prefix`, with a prefix length of 1-32 (IPv4) or 1-128 (IPv6), or undefined. */
export function parseCidr(text: string): Cidr | undefined {
    if (typeof text !== "string") return undefined;
    const match = /^([^/]+)\/([0-9]{1,3})$/.exec(text);
    if (!match) return undefined;
    const address = parseAddress(match[1]);
    const prefix = Number(match[2]);
    if (!address || prefix < 1 || prefix > BITS[address.family]) return undefined;
    return { ...address, prefix };
}

/** The address in text: a dotted quad, or RFC 5952's canonical IPv6 form. */
export function formatAddress(a: Address): string {
    if (a.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((a.value >> s) & 0xffn)).join(".");
    const groups = Array.from({ length: 8 }, (_, i) => Number((a.value >> BigInt(112 - 16 * i)) & 0xffffn));
    // An IPv4-mapped address keeps its dotted tail, as the kernel prints it.
    if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
        return `::ffff:${formatAddress({ family: 4, value: a.value & 0xffffffffn })}`;
    }
    // The longest run of at least two zero groups (the first of equal ones) becomes `::`.
    let best = { at: -1, length: 1 };
    for (let i = 0; i < 8;) {
        if (groups[i] !== 0) {
            i++;
            continue;
        }
        let j = i;
        while (j < 8 && groups[j] === 0) j++;
        if (j - i > best.length) best = { at: i, length: j - i };
        i = j;
    }
    const hex = groups.map((g) => g.toString(16));
    if (best.at < 0) return hex.join(":");
    return `${hex.slice(0, best.at).join(":")}::${hex.slice(best.at + best.length).join(":")}`;
}

/** `address/prefix` in canonical text. */
export function formatCidr(c: Cidr): string {
    return `${formatAddress(c)}/${c.prefix}`;
}

/**
 * The canonical text of an IPv6 address or `address/prefix` (RFC 5952's
 * form, as the kernel prints it). Anything else is returned as it is: IPv4
 * text (whose valid forms are canonical already, and which stacks have
 * stored as written), and text that is neither (its own check says why).
 */
export function canonical(text: string): string {
    if (typeof text !== "string" || !text.includes(":")) return text;
    const cidr = text.includes("/") ? parseCidr(text) : undefined;
    if (cidr) return formatCidr(cidr);
    const address = parseAddress(text);
    return address ? formatAddress(address) : text;
}

/** The address part of `address/prefix` (or the text itself when it has no prefix). */
export function addressPart(text: string): string {
    return text.split("/")[0];
}

/** The family of an address or `address/prefix`, or undefined when it is neither. */
export function familyOf(text: string): Family | undefined {
    return (parseCidr(text) ?? parseAddress(text))?.family;
}

/** The mask of `prefix` host bits' complement: the network bits set. */
function hostMask(family: Family, prefix: number): bigint {
    return (1n << BigInt(BITS[family] - prefix)) - 1n;
}

/** The first address of the prefix's network (host bits zero). */
export function networkOf(c: Cidr): bigint {
    return c.value & ~hostMask(c.family, c.prefix);
}

/** The last address of the prefix's network (host bits all one: IPv4's broadcast address). */
export function lastOf(c: Cidr): bigint {
    return c.value | hostMask(c.family, c.prefix);
}

/** True when the prefix's host bits are all zero: `10.10.0.0/24`, `fd17::/64`. */
export function isNetwork(c: Cidr): boolean {
    return c.value === networkOf(c);
}

/** The network of a prefix, as `Cidr` with its host bits zero. */
export function network(c: Cidr): Cidr {
    return { ...c, value: networkOf(c) };
}

/** True when `a` lies in the network of `net` (same family). */
export function contains(net: Cidr, a: Address): boolean {
    return net.family === a.family && (a.value & ~hostMask(net.family, net.prefix)) === networkOf(net);
}

/** True when the networks of two prefixes share an address (same family). */
export function overlaps(x: Cidr, y: Cidr): boolean {
    if (x.family !== y.family) return false;
    const prefix = Math.min(x.prefix, y.prefix);
    return contains({ ...x, prefix }, y);
}

/** True when the network of `inner` lies wholly inside the network of `outer`. */
export function within(inner: Cidr, outer: Cidr): boolean {
    return inner.family === outer.family && inner.prefix >= outer.prefix && contains(outer, inner);
}

/** The address `n` past the prefix's network address: `offset(10.0.0.0/24, 1n)` is 10.0.0.1. */
export function offset(c: Cidr, n: bigint): Address {
    return { family: c.family, value: networkOf(c) + n };
}

/** True when both are the same address, whatever the text (`fd17::3` and `FD17:0::3`). */
export function sameAddress(a: string, b: string): boolean {
    const x = parseAddress(a);
    const y = parseAddress(b);
    return x !== undefined && y !== undefined && x.family === y.family && x.value === y.value;
}

const LINK_LOCAL_6: Cidr = { family: 6, value: 0xfe80n << 112n, prefix: 10 };

/** True for an IPv6 link-local address (fe80::/10): the kernel gives every interface one by itself. */
export function isLinkLocal(a: Address): boolean {
    return contains(LINK_LOCAL_6, a);
}

const SPECIAL: { net: Cidr; what: string }[] = [
    { net: { family: 6, value: 0n, prefix: 128 }, what: "the unspecified address" },
    { net: { family: 6, value: 1n, prefix: 128 }, what: "the loopback address" },
    { net: { family: 6, value: 0xffffn << 32n, prefix: 96 }, what: "an IPv4-mapped address (write the IPv4 address itself)" },
    { net: { family: 6, value: 0xffn << 120n, prefix: 8 }, what: "a multicast address" },
    { net: { family: 4, value: 127n << 24n, prefix: 8 }, what: "a loopback address" },
    { net: { family: 4, value: 224n << 24n, prefix: 4 }, what: "a multicast address" },
];

/**
 * Why an address cannot be an interface's own, or undefined when it can:
 * loopback, multicast, unspecified and IPv4-mapped addresses are not for an
 * interface. (Link-local ones are refused apart: see isLinkLocal.)
 */
export function specialUse(a: Address): string | undefined {
    return SPECIAL.find((s) => contains(s.net, a))?.what;
}
