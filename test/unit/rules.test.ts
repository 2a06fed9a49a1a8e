// The shared host rules (components/src/engine/rules.ts): each rule's one
// message, pinned here once, as every provider that lists the rule shows it.
// Which providers run which rule, at check and at create, and that each
// refuses there in these words, is test/unit/faults.test.ts's part.

import * as assert from "node:assert/strict";
import type { ContainerInspect } from "../../components/src/host/docker";
import { forgetLinkKinds } from "../../components/src/host/linkKinds";
import { setCommandRunner } from "../../components/src/host/run";
import { claim, resetClaims } from "../../components/src/engine/registry";
import {
    addressHeld,
    bridgeExists,
    claimedTwice,
    containerUsable,
    kernelKind,
    nameTaken,
    traceRules,
} from "../../components/src/engine/rules";

const OWNER = "hostnet/proj/stk/VethAttachment/web";

function inspect(mode: string, running = true, labels: Record<string, string> = {}): ContainerInspect {
    return {
        Id: "c0ffee",
        Name: "/web",
        State: { Running: running, Pid: running ? 42 : 0, Status: running ? "running" : "exited" },
        HostConfig: { NetworkMode: mode },
        Config: { Labels: labels },
    } as unknown as ContainerInspect;
}

describe("shared host rules: one message each", () => {
    beforeEach(() => resetClaims());
    after(() => resetClaims());

    it('claimed-twice: "<subject> is also claimed by <owner> in this deployment; give each its own, ..." (a claimer\'s #part not shown)', () => {
        assert.equal(claimedTwice("name", '`name` "br0"', undefined), undefined);
        assert.deepEqual(claimedTwice("a", '`a.ifName` "eth1" in container "web"', "hostnet/proj/stk/VethLink/l2#a"), {
            property: "a",
            reason: '`a.ifName` "eth1" in container "web" is also claimed by VethLink "l2" of stack proj/stk in this deployment; give each its own, or declare it once and pass that resource around',
        });
    });

    it('name-taken: "`field` "name" is taken <where> (owner); choose another `leaf`"', () => {
        assert.equal(nameTaken("hostIfName", "hostIfName", "hn-web", "on the host", undefined), undefined);
        assert.deepEqual(nameTaken("b", "b.ifName", "eth1", 'in container "db"', { mark: null }), {
            property: "b",
            reason: '`b.ifName` "eth1" is taken in container "db" (not made by this library); choose another `ifName`',
        });
    });

    it('address-held: "<subject> <where> is already held by <holder>; choose a free address"', () => {
        assert.equal(addressHeld("address", "`address` 10.0.0.5", "on bridge br0", undefined), undefined);
        assert.deepEqual(addressHeld("address", "`address` 10.0.0.5", "on bridge br0", 'container "db"'), {
            property: "address",
            reason: '`address` 10.0.0.5 on bridge br0 is already held by container "db"; choose a free address',
        });
    });

    it("container-usable: missing (unless this deployment makes it), stopped (unless its stack starts it), and the one mode wording", () => {
        const how = { use: "vethAttachment" as const, running: true, owner: OWNER };
        assert.equal(containerUsable("container", "container", "web", inspect("none"), how), undefined);
        assert.deepEqual(containerUsable("container", "container", "web", undefined, how), {
            property: "container",
            reason: '`container` "web" does not exist; create it first, or pass the Container resource that makes it',
        });
        claim("container", ["web"], "hostnet/proj/stk/DockerContainer/web");
        assert.equal(containerUsable("container", "container", "web", undefined, how), undefined, "made in this deployment");
        assert.deepEqual(containerUsable("container", "container", "web", inspect("none", false), how), {
            property: "container",
            reason: '`container` "web" is exited, not running; start it first',
        });
        const ours = inspect("none", false, { "io.hostnet.owner": "hostnet/proj/stk/DockerContainer/web" });
        assert.equal(containerUsable("container", "container", "web", ours, how), undefined, "its stack starts it");
        assert.equal(containerUsable("container", "container", "web", inspect("none", false), { ...how, running: false }), undefined);
        assert.deepEqual(containerUsable("container", "container", "web", inspect("container:abc"), how), {
            property: "container",
            reason: '`container`: container "web" uses network mode container:abc: it shares another container\'s network namespace; attach to that container instead',
        });
    });

    it('bridge-exists: "does not exist[ on host b]; create it first (a Bridge resource[ on that host]), ..." or "is a <kind> interface, not a bridge; name a bridge"', () => {
        assert.equal(bridgeExists("bridge", "bridge", "br0", { kind: "bridge" }), undefined);
        assert.deepEqual(bridgeExists("bridge", "bridge", "br0", undefined), {
            property: "bridge",
            reason: '`bridge` "br0" does not exist; create it first (a Bridge resource), or name an existing bridge',
        });
        assert.deepEqual(bridgeExists("", "b.bridge", "br0", undefined, " on host hb"), {
            property: "",
            reason: '`b.bridge` "br0" does not exist on host hb; create it first (a Bridge resource on that host), or name an existing bridge',
        });
        assert.deepEqual(bridgeExists("bridge", "bridge", "lo", { kind: "plain" }), {
            property: "bridge",
            reason: '`bridge` "lo" is a plain interface, not a bridge; name a bridge',
        });
        claim("bridge", ["br9"], "hostnet/proj/stk/Bridge/lan");
        assert.equal(bridgeExists("bridge", "bridge", "br9", undefined), undefined, "made in this deployment");
    });

    it('kernel-kind: "`kind` ipvlan: this kernel has no ipvlan support; <instead>, or run on a kernel built with ipvlan links (CONFIG_IPVLAN)"', async () => {
        // The probe's answer as this machine's kernel gives it for a kind it lacks.
        const previous = setCommandRunner(async () => ({ exitCode: 2, stdout: "", stderr: "Error: Unknown device type." }));
        forgetLinkKinds();
        try {
            const traced = await traceRules(() => kernelKind("kind", "kind", "ipvlan", "use kind macvlan"));
            assert.deepEqual(traced.rules, ["kernel-kind"]);
            assert.deepEqual(traced.result, {
                property: "kind",
                reason: "`kind` ipvlan: this kernel has no ipvlan support; use kind macvlan, or run on a kernel built with ipvlan links (CONFIG_IPVLAN)",
            });
        } finally {
            setCommandRunner(previous);
            forgetLinkKinds();
        }
    });
});
