// The VethAttachment provider's methods, called directly against real
// containers, a real bridge and real veth pairs on this host. Every assertion
// reads the host back with `ip -j` / nsenter / ping, not through the provider.
// Suites run in the order written (mocha runs a suite's own tests before its
// nested suites, so every test here sits in a nested suite).

import * as assert from "node:assert/strict";
import { VethAttachmentInputs, VethAttachmentOutputs } from "../../components/src/common/specs/vethAttachment";
import { forgetObservations } from "../../components/src/engine/observe";
import { vethAttachmentProvider } from "../../components/src/engine/providers/vethAttachment";
import {
    containerPid,
    eventually,
    ipDefaultRoutes,
    ipLink,
    ipv4Of,
    makeForeignLink,
    makeTestBridge,
    ping,
    runByte,
    RUN_OWNER,
    sh,
    startTestContainer,
    sweepRun,
    TEST_ALIAS,
    uniqueSuffix,
} from "../helpers/host";
import { forTests } from "../helpers/providers";
const provider = forTests(vethAttachmentProvider);

describe("VethAttachment provider on the real host", function () {
    const sfx = uniqueSuffix();
    const net = runByte(1);
    const bridge = `hnt-br-${sfx}`;
    const bridgeIp = `10.251.${net}.1`;
    const container = `hnt-c-${sfx}`;
    const hostIf = `hnt-v-${sfx}`;
    let pid: number;

    const inputs = (over: Partial<VethAttachmentInputs> = {}): VethAttachmentInputs => ({
        container,
        bridge,
        address: `10.251.${net}.2/24`,
        defaultRoute: true,
        containerIfName: "eth0",
        hostIfName: hostIf,
        owner: `${RUN_OWNER}veth-${sfx}`,
        ...over,
    });

    /** Runs `body` with an attachment created from `over`, deleting it afterwards whatever happens. */
    async function withAttachment(
        over: Partial<VethAttachmentInputs>,
        body: (outs: VethAttachmentOutputs) => Promise<void>,
    ): Promise<void> {
        const created = await provider.create!(inputs(over));
        try {
            await body(created.outs);
        } finally {
            await provider.delete!(created.id, created.outs);
        }
    }

    before(async () => {
        await makeTestBridge(bridge, `${bridgeIp}/24`);
        await startTestContainer(container);
        pid = await containerPid(container);
    });

    after(async () => {
        await sweepRun();
    });

    describe("create -> read -> drift -> update -> delete", () => {
        let outs: VethAttachmentOutputs;

        it("check reports bad fields without creating anything", async () => {
            const result = await provider.check!({}, inputs({ address: "10.251.0.2", hostIfName: "x".repeat(16) }));
            assert.deepEqual(
                result.failures!.map((f) => f.property),
                ["address", "hostIfName"],
            );
            assert.equal(await ipLink(hostIf), undefined);
            assert.equal(await ipLink("eth0", pid), undefined);
        });

        it("create does the seed's procedure: host end on the bridge, eth0 in the container, address, default route", async () => {
            const created = await provider.create!(inputs());
            outs = created.outs;
            assert.equal(created.id, hostIf);

            const host = await ipLink(hostIf);
            assert.ok(host, "host end exists");
            assert.equal(host.master, bridge);
            assert.equal(host.ifalias, `${RUN_OWNER}veth-${sfx}`);
            assert.ok(host.flags.includes("UP"));
            assert.equal(host.linkinfo?.info_kind, "veth");

            const eth0 = await ipLink("eth0", pid);
            assert.ok(eth0, "eth0 exists in the container");
            assert.equal(eth0.ifindex, host.link_index, "eth0 is the host end's peer");
            assert.deepEqual(ipv4Of(eth0), [`10.251.${net}.2/24`]);
            assert.ok(eth0.flags.includes("UP"));
            assert.deepEqual(
                (await ipDefaultRoutes(pid)).map((r) => [r.gateway, r.dev]),
                [[bridgeIp, "eth0"]],
            );
            assert.equal(outs.effectiveGateway, bridgeIp, "gateway defaults to the bridge's address");
        });

        it("traffic flows: host -> container and container -> bridge", async () => {
            assert.ok(await ping(`10.251.${net}.2`), "host pings the container");
            assert.ok(await ping(bridgeIp, pid), "container pings the bridge");
        });

        it("read returns exactly what create recorded when nothing drifted", async () => {
            const read = await provider.read!(outs.hostIfName, outs);
            assert.deepEqual(read, { id: outs.hostIfName, props: outs });
            assert.equal((await provider.diff!(outs.hostIfName, read.props, inputs())).changes, false);
        });

        it("read sees an address removed by hand; update repairs address and route in place", async () => {
            const ifindex = (await ipLink(hostIf))!.ifindex;
            await sh(["nsenter", "-t", String(pid), "-n", "ip", "addr", "del", `10.251.${net}.2/24`, "dev", "eth0"]);
            const read = await provider.read!(outs.hostIfName, outs);
            assert.equal(read.props.address, "");
            assert.equal(read.props.effectiveGateway, "", "the default route went with the address");
            const diff = await provider.diff!(outs.hostIfName, read.props, inputs());
            assert.deepEqual([diff.changes, diff.replaces], [true, []]);
            outs = (await provider.update!(outs.hostIfName, read.props, inputs())).outs;
            assert.deepEqual(ipv4Of(await ipLink("eth0", pid)), [`10.251.${net}.2/24`]);
            assert.deepEqual(
                (await ipDefaultRoutes(pid)).map((r) => r.gateway),
                [bridgeIp],
            );
            assert.equal((await ipLink(hostIf))!.ifindex, ifindex, "not recreated");
        });

        it("read sees the host end set down by hand; update brings it up", async () => {
            await sh(["ip", "link", "set", "dev", hostIf, "down"]);
            const read = await provider.read!(outs.hostIfName, outs);
            assert.equal(read.props.up, false);
            assert.equal((await provider.diff!(outs.hostIfName, read.props, inputs())).changes, true);
            outs = (await provider.update!(outs.hostIfName, read.props, inputs())).outs;
            assert.ok((await ipLink(hostIf))!.flags.includes("UP"));
            assert.ok(await ping(`10.251.${net}.2`));
        });

        it("changes address and MTU in place, and re-sets the route; the pair is not recreated", async () => {
            const ifindex = (await ipLink(hostIf))!.ifindex;
            const next = inputs({ address: `10.251.${net}.7/24`, mtu: 1400 });
            const diff = await provider.diff!(outs.hostIfName, outs, next);
            assert.deepEqual([diff.changes, diff.replaces], [true, []]);
            outs = (await provider.update!(outs.hostIfName, outs, next)).outs;
            const eth0 = await ipLink("eth0", pid);
            assert.deepEqual(ipv4Of(eth0), [`10.251.${net}.7/24`]);
            assert.equal(eth0!.mtu, 1400);
            assert.equal((await ipLink(hostIf))!.mtu, 1400);
            assert.equal((await ipLink(hostIf))!.ifindex, ifindex);
            assert.deepEqual(
                (await ipDefaultRoutes(pid)).map((r) => [r.gateway, r.dev]),
                [[bridgeIp, "eth0"]],
            );
            assert.ok(await ping(`10.251.${net}.7`));
        });

        it("changes the gateway, then turns the default route off and on, in place", async () => {
            let next = inputs({ address: `10.251.${net}.7/24`, mtu: 1400, gateway: `10.251.${net}.254` });
            outs = (await provider.update!(outs.hostIfName, outs, next)).outs;
            assert.deepEqual(
                (await ipDefaultRoutes(pid)).map((r) => r.gateway),
                [`10.251.${net}.254`],
            );
            next = inputs({ address: `10.251.${net}.7/24`, mtu: 1400, defaultRoute: false });
            assert.equal((await provider.diff!(outs.hostIfName, outs, next)).changes, true);
            outs = (await provider.update!(outs.hostIfName, outs, next)).outs;
            assert.deepEqual(await ipDefaultRoutes(pid), []);
            next = inputs({ address: `10.251.${net}.7/24`, mtu: 1400 });
            outs = (await provider.update!(outs.hostIfName, outs, next)).outs;
            assert.deepEqual(
                (await ipDefaultRoutes(pid)).map((r) => r.gateway),
                [bridgeIp],
            );
        });

        it("diff replaces (delete first) for container, bridge, names and MAC", async () => {
            const same = inputs({ address: outs.address, mtu: 1400 });
            for (const field of ["container", "bridge", "hostIfName", "containerIfName", "mac"] as const) {
                const diff = await provider.diff!(outs.hostIfName, outs, {
                    ...same,
                    [field]: field === "mac" ? "02:00:00:00:00:09" : "other",
                });
                assert.deepEqual(diff.replaces, [field], field);
                assert.equal(diff.deleteBeforeReplace, true);
            }
        });

        it("delete removes both ends; deleting again succeeds; read then reports it gone", async () => {
            await provider.delete!(outs.hostIfName, outs);
            assert.equal(await ipLink(hostIf), undefined);
            assert.equal(await ipLink("eth0", pid), undefined);
            await provider.delete!(outs.hostIfName, outs);
            assert.deepEqual(await provider.read!(outs.hostIfName, outs), {});
        });

        it("update refuses when the host end is gone, pointing to refresh", async () => {
            await assert.rejects(provider.update!(outs.hostIfName, outs, inputs()), {
                message: `failed to update "${hostIf}": the host end is gone or no longer this attachment's (the container may have restarted); run \`pulumi refresh\`, then \`pulumi up\` recreates it`,
            });
        });
    });

    describe("the preview's check of addresses held behind the bridge's ports", () => {
        // A second container holding an address on the bridge through a veth that no attachment of this stack made:
        // the check reads containers' namespaces only when a port asks for it, and these ports must.
        const holderName = `hnt-h-${sfx}`;
        const holderEnd = `hnt-hv-${sfx}`;
        const held = `10.251.${net}.77`;
        let holderPid: number;

        before(async () => {
            await startTestContainer(holderName);
            holderPid = await containerPid(holderName);
            await sh(["ip", "link", "add", "name", holderEnd, "type", "veth", "peer", "name", "eth7", "netns", String(holderPid)]);
            await sh(["ip", "link", "set", "dev", holderEnd, "master", bridge, "up"]);
            await sh(["nsenter", "-t", String(holderPid), "-n", "ip", "addr", "add", `${held}/24`, "dev", "eth7"]);
            await sh(["nsenter", "-t", String(holderPid), "-n", "ip", "link", "set", "eth7", "up"]);
        });

        after(async () => {
            // Unmarked: the sweep would not take it.
            await sh(["ip", "link", "del", "dev", holderEnd], { reject: false });
        });

        const refusal = `\`address\` ${held} on bridge ${bridge} is already held by eth7 of container "${holderName}" (host end "${holderEnd}"); choose a free address`;

        it("finds an address held behind a veth made by hand with no mark (a port beyond Docker's endpoints)", async () => {
            forgetObservations(); // a new deployment
            const { failures } = await provider.check!({}, inputs({ address: `${held}/24`, hostIfName: `hnt-w-${sfx}` }));
            assert.deepEqual(failures, [{ property: "address", reason: refusal }]);
        });

        it("finds it as well when another stack's mark is on that port", async () => {
            await sh(["ip", "link", "set", "dev", holderEnd, "alias", `${RUN_OWNER}other-stack`]);
            try {
                forgetObservations();
                const { failures } = await provider.check!({}, inputs({ address: `${held}/24`, hostIfName: `hnt-w-${sfx}` }));
                assert.deepEqual(failures, [{ property: "address", reason: refusal }]);
            } finally {
                await sh(["ip", "link", "set", "dev", holderEnd, "alias", ""], { reject: false });
            }
        });

        it("a free address passes", async () => {
            forgetObservations();
            const { failures } = await provider.check!({}, inputs({ address: `10.251.${net}.78/24`, hostIfName: `hnt-w-${sfx}` }));
            assert.deepEqual(failures, []);
        });
    });

    describe("ownership and refusals", () => {
        it("delete never removes an interface it did not make, and refresh does not claim it", async () => {
            const name = `hnt-f-${sfx}`;
            await makeForeignLink(name);
            try {
                const props = {
                    ...inputs({ hostIfName: name }),
                    containerId: container,
                    effectiveGateway: "",
                    bridgeAddress: "",
                    up: true,
                };
                await provider.delete!(name, props);
                assert.ok(await ipLink(name), "the interface is still there");
                assert.deepEqual(await provider.read!(name, props), {});
            } finally {
                await sh(["ip", "link", "del", "dev", name], { reject: false });
            }
        });

        it("refuses a host name that is taken, and leaves that interface alone", async () => {
            const name = `hnt-f-${sfx}`;
            await makeForeignLink(name);
            try {
                await assert.rejects(provider.create!(inputs({ hostIfName: name })), {
                    message: `failed to attach "${name}":\n  - \`hostIfName\` "${name}" is taken on the host (owned by "${TEST_ALIAS}"); choose another \`hostIfName\``,
                });
                assert.ok(await ipLink(name));
                assert.equal(await ipLink("eth0", pid), undefined);
            } finally {
                await sh(["ip", "link", "del", "dev", name], { reject: false });
            }
        });

        // A default route already in the container used to fail the create's last step (rolled back); it is now read
        // first, and refused before anything is made. A create failing halfway on this host, and its rollback, is
        // test/host/dualstack.provider.test.ts's duplicate address; every step's is test/unit/faults.test.ts's.
        it("a default route already in the container is refused at the start of create, before anything is made", async () => {
            await sh(["nsenter", "-t", String(pid), "-n", "ip", "route", "add", "default", "dev", "lo"]);
            try {
                await assert.rejects(provider.create!(inputs()), {
                    message: `failed to attach "${hostIf}":\n  - \`defaultRoute\`: container "${container}" already has a default route (dev lo); set \`defaultRoute: false\` on this attachment, or remove the other route`,
                });
                assert.equal(await ipLink(hostIf), undefined, "no host end made");
                assert.equal(await ipLink("eth0", pid), undefined, "no peer made");
            } finally {
                await sh(["nsenter", "-t", String(pid), "-n", "ip", "route", "del", "default", "dev", "lo"]);
            }
        });

        it("refuses, before touching anything: a missing bridge, a non-bridge, a bridge without address, a gateway off its subnet", async () => {
            await assert.rejects(provider.create!(inputs({ bridge: `hnt-no-${sfx}` })), {
                message: `failed to attach "${hostIf}":\n  - \`bridge\` "hnt-no-${sfx}" does not exist; create it first (a Bridge resource), or name an existing bridge`,
            });
            await assert.rejects(provider.create!(inputs({ bridge: "lo" })), {
                message: `failed to attach "${hostIf}":\n  - \`bridge\` "lo" is a plain interface, not a bridge; name a bridge`,
            });
            const bare = `hnt-e-${sfx}`;
            await makeForeignLink(bare);
            try {
                await assert.rejects(provider.create!(inputs({ bridge: bare })), {
                    message: `failed to attach "${hostIf}":\n  - bridge "${bare}" has no IPv4 address to use as the default gateway; set \`gateway\`, or \`defaultRoute: false\``,
                });
            } finally {
                await sh(["ip", "link", "del", "dev", bare], { reject: false });
            }
            await assert.rejects(provider.create!(inputs({ address: "10.99.0.5/24" })), {
                message: `failed to attach "${hostIf}":\n  - \`address\` 10.99.0.5/24 is outside the subnet of bridge ${bridge} (${bridgeIp}/24); choose an address in it`,
            });
            assert.equal(await ipLink(hostIf), undefined);
            assert.equal(await ipLink("eth0", pid), undefined);
        });

        it("refuses stopped containers and containers without a namespace of their own", async () => {
            const stopped = `hnt-s-${sfx}`;
            await startTestContainer(stopped);
            await sh(["docker", "kill", stopped]);
            await assert.rejects(provider.create!(inputs({ container: stopped })), {
                message: `failed to attach "${hostIf}":\n  - \`container\` "${stopped}" is exited, not running; start it first`,
            });
            const sharing = `hnt-k-${sfx}`;
            await startTestContainer(sharing, `container:${container}`);
            try {
                const targetId = (await sh(["docker", "inspect", "-f", "{{.Id}}", container])).stdout.trim();
                await assert.rejects(provider.create!(inputs({ container: sharing })), {
                    message: `failed to attach "${hostIf}":\n  - \`container\`: container "${sharing}" uses network mode container:${targetId}: it shares another container's network namespace; attach to that container instead`,
                });
                assert.equal(await ipLink(hostIf), undefined);
            } finally {
                // It keeps the target's namespace alive: gone, so that later tests see a restart for real.
                await sh(["docker", "rm", "-f", sharing]);
            }
        });

        it("a second attachment without a default route; the first keeps its route", async () => {
            await withAttachment({}, async () => {
                await withAttachment(
                    { hostIfName: `hnt-w-${sfx}`, containerIfName: "eth1", address: `10.251.${net}.3/24`, defaultRoute: false },
                    async (second) => {
                        assert.equal(second.effectiveGateway, "");
                        assert.deepEqual(
                            (await ipDefaultRoutes(pid)).map((r) => [r.gateway, r.dev]),
                            [[bridgeIp, "eth0"]],
                        );
                        assert.deepEqual(ipv4Of(await ipLink("eth1", pid)), [`10.251.${net}.3/24`]);
                        assert.ok(await ping(`10.251.${net}.3`));
                        const read = await provider.read!(second.hostIfName, second);
                        const again = inputs({
                            hostIfName: `hnt-w-${sfx}`,
                            containerIfName: "eth1",
                            address: `10.251.${net}.3/24`,
                            defaultRoute: false,
                        });
                        assert.equal((await provider.diff!(second.hostIfName, read.props, again)).changes, false, "no perpetual diff");
                    },
                );
                assert.equal(await ipLink("eth1", pid), undefined);
            });
        });

        it("a MAC given in upper case is stored as the kernel reports it", async () => {
            const checked = await provider.check!({}, inputs({ mac: "02:AB:CD:00:00:01" }));
            assert.equal(checked.inputs.mac, "02:ab:cd:00:00:01");
            await withAttachment(checked.inputs, async (outs) => {
                assert.equal((await ipLink("eth0", pid))?.address, "02:ab:cd:00:00:01");
                assert.deepEqual((await provider.read!(outs.hostIfName, outs)).props, outs);
            });
        });

        it("a restarted container loses the pair with its namespace; read reports it gone", async () => {
            const created = await provider.create!(inputs());
            await sh(["docker", "restart", "-t", "0", container]);
            pid = await containerPid(container);
            assert.ok(await eventually(async () => (await ipLink(hostIf)) === undefined), "the kernel removed the host end");
            assert.deepEqual(await provider.read!(created.id, created.outs), {});
            await provider.delete!(created.id, created.outs);
        });
    });
});
