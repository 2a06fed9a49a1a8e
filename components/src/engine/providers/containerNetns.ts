// Finds the network namespace of a running container, by the PID of its first
// process, and refuses containers whose mode (as Docker reports it) cannot
// take the resource, by the one table in common/modes.ts: at create
// (containerNetns, which throws) and at preview (containerFailure, which
// says why in the shape of an input failure).
//
// Engine side: loaded by the dynamic-provider process.

import { ModeUse, modeRefusal, netModeOf } from "../../common/modes";
import { OWNER_LABEL, sameStack } from "../../common/naming";
import * as docker from "../../host/docker";
import { isClaimed } from "../registry";

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

/**
 * What the preview says of the container a resource names in `field`: the
 * reason it cannot be used (missing, not running, a mode that cannot take
 * `use`), or its PID when it can. A container this stack creates, or starts
 * again, in the same deployment is neither (no reason, no PID: its
 * namespace is looked at when `create` runs).
 */
export async function containerFailure(
    field: string,
    container: string,
    owner: string,
    use: ModeUse,
): Promise<{ reason?: string; pid?: number }> {
    const c = await docker.inspectContainer(container);
    if (!c) {
        return isClaimed("container", container)
            ? {}
            : { reason: `\`${field}\` "${container}" does not exist; create it first, or pass the Container resource that makes it` };
    }
    if (!c.State.Running || !c.State.Pid) {
        // A stopped container of this very stack is started by its own resource in this deployment.
        return sameStack(c.Config.Labels?.[OWNER_LABEL], owner)
            ? {}
            : { reason: `\`${field}\` "${container}" is ${c.State.Status}, not running; start it first` };
    }
    const why = modeRefusal(use, netModeOf(c.HostConfig.NetworkMode));
    if (why) return { reason: `\`${field}\` "${container}" uses network mode ${c.HostConfig.NetworkMode}: ${why}` };
    return { pid: c.State.Pid };
}
