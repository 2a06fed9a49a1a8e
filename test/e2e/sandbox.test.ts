// Sandbox end to end: the namespace is held by a long-lived `--net=none`
// container carrying the veth attachment; the application joins it with
// `--net=container:`. Restarting the application keeps its network: it
// answers ping and HTTP at once, with no command in between, and a refresh
// finds nothing to repair.

import * as assert from "node:assert/strict";
import { readlinkSync } from "node:fs";
import { join } from "node:path";
import { containerPid, dockerInspect, ipLink, ipv4Of, ping, RUN, runByte, sh } from "../helpers/host";
import { refreshOps } from "../helpers/ops";
import { exampleStack, tearDown, TestStack } from "../helpers/pulumi";

describe("Sandbox: an application restart keeps its network", function () {
    const n = runByte(23);
    const stackName = `e2e-${RUN}-sandbox`;
    const ownerPrefix = `hostnet/hostnet/${stackName}/`;
    // Per-run address in docker0's range, apart from the other e2e suites' (100-249).
    const address = `172.17.${50 + (n % 50)}.${n}`;
    let t: TestStack;
    let out: Record<string, any>;

    const netnsOf = async (container: string) => readlinkSync(`/proc/${await containerPid(container)}/ns/net`);
    const httpBody = () =>
        fetch(`http://${address}:8080/`, { signal: AbortSignal.timeout(2000) })
            .then((r) => r.text())
            .catch(() => "");

    before(async () => {
        t = await exampleStack(
            stackName,
            { "hostnet:address": `${address}/16` },
            { program: join(__dirname, "programs", "sandbox.ts"), transpileOnly: true },
        );
    });

    after(() => tearDown(t, ownerPrefix));

    it("up: the holder runs --net=none with eth0 on docker0; the application shares its namespace and serves on its address", async () => {
        const up = await t.stack.up();
        assert.equal(up.summary.result, "succeeded");
        out = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value]));
        const holder = await dockerInspect(out.holder);
        assert.equal(holder.HostConfig.NetworkMode, "none");
        assert.equal(holder.HostConfig.RestartPolicy.Name, "unless-stopped");
        const app = await dockerInspect(out.application);
        assert.equal(app.HostConfig.NetworkMode, `container:${holder.Id}`);
        assert.equal(await netnsOf(out.application), await netnsOf(out.holder));
        assert.equal((await ipLink(out.hostInterface))?.master, "docker0");
        assert.deepEqual(ipv4Of(await ipLink("eth0", await containerPid(out.holder))), [`${address}/16`]);
        assert.ok(await ping(address));
        let body = "";
        for (let i = 0; i < 30 && !body; i++) body = await httpBody();
        assert.equal(body.trim(), "sandboxed");
    });

    it("docker restart of the application: ping and HTTP answer at once, no command in between; refresh finds nothing", async () => {
        for (let i = 0; i < 3; i++) {
            const startedBefore = (await dockerInspect(out.application)).State.StartedAt;
            await sh(["docker", "restart", "-t", "0", out.application]);
            // At once: the first echo request after the restart returns, both ways.
            assert.equal(
                (await sh(["ping", "-c", "1", "-W", "1", address], { reject: false })).exitCode,
                0,
                "the host reaches the address",
            );
            const fromApp = await sh(["docker", "exec", out.application, "ping", "-c", "1", "-W", "1", "172.17.0.1"], { reject: false });
            assert.equal(fromApp.exitCode, 0, "the restarted application reaches docker0's gateway");
            assert.notEqual((await dockerInspect(out.application)).State.StartedAt, startedBefore, "the application did restart");
            assert.equal(await netnsOf(out.application), await netnsOf(out.holder), "it re-joined the sandbox's namespace");
            // httpd needs a moment to listen again after its restart; the network itself was never gone.
            let body = "";
            for (let j = 0; j < 20 && !body; j++) body = await httpBody();
            assert.equal(body.trim(), "sandboxed");
        }
        const found = refreshOps();
        const refresh = await t.stack.previewRefresh({ onEvent: found.onEvent });
        assert.deepEqual(found.ops, {}, "nothing drifted");
        assert.deepEqual(refresh.changeSummary, { same: 7 });
    });

    it("a crash under the restart policy is the same: its process killed, restarted by Docker, reachable at once", async () => {
        const app = await dockerInspect(out.application);
        // A crash as Docker sees one: the process dies on its own (`docker kill` would count as a manual stop).
        await sh(["kill", "-KILL", String(app.State.Pid)]);
        let restarted = false;
        for (let i = 0; i < 50 && !restarted; i++) {
            const now = await dockerInspect(out.application);
            restarted = now.State.Running && now.State.StartedAt !== app.State.StartedAt;
            if (!restarted) await new Promise((r) => setTimeout(r, 100));
        }
        assert.ok(restarted, "Docker restarted it (unless-stopped)");
        assert.equal((await sh(["ping", "-c", "1", "-W", "1", address], { reject: false })).exitCode, 0);
        const fromApp = await sh(["docker", "exec", out.application, "ping", "-c", "1", "-W", "1", "172.17.0.1"], { reject: false });
        assert.equal(fromApp.exitCode, 0, "the restarted application reaches docker0's gateway");
        assert.equal(await netnsOf(out.application), await netnsOf(out.holder));
    });
});
