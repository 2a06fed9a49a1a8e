// Baseline: the CNI bridge plugin (Debian's containernetworking-plugins), as a
// runtime calls it: per container a `docker inspect` for its PID, then the
// plugin's ADD on the bridge (docker0) with host-local IPAM (state in the run's scratch
// folder); DEL with the namespace path ADD used (what a runtime keeps). The
// plugin's result is checked against what the container then has.

import { checkAttached, checkDetached, Container, RUN } from "../lib/host";
import { existsSync } from "node:fs";
import { runOk } from "../lib/proc";
import { AddressPlan, Baseline, sum, Timing } from "./baseline";

export const CNI_BRIDGE = "/usr/lib/cni/bridge";

/** Installs Debian's containernetworking-plugins when the bridge plugin is missing. */
export async function ensureCniPlugin(log: (line: string) => void): Promise<void> {
    if (existsSync(CNI_BRIDGE)) return;
    log("installing Debian's containernetworking-plugins (the CNI bridge plugin baseline) ...");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "containernetworking-plugins"];
    await runOk("install containernetworking-plugins", install, { env }).catch(async () => {
        await runOk("update the package lists", ["apt-get", "update", "-qq"], { env });
        await runOk("install containernetworking-plugins", install, { env });
    });
    log(`installed ${CNI_BRIDGE}`);
}

export function cniBaseline(plan: AddressPlan, dataDir: string): Baseline {
    const netconf = JSON.stringify({
        cniVersion: "1.0.0",
        name: `hnb-${RUN}`,
        type: "bridge",
        bridge: plan.bridge,
        isGateway: false,
        ipMasq: false,
        ipam: {
            type: "host-local",
            ranges: [[{ subnet: plan.subnet, rangeStart: plan.first, rangeEnd: plan.last, gateway: plan.gateway }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir,
        },
    });
    const env = (command: string, c: Container, pid: number) => ({
        ...process.env,
        CNI_COMMAND: command,
        CNI_CONTAINERID: c.id,
        CNI_NETNS: `/proc/${pid}/ns/net`,
        CNI_IFNAME: "eth0",
        CNI_PATH: "/usr/lib/cni",
    });
    const pids = new Map<string, number>();
    return {
        name: "CNI bridge",
        ops: ["add", "del"],
        async attach(cs) {
            const got = new Map<number, string>();
            const timings: Timing[] = [];
            for (const [i, c] of cs.entries()) {
                const inspect = await runOk(`inspect ${c.name}`, ["docker", "inspect", "-f", "{{.State.Pid}}", c.name]);
                const pid = Number(inspect.stdout.trim());
                const add = await runOk(`CNI ADD ${c.name}`, [CNI_BRIDGE], { env: env("ADD", c, pid), input: netconf });
                timings.push(inspect, add);
                pids.set(c.id, pid);
                const result = JSON.parse(add.stdout) as { ips?: { address: string }[] };
                const address = result.ips?.[0]?.address;
                if (!address) throw new Error(`CNI ADD ${c.name}: the plugin's result has no address: ${add.stdout.trim()}`);
                got.set(i, address);
            }
            await checkAttached("CNI bridge ADD", cs, (i) => got.get(i)!, plan.gateway);
            return sum(timings);
        },
        async detach(cs) {
            const timings: Timing[] = [];
            for (const c of cs) {
                const del = await runOk(`CNI DEL ${c.name}`, [CNI_BRIDGE], { env: env("DEL", c, pids.get(c.id) ?? c.pid), input: netconf });
                timings.push(del);
            }
            await checkDetached("CNI bridge DEL", cs);
            return sum(timings);
        },
    };
}
