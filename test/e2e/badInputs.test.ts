// Bad input is refused at preview, through the real engine, with the
// resource, the field and what to do, and the host is left exactly as it was.
// One row per case: the program (test/e2e/fixtures/bad-inputs) makes the
// resources a row lists; the preview must fail with the row's message; the
// host's interfaces and addresses (in the host and in every fixture
// container), its containers and its networks must read back byte for byte
// the same, and nothing may carry the stack's owner mark.
//
// The fixtures are made once: containers in each mode, a dual-stack bridge, a
// foreign interface, a veth, a dual-stack Docker network with a container on
// it (and an IPv4-only one), and a hand-made dual-stack attachment of
// "another stack" on the bridge. The rows cover IPv4 and IPv6 alike; the
// snapshot compares the IPv4 and global IPv6 addresses of every interface
// (link-local ones come by themselves).

import * as assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import {
    containerPid,
    dockerInspect,
    kernelHas,
    kernelHasEsp,
    makeForeignLink,
    makeTestBridge,
    eventually,
    ipv6Addresses,
    RUN,
    RUN_OWNER,
    runByte,
    sh,
    startTestContainer,
    sweepRun,
    TEST_ALIAS,
    TEST_LABEL,
    uniqueSuffix,
    unusedIpv6Subnets,
} from "../helpers/host";
import { createStack, projectRoot, runAsJavaScript } from "../helpers/pulumi";

interface Row {
    title: string;
    resources: { type: string; name: string; args: Record<string, unknown> }[];
    /** Every one must appear in the preview's error output (a pattern where the engine's order decides the wording). */
    messages: (string | RegExp)[];
    /** Why this host cannot show the refusal (read from the host, the row is then skipped with it); undefined: it can. */
    skipUnless?: () => Promise<string | undefined>;
    /**
     * "up": what can only be known once another resource of the row exists (a container it makes): `up` must fail
     * with the messages before the refused resource touches anything (its check, run again once the container's id
     * is known, or the same checks at the start of its create), and after a `destroy` of what the row made, the host
     * must read back as before. Absent: refused by the preview.
     */
    at?: "up";
}

describe("bad input is refused at preview, naming the resource and the field, with the host untouched", function () {
    const sfx = uniqueSuffix();
    const n = runByte(9);
    const stackName = `bad-${RUN}`;
    const ownerPrefix = `hostnet/hostnet-bad/${stackName}/`;
    const names = {
        none: `hnt-bn-${sfx}`,
        stopped: `hnt-bs-${sfx}`,
        hostMode: `hnt-bh-${sfx}`,
        bridged: `hnt-bb-${sfx}`,
        onNet: `hnt-bc-${sfx}`,
        bridge: `hnt-bbr-${sfx}`,
        foreign: `hnt-bf-${sfx}`,
        veth: `hnt-bv-${sfx}`,
        other: `hnt-bo-${sfx}`,
        network: `hnt-bnet-${sfx}`,
        network4: `hnt-bn4-${sfx}`,
        wire: `hnt-bw1-${sfx}`,
        // Short enough that "<wire2>.10" is a valid interface name.
        wire2: `hnt-w2${sfx}`,
        sublink: `hnt-bmv-${sfx}`,
        macvlanNet: `hnt-bmn-${sfx}`,
        // A --net=none container that has default routes (IPv4 and IPv6) already, through a veth of its own.
        routed: `hnt-brt-${sfx}`,
        routedVeth: `hnt-brv-${sfx}`,
        nftTable: `hnt_bt_${sfx}`,
    };
    const bridgeNet = `10.246.${n}`;
    const dockerNet = `10.247.${n}`;
    const macvlanNet = `10.248.${n}`;
    const routedNet = `10.251.${n}`;
    let dockerIp = "";
    let dockerIp6 = "";
    // IPv6 /64s of the fixtures, each with its `::` (bridge6 `fdXX:...::`), and one nothing uses.
    let bridge6 = "";
    let dockerNet6 = "";
    let free6 = "";
    let other6 = "";
    let routed6 = "";
    let scratch = "";
    let stack: Stack;
    let pids: number[] = [];

    /** What the rows must not change: filtered to this suite's own objects, since other runs may share the host. */
    async function snapshot(): Promise<string> {
        const mine = (s: string) => s.includes(sfx) || s === "docker0" || s === "lo";
        // IPv6 link-local addresses come by themselves (and stay "tentative" for a moment): only IPv4 and global IPv6 ones are the library's.
        const ipv4Only = (links: { addr_info?: { family: string; scope?: string; tentative?: boolean }[] }[]) =>
            links.map((l) => ({
                ...l,
                // Whether a global IPv6 address is still "tentative" (DAD running, slow under load) is the kernel's, not a change.
                addr_info: (l.addr_info ?? [])
                    .filter((a) => a.family === "inet" || (a.family === "inet6" && a.scope === "global"))
                    .map(({ tentative: _t, ...a }) => a),
            }));
        const hostLinks = ipv4Only(
            JSON.parse((await sh(["ip", "-j", "addr", "show"])).stdout).filter((l: { ifname: string }) => mine(l.ifname)),
        );
        const inside = await Promise.all(
            pids.map(async (pid) =>
                ipv4Only(JSON.parse((await sh(["nsenter", "-t", String(pid), "-n", "ip", "-j", "addr", "show"])).stdout)),
            ),
        );
        const containers = (
            await sh(["docker", "ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.State}} {{.Networks}}"])
        ).stdout
            .split("\n")
            .filter(mine)
            .sort();
        const networks = (await sh(["docker", "network", "ls", "--no-trunc", "--format", "{{.ID}} {{.Name}}"])).stdout
            .split("\n")
            .filter(mine)
            .sort();
        return JSON.stringify({ hostLinks, inside, containers, networks }, null, 1);
    }

    /** Anything on the host carrying the stack's owner mark. */
    async function stackObjects(): Promise<string[]> {
        const links = JSON.parse((await sh(["ip", "-j", "link", "show"])).stdout)
            .filter((l: { ifalias?: string }) => l.ifalias?.startsWith(ownerPrefix))
            .map((l: { ifname: string }) => l.ifname);
        const containers = (await sh(["docker", "ps", "-aq", "--filter", `label=io.hostnet.owner`])).stdout.split("\n").filter(Boolean);
        const owned: string[] = [];
        for (const id of containers) {
            if (((await dockerInspect(id))?.Config?.Labels?.["io.hostnet.owner"] ?? "").startsWith(ownerPrefix)) owned.push(id);
        }
        return [...links, ...owned];
    }

    before(async function () {
        this.timeout(300000);
        await startTestContainer(names.none);
        await startTestContainer(names.stopped);
        await sh(["docker", "kill", names.stopped]);
        await startTestContainer(names.hostMode, "host");
        await startTestContainer(names.bridged, "bridge");
        dockerIp = (await dockerInspect(names.bridged)).NetworkSettings.Networks.bridge.IPAddress;
        [bridge6, dockerNet6, free6, other6, routed6] = (await unusedIpv6Subnets(5)).map((c) => c.split("/")[0]);
        await makeTestBridge(names.bridge, `${bridgeNet}.1/24`);
        await sh(["ip", "addr", "add", `${bridge6}1/64`, "dev", names.bridge]);
        await makeForeignLink(names.foreign);
        await sh(["ip", "link", "add", "name", names.veth, "type", "veth", "peer", "name", `hnt-bw-${sfx}`]);
        await sh(["ip", "link", "set", "dev", names.veth, "alias", TEST_ALIAS]);
        const nonePid = await containerPid(names.none);
        // An interface in the container that is not the library's, and another stack's attachment on the bridge.
        await sh(["nsenter", "-t", String(nonePid), "-n", "ip", "link", "add", "eth9", "type", "bridge"]);
        await sh(["ip", "link", "add", "name", names.other, "type", "veth", "peer", "name", "eth5", "netns", String(nonePid)]);
        await sh(["ip", "link", "set", "dev", names.other, "alias", TEST_ALIAS, "master", names.bridge, "up"]);
        await sh(["nsenter", "-t", String(nonePid), "-n", "ip", "addr", "add", `${bridgeNet}.77/24`, "dev", "eth5"]);
        await sh(["nsenter", "-t", String(nonePid), "-n", "sysctl", "-q", "-w", "net/ipv6/conf/eth5/disable_ipv6=0"]);
        await sh(["nsenter", "-t", String(nonePid), "-n", "ip", "addr", "add", `${bridge6}77/64`, "dev", "eth5"]);
        await sh(["nsenter", "-t", String(nonePid), "-n", "ip", "link", "set", "eth5", "up"]);
        await sh([
            "docker",
            "network",
            "create",
            "--subnet",
            `${dockerNet}.0/24`,
            "--ipv6",
            "--subnet",
            `${dockerNet6}/64`,
            "--label",
            `io.hostnet.owner=${RUN_OWNER}fixture-${sfx}`,
            "--opt",
            `com.docker.network.bridge.name=hnt-bnb-${sfx}`,
            names.network,
        ]);
        await sh([
            "docker",
            "run",
            "-d",
            "--name",
            names.onNet,
            "--net",
            names.network,
            "--ip",
            `${dockerNet}.50`,
            "--ip6",
            `${dockerNet6}50`,
            "--label",
            `${TEST_LABEL}=${RUN}`,
            "hostnet/busybox:1",
            "sleep",
            "2147483647",
        ]);
        await sh([
            "docker",
            "network",
            "create",
            "--subnet",
            `10.179.${n}.0/24`,
            "--label",
            `io.hostnet.owner=${RUN_OWNER}fixture4-${sfx}`,
            names.network4,
        ]);
        dockerIp6 = (await dockerInspect(names.bridged)).NetworkSettings.Networks.bridge.GlobalIPv6Address;
        await startTestContainer(names.routed);
        const routedPid = await containerPid(names.routed);
        await sh(["ip", "link", "add", "name", names.routedVeth, "type", "veth", "peer", "name", "eth3", "netns", String(routedPid)]);
        await sh(["ip", "link", "set", "dev", names.routedVeth, "alias", TEST_ALIAS, "up"]);
        const inRouted = (argv: string[]) => sh(["nsenter", "-t", String(routedPid), "-n", ...argv]);
        await inRouted(["sysctl", "-q", "-w", "net/ipv6/conf/eth3/disable_ipv6=0"]);
        await inRouted(["ip", "addr", "add", `${routedNet}.2/24`, "dev", "eth3"]);
        await inRouted(["ip", "addr", "add", `${routed6}2/64`, "dev", "eth3", "nodad"]);
        await inRouted(["ip", "link", "set", "eth3", "up"]);
        await inRouted(["ip", "route", "add", "default", "via", `${routedNet}.1`, "dev", "eth3"]);
        await inRouted(["ip", "-6", "route", "add", "default", "via", `${routed6}1`, "dev", "eth3"]);
        pids = [nonePid, await containerPid(names.onNet), await containerPid(names.bridged), routedPid];
        // Two parents for macvlans (veth ends: this kernel has no dummy links), a macvlan of one of them,
        // and a Docker macvlan network on the other.
        for (const wire of [names.wire, names.wire2]) {
            await sh(["ip", "link", "add", "name", wire, "type", "veth", "peer", "name", `${wire}p`]);
            await sh(["ip", "link", "set", "dev", wire, "alias", TEST_ALIAS, "up"]);
        }
        await sh(["ip", "link", "add", "link", names.wire2, "name", names.sublink, "type", "macvlan"]);
        await sh(["ip", "link", "set", "dev", names.sublink, "alias", TEST_ALIAS]);
        await sh([
            "docker",
            "network",
            "create",
            "-d",
            "macvlan",
            "--subnet",
            `${macvlanNet}.0/24`,
            "-o",
            `parent=${names.wire}`,
            "--label",
            `io.hostnet.owner=${RUN_OWNER}fixture-mv-${sfx}`,
            names.macvlanNet,
        ]);
        // An nftables table the library did not make (a Policy may not take its name).
        await sh(["nft", "add", "table", "inet", names.nftTable]);
        // The fixtures' own IPv6 addresses finish their duplicate address detection before any row compares the host.
        const settled = async (dev: string, pid?: number) =>
            (await ipv6Addresses(dev, pid)).filter((a) => a.scope === "global").every((a) => !a.tentative);
        assert.ok(await eventually(async () => (await settled(names.bridge)) && (await settled("eth5", nonePid)), 10000));

        scratch = mkdtempSync(join(tmpdir(), "hostnet-bad-"));
        const workDir = join(scratch, "project");
        cpSync(join(projectRoot, "test", "e2e", "fixtures", "bad-inputs"), workDir, { recursive: true });
        symlinkSync(join(projectRoot, "node_modules"), join(workDir, "node_modules"));
        mkdirSync(join(scratch, "state"));
        // Type-checking is not what this suite is about: the program runs as JavaScript, for speed.
        runAsJavaScript(workDir);
        stack = await createStack(stackName, workDir, join(scratch, "state"), join(scratch, "home"), {
            PULUMI_NODEJS_TRANSPILE_ONLY: "true",
        });
    });

    after(async function () {
        this.timeout(300000);
        try {
            await sh(["ip", "link", "del", names.veth], { reject: false });
            await sh(["ip", "link", "del", names.routedVeth], { reject: false });
            await sh(["docker", "rm", "-f", names.onNet], { reject: false });
            await sh(["docker", "network", "rm", names.network, names.network4, names.macvlanNet], { reject: false });
            for (const wire of [names.wire, names.wire2]) await sh(["ip", "link", "del", wire], { reject: false });
            await sh(["nft", "delete", "table", "inet", names.nftTable], { reject: false });
        } finally {
            await sweepRun(ownerPrefix);
            if (scratch) rmSync(scratch, { recursive: true, force: true });
        }
    });

    const veth = (name: string, args: Record<string, unknown>) => ({
        type: "VethAttachment",
        name,
        args: {
            container: names.none,
            bridge: names.bridge,
            address: `${bridgeNet}.9/24`,
            hostIfName: `hnt-x${name.slice(0, 3)}-${sfx}`,
            ...args,
        },
    });
    const link = (name: string, a: Record<string, unknown>, b: Record<string, unknown>) => ({
        type: "VethLink",
        name,
        args: { a: { container: names.none, ifName: "eth7", ...a }, b: { container: names.onNet, ifName: "eth7", ...b } },
    });
    const bridgeRes = (name: string, args: Record<string, unknown>) => ({
        type: "Bridge",
        name,
        args: { name: `hnt-y${name.slice(0, 2)}-${sfx}`, ...args },
    });
    const net = (name: string, args: Record<string, unknown>) => ({
        type: "Network",
        name,
        args: { name: `hnt-z${name.slice(0, 2)}-${sfx}`, ...args },
    });
    const ctr = (name: string, args: Record<string, unknown>) => ({
        type: "Container",
        name,
        args: { image: "hostnet/busybox:1", name: `hnt-w${name.slice(0, 2)}-${sfx}`, command: ["sleep", "1d"], ...args },
    });
    const att = (name: string, args: Record<string, unknown>) => ({
        type: "NetworkAttachment",
        name,
        args: { container: names.none, network: names.network, ...args },
    });
    const mac = (name: string, args: Record<string, unknown>) => ({
        type: "MacvlanAttachment",
        name,
        args: { container: names.none, parent: names.wire2, address: "10.249.0.9/24", containerIfName: "eth6", ...args },
    });
    const policy = (name: string, rules: Record<string, unknown>[], args: Record<string, unknown> = {}) => ({
        type: "Policy",
        name,
        args: { rules, ...args },
    });
    const probe = (name: string, args: Record<string, unknown>) => ({
        type: "Probe",
        name,
        args: { from: names.bridged, ...args },
    });
    const swarmRes = (name: string, node: Record<string, unknown>, args: Record<string, unknown> = {}) => ({
        type: "Swarm",
        name,
        args: { nodes: [{ advertiseAddress: `${bridgeNet}.1`, ...node }], ...args },
    });
    /** How the engine's `check` names a refused property. */
    const property = (type: string, name: string, prop: string) => `${type} resource '${name}': property ${prop}`;
    const netemThere = async () => {
        const r = await sh(["unshare", "--net", "--", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], {
            reject: false,
        });
        return /unknown/i.test(r.stderr) ? undefined : "this kernel has sch_netem, so there is no refusal to see";
    };
    const aesGcmThere = async () =>
        (await kernelHasEsp()).ok ? "this kernel takes the AES-GCM IPsec state, so there is no refusal to see" : undefined;
    const kernelLacks = (kind: string) => async () =>
        (await kernelHas(kind)) ? `this kernel has ${kind} links, so there is no refusal to see` : undefined;
    const vlanFilteringThere = async () => {
        const r = await sh(["unshare", "--net", "ip", "link", "add", "name", "probe", "type", "bridge", "vlan_filtering", "1"], {
            reject: false,
        });
        return /not supported/i.test(r.stderr) ? undefined : "this kernel has bridge VLAN filtering, so there is no refusal to see";
    };
    const dockerBefore27 = async () => {
        const version = (await sh(["docker", "version", "--format", "{{.Server.Version}}"])).stdout.trim();
        return Number(version.split(".")[0]) >= 27 ? `Docker ${version} allows several macvlan networks on one parent` : undefined;
    };
    const v = (field: string, rest: string) => `\`${field}\`${rest.startsWith(":") ? "" : " "}${rest}`;
    const free = `10.180.${n}`;
    // Two resources claiming one thing: the engine checks them in parallel, so either may be the one refused.
    const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const either = (a: string, b: string) => new RegExp(`${escape(a)}|${escape(b)}`);

    const rows = (): Row[] => [
        // VethAttachment: the container
        {
            title: "attachment to a container that does not exist",
            resources: [veth("a1", { container: `hnt-absent-${sfx}` })],
            messages: [v("container", `"hnt-absent-${sfx}" does not exist; create it first, or pass the Container resource that makes it`)],
        },
        {
            title: "attachment to a stopped container",
            resources: [veth("a2", { container: names.stopped })],
            messages: [v("container", `"${names.stopped}" is exited, not running; start it first`)],
        },
        {
            title: "attachment to a --net=host container",
            resources: [veth("a3", { container: names.hostMode })],
            messages: [
                v(
                    "container",
                    `: container "${names.hostMode}" uses network mode host: it has no network namespace of its own: its interfaces are the host's`,
                ),
            ],
        },
        {
            title: "attachment to a Container of mode host (known when the program runs)",
            resources: [ctr("h1", { network: { mode: "host" } }), veth("a4", { container: { ref: "h1" } })],
            messages: [
                'invalid VethAttachment "a4":',
                v(
                    "container",
                    ": the container uses network mode host: it has no network namespace of its own: its interfaces are the host's",
                ),
            ],
        },
        // VethAttachment: the bridge
        {
            title: "attachment to a bridge that does not exist",
            resources: [veth("a5", { bridge: `hnt-nob-${sfx}` })],
            messages: [v("bridge", `"hnt-nob-${sfx}" does not exist; create it first (a Bridge resource), or name an existing bridge`)],
        },
        {
            title: "attachment to a veth, not a bridge",
            resources: [veth("a6", { bridge: names.veth })],
            messages: [v("bridge", `"${names.veth}" is a veth interface, not a bridge; name a bridge`)],
        },
        {
            title: "attachment to a bridge without an address, needing a default gateway",
            resources: [veth("a7", { bridge: names.foreign })],
            messages: [
                `bridge "${names.foreign}" has no IPv4 address to use as the default gateway; set \`gateway\`, or \`defaultRoute: false\``,
            ],
        },
        // VethAttachment: names
        {
            title: "host interface name taken by an interface the library did not make",
            resources: [veth("a8", { hostIfName: names.foreign })],
            messages: [
                v("hostIfName", `"${names.foreign}" is taken on the host (owned by "${TEST_ALIAS}"); choose another \`hostIfName\``),
            ],
        },
        {
            title: "host interface name longer than the kernel allows",
            resources: [veth("a9", { hostIfName: "hn-this-is-too-long" })],
            messages: [
                v("hostIfName", 'must be at most 15 characters (the kernel\'s limit on interface names); "hn-this-is-too-long" has 19'),
            ],
        },
        {
            title: "host interface name the kernel reserves",
            resources: [veth("b1", { hostIfName: "all" })],
            messages: [v("hostIfName", '"all" is a name the kernel reserves (all, default, lo); choose another')],
        },
        {
            title: "container interface name taken in the container",
            resources: [veth("b2", { containerIfName: "eth9" })],
            messages: [v("containerIfName", `"eth9" is taken in container "${names.none}"; choose another \`containerIfName\``)],
        },
        {
            title: "container interface name lo",
            resources: [veth("b3", { containerIfName: "lo" })],
            messages: [v("containerIfName", '"lo" is a name the kernel reserves (all, default, lo); choose another')],
        },
        {
            title: "the same host interface name twice in the stack",
            resources: [
                veth("b4", { hostIfName: `hnt-dup-${sfx}` }),
                veth("b5", { hostIfName: `hnt-dup-${sfx}`, address: `${bridgeNet}.10/24`, containerIfName: "eth1" }),
            ],
            messages: [
                either(
                    `"hnt-dup-${sfx}" is also claimed by VethAttachment "b4"`,
                    `"hnt-dup-${sfx}" is also claimed by VethAttachment "b5"`,
                ),
            ],
        },
        // VethAttachment: the address against the bridge
        {
            title: "the bridge's own address",
            resources: [veth("b6", { address: `${bridgeNet}.1/24` })],
            messages: [
                v(
                    "address",
                    `${bridgeNet}.1/24 is bridge ${names.bridge}'s own address (${bridgeNet}.1/24); choose another address in its subnet`,
                ),
            ],
        },
        {
            title: "an address outside the bridge's subnet",
            resources: [veth("b7", { address: "10.99.1.5/24" })],
            messages: [
                v("address", `10.99.1.5/24 is outside the subnet of bridge ${names.bridge} (${bridgeNet}.1/24); choose an address in it`),
            ],
        },
        {
            title: "the network address of the bridge's subnet",
            resources: [veth("b8", { address: `${bridgeNet}.0/16` })],
            messages: [
                v(
                    "address",
                    `${bridgeNet}.0/16 is the network address of bridge ${names.bridge}'s subnet ${bridgeNet}.1/24; choose a host address in it`,
                ),
            ],
        },
        {
            title: "the broadcast address of the bridge's subnet",
            resources: [veth("b9", { address: `${bridgeNet}.255/16` })],
            messages: [
                v(
                    "address",
                    `${bridgeNet}.255/16 is the broadcast address of bridge ${names.bridge}'s subnet ${bridgeNet}.1/24; choose a host address in it`,
                ),
            ],
        },
        {
            title: "an address Docker gave a --net=bridge container on docker0",
            resources: [veth("c1", { bridge: "docker0", address: `${dockerIp}/16` })],
            messages: [
                v(
                    "address",
                    `${dockerIp} on bridge docker0 is already held by container "${names.bridged}" (Docker's network "bridge"); choose a free address`,
                ),
            ],
        },
        {
            title: "an address another stack's attachment holds on the bridge",
            resources: [veth("c2", { address: `${bridgeNet}.77/24` })],
            messages: [
                v(
                    "address",
                    `${bridgeNet}.77 on bridge ${names.bridge} is already held by eth5 of container "${names.none}" (host end "${names.other}"); choose a free address`,
                ),
            ],
        },
        {
            title: "the same address twice in the stack",
            resources: [veth("c3", {}), veth("c4", { containerIfName: "eth1" })],
            messages: [
                either(
                    `${bridgeNet}.9 on bridge ${names.bridge} is also claimed by VethAttachment "c3"`,
                    `${bridgeNet}.9 on bridge ${names.bridge} is also claimed by VethAttachment "c4"`,
                ),
            ],
        },
        // VethAttachment: plain values
        {
            title: "an address without its prefix length",
            resources: [veth("c5", { address: `${bridgeNet}.9` })],
            messages: [v("address", `must be an IPv4 address with its prefix length (1-32), like 172.17.0.3/16; got "${bridgeNet}.9"`)],
        },
        {
            title: "a gateway outside the address's subnet",
            resources: [veth("c6", { gateway: "10.98.0.1" })],
            messages: [
                v(
                    "gateway",
                    `10.98.0.1 is outside the subnet of \`address\` ${bridgeNet}.9/24: the default route could not reach it; use an address in that subnet (usually the bridge's)`,
                ),
            ],
        },
        {
            title: "a gateway that is the address itself",
            resources: [veth("c7", { gateway: `${bridgeNet}.9` })],
            messages: [v("gateway", `${bridgeNet}.9 is the attachment's own \`address\`; use the bridge's address instead`)],
        },
        {
            title: "an all-zero MAC",
            resources: [veth("c8", { mac: "00:00:00:00:00:00" })],
            messages: [v("mac", '"00:00:00:00:00:00" is the all-zero MAC, which no interface may have; use a unicast one such as 02:...')],
        },
        {
            title: "a multicast MAC",
            resources: [veth("c9", { mac: "01:00:5e:00:00:01" })],
            messages: [
                v("mac", '"01:00:5e:00:00:01" is a multicast address (lowest bit of the first byte set); use a unicast one such as 02:...'),
            ],
        },
        {
            title: "an MTU that is not a number",
            resources: [veth("d1", { mtu: { nan: true } })],
            messages: [v("mtu", "must be an integer from 68 to 65535 (bytes); got NaN")],
        },
        {
            title: "an MTU below IPv4's minimum",
            resources: [veth("d2", { mtu: 10 })],
            messages: [v("mtu", "must be an integer from 68 to 65535 (bytes); got 10")],
        },
        // VethLink
        {
            title: "a link from a container to itself",
            resources: [link("l1", {}, { container: names.none })],
            messages: ["`a.container` and `b.container` are the same container: a link joins two namespaces"],
        },
        {
            title: "a link end named like an interface the container has",
            resources: [link("l2", { ifName: "eth9" }, {})],
            messages: [v("a.ifName", `"eth9" is taken in container "${names.none}"; choose another \`ifName\``)],
        },
        {
            title: "a link to a --net=host container",
            resources: [link("l3", {}, { container: names.hostMode })],
            messages: [
                v(
                    "b.container",
                    `: container "${names.hostMode}" uses network mode host: it has no network namespace of its own: its interfaces are the host's`,
                ),
            ],
        },
        {
            title: "two links with the same interface name in one container",
            resources: [link("l4", {}, {}), link("l5", {}, { ifName: "eth8" })],
            messages: [
                either(
                    `"eth7" in container "${names.none}" is also claimed by VethLink "l4"`,
                    `"eth7" in container "${names.none}" is also claimed by VethLink "l5"`,
                ),
            ],
        },
        // Bridge
        {
            title: "a bridge whose name exists, without adopt",
            resources: [bridgeRes("y1", { name: names.bridge })],
            messages: [
                `bridge "${names.bridge}" exists already (created by "${TEST_ALIAS}"); set \`adopt: true\` to use it without owning it (it is then never deleted), or choose another \`name\``,
            ],
        },
        {
            title: "adopting a bridge that does not exist",
            resources: [bridgeRes("y2", { adopt: true })],
            messages: [
                v(
                    "name",
                    `"hnt-yy2-${sfx}": there is no such bridge to adopt; create it first (the stack that owns it, with a Bridge without \`adopt\`), or drop \`adopt\``,
                ),
            ],
        },
        {
            title: "a bridge named like a veth",
            resources: [bridgeRes("y3", { name: names.veth })],
            messages: [v("name", `"${names.veth}" is taken on the host by a veth interface, not a bridge; choose another \`name\``)],
        },
        {
            title: "the same bridge declared twice",
            resources: [bridgeRes("y4", { name: `hnt-yd-${sfx}` }), bridgeRes("y5", { name: `hnt-yd-${sfx}` })],
            messages: [either(`"hnt-yd-${sfx}" is also claimed by Bridge "y4"`, `"hnt-yd-${sfx}" is also claimed by Bridge "y5"`)],
        },
        {
            title: "the same address on two bridges of the stack",
            resources: [bridgeRes("y6", { addresses: [`${free}.1/24`] }), bridgeRes("y7", { addresses: [`${free}.1/24`] })],
            messages: [
                either(
                    `in \`addresses\` of bridge hnt-yy7-${sfx} is also claimed by Bridge "y6"`,
                    `in \`addresses\` of bridge hnt-yy6-${sfx} is also claimed by Bridge "y7"`,
                ),
            ],
        },
        {
            title: "a bridge address already on an interface of the host",
            resources: [bridgeRes("y8", { addresses: [`${bridgeNet}.1/24`] })],
            messages: [
                v("addresses", `${bridgeNet}.1/24 on this host is already held by interface ${names.bridge}; choose a free address`),
            ],
        },
        {
            title: "a bridge address with its subnet's network address",
            resources: [bridgeRes("y9", { addresses: [`${free}.0/24`] })],
            messages: [
                v(
                    "addresses[0]",
                    `"${free}.0/24" is the network address of its subnet; choose a host address inside it, like 172.17.0.3/16`,
                ),
            ],
        },
        // Network
        {
            title: "a network overlapping another Docker network",
            resources: [net("n1", { subnet: `${dockerNet}.0/25` })],
            messages: [
                v(
                    "subnet",
                    `${dockerNet}.0/25 overlaps subnet ${dockerNet}.0/24 of Docker network "${names.network}"; choose a free subnet`,
                ),
            ],
        },
        {
            title: "a network overlapping a bridge's address",
            resources: [net("n2", { subnet: `${bridgeNet}.0/24` })],
            messages: [
                v(
                    "subnet",
                    `${bridgeNet}.0/24 overlaps address ${bridgeNet}.1/24 of interface ${names.bridge} on this host (traffic to it would be misrouted); choose a free subnet`,
                ),
            ],
        },
        {
            title: "a network whose gateway is its network address",
            resources: [net("n3", { subnet: `10.181.${n}.0/24`, gateway: `10.181.${n}.0` })],
            messages: [
                v(
                    "gateway",
                    `"10.181.${n}.0/24" is the network address of its subnet; choose a host address inside it, like 172.17.0.3/16`,
                ),
            ],
        },
        {
            title: "a network name taken by a network the stack did not make",
            resources: [net("n4", { name: names.network })],
            messages: [
                v(
                    "name",
                    `"${names.network}" is taken by another Docker network (owned by "${RUN_OWNER}fixture-${sfx}"); choose another \`name\``,
                ),
            ],
        },
        {
            title: "two networks of the stack with overlapping subnets",
            resources: [net("n5", { subnet: `10.182.${n}.0/24` }), net("n6", { subnet: `10.182.${n}.128/25` })],
            messages: [
                either(
                    `10.182.${n}.128/25 overlaps 10.182.${n}.0/24 of Network "n5"`,
                    `10.182.${n}.0/24 overlaps 10.182.${n}.128/25 of Network "n6"`,
                ),
            ],
        },
        {
            title: "an IP range outside the subnet",
            resources: [net("n7", { subnet: `10.183.${n}.0/24`, ipRange: `10.184.${n}.0/25` })],
            messages: [v("ipRange", `10.184.${n}.0/25 must lie inside \`subnet\` 10.183.${n}.0/24`)],
        },
        // Container
        {
            title: "an image that is not present",
            resources: [ctr("w1", { image: "hostnet/absent:1" })],
            messages: [v("image", '"hostnet/absent:1" is not present locally and no registry is used; build or import it first')],
        },
        {
            title: "a container name taken by a container the stack did not make",
            resources: [ctr("w2", { name: names.none })],
            messages: [v("name", `"${names.none}" is taken by another container (not made by this library); choose another \`name\``)],
        },
        {
            title: "ports with network mode host",
            resources: [ctr("w3", { network: { mode: "host" }, ports: ["8080:80"] })],
            messages: [
                'invalid Container "w3":',
                v("ports", "cannot be published with network mode host: the container uses the host's ports directly; remove `ports`"),
            ],
        },
        {
            title: "container: mode onto a --net=host container",
            resources: [ctr("w4", { network: { mode: "container", container: names.hostMode } })],
            messages: [
                v(
                    "networkMode",
                    `: container "${names.hostMode}" uses network mode host: it has no network namespace of its own to share; use network mode host instead`,
                ),
            ],
        },
        {
            title: "a static address another container holds on the network",
            resources: [
                ctr("w5", { network: { mode: "networks", networks: [{ network: names.network, ipv4Address: `${dockerNet}.50` }] } }),
            ],
            messages: [
                v(
                    "networks[0].ipv4Address",
                    `${dockerNet}.50 on network ${names.network} is already held by container "${names.onNet}"; choose a free address`,
                ),
            ],
        },
        {
            title: "a static address outside its Network's subnet",
            resources: [
                net("n8", { subnet: `10.185.${n}.0/24` }),
                ctr("w7", { network: { mode: "networks", networks: [{ network: { ref: "n8" }, ipv4Address: `10.186.${n}.5` }] } }),
            ],
            messages: [
                'invalid Container "w7":',
                v(
                    "network.networks[0].ipv4Address",
                    `10.186.${n}.5 is outside Network "n8"'s subnet 10.185.${n}.0/24; choose an address inside it`,
                ),
            ],
        },
        {
            title: "a static address that is its Network's gateway",
            resources: [
                net("n9", { subnet: `10.187.${n}.0/24` }),
                ctr("w8", { network: { mode: "networks", networks: [{ network: { ref: "n9" }, ipv4Address: `10.187.${n}.1` }] } }),
            ],
            messages: [
                'invalid Container "w8":',
                v(
                    "network.networks[0].ipv4Address",
                    `10.187.${n}.1 is Network "n9"'s gateway (its bridge's address); choose another address in 10.187.${n}.0/24`,
                ),
            ],
        },
        {
            title: "a network that does not exist",
            resources: [ctr("w6", { network: { mode: "networks", networks: [{ network: `hnt-nonet-${sfx}` }] } })],
            messages: [
                v("networks", `: network "hnt-nonet-${sfx}" does not exist; create it first, or pass the Network resource that makes it`),
            ],
        },
        // MacvlanAttachment
        {
            title: "a macvlan on a parent that does not exist",
            resources: [mac("m1", { parent: `hnt-nop-${sfx}` })],
            messages: [
                v(
                    "parent",
                    `"hnt-nop-${sfx}" does not exist on this host; name an existing interface (\`ip link\` lists them), or pass the Bridge resource that makes it`,
                ),
            ],
        },
        {
            title: "a macvlan on a port of a bridge (not ours to use: the bridge holds its frames)",
            resources: [mac("m2", { parent: names.other })],
            messages: [
                v(
                    "parent",
                    `"${names.other}" is a port of "${names.bridge}", which takes every frame that arrives on it, so the kernel refuses a macvlan on it (device busy); use "${names.bridge}" itself as the parent, or an interface that is no port`,
                ),
            ],
        },
        {
            title: "a macvlan on a macvlan",
            resources: [mac("m3", { parent: names.sublink })],
            messages: [
                v(
                    "parent",
                    `"${names.sublink}" is itself a macvlan (of "${names.wire2}"); the kernel would use "${names.wire2}" instead: name that as the parent`,
                ),
            ],
        },
        {
            title: "a macvlan mode that does not exist",
            resources: [mac("m4", { mode: "loud" })],
            messages: [
                'invalid MacvlanAttachment "m4":',
                v("mode", 'must be one of bridge, private, vepa, passthru for a macvlan (`kind`); got "loud"'),
            ],
        },
        {
            title: "kind ipvlan on a kernel without ipvlan",
            resources: [mac("m5", { kind: "ipvlan" })],
            messages: [
                v(
                    "kind",
                    "ipvlan: this kernel has no ipvlan support; use kind macvlan (same parent, a MAC of its own per container), or run on a kernel built with ipvlan links (CONFIG_IPVLAN)",
                ),
            ],
            skipUnless: kernelLacks("ipvlan"),
        },
        {
            title: "a passthru macvlan on a parent that carries a Docker macvlan network",
            resources: [mac("m6", { parent: names.wire, mode: "passthru" })],
            messages: [
                v(
                    "mode",
                    `passthru takes parent "${names.wire}" for one macvlan alone, but it already carries Docker's macvlan network "${names.macvlanNet}"; use mode bridge, or another parent`,
                ),
            ],
        },
        {
            title: "a MAC on a passthru macvlan (it would change the parent's)",
            resources: [mac("m7", { mode: "passthru", mac: "02:00:00:00:00:07" })],
            messages: [
                'invalid MacvlanAttachment "m7":',
                v(
                    "mac",
                    "cannot be set on a passthru macvlan: it takes its parent's MAC, and setting one would change the parent's; remove `mac`",
                ),
            ],
        },
        {
            title: "a macvlan MTU above its parent's",
            resources: [mac("m8", { mtu: 9000 })],
            messages: [
                v(
                    "mtu",
                    `9000 is above the MTU of parent "${names.wire2}" (1500): a macvlan cannot be larger than its parent; set at most 1500, or raise the parent's`,
                ),
            ],
        },
        {
            title: "a macvlan gateway off its addresses' subnets",
            resources: [mac("m9", { gateway: "10.98.0.1" })],
            messages: [
                'invalid MacvlanAttachment "m9":',
                v(
                    "gateway",
                    "10.98.0.1 is outside the subnets of `addresses` (10.249.0.9/24): the default route could not reach it; use the LAN router's address on one of them",
                ),
            ],
        },
        {
            title: "a macvlan in a --net=host container",
            resources: [mac("n1m", { container: names.hostMode })],
            messages: [
                v(
                    "container",
                    `: container "${names.hostMode}" uses network mode host: it has no network namespace of its own: its interfaces are the host's`,
                ),
            ],
        },
        {
            title: "a macvlan named like an interface the container has",
            resources: [mac("n2m", { containerIfName: "eth9" })],
            messages: [v("containerIfName", `"eth9" is taken in container "${names.none}"; choose another \`containerIfName\``)],
        },
        {
            title: "the same address twice on one parent in the stack",
            resources: [mac("n3m", {}), mac("n4m", { container: names.onNet })],
            messages: [
                either(
                    `10.249.0.9 on parent ${names.wire2} is also claimed by MacvlanAttachment "n3m"`,
                    `10.249.0.9 on parent ${names.wire2} is also claimed by MacvlanAttachment "n4m"`,
                ),
            ],
        },
        {
            title: "a macvlan given both `address` and `addresses`",
            resources: [mac("n5m", { addresses: ["10.249.0.10/24"] })],
            messages: ['invalid MacvlanAttachment "n5m":', "give `address` or `addresses`, not both (`address: x` is `addresses: [x]`)"],
        },
        {
            title: "IPv6: an IPv6 `gateway` on a macvlan (its default route is IPv4's)",
            resources: [mac("m6g", { gateway: "fd00:249::1" })],
            messages: [
                'invalid MacvlanAttachment "m6g":',
                v("gateway", 'must be an IPv4 address without a prefix length, like 172.17.0.1; got "fd00:249::1"'),
            ],
        },
        {
            title: "IPv6: one IPv6 address twice in a macvlan's `addresses`, written two ways",
            resources: [mac("m6d", { address: undefined, addresses: ["fd00:249::9/64", "FD00:249:0::9/64"] })],
            messages: [
                'invalid MacvlanAttachment "m6d":',
                v("addresses", "lists fd00:249::9 twice (`addresses[0]` and `addresses[1]`); give each address once"),
            ],
        },
        {
            title: "IPv6: a macvlan Network's `ipv6Gateway` outside its `ipv6Subnet`",
            resources: [net("r6", { driver: "macvlan", parent: names.wire2, ipv6Subnet: "fd00:249:1::/64", ipv6Gateway: "fd00:249:2::1" })],
            messages: ['invalid Network "r6":', v("ipv6Gateway", "fd00:249:2::1 is outside `ipv6Subnet` fd00:249:1::/64")],
        },
        // Network of driver macvlan or ipvlan
        {
            title: "a macvlan network mode that does not exist",
            resources: [net("q1", { driver: "macvlan", parent: names.wire2, mode: "loud" })],
            messages: [
                'invalid Network "q1":',
                v("mode", 'must be one of bridge, private, vepa, passthru for a macvlan (`driver`); got "loud"'),
            ],
        },
        {
            title: "a macvlan network without a parent on a kernel without dummy links",
            resources: [net("q2", { driver: "macvlan", subnet: `10.188.${n}.0/24` })],
            messages: [
                v(
                    "parent",
                    "is required here: without it Docker makes a dummy interface as the parent, and this kernel has no dummy support; name the host interface on the LAN",
                ),
            ],
            skipUnless: kernelLacks("dummy"),
        },
        {
            title: "a macvlan network on a VLAN of the parent, on a kernel without 802.1Q",
            resources: [net("q3", { driver: "macvlan", parent: `${names.wire2}.10`, subnet: `10.189.${n}.0/24` })],
            messages: [
                v(
                    "parent",
                    `"${names.wire2}.10" does not exist, and Docker would make it as 802.1Q VLAN 10 of "${names.wire2}", but this kernel has no 802.1Q VLAN support; name an existing interface`,
                ),
            ],
            skipUnless: kernelLacks("vlan"),
        },
        {
            title: "a second macvlan network on one parent (Docker before 27.0 refuses it)",
            resources: [net("q4", { driver: "macvlan", parent: names.wire, subnet: `10.190.${n}.0/24` })],
            messages: [
                new RegExp(
                    `\`parent\` "${names.wire}" is already the parent of Docker's macvlan network "${names.macvlanNet}", and Docker \\S+ makes one macvlan network per parent`,
                ),
            ],
            skipUnless: dockerBefore27,
        },
        {
            title: "an ipvlan network on a kernel without ipvlan",
            resources: [net("q5", { driver: "ipvlan", parent: names.wire2, subnet: `10.191.${n}.0/24` })],
            messages: [
                v(
                    "driver",
                    "ipvlan: this kernel has no ipvlan support; use driver macvlan (same parent, a MAC of its own per container), or run on a kernel built with ipvlan links (CONFIG_IPVLAN)",
                ),
            ],
            skipUnless: kernelLacks("ipvlan"),
        },
        {
            title: "a bridge name on a macvlan network",
            resources: [net("q6", { driver: "macvlan", parent: names.wire2, bridgeName: `hnt-q6-${sfx}` })],
            messages: [
                'invalid Network "q6":',
                v("bridgeName", "is an option of driver bridge; a macvlan network takes none: it has no Linux bridge; remove it"),
            ],
        },
        {
            title: "a VethAttachment onto a macvlan Network (it has no bridge)",
            resources: [net("q7", { driver: "macvlan", parent: names.wire2 }), veth("q8", { bridge: { ref: "q7" } })],
            messages: [
                'invalid VethAttachment "q8":',
                v(
                    "bridge",
                    'is Network "q7" of driver macvlan, which has no Linux bridge; give the container a MacvlanAttachment on the same parent, or connect it with a NetworkAttachment',
                ),
            ],
        },
        {
            title: "a static address that is its macvlan Network's gateway (the LAN's router)",
            resources: [
                net("q9", { driver: "macvlan", parent: names.wire2, subnet: `10.192.${n}.0/24`, gateway: `10.192.${n}.254` }),
                ctr("wq", { network: { mode: "networks", networks: [{ network: { ref: "q9" }, ipv4Address: `10.192.${n}.254` }] } }),
            ],
            messages: [
                'invalid Container "wq":',
                v(
                    "network.networks[0].ipv4Address",
                    `10.192.${n}.254 is Network "q9"'s gateway (the LAN's router); choose another address in 10.192.${n}.0/24`,
                ),
            ],
        },
        // NetworkAttachment
        {
            title: "connecting a --net=none container",
            resources: [att("t1", {})],
            messages: [
                v(
                    "container",
                    `: container "${names.none}" uses network mode none: Docker does not connect a --net=none container to networks; give it a VethAttachment instead`,
                ),
            ],
        },
        {
            title: "connecting a container that is connected already",
            resources: [att("t2", { container: names.onNet })],
            messages: [
                `container "${names.onNet}" is already connected to network ${names.network} (not by this attachment); disconnect it first, or drop this attachment`,
            ],
        },
        {
            title: "connecting with an address another container holds",
            resources: [att("t3", { container: names.bridged, ipv4Address: `${dockerNet}.50` })],
            messages: [
                v(
                    "ipv4Address",
                    `${dockerNet}.50 on network ${names.network} is already held by container "${names.onNet}"; choose a free address`,
                ),
            ],
        },
        // IPv6 and dual-stack: every check above, for IPv6 too.
        // VethAttachment
        {
            title: "IPv6: an address without its prefix length",
            resources: [veth("e1", { address: undefined, addresses: [`${bridgeNet}.9/24`, `${bridge6}9`] })],
            messages: [
                v("addresses[1]", `must be an IPv6 address with its prefix length (1-128), like fd17:ac11::3/64; got "${bridge6}9"`),
            ],
        },
        {
            title: "IPv6: a link-local address",
            resources: [veth("e2", { address: "fe80::9/64" })],
            messages: [
                v(
                    "address",
                    '"fe80::9/64" is a link-local address: the kernel gives every interface one by itself; choose a global or unique local address, like fd17:ac11::3/64',
                ),
            ],
        },
        {
            title: "IPv6: `address` and `addresses` at once",
            resources: [veth("e3", { addresses: [`${bridgeNet}.9/24`, `${bridge6}9/64`] })],
            messages: [
                'give `address` or `addresses`, not both: `addresses` lists every address of the attachment (IPv4 and IPv6), e.g. ["172.17.0.3/16", "fd17:ac11::3/64"]',
            ],
        },
        {
            title: "IPv6: the same address twice in one attachment",
            resources: [veth("e4", { address: undefined, addresses: [`${bridge6}9/64`, `${bridge6.replace("::", ":0::")}9/64`] })],
            messages: [v("addresses", `lists ${bridge6}9 twice (\`addresses[0]\` and \`addresses[1]\`); give each address once`)],
        },
        {
            title: "IPv6: the bridge's own address",
            resources: [veth("e5", { address: undefined, addresses: [`${bridgeNet}.9/24`, `${bridge6}1/64`] })],
            messages: [
                v(
                    "addresses[1]",
                    `${bridge6}1/64 is bridge ${names.bridge}'s own address (${bridge6}1/64); choose another address in its subnet`,
                ),
            ],
        },
        {
            title: "IPv6: an address outside the bridge's IPv6 subnet",
            resources: [veth("e6", { address: undefined, addresses: [`${bridgeNet}.9/24`, `${other6}9/64`] })],
            messages: [
                v(
                    "addresses[1]",
                    `${other6}9/64 is outside the subnet of bridge ${names.bridge} (${bridge6}1/64); choose an address in it`,
                ),
            ],
        },
        {
            title: "IPv6: the all-zero (subnet-router anycast) address of the bridge's IPv6 subnet",
            resources: [veth("e7", { address: `${bridge6}/8` })],
            messages: [
                v(
                    "address",
                    `${bridge6}/8 is the network address of bridge ${names.bridge}'s subnet ${bridge6}1/64; choose a host address in it`,
                ),
            ],
        },
        {
            title: "IPv6: an address Docker gave a --net=bridge container on docker0",
            resources: [
                veth("e8", {
                    bridge: "docker0",
                    address: undefined,
                    addresses: [`172.17.${100 + (n % 27)}.9/16`, `${dockerIp6}/64`],
                }),
            ],
            messages: [
                v(
                    "addresses[1]",
                    `${dockerIp6} on bridge docker0 is already held by container "${names.bridged}" (Docker's network "bridge"); choose a free address`,
                ),
            ],
        },
        {
            title: "IPv6: an address another stack's attachment holds on the bridge",
            resources: [veth("e9", { address: `${bridge6}77/64` })],
            messages: [
                v(
                    "address",
                    `${bridge6}77 on bridge ${names.bridge} is already held by eth5 of container "${names.none}" (host end "${names.other}"); choose a free address`,
                ),
            ],
        },
        {
            title: "IPv6: the same address twice in the stack",
            resources: [veth("f1", { address: `${bridge6}9/64` }), veth("f2", { address: `${bridge6}9/64`, containerIfName: "eth1" })],
            messages: [
                either(
                    `${bridge6}9 on bridge ${names.bridge} is also claimed by VethAttachment "f1"`,
                    `${bridge6}9 on bridge ${names.bridge} is also claimed by VethAttachment "f2"`,
                ),
            ],
        },
        {
            title: "IPv6: a gateway outside the address's subnet",
            resources: [veth("f3", { address: `${bridge6}9/64`, ipv6Gateway: `${other6}1` })],
            messages: [
                v(
                    "ipv6Gateway",
                    `${other6}1 is outside the subnet of \`address\` ${bridge6}9/64: the default route could not reach it; use an address in that subnet (usually the bridge's)`,
                ),
            ],
        },
        {
            title: "IPv6: a gateway without an IPv6 address",
            resources: [veth("f4", { ipv6Gateway: `${bridge6}1` })],
            messages: [
                v(
                    "ipv6Gateway",
                    `${bridge6}1 is an IPv6 gateway, and the attachment has no IPv6 address; add one, or remove \`ipv6Gateway\``,
                ),
            ],
        },
        {
            title: "IPv6: an IPv6 address as the IPv4 gateway",
            resources: [veth("f5", { gateway: `${bridge6}1` })],
            messages: [v("gateway", `must be an IPv4 address without a prefix length, like 172.17.0.1; got "${bridge6}1"`)],
        },
        {
            title: "IPv6: a bridge without an IPv6 address, needing an IPv6 default gateway",
            resources: [veth("f6", { bridge: names.foreign, address: `${free6}9/64` })],
            messages: [
                `bridge "${names.foreign}" has no IPv6 address to use as the IPv6 default gateway; set \`ipv6Gateway\`, or \`defaultRoute: false\``,
            ],
        },
        // VethLink
        {
            title: "IPv6: a link end with `address` and `addresses`",
            resources: [link("m1", { address: "10.30.0.1/30", addresses: ["10.30.0.1/30", "fd17:30::1/64"] }, {})],
            messages: [
                'give `a.address` or `a.addresses`, not both: `a.addresses` lists every address of the end (IPv4 and IPv6), e.g. ["10.30.0.1/30", "fd17:30::1/64"]',
            ],
        },
        {
            title: "IPv6: the same address for two link ends in one container",
            resources: [
                link("m2", { addresses: ["10.31.0.1/30", `${free6}1/64`] }, {}),
                link("m3", { ifName: "eth8", addresses: [`${free6}1/64`] }, { ifName: "eth8" }),
            ],
            messages: [
                either(
                    `in container "${names.none}" is also claimed by VethLink "m2"`,
                    `in container "${names.none}" is also claimed by VethLink "m3"`,
                ),
            ],
        },
        // Bridge
        {
            title: "IPv6: the same address on two bridges of the stack",
            resources: [bridgeRes("z1", { addresses: [`${free6}1/64`] }), bridgeRes("z2", { addresses: [`${free6}1/64`] })],
            messages: [
                either(
                    `in \`addresses\` of bridge hnt-yz2-${sfx} is also claimed by Bridge "z1"`,
                    `in \`addresses\` of bridge hnt-yz1-${sfx} is also claimed by Bridge "z2"`,
                ),
            ],
        },
        {
            title: "IPv6: a bridge address already on an interface of the host",
            resources: [bridgeRes("z3", { addresses: [`${bridge6}1/64`] })],
            messages: [v("addresses", `${bridge6}1/64 on this host is already held by interface ${names.bridge}; choose a free address`)],
        },
        {
            title: "IPv6: a bridge address that is link-local",
            resources: [bridgeRes("z4", { addresses: ["fe80::1/64"] })],
            messages: [
                v(
                    "addresses[0]",
                    '"fe80::1/64" is a link-local address: the kernel gives every interface one by itself; choose a global or unique local address, like fd17:ac11::3/64',
                ),
            ],
        },
        // Network
        {
            title: "IPv6: a subnet overlapping another Docker network's",
            resources: [net("p1", { ipv6Subnet: `${dockerNet6}/80` })],
            messages: [
                v(
                    "ipv6Subnet",
                    `${dockerNet6}/80 overlaps subnet ${dockerNet6}/64 of Docker network "${names.network}"; choose a free subnet`,
                ),
            ],
        },
        {
            title: "IPv6: a subnet overlapping docker0's",
            resources: [net("p2", { ipv6Subnet: "fd17:ac11::/80" })],
            messages: [v("ipv6Subnet", 'fd17:ac11::/80 overlaps subnet fd17:ac11::/64 of Docker network "bridge"; choose a free subnet')],
        },
        {
            title: "IPv6: a subnet overlapping a bridge's IPv6 address",
            resources: [net("p3", { ipv6Subnet: `${bridge6}/64` })],
            messages: [
                v(
                    "ipv6Subnet",
                    `${bridge6}/64 overlaps address ${bridge6}1/64 of interface ${names.bridge} on this host (traffic to it would be misrouted); choose a free subnet`,
                ),
            ],
        },
        {
            title: "IPv6: a subnet with host bits",
            resources: [net("p4", { ipv6Subnet: `${free6}1/64` })],
            messages: [
                v(
                    "ipv6Subnet",
                    `must be an IPv6 network with its prefix length (up to /126), host bits zero, like fd17:10::/64; got "${free6}1/64"`,
                ),
            ],
        },
        {
            title: "IPv6: a gateway that is the subnet's network address",
            resources: [net("p5", { ipv6Subnet: `${free6}/64`, ipv6Gateway: free6 })],
            messages: [
                v(
                    "ipv6Gateway",
                    `"${free6}/64" is the network address of its subnet; choose a host address inside it, like fd17:ac11::3/64`,
                ),
            ],
        },
        {
            title: "IPv6: a range outside the subnet",
            resources: [net("p6", { ipv6Subnet: `${free6}/64`, ipv6Range: `${other6}/120` })],
            messages: [v("ipv6Range", `${other6}/120 must lie inside \`ipv6Subnet\` ${free6}/64`)],
        },
        {
            title: "IPv6: IPv6 addressing with enableIpv6 false",
            resources: [net("p7", { ipv6Subnet: `${free6}/64`, enableIpv6: false })],
            messages: [
                v(
                    "enableIpv6",
                    "is false, but `ipv6Subnet` is given: IPv6 addressing needs IPv6 on; drop `enableIpv6: false` (or the IPv6 fields)",
                ),
            ],
        },
        {
            title: "IPv6: two networks of the stack with overlapping subnets",
            resources: [net("p8", { ipv6Subnet: `${free6}/64` }), net("p9", { ipv6Subnet: `${free6}/80` })],
            messages: [either(`${free6}/80 overlaps ${free6}/64 of Network "p8"`, `${free6}/64 overlaps ${free6}/80 of Network "p9"`)],
        },
        // Container
        {
            title: "IPv6: a static address another container holds on the network",
            resources: [
                ctr("x1", { network: { mode: "networks", networks: [{ network: names.network, ipv6Address: `${dockerNet6}50` }] } }),
            ],
            messages: [
                v(
                    "networks[0].ipv6Address",
                    `${dockerNet6}50 on network ${names.network} is already held by container "${names.onNet}"; choose a free address`,
                ),
            ],
        },
        {
            title: "IPv6: a static address on a network without IPv6",
            resources: [ctr("x2", { network: { mode: "networks", networks: [{ network: names.network4, ipv6Address: `${free6}5` }] } })],
            messages: [
                v(
                    "networks",
                    `: network ${names.network4} has no IPv6 subnet, so it cannot give address ${free6}5; make the network with \`ipv6Subnet\`, or drop \`ipv6Address\``,
                ),
            ],
        },
        {
            title: "IPv6: a static address on a Network of the program without an IPv6 subnet",
            resources: [
                net("q1", { subnet: `10.188.${n}.0/24` }),
                ctr("x3", { network: { mode: "networks", networks: [{ network: { ref: "q1" }, ipv6Address: `${free6}5` }] } }),
            ],
            messages: [
                'invalid Container "x3":',
                v(
                    "network.networks[0].ipv6Address",
                    `${free6}5: Network "q1" has no IPv6 subnet; give it \`ipv6Subnet\`, or drop \`ipv6Address\``,
                ),
            ],
        },
        {
            title: "IPv6: a static address outside its Network's IPv6 subnet",
            resources: [
                net("q2", { ipv6Subnet: `${free6}/64` }),
                ctr("x4", { network: { mode: "networks", networks: [{ network: { ref: "q2" }, ipv6Address: `${other6}5` }] } }),
            ],
            messages: [
                'invalid Container "x4":',
                v(
                    "network.networks[0].ipv6Address",
                    `${other6}5 is outside Network "q2"'s subnet ${free6}/64; choose an address inside it`,
                ),
            ],
        },
        {
            title: "IPv6: a static address that is its Network's IPv6 gateway",
            resources: [
                net("q3", { ipv6Subnet: `${free6}/64` }),
                ctr("x5", { network: { mode: "networks", networks: [{ network: { ref: "q3" }, ipv6Address: `${free6}1` }] } }),
            ],
            messages: [
                'invalid Container "x5":',
                v(
                    "network.networks[0].ipv6Address",
                    `${free6}1 is Network "q3"'s gateway (its bridge's address); choose another address in ${free6}/64`,
                ),
            ],
        },
        // NetworkAttachment
        {
            title: "IPv6: connecting with an address another container holds",
            resources: [att("u1", { container: names.bridged, ipv6Address: `${dockerNet6}50` })],
            messages: [
                v(
                    "ipv6Address",
                    `${dockerNet6}50 on network ${names.network} is already held by container "${names.onNet}"; choose a free address`,
                ),
            ],
        },
        {
            title: "IPv6: connecting with an IPv6 address to a network without IPv6",
            resources: [att("u2", { container: names.bridged, network: names.network4, ipv6Address: `${free6}5` })],
            messages: [
                v(
                    "ipv6Address",
                    `${free6}5: network ${names.network4} has no IPv6 subnet; make the network with \`ipv6Subnet\`, or drop \`ipv6Address\``,
                ),
            ],
        },
        // VxlanLink (a side on another host is a Host's output: refused by the provider's check, before it connects to any host)
        {
            title: "IPv6: a VXLAN tunnel with underlays of two families",
            resources: [
                {
                    type: "VxlanLink",
                    name: "v1",
                    args: {
                        vni: 4242,
                        a: { bridge: names.bridge, underlay: `${bridge6}1` },
                        b: { bridge: "br0", underlay: "192.0.2.2", host: { name: "far", ssh: { host: "192.0.2.2" } } },
                    },
                },
            ],
            messages: [
                `\`a.underlay\` ${bridge6}1 and \`b.underlay\` 192.0.2.2 are of two families: the tunnel runs over IPv4 or over IPv6; give both sides addresses of one`,
            ],
        },
        // The preview's last blind spots (issue 18)
        {
            title: "a gateway that is the network address of the attachment's subnet",
            resources: [veth("k1", { gateway: `${bridgeNet}.0` })],
            messages: [
                v(
                    "gateway",
                    `${bridgeNet}.0 is the network address of the subnet of \`address\` ${bridgeNet}.9/24, not a router's; use the router's address in that subnet (usually the bridge's)`,
                ),
            ],
        },
        {
            title: "a gateway that is the broadcast address of the attachment's subnet",
            resources: [veth("k2", { gateway: `${bridgeNet}.255` })],
            messages: [
                v(
                    "gateway",
                    `${bridgeNet}.255 is the broadcast address of the subnet of \`address\` ${bridgeNet}.9/24, not a router's; use the router's address in that subnet (usually the bridge's)`,
                ),
            ],
        },
        {
            title: "IPv6: a gateway that is the network address of the attachment's subnet",
            resources: [veth("k3", { address: undefined, addresses: [`${bridgeNet}.9/24`, `${bridge6}9/64`], ipv6Gateway: bridge6 })],
            messages: [
                v(
                    "ipv6Gateway",
                    `${bridge6} is the network address of the subnet of \`addresses[1]\` ${bridge6}9/64, not a router's; use the router's address in that subnet (usually the bridge's)`,
                ),
            ],
        },
        {
            title: "a macvlan gateway that is the network address of its address's subnet",
            resources: [mac("k4", { gateway: "10.249.0.0" })],
            messages: [
                'invalid MacvlanAttachment "k4":',
                v(
                    "gateway",
                    "10.249.0.0 is the network address of the subnet of `addresses[0]` 10.249.0.9/24, not a router's; use the router's address in that subnet (the LAN router's)",
                ),
            ],
        },
        {
            title: "a default route into a --net=none container that has one already",
            resources: [veth("k5", { container: names.routed, address: `${bridgeNet}.11/24` })],
            messages: [
                v(
                    "defaultRoute",
                    `: container "${names.routed}" already has a default route (via ${routedNet}.1 dev eth3); set \`defaultRoute: false\` on this attachment, or remove the other route`,
                ),
            ],
        },
        {
            title: "IPv6: an IPv6 default route into a --net=none container that has one already",
            resources: [veth("k6", { container: names.routed, address: `${bridge6}11/64` })],
            messages: [
                v(
                    "defaultRoute",
                    `: container "${names.routed}" already has an IPv6 default route (via ${routed6}1 dev eth3); set \`defaultRoute: false\` on this attachment, or remove the other route`,
                ),
            ],
        },
        {
            title: "a macvlan gateway into a --net=none container that has a default route already",
            resources: [mac("k7", { container: names.routed, gateway: "10.249.0.1" })],
            messages: [
                v(
                    "gateway",
                    `: container "${names.routed}" already has a default route (via ${routedNet}.1 dev eth3); drop \`gateway\` on this attachment, or remove the other route`,
                ),
            ],
        },
        {
            title: "a container: network mode that names the container itself",
            resources: [ctr("k8", { network: { mode: "container", container: `hnt-wk8-${sfx}` } })],
            messages: [
                v(
                    "networkMode",
                    `"container:hnt-wk8-${sfx}" names this container itself: a container cannot share its own network namespace; name another container, or use another network mode`,
                ),
            ],
        },
        {
            title: "the same address twice in one Bridge's addresses",
            resources: [bridgeRes("k9", { addresses: [`${free}.1/24`, `${free}.1/24`] })],
            messages: [
                'invalid Bridge "k9":',
                v("addresses", `lists ${free}.1 twice (\`addresses[0]\` and \`addresses[1]\`); give each address once`),
            ],
        },
        {
            title: "IPv6: the same address twice in one Bridge's addresses, written two ways",
            resources: [bridgeRes("l1", { addresses: [`${free}.1/24`, `${free6}3/64`, `${free6.toUpperCase()}0:3/64`] })],
            messages: [
                'invalid Bridge "l1":',
                v("addresses", `lists ${free6}3 twice (\`addresses[1]\` and \`addresses[2]\`); give each address once`),
            ],
        },
        {
            title: "VLAN filtering asked of a kernel that has none",
            resources: [bridgeRes("l2", { addresses: [`${free}.1/24`], vlanFiltering: true })],
            messages: [
                v(
                    "vlanFiltering",
                    ": this kernel has no bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING); leave `vlanFiltering` unset or false, or run on a kernel built with it",
                ),
            ],
            skipUnless: vlanFilteringThere,
        },
        {
            title: "VLAN filtering asked of an adopted bridge on a kernel that has none",
            resources: [bridgeRes("l3", { name: names.bridge, adopt: true, vlanFiltering: true })],
            messages: [
                v(
                    "vlanFiltering",
                    ": this kernel has no bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING); leave `vlanFiltering` unset or false, or run on a kernel built with it",
                ),
            ],
            skipUnless: vlanFilteringThere,
        },
        {
            title: "connecting with an address outside the network's subnet",
            resources: [att("l4", { container: names.bridged, ipv4Address: `10.99.${n}.5` })],
            messages: [
                v(
                    "ipv4Address",
                    `10.99.${n}.5 is outside network ${names.network}'s subnet ${dockerNet}.0/24; choose an address inside it`,
                ),
            ],
        },
        {
            title: "IPv6: connecting with an address outside the network's IPv6 subnet",
            resources: [att("l5", { container: names.bridged, ipv6Address: `${free6}5` })],
            messages: [
                v("ipv6Address", `${free6}5 is outside network ${names.network}'s subnet ${dockerNet6}/64; choose an address inside it`),
            ],
        },
        {
            title: "connecting with the network address of the network's subnet",
            resources: [att("l6", { container: names.bridged, ipv4Address: `${dockerNet}.0` })],
            messages: [
                v(
                    "ipv4Address",
                    `${dockerNet}.0 is the network address of network ${names.network}'s subnet ${dockerNet}.0/24; choose a host address inside it`,
                ),
            ],
        },
        {
            title: "connecting with an address outside its Network's subnet (known when the program runs)",
            resources: [
                net("l7", { subnet: `10.189.${n}.0/24` }),
                att("l8", { container: names.bridged, network: { ref: "l7" }, ipv4Address: `10.190.${n}.5` }),
            ],
            messages: [
                'invalid NetworkAttachment "l8":',
                v("ipv4Address", `10.190.${n}.5 is outside Network "l7"'s subnet 10.189.${n}.0/24; choose an address inside it`),
            ],
        },
        {
            title: "IPv6: connecting with an address outside its Network's IPv6 subnet (known when the program runs)",
            resources: [
                net("l9", { ipv6Subnet: `${free6}/64` }),
                att("m1", { container: names.bridged, network: { ref: "l9" }, ipv6Address: `${other6}5` }),
            ],
            messages: [
                'invalid NetworkAttachment "m1":',
                v("ipv6Address", `${other6}5 is outside Network "l9"'s subnet ${free6}/64; choose an address inside it`),
            ],
        },
        {
            title: "a container's static address outside the subnet of a network on the host",
            resources: [ctr("m2", { network: { mode: "networks", networks: [{ network: names.network, ipv4Address: `10.99.${n}.5` }] } })],
            messages: [
                v(
                    "networks[0].ipv4Address",
                    `10.99.${n}.5 is outside network ${names.network}'s subnet ${dockerNet}.0/24; choose an address inside it`,
                ),
            ],
        },
        {
            title: "IPv6: a container's static address outside the IPv6 subnet of a network on the host",
            resources: [ctr("m3", { network: { mode: "networks", networks: [{ network: names.network, ipv6Address: `${free6}5` }] } })],
            messages: [
                v(
                    "networks[0].ipv6Address",
                    `${free6}5 is outside network ${names.network}'s subnet ${dockerNet6}/64; choose an address inside it`,
                ),
            ],
        },
        // Policy: the rules' own fields
        {
            title: "a Policy rule whose action is neither allow nor deny",
            resources: [policy("pa1", [{ action: "permit", to: `${free}.0/24` }])],
            messages: ['invalid Policy "pa1":', v("rules[0].action", 'must be "allow" or "deny"; got "permit"')],
        },
        {
            title: "a Policy rule with a protocol it does not filter",
            resources: [policy("pa2", [{ action: "deny", to: `${free}.0/24`, protocol: "sctp" }])],
            messages: [
                'invalid Policy "pa2":',
                v("rules[0].protocol", 'must be "tcp", "udp" or "icmp" (leave it out for every protocol); got "sctp"'),
            ],
        },
        {
            title: "a Policy rule with a port out of range",
            resources: [policy("pa3", [{ action: "deny", to: `${free}.0/24`, protocol: "tcp", ports: [80, 70000] }])],
            messages: ['invalid Policy "pa3":', v("rules[0].ports[1]", 'must be a port 1-65535 or a range "first-last"; got 70000')],
        },
        {
            title: "a Policy rule with a port range written backwards",
            resources: [policy("pa4", [{ action: "deny", to: `${free}.0/24`, protocol: "udp", ports: ["8080-8000"] }])],
            messages: ['invalid Policy "pa4":', v("rules[0].ports[0]", 'must be a port 1-65535 or a range "first-last"; got "8080-8000"')],
        },
        {
            title: "a Policy rule listing a port twice (in a range)",
            resources: [policy("pa5", [{ action: "deny", to: `${free}.0/24`, protocol: "tcp", ports: [80, "70-90"] }])],
            messages: ['invalid Policy "pa5":', v("rules[0].ports[1]", '"70-90" overlaps another port of the rule; list each port once')],
        },
        {
            title: "a Policy rule with ports but no protocol",
            resources: [policy("pa6", [{ action: "deny", to: `${free}.0/24`, ports: [80] }])],
            messages: ['invalid Policy "pa6":', v("rules[0].ports", 'needs `protocol` "tcp" or "udp"; got protocol "(every protocol)"')],
        },
        {
            title: "a Policy rule with a field it does not have (`port` for `ports`), which would otherwise widen the rule",
            resources: [policy("pa7", [{ action: "deny", to: `${free}.0/24`, protocol: "tcp", port: 80 }])],
            messages: [
                'invalid Policy "pa7":',
                v("rules[0].port", "is not a field of a rule; remove it, or use one of action, from, to, protocol, ports, comment"),
            ],
        },
        {
            title: "a Policy rule with neither from nor to",
            resources: [policy("pa8", [{ action: "deny", protocol: "tcp" }])],
            messages: [
                'invalid Policy "pa8":',
                v(
                    "rules[0]",
                    "must name `from` or `to`: a rule on all the traffic the host forwards would act on other stacks' and Docker's containers too",
                ),
            ],
        },
        {
            title: "a Policy rule's comment with quotes",
            resources: [policy("pa9", [{ action: "deny", to: `${free}.0/24`, comment: 'the "web" tier' }])],
            messages: [
                'invalid Policy "pa9":',
                v("rules[0].comment", "must be a text of 1 to 128 bytes, without quotes, backslashes or line breaks; got "),
            ],
        },
        {
            title: "a Policy rule that is not an object",
            resources: [policy("pb1", ["allow" as unknown as Record<string, unknown>])],
            messages: ['invalid Policy "pb1":', v("rules[0]", 'must be { action, from?, to?, protocol?, ports?, comment? }; got "allow"')],
        },
        {
            title: "a Policy table name nftables cannot take",
            resources: [policy("pb2", [{ action: "deny", to: `${free}.0/24` }], { table: "my-table" })],
            messages: [
                'invalid Policy "pb2":',
                v("table", "must be an nftables table name: a letter or '_', then letters, digits or '_', at most 64; got \"my-table\""),
            ],
        },
        {
            title: "a Policy table that exists already and is not the Policy's",
            resources: [policy("pb3", [{ action: "deny", to: `${free}.0/24` }], { table: names.nftTable })],
            messages: [
                property("Policy", "pb3", "table"),
                v("table", `"${names.nftTable}" is taken in nftables family inet (not made by this library); choose another \`table\``),
            ],
        },
        // Policy: addresses
        {
            title: "a malformed address as a Policy endpoint",
            resources: [policy("pb4", [{ action: "deny", to: "10.1.2.300/24" }])],
            messages: [
                'invalid Policy "pb4":',
                v("rules[0].to", '"10.1.2.300/24" is not an address or CIDR; name a container as { container: "10.1.2.300/24" }'),
            ],
        },
        {
            title: "IPv6: a malformed IPv6 network as a Policy endpoint",
            resources: [policy("pb5", [{ action: "deny", from: "fd00::/129" }])],
            messages: ['invalid Policy "pb5":', v("rules[0].from", '"fd00::/129" is not an address or CIDR; name a container as')],
        },
        {
            title: "a Policy endpoint network with host bits set",
            resources: [policy("pb6", [{ action: "deny", to: `${free}.5/24` }])],
            messages: [
                'invalid Policy "pb6":',
                v(
                    "rules[0].to.addresses[0]",
                    `"${free}.5/24" has host bits set: write the network ("${free}.0/24") or the one address ("${free}.5")`,
                ),
            ],
        },
        {
            title: "IPv6: a Policy endpoint IPv6 network with host bits set",
            resources: [policy("pb7", [{ action: "deny", to: `${free6}5/64` }])],
            messages: [
                'invalid Policy "pb7":',
                v("rules[0].to.addresses[0]", `"${free6}5/64" has host bits set: write the network (`),
                `or the one address ("${free6}5")`,
            ],
        },
        {
            title: "overlapping networks in one Policy endpoint",
            resources: [policy("pb8", [{ action: "deny", to: { cidr: [`${free}.0/24`, `${free}.128/25`] } }])],
            messages: [
                property("Policy", "pb8", "rules"),
                v("rules[0].to.addresses", `"${free}.0/24" and "${free}.128/25" overlap; list each address once`),
            ],
        },
        {
            title: "IPv6: overlapping IPv6 networks in one Policy endpoint",
            resources: [policy("pb9", [{ action: "allow", from: { cidr: [`${free6}/64`, `${free6}/80`] } }])],
            messages: [
                property("Policy", "pb9", "rules"),
                v("rules[0].from.addresses", `"${free6}/64" and "${free6}/80" overlap; list each address once`),
            ],
        },
        {
            title: "IPv6: a malformed IPv6 address in a Policy endpoint's cidr list",
            resources: [policy("pc1", [{ action: "deny", to: { cidr: ["fd00::zz"] } }])],
            messages: [
                property("Policy", "pc1", "rules"),
                v("rules[0].to.addresses[0]", 'must be an IPv4 or IPv6 address, or a network with its prefix length; got "fd00::zz"'),
            ],
        },
        {
            title: "IPv6: a Policy rule from IPv4 addresses to IPv6 ones, which would never match",
            resources: [policy("pc2", [{ action: "deny", from: `${free}.0/24`, to: `${free6}/64` }])],
            messages: [
                'invalid Policy "pc2":',
                v(
                    "rules[0]",
                    ": `from` is IPv4 and `to` IPv6: the rule would never match; give both sides addresses of one family (one rule per family)",
                ),
            ],
        },
        // Policy: what the rules name, read from the host
        {
            title: "a Policy rule naming a container that does not exist",
            resources: [policy("pc3", [{ action: "deny", from: { container: `hnt-absent-${sfx}` }, to: `${free}.0/24` }])],
            messages: [
                property("Policy", "pc3", "rules"),
                v(
                    "rules[0].from.container",
                    `"hnt-absent-${sfx}" does not exist; create it first, or pass the Container resource that makes it`,
                ),
            ],
        },
        {
            title: "a Policy rule naming a --net=host container",
            resources: [policy("pc4", [{ action: "deny", to: { container: names.hostMode } }])],
            messages: [
                property("Policy", "pc4", "rules"),
                v(
                    "rules[0].to.container",
                    `: container "${names.hostMode}" uses network mode host: it has no network namespace of its own: its interfaces are the host's, so the host does not forward its traffic and a Policy cannot filter it; name the host's addresses (a CIDR) or a bridge instead`,
                ),
            ],
        },
        {
            title: "a Policy rule naming a Docker network that does not exist",
            resources: [policy("pc5", [{ action: "deny", to: { network: `hnt-nonet-${sfx}` } }])],
            messages: [
                property("Policy", "pc5", "rules"),
                v("rules[0].to.network", `"hnt-nonet-${sfx}" does not exist; create it first, or pass the Network resource`),
            ],
        },
        {
            title: "a Policy rule naming a macvlan network, which has no bridge to filter",
            resources: [policy("pc6", [{ action: "deny", from: { network: names.macvlanNet } }])],
            messages: [
                property("Policy", "pc6", "rules"),
                v(
                    "rules[0].from.network",
                    `"${names.macvlanNet}" has driver macvlan, not bridge: it has no Linux bridge to filter; name its containers or its subnet instead`,
                ),
            ],
        },
        {
            title: "a Policy rule naming a bridge that does not exist",
            resources: [policy("pc7", [{ action: "deny", to: { bridge: `hnt-nob-${sfx}` } }])],
            messages: [
                property("Policy", "pc7", "rules"),
                v("rules[0].to.bridge", `"hnt-nob-${sfx}" does not exist; create it first (a Bridge resource), or name an existing bridge`),
            ],
        },
        {
            title: "a Policy rule naming a bridge longer than the kernel allows",
            resources: [policy("pc8", [{ action: "deny", to: { bridge: "hn-this-is-too-long" } }])],
            messages: [
                property("Policy", "pc8", "rules"),
                v(
                    "rules[0].to.bridge",
                    'must be at most 15 characters (the kernel\'s limit on interface names); "hn-this-is-too-long" has 19',
                ),
            ],
        },
        {
            title: "a Policy isolating a bridge that does not exist",
            resources: [policy("pc9", [], { isolate: [`hnt-nob-${sfx}`] })],
            messages: [
                property("Policy", "pc9", "isolate"),
                v("isolate[0]", `"hnt-nob-${sfx}" does not exist; create it first (a Bridge resource), or name an existing bridge`),
            ],
        },
        {
            title: "a Policy isolating one bridge twice",
            resources: [policy("pd1", [], { isolate: [names.bridge, names.bridge] })],
            messages: [property("Policy", "pd1", "isolate"), v("isolate", `lists bridge "${names.bridge}" twice; list each bridge once`)],
        },
        // Probe
        {
            title: "a Probe from a container that does not exist",
            resources: [probe("ra1", { from: `hnt-absent-${sfx}`, to: `${bridgeNet}.77` })],
            messages: [
                property("Probe", "ra1", "from"),
                v("from", `"hnt-absent-${sfx}" does not exist; create it first, or pass the Container resource that makes it`),
            ],
        },
        {
            title: "a Probe from a stopped container",
            resources: [probe("ra2", { from: names.stopped, to: `${bridgeNet}.77` })],
            messages: [property("Probe", "ra2", "from"), v("from", `"${names.stopped}" is exited, not running; start it first`)],
        },
        {
            title: "a Probe to a container that does not exist",
            resources: [probe("ra3", { to: { container: `hnt-absent-${sfx}` } })],
            messages: [
                property("Probe", "ra3", "to"),
                v("to.container", `"hnt-absent-${sfx}" does not exist; create it first, or pass the Container resource that makes it`),
            ],
        },
        {
            title: "a Probe target that is no address",
            resources: [probe("ra4", { to: "10.1.2.300" })],
            messages: [
                'invalid Probe "ra4":',
                v(
                    "to",
                    '"10.1.2.300" must be an address ("10.10.0.5", "fd00::5") or "address:port" ("10.10.0.5:80", "[fd00::5]:80"); name a container as { container: "10.1.2.300" }',
                ),
            ],
        },
        {
            title: "IPv6: a Probe target that is no IPv6 address",
            resources: [probe("ra5", { to: `${bridge6}77::1` })],
            messages: ['invalid Probe "ra5":', v("to", `"${bridge6}77::1" must be an address ("10.10.0.5", "fd00::5") or "address:port"`)],
        },
        {
            title: "a Probe target whose port is out of range",
            resources: [probe("ra6", { to: `${bridgeNet}.77:70000` })],
            messages: [
                'invalid Probe "ra6":',
                v("to", `"${bridgeNet}.77:70000" must be an address ("10.10.0.5", "fd00::5") or "address:port"`),
            ],
        },
        {
            title: "IPv6: a Probe target [address]:port whose port is 0",
            resources: [probe("ra7", { to: `[${bridge6}77]:0` })],
            messages: ['invalid Probe "ra7":', v("to", `"[${bridge6}77]:0" must be an address ("10.10.0.5", "fd00::5") or "address:port"`)],
        },
        {
            title: "IPv6: a Probe to [address]:port over icmp, which has no ports",
            resources: [probe("ra8", { to: `[${bridge6}77]:80`, protocol: "icmp" })],
            messages: ['invalid Probe "ra8":', v("port", "goes with tcp or udp; icmp has no ports (set `protocol`, or drop the port)")],
        },
        {
            title: "a Probe to an address off this host's own networks",
            resources: [probe("ra9", { to: "198.51.100.10" })],
            messages: [
                property("Probe", "ra9", "to"),
                v("to", "198.51.100.10 is not on this host's own networks ("),
                "a probe sends traffic only between this host's containers and addresses; point `to` at an address of this host's containers, bridges or networks",
            ],
        },
        {
            title: "IPv6: a Probe to an IPv6 address off this host's own networks",
            resources: [probe("rb1", { to: "2001:db8::10" })],
            messages: [
                property("Probe", "rb1", "to"),
                v("to", "2001:db8::10 is not on this host's own networks ("),
                "; point `to` at an address of this host's containers, bridges or networks",
            ],
        },
        {
            title: "a Probe with a protocol it does not send",
            resources: [probe("rb2", { to: `${bridgeNet}.77`, protocol: "sctp" })],
            messages: ['invalid Probe "rb2":', v("protocol", 'must be "icmp", "tcp" or "udp"; got "sctp"')],
        },
        {
            title: "a Probe port out of range",
            resources: [probe("rb3", { to: `${bridgeNet}.77`, protocol: "tcp", port: 70000 })],
            messages: ['invalid Probe "rb3":', v("port", "must be a port from 1 to 65535; got 70000")],
        },
        {
            title: "a Probe port that is no number",
            resources: [probe("rb4", { to: `${bridgeNet}.77`, port: "80" })],
            messages: ['invalid Probe "rb4":', v("port", 'must be a port from 1 to 65535; got "80"')],
        },
        {
            title: "a udp Probe without a port",
            resources: [probe("rb5", { to: `${bridgeNet}.77`, protocol: "udp" })],
            messages: [
                'invalid Probe "rb5":',
                v("port", 'is required with udp: the port the probe connects to (or "address:port" in `to`)'),
            ],
        },
        {
            title: "a Probe with a port over icmp",
            resources: [probe("rb6", { to: `${bridgeNet}.77`, protocol: "icmp", port: 80 })],
            messages: ['invalid Probe "rb6":', v("port", "goes with tcp or udp; icmp has no ports (set `protocol`, or drop the port)")],
        },
        {
            title: "a Probe expecting neither reachable nor blocked",
            resources: [probe("rb7", { to: `${bridgeNet}.77`, expect: "open" })],
            messages: ['invalid Probe "rb7":', v("expect", 'must be "reachable" or "blocked"; got "open"')],
        },
        {
            title: "a Probe asking for an address family other than 4 or 6",
            resources: [probe("rb8", { to: { container: names.onNet }, family: 5 })],
            messages: ['invalid Probe "rb8":', v("family", "must be 4 or 6; got 5")],
        },
        {
            title: "a Probe timeout out of range",
            resources: [probe("rb9", { to: `${bridgeNet}.77`, timeoutSeconds: 120 })],
            messages: ['invalid Probe "rb9":', v("timeoutSeconds", "must be a whole number of seconds from 1 to 60; got 120")],
        },
        // Bandwidth of a VethAttachment and of a VethLink's ends
        {
            title: "a bandwidth rate with a unit tc does not know",
            resources: [veth("ba1", { bandwidth: { egressRate: "10mbps" } })],
            messages: [
                'invalid VethAttachment "ba1":',
                v(
                    "bandwidth.egressRate",
                    'must be a rate from 1kbit to 100gbit: bits per second, or a number with bit, kbit, mbit or gbit ("10mbit"); got "10mbps"',
                ),
            ],
        },
        {
            title: "a bandwidth rate below 1kbit",
            resources: [veth("ba2", { bandwidth: { ingressRate: 500 } })],
            messages: ['invalid VethAttachment "ba2":', v("bandwidth.ingressRate", "must be a rate from 1kbit to 100gbit: "), "; got 500"],
        },
        {
            title: "a bandwidth rate above 100gbit",
            resources: [veth("ba3", { bandwidth: { ingressRate: "200gbit" } })],
            messages: [
                'invalid VethAttachment "ba3":',
                v("bandwidth.ingressRate", "must be a rate from 1kbit to 100gbit: "),
                '; got "200gbit"',
            ],
        },
        {
            title: "a bandwidth burst with a unit tc does not know",
            resources: [veth("ba4", { bandwidth: { egressRate: "10mbit", burst: "64kib" } })],
            messages: [
                'invalid VethAttachment "ba4":',
                v("bandwidth.burst", 'must be a size from 2kb to 1024mb: bytes, or a number with b, kb or mb ("64kb"); got "64kib"'),
            ],
        },
        {
            title: "a bandwidth burst below 2kb",
            resources: [veth("ba5", { bandwidth: { egressRate: "10mbit", burst: 100 } })],
            messages: ['invalid VethAttachment "ba5":', v("bandwidth.burst", "must be a size from 2kb to 1024mb: "), "; got 100"],
        },
        {
            title: "a bandwidth burst without a rate",
            resources: [veth("ba6", { bandwidth: { burst: "64kb" } })],
            messages: ['invalid VethAttachment "ba6":', v("bandwidth.burst", "goes with a rate: set `ingressRate` or `egressRate` too")],
        },
        {
            title: "a bandwidth setting that does not exist",
            resources: [veth("ba7", { bandwidth: { rate: "10mbit" } })],
            messages: [
                'invalid VethAttachment "ba7":',
                v("bandwidth.rate", "is not a setting of bandwidth; remove it, or use one of ingressRate, egressRate, burst, delay, loss"),
            ],
        },
        {
            title: "a bandwidth that is no object",
            resources: [veth("ba8", { bandwidth: "10mbit" })],
            messages: [
                'invalid VethAttachment "ba8":',
                v("bandwidth", 'must be { ingressRate?, egressRate?, burst? }, e.g. { egressRate: "10mbit" }; got "10mbit"'),
            ],
        },
        {
            title: "a bandwidth delay that is no time",
            resources: [veth("ba9", { bandwidth: { delay: "20 ms" } })],
            messages: ['invalid VethAttachment "ba9":', v("bandwidth.delay", 'must be a time like "20ms"; got "20 ms"')],
        },
        {
            title: "a bandwidth loss over 100 percent",
            resources: [veth("bb1", { bandwidth: { loss: 150 } })],
            messages: ['invalid VethAttachment "bb1":', v("bandwidth.loss", "must be a percentage from 0 to 100; got 150")],
        },
        {
            title: "a bandwidth delay on a kernel without netem",
            resources: [veth("bb2", { bandwidth: { egressRate: "10mbit", delay: "20ms" } })],
            messages: [
                property("VethAttachment", "bb2", "bandwidth"),
                v(
                    "bandwidth",
                    "asks for delay or loss, which need the kernel's netem qdisc (sch_netem, CONFIG_NET_SCH_NETEM), and this host's kernel has none",
                ),
                "; leave `delay` and `loss` out, or run on a kernel with sch_netem",
            ],
            skipUnless: netemThere,
        },
        {
            title: "a VethLink limiting the traffic from b to a at both ends",
            resources: [link("bb3", { bandwidth: { ingressRate: "10mbit" } }, { bandwidth: { egressRate: "5mbit" } })],
            messages: [
                'invalid VethLink "bb3":',
                "`a.bandwidth.ingressRate` and `b.bandwidth.egressRate` both limit the traffic from b to a; set one of them",
            ],
        },
        {
            title: "a VethLink limiting the traffic from a to b at both ends",
            resources: [link("bb4", { bandwidth: { egressRate: "10mbit" } }, { bandwidth: { ingressRate: "5mbit" } })],
            messages: [
                'invalid VethLink "bb4":',
                "`b.bandwidth.ingressRate` and `a.bandwidth.egressRate` both limit the traffic from a to b; set one of them",
            ],
        },
        {
            title: "a VethLink end's bandwidth rate that is no rate",
            resources: [link("bb5", {}, { bandwidth: { egressRate: "fast" } })],
            messages: ['invalid VethLink "bb5":', v("b.bandwidth.egressRate", "must be a rate from 1kbit to 100gbit: "), '; got "fast"'],
        },
        {
            title: "a VethLink end's bandwidth setting that does not exist",
            resources: [link("bb6", { bandwidth: { ceil: "1mbit" } }, {})],
            messages: [
                'invalid VethLink "bb6":',
                v(
                    "a.bandwidth.ceil",
                    "is not a setting of bandwidth; remove it, or use one of ingressRate, egressRate, burst, delay, loss",
                ),
            ],
        },
        {
            title: "a VethLink end's loss on a kernel without netem",
            resources: [link("bb7", { bandwidth: { loss: 1 } }, {})],
            messages: [
                property("VethLink", "bb7", "a"),
                v("a.bandwidth", "asks for delay or loss, which need the kernel's netem qdisc (sch_netem, CONFIG_NET_SCH_NETEM)"),
                "; leave `delay` and `loss` out, or run on a kernel with sch_netem",
            ],
            skipUnless: netemThere,
        },
        // Swarm: refused at preview, before anything is touched (a preview runs no `docker swarm init`; none of these needs a swarm)
        {
            title: "a Swarm with no nodes",
            resources: [{ type: "Swarm", name: "sa1", args: { nodes: [] } }],
            messages: [
                'invalid Swarm "sa1":',
                v("nodes", "must list the swarm's hosts, the first making the swarm: [{ host: b }, { host: c }, ...]"),
            ],
        },
        {
            title: "a Swarm node on this machine without an advertise address",
            resources: [{ type: "Swarm", name: "sa2", args: { nodes: [{}] } }],
            messages: [
                'invalid Swarm "sa2":',
                v(
                    "nodes[0].advertiseAddress",
                    "is required: this machine has no SSH address to take it from; give the node's address on the network the hosts reach each other on",
                ),
            ],
        },
        {
            title: "a swarm advertise address that is not this host's",
            resources: [swarmRes("sa3", { advertiseAddress: "198.51.100.7" })],
            messages: [
                property("SwarmCluster", "sa3", "advertiseAddress"),
                v("advertiseAddress", "198.51.100.7 is no address of this machine (it has "),
                "; give the address of its interface the other nodes reach",
            ],
        },
        {
            title: "a swarm data path address that is not this host's",
            resources: [swarmRes("sa4", { dataPathAddress: "198.51.100.8" })],
            messages: [
                property("SwarmCluster", "sa4", "dataPathAddress"),
                v("dataPathAddress", "198.51.100.8 is no address of this machine (it has "),
                "; give the address of its interface the other nodes reach",
            ],
        },
        {
            title: "IPv6: a swarm advertise address of IPv6 (the swarm's underlay is IPv4 here)",
            resources: [swarmRes("sa5", { advertiseAddress: `${bridge6}1` })],
            messages: ['invalid Swarm "sa5":', v("advertiseAddress", `must be an IPv4 address like 10.0.0.2; got "${bridge6}1"`)],
        },
        {
            title: "IPv6: a swarm data path address of IPv6",
            resources: [swarmRes("sa6", { dataPathAddress: `${bridge6}1` })],
            messages: ['invalid Swarm "sa6":', v("dataPathAddress", `must be an IPv4 address like 10.0.0.2; got "${bridge6}1"`)],
        },
        {
            title: "IPv6: a swarm listen address of IPv6",
            resources: [swarmRes("sa7", { listenAddress: `[${bridge6}1]:2377` })],
            messages: [
                'invalid Swarm "sa7":',
                v("listenAddress", `must be an IPv4 address (with an optional :port) like 10.0.0.2; got "[${bridge6}1]:2377"`),
            ],
        },
        {
            title: "a swarm advertise address with a port",
            resources: [swarmRes("sa8", { advertiseAddress: `${bridgeNet}.1:2377` })],
            messages: [
                'invalid Swarm "sa8":',
                v("advertiseAddress", `takes an address without a port, like 10.0.0.2; got "${bridgeNet}.1:2377"`),
            ],
        },
        {
            title: "a swarm listen address whose port is out of range",
            resources: [swarmRes("sa9", { listenAddress: "0.0.0.0:99999" })],
            messages: ['invalid Swarm "sa9":', v("listenAddress", ": port 99999 is not a TCP port; give one from 1 to 65535")],
        },
        {
            title: "a swarm data path port outside Docker's range",
            resources: [swarmRes("sb1", {}, { dataPathPort: 80 })],
            messages: [
                'invalid Swarm "sb1":',
                v("dataPathPort", "must be a UDP port from 1024 to 49151 (Docker's rule; VXLAN's is 4789); got 80"),
            ],
        },
        {
            title: "a swarm address pool that is no IPv4 network",
            resources: [swarmRes("sb2", {}, { defaultAddrPool: ["10.20.0.0/33"] })],
            messages: [
                'invalid Swarm "sb2":',
                v("defaultAddrPool", 'must be a list of IPv4 networks like ["10.20.0.0/16"]; got ["10.20.0.0/33"]'),
            ],
        },
        {
            title: "IPv6: a swarm address pool of IPv6",
            resources: [swarmRes("sb3", {}, { defaultAddrPool: ["fd00:1::/48"] })],
            messages: [
                'invalid Swarm "sb3":',
                v("defaultAddrPool", 'must be a list of IPv4 networks like ["10.20.0.0/16"]; got ["fd00:1::/48"]'),
            ],
        },
        {
            title: "a swarm subnet size out of range",
            resources: [swarmRes("sb4", {}, { subnetSize: 30 })],
            messages: ['invalid Swarm "sb4":', v("subnetSize", "must be a prefix length from 8 to 29 (each overlay's subnet); got 30")],
        },
        {
            title: "a swarm node role other than manager or worker",
            resources: [swarmRes("sb5", { role: "boss" })],
            messages: ['invalid Swarm "sb5":', v("nodes[0].role", 'must be manager or worker; got "boss"')],
        },
        {
            title: "a swarm whose first node is a worker",
            resources: [swarmRes("sb6", { role: "worker" })],
            messages: [
                'invalid Swarm "sb6":',
                v(
                    "nodes[0].role",
                    "is worker, but the first node makes the swarm (`docker swarm init`) and must be a manager; list a manager first",
                ),
            ],
        },
        {
            title: "a swarm node availability that does not exist",
            resources: [swarmRes("sb7", { availability: "off" })],
            messages: ['invalid Swarm "sb7" (node of this machine):', v("availability", 'must be active, pause or drain; got "off"')],
        },
        {
            title: "a swarm node label under io.hostnet.",
            resources: [swarmRes("sb8", { labels: { "io.hostnet.owner": "me" } })],
            messages: [
                'invalid Swarm "sb8" (node of this machine):',
                v(
                    "labels",
                    'may not set "io.hostnet.owner": labels under io.hostnet. (such as io.hostnet.owner) are the library\'s ownership marks; choose another label name',
                ),
            ],
        },
        {
            title: "this machine twice in one swarm",
            resources: [
                {
                    type: "Swarm",
                    name: "sb9",
                    args: { nodes: [{ advertiseAddress: `${bridgeNet}.1` }, { advertiseAddress: `${bridgeNet}.1` }] },
                },
            ],
            messages: ['invalid Swarm "sb9":', v("nodes[1]", "is this machine again (as `nodes[0]`); a host is one node")],
        },
        // Overlay Networks of a Swarm (the swarm is only planned: a preview makes none)
        {
            title: "an encrypted overlay on a kernel without Docker's IPsec (AES-GCM)",
            resources: [swarmRes("sc1", {}), net("oc", { swarm: { ref: "sc1" }, encrypted: true, subnet: `10.181.${n}.0/24` })],
            messages: [
                property("Network", "oc", "encrypted"),
                "`encrypted`: the kernel of this machine lacks ",
                "AES-GCM (CONFIG_CRYPTO_GCM), which Docker's encrypted overlay needs: Docker would make the network and drop its traffic",
                "; set `encrypted: false` and encrypt on the underlay, or run the nodes on a kernel with CONFIG_INET_ESP and CONFIG_CRYPTO_GCM",
            ],
            skipUnless: aesGcmThere,
        },
        {
            title: "an overlay given an option of driver bridge (icc)",
            resources: [swarmRes("sc2", {}), net("od", { swarm: { ref: "sc2" }, icc: false })],
            messages: [
                'invalid Network "od":',
                v(
                    "icc",
                    "is an option of driver bridge: containers on an overlay always reach each other (use `internal` to cut the way out); remove it",
                ),
            ],
        },
        {
            title: "an overlay that plain containers may not join",
            resources: [swarmRes("sc3", {}), net("oe", { swarm: { ref: "sc3" }, attachable: false })],
            messages: [
                'invalid Network "oe":',
                v(
                    "attachable",
                    "false leaves the overlay to swarm services, which this library does not make; its Containers need it true (the default)",
                ),
            ],
        },
        {
            title: "an overlay option on a bridge network",
            resources: [net("of", { encrypted: true })],
            messages: [
                'invalid Network "of":',
                v(
                    "encrypted",
                    "is an option of driver overlay (a network across the hosts of a Swarm); this network's driver is bridge; remove `encrypted`, or make the network an overlay (give `swarm`)",
                ),
            ],
        },
        {
            title: "a Swarm given to a network of driver bridge",
            resources: [swarmRes("sc4", {}), net("og", { driver: "bridge", swarm: { ref: "sc4" } })],
            messages: [
                'invalid Network "og":',
                v(
                    "swarm",
                    "is an option of driver overlay (a network across the hosts of a Swarm); this network's driver is bridge; remove `swarm`, or leave `driver` out (an overlay)",
                ),
            ],
        },
        {
            title: "an overlay without its swarm",
            resources: [net("oh", { driver: "overlay" })],
            messages: [
                'invalid Network "oh":',
                v(
                    "swarm",
                    "is required with driver overlay: the Swarm whose hosts the network spans (`new Network(name, { swarm, subnet })`)",
                ),
            ],
        },
        // Known only once a container of the same deployment exists: refused during up, before the attachment touches anything.
        {
            title: "a default route into a container of the same deployment that has one (Docker's, mode bridge), during up",
            resources: [
                ctr("m4", { network: { mode: "bridge" } }),
                veth("m5", { container: { ref: "m4" }, address: `${bridgeNet}.12/24`, containerIfName: "eth1" }),
            ],
            messages: [
                "VethAttachment resource 'm5': property defaultRoute",
                `\`defaultRoute\`: container "hnt-wm4-${sfx}" already has a default route (via `,
                "dev eth0); set `defaultRoute: false` on this attachment, or remove the other route",
            ],
            at: "up",
        },
        {
            title: "IPv6: an IPv6 default route into a container of the same deployment that has one (Docker's, mode bridge), during up",
            resources: [
                ctr("m6", { network: { mode: "bridge" } }),
                veth("m7", { container: { ref: "m6" }, address: `${bridge6}12/64`, containerIfName: "eth1" }),
            ],
            messages: [
                "VethAttachment resource 'm7': property defaultRoute",
                `\`defaultRoute\`: container "hnt-wm6-${sfx}" already has an IPv6 default route (via `,
                "dev eth0); set `defaultRoute: false` on this attachment, or remove the other route",
            ],
            at: "up",
        },
    ];

    it("has at least 200 rows, 55 of them IPv6, and rows for every kind of resource a program declares", () => {
        assert.ok(rows().length >= 200, `${rows().length} rows`);
        const six = rows().filter((r) => r.title.startsWith("IPv6: ")).length;
        const atUp = rows().filter((r) => r.at === "up").length;
        console.log(`      rows: ${rows().length}, IPv6: ${six}; refused at preview: ${rows().length - atUp}, during up: ${atUp}`);
        assert.ok(six >= 55, `${six} IPv6 rows`);
        // The resource whose input a row is about is its last; every kind has rows of its own.
        const kinds = new Map<string, number>();
        for (const r of rows()) kinds.set(r.resources.at(-1)!.type, (kinds.get(r.resources.at(-1)!.type) ?? 0) + 1);
        console.log(`      by kind: ${[...kinds].map(([k, c]) => `${k} ${c}`).join(", ")}`);
        const kindsDeclared = [
            "Bridge",
            "Container",
            "MacvlanAttachment",
            "Network",
            "NetworkAttachment",
            "VethAttachment",
            "VethLink",
            "VxlanLink",
            "Policy",
            "Probe",
            "Swarm",
        ];
        assert.deepEqual(
            kindsDeclared.filter((k) => !kinds.has(k)),
            [],
            "kinds without a row",
        );
    });

    for (const [i, title] of rows()
        .map((r) => r.title)
        .entries()) {
        it(`refuses ${title}`, async function () {
            const row = rows()[i];
            const skip = await row.skipUnless?.();
            if (skip) {
                console.log(`      skipped: ${skip}`);
                this.skip();
            }
            await stack.setConfig("resources", { value: JSON.stringify(row.resources) });
            const before = await snapshot();
            const refused = (err: Error) => {
                if (process.env.HOSTNET_SHOW_REFUSALS) console.log(err.message);
                for (const m of row.messages) {
                    const found = typeof m === "string" ? err.message.includes(m) : m.test(err.message);
                    assert.ok(found, `expected\n  ${m}\nin:\n${err.message}`);
                }
                return true;
            };
            if (row.at === "up") {
                try {
                    await assert.rejects(stack.up(), refused);
                } finally {
                    await stack.destroy();
                }
            } else {
                await assert.rejects(stack.preview(), refused);
            }
            assert.equal(await snapshot(), before, "the host is byte for byte as it was");
            assert.deepEqual(await stackObjects(), [], "nothing carries the stack's owner mark");
        });
    }
});
