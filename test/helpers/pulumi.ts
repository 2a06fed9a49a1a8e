// Runs the example stack through the real engine: the project's own Pulumi CLI
// and language host (built by scripts/setup.sh), the Automation API, a
// throw-away file backend and PULUMI_HOME per run.

import { LocalWorkspace, PulumiCommand, Stack, type EngineEvent, type OutputMap, type UpdateSummary } from "@pulumi/pulumi/automation";
import {
    copyFileSync,
    existsSync,
    mkdirSync,
    mkdtempSync,
    readdirSync,
    readFileSync,
    rmSync,
    statSync,
    symlinkSync,
    writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import * as ts from "typescript";
import { sweepRun, unusedIpv6Subnets } from "./host";

export const projectRoot = join(__dirname, "..", "..");

export function toolchainRoot(): string {
    const env = readFileSync(join(projectRoot, "scripts", "toolchain.env.sh"), "utf8");
    const version = /^PULUMI_VERSION=(\S+)$/m.exec(env)![1];
    return join(process.env.HOSTNET_CACHE ?? "/var/cache/hostnet", `pulumi-v${version}`);
}

export interface TestStack {
    stack: Stack;
    stateDir: string;
    dispose(): void;
}

export interface ExampleStackOptions {
    /** A program to run instead of the example's index.ts (same project settings, so the same owner marks). */
    program?: string;
    /**
     * Run the program as JavaScript, compiled once here (runAsJavaScript), without TypeScript's
     * type-check: seconds of CPU saved per engine run, for suites that run the engine dozens of
     * times. `npm test` type-checks every program once with `tsc -p .`.
     */
    transpileOnly?: boolean;
    /**
     * Leave out the project's `options: refresh: always` (Pulumi.yaml), as a stack that installs the
     * package and does not set it: a plain preview and up then diff against the recorded outputs.
     */
    withoutRefreshOption?: boolean;
}

/**
 * The example's IPv6 settings for a test run, where `config` leaves them out:
 * a lab subnet and a bridge address in /64s nothing on the host uses, and the
 * seed's IPv6 address on docker0 numbered after its IPv4 one (172.17.A.B ->
 * fd17:ac11::<A.B in hex>), so that runs beside each other never share one.
 */
export async function exampleIpv6Config(config: Record<string, string>): Promise<Record<string, string>> {
    const [lab, lan] = await unusedIpv6Subnets(2);
    const seed = /^172\.17\.(\d+)\.(\d+)\//.exec(config["hostnet:address"] ?? "");
    return {
        "hostnet:labSubnet6": lab,
        "hostnet:lanAddress6": `${lan.split("/")[0]}1/64`,
        ...(seed ? { "hostnet:address6": `fd17:ac11::${(Number(seed[1]) * 256 + Number(seed[2])).toString(16)}/64` } : {}),
        ...config,
    };
}

/**
 * A stack of the example project in a scratch folder that links to the
 * project's program and node_modules, so that stack files land there and not
 * in the repository. The IPv6 settings `config` leaves out are made unique to
 * the run (exampleIpv6Config).
 */
export async function exampleStack(stackName: string, given: Record<string, string>, opts: ExampleStackOptions = {}): Promise<TestStack> {
    const config = opts.program === undefined ? await exampleIpv6Config(given) : given;
    const scratch = mkdtempSync(join(tmpdir(), "hostnet-e2e-"));
    const workDir = join(scratch, "project");
    const stateDir = join(scratch, "state");
    const home = join(scratch, "home");
    mkdirSync(workDir);
    mkdirSync(stateDir);
    copyFileSync(join(projectRoot, "Pulumi.yaml"), join(workDir, "Pulumi.yaml"));
    if (opts.withoutRefreshOption) {
        const project = readFileSync(join(workDir, "Pulumi.yaml"), "utf8");
        const without = project.replace(/^options:\n  refresh: always\n/m, "");
        if (without === project) throw new Error("the project's Pulumi.yaml has no `options: refresh: always` to leave out");
        writeFileSync(join(workDir, "Pulumi.yaml"), without);
    }
    symlinkSync(opts.program ?? join(projectRoot, "index.ts"), join(workDir, "index.ts"));
    for (const entry of ["tsconfig.json", "package.json", "node_modules"]) {
        symlinkSync(join(projectRoot, entry), join(workDir, entry));
    }
    if (opts.transpileOnly) runAsJavaScript(workDir);
    const dispose = () => rmSync(scratch, { recursive: true, force: true });
    try {
        const stack = await createStack(
            stackName,
            workDir,
            stateDir,
            home,
            opts.transpileOnly ? { PULUMI_NODEJS_TRANSPILE_ONLY: "true" } : {},
        );
        for (const [key, value] of Object.entries(config)) {
            await stack.setConfig(key, { value });
        }
        return { stack, stateDir, dispose };
    } catch (err) {
        dispose();
        throw err;
    }
}

/**
 * Makes the Pulumi project in `workDir` run its program as JavaScript: its
 * `index.ts` compiled once, here, to `index.js` (with an inline source map, so
 * that an error's stack still names the TypeScript lines), and its Pulumi.yaml
 * set to run that file without ts-node. For suites that run the engine dozens
 * of times: each program run then skips loading TypeScript and transpiling
 * (about 1.3 s of CPU of the example's 3.1 s, measured with the inspector's
 * profiler). What the program does is the same; `npm test` type-checks the
 * TypeScript source once with `tsc -p .`, and the suites that run TypeScript
 * as a user does (the example stack's, the type-check's) leave it so.
 */
export function runAsJavaScript(workDir: string): void {
    const source = join(workDir, "index.ts");
    const js = ts.transpileModule(readFileSync(source, "utf8"), {
        fileName: basename(source),
        compilerOptions: {
            module: ts.ModuleKind.CommonJS,
            target: ts.ScriptTarget.ES2022,
            esModuleInterop: true,
            inlineSourceMap: true,
            inlineSources: true,
        },
        reportDiagnostics: true,
    });
    if (js.diagnostics?.length) {
        throw new Error(`failed to compile ${source}: ${ts.flattenDiagnosticMessageText(js.diagnostics[0].messageText, "\n")}`);
    }
    writeFileSync(join(workDir, "index.js"), js.outputText);
    const projectFile = join(workDir, "Pulumi.yaml");
    const project = readFileSync(projectFile, "utf8");
    if (!/^    typescript: true$/m.test(project)) throw new Error(`${projectFile} has no \`typescript: true\` to turn off`);
    const main = /^main: .*$/m;
    const asJs = project.replace(/^    typescript: true$/m, "    typescript: false");
    rmSync(projectFile);
    writeFileSync(projectFile, main.test(asJs) ? asJs.replace(main, "main: index.js") : `${asJs.trimEnd()}\nmain: index.js\n`);
}

/**
 * The end of a suite's stack, whatever state the tests left it in: `destroy`,
 * then the stack removed from its backend; and, even when those fail, every
 * object on the host under `ownerPrefix` swept (a test that failed half-way
 * may leave what the state does not know) and the scratch folder deleted.
 * A failed destroy still fails the suite's `after`, after the sweep.
 */
export async function tearDown(t: TestStack | undefined, ownerPrefix: string): Promise<void> {
    try {
        await t?.stack.destroy();
        await t?.stack.workspace.removeStack(t.stack.name);
    } finally {
        await sweepRun(ownerPrefix);
        t?.dispose();
    }
}

/**
 * A stack of the project in `workDir` (a scratch copy the test made), with its
 * state and PULUMI_HOME in a scratch folder of their own. `dispose` removes
 * that folder, not `workDir`.
 */
export async function projectStack(workDir: string, stackName: string, config: Record<string, string>): Promise<TestStack> {
    const scratch = mkdtempSync(join(tmpdir(), "hostnet-state-"));
    const stateDir = join(scratch, "state");
    mkdirSync(stateDir);
    const dispose = () => rmSync(scratch, { recursive: true, force: true });
    try {
        const stack = await createStack(stackName, workDir, stateDir, join(scratch, "home"));
        for (const [key, value] of Object.entries(config)) {
            await stack.setConfig(key, { value });
        }
        return { stack, stateDir, dispose };
    } catch (err) {
        dispose();
        throw err;
    }
}

/**
 * A stack of the project in workDir, on a file backend in stateDir, with the
 * project's offline settings plus env for the CLI, the engine and the program.
 */
export async function createStack(
    stackName: string,
    workDir: string,
    stateDir: string,
    home: string,
    env: Record<string, string> = {},
): Promise<Stack> {
    const pulumiCommand = await PulumiCommand.get({ root: toolchainRoot(), skipVersionCheck: true });
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName, workDir },
        {
            pulumiCommand,
            pulumiHome: home,
            envVars: {
                PULUMI_BACKEND_URL: `file://${stateDir}`,
                PULUMI_CONFIG_PASSPHRASE: "",
                PULUMI_SKIP_UPDATE_CHECK: "true",
                PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
                PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
                ...env,
            },
        },
    );
    return summarizedFromEvents(stack);
}

/**
 * `stack`, with its `up`, `refresh` and `destroy` returning the summary (and
 * `up` the outputs) read from the engine's own event stream of that command,
 * instead of from the `pulumi` commands the Automation API runs after each
 * (`stack output` twice and `stack history` after an up, `stack history`
 * after the others): each of those starts the CLI again and derives the
 * passphrase key again, ~0.4 s of CPU, so ~1.3 s per `up`, on a suite that
 * runs hundreds. The result is what those commands report: `result` is
 * "succeeded" (a failed command throws, as before), `resourceChanges` the
 * engine's summary counts, the outputs the stack's own as the engine
 * recorded them. Where the stream cannot tell (no summary, or an output shown
 * as "[secret]"), the Automation API's own commands run as before.
 */
function summarizedFromEvents(stack: Stack): Stack {
    type Command = "up" | "refresh" | "destroy";
    const kinds: Record<Command, UpdateSummary["kind"]> = { up: "update", refresh: "refresh", destroy: "destroy" };
    const patched = stack as unknown as Record<string, unknown>;
    for (const command of ["up", "refresh", "destroy"] as Command[]) {
        const original = (stack[command] as (opts?: { onEvent?: (e: EngineEvent) => void }) => Promise<unknown>).bind(stack);
        patched[command] = async (opts: { onEvent?: (e: EngineEvent) => void } = {}) => {
            const startTime = new Date();
            let changes: UpdateSummary["resourceChanges"] | undefined;
            let outputs: OutputMap | undefined;
            const onEvent = (e: EngineEvent) => {
                if (e.summaryEvent) changes = e.summaryEvent.resourceChanges;
                const m = e.resOutputsEvent?.metadata;
                if (m?.type === "pulumi:pulumi:Stack") {
                    const values = Object.entries(m.new?.outputs ?? {});
                    outputs = values.some(([, v]) => v === "[secret]")
                        ? undefined
                        : Object.fromEntries(values.map(([k, value]) => [k, { value, secret: false }]));
                }
                opts.onEvent?.(e);
            };
            const fromCli = { outputs: stack.outputs.bind(stack), info: stack.info.bind(stack) };
            patched.outputs = async () => outputs ?? fromCli.outputs();
            patched.info = async (showSecrets?: boolean) =>
                changes === undefined
                    ? fromCli.info(showSecrets)
                    : {
                          kind: kinds[command],
                          startTime,
                          endTime: new Date(),
                          message: "",
                          environment: {},
                          config: {},
                          result: "succeeded",
                          resourceChanges: changes,
                      };
            try {
                return await original({ ...opts, onEvent });
            } finally {
                delete patched.outputs;
                delete patched.info;
            }
        };
    }
    return stack;
}

/** One resource of `pulumi stack export`. */
export interface ExportedResource {
    urn: string;
    type: string;
    id?: string;
    inputs?: Record<string, any>;
    outputs?: Record<string, any>;
    /** The program's stack where the resource was declared, as the engine stores it. */
    stackTrace?: { sourcePosition?: string }[];
}

/** The resources of the stack's state, as `pulumi stack export` prints them, and the export's size in bytes. */
export async function exportedState(stack: Stack): Promise<{ resources: ExportedResource[]; bytes: number }> {
    const deployment = await stack.exportStack();
    return { resources: deployment.deployment.resources ?? [], bytes: Buffer.byteLength(JSON.stringify(deployment)) };
}

/** Bytes of the stack's state file in the file backend (what `pulumi up` writes and reads each time). */
export function stateFileBytes(stateDir: string, stackName: string): number {
    const stacks = join(stateDir, ".pulumi", "stacks");
    for (const project of readdirSync(stacks)) {
        const file = join(stacks, project, `${stackName}.json`);
        if (existsSync(file)) return statSync(file).size;
    }
    throw new Error(`no state file of stack ${stackName} under ${stacks}`);
}

/** The resources of the stack's state file in the file backend, as stored. */
export function stateFileResources(stateDir: string, stackName: string): ExportedResource[] {
    const stacks = join(stateDir, ".pulumi", "stacks");
    for (const project of readdirSync(stacks)) {
        const file = join(stacks, project, `${stackName}.json`);
        if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")).checkpoint.latest.resources ?? [];
    }
    throw new Error(`no state file of stack ${stackName} under ${stacks}`);
}

/** Bytes the engine's `stackTrace` fields take in compact JSON (the export, the file backend's state file). */
export function stackTraceBytes(resources: ExportedResource[]): number {
    return resources.reduce(
        (sum, r) => sum + (r.stackTrace === undefined ? 0 : Buffer.byteLength(`,"stackTrace":${JSON.stringify(r.stackTrace)}`)),
        0,
    );
}

/** The dynamic resources of an export: those that store provider code under `__provider`. */
export function dynamicResources(resources: ExportedResource[]): ExportedResource[] {
    return resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"));
}
