// The example stack through the real engine, end to end, one case per
// `--net` mode, read back with the system's own tools (ip, docker, ping,
// /proc): preview -> up -> every mode checked -> no-change preview -> drift
// by hand -> refresh sees it -> up repairs it -> previews of changed programs
// show the right operation per resource -> in-place and replacing ups ->
// destroy -> nothing of the stack's left, adopted docker0 untouched.
//
// The tests share one stack (an `up` of the example takes tens of seconds),
// but each stands on its own: `config` is what the stack should be, every
// test that needs the stack deployed starts with `converged()` (which runs
// `up` when the stack is not known to match `config`: before the first up,
// or after a test that failed), expects what `config` says rather than what
// an earlier test left, and a test that changes the stack records the change
// in `config`. A failed test puts the stack's config back to `config` and
// leaves the next one to re-converge: one failure does not cascade.
//
// The stack is dual-stack: every mode is checked over IPv6 too (`ip -j -6`,
// `docker inspect`, `ping -6` both ways across docker0, the lab network, the
// stack's bridge and the veth link).

import * as assert from "node:assert/strict";
import { readdirSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import {
    containerPid,
    dockerInspect,
    nftListTable,
    execPing,
    execPing6,
    freePort,
    ipDefaultRoutes,
    ipLink,
    ipLinks,
    ipv4Of,
    ipv6Addresses,
    ipv6Of,
    ping,
    ping6,
    RUN,
    runByte,
    sh,
    tcpConnects,
    unusedIpv6Subnets,
} from "../helpers/host";
import { EXAMPLE_PROBES, probeOps, updateOps, warningsOf, type Ops } from "../helpers/ops";
import { exampleStack, tearDown, TestStack } from "../helpers/pulumi";

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

async function fetchText(url: string): Promise<string> {
    for (let i = 0; i < 30; i++) {
        const body = await fetch(url)
            .then((r) => r.text())
            .catch(() => "");
        if (body) return body;
        await new Promise((r) => setTimeout(r, 100));
    }
    return "";
}

describe("example stack through the real Pulumi engine", function () {
    const n = runByte(4);
    // The run id in the stack name puts it into every owner mark (stale sweeps spare live runs).
    const stackName = `e2e-${RUN}`;
    const ownerPrefix = `hostnet/hostnet/${stackName}/`;
    const owner = (type: string, name: string) => `${ownerPrefix}${type}/${name}`;
    const cname = (name: string) => `hn-${stackName}-${name}`;
    // In docker0's lower half, which Docker does not hand out (scripts/start-docker.sh), clear of the example's defaults.
    const seedAt = (host: number) => `172.17.${70 + (n % 50)}.${host}`;
    // docker0's IPv6 /64 is fd17:ac11::/64; Docker's own addresses there are fd17:ac11::242:*.
    const seed6At = (host: number) => `fd17:ac11::${(70 + (n % 50)).toString(16)}:${host.toString(16)}`;
    let lab6 = "";
    let lan6 = "";
    /** What the stack's config is, and what the host should hold once `up` ran: tests that change the stack change it here too. */
    const config: Record<string, string> = {
        "hostnet:address": `${seedAt(n)}/16`,
        "hostnet:labSubnet": `10.210.${n}.0/24`,
        "hostnet:lanAddress": `10.220.${n}.1/24`,
        "hostnet:webLabHost": "20",
    };
    const ports: number[] = [];
    let t: TestStack;
    let netnsBefore: string;
    let out: Record<string, any>;
    /** True when the host is known to hold the stack as `config` says (an `up` of it succeeded, and no test failed since). */
    let isConverged = false;

    // What `config` says, in the forms the tests compare with.
    const seedIp = () => config["hostnet:address"].split("/")[0];
    const webPort = () => Number(config["hostnet:webPort"]);
    const webLabIp = () => `10.210.${n}.${config["hostnet:webLabHost"]}`;
    const lanGateway = () => config["hostnet:lanAddress"].split("/")[0];
    const seed6Ip = () => config["hostnet:address6"].split("/")[0];
    const lan6Gateway = () => config["hostnet:lanAddress6"].split("/")[0];
    /** The other of two values: a change from whatever the stack holds now. */
    const other = <T>(current: T, a: T, b: T): T => (current === a ? b : a);

    /** Runs `body` with stack config changed, restoring the config whatever happens. */
    async function withConfig(changes: Record<string, string>, body: () => Promise<void>): Promise<void> {
        try {
            for (const [k, v] of Object.entries(changes)) await t.stack.setConfig(k, { value: v });
            await body();
        } finally {
            for (const k of Object.keys(changes)) {
                if (k in config) await t.stack.setConfig(k, { value: config[k] });
                else await t.stack.removeConfig(k);
            }
        }
    }

    /** Sets stack config for good: in the stack and in `config`, the state the following tests expect. */
    async function changeConfig(changes: Record<string, string>): Promise<void> {
        for (const [k, v] of Object.entries(changes)) {
            config[k] = v;
            await t.stack.setConfig(k, { value: v });
        }
    }

    /** `up`, keeping its outputs for the tests that read them. */
    async function deploy(opts: { refresh?: boolean } = {}) {
        const up = await t.stack.up(opts);
        out = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value]));
        return up;
    }

    /** The stack as `config` says, on the host: deployed by the first test that needs it, or again after a failed test. */
    async function converged(): Promise<void> {
        if (isConverged) return;
        assert.equal((await deploy()).summary.result, "succeeded", "the stack converges before the test");
        isConverged = true;
    }

    /**
     * The operation the preview plans for each resource, by type and name:
     * "update", "create", "delete" or "replace". The refresh steps that the
     * project's `options: refresh: always` runs first are not counted.
     */
    async function plannedOps(): Promise<Ops> {
        const planned = updateOps();
        const warnings = warningsOf();
        await t.stack.preview({
            onEvent: (e) => {
                planned.onEvent(e);
                warnings.onEvent(e);
            },
        });
        lastWarnings = warnings.texts.map((w) => w.text);
        return planned.ops;
    }

    /** The warnings of the last preview of plannedOps (why the engine plans what it plans), for failure messages. */
    let lastWarnings: string[] = [];
    const why = () => `the preview warned:\n${lastWarnings.join("\n") || "(nothing)"}`;

    before(async () => {
        ports.push(await freePort(), await freePort());
        config["hostnet:webPort"] = String(ports[0]);
        const [labSubnet6, lanSubnet6] = await unusedIpv6Subnets(2);
        lab6 = labSubnet6.split("/")[0];
        lan6 = lanSubnet6.split("/")[0];
        config["hostnet:address6"] = `${seed6At(n)}/64`;
        config["hostnet:labSubnet6"] = labSubnet6;
        config["hostnet:lanAddress6"] = `${lan6}1/64`;
        netnsBefore = (await sh(["ip", "netns", "list"])).stdout;
        t = await exampleStack(stackName, config);
    });

    afterEach(async function () {
        if (this.currentTest?.state !== "failed") return;
        // A test that failed may have left the stack half-changed, its config too: the next test re-converges to `config`.
        isConverged = false;
        await t.stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, value]) => [k, { value }])));
    });

    after(() => tearDown(t, ownerPrefix));

    /** Everything of this stack's on the host, as docker and ip list it. */
    async function stackObjects(): Promise<string[]> {
        const containers = (await sh(["docker", "ps", "-aq", "--filter", `name=hn-${stackName}-`])).stdout.split("\n").filter(Boolean);
        const networks = (await sh(["docker", "network", "ls", "-q", "--filter", `name=hn-${stackName}-`])).stdout
            .split("\n")
            .filter(Boolean);
        const links = (await ipLinks()).filter((l) => l.ifalias?.startsWith(ownerPrefix)).map((l) => l.ifname);
        return [...containers, ...networks, ...links].sort();
    }

    it("bad configuration fails the preview with the field named, and touches nothing", async () => {
        const before = await stackObjects();
        await withConfig({ "hostnet:address": "172.17.250.300/16" }, async () => {
            await assert.rejects(
                t.stack.preview(),
                /`addresses\[0\]` must be an IPv4 address with its prefix length \(1-32\), like 172\.17\.0\.3\/16; got "172\.17\.250\.300\/16"/,
            );
        });
        await withConfig({ "hostnet:gateway": "10.0.0.1" }, async () => {
            await assert.rejects(
                t.stack.preview(),
                /`gateway` 10\.0\.0\.1 is outside the subnet of `addresses\[0\]` 172\.17\.\d+\.\d+\/16/,
            );
        });
        await withConfig({ "hostnet:address6": "fe80::5/64" }, async () => {
            await assert.rejects(
                t.stack.preview(),
                /`addresses\[1\]` "fe80::5\/64" is a link-local address: the kernel gives every interface one by itself; choose a global or unique local address/,
            );
        });
        assert.deepEqual(await stackObjects(), before, "no container, network or interface was created or removed");
    });

    it("preview announces every resource, and up creates them", async () => {
        assert.deepEqual((await t.stack.preview()).changeSummary, { create: 34 });
        const up = await deploy();
        assert.equal(up.summary.result, "succeeded");
        isConverged = true;
        assert.equal(out.containers.seed, cname("seed"));
    });

    it("none + VethAttachment (the seed): eth0 on docker0 with the address and route; Docker gave it only lo", async () => {
        await converged();
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
        assert.deepEqual(ipv4Of(eth0), [config["hostnet:address"]]);
        assert.deepEqual(
            (await ipDefaultRoutes(pid)).map((r) => [r.gateway, r.dev]),
            [["172.17.0.1", "eth0"]],
        );
        assert.ok(await ping(seedIp()), "the host reaches the seed");
        assert.ok(await execPing(cname("seed"), "172.17.0.1"), "the seed reaches the bridge");
    });

    it("none + VethAttachment, IPv6: the seed's eth0 has its IPv6 address (valid) beside its link-local one, and `::/0` via docker0's fd17:ac11::1", async () => {
        const pid = await containerPid(cname("seed"));
        const six = await ipv6Addresses("eth0", pid);
        assert.deepEqual(
            six.filter((a) => a.scope === "global").map((a) => [`${a.local}/${a.prefixlen}`, a.tentative ?? false]),
            [[`${seed6At(n)}/64`, false]],
        );
        assert.ok(
            six.some((a) => a.scope === "link"),
            "the kernel's link-local address",
        );
        assert.deepEqual(
            (await ipDefaultRoutes(pid, 6)).map((r) => [r.gateway, r.dev]),
            [["fd17:ac11::1", "eth0"]],
        );
        assert.equal(out.seedAttachment.ipv6Gateway, "fd17:ac11::1");
        assert.ok(await ping6(seed6At(n)), "the host reaches the seed over IPv6");
        assert.ok(await execPing6(cname("seed"), "fd17:ac11::1"), "the seed reaches docker0 over IPv6");
    });

    it("bridge: web has an address in docker0's subnet, reachable from the host; its port answers on 127.0.0.1", async () => {
        await converged();
        const c = await dockerInspect(cname("web"));
        assert.equal(c.HostConfig.NetworkMode, "bridge");
        const address = c.NetworkSettings.Networks.bridge.IPAddress;
        assert.match(address, /^172\.17\./);
        assert.ok(await ping(address));
        assert.equal((await fetchText(`http://127.0.0.1:${webPort()}/`)).trim(), "hostnet");
    });

    it("bridge, IPv6: web has Docker's IPv6 address on docker0; web and the seed ping each other over IPv6 across docker0, both ways", async () => {
        const web6 = (await dockerInspect(cname("web"))).NetworkSettings.Networks.bridge.GlobalIPv6Address;
        assert.match(web6, /^fd17:ac11::242:ac11:/, "derived from its MAC, in the part of docker0's /64 Docker keeps");
        assert.ok(await execPing6(cname("seed"), web6), "seed -> web");
        assert.ok(await execPing6(cname("web"), seed6At(n)), "web -> seed");
    });

    it("host: the container is in the host's network namespace", async () => {
        await converged();
        const pid = await containerPid(cname("hostns"));
        assert.equal(netnsOf(pid), netnsOf("self"));
    });

    it("container:web: the sidecar shares web's network namespace", async () => {
        await converged();
        const sidecar = await containerPid(cname("sidecar"));
        const web = await containerPid(cname("web"));
        assert.equal(netnsOf(sidecar), netnsOf(web));
        assert.notEqual(netnsOf(sidecar), netnsOf("self"));
    });

    it("user-defined network: static addresses, names resolve, isolated from docker0", async () => {
        await converged();
        const api = await dockerInspect(cname("api"));
        const ep = Object.values<any>(api.NetworkSettings.Networks)[0];
        assert.equal(ep.IPAddress, `10.210.${n}.10`);
        assert.equal(ep.NetworkID, out.networks[0].id);
        assert.ok(await execPing(cname("cli"), "api"), "cli reaches api by alias");
        assert.ok(await execPing(cname("cli"), cname("api")), "cli reaches api by name");
        assert.ok(!(await execPing(cname("cli"), seedIp())), "cli cannot reach the seed on docker0");
        const net = JSON.parse((await sh(["docker", "network", "inspect", out.networks[0].id])).stdout)[0];
        assert.equal(net.Labels["io.hostnet.owner"], owner("Network", "lab"));
        assert.deepEqual(net.IPAM.Config, [{ Subnet: `10.210.${n}.0/24`, Gateway: `10.210.${n}.1` }, { Subnet: `${lab6}/64` }]);
        assert.equal(net.EnableIPv6, true);
    });

    it("user-defined network, IPv6: static IPv6 addresses; api and cli ping each other over IPv6 across the Docker network, both ways", async () => {
        const ep = async (c: string) => Object.values<any>((await dockerInspect(cname(c))).NetworkSettings.Networks)[0];
        assert.equal((await ep("api")).GlobalIPv6Address, `${lab6}10`);
        assert.equal((await ep("cli")).GlobalIPv6Address, `${lab6}11`);
        assert.ok(await execPing6(cname("cli"), `${lab6}10`), "cli -> api");
        assert.ok(await execPing6(cname("api"), `${lab6}11`), "api -> cli");
    });

    it("NetworkAttachment: web is on the lab network too, reachable by its alias", async () => {
        await converged();
        const web = await dockerInspect(cname("web"));
        assert.equal(
            Object.values<any>(web.NetworkSettings.Networks).find((e) => e.NetworkID === out.networks[0].id)?.IPAddress,
            webLabIp(),
        );
        assert.ok(await execPing(cname("cli"), "www"));
        const ep = Object.values<any>(web.NetworkSettings.Networks).find((e) => e.NetworkID === out.networks[0].id);
        assert.equal(ep?.GlobalIPv6Address, `${lab6}20`, "its static IPv6 address");
        assert.equal(out.webOnLabIpv6Address, `${lab6}20`);
        assert.ok(await execPing6(cname("api"), `${lab6}20`), "api -> web over IPv6");
    });

    it("Bridge: the stack's bridge carries isolated's veth; docker0 is recorded as adopted", async () => {
        await converged();
        const lan = await ipLink(out.bridges.lan.name);
        assert.equal(lan?.linkinfo?.info_kind, "bridge");
        assert.equal(lan?.ifalias, owner("Bridge", "lan"));
        assert.deepEqual(ipv4Of(lan), [config["hostnet:lanAddress"]]);
        assert.deepEqual(await ipv6Of(out.bridges.lan.name), [config["hostnet:lanAddress6"]]);
        assert.equal(out.bridges.lan.adopted, false);
        assert.equal(out.bridges.docker0.adopted, true);
        assert.equal((await ipLink("docker0"))?.ifalias, undefined, "an adopted bridge gets no owner mark");
        assert.equal((await ipLink(out.bridges.lan.interfaces[0]))?.master, out.bridges.lan.name);
        assert.ok(await execPing(cname("isolated"), lanGateway()));
        assert.ok(await execPing6(cname("isolated"), lan6Gateway()), "isolated -> the bridge over IPv6");
        assert.ok(await ping6(`${lan6}2`), "the host -> isolated over IPv6, across the stack's bridge");
    });

    it("VethLink: seed and isolated ping each other across the link, no bridge between, over IPv4 and IPv6", async () => {
        await converged();
        assert.ok(await execPing(cname("seed"), "10.30.0.2"));
        assert.ok(await execPing(cname("isolated"), "10.30.0.1"));
        assert.ok(await execPing6(cname("seed"), "fd17:30::2"), "seed -> isolated over IPv6");
        assert.ok(await execPing6(cname("isolated"), "fd17:30::1"), "isolated -> seed over IPv6");
        const seedEth1 = await ipLink("eth1", await containerPid(cname("seed")));
        assert.equal(seedEth1?.master, undefined);
        assert.equal(seedEth1?.ifalias, owner("VethLink", "seed-isolated"));
    });

    it("Policy: cli cannot open web's port 80 (dropped in the stack's nftables table), api can; ping still works", async () => {
        await converged();
        const cli = await containerPid(cname("cli"));
        const api = await containerPid(cname("api"));
        const web = webLabIp();
        assert.equal(await tcpConnects(web, 80, cli), false, "cli -> web:80 is dropped");
        assert.ok(await tcpConnects(web, 80, api), "api -> web:80 gets through");
        assert.ok(await execPing(cname("cli"), "www"), "cli still pings web: only tcp/80 is denied");
        const listed = (await nftListTable(out.policyTable))!;
        assert.match(listed, new RegExp(`comment "${owner("Policy", "policy")}"`));
        assert.match(
            listed,
            /ip saddr @cli_v4 ip daddr @web_v4 tcp dport 80 counter packets [1-9]\d* bytes \d+ drop comment "cli may not use web"/,
        );
        assert.match(listed, new RegExp(`set web_v4 \\{[^}]*elements = \\{[^}]*${web.replace(/\./g, "\\.")}`));
    });

    it("Probes: every --net mode's path and the policy's hold as the program expects, and the up recorded them", async () => {
        await converged();
        assert.deepEqual(Object.keys(out.probeResults).sort(), [...EXAMPLE_PROBES]);
        const blocked = ["cli-seed", "cli-web"];
        for (const [name, outcome] of Object.entries(out.probeResults)) {
            assert.equal(outcome, blocked.includes(name) ? "blocked" : "reachable", name);
        }
    });

    it("a probe that does not hold fails the up, naming the probe and the pair; the next up with the program's rule holds again", async () => {
        await converged();
        const cli = await containerPid(cname("cli"));
        const web = webLabIp();
        await withConfig({ "hostnet:cliDeniedPorts": "443" }, async () => {
            // The Policy now drops 443 only: cli reaches web:80, which the probe cli-web expects blocked.
            await assert.rejects(t.stack.up(), (err: Error) => {
                assert.match(
                    err.message,
                    new RegExp(
                        `failed to check Probe "cli-web": expected tcp from container "cli" to ${web.replace(/\./g, "\\.")}:80 \\(container "web"\\) to be blocked, but it is reachable`,
                    ),
                );
                return true;
            });
            assert.ok(await tcpConnects(web, 80, cli), "the probe told the truth: cli -> web:80 gets through");
        });
        assert.equal((await deploy()).summary.result, "succeeded");
        assert.equal(await tcpConnects(web, 80, cli), false, "cli -> web:80 dropped again");
    });

    it("a second preview and up report no changes", async () => {
        await converged();
        assert.deepEqual(await plannedOps(), {}, why());
        assert.deepEqual((await deploy()).summary.resourceChanges, { same: 34 });
    });

    it("refresh sees an address removed by hand and a disconnect made by hand; up repairs both", async () => {
        await converged();
        const pid = await containerPid(cname("seed"));
        await sh(["nsenter", "-t", String(pid), "-n", "ip", "addr", "del", config["hostnet:address"], "dev", "eth0"]);
        await sh(["nsenter", "-t", String(pid), "-n", "ip", "addr", "del", config["hostnet:address6"], "dev", "eth0"]);
        await sh(["docker", "network", "disconnect", out.networks[0].id, cname("api")]);
        const refresh = await t.stack.refresh();
        // The probes of the paths through them see them broken: the seed's, and those to and from api.
        const broken = ["api-web", "cli-api", "seed-gateway", "seed-web", "web-seed"];
        assert.equal(refresh.summary.resourceChanges?.update, 2 + broken.length);
        assert.deepEqual(
            await plannedOps(),
            {
                "VethAttachment seed-eth0": "update",
                "DockerContainer api": "update",
                ...probeOps("update", broken),
            },
            why(),
        );
        const apiId = (await dockerInspect(cname("api"))).Id;
        await deploy();
        assert.deepEqual(ipv4Of(await ipLink("eth0", pid)), [config["hostnet:address"]]);
        assert.deepEqual(
            (await ipDefaultRoutes(pid)).map((r) => [r.gateway, r.dev]),
            [["172.17.0.1", "eth0"]],
            "the route is back too",
        );
        assert.deepEqual(await ipv6Of("eth0", pid), [config["hostnet:address6"]], "and the IPv6 address");
        assert.deepEqual(
            (await ipDefaultRoutes(pid, 6)).map((r) => r.gateway),
            ["fd17:ac11::1"],
        );
        assert.ok(await ping(seedIp()));
        assert.ok(await ping6(seed6Ip()));
        const api = await dockerInspect(cname("api"));
        assert.equal(api.Id, apiId, "api was reconnected, not recreated");
        assert.equal(Object.values<any>(api.NetworkSettings.Networks)[0]?.IPAddress, `10.210.${n}.10`);
        assert.ok(await execPing(cname("cli"), "api"));
    });

    it("previews of changed programs show update in place or replacement, per resource", async () => {
        await converged();
        const inPlace = {
            "hostnet:address": `${other(seedIp(), seedAt(n), seedAt(n + 1))}/16`,
            "hostnet:webLabHost": other(config["hostnet:webLabHost"], "20", "21"),
        };
        await withConfig(inPlace, async () => {
            // web's new address on lab changes the Policy (it counts the address before the up), so every probe runs again.
            assert.deepEqual(
                await plannedOps(),
                {
                    "VethAttachment seed-eth0": "update",
                    "NetworkAttachment web-lab": "update",
                    "Policy policy": "update",
                    ...probeOps("update"),
                },
                why(),
            );
        });
        await withConfig({ "hostnet:webPort": String(other(webPort(), ports[0], ports[1])) }, async () => {
            assert.deepEqual(
                await plannedOps(),
                {
                    "NetworkAttachment web-lab": "replace",
                    "DockerContainer web": "replace",
                    "DockerContainer sidecar": "replace",
                    "Policy policy": "update",
                    ...probeOps("update"),
                },
                why(),
            );
        });
        await withConfig({ "hostnet:labSubnet": `10.211.${n}.0/24` }, async () => {
            assert.deepEqual(
                await plannedOps(),
                {
                    "Network lab": "replace",
                    "DockerContainer api": "replace",
                    "DockerContainer cli": "replace",
                    "NetworkAttachment web-lab": "replace",
                    "Policy policy": "update",
                    ...probeOps("update"),
                },
                why(),
            );
        });
    });

    it("an in-place up keeps every container running as it was", async () => {
        await converged();
        const names = Object.values<string>(out.containers);
        const before = await Promise.all(names.map(async (c) => (await dockerInspect(c)).State.StartedAt + (await dockerInspect(c)).Id));
        await changeConfig({
            "hostnet:address": `${other(seedIp(), seedAt(n), seedAt(n + 1))}/16`,
            "hostnet:webLabHost": other(config["hostnet:webLabHost"], "20", "21"),
        });
        assert.deepEqual((await deploy()).summary.resourceChanges, { same: 20, update: 14 });
        const after = await Promise.all(names.map(async (c) => (await dockerInspect(c)).State.StartedAt + (await dockerInspect(c)).Id));
        assert.deepEqual(after, before, "no container was recreated or restarted");
        const web = await dockerInspect(cname("web"));
        assert.equal(
            Object.values<any>(web.NetworkSettings.Networks).find((e) => e.NetworkID === out.networks[0].id)?.IPAddress,
            webLabIp(),
        );
        assert.equal(
            Object.values<any>(web.NetworkSettings.Networks).find((e) => e.NetworkID === out.networks[0].id)?.GlobalIPv6Address,
            `${lab6}${config["hostnet:webLabHost"]}`,
        );
        assert.deepEqual(ipv4Of(await ipLink("eth0", await containerPid(cname("seed")))), [config["hostnet:address"]]);
        assert.ok(await ping(seedIp()));
    });

    it("new addresses on the stack's bridge move the default routes (IPv4 and IPv6) of the attachment on it, in the same preview and up", async () => {
        await converged();
        const lan = `10.220.${n}`;
        const defaultVia = async (family: 4 | 6) => {
            const pid = await containerPid(cname("isolated"));
            return (await ipDefaultRoutes(pid, family)).map((r) => `${r.gateway} ${r.dev}`);
        };
        assert.deepEqual(await defaultVia(4), [`${lanGateway()} eth0`]);
        assert.deepEqual(await defaultVia(6), [`${lan6Gateway()} eth0`]);
        await changeConfig({
            "hostnet:lanAddress": `${other(lanGateway(), `${lan}.1`, `${lan}.254`)}/24`,
            "hostnet:lanAddress6": `${other(lan6Gateway(), `${lan6}1`, `${lan6}fe`)}/64`,
        });
        // isolated's own addresses (.2, ::2) stay: only its gateways, the bridge's addresses, change.
        assert.deepEqual(
            await plannedOps(),
            {
                "Bridge lan": "update",
                "VethAttachment isolated-eth0": "update",
                "Probe isolated-lan": "update",
            },
            why(),
        );
        assert.deepEqual((await deploy()).summary.resourceChanges, { same: 31, update: 3 });
        assert.deepEqual(await defaultVia(4), [`${lanGateway()} eth0`]);
        assert.deepEqual(await defaultVia(6), [`${lan6Gateway()} eth0`]);
        assert.ok(await execPing(cname("isolated"), lanGateway()), "isolated reaches its new gateway");
        assert.ok(await execPing6(cname("isolated"), lan6Gateway()), "and its new IPv6 gateway");
        assert.deepEqual((await t.stack.preview()).changeSummary, { same: 34 }, "nothing left to do");
    });

    it("a replacing up brings dependents along: the sidecar follows the new web", async () => {
        await converged();
        const webBefore = await dockerInspect(cname("web"));
        await changeConfig({ "hostnet:webPort": String(other(webPort(), ports[0], ports[1])) });
        await deploy();
        const web = await dockerInspect(cname("web"));
        assert.notEqual(web.Id, webBefore.Id, "web was replaced");
        assert.equal(netnsOf(await containerPid(cname("sidecar"))), netnsOf(web.State.Pid), "the sidecar shares the new web's namespace");
        assert.equal((await fetchText(`http://127.0.0.1:${webPort()}/`)).trim(), "hostnet");
        assert.ok(await execPing(cname("cli"), "www"), "web is back on the lab network");
    });

    it("after a container restart, `up --refresh` gives it its veth attachment and link back", async () => {
        await converged();
        await sh(["docker", "restart", "-t", "0", cname("seed")]);
        const pid = await containerPid(cname("seed"));
        assert.equal(await ipLink("eth0", pid), undefined, "the veth went with the old namespace");
        await deploy({ refresh: true });
        assert.deepEqual(ipv4Of(await ipLink("eth0", pid)), [config["hostnet:address"]]);
        assert.deepEqual(ipv4Of(await ipLink("eth1", pid)), ["10.30.0.1/30"]);
        assert.deepEqual(await ipv6Of("eth0", pid), [config["hostnet:address6"]]);
        assert.deepEqual(await ipv6Of("eth1", pid), ["fd17:30::1/64"]);
        assert.ok(await ping(seedIp()));
        assert.ok(await execPing(cname("seed"), "10.30.0.2"));
        assert.ok(await execPing6(cname("seed"), "fd17:30::2"));
    });

    it("destroy leaves nothing of the stack's on the host, and docker0 as it was", async () => {
        await converged();
        const docker0 = await ipLink("docker0");
        const lanName = out.bridges.lan.name;
        isConverged = false;
        const destroy = await t.stack.destroy();
        assert.equal(destroy.summary.resourceChanges?.delete, 34);
        assert.deepEqual(await stackObjects(), [], "no container, network or interface of the stack's");
        assert.equal(await nftListTable(out.policyTable), undefined, "the policy's table is gone");
        assert.equal(await ipLink(lanName), undefined, "the created bridge is gone");
        const after = await ipLink("docker0");
        assert.ok(after, "the adopted docker0 is still there");
        for (const key of ["ifindex", "mtu", "address", "ifalias"] as const) assert.deepEqual(after[key], docker0?.[key], key);
        assert.deepEqual(ipv4Of(after), ipv4Of(docker0));
        assert.deepEqual(await ipv6Of("docker0"), ["fd17:ac11::1/64"], "docker0's own IPv6 address, as Docker set it");
        // Other suites' test beds (hntb-*) may come and go meanwhile; nothing else may appear.
        const names = (text: string) =>
            text
                .split("\n")
                .map((l) => l.split(" ")[0])
                .filter(Boolean);
        const appeared = names((await sh(["ip", "netns", "list"])).stdout).filter(
            (n) => !names(netnsBefore).includes(n) && !n.startsWith("hntb-"),
        );
        assert.deepEqual(appeared, [], "no netns links were made");
        assert.deepEqual(filesUnder(join(t.stateDir, ".pulumi", "locks")), [], "no state lock is left");
    });
});
