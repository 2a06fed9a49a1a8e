// `hostnet watch` end to end: the example stack is deployed, the watch runs as
// a user runs it (its own process, the package's built CLI, the project's
// Pulumi CLI), and a container restarted with `docker restart` gets its veth
// attachment and link back with no command typed: measured from the restart to
// the first ping answered. Also: a `container:` sidecar whose target restarted
// is reported, and the watch stops cleanly on SIGTERM, leaving no lock.

import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import type { LocalWorkspace } from "@pulumi/pulumi/automation";
import { containerPid, dockerInspect, freePort, ipLink, ipv4Of, RUN, runByte, sh } from "../helpers/host";
import { exampleStack, tearDown, projectRoot, TestStack, toolchainRoot } from "../helpers/pulumi";

const CLI = join(projectRoot, "components", "dist", "cli", "index.js");

/** The watch as a child process, its log lines collected as they come. */
class Watch {
    readonly lines: string[] = [];
    private waiters: { pattern: RegExp; from: number; resolve: (line: string) => void }[] = [];
    readonly exited: Promise<number | null>;

    constructor(readonly child: ChildProcess) {
        let buffered = "";
        const take = (chunk: Buffer) => {
            buffered += chunk.toString("utf8");
            let i: number;
            while ((i = buffered.indexOf("\n")) >= 0) {
                const line = buffered.slice(0, i);
                buffered = buffered.slice(i + 1);
                this.lines.push(line);
                if (process.env.HOSTNET_TEST_VERBOSE) console.log(`      watch| ${line}`);
                this.waiters = this.waiters.filter((w) => {
                    if (this.lines.length - 1 >= w.from && w.pattern.test(line)) {
                        w.resolve(line);
                        return false;
                    }
                    return true;
                });
            }
        };
        child.stdout!.on("data", take);
        child.stderr!.on("data", take);
        this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    }

    /** The first line matching `pattern` logged at or after line index `from`. */
    async waitFor(pattern: RegExp, ms: number, from = 0): Promise<string> {
        const seen = this.lines.slice(from).find((l) => pattern.test(l));
        if (seen) return seen;
        return new Promise((resolve, reject) => {
            const timer = setTimeout(
                () => reject(new Error(`no log line matching ${pattern} within ${ms} ms; the watch logged:\n${this.lines.join("\n")}`)),
                ms,
            );
            this.waiters.push({
                pattern,
                from,
                resolve: (line) => {
                    clearTimeout(timer);
                    resolve(line);
                },
            });
        });
    }
}

/** One echo answered by `address` within 1 s. */
async function answers(address: string): Promise<boolean> {
    return (await sh(["ping", "-c", "1", "-W", "1", address], { reject: false })).exitCode === 0;
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

describe("hostnet watch: a restarted container gets its network back by itself", function () {
    const n = runByte(17);
    const stackName = `e2e-${RUN}-watch`;
    const ownerPrefix = `hostnet/hostnet/${stackName}/`;
    const cname = (name: string) => `hn-${stackName}-${name}`;
    // Per-run addresses, apart from the other e2e suites' (exampleStack 172.17.200-249, drift 172.17.150-199).
    const seedAddress = `172.17.${100 + (n % 50)}.${n}`;
    let t: TestStack;
    let watch: Watch | undefined;

    before(async () => {
        t = await exampleStack(
            stackName,
            {
                "hostnet:address": `${seedAddress}/16`,
                "hostnet:labSubnet": `10.213.${n}.0/24`,
                "hostnet:lanAddress": `10.223.${n}.1/24`,
                "hostnet:webPort": String(await freePort()),
            },
            { transpileOnly: true },
        );
        assert.equal((await t.stack.up()).summary.result, "succeeded");
    });

    after(async () => {
        try {
            if (watch && watch.child.exitCode === null) {
                watch.child.kill("SIGTERM");
                await Promise.race([watch.exited, new Promise((r) => setTimeout(r, 60000))]);
                if (watch.child.exitCode === null) watch.child.kill("SIGKILL");
            }
        } finally {
            await tearDown(t, ownerPrefix);
        }
    });

    it("starts: one full up --refresh finds nothing to repair, then it follows Docker events", async () => {
        const ws = t.stack.workspace as LocalWorkspace;
        const child = spawn(
            process.execPath,
            [CLI, "watch", "--stack", stackName, "--cwd", ws.workDir, "--pulumi", join(toolchainRoot(), "bin", "pulumi")],
            {
                env: {
                    ...process.env,
                    PULUMI_HOME: ws.pulumiHome!,
                    PULUMI_BACKEND_URL: `file://${t.stateDir}`,
                    PULUMI_CONFIG_PASSPHRASE: "",
                    PULUMI_SKIP_UPDATE_CHECK: "true",
                    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
                },
                stdio: ["ignore", "pipe", "pipe"],
            },
        );
        watch = new Watch(child);
        await watch.waitFor(/initial up done in .*: nothing needed repair/, 120000);
        await watch.waitFor(/following Docker events/, 10000);
    });

    it("docker restart of the seed: the watch re-attaches eth0 and re-links eth1; seconds to the first ping answered, 3 times", async () => {
        const took: number[] = [];
        for (let i = 0; i < 3; i++) {
            const from = watch!.lines.length;
            const started = Date.now();
            await sh(["docker", "restart", "-t", "0", cname("seed")]);
            assert.equal(await ipLink("eth0", await containerPid(cname("seed"))), undefined, "the veth went with the old namespace");
            let answered = false;
            while (!answered && Date.now() - started < 90000) answered = await answers(seedAddress);
            assert.ok(answered, `the seed answers again within 90 s; the watch logged:\n${watch!.lines.slice(from).join("\n")}`);
            took.push((Date.now() - started) / 1000);
            const healed = await watch!.waitFor(/healed .*seed/, 30000, from);
            assert.match(healed, /VethAttachment seed-eth0 create/);
            assert.match(healed, /VethLink seed-isolated create/);
            const pid = await containerPid(cname("seed"));
            assert.deepEqual(ipv4Of(await ipLink("eth1", pid)), ["10.30.0.1/30"], "the link to isolated is back");
            assert.equal(
                (await sh(["docker", "exec", cname("seed"), "ping", "-c", "1", "-W", "2", "10.30.0.2"], { reject: false })).exitCode,
                0,
            );
        }
        console.log(
            `      seconds from \`docker restart\` to a ping answered: ${took.map((s) => s.toFixed(1)).join(", ")} (median ${median(took).toFixed(1)})`,
        );
    });

    it("a restarted target's container: sidecar, left in the old namespace, is restarted into the new one by the heal", async () => {
        const from = watch!.lines.length;
        const sidecarId = (await dockerInspect(cname("sidecar"))).Id;
        await sh(["docker", "restart", "-t", "0", cname("web")]);
        // The heal of web refreshes its dependents: the sidecar is found outside web's namespace and restarted.
        const line = await watch!.waitFor(new RegExp(`healed ${cname("web")} in .*DockerContainer sidecar update`), 60000, from);
        assert.ok(line);
        const netns = async (c: string) => readlinkSync(`/proc/${await containerPid(c)}/ns/net`);
        assert.equal(await netns(cname("sidecar")), await netns(cname("web")), "the sidecar shares web's new namespace");
        assert.equal((await dockerInspect(cname("sidecar"))).Id, sidecarId, "restarted, not recreated");
    });

    it("SIGTERM stops it cleanly: exit code 0, no stack lock left", async () => {
        watch!.child.kill("SIGTERM");
        assert.equal(await watch!.exited, 0);
        await watch!.waitFor(/stopped/, 1000);
        assert.deepEqual(
            readdirSync(join(t.stateDir, ".pulumi", "locks"), { recursive: true }).filter((f) => String(f).endsWith(".json")),
            [],
        );
    });
});
