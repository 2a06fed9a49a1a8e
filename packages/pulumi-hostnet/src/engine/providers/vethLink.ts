// VethLink, engine side: a veth pair straight between two containers' network
// namespaces, no bridge (a containerlab link). Each end is named, optionally
// addressed, and marked with the owner mark as its interface alias.
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import { checkVethLinkInputs, VethLinkEnd, VethLinkInputs, VethLinkOutputs } from "../../common/specs/vethLink";
import * as docker from "../host/docker";
import * as ip from "../host/ip";
import { containerNetns } from "./containerNetns";
import { definedOnly, sameValue, storedProps } from "./props";

async function configureEnd(end: VethLinkEnd, pid: number, owner: string, mtu?: number): Promise<void> {
    await ip.setLink(end.ifName, { alias: owner, mtu, up: true }, pid);
    if (end.address) await ip.addAddress(end.ifName, end.address, pid);
}

/** The live state of one end, or undefined when that end is not ours or gone. */
async function readEnd(containerId: string, end: VethLinkEnd, owner: string) {
    const c = await docker.inspectContainer(containerId);
    if (!c || !c.State.Running) return undefined;
    const links = await ip.listLinksWithAddresses(c.State.Pid);
    const link = links.find((l) => l.ifname === end.ifName);
    if (!link || link.ifalias !== owner) return undefined;
    const inet = ip.ipv4Cidrs(link.addr_info);
    const live: VethLinkEnd = { ...end };
    if (end.address !== undefined) live.address = inet.includes(end.address) ? end.address : (inet[0] ?? "");
    if (end.mac !== undefined) live.mac = link.address;
    return { live, link };
}

export const vethLinkProvider: pulumi.dynamic.ResourceProvider<VethLinkInputs, VethLinkOutputs> = {
    async check(_olds, news) {
        // The kernel reports MACs in lower case: store them so, or every refresh would differ.
        const lower = (e: VethLinkEnd) => (typeof e?.mac === "string" ? { ...e, mac: e.mac.toLowerCase() } : e);
        const inputs = { ...news, a: lower(news.a), b: lower(news.b) };
        return { inputs, failures: checkVethLinkInputs({ ...inputs }) };
    },

    async diff(_id, olds, news) {
        const replaces: string[] = [];
        for (const side of ["a", "b"] as const) {
            for (const k of ["container", "ifName", "mac"] as const) {
                if (!sameValue(olds[side][k], news[side][k])) replaces.push(`${side}.${k}`);
            }
        }
        if (olds.owner !== news.owner) replaces.push("owner");
        const inPlace =
            !sameValue(olds.a.address, news.a.address) || !sameValue(olds.b.address, news.b.address) || !sameValue(olds.mtu, news.mtu);
        return { changes: replaces.length > 0 || inPlace, replaces, deleteBeforeReplace: true };
    },

    async create(inputs) {
        const a = await containerNetns(inputs.a.container, "link", "vethLink");
        const b = await containerNetns(inputs.b.container, "link", "vethLink");
        for (const [end, ns] of [
            [inputs.a, a],
            [inputs.b, b],
        ] as const) {
            if (await ip.getLink(end.ifName, ns.pid)) {
                throw new Error(
                    `failed to link container "${end.container}": it already has an interface named "${end.ifName}"; choose another \`ifName\``,
                );
            }
        }
        // Made inside a's namespace with the peer placed straight into b's: one operation, final names.
        await ip.createVethPair({
            local: { name: inputs.a.ifName, pid: a.pid, mac: inputs.a.mac },
            peer: { name: inputs.b.ifName, pid: b.pid, mac: inputs.b.mac },
            mtu: inputs.mtu,
        });
        try {
            await configureEnd(inputs.a, a.pid, inputs.owner);
            await configureEnd(inputs.b, b.pid, inputs.owner);
        } catch (err) {
            await ip.deleteLink(inputs.a.ifName, a.pid).catch(() => undefined);
            throw err;
        }
        const outs: VethLinkOutputs = { ...inputs, aContainerId: a.id, bContainerId: b.id };
        return { id: `${a.id.slice(0, 12)}:${inputs.a.ifName}`, outs };
    },

    async read(id, stored) {
        const props = storedProps(stored);
        const a = await readEnd(props.aContainerId, props.a, props.owner);
        const b = await readEnd(props.bContainerId, props.b, props.owner);
        if (!a || !b || a.link.link_index !== b.link.ifindex || b.link.link_index !== a.link.ifindex) return {};
        const live: VethLinkOutputs = { ...props, a: a.live, b: b.live };
        if (props.mtu !== undefined) live.mtu = a.link.mtu;
        return { id, props: definedOnly(live) };
    },

    async update(_id, olds, news) {
        for (const [side, containerId] of [
            ["a", olds.aContainerId],
            ["b", olds.bContainerId],
        ] as const) {
            const { pid } = await containerNetns(containerId, "link", "vethLink");
            const before = olds[side].address;
            const after = news[side].address;
            if (before !== after) {
                if (before) await ip.deleteAddress(olds[side].ifName, before, pid);
                if (after) await ip.addAddress(olds[side].ifName, after, pid);
            }
            await ip.setLink(olds[side].ifName, { mtu: news.mtu, up: true }, pid);
        }
        return { outs: definedOnly({ ...news, aContainerId: olds.aContainerId, bContainerId: olds.bContainerId }) };
    },

    async delete(_id, props) {
        // Either end's removal takes the pair; try a's, then b's (a may be gone with its container).
        for (const [end, containerId] of [
            [props.a, props.aContainerId],
            [props.b, props.bContainerId],
        ] as const) {
            const c = await docker.inspectContainer(containerId);
            if (!c || !c.State.Running) continue;
            const link = await ip.getLink(end.ifName, c.State.Pid);
            if (link && link.ifalias === props.owner) {
                await ip.deleteLink(end.ifName, c.State.Pid);
                return;
            }
        }
    },
};
