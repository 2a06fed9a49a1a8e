// What the bench puts on the host, and how it reads attachments back.
//
// Every object carries this run's id: containers and the Docker network the
// label `io.hostnet.bench=<run>`; the interfaces hostnet makes the owner mark
// `hostnet/hostnet-bench/b<run>-.../...` (the stack names hold the run id);
// the seed script's interfaces are named `hbs<run>..`/`hbp<run>..` and its
// netns links `/var/run/netns/hnb-<run>-..`. Cleanup removes only those, and
// before a run, those of bench runs whose process is gone (killed with -9).
// Read-backs use the system's tools (nsenter + ip), never the code measured.

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { run, runOk } from "./proc";

export const BENCH_LABEL = "io.hostnet.bench";
export const PROJECT = "hostnet-bench";
export const IMAGE = process.env.HOSTNET_BASE_IMAGE ?? "hostnet/busybox:1";

/** This bench run's id: part of every mark it puts on the host. */
export const RUN = randomBytes(3).toString("hex");

/** Owner-mark prefix of the interfaces hostnet makes in a run's stacks. */
export const ownerPrefix = (run: string) => `hostnet/${PROJECT}/b${run}-`;
/** Host-side interface name prefixes of the seed script (peer before its move, host end). */
export const seedHostPrefix = (run: string) => `hbs${run}`;
export const seedPeerPrefix = (run: string) => `hbp${run}`;
export const netnsPrefix = (run: string) => `hnb-${run}-`;

const RUNS_DIR = "/run/hostnet-bench-runs";

/** Registers this run as live (its pid), so that a concurrent run's stale sweep spares it. */
export function registerRun(): void {
    mkdirSync(RUNS_DIR, { recursive: true });
    writeFileSync(`${RUNS_DIR}/${RUN}`, String(process.pid));
    process.on("exit", () => rmSync(`${RUNS_DIR}/${RUN}`, { force: true }));
}

function runIsAlive(run: string): boolean {
    if (run === RUN) return true;
    try {
        process.kill(Number(readFileSync(`${RUNS_DIR}/${run}`, "utf8")), 0);
        return true;
    } catch {
        return false;
    }
}

export interface Container {
    name: string;
    id: string;
    pid: number;
}

async function inspectPid(name: string): Promise<Container> {
    const r = await runOk(`inspect container ${name}`, ["docker", "inspect", "-f", "{{.Id}} {{.State.Pid}}", name]);
    const [id, pid] = r.stdout.trim().split(" ");
    return { name, id, pid: Number(pid) };
}

/** Starts `count` running `--net=none` busybox containers named `<prefix><i>`, four at a time. */
export async function startContainers(prefix: string, count: number, progress: (done: number) => void): Promise<Container[]> {
    const out: Container[] = new Array(count);
    let next = 0;
    let done = 0;
    const worker = async () => {
        while (next < count) {
            const i = next++;
            const name = `${prefix}${i}`;
            await runOk(`start container ${name}`, [
                "docker",
                "run",
                "-d",
                "--name",
                name,
                "--net",
                "none",
                "--label",
                `${BENCH_LABEL}=${RUN}`,
                IMAGE,
                "sleep",
                "2147483647",
            ]);
            out[i] = await inspectPid(name);
            progress(++done);
        }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    return out;
}

/** A Docker network of driver bridge, marked, in a free 10.23x.y.0/22 (room for MAX_N containers). */
export async function createNetwork(name: string): Promise<{ name: string; subnet: string }> {
    const base = randomBytes(1)[0];
    for (let k = 0; k < 20; k++) {
        const subnet = `10.${231 + (k % 5)}.${(4 * (base + k * 37)) % 256}.0/22`;
        const r = await run([
            "docker",
            "network",
            "create",
            "--driver",
            "bridge",
            "--subnet",
            subnet,
            "--label",
            `${BENCH_LABEL}=${RUN}`,
            name,
        ]);
        if (r.exitCode === 0) return { name, subnet };
        if (!/overlap/i.test(r.stderr)) throw new Error(`failed to create Docker network ${name}: ${r.stderr.trim()}`);
    }
    throw new Error(`failed to create Docker network ${name}: every subnet tried overlaps another network; remove unused networks`);
}

/** The most attachments a run makes (`--n`): the address plans below hold this many. */
export const MAX_N = 500;

const toInt = (a: string) => a.split(".").reduce((n, o) => n * 256 + Number(o), 0);
const toDotted = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");

/** The address `i` places after `first` (dotted IPv4). */
export function nthAddress(first: string, i: number): string {
    return toDotted(toInt(first) + i);
}

/**
 * Where the attachments of seed, CNI and hostnet go: a bridge, its subnet and
 * gateway, and container i's address `first + i`, with `prefixLength` (room
 * for MAX_N of them).
 */
export interface AddressPlan {
    bridge: string;
    gateway: string;
    subnet: string;
    prefixLength: number;
    /** Container 0's address, e.g. "172.17.162.10". */
    first: string;
    /** The last address a run may use (for CNI's host-local range). */
    last: string;
    cidr(i: number): string;
}

/** The bench's bridge mark (interface alias). */
export const bridgeAlias = (id: string) => `hostnet-bench/${id}`;

/**
 * The address plan on docker0 (from 172.17.64-110.10, two /24s' worth, in the
 * half that the project's dockerd leaves free, `--fixed-cidr`
 * 172.17.128.0/17, as the README asks of attachments; clear of the tests'
 * 172.17.200+),
 * or, with `own`, on a Linux bridge of the run's own (marked, a /22 in
 * 10.236-239.0.0/16), which no one else's work can change or remove during
 * the run.
 */
export async function addressPlan(which: "docker0" | "own"): Promise<AddressPlan> {
    const byte = parseInt(RUN.slice(0, 4), 16);
    const plan = (bridge: string, gateway: string, subnet: string, prefixLength: number, first: string): AddressPlan => ({
        bridge,
        gateway,
        subnet,
        prefixLength,
        first,
        last: nthAddress(first, MAX_N - 1),
        cidr: (i) => `${nthAddress(first, i)}/${prefixLength}`,
    });
    if (which === "docker0") {
        const docker0 = JSON.parse((await runOk("read docker0", ["ip", "-j", "-4", "addr", "show", "dev", "docker0"])).stdout);
        if (docker0[0]?.addr_info?.[0]?.local !== "172.17.0.1") {
            throw new Error("failed to plan addresses on docker0: it is missing or not 172.17.0.1/16 here; run with `--bridge own`");
        }
        return plan("docker0", "172.17.0.1", "172.17.0.0/16", 16, `172.17.${64 + 2 * (byte % 24)}.10`);
    }
    const bridge = `hnb${RUN}`;
    const taken = (await runOk("list addresses", ["ip", "-j", "-4", "addr", "show"])).stdout;
    for (let k = 0; k < 20; k++) {
        const net = `10.${236 + ((byte + k) % 4)}.${(4 * (byte + 37 * k)) % 256}`;
        const octets = net.split(".");
        if ([0, 1, 2, 3].some((d) => taken.includes(`"${octets[0]}.${octets[1]}.${Number(octets[2]) + d}.`))) continue;
        await runOk(`create bridge ${bridge}`, ["ip", "link", "add", "name", bridge, "type", "bridge"]);
        await runOk(`configure bridge ${bridge}`, ["ip", "link", "set", "dev", bridge, "alias", bridgeAlias(RUN), "up"]);
        await runOk(`address bridge ${bridge}`, ["ip", "addr", "add", `${net}.1/22`, "dev", bridge]);
        return plan(bridge, `${net}.1`, `${net}.0/22`, 22, `${net}.10`);
    }
    throw new Error("failed to create the bench's bridge: every subnet tried is in use");
}

/** Removes this run's (or a dead run's) containers, networks, interfaces and netns links; nothing unmarked. */
export async function sweep(id: string): Promise<void> {
    const ids = (await runOk("list containers", ["docker", "ps", "-aq", "--filter", `label=${BENCH_LABEL}=${id}`])).stdout
        .split(/\s+/)
        .filter(Boolean);
    // Their namespaces go with them, and with those every veth end inside.
    for (let i = 0; i < ids.length; i += 50) await run(["docker", "rm", "-f", ...ids.slice(i, i + 50)]);
    const nets = (await runOk("list networks", ["docker", "network", "ls", "-q", "--filter", `label=${BENCH_LABEL}=${id}`])).stdout
        .split(/\s+/)
        .filter(Boolean);
    for (const n of nets) await run(["docker", "network", "rm", n]);
    for (const l of await hostLinks()) {
        const ours =
            l.ifalias?.startsWith(ownerPrefix(id)) ||
            l.ifalias === bridgeAlias(id) ||
            l.ifname.startsWith(seedHostPrefix(id)) ||
            l.ifname.startsWith(seedPeerPrefix(id));
        if (ours) await run(["ip", "link", "del", "dev", l.ifname]);
    }
    if (existsSync("/var/run/netns")) {
        for (const f of readdirSync("/var/run/netns")) if (f.startsWith(netnsPrefix(id))) rmSync(`/var/run/netns/${f}`, { force: true });
    }
}

/** The host namespace's links, with their aliases. */
export async function hostLinks(): Promise<{ ifname: string; ifalias?: string }[]> {
    return JSON.parse((await runOk("list links", ["ip", "-j", "-d", "link", "show"])).stdout);
}

/** Sweeps what bench runs killed before their own cleanup left behind. */
export async function sweepStale(log: (line: string) => void): Promise<void> {
    const labels = (
        await runOk("list containers", [
            "docker",
            "ps",
            "-a",
            "--filter",
            `label=${BENCH_LABEL}`,
            "--format",
            `{{.Label "${BENCH_LABEL}"}}`,
        ])
    ).stdout;
    const runs = new Set(labels.split(/\s+/).filter((r) => /^[0-9a-f]{6}$/.test(r)));
    if (existsSync(RUNS_DIR)) for (const r of readdirSync(RUNS_DIR)) runs.add(r);
    for (const r of runs) {
        if (runIsAlive(r)) continue;
        log(`removing what bench run ${r} (no longer running) left behind`);
        await sweep(r);
        rmSync(`${RUNS_DIR}/${r}`, { force: true });
    }
}

interface IpAddr {
    ifname: string;
    addr_info?: { family: string; local: string; prefixlen: number }[];
}

/**
 * A container's interface besides `lo` (eth0; Docker may number a reconnected
 * one eth1): its IPv4 CIDRs and default gateway; undefined when it has none.
 */
export async function readEth0(c: Container): Promise<{ ifname: string; cidrs: string[]; gateway?: string } | undefined> {
    const ns = ["nsenter", "--target", String(c.pid), "--net", "--"];
    const links = JSON.parse((await runOk(`read links of ${c.name}`, [...ns, "ip", "-j", "addr", "show"])).stdout) as IpAddr[];
    const eth = links.filter((l) => l.ifname !== "lo");
    if (eth.length === 0) return undefined;
    if (eth.length > 1)
        throw new Error(`${c.name} has ${eth.length} interfaces besides lo (${eth.map((l) => l.ifname).join(", ")}); expected one`);
    const cidrs = (eth[0].addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`);
    const routes = (await runOk(`read routes of ${c.name}`, [...ns, "ip", "-j", "-4", "route", "show", "default"])).stdout.trim();
    const route = (routes ? (JSON.parse(routes) as { dev: string; gateway?: string }[]) : []).find((r) => r.dev === eth[0].ifname);
    return { ifname: eth[0].ifname, cidrs, gateway: route?.gateway };
}

/**
 * Checks that each container has eth0 with its expected address (a CIDR, or a
 * predicate) and, when `gateway` is set, a default route through it. Throws
 * naming the first few that do not.
 */
export async function checkAttached(
    what: string,
    containers: readonly Container[],
    expected: (i: number) => string | ((cidr: string) => boolean),
    gateway?: string,
): Promise<void> {
    const bad: string[] = [];
    for (const [i, c] of containers.entries()) {
        const eth0 = await readEth0(c);
        const want = expected(i);
        const ok = typeof want === "string" ? eth0?.cidrs.includes(want) : eth0?.cidrs.some(want);
        if (!eth0) bad.push(`${c.name}: no interface besides lo`);
        else if (!ok)
            bad.push(
                `${c.name}: eth0 has ${eth0.cidrs.join(",") || "no IPv4"}, expected ${typeof want === "string" ? want : "an address in range"}`,
            );
        else if (gateway && eth0.gateway !== gateway)
            bad.push(`${c.name}: default route via ${eth0.gateway ?? "(none)"}, expected ${gateway}`);
    }
    if (bad.length > 0)
        throw new Error(`${what}: ${bad.length} of ${containers.length} attachments are wrong: ${bad.slice(0, 5).join("; ")}`);
}

/** Checks that no container has an interface besides lo any more. */
export async function checkDetached(what: string, containers: readonly Container[]): Promise<void> {
    const bad: string[] = [];
    for (const c of containers) if (await readEth0(c)) bad.push(c.name);
    if (bad.length > 0)
        throw new Error(`${what}: ${bad.length} containers still have an interface besides lo: ${bad.slice(0, 5).join(", ")}`);
}
