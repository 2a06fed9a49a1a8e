// IPv6 and dual-stack on the real host: the VethAttachment, VethLink and
// Bridge providers called directly against real containers (Docker's
// `--net=none`, which has IPv6 turned off in its namespace), a real bridge and
// real veth pairs. Every assertion reads the host back with `ip -j -6`,
// nsenter and `ping -6`, never through the provider. Each test makes its own
// attachments and removes them, so that one failure does not cascade.

import * as assert from "node:assert/strict";
import { BridgeInputs } from "../../components/src/common/specs/bridge";
import { DockerContainerInputs } from "../../components/src/common/specs/dockerContainer";
import { NetworkInputs } from "../../components/src/common/specs/network";
import { VethAttachmentInputs, VethAttachmentOutputs } from "../../components/src/common/specs/vethAttachment";
import { VethLinkInputs } from "../../components/src/common/specs/vethLink";
import { bridgeProvider } from "../../components/src/engine/providers/bridge";
import { dockerContainerProvider } from "../../components/src/engine/providers/dockerContainer";
import { networkProvider } from "../../components/src/engine/providers/network";
import { networkAttachmentProvider } from "../../components/src/engine/providers/networkAttachment";
import { vethAttachmentProvider } from "../../components/src/engine/providers/vethAttachment";
import { vethLinkProvider } from "../../components/src/engine/providers/vethLink";
import {
    containerPid,
    dockerInspect,
    eventually,
    execPing6,
    ipDefaultRoutes,
    ipLink,
    ipv4Of,
    ipv6Addresses,
    ipv6Host,
    ipv6Of,
    makeTestBridge,
    ping,
    ping6,
    runByte,
    RUN_OWNER,
    sh,
    startTestContainer,
    sweepRun,
    TEST_ALIAS,
    uniqueSuffix,
    unusedIpv6Subnets,
} from "../helpers/host";
import { forTests } from "../helpers/providers";

const attachments = forTests(vethAttachmentProvider);
const links = forTests(vethLinkProvider);
const bridges = forTests(bridgeProvider);
const dockerContainers = forTests(dockerContainerProvider);
const networks = forTests(networkProvider);
const networkAttachments = forTests(networkAttachmentProvider);

/** True when every global IPv6 address of the interface is valid: neither tentative nor dadfailed. */
async function settled(dev: string, pid?: number): Promise<boolean> {
    const global = (await ipv6Addresses(dev, pid)).filter((a) => a.scope !== "link");
    return global.length > 0 && global.every((a) => !a.tentative && !a.dadfailed);
}

describe("IPv6 and dual-stack on the real host: VethAttachment, VethLink, Bridge", function () {
    const sfx = uniqueSuffix();
    const net4 = `10.252.${runByte(4)}`;
    const link4 = `10.253.${runByte(5)}`;
    const bridge = `hnt-6b-${sfx}`;
    const containers = { a: `hnt-6a-${sfx}`, b: `hnt-6c-${sfx}`, c: `hnt-6d-${sfx}` };
    const pids: Record<string, number> = {};
    let net6 = "";
    let linkNet6 = "";
    let bridgeNet6 = "";
    let dockerNet6 = "";
    /** An IPv6 address on the bridge's subnet: `v6(7)` is `<subnet>::7`. */
    const v6 = (n: number) => ipv6Host(net6, n);
    let hostIfCount = 0;

    const attachment = (over: Partial<VethAttachmentInputs> = {}): VethAttachmentInputs => ({
        container: containers.a,
        bridge,
        addresses: [`${net4}.2/24`, `${v6(2)}/64`],
        defaultRoute: true,
        containerIfName: "eth0",
        hostIfName: `hnt-6v${hostIfCount++}-${sfx}`,
        owner: `${RUN_OWNER}dual-${sfx}-${hostIfCount}`,
        ...over,
    });

    /** Runs `body` with an attachment made from `inputs`, deleting it afterwards whatever happens. */
    async function withAttachment(inputs: VethAttachmentInputs, body: (outs: VethAttachmentOutputs) => Promise<void>): Promise<void> {
        const created = await attachments.create(inputs);
        try {
            await body(created.outs);
        } finally {
            await attachments.delete(created.id, created.outs);
        }
    }

    before(async function () {
        this.timeout(120000);
        [net6, linkNet6, bridgeNet6, dockerNet6] = await unusedIpv6Subnets(4);
        await makeTestBridge(bridge, `${net4}.1/24`);
        await sh(["ip", "addr", "add", `${v6(1)}/64`, "dev", bridge]);
        for (const [k, name] of Object.entries(containers)) {
            await startTestContainer(name);
            pids[k] = await containerPid(name);
        }
        // The hand-made bridge's own IPv6 address finishes its duplicate address detection first.
        assert.ok(await eventually(() => settled(bridge), 10000), "the bridge's IPv6 address became valid");
    });

    after(async function () {
        this.timeout(120000);
        await sweepRun();
    });

    describe("VethAttachment", () => {
        it("a dual-stack attachment: IPv6 on in a --net=none container, both addresses valid when create returns, a default route of each family", async () => {
            const inputs = attachment();
            await withAttachment(inputs, async (outs) => {
                const pid = pids.a;
                const six = await ipv6Addresses("eth0", pid);
                const global = six.filter((a) => a.scope === "global");
                assert.deepEqual(
                    global.map((a) => [`${a.local}/${a.prefixlen}`, a.tentative ?? false, a.dadfailed ?? false]),
                    [[`${v6(2)}/64`, false, false]],
                    "valid, not tentative, as soon as create returned",
                );
                assert.ok(
                    six.some((a) => a.scope === "link"),
                    "the kernel made its link-local address",
                );
                assert.deepEqual(ipv4Of(await ipLink("eth0", pid)), [`${net4}.2/24`]);
                assert.deepEqual(
                    (await ipDefaultRoutes(pid, 6)).map((r) => [r.gateway, r.dev]),
                    [[v6(1), "eth0"]],
                );
                assert.deepEqual(
                    (await ipDefaultRoutes(pid)).map((r) => [r.gateway, r.dev]),
                    [[`${net4}.1`, "eth0"]],
                );
                assert.equal(outs.effectiveIpv6Gateway, v6(1));
                assert.equal(outs.bridgeIpv6Address, v6(1));
                assert.equal(outs.effectiveGateway, `${net4}.1`);
            });
        });

        it("traffic flows over IPv6 both ways: host -> container, container -> bridge (ping -6)", async () => {
            await withAttachment(attachment(), async () => {
                assert.ok(await ping6(v6(2)), "host -> container");
                assert.ok(await ping6(v6(1), pids.a), "container -> bridge");
                assert.ok(await ping(`${net4}.2`), "and IPv4 still");
            });
        });

        it("read returns exactly what create recorded: the kernel's link-local address is no drift", async () => {
            await withAttachment(attachment(), async (outs) => {
                const read = await attachments.read(outs.hostIfName, outs);
                assert.deepEqual(read.props, outs);
                assert.equal((await attachments.diff(outs.hostIfName, read.props, attachment({ ...outs }))).changes, false);
            });
        });

        it("drift: an IPv6 address and the IPv6 default route removed by hand are seen by read, and put back in place", async () => {
            const inputs = attachment();
            await withAttachment(inputs, async (outs) => {
                const pid = pids.a;
                const before = (await ipLink("eth0", pid))!.ifindex;
                await sh(["nsenter", "-t", String(pid), "-n", "ip", "-6", "route", "del", "default", "dev", "eth0"]);
                await sh(["nsenter", "-t", String(pid), "-n", "ip", "addr", "del", `${v6(2)}/64`, "dev", "eth0"]);
                const read = await attachments.read(outs.hostIfName, outs);
                assert.deepEqual(read.props.addresses, [`${net4}.2/24`], "the IPv6 address is missing");
                assert.equal(read.props.effectiveIpv6Gateway, "", "so is the IPv6 default route");
                const diff = await attachments.diff(outs.hostIfName, read.props, inputs);
                assert.deepEqual([diff.changes, diff.replaces], [true, []], "an in-place update");
                const updated = await attachments.update(outs.hostIfName, read.props, inputs);
                assert.deepEqual(await ipv6Of("eth0", pid), [`${v6(2)}/64`]);
                assert.ok(await settled("eth0", pid), "valid once update returned");
                assert.deepEqual(
                    (await ipDefaultRoutes(pid, 6)).map((r) => r.gateway),
                    [v6(1)],
                );
                assert.equal((await ipLink("eth0", pid))!.ifindex, before, "the same pair");
                assert.deepEqual((await attachments.read(outs.hostIfName, updated.outs)).props, updated.outs, "clean again");
            });
        });

        it("changes the IPv6 address in place: the pair and the IPv4 address stay, the new one is valid, the route follows", async () => {
            const inputs = attachment();
            await withAttachment(inputs, async (outs) => {
                const pid = pids.a;
                const before = (await ipLink("eth0", pid))!.ifindex;
                const news = { ...inputs, addresses: [`${net4}.2/24`, `${v6(3)}/64`] };
                assert.deepEqual((await attachments.diff(outs.hostIfName, outs, news)).replaces, []);
                const updated = await attachments.update(outs.hostIfName, outs, news);
                try {
                    assert.deepEqual(await ipv6Of("eth0", pid), [`${v6(3)}/64`]);
                    assert.ok(await settled("eth0", pid));
                    assert.deepEqual(ipv4Of(await ipLink("eth0", pid)), [`${net4}.2/24`]);
                    assert.equal((await ipLink("eth0", pid))!.ifindex, before);
                    assert.deepEqual(
                        (await ipDefaultRoutes(pid, 6)).map((r) => r.gateway),
                        [v6(1)],
                    );
                    assert.ok(await ping6(v6(3)), "reachable at its new address");
                } finally {
                    outs.addresses = updated.outs.addresses;
                }
            });
        });

        it("adds IPv6 to an IPv4-only attachment in place (`address` -> `addresses`): nothing of IPv4 changes", async () => {
            const inputs = attachment({ addresses: undefined, address: `${net4}.4/24`, containerIfName: "eth3", defaultRoute: false });
            await withAttachment(inputs, async (outs) => {
                const pid = pids.a;
                assert.equal(outs.effectiveIpv6Gateway, undefined, "no IPv6 outputs for an IPv4-only attachment");
                const before = await ipLink("eth3", pid);
                assert.deepEqual(await ipv6Of("eth3", pid), []);
                const news: VethAttachmentInputs = { ...inputs, address: undefined, addresses: [`${net4}.4/24`, `${v6(4)}/64`] };
                const diff = await attachments.diff(outs.hostIfName, outs, news);
                assert.deepEqual([diff.changes, diff.replaces], [true, []]);
                const updated = await attachments.update(outs.hostIfName, outs, news);
                assert.deepEqual(await ipv6Of("eth3", pid), [`${v6(4)}/64`]);
                assert.ok(await settled("eth3", pid));
                const after = await ipLink("eth3", pid);
                assert.equal(after!.ifindex, before!.ifindex);
                assert.deepEqual(ipv4Of(after), [`${net4}.4/24`]);
                assert.ok(await ping6(v6(4)));
                Object.assign(outs, updated.outs);
                assert.deepEqual((await attachments.read(outs.hostIfName, updated.outs)).props, updated.outs);
            });
        });

        it("an IPv6-only attachment (`address` of IPv6): its default route is `::/0` via the bridge's IPv6 address, and no IPv4 route", async () => {
            const inputs = attachment({ addresses: undefined, address: `${v6(5)}/64`, container: containers.c });
            await withAttachment(inputs, async (outs) => {
                const pid = pids.c;
                assert.deepEqual(await ipv6Of("eth0", pid), [`${v6(5)}/64`]);
                assert.deepEqual(ipv4Of(await ipLink("eth0", pid)), []);
                assert.deepEqual(
                    (await ipDefaultRoutes(pid, 6)).map((r) => [r.dst, r.gateway]),
                    [["default", v6(1)]],
                );
                assert.deepEqual(await ipDefaultRoutes(pid), []);
                assert.equal(outs.effectiveGateway, "");
                assert.ok(await ping6(v6(1), pid));
            });
        });

        it("duplicate address detection: a second namespace on the bridge given the same IPv6 address fails the create, naming it, and leaves nothing", async () => {
            // A named network namespace (no container: the checks' namespace scan, which reads Docker's containers,
            // cannot see it) holds v6(7) on the bridge, made by hand: only duplicate address detection finds it.
            const holder = `hnt-6h-${sfx}`;
            const ns = `hnt-6n-${sfx}`;
            await sh(["ip", "netns", "add", ns]);
            const inNs = (args: string[]) => sh(["ip", "netns", "exec", ns, ...args]);
            try {
                await sh(["ip", "link", "add", "name", holder, "type", "veth", "peer", "name", "eth7", "netns", ns]);
                await sh(["ip", "link", "set", "dev", holder, "alias", TEST_ALIAS, "master", bridge, "up"]);
                await inNs(["sysctl", "-q", "-w", "net/ipv6/conf/eth7/disable_ipv6=0"]);
                await inNs(["ip", "addr", "add", `${v6(7)}/64`, "dev", "eth7"]);
                await inNs(["ip", "link", "set", "eth7", "up"]);
                const holderSettled = async () => {
                    const { stdout } = await inNs(["ip", "-j", "-6", "addr", "show", "dev", "eth7"]);
                    const info = (JSON.parse(stdout)[0]?.addr_info ?? []) as { scope: string; tentative?: boolean }[];
                    return info.some((a) => a.scope === "global") && info.every((a) => !a.tentative);
                };
                assert.ok(await eventually(holderSettled, 10000), "the holder's address is valid");
                const inputs = attachment({ container: containers.c, addresses: [`${net4}.8/24`, `${v6(7)}/64`] });
                await assert.rejects(attachments.create(inputs), (err: Error) => {
                    assert.match(
                        err.message,
                        new RegExp(
                            `failed to wait for duplicate address detection of ${v6(7)} on eth0 \\(in container "${containers.c}"\\): ` +
                                `${v6(7)} is already used on bridge ${bridge}: duplicate address detection failed`.replace(
                                    /[.()]/g,
                                    "\\$&",
                                ),
                        ),
                    );
                    return true;
                });
                assert.equal(await ipLink(inputs.hostIfName), undefined, "no host end left");
                assert.equal(await ipLink("eth0", pids.c), undefined, "no eth0 left in the container");
                assert.ok(await holderSettled(), "the holder keeps its address");
            } finally {
                await sh(["ip", "link", "del", holder], { reject: false });
                await sh(["ip", "netns", "del", ns], { reject: false });
            }
        });

        it("an in-place update adding a duplicate IPv6 address fails, takes it back, and keeps the rest", async () => {
            const holder = `hnt-6i-${sfx}`;
            const pidB = pids.b;
            await sh(["ip", "link", "add", "name", holder, "type", "veth", "peer", "name", "eth8", "netns", String(pidB)]);
            await sh(["ip", "link", "set", "dev", holder, "alias", TEST_ALIAS, "master", bridge, "up"]);
            await sh(["nsenter", "-t", String(pidB), "-n", "sysctl", "-q", "-w", "net/ipv6/conf/eth8/disable_ipv6=0"]);
            await sh(["nsenter", "-t", String(pidB), "-n", "ip", "addr", "add", `${v6(8)}/64`, "dev", "eth8"]);
            await sh(["nsenter", "-t", String(pidB), "-n", "ip", "link", "set", "eth8", "up"]);
            try {
                assert.ok(await eventually(() => settled("eth8", pidB), 10000));
                const inputs = attachment({ container: containers.c, addresses: [`${net4}.9/24`], containerIfName: "eth4" });
                await withAttachment(inputs, async (outs) => {
                    const news = { ...inputs, addresses: [`${net4}.9/24`, `${v6(8)}/64`] };
                    await assert.rejects(attachments.update(outs.hostIfName, outs, news), new RegExp(`${v6(8)} is already used on bridge`));
                    const six = await ipv6Addresses("eth4", pids.c);
                    assert.deepEqual(
                        six.filter((a) => a.scope === "global"),
                        [],
                        "the duplicate is taken back",
                    );
                    assert.deepEqual(ipv4Of(await ipLink("eth4", pids.c)), [`${net4}.9/24`], "IPv4 as it was");
                    assert.ok(await ping(`${net4}.9`));
                });
            } finally {
                await sh(["ip", "link", "del", holder], { reject: false });
            }
        });

        it("check refuses, before touching anything, IPv6 addresses the bridge cannot take", async () => {
            // One attachment's inputs, checked three ways: its claims replace each other.
            const base = attachment();
            const reasons = async (over: Partial<VethAttachmentInputs>) =>
                ((await attachments.check({}, { ...base, ...over })).failures ?? []).map((f) => f.reason);
            assert.deepEqual(await reasons({ addresses: [`${net4}.2/24`, `${v6(1)}/64`] }), [
                `\`addresses[1]\` ${v6(1)}/64 is bridge ${bridge}'s own address (${v6(1)}/64); choose another address in its subnet`,
            ]);
            assert.deepEqual(await reasons({ addresses: [`${net4}.2/24`, `${ipv6Host(linkNet6, 2)}/64`] }), [
                `\`addresses[1]\` ${ipv6Host(linkNet6, 2)}/64 is outside the subnet of bridge ${bridge} (${v6(1)}/64); choose an address in it`,
            ]);
            assert.deepEqual(await reasons({ addresses: [`${net4}.2/24`, `${v6(2)}/64`], address: `${net4}.2/24` }), [
                'give `address` or `addresses`, not both: `addresses` lists every address of the attachment (IPv4 and IPv6), e.g. ["172.17.0.3/16", "fd17:ac11::3/64"]',
            ]);
            assert.deepEqual(await ipv6Of("eth0", pids.a), [], "nothing was made");
        });
    });

    describe("VethLink", () => {
        it("a dual-stack link: both ends' IPv6 addresses valid at create; ping -6 both ways; an end's IPv6 address changed in place", async () => {
            const inputs: VethLinkInputs = {
                a: { container: containers.a, ifName: "eth6", addresses: [`${link4}.1/30`, `${ipv6Host(linkNet6, 1)}/64`] },
                b: { container: containers.b, ifName: "eth6", addresses: [`${link4}.2/30`, `${ipv6Host(linkNet6, 2)}/64`] },
                owner: `${RUN_OWNER}link6-${sfx}`,
            };
            const created = await links.create(inputs);
            try {
                for (const [side, pid] of [
                    ["a", pids.a],
                    ["b", pids.b],
                ] as const) {
                    assert.deepEqual(await ipv6Of("eth6", pid), [inputs[side].addresses![1]]);
                    assert.ok(await settled("eth6", pid), `${side}'s IPv6 address valid when create returned`);
                }
                assert.ok(await ping6(ipv6Host(linkNet6, 2), pids.a), "a -> b over IPv6");
                assert.ok(await ping6(ipv6Host(linkNet6, 1), pids.b), "b -> a over IPv6");
                assert.ok(await ping(`${link4}.2`, pids.a), "and IPv4");
                assert.deepEqual((await links.read(created.id, created.outs)).props, created.outs, "read is clean");

                const news = { ...inputs, b: { ...inputs.b, addresses: [`${link4}.2/30`, `${ipv6Host(linkNet6, 3)}/64`] } };
                const diff = await links.diff(created.id, created.outs, news);
                assert.deepEqual([diff.changes, diff.replaces], [true, []]);
                const before = (await ipLink("eth6", pids.b))!.ifindex;
                const updated = await links.update(created.id, created.outs, news);
                created.outs = updated.outs;
                assert.deepEqual(await ipv6Of("eth6", pids.b), [`${ipv6Host(linkNet6, 3)}/64`]);
                assert.ok(await settled("eth6", pids.b));
                assert.equal((await ipLink("eth6", pids.b))!.ifindex, before, "the same pair");
                assert.ok(await ping6(ipv6Host(linkNet6, 3), pids.a), "a -> b at its new address");
            } finally {
                await links.delete(created.id, created.outs);
            }
            assert.equal(await ipLink("eth6", pids.a), undefined);
        });
    });

    describe("Bridge", () => {
        it("a created dual-stack bridge (fixed MAC: no carrier before its first port): create returns, its IPv6 address is detected once a port joins; link-local no drift; an IPv6 address removed by hand is put back", async () => {
            const name = `hnt-6r-${sfx}`;
            const b6 = (n: number) => ipv6Host(bridgeNet6, n);
            const b4 = `10.254.${runByte(6)}`;
            const inputs: BridgeInputs = {
                name,
                addresses: [`${b4}.1/24`, `${b6(1)}/64`],
                up: true,
                adopt: false,
                mac: "02:6e:74:00:00:01",
                forward: false,
                owner: `${RUN_OWNER}bridge6-${sfx}`,
            };
            const created = await bridges.create(inputs);
            try {
                assert.deepEqual(await ipv6Of(name), [`${b6(1)}/64`]);
                assert.ok((await ipLink(name))!.flags.includes("NO-CARRIER"), "a bridge with a fixed MAC has no carrier before a port");
                // A port: detection runs, and the bridge's IPv6 address becomes valid; the attachment's default route goes through it.
                const port = attachment({
                    container: containers.c,
                    bridge: name,
                    addresses: [`${b4}.5/24`, `${b6(5)}/64`],
                    containerIfName: "eth5",
                });
                await withAttachment(port, async (outs) => {
                    assert.ok(await eventually(() => settled(name), 10000), "the bridge's IPv6 address is valid once a port joined");
                    assert.equal(outs.effectiveIpv6Gateway, b6(1));
                    assert.ok(await ping6(b6(1), pids.c), "the container reaches the bridge over IPv6");
                    assert.ok(await ping6(b6(5)), "and the host the container");
                    assert.ok(
                        (await ipv6Addresses(name)).some((a) => a.scope === "link"),
                        "the kernel's link-local address is there",
                    );
                    const clean = await bridges.read(created.id, created.outs);
                    assert.deepEqual(clean.props, created.outs, "and no drift");

                    await sh(["ip", "addr", "del", `${b6(1)}/64`, "dev", name]);
                    const drift = await bridges.read(created.id, created.outs);
                    assert.deepEqual(drift.props.addresses, [`${b4}.1/24`]);
                    const diff = await bridges.diff(created.id, drift.props, inputs);
                    assert.deepEqual([diff.changes, diff.replaces], [true, []]);
                    const updated = await bridges.update(created.id, drift.props, inputs);
                    created.outs = updated.outs;
                    assert.deepEqual(await ipv6Of(name), [`${b6(1)}/64`]);
                    assert.ok(await settled(name), "valid when update returned (the bridge has a port: detection ran)");
                    assert.ok(await ping6(b6(1), pids.c));
                });
            } finally {
                await bridges.delete(created.id, created.outs);
            }
            assert.equal(await ipLink(name), undefined);
        });
    });

    describe("Docker networks with IPv6: Network, a container's static ipv6Address, NetworkAttachment", () => {
        it("a dual-stack Network; containers with static and Docker-picked IPv6 addresses reach each other (ping -6 both ways); a docker0 container joins it with its own IPv6 address, in place", async () => {
            const d6 = (n: number) => ipv6Host(dockerNet6, n);
            const net: NetworkInputs = {
                name: `hnt-6n-${sfx}`,
                subnet: `10.249.${runByte(7)}.0/24`,
                ipv6Subnet: dockerNet6,
                ipv6Range: `${d6(0x100)}/120`,
                bridgeName: `hnt-6nb-${sfx}`,
                internal: false,
                icc: true,
                masquerade: true,
                labels: {},
                owner: `${RUN_OWNER}net6-${sfx}`,
            };
            const made = await networks.create(net);
            const ctr = (name: string, over: Partial<DockerContainerInputs>): DockerContainerInputs => ({
                name: `hnt-6${name}-${sfx}`,
                image: "hostnet/busybox:1",
                command: ["sleep", "2147483647"],
                networkMode: made.id,
                labels: {},
                owner: `${RUN_OWNER}${name}6-${sfx}`,
                ...over,
            });
            const inspected = JSON.parse((await sh(["docker", "network", "inspect", made.id])).stdout)[0];
            assert.equal(inspected.EnableIPv6, true);
            assert.deepEqual(
                inspected.IPAM.Config.filter((c: { Subnet: string }) => c.Subnet.includes(":")),
                [{ Subnet: dockerNet6, IPRange: `${d6(0x100)}/120` }],
            );
            assert.deepEqual((await networks.read(made.id, made.outs)).props, made.outs, "read is clean");

            const api = await dockerContainers.create(ctr("api", { networks: [{ network: made.id, ipv6Address: d6(10) }] }));
            const cli = await dockerContainers.create(ctr("cli", { networks: [{ network: made.id }] }));
            const apiEp = Object.values<any>((await dockerInspect(api.id)).NetworkSettings.Networks)[0];
            const cliEp = Object.values<any>((await dockerInspect(cli.id)).NetworkSettings.Networks)[0];
            assert.equal(apiEp.GlobalIPv6Address, d6(10), "the static IPv6 address");
            const range = Array.from({ length: 256 }, (_, i) => d6(0x100 + i));
            assert.ok(
                range.includes(cliEp.GlobalIPv6Address),
                `Docker picked ${cliEp.GlobalIPv6Address} from the IPv6 range ${d6(0x100)}/120`,
            );
            assert.ok(await execPing6(`hnt-6cli-${sfx}`, d6(10)), "cli -> api over IPv6");
            assert.ok(await execPing6(`hnt-6api-${sfx}`, cliEp.GlobalIPv6Address), "api -> cli over IPv6");
            assert.deepEqual((await dockerContainers.read(api.id, api.outs)).props, api.outs, "the static address reads back as given");

            // A --net=bridge container (docker0 has IPv6 too) joins the network with a static IPv6 address, in place.
            const web = await dockerContainers.create(ctr("web", { networkMode: "bridge" }));
            const joined = await networkAttachments.create({ container: web.id, network: made.id, ipv6Address: d6(20) });
            const webEp = (await dockerInspect(web.id)).NetworkSettings.Networks[net.name];
            assert.equal(webEp.GlobalIPv6Address, d6(20));
            assert.equal(joined.outs.globalIpv6Address, d6(20));
            assert.ok(await execPing6(`hnt-6api-${sfx}`, d6(20)), "api -> web over IPv6");
            assert.ok(await execPing6(`hnt-6web-${sfx}`, d6(10)), "web -> api over IPv6");
            assert.deepEqual((await networkAttachments.read(joined.id, joined.outs)).props, joined.outs);
            const next = { container: web.id, network: made.id, ipv6Address: d6(21) };
            const diff = await networkAttachments.diff(joined.id, joined.outs, next);
            assert.deepEqual([diff.changes, diff.replaces], [true, []]);
            const moved = await networkAttachments.update(joined.id, joined.outs, next);
            const after = await dockerInspect(web.id);
            assert.equal(after.Id, web.id, "the same container");
            assert.equal(after.NetworkSettings.Networks[net.name].GlobalIPv6Address, d6(21));
            assert.ok(await execPing6(`hnt-6api-${sfx}`, d6(21)));

            // What a network without IPv6 cannot give, the preview refuses.
            const plain = await networks.create({
                ...net,
                name: `hnt-6p-${sfx}`,
                subnet: `10.248.${runByte(8)}.0/24`,
                ipv6Subnet: undefined,
                ipv6Range: undefined,
                bridgeName: `hnt-6pb-${sfx}`,
                owner: `${RUN_OWNER}plain6-${sfx}`,
            });
            const refused = await networkAttachments.check({}, { container: web.id, network: plain.id, ipv6Address: "fd17:99::5" });
            assert.deepEqual(
                refused.failures?.map((f) => f.reason),
                [
                    `\`ipv6Address\` fd17:99::5: network hnt-6p-${sfx} has no IPv6 subnet; make the network with \`ipv6Subnet\`, or drop \`ipv6Address\``,
                ],
            );
            await networkAttachments.delete(joined.id, moved.outs);
            for (const c of [api, cli, web]) await dockerContainers.delete(c.id, c.outs);
            await networks.delete(plain.id, plain.outs);
            await networks.delete(made.id, made.outs);
        });
    });
});
