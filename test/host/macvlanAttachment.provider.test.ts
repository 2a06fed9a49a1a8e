// The MacvlanAttachment provider's methods, called directly against real
// containers and a real parent on this host. The parent is one end of a veth
// pair (this kernel has no dummy links); the other end is eth0 of a
// `--net=none` container, addressed: the rest of the LAN. Every assertion
// reads the host back with `ip -j -d` / nsenter / ping, not through the
// provider. Suites run in the order written (every test sits in a nested suite).

import * as assert from "node:assert/strict";
import { defaultMac } from "../../components/src/common/naming";
import { MacvlanAttachmentInputs, MacvlanAttachmentOutputs } from "../../components/src/common/specs/macvlanAttachment";
import { macvlanAttachmentProvider } from "../../components/src/engine/providers/macvlanAttachment";
import { forgetObservations } from "../../components/src/engine/observe";
import { resetClaims } from "../../components/src/engine/registry";
import {
    containerPid,
    eventually,
    ipDefaultRoutes,
    ipLink,
    ipLinks,
    ipv4Of,
    ipv6Addresses,
    ipv6Host,
    ipv6Of,
    kernelHas,
    makeTestBridge,
    makeTestWire,
    ping,
    ping6,
    RUN_OWNER,
    sh,
    startTestContainer,
    sweepRun,
    TEST_ALIAS,
    uniqueSuffix,
    unusedIpv6Subnets,
    unusedSubnets,
} from "../helpers/host";
import { forTests } from "../helpers/providers";
const provider = forTests(macvlanAttachmentProvider);

describe("MacvlanAttachment provider on the real host (a veth end as the parent)", function () {
    const sfx = uniqueSuffix();
    const parent = `hnt-mp-${sfx}`;
    const names = { a: `hnt-ma-${sfx}`, b: `hnt-mb-${sfx}`, lan: `hnt-ml-${sfx}`, lan2: `hnt-mk-${sfx}` };
    const pids: Record<string, number> = {};
    // The wire's subnet, a bridge's, a second wire's, and one more (each /24, free on this host now).
    let net = "";
    let nets: string[] = [];
    const at = (host: number, prefix = 24) => `${net}.${host}/${prefix}`;
    const ip = (host: number) => `${net}.${host}`;

    const owner = (name: string) => `${RUN_OWNER}macvlan-${name}-${sfx}`;
    const inputs = (over: Partial<MacvlanAttachmentInputs> = {}, name = "a"): MacvlanAttachmentInputs => ({
        container: names.a,
        parent,
        kind: "macvlan",
        mode: "bridge",
        addresses: [at(2)],
        containerIfName: "eth0",
        mac: defaultMac(owner(name), "macvlan"),
        owner: owner(name),
        ...over,
    });

    /** Runs `body` with an attachment created from `inputs`, deleting it afterwards whatever happens. */
    async function withAttachment(i: MacvlanAttachmentInputs, body: (outs: MacvlanAttachmentOutputs) => Promise<void>): Promise<void> {
        const created = await provider.create(i);
        try {
            await body(created.outs);
        } finally {
            await provider.delete(created.id, created.outs);
        }
    }

    before(async () => {
        nets = (await unusedSubnets(4)).map((n) => n.replace(/\.0\/24$/, ""));
        net = nets[0];
        for (const [k, name] of Object.entries(names)) {
            await startTestContainer(name);
            pids[k] = await containerPid(name);
        }
        await makeTestWire(parent, pids.lan, at(100));
    });

    after(async () => {
        await sweepRun();
    });

    describe("create -> read -> drift -> update -> delete", () => {
        let outs: MacvlanAttachmentOutputs;
        let id: string;

        it("check reports bad fields without creating anything", async () => {
            const result = await provider.check({}, inputs({ addresses: ["10.0.0.1"], mode: "loud" }));
            assert.deepEqual(
                result.failures!.map((f) => f.property),
                ["addresses", "mode"],
            );
            assert.equal(await ipLink("eth0", pids.a), undefined);
        });

        it("create makes a macvlan of the parent inside the container: marked, addressed, up", async () => {
            const created = await provider.create(inputs());
            outs = created.outs;
            id = created.id;
            const eth0 = await ipLink("eth0", pids.a);
            assert.ok(eth0, "eth0 exists in the container");
            assert.equal(eth0.linkinfo?.info_kind, "macvlan");
            assert.equal(eth0.linkinfo?.info_data?.mode, "bridge");
            assert.equal(eth0.link_index, (await ipLink(parent))!.ifindex, "its parent is the veth end on the host");
            assert.notEqual(eth0.link_netnsid, undefined, "the parent is in another namespace (the host's)");
            assert.equal(eth0.ifalias, owner("a"));
            assert.equal(eth0.address, defaultMac(owner("a"), "macvlan"));
            assert.deepEqual(ipv4Of(eth0), [at(2)]);
            assert.ok(eth0.flags.includes("UP"));
            assert.deepEqual(
                (await ipLinks()).filter((l) => l.ifalias === owner("a")),
                [],
                "nothing of it is in the host's namespace",
            );
        });

        it("the container reaches the LAN behind the parent, and the LAN reaches it", async () => {
            assert.ok(await ping(ip(100), pids.a), "container -> the wire's far end");
            assert.ok(await ping(ip(2), pids.lan), "the wire's far end -> container");
        });

        it("a second attachment on the same parent (mode bridge): the two containers reach each other", async () => {
            await withAttachment(
                inputs({ container: names.b, addresses: [at(3)], mac: defaultMac(owner("b"), "macvlan") }, "b"),
                async () => {
                    assert.ok(await ping(ip(3), pids.a), "a -> b");
                    assert.ok(await ping(ip(2), pids.b), "b -> a");
                    assert.ok(await ping(ip(100), pids.b), "b -> the LAN");
                },
            );
            assert.equal(await ipLink("eth0", pids.b), undefined, "b's macvlan is gone with its attachment");
        });

        it("read returns exactly what create recorded when nothing drifted", async () => {
            const read = await provider.read(id, outs);
            assert.deepEqual(read, { id, props: outs });
            assert.equal((await provider.diff(id, read.props, inputs())).changes, false);
        });

        it("an address removed by hand: read sees it, update puts it back in place (same interface)", async () => {
            const ifindex = (await ipLink("eth0", pids.a))!.ifindex;
            await sh(["nsenter", "-t", String(pids.a), "-n", "ip", "addr", "del", at(2), "dev", "eth0"]);
            const read = await provider.read(id, outs);
            assert.deepEqual(read.props.addresses, []);
            const diff = await provider.diff(id, read.props, inputs());
            assert.deepEqual([diff.changes, diff.replaces], [true, []]);
            outs = (await provider.update(id, read.props, inputs())).outs;
            assert.deepEqual(ipv4Of(await ipLink("eth0", pids.a)), [at(2)]);
            assert.equal((await ipLink("eth0", pids.a))!.ifindex, ifindex, "not recreated");
        });

        it("addresses, gateway and MTU change in place: two addresses, a default route via the LAN's router", async () => {
            const ifindex = (await ipLink("eth0", pids.a))!.ifindex;
            const next = inputs({ addresses: [at(4), `${nets[3]}.9/24`], gateway: ip(100), mtu: 1400 });
            const diff = await provider.diff(id, outs, next);
            assert.deepEqual([diff.changes, diff.replaces], [true, []]);
            outs = (await provider.update(id, outs, next)).outs;
            const eth0 = await ipLink("eth0", pids.a);
            assert.deepEqual(ipv4Of(eth0).sort(), [at(4), `${nets[3]}.9/24`].sort());
            assert.equal(eth0!.mtu, 1400);
            assert.equal(eth0!.ifindex, ifindex, "not recreated");
            assert.deepEqual(
                (await ipDefaultRoutes(pids.a)).map((r) => [r.gateway, r.dev]),
                [[ip(100), "eth0"]],
            );
            assert.ok(await ping(ip(100), pids.a));
            assert.ok(await ping(ip(4), pids.lan));
            assert.deepEqual((await provider.read(id, outs)).props, outs, "read agrees");
            // Back to one address and no route.
            outs = (await provider.update(id, outs, inputs())).outs;
            assert.deepEqual(ipv4Of(await ipLink("eth0", pids.a)), [at(2)]);
            assert.deepEqual(await ipDefaultRoutes(pids.a), []);
        });

        it("set down by hand: read sees it, update brings it up", async () => {
            await sh(["nsenter", "-t", String(pids.a), "-n", "ip", "link", "set", "dev", "eth0", "down"]);
            const read = await provider.read(id, outs);
            assert.equal(read.props.up, false);
            assert.equal((await provider.diff(id, read.props, inputs())).changes, true);
            outs = (await provider.update(id, read.props, inputs())).outs;
            assert.ok((await ipLink("eth0", pids.a))!.flags.includes("UP"));
            assert.ok(await ping(ip(100), pids.a));
        });

        it("mode changed by hand: read sees it, and diff replaces (delete first)", async () => {
            await sh(["nsenter", "-t", String(pids.a), "-n", "ip", "link", "set", "dev", "eth0", "type", "macvlan", "mode", "private"]);
            const read = await provider.read(id, outs);
            assert.equal(read.props.mode, "private");
            const diff = await provider.diff(id, read.props, inputs());
            assert.deepEqual([diff.replaces, diff.deleteBeforeReplace], [["mode"], true]);
            await sh(["nsenter", "-t", String(pids.a), "-n", "ip", "link", "set", "dev", "eth0", "type", "macvlan", "mode", "bridge"]);
        });

        it("diff replaces for container, parent, kind, mode, name and MAC", async () => {
            for (const [field, value] of [
                ["container", "other"],
                ["parent", "other"],
                ["kind", "ipvlan"],
                ["mode", "vepa"],
                ["containerIfName", "eth1"],
                ["mac", "02:00:00:00:00:09"],
            ] as const) {
                const diff = await provider.diff(id, outs, { ...inputs(), [field]: value });
                assert.deepEqual(diff.replaces, [field], field);
            }
        });

        it("the macvlan deleted by hand: read reports it gone, and a create (what up does) makes it again", async () => {
            await sh(["nsenter", "-t", String(pids.a), "-n", "ip", "link", "del", "dev", "eth0"]);
            assert.deepEqual(await provider.read(id, outs), {});
            const checked = await provider.check({}, inputs());
            assert.deepEqual(checked.failures, []);
            const again = await provider.create(checked.inputs);
            outs = again.outs;
            assert.equal((await ipLink("eth0", pids.a))?.linkinfo?.info_kind, "macvlan");
            assert.ok(await ping(ip(100), pids.a));
        });

        it("delete removes it; deleting again succeeds; read then reports it gone; the parent stays", async () => {
            await provider.delete(id, outs);
            assert.equal(await ipLink("eth0", pids.a), undefined);
            await provider.delete(id, outs);
            assert.deepEqual(await provider.read(id, outs), {});
            assert.ok(await ipLink(parent), "the parent is not the attachment's");
        });

        it("update refuses when the interface is gone, pointing to refresh", async () => {
            await assert.rejects(provider.update(id, outs, inputs()), {
                message: `failed to update macvlan "eth0" in container "${names.a}": it is gone or no longer this attachment's (the container may have restarted); run \`pulumi refresh\`, then \`pulumi up\` makes it again`,
            });
        });
    });

    describe("ownership and refusals", () => {
        it("an interface of that name the library did not make is refused, never deleted, never read as ours", async () => {
            await sh(["nsenter", "-t", String(pids.a), "-n", "ip", "link", "add", "eth0", "type", "bridge"]);
            try {
                const checked = await provider.check({}, inputs());
                assert.deepEqual(
                    checked.failures!.map((f) => f.reason),
                    [`\`containerIfName\` "eth0" is taken in container "${names.a}"; choose another \`containerIfName\``],
                );
                await assert.rejects(provider.create(inputs()), /containerIfName/);
                const props = { ...inputs(), containerId: names.a, effectiveGateway: "", up: true };
                await provider.delete("x", props);
                assert.deepEqual(await provider.read("x", props), {});
                assert.equal((await ipLink("eth0", pids.a))?.linkinfo?.info_kind, "bridge", "still there, untouched");
            } finally {
                await sh(["nsenter", "-t", String(pids.a), "-n", "ip", "link", "del", "eth0"], { reject: false });
            }
        });

        // It used to fail the create's last step (rolled back); it is now read first, and refused before anything is made.
        it("a default route already in the container is refused at the start of create: nothing is made, under either name", async () => {
            await sh(["nsenter", "-t", String(pids.a), "-n", "ip", "route", "add", "default", "dev", "lo"]);
            try {
                await assert.rejects(provider.create(inputs({ gateway: ip(100) })), {
                    message: `failed to attach macvlan "eth0":\n  - \`gateway\`: container "${names.a}" already has a default route (dev lo); drop \`gateway\` on this attachment, or remove the other route`,
                });
                const left = (await ipLinks(pids.a)).map((l) => l.ifname);
                assert.deepEqual(left, ["lo"], "neither eth0 nor the temporary name is left");
            } finally {
                await sh(["nsenter", "-t", String(pids.a), "-n", "ip", "route", "del", "default", "dev", "lo"]);
            }
        });

        it("refuses, before touching anything: a missing parent, one that is not Ethernet (a tun), a bridge port, an MTU above the parent's", async () => {
            const bridge = `hnt-mr-${sfx}`;
            const port = `hnt-mo-${sfx}`;
            const tun = `hnt-mt-${sfx}`;
            await makeTestBridge(bridge, `${nets[1]}.1/24`);
            await sh(["ip", "tuntap", "add", "dev", tun, "mode", "tun"]);
            await sh(["ip", "link", "set", "dev", tun, "alias", TEST_ALIAS]);
            await sh(["ip", "link", "add", "name", port, "type", "veth", "peer", "name", `${port}x`]);
            await sh(["ip", "link", "set", "dev", port, "master", bridge]);
            try {
                const reasons = async (over: Partial<MacvlanAttachmentInputs>) =>
                    ((await provider.check({}, inputs(over))).failures ?? []).map((f) => f.reason);
                assert.deepEqual(await reasons({ parent: `hnt-no-${sfx}` }), [
                    `\`parent\` "hnt-no-${sfx}" does not exist on this host; name an existing interface (\`ip link\` lists them), or pass the Bridge resource that makes it`,
                ]);
                assert.deepEqual(await reasons({ parent: tun }), [
                    `\`parent\` "${tun}" is not an Ethernet interface (link type none): a macvlan needs one; name the interface on the LAN`,
                ]);
                assert.deepEqual(await reasons({ parent: port }), [
                    `\`parent\` "${port}" is a port of "${bridge}", which takes every frame that arrives on it, so the kernel refuses a macvlan on it (device busy); use "${bridge}" itself as the parent, or an interface that is no port`,
                ]);
                assert.deepEqual(await reasons({ mtu: 9000 }), [
                    `\`mtu\` 9000 is above the MTU of parent "${parent}" (1500): a macvlan cannot be larger than its parent; set at most 1500, or raise the parent's`,
                ]);
                assert.equal(await ipLink("eth0", pids.a), undefined, "nothing was made");
            } finally {
                await sh(["ip", "link", "del", "dev", port], { reject: false });
                await sh(["ip", "link", "del", "dev", bridge], { reject: false });
                await sh(["ip", "link", "del", "dev", tun], { reject: false });
            }
        });

        it("a bridge is a fine parent: its macvlans reach each other, and the host cannot reach them through it (the kernel's rule)", async () => {
            const bridge = `hnt-mr-${sfx}`;
            await makeTestBridge(bridge, `${nets[1]}.1/24`);
            try {
                const on = (name: "a" | "b", host: number) =>
                    inputs(
                        {
                            container: names[name],
                            parent: bridge,
                            addresses: [`${nets[1]}.${host}/24`],
                            mac: defaultMac(owner(`br${name}`), "macvlan"),
                        },
                        `br${name}`,
                    );
                await withAttachment(on("a", 7), async () => {
                    await withAttachment(on("b", 8), async () => {
                        assert.equal((await ipLink("eth0", pids.a))?.link_index, (await ipLink(bridge))!.ifindex);
                        assert.ok(await ping(`${nets[1]}.8`, pids.a), "a -> b on the same parent");
                        assert.equal(await ping(`${nets[1]}.7`), false, "the host does not reach its macvlan through the parent");
                    });
                });
            } finally {
                await sh(["ip", "link", "del", "dev", bridge], { reject: false });
            }
        });

        it("refuses an address another container's macvlan holds on the same parent, naming it", async () => {
            await withAttachment(
                inputs({ container: names.b, addresses: [at(3)], mac: defaultMac(owner("b"), "macvlan") }, "other"),
                async () => {
                    // As a new deployment (a new provider process) sees it: the holder is another stack's, known only from the host.
                    resetClaims();
                    forgetObservations();
                    const checked = await provider.check({}, inputs({ addresses: [at(3)] }, "a"));
                    assert.deepEqual(
                        checked.failures!.map((f) => f.reason),
                        [
                            `\`addresses\` ${ip(3)} on parent "${parent}" is already held by eth0 of container "${names.b}"; choose a free address`,
                        ],
                    );
                },
            );
        });

        it("passthru: one macvlan takes the parent (and its MAC); a second one is refused at preview", async () => {
            const wire = `hnt-mw-${sfx}`;
            await makeTestWire(wire, pids.lan2, `${nets[2]}.100/24`);
            try {
                const pt = inputs({ parent: wire, mode: "passthru", mac: undefined, addresses: [`${nets[2]}.2/24`] }, "pt");
                await withAttachment(pt, async (outs) => {
                    const eth0 = await ipLink("eth0", pids.a);
                    assert.equal(eth0?.linkinfo?.info_data?.mode, "passthru");
                    assert.equal(eth0?.address, (await ipLink(wire))!.address, "a passthru macvlan has its parent's MAC");
                    assert.ok(await ping(`${nets[2]}.100`, pids.a));
                    assert.deepEqual((await provider.read(outs.containerId, outs)).props, outs);
                    // The second comes in a later deployment: its provider reads the host afresh (what pt's check and create read predates pt).
                    forgetObservations();
                    const second = await provider.check(
                        {},
                        inputs(
                            {
                                parent: wire,
                                container: names.b,
                                addresses: [`${nets[2]}.3/24`],
                                mac: defaultMac(owner("second"), "macvlan"),
                            },
                            "second",
                        ),
                    );
                    assert.deepEqual(
                        second.failures!.map((f) => f.reason),
                        [
                            `\`parent\` "${wire}" is taken by macvlan eth0 of container "${names.a}" in mode passthru, which has the parent for itself; choose another parent`,
                        ],
                    );
                });
            } finally {
                await sh(["ip", "link", "del", "dev", wire], { reject: false });
            }
        });

        it("refuses a --net=host container, and a container sharing another's namespace", async () => {
            const hostMode = `hnt-mh-${sfx}`;
            const sharing = `hnt-ms-${sfx}`;
            await startTestContainer(hostMode, "host");
            await startTestContainer(sharing, `container:${names.b}`);
            try {
                const reasons = async (container: string) =>
                    ((await provider.check({}, inputs({ container }))).failures ?? []).map((f) => f.reason);
                assert.deepEqual(await reasons(hostMode), [
                    `\`container\`: container "${hostMode}" uses network mode host: it has no network namespace of its own: its interfaces are the host's`,
                ]);
                const targetId = (await sh(["docker", "inspect", "-f", "{{.Id}}", names.b])).stdout.trim();
                assert.deepEqual(await reasons(sharing), [
                    `\`container\`: container "${sharing}" uses network mode container:${targetId}: it shares another container's network namespace; attach to that container instead`,
                ]);
            } finally {
                await sh(["docker", "rm", "-f", hostMode, sharing]);
            }
        });

        it("a restarted container loses the macvlan with its namespace; read reports it gone", async () => {
            const created = await provider.create(inputs());
            await sh(["docker", "restart", "-t", "0", names.a]);
            pids.a = await containerPid(names.a);
            assert.ok(await eventually(async () => (await ipLink("eth0", pids.a)) === undefined));
            assert.deepEqual(await provider.read(created.id, created.outs), {});
            await provider.delete(created.id, created.outs);
        });
    });

    describe("dual-stack: IPv6 addresses on a macvlan", () => {
        // A wire of its own, its far end (the LAN) dual-stack; the attachment's container is a --net=none one,
        // whose new interfaces Docker leaves with IPv6 off.
        const wire = `hnt-m6-${sfx}`;
        const box = `hnt-mx-${sfx}`;
        const far = `hnt-my-${sfx}`;
        let v4 = "";
        let v6 = "";
        const pid6: Record<string, number> = {};
        const six = (n: number) => ipv6Host(v6, n);
        const dual = (v6host: number): MacvlanAttachmentInputs =>
            inputs(
                { container: box, parent: wire, addresses: [`${v4}.2/24`, `${six(v6host)}/64`], mac: defaultMac(owner("six"), "macvlan") },
                "six",
            );

        before(async () => {
            v4 = (await unusedSubnets(1))[0].replace(/\.0\/24$/, "");
            v6 = (await unusedIpv6Subnets(1))[0];
            for (const name of [box, far]) {
                await startTestContainer(name);
                pid6[name] = await containerPid(name);
            }
            await makeTestWire(wire, pid6[far], `${v4}.100/24`);
            await sh(["nsenter", "-t", String(pid6[far]), "-n", "sysctl", "-q", "-w", "net/ipv6/conf/eth0/disable_ipv6=0"]);
            await sh(["nsenter", "-t", String(pid6[far]), "-n", "ip", "addr", "add", `${six(100)}/64`, "dev", "eth0"]);
        });

        it("a dual-stack macvlan: IPv6 on in the --net=none container, both addresses there and the IPv6 one valid (not tentative) when create returns; ping -6 both ways across the parent; read is what create recorded", async () => {
            const created = await provider.create(dual(2));
            try {
                const eth0 = await ipLink("eth0", pid6[box]);
                assert.equal(eth0?.linkinfo?.info_kind, "macvlan");
                assert.deepEqual(ipv4Of(eth0), [`${v4}.2/24`]);
                assert.deepEqual(await ipv6Of("eth0", pid6[box]), [`${six(2)}/64`], "ip -j -6 addr inside the container");
                const global = (await ipv6Addresses("eth0", pid6[box])).filter((a) => a.scope === "global");
                assert.deepEqual(
                    global.map((a) => [a.tentative ?? false, a.dadfailed ?? false]),
                    [[false, false]],
                    "duplicate address detection finished before create returned",
                );
                assert.ok(
                    await eventually(async () => (await ipv6Addresses("eth0", pid6[far])).every((a) => !a.tentative), 10000),
                    "the far end's own address is valid",
                );
                assert.ok(await ping6(six(100), pid6[box]), "container -> the LAN over IPv6");
                assert.ok(await ping6(six(2), pid6[far]), "the LAN -> container over IPv6");
                assert.ok(await ping(`${v4}.100`, pid6[box]), "and over IPv4");
                const read = await provider.read(created.id, created.outs);
                assert.deepEqual(read, { id: created.id, props: created.outs }, "the kernel's link-local address is no drift");
                assert.equal((await provider.diff(created.id, read.props, dual(2))).changes, false);

                // The IPv6 address changed in place: the same interface, IPv4 untouched, the new address valid and reachable.
                const ifindex = eth0!.ifindex;
                const updated = await provider.update(created.id, created.outs, dual(3));
                const after = await ipLink("eth0", pid6[box]);
                assert.equal(after?.ifindex, ifindex, "changed in place");
                assert.deepEqual(ipv4Of(after), [`${v4}.2/24`]);
                assert.deepEqual(await ipv6Of("eth0", pid6[box]), [`${six(3)}/64`]);
                assert.ok(await ping6(six(3), pid6[far]), "the LAN -> the new IPv6 address");
                created.outs = updated.outs as MacvlanAttachmentOutputs;
            } finally {
                await provider.delete(created.id, created.outs);
            }
            assert.equal(await ipLink("eth0", pid6[box]), undefined, "delete removes it");
            assert.ok(await ipLink(wire), "the parent stays");
        });

        it("ipv6Gateway: an IPv6 default route via the LAN's router (global, then link-local) carries traffic beyond it; removed by hand, update puts it back; dropped, it goes; a route the kernel got from a router's advertisement is never touched without it", async () => {
            // "Beyond the router": an address on the far end's loopback, in a /64 nothing else on this host uses.
            const beyond = ipv6Host((await unusedIpv6Subnets(1))[0], 1);
            await sh(["nsenter", "-t", String(pid6[far]), "-n", "sysctl", "-q", "-w", "net/ipv6/conf/lo/disable_ipv6=0"]);
            await sh(["nsenter", "-t", String(pid6[far]), "-n", "ip", "addr", "add", `${beyond}/128`, "dev", "lo"]);
            const routes6 = async (withProtocol = false) =>
                (await ipDefaultRoutes(pid6[box], 6)).map((r) => [
                    r.gateway,
                    r.dev,
                    ...(withProtocol ? [(r as { protocol?: string }).protocol] : []),
                ]);
            const created = await provider.create({ ...dual(2), ipv6Gateway: six(100) });
            let outs = created.outs;
            try {
                assert.deepEqual(await routes6(), [[six(100), "eth0"]], "ip -j -6 route show default in the container");
                assert.deepEqual(await ipDefaultRoutes(pid6[box]), [], "no IPv4 default route: `gateway` was not given");
                assert.ok(
                    await eventually(async () => (await ipv6Addresses("eth0", pid6[far])).every((a) => !a.tentative), 10000),
                    "the far end's own address is valid",
                );
                assert.ok(await ping6(beyond, pid6[box]), "container -> beyond the router, over the IPv6 default route");
                const read = await provider.read(created.id, outs);
                assert.deepEqual(read, { id: created.id, props: outs });
                assert.equal((await provider.diff(created.id, read.props, { ...dual(2), ipv6Gateway: six(100) })).changes, false);

                await sh(["nsenter", "-t", String(pid6[box]), "-n", "ip", "-6", "route", "del", "::/0", "dev", "eth0"]);
                const drifted = await provider.read(created.id, outs);
                assert.equal(drifted.props.effectiveIpv6Gateway, "", "read sees the route gone");
                assert.equal((await provider.diff(created.id, drifted.props, { ...dual(2), ipv6Gateway: six(100) })).changes, true);
                outs = (await provider.update(created.id, drifted.props, { ...dual(2), ipv6Gateway: six(100) }))
                    .outs as MacvlanAttachmentOutputs;
                assert.deepEqual(await routes6(), [[six(100), "eth0"]], "update put it back");

                // The router by its link-local address, as its advertisements name it.
                const linkLocal = (await ipv6Addresses("eth0", pid6[far])).find((a) => a.scope === "link")!.local;
                const viaLinkLocal = { ...dual(2), ipv6Gateway: linkLocal };
                assert.deepEqual((await provider.check(outs, viaLinkLocal)).failures, []);
                assert.deepEqual((await provider.diff(created.id, outs, viaLinkLocal)).replaces, [], "changed in place");
                outs = (await provider.update(created.id, outs, viaLinkLocal)).outs as MacvlanAttachmentOutputs;
                assert.deepEqual(await routes6(), [[linkLocal, "eth0"]]);
                assert.ok(await ping6(beyond, pid6[box]), "beyond the router, via its link-local address");

                outs = (await provider.update(created.id, outs, dual(2))).outs as MacvlanAttachmentOutputs;
                assert.deepEqual(await routes6(), [], "ipv6Gateway dropped: the route goes");
                assert.equal(outs.effectiveIpv6Gateway, undefined);

                // What a router's advertisement gives (proto ra) is the kernel's: without ipv6Gateway, no drift, and an update keeps it.
                await sh([
                    "nsenter",
                    "-t",
                    String(pid6[box]),
                    "-n",
                    "ip",
                    "-6",
                    "route",
                    "add",
                    "::/0",
                    "via",
                    linkLocal,
                    "dev",
                    "eth0",
                    "proto",
                    "ra",
                ]);
                const withRa = await provider.read(created.id, outs);
                assert.deepEqual(withRa, { id: created.id, props: outs }, "not read as drift");
                assert.equal((await provider.diff(created.id, withRa.props, dual(2))).changes, false);
                outs = (await provider.update(created.id, outs, dual(3))).outs as MacvlanAttachmentOutputs;
                assert.deepEqual(await routes6(true), [[linkLocal, "eth0", "ra"]], "an update of the addresses leaves it");
            } finally {
                await provider.delete(created.id, outs);
                await sh(["nsenter", "-t", String(pid6[far]), "-n", "ip", "addr", "del", `${beyond}/128`, "dev", "lo"], { reject: false });
            }
        });

        it("check refuses the parent's own IPv6 address (written in capitals), naming it, before touching anything", async () => {
            await sh(["ip", "addr", "add", `${six(50)}/64`, "dev", wire]);
            try {
                const result = await provider.check({}, { ...dual(2), addresses: [`${v4}.2/24`, `${six(50).toUpperCase()}/64`] });
                assert.deepEqual(
                    result.failures!.map((f) => [f.property, f.reason]),
                    [
                        [
                            "addresses",
                            `\`addresses\`: ${six(50)} is the address of parent "${wire}" itself (this host on that wire); choose another address`,
                        ],
                    ],
                );
                assert.equal(await ipLink("eth0", pid6[box]), undefined, "nothing made");
            } finally {
                await sh(["ip", "addr", "del", `${six(50)}/64`, "dev", wire], { reject: false });
            }
        });
    });

    describe("ipvlan", () => {
        it("on a kernel without ipvlan, the preview refuses kind ipvlan, naming the field and what to do", async function () {
            if (await kernelHas("ipvlan")) {
                console.log("      (skipped: this kernel has ipvlan, so there is no refusal to see)");
                this.skip();
            }
            const checked = await provider.check({}, inputs({ kind: "ipvlan", mode: "l2", mac: undefined }));
            assert.deepEqual(
                checked.failures!.map((f) => [f.property, f.reason]),
                [
                    [
                        "kind",
                        "`kind` ipvlan: this kernel has no ipvlan support; use kind macvlan (same parent, a MAC of its own per container), or run on a kernel built with ipvlan links (CONFIG_IPVLAN)",
                    ],
                ],
            );
            assert.equal(await ipLink("eth0", pids.a), undefined);
        });

        it("an ipvlan of the parent: made, addressed, reaches the LAN, removed", async function () {
            if (!(await kernelHas("ipvlan"))) {
                console.log(
                    '      skipped: this kernel has no ipvlan support (`ip link add ... type ipvlan` answers "Unknown device type")',
                );
                this.skip();
            }
            await withAttachment(inputs({ kind: "ipvlan", mode: "l2", mac: undefined }), async () => {
                const eth0 = await ipLink("eth0", pids.a);
                assert.equal(eth0?.linkinfo?.info_kind, "ipvlan");
                assert.equal(eth0?.address, (await ipLink(parent))!.address, "an ipvlan has its parent's MAC");
                assert.ok(await ping(ip(100), pids.a));
            });
            assert.equal(await ipLink("eth0", pids.a), undefined);
        });
    });
});
