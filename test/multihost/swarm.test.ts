// A Docker swarm over the test bed's hosts through the real engine: the
// example stack examples/swarm (a Host per machine, a Swarm of them, one
// overlay Network, a container per host on it with a static address and an
// alias) deployed from this machine (host A, which stays out of the swarm:
// its dockerd is the machine's, shared) onto hosts b, c and d of a test bed
// of this run's own, then read back on each host with the system's own tools:
// `docker node ls | inspect`, `docker info`, `docker network inspect`,
// `docker inspect`, `ip -d link` in the host's namespaces (its own and the
// one Docker keeps per overlay), and ping between the containers by name.
//
// Issue 17: every host's engine joins one swarm; a container per host pings
// every other; a worker that left is seen by refresh and joined again by up;
// a worker's dockerd restarted rejoins by itself and up starts its container;
// a host taken out of the list is drained, leaves and is removed, and joins
// again when put back; an encrypted overlay is refused at preview on a kernel
// without IPsec ESP (and deployed where the kernel has it); destroy leaves no
// swarm, network or container on any host. HOSTNET_TIMING=1 adds the time of
// an `up` of 3 hosts x 10 containers on one overlay beside the same with
// VxlanLinks (examples/multihost), in one run.

import * as assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import type { HostInfo, TestbedInfo } from "../../tools/testbed/testbed";
import { eventually, kernelHasEsp, RUN, runByte, sh } from "../helpers/host";
import { createStack, projectRoot, runAsJavaScript } from "../helpers/pulumi";

const TESTBED = join(projectRoot, "scripts", "testbed.sh");
const RUN_ROOT = "/run/hostnet-testbed";
const HOSTS = ["b", "c", "d"] as const;

interface Link {
    ifname: string;
    master?: string;
    linkinfo?: { info_kind?: string; info_data?: { id?: number; port?: number } };
}

interface NodeLs {
    ID: string;
    Hostname: string;
    Status: string;
    Availability: string;
    ManagerStatus: string;
}

/** A project in a scratch folder: an example's program, named `test` (test marks), its own state. */
async function project(
    example: string,
    stackName: string,
    config: Record<string, string>,
    objects: Record<string, Record<string, string>>,
) {
    const scratch = mkdtempSync(join(tmpdir(), "hostnet-sw-"));
    const workDir = join(scratch, "project");
    mkdirSync(workDir);
    mkdirSync(join(scratch, "state"));
    const dir = join(projectRoot, "examples", example);
    writeFileSync(join(workDir, "Pulumi.yaml"), readFileSync(join(dir, "Pulumi.yaml"), "utf8").replace(/^name: .*$/m, "name: test"));
    copyFileSync(join(dir, "index.ts"), join(workDir, "index.ts"));
    for (const entry of ["tsconfig.json", "package.json", "node_modules"]) symlinkSync(join(projectRoot, entry), join(workDir, entry));
    // The engine runs the programs as JavaScript, without type-checking them (`tsc -p .` in npm test does that once).
    runAsJavaScript(workDir);
    const stack = await createStack(stackName, workDir, join(scratch, "state"), join(scratch, "home"), {
        PULUMI_NODEJS_TRANSPILE_ONLY: "true",
    });
    for (const [k, value] of Object.entries(config)) await stack.setConfig(`test:${k}`, { value });
    for (const [k, v] of Object.entries(objects)) {
        for (const [sub, value] of Object.entries(v)) await stack.setConfig(`test:${k}.${sub}`, { value }, true);
    }
    return { stack, stateDir: join(scratch, "state"), dispose: () => rmSync(scratch, { recursive: true, force: true }) };
}

function runIsAlive(run: string): boolean {
    try {
        process.kill(Number(readFileSync(`/run/hostnet-test-runs/${run}`, "utf8")), 0);
        return true;
    } catch {
        return false;
    }
}

describe("a Docker swarm over hosts b, c and d of a test bed (examples/swarm; this machine is host A, outside the swarm)", function () {
    const id = `s${RUN}`;
    const stackName = `sw${RUN}`;
    const overlay = `10.91.${runByte(11)}`;
    const mark = (h: string, type: string, name: string) => `hostnet@${h}/test/${stackName}/${type}/${name}`;
    const cname = (node: string) => `hn-${stackName}-${node}`;
    const netName = `hn-${stackName}-ov`;
    let tb: TestbedInfo;
    let stack: Stack;
    let stateDir = "";
    let dispose = () => undefined as void;
    const host = (name: string) => tb.hosts.find((h) => h.name === name)!;

    async function docker(h: string | HostInfo, ...args: string[]) {
        return sh(["docker", "-H", (typeof h === "string" ? host(h) : h).dockerHost, ...args], { reject: false });
    }

    async function nodeLs(): Promise<NodeLs[]> {
        const r = await docker("b", "node", "ls", "--format", "{{json .}}");
        assert.equal(r.exitCode, 0, r.stderr);
        return r.stdout
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l));
    }

    async function nodeInspect(nodeId: string): Promise<any> {
        return JSON.parse((await docker("b", "node", "inspect", nodeId)).stdout)[0];
    }

    async function swarmState(h: string): Promise<{ LocalNodeState: string; NodeID: string; ControlAvailable: boolean }> {
        return JSON.parse((await docker(h, "info", "--format", "{{json .Swarm}}")).stdout);
    }

    /** `ip -j -d link` in a namespace of host `h`: its own, or a mounted one of its dockerd's (exec-root/netns/NAME). */
    async function links(h: HostInfo, dockerNetns?: string): Promise<Link[]> {
        const ns = dockerNetns === undefined ? h.netnsPath : join(h.dir, "exec", "netns", dockerNetns);
        const r = await sh(["nsenter", `--net=${ns}`, "--", "ip", "-j", "-d", "link", "show"], { reject: false });
        return r.exitCode === 0 ? JSON.parse(r.stdout) : [];
    }

    /** The namespaces host `h`'s dockerd holds mounted now (exec-root/netns), by name. */
    function dockerNamespaces(h: HostInfo): string[] {
        const prefix = `${join(h.dir, "exec", "netns")}/`;
        return readFileSync("/proc/self/mountinfo", "utf8")
            .split("\n")
            .map((l) => l.split(" ")[4])
            .filter((mp) => mp?.startsWith(prefix))
            .map((mp) => mp.slice(prefix.length));
    }

    /** Every VXLAN device on host `h`: in its own namespace and in its dockerd's, as "namespace:device vni". */
    async function vxlansOn(h: HostInfo): Promise<string[]> {
        const out: string[] = [];
        for (const ns of [undefined, ...dockerNamespaces(h)]) {
            for (const l of await links(h, ns)) {
                if (l.linkinfo?.info_kind === "vxlan") out.push(`${ns ?? "host"}:${l.ifname} ${l.linkinfo.info_data?.id}`);
            }
        }
        return out;
    }

    /** Each container pings each other one by its alias: the matrix, as "from -> to: ok|FAIL". */
    async function pingMatrix(hosts: readonly string[] = HOSTS): Promise<string[]> {
        const rows: string[] = [];
        await Promise.all(
            hosts.flatMap((from) =>
                hosts
                    .filter((to) => to !== from)
                    .map(async (to) => {
                        const ok = await eventually(
                            async () =>
                                (await docker(from, "exec", cname(`${from}-c0`), "ping", "-c", "1", "-W", "1", `${to}-c0`)).exitCode === 0,
                            15000,
                        );
                        rows.push(`${from}-c0 (host ${from}) -> ${to}-c0 (host ${to}): ${ok ? "ok" : "FAIL"}`);
                    }),
            ),
        );
        return rows.sort();
    }

    function assertAllOk(rows: string[], hosts: readonly string[] = HOSTS): void {
        assert.equal(rows.length, hosts.length * (hosts.length - 1));
        assert.deepEqual(
            rows.filter((r) => !r.endsWith(": ok")),
            [],
            rows.join("\n"),
        );
    }

    before(async function () {
        // Test beds of killed runs of this suite (s<run>), and only those.
        if (process.env.HOSTNET_TEST_SWEEP_STALE === "1") {
            for (const { id: other } of JSON.parse((await sh(["bash", TESTBED, "status", "--json"])).stdout) as { id: string }[]) {
                const run = /^s([0-9a-f]{6})$/.exec(other)?.[1];
                if (run !== undefined && run !== RUN && !runIsAlive(run))
                    await sh(["bash", TESTBED, "down", "--id", other], { reject: false });
            }
        }
        await sh(["bash", TESTBED, "up", "--id", id]);
        tb = JSON.parse(readFileSync(join(RUN_ROOT, id, "testbed.json"), "utf8"));
        const p = await project(
            "swarm",
            stackName,
            { privateKeyPath: tb.ssh.clientKey, knownHostsPath: tb.ssh.knownHosts, overlay },
            { hosts: Object.fromEntries(HOSTS.map((h) => [h, host(h).address])) },
        );
        stack = p.stack;
        stateDir = p.stateDir;
        dispose = p.dispose;
    });

    after(async function () {
        try {
            await stack?.destroy().catch(() => undefined);
        } finally {
            dispose();
            await sh(["bash", TESTBED, "down", "--id", id], { reject: false });
        }
    });

    it("up: b makes the swarm, c and d join as workers with their labels, one attachable overlay spans them, a container per host is on it with its address and alias, and every container pings every other by name", async () => {
        // When the engine starts and ends each step of the swarm (as its events reach this process): init on b, a join per host.
        const steps: Record<string, { start?: number; end?: number }> = {};
        const onEvent = (e: EngineEvent) => {
            const m = e.resourcePreEvent?.metadata ?? e.resOutputsEvent?.metadata;
            if (!m || m.op !== "create" || !/:(SwarmCluster|SwarmNode)::/.test(m.urn)) return;
            const key = `${m.urn.split("::").at(-2)!.split(":").pop()} ${m.urn.split("::").at(-1)}`;
            steps[key] = { ...steps[key], [e.resourcePreEvent ? "start" : "end"]: Date.now() };
        };
        const t = Date.now();
        const up = await stack.up({ onEvent });
        console.log(`      up (3 hosts, a swarm, an overlay, 3 containers): ${((Date.now() - t) / 1000).toFixed(1)}s`);
        const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
        console.log(`      swarm steps (engine events, load average ${load}):`);
        for (const [k, v] of Object.entries(steps).sort())
            console.log(`        ${k}: ${v.start && v.end ? `${((v.end - v.start) / 1000).toFixed(1)}s` : "?"}`);
        assert.deepEqual(
            Object.keys(steps).sort(),
            ["SwarmCluster sw", "SwarmNode sw-b", "SwarmNode sw-c", "SwarmNode sw-d"],
            "the swarm made and each host joined",
        );
        const nodeIds = up.outputs.nodeIds.value as Record<string, string>;

        // The swarm, as its manager and each engine see it.
        const nodes = await nodeLs();
        assert.deepEqual(nodes.map((n) => n.ID).sort(), Object.values(nodeIds).sort(), "docker node ls lists exactly the three nodes");
        for (const n of nodes) assert.equal(n.Status, "Ready", `${n.ID} ready`);
        const clusterId = up.outputs.clusterId.value as string;
        for (const h of HOSTS) {
            const s = await swarmState(h);
            assert.equal(s.LocalNodeState, "active", `host ${h}'s engine is in the swarm`);
            assert.equal(s.NodeID, nodeIds[h], `host ${h} is node ${nodeIds[h]}`);
            assert.equal(s.ControlAvailable, h === "b", `only b is a manager`);
            const n = await nodeInspect(nodeIds[h]);
            assert.equal(n.Spec.Role, h === "b" ? "manager" : "worker");
            assert.equal(n.Status.Addr, host(h).address, "it advertises its underlay address");
            assert.deepEqual(n.Spec.Labels, {
                "example.hostnet/site": h,
                "io.hostnet.owner": mark(h, "SwarmNode", `sw-${h}`),
            });
        }
        const info = JSON.parse((await docker("b", "info", "--format", "{{json .Swarm.Cluster}}")).stdout);
        assert.equal(info.ID, clusterId);
        assert.equal(info.Spec.Labels["io.hostnet.owner"], mark("b", "SwarmCluster", "sw"), "the swarm carries its owner mark");

        // The overlay, on the manager.
        const [net] = JSON.parse((await docker("b", "network", "inspect", netName)).stdout);
        assert.equal(net.Driver, "overlay");
        assert.equal(net.Scope, "swarm");
        assert.equal(net.Attachable, true);
        assert.deepEqual(net.IPAM.Config, [{ Subnet: `${overlay}.0/24`, Gateway: `${overlay}.1`, IPRange: `${overlay}.192/26` }]);
        assert.equal(net.Labels["io.hostnet.owner"], mark("b", "Network", "ov"));
        assert.equal(net.Options.encrypted, undefined, "not encrypted");
        const vni = Number(net.Options["com.docker.network.driver.overlay.vxlanid_list"]);
        assert.equal(up.outputs.vni.value, vni);

        // A container per host on it, and the overlay's VXLAN device on every host (in the namespace Docker keeps for it).
        for (const [i, h] of HOSTS.entries()) {
            const [c] = JSON.parse((await docker(h, "inspect", cname(`${h}-c0`))).stdout);
            assert.equal(c.Config.Labels["io.hostnet.owner"], mark(h, "DockerContainer", `${h}-c0`));
            const ep = c.NetworkSettings.Networks[netName];
            assert.ok(ep, `${h}-c0 is on ${netName}`);
            assert.equal(ep.NetworkID, net.Id);
            assert.equal(ep.IPAMConfig.IPv4Address, `${overlay}.${i * 50 + 2}`);
            assert.ok(ep.Aliases.includes(`${h}-c0`), `alias ${h}-c0`);
            // Docker's own ingress overlay (VNI 4096, the routing mesh) may have its device there too, in its own namespace.
            const vx = await vxlansOn(host(h));
            assert.deepEqual(
                vx.filter((v) => v.startsWith("host:") || v.includes(net.Id.slice(0, 10))).map((v) => v.replace(/:\S+ /, " ")),
                [`1-${net.Id.slice(0, 10)} ${vni}`],
                `host ${h}: the overlay's VXLAN device, VNI ${vni}, in Docker's namespace for it, and none in the host's own: ${vx.join(", ")}`,
            );
        }

        const rows = await pingMatrix();
        console.log(`      ping matrix (by alias, over the overlay):\n${rows.map((r) => `        ${r}`).join("\n")}`);
        assertAllOk(rows);

        // The join tokens are secrets in the state: never there in plain text.
        const files = (await sh(["find", stateDir, "-type", "f"])).stdout.split("\n").filter(Boolean);
        const state = files.map((f) => readFileSync(f, "utf8")).join("\n");
        assert.match(state, /SwarmCluster/);
        assert.doesNotMatch(state, /SWMTKN-/, "no join token in plain text");
        const token = (await docker("b", "swarm", "join-token", "-q", "worker")).stdout.trim();
        assert.match(token, /^SWMTKN-/);
        assert.equal(state.includes(token), false, "the worker token is not in the state in plain text");

        // What a user reads with `hostnet topology --host ...`: the three hosts in one swarm, the overlay with a container on each.
        const args = HOSTS.flatMap((h) => ["--host", `${h}=${host(h).ssh.user}@${host(h).ssh.address}:${host(h).ssh.port}`]);
        const cli = await sh(
            [
                "node",
                join(projectRoot, "components", "dist", "cli", "index.js"),
                "topology",
                ...args,
                "--ssh-key",
                tb.ssh.clientKey,
                "--known-hosts",
                tb.ssh.knownHosts,
            ],
            { reject: false },
        );
        assert.equal(cli.exitCode, 0, cli.stderr);
        const text = cli.stdout;
        assert.match(text, /^between them: 0 VXLAN tunnels, 1 swarm \(1 overlay network\)$/m, text);
        assert.match(text, new RegExp(`^== swarm ${clusterId} `, "m"), "the swarm, by its cluster id");
        for (const h of HOSTS) {
            assert.match(
                text,
                new RegExp(
                    `^${nodeIds[h]}\\s+${h}\\s+${h === "b" ? "manager \\(leader\\)" : "worker"}\\s+ready\\s+active\\s+${host(h).address.replace(/\./g, "\\.")}\\s`,
                    "m",
                ),
                `node of ${h}`,
            );
        }
        const row = text.split("\n").find((l) => l.includes(netName));
        assert.ok(row, `the overlay ${netName} is listed`);
        for (const [i, h] of HOSTS.entries())
            assert.ok(row.includes(`${h}: ${cname(`${h}-c0`)} ${overlay}.${i * 50 + 2}`), `${h}'s container on it: ${row}`);

        const preview = await stack.preview();
        assert.deepEqual(Object.keys(preview.changeSummary).sort(), ["same"], JSON.stringify(preview.changeSummary));
    });

    it("refresh sees d leave the swarm by hand (node left, its container off the overlay); up joins d again, removes its stale entry and reconnects the container", async () => {
        const before = (await swarmState("d")).NodeID;
        assert.equal((await docker("d", "swarm", "leave")).exitCode, 0);
        const refresh = await stack.refresh();
        assert.equal(
            refresh.summary.resourceChanges?.update,
            2,
            `the node and its container: ${JSON.stringify(refresh.summary.resourceChanges)}`,
        );
        const up = await stack.up();
        assert.equal(up.summary.resourceChanges?.update, 2, JSON.stringify(up.summary.resourceChanges));
        const after = (await swarmState("d")).NodeID;
        assert.notEqual(after, before, "d joined again, as a new node");
        const nodes = await nodeLs();
        assert.equal(nodes.length, 3, "the stale entry of d is gone");
        assert.ok(nodes.every((n) => n.Status === "Ready"));
        assert.equal((await nodeInspect(after)).Spec.Labels["io.hostnet.owner"], mark("d", "SwarmNode", "sw-d"), "with its labels");
        assertAllOk(await pingMatrix());
        const preview = await stack.preview();
        assert.deepEqual(Object.keys(preview.changeSummary), ["same"]);
    });

    it("a worker's dockerd restarted: the managers see c down, then ready again by itself; refresh sees c's container stopped and up starts it", async () => {
        const c = host("c");
        await sh(["bash", TESTBED, "docker-stop", "--id", id, "--host", "c"]);
        const ids = (await stack.outputs()).nodeIds.value as Record<string, string>;
        try {
            assert.ok(await eventually(async () => (await nodeInspect(ids.c)).Status.State === "down", 30000), "the managers see c down");
            // A refresh of the whole stack cannot read c's container: it fails naming c's engine.
            await assert.rejects(stack.refresh(), /failed to reach the Docker engine of host c/);
            // The swarm's view of c alone: down.
            const urn = (await stack.exportStack()).deployment.resources.find((r: { urn: string }) => r.urn.endsWith("::sw-c")).urn;
            const r = await stack.refresh({ target: [urn] });
            assert.equal(r.summary.resourceChanges?.update, 1, "the node of c differs");
            const sw = (await stack.exportStack()).deployment.resources.find((x: { urn: string }) => x.urn === urn);
            assert.equal(sw.outputs.state, "down");
        } finally {
            await sh(["bash", TESTBED, "docker-start", "--id", id, "--host", "c"]);
        }
        assert.ok(await eventually(async () => (await nodeInspect(ids.c)).Status.State === "ready", 60000), "c rejoins by itself");
        assert.equal((await swarmState("c")).NodeID, ids.c, "as the same node");
        const refresh = await stack.refresh();
        const changes = refresh.summary.resourceChanges ?? {};
        assert.ok((changes.update ?? 0) >= 1, `c's container seen stopped: ${JSON.stringify(changes)}`);
        const [container] = JSON.parse((await docker(c, "inspect", cname("c-c0"))).stdout);
        assert.equal(container.State.Running, false, "Docker does not start a container on an overlay when its daemon restarts");
        await stack.up();
        assertAllOk(await pingMatrix());
        assert.deepEqual(Object.keys((await stack.preview()).changeSummary), ["same"]);
    });

    it("taking d out of `hosts`: its container goes, d is drained, leaves and is removed (no swarm, network or VXLAN left on d); putting it back joins it again", async () => {
        const ids = (await stack.outputs()).nodeIds.value as Record<string, string>;
        await stack.removeConfig("test:hosts.d", true);
        const out = await stack.up();
        assert.equal(
            out.summary.resourceChanges?.delete,
            4,
            `Host d, its container (2), its node: ${JSON.stringify(out.summary.resourceChanges)}`,
        );
        assert.deepEqual((await nodeLs()).map((n) => n.ID).sort(), [ids.b, ids.c].sort(), "b and c are the swarm");
        assert.equal((await swarmState("d")).LocalNodeState, "inactive", "d's engine is in no swarm");
        assert.equal((await docker("d", "ps", "-aq")).stdout, "", "no container on d");
        assert.equal(
            (await docker("d", "network", "inspect", "docker_gwbridge")).exitCode,
            1,
            "docker_gwbridge, made for the swarm, is gone",
        );
        assert.ok(await eventually(async () => (await vxlansOn(host("d"))).length === 0, 30000), (await vxlansOn(host("d"))).join(", "));
        assertAllOk(await pingMatrix(["b", "c"]), ["b", "c"]);

        await stack.setConfig("test:hosts.d", { value: host("d").address }, true);
        const back = await stack.up();
        assert.equal(back.summary.resourceChanges?.create, 4, JSON.stringify(back.summary.resourceChanges));
        assert.equal((await nodeLs()).length, 3);
        assert.equal((await swarmState("d")).LocalNodeState, "active");
        assertAllOk(await pingMatrix());
    });

    it("an encrypted overlay: the preview says which node's kernel lacks IPsec ESP or AES-GCM, and nothing changes on any host", async function () {
        const kernel = await kernelHasEsp();
        const before = JSON.parse((await docker("b", "network", "inspect", netName)).stdout)[0].Id;
        await stack.setConfig("test:encrypted", { value: "true" });
        try {
            if (kernel.ok) {
                const preview = await stack.preview();
                assert.equal(preview.changeSummary.replace, 1, "the overlay is replaced by an encrypted one");
                return;
            }
            await assert.rejects(stack.preview(), (err: Error) => {
                assert.match(
                    err.message,
                    /`encrypted`: the kernel of host b lacks (IPsec ESP \(CONFIG_INET_ESP\)|AES-GCM \(CONFIG_CRYPTO_GCM\)).*which Docker's encrypted overlay needs: Docker would make the network and drop its traffic/,
                );
                return true;
            });
            assert.equal(JSON.parse((await docker("b", "network", "inspect", netName)).stdout)[0].Id, before, "the overlay is as it was");
        } finally {
            await stack.removeConfig("test:encrypted");
        }
    });

    it("an encrypted overlay carries the containers' traffic between hosts (IPsec ESP)", async function () {
        const kernel = await kernelHasEsp();
        if (!kernel.ok) {
            console.log(
                `      skipped: this kernel cannot carry Docker's encrypted overlay (ip xfrm state add ... proto esp aead 'rfc4106(gcm(aes))' said: ${kernel.said}); the preview refuses \`encrypted\` here (the test above)`,
            );
            this.skip();
        }
        await stack.setConfig("test:encrypted", { value: "true" });
        try {
            await stack.up();
            const [net] = JSON.parse((await docker("b", "network", "inspect", netName)).stdout);
            assert.equal(net.Options.encrypted, "");
            assertAllOk(await pingMatrix());
        } finally {
            await stack.removeConfig("test:encrypted");
            await stack.up();
        }
    });

    it("destroy leaves no swarm, network or container on any host: every engine in no swarm, the overlay gone, no docker_gwbridge made for it, no VXLAN device in any namespace", async () => {
        const [net] = JSON.parse((await docker("b", "network", "inspect", netName)).stdout);
        await stack.destroy();
        assert.notEqual((await docker("b", "node", "ls")).exitCode, 0, "b manages no swarm (docker node ls fails)");
        for (const h of HOSTS) {
            assert.equal((await swarmState(h)).LocalNodeState, "inactive", `host ${h}'s engine is in no swarm`);
            assert.equal((await docker(h, "network", "inspect", net.Id)).exitCode, 1, `no overlay on ${h}`);
            assert.equal((await docker(h, "network", "inspect", "docker_gwbridge")).exitCode, 1, `no docker_gwbridge on ${h}`);
            assert.equal((await docker(h, "ps", "-aq")).stdout, "", `no container on ${h}`);
            assert.ok(
                await eventually(async () => (await vxlansOn(host(h))).length === 0, 30000),
                `host ${h}: ${(await vxlansOn(host(h))).join(", ")}`,
            );
        }
    });

    (process.env.HOSTNET_TIMING === "1" ? describe : describe.skip)(
        "timing: up of 3 hosts x 10 containers on one swarm overlay, beside the same on bridges joined by VxlanLinks",
        function () {
            const rounds = Number(process.env.HOSTNET_TIMING_ROUNDS ?? 2);
            it(`${rounds} rounds, interleaved`, async () => {
                const results: Record<string, number[]> = { "swarm overlay": [], VxlanLinks: [] };
                for (let round = 0; round < rounds; round++) {
                    for (const [label, example] of [
                        ["swarm overlay", "swarm"],
                        ["VxlanLinks", "multihost"],
                    ] as const) {
                        const p = await project(
                            example,
                            `t${round}${example[0]}${RUN}`,
                            {
                                privateKeyPath: tb.ssh.clientKey,
                                knownHostsPath: tb.ssh.knownHosts,
                                overlay: `10.${example === "swarm" ? 92 : 93}.${runByte(round)}`,
                                containers: "10",
                            },
                            { hosts: Object.fromEntries(HOSTS.map((h) => [h, host(h).address])) },
                        );
                        try {
                            const t = Date.now();
                            await p.stack.up();
                            results[label].push((Date.now() - t) / 1000);
                            const t2 = Date.now();
                            await p.stack.destroy();
                            console.log(
                                `      ${label}, round ${round + 1}: up ${results[label].at(-1)!.toFixed(1)}s, destroy ${((Date.now() - t2) / 1000).toFixed(1)}s`,
                            );
                        } finally {
                            await p.stack.destroy().catch(() => undefined);
                            p.dispose();
                        }
                    }
                }
                const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
                console.log(`      up of 3 hosts x 10 containers (load average at the end: ${load}):`);
                for (const [label, times] of Object.entries(results))
                    console.log(`        ${label}: ${times.map((x) => `${x.toFixed(1)}s`).join(", ")}`);
            });
        },
    );
});
