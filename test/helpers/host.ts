// Test fixtures and read-backs on the real host, through the system's own
// tools (ip, nsenter, docker, ping): never through the library under test.
//
// Everything a test run makes carries the run's mark: fixture containers the
// label `io.hostnet.test=<run>`, fixture links the alias `hostnet-test/<run>`,
// and objects the providers make the owner mark `hostnet/test/<run>/...`.
// `sweepRun` removes only this run's objects; `sweepStale` (before a run)
// removes any test run's leftovers, and nothing unmarked.

import { execa } from "execa";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { formatAddress, formatCidr, parseAddress, parseCidr } from "../../components/src/common/address";
import { join } from "node:path";

export const TEST_LABEL = "io.hostnet.test";

export function uniqueSuffix(): string {
    return randomBytes(3).toString("hex");
}

/** This test process's run id: part of every mark the run puts on the host. */
export const RUN = uniqueSuffix();

// Live runs are registered by pid, so that sweeping a killed run's leftovers
// never touches the objects of a run still going on beside it.
const RUNS_DIR = "/run/hostnet-test-runs";
mkdirSync(RUNS_DIR, { recursive: true });
writeFileSync(`${RUNS_DIR}/${RUN}`, String(process.pid));
process.on("exit", () => rmSync(`${RUNS_DIR}/${RUN}`, { force: true }));

function runIsAlive(run: string): boolean {
    if (run === RUN) return true;
    const file = `${RUNS_DIR}/${run}`;
    if (!existsSync(file)) return false;
    try {
        process.kill(Number(readFileSync(file, "utf8")), 0);
        return true;
    } catch {
        return false;
    }
}
export const TEST_ALIAS = `hostnet-test/${RUN}`;
/** Owner-mark prefix for what providers make in this run's tests. */
export const RUN_OWNER = `hostnet/test/${RUN}/`;

export async function sh(
    argv: string[],
    opts: { reject?: boolean; input?: string } = {},
): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const r = await execa(argv[0], argv.slice(1), { reject: opts.reject ?? true, input: opts.input });
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? -1 };
}

export interface IpLink {
    ifindex: number;
    ifname: string;
    flags: string[];
    mtu: number;
    address: string;
    master?: string;
    ifalias?: string;
    link_index?: number;
    link_netnsid?: number;
    link?: string;
    linkinfo?: { info_kind?: string; info_data?: { mode?: string } & Record<string, unknown> };
    addr_info?: { family: string; local: string; prefixlen: number }[];
}

function netns(pid: number | undefined, argv: string[]): string[] {
    return pid === undefined ? argv : ["nsenter", "--target", String(pid), "--net", "--", ...argv];
}

/** `ip -j -d addr show`, in the host or a container's namespace. */
export async function ipLinks(pid?: number): Promise<IpLink[]> {
    const { stdout } = await sh(netns(pid, ["ip", "-j", "-d", "addr", "show"]));
    return JSON.parse(stdout);
}

export async function ipLink(name: string, pid?: number): Promise<IpLink | undefined> {
    return (await ipLinks(pid)).find((l) => l.ifname === name);
}

export async function ipDefaultRoutes(pid?: number, family: 4 | 6 = 4): Promise<{ dst: string; gateway?: string; dev: string }[]> {
    const { stdout } = await sh(netns(pid, ["ip", "-j", `-${family}`, "route", "show", "default"]));
    return stdout.trim() ? JSON.parse(stdout) : [];
}

export function ipv4Of(link: IpLink | undefined): string[] {
    return (link?.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`);
}

/** An interface's IPv6 addresses as `ip -j -6 addr` reports them (link-local ones included), with their flags. */
export interface Ipv6Address {
    local: string;
    prefixlen: number;
    scope: string;
    tentative?: boolean;
    dadfailed?: boolean;
}

/** `ip -j -6 addr show dev <name>` in the host or a container's namespace: the interface's IPv6 addresses, or [] without it. */
export async function ipv6Addresses(name: string, pid?: number): Promise<Ipv6Address[]> {
    const r = await sh(netns(pid, ["ip", "-j", "-6", "addr", "show", "dev", name]), { reject: false });
    if (r.exitCode !== 0 || !r.stdout.trim()) return [];
    return (JSON.parse(r.stdout)[0]?.addr_info ?? []) as Ipv6Address[];
}

/** The global (not link-local) IPv6 addresses of an interface, as CIDRs, read with `ip -j -6 addr`. */
export async function ipv6Of(name: string, pid?: number): Promise<string[]> {
    return (await ipv6Addresses(name, pid)).filter((a) => a.scope !== "link").map((a) => `${a.local}/${a.prefixlen}`);
}

/** True when at least one of three ICMPv6 echo requests (within 3 s) is answered. */
export async function ping6(address: string, pid?: number): Promise<boolean> {
    const r = await sh(netns(pid, ["ping", "-6", "-c", "3", "-i", "0.2", "-w", "3", address]), { reject: false });
    return r.exitCode === 0;
}

/** `ping -6` from inside a container, with docker exec (busybox ping). */
export async function execPing6(container: string, target: string): Promise<boolean> {
    const r = await sh(["docker", "exec", container, "ping", "-6", "-c", "3", "-W", "1", target], { reject: false });
    return r.exitCode === 0;
}

export async function dockerInspect(nameOrId: string): Promise<any | undefined> {
    const r = await sh(["docker", "inspect", "--type", "container", nameOrId], { reject: false });
    return r.exitCode === 0 ? JSON.parse(r.stdout)[0] : undefined;
}

export async function containerPid(nameOrId: string): Promise<number> {
    const { stdout } = await sh(["docker", "inspect", "-f", "{{.State.Pid}}", nameOrId]);
    return Number(stdout.trim());
}

/** Starts a `--net=<mode>` busybox container marked as a test fixture. */
export async function startTestContainer(name: string, net = "none"): Promise<string> {
    const { stdout } = await sh([
        "docker",
        "run",
        "-d",
        "--name",
        name,
        "--net",
        net,
        "--label",
        `${TEST_LABEL}=${RUN}`,
        "hostnet/busybox:1",
        "sleep",
        "2147483647",
    ]);
    return stdout.trim();
}

/** Creates a Linux bridge with an address, marked as a test fixture. */
export async function makeTestBridge(name: string, cidr: string): Promise<void> {
    await sh(["ip", "link", "add", "name", name, "type", "bridge"]);
    await sh(["ip", "link", "set", "dev", name, "alias", TEST_ALIAS, "up"]);
    await sh(["ip", "addr", "add", cidr, "dev", name]);
}

/**
 * A wire standing for a LAN: a veth pair whose end `parent` stays on the host
 * (up, marked as a test fixture: the parent of macvlans) and whose peer is
 * `eth0` of the container with `peerPid`, up, with `cidr`: the rest of the LAN.
 */
export async function makeTestWire(parent: string, peerPid: number, cidr: string): Promise<void> {
    await sh(["ip", "link", "add", "name", parent, "type", "veth", "peer", "name", "eth0", "netns", String(peerPid)]);
    await sh(["ip", "link", "set", "dev", parent, "alias", TEST_ALIAS, "up"]);
    await sh(["nsenter", "-t", String(peerPid), "-n", "ip", "addr", "add", cidr, "dev", "eth0"]);
    await sh(["nsenter", "-t", String(peerPid), "-n", "ip", "link", "set", "dev", "eth0", "up"]);
}

/** Whether this machine's kernel takes the IPsec state Docker's encrypted overlay programs (asked with `ip xfrm`, in a throw-away namespace). */
export async function kernelHasEsp(): Promise<{ ok: boolean; said: string }> {
    const r = await sh(
        [
            "unshare",
            "--net",
            "--",
            "ip",
            "xfrm",
            "state",
            "add",
            "src",
            "192.0.2.1",
            "dst",
            "192.0.2.2",
            "proto",
            "esp",
            "spi",
            "0x100",
            "reqid",
            "1",
            "mode",
            "transport",
            "aead",
            "rfc4106(gcm(aes))",
            `0x${"01".repeat(20)}`,
            "64",
        ],
        { reject: false },
    );
    return { ok: r.exitCode === 0, said: r.stderr.trim() };
}

/**
 * Whether this kernel makes links of `kind`, asked the way `ip` asks it, in a
 * throw-away namespace: "Unknown device type" means no (read here with the
 * system's tools, not through the library).
 */
export async function kernelHas(kind: string): Promise<boolean> {
    const r = await sh(["unshare", "--net", "ip", "link", "add", "name", "probe", "type", kind], { reject: false });
    return !/Unknown device type/.test(r.stderr);
}

/** True when at least one of three echo requests (within 3 s) is answered. */
export async function ping(address: string, pid?: number): Promise<boolean> {
    const r = await sh(netns(pid, ["ping", "-c", "3", "-i", "0.2", "-w", "3", address]), { reject: false });
    return r.exitCode === 0;
}

/** `ping` from inside a container, with docker exec (busybox ping). */
export async function execPing(container: string, target: string): Promise<boolean> {
    const r = await sh(["docker", "exec", container, "ping", "-c", "3", "-W", "1", target], { reject: false });
    return r.exitCode === 0;
}

/** Creates a plain bridge that carries the test run's mark but no owner mark of the library's. */
export async function makeForeignLink(name: string): Promise<void> {
    await sh(["ip", "link", "add", "name", name, "type", "bridge"]);
    await sh(["ip", "link", "set", "dev", name, "alias", TEST_ALIAS]);
}

/** A firewall rule as `iptables -S` lists it, when it is one the library makes: forwarding accepted on one bridge, commented with a mark. */
export interface MarkedRule {
    chain: string;
    bridge: string;
    mark: string;
}

/** The filter table's rules that carry a mark in their comment (the library's forwarding rules, by their shape). */
export async function firewallRules(): Promise<MarkedRule[]> {
    const rules: MarkedRule[] = [];
    for (const line of (await sh(["iptables", "-w", "-S"])).stdout.split("\n")) {
        const m = /^-A (\S+) -i (\S+) -o (\S+) -m comment --comment "([^"]*)" -j ACCEPT$/.exec(line);
        if (m && m[2] === m[3]) rules.push({ chain: m[1], bridge: m[2], mark: m[4] });
    }
    return rules;
}

/** The nftables tables of the host (family and name) with their comment: a Policy's carries its owner mark. */
export async function nftTables(): Promise<{ family: string; name: string; comment?: string }[]> {
    const r = await sh(["nft", "list", "tables"], { reject: false });
    if (r.exitCode !== 0) return [];
    const tables: { family: string; name: string; comment?: string }[] = [];
    for (const line of r.stdout.split("\n")) {
        const m = /^table (\S+) (\S+)$/.exec(line.trim());
        if (!m) continue;
        const listed = await sh(["nft", "list", "table", m[1], m[2]], { reject: false });
        const comment = /^\s*comment "([^"]*)"$/m.exec(listed.stdout)?.[1];
        tables.push({ family: m[1], name: m[2], ...(comment !== undefined ? { comment } : {}) });
    }
    return tables;
}

/** `nft list table inet <name>`: the text nft prints, or undefined when there is no such table. */
export async function nftListTable(name: string, pid?: number): Promise<string | undefined> {
    const r = await sh(netns(pid, ["nft", "list", "table", "inet", name]), { reject: false });
    return r.exitCode === 0 ? r.stdout : undefined;
}

/** True when a TCP connection from `pid`'s namespace (the host's without) to address:port is accepted within `seconds`. */
export async function tcpConnects(address: string, port: number, pid?: number, seconds = 2): Promise<boolean> {
    const r = await sh(netns(pid, ["nc.openbsd", "-z", "-n", "-w", String(seconds), address, String(port)]), { reject: false });
    return r.exitCode === 0;
}

/** A record of an address the library added to an adopted bridge (components/src/host/records.ts), as `readlink` reads it. */
export interface AddressRecord {
    path: string;
    ifindex: number;
    bridge: string;
    cidr: string;
    owner: string;
}

/** The records in /run/hostnet/addresses, read with find and readlink. */
export async function addressRecords(): Promise<AddressRecord[]> {
    const r = await sh(["find", "/run/hostnet/addresses", "-type", "l"], { reject: false });
    const records: AddressRecord[] = [];
    for (const path of r.exitCode === 0 ? r.stdout.split("\n").filter(Boolean) : []) {
        const target = await sh(["readlink", path], { reject: false });
        const m = /^(\d+) (\S+) (\S+) (.+)$/.exec(target.stdout);
        if (m) records.push({ path, ifindex: Number(m[1]), bridge: m[2], cidr: m[3], owner: m[4] });
    }
    return records;
}

/** Removes containers, links, firewall rules, nft tables and address records whose marks match; nothing unmarked is touched. */
async function sweep(match: { label?: (v: string) => boolean; alias: (a: string) => boolean }): Promise<void> {
    const ids: string[] = [];
    for (const id of (await sh(["docker", "ps", "-aq"])).stdout.split("\n").filter(Boolean)) {
        const labels: Record<string, string> = (await dockerInspect(id))?.Config?.Labels ?? {};
        const test = labels[TEST_LABEL];
        const owner = labels["io.hostnet.owner"];
        if ((test !== undefined && match.label?.(test)) || (owner !== undefined && match.alias(owner))) ids.push(id);
    }
    if (ids.length > 0) await sh(["docker", "rm", "-f", ...ids], { reject: false });
    for (const n of (await sh(["docker", "network", "ls", "-q"])).stdout.split("\n").filter(Boolean)) {
        const r = await sh(["docker", "network", "inspect", n], { reject: false });
        const owner = r.exitCode === 0 ? JSON.parse(r.stdout)[0]?.Labels?.["io.hostnet.owner"] : undefined;
        if (owner !== undefined && match.alias(owner)) await sh(["docker", "network", "rm", n], { reject: false });
    }
    for (const link of await ipLinks()) {
        if (link.ifalias !== undefined && match.alias(link.ifalias)) {
            await sh(["ip", "link", "del", "dev", link.ifname], { reject: false });
        }
    }
    for (const r of await firewallRules()) {
        if (match.alias(r.mark)) {
            const spec = ["-i", r.bridge, "-o", r.bridge, "-m", "comment", "--comment", r.mark, "-j", "ACCEPT"];
            await sh(["iptables", "-w", "-D", r.chain, ...spec], { reject: false });
        }
    }
    for (const t of await nftTables()) {
        if (t.comment !== undefined && match.alias(t.comment)) await sh(["nft", "delete", "table", t.family, t.name], { reject: false });
    }
    const links = new Map((await ipLinks()).map((l) => [l.ifname, l]));
    for (const r of await addressRecords()) {
        if (!match.alias(r.owner)) continue;
        // The address too, when it is still on that very bridge (same ifindex): the record says it was added by the run.
        if (links.get(r.bridge)?.ifindex === r.ifindex) await sh(["ip", "addr", "del", r.cidr, "dev", r.bridge], { reject: false });
        await sh(["rm", "-f", r.path]);
    }
}

/** Removes what this run made (fixtures and provider-made objects), plus objects under `ownerPrefix`. */
export async function sweepRun(ownerPrefix?: string): Promise<void> {
    await sweep({
        label: (v) => v === RUN,
        alias: (a) => a === TEST_ALIAS || a.startsWith(RUN_OWNER) || (ownerPrefix !== undefined && a.startsWith(ownerPrefix)),
    });
}

/** The run id inside a test mark, if the mark is one (e2e stacks are `e2e-<run>` or `e2e-<run>-<suite>`). */
function runOfMark(mark: string): string | undefined {
    // Test stacks are named e2e-<run>[-<suffix>] or bad-<run>, in the example project or in scratch projects of their own.
    return /^(?:hostnet-test\/|hostnet\/test\/|hostnet\/[^/]+\/(?:e2e|bad)-)([0-9a-f]{6})(?:[-/]|$)/.exec(mark)?.[1];
}

/**
 * Removes leftovers of earlier test runs that are no longer running (killed
 * before their own cleanup): marked containers, networks, links and firewall
 * rules, and test beds (scripts/testbed.sh) named a letter and a run id
 * (`t<run>`, `r<run>`: the multihost suites'). Run once before a whole run
 * (the global setup in hooks.ts), never from a test file.
 */
export async function sweepStale(): Promise<void> {
    const dead = (run: string | undefined) => run !== undefined && !runIsAlive(run);
    await sweep({ label: (v) => dead(/^[0-9a-f]{6}$/.test(v) ? v : undefined), alias: (a) => dead(runOfMark(a)) });
    const testbed = join(__dirname, "..", "..", "scripts", "testbed.sh");
    for (const { id } of JSON.parse((await sh(["bash", testbed, "status", "--json"])).stdout) as { id: string }[]) {
        if (dead(/^[a-z]([0-9a-f]{6})$/.exec(id)?.[1])) await sh(["bash", testbed, "down", "--id", id], { reject: false });
    }
}

// Claims: what one test process picked (a port, a subnet) and is about to use,
// so that no other test process running at the same time (the workers of
// `npm test`, other people's runs) picks it too between the look and the use.
// A claim is a file named for the thing, holding the claimer's pid; it is
// free again once that process is gone.
const CLAIMS_DIR = "/run/hostnet-test-claims";
mkdirSync(CLAIMS_DIR, { recursive: true });
const claimed: string[] = [];
process.on("exit", () => {
    for (const f of claimed) rmSync(f, { force: true });
});

function pidIsAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** True when this process now holds `thing`; false when a live process holds it. */
function claim(thing: string): boolean {
    const file = `${CLAIMS_DIR}/${thing.replace(/\//g, "_")}`;
    for (let attempt = 0; attempt < 2; attempt++) {
        try {
            writeFileSync(file, String(process.pid), { flag: "wx" });
            claimed.push(file);
            return true;
        } catch {
            let holder = NaN;
            try {
                holder = Number(readFileSync(file, "utf8"));
            } catch {
                continue; // released meanwhile
            }
            if (holder === process.pid || pidIsAlive(holder)) return false;
            rmSync(file, { force: true }); // its process is gone
        }
    }
    return false;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now, and that no other test process has picked. */
export async function freePort(): Promise<number> {
    for (;;) {
        const port = await new Promise<number>((resolve, reject) => {
            const server = createServer();
            server.once("error", reject);
            server.listen(0, "127.0.0.1", () => {
                const { port } = server.address() as { port: number };
                server.close(() => resolve(port));
            });
        });
        if (claim(`port-${port}`)) return port;
    }
}

/**
 * A byte derived from the run, for addresses and subnets distinct per run:
 * suites use it with offsets of their own (runByte(4), runByte(11), ...) on
 * prefixes of their own. The workers of one `npm test` (scripts/test.js) share
 * its base, HOSTNET_TEST_BASE, so that two suites running at once in two
 * workers still get different bytes, as they would one after the other in
 * one process; a process without it (one file run by hand) derives the base
 * from its own run id.
 */
export function runByte(offset = 0): number {
    const base = process.env.HOSTNET_TEST_BASE ?? RUN.slice(0, 4);
    return ((parseInt(base, 16) + offset) % 250) + 2;
}

/** Polls `probe` until it returns true, for at most `ms`; the kernel tears namespaces down asynchronously. */
export async function eventually(probe: () => Promise<boolean>, ms = 5000): Promise<boolean> {
    const until = Date.now() + ms;
    for (;;) {
        if (await probe()) return true;
        if (Date.now() > until) return false;
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** Everything on the host whose owner mark starts with `ownerPrefix`: containers, networks, links, firewall rules, nft tables, address records, connections (as "kind name"). */
export async function markedObjects(ownerPrefix: string): Promise<string[]> {
    const found: string[] = [];
    for (const id of (await sh(["docker", "ps", "-aq"])).stdout.split("\n").filter(Boolean)) {
        const c = await dockerInspect(id);
        if (c?.Config?.Labels?.["io.hostnet.owner"]?.startsWith(ownerPrefix)) found.push(`container ${c.Name.slice(1)}`);
    }
    for (const n of (await sh(["docker", "network", "ls", "-q"])).stdout.split("\n").filter(Boolean)) {
        const r = await sh(["docker", "network", "inspect", n], { reject: false });
        const net = r.exitCode === 0 ? JSON.parse(r.stdout)[0] : undefined;
        if (net?.Labels?.["io.hostnet.owner"]?.startsWith(ownerPrefix)) found.push(`network ${net.Name}`);
    }
    for (const link of await ipLinks()) {
        if (link.ifalias?.startsWith(ownerPrefix)) found.push(`link ${link.ifname}`);
    }
    for (const r of await firewallRules()) if (r.mark.startsWith(ownerPrefix)) found.push(`firewall rule ${r.chain} ${r.bridge}`);
    for (const t of await nftTables()) if (t.comment?.startsWith(ownerPrefix)) found.push(`nft table ${t.family} ${t.name}`);
    for (const r of await addressRecords()) if (r.owner.startsWith(ownerPrefix)) found.push(`address record ${r.cidr} on ${r.bridge}`);
    for (const id of (await sh(["docker", "ps", "-aq"])).stdout.split("\n").filter(Boolean)) {
        const c = await dockerInspect(id);
        for (const [net, ep] of Object.entries<any>(c?.NetworkSettings?.Networks ?? {}))
            if (ep?.DriverOpts?.["io.hostnet.owner"]?.startsWith(ownerPrefix)) found.push(`connection ${c.Name.slice(1)} ${net}`);
    }
    return found;
}

function ipv4Range(cidr: string): [number, number] {
    const [address, prefix] = cidr.split("/");
    const value = address.split(".").reduce((v, o) => v * 256 + Number(o), 0);
    const size = 2 ** (32 - Number(prefix ?? 32));
    const start = value - (value % size);
    return [start, start + size - 1];
}

/**
 * `count` IPv6 /64 networks in the unique local range (fd00::/8) that overlap
 * nothing on this host right now: no route, no interface address, no Docker
 * network. Random 40-bit global IDs, as RFC 4193 asks: `fdXX:XXXX:XXXX::/64`.
 */
export async function unusedIpv6Subnets(count: number): Promise<string[]> {
    const used = new Set<string>();
    const prefix64 = (text: string) => {
        const a = parseAddress(text.split("/")[0]);
        return a && a.family === 6 ? (a.value >> 64n).toString(16) : undefined;
    };
    const routes = JSON.parse((await sh(["ip", "-j", "-6", "route", "show", "table", "all"])).stdout) as { dst: string }[];
    for (const r of routes) {
        const p = prefix64(r.dst);
        if (p) used.add(p);
    }
    for (const l of await ipLinks()) for (const a of l.addr_info ?? []) if (a.family === "inet6") used.add(prefix64(a.local) ?? "");
    for (const n of (await sh(["docker", "network", "ls", "-q"])).stdout.split("\n").filter(Boolean)) {
        const r = await sh(["docker", "network", "inspect", n], { reject: false });
        const configs: { Subnet?: string }[] = r.exitCode === 0 ? (JSON.parse(r.stdout)[0]?.IPAM?.Config ?? []) : [];
        for (const c of configs) if (c.Subnet?.includes(":")) used.add(prefix64(c.Subnet) ?? "");
    }
    const picked: string[] = [];
    while (picked.length < count) {
        const b = randomBytes(5).toString("hex");
        const subnet = `fd${b.slice(0, 2)}:${b.slice(2, 6)}:${b.slice(6, 10)}::/64`;
        const p = prefix64(subnet)!;
        if (used.has(p)) continue;
        used.add(p);
        picked.push(formatCidr(parseCidr(subnet)!));
    }
    return picked;
}

/** The address `n` (a small host number) in an IPv6 subnet like `fd12:3456:789a::/64`: `fd12:3456:789a::5`. */
export function ipv6Host(subnet: string, n: number): string {
    const c = parseCidr(subnet)!;
    return formatAddress({ family: 6, value: c.value + BigInt(n) });
}

/** The address ranges in use on this host: routes, interface addresses, Docker networks' subnets. */
async function usedRanges(): Promise<[number, number][]> {
    const used: [number, number][] = [];
    const routes = JSON.parse((await sh(["ip", "-j", "-4", "route", "show", "table", "all"])).stdout) as { dst: string }[];
    for (const r of routes) if (/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(r.dst)) used.push(ipv4Range(r.dst));
    for (const l of await ipLinks()) for (const a of ipv4Of(l)) used.push(ipv4Range(a));
    for (const n of (await sh(["docker", "network", "ls", "-q"])).stdout.split("\n").filter(Boolean)) {
        const r = await sh(["docker", "network", "inspect", n], { reject: false });
        const configs: { Subnet?: string }[] = r.exitCode === 0 ? (JSON.parse(r.stdout)[0]?.IPAM?.Config ?? []) : [];
        for (const c of configs) if (c.Subnet && !c.Subnet.includes(":")) used.push(ipv4Range(c.Subnet));
    }
    return used;
}

/**
 * The first two octets (`10.b`) of a /16 in 10.160.0.0-10.179.255.255 that
 * overlaps nothing on this host right now and no other test process has
 * picked, at random (apart from unusedSubnets' 10.184-10.209 and the suites'
 * fixed prefixes).
 */
export async function unusedSlash16(): Promise<string> {
    const used = await usedRanges();
    for (let tries = 0; tries < 1000; tries++) {
        const b = 160 + (randomBytes(1)[0] % 20);
        const [lo, hi] = ipv4Range(`10.${b}.0.0/16`);
        if (!used.some(([s, e]) => s <= hi && lo <= e) && claim(`slash16-10.${b}`)) return `10.${b}`;
    }
    throw new Error("failed to find an unused /16 in 10.160.0.0-10.179.255.255; remove leftover test networks");
}

/**
 * `count` IPv4 /24 networks under 10.0.0.0/8 that overlap nothing on this host
 * right now (no route, no interface address, no Docker network) and that no
 * other test process has picked (other test runs work beside this one, and
 * the workers of `npm test` beside each other). Picked at random from
 * 10.184.0.0-10.209.255.0: 10.210 and above are the suites' runByte prefixes, and
 * badInputs uses 10.180-10.182.
 */
export async function unusedSubnets(count: number): Promise<string[]> {
    const used = await usedRanges();
    const picked: string[] = [];
    for (let tries = 0; picked.length < count; tries++) {
        if (tries > 10000)
            throw new Error(`failed to find ${count} unused /24 networks in 10.184.0.0-10.209.255.0; remove leftover test networks`);
        const b = 184 + (randomBytes(1)[0] % 26);
        const c = randomBytes(1)[0];
        const subnet = `10.${b}.${c}.0/24`;
        const [lo, hi] = ipv4Range(subnet);
        if (used.some(([s, e]) => s <= hi && lo <= e)) continue;
        used.push([lo, hi]);
        if (!claim(`subnet-10.${b}.${c}.0`)) continue;
        picked.push(subnet);
    }
    return picked;
}
