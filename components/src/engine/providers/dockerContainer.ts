// DockerContainer: a container run by the local Docker engine, as desired
// state, through the Engine API (host/docker.ts).
//
// What Docker cannot change on a container (image, command, environment,
// labels, published ports, the network mode it was created with) replaces it.
// What it can change is changed in place, keeping the container's id: the
// restart policy, the user-defined networks it is connected to (with their
// addresses and aliases), and its running state (a container found stopped by
// refresh is started again by `up`).
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import * as addr from "../../common/address";
import { isOwnedBy, OWNER_LABEL } from "../../common/naming";
import {
    checkDockerContainerInputs,
    DockerContainerInputs,
    DockerContainerOutputs,
    EndpointInput,
} from "../../common/specs/dockerContainer";
import { containsUnknown, failuresError, InputFailure, isBuiltinNetworkMode, isKnown, parsePortSpec } from "../../common/validation";
import { addressHeld, claimedTwice, containerUsable, nameTaken, push, RuleName } from "../rules";
import * as docker from "../../host/docker";
import { netnsOf } from "../../host/netns";
import { DockerApiError } from "../../host/errors";
import { foreignHolder, hasIPv6Subnet, networkAddressFailure, networkOnHost, parentAddressClash } from "../observe";
import { callStep, describe, execute, making, Plan } from "../plan";
import { claim, claimAcrossHosts, claimant, isClaimed, swarmNetwork } from "../registry";
import { definedOnly, sameValue, storedProps } from "./props";

const replaceOnChange = ["name", "image", "command", "env", "networkMode", "ports", "labels", "owner"] as const;

/** The live values of the labels the user declared (Docker adds the image's labels to the container's). */
function declaredLabels(declared: Record<string, string>, live: Record<string, string> | null): Record<string, string> {
    return Object.fromEntries(
        Object.keys(declared)
            .filter((k) => live && k in live)
            .map((k) => [k, live![k]]),
    );
}

/**
 * Docker stores `container:<name>` as `container:<full id>`. The declared form
 * stands while the name still resolves to that id; once the target is another
 * container, the live id shows the drift.
 */
async function liveNetworkMode(declared: string, live: string): Promise<string> {
    if (declared === live || !declared.startsWith("container:") || !live.startsWith("container:")) return live;
    const target = await docker.inspectContainer(declared.slice("container:".length));
    return target && `container:${target.Id}` === live ? declared : live;
}

/**
 * For a running `container:` container: whether it is in its target's network
 * namespace. A target that restarted got a new namespace; this container stays
 * in the old one until it restarts too. Undefined for other modes.
 */
async function joinedTarget(c: docker.ContainerInspect): Promise<boolean | undefined> {
    const mode = c.HostConfig.NetworkMode;
    if (!mode.startsWith("container:") || !c.State.Running) return undefined;
    const target = await docker.inspectContainer(mode.slice("container:".length));
    if (!target?.State.Running) return undefined;
    const [mine, theirs] = await Promise.all([netnsOf(c.State.Pid), netnsOf(target.State.Pid)]);
    return mine === undefined || theirs === undefined ? undefined : mine === theirs;
}

function restartPolicyOf(text: string | undefined): docker.RestartPolicy {
    const [name, retries] = (text ?? "no").split(":");
    return { name: name as docker.RestartPolicy["name"], maximumRetryCount: retries ? Number(retries) : 0 };
}

function restartPolicyText(p: { Name: string; MaximumRetryCount: number }): string {
    const name = p.Name || "no";
    return name === "on-failure" && p.MaximumRetryCount > 0 ? `on-failure:${p.MaximumRetryCount}` : name;
}

/** The live endpoint of a container on `network` (given by name or id). */
function findEndpoint(c: docker.ContainerInspect, network: string): docker.EndpointInspect | undefined {
    // An overlay of this deployment is known by its name too: a stopped container on a swarm worker keeps its
    // endpoint under the network's name, without the id, once the worker has dropped the network it no longer uses.
    const overlayName = swarmNetwork(network)?.name;
    for (const [name, ep] of Object.entries(c.NetworkSettings.Networks ?? {})) {
        if (
            name === network ||
            name === overlayName ||
            ep.NetworkID === network ||
            (network.length >= 12 && (ep.NetworkID ?? "").startsWith(network))
        ) {
            return ep;
        }
    }
    return undefined;
}

/** Declared endpoints as they are live: connected ones only, with what the user set. */
function liveEndpoints(c: docker.ContainerInspect, declared: EndpointInput[]): EndpointInput[] {
    const live: EndpointInput[] = [];
    for (const want of declared) {
        const ep = findEndpoint(c, want.network);
        if (!ep) continue;
        const got: EndpointInput = { network: want.network };
        if (want.ipv4Address !== undefined) got.ipv4Address = ep.IPAMConfig?.IPv4Address ?? ep.IPAddress;
        if (want.ipv6Address !== undefined) got.ipv6Address = addr.canonical(ep.IPAMConfig?.IPv6Address ?? ep.GlobalIPv6Address ?? "");
        if (want.aliases !== undefined) got.aliases = want.aliases.filter((a) => (ep.Aliases ?? []).includes(a));
        live.push(got);
    }
    return live;
}

async function connectEndpoint(id: string, e: EndpointInput): Promise<void> {
    try {
        await docker.connectNetwork(e.network, id, { ipv4Address: e.ipv4Address, ipv6Address: e.ipv6Address, aliases: e.aliases });
    } catch (err) {
        // Connected already, as wanted: an interrupted update got this far, and the next up goes on from there.
        if (err instanceof DockerApiError && err.statusCode === 403) {
            const c = await docker.inspectContainer(id);
            const ep = c && findEndpoint(c, e.network);
            const same =
                ep &&
                (e.ipv4Address === undefined || ep.IPAMConfig?.IPv4Address === e.ipv4Address) &&
                (e.ipv6Address === undefined || addr.sameAddress(ep.IPAMConfig?.IPv6Address ?? "", e.ipv6Address)) &&
                (e.aliases ?? []).every((a) => (ep.Aliases ?? []).includes(a));
            if (same) return;
        }
        throw err;
    }
}

/** The host operations of a create (`leftover`: a container marked as this resource's, left by an interrupted run). */
export function planCreate(inputs: DockerContainerInputs, leftover = false): Plan {
    const name = inputs.name;
    const [first, ...others] = inputs.networks ?? [];
    const ports = (inputs.ports ?? []).map((p) => parsePortSpec(p)!);
    const published = ports.length === 0 ? "" : `, publishing ${(inputs.ports ?? []).join(", ")}`;
    return {
        steps: [
            ...(leftover
                ? [
                      callStep(`remove container "${name}", left marked as this resource's by an interrupted run`, () =>
                          docker.removeContainer(name),
                      ),
                  ]
                : []),
            making(
                callStep(
                    `create container "${name}" from ${inputs.image} with --net=${inputs.networkMode}${first?.ipv4Address ? ` --ip ${first.ipv4Address}` : ""}${first?.ipv6Address ? ` --ip6 ${first.ipv6Address}` : ""}${published}`,
                    async () => {
                        await docker.createContainer({
                            name,
                            image: inputs.image,
                            command: inputs.command,
                            env: inputs.env,
                            labels: { ...inputs.labels, [OWNER_LABEL]: inputs.owner },
                            networkMode: inputs.networkMode,
                            endpoint: first
                                ? { ipv4Address: first.ipv4Address, ipv6Address: first.ipv6Address, aliases: first.aliases }
                                : undefined,
                            ports,
                            restartPolicy: inputs.restartPolicy ? restartPolicyOf(inputs.restartPolicy) : undefined,
                        });
                    },
                ),
            ),
            // The Engine API of Debian's Docker takes one network at create; the rest join before start.
            ...others.map((e) => callStep(connectText(name, e), () => connectEndpoint(name, e))),
            callStep(`start container "${name}"`, () => docker.startContainer(name)),
        ],
        undo: [callStep(`remove container "${name}"`, () => docker.removeContainer(name))],
    };
}

function connectText(container: string, e: EndpointInput): string {
    const extra = [
        e.ipv4Address ? `address ${e.ipv4Address}` : "",
        e.ipv6Address ? `IPv6 address ${e.ipv6Address}` : "",
        e.aliases?.length ? `aliases ${e.aliases.join(", ")}` : "",
    ].filter(Boolean);
    return `connect container "${container}" to network ${e.network}${extra.length ? ` (${extra.join("; ")})` : ""}`;
}

/** The host operations of an in-place update: only what Docker changes without recreating. */
export function planUpdate(id: string, olds: DockerContainerOutputs, news: DockerContainerInputs): Plan {
    const name = olds.name;
    const steps = [];
    if ((olds.restartPolicy ?? "no") !== (news.restartPolicy ?? "no")) {
        steps.push(
            callStep(`set restart policy of container "${name}" to ${news.restartPolicy ?? "no"}`, () =>
                docker.updateRestartPolicy(id, restartPolicyOf(news.restartPolicy)),
            ),
        );
    }
    const before = olds.networks ?? [];
    const after = news.networks ?? [];
    for (const old of before) {
        if (!after.some((e) => e.network === old.network)) {
            steps.push(
                callStep(`disconnect container "${name}" from network ${old.network}`, () => docker.disconnectNetwork(old.network, id)),
            );
        }
    }
    for (const want of after) {
        const had = before.find((e) => e.network === want.network);
        if (had && sameValue(had, want)) continue;
        if (had)
            steps.push(
                callStep(`disconnect container "${name}" from network ${want.network} (to reconnect it)`, () =>
                    docker.disconnectNetwork(want.network, id),
                ),
            );
        steps.push(callStep(connectText(name, want), () => connectEndpoint(id, want)));
    }
    if (olds.running === false) steps.push(callStep(`start container "${name}"`, () => docker.startContainer(id)));
    else if (olds.joined === false) {
        steps.push(
            callStep(
                `restart container "${name}" to rejoin the network namespace of its target (it was left in the one the target had before it restarted)`,
                () => docker.restartContainer(id),
            ),
        );
    }
    return { steps };
}

export function planDelete(id: string, props: DockerContainerOutputs): Plan {
    return { steps: [callStep(`remove container "${props.name}" (with its anonymous volumes)`, () => docker.removeContainer(id))] };
}

/** For the preview report: what a change would run, with nothing observed. */
export function describeChange(op: "create" | "update" | "delete", olds?: DockerContainerOutputs, news?: DockerContainerInputs): string[] {
    if (op === "create") return describe(planCreate(news!));
    if (op === "delete") return describe(planDelete(olds!.containerId, olds!));
    return describe(planUpdate(olds!.containerId, olds!, news!));
}

/** The shared host rules (engine/rules.ts) that `hostFailures` runs, for `check` and `create` alike. */
export const hostRules: readonly RuleName[] = ["claimed-twice", "name-taken", "container-usable", "address-held"];

/**
 * What the host says against these inputs, before anything is touched: the
 * name (taken by someone else, or twice in this stack), the image, the
 * `container:` target, the networks and the static addresses on them.
 */
async function hostFailures(inputs: DockerContainerInputs, olds?: Partial<DockerContainerInputs>): Promise<InputFailure[]> {
    const failures: InputFailure[] = [];
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    const known = isKnown;
    if (!known(inputs.owner)) return failures;
    if (known(inputs.name)) {
        push(failures, claimedTwice("name", `\`name\` "${inputs.name}"`, claim("container", [inputs.name], inputs.owner)));
    }
    for (const e of known(inputs.networks) ? (inputs.networks ?? []) : []) {
        const given = [e.ipv4Address, e.ipv6Address].filter((a): a is string => typeof a === "string" && a !== "");
        if (given.length === 0) continue;
        const mine = `${inputs.owner}#${e.network}`;
        // On an overlay, an address is one across all the swarm's hosts.
        const overlay = swarmNetwork(e.network);
        if (overlay) {
            const other = claimAcrossHosts(`address@swarmnet:${overlay.id ?? overlay.name}`, given.map(addr.canonical), mine);
            push(failures, claimedTwice("networks", `\`networks\` address ${given.join(" or ")} on network ${e.network}`, other));
            continue;
        }
        const space = `address@net:${e.network}`;
        claim(space, given.map(addr.canonical), mine);
        for (const a of given) {
            const other = claimant(space, addr.canonical(a));
            push(
                failures,
                claimedTwice("networks", `\`networks\` address ${a} on network ${e.network}`, other !== mine ? other : undefined),
            );
        }
    }
    const unchanged =
        olds &&
        Object.keys(olds).length > 0 &&
        (["name", "image", "networkMode", "networks"] as const).every((k) => sameValue(olds[k], inputs[k]));
    if (unchanged) return failures;

    if (known(inputs.name)) {
        const existing = await docker.inspectContainer(inputs.name);
        const owner = existing?.Config.Labels?.[OWNER_LABEL];
        const holder = existing && !isOwnedBy(owner, inputs.owner) ? { mark: owner ?? null } : undefined;
        push(failures, nameTaken("name", "name", inputs.name, "by another container", holder));
    }
    if (known(inputs.image) && !(await docker.imageExists(inputs.image))) {
        fail(
            "image",
            `\`image\` "${inputs.image}" is not present locally and no registry is used; build or import it first (the project's scripts/make-image.sh makes hostnet/busybox:1)`,
        );
    }
    const mode = inputs.networkMode;
    if (known(mode) && mode.startsWith("container:")) {
        const target = mode.slice("container:".length);
        const t = await docker.inspectContainer(target);
        // A stopped target is started by Docker with the container that shares its namespace.
        push(failures, containerUsable("networkMode", "networkMode", target, t, { use: "containerTarget", running: false }));
    }
    for (const [i, e] of (known(inputs.networks) ? (inputs.networks ?? []) : []).entries()) {
        if (isBuiltinNetworkMode(e.network)) continue;
        const on = await networkOnHost(e.network);
        const n = on?.inspect;
        if (!n) {
            if (!on && !isClaimed("network", e.network))
                fail(
                    "networks",
                    `\`networks\`: network "${e.network}" does not exist; create it first, or pass the Network resource that makes it`,
                );
            continue;
        }
        if (e.ipv6Address && !hasIPv6Subnet(n)) {
            fail(
                "networks",
                `\`networks\`: network ${n.Name} has no IPv6 subnet, so it cannot give address ${e.ipv6Address}; make the network with \`ipv6Subnet\`, or drop \`ipv6Address\``,
            );
        }
        for (const [field, a] of [
            ["ipv4Address", e.ipv4Address],
            ["ipv6Address", e.ipv6Address],
        ] as const) {
            const outside = a ? networkAddressFailure(`networks[${i}].${field}`, n, a) : undefined;
            if (outside) {
                fail("networks", outside);
                continue;
            }
            if (!a) continue;
            const holder = await foreignHolder(n, a, inputs.owner, inputs.name);
            const clash = await parentAddressClash(n, a);
            const held = addressHeld(
                "networks",
                `\`networks[${i}].${field}\` ${a}`,
                `on network ${n.Name}`,
                holder && `container "${holder}"`,
            );
            push(failures, held);
            if (!held && clash) fail("networks", `\`networks\`: ${clash}`);
        }
    }
    return failures;
}

export const dockerContainerProvider: pulumi.dynamic.ResourceProvider<DockerContainerInputs, DockerContainerOutputs> = {
    async check(olds, news) {
        // Docker reports IPv6 addresses in RFC 5952's form: store them so, or every refresh would differ.
        const inputs = Array.isArray(news.networks)
            ? {
                  ...news,
                  networks: news.networks.map((e) =>
                      typeof e === "object" && e !== null && typeof e.ipv6Address === "string"
                          ? { ...e, ipv6Address: addr.canonical(e.ipv6Address) }
                          : e,
                  ),
              }
            : news;
        const failures = checkDockerContainerInputs({ ...inputs });
        if (failures.length === 0) failures.push(...(await hostFailures(inputs, olds)));
        return { inputs, failures };
    },

    async diff(_id: string, olds: DockerContainerOutputs, news: DockerContainerInputs) {
        const replaces: string[] = replaceOnChange.filter((k) => !sameValue(olds[k], news[k]));
        // A network not known yet is being replaced: the engine deletes it only after
        // the containers that are replaced with it, so joining in place would be too late.
        if (containsUnknown(news.networks) && !replaces.includes("networkMode")) replaces.push("networks");
        // The first network is the container's own from its creation: a new address or new aliases there
        // replace the container, as a new network mode does (reconnecting in place could find its interface
        // name taken by a veth of the library's, and leave it off the network). Found disconnected (drift),
        // it is connected again in place.
        const [firstOld, firstNew] = [olds.networks?.[0], news.networks?.[0]];
        if (
            firstOld &&
            firstNew &&
            !replaces.includes("networkMode") &&
            !replaces.includes("networks") &&
            firstOld.network === firstNew.network &&
            !sameValue(firstOld, firstNew)
        ) {
            replaces.push("networks");
        }
        const inPlace =
            !sameValue(olds.networks, news.networks) ||
            (olds.restartPolicy ?? "no") !== (news.restartPolicy ?? "no") ||
            olds.running === false ||
            olds.joined === false;
        return { changes: replaces.length > 0 || inPlace, replaces, deleteBeforeReplace: true };
    },

    async create(inputs) {
        // The same checks as the preview's, for values the preview did not know.
        const failures = await hostFailures(inputs);
        if (failures.length > 0) throw failuresError(`create container "${inputs.name}"`, failures);
        // A container marked as this very resource's is a leftover of an interrupted run: made again.
        const leftover = isOwnedBy((await docker.inspectContainer(inputs.name))?.Config.Labels?.[OWNER_LABEL], inputs.owner);
        await execute(planCreate(inputs, leftover));
        // Its id, read back; a create that fails here leaves nothing either.
        const c = await docker.inspectContainer(inputs.name).catch(async (err) => {
            await docker.removeContainer(inputs.name).catch(() => undefined);
            throw err;
        });
        if (!c) throw new Error(`failed to create container "${inputs.name}": it vanished right after it started; see \`docker events\``);
        const outs: DockerContainerOutputs = { ...inputs, containerId: c.Id, running: true, joined: await joinedTarget(c) };
        return { id: c.Id, outs: definedOnly(outs) };
    },

    async read(id: string, stored?: DockerContainerOutputs) {
        const props = storedProps(stored);
        const c = await docker.inspectContainer(id);
        if (!c || !isOwnedBy(c.Config.Labels?.[OWNER_LABEL], props.owner)) {
            return {};
        }
        const live: DockerContainerOutputs = {
            ...props,
            name: c.Name.replace(/^\//, ""),
            image: c.Config.Image,
            networkMode: await liveNetworkMode(props.networkMode, c.HostConfig.NetworkMode),
            labels: declaredLabels(props.labels, c.Config.Labels),
            running: c.State.Running,
            joined: await joinedTarget(c),
        };
        // Docker fills in defaults (the image's command, its own aliases): compare only what the user set.
        if (props.command !== undefined) live.command = c.Config.Cmd ?? [];
        // A stopped container's endpoints are not Docker's to tell until it starts (a swarm worker drops an overlay
        // no running container uses, and the endpoint loses its network id): the recorded ones stand while it is stopped.
        if (props.networks !== undefined) live.networks = c.State.Running ? liveEndpoints(c, props.networks) : props.networks;
        if (props.restartPolicy !== undefined) live.restartPolicy = restartPolicyText(c.HostConfig.RestartPolicy);
        if (props.ports !== undefined) {
            const bound = Object.entries(c.HostConfig.PortBindings ?? {}).flatMap(([key, list]) =>
                (list ?? []).map((b) => {
                    const [port, proto] = key.split("/");
                    return `${b.HostIp || "0.0.0.0"}:${b.HostPort}:${port}/${proto}`;
                }),
            );
            const normalized = props.ports.map((p) => {
                const s = parsePortSpec(p)!;
                return `${s.hostIp}:${s.hostPort}:${s.containerPort}/${s.protocol}`;
            });
            live.ports = normalized.every((p) => bound.includes(p)) && bound.length === normalized.length ? props.ports : bound;
        }
        return { id, props: definedOnly(live) };
    },

    async update(id, olds, news) {
        await execute(planUpdate(id, olds, news));
        const c = await docker.inspectContainer(id);
        return { outs: definedOnly({ ...news, containerId: olds.containerId, running: true, joined: c && (await joinedTarget(c)) }) };
    },

    async delete(id, props) {
        const c = await docker.inspectContainer(id);
        // Never remove a container this resource did not create: the label is its mark.
        if (c && isOwnedBy(c.Config.Labels?.[OWNER_LABEL], props.owner)) await execute(planDelete(id, props));
    },
};
