// TypeScript programs are type-checked when the engine runs them, as with
// Pulumi's own Node.js language host, unless the project opts out the ways
// Pulumi allows; a check that passed is remembered until something it reads
// changes (the program, the project's other sources, a tsconfig, the
// installed packages, a file loaded from outside the project). Each case is a
// throw-away project (its own Pulumi.yaml, a program with no resources,
// node_modules linked to the repository's, a memory of checks of its own)
// previewed through the real engine and the project's language host: nothing
// on the host is touched.

import * as assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as ts from "typescript";
import { createStack, projectRoot } from "../helpers/pulumi";

/** A program whose second line is `line`; it says how node runs it, then exports `n`. */
function program(line: string): string {
    return [
        `import * as pulumi from "@pulumi/pulumi";`,
        line,
        `const tsNode = typeof require.extensions[".ts"] === "function" ? "on" : "off";`,
        'console.log(`ts-node: ${tsNode}; node args: ${process.execArgv.join("|")}`);',
        // What the language host decided for this run: a remembered check runs transpile-only.
        'console.log(`type-check: ${process.env.PULUMI_NODEJS_TRANSPILE_ONLY === "true" ? "remembered" : "run"}`);',
        `export const out = pulumi.output(n);`,
        ``,
    ].join("\n");
}
const WRONG = program(`const n: number = "x";`);
const RIGHT = program(`const n: number = 1;`);
const TS2322 = "index.ts(2,7): error TS2322: Type 'string' is not assignable to type 'number'.";

interface Project {
    /** Files besides Pulumi.yaml, by path. */
    files: Record<string, string>;
    /** Pulumi.yaml's `runtime.options`. */
    options?: Record<string, unknown>;
    /** Environment of the CLI, the engine and the program. */
    env?: Record<string, string>;
}

/**
 * A project in a scratch folder (removed afterwards) with a memory of type-checks of its own; `body`
 * previews it, after writing the files given (paths relative to the project's folder), and gets the
 * CLI's output.
 */
async function withProject(project: Project, body: (preview: (files?: Record<string, string>) => Promise<string>) => Promise<void>) {
    const scratch = mkdtempSync(join(tmpdir(), "hostnet-typecheck-"));
    try {
        const workDir = join(scratch, "project");
        mkdirSync(workDir);
        mkdirSync(join(scratch, "state"));
        // JSON is YAML: Pulumi.yaml as the engine reads it.
        const runtime = project.options ? { name: "nodejs", options: project.options } : "nodejs";
        writeFileSync(join(workDir, "Pulumi.yaml"), JSON.stringify({ name: "typecheck", runtime }));
        const write = (files: Record<string, string>) => {
            for (const [path, text] of Object.entries(files)) {
                mkdirSync(dirname(join(workDir, path)), { recursive: true });
                writeFileSync(join(workDir, path), text);
            }
        };
        write({ "package.json": `{"name": "typecheck"}`, ...project.files });
        symlinkSync(join(projectRoot, "node_modules"), join(workDir, "node_modules"));
        const env = { HOSTNET_TYPECHECK_CACHE: join(scratch, "typecheck-memory"), ...project.env };
        const stack = await createStack("t", workDir, join(scratch, "state"), join(scratch, "home"), env);
        await body(async (files = {}) => {
            write(files);
            return (await stack.preview()).stdout;
        });
    } finally {
        rmSync(scratch, { recursive: true, force: true });
    }
}

/** Previews the project in a scratch folder, removed afterwards; returns the CLI's output. */
async function preview(project: Project): Promise<string> {
    let out = "";
    await withProject(project, async (run) => {
        out = await run();
    });
    return out;
}

/** Asserts that the preview is refused with an error matching each of `messages`. */
async function assertRefused(project: Project, ...messages: (string | RegExp)[]): Promise<void> {
    await assert.rejects(preview(project), (err: Error) => {
        for (const m of messages) {
            if (typeof m === "string") assert.ok(err.message.includes(m), `expected "${m}" in:\n${err.message}`);
            else assert.match(err.message, m);
        }
        return true;
    });
}

describe("TypeScript programs are type-checked like Pulumi's own language host does", function () {
    // The project's settings must not come from whoever runs the tests.
    const inherited = ["PULUMI_NODEJS_TRANSPILE_ONLY", "PULUMI_NODEJS_TYPESCRIPT", "PULUMI_NODEJS_TSCONFIG_PATH"];
    const saved: Record<string, string | undefined> = {};
    before(() => {
        for (const k of inherited) {
            saved[k] = process.env[k];
            delete process.env[k];
        }
    });
    after(() => {
        for (const k of inherited) if (saved[k] !== undefined) process.env[k] = saved[k];
    });

    it("a type error fails the preview with tsc's message", async () => {
        await assertRefused({ files: { "index.ts": WRONG } }, "Unable to compile TypeScript", TS2322);
    });

    it("an explicit PULUMI_NODEJS_TRANSPILE_ONLY=false type-checks too", async () => {
        await assertRefused({ files: { "index.ts": WRONG }, env: { PULUMI_NODEJS_TRANSPILE_ONLY: "false" } }, TS2322);
    });

    it("a correct program previews, run through ts-node", async () => {
        const out = await preview({ files: { "index.ts": RIGHT } });
        assert.match(out, /ts-node: on;/);
    });

    it("PULUMI_NODEJS_TRANSPILE_ONLY=true previews the program with the type error", async () => {
        const out = await preview({ files: { "index.ts": WRONG }, env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true" } });
        assert.match(out, /ts-node: on;/);
        assert.match(out, /out\s*:\s*"x"/);
    });

    it("compilerOptions.noCheck in the tsconfig named by runtime.options.tsconfig previews it", async () => {
        const out = await preview({
            files: {
                "index.ts": WRONG,
                "tsconfig.json": `{"compilerOptions": {"strict": true}}`,
                "tsconfig.deploy.json": `{"extends": "./tsconfig.json", "compilerOptions": {"noCheck": true}}`,
            },
            options: { tsconfig: "tsconfig.deploy.json" },
        });
        assert.match(out, /out\s*:\s*"x"/);
    });

    it("typescript: false runs the project's JavaScript build with no ts-node", async () => {
        // What a build without checks (`tsc --noCheck`) makes of the same program.
        const built = ts.transpileModule(WRONG, { compilerOptions: { module: ts.ModuleKind.CommonJS } }).outputText;
        const out = await preview({
            files: { "index.ts": WRONG, "bin/index.js": built, "package.json": `{"name": "typecheck", "main": "bin/index.js"}` },
            options: { typescript: false },
        });
        assert.match(out, /ts-node: off;/);
        assert.match(out, /out\s*:\s*"x"/);
    });

    it("runtime.options.nodeargs reach node, split as a shell would", async () => {
        const out = await preview({
            files: { "index.ts": RIGHT },
            options: { nodeargs: `--max-old-space-size=300 "--title=hostnet typecheck"` },
        });
        assert.match(out, /node args: --max-old-space-size=300\|--title=hostnet typecheck\s*$/m);
    });

    it("a program checked once is not checked again until something it reads changes; then a type error fails the preview", async () => {
        await withProject({ files: { "index.ts": RIGHT } }, async (run) => {
            assert.match(await run(), /type-check: run/);
            assert.match(await run(), /type-check: remembered/, "unchanged: the check is remembered");
            await assert.rejects(run({ "index.ts": WRONG }), (err: Error) => err.message.includes(TS2322));
            assert.match(await run({ "index.ts": program(`const n: number = 2;`) }), /type-check: run/, "a new program is checked");
            assert.match(await run({ "index.ts": RIGHT }), /type-check: remembered/, "back to what passed: remembered");
        });
    });

    it("a file loaded from outside the project is compared too: a type error made there fails the next preview", async () => {
        // The program imports ../shared/n.ts, outside the project's folder (and so outside what the key hashes).
        const uses = `import * as pulumi from "@pulumi/pulumi";\nimport { n } from "../shared/n";\nexport const out = pulumi.output(n);\n`;
        await withProject({ files: { "index.ts": uses, "../shared/n.ts": `export const n: number = 1;\n` } }, async (run) => {
            await run();
            await run();
            await assert.rejects(run({ "../shared/n.ts": `export const n: number = "x";\n` }), (err: Error) =>
                err.message.includes("n.ts(1,14): error TS2322"),
            );
        });
    });

    it("a changed tsconfig is checked again", async () => {
        await withProject(
            { files: { "index.ts": program(`const n: number = 1; export const f = (a) => a;`), "tsconfig.json": `{}` } },
            async (run) => {
                await run();
                assert.match(await run(), /type-check: remembered/);
                await assert.rejects(
                    run({ "tsconfig.json": `{"compilerOptions": {"noImplicitAny": true, "strict": true}}` }),
                    (err: Error) => err.message.includes("error TS7006"),
                );
            },
        );
    });

    it("HOSTNET_TYPECHECK_CACHE=off checks every run", async () => {
        await withProject({ files: { "index.ts": RIGHT }, env: { HOSTNET_TYPECHECK_CACHE: "off" } }, async (run) => {
            assert.match(await run(), /type-check: run/);
            assert.match(await run(), /type-check: run/);
        });
    });

    it("a runtime option of the wrong type is refused, naming it", async () => {
        await assertRefused(
            { files: { "index.ts": RIGHT }, options: { typescript: "no" } },
            `failed to read runtime.options.typescript in Pulumi.yaml: it is "no"; make it true or false`,
        );
    });
});
