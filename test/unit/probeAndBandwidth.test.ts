// The Probe's and the bandwidth's pure parts (targets, rates, sizes, checks
// and their messages), and the Probe component under mocks: its inputs, and
// that it runs after what makes the network it checks, and again when that
// changes. Proof limit: nothing here sends a packet or runs tc
// (test/host/probe.provider.test.ts and bandwidth.provider.test.ts do).

import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import {
    bandwidthNumbers,
    bandwidthText,
    checkBandwidth,
    checkLinkBandwidth,
    parseRate,
    parseSize,
    sameBandwidth,
} from "../../components/src/common/specs/bandwidth";
import { checkProbeInputs, parseHostPort, probeText } from "../../components/src/common/specs/probe";
import { ifbOf } from "../../components/src/engine/bandwidth";
import { offHostText } from "../../components/src/engine/providers/probe";
import { recordingMocks, Registration, settle, registrationOf } from "../helpers/mocks";

describe("probe: targets and checks", () => {
    it("reads address, address:port and [v6]:port; refuses names and bad ports", () => {
        assert.deepEqual(parseHostPort("10.0.0.5"), { address: "10.0.0.5" });
        assert.deepEqual(parseHostPort("10.0.0.5:80"), { address: "10.0.0.5", port: 80 });
        assert.deepEqual(parseHostPort("FD00::5"), { address: "fd00::5" });
        assert.deepEqual(parseHostPort("[fd00::5]:443"), { address: "fd00::5", port: 443 });
        for (const bad of ["web", "web:80", "10.0.0.5:0", "10.0.0.5:70000", "[10.0.0.5]:80"])
            assert.equal(parseHostPort(bad), undefined, bad);
    });

    it("checks each field, naming it", () => {
        const base = { from: "cli", to: { address: "10.0.0.5" }, protocol: "icmp", expect: "reachable", timeoutSeconds: 2, owner: "o" };
        assert.deepEqual(checkProbeInputs(base), []);
        const reasons = (over: Record<string, unknown>) => checkProbeInputs({ ...base, ...over }).map((f) => `${f.property}: ${f.reason}`);
        assert.deepEqual(reasons({ protocol: "tcp" }), [
            'port: `port` is required with tcp: the port the probe connects to (or "address:port" in `to`)',
        ]);
        assert.deepEqual(reasons({ port: 80 }), [
            "port: `port` goes with tcp or udp; icmp has no ports (set `protocol`, or drop the port)",
        ]);
        assert.deepEqual(reasons({ expect: "open" }), ['expect: `expect` must be "reachable" or "blocked"; got "open"']);
        assert.deepEqual(reasons({ timeoutSeconds: 0 }), [
            "timeoutSeconds: `timeoutSeconds` must be a whole number of seconds from 1 to 60; got 0",
        ]);
        assert.deepEqual(reasons({ to: { address: "10.0.0.5/24" } }), [
            'to: `to` must be an IPv4 or IPv6 address (without prefix length), or "address:port"; got "10.0.0.5/24"',
        ]);
    });

    it("refuses a target off this host's networks with what to do, and keeps only the reason in a run's detail", () => {
        const text = offHostText("198.51.100.1", "10.0.0.1");
        assert.equal(
            text,
            "198.51.100.1 is not on this host's own networks (it is routed via the gateway 10.0.0.1): a probe sends traffic only between this host's containers and addresses; point `to` at an address of this host's containers, bridges or networks",
        );
        assert.match(
            offHostText("2001:db8::1", undefined),
            /^2001:db8::1 is not on this host's own networks \(there is no route to it\): .*; point `to` at /,
        );
    });

    it("says what it probes, with IPv6 addresses in brackets before a port", () => {
        assert.equal(
            probeText({ protocol: "tcp", from: "id", fromName: "cli", to: { container: "id2", name: "web" }, port: 80 }, "10.1.0.20"),
            'tcp from container "cli" to 10.1.0.20:80 (container "web")',
        );
        assert.equal(
            probeText({ protocol: "udp", from: "cli", to: { address: "fd00::5" }, port: 53 }),
            'udp from container "cli" to [fd00::5]:53',
        );
    });
});

describe("bandwidth: rates, sizes and checks", () => {
    it("rates in bits per second (tc's units, powers of 1000), sizes in bytes (powers of 1024)", () => {
        assert.deepEqual(["10mbit", "1.5gbit", "64kbit", "800bit", 2_000_000, "10Mbps", "fast"].map(parseRate), [
            1e7,
            1.5e9,
            64000,
            800,
            2e6,
            undefined,
            undefined,
        ]);
        assert.deepEqual(["64kb", "1mb", "1500", 2048, "2k"].map(parseSize), [65536, 1048576, 1500, 2048, undefined]);
    });

    it("fills the burst in (10 ms at the rate, at least 16 kb) and compares as tc keeps it (whole bytes per second, burst within 1%)", () => {
        assert.deepEqual(bandwidthNumbers({ egressRate: "2mbit" }), { egressRate: 2e6, burst: 16384 });
        assert.deepEqual(bandwidthNumbers({ ingressRate: "1gbit" }), { ingressRate: 1e9, burst: 1250000 });
        assert.ok(sameBandwidth({ egressRate: "2mbit", burst: "16kb" }, { egressRate: 2000000, burst: 16383 }));
        assert.ok(!sameBandwidth({ egressRate: "2mbit" }, { egressRate: "3mbit" }));
        assert.ok(!sameBandwidth({ egressRate: "2mbit" }, undefined));
        assert.ok(sameBandwidth(undefined, {}));
        assert.equal(bandwidthText({ ingressRate: "10mbit", egressRate: 2500, burst: "32kb" }), "in 10mbit, out 2500bit, burst 32768 B");
    });

    it("refuses, naming the field: bad rates and sizes, a burst alone, unknown settings, bad delay and loss", () => {
        assert.deepEqual(checkBandwidth("bandwidth", { egressRate: "10Mbps", burst: "1kb", color: "red" }), [
            "`bandwidth.color` is not a setting of bandwidth; remove it, or use one of ingressRate, egressRate, burst, delay, loss",
            '`bandwidth.egressRate` must be a rate from 1kbit to 100gbit: bits per second, or a number with bit, kbit, mbit or gbit ("10mbit"); got "10Mbps"',
            '`bandwidth.burst` must be a size from 2kb to 1024mb: bytes, or a number with b, kb or mb ("64kb"); got "1kb"',
        ]);
        assert.deepEqual(checkBandwidth("bandwidth", { burst: "64kb" }), [
            "`bandwidth.burst` goes with a rate: set `ingressRate` or `egressRate` too",
        ]);
        assert.deepEqual(checkBandwidth("a.bandwidth", { delay: "soon", loss: 120 }), [
            '`a.bandwidth.delay` must be a time like "20ms"; got "soon"',
            "`a.bandwidth.loss` must be a percentage from 0 to 100; got 120",
        ]);
    });

    it("a VethLink's ends may not both limit one direction", () => {
        assert.deepEqual(
            checkLinkBandwidth({ a: { bandwidth: { ingressRate: "1mbit" } }, b: { bandwidth: { egressRate: "2mbit" } } }).map(
                (f) => f.reason,
            ),
            ["`a.bandwidth.ingressRate` and `b.bandwidth.egressRate` both limit the traffic from b to a; set one of them"],
        );
        assert.deepEqual(
            checkLinkBandwidth({ a: { bandwidth: { ingressRate: "1mbit" } }, b: { bandwidth: { ingressRate: "2mbit" } } }),
            [],
        );
    });

    it("an attachment's ifb: a name of 15 characters and a MAC, both derived from its owner mark", () => {
        const ifb = ifbOf("hostnet/p/s/VethAttachment/a");
        assert.match(ifb.name, /^hn-ifb-[0-9a-f]{8}$/);
        assert.match(ifb.mac, /^02(:[0-9a-f]{2}){5}$/);
        assert.deepEqual(ifbOf("hostnet/p/s/VethAttachment/a"), ifb);
        assert.notEqual(ifbOf("hostnet/p/s/VethAttachment/b").name, ifb.name);
    });
});

describe("Probe under mocks: its inputs, what it runs after, and when it runs again", () => {
    let lib: typeof import("../../components/src");
    let registered: Registration[];

    const registration = (resource: { urn: import("@pulumi/pulumi").Output<string> }) => registrationOf(registered, resource);

    before(async () => {
        registered = await recordingMocks("proj", "stk");
        lib = await import("../../components/src");
    });

    it("from a Container to a Container with a port: tcp by default, the target by id and name; it waits for their attachments and the Policies", async () => {
        const image = "hostnet/busybox:1";
        const a = new lib.Container("qa", { image });
        const b = new lib.Container("qb", { image, network: { mode: "bridge" } });
        const probe = new lib.Probe("qa-qb", { from: a, to: b, port: 80 });
        const eth0 = new lib.VethAttachment("qa-eth0", { container: a, bridge: "docker0", address: "172.17.0.8/16" });
        const policy = new lib.Policy("qpol", { rules: [{ action: "deny", from: a, to: b }] });
        const r = await registration(probe);
        assert.deepEqual(
            {
                from: r.inputs.from,
                fromName: r.inputs.fromName,
                to: r.inputs.to,
                protocol: r.inputs.protocol,
                port: r.inputs.port,
                expect: r.inputs.expect,
            },
            { from: "qa-id", fromName: "qa", to: { container: "qb-id", name: "qb" }, protocol: "tcp", port: 80, expect: "reachable" },
        );
        assert.match(r.inputs.network, /^[0-9a-f]{16}$/);
        // Declared after it, all the same: the program's body had run when the probe looked.
        for (const dep of [eth0, policy])
            assert.ok(r.dependencies.includes(await settle(dep.urn)), "it runs after the attachment and the Policy");
        // The resources behind the digest are its dependencies already: the state lists them once, not again under `network`.
        assert.deepEqual(r.propertyDependencies.network, []);
    });

    it("a string target: address:port makes tcp, a bare address icmp; a name is refused with what to write instead", async () => {
        const tcp = await registration(new lib.Probe("q-tcp", { from: "c1", to: "10.9.0.5:8080" }));
        assert.deepEqual([tcp.inputs.to, tcp.inputs.protocol, tcp.inputs.port], [{ address: "10.9.0.5" }, "tcp", 8080]);
        const icmp = await registration(new lib.Probe("q-icmp", { from: "c1", to: "fd00::5", expect: "blocked" }));
        assert.deepEqual([icmp.inputs.to, icmp.inputs.protocol, icmp.inputs.expect], [{ address: "fd00::5" }, "icmp", "blocked"]);
        assert.throws(
            () => new lib.Probe("q-bad", { from: "c1", to: "web:80" }),
            /`to` "web:80" must be an address .*; name a container as \{ container: "web:80" \}/,
        );
        assert.throws(() => new lib.Probe("q-bad2", { from: "c1", to: "10.9.0.5", protocol: "udp" }), /`port` is required with udp/);
        // A port that is no number is refused as such (not as a missing port).
        assert.throws(
            () => new lib.Probe("q-bad3", { from: "c1", to: "10.9.0.5", port: "80" as unknown as number }),
            /invalid Probe "q-bad3":\n {2}- `port` must be a port from 1 to 65535; got "80"$/,
        );
    });

    it("the digest of what it checks: the same for two probes of one container, another once a Policy's rules differ", async () => {
        const x = new lib.Probe("qd-x", { from: "c9", to: "10.7.0.5" });
        const y = new lib.Probe("qd-y", { from: "c9", to: "10.7.0.6" });
        const [rx, ry] = [await registration(x), await registration(y)];
        assert.equal(rx.inputs.network, ry.inputs.network);
        new lib.Policy("qd-pol", { rules: [{ action: "deny", from: "10.7.0.0/24", protocol: "tcp", ports: [443] }] });
        const z = await registration(new lib.Probe("qd-z", { from: "c9", to: "10.7.0.7" }));
        assert.notEqual(z.inputs.network, rx.inputs.network, "a Policy more: another digest");
    });
});

describe("Probe and Policy at preview: a VethAttachment given `addresses` is targeted by its declared addresses, known", () => {
    let lib: typeof import("../../components/src");
    let registered: Registration[];

    const registration = (resource: { urn: import("@pulumi/pulumi").Output<string> }) => registrationOf(registered, resource);

    before(async () => {
        // As in `pulumi preview`: the attachment's state has `addresses` and no `address`, which a preview takes for unknown.
        registered = await recordingMocks("proj", "stk", undefined, true);
        lib = await import("../../components/src");
    });

    it("the Probe's target and the Policy's endpoint are the attachment's addresses (no unknown: a plan with no change plans nothing for them)", async () => {
        const image = "hostnet/busybox:1";
        const seed = new lib.Container("pv-seed", { image, network: { mode: "none" } });
        const cli = new lib.Container("pv-cli", { image, network: { mode: "bridge" } });
        const eth0 = new lib.VethAttachment("pv-eth0", {
            container: seed,
            bridge: "docker0",
            addresses: ["172.17.0.8/16", "FD17:AC11::8/64"],
        });
        const v4 = new lib.Probe("pv-v4", { from: cli, to: eth0 });
        const v6 = new lib.Probe("pv-v6", { from: cli, to: eth0, family: 6 });
        const policy = new lib.Policy("pv-pol", { rules: [{ action: "deny", from: cli, to: eth0 }] });
        assert.deepEqual((await registration(v4)).inputs.to, { address: "172.17.0.8", name: "pv-eth0" });
        assert.deepEqual(
            (await registration(v6)).inputs.to,
            { address: "fd17:ac11::8", name: "pv-eth0" },
            "canonical, as the host prints it",
        );
        const p = await registration(policy);
        assert.deepEqual(p.inputs.rules[0].to, { addresses: ["172.17.0.8", "fd17:ac11::8"], name: "pv-eth0" });
        assert.ok(p.dependencies.includes(await settle(eth0.urn)), "the Policy is written after the attachment all the same");
        assert.match((await registration(v4)).inputs.network, /^[0-9a-f]{16}$/, "the digest of what it checks is known too");
    });

    it("the digest of what it checks is unknown while an input of it is (the probe is planned to run again), with no property dependencies", async () => {
        const image = "hostnet/busybox:1";
        const c = new lib.Container("pu-c", { image, network: { mode: "none" } });
        const eth0 = new lib.VethAttachment("pu-eth0", {
            container: c,
            bridge: "docker0",
            address: pulumi.output(pulumi.unknown) as pulumi.Output<string>,
        });
        const r = await registration(new lib.Probe("pu-p", { from: c, to: "172.17.0.9" }));
        assert.deepEqual(r.unknownInputs, ["network"]);
        assert.deepEqual(r.propertyDependencies.network, []);
        assert.ok(r.dependencies.includes(await settle(eth0.urn)), "it runs after the attachment");
    });
});
