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
import * as ip from "../../host/ip";
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
): Promise<{ reason?: string; pid?: number; name?: string }> {
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
    const reason = containerModeReason(field, container, c.HostConfig.NetworkMode, use);
    if (reason) return { reason };
    // Its name, for messages: a Container resource passes its id.
    return { pid: c.State.Pid, name: c.Name.replace(/^\//, "") };
}

/**
 * The one rule of a default route a resource means to give a container
 * (VethAttachment's `defaultRoute`, MacvlanAttachment's `gateway`): the
 * container's namespace (`pid`) must not have one of that `family` already
 * through another interface than `ownDevs` (this resource's own, changed in
 * place), or the kernel refuses the route halfway through the create ("File
 * exists"). Read from the host at preview, and again at the start of create.
 * `field` and `instead` make the message: "`defaultRoute`: container "c"
 * already has a default route (via 10.1.0.1 dev eth0); set ...".
 */
export async function defaultRouteFailure(
    field: string,
    container: string,
    pid: number,
    family: 4 | 6,
    ownDevs: readonly string[],
    instead: string,
    stackOwner?: string,
): Promise<string | undefined> {
    // Only a route of the metric the library's own would have (the kernel's default: 0, IPv6 1024) is in the way.
    const metric = family === 4 ? 0 : 1024;
    const routes = (await ip.getDefaultRoutes(pid, family)).filter((r) => !ownDevs.includes(r.dev) && (r.metric ?? metric) === metric);
    for (const other of routes) {
        // At preview, a route through another interface of the same stack may be on its way out in the same
        // deployment (the default route moved from one attachment to another): create checks again.
        if (stackOwner !== undefined && (await stackOwnsDevice(pid, other.dev, stackOwner))) continue;
        const which = family === 4 ? "a default route" : "an IPv6 default route";
        const via = other.gateway ? `via ${other.gateway} dev ${other.dev}` : `dev ${other.dev}`;
        return `\`${field}\`: container "${container}" already has ${which} (${via}); ${instead}, or remove the other route`;
    }
    return undefined;
}

/**
 * True when the container's interface `dev` is one a resource of the stack of
 * `owner` made: it carries the stack's mark (a MacvlanAttachment's), or it is
 * a veth whose host end does (a VethAttachment's).
 */
async function stackOwnsDevice(pid: number, dev: string, owner: string): Promise<boolean> {
    const link = await ip.getLink(dev, pid);
    if (!link) return false;
    if (sameStack(link.ifalias, owner)) return true;
    if (link.link_index === undefined) return false;
    const host = (await ip.listLinksWithAddresses()).find((l) => l.ifindex === link.link_index);
    return host !== undefined && sameStack(host.ifalias, owner);
}

/**
 * The engine's one wording of a container whose mode, as Docker reports it
 * (`dockerMode`), cannot take `use` (by the table in common/modes.ts):
 * "`container` "web" uses network mode host: <why>"; undefined when it can.
 */
export function containerModeReason(field: string, container: string, dockerMode: string, use: ModeUse): string | undefined {
    const why = modeRefusal(use, netModeOf(dockerMode));
    return why && `\`${field}\` "${container}" uses network mode ${dockerMode}: ${why}`;
}
