// SwarmNode: one host's membership of a swarm, as desired state. Its own
// host's engine joins (`docker swarm join` with the cluster's worker or
// manager token) and leaves; the node's labels, role and availability are
// set through the swarm's first manager (`docker node update`), which also
// removes the node from the list when it goes (`docker node rm`).
//
// The first manager's node is the one `docker swarm init` made: it joins
// nothing and leaves with the swarm (SwarmCluster), but its labels and
// availability are set here as any node's.
//
// Refresh reads the node both ways: its engine (still in this swarm?) and the
// managers (`ready`, `down`, ...). A node that left, or that the managers see
// down, differs; `up` joins it again (and removes its stale entry), or waits
// for it to come back, and says why when it does not. Role, labels and
// availability change in place; addresses replace the node (leave, join).
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import { isOwnedBy, OWNER_LABEL } from "../../common/naming";
import { hostLabel } from "../../common/specs/host";
import { checkSwarmNodeInputs, SwarmNodeInputs, SwarmNodeOutputs, SwarmRef } from "../../common/specs/swarm";
import { containsUnknown, failuresError, InputFailure, isKnown } from "../../common/validation";
import { DockerUnreachableError, HostUnreachableError } from "../../host/errors";
import { onHost } from "../../host/ssh";
import * as swarm from "../../host/swarm";
import { callStep, CallStep, describe, execute, making, Plan } from "../plan";
import { definedOnly, sameValue, storedProps } from "./props";
import { gwbridgeExists, localAddressFailure, removeGwbridgeIfMade } from "./swarmHost";

const replaceOnChange = ["init", "advertiseAddress", "dataPathAddress", "listenAddress", "owner"] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` on the swarm's first manager (node updates and removals go there). */
function onManager<T>(ref: SwarmRef, fn: () => Promise<T>): Promise<T> {
    return onHost(ref.manager, fn);
}

/**
 * `fn` on the first manager when it still manages this swarm; undefined when
 * it does not (the swarm is gone: its nodes have nothing left to update or remove).
 */
function whileManaged<T>(ref: SwarmRef, fn: () => Promise<T>): Promise<T | undefined> {
    return onManager(ref, async () => {
        const m = await swarm.swarmInfo();
        if (!swarm.inSwarm(m) || !m.ControlAvailable || m.Cluster?.ID !== ref.clusterId) return undefined;
        return fn();
    });
}

function where(inputs: SwarmNodeInputs): string {
    return hostLabel(inputs.host);
}

function managerLabel(ref: SwarmRef): string {
    return `the first manager (${hostLabel(ref.manager)})`;
}

/** The node's labels as the user declared them, with the owner mark. */
function nodeLabels(inputs: SwarmNodeInputs): Record<string, string> {
    return { ...inputs.labels, [OWNER_LABEL]: inputs.owner };
}

/** The node spec the inputs want, on top of what the node has (its name stays). */
function wantedSpec(inputs: SwarmNodeInputs): (spec: swarm.NodeSpec) => swarm.NodeSpec {
    return (spec) => ({ ...spec, Labels: nodeLabels(inputs), Role: inputs.role, Availability: inputs.availability });
}

function specText(inputs: SwarmNodeInputs): string {
    const labels = Object.entries(inputs.labels).map(([k, v]) => `${k}=${v}`);
    return `role ${inputs.role}, availability ${inputs.availability}${labels.length ? `, labels ${labels.join(", ")}` : ""}`;
}

function joinStep(inputs: SwarmNodeInputs): CallStep {
    const extra = [
        inputs.advertiseAddress ? `advertising ${inputs.advertiseAddress}` : "",
        inputs.dataPathAddress ? `data path ${inputs.dataPathAddress}` : "",
        inputs.listenAddress ? `listening on ${inputs.listenAddress}` : "",
    ].filter(Boolean);
    return making(
        callStep(
            `join ${where(inputs)} to the swarm as a ${inputs.role} through ${inputs.swarm.joinAddress} (docker swarm join${extra.length ? `, ${extra.join(", ")}` : ""})`,
            () =>
                swarm.joinSwarm({
                    remoteAddrs: [inputs.swarm.joinAddress],
                    token: inputs.role === "manager" ? inputs.swarm.managerToken : inputs.swarm.workerToken,
                    advertiseAddress: inputs.advertiseAddress,
                    dataPathAddress: inputs.dataPathAddress,
                    listenAddress: inputs.listenAddress,
                }),
        ),
    );
}

function setSpecStep(inputs: SwarmNodeInputs, nodeId: () => string, what = "set"): CallStep {
    return callStep(
        `${what} ${specText(inputs)} of the node of ${where(inputs)} (docker node update, on ${managerLabel(inputs.swarm)})`,
        () => onManager(inputs.swarm, () => swarm.updateNode(nodeId(), wantedSpec(inputs))),
    );
}

/** The host operations of a create; `nodeId` is read once the host is in. */
export function planCreate(inputs: SwarmNodeInputs, node: { id: string } = { id: "" }): Plan {
    if (inputs.init) return { steps: [setSpecStep(inputs, () => node.id)] };
    return {
        steps: [
            joinStep(inputs),
            callStep(`read the node id of ${where(inputs)}`, async () => void (node.id = (await swarm.swarmInfo()).NodeID)),
            setSpecStep(inputs, () => node.id),
        ],
        undo: [
            callStep(`leave the swarm on ${where(inputs)}`, () => swarm.leaveSwarm(true)),
            callStep(`remove the node of ${where(inputs)} from the swarm`, async () => {
                if (node.id) await onManager(inputs.swarm, () => swarm.removeNode(node.id, true));
            }),
        ],
    };
}

/** The host operations of an in-place update. */
export function planUpdate(olds: SwarmNodeOutputs, news: SwarmNodeInputs, node: { id: string } = { id: olds.nodeId }): Plan {
    const steps: CallStep[] = [];
    if (olds.state === "left" && !news.init) {
        steps.push(
            joinStep(news),
            callStep(`read the node id of ${where(news)}`, async () => void (node.id = (await swarm.swarmInfo()).NodeID)),
            callStep(
                `remove the node's old entry ${olds.nodeId} (left) from the swarm's list, on ${managerLabel(news.swarm)}`,
                async () => {
                    if (olds.nodeId && olds.nodeId !== node.id) await onManager(news.swarm, () => swarm.removeNode(olds.nodeId, true));
                },
            ),
        );
    }
    if (olds.state !== "ready" && olds.state !== "left") {
        steps.push(
            callStep(`wait for the node of ${where(news)} to be ready again (the managers see it ${olds.state})`, () =>
                waitReady(news, node.id, 30000),
            ),
        );
    }
    const spec = ["role", "labels", "availability"] as const;
    if (olds.state === "left" || spec.some((k) => !sameValue(olds[k], news[k]))) steps.push(setSpecStep(news, () => node.id));
    if (olds.state === "left")
        steps.push(callStep(`wait for the node of ${where(news)} to be ready`, () => waitReady(news, node.id, 30000)));
    return { steps };
}

/** The host operations of a delete. */
export function planDelete(props: SwarmNodeOutputs): Plan {
    if (props.init) return { steps: [] }; // it leaves with the swarm (SwarmCluster)
    const steps: CallStep[] = [
        callStep(
            `drain the node of ${where(props)}${props.role === "manager" ? " and demote it to a worker" : ""} (docker node update, on ${managerLabel(props.swarm)})`,
            () =>
                whileManaged(props.swarm, async () => {
                    const n = await swarm.inspectNode(props.nodeId);
                    if (!n || !isOwnedBy(n.Spec.Labels?.[OWNER_LABEL], props.owner)) return;
                    await swarm.updateNode(props.nodeId, (s) => ({ ...s, Availability: "drain", Role: "worker" }));
                }),
        ),
        callStep(`leave the swarm on ${where(props)} (docker swarm leave)`, () => leaveIfStillIn(props)),
        callStep(`remove the node of ${where(props)} from the swarm (docker node rm, on ${managerLabel(props.swarm)})`, () =>
            whileManaged(props.swarm, async () => {
                const n = await swarm.inspectNode(props.nodeId);
                if (n && isOwnedBy(n.Spec.Labels?.[OWNER_LABEL], props.owner)) await swarm.removeNode(props.nodeId, true);
            }),
        ),
    ];
    if (props.gwbridgeMade) {
        steps.push(
            callStep(`remove Docker's docker_gwbridge network on ${where(props)}, made for the swarm`, () =>
                removeGwbridgeIfMade().catch(ignoreUnreachable),
            ),
        );
    }
    return { steps };
}

/** For the preview report: what a change would run, with nothing observed. */
export function describeChange(op: "create" | "update" | "delete", olds?: SwarmNodeOutputs, news?: SwarmNodeInputs): string[] {
    if (op === "create") return describe(planCreate(news!));
    if (op === "delete") return describe(planDelete(olds!));
    return describe(planUpdate(olds!, news!));
}

function unreachable(err: unknown): boolean {
    return err instanceof DockerUnreachableError || err instanceof HostUnreachableError;
}

function ignoreUnreachable(err: unknown): void {
    if (!unreachable(err)) throw err;
}

/**
 * Leaves the swarm when the host's engine is still this node. A host that
 * cannot be reached is left as it is: the managers remove its node, and its
 * engine, when it comes back, is in a swarm that no longer knows it
 * (`docker swarm leave --force` there).
 */
async function leaveIfStillIn(props: SwarmNodeOutputs): Promise<void> {
    let info: swarm.SwarmInfo;
    try {
        info = await swarm.swarmInfo();
    } catch (err) {
        return ignoreUnreachable(err);
    }
    if (!swarm.inSwarm(info) || info.NodeID !== props.nodeId) return;
    // A manager just demoted becomes a worker within moments; a plain leave then keeps the managers' quorum right.
    for (let i = 0; i < 40 && info.ControlAvailable; i++) {
        await sleep(250);
        info = await swarm.swarmInfo();
    }
    try {
        await swarm.leaveSwarm(info.ControlAvailable);
    } catch {
        await swarm.leaveSwarm(true);
    }
}

/** Waits until the managers see the node ready; fails saying what they see. */
async function waitReady(inputs: SwarmNodeInputs, nodeId: string, ms: number): Promise<void> {
    const until = Date.now() + ms;
    let last: swarm.NodeInspect | undefined;
    for (;;) {
        last = await onManager(inputs.swarm, () => swarm.inspectNode(nodeId));
        if (last?.Status.State === "ready") return;
        if (Date.now() > until) break;
        await sleep(500);
    }
    throw new Error(
        `failed to see the node of ${where(inputs)} ready: the managers see it ${last?.Status.State ?? "gone"}${last?.Status.Message ? ` (${last.Status.Message})` : ""}; ` +
            `check that its dockerd runs, and that TCP 2377 and 7946, UDP 7946 and 4789 pass between it and the managers`,
    );
}

/** What the host says against these inputs, before anything is touched. */
async function hostFailures(inputs: SwarmNodeInputs, olds?: Partial<SwarmNodeOutputs>): Promise<InputFailure[]> {
    const failures: InputFailure[] = [];
    if (!isKnown(inputs.owner) || inputs.init) return failures;
    const info = await swarm.swarmInfo();
    if (swarm.inSwarm(info) && !(await inThisSwarm(inputs.swarm, info.NodeID))) {
        failures.push({
            property: "",
            reason: `${where(inputs)}'s Docker engine is already ${info.ControlAvailable ? "a manager" : "a node"} of another swarm (${info.Cluster?.ID || `managers ${(info.RemoteManagers ?? []).map((m) => m.Addr).join(", ")}`}); leave it there first (\`docker swarm leave\`), or take the host out of the swarm's \`nodes\``,
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

/** The node as it is: its engine's view and the managers'. */
async function observe(props: SwarmNodeOutputs): Promise<SwarmNodeOutputs> {
    let info: swarm.SwarmInfo | undefined;
    try {
        info = await swarm.swarmInfo();
    } catch (err) {
        ignoreUnreachable(err); // its engine (or host) is down: the managers say the rest
    }
    // A worker's engine does not know its swarm's id: the node is in this swarm when its managers know its node id
    // (joined again by hand, it has a new one). Undefined when the first manager no longer manages this swarm.
    const nodeId = info && swarm.inSwarm(info) ? info.NodeID : props.nodeId;
    const node = info && !swarm.inSwarm(info) ? undefined : await whileManaged(props.swarm, () => swarm.inspectNode(nodeId));
    const live: SwarmNodeOutputs = { ...props, nodeId: node ? nodeId : props.nodeId, state: node ? node.Status.State : "left" };
    if (node) {
        live.role = node.Spec.Role;
        live.availability = node.Spec.Availability;
        live.labels = Object.fromEntries(Object.entries(node.Spec.Labels ?? {}).filter(([k]) => !k.startsWith("io.hostnet.")));
    }
    return live;
}

/**
 * True when the engine's node `nodeId` is in this swarm: its first manager
 * manages the swarm (`clusterId`, when known yet) and knows the node. (A
 * worker's own engine cannot tell: its `docker info` has no cluster id.)
 */
async function inThisSwarm(ref: SwarmRef, nodeId: string): Promise<boolean> {
    if (containsUnknown(ref?.manager)) return false;
    return onManager(ref, async () => {
        const m = await swarm.swarmInfo();
        if (!swarm.inSwarm(m) || !m.ControlAvailable) return false;
        if (isKnown(ref.clusterId) && m.Cluster?.ID !== ref.clusterId) return false;
        return (await swarm.inspectNode(nodeId)) !== undefined;
    }).catch((err) => (unreachable(err) ? false : Promise.reject(err)));
}

export const swarmNodeProvider: pulumi.dynamic.ResourceProvider<SwarmNodeInputs, SwarmNodeOutputs> = {
    async check(olds, news) {
        const failures = checkSwarmNodeInputs({ ...news });
        if (failures.length === 0) failures.push(...(await hostFailures(news, olds)));
        return { inputs: news, failures };
    },

    async diff(_id, olds: SwarmNodeOutputs, news: SwarmNodeInputs) {
        const replaces: string[] = replaceOnChange.filter((k) => !sameValue(olds[k], news[k]));
        // Another swarm (the old one was replaced): leave the old one, join the new one.
        if (!sameValue(olds.swarm?.clusterId, news.swarm?.clusterId)) replaces.push("swarm");
        const inPlace =
            olds.state !== "ready" ||
            (["role", "labels", "availability"] as const).some((k) => !sameValue(olds[k], news[k])) ||
            // New tokens or a new way to reach the manager: stored, nothing done.
            !sameValue(olds.swarm, news.swarm);
        return { changes: replaces.length > 0 || inPlace, replaces, deleteBeforeReplace: true };
    },

    async create(inputs) {
        const failures = await hostFailures(inputs);
        if (failures.length > 0) throw failuresError(`join ${where(inputs)} to the swarm`, failures);
        const info = await swarm.swarmInfo();
        const node = { id: "" };
        let gwbridgeMade = false;
        if (inputs.init || (swarm.inSwarm(info) && (await inThisSwarm(inputs.swarm, info.NodeID)))) {
            // The first manager (in by the swarm's init), or a node of this swarm already (an interrupted run).
            if (inputs.init && (!swarm.inSwarm(info) || info.Cluster?.ID !== inputs.swarm.clusterId)) {
                throw new Error(
                    `failed to set up the first node of swarm ${inputs.swarm.clusterId} on ${where(inputs)}: its engine is not in that swarm (${info.LocalNodeState}); refresh, then up makes the swarm again`,
                );
            }
            node.id = info.NodeID;
            await execute({ steps: [setSpecStep(inputs, () => node.id)] });
        } else {
            // Docker makes docker_gwbridge a moment after the join, when it is not there yet: removed again when the host leaves.
            gwbridgeMade = !(await gwbridgeExists());
            await execute(planCreate(inputs, node));
        }
        await waitReady(inputs, node.id, 30000).catch(async (err) => {
            if (!inputs.init) {
                await swarm.leaveSwarm(true).catch(() => undefined);
                await onManager(inputs.swarm, () => swarm.removeNode(node.id, true)).catch(() => undefined);
            }
            throw err;
        });
        const outs: SwarmNodeOutputs = { ...inputs, nodeId: node.id, state: "ready", gwbridgeMade: gwbridgeMade || undefined };
        return { id: node.id, outs: definedOnly(outs) };
    },

    async read(id, stored?: SwarmNodeOutputs) {
        const props = storedProps(stored);
        const live = await observe(props);
        return { id: live.nodeId || id, props: definedOnly(live) };
    },

    async update(_id, olds, news) {
        const node = { id: olds.nodeId };
        if (olds.state !== "ready" && olds.state !== "left") {
            // Down when last read: gone since (it left), or back?
            const now = await observe(olds);
            olds = { ...olds, state: now.state, nodeId: now.nodeId };
            node.id = now.nodeId;
        }
        if (olds.state === "left" && !news.init) {
            const failures = await hostFailures(news, olds);
            if (failures.length > 0) throw failuresError(`join ${where(news)} to the swarm again`, failures);
        }
        await execute(planUpdate(olds, news, node));
        return { outs: definedOnly({ ...olds, ...news, nodeId: node.id, state: "ready" }) };
    },

    async delete(_id, props) {
        await execute(planDelete(props));
    },
};
