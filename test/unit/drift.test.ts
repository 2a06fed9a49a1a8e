// The drift read of a plain preview and up (components/src/engine/drift.ts),
// around a provider made here: what the diff plans from what its read says
// the host holds, what it warns, and what update is given. The real providers
// on the real host: test/e2e/driftPlain.test.ts.

import * as assert from "node:assert/strict";
import type * as pulumi from "@pulumi/pulumi";
import { driftedValues, driftReadOn, forgetReads, seeingDrift } from "../../components/src/engine/drift";
import { measured } from "../../components/src/engine/providers/probe";

type Props = Record<string, any>;

/** A provider whose host holds `host.now` (undefined: gone); its diff compares `address`, and replaces on `name`. */
function fakeProvider(host: { now: Props | undefined; reads: number; updatedFrom?: Props }): pulumi.dynamic.ResourceProvider {
    return {
        async diff(_id, olds: Props, news: Props) {
            const replaces = olds.name !== news.name ? ["name"] : [];
            return { changes: replaces.length > 0 || olds.address !== news.address, replaces, deleteBeforeReplace: true };
        },
        async read(id) {
            host.reads++;
            return host.now ? { id, props: { ...host.now } } : {};
        },
        async create(inputs) {
            return { id: "x", outs: inputs };
        },
        async update(_id, olds: Props, news: Props) {
            host.updatedFrom = olds;
            return { outs: news };
        },
    };
}

const recorded = { name: "n", address: "10.0.0.2/24", owner: "hostnet/p/s/VethAttachment/seed-eth0", __provider: "code" };

/** Runs `f` with console.warn collected. */
async function warnings<T>(f: () => Promise<T>): Promise<{ result: T; said: string[] }> {
    const said: string[] = [];
    const original = console.warn;
    console.warn = (...args: unknown[]) => void said.push(args.join(" "));
    try {
        return { result: await f(), said };
    } finally {
        console.warn = original;
    }
}

describe("drift read: a plain preview plans from what the host holds", () => {
    const saved = process.env.HOSTNET_DRIFT;
    beforeEach(() => {
        forgetReads();
        delete process.env.HOSTNET_DRIFT;
    });
    after(() => (saved === undefined ? delete process.env.HOSTNET_DRIFT : (process.env.HOSTNET_DRIFT = saved)));

    it("nothing drifted: the provider's own plan (no change), no warning", async () => {
        const host = { now: { name: "n", address: "10.0.0.2/24", owner: recorded.owner }, reads: 0 };
        const p = seeingDrift("VethAttachment", fakeProvider(host));
        const { result, said } = await warnings(() => p.diff!("x", recorded, { name: "n", address: "10.0.0.2/24" }));
        assert.equal(result.changes, false);
        assert.deepEqual(said, []);
        assert.equal(host.reads, 1);
    });

    it("gone from the host: a replacement, deleting first, with a warning naming the resource by its Pulumi name", async () => {
        const host = { now: undefined, reads: 0 };
        const p = seeingDrift("VethAttachment", fakeProvider(host));
        const { result, said } = await warnings(() => p.diff!("hn-seed", recorded, { name: "n", address: "10.0.0.2/24" }));
        assert.equal(result.changes, true);
        assert.equal(result.replaces?.length, 1);
        assert.equal(result.deleteBeforeReplace, true);
        assert.equal(said.length, 1);
        assert.match(said[0], /^warning: VethAttachment "seed-eth0" \(hn-seed\) is gone from the host/);
    });

    it("an address removed by hand: the diff of the live values (an update), and a warning with the path and both values", async () => {
        const host = { now: { name: "n", address: "", owner: recorded.owner }, reads: 0 };
        const p = seeingDrift("VethAttachment", fakeProvider(host));
        const { result, said } = await warnings(() => p.diff!("hn-seed", recorded, { name: "n", address: "10.0.0.2/24" }));
        assert.equal(result.changes, true);
        assert.deepEqual(result.replaces, []);
        assert.equal(said.length, 1);
        assert.match(said[0], /address: recorded "10\.0\.0\.2\/24", on the host ""; it will be updated in place$/);
    });

    it("update works from the live values, so that up repairs what the plan announced", async () => {
        const host: { now: Props; reads: number; updatedFrom?: Props } = {
            now: { name: "n", address: "", owner: recorded.owner },
            reads: 0,
        };
        const p = seeingDrift("VethAttachment", fakeProvider(host));
        await p.update!("hn-seed", recorded, { name: "n", address: "10.0.0.2/24" });
        assert.equal(host.updatedFrom?.address, "");
    });

    it("a change the program makes anyway (a replacement) plans without reading the host", async () => {
        const host = { now: undefined, reads: 0 };
        const p = seeingDrift("VethAttachment", fakeProvider(host));
        const result = await p.diff!("x", recorded, { name: "other", address: "10.0.0.2/24" });
        assert.deepEqual(result.replaces, ["name"]);
        assert.equal(host.reads, 0);
    });

    it("HOSTNET_DRIFT=off: the recorded outputs are the truth, the host is not read", async () => {
        process.env.HOSTNET_DRIFT = "off";
        const host = { now: undefined, reads: 0 };
        const p = seeingDrift("VethAttachment", fakeProvider(host));
        const result = await p.diff!("x", recorded, { name: "n", address: "10.0.0.2/24" });
        assert.equal(result.changes, false);
        assert.equal(host.reads, 0);
        assert.equal(driftReadOn({ HOSTNET_DRIFT: "0" }), false);
        assert.equal(driftReadOn({}), true);
    });

    it("a refresh's read is reused by the diff that follows it (one read per resource with `refresh: always`)", async () => {
        const live = { name: "n", address: "10.0.0.2/24", owner: recorded.owner };
        const host = { now: live, reads: 0 };
        const p = seeingDrift("VethAttachment", fakeProvider(host));
        const read = await p.read!("x", recorded);
        // The engine records the read's props (with the provider code) and diffs them against the program.
        await p.diff!("x", { ...read.props, __provider: "code" }, { name: "n", address: "10.0.0.2/24" });
        assert.equal(host.reads, 1);
        // Used once: the next diff reads the host again.
        await p.diff!("x", { ...read.props, __provider: "code" }, { name: "n", address: "10.0.0.2/24" });
        assert.equal(host.reads, 2);
    });

    it("drifted values are listed by path down to what differs", () => {
        assert.deepEqual(
            driftedValues(
                { networks: [{ network: "lab", ipv4Address: "10.40.0.10" }], up: true },
                { networks: [{ network: "lab", ipv4Address: "10.40.0.11" }], up: false },
            ),
            ['networks[0].ipv4Address: recorded "10.40.0.10", on the host "10.40.0.11"', "up: recorded true, on the host false"],
        );
        assert.deepEqual(driftedValues({ addresses: ["a", "b"] }, { addresses: ["a"] }), [
            'addresses: recorded ["a","b"], on the host ["a"]',
        ]);
        assert.deepEqual(driftedValues({ mtu: 1500 }, {}), ["mtu: recorded 1500, on the host nothing"]);
    });

    describe("a Probe (its read sends traffic): never read by a plain diff, run again after a repair on its path", () => {
        /** A probe provider that counts its reads (traffic) and whose own diff plans nothing. */
        const probeHost = { reads: 0 };
        const probeProvider: pulumi.dynamic.ResourceProvider = {
            async diff() {
                return { changes: false, replaces: [], deleteBeforeReplace: true };
            },
            async read(id, props) {
                probeHost.reads++;
                return { id, props };
            },
            async create(inputs) {
                return { id: "p", outs: inputs };
            },
            async update(_id, _olds, news) {
                return { outs: news };
            },
        };
        const probe = (from: string, to: Props, host?: string) => ({
            from,
            to,
            protocol: "icmp",
            expect: "reachable",
            address: to.address ?? "10.0.0.9",
            owner: `hostnet/p/s/Probe/${from}-probe`,
            ...(host ? { host: { name: host, ssh: { host: "10.0.0.1" } } } : {}),
            __provider: "code",
        });
        beforeEach(() => (probeHost.reads = 0));

        it("nothing repaired: no change, no traffic, no warning (a plain preview neither waits nor flaps)", async () => {
            const p = seeingDrift("Probe", probeProvider, measured);
            const olds = probe("ctr-seed", { address: "172.17.0.1" });
            const { result, said } = await warnings(() => p.diff!("x", olds, olds));
            assert.equal(result.changes, false);
            assert.equal(probeHost.reads, 0);
            assert.deepEqual(said, []);
        });

        it("a repair of a resource naming its container or its address: an update (it runs again after the repair), naming both", async () => {
            const attachment = seeingDrift("VethAttachment", fakeProvider({ now: undefined, reads: 0 }));
            await warnings(() =>
                attachment.diff!("hn-seed", { ...recorded, containerId: "ctr-seed" }, { name: "n", address: "10.0.0.2/24" }),
            );
            const p = seeingDrift("Probe", probeProvider, measured);
            const fromSeed = probe("ctr-seed", { address: "172.17.0.1" });
            const toSeed = probe("ctr-web", { address: "10.0.0.2" });
            const elsewhere = probe("ctr-cli", { container: "ctr-api" });
            const { result, said } = await warnings(() => p.diff!("p1", fromSeed, fromSeed));
            assert.equal(result.changes, true);
            assert.deepEqual(result.replaces, []);
            assert.match(
                said[0],
                /Probe "ctr-seed-probe" \(p1\) runs again after a repair on its path: VethAttachment "seed-eth0" \(hn-seed\) drifted/,
            );
            assert.equal((await warnings(() => p.diff!("p2", toSeed, toSeed))).result.changes, true, "its address");
            assert.equal((await warnings(() => p.diff!("p3", elsewhere, elsewhere))).result.changes, false, "another path");
            assert.equal(probeHost.reads, 0, "the diff sent nothing");
        });

        it("an attachment made again because its container is (removed by hand): the probes to its address run again", async () => {
            const container = seeingDrift("DockerContainer", fakeProvider({ now: undefined, reads: 0 }));
            await warnings(() =>
                container.diff!(
                    "ctr-seed",
                    { ...recorded, owner: "hostnet/p/s/DockerContainer/seed" },
                    { name: "n", address: "10.0.0.2/24" },
                ),
            );
            const attachment = seeingDrift("VethAttachment", fakeProvider({ now: undefined, reads: 0 }));
            const replaced = await attachment.diff!(
                "hn-seed",
                { ...recorded, address: "10.0.0.7/24", containerId: "ctr-seed" },
                { name: "new", address: "10.0.0.7/24" },
            );
            assert.deepEqual(replaced.replaces, ["name"]);
            const p = seeingDrift("Probe", probeProvider, measured);
            const toSeed = probe("ctr-web", { address: "10.0.0.7" });
            const { result, said } = await warnings(() => p.diff!("p1", toSeed, toSeed));
            assert.equal(result.changes, true);
            assert.match(said[0], /VethAttachment "seed-eth0" \(hn-seed\) is made again with a container this plan repairs$/);
        });

        it("a repaired Policy: every probe on its host runs again, none on another host", async () => {
            const policy = seeingDrift("Policy", fakeProvider({ now: undefined, reads: 0 }));
            await warnings(() =>
                policy.diff!("t", { ...recorded, owner: "hostnet/p/s/Policy/policy" }, { name: "n", address: "10.0.0.2/24" }),
            );
            const p = seeingDrift("Probe", probeProvider, measured);
            const here = probe("ctr-cli", { container: "ctr-api" });
            const there = probe("ctr-cli", { container: "ctr-api" }, "b");
            assert.equal((await warnings(() => p.diff!("p1", here, here))).result.changes, true);
            assert.equal((await warnings(() => p.diff!("p2", there, there))).result.changes, false);
        });
    });
});
