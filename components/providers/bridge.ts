// Bridge: a plain Linux bridge as desired state, created by the stack or
// adopted when it already exists (docker0, a Docker network's bridge, one made
// by hand).
//
// A created bridge carries the owner mark as its interface alias and is
// deleted on destroy. An adopted bridge is recorded as adopted and is never
// deleted: destroy only takes back the addresses this resource added to it.

import * as pulumi from "@pulumi/pulumi";
import * as ip from "../host/ip";
import { defaultHostIfName } from "../naming";
import { checkCidr, checkFields, checkIfName, checkMtu, InputFailure } from "../validation";
import { checkPromptly, ownerOf } from "./promptCheck";
import { definedOnly, sameValue } from "./props";

export interface BridgeArgs {
    /**
     * Interface name, at most 15 characters. If a bridge of that name exists it
     * is adopted. Default: derived from the stack and resource name,
     * `hn-<name>-<hash>`. Changing it replaces the resource.
     */
    name?: pulumi.Input<string>;
    /** IPv4 addresses with prefix length, e.g. `["10.20.0.1/24"]`. Changed in place. On an adopted bridge, only these are managed. */
    addresses?: pulumi.Input<pulumi.Input<string>[]>;
    /** MTU. Changed in place. Default: the kernel's. */
    mtu?: pulumi.Input<number>;
    /** Spanning tree on. Changed in place. Default: the kernel's (off). */
    stp?: pulumi.Input<boolean>;
    /** VLAN filtering on. Changed in place. Default: the kernel's (off). */
    vlanFiltering?: pulumi.Input<boolean>;
    /** Administratively up. Changed in place. Default true. */
    up?: pulumi.Input<boolean>;
}

export interface BridgeInputs {
    name: string;
    addresses?: string[];
    mtu?: number;
    stp?: boolean;
    vlanFiltering?: boolean;
    up: boolean;
    owner: string;
}

export interface BridgeOutputs extends BridgeInputs {
    /** True when the bridge existed before this resource: it will never be deleted by it. */
    adopted: boolean;
    /** Addresses this resource added to an adopted bridge (taken back on destroy). */
    addedAddresses: string[];
}

function checkAddresses(field: string, value: unknown): string | undefined {
    if (!Array.isArray(value)) return `\`${field}\` must be a list of addresses like ["10.20.0.1/24"]; got ${JSON.stringify(value)}`;
    for (const [i, a] of value.entries()) {
        const reason = checkCidr(`${field}[${i}]`, a);
        if (reason) return reason;
    }
    return undefined;
}

export function checkBridgeInputs(inputs: Record<string, unknown>): InputFailure[] {
    return checkFields(inputs, {
        name: { check: checkIfName, required: true },
        addresses: { check: checkAddresses },
        mtu: { check: checkMtu },
    });
}

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


export const bridgeProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: BridgeInputs, news: BridgeInputs): Promise<pulumi.dynamic.CheckResult> {
        return { inputs: news, failures: checkBridgeInputs(news as unknown as Record<string, unknown>) };
    },

    async diff(_id: string, olds: BridgeOutputs, news: BridgeInputs): Promise<pulumi.dynamic.DiffResult> {
        const replaces = (["name", "owner"] as const).filter((k) => olds[k] !== news[k]);
        const inPlace = (["addresses", "mtu", "stp", "vlanFiltering", "up"] as const).some(
            (k) => news[k] !== undefined && !sameValue(olds[k], news[k]),
        ) || (news.addresses === undefined && (olds.addresses ?? []).length > 0 && !olds.adopted);
        // An adopted bridge is not deleted, so the replacement may be created first.
        return { changes: replaces.length > 0 || inPlace, replaces: [...replaces], deleteBeforeReplace: !olds.adopted };
    },

    async create(inputs: BridgeInputs): Promise<pulumi.dynamic.CreateResult> {
        const existing = await bridgeWithAddresses(inputs.name);
        if (existing) {
            if (existing.linkinfo?.info_kind !== "bridge") {
                throw new Error(`failed to adopt "${inputs.name}": it exists and is a ${existing.linkinfo?.info_kind ?? "plain"} interface, not a bridge; choose another \`name\``);
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

    async read(id: string, props: BridgeOutputs): Promise<pulumi.dynamic.ReadResult> {
        const link = await bridgeWithAddresses(props.name);
        if (!link || link.linkinfo?.info_kind !== "bridge" || (!props.adopted && link.ifalias !== props.owner)) return {};
        const addresses = inet(link);
        const data = link.linkinfo?.info_data ?? {};
        const live: BridgeOutputs = {
            ...props,
            // A created bridge is wholly ours: addresses added by hand are drift. On an adopted one, only ours count.
            addresses: props.adopted
                ? (props.addresses ?? []).filter((a) => addresses.includes(a))
                : [...(props.addresses ?? []).filter((a) => addresses.includes(a)), ...addresses.filter((a) => !(props.addresses ?? []).includes(a))],
            up: link.flags.includes("UP"),
        };
        if (props.addresses === undefined && props.adopted) live.addresses = undefined;
        if (props.mtu !== undefined) live.mtu = link.mtu;
        if (props.stp !== undefined) live.stp = (data.stp_state ?? 0) !== 0;
        if (props.vlanFiltering !== undefined) live.vlanFiltering = (data.vlan_filtering ?? 0) !== 0;
        return { id, props: definedOnly(live) };
    },

    async update(_id: string, olds: BridgeOutputs, news: BridgeInputs): Promise<pulumi.dynamic.UpdateResult> {
        const link = await bridgeWithAddresses(news.name);
        const live = link ? inet(link) : [];
        // On an adopted bridge only addresses this resource added may go; the rest were there before it.
        const managed = olds.adopted ? olds.addedAddresses : live;
        await converge(news, live, managed);
        const added = olds.adopted
            ? [...new Set([...olds.addedAddresses, ...(news.addresses ?? []).filter((a) => !live.includes(a))])].filter((a) => (news.addresses ?? []).includes(a))
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

/**
 * A Linux bridge. Created (and deleted on destroy) when no interface of that
 * name exists; adopted, and never deleted, when one does (`docker0` included).
 */
export class Bridge extends pulumi.dynamic.Resource {
    declare readonly name: pulumi.Output<string>;
    declare readonly adopted: pulumi.Output<boolean>;
    declare readonly addresses: pulumi.Output<string[] | undefined>;

    constructor(name: string, args: BridgeArgs = {}, opts?: pulumi.CustomResourceOptions) {
        const owner = ownerOf("Bridge", name);
        const inputs = {
            name: args.name ?? defaultHostIfName(owner, name),
            addresses: args.addresses,
            mtu: args.mtu,
            stp: args.stp,
            vlanFiltering: args.vlanFiltering,
            up: args.up ?? true,
            owner,
        };
        checkPromptly(`Bridge "${name}"`, inputs, checkBridgeInputs);
        super(bridgeProvider, name, { adopted: undefined, addedAddresses: undefined, ...inputs }, opts, "hostnet", "Bridge");
    }
}
