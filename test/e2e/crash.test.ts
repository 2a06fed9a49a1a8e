// @serial: it kills an `up` mid-way and reads the checkpoint it left; with other files loading the machine the checkpoint lags the host and the kill can land before any create is recorded
// Recovery needs no hands, through the real engine on the real host: the
// project's Pulumi CLI (as bin/pulumi runs it: file backend, offline
// settings), the program test/e2e/programs/attachments.ts, real containers,
// bridges and veths, read back with `ip -j`, `docker inspect` and ping.
//
//   (a) `pulumi up` of 20 VethAttachments is killed with SIGKILL (the whole
//       process tree: CLI, language host, program, dynamic provider, its
//       `ip` children) while some attachments exist on the host; then what
//       Pulumi asks for: `pulumi cancel` (the killed run's lock), `pulumi
//       refresh --clear-pending-creates` (the interrupted creates), `pulumi
//       up`: every attachment exists once, all reachable, nothing leaked;
//   (b) the same with the Docker daemon restarted after the kill (a dockerd
//       of this test's own, so that other tests' containers are untouched);
//   (c) destroy when the objects are already gone (removed by hand), and
//       destroy twice;
//   (d) 40 attachments in one `up` at the engine's default parallelism;
//   (e) two stacks deploying onto the same bridge at the same time (one
//       created it, the other adopts it), then destroying the creator while
//       the other's ports are on it is refused, naming them;
//   (f) after each stack's destroy (the suite's own cleanup), `hostnet gc`
//       finds nothing of it.

import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { CliStack as TestStack, killTree, Result } from "../helpers/cliStack";
import { ipLinks, IpLink, ipv4Of, makeTestBridge, ping, RUN, runByte, sh, sweepRun, TEST_LABEL, uniqueSuffix } from "../helpers/host";

const IMAGE = "hostnet/busybox:1";

/**
 * A Docker daemon of this test's own (and its containerd), so that restarting
 * it touches no other test's containers. dockerd runs in a network namespace
 * of its own (`unshare --net`): started with --bridge=none in the host's, it
 * would delete the host's docker0 (moby's removeDefaultBridgeInterface). Its
 * --net=none containers get namespaces of their own either way.
 */
class PrivateDockerd {
    readonly dir: string;
    readonly sock: string;
    readonly host: string;
    private dockerdArgs: string[] = [];

    constructor(readonly run = RUN) {
        this.dir = `${PRIVATE_DOCKERD_ROOT}${run}`;
        this.sock = `${this.dir}/docker.sock`;
        this.host = `unix://${this.sock}`;
    }

    async start(): Promise<void> {
        mkdirSync(this.dir, { recursive: true });
        writeFileSync(
            join(this.dir, "containerd.toml"),
            [
                "version = 2",
                `root = "${this.dir}/containerd/root"`,
                `state = "${this.dir}/containerd/state"`,
                'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
                "[grpc]",
                `  address = "${this.dir}/containerd/containerd.sock"`,
                "[debug]",
                '  address = ""',
                "",
            ].join("\n"),
        );
        writeFileSync(join(this.dir, "daemon.json"), "{}\n");
        const containerd = this.detached(["containerd", "--config", join(this.dir, "containerd.toml")]);
        writeFileSync(join(this.dir, "containerd.pid"), String(containerd));
        await this.until(() => existsSync(`${this.dir}/containerd/containerd.sock`), "containerd");
        this.dockerdArgs = [
            "unshare",
            "--net",
            "--",
            "dockerd",
            "--config-file",
            join(this.dir, "daemon.json"),
            "--containerd",
            `${this.dir}/containerd/containerd.sock`,
            "--data-root",
            join(this.dir, "docker"),
            "--exec-root",
            join(this.dir, "exec"),
            "--pidfile",
            join(this.dir, "dockerd.pid"),
            "-H",
            this.host,
            "--bridge=none",
            "--iptables=false",
            "--ip-masq=false",
            "--userland-proxy=false",
            "--shutdown-timeout",
            "1",
        ];
        await this.startDockerd();
        await execa("docker", ["save", IMAGE]).pipe("docker", ["-H", this.host, "load"]);
    }

    docker(args: string[], reject = true): Promise<Result> {
        return sh(["docker", "-H", this.host, ...args], { reject });
    }

    /** Stops dockerd (its containers stop, their namespaces and veths go) and starts it again; returns how long it was down, in ms. */
    async restart(): Promise<number> {
        const t0 = Date.now();
        const pid = Number(readFileSync(join(this.dir, "dockerd.pid"), "utf8"));
        process.kill(pid, "SIGTERM");
        await this.until(() => !existsSync(`/proc/${pid}`), "dockerd to stop");
        await this.startDockerd();
        return Date.now() - t0;
    }

    async stop(): Promise<void> {
        if (!existsSync(this.dir)) return;
        if (existsSync(this.sock)) {
            const ids = (await this.docker(["ps", "-aq"], false)).stdout.split("\n").filter(Boolean);
            if (ids.length > 0) await this.docker(["rm", "-f", ...ids], false);
        }
        for (const name of ["dockerd", "containerd"]) {
            const file = join(this.dir, `${name}.pid`);
            const pid = existsSync(file) ? Number(readFileSync(file, "utf8")) : 0;
            // Only our own daemon: its command line names this folder.
            if (!pid || !existsSync(`/proc/${pid}`) || !readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(this.dir)) continue;
            process.kill(pid, "SIGTERM");
            await this.until(() => !existsSync(`/proc/${pid}`), `${name} to stop`);
        }
        // dockerd leaves mounts under its roots (netns, overlay); lazily unmounted, deepest first.
        const mounts = readFileSync("/proc/mounts", "utf8")
            .split("\n")
            .map((l) => l.split(" ")[1])
            .filter((m) => m?.startsWith(this.dir))
            .sort((a, b) => b.length - a.length);
        for (const m of mounts) await sh(["umount", "-l", m], { reject: false });
        rmSync(this.dir, { recursive: true, force: true });
    }

    private async startDockerd(): Promise<void> {
        this.detached(this.dockerdArgs);
        await this.until(async () => (await this.docker(["version", "--format", "{{.Server.Version}}"], false)).exitCode === 0, "dockerd");
    }

    /** Starts argv in a session of its own (it outlives nothing of ours: stop() ends it); returns its pid. */
    private detached(argv: string[]): number {
        const child = spawn(argv[0], argv.slice(1), { stdio: "ignore", detached: true });
        child.unref();
        return child.pid!;
    }

    private async until(probe: () => boolean | Promise<boolean>, what: string, ms = 60000): Promise<void> {
        const end = Date.now() + ms;
        while (!(await probe())) {
            if (Date.now() > end) throw new Error(`waited ${ms / 1000}s for ${what} in ${this.dir}`);
            await new Promise((r) => setTimeout(r, 100));
        }
    }
}

const PRIVATE_DOCKERD_ROOT = "/run/hne2e-";

/** Private daemons of test runs that were killed before their cleanup (their run is no longer registered as alive). */
async function stopStalePrivateDaemons(): Promise<void> {
    for (const entry of readdirSync("/run")) {
        const run = /^hne2e-([0-9a-f]{6})$/.exec(entry)?.[1];
        if (!run || run === RUN) continue;
        const file = `/run/hostnet-test-runs/${run}`;
        const alive = existsSync(file) && existsSync(`/proc/${readFileSync(file, "utf8").trim()}`);
        if (!alive) await new PrivateDockerd(run).stop();
    }
}

/** `--net=none` busybox containers marked as this run's fixtures, made 8 at a time. */
async function startContainers(names: string[], docker: (args: string[]) => Promise<Result>, restart = "no"): Promise<void> {
    for (let i = 0; i < names.length; i += 8) {
        await Promise.all(
            names
                .slice(i, i + 8)
                .map((n) =>
                    docker([
                        "run",
                        "-d",
                        "--name",
                        n,
                        "--net",
                        "none",
                        "--restart",
                        restart,
                        "--label",
                        `${TEST_LABEL}=${RUN}`,
                        IMAGE,
                        "sleep",
                        "2147483647",
                    ]),
                ),
        );
    }
}

async function pidOf(name: string, docker: (args: string[]) => Promise<Result>): Promise<number> {
    return Number((await docker(["inspect", "-f", "{{.State.Pid}}", name])).stdout.trim());
}

/** The host ends of the stack's attachments, by the owner mark on them. */
async function markedHostEnds(ownerPrefix: string): Promise<IpLink[]> {
    return (await ipLinks()).filter((l) => l.ifalias?.startsWith(`${ownerPrefix}VethAttachment/`));
}

/**
 * What a person checks after the recovery: each container has exactly one
 * interface besides lo, eth0, with its address, the peer of exactly one
 * host end marked as its attachment's, on the bridge; the host has no other
 * end of the stack's; every address answers ping from the host.
 */
async function assertAttachments(
    stack: TestStack,
    containers: string[],
    addressOf: (i: number) => string,
    bridge: string,
    docker: (args: string[]) => Promise<Result>,
    nameOf: (i: number) => string = (i) => `a${i}`,
): Promise<void> {
    const ends = await markedHostEnds(stack.ownerPrefix);
    assert.equal(
        ends.length,
        containers.length,
        `host ends marked by ${stack.name}: ${ends.map((l) => `${l.ifname}=${l.ifalias}`).join(", ")}`,
    );
    const problems: string[] = [];
    await Promise.all(
        containers.map(async (c, i) => {
            const mine = ends.filter((l) => l.ifalias === `${stack.ownerPrefix}VethAttachment/${nameOf(i)}`);
            if (mine.length !== 1) return problems.push(`${c}: ${mine.length} host ends marked as its attachment's`);
            const host = mine[0];
            if (host.master !== bridge) problems.push(`${c}: host end ${host.ifname} is on ${host.master}, not ${bridge}`);
            const links = (await ipLinks(await pidOf(c, docker))).filter((l) => l.ifname !== "lo");
            if (links.length !== 1 || links[0].ifname !== "eth0")
                return problems.push(`${c}: interfaces ${links.map((l) => l.ifname).join(", ")}`);
            if (links[0].ifindex !== host.link_index) problems.push(`${c}: eth0 is not the peer of ${host.ifname}`);
            if (ipv4Of(links[0]).join() !== addressOf(i)) problems.push(`${c}: eth0 has ${ipv4Of(links[0]).join()}, not ${addressOf(i)}`);
            if (!(await ping(addressOf(i).split("/")[0]))) problems.push(`${c}: ${addressOf(i)} does not answer ping from the host`);
        }),
    );
    assert.deepEqual(problems, []);
}

/** Kills `pulumi up` once some, not all, of the stack's attachments exist on the host; returns how many did. */
async function killMidway(stack: TestStack, total: number): Promise<{ atKill: number; killed: number }> {
    const cli = stack.startUp();
    let output = "";
    cli.stdout!.on("data", (c: Buffer) => (output += c.toString()));
    cli.stderr!.on("data", (c: Buffer) => (output += c.toString()));
    let exited = false;
    cli.once("exit", () => (exited = true));
    const end = Date.now() + 300000;
    for (;;) {
        const n = (await markedHostEnds(stack.ownerPrefix)).length;
        if (n >= Math.max(2, total / 5) && n < total) {
            const killed = killTree(cli.pid!);
            await new Promise((r) => (exited ? r(undefined) : cli.once("exit", r)));
            return { atKill: n, killed: killed.length };
        }
        if (exited || n >= total || Date.now() > end) {
            killTree(cli.pid!);
            throw new Error(`pulumi up was not caught midway (${n} of ${total} attachments; exited: ${exited}):\n${output}`);
        }
        await new Promise((r) => setTimeout(r, 50));
    }
}

function pendingCreates(stack: TestStack): string[] {
    const ops: any[] = stack.checkpoint().checkpoint?.latest?.pending_operations ?? [];
    return ops.filter((o) => o.type === "creating").map((o) => o.resource.urn.split("::").pop());
}

/** What a user does after a killed `pulumi up` (the README's recipe); returns the final up's output. */
async function recover(stack: TestStack): Promise<Result> {
    const locked = await stack.run(["up", "--yes", "--skip-preview"]);
    assert.notEqual(locked.exitCode, 0, "the killed run's lock stops the next up");
    assert.match(locked.stderr + locked.stdout, /the stack is currently locked by 1 lock\(s\)[\s\S]*`pulumi cancel`/);
    await stack.ok(["cancel", "--yes"]);
    await stack.ok(["refresh", "--yes", "--skip-preview", "--clear-pending-creates"]);
    assert.deepEqual(pendingCreates(stack), [], "refresh --clear-pending-creates cleared them");
    return stack.ok(["up", "--yes", "--skip-preview"]);
}

describe("crash recovery and concurrency through the real engine", function () {
    const net = runByte(7);
    const cleanups: (() => Promise<void>)[] = [];
    const timings: string[] = [];
    const time = async <T>(what: string, body: () => Promise<T>): Promise<T> => {
        const t0 = Date.now();
        try {
            return await body();
        } finally {
            timings.push(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        }
    };

    before(async () => {
        await stopStalePrivateDaemons();
    });

    after(async () => {
        for (const c of cleanups.reverse()) await c().catch((err) => console.error(`cleanup: ${err.message}`));
        await sweepRun();
        console.log(timings.map((t) => `      ${t}`).join("\n"));
    });

    /** A stack to destroy and remove after the tests, whatever happens. */
    const stacks: TestStack[] = [];
    function stackFor(suffix: string, env: Record<string, string> = {}): TestStack {
        const s = new TestStack(`e2e-${RUN}-${suffix}`, env);
        stacks.push(s);
        cleanups.push(async () => {
            if ((await s.run(["destroy", "--yes", "--skip-preview"])).exitCode !== 0) {
                await s.run(["cancel", "--yes"]);
                await s.run(["destroy", "--yes", "--skip-preview"]);
            }
            await sweepRun(s.ownerPrefix);
            s.dispose();
        });
        return s;
    }

    /** Containers, a bridge with an address, and a stack of `n` attachments onto it: one scenario's own world. */
    async function scenario(
        what: string,
        tag: string,
        n: number,
        octet: number,
        opts: { docker?: (args: string[]) => Promise<Result>; restart?: string; env?: Record<string, string> } = {},
    ) {
        const sfx = uniqueSuffix();
        const bridge = `hn${tag}-${sfx}`;
        const prefix = `10.${octet}.${net}`;
        const containers = Array.from({ length: n }, (_, i) => `hn${tag}-${sfx}-${i}`);
        const docker = opts.docker ?? ((args: string[]) => sh(["docker", ...args]));
        await makeTestBridge(bridge, `${prefix}.1/24`);
        await startContainers(containers, docker, opts.restart);
        const stack = stackFor(what, opts.env);
        await stack.init({ containers: JSON.stringify(containers), bridge, prefix });
        const check = () => assertAttachments(stack, containers, (i) => `${prefix}.${10 + i}/24`, bridge, docker);
        return { bridge, containers, docker, stack, check };
    }

    it("(a) pulumi up killed (SIGKILL to the whole process tree) while creating 20 attachments; cancel, refresh --clear-pending-creates, up: every attachment once, all reachable, nothing leaked", async () => {
        const n = 20;
        const { stack, check } = await scenario("crash", "ka", n, 240);
        const { atKill, killed } = await time("(a) up until killed", () => killMidway(stack, n));
        const pending = pendingCreates(stack);
        timings.push(`(a) killed at ${atKill} of ${n} attachments on the host, ${killed} processes; ${pending.length} pending creates`);
        assert.ok(pending.length > 0, "the checkpoint holds interrupted creates");
        const up = await time("(a) cancel + refresh + up", () => recover(stack));
        assert.doesNotMatch(up.stderr + up.stdout, /taken|refus/i);
        await check();
        await stack.ok(["preview", "--expect-no-changes"]);
    });

    it("(b) the same, with the Docker daemon restarted after the kill (a dockerd of this test's own); and restarted again between two ups", async () => {
        const n = 20;
        const dockerd = new PrivateDockerd();
        cleanups.push(() => dockerd.stop());
        await time("(b) the test's dockerd started, image loaded", () => dockerd.start());
        const docker = (args: string[]) => dockerd.docker(args);
        const { stack, containers, check } = await scenario("restart", "kb", n, 241, {
            docker,
            restart: "always",
            env: { DOCKER_HOST: dockerd.host },
        });

        const pidsBefore = await Promise.all(containers.map((c) => pidOf(c, docker)));
        const { atKill } = await killMidway(stack, n);
        const down = await dockerd.restart();
        timings.push(
            `(b) killed at ${atKill} of ${n}; the test's dockerd was down ${(down / 1000).toFixed(1)} s (the shared one untouched)`,
        );
        const pidsAfter = await Promise.all(containers.map((c) => pidOf(c, docker)));
        assert.ok(
            pidsAfter.every((p, i) => p > 0 && p !== pidsBefore[i]),
            "every container runs again, as a new process",
        );
        assert.deepEqual(await markedHostEnds(stack.ownerPrefix), [], "the veths died with the old namespaces");
        await time("(b) cancel + refresh + up", () => recover(stack));
        await check();

        await dockerd.restart();
        await time("(b) up --refresh after another daemon restart", () => stack.ok(["up", "--yes", "--skip-preview", "--refresh"]));
        await check();
    });

    it("(c) destroy when every attachment was removed by hand first succeeds, and destroy twice succeeds", async () => {
        const { stack, bridge, check } = await scenario("gone", "kc", 4, 244);
        await stack.ok(["up", "--yes", "--skip-preview"]);
        await check();
        for (const l of await markedHostEnds(stack.ownerPrefix)) await sh(["ip", "link", "del", "dev", l.ifname]);
        await time("(c) destroy, objects gone", () => stack.ok(["destroy", "--yes", "--skip-preview"]));
        await stack.ok(["destroy", "--yes", "--skip-preview"]);
        assert.deepEqual(await markedHostEnds(stack.ownerPrefix), []);
        assert.ok(
            (await ipLinks()).some((l) => l.ifname === bridge),
            "the test's bridge stays",
        );
    });

    it("(d) 40 attachments in one up at the engine's default parallelism: no collision, all reachable; destroy leaves nothing", async () => {
        const { stack, check } = await scenario("forty", "kd", 40, 242);
        await time("(d) up of 40", () => stack.ok(["up", "--yes", "--skip-preview"]));
        await check();
        await time("(d) destroy of 40", () => stack.ok(["destroy", "--yes", "--skip-preview"]));
        assert.deepEqual(await markedHostEnds(stack.ownerPrefix), []);
    });

    it("(e) two stacks onto one bridge at the same time (one created it, the other adopts it) do not interfere: each attachment once, all reachable from the host; destroying the creator under the other's ports is refused, naming them", async () => {
        const n = 10;
        const sfx = uniqueSuffix();
        const bridge = `hnke-${sfx}`;
        const prefix = `10.243.${net}`;
        const ca = Array.from({ length: n }, (_, i) => `hnke-${sfx}-a${i}`);
        const cb = Array.from({ length: n }, (_, i) => `hnke-${sfx}-b${i}`);
        const docker = (args: string[]) => sh(["docker", ...args]);
        await startContainers([...ca, ...cb], docker);
        const creator = stackFor("creator");
        const adopter = stackFor("adopter");
        await creator.init({ containers: "[]", bridge, prefix, bridgeMode: "create" });
        await adopter.init({ containers: JSON.stringify(cb), bridge, prefix, bridgeMode: "adopt", first: "30" });
        // The bridge first: a stack cannot adopt what does not exist yet.
        await creator.ok(["up", "--yes", "--skip-preview"]);
        await creator.ok(["config", "set", "containers", JSON.stringify(ca)]);

        const [a, b] = await time("(e) two ups at once", () =>
            Promise.all([creator.run(["up", "--yes", "--skip-preview"]), adopter.run(["up", "--yes", "--skip-preview"])]),
        );
        assert.equal(a.exitCode, 0, a.stdout + a.stderr);
        assert.equal(b.exitCode, 0, b.stdout + b.stderr);
        await assertAttachments(creator, ca, (i) => `${prefix}.${10 + i}/24`, bridge, docker);
        await assertAttachments(adopter, cb, (i) => `${prefix}.${30 + i}/24`, bridge, docker);
        // Docker sets the FORWARD policy to DROP and has bridged traffic filtered by iptables; the creator's
        // Bridge accepts forwarding between its ports, so one stack's container reaches the other's.
        const pidA = Number((await docker(["inspect", "-f", "{{.State.Pid}}", ca[0]])).stdout.trim());
        assert.ok(await ping(`${prefix}.30`, pidA), "the creator's container a0 reaches the adopter's b0 across the bridge");

        const refused = await creator.run(["destroy", "--yes", "--skip-preview"]);
        assert.notEqual(refused.exitCode, 0, "destroying the creator under the adopter's ports is refused");
        const text = refused.stdout + refused.stderr;
        assert.match(text, new RegExp(`failed to delete bridge "${bridge}": ports of others are still on it: `));
        for (let i = 0; i < n; i++) assert.match(text, new RegExp(`VethAttachment "a${i}" of stack hostnet/${adopter.name}\\b`));
        assert.ok(
            (await ipLinks()).some((l) => l.ifname === bridge),
            "the bridge stays",
        );
        assert.deepEqual(await markedHostEnds(creator.ownerPrefix), [], "the creator's own attachments are gone");
        await assertAttachments(adopter, cb, (i) => `${prefix}.${30 + i}/24`, bridge, docker);

        await adopter.ok(["destroy", "--yes", "--skip-preview"]);
        assert.ok(
            (await ipLinks()).some((l) => l.ifname === bridge),
            "an adopted bridge is never deleted",
        );
        await creator.ok(["destroy", "--yes", "--skip-preview"]);
        assert.ok(!(await ipLinks()).some((l) => l.ifname === bridge), "its creator deleted it");
        await creator.ok(["destroy", "--yes", "--skip-preview"]);
    });

    it("(f) after each stack's destroy, as the suite's cleanup runs it, `hostnet gc` finds nothing of it", async () => {
        const found: string[] = [];
        for (const s of stacks) {
            if ((await s.run(["destroy", "--yes", "--skip-preview"])).exitCode !== 0) {
                await s.ok(["cancel", "--yes"]);
                await s.ok(["destroy", "--yes", "--skip-preview"]);
            }
            const gc = await s.gc();
            timings.push(`(f) hostnet gc after the destroy of ${s.name}: ${gc.report.leftovers.length} leftovers`);
            found.push(...gc.report.leftovers.map((l) => `${s.name}: ${l.text} (${l.why})`));
            assert.equal(gc.exitCode, gc.report.leftovers.length > 0 ? 2 : 0, gc.stdout + gc.stderr);
        }
        assert.deepEqual(found, []);
    });
});
