// Stacks run with the project's Pulumi CLI as a user runs it (its own
// processes, a file backend and PULUMI_HOME in a scratch folder), and the
// SIGKILL of a whole process tree: what the crash and leftovers suites
// (test/e2e/crash.test.ts, test/e2e/leftovers.test.ts) drive.

import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { projectRoot, runAsJavaScript, toolchainRoot } from "./pulumi";

export const PULUMI = join(toolchainRoot(), "bin", "pulumi");
/** The hostnet command line, as built by setup (components/dist). */
export const HOSTNET_CLI = join(projectRoot, "components", "dist", "cli", "index.js");

export interface Result {
    exitCode: number;
    stdout: string;
    stderr: string;
}

/** A stack of a test program in a scratch folder, with its own file backend and PULUMI_HOME, run with the Pulumi CLI as a user runs it. */
export class CliStack {
    readonly dir: string;
    readonly env: Record<string, string>;
    readonly ownerPrefix: string;
    private readonly scratch: string;

    /** `program`: a file of test/e2e/programs, run as the stack's index.ts. */
    constructor(
        readonly name: string,
        extraEnv: Record<string, string> = {},
        program = "attachments.ts",
    ) {
        this.scratch = mkdtempSync(join(tmpdir(), "hostnet-crash-"));
        this.dir = join(this.scratch, "project");
        mkdirSync(this.dir);
        mkdirSync(join(this.scratch, "state"));
        writeFileSync(
            join(this.dir, "Pulumi.yaml"),
            "name: hostnet\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: index.ts\n",
        );
        writeFileSync(
            join(this.dir, "tsconfig.json"),
            JSON.stringify({
                compilerOptions: {
                    strict: true,
                    target: "ES2022",
                    module: "commonjs",
                    moduleResolution: "node10",
                    esModuleInterop: true,
                    skipLibCheck: true,
                },
                files: ["index.ts"],
            }),
        );
        symlinkSync(join(projectRoot, "test", "e2e", "programs", program), join(this.dir, "index.ts"));
        for (const entry of ["package.json", "node_modules"]) symlinkSync(join(projectRoot, entry), join(this.dir, entry));
        // Many commands on a busy machine: the program runs as JavaScript (`tsc -p .` in npm test type-checks it).
        runAsJavaScript(this.dir);
        this.env = {
            PATH: `${join(toolchainRoot(), "bin")}:${process.env.PATH}`,
            PULUMI_HOME: join(this.scratch, "home"),
            PULUMI_BACKEND_URL: `file://${join(this.scratch, "state")}`,
            PULUMI_CONFIG_PASSPHRASE: "",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            // Pulumi's own opt-out of type-checking: these tests run many commands on a busy machine.
            PULUMI_NODEJS_TRANSPILE_ONLY: "true",
            ...extraEnv,
        };
        this.ownerPrefix = `hostnet/hostnet/${name}/`;
    }

    /** `pulumi <args> --stack <name>`, as a user runs it; never throws for a non-zero exit. */
    async run(args: string[]): Promise<Result> {
        const r = await execa(PULUMI, [...args, "--stack", this.name, "--non-interactive", "--color", "never"], {
            cwd: this.dir,
            env: this.env,
            reject: false,
        });
        return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
    }

    async ok(args: string[]): Promise<Result> {
        const r = await this.run(args);
        assert.equal(r.exitCode, 0, `pulumi ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
        return r;
    }

    async init(config: Record<string, string>): Promise<void> {
        const r = await execa(PULUMI, ["stack", "init", this.name, "--non-interactive"], { cwd: this.dir, env: this.env, reject: false });
        assert.equal(r.exitCode, 0, r.stderr);
        for (const [k, v] of Object.entries(config)) await this.ok(["config", "set", k, v]);
    }

    /** Starts `pulumi up` as its own process group; returns the CLI's process. */
    startUp(): ReturnType<typeof spawn> {
        return spawn(PULUMI, ["up", "--yes", "--skip-preview", "--stack", this.name, "--non-interactive", "--color", "never"], {
            cwd: this.dir,
            env: { ...process.env, ...this.env },
            stdio: ["ignore", "pipe", "pipe"],
            detached: true,
        });
    }

    /**
     * `hostnet gc --stack <name>` with `args`, as a user runs it (its own process, the project's Pulumi CLI);
     * returns its exit code, its output and its JSON report.
     */
    async gc(args: string[] = []): Promise<Result & { report: GcReport }> {
        const json = join(this.scratch, `gc-${Date.now()}.json`);
        const r = await execa(
            "node",
            [HOSTNET_CLI, "gc", "--stack", this.name, "--cwd", this.dir, "--pulumi", PULUMI, "--json", json, ...args],
            { env: { ...process.env, ...this.env }, reject: false },
        );
        let report: GcReport;
        try {
            report = JSON.parse(readFileSync(json, "utf8"));
        } catch {
            throw new Error(`hostnet gc wrote no report (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
        }
        return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr, report };
    }

    /** `hostnet preview-report --stack <name>`, as a user runs it; returns its exit code, Markdown and JSON. */
    async previewReport(): Promise<Result & { markdown: string; json: any }> {
        const md = join(this.scratch, `report-${Date.now()}.md`);
        const json = join(this.scratch, `report-${Date.now()}.json`);
        const r = await execa(
            "node",
            [HOSTNET_CLI, "preview-report", "--stack", this.name, "--cwd", this.dir, "--pulumi", PULUMI, "--md", md, "--json", json],
            { env: { ...process.env, ...this.env }, reject: false },
        );
        return {
            exitCode: r.exitCode ?? -1,
            stdout: r.stdout,
            stderr: r.stderr,
            markdown: readFileSync(md, "utf8"),
            json: JSON.parse(readFileSync(json, "utf8")),
        };
    }

    /** The stack's checkpoint, as the file backend stores it. */
    checkpoint(): any {
        const file = join(this.scratch, "state", ".pulumi", "stacks", "hostnet", `${this.name}.json`);
        return JSON.parse(readFileSync(file, "utf8"));
    }

    dispose(): void {
        rmSync(this.scratch, { recursive: true, force: true });
    }
}

/** What `hostnet gc --json` writes. */
export interface GcReport {
    project: string;
    stack: string;
    leftovers: { kind: string; text: string; mark: string; why: string; pending: boolean }[];
    removed?: GcReport["leftovers"];
    failed?: (GcReport["leftovers"][number] & { error: string })[];
    kept?: GcReport["leftovers"];
}

/** Every process below `root` (and root), from /proc. */
export function processTree(root: number): number[] {
    const parent = new Map<number, number>();
    for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
            parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
        } catch {
            // gone meanwhile
        }
    }
    const tree = [root];
    for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parent) if (ppid === tree[i] && !tree.includes(pid)) tree.push(pid);
    return tree;
}

/** SIGKILL for the whole tree at once: frozen first (SIGSTOP), so that none of it reacts or starts anything more. */
export function killTree(root: number): number[] {
    const stopped = new Set<number>();
    for (let pass = 0; pass < 3; pass++) {
        for (const pid of processTree(root)) {
            if (stopped.has(pid)) continue;
            try {
                process.kill(pid, "SIGSTOP");
                stopped.add(pid);
            } catch {
                // gone
            }
        }
    }
    for (const pid of stopped) {
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            // gone
        }
    }
    return [...stopped];
}
