// Topology: a lab described as data, in the spirit of containerlab's topology
// file: nodes (containers with an image, a command and a `--net` mode),
// Docker networks, Linux bridges, veth links between nodes, and attachments of
// nodes to bridges or networks; on one host or several (`hosts`, and VXLAN
// links between bridges of two hosts). One component expands it into this
// library's resources, with names derived from the data alone, so the same
// data always gives the same URNs.
//
// Program side: runs in the user's Pulumi program. The YAML parser is loaded
// here only, and only when a topology is read from a file (72 modules that a
// program without one does not pay for); the engine never sees a topology,
// only the resources it expands to.

import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type * as Yaml from "yaml";
import { containerModeRefusal, ModeUse, modeRefusal, NetMode } from "../common/modes";
import { familyOf, parseCidr } from "../common/address";
import {
    checkBoolean,
    checkCidr,
    checkCidrList,
    checkContainerName,
    checkHostNames,
    checkIfName,
    checkImage,
    checkIPv4,
    checkIPv6,
    checkLabels,
    checkMtu,
    checkPorts,
    checkRestartPolicy,
    checkStringArray,
    checkSubnet,
    inSubnet,
} from "../common/validation";
import { MAX_VNI } from "../common/specs/vxlanLink";
import { Bridge } from "./bridge";
import { Container, ContainerNetwork } from "./container";
import { HostRef, hostOfRef, sshIPv4Of } from "./host";
import { Network } from "./network";
import { NetworkAttachment } from "./networkAttachment";
import { refuse } from "./promptCheck";
import { VethAttachment } from "./vethAttachment";
import { VethLink } from "./vethLink";
import { VxlanLink } from "./vxlanLink";
import { programFramesOnly } from "./declarationSite";

/** A container of the topology. */
export interface TopologyNode {
    /** Image reference, present locally. Required here or in `defaults`. */
    image?: string;
    /** Command and arguments, as a list. Default: `defaults.command`, else the image's. */
    command?: string[];
    /** Environment, as `KEY=value`. Default: `defaults.env`. */
    env?: string[];
    /**
     * `docker run --net`: `none` (default), `bridge`, `host`, `container:<node>`
     * (another node of this topology), or the name of one of the topology's `networks`.
     */
    net?: string;
    /** Static IPv4 address on `net`'s network (only when `net` names a network). */
    ipv4Address?: string;
    /** Static IPv6 address on `net`'s network (only when `net` names a network with an IPv6 subnet). */
    ipv6Address?: string;
    /** DNS aliases on `net`'s network (only when `net` names a network). */
    aliases?: string[];
    /** Published ports, `[host_ip:]host_port:container_port[/proto]`; not with `host` or `container:`. */
    ports?: string[];
    /** `no`, `always`, `unless-stopped`, `on-failure[:N]`. Default: `defaults.restartPolicy`. */
    restartPolicy?: string;
    /** Labels (names under `io.hostnet.` are reserved). Default: `defaults.labels`. */
    labels?: Record<string, string>;
    /** Docker container name. Default `hn-<stack>-<topology>-<node>`. */
    name?: string;
    /** The host it runs on: a key of the Topology's `hosts`. Default: the Topology's `host`. */
    host?: string;
}

/** What a node leaves out is taken from here. */
export interface TopologyDefaults {
    image?: string;
    command?: string[];
    env?: string[];
    restartPolicy?: string;
    labels?: Record<string, string>;
}

/** A user-defined Docker network (see `NetworkArgs`). */
export interface TopologyNetwork {
    name?: string;
    subnet?: string;
    gateway?: string;
    ipRange?: string;
    /** IPv6 on the network (default: on with `ipv6Subnet`). */
    enableIpv6?: boolean;
    /** IPv6 subnet, e.g. `fd17:40::/64`. */
    ipv6Subnet?: string;
    ipv6Gateway?: string;
    ipv6Range?: string;
    bridgeName?: string;
    internal?: boolean;
    icc?: boolean;
    masquerade?: boolean;
    mtu?: number;
    labels?: Record<string, string>;
    /** The host it is made on: a key of the Topology's `hosts`. Default: the Topology's `host`. */
    host?: string;
}

/** A Linux bridge, created or adopted (see `BridgeArgs`). */
export interface TopologyBridge {
    name?: string;
    /** Its own addresses, IPv4 and IPv6, with prefix lengths. */
    addresses?: string[];
    mtu?: number;
    stp?: boolean;
    vlanFiltering?: boolean;
    up?: boolean;
    /** Accept forwarding between its ports in the firewall (default true; see `BridgeArgs.forward`). */
    forward?: boolean;
    /** The host it is made on: a key of the Topology's `hosts`. Default: the Topology's `host`. */
    host?: string;
}

/**
 * A VXLAN tunnel between two bridges of the topology on two hosts (a
 * VxlanLink): what is attached to either is on one L2 segment. Attachments
 * on those bridges get the tunnel's MTU unless they set one.
 */
export interface TopologyVxlan {
    /** The two bridges, by their names in `bridges`, on two hosts. */
    bridges: [string, string];
    /** VXLAN network identifier, 1-16777215. */
    vni: number;
    /** Each host's underlay address, in the order of `bridges`. Default: each host's SSH address (when it is an IPv4 address). */
    underlay?: [string, string];
    /** UDP port. Default 4789. */
    port?: number;
    /** MTU of both devices. Default: the underlay's minus 50. */
    mtu?: number;
}

/** A veth pair straight between two nodes, as containerlab writes links: `["a:eth1", "b:eth1"]`. */
export interface TopologyLink {
    endpoints: [string, string];
    /**
     * The two ends' addresses with prefix lengths, in the order of
     * `endpoints`: one address each (`["10.30.0.1/30", "10.30.0.2/30"]`), or a
     * list each for dual-stack (`[["10.30.0.1/30", "fd17:30::1/64"],
     * ["10.30.0.2/30", "fd17:30::2/64"]]`).
     */
    addresses?: [string | string[], string | string[]];
    mtu?: number;
}

/**
 * A node's interface on a bridge (a veth pair: `bridge`, `address`, ...) or a
 * node's connection to a network of the topology (`network`, `ipv4Address`, `aliases`).
 */
export interface TopologyAttachment {
    node: string;
    /** A bridge of the topology, a network of the topology (its Linux bridge), or an existing bridge such as `docker0`. */
    bridge?: string;
    /** Address with prefix length, IPv4 or IPv6 (bridge attachments; this or `addresses` is required there). */
    address?: string;
    /** Addresses with prefix lengths, IPv4 and IPv6, for dual-stack (bridge attachments; instead of `address`). */
    addresses?: string[];
    /** Interface name in the container (bridge attachments). Default `eth0`. */
    ifName?: string;
    gateway?: string;
    ipv6Gateway?: string;
    defaultRoute?: boolean;
    mtu?: number;
    /** A network of the topology to connect the node to, without recreating it (Docker's `network connect`). */
    network?: string;
    ipv4Address?: string;
    ipv6Address?: string;
    aliases?: string[];
}

/** A whole topology. */
export interface TopologySpec {
    /** Prefix of every resource name. Default: the Topology resource's name. */
    name?: string;
    defaults?: TopologyDefaults;
    nodes: Record<string, TopologyNode>;
    networks?: Record<string, TopologyNetwork>;
    bridges?: Record<string, TopologyBridge>;
    links?: TopologyLink[];
    attachments?: TopologyAttachment[];
    /** VXLAN tunnels between bridges on two hosts. */
    vxlan?: TopologyVxlan[];
}

export interface TopologyArgs {
    /** The topology as data. Give this or `file`. */
    spec?: TopologySpec;
    /**
     * A YAML file holding the topology, relative to the program's working
     * directory (the folder of Pulumi.yaml). Give this or `spec`.
     */
    file?: string;
    /**
     * Values for `${name}` in the topology's strings, as containerlab expands
     * variables in its files; `${name:=default}` gives a default. A string that
     * is exactly one `${name}` takes the value with its type (a number stays a number).
     */
    vars?: Record<string, string | number | boolean>;
    /**
     * Where everything of the topology lives: a Host, or `{ name?, ssh }`.
     * Default: the nearest Host among the Topology's parents, else this
     * machine. With `hosts`, what names no host of its own.
     */
    host?: HostRef;
    /**
     * Several hosts, by the names the topology's nodes, networks and bridges
     * give in their `host` field (`nodes: { web: { host: b } }`). Links and
     * attachments join things of one host; `vxlan` joins bridges of two.
     */
    hosts?: Record<string, HostRef>;
}

/** The resource names a topology expands to, from its data alone. */
export const topologyNames = {
    node: (prefix: string, node: string) => `${prefix}-${node}`,
    network: (prefix: string, network: string) => `${prefix}-${network}`,
    bridge: (prefix: string, bridge: string) => `${prefix}-${bridge}`,
    link: (prefix: string, a: Endpoint, b: Endpoint) => `${prefix}-${a.node}-${a.ifName}-${b.node}-${b.ifName}`,
    vethAttachment: (prefix: string, node: string, ifName: string) => `${prefix}-${node}-${ifName}`,
    networkAttachment: (prefix: string, node: string, network: string) => `${prefix}-${node}-${network}`,
    vxlan: (prefix: string, a: string, b: string) => `${prefix}-vxlan-${a}-${b}`,
};

/**
 * A lab described as data (a plain object, or a YAML file), expanded into
 * Containers, Networks, Bridges, VethLinks, VethAttachments and
 * NetworkAttachments named `<topology>-<node>`, `<topology>-<network>`,
 * `<topology>-<bridge>`, `<topology>-<a>-<ifA>-<b>-<ifB>`,
 * `<topology>-<node>-<ifName>` and `<topology>-<node>-<network>`. The data is
 * checked whole when the program runs: every mistake is listed at once, each
 * naming the node (or network, bridge, link, attachment) and the field.
 */
export class Topology extends pulumi.ComponentResource {
    /** The prefix of every resource name. */
    public readonly prefix: string;
    /** The nodes' Containers, by node name. */
    public readonly nodes: Record<string, Container> = {};
    /** The Networks, by their name in the topology. */
    public readonly networks: Record<string, Network> = {};
    /** The Bridges, by their name in the topology. */
    public readonly bridges: Record<string, Bridge> = {};
    /** The VethLinks, by resource name. */
    public readonly links: Record<string, VethLink> = {};
    /** The VethAttachments and NetworkAttachments, by resource name. */
    public readonly attachments: Record<string, VethAttachment | NetworkAttachment> = {};
    /** The VxlanLinks between hosts, by resource name. */
    public readonly vxlanLinks: Record<string, VxlanLink> = {};
    private readonly hostRefs: Record<string, HostRef>;
    private readonly defaultHost?: HostRef;

    constructor(name: string, args: TopologyArgs, opts?: pulumi.ComponentResourceOptions) {
        const what = args.file === undefined ? `Topology "${name}"` : `Topology "${name}" (${args.file})`;
        const spec = loadTopology(what, args);
        // Each host checked now, so that a bad one names the topology.
        for (const [key, ref] of Object.entries(args.hosts ?? {})) hostOfRef(`${what} (hosts.${key})`, ref);
        hostOfRef(`${what} (host)`, args.host);
        programFramesOnly();
        super("hostnet:index:Topology", name, {}, opts);
        this.prefix = spec.name ?? name;
        this.hostRefs = args.hosts ?? {};
        this.defaultHost = args.host;
        this.expand(spec, { parent: this }, what);
        this.registerOutputs({
            containers: Object.fromEntries(Object.entries(this.nodes).map(([k, c]) => [k, c.containerName])),
        });
    }

    /** The host of an item that names `key` (undefined: the topology's own host). */
    private hostOf(key: string | undefined): HostRef | undefined {
        return key === undefined ? this.defaultHost : this.hostRefs[key];
    }

    private expand(spec: TopologySpec, opts: pulumi.CustomResourceOptions, what: string): void {
        const p = this.prefix;
        for (const [key, n] of Object.entries(spec.networks ?? {})) {
            const { host, ...args } = n ?? {};
            this.networks[key] = new Network(topologyNames.network(p, key), { ...args, host: this.hostOf(host) }, opts);
        }
        for (const [key, b] of Object.entries(spec.bridges ?? {})) {
            const { host, ...args } = b ?? {};
            this.bridges[key] = new Bridge(topologyNames.bridge(p, key), { ...args, host: this.hostOf(host) }, opts);
        }
        // Tunnels first: attachments on their bridges take their MTU.
        const tunnelMtu = new Map<string, pulumi.Output<number>>();
        for (const v of spec.vxlan ?? []) {
            const [a, b] = v.bridges;
            const underlay = (i: 0 | 1) => {
                const key = (spec.bridges?.[v.bridges[i]] ?? {}).host;
                const address = v.underlay?.[i] ?? sshIPv4Of(hostOfRef(what, this.hostOf(key)));
                if (address === undefined) {
                    refuse(what, [
                        `\`vxlan\` ${a} - ${b}: \`underlay[${i}]\` is required: ${key === undefined ? "this machine" : `host ${key}`} has no IPv4 SSH address to take it from`,
                    ]);
                }
                return address;
            };
            const name = topologyNames.vxlan(p, a, b);
            const link = new VxlanLink(
                name,
                {
                    vni: v.vni,
                    port: v.port,
                    mtu: v.mtu,
                    a: { bridge: this.bridges[a], underlay: underlay(0) },
                    b: { bridge: this.bridges[b], underlay: underlay(1) },
                },
                opts,
            );
            this.vxlanLinks[name] = link;
            for (const br of [a, b]) if (!tunnelMtu.has(br)) tunnelMtu.set(br, link.effectiveMtu);
        }
        const defaults = spec.defaults ?? {};
        const makeNode = (key: string): Container => {
            const existing = this.nodes[key];
            if (existing) return existing;
            const n = spec.nodes[key] ?? {};
            const container = new Container(
                topologyNames.node(p, key),
                {
                    image: (n.image ?? defaults.image)!,
                    name: n.name,
                    command: n.command ?? defaults.command,
                    env: n.env ?? defaults.env,
                    network: this.networkOf(n, makeNode),
                    ports: n.ports,
                    restartPolicy: n.restartPolicy ?? defaults.restartPolicy,
                    labels: n.labels ?? defaults.labels,
                    host: this.hostOf(n.host),
                },
                opts,
            );
            this.nodes[key] = container;
            return container;
        };
        for (const key of Object.keys(spec.nodes)) makeNode(key);

        // Links and attachments are on their nodes' host.
        const nodeHost = (key: string) => this.hostOf(spec.nodes[key]?.host);
        for (const link of spec.links ?? []) {
            const [a, b] = link.endpoints.map(parseEndpoint) as [Endpoint, Endpoint];
            const name = topologyNames.link(p, a, b);
            // One address an end, or a list of them (dual-stack).
            const addressing = (given: string | string[] | undefined) => (Array.isArray(given) ? { addresses: given } : { address: given });
            this.links[name] = new VethLink(
                name,
                {
                    a: { container: this.nodes[a.node], ifName: a.ifName, ...addressing(link.addresses?.[0]) },
                    b: { container: this.nodes[b.node], ifName: b.ifName, ...addressing(link.addresses?.[1]) },
                    mtu: link.mtu,
                    host: nodeHost(a.node),
                },
                opts,
            );
        }
        for (const at of spec.attachments ?? []) {
            if (at.network !== undefined) {
                const name = topologyNames.networkAttachment(p, at.node, at.network);
                this.attachments[name] = new NetworkAttachment(
                    name,
                    {
                        container: this.nodes[at.node],
                        network: this.networks[at.network],
                        ipv4Address: at.ipv4Address,
                        ipv6Address: at.ipv6Address,
                        aliases: at.aliases,
                        host: nodeHost(at.node),
                    },
                    opts,
                );
            } else {
                const ifName = at.ifName ?? "eth0";
                const name = topologyNames.vethAttachment(p, at.node, ifName);
                const bridge = at.bridge!;
                this.attachments[name] = new VethAttachment(
                    name,
                    {
                        container: this.nodes[at.node],
                        bridge: this.bridges[bridge] ?? this.networks[bridge] ?? bridge,
                        address: at.address,
                        addresses: at.addresses,
                        containerIfName: ifName,
                        gateway: at.gateway,
                        ipv6Gateway: at.ipv6Gateway,
                        defaultRoute: at.defaultRoute,
                        mtu: at.mtu ?? tunnelMtu.get(bridge),
                        host: nodeHost(at.node),
                    },
                    opts,
                );
            }
        }
    }

    private networkOf(n: TopologyNode, makeNode: (key: string) => Container): ContainerNetwork {
        const net = n.net ?? "none";
        if (net === "none" || net === "bridge" || net === "host") return { mode: net };
        if (net.startsWith("container:")) return { mode: "container", container: makeNode(net.slice("container:".length)) };
        return {
            mode: "networks",
            networks: [{ network: this.networks[net], ipv4Address: n.ipv4Address, ipv6Address: n.ipv6Address, aliases: n.aliases }],
        };
    }
}

interface Endpoint {
    node: string;
    ifName: string;
}

function parseEndpoint(text: string): Endpoint {
    const at = text.indexOf(":");
    return { node: text.slice(0, at), ifName: text.slice(at + 1) };
}

/** The topology of `args`, read, expanded and checked; throws listing every mistake. */
function loadTopology(what: string, args: TopologyArgs): TopologySpec {
    if ((args.spec === undefined) === (args.file === undefined)) {
        throw new Error(`invalid ${what}:\n  - give exactly one of \`spec\` (the topology as data) and \`file\` (a YAML file)`);
    }
    const raw = args.file !== undefined ? readTopologyFile(args.file) : args.spec;
    const failures: string[] = [];
    const data = substitute(raw, "", args.vars ?? {}, failures);
    if (failures.length === 0) failures.push(...checkTopology(data, Object.keys(args.hosts ?? {})));
    if (failures.length > 0) throw new Error(`invalid ${what}:\n${failures.map((f) => `  - ${f}`).join("\n")}`);
    return data as TopologySpec;
}

function readTopologyFile(file: string): unknown {
    const path = resolve(file);
    let text: string;
    try {
        text = readFileSync(path, "utf8");
    } catch (err) {
        const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message;
        throw new Error(
            `failed to read topology file ${JSON.stringify(file)} (${path}): ${why}; paths are relative to the program's folder (where Pulumi.yaml is)`,
        );
    }
    // Loaded here, when a file is read: see the top of this file.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { parseDocument } = require("yaml") as typeof Yaml;
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
        const why = doc.errors.map((e) => e.message.split("\n")[0].replace(/:$/, "")).join("; ");
        throw new Error(`failed to read topology file ${JSON.stringify(file)}: ${why}; fix the YAML there`);
    }
    return doc.toJS();
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::=([^}]*))?\}/g;

/** Expands `${name}` and `${name:=default}` in every string of `value`. */
function substitute(value: unknown, path: string, vars: Record<string, string | number | boolean>, failures: string[]): unknown {
    if (typeof value === "string") {
        const whole = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::=([^}]*))?\}$/.exec(value);
        if (whole && whole[1] in vars) return vars[whole[1]];
        return value.replace(VAR, (text, name: string, fallback: string | undefined) => {
            if (name in vars) return String(vars[name]);
            if (fallback !== undefined) return fallback;
            failures.push(
                `\`${path}\` uses ${text}, which \`vars\` does not define; pass it in \`vars\` or give a default, like \${${name}:=value}`,
            );
            return text;
        });
    }
    if (Array.isArray(value)) return value.map((v, i) => substitute(v, `${path}[${i}]`, vars, failures));
    if (isPlainObject(value)) {
        return Object.fromEntries(
            Object.entries(value).map(([k, v]) => [k, substitute(v, path === "" ? k : `${path}.${k}`, vars, failures)]),
        );
    }
    return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
    return JSON.stringify(value) ?? String(value);
}

type Rule = (field: string, value: unknown) => string | undefined;

const checkString: Rule = (field, value) =>
    typeof value === "string" && value !== "" ? undefined : `\`${field}\` must be a non-empty string; got ${show(value)}`;

const NODE_RULES: Record<string, Rule> = {
    image: checkImage,
    command: checkStringArray,
    env: checkStringArray,
    net: checkString,
    ipv4Address: checkIPv4,
    ipv6Address: checkIPv6,
    aliases: checkHostNames,
    ports: checkPorts,
    restartPolicy: checkRestartPolicy,
    labels: checkLabels,
    name: checkContainerName,
    host: checkString,
};
const DEFAULTS_RULES: Record<string, Rule> = {
    image: checkImage,
    command: checkStringArray,
    env: checkStringArray,
    restartPolicy: checkRestartPolicy,
    labels: checkLabels,
};
const NETWORK_RULES: Record<string, Rule> = {
    name: checkContainerName,
    subnet: checkSubnet,
    gateway: checkIPv4,
    ipRange: checkSubnet,
    enableIpv6: checkBoolean,
    ipv6Subnet: (field, value) => checkSubnet(field, value, 6),
    ipv6Gateway: checkIPv6,
    ipv6Range: (field, value) => checkSubnet(field, value, 6),
    bridgeName: checkIfName,
    internal: checkBoolean,
    icc: checkBoolean,
    masquerade: checkBoolean,
    mtu: checkMtu,
    labels: checkLabels,
    host: checkString,
};
const BRIDGE_RULES: Record<string, Rule> = {
    name: checkIfName,
    addresses: checkCidrList,
    mtu: checkMtu,
    stp: checkBoolean,
    vlanFiltering: checkBoolean,
    up: checkBoolean,
    forward: checkBoolean,
    host: checkString,
};
const LINK_RULES: Record<string, Rule> = {
    endpoints: (field, value) =>
        Array.isArray(value) && value.length === 2
            ? undefined
            : `\`${field}\` must list two endpoints as "node:interface", like ["a:eth1", "b:eth1"]; got ${show(value)}`,
    addresses: (field, value) =>
        Array.isArray(value) && value.length === 2
            ? ([0, 1] as const)
                  .map((i) => (Array.isArray(value[i]) ? checkCidrList(`${field}[${i}]`, value[i]) : checkCidr(`${field}[${i}]`, value[i])))
                  .find((r) => r !== undefined)
            : `\`${field}\` must list the two ends' addresses, an address or a list of them each, like ["10.30.0.1/30", "10.30.0.2/30"] or [["10.30.0.1/30", "fd17:30::1/64"], ["10.30.0.2/30", "fd17:30::2/64"]]; got ${show(value)}`,
    mtu: checkMtu,
};
const VETH_ATTACHMENT_FIELDS = ["bridge", "address", "addresses", "ifName", "gateway", "ipv6Gateway", "defaultRoute", "mtu"];
const NETWORK_ATTACHMENT_FIELDS = ["network", "ipv4Address", "ipv6Address", "aliases"];
const ATTACHMENT_RULES: Record<string, Rule> = {
    node: checkString,
    bridge: checkIfName,
    address: checkCidr,
    addresses: (field, value) => checkCidrList(field, value, { nonEmpty: true }),
    ifName: checkIfName,
    gateway: checkIPv4,
    ipv6Gateway: checkIPv6,
    defaultRoute: checkBoolean,
    mtu: checkMtu,
    network: checkString,
    ipv4Address: checkIPv4,
    ipv6Address: checkIPv6,
    aliases: checkHostNames,
};
const TOP_RULES: Record<string, Rule> = {
    name: (field, value) =>
        typeof value === "string" && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(value)
            ? undefined
            : `\`${field}\` must be a name of letters, digits, '_', '.' and '-'; got ${show(value)}`,
    defaults: () => undefined,
    nodes: () => undefined,
    networks: () => undefined,
    bridges: () => undefined,
    links: () => undefined,
    attachments: () => undefined,
    vxlan: () => undefined,
};

const VXLAN_RULES: Record<string, Rule> = {
    bridges: (field, value) =>
        Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "string")
            ? undefined
            : `\`${field}\` must name two bridges of this topology on two hosts, like ["b-br", "c-br"]; got ${show(value)}`,
    vni: (field, value) =>
        typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= MAX_VNI
            ? undefined
            : `\`${field}\` must be an integer from 1 to ${MAX_VNI}; got ${show(value)}`,
    underlay: (field, value) =>
        Array.isArray(value) && value.length === 2
            ? (checkIPv4(`${field}[0]`, value[0]) ?? checkIPv4(`${field}[1]`, value[1]))
            : `\`${field}\` must list the two hosts' underlay addresses, like ["10.0.0.2", "10.0.0.3"]; got ${show(value)}`,
    port: (field, value) =>
        typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 65535
            ? undefined
            : `\`${field}\` must be a UDP port, 1-65535; got ${show(value)}`,
    mtu: checkMtu,
};

/** Checks the fields of one object against `rules`: unknown fields, then each present field. */
function checkObject(path: string, value: unknown, rules: Record<string, Rule>, failures: string[]): value is Record<string, unknown> {
    if (!isPlainObject(value)) {
        failures.push(`\`${path}\` must be a map of ${Object.keys(rules).join(", ")}; got ${show(value)}`);
        return false;
    }
    for (const [field, v] of Object.entries(value)) {
        const at = path === "" ? field : `${path}.${field}`;
        const rule = rules[field];
        if (!rule) {
            failures.push(`\`${at}\` is not a field here; known fields: ${Object.keys(rules).join(", ")}`);
            continue;
        }
        if (v === undefined || v === null) continue;
        const reason = rule(at, v);
        if (reason) failures.push(reason);
    }
    return true;
}

function checkMap(path: string, value: unknown, each: (key: string, item: unknown) => void, failures: string[]): void {
    if (value === undefined || value === null) return;
    if (!isPlainObject(value)) {
        failures.push(`\`${path}\` must be a map of names to settings; got ${show(value)}`);
        return;
    }
    for (const [key, item] of Object.entries(value)) {
        if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(key)) {
            failures.push(`\`${path}.${key}\`: names may hold only letters, digits, '_', '.' and '-', starting with a letter or digit`);
            continue;
        }
        each(key, item ?? {});
    }
}

function checkList(path: string, value: unknown, each: (at: string, item: unknown) => void, failures: string[]): void {
    if (value === undefined || value === null) return;
    if (!Array.isArray(value)) {
        failures.push(`\`${path}\` must be a list; got ${show(value)}`);
        return;
    }
    value.forEach((item, i) => each(`${path}[${i}]`, item));
}

/**
 * Every mistake in a topology, each naming its place (`nodes.api.image`) and
 * what is allowed. `hosts`: the names the Topology's `hosts` gives (what the
 * `host` fields may name).
 */
export function checkTopology(data: unknown, hosts: readonly string[] = []): string[] {
    const failures: string[] = [];
    if (!checkObject("", data, TOP_RULES, failures)) return failures;
    const spec = data as Record<string, unknown>;
    const networks = isPlainObject(spec.networks) ? spec.networks : {};
    const bridges = isPlainObject(spec.bridges) ? spec.bridges : {};
    const nodes = isPlainObject(spec.nodes) ? spec.nodes : {};

    if (spec.defaults !== undefined && spec.defaults !== null) checkObject("defaults", spec.defaults, DEFAULTS_RULES, failures);
    const defaults = isPlainObject(spec.defaults) ? spec.defaults : {};

    checkMap("networks", spec.networks, (key, n) => checkObject(`networks.${key}`, n, NETWORK_RULES, failures), failures);
    checkMap("bridges", spec.bridges, (key, b) => checkObject(`bridges.${key}`, b, BRIDGE_RULES, failures), failures);
    for (const key of Object.keys(bridges)) {
        if (key in networks) {
            failures.push(
                `\`bridges.${key}\` and \`networks.${key}\` share a name: an attachment's \`bridge: ${key}\` would be ambiguous; rename one`,
            );
        }
    }

    // The mode each well-formed node declares, for the checks of links and attachments.
    const modes = new Map<string, { mode: NetMode; shown: string }>();
    if (spec.nodes === undefined || spec.nodes === null) failures.push("`nodes` is required: a map of node names to their settings");
    checkMap(
        "nodes",
        spec.nodes,
        (key, item) => {
            const at = `nodes.${key}`;
            if (!checkObject(at, item, NODE_RULES, failures)) return;
            const n = item as Record<string, unknown>;
            if (n.image === undefined && defaults.image === undefined) {
                failures.push(`\`${at}.image\` is required (or set \`defaults.image\`)`);
            }
            const net = typeof n.net === "string" ? n.net : n.net === undefined ? "none" : undefined;
            if (net === undefined) return;
            let mode: NetMode;
            if (net === "none" || net === "bridge" || net === "host") {
                mode = net;
            } else if (net.startsWith("container:")) {
                mode = "container";
                const target = net.slice("container:".length);
                if (target === key) {
                    failures.push(`\`${at}.net\` ${show(net)} names the node itself; name another node`);
                } else if (!(target in nodes)) {
                    failures.push(`\`${at}.net\` ${show(net)} names no node of this topology; nodes: ${Object.keys(nodes).join(", ")}`);
                } else {
                    const t = nodes[target];
                    const targetNet = (isPlainObject(t) ? t.net : undefined) ?? "none";
                    const targetMode = targetNet === "host" ? "host" : String(targetNet).startsWith("container:") ? "container" : undefined;
                    const reason = targetMode && containerModeRefusal("containerTarget", `${at}.net`, targetMode);
                    if (reason) failures.push(`${reason} (node ${target})`);
                }
            } else if (net in networks) {
                mode = "networks";
                const network = isPlainObject(networks[net]) ? networks[net] : {};
                for (const [field, subnetField, check] of [
                    ["ipv4Address", "subnet", checkIPv4],
                    ["ipv6Address", "ipv6Subnet", checkIPv6],
                ] as const) {
                    const address = n[field];
                    const subnet = network[subnetField];
                    if (typeof address !== "string" || check("", address)) continue;
                    if (field === "ipv6Address" && subnet === undefined && network.enableIpv6 !== true) {
                        failures.push(
                            `\`${at}.ipv6Address\` ${address}: network ${net} has no IPv6 subnet; give \`networks.${net}.ipv6Subnet\``,
                        );
                    } else if (typeof subnet === "string" && parseCidr(subnet) && !inSubnet(address, subnet)) {
                        failures.push(`\`${at}.${field}\` ${address} is outside \`networks.${net}.${subnetField}\` ${subnet}`);
                    }
                }
            } else {
                const known = Object.keys(networks);
                failures.push(
                    `\`${at}.net\` must be none, bridge, host, container:<node> or a network of this topology` +
                        `${known.length > 0 ? ` (${known.join(", ")})` : " (it defines none)"}; got ${show(net)}`,
                );
                return;
            }
            if (mode !== "networks") {
                for (const field of ["ipv4Address", "ipv6Address", "aliases"]) {
                    if (n[field] !== undefined) {
                        failures.push(`\`${at}.${field}\` applies only when \`net\` names a network; \`net\` is ${net}`);
                    }
                }
            }
            const portsWhy = n.ports !== undefined && Array.isArray(n.ports) && n.ports.length > 0 ? modeRefusal("ports", mode) : undefined;
            if (portsWhy) failures.push(`\`${at}.ports\` cannot be published with network mode ${net}: ${portsWhy}; remove \`ports\``);
            modes.set(key, { mode, shown: net });
        },
        failures,
    );

    // Each (node, interface) is made once, by one link or one attachment.
    const interfaces = new Map<string, string>();
    const claim = (node: string, ifName: string, by: string) => {
        const k = `${node}:${ifName}`;
        const first = interfaces.get(k);
        if (first)
            failures.push(`\`${by}\` puts interface ${ifName} in node ${node} again (\`${first}\` already does); choose another name`);
        else interfaces.set(k, by);
    };
    const checkNodeUse = (field: string, node: unknown, use: ModeUse): node is string => {
        if (typeof node !== "string" || !(node in nodes)) {
            failures.push(`\`${field}\` names no node of this topology: ${show(node)}; nodes: ${Object.keys(nodes).join(", ")}`);
            return false;
        }
        const m = modes.get(node);
        const reason = m && containerModeRefusal(use, field, m.mode);
        if (reason) failures.push(`${reason} (node ${node})`);
        return true;
    };

    checkList(
        "links",
        spec.links,
        (at, item) => {
            if (!checkObject(at, item, LINK_RULES, failures)) return;
            const link = item as Record<string, unknown>;
            if (link.endpoints === undefined) failures.push(`\`${at}.endpoints\` is required, like ["a:eth1", "b:eth1"]`);
            if (!Array.isArray(link.endpoints) || link.endpoints.length !== 2) return;
            const ends: string[] = [];
            link.endpoints.forEach((e, i) => {
                const field = `${at}.endpoints[${i}]`;
                const m = typeof e === "string" ? /^([^:]+):(.+)$/.exec(e) : null;
                if (!m) {
                    failures.push(`\`${field}\` must read "node:interface", like "a:eth1"; got ${show(e)}`);
                    return;
                }
                const ifReason = checkIfName(`${field}`, m[2]);
                if (ifReason) failures.push(`${ifReason} (the interface part)`);
                if (checkNodeUse(field, m[1], "vethLink") && !ifReason) claim(m[1], m[2], field);
                ends.push(m[1]);
            });
            if (ends.length === 2 && ends[0] === ends[1]) {
                failures.push(`\`${at}.endpoints\` joins node ${ends[0]} to itself; a link joins two nodes`);
            }
        },
        failures,
    );

    const connections = new Map<string, string>();
    checkList(
        "attachments",
        spec.attachments,
        (at, item) => {
            if (!checkObject(at, item, ATTACHMENT_RULES, failures)) return;
            const a = item as Record<string, unknown>;
            const toNetwork = a.network !== undefined;
            if (toNetwork === (a.bridge !== undefined)) {
                failures.push(
                    `\`${at}\` must give exactly one of \`bridge\` (a veth pair onto a bridge) and \`network\` (a Docker network connection)`,
                );
                return;
            }
            const misplaced = (toNetwork ? VETH_ATTACHMENT_FIELDS : NETWORK_ATTACHMENT_FIELDS).filter((f) => a[f] !== undefined);
            for (const f of misplaced) {
                failures.push(
                    `\`${at}.${f}\` applies to ${toNetwork ? "bridge" : "network"} attachments only; this one has \`${toNetwork ? "network" : "bridge"}\``,
                );
            }
            if (a.node === undefined) failures.push(`\`${at}.node\` is required: the node to attach`);
            const nodeOk = a.node !== undefined && checkNodeUse(`${at}.node`, a.node, toNetwork ? "networkAttachment" : "vethAttachment");
            if (toNetwork) {
                if (typeof a.network === "string" && !(a.network in networks)) {
                    failures.push(
                        `\`${at}.network\` names no network of this topology: ${show(a.network)}; networks: ${Object.keys(networks).join(", ") || "none"}`,
                    );
                } else if (nodeOk && typeof a.network === "string") {
                    const node = a.node as string;
                    const k = `${node}:${a.network}`;
                    if (modes.get(node)?.shown === a.network) {
                        failures.push(`\`${at}.network\` ${a.network} is already node ${node}'s \`net\`; remove this attachment`);
                    } else if (connections.has(k)) {
                        failures.push(`\`${at}\` connects node ${node} to ${a.network} again (\`${connections.get(k)}\` already does)`);
                    } else {
                        connections.set(k, at);
                    }
                }
            } else {
                if (a.address === undefined && a.addresses === undefined)
                    failures.push(
                        `\`${at}.address\` is required: the node's address on the bridge, like 10.20.0.2/24 (or \`addresses\`, for IPv4 and IPv6)`,
                    );
                if (a.address !== undefined && a.addresses !== undefined)
                    failures.push(
                        `\`${at}\`: give \`address\` or \`addresses\`, not both: \`addresses\` lists every address of the attachment`,
                    );
                const ifName = a.ifName ?? "eth0";
                if (nodeOk && typeof ifName === "string" && !checkIfName("", ifName)) claim(a.node as string, ifName, `${at}.ifName`);
                const bridge = typeof a.bridge === "string" ? bridges[a.bridge] : undefined;
                const bridgeAddresses = isPlainObject(bridge) ? bridge.addresses : undefined;
                const given: [string, unknown][] = Array.isArray(a.addresses)
                    ? a.addresses.map((v, i) => [`${at}.addresses[${i}]`, v])
                    : [[`${at}.address`, a.address]];
                for (const [field, cidr] of given) {
                    if (typeof cidr !== "string" || checkCidr("", cidr)) continue;
                    if (!Array.isArray(bridgeAddresses) || !bridgeAddresses.every((b) => typeof b === "string" && !checkCidr("", b)))
                        continue;
                    // Judged against the bridge's addresses of the same family, when it has any.
                    const theirs = (bridgeAddresses as string[]).filter((b) => familyOf(b) === familyOf(cidr));
                    if (theirs.length > 0 && !theirs.some((b) => inSubnet(cidr.split("/")[0], b))) {
                        failures.push(
                            `\`${field}\` ${cidr} is in none of \`bridges.${a.bridge}.addresses\` subnets (${theirs.join(", ")})`,
                        );
                    }
                }
            }
        },
        failures,
    );
    failures.push(...checkHostPlacement(spec, hosts));
    return failures;
}

/**
 * Where each thing of a topology lives, and what may join what: every `host`
 * names one of the Topology's `hosts`; a container shares a namespace, a
 * network, a veth link or a bridge only with things of its own host; a
 * `vxlan` link joins bridges of two hosts.
 */
function checkHostPlacement(spec: Record<string, unknown>, hosts: readonly string[]): string[] {
    const failures: string[] = [];
    const section = (k: string): Record<string, unknown> => (isPlainObject(spec[k]) ? (spec[k] as Record<string, unknown>) : {});
    const [nodes, networks, bridges] = [section("nodes"), section("networks"), section("bridges")];
    // Each item's host ("" for the topology's own), for the items that name a good one.
    const placed = new Map<string, string>();
    const place = (kind: string, items: Record<string, unknown>) => {
        for (const [key, item] of Object.entries(items)) {
            const h = isPlainObject(item) ? item.host : undefined;
            if (h === undefined || h === null) placed.set(`${kind}:${key}`, "");
            else if (typeof h === "string" && hosts.includes(h)) placed.set(`${kind}:${key}`, h);
            else if (typeof h === "string") {
                failures.push(
                    hosts.length === 0
                        ? `\`${kind}.${key}.host\` is ${show(h)}, but the Topology has no \`hosts\`; pass \`hosts: { ${h}: <a Host> }\`, or remove \`host\``
                        : `\`${kind}.${key}.host\` names no host of the Topology's \`hosts\` (${hosts.join(", ")}); got ${show(h)}`,
                );
            }
        }
    };
    place("nodes", nodes);
    place("networks", networks);
    place("bridges", bridges);
    const where = (h: string) => (h === "" ? "the topology's own host" : `host ${h}`);
    const apart = (a: string, b: string) => placed.has(a) && placed.has(b) && placed.get(a) !== placed.get(b);

    for (const [key, n] of Object.entries(nodes)) {
        const net = isPlainObject(n) && typeof n.net === "string" ? n.net : undefined;
        if (net?.startsWith("container:") && apart(`nodes:${key}`, `nodes:${net.slice(10)}`)) {
            failures.push(
                `\`nodes.${key}.net\` ${net} is on ${where(placed.get(`nodes:${net.slice(10)}`)!)}, but node ${key} is on ${where(placed.get(`nodes:${key}`)!)}: a shared namespace is on one host`,
            );
        } else if (net !== undefined && net in networks && apart(`nodes:${key}`, `networks:${net}`)) {
            failures.push(
                `\`nodes.${key}.net\` ${net} is a network of ${where(placed.get(`networks:${net}`)!)}, but node ${key} is on ${where(placed.get(`nodes:${key}`)!)}; put them on one host`,
            );
        }
    }
    (Array.isArray(spec.links) ? spec.links : []).forEach((l, i) => {
        const ends =
            isPlainObject(l) && Array.isArray(l.endpoints) ? l.endpoints.map((e) => (typeof e === "string" ? e.split(":")[0] : "")) : [];
        if (ends.length === 2 && apart(`nodes:${ends[0]}`, `nodes:${ends[1]}`)) {
            failures.push(
                `\`links[${i}]\` joins node ${ends[0]} (${where(placed.get(`nodes:${ends[0]}`)!)}) and node ${ends[1]} (${where(placed.get(`nodes:${ends[1]}`)!)}): a veth pair stays on one host; join their hosts' bridges with \`vxlan\` instead`,
            );
        }
    });
    (Array.isArray(spec.attachments) ? spec.attachments : []).forEach((a, i) => {
        if (!isPlainObject(a) || typeof a.node !== "string") return;
        const target =
            typeof a.network === "string"
                ? `networks:${a.network}`
                : typeof a.bridge === "string"
                  ? a.bridge in bridges
                      ? `bridges:${a.bridge}`
                      : `networks:${a.bridge}`
                  : "";
        if (target && apart(`nodes:${a.node}`, target)) {
            failures.push(
                `\`attachments[${i}]\` puts node ${a.node} (${where(placed.get(`nodes:${a.node}`)!)}) on ${target.replace(":", " ")} (${where(placed.get(target)!)}); attach a node to what is on its own host`,
            );
        }
    });
    checkList(
        "vxlan",
        spec.vxlan,
        (at, item) => {
            if (!checkObject(at, item, VXLAN_RULES, failures)) return;
            const v = item as Record<string, unknown>;
            for (const k of ["bridges", "vni"]) if (v[k] === undefined) failures.push(`\`${at}.${k}\` is required`);
            if (!Array.isArray(v.bridges) || v.bridges.length !== 2) return;
            const [a, b] = v.bridges as string[];
            for (const [j, br] of [a, b].entries()) {
                if (!(br in bridges)) {
                    failures.push(
                        `\`${at}.bridges[${j}]\` names no bridge of this topology: ${show(br)}; bridges: ${Object.keys(bridges).join(", ") || "none"}`,
                    );
                }
            }
            if (placed.has(`bridges:${a}`) && placed.get(`bridges:${a}`) === placed.get(`bridges:${b}`)) {
                failures.push(
                    `\`${at}.bridges\` ${a} and ${b} are both on ${where(placed.get(`bridges:${a}`)!)}: a VXLAN link joins bridges of two hosts (give them \`host\`s)`,
                );
            }
        },
        failures,
    );
    return failures;
}
