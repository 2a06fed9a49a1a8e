// Baseline: the seed's manual procedure (../shared/seed/README.md, section 4)
// as a serial script (seed.sh), one bash process for all N attachments, with
// fixed addresses on the bridge (docker0).

import { join } from "node:path";
import { checkAttached, checkDetached, netnsPrefix, RUN, seedHostPrefix, seedPeerPrefix } from "../lib/host";
import { runOk } from "../lib/proc";
import type { AddressPlan, Baseline } from "./baseline";

export function seedBaseline(plan: AddressPlan): Baseline {
    const script = join(__dirname, "seed.sh");
    const names = (i: number) => ({ a: `${seedHostPrefix(RUN)}${i}`, b: `${seedPeerPrefix(RUN)}${i}`, ns: `${netnsPrefix(RUN)}${i}` });
    return {
        name: "seed script",
        ops: ["add", "del"],
        async attach(cs) {
            const args = cs.flatMap((c, i) => {
                const n = names(i);
                return [c.name, plan.cidr(i), n.a, n.b, n.ns];
            });
            const r = await runOk("run the seed procedure", ["bash", script, "attach", plan.bridge, ...args]);
            await checkAttached("seed script", cs, plan.cidr, plan.gateway);
            return { ms: r.ms, cpuMs: r.cpuMs };
        },
        async detach(cs) {
            const args = cs.flatMap((_c, i) => [names(i).a, names(i).ns]);
            const r = await runOk("undo the seed procedure", ["bash", script, "detach", ...args]);
            await checkDetached("seed script detach", cs);
            return { ms: r.ms, cpuMs: r.cpuMs };
        },
    };
}
