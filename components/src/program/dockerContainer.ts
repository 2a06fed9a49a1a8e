// DockerContainer: the dynamic resource a Container is made of (a container
// run by the local Docker engine through its Engine API). The resource class
// and its arguments; the engine side is engine/providers/dockerContainer.ts.
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { defaultDockerName } from "../common/naming";
import { checkDockerContainerInputs, EndpointInput } from "../common/specs/dockerContainer";
import { engineResource } from "./engineResource";
import { HostRef, rememberHost, resolveHost, ResolvedHost } from "./host";
import { checkPromptly, ownerOf } from "./promptCheck";

export interface DockerContainerArgs {
    /** Image reference; it must already be present locally (no registry is used). */
    image: pulumi.Input<string>;
    /** Docker container name. Default `hn-<stack>-<resource name>`. */
    name?: pulumi.Input<string>;
    /** Command and arguments, as `docker run IMAGE CMD...`. Default: the image's. */
    command?: pulumi.Input<pulumi.Input<string>[]>;
    /** Environment, as `KEY=value` strings. */
    env?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * `docker run --net` value: `none`, `bridge`, `host`, `container:<name|id>`,
     * or a user-defined network's name or id (then also the first of `networks`).
     * Default `none`.
     */
    networkMode?: pulumi.Input<string>;
    /** Endpoints on user-defined networks; the first must be `networkMode`'s network. */
    networks?: pulumi.Input<pulumi.Input<EndpointInput>[]>;
    /** Published ports, `[host_ip:]host_port:container_port[/proto]`. Not with `host` or `container:` modes. */
    ports?: pulumi.Input<pulumi.Input<string>[]>;
    /** `no`, `always`, `unless-stopped`, `on-failure[:N]`. Changed in place. Default `no`. */
    restartPolicy?: pulumi.Input<string>;
    /** Labels; names under `io.hostnet.` are reserved for the library's ownership marks. */
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * The host it lives on: a Host, or `{ name?, ssh: { host, port?, user?, privateKeyPath?, knownHostsPath? } }`.
     * Its Docker engine is reached over SSH, as the docker CLI does. Default: the nearest Host among its parents, else this machine. Changing it replaces the resource.
     */
    host?: HostRef;
}

/** The inputs a DockerContainer registers: defaults applied, owner mark set. */
export function dockerContainerInputs(name: string, args: DockerContainerArgs, host?: ResolvedHost) {
    return {
        name: args.name ?? defaultDockerName(pulumi.getStack(), name),
        image: args.image,
        command: args.command,
        env: args.env,
        networkMode: args.networkMode ?? "none",
        networks: args.networks,
        ports: args.ports,
        restartPolicy: args.restartPolicy,
        labels: args.labels ?? {},
        owner: ownerOf("DockerContainer", name, host?.name),
        ...(host ? { host: host.input } : {}),
    };
}

/** A Docker container managed through the Engine API, marked as this stack's with a label. */
export class DockerContainer extends pulumi.CustomResource {
    declare readonly containerId: pulumi.Output<string>;
    declare readonly name: pulumi.Output<string>;
    declare readonly image: pulumi.Output<string>;
    declare readonly networkMode: pulumi.Output<string>;
    declare readonly running: pulumi.Output<boolean>;
    declare readonly owner: pulumi.Output<string>;

    constructor(name: string, args: DockerContainerArgs, opts?: pulumi.CustomResourceOptions) {
        const host = resolveHost(`DockerContainer "${name}"`, args.host, opts);
        const inputs = dockerContainerInputs(name, args, host);
        checkPromptly(`DockerContainer "${name}"`, inputs, checkDockerContainerInputs);
        super(...engineResource("DockerContainer", name, { containerId: undefined, running: undefined, ...inputs }, opts));
        rememberHost(this, host);
    }
}
