// Baseline: `docker network connect` / `disconnect` of each container to a
// bench-made Docker network (Docker's own veth setup, through its CLI). The
// containers were disconnected from `none` beforehand, outside the timing.

import { checkAttached, checkDetached } from "../lib/host";
import { runOk } from "../lib/proc";
import { Baseline, sum, Timing } from "./baseline";

export function dockerConnectBaseline(network: { name: string; subnet: string }): Baseline {
    const [base, length] = network.subnet.split("/");
    const first = base.split(".").map(Number);
    const inSubnet = (cidr: string) => {
        const [a, l] = cidr.split("/");
        const o = a.split(".").map(Number);
        const blocks = 2 ** (24 - Number(length));
        return l === length && o[0] === first[0] && o[1] === first[1] && o[2] >= first[2] && o[2] < first[2] + blocks;
    };
    return {
        name: "docker network connect",
        ops: ["connect", "disconnect"],
        async attach(cs) {
            const timings: Timing[] = [];
            for (const c of cs) timings.push(await runOk(`connect ${c.name}`, ["docker", "network", "connect", network.name, c.name]));
            await checkAttached("docker network connect", cs, () => inSubnet, `${first.slice(0, 3).join(".")}.1`);
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
