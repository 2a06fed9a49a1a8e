// The address model of common/address.ts, for both families, as tables: what
// each text parses to, prints as, and how prefixes contain and overlap.

import * as assert from "node:assert/strict";
import {
    canonical,
    contains,
    familyOf,
    formatAddress,
    isLinkLocal,
    isNetwork,
    lastOf,
    networkOf,
    overlaps,
    parseAddress,
    parseCidr,
    sameAddress,
    specialUse,
    within,
} from "../../components/src/common/address";

const cidr = (text: string) => {
    const c = parseCidr(text);
    assert.ok(c, `${text} parses`);
    return c;
};
const address = (text: string) => {
    const a = parseAddress(text);
    assert.ok(a, `${text} parses`);
    return a;
};

describe("address model: parsing and printing", () => {
    const valid: [string, 4 | 6, string][] = [
        // text, family, canonical text (RFC 5952 for IPv6, as `ip` prints it)
        ["172.17.0.3", 4, "172.17.0.3"],
        ["0.0.0.0", 4, "0.0.0.0"],
        ["255.255.255.255", 4, "255.255.255.255"],
        ["fd17:ac11::3", 6, "fd17:ac11::3"],
        ["FD17:AC11::3", 6, "fd17:ac11::3"],
        ["fd17:ac11:0:0:0:0:0:3", 6, "fd17:ac11::3"],
        ["fd17:0ac1:0000::0003", 6, "fd17:ac1::3"],
        ["::", 6, "::"],
        ["::1", 6, "::1"],
        ["1::", 6, "1::"],
        ["2001:db8::1:0:0:1", 6, "2001:db8::1:0:0:1"],
        ["2001:db8:0:0:1:0:0:1", 6, "2001:db8::1:0:0:1"],
        ["2001:0:0:1:0:0:0:1", 6, "2001:0:0:1::1"],
        ["2001:db8:0:1:1:1:1:1", 6, "2001:db8:0:1:1:1:1:1"],
        ["1:2:3:4:5:6:7::", 6, "1:2:3:4:5:6:7:0"],
        ["::ffff:10.0.0.1", 6, "::ffff:10.0.0.1"],
        ["64:ff9b::192.0.2.33", 6, "64:ff9b::c000:221"],
        ["fe80::42:acff:fe11:3", 6, "fe80::42:acff:fe11:3"],
    ];
    for (const [text, family, printed] of valid) {
        it(`${JSON.stringify(text)} is IPv${family}, printed ${printed}`, () => {
            const a = address(text);
            assert.equal(a.family, family);
            assert.equal(formatAddress(a), printed);
            assert.equal(canonical(text), family === 4 ? text : printed);
            assert.equal(familyOf(text), family);
        });
    }

    const invalid = [
        "",
        "172.17.0",
        "172.17.0.3.4",
        "172.17.0.256",
        "172.17.0.03",
        "172.17.0.-1",
        " 172.17.0.3",
        "fd17:ac11::3::4",
        "fd17:ac11:::3",
        "fd17:ac11:0:0:0:0:0:0:3",
        "fd17:ac11:0:0:0:0:3",
        "fd17:ac11::3%eth0",
        "fd17:ac11::12345",
        "fd17:ac11::g",
        ":1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:",
        "::ffff:10.0.0.256",
        "::10.0.0.1:5",
        "fd17:ac11::3/64",
    ];
    for (const text of invalid) {
        it(`${JSON.stringify(text)} is not an address`, () => {
            assert.equal(parseAddress(text), undefined);
            assert.equal(canonical(text), text, "left as written");
        });
    }
});

describe("address model: prefixes", () => {
    const prefixes: [string, number | undefined][] = [
        ["172.17.0.3/16", 16],
        ["10.0.0.1/32", 32],
        ["10.0.0.1/1", 1],
        ["10.0.0.1/0", undefined],
        ["10.0.0.1/33", undefined],
        ["10.0.0.1", undefined],
        ["10.0.0.1/", undefined],
        ["10.0.0.1/x", undefined],
        ["fd17:ac11::3/64", 64],
        ["fd17:ac11::3/128", 128],
        ["fd17:ac11::3/129", undefined],
        ["fd17:ac11::3/0", undefined],
        ["fd17:ac11::3/1000", undefined],
        ["FD17:AC11::3/64", 64],
    ];
    for (const [text, prefix] of prefixes) {
        it(`${JSON.stringify(text)} ${prefix === undefined ? "is not a prefix" : `has prefix length ${prefix}`}`, () => {
            assert.equal(parseCidr(text)?.prefix, prefix);
        });
    }

    it("prints an IPv6 prefix canonically and leaves IPv4 text as written", () => {
        assert.equal(canonical("FD17:AC11:0::3/64"), "fd17:ac11::3/64");
        assert.equal(canonical("172.17.0.3/16"), "172.17.0.3/16");
    });

    const bits: [string, string, string, boolean][] = [
        // prefix, network address, last address, host bits zero
        ["172.17.0.3/16", "172.17.0.0", "172.17.255.255", false],
        ["10.10.0.0/24", "10.10.0.0", "10.10.0.255", true],
        ["10.0.0.5/32", "10.0.0.5", "10.0.0.5", true],
        ["fd17:ac11::3/64", "fd17:ac11::", "fd17:ac11::ffff:ffff:ffff:ffff", false],
        ["fd17:10::/64", "fd17:10::", "fd17:10::ffff:ffff:ffff:ffff", true],
        ["fd17::1:2/112", "fd17::1:0", "fd17::1:ffff", false],
        ["fd17::5/128", "fd17::5", "fd17::5", true],
        ["8000::/1", "8000::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true],
    ];
    for (const [text, first, last, zero] of bits) {
        it(`${text}: network ${first}, last ${last}, host bits ${zero ? "zero" : "set"}`, () => {
            const c = cidr(text);
            assert.equal(formatAddress({ family: c.family, value: networkOf(c) }), first);
            assert.equal(formatAddress({ family: c.family, value: lastOf(c) }), last);
            assert.equal(isNetwork(c), zero);
        });
    }
});

describe("address model: containment and overlap", () => {
    const containment: [string, string, boolean][] = [
        ["172.17.0.1/16", "172.17.200.9", true],
        ["172.17.0.1/16", "172.18.0.1", false],
        ["10.0.0.0/31", "10.0.0.1", true],
        ["fd17:ac11::1/64", "fd17:ac11::ffff:1", true],
        ["fd17:ac11::1/64", "fd17:ac11:0:1::1", false],
        ["fd17:ac11::/48", "fd17:ac11:0:ffff::1", true],
        // Never across families, even when the bits would match.
        ["0.0.0.1/8", "::1", false],
        ["::/96", "0.0.0.1", false],
    ];
    for (const [net, a, expected] of containment) {
        it(`${net} ${expected ? "contains" : "does not contain"} ${a}`, () => {
            assert.equal(contains(cidr(net), address(a)), expected);
        });
    }

    const overlapping: [string, string, boolean][] = [
        ["10.10.0.0/24", "10.10.0.128/25", true],
        ["10.10.0.0/24", "10.10.1.0/24", false],
        ["10.0.0.0/8", "10.200.0.0/16", true],
        ["fd17:10::/64", "fd17:10::8000:0:0/80", true],
        ["fd17:10::/64", "fd17:11::/64", false],
        ["fd17::/16", "fd17:ffff:1::/48", true],
        ["fd17::/16", "fe17::/16", false],
        ["10.0.0.0/8", "a00::/8", false],
    ];
    for (const [a, b, expected] of overlapping) {
        it(`${a} and ${b} ${expected ? "overlap" : "do not overlap"}, both ways`, () => {
            assert.equal(overlaps(cidr(a), cidr(b)), expected);
            assert.equal(overlaps(cidr(b), cidr(a)), expected);
        });
    }

    const inside: [string, string, boolean][] = [
        ["fd17:10::100/120", "fd17:10::/64", true],
        ["fd17:10::/48", "fd17:10::/64", false],
        ["10.10.0.128/25", "10.10.0.0/24", true],
        ["10.10.0.0/23", "10.10.0.0/24", false],
    ];
    for (const [inner, outer, expected] of inside) {
        it(`${inner} ${expected ? "lies" : "does not lie"} within ${outer}`, () => {
            assert.equal(within(cidr(inner), cidr(outer)), expected);
        });
    }

    it("compares addresses whatever their text", () => {
        assert.ok(sameAddress("fd17:ac11::3", "FD17:ac11:0:0::0003"));
        assert.ok(sameAddress("10.0.0.1", "10.0.0.1"));
        assert.ok(!sameAddress("::a00:1", "10.0.0.1"), "families differ");
        assert.ok(!sameAddress("fd17::3", "not an address"));
    });
});

describe("address model: kinds of address", () => {
    const kinds: [string, string | undefined, boolean][] = [
        // address, special use, link-local
        ["fd17:ac11::3", undefined, false],
        ["2001:db8::1", undefined, false],
        ["fe80::1", undefined, true],
        ["febf::1", undefined, true],
        ["fec0::1", undefined, false],
        ["::", "the unspecified address", false],
        ["::1", "the loopback address", false],
        ["ff02::1", "a multicast address", false],
        ["::ffff:10.0.0.1", "an IPv4-mapped address (write the IPv4 address itself)", false],
        ["172.17.0.3", undefined, false],
        ["127.0.0.5", "a loopback address", false],
        ["239.1.1.1", "a multicast address", false],
        ["169.254.1.1", undefined, false],
    ];
    for (const [text, special, linkLocal] of kinds) {
        it(`${text}: ${special ?? "an interface may have it"}${linkLocal ? ", link-local" : ""}`, () => {
            assert.equal(specialUse(address(text)), special);
            assert.equal(isLinkLocal(address(text)), linkLocal);
        });
    }
});
