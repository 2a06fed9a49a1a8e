// Lets resources take either a container's name/id or a Container component.
// Given the component, its network mode is known when the program runs, so a
// resource that cannot work with that mode fails the preview at once.

import * as pulumi from "@pulumi/pulumi";

/** What a resource needs to know of a Container component (see container.ts). */
export interface ContainerLike {
    readonly containerId: pulumi.Output<string>;
    readonly networkMode: string;
}

export function isContainerLike(value: unknown): value is ContainerLike {
    return (
        typeof value === "object" && value !== null &&
        pulumi.Output.isInstance((value as ContainerLike).containerId) &&
        typeof (value as ContainerLike).networkMode === "string"
    );
}

/**
 * The container's id, or the given name/id. Throws when the component's
 * network mode is one of `refused`, with `why` as the reason.
 */
export function containerIdOf(
    what: string,
    field: string,
    ref: pulumi.Input<string> | ContainerLike,
    refused: string[],
    why: string,
): pulumi.Input<string> {
    if (!isContainerLike(ref)) return ref;
    if (refused.includes(ref.networkMode)) {
        throw new Error(`invalid ${what}:\n  - \`${field}\` is a container with network mode ${ref.networkMode}: ${why}`);
    }
    return ref.containerId;
}
