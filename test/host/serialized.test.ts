// The providers as the engine runs them: serialized into a string (as stored
// in state), loaded back with require-from-string in this folder, then run
// against the real host. Catches the closure-serialization traps (captured
// ESM imports, captured config) without an engine.

import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { dockerContainerProvider } from "../../components/providers/dockerContainer";
import { vethAttachmentProvider } from "../../components/providers/vethAttachment";
import { containerPid, dockerInspect, ipLink, ipv4Of, runByte, RUN_OWNER, sweepRun, uniqueSuffix } from "../helpers/host";
// eslint-disable-next-line @typescript-eslint/no-var-requires
const requireFromString: (code: string) => any = require("require-from-string");

async function reload(provider: pulumi.dynamic.ResourceProvider): Promise<pulumi.dynamic.ResourceProvider> {
    const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: false });
    // Exactly what the dynamic-provider host does with the `__provider` string.
    return requireFromString(serialized.text)[serialized.exportName]();
}

describe("providers loaded from their serialized form", function () {
    const sfx = uniqueSuffix();

    after(async () => {
        await sweepRun();
    });

    it("serialize without capturing the execa module by file path", async () => {
        const text = (await pulumi.runtime.serializeFunction(() => vethAttachmentProvider)).text;
        assert.doesNotMatch(text, /require\("execa\/[^"]*"\)/, "execa must be loaded by package name inside methods");
        assert.ok(text.length < 200_000, `serialized provider is ${text.length} bytes`);
    });

    it("create, read and delete a container and its veth attachment", async () => {
        const containers = await reload(dockerContainerProvider);
        const veths = await reload(vethAttachmentProvider);
        const address = `172.17.${150 + (runByte(5) % 50)}.${runByte(6)}/16`;
        const c = await containers.create!({
            name: `hnt-sc-${sfx}`,
            image: "hostnet/busybox:1",
            command: ["sleep", "2147483647"],
            networkMode: "none",
            labels: {},
            owner: `${RUN_OWNER}ser-c-${sfx}`,
        });
        const v = await veths.create!({
            container: c.id,
            bridge: "docker0",
            address,
            defaultRoute: true,
            containerIfName: "eth0",
            hostIfName: `hnt-sv-${sfx}`,
            owner: `${RUN_OWNER}ser-v-${sfx}`,
        });
        const pid = await containerPid(c.id);
        assert.deepEqual(ipv4Of(await ipLink("eth0", pid)), [address]);
        assert.equal((await ipLink(`hnt-sv-${sfx}`))!.master, "docker0");
        assert.deepEqual((await veths.read!(v.id, v.outs)).props, v.outs);

        await veths.delete!(v.id, v.outs);
        await containers.delete!(c.id, c.outs);
        assert.equal(await ipLink(`hnt-sv-${sfx}`), undefined);
        assert.equal(await dockerInspect(c.id), undefined);
    });
});
