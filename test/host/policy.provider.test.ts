// The Policy provider against the real kernel, beside Docker's iptables-nft
// rules (FORWARD policy DROP, bridged traffic handed to the firewall): three
// --net=none containers on a bridge the Bridge provider creates (with its
// forwarding rule in DOCKER-USER), two more on a bridge without one. Every
// verdict is read back by traffic (ping and TCP connects between the
// containers, from their own namespaces) and the table by `nft list table`,
// never through the provider.

import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { nftMark } from "../../components/src/common/naming";
import { tableListing } from "../../components/src/common/policyTable";
import { PolicyInputs, PolicyOutputs, PolicyRule } from "../../components/src/common/specs/policy";
import { bridgeProvider } from "../../components/src/engine/providers/bridge";
import { policyProvider } from "../../components/src/engine/providers/policy";
import { vethAttachmentProvider } from "../../components/src/engine/providers/vethAttachment";
import { CommandRunner, localRunner, setCommandRunner } from "../../components/src/host/run";
import {
    containerPid,
    nftListTable,
    nftTables,
    ping,
    RUN,
    RUN_OWNER,
    sh,
    startTestContainer,
    sweepRun,
    tcpConnects,
    uniqueSuffix,
    unusedSubnets,
} from "../helpers/host";
import { forTests } from "../helpers/providers";

const policies = forTests(policyProvider);
const bridges = forTests(bridgeProvider);
const attachments = forTests(vethAttachmentProvider);

/** Docker's firewall as this test relies on it: FORWARD policy DROP, bridged IPv4 handed to it. */
async function dockerDrops(): Promise<boolean> {
    const forward = (await sh(["iptables", "-w", "-S", "FORWARD"])).stdout.split("\n").includes("-P FORWARD DROP");
    const bridged = (await sh(["cat", "/proc/sys/net/bridge/bridge-nf-call-iptables"], { reject: false })).stdout.trim() === "1";
    return forward && bridged;
}

/** The objects of an `nft -j list ...` answer (metainfo left out). */
function nftJson(r: { stdout: string }): any[] {
    return (JSON.parse(r.stdout).nftables as any[]).filter((o) => !o.metainfo);
}

/** The named sets a rule matches against (`@a_v4`), in order. */
function matchedSets(rule: any): string[] {
    return rule.expr
        .filter((e: any) => e.match && typeof e.match.right === "string" && e.match.right.startsWith("@"))
        .map((e: any) => e.match.right);
}

describe("Policy provider on the real host, beside Docker's FORWARD DROP", function () {
    const sfx = uniqueSuffix();
    const owner = `${RUN_OWNER}policy-${sfx}`;
    const table = `hnt_${RUN}_${sfx}`;
    const lan = `hnt-ql-${sfx}`; // created by the Bridge provider: its forwarding rule accepts traffic between its ports
    const bare = `hnt-qb-${sfx}`; // created with forward: false: Docker's DROP is all there is
    const names = ["a", "b", "c", "d", "e"] as const;
    type Name = (typeof names)[number];
    const ctr = (n: Name) => `hnt-p${n}-${sfx}-${RUN}`;
    const pid: Partial<Record<Name, number>> = {};
    const addr: Partial<Record<Name, string>> = {};
    const attached: Partial<Record<Name, any>> = {};
    let lanNet: string;
    let bareNet: string;
    let outs: PolicyOutputs | undefined;

    const inputs = (rules: PolicyRule[], isolate: string[] = []): PolicyInputs => ({ table, rules, isolate, owner });
    const container = (n: Name) => ({ container: ctr(n), name: n });

    async function attach(n: Name, bridge: string, address: string): Promise<void> {
        const made = await attachments.create({
            container: ctr(n),
            bridge,
            address: `${address}/24`,
            defaultRoute: false,
            containerIfName: "eth0",
            hostIfName: `hnt-p${n}-${sfx}`,
            owner: `${RUN_OWNER}policy-att-${n}-${sfx}`,
        });
        attached[n] = made.outs;
        addr[n] = address;
    }

    /** Creates or updates the policy to `want`, as `up` would. */
    async function apply(want: PolicyInputs): Promise<void> {
        const checked = await policies.check(outs ?? {}, want);
        assert.deepEqual(checked.failures ?? [], []);
        outs = outs ? (await policies.update(table, outs, checked.inputs)).outs : (await policies.create(checked.inputs)).outs;
    }

    before(async function () {
        if (!(await dockerDrops())) {
            console.log("      skipped: Docker's FORWARD policy is not DROP, or bridged traffic does not reach iptables, on this host");
            this.skip();
        }
        [lanNet, bareNet] = (await unusedSubnets(2)).map((s) => s.split(".").slice(0, 3).join("."));
        await bridges.create({ name: lan, addresses: [`${lanNet}.1/24`], up: true, forward: true, owner: `${RUN_OWNER}policy-lan-${sfx}` });
        await bridges.create({
            name: bare,
            addresses: [`${bareNet}.1/24`],
            up: true,
            forward: false,
            owner: `${RUN_OWNER}policy-bare-${sfx}`,
        });
        for (const n of names) pid[n] = await containerPid(await startTestContainer(ctr(n)));
        for (const [i, n] of (["a", "b", "c"] as const).entries()) await attach(n, lan, `${lanNet}.${10 + i}`);
        for (const [i, n] of (["d", "e"] as const).entries()) await attach(n, bare, `${bareNet}.${10 + i}`);
        // b and e serve TCP on 8080 (busybox httpd).
        for (const n of ["b", "e"] as const) await sh(["docker", "exec", "-d", ctr(n), "httpd", "-f", "-p", "8080", "-h", "/"]);
    });

    after(async () => {
        if (outs) await policies.delete(table, outs).catch(() => undefined);
        await sweepRun();
    });

    it("without a policy, the containers on the bridge with a forwarding rule reach each other (ping and TCP)", async () => {
        assert.ok(await ping(addr.b!, pid.a), "a pings b");
        assert.ok(await tcpConnects(addr.b!, 8080, pid.a), "a connects to b:8080");
        assert.ok(await ping(addr.b!, pid.c), "c pings b");
        assert.equal(await ping(addr.e!, pid.d), false, "on the bridge without one, Docker's FORWARD DROP drops d -> e");
    });

    it("deny a -> b icmp: a's ping to b fails, its TCP connect succeeds, c still pings b; `nft list table` holds the rule, marked", async () => {
        await apply(inputs([{ action: "deny", from: container("a"), to: container("b"), protocol: "icmp" }]));
        assert.equal(await ping(addr.b!, pid.a), false, "a's ping to b is dropped");
        assert.ok(await tcpConnects(addr.b!, 8080, pid.a), "a still connects to b:8080");
        assert.ok(await ping(addr.b!, pid.c), "c still pings b");
        const listed = (await nftListTable(table))!;
        assert.match(listed, new RegExp(`comment "${nftMark(owner)}"`));
        assert.match(
            listed,
            /ip saddr @a_v4 ip daddr @b_v4 meta l4proto icmp counter packets [1-9]\d* bytes \d+ drop/,
            "the rule counted a's pings",
        );
        assert.match(listed, new RegExp(`set a_v4 \\{\\n\\s+type ipv4_addr\\n\\s+elements = \\{ ${addr.a!.replace(/\./g, "\\.")} \\}`));
        assert.deepEqual(outs!.sets.b_v4, [addr.b]);
        assert.deepEqual(outs!.listing, tableListing(outs!), "nft lists the rules exactly as the preview writes them");
        // The same read as JSON (`nft -j list table`), as a script would check it: the table, marked, and its drop rule.
        // (nft 1.0.6 leaves a table's comment out of its JSON: the mark is checked in the text listing above.)
        const json = nftJson(await sh(["nft", "-j", "list", "table", "inet", table]));
        const drops = json.filter((o) => o.rule && o.rule.expr.some((e: any) => "drop" in e)).map((o) => o.rule);
        assert.deepEqual(
            drops.map((r) => [r.table, r.chain, matchedSets(r)]),
            [
                [table, "forward", ["@a_v4", "@b_v4"]],
                [table, "forward", ["@a_v6", "@b_v6"]], // the same rule for each family (the IPv6 sets are empty here)
            ],
        );
        assert.ok(drops[0].expr.find((e: any) => e.counter).counter.packets > 0, "the IPv4 rule's counter saw a's pings");
        // Nothing of it anywhere else in the host's ruleset: no other table has a rule on its sets or with its mark.
        const elsewhere = nftJson(await sh(["nft", "-j", "list", "ruleset"])).filter(
            (o) => o.rule && !(o.rule.family === "inet" && o.rule.table === table),
        );
        assert.deepEqual(
            elsewhere.filter((o) => JSON.stringify(o).includes(`"@a_v4"`) || JSON.stringify(o).includes(nftMark(owner))),
            [],
        );
    });

    it("isolate the bridge, allow a -> b tcp/8080: a connects to b:8080; every ping between them and c fails", async () => {
        await apply(inputs([{ action: "allow", from: container("a"), to: container("b"), protocol: "tcp", ports: [8080] }], [lan]));
        assert.ok(await tcpConnects(addr.b!, 8080, pid.a), "a connects to b:8080 (allowed, and the bridge's rule accepts it)");
        assert.equal(await tcpConnects(addr.b!, 8080, pid.c), false, "c cannot connect to b:8080");
        assert.equal(await ping(addr.b!, pid.a), false, "a cannot ping b");
        assert.equal(await ping(addr.a!, pid.b), false, "b cannot ping a");
        assert.equal(await ping(addr.b!, pid.c), false, "c cannot ping b");
        assert.ok(await ping(`${lanNet}.1`, pid.c), "the host (the bridge's own address) is not forwarded: c still reaches it");
    });

    it("an allow does not undo Docker's drop: d -> e allowed here, still dropped by Docker's FORWARD chain (no forwarding rule on that bridge)", async () => {
        await apply(inputs([{ action: "allow", from: container("d"), to: container("e") }], [lan]));
        assert.equal(await ping(addr.e!, pid.d), false, "d -> e: our accept ends our chain only; Docker's FORWARD DROP still drops");
        assert.equal(await tcpConnects(addr.e!, 8080, pid.d), false);
        assert.equal(await ping(addr.b!, pid.a), false, "the bridge is still isolated");
    });

    it("a container's new address follows: read sees the set differ, update writes it, the deny holds on the new address", async () => {
        await apply(inputs([{ action: "deny", from: container("a"), to: container("b"), protocol: "icmp" }]));
        const moved = `${lanNet}.20`;
        attached.b = (await attachments.update(attached.b.hostIfName, attached.b, { ...attached.b, address: `${moved}/24` })).outs;
        addr.b = moved;
        const read = await policies.read(table, outs!);
        assert.deepEqual(read.props.resolved?.b_v4, [moved]);
        assert.deepEqual(read.props.sets.b_v4, [`${lanNet}.11`]);
        assert.equal((await policies.diff(table, read.props, inputs(outs!.rules))).changes, true);
        assert.ok(await ping(moved, pid.a), "before the update, the old set lets a reach b's new address");
        outs = (await policies.update(table, read.props, inputs(outs!.rules))).outs;
        assert.deepEqual(outs.sets.b_v4, [moved]);
        assert.equal(await ping(moved, pid.a), false, "after it, a's ping to b's new address is dropped");
        assert.ok(await ping(moved, pid.c));
    });

    it("a rule deleted by hand is drift: read reports the live table, update writes it whole again", async () => {
        const handles = (await sh(["nft", "-a", "list", "chain", "inet", table, "forward"])).stdout;
        const handle = /meta l4proto icmp .* drop # handle (\d+)/.exec(handles)![1];
        await sh(["nft", "delete", "rule", "inet", table, "forward", "handle", handle]);
        assert.ok(await ping(addr.b!, pid.a), "the rule is gone: a reaches b");
        const read = await policies.read(table, outs!);
        assert.deepEqual(
            read.props.live,
            outs!.listing.filter((l) => !l.includes("meta l4proto icmp")),
        );
        assert.equal((await policies.diff(table, read.props, inputs(outs!.rules))).changes, true);
        outs = (await policies.update(table, read.props, inputs(outs!.rules))).outs;
        assert.equal(await ping(addr.b!, pid.a), false, "the rule is back");
        assert.equal((await policies.read(table, outs)).props.live, undefined);
        assert.equal((await policies.diff(table, (await policies.read(table, outs)).props, inputs(outs.rules))).changes, false);
    });

    it("the table deleted by hand: read says it is gone; create writes it again", async () => {
        await sh(["nft", "delete", "table", "inet", table]);
        assert.deepEqual(await policies.read(table, outs!), {});
        assert.ok(await ping(addr.b!, pid.a));
        outs = (await policies.create(inputs(outs!.rules))).outs;
        assert.equal(await ping(addr.b!, pid.a), false);
    });

    it("delete removes the table; one of the same name not made by it is refused at check and create, and never deleted", async () => {
        await policies.delete(table, outs!);
        assert.equal(await nftListTable(table), undefined);
        assert.ok(await ping(addr.b!, pid.a));
        await policies.delete(table, outs!); // gone already: fine
        outs = undefined;
        await sh(["nft", "add", "table", "inet", table]);
        try {
            const checked = await policies.check({}, inputs([{ action: "deny", from: container("a"), to: container("b") }]));
            assert.match(
                checked.failures![0].reason,
                new RegExp(
                    `\`table\` "${table}" is taken in nftables family inet \\(not made by this library\\); choose another \`table\``,
                ),
            );
            await assert.rejects(
                policies.create(inputs([{ action: "deny", from: container("a"), to: container("b") }])),
                /is taken in nftables family inet/,
            );
            await policies.delete(table, { ...inputs([]), sets: {}, listing: [] });
            assert.ok(
                (await nftTables()).some((t) => t.name === table),
                "the foreign table is still there",
            );
        } finally {
            await sh(["nft", "delete", "table", "inet", table]);
        }
    });
});

describe("Policy provider and `nft flush ruleset`, in a throw-away network namespace", function () {
    let holder: ChildProcess;
    let previous: CommandRunner;
    const owner = `${RUN_OWNER}policy-flush-${uniqueSuffix()}`;
    const table = "hnt_flush";
    const want: PolicyInputs = {
        table,
        rules: [
            {
                action: "deny",
                from: { addresses: ["10.77.0.0/24", "fd00:77::/64"] },
                to: { addresses: ["10.78.0.5"] },
                protocol: "tcp",
                ports: [80],
            },
        ],
        isolate: [],
        owner,
    };

    before(async () => {
        holder = spawn("unshare", ["--net", "sleep", "600"], { stdio: "ignore" });
        await new Promise((r) => setTimeout(r, 300));
        // Every command of the provider runs in that namespace: its nft sees that namespace's ruleset only.
        previous = setCommandRunner((argv, input) =>
            localRunner(["nsenter", "--target", String(holder.pid), "--net", "--", ...argv], input),
        );
    });

    after(() => {
        setCommandRunner(previous);
        holder?.kill("SIGKILL");
    });

    it("create writes the table there; `nft flush ruleset` (there) makes read say it is gone; create puts it back", async () => {
        const checked = await policies.check({}, want);
        assert.deepEqual(checked.failures, []);
        const outs = (await policies.create(checked.inputs)).outs;
        // IPv4 only: `to` has no IPv6 address, so the IPv6 half of `from` cannot match.
        assert.match(
            (await nftListTable(table, holder.pid))!,
            /\n\t\tip saddr 10\.77\.0\.0\/24 ip daddr 10\.78\.0\.5 tcp dport 80 counter packets 0 bytes 0 drop\n/,
        );
        assert.equal(await nftListTable(table), undefined, "nothing on the host's own ruleset");
        assert.deepEqual((await policies.read(table, outs)).props, outs);
        await sh(["nsenter", "--target", String(holder.pid), "--net", "--", "nft", "flush", "ruleset"]);
        assert.deepEqual(await policies.read(table, outs), {});
        const again = (await policies.create(want)).outs;
        assert.deepEqual(again.listing, outs.listing);
        assert.ok(await nftListTable(table, holder.pid));
        await policies.delete(table, again);
        assert.equal(await nftListTable(table, holder.pid), undefined);
    });

    it("only its own table changes: the other tables of `nft -j list ruleset` are the same before create, after create, update and delete", async () => {
        const inNs = (argv: string[]) => ["nsenter", "--target", String(holder.pid), "--net", "--", ...argv];
        // What else lives there: an iptables-nft-like `ip filter` FORWARD chain (policy drop), and another tool's inet table.
        const others = [
            "table ip filter {",
            "\tchain FORWARD {",
            "\t\ttype filter hook forward priority filter; policy drop;",
            '\t\tiifname "docker0" counter accept',
            "\t}",
            "}",
            "table inet someone_else {",
            "\tset blocked {",
            "\t\ttype ipv4_addr",
            "\t\telements = { 10.77.0.9 }",
            "\t}",
            "\tchain forward {",
            "\t\ttype filter hook forward priority filter; policy accept;",
            "\t\tip saddr @blocked counter drop",
            "\t}",
            "}",
        ].join("\n");
        await sh(inNs(["nft", "-f", "-"]), { input: `${others}\n` });
        const ruleset = async () => nftJson(await sh(inNs(["nft", "-j", "list", "ruleset"])));
        const notOurs = (objects: any[]) =>
            objects.filter((o) => Object.values<any>(o)[0].table !== table && Object.values<any>(o)[0].name !== table);
        const before = await ruleset();
        assert.equal(notOurs(before).length, before.length);

        const outs = (await policies.create(want)).outs;
        let now = await ruleset();
        assert.deepEqual(notOurs(now), before, "after create: every other table, chain, set and rule as it was (handles too)");
        const ours = now.filter((o) => o.rule && o.rule.table === table).map((o) => o.rule);
        assert.deepEqual(
            ours.map((r) => [r.family, r.chain, Object.keys(r.expr.at(-1))[0]]),
            [
                ["inet", "forward", "accept"], // replies of what was let through
                ["inet", "forward", "drop"], // the deny
            ],
            "the Policy's rules, in its table",
        );
        assert.match((await nftListTable(table, holder.pid))!, new RegExp(`comment "${nftMark(owner)}"`));

        const wider = { ...want, rules: [{ ...want.rules[0], ports: [80, 443] }] };
        const updated = (await policies.update(table, outs, (await policies.check(outs, wider)).inputs)).outs;
        now = await ruleset();
        assert.deepEqual(notOurs(now), before, "after update: the same");
        assert.ok(
            now.some((o) => o.rule?.table === table && JSON.stringify(o.rule.expr).includes('{"set":[80,443]}')),
            "the update's ports, in the Policy's table",
        );

        await policies.delete(table, updated);
        assert.deepEqual(await ruleset(), before, "after delete: the ruleset is exactly what it was before create");
    });
});
