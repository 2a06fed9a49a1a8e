// The one table of what each `--net` mode refuses, pinned: every use against
// every mode. Program-side refusals (components) and engine-side ones
// (providers, against the live mode) both read this table.

import * as assert from "node:assert/strict";
import { ModeUse, modeRefusal, NetMode, netModeOf } from "../../components/src/common/modes";

const MODES: NetMode[] = ["none", "bridge", "host", "container", "networks"];

describe("modes: what each --net mode refuses", () => {
    const refused: Record<ModeUse, NetMode[]> = {
        ports: ["host", "container"],
        vethAttachment: ["host", "container"],
        macvlanAttachment: ["host", "container"],
        vethLink: ["host", "container"],
        networkAttachment: ["none", "host", "container"],
        containerTarget: ["host", "container"],
        policyEndpoint: ["host"],
        probe: [],
    };
    for (const [use, modes] of Object.entries(refused) as [ModeUse, NetMode[]][]) {
        it(`${use}: refused by ${modes.join(", ") || "no mode"} with a reason, taken by the rest`, () => {
            for (const mode of MODES) {
                const why = modeRefusal(use, mode);
                if (modes.includes(mode)) assert.match(why ?? "", /^(it|the container|Docker) .{20,}/, `${use} on ${mode}`);
                else assert.equal(why, undefined, `${use} on ${mode}`);
            }
        });
    }

    it("reads Docker's HostConfig.NetworkMode: container:<id> -> container, default -> bridge, a name -> networks", () => {
        assert.deepEqual(["none", "host", "bridge", "default", "container:0123abcd", "hn-dev-lab"].map(netModeOf), [
            "none",
            "host",
            "bridge",
            "bridge",
            "container",
            "networks",
        ]);
    });
});
