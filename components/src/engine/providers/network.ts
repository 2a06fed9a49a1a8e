// Network: a user-defined Docker network of driver bridge, macvlan or
// ipvlan, as desired state. A macvlan or ipvlan network's containers sit on
// a host interface (its parent) with links Docker makes as they join; the
// parent is checked at preview by the same rules as a MacvlanAttachment's
// (engine/parent.ts), plus Docker's own (one macvlan network per parent
// before Docker 27, one ipvlan network per parent, the dummy or VLAN parent
// Docker makes where none or `eth0.10` is given).
//
// Docker changes nothing of a network in place (subnet, gateway, options and
// labels are fixed at creation), so every change replaces it, deleting the old
// one first (its name and subnet would collide). Containers connected to it
// must be replaced or disconnected first: pass the network's `networkId` to
// containers so that the engine orders this for you.
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import * as addr from "../../common/address";
import { describeOwner, isOwnedBy, OWNER_LABEL } from "../../common/naming";
import { checkNetworkInputs, networkHasIPv6, NetworkInputs, NetworkOutputs } from "../../common/specs/network";
import { containsUnknown, failuresError, InputFailure, isKnown } from "../../common/validation";
import * as networks from "../../host/dockerNetworks";
import * as ip from "../../host/ip";
import * as docker from "../../host/docker";
import { hostAddresses, overlaps } from "../observe";
import { checkParent, kernelLacks } from "../parent";
import { claimedTwice, kernelKind, nameTaken, push, RuleName } from "../rules";
import { callStep, describe, execute, Plan } from "../plan";
import { claim, claimsIn } from "../registry";
import { declareOverlay, isOverlay, liveOverlay, overlayFailures, overlayOptions, overlayText, vniOf } from "./overlayNetwork";
import { definedOnly, sameValue, storedProps } from "./props";

const OPT_BRIDGE = "com.docker.network.bridge.name";
const OPT_ICC = "com.docker.network.bridge.enable_icc";
const OPT_MASQ = "com.docker.network.bridge.enable_ip_masquerade";
const OPT_MTU = "com.docker.network.driver.mtu";
const OPT_PARENT = "parent";
const OPT_MODE = { macvlan: "macvlan_mode", ipvlan: "ipvlan_mode" } as const;

/** The driver's options: what `docker network create -o` would get. */
function options(i: NetworkInputs): Record<string, string> {
    if (isOverlay(i)) return overlayOptions(i);
    if (i.driver === "macvlan" || i.driver === "ipvlan") {
        const o: Record<string, string> = {};
        if (i.parent) o[OPT_PARENT] = i.parent;
        if (i.mode) o[OPT_MODE[i.driver]] = i.mode;
        return o;
    }
    const o: Record<string, string> = { [OPT_ICC]: String(i.icc ?? true), [OPT_MASQ]: String(i.masquerade ?? true) };
    if (i.bridgeName) o[OPT_BRIDGE] = i.bridgeName;
    if (i.mtu !== undefined) o[OPT_MTU] = String(i.mtu);
    return o;
}

const replaceOnChange = [
    "name",
    "driver",
    "parent",
    "mode",
    "attachable",
    "encrypted",
    "subnet",
    "gateway",
    "ipRange",
    "ipv6Subnet",
    "ipv6Gateway",
    "ipv6Range",
    "bridgeName",
    "internal",
    "icc",
    "masquerade",
    "mtu",
    "labels",
    "owner",
] as const;

/** Creates the network; Docker's refusal to pick an IPv6 subnet says what to do. */
async function createExplained(spec: networks.NetworkCreateSpec): Promise<void> {
    try {
        await networks.createNetwork(spec);
    } catch (err) {
        if (spec.enableIpv6 && !spec.ipv6Subnet && err instanceof Error && /IPv6 address pool/.test(err.message)) {
            throw new Error(
                `${err.message.replace(/^failed to [^:]*: /, "")}; this Docker engine has no pool of IPv6 subnets to pick from (its daemon's default-address-pools): set \`ipv6Subnet\`, e.g. a unique local /64 like fd17:10::/64`,
                { cause: err },
            );
        }
        throw err;
    }
}

/** The host operations of a create (`leftover`: a network marked as this resource's, left by an interrupted run, without containers). */
export function planCreate(inputs: NetworkInputs, leftover?: string): Plan {
    const ipv6 = networkHasIPv6(inputs);
    const what = [
        inputs.parent ? `on parent ${inputs.parent}` : "",
        inputs.mode ? `mode ${inputs.mode}` : "",
        inputs.subnet ? `subnet ${inputs.subnet}` : "",
        inputs.gateway ? `gateway ${inputs.gateway}` : "",
        inputs.ipRange ? `range ${inputs.ipRange}` : "",
        ipv6 ? (inputs.ipv6Subnet ? `IPv6 subnet ${inputs.ipv6Subnet}` : "IPv6 (a subnet Docker picks)") : "",
        inputs.ipv6Gateway ? `IPv6 gateway ${inputs.ipv6Gateway}` : "",
        inputs.ipv6Range ? `IPv6 range ${inputs.ipv6Range}` : "",
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
                    await createExplained({
                        name: inputs.name,
                        driver: inputs.driver,
                        attachable: isOverlay(inputs) ? inputs.attachable !== false : undefined,
                        subnet: inputs.subnet,
                        gateway: inputs.gateway,
                        ipRange: inputs.ipRange,
                        enableIpv6: ipv6,
                        ipv6Subnet: inputs.ipv6Subnet,
                        ipv6Gateway: inputs.ipv6Gateway,
                        ipv6Range: inputs.ipv6Range,
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
    const what = isOverlay(props)
        ? ` from every node of swarm ${props.swarm?.clusterId}`
        : props.bridge
          ? ` (and its bridge ${props.bridge})`
          : "";
    return {
        steps: [callStep(`remove Docker network "${props.name}"${what}`, () => networks.removeNetwork(id))],
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
/** The shared host rules (engine/rules.ts) that `hostFailures` runs, for `check` and `create` alike. */
export const hostRules: readonly RuleName[] = ["claimed-twice", "name-taken", "kernel-kind"];

async function hostFailures(inputs: NetworkInputs, olds?: Partial<NetworkInputs>): Promise<InputFailure[]> {
    const failures: InputFailure[] = [];
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    const known = isKnown;
    if (!known(inputs.owner)) return failures;
    if (isOverlay(inputs)) declareOverlay(inputs);
    if (known(inputs.name)) {
        push(failures, claimedTwice("name", `\`name\` "${inputs.name}"`, claim("network", [inputs.name], inputs.owner)));
    }
    if (known(inputs.bridgeName) && inputs.bridgeName) {
        push(
            failures,
            claimedTwice("bridgeName", `\`bridgeName\` "${inputs.bridgeName}"`, claim("bridge", [inputs.bridgeName], inputs.owner)),
        );
    }
    // The subnets of both families, each with its field: one rule for both.
    const subnets = (["subnet", "ipv6Subnet"] as const)
        .filter((k) => known(inputs[k]) && inputs[k])
        .map((field) => ({ field, subnet: inputs[field]! }));
    if (subnets.length > 0) {
        const clashes = subnets.map(({ subnet }) =>
            claimsIn("subnet").find(([theirs, owner]) => owner !== inputs.owner && overlaps(theirs, subnet)),
        );
        claim(
            "subnet",
            subnets.map((s) => s.subnet),
            inputs.owner,
        );
        for (const [i, clash] of clashes.entries()) {
            const { field, subnet } = subnets[i];
            if (clash)
                fail(
                    field,
                    `\`${field}\` ${subnet} overlaps ${clash[0]} of ${describeOwner(clash[1])}; give each network a subnet of its own`,
                );
        }
    }
    // An overlay's swarm and its nodes' kernels, whenever it is checked (a node may have come).
    if (isOverlay(inputs)) failures.push(...(await overlayFailures(inputs)));
    const unchanged =
        olds &&
        Object.keys(olds).length > 0 &&
        (["name", "subnet", "ipv6Subnet", "bridgeName", "driver", "parent", "mode"] as const).every((k) => sameValue(olds[k], inputs[k]));
    if (unchanged) return failures;

    if ((inputs.driver === "macvlan" || inputs.driver === "ipvlan") && !containsUnknown(inputs.parent) && known(inputs.mode)) {
        failures.push(...(await sublinkFailures(inputs)));
    }

    const all = await networks.listNetworks();
    if (known(inputs.name)) {
        const taken = all.find((n) => n.Name === inputs.name);
        const owner = taken?.Labels?.[OWNER_LABEL];
        push(
            failures,
            nameTaken(
                "name",
                "name",
                inputs.name,
                "by another Docker network",
                taken && !isOwnedBy(owner, inputs.owner) ? { mark: owner ?? null } : undefined,
            ),
        );
    }
    const host = subnets.length > 0 ? await hostAddresses() : [];
    for (const { field, subnet } of subnets) {
        for (const n of all) {
            if (n.Name === inputs.name && isOwnedBy(n.Labels?.[OWNER_LABEL], inputs.owner)) continue;
            const theirs = (n.IPAM.Config ?? []).map((c) => c.Subnet).find((sub) => sub && overlaps(sub, subnet));
            if (theirs) {
                fail(field, `\`${field}\` ${subnet} overlaps subnet ${theirs} of Docker network "${n.Name}"; choose a free subnet`);
                break;
            }
        }
        // A macvlan network's subnet is its parent's LAN: the parent's own address lies in it by design.
        const mine = (i: { ifname: string; alias?: string }) =>
            isOwnedBy(i.alias, inputs.owner) ||
            (inputs.bridgeName !== undefined && i.ifname === inputs.bridgeName) ||
            (inputs.parent !== undefined && (i.ifname === inputs.parent || i.ifname === inputs.parent.split(".")[0]));
        const onHost = host.find((h) => !mine(h) && overlaps(h.cidr, subnet) && !all.some((n) => networks.bridgeOfNetwork(n) === h.ifname));
        if (onHost) {
            fail(
                field,
                `\`${field}\` ${subnet} overlaps address ${onHost.cidr} of interface ${onHost.ifname} on this host (traffic to it would be misrouted); choose a free subnet`,
            );
        }
    }
    return failures;
}

/**
 * What the host says against a macvlan or ipvlan network: the kernel's kinds,
 * the parent (the rules every link on a parent follows, engine/parent.ts),
 * and what Docker itself refuses of this driver, parent and mode.
 */
async function sublinkFailures(inputs: NetworkInputs): Promise<InputFailure[]> {
    const driver = inputs.driver!;
    const failures: InputFailure[] = [];
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    const missingKind = await kernelKind(
        "driver",
        "driver",
        driver,
        driver === "ipvlan" ? "use driver macvlan (same parent, a MAC of its own per container)" : "use driver bridge",
    );
    if (missingKind) return [missingKind];

    const parent = inputs.parent;
    if (!parent) {
        // Docker makes a dummy interface as the parent of an isolated network.
        const noDummy = await kernelLacks("dummy");
        if (noDummy)
            fail(
                "parent",
                `\`parent\` is required here: without it Docker makes a dummy interface as the parent, and ${noDummy}; name the host interface on the LAN`,
            );
        return failures;
    }
    const vlan = /^(.+)\.(\d{1,4})$/.exec(parent);
    if (vlan && !(await ip.getLink(parent))) {
        // Docker makes `eth0.10` as VLAN 10 of eth0 when it does not exist (and deletes it with the network).
        const noVlan = await kernelLacks("vlan");
        if (noVlan) {
            fail(
                "parent",
                `\`parent\` "${parent}" does not exist, and Docker would make it as 802.1Q VLAN ${vlan[2]} of "${vlan[1]}", but ${noVlan}; name an existing interface`,
            );
            return failures;
        }
        const base = await checkParent(vlan[1], parentUse(inputs, "parent"), true);
        return base.failures;
    }
    const found = await checkParent(parent, parentUse(inputs, "parent"), true);
    failures.push(...found.failures);
    if (found.failures.length > 0 || !found.link) return failures;

    // Docker's own rules: one ipvlan network per parent; one macvlan network per parent before Docker 27.
    const version = await docker.engineVersion();
    const sameDriver = [
        ...found.networks.filter((n) => n.driver === driver).map((n) => `Docker's ${driver} network "${n.name}"`),
        ...found.claims.filter((c) => c.role === "network" && c.kind === driver).map((c) => describeOwner(c.owner)),
    ];
    if (sameDriver.length > 0 && (driver === "ipvlan" || version.major < 27)) {
        fail(
            "parent",
            `\`parent\` "${parent}" is already the parent of ${sameDriver[0]}, and Docker ${version.text} makes one ${driver} network per parent${driver === "macvlan" ? " (27.0 lifted that, but for passthru)" : ""}; put both subnets on one network, or use another parent`,
        );
    }
    if (driver === "ipvlan" && inputs.mode === "l3s" && version.major < 23) {
        fail("mode", `\`mode\` l3s: Docker ${version.text} has no ipvlan mode l3s (it came with Docker 23.0); use l2 or l3`);
    }
    return failures;
}

function parentUse(inputs: NetworkInputs, field: string) {
    return {
        field,
        kind: inputs.driver as "macvlan" | "ipvlan",
        kindField: "driver",
        modeField: "mode",
        mode: inputs.mode!,
        owner: inputs.owner,
        role: "network" as const,
    };
}

export const networkProvider: pulumi.dynamic.ResourceProvider<NetworkInputs, NetworkOutputs> = {
    async check(olds, news) {
        // Docker reports IPv6 subnets and addresses in RFC 5952's form: store them so, or every refresh would differ.
        const inputs = { ...news };
        for (const k of ["ipv6Subnet", "ipv6Gateway", "ipv6Range"] as const) {
            const v = news[k];
            if (typeof v === "string") inputs[k] = addr.canonical(v);
        }
        const failures = checkNetworkInputs({ ...inputs });
        if (failures.length === 0) failures.push(...(await hostFailures(inputs, olds)));
        return { inputs, failures };
    },

    async diff(_id: string, olds: NetworkOutputs, news: NetworkInputs) {
        // By its id too (`check` sees no id): containers refer to it so, on nodes that do not know it yet.
        if (isOverlay(news) && sameValue(olds.swarm?.clusterId, news.swarm?.clusterId)) declareOverlay(news, olds.networkId);
        const replaces: string[] = replaceOnChange.filter((k) => !sameValue(olds[k], news[k]));
        // Another swarm: the network is made again there. A node more or less changes nothing of the network.
        if (!sameValue(olds.swarm?.clusterId, news.swarm?.clusterId)) replaces.push("swarm");
        // Networks made before IPv6 have no `enableIpv6`: off, as it is when absent.
        if (networkHasIPv6(olds) !== networkHasIPv6(news)) replaces.push("enableIpv6");
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
            : {
                  ...inputs,
                  networkId: n.Id,
                  bridge: inputs.driver === "macvlan" || inputs.driver === "ipvlan" ? "" : (inputs.bridgeName ?? `br-${n.Id.slice(0, 12)}`),
              };
        if (isOverlay(inputs)) declareOverlay(inputs, n.Id);
        return { id: n.Id, outs: definedOnly(outs) };
    },

    async read(id: string, stored?: NetworkOutputs) {
        const props = storedProps(stored);
        const n = await networks.inspectNetwork(id);
        if (!n || !isOwnedBy(n.Labels?.[OWNER_LABEL], props.owner)) return {};
        const configs = n.IPAM.Config ?? [];
        const ipam = configs.find((c) => !c.Subnet?.includes(":")) ?? {};
        const ipam6 = configs.find((c) => c.Subnet?.includes(":")) ?? {};
        const opts = n.Options ?? {};
        const live: NetworkOutputs = {
            ...props,
            name: n.Name,
            internal: n.Internal,
            ...(isOverlay(props) ? liveOverlay(n, props) : { icc: opts[OPT_ICC] !== "false", masquerade: opts[OPT_MASQ] !== "false" }),
            labels: Object.fromEntries(Object.entries(n.Labels ?? {}).filter(([k]) => !k.startsWith("io.hostnet."))),
        };
        if (props.driver !== undefined || n.Driver !== "bridge") live.driver = n.Driver as NetworkOutputs["driver"];
        if (live.driver === "macvlan" || live.driver === "ipvlan") {
            live.parent = opts[OPT_PARENT];
            live.mode = opts[OPT_MODE[live.driver]] ?? (live.driver === "macvlan" ? "bridge" : "l2");
        }
        if (isOverlay(props)) declareOverlay(props, n.Id);
        // Compare only what the user set; Docker fills in the rest.
        if (props.subnet !== undefined) live.subnet = ipam.Subnet;
        if (props.gateway !== undefined) live.gateway = ipam.Gateway;
        if (props.ipRange !== undefined) live.ipRange = ipam.IPRange;
        if (props.enableIpv6 !== undefined) live.enableIpv6 = n.EnableIPv6 === true;
        if (props.ipv6Subnet !== undefined) live.ipv6Subnet = ipam6.Subnet;
        if (props.ipv6Gateway !== undefined) live.ipv6Gateway = ipam6.Gateway;
        if (props.ipv6Range !== undefined) live.ipv6Range = ipam6.IPRange;
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
