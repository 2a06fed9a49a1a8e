// The Bridge provider against real bridges, read back with `ip -j`.

import * as assert from "node:assert/strict";
import { BridgeInputs, BridgeOutputs } from "../../packages/pulumi-hostnet/src/common/specs/bridge";
import { bridgeProvider } from "../../packages/pulumi-hostnet/src/engine/providers/bridge";
import { ipLink, ipv4Of, makeTestBridge, runByte, RUN_OWNER, sh, sweepRun, TEST_ALIAS, uniqueSuffix } from "../helpers/host";
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
                await assert.rejects(provider.update!(outs.name, outs, next), {
                    message: `failed to configure bridge "hnt-b-${sfx}": this kernel has no bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING); leave \`vlanFiltering\` unset or false`,
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
            const created = await provider.create!(inputs({ name, addresses: [`10.252.${net}.9/24`] }));
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
            const created = await provider.create!(inputs({ name, addresses: [`10.252.${net}.1/24`, `10.252.${net}.9/24`] }));
            assert.deepEqual(created.outs.addedAddresses, [`10.252.${net}.9/24`], "the bridge's own address was already there");
            const updated = await provider.update!(name, created.outs, inputs({ name, addresses: [`10.252.${net}.10/24`] }));
            assert.deepEqual(
                ipv4Of(await ipLink(name)).sort(),
                [`10.252.${net}.1/24`, `10.252.${net}.10/24`],
                "the bridge's own address stays",
            );
            await provider.delete!(name, updated.outs);
            assert.deepEqual(ipv4Of(await ipLink(name)), [`10.252.${net}.1/24`]);
        });

        it("docker0 is adopted and survives delete untouched", async () => {
            const before = await ipLink("docker0");
            const created = await provider.create!(inputs({ name: "docker0", addresses: undefined }));
            assert.equal(created.outs.adopted, true);
            const diff = await provider.diff!("docker0", created.outs, inputs({ name: "hnt-other" }));
            assert.equal(diff.deleteBeforeReplace, false, "an adopted bridge is not deleted, so nothing waits for it");
            await provider.delete!("docker0", created.outs);
            const after = await ipLink("docker0");
            assert.ok(after, "docker0 is still there");
            for (const key of ["ifindex", "mtu", "address", "ifalias", "flags"] as const) {
                assert.deepEqual(after[key], before?.[key], key);
            }
            assert.deepEqual(ipv4Of(after), ipv4Of(before));
        });

        it("refuses to adopt an interface that is not a bridge", async () => {
            await assert.rejects(provider.create!(inputs({ name: "lo", addresses: undefined })), {
                message: 'failed to adopt "lo": it exists and is a plain interface, not a bridge; choose another `name`',
            });
        });
    });
});
