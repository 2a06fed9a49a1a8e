// The preview digest read into one change per host object: the cases the
// example stack cannot show (secrets, create-before-delete replacements,
// nested replace keys, creates, refused steps), on digests shaped like the
// engine's (`pulumi preview --json --show-replacement-steps`). The real
// engine's output is tested end to end in test/e2e/previewReport.test.ts.

import * as assert from "node:assert/strict";
import { DigestState, DigestStep, planOf, UNKNOWN } from "../../components/src/cli/previewPlan";
import { renderMarkdown, reportOf } from "../../components/src/cli/previewReport";

const urn = (type: string, name: string) => `urn:pulumi:dev::hostnet::pulumi-nodejs:dynamic/hostnet:${type}::${name}`;
const state = (type: string, name: string, inputs: Record<string, unknown>, extra: Partial<DigestState> = {}): DigestState => ({
    urn: urn(type, name),
    type: `pulumi-nodejs:dynamic/hostnet:${type}`,
    custom: true,
    inputs: { __provider: "exports.handler = ...", ...inputs },
    outputs: { __provider: "exports.handler = ...", ...inputs, ...(extra.outputs ?? {}) },
    ...extra,
});
const step = (op: string, old: DigestState | undefined, neu: DigestState | undefined, replaceReasons?: string[]): DigestStep => ({
    op,
    urn: (old ?? neu)!.urn,
    ...(old ? { oldState: old } : {}),
    ...(neu ? { newState: neu } : {}),
    ...(replaceReasons ? { replaceReasons } : {}),
});

describe("preview plan", () => {
    it("a secret stays masked, and a secret that forces replacement is still listed", () => {
        const old = state("DockerContainer", "db", { env: "[secret]", image: "a:1" });
        const neu = state("DockerContainer", "db", { env: "[secret]", image: "a:2" });
        const plan = planOf({ steps: [step("replace", old, neu, ["env"]), step("create-replacement", old, neu, ["env"])] });
        assert.deepEqual(plan.changes[0].properties, [
            { path: "image", old: "a:1", new: "a:2", forcesReplacement: false },
            { path: "env", old: "[secret]", new: "[secret]", forcesReplacement: true },
        ]);
        assert.ok(!JSON.stringify(plan).includes("4dabf18193072939515e22adb298388d"));
    });

    it("the engine's serialized secret object is shown as [secret] too", () => {
        const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "abc" };
        const old = state("VethAttachment", "a", { address: "10.0.0.2/24", mac: secret });
        const neu = state("VethAttachment", "a", { address: "10.0.0.3/24", mac: secret });
        const [c] = planOf({ steps: [step("update", old, neu)] }).changes;
        assert.deepEqual(c.news?.mac, "[secret]");
        assert.deepEqual(c.properties, [{ path: "address", old: "10.0.0.2/24", new: "10.0.0.3/24", forcesReplacement: false }]);
    });

    it("create-before-delete: a dependent whose input becomes unknown follows the replaced resource", () => {
        const netOld = state("Network", "lab", { subnet: "10.1.0.0/24" });
        const netNew = state("Network", "lab", { subnet: "10.2.0.0/24" });
        const apiOld = state("DockerContainer", "api", { networkMode: "netid1", image: "a" });
        const apiNew = state(
            "DockerContainer",
            "api",
            { networkMode: UNKNOWN, image: "a" },
            { propertyDependencies: { networkMode: [urn("Network", "lab")], image: [] } },
        );
        const plan = planOf({
            steps: [
                step("create-replacement", netOld, netNew, ["subnet"]),
                step("replace", netOld, netNew, ["subnet"]),
                step("create-replacement", apiOld, apiNew, ["networkMode"]),
                step("replace", apiOld, apiNew, ["networkMode"]),
                step("delete-replaced", apiOld, undefined),
                step("delete-replaced", netOld, undefined),
            ],
        });
        assert.deepEqual(
            plan.changes.map((c) => [
                c.kind,
                c.name,
                c.op,
                c.deleteBeforeReplace,
                c.follows.map((f) => f.name),
                c.dragsAlong.map((d) => d.name),
            ]),
            [
                ["Network", "lab", "replace", false, [], ["api"]],
                ["DockerContainer", "api", "replace", false, ["lab"], []],
            ],
        );
        assert.deepEqual(plan.changes[1].properties, [{ path: "networkMode", old: "netid1", knownAfterUp: true, forcesReplacement: true }]);
        const md = renderMarkdown(reportOf(plan, { stack: "dev" }));
        assert.match(md, /follows Network `lab`: its `networkMode` comes from it/);
        assert.match(md, /The new one is created before the old one is deleted\./);
    });

    it("a replacement of its own whose new value is known is not called dragged along", () => {
        const bOld = state("Bridge", "lan", { name: "br1" });
        const bNew = state("Bridge", "lan", { name: "br2" });
        const aOld = state("VethAttachment", "x", { bridge: "br1", hostIfName: "v1" });
        const aNew = state(
            "VethAttachment",
            "x",
            { bridge: "br2", hostIfName: "v2" },
            { propertyDependencies: { bridge: [urn("Bridge", "lan")] } },
        );
        const plan = planOf({
            steps: [step("replace", bOld, bNew, ["name"]), step("replace", aOld, aNew, ["bridge", "hostIfName"])],
        });
        assert.deepEqual(plan.changes.find((c) => c.name === "x")?.follows, []);
    });

    it("nested replace keys (a VethLink end) mark exactly the nested property", () => {
        const old = state("VethLink", "l", {
            a: { address: "10.0.0.1/30", ifName: "eth1" },
            b: { address: "10.0.0.2/30", ifName: "eth1" },
        });
        const neu = state("VethLink", "l", {
            a: { address: "10.0.0.1/30", ifName: "eth2" },
            b: { address: "10.0.0.6/30", ifName: "eth1" },
        });
        const [c] = planOf({
            steps: [step("replace", old, neu, ["a.ifName"]), step("create-replacement", old, neu, ["a.ifName"])],
        }).changes;
        assert.deepEqual(
            c.properties.map((p) => [p.path, p.forcesReplacement]),
            [
                ["a.ifName", true],
                ["b.address", false],
            ],
        );
    });

    it("the stack, providers and components are not host objects; sames are counted as unchanged", () => {
        const stack: DigestState = { urn: "urn:pulumi:dev::hostnet::pulumi:pulumi:Stack::hostnet-dev", type: "pulumi:pulumi:Stack" };
        const comp: DigestState = { urn: urn("Container", "web"), type: "hostnet:index:Container", custom: false };
        const prov: DigestState = {
            urn: "urn:pulumi:dev::hostnet::pulumi:providers:pulumi-nodejs::default",
            type: "pulumi:providers:pulumi-nodejs",
            custom: true,
        };
        const same = state("Bridge", "docker0", { name: "docker0" });
        const created = state("Bridge", "lan", { name: "br1", addresses: ["10.0.0.1/24"] });
        const plan = planOf({
            steps: [
                step("same", stack, stack),
                step("create", undefined, comp),
                step("same", prov, prov),
                step("same", same, same),
                step("create", undefined, created),
            ],
        });
        assert.equal(plan.unchanged, 1);
        assert.deepEqual(
            plan.changes.map((c) => [c.kind, c.name, c.op, c.properties.map((p) => [p.path, p.new])]),
            [
                [
                    "Bridge",
                    "lan",
                    "create",
                    [
                        ["addresses", ["10.0.0.1/24"]],
                        ["name", "br1"],
                    ],
                ],
            ],
        );
        assert.equal(reportOf(plan).exitCode, 2);
        assert.equal(reportOf({ ...plan, changes: [] }).exitCode, 0);
    });

    it("an error diagnostic makes the report a failure, without colour codes or stack trace", () => {
        const plan = planOf({
            diagnostics: [
                {
                    severity: "error",
                    message: "error: boom\n    at Object.<anonymous> (/x/index.ts:1:1)\n\u001b[90m    at Module._compile\u001b[39m\n",
                },
                { severity: "info", message: "hello from the program" },
            ],
        });
        const report = reportOf(plan);
        assert.equal(report.exitCode, 1);
        assert.deepEqual(report.errors, ["error: boom"]);
        assert.match(renderMarkdown(report), /: failed\n\nThe preview failed; nothing here is a plan\.\n\n```text\nerror: boom\n```\n$/);
    });

    it("Markdown: ids cut to 12 characters, pipes and backticks escaped in table cells", () => {
        const id = "a".repeat(64);
        const old = state("DockerContainer", "c", { networkMode: `container:${id}`, command: ["sh", "-c", "a | b `c`"] });
        const neu = state("DockerContainer", "c", { networkMode: "bridge", command: ["sh"] });
        const md = renderMarkdown(reportOf(planOf({ steps: [step("replace", old, neu, ["networkMode", "command"])] })));
        assert.ok(md.includes("`container:aaaaaaaaaaaa…`"), md);
        assert.ok(md.includes('`` ["sh","-c","a \\| b `c`"] ``'), md);
    });
});
