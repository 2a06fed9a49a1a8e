// Bandwidth limits on real veths, measured: a transfer between two
// containers (nc from one namespace to the other, local addresses only, a
// byte count timed where it arrives) must not exceed the configured rate.
// A token bucket lets `burst` bytes through at once and then `rate`: over any
// interval T, at most burst + rate * T bytes (plus a packet) arrive, so
// (bytes - burst - 64 KiB) / T <= rate holds however loaded the machine is
// (load only makes T longer). That the limit is what slows the transfer, and
// not the machine, is shown by an unlimited transfer in the same run; when
// even that one is too slow to tell, the test is skipped, saying so. The
// qdiscs are read back with `tc -j`, the ifb with `ip -j`.

import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { parseRate, parseSize } from "../../components/src/common/specs/bandwidth";
import { VethAttachmentInputs, VethAttachmentOutputs } from "../../components/src/common/specs/vethAttachment";
import { VethLinkInputs } from "../../components/src/common/specs/vethLink";
import { ifbOf } from "../../components/src/engine/bandwidth";
import { bridgeProvider } from "../../components/src/engine/providers/bridge";
import { vethAttachmentProvider } from "../../components/src/engine/providers/vethAttachment";
import { vethLinkProvider } from "../../components/src/engine/providers/vethLink";
import { containerPid, ipLink, RUN, RUN_OWNER, sh, startTestContainer, sweepRun, uniqueSuffix, unusedSubnets } from "../helpers/host";
import { forTests } from "../helpers/providers";

const attachments = forTests(vethAttachmentProvider);
const links = forTests(vethLinkProvider);
const bridges = forTests(bridgeProvider);

interface Transfer {
    bytes: number;
    /** Seconds from the first byte's arrival to the last's. */
    seconds: number;
    /** Bits per second over that time. */
    rate: number;
}

/**
 * Sends `bytes` from `fromPid`'s namespace to `address`:`port`, received by
 * nc in `toPid`'s namespace; times the arrival. Bounded: fails after 120 s.
 */
async function transfer(fromPid: number, toPid: number, address: string, port: number, bytes: number): Promise<Transfer> {
    const receiver = spawn("nsenter", ["--target", String(toPid), "--net", "--", "nc.openbsd", "-l", "-n", String(port)], {
        stdio: ["ignore", "pipe", "ignore"],
    });
    let got = 0;
    let first = 0n;
    let last = 0n;
    const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
            () => reject(new Error(`failed to transfer ${bytes} bytes to ${address}:${port} within 120 s (got ${got})`)),
            120000,
        );
        receiver.stdout!.on("data", (chunk: Buffer) => {
            if (got === 0) first = process.hrtime.bigint();
            got += chunk.length;
            last = process.hrtime.bigint();
        });
        receiver.on("close", () => {
            clearTimeout(timer);
            resolve();
        });
    });
    await new Promise((r) => setTimeout(r, 300));
    const sender = spawn("nsenter", ["--target", String(fromPid), "--net", "--", "nc.openbsd", "-N", "-n", address, String(port)], {
        stdio: ["pipe", "ignore", "ignore"],
    });
    sender.stdin!.end(Buffer.alloc(bytes, 0x61));
    try {
        await done;
    } finally {
        sender.kill("SIGKILL");
        receiver.kill("SIGKILL");
    }
    assert.equal(got, bytes, "every byte arrived");
    const seconds = Number(last - first) / 1e9;
    return { bytes, seconds, rate: (bytes * 8) / seconds };
}

/** The bound a token bucket cannot break: what arrived beyond the burst (and a packet in flight) over the time it took. */
function assertWithinRate(t: Transfer, rate: number, burst: number, what: string): void {
    const beyond = ((t.bytes - burst - 65536) * 8) / t.seconds;
    console.log(
        `      measured (${what}): ${(t.rate / 1e6).toFixed(3)} Mbit/s over ${t.seconds.toFixed(2)} s for ${t.bytes} B; configured ${(rate / 1e6).toFixed(3)} Mbit/s (ratio ${(t.rate / rate).toFixed(3)}); beyond the burst ${(beyond / 1e6).toFixed(3)} Mbit/s`,
    );
    assert.ok(beyond <= rate * 1.05, `${what}: ${beyond.toFixed(0)} bit/s beyond the burst, over the configured ${rate}`);
}

/** tc keeps a burst as time at the rate: it gives back the size rounded (16384 -> 16383). */
function assertBurst(actual: number, expected: number): void {
    assert.ok(Math.abs(actual - expected) <= expected * 0.01, `burst ${actual}, expected about ${expected}`);
}

async function qdiscsOf(dev: string, pid?: number): Promise<any[]> {
    const argv = ["tc", "-j", "qdisc", "show", "dev", dev];
    return JSON.parse((await sh(pid === undefined ? argv : ["nsenter", "--target", String(pid), "--net", "--", ...argv])).stdout || "[]");
}

describe("bandwidth limits on the real host, measured", function () {
    const sfx = uniqueSuffix();
    const lan = `hnt-wl-${sfx}`;
    const ctr = (n: string) => `hnt-w${n}-${sfx}-${RUN}`;
    const pid: Record<string, number> = {};
    let net: string;
    const hostEnd = (n: string) => `hnt-w${n}-${sfx}`;
    const owner = (n: string) => `${RUN_OWNER}bandwidth-${n}-${sfx}`;
    let baseline: Transfer;
    const BYTES = 1_500_000;

    const attachment = (n: string, i: number, over: Partial<VethAttachmentInputs> = {}): VethAttachmentInputs => ({
        container: ctr(n),
        bridge: lan,
        address: `${net}.${10 + i}/24`,
        defaultRoute: false,
        containerIfName: "eth0",
        hostIfName: hostEnd(n),
        owner: owner(n),
        ...over,
    });

    before(async () => {
        net = (await unusedSubnets(1))[0].split(".").slice(0, 3).join(".");
        await bridges.create({ name: lan, addresses: [`${net}.1/24`], up: true, forward: true, owner: `${RUN_OWNER}bandwidth-lan-${sfx}` });
        for (const n of ["a", "b"]) pid[n] = await containerPid(await startTestContainer(ctr(n)));
        await attachments.create(attachment("b", 1));
    });

    after(async () => {
        await sweepRun();
    });

    it("without a limit, the same transfer runs far faster than any rate configured below (the baseline of this run)", async function () {
        const made = await attachments.create(attachment("a", 0));
        baseline = await transfer(pid.a, pid.b, `${net}.11`, 5001, BYTES);
        console.log(`      measured (no limit): ${(baseline.rate / 1e6).toFixed(1)} Mbit/s over ${baseline.seconds.toFixed(3)} s`);
        await attachments.delete(made.id, made.outs);
    });

    describe("VethAttachment", () => {
        let outs: VethAttachmentOutputs;
        const limited = { egressRate: "2mbit", ingressRate: "3mbit", burst: "16kb" };

        it("create: a tbf on the host end (what the container receives), an ifb with a tbf (what it sends), marked; tc -j reads them back", async () => {
            outs = (await attachments.create(attachment("a", 0, { bandwidth: limited }))).outs;
            const root = (await qdiscsOf(hostEnd("a"))).find((q) => q.root);
            assert.deepEqual([root.kind, root.options.rate], ["tbf", 3e6 / 8]);
            assertBurst(root.options.burst, 16384);
            assert.ok((await qdiscsOf(hostEnd("a"))).some((q) => q.kind === "ingress"));
            const ifb = ifbOf(owner("a"));
            const link = await ipLink(ifb.name);
            assert.equal(link?.ifalias, owner("a"));
            assert.equal(link?.linkinfo?.info_kind, "ifb");
            const shaped = (await qdiscsOf(ifb.name)).find((q) => q.root);
            assert.deepEqual([shaped.kind, shaped.options.rate], ["tbf", 2e6 / 8]);
            assertBurst(shaped.options.burst, 16384);
            const filters = JSON.parse((await sh(["tc", "-j", "filter", "show", "dev", hostEnd("a"), "parent", "ffff:"])).stdout);
            assert.ok(filters.some((f: any) => f.options?.actions?.some((x: any) => x.kind === "mirred" && x.to_dev === ifb.name)));
            assert.deepEqual((await attachments.read(outs.hostIfName, outs)).props, outs, "read finds what create made");
        });

        it("what the container sends stays within egressRate (measured a -> b)", async function () {
            const rate = parseRate(limited.egressRate)!;
            if (baseline.rate < rate * 3) this.skip();
            assertWithinRate(
                await transfer(pid.a, pid.b, `${net}.11`, 5002, BYTES),
                rate,
                parseSize(limited.burst)!,
                "egressRate through the ifb",
            );
        });

        it("what the container receives stays within ingressRate (measured b -> a)", async function () {
            const rate = parseRate(limited.ingressRate)!;
            if (baseline.rate < rate * 3) this.skip();
            assertWithinRate(
                await transfer(pid.b, pid.a, `${net}.10`, 5003, BYTES),
                rate,
                parseSize(limited.burst)!,
                "ingressRate on the host end",
            );
        });

        it("changed in place: the same veth and qdiscs, new rates; a limit removed by hand is drift that update puts back", async () => {
            const ifindex = (await ipLink(hostEnd("a")))!.ifindex;
            const handle = (await qdiscsOf(hostEnd("a"))).find((q) => q.root).handle;
            const faster = { ...limited, ingressRate: "5mbit" };
            const diff = await attachments.diff(outs.hostIfName, outs, attachment("a", 0, { bandwidth: faster }));
            assert.deepEqual([diff.changes, diff.replaces], [true, []]);
            outs = (await attachments.update(outs.hostIfName, outs, attachment("a", 0, { bandwidth: faster }))).outs;
            assert.equal((await ipLink(hostEnd("a")))!.ifindex, ifindex, "the same veth");
            const root = (await qdiscsOf(hostEnd("a"))).find((q) => q.root);
            assert.deepEqual([root.handle, root.options.rate], [handle, 5e6 / 8], "the same qdisc, its rate changed");

            await sh(["tc", "qdisc", "del", "dev", ifbOf(owner("a")).name, "root"]);
            const read = await attachments.read(outs.hostIfName, outs);
            const { burst, ...rates } = read.props.bandwidth as { burst: number };
            assert.deepEqual(rates, { ingressRate: 5e6 }, "read: the cap on what it sends is gone");
            assertBurst(burst, 16384);
            assert.equal((await attachments.diff(outs.hostIfName, read.props, attachment("a", 0, { bandwidth: faster }))).changes, true);
            outs = (await attachments.update(outs.hostIfName, read.props, attachment("a", 0, { bandwidth: faster }))).outs;
            assert.equal((await qdiscsOf(ifbOf(owner("a")).name)).find((q) => q.root).options.rate, 2e6 / 8, "put back");
            assert.deepEqual((await attachments.read(outs.hostIfName, outs)).props, outs);
        });

        it("removing the limit takes the qdiscs and the ifb away; delete leaves no ifb behind", async () => {
            outs = (await attachments.update(outs.hostIfName, outs, attachment("a", 0))).outs;
            assert.ok((await qdiscsOf(hostEnd("a"))).every((q) => q.kind !== "tbf" && q.kind !== "ingress"));
            assert.equal(await ipLink(ifbOf(owner("a")).name), undefined);
            outs = (await attachments.update(outs.hostIfName, outs, attachment("a", 0, { bandwidth: limited }))).outs;
            assert.ok(await ipLink(ifbOf(owner("a")).name));
            await attachments.delete(outs.hostIfName, outs);
            assert.equal(await ipLink(hostEnd("a")), undefined);
            assert.equal(await ipLink(ifbOf(owner("a")).name), undefined, "the ifb went with it");
        });
    });

    describe("VethLink", () => {
        const linkInputs = (over: Partial<VethLinkInputs["a"]> = {}): VethLinkInputs => ({
            a: { container: ctr("a"), ifName: "lk0", address: "10.31.0.1/30", ...over },
            b: { container: ctr("b"), ifName: "lk0", address: "10.31.0.2/30" },
            owner: `${RUN_OWNER}bandwidth-link-${sfx}`,
        });

        it("a.egressRate: a tbf on a's end, in a's namespace; what a sends over the link stays within it (measured)", async function () {
            const bandwidth = { egressRate: "2mbit", burst: "16kb" };
            const made = await links.create(linkInputs({ bandwidth }));
            try {
                const root = (await qdiscsOf("lk0", pid.a)).find((q) => q.root);
                assert.deepEqual([root.kind, root.options.rate], ["tbf", 2e6 / 8]);
                assert.deepEqual((await links.read(made.id, made.outs)).props, made.outs);
                if (baseline.rate < 2e6 * 3) this.skip();
                assertWithinRate(await transfer(pid.a, pid.b, "10.31.0.2", 5004, BYTES), 2e6, 16384, "a VethLink end's egressRate");
            } finally {
                await links.delete(made.id, made.outs);
            }
        });

        it("an end's ingressRate with the other end's egressRate is refused: both limit the same traffic", async () => {
            const inputs = linkInputs({ bandwidth: { ingressRate: "1mbit" } });
            inputs.b.bandwidth = { egressRate: "2mbit" };
            const checked = await links.check({}, inputs);
            assert.match(
                checked.failures![0].reason,
                /`a\.bandwidth\.ingressRate` and `b\.bandwidth\.egressRate` both limit the traffic from b to a; set one of them/,
            );
        });
    });

    it("delay and loss (netem) are refused at preview, saying why, on this host's kernel", async () => {
        const netem = await sh(["unshare", "--net", "--", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], {
            reject: false,
        });
        const checked = await attachments.check({}, attachment("a", 0, { bandwidth: { egressRate: "2mbit", delay: "20ms" } }));
        if (netem.exitCode !== 0) {
            assert.match(netem.stderr, /Specified qdisc kind is unknown/);
            assert.match(
                checked.failures![0].reason,
                /`bandwidth` asks for delay or loss, which need the kernel's netem qdisc \(sch_netem, CONFIG_NET_SCH_NETEM\), and this host's kernel has none/,
            );
        } else {
            assert.match(checked.failures![0].reason, /delay and loss \(netem\) are not applied by this version/);
        }
        assert.equal(await ipLink(hostEnd("a")), undefined, "nothing was made");
    });
});
