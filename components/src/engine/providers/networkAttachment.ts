// NetworkAttachment: `docker network connect` as desired state. Joins an
// existing container to a user-defined network, and changes or removes that
// connection, WITHOUT recreating the container (its id stays the same).
//
// A connection carries no label. Ownership is its endpoint id, which Docker
// makes new for every connection: an attachment refuses a connection that
// already exists, records the endpoint id of the one it makes, and disconnects
// only that one; a connection re-made by hand is not its to remove. It also
// carries two marks, kept by Docker across restarts: an extra alias derived
// from the owner mark, and the owner mark itself as a driver option
// (`io.hostnet.owner`, which `hostnet gc` reads to find a stack's leftovers).
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import * as addr from "../../common/address";
import { connectionMark, OWNER_LABEL } from "../../common/naming";
import { foreignHolder, hasIPv6Subnet, networkAddressFailure, networkOnHost, parentAddressClash } from "../observe";
import { failuresError, InputFailure, isKnown } from "../../common/validation";
import { addressHeld, claimedTwice, containerUsable, push, RuleName } from "../rules";
import { callStep, describe, execute, Plan } from "../plan";
import { claim, claimAcrossHosts, claimant, isClaimed, swarmNetwork } from "../registry";
import { checkNetworkAttachmentInputs, NetworkAttachmentInputs, NetworkAttachmentOutputs } from "../../common/specs/networkAttachment";
import * as docker from "../../host/docker";
import { definedOnly, sameValue, storedProps } from "./props";

/** The container's endpoint on a network given by id (or by name, for an overlay a swarm worker had not seen). */
function endpointOf(c: docker.ContainerInspect, network: string): docker.EndpointInspect | undefined {
    return Object.entries(c.NetworkSettings.Networks ?? {}).find(([name, ep]) => ep.NetworkID === network || name === network)?.[1];
}

/** What a connection got: its endpoint id and addresses. */
interface Made {
    endpointId: string;
    address: string;
    globalIpv6Address?: string;
}

/** The addresses of an endpoint, as outputs record them. */
function madeOf(ep: docker.EndpointInspect): Made {
    return {
        endpointId: ep.EndpointID,
        address: ep.IPAddress,
        ...(ep.GlobalIPv6Address ? { globalIpv6Address: ep.GlobalIPv6Address } : {}),
    };
}

/** Connects and returns the connection's endpoint id and addresses; a half-done connect is undone. */
async function connect(containerId: string, networkId: string, i: NetworkAttachmentInputs): Promise<Made> {
    await docker.connectNetwork(networkId, containerId, {
        ipv4Address: i.ipv4Address,
        ipv6Address: i.ipv6Address,
        aliases: withMark(i),
        // The owner mark itself, which the alias (a hash) cannot say: `hostnet gc` finds a connection's stack by it.
        driverOpts: i.owner ? { [OWNER_LABEL]: i.owner } : undefined,
    });
    try {
        const c = await docker.inspectContainer(containerId);
        const ep = c && endpointOf(c, networkId);
        if (!ep)
            throw new Error(
                `failed to connect container "${containerId}" to network "${networkId}": the connection vanished right after it was made; see \`docker events\``,
            );
        return madeOf(ep);
    } catch (err) {
        await docker.disconnectNetwork(networkId, containerId).catch(() => undefined);
        throw err;
    }
}

/** The live endpoint of this attachment's own connection, if it still exists. */
/**
 * The live endpoint of this attachment's own connection, if it still exists:
 * the one it made (by endpoint id), or one carrying its mark alias. Docker
 * gives a connection a new endpoint id every time the container starts, but
 * keeps its aliases, so after a restart the mark is what says it is ours.
 */
async function ownEndpoint(props: NetworkAttachmentOutputs): Promise<docker.EndpointInspect | undefined> {
    const c = await docker.inspectContainer(props.containerId);
    const ep = c ? endpointOf(c, props.networkId) : undefined;
    if (!ep) return undefined;
    const marked =
        props.owner !== undefined &&
        ((ep.Aliases ?? []).includes(connectionMark(props.owner)) || ep.DriverOpts?.[OWNER_LABEL] === props.owner);
    return ep.EndpointID === props.endpointId || marked ? ep : undefined;
}

/** The aliases to connect with: the declared ones and the connection's ownership mark. */
function withMark(i: NetworkAttachmentInputs): string[] | undefined {
    const mark = i.owner ? [connectionMark(i.owner)] : [];
    const all = [...(i.aliases ?? []), ...mark];
    return all.length > 0 ? all : undefined;
}

function connectText(i: NetworkAttachmentInputs): string {
    const extra = [
        i.ipv4Address ? `address ${i.ipv4Address}` : "",
        i.ipv6Address ? `IPv6 address ${i.ipv6Address}` : "",
        i.aliases?.length ? `aliases ${i.aliases.join(", ")}` : "",
    ].filter(Boolean);
    return `connect container "${i.container}" to network ${i.network}${extra.length ? ` (${extra.join("; ")})` : ""}`;
}

/**
 * The host operations of a create. `made` receives the connection's endpoint
 * id and address. `leftover`: a connection carrying this attachment's mark,
 * left by an interrupted run, is made again.
 */
export function planCreate(
    i: NetworkAttachmentInputs,
    containerId: string,
    networkId: string,
    made: (r: Made) => void,
    leftover = false,
): Plan {
    return {
        steps: [
            ...(leftover
                ? [
                      callStep(
                          `disconnect container "${i.container}" from network ${i.network}, left connected by an interrupted run`,
                          () => docker.disconnectNetwork(networkId, containerId),
                      ),
                  ]
                : []),
            callStep(connectText(i), async () => made(await connect(containerId, networkId, i))),
        ],
    };
}

export function planUpdate(olds: NetworkAttachmentOutputs, news: NetworkAttachmentInputs, made: (r: Made) => void): Plan {
    // Docker changes an endpoint only by reconnecting; the container itself stays.
    return {
        steps: [
            callStep(`disconnect container "${olds.container}" from network ${olds.network} (to reconnect it)`, () =>
                docker.disconnectNetwork(olds.networkId, olds.containerId),
            ),
            callStep(connectText({ ...news, container: olds.container }), async () =>
                made(await connect(olds.containerId, olds.networkId, news)),
            ),
        ],
    };
}

export function planDelete(props: NetworkAttachmentOutputs): Plan {
    return {
        steps: [
            callStep(`disconnect container "${props.container}" from network ${props.network}`, () =>
                docker.disconnectNetwork(props.networkId, props.containerId),
            ),
        ],
    };
}

/** For the preview report: what a change would run, with nothing observed. */
export function describeChange(
    op: "create" | "update" | "delete",
    olds?: NetworkAttachmentOutputs,
    news?: NetworkAttachmentInputs,
): string[] {
    const ignore = () => undefined;
    if (op === "create") return describe(planCreate(news!, news!.container, news!.network, ignore));
    if (op === "delete") return describe(planDelete(olds!));
    return describe(planUpdate(olds!, news!, ignore));
}

/** The shared host rules (engine/rules.ts) that `hostFailures` runs, for `check` and `create` alike. */
export const hostRules: readonly RuleName[] = ["claimed-twice", "container-usable", "address-held"];

/**
 * What the host says against these inputs, before anything is touched: the
 * container (exists, runs, its mode can join networks), the network, a
 * connection that exists already, the static address taken, and the same
 * address twice in this stack.
 */
async function hostFailures(inputs: NetworkAttachmentInputs, olds?: Partial<NetworkAttachmentInputs>): Promise<InputFailure[]> {
    const failures: InputFailure[] = [];
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    const known = isKnown;
    const claimer = `${inputs.owner ?? `${inputs.container}/${inputs.network}`}#attachment`;
    const given = (["ipv4Address", "ipv6Address"] as const).filter((k) => known(inputs[k]) && inputs[k]);
    // On an overlay, an address is one across all the swarm's hosts.
    const overlay = given.length > 0 && known(inputs.network) ? swarmNetwork(inputs.network) : undefined;
    if (overlay) {
        const other = claimAcrossHosts(
            `address@swarmnet:${overlay.id ?? overlay.name}`,
            given.map((k) => addr.canonical(inputs[k]!)),
            claimer,
        );
        push(
            failures,
            claimedTwice(given[0], `\`${given[0]}\` ${given.map((k) => inputs[k]).join(" or ")} on network ${inputs.network}`, other),
        );
    } else if (given.length > 0 && known(inputs.network)) {
        const space = `address@net:${inputs.network}`;
        claim(
            space,
            given.map((k) => addr.canonical(inputs[k]!)),
            claimer,
        );
        for (const k of given) {
            const other = claimant(space, addr.canonical(inputs[k]!));
            push(failures, claimedTwice(k, `\`${k}\` ${inputs[k]} on network ${inputs.network}`, other !== claimer ? other : undefined));
        }
    }
    const unchanged =
        olds &&
        Object.keys(olds).length > 0 &&
        (["container", "network", "ipv4Address", "ipv6Address"] as const).every((k) => olds[k] === inputs[k]);
    if (unchanged) return failures;

    const c = known(inputs.container) ? await docker.inspectContainer(inputs.container) : undefined;
    // Docker connects a stopped container too.
    if (known(inputs.container))
        push(failures, containerUsable("container", "container", inputs.container, c, { use: "networkAttachment", running: false }));
    const on = known(inputs.network) ? await networkOnHost(inputs.network) : undefined;
    const n = on?.inspect;
    if (known(inputs.network) && !n) {
        if (!on && !isClaimed("network", inputs.network))
            fail("network", `\`network\` "${inputs.network}" does not exist; create it first, or pass the Network resource that makes it`);
        return failures;
    }
    if (c && n) {
        const ep = endpointOf(c, n.Id);
        const ours = ep && inputs.owner && (ep.Aliases ?? []).includes(connectionMark(inputs.owner));
        if (ep && !ours)
            fail(
                "container",
                `container "${inputs.container}" is already connected to network ${n.Name} (not by this attachment); disconnect it first, or drop this attachment`,
            );
    }
    if (n && inputs.ipv6Address && known(inputs.ipv6Address) && !hasIPv6Subnet(n)) {
        fail(
            "ipv6Address",
            `\`ipv6Address\` ${inputs.ipv6Address}: network ${n.Name} has no IPv6 subnet; make the network with \`ipv6Subnet\`, or drop \`ipv6Address\``,
        );
    }
    for (const k of given) {
        if (!n) break;
        const outside = networkAddressFailure(k, n, inputs[k]!);
        if (outside) {
            fail(k, outside);
            continue;
        }
        const holder = await foreignHolder(n, inputs[k]!, inputs.owner, c?.Name);
        const clash = await parentAddressClash(n, inputs[k]!);
        const held = addressHeld(k, `\`${k}\` ${inputs[k]}`, `on network ${n.Name}`, holder && `container "${holder}"`);
        push(failures, held);
        if (!held && clash) fail(k, `\`${k}\`: ${clash}`);
    }
    return failures;
}

export const networkAttachmentProvider: pulumi.dynamic.ResourceProvider<NetworkAttachmentInputs, NetworkAttachmentOutputs> = {
    async check(olds, news) {
        // Docker reports IPv6 addresses in RFC 5952's form: store them so, or every refresh would differ.
        const inputs = typeof news.ipv6Address === "string" ? { ...news, ipv6Address: addr.canonical(news.ipv6Address) } : news;
        const failures = checkNetworkAttachmentInputs({ ...inputs });
        if (failures.length === 0) failures.push(...(await hostFailures(inputs, olds)));
        return { inputs, failures };
    },

    async diff(_id: string, olds: NetworkAttachmentOutputs, news: NetworkAttachmentInputs) {
        const replaces = (["container", "network"] as const).filter((k) => olds[k] !== news[k]);
        const inPlace =
            !sameValue(olds.ipv4Address, news.ipv4Address) ||
            !sameValue(olds.ipv6Address, news.ipv6Address) ||
            !sameValue(olds.aliases, news.aliases);
        return { changes: replaces.length > 0 || inPlace, replaces: [...replaces], deleteBeforeReplace: true };
    },

    async create(inputs) {
        // The same checks as the preview's, for values the preview did not know.
        const failures = await hostFailures(inputs);
        if (failures.length > 0) throw failuresError(`connect container "${inputs.container}" to network "${inputs.network}"`, failures);
        const c = await docker.inspectContainer(inputs.container);
        if (!c) throw new Error(`failed to connect container "${inputs.container}": no such container; create it first`);
        // A swarm worker knows an overlay only once a container of its is on it: then by the id given.
        const n = await networkOnHost(inputs.network);
        if (!n)
            throw new Error(
                `failed to connect container "${inputs.container}" to network "${inputs.network}": no such network; create it first`,
            );
        const leftover = endpointOf(c, n.id) !== undefined; // hostFailures let it through only if it carries this attachment's mark
        let result: Made = { endpointId: "", address: "" };
        await execute(planCreate(inputs, c.Id, n.id, (r) => (result = r), leftover));
        // The network's id as the connection names it (a name given for an overlay the host did not know).
        const ep = n.inspect
            ? undefined
            : Object.values((await docker.inspectContainer(c.Id))?.NetworkSettings.Networks ?? {}).find(
                  (e) => e.EndpointID === result.endpointId,
              );
        const networkId = ep?.NetworkID ?? n.id;
        const outs: NetworkAttachmentOutputs = { ...inputs, containerId: c.Id, networkId, ...result };
        return { id: `${c.Id}/${networkId}`, outs: definedOnly(outs) };
    },

    async read(id: string, stored?: NetworkAttachmentOutputs) {
        const props = storedProps(stored);
        const ep = await ownEndpoint(props);
        if (!ep) return {};
        const live: NetworkAttachmentOutputs = { ...props, ...madeOf(ep), globalIpv6Address: ep.GlobalIPv6Address || undefined };
        if (props.ipv4Address !== undefined) live.ipv4Address = ep.IPAMConfig?.IPv4Address ?? ep.IPAddress;
        if (props.ipv6Address !== undefined) live.ipv6Address = addr.canonical(ep.IPAMConfig?.IPv6Address ?? ep.GlobalIPv6Address ?? "");
        if (props.aliases !== undefined) live.aliases = props.aliases.filter((a) => (ep.Aliases ?? []).includes(a));
        return { id, props: definedOnly(live) };
    },

    async update(_id, olds, news) {
        const c = await docker.inspectContainer(olds.containerId);
        const ep = c ? endpointOf(c, olds.networkId) : undefined;
        // This attachment's connection, or one it re-made before an interrupted update could record it (it carries the mark).
        const ours = ep && (ep.EndpointID === olds.endpointId || (olds.owner && (ep.Aliases ?? []).includes(connectionMark(olds.owner))));
        if (!c || (ep && !ours)) {
            throw new Error(
                `failed to update the connection of container "${olds.container}" to network "${olds.network}": ${c ? "it was re-made by someone else" : "the container is gone"}; run \`pulumi refresh\`, then \`pulumi up\` makes it again`,
            );
        }
        let result: Made = { endpointId: olds.endpointId, address: olds.address };
        const made = (r: Made) => (result = r);
        // Gone (an interrupted update disconnected it, or a person did): connected again.
        await execute(
            ep ? planUpdate(olds, news, made) : planCreate({ ...news, container: olds.container }, olds.containerId, olds.networkId, made),
        );
        return { outs: definedOnly({ ...news, containerId: olds.containerId, networkId: olds.networkId, ...result }) };
    },

    async delete(_id: string, props: NetworkAttachmentOutputs): Promise<void> {
        // Only this attachment's own connection; already gone is success.
        if (await ownEndpoint(props)) await execute(planDelete(props));
    },
};
