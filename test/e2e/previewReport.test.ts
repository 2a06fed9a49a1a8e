// `hostnet preview-report` (what `npm run preview:ci` runs) against the
// example stack deployed through the real engine: the stack's configuration
// is changed one way at a time, the command is run as a user runs it (its own
// process, the project's Pulumi CLI), and its Markdown, its JSON and its exit
// code are compared with golden files a person has read
// (test/e2e/golden/preview-*.md and .json; the JSON golden keeps what a
// reviewer reads: resources, operations, properties, reasons, host operations).
//
// Run-specific values (stack name, addresses and subnets per run, web's
// address on docker0, the web port, Docker ids, the scratch folder) are
// replaced by placeholders before comparing. HOSTNET_UPDATE_GOLDEN=1 rewrites
// the golden files instead: read the diff before committing it.

import * as assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { dockerInspect, freePort, RUN, runByte, sh, unusedIpv6Subnets } from "../helpers/host";
import { exampleStack, tearDown, projectRoot, TestStack, toolchainRoot } from "../helpers/pulumi";
import { UNKNOWN } from "../../components/src/cli/previewPlan";

const CLI = join(projectRoot, "components", "dist", "cli", "index.js");
const ENGINE = join(projectRoot, "components", "dist", "engine");
const GOLDEN = join(__dirname, "golden");
const UPDATE = process.env.HOSTNET_UPDATE_GOLDEN === "1";

interface Run {
    exitCode: number;
    markdown: string;
    json: any;
}

describe("hostnet preview-report: what a pull request's change will do, through the real engine", function () {
    const n = runByte(7);
    const stackName = `e2e-${RUN}-report`;
    const ownerPrefix = `hostnet/hostnet/${stackName}/`;
    // Clear of the other e2e suites' addresses in the same run (they use runByte(4), 10.210/10.220).
    const seedAt = (host: number) => `172.17.${200 + (n % 50)}.${((n + 120 + host) % 250) + 2}`;
    // The seed's IPv6 address on docker0 (fd17:ac11::/64), clear of Docker's fd17:ac11::242:*.
    const seed6At = (host: number) => `fd17:ac11::${(200 + (n % 50)).toString(16)}:${(((n + 120 + host) % 250) + 2).toString(16)}`;
    let lab6 = "";
    let lan6 = "";
    const config: Record<string, string> = {
        "hostnet:address": `${seedAt(0)}/16`,
        "hostnet:labSubnet": `10.212.${n}.0/24`,
        "hostnet:lanAddress": `10.222.${n}.1/24`,
    };
    let t: TestStack;
    let out: string;
    let webIp = "";

    before(async () => {
        config["hostnet:webPort"] = String(await freePort());
        [lab6, lan6] = (await unusedIpv6Subnets(2)).map((c) => c.split("/")[0]);
        config["hostnet:address6"] = `${seed6At(0)}/64`;
        config["hostnet:labSubnet6"] = `${lab6}/64`;
        config["hostnet:lanAddress6"] = `${lan6}1/64`;
        t = await exampleStack(stackName, config);
        out = mkdtempSync(join(tmpdir(), "hostnet-report-"));
        assert.equal((await t.stack.up()).summary.result, "succeeded");
        // web's address on docker0 is Docker's pick: another suite's container on docker0 makes it another one.
        webIp = (await dockerInspect(`hn-${stackName}-web`)).NetworkSettings.Networks.bridge.IPAddress;
        assert.match(webIp, /^172\.17\./);
    });

    after(async () => {
        try {
            await tearDown(t, ownerPrefix);
        } finally {
            if (out) rmSync(out, { recursive: true, force: true });
        }
    });

    /** Runs `body` with stack config changed, restoring the config whatever happens. */
    async function withConfig(changes: Record<string, string>, body: () => Promise<void>): Promise<void> {
        try {
            for (const [k, v] of Object.entries(changes)) await t.stack.setConfig(k, { value: v });
            await body();
        } finally {
            for (const k of Object.keys(changes)) {
                if (k in config) await t.stack.setConfig(k, { value: config[k] });
                else await t.stack.removeConfig(k);
            }
        }
    }

    /** The command as `npm run preview:ci` runs it, against this test's stack and state. */
    async function report(name: string): Promise<Run> {
        const md = join(out, `${name}.md`);
        const json = join(out, `${name}.json`);
        const scratch = dirname(t.stateDir);
        const r = await sh(
            [
                "env",
                `PULUMI_BACKEND_URL=file://${t.stateDir}`,
                `PULUMI_HOME=${join(scratch, "home")}`,
                "PULUMI_CONFIG_PASSPHRASE=",
                "PULUMI_SKIP_UPDATE_CHECK=true",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true",
                "node",
                CLI,
                "preview-report",
                "--pulumi",
                join(toolchainRoot(), "bin", "pulumi"),
                "--cwd",
                t.stack.workspace.workDir,
                "--stack",
                stackName,
                "--md",
                md,
                "--json",
                json,
            ],
            { reject: false },
        );
        return { exitCode: r.exitCode, markdown: readFileSync(md, "utf8"), json: JSON.parse(readFileSync(json, "utf8")) };
    }

    /** Replaces what differs from run to run with placeholders. */
    function normalized(text: string): string {
        return text
            .split(t.stack.workspace.workDir)
            .join("<project>")
            .split(stackName)
            .join("<stack>")
            .split(`${seedAt(1)}/16`)
            .join("<seed address 2>")
            .split(`${seedAt(0)}/16`)
            .join("<seed address>")
            .split(`${seed6At(1)}/64`)
            .join("<seed IPv6 address 2>")
            .split(`${seed6At(0)}/64`)
            .join("<seed IPv6 address>")
            .split(seed6At(1))
            .join("<seed IPv6 2>")
            .split(seed6At(0))
            .join("<seed IPv6>")
            .split(lab6)
            .join("<lab6>::")
            .split(lan6)
            .join("<lan6>::")
            .replace(new RegExp(`\\b${webIp.replace(/\./g, "\\.")}\\b`, "g"), "<web ip>")
            .replace(new RegExp(`\\b${seedAt(1).replace(/\./g, "\\.")}\\b`, "g"), "<seed ip 2>")
            .replace(new RegExp(`\\b${seedAt(0).replace(/\./g, "\\.")}\\b`, "g"), "<seed ip>")
            .split(`10.212.${n}.`)
            .join("10.212.<n>.")
            .split(`10.222.${n}.`)
            .join("10.222.<n>.")
            .split(`10.223.${n}.`)
            .join("10.223.<n>.")
            .split(`:${config["hostnet:webPort"]}:`)
            .join(":<webPort>:")
            .replace(/\b[0-9a-f]{64}\b/g, "<id>")
            .replace(/\b[0-9a-f]{12}…/g, "<id>…")
            .replace(/\bhn-([a-z0-9]{1,5})-[0-9a-f]{6}\b/g, "hn-$1-<hash>")
            .replace(/\b02(:[0-9a-f]{2}){5}\b/g, "<mac>")
            .replace(/\bhn_\w+?_policy_[0-9a-f]{6}\b/g, "hn_<stack>_policy_<hash>")
            .replace(/\b[0-9a-f]{16}\b/g, "<digest>");
    }

    /** What a reviewer reads in the JSON: no stored inputs and outputs. */
    function readable(json: any): unknown {
        return {
            exitCode: json.exitCode,
            summary: json.summary,
            resources: json.resources.map((r: any) => ({
                kind: r.kind,
                name: r.name,
                op: r.op,
                ...(r.op === "replace" ? { deleteBeforeReplace: r.deleteBeforeReplace, replaceReasons: r.replaceReasons } : {}),
                properties: r.properties,
                follows: r.follows.map((f: any) => ({ kind: f.kind, name: f.name, properties: f.properties })),
                dragsAlong: r.dragsAlong.map((d: any) => `${d.kind} ${d.name}`),
                ...(r.hostOperations ? { hostOperations: r.hostOperations } : {}),
            })),
            errors: json.errors,
        };
    }

    /** Compares the run with test/e2e/golden/preview-<name>.{md,json} (or rewrites them). */
    function assertGolden(name: string, run: Run): void {
        const md = normalized(run.markdown);
        const json = `${normalized(JSON.stringify(readable(run.json), null, 2))}\n`;
        const mdFile = join(GOLDEN, `preview-${name}.md`);
        const jsonFile = join(GOLDEN, `preview-${name}.json`);
        if (UPDATE) {
            writeFileSync(mdFile, md);
            writeFileSync(jsonFile, json);
            return;
        }
        assert.equal(md, readFileSync(mdFile, "utf8"), `the Markdown differs from ${mdFile}`);
        assert.equal(json, readFileSync(jsonFile, "utf8"), `the JSON differs from ${jsonFile}`);
        assert.equal(run.json.exitCode, run.exitCode, "the JSON carries the exit code");
    }

    it("nothing changed: exit 0, every host object unchanged", async () => {
        const run = await report("none");
        assert.equal(run.exitCode, 0, run.markdown);
        assertGolden("none", run);
    });

    it("an address: exit 2, the seed's VethAttachment updated in place, only `addresses` changes; the probes of its paths run again", async () => {
        await withConfig({ "hostnet:address": `${seedAt(1)}/16` }, async () => {
            const run = await report("address");
            assert.equal(run.exitCode, 2, run.markdown);
            assert.deepEqual(
                run.json.resources.map((r: any) => [r.kind, r.name, r.op, r.properties.map((p: any) => p.path)]),
                [
                    // To the seed's attachment: its address. From the seed: what makes its network changed.
                    ["Probe", "cli-seed", "update", ["to.address"]],
                    ["Probe", "seed-gateway", "update", ["network"]],
                    ["Probe", "seed-link", "update", ["network"]],
                    ["Probe", "seed-web", "update", ["network"]],
                    ["Probe", "web-seed", "update", ["to.address"]],
                    ["VethAttachment", "seed-eth0", "update", ["addresses"]],
                ],
            );
            assertGolden("address", run);
        });
    });

    it("an IPv6 address: exit 2, updated in place; the host operations change it, set the IPv6 default route and wait for duplicate address detection", async () => {
        await withConfig({ "hostnet:address6": `${seed6At(1)}/64` }, async () => {
            const run = await report("address6");
            assert.equal(run.exitCode, 2, run.markdown);
            assert.deepEqual(
                run.json.resources.map((r: any) => [r.kind, r.name, r.op, r.properties.map((p: any) => p.path)]),
                [
                    // From the seed: what makes its network changed. To the seed's attachment: its IPv4 address, unchanged.
                    ["Probe", "seed-gateway", "update", ["network"]],
                    ["Probe", "seed-link", "update", ["network"]],
                    ["Probe", "seed-web", "update", ["network"]],
                    ["VethAttachment", "seed-eth0", "update", ["addresses"]],
                ],
            );
            assertGolden("address6", run);
        });
    });

    it("IPv6 off for the seed: its IPv6 address and IPv6 default route go, in place; IPv4 untouched", async () => {
        await withConfig({ "hostnet:address6": "none" }, async () => {
            const run = await report("ipv6-off");
            assert.equal(run.exitCode, 2, run.markdown);
            assert.deepEqual(
                run.json.resources.map((r: any) => [r.kind, r.name, r.op, r.properties.map((p: any) => p.path)]),
                [
                    // As for a new IPv6 address: the probes from the seed run again, those to its IPv4 address do not.
                    ["Probe", "seed-gateway", "update", ["network"]],
                    ["Probe", "seed-link", "update", ["network"]],
                    ["Probe", "seed-web", "update", ["network"]],
                    ["VethAttachment", "seed-eth0", "update", ["addresses"]],
                ],
            );
            assertGolden("ipv6-off", run);
        });
    });

    it("web's mode: web replaced because `networkMode` forces it, the sidecar follows, the NetworkAttachment goes", async () => {
        await withConfig({ "hostnet:webMode": "lab" }, async () => {
            const run = await report("mode");
            assert.equal(run.exitCode, 2, run.markdown);
            assert.deepEqual(
                run.json.resources.filter((r: any) => r.kind !== "Probe").map((r: any) => [r.kind, r.name, r.op]),
                [
                    ["DockerContainer", "web", "replace"],
                    ["DockerContainer", "sidecar", "replace"],
                    ["NetworkAttachment", "web-lab", "delete"],
                    // It names web: its rules are written again with the new web's addresses.
                    ["Policy", "policy", "update"],
                ],
            );
            // Every probe runs again after the Policy; the two between docker0 and lab now expect Docker's isolation.
            const probes = run.json.resources.filter((r: any) => r.kind === "Probe");
            assert.equal(probes.length, 11);
            assert.deepEqual(
                probes.filter((r: any) => r.properties.some((p: any) => p.path === "expect")).map((r: any) => r.name),
                ["seed-web", "web-seed"],
            );
            const [web, sidecar] = run.json.resources;
            assert.deepEqual(web.replaceReasons, ["networkMode"]);
            assert.deepEqual(
                web.dragsAlong.map((d: any) => d.name),
                ["sidecar"],
            );
            assert.deepEqual(
                sidecar.follows.map((f: any) => [f.name, f.properties]),
                [["web", ["networkMode"]]],
            );
            assertGolden("mode", run);
        });
    });

    it("a bridge's address: the Bridge and the attachment on it updated in place, nothing replaced", async () => {
        await withConfig({ "hostnet:lanAddress": `10.223.${n}.1/24` }, async () => {
            const run = await report("bridge-address");
            assert.equal(run.exitCode, 2, run.markdown);
            assert.deepEqual(
                run.json.resources.map((r: any) => [r.kind, r.name, r.op, r.properties.map((p: any) => p.path)]),
                [
                    ["Bridge", "lan", "update", ["addresses"]],
                    // The probe to the bridge's address follows it.
                    ["Probe", "isolated-lan", "update", ["network", "to.address"]],
                    // The bridge's addresses, as the program declares them, travel with the attachment: its route follows them.
                    ["VethAttachment", "isolated-eth0", "update", ["addresses", "bridgeAddresses"]],
                ],
            );
            assertGolden("bridge-address", run);
        });
    });

    it("a policy change: the Policy updated in place, the rules that change in nft's syntax; every probe runs again after it", async () => {
        await withConfig({ "hostnet:cliDeniedPorts": "80,443" }, async () => {
            const run = await report("policy");
            assert.equal(run.exitCode, 2, run.markdown);
            const [policy, ...probes] = run.json.resources;
            assert.deepEqual([policy.kind, policy.name, policy.op], ["Policy", "policy", "update"]);
            assert.deepEqual(
                policy.properties.map((p: any) => p.path),
                ["rules[0].ports"],
            );
            assert.deepEqual(policy.hostOperations.slice(1), [
                'remove: ip saddr @cli_v4 ip daddr @web_v4 tcp dport 80 counter drop comment "cli may not use web"',
                'remove: ip6 saddr @cli_v6 ip6 daddr @web_v6 tcp dport 80 counter drop comment "cli may not use web"',
                'add: ip saddr @cli_v4 ip daddr @web_v4 tcp dport { 80, 443 } counter drop comment "cli may not use web"',
                'add: ip6 saddr @cli_v6 ip6 daddr @web_v6 tcp dport { 80, 443 } counter drop comment "cli may not use web"',
            ]);
            assert.equal(probes.length, 11);
            assert.ok(
                probes.every(
                    (p: any) => p.kind === "Probe" && p.op === "update" && p.properties.map((x: any) => x.path).join() === "network",
                ),
            );
            assertGolden("policy", run);
        });
    });

    it("a bandwidth limit: the seed's attachment updated in place, `bandwidth` its only change, the tc commands listed; nothing replaced", async () => {
        await withConfig({ "hostnet:seedEgressRate": "10mbit" }, async () => {
            const run = await report("bandwidth");
            assert.equal(run.exitCode, 2, run.markdown);
            const seed = run.json.resources.find((r: any) => r.kind === "VethAttachment" && r.name === "seed-eth0");
            assert.equal(seed?.op, "update", run.markdown);
            assert.ok(seed.properties.length > 0 && seed.properties.every((p: any) => p.path.startsWith("bandwidth")), run.markdown);
            assert.ok(
                run.json.resources.every((r: any) => r.op === "update"),
                "nothing replaced, created or deleted",
            );
            if (typeof require(ENGINE).describeChange === "function") {
                const ops = seed.hostOperations.join("\n");
                assert.match(ops, /ifb/, ops);
                assert.match(ops, /tbf/, ops);
                assert.match(run.markdown, /seed-eth0/);
            }
        });
    });

    it("a bad address: exit 1, the program's error in the report, no plan", async () => {
        await withConfig({ "hostnet:address": "172.17.250.300/16" }, async () => {
            const run = await report("error");
            assert.equal(run.exitCode, 1, run.markdown);
            assert.match(run.markdown, /`addresses\[0\]` must be an IPv4 address with its prefix length/);
            assert.deepEqual(run.json.resources, []);
            assertGolden("error", run);
        });
    });

    it("host operations: each change lists exactly what pulumi-hostnet/engine's describeChange says, in JSON and in Markdown", async () => {
        const describeChange = require(ENGINE).describeChange;
        await withConfig({ "hostnet:address": `${seedAt(1)}/16`, "hostnet:webMode": "lab" }, async () => {
            const run = await report("host-operations");
            assert.equal(run.exitCode, 2, run.markdown);
            // web, its sidecar, its NetworkAttachment and the seed's attachment; the Policy naming web, and every probe after it.
            assert.equal(run.json.resources.length, 4 + 1 + 11);
            if (typeof describeChange !== "function") {
                assert.ok(run.json.resources.every((r: any) => !("hostOperations" in r)));
                assert.doesNotMatch(run.markdown, /Host operations/);
                return;
            }
            for (const r of run.json.resources) {
                const expected = describeChange(r.kind, r.op, r.olds, r.news);
                assert.deepEqual(r.hostOperations, expected, `${r.kind} ${r.name}`);
                // In Markdown, unknown values are spelled out and Docker ids cut to 12 characters.
                const shown = (line: string) =>
                    line
                        .split(UNKNOWN)
                        .join("(known after the up)")
                        .replace(/\b([0-9a-f]{12})[0-9a-f]{52}\b/g, "$1…");
                for (const line of expected) assert.ok(run.markdown.includes(`- ${shown(line)}`), line);
            }
        });
    });
});
