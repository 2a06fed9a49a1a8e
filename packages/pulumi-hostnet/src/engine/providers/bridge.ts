// Bridge: a plain Linux bridge as desired state, created by the stack or
// adopted when it already exists (docker0, a Docker network's bridge, one made
// by hand).
//
// A created bridge carries the owner mark as its interface alias and is
// deleted on destroy. An adopted bridge is recorded as adopted and is never
// deleted: destroy only takes back the addresses this resource added to it.
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import { BridgeInputs, BridgeOutputs, checkBridgeInputs } from "../../common/specs/bridge";
import * as ip from "../host/ip";
import { definedOnly, sameValue, storedProps } from "./props";

function inet(link: ip.LinkInfo & { addr_info?: ip.AddressInfo[] }): string[] {
    return ip.ipv4Cidrs(link.addr_info);
}

async function bridgeWithAddresses(name: string): Promise<(ip.LinkInfo & { addr_info: ip.AddressInfo[] }) | undefined> {
    const link = await ip.getLink(name);
    if (!link) return undefined;
    const addr_info = await ip.getAddresses(name);
    return { ...link, addr_info };
}

/** Brings the bridge's settings to `want`; `managed` are the addresses it may remove. */
async function converge(want: BridgeInputs, liveAddresses: string[], managed: string[]): Promise<void> {
    for (const a of managed) {
        if (!(want.addresses ?? []).includes(a) && liveAddresses.includes(a)) await ip.deleteAddress(want.name, a);
    }
    for (const a of want.addresses ?? []) {
        if (!liveAddresses.includes(a)) await ip.addAddress(want.name, a);
    }
    await ip.setBridgeOptions(want.name, { stp: want.stp, vlanFiltering: want.vlanFiltering });
    await ip.setLink(want.name, { mtu: want.mtu, up: want.up });
}

export const bridgeProvider: pulumi.dynamic.ResourceProvider<BridgeInputs, BridgeOutputs> = {
    async check(_olds: BridgeInputs, news: BridgeInputs) {
        return { inputs: news, failures: checkBridgeInputs({ ...news }) };
    },

    async diff(_id: string, olds: BridgeOutputs, news: BridgeInputs) {
        const replaces = (["name", "owner"] as const).filter((k) => olds[k] !== news[k]);
        const inPlace =
            (["addresses", "mtu", "stp", "vlanFiltering", "up"] as const).some(
                (k) => news[k] !== undefined && !sameValue(olds[k], news[k]),
            ) ||
            (news.addresses === undefined && (olds.addresses ?? []).length > 0 && !olds.adopted);
        // An adopted bridge is not deleted, so the replacement may be created first.
        return { changes: replaces.length > 0 || inPlace, replaces: [...replaces], deleteBeforeReplace: !olds.adopted };
    },

    async create(inputs: BridgeInputs) {
        const existing = await bridgeWithAddresses(inputs.name);
        if (existing) {
            if (existing.linkinfo?.info_kind !== "bridge") {
                throw new Error(
                    `failed to adopt "${inputs.name}": it exists and is a ${existing.linkinfo?.info_kind ?? "plain"} interface, not a bridge; choose another \`name\``,
                );
            }
            const before = inet(existing);
            const added = (inputs.addresses ?? []).filter((a) => !before.includes(a));
            try {
                await converge(inputs, before, []);
            } catch (err) {
                // Take back what this failed adoption added; the bridge itself is not ours.
                for (const a of added) await ip.deleteAddress(inputs.name, a).catch(() => undefined);
                throw err;
            }
            const outs: BridgeOutputs = { ...inputs, adopted: true, addedAddresses: added };
            return { id: inputs.name, outs: definedOnly(outs) };
        }
        await ip.createBridge(inputs.name);
        try {
            await ip.setLink(inputs.name, { alias: inputs.owner });
            await converge(inputs, [], []);
        } catch (err) {
            await ip.deleteLink(inputs.name).catch(() => undefined);
            throw err;
        }
        return { id: inputs.name, outs: definedOnly({ ...inputs, adopted: false, addedAddresses: [] }) };
    },

    async read(id: string, stored?: BridgeOutputs) {
        const props = storedProps(stored);
        const link = await bridgeWithAddresses(props.name);
        if (!link || link.linkinfo?.info_kind !== "bridge" || (!props.adopted && link.ifalias !== props.owner)) return {};
        const addresses = inet(link);
        const data = link.linkinfo?.info_data ?? {};
        const live: BridgeOutputs = {
            ...props,
            // A created bridge is wholly ours: addresses added by hand are drift. On an adopted one, only ours count.
            addresses: props.adopted
                ? (props.addresses ?? []).filter((a) => addresses.includes(a))
                : [
                      ...(props.addresses ?? []).filter((a) => addresses.includes(a)),
                      ...addresses.filter((a) => !(props.addresses ?? []).includes(a)),
                  ],
            up: link.flags.includes("UP"),
        };
        if (props.addresses === undefined && props.adopted) live.addresses = undefined;
        if (props.mtu !== undefined) live.mtu = link.mtu;
        if (props.stp !== undefined) live.stp = (data.stp_state ?? 0) !== 0;
        if (props.vlanFiltering !== undefined) live.vlanFiltering = (data.vlan_filtering ?? 0) !== 0;
        return { id, props: definedOnly(live) };
    },

    async update(_id: string, olds: BridgeOutputs, news: BridgeInputs) {
        const link = await bridgeWithAddresses(news.name);
        const live = link ? inet(link) : [];
        // On an adopted bridge only addresses this resource added may go; the rest were there before it.
        const managed = olds.adopted ? olds.addedAddresses : live;
        await converge(news, live, managed);
        const added = olds.adopted
            ? [...new Set([...olds.addedAddresses, ...(news.addresses ?? []).filter((a) => !live.includes(a))])].filter((a) =>
                  (news.addresses ?? []).includes(a),
              )
            : [];
        return { outs: definedOnly({ ...news, adopted: olds.adopted, addedAddresses: added }) };
    },

    async delete(_id: string, props: BridgeOutputs): Promise<void> {
        const link = await ip.getLink(props.name);
        if (!link) return;
        if (props.adopted) {
            // Never delete an adopted bridge; take back only what this resource added.
            for (const a of props.addedAddresses) await ip.deleteAddress(props.name, a);
            return;
        }
        if (link.ifalias === props.owner) await ip.deleteLink(props.name);
    },
};
