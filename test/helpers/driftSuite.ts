// Drift made by hand, healed by the one deploy command; the suite that
// test/e2e/drift.test.ts (a stack with the project's `options: refresh: always`)
// and test/e2e/driftPlain.test.ts (a stack without it) run.
//
// The example stack is deployed once; then, one kind of drift at a time, a
// change is made by hand with the system's own tools (ip, nsenter, docker), and:
//   - `refresh --preview-only` names exactly the resources that drifted,
//   - with `refresh: always`: `preview --refresh` plans exactly the repairs (by
//     type, name and operation), and a plain `up` (no --refresh flag, as `npm
//     run up` runs it) does them;
//   - without it: a plain `preview` plans the repairs too (the providers' diff
//     reads the host), says why for each drifted resource, and a plain `up`
//     does them (a resource gone from the host is replaced where the refreshed
//     plan creates it: the state still records it);
//   - traffic works again (ping across every attachment, link and network),
//   - a second refresh finds nothing.
// The example's Probes are part of it. A refresh runs each probe: a path a
// change by hand breaks shows as its probe's drift (`expect` is what the path
// does now), and the repairing `up` runs that probe again after the repair
// (the up would fail, naming it, if the path were still broken). A plain
// preview sends no traffic (a probe's read is a measurement, not a read-back:
// engine/drift.ts); it plans a probe to run again when it repairs a resource
// on the probe's path (one naming its containers or address, or a Policy), so
// it names those probes (`near`: more than the refresh finds broken, never
// fewer).
// Each case ends with the stack converged again, which is where the next one
// starts; a failed case is followed by a repairing `up` so the next still can.

import * as assert from "node:assert/strict";
import { containerPid, firewallRules, freePort, ipLinks, nftTables, ping, ping6, RUN, runByte, sh, unusedIpv6Subnets } from "./host";
import { EXAMPLE_PROBES, probeOps, refreshOps, updateOps, warningsOf, type Ops } from "./ops";
import { exampleStack, tearDown, TestStack } from "./pulumi";

const EXAMPLE_PROBE_NAMES: readonly string[] = EXAMPLE_PROBES;

/** How the stack's deploys see drift: the project's `options: refresh: always`, or no refresh option at all. */
export type DriftMode = "refresh: always" | "no refresh option";

/**
 * What a plain preview and up do without a refresh: a resource gone from the
 * host is still in the state, so it is replaced; and the probes `near` the
 * repairs run again too.
 */
function plainRepair(repair: Ops, near: readonly string[] = []): Ops {
    return {
        ...Object.fromEntries(Object.entries(repair).map(([k, op]) => [k, op === "create" ? "replace" : op])),
        ...probeOps("update", near),
    };
}

export function driftSuite(mode: DriftMode): void {
    const plain = mode === "no refresh option";
    const title = plain
        ? "drift made by hand, in a stack without `refresh: always`: a plain `preview` names it, a plain `up` repairs it"
        : "drift made by hand, in a stack with `refresh: always`: `preview --refresh` names it, a plain `up` repairs it";
    describe(title, function () {
        suite(plain);
    });
}

function suite(plain: boolean): void {
    const n = runByte(11);
    const stackName = `e2e-${RUN}-drift${plain ? "-plain" : ""}`;
    const ownerPrefix = `hostnet/hostnet/${stackName}/`;
    const cname = (name: string) => `hn-${stackName}-${name}`;
    // Per-run addresses and subnets, apart from the other e2e suites' (exampleStack uses 172.17.200-249, 10.210, 10.220).
    // The two modes run side by side: the plain one's seed is two addresses up (the "address changed" case takes the next).
    const seedAddress = `172.17.${150 + (n % 50)}.${plain ? n + 2 : n}`;
    const changedSeedAddress = `172.17.${150 + (n % 50)}.${plain ? n + 3 : n + 1}`;
    const labNet = `10.${plain ? 216 : 212}.${n}`;
    const lanNet = `10.${plain ? 226 : 222}.${n}`;
    // The seed's IPv6 address on docker0 (fd17:ac11::/64, clear of Docker's fd17:ac11::242:*), and the IPv6 /64s of lab and lan.
    const seed6 = `fd17:ac11::${(150 + (n % 50)).toString(16)}:${(plain ? n + 2 : n).toString(16)}`;
    let lab6 = "";
    let lan6 = "";
    let t: TestStack;
    let out: Record<string, any>;

    before(async () => {
        [lab6, lan6] = (await unusedIpv6Subnets(2)).map((c) => c.split("/")[0]);
        t = await exampleStack(
            stackName,
            {
                "hostnet:address": `${seedAddress}/16`,
                "hostnet:address6": `${seed6}/64`,
                "hostnet:labSubnet6": `${lab6}/64`,
                "hostnet:lanAddress6": `${lan6}1/64`,
                "hostnet:labSubnet": `${labNet}.0/24`,
                "hostnet:lanAddress": `${lanNet}.1/24`,
                "hostnet:webPort": String(await freePort()),
            },
            { transpileOnly: true, withoutRefreshOption: plain },
        );
        const up = await t.stack.up();
        assert.equal(up.summary.result, "succeeded");
        out = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value]));
    });

    after(() => tearDown(t, ownerPrefix));

    afterEach(async function () {
        // Leave the next case a converged stack even when this one failed half-way.
        if (this.currentTest?.state === "failed") await t.stack.up().catch(() => undefined);
    });

    /** A container's address on Docker's default bridge, as `docker inspect` reports it. */
    const dockerBridgeAddress = async (container: string) =>
        (await sh(["docker", "inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}", container])).stdout.trim();
    const seedHostEnd = () => out.seedAttachment.hostInterface as string;
    const lanBridge = () => out.bridges.lan.name as string;
    const labNetwork = () => out.networks[0].id as string;
    /** Runs `argv` in a container's network namespace, as a person would with nsenter. */
    const inSeed = async (...argv: string[]) =>
        sh(["nsenter", "--target", String(await containerPid(cname("seed"))), "--net", "--", ...argv]);

    /** One echo answered from inside `container` (busybox ping; `-6` for IPv6), trying up to 3 times: a repaired path answers at once. */
    async function reaches(container: string, target: string, family: 4 | 6 = 4): Promise<boolean> {
        const six = family === 6 ? ["-6"] : [];
        for (let i = 0; i < 3; i++) {
            if ((await sh(["docker", "exec", container, "ping", ...six, "-c", "1", "-W", "1", target], { reject: false })).exitCode === 0)
                return true;
        }
        return false;
    }

    /** Every path of the stack carries traffic, over IPv4 and IPv6: the seed's and isolated's attachments, the link, the user-defined network. */
    async function assertTrafficWorks(): Promise<void> {
        const [seed, isolated, link, api, www, seed6ok, isolated6, link6, api6] = await Promise.all([
            ping(seedAddress),
            ping(`${lanNet}.2`),
            reaches(cname("seed"), "10.30.0.2"),
            reaches(cname("cli"), "api"),
            reaches(cname("cli"), "www"),
            ping6(seed6),
            ping6(`${lan6}2`),
            reaches(cname("seed"), "fd17:30::2", 6),
            reaches(cname("cli"), `${lab6}10`, 6),
        ]);
        assert.ok(seed, "the host reaches the seed over docker0");
        assert.ok(isolated, "the host reaches isolated over the stack's bridge");
        assert.ok(link, "the seed reaches isolated over the link");
        assert.ok(api, "cli reaches api on the lab network");
        assert.ok(www, "cli reaches web's attachment on the lab network");
        assert.ok(seed6ok, "the host reaches the seed over docker0, IPv6");
        assert.ok(isolated6, "the host reaches isolated over the stack's bridge, IPv6");
        assert.ok(link6, "the seed reaches isolated over the link, IPv6");
        assert.ok(api6, "cli reaches api on the lab network, IPv6");
    }

    interface DriftCase {
        kind: string;
        /** The change, made by hand with the system's tools (`this` is the case: what follows from it may be added). */
        drift: (this: DriftCase) => Promise<void>;
        /** What `refresh` finds: each drifted resource, "update" (it differs) or "delete" (it is gone). */
        found: Ops;
        /** What `preview --refresh` plans and `up` does. */
        repair: Ops;
        /**
         * Resources `found` whose repair follows from another's: replaced because a resource they
         * depend on is made again (the plain preview names that one, not them).
         */
        follow?: string[];
        /**
         * Probes a plain plan runs again beyond those the refresh finds broken: their path shares a
         * container or an address with a resource it repairs, or crosses a Policy it repairs.
         */
        near?: string[];
        /** A provider bug that stops this case today: the case is listed, skipped, with the reason. */
        blockedBy?: string;
    }

    // The probes of the paths through the seed's eth0, and through the link too (what the refresh finds broken).
    const SEED_PATHS = probeOps("update", ["seed-gateway", "seed-web", "web-seed"]);
    const SEED_AND_LINK_PATHS = probeOps("update", ["seed-gateway", "seed-link", "seed-web", "web-seed"]);
    // Probes whose path names the seed (from it, or to its eth0's address), run again by a plain plan that repairs its eth0.
    const SEED_NEAR = ["cli-seed", "seed-gateway", "seed-link", "seed-web", "web-seed"];
    const ALL_BUT = (...names: string[]) => EXAMPLE_PROBE_NAMES.filter((p) => !names.includes(p));

    const cases: DriftCase[] = [
        {
            kind: "host veth deleted",
            drift: async () => void (await sh(["ip", "link", "del", "dev", seedHostEnd()])),
            found: { "VethAttachment seed-eth0": "delete", ...SEED_PATHS },
            repair: { "VethAttachment seed-eth0": "create", ...SEED_PATHS },
            near: ["cli-seed", "seed-link"],
        },
        {
            kind: "container address changed",
            drift: async () => {
                await inSeed("ip", "addr", "add", `${changedSeedAddress}/16`, "dev", "eth0");
                await inSeed("ip", "addr", "del", `${seedAddress}/16`, "dev", "eth0");
            },
            // The probes from and to the seed's declared address fail until it is back, as when it is removed.
            found: { "VethAttachment seed-eth0": "update", ...SEED_PATHS },
            repair: { "VethAttachment seed-eth0": "update", ...SEED_PATHS },
            near: ["cli-seed", "seed-link"],
        },
        {
            kind: "container address removed",
            drift: async () => void (await inSeed("ip", "addr", "del", `${seedAddress}/16`, "dev", "eth0")),
            found: { "VethAttachment seed-eth0": "update", ...SEED_PATHS },
            repair: { "VethAttachment seed-eth0": "update", ...SEED_PATHS },
            near: ["cli-seed", "seed-link"],
        },
        {
            kind: "default route removed",
            drift: async () => void (await inSeed("ip", "route", "del", "default")),
            found: { "VethAttachment seed-eth0": "update" },
            repair: { "VethAttachment seed-eth0": "update" },
            near: SEED_NEAR,
        },
        {
            kind: "container IPv6 address removed",
            drift: async () => void (await inSeed("ip", "addr", "del", `${seed6}/64`, "dev", "eth0")),
            found: { "VethAttachment seed-eth0": "update" },
            repair: { "VethAttachment seed-eth0": "update" },
            near: SEED_NEAR,
        },
        {
            kind: "container IPv6 address changed",
            drift: async () => {
                await inSeed("ip", "addr", "add", `${seed6}1/64`, "dev", "eth0");
                await inSeed("ip", "addr", "del", `${seed6}/64`, "dev", "eth0");
            },
            found: { "VethAttachment seed-eth0": "update" },
            repair: { "VethAttachment seed-eth0": "update" },
            near: SEED_NEAR,
        },
        {
            kind: "IPv6 default route removed",
            drift: async () => void (await inSeed("ip", "-6", "route", "del", "default")),
            found: { "VethAttachment seed-eth0": "update" },
            repair: { "VethAttachment seed-eth0": "update" },
            near: SEED_NEAR,
        },
        {
            // The kernel's own address, never the library's: not drift, and up leaves it (and the rest) alone.
            kind: "the kernel's link-local address removed from the container's interface",
            drift: async () => {
                const six = JSON.parse((await inSeed("ip", "-j", "-6", "addr", "show", "dev", "eth0")).stdout)[0].addr_info;
                const ll = six.find((a: { scope: string }) => a.scope === "link");
                await inSeed("ip", "addr", "del", `${ll.local}/${ll.prefixlen}`, "dev", "eth0");
            },
            found: {},
            repair: {},
        },
        {
            kind: "the created bridge's IPv6 address removed",
            drift: async () => void (await sh(["ip", "addr", "del", `${lan6}1/64`, "dev", lanBridge()])),
            found: { "Bridge lan": "update" },
            repair: { "Bridge lan": "update" },
            near: ["isolated-lan"],
        },
        {
            kind: "host end detached from its bridge",
            drift: async () => void (await sh(["ip", "link", "set", "dev", seedHostEnd(), "nomaster"])),
            found: { "VethAttachment seed-eth0": "update", ...SEED_PATHS },
            repair: { "VethAttachment seed-eth0": "replace", ...SEED_PATHS },
            near: ["cli-seed", "seed-link"],
        },
        {
            kind: "host end set down",
            drift: async () => void (await sh(["ip", "link", "set", "dev", seedHostEnd(), "down"])),
            found: { "VethAttachment seed-eth0": "update", ...SEED_PATHS },
            repair: { "VethAttachment seed-eth0": "update", ...SEED_PATHS },
            near: ["cli-seed", "seed-link"],
        },
        {
            kind: "container end set down",
            drift: async () => void (await inSeed("ip", "link", "set", "dev", "eth0", "down")),
            found: { "VethAttachment seed-eth0": "update", ...SEED_PATHS },
            repair: { "VethAttachment seed-eth0": "update", ...SEED_PATHS },
            near: ["cli-seed", "seed-link"],
        },
        {
            kind: "container restarted",
            drift: async () => void (await sh(["docker", "restart", "-t", "0", cname("seed")])),
            found: { "VethAttachment seed-eth0": "delete", "VethLink seed-isolated": "delete", ...SEED_AND_LINK_PATHS },
            repair: { "VethAttachment seed-eth0": "create", "VethLink seed-isolated": "create", ...SEED_AND_LINK_PATHS },
            near: ["cli-seed", "isolated-lan"],
        },
        {
            // Docker keeps web's connection to lab across the restart (with a new endpoint id, which refresh records),
            // and the sidecar stays in web's old namespace until it restarts too: that is the drift up repairs.
            kind: "container with a NetworkAttachment and a container: sidecar restarted",
            drift: async function (this: DriftCase) {
                const before = await dockerBridgeAddress(cname("web"));
                await sh(["docker", "restart", "-t", "0", cname("web")]);
                const after = await dockerBridgeAddress(cname("web"));
                if (after !== before) {
                    // Docker gives a restarted container on its default bridge the next free address, which other runs'
                    // containers may have moved on: then the Policy naming web reads web's new address (drift), and a
                    // plain plan runs every probe again (each may cross the Policy).
                    console.log(`      web came back on docker0 as ${after} (was ${before}): the Policy follows it`);
                    Object.assign(this.found, { "Policy policy": "update" });
                    Object.assign(this.repair, { "Policy policy": "update" });
                    this.near = ALL_BUT("sidecar-web");
                }
            },
            // The sidecar's probe finds nothing listening on 127.0.0.1:80 in the old namespace: refused.
            found: { "DockerContainer sidecar": "update", "Probe sidecar-web": "update" },
            repair: { "DockerContainer sidecar": "update", "Probe sidecar-web": "update" },
        },
        {
            kind: "container stopped",
            drift: async () => void (await sh(["docker", "stop", "-t", "0", cname("seed")])),
            found: {
                "DockerContainer seed": "update",
                "VethAttachment seed-eth0": "delete",
                "VethLink seed-isolated": "delete",
                ...SEED_AND_LINK_PATHS,
            },
            repair: {
                "DockerContainer seed": "update",
                "VethAttachment seed-eth0": "create",
                "VethLink seed-isolated": "create",
                ...SEED_AND_LINK_PATHS,
            },
            near: ["cli-seed", "isolated-lan"],
        },
        {
            kind: "container removed",
            drift: async () => void (await sh(["docker", "rm", "-f", cname("seed")])),
            found: {
                "DockerContainer seed": "delete",
                "VethAttachment seed-eth0": "delete",
                "VethLink seed-isolated": "delete",
                ...SEED_AND_LINK_PATHS,
            },
            // A new seed: the probes from it follow its id, the one to its attachment found the path broken; the
            // link is made again to the new seed, so what makes isolated's network changed: the probe from isolated runs again.
            repair: {
                "DockerContainer seed": "create",
                "VethAttachment seed-eth0": "create",
                "VethLink seed-isolated": "create",
                ...SEED_AND_LINK_PATHS,
                "Probe isolated-lan": "update",
            },
            // The attachment and link are made again with the new seed: the probes to the seed's address and from isolated run again.
            near: ["cli-seed", "isolated-lan"],
            follow: ["VethAttachment seed-eth0", "VethLink seed-isolated", ...Object.keys(SEED_AND_LINK_PATHS)],
        },
        {
            // Its forwarding rule is left, so the Bridge stays in the state (as gone) until up makes it again or a delete takes the rule.
            kind: "created bridge deleted",
            drift: async () => void (await sh(["ip", "link", "del", "dev", lanBridge()])),
            found: { "Bridge lan": "update", "VethAttachment isolated-eth0": "update", "Probe isolated-lan": "update" },
            repair: { "Bridge lan": "update", "VethAttachment isolated-eth0": "replace", "Probe isolated-lan": "update" },
        },
        {
            kind: "created bridge's forwarding rule removed",
            drift: async () => {
                const rules = (await firewallRules()).filter((r) => r.mark === `${ownerPrefix}Bridge/lan`);
                assert.equal(rules.length, 1, "the bridge has its rule before the drift");
                const { chain, bridge, mark } = rules[0];
                await sh(["iptables", "-w", "-D", chain, "-i", bridge, "-o", bridge, "-m", "comment", "--comment", mark, "-j", "ACCEPT"]);
            },
            found: { "Bridge lan": "update" },
            repair: { "Bridge lan": "update" },
            // Its path goes to the bridge's own address.
            near: ["isolated-lan"],
        },
        {
            kind: "network attachment disconnected",
            drift: async () => void (await sh(["docker", "network", "disconnect", labNetwork(), cname("web")])),
            found: { "NetworkAttachment web-lab": "delete", "Probe api-web": "update" },
            repair: { "NetworkAttachment web-lab": "create", "Probe api-web": "update" },
            near: ["cli-web", "hostns-web", "seed-web", "web-seed"],
        },
        {
            kind: "container's own network disconnected",
            drift: async () => void (await sh(["docker", "network", "disconnect", labNetwork(), cname("api")])),
            found: { "DockerContainer api": "update", ...probeOps("update", ["api-web", "cli-api"]) },
            repair: { "DockerContainer api": "update", ...probeOps("update", ["api-web", "cli-api"]) },
        },
        {
            kind: "Docker network removed",
            drift: async () => {
                // Docker removes only a network nothing is connected to: disconnect, then remove.
                for (const c of ["web", "api", "cli"]) await sh(["docker", "network", "disconnect", "--force", labNetwork(), cname(c)]);
                await sh(["docker", "network", "rm", labNetwork()]);
            },
            found: {
                "Network lab": "delete",
                "DockerContainer api": "update",
                "DockerContainer cli": "update",
                "NetworkAttachment web-lab": "delete",
                // The Policy's read finds cli's address on lab gone (it reads its containers' addresses from the host).
                "Policy policy": "update",
                ...probeOps("update", ["api-web", "cli-api"]),
            },
            // New containers api and cli: the Policy naming cli follows, and every probe runs again.
            repair: {
                "Network lab": "create",
                "DockerContainer api": "replace",
                "DockerContainer cli": "replace",
                "NetworkAttachment web-lab": "create",
                "Policy policy": "update",
                ...probeOps("update"),
            },
            follow: ["DockerContainer api", "DockerContainer cli", "NetworkAttachment web-lab", "Probe api-web", "Probe cli-api"],
        },
        {
            kind: "the policy's nftables table deleted",
            drift: async () => {
                const tables = (await nftTables()).filter((t) => t.comment === `${ownerPrefix}Policy/policy`);
                assert.equal(tables.length, 1, "the policy has its table before the drift");
                await sh(["nft", "delete", "table", tables[0].family, tables[0].name]);
            },
            found: { "Policy policy": "delete", "Probe cli-web": "update" },
            repair: { "Policy policy": "create", "Probe cli-web": "update" },
            // Every path may cross a Policy.
            near: ALL_BUT("cli-web"),
        },
        {
            kind: "a rule of the policy's table deleted",
            drift: async () => {
                const chain = (await sh(["nft", "-a", "list", "chain", "inet", out.policyTable, "forward"])).stdout;
                const handle = /tcp dport 80 .* drop comment "cli may not use web" # handle (\d+)/.exec(chain)![1];
                await sh(["nft", "delete", "rule", "inet", out.policyTable, "forward", "handle", handle]);
            },
            found: { "Policy policy": "update", "Probe cli-web": "update" },
            repair: { "Policy policy": "update", "Probe cli-web": "update" },
            near: ALL_BUT("cli-web"),
        },
    ];

    it("the stack starts converged: traffic works and a refresh finds nothing", async () => {
        await assertTrafficWorks();
        const found = refreshOps();
        const refresh = await t.stack.previewRefresh({ onEvent: found.onEvent });
        assert.deepEqual(found.ops, {});
        assert.deepEqual(refresh.changeSummary, { same: 34 });
    });

    for (const c of cases) {
        const title =
            Object.keys(c.found).length > 0
                ? `${c.kind}: refresh finds ${Object.keys(c.found).join(", ")}; up repairs it`
                : `${c.kind}: refresh finds nothing; up changes nothing`;
        if (c.blockedBy) {
            it.skip(`${title} (blocked: ${c.blockedBy})`);
            continue;
        }
        it(title, async () => {
            await c.drift.call(c);

            const found = refreshOps();
            await t.stack.previewRefresh({ onEvent: found.onEvent });
            assert.deepEqual(found.ops, c.found, "what refresh finds");

            const repair = plain ? plainRepair(c.repair, c.near) : c.repair;
            const planned = updateOps();
            const warnings = warningsOf();
            // Without the project option, no --refresh either: the plain preview a reviewer's CI runs.
            await t.stack.preview({
                refresh: plain ? undefined : true,
                onEvent: (e) => {
                    planned.onEvent(e);
                    warnings.onEvent(e);
                },
            });
            assert.deepEqual(planned.ops, repair, plain ? "what a plain `preview` plans" : "what `preview --refresh` plans");
            if (plain) {
                // Each drifted resource is named in a warning saying what the host no longer holds.
                for (const key of Object.keys(c.found).filter((k) => !(c.follow ?? []).includes(k))) {
                    const [type, name] = key.split(" ");
                    assert.ok(
                        warnings.texts.some(
                            (w) => w.text.includes(`${type} "${name}"`) && /gone from the host|drifted on the host/.test(w.text),
                        ),
                        `a warning names ${key} and why; warnings: ${JSON.stringify(warnings.texts)}`,
                    );
                }
            }

            // No --refresh here: with the project's `options: refresh: always` the refresh makes up see the drift,
            // without it the providers' diff does.
            const done = updateOps();
            const up = await t.stack.up({ onEvent: done.onEvent });
            assert.equal(up.summary.result, "succeeded");
            assert.deepEqual(done.ops, repair, "what up does");
            out = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value]));

            await assertTrafficWorks();
            if (plain) {
                // The plain preview reads every resource back, as a refresh does: nothing left to repair.
                const after = await t.stack.preview();
                assert.deepEqual(after.changeSummary, { same: 34 }, "a plain preview after the repair plans nothing");
            } else {
                const again = refreshOps();
                const refresh = await t.stack.previewRefresh({ onEvent: again.onEvent });
                assert.deepEqual(again.ops, {}, "a second refresh finds nothing");
                assert.deepEqual(refresh.changeSummary, { same: 34 });
            }
        });
    }

    it("after all the repairs the host holds exactly the stack's interfaces: nothing leaked", async () => {
        const marked = (await ipLinks()).filter((l) => l.ifalias?.startsWith(ownerPrefix)).map((l) => l.ifalias!.slice(ownerPrefix.length));
        assert.deepEqual(marked.sort(), ["Bridge/lan", "VethAttachment/isolated-eth0", "VethAttachment/seed-eth0"]);
        const rules = (await firewallRules()).filter((r) => r.mark.startsWith(ownerPrefix));
        assert.deepEqual(
            rules.map((r) => [r.bridge, r.mark]),
            [[lanBridge(), `${ownerPrefix}Bridge/lan`]],
            "one forwarding rule, the created bridge's",
        );
        const tables = (await nftTables()).filter((t) => t.comment?.startsWith(ownerPrefix));
        assert.deepEqual(
            tables.map((t) => [t.family, t.name, t.comment]),
            [["inet", out.policyTable, `${ownerPrefix}Policy/policy`]],
            "one nftables table, the policy's",
        );
    });
}
