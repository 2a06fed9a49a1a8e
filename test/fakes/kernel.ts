// A fake of the kernel objects the host layer touches (links, addresses,
// default routes, per network namespace), served through the host layer's
// injectable runner (host/run.ts `setCommandRunner`). It reads the
// argv the host layer emits - `ip ...`, `ip -batch -` with its stdin, each
// under `nsenter --target PID --net --` for a container - and answers like
// iproute2 6.1 on this machine's kernel: the same JSON shapes, the same
// stderr text and exit codes (each checked against the real `ip` in a
// throw-away namespace; see the table at `ERR`). Anything it does not
// understand is recorded in `unknown` and answered with exit code 255:
// tests assert `unknown` is empty, so new argv cannot be silently accepted.
//
// What it models: loopback, bridges (ports, STP, no VLAN filtering: this
// kernel lacks it), veth pairs across namespaces (deleting one end deletes
// the other; a namespace that goes away takes its veths and their peers),
// macvlans on a parent, made in any namespace (the kernel's refusals: a
// parent that is a bridge port, loopback, passthru beside others, an MTU
// above the parent's; a macvlan of a macvlan sits on its parent; deleting the
// parent deletes them; passthru takes the parent's MAC), renames, the kinds
// of link the kernel has (`unshare --net ip link add ... type K`: this
// machine's have no ipvlan, dummy or 802.1Q VLAN),
// IPv4 addresses (an IPv6 link-local on links that are up, as the kernel
// adds), and default routes (refused without an up device whose subnet holds
// the gateway; flushed when the device goes down, is deleted, or loses the
// address that reached the gateway). Not modelled: other routes, neighbours,
// carrier delays, IPv6 beyond the link-local.
//
// The same kernel also answers the netlink helper's requests (the host
// layer's boundary on this machine: host/helper.ts, components/netlink/):
// `helper` serves each operation by the model above, answering a failure
// with the errno the real helper gets from the kernel for it (the `errno`
// column of `ERR`, checked against the real helper in
// test/host/fakeKernel.test.ts), and programs (`exec`) through the runner.
// Faults count each operation of a request as one, as each batch line.
//
// Also the filter table of `iptables` (1.8.9, nf_tables), as far as the host
// layer uses it: `-S`, and `-C`/`-I CHAIN 1`/`-D` of rules, in the host
// namespace, whose chains are Docker's (policy DROP on FORWARD, DOCKER-USER)
// unless the kernel is made `withoutDocker`. Rules are kept as their argv.
//
// And, for the Policy and bandwidth limits: nftables tables (nft 1.0.6:
// `--version`, `list tables inet`, `list table inet T`, and `-f -` with the scripts the Policy
// writes, applied as one transaction), per namespace; tc (iproute2 6.1) root
// tbf and ingress qdiscs and the one u32/mirred filter, `-j` reads; ifb
// devices; the br_netfilter settings read with `cat`; and the kernel's answer
// to a netem qdisc (this kernel has none). Probes' traffic is not modelled.
// And the host's files as far as the library keeps records in them
// (host/records.ts): folders and symbolic links, through `mkdir -p`, `ln -s`,
// `rm -f`, `readlink -v` and `find DIR -type l -exec readlink {} +`, with
// GNU coreutils' and findutils' words (C locale). `mkdir -p` counts as a
// read for fault injection: it only makes sure the records' folder is there.

import type { HelperAnswer, HelperOp, HelperTransport } from "../../components/src/host/helper";
import type { CommandResult, CommandRunner } from "../../components/src/host/run";
import { Fault, Faults, INJECTED_STDERR } from "./faults";

/** The exact text iproute2 6.1 prints (checked here against the real tool), with its exit code. */
export const ERR = {
    noDevice: (name: string) => ({ stderr: `Device "${name}" does not exist.`, exitCode: 1, errno: "ENODEV" }),
    cannotFind: (name: string) => ({ stderr: `Cannot find device "${name}"`, exitCode: 1, errno: "ENODEV" }),
    exists: { stderr: "RTNETLINK answers: File exists", exitCode: 2, errno: "EEXIST" },
    noSuchProcess: { stderr: "RTNETLINK answers: No such process", exitCode: 2, errno: "ESRCH" },
    badRule: { stderr: "iptables: Bad rule (does a matching rule exist in that chain?).", exitCode: 1, errno: undefined },
    noChain: { stderr: "iptables: No chain/target/match by that name.", exitCode: 1, errno: undefined },
    notSupported: { stderr: "RTNETLINK answers: Operation not supported", exitCode: 2, errno: "ENOTSUP" },
    addressAssigned: { stderr: "Error: ipv4: Address already assigned.", exitCode: 2, errno: "EEXIST" },
    addressNotFound: { stderr: "Error: ipv4: Address not found.", exitCode: 2, errno: "EADDRNOTAVAIL" },
    invalidGateway: { stderr: "Error: Nexthop has invalid gateway.", exitCode: 2, errno: "ENETUNREACH" },
    mtuTooBig: { stderr: "Error: mtu greater than device maximum.", exitCode: 2, errno: "EINVAL" },
    mtuTooSmall: { stderr: "Error: mtu less than device minimum.", exitCode: 2, errno: "EINVAL" },
    badLladdr: (mac: string) => ({ stderr: `"${mac}" is invalid lladdr.`, exitCode: 1, errno: "EINVAL" }),
    masterMissing: (name: string) => ({
        stderr: `Error: argument "${name}" is wrong: Device does not exist`,
        exitCode: 255,
        errno: "ENODEV",
    }),
    badIfname: (name: string, field: string) => ({
        stderr: `Error: argument "${name}" is wrong: "${field}" not a valid ifname`,
        exitCode: 255,
        errno: "EINVAL",
    }),
    nsenterGone: (pid: string) => ({
        stderr: `nsenter: cannot open /proc/${pid}/ns/net: No such file or directory`,
        exitCode: 1,
        errno: "ENOENT",
    }),
    noTable: (name: string) => ({
        stderr: `Error: No such file or directory\nlist table inet ${name}\n                ${"^".repeat(name.length)}`,
        exitCode: 1,
    }),
    tcNoRoot: { stderr: "Error: Cannot delete qdisc with handle of zero.", exitCode: 2 },
    tcInvalidHandle: { stderr: "Error: Invalid handle.", exitCode: 2 },
    noNetem: { stderr: "Error: Specified qdisc kind is unknown.", exitCode: 2 },
    lnExists: (path: string) => ({ stderr: `ln: failed to create symbolic link '${path}': File exists`, exitCode: 1 }),
    lnNoFolder: (path: string) => ({ stderr: `ln: failed to create symbolic link '${path}': No such file or directory`, exitCode: 1 }),
    readlinkMissing: (path: string) => ({ stderr: `readlink: ${path}: No such file or directory`, exitCode: 1 }),
    findMissing: (path: string) => ({ stderr: `find: '${path}': No such file or directory`, exitCode: 1 }),
    invalid: { stderr: "RTNETLINK answers: Invalid argument", exitCode: 2, errno: "EINVAL" },
    busy: { stderr: "RTNETLINK answers: Device or resource busy", exitCode: 2, errno: "EBUSY" },
    unknownKind: { stderr: "Error: Unknown device type.", exitCode: 2, errno: "ENOTSUP" },
    requiredAttributes: { stderr: "Error: Required attributes not provided to perform the operation.", exitCode: 2, errno: "EINVAL" },
} as const;

/** The kinds of link this machine's kernel makes (checked: `unshare --net ip link add ... type K`). */
export const KERNEL_KINDS = ["bridge", "veth", "macvlan", "vxlan"];

const MACVLAN_MODES = ["private", "vepa", "bridge", "passthru", "source"];
const IPVLAN_MODES = ["l2", "l3", "l3s"];

/** A command's result, with the errno the kernel gave for its failure (what the netlink helper answers). */
type Answered = CommandResult & { errno?: string };

type Failure = { stderr: string; exitCode: number; errno?: string };

export type LinkKind = "loopback" | "bridge" | "veth" | "ifb" | "macvlan";

export interface FakeLink {
    ifindex: number;
    name: string;
    kind: LinkKind;
    up: boolean;
    mtu: number;
    mac: string;
    /** The MAC was given explicitly (otherwise it is random, as the kernel's). */
    macSet: boolean;
    alias?: string;
    /** ifindex of the bridge this link is a port of (same namespace). */
    master?: number;
    peer?: { ns: FakeNetns; ifindex: number };
    /** A macvlan's parent (lower device), in its own namespace. */
    lower?: { ns: FakeNetns; ifindex: number };
    /** A macvlan's mode. */
    mode?: string;
    addrs: { local: string; prefixlen: number }[];
    stp: boolean;
    /** A bridge that has had a port: its carrier follows its ports from then on (an empty new one has carrier). */
    hadPorts?: boolean;
    /** A bridge's MTU was set (at creation or later): otherwise it follows its ports' smallest (1500 without ports). */
    mtuSet?: boolean;
    /** tc: a root tbf (rate in bytes per second), an ingress qdisc, the device its one filter redirects to. */
    tbf?: { rate: number; burst: number; handle: string };
    ingress?: boolean;
    redirect?: string;
}

/** An nftables table, as the fake keeps it: its comment, sets, and chains with their rules (as written). */
export interface FakeTable {
    comment?: string;
    sets: { name: string; type: string; elements: string[] }[];
    chains: { name: string; header: string; rules: string[] }[];
}

export interface FakeRoute {
    gateway: string;
    dev: number;
}

export class FakeNetns {
    readonly links = new Map<number, FakeLink>();
    routes: FakeRoute[] = [];
    /** The filter table: chain -> its rules (each the argv after the chain name), in order. */
    readonly chains = new Map<string, string[][]>([["FORWARD", []]]);
    /** nftables tables of family inet, by name. */
    tables = new Map<string, FakeTable>();
    private nextIndex = 1;
    private readonly nsids = new Map<FakeNetns, number>();

    constructor(
        /** For people and snapshots: "host" or the container's name. */
        public label: string,
        readonly pid: number,
    ) {}

    allocIndex(): number {
        return this.nextIndex++;
    }

    saveCounters(): { nextIndex: number; nsids: [FakeNetns, number][] } {
        return { nextIndex: this.nextIndex, nsids: [...this.nsids] };
    }

    restoreCounters(c: { nextIndex: number; nsids: [FakeNetns, number][] }): void {
        this.nextIndex = c.nextIndex;
        this.nsids.clear();
        for (const [k, v] of c.nsids) this.nsids.set(k, v);
    }

    nsid(other: FakeNetns): number {
        if (!this.nsids.has(other)) this.nsids.set(other, this.nsids.size);
        return this.nsids.get(other)!;
    }

    byName(name: string): FakeLink | undefined {
        for (const l of this.links.values()) if (l.name === name) return l;
        return undefined;
    }
}

function ipToInt(a: string): number {
    return a.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

function parseCidr(text: string): { local: string; prefixlen: number } | undefined {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(text);
    if (!m || m[1].split(".").some((o) => Number(o) > 255) || Number(m[2]) > 32) return undefined;
    return { local: m[1], prefixlen: Number(m[2]) };
}

function sameSubnet(a: string, b: string, prefixlen: number): boolean {
    const size = 2 ** (32 - prefixlen);
    return Math.floor(ipToInt(a) / size) === Math.floor(ipToInt(b) / size);
}

const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;
const IFNAME = /^[^\s/]{1,15}$/;

/** Thrown inside a command handler: the command is not one this fake understands. */
class Unknown extends Error {}

export class FakeKernel {
    readonly host: FakeNetns;
    /** Namespaces by the PID `nsenter --target` names (several PIDs may share one). */
    private readonly byPid = new Map<number, FakeNetns>();
    private nextPid = 1000;
    private macCounter = 0;
    /** Commands it could not read: a test failure. */
    readonly unknown: string[] = [];
    /** The host's files the library touches: path -> a symbolic link's target, or null for a folder. */
    readonly files = new Map<string, string | null>();
    /** Every command run through the runner, with its stdin. */
    readonly commands: { argv: string[]; input?: string }[] = [];

    /** The kinds of link it makes (`unshare --net ip link add ... type K` answers "Unknown device type" for others). */
    readonly kinds: readonly string[];

    constructor(
        readonly faults: Faults = new Faults(),
        opts: { withoutDocker?: boolean; kinds?: readonly string[] } = {},
    ) {
        this.kinds = opts.kinds ?? KERNEL_KINDS;
        this.host = this.addNamespace("host", 1);
        if (!opts.withoutDocker) this.host.chains.set("DOCKER-USER", []);
    }

    // ---- direct API for tests and the fake Docker (never through the runner, never logged) ----

    /** The namespace `pid` is in (a container's, by its pid), or undefined. */
    nsOfPid(pid: number): FakeNetns | undefined {
        return this.byPid.get(pid);
    }

    /** A new namespace with `lo` up, as a container's; returns it (its pid is what nsenter targets). */
    addNamespace(label: string, pid = this.nextPid++): FakeNetns {
        const ns = new FakeNetns(label, pid);
        const lo = this.newLink(ns, "lo", "loopback", { mac: "00:00:00:00:00:00" });
        lo.up = true;
        lo.mtu = 65536;
        lo.addrs.push({ local: "127.0.0.1", prefixlen: 8 });
        this.byPid.set(pid, ns);
        return ns;
    }

    /** Another PID entering an existing namespace (a `--net=host` or `container:` process). */
    sharePid(ns: FakeNetns, pid = this.nextPid++): number {
        this.byPid.set(pid, ns);
        return pid;
    }

    /** The process is gone: its PID no longer enters anything; the namespace dies with its last PID. */
    dropPid(pid: number): void {
        const ns = this.byPid.get(pid);
        this.byPid.delete(pid);
        if (ns && ns !== this.host && ![...this.byPid.values()].includes(ns)) {
            for (const l of [...ns.links.values()]) if (ns.links.has(l.ifindex)) this.deleteLink(ns, l);
        }
    }

    namespaceOf(pid: number): FakeNetns | undefined {
        return this.byPid.get(pid);
    }

    namespaces(): FakeNetns[] {
        return [...new Set(this.byPid.values())];
    }

    /** A bridge made by hand (or by Docker): not through the runner. */
    addBridge(name: string, opts: { alias?: string; addrs?: string[]; up?: boolean; mac?: string } = {}, ns = this.host): FakeLink {
        const br = this.newLink(ns, name, "bridge", { mac: opts.mac });
        br.alias = opts.alias;
        br.up = opts.up ?? true;
        for (const a of opts.addrs ?? []) br.addrs.push(parseCidr(a)!);
        return br;
    }

    /** A veth pair made by hand: `a` in `nsA`, `b` in `nsB`. */
    addVeth(nsA: FakeNetns, a: string, nsB: FakeNetns, b: string, opts: { alias?: string; master?: string; up?: boolean } = {}): FakeLink {
        const la = this.newLink(nsA, a, "veth", {});
        const lb = this.newLink(nsB, b, "veth", {});
        la.peer = { ns: nsB, ifindex: lb.ifindex };
        lb.peer = { ns: nsA, ifindex: la.ifindex };
        la.alias = opts.alias;
        if (opts.master) {
            const br = nsA.byName(opts.master)!;
            la.master = br.ifindex;
            br.hadPorts = true;
        }
        la.up = lb.up = opts.up ?? false;
        return la;
    }

    /** A macvlan made by hand (or by Docker) in `ns`, on `parent` of `parentNs`: not through the runner. */
    addMacvlan(
        ns: FakeNetns,
        name: string,
        parentNs: FakeNetns,
        parent: string,
        opts: { alias?: string; mode?: string; up?: boolean } = {},
    ): FakeLink {
        const lower = parentNs.byName(parent)!;
        const l = this.newLink(ns, name, "macvlan", {});
        l.lower = { ns: parentNs, ifindex: lower.ifindex };
        l.mode = opts.mode ?? "bridge";
        l.alias = opts.alias;
        l.up = opts.up ?? false;
        l.mtu = lower.mtu;
        return l;
    }

    removeLink(ns: FakeNetns, name: string): void {
        const l = ns.byName(name);
        if (l) this.deleteLink(ns, l);
    }

    /** The runner to pass to setCommandRunner. */
    readonly runner: CommandRunner = async (argv, input) => this.run([...argv], input);

    /** The netlink helper to pass to setHelperTransport: requests as components/netlink answers them. */
    readonly helper: HelperTransport = async (pid, ops) => this.serve(pid, ops);

    /** Every request made of the helper. */
    readonly requests: { ns?: number; ops: HelperOp[] }[] = [];

    // ---- the helper ----

    private async serve(pid: number | undefined, ops: readonly HelperOp[]): Promise<HelperAnswer> {
        this.requests.push({ ns: pid, ops: [...ops] });
        const ns = pid ? this.byPid.get(pid) : this.host;
        const results: unknown[] = [];
        for (const [index, op] of ops.entries()) {
            const mutating = !HELPER_READS.has(op.op);
            const args = op.op === "exec" ? undefined : argsOf(op);
            if (args === undefined && op.op !== "exec") {
                this.unknown.push(`helper ${JSON.stringify(op)}`);
                return { error: { index, message: `fake kernel: cannot read this operation: ${JSON.stringify(op)}` } };
            }
            const verdict =
                op.op === "exec"
                    ? undefined
                    : this.faults.next({
                          layer: "ip",
                          mutating,
                          text: `${op.op} ${args!.join(" ")} (in ${ns?.label ?? `pid ${pid}`}, netlink)`,
                          args,
                          op,
                          ns: ns?.label,
                          pid,
                      });
            if (verdict === "dead") throw new Error("fake kernel: the calling process was killed here (fault injection)");
            if (!ns)
                return {
                    error: { index: 0, errno: "ENOENT", message: `open /proc/${pid}/ns/net: no such file or directory`, netns: true },
                };
            if (verdict) {
                try {
                    if (args && args.length > 0) this.dryRun(ns, args);
                } catch (err) {
                    if (err instanceof Unknown) return this.unknownOp(index, op);
                    throw err;
                }
                return { error: { index, errno: verdict.errno ?? "EBUSY", message: verdict.stderr ?? INJECTED_STDERR } };
            }
            let r: Answered;
            try {
                r = await this.serveOne(ns, op, args);
            } catch (err) {
                if (err instanceof Unknown) return this.unknownOp(index, op);
                throw err;
            }
            if (r.exitCode !== 0) return { error: { index, errno: r.errno, message: r.stderr } };
            results.push(r.stdout === "" ? null : JSON.parse(r.stdout));
        }
        return { results };
    }

    private async serveOne(ns: FakeNetns, op: HelperOp, args: string[] | undefined): Promise<Answered> {
        if (op.op === "exec") {
            const r = await this.run([...(op.argv as string[])], op.input as string | undefined);
            return ok(JSON.stringify({ exitCode: r.exitCode ?? 255, stdout: r.stdout, stderr: r.stderr }));
        }
        if (op.op === "netnsOf") {
            const target = this.byPid.get(op.pid as number);
            return ok(JSON.stringify(target ? `net:[${4026531840 + this.namespaces().indexOf(target)}]` : ""));
        }
        if (op.op === "addrSettle") {
            // IPv4 only in this model: nothing is ever tentative.
            return ns.byName(op.name as string) ? ok() : result(ERR.cannotFind(op.name as string));
        }
        const r = this.exec(ns, args!) as Answered;
        // `linkGet` answers the link, not a list of one.
        if (op.op === "linkGet" && r.exitCode === 0) return ok(JSON.stringify(JSON.parse(r.stdout)[0]));
        return r;
    }

    private unknownOp(index: number, op: HelperOp): HelperAnswer {
        this.unknown.push(`helper ${JSON.stringify(op)}`);
        return { error: { index, message: `fake kernel: cannot read this operation: ${JSON.stringify(op)}` } };
    }

    // ---- the runner ----

    private async run(argv: string[], input?: string): Promise<CommandResult> {
        this.commands.push({ argv, input });
        let ns = this.host;
        let args = argv;
        if (argv[0] === "nsenter") {
            if (argv.length < 6 || argv[1] !== "--target" || argv[3] !== "--net" || argv[4] !== "--" || !/^\d+$/.test(argv[2])) {
                return this.unknownCommand(argv);
            }
            const target = this.byPid.get(Number(argv[2]));
            args = argv.slice(5);
            if (!target) {
                // nsenter fails before ip runs; the operation is still one the caller attempted.
                const verdict = this.faults.next({
                    layer: "ip",
                    mutating: !isRead(args),
                    text: `${args.join(" ")} (in pid ${argv[2]})`,
                    args,
                });
                if (verdict === "dead") return dead();
                if (verdict) return failed(verdict);
                return result(ERR.nsenterGone(argv[2]));
            }
            ns = target;
        }
        if (args.join(" ") === "unshare --net -- tc qdisc add dev lo root netem delay 1ms")
            return this.readOnly("tc", argv, result(ERR.noNetem));
        if (args[0] === "unshare" && ns === this.host) return this.probe(argv);
        if (args[0] === "iptables" && ns === this.host) return this.iptables(argv);
        if (args[0] === "nft") return this.nft(ns, argv, args.slice(1), input);
        if (args[0] === "tc") return this.tc(ns, argv, args.slice(1));
        if (args[0] === "cat" && args.length === 2 && BR_NETFILTER.includes(args[1])) return this.readOnly("sysctl", argv, ok("1"));
        if (FILE_TOOLS.includes(args[0]) && argv[0] !== "nsenter") return this.fileCommand(argv);
        if (args[0] !== "ip") return this.unknownCommand(argv);
        const ipArgs = args.slice(1);
        try {
            if (ipArgs[0] === "-batch") return this.batch(ns, ipArgs, input, argv);
            if (input !== undefined) return this.unknownCommand(argv);
            const verdict = this.faults.next({
                layer: "ip",
                mutating: !isRead(args),
                text: `ip ${ipArgs.join(" ")} (in ${ns.label})`,
                args: ipArgs,
                ns: ns.label,
                pid: argv[0] === "nsenter" ? Number(argv[2]) : undefined,
            });
            if (verdict === "dead") return dead();
            if (verdict) {
                // Validated first, so that an injected failure never hides an argv the fake cannot read.
                this.dryRun(ns, ipArgs);
                return failed(verdict);
            }
            return this.exec(ns, ipArgs);
        } catch (err) {
            if (err instanceof Unknown) return this.unknownCommand(argv);
            throw err;
        }
    }

    private batch(ns: FakeNetns, ipArgs: string[], input: string | undefined, argv: string[]): CommandResult {
        if (ipArgs.length !== 2 || ipArgs[1] !== "-" || input === undefined) return this.unknownCommand(argv);
        const lines = input.split("\n");
        if (lines[lines.length - 1] === "") lines.pop();
        for (const [i, line] of lines.entries()) {
            const words = line.trim().split(/\s+/);
            if (line.trim() === "" || words.some((w) => /["'\\#]/.test(w)) || isRead(["ip", ...words])) return this.unknownCommand(argv);
            const verdict = this.faults.next({
                layer: "ip",
                mutating: true,
                text: `ip ${words.join(" ")} (in ${ns.label}, batch line ${i + 1})`,
                args: words,
                ns: ns.label,
                pid: argv[0] === "nsenter" ? Number(argv[2]) : undefined,
            });
            if (verdict === "dead") return dead();
            let r: CommandResult;
            if (verdict) {
                this.dryRun(ns, words);
                r = failed(verdict);
            } else {
                r = this.exec(ns, words);
            }
            if (r.exitCode !== 0) return { exitCode: 1, stdout: "", stderr: `${r.stderr}\nCommand failed -:${i + 1}` };
        }
        return { exitCode: 0, stdout: "", stderr: "" };
    }

    /** `iptables -w -S`, and `-C CHAIN`, `-I CHAIN 1`, `-D CHAIN` with a rule's argv. */
    private iptables(argv: string[]): CommandResult {
        const [, wait, op, chain, ...rest] = argv;
        if (wait !== "-w" || !["-S", "-C", "-I", "-D"].includes(op) || (op === "-S") !== (chain === undefined))
            return this.unknownCommand(argv);
        const verdict = this.faults.next({
            layer: "iptables",
            mutating: op === "-I" || op === "-D",
            text: argv.join(" "),
            args: argv.slice(1),
        });
        if (verdict === "dead") return dead();
        if (verdict) return failed(verdict);
        const chains = this.host.chains;
        if (op === "-S") {
            const lines = ["-P INPUT ACCEPT", `-P FORWARD ${chains.has("DOCKER-USER") ? "DROP" : "ACCEPT"}`, "-P OUTPUT ACCEPT"];
            for (const name of chains.keys()) if (name !== "FORWARD") lines.push(`-N ${name}`);
            for (const [name, rules] of chains)
                for (const r of rules) lines.push(`-A ${name} ${r.map((w, i) => (r[i - 1] === "--comment" ? `"${w}"` : w)).join(" ")}`);
            return { exitCode: 0, stdout: lines.join("\n"), stderr: "" };
        }
        const rules = chains.get(chain);
        const spec = op === "-I" ? rest.slice(1) : rest;
        if (op === "-I" && rest[0] !== "1") return this.unknownCommand(argv);
        const at = rules?.findIndex((r) => r.join("\0") === spec.join("\0")) ?? -1;
        if (op === "-C" || op === "-D") {
            if (at < 0) return result(ERR.badRule);
            if (op === "-D") rules!.splice(at, 1);
            return { exitCode: 0, stdout: "", stderr: "" };
        }
        if (!rules) return result(ERR.noChain);
        rules.unshift(spec);
        return { exitCode: 0, stdout: "", stderr: "" };
    }

    /** A read the fault plan may fail: `layer` for the log, `answer` when it does not. */
    private readOnly(layer: "tc" | "nft" | "sysctl", argv: string[], answer: CommandResult): CommandResult {
        const verdict = this.faults.next({ layer, mutating: false, text: argv.join(" "), args: argv });
        if (verdict === "dead") return dead();
        if (verdict) return failed(verdict);
        return answer;
    }

    /** `nft --version`, `nft list table inet T`, `nft -f -` (the Policy's scripts, one transaction). */
    private nft(ns: FakeNetns, argv: string[], args: string[], input: string | undefined): CommandResult {
        const a = args.join(" ");
        if (a === "--version" && input === undefined) return this.readOnly("nft", argv, ok("nftables v1.0.6 (Lester Gooch #5)"));
        let m: RegExpExecArray | null;
        if (a === "list tables inet" && input === undefined)
            return this.readOnly("nft", argv, ok([...ns.tables.keys()].map((name) => `table inet ${name}`).join("\n")));
        if ((m = /^list table inet (\S+)$/.exec(a)) && input === undefined) {
            const t = ns.tables.get(m[1]);
            return this.readOnly("nft", argv, t ? ok(nftListing(m[1], t)) : result(ERR.noTable(m[1])));
        }
        if (a !== "-f -" || input === undefined) return this.unknownCommand(argv);
        // Parsed whole first: a script the fake cannot read is a test failure, whatever the fault plan says.
        const next = new Map([...ns.tables].map(([k, v]) => [k, structuredClone(v)]));
        const parsed = applyNftScript(next, input);
        if (parsed === "unknown") return this.unknownCommand(argv);
        const verdict = this.faults.next({
            layer: "nft",
            mutating: true,
            text: `nft -f - (in ${ns.label}): ${input.split("\n")[0]} ...`,
            args,
        });
        if (verdict === "dead") return dead();
        if (verdict) return failed(verdict);
        if (parsed !== "ok") return result(parsed);
        ns.tables = next;
        return ok();
    }

    /** tc: root tbf and ingress qdiscs, the one u32/mirred filter on an ingress, and their `-j` reads. */
    private tc(ns: FakeNetns, argv: string[], args: string[]): CommandResult {
        const a = args.join(" ");
        let m: RegExpExecArray | null;
        if ((m = /^-j qdisc show dev (\S+)$/.exec(a))) {
            const l = ns.byName(m[1]);
            return this.readOnly("tc", argv, l ? ok(JSON.stringify(qdiscJson(l))) : result(ERR.cannotFind(m[1])));
        }
        if ((m = /^-j filter show dev (\S+) parent ffff:$/.exec(a))) {
            const l = ns.byName(m[1]);
            return this.readOnly("tc", argv, l ? ok(JSON.stringify(filterJson(l))) : result(ERR.cannotFind(m[1])));
        }
        type Change = { dev: string; apply: (l: FakeLink) => Failure | undefined };
        let change: Change | undefined;
        if ((m = /^qdisc replace dev (\S+) root tbf rate (\d+)bit burst (\d+) latency 25ms$/.exec(a))) {
            const [rate, burst] = [Math.floor(Number(m[2]) / 8), Number(m[3])];
            change = {
                dev: m[1],
                apply: (l) => void (l.tbf = { rate, burst, handle: l.tbf?.handle ?? `${(this.nextHandle++).toString(16)}:` }),
            };
        } else if ((m = /^qdisc del dev (\S+) root$/.exec(a))) {
            change = { dev: m[1], apply: (l) => (l.tbf ? void (l.tbf = undefined) : ERR.tcNoRoot) };
        } else if ((m = /^qdisc replace dev (\S+) handle ffff: ingress$/.exec(a))) {
            change = { dev: m[1], apply: (l) => void (l.ingress = true) };
        } else if ((m = /^qdisc del dev (\S+) ingress$/.exec(a))) {
            change = { dev: m[1], apply: (l) => (l.ingress ? void ((l.ingress = false), (l.redirect = undefined)) : ERR.tcInvalidHandle) };
        } else if (
            (m =
                /^filter replace dev (\S+) parent ffff: protocol all prio 1 handle 800::800 u32 match u32 0 0 action mirred egress redirect dev (\S+)$/.exec(
                    a,
                ))
        ) {
            const to = m[2];
            change = {
                dev: m[1],
                apply: (l) => {
                    if (!l.ingress)
                        return { stderr: "Error: Parent Qdisc doesn't exists.\nWe have an error talking to the kernel", exitCode: 2 };
                    if (!ns.byName(to)) return { stderr: `Cannot find device "${to}"`, exitCode: 1 };
                    l.redirect = to;
                    return undefined;
                },
            };
        }
        if (!change) return this.unknownCommand(argv);
        const verdict = this.faults.next({ layer: "tc", mutating: true, text: `tc ${a} (in ${ns.label})`, args, ns: ns.label });
        if (verdict === "dead") return dead();
        if (verdict) return failed(verdict);
        const l = ns.byName(change.dev);
        if (!l) return result(ERR.cannotFind(change.dev));
        const bad = change.apply(l);
        return bad ? result(bad) : ok();
    }

    private nextHandle = 0x8001;

    /** `mkdir -p D`, `ln -s T P`, `rm -f P`, `readlink -v P`, `find D -type l -exec readlink {} +`. */
    private fileCommand(argv: string[]): CommandResult {
        const a = argv.join(" ");
        const read = argv[0] === "find" || argv[0] === "readlink" || argv[0] === "mkdir";
        const shape =
            (argv[0] === "mkdir" && argv.length === 3 && argv[1] === "-p") ||
            (argv[0] === "ln" && argv.length === 4 && argv[1] === "-s") ||
            (argv[0] === "rm" && argv.length === 3 && argv[1] === "-f") ||
            (argv[0] === "readlink" && argv.length === 3 && argv[1] === "-v") ||
            (argv[0] === "find" && argv.length === 8 && a.endsWith(" -type l -exec readlink {} +"));
        if (!shape || !argv.slice(1).every((w) => !w.startsWith("-") || ["-p", "-s", "-f", "-v", "-type", "-exec"].includes(w)))
            return this.unknownCommand(argv);
        const verdict = this.faults.next({ layer: "file", mutating: !read, text: a, args: argv });
        if (verdict === "dead") return dead();
        if (verdict) return failed(verdict);
        const parent = (path: string) => path.slice(0, path.lastIndexOf("/")) || "/";
        if (argv[0] === "mkdir") {
            for (let p = argv[2]; p !== "/" && p !== ""; p = parent(p)) if (!this.files.has(p)) this.files.set(p, null);
            return ok();
        }
        if (argv[0] === "ln") {
            const path = argv[3];
            if (this.files.has(path)) return result(ERR.lnExists(path));
            if (this.files.get(parent(path)) !== null) return result(ERR.lnNoFolder(path));
            this.files.set(path, argv[2]);
            return ok();
        }
        if (argv[0] === "rm") {
            if (typeof this.files.get(argv[2]) === "string") this.files.delete(argv[2]);
            return ok();
        }
        if (argv[0] === "readlink") {
            const target = this.files.get(argv[2]);
            return typeof target === "string" ? ok(target) : result(ERR.readlinkMissing(argv[2]));
        }
        const dir = argv[1];
        if (this.files.get(dir) !== null) return result(ERR.findMissing(dir));
        const targets = [...this.files].filter(([p, t]) => p.startsWith(`${dir}/`) && typeof t === "string").map(([, t]) => t);
        return ok(targets.join("\n"));
    }

    /**
     * `unshare --net ip link add name N type K`: the kernel asked, in a new
     * namespace that dies with the command, whether it makes links of kind K.
     * Nothing anyone sees changes: a read.
     */
    private probe(argv: string[]): CommandResult {
        const m = /^unshare --net ip link add name (\S+) type (\S+)( vlan_filtering 1)?$/.exec(argv.join(" "));
        if (!m) return this.unknownCommand(argv);
        const verdict = this.faults.next({ layer: "ip", mutating: false, text: argv.join(" "), args: argv.slice(1) });
        if (verdict === "dead") return dead();
        if (verdict) return failed(verdict);
        const kind = m[2];
        if (!this.kinds.includes(kind)) return result(ERR.unknownKind);
        // A bridge with VLAN filtering: this machine's kernel has none (as setting it on a bridge here answers).
        if (m[3]) return kind === "bridge" && this.kinds.includes("bridge-vlan-filtering") ? ok() : result(ERR.notSupported);
        // A new namespace has only lo: a kind that needs a parent (or a VNI) refuses the bare request, in its own words.
        if (kind === "vxlan") return result(ERR.requiredAttributes);
        return kind === "macvlan" || kind === "ipvlan" ? result(ERR.invalid) : ok();
    }

    /** Removes by hand the rules whose comment is `mark`: not through the runner. */
    removeRules(mark: string): void {
        for (const [chain, rules] of this.host.chains)
            this.host.chains.set(
                chain,
                rules.filter((r) => r[r.indexOf("--comment") + 1] !== mark),
            );
    }

    private unknownCommand(argv: string[]): CommandResult {
        this.unknown.push(argv.join(" "));
        return { exitCode: 255, stdout: "", stderr: `fake kernel: cannot read this command: ${argv.join(" ")}` };
    }

    /** Checks that `args` parses, without changing anything (throws Unknown otherwise). */
    private dryRun(ns: FakeNetns, args: string[]): void {
        const snapshot = this.cloneState();
        try {
            this.exec(ns, args);
        } finally {
            this.restoreState(snapshot);
        }
    }

    private exec(ns: FakeNetns, args: string[]): CommandResult {
        const a = args.join(" ");
        let m: RegExpExecArray | null;
        if ((m = /^-j -d link show dev (\S+)$/.exec(a))) return this.show(ns, m[1], { details: true, addrs: false });
        if ((m = /^-j addr show dev (\S+)$/.exec(a))) return this.show(ns, m[1], { details: false, addrs: true });
        if ((m = /^-j -d addr show dev (\S+)$/.exec(a))) return this.show(ns, m[1], { details: true, addrs: true });
        if (a === "-j -d addr show") return ok(JSON.stringify([...ns.links.values()].map((l) => this.linkJson(ns, l, true, true))));
        if (a === "-j -4 route show default") {
            return ok(
                JSON.stringify(
                    ns.routes.map((r) => {
                        const dev = ns.links.get(r.dev)!;
                        return { dst: "default", gateway: r.gateway, dev: dev.name, flags: this.carrier(ns, dev) ? [] : ["linkdown"] };
                    }),
                ),
            );
        }
        if (args[0] === "link" && args[1] === "add") return this.linkAdd(ns, args.slice(2));
        if (args[0] === "link" && args[1] === "set") return this.linkSet(ns, args.slice(2));
        if ((m = /^link del dev (\S+)$/.exec(a))) {
            const l = ns.byName(m[1]);
            if (!l) return result(ERR.cannotFind(m[1]));
            if (l.kind === "loopback") return result(ERR.notSupported);
            this.deleteLink(ns, l);
            return ok();
        }
        if ((m = /^addr (add|del) (\S+) dev (\S+)$/.exec(a))) return this.addr(ns, m[1] as "add" | "del", m[2], m[3]);
        if ((m = /^route add default via (\S+) dev (\S+)$/.exec(a))) return this.routeAdd(ns, m[1], m[2]);
        if ((m = /^route del default dev (\S+)$/.exec(a))) {
            const dev = ns.byName(m[1]);
            if (!dev) return result(ERR.cannotFind(m[1]));
            const before = ns.routes.length;
            ns.routes = ns.routes.filter((r) => r.dev !== dev.ifindex);
            return ns.routes.length === before ? result(ERR.noSuchProcess) : ok();
        }
        throw new Unknown(a);
    }

    private show(ns: FakeNetns, name: string, opts: { details: boolean; addrs: boolean }): CommandResult {
        const l = ns.byName(name);
        if (!l) return result(ERR.noDevice(name));
        return ok(JSON.stringify([this.linkJson(ns, l, opts.details, opts.addrs)]));
    }

    /** `link add name N [mtu M] [address A] type bridge|veth [peer name P [mtu M] [address A] [netns PID]]`. */
    private linkAdd(ns: FakeNetns, args: string[]): CommandResult {
        const [own, typeArgs] = splitAt(args, "type");
        if (!typeArgs || typeArgs.length === 0) throw new Unknown(args.join(" "));
        if (typeArgs[0] === "macvlan" || typeArgs[0] === "ipvlan") return this.macvlanAdd(ns, own, typeArgs);
        const local = parseLinkOptions(own, ["name", "mtu", "address"]);
        if (!local.name) throw new Unknown(args.join(" "));
        if (!IFNAME.test(local.name)) return result(ERR.badIfname(local.name, "name"));
        const kind = typeArgs[0];
        if (kind === "ifb") {
            if (typeArgs.length !== 1) throw new Unknown(args.join(" "));
            const bad = this.checkSettings(local);
            if (bad) return result(bad);
            if (ns.byName(local.name)) return result(ERR.exists);
            this.newLink(ns, local.name, "ifb", { mac: local.address });
            return ok();
        }
        if (kind === "bridge") {
            if (typeArgs.length !== 1) throw new Unknown(args.join(" "));
            const bad = this.checkSettings(local);
            if (bad) return result(bad);
            if (ns.byName(local.name)) return result(ERR.exists);
            const br = this.newLink(ns, local.name, "bridge", { mac: local.address });
            if (local.mtu !== undefined) Object.assign(br, { mtu: local.mtu, mtuSet: true });
            return ok();
        }
        if (kind !== "veth" || typeArgs[1] !== "peer") throw new Unknown(args.join(" "));
        const peer = parseLinkOptions(typeArgs.slice(2), ["name", "mtu", "address", "netns"]);
        if (!peer.name) throw new Unknown(args.join(" "));
        if (!IFNAME.test(peer.name)) return result(ERR.badIfname(peer.name, "name"));
        const bad = this.checkSettings(local) ?? this.checkSettings(peer);
        if (bad) return result(bad);
        const peerNs = peer.netns === undefined ? ns : this.byPid.get(peer.netns);
        if (!peerNs) return result(ERR.noSuchProcess);
        if (ns.byName(local.name) || peerNs.byName(peer.name) || (peerNs === ns && peer.name === local.name)) return result(ERR.exists);
        // The kernel registers the peer first: in one namespace, it has the lower index.
        const p = this.newLink(peerNs, peer.name, "veth", { mac: peer.address });
        const l = this.newLink(ns, local.name, "veth", { mac: local.address });
        if (local.mtu !== undefined) l.mtu = local.mtu;
        if (peer.mtu !== undefined) p.mtu = peer.mtu;
        l.peer = { ns: peerNs, ifindex: p.ifindex };
        p.peer = { ns, ifindex: l.ifindex };
        return ok();
    }

    /** A macvlan (an ipvlan is an unknown kind here), with the kernel's refusals. */
    private macvlanAdd(ns: FakeNetns, own: string[], typeArgs: string[]): CommandResult {
        const o = parseLinkOptions(own, ["link", "name", "mtu", "address", "netns"]);
        if (!o.name || typeArgs.length !== 3 || typeArgs[1] !== "mode") throw new Unknown([...own, "type", ...typeArgs].join(" "));
        const mode = typeArgs[2];
        if (!(typeArgs[0] === "macvlan" ? MACVLAN_MODES : IPVLAN_MODES).includes(mode)) throw new Unknown(`mode ${mode}`);
        if (!IFNAME.test(o.name)) return result(ERR.badIfname(o.name, "name"));
        const bad = this.checkSettings(o);
        if (bad) return result(bad);
        if (o.link === undefined) return result(ERR.invalid);
        let parent = ns.byName(o.link);
        // iproute2 finds the parent by name before it asks the kernel anything.
        if (!parent) return result(ERR.cannotFind(o.link));
        if (!this.kinds.includes(typeArgs[0])) return result(ERR.unknownKind);
        const target = o.netns === undefined ? ns : this.byPid.get(o.netns);
        if (!target) return result(ERR.noSuchProcess);
        // A macvlan of a macvlan sits on that one's parent.
        let parentNs = ns;
        if (parent.kind === "macvlan" && parent.lower) {
            parentNs = parent.lower.ns;
            parent = parent.lower.ns.links.get(parent.lower.ifindex)!;
        }
        if (parent.kind === "loopback") return result(ERR.invalid);
        if (parent.master !== undefined) return result(ERR.busy);
        const siblings = this.macvlansOf(parentNs, parent);
        if (siblings.some((c) => c.mode === "passthru") || (mode === "passthru" && siblings.length > 0)) return result(ERR.invalid);
        if (o.mtu !== undefined && o.mtu > parent.mtu) return result(ERR.invalid);
        if (target.byName(o.name)) return result(ERR.exists);
        const l = this.newLink(target, o.name, "macvlan", { mac: mode === "passthru" ? parent.mac : o.address });
        l.macSet = mode === "passthru" || o.address !== undefined;
        l.lower = { ns: parentNs, ifindex: parent.ifindex };
        l.mode = mode;
        l.mtu = o.mtu ?? parent.mtu;
        return ok();
    }

    /** The macvlans on `parent`, in any namespace. */
    private macvlansOf(parentNs: FakeNetns, parent: FakeLink): FakeLink[] {
        return this.namespaces().flatMap((n) =>
            [...n.links.values()].filter((l) => l.kind === "macvlan" && l.lower?.ns === parentNs && l.lower.ifindex === parent.ifindex),
        );
    }

    /** `link set dev N [name X] [master B] [alias A] [mtu M] [address A] [up|down]` or `link set dev N type bridge [stp_state 0|1] [vlan_filtering 0|1]`. */
    private linkSet(ns: FakeNetns, args: string[]): CommandResult {
        if (args[0] !== "dev" || args.length < 3) throw new Unknown(args.join(" "));
        const name = args[1];
        const rest = args.slice(2);
        if (rest[0] === "type") {
            if (rest[1] !== "bridge") throw new Unknown(args.join(" "));
            const opts = parseLinkOptions(rest.slice(2), ["stp_state", "vlan_filtering"]);
            const l = ns.byName(name);
            if (!l) return result(ERR.cannotFind(name));
            if (l.kind !== "bridge") return result(ERR.notSupported);
            // This kernel has no CONFIG_BRIDGE_VLAN_FILTERING: any vlan_filtering attribute fails the whole message.
            if (opts.vlan_filtering !== undefined) return result(ERR.notSupported);
            if (opts.stp_state !== undefined) l.stp = opts.stp_state === 1;
            return ok();
        }
        let state: "up" | "down" | undefined;
        const words = [...rest];
        const last = words[words.length - 1];
        if (last === "up" || last === "down") {
            state = last;
            words.pop();
        }
        const s = parseLinkOptions(words, ["name", "master", "alias", "mtu", "address"]);
        const l = ns.byName(name);
        if (!l) return result(ERR.cannotFind(name));
        if (s.name !== undefined) {
            // The name is changed first; a failure changes nothing. (This kernel renames a link that is up too;
            // kernels before 6.2 need it down, as a new link is.)
            if (!IFNAME.test(s.name)) return result(ERR.badIfname(s.name, "name"));
            if (s.name !== name && ns.byName(s.name)) return result(ERR.exists);
        }
        if (l.kind === "macvlan" && s.mtu !== undefined && l.lower) {
            const lower = l.lower.ns.links.get(l.lower.ifindex);
            if (lower && s.mtu > lower.mtu) return result(ERR.invalid);
        }
        if (s.master !== undefined && !ns.byName(s.master)) return result(ERR.masterMissing(s.master));
        const bad = this.checkSettings(s);
        if (bad) return result(bad);
        const master = s.master === undefined ? undefined : ns.byName(s.master)!;
        if (master && (master.kind !== "bridge" || master === l)) return result(ERR.notSupported);
        if (s.address !== undefined) {
            l.mac = s.address.toLowerCase();
            l.macSet = true;
        }
        if (s.mtu !== undefined) {
            l.mtu = s.mtu;
            l.mtuSet = true;
        }
        if (s.name !== undefined) l.name = s.name;
        if (s.alias !== undefined) l.alias = s.alias === "" ? undefined : s.alias;
        const before = l.master;
        if (master) {
            l.master = master.ifindex;
            master.hadPorts = true;
        }
        for (const br of new Set([before, l.master, l.kind === "bridge" ? l.ifindex : undefined]))
            if (br !== undefined) this.adjustMtu(ns, br);
        if (state === "up") l.up = true;
        if (state === "down") this.setDown(ns, l);
        return ok();
    }

    private checkSettings(s: { mtu?: number; address?: string }): Failure | undefined {
        if (s.address !== undefined && !MAC.test(s.address)) return ERR.badLladdr(s.address);
        if (s.mtu !== undefined && s.mtu > 65535) return ERR.mtuTooBig;
        if (s.mtu !== undefined && s.mtu < 68) return ERR.mtuTooSmall;
        return undefined;
    }

    private addr(ns: FakeNetns, op: "add" | "del", cidr: string, dev: string): CommandResult {
        const a = parseCidr(cidr);
        if (!a) throw new Unknown(`addr ${op} ${cidr}`);
        const l = ns.byName(dev);
        if (!l) return result(ERR.cannotFind(dev));
        const i = l.addrs.findIndex((x) => x.local === a.local && x.prefixlen === a.prefixlen);
        if (op === "add") {
            if (i >= 0) return result(ERR.addressAssigned);
            l.addrs.push(a);
            return ok();
        }
        if (i < 0) return result(ERR.addressNotFound);
        l.addrs.splice(i, 1);
        // Routes whose gateway this address reached go with it.
        ns.routes = ns.routes.filter((r) => r.dev !== l.ifindex || this.reaches(l, r.gateway));
        return ok();
    }

    private routeAdd(ns: FakeNetns, gateway: string, devName: string): CommandResult {
        if (!parseCidr(`${gateway}/32`)) throw new Unknown(`route add default via ${gateway}`);
        const dev = ns.byName(devName);
        if (!dev) return result(ERR.cannotFind(devName));
        if (!dev.up || !this.reaches(dev, gateway)) return result(ERR.invalidGateway);
        if (ns.routes.length > 0) return result(ERR.exists);
        ns.routes.push({ gateway, dev: dev.ifindex });
        return ok();
    }

    private reaches(l: FakeLink, gateway: string): boolean {
        return l.addrs.some((x) => sameSubnet(x.local, gateway, x.prefixlen));
    }

    // ---- object model ----

    private newLink(ns: FakeNetns, name: string, kind: LinkKind, opts: { mac?: string }): FakeLink {
        const link: FakeLink = {
            ifindex: ns.allocIndex(),
            name,
            kind,
            up: false,
            mtu: 1500,
            mac: opts.mac?.toLowerCase() ?? this.randomMac(),
            macSet: opts.mac !== undefined,
            addrs: [],
            stp: false,
        };
        ns.links.set(link.ifindex, link);
        return link;
    }

    private randomMac(): string {
        const n = ++this.macCounter;
        return `5a:00:00:${[(n >> 16) & 255, (n >> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, "0")).join(":")}`;
    }

    private setDown(ns: FakeNetns, l: FakeLink): void {
        l.up = false;
        ns.routes = ns.routes.filter((r) => r.dev !== l.ifindex);
    }

    /** A bridge whose MTU nobody set takes its ports' smallest, or 1500 without ports (as the kernel's br_mtu_auto_adjust). */
    private adjustMtu(ns: FakeNetns, ifindex: number): void {
        const br = ns.links.get(ifindex);
        if (!br || br.kind !== "bridge" || br.mtuSet) return;
        const ports = [...ns.links.values()].filter((p) => p.master === ifindex);
        br.mtu = ports.length === 0 ? 1500 : Math.min(...ports.map((p) => p.mtu));
    }

    private deleteLink(ns: FakeNetns, l: FakeLink): void {
        // A parent takes its macvlans with it, wherever they are.
        for (const child of this.macvlansOf(ns, l))
            this.deleteLink(
                this.namespaces().find((n) => n.links.get(child.ifindex) === child)!,
                child,
            );
        ns.links.delete(l.ifindex);
        if (l.master !== undefined) this.adjustMtu(ns, l.master);
        ns.routes = ns.routes.filter((r) => r.dev !== l.ifindex);
        for (const other of ns.links.values()) if (other.master === l.ifindex) other.master = undefined;
        if (l.peer) {
            const { ns: peerNs, ifindex } = l.peer;
            l.peer = undefined;
            const p = peerNs.links.get(ifindex);
            if (p) {
                p.peer = undefined;
                this.deleteLink(peerNs, p);
            }
        }
    }

    private carrier(ns: FakeNetns, l: FakeLink): boolean {
        if (!l.up) return false;
        if (l.kind === "veth") return !!l.peer && !!l.peer.ns.links.get(l.peer.ifindex)?.up;
        if (l.kind === "ifb") return true;
        if (l.kind === "macvlan") {
            const lower = l.lower && l.lower.ns.links.get(l.lower.ifindex);
            return !!lower && this.carrier(l.lower!.ns, lower);
        }
        if (l.kind === "bridge") {
            const ports = [...ns.links.values()].filter((p) => p.master === l.ifindex);
            return ports.length === 0 ? !l.hadPorts : ports.some((p) => this.carrier(ns, p));
        }
        return true;
    }

    private linkJson(ns: FakeNetns, l: FakeLink, details: boolean, withAddrs: boolean): Record<string, unknown> {
        const carrier = this.carrier(ns, l);
        // A veth's peer, or a macvlan's parent: by name in the same namespace, by index (and nsid) in another.
        const other = l.peer ?? l.lower;
        const peer = other ? other.ns.links.get(other.ifindex) : undefined;
        const o: Record<string, unknown> = { ifindex: l.ifindex };
        if (peer && other!.ns === ns) o.link = peer.name;
        if (peer && other!.ns !== ns) o.link_index = peer.ifindex;
        o.ifname = l.name;
        const flags = l.kind === "loopback" ? ["LOOPBACK"] : l.kind === "ifb" ? ["BROADCAST", "NOARP"] : ["BROADCAST", "MULTICAST"];
        if (l.up) flags.push("UP");
        if (l.up && carrier) flags.push("LOWER_UP");
        if (l.up && !carrier) flags.unshift("NO-CARRIER");
        if (!l.up && l.kind === "veth" && peer && !peer.up) flags.push("M-DOWN");
        o.flags = flags;
        o.mtu = l.mtu;
        o.qdisc = l.up ? "noqueue" : "noop";
        if (l.master !== undefined) o.master = ns.links.get(l.master)!.name;
        const ports = [...ns.links.values()].filter((p) => p.master === l.ifindex);
        o.operstate = !l.up
            ? "DOWN"
            : l.kind === "loopback" || (l.kind === "bridge" && ports.length === 0)
              ? "UNKNOWN"
              : carrier
                ? "UP"
                : "DOWN";
        if (!withAddrs) o.linkmode = "DEFAULT";
        o.group = "default";
        o.txqlen = 1000;
        o.link_type = l.kind === "loopback" ? "loopback" : "ether";
        o.address = l.mac;
        o.broadcast = l.kind === "loopback" ? "00:00:00:00:00:00" : "ff:ff:ff:ff:ff:ff";
        if (peer && other!.ns !== ns) o.link_netnsid = ns.nsid(other!.ns);
        if (details) {
            o.promiscuity = l.master !== undefined ? 1 : 0;
            o.allmulti = l.master !== undefined ? 1 : 0;
            o.min_mtu = l.kind === "loopback" ? 0 : 68;
            o.max_mtu = l.kind === "loopback" ? 0 : 65535;
            if (l.kind !== "loopback") {
                const info: Record<string, unknown> = { info_kind: l.kind };
                if (l.kind === "bridge")
                    info.info_data = { forward_delay: 1500, stp_state: l.stp ? 1 : 0, priority: 32768, vlan_filtering: 0 };
                if (l.kind === "macvlan") info.info_data = { mode: l.mode, bcqueuelen: 1000, usedbcqueuelen: 1000 };
                if (l.master !== undefined) {
                    info.info_slave_kind = "bridge";
                    info.info_slave_data = { state: l.up ? "forwarding" : "disabled" };
                }
                o.linkinfo = info;
            }
            o.num_tx_queues = l.kind === "veth" ? 2 : 1;
            o.num_rx_queues = l.kind === "veth" ? 2 : 1;
        }
        // `addr show` prints the alias only with -d; `link show` always.
        if (l.alias !== undefined && (details || !withAddrs)) o.ifalias = l.alias;
        if (withAddrs) {
            const addrs: Record<string, unknown>[] = l.addrs.map((x) => ({
                family: "inet",
                local: x.local,
                prefixlen: x.prefixlen,
                scope: x.local.startsWith("127.") ? "host" : "global",
                label: l.name,
                valid_life_time: 4294967295,
                preferred_life_time: 4294967295,
            }));
            if (l.up) {
                addrs.push({
                    family: "inet6",
                    local: l.kind === "loopback" ? "::1" : `fe80::${l.mac.split(":").slice(2).join("")}`,
                    prefixlen: l.kind === "loopback" ? 128 : 64,
                    scope: l.kind === "loopback" ? "host" : "link",
                    valid_life_time: 4294967295,
                    preferred_life_time: 4294967295,
                });
            }
            o.addr_info = addrs;
        }
        return o;
    }

    // What a dry run may change, to put back: each namespace's links (the same objects, their fields), routes, counters.
    private cloneState() {
        return this.namespaces().map((ns) => ({
            ns,
            counters: ns.saveCounters(),
            links: [...ns.links.values()].map((l) => ({ l, fields: { ...l, addrs: [...l.addrs], peer: l.peer && { ...l.peer } } })),
            routes: ns.routes.map((r) => ({ ...r })),
        }));
    }

    private restoreState(saved: ReturnType<FakeKernel["cloneState"]>): void {
        for (const s of saved) {
            s.ns.links.clear();
            for (const { l, fields } of s.links) {
                for (const k of Object.keys(l)) if (!(k in fields)) delete (l as unknown as Record<string, unknown>)[k];
                Object.assign(l, fields);
                s.ns.links.set(l.ifindex, l);
            }
            s.ns.routes = s.routes;
            s.ns.restoreCounters(s.counters);
        }
    }
}

/** The file tools the records use (host/records.ts). */
const FILE_TOOLS = ["mkdir", "ln", "rm", "readlink", "find"];

/** The helper's operations that only read. */
const HELPER_READS = new Set(["linkGet", "linkList", "routeList", "routeGet", "netnsOf", "addrSettle", "exec"]);

/**
 * The `ip` arguments that do what a helper operation does: the fake serves
 * both boundaries with one model. Written here from components/netlink/ops.go,
 * not from the library's builders, so that a builder that sends the wrong
 * operation is caught. Undefined: an operation this fake does not model.
 */
function argsOf(op: HelperOp): string[] | undefined {
    const str = (k: string) => (op[k] === undefined ? undefined : String(op[k]));
    const opt = (k: string, word: string, from: Record<string, unknown> = op) =>
        from[k] === undefined || from[k] === "" || from[k] === 0 ? [] : [word, String(from[k])];
    switch (op.op) {
        case "linkGet":
            return ["-j", "-d", op.addrs ? "addr" : "link", "show", "dev", str("name")!];
        case "linkList":
            return ["-j", "-d", op.addrs ? "addr" : "link", "show"];
        case "routeList":
            return op.family === 6 ? undefined : ["-j", "-4", "route", "show", "default"];
        case "netnsOf":
        case "addrSettle":
            return [];
        case "vethAdd": {
            const peer = op.peer as Record<string, unknown>;
            return [
                "link",
                "add",
                "name",
                str("name")!,
                ...opt("mtu", "mtu"),
                ...opt("mac", "address"),
                "type",
                "veth",
                "peer",
                "name",
                String(peer.name),
                ...opt("mtu", "mtu", peer),
                ...opt("mac", "address", peer),
                ...opt("pid", "netns", peer),
            ];
        }
        case "sublinkAdd":
            return [
                "link",
                "add",
                "link",
                str("parent")!,
                "name",
                str("name")!,
                ...opt("mtu", "mtu"),
                ...opt("mac", "address"),
                ...opt("pid", "netns"),
                "type",
                str("kind")!,
                "mode",
                str("mode")!,
            ];
        case "bridgeAdd":
            return ["link", "add", "name", str("name")!, ...opt("mtu", "mtu"), ...opt("mac", "address"), "type", "bridge"];
        case "ifbAdd":
            return ["link", "add", "name", str("name")!, ...opt("mac", "address"), "type", "ifb"];
        case "linkSet":
            return [
                "link",
                "set",
                "dev",
                str("name")!,
                ...(op.newName === undefined ? [] : ["name", String(op.newName)]),
                ...(op.master === undefined ? [] : ["master", String(op.master)]),
                ...(op.alias === undefined ? [] : ["alias", String(op.alias)]),
                ...opt("mtu", "mtu"),
                ...opt("mac", "address"),
                ...(op.up === undefined ? [] : [op.up ? "up" : "down"]),
            ];
        case "bridgeSet":
            return [
                "link",
                "set",
                "dev",
                str("name")!,
                "type",
                "bridge",
                ...(op.stp === undefined ? [] : ["stp_state", op.stp ? "1" : "0"]),
                ...(op.vlanFiltering === undefined ? [] : ["vlan_filtering", op.vlanFiltering ? "1" : "0"]),
            ];
        case "linkDel":
            return ["link", "del", "dev", str("name")!];
        case "addrAdd":
        case "addrDel":
            return ["addr", op.op === "addrAdd" ? "add" : "del", str("cidr")!, "dev", str("name")!];
        case "routeAddDefault":
            return ["route", "add", "default", "via", str("gateway")!, "dev", str("name")!];
        case "routeDelDefault":
            return op.family === 6 ? undefined : ["route", "del", "default", "dev", str("name")!];
    }
    return undefined;
}

function isRead(args: readonly string[]): boolean {
    return args[1] === "-j";
}

function splitAt(args: string[], word: string): [string[], string[] | undefined] {
    const i = args.indexOf(word);
    return i < 0 ? [args, undefined] : [args.slice(0, i), args.slice(i + 1)];
}

interface LinkOptions {
    name?: string;
    link?: string;
    mtu?: number;
    address?: string;
    netns?: number;
    master?: string;
    alias?: string;
    stp_state?: number;
    vlan_filtering?: number;
}

/** Keyword-value pairs; a keyword not in `allowed`, a repeat or a missing value is not understood. */
function parseLinkOptions(words: string[], allowed: (keyof LinkOptions)[]): LinkOptions {
    const o: LinkOptions = {};
    if (words.length % 2 !== 0) throw new Unknown(words.join(" "));
    for (let i = 0; i < words.length; i += 2) {
        const key = words[i] as keyof LinkOptions;
        const value = words[i + 1];
        if (!allowed.includes(key) || key in o) throw new Unknown(words.join(" "));
        if (key === "mtu" || key === "netns") {
            if (!/^\d+$/.test(value)) throw new Unknown(words.join(" "));
            o[key] = Number(value);
        } else if (key === "stp_state" || key === "vlan_filtering") {
            if (value !== "0" && value !== "1") throw new Unknown(words.join(" "));
            o[key] = Number(value);
        } else {
            o[key] = value;
        }
    }
    return o;
}

function ok(stdout = ""): CommandResult {
    return { exitCode: 0, stdout, stderr: "" };
}

function result(f: Failure): Answered {
    return { exitCode: f.exitCode, stdout: "", stderr: f.stderr, errno: f.errno };
}

function failed(fault: Fault): CommandResult {
    if (fault.kind === "crash") return dead();
    return { exitCode: fault.exitCode ?? 2, stdout: "", stderr: fault.stderr ?? INJECTED_STDERR };
}

/** What the caller sees after it "died": the tests ignore it; nothing took effect. */
function dead(): CommandResult {
    return {
        exitCode: undefined,
        stdout: "",
        stderr: "",
        spawnError: new Error("fake kernel: the calling process was killed here (fault injection)"),
    };
}

/** The br_netfilter settings the Policy reads (`cat /proc/sys/...`): 1, as Docker sets them. */
const BR_NETFILTER = ["/proc/sys/net/bridge/bridge-nf-call-iptables", "/proc/sys/net/bridge/bridge-nf-call-ip6tables"];

/** `nft list table inet T` as nft 1.0.6 prints it (counters zero: the fake forwards no traffic). */
function nftListing(name: string, t: FakeTable): string {
    const blocks: string[][] = [];
    for (const set of t.sets) {
        blocks.push([
            `\tset ${set.name} {`,
            `\t\ttype ${set.type}`,
            ...(set.elements.length > 0 ? [`\t\telements = { ${set.elements.join(", ")} }`] : []),
            "\t}",
        ]);
    }
    for (const chain of t.chains) {
        blocks.push([
            `\tchain ${chain.name} {`,
            `\t\t${chain.header}`,
            ...chain.rules.map((r) => `\t\t${r.replace(/\bcounter\b/, "counter packets 0 bytes 0")}`),
            "\t}",
        ]);
    }
    const body = blocks.map((b) => b.join("\n")).join("\n\n");
    return [`table inet ${name} {`, ...(t.comment !== undefined ? [`\tcomment "${t.comment}"`] : []), body, "}"].join("\n");
}

/**
 * Applies a script of the Policy's shapes (`table inet T`, `delete table inet
 * T`, `table inet T { ... }` whole) to `tables`; "unknown" for anything else,
 * or the failure nft would report.
 */
function applyNftScript(tables: Map<string, FakeTable>, script: string): "ok" | "unknown" | Failure {
    const lines = script.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    let m: RegExpExecArray | null;
    for (let i = 0; i < lines.length; i++) {
        const line = lines[i];
        if ((m = /^table inet ([a-zA-Z_][a-zA-Z0-9_]*)$/.exec(line))) {
            if (!tables.has(m[1])) tables.set(m[1], { sets: [], chains: [] });
        } else if ((m = /^delete table inet ([a-zA-Z_][a-zA-Z0-9_]*)$/.exec(line))) {
            if (!tables.delete(m[1])) return { stderr: `Error: Could not process rule: No such file or directory\n${line}`, exitCode: 1 };
        } else if ((m = /^table inet ([a-zA-Z_][a-zA-Z0-9_]*) \{$/.exec(line))) {
            const t: FakeTable = tables.get(m[1]) ?? { sets: [], chains: [] };
            for (i++; i < lines.length && lines[i] !== "}"; i++) {
                const l = lines[i];
                let b: RegExpExecArray | null;
                if ((b = /^\tcomment "([^"]*)"$/.exec(l))) t.comment = b[1];
                else if ((b = /^\tset (\S+) \{$/.exec(l))) {
                    const set = { name: b[1], type: "", elements: [] as string[] };
                    for (i++; i < lines.length && lines[i] !== "\t}"; i++) {
                        const x = lines[i];
                        let c: RegExpExecArray | null;
                        if ((c = /^\t\ttype (ipv4_addr|ipv6_addr)$/.exec(x))) set.type = c[1];
                        else if ((c = /^\t\telements = \{ (.*) \}$/.exec(x))) set.elements = c[1].split(", ");
                        else return "unknown";
                    }
                    if (!set.type || t.sets.some((x) => x.name === set.name)) return "unknown";
                    t.sets.push(set);
                } else if ((b = /^\tchain (\S+) \{$/.exec(l))) {
                    const header = lines[++i]?.replace(/^\t\t/, "");
                    if (!/^type filter hook forward priority filter - 10; policy accept;$/.test(header ?? "")) return "unknown";
                    const chain = { name: b[1], header, rules: [] as string[] };
                    for (i++; i < lines.length && lines[i] !== "\t}"; i++) {
                        const rule = /^\t\t(.+)$/.exec(lines[i])?.[1];
                        if (!rule) return "unknown";
                        // A set a rule names must be in the table (nft: "Could not process rule: No such file or directory").
                        for (const ref of rule.match(/@(\w+)/g) ?? []) if (!t.sets.some((x) => `@${x.name}` === ref)) return "unknown";
                        chain.rules.push(rule);
                    }
                    t.chains.push(chain);
                } else return "unknown";
            }
            if (lines[i] !== "}") return "unknown";
            tables.set(m[1], t);
        } else return "unknown";
    }
    return "ok";
}

/** `tc -j qdisc show dev X`: the root (a tbf, or the kernel's default) and the ingress qdisc. */
function qdiscJson(l: FakeLink): Record<string, unknown>[] {
    const root = l.tbf
        ? { kind: "tbf", handle: l.tbf.handle, root: true, refcnt: 2, options: { rate: l.tbf.rate, burst: l.tbf.burst, lat: 25000 } }
        : l.kind === "ifb"
          ? { kind: "pfifo_fast", handle: "0:", root: true, refcnt: 2, options: {} }
          : { kind: "noqueue", handle: "0:", root: true, refcnt: 2, options: {} };
    return [root, ...(l.ingress ? [{ kind: "ingress", handle: "ffff:", parent: "ffff:fff1", options: {} }] : [])];
}

/** `tc -j filter show dev X parent ffff:`: the one redirect, with the fields read (and the u32 table entries tc lists). */
function filterJson(l: FakeLink): Record<string, unknown>[] {
    if (!l.ingress || !l.redirect) return [];
    return [
        { protocol: "all", pref: 1, kind: "u32", chain: 0 },
        { protocol: "all", pref: 1, kind: "u32", chain: 0, options: { fh: "800:", ht_divisor: 1 } },
        {
            protocol: "all",
            pref: 1,
            kind: "u32",
            chain: 0,
            options: {
                fh: "800::800",
                actions: [{ order: 1, kind: "mirred", mirred_action: "redirect", direction: "egress", to_dev: l.redirect }],
            },
        },
    ];
}
