// VethAttachment, engine side: a container's network interface on a host
// bridge. It does what section 4 of the seed does by hand (veth pair, host end
// on the bridge and up, peer in the container's namespace as eth0 with an
// address and a default route), reads it back, changes it in place and
// removes it.
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import { alreadyExistsMessage } from "../../common/naming";
import { checkVethAttachmentInputs, VethAttachmentInputs, VethAttachmentOutputs } from "../../common/specs/vethAttachment";
import { checkGatewayInSubnet } from "../../common/validation";
import * as docker from "../host/docker";
import { ExistsError } from "../host/errors";
import * as ip from "../host/ip";
import { containerNetns } from "./containerNetns";
import { definedOnly, storedProps } from "./props";

const replaceOnChange = ["container", "bridge", "containerIfName", "hostIfName", "mac", "owner"] as const;

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
        address: inet.includes(props.address) ? props.address : (inet[0] ?? ""),
        effectiveGateway: route?.gateway ?? "",
        bridgeAddress: (bridge && (await firstIPv4(bridge))) || props.bridgeAddress,
        up: host.flags.includes("UP") && peer.flags.includes("UP"),
    };
    if (props.mtu !== undefined) live.mtu = host.mtu;
    if (props.mac !== undefined) live.mac = peer.address;
    return live;
}

function desiredGateway(news: VethAttachmentInputs, bridgeAddress: string): string {
    return news.defaultRoute === false ? "" : (news.gateway ?? bridgeAddress);
}

async function addDefaultRoute(inputs: VethAttachmentInputs, gateway: string, pid: number): Promise<void> {
    try {
        await ip.addDefaultRoute(inputs.containerIfName, gateway, pid);
    } catch (err) {
        if (err instanceof ExistsError) {
            throw new Error(
                `failed to attach "${inputs.hostIfName}": container "${inputs.container}" already has a default route; set \`defaultRoute: false\` on this attachment (or remove the other route)`,
                { cause: err },
            );
        }
        throw err;
    }
}

export const vethAttachmentProvider: pulumi.dynamic.ResourceProvider<VethAttachmentInputs, VethAttachmentOutputs> = {
    async check(_olds, news) {
        // The kernel reports MACs in lower case: store them so, or every refresh would differ.
        const inputs = typeof news.mac === "string" ? { ...news, mac: news.mac.toLowerCase() } : news;
        return { inputs, failures: checkVethAttachmentInputs({ ...inputs }) };
    },

    async diff(_id, olds, news) {
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

    async create(inputs) {
        const { id: containerId, pid } = await containerNetns(inputs.container, "attach to", "vethAttachment");
        const bridge = await ip.getLink(inputs.bridge);
        if (!bridge) {
            throw new Error(
                `failed to attach "${inputs.hostIfName}": bridge "${inputs.bridge}" does not exist; create it (or a Bridge resource) first`,
            );
        }
        if (bridge.linkinfo?.info_kind !== "bridge") {
            throw new Error(
                `failed to attach "${inputs.hostIfName}": "${inputs.bridge}" is a ${bridge.linkinfo?.info_kind ?? "plain"} interface, not a bridge`,
            );
        }
        const bridgeAddress = (await firstIPv4(inputs.bridge)) ?? "";
        const gateway = desiredGateway(inputs, bridgeAddress);
        if (inputs.defaultRoute !== false && !gateway) {
            throw new Error(
                `failed to attach "${inputs.hostIfName}": bridge "${inputs.bridge}" has no IPv4 address to use as the default gateway; set \`gateway\`, or \`defaultRoute: false\``,
            );
        }
        if (gateway && inputs.gateway === undefined && checkGatewayInSubnet(gateway, inputs.address)) {
            throw new Error(
                `failed to attach "${inputs.hostIfName}": the bridge's address ${gateway}, the default gateway, is outside the subnet of \`address\` ${inputs.address}; use an address in the bridge's subnet, or set \`gateway\` or \`defaultRoute: false\``,
            );
        }
        const existing = await ip.getLink(inputs.hostIfName);
        if (existing) {
            throw new Error(alreadyExistsMessage(`interface "${inputs.hostIfName}"`, "an interface", existing.ifalias, "hostIfName"));
        }
        if (await ip.getLink(inputs.containerIfName, pid)) {
            throw new Error(
                `failed to attach to container "${inputs.container}": it already has an interface named "${inputs.containerIfName}"; choose another \`containerIfName\``,
            );
        }

        await ip.createVethPair({
            local: { name: inputs.hostIfName },
            peer: { name: inputs.containerIfName, pid, mac: inputs.mac },
            mtu: inputs.mtu,
        });
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

    async read(_id, props) {
        const live = await readAttachment(storedProps(props));
        return live ? { id: live.hostIfName, props: definedOnly(live) } : {};
    },

    async update(_id, olds, news) {
        const host = await ip.getLink(olds.hostIfName);
        if (!host || host.ifalias !== olds.owner) {
            throw new Error(
                `failed to update "${olds.hostIfName}": the host end is gone or no longer this attachment's (the container may have restarted); run \`pulumi refresh\`, then \`pulumi up\` recreates it`,
            );
        }
        const { pid } = await containerNetns(olds.containerId, "attach to", "vethAttachment");
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

    async delete(_id, props) {
        const host = await ip.getLink(props.hostIfName);
        // Never delete an interface this resource did not create: the alias is its mark.
        if (host && host.ifalias === props.owner) {
            await ip.deleteLink(props.hostIfName);
        }
    },
};
