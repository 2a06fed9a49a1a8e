// Policy: ordered allow/deny rules on the traffic the host forwards between
// containers, bridges, Docker networks and addresses, with a default per
// bridge (its ports isolated from each other, or not). The resource class and
// its arguments; the engine side is engine/providers/policy.ts, the rules'
// nft text common/policyTable.ts.
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { hostPart, parsePrefix } from "../common/addresses";
import { defaultTableName } from "../common/naming";
import { checkPolicyInputs, PolicyAction, PolicyEndpoint, PolicyProtocol } from "../common/specs/policy";
import { UNKNOWN } from "../common/validation";
import { Bridge } from "./bridge";
import { declaredAddresses, declaredFor, withDependencies } from "./declared";
import { engineResource } from "./engineResource";
import { HostRef, rememberHost, resolveHost } from "./host";
import { Network } from "./network";
import { checkPromptly, ownerOf, refuse } from "./promptCheck";
import { containerIdOf, ContainerRef, DockerNetworkResource, isContainerLike, NetworkRef } from "./refs";
import { attachmentAddresses, bridgeNameOf, BridgeRef, VethAttachment } from "./vethAttachment";

/**
 * One side of a rule:
 * - a `Container` (this library's or @pulumi/docker's): its addresses, those
 *   Docker gives it and those its VethAttachments give it, found again at every
 *   `up` and refresh (a re-created container's new address follows);
 * - a `VethAttachment`: its addresses (either family);
 * - a `Bridge`, a `Network` (this library's or @pulumi/docker's): traffic in
 *   from that bridge (`from`) or out to it (`to`);
 * - an address or network of either family, as a string: `"10.10.0.0/24"`, `"fd00::5"`;
 * - or, by name: `{ container: "web" }`, `{ bridge: "docker0" }`, `{ network: "my-net" }`, `{ cidr: ["10.0.0.0/8"] }`.
 */
export type PolicyEndpointArgs =
    | pulumi.Input<string>
    | ContainerRef
    | VethAttachment
    | Bridge
    | Network
    | DockerNetworkResource
    | { container: ContainerRef; name?: string }
    | { bridge: BridgeRef }
    | { network: NetworkRef }
    | { cidr: pulumi.Input<string> | pulumi.Input<string>[] };

export interface PolicyRuleArgs {
    /** `allow`: let the traffic through this table (Docker's own rules still apply); `deny`: drop it (final). */
    action: PolicyAction;
    /** Where the traffic comes from. Default: anywhere (a rule names `from`, `to` or both). */
    from?: PolicyEndpointArgs;
    /** Where it goes. Default: anywhere. */
    to?: PolicyEndpointArgs;
    /** `tcp`, `udp` or `icmp` (ICMP and ICMPv6). Default: every protocol. */
    protocol?: PolicyProtocol;
    /** Destination ports, with `tcp` or `udp`: `[80, 443, "8000-8080"]`. Default: every port. */
    ports?: (number | string)[];
    /** A note shown with the rule in `nft list table` (at most 128 bytes, no quotes). */
    comment?: string;
}

export interface PolicyArgs {
    /**
     * Ordered rules: the first that matches a new connection decides it
     * (replies of a connection let through are always accepted). Changed in
     * place: the table is rewritten in one transaction.
     */
    rules?: PolicyRuleArgs[];
    /**
     * The default for traffic no rule matches. Each bridge listed here
     * (a Bridge, a Network, @pulumi/docker's Network, or a name) keeps its ports
     * from reaching each other; everything else no rule matches is left to the
     * host's other rules (Docker's). Default: none (allow). Changed in place.
     */
    isolate?: BridgeRef[];
    /**
     * The nftables table (family inet) that holds the rules, marked as this
     * resource's. Default `hn_<stack>_<name>_<hash>`. Changing it replaces the
     * resource (the new table is written before the old one goes).
     */
    table?: string;
    /**
     * The host it lives on: a Host, or `{ name?, ssh: { host, port?, user?, privateKeyPath?, knownHostsPath? } }`.
     * Default: the nearest Host among its parents, else this machine. Changing it replaces the resource.
     */
    host?: HostRef;
}

// The Policies this program declares: a Probe runs after them, and again when they change.
const declaredPolicies: Policy[] = [];

/** Every Policy of this program, with the inputs it was declared with. */
export function programPolicies(): readonly Policy[] {
    return declaredPolicies;
}

/** The container an endpoint names, as the program gave it (for what the program declares around it). */
function containerOfEndpoint(e: PolicyEndpointArgs | undefined): unknown {
    if (e === undefined || typeof e === "string" || pulumi.Output.isInstance(e)) return undefined;
    if (isContainerLike(e)) return e;
    if (
        pulumi.CustomResource.isInstance(e) &&
        !(e instanceof VethAttachment) &&
        !(e instanceof Bridge) &&
        !(e instanceof Network) &&
        !("driver" in e)
    )
        return e;
    if (isObject(e) && "container" in e) return e.container;
    return undefined;
}

function resourceName(r: pulumi.Resource): pulumi.Output<string> {
    return r.urn.apply((urn) => urn.split("::").pop() ?? urn);
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !pulumi.Output.isInstance(v);
}

/** The endpoint as the engine receives it; `at` names the field in messages. */
function endpointOf(what: string, at: string, e: PolicyEndpointArgs): pulumi.Input<PolicyEndpoint> {
    if (typeof e === "string" || pulumi.Output.isInstance(e) || e instanceof Promise) {
        return pulumi.output(e as pulumi.Input<string>).apply((a) => ({ addresses: [a] }));
    }
    if (e instanceof VethAttachment) {
        // As declared (the outputs of an attachment given `addresses` are unknown at preview: every plan would update the Policy).
        return pulumi.all([attachmentAddresses(e), resourceName(e)]).apply(([declared, name]) => ({
            addresses: declared.map((x) => hostPart(x) ?? x),
            name,
        }));
    }
    if (e instanceof Bridge) return pulumi.all([e.name, resourceName(e)]).apply(([bridge, name]) => ({ bridge, name }));
    if (e instanceof Network) return pulumi.all([e.bridge, resourceName(e)]).apply(([bridge, name]) => ({ bridge, name }));
    if (isContainerLike(e) || pulumi.CustomResource.isInstance(e)) {
        if (pulumi.CustomResource.isInstance(e) && "driver" in e) {
            // @pulumi/docker's Network: its Linux bridge.
            return pulumi.all([bridgeNameOf(e as unknown as BridgeRef), resourceName(e)]).apply(([bridge, name]) => ({ bridge, name }));
        }
        const id = containerIdOf(what, at, e as ContainerRef, "policyEndpoint");
        const resource = e as unknown as pulumi.Resource;
        return pulumi
            .all([id, resourceName(resource), declaredAddresses(e)])
            .apply(([container, name, declared]) => ({ container, name, ...(declared.length > 0 ? { declared } : {}) }));
    }
    if (isObject(e)) {
        if ("container" in e) {
            const ref = e.container as ContainerRef;
            const id = containerIdOf(what, `${at}.container`, ref, "policyEndpoint");
            const name = (e as { name?: string }).name ?? (typeof ref === "string" ? ref : undefined);
            return pulumi.all([id, declaredAddresses(ref)]).apply(([container, declared]) => ({
                container,
                ...(name !== undefined ? { name } : {}),
                ...(declared.length > 0 ? { declared } : {}),
            }));
        }
        if ("bridge" in e) return pulumi.output(bridgeNameOf(e.bridge as BridgeRef)).apply((bridge) => ({ bridge }));
        if ("network" in e) {
            const ref = e.network;
            if (ref instanceof Network) return pulumi.all([ref.bridge, resourceName(ref)]).apply(([bridge, name]) => ({ bridge, name }));
            if (pulumi.CustomResource.isInstance(ref))
                return pulumi.output(bridgeNameOf(ref as unknown as BridgeRef)).apply((bridge) => ({ bridge }));
            return pulumi.output(ref as pulumi.Input<string>).apply((network) => ({ network }));
        }
        if ("cidr" in e) {
            return pulumi
                .output(e.cidr as pulumi.Input<string> | pulumi.Input<string>[])
                .apply((c) => ({ addresses: Array.isArray(c) ? c : [c] }));
        }
    }
    refuse(what, [
        `\`${at}\` must be a Container, VethAttachment, Bridge, Network, an address or CIDR, or { container }, { bridge }, { network }, { cidr }; got ${JSON.stringify(e)}`,
    ]);
}

/**
 * Allow/deny rules on the traffic this host forwards between containers (on
 * one bridge, or routed between bridges), kept in an nftables table of the
 * resource's own (`nft list table inet <table>`), written whole in one
 * transaction. A `deny` always holds; an `allow` lets through only what the
 * host's other rules accept too (Docker's isolation between its networks
 * stays). Traffic over a VethLink and to the host itself is not forwarded,
 * so not filtered.
 */
export class Policy extends pulumi.CustomResource {
    declare readonly table: pulumi.Output<string>;
    declare readonly rules: pulumi.Output<unknown[]>;
    declare readonly isolate: pulumi.Output<string[]>;
    declare readonly sets: pulumi.Output<Record<string, string[]>>;
    declare readonly listing: pulumi.Output<string[]>;
    declare readonly owner: pulumi.Output<string>;
    /** The inputs it was declared with (for the Probes that run after it). */
    readonly declaredInputs: Record<string, unknown>;

    constructor(name: string, args: PolicyArgs = {}, opts?: pulumi.CustomResourceOptions) {
        const what = `Policy "${name}"`;
        const host = resolveHost(what, args.host, opts);
        const owner = ownerOf("Policy", name, host?.name);
        const rules = (args.rules ?? []).map((r, i) => {
            if (!isObject(r))
                refuse(what, [`\`rules[${i}]\` must be { action, from?, to?, protocol?, ports?, comment? }; got ${JSON.stringify(r)}`]);
            const from = r.from === undefined ? undefined : endpointOf(what, `rules[${i}].from`, r.from);
            const to = r.to === undefined ? undefined : endpointOf(what, `rules[${i}].to`, r.to);
            return pulumi.all([from, to]).apply(([f, t]) => ({
                action: r.action,
                ...(f ? { from: f } : {}),
                ...(t ? { to: t } : {}),
                ...(r.protocol !== undefined ? { protocol: r.protocol } : {}),
                ...(r.ports !== undefined ? { ports: r.ports } : {}),
                ...(r.comment !== undefined ? { comment: r.comment } : {}),
            }));
        });
        for (const [i, r] of (args.rules ?? []).entries()) {
            for (const side of ["from", "to"] as const) {
                const e = r[side];
                if (typeof e === "string" && !parsePrefix(e)) {
                    refuse(what, [
                        `\`rules[${i}].${side}\` ${JSON.stringify(e)} is not an address or CIDR; name a container as { container: ${JSON.stringify(e)} }, a bridge as { bridge: ${JSON.stringify(e)} }`,
                    ]);
                }
            }
        }
        // What can be checked now: the rules' own fields, and addresses given as strings; resources are checked once resolved.
        const plain = (e: PolicyEndpointArgs | undefined) =>
            e === undefined ? undefined : typeof e === "string" ? { addresses: [e] } : UNKNOWN;
        const promptRules = (args.rules ?? []).map((r) => ({ ...r, from: plain(r.from), to: plain(r.to) }));
        const inputs = {
            table: args.table ?? defaultTableName(owner, pulumi.getStack(), name),
            rules: pulumi.all(rules),
            isolate: pulumi.all((args.isolate ?? []).map(bridgeNameOf)),
            owner,
            ...(host ? { host: host.input } : {}),
        };
        checkPromptly(what, { table: inputs.table, rules: promptRules, owner }, checkPolicyInputs);
        // Written after what gives the containers it names their addresses (attachments), so that it finds them on the host.
        const containers = (args.rules ?? [])
            .flatMap((r) => [r.from, r.to])
            .map(containerOfEndpoint)
            .filter((c) => c !== undefined);
        // And after the attachments it names (their addresses are taken as declared, without a dependency).
        const attachments = (args.rules ?? []).flatMap((r) => [r.from, r.to]).filter((e) => e instanceof VethAttachment);
        const around = Promise.all(containers.map((c) => declaredFor(c))).then((all) => [
            ...all.flatMap((d) => d.resources),
            ...attachments,
        ]);
        super(
            ...engineResource(
                "Policy",
                name,
                { sets: undefined, listing: undefined, resolved: undefined, live: undefined, ...inputs },
                { ...opts, dependsOn: withDependencies(opts?.dependsOn, around) },
            ),
        );
        this.declaredInputs = inputs;
        declaredPolicies.push(this);
        rememberHost(this, host);
    }
}
