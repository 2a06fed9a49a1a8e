// Container: a Docker container with a typed `docker run --net` mode, as a
// component made of one DockerContainer.
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { NetMode, portsRefusal } from "../common/modes";
import { checkDockerContainerInputs } from "../common/specs/dockerContainer";
import { DockerContainer, DockerContainerArgs, dockerContainerInputs } from "./dockerContainer";
import { HostRef, hostSetMembers, rememberHost, resolveHost } from "./host";
import { declaredAddressFailures } from "./network";
import { checkPromptly, refuse } from "./promptCheck";
import { containerIdOf, ContainerLike, ContainerRef, networkIdOf, NetworkRef } from "./refs";
import { programFramesOnly } from "./declarationSite";

export interface EndpointArgs {
    /** The network. Given as a Network resource, the container is replaced when the network is. */
    network: NetworkRef;
    /** Static IPv4 address on the network (`--ip`). Default: Docker's IPAM picks one. */
    ipv4Address?: pulumi.Input<string>;
    /**
     * Static IPv6 address on the network (`--ip6`), e.g. `fd17:10::10`; the
     * network needs an IPv6 subnet (a Network with `ipv6Subnet`). Default:
     * Docker's IPAM picks one when the network has IPv6.
     */
    ipv6Address?: pulumi.Input<string>;
    /** Extra DNS names on the network (`--network-alias`). */
    aliases?: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * How the container gets its network, as `docker run --net`:
 * - `none`: only `lo`; attach interfaces yourself (VethAttachment, VethLink).
 * - `bridge`: Docker's default bridge, docker0.
 * - `host`: no namespace of its own: the host's interfaces and ports.
 * - `container`: the network stack of another container (a Container, or a
 *   name/id); given a Container, this one is replaced when that one is.
 * - `networks`: one or more user-defined networks; the first is the one
 *   created with, and can only change by replacement; the others are joined
 *   and left in place, without recreating the container.
 */
export type ContainerNetwork =
    | { mode: "none" }
    | { mode: "bridge" }
    | { mode: "host" }
    | { mode: "container"; container: ContainerRef }
    | { mode: "networks"; networks: EndpointArgs[] };

export interface ContainerArgs {
    /** Image reference, present locally. Changing it replaces the container. */
    image: pulumi.Input<string>;
    /** Docker container name. Default `hn-<stack>-<name>`. Changing it replaces the container. */
    name?: pulumi.Input<string>;
    /** Command and arguments. Default: the image's. Changing it replaces the container. */
    command?: pulumi.Input<pulumi.Input<string>[]>;
    /** Environment, as `KEY=value`. Changing it replaces the container. */
    env?: pulumi.Input<pulumi.Input<string>[]>;
    /** Network mode. Default `{ mode: "none" }`. */
    network?: ContainerNetwork;
    /**
     * Published ports, as `docker run -p`: `[host_ip:]host_port:container_port[/tcp|udp|sctp]`,
     * e.g. `127.0.0.1:8080:80`. Not with modes `host` or `container`. Changing them replaces the container.
     */
    ports?: pulumi.Input<pulumi.Input<string>[]>;
    /** `no` (default), `always`, `unless-stopped`, `on-failure[:N]`. Changed in place. */
    restartPolicy?: pulumi.Input<string>;
    /** Labels (names under `io.hostnet.` are reserved). Changing them replaces the container. */
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * The host it lives on: a Host, or `{ name?, ssh: { host, port?, user?, privateKeyPath?, knownHostsPath? } }`.
     * Its Docker engine is reached over SSH, as the docker CLI does. Default: the nearest Host among its parents, else this machine. Changing it replaces the resource.
     */
    host?: HostRef;
}

const KNOWN_MODES: readonly NetMode[] = ["none", "bridge", "host", "container", "networks"];

/** The `docker run --net` value and the user-defined endpoints of a typed network mode. */
export function resolveNetwork(
    what: string,
    network: ContainerNetwork,
    ports: unknown,
): {
    networkMode: pulumi.Input<string>;
    networks?: pulumi.Input<{ network: string; ipv4Address?: string; ipv6Address?: string; aliases?: string[] }>[];
} {
    const portCount = Array.isArray(ports) ? ports.length : ports === undefined ? 0 : 1;
    const portsReason = portCount > 0 && KNOWN_MODES.includes(network.mode) ? portsRefusal(network.mode) : undefined;
    if (portsReason) refuse(what, [portsReason]);
    switch (network.mode) {
        case "none":
        case "bridge":
        case "host":
            return { networkMode: network.mode };
        case "container": {
            const target = containerIdOf(what, "network.container", network.container, "containerTarget");
            return { networkMode: pulumi.interpolate`container:${target}` };
        }
        case "networks": {
            if (network.networks.length === 0) {
                refuse(what, ["`network.networks` must list at least one network"]);
            }
            // A static address on a Network of this program is checked against its declared subnet now, in the preview.
            const failures = network.networks.flatMap((e, i) =>
                declaredAddressFailures(e.network, `network.networks[${i}]`, e.ipv4Address, e.ipv6Address),
            );
            if (failures.length > 0) refuse(what, failures);
            const networks = network.networks.map((e) =>
                pulumi
                    .all([networkIdOf(e.network), e.ipv4Address, e.ipv6Address, e.aliases])
                    .apply(([id, ipv4Address, ipv6Address, aliases]) => ({
                        network: id,
                        ...(ipv4Address === undefined ? {} : { ipv4Address }),
                        ...(ipv6Address === undefined ? {} : { ipv6Address }),
                        ...(aliases === undefined ? {} : { aliases }),
                    })),
            );
            return { networkMode: networkIdOf(network.networks[0].network), networks };
        }
        default: {
            const mode = (network as { mode?: unknown }).mode;
            refuse(what, [`\`network.mode\` must be one of none, bridge, host, container, networks; got ${JSON.stringify(mode)}`]);
        }
    }
}

export class Container extends pulumi.ComponentResource implements ContainerLike {
    /** Full Docker id. Pass it (or this Container) to attachments so that replacing the container replaces them. */
    public readonly containerId: pulumi.Output<string>;
    /** Docker name. */
    public readonly containerName: pulumi.Output<string>;
    /** The network mode it was declared with: none, bridge, host, container or networks. */
    public readonly networkMode: NetMode;

    constructor(name: string, args: ContainerArgs, opts?: pulumi.ComponentResourceOptions) {
        // Everything is checked before anything is registered, and errors name this Container, not its parts.
        const what = `Container "${name}"`;
        const network = args.network ?? { mode: "none" };
        const { networkMode, networks } = resolveNetwork(what, network, args.ports);
        const host = resolveHost(what, args.host, opts, [
            ...(network.mode === "container" ? [{ field: "network.container", value: network.container }] : []),
            ...(network.mode === "networks"
                ? network.networks.map((e, i) => ({ field: `network.networks[${i}].network`, value: e.network }))
                : []),
        ]);
        const dockerArgs: DockerContainerArgs = {
            image: args.image,
            name: args.name,
            command: args.command,
            env: args.env,
            networkMode,
            networks,
            ports: args.ports,
            restartPolicy: args.restartPolicy,
            labels: args.labels,
        };
        checkPromptly(what, dockerContainerInputs(name, dockerArgs, host), checkDockerContainerInputs);
        programFramesOnly();
        super("hostnet:index:Container", name, {}, opts);
        // Its DockerContainer (a child) lives where it does.
        rememberHost(this, host);
        // On a swarm's overlay: made once its host's engine joined the swarm, removed before it leaves.
        const members =
            network.mode === "networks"
                ? hostSetMembers(
                      host,
                      network.networks.map((e) => e.network),
                  )
                : [];
        const container = new DockerContainer(name, dockerArgs, { parent: this, ...(members.length > 0 ? { dependsOn: members } : {}) });
        this.networkMode = network.mode;
        // The resource's id is the Docker id. Unlike the `containerId` output, it stays known in a
        // preview while the container is only updated in place, so what refers to this container
        // is planned as replaced only when the container itself is.
        this.containerId = container.id;
        this.containerName = container.name;
        this.registerOutputs({ containerId: this.containerId, containerName: this.containerName });
    }
}
