// Runs the example stack through the real engine: the project's own Pulumi CLI
// and language host (built by scripts/setup.sh), the Automation API, a
// throw-away file backend and PULUMI_HOME per run.

import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
     * Run the program without TypeScript's type-check (PULUMI_NODEJS_TRANSPILE_ONLY), as `hostnet
     * watch` does: seconds of CPU saved per engine run, for suites that run the engine dozens of
     * times. `npm test` type-checks every program once with `tsc -p .`.
     */
    transpileOnly?: boolean;
}

/**
 * A stack of the example project in a scratch folder that links to the
 * project's program and node_modules, so that stack files land there and not
 * in the repository.
 */
export async function exampleStack(stackName: string, config: Record<string, string>, opts: ExampleStackOptions = {}): Promise<TestStack> {
    const scratch = mkdtempSync(join(tmpdir(), "hostnet-e2e-"));
    const workDir = join(scratch, "project");
    const stateDir = join(scratch, "state");
    const home = join(scratch, "home");
    mkdirSync(workDir);
    mkdirSync(stateDir);
    copyFileSync(join(projectRoot, "Pulumi.yaml"), join(workDir, "Pulumi.yaml"));
    symlinkSync(opts.program ?? join(projectRoot, "index.ts"), join(workDir, "index.ts"));
    for (const entry of ["tsconfig.json", "package.json", "node_modules"]) {
        symlinkSync(join(projectRoot, entry), join(workDir, entry));
    }
    const dispose = () => rmSync(scratch, { recursive: true, force: true });
    try {
        const stack = await createStack(stackName, workDir, stateDir, home, opts.transpileOnly ?? false);
        for (const [key, value] of Object.entries(config)) {
            await stack.setConfig(key, { value });
        }
        return { stack, stateDir, dispose };
    } catch (err) {
        dispose();
        throw err;
    }
}

async function createStack(stackName: string, workDir: string, stateDir: string, home: string, transpileOnly: boolean): Promise<Stack> {
    const pulumiCommand = await PulumiCommand.get({ root: toolchainRoot(), skipVersionCheck: true });
    return LocalWorkspace.createOrSelectStack(
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
                ...(transpileOnly ? { PULUMI_NODEJS_TRANSPILE_ONLY: "true" } : {}),
            },
        },
    );
}
