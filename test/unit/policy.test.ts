// The Policy's pure parts: addresses of either family written as nft prints
// them, each rule shape's nft text (pinned: test/host/policy.provider.test.ts
// checks that nft lists the same), the diff of two listings, the checks'
// messages. Then the component under mocks: what each kind of endpoint
// becomes, and what the Policy waits for. Proof limit: nothing here runs nft.

import * as assert from "node:assert/strict";
import { canonicalPrefix, reachableAddresses } from "../../components/src/common/addresses";
import { listingChanges, tableListing, tableScript } from "../../components/src/common/policyTable";
import { checkPolicyInputs, PolicyRule } from "../../components/src/common/specs/policy";
import { describeChange } from "../../components/src/engine/providers/policy";
import { listingOf, parseTable } from "../../components/src/host/nft";
import { recordingMocks, Registration, settle, registrationOf } from "../helpers/mocks";

const cli = { container: "c1", name: "cli" };
const web = { container: "c2", name: "web" };
const rulesOf = (rules: PolicyRule[], isolate: string[] = []) =>
    tableListing({ rules, isolate }).filter((l) => !l.startsWith("set ") && !l.startsWith("chain "));

describe("policy: addresses of either family, as nft and ip print them", () => {
    it("canonical text: dotted quads, IPv6 short and lower case (RFC 5952), /32 and /128 dropped, bad input undefined", () => {
        const cases: [string, string | undefined][] = [
            ["10.0.0.5/32", "10.0.0.5"],
            ["10.0.0.0/8", "10.0.0.0/8"],
            ["FD00:0:0:0:0:0:0:5/128", "fd00::5"],
            ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
            ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
            ["::ffff:10.1.2.3", "::ffff:10.1.2.3"],
            ["10.0.0.256", undefined],
            ["a::b::c", undefined],
            ["fd00::/129", undefined],
        ];
        for (const [given, want] of cases) assert.equal(canonicalPrefix(given), want, given);
    });

    it("a container's reachable addresses: IPv4 but loopback's, IPv6 of global scope only", () => {
        const addrs = [
            { family: "inet", local: "127.0.0.1", scope: "host" },
            { family: "inet", local: "10.10.0.11", scope: "global" },
            { family: "inet6", local: "::1", scope: "host" },
            { family: "inet6", local: "fe80::1", scope: "link" },
            { family: "inet6", local: "FD00::0B", scope: "global" },
        ];
        assert.deepEqual(reachableAddresses(addrs), ["10.10.0.11", "fd00::b"]);
    });
});

describe("policy: each rule in nft's syntax", () => {
    it("containers by set, one line per family; ports sorted, a range kept", () => {
        assert.deepEqual(
            rulesOf([{ action: "allow", from: cli, to: web, protocol: "tcp", ports: [443, "8000-8080", 80], comment: "cli to web" }]),
            [
                "ct state established,related accept",
                'ip saddr @cli_v4 ip daddr @web_v4 tcp dport { 80, 443, 8000-8080 } counter accept comment "cli to web"',
                'ip6 saddr @cli_v6 ip6 daddr @web_v6 tcp dport { 80, 443, 8000-8080 } counter accept comment "cli to web"',
            ],
        );
    });

    it("an address of one family makes the rule that family only; icmp is ICMPv6 for IPv6", () => {
        assert.deepEqual(rulesOf([{ action: "deny", from: cli, to: { addresses: ["10.20.0.0/24"] }, protocol: "icmp" }]).slice(1), [
            "ip saddr @cli_v4 ip daddr 10.20.0.0/24 meta l4proto icmp counter drop",
        ]);
        assert.deepEqual(rulesOf([{ action: "deny", from: { addresses: ["FD00::5", "fd00:1::/64"] }, protocol: "icmp" }]).slice(1), [
            "ip6 saddr { fd00::5, fd00:1::/64 } meta l4proto ipv6-icmp counter drop",
        ]);
    });

    it("bridges by interface, for either family: icmp matches both ICMPs; isolation comes last, per bridge", () => {
        assert.deepEqual(
            rulesOf([{ action: "allow", from: { bridge: "lan" }, to: { bridge: "lan" }, protocol: "icmp" }], ["lan", "br-x"]).slice(1),
            [
                'iifname "lan" oifname "lan" meta l4proto { icmp, ipv6-icmp } counter accept',
                'iifname "lan" oifname "lan" counter drop comment "isolate lan"',
                'iifname "br-x" oifname "br-x" counter drop comment "isolate br-x"',
            ],
        );
        assert.deepEqual(rulesOf([{ action: "deny", to: { bridge: "lan" }, protocol: "udp" }]).slice(1), [
            'oifname "lan" meta l4proto udp counter drop',
        ]);
    });

    it("two containers of one name get sets of their own; a container named twice shares one set, with both rules' declared addresses", () => {
        const listing = tableListing({
            rules: [
                {
                    action: "deny",
                    from: { container: "id1", name: "web", declared: ["172.17.0.3/16"] },
                    to: { container: "id2", name: "web" },
                },
                { action: "deny", from: { container: "id1", name: "web", declared: ["fd00::3/64"] } },
            ],
            isolate: [],
        });
        const sets = listing.filter((l) => l.startsWith("set "));
        assert.equal(sets.length, 4);
        assert.deepEqual(sets.slice(0, 2), ["set web_v4 { type ipv4_addr }", "set web_v6 { type ipv6_addr }"]);
        assert.match(sets[2], /^set web_[0-9a-f]{4}_v4 \{ type ipv4_addr \}$/);
    });

    it("the script writes the table whole in one transaction: made if missing, deleted, made again with the mark and the elements", () => {
        const script = tableScript(
            "hn_t",
            "hostnet/p/s/Policy/x",
            { rules: [{ action: "deny", from: cli, to: web }], isolate: [] },
            {
                cli_v4: ["10.0.0.12", "10.0.0.3"],
            },
        );
        const lines = script.split("\n");
        assert.deepEqual(lines.slice(0, 4), [
            "table inet hn_t",
            "delete table inet hn_t",
            "table inet hn_t {",
            '\tcomment "hostnet/p/s/Policy/x"',
        ]);
        assert.ok(lines.includes("\t\telements = { 10.0.0.3, 10.0.0.12 }"), "elements sorted by value, as nft lists them");
        assert.ok(lines.includes("\t\ttype filter hook forward priority filter - 10; policy accept;"));
    });

    it("listing changes: removed and added lines in order; a rule moved shows as removed and added", () => {
        assert.deepEqual(listingChanges(["a", "b", "c"], ["a", "c", "d"]), ["- b", "+ d"]);
        assert.deepEqual(listingChanges(["a", "b"], ["b", "a"]), ["- a", "+ a"]);
        assert.deepEqual(listingChanges(["a"], ["a"]), []);
    });

    it("nft's own listing is read back to the same lines, counters zeroed, elements over several lines joined", () => {
        const text = [
            "table inet hn_t {",
            '\tcomment "hostnet/p/s/Policy/x"',
            "\tset cli_v4 {",
            "\t\ttype ipv4_addr",
            "\t\telements = { 10.0.0.1, 10.0.0.2,",
            "\t\t\t     10.0.0.3 }",
            "\t}",
            "",
            "\tchain forward {",
            "\t\ttype filter hook forward priority filter - 10; policy accept;",
            "\t\tct state established,related accept",
            "\t\tip saddr @cli_v4 counter packets 12 bytes 1008 drop",
            "\t}",
            "}",
        ].join("\n");
        const table = parseTable(text);
        assert.equal(table.comment, "hostnet/p/s/Policy/x");
        assert.deepEqual(table.sets[0].elements, ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
        assert.deepEqual(listingOf(table), [
            "set cli_v4 { type ipv4_addr }",
            "chain forward { type filter hook forward priority filter - 10; policy accept; }",
            "ct state established,related accept",
            "ip saddr @cli_v4 counter drop",
        ]);
    });

    it("the preview report's host operations: the rules that change, in nft's syntax", () => {
        const olds = {
            table: "hn_t",
            isolate: [],
            owner: "hostnet/p/s/Policy/x",
            rules: [{ action: "deny" as const, from: cli, to: web, protocol: "tcp" as const, ports: [80] }],
        };
        const listing = tableListing(olds);
        const news = { ...olds, rules: [{ ...olds.rules[0], ports: [80, 443] }] };
        assert.deepEqual(
            describeChange(
                "update",
                { ...olds, sets: { cli_v4: ["10.0.0.2"], cli_v6: [], web_v4: ["10.0.0.3"], web_v6: [] }, listing },
                news,
            ),
            [
                "replace nftables table inet hn_t (4 sets, 3 rules), marked as hostnet/p/s/Policy/x, in one transaction (nft -f)",
                "remove: ip saddr @cli_v4 ip daddr @web_v4 tcp dport 80 counter drop",
                "remove: ip6 saddr @cli_v6 ip6 daddr @web_v6 tcp dport 80 counter drop",
                "add: ip saddr @cli_v4 ip daddr @web_v4 tcp dport { 80, 443 } counter drop",
                "add: ip6 saddr @cli_v6 ip6 daddr @web_v6 tcp dport { 80, 443 } counter drop",
            ],
        );
    });
});

describe("policy: checks, each naming the field and what to do", () => {
    const check = (rules: unknown, extra: Record<string, unknown> = {}) =>
        checkPolicyInputs({ table: "hn_t", rules, isolate: [], owner: "hostnet/p/s/Policy/x", ...extra }).map((f) => f.reason);

    it("refuses a bad action, protocol, ports, comment and endpoint", () => {
        assert.deepEqual(check([{ action: "block", from: cli }]), ['`rules[0].action` must be "allow" or "deny"; got "block"']);
        assert.deepEqual(check([{ action: "deny", from: cli, ports: [80] }]), [
            '`rules[0].ports` needs `protocol` "tcp" or "udp"; got protocol "(every protocol)"',
        ]);
        assert.deepEqual(check([{ action: "deny", from: cli, protocol: "tcp", ports: [80, "70-90", 0] }]), [
            '`rules[0].ports[1]` "70-90" overlaps another port of the rule; list each port once',
            '`rules[0].ports[2]` must be a port 1-65535 or a range "first-last"; got 0',
        ]);
        assert.deepEqual(check([{ action: "deny", from: cli, comment: 'say "no"' }]), [
            '`rules[0].comment` must be a text of 1 to 128 bytes, without quotes, backslashes or line breaks; got "say \\"no\\""',
        ]);
        assert.deepEqual(check([{ action: "deny", from: { container: "c1", bridge: "lan" } }]), [
            "`rules[0].from` must name exactly one of container, bridge, network or addresses; got container and bridge",
        ]);
    });

    it("refuses a network with host bits, overlapping addresses, a rule with no endpoint, and families that never meet", () => {
        assert.deepEqual(check([{ action: "deny", to: { addresses: ["10.0.0.5/24"] } }]), [
            '`rules[0].to.addresses[0]` "10.0.0.5/24" has host bits set: write the network ("10.0.0.0/24") or the one address ("10.0.0.5")',
        ]);
        assert.deepEqual(check([{ action: "deny", to: { addresses: ["10.0.0.0/8", "10.1.0.0/16"] } }]), [
            '`rules[0].to.addresses` "10.0.0.0/8" and "10.1.0.0/16" overlap; list each address once',
        ]);
        assert.match(
            check([{ action: "deny", protocol: "tcp" }])[0],
            /must name `from` or `to`: a rule on all the traffic the host forwards/,
        );
        assert.deepEqual(check([{ action: "deny", from: { addresses: ["10.0.0.0/8"] }, to: { addresses: ["fd00::/8"] } }]), [
            "`rules[0]`: `from` is IPv4 and `to` IPv6: the rule would never match; give both sides addresses of one family (one rule per family)",
        ]);
    });

    it("refuses a field a rule does not have (a typo such as `port` would otherwise be dropped, widening the rule), naming the fields it has", () => {
        assert.deepEqual(check([{ action: "deny", to: { addresses: ["10.0.0.0/8"] }, protocol: "tcp", port: 80 }]), [
            "`rules[0].port` is not a field of a rule; remove it, or use one of action, from, to, protocol, ports, comment",
        ]);
        assert.deepEqual(check([{ action: "deny", to: { addresses: ["10.0.0.0/8"] }, protocol: "tcp", ports: [80], comment: "web" }]), []);
    });

    it("refuses a table name nft cannot take, and a bridge isolated twice", () => {
        assert.match(check([], { table: "my-table" })[0], /^`table` must be an nftables table name/);
        assert.deepEqual(check([], { isolate: ["lan", "lan"] }), ['`isolate` lists bridge "lan" twice; list each bridge once']);
    });

    it("leaves values not known yet (a preview's unknowns) to the check at create", () => {
        const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
        assert.deepEqual(check(UNKNOWN), []);
        assert.deepEqual(check([{ action: "deny", from: UNKNOWN }]), []);
    });
});

describe("Policy under mocks: what each endpoint becomes, and what the Policy waits for", () => {
    let lib: typeof import("../../components/src");
    let registered: Registration[];

    const registration = (resource: { urn: import("@pulumi/pulumi").Output<string> }) => registrationOf(registered, resource);

    before(async () => {
        registered = await recordingMocks("proj", "stk");
        lib = await import("../../components/src");
    });

    it("Container, VethAttachment, Bridge, Network, strings and names: sets, addresses, interfaces; the default table name", async () => {
        const image = "hostnet/busybox:1";
        const a = new lib.Container("pa", { image, network: { mode: "none" } });
        const b = new lib.Container("pb", { image, network: { mode: "bridge" } });
        const eth0 = new lib.VethAttachment("pa-eth0", { container: a, bridge: "docker0", address: "172.17.0.9/16" });
        const lan = new lib.Bridge("plan", { addresses: ["10.50.0.1/24"] });
        const net = new lib.Network("pnet", { subnet: "10.51.0.0/24" });
        const policy = new lib.Policy("pol", {
            rules: [
                { action: "deny", from: a, to: b, protocol: "tcp", ports: [80] },
                { action: "allow", from: eth0, to: lan },
                { action: "deny", from: net, to: "fd00::/64" },
                { action: "deny", from: { container: "other" }, to: { bridge: "docker0" } },
            ],
            isolate: [lan],
        });
        const r = await registration(policy);
        assert.match(r.inputs.table, /^hn_stk_pol_[0-9a-f]{6}$/);
        assert.deepEqual(r.inputs.rules, [
            {
                action: "deny",
                from: { container: "pa-id", name: "pa", declared: ["172.17.0.9/16"] },
                to: { container: "pb-id", name: "pb" },
                protocol: "tcp",
                ports: [80],
            },
            { action: "allow", from: { addresses: ["172.17.0.9"], name: "pa-eth0" }, to: { bridge: r.inputs.isolate[0], name: "plan" } },
            { action: "deny", from: { bridge: "br-pnet", name: "pnet" }, to: { addresses: ["fd00::/64"] } },
            { action: "deny", from: { container: "other", name: "other" }, to: { bridge: "docker0" } },
        ]);
        assert.equal(r.inputs.owner, "hostnet/proj/stk/Policy/pol");
        // It is written after the attachment that gives a container it names its address.
        assert.ok(r.dependencies.includes(await settle(eth0.urn)));
    });

    it("refuses, when the program runs, a --net=host Container, a name given as a string, and bad plain fields", () => {
        const host = new lib.Container("ph", { image: "hostnet/busybox:1", network: { mode: "host" } });
        assert.throws(
            () => new lib.Policy("bad1", { rules: [{ action: "deny", from: host }] }),
            /`rules\[0\]\.from`: the container uses network mode host: it has no network namespace of its own/,
        );
        assert.throws(
            () => new lib.Policy("bad2", { rules: [{ action: "deny", from: "web" }] }),
            /`rules\[0\]\.from` "web" is not an address or CIDR; name a container as \{ container: "web" \}/,
        );
        assert.throws(
            () => new lib.Policy("bad3", { rules: [{ action: "deny", from: "10.0.0.0/8", protocol: "tcp", ports: [0] }] }),
            /`rules\[0\]\.ports\[0\]` must be a port 1-65535/,
        );
    });
});
