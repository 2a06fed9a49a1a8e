// Probe: a reachability assertion as a resource. From a container's network
// namespace to an address, `address:port` or a container, over icmp, tcp or
// udp, expecting the traffic to get through or to be blocked. The resource
// class and its arguments; the engine side is engine/providers/probe.ts.
//
// A probe runs at `up` after everything that makes the network it checks:
// its containers, their attachments and links, and the program's Policies
// (it depends on them); and it runs again whenever one of those changes (its
// `network` input is a digest of their inputs), so that an up that breaks a
// path fails, naming the probe. A refresh runs it too.
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { familyOf, hostPart } from "../common/addresses";
import { checkProbeInputs, parseHostPort, ProbeExpectation, ProbeProtocol, ProbeTarget } from "../common/specs/probe";
import { declaredFor, withDependencies, withoutPropertyDependencies } from "./declared";
import { engineResource } from "./engineResource";
import { HostRef, rememberHost, resolveHost } from "./host";
import { programPolicies } from "./policy";
import { checkPromptly, ownerOf, refuse } from "./promptCheck";
import { containerIdOf, ContainerRef, isContainerLike } from "./refs";
import { attachmentAddresses, VethAttachment } from "./vethAttachment";

export interface ProbeArgs {
    /** The container the probe runs in (its network namespace): a Container, @pulumi/docker's, or a name or id. Any `--net` mode. */
    from: ContainerRef;
    /**
     * Where it goes: an address (`"10.10.0.5"`, `"fd00::5"`), `"address:port"`
     * (`"10.10.0.5:80"`, `"[fd00::5]:80"`), a Container (one of its addresses,
     * found when the probe runs: one on a subnet `from` shares, else its
     * first), a VethAttachment (its address), or `{ container: "name" }`. Only
     * addresses of this host's own networks: a probe never sends traffic off
     * the machine.
     */
    to: pulumi.Input<string> | ContainerRef | VethAttachment | { container: ContainerRef };
    /** `icmp` (echo), `tcp` (a connect) or `udp` (a datagram that must be answered). Default: tcp with a port, else icmp. */
    protocol?: ProbeProtocol;
    /** The destination port for tcp and udp (or give it in `to`). */
    port?: number;
    /** `reachable` (default): the traffic must get through; `blocked`: it must not. */
    expect?: ProbeExpectation;
    /** With a container as `to`: the family of its address to probe. Default: IPv4 when it has one. */
    family?: 4 | 6;
    /** Seconds to wait for an answer (a blocked probe takes this long). Default 2. */
    timeoutSeconds?: number;
    /**
     * The host it lives on: a Host, or `{ name?, ssh: { host, port?, user?, privateKeyPath?, knownHostsPath? } }`.
     * Default: the nearest Host among its parents, else the container's host (a Container), else this machine.
     */
    host?: HostRef;
}

function resourceName(r: pulumi.Resource): pulumi.Output<string> {
    return r.urn.apply((urn) => urn.split("::").pop() ?? urn);
}

function isResource(v: unknown): v is pulumi.Resource {
    return pulumi.Resource.isInstance(v);
}

/** The target as the engine receives it, and the port a string gave. */
function targetOf(
    what: string,
    to: ProbeArgs["to"],
    family?: pulumi.Input<4 | 6 | undefined>,
): { target: pulumi.Input<ProbeTarget>; port?: pulumi.Input<number | undefined>; container?: unknown } {
    if (typeof to === "string") {
        const hp = parseHostPort(to);
        if (!hp)
            refuse(what, [
                `\`to\` ${JSON.stringify(to)} must be an address ("10.10.0.5", "fd00::5") or "address:port" ("10.10.0.5:80", "[fd00::5]:80"); name a container as { container: ${JSON.stringify(to)} }`,
            ]);
        return { target: { address: hp.address }, port: hp.port };
    }
    if (pulumi.Output.isInstance(to) || to instanceof Promise) {
        const parsed = pulumi.output(to as pulumi.Input<string>).apply((t) => parseHostPort(t));
        return {
            target: parsed.apply((hp) => ({ address: hp?.address ?? String(to) })),
            port: parsed.apply((hp) => hp?.port),
        };
    }
    if (to instanceof VethAttachment) {
        // Its address, or of its `addresses` the first of the family asked (IPv4 when it has one).
        return {
            // As declared (the outputs of an attachment given `addresses` are unknown at preview: every plan would run the probe).
            target: pulumi.all([attachmentAddresses(to), family, resourceName(to)]).apply(([declared, f, name]) => {
                const all = declared.map((x) => hostPart(x) ?? x);
                const wanted = f ?? (all.some((x) => familyOf(x) === 4) ? 4 : 6);
                return { address: all.find((x) => familyOf(x) === wanted) ?? all[0], name };
            }),
            container: to,
        };
    }
    if (isContainerLike(to) || pulumi.CustomResource.isInstance(to)) {
        const id = containerIdOf(what, "to", to as ContainerRef, "probe");
        return {
            target: pulumi.all([id, resourceName(to as unknown as pulumi.Resource)]).apply(([container, name]) => ({ container, name })),
            container: to,
        };
    }
    if (typeof to === "object" && to !== null && "container" in to) {
        const ref = to.container;
        const id = containerIdOf(what, "to.container", ref, "probe");
        const name = typeof ref === "string" ? ref : isResource(ref) ? resourceName(ref) : undefined;
        return {
            target: pulumi.all([id, name]).apply(([container, n]) => ({ container, ...(n !== undefined ? { name: n } : {}) })),
            container: ref,
        };
    }
    refuse(what, [`\`to\` must be an address, "address:port", a Container, a VethAttachment or { container }; got ${JSON.stringify(to)}`]);
}

/** A short digest of plain values, for the probe's `network` input. */
function digest(values: unknown): string {
    return createHash("sha256").update(JSON.stringify(values)).digest("hex").slice(0, 16);
}

/** The inputs of a resource as declared, without how its host is reached (it may hold a secret key). */
function withoutHost(inputs: unknown): unknown {
    if (typeof inputs !== "object" || inputs === null) return inputs;
    const { host: _, ...rest } = inputs as Record<string, unknown>;
    return rest;
}

/**
 * An assertion about the network: traffic from a container to an address
 * gets through (or is blocked). Checked at every `up` in which what it
 * checks changes (the up fails, naming the probe, when it does not hold), and
 * at every refresh (a broken path is drift). It makes nothing on the host.
 */
export class Probe extends pulumi.CustomResource {
    declare readonly address: pulumi.Output<string>;
    declare readonly outcome: pulumi.Output<string>;
    declare readonly detail: pulumi.Output<string>;

    constructor(name: string, args: ProbeArgs, opts: pulumi.CustomResourceOptions = {}) {
        const what = `Probe "${name}"`;
        const related = [{ field: "from", value: args.from }];
        const host = resolveHost(what, args.host, opts, related);
        const owner = ownerOf("Probe", name, host?.name);
        const from = containerIdOf(what, "from", args.from, "probe");
        const { target, port, container } = targetOf(what, args.to, args.family);
        const givenPort = args.port ?? port;
        // Default: tcp when a port is given (in `port`, or in `to`), else icmp.
        const protocol: pulumi.Input<ProbeProtocol> =
            args.protocol ??
            (args.port !== undefined || typeof port === "number"
                ? "tcp"
                : pulumi.Output.isInstance(port)
                  ? port.apply((p) => (p === undefined ? "icmp" : "tcp"))
                  : "icmp");
        const fromName = typeof args.from === "string" ? args.from : isResource(args.from) ? resourceName(args.from) : undefined;

        // What it checks, once the program's body has run: the Policies, and what makes both containers' network.
        const around = Promise.all([declaredFor(args.from), container === undefined ? undefined : declaredFor(container)]).then(
            ([a, b]) => ({
                resources: [...programPolicies(), ...a.resources, ...(b?.resources ?? [])],
                inputs: [...programPolicies().map((p) => p.declaredInputs), ...a.inputs, ...(b?.inputs ?? [])].map(withoutHost),
            }),
        );
        // Its resources are in dependsOn (`after`); the state need not list them again as `network`'s.
        const network = withoutPropertyDependencies(pulumi.output(around.then((a) => a.inputs)).apply((inputs) => digest(inputs)));
        const after = around.then((a) => [...a.resources, ...[args.from, container].filter(isResource)]);

        const inputs = {
            from,
            ...(fromName !== undefined ? { fromName } : {}),
            to: target,
            protocol,
            port: givenPort,
            expect: args.expect ?? "reachable",
            family: args.family,
            timeoutSeconds: args.timeoutSeconds ?? 2,
            network,
            owner,
            ...(host ? { host: host.input } : {}),
        };
        // A port not known yet (from a `to` that is an Output) is checked by the engine.
        checkPromptly(what, inputs, checkProbeInputs);
        super(
            ...engineResource(
                "Probe",
                name,
                { address: undefined, outcome: undefined, detail: undefined, ...inputs },
                { ...opts, dependsOn: withDependencies(opts.dependsOn, after) },
            ),
        );
        rememberHost(this, host);
    }
}
