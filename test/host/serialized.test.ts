// The providers as the engine runs them: the stub each resource stores is
// serialized into a string (as it lands in state), loaded back with
// require-from-string in the project folder (as the dynamic-provider host
// does), then run against the real host. What it loads is the installed
// package's engine (`pulumi-hostnet/engine`, from node_modules, built by
// setup), not a copy.

import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { engineProvider, ResourceKind } from "../../components/src/program/engineProvider";
import { containerPid, dockerInspect, ipLink, ipv4Of, runByte, RUN_OWNER, sweepRun, uniqueSuffix } from "../helpers/host";
import { forTests } from "../helpers/providers";
const requireFromString: (code: string) => any = require("require-from-string");

async function serialized(kind: ResourceKind): Promise<string> {
    const provider = engineProvider(kind);
    return (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: false })).text;
}

function reload(text: string): pulumi.dynamic.ResourceProvider {
    // Exactly what the dynamic-provider host does with the `__provider` string.
    return requireFromString(text).handler();
}

describe("providers loaded from their serialized form", function () {
    const sfx = uniqueSuffix();

    after(async () => {
        await sweepRun();
    });

    it("each kind serializes to under 4 KB that requires the engine by package name and copies no library code", async () => {
        for (const kind of [
            "Bridge",
            "DockerContainer",
            "Network",
            "NetworkAttachment",
            "VethAttachment",
            "VethLink",
            "VxlanLink",
        ] as const) {
            const text = await serialized(kind);
            assert.ok(text.length < 4096, `${kind}: ${text.length} bytes`);
            assert.match(text, /require\(engineModule\)/);
            assert.match(text, /engineModule: "pulumi-hostnet\/engine"/);
            assert.match(text, new RegExp(`kind: "${kind}"`));
            assert.doesNotMatch(text, /runHost|inspectContainer|createVethPair|checkFields/, "no library code by value");
        }
    });

    it("create, read and delete a container and its veth attachment through the reloaded stubs", async () => {
        const containers = forTests(reload(await serialized("DockerContainer")));
        const veths = forTests(reload(await serialized("VethAttachment")));
        // The lower half of docker0: Docker hands out only the upper half (scripts/start-docker.sh).
        const address = `172.17.${20 + (runByte(5) % 50)}.${runByte(6)}/16`;
        const c = await containers.create({
            name: `hnt-sc-${sfx}`,
            image: "hostnet/busybox:1",
            command: ["sleep", "2147483647"],
            networkMode: "none",
            labels: {},
            owner: `${RUN_OWNER}ser-c-${sfx}`,
        });
        const v = await veths.create({
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
        assert.deepEqual((await veths.read(v.id, v.outs)).props, v.outs);

        await veths.delete(v.id, v.outs);
        await containers.delete(c.id, c.outs);
        assert.equal(await ipLink(`hnt-sv-${sfx}`), undefined);
        assert.equal(await dockerInspect(c.id), undefined);
    });

    it("the engine module it loads is the installed package's, resolved from the project's node_modules", () => {
        const resolved = require.resolve("pulumi-hostnet/engine", { paths: [process.cwd()] });
        assert.match(resolved, /components\/dist\/engine\/index\.js$/);
    });
});
