// Finds the network namespace of a running container, by the PID of its first
// process, and refuses containers whose mode (as Docker reports it) cannot
// take the resource, by the one table in common/modes.ts.
//
// Engine side: loaded by the dynamic-provider process.

import { ModeUse, modeRefusal, netModeOf } from "../../common/modes";
import * as docker from "../../host/docker";

export interface ContainerNetns {
    id: string;
    pid: number;
}

/** `what` starts the error message, e.g. `attach to` or `link`; `use` picks the mode rule. */
export async function containerNetns(container: string, what: string, use: ModeUse): Promise<ContainerNetns> {
    const c = await docker.inspectContainer(container);
    if (!c) {
        throw new Error(`failed to ${what} container "${container}": no such container; create it first (or pass its Container resource)`);
    }
    if (!c.State.Running || !c.State.Pid) {
        throw new Error(`failed to ${what} container "${container}": it is ${c.State.Status}, not running; start it first`);
    }
    const mode = netModeOf(c.HostConfig.NetworkMode);
    const why = modeRefusal(use, mode);
    if (why) {
        throw new Error(`failed to ${what} container "${container}": it uses network mode ${c.HostConfig.NetworkMode}: ${why}`);
    }
    return { id: c.Id, pid: c.State.Pid };
}
