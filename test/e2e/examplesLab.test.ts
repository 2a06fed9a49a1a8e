// The library as another stack uses it: packed (scripts/pack.sh), installed
// by npm from the tarball into a scratch copy of examples/lab, deployed
// through the real engine, checked on the host with ip, docker and ping,
// destroyed, and nothing of the stack's left.
//
// How we know the engine ran the installed copy: each resource stores only a
// line that `require`s "pulumi-hostnet/engine" (checked in the state), and
// after `npm install` the test appends one line to that copy's
// dist/engine/index.js (in the scratch folder's node_modules, nowhere else)
// which records, when the module is loaded, which process loaded which file.
// The record must come from the engine's dynamic-provider process, for that
// very file; a provider that ran code from anywhere else (the repository's
// dist, code stored by value) would leave no record.

import * as assert from "node:assert/strict";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { execa } from "execa";
import {
    dockerInspect,
    execPing,
    containerPid,
    ipLink,
    ipLinks,
    ipv4Of,
    markedObjects,
    RUN,
    sh,
    sweepRun,
    unusedSubnets,
} from "../helpers/host";
import { npmInstall, packLibrary } from "../helpers/pack";
import { dynamicResources, exportedState, projectRoot, projectStack, TestStack } from "../helpers/pulumi";

const LAB_FILES = ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts", "topology.yaml", "README.md"];

describe("examples/lab: pack -> npm install -> deploy -> check -> destroy", function () {
    const stackName = `e2e-${RUN}`;
    const ownerPrefix = `hostnet/hostnet-lab/${stackName}/`;
    const cname = (name: string) => `hn-${stackName}-${name}`;
    let scratch: string;
    let labDir: string;
    let tgz: string;
    let t: TestStack | undefined;
    let loadsFile: string;
    let engineFile: string;
    let lab24: string;
    let lan24: string;
    let link24: string;
    let out: Record<string, any>;

    before(async () => {
        tgz = await packLibrary();
        scratch = mkdtempSync(join(tmpdir(), "hostnet-lab-"));
        // The repository's layout, so that the lab's package.json (file:../../.packs/<tgz>) works unchanged.
        labDir = join(scratch, "examples", "lab");
        mkdirSync(labDir, { recursive: true });
        mkdirSync(join(scratch, ".packs"));
        for (const f of LAB_FILES) copyFileSync(join(projectRoot, "examples", "lab", f), join(labDir, f));
        copyFileSync(tgz, join(scratch, ".packs", basename(tgz)));
    });

    after(async () => {
        try {
            if (t) {
                await t.stack.destroy().catch(() => undefined);
                await t.stack.workspace.removeStack(stackName).catch(() => undefined);
            }
        } finally {
            await sweepRun(ownerPrefix);
            t?.dispose();
            if (scratch) rmSync(scratch, { recursive: true, force: true });
        }
    });

    it("the tarball holds only dist/**/*.js, dist/**/*.d.ts, the netlink helper per architecture, README.md and package.json", async () => {
        const files = (await sh(["tar", "-tzf", tgz])).stdout.split("\n").filter(Boolean).sort();
        const stray = files.filter(
            (f) => !/^package\/(dist\/.+\.(js|d\.ts)|native\/linux-(x64|arm64)\/hostnet-netlink|README\.md|package\.json)$/.test(f),
        );
        assert.deepEqual(stray, []);
        // The helper for this machine's architecture is packed and executable.
        const helper = `package/native/linux-${process.arch}/hostnet-netlink`;
        assert.ok(files.includes(helper), `${helper} is packed`);
        const mode = (await sh(["tar", "-tvzf", tgz, helper])).stdout.trim();
        assert.match(mode, /^-rwx/, `${helper} is executable: ${mode}`);
        for (const f of [
            "package/package.json",
            "package/README.md",
            "package/dist/index.js",
            "package/dist/index.d.ts",
            "package/dist/engine/index.js",
        ]) {
            assert.ok(files.includes(f), `${f} is packed`);
        }
        assert.ok(!files.some((f) => f.includes("/src/") || f.endsWith(".ts.map") || f.includes(".built-")));
    });

    it("the lab's package.json names the tarball npm run pack makes", () => {
        const pkg = JSON.parse(readFileSync(join(labDir, "package.json"), "utf8"));
        assert.equal(
            pkg.dependencies["pulumi-hostnet"],
            `file:../../.packs/${basename(tgz)}`,
            "update examples/lab/package.json when the package's version changes",
        );
    });

    it("installs into an empty folder with @pulumi/pulumi, and both entry points load there", async () => {
        const empty = mkdtempSync(join(tmpdir(), "hostnet-install-"));
        try {
            await npmInstall(empty, [tgz, "@pulumi/pulumi@3.248.0"]);
            const probe = [
                "const lib = require('pulumi-hostnet');",
                "const engine = require('pulumi-hostnet/engine');",
                "console.log(JSON.stringify({ lib: Object.keys(lib).sort(), kinds: engine.RESOURCE_KINDS,",
                "  libFile: require.resolve('pulumi-hostnet'), engineFile: require.resolve('pulumi-hostnet/engine') }));",
            ].join("\n");
            const r = JSON.parse((await execa("node", ["-e", probe], { cwd: empty })).stdout);
            for (const name of [
                "Bridge",
                "Container",
                "Host",
                "MacvlanAttachment",
                "Network",
                "NetworkAttachment",
                "Policy",
                "Probe",
                "Swarm",
                "Topology",
                "VethAttachment",
                "VethLink",
                "VxlanLink",
            ]) {
                assert.ok(r.lib.includes(name), `pulumi-hostnet exports ${name}`);
            }
            assert.deepEqual([...r.kinds].sort(), [
                "Bridge",
                "DockerContainer",
                "MacvlanAttachment",
                "Network",
                "NetworkAttachment",
                "Policy",
                "Probe",
                "SwarmCluster",
                "SwarmNode",
                "VethAttachment",
                "VethLink",
                "VxlanLink",
            ]);
            assert.equal(r.libFile, join(realpathSync(empty), "node_modules/pulumi-hostnet/dist/index.js"));
            assert.equal(r.engineFile, join(realpathSync(empty), "node_modules/pulumi-hostnet/dist/engine/index.js"));
            const internal = await execa("node", ["-e", "require('pulumi-hostnet/dist/host/run.js')"], {
                cwd: empty,
                reject: false,
            });
            assert.match(internal.stderr, /ERR_PACKAGE_PATH_NOT_EXPORTED/, "only the package's exports are reachable");
        } finally {
            rmSync(empty, { recursive: true, force: true });
        }
    });

    it("npm install in the lab installs the tarball as files, and the lab type-checks against its declarations", async () => {
        await npmInstall(labDir);
        engineFile = join(labDir, "node_modules", "pulumi-hostnet", "dist", "engine", "index.js");
        assert.ok(existsSync(engineFile));
        assert.equal(realpathSync(engineFile), engineFile, "a copy, not a link to the repository");
        assert.ok(existsSync(join(labDir, "node_modules", "yaml")), "the package's runtime dependency came along");
        const tsc = await execa(join(labDir, "node_modules", ".bin", "tsc"), ["-p", "."], { cwd: labDir, reject: false });
        assert.equal(tsc.exitCode, 0, tsc.stdout);
        // Resolving from the lab folder finds only its own copy (nothing above the scratch folder provides one).
        assert.equal(require.resolve("pulumi-hostnet/engine", { paths: [labDir] }), engineFile);

        loadsFile = join(scratch, "engine-loads.jsonl");
        appendFileSync(
            engineFile,
            `\n;require("node:fs").appendFileSync(${JSON.stringify(loadsFile)}, ` +
                `JSON.stringify({ pid: process.pid, argv: process.argv, cwd: process.cwd(), file: __filename }) + "\\n");\n`,
        );
    });

    it("preview announces the lab, and up deploys it through the real engine", async () => {
        // Per-run networks no one else on the host uses now.
        [lab24, lan24, link24] = (await unusedSubnets(3)).map((s) => s.split(".").slice(0, 3).join("."));
        t = await projectStack(labDir, stackName, {
            "hostnet-lab:labSubnet": `${lab24}.0/24`,
            "hostnet-lab:lanAddress": `${lan24}.1/24`,
            "hostnet-lab:linkSubnet": `${link24}.0/30`,
        });
        assert.deepEqual((await t.stack.preview()).changeSummary, { create: 12 });
        const up = await t.stack.up();
        assert.equal(up.summary.result, "succeeded");
        out = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value]));
        assert.deepEqual(out.containers, { api: cname("lab-api"), cli: cname("lab-cli"), isolated: cname("isolated") });
    });

    it("the network's containers have their addresses and reach each other by name", async () => {
        const net = (await sh(["docker", "network", "inspect", cname("lab-net")]).then((r) => JSON.parse(r.stdout)))[0];
        assert.equal(net.IPAM.Config[0].Subnet, `${lab24}.0/24`);
        assert.equal(net.Labels["io.hostnet.owner"], `${ownerPrefix}Network/lab-net`);
        const api = await dockerInspect(cname("lab-api"));
        const cli = await dockerInspect(cname("lab-cli"));
        assert.equal(api.NetworkSettings.Networks[cname("lab-net")].IPAddress, `${lab24}.10`);
        assert.equal(cli.NetworkSettings.Networks[cname("lab-net")].IPAddress, `${lab24}.11`);
        assert.ok(await execPing(cname("lab-api"), "cli"), "api reaches cli by its alias");
        assert.ok(await execPing(cname("lab-cli"), "api"), "cli reaches api by its alias");
        assert.ok(await execPing(cname("lab-cli"), cname("lab-api")), "cli reaches api by its container name");
    });

    it("the bridge, the attachment's veth and the link, as ip -j shows them", async () => {
        const bridge = await ipLink(out.bridge.name);
        assert.equal(bridge?.linkinfo?.info_kind, "bridge");
        assert.deepEqual(ipv4Of(bridge), [`${lan24}.1/24`]);
        assert.equal(bridge?.ifalias, `${ownerPrefix}Bridge/lan`);
        const hostEnd = await ipLink(out.bridge.interfaces[0]);
        assert.equal(hostEnd?.master, out.bridge.name);
        assert.equal(hostEnd?.ifalias, `${ownerPrefix}VethAttachment/isolated-eth0`);
        assert.ok(hostEnd?.flags.includes("UP"));

        const isolated = await ipLinks(await containerPid(cname("isolated")));
        assert.deepEqual(isolated.map((l) => l.ifname).sort(), ["eth0", "eth1", "lo"]);
        assert.equal(isolated.find((l) => l.ifname === "eth0")?.ifindex, hostEnd?.link_index);
        assert.deepEqual(ipv4Of(isolated.find((l) => l.ifname === "eth0")), [`${lan24}.2/24`]);
        assert.deepEqual(ipv4Of(isolated.find((l) => l.ifname === "eth1")), [`${link24}.2/30`]);
        const api = await ipLinks(await containerPid(cname("lab-api")));
        assert.deepEqual(ipv4Of(api.find((l) => l.ifname === "eth1")), [`${link24}.1/30`]);
        assert.equal(api.find((l) => l.ifname === "eth1")?.ifalias, `${ownerPrefix}VethLink/api-isolated`);
    });

    it("pings cross the veth link both ways, and the host reaches isolated over the bridge", async () => {
        assert.ok(await execPing(cname("lab-api"), `${link24}.2`));
        assert.ok(await execPing(cname("isolated"), `${link24}.1`));
        assert.ok(await execPing(cname("isolated"), `${lan24}.1`));
    });

    it("each resource stores one line of provider text that requires pulumi-hostnet/engine for its kind", async () => {
        const { resources } = await exportedState(t!.stack);
        const dynamic = dynamicResources(resources);
        assert.equal(dynamic.length, 7, "3 DockerContainers, Network, Bridge, VethAttachment, VethLink");
        for (const r of dynamic) {
            const kind = r.type.split(":").pop();
            const text = `exports.handler = () => require("pulumi-hostnet/engine").provider("${kind}");\n`;
            assert.equal(r.inputs!.__provider, text, r.urn);
            assert.equal(r.outputs!.__provider, text, r.urn);
        }
    });

    it("the engine ran the copy installed in the lab's node_modules, in its dynamic-provider process", () => {
        const loads = readFileSync(loadsFile, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l));
        assert.ok(loads.length >= 1, "the installed engine was loaded");
        for (const l of loads) {
            assert.equal(l.file, engineFile);
            // The toolchain's dynamic-provider server (or Pulumi's, which it runs when it cannot stand in for it).
            assert.match(l.argv[1], /\/hostnet-dynamic-provider\.js$|@pulumi\/pulumi\/cmd\/dynamic-provider/);
            assert.equal(realpathSync(l.cwd), realpathSync(labDir));
            assert.notEqual(l.pid, process.pid);
        }
    });

    it("a second preview shows no change", async () => {
        const preview = await t!.stack.preview();
        assert.deepEqual(preview.changeSummary, { same: 12 });
    });

    it("destroy leaves nothing of the stack's: no container, network or interface with its mark", async () => {
        const made = (await markedObjects(ownerPrefix)).map((o) => o.split(" ")[0]).sort();
        // On the host side: 3 containers, the network, the bridge, its forwarding rule and the attachment's host end.
        assert.deepEqual(made, ["container", "container", "container", "firewall", "link", "link", "network"]);
        const destroy = await t!.stack.destroy();
        assert.equal(destroy.summary.result, "succeeded");
        assert.deepEqual(await markedObjects(ownerPrefix), []);
        assert.equal((await sh(["docker", "ps", "-aq", "--filter", `name=hn-${stackName}-`])).stdout, "");
        assert.equal((await sh(["docker", "network", "ls", "-q", "--filter", `name=hn-${stackName}-`])).stdout, "");
        assert.equal(await ipLink(out.bridge.name), undefined);
    });
});
