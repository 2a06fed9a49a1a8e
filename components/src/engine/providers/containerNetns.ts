// Finds the network namespace of a running container, by the PID of its first
// process, and refuses containers whose mode (as Docker reports it) cannot
// take the resource, by the one table in common/modes.ts and its one wording:
// at preview and at the start of create (containerFailure, the
// container-usable rule of engine/rules.ts), and when create enters the
// namespace (containerNetns, which throws).
//
// Engine side: loaded by the dynamic-provider process.

import { containerModeRefusal, ModeUse, netModeOf } from "../../common/modes";
import { sameStack } from "../../common/naming";
import { InputFailure } from "../../common/validation";
import * as docker from "../../host/docker";
import * as ip from "../../host/ip";
import { containerUsable } from "../rules";

export interface ContainerNetns {
    id: string;
    pid: number;
}

/**
 * `what` starts the error message, e.g. `attach to` or `link`; `use` picks the
 * mode rule; `field` is the input that names the container. The checks of
 * create have refused what they could see already (containerFailure): this
 * refuses what changed since, in the same words.
 */
export async function containerNetns(container: string, what: string, use: ModeUse, field = "container"): Promise<ContainerNetns> {
    const c = await docker.inspectContainer(container);
    if (!c) {
        throw new Error(`failed to ${what} container "${container}": no such container; create it first (or pass its Container resource)`);
    }
    if (!c.State.Running || !c.State.Pid) {
        throw new Error(`failed to ${what} container "${container}": it is ${c.State.Status}, not running; start it first`);
    }
    const mode = c.HostConfig.NetworkMode;
    const refusal = containerModeRefusal(use, field, netModeOf(mode), mode, container);
    if (refusal) throw new Error(`failed to ${what} container "${container}": ${refusal}`);
    return { id: c.Id, pid: c.State.Pid };
}

/**
 * What the preview (and the start of create) says of the container a
 * resource names in `field`: the failure of the container-usable rule
 * (missing, not running, a mode that cannot take `use`), or its PID when it
 * can be used. A container this stack creates, or starts again, in the same
 * deployment is neither (no failure, no PID: its namespace is looked at when
 * `create` runs).
 */
export async function containerFailure(
    field: string,
    container: string,
    owner: string,
    use: ModeUse,
    property = field,
): Promise<{ failure?: InputFailure; pid?: number; name?: string }> {
    const c = await docker.inspectContainer(container);
    const failure = containerUsable(property, field, container, c, { use, running: true, owner });
    if (failure || !c?.State.Running || !c.State.Pid) return { failure };
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
