// Host: another machine the resources of a stack live on, reached over SSH.
// Every resource takes `host` (default: this machine, where Pulumi runs);
// a `Host` component passes it once to a group: resources created with
// `{ parent: host }` (or under a component whose parent it is) live there.
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { checkHost, SshSpec } from "../common/specs/host";
import { refuse } from "./promptCheck";
import { programFramesOnly } from "./declarationSite";

/** How to reach a host over SSH (common/specs/host.ts's `SshSpec`), each field a value or an Output. */
export type SshArgs = { [K in keyof SshSpec]: pulumi.Input<SshSpec[K]> };

export interface HostArgs {
    /**
     * The host's name in this stack: part of the owner mark of everything made
     * there and of each resource's identity (changing it replaces them). A
     * short name: letters, digits, '_', '.', '-'. Default: the Host
     * resource's name, or `ssh.host`.
     */
    name?: string;
    /** How to reach it. The docker CLI and `ip` must be installed there. */
    ssh: SshArgs;
}

/** The `host` input every resource registers: what the engine receives as common/specs/host.ts's `HostSpec` (`privateKey` a secret). */
export interface HostInput {
    name: string;
    ssh: SshArgs;
}

/** A host resolved for one resource: its name (for owner marks) and the input to register. */
export interface ResolvedHost {
    name: string;
    input: HostInput;
}

// The host of each resource of this library (and of each Host), for children and resources that refer to them.
const hostsByResource = new WeakMap<pulumi.Resource, ResolvedHost | undefined>();

/**
 * A resource that is on every host of a set, not on one: a swarm's overlay
 * network is joined from any of the swarm's nodes. Resources on one of those
 * hosts may refer to it; `member` gives what they must wait for there (the
 * host's SwarmNode: its engine joined the swarm).
 */
export interface HostSet {
    /** For messages: `an overlay of Swarm "sw"`. */
    what: string;
    /** The hosts' names (undefined: this machine). */
    hosts: (string | undefined)[];
    member(host: string | undefined): pulumi.Resource | undefined;
}

const hostSets = new WeakMap<object, HostSet>();

/** Records that a resource of this library is on every host of `set`. */
export function rememberHostSet(resource: pulumi.Resource, set: HostSet): void {
    hostSets.set(resource, set);
}

/** The host set of a resource (a swarm's overlay network), if it has one. */
export function hostSetOf(resource: unknown): HostSet | undefined {
    return typeof resource === "object" && resource !== null ? hostSets.get(resource) : undefined;
}

/** What resources of `host` that refer to `related` values must wait for on that host (a swarm node's join). */
export function hostSetMembers(host: ResolvedHost | undefined, related: unknown[]): pulumi.Resource[] {
    return related.flatMap((r) => {
        const m = hostSetOf(r)?.member(host?.name);
        return m ? [m] : [];
    });
}

/** Where a resource is: a Host, or `{ name?, ssh }`. Undefined: this machine. */
export type HostRef = HostArgs | Host;

/**
 * Another machine, reached over SSH, as a component: resources created with
 * `{ parent: host }` live there, unless they name a `host` of their own.
 *
 * ```ts
 * const b = new Host("b", { ssh: { host: "10.0.0.2", privateKeyPath: "/root/.ssh/id_ed25519", knownHostsPath: "/root/.ssh/known_hosts" } });
 * const br = new Bridge("br", { addresses: ["10.77.0.1/24"] }, { parent: b });
 * ```
 */
export class Host extends pulumi.ComponentResource {
    /** The host's name in this stack. */
    readonly hostName: string;
    /** What resources on this host register as their `host`. */
    readonly resolved: ResolvedHost;

    constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
        const resolved = hostInput(`Host "${name}"`, { ...args, name: args.name ?? name });
        programFramesOnly();
        super("hostnet:index:Host", name, {}, opts);
        this.hostName = resolved.name;
        this.resolved = resolved;
        hostsByResource.set(this, resolved);
        this.registerOutputs({ hostName: this.hostName });
    }
}

function isHost(value: unknown): value is Host {
    return value instanceof Host || (typeof value === "object" && value !== null && "resolved" in value && "hostName" in value);
}

/** The `host` input of `args`, checked now for what is known now. */
function hostInput(what: string, args: HostArgs): ResolvedHost {
    if (typeof args !== "object" || args === null || typeof args.ssh !== "object" || args.ssh === null) {
        refuse(what, ["`host` must be a Host, or { name?, ssh: { host, port?, user?, privateKeyPath?, knownHostsPath? } }"]);
    }
    const ssh = args.ssh;
    const name = args.name ?? (typeof ssh.host === "string" ? ssh.host : undefined);
    if (name === undefined) refuse(what, ["`host.name` is required when `host.ssh.host` is not a plain string"]);
    const plain = Object.fromEntries(
        Object.entries({ ...ssh, privateKey: ssh.privateKey === undefined ? undefined : "-----BEGIN PRIVATE KEY-----" }).filter(
            ([, v]) => v !== undefined && !pulumi.Output.isInstance(v) && !(v instanceof Promise),
        ),
    );
    const failures = checkHost("host", { name, ssh: { host: "x", ...plain } }, () => false);
    if (failures.length > 0)
        refuse(
            what,
            failures.map((f) => f.reason),
        );
    const spec = {
        host: ssh.host,
        port: ssh.port,
        user: ssh.user,
        privateKeyPath: ssh.privateKeyPath,
        // A key in the state is a secret, whatever the program passed.
        privateKey: ssh.privateKey === undefined ? undefined : pulumi.secret(ssh.privateKey),
        knownHostsPath: ssh.knownHostsPath,
        knownHosts: ssh.knownHosts,
    };
    const defined = Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined));
    return { name, input: { name, ssh: defined as HostInput["ssh"] } };
}

/** The host of one of this library's resources (or a Host), when it is known to this program. */
export function hostOfResource(resource: unknown): ResolvedHost | undefined {
    return typeof resource === "object" && resource !== null ? hostsByResource.get(resource as pulumi.Resource) : undefined;
}

/** The host a resource's parent chain names: the nearest Host, or resource of this library, above it (`found` false: none). */
function inheritedHost(parent: pulumi.Resource | undefined): { found: boolean; host?: ResolvedHost } {
    for (let r: pulumi.Resource | undefined = parent, depth = 0; r !== undefined && depth < 64; depth++) {
        if (hostsByResource.has(r)) return { found: true, host: hostsByResource.get(r) };
        // The SDK keeps each resource's parent here; a user's own components are walked through.
        r = (r as unknown as { __parentResource?: pulumi.Resource }).__parentResource;
    }
    return { found: false };
}

const where = (h: ResolvedHost | undefined) => (h ? `host ${h.name}` : "this machine");

/**
 * The host a new resource lives on: its own `host`, else the nearest Host (or
 * resource of this library) among its parents, else the host of the
 * resources it refers to (`related`: a Container, a Bridge), else this
 * machine. Refuses a resource that refers to resources of another host.
 */
export function resolveHost(
    what: string,
    host: HostRef | undefined,
    opts: { parent?: pulumi.Resource } | undefined,
    related: { field: string; value: unknown }[] = [],
): ResolvedHost | undefined {
    const known = related.filter(
        (r) => typeof r.value === "object" && r.value !== null && hostsByResource.has(r.value as pulumi.Resource) && !hostSets.has(r.value),
    );
    const shared = related.filter((r) => hostSetOf(r.value) !== undefined);
    let resolved: ResolvedHost | undefined;
    if (host !== undefined) {
        resolved = isHost(host) ? host.resolved : hostInput(what, host as HostArgs);
    } else {
        const inherited = inheritedHost(opts?.parent);
        // Nothing says where: follow what it refers to.
        resolved = inherited.found ? inherited.host : known.length > 0 ? hostOfResource(known[0].value) : undefined;
    }
    for (const r of known) {
        if (hostOfResource(r.value)?.name !== resolved?.name) {
            const reason =
                host === undefined && known[0] !== r && hostOfResource(known[0].value)?.name === resolved?.name
                    ? `\`${known[0].field}\` is on ${where(resolved)} but \`${r.field}\` is on ${where(hostOfResource(r.value))}; both must be on one host`
                    : `\`${r.field}\` is on ${where(hostOfResource(r.value))}, but this resource is on ${where(resolved)}; set \`host\` (or the parent Host) to match`;
            refuse(what, [reason]);
        }
    }
    for (const r of shared) {
        const set = hostSetOf(r.value)!;
        if (!set.hosts.includes(resolved?.name)) {
            const remote = set.hosts.filter((h): h is string => h !== undefined);
            const hosts = [
                ...(remote.length > 0 ? [`${remote.length === 1 ? "host" : "hosts"} ${remote.join(", ")}`] : []),
                ...(set.hosts.includes(undefined) ? ["this machine"] : []),
            ].join(" and ");
            refuse(what, [
                `\`${r.field}\` is ${set.what}, whose nodes are ${hosts}; this resource is on ${where(resolved)}: put it on one of them (its \`host\`, or a parent Host)`,
            ]);
        }
    }
    return resolved;
}

/** The host's SSH address when it is an IPv4 address (a default for addresses on its underlay), else undefined. */
export function sshIPv4Of(host: ResolvedHost | undefined): string | undefined {
    const address = host?.input.ssh.host;
    return typeof address === "string" && /^\d{1,3}(\.\d{1,3}){3}$/.test(address) ? address : undefined;
}

/** The resolved host of a HostRef (a Host, or `{ name?, ssh }`), checked now; undefined: this machine. */
export function hostOfRef(what: string, ref: HostRef | undefined): ResolvedHost | undefined {
    return ref === undefined ? undefined : isHost(ref) ? ref.resolved : hostInput(what, ref as HostArgs);
}

/** Records where a resource of this library lives, for its children and for resources that refer to it. */
export function rememberHost(resource: pulumi.Resource, host: ResolvedHost | undefined): void {
    hostsByResource.set(resource, host);
}
