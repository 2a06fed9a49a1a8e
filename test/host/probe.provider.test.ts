// The Probe provider against real containers: icmp, tcp and udp from one
// container's namespace to another's, each outcome (reachable, refused,
// blocked) made real on the host (a service listening or not, a Policy
// dropping, a link set down by hand), and what `create` (an up) and `read`
// (a refresh) do with it.

import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { ProbeInputs, ProbeOutputs } from "../../components/src/common/specs/probe";
import { bridgeProvider } from "../../components/src/engine/providers/bridge";
import { policyProvider } from "../../components/src/engine/providers/policy";
import { probeProvider } from "../../components/src/engine/providers/probe";
import { vethAttachmentProvider } from "../../components/src/engine/providers/vethAttachment";
import { containerPid, RUN, RUN_OWNER, sh, startTestContainer, sweepRun, uniqueSuffix, unusedSubnets } from "../helpers/host";
import { forTests } from "../helpers/providers";

const probes = forTests(probeProvider);
const policies = forTests(policyProvider);
const bridges = forTests(bridgeProvider);
const attachments = forTests(vethAttachmentProvider);

/** A UDP echo service in `pid`'s namespace on `port` (node's dgram, run by the host's node through nsenter). */
function udpEcho(pid: number, port: number): ChildProcess {
    const code = `const s=require("dgram").createSocket("udp4");s.on("message",(m,r)=>s.send(m,r.port,r.address));s.bind(${port});`;
    return spawn("nsenter", ["--target", String(pid), "--net", "--", process.execPath, "-e", code], { stdio: "ignore" });
}

describe("Probe provider on the real host", function () {
    const sfx = uniqueSuffix();
    const lan = `hnt-rl-${sfx}`;
    const ctr = (n: string) => `hnt-r${n}-${sfx}-${RUN}`;
    const pid: Record<string, number> = {};
    let net: string;
    let hostEndB: string;
    const services: ChildProcess[] = [];
    const owner = (n: string) => `${RUN_OWNER}probe/${n}-${sfx}`;
    const probe = (n: string, over: Partial<ProbeInputs>): ProbeInputs => ({
        from: ctr("a"),
        fromName: "a",
        to: { address: `${net}.11` },
        protocol: "icmp",
        expect: "reachable",
        timeoutSeconds: 1,
        owner: owner(n),
        ...over,
    });

    before(async () => {
        net = (await unusedSubnets(1))[0].split(".").slice(0, 3).join(".");
        await bridges.create({ name: lan, addresses: [`${net}.1/24`], up: true, forward: true, owner: `${RUN_OWNER}probe-lan-${sfx}` });
        for (const [i, n] of ["a", "b"].entries()) {
            pid[n] = await containerPid(await startTestContainer(ctr(n)));
            const made = await attachments.create({
                container: ctr(n),
                bridge: lan,
                address: `${net}.${10 + i}/24`,
                defaultRoute: false,
                containerIfName: "eth0",
                hostIfName: `hnt-r${n}-${sfx}`,
                owner: `${RUN_OWNER}probe-att-${n}-${sfx}`,
            });
            if (n === "b") hostEndB = made.outs.hostIfName;
        }
        await sh(["docker", "exec", "-d", ctr("b"), "httpd", "-f", "-p", "8080", "-h", "/"]);
        services.push(udpEcho(pid.b, 5353));
        await new Promise((r) => setTimeout(r, 500));
    });

    after(async () => {
        for (const s of services) s.kill("SIGKILL");
        await sweepRun();
    });

    it("icmp, tcp and udp to a listening peer: create holds (reachable), recording the address and what the tool said", async () => {
        for (const [n, over] of [
            ["icmp", {}],
            ["tcp", { protocol: "tcp", port: 8080 }],
            ["udp", { protocol: "udp", port: 5353 }],
        ] as const) {
            const made = await probes.create(probe(n, over as Partial<ProbeInputs>));
            assert.deepEqual([made.outs.outcome, made.outs.address], ["reachable", `${net}.11`], n);
            assert.ok(made.outs.detail.length > 0);
        }
    });

    it("a port nothing listens on is `refused` (tcp reset, ICMP port unreachable): the up fails naming the probe, whatever it expected", async () => {
        await assert.rejects(
            probes.create(probe("tcp-closed", { protocol: "tcp", port: 8081 })),
            new RegExp(
                `failed to check Probe "tcp-closed-${sfx}": expected tcp from container "a" to ${net.replace(/\./g, "\\.")}\\.11:8081 to be reachable, but it is refused \\(.*Connection refused\\); the path is open but nothing answers`,
            ),
        );
        await assert.rejects(
            probes.create(probe("udp-closed", { protocol: "udp", port: 5354, expect: "blocked" })),
            /to be blocked, but it is refused \(an ICMP error answered the datagram/,
        );
    });

    it("`expect: blocked` fails while the path is open; holds once a Policy drops it (and `reachable` then fails, saying blocked)", async () => {
        await assert.rejects(
            probes.create(probe("blocked", { expect: "blocked" })),
            /to be blocked, but it is reachable \(echo reply from/,
        );
        const table = `hnt_${RUN}_${sfx}`;
        const rules = [{ action: "deny" as const, from: { container: ctr("a"), name: "a" }, to: { container: ctr("b"), name: "b" } }];
        const made = await policies.create({ table, rules, isolate: [], owner: `${RUN_OWNER}probe-policy-${sfx}` });
        try {
            const held = await probes.create(probe("blocked", { expect: "blocked" }));
            assert.equal(held.outs.outcome, "blocked");
            await assert.rejects(
                probes.create(probe("reachable", { protocol: "tcp", port: 8080 })),
                /to be reachable, but it is blocked \(.*timed out/,
            );
        } finally {
            await policies.delete(table, made.outs);
        }
    });

    it("a container as the target: the probe goes to its address on the subnet both share", async () => {
        const made = await probes.create(probe("ctr", { to: { container: ctr("b"), name: "b" }, protocol: "tcp", port: 8080 }));
        assert.equal(made.outs.address, `${net}.11`);
        const diff = await probes.diff(
            made.id,
            made.outs,
            probe("ctr", { to: { container: ctr("b"), name: "b" }, protocol: "tcp", port: 8080 }),
        );
        assert.equal(diff.changes, false, "the same probe again: nothing to run");
    });

    it("refresh: a path broken by hand reads as drift (`expect` is what it does now); once repaired, update holds again", async () => {
        const want = probe("drift", {});
        let outs: ProbeOutputs = (await probes.create(want)).outs;
        assert.deepEqual((await probes.read(outs.owner, outs)).props, outs, "nothing changed: read gives back the same");
        await sh(["ip", "link", "set", "dev", hostEndB, "down"]);
        try {
            const read = await probes.read(outs.owner, outs);
            assert.deepEqual([read.props.expect, read.props.outcome], ["blocked", "blocked"]);
            const diff = await probes.diff(outs.owner, read.props, want);
            assert.deepEqual([diff.changes, diff.replaces], [true, []]);
            await assert.rejects(probes.update(outs.owner, read.props, want), /to be reachable, but it is blocked/);
        } finally {
            await sh(["ip", "link", "set", "dev", hostEndB, "up"]);
        }
        outs = (await probes.update(outs.owner, outs, want)).outs;
        assert.equal(outs.outcome, "reachable");
    });

    it("check refuses a target off this host's own networks (a route via a gateway), sending nothing", async () => {
        const hostDefault = (await sh(["ip", "-j", "route", "show", "default"])).stdout;
        const checked = await probes.check({}, probe("off", { to: { address: "198.51.100.1" } }));
        if (JSON.parse(hostDefault || "[]").length > 0) {
            assert.match(
                checked.failures![0].reason,
                /`to` 198\.51\.100\.1 is not on this host's own networks \(it is routed via the gateway [0-9.]+\): a probe sends traffic only between this host's containers and addresses/,
            );
        } else {
            assert.match(
                checked.failures![0].reason,
                /`to` 198\.51\.100\.1 is not on this host's own networks \(there is no route to it\)/,
            );
        }
        assert.deepEqual((await probes.check({}, probe("ok", {}))).failures, []);
    });
});
