// NetworkAttachment: `docker network connect` as desired state. Joins an
// existing container to a user-defined network, and changes or removes that
// connection, WITHOUT recreating the container (its id stays the same).
//
// A connection carries no label. Ownership is its endpoint id, which Docker
// makes new for every connection: an attachment refuses a connection that
// already exists, records the endpoint id of the one it makes, and disconnects
// only that one; a connection re-made by hand is not its to remove.
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import { modeRefusal, netModeOf } from "../../common/modes";
import { checkNetworkAttachmentInputs, NetworkAttachmentInputs, NetworkAttachmentOutputs } from "../../common/specs/networkAttachment";
import * as docker from "../host/docker";
import * as networks from "../host/dockerNetworks";
import { definedOnly, sameValue, storedProps } from "./props";

function endpointOf(c: docker.ContainerInspect, networkId: string): docker.EndpointInspect | undefined {
    return Object.values(c.NetworkSettings.Networks ?? {}).find((ep) => ep.NetworkID === networkId);
}

/** Connects and returns the connection's endpoint id and address; a half-done connect is undone. */
async function connect(
    containerId: string,
    networkId: string,
    i: NetworkAttachmentInputs,
): Promise<{ endpointId: string; address: string }> {
    await docker.connectNetwork(networkId, containerId, { ipv4Address: i.ipv4Address, aliases: i.aliases });
    try {
        const c = await docker.inspectContainer(containerId);
        const ep = c && endpointOf(c, networkId);
        if (!ep)
            throw new Error(
                `failed to connect container "${containerId}" to network "${networkId}": the connection vanished right after it was made`,
            );
        return { endpointId: ep.EndpointID, address: ep.IPAddress };
    } catch (err) {
        await docker.disconnectNetwork(networkId, containerId).catch(() => undefined);
        throw err;
    }
}

/** The live endpoint of this attachment's own connection, if it still exists. */
async function ownEndpoint(props: NetworkAttachmentOutputs): Promise<docker.EndpointInspect | undefined> {
    const c = await docker.inspectContainer(props.containerId);
    const ep = c ? endpointOf(c, props.networkId) : undefined;
    return ep && ep.EndpointID === props.endpointId ? ep : undefined;
}

export const networkAttachmentProvider: pulumi.dynamic.ResourceProvider<NetworkAttachmentInputs, NetworkAttachmentOutputs> = {
    async check(_olds: NetworkAttachmentInputs, news: NetworkAttachmentInputs) {
        return { inputs: news, failures: checkNetworkAttachmentInputs({ ...news }) };
    },

    async diff(_id: string, olds: NetworkAttachmentOutputs, news: NetworkAttachmentInputs) {
        const replaces = (["container", "network"] as const).filter((k) => olds[k] !== news[k]);
        const inPlace = !sameValue(olds.ipv4Address, news.ipv4Address) || !sameValue(olds.aliases, news.aliases);
        return { changes: replaces.length > 0 || inPlace, replaces: [...replaces], deleteBeforeReplace: true };
    },

    async create(inputs: NetworkAttachmentInputs) {
        const c = await docker.inspectContainer(inputs.container);
        if (!c) throw new Error(`failed to connect container "${inputs.container}": no such container`);
        const n = await networks.inspectNetwork(inputs.network);
        if (!n) throw new Error(`failed to connect container "${inputs.container}" to network "${inputs.network}": no such network`);
        const why = modeRefusal("networkAttachment", netModeOf(c.HostConfig.NetworkMode));
        if (why) {
            throw new Error(
                `failed to connect container "${inputs.container}" to network "${inputs.network}": it uses network mode ${c.HostConfig.NetworkMode}: ${why}`,
            );
        }
        if (endpointOf(c, n.Id)) {
            throw new Error(
                `failed to connect container "${inputs.container}" to network "${inputs.network}": it is already connected (not by this attachment); disconnect it first or drop this attachment`,
            );
        }
        const { endpointId, address } = await connect(c.Id, n.Id, inputs);
        const outs: NetworkAttachmentOutputs = { ...inputs, containerId: c.Id, networkId: n.Id, address, endpointId };
        return { id: `${c.Id}/${n.Id}`, outs: definedOnly(outs) };
    },

    async read(id: string, stored?: NetworkAttachmentOutputs) {
        const props = storedProps(stored);
        const ep = await ownEndpoint(props);
        if (!ep) return {};
        const live: NetworkAttachmentOutputs = { ...props, address: ep.IPAddress };
        if (props.ipv4Address !== undefined) live.ipv4Address = ep.IPAMConfig?.IPv4Address ?? ep.IPAddress;
        if (props.aliases !== undefined) live.aliases = props.aliases.filter((a) => (ep.Aliases ?? []).includes(a));
        return { id, props: definedOnly(live) };
    },

    async update(_id: string, olds: NetworkAttachmentOutputs, news: NetworkAttachmentInputs) {
        // Docker changes an endpoint only by reconnecting; the container itself stays.
        if (!(await ownEndpoint(olds))) {
            throw new Error(
                `failed to update the connection of container "${olds.container}" to network "${olds.network}": it is gone or was re-made by someone else; run \`pulumi refresh\`, then \`pulumi up\` makes it again`,
            );
        }
        await docker.disconnectNetwork(olds.networkId, olds.containerId);
        const { endpointId, address } = await connect(olds.containerId, olds.networkId, news);
        return { outs: definedOnly({ ...news, containerId: olds.containerId, networkId: olds.networkId, address, endpointId }) };
    },

    async delete(_id: string, props: NetworkAttachmentOutputs): Promise<void> {
        // Only this attachment's own connection; already gone is success.
        if (await ownEndpoint(props)) await docker.disconnectNetwork(props.networkId, props.containerId);
    },
};
