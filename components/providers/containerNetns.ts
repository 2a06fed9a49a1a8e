// Finds the network namespace of a running container, by the PID of its first
// process, and refuses containers that have no namespace of their own.

import * as docker from "../host/docker";

export interface ContainerNetns {
    id: string;
    pid: number;
}

/** `what` starts the error message, e.g. `attach to` or `link`. */
export async function containerNetns(container: string, what: string): Promise<ContainerNetns> {
    const c = await docker.inspectContainer(container);
    if (!c) {
        throw new Error(`failed to ${what} container "${container}": no such container`);
    }
    if (!c.State.Running || !c.State.Pid) {
        throw new Error(`failed to ${what} container "${container}": it is ${c.State.Status}, not running; start it first`);
    }
    const mode = c.HostConfig.NetworkMode;
    if (mode === "host") {
        throw new Error(`failed to ${what} container "${container}": it uses network mode host and has no network namespace of its own; its interfaces would be the host's`);
    }
    if (mode.startsWith("container:")) {
        throw new Error(`failed to ${what} container "${container}": it shares the network namespace of ${mode.slice("container:".length)}; attach to that container instead`);
    }
    return { id: c.Id, pid: c.State.Pid };
}
