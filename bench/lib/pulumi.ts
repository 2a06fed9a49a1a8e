// The bench's Pulumi projects and commands: a project folder per run in a
// scratch directory (Pulumi.yaml, package.json, tsconfig.json, index.ts from
// bench/program/, node_modules linked to the repository's, so "pulumi-hostnet"
// resolves by name exactly as in a user's stack), and the project's own CLI
// run as a user runs it, with bin/pulumi's offline settings but a backend and
// PULUMI_HOME of the run's own.

import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as ts from "typescript";
import { run, RunResult, tail } from "./proc";
import { PeakRss, Role, RssSampler } from "./rss";

export const repoRoot = join(__dirname, "..", "..");

/** The toolchain's folder in `cache` (a variant's HOSTNET_CACHE: another build of the CLI and language host), else this run's. */
export function toolchainBin(cache = process.env.HOSTNET_CACHE): string {
    const env = readFileSync(join(repoRoot, "scripts", "toolchain.env.sh"), "utf8");
    const version = /^PULUMI_VERSION=(\S+)$/m.exec(env)![1];
    return join(cache ?? "/var/cache/hostnet", `pulumi-v${version}`, "bin");
}

export interface Workspace {
    stateDir: string;
    homeDir: string;
    /** Extra environment for every command (e.g. NODE_OPTIONS when profiling). */
    extraEnv?: NodeJS.ProcessEnv;
}

export interface Project {
    name: string;
    dir: string;
    ws: Workspace;
}

/**
 * Writes a project folder whose program is `bench/program/<program>`. Its
 * node_modules is the repository's, linked; with `library` (a folder holding a
 * built pulumi-hostnet: package.json and dist/), node_modules is a folder of
 * links to the repository's packages with that library copied in as
 * pulumi-hostnet, to measure a variant of the library against the same stack.
 */
export function makeProject(
    ws: Workspace,
    dir: string,
    name: string,
    program: "index.ts" | "empty.ts",
    library?: string,
    /** The program compiled to JavaScript beforehand, and `typescript: false`: no ts-node when it runs. */
    javascript = false,
): Project {
    mkdirSync(dir, { recursive: true });
    const main = javascript ? "index.js" : "index.ts";
    writeFileSync(
        join(dir, "Pulumi.yaml"),
        `name: ${name}\ndescription: hostnet bench stack\nruntime:\n  name: nodejs\n  options:\n    typescript: ${!javascript}\nmain: ${main}\n`,
    );
    writeFileSync(
        join(dir, "package.json"),
        JSON.stringify({ name, private: true, main, dependencies: { "@pulumi/pulumi": "*", "pulumi-hostnet": "*" } }, null, 2),
    );
    writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify(
            {
                compilerOptions: {
                    target: "ES2022",
                    module: "commonjs",
                    moduleResolution: "node10",
                    strict: true,
                    esModuleInterop: true,
                    skipLibCheck: true,
                },
                files: ["index.ts"],
            },
            null,
            2,
        ),
    );
    copyFileSync(join(__dirname, "..", "program", program), join(dir, "index.ts"));
    if (javascript) {
        // What `tsc` would emit, as a user's build step would.
        const source = readFileSync(join(dir, "index.ts"), "utf8");
        const out = ts.transpileModule(source, {
            compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true },
        });
        writeFileSync(join(dir, "index.js"), out.outputText);
    }
    if (library === undefined) {
        symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"));
    } else {
        const modules = join(dir, "node_modules");
        mkdirSync(modules);
        for (const entry of readdirSync(join(repoRoot, "node_modules"))) {
            if (entry !== "pulumi-hostnet") symlinkSync(join(repoRoot, "node_modules", entry), join(modules, entry));
        }
        // Copied, not linked: its real path must be under this node_modules for it to find @pulumi/pulumi.
        mkdirSync(join(modules, "pulumi-hostnet"));
        copyFileSync(join(library, "package.json"), join(modules, "pulumi-hostnet", "package.json"));
        cpSync(join(library, "dist"), join(modules, "pulumi-hostnet", "dist"), { recursive: true });
        // Its netlink helper, as npm installs it (without it, the library does its host work with ip processes).
        if (existsSync(join(library, "native")))
            cpSync(join(library, "native"), join(modules, "pulumi-hostnet", "native"), { recursive: true });
    }
    return { name, dir, ws };
}

export function pulumiEnv(ws: Workspace): NodeJS.ProcessEnv {
    return {
        ...process.env,
        PATH: `${toolchainBin(ws.extraEnv?.HOSTNET_CACHE)}:${process.env.PATH}`,
        PULUMI_HOME: ws.homeDir,
        PULUMI_BACKEND_URL: `file://${ws.stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: "",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        ...ws.extraEnv,
    };
}

export interface CommandResult extends RunResult {
    rss: PeakRss;
    /** CPU time by role (engine, program, provider, helper, ...), ms, as sampled: lower bounds. */
    cpuByRole: Partial<Record<Role, number>>;
}

/**
 * Runs `pulumi <args>` in the project folder, sampling its process tree's peak
 * RSS; `wrap` goes before it (e.g. strace and its options).
 */
export async function pulumi(
    project: Project,
    args: readonly string[],
    opts: { env?: NodeJS.ProcessEnv; wrap?: readonly string[] } = {},
): Promise<CommandResult> {
    let sampler: RssSampler | undefined;
    const r = await run([...(opts.wrap ?? []), join(toolchainBin(project.ws.extraEnv?.HOSTNET_CACHE), "pulumi"), ...args], {
        cwd: project.dir,
        env: { ...pulumiEnv(project.ws), ...opts.env },
        onSpawn: (pid) => (sampler = new RssSampler(pid)),
    });
    const rss = sampler?.stop() ?? {};
    return { ...r, rss, cpuByRole: sampler?.cpuByRole() ?? {} };
}

/** Like `pulumi`, but throws "failed to <what>" with the command's last output lines unless it exits 0. */
export async function pulumiOk(what: string, project: Project, args: readonly string[], opts: { env?: NodeJS.ProcessEnv } = {}) {
    const r = await pulumi(project, args, opts);
    if (r.exitCode !== 0) {
        throw new Error(
            `failed to ${what}: \`pulumi ${args.join(" ")}\` exited with ${r.exitCode ?? r.signal}:\n${tail(r.stdout + "\n" + r.stderr, 25)}`,
        );
    }
    return r;
}

/** Creates a stack and writes its configuration (plain values; JSON for lists). */
export async function initStack(project: Project, stack: string, config: Record<string, string | string[]>): Promise<void> {
    await pulumiOk(`create stack ${stack}`, project, ["stack", "init", stack, "--non-interactive"]);
    const file = join(project.dir, `Pulumi.${stack}.yaml`);
    const before = existsSync(file) ? readFileSync(file, "utf8") : "";
    const lines = Object.entries(config).map(
        ([k, v]) => `  ${project.name}:${k}: ${JSON.stringify(typeof v === "string" ? v : JSON.stringify(v))}`,
    );
    writeFileSync(file, `${before.trimEnd()}\nconfig:\n${lines.join("\n")}\n`.trimStart());
}

/** `pulumi stack export` of a stack: its bytes and how many resources it holds (the stack and providers included). */
export async function exportedState(project: Project, stack: string): Promise<{ bytes: number; resources: number }> {
    const r = await pulumiOk(`export stack ${stack}`, project, ["stack", "export", "--stack", stack]);
    return { bytes: Buffer.byteLength(r.stdout), resources: (JSON.parse(r.stdout).deployment?.resources ?? []).length };
}

/** The size in bytes of a stack's checkpoint file in the file backend. */
export function stateBytes(project: Project, stack: string): number | undefined {
    const file = join(project.ws.stateDir, ".pulumi", "stacks", project.name, `${stack}.json`);
    return existsSync(file) ? statSync(file).size : undefined;
}
