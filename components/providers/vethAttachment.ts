// VethAttachment: a container's network interface on a host bridge, as desired
// state. It does what section 4 of the seed does by hand (veth pair, host end
// on the bridge and up, peer in the container's namespace as eth0 with an
// address and a default route), and it can also read it back, change it in
// place and remove it.

import * as pulumi from "@pulumi/pulumi";
import * as docker from "../host/docker";
import * as ip from "../host/ip";
import { isHostCommandError } from "../host/run";
import { defaultHostIfName, defaultMac } from "../naming";
import {
    checkCidr,
    checkContainerRef,
    checkFields,
    checkGatewayInSubnet,
    checkIfName,
    checkIPv4,
    checkMac,
    checkBoolean,
    checkMtu,
    containsUnknown,
    InputFailure,
} from "../validation";
import { containerNetns } from "./containerNetns";
import { containerIdOf, ContainerLike } from "./containerRef";
import { checkPromptly, ownerOf } from "./promptCheck";
import { definedOnly } from "./props";

export interface VethAttachmentArgs {
    /**
     * The container to attach: a Container (replacing it replaces the attachment;
     * modes host and container are refused at preview) or a name or id. It needs
     * a network namespace of its own. Changing it replaces the attachment.
     */
    container: pulumi.Input<string> | ContainerLike;
    /**
     * The Linux bridge the host end joins: a name (docker0, a Bridge's `name`)
     * or a Network (its bridge). Default `docker0`. Changing it replaces the attachment.
     */
    bridge?: pulumi.Input<string> | { readonly bridge: pulumi.Output<string> };
    /** The container-side IPv4 address with its prefix length, e.g. `172.17.0.3/16`. Changed in place. */
    address: pulumi.Input<string>;
    /** The container's default gateway. Default: the bridge's first IPv4 address. Must lie in `address`'s subnet. Changed in place. */
    gateway?: pulumi.Input<string>;
    /**
     * Set the container's default route through `gateway`. Default true. Set false
     * for a second attachment, or a container that has its default route elsewhere.
     * Changed in place.
     */
    defaultRoute?: pulumi.Input<boolean>;
    /** The interface name inside the container. Default `eth0`. Changing it replaces the attachment. */
    containerIfName?: pulumi.Input<string>;
    /**
     * The host-side interface name, at most 15 characters. Default: derived from
     * the stack and resource name, `hn-<name>-<hash>`, stable across runs.
     * Changing it replaces the attachment.
     */
    hostIfName?: pulumi.Input<string>;
    /** MTU of both ends, 68-65535. Default: the kernel's (1500). Changed in place. */
    mtu?: pulumi.Input<number>;
    /**
     * MAC address of the container-side interface. Default: derived from the
     * owner mark, stable across re-creations (`02:...`). Changing it replaces the attachment.
     */
    mac?: pulumi.Input<string>;
}

/** Inputs as the provider sees them: defaults applied, owner mark set. */
export interface VethAttachmentInputs {
    container: string;
    bridge: string;
    address: string;
    gateway?: string;
    defaultRoute: boolean;
    containerIfName: string;
    hostIfName: string;
    mtu?: number;
    mac?: string;
    /** Ownership mark, stored as the host end's interface alias. */
    owner: string;
}

export interface VethAttachmentOutputs extends VethAttachmentInputs {
    /** Full id of the container the attachment lives in. */
    containerId: string;
    /** The default gateway in effect (the given one, or the bridge's address); empty without a default route. */
    effectiveGateway: string;
    /** The bridge's first IPv4 address when last read: the default gateway. */
    bridgeAddress: string;
    /** Both ends administratively up. */
    up: boolean;
}

const replaceOnChange = ["container", "bridge", "containerIfName", "hostIfName", "mac", "owner"] as const;

export function checkVethAttachmentInputs(inputs: Record<string, unknown>): InputFailure[] {
    const failures = checkFields(inputs, {
        container: { check: checkContainerRef, required: true },
        bridge: { check: checkIfName, required: true },
        address: { check: checkCidr, required: true },
        gateway: { check: checkIPv4 },
        defaultRoute: { check: checkBoolean },
        containerIfName: { check: checkIfName, required: true },
        hostIfName: { check: checkIfName, required: true },
        mtu: { check: checkMtu },
        mac: { check: checkMac },
    });
    const { gateway, address } = inputs;
    if (typeof gateway === "string" && typeof address === "string" && !containsUnknown([gateway, address]) && !failures.some((f) => f.property === "gateway" || f.property === "address")) {
        const reason = checkGatewayInSubnet(gateway, address);
        if (reason) failures.push({ property: "gateway", reason });
    }
    return failures;
}

async function firstIPv4(link: string): Promise<string | undefined> {
    const inet = (await ip.getAddresses(link)).find((a) => a.family === "inet");
    return inet?.local;
}

/** Reads an attachment back from the host, or undefined when it is not there (or not ours). */
async function readAttachment(props: VethAttachmentOutputs): Promise<VethAttachmentOutputs | undefined> {
    const host = await ip.getLink(props.hostIfName);
    if (!host || host.ifalias !== props.owner || host.link_index === undefined) {
        return undefined;
    }
    const c = await docker.inspectContainer(props.containerId);
    if (!c || !c.State.Running || !c.State.Pid) {
        return undefined;
    }
    const pid = c.State.Pid;
    // Interface indexes are per namespace: the peer must point back at the host end too.
    const peer = (await ip.listLinksWithAddresses(pid)).find((l) => l.ifindex === host.link_index && l.link_index === host.ifindex);
    if (!peer) {
        return undefined;
    }
    const inet = ip.ipv4Cidrs(peer.addr_info);
    const route = (await ip.getDefaultRoutes(pid)).find((r) => r.dev === peer.ifname);
    const bridge = host.master ?? "";
    const live: VethAttachmentOutputs = {
        ...props,
        bridge,
        containerIfName: peer.ifname,
        address: inet.includes(props.address) ? props.address : inet[0] ?? "",
        effectiveGateway: route?.gateway ?? "",
        bridgeAddress: (bridge && (await firstIPv4(bridge))) || props.bridgeAddress,
        up: host.flags.includes("UP") && peer.flags.includes("UP"),
    };
    if (props.mtu !== undefined) live.mtu = host.mtu;
    if (props.mac !== undefined) live.mac = peer.address;
    return live;
}

function desiredGateway(news: VethAttachmentInputs, bridgeAddress: string): string {
    return news.defaultRoute === false ? "" : news.gateway ?? bridgeAddress;
}

async function addDefaultRoute(inputs: VethAttachmentInputs, gateway: string, pid: number): Promise<void> {
    try {
        await ip.addDefaultRoute(inputs.containerIfName, gateway, pid);
    } catch (err) {
        if (isHostCommandError(err) && /File exists/.test(err.stderr)) {
            throw new Error(`failed to attach "${inputs.hostIfName}": container "${inputs.container}" already has a default route; set \`defaultRoute: false\` on this attachment (or remove the other route)`);
        }
        throw err;
    }
}

export const vethAttachmentProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: VethAttachmentInputs, news: VethAttachmentInputs): Promise<pulumi.dynamic.CheckResult> {
        // The kernel reports MACs in lower case: store them so, or every refresh would differ.
        const inputs = typeof news.mac === "string" ? { ...news, mac: news.mac.toLowerCase() } : news;
        return { inputs, failures: checkVethAttachmentInputs(inputs as unknown as Record<string, unknown>) };
    },

    async diff(_id: string, olds: VethAttachmentOutputs, news: VethAttachmentInputs): Promise<pulumi.dynamic.DiffResult> {
        const replaces = replaceOnChange.filter((k) => olds[k] !== news[k]);
        const changes: string[] = [];
        if (olds.address !== news.address) changes.push("address");
        if (olds.gateway !== news.gateway || olds.effectiveGateway !== desiredGateway(news, olds.bridgeAddress)) changes.push("gateway");
        if ((olds.defaultRoute ?? true) !== news.defaultRoute) changes.push("defaultRoute");
        if (news.mtu !== undefined ? olds.mtu !== news.mtu : olds.mtu !== undefined) changes.push("mtu");
        if (olds.up === false) changes.push("up");
        return {
            changes: replaces.length > 0 || changes.length > 0,
            replaces: [...replaces],
            // The replacement reuses the same interface names: the old pair must go first.
            deleteBeforeReplace: true,
        };
    },

    async create(inputs: VethAttachmentInputs): Promise<pulumi.dynamic.CreateResult> {
        const { id: containerId, pid } = await containerNetns(inputs.container, "attach to");
        const bridge = await ip.getLink(inputs.bridge);
        if (!bridge) {
            throw new Error(`failed to attach "${inputs.hostIfName}": bridge "${inputs.bridge}" does not exist; create it (or a Bridge resource) first`);
        }
        if (bridge.linkinfo?.info_kind !== "bridge") {
            throw new Error(`failed to attach "${inputs.hostIfName}": "${inputs.bridge}" is a ${bridge.linkinfo?.info_kind ?? "plain"} interface, not a bridge`);
        }
        const bridgeAddress = (await firstIPv4(inputs.bridge)) ?? "";
        const gateway = desiredGateway(inputs, bridgeAddress);
        if (inputs.defaultRoute !== false && !gateway) {
            throw new Error(`failed to attach "${inputs.hostIfName}": bridge "${inputs.bridge}" has no IPv4 address to use as the default gateway; set \`gateway\`, or \`defaultRoute: false\``);
        }
        if (gateway && inputs.gateway === undefined && checkGatewayInSubnet(gateway, inputs.address)) {
            throw new Error(`failed to attach "${inputs.hostIfName}": the bridge's address ${gateway}, the default gateway, is outside the subnet of \`address\` ${inputs.address}; use an address in the bridge's subnet, or set \`gateway\` or \`defaultRoute: false\``);
        }
        const existing = await ip.getLink(inputs.hostIfName);
        if (existing) {
            const owner = existing.ifalias ? `owned by "${existing.ifalias}"` : "not made by this library";
            throw new Error(`failed to create "${inputs.hostIfName}": an interface of that name already exists on the host (${owner}); choose another \`hostIfName\``);
        }
        if (await ip.getLink(inputs.containerIfName, pid)) {
            throw new Error(`failed to attach to container "${inputs.container}": it already has an interface named "${inputs.containerIfName}"; choose another \`containerIfName\``);
        }

        await ip.createVethPair({ hostIfName: inputs.hostIfName, peerIfName: inputs.containerIfName, peerPid: pid, mtu: inputs.mtu, peerMac: inputs.mac });
        try {
            await ip.setLink(inputs.hostIfName, { alias: inputs.owner, master: inputs.bridge, up: true });
            await ip.addAddress(inputs.containerIfName, inputs.address, pid);
            await ip.setLink(inputs.containerIfName, { up: true }, pid);
            if (gateway) await addDefaultRoute(inputs, gateway, pid);
        } catch (err) {
            // Deleting the host end removes the peer too: nothing is left behind.
            await ip.deleteLink(inputs.hostIfName).catch(() => undefined);
            throw err;
        }
        const outs: VethAttachmentOutputs = { ...inputs, containerId, effectiveGateway: gateway, bridgeAddress, up: true };
        return { id: inputs.hostIfName, outs: definedOnly(outs) };
    },

    async read(_id: string, props: VethAttachmentOutputs): Promise<pulumi.dynamic.ReadResult> {
        const live = await readAttachment(props);
        return live ? { id: live.hostIfName, props: definedOnly(live) } : {};
    },

    async update(_id: string, olds: VethAttachmentOutputs, news: VethAttachmentInputs): Promise<pulumi.dynamic.UpdateResult> {
        const host = await ip.getLink(olds.hostIfName);
        if (!host || host.ifalias !== olds.owner) {
            throw new Error(`failed to update "${olds.hostIfName}": the host end is gone or no longer this attachment's (the container may have restarted); run \`pulumi refresh\`, then \`pulumi up\` recreates it`);
        }
        const { pid } = await containerNetns(olds.containerId, "attach to");
        const dev = olds.containerIfName;
        const addressChanged = olds.address !== news.address;
        if (addressChanged) {
            if (olds.address) await ip.deleteAddress(dev, olds.address, pid);
            await ip.addAddress(dev, news.address, pid);
        }
        if (news.mtu !== undefined && olds.mtu !== news.mtu) {
            await ip.setLink(olds.hostIfName, { mtu: news.mtu });
            await ip.setLink(dev, { mtu: news.mtu }, pid);
        }
        await ip.setLink(olds.hostIfName, { up: true });
        await ip.setLink(dev, { up: true }, pid);
        const bridgeAddress = (await firstIPv4(news.bridge)) ?? olds.bridgeAddress;
        const gateway = desiredGateway(news, bridgeAddress);
        // Only the default route through this attachment's own interface is touched;
        // an address change takes the old one with it, so it is set again.
        if (addressChanged || gateway !== olds.effectiveGateway) {
            await ip.deleteDefaultRoute(dev, pid);
            if (gateway) await addDefaultRoute(news, gateway, pid);
        }
        const outs: VethAttachmentOutputs = { ...news, containerId: olds.containerId, effectiveGateway: gateway, bridgeAddress, up: true };
        return { outs: definedOnly(outs) };
    },

    async delete(_id: string, props: VethAttachmentOutputs): Promise<void> {
        const host = await ip.getLink(props.hostIfName);
        // Never delete an interface this resource did not create: the alias is its mark.
        if (host && host.ifalias === props.owner) {
            await ip.deleteLink(props.hostIfName);
        }
    },
};

/**
 * A veth pair joining a running container to a Linux bridge: the host end on
 * the bridge, the peer inside the container's network namespace, addressed,
 * with a default route. `pulumi refresh` reads it back from the kernel;
 * `pulumi destroy` removes both ends (and only interfaces it made).
 */
export class VethAttachment extends pulumi.dynamic.Resource {
    declare readonly container: pulumi.Output<string>;
    declare readonly containerId: pulumi.Output<string>;
    declare readonly bridge: pulumi.Output<string>;
    declare readonly address: pulumi.Output<string>;
    declare readonly effectiveGateway: pulumi.Output<string>;
    declare readonly containerIfName: pulumi.Output<string>;
    declare readonly hostIfName: pulumi.Output<string>;
    declare readonly owner: pulumi.Output<string>;

    constructor(name: string, args: VethAttachmentArgs, opts?: pulumi.CustomResourceOptions) {
        const owner = ownerOf("VethAttachment", name);
        const inputs = {
            container: containerIdOf(`VethAttachment "${name}"`, "container", args.container, ["host", "container"],
                "it has no network namespace of its own to attach to"),
            bridge: bridgeNameOf(args.bridge ?? "docker0"),
            address: args.address,
            gateway: args.gateway,
            defaultRoute: args.defaultRoute ?? true,
            containerIfName: args.containerIfName ?? "eth0",
            hostIfName: args.hostIfName ?? defaultHostIfName(owner, name),
            mtu: args.mtu,
            mac: args.mac ?? defaultMac(owner, "peer"),
            owner,
        };
        checkPromptly(`VethAttachment "${name}"`, inputs, checkVethAttachmentInputs);
        super(
            vethAttachmentProvider,
            name,
            { containerId: undefined, effectiveGateway: undefined, bridgeAddress: undefined, up: undefined, ...inputs },
            opts,
            "hostnet",
            "VethAttachment",
        );
    }
}

function bridgeNameOf(ref: pulumi.Input<string> | { readonly bridge: pulumi.Output<string> }): pulumi.Input<string> {
    return typeof ref === "object" && ref !== null && "bridge" in ref && pulumi.Output.isInstance(ref.bridge) ? ref.bridge : (ref as pulumi.Input<string>);
}
