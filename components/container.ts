// Container: a Docker container with a typed `docker run --net` mode.

import * as pulumi from "@pulumi/pulumi";
import { DockerContainer } from "./providers/dockerContainer";

/**
 * How the container gets its network, as `docker run --net`:
 * - `none`: only `lo`; attach interfaces yourself (see VethAttachment).
 * - `bridge`: Docker's default bridge, docker0.
 * - `host`: no namespace of its own; the host's interfaces.
 * - `container`: share the namespace of another container (name or id).
 */
export type ContainerNetwork =
    | { mode: "none" }
    | { mode: "bridge" }
    | { mode: "host" }
    | { mode: "container"; container: pulumi.Input<string> };

export interface ContainerArgs {
    /** Image reference, present locally. Changing it replaces the container. */
    image: pulumi.Input<string>;
    /** Docker container name. Default `hn-<stack>-<name>`. Changing it replaces the container. */
    name?: pulumi.Input<string>;
    /** Command and arguments. Default: the image's. Changing it replaces the container. */
    command?: pulumi.Input<pulumi.Input<string>[]>;
    /** Environment, as `KEY=value`. Changing it replaces the container. */
    env?: pulumi.Input<pulumi.Input<string>[]>;
    /** Network mode. Default `{ mode: "none" }`. Changing it replaces the container. */
    network?: ContainerNetwork;
    /** Labels (names under `io.hostnet.` are reserved). Changing them replaces the container. */
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** The `docker run --net` value of a typed network mode. */
export function networkModeOf(network: ContainerNetwork): pulumi.Input<string> {
    switch (network.mode) {
        case "none":
        case "bridge":
        case "host":
            return network.mode;
        case "container":
            return pulumi.interpolate`container:${network.container}`;
        default: {
            const mode = (network as { mode?: unknown }).mode;
            throw new Error(`\`network.mode\` must be one of none, bridge, host, container; got ${JSON.stringify(mode)}`);
        }
    }
}

export class Container extends pulumi.ComponentResource {
    /** Full Docker id. Pass it to a VethAttachment's `container` so that replacing this container replaces the attachment. */
    public readonly containerId: pulumi.Output<string>;
    /** Docker name. */
    public readonly containerName: pulumi.Output<string>;

    constructor(name: string, args: ContainerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("hostnet:index:Container", name, {}, opts);
        const container = new DockerContainer(
            name,
            {
                image: args.image,
                name: args.name,
                command: args.command,
                env: args.env,
                networkMode: networkModeOf(args.network ?? { mode: "none" }),
                labels: args.labels,
            },
            { parent: this },
        );
        this.containerId = container.containerId;
        this.containerName = container.name;
        this.registerOutputs({ containerId: this.containerId, containerName: this.containerName });
    }
}
