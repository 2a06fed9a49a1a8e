// Drift heals with the one deploy command. The example stack is deployed once;
// then, one kind of drift at a time, a change is made by hand with the
// system's own tools (ip, nsenter, docker), and:
//   - `refresh --preview-only` names exactly the resources that drifted,
//   - `preview --refresh` plans exactly the repairs (by type, name and operation),
//   - a plain `up`, as `npm run up` runs it (the project's `options: refresh:
//     always` in Pulumi.yaml, no --refresh flag), does those repairs,
//   - traffic works again (ping across every attachment, link and network),
//   - a second refresh finds nothing.
// The example's Probes are part of it: a path a change by hand breaks shows as
// its probe's drift (`expect` is what the path does now), and the repairing
// `up` runs that probe again after the repair (the up would fail, naming it,
// if the path were still broken).
// Each case ends with the stack converged again, which is where the next one
// starts; a failed case is followed by a repairing `up` so the next still can.

import * as assert from "node:assert/strict";
import { containerPid, firewallRules, freePort, ipLinks, nftTables, ping, RUN, runByte, sh, sweepRun } from "../helpers/host";
import { probeOps, refreshOps, updateOps, type Ops } from "../helpers/ops";
import { exampleStack, TestStack } from "../helpers/pulumi";

describe("drift made by hand: `preview --refresh` names it, a plain `up` repairs it", function () {
    const n = runByte(11);
    const stackName = `e2e-${RUN}-drift`;
    const ownerPrefix = `hostnet/hostnet/${stackName}/`;
    const cname = (name: string) => `hn-${stackName}-${name}`;
    // Per-run addresses and subnets, apart from the other e2e suites' (exampleStack uses 172.17.200-249, 10.210, 10.220).
    const seedAddress = `172.17.${150 + (n % 50)}.${n}`;
    const labNet = `10.212.${n}`;
    const lanNet = `10.222.${n}`;
    let t: TestStack;
    let out: Record<string, any>;

    before(async () => {
        t = await exampleStack(
            stackName,
            {
                "hostnet:address": `${seedAddress}/16`,
                "hostnet:labSubnet": `${labNet}.0/24`,
                "hostnet:lanAddress": `${lanNet}.1/24`,
                "hostnet:webPort": String(await freePort()),
            },
            { transpileOnly: true },
        );
        const up = await t.stack.up();
        assert.equal(up.summary.result, "succeeded");
        out = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value]));
    });

    after(async () => {
        try {
            await t?.stack.destroy();
            await t?.stack.workspace.removeStack(stackName);
        } finally {
            await sweepRun(ownerPrefix);
            t?.dispose();
        }
    });

    afterEach(async function () {
        // Leave the next case a converged stack even when this one failed half-way.
        if (this.currentTest?.state === "failed") await t.stack.up().catch(() => undefined);
    });

    const seedHostEnd = () => out.seedAttachment.hostInterface as string;
    const lanBridge = () => out.bridges.lan.name as string;
    const labNetwork = () => out.networks[0].id as string;
    /** Runs `argv` in a container's network namespace, as a person would with nsenter. */
    const inSeed = async (...argv: string[]) =>
        sh(["nsenter", "--target", String(await containerPid(cname("seed"))), "--net", "--", ...argv]);

    /** One echo answered from inside `container` (busybox ping), trying up to 3 times: a repaired path answers at once. */
    async function reaches(container: string, target: string): Promise<boolean> {
        for (let i = 0; i < 3; i++) {
            if ((await sh(["docker", "exec", container, "ping", "-c", "1", "-W", "1", target], { reject: false })).exitCode === 0)
                return true;
        }
        return false;
    }

    /** Every path of the stack carries traffic: the seed's and isolated's attachments, the link, the user-defined network. */
    async function assertTrafficWorks(): Promise<void> {
        const [seed, isolated, link, api, www] = await Promise.all([
            ping(seedAddress),
            ping(`${lanNet}.2`),
            reaches(cname("seed"), "10.30.0.2"),
            reaches(cname("cli"), "api"),
            reaches(cname("cli"), "www"),
        ]);
        assert.ok(seed, "the host reaches the seed over docker0");
        assert.ok(isolated, "the host reaches isolated over the stack's bridge");
        assert.ok(link, "the seed reaches isolated over the link");
        assert.ok(api, "cli reaches api on the lab network");
        assert.ok(www, "cli reaches web's attachment on the lab network");
    }

    interface DriftCase {
        kind: string;
        /** The change, made by hand with the system's tools. */
        drift: () => Promise<void>;
        /** What `refresh` finds: each drifted resource, "update" (it differs) or "delete" (it is gone). */
        found: Ops;
        /** What `preview --refresh` plans and `up` does. */
        repair: Ops;
        /** A provider bug that stops this case today: the case is listed, skipped, with the reason. */
        blockedBy?: string;
    }

    // The probes of the paths through the seed's eth0, and through the link too.
    const SEED_PATHS = probeOps("update", ["seed-gateway", "seed-web", "web-seed"]);
    const SEED_AND_LINK_PATHS = probeOps("update", ["seed-gateway", "seed-link", "seed-web", "web-seed"]);

    const cases: DriftCase[] = [
        {
            kind: "host veth deleted",
            drift: async () => void (await sh(["ip", "link", "del", "dev", seedHostEnd()])),
            found: { "VethAttachment seed-eth0": "delete", ...SEED_PATHS },
            repair: { "VethAttachment seed-eth0": "create", ...SEED_PATHS },
        },
        {
            kind: "container address changed",
            drift: async () => {
                await inSeed("ip", "addr", "add", `172.17.${150 + (n % 50)}.${n + 1}/16`, "dev", "eth0");
                await inSeed("ip", "addr", "del", `${seedAddress}/16`, "dev", "eth0");
            },
            found: { "VethAttachment seed-eth0": "update" },
            repair: { "VethAttachment seed-eth0": "update" },
        },
        {
            kind: "container address removed",
            drift: async () => void (await inSeed("ip", "addr", "del", `${seedAddress}/16`, "dev", "eth0")),
            found: { "VethAttachment seed-eth0": "update", ...SEED_PATHS },
            repair: { "VethAttachment seed-eth0": "update", ...SEED_PATHS },
        },
        {
            kind: "default route removed",
            drift: async () => void (await inSeed("ip", "route", "del", "default")),
            found: { "VethAttachment seed-eth0": "update" },
            repair: { "VethAttachment seed-eth0": "update" },
        },
        {
            kind: "host end detached from its bridge",
            drift: async () => void (await sh(["ip", "link", "set", "dev", seedHostEnd(), "nomaster"])),
            found: { "VethAttachment seed-eth0": "update", ...SEED_PATHS },
            repair: { "VethAttachment seed-eth0": "replace", ...SEED_PATHS },
        },
        {
            kind: "host end set down",
            drift: async () => void (await sh(["ip", "link", "set", "dev", seedHostEnd(), "down"])),
            found: { "VethAttachment seed-eth0": "update", ...SEED_PATHS },
            repair: { "VethAttachment seed-eth0": "update", ...SEED_PATHS },
        },
        {
            kind: "container end set down",
            drift: async () => void (await inSeed("ip", "link", "set", "dev", "eth0", "down")),
            found: { "VethAttachment seed-eth0": "update", ...SEED_PATHS },
            repair: { "VethAttachment seed-eth0": "update", ...SEED_PATHS },
        },
        {
            kind: "container restarted",
            drift: async () => void (await sh(["docker", "restart", "-t", "0", cname("seed")])),
            found: { "VethAttachment seed-eth0": "delete", "VethLink seed-isolated": "delete", ...SEED_AND_LINK_PATHS },
            repair: { "VethAttachment seed-eth0": "create", "VethLink seed-isolated": "create", ...SEED_AND_LINK_PATHS },
        },
        {
            // Docker keeps web's connection to lab across the restart (with a new endpoint id, which refresh records),
            // and the sidecar stays in web's old namespace until it restarts too: that is the drift up repairs.
            kind: "container with a NetworkAttachment and a container: sidecar restarted",
            drift: async () => void (await sh(["docker", "restart", "-t", "0", cname("web")])),
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
            // A new seed: the probes from it follow its id, the one to its attachment found the path broken.
            repair: {
                "DockerContainer seed": "create",
                "VethAttachment seed-eth0": "create",
                "VethLink seed-isolated": "create",
                ...SEED_AND_LINK_PATHS,
            },
        },
        {
            kind: "created bridge deleted",
            drift: async () => void (await sh(["ip", "link", "del", "dev", lanBridge()])),
            found: { "Bridge lan": "delete", "VethAttachment isolated-eth0": "update", "Probe isolated-lan": "update" },
            repair: { "Bridge lan": "create", "VethAttachment isolated-eth0": "replace", "Probe isolated-lan": "update" },
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
        },
        {
            kind: "network attachment disconnected",
            drift: async () => void (await sh(["docker", "network", "disconnect", labNetwork(), cname("web")])),
            found: { "NetworkAttachment web-lab": "delete", "Probe api-web": "update" },
            repair: { "NetworkAttachment web-lab": "create", "Probe api-web": "update" },
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
        const title = `${c.kind}: refresh finds ${Object.keys(c.found).join(", ")}; up repairs it`;
        if (c.blockedBy) {
            it.skip(`${title} (blocked: ${c.blockedBy})`);
            continue;
        }
        it(title, async () => {
            await c.drift();

            const found = refreshOps();
            await t.stack.previewRefresh({ onEvent: found.onEvent });
            assert.deepEqual(found.ops, c.found, "what refresh finds");

            const planned = updateOps();
            await t.stack.preview({ refresh: true, onEvent: planned.onEvent });
            assert.deepEqual(planned.ops, c.repair, "what `preview --refresh` plans");

            // No --refresh here: the project's `options: refresh: always` is what makes up see the drift.
            const done = updateOps();
            const up = await t.stack.up({ onEvent: done.onEvent });
            assert.equal(up.summary.result, "succeeded");
            assert.deepEqual(done.ops, c.repair, "what up does");
            out = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value]));

            await assertTrafficWorks();
            const again = refreshOps();
            const refresh = await t.stack.previewRefresh({ onEvent: again.onEvent });
            assert.deepEqual(again.ops, {}, "a second refresh finds nothing");
            assert.deepEqual(refresh.changeSummary, { same: 34 });
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
});
