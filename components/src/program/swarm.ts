// Swarm: Docker's swarm mode over several hosts, as a component. The first
// node initializes the swarm (a SwarmCluster, on its host); every node,
// the first included, is a SwarmNode that joins its host as a manager or a
// worker with the cluster's tokens (secrets in the state), carries its labels
// and availability, and leaves (drained, then removed from the list) when it
// is taken out of `nodes`. Overlay Networks span the swarm
// (`new Network(name, { swarm, subnet })`); Containers on any of its hosts
// join them. The engine side is engine/providers/swarmCluster.ts and
// swarmNode.ts.
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { checkSwarmClusterInputs, checkSwarmNodeInputs, SWARM_ROLES, SwarmAvailability, SwarmRole } from "../common/specs/swarm";
import { engineResource } from "./engineResource";
import { HostRef, resolveHost, ResolvedHost, sshIPv4Of } from "./host";
import { checkPromptly, ownerOf, refuse } from "./promptCheck";
import { programFramesOnly } from "./declarationSite";

export interface SwarmNodeArgs {
    /**
     * The host: a Host, or `{ name?, ssh: { host, ... } }`. Omitted: this
     * machine. Its Docker engine joins the swarm. Changing a node's host
     * is taking one host out and another in.
     */
    host?: HostRef;
    /**
     * `manager` or `worker`. Default: `manager` for the first node (it
     * initializes the swarm, and must be a manager), `worker` for the others.
     * Changed in place (`docker node promote | demote`). Keep the managers an
     * odd number (1, 3, 5): a swarm needs a majority of them to work.
     */
    role?: SwarmRole;
    /**
     * `--advertise-addr`: the node's address on the network the hosts reach
     * each other on (the underlay), one of its own. Default: the host's
     * `ssh.host` when that is an IPv4 address; required otherwise (and for
     * this machine). Changing it makes the node leave and join again.
     */
    advertiseAddress?: pulumi.Input<string>;
    /**
     * `--data-path-addr`: the address the overlays' VXLAN traffic leaves from,
     * when it is another network than the advertise address's (a data network
     * beside a management one). Default: the advertise address.
     */
    dataPathAddress?: pulumi.Input<string>;
    /** `--listen-addr`, `address[:port]`. Default Docker's, 0.0.0.0:2377. */
    listenAddress?: pulumi.Input<string>;
    /** Node labels (`docker node update --label-add`), for placement and for people. Changed in place. */
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * `active` (default), `pause` or `drain`: whether the swarm schedules
     * service tasks there. Plain containers of this library are not affected.
     * Changed in place.
     */
    availability?: pulumi.Input<SwarmAvailability>;
}

export interface SwarmArgs {
    /**
     * The hosts of the swarm, each once. The first makes the swarm (`docker
     * swarm init`) and must stay first: making another host first replaces
     * the swarm, and with it its overlay networks and their containers.
     * Adding a host joins it in place; removing one drains it, makes it leave
     * and removes it from the swarm's node list.
     */
    nodes: SwarmNodeArgs[];
    /** `--data-path-port`: UDP port of the overlays' VXLAN, 1024-49151. Default 4789. Changing it replaces the swarm. */
    dataPathPort?: pulumi.Input<number>;
    /**
     * `--default-addr-pool`: where Docker takes an overlay's subnet when it is
     * given none. Default Docker's, 10.0.0.0/8 (the ingress network takes
     * 10.0.0.0/24 of it on every node). Changing it replaces the swarm.
     */
    defaultAddrPool?: pulumi.Input<pulumi.Input<string>[]>;
    /** `--default-addr-pool-mask-length`: the prefix of those subnets. Default 24. Changing it replaces the swarm. */
    subnetSize?: pulumi.Input<number>;
}

/** The key of a host among a swarm's nodes: its name, `local` for this machine. */
function hostKey(host: ResolvedHost | undefined): string {
    return host?.name ?? "local";
}

/** The default advertise address: the host's SSH address when it is an IPv4 address. */
function defaultAdvertise(host: ResolvedHost | undefined): pulumi.Input<string> | undefined {
    return sshIPv4Of(host);
}

/**
 * A Docker swarm over several hosts: the first node initializes it, the
 * others join as managers or workers; overlay Networks (`swarm: this`) span
 * it, and Containers on any of its hosts join them.
 *
 * ```ts
 * const sw = new Swarm("sw", { nodes: [{ host: b }, { host: c }, { host: d, labels: { zone: "east" } }] });
 * const ov = new Network("ov", { swarm: sw, subnet: "10.90.0.0/24" });
 * new Container("c-api", { image, command, network: { mode: "networks", networks: [{ network: ov, ipv4Address: "10.90.0.10", aliases: ["api"] }] } }, { parent: c });
 * ```
 */
export class Swarm extends pulumi.ComponentResource {
    /** The Swarm resource's name. */
    public readonly swarmName: string;
    /** The swarm's id (`docker info`'s Cluster.ID). */
    public readonly clusterId: pulumi.Output<string>;
    /** The host of the first manager, where overlay networks are made (undefined: this machine). */
    public readonly manager: ResolvedHost | undefined;
    /** The host of every node, in the order of `nodes`. */
    public readonly hosts: (ResolvedHost | undefined)[];
    /** Each node, by its host's name (`local` for this machine). */
    public readonly nodes: Record<string, SwarmNode> = {};
    /** The swarm's node ids, by host name. */
    public readonly nodeIds: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: SwarmArgs, opts?: pulumi.ComponentResourceOptions) {
        const what = `Swarm "${name}"`;
        if (typeof args !== "object" || args === null || !Array.isArray(args.nodes) || args.nodes.length === 0) {
            refuse(what, ["`nodes` must list the swarm's hosts, the first making the swarm: [{ host: b }, { host: c }, ...]"]);
        }
        const reasons: string[] = [];
        const hosts = args.nodes.map((n, i) => resolveHost(`${what} (nodes[${i}])`, n?.host, undefined));
        const seen = new Map<string, number>();
        hosts.forEach((h, i) => {
            const key = hostKey(h);
            if (seen.has(key))
                reasons.push(
                    `\`nodes[${i}]\` is ${h ? `host ${h.name}` : "this machine"} again (as \`nodes[${seen.get(key)}]\`); a host is one node`,
                );
            seen.set(key, i);
        });
        args.nodes.forEach((n, i) => {
            if (n.role !== undefined && !SWARM_ROLES.includes(n.role))
                reasons.push(`\`nodes[${i}].role\` must be manager or worker; got ${JSON.stringify(n.role)}`);
            if (n.advertiseAddress === undefined && defaultAdvertise(hosts[i]) === undefined) {
                reasons.push(
                    `\`nodes[${i}].advertiseAddress\` is required: ${hosts[i] ? `host ${hosts[i]!.name}'s ssh.host is no IPv4 address` : "this machine has no SSH address to take it from"}; give the node's address on the network the hosts reach each other on`,
                );
            }
        });
        if (args.nodes[0]?.role === "worker") {
            reasons.push(
                "`nodes[0].role` is worker, but the first node makes the swarm (`docker swarm init`) and must be a manager; list a manager first",
            );
        }
        if (reasons.length > 0) refuse(what, reasons);

        programFramesOnly();
        super("hostnet:index:Swarm", name, {}, opts);
        this.swarmName = name;
        this.hosts = hosts;
        this.manager = hosts[0];
        const first = args.nodes[0];
        const clusterInputs = {
            advertiseAddress: first.advertiseAddress ?? defaultAdvertise(hosts[0])!,
            dataPathAddress: first.dataPathAddress,
            listenAddress: first.listenAddress,
            dataPathPort: args.dataPathPort,
            defaultAddrPool: args.defaultAddrPool,
            subnetSize: args.subnetSize,
            owner: ownerOf("SwarmCluster", name, this.manager?.name),
            ...(this.manager ? { host: this.manager.input } : {}),
        };
        checkPromptly(what, clusterInputs, checkSwarmClusterInputs);
        const cluster = new SwarmCluster(name, clusterInputs, { parent: this });
        this.clusterId = cluster.clusterId;

        const ref = {
            clusterId: cluster.clusterId,
            joinAddress: cluster.joinAddress,
            workerToken: cluster.workerToken,
            managerToken: cluster.managerToken,
            ...(this.manager ? { manager: this.manager.input } : {}),
        };
        args.nodes.forEach((n, i) => {
            const host = hosts[i];
            const nodeName = `${name}-${hostKey(host)}`;
            const inputs = {
                swarm: ref,
                init: i === 0,
                role: n.role ?? (i === 0 ? "manager" : "worker"),
                advertiseAddress: i === 0 ? clusterInputs.advertiseAddress : (n.advertiseAddress ?? defaultAdvertise(host)),
                dataPathAddress: n.dataPathAddress,
                listenAddress: n.listenAddress,
                labels: n.labels ?? {},
                availability: n.availability ?? "active",
                owner: ownerOf("SwarmNode", nodeName, host?.name),
                ...(host ? { host: host.input } : {}),
            };
            checkPromptly(`${what} (node of ${host ? `host ${host.name}` : "this machine"})`, inputs, checkSwarmNodeInputs);
            this.nodes[hostKey(host)] = new SwarmNode(nodeName, inputs, { parent: this });
        });
        this.nodeIds = pulumi.all(Object.fromEntries(Object.entries(this.nodes).map(([k, node]) => [k, node.nodeId])));
        this.registerOutputs({ clusterId: this.clusterId, nodeIds: this.nodeIds });
    }

    /** The node of `host` (a host's name; undefined: this machine), if the host is one of the swarm's. */
    nodeOf(host: string | undefined): SwarmNode | undefined {
        return this.nodes[host ?? "local"];
    }
}

/** `docker swarm init` on the first manager: the swarm itself, with its join tokens (secret outputs). */
export class SwarmCluster extends pulumi.CustomResource {
    declare readonly clusterId: pulumi.Output<string>;
    declare readonly nodeId: pulumi.Output<string>;
    declare readonly joinAddress: pulumi.Output<string>;
    declare readonly workerToken: pulumi.Output<string>;
    declare readonly managerToken: pulumi.Output<string>;

    constructor(name: string, inputs: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) {
        super(
            ...engineResource(
                "SwarmCluster",
                name,
                {
                    clusterId: undefined,
                    nodeId: undefined,
                    joinAddress: undefined,
                    workerToken: undefined,
                    managerToken: undefined,
                    ...inputs,
                },
                { ...opts, additionalSecretOutputs: ["workerToken", "managerToken"] },
            ),
        );
    }
}

/** One host's membership of a swarm: joined, labelled, and drained and removed when it goes. */
export class SwarmNode extends pulumi.CustomResource {
    declare readonly nodeId: pulumi.Output<string>;
    /** As the managers see the node: `ready`, `down`, ...; `left` when its engine is no longer in the swarm. */
    declare readonly state: pulumi.Output<string>;
    declare readonly role: pulumi.Output<SwarmRole>;

    constructor(name: string, inputs: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) {
        // The join tokens ride in `swarm`: secret in the state, as they are in the cluster's.
        super(
            ...engineResource(
                "SwarmNode",
                name,
                { nodeId: undefined, state: undefined, ...inputs },
                { ...opts, additionalSecretOutputs: ["swarm"] },
            ),
        );
    }
}
