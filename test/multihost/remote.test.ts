// Resources on other hosts, over SSH, through the real engine: the example
// stack examples/multihost (a Host per machine, a bridge and containers on
// each, a VxlanLink between the bridges) deployed from this machine (host A)
// onto hosts b and c of a test bed (scripts/testbed.sh), then read back on
// each host with the system's own tools: `ip -j` in the host's namespace,
// `docker -H <the host's engine>`, ping between the containers, `ps`.
//
// Item 5 of the multi-host issue: ping from the container on b to the one on
// c; `pulumi refresh` sees a VXLAN device deleted by hand on c and `up
// --refresh` repairs it; a host whose sshd is down fails the preview and the
// `up` of its resources, naming it, and the other host's resources stay as
// they were; `destroy` leaves nothing on any host. The timing of 3 hosts x 10
// attachments next to 30 on this machine runs with HOSTNET_TIMING=1.

import * as assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import type { TestbedInfo, HostInfo } from "../../tools/testbed/testbed";
import { onHost } from "../../components/src/host/ssh";
import { runHost } from "../../components/src/host/run";
import { eventually, RUN, runByte, sh, sweepRun } from "../helpers/host";
import { createStack, projectRoot } from "../helpers/pulumi";

const TESTBED = join(projectRoot, "scripts", "testbed.sh");
const EXAMPLE = join(projectRoot, "examples", "multihost");
const RUN_ROOT = "/run/hostnet-testbed";

interface Link {
    ifindex: number;
    ifname: string;
    ifalias?: string;
    mtu: number;
    master?: string;
    flags: string[];
    linkinfo?: { info_kind?: string; info_data?: { id?: number; remote?: string; local?: string; port?: number } };
}

/** `ip -j -d link` in a test bed host's namespace (the system's view, not the library's). */
async function linksOn(h: HostInfo): Promise<Link[]> {
    return JSON.parse((await sh([...h.nsenter, "--", "ip", "-j", "-d", "link", "show"])).stdout);
}

async function docker(h: HostInfo, ...args: string[]): Promise<{ stdout: string; exitCode: number }> {
    return sh(["docker", "-H", h.dockerHost, ...args], { reject: false });
}

/** Containers of host `h` whose owner label starts with `prefix`. */
async function ownedContainers(h: HostInfo, prefix: string): Promise<string[]> {
    const { stdout } = await docker(h, "ps", "-a", "--format", '{{.Names}} {{.Label "io.hostnet.owner"}}');
    return stdout
        .split("\n")
        .filter((l) => l.split(" ")[1]?.startsWith(prefix))
        .map((l) => l.split(" ")[0]);
}

/** A project in a scratch folder: the multi-host example's program, named `test` (test marks), its own state. */
async function exampleProject(stackName: string, config: Record<string, string>, objects: Record<string, unknown> = {}) {
    const scratch = mkdtempSync(join(tmpdir(), "hostnet-mh-"));
    const workDir = join(scratch, "project");
    mkdirSync(workDir);
    mkdirSync(join(scratch, "state"));
    writeFileSync(join(workDir, "Pulumi.yaml"), readFileSync(join(EXAMPLE, "Pulumi.yaml"), "utf8").replace(/^name: .*$/m, "name: test"));
    copyFileSync(join(EXAMPLE, "index.ts"), join(workDir, "index.ts"));
    for (const entry of ["tsconfig.json", "package.json", "node_modules"]) symlinkSync(join(projectRoot, entry), join(workDir, entry));
    const stack = await createStack(stackName, workDir, join(scratch, "state"), join(scratch, "home"));
    for (const [k, value] of Object.entries(config)) await stack.setConfig(`test:${k}`, { value });
    for (const [k, v] of Object.entries(objects)) {
        for (const [sub, value] of Object.entries(v as Record<string, string>)) {
            await stack.setConfig(`test:${k}.${sub}`, { value }, true);
        }
    }
    return { stack, stateDir: join(scratch, "state"), dispose: () => rmSync(scratch, { recursive: true, force: true }) };
}

/** ssh processes of the library's (other than this test process's own) that use the test bed's key: masters, sessions, streams. */
async function sshProcessesOf(tb: TestbedInfo): Promise<string[]> {
    const { stdout } = await sh(["ps", "-eo", "pid=,stat=,args="]);
    return stdout
        .split("\n")
        .filter((l) => / ssh /.test(` ${l.trim().split(/\s+/).slice(2, 3).join(" ")} `) && l.includes(tb.ssh.clientKey) && !/\sZ/.test(l))
        .filter((l) => l.includes("hostnet-ssh-") && !l.includes(`hostnet-ssh-${process.pid}-`));
}

describe("resources on other hosts over SSH (test bed: this machine is host A; hosts b, c, d)", function () {
    const id = `r${RUN}`;
    let tb: TestbedInfo;
    const host = (name: string) => tb.hosts.find((h) => h.name === name)!;

    before(async function () {
        await sh(["bash", TESTBED, "up", "--id", id]);
        tb = JSON.parse(readFileSync(join(RUN_ROOT, id, "testbed.json"), "utf8"));
    });

    after(async function () {
        await sh(["bash", TESTBED, "down", "--id", id], { reject: false });
    });

    it("a command line reaches the host over SSH with every metacharacter as it was (the library's runner)", async () => {
        const b = host("b");
        const target = { name: "b", ssh: { host: b.address, privateKeyPath: tb.ssh.clientKey, knownHostsPath: tb.ssh.knownHosts } };
        const args = [
            "",
            "a b",
            `x; touch /tmp/hn-pwned-${RUN}`,
            `$(touch /tmp/hn-pwned-${RUN})`,
            "`id`",
            "it's",
            '"q"',
            "*",
            "l1\nl2",
            "a\\b",
            "$HOME",
        ];
        await sh(["rm", "-f", `/tmp/hn-pwned-${RUN}`]);
        const out = await onHost(target, () => runHost("echo arguments", ["printf", "%s\\0", ...args]));
        assert.deepEqual(out.split("\0").slice(0, -1), args);
        assert.equal((await sh(["test", "-e", `/tmp/hn-pwned-${RUN}`], { reject: false })).exitCode, 1, "nothing was run");
        // What a command costs over SSH here: through the library's shell session, and as a new ssh session each.
        let t = Date.now();
        for (let i = 0; i < 20; i++) await onHost(target, () => runHost("true", ["true"]));
        const session = (Date.now() - t) / 20;
        t = Date.now();
        for (let i = 0; i < 5; i++) await sh([...b.ssh.argv, "true"]);
        console.log(
            `      one command on b: ${session.toFixed(1)} ms in a shell session, ${((Date.now() - t) / 5).toFixed(0)} ms as a plain ssh b true`,
        );
        // And it ran on b: b's own underlay address is there.
        const addrs = await onHost(target, () => runHost("list addresses", ["ip", "-j", "addr", "show", "dev", "eth0"]));
        assert.match(addrs, new RegExp(`"local":"${b.address.replace(/\./g, "\\.")}"`));
    });

    describe("a stack on hosts b and c, joined by a VxlanLink", function () {
        const stackName = `mh${RUN}`;
        const overlay = `10.77.${runByte(9)}`;
        const mark = (h: string, type: string, name: string) => `hostnet@${h}/test/${stackName}/${type}/${name}`;
        const cname = (name: string) => `hn-${stackName}-${name}`;
        const vni = 4000 + runByte();
        let stack: Stack;
        let dispose = () => undefined as void;

        /** The VXLAN device of link b-c on host `h`, found by its owner mark. */
        async function vxlanOn(h: string): Promise<Link | undefined> {
            return (await linksOn(host(h))).find((l) => l.ifalias === mark(h, "VxlanLink", "b-c"));
        }

        async function pingBtoC(): Promise<boolean> {
            const r = await docker(host("b"), "exec", cname("b-c0"), "ping", "-c", "3", "-W", "1", `${overlay}.52`);
            return r.exitCode === 0;
        }

        before(async function () {
            const p = await exampleProject(
                stackName,
                { privateKeyPath: tb.ssh.clientKey, knownHostsPath: tb.ssh.knownHosts, overlay, vni: String(vni) },
                { hosts: { b: host("b").address, c: host("c").address } },
            );
            stack = p.stack;
            dispose = p.dispose;
        });

        after(async function () {
            try {
                await stack?.destroy();
            } finally {
                dispose();
            }
        });

        it("up: a bridge and a container on b and on c, the bridges joined by VXLAN; the container on b pings the one on c", async () => {
            const t = Date.now();
            await stack.up();
            console.log(`      up (2 hosts, 1 attachment each, 1 VxlanLink): ${((Date.now() - t) / 1000).toFixed(1)}s`);
            for (const [h, peer] of [
                ["b", "c"],
                ["c", "b"],
            ]) {
                const links = await linksOn(host(h));
                const bridge = links.find((l) => l.ifalias === mark(h, "Bridge", `${h}-br`));
                assert.ok(bridge, `a bridge marked as the stack's on ${h}`);
                const vx = links.find((l) => l.ifalias === mark(h, "VxlanLink", "b-c"))!;
                assert.ok(vx, `a VXLAN device marked as the link's on ${h}`);
                assert.equal(vx.linkinfo?.info_kind, "vxlan");
                assert.deepEqual(
                    { ...vx.linkinfo?.info_data, master: vx.master, mtu: vx.mtu },
                    {
                        ...vx.linkinfo?.info_data,
                        id: vni,
                        port: 4789,
                        local: host(h).address,
                        remote: host(peer).address,
                        master: bridge!.ifname,
                        mtu: 1450,
                    },
                    "VNI, port, underlay both ways, on the bridge, 1500 - 50",
                );
                assert.ok(vx.flags.includes("UP"));
                const [c] = JSON.parse((await docker(host(h), "inspect", cname(`${h}-c0`))).stdout);
                assert.equal(c.Config.Labels["io.hostnet.owner"], mark(h, "DockerContainer", `${h}-c0`));
                const inside = (await docker(host(h), "exec", cname(`${h}-c0`), "ip", "-o", "link", "show", "eth0")).stdout;
                assert.match(inside, /mtu 1450/, "the container's interface leaves room for VXLAN");
            }
            assert.ok(await pingBtoC(), `ping ${overlay}.52 (c) from ${cname("b-c0")} (b)`);
            // A frame of the full MTU crosses too: nothing fragments (1422 + 28 = 1450).
            const big = await docker(host("b"), "exec", cname("b-c0"), "ping", "-c", "2", "-s", "1422", "-W", "1", `${overlay}.52`);
            assert.equal(big.exitCode, 0);
        });

        it("refresh sees the VXLAN device deleted by hand on c; up --refresh makes it again and traffic flows", async () => {
            const gone = (await vxlanOn("c"))!;
            await sh([...host("c").nsenter, "--", "ip", "link", "del", "dev", gone.ifname]);
            assert.equal(await pingBtoC(), false, "no path without the device on c");
            const refresh = await stack.refresh();
            assert.equal(refresh.summary.resourceChanges?.delete, 1, JSON.stringify(refresh.summary.resourceChanges));
            const up = await stack.up({ refresh: true });
            assert.equal(up.summary.resourceChanges?.create, 1, JSON.stringify(up.summary.resourceChanges));
            const back = (await vxlanOn("c"))!;
            assert.equal(back.ifname, gone.ifname);
            assert.notEqual(back.ifindex, undefined);
            assert.ok(await eventually(pingBtoC, 10000), "ping b -> c again");
        });

        it("changes the tunnel's MTU in place: both VXLAN devices and the containers' interfaces, nothing replaced", async () => {
            const before = { b: (await vxlanOn("b"))!.ifindex, c: (await vxlanOn("c"))!.ifindex };
            await stack.setConfig("test:tunnelMtu", { value: "1400" });
            const up = await stack.up();
            assert.deepEqual(
                up.summary.resourceChanges,
                { same: up.summary.resourceChanges?.same, update: 3 },
                "the link and two attachments",
            );
            for (const h of ["b", "c"] as const) {
                const vx = (await vxlanOn(h))!;
                assert.deepEqual([vx.ifindex, vx.mtu], [before[h], 1400], `the same device on ${h}, MTU 1400`);
                const inside = (await docker(host(h), "exec", cname(`${h}-c0`), "ip", "-o", "link", "show", "eth0")).stdout;
                assert.match(inside, /mtu 1400/);
            }
            assert.ok(await pingBtoC());
        });

        it("with host c's sshd down, preview and up fail naming host c; host b's resources stay as they were", async () => {
            const c = host("c");
            const before = {
                container: (await docker(host("b"), "inspect", "-f", "{{.Id}}", cname("b-c0"))).stdout,
                vxlan: (await vxlanOn("b"))!.ifindex,
            };
            await sh(["kill", readFileSync(c.pidFiles.sshd, "utf8").trim()]);
            try {
                await eventually(async () => (await sh([...c.nsenter, "--", "ss", "-Hltn"])).stdout.trim() === "");
                await assert.rejects(stack.preview(), (err: Error) => {
                    assert.match(
                        err.message,
                        /failed to reach host c over SSH: ssh: connect to host [\d.]+ port 22: Connection refused; check that root@/,
                    );
                    assert.doesNotMatch(err.message, /failed to reach host b/);
                    return true;
                });
                await assert.rejects(stack.up(), /failed to reach host c over SSH/);
                assert.equal((await docker(host("b"), "inspect", "-f", "{{.Id}}", cname("b-c0"))).stdout, before.container);
                assert.equal((await vxlanOn("b"))?.ifindex, before.vxlan);
                assert.ok(await pingBtoC(), "the data path does not need ssh");
            } finally {
                await sh([...c.nsenter, "--", "/usr/sbin/sshd", "-f", join(c.dir, "sshd_config"), "-E", join(c.dir, "sshd.log")]);
            }
            await stack.preview(); // c answers again
        });

        it("destroy leaves nothing of the stack on any host, and no ssh connection open", async () => {
            await stack.destroy();
            for (const h of tb.hosts) {
                const left = (await linksOn(h)).filter((l) => l.ifalias?.startsWith(`hostnet@${h.name}/test/${stackName}/`));
                assert.deepEqual(
                    left.map((l) => l.ifname),
                    [],
                    `links on ${h.name}`,
                );
                assert.deepEqual(await ownedContainers(h, `hostnet@${h.name}/test/${stackName}/`), [], `containers on ${h.name}`);
            }
            assert.ok(await eventually(async () => (await sshProcessesOf(tb)).length === 0, 10000), (await sshProcessesOf(tb)).join("\n"));
            const folders = readdirSync(tmpdir()).filter((f) => /^hostnet-ssh-\d+-/.test(f));
            for (const f of folders) {
                const pid = Number(/^hostnet-ssh-(\d+)-/.exec(f)![1]);
                assert.ok(
                    await sh(["kill", "-0", String(pid)], { reject: false }).then((r) => r.exitCode === 0),
                    `folder ${f} of a process that is gone`,
                );
            }
        });
    });

    describe("a VxlanLink over an IPv6 underlay, carrying dual-stack containers", function () {
        const stackName = `m6${RUN}`;
        const overlay = `10.78.${runByte(10)}`;
        const overlay6 = `fd17:78:${runByte(10).toString(16)}::`;
        const mark = (h: string, type: string, name: string) => `hostnet@${h}/test/${stackName}/${type}/${name}`;
        const cname = (name: string) => `hn-${stackName}-${name}`;
        const vni = 5000 + runByte();
        let stack: Stack;
        let dispose = () => undefined as void;

        /** `ip -j -6 addr show dev eth0` inside a container of host `h` (entered by its pid: the same kernel). */
        async function ipv6Inside(
            h: string,
            name: string,
        ): Promise<{ local: string; prefixlen: number; scope: string; tentative?: boolean }[]> {
            const pid = (await docker(host(h), "inspect", "-f", "{{.State.Pid}}", cname(name))).stdout.trim();
            const out = (await sh(["nsenter", "-t", pid, "-n", "ip", "-j", "-6", "addr", "show", "dev", "eth0"])).stdout;
            return JSON.parse(out)[0].addr_info;
        }

        before(async function () {
            const p = await exampleProject(
                stackName,
                { privateKeyPath: tb.ssh.clientKey, knownHostsPath: tb.ssh.knownHosts, overlay, overlay6, vni: String(vni) },
                {
                    hosts: { b: host("b").address, c: host("c").address },
                    underlays: { b: host("b").address6, c: host("c").address6 },
                },
            );
            stack = p.stack;
            dispose = p.dispose;
        });

        after(async function () {
            try {
                await stack?.destroy();
            } finally {
                dispose();
            }
        });

        it("up: the VXLAN devices tunnel over IPv6 (local6/remote6, MTU 1500 - 70); the containers' IPv6 addresses are valid; ping -6 both ways", async () => {
            await stack.up();
            for (const [h, peer] of [
                ["b", "c"],
                ["c", "b"],
            ]) {
                const vx = (await linksOn(host(h))).find((l) => l.ifalias === mark(h, "VxlanLink", "b-c"))!;
                assert.ok(vx, `a VXLAN device marked as the link's on ${h}`);
                const data = vx.linkinfo?.info_data as Record<string, unknown>;
                assert.deepEqual(
                    [data.id, data.local6, data.remote6, vx.mtu],
                    [vni, host(h).address6, host(peer).address6, 1430],
                    "VNI, the IPv6 underlay both ways, 1500 - 70",
                );
                const global = (await ipv6Inside(h, `${h}-c0`)).filter((a) => a.scope === "global");
                const n = h === "b" ? 2 : 52;
                assert.deepEqual(
                    global.map((a) => [`${a.local}/${a.prefixlen}`, a.tentative ?? false]),
                    [[`${overlay6}${n.toString(16)}/64`, false]],
                    `${h}'s container: its IPv6 address, valid`,
                );
            }
            const b6 = `${overlay6}2`;
            const c6 = `${overlay6}${(52).toString(16)}`;
            assert.equal(
                (await docker(host("b"), "exec", cname("b-c0"), "ping", "-6", "-c", "3", "-W", "1", c6)).exitCode,
                0,
                `b -> c (${c6}) over IPv6`,
            );
            assert.equal(
                (await docker(host("c"), "exec", cname("c-c0"), "ping", "-6", "-c", "3", "-W", "1", b6)).exitCode,
                0,
                `c -> b (${b6}) over IPv6`,
            );
            assert.equal(
                (await docker(host("b"), "exec", cname("b-c0"), "ping", "-c", "3", "-W", "1", `${overlay}.52`)).exitCode,
                0,
                "and IPv4",
            );
            const preview = await stack.preview();
            assert.deepEqual(Object.keys(preview.changeSummary), ["same"], "nothing to change after up");
        });
    });

    it("says why a host cannot be reached, and what to check: host key unknown, key refused, nothing listening", async () => {
        const b = host("b");
        const scratch = mkdtempSync(join(tmpdir(), "hostnet-keys-"));
        try {
            writeFileSync(join(scratch, "empty_known_hosts"), "");
            await sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", join(scratch, "stranger")]);
            const base = { host: b.address, privateKeyPath: tb.ssh.clientKey, knownHostsPath: tb.ssh.knownHosts };
            const cases: [string, object, RegExp][] = [
                [
                    "unknown host key",
                    { ...base, knownHostsPath: join(scratch, "empty_known_hosts") },
                    /^failed to reach host b over SSH: .*Host key verification failed\.; check that the host's key is in .*empty_known_hosts \(ssh-keyscan -p 22 /,
                ],
                [
                    "a key the host refuses",
                    { ...base, privateKeyPath: join(scratch, "stranger") },
                    /^failed to reach host b over SSH: .*Permission denied \(publickey\)\.; check `user` and the private key \(.*stranger\)/,
                ],
                [
                    "nothing listening",
                    { ...base, port: 2 },
                    /^failed to reach host b over SSH: ssh: connect to host .* port 2: Connection refused; check that root@/,
                ],
                [
                    "a key file that is not there",
                    { ...base, privateKeyPath: join(scratch, "nope") },
                    /cannot read the private key file .*nope/,
                ],
            ];
            for (const [what, ssh, pattern] of cases) {
                await assert.rejects(
                    onHost({ name: "b", ssh } as never, () => runHost("list links", ["ip", "link"])),
                    (err: Error) => err.name === "HostUnreachableError" && pattern.test(err.message),
                    what,
                );
            }
        } finally {
            rmSync(scratch, { recursive: true, force: true });
        }
    });

    it("an inline private key (a config secret) reaches the hosts and is never in the state in plain text", async () => {
        const stackName = `mk${RUN}`;
        const p = await exampleProject(
            stackName,
            { knownHostsPath: tb.ssh.knownHosts, overlay: `10.76.${runByte(9)}`, vni: String(5000 + runByte()) },
            { hosts: { b: host("b").address, c: host("c").address } },
        );
        const key = readFileSync(tb.ssh.clientKey, "utf8");
        try {
            await p.stack.setConfig("test:privateKey", { value: key, secret: true });
            await p.stack.up();
            const ping = await docker(host("b"), "exec", `hn-${stackName}-b-c0`, "ping", "-c", "2", "-W", "1", `10.76.${runByte(9)}.52`);
            assert.equal(ping.exitCode, 0, "deployed with the inline key, on both hosts");
            // The state as the backend stores it (the Automation API's export shows secrets decrypted).
            const files = (await sh(["find", p.stateDir, "-type", "f"])).stdout.split("\n").filter(Boolean);
            const state = files.map((f) => readFileSync(f, "utf8")).join("\n");
            assert.match(state, /hostnet@b\/test\//, "the state files hold the resources");
            for (const line of key.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----"))) {
                assert.equal(state.includes(line), false, "no line of the key in the state");
            }
            assert.match(
                state,
                /"privateKey": ?\{\s*"4dabf18193072939515e22adb298388d": ?"1b47061264138c4ac30d75fd1eb44270",\s*"ciphertext": ?"v1:/,
                "stored as a secret",
            );
            await p.stack.destroy();
            for (const h of tb.hosts) assert.deepEqual(await ownedContainers(h, `hostnet@${h.name}/test/${stackName}/`), []);
            // Provider processes are gone: their folders (where a key lived while ssh connected) with them.
            const folders = readdirSync(tmpdir()).filter(
                (f) => /^hostnet-ssh-\d+-/.test(f) && !f.startsWith(`hostnet-ssh-${process.pid}-`),
            );
            for (const f of folders)
                assert.deepEqual(
                    readdirSync(join(tmpdir(), f)).filter((x) => x.startsWith("key-")),
                    [],
                    f,
                );
        } finally {
            await p.stack.destroy().catch(() => undefined);
            p.dispose();
        }
    });

    (process.env.HOSTNET_TIMING === "1" ? describe : describe.skip)(
        "timing: up of 30 attachments, on 3 hosts x 10 and on this machine",
        function () {
            const results: Record<string, number> = {};

            async function timed(label: string, stackName: string, config: Record<string, string>, hosts: Record<string, string>) {
                const p = await exampleProject(stackName, config, Object.keys(hosts).length > 0 ? { hosts } : {});
                try {
                    const t = Date.now();
                    const r = await p.stack.up();
                    results[label] = (Date.now() - t) / 1000;
                    assert.equal(
                        r.summary.resourceChanges?.create,
                        Object.values(r.summary.resourceChanges ?? {}).reduce((a, b) => a + b, 0),
                    );
                    const t2 = Date.now();
                    await p.stack.destroy();
                    console.log(`      ${label}: up ${results[label].toFixed(1)}s, destroy ${((Date.now() - t2) / 1000).toFixed(1)}s`);
                } finally {
                    await p.stack.destroy().catch(() => undefined);
                    p.dispose();
                }
            }

            it("3 hosts x 10 attachments (b, c, d, two VxlanLinks)", async () => {
                await timed(
                    "3 hosts x 10",
                    `tm${RUN}`,
                    {
                        privateKeyPath: tb.ssh.clientKey,
                        knownHostsPath: tb.ssh.knownHosts,
                        overlay: `10.78.${runByte(9)}`,
                        containers: "10",
                    },
                    Object.fromEntries(["b", "c", "d"].map((h) => [h, host(h).address])),
                );
            });

            it("30 attachments on this machine", async () => {
                try {
                    // Project `test`, stack <run>: the run's owner marks, swept by sweepRun.
                    await timed("1 host x 30 (this machine)", RUN, { overlay: `10.79.${runByte(9)}`, containers: "30" }, {});
                } finally {
                    await sweepRun();
                }
            });
        },
    );
});
