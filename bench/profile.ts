// Where the seconds of a hostnet command go: runs the bench stack's commands
// (up, no-op preview, refresh, destroy) for N attachments of pre-made
// containers, the chosen ones under instruments, and prints a breakdown.
//
//   node -r ts-node/register/transpile-only bench/profile.ts --n 100 --profile up,preview --with cpu,strace,engine,otel [--bridge own]
//
// Instruments (--with):
//   cpu     a CPU profile of every Node.js process (program, dynamic provider, the
//           provider script's `node -e`), through a preloaded hook (lib/cpuprof-hook.js)
//   strace  `strace -f` of the whole command: every execve (host processes spawned)
//           and every rename (checkpoint writes: the file backend writes a temp file
//           and renames it over the stack's checkpoint)
//   engine  the engine's own Go CPU profile (`pulumi --profiling`), read with `go tool pprof`
//   otel    the engine's OpenTelemetry spans (`pulumi --otel-traces file://...`)
//   log     `pulumi -v=9 --logflow --logtostderr`: the engine's timestamped log
// Everything lands in bench/results/profile-<stamp>/<command>/; the breakdown is
// printed and kept there as summary.md. --hold sets everything up, prints how to
// run pulumi by hand against the stack, and waits for Ctrl-C (which cleans up).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { analyze, stateComposition } from "./lib/analyze";
import { cleanup, cleanupOnExit, onCleanup } from "./lib/cleanup";
import { addressPlan, checkAttached, checkDetached, registerRun, RUN, startContainers, sweep, sweepStale } from "./lib/host";
import { initStack, makeProject, pulumi, pulumiEnv, repoRoot, stateBytes, toolchainBin, Workspace } from "./lib/pulumi";

const COMMANDS = {
    up: ["up", "--yes", "--non-interactive"],
    preview: ["preview", "--non-interactive", "--expect-no-changes"],
    refresh: ["refresh", "--yes", "--non-interactive", "--expect-no-changes"],
    destroy: ["destroy", "--yes", "--non-interactive"],
} as const;
type Command = keyof typeof COMMANDS;
const INSTRUMENTS = ["cpu", "strace", "engine", "otel", "log"] as const;
type Instrument = (typeof INSTRUMENTS)[number];

function fail(message: string): never {
    console.error(`profile: ${message}`);
    process.exit(2);
}

function parseArgs(argv: string[]) {
    const o = {
        n: 100,
        profile: ["up"] as Command[],
        with: ["cpu"] as Instrument[],
        library: undefined as string | undefined,
        env: {} as Record<string, string>,
        args: [] as string[],
        hold: false,
        bridge: "docker0" as "docker0" | "own",
        out: join(repoRoot, "bench", "results", `profile-${new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19)}`),
    };
    for (let i = 0; i < argv.length; i++) {
        const value = () => argv[++i] ?? fail(`${argv[i - 1]} needs a value`);
        switch (argv[i]) {
            case "--n":
                o.n = Number(value());
                break;
            case "--profile":
                o.profile = value().split(",") as Command[];
                for (const c of o.profile) if (!(c in COMMANDS)) fail(`--profile takes ${Object.keys(COMMANDS).join(",")}`);
                break;
            case "--with":
                o.with = value().split(",") as Instrument[];
                for (const w of o.with) if (!INSTRUMENTS.includes(w)) fail(`--with takes ${INSTRUMENTS.join(",")}`);
                break;
            case "--library":
                o.library = value();
                break;
            case "--env": {
                const kv = value();
                o.env[kv.slice(0, kv.indexOf("="))] = kv.slice(kv.indexOf("=") + 1);
                break;
            }
            case "--arg":
                o.args.push(value());
                break;
            case "--bridge":
                o.bridge = value() === "own" ? "own" : "docker0";
                break;
            case "--hold":
                o.hold = true;
                break;
            case "--out":
                o.out = resolve(value());
                break;
            default:
                fail(`unknown option "${argv[i]}"`);
        }
    }
    return o;
}

const t0 = Date.now();
const log = (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${line}`);

async function main(): Promise<void> {
    const o = parseArgs(process.argv.slice(2));
    cleanupOnExit(log);
    registerRun();
    await sweepStale(log);
    const scratch = mkdtempSync(join(tmpdir(), `hostnet-profile-${RUN}-`));
    onCleanup("remove the scratch folder", () => rmSync(scratch, { recursive: true, force: true }));
    onCleanup("remove the containers and interfaces of this run", () => sweep(RUN));
    const plan = await addressPlan(o.bridge);
    const containers = await startContainers(`hnb-${RUN}-c`, o.n, (d) => d % 25 === 0 && log(`started ${d}/${o.n} containers`));
    const ws: Workspace = { stateDir: join(scratch, "state"), homeDir: join(scratch, "home"), extraEnv: o.env };
    mkdirSync(ws.stateDir);
    const project = makeProject(ws, join(scratch, "attach"), "hostnet-bench", "index.ts", o.library);
    const stack = `b${RUN}-n${o.n}-p`;
    await initStack(project, stack, {
        containers: containers.map((c) => c.name),
        firstAddress: plan.first,
        prefixLength: String(plan.prefixLength),
        bridge: plan.bridge,
    });
    // One untimed run of the empty program's kind first: the file cache is warm for what is measured.
    await pulumi(project, ["preview", "--non-interactive", "--stack", stack]);

    if (o.hold) {
        const env = pulumiEnv(ws);
        const keys = ["PATH", "PULUMI_HOME", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_SKIP_UPDATE_CHECK"];
        log(
            `holding; in another shell:\n  cd ${project.dir}\n${keys.map((k) => `  export ${k}='${env[k]}'`).join("\n")}\n  pulumi up --yes --stack ${stack}\nCtrl-C here cleans up.`,
        );
        // A pending promise alone does not keep Node running: the interval does, until a signal's cleanup exits.
        setInterval(() => undefined, 1 << 30);
        await new Promise(() => undefined);
    }

    mkdirSync(o.out, { recursive: true });
    const report: string[] = [
        `# profile: N=${o.n}, ${o.profile.join(",")} with ${o.with.join(",")}${o.library ? `, library ${o.library}` : ""}`,
        "",
    ];
    for (const command of Object.keys(COMMANDS) as Command[]) {
        const profiled = o.profile.includes(command);
        const dir = join(o.out, command);
        const env: NodeJS.ProcessEnv = {};
        const pre: string[] = [];
        const extra: string[] = [...(profiled ? o.args : [])];
        if (profiled) {
            mkdirSync(dir, { recursive: true });
            if (o.with.includes("cpu")) {
                mkdirSync(join(dir, "node"));
                env.NODE_OPTIONS = `--require ${join(__dirname, "lib", "cpuprof-hook.js")}`;
                env.HOSTNET_BENCH_PROFILE_DIR = join(dir, "node");
            }
            if (o.with.includes("strace"))
                pre.push(
                    "strace",
                    "-f",
                    "-qq",
                    "-e",
                    "trace=execve,rename,renameat,renameat2",
                    "-e",
                    "signal=none",
                    "-o",
                    join(dir, "strace.txt"),
                    "--",
                );
            if (o.with.includes("engine")) extra.push("--profiling", join(dir, "engine"));
            if (o.with.includes("otel")) extra.push("--otel-traces", `file://${join(dir, "otel.json")}`);
            if (o.with.includes("log")) extra.push("-v=9", "--logflow", "--logtostderr");
        }
        log(`${profiled ? "profiling" : "running"} pulumi ${command} (N=${o.n}) ...`);
        const r = await pulumi(project, [...COMMANDS[command], ...extra, "--stack", stack], { env, wrap: pre });
        if (r.exitCode !== 0) throw new Error(`pulumi ${command} failed:\n${(r.stdout + r.stderr).split("\n").slice(-30).join("\n")}`);
        if (command === "up") {
            await checkAttached("pulumi up", containers, plan.cidr, plan.gateway);
            const exported = await pulumi(project, ["stack", "export", "--stack", stack]);
            writeFileSync(join(o.out, "state-after-up.json"), exported.stdout);
            const text = stateComposition(exported.stdout);
            report.push("## state after up", "", text, "");
            console.log(`\n${text}\n`);
        }
        if (command === "destroy") await checkDetached("pulumi destroy", containers);
        log(`pulumi ${command}: ${(r.ms / 1000).toFixed(2)} s wall, ${(r.cpuMs / 1000).toFixed(2)} s CPU`);
        if (!profiled) continue;
        writeFileSync(join(dir, "stdout.txt"), r.stdout);
        writeFileSync(join(dir, "stderr.txt"), r.stderr);
        const text = await analyze({
            dir,
            command,
            n: o.n,
            wallMs: r.ms,
            cpuMs: r.cpuMs,
            stateBytes: stateBytes(project, stack),
            pulumiBin: join(toolchainBin(), "pulumi"),
            stateDir: ws.stateDir,
        });
        report.push(`## pulumi ${command}`, "", text, "");
        console.log(`\n${text}\n`);
    }
    writeFileSync(join(o.out, "summary.md"), report.join("\n"));
    log(`profiles and summary: ${o.out}`);
}

main()
    .catch((err: Error) => {
        log(`FAILED: ${err.message}`);
        process.exitCode = 1;
    })
    .finally(() => cleanup(log).then(() => log("cleaned up")));
