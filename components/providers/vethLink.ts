// VethLink: a veth pair straight between two containers' network namespaces,
// no bridge (a containerlab link). Each end is named, optionally addressed,
// and marked with the owner mark as its interface alias.

import * as pulumi from "@pulumi/pulumi";
import * as ip from "../host/ip";
import { inNetns, runHost } from "../host/run";
import * as docker from "../host/docker";
import { defaultMac } from "../naming";
import { checkCidr, checkContainerRef, checkIfName, checkMac, checkMtu, containsUnknown, InputFailure } from "../validation";
import { containerNetns } from "./containerNetns";
import { containerIdOf, ContainerLike } from "./containerRef";
import { checkPromptly, ownerOf } from "./promptCheck";
import { definedOnly, sameValue } from "./props";

export interface VethLinkEndArgs {
    /** The container: a Container or a name or id; it needs a network namespace of its own. Changing it replaces the link. */
    container: pulumi.Input<string> | ContainerLike;
    /** Interface name inside the container, e.g. `eth1`. Changing it replaces the link. */
    ifName: pulumi.Input<string>;
    /** IPv4 address with prefix length, e.g. `10.30.0.1/30`. Changed in place. Default: none. */
    address?: pulumi.Input<string>;
    /** MAC address. Changing it replaces the link. Default: derived from the owner mark, stable across re-creations. */
    mac?: pulumi.Input<string>;
}

export interface VethLinkArgs {
    a: VethLinkEndArgs;
    b: VethLinkEndArgs;
    /** MTU of both ends. Changed in place. */
    mtu?: pulumi.Input<number>;
}

export interface VethLinkEnd {
    container: string;
    ifName: string;
    address?: string;
    mac?: string;
}

export interface VethLinkInputs {
    a: VethLinkEnd;
    b: VethLinkEnd;
    mtu?: number;
    owner: string;
}

export interface VethLinkOutputs extends VethLinkInputs {
    aContainerId: string;
    bContainerId: string;
}

function checkEnd(side: "a" | "b", end: unknown): InputFailure[] {
    if (typeof end !== "object" || end === null) {
        return [{ property: side, reason: `\`${side}\` must be { container, ifName, address?, mac? }; got ${JSON.stringify(end)}` }];
    }
    const e = Object.fromEntries(Object.entries(end).filter(([, v]) => !containsUnknown(v)));
    const known = (k: string) => k in e || !(k in (end as object));
    const reasons = [
        !known("container") ? undefined : e.container === undefined ? `\`${side}.container\` is required` : checkContainerRef(`${side}.container`, e.container),
        !known("ifName") ? undefined : e.ifName === undefined ? `\`${side}.ifName\` is required` : checkIfName(`${side}.ifName`, e.ifName),
        e.address === undefined ? undefined : checkCidr(`${side}.address`, e.address),
        e.mac === undefined ? undefined : checkMac(`${side}.mac`, e.mac),
    ];
    return reasons.filter((r): r is string => r !== undefined).map((reason) => ({ property: side, reason }));
}

export function checkVethLinkInputs(inputs: Record<string, unknown>): InputFailure[] {
    const failures = [...("a" in inputs ? checkEnd("a", inputs.a) : []), ...("b" in inputs ? checkEnd("b", inputs.b) : [])];
    if (inputs.mtu !== undefined && !containsUnknown(inputs.mtu)) {
        const reason = checkMtu("mtu", inputs.mtu);
        if (reason) failures.push({ property: "mtu", reason });
    }
    const a = inputs.a as VethLinkEnd | undefined;
    const b = inputs.b as VethLinkEnd | undefined;
    if (a && b && failures.length === 0 && !containsUnknown(a.container) && a.container === b.container) {
        failures.push({ property: "b", reason: "`a.container` and `b.container` are the same container: a link joins two namespaces" });
    }
    return failures;
}


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
    if (end.address !== undefined) live.address = inet.includes(end.address) ? end.address : inet[0] ?? "";
    if (end.mac !== undefined) live.mac = link.address;
    return { live, link };
}

export const vethLinkProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: VethLinkInputs, news: VethLinkInputs): Promise<pulumi.dynamic.CheckResult> {
        // The kernel reports MACs in lower case: store them so, or every refresh would differ.
        const lower = (e: VethLinkEnd) => (typeof e?.mac === "string" ? { ...e, mac: e.mac.toLowerCase() } : e);
        const inputs = { ...news, a: lower(news.a), b: lower(news.b) };
        return { inputs, failures: checkVethLinkInputs(inputs as unknown as Record<string, unknown>) };
    },

    async diff(_id: string, olds: VethLinkOutputs, news: VethLinkInputs): Promise<pulumi.dynamic.DiffResult> {
        const replaces: string[] = [];
        for (const side of ["a", "b"] as const) {
            for (const k of ["container", "ifName", "mac"] as const) {
                if (!sameValue(olds[side][k], news[side][k])) replaces.push(`${side}.${k}`);
            }
        }
        if (olds.owner !== news.owner) replaces.push("owner");
        const inPlace = !sameValue(olds.a.address, news.a.address) || !sameValue(olds.b.address, news.b.address) || !sameValue(olds.mtu, news.mtu);
        return { changes: replaces.length > 0 || inPlace, replaces, deleteBeforeReplace: true };
    },

    async create(inputs: VethLinkInputs): Promise<pulumi.dynamic.CreateResult> {
        const a = await containerNetns(inputs.a.container, "link");
        const b = await containerNetns(inputs.b.container, "link");
        for (const [end, ns] of [[inputs.a, a], [inputs.b, b]] as const) {
            if (await ip.getLink(end.ifName, ns.pid)) {
                throw new Error(`failed to link container "${end.container}": it already has an interface named "${end.ifName}"; choose another \`ifName\``);
            }
        }
        const mtu = inputs.mtu === undefined ? [] : ["mtu", String(inputs.mtu)];
        const macA = inputs.a.mac ? ["address", inputs.a.mac] : [];
        const macB = inputs.b.mac ? ["address", inputs.b.mac] : [];
        // Made inside a's namespace with the peer placed straight into b's: one operation, final names.
        await runHost(
            `create veth link "${inputs.a.ifName}"/"${inputs.b.ifName}"`,
            inNetns(a.pid, ["ip", "link", "add", "name", inputs.a.ifName, ...mtu, ...macA, "type", "veth",
                "peer", "name", inputs.b.ifName, ...mtu, ...macB, "netns", String(b.pid)]),
        );
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

    async read(id: string, props: VethLinkOutputs): Promise<pulumi.dynamic.ReadResult> {
        const a = await readEnd(props.aContainerId, props.a, props.owner);
        const b = await readEnd(props.bContainerId, props.b, props.owner);
        if (!a || !b || a.link.link_index !== b.link.ifindex || b.link.link_index !== a.link.ifindex) return {};
        const live: VethLinkOutputs = { ...props, a: a.live, b: b.live };
        if (props.mtu !== undefined) live.mtu = a.link.mtu;
        return { id, props: definedOnly(live) };
    },

    async update(_id: string, olds: VethLinkOutputs, news: VethLinkInputs): Promise<pulumi.dynamic.UpdateResult> {
        for (const [side, containerId] of [["a", olds.aContainerId], ["b", olds.bContainerId]] as const) {
            const { pid } = await containerNetns(containerId, "link");
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

    async delete(_id: string, props: VethLinkOutputs): Promise<void> {
        // Either end's removal takes the pair; try a's, then b's (a may be gone with its container).
        for (const [end, containerId] of [[props.a, props.aContainerId], [props.b, props.bContainerId]] as const) {
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

/** A veth pair between two containers, each end named and optionally addressed: no bridge in between. */
export class VethLink extends pulumi.dynamic.Resource {
    declare readonly a: pulumi.Output<VethLinkEnd>;
    declare readonly b: pulumi.Output<VethLinkEnd>;
    declare readonly owner: pulumi.Output<string>;

    constructor(name: string, args: VethLinkArgs, opts?: pulumi.CustomResourceOptions) {
        const owner = ownerOf("VethLink", name);
        const end = (side: "a" | "b", e: VethLinkEndArgs) => ({
            ...e,
            mac: e.mac ?? defaultMac(owner, side),
            container: containerIdOf(`VethLink "${name}"`, `${side}.container`, e.container, ["host", "container"],
                "it has no network namespace of its own"),
        });
        const inputs = { a: end("a", args.a), b: end("b", args.b), mtu: args.mtu, owner };
        checkPromptly(`VethLink "${name}"`, inputs, checkVethLinkInputs);
        super(vethLinkProvider, name, { aContainerId: undefined, bContainerId: undefined, ...inputs }, opts, "hostnet", "VethLink");
    }
}
