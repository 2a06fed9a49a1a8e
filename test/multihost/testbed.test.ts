// The multi-host test bed (scripts/testbed.sh) as a user and the coming
// multi-host tests use it, read back with the system's own tools: ssh into
// each host, `ip -j`, `docker -H`, ping, a VXLAN made by hand, and after
// `down`: `ip netns`, `ip link`, `ps`, `findmnt`.

import * as assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import type { TestbedInfo } from "../../tools/testbed/testbed";
import { eventually, runByte, RUN, sh, TEST_LABEL } from "../helpers/host";

const SCRIPT = join(__dirname, "..", "..", "scripts", "testbed.sh");
const RUN_ROOT = "/run/hostnet-testbed";

async function testbed(...args: string[]): Promise<{ stdout: string; stderr: string; seconds: number }> {
    const t = Date.now();
    const r = await sh(["bash", SCRIPT, ...args]);
    return { ...r, seconds: (Date.now() - t) / 1000 };
}

function readInfo(id: string): TestbedInfo {
    return JSON.parse(readFileSync(join(RUN_ROOT, id, "testbed.json"), "utf8"));
}

interface Addr {
    family: string;
    local: string;
    prefixlen: number;
}
interface Link {
    ifname: string;
    ifalias?: string;
    addr_info?: Addr[];
    stats64?: { rx: { packets: number }; tx: { packets: number } };
}

function inet(links: Link[]): string[] {
    return links.flatMap((l) => (l.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`)).sort();
}

/** Network namespaces named for test bed `id`, with their inode (what `ps -o netns` prints). */
async function namespacesOf(id: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const line of (await sh(["ip", "netns", "list"])).stdout.split("\n")) {
        const name = line.split(" ")[0];
        if (name.startsWith(`hntb-${id}-`)) out.set(name, (await sh(["stat", "-L", "-c", "%i", `/run/netns/${name}`])).stdout.trim());
    }
    return out;
}

/** Processes (not zombies) whose command line names the run folder or that live in one of `inodes`. */
async function processesOf(id: string, inodes: Set<string>): Promise<string[]> {
    const { stdout } = await sh(["ps", "-eo", "pid=,stat=,netns=,args="]);
    return stdout.split("\n").filter((line) => {
        const [pid, stat, netns, ...args] = line.trim().split(/\s+/);
        if (!pid || stat.startsWith("Z")) return false;
        return args.join(" ").includes(`${RUN_ROOT}/${id}/`) || inodes.has(netns);
    });
}

async function mountsOf(id: string): Promise<string[]> {
    const { stdout } = await sh(["findmnt", "-J", "-l", "-o", "TARGET"]);
    return (JSON.parse(stdout).filesystems as { target: string }[])
        .map((f) => f.target)
        .filter((t) => t.startsWith(`${RUN_ROOT}/${id}/`) || t.startsWith(`/run/netns/hntb-${id}-`));
}

/** Everything the system can tell about test bed `id`; empty lists once it is gone. */
async function leftovers(id: string, inodes: Set<string>) {
    const links = JSON.parse((await sh(["ip", "-j", "link", "show"])).stdout) as Link[];
    return {
        namespaces: [...(await namespacesOf(id)).keys()],
        links: links.filter((l) => l.ifname.startsWith(`hntb-${id}-`) || l.ifalias === `hostnet-testbed/${id}`).map((l) => l.ifname),
        processes: await processesOf(id, inodes),
        mounts: await mountsOf(id),
        runDir: existsSync(join(RUN_ROOT, id)),
    };
}

const NOTHING = { namespaces: [], links: [], processes: [], mounts: [], runDir: false };

// Test beds of this run are named <letter><RUN>, so that a whole run's stale
// sweep (sweepStale in helpers/host.ts, once before all files) can remove those
// of killed runs, and only those.

describe("multi-host test bed (scripts/testbed.sh)", function () {
    const id = `t${RUN}`;
    let tb: TestbedInfo;
    let inodes: Set<string>;
    const byName = (name: string) => tb.hosts.find((h) => h.name === name)!;

    before(async function () {
        const r = await testbed("up", "--id", id);
        console.log(`      testbed up (3 hosts): ${r.seconds.toFixed(1)}s wall, ${readInfo(id).upSeconds}s inside`);
        tb = readInfo(id);
        inodes = new Set((await namespacesOf(id)).values());
    });

    after(async function () {
        await sh(["bash", SCRIPT, "down", "--id", id], { reject: false });
    });

    it("makes hosts b, c, d on a free 10.250.<n>.0/24 underlay, with this machine as host A (.1)", async () => {
        assert.deepEqual(
            tb.hosts.map((h) => h.name),
            ["b", "c", "d"],
        );
        const net = tb.subnet.replace(/\.0\/24$/, "");
        assert.match(tb.subnet, /^10\.250\.\d{1,3}\.0\/24$/);
        assert.deepEqual(
            tb.hosts.map((h) => h.cidr),
            [`${net}.2/24`, `${net}.3/24`, `${net}.4/24`],
        );
        const a = JSON.parse((await sh(["ip", "-j", "addr", "show", "dev", tb.controller.interface])).stdout) as Link[];
        assert.deepEqual(inet(a), [`${net}.1/24`], "host A's underlay address is on this machine");
        const [link] = JSON.parse((await sh(["ip", "-j", "link", "show", "dev", tb.controller.interface])).stdout) as Link[];
        assert.equal(link.ifalias, `hostnet-testbed/${id}`);
        assert.deepEqual([...(await namespacesOf(id)).keys()].sort(), [`hntb-${id}-b`, `hntb-${id}-c`, `hntb-${id}-d`, `hntb-${id}-sw`]);
    });

    it("ssh into each host runs `ip -j addr` there: its own underlay address, no other host's", async () => {
        for (const h of tb.hosts) {
            // Both forms `up` prints: the explicit key + known_hosts, and the generated ssh_config.
            for (const argv of [h.ssh.argv, h.ssh.configArgv]) {
                const { stdout } = await sh([...argv, "ip", "-j", "addr"]);
                const links = JSON.parse(stdout) as Link[];
                assert.deepEqual(
                    inet(links),
                    ["127.0.0.1/8", h.cidr, h.dockerBridge.cidr].sort(),
                    `${h.name} via ${argv.slice(0, 3).join(" ")}`,
                );
                assert.deepEqual(inet(links.filter((l) => l.ifname === "eth0")), [h.cidr]);
            }
        }
    });

    it("sshd answers only on the host's underlay address, and only to the test bed's key", async () => {
        const b = byName("b");
        const { stdout } = await sh([...b.nsenter, "--", "ss", "-Hltn"]);
        const listeners = stdout
            .split("\n")
            .filter(Boolean)
            .map((l) => l.trim().split(/\s+/)[3]);
        assert.ok(listeners.includes(`${b.address}:22`), listeners.join(" "));
        assert.ok(!listeners.some((l) => /^(0\.0\.0\.0|\*|\[::\]):22$/.test(l)), listeners.join(" "));
        const noKey = await sh(
            [
                "ssh",
                "-F",
                "/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                `UserKnownHostsFile=${tb.ssh.knownHosts}`,
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "IdentityFile=/dev/null",
                `root@${b.address}`,
                "true",
            ],
            { reject: false },
        );
        assert.notEqual(noKey.exitCode, 0, "a login without the test bed's key is refused");
        assert.match(noKey.stderr, /Permission denied/);
    });

    it("each host's own dockerd runs a --net=none container that only that host sees; ssh sessions reach the same engine", async () => {
        const name = `hnt-tb-${RUN}`;
        try {
            for (const h of tb.hosts) {
                await sh([
                    "docker",
                    "-H",
                    h.dockerHost,
                    "run",
                    "-d",
                    "--name",
                    name,
                    "--net=none",
                    "--label",
                    `${TEST_LABEL}=${RUN}`,
                    tb.image,
                    "sleep",
                    "600",
                ]);
                const [c] = JSON.parse((await sh(["docker", "-H", h.dockerHost, "inspect", name])).stdout);
                assert.equal(c.HostConfig.NetworkMode, "none");
                assert.equal(c.State.Running, true);
                const links = (await sh(["docker", "-H", h.dockerHost, "exec", name, "ip", "-o", "link"])).stdout
                    .split("\n")
                    .filter(Boolean);
                assert.deepEqual(
                    links.map((l) => l.split(": ")[1]),
                    ["lo"],
                );
                // Over ssh (sshd sets DOCKER_HOST for the session), the same container is there.
                const viaSsh = await sh([...h.ssh.configArgv, "docker", "inspect", "-f", "{{.Id}}", name]);
                assert.equal(viaSsh.stdout.trim(), c.Id);
            }
            const ids = await Promise.all(
                tb.hosts.map(async (h) => (await sh(["docker", "-H", h.dockerHost, "inspect", "-f", "{{.Id}}", name])).stdout.trim()),
            );
            assert.equal(new Set(ids).size, 3, "three engines, three containers");
            const onMachine = await sh(["docker", "inspect", "--type", "container", name], { reject: false });
            assert.notEqual(onMachine.exitCode, 0, "the machine's own engine does not have it");
        } finally {
            await Promise.all(tb.hosts.map((h) => sh(["docker", "-H", h.dockerHost, "rm", "-f", name], { reject: false })));
        }
    });

    it("host B's namespace pings host C over the underlay; host A (this machine) reaches both; no host has a way out", async () => {
        const [b, c] = [byName("b"), byName("c")];
        const route = JSON.parse((await sh([...b.nsenter, "--", "ip", "-j", "route", "get", c.address])).stdout);
        assert.equal(route[0].dev, "eth0");
        assert.equal((await sh([...b.nsenter, "--", "ping", "-c", "3", "-i", "0.2", "-W", "1", c.address], { reject: false })).exitCode, 0);
        for (const h of [b, c])
            assert.equal((await sh(["ping", "-c", "2", "-i", "0.2", "-W", "1", h.address], { reject: false })).exitCode, 0);
        for (const h of tb.hosts) {
            const routes = JSON.parse((await sh([...h.nsenter, "--", "ip", "-j", "route", "show", "default"])).stdout || "[]");
            assert.deepEqual(routes, [], `host ${h.name} has no default route`);
        }
    });

    it("a VXLAN made by hand between B and C carries a ping between two addresses on it", async () => {
        const [b, c] = [byName("b"), byName("c")];
        const vni = String(4000 + runByte(1));
        const overlay = (host: number) => `10.251.${runByte(1)}.${host}`;
        const vxlan = (h: typeof b, peer: typeof b) => [
            ...h.nsenter,
            "--",
            "ip",
            "link",
            "add",
            "vx0",
            "type",
            "vxlan",
            "id",
            vni,
            "dstport",
            "4789",
            "remote",
            peer.address,
            "local",
            h.address,
            "dev",
            "eth0",
        ];
        try {
            await sh(vxlan(b, c));
            await sh([...b.nsenter, "--", "ip", "addr", "add", `${overlay(1)}/24`, "dev", "vx0"]);
            await sh([...b.nsenter, "--", "ip", "link", "set", "dev", "vx0", "up"]);
            const before = await sh([...b.nsenter, "--", "ping", "-c", "1", "-W", "1", overlay(2)], { reject: false });
            assert.notEqual(before.exitCode, 0, "nothing answers on the overlay before C's end exists");

            await sh(vxlan(c, b));
            await sh([...c.nsenter, "--", "ip", "addr", "add", `${overlay(2)}/24`, "dev", "vx0"]);
            await sh([...c.nsenter, "--", "ip", "link", "set", "dev", "vx0", "up"]);
            const [info] = JSON.parse((await sh([...c.nsenter, "--", "ip", "-j", "-d", "link", "show", "vx0"])).stdout);
            assert.deepEqual(
                [info.linkinfo.info_kind, String(info.linkinfo.info_data.id), info.linkinfo.info_data.remote],
                ["vxlan", vni, b.address],
            );
            assert.ok(
                await eventually(
                    async () =>
                        (await sh([...b.nsenter, "--", "ping", "-c", "1", "-W", "1", overlay(2)], { reject: false })).exitCode === 0,
                    5000,
                ),
            );
            assert.equal(
                (await sh([...b.nsenter, "--", "ping", "-c", "3", "-i", "0.2", "-W", "1", overlay(2)], { reject: false })).exitCode,
                0,
            );
            const [rx] = JSON.parse((await sh([...c.nsenter, "--", "ip", "-j", "-s", "link", "show", "vx0"])).stdout) as Link[];
            assert.ok(rx.stats64!.rx.packets >= 3, `C's vx0 received ${rx.stats64!.rx.packets} packets`);
        } finally {
            for (const h of [b, c]) await sh([...h.nsenter, "--", "ip", "link", "del", "dev", "vx0"], { reject: false });
        }
    });

    it("down removes everything (namespaces, links, sshd/containerd/dockerd, mounts, run folder); a second down is a no-op", async () => {
        const present = await leftovers(id, inodes);
        assert.equal(present.namespaces.length, 4);
        assert.ok(present.links.includes(`hntb-${id}-a`));
        for (const daemon of ["sshd", "containerd", "dockerd"]) {
            assert.equal(
                present.processes.filter((p) => p.includes(`${daemon} `) || p.includes(`${daemon}: `)).length >= 3,
                true,
                `${daemon}: ${present.processes.join("\n")}`,
            );
        }
        assert.ok(present.mounts.length >= 3, present.mounts.join(" "));

        const r = await testbed("down", "--id", id);
        console.log(`      testbed down (3 hosts): ${r.seconds.toFixed(1)}s wall`);
        assert.deepEqual(await leftovers(id, inodes), NOTHING);
        assert.match((await testbed("down", "--id", id)).stdout, /nothing left/);
        assert.deepEqual(await leftovers(id, inodes), NOTHING);
    });
});

describe("multi-host test bed: leftovers of a killed test bed", function () {
    const ids: string[] = [];
    const freshId = (letter: "k" | "c") => {
        const id = `${letter}${RUN}`;
        ids.push(id);
        return id;
    };

    after(async function () {
        for (const id of ids) await sh(["bash", SCRIPT, "down", "--id", id], { reject: false });
    });

    it("an `up` killed midway is cleaned by the next down", async () => {
        const id = freshId("k");
        const up = execa("bash", [SCRIPT, "up", "--id", id, "--hosts", "3"], { reject: false });
        const midway = await eventually(async () => existsSync(join(RUN_ROOT, id, "b", "containerd.pid")), 30000);
        up.kill("SIGKILL");
        await up;
        assert.ok(midway, "up got as far as starting a containerd");
        assert.equal(existsSync(join(RUN_ROOT, id, "testbed.json")), false, "up was killed before it finished");
        const inodes = new Set((await namespacesOf(id)).values());
        assert.ok(inodes.size >= 2, "it left namespaces behind");
        // Let the daemons it started come up, so there is something to stop.
        await new Promise((r) => setTimeout(r, 1000));

        await testbed("down", "--id", id);
        assert.deepEqual(await leftovers(id, inodes), NOTHING);
    });

    it("daemons killed with a container running (a crash) are cleaned by down, container and shim included", async () => {
        const id = freshId("c");
        await testbed("up", "--id", id, "--hosts", "1");
        const b = readInfo(id).hosts[0];
        const inodes = new Set((await namespacesOf(id)).values());
        const cid = (
            await sh([
                "docker",
                "-H",
                b.dockerHost,
                "run",
                "-d",
                "--net=none",
                "--label",
                `${TEST_LABEL}=${RUN}`,
                "hostnet/busybox:1",
                "sleep",
                "600",
            ])
        ).stdout.trim();
        const pid = (await sh(["docker", "-H", b.dockerHost, "inspect", "-f", "{{.State.Pid}}", cid])).stdout.trim();
        for (const daemon of ["dockerd", "containerd"] as const) {
            await sh(["kill", "-KILL", readFileSync(b.pidFiles[daemon], "utf8").trim()]);
        }
        const alive = async (p: string) => {
            const r = await sh(["ps", "-o", "stat=", "-p", p], { reject: false });
            return r.exitCode === 0 && !r.stdout.trim().startsWith("Z");
        };
        assert.ok(await alive(pid), "the container outlives its engine");
        const shims = (await sh(["ps", "-eo", "args="])).stdout.split("\n").filter((l) => l.includes("containerd-shim") && l.includes(cid));
        assert.equal(shims.length, 1, "and so does its shim");

        await testbed("down", "--id", id);
        assert.ok(await eventually(async () => !(await alive(pid)), 5000), "the container's process is gone");
        assert.deepEqual(await leftovers(id, inodes), NOTHING);
        const shimsAfter = (await sh(["ps", "-eo", "stat=,args="])).stdout.split("\n").filter((l) => !l.startsWith("Z") && l.includes(cid));
        assert.deepEqual(shimsAfter, []);
    });
});
