// MacvlanAttachment, engine side: a container's interface straight on the
// wire of a host interface (its parent): a macvlan (a MAC of its own, so the
// LAN sees the container as one more host), or an ipvlan (the parent's MAC).
// The link is made on the parent in the host's namespace and placed straight
// into the container's under its final name, in one kernel operation; then
// marked, addressed, brought up and given its default route. It reads it
// back, changes addresses, gateway and MTU in place, and removes it.
//
// The mark is on the container-side interface itself (its alias; its MAC,
// derived from the mark, covers the moment before the alias is set): a
// macvlan has no host end. Only an interface carrying this resource's mark
// is ever changed or deleted.
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import * as addr from "../../common/address";
import { isOwnedBy, markedByMac, sameStack, temporaryIfName } from "../../common/naming";
import { checkMacvlanAttachmentInputs, MacvlanAttachmentInputs, MacvlanAttachmentOutputs } from "../../common/specs/macvlanAttachment";
import { failuresError, InputFailure, isKnown } from "../../common/validation";
import * as docker from "../../host/docker";
import { ExistsError } from "../../host/errors";
import * as ip from "../../host/ip";
import { runIp } from "../../host/ip";
import { dadStep, enableIPv6Step } from "../addressing";
import { checkParent } from "../parent";
import { addressHeld, claimedTwice, kernelKind, nameTaken, push, RuleName } from "../rules";
import { callStep, describe, execute, HOST, ipStep, making, Netns, Plan, Step } from "../plan";
import { claim, claimant } from "../registry";
import { containerFailure, containerNetns, defaultRouteFailure } from "./containerNetns";
import { definedOnly, sameValue, storedProps } from "./props";

const replaceOnChange = ["container", "parent", "kind", "mode", "containerIfName", "mac", "owner"] as const;

/** The inputs whose change makes the preview look at the host again. */
const hostChecked = [
    "container",
    "parent",
    "kind",
    "mode",
    "addresses",
    "gateway",
    "ipv6Gateway",
    "containerIfName",
    "mtu",
    "mac",
] as const;

/** The role of the MAC derived from the owner mark (see markedByMac). */
export const MAC_ROLE = "macvlan";

/** True when the interface is this attachment's: marked as such, or made by it and not marked yet (an interrupted create). */
function ownLink(link: ip.LinkInfo | undefined, owner: string): boolean {
    return link !== undefined && (isOwnedBy(link.ifalias, owner) || markedByMac(link, owner, MAC_ROLE));
}

function containerNs(inputs: { container: string }, pid?: number): Netns {
    return { pid, label: `container "${inputs.container}"` };
}

type Family = 4 | 6;

/** The gateway field of each family. */
const GATEWAY_FIELD = { 4: "gateway", 6: "ipv6Gateway" } as const;

/** "default route" / "IPv6 default route", for step texts. */
const routeName = (family: Family) => (family === 4 ? "default route" : "IPv6 default route");

function routeExplained(inputs: MacvlanAttachmentInputs, family: Family) {
    return (err: unknown) =>
        err instanceof ExistsError
            ? new Error(
                  `failed to attach ${inputs.kind} "${inputs.containerIfName}": container "${inputs.container}" already has ${family === 4 ? "a" : "an"} ${routeName(family)}; drop \`${GATEWAY_FIELD[family]}\` on this attachment (or remove the other route)`,
                  { cause: err },
              )
            : undefined;
}

/**
 * The default gateways this attachment manages, by family ("" for none). The
 * IPv6 one is managed only where the program declares `ipv6Gateway` (now, or
 * before: then it is taken away); otherwise a route a router's advertisement
 * gave the container is the kernel's, never touched.
 */
function gateways(inputs: { gateway?: string; ipv6Gateway?: string }): Record<Family, string> {
    return { 4: inputs.gateway ?? "", 6: inputs.ipv6Gateway ?? "" };
}

const listed = (addresses: readonly string[]) => addresses.join(", ");

/** The steps that are needed only for some inputs (IPv6's), without the others. */
const some = (...steps: (Step | undefined)[]): Step[] => steps.filter((s): s is Step => s !== undefined);

/** The wire an attachment's addresses are detected on, for messages. */
const wire = (inputs: { parent: string }) => `parent "${inputs.parent}"`;

/** `list` without the addresses of `other` (either spelling). */
function without(list: readonly string[], other: readonly string[]): string[] {
    return list.filter((a) => !other.some((o) => addr.canonical(o) === addr.canonical(a)));
}

/**
 * The host operations of a create. The link is made straight in the
 * container's namespace under a temporary name derived from the owner mark,
 * then renamed and marked there in one command (see temporaryIfName: older
 * kernels look the new name up in the host's namespace). `leftover`: this
 * attachment's interfaces (under either name), left by an interrupted run, to remove first.
 */
export function planCreate(inputs: MacvlanAttachmentInputs, ctr: Netns, leftover: { temporary?: boolean; named?: boolean } = {}): Plan {
    const dev = inputs.containerIfName;
    const temporary = temporaryIfName(inputs.owner);
    const left = [leftover.temporary ? temporary : undefined, leftover.named ? dev : undefined].filter((n): n is string => !!n);
    return {
        steps: [
            ...(left.length > 0
                ? [
                      ipStep(
                          `remove ${left.join(" and ")}, left by an interrupted run of this attachment`,
                          ctr,
                          left.map((n) => ip.deleteLink(n)),
                      ),
                  ]
                : []),
            making(
                ipStep(`create ${inputs.kind} ${temporary} (${ctr.label}) on "${inputs.parent}" in mode ${inputs.mode}`, HOST, [
                    ip.addSublink({
                        kind: inputs.kind,
                        parent: inputs.parent,
                        name: temporary,
                        mode: inputs.mode,
                        pid: ctr.pid,
                        mtu: inputs.mtu,
                        mac: inputs.mac,
                    }),
                ]),
            ),
            ipStep(`name ${temporary} ${dev} and mark it as ${inputs.owner}`, ctr, [
                ip.setLink(temporary, { name: dev, alias: inputs.owner }),
            ]),
            // Docker turns IPv6 off for the interfaces new in a --net=none container's namespace.
            ...some(enableIPv6Step(ctr, dev, inputs.addresses)),
            ...(inputs.addresses.length > 0
                ? [
                      ipStep(
                          `add address${inputs.addresses.length > 1 ? "es" : ""} ${listed(inputs.addresses)} to ${dev}`,
                          ctr,
                          inputs.addresses.map((a) => ip.addAddress(dev, a)),
                      ),
                  ]
                : []),
            ipStep(`bring ${dev} up`, ctr, [ip.setLink(dev, { up: true })]),
            // A parent without carrier (its wire down): detection runs when it comes up, and a duplicate shows at the next refresh.
            ...some(dadStep(ctr, dev, inputs.addresses, wire(inputs), true)),
            ...([4, 6] as const)
                .filter((f) => gateways(inputs)[f])
                .map((f) =>
                    ipStep(`add ${routeName(f)} via ${gateways(inputs)[f]} dev ${dev}`, ctr, [
                        { ...ip.addDefaultRoute(dev, gateways(inputs)[f]), explain: routeExplained(inputs, f) },
                    ]),
                ),
        ],
        undo: [
            // Not renamed yet (the name was taken meanwhile): only the temporary one is this attachment's.
            ipStep(`delete ${temporary}`, ctr, [ip.deleteLink(temporary)]),
            callStep(`delete ${dev} if it carries this attachment's mark`, async () => {
                if (isOwnedBy((await ip.getLink(dev, ctr.pid))?.ifalias, inputs.owner))
                    await runIp(`delete ${dev}`, [ip.deleteLink(dev)], ctr.pid);
            }),
        ],
    };
}

/** The host operations of an in-place update. */
export function planUpdate(olds: MacvlanAttachmentOutputs, news: MacvlanAttachmentInputs, ctr: Netns): Plan {
    const dev = olds.containerIfName;
    const gone = without(olds.addresses, news.addresses);
    const added = without(news.addresses, olds.addresses);
    const wanted = gateways(news);
    const effective: Record<Family, string> = { 4: olds.effectiveGateway, 6: olds.effectiveIpv6Gateway ?? "" };
    const steps = [];
    if (gone.length > 0 || added.length > 0) {
        steps.push(...some(enableIPv6Step(ctr, dev, added)));
        steps.push(
            ipStep(`change addresses of ${dev} from ${listed(olds.addresses) || "(none)"} to ${listed(news.addresses) || "(none)"}`, ctr, [
                ...gone.map((a) => ip.deleteAddress(dev, a)),
                // Already there when an interrupted update added it: the next up goes on from there.
                ...added.map((a) => ({ ...ip.addAddress(dev, a), existsOk: true })),
            ]),
        );
    }
    if (news.mtu !== undefined && olds.mtu !== news.mtu) {
        steps.push(ipStep(`set MTU ${news.mtu} on ${dev}`, ctr, [ip.setLink(dev, { mtu: news.mtu })]));
    }
    if (olds.up === false) steps.push(ipStep(`bring ${dev} up`, ctr, [ip.setLink(dev, { up: true })]));
    steps.push(...some(dadStep(ctr, dev, added, wire(news), true)));
    // Only the default routes through this interface are touched; an address that goes may take one along, so they are
    // set again. IPv6's only where `ipv6Gateway` is declared, now or before.
    const changed = gone.length > 0 || added.length > 0 || olds.up === false;
    for (const f of [4, 6] as const) {
        if (f === 6 && news.ipv6Gateway === undefined && olds.ipv6Gateway === undefined) continue;
        if (!changed && wanted[f] === effective[f]) continue;
        if (!wanted[f] && !effective[f] && !(f === 6 && olds.ipv6Gateway !== undefined)) continue;
        steps.push(
            ipStep(wanted[f] ? `set ${routeName(f)} via ${wanted[f]} dev ${dev}` : `remove the ${routeName(f)} via ${dev}`, ctr, [
                ip.deleteDefaultRoute(dev, f),
                wanted[f] ? { ...ip.addDefaultRoute(dev, wanted[f]), explain: routeExplained(news, f) } : undefined,
            ]),
        );
    }
    return { steps };
}

export function planDelete(props: MacvlanAttachmentOutputs, ctr: Netns): Plan {
    return { steps: [ipStep(`delete ${props.kind} ${props.containerIfName}`, ctr, [ip.deleteLink(props.containerIfName)])] };
}

/** For the preview report: what a change would run, with nothing observed. */
export function describeChange(
    op: "create" | "update" | "delete",
    olds?: MacvlanAttachmentOutputs,
    news?: MacvlanAttachmentInputs,
): string[] {
    if (op === "create") return describe(planCreate(news!, containerNs(news!)));
    if (op === "delete") return describe(planDelete(olds!, containerNs(olds!)));
    return describe(planUpdate(olds!, news!, containerNs(olds!)));
}

/** Reads an attachment back from the host, or undefined when it is not there (or no longer this attachment's). */
async function readAttachment(props: MacvlanAttachmentOutputs): Promise<MacvlanAttachmentOutputs | undefined> {
    const c = await docker.inspectContainer(props.containerId);
    if (!c || !c.State.Running || !c.State.Pid) return undefined;
    const pid = c.State.Pid;
    const link = await ip.getLinkWithAddresses(props.containerIfName, pid);
    const kind = link?.linkinfo?.info_kind;
    if (!link || !isOwnedBy(link.ifalias, props.owner) || (kind !== "macvlan" && kind !== "ipvlan")) return undefined;
    // The parent is in the host's namespace, by its index there.
    const parent =
        link.link_index === undefined ? undefined : (await ip.listLinksWithAddresses()).find((l) => l.ifindex === link.link_index);
    // Link-local IPv6 addresses are the kernel's: never drift.
    const inet = ip.addressCidrs(link.addr_info);
    const route = (await ip.getDefaultRoutes(pid)).find((r) => r.dev === link.ifname);
    // IPv6's is read only where the program declares one: a route a router's advertisement gave is the kernel's.
    const route6 = props.ipv6Gateway === undefined ? undefined : (await ip.getDefaultRoutes(pid, 6)).find((r) => r.dev === link.ifname);
    const live: MacvlanAttachmentOutputs = {
        ...props,
        parent: parent?.ifname ?? "",
        kind,
        mode: link.linkinfo?.info_data?.mode ?? props.mode,
        addresses: props.addresses.filter((a) => inet.some((l) => addr.canonical(l) === addr.canonical(a))),
        effectiveGateway: route?.gateway ?? "",
        up: link.flags.includes("UP"),
    };
    if (props.ipv6Gateway !== undefined) live.effectiveIpv6Gateway = route6?.gateway ?? "";
    if (props.mtu !== undefined) live.mtu = link.mtu;
    if (props.mac !== undefined) live.mac = link.address;
    return live;
}

/**
 * What the host says against these inputs, before anything is touched: the
 * kernel's support for the kind, the container, the interface name in it,
 * the parent (see engine/parent.ts), the addresses against the parent's own
 * and against every other link on its wire, and claims made twice in this
 * stack. Values not known yet are skipped (they are checked again at
 * create). With `olds` (a preview of a resource in state), the host is read
 * only when an input it guards changed.
 */
/** The shared host rules (engine/rules.ts) that `hostFailures` runs, for `check` and `create` alike. */
export const hostRules: readonly RuleName[] = ["claimed-twice", "kernel-kind", "container-usable", "name-taken", "address-held"];

async function hostFailures(
    inputs: MacvlanAttachmentInputs,
    olds?: Partial<MacvlanAttachmentInputs>,
    phase: "preview" | "create" = "preview",
): Promise<InputFailure[]> {
    const failures: InputFailure[] = [];
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    const known = isKnown;
    if (!known(inputs.owner)) return failures;

    // Claims within this stack: always, they cost nothing.
    if (known(inputs.container) && known(inputs.containerIfName)) {
        const other = claim(`ifname@${inputs.container}`, [inputs.containerIfName], inputs.owner);
        push(
            failures,
            claimedTwice("containerIfName", `\`containerIfName\` "${inputs.containerIfName}" in container "${inputs.container}"`, other),
        );
    }
    const addresses = known(inputs.addresses) ? inputs.addresses.map((a) => addr.canonical(addr.addressPart(a))) : [];
    if (known(inputs.parent)) {
        const space = `address@parent:${inputs.parent}`;
        claim(space, addresses, inputs.owner);
        for (const a of addresses) {
            const other = claimant(space, a);
            const twice = claimedTwice(
                "addresses",
                `\`addresses\` ${a} on parent ${inputs.parent}`,
                other !== inputs.owner ? other : undefined,
            );
            push(failures, twice);
            if (twice) break;
        }
    }

    if (olds && Object.keys(olds).length > 0 && hostChecked.every((k) => sameValue(olds[k], inputs[k]))) return failures;

    if (known(inputs.kind)) {
        const reason = await kernelKind(
            "kind",
            "kind",
            inputs.kind,
            inputs.kind === "ipvlan"
                ? "use kind macvlan (same parent, a MAC of its own per container)"
                : "use a VethAttachment on a bridge",
        );
        if (reason) {
            failures.push(reason);
            return failures;
        }
    }

    let pid: number | undefined;
    let shown = inputs.container;
    if (known(inputs.container)) {
        const c = await containerFailure("container", inputs.container, inputs.owner, "macvlanAttachment");
        push(failures, c.failure);
        pid = c.pid;
        shown = c.name ?? shown;
    }
    if (pid !== undefined && known(inputs.containerIfName)) {
        const inside = await ip.getLink(inputs.containerIfName, pid);
        const where = `in container "${inputs.container}"`;
        push(
            failures,
            nameTaken(
                "containerIfName",
                "containerIfName",
                inputs.containerIfName,
                where,
                inside && !ownLink(inside, inputs.owner) ? {} : undefined,
            ),
        );
    }
    for (const f of [4, 6] as const) {
        const field = GATEWAY_FIELD[f];
        if (pid === undefined || !known(inputs[field]) || !inputs[field] || !known(inputs.containerIfName)) continue;
        // Its own interface's route (changed in place, or the one a replacement takes away first) is not another's.
        const own = [
            inputs.containerIfName,
            ...(olds?.container === inputs.container && olds?.containerIfName ? [olds.containerIfName] : []),
        ];
        const reason = await defaultRouteFailure(
            field,
            shown,
            pid,
            f,
            own,
            `drop \`${field}\` on this attachment`,
            phase === "preview" ? inputs.owner : undefined,
        );
        if (reason) fail(field, reason);
    }

    if (!known(inputs.parent) || !known(inputs.kind) || !known(inputs.mode)) return failures;
    const parent = await checkParent(
        inputs.parent,
        {
            field: "parent",
            kind: inputs.kind,
            kindField: "kind",
            modeField: "mode",
            mode: inputs.mode,
            owner: inputs.owner,
            role: "attachment",
            mtu: known(inputs.mtu) ? inputs.mtu : undefined,
        },
        // The deployment's shared scan (made once per process): create judges by what the preview found.
        true,
    );
    failures.push(...parent.failures);
    if (!parent.link) return failures;

    // The addresses against the parent's own and every other holder on its wire (this stack's are judged by its claims).
    const own = ip.addressCidrs(parent.link.addr_info).map(addr.addressPart);
    const holders = [
        ...parent.children.filter((c) => !sameStack(c.owner, inputs.owner)).flatMap((c) => c.addresses.map((a) => ({ a, who: c.holder }))),
        ...parent.networks.flatMap((n) =>
            n.containers.map((c) => ({ a: c.address, who: `container "${c.name}" (Docker's ${n.driver} network "${n.name}")` })),
        ),
    ];
    for (const a of addresses) {
        const held = holders.find((h) => addr.sameAddress(h.a, a));
        if (own.some((o) => addr.sameAddress(o, a))) {
            fail(
                "addresses",
                `\`addresses\`: ${a} is the address of parent "${inputs.parent}" itself (this host on that wire); choose another address`,
            );
        } else {
            push(failures, addressHeld("addresses", `\`addresses\` ${a}`, `on parent "${inputs.parent}"`, held?.who));
        }
    }
    return failures;
}

/** The gateways in effect once a create or update made them: IPv6's recorded only where the program declares one. */
function effectiveGateways(inputs: MacvlanAttachmentInputs): Pick<MacvlanAttachmentOutputs, "effectiveGateway" | "effectiveIpv6Gateway"> {
    return {
        effectiveGateway: inputs.gateway ?? "",
        ...(inputs.ipv6Gateway !== undefined ? { effectiveIpv6Gateway: inputs.ipv6Gateway } : {}),
    };
}

export const macvlanAttachmentProvider: pulumi.dynamic.ResourceProvider<MacvlanAttachmentInputs, MacvlanAttachmentOutputs> = {
    async check(olds, news) {
        // The kernel reports MACs in lower case: store them so, or every refresh would differ.
        // Addresses in RFC 5952's form, as the kernel reports them, for the same reason.
        const inputs = { ...news };
        if (typeof news.mac === "string") inputs.mac = news.mac.toLowerCase();
        if (typeof news.ipv6Gateway === "string") inputs.ipv6Gateway = addr.canonical(news.ipv6Gateway);
        if (Array.isArray(news.addresses)) inputs.addresses = news.addresses.map((a) => (typeof a === "string" ? addr.canonical(a) : a));
        const failures = checkMacvlanAttachmentInputs({ ...inputs });
        if (failures.length === 0) failures.push(...(await hostFailures(inputs, olds)));
        return { inputs, failures };
    },

    async diff(_id, olds, news) {
        const replaces = replaceOnChange.filter((k) => !sameValue(olds[k], news[k]));
        const changes: string[] = [];
        if (!sameValue(olds.addresses, news.addresses)) changes.push("addresses");
        if (olds.effectiveGateway !== (news.gateway ?? "") || !sameValue(olds.gateway, news.gateway)) changes.push("gateway");
        if (
            (news.ipv6Gateway !== undefined || olds.ipv6Gateway !== undefined) &&
            ((olds.effectiveIpv6Gateway ?? "") !== (news.ipv6Gateway ?? "") || !sameValue(olds.ipv6Gateway, news.ipv6Gateway))
        )
            changes.push("ipv6Gateway");
        if (news.mtu !== undefined ? olds.mtu !== news.mtu : olds.mtu !== undefined) changes.push("mtu");
        if (olds.up === false) changes.push("up");
        return {
            changes: replaces.length > 0 || changes.length > 0,
            replaces: [...replaces],
            // The replacement reuses the interface's name in the container: the old one must go first.
            deleteBeforeReplace: true,
        };
    },

    async create(inputs) {
        // The same checks as the preview's, for values the preview did not know.
        const failures = await hostFailures(inputs, undefined, "create");
        if (failures.length > 0) throw failuresError(`attach ${inputs.kind} "${inputs.containerIfName}"`, failures);
        const { id: containerId, pid } = await containerNetns(inputs.container, "attach to", "macvlanAttachment");
        // An interface of this very attachment's (under its name, or the temporary one) is a leftover of an interrupted run: made again.
        const leftover = {
            named: ownLink(await ip.getLink(inputs.containerIfName, pid), inputs.owner),
            temporary: (await ip.getLink(temporaryIfName(inputs.owner), pid)) !== undefined,
        };
        await execute(planCreate(inputs, containerNs(inputs, pid), leftover));
        const outs: MacvlanAttachmentOutputs = { ...inputs, containerId, ...effectiveGateways(inputs), up: true };
        return { id: `${containerId.slice(0, 12)}:${inputs.containerIfName}`, outs: definedOnly(outs) };
    },

    async read(id, props) {
        const live = await readAttachment(storedProps(props));
        return live ? { id, props: definedOnly(live) } : {};
    },

    async update(_id, olds, news) {
        const { pid } = await containerNetns(olds.containerId, "attach to", "macvlanAttachment");
        const link = await ip.getLink(olds.containerIfName, pid);
        if (!link || !isOwnedBy(link.ifalias, olds.owner)) {
            throw new Error(
                `failed to update ${olds.kind} "${olds.containerIfName}" in container "${olds.container}": it is gone or no longer this attachment's (the container may have restarted); run \`pulumi refresh\`, then \`pulumi up\` makes it again`,
            );
        }
        await execute(planUpdate(olds, news, containerNs(olds, pid)));
        const outs: MacvlanAttachmentOutputs = { ...news, containerId: olds.containerId, ...effectiveGateways(news), up: true };
        return { outs: definedOnly(outs) };
    },

    async delete(_id, props) {
        const c = await docker.inspectContainer(props.containerId);
        // Gone with its container's namespace.
        if (!c || !c.State.Running || !c.State.Pid) return;
        const link = await ip.getLink(props.containerIfName, c.State.Pid);
        // Never delete an interface this resource did not make: the alias is its mark.
        if (link && isOwnedBy(link.ifalias, props.owner)) await execute(planDelete(props, containerNs(props, c.State.Pid)));
    },
};
