// Baseline: `docker network connect` / `disconnect` of each container to a
// bench-made Docker network (Docker's own veth setup, through its CLI). The
// containers were disconnected from `none` beforehand, outside the timing.

import { checkAttached, checkDetached } from "../lib/host";
import { runOk } from "../lib/proc";
import { Baseline, sum, Timing } from "./baseline";

export function dockerConnectBaseline(network: { name: string; subnet: string }): Baseline {
    const prefix = network.subnet.split(".").slice(0, 3).join(".");
    return {
        name: "docker network connect",
        ops: ["connect", "disconnect"],
        async attach(cs) {
            const timings: Timing[] = [];
            for (const c of cs) timings.push(await runOk(`connect ${c.name}`, ["docker", "network", "connect", network.name, c.name]));
            await checkAttached(
                "docker network connect",
                cs,
                () => (cidr) => cidr.startsWith(`${prefix}.`) && cidr.endsWith("/24"),
                `${prefix}.1`,
            );
            return sum(timings);
        },
        async detach(cs) {
            const timings: Timing[] = [];
            for (const c of cs)
                timings.push(await runOk(`disconnect ${c.name}`, ["docker", "network", "disconnect", network.name, c.name]));
            await checkDetached("docker network disconnect", cs);
            return sum(timings);
        },
    };
}
