// A test bed of several simulated Docker hosts on this one machine, for the
// multi-host parts of hostnet (SSH host connections, VXLAN between hosts).
//
// Layout (N = --hosts, default 3; hosts are named b, c, d, ...):
//
//   this machine = host A, the controller       switch namespace hntb-<id>-sw
//   (Pulumi runs here; its own dockerd)         +---------------- br0 ----------------+
//   hntb-<id>-a  10.250.n.1/24 ------------ port-a  port-b      port-c       ...   |
//                                                     |           |                  |
//                              netns hntb-<id>-b: eth0 10.250.n.2  netns hntb-<id>-c: eth0 10.250.n.3
//                              sshd on 10.250.n.2:22               sshd on 10.250.n.3:22
//                              containerd + dockerd (docker0)      containerd + dockerd (docker0)
//
// The underlay bridge lives in a namespace of its own, not in the machine's:
// Docker on this machine sets the FORWARD policy to DROP and
// net.bridge.bridge-nf-call-iptables=1, so frames bridged between two hosts in
// the machine's namespace are dropped (seen here), and the only fix there would
// be a rule in the machine's shared firewall.
//
// Every object carries the test bed's id: names start with `hntb-<id>-`,
// interfaces (and the loopback of every namespace) carry the alias
// `hostnet-testbed/<id>`, files and daemons live under /run/hostnet-testbed/<id>/.
// `down` removes only what carries both the name and the mark, and finds
// daemons of a killed test bed by their pid files, their command lines (which
// name the run folder) and their network namespace.
//
// Host commands are argument arrays, never a shell.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { execa } from "execa";
import {
    accessSync,
    chmodSync,
    constants,
    closeSync,
    existsSync,
    mkdirSync,
    openSync,
    readdirSync,
    readFileSync,
    rmdirSync,
    rmSync,
    statSync,
    writeFileSync,
} from "node:fs";
import { request } from "node:http";
import { join } from "node:path";

export const RUN_ROOT = "/run/hostnet-testbed";
const NETNS_DIR = "/run/netns";
const CLAIMS_DIR = join(RUN_ROOT, ".claims");
/** containerd's v2 shims put their sockets here, whatever containerd started them. */
const SHIM_SOCKET_DIR = "/run/containerd/s";
const SSHD = "/usr/sbin/sshd";
/** Underlay subnets are 10.250.<n>.0/24, one per test bed; beside each, the unique local IPv6 fd00:250:<n>::/64. */
const UNDERLAY_PREFIX = "10.250";
const UNDERLAY_PREFIX6 = "fd00:250";
export const DEFAULT_ID = "tb";
export const DEFAULT_HOSTS = 3;
export const DEFAULT_IMAGE = "hostnet/busybox:1";
const MAX_HOSTS = 20;

export interface HostInfo {
    /** b, c, d, ... */
    name: string;
    /** The host's network namespace (`ip netns` name) and its bind mount. */
    netns: string;
    netnsPath: string;
    /** The host's underlay interface, inside its namespace, and its address. */
    interface: string;
    address: string;
    cidr: string;
    /** The host's IPv6 underlay address on the same interface (`fd00:250:<n>::<i>`), for tunnels over IPv6. */
    address6: string;
    cidr6: string;
    /** The host's own Docker engine, and its bridge (inside the namespace). */
    dockerHost: string;
    dockerBridge: { name: string; cidr: string };
    ssh: {
        user: string;
        address: string;
        port: number;
        /** `ssh` argv with the test bed's key and known_hosts; append the remote command. */
        argv: string[];
        /** The same through the test bed's ssh_config: `ssh -F <config> <name>`. */
        configArgv: string[];
    };
    /** `nsenter --net=<netnsPath>`: prefix a command to run it in the host's namespace. */
    nsenter: string[];
    dir: string;
    pidFiles: { sshd: string; containerd: string; dockerd: string };
}

export interface TestbedInfo {
    id: string;
    /** Alias on every interface and namespace loopback of this test bed. */
    mark: string;
    /** Prefix of every namespace and host-side interface name. */
    prefix: string;
    runDir: string;
    subnet: string;
    image: string;
    /** Host A: this machine, where Pulumi runs; reaches every host over the underlay. */
    controller: {
        name: string;
        role: "controller";
        interface: string;
        address: string;
        cidr: string;
        address6: string;
        cidr6: string;
        dockerHost: string;
    };
    underlay: { netns: string; bridge: string };
    ssh: { clientKey: string; knownHosts: string; config: string };
    hosts: HostInfo[];
    createdAt: string;
    upSeconds: number;
}

export type Log = (line: string) => void;

// ---------------------------------------------------------------- commands

interface RunResult {
    stdout: string;
    stderr: string;
    exitCode: number;
}

class TestbedError extends Error {}

// Ctrl-C during up: the next command or wait of up throws, and up removes what it made.
let upInProgress = false;
let interrupted = false;
export function interruptUp(): void {
    interrupted = true;
}
function checkInterrupted(what: string): void {
    if (upInProgress && interrupted) throw new TestbedError(`failed to ${what}: interrupted; nothing of the test bed is kept`);
}

/** Runs argv; on failure throws "failed to <what>: <why>; <hint>". */
async function run(
    argv: string[],
    what: string,
    opts: { hint?: string; input?: string; reject?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
    checkInterrupted(what);
    const r = await execa(argv[0], argv.slice(1), {
        reject: false,
        input: opts.input,
        timeout: opts.timeoutMs ?? 120000,
        env: opts.env,
        stripFinalNewline: true,
    });
    const result = { stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? ""), exitCode: r.exitCode ?? -1 };
    if (result.exitCode !== 0 && opts.reject !== false) {
        const why = (result.stderr.trim() || result.stdout.trim() || r.shortMessage || `exit code ${result.exitCode}`)
            .split("\n")
            .slice(-3)
            .join(" / ");
        throw new TestbedError(`failed to ${what}: ${why}; ${opts.hint ?? `the command was: ${argv.join(" ")}`}`);
    }
    return result;
}

async function ipJson<T>(argv: string[], what: string): Promise<T[]> {
    const { stdout } = await run(["ip", "-j", ...argv], what);
    return stdout.trim() ? JSON.parse(stdout) : [];
}

interface IpLink {
    ifname: string;
    ifalias?: string;
}

// ---------------------------------------------------------------- names

export function validateId(id: string): void {
    if (!/^[a-z0-9]{1,8}$/.test(id)) {
        throw new TestbedError(
            `failed to use test bed id "${id}": an id is 1 to 8 characters of a-z and 0-9 (it goes into interface names of at most 15 characters); pick another with --id`,
        );
    }
}

export function names(id: string) {
    const prefix = `hntb-${id}-`;
    return {
        prefix,
        mark: `hostnet-testbed/${id}`,
        runDir: join(RUN_ROOT, id),
        switchNetns: `${prefix}sw`,
        controllerLink: `${prefix}a`,
        hostNetns: (h: string) => `${prefix}${h}`,
    };
}

function hostName(i: number): string {
    return String.fromCharCode("b".charCodeAt(0) + i);
}

// ---------------------------------------------------------------- processes

interface Proc {
    pid: number;
    cmdline: string;
    zombie: boolean;
    netIno?: number;
}

function readProc(pid: number): Proc | undefined {
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
        let netIno: number | undefined;
        try {
            netIno = statSync(`/proc/${pid}/ns/net`).ino;
        } catch {
            /* gone or a kernel thread */
        }
        return { pid, cmdline, zombie: state === "Z" || state === "X", netIno };
    } catch {
        return undefined;
    }
}

function allProcs(): Proc[] {
    const out: Proc[] = [];
    for (const e of readdirSync("/proc")) {
        if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
        const p = readProc(Number(e));
        if (p) out.push(p);
    }
    return out;
}

function alive(pid: number): boolean {
    const p = readProc(pid);
    return p !== undefined && !p.zombie;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitGone(pid: number, ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    while (alive(pid)) {
        if (Date.now() > until) return false;
        await sleep(50);
    }
    return true;
}

/** Stops a process with SIGTERM, then SIGKILL after `graceMs`. */
async function stopPid(pid: number, graceMs: number): Promise<void> {
    try {
        process.kill(pid, "SIGTERM");
    } catch {
        return;
    }
    if (await waitGone(pid, graceMs)) return;
    try {
        process.kill(pid, "SIGKILL");
    } catch {
        return;
    }
    await waitGone(pid, 5000);
}

/** The pid in `file` when that process runs and its command line names `mustContain` (so a reused pid is never killed). */
function pidFromFile(file: string, mustContain: string): number | undefined {
    let pid: number;
    try {
        pid = Number(readFileSync(file, "utf8").trim());
    } catch {
        return undefined;
    }
    if (!Number.isInteger(pid) || pid <= 1) return undefined;
    const p = readProc(pid);
    return p && !p.zombie && p.cmdline.includes(mustContain) ? pid : undefined;
}

/** Starts a daemon in a network namespace, detached from this process, its output to `log`. */
function startDetached(netnsPath: string, argv: string[], log: string): number {
    checkInterrupted(`start ${argv[0]}`);
    const fd = openSync(log, "a");
    try {
        const child = spawn("nsenter", [`--net=${netnsPath}`, "--", ...argv], {
            detached: true,
            stdio: ["ignore", fd, fd],
            env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
        });
        child.unref();
        if (child.pid === undefined) throw new TestbedError(`failed to start ${argv[0]}: no process was created; see ${log}`);
        return child.pid;
    } finally {
        closeSync(fd);
    }
}

// ---------------------------------------------------------------- small helpers

function dockerPing(sock: string, timeoutMs = 1000): Promise<boolean> {
    return new Promise((resolve) => {
        const req = request({ socketPath: sock, path: "/_ping", method: "GET", timeout: timeoutMs }, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
        });
        req.on("error", () => resolve(false));
        req.on("timeout", () => {
            req.destroy();
            resolve(false);
        });
        req.end();
    });
}

async function waitFor(probe: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    for (;;) {
        checkInterrupted("wait for the test bed");
        if (await probe()) return true;
        if (Date.now() > until) return false;
        await sleep(100);
    }
}

function tail(file: string, lines = 5): string {
    try {
        return readFileSync(file, "utf8").trim().split("\n").slice(-lines).join(" / ");
    } catch {
        return "(no log)";
    }
}

function ipv4ToInt(a: string): number {
    return a.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

function overlaps(a: string, b: string): boolean {
    const [pa, la] = a.includes("/") ? a.split("/") : [a, "32"];
    const [pb, lb] = b.includes("/") ? b.split("/") : [b, "32"];
    const len = Math.min(Number(la), Number(lb));
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    return (ipv4ToInt(pa) & mask) >>> 0 === (ipv4ToInt(pb) & mask) >>> 0;
}

function seconds(since: number): string {
    return ((Date.now() - since) / 1000).toFixed(1);
}

// ---------------------------------------------------------------- subnet

/** Claims a free 10.250.<n>.0/24: not routed or addressed on this machine, not a Docker network, not another test bed's. */
async function claimSubnet(id: string): Promise<string> {
    mkdirSync(CLAIMS_DIR, { recursive: true });
    const used: string[] = [];
    for (const r of await ipJson<{ dst: string }>(["-4", "route", "show", "table", "all"], "list the machine's IPv4 routes")) {
        if (r.dst && r.dst !== "default") used.push(r.dst);
    }
    for (const l of await ipJson<{ addr_info?: { family: string; local: string; prefixlen: number }[] }>(
        ["-4", "addr", "show"],
        "list the machine's IPv4 addresses",
    )) {
        for (const a of l.addr_info ?? []) if (a.family === "inet") used.push(`${a.local}/${a.prefixlen}`);
    }
    const nets = await run(["docker", "network", "ls", "-q"], "list the machine's Docker networks", { reject: false });
    const ids = nets.stdout.split("\n").filter(Boolean);
    if (ids.length > 0) {
        const r = await run(["docker", "network", "inspect", ...ids], "inspect the machine's Docker networks", { reject: false });
        if (r.exitCode === 0) {
            for (const n of JSON.parse(r.stdout))
                for (const c of n.IPAM?.Config ?? []) if (c.Subnet && !c.Subnet.includes(":")) used.push(c.Subnet);
        }
    }
    const start = [...id].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) % 256, 7);
    for (let k = 0; k < 256; k++) {
        const n = (start + k) % 256;
        const subnet = `${UNDERLAY_PREFIX}.${n}.0/24`;
        if (used.some((u) => overlaps(u, subnet))) continue;
        try {
            writeFileSync(join(CLAIMS_DIR, `${UNDERLAY_PREFIX}.${n}`), id, { flag: "wx" });
        } catch {
            continue; // another test bed's
        }
        return subnet;
    }
    throw new TestbedError(
        `failed to find a free underlay subnet: every ${UNDERLAY_PREFIX}.<n>.0/24 is in use on this machine; remove old test beds with \`scripts/testbed.sh status\` and \`down\``,
    );
}

function releaseClaims(id: string): void {
    if (!existsSync(CLAIMS_DIR)) return;
    for (const f of readdirSync(CLAIMS_DIR)) {
        const p = join(CLAIMS_DIR, f);
        try {
            if (readFileSync(p, "utf8").trim() === id) rmSync(p, { force: true });
        } catch {
            /* gone */
        }
    }
}

// ---------------------------------------------------------------- up

async function ensureTools(log: Log): Promise<void> {
    if (process.getuid?.() !== 0)
        throw new TestbedError("failed to start the test bed: it needs root (network namespaces, daemons); re-run with sudo");
    if (!existsSync(SSHD)) {
        log("installing Debian's openssh-server (sshd for the simulated hosts)");
        const t = Date.now();
        const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
        const before = existsSync("/run/sshd.pid");
        await run(["apt-get", "update", "-qq"], "update the apt package lists", {
            env,
            timeoutMs: 600000,
            hint: "is Debian's archive reachable?",
        });
        await run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "openssh-server"], "install openssh-server", {
            env,
            timeoutMs: 600000,
            hint: "is Debian's archive reachable?",
        });
        log(`  installed in ${seconds(t)}s`);
        if (!before && existsSync("/run/sshd.pid")) {
            log(
                "  note: the package started the machine's own ssh service (no policy-rc.d forbids it here); the test bed does not use it. Stop it with `service ssh stop` if you do not want it.",
            );
        }
    }
    for (const tool of [
        "ip",
        "nsenter",
        "umount",
        "dockerd",
        "containerd",
        "containerd-shim-runc-v2",
        "runc",
        "docker",
        "ssh",
        "ssh-keygen",
    ]) {
        if (!onPath(tool))
            throw new TestbedError(
                `failed to find ${tool} on PATH; run \`npm run setup\` (it installs docker.io, containerd, runc, iproute2, util-linux, openssh-client)`,
            );
    }
}

function onPath(tool: string): boolean {
    return (process.env.PATH ?? "").split(":").some((d) => {
        try {
            accessSync(join(d, tool), constants.X_OK);
            return true;
        } catch {
            return false;
        }
    });
}

function sshArgv(info: { clientKey: string; knownHosts: string }, address: string): string[] {
    return [
        "ssh",
        "-i",
        info.clientKey,
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        `UserKnownHostsFile=${info.knownHosts}`,
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=5",
        `root@${address}`,
    ];
}

function sshdConfig(id: string, h: { dir: string; address: string; dockerSock: string }, authorizedKeys: string): string {
    return [
        `# hostnet test bed ${id}: sshd of one simulated host, made and removed by scripts/testbed.sh`,
        `ListenAddress ${h.address}:22`,
        `HostKey ${h.dir}/ssh_host_ed25519_key`,
        `PidFile ${h.dir}/sshd.pid`,
        `AuthorizedKeysFile ${authorizedKeys}`,
        "PermitRootLogin prohibit-password",
        "AllowUsers root",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "X11Forwarding no",
        "PrintMotd no",
        "PrintLastLog no",
        "MaxStartups 100",
        "MaxSessions 64",
        // A session on this host talks to this host's dockerd, not the machine's.
        `SetEnv DOCKER_HOST=unix://${h.dockerSock}`,
        "Subsystem sftp /usr/lib/openssh/sftp-server",
        "",
    ].join("\n");
}

function containerdConfig(dir: string): string {
    return [
        "version = 2",
        `root = "${dir}/containerd/root"`,
        `state = "${dir}/containerd/state"`,
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        "[grpc]",
        `  address = "${dir}/containerd/containerd.sock"`,
        "[debug]",
        '  address = ""',
        "",
    ].join("\n");
}

/** Appends to the run folder's record of what up made, before it makes it (so down finds a half-made test bed). */
function record(runDir: string, kind: string, name: string): void {
    writeFileSync(join(runDir, "created"), `${kind} ${name}\n`, { flag: "a" });
}

export interface UpOptions {
    id?: string;
    hosts?: number;
    image?: string;
    log?: Log;
}

export async function up(opts: UpOptions = {}): Promise<TestbedInfo> {
    const id = opts.id ?? DEFAULT_ID;
    const count = opts.hosts ?? DEFAULT_HOSTS;
    const image = opts.image ?? DEFAULT_IMAGE;
    const log = opts.log ?? (() => {});
    validateId(id);
    if (!Number.isInteger(count) || count < 1 || count > MAX_HOSTS) {
        throw new TestbedError(
            `failed to use --hosts ${count}: give 1 to ${MAX_HOSTS} simulated hosts (host A, this machine, comes on top)`,
        );
    }
    const n = names(id);
    const started = Date.now();
    await ensureTools(log);
    if (existsSync(n.runDir) || readdirSafe(NETNS_DIR).some((e) => e.startsWith(n.prefix))) {
        throw new TestbedError(
            `failed to start test bed ${id}: it exists already (or leftovers of it do); run \`scripts/testbed.sh down --id ${id}\` first, or pick another --id`,
        );
    }
    await run(["docker", "image", "inspect", "--format", "{{.Id}}", image], `find the image ${image} on the machine's Docker engine`, {
        hint: "run `npm run setup` (scripts/make-image.sh builds hostnet/busybox:1), or pass --image",
    });

    mkdirSync(RUN_ROOT, { recursive: true, mode: 0o755 });
    mkdirSync(n.runDir, { mode: 0o700 });
    chmodSync(n.runDir, 0o755); // sshd's StrictModes: no group/world write on the path to authorized_keys
    writeFileSync(join(n.runDir, "mark"), `${n.mark}\n`);
    upInProgress = true;
    try {
        return await upInside(id, count, image, n, log, started);
    } catch (err) {
        upInProgress = false;
        log(`up failed, removing what it made: ${(err as Error).message}`);
        await down(id, { log: () => {} }).catch((e) => log(`  down after the failure also failed: ${(e as Error).message}`));
        throw err;
    } finally {
        upInProgress = false;
    }
}

function readdirSafe(dir: string): string[] {
    try {
        return readdirSync(dir);
    } catch {
        return [];
    }
}

async function upInside(
    id: string,
    count: number,
    image: string,
    n: ReturnType<typeof names>,
    log: Log,
    started: number,
): Promise<TestbedInfo> {
    let t = Date.now();
    const subnet = await claimSubnet(id);
    writeFileSync(join(n.runDir, "subnet"), `${subnet}\n`);
    const net = subnet.replace(/\.0\/24$/, "");
    const net6 = `${UNDERLAY_PREFIX6}:${Number(net.split(".")[2]).toString(16)}:`;
    log(`underlay ${subnet} (free here: no route, address, Docker network or other test bed in it)`);

    // /run/sshd: sshd's privilege separation directory, normally made by the ssh service.
    if (!existsSync("/run/sshd")) {
        mkdirSync("/run/sshd", { mode: 0o755 });
        writeFileSync(join(RUN_ROOT, ".made-run-sshd"), "");
    }

    // The underlay: a bridge in a switch namespace, and host A's (this machine's) link onto it.
    record(n.runDir, "netns", n.switchNetns);
    await run(["ip", "netns", "add", n.switchNetns], `create the switch namespace ${n.switchNetns}`);
    await run(["ip", "-n", n.switchNetns, "link", "set", "dev", "lo", "alias", n.mark, "up"], `mark the switch namespace ${n.switchNetns}`);
    await run(["ip", "-n", n.switchNetns, "link", "add", "br0", "type", "bridge"], `create the underlay bridge in ${n.switchNetns}`);
    await run(["ip", "-n", n.switchNetns, "link", "set", "dev", "br0", "alias", n.mark, "up"], "bring the underlay bridge up");
    record(n.runDir, "link", n.controllerLink);
    await run(
        ["ip", "link", "add", "name", n.controllerLink, "type", "veth", "peer", "name", "port-a", "netns", n.switchNetns],
        `create host A's underlay link ${n.controllerLink}`,
        { hint: "is the name taken? see `ip link show`" },
    );
    await run(["ip", "link", "set", "dev", n.controllerLink, "alias", n.mark], `mark ${n.controllerLink}`);
    await run(
        ["ip", "-n", n.switchNetns, "link", "set", "dev", "port-a", "alias", n.mark, "master", "br0", "up"],
        "attach host A to the underlay bridge",
    );
    await run(["ip", "addr", "add", `${net}.1/24`, "dev", n.controllerLink], `address ${n.controllerLink}`);
    // nodad: the test bed's own underlay addresses are usable at once (nothing else is on its segment).
    await run(["ip", "addr", "add", `${net6}:1/64`, "dev", n.controllerLink, "nodad"], `IPv6 address ${n.controllerLink}`);
    await run(["ip", "link", "set", "dev", n.controllerLink, "up"], `bring ${n.controllerLink} up`);

    // Keys: one client key for the run, one host key per host.
    const sshInfo = {
        clientKey: join(n.runDir, "client_key"),
        knownHosts: join(n.runDir, "known_hosts"),
        config: join(n.runDir, "ssh_config"),
    };
    const authorizedKeys = join(n.runDir, "authorized_keys");
    await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", n.mark, "-f", sshInfo.clientKey], "make the test bed's client key");
    writeFileSync(authorizedKeys, readFileSync(`${sshInfo.clientKey}.pub`, "utf8"), { mode: 0o600 });

    const hosts: HostInfo[] = [];
    for (let i = 0; i < count; i++) {
        const name = hostName(i);
        const dir = join(n.runDir, name);
        const address = `${net}.${i + 2}`;
        const netns = n.hostNetns(name);
        const dockerSock = join(dir, "docker.sock");
        hosts.push({
            name,
            netns,
            netnsPath: join(NETNS_DIR, netns),
            interface: "eth0",
            address,
            cidr: `${address}/24`,
            address6: `${net6}:${(i + 2).toString(16)}`,
            cidr6: `${net6}:${(i + 2).toString(16)}/64`,
            dockerHost: `unix://${dockerSock}`,
            dockerBridge: { name: "docker0", cidr: `172.31.${i + 2}.1/24` },
            ssh: { user: "root", address, port: 22, argv: sshArgv(sshInfo, address), configArgv: ["ssh", "-F", sshInfo.config, name] },
            nsenter: ["nsenter", `--net=${join(NETNS_DIR, netns)}`],
            dir,
            pidFiles: { sshd: join(dir, "sshd.pid"), containerd: join(dir, "containerd.pid"), dockerd: join(dir, "dockerd.pid") },
        });
    }
    log(`underlay and keys in ${seconds(t)}s`);

    // Each host: namespace, link, sshd, containerd, dockerd (hosts in parallel).
    t = Date.now();
    await Promise.all(
        hosts.map(async (h) => {
            mkdirSync(h.dir, { mode: 0o755 });
            record(n.runDir, "netns", h.netns);
            await run(["ip", "netns", "add", h.netns], `create the namespace of host ${h.name}`);
            await run(["ip", "-n", h.netns, "link", "set", "dev", "lo", "alias", n.mark, "up"], `mark the namespace of host ${h.name}`);
            await run(
                [
                    "ip",
                    "link",
                    "add",
                    "name",
                    `port-${h.name}`,
                    "netns",
                    n.switchNetns,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    "eth0",
                    "netns",
                    h.netns,
                ],
                `create host ${h.name}'s underlay link`,
            );
            await run(
                ["ip", "-n", n.switchNetns, "link", "set", "dev", `port-${h.name}`, "alias", n.mark, "master", "br0", "up"],
                `attach host ${h.name} to the underlay bridge`,
            );
            await run(["ip", "-n", h.netns, "link", "set", "dev", "eth0", "alias", n.mark], `mark host ${h.name}'s eth0`);
            await run(["ip", "-n", h.netns, "addr", "add", h.cidr, "dev", "eth0"], `address host ${h.name}'s eth0`);
            await run(["ip", "-n", h.netns, "addr", "add", h.cidr6, "dev", "eth0", "nodad"], `IPv6 address host ${h.name}'s eth0`);
            await run(["ip", "-n", h.netns, "link", "set", "dev", "eth0", "up"], `bring host ${h.name}'s eth0 up`);

            // sshd, bound to the host's underlay address only.
            await run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `${n.mark}/${h.name}`, "-f", join(h.dir, "ssh_host_ed25519_key")],
                `make host ${h.name}'s host key`,
            );
            const cfg = join(h.dir, "sshd_config");
            writeFileSync(cfg, sshdConfig(id, { dir: h.dir, address: h.address, dockerSock: join(h.dir, "docker.sock") }, authorizedKeys));
            await run([SSHD, "-t", "-f", cfg], `check host ${h.name}'s sshd_config`);
            await run([...h.nsenter, "--", SSHD, "-f", cfg, "-E", join(h.dir, "sshd.log")], `start host ${h.name}'s sshd`, {
                hint: `see ${join(h.dir, "sshd.log")}`,
            });

            // containerd of its own (a dockerd without --containerd would use a system containerd
            // at /run/containerd/containerd.sock when one runs, shared by every host).
            writeFileSync(join(h.dir, "containerd.toml"), containerdConfig(h.dir));
            const containerdSock = join(h.dir, "containerd", "containerd.sock");
            const cpid = startDetached(
                h.netnsPath,
                ["containerd", "--config", join(h.dir, "containerd.toml")],
                join(h.dir, "containerd.log"),
            );
            writeFileSync(h.pidFiles.containerd, `${cpid}\n`);
            if (!(await waitFor(() => existsSync(containerdSock) || !alive(cpid), 20000)) || !alive(cpid)) {
                throw new TestbedError(
                    `failed to start host ${h.name}'s containerd: ${tail(join(h.dir, "containerd.log"))}; see ${join(h.dir, "containerd.log")}`,
                );
            }

            // dockerd, in the namespace only (nsenter --net; `ip netns exec` would hide the cgroup mounts).
            writeFileSync(join(h.dir, "daemon.json"), "{}\n"); // not the machine's /etc/docker/daemon.json
            await startDockerd(h);
        }),
    );
    log(`${count} host(s): namespaces, links, sshd, containerd, dockerd in ${seconds(t)}s`);

    // known_hosts and ssh_config, from the host keys.
    const known: string[] = [];
    const cfg: string[] = [`# hostnet test bed ${id}: \`ssh -F ${sshInfo.config} <host>\``];
    for (const h of hosts) {
        const pub = readFileSync(join(h.dir, "ssh_host_ed25519_key.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
        known.push(`${h.address} ${pub}`);
        cfg.push(
            `Host ${h.name}`,
            `  HostName ${h.address}`,
            "  User root",
            `  IdentityFile ${sshInfo.clientKey}`,
            "  IdentitiesOnly yes",
            `  UserKnownHostsFile ${sshInfo.knownHosts}`,
            "  StrictHostKeyChecking yes",
            "  BatchMode yes",
            "  ConnectTimeout 5",
        );
    }
    writeFileSync(sshInfo.knownHosts, `${known.join("\n")}\n`);
    writeFileSync(sshInfo.config, `${cfg.join("\n")}\n`);

    // The project's image into every host's engine (no registry).
    t = Date.now();
    const tar = join(n.runDir, "image.tar");
    await run(["docker", "save", "-o", tar, image], `save ${image} from the machine's Docker engine`);
    await Promise.all(
        hosts.map((h) => run(["docker", "-H", h.dockerHost, "load", "-q", "-i", tar], `load ${image} into host ${h.name}'s engine`)),
    );
    rmSync(tar, { force: true });
    log(`image ${image} loaded into ${count} engine(s) in ${seconds(t)}s`);

    // Every host answers over SSH from host A, with the host key checked.
    t = Date.now();
    await Promise.all(
        hosts.map(async (h) => {
            let last: RunResult | undefined;
            const ok = await waitFor(async () => {
                last = await run([...h.ssh.argv, "true"], `reach host ${h.name} over ssh`, { reject: false, timeoutMs: 15000 });
                return last.exitCode === 0;
            }, 20000);
            if (!ok)
                throw new TestbedError(
                    `failed to reach host ${h.name} over ssh at ${h.address}: ${last?.stderr.trim()}; see ${join(h.dir, "sshd.log")}`,
                );
        }),
    );
    log(`ssh answers on every host in ${seconds(t)}s`);

    const info: TestbedInfo = {
        id,
        mark: n.mark,
        prefix: n.prefix,
        runDir: n.runDir,
        subnet,
        image,
        controller: {
            name: "a",
            role: "controller",
            interface: n.controllerLink,
            address: `${net}.1`,
            cidr: `${net}.1/24`,
            address6: `${net6}:1`,
            cidr6: `${net6}:1/64`,
            dockerHost: process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock",
        },
        underlay: { netns: n.switchNetns, bridge: "br0" },
        ssh: sshInfo,
        hosts,
        createdAt: new Date(started).toISOString(),
        upSeconds: Math.round((Date.now() - started) / 100) / 10,
    };
    writeFileSync(join(n.runDir, "testbed.json"), `${JSON.stringify(info, null, 2)}\n`);
    return info;
}

/** The argv of a host's dockerd: its own socket, roots, containerd, bridge; no iptables. */
function dockerdArgv(h: HostInfo): string[] {
    return [
        "dockerd",
        "--config-file",
        join(h.dir, "daemon.json"),
        "--containerd",
        join(h.dir, "containerd", "containerd.sock"),
        "--data-root",
        join(h.dir, "docker"),
        "--exec-root",
        join(h.dir, "exec"),
        "--pidfile",
        h.pidFiles.dockerd,
        "-H",
        h.dockerHost,
        "--bip",
        h.dockerBridge.cidr,
        "--iptables=false",
        "--ip-masq=false",
        "--userland-proxy=false",
        "--shutdown-timeout",
        "2",
    ];
}

/** Starts a host's dockerd in its namespace and waits until its engine answers. */
async function startDockerd(h: HostInfo): Promise<void> {
    const dpid = startDetached(h.netnsPath, dockerdArgv(h), join(h.dir, "dockerd.log"));
    const sock = join(h.dir, "docker.sock");
    if (!(await waitFor(async () => !alive(dpid) || (await dockerPing(sock)), 60000)) || !alive(dpid)) {
        throw new TestbedError(
            `failed to start host ${h.name}'s dockerd: ${tail(join(h.dir, "dockerd.log"))}; see ${join(h.dir, "dockerd.log")}`,
        );
    }
}

function hostOf(id: string, host: string): HostInfo {
    const h = readInfo(id).hosts.find((x) => x.name === host);
    if (!h)
        throw new TestbedError(
            `failed to find host ${host} in test bed ${id}; its hosts: ${readInfo(id)
                .hosts.map((x) => x.name)
                .join(", ")}`,
        );
    return h;
}

/**
 * Stops host `host`'s dockerd as its init would (SIGTERM, then SIGKILL after
 * 15 s): its containers stop with it, its swarm membership stays on disk.
 */
export async function stopDocker(id: string, host: string): Promise<void> {
    const h = hostOf(id, host);
    const pid = pidFromFile(h.pidFiles.dockerd, `${names(id).runDir}/`);
    if (pid === undefined) return;
    await stopPid(pid, 15000);
}

/** Starts host `host`'s dockerd again (as it was started by `up`); a running one is left as it is. */
export async function startDocker(id: string, host: string): Promise<void> {
    const h = hostOf(id, host);
    if (pidFromFile(h.pidFiles.dockerd, `${names(id).runDir}/`) !== undefined && (await dockerPing(join(h.dir, "docker.sock")))) return;
    await startDockerd(h);
}

// ---------------------------------------------------------------- down

export interface DownOptions {
    log?: Log;
}

/** Removes test bed `id` completely: idempotent, and works on a test bed killed at any point. */
export async function down(id: string, opts: DownOptions = {}): Promise<void> {
    validateId(id);
    const log = opts.log ?? (() => {});
    const n = names(id);
    const runTag = `${n.runDir}/`;
    const t = Date.now();

    // Our namespaces: the prefix and the mark on their loopback, or made by up (its record).
    const recorded = new Set<string>();
    try {
        for (const line of readFileSync(join(n.runDir, "created"), "utf8").split("\n")) {
            const [kind, name] = line.split(" ");
            if (kind === "netns" && name) recorded.add(name);
        }
    } catch {
        /* no record */
    }
    const ours: string[] = [];
    for (const ns of readdirSafe(NETNS_DIR).filter((e) => e.startsWith(n.prefix))) {
        const lo = await run(["ip", "-n", ns, "-j", "link", "show", "lo"], `read ${ns}`, { reject: false });
        const marked = lo.exitCode === 0 && JSON.parse(lo.stdout || "[]")[0]?.ifalias === n.mark;
        if (marked || recorded.has(ns)) ours.push(ns);
        else log(`leaving namespace ${ns}: it carries no mark of test bed ${id}`);
    }
    const nsInodes = new Set<number>();
    for (const ns of ours) {
        try {
            nsInodes.add(statSync(join(NETNS_DIR, ns)).ino);
        } catch {
            /* gone */
        }
    }

    // Daemons, host by host: containers first (fast), then dockerd, containerd, sshd by pid file.
    const hostDirs = readdirSafe(n.runDir)
        .filter((e) => /^[b-z]$/.test(e))
        .map((e) => join(n.runDir, e));
    await Promise.all(
        hostDirs.map(async (dir) => {
            const sock = join(dir, "docker.sock");
            if (existsSync(sock) && (await dockerPing(sock))) {
                const ps = await run(["docker", "-H", `unix://${sock}`, "ps", "-aq"], "list a host's containers", { reject: false });
                const ids = ps.stdout.split("\n").filter(Boolean);
                if (ids.length > 0)
                    await run(["docker", "-H", `unix://${sock}`, "rm", "-f", ...ids], "remove a host's containers", { reject: false });
            }
            const dockerd = pidFromFile(join(dir, "dockerd.pid"), runTag);
            if (dockerd) await stopPid(dockerd, 15000);
            // Containers whose dockerd and containerd were killed keep running under their shims: runc removes them.
            const runcRoot = join(dir, "exec", "runtime-runc", "moby");
            if (existsSync(runcRoot)) {
                const list = await run(["runc", "--root", runcRoot, "list", "-q"], "list a host's leftover containers", { reject: false });
                for (const cid of list.stdout.split("\n").filter(Boolean)) {
                    await run(["runc", "--root", runcRoot, "delete", "--force", cid], `remove leftover container ${cid.slice(0, 12)}`, {
                        reject: false,
                    });
                }
            }
            const containerd = pidFromFile(join(dir, "containerd.pid"), runTag);
            if (containerd) await stopPid(containerd, 10000);
            const sshd = pidFromFile(join(dir, "sshd.pid"), runTag);
            if (sshd) await stopPid(sshd, 5000);
            // Shim sockets: containerd names them sha256("<containerd address>/<namespace>/<container id>").
            const tasks = join(dir, "containerd", "state", "io.containerd.runtime.v2.task", "moby");
            for (const cid of readdirSafe(tasks)) {
                const hash = createHash("sha256")
                    .update(`${join(dir, "containerd", "containerd.sock")}/moby/${cid}`)
                    .digest("hex");
                rmSync(join(SHIM_SOCKET_DIR, hash), { force: true });
            }
        }),
    );

    // Anything else of ours still running: shims, sessions, processes in our namespaces.
    for (let pass = 0; pass < 3; pass++) {
        const left = allProcs().filter(
            (p) => !p.zombie && (p.cmdline.includes(runTag) || (p.netIno !== undefined && nsInodes.has(p.netIno))),
        );
        if (left.length === 0) break;
        for (const p of left) {
            log(`killing leftover process ${p.pid}: ${p.cmdline.slice(0, 120)}`);
            try {
                process.kill(p.pid, "SIGKILL");
            } catch {
                /* gone */
            }
        }
        await Promise.all(left.map((p) => waitGone(p.pid, 5000)));
    }

    // Mounts under the run folder (the engine's data root, container file systems, exec-root netns files).
    for (let pass = 0; pass < 3; pass++) {
        const mounts = mountsUnder(runTag);
        if (mounts.length === 0) break;
        for (const m of mounts) {
            const r = await run(["umount", m], `unmount ${m}`, { reject: false });
            if (r.exitCode !== 0 && existsSync(m)) await run(["umount", "-l", m], `unmount ${m}`, { reject: false });
        }
    }

    // Namespaces (hosts, then the switch), and host A's link.
    for (const ns of ours.sort((a, b) => (a === n.switchNetns ? 1 : b === n.switchNetns ? -1 : a.localeCompare(b)))) {
        await run(["ip", "netns", "del", ns], `delete namespace ${ns}`, { hint: "see `ip netns pids` for processes still in it" });
    }
    for (const l of await ipJson<IpLink>(["link", "show"], "list the machine's links")) {
        if (l.ifname.startsWith(n.prefix) && l.ifalias === n.mark) {
            await run(["ip", "link", "del", "dev", l.ifname], `delete link ${l.ifname}`, { reject: false });
        }
    }

    // Files.
    const stuck = mountsUnder(runTag);
    if (stuck.length > 0) {
        throw new TestbedError(
            `failed to remove ${n.runDir}: ${stuck.join(", ")} still mounted; unmount by hand (\`umount -l\`) and run down again`,
        );
    }
    rmSync(n.runDir, { recursive: true, force: true });
    releaseClaims(id);
    tidyRunRoot();
    log(`test bed ${id} removed in ${seconds(t)}s`);
}

function mountsUnder(prefix: string): string[] {
    const out: string[] = [];
    for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
        const mp = line.split(" ")[4];
        if (!mp) continue;
        const path = mp.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
        if (path.startsWith(prefix)) out.push(path);
    }
    return out.sort((a, b) => b.length - a.length);
}

/** When no test bed is left: the claims folder, /run/sshd if up made it and no sshd uses it, the root folder. */
function tidyRunRoot(): void {
    const beds = readdirSafe(RUN_ROOT).filter((e) => !e.startsWith("."));
    if (beds.length > 0) return;
    if (readdirSafe(CLAIMS_DIR).length === 0) rmSync(CLAIMS_DIR, { recursive: true, force: true });
    const marker = join(RUN_ROOT, ".made-run-sshd");
    if (existsSync(marker) && !allProcs().some((p) => !p.zombie && /(^|\/)sshd( |:|$)/.test(p.cmdline.split(" ")[0] ?? ""))) {
        try {
            rmdirSync("/run/sshd");
        } catch {
            /* in use or not empty */
        }
        rmSync(marker, { force: true });
    }
    try {
        rmdirSync(RUN_ROOT);
    } catch {
        /* not empty */
    }
}

// ---------------------------------------------------------------- status

export interface StatusEntry {
    id: string;
    subnet?: string;
    complete: boolean;
    namespaces: string[];
    hosts: { name: string; address?: string; sshd: boolean; containerd: boolean; dockerd: boolean; docker: boolean }[];
}

/** Every test bed on this machine: run folders and namespaces named hntb-<id>-. */
export async function status(): Promise<StatusEntry[]> {
    const ids = new Set(readdirSafe(RUN_ROOT).filter((e) => !e.startsWith(".")));
    for (const ns of readdirSafe(NETNS_DIR)) {
        const m = /^hntb-([a-z0-9]{1,8})-[a-z]{1,2}$/.exec(ns);
        if (m) ids.add(m[1]);
    }
    const out: StatusEntry[] = [];
    for (const id of [...ids].sort()) {
        const n = names(id);
        let info: TestbedInfo | undefined;
        try {
            info = JSON.parse(readFileSync(join(n.runDir, "testbed.json"), "utf8"));
        } catch {
            /* not complete */
        }
        let subnet = info?.subnet;
        if (!subnet)
            try {
                subnet = readFileSync(join(n.runDir, "subnet"), "utf8").trim();
            } catch {
                /* none */
            }
        const hosts = [];
        for (const e of readdirSafe(n.runDir).filter((x) => /^[b-z]$/.test(x))) {
            const dir = join(n.runDir, e);
            hosts.push({
                name: e,
                address: info?.hosts.find((h) => h.name === e)?.address,
                sshd: pidFromFile(join(dir, "sshd.pid"), `${n.runDir}/`) !== undefined,
                containerd: pidFromFile(join(dir, "containerd.pid"), `${n.runDir}/`) !== undefined,
                dockerd: pidFromFile(join(dir, "dockerd.pid"), `${n.runDir}/`) !== undefined,
                docker: await dockerPing(join(dir, "docker.sock"), 500),
            });
        }
        out.push({
            id,
            subnet,
            complete: info !== undefined,
            namespaces: readdirSafe(NETNS_DIR).filter((e) => e.startsWith(n.prefix)),
            hosts,
        });
    }
    return out;
}

/** The JSON `up` wrote for test bed `id`. */
export function readInfo(id: string): TestbedInfo {
    validateId(id);
    const file = join(names(id).runDir, "testbed.json");
    try {
        return JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
        throw new TestbedError(`failed to read ${file}: ${(err as Error).message}; is test bed ${id} up? (\`scripts/testbed.sh status\`)`);
    }
}
