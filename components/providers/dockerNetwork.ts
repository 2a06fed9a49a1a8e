// Network: a user-defined Docker network of driver bridge, as desired state.
//
// Docker changes nothing of a network in place (subnet, gateway, options and
// labels are fixed at creation), so every change replaces it, deleting the old
// one first (its name and subnet would collide). Containers connected to it
// must be replaced or disconnected first: pass the network's `networkId` to
// containers so that the engine orders this for you.

import * as pulumi from "@pulumi/pulumi";
import * as networks from "../host/dockerNetworks";
import { defaultDockerName, OWNER_LABEL } from "../naming";
import {
    checkCidr,
    checkContainerName,
    checkFields,
    checkGatewayInSubnet,
    checkIfName,
    checkIPv4,
    checkLabels,
    checkMtu,
    containsUnknown,
    InputFailure,
    parseCidr,
} from "../validation";
import { checkPromptly, ownerOf } from "./promptCheck";
import { definedOnly, sameValue } from "./props";

export interface NetworkArgs {
    /** Docker network name. Default `hn-<stack>-<resource name>`. */
    name?: pulumi.Input<string>;
    /** IPv4 subnet, e.g. `10.10.0.0/24`. Default: Docker picks a free one. */
    subnet?: pulumi.Input<string>;
    /** Gateway address (the bridge's), inside `subnet`. Default: the subnet's first address. */
    gateway?: pulumi.Input<string>;
    /** Range inside `subnet` for Docker's automatic addresses, e.g. `10.10.0.128/25`; static ones may lie outside. */
    ipRange?: pulumi.Input<string>;
    /** Name of the Linux bridge (`com.docker.network.bridge.name`), at most 15 characters. Default: Docker's `br-<id>`. */
    bridgeName?: pulumi.Input<string>;
    /** No route out of the network (`--internal`). Default false. */
    internal?: pulumi.Input<boolean>;
    /** Containers on the network may talk to each other (`enable_icc`). Default true. */
    icc?: pulumi.Input<boolean>;
    /** Masquerade traffic leaving the network (`enable_ip_masquerade`). Default true. */
    masquerade?: pulumi.Input<boolean>;
    /** MTU of the network's interfaces (`com.docker.network.driver.mtu`). */
    mtu?: pulumi.Input<number>;
    /** Labels; names under `io.hostnet.` are reserved. */
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface NetworkInputs {
    name: string;
    subnet?: string;
    gateway?: string;
    ipRange?: string;
    bridgeName?: string;
    internal: boolean;
    icc: boolean;
    masquerade: boolean;
    mtu?: number;
    labels: Record<string, string>;
    owner: string;
}

export interface NetworkOutputs extends NetworkInputs {
    networkId: string;
    /** The Linux bridge Docker made for the network (`bridgeName`, or `br-<id>`). */
    bridge: string;
}

const OPT_BRIDGE = "com.docker.network.bridge.name";
const OPT_ICC = "com.docker.network.bridge.enable_icc";
const OPT_MASQ = "com.docker.network.bridge.enable_ip_masquerade";
const OPT_MTU = "com.docker.network.driver.mtu";

function checkSubnet(field: string, value: unknown): string | undefined {
    const cidr = typeof value === "string" ? parseCidr(value) : undefined;
    if (!cidr || cidr.prefix > 30 || cidr.address % 2 ** (32 - cidr.prefix) !== 0) {
        return `\`${field}\` must be an IPv4 network with its prefix length (up to /30), host bits zero, like 10.10.0.0/24; got ${JSON.stringify(value)}`;
    }
    return undefined;
}

function inSubnet(address: string, subnet: string): boolean {
    const a = parseCidr(`${address}/32`)!.address;
    const s = parseCidr(subnet)!;
    const size = 2 ** (32 - s.prefix);
    return a - (a % size) === s.address;
}

export function checkNetworkInputs(inputs: Record<string, unknown>): InputFailure[] {
    const failures = checkFields(inputs, {
        name: { check: checkContainerName, required: true },
        subnet: { check: checkSubnet },
        gateway: { check: checkIPv4 },
        ipRange: { check: checkSubnet },
        bridgeName: { check: checkIfName },
        mtu: { check: checkMtu },
        labels: { check: checkLabels },
    });
    const bad = new Set(failures.map((f) => f.property));
    const { subnet, gateway, ipRange } = inputs as Record<string, string | undefined>;
    if (containsUnknown([subnet, gateway, ipRange])) return failures;
    if ((gateway || ipRange) && !subnet) {
        failures.push({ property: gateway ? "gateway" : "ipRange", reason: `\`${gateway ? "gateway" : "ipRange"}\` needs \`subnet\`: set the subnet they belong to` });
    } else if (subnet && !bad.has("subnet")) {
        if (gateway && !bad.has("gateway") && !inSubnet(gateway, subnet)) {
            failures.push({ property: "gateway", reason: `\`gateway\` ${gateway} is outside \`subnet\` ${subnet}` });
        } else if (gateway && !bad.has("gateway")) {
            const reason = checkCidr("gateway", `${gateway}/${subnet.split("/")[1]}`);
            if (reason) failures.push({ property: "gateway", reason });
        }
        if (ipRange && !bad.has("ipRange") && !(inSubnet(ipRange.split("/")[0], subnet) && parseCidr(ipRange)!.prefix >= parseCidr(subnet)!.prefix)) {
            failures.push({ property: "ipRange", reason: `\`ipRange\` ${ipRange} must lie inside \`subnet\` ${subnet}` });
        }
    }
    return failures;
}

function options(i: NetworkInputs): Record<string, string> {
    const o: Record<string, string> = { [OPT_ICC]: String(i.icc), [OPT_MASQ]: String(i.masquerade) };
    if (i.bridgeName) o[OPT_BRIDGE] = i.bridgeName;
    if (i.mtu !== undefined) o[OPT_MTU] = String(i.mtu);
    return o;
}


const replaceOnChange = ["name", "subnet", "gateway", "ipRange", "bridgeName", "internal", "icc", "masquerade", "mtu", "labels", "owner"] as const;

export const networkProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: NetworkInputs, news: NetworkInputs): Promise<pulumi.dynamic.CheckResult> {
        return { inputs: news, failures: checkNetworkInputs(news as unknown as Record<string, unknown>) };
    },

    async diff(_id: string, olds: NetworkOutputs, news: NetworkInputs): Promise<pulumi.dynamic.DiffResult> {
        const replaces = replaceOnChange.filter((k) => !sameValue(olds[k], news[k]));
        return { changes: replaces.length > 0, replaces: [...replaces], deleteBeforeReplace: true };
    },

    async create(inputs: NetworkInputs): Promise<pulumi.dynamic.CreateResult> {
        const existing = await networks.inspectNetwork(inputs.name);
        if (existing && existing.Name === inputs.name) {
            const owner = existing.Labels?.[OWNER_LABEL];
            throw new Error(`failed to create network "${inputs.name}": a network of that name already exists (${owner ? `owned by "${owner}"` : "not made by this library"}); choose another \`name\``);
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

    async read(id: string, props: NetworkOutputs): Promise<pulumi.dynamic.ReadResult> {
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

/** A user-defined Docker network (driver bridge), marked as this stack's with a label. */
export class Network extends pulumi.dynamic.Resource {
    declare readonly networkId: pulumi.Output<string>;
    declare readonly name: pulumi.Output<string>;
    /** The Linux bridge behind the network: pass it to a VethAttachment's `bridge`. */
    declare readonly bridge: pulumi.Output<string>;
    declare readonly subnet: pulumi.Output<string | undefined>;
    declare readonly owner: pulumi.Output<string>;

    constructor(name: string, args: NetworkArgs = {}, opts?: pulumi.CustomResourceOptions) {
        const inputs = {
            name: args.name ?? defaultDockerName(pulumi.getStack(), name),
            subnet: args.subnet,
            gateway: args.gateway,
            ipRange: args.ipRange,
            bridgeName: args.bridgeName,
            internal: args.internal ?? false,
            icc: args.icc ?? true,
            masquerade: args.masquerade ?? true,
            mtu: args.mtu,
            labels: args.labels ?? {},
            owner: ownerOf("Network", name),
        };
        checkPromptly(`Network "${name}"`, inputs, checkNetworkInputs);
        super(networkProvider, name, { networkId: undefined, bridge: undefined, ...inputs }, opts, "hostnet", "Network");
    }
}
