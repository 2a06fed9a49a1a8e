// The bench of issue 8: hostnet's VethAttachments through the real Pulumi
// engine against the seed's procedure as a script, the CNI bridge plugin and
// `docker network connect`, on the same kind of containers, in the same run.
//
//   npm run bench -- [--n 1,10,50,100] [--runs 3] [--only hostnet,seed,cni,docker] [--setup-runs 5] [--out FILE]
//
// Before any timing: running `--net=none` containers (labelled with the run),
// a Docker network, one project folder per run with its own backend and
// PULUMI_HOME, one untimed warm-up preview. Then, per run: the empty program's
// preview (also run each variant's way, when a variant changes how programs
// run), and for each N the baselines' attach/detach and hostnet's up, no-op
// preview, refresh and destroy; every result is read back from the host.
// A line per step; at the end the table (Markdown) on stdout and, in
// bench/results/, the same as JSON and Markdown. Everything made is removed on
// exit, also on Ctrl-C or failure.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { AddressPlan, Baseline, Timing } from "./baselines/baseline";
import { cniBaseline, ensureCniPlugin } from "./baselines/cni";
import { dockerConnectBaseline } from "./baselines/dockerConnect";
import { seedBaseline } from "./baselines/seed";
import { AutomationDriver } from "./lib/automation";
import { cleanup, cleanupOnExit, onCleanup } from "./lib/cleanup";
import {
    checkAttached,
    checkDetached,
    Container,
    createNetwork,
    hostLinks,
    MAX_N,
    ownerPrefix,
    registerRun,
    RUN,
    startContainers,
    sweep,
    sweepStale,
    addressPlan,
} from "./lib/host";
import { run, runOk } from "./lib/proc";
import { exportedState, initStack, makeProject, Project, pulumiOk, repoRoot, stateBytes, toolchainBin, Workspace } from "./lib/pulumi";
import { renderMarkdown, Sample, summarize } from "./lib/report";
import type { PeakRss } from "./lib/rss";

const METHODS = ["hostnet", "seed", "cni", "docker"] as const;
type Method = (typeof METHODS)[number];

interface Options {
    ns: number[];
    runs: number;
    only: Method[];
    setupRuns: number;
    out: string;
    /** hostnet as the repository has it (name ""), then the experiments' variants, run in turn in every run. */
    variants: Variant[];
    /** docker0 (as the issue measured), or a Linux bridge of the run's own. */
    bridge: "docker0" | "own";
}

/** A way to run hostnet's commands: another build of the library, extra environment, or --skip-preview. */
interface Variant {
    name: string;
    /** A built pulumi-hostnet (package.json + dist/) instead of the repository's. */
    library?: string;
    env: Record<string, string>;
    skipPreview: boolean;
    /** The program compiled to JavaScript beforehand (`typescript: false`). */
    javascript?: boolean;
    /**
     * Through the Automation API from one long-lived process (bench/lib/automationDriver.ts), the program
     * inline: what a service that deploys again and again does. Its up, refresh and destroy are one pass.
     */
    automation?: boolean;
}

function parseVariant(spec: string): Variant {
    const colon = spec.indexOf(":");
    const name = colon < 0 ? spec : spec.slice(0, colon);
    if (!/^[a-z0-9-]{1,12}$/.test(name)) fail(`--variant: the name must be 1-12 of a-z, 0-9, -; got "${name}"`);
    if (name === "main") fail(`--variant: "main" names hostnet as it is (measured anyway); call the variant something else`);
    const v: Variant = { name, env: {}, skipPreview: false };
    for (const item of colon < 0 ? [] : spec.slice(colon + 1).split(",")) {
        if (item === "skip-preview") v.skipPreview = true;
        else if (item === "js") v.javascript = true;
        else if (item === "automation") v.automation = true;
        else if (item.startsWith("library=")) {
            v.library = resolve(item.slice("library=".length));
            if (!existsSync(join(v.library, "dist", "engine", "index.js")))
                fail(`--variant ${name}: no built pulumi-hostnet in ${v.library}`);
        } else if (/^env=[A-Za-z_][A-Za-z0-9_]*=/.test(item)) {
            const kv = item.slice("env=".length);
            v.env[kv.slice(0, kv.indexOf("="))] = kv.slice(kv.indexOf("=") + 1);
        } else fail(`--variant ${name}: unknown item "${item}" (library=DIR, env=NAME=VALUE, skip-preview, js, automation)`);
    }
    if (v.automation && (v.library || v.javascript || v.skipPreview))
        fail(
            `--variant ${name}: automation runs the repository's library, the TypeScript program inline, one pass; drop library, js, skip-preview`,
        );
    return v;
}

const USAGE =
    "usage: npm run bench -- [--n 1,10,50,100] [--runs 3] [--only hostnet,seed,cni,docker] [--setup-runs 5] [--bridge docker0|own] [--out bench/results/NAME.json]\n" +
    "                        [--variant NAME:library=DIR,env=NAME=VALUE,skip-preview,js,automation]...   (beside hostnet as it is)";

function parseArgs(argv: string[]): Options {
    const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
    const o: Options = {
        ns: [1, 10, 50, 100],
        runs: 3,
        only: [...METHODS],
        setupRuns: 5,
        out: join(repoRoot, "bench", "results", `bench-${stamp}.json`),
        variants: [{ name: "", env: {}, skipPreview: false }],
        bridge: "docker0",
    };
    for (let i = 0; i < argv.length; i++) {
        const [flag, inline] = argv[i].split("=", 2);
        const value = () => inline ?? argv[++i] ?? fail(`${flag} needs a value`);
        switch (flag) {
            case "--n":
                o.ns = value()
                    .split(",")
                    .map((x) => Number(x));
                if (o.ns.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_N))
                    fail(`--n takes whole numbers from 1 to ${MAX_N}, like 1,10,50,100,500`);
                o.ns = [...new Set(o.ns)].sort((a, b) => a - b);
                break;
            case "--runs":
                o.runs = Number(value());
                if (!Number.isInteger(o.runs) || o.runs < 1) fail("--runs takes a whole number >= 1 (3 or more for medians)");
                break;
            case "--only":
                o.only = value().split(",") as Method[];
                for (const m of o.only) if (!METHODS.includes(m)) fail(`--only takes ${METHODS.join(",")}; got "${m}"`);
                break;
            case "--setup-runs":
                o.setupRuns = Number(value());
                if (!Number.isInteger(o.setupRuns) || o.setupRuns < 0) fail("--setup-runs takes a whole number >= 0");
                break;
            case "--out":
                o.out = resolve(value());
                break;
            case "--bridge": {
                const b = value();
                if (b !== "docker0" && b !== "own") fail(`--bridge takes docker0 or own; got "${b}"`);
                o.bridge = b;
                break;
            }
            case "--variant":
                o.variants.push(parseVariant(value()));
                break;
            case "--help":
            case "-h":
                console.log(USAGE);
                process.exit(0);
            // falls through
            default:
                fail(`unknown option "${argv[i]}"`);
        }
    }
    return o;
}

function fail(message: string): never {
    console.error(`bench: ${message}\n${USAGE}`);
    process.exit(2);
}

const t0 = Date.now();
function log(line: string): void {
    const s = Math.round((Date.now() - t0) / 1000);
    process.stdout.write(`[${String(Math.floor(s / 60)).padStart(2)}m${String(s % 60).padStart(2, "0")}s] ${line}\n`);
}

type Recorder = (rep: number, n: number, op: string, t: Timing, extra?: Partial<Sample>) => void;

const cpuText = (by: Sample["cpuByRole"]) =>
    by && Object.keys(by).length > 0
        ? ` [CPU s by process: ${Object.entries(by)
              .map(([role, ms]) => `${role} ${(ms! / 1000).toFixed(2)}`)
              .join(", ")}]`
        : "";

const rssText = (rss: PeakRss | undefined) =>
    rss && rss.engine !== undefined
        ? ` (peak RSS MiB: engine ${rss.engine?.toFixed(0)}, program ${rss.program?.toFixed(0) ?? "-"}, provider ${rss.provider?.toFixed(0) ?? "-"})`
        : "";

function sh(argv: string[]): string {
    try {
        return execFileSync(argv[0], argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
        return "n/a";
    }
}

function machineFacts(): Record<string, string> {
    const os = /^PRETTY_NAME="?(.*?)"?$/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "n/a";
    return {
        os,
        kernel: sh(["uname", "-r"]),
        nproc: sh(["nproc"]),
        cpu: cpus()[0]?.model ?? "n/a",
        memoryGiB: (totalmem() / 2 ** 30).toFixed(1),
        node: process.version,
        pulumi: sh([join(toolchainBin(), "pulumi"), "version"]),
        pulumiNodejsSdk: JSON.parse(readFileSync(join(repoRoot, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8")).version,
        pulumiHostnet: JSON.parse(readFileSync(join(repoRoot, "components", "package.json"), "utf8")).version,
        hostnetCommit: sh(["git", "-C", repoRoot, "rev-parse", "--short", "HEAD"]),
        docker: sh(["docker", "version", "--format", "{{.Server.Version}}"]),
        iproute2: sh(["ip", "-V"]),
        cniPlugins: sh(["dpkg-query", "-W", "-f", "${Version}", "containernetworking-plugins"]),
        loadAverageAtStart: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
        cpuCountedBy: existsSync("/sys/fs/cgroup/cpuacct/cgroup.procs")
            ? "a cpuacct cgroup per command: every process it started, also one outliving it"
            : "the children's rusage: the processes waited for",
        hostnetHelper: process.env.HOSTNET_HELPER ?? "netlink (default)",
    };
}

async function preflight(o: Options): Promise<void> {
    if (process.getuid?.() !== 0) fail("must run as root: it creates network interfaces and containers");
    if (!existsSync(join(toolchainBin(), "pulumi"))) fail("the Pulumi CLI is not built: run `npm run setup` first");
    if (!existsSync(join(repoRoot, "components", "dist", "index.js"))) fail("pulumi-hostnet is not built: run `npm run setup` first");
    const image = await run(["docker", "image", "inspect", "hostnet/busybox:1"]);
    if (image.exitCode !== 0) fail("Docker or the base image is missing: run `npm run setup` first");
    if (o.only.includes("cni")) await ensureCniPlugin(log);
}

/** True for hostnet as it is and for the variants that run programs another way (their empty program is measured too). */
function changesHowProgramsRun(v: Variant): boolean {
    return v.name === "" || Object.keys(v.env).length > 0 || !!v.javascript || !!v.automation;
}

let automationDriver: AutomationDriver | undefined;
/** The bench's one long-lived deploy process, started when a variant first needs it. */
function driver(): AutomationDriver {
    automationDriver ??= AutomationDriver.start();
    return automationDriver;
}

async function main(): Promise<void> {
    const o = parseArgs(process.argv.slice(2));
    cleanupOnExit(log);
    await preflight(o);
    registerRun();
    await sweepStale(log);
    const maxN = o.ns.at(-1)!;
    const emptyRuns = o.variants.filter(changesHowProgramsRun).length;
    const steps = o.runs * (emptyRuns + o.ns.length * o.only.reduce((k, m) => k + (m === "hostnet" ? 5 * o.variants.length : 2), 0));
    let step = 0;
    const samples: Sample[] = [];
    const facts = machineFacts();
    const writeResults = resultsWriter(o, facts, samples);
    log(
        `bench run ${RUN}: N=${o.ns.join(",")}, ${o.runs} runs, methods ${o.only.join(",")}; ${facts.nproc} CPUs, ${facts.memoryGiB} GiB, load ${facts.loadAverageAtStart}`,
    );

    if (o.setupRuns > 0) {
        for (let i = 1; i <= o.setupRuns; i++) {
            const r = await runOk("run scripts/setup.sh", ["bash", join(repoRoot, "scripts", "setup.sh")], { cwd: repoRoot });
            samples.push({ rep: i, n: 0, op: "setup.warm", ms: r.ms, cpuMs: r.cpuMs });
            log(`npm run setup (warm) ${i}/${o.setupRuns}: ${(r.ms / 1000).toFixed(2)} s`);
        }
    }

    const scratch = mkdtempSync(join(tmpdir(), `hostnet-bench-${RUN}-`));
    onCleanup("remove the scratch folder", () => rmSync(scratch, { recursive: true, force: true }));
    onCleanup("remove the containers, network and interfaces of this run", () => sweep(RUN));

    // Fixtures, outside any timing.
    const plan = await addressPlan(o.bridge);
    log(`attachments on ${plan.bridge}: ${plan.first} and up, gateway ${plan.gateway}`);
    const attachOnes = o.only.some((m) => m !== "docker");
    const containers = attachOnes
        ? await startContainers(`hnb-${RUN}-c`, maxN, (d) => d % 25 === 0 && log(`started ${d}/${maxN} --net=none containers`))
        : [];
    let dockerContainers: Container[] = [];
    let network: { name: string; subnet: string } | undefined;
    if (o.only.includes("docker")) {
        network = await createNetwork(`hnb-${RUN}-net`);
        dockerContainers = await startContainers(
            `hnb-${RUN}-d`,
            maxN,
            (d) => d % 25 === 0 && log(`started ${d}/${maxN} --net=none containers for docker network connect`),
        );
        // Docker refuses to connect a container that is on `none` to another network: leave `none` first.
        for (const c of dockerContainers)
            await runOk(`disconnect ${c.name} from none`, ["docker", "network", "disconnect", "none", c.name]);
        log(`Docker network ${network.name} (${network.subnet}); ${maxN} containers left "none"`);
    }

    const ws: Workspace = { stateDir: join(scratch, "state"), homeDir: join(scratch, "home") };
    mkdirSync(ws.stateDir);
    const projects = o.variants.map((v) => ({
        v,
        project: makeProject(
            { ...ws, extraEnv: v.env },
            join(scratch, `attach-${v.name || "main"}`),
            "hostnet-bench",
            "index.ts",
            v.library,
            v.javascript,
        ),
    }));
    // The empty program, as hostnet's main row runs it and as each variant that changes how the program runs
    // (environment, JavaScript) runs it: each fixed cost is measured against the floor of its own way.
    const empties = await Promise.all(
        o.variants.filter(changesHowProgramsRun).map(async (v) => {
            const project = makeProject(
                { ...ws, extraEnv: v.env },
                join(scratch, `empty-${v.name || "main"}`),
                "hostnet-bench-empty",
                "empty.ts",
                undefined,
                v.javascript,
            );
            const stack = `b${RUN}-empty-${v.name || "main"}`;
            if (v.automation) await driver().init(project, stack, {});
            else await initStack(project, stack, {});
            return { op: `empty.preview${v.name ? `@${v.name}` : ""}`, project, stack, v };
        }),
    );
    const previewEmpty = (e: (typeof empties)[number], what: string) =>
        e.v.automation
            ? driver().run(what, "preview", e.stack)
            : pulumiOk(what, e.project, ["preview", "--non-interactive", "--stack", e.stack]);
    for (const e of empties) {
        const warm = await previewEmpty(e, "preview the empty program (warm-up)");
        log(`warm-up: ${e.op} ${(warm.ms / 1000).toFixed(2)} s (not counted)`);
    }
    // Each variant's program previewed once, untimed: what a deploy follows (a preview the user saw), and what
    // loads a long-lived process's modules and primes the language host's memory of the type-check.
    for (const { v, project } of o.only.includes("hostnet") && containers.length > 0 ? projects : []) {
        const stack = `b${RUN}-${v.name || "main"}-warm`;
        const config = { firstAddress: plan.first, prefixLength: String(plan.prefixLength), bridge: plan.bridge };
        let warm: Timing;
        if (v.automation) {
            await driver().init(project, stack, { ...config, containers: JSON.stringify([containers[0].name]) });
            warm = await driver().run("preview (warm-up)", "preview", stack);
        } else {
            await initStack(project, stack, { ...config, containers: [containers[0].name] });
            warm = await pulumiOk("preview (warm-up)", project, ["preview", "--non-interactive", "--stack", stack]);
        }
        log(`warm-up: preview of the program${v.name ? ` [${v.name}]` : ""} ${(warm.ms / 1000).toFixed(2)} s (not counted)`);
    }

    const baselines: Partial<Record<Method, { b: Baseline; cs: Container[] }>> = {};
    if (o.only.includes("seed")) baselines.seed = { b: seedBaseline(plan), cs: containers };
    if (o.only.includes("cni")) baselines.cni = { b: cniBaseline(plan, join(scratch, "cni-ipam")), cs: containers };
    if (network) baselines.docker = { b: dockerConnectBaseline(network), cs: dockerContainers };

    const record: Recorder = (rep, n, op, t, extra = {}) => {
        const reaped = (t as Partial<{ cpuReapedMs: number }>).cpuReapedMs;
        samples.push({ rep, n, op, ms: t.ms, cpuMs: t.cpuMs, ...(reaped === undefined ? {} : { cpuReapedMs: reaped }), ...extra });
        step++;
        log(
            `[${String(step).padStart(3)}/${steps}] run ${rep}/${o.runs} N=${String(n || "-").padEnd(3)} ${op.padEnd(18)} ` +
                `${(t.ms / 1000).toFixed(3)} s (CPU ${(t.cpuMs / 1000).toFixed(2)} s)${rssText(extra.rss)}${cpuText(extra.cpuByRole)}`,
        );
    };

    for (let rep = 1; rep <= o.runs; rep++) {
        for (const empty of empties) {
            const e = await previewEmpty(empty, "preview the empty program");
            record(rep, 0, empty.op, e, { rss: "rss" in e ? (e.rss as PeakRss) : undefined });
        }
        for (const n of o.ns) {
            for (const m of ["seed", "cni", "docker"] as const) {
                const base = baselines[m];
                if (!base) continue;
                const cs = base.cs.slice(0, n);
                record(rep, n, `${m}.${base.b.ops[0]}`, await base.b.attach(cs));
                record(rep, n, `${m}.${base.b.ops[1]}`, await base.b.detach(cs));
            }
            if (o.only.includes("hostnet")) {
                for (const { v, project } of projects) await hostnet(project, rep, n, containers.slice(0, n), plan, record, v);
            }
        }
    }

    writeResults(true);
}

/** Writes the table and the JSON of what was measured; `complete` false after a failure or an interrupt. */
function resultsWriter(o: Options, facts: Record<string, string>, samples: Sample[]): (complete: boolean) => void {
    let written = false;
    const write = (complete: boolean) => {
        if (written || samples.length === 0) return;
        written = true;
        const summary = summarize(samples, o.ns);
        const table = renderMarkdown(summary);
        const command = `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim();
        const out = complete ? o.out : o.out.replace(/(\.json)?$/, ".incomplete.json");
        mkdirSync(join(out, ".."), { recursive: true });
        writeFileSync(
            out,
            JSON.stringify(
                { run: RUN, date: new Date().toISOString(), complete, command, machine: facts, options: o, summary, samples },
                null,
                2,
            ) + "\n",
        );
        writeFileSync(out.replace(/\.json$/, "") + ".md", `${complete ? "" : "INCOMPLETE: the run stopped early.\n\n"}${table}\n`);
        if (complete) console.log(`\n${table}\n`);
        log(`results${complete ? "" : " so far"}: ${out} (and .md)`);
    };
    onCleanup("write the results measured so far", () => write(false));
    return write;
}

async function hostnet(
    project: Project,
    rep: number,
    n: number,
    cs: Container[],
    plan: AddressPlan,
    record: Recorder,
    v: Variant,
): Promise<void> {
    const stack = `b${RUN}-${v.name || "main"}-n${n}-r${rep}`;
    const skip = v.skipPreview ? ["--skip-preview"] : [];
    const op = (name: string) => `hostnet.${name}${v.name ? `@${v.name}` : ""}`;
    if (v.automation) return hostnetByAutomation(project, stack, rep, n, cs, plan, record, op);
    await initStack(project, stack, {
        containers: cs.map((c) => c.name),
        firstAddress: plan.first,
        prefixLength: String(plan.prefixLength),
        bridge: plan.bridge,
    });
    const up = await pulumiOk(`deploy ${n} attachments`, project, ["up", "--yes", ...skip, "--non-interactive", "--stack", stack]);
    await checkAttached("pulumi up", cs, plan.cidr, plan.gateway);
    const exported = await exportedState(project, stack);
    record(rep, n, op("up"), up, { rss: up.rss, cpuByRole: up.cpuByRole, stateBytes: stateBytes(project, stack), exported });
    // The same up again: nothing to change (what a deploy of an unchanged program costs, all fixed cost).
    const noop = await pulumiOk(`up ${n} unchanged attachments`, project, [
        "up",
        "--yes",
        ...skip,
        "--non-interactive",
        "--expect-no-changes",
        "--stack",
        stack,
    ]);
    record(rep, n, op("noop-up"), noop, { rss: noop.rss, cpuByRole: noop.cpuByRole });
    const preview = await pulumiOk(`preview ${n} unchanged attachments`, project, [
        "preview",
        "--non-interactive",
        "--expect-no-changes",
        "--stack",
        stack,
    ]);
    record(rep, n, op("preview"), preview, { rss: preview.rss, cpuByRole: preview.cpuByRole });
    const refresh = await pulumiOk(`refresh ${n} attachments`, project, [
        "refresh",
        "--yes",
        ...skip,
        "--non-interactive",
        "--expect-no-changes",
        "--stack",
        stack,
    ]);
    record(rep, n, op("refresh"), refresh, { rss: refresh.rss, cpuByRole: refresh.cpuByRole });
    const destroy = await pulumiOk(`destroy ${n} attachments`, project, [
        "destroy",
        "--yes",
        ...skip,
        "--non-interactive",
        "--stack",
        stack,
    ]);
    await checkDetached("pulumi destroy", cs);
    const left = (await hostLinks()).filter((l) => l.ifalias?.startsWith(ownerPrefix(RUN)));
    if (left.length > 0)
        throw new Error(`pulumi destroy left ${left.length} interfaces of the stack: ${left.map((l) => l.ifname).join(", ")}`);
    record(rep, n, op("destroy"), destroy, { rss: destroy.rss, cpuByRole: destroy.cpuByRole });
}

/** hostnet's four commands on N attachments through the long-lived deploy process (Automation API, program inline). */
async function hostnetByAutomation(
    project: Project,
    stack: string,
    rep: number,
    n: number,
    cs: Container[],
    plan: AddressPlan,
    record: Recorder,
    op: (name: string) => string,
): Promise<void> {
    const d = driver();
    await d.init(project, stack, {
        containers: JSON.stringify(cs.map((c) => c.name)),
        firstAddress: plan.first,
        prefixLength: String(plan.prefixLength),
        bridge: plan.bridge,
    });
    const up = await d.run(`deploy ${n} attachments`, "up", stack);
    await checkAttached("Automation API up", cs, plan.cidr, plan.gateway);
    record(rep, n, op("up"), up, { stateBytes: stateBytes(project, stack) });
    record(rep, n, op("preview"), await d.run(`preview ${n} unchanged attachments`, "preview", stack, true));
    record(rep, n, op("refresh"), await d.run(`refresh ${n} attachments`, "refresh", stack, true));
    const destroy = await d.run(`destroy ${n} attachments`, "destroy", stack);
    await checkDetached("Automation API destroy", cs);
    const left = (await hostLinks()).filter((l) => l.ifalias?.startsWith(ownerPrefix(RUN)));
    if (left.length > 0) throw new Error(`destroy left ${left.length} interfaces of the stack: ${left.map((l) => l.ifname).join(", ")}`);
    record(rep, n, op("destroy"), destroy);
}

main()
    .catch((err: Error) => {
        log(`FAILED: ${err.message}`);
        process.exitCode = 1;
    })
    .finally(() => cleanup(log).then(() => log("cleaned up")));
