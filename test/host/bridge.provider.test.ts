// The Bridge provider against real bridges, read back with `ip -j`.

import * as assert from "node:assert/strict";
import { BridgeInputs, BridgeOutputs } from "../../components/src/common/specs/bridge";
import { bridgeProvider } from "../../components/src/engine/providers/bridge";
import {
    containerPid,
    firewallRules,
    ipLink,
    ipv4Of,
    makeTestBridge,
    ping,
    RUN,
    runByte,
    RUN_OWNER,
    sh,
    startTestContainer,
    sweepRun,
    TEST_ALIAS,
    uniqueSuffix,
    unusedSubnets,
} from "../helpers/host";
import { forTests } from "../helpers/providers";
const provider = forTests(bridgeProvider);

describe("Bridge provider on the real host", function () {
    const sfx = uniqueSuffix();
    const net = runByte(2);
    const inputs = (over: Partial<BridgeInputs> = {}): BridgeInputs => ({
        name: `hnt-b-${sfx}`,
        addresses: [`10.253.${net}.1/24`],
        up: true,
        owner: `${RUN_OWNER}bridge-${sfx}`,
        ...over,
    });

    after(async () => {
        await sweepRun();
    });

    describe("a bridge the stack creates", () => {
        let outs: BridgeOutputs;

        it("create makes it, marked, addressed and up", async () => {
            outs = (await provider.create!(inputs({ stp: true }))).outs;
            assert.equal(outs.adopted, false);
            const link = await ipLink(`hnt-b-${sfx}`);
            assert.equal(link?.linkinfo?.info_kind, "bridge");
            assert.equal(link?.ifalias, `${RUN_OWNER}bridge-${sfx}`);
            assert.deepEqual(ipv4Of(link), [`10.253.${net}.1/24`]);
            assert.ok(link?.flags.includes("UP"));
            const detail = JSON.parse((await sh(["ip", "-j", "-d", "link", "show", "dev", `hnt-b-${sfx}`])).stdout)[0];
            assert.notEqual(detail.linkinfo.info_data.stp_state, 0);
        });

        it("read sees no drift; then sees an address added by hand", async () => {
            const read = await provider.read!(outs.name, outs);
            assert.deepEqual(read.props, outs);
            await sh(["ip", "addr", "add", `10.254.${net}.1/24`, "dev", `hnt-b-${sfx}`]);
            const drifted = await provider.read!(outs.name, outs);
            assert.deepEqual(drifted.props.addresses, [`10.253.${net}.1/24`, `10.254.${net}.1/24`]);
            const diff = await provider.diff!(outs.name, drifted.props, inputs({ stp: true }));
            assert.equal(diff.changes, true);
            assert.deepEqual(diff.replaces, []);
            outs = (await provider.update!(outs.name, drifted.props, inputs({ stp: true }))).outs;
            assert.deepEqual(ipv4Of(await ipLink(`hnt-b-${sfx}`)), [`10.253.${net}.1/24`]);
        });

        it("changes addresses, MTU and STP in place, keeping the interface", async () => {
            const ifindex = (await ipLink(`hnt-b-${sfx}`))!.ifindex;
            const next = inputs({ addresses: [`10.253.${net}.2/24`], mtu: 1400, stp: false });
            const diff = await provider.diff!(outs.name, outs, next);
            assert.deepEqual([diff.changes, diff.replaces], [true, []]);
            outs = (await provider.update!(outs.name, outs, next)).outs;
            const link = await ipLink(`hnt-b-${sfx}`);
            assert.equal(link!.ifindex, ifindex);
            assert.deepEqual(ipv4Of(link), [`10.253.${net}.2/24`]);
            assert.equal(link!.mtu, 1400);
            const detail = JSON.parse((await sh(["ip", "-j", "-d", "link", "show", "dev", `hnt-b-${sfx}`])).stdout)[0];
            assert.equal(detail.linkinfo.info_data.stp_state, 0);
        });

        it("VLAN filtering is turned on, or refused with the reason when the kernel lacks it", async () => {
            const probe = await sh(["ip", "link", "add", `hnt-p-${sfx}`, "alias", TEST_ALIAS, "type", "bridge", "vlan_filtering", "1"], {
                reject: false,
            });
            await sh(["ip", "link", "del", `hnt-p-${sfx}`], { reject: false });
            const next = inputs({ addresses: [`10.253.${net}.2/24`], mtu: 1400, stp: false, vlanFiltering: true });
            if (probe.exitCode === 0) {
                outs = (await provider.update!(outs.name, outs, next)).outs;
                const detail = JSON.parse((await sh(["ip", "-j", "-d", "link", "show", "dev", `hnt-b-${sfx}`])).stdout)[0];
                assert.equal(detail.linkinfo.info_data.vlan_filtering, 1);
            } else {
                const why =
                    "`vlanFiltering`: this kernel has no bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING); leave `vlanFiltering` unset or false, or run on a kernel built with it";
                // The preview reads it from the kernel; an update that gets there anyway gets the kernel's answer in the same words.
                assert.deepEqual(
                    ((await provider.check!(outs, next)).failures ?? []).map((f) => f.reason),
                    [why],
                );
                await assert.rejects(provider.update!(outs.name, outs, next), {
                    message: `failed to configure bridge "hnt-b-${sfx}": ${why}`,
                });
            }
        });

        it("a new name replaces it; delete removes it and is idempotent", async () => {
            const diff = await provider.diff!(outs.name, outs, inputs({ name: `hnt-c-${sfx}` }));
            assert.deepEqual(diff.replaces, ["name"]);
            assert.equal(diff.deleteBeforeReplace, true);
            await provider.delete!(outs.name, outs);
            assert.equal(await ipLink(`hnt-b-${sfx}`), undefined);
            await provider.delete!(outs.name, outs);
            assert.deepEqual(await provider.read!(outs.name, outs), {});
        });
    });

    describe("a bridge that already exists", () => {
        const name = `hnt-a-${sfx}`;

        before(async () => {
            await makeTestBridge(name, `10.252.${net}.1/24`);
        });

        it("is adopted: its own address kept, ours added, and on delete it survives with only ours taken back", async () => {
            const created = await provider.create!(inputs({ name, adopt: true, addresses: [`10.252.${net}.9/24`] }));
            assert.equal(created.outs.adopted, true);
            assert.deepEqual(ipv4Of(await ipLink(name)).sort(), [`10.252.${net}.1/24`, `10.252.${net}.9/24`]);
            const read = await provider.read!(name, created.outs);
            assert.deepEqual(read.props, created.outs, "the bridge's own address is not drift");
            await provider.delete!(name, created.outs);
            const link = await ipLink(name);
            assert.ok(link, "an adopted bridge is never deleted");
            assert.deepEqual(ipv4Of(link), [`10.252.${net}.1/24`]);
        });

        it("changing an adopted bridge's addresses removes only ones this resource added", async () => {
            const created = await provider.create!(inputs({ name, adopt: true, addresses: [`10.252.${net}.1/24`, `10.252.${net}.9/24`] }));
            assert.deepEqual(created.outs.addedAddresses, [`10.252.${net}.9/24`], "the bridge's own address was already there");
            const updated = await provider.update!(name, created.outs, inputs({ name, adopt: true, addresses: [`10.252.${net}.10/24`] }));
            assert.deepEqual(
                ipv4Of(await ipLink(name)).sort(),
                [`10.252.${net}.1/24`, `10.252.${net}.10/24`],
                "the bridge's own address stays",
            );
            await provider.delete!(name, updated.outs);
            assert.deepEqual(ipv4Of(await ipLink(name)), [`10.252.${net}.1/24`]);
        });

        it("each address added to an adopted bridge is recorded on the host first (a link in /run/hostnet/addresses naming the owner), and the record goes with the address", async () => {
            const owner = `${RUN_OWNER}rec-${sfx}`;
            const ifindex = (await ipLink(name))!.ifindex;
            const created = await provider.create!(inputs({ name, owner, adopt: true, addresses: [`10.252.${net}.21/24`] }));
            const path = `/run/hostnet/addresses/${name}@10.252.${net}.21_24`;
            assert.equal((await sh(["readlink", path])).stdout, `${ifindex} ${name} 10.252.${net}.21/24 ${owner}`);
            await provider.delete!(name, created.outs);
            assert.deepEqual(ipv4Of(await ipLink(name)), [`10.252.${net}.1/24`]);
            assert.equal((await sh(["readlink", path], { reject: false })).exitCode, 1, "the record is gone with the address");
        });

        it("an address a killed run added is recognised by its record: refresh counts it as this resource's and delete takes it back; one added by hand, unrecorded, stays", async () => {
            const owner = `${RUN_OWNER}killed-${sfx}`;
            const created = await provider.create!(inputs({ name, owner, adopt: true, addresses: [`10.252.${net}.31/24`] }));
            // What an update killed right after adding .32 leaves: its record and the address; the state still says .31 only.
            const ifindex = (await ipLink(name))!.ifindex;
            await sh(["ln", "-s", `${ifindex} ${name} 10.252.${net}.32/24 ${owner}`, `/run/hostnet/addresses/${name}@10.252.${net}.32_24`]);
            await sh(["ip", "addr", "add", `10.252.${net}.32/24`, "dev", name]);
            // And a person adds .33 by hand.
            await sh(["ip", "addr", "add", `10.252.${net}.33/24`, "dev", name]);
            const read = await provider.read!(name, created.outs);
            assert.deepEqual(read.props.addedAddresses, [`10.252.${net}.31/24`, `10.252.${net}.32/24`]);
            // The program no longer has .32 (nor ever had .33): the update takes .32 back, with its record.
            const diff = await provider.diff!(name, read.props, inputs({ name, owner, adopt: true, addresses: [`10.252.${net}.31/24`] }));
            assert.deepEqual([diff.changes, diff.replaces], [true, []]);
            // Destroy with the state as it was before the refresh (the killed run's result lost) takes it back too.
            await provider.delete!(name, created.outs);
            assert.deepEqual(
                ipv4Of(await ipLink(name)).sort(),
                [`10.252.${net}.1/24`, `10.252.${net}.33/24`],
                "only the hand-made .33 stays",
            );
            assert.deepEqual((await sh(["find", "/run/hostnet/addresses", "-name", `${name}@*`])).stdout, "", "no record is left");
            await sh(["ip", "addr", "del", `10.252.${net}.33/24`, "dev", name]);
        });

        it("an address recorded by another resource but not there (its run was killed before adding it) is refused at preview, naming it and `hostnet gc`", async () => {
            const other = `hostnet/test/${RUN}x/Bridge/other-${sfx}`;
            const ifindex = (await ipLink(name))!.ifindex;
            const path = `/run/hostnet/addresses/${name}@10.252.${net}.41_24`;
            await sh(["ln", "-s", `${ifindex} ${name} 10.252.${net}.41/24 ${other}`, path]);
            try {
                const checked = await provider.check({}, inputs({ name, adopt: true, addresses: [`10.252.${net}.41/24`] }));
                assert.deepEqual(checked.failures, [
                    {
                        property: "addresses",
                        reason:
                            `\`addresses\`: 10.252.${net}.41/24 is recorded on bridge ${name} as added by Bridge "other-${sfx}" of stack test/${RUN}x, but is not there (a run of it was interrupted); ` +
                            `let that stack's next \`up\` or \`destroy\` finish, or remove the record with \`hostnet gc --stack ${RUN}x --delete\` (project test); or choose another address`,
                    },
                ]);
            } finally {
                await sh(["rm", "-f", path]);
            }
        });

        it("docker0 is adopted and survives delete untouched", async () => {
            // docker0's carrier flags (LOWER_UP, NO-CARRIER) follow its ports, which other files' containers add and
            // remove at any moment (they run beside this one): with a port of this test's up throughout, a change of
            // flags can only be the provider's.
            await startTestContainer(`hnt-d0-${sfx}`, "bridge");
            const before = await ipLink("docker0");
            const created = await provider.create!(inputs({ name: "docker0", adopt: true, addresses: undefined }));
            assert.equal(created.outs.adopted, true);
            const diff = await provider.diff!("docker0", created.outs, inputs({ name: "hnt-other", adopt: true }));
            assert.equal(diff.deleteBeforeReplace, false, "an adopted bridge is not deleted, so nothing waits for it");
            await provider.delete!("docker0", created.outs);
            const after = await ipLink("docker0");
            assert.ok(after, "docker0 is still there");
            for (const key of ["ifindex", "mtu", "address", "ifalias", "flags"] as const) {
                assert.deepEqual(after[key], before?.[key], key);
            }
            assert.deepEqual(ipv4Of(after), ipv4Of(before));
            await sh(["docker", "rm", "-f", `hnt-d0-${sfx}`]);
        });

        it("a delete whose stored owner mark is missing never deletes an unmarked bridge", async () => {
            const unmarked = `hnt-u-${sfx}`;
            await sh(["ip", "link", "add", "name", unmarked, "type", "bridge"]);
            try {
                const props = { name: unmarked, up: true, adopted: false, addedAddresses: [] } as unknown as Parameters<
                    typeof provider.delete
                >[1];
                await provider.delete(unmarked, props);
                assert.ok(await ipLink(unmarked), "an unmarked bridge survives a delete that names it");
            } finally {
                await sh(["ip", "link", "del", unmarked], { reject: false });
            }
        });

        it("refuses to adopt an interface that is not a bridge", async () => {
            const lo = await sh(["ip", "-j", "addr", "show", "dev", "lo"]);
            await assert.rejects(provider.create!(inputs({ name: "lo", adopt: true, addresses: undefined })), {
                message:
                    'failed to set up bridge "lo":\n  - `name` "lo" is taken on the host by a plain interface, not a bridge; choose another `name`',
            });
            assert.equal((await sh(["ip", "-j", "addr", "show", "dev", "lo"])).stdout, lo.stdout, "lo is unchanged");
        });

        it("without `adopt`, the preview refuses a bridge that exists and is not this resource's, touching nothing", async () => {
            const before = (await sh(["ip", "-j", "addr", "show", "dev", name])).stdout;
            const checked = await provider.check({}, inputs({ name, addresses: [`10.252.${net}.9/24`] }));
            assert.deepEqual(checked.failures, [
                {
                    property: "adopt",
                    reason: `bridge "${name}" exists already (created by "${TEST_ALIAS}"); set \`adopt: true\` to use it without owning it (it is then never deleted), or choose another \`name\``,
                },
            ]);
            assert.equal((await sh(["ip", "-j", "addr", "show", "dev", name])).stdout, before);
        });
    });

    describe("ownership between stacks", () => {
        it("`adopt` of a bridge that does not exist is refused at preview", async () => {
            const checked = await provider.check({}, inputs({ name: `hnt-m-${sfx}`, adopt: true, owner: `${RUN_OWNER}m-${sfx}` }));
            assert.deepEqual(checked.failures, [
                {
                    property: "name",
                    reason: `\`name\` "hnt-m-${sfx}": there is no such bridge to adopt; create it first (the stack that owns it, with a Bridge without \`adopt\`), or drop \`adopt\``,
                },
            ]);
        });

        it("a created bridge keeps its fixed MAC as ports come and go", async () => {
            const mac = "02:aa:bb:cc:dd:01";
            const name = `hnt-x-${sfx}`;
            const created = await provider.create!(inputs({ name, mac, owner: `${RUN_OWNER}x-${sfx}`, addresses: [`10.255.${net}.1/24`] }));
            assert.equal((await ipLink(name))?.address, mac);
            await sh([
                "ip",
                "link",
                "add",
                "name",
                `hnt-xp-${sfx}`,
                "address",
                "02:00:00:00:00:01",
                "type",
                "veth",
                "peer",
                "name",
                `hnt-xq-${sfx}`,
            ]);
            await sh(["ip", "link", "set", "dev", `hnt-xp-${sfx}`, "alias", TEST_ALIAS, "master", name, "up"]);
            assert.equal((await ipLink(name))?.address, mac, "a port with a lower MAC does not change the bridge's");
            await sh(["ip", "link", "del", `hnt-xp-${sfx}`]);
            await provider.delete(name, created.outs);
        });

        it("the creator's delete is refused while another stack's (or a foreign) port is on it, naming it; then it goes", async () => {
            const name = `hnt-y-${sfx}`;
            const owner = `hostnet/test/${RUN}/Bridge/y-${sfx}`;
            const created = await provider.create!(inputs({ name, owner, addresses: [`10.249.${net}.1/24`] }));
            const port = `hnt-yp-${sfx}`;
            const otherStack = `hostnet/test/${RUN}x/VethAttachment/p-${sfx}`;
            try {
                await sh(["ip", "link", "add", "name", port, "type", "veth", "peer", "name", `hnt-yq-${sfx}`]);
                await sh(["ip", "link", "set", "dev", port, "alias", otherStack, "master", name]);
                await assert.rejects(provider.delete(name, created.outs), {
                    message: `failed to delete bridge "${name}": ports of others are still on it: ${port} (VethAttachment "p-${sfx}" of stack test/${RUN}x); remove them first (destroy the stacks that adopted this bridge), then run destroy again`,
                });
                assert.ok(await ipLink(name), "the bridge is still there");
            } finally {
                // Marked as another stack's, so the run's sweep would not take it: removed here.
                await sh(["ip", "link", "del", port], { reject: false });
            }
            await provider.delete(name, created.outs);
            assert.equal(await ipLink(name), undefined);
        });

        it("a bridge marked as this resource's (left by an interrupted run) is taken over, not adopted", async () => {
            const name = `hnt-z-${sfx}`;
            const owner = `${RUN_OWNER}z-${sfx}`;
            await sh(["ip", "link", "add", "name", name, "type", "bridge"]);
            await sh(["ip", "link", "set", "dev", name, "alias", owner]);
            const created = await provider.create!(inputs({ name, owner, addresses: [`10.248.${net}.1/24`] }));
            assert.equal(created.outs.adopted, false);
            const link = await ipLink(name);
            assert.deepEqual(ipv4Of(link), [`10.248.${net}.1/24`]);
            assert.ok(link?.flags.includes("UP"));
            await provider.delete(name, created.outs);
            assert.equal(await ipLink(name), undefined, "taken over, so deleted with the resource");
        });
    });

    describe("forwarding between the ports of a created bridge (Docker's FORWARD policy is DROP)", () => {
        const name = `hnt-f-${sfx}`;
        const owner = `${RUN_OWNER}forward-${sfx}`;
        let net24: string;
        const pids: number[] = [];
        let outs: BridgeOutputs;
        const want = (over: Partial<BridgeInputs> = {}) => inputs({ name, owner, addresses: [`${net24}.1/24`], forward: true, ...over });
        const ours = async () => (await firewallRules()).filter((r) => r.mark === owner);
        /** What Docker does to this host's firewall: then, without the rule, bridged traffic between containers is dropped. */
        const dockerDrops = async () =>
            (await sh(["iptables", "-w", "-S", "FORWARD"])).stdout.split("\n").includes("-P FORWARD DROP") &&
            (await sh(["sysctl", "-n", "net.bridge.bridge-nf-call-iptables"], { reject: false })).stdout.trim() === "1";

        before(async () => {
            net24 = (await unusedSubnets(1))[0].split(".").slice(0, 3).join(".");
            // Two --net=none containers, each with a veth on the bridge made by hand (the seed's procedure), marked as the test's.
            for (const i of [0, 1]) pids.push(await containerPid(await startTestContainer(`hnt-f${i}-${sfx}-${RUN}`)));
        });

        async function plugIn(): Promise<void> {
            for (const [i, pid] of pids.entries()) {
                const host = `hnt-f${i}-${sfx}`;
                await sh(["ip", "link", "add", "name", host, "type", "veth", "peer", "name", "eth0", "netns", String(pid)]);
                await sh(["ip", "link", "set", "dev", host, "alias", TEST_ALIAS, "master", name, "up"]);
                await sh(["nsenter", "--target", String(pid), "--net", "--", "ip", "addr", "add", `${net24}.${10 + i}/24`, "dev", "eth0"]);
                await sh(["nsenter", "--target", String(pid), "--net", "--", "ip", "link", "set", "dev", "eth0", "up"]);
            }
        }

        it("create puts one rule, marked with the owner, in Docker's DOCKER-USER chain: the containers reach each other", async () => {
            outs = (await provider.create!(want())).outs;
            await plugIn();
            const chain = (await sh(["iptables", "-w", "-S"])).stdout.split("\n").includes("-N DOCKER-USER") ? "DOCKER-USER" : "FORWARD";
            assert.deepEqual(await ours(), [{ chain, bridge: name, mark: owner }]);
            assert.equal(outs.forwardChain, chain);
            assert.ok(await ping(`${net24}.11`, pids[0]), "container 0 reaches container 1 across the bridge");
            // Idempotent: the same create again (a retried, interrupted run) adds no second rule.
            await provider.create!(want());
            assert.equal((await ours()).length, 1);
        });

        it("a rule removed by hand is drift: read reports it, update puts it back", async () => {
            await sh([
                "iptables",
                "-w",
                "-D",
                outs.forwardChain!,
                "-i",
                name,
                "-o",
                name,
                "-m",
                "comment",
                "--comment",
                owner,
                "-j",
                "ACCEPT",
            ]);
            const drifted = await provider.read!(name, outs);
            assert.equal(drifted.props.forward, false);
            const diff = await provider.diff!(name, drifted.props, want());
            assert.deepEqual([diff.changes, diff.replaces], [true, []]);
            outs = (await provider.update!(name, drifted.props, want())).outs;
            assert.equal((await ours()).length, 1);
            assert.deepEqual((await provider.read!(name, outs)).props, outs);
            assert.ok(await ping(`${net24}.11`, pids[0]));
        });

        it("`forward: false` takes the rule back in place; with Docker's DROP policy the containers no longer reach each other", async () => {
            const ifindex = (await ipLink(name))!.ifindex;
            outs = (await provider.update!(name, outs, want({ forward: false }))).outs;
            assert.deepEqual(await ours(), []);
            assert.equal(outs.forwardChain, undefined);
            assert.equal((await ipLink(name))!.ifindex, ifindex, "the bridge stays");
            if (await dockerDrops()) assert.equal(await ping(`${net24}.11`, pids[0]), false, "dropped without the rule");
            outs = (await provider.update!(name, outs, want())).outs;
            assert.equal((await ours()).length, 1);
        });

        it("a bridge deleted by hand whose rule is left stays in the state as gone: update makes it again (one rule); removed from the program, its delete takes the rule back", async () => {
            for (const i of [0, 1]) await sh(["ip", "link", "del", "dev", `hnt-f${i}-${sfx}`], { reject: false });
            await sh(["ip", "link", "del", "dev", name]);
            const read = await provider.read!(name, outs);
            assert.equal(read.id, name, "kept: its firewall rule is still there");
            assert.equal(read.props.gone, true);
            const diff = await provider.diff!(name, read.props, want());
            assert.deepEqual([diff.changes, diff.replaces], [true, []]);
            outs = (await provider.update!(name, read.props, want())).outs;
            const link = await ipLink(name);
            assert.equal(link?.ifalias, owner, "made again, marked");
            assert.deepEqual(ipv4Of(link), [`${net24}.1/24`]);
            assert.equal(outs.gone, undefined);
            assert.equal((await ours()).length, 1, "one rule");
            assert.deepEqual((await provider.read!(name, outs)).props, outs, "no drift after");

            await sh(["ip", "link", "del", "dev", name]);
            const again = await provider.read!(name, outs);
            await provider.delete!(name, again.props);
            assert.deepEqual(await ours(), [], "the Bridge removed from the program: its rule is gone");
            assert.deepEqual(await provider.read!(name, again.props), {}, "nothing of it is left: a refresh drops it");
            outs = (await provider.create!(want())).outs;
            await plugIn();
        });

        it("delete removes the rule with the bridge, and the rule alone when the bridge was deleted by hand", async () => {
            for (const i of [0, 1]) await sh(["ip", "link", "del", "dev", `hnt-f${i}-${sfx}`]);
            await provider.delete!(name, outs);
            assert.equal(await ipLink(name), undefined);
            assert.deepEqual(await ours(), []);
            outs = (await provider.create!(want())).outs;
            await sh(["ip", "link", "del", "dev", name]);
            await provider.delete!(name, outs);
            assert.deepEqual(await ours(), []);
            await provider.delete!(name, outs);
        });
    });
});
