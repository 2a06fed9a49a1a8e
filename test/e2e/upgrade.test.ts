// Upgrading deployed stacks to this version, through the real engine, from
// each earlier way the library stored its provider:
//
// - the library at commit 7b01f5e, before the package (`components/` as
//   source, imported as "./components"), which stored the whole library by
//   value in every resource's state (26 to 40 KB);
// - the package 0.2 at commit 7408c02 (built from that commit and installed
//   in the project's node_modules), which stored a 2 KB serialized stub.
//
// Each deploys a Container, a Bridge and a VethAttachment in two stacks; then
// the program imports this version (installed as npm would) with the same
// resource names and types. The preview plans an in-place update of the stored
// provider on every dynamic resource (plus inputs the newer version added),
// `up` does it without changing any link, address, container or firewall rule
// (read back with ip, docker and iptables; the one thing 7b01f5e's stack gains
// is what the newer Bridge adds to a created bridge, its forwarding rule), and
// the state then holds one line of provider text per resource. Destroy leaves
// nothing. The second stack is never migrated: it is destroyed directly, by
// the provider its state holds (7b01f5e's code by value; 0.2's stub, which
// loads the installed package).
//
// Needs the repository's git history: a shallow clone fails this test with a
// message saying so.
//
// Then the move to the netlink helper (host/helper.ts): a stack deployed by
// the package doing its host work with ip and nsenter processes
// (HOSTNET_HELPER=off: the code path of every version before the helper) is
// previewed, refreshed, updated and destroyed with the helper: the state
// and the host stay exactly as they were until the update changes what it
// asks for, and the helper really did the work (its binary is reached
// through a wrapper that logs each start).

import * as assert from "node:assert/strict";
import {
    chmodSync,
    copyFileSync,
    existsSync,
    mkdirSync,
    mkdtempSync,
    readdirSync,
    readFileSync,
    readlinkSync,
    rmSync,
    symlinkSync,
    writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EngineEvent, LocalWorkspace } from "@pulumi/pulumi/automation";
import { execa } from "execa";
import { HOSTNET_CLI, PULUMI } from "../helpers/cliStack";
import {
    addressRecords,
    dockerInspect,
    firewallRules,
    freePort,
    ipDefaultRoutes,
    ipLinks,
    ipv4Of,
    ipv6Of,
    makeTestBridge,
    markedObjects,
    ping,
    RUN,
    runByte,
    sh,
    sweepRun,
    unusedSlash16,
    unusedSubnets,
} from "../helpers/host";
import { installOldLibrary, installThisLibrary, linkNodeModules, requireCommit } from "../helpers/library";
import { dynamicResources, ExportedResource, exportedState, projectRoot, projectStack, TestStack } from "../helpers/pulumi";

const PROJECT = "hostnet-upgrade";

interface Era {
    /** The commit whose library deploys the stacks. */
    commit: string;
    label: string;
    /** What its stored provider is, checked on every dynamic resource before the upgrade. */
    stored: (text: string) => boolean;
    storedIs: string;
    /** Per resource: the inputs the preview finds changed (besides what no resource lists). */
    changed: Record<string, string[]>;
    /** True when the deployed Bridge already has its forwarding rule (the rule came with 0.2). */
    hasForwardRule: boolean;
    /** Outputs the era did not store, which the migration may add; every other output must stay as it was. */
    addedOutputs: string[];
}

const ERAS: Era[] = [
    {
        commit: "7b01f5e",
        label: "the library at 7b01f5e (code by value)",
        stored: (text) => text.length > 20000 && !text.includes("pulumi-hostnet/engine"),
        storedIs: "more than 20 KB of code by value",
        changed: {
            "box DockerContainer": ["__provider"],
            // Inputs later versions' Bridge added: adopt and a fixed MAC, about which the diff finds nothing to do on a
            // bridge created before them (it keeps its MAC: changing it would break neighbours' ARP); and forward,
            // which gives the bridge its firewall rule.
            "lan Bridge": ["__provider", "adopt", "forward", "mac"],
            // The attachment now carries its Bridge's declared addresses (its default route follows them).
            "box-eth0 VethAttachment": ["__provider", "bridgeAddresses"],
        },
        hasForwardRule: false,
        // The Bridge's adopt: false and its forwarding rule; the attachment's copy of its Bridge's addresses.
        addedOutputs: ["adopt", "forward", "forwardChain", "bridgeAddresses"],
    },
    {
        commit: "7408c02",
        label: "the package 0.2 at 7408c02 (a 2 KB serialized stub)",
        stored: (text) => text.length > 1000 && text.length < 4096 && text.includes('engineModule: "pulumi-hostnet/engine"'),
        storedIs: "a 1-4 KB stub requiring pulumi-hostnet/engine",
        changed: {
            "box DockerContainer": ["__provider"],
            "lan Bridge": ["__provider"],
            "box-eth0 VethAttachment": ["__provider"],
        },
        hasForwardRule: true,
        addedOutputs: [],
    },
];

/** The same program, importing the library from `from`. */
function program(from: string): string {
    return `
import * as pulumi from "@pulumi/pulumi";
import { Bridge, Container, VethAttachment } from "${from}";

const config = new pulumi.Config();
const net24 = config.require("net24");
const lan = new Bridge("lan", { addresses: [\`\${net24}.1/24\`] });
const box = new Container("box", { image: "hostnet/busybox:1", command: ["sleep", "2147483647"], network: { mode: "none" } });
const eth0 = new VethAttachment("box-eth0", { container: box, bridge: lan.name, address: \`\${net24}.2/24\` });
export const bridge = lan.name;
export const hostIfName = eth0.hostIfName;
export const container = box.containerName;
`;
}

/** This version's provider text for a resource's kind (written out here, not taken from the code under test). */
function thisVersionsText(type: string): string {
    return `exports.handler = () => require("pulumi-hostnet/engine").provider("${type.split(":").pop()}");\n`;
}

/** What a user would compare on the host: the stack's interfaces, the container, and its namespace. */
async function hostSnapshot(ownerPrefix: string, container: string): Promise<unknown> {
    const links = (await ipLinks())
        .filter((l) => l.ifalias?.startsWith(ownerPrefix))
        .map((l) => ({
            ifindex: l.ifindex,
            ifname: l.ifname,
            mac: l.address,
            master: l.master,
            mtu: l.mtu,
            flags: l.flags,
            ipv4: ipv4Of(l),
        }));
    const c = await dockerInspect(container);
    const pid = c.State.Pid as number;
    const inside = (await ipLinks(pid)).map((l) => ({
        ifindex: l.ifindex,
        ifname: l.ifname,
        mac: l.address,
        flags: l.flags,
        ipv4: ipv4Of(l),
    }));
    return {
        links,
        container: { id: c.Id, created: c.Created, startedAt: c.State.StartedAt, pid, restarts: c.RestartCount, labels: c.Config.Labels },
        inside,
        routes: await ipDefaultRoutes(pid),
    };
}

async function forwardRules(ownerPrefix: string): Promise<string[][]> {
    return (await firewallRules()).filter((r) => r.mark.startsWith(ownerPrefix)).map((r) => [r.chain, r.bridge, r.mark]);
}

function withoutProvider(props: Record<string, any> | undefined): Record<string, any> {
    const { __provider: _, ...rest } = props ?? {};
    return rest;
}

for (const [e, era] of ERAS.entries())
    describe(`upgrade: a stack made with ${era.label} moves to this version`, function () {
        const migrated = `e2e-${RUN}-${e}up`;
        const untouched = `e2e-${RUN}-${e}old`;
        const prefixOf = (stack: string) => `hostnet/${PROJECT}/${stack}/`;
        let scratch: string;
        let workDir: string;
        const stacks: Record<string, TestStack> = {};
        const net24: Record<string, string> = {};
        let oldState: ExportedResource[];

        before(async () => {
            scratch = mkdtempSync(join(tmpdir(), "hostnet-upgrade-"));
            workDir = join(scratch, "project");
            mkdirSync(workDir);
            writeFileSync(
                join(workDir, "Pulumi.yaml"),
                `name: ${PROJECT}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: index.ts\n`,
            );
            writeFileSync(join(workDir, "package.json"), JSON.stringify({ name: PROJECT, private: true }));
            symlinkSync(join(projectRoot, "tsconfig.json"), join(workDir, "tsconfig.json"));
            // The repository's packages (the old code needs @pulumi/pulumi, yaml, and before the package execa), linked;
            // pulumi-hostnet installed into it as npm would.
            linkNodeModules(workDir);
            writeFileSync(join(workDir, "index.ts"), program(await installOldLibrary(era.commit, workDir, scratch)));
            const subnets = await unusedSubnets(2);
            for (const [i, stack] of [migrated, untouched].entries()) {
                net24[stack] = subnets[i].split(".").slice(0, 3).join(".");
                stacks[stack] = await projectStack(workDir, stack, { [`${PROJECT}:net24`]: net24[stack] });
            }
        });

        after(async () => {
            for (const [name, t] of Object.entries(stacks)) {
                try {
                    await t.stack.destroy().catch(() => undefined);
                    await t.stack.workspace.removeStack(name).catch(() => undefined);
                } finally {
                    await sweepRun(prefixOf(name));
                    t.dispose();
                }
            }
            if (scratch) rmSync(scratch, { recursive: true, force: true });
        });

        it(`the old library deploys both stacks, storing ${era.storedIs} in every resource`, async () => {
            for (const stack of [migrated, untouched]) {
                const up = await stacks[stack].stack.up();
                assert.equal(up.summary.result, "succeeded");
                assert.ok(await ping(`${net24[stack]}.2`), `the host reaches ${stack}'s box over its bridge`);
            }
            oldState = (await exportedState(stacks[migrated].stack)).resources;
            const dynamic = dynamicResources(oldState);
            assert.deepEqual(dynamic.map((r) => r.type.split(":").pop()).sort(), ["Bridge", "DockerContainer", "VethAttachment"]);
            for (const r of dynamic) assert.ok(era.stored(r.inputs!.__provider), `${r.urn}: ${r.inputs!.__provider.length} bytes`);
            console.log(
                `      measured: __provider before ${dynamic.map((r) => `${r.type.split(":").pop()} ${r.inputs!.__provider.length} B`).join(", ")}`,
            );
        });

        it("with this version installed, the preview plans in-place updates of __provider, and touches nothing", async () => {
            installThisLibrary(workDir);
            writeFileSync(join(workDir, "index.ts"), program("pulumi-hostnet"));
            const container = `hn-${migrated}-box`;
            const before = await hostSnapshot(prefixOf(migrated), container);
            const rulesBefore = await forwardRules(prefixOf(migrated));
            // Per resource: the planned operation, and which inputs differ between the state and the program.
            const planned: Record<string, { op: string; changed: string[] }> = {};
            const preview = await stacks[migrated].stack.preview({
                onEvent: (ev: EngineEvent) => {
                    const m = ev.resourcePreEvent?.metadata;
                    if (!m) return;
                    const olds = m.old?.inputs ?? {};
                    const news = m.new?.inputs ?? {};
                    const changed = [...new Set([...Object.keys(olds), ...Object.keys(news)])]
                        .filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]))
                        .sort();
                    planned[m.urn.split("::").pop()! + " " + m.type.split(":").pop()] = { op: m.op, changed };
                },
            });
            assert.deepEqual(preview.changeSummary, { update: 3, same: 2 });
            const expected = Object.fromEntries(Object.entries(era.changed).map(([k, changed]) => [k, { op: "update", changed }]));
            assert.deepEqual(
                Object.fromEntries(Object.entries(planned).filter(([, p]) => p.op !== "same")),
                expected,
                JSON.stringify(planned),
            );
            assert.deepEqual(await hostSnapshot(prefixOf(migrated), container), before);
            assert.deepEqual(await forwardRules(prefixOf(migrated)), rulesBefore);
        });

        it("up migrates each resource in place: nothing on the host changes, and the state holds one line of provider text", async () => {
            const container = `hn-${migrated}-box`;
            const before = await hostSnapshot(prefixOf(migrated), container);
            const rulesBefore = await forwardRules(prefixOf(migrated));
            const up = await stacks[migrated].stack.up();
            assert.equal(up.summary.result, "succeeded");
            assert.deepEqual(up.summary.resourceChanges, { update: 3, same: 2 });
            assert.deepEqual(await hostSnapshot(prefixOf(migrated), container), before);
            assert.ok(await ping(`${net24[migrated]}.2`));
            const bridge = (await ipLinks()).find((l) => l.ifalias === `${prefixOf(migrated)}Bridge/lan`)!.ifname;
            const rules = await forwardRules(prefixOf(migrated));
            assert.deepEqual(
                rules.map(([, b, mark]) => [b, mark]),
                [[bridge, `${prefixOf(migrated)}Bridge/lan`]],
                "the bridge has its forwarding rule",
            );
            if (era.hasForwardRule) assert.deepEqual(rules, rulesBefore, "the forwarding rule is the one it had");

            const now = dynamicResources((await exportedState(stacks[migrated].stack)).resources);
            for (const r of now) {
                assert.equal(r.inputs!.__provider, thisVersionsText(r.type), r.urn);
                assert.equal(r.outputs!.__provider, thisVersionsText(r.type), r.urn);
                const old = oldState.find((o) => o.urn === r.urn)!;
                const kept = (outputs: Record<string, any> | undefined) =>
                    Object.fromEntries(Object.entries(withoutProvider(outputs)).filter(([k]) => !era.addedOutputs.includes(k)));
                assert.deepEqual(
                    kept(r.outputs),
                    kept(old.outputs),
                    `${r.urn}: same outputs (besides ${era.addedOutputs.join(", ") || "none"})`,
                );
                const { forward, forwardChain, adopt, bridgeAddresses } = r.outputs!;
                if (r.type.endsWith("Bridge")) assert.deepEqual([adopt, forward, typeof forwardChain], [false, true, "string"]);
                // The migration stores the new inputs; outputs gain the copy at the attachment's next real update.
                if (r.type.endsWith("VethAttachment")) {
                    assert.deepEqual(r.inputs!.bridgeAddresses, [`${net24[migrated]}.1/24`]);
                    assert.ok(
                        bridgeAddresses === undefined || JSON.stringify(bridgeAddresses) === JSON.stringify(r.inputs!.bridgeAddresses),
                    );
                }
                assert.equal(r.id, old.id, `${r.urn}: same id`);
            }
            assert.deepEqual((await stacks[migrated].stack.preview()).changeSummary, { same: 5 }, "migrated once, then nothing to do");
            const refresh = await stacks[migrated].stack.refresh();
            assert.deepEqual(refresh.summary.resourceChanges, { same: 5 }, "the installed code reads the host as the state says");
            assert.deepEqual(await hostSnapshot(prefixOf(migrated), container), before);
        });

        it("destroy of the migrated stack, by the installed package, leaves nothing of it", async () => {
            const destroy = await stacks[migrated].stack.destroy();
            assert.equal(destroy.summary.result, "succeeded");
            assert.deepEqual(await markedObjects(prefixOf(migrated)), []);
        });

        it("the stack never migrated is destroyed directly, by the provider its state holds, and leaves nothing", async () => {
            const made = (await markedObjects(prefixOf(untouched))).map((o) => o.split(" ")[0]).sort();
            assert.deepEqual(made, era.hasForwardRule ? ["container", "firewall", "link", "link"] : ["container", "link", "link"]);
            const state = dynamicResources((await exportedState(stacks[untouched].stack)).resources);
            assert.ok(
                state.every((r) => era.stored(r.inputs!.__provider)),
                `still ${era.storedIs}`,
            );
            const destroy = await stacks[untouched].stack.destroy();
            assert.equal(destroy.summary.result, "succeeded");
            assert.deepEqual(await markedObjects(prefixOf(untouched)), []);
        });
    });

/**
 * A preview's plan beyond "same", per resource URN: the operation, and which
 * inputs differ between the state and the program.
 */
async function plannedChanges(t: TestStack): Promise<{ planned: Record<string, { op: string; changed: string[] }>; summary: unknown }> {
    const planned: Record<string, { op: string; changed: string[] }> = {};
    const preview = await t.stack.preview({
        onEvent: (ev: EngineEvent) => {
            const m = ev.resourcePreEvent?.metadata;
            // A stack with `refresh: always` (0.2's example) reads every resource first: not a change.
            if (!m || m.op === "same" || m.op === "refresh") return;
            const olds = m.old?.inputs ?? {};
            const news = m.new?.inputs ?? {};
            const changed = [...new Set([...Object.keys(olds), ...Object.keys(news)])]
                .filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]))
                .sort();
            planned[m.urn] = { op: m.op, changed };
        },
    });
    return { planned, summary: preview.changeSummary };
}

/** Resources in the state by URN (the engine may write them in another order). */
const byUrn = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));

describe("upgrade: a stack whose host work was ip and nsenter processes moves to the netlink helper with nothing to do", function () {
    const stackName = `e2e-${RUN}-nl`;
    const prefix = `hostnet/${PROJECT}/${stackName}/`;
    let scratch: string;
    let workDir: string;
    let t: TestStack;
    let net24: string;
    let startsLog: string;
    const helperStarts = () => (existsSync(startsLog) ? readFileSync(startsLog, "utf8").split("\n").filter(Boolean).length : 0);

    before(async () => {
        const real = join(projectRoot, "components", "native", `linux-${process.arch}`, "hostnet-netlink");
        if (!existsSync(real)) throw new Error(`the netlink helper is not built (${real}): run \`npm run setup\``);
        scratch = mkdtempSync(join(tmpdir(), "hostnet-upgrade-nl-"));
        workDir = join(scratch, "project");
        mkdirSync(workDir);
        startsLog = join(scratch, "helper-starts.log");
        const wrapper = join(scratch, "hostnet-netlink");
        writeFileSync(wrapper, `#!/bin/sh\necho "$$" >> '${startsLog}'\nexec '${real}' "$@"\n`);
        chmodSync(wrapper, 0o755);
        writeFileSync(
            join(workDir, "Pulumi.yaml"),
            `name: ${PROJECT}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: index.ts\n`,
        );
        writeFileSync(join(workDir, "package.json"), JSON.stringify({ name: PROJECT, private: true }));
        writeFileSync(join(workDir, "index.ts"), program("pulumi-hostnet"));
        symlinkSync(join(projectRoot, "tsconfig.json"), join(workDir, "tsconfig.json"));
        symlinkSync(join(projectRoot, "node_modules"), join(workDir, "node_modules"));
        net24 = (await unusedSubnets(1))[0].split(".").slice(0, 3).join(".");
        t = await projectStack(workDir, stackName, { [`${PROJECT}:net24`]: net24 });
        // Each command of the stack runs with the workspace's envVars as they are then.
        Object.assign((t.stack.workspace as LocalWorkspace).envVars, { HOSTNET_HELPER_PATH: wrapper, HOSTNET_HELPER: "off" });
    });

    after(async () => {
        if (!t) return;
        try {
            delete (t.stack.workspace as LocalWorkspace).envVars.HOSTNET_HELPER;
            await t.stack.destroy().catch(() => undefined);
            await t.stack.workspace.removeStack(stackName).catch(() => undefined);
        } finally {
            await sweepRun(prefix);
            t.dispose();
            if (scratch) rmSync(scratch, { recursive: true, force: true });
        }
    });

    it("deploys with ip and nsenter processes (HOSTNET_HELPER=off): the helper never starts", async () => {
        const up = await t.stack.up();
        assert.equal(up.summary.result, "succeeded");
        assert.ok(await ping(`${net24}.2`));
        assert.equal(helperStarts(), 0);
    });

    it("with the helper: preview and refresh find nothing to do, the state and the host are unchanged, and the helper did the reading", async () => {
        const container = `hn-${stackName}-box`;
        const host = await hostSnapshot(prefix, container);
        const state = (await exportedState(t.stack)).resources;
        delete (t.stack.workspace as LocalWorkspace).envVars.HOSTNET_HELPER;
        assert.deepEqual((await t.stack.preview()).changeSummary, { same: 5 });
        const refresh = await t.stack.refresh();
        assert.deepEqual(refresh.summary.resourceChanges, { same: 5 });
        const up = await t.stack.up();
        assert.deepEqual(up.summary.resourceChanges, { same: 5 });
        assert.deepEqual(await hostSnapshot(prefix, container), host);
        const after = (await exportedState(t.stack)).resources;
        assert.deepEqual(
            after.map((r) => [r.urn, r.inputs, r.outputs]).sort(byUrn),
            state.map((r) => [r.urn, r.inputs, r.outputs]).sort(byUrn),
            "the same inputs and outputs, the same provider text",
        );
        assert.ok(helperStarts() > 0, "the helper was started by the engine's providers");
    });

    it("with the helper: an address change is made in place, and destroy leaves nothing", async () => {
        const container = `hn-${stackName}-box`;
        const before = await hostSnapshot(prefix, container);
        writeFileSync(join(workDir, "index.ts"), program("pulumi-hostnet").replace("${net24}.2/24", "${net24}.3/24"));
        const up = await t.stack.up();
        assert.deepEqual(up.summary.resourceChanges, { update: 1, same: 4 });
        const pid = (await dockerInspect(container)).State.Pid as number;
        const eth0 = (await ipLinks(pid)).find((l) => l.ifname === "eth0");
        assert.deepEqual(ipv4Of(eth0), [`${net24}.3/24`]);
        assert.deepEqual(await ipDefaultRoutes(pid), [{ dst: "default", gateway: `${net24}.1`, dev: "eth0", flags: [] }]);
        const after = (await hostSnapshot(prefix, container)) as { links: unknown };
        assert.deepEqual(after.links, (before as { links: unknown }).links, "the same pair, not a new one");
        assert.ok(await ping(`${net24}.3`));
        const destroy = await t.stack.destroy();
        assert.equal(destroy.summary.result, "succeeded");
        assert.deepEqual(await markedObjects(prefix), []);
    });
});

// Upgrading a stack deployed with the package before address records and
// `hostnet gc` (commit 7408c02): the package as it was then, built, deploys
// one resource of every marked kind (test/e2e/programs/leftovers.ts: a
// created Bridge with its forwarding rule, an adopted one with an address
// added, containers, a VethAttachment, a VethLink, a Network and a
// NetworkAttachment); then the stack's node_modules get this version, as npm
// installs it. The preview plans only the in-place update of each resource's
// stored provider (0.2's stub to this version's one line), `up` makes it and
// `refresh` then finds nothing, all without a change on the host (read back
// with ip, docker inspect, iptables; no record is written for the address
// added before), gc finds nothing, and destroy takes back everything, the
// adopted bridge's address too (by the state's word: it has no record).
const RECORDS_COMMIT = "7408c02";

describe(`upgrade: a stack deployed with the package at ${RECORDS_COMMIT} (before address records and gc) moves to this version with no change on the host`, function () {
    const stackName = `e2e-${RUN}-rec`;
    const prefix = `hostnet/hostnet/${stackName}/`;
    let scratch: string;
    let workDir: string;
    let t: TestStack;
    let tag: string;
    let shared: string;
    let net: string;
    const PROGRAM = join(projectRoot, "test", "e2e", "programs", "leftovers.ts");

    /** What a user compares: the stack's interfaces (with their addresses), the adopted bridge's addresses, containers, networks, connections, rules, records. */
    async function snapshot(): Promise<unknown> {
        const links = (await ipLinks())
            .filter((l) => l.ifalias?.startsWith(prefix) || l.ifname === shared)
            .map((l) => ({
                ifindex: l.ifindex,
                ifname: l.ifname,
                alias: l.ifalias,
                mac: l.address,
                master: l.master,
                mtu: l.mtu,
                flags: l.flags,
                ipv4: ipv4Of(l),
            }));
        const containers = [];
        for (const name of [`${tag}-box`, `${tag}-peer`, `${tag}-web`]) {
            const c = await dockerInspect(name);
            const inside = (await ipLinks(c.State.Pid)).map((l) => ({
                ifindex: l.ifindex,
                ifname: l.ifname,
                alias: l.ifalias,
                mac: l.address,
                ipv4: ipv4Of(l),
            }));
            const endpoints = Object.fromEntries(
                Object.entries<any>(c.NetworkSettings.Networks).map(([n, ep]) => [
                    n,
                    { id: ep.EndpointID, ip: ep.IPAddress, opts: ep.DriverOpts, aliases: ep.Aliases },
                ]),
            );
            containers.push({ id: c.Id, startedAt: c.State.StartedAt, pid: c.State.Pid, labels: c.Config.Labels, inside, endpoints });
        }
        const net = await sh(["docker", "network", "inspect", `${tag}-lab`]);
        return {
            links,
            containers,
            network: JSON.parse(net.stdout)[0].Id,
            rules: (await firewallRules()).filter((r) => r.mark.startsWith(prefix)),
            records: await addressRecords(),
        };
    }

    before(async () => {
        scratch = mkdtempSync(join(tmpdir(), "hostnet-upgrade-rec-"));
        workDir = join(scratch, "project");
        mkdirSync(workDir);
        writeFileSync(
            join(workDir, "Pulumi.yaml"),
            "name: hostnet\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: index.ts\n",
        );
        writeFileSync(join(workDir, "package.json"), JSON.stringify({ name: "upgrade-records", private: true }));
        symlinkSync(join(projectRoot, "tsconfig.json"), join(workDir, "tsconfig.json"));
        // A copy, not a link: Node resolves a linked program's imports from where the link points (the repository's
        // node_modules, this version), so the stack would never have run the old package.
        writeFileSync(join(workDir, "index.ts"), readFileSync(PROGRAM, "utf8"));
        // The repository's packages, linked; the package at that commit built and installed as npm would.
        linkNodeModules(workDir);
        assert.equal(await installOldLibrary(RECORDS_COMMIT, workDir, scratch), "pulumi-hostnet");
        tag = `hlu${RUN.slice(0, 3)}`;
        net = await unusedSlash16();
        shared = `${tag}-sh`;
        await makeTestBridge(shared, `${net}.2.1/24`);
        t = await projectStack(workDir, stackName, { "hostnet:tag": tag, "hostnet:net": net, "hostnet:shared": shared });
    });

    after(async () => {
        try {
            await t?.stack.destroy().catch(() => undefined);
            await t?.stack.workspace.removeStack(stackName).catch(() => undefined);
        } finally {
            await sweepRun(prefix);
            t?.dispose();
            if (scratch) rmSync(scratch, { recursive: true, force: true });
        }
    });

    it(`the package at ${RECORDS_COMMIT} deploys one resource of every marked kind, recording nothing`, async () => {
        assert.equal((await t.stack.up()).summary.result, "succeeded");
        const stored = dynamicResources((await exportedState(t.stack)).resources).map((r) => r.inputs!.__provider as string);
        assert.equal(stored.length, 9);
        assert.ok(
            stored.every((text) => text.length > 1000 && text.includes('engineModule: "pulumi-hostnet/engine"')),
            "every resource stores 0.2's serialized stub: the old package ran",
        );
        assert.ok(await ping(`${net}.1.2`), "the host reaches box over the created bridge");
        assert.deepEqual(ipv4Of((await ipLinks()).find((l) => l.ifname === shared)).sort(), [`${net}.2.1/24`, `${net}.2.5/24`]);
        assert.deepEqual(
            (await addressRecords()).filter((r) => r.owner.startsWith(prefix)),
            [],
            "that version records nothing",
        );
    });

    it("with this version installed: the preview plans only the stored provider's in-place update, up makes it and refresh finds nothing, with no change on the host, gc finds nothing", async () => {
        installThisLibrary(workDir);
        const before = await snapshot();
        const all = (await exportedState(t.stack)).resources;
        const oldState = dynamicResources(all);
        // The stack and the Container components (providers are not counted in a summary).
        const others = all.filter((r) => !r.type.startsWith("pulumi:providers:")).length - oldState.length;
        const { planned, summary } = await plannedChanges(t);
        assert.deepEqual(
            planned,
            Object.fromEntries(oldState.map((r) => [r.urn, { op: "update", changed: ["__provider"] }])),
            "every resource: an in-place update of __provider, nothing else",
        );
        assert.deepEqual(summary, { update: oldState.length, same: others });
        const up = await t.stack.up();
        assert.deepEqual(up.summary.resourceChanges, summary);
        assert.deepEqual(await snapshot(), before);
        const now = dynamicResources((await exportedState(t.stack)).resources);
        for (const r of now) {
            const old = oldState.find((o) => o.urn === r.urn)!;
            assert.equal(r.outputs!.__provider, thisVersionsText(r.type), r.urn);
            assert.deepEqual(withoutProvider(r.outputs), withoutProvider(old.outputs), `${r.urn}: the same outputs`);
            assert.equal(r.id, old.id, `${r.urn}: same id`);
        }
        assert.deepEqual((await t.stack.preview()).changeSummary, { same: oldState.length + others }, "migrated once, then nothing to do");
        const refresh = await t.stack.refresh();
        assert.deepEqual(refresh.summary.resourceChanges, { same: oldState.length + others });
        assert.deepEqual(await snapshot(), before);
        // As a user runs it, with the stack's backend (the workspace's environment).
        const gc = await execa("node", [HOSTNET_CLI, "gc", "--stack", stackName, "--cwd", workDir, "--pulumi", PULUMI], {
            env: { ...process.env, ...(t.stack.workspace as LocalWorkspace).envVars },
            reject: false,
        });
        assert.equal(gc.exitCode, 0, gc.stdout + gc.stderr);
    });

    it("destroy takes everything back, the address added to the adopted bridge too (by the state's word), and leaves the adopted bridge's own", async () => {
        assert.equal((await t.stack.destroy()).summary.result, "succeeded");
        assert.deepEqual(await markedObjects(prefix), []);
        assert.deepEqual(ipv4Of((await ipLinks()).find((l) => l.ifname === shared)), [`${net}.2.1/24`]);
    });
});

// Upgrading a stack deployed with 0.2 (main at commit 7408c02, before IPv6):
// the example stack as it was then (22 resources, every --net mode, all
// IPv4), deployed by the package as it was then, installed in the stack's
// node_modules as npm would; then the package is replaced by this version.
// The preview plans only the in-place update of each dynamic resource's
// stored provider (0.2's stub to this version's one line), `up` makes it,
// and the host (links, addresses, routes inside the containers, containers,
// networks and their connections) reads back exactly the same; then preview
// and refresh find nothing; destroy by this version leaves nothing.
const V02_COMMIT = "7408c02";

describe(`upgrade: a stack deployed with 0.2 (commit ${V02_COMMIT}, before IPv6) moves to this version with no change on the host`, function () {
    const stackName = `e2e-${RUN}-v02`;
    const ownerPrefix = `hostnet/hostnet/${stackName}/`;
    const n = runByte(11);
    let scratch: string;
    let workDir: string;
    let t: TestStack;

    /** The stack's containers, interfaces, addresses, routes and networks, as a user would compare them. */
    async function snapshot(): Promise<unknown> {
        const links = (await ipLinks())
            .filter((l) => l.ifalias?.startsWith(ownerPrefix))
            .map((l) => ({ ifindex: l.ifindex, ifname: l.ifname, mac: l.address, master: l.master, mtu: l.mtu, ipv4: ipv4Of(l) }));
        const containers: unknown[] = [];
        for (const id of (await sh(["docker", "ps", "-aq", "--filter", `name=hn-${stackName}-`])).stdout.split("\n").filter(Boolean)) {
            const c = await dockerInspect(id);
            const pid = c.State.Pid as number;
            const inside = c.HostConfig.NetworkMode === "host" ? [] : await ipLinks(pid);
            containers.push({
                name: c.Name,
                id: c.Id,
                startedAt: c.State.StartedAt,
                restarts: c.RestartCount,
                endpoints: Object.fromEntries(
                    Object.entries<any>(c.NetworkSettings.Networks ?? {}).map(([k, e]) => [k, [e.EndpointID, e.IPAddress, e.Aliases]]),
                ),
                inside: inside.map((l) => ({ ifindex: l.ifindex, ifname: l.ifname, mac: l.address, ipv4: ipv4Of(l) })),
                globalIpv6: c.HostConfig.NetworkMode === "host" ? [] : await Promise.all(inside.map((l) => ipv6Of(l.ifname, pid))),
                routes: c.HostConfig.NetworkMode === "host" ? [] : await ipDefaultRoutes(pid),
            });
        }
        containers.sort((a, b) => String((a as { name: string }).name).localeCompare((b as { name: string }).name));
        const networks: unknown[] = [];
        for (const id of (await sh(["docker", "network", "ls", "-q", "--filter", `name=hn-${stackName}-`])).stdout
            .split("\n")
            .filter(Boolean)) {
            const net = JSON.parse((await sh(["docker", "network", "inspect", id])).stdout)[0];
            networks.push({ id: net.Id, ipv6: net.EnableIPv6, ipam: net.IPAM.Config, labels: net.Labels });
        }
        return { links, containers, networks };
    }

    before(async function () {
        scratch = mkdtempSync(join(tmpdir(), "hostnet-v02-"));
        const old = join(scratch, "v02");
        workDir = join(scratch, "project");
        mkdirSync(old);
        mkdirSync(workDir);
        // The example project as it was; a node_modules of its own: the project's packages, and the 0.2 package
        // built from its sources and installed as npm would.
        await requireCommit(V02_COMMIT);
        const tar = join(scratch, "v02.tar");
        await sh(["git", "-C", projectRoot, "archive", "--format=tar", "-o", tar, V02_COMMIT, "index.ts", "Pulumi.yaml"]);
        await sh(["tar", "-xf", tar, "-C", old]);
        copyFileSync(join(old, "Pulumi.yaml"), join(workDir, "Pulumi.yaml"));
        copyFileSync(join(old, "index.ts"), join(workDir, "index.ts"));
        for (const entry of ["tsconfig.json", "package.json"]) symlinkSync(join(projectRoot, entry), join(workDir, entry));
        linkNodeModules(workDir);
        assert.equal(await installOldLibrary(V02_COMMIT, workDir, scratch), "pulumi-hostnet");
        t = await projectStack(workDir, stackName, {
            "hostnet:address": `172.17.${20 + (n % 40)}.${n}/16`,
            "hostnet:labSubnet": `10.215.${n}.0/24`,
            "hostnet:lanAddress": `10.225.${n}.1/24`,
            "hostnet:webPort": String(await freePort()),
        });
    });

    after(async function () {
        try {
            await t?.stack.destroy().catch(() => undefined);
            await t?.stack.workspace.removeStack(stackName).catch(() => undefined);
        } finally {
            await sweepRun(ownerPrefix);
            t?.dispose();
            if (scratch) rmSync(scratch, { recursive: true, force: true });
        }
    });

    it(`0.2 deploys the example stack of its day (22 resources, IPv4 only)`, async () => {
        const up = await t.stack.up();
        assert.equal(up.summary.result, "succeeded");
        assert.deepEqual(up.summary.resourceChanges, { create: 22 });
        const stored = dynamicResources((await exportedState(t.stack)).resources).map((r) => r.inputs!.__provider as string);
        assert.ok(
            stored.length > 0 && stored.every((text) => text.length > 1000 && text.includes('engineModule: "pulumi-hostnet/engine"')),
            "every dynamic resource stores 0.2's serialized stub: the old package ran",
        );
    });

    it("with this version installed, the preview plans only the stored provider's in-place update, up makes it, and the host reads back exactly the same", async () => {
        const before = await snapshot();
        installThisLibrary(workDir);
        const dynamic = dynamicResources((await exportedState(t.stack)).resources);
        const { planned, summary } = await plannedChanges(t);
        assert.deepEqual(
            planned,
            Object.fromEntries(dynamic.map((r) => [r.urn, { op: "update", changed: ["__provider"] }])),
            "every dynamic resource: an in-place update of __provider, nothing else",
        );
        assert.deepEqual(summary, { update: dynamic.length, same: 22 - dynamic.length });
        assert.deepEqual((await t.stack.up()).summary.resourceChanges, summary);
        assert.deepEqual(await snapshot(), before);
        for (const r of dynamicResources((await exportedState(t.stack)).resources))
            assert.equal(r.outputs!.__provider, thisVersionsText(r.type), r.urn);
        assert.deepEqual((await t.stack.preview()).changeSummary, { same: 22 }, "migrated once, then nothing to do");
        const refresh = await t.stack.refresh();
        assert.deepEqual(refresh.summary.resourceChanges, { same: 22 }, "this version reads the host as 0.2 recorded it");
        assert.deepEqual(await snapshot(), before);
    });

    it("destroy by this version leaves nothing of the stack", async () => {
        assert.equal((await t.stack.destroy()).summary.result, "succeeded");
        assert.deepEqual(await markedObjects(ownerPrefix), []);
    });
});

// The other upgrade: a stack deployed with the package as it was before Policy,
// Probe and bandwidth limits (commit BEFORE_SHAPING, the same 0.2.0, loaded by
// reference from the project's node_modules) moves to this version by
// swapping the installed package. The same program then plans only the stored
// provider's in-place update (0.2's 2 KB stub -> one line), which `up` makes;
// then it plans no change, and `up` and `refresh` change nothing on the host (links, addresses, MACs, qdiscs,
// containers, firewall), and the new options come in place: a bandwidth limit
// added to the deployed attachment is an update of that attachment alone.
const BEFORE_SHAPING = "7408c02";
const PROJECT_022 = "hostnet-upgrade-022";

function program022(bandwidth: boolean): string {
    return `
import * as pulumi from "@pulumi/pulumi";
import { Bridge, Container, Network, NetworkAttachment, VethAttachment, VethLink } from "pulumi-hostnet";

const config = new pulumi.Config();
const net24 = config.require("net24");
const lab24 = config.require("lab24");
const image = "hostnet/busybox:1", command = ["sleep", "2147483647"];
const lan = new Bridge("lan", { addresses: [\`\${net24}.1/24\`] });
const lab = new Network("lab", { subnet: \`\${lab24}.0/24\` });
const a = new Container("a", { image, command, network: { mode: "none" } });
const b = new Container("b", { image, command, network: { mode: "networks", networks: [{ network: lab, ipv4Address: \`\${lab24}.10\` }] } });
const eth0 = new VethAttachment("a-eth0", { container: a, bridge: lan.name, address: \`\${net24}.2/24\`${bandwidth ? ', bandwidth: { egressRate: "2mbit" }' : ""} });
new VethLink("a-b", { a: { container: a, ifName: "eth1", address: "10.32.0.1/30" }, b: { container: b, ifName: "eth1", address: "10.32.0.2/30" } });
const c = new Container("c", { image, command, network: { mode: "bridge" } });
new NetworkAttachment("c-lab", { container: c, network: lab, ipv4Address: \`\${lab24}.20\` });
export const hostIfName = eth0.hostIfName;
`;
}

/** The stack's interfaces (with their qdiscs), containers and their namespaces, as ip, tc and docker show them. */
async function snapshot022(ownerPrefix: string, containers: string[]): Promise<unknown> {
    const links = [];
    for (const l of (await ipLinks()).filter((x) => x.ifalias?.startsWith(ownerPrefix))) {
        const qdiscs = JSON.parse((await sh(["tc", "-j", "qdisc", "show", "dev", l.ifname])).stdout || "[]").map((q: any) => q.kind);
        links.push({
            ifindex: l.ifindex,
            ifname: l.ifname,
            mac: l.address,
            master: l.master,
            mtu: l.mtu,
            flags: l.flags,
            ipv4: ipv4Of(l),
            qdiscs,
        });
    }
    const inside = [];
    for (const name of containers) {
        const c = await dockerInspect(name);
        const pid = c.State.Pid as number;
        inside.push({
            id: c.Id,
            startedAt: c.State.StartedAt,
            networks: Object.values<any>(c.NetworkSettings.Networks).map((n) => [n.NetworkID, n.IPAddress, n.EndpointID]),
            links: (await ipLinks(pid)).map((l) => ({
                ifindex: l.ifindex,
                ifname: l.ifname,
                mac: l.address,
                flags: l.flags,
                ipv4: ipv4Of(l),
            })),
            routes: await ipDefaultRoutes(pid),
        });
    }
    const rules = (await firewallRules()).filter((r) => r.mark.startsWith(ownerPrefix));
    return { links, inside, rules };
}

describe(`upgrade: a stack deployed with the package at ${BEFORE_SHAPING} (before Policy, Probe and bandwidth) moves to this version with no change on the host`, function () {
    const stackName = `e2e-${RUN}-022`;
    const ownerPrefix = `hostnet/${PROJECT_022}/${stackName}/`;
    const containers = ["a", "b", "c"].map((n) => `hn-${stackName}-${n}`);
    let scratch: string;
    let workDir: string;
    let t: TestStack | undefined;
    /** Points the project's pulumi-hostnet at `dir` (the old package, or this repository's). */
    const install = (dir: string) => {
        rmSync(join(workDir, "node_modules", "pulumi-hostnet"), { force: true });
        symlinkSync(dir, join(workDir, "node_modules", "pulumi-hostnet"));
    };

    before(async () => {
        const has = await sh(["git", "-C", projectRoot, "cat-file", "-e", `${BEFORE_SHAPING}^{commit}`], { reject: false });
        if (has.exitCode !== 0) {
            throw new Error(
                `failed to check out the package as it was at commit ${BEFORE_SHAPING}: not in ${projectRoot}'s history; this test needs it (git fetch --unshallow)`,
            );
        }
        scratch = mkdtempSync(join(tmpdir(), "hostnet-upgrade-022-"));
        // The old package, built as npm would install it; its own dependencies are this repository's.
        const old = join(scratch, "old");
        mkdirSync(old);
        const tar = join(scratch, "components.tar");
        await sh(["git", "-C", projectRoot, "archive", "--format=tar", "-o", tar, BEFORE_SHAPING, "components"]);
        await sh(["tar", "-xf", tar, "-C", old]);
        symlinkSync(join(projectRoot, "node_modules"), join(old, "node_modules"));
        await sh([join(projectRoot, "node_modules", ".bin", "tsc"), "-p", join(old, "components", "tsconfig.json")]);
        // The project: its node_modules holds this repository's dependencies, and pulumi-hostnet as swapped by `install`.
        workDir = join(scratch, "project");
        mkdirSync(join(workDir, "node_modules"), { recursive: true });
        for (const entry of readdirSync(join(projectRoot, "node_modules"))) {
            if (entry !== "pulumi-hostnet" && entry !== ".bin")
                symlinkSync(join(projectRoot, "node_modules", entry), join(workDir, "node_modules", entry));
        }
        install(join(old, "components"));
        writeFileSync(
            join(workDir, "Pulumi.yaml"),
            `name: ${PROJECT_022}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: index.ts\n`,
        );
        writeFileSync(join(workDir, "package.json"), JSON.stringify({ name: PROJECT_022, private: true }));
        writeFileSync(join(workDir, "index.ts"), program022(false));
        symlinkSync(join(projectRoot, "tsconfig.json"), join(workDir, "tsconfig.json"));
        const [net, lab] = (await unusedSubnets(2)).map((s) => s.split(".").slice(0, 3).join("."));
        t = await projectStack(workDir, stackName, { [`${PROJECT_022}:net24`]: net, [`${PROJECT_022}:lab24`]: lab });
    });

    after(async () => {
        try {
            await t?.stack.destroy().catch(() => undefined);
            await t?.stack.workspace.removeStack(stackName).catch(() => undefined);
        } finally {
            await sweepRun(ownerPrefix);
            t?.dispose();
            if (scratch) rmSync(scratch, { recursive: true, force: true });
        }
    });

    it(`the package at ${BEFORE_SHAPING} deploys the stack (bridge, network, containers, an attachment, a link, a network attachment)`, async () => {
        const up = await t!.stack.up();
        assert.equal(up.summary.result, "succeeded");
        const engine = readlinkSync(join(workDir, "node_modules", "pulumi-hostnet"));
        assert.match(engine, /old\/components$/, "deployed by the old package");
    });

    it("with this version installed, the same program plans only the stored provider's in-place update; up makes it, and up and refresh change nothing on the host", async () => {
        const before = await snapshot022(ownerPrefix, containers);
        install(join(projectRoot, "components"));
        const dynamic = dynamicResources((await exportedState(t!.stack)).resources);
        const { planned, summary } = await plannedChanges(t!);
        assert.deepEqual(
            planned,
            Object.fromEntries(dynamic.map((r) => [r.urn, { op: "update", changed: ["__provider"] }])),
            "every dynamic resource: an in-place update of __provider (0.2's stub -> one line), nothing else",
        );
        const up = await t!.stack.up();
        assert.deepEqual(up.summary.resourceChanges, summary);
        for (const r of dynamicResources((await exportedState(t!.stack)).resources))
            assert.equal(r.outputs!.__provider, thisVersionsText(r.type), r.urn);
        assert.deepEqual(await snapshot022(ownerPrefix, containers), before, "the migration changed nothing on the host");
        const preview = await t!.stack.preview();
        assert.deepEqual(Object.keys(preview.changeSummary), ["same"], JSON.stringify(preview.changeSummary));
        const again = await t!.stack.up();
        assert.deepEqual(Object.keys(again.summary.resourceChanges ?? {}), ["same"], JSON.stringify(again.summary.resourceChanges));
        const refresh = await t!.stack.refresh();
        assert.deepEqual(Object.keys(refresh.summary.resourceChanges ?? {}), ["same"], JSON.stringify(refresh.summary.resourceChanges));
        assert.deepEqual(await snapshot022(ownerPrefix, containers), before, "the host is as the old package left it");
    });

    it("a bandwidth limit added to the deployed attachment: an update of that attachment alone, the same veth, a tbf on its ifb", async () => {
        const hostIfName = (await t!.stack.outputs()).hostIfName.value as string;
        const ifindex = (await ipLinks()).find((l) => l.ifname === hostIfName)!.ifindex;
        writeFileSync(join(workDir, "index.ts"), program022(true));
        const planned: Record<string, string> = {};
        await t!.stack.preview({
            onEvent: (e: EngineEvent) => {
                const m = e.resourcePreEvent?.metadata;
                if (m && m.op !== "same" && !m.type.startsWith("pulumi:providers:")) planned[m.urn.split("::").pop()!] = m.op;
            },
        });
        assert.deepEqual(planned, { "a-eth0": "update" });
        assert.equal((await t!.stack.up()).summary.result, "succeeded");
        assert.equal((await ipLinks()).find((l) => l.ifname === hostIfName)!.ifindex, ifindex, "the same veth");
        const ifb = (await ipLinks()).find((l) => l.ifalias === `${ownerPrefix}VethAttachment/a-eth0` && l.linkinfo?.info_kind === "ifb");
        assert.ok(ifb, "an ifb marked as the attachment's");
        const tbf = JSON.parse((await sh(["tc", "-j", "qdisc", "show", "dev", ifb.ifname])).stdout).find((q: any) => q.root);
        assert.deepEqual([tbf.kind, tbf.options.rate], ["tbf", 2e6 / 8]);
    });

    it("destroy, by this version, leaves nothing of the stack's (the ifb included)", async () => {
        assert.equal((await t!.stack.destroy()).summary.result, "succeeded");
        assert.deepEqual(await markedObjects(ownerPrefix), []);
    });
});
