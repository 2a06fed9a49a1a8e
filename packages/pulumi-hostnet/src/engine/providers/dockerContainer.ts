// DockerContainer: a container run by the local Docker engine, as desired
// state, through the Engine API (host/docker.ts).
//
// What Docker cannot change on a container (image, command, environment,
// labels, published ports, the network mode it was created with) replaces it.
// What it can change is changed in place, keeping the container's id: the
// restart policy, the user-defined networks it is connected to (with their
// addresses and aliases), and its running state (a container found stopped by
// refresh is started again by `up`).
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import { alreadyExistsMessage, OWNER_LABEL } from "../../common/naming";
import {
    checkDockerContainerInputs,
    DockerContainerInputs,
    DockerContainerOutputs,
    EndpointInput,
} from "../../common/specs/dockerContainer";
import { containsUnknown, parsePortSpec } from "../../common/validation";
import * as docker from "../host/docker";
import { definedOnly, sameValue, storedProps } from "./props";

const replaceOnChange = ["name", "image", "command", "env", "networkMode", "ports", "labels", "owner"] as const;

/** The live values of the labels the user declared (Docker adds the image's labels to the container's). */
function declaredLabels(declared: Record<string, string>, live: Record<string, string> | null): Record<string, string> {
    return Object.fromEntries(
        Object.keys(declared)
            .filter((k) => live && k in live)
            .map((k) => [k, live![k]]),
    );
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

export const dockerContainerProvider: pulumi.dynamic.ResourceProvider<DockerContainerInputs, DockerContainerOutputs> = {
    async check(_olds: DockerContainerInputs, news: DockerContainerInputs) {
        return { inputs: news, failures: checkDockerContainerInputs({ ...news }) };
    },

    async diff(_id: string, olds: DockerContainerOutputs, news: DockerContainerInputs) {
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

    async create(inputs: DockerContainerInputs) {
        if (!(await docker.imageExists(inputs.image))) {
            throw new Error(
                `failed to create container "${inputs.name}": image "${inputs.image}" is not present locally and no registry is used; build or import it first (scripts/make-image.sh makes hostnet/busybox:1)`,
            );
        }
        const existing = await docker.inspectContainer(inputs.name);
        if (existing) {
            throw new Error(
                alreadyExistsMessage(`container "${inputs.name}"`, "a container", existing.Config.Labels?.[OWNER_LABEL], "name"),
            );
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

    async read(id: string, stored?: DockerContainerOutputs) {
        const props = storedProps(stored);
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

    async update(id: string, olds: DockerContainerOutputs, news: DockerContainerInputs) {
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
