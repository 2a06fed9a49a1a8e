// State size through the real engine, as the file backend stores it:
//
// - at scale: 100 VethAttachments of --net=none containers (made by the test
//   with `docker run`, marked) onto a Linux bridge the test makes on a per-run
//   subnet; each resource stores one line of provider text (not code), and
//   the whole state stays under 1 MB;
// - the example stack (index.ts, 22 resources of every kind): at most 2 KB of
//   state per resource on average, in the stack export and in the file, the
//   engine's recorded stack traces included (the program's frames only).
// Prints the measured bytes and the up/destroy durations.
//
// Before and after in one command: with HOSTNET_STATE_BEFORE=<commit>, the
// library as that commit had it (test/helpers/library.ts: 7b01f5e, before the
// package, stored itself by value in every resource; 7408c02, the package 0.2,
// a 2 KB stub) deploys the same 100 attachments first, and for a commit of the
// package also that commit's example stack, measured the same way (no bounds
// asserted); then this version:
//   HOSTNET_STATE_BEFORE=7408c02 npx mocha test/e2e/stateSize.test.ts

import * as assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
    containerPid,
    freePort,
    ipLink,
    ipLinks,
    ipv4Of,
    makeTestBridge,
    markedObjects,
    RUN,
    runByte,
    sh,
    startTestContainer,
    sweepRun,
    unusedSubnets,
} from "../helpers/host";
import { installOldLibrary, installThisLibrary, isPackageAt, linkNodeModules } from "../helpers/library";
import {
    dynamicResources,
    exampleIpv6Config,
    exportedState,
    projectRoot,
    projectStack,
    stackTraceBytes,
    stateFileBytes,
    stateFileResources,
    TestStack,
} from "../helpers/pulumi";

const COUNT = 100;

const BEFORE = process.env.HOSTNET_STATE_BEFORE;

/** This version's provider text for a kind (written out here, not taken from the code under test). */
const providerLine = (kind: string) => `exports.handler = () => require("pulumi-hostnet/engine").provider("${kind}");\n`;

/** The program, importing VethAttachment from `from`. */
const program = (from: string) => `
import * as pulumi from "@pulumi/pulumi";
import { VethAttachment } from "${from}";

const config = new pulumi.Config();
const containers: string[] = JSON.parse(config.require("containers"));
const bridge = config.require("bridge");
const net24 = config.require("net24");
containers.forEach((container, i) => new VethAttachment(\`a\${i}\`, { container, bridge, address: \`\${net24}.\${i + 10}/24\` }));
`;

interface Library {
    /** What the figures are labelled with. */
    label: string;
    /** The commit whose library is installed; undefined for this version. */
    commit?: string;
}

const libraries: Library[] = [...(BEFORE ? [{ label: `before (${BEFORE})`, commit: BEFORE }] : []), { label: "this version" }];

/** A scratch project folder with this repository's packages and the library of `library` installed; returns the import path. */
async function project(scratch: string, name: string, library: Library): Promise<{ workDir: string; from: string }> {
    const workDir = join(scratch, "project");
    mkdirSync(workDir);
    writeFileSync(join(workDir, "package.json"), JSON.stringify({ name, private: true }));
    symlinkSync(join(projectRoot, "tsconfig.json"), join(workDir, "tsconfig.json"));
    linkNodeModules(workDir);
    if (library.commit) return { workDir, from: await installOldLibrary(library.commit, workDir, scratch) };
    installThisLibrary(workDir);
    return { workDir, from: "pulumi-hostnet" };
}

const avg = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);

for (const [n, library] of libraries.entries())
    describe(`state size: ${COUNT} VethAttachments through the real engine, ${library.label}`, function () {
        const stackName = `e2e-${RUN}-${n}`;
        const ownerPrefix = `hostnet/hostnet-state/${stackName}/`;
        const bridge = `hnt-ss${n}-${RUN}`;
        let scratch: string;
        let net24: string;
        let t: TestStack | undefined;
        const containers: string[] = [];

        before(async () => {
            net24 = (await unusedSubnets(1))[0].split(".").slice(0, 3).join(".");
            await makeTestBridge(bridge, `${net24}.1/24`);
            for (let i = 0; i < COUNT; i += 10) {
                const batch = Array.from({ length: Math.min(10, COUNT - i) }, (_, j) => startTestContainer(`hnt-ss${n}-${RUN}-${i + j}`));
                containers.push(...(await Promise.all(batch)));
            }
            scratch = mkdtempSync(join(tmpdir(), "hostnet-state-size-"));
            const { workDir, from } = await project(scratch, "hostnet-state", library);
            writeFileSync(
                join(workDir, "Pulumi.yaml"),
                "name: hostnet-state\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: index.ts\n",
            );
            writeFileSync(join(workDir, "index.ts"), program(from));
            t = await projectStack(workDir, stackName, {
                "hostnet-state:containers": JSON.stringify(containers),
                "hostnet-state:bridge": bridge,
                "hostnet-state:net24": net24,
            });
        });

        after(async () => {
            try {
                if (t) {
                    await t.stack.destroy().catch(() => undefined);
                    await t.stack.workspace.removeStack(stackName).catch(() => undefined);
                }
            } finally {
                // The test's own containers and bridge carry the run's test mark.
                await sweepRun(ownerPrefix);
                t?.dispose();
                if (scratch) rmSync(scratch, { recursive: true, force: true });
            }
        });

        let upSeconds = 0;

        it(`up attaches all ${COUNT} containers to the bridge`, async () => {
            const started = Date.now();
            const up = await t!.stack.up({ parallel: 16 });
            upSeconds = (Date.now() - started) / 1000;
            assert.equal(up.summary.result, "succeeded");
            assert.equal(up.summary.resourceChanges?.create, COUNT + 1);
            const ends = (await ipLinks()).filter((l) => l.ifalias?.startsWith(`${ownerPrefix}VethAttachment/`));
            assert.equal(ends.length, COUNT);
            assert.ok(ends.every((l) => l.master === bridge));
            // Two samples read inside their namespaces: the address the program gave.
            for (const i of [0, COUNT - 1]) {
                const eth0 = (await ipLinks(await containerPid(containers[i]))).find((l) => l.ifname === "eth0");
                assert.deepEqual(ipv4Of(eth0), [`${net24}.${i + 10}/24`]);
            }
        });

        it(
            library.commit
                ? "measures the stored providers and the state"
                : "every resource stores one line of provider text, and the whole state is under 1 MB",
            async () => {
                const { resources, bytes } = await exportedState(t!.stack);
                const attachments = dynamicResources(resources);
                assert.equal(attachments.length, COUNT);
                const providerBytes = attachments.map((r) => Buffer.byteLength(r.inputs!.__provider as string));
                const perResource = attachments.map((r) => Buffer.byteLength(JSON.stringify(r)));
                const onDisk = stateFileBytes(t!.stateDir, stackName);
                if (!library.commit) {
                    for (const r of attachments) {
                        assert.equal(r.inputs!.__provider, providerLine("VethAttachment"), r.urn);
                        assert.equal(r.outputs!.__provider, providerLine("VethAttachment"), r.urn);
                    }
                    assert.ok(bytes < 1024 * 1024, `stack export: ${bytes} bytes`);
                    assert.ok(onDisk < 1024 * 1024, `state file: ${onDisk} bytes`);
                }
                console.log(
                    `      measured (${library.label}): ${COUNT} VethAttachments; __provider ${Math.min(...providerBytes)}-${Math.max(...providerBytes)} B; ` +
                        `one attachment in the export ${avg(perResource)} B on average; whole export ${bytes} B (${Math.round(bytes / resources.length)} B ` +
                        `per resource, ${resources.length} resources); state file ${onDisk} B; up ${upSeconds.toFixed(1)} s`,
                );
            },
        );

        it("destroy removes every attachment and leaves the test's containers and bridge as they were", async () => {
            const started = Date.now();
            const destroy = await t!.stack.destroy({ parallel: 16 });
            const seconds = (Date.now() - started) / 1000;
            assert.equal(destroy.summary.result, "succeeded");
            console.log(`      measured (${library.label}): destroy of ${COUNT} VethAttachments ${seconds.toFixed(1)} s`);
            assert.deepEqual(await markedObjects(ownerPrefix), []);
            const left = (await ipLinks(await containerPid(containers[0]))).map((l) => l.ifname);
            assert.deepEqual(left, ["lo"]);
            assert.equal((await sh(["docker", "inspect", "-f", "{{.State.Running}}", containers[COUNT - 1]])).stdout, "true");
            assert.deepEqual(ipv4Of(await ipLink(bridge)), [`${net24}.1/24`], "the test's bridge is left as it was");
        });
    });

for (const [n, library] of libraries.entries())
    describe(`state size: the example stack through the real engine, ${library.label}`, function () {
        const stackName = `e2e-${RUN}-x${n}`;
        const ownerPrefix = `hostnet/hostnet/${stackName}/`;
        let scratch: string;
        let t: TestStack | undefined;
        let skipped: string | undefined;

        before(async () => {
            if (library.commit && !(await isPackageAt(library.commit))) {
                skipped = `${library.commit} predates the package: its example stack had other names and settings`;
                return;
            }
            scratch = mkdtempSync(join(tmpdir(), "hostnet-state-example-"));
            const { workDir } = await project(scratch, "hostnet", library);
            copyFileSync(join(projectRoot, "Pulumi.yaml"), join(workDir, "Pulumi.yaml"));
            const index = library.commit
                ? (await sh(["git", "-C", projectRoot, "show", `${library.commit}:index.ts`])).stdout
                : readFileSync(join(projectRoot, "index.ts"), "utf8");
            writeFileSync(join(workDir, "index.ts"), index);
            const [lab, lan] = await unusedSubnets(2);
            const b = runByte(30 + n);
            // Every address the run's own: a stack deployed on this machine (`npm run up`'s dev) keeps the
            // example's defaults, IPv6 ones included (exampleIpv6Config).
            t = await projectStack(
                workDir,
                stackName,
                await exampleIpv6Config({
                    // In docker0's lower half, which Docker does not hand out (scripts/start-docker.sh).
                    "hostnet:address": `172.17.${20 + (b % 50)}.${b}/16`,
                    "hostnet:labSubnet": lab,
                    "hostnet:lanAddress": lan.replace(/\.0\/24$/, ".1/24"),
                    "hostnet:webPort": String(await freePort()),
                }),
            );
        });

        after(async () => {
            try {
                if (t) {
                    await t.stack.destroy().catch(() => undefined);
                    await t.stack.workspace.removeStack(stackName).catch(() => undefined);
                }
            } finally {
                if (!skipped) await sweepRun(ownerPrefix);
                t?.dispose();
                if (scratch) rmSync(scratch, { recursive: true, force: true });
            }
        });

        it(
            library.commit
                ? "measures the state per resource"
                : "stores at most 2 KB per resource on average, in the export and in the file, the engine's stack traces (the program's frames only) included",
            async function () {
                if (skipped) {
                    console.log(`      skipped: ${skipped}`);
                    this.skip();
                }
                const up = await t!.stack.up();
                assert.equal(up.summary.result, "succeeded");
                const { resources, bytes } = await exportedState(t!.stack);
                const onDisk = stateFileBytes(t!.stateDir, stackName);
                const perResource = Math.round(bytes / resources.length);
                const perResourceOnDisk = Math.round(onDisk / resources.length);
                // The engine stores with each resource the program's stack where it was declared; the library leaves
                // in it only the program's own frames (components/src/program/declarationSite.ts).
                const traces = stackTraceBytes(resources);
                const tracesOnDisk = stackTraceBytes(stateFileResources(t!.stateDir, stackName));
                const ownPerResource = Math.round((bytes - traces) / resources.length);
                const ownPerResourceOnDisk = Math.round((onDisk - tracesOnDisk) / resources.length);
                const provider = dynamicResources(resources).map(
                    (r) => Buffer.byteLength(r.inputs!.__provider) + Buffer.byteLength(r.outputs!.__provider),
                );
                console.log(
                    `      measured (${library.label}): the example stack, ${resources.length} resources; export ${bytes} B = ${perResource} B per resource; ` +
                        `state file ${onDisk} B = ${perResourceOnDisk} B per resource; __provider (inputs and outputs) ${avg(provider)} B per dynamic resource; ` +
                        `the engine's stack traces ${traces} B (${Math.round(traces / resources.length)} B per resource), the rest ${ownPerResource} B per resource (file: ${ownPerResourceOnDisk} B)`,
                );
                if (!library.commit) {
                    for (const r of dynamicResources(resources))
                        assert.equal(r.inputs!.__provider, providerLine(r.type.split(":").pop()!), r.urn);
                    assert.ok(ownPerResource <= 2048, `export: ${ownPerResource} B per resource besides the engine's stack traces`);
                    assert.ok(perResource <= 2048, `export: ${perResource} B per resource, the engine's stack traces included`);
                    assert.ok(
                        perResourceOnDisk <= 2048,
                        `state file: ${perResourceOnDisk} B per resource, the engine's stack traces included`,
                    );
                    // Each recorded frame is a line of the program (index.ts): none of the library's, ts-node's, Pulumi's or Node's.
                    const elsewhere = resources
                        .filter((r) => r.type !== "pulumi:pulumi:Stack")
                        .flatMap((r) => (r.stackTrace ?? []).map((f) => f.sourcePosition ?? "(none)"))
                        .filter((p) => !/\/index\.ts[:#]/.test(p));
                    assert.deepEqual([...new Set(elsewhere)], [], "frames recorded outside the program");
                    assert.ok(
                        ownPerResourceOnDisk <= 2048,
                        `state file: ${ownPerResourceOnDisk} B per resource besides the engine's stack traces`,
                    );
                }
                const destroy = await t!.stack.destroy();
                assert.equal(destroy.summary.result, "succeeded");
                assert.deepEqual(await markedObjects(ownerPrefix), []);
            },
        );
    });
