// Addresses a Bridge adds to a bridge it adopts, against the fake kernel: an
// address carries no mark, so each is recorded on the host before it is added
// (components/src/host/records.ts). A killed run's address is recognised by
// its record and taken back; an address the resource did not add (there
// before it, added by hand, or another resource's) is never removed.

import * as assert from "node:assert/strict";
import { bridgeProvider } from "../../components/src/engine/providers/bridge";
import { BridgeInputs, BridgeOutputs } from "../../components/src/common/specs/bridge";
import type { Operation } from "../fakes/faults";
import { FakeHost, World } from "../fakes/world";
import { forTests } from "../helpers/providers";

const provider = forTests(bridgeProvider);
const OWNER = "hostnet/proj/stk/Bridge/shared";
const OTHER = "hostnet/proj/other/Bridge/shared";

const inputs = (addresses: string[], owner = OWNER): BridgeInputs => ({ name: "br-shared", addresses, up: true, adopt: true, owner });

/** `ip addr add <cidr>` or the netlink helper's addrAdd of it (both carry the `ip` arguments). */
function adds(op: Operation, cidr: string): boolean {
    return op.args?.[0] === "addr" && op.args[1] === "add" && op.args[2] === cidr;
}

function addresses(w: World): string[] {
    return w.kernel.host
        .byName("br-shared")!
        .addrs.map((a) => `${a.local}/${a.prefixlen}`)
        .sort();
}

for (const helper of [true, false])
    describe(`addresses added to an adopted bridge: recorded first, so that a killed run's are taken back and no one else's ever are (fake kernel, ${helper ? "netlink helper" : "ip commands"})`, function () {
        let host: FakeHost;
        let previousMode: string | undefined;
        before(async () => {
            // Without the helper, host work runs as ip commands through the fake's runner, never the real helper.
            previousMode = process.env.HOSTNET_HELPER;
            if (!helper) process.env.HOSTNET_HELPER = "off";
            host = await FakeHost.start();
        });
        after(async () => {
            if (previousMode === undefined) delete process.env.HOSTNET_HELPER;
            else process.env.HOSTNET_HELPER = previousMode;
            await host?.stop();
        });

        function world(): World {
            const w = host.world({ helper });
            w.kernel.addBridge("br-shared", { addrs: ["10.55.0.1/24"] });
            return w;
        }

        it("an update killed at any step, then destroyed with the state as it was before it: every address it added goes, with its record; the bridge's own stays", async () => {
            const w0 = world();
            const made = await provider.create(inputs(["10.55.1.1/24"]));
            w0.newProcess();
            await provider.update(made.id, made.outs, inputs(["10.55.2.1/24", "10.55.3.1/24"]));
            const steps = w0.faults.log.length;
            assert.ok(steps > 4, "the update made several operations");
            for (let seq = 1; seq <= steps; seq++) {
                const w = world();
                const prev = await provider.create(inputs(["10.55.1.1/24"]));
                w.newProcess();
                w.faults.at(seq, { kind: "crash" });
                await provider.update(prev.id, prev.outs, inputs(["10.55.2.1/24", "10.55.3.1/24"])).catch(() => undefined);
                w.newProcess();
                await provider.delete(prev.id, prev.outs);
                assert.deepEqual(addresses(w), ["10.55.0.1/24"], `killed before #${seq}: only the bridge's own address is left`);
                assert.deepEqual(w.snapshot().files ?? {}, {}, `killed before #${seq}: no record is left`);
            }
        });

        it("an address someone adds by hand between the adoption's read and its add is never removed: the adoption fails, takes back what it added and its records, and leaves that one", async () => {
            const w = world();
            // A person adds .2.1 right before the provider does.
            w.faults.where(
                (op) => {
                    if (adds(op, "10.55.2.1/24")) w.kernel.host.byName("br-shared")!.addrs.push({ local: "10.55.2.1", prefixlen: 24 });
                    return false;
                },
                { kind: "fail" },
            );
            await assert.rejects(
                provider.create(inputs(["10.55.1.1/24", "10.55.2.1/24"])),
                /failed to add address 10\.55\.2\.1\/24 to bridge br-shared: .*Address already assigned/,
            );
            assert.deepEqual(addresses(w), ["10.55.0.1/24", "10.55.2.1/24"], "its own .1.1 went back; the hand-made .2.1 stays");
            assert.deepEqual(w.snapshot().files ?? {}, {}, "no record is left");
        });

        it("an address another resource recorded (its run killed before adding it) is refused at check, naming it; once that one adds it, it is there before this resource and never taken back by it", async () => {
            const w = world();
            // The other resource's run: its record written, then killed before its add.
            w.faults.where((op) => adds(op, "10.55.4.1/24"), { kind: "crash" });
            await provider.create(inputs(["10.55.4.1/24"], OTHER)).catch(() => undefined);
            w.newProcess();
            const checked = await provider.check({}, inputs(["10.55.4.1/24"]));
            assert.equal(checked.failures?.length, 1);
            assert.match(
                checked.failures![0].reason,
                /^`addresses`: 10\.55\.4\.1\/24 is recorded on bridge br-shared as added by Bridge "shared" of stack proj\/other, but is not there \(a run of it was interrupted\)/,
            );
            // The other's next run adds it; this resource then adopts the bridge with it already there.
            w.newProcess();
            const theirs = await provider.create(inputs(["10.55.4.1/24"], OTHER));
            w.newProcess();
            const mine = await provider.create(inputs(["10.55.4.1/24"]));
            assert.deepEqual(mine.outs.addedAddresses, [], "it was there before this resource");
            w.newProcess();
            await provider.delete(mine.id, mine.outs);
            assert.deepEqual(addresses(w), ["10.55.0.1/24", "10.55.4.1/24"], "this resource's delete leaves the other's address");
            w.newProcess();
            await provider.delete(theirs.id, theirs.outs);
            assert.deepEqual(addresses(w), ["10.55.0.1/24"]);
            assert.deepEqual(w.snapshot().files ?? {}, {});
        });

        it("a refresh after a killed update counts the address it added as this resource's; with the program back to the old addresses, the update takes it back", async () => {
            const w = world();
            const prev = await provider.create(inputs(["10.55.1.1/24"]));
            w.newProcess();
            // Killed right after adding .5.1 (its result lost).
            w.faults.where((op) => op.layer !== "file" && op.mutating && !op.text.includes("10.55.5.1"), { kind: "crash" });
            await provider.update(prev.id, prev.outs, inputs(["10.55.1.1/24", "10.55.5.1/24"])).catch(() => undefined);
            w.newProcess();
            assert.deepEqual(addresses(w), ["10.55.0.1/24", "10.55.1.1/24", "10.55.5.1/24"]);
            const read = await provider.read(prev.id, prev.outs);
            assert.deepEqual(read.props.addedAddresses, ["10.55.1.1/24", "10.55.5.1/24"]);
            const diff = await provider.diff(prev.id, read.props, inputs(["10.55.1.1/24"]));
            assert.equal(diff.changes, true, "an address it added that the program does not have is a change");
            const updated = await provider.update(prev.id, read.props as BridgeOutputs, inputs(["10.55.1.1/24"]));
            assert.deepEqual(addresses(w), ["10.55.0.1/24", "10.55.1.1/24"]);
            assert.deepEqual(updated.outs.addedAddresses, ["10.55.1.1/24"]);
            assert.deepEqual(Object.values(w.snapshot().files ?? {}), [
                `${w.kernel.host.byName("br-shared")!.ifindex} br-shared 10.55.1.1/24 ${OWNER}`,
            ]);
        });
    });
