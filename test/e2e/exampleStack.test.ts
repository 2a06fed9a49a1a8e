// The example stack through the real engine, end to end, one case per
// `--net` mode, read back with the system's own tools (ip, docker, ping,
// /proc): preview -> up -> every mode checked -> no-change preview -> drift
// by hand -> refresh sees it -> up repairs it -> previews of changed programs
// show the right operation per resource -> in-place and replacing ups ->
// destroy -> nothing of the stack's left, adopted docker0 untouched.

import * as assert from "node:assert/strict";
import { readdirSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
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

/** The network namespace of a process (this test runs in the host's). */
function netnsOf(pid: number | "self"): string {
    return readlinkSync(`/proc/${pid}/ns/net`);
}

async function execPing(container: string, target: string): Promise<boolean> {
    return (await sh(["docker", "exec", container, "ping", "-c", "1", "-W", "2", target], { reject: false })).exitCode === 0;
}

async function fetchText(url: string): Promise<string> {
    for (let i = 0; i < 30; i++) {
        const body = await fetch(url).then((r) => r.text()).catch(() => "");
        if (body) return body;
        await new Promise((r) => setTimeout(r, 100));
    }
    return "";
}

describe("example stack through the real Pulumi engine", function () {
    const sfx = uniqueSuffix();
    const n = 1 + (parseInt(sfx.slice(0, 2), 16) % 250);
    const stackName = `e2e-${sfx}`;
    const ownerPrefix = `hostnet/hostnet/${stackName}/`;
    const owner = (type: string, name: string) => `${ownerPrefix}${type}/${name}`;
    const cname = (name: string) => `hn-${stackName}-${name}`;
    const webPort = 20000 + (parseInt(sfx.slice(2, 6), 16) % 20000);
    // Clear of Docker's own allocations on docker0, and of the example's defaults.
    const config = {
        "hostnet:address": "172.17.250.3/16",
        "hostnet:webPort": String(webPort),
        "hostnet:labSubnet": `10.210.${n}.0/24`,
        "hostnet:lanAddress": `10.220.${n}.1/24`,
    };
    let t: TestStack;
    let out: Record<string, any>;

    /**
     * The operation the preview plans for each resource, by type and name:
     * "update", "create", "delete" or "replace" (a replacement shows as several
     * steps, with or without deleting first: all are "replace" here).
     */
    async function plannedOps(): Promise<Record<string, string>> {
        const ops: Record<string, string> = {};
        await t.stack.preview({
            onEvent: (e: EngineEvent) => {
                const m = e.resourcePreEvent?.metadata;
                if (m && m.op !== "same" && !m.type.startsWith("pulumi:providers:")) {
                    const [type, name] = m.urn.split("::").slice(-2);
                    const replacing = ["replace", "create-replacement", "delete-replaced"].includes(m.op);
                    ops[`${type.split(":").pop()} ${name}`] = replacing ? "replace" : m.op;
                }
            },
        });
        return ops;
    }

    before(async () => {
        t = await exampleStack(stackName, config);
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

    it("bad configuration fails the preview with the field named, and touches nothing", async () => {
        await t.stack.setConfig("hostnet:address", { value: "172.17.250.300/16" });
        await assert.rejects(t.stack.preview(), /`address` must be an IPv4 address with its prefix length \(1-32\), like 172\.17\.0\.3\/16; got "172\.17\.250\.300\/16"/);
        await t.stack.setConfig("hostnet:address", { value: config["hostnet:address"] });
        await t.stack.setConfig("hostnet:gateway", { value: "10.0.0.1" });
        await assert.rejects(t.stack.preview(), /`gateway` 10\.0\.0\.1 is outside the subnet of `address` 172\.17\.250\.3\/16/);
        await t.stack.removeConfig("hostnet:gateway");
        const ours = (await sh(["docker", "ps", "-aq", "--filter", `name=hn-${stackName}-`])).stdout.trim();
        assert.equal(ours, "", "no container was created");
    });

    it("preview announces every resource, and up creates them", async () => {
        assert.deepEqual((await t.stack.preview()).changeSummary, { create: 22 });
        const up = await t.stack.up();
        assert.equal(up.summary.result, "succeeded");
        out = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value]));
        assert.equal(out.containers.seed, cname("seed"));
    });

    it("none + VethAttachment (the seed): eth0 on docker0 with the address and route; Docker gave it only lo", async () => {
        const c = await dockerInspect(cname("seed"));
        assert.equal(c.HostConfig.NetworkMode, "none");
        assert.equal(c.Config.Labels["io.hostnet.owner"], owner("DockerContainer", "seed"));
        const host = await ipLink(out.seedAttachment.hostInterface);
        assert.equal(host?.master, "docker0");
        assert.equal(host?.ifalias, owner("VethAttachment", "seed-eth0"));
        const bridged = JSON.parse((await sh(["bridge", "-j", "link", "show"])).stdout);
        assert.ok(bridged.some((l: any) => l.ifname === out.seedAttachment.hostInterface && l.master === "docker0"));
        const pid = await containerPid(cname("seed"));
        const links = await ipLinks(pid);
        assert.deepEqual(links.map((l) => l.ifname).sort(), ["eth0", "eth1", "lo"]);
        // Besides lo, only what the stack made: eth0 (peer of the marked host end) and eth1 (the marked link).
        assert.equal(links.find((l) => l.ifname === "eth1")?.ifalias, owner("VethLink", "seed-isolated"));
        const eth0 = links.find((l) => l.ifname === "eth0");
        assert.equal(eth0?.ifindex, host?.link_index);
        assert.deepEqual(ipv4Of(eth0), ["172.17.250.3/16"]);
        assert.deepEqual((await ipDefaultRoutes(pid)).map((r) => [r.gateway, r.dev]), [["172.17.0.1", "eth0"]]);
        assert.ok(await ping("172.17.250.3"), "the host reaches the seed");
        assert.ok(await execPing(cname("seed"), "172.17.0.1"), "the seed reaches the bridge");
    });

    it("bridge: web has an address in docker0's subnet, reachable from the host; its port answers on 127.0.0.1", async () => {
        const c = await dockerInspect(cname("web"));
        assert.equal(c.HostConfig.NetworkMode, "bridge");
        const address = c.NetworkSettings.Networks.bridge.IPAddress;
        assert.match(address, /^172\.17\./);
        assert.ok(await ping(address));
        assert.equal((await fetchText(`http://127.0.0.1:${webPort}/`)).trim(), "hostnet");
    });

    it("host: the container is in the host's network namespace", async () => {
        const pid = await containerPid(cname("hostns"));
        assert.equal(netnsOf(pid), netnsOf("self"));
    });

    it("container:web: the sidecar shares web's network namespace", async () => {
        const sidecar = await containerPid(cname("sidecar"));
        const web = await containerPid(cname("web"));
        assert.equal(netnsOf(sidecar), netnsOf(web));
        assert.notEqual(netnsOf(sidecar), netnsOf("self"));
    });

    it("user-defined network: static addresses, names resolve, isolated from docker0", async () => {
        const api = await dockerInspect(cname("api"));
        const ep = Object.values<any>(api.NetworkSettings.Networks)[0];
        assert.equal(ep.IPAddress, `10.210.${n}.10`);
        assert.equal(ep.NetworkID, out.networks[0].id);
        assert.ok(await execPing(cname("cli"), "api"), "cli reaches api by alias");
        assert.ok(await execPing(cname("cli"), cname("api")), "cli reaches api by name");
        assert.ok(!(await execPing(cname("cli"), "172.17.250.3")), "cli cannot reach the seed on docker0");
        const net = JSON.parse((await sh(["docker", "network", "inspect", out.networks[0].id])).stdout)[0];
        assert.equal(net.Labels["io.hostnet.owner"], owner("Network", "lab"));
        assert.deepEqual(net.IPAM.Config, [{ Subnet: `10.210.${n}.0/24`, Gateway: `10.210.${n}.1` }]);
    });

    it("NetworkAttachment: web is on the lab network too, reachable by its alias", async () => {
        const web = await dockerInspect(cname("web"));
        assert.equal(Object.values<any>(web.NetworkSettings.Networks).find((e) => e.NetworkID === out.networks[0].id)?.IPAddress, `10.210.${n}.20`);
        assert.ok(await execPing(cname("cli"), "www"));
    });

    it("Bridge: the stack's bridge carries isolated's veth; docker0 is recorded as adopted", async () => {
        const lan = await ipLink(out.bridges.lan.name);
        assert.equal(lan?.linkinfo?.info_kind, "bridge");
        assert.equal(lan?.ifalias, owner("Bridge", "lan"));
        assert.deepEqual(ipv4Of(lan), [`10.220.${n}.1/24`]);
        assert.equal(out.bridges.lan.adopted, false);
        assert.equal(out.bridges.docker0.adopted, true);
        assert.equal((await ipLink(out.bridges.lan.interfaces[0]))?.master, out.bridges.lan.name);
        assert.ok(await execPing(cname("isolated"), `10.220.${n}.1`));
    });

    it("VethLink: seed and isolated ping each other across the link, no bridge between", async () => {
        assert.ok(await execPing(cname("seed"), "10.30.0.2"));
        assert.ok(await execPing(cname("isolated"), "10.30.0.1"));
        const seedEth1 = await ipLink("eth1", await containerPid(cname("seed")));
        assert.equal(seedEth1?.master, undefined);
        assert.equal(seedEth1?.ifalias, owner("VethLink", "seed-isolated"));
    });

    it("a second preview and up report no changes", async () => {
        assert.deepEqual((await t.stack.preview()).changeSummary, { same: 22 });
        assert.deepEqual((await t.stack.up()).summary.resourceChanges, { same: 22 });
    });

    it("refresh sees an address removed by hand and a disconnect made by hand; up repairs both", async () => {
        const pid = await containerPid(cname("seed"));
        await sh(["nsenter", "-t", String(pid), "-n", "ip", "addr", "del", "172.17.250.3/16", "dev", "eth0"]);
        await sh(["docker", "network", "disconnect", out.networks[0].id, cname("api")]);
        const refresh = await t.stack.refresh();
        assert.equal(refresh.summary.resourceChanges?.update, 2);
        assert.deepEqual(await plannedOps(), { "VethAttachment seed-eth0": "update", "DockerContainer api": "update" });
        const apiId = (await dockerInspect(cname("api"))).Id;
        await t.stack.up();
        assert.deepEqual(ipv4Of(await ipLink("eth0", pid)), ["172.17.250.3/16"]);
        const api = await dockerInspect(cname("api"));
        assert.equal(api.Id, apiId, "api was reconnected, not recreated");
        assert.equal(Object.values<any>(api.NetworkSettings.Networks)[0]?.IPAddress, `10.210.${n}.10`);
    });

    it("previews of changed programs show update in place or replacement, per resource", async () => {
        await t.stack.setConfig("hostnet:address", { value: "172.17.250.4/16" });
        await t.stack.setConfig("hostnet:webLabHost", { value: "21" });
        assert.deepEqual(await plannedOps(), {
            "VethAttachment seed-eth0": "update",
            "NetworkAttachment web-lab": "update",
        });
        await t.stack.setConfig("hostnet:webPort", { value: String(webPort + 1) });
        assert.deepEqual(await plannedOps(), {
            "VethAttachment seed-eth0": "update",
            "NetworkAttachment web-lab": "replace",
            "DockerContainer web": "replace",
            "DockerContainer sidecar": "replace",
        });
        await t.stack.setConfig("hostnet:webPort", { value: String(webPort) });
        await t.stack.setConfig("hostnet:labSubnet", { value: `10.211.${n}.0/24` });
        const ops = await plannedOps();
        assert.equal(ops["Network lab"], "replace");
        assert.equal(ops["DockerContainer api"], "replace");
        assert.equal(ops["DockerContainer cli"], "replace");
        assert.equal(ops["NetworkAttachment web-lab"], "replace");
        assert.equal(ops["DockerContainer web"], undefined, "web itself stays");
        await t.stack.setConfig("hostnet:labSubnet", { value: config["hostnet:labSubnet"] });
    });

    it("an in-place up keeps every container; a replacing up brings dependents along", async () => {
        const webBefore = await dockerInspect(cname("web"));
        await t.stack.up();
        const webAfter = await dockerInspect(cname("web"));
        assert.equal(webAfter.Id, webBefore.Id);
        assert.equal(webAfter.State.StartedAt, webBefore.State.StartedAt, "web was not restarted");
        assert.equal(Object.values<any>(webAfter.NetworkSettings.Networks).find((e) => e.NetworkID === out.networks[0].id)?.IPAddress, `10.210.${n}.21`);
        assert.deepEqual(ipv4Of(await ipLink("eth0", await containerPid(cname("seed")))), ["172.17.250.4/16"]);

        await t.stack.setConfig("hostnet:webPort", { value: String(webPort + 1) });
        await t.stack.up();
        const web = await dockerInspect(cname("web"));
        assert.notEqual(web.Id, webBefore.Id, "web was replaced");
        assert.equal(netnsOf(await containerPid(cname("sidecar"))), netnsOf(web.State.Pid), "the sidecar follows the new web");
        assert.equal((await fetchText(`http://127.0.0.1:${webPort + 1}/`)).trim(), "hostnet");
        assert.ok(await execPing(cname("cli"), "www"), "web is back on the lab network");
    });

    it("destroy leaves nothing of the stack's on the host, and docker0 as it was", async () => {
        const docker0 = await ipLink("docker0");
        const destroy = await t.stack.destroy();
        assert.equal(destroy.summary.resourceChanges?.delete, 22);
        const containers = (await sh(["docker", "ps", "-aq", "--filter", `name=hn-${stackName}-`])).stdout.trim();
        assert.equal(containers, "");
        const networks = (await sh(["docker", "network", "ls", "-q", "--filter", `name=hn-${stackName}-`])).stdout.trim();
        assert.equal(networks, "");
        assert.ok(!(await ipLinks()).some((l) => l.ifalias?.startsWith(ownerPrefix)), "no interface of the stack's");
        assert.equal(await ipLink(out.bridges.lan.name), undefined, "the created bridge is gone");
        const after = await ipLink("docker0");
        assert.equal(after?.ifindex, docker0?.ifindex, "the adopted docker0 is still there");
        assert.deepEqual(ipv4Of(after), ipv4Of(docker0));
        assert.equal((await sh(["ip", "netns", "list"])).stdout.trim(), "", "no netns links were ever made");
        assert.deepEqual(filesUnder(join(t.stateDir, ".pulumi", "locks")), [], "no state lock is left");
    });
});
