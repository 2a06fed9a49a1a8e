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
import { describeOwner, isOwnedBy, OWNER_LABEL } from "../../common/naming";
import { checkNetworkInputs, NetworkInputs, NetworkOutputs } from "../../common/specs/network";
import { failuresError, InputFailure, isKnown } from "../../common/validation";
import * as networks from "../../host/dockerNetworks";
import { hostAddresses, overlaps } from "../observe";
import { callStep, describe, execute, Plan } from "../plan";
import { claim, claimsIn } from "../registry";
import { declareOverlay, isOverlay, liveOverlay, overlayFailures, overlayOptions, overlayText, vniOf } from "./overlayNetwork";
import { definedOnly, sameValue, storedProps } from "./props";

const OPT_BRIDGE = "com.docker.network.bridge.name";
const OPT_ICC = "com.docker.network.bridge.enable_icc";
const OPT_MASQ = "com.docker.network.bridge.enable_ip_masquerade";
const OPT_MTU = "com.docker.network.driver.mtu";

function options(i: NetworkInputs): Record<string, string> {
    if (isOverlay(i)) return overlayOptions(i);
    const o: Record<string, string> = { [OPT_ICC]: String(i.icc ?? true), [OPT_MASQ]: String(i.masquerade ?? true) };
    if (i.bridgeName) o[OPT_BRIDGE] = i.bridgeName;
    if (i.mtu !== undefined) o[OPT_MTU] = String(i.mtu);
    return o;
}

const replaceOnChange = [
    "name",
    "driver",
    "attachable",
    "encrypted",
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

/** The host operations of a create (`leftover`: a network marked as this resource's, left by an interrupted run, without containers). */
export function planCreate(inputs: NetworkInputs, leftover?: string): Plan {
    const what = [
        inputs.subnet ? `subnet ${inputs.subnet}` : "",
        inputs.gateway ? `gateway ${inputs.gateway}` : "",
        inputs.ipRange ? `range ${inputs.ipRange}` : "",
        inputs.bridgeName ? `bridge ${inputs.bridgeName}` : "",
        inputs.internal ? "internal" : "",
        ...(isOverlay(inputs) ? overlayText(inputs) : []),
    ].filter(Boolean);
    return {
        steps: [
            ...(leftover
                ? [
                      callStep(`remove network "${inputs.name}", left marked as this resource's by an interrupted run`, () =>
                          networks.removeNetwork(leftover),
                      ),
                  ]
                : []),
            callStep(
                `create Docker network "${inputs.name}" (driver ${inputs.driver ?? "bridge"}${what.length ? `, ${what.join(", ")}` : ""})`,
                async () => {
                    await networks.createNetwork({
                        name: inputs.name,
                        driver: inputs.driver,
                        attachable: isOverlay(inputs) ? inputs.attachable !== false : undefined,
                        subnet: inputs.subnet,
                        gateway: inputs.gateway,
                        ipRange: inputs.ipRange,
                        internal: inputs.internal,
                        options: options(inputs),
                        labels: { ...inputs.labels, [OWNER_LABEL]: inputs.owner },
                    });
                },
            ),
        ],
    };
}

export function planDelete(id: string, props: NetworkOutputs): Plan {
    const what = isOverlay(props) ? `from every node of swarm ${props.swarm?.clusterId}` : `(and its bridge ${props.bridge})`;
    return {
        steps: [callStep(`remove Docker network "${props.name}" ${what}`, () => networks.removeNetwork(id))],
    };
}

/** For the preview report: what a change would run, with nothing observed. */
export function describeChange(op: "create" | "update" | "delete", olds?: NetworkOutputs, news?: NetworkInputs): string[] {
    if (op === "create") return describe(planCreate(news!));
    if (op === "delete") return describe(planDelete(olds!.networkId, olds!));
    return []; // Docker changes nothing of a network in place: every change replaces it.
}

/**
 * What the host says against these inputs, before anything is touched: the
 * name taken by someone else, a subnet that overlaps another Docker network
 * or an address of the host's interfaces, a bridge name taken, and the same
 * name or an overlapping subnet twice in this stack.
 */
async function hostFailures(inputs: NetworkInputs, olds?: Partial<NetworkInputs>): Promise<InputFailure[]> {
    const failures: InputFailure[] = [];
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    const known = isKnown;
    if (!known(inputs.owner)) return failures;
    if (isOverlay(inputs)) declareOverlay(inputs);
    if (known(inputs.name)) {
        const other = claim("network", [inputs.name], inputs.owner);
        if (other) fail("name", `\`name\` "${inputs.name}" is also the network of ${describeOwner(other)}; give each network its own name`);
    }
    if (known(inputs.bridgeName) && inputs.bridgeName) {
        const other = claim("bridge", [inputs.bridgeName], inputs.owner);
        if (other)
            fail("bridgeName", `\`bridgeName\` "${inputs.bridgeName}" is also the bridge of ${describeOwner(other)}; give each its own`);
    }
    if (known(inputs.subnet) && inputs.subnet) {
        const clash = claimsIn("subnet").find(([subnet, owner]) => owner !== inputs.owner && overlaps(subnet, inputs.subnet!));
        claim("subnet", [inputs.subnet], inputs.owner);
        if (clash)
            fail(
                "subnet",
                `\`subnet\` ${inputs.subnet} overlaps ${clash[0]} of ${describeOwner(clash[1])}; give each network a subnet of its own`,
            );
    }
    // An overlay's swarm and its nodes' kernels, whenever it is checked (a node may have come).
    if (isOverlay(inputs)) failures.push(...(await overlayFailures(inputs)));
    const unchanged =
        olds && Object.keys(olds).length > 0 && (["name", "subnet", "bridgeName"] as const).every((k) => sameValue(olds[k], inputs[k]));
    if (unchanged) return failures;

    const all = await networks.listNetworks();
    if (known(inputs.name)) {
        const taken = all.find((n) => n.Name === inputs.name);
        const owner = taken?.Labels?.[OWNER_LABEL];
        if (taken && !isOwnedBy(owner, inputs.owner)) {
            fail(
                "name",
                `\`name\` "${inputs.name}" is taken by another Docker network (${owner ? `owned by ${describeOwner(owner)}` : "not made by this library"}); choose another \`name\``,
            );
        }
    }
    if (known(inputs.subnet) && inputs.subnet) {
        for (const n of all) {
            if (n.Name === inputs.name && isOwnedBy(n.Labels?.[OWNER_LABEL], inputs.owner)) continue;
            const theirs = (n.IPAM.Config ?? []).map((c) => c.Subnet).find((sub) => sub && overlaps(sub, inputs.subnet!));
            if (theirs) {
                fail("subnet", `\`subnet\` ${inputs.subnet} overlaps subnet ${theirs} of Docker network "${n.Name}"; choose a free subnet`);
                break;
            }
        }
        const mine = (i: { ifname: string; alias?: string }) =>
            isOwnedBy(i.alias, inputs.owner) || (inputs.bridgeName !== undefined && i.ifname === inputs.bridgeName);
        const onHost = (await hostAddresses()).find(
            (h) => !mine(h) && overlaps(h.cidr, inputs.subnet!) && !all.some((n) => networks.bridgeOfNetwork(n) === h.ifname),
        );
        if (onHost) {
            fail(
                "subnet",
                `\`subnet\` ${inputs.subnet} overlaps address ${onHost.cidr} of interface ${onHost.ifname} on this host (traffic to it would be misrouted); choose a free subnet`,
            );
        }
    }
    return failures;
}

export const networkProvider: pulumi.dynamic.ResourceProvider<NetworkInputs, NetworkOutputs> = {
    async check(olds, news) {
        const failures = checkNetworkInputs({ ...news });
        if (failures.length === 0) failures.push(...(await hostFailures(news, olds)));
        return { inputs: news, failures };
    },

    async diff(_id: string, olds: NetworkOutputs, news: NetworkInputs) {
        // By its id too (`check` sees no id): containers refer to it so, on nodes that do not know it yet.
        if (isOverlay(news) && sameValue(olds.swarm?.clusterId, news.swarm?.clusterId)) declareOverlay(news, olds.networkId);
        const replaces: string[] = replaceOnChange.filter((k) => !sameValue(olds[k], news[k]));
        // Another swarm: the network is made again there. A node more or less changes nothing of the network.
        if (!sameValue(olds.swarm?.clusterId, news.swarm?.clusterId)) replaces.push("swarm");
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
    },

    async create(inputs) {
        // The same checks as the preview's, for values the preview did not know.
        const failures = await hostFailures(inputs);
        if (failures.length > 0) throw failuresError(`create network "${inputs.name}"`, failures);
        // A network marked as this very resource's is a leftover of an interrupted run: made again.
        const existing = await networks.inspectNetwork(inputs.name);
        const leftover =
            existing?.Name === inputs.name && isOwnedBy(existing.Labels?.[OWNER_LABEL], inputs.owner) ? existing.Id : undefined;
        await execute(planCreate(inputs, leftover));
        // Its id, read back; a create that fails here leaves nothing either.
        const n = await networks.inspectNetwork(inputs.name).catch(async (err) => {
            await networks.removeNetwork(inputs.name).catch(() => undefined);
            throw err;
        });
        if (!n) throw new Error(`failed to create network "${inputs.name}": it vanished right after it was made; see \`docker events\``);
        const outs: NetworkOutputs = isOverlay(inputs)
            ? { ...inputs, networkId: n.Id, vni: vniOf(n) }
            : { ...inputs, networkId: n.Id, bridge: inputs.bridgeName ?? `br-${n.Id.slice(0, 12)}` };
        if (isOverlay(inputs)) declareOverlay(inputs, n.Id);
        return { id: n.Id, outs: definedOnly(outs) };
    },

    async read(id: string, stored?: NetworkOutputs) {
        const props = storedProps(stored);
        const n = await networks.inspectNetwork(id);
        if (!n || !isOwnedBy(n.Labels?.[OWNER_LABEL], props.owner)) return {};
        const ipam = n.IPAM.Config?.[0] ?? {};
        const opts = n.Options ?? {};
        const live: NetworkOutputs = {
            ...props,
            name: n.Name,
            internal: n.Internal,
            ...(isOverlay(props) ? liveOverlay(n, props) : { icc: opts[OPT_ICC] !== "false", masquerade: opts[OPT_MASQ] !== "false" }),
            labels: Object.fromEntries(Object.entries(n.Labels ?? {}).filter(([k]) => !k.startsWith("io.hostnet."))),
        };
        if (isOverlay(props)) declareOverlay(props, n.Id);
        // Compare only what the user set; Docker fills in the rest.
        if (props.subnet !== undefined) live.subnet = ipam.Subnet;
        if (props.gateway !== undefined) live.gateway = ipam.Gateway;
        if (props.ipRange !== undefined) live.ipRange = ipam.IPRange;
        if (props.bridgeName !== undefined) live.bridgeName = opts[OPT_BRIDGE];
        if (props.mtu !== undefined) live.mtu = opts[OPT_MTU] === undefined ? undefined : Number(opts[OPT_MTU]);
        return { id, props: definedOnly(live) };
    },

    async delete(id, props) {
        const n = await networks.inspectNetwork(id);
        // Never remove a network this resource did not create: the label is its mark.
        if (n && isOwnedBy(n.Labels?.[OWNER_LABEL], props.owner)) await execute(planDelete(id, props));
    },
};
