// The providers as the engine runs them: the line of provider text each
// resource stores (`__provider`), loaded with require-from-string in the
// project folder and called through `handler()`, exactly as Pulumi's
// dynamic-provider host does, then run against the real host. What it loads
// is the installed package's engine (`pulumi-hostnet/engine`, from
// node_modules, built by setup), not a copy.

import * as assert from "node:assert/strict";
import type * as pulumi from "@pulumi/pulumi";
import { providerText, ResourceKind } from "../../components/src/program/engineResource";
import { containerPid, dockerInspect, ipLink, ipv4Of, runByte, RUN_OWNER, sweepRun, uniqueSuffix } from "../helpers/host";
import { forTests } from "../helpers/providers";
const requireFromString: (code: string) => any = require("require-from-string");

const KINDS: ResourceKind[] = ["Bridge", "DockerContainer", "Network", "NetworkAttachment", "VethAttachment", "VethLink", "VxlanLink"];

function reload(text: string): pulumi.dynamic.ResourceProvider {
    // Exactly what the dynamic-provider host does with the `__provider` string.
    return requireFromString(text).handler();
}

describe("providers loaded from their stored text", function () {
    const sfx = uniqueSuffix();

    after(async () => {
        await sweepRun();
    });

    it("each kind stores one line under 100 bytes that requires the engine by package name", () => {
        for (const kind of KINDS) {
            const text = providerText(kind);
            assert.equal(text, `exports.handler = () => require("pulumi-hostnet/engine").provider("${kind}");\n`);
            assert.ok(Buffer.byteLength(text) < 100, `${kind}: ${text.length} bytes`);
            const provider = reload(text);
            for (const method of ["check", "diff", "create", "read", "update", "delete"] as const)
                assert.equal(typeof provider[method], "function", `${kind}.${method}`);
        }
    });

    it("create, read and delete a container and its veth attachment through the reloaded providers", async () => {
        const containers = forTests(reload(providerText("DockerContainer")));
        const veths = forTests(reload(providerText("VethAttachment")));
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
