// The bench's side of its long-lived deploy process (automationDriver.ts):
// starts it once, then has it init stacks and run operations, each timed
// there (wall time, and the CPU time of the driver and of every process it
// reaped). Stopped on exit with the rest of the bench's children.

import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Timing } from "../baselines/baseline";
import { onCleanup } from "./cleanup";
import { pulumiEnv, repoRoot, toolchainBin, type Project } from "./pulumi";

type Op = "up" | "preview" | "refresh" | "destroy";

export class AutomationDriver {
    private next = 1;
    private readonly waiting = new Map<number, (answer: { ms?: number; cpuMs?: number; error?: string }) => void>();

    private constructor(private readonly child: ChildProcess) {
        createInterface({ input: child.stdout! }).on("line", (line) => {
            const answer = JSON.parse(line);
            this.waiting.get(answer.id)?.(answer);
            this.waiting.delete(answer.id);
        });
        child.on("exit", (code) => {
            for (const resolve of this.waiting.values()) resolve({ error: `the automation driver exited with ${code}` });
            this.waiting.clear();
        });
    }

    static start(): AutomationDriver {
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", join(__dirname, "automationDriver.ts")], {
            cwd: repoRoot,
            stdio: ["pipe", "pipe", "inherit"],
        });
        onCleanup("stop the automation driver", () => {
            child.kill("SIGTERM");
        });
        return new AutomationDriver(child);
    }

    private ask(request: Record<string, unknown>): Promise<{ ms?: number; cpuMs?: number; error?: string }> {
        const id = this.next++;
        return new Promise((resolve) => {
            this.waiting.set(id, resolve);
            this.child.stdin!.write(JSON.stringify({ id, ...request }) + "\n");
        });
    }

    /** Makes the driver's stack `stack` of the project, with its program inline and this configuration. */
    async init(project: Project, stack: string, config: Record<string, string>): Promise<void> {
        const env = pulumiEnv(project.ws);
        const keep = ["PATH", "PULUMI_HOME", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_SKIP_UPDATE_CHECK"];
        const answer = await this.ask({
            op: "init",
            dir: project.dir,
            project: project.name,
            stack,
            config: Object.fromEntries(Object.entries(config).map(([k, v]) => [`${project.name}:${k}`, v])),
            env: Object.fromEntries(
                [...keep, "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"].flatMap((k) => (env[k] !== undefined ? [[k, env[k]]] : [])),
            ),
            toolchain: join(toolchainBin(), ".."),
        });
        if (answer.error) throw new Error(`failed to set up automation stack ${stack}: ${answer.error}`);
    }

    /** Runs one operation on the stack, timed by the driver; `expectNoChanges` fails a preview or refresh that finds any. */
    async run(what: string, op: Op, stack: string, expectNoChanges = false): Promise<Timing> {
        const answer = await this.ask({ op, stack, expectNoChanges });
        if (answer.error) throw new Error(`failed to ${what} (Automation API ${op}): ${answer.error}`);
        return { ms: answer.ms!, cpuMs: answer.cpuMs! };
    }
}
