// The bench's long-lived deploy process: what a service that deploys a stack
// again and again does with Pulumi's Automation API. It keeps one Node.js
// process, with @pulumi/pulumi and the program's modules loaded once, and
// runs the program inline (the project's own index.ts, required afresh for
// each operation, so its top-level code declares the resources again); each
// `up`, `preview`, `refresh` or `destroy` starts the Pulumi CLI, which calls
// back into this process for the program and starts the dynamic provider.
//
// Spoken to by bench/lib/automation.ts, one JSON request a line on standard
// input, one JSON answer a line on standard output:
//   {"id", "op": "init", "dir", "project", "stack", "config", "env", "toolchain", "home", "backend"}
//   {"id", "op": "up" | "preview" | "refresh" | "destroy", "stack", "expectNoChanges"}   -> {"id", "ms", "cpuMs"} or {"id", "error"}
// CPU time is this process's own (the inline program, the Automation API)
// plus that of every process it reaped (the CLI and what it started).

import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { childrenCpuMs } from "./proc";

interface Request {
    id: number;
    op: "init" | "up" | "preview" | "refresh" | "destroy";
    stack: string;
    dir?: string;
    project?: string;
    config?: Record<string, string>;
    env?: Record<string, string>;
    toolchain?: string;
    /** For preview and refresh: fail when the operation finds changes. */
    expectNoChanges?: boolean;
}

const stacks = new Map<string, Stack>();

async function init(r: Request): Promise<void> {
    const file = join(r.dir!, "index.ts");
    const program = async () => {
        // The program's own module again, with everything it imports already loaded.
        delete require.cache[require.resolve(file)];
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return require(file);
    };
    const pulumiCommand = await PulumiCommand.get({ root: r.toolchain!, skipVersionCheck: true });
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: r.stack, projectName: r.project!, program },
        { workDir: r.dir, pulumiCommand, envVars: { ...r.env!, PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true" } },
    );
    for (const [k, v] of Object.entries(r.config ?? {})) await stack.setConfig(k, { value: v });
    stacks.set(r.stack, stack);
}

async function operate(r: Request): Promise<void> {
    const stack = stacks.get(r.stack);
    if (!stack) throw new Error(`no stack ${r.stack} (init it first)`);
    switch (r.op) {
        case "up":
            await stack.up();
            return;
        case "preview":
            await stack.preview({ expectNoChanges: r.expectNoChanges });
            return;
        case "refresh":
            await stack.refresh({ expectNoChanges: r.expectNoChanges });
            return;
        case "destroy":
            await stack.destroy();
            return;
    }
}

async function serve(): Promise<void> {
    for await (const line of createInterface({ input: process.stdin })) {
        if (!line.trim()) continue;
        const r = JSON.parse(line) as Request;
        const started = process.hrtime.bigint();
        const own = process.cpuUsage();
        const children = childrenCpuMs();
        try {
            if (r.op === "init") await init(r);
            else await operate(r);
            const cpu = process.cpuUsage(own);
            const cpuMs = (cpu.user + cpu.system) / 1000 + childrenCpuMs() - children;
            process.stdout.write(JSON.stringify({ id: r.id, ms: Number(process.hrtime.bigint() - started) / 1e6, cpuMs }) + "\n");
        } catch (err) {
            process.stdout.write(JSON.stringify({ id: r.id, error: String((err as Error).message ?? err).slice(-4000) }) + "\n");
        }
    }
}

void serve();
