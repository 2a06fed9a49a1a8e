// The example stack through the real engine, end to end: preview -> up ->
// the host read back with ip/docker/ping -> no-change preview -> drift by hand
// -> refresh sees it -> up repairs it -> an in-place change -> destroy ->
// nothing of the stack's left on the host.

import * as assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import {
    containerPid,
    dockerInspect,
    ipDefaultRoutes,
    ipLink,
    ipLinks,
    ipv4Of,
    ping,
    sh,
    sweepRun,
    uniqueSuffix,
} from "../helpers/host";
import { exampleStack, TestStack } from "../helpers/pulumi";

function filesUnder(dir: string): string[] {
    return readdirSync(dir).flatMap((entry) => {
        const path = join(dir, entry);
        return statSync(path).isDirectory() ? filesUnder(path) : [path];
    });
}

describe("example stack through the real Pulumi engine", function () {
    const stackName = `e2e-${uniqueSuffix()}`;
    const owner = (name: string) => `hostnet/hostnet/${stackName}/${name}`;
    let t: TestStack;
    let outputs: Record<string, string>;

    before(async () => {
        // An address high in docker0's range, clear of Docker's own allocations
        // and of the example's default (.0.3) should a user's stack be up.
        t = await exampleStack(stackName, { "hostnet:address": "172.17.250.3/16" });
    });

    after(async () => {
        try {
            await t?.stack.destroy();
            await t?.stack.workspace.removeStack(stackName);
        } finally {
            await sweepRun(`hostnet/hostnet/${stackName}/`);
            t?.dispose();
        }
    });

    it("bad configuration fails the preview with the field named, and touches nothing", async () => {
        await t.stack.setConfig("hostnet:address", { value: "172.17.250.300/16" });
        await assert.rejects(t.stack.preview(), /`address` must be an IPv4 address with its prefix length \(1-32\), like 172\.17\.0\.3\/16; got "172\.17\.250\.300\/16"/);
        await t.stack.setConfig("hostnet:gateway", { value: "10.0.0.1" });
        await t.stack.setConfig("hostnet:address", { value: "172.17.250.3/16" });
        await assert.rejects(t.stack.preview(), /`gateway` 10\.0\.0\.1 is outside the subnet of `address` 172\.17\.250\.3\/16/);
        await t.stack.removeConfig("hostnet:gateway");
        assert.equal(await dockerInspect(`hn-${stackName}-seed`), undefined);
    });

    it("preview announces the container, its attachment and the component", async () => {
        const preview = await t.stack.preview();
        assert.deepEqual(preview.changeSummary, { create: 4 });
    });

    it("up converges the host to the seed's procedure", async () => {
        const up = await t.stack.up();
        assert.equal(up.summary.result, "succeeded");
        outputs = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value]));
        assert.equal(outputs.container, `hn-${stackName}-seed`);
        assert.equal(outputs.address, "172.17.250.3/16");
        assert.equal(outputs.gateway, "172.17.0.1");

        const c = await dockerInspect(outputs.container);
        assert.equal(c.State.Running, true);
        assert.equal(c.HostConfig.NetworkMode, "none");
        assert.equal(c.Config.Labels["io.hostnet.owner"], owner("seed"));

        const host = await ipLink(outputs.hostInterface);
        assert.ok(host, `host end ${outputs.hostInterface} exists`);
        assert.equal(host.master, "docker0");
        assert.equal(host.ifalias, owner("seed-eth0"));
        const bridgeLinks = (await sh(["bridge", "-j", "link", "show"])).stdout;
        assert.ok(JSON.parse(bridgeLinks).some((l: any) => l.ifname === outputs.hostInterface && l.master === "docker0"));

        const pid = await containerPid(outputs.container);
        const eth0 = await ipLink("eth0", pid);
        assert.equal(eth0?.ifindex, host.link_index);
        assert.deepEqual(ipv4Of(eth0), ["172.17.250.3/16"]);
        assert.deepEqual((await ipDefaultRoutes(pid)).map((r) => [r.gateway, r.dev]), [["172.17.0.1", "eth0"]]);
        assert.deepEqual((await ipLinks(pid)).map((l) => l.ifname).sort(), ["eth0", "lo"]);

        assert.ok(await ping("172.17.250.3"), "the host reaches the container");
        const fromContainer = await sh(["docker", "exec", outputs.container, "ping", "-c", "1", "-W", "2", "172.17.0.1"], { reject: false });
        assert.equal(fromContainer.exitCode, 0, "the container reaches the bridge");
    });

    it("a second preview and up report no changes", async () => {
        assert.deepEqual((await t.stack.preview()).changeSummary, { same: 4 });
        const up = await t.stack.up();
        assert.deepEqual(up.summary.resourceChanges, { same: 4 });
    });

    it("refresh sees an address removed by hand; up puts it back in place", async () => {
        const pid = await containerPid(outputs.container);
        const ifindex = (await ipLink(outputs.hostInterface))!.ifindex;
        await sh(["nsenter", "-t", String(pid), "-n", "ip", "addr", "del", "172.17.250.3/16", "dev", "eth0"]);
        const refresh = await t.stack.refresh();
        assert.equal(refresh.summary.resourceChanges?.update, 1);
        assert.deepEqual((await t.stack.preview()).changeSummary, { same: 3, update: 1 });
        await t.stack.up();
        assert.deepEqual(ipv4Of(await ipLink("eth0", pid)), ["172.17.250.3/16"]);
        assert.deepEqual((await ipDefaultRoutes(pid)).map((r) => r.gateway), ["172.17.0.1"]);
        assert.equal((await ipLink(outputs.hostInterface))!.ifindex, ifindex, "repaired, not recreated");
    });

    it("a new address is an in-place update, previewed as such", async () => {
        const ifindex = (await ipLink(outputs.hostInterface))!.ifindex;
        await t.stack.setConfig("hostnet:address", { value: "172.17.250.4/16" });
        assert.deepEqual((await t.stack.preview()).changeSummary, { same: 3, update: 1 });
        await t.stack.up();
        const pid = await containerPid(outputs.container);
        assert.deepEqual(ipv4Of(await ipLink("eth0", pid)), ["172.17.250.4/16"]);
        assert.equal((await ipLink(outputs.hostInterface))!.ifindex, ifindex);
        assert.ok(await ping("172.17.250.4"));
    });

    it("destroy leaves nothing of the stack's on the host", async () => {
        const destroy = await t.stack.destroy();
        assert.equal(destroy.summary.resourceChanges?.delete, 4);
        assert.equal(await dockerInspect(outputs.container), undefined);
        assert.equal(await ipLink(outputs.hostInterface), undefined);
        assert.ok(!(await ipLinks()).some((l) => l.ifalias?.startsWith(`hostnet/hostnet/${stackName}/`)));
        const ours = (await sh(["docker", "ps", "-aq", "--filter", `label=io.hostnet.owner=${owner("seed")}`])).stdout.trim();
        assert.equal(ours, "");
        assert.deepEqual((await sh(["ip", "netns", "list"])).stdout.trim(), "", "no netns links were ever made");
        const locks = join(t.stateDir, ".pulumi", "locks");
        assert.deepEqual(filesUnder(locks), [], "no state lock is left");
    });
});
