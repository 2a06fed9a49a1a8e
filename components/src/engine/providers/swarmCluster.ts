// SwarmCluster: a Docker swarm, made by `docker swarm init` on its first
// manager (the resource's host), as desired state. The cluster spec carries
// the owner mark as a label, so that only a swarm this resource made is ever
// left; the join tokens are outputs, kept as secrets in the state.
//
// Nothing of a swarm's init can change in place (addresses, ports, pools), so
// every change replaces it, the old swarm leaving first. A swarm whose first
// manager left it by hand is gone for refresh; `up` makes a new one (and the
// nodes join that one).
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import { describeOwner, isOwnedBy, OWNER_LABEL, sameStack } from "../../common/naming";
import { hostLabel } from "../../common/specs/host";
import { checkSwarmClusterInputs, SWARM_PORT, SwarmClusterInputs, SwarmClusterOutputs } from "../../common/specs/swarm";
import { failuresError, InputFailure, isKnown } from "../../common/validation";
import * as swarm from "../../host/swarm";
import { callStep, describe, execute, making, Plan } from "../plan";
import { localAddressFailure, removeGwbridgeIfMade, gwbridgeExists } from "./swarmHost";
import { definedOnly, sameValue, storedProps } from "./props";

const replaceOnChange = [
    "advertiseAddress",
    "dataPathAddress",
    "listenAddress",
    "dataPathPort",
    "defaultAddrPool",
    "subnetSize",
    "owner",
] as const;

function where(inputs: SwarmClusterInputs): string {
    return hostLabel(inputs.host);
}

/** The host operations of a create. */
export function planCreate(inputs: SwarmClusterInputs): Plan {
    const opts = [
        `advertising ${inputs.advertiseAddress}`,
        inputs.dataPathAddress ? `data path ${inputs.dataPathAddress}` : "",
        inputs.listenAddress ? `listening on ${inputs.listenAddress}` : "",
        inputs.dataPathPort ? `VXLAN port ${inputs.dataPathPort}` : "",
        inputs.defaultAddrPool ? `address pool ${inputs.defaultAddrPool.join(", ")}` : "",
    ].filter(Boolean);
    return {
        steps: [
            making(
                callStep(`initialize a swarm on ${where(inputs)} (docker swarm init, ${opts.join(", ")})`, async () => {
                    await swarm.initSwarm({
                        advertiseAddress: inputs.advertiseAddress,
                        dataPathAddress: inputs.dataPathAddress,
                        listenAddress: inputs.listenAddress,
                        dataPathPort: inputs.dataPathPort,
                        defaultAddrPool: inputs.defaultAddrPool,
                        subnetSize: inputs.subnetSize,
                        labels: { [OWNER_LABEL]: inputs.owner },
                    });
                }),
            ),
        ],
        undo: [callStep(`leave the swarm on ${where(inputs)} (docker swarm leave --force)`, () => swarm.leaveSwarm(true))],
    };
}

export function planDelete(props: SwarmClusterOutputs): Plan {
    return {
        steps: [
            callStep(`leave and end swarm ${props.clusterId} on ${where(props)} (docker swarm leave --force)`, () =>
                swarm.leaveSwarm(true),
            ),
            ...(props.gwbridgeMade
                ? [callStep(`remove Docker's docker_gwbridge network on ${where(props)}, made for the swarm`, () => removeGwbridgeIfMade())]
                : []),
        ],
    };
}

/** For the preview report: what a change would run, with nothing observed. */
export function describeChange(op: "create" | "update" | "delete", olds?: SwarmClusterOutputs, news?: SwarmClusterInputs): string[] {
    if (op === "create") return describe(planCreate(news!));
    if (op === "delete") return describe(planDelete(olds!));
    return [];
}

/** The swarm the current host's engine is in, when a manager of it: its labels say whose it is. */
async function ownSwarm(): Promise<{ info: swarm.SwarmInfo; cluster?: swarm.SwarmInspect }> {
    const info = await swarm.swarmInfo();
    if (!swarm.inSwarm(info) || !info.ControlAvailable) return { info };
    return { info, cluster: await swarm.inspectSwarm() };
}

/** What the host says against these inputs, before anything is touched. */
async function hostFailures(inputs: SwarmClusterInputs, olds?: Partial<SwarmClusterOutputs>): Promise<InputFailure[]> {
    const failures: InputFailure[] = [];
    if (!isKnown(inputs.owner)) return failures;
    const { info, cluster } = await ownSwarm();
    const mine = cluster && isOwnedBy(cluster.Spec.Labels?.[OWNER_LABEL], inputs.owner);
    if (swarm.inSwarm(info) && !mine && !(olds?.clusterId && info.Cluster?.ID === olds.clusterId)) {
        const owner = cluster?.Spec.Labels?.[OWNER_LABEL];
        failures.push({
            property: "",
            reason: `${where(inputs)}'s Docker engine is already ${info.ControlAvailable ? "a manager" : "a node"} of swarm ${info.Cluster?.ID ?? "(a cluster its managers know)"}${owner ? ` (made by ${describeOwner(owner)})` : info.ControlAvailable ? " (not made by this library)" : ""}; leave it there first (\`docker swarm leave\`), or make another host the first node`,
        });
    }
    const unchanged = olds && (["advertiseAddress", "dataPathAddress"] as const).every((k) => sameValue(olds[k], inputs[k]));
    if (!unchanged) {
        for (const field of ["advertiseAddress", "dataPathAddress"] as const) {
            const reason = isKnown(inputs[field]) ? await localAddressFailure(field, inputs[field]!) : undefined;
            if (reason) failures.push({ property: field, reason });
        }
    }
    return failures;
}

function outputs(inputs: SwarmClusterInputs, cluster: swarm.SwarmInspect, nodeId: string, gwbridgeMade: boolean): SwarmClusterOutputs {
    return definedOnly({
        ...inputs,
        clusterId: cluster.ID,
        nodeId,
        joinAddress: `${inputs.advertiseAddress}:${SWARM_PORT}`,
        workerToken: cluster.JoinTokens.Worker,
        managerToken: cluster.JoinTokens.Manager,
        gwbridgeMade: gwbridgeMade || undefined,
    });
}

export const swarmClusterProvider: pulumi.dynamic.ResourceProvider<SwarmClusterInputs, SwarmClusterOutputs> = {
    async check(olds, news) {
        const failures = checkSwarmClusterInputs({ ...news });
        if (failures.length === 0) failures.push(...(await hostFailures(news, olds)));
        return { inputs: news, failures };
    },

    async diff(_id, olds: SwarmClusterOutputs, news: SwarmClusterInputs) {
        const replaces = replaceOnChange.filter((k) => !sameValue(olds[k], news[k]));
        return { changes: replaces.length > 0, replaces: [...replaces], deleteBeforeReplace: true };
    },

    async create(inputs) {
        const failures = await hostFailures(inputs);
        if (failures.length > 0) throw failuresError(`create a swarm on ${where(inputs)}`, failures);
        let { info, cluster } = await ownSwarm();
        // A swarm marked as this resource's is a leftover of an interrupted run: taken over as it is.
        const leftover = cluster !== undefined && isOwnedBy(cluster.Spec.Labels?.[OWNER_LABEL], inputs.owner);
        const hadGwbridge = leftover || (await gwbridgeExists());
        if (!leftover) {
            await execute(planCreate(inputs));
            ({ info, cluster } = await ownSwarm());
        }
        if (!cluster) {
            await swarm.leaveSwarm(true).catch(() => undefined);
            throw new Error(
                `failed to create a swarm on ${where(inputs)}: the engine is no manager right after \`docker swarm init\` (${info.LocalNodeState}${info.Error ? `: ${info.Error}` : ""}); see its dockerd log`,
            );
        }
        // Docker makes docker_gwbridge a moment after the init, when it is not there yet: removed again when the swarm goes.
        return { id: cluster.ID, outs: outputs(inputs, cluster, info.NodeID, !hadGwbridge) };
    },

    async read(id, stored?: SwarmClusterOutputs) {
        const props = storedProps(stored);
        const { info, cluster } = await ownSwarm();
        // Left (by hand), or in another swarm: this one is gone from where it was made.
        if (!swarm.inSwarm(info) || info.Cluster?.ID !== props.clusterId || !cluster) return {};
        if (!isOwnedBy(cluster.Spec.Labels?.[OWNER_LABEL], props.owner)) return {};
        // The tokens as they are now (`docker swarm join-token --rotate` changes them).
        return { id, props: { ...outputs(props, cluster, info.NodeID, props.gwbridgeMade === true), nodeId: props.nodeId } };
    },

    async delete(_id, props) {
        const { info, cluster } = await ownSwarm();
        // Never leave a swarm this resource did not make: the cluster's label is its mark.
        if (!cluster || info.Cluster?.ID !== props.clusterId || !isOwnedBy(cluster.Spec.Labels?.[OWNER_LABEL], props.owner)) {
            if (props.gwbridgeMade && !swarm.inSwarm(info)) await removeGwbridgeIfMade();
            return;
        }
        // Nodes of others still in it would lose their swarm with it.
        const others = (await swarm.listNodes()).filter(
            (n) => n.ID !== info.NodeID && !sameStack(n.Spec.Labels?.[OWNER_LABEL], props.owner) && n.Status.State !== "down",
        );
        if (others.length > 0) {
            throw new Error(
                `failed to delete swarm ${props.clusterId} on ${where(props)}: nodes not made by this stack are still in it: ` +
                    `${others.map((n) => `${n.ID} (${n.Description?.Hostname ?? "?"}, ${n.Spec.Role}, ${n.Status.State})`).join(", ")}; ` +
                    "remove them first (`docker swarm leave` there, then `docker node rm`), or they lose their swarm",
            );
        }
        await execute(planDelete(props));
    },
};
