// The host layer through the real netlink helper, for what the other host
// suites do not reach: IPv6 (addresses, default routes of each family,
// duplicate address detection), errno-level causes, a helper that dies
// mid-run, and the same operations through `ip` (HOSTNET_HELPER=off) giving
// the same host. Everything runs in throw-away namespaces (`unshare --net`,
// gone with their process: nothing to clean up, nothing shared), and is read
// back with `ip -j`, never through the code under test.

import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { ExistsError, HostCommandError, NamespaceGoneError, NotFoundError } from "../../components/src/host/errors";
import { helperPath, helperPid, localHelper, setHelperTransport, stopHelper } from "../../components/src/host/helper";
import * as ip from "../../components/src/host/ip";
import * as sysctl from "../../components/src/host/sysctl";
import { sh } from "../helpers/host";

function holdNamespace(): ChildProcess {
    return spawn("unshare", ["--net", "sleep", "600"], { stdio: "ignore" });
}

async function ipJson(pid: number, args: string[]): Promise<any[]> {
    const { stdout } = await sh(["nsenter", "--target", String(pid), "--net", "--", "ip", "-j", ...args]);
    return stdout.trim() ? JSON.parse(stdout) : [];
}

describe("the netlink helper on the real kernel: IPv6, DAD, errno causes, restarts", function () {
    const held: ChildProcess[] = [];
    let a: number;
    let b: number;
    let previousTransport: ReturnType<typeof setHelperTransport>;
    let previousMode: string | undefined;

    before(async () => {
        previousTransport = setHelperTransport(undefined);
        previousMode = process.env.HOSTNET_HELPER;
        delete process.env.HOSTNET_HELPER;
        assert.ok(localHelper(), `the helper is built (${helperPath()}): run \`npm run setup\``);
        const [ha, hb] = [holdNamespace(), holdNamespace()];
        held.push(ha, hb);
        await new Promise((r) => setTimeout(r, 300));
        [a, b] = [ha.pid!, hb.pid!];
        for (const pid of [a, b]) await sh(["nsenter", "--target", String(pid), "--net", "--", "ip", "link", "set", "lo", "up"]);
    });

    after(() => {
        stopHelper();
        setHelperTransport(previousTransport);
        if (previousMode === undefined) delete process.env.HOSTNET_HELPER;
        else process.env.HOSTNET_HELPER = previousMode;
        for (const p of held) p.kill("SIGKILL");
    });

    it("makes a veth pair across two namespaces with IPv4 and IPv6 addresses and a default route of each family", async () => {
        await ip.runIp("make the pair", [ip.addVeth({ local: { name: "va", pid: a }, peer: { name: "vb", pid: b }, mtu: 1400 })], a);
        await ip.runIp(
            "address a",
            [ip.addAddress("va", "10.61.0.1/24"), ip.addAddress("va", "fd61::1/64"), ip.setLink("va", { up: true })],
            a,
        );
        await ip.runIp(
            "address b",
            [
                ip.addAddress("vb", "10.61.0.2/24"),
                ip.addAddress("vb", "fd61::2/64"),
                ip.setLink("vb", { up: true }),
                ip.addDefaultRoute("vb", "10.61.0.1"),
            ],
            b,
        );
        await ip.settleAddresses("vb", b);
        await ip.settleAddresses("va", a);
        // DAD is done: the IPv6 default route can use the address (and the address is not tentative).
        await ip.runIp("route b", [ip.addDefaultRoute("vb", "fd61::1")], b);

        const [vb] = await ipJson(b, ["addr", "show", "dev", "vb"]);
        const global = vb.addr_info.filter((x: any) => x.scope === "global");
        assert.deepEqual(
            global.map((x: any) => `${x.local}/${x.prefixlen}`),
            ["10.61.0.2/24", "fd61::2/64"],
        );
        assert.ok(
            global.every((x: any) => !x.tentative),
            "no global address is tentative",
        );
        assert.equal(vb.mtu, 1400);
        assert.deepEqual(
            (await ipJson(b, ["-4", "route", "show", "default"])).map((r) => [r.gateway, r.dev]),
            [["10.61.0.1", "vb"]],
        );
        assert.deepEqual(
            (await ipJson(b, ["-6", "route", "show", "default"])).map((r) => [r.gateway, r.dev]),
            [["fd61::1", "vb"]],
        );
        // The library reads the same through the helper.
        assert.deepEqual(
            (await ip.getDefaultRoutes(b, 6)).map((r) => [r.gateway, r.dev]),
            [["fd61::1", "vb"]],
        );
        const peer = (await ip.listLinksWithAddresses(b)).find((l) => l.ifname === "vb")!;
        const host = (await ip.getLink("va", a))!;
        assert.deepEqual([peer.link_index, host.link_index], [host.ifindex, peer.ifindex], "each end points at the other");
        assert.ok(
            (await sh(["nsenter", "--target", String(b), "--net", "--", "ping", "-6", "-c", "1", "-W", "2", "fd61::1"])).exitCode === 0,
        );
    });

    it("removes the IPv6 default route alone (family 6), then finds it gone (absent is success)", async () => {
        await ip.runIp("unroute b", [ip.deleteDefaultRoute("vb", 6), ip.deleteDefaultRoute("vb", 6)], b);
        assert.deepEqual(await ipJson(b, ["-6", "route", "show", "default"]), []);
        assert.equal((await ipJson(b, ["-4", "route", "show", "default"])).length, 1, "the IPv4 one stays");
    });

    it("classifies the kernel's errno into the typed errors, naming the operation as its ip command", async () => {
        const cause = async (p: Promise<unknown>) =>
            p.then(
                () => assert.fail("no error"),
                (e: unknown) => e as HostCommandError,
            );
        const exists = await cause(ip.runIp("add it again", [ip.addAddress("vb", "fd61::2/64")], b));
        assert.ok(exists instanceof ExistsError, String(exists));
        assert.equal(exists.errno, "EEXIST");
        assert.match(
            exists.message,
            /^failed to add it again: `nsenter --target \d+ --net -- ip addr add fd61::2\/64 dev vb`: file exists(: ipv6: address already assigned)? \(netlink: EEXIST\)$/,
        );
        const gone = await cause(ip.runIp("remove it", [{ ...ip.addAddress("nosuch", "fd61::9/64") }], b));
        assert.ok(gone instanceof NotFoundError && gone.errno === "ENODEV", String(gone));
        const routeExists = await cause(ip.runIp("route twice", [ip.addDefaultRoute("vb", "10.61.0.1")], b));
        assert.ok(routeExists instanceof ExistsError, String(routeExists));
        const dead = spawn("true");
        await new Promise((r) => dead.once("exit", r));
        const nsGone = await cause(ip.runIp("reach a dead process", [ip.setLink("lo", { up: true })], dead.pid!));
        assert.ok(nsGone instanceof NamespaceGoneError, String(nsGone));
    });

    it("DAD that finds a duplicate fails the wait, naming the address", async () => {
        // The address on one end first, in use once its DAD is done; then the same on the other end, whose DAD hears it.
        await ip.runIp("duplicate", [ip.addAddress("va", "fd61::77/64")], a);
        await ip.settleAddresses("va", a);
        await ip.runIp("duplicate", [ip.addAddress("vb", "fd61::77/64")], b);
        await assert.rejects(
            ip.settleAddresses("vb", b, 5000),
            /fd61::77\/64 on vb: duplicate address detected.*EADDRINUSE|dadfailed|duplicate/i,
        );
        const [vb] = await ipJson(b, ["addr", "show", "dev", "vb"]);
        assert.ok(
            vb.addr_info.some((x: any) => x.local === "fd61::77" && x.dadfailed),
            "ip shows it dadfailed",
        );
    });

    it("a helper that dies is started again by the next operation; the one under way fails as a HostCommandError", async () => {
        const before = await ip.getLink("vb", b);
        // Kill this process's helper (only ours: others run the same binary); the next request starts another.
        const pid = helperPid();
        assert.ok(pid, "a helper runs");
        process.kill(pid, "SIGKILL");
        await new Promise((r) => setTimeout(r, 100));
        let link = await ip.getLink("vb", b).catch((e: unknown) => e);
        if (link instanceof Error) {
            assert.ok(link instanceof HostCommandError, String(link));
            link = await ip.getLink("vb", b);
        }
        assert.deepEqual((link as ip.LinkInfo).ifindex, before!.ifindex);
    });

    it("the same plan through ip processes (HOSTNET_HELPER=off) makes the same host", async () => {
        const make = async (suffix: string) => {
            await ip.runIp(
                "pair",
                [ip.addVeth({ local: { name: `xa${suffix}`, pid: a }, peer: { name: `xb${suffix}`, pid: b }, mtu: 1450 })],
                a,
            );
            await ip.runIp(
                "b side",
                [ip.addAddress(`xb${suffix}`, `10.62.${suffix}.2/24`), ip.setLink(`xb${suffix}`, { up: true, alias: "mark x" })],
                b,
            );
        };
        await make("1");
        process.env.HOSTNET_HELPER = "off";
        try {
            await make("2");
        } finally {
            delete process.env.HOSTNET_HELPER;
        }
        const shape = async (name: string) => {
            const [l] = await ipJson(b, ["-d", "addr", "show", "dev", name]);
            return {
                mtu: l.mtu,
                up: l.flags.includes("UP"),
                alias: l.ifalias,
                kind: l.linkinfo.info_kind,
                inet: l.addr_info.filter((x: any) => x.family === "inet").map((x: any) => `${x.prefixlen} ${x.scope}`),
            };
        };
        assert.deepEqual(await shape("xb2"), await shape("xb1"));
    });

    it("turns IPv6 on for one interface of a namespace whose new interfaces have it off (as Docker's --net=none), in both modes; the namespace's default is untouched", async () => {
        const read = async (key: string) =>
            (
                await sh(["nsenter", "--target", String(a), "--net", "--", "cat", `/proc/sys/net/ipv6/conf/${key}/disable_ipv6`])
            ).stdout.trim();
        await sh(["nsenter", "--target", String(a), "--net", "--", "sysctl", "-q", "-w", "net/ipv6/conf/default/disable_ipv6=1"]);
        try {
            await ip.runIp(
                "pairs",
                [
                    ip.addVeth({ local: { name: "s6a" }, peer: { name: "s6b" } }),
                    ip.addVeth({ local: { name: "s6c" }, peer: { name: "s6d" } }),
                ],
                a,
            );
            assert.equal(await read("s6a"), "1", "made with IPv6 off");
            const refused = await ip.runIp("address", [ip.addAddress("s6a", "fd63::1/64")], a).then(
                () => undefined,
                (e: unknown) => e,
            );
            assert.ok(refused instanceof HostCommandError, `an IPv6 address is refused while IPv6 is off: ${String(refused)}`);

            await sysctl.enableIPv6("enable IPv6 on s6a", "s6a", a);
            process.env.HOSTNET_HELPER = "off";
            try {
                await sysctl.enableIPv6("enable IPv6 on s6c", "s6c", a);
            } finally {
                delete process.env.HOSTNET_HELPER;
            }
            assert.deepEqual(
                [await read("s6a"), await read("s6b"), await read("s6c"), await read("default")],
                ["0", "1", "0", "1"],
                "on for s6a (helper) and s6c (sysctl process) only",
            );
            await ip.runIp("address", [ip.addAddress("s6a", "fd63::1/64")], a);
            const [l] = await ipJson(a, ["-6", "addr", "show", "dev", "s6a"]);
            assert.ok(l.addr_info.some((x: any) => x.local === "fd63::1" && x.prefixlen === 64));
            const missing = await sysctl.enableIPv6("enable IPv6 on nope0", "nope0", a).then(
                () => undefined,
                (e: unknown) => e,
            );
            assert.ok(missing instanceof NotFoundError, `an interface that is not there: ${String(missing)}`);
        } finally {
            await sh(["nsenter", "--target", String(a), "--net", "--", "sysctl", "-q", "-w", "net/ipv6/conf/default/disable_ipv6=0"]);
        }
    });

    it("reads a VXLAN device over an IPv6 underlay as ip does (local6, remote6), and changes its underlay in place", async () => {
        await ip.runIp("vxlan", [ip.addVxlan({ name: "vx6", vni: 4263, port: 4789, local: "fd64::1", remote: "fd64::2" })], a);
        const data = async () => {
            const mine = (await ip.getLink("vx6", a))!.linkinfo!.info_data!;
            const [theirs] = await ipJson(a, ["-d", "link", "show", "dev", "vx6"]);
            return {
                mine: { local6: mine.local6, remote6: mine.remote6, local: mine.local, remote: mine.remote },
                theirs: theirs.linkinfo.info_data,
            };
        };
        let d = await data();
        assert.deepEqual(d.mine, { local6: "fd64::1", remote6: "fd64::2", local: undefined, remote: undefined });
        assert.equal(d.theirs.local6, "fd64::1");
        assert.equal(d.theirs.remote6, "fd64::2");
        await ip.runIp("peers", [ip.setVxlanPeers("vx6", "fd64::1", "fd64::3")], a);
        d = await data();
        assert.equal(d.mine.remote6, "fd64::3");
        assert.equal(d.theirs.remote6, "fd64::3");
    });
});
