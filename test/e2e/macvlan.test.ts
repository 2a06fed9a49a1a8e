// macvlan end to end, through the real engine: a Docker macvlan network and
// MacvlanAttachments on one parent, a veth end the test makes (this kernel
// has no dummy links), whose far end, addressed in a `--net=none` container,
// stands for the LAN and its router. Up, then: every path carries traffic
// (ping, both ways); a preview plans nothing; the macvlan deleted by hand is
// seen by refresh and made again by a plain up; an address changes in place;
// destroy leaves nothing of the stack and leaves the parent alone. Read back
// with `ip -j -d`, `docker inspect`, `docker network inspect` and ping.

import * as assert from "node:assert/strict";
import { join } from "node:path";
import {
    containerPid,
    dockerInspect,
    ipDefaultRoutes,
    ipLink,
    ipv4Of,
    makeTestWire,
    markedObjects,
    ping,
    RUN,
    sh,
    startTestContainer,
    sweepRun,
    unusedSubnets,
} from "../helpers/host";
import { refreshOps, updateOps } from "../helpers/ops";
import { exampleStack, TestStack } from "../helpers/pulumi";

describe("macvlan: a Docker macvlan network and MacvlanAttachments on one parent, through the real engine", function () {
    const stackName = `e2e-${RUN}-macvlan`;
    const ownerPrefix = `hostnet/hostnet/${stackName}/`;
    const parent = `hnt-ep-${RUN}`;
    const lan = `hnt-el-${RUN}`;
    const cname = (name: string) => `hn-${stackName}-${name}`;
    let net = "";
    let lanPid = 0;
    let t: TestStack;

    const pidOf = (name: string) => containerPid(cname(name));
    /** One echo answered from inside `container`'s namespace, trying up to 3 times. */
    async function reaches(container: string, target: string): Promise<boolean> {
        const pid = await pidOf(container);
        for (let i = 0; i < 3; i++) if (await ping(target, pid)) return true;
        return false;
    }

    before(async () => {
        net = (await unusedSubnets(1))[0].replace(/\.0\/24$/, "");
        await startTestContainer(lan);
        lanPid = await containerPid(lan);
        await makeTestWire(parent, lanPid, `${net}.100/24`);
        t = await exampleStack(
            stackName,
            { "hostnet:parent": parent, "hostnet:net": net },
            { program: join(__dirname, "programs", "macvlan.ts"), transpileOnly: true },
        );
    });

    after(async () => {
        try {
            await t?.stack.destroy();
            await t?.stack.workspace.removeStack(stackName);
        } finally {
            await sweepRun(ownerPrefix);
            t?.dispose();
        }
    });

    it("up: the network is Docker's macvlan on the parent; every container's eth0 is a macvlan of it, addressed", async () => {
        const up = await t.stack.up();
        assert.equal(up.summary.result, "succeeded");
        const n = JSON.parse((await sh(["docker", "network", "inspect", up.outputs.network.value])).stdout)[0];
        assert.equal(n.Driver, "macvlan");
        assert.deepEqual(n.Options, { parent, macvlan_mode: "bridge" });
        const parentIndex = (await ipLink(parent))!.ifindex;
        for (const [name, address] of [
            ["web", `${net}.10/24`],
            ["api", `${net}.11/24`],
            ["probe", `${net}.20/24`],
            ["probe2", `${net}.21/24`],
        ]) {
            const eth0 = await ipLink("eth0", await pidOf(name));
            assert.equal(eth0?.linkinfo?.info_kind, "macvlan", `${name}'s eth0 is a macvlan`);
            assert.equal(eth0?.link_index, parentIndex, `${name}'s eth0 sits on the parent`);
            assert.deepEqual(ipv4Of(eth0), [address], `${name}'s address`);
        }
        assert.equal((await ipLink("eth0", await pidOf("probe")))?.ifalias, `${ownerPrefix}MacvlanAttachment/probe-lan`);
        assert.equal((await dockerInspect(cname("probe"))).HostConfig.NetworkMode, "none");
        assert.deepEqual(
            (await ipDefaultRoutes(await pidOf("probe"))).map((r) => [r.gateway, r.dev]),
            [[`${net}.100`, "eth0"]],
            "the attachment's default route goes through the LAN's router",
        );
    });

    it("traffic: the network's two containers, the two attachments, and each with the other and the LAN", async () => {
        assert.ok(await reaches("web", `${net}.11`), "web -> api (Docker's macvlan network)");
        assert.ok(await reaches("probe", `${net}.21`), "probe -> probe2 (two MacvlanAttachments)");
        assert.ok(await reaches("probe", `${net}.10`), "probe (attachment) -> web (Docker's network), one parent");
        assert.ok(await reaches("api", `${net}.20`), "api -> probe");
        assert.ok(await reaches("probe", `${net}.100`), "probe -> the LAN's router behind the parent");
        assert.ok(await reaches("web", `${net}.100`), "web -> the LAN's router");
        assert.ok(await ping(`${net}.21`, lanPid), "the LAN -> probe2");
    });

    it("a preview plans nothing, and a refresh finds nothing", async () => {
        const planned = updateOps();
        await t.stack.preview({ onEvent: planned.onEvent });
        assert.deepEqual(planned.ops, {});
        const found = refreshOps();
        await t.stack.previewRefresh({ onEvent: found.onEvent });
        assert.deepEqual(found.ops, {});
    });

    it("the macvlan deleted by hand: refresh finds the attachment gone, a plain up makes it again, traffic flows", async () => {
        await sh(["nsenter", "-t", String(await pidOf("probe")), "-n", "ip", "link", "del", "dev", "eth0"]);
        const found = refreshOps();
        await t.stack.previewRefresh({ onEvent: found.onEvent });
        assert.deepEqual(found.ops, { "MacvlanAttachment probe-lan": "delete" });
        // No --refresh: the project's `options: refresh: always` makes up see it.
        const done = updateOps();
        const up = await t.stack.up({ onEvent: done.onEvent });
        assert.equal(up.summary.result, "succeeded");
        assert.deepEqual(done.ops, { "MacvlanAttachment probe-lan": "create" });
        assert.equal((await ipLink("eth0", await pidOf("probe")))?.linkinfo?.info_kind, "macvlan");
        assert.ok(await reaches("probe", `${net}.100`));
        assert.ok(await reaches("probe", `${net}.10`));
        const again = refreshOps();
        await t.stack.previewRefresh({ onEvent: again.onEvent });
        assert.deepEqual(again.ops, {}, "a second refresh finds nothing");
    });

    it("a new address is an in-place update: the same interface, the new address, the route kept", async () => {
        const before = (await ipLink("eth0", await pidOf("probe")))!.ifindex;
        await t.stack.setConfig("hostnet:probeAddress", { value: `${net}.22/24` });
        const done = updateOps();
        const up = await t.stack.up({ onEvent: done.onEvent });
        assert.deepEqual(done.ops, { "MacvlanAttachment probe-lan": "update" });
        assert.deepEqual(up.outputs.probeAddresses.value, [`${net}.22/24`]);
        const eth0 = await ipLink("eth0", await pidOf("probe"));
        assert.equal(eth0!.ifindex, before, "not recreated");
        assert.deepEqual(ipv4Of(eth0), [`${net}.22/24`]);
        assert.deepEqual(
            (await ipDefaultRoutes(await pidOf("probe"))).map((r) => r.gateway),
            [`${net}.100`],
        );
        assert.ok(await ping(`${net}.22`, lanPid), "the LAN reaches the new address");
    });

    it("destroy leaves nothing of the stack on the host, and the parent as it was", async () => {
        const probePid = await pidOf("probe");
        await t.stack.destroy();
        assert.deepEqual(await markedObjects(ownerPrefix), []);
        assert.equal(await dockerInspect(cname("probe")), undefined);
        assert.ok(probePid > 0);
        const p = await ipLink(parent);
        assert.ok(p, "the parent is not the stack's to delete");
        assert.equal(p.ifalias, `hostnet-test/${RUN}`);
    });
});
