// Faults leak nothing, and recovery needs no hands: every provider, every
// operation (create, update, delete), against the fake kernel and the fake
// Docker Engine API (test/fakes), without root and without the real host.
//
// For each case, a clean run records every operation the provider makes
// (commands, batch lines, API requests) and lines its changes up with the
// steps of the plan the provider exports (planCreate/planUpdate/planDelete):
// a step the provider runs but its plan does not say, or the other way round,
// fails the test, and new steps are covered without editing this file. Then,
// each in a fresh world:
//   - each change fails in turn: the error names the step and keeps the host
//     layer's typed error as its cause, nothing is left behind, and what the
//     next `up` does (check, then the same call) converges to the clean run's
//     host, from which a delete leaves the host as it was before the create;
//   - each read fails in turn: the call fails cleanly (or copes), same checks;
//   - the process dies before each operation (and after the last, with its
//     result lost): what the next `up` does converges, same checks.
// Then, per kind: a leftover marked as this resource's is taken over; one
// marked by another owner, or unmarked, is refused and left untouched; delete
// of something already gone, and delete twice, succeed.
//
// What this does not prove: that the fakes match the kernel and Docker in
// every respect (they were checked against the real tools for what they
// model); the real-host and real-engine suites (test/host, test/e2e) do that.

import * as assert from "node:assert/strict";
import * as http from "node:http";
import { connectionMark, defaultMac, OWNER_LABEL } from "../../components/src/common/naming";
import { DockerApiError, HostCommandError } from "../../components/src/host/errors";
import { parseRecord } from "../../components/src/host/records";
import { ExportedDeployment, findLeftovers, removeLeftovers, stateView } from "../../components/src/cli/gc";
import type { Plan, Step } from "../../components/src/engine/plan";
import * as bridge from "../../components/src/engine/providers/bridge";
import * as dockerContainer from "../../components/src/engine/providers/dockerContainer";
import * as macvlanAttachment from "../../components/src/engine/providers/macvlanAttachment";
import * as network from "../../components/src/engine/providers/network";
import * as networkAttachment from "../../components/src/engine/providers/networkAttachment";
import * as policy from "../../components/src/engine/providers/policy";
import * as probe from "../../components/src/engine/providers/probe";
import { ifbOf } from "../../components/src/engine/bandwidth";
import * as vethAttachment from "../../components/src/engine/providers/vethAttachment";
import * as vethLink from "../../components/src/engine/providers/vethLink";
import * as vxlanLink from "../../components/src/engine/providers/vxlanLink";
import { standInForHost } from "../../components/src/host/ssh";
import { RuleName, traceRules } from "../../components/src/engine/rules";
import { INJECTED_DOCKER_MESSAGE, INJECTED_STDERR, Operation } from "../fakes/faults";
import { KERNEL_KINDS } from "../fakes/kernel";
import { FakeHost, objectsOf, Snapshot, World } from "../fakes/world";
import { forTests, TestProvider } from "../helpers/providers";

type Op = "create" | "update" | "delete";

interface Made {
    id: string;
    outs: any;
}

interface Case {
    kind: string;
    title: string;
    provider: TestProvider<any, any>;
    /** Fixtures the resource needs (containers, bridges, networks), made by hand. */
    setup(w: World): void;
    inputs: any;
    /** Inputs of an in-place update (absent: every change replaces). */
    news?: any;
    /** The plan the provider will run, from its exported plan function, in this world. */
    plan(op: Op, w: World, prev?: Made): Plan;
    /** Objects of this case's names made by hand, carrying `mark` as theirs (undefined: unmarked). */
    makeByHand?(w: World, mark: string | undefined): void;
    /** Removes what create made, by hand. */
    removeByHand(w: World, made: Made): void;
    /**
     * A known limit: what the host may still hold after an interrupted run,
     * the next up and a delete, beyond what it held before the create. Returns
     * the snapshot without it; a test of its own pins it.
     */
    knownLimit?: { why: string; forgive(s: Snapshot): Snapshot };
}

/** A world in which one rule refuses the case: fixtures made after the case's own, and the inputs to refuse. */
interface Provocation {
    /** The kinds of link the fake kernel makes (default: this machine's). */
    kinds?: readonly string[];
    /** Fixtures the case's `setup` does not make (run after it). */
    make?(w: World): void;
    /** The refused inputs (default: the case's), given the world. */
    inputs?(w: World): any;
}

const PROJECT = "hostnet/proj/stk";
const OTHER = "hostnet/proj/other-stack";

function containerNs(w: World, name: string) {
    return { pid: w.docker.container(name)!.pid, label: `container "${name}"` };
}

function nsOf(w: World, container: string) {
    return w.kernel.namespaceOf(w.docker.container(container)!.pid)!;
}

/** Two --net=none containers and an unmarked bridge with an address: what attachments and links use. */
function baseFixtures(w: World): void {
    w.docker.run("ctr-a");
    w.docker.run("ctr-b");
    w.kernel.addBridge("br-fix", { addrs: ["10.77.0.1/24"] });
}

const vaOwner = `${PROJECT}/VethAttachment/att`;
const vaInputs = {
    container: "ctr-a",
    bridge: "br-fix",
    address: "10.77.0.2/24",
    defaultRoute: true,
    containerIfName: "eth0",
    hostIfName: "hn-att-0001",
    mtu: 1400,
    mac: defaultMac(vaOwner, "peer"),
    owner: vaOwner,
};

const vlOwner = `${PROJECT}/VethLink/lnk`;
const vlInputs = {
    a: { container: "ctr-a", ifName: "lk-a", address: "10.88.0.1/30", mac: defaultMac(vlOwner, "a") },
    b: { container: "ctr-b", ifName: "lk-b", address: "10.88.0.2/30", mac: defaultMac(vlOwner, "b") },
    mtu: 1400,
    owner: vlOwner,
};

const brOwner = `${PROJECT}/Bridge/lan`;
const brInputs = {
    name: "hn-lan-0001",
    addresses: ["10.66.0.1/24", "10.66.1.1/24"],
    mtu: 1400,
    stp: true,
    up: true,
    adopt: false,
    mac: defaultMac(brOwner, "bridge"),
    forward: true,
    owner: brOwner,
};

const maOwner = `${PROJECT}/MacvlanAttachment/mac`;
const maInputs = {
    container: "ctr-a",
    parent: "par-fix",
    kind: "macvlan",
    mode: "bridge",
    addresses: ["10.79.0.2/24", "10.79.1.2/24"],
    gateway: "10.79.0.1",
    containerIfName: "eth0",
    mtu: 1400,
    mac: defaultMac(maOwner, "macvlan"),
    owner: maOwner,
};

/** The base fixtures and a parent for macvlans: a veth end on the host, up (the LAN behind it unmodelled). */
function parentFixtures(w: World): void {
    baseFixtures(w);
    w.kernel.addVeth(w.kernel.host, "par-fix", w.kernel.host, "par-peer", { up: true });
}

const baOwner = `${PROJECT}/Bridge/shared`;
const baInputs = {
    name: "br-shared",
    addresses: ["10.55.0.1/24", "10.55.1.1/24", "10.55.2.1/24"],
    up: true,
    adopt: true,
    owner: baOwner,
};

const dcOwner = `${PROJECT}/DockerContainer/web`;
const dcInputs = {
    name: "hn-stk-web",
    image: "hostnet/busybox:1",
    command: ["sleep", "1d"],
    env: ["A=1"],
    networkMode: "net-1",
    networks: [
        { network: "net-1", ipv4Address: "10.44.0.10", aliases: ["web"] },
        { network: "net-2", aliases: ["w2"] },
    ],
    restartPolicy: "always",
    labels: { app: "web" },
    owner: dcOwner,
};

const nwOwner = `${PROJECT}/Network/lab`;
const nwInputs = {
    name: "hn-stk-lab",
    subnet: "10.33.0.0/24",
    gateway: "10.33.0.1",
    ipRange: "10.33.0.128/25",
    bridgeName: "hn-labbr",
    internal: false,
    icc: true,
    masquerade: false,
    mtu: 1400,
    labels: { tier: "lab" },
    owner: nwOwner,
};

// With limits both ways: a tbf on the host end, an ifb with a tbf; the update drops the ifb's.
const vbOwner = `${PROJECT}/VethAttachment/shaped`;
const vbInputs = {
    ...vaInputs,
    owner: vbOwner,
    mac: defaultMac(vbOwner, "peer"),
    bandwidth: { ingressRate: "10mbit", egressRate: "5mbit", burst: "32kb" },
};

const vsOwner = `${PROJECT}/VethLink/shaped`;
const vsInputs = {
    ...vlInputs,
    a: { ...vlInputs.a, mac: defaultMac(vsOwner, "a"), bandwidth: { egressRate: "10mbit" } },
    b: { ...vlInputs.b, mac: defaultMac(vsOwner, "b"), bandwidth: { egressRate: "5mbit" } },
    owner: vsOwner,
};

const poOwner = `${PROJECT}/Policy/policy`;
const poInputs = {
    table: "hn_stk_policy",
    rules: [
        {
            action: "deny" as const,
            from: { container: "ctr-a", name: "a", declared: ["10.77.0.2/24"] },
            to: { container: "ctr-b", name: "b" },
            protocol: "tcp" as const,
            ports: [80],
        },
        { action: "allow" as const, from: { bridge: "br-fix" }, to: { addresses: ["10.77.0.0/24"] } },
    ],
    isolate: ["br-fix"],
    owner: poOwner,
};

const mnOwner = `${PROJECT}/Network/lan`;
const mnInputs = {
    name: "hn-stk-lan",
    driver: "macvlan",
    parent: "par-fix",
    mode: "private",
    subnet: "10.34.0.0/24",
    gateway: "10.34.0.254",
    ipRange: "10.34.0.128/25",
    internal: false,
    icc: true,
    masquerade: true,
    labels: { tier: "lan" },
    owner: mnOwner,
};

const naOwner = `${PROJECT}/NetworkAttachment/web-lab`;
const naInputs = { container: "ctr-web", network: "net-9", ipv4Address: "10.22.0.5", aliases: ["api"], owner: naOwner };

/** What the host's records say of `owner` on bridge `name` (host/records.ts), read from the fake's files. */
function adoptionIn(w: World, name: string, owner: string): bridge.Adoption {
    const all = [...w.kernel.files.values()].flatMap((t) => (typeof t === "string" ? [parseRecord(t)!] : []));
    return bridge.adoptionOf(all, name, w.kernel.host.byName(name)?.ifindex ?? -1, owner);
}

function liveAddresses(w: World, name: string): string[] {
    return (w.kernel.host.byName(name)?.addrs ?? []).map((a) => `${a.local}/${a.prefixlen}`);
}

/** A bridge's settings as the provider reads them (`ip -j -d link show`). */
function liveSettings(w: World, name: string) {
    const l = w.kernel.host.byName(name);
    return l ? { mac: l.mac, mtu: l.mtu, up: l.up, stp: l.stp, vlanFiltering: false } : {};
}

const CASES: Case[] = [
    {
        kind: "VethAttachment",
        title: "VethAttachment (veth onto a bridge: address, MTU, MAC, default route)",
        provider: forTests(vethAttachment.vethAttachmentProvider),
        setup: baseFixtures,
        inputs: vaInputs,
        news: { ...vaInputs, address: "10.77.0.3/24", mtu: 1450 },
        plan(op, w, prev) {
            const ctr = containerNs(w, "ctr-a");
            if (op === "create") return vethAttachment.planCreate(vaInputs, ctr, { 4: "10.77.0.1", 6: "" });
            if (op === "update") return vethAttachment.planUpdate(prev!.outs, this.news, ctr, { 4: "10.77.0.1", 6: "" });
            return vethAttachment.planDelete(prev!.outs);
        },
        makeByHand(w, mark) {
            w.kernel.addVeth(w.kernel.host, vaInputs.hostIfName, nsOf(w, "ctr-a"), "eth0", { alias: mark, master: "br-fix", up: true });
        },
        removeByHand(w) {
            w.kernel.removeLink(w.kernel.host, vaInputs.hostIfName);
        },
    },
    {
        kind: "VethAttachment",
        title: "VethAttachment with bandwidth limits (tbf on the host end, an ifb with a tbf; the update takes the ifb away)",
        provider: forTests(vethAttachment.vethAttachmentProvider),
        setup: baseFixtures,
        inputs: vbInputs,
        news: { ...vbInputs, bandwidth: { ingressRate: "20mbit", burst: "32kb" } },
        plan(op, w, prev) {
            const ctr = containerNs(w, "ctr-a");
            if (op === "create") return vethAttachment.planCreate(vbInputs, ctr, { 4: "10.77.0.1", 6: "" });
            if (op === "update") return vethAttachment.planUpdate(prev!.outs, this.news, ctr, { 4: "10.77.0.1", 6: "" });
            return vethAttachment.planDelete(prev!.outs);
        },
        makeByHand(w, mark) {
            w.kernel.addVeth(w.kernel.host, vbInputs.hostIfName, nsOf(w, "ctr-a"), "eth0", { alias: mark, master: "br-fix", up: true });
        },
        removeByHand(w) {
            w.kernel.removeLink(w.kernel.host, vbInputs.hostIfName);
            w.kernel.removeLink(w.kernel.host, ifbOf(vbOwner).name);
        },
    },
    {
        kind: "MacvlanAttachment",
        title: "MacvlanAttachment (a macvlan of a host interface in a container: two addresses, MTU, MAC, default route)",
        provider: forTests(macvlanAttachment.macvlanAttachmentProvider),
        setup: parentFixtures,
        inputs: maInputs,
        news: { ...maInputs, addresses: ["10.79.0.3/24", "10.79.1.2/24"], gateway: "10.79.0.254", mtu: 1450 },
        plan(op, w, prev) {
            const ctr = containerNs(w, "ctr-a");
            if (op === "create") return macvlanAttachment.planCreate(maInputs as any, ctr);
            if (op === "update") return macvlanAttachment.planUpdate(prev!.outs, this.news, ctr);
            return macvlanAttachment.planDelete(prev!.outs, ctr);
        },
        makeByHand(w, mark) {
            w.kernel.addMacvlan(nsOf(w, "ctr-a"), "eth0", w.kernel.host, "par-fix", { alias: mark, up: true });
        },
        removeByHand(w) {
            w.kernel.removeLink(nsOf(w, "ctr-a"), "eth0");
        },
    },
    {
        kind: "VethLink",
        title: "VethLink (veth between two containers, both ends addressed)",
        provider: forTests(vethLink.vethLinkProvider),
        setup: baseFixtures,
        inputs: vlInputs,
        news: { ...vlInputs, a: { ...vlInputs.a, address: "10.88.0.5/30" }, b: { ...vlInputs.b, address: "10.88.0.6/30" }, mtu: 1450 },
        plan(op, w, prev) {
            const a = containerNs(w, "ctr-a");
            const b = containerNs(w, "ctr-b");
            if (op === "create") return vethLink.planCreate(vlInputs, a, b);
            if (op === "update") return vethLink.planUpdate(prev!.outs, this.news, a, b);
            return vethLink.planDelete(prev!.outs, "a", a);
        },
        makeByHand(w, mark) {
            const a = w.kernel.addVeth(nsOf(w, "ctr-a"), "lk-a", nsOf(w, "ctr-b"), "lk-b", { alias: mark });
            a.peer!.ns.links.get(a.peer!.ifindex)!.alias = mark;
        },
        removeByHand(w) {
            w.kernel.removeLink(nsOf(w, "ctr-a"), "lk-a");
        },
    },
    {
        kind: "VethLink",
        title: "VethLink with bandwidth limits (a tbf on each end; the update takes b's away)",
        provider: forTests(vethLink.vethLinkProvider),
        setup: baseFixtures,
        inputs: vsInputs,
        news: { ...vsInputs, a: { ...vsInputs.a, bandwidth: { egressRate: "20mbit" } }, b: { ...vsInputs.b, bandwidth: undefined } },
        plan(op, w, prev) {
            const a = containerNs(w, "ctr-a");
            const b = containerNs(w, "ctr-b");
            if (op === "create") return vethLink.planCreate(vsInputs, a, b);
            if (op === "update") return vethLink.planUpdate(prev!.outs, this.news, a, b);
            return vethLink.planDelete(prev!.outs, "a", a);
        },
        removeByHand(w) {
            w.kernel.removeLink(nsOf(w, "ctr-a"), "lk-a");
        },
    },
    {
        kind: "Policy",
        title: "Policy (an nftables table written whole: address sets, rules, a bridge isolated; the update changes the rules)",
        provider: forTests(policy.policyProvider),
        setup: baseFixtures,
        inputs: poInputs,
        news: { ...poInputs, rules: [{ ...poInputs.rules[0], ports: [80, 443] }], isolate: [] },
        plan(op, _w, prev) {
            if (op === "create") return policy.planApply(poInputs, {}, false);
            if (op === "update") return policy.planApply(this.news, {}, true);
            return policy.planDelete(prev!.outs);
        },
        makeByHand(w, mark) {
            w.kernel.host.tables.set(poInputs.table, { comment: mark, sets: [], chains: [] });
        },
        removeByHand(w) {
            w.kernel.host.tables.delete(poInputs.table);
        },
    },
    {
        kind: "Bridge",
        title: "Bridge, created (fixed MAC, two addresses, MTU, STP, forwarding rule; the update drops the rule)",
        provider: forTests(bridge.bridgeProvider),
        setup: baseFixtures,
        inputs: brInputs,
        news: { ...brInputs, addresses: ["10.66.0.1/24", "10.66.2.1/24"], mtu: 1450, stp: false, forward: false },
        plan(op, w, prev) {
            if (op === "create") return bridge.planCreate(brInputs, undefined, "DOCKER-USER");
            if (op === "update")
                return bridge.planUpdate(prev!.outs, this.news, liveAddresses(w, brInputs.name), liveSettings(w, brInputs.name));
            return bridge.planDelete(prev!.outs);
        },
        makeByHand(w, mark) {
            w.kernel.addBridge(brInputs.name, { alias: mark });
        },
        removeByHand(w) {
            w.kernel.removeLink(w.kernel.host, brInputs.name);
            w.kernel.removeRules(brOwner);
        },
    },
    {
        kind: "Bridge",
        title: "Bridge, adopted (an existing bridge: addresses added, and taken back on delete)",
        provider: forTests(bridge.bridgeProvider),
        setup(w) {
            baseFixtures(w);
            w.kernel.addBridge("br-shared", { addrs: ["10.55.0.1/24"] });
        },
        inputs: baInputs,
        news: { ...baInputs, addresses: ["10.55.0.1/24", "10.55.1.1/24", "10.55.3.1/24"] },
        plan(op, w, prev) {
            const adoption = adoptionIn(w, "br-shared", baOwner);
            if (op === "create")
                return bridge.planAdopt(baInputs, liveAddresses(w, "br-shared"), liveSettings(w, "br-shared"), undefined, adoption);
            if (op === "update")
                return bridge.planUpdate(
                    prev!.outs,
                    this.news,
                    liveAddresses(w, "br-shared"),
                    liveSettings(w, "br-shared"),
                    undefined,
                    adoption,
                );
            return bridge.planDelete(prev!.outs, true, adoption);
        },
        removeByHand(w) {
            w.kernel.removeLink(w.kernel.host, "br-shared");
        },
    },
    {
        kind: "DockerContainer",
        title: "DockerContainer (user network with a static address, a second network, restart policy)",
        provider: forTests(dockerContainer.dockerContainerProvider),
        setup(w) {
            baseFixtures(w);
            w.docker.network("net-1", "10.44.0.0/24");
            w.docker.network("net-2", "10.45.0.0/24");
            w.docker.network("net-3", "10.46.0.0/24");
        },
        inputs: dcInputs,
        news: {
            ...dcInputs,
            restartPolicy: "unless-stopped",
            networks: [dcInputs.networks[0], { network: "net-2", aliases: ["w2b"] }, { network: "net-3", ipv4Address: "10.46.0.7" }],
        },
        plan(op, _w, prev) {
            if (op === "create") return dockerContainer.planCreate(dcInputs);
            if (op === "update") return dockerContainer.planUpdate(prev!.id, prev!.outs, this.news);
            return dockerContainer.planDelete(prev!.id, prev!.outs);
        },
        makeByHand(w, mark) {
            w.docker.run(dcInputs.name, { labels: mark ? { [OWNER_LABEL]: mark } : {} });
        },
        removeByHand(w) {
            w.docker.remove(dcInputs.name);
        },
    },
    {
        kind: "Network",
        title: "Network (subnet, gateway, range, bridge name, options, labels)",
        provider: forTests(network.networkProvider),
        setup: baseFixtures,
        inputs: nwInputs,
        plan(op, _w, prev) {
            if (op === "create") return network.planCreate(nwInputs);
            return network.planDelete(prev!.id, prev!.outs);
        },
        makeByHand(w, mark) {
            w.docker.network(nwInputs.name, "10.33.0.0/24", { labels: mark ? { [OWNER_LABEL]: mark } : {} });
        },
        removeByHand(w) {
            w.docker.removeNetwork(nwInputs.name);
        },
    },
    {
        kind: "Network",
        title: "Network of driver macvlan (parent, mode, subnet, gateway, range, labels)",
        provider: forTests(network.networkProvider),
        setup: parentFixtures,
        inputs: mnInputs,
        plan(op, _w, prev) {
            if (op === "create") return network.planCreate(mnInputs as any);
            return network.planDelete(prev!.id, prev!.outs);
        },
        makeByHand(w, mark) {
            w.docker.macvlanNetwork(mnInputs.name, "10.34.0.0/24", "par-fix", { labels: mark ? { [OWNER_LABEL]: mark } : {} });
        },
        removeByHand(w) {
            w.docker.removeNetwork(mnInputs.name);
        },
    },
    {
        kind: "NetworkAttachment",
        title: "NetworkAttachment (docker network connect with a static address and aliases)",
        provider: forTests(networkAttachment.networkAttachmentProvider),
        setup(w) {
            baseFixtures(w);
            w.docker.run("ctr-web", { networkMode: "bridge" });
            w.docker.network("net-9", "10.22.0.0/24");
        },
        inputs: naInputs,
        news: { ...naInputs, ipv4Address: "10.22.0.6", aliases: ["api", "api2"] },
        plan(op, w, prev) {
            const ignore = () => undefined;
            if (op === "create") {
                const c = w.docker.container("ctr-web")!;
                const n = [...w.docker.networks.values()].find((x) => x.Name === "net-9")!;
                return networkAttachment.planCreate(naInputs, c.Id, n.Id, ignore);
            }
            if (op === "update") return networkAttachment.planUpdate(prev!.outs, this.news, ignore);
            return networkAttachment.planDelete(prev!.outs);
        },
        makeByHand(w, mark) {
            w.docker.connectByHand("net-9", "ctr-web", {
                IPAMConfig: { IPv4Address: "10.22.0.5" },
                Aliases: mark ? [connectionMark(mark)] : [],
            });
        },
        removeByHand(w) {
            w.docker.disconnectByHand("net-9", "ctr-web");
        },
    },
];

let host: FakeHost;

interface Prepared {
    w: World;
    /** Before the resource existed. */
    initial: Snapshot;
    /** Right before the operation under test. */
    before: Snapshot;
    prev?: Made;
}

async function prepare(c: Case, op: Op): Promise<Prepared> {
    const w = host.world({ helper: boundary.helper });
    c.setup(w);
    const initial = w.snapshot();
    let prev: Made | undefined;
    if (op !== "create") {
        prev = await c.provider.create(c.inputs);
        w.newProcess();
    }
    return { w, initial, before: w.snapshot(), prev };
}

async function perform(c: Case, op: Op, prev?: Made): Promise<Made | undefined> {
    if (op === "create") return c.provider.create(c.inputs);
    if (op === "update") {
        const { outs } = await c.provider.update(prev!.id, prev!.outs, c.news);
        return { id: prev!.id, outs };
    }
    await c.provider.delete(prev!.id, prev!.outs);
    return undefined;
}

/** What the next `pulumi up` (or `destroy`) does after `op` failed or its process died: a new process, check, then the call again. */
async function nextUp(c: Case, op: Op, w: World, prev?: Made): Promise<Made | undefined> {
    w.newProcess();
    if (op === "create") {
        const checked = await c.provider.check({}, c.inputs);
        if (checked.failures?.length) throw new Error(`check refused: ${checked.failures.map((f) => f.reason).join("; ")}`);
        return c.provider.create(checked.inputs);
    }
    if (op === "update") {
        const checked = await c.provider.check(c.inputs, c.news);
        if (checked.failures?.length) throw new Error(`check refused: ${checked.failures.map((f) => f.reason).join("; ")}`);
        const d = await c.provider.diff(prev!.id, prev!.outs, checked.inputs);
        if (!d.changes) throw new Error("diff saw no change, so the next up would not finish the update");
        const { outs } = await c.provider.update(prev!.id, prev!.outs, checked.inputs);
        return { id: prev!.id, outs };
    }
    await c.provider.delete(prev!.id, prev!.outs);
    return undefined;
}

interface Baseline {
    ops: Operation[];
    after: Snapshot;
    /** The plan step each change belongs to, by sequence number. */
    stepOf: Map<number, Step>;
}

/** A clean run: the operations made, the host after, and each change lined up with its plan step. */
async function baseline(c: Case, op: Op): Promise<Baseline> {
    const p = await prepare(c, op);
    const plan = c.plan(op, p.w, p.prev);
    await perform(c, op, p.prev);
    assert.deepEqual(p.w.unknown(), [], "the fakes read every command and request");
    const ops = [...p.w.faults.log];
    const changes = ops.filter((o) => o.mutating);
    const stepOf = new Map<number, Step>();
    let k = 0;
    for (const step of plan.steps) {
        // A call step is one change that is not an `ip` command: a Docker API call, one iptables, tc or nft command.
        // An `ip` step's commands reach the kernel as the netlink helper's operations, or as `ip` arguments.
        const expected =
            step.kind === "ip"
                ? step.commands.map((cmd) => ({
                      layer: "ip",
                      text: `${cmd.args.join(" ")} (${JSON.stringify(cmd.op)})`,
                      cmd,
                      pid: step.netns.pid,
                  }))
                : [{ layer: "call", text: step.text, cmd: undefined, pid: undefined }];
        for (const e of expected) {
            const got = changes[k++];
            const sameCommand = (o: Operation) =>
                boundary.helper
                    ? o.op !== undefined && JSON.stringify(o.op) === JSON.stringify(e.cmd!.op)
                    : o.op === undefined && o.args!.join(" ") === e.cmd!.args.join(" ");
            const same = got && (e.layer === "call" ? got.layer !== "ip" : got.layer === "ip" && sameCommand(got) && got.pid === e.pid);
            assert.ok(
                same,
                `plan step "${step.text}" says ${e.layer === "ip" ? `ip ${e.text}` : "one Docker call or iptables command"}; the provider's change #${k} was ${got?.text ?? "nothing"}`,
            );
            stepOf.set(got.seq, step);
        }
    }
    assert.equal(
        k,
        changes.length,
        `the provider made changes its plan does not list: ${changes
            .slice(k)
            .map((o) => o.text)
            .join(", ")}`,
    );
    return { ops, after: p.w.snapshot(), stepOf };
}

/** The snapshot without the host records (host/records.ts) that name `owner`. */
function withoutRecordsOf(s: Snapshot, owner: string): Snapshot {
    const files = Object.fromEntries(Object.entries(s.files ?? {}).filter(([, target]) => parseRecord(target)?.owner !== owner));
    const { files: _, ...rest } = s;
    return Object.keys(files).length > 0 ? { ...rest, files } : rest;
}

function causes(err: unknown): unknown[] {
    const chain: unknown[] = [];
    for (let e = err; e !== undefined && chain.length < 10; e = (e as { cause?: unknown }).cause) chain.push(e);
    return chain;
}

function diffText(a: unknown, b: unknown): string | undefined {
    try {
        assert.deepEqual(a, b);
        return undefined;
    } catch (err) {
        return (err as Error).message.split("\n").slice(0, 40).join("\n");
    }
}

/** Counts for the report. */
const counted = { failedChanges: 0, failedReads: 0, crashes: 0, knownLimit: 0, gcCrashes: 0, unmarkedLeft: 0 };

/** The roles the library derives MACs for (common/naming.ts defaultMac). */
const MAC_ROLES = ["bridge", "host", "peer", "a", "b", "vxlan-a", "vxlan-b", "macvlan", "ifb"];

/**
 * After a fault: the next up converges to the clean run's host, and deleting
 * the result leaves the host as it was before the resource existed. Returns
 * the problems found.
 */
async function convergesAfter(c: Case, op: Op, p: Prepared, base: Baseline, failed: boolean): Promise<string[]> {
    const problems: string[] = [];
    let made: Made | undefined;
    if (failed) {
        try {
            made = await nextUp(c, op, p.w, p.prev);
        } catch (err) {
            return [`the next up failed: ${(err as Error).message}`];
        }
    } else {
        made = op === "delete" ? undefined : op === "update" ? { id: p.prev!.id, outs: undefined } : undefined;
    }
    const d = diffText(p.w.snapshot(), base.after);
    if (d) problems.push(`the host after the next up differs from a clean run's:\n${d}`);
    if (made?.outs !== undefined) {
        p.w.newProcess();
        try {
            await c.provider.delete(made.id, made.outs);
        } catch (err) {
            problems.push(`delete after the next up failed: ${(err as Error).message}`);
        }
        let left = p.w.snapshot();
        if (c.knownLimit && diffText(left, p.initial) && !diffText(c.knownLimit.forgive(left), p.initial)) {
            counted.knownLimit++;
            left = c.knownLimit.forgive(left);
        }
        const d2 = diffText(left, p.initial);
        if (d2) problems.push(`delete after the next up left the host different from before the create:\n${d2}`);
    }
    return problems;
}

function leaks(op: Op, p: Prepared, base: Baseline): string | undefined {
    const now = p.w.snapshot();
    if (op === "create") return diffText(now, p.before) && `a failed create left the host changed:\n${diffText(now, p.before)}`;
    const allowed = new Set([...objectsOf(p.before), ...objectsOf(base.after)]);
    const extra = [...objectsOf(now)].filter((o) => !allowed.has(o));
    return extra.length > 0 ? `a failed ${op} left objects that are neither the old nor the new state: ${extra.join(", ")}` : undefined;
}

/** The shared host rules each provider lists (its own `hostRules`, read from its module). */
const HOST_RULES: Record<string, readonly RuleName[]> = {
    VethAttachment: vethAttachment.hostRules,
    MacvlanAttachment: macvlanAttachment.hostRules,
    VethLink: vethLink.hostRules,
    Policy: policy.hostRules,
    Bridge: bridge.hostRules,
    DockerContainer: dockerContainer.hostRules,
    Network: network.hostRules,
    NetworkAttachment: networkAttachment.hostRules,
};

/** A container in the host's namespace (`docker run --net=host`). */
const hostModeContainer = (w: World) => void w.docker.run("ctr-host", { networkMode: "host" });

/** An unmarked veth port on `bridge` whose peer in container `container` holds `cidr` (made by hand). */
function holderOnBridge(w: World, bridgeName: string, container: string, cidr: string): void {
    w.kernel.addVeth(w.kernel.host, "hx-hand", nsOf(w, container), "eth5", { master: bridgeName, up: true });
    const [local, prefix] = cidr.split("/");
    nsOf(w, container)
        .byName("eth5")!
        .addrs.push({ local, prefixlen: Number(prefix) });
}

/** A container made by hand on Docker network `network`, holding `address` there. */
function holderOnNetwork(w: World, network: string, address: string): void {
    w.docker.run("ctr-holder", { networkMode: "bridge" });
    w.docker.connectByHand(network, "ctr-holder", { IPAMConfig: { IPv4Address: address } });
}

/**
 * How to break each rule a provider lists, for the first case of its kind.
 * `claimed-twice` needs nothing here: a twin of another owner is checked
 * first in the same process, as the engine checks a stack's resources.
 */
const PROVOKE: Record<string, Partial<Record<RuleName, Provocation>>> = {
    VethAttachment: {
        "container-usable": { make: hostModeContainer, inputs: () => ({ ...vaInputs, container: "ctr-host" }) },
        "name-taken": { make: (w) => w.kernel.addVeth(w.kernel.host, vaInputs.hostIfName, w.kernel.host, "hx-peer") },
        "bridge-exists": { inputs: () => ({ ...vaInputs, bridge: "br-none" }) },
        "address-held": { make: (w) => holderOnBridge(w, "br-fix", "ctr-b", "10.77.0.2/24") },
    },
    MacvlanAttachment: {
        "kernel-kind": { kinds: KERNEL_KINDS.filter((k) => k !== "macvlan") },
        "container-usable": { make: hostModeContainer, inputs: () => ({ ...maInputs, container: "ctr-host" }) },
        "name-taken": { make: (w) => w.kernel.addMacvlan(nsOf(w, "ctr-a"), "eth0", w.kernel.host, "par-fix", { up: true }) },
        "address-held": {
            make(w) {
                w.kernel.addMacvlan(nsOf(w, "ctr-b"), "eth3", w.kernel.host, "par-fix", { up: true });
                nsOf(w, "ctr-b").byName("eth3")!.addrs.push({ local: "10.79.0.2", prefixlen: 24 });
            },
        },
    },
    VethLink: {
        "container-usable": { make: hostModeContainer, inputs: () => ({ ...vlInputs, b: { ...vlInputs.b, container: "ctr-host" } }) },
        "name-taken": { make: (w) => w.kernel.addVeth(nsOf(w, "ctr-a"), "lk-a", w.kernel.host, "hx-peer") },
    },
    Policy: {
        "name-taken": { make: (w) => void w.kernel.host.tables.set(poInputs.table, { comment: undefined, sets: [], chains: [] }) },
        "container-usable": {
            make: hostModeContainer,
            inputs: () => ({ ...poInputs, rules: [{ ...poInputs.rules[0], to: { container: "ctr-host", name: "h" } }, poInputs.rules[1]] }),
        },
        "bridge-exists": { inputs: () => ({ ...poInputs, isolate: ["br-none"] }) },
    },
    Bridge: {
        "name-taken": { make: (w) => w.kernel.addVeth(w.kernel.host, brInputs.name, w.kernel.host, "hx-peer") },
        "address-held": { make: (w) => void w.kernel.addBridge("br-other", { addrs: ["10.66.1.1/24"] }) },
    },
    DockerContainer: {
        "name-taken": { make: (w) => void w.docker.run(dcInputs.name) },
        "container-usable": {
            make: hostModeContainer,
            inputs: () => ({ ...dcInputs, networkMode: "container:ctr-host", networks: undefined }),
        },
        "address-held": {
            make: (w) => holderOnNetwork(w, "net-1", "10.44.0.10"),
        },
    },
    Network: {
        "name-taken": { make: (w) => void w.docker.network(nwInputs.name, "10.99.0.0/24") },
        "kernel-kind": {
            kinds: KERNEL_KINDS.filter((k) => k !== "macvlan"),
            make: (w) => void w.kernel.addVeth(w.kernel.host, "par-fix", w.kernel.host, "par-peer", { up: true }),
            inputs: () => mnInputs,
        },
    },
    NetworkAttachment: {
        "container-usable": { inputs: () => ({ ...naInputs, container: "ctr-a" }) },
        "address-held": { make: (w) => holderOnNetwork(w, "net-9", "10.22.0.5") },
    },
};

/** What each rule's one message says, whatever the provider (engine/rules.ts). */
const RULE_SHAPES: Record<RuleName, RegExp> = {
    "claimed-twice": / is also claimed by .+ in this deployment; give each its own, or declare it once and pass that resource around$/,
    "name-taken": /^`[\w.[\]]+` "[^"]+" is taken .+; choose another `\w+`$/,
    "address-held": /^`[\w.[\]]+` \S+ on .+ is already held by .+; choose a free address$/,
    "container-usable":
        /^`[\w.[\]]+`(: container "[^"]+" uses network mode \S+: .+| "[^"]+" does not exist; create it first, or pass the Container resource that makes it| "[^"]+" is \w+, not running; start it first)$/,
    "bridge-exists":
        /^`[\w.[\]]+` "[^"]+"( does not exist.*; create it first \(a Bridge resource.*\), or name an existing bridge|.* is a \S+ interface, not a bridge; name a bridge)$/,
    "kernel-kind": /^`\w+` \w+: this kernel has no \w+ support; .+, or run on a kernel built with \w+ links/,
};

/** The first case of each kind: the one its rules are run against. */
const FIRST_OF_KIND = CASES.filter((c, i) => CASES.findIndex((d) => d.kind === c.kind) === i);

/**
 * The one way every rule is run against every provider that lists it: the
 * provider's check refuses in the rule's words (and ran the rule), and its
 * create, called next in the same process as the engine does, runs the rule
 * too and refuses with the same words before it touches any host in `worlds`.
 * `claimed-twice` is broken by the check of a twin of another owner first.
 */
async function refusedByRule(kind: string, provider: TestProvider<any, any>, rule: RuleName, inputs: any, worlds: World[]): Promise<void> {
    if (rule === "claimed-twice") await provider.check({}, { ...inputs, owner: `${OTHER}/${kind}/twin` });
    const before = worlds.map((w) => w.snapshot());

    const checked = await traceRules(() => provider.check({}, inputs));
    assert.ok(checked.rules.includes(rule), `check ran ${rule}`);
    const reasons = (checked.result?.failures ?? []).map((f) => f.reason);
    const said = reasons.find((r) => RULE_SHAPES[rule].test(r));
    assert.ok(said, `check names ${rule} in its words; it said: ${JSON.stringify(reasons)}`);

    const created = await traceRules(() => provider.create(checked.result!.inputs));
    assert.ok(created.rules.includes(rule), `create ran ${rule}`);
    assert.ok(created.error instanceof Error, "create refuses");
    assert.match(created.error.message, /^failed to /);
    assert.ok(created.error.message.includes(said), `create says what check said: ${created.error.message}`);
    assert.deepEqual(
        worlds.map((w) => w.snapshot()),
        before,
        "create touched nothing",
    );
    assert.deepEqual(
        worlds.flatMap((w) => w.unknown()),
        [],
    );
}

describe("shared host rules: each provider's check and create run the same rules, and each rule refuses the same way for every provider that lists it (fake kernel and Docker)", () => {
    before(async () => {
        host = await FakeHost.start();
    });
    after(async () => {
        await host?.stop();
    });

    it("every provider of the suite lists its rules, and every kind of the suite is in that table", () => {
        assert.deepEqual(Object.keys(HOST_RULES).sort(), [...new Set(CASES.map((c) => c.kind))].sort());
    });

    for (const c of FIRST_OF_KIND) {
        it(`${c.kind}: check and create run the same rules, all of them listed (${HOST_RULES[c.kind].join(", ")})`, async () => {
            const w = host.world();
            c.setup(w);
            const checked = await traceRules(() => c.provider.check({}, c.inputs));
            assert.deepEqual(checked.result?.failures ?? [], [], "the clean inputs pass");
            const created = await traceRules(() => c.provider.create(checked.result!.inputs));
            assert.equal(created.error, undefined);
            assert.deepEqual([...checked.rules].sort(), [...created.rules].sort(), "check and create run the same rules");
            for (const r of checked.rules) assert.ok(HOST_RULES[c.kind].includes(r), `${r} runs but is not in ${c.kind}'s hostRules`);
            await c.provider.delete(created.result!.id, created.result!.outs);
        });

        for (const rule of HOST_RULES[c.kind]) {
            it(`${c.kind}, rule ${rule}: check refuses in the rule's words and create refuses the same before touching the host`, async () => {
                const how = PROVOKE[c.kind]?.[rule];
                assert.ok(how || rule === "claimed-twice", `${c.kind} lists ${rule}: give the suite a way to break it (PROVOKE)`);
                const w = host.world({ kinds: how?.kinds });
                c.setup(w);
                how?.make?.(w);
                await refusedByRule(c.kind, c.provider, rule, how?.inputs?.(w) ?? c.inputs, [w]);
            });
        }
    }

    // A Probe's create runs the probe itself (a process in the container's namespace, which the fakes do not run):
    // its rule is shown refusing, which stops create after its checks, so its trace there is complete.
    describe("Probe (its create stops at the rule's refusal)", () => {
        const prOwner = `${PROJECT}/Probe/ab`;
        const prInputs: any = {
            from: "ctr-gone",
            to: { container: "ctr-b", name: "b" },
            protocol: "icmp",
            expect: "reachable",
            timeoutSeconds: 2,
            owner: prOwner,
        };
        const provider = forTests(probe.probeProvider);

        it(`Probe: check and create run the same rules, all of them listed (${probe.hostRules.join(", ")})`, async () => {
            const w = host.world();
            baseFixtures(w);
            const checked = await traceRules(() => provider.check({}, prInputs));
            const created = await traceRules(() => provider.create(checked.result!.inputs));
            assert.ok(created.error instanceof Error, "create refuses the missing container");
            assert.deepEqual([...checked.rules].sort(), [...created.rules].sort(), "check and create run the same rules");
            assert.deepEqual([...checked.rules].sort(), [...probe.hostRules].sort(), "every rule listed runs");
        });

        it("Probe, rule container-usable: check refuses in the rule's words and create refuses the same before touching the host", async () => {
            const w = host.world();
            baseFixtures(w);
            await refusedByRule("Probe", provider, "container-usable", prInputs, [w]);
        });
    });

    // A VxlanLink joins bridges on two hosts: side a on this machine (the fake world), side b on host "hb", whose
    // commands a second fake kernel answers in SSH's place (host/ssh.ts standInForHost; the same `ip` argv as over SSH).
    // The fake kernel does not make VXLAN devices, so no clean create runs here: the rules refuse before one would.
    describe("VxlanLink (side b on another host, a second fake kernel standing in for SSH)", () => {
        const vxOwner = `${PROJECT}/VxlanLink/vx`;
        const hb = { name: "hb", ssh: { host: "10.78.0.1" } };
        const vxInputs = {
            a: { bridge: "br-fix", underlay: "10.77.0.1", ifName: "vx-a", owner: vxOwner },
            b: { host: hb, bridge: "br-b", underlay: "10.78.0.1", ifName: "vx-b", owner: "hostnet@hb/proj/stk/VxlanLink/vx" },
            vni: 42,
            port: 4789,
            owner: vxOwner,
        };
        const provider = forTests(vxlanLink.vxlanLinkProvider);
        const hostB = () => {
            const remote = new World();
            remote.kernel.addBridge("br-b", { addrs: ["10.78.0.1/24"] });
            standInForHost("hb", {
                name: "hb",
                runner: remote.kernel.runner,
                dockerAgent: new http.Agent(),
                ensure: async () => undefined,
            });
            return remote;
        };
        afterEach(() => standInForHost("hb", undefined));
        const PROVOKE_VX: Partial<Record<RuleName, { make?(remote: World): void; inputs?: any }>> = {
            "bridge-exists": { inputs: { ...vxInputs, b: { ...vxInputs.b, bridge: "br-none" } } },
            "name-taken": { make: (remote) => void remote.kernel.addVeth(remote.kernel.host, "vx-b", remote.kernel.host, "hx-peer") },
        };

        it(`VxlanLink: check and create run the same rules, all of them listed (${vxlanLink.hostRules.join(", ")})`, async () => {
            const w = host.world();
            baseFixtures(w);
            const remote = hostB();
            // Refused at the end of the checks (a name taken on host hb): create runs every check, then stops.
            PROVOKE_VX["name-taken"]!.make!(remote);
            const checked = await traceRules(() => provider.check({}, vxInputs));
            const created = await traceRules(() => provider.create(checked.result!.inputs));
            assert.ok(created.error instanceof Error, "create refuses the name taken");
            assert.deepEqual([...checked.rules].sort(), [...created.rules].sort(), "check and create run the same rules");
            assert.deepEqual([...checked.rules].sort(), [...vxlanLink.hostRules].sort(), "every rule listed runs");
        });

        for (const rule of vxlanLink.hostRules) {
            it(`VxlanLink, rule ${rule}: check refuses in the rule's words and create refuses the same before touching either host`, async () => {
                const how = PROVOKE_VX[rule];
                assert.ok(how || rule === "claimed-twice", `VxlanLink lists ${rule}: give the suite a way to break it`);
                const w = host.world();
                baseFixtures(w);
                const remote = hostB();
                how?.make?.(remote);
                await refusedByRule("VxlanLink", provider, rule, how?.inputs ?? vxInputs, [w, remote]);
            });
        }
    });
});

/** The two ways host work reaches the kernel: the netlink helper (this machine), and `ip`/`nsenter` commands (hosts over SSH, HOSTNET_HELPER=off). */
const BOUNDARIES = [
    { name: "the netlink helper", helper: true },
    { name: "ip and nsenter commands (SSH hosts, HOSTNET_HELPER=off)", helper: false },
] as const;
let boundary: (typeof BOUNDARIES)[number] = BOUNDARIES[0];

for (const b of BOUNDARIES)
    describe(`faults through ${b.name}: every step of every provider fails in turn, leaks nothing, and the next up converges (fake kernel and Docker)`, function () {
        let previousMode: string | undefined;
        before(async () => {
            boundary = b;
            previousMode = process.env.HOSTNET_HELPER;
            if (!b.helper) process.env.HOSTNET_HELPER = "off";
            for (const k of Object.keys(counted) as (keyof typeof counted)[]) counted[k] = 0;
            host = await FakeHost.start();
        });
        after(async () => {
            if (previousMode === undefined) delete process.env.HOSTNET_HELPER;
            else process.env.HOSTNET_HELPER = previousMode;
            await host?.stop();
        });

        for (const c of CASES) {
            describe(c.title, () => {
                const ops: Op[] = c.news ? ["create", "update", "delete"] : ["create", "delete"];
                for (const op of ops) {
                    it(`${op}: each change fails in turn -> the error names the step with the typed cause, nothing is left, the next up converges`, async () => {
                        const base = await baseline(c, op);
                        const problems: string[] = [];
                        const changes = base.ops.filter((o) => o.mutating);
                        assert.ok(changes.length > 0, "the clean run changed something");
                        for (const change of changes) {
                            const step = base.stepOf.get(change.seq)!;
                            const p = await prepare(c, op);
                            p.w.faults.at(change.seq, { kind: "fail" });
                            counted.failedChanges++;
                            const err = await perform(c, op, p.prev).then(
                                () => undefined,
                                (e: unknown) => e,
                            );
                            const where = `[${op}, change #${change.seq} ${change.text}, step "${step.text}"]`;
                            assert.equal(p.w.faults.log[change.seq - 1]?.text, change.text, `${where} the run is deterministic`);
                            if (!err) {
                                problems.push(`${where} the injected failure was not reported`);
                                continue;
                            }
                            const message = (err as Error).message ?? String(err);
                            if (!message.includes(`failed to ${step.text}`))
                                problems.push(`${where} the error does not name the step: ${message}`);
                            const typed = causes(err).find((e) =>
                                change.layer === "docker"
                                    ? e instanceof DockerApiError && JSON.stringify(e.body).includes(INJECTED_DOCKER_MESSAGE)
                                    : e instanceof HostCommandError && e.stderr.includes(INJECTED_STDERR),
                            );
                            if (!typed)
                                problems.push(`${where} the error does not keep the host layer's typed error as its cause: ${message}`);
                            const leak = leaks(op, p, base);
                            if (leak) problems.push(`${where} ${leak}`);
                            for (const q of await convergesAfter(c, op, p, base, true)) problems.push(`${where} ${q}`);
                            for (const u of p.w.unknown()) problems.push(`${where} the fakes could not read: ${u}`);
                        }
                        assert.deepEqual(problems, []);
                    });

                    it(`${op}: each read fails in turn -> a clean error (or coped with), nothing is left, the next up converges`, async () => {
                        const base = await baseline(c, op);
                        const problems: string[] = [];
                        for (const read of base.ops.filter((o) => !o.mutating)) {
                            const p = await prepare(c, op);
                            p.w.faults.at(read.seq, { kind: "fail" });
                            counted.failedReads++;
                            const err = await perform(c, op, p.prev).then(
                                () => undefined,
                                (e: unknown) => e,
                            );
                            const where = `[${op}, read #${read.seq} ${read.text}]`;
                            assert.equal(p.w.faults.log[read.seq - 1]?.text, read.text, `${where} the run is deterministic`);
                            if (err) {
                                const message = (err as Error).message ?? String(err);
                                if (!/^failed to /.test(message)) problems.push(`${where} the error does not say what failed: ${message}`);
                                if (!causes(err).some((e) => e instanceof HostCommandError || e instanceof DockerApiError))
                                    problems.push(`${where} the error does not keep the host layer's typed error: ${message}`);
                                const leak = leaks(op, p, base);
                                if (leak) problems.push(`${where} ${leak}`);
                            }
                            for (const q of await convergesAfter(c, op, p, base, err !== undefined)) problems.push(`${where} ${q}`);
                            for (const u of p.w.unknown()) problems.push(`${where} the fakes could not read: ${u}`);
                        }
                        assert.deepEqual(problems, []);
                    });

                    it(`${op}: the process dies before each operation -> \`hostnet gc\` lists what it left (pending), and \`--delete --pending\` (then the old state's delete) leaves the host as before`, async () => {
                        const base = await baseline(c, op);
                        const problems: string[] = [];
                        for (let seq = 1; seq <= base.ops.length + 1; seq++) {
                            const p = await prepare(c, op);
                            const where =
                                seq <= base.ops.length
                                    ? `[${op}, killed before #${seq} ${base.ops[seq - 1].text}]`
                                    : `[${op}, killed after the last operation]`;
                            if (seq <= base.ops.length) p.w.faults.at(seq, { kind: "crash" });
                            await perform(c, op, p.prev).catch(() => undefined);
                            p.w.newProcess();
                            const resource = {
                                urn: `urn:pulumi:stk::proj::x::${c.kind}`,
                                inputs: op === "update" ? c.news : c.inputs,
                                outputs: p.prev?.outs,
                            };
                            const state: ExportedDeployment = {
                                resources: p.prev ? [{ id: p.prev.id, outputs: p.prev.outs }] : [],
                                pending_operations: [{ type: `${op.replace(/e$/, "")}ing`, resource }],
                            };
                            const view = stateView(state, "proj", "stk");
                            const leftovers = await findLeftovers(view);
                            counted.gcCrashes++;
                            if (leftovers.some((l) => !l.pending))
                                problems.push(`${where} a leftover not marked pending: ${leftovers.map((l) => l.object.text).join(", ")}`);
                            const result = await removeLeftovers(leftovers, { pending: false });
                            if (result.removed.length > 0)
                                problems.push(`${where} --delete without --pending removed ${result.removed.length}`);
                            const removed = await removeLeftovers(leftovers, { pending: true });
                            for (const f of removed.failed)
                                problems.push(`${where} failed to remove ${f.leftover.object.text}: ${f.error}`);
                            if (p.prev)
                                await c.provider
                                    .delete(p.prev.id, p.prev.outs)
                                    .catch((e) => problems.push(`${where} the old state's delete failed: ${e.message}`));
                            const d = diffText(p.w.snapshot(), p.initial);
                            if (d)
                                problems.push(
                                    `${where} gc (${leftovers.map((l) => l.object.text).join("; ") || "nothing found"}) left the host different from before:\n${d}`,
                                );
                            const again = await findLeftovers(stateView(undefined, "proj", "stk"));
                            if (again.length > 0)
                                problems.push(`${where} gc finds more after: ${again.map((l) => l.object.text).join(", ")}`);
                            for (const u of p.w.unknown()) problems.push(`${where} the fakes could not read: ${u}`);
                        }
                        assert.deepEqual(problems, []);
                    });

                    if (op === "create")
                        it("create: the process dies before each operation, the resource leaves the program and the pending create is cleared -> `hostnet gc --delete` leaves the host as before, but for an interface made and not marked yet", async () => {
                            const base = await baseline(c, op);
                            const problems: string[] = [];
                            for (let seq = 1; seq <= base.ops.length + 1; seq++) {
                                const p = await prepare(c, op);
                                const where =
                                    seq <= base.ops.length
                                        ? `[killed before #${seq} ${base.ops[seq - 1].text}]`
                                        : "[killed after the last]";
                                if (seq <= base.ops.length) p.w.faults.at(seq, { kind: "crash" });
                                await perform(c, op).catch(() => undefined);
                                p.w.newProcess();
                                const result = await removeLeftovers(await findLeftovers(stateView({ resources: [] }, "proj", "stk")));
                                for (const f of result.failed)
                                    problems.push(`${where} failed to remove ${f.leftover.object.text}: ${f.error}`);
                                // What only a MAC derived from the owner mark says is the resource's: no stack can be told from it.
                                const left = p.w.snapshot();
                                for (const ns of Object.values(left.kernel))
                                    for (const [name, l] of Object.entries(ns.links) as [string, { alias?: string; mac: string }][])
                                        if (!l.alias && MAC_ROLES.some((role) => l.mac === defaultMac(c.inputs.owner, role))) {
                                            counted.unmarkedLeft++;
                                            delete ns.links[name];
                                            for (const other of Object.values(ns.links) as { master?: string }[])
                                                if (other.master === name) other.master = undefined;
                                        }
                                const d = diffText(left, p.initial);
                                if (d) problems.push(`${where} gc --delete left the host different from before:\n${d}`);
                            }
                            assert.deepEqual(problems, []);
                        });

                    it(`${op}: the process dies before each operation (and after the last) -> the next up converges, nothing leaks`, async () => {
                        const base = await baseline(c, op);
                        const problems: string[] = [];
                        for (let seq = 1; seq <= base.ops.length + 1; seq++) {
                            const p = await prepare(c, op);
                            counted.crashes++;
                            const where =
                                seq <= base.ops.length
                                    ? `[${op}, killed before #${seq} ${base.ops[seq - 1].text}]`
                                    : `[${op}, killed after the last operation, its result lost]`;
                            if (seq <= base.ops.length) {
                                p.w.faults.at(seq, { kind: "crash" });
                                await perform(c, op, p.prev).catch(() => undefined);
                                assert.equal(p.w.faults.log[seq - 1]?.text, base.ops[seq - 1].text, `${where} the run is deterministic`);
                            } else {
                                await perform(c, op, p.prev);
                            }
                            for (const q of await convergesAfter(c, op, p, base, true)) problems.push(`${where} ${q}`);
                            for (const u of p.w.unknown()) problems.push(`${where} the fakes could not read: ${u}`);
                        }
                        assert.deepEqual(problems, []);
                    });
                }

                it("a leftover marked as this resource's (a create whose result was lost) is taken over: same host as one create, nothing twice", async () => {
                    const p = await prepare(c, "create");
                    await c.provider.create(c.inputs);
                    const once = p.w.snapshot();
                    p.w.newProcess();
                    const checked = await c.provider.check({}, c.inputs);
                    assert.deepEqual(checked.failures ?? [], []);
                    const made = await c.provider.create(checked.inputs);
                    assert.deepEqual(p.w.snapshot(), once);
                    p.w.newProcess();
                    await c.provider.delete(made.id, made.outs);
                    const left = p.w.snapshot();
                    assert.deepEqual(c.knownLimit ? c.knownLimit.forgive(left) : left, p.initial);
                    assert.deepEqual(p.w.unknown(), []);
                });

                if (c.makeByHand) {
                    for (const [whose, mark] of [
                        ["another stack's mark", `${OTHER}/${c.kind}/x`],
                        ["no mark (made by hand)", undefined],
                    ] as const) {
                        it(`an object of the same name with ${whose} is refused (check and create) and left untouched`, async () => {
                            const p = await prepare(c, "create");
                            c.makeByHand!(p.w, mark);
                            const before = p.w.snapshot();
                            const checked = await c.provider.check({}, c.inputs);
                            assert.ok((checked.failures ?? []).length > 0, "check refuses");
                            p.w.newProcess();
                            await assert.rejects(c.provider.create(c.inputs), /^Error: failed to /);
                            assert.deepEqual(p.w.snapshot(), before);
                            assert.deepEqual(p.w.unknown(), []);
                        });
                    }
                }

                if (c.knownLimit) {
                    it(`known limit, pinned: ${c.knownLimit.why}`, async () => {
                        const p = await prepare(c, "create");
                        await c.provider.create(c.inputs); // its result lost: the process died
                        const made = await nextUp(c, "create", p.w);
                        p.w.newProcess();
                        await c.provider.delete(made!.id, made!.outs);
                        assert.notDeepEqual(p.w.snapshot(), p.initial, "fixed? then drop the known limit");
                        assert.deepEqual(c.knownLimit!.forgive(p.w.snapshot()), p.initial);
                    });
                }

                it("delete of what is already gone succeeds, changing nothing but taking back its own records; and delete twice succeeds", async () => {
                    const p = await prepare(c, "delete");
                    c.removeByHand(p.w, p.prev!);
                    const gone = p.w.snapshot();
                    await c.provider.delete(p.prev!.id, p.prev!.outs);
                    assert.deepEqual(p.w.snapshot(), withoutRecordsOf(gone, c.inputs.owner));

                    const q = await prepare(c, "delete");
                    await c.provider.delete(q.prev!.id, q.prev!.outs);
                    q.w.newProcess();
                    await c.provider.delete(q.prev!.id, q.prev!.outs);
                    assert.deepEqual(q.w.snapshot(), q.initial);
                    assert.deepEqual([...p.w.unknown(), ...q.w.unknown()], []);
                });
            });
        }

        after(() => {
            console.log(
                `      faults injected: ${counted.failedChanges} failed changes, ${counted.failedReads} failed reads, ${counted.crashes} crashes, ${counted.gcCrashes} crashes then gc (${counted.unmarkedLeft} unmarked interfaces it cannot attribute once the pending create is cleared); ` +
                    `the known limit forgiven ${counted.knownLimit} times`,
            );
        });
    });
