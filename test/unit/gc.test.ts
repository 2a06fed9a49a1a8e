// `hostnet gc` (components/src/cli/gc.ts) against the fake kernel and fake
// Docker Engine API: two stacks of one project, each with an object of every
// kind the library marks (made by the providers themselves), and objects made
// by hand. What gc lists for a stack is exactly what carries its marks and no
// resource of its state accounts for; what it removes leaves the other
// stack's objects and the unmarked ones exactly as they were (compared with
// a world where the stack never existed). The real-host side is in
// test/e2e/leftovers.test.ts.

import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
    ExportedDeployment,
    findLeftovers,
    ofStack,
    parseGcArgs,
    projectOfFolder,
    projectOfState,
    removeLeftovers,
    stateView,
} from "../../components/src/cli/gc";
import { defaultMac, ifbName, OWNER_LABEL } from "../../components/src/common/naming";
import { bridgeProvider } from "../../components/src/engine/providers/bridge";
import { dockerContainerProvider } from "../../components/src/engine/providers/dockerContainer";
import { networkProvider } from "../../components/src/engine/providers/network";
import { networkAttachmentProvider } from "../../components/src/engine/providers/networkAttachment";
import { policyProvider } from "../../components/src/engine/providers/policy";
import { vethAttachmentProvider } from "../../components/src/engine/providers/vethAttachment";
import { vethLinkProvider } from "../../components/src/engine/providers/vethLink";
import { FakeHost, World } from "../fakes/world";
import { forTests } from "../helpers/providers";

const P = {
    bridge: forTests(bridgeProvider),
    container: forTests(dockerContainerProvider),
    network: forTests(networkProvider),
    attachment: forTests(networkAttachmentProvider),
    veth: forTests(vethAttachmentProvider),
    link: forTests(vethLinkProvider),
    policy: forTests(policyProvider),
};

/** Fixtures made by hand (unmarked): containers, bridges, a network. */
function fixtures(w: World): void {
    w.docker.run("ctr-a");
    w.docker.run("ctr-b");
    w.docker.run("ctr-web-1", { networkMode: "bridge" });
    w.docker.run("ctr-web-2", { networkMode: "bridge" });
    w.kernel.addBridge("br-fix", { addrs: ["10.77.0.1/24"] });
    w.kernel.addBridge("br-shared", { addrs: ["10.55.0.1/24"] });
    w.docker.network("net-9", "10.22.0.0/24", { bridgeName: "br-net9" });
}

type Made = { urn: string; id: string; outputs: any };

/** One object of every marked kind for stack `stack` of project `proj`, made by the providers; returns the state's resources. */
async function deploy(w: World, stack: string, n: number): Promise<Made[]> {
    const owner = (type: string, name: string) => `hostnet/proj/${stack}/${type}/${name}`;
    const made: Made[] = [];
    const make = async (type: string, name: string, p: { create(i: any): Promise<{ id: string; outs: any }> }, inputs: any) => {
        const r = await p.create(inputs);
        made.push({ urn: `urn:pulumi:${stack}::proj::pulumi-nodejs:dynamic/hostnet:${type}::${name}`, id: r.id, outputs: r.outs });
        w.newProcess();
    };
    const lan = owner("Bridge", "lan");
    await make("Bridge", "lan", P.bridge, {
        name: `hn-lan-${stack}`,
        addresses: [`10.66.${n}.1/24`],
        up: true,
        adopt: false,
        mac: defaultMac(lan, "bridge"),
        forward: true,
        owner: lan,
    });
    await make("Bridge", "shared", P.bridge, {
        name: "br-shared",
        addresses: [`10.55.${n}.1/24`],
        up: true,
        adopt: true,
        owner: owner("Bridge", "shared"),
    });
    const att = owner("VethAttachment", "att");
    await make("VethAttachment", "att", P.veth, {
        container: "ctr-a",
        bridge: "br-fix",
        address: `10.77.0.${10 + n}/24`,
        defaultRoute: false,
        containerIfName: `eth${n}`,
        hostIfName: `hn-att-${stack}`,
        mac: defaultMac(att, "peer"),
        // A limit on what the container sends: an ifb, marked, named after the mark (no output names it).
        bandwidth: { egressRate: "5mbit" },
        owner: att,
    });
    const lnk = owner("VethLink", "lnk");
    await make("VethLink", "lnk", P.link, {
        a: { container: "ctr-a", ifName: `lk${n}-a`, address: `10.88.${n}.1/30`, mac: defaultMac(lnk, "a") },
        b: { container: "ctr-b", ifName: `lk${n}-b`, address: `10.88.${n}.2/30`, mac: defaultMac(lnk, "b") },
        owner: lnk,
    });
    await make("Network", "lab", P.network, {
        name: `hn-${stack}-lab`,
        subnet: `10.33.${n}.0/24`,
        bridgeName: `hn-lab-${stack}`,
        internal: false,
        icc: true,
        masquerade: true,
        labels: {},
        owner: owner("Network", "lab"),
    });
    await make("DockerContainer", "web", P.container, {
        name: `hn-${stack}-web`,
        image: "hostnet/busybox:1",
        command: ["sleep", "1d"],
        networkMode: "none",
        labels: {},
        owner: owner("DockerContainer", "web"),
    });
    await make("Policy", "policy", P.policy, {
        table: `hn_proj_${stack}_policy`,
        // A container of this stack's alone: the other stack's table holds the same whether this stack exists or not.
        rules: [
            {
                action: "deny",
                from: { container: `ctr-web-${n}`, name: "web" },
                to: { addresses: ["10.22.0.0/24"] },
                protocol: "tcp",
                ports: [80],
            },
        ],
        isolate: [],
        owner: owner("Policy", "policy"),
    });
    await make("NetworkAttachment", "web-net", P.attachment, {
        container: `ctr-web-${n}`,
        network: "net-9",
        ipv4Address: `10.22.0.${10 + n}`,
        owner: owner("NetworkAttachment", "web-net"),
    });
    return made;
}

describe("hostnet gc: what carries a stack's marks and no resource of its state accounts for (fake kernel and Docker)", function () {
    let host: FakeHost;
    before(async () => {
        host = await FakeHost.start();
    });
    after(async () => {
        await host?.stop();
    });

    it("a state reads as its owner marks (with every string its resources hold) and the owners of its pending operations", () => {
        const deployment: ExportedDeployment = {
            resources: [
                { urn: "urn:pulumi:stk::proj::pulumi:pulumi:Stack::proj-stk" },
                {
                    urn: "urn:pulumi:stk::proj::pulumi-nodejs:dynamic/hostnet:VxlanLink::v",
                    id: "v",
                    outputs: {
                        a: { owner: "hostnet/proj/stk/VxlanLink/v", ifName: "vx-a" },
                        b: { owner: "hostnet@c/proj/stk/VxlanLink/v" },
                    },
                },
            ],
            pending_operations: [{ type: "creating", resource: { inputs: { owner: "hostnet/proj/stk/Bridge/x" } } }],
        };
        const view = stateView(deployment, "proj", "stk");
        assert.deepEqual([...view.accounted.keys()].sort(), ["hostnet/proj/stk/VxlanLink/v", "hostnet@c/proj/stk/VxlanLink/v"]);
        assert.ok(view.accounted.get("hostnet/proj/stk/VxlanLink/v")!.has("vx-a"));
        assert.deepEqual([...view.pending], ["hostnet/proj/stk/Bridge/x"]);
        assert.equal(projectOfState(deployment), "proj");
        assert.equal(projectOfState({}), undefined);
    });

    it("a mark is the stack's only with its project and stack, on this machine: never another stack's, another host's, a hashed or a foreign one", () => {
        assert.equal(ofStack("hostnet/proj/stk/Bridge/lan", "proj", "stk"), true);
        assert.equal(ofStack("hostnet/proj/stk2/Bridge/lan", "proj", "stk"), false);
        assert.equal(ofStack("hostnet/proj2/stk/Bridge/lan", "proj", "stk"), false);
        assert.equal(ofStack("hostnet@b/proj/stk/Bridge/lan", "proj", "stk"), false);
        assert.equal(ofStack("hostnet/sha256:0123456789abcdef", "proj", "stk"), false);
        assert.equal(ofStack("hostnet-test/abc123", "proj", "stk"), false);
        assert.equal(ofStack("", "proj", "stk"), false);
    });

    it("the project comes from the folder's Pulumi.yaml when the state names none", () => {
        const dir = mkdtempSync(join(tmpdir(), "hostnet-gc-"));
        try {
            assert.equal(projectOfFolder(dir), undefined);
            writeFileSync(join(dir, "Pulumi.yaml"), 'name: "my-net"\nruntime: nodejs\n');
            assert.equal(projectOfFolder(dir), "my-net");
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("arguments: `--stack` is required, `--pending` goes with `--delete`", () => {
        assert.throws(() => parseGcArgs([]), /`--stack` is required/);
        assert.throws(() => parseGcArgs(["--stack", "s", "--pending"]), /`--pending` goes with `--delete`/);
        assert.deepEqual(parseGcArgs(["--stack", "s", "--delete", "--pending", "--cwd", "/x"]), {
            stack: "s",
            delete: true,
            pending: true,
            cwd: "/x",
            pulumi: "pulumi",
            json: undefined,
            project: undefined,
            withoutState: false,
        });
    });

    it("with its whole state, nothing of a stack is a leftover; without it, exactly its objects of every kind are, and removing them leaves the other stack and the unmarked objects as if it had never been", async () => {
        const ref = host.world();
        fixtures(ref);
        await deploy(ref, "other", 2);
        const expected = ref.snapshot();

        const w = host.world();
        fixtures(w);
        const mine = await deploy(w, "stk", 1);
        await deploy(w, "other", 2);
        assert.deepEqual(await findLeftovers(stateView({ resources: mine }, "proj", "stk")), []);

        const leftovers = await findLeftovers(stateView({ resources: [] }, "proj", "stk"));
        const labId = mine.find((r) => r.urn.endsWith("::lab"))!.outputs.networkId as string;
        assert.deepEqual(
            leftovers.map((l) => `${l.object.text} | ${l.resource}`),
            [
                'connection of container "ctr-web-1" to network net-9 | NetworkAttachment "web-net" of stack proj/stk',
                'interface lk1-a in container "ctr-a" | VethLink "lnk" of stack proj/stk',
                'interface lk1-b in container "ctr-b" | VethLink "lnk" of stack proj/stk',
                'veth hn-att-stk (host) | VethAttachment "att" of stack proj/stk',
                `ifb ${ifbName("hostnet/proj/stk/VethAttachment/att")} (host) | VethAttachment "att" of stack proj/stk`,
                'bridge hn-lan-stk (host) | Bridge "lan" of stack proj/stk',
                'container hn-stk-web (running) | DockerContainer "web" of stack proj/stk',
                `network hn-stk-lab (${labId.slice(0, 12)}, bridge hn-lab-stk) | Network "lab" of stack proj/stk`,
                'firewall rule in DOCKER-USER accepting forwarding on bridge hn-lan-stk | Bridge "lan" of stack proj/stk',
                'nftables table inet hn_proj_stk_policy | Policy "policy" of stack proj/stk',
                'address 10.55.1.1/24 on bridge br-shared | Bridge "shared" of stack proj/stk',
            ],
        );
        assert.ok(leftovers.every((l) => l.why === "no resource of the state carries its mark" && !l.pending));
        const result = await removeLeftovers(leftovers);
        assert.deepEqual(result.failed, []);
        assert.deepEqual(w.snapshot(), expected);
        assert.deepEqual(await findLeftovers(stateView({ resources: [] }, "proj", "stk")), []);
        assert.deepEqual(w.unknown(), []);
    });

    it("a second object carrying a resource's mark (a network with its mark, another id) is a leftover; the one the state names is not", async () => {
        const w = host.world();
        fixtures(w);
        const mine = await deploy(w, "stk", 1);
        const lab = mine.find((r) => r.urn.endsWith("::lab"))!;
        w.docker.network("hn-stk-lab2", "10.34.1.0/24", { labels: { [OWNER_LABEL]: lab.outputs.owner } });
        const leftovers = await findLeftovers(stateView({ resources: mine }, "proj", "stk"));
        assert.equal(leftovers.length, 1);
        assert.match(leftovers[0].why, /^its resource's state names another \([0-9a-f]{64}\)$/);
        assert.notEqual(leftovers[0].object.names[0], lab.outputs.networkId);
        await removeLeftovers(leftovers);
        assert.ok(w.docker.networks.has(lab.outputs.networkId), "the state's network stays");
        assert.deepEqual(await findLeftovers(stateView({ resources: mine }, "proj", "stk")), []);
    });

    it("a leftover bridge another stack's veth is still on is not deleted: the failure names the port", async () => {
        const w = host.world();
        fixtures(w);
        await deploy(w, "stk", 1);
        const theirs = "hostnet/proj/other/VethAttachment/x";
        await P.veth.create({
            container: "ctr-b",
            bridge: "hn-lan-stk",
            address: "10.66.1.9/24",
            defaultRoute: false,
            containerIfName: "eth9",
            hostIfName: "hn-x-other",
            owner: theirs,
        });
        w.newProcess();
        const leftovers = (await findLeftovers(stateView({ resources: [] }, "proj", "stk"))).filter((l) => l.object.kind === "interface");
        const result = await removeLeftovers(leftovers);
        assert.deepEqual(
            result.failed.map((f) => f.error),
            [
                "failed to delete bridge hn-lan-stk: interfaces are still on it (hn-x-other); remove them (or the resources that attached them) first",
            ],
        );
        assert.ok(w.kernel.host.byName("hn-lan-stk"), "the bridge stays");
        assert.ok(w.kernel.host.byName("hn-x-other"), "the other stack's port stays");
    });

    it("a record of an address on a bridge that was deleted and made again is a leftover whatever the state says; removing it leaves the new bridge's address of that value alone", async () => {
        const w = host.world();
        fixtures(w);
        const mine = await deploy(w, "stk", 1);
        w.kernel.removeLink(w.kernel.host, "br-shared");
        w.kernel.addBridge("br-shared", { addrs: ["10.55.0.1/24", "10.55.1.1/24"] });
        const leftovers = await findLeftovers(stateView({ resources: mine }, "proj", "stk"));
        assert.deepEqual(
            leftovers.map((l) => [l.object.text, l.why]),
            [
                [
                    "address 10.55.1.1/24 on bridge br-shared (recorded, on a bridge that is gone or was made again)",
                    "its bridge is gone, or was made again: the address went with it",
                ],
            ],
        );
        await removeLeftovers(leftovers);
        assert.deepEqual(
            w.kernel.host.byName("br-shared")!.addrs.map((a) => `${a.local}/${a.prefixlen}`),
            ["10.55.0.1/24", "10.55.1.1/24"],
            "the new bridge's addresses stay",
        );
        assert.deepEqual(w.snapshot().files ?? {}, {});
    });
});
