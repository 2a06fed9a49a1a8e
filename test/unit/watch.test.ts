// `hostnet watch`'s pure parts: its arguments, and which resources of a
// stack's state a restarted container's heal targets. The watch itself runs
// end to end in test/e2e/watch.test.ts.

import * as assert from "node:assert/strict";
import { healTargets, parseWatchArgs, shortName } from "../../components/src/cli/watch";

const urn = (type: string, name: string) => `urn:pulumi:dev::hostnet::${type}::${name}`;
const DC = "hostnet:index:Container$pulumi-nodejs:dynamic/hostnet:DockerContainer";
const container = (name: string, id: string, extra: Record<string, any> = {}) => ({
    urn: urn(DC, name),
    type: "pulumi-nodejs:dynamic/hostnet:DockerContainer",
    id,
    inputs: { name: `hn-dev-${name}`, networkMode: "none", ...extra },
    outputs: { name: `hn-dev-${name}`, containerId: id, networkMode: "none", ...extra },
    dependencies: [],
});
const resource = (type: string, name: string, deps: string[], inputs: Record<string, any> = {}) => ({
    urn: urn(`pulumi-nodejs:dynamic/hostnet:${type}`, name),
    type: `pulumi-nodejs:dynamic/hostnet:${type}`,
    id: name,
    inputs,
    outputs: inputs,
    dependencies: deps,
});

describe("hostnet watch: arguments and heal targets", () => {
    it("parses its options, with defaults, and refuses bad ones naming the option", () => {
        assert.deepEqual(parseWatchArgs(["--stack", "dev", "--cwd", "/srv/p"]), {
            stack: "dev",
            cwd: "/srv/p",
            pulumi: undefined,
            debounceMs: 300,
            initialUp: true,
        });
        assert.equal(parseWatchArgs(["--stack", "dev", "--debounce", "0", "--no-initial-up"]).initialUp, false);
        assert.throws(() => parseWatchArgs([]), /`--stack` is required/);
        assert.throws(
            () => parseWatchArgs(["--stack", "dev", "--debounce", "1.5"]),
            /`--debounce` must be a whole number of milliseconds, 0-60000; got "1.5"/,
        );
        assert.throws(() => parseWatchArgs(["--stack", "dev", "--bogus"]), /Unknown option '--bogus'/);
    });

    it("a restarted container's heal targets it and everything depending on it, by dependency or by naming it; nothing else", () => {
        const seed = container("seed", "aaa111");
        const isolated = container("isolated", "bbb222");
        const web = container("web", "ccc333", { networkMode: "bridge" });
        const seedEth0 = resource("VethAttachment", "seed-eth0", [seed.urn], { container: "aaa111" });
        const isoEth0 = resource("VethAttachment", "isolated-eth0", [isolated.urn], { container: "bbb222" });
        const link = resource("VethLink", "seed-isolated", [seed.urn, isolated.urn, seedEth0.urn, isoEth0.urn], {
            a: { container: "aaa111" },
            b: { container: "bbb222" },
        });
        // Given by name, with no dependency recorded: found by its input.
        const byName = resource("VethAttachment", "by-name", [], { container: "hn-dev-seed" });
        // A sidecar of the seed, given by name: `container:<name>`.
        const sidecar = { ...container("side", "ddd444", { networkMode: "container:hn-dev-seed" }) };
        const webLab = resource("NetworkAttachment", "web-lab", [web.urn], { container: "ccc333" });
        const stack = { urn: urn("pulumi:pulumi:Stack", "hostnet-dev"), type: "pulumi:pulumi:Stack", dependencies: [] };
        const state = [stack, seed, isolated, web, seedEth0, isoEth0, link, byName, sidecar, webLab];
        assert.deepEqual(
            healTargets(state, seed).map((r) => shortName(r.urn)),
            [
                "DockerContainer seed",
                "VethAttachment seed-eth0",
                "VethLink seed-isolated",
                "VethAttachment by-name",
                "DockerContainer side",
            ],
        );
        assert.deepEqual(
            healTargets(state, web).map((r) => shortName(r.urn)),
            ["DockerContainer web", "NetworkAttachment web-lab"],
        );
    });
});
