// State size at scale: 100 VethAttachments of --net=none containers (made by
// the test with `docker run`, marked) onto a Linux bridge the test makes on a
// per-run subnet, deployed through the real engine. Each resource's stored
// provider code must stay a small stub (at most 4 KB), and the whole state
// under 1 MB. Prints the measured bytes and the up/destroy durations.
//
// Before and after in one command: with HOSTNET_STATE_BEFORE=<commit> (e.g.
// 7b01f5e, the library before the package, which stored itself by value in
// every resource), the same 100 attachments are first deployed with that
// commit's `components/` and measured the same way (no bounds asserted), then
// with the package:
//   HOSTNET_STATE_BEFORE=7b01f5e npx mocha test/e2e/stateSize.test.ts

import * as assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
    containerPid,
    ipLink,
    ipLinks,
    ipv4Of,
    makeTestBridge,
    markedObjects,
    RUN,
    sh,
    startTestContainer,
    sweepRun,
    unusedSubnets,
} from "../helpers/host";
import { dynamicResources, exportedState, projectRoot, projectStack, stateFileBytes, TestStack } from "../helpers/pulumi";

const COUNT = 100;

const BEFORE = process.env.HOSTNET_STATE_BEFORE;

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
    /** The module the program imports. */
    from: string;
    /** A commit whose `components/` is copied into the project (the library before the package). */
    commit?: string;
}

const libraries: Library[] = [
    ...(BEFORE ? [{ label: `before (${BEFORE}, by value)`, from: "./components", commit: BEFORE }] : []),
    { label: "pulumi-hostnet (by reference)", from: "pulumi-hostnet" },
];

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
            const workDir = join(scratch, "project");
            mkdirSync(workDir);
            writeFileSync(
                join(workDir, "Pulumi.yaml"),
                "name: hostnet-state\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: index.ts\n",
            );
            writeFileSync(join(workDir, "package.json"), JSON.stringify({ name: "hostnet-state", private: true }));
            writeFileSync(join(workDir, "index.ts"), program(library.from));
            if (library.commit) {
                const tar = join(scratch, "components.tar");
                await sh(["git", "-C", projectRoot, "archive", "--format=tar", "-o", tar, library.commit, "components"]);
                await sh(["tar", "-xf", tar, "-C", workDir]);
            }
            symlinkSync(join(projectRoot, "tsconfig.json"), join(workDir, "tsconfig.json"));
            symlinkSync(join(projectRoot, "node_modules"), join(workDir, "node_modules"));
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
                : "every stored provider is at most 4 KB and the whole state is under 1 MB",
            async () => {
                const { resources, bytes } = await exportedState(t!.stack);
                const attachments = dynamicResources(resources);
                assert.equal(attachments.length, COUNT);
                const providerBytes = attachments.map((r) => Buffer.byteLength(r.inputs!.__provider as string));
                const perResource = attachments.map((r) => Buffer.byteLength(JSON.stringify(r)));
                const onDisk = stateFileBytes(t!.stateDir, stackName);
                if (!library.commit) {
                    assert.ok(Math.max(...providerBytes) <= 4096, `largest __provider: ${Math.max(...providerBytes)} bytes`);
                    assert.ok(bytes < 1024 * 1024, `stack export: ${bytes} bytes`);
                    assert.ok(onDisk < 1024 * 1024, `state file: ${onDisk} bytes`);
                }
                const avg = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
                console.log(
                    `      measured (${library.label}): ${COUNT} VethAttachments; __provider ${Math.min(...providerBytes)}-${Math.max(...providerBytes)} B; ` +
                        `one resource in the export ${avg(perResource)} B on average; whole export ${bytes} B; state file ${onDisk} B; ` +
                        `up ${upSeconds.toFixed(1)} s`,
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
