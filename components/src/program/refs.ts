// How resources refer to containers and networks: by name or id, by this
// library's Container or Network, or by @pulumi/docker's Container or Network.
// Given a resource, its id is passed as an Output, which carries the
// dependency: when that resource is replaced, what refers to it is replaced
// too, in the right order. Given this library's Container, its network mode
// is known when the program runs, so a resource that cannot work with that
// mode fails the preview at once (by the table in common/modes.ts).
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { containerModeRefusal, ModeUse, NetMode } from "../common/modes";
import { refuse } from "./promptCheck";

/** What a resource needs to know of this library's Container component (see container.ts). */
export interface ContainerLike {
    readonly containerId: pulumi.Output<string>;
    readonly networkMode: NetMode;
}

/**
 * A container managed by another Pulumi resource, such as @pulumi/docker's
 * `docker.Container`: a custom resource whose id is the Docker container id.
 */
export interface DockerContainerResource {
    readonly id: pulumi.Output<string>;
    readonly networkMode: pulumi.Output<string | undefined>;
}

/**
 * A container: its name or id, this library's `Container`, or @pulumi/docker's
 * `docker.Container`. Given a resource, replacing it replaces what refers to it.
 */
export type ContainerRef = pulumi.Input<string> | ContainerLike | DockerContainerResource;

/** A Docker network resource such as @pulumi/docker's `docker.Network`: its id is the network id. */
export interface DockerNetworkResource {
    readonly id: pulumi.Output<string>;
    readonly driver: pulumi.Output<string>;
}

/**
 * A user-defined Docker network: its name or id, this library's `Network`, or
 * @pulumi/docker's `docker.Network`. Given a resource, replacing it replaces
 * what refers to it.
 */
export type NetworkRef = pulumi.Input<string> | { readonly networkId: pulumi.Output<string> } | DockerNetworkResource;

export function isContainerLike(value: unknown): value is ContainerLike {
    return (
        typeof value === "object" &&
        value !== null &&
        pulumi.Output.isInstance((value as ContainerLike).containerId) &&
        typeof (value as ContainerLike).networkMode === "string"
    );
}

function isCustomResource(value: unknown): value is pulumi.CustomResource {
    return pulumi.CustomResource.isInstance(value);
}

/**
 * The container's id (an Output carrying the dependency), or the given
 * name/id. Throws, naming `what` and `field`, when this library's Container
 * has a mode that cannot take `use`.
 */
export function containerIdOf(what: string, field: string, ref: ContainerRef, use: ModeUse): pulumi.Input<string> {
    if (isContainerLike(ref)) {
        const reason = containerModeRefusal(use, field, ref.networkMode);
        if (reason) refuse(what, [reason]);
        return ref.containerId;
    }
    if (isCustomResource(ref)) return ref.id;
    return ref as pulumi.Input<string>;
}

/** The network's id (an Output carrying the dependency), or the given name/id. */
export function networkIdOf(ref: NetworkRef): pulumi.Input<string> {
    // A network resource's id is the Docker id, known in a preview unless the network is replaced.
    if (isCustomResource(ref)) return ref.id;
    if (typeof ref === "object" && ref !== null && "networkId" in ref && pulumi.Output.isInstance(ref.networkId)) return ref.networkId;
    return ref as pulumi.Input<string>;
}
