// DockerContainer: a container run by the local Docker engine, as desired
// state, through the Engine API (host/docker.ts).
//
// What Docker cannot change on a container (image, command, environment,
// labels, published ports, the network mode it was created with) replaces it.
// What it can change is changed in place, keeping the container's id: the
// restart policy, the user-defined networks it is connected to (with their
// addresses and aliases), and its running state (a container found stopped by
// refresh is started again by `up`).

import * as pulumi from "@pulumi/pulumi";
import * as docker from "../host/docker";
import { defaultDockerName, OWNER_LABEL } from "../naming";
import {
    checkContainerName,
    checkEndpoints,
    checkFields,
    checkImage,
    checkLabels,
    checkNetworkMode,
    checkPorts,
    checkRestartPolicy,
    checkStringArray,
    containsUnknown,
    InputFailure,
    isBuiltinNetworkMode,
    parsePortSpec,
} from "../validation";
import { checkPromptly, ownerOf } from "./promptCheck";
import { definedOnly, sameValue } from "./props";

/** One endpoint on a user-defined network. */
export interface EndpointInput {
    /** Network name or id. */
    network: string;
    /** Static IPv4 address on that network (`docker run --ip`). Default: Docker's IPAM picks one. */
    ipv4Address?: string;
    /** Extra DNS names of the container on that network (`--network-alias`). */
    aliases?: string[];
}

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
}

export interface DockerContainerInputs {
    name: string;
    image: string;
    command?: string[];
    env?: string[];
    networkMode: string;
    networks?: EndpointInput[];
    ports?: string[];
    restartPolicy?: string;
    labels: Record<string, string>;
    owner: string;
}

export interface DockerContainerOutputs extends DockerContainerInputs {
    containerId: string;
    running: boolean;
}

const replaceOnChange = ["name", "image", "command", "env", "networkMode", "ports", "labels", "owner"] as const;

export function checkDockerContainerInputs(inputs: Record<string, unknown>): InputFailure[] {
    const failures = checkFields(inputs, {
        name: { check: checkContainerName, required: true },
        image: { check: checkImage, required: true },
        command: { check: checkStringArray },
        env: { check: checkStringArray },
        networkMode: { check: checkNetworkMode, required: true },
        networks: { check: checkEndpoints },
        ports: { check: checkPorts },
        restartPolicy: { check: checkRestartPolicy },
        labels: { check: checkLabels },
    });
    const mode = inputs.networkMode;
    if (typeof mode !== "string" || containsUnknown(mode) || failures.some((f) => f.property === "networkMode")) return failures;
    const ports = inputs.ports;
    if (Array.isArray(ports) && ports.length > 0 && (mode === "host" || mode.startsWith("container:"))) {
        const why = mode === "host"
            ? "with network mode host the container uses the host's ports directly"
            : `with network mode ${mode} the container shares that container's network stack; publish the ports there`;
        failures.push({ property: "ports", reason: `\`ports\` cannot be published: ${why}; remove \`ports\`` });
    }
    const networks = inputs.networks;
    if (Array.isArray(networks) && networks.length > 0 && !containsUnknown(networks) && !failures.some((f) => f.property === "networks")) {
        if (isBuiltinNetworkMode(mode)) {
            failures.push({
                property: "networks",
                reason: `\`networks\` needs a user-defined network as the network mode; with ${mode} the container cannot join other networks here; use a user-defined network mode`,
            });
        } else if ((networks[0] as EndpointInput).network !== mode) {
            failures.push({ property: "networks", reason: `\`networks[0].network\` must be the network mode's network ${JSON.stringify(mode)}` });
        }
    }
    return failures;
}


/** The live values of the labels the user declared (Docker adds the image's labels to the container's). */
function declaredLabels(declared: Record<string, string>, live: Record<string, string> | null): Record<string, string> {
    return Object.fromEntries(Object.keys(declared).filter((k) => live && k in live).map((k) => [k, live![k]]));
}

/**
 * Docker stores `container:<name>` as `container:<full id>`. The declared form
 * stands while the name still resolves to that id; once the target is another
 * container, the live id shows the drift.
 */
async function liveNetworkMode(declared: string, live: string): Promise<string> {
    if (declared === live || !declared.startsWith("container:") || !live.startsWith("container:")) return live;
    const target = await docker.inspectContainer(declared.slice("container:".length));
    return target && `container:${target.Id}` === live ? declared : live;
}

function restartPolicyOf(text: string | undefined): docker.RestartPolicy {
    const [name, retries] = (text ?? "no").split(":");
    return { name: name as docker.RestartPolicy["name"], maximumRetryCount: retries ? Number(retries) : 0 };
}

function restartPolicyText(p: { Name: string; MaximumRetryCount: number }): string {
    const name = p.Name || "no";
    return name === "on-failure" && p.MaximumRetryCount > 0 ? `on-failure:${p.MaximumRetryCount}` : name;
}

/** The live endpoint of a container on `network` (given by name or id). */
function findEndpoint(c: docker.ContainerInspect, network: string): docker.EndpointInspect | undefined {
    for (const [name, ep] of Object.entries(c.NetworkSettings.Networks ?? {})) {
        if (name === network || ep.NetworkID === network || (network.length >= 12 && ep.NetworkID.startsWith(network))) {
            return ep;
        }
    }
    return undefined;
}

/** Declared endpoints as they are live: connected ones only, with what the user set. */
function liveEndpoints(c: docker.ContainerInspect, declared: EndpointInput[]): EndpointInput[] {
    const live: EndpointInput[] = [];
    for (const want of declared) {
        const ep = findEndpoint(c, want.network);
        if (!ep) continue;
        const got: EndpointInput = { network: want.network };
        if (want.ipv4Address !== undefined) got.ipv4Address = ep.IPAMConfig?.IPv4Address ?? ep.IPAddress;
        if (want.aliases !== undefined) got.aliases = want.aliases.filter((a) => (ep.Aliases ?? []).includes(a));
        live.push(got);
    }
    return live;
}

async function connectEndpoint(id: string, e: EndpointInput): Promise<void> {
    await docker.connectNetwork(e.network, id, { ipv4Address: e.ipv4Address, aliases: e.aliases });
}

export const dockerContainerProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: DockerContainerInputs, news: DockerContainerInputs): Promise<pulumi.dynamic.CheckResult> {
        return { inputs: news, failures: checkDockerContainerInputs(news as unknown as Record<string, unknown>) };
    },

    async diff(_id: string, olds: DockerContainerOutputs, news: DockerContainerInputs): Promise<pulumi.dynamic.DiffResult> {
        const replaces: string[] = replaceOnChange.filter((k) => !sameValue(olds[k], news[k]));
        // A network not known yet is being replaced: the engine deletes it only after
        // the containers that are replaced with it, so joining in place would be too late.
        if (containsUnknown(news.networks) && !replaces.includes("networkMode")) replaces.push("networks");
        const inPlace =
            !sameValue(olds.networks, news.networks) ||
            (olds.restartPolicy ?? "no") !== (news.restartPolicy ?? "no") ||
            olds.running === false;
        return { changes: replaces.length > 0 || inPlace, replaces, deleteBeforeReplace: true };
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
        const [first, ...others] = inputs.networks ?? [];
        const id = await docker.createContainer({
            name: inputs.name,
            image: inputs.image,
            command: inputs.command,
            env: inputs.env,
            labels: { ...inputs.labels, [OWNER_LABEL]: inputs.owner },
            networkMode: inputs.networkMode,
            endpoint: first ? { ipv4Address: first.ipv4Address, aliases: first.aliases } : undefined,
            ports: (inputs.ports ?? []).map((p) => parsePortSpec(p)!),
            restartPolicy: inputs.restartPolicy ? restartPolicyOf(inputs.restartPolicy) : undefined,
        });
        try {
            // The Engine API of Debian's Docker takes one network at create; the rest join before start.
            for (const e of others) await connectEndpoint(id, e);
            await docker.startContainer(id);
        } catch (err) {
            await docker.removeContainer(id).catch(() => undefined);
            throw err;
        }
        const outs: DockerContainerOutputs = { ...inputs, containerId: id, running: true };
        return { id, outs: definedOnly(outs) };
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
            networkMode: await liveNetworkMode(props.networkMode, c.HostConfig.NetworkMode),
            labels: declaredLabels(props.labels, c.Config.Labels),
            running: c.State.Running,
        };
        // Docker fills in defaults (the image's command, its own aliases): compare only what the user set.
        if (props.command !== undefined) live.command = c.Config.Cmd ?? [];
        if (props.networks !== undefined) live.networks = liveEndpoints(c, props.networks);
        if (props.restartPolicy !== undefined) live.restartPolicy = restartPolicyText(c.HostConfig.RestartPolicy);
        if (props.ports !== undefined) {
            const bound = Object.entries(c.HostConfig.PortBindings ?? {}).flatMap(([key, list]) =>
                (list ?? []).map((b) => {
                    const [port, proto] = key.split("/");
                    return `${b.HostIp || "0.0.0.0"}:${b.HostPort}:${port}/${proto}`;
                }),
            );
            const normalized = props.ports.map((p) => {
                const s = parsePortSpec(p)!;
                return `${s.hostIp}:${s.hostPort}:${s.containerPort}/${s.protocol}`;
            });
            live.ports = normalized.every((p) => bound.includes(p)) && bound.length === normalized.length ? props.ports : bound;
        }
        return { id, props: definedOnly(live) };
    },

    async update(id: string, olds: DockerContainerOutputs, news: DockerContainerInputs): Promise<pulumi.dynamic.UpdateResult> {
        // diff sends image, command, ports... to replacement: here only what Docker changes in place.
        if ((olds.restartPolicy ?? "no") !== (news.restartPolicy ?? "no")) {
            await docker.updateRestartPolicy(id, restartPolicyOf(news.restartPolicy));
        }
        const before = olds.networks ?? [];
        const after = news.networks ?? [];
        for (const old of before) {
            if (!after.some((e) => e.network === old.network)) await docker.disconnectNetwork(old.network, id);
        }
        for (const want of after) {
            const had = before.find((e) => e.network === want.network);
            if (had && sameValue(had, want)) continue;
            if (had) await docker.disconnectNetwork(want.network, id);
            await connectEndpoint(id, want);
        }
        await docker.startContainer(id);
        return { outs: definedOnly({ ...news, containerId: olds.containerId, running: true }) };
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
            name: args.name ?? defaultDockerName(pulumi.getStack(), name),
            image: args.image,
            command: args.command,
            env: args.env,
            networkMode: args.networkMode ?? "none",
            networks: args.networks,
            ports: args.ports,
            restartPolicy: args.restartPolicy,
            labels: args.labels ?? {},
            owner: ownerOf("DockerContainer", name),
        };
        checkPromptly(`DockerContainer "${name}"`, inputs, checkDockerContainerInputs);
        super(dockerContainerProvider, name, { containerId: undefined, running: undefined, ...inputs }, opts, "hostnet", "DockerContainer");
    }
}
