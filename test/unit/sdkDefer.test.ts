// Deferred loading of @pulumi/pulumi's function-serialization dependencies
// (tools/sdkdefer/preload.js, the toolchain's hostnet-sdk-defer.js): the real
// SDK from node_modules is loaded in child processes with the preload and
// without it (Node.js alone: the reference). With it, loading the SDK loads
// neither TypeScript's compiler nor npm's Arborist nor normalize-package-data;
// serializing a function and computing a program's code paths give what they
// give without it, loading those modules then. An SDK file whose text is not
// one the preload was checked against, or the setting turned off, loads as
// usual.

import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { projectRoot } from "../helpers/pulumi";

const PRELOAD = join(projectRoot, "tools", "sdkdefer", "preload.js");
const SDK = require.resolve("@pulumi/pulumi", { paths: [projectRoot] });

/** The modules that only function serialization uses, as require.cache names their main files. */
const HEAVY = {
    typescript: /[/]node_modules[/]typescript[/]lib[/]typescript\.js$/,
    arborist: /[/]node_modules[/]@npmcli[/]arborist[/]lib[/]index\.js$/,
    normalize: /[/]node_modules[/]normalize-package-data[/]lib[/]normalize\.js$/,
};

/** What a child process reports: which heavy modules are loaded after each step, and the steps' results. */
interface Report {
    modules: number;
    loaded: Record<string, string[]>;
    serialized?: string;
    codePaths?: string[];
}

/**
 * Runs `prelude` (before the SDK is loaded), then `steps` (JavaScript with `pulumi` in scope; each `step("name")`
 * records which heavy modules are loaded at that point) in a child node in `cwd`, with the preload or without, and
 * returns its report.
 */
function run(steps: string, opts: { preload: boolean; cwd?: string; env?: Record<string, string>; prelude?: string }): Report {
    const script = `
const heavy = ${JSON.stringify(Object.fromEntries(Object.entries(HEAVY).map(([k, v]) => [k, v.source])))};
const report = { loaded: {} };
const step = (name) => { report.loaded[name] = Object.keys(heavy).filter((k) => Object.keys(require.cache).some((f) => new RegExp(heavy[k]).test(f))); };
${opts.prelude ?? ""}
(async () => {
    const pulumi = require(${JSON.stringify(SDK)});
    report.modules = Object.keys(require.cache).length;
    step("sdk");
    ${steps}
    console.log(JSON.stringify(report));
})().catch((e) => { console.error(e); process.exit(1); });`;
    const args = opts.preload ? ["--require", PRELOAD, "-e", script] : ["-e", script];
    const env = { ...process.env, ...opts.env };
    delete env.NODE_OPTIONS;
    const out = execFileSync("node", args, { cwd: opts.cwd ?? projectRoot, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return JSON.parse(out.trim().split("\n").at(-1)!) as Report;
}

describe("deferred loading of the SDK's function-serialization dependencies", function () {
    this.timeout(120000);

    it("loading @pulumi/pulumi loads neither TypeScript nor Arborist nor normalize-package-data with it; without it, all three", () => {
        const alone = run("", { preload: false });
        const deferred = run("", { preload: true });
        console.log(`      modules loaded with @pulumi/pulumi: ${alone.modules} alone, ${deferred.modules} with the preload`);
        assert.deepEqual(alone.loaded.sdk, ["typescript", "arborist", "normalize"]);
        assert.deepEqual(deferred.loaded.sdk, []);
        assert.ok(deferred.modules < alone.modules - 300, `${deferred.modules} modules against ${alone.modules}`);
    });

    it("serializing a function gives the same text, and loads TypeScript then", () => {
        const steps = `
const base = 40;
const fn = (x) => ({ answer: base + x, at: new Date(0).toISOString() });
report.serialized = (await pulumi.runtime.serializeFunction(fn)).text;
step("after");`;
        const alone = run(steps, { preload: false });
        const deferred = run(steps, { preload: true });
        assert.ok(alone.serialized?.includes("base + x"), alone.serialized);
        assert.equal(deferred.serialized, alone.serialized);
        assert.ok(deferred.loaded.after.includes("typescript"), `loaded after: ${deferred.loaded.after}`);
    });

    it("a function that captures TypeScript, required by the program after the SDK or before it, is serialized with the same text", () => {
        // The serializer names a captured module by the first entry of require.cache whose exports it is: the SDK's
        // shim, loaded with the SDK, comes before the program's own `typescript` unless the program loaded it first.
        const capture = `report.serialized = (await pulumi.runtime.serializeFunction(() => ts.version)).text;`;
        for (const [order, steps] of [
            ["after", `const ts = require("typescript");\n${capture}`],
            ["before", `${capture}`],
        ] as const) {
            const prelude = order === "before" ? `const ts = require("typescript");\n` : "";
            const alone = run(steps, { preload: false, prelude });
            const deferred = run(steps, { preload: true, prelude });
            const names = (text?: string) => text?.match(/require\("[^"]*"\)/g);
            assert.ok(names(alone.serialized)?.length, `${order}: ${alone.serialized}`);
            assert.deepEqual(names(deferred.serialized), names(alone.serialized), `TypeScript required ${order} the SDK`);
            assert.equal(deferred.serialized, alone.serialized);
        }
    });

    it("computing a program's code paths gives the same packages, and loads Arborist and normalize-package-data then", () => {
        // A program folder with one dependency (and its own dependency), as computeCodePaths reads it.
        const dir = mkdtempSync(join(tmpdir(), "hostnet-sdkdefer-"));
        try {
            const pkg = (folder: string, json: object) => {
                mkdirSync(folder, { recursive: true });
                writeFileSync(join(folder, "package.json"), JSON.stringify(json));
                writeFileSync(join(folder, "index.js"), "module.exports = 1;\n");
            };
            pkg(dir, { name: "program", version: "1.0.0", dependencies: { left: "1.0.0" } });
            pkg(join(dir, "node_modules", "left"), { name: "left", version: "1.0.0", dependencies: { right: "2.0.0" } });
            pkg(join(dir, "node_modules", "right"), { name: "right", version: "2.0.0", license: "MIT" });
            const steps = `
report.codePaths = [...(await pulumi.runtime.computeCodePaths({ extraIncludePackages: ["left"] })).keys()].sort();
step("after");`;
            const alone = run(steps, { preload: false, cwd: dir });
            const deferred = run(steps, { preload: true, cwd: dir });
            assert.deepEqual(
                alone.codePaths,
                ["node_modules/left", "node_modules/right"].map((p) => p),
            );
            assert.deepEqual(deferred.codePaths, alone.codePaths);
            assert.deepEqual(
                deferred.loaded.after.filter((m) => m !== "typescript"),
                ["arborist", "normalize"],
            );
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("HOSTNET_SDK_DEFER=0 (or off, false, no) turns it off", () => {
        for (const off of ["0", "off", "false", "no"]) {
            const r = run("", { preload: true, env: { HOSTNET_SDK_DEFER: off } });
            assert.deepEqual(r.loaded.sdk, ["typescript", "arborist", "normalize"], `HOSTNET_SDK_DEFER=${off}`);
        }
    });

    it("an SDK file whose text is not one it was checked against loads its imports as usual", () => {
        // A package laid out as @pulumi/pulumi, whose parseFunction.js is not the released text: its import of
        // the TypeScript shim must run when the file loads, not at a first use.
        const dir = mkdtempSync(join(tmpdir(), "hostnet-sdkdefer-"));
        try {
            const sdk = join(dir, "node_modules", "@pulumi", "pulumi");
            const write = (file: string, text: string) => {
                mkdirSync(dirname(join(sdk, file)), { recursive: true });
                writeFileSync(join(sdk, file), text);
            };
            write("package.json", JSON.stringify({ name: "@pulumi/pulumi", version: "3.248.0", main: "index.js" }));
            write("typescript-shim.js", "globalThis.shimLoaded = true;\nmodule.exports = { kind: 'shim' };\n");
            write("runtime/closure/parseFunction.js", 'const ts = require("../../typescript-shim");\nexports.kind = () => ts.kind;\n');
            write("index.js", 'exports.parse = require("./runtime/closure/parseFunction.js");\n');
            const script = `const p = require(${JSON.stringify(join(sdk, "index.js"))});
console.log(JSON.stringify({ atLoad: globalThis.shimLoaded === true, kind: p.parse.kind() }));`;
            const env = { ...process.env };
            delete env.NODE_OPTIONS;
            const out = execFileSync("node", ["--require", PRELOAD, "-e", script], { cwd: dir, env, encoding: "utf8" });
            assert.deepEqual(JSON.parse(out), { atLoad: true, kind: "shim" });
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("removes its --require from NODE_OPTIONS, so processes the program starts do not load it", () => {
        const env = { ...process.env, NODE_OPTIONS: `--max-old-space-size=4096 --require ${JSON.stringify(PRELOAD)}` };
        const out = execFileSync(
            "node",
            [
                "-e",
                "console.log(JSON.stringify({ loaded: Object.keys(require.cache).some((f) => f.endsWith('sdkdefer/preload.js')), options: process.env.NODE_OPTIONS }))",
            ],
            { env, encoding: "utf8" },
        );
        assert.deepEqual(JSON.parse(out), { loaded: true, options: "--max-old-space-size=4096" });
    });
});
