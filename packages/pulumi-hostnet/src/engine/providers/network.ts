// Network: a user-defined Docker network of driver bridge, as desired state.
//
// Docker changes nothing of a network in place (subnet, gateway, options and
// labels are fixed at creation), so every change replaces it, deleting the old
// one first (its name and subnet would collide). Containers connected to it
// must be replaced or disconnected first: pass the network's `networkId` to
// containers so that the engine orders this for you.
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import { alreadyExistsMessage, OWNER_LABEL } from "../../common/naming";
import { checkNetworkInputs, NetworkInputs, NetworkOutputs } from "../../common/specs/network";
import * as networks from "../host/dockerNetworks";
import { definedOnly, sameValue, storedProps } from "./props";

const OPT_BRIDGE = "com.docker.network.bridge.name";
const OPT_ICC = "com.docker.network.bridge.enable_icc";
const OPT_MASQ = "com.docker.network.bridge.enable_ip_masquerade";
const OPT_MTU = "com.docker.network.driver.mtu";

function options(i: NetworkInputs): Record<string, string> {
    const o: Record<string, string> = { [OPT_ICC]: String(i.icc), [OPT_MASQ]: String(i.masquerade) };
    if (i.bridgeName) o[OPT_BRIDGE] = i.bridgeName;
    if (i.mtu !== undefined) o[OPT_MTU] = String(i.mtu);
    return o;
}

const replaceOnChange = [
    "name",
    "subnet",
    "gateway",
    "ipRange",
    "bridgeName",
    "internal",
    "icc",
    "masquerade",
    "mtu",
    "labels",
    "owner",
] as const;

export const networkProvider: pulumi.dynamic.ResourceProvider<NetworkInputs, NetworkOutputs> = {
    async check(_olds: NetworkInputs, news: NetworkInputs) {
        return { inputs: news, failures: checkNetworkInputs({ ...news }) };
    },

    async diff(_id: string, olds: NetworkOutputs, news: NetworkInputs) {
        const replaces = replaceOnChange.filter((k) => !sameValue(olds[k], news[k]));
        return { changes: replaces.length > 0, replaces: [...replaces], deleteBeforeReplace: true };
    },

    async create(inputs: NetworkInputs) {
        const existing = await networks.inspectNetwork(inputs.name);
        if (existing && existing.Name === inputs.name) {
            throw new Error(alreadyExistsMessage(`network "${inputs.name}"`, "a network", existing.Labels?.[OWNER_LABEL], "name"));
        }
        const id = await networks.createNetwork({
            name: inputs.name,
            subnet: inputs.subnet,
            gateway: inputs.gateway,
            ipRange: inputs.ipRange,
            internal: inputs.internal,
            options: options(inputs),
            labels: { ...inputs.labels, [OWNER_LABEL]: inputs.owner },
        });
        const outs: NetworkOutputs = { ...inputs, networkId: id, bridge: inputs.bridgeName ?? `br-${id.slice(0, 12)}` };
        return { id, outs: definedOnly(outs) };
    },

    async read(id: string, stored?: NetworkOutputs) {
        const props = storedProps(stored);
        const n = await networks.inspectNetwork(id);
        if (!n || n.Labels?.[OWNER_LABEL] !== props.owner) return {};
        const ipam = n.IPAM.Config?.[0] ?? {};
        const opts = n.Options ?? {};
        const live: NetworkOutputs = {
            ...props,
            name: n.Name,
            internal: n.Internal,
            icc: opts[OPT_ICC] !== "false",
            masquerade: opts[OPT_MASQ] !== "false",
            labels: Object.fromEntries(Object.entries(n.Labels ?? {}).filter(([k]) => !k.startsWith("io.hostnet."))),
        };
        // Compare only what the user set; Docker fills in the rest.
        if (props.subnet !== undefined) live.subnet = ipam.Subnet;
        if (props.gateway !== undefined) live.gateway = ipam.Gateway;
        if (props.ipRange !== undefined) live.ipRange = ipam.IPRange;
        if (props.bridgeName !== undefined) live.bridgeName = opts[OPT_BRIDGE];
        if (props.mtu !== undefined) live.mtu = opts[OPT_MTU] === undefined ? undefined : Number(opts[OPT_MTU]);
        return { id, props: definedOnly(live) };
    },

    async delete(id: string, props: NetworkOutputs): Promise<void> {
        const n = await networks.inspectNetwork(id);
        // Never remove a network this resource did not create: the label is its mark.
        if (n && n.Labels?.[OWNER_LABEL] === props.owner) {
            await networks.removeNetwork(id);
        }
    },
};
