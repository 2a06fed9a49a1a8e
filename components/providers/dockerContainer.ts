// DockerContainer: a container run by the local Docker engine, as desired
// state, through the Engine API (host/docker.ts).
//
// Docker cannot change a container's image, command, environment, labels or
// network mode in place, so changing any of them replaces the container; a
// container found stopped (by refresh) is started again by the next `up`.

import * as pulumi from "@pulumi/pulumi";
import * as docker from "../host/docker";
import { defaultContainerName, OWNER_LABEL, ownerMark } from "../naming";
import {
    checkContainerName,
    checkFields,
    checkImage,
    checkLabels,
    checkNetworkMode,
    checkStringArray,
    InputFailure,
    throwIfFailures,
} from "../validation";

export interface DockerContainerArgs {
    /** Image reference; it must already be present locally (no registry is used). */
    image: pulumi.Input<string>;
    /** Docker container name. Default `hn-<stack>-<resource name>`. */
    name?: pulumi.Input<string>;
    /** Command and arguments, as `docker run IMAGE CMD...`. Default: the image's. */
    command?: pulumi.Input<pulumi.Input<string>[]>;
    /** Environment, as `KEY=value` strings. */
    env?: pulumi.Input<pulumi.Input<string>[]>;
    /** `docker run --net` value: `none`, `bridge`, `host`, `container:<name|id>` or a network name. Default `none`. */
    networkMode?: pulumi.Input<string>;
    /** Labels; names under `io.hostnet.` are reserved for the library's ownership marks. */
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface DockerContainerInputs {
    name: string;
    image: string;
    command?: string[];
    env?: string[];
    networkMode: string;
    labels: Record<string, string>;
    owner: string;
}

export interface DockerContainerOutputs extends DockerContainerInputs {
    containerId: string;
    running: boolean;
}

const replaceOnChange = ["name", "image", "command", "env", "networkMode", "labels", "owner"] as const;

export function checkDockerContainerInputs(inputs: Record<string, unknown>): InputFailure[] {
    return checkFields(inputs, {
        name: { check: checkContainerName, required: true },
        image: { check: checkImage, required: true },
        command: { check: checkStringArray },
        env: { check: checkStringArray },
        networkMode: { check: checkNetworkMode, required: true },
        labels: { check: checkLabels },
    });
}

function sameValue(a: unknown, b: unknown): boolean {
    return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function userLabels(all: Record<string, string> | null): Record<string, string> {
    return Object.fromEntries(Object.entries(all ?? {}).filter(([k]) => !k.startsWith("io.hostnet.")));
}

export const dockerContainerProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: DockerContainerInputs, news: DockerContainerInputs): Promise<pulumi.dynamic.CheckResult> {
        return { inputs: news, failures: checkDockerContainerInputs(news as unknown as Record<string, unknown>) };
    },

    async diff(_id: string, olds: DockerContainerOutputs, news: DockerContainerInputs): Promise<pulumi.dynamic.DiffResult> {
        const replaces = replaceOnChange.filter((k) => !sameValue(olds[k], news[k]));
        const restart = olds.running === false;
        return { changes: replaces.length > 0 || restart, replaces: [...replaces], deleteBeforeReplace: true };
    },

    async create(inputs: DockerContainerInputs): Promise<pulumi.dynamic.CreateResult> {
        if (!(await docker.imageExists(inputs.image))) {
            throw new Error(`failed to create container "${inputs.name}": image "${inputs.image}" is not present locally and no registry is used; build or import it first (scripts/make-image.sh makes hostnet/busybox:1)`);
        }
        const existing = await docker.inspectContainer(inputs.name);
        if (existing) {
            const owner = existing.Config.Labels?.[OWNER_LABEL];
            throw new Error(`failed to create container "${inputs.name}": a container of that name already exists (${owner ? `owned by "${owner}"` : "not made by this library"}); choose another \`name\``);
        }
        const id = await docker.createContainer({
            name: inputs.name,
            image: inputs.image,
            command: inputs.command,
            env: inputs.env,
            labels: { ...inputs.labels, [OWNER_LABEL]: inputs.owner },
            networkMode: inputs.networkMode,
        });
        try {
            await docker.startContainer(id);
        } catch (err) {
            await docker.removeContainer(id).catch(() => undefined);
            throw err;
        }
        const outs: DockerContainerOutputs = { ...inputs, containerId: id, running: true };
        return { id, outs };
    },

    async read(id: string, props: DockerContainerOutputs): Promise<pulumi.dynamic.ReadResult> {
        const c = await docker.inspectContainer(id);
        if (!c || c.Config.Labels?.[OWNER_LABEL] !== props.owner) {
            return {};
        }
        const live: DockerContainerOutputs = {
            ...props,
            name: c.Name.replace(/^\//, ""),
            image: c.Config.Image,
            networkMode: c.HostConfig.NetworkMode,
            labels: userLabels(c.Config.Labels),
            running: c.State.Running,
        };
        // Docker fills in the image's defaults; compare only what the user set.
        if (props.command !== undefined) live.command = c.Config.Cmd ?? [];
        return { id, props: live };
    },

    async update(id: string, olds: DockerContainerOutputs, news: DockerContainerInputs): Promise<pulumi.dynamic.UpdateResult> {
        // diff sends every other change to replacement: an update only restarts.
        await docker.startContainer(id);
        return { outs: { ...news, containerId: olds.containerId, running: true } };
    },

    async delete(id: string, props: DockerContainerOutputs): Promise<void> {
        const c = await docker.inspectContainer(id);
        // Never remove a container this resource did not create: the label is its mark.
        if (c && c.Config.Labels?.[OWNER_LABEL] === props.owner) {
            await docker.removeContainer(id);
        }
    },
};

/** A Docker container managed through the Engine API, marked as this stack's with a label. */
export class DockerContainer extends pulumi.dynamic.Resource {
    declare readonly containerId: pulumi.Output<string>;
    declare readonly name: pulumi.Output<string>;
    declare readonly image: pulumi.Output<string>;
    declare readonly networkMode: pulumi.Output<string>;
    declare readonly running: pulumi.Output<boolean>;
    declare readonly owner: pulumi.Output<string>;

    constructor(name: string, args: DockerContainerArgs, opts?: pulumi.CustomResourceOptions) {
        const inputs = {
            name: args.name ?? defaultContainerName(pulumi.getStack(), name),
            image: args.image,
            command: args.command,
            env: args.env,
            networkMode: args.networkMode ?? "none",
            labels: args.labels ?? {},
            owner: ownerMark(pulumi.getProject(), pulumi.getStack(), name),
        };
        const known = Object.fromEntries(Object.entries(inputs).filter(([, v]) => !pulumi.Output.isInstance(v)));
        throwIfFailures(`DockerContainer "${name}"`, checkDockerContainerInputs(known).filter((f) => f.property in known));
        super(dockerContainerProvider, name, { containerId: undefined, running: undefined, ...inputs }, opts, "hostnet", "DockerContainer");
    }
}
