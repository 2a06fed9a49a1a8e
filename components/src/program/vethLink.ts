// VethLink: a veth pair straight between two containers, no bridge (a
// containerlab link). The resource class and its arguments; the engine side
// is engine/providers/vethLink.ts.
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { defaultMac } from "../common/naming";
import { Bandwidth } from "../common/specs/bandwidth";
import { checkVethLinkInputs, VethLinkEnd } from "../common/specs/vethLink";
import { engineResource } from "./engineResource";
import { HostRef, rememberHost, resolveHost } from "./host";
import { checkPromptly, ownerOf } from "./promptCheck";
import { declareForContainer } from "./declared";
import { containerIdOf, ContainerRef } from "./refs";

export interface VethLinkEndArgs {
    /** The container: a Container or a name or id; it needs a network namespace of its own. Changing it replaces the link. */
    container: ContainerRef;
    /** Interface name inside the container, e.g. `eth1`. Changing it replaces the link. */
    ifName: pulumi.Input<string>;
    /**
     * Address with prefix length, IPv4 or IPv6, e.g. `10.30.0.1/30` or
     * `fd17:30::1/64`. For both (dual-stack), use `addresses` instead: one of
     * the two, not both. Changed in place. Default: none.
     */
    address?: pulumi.Input<string>;
    /**
     * Addresses with prefix lengths, IPv4 and IPv6, e.g. `["10.30.0.1/30",
     * "fd17:30::1/64"]`: the end has exactly these (link-local IPv6 ones
     * aside). Instead of `address`, not with it. IPv6 addresses are waited for
     * (duplicate address detection) before the create or update reports
     * success. Changed in place.
     */
    addresses?: pulumi.Input<pulumi.Input<string>[]>;
    /** MAC address. Changing it replaces the link. Default: derived from the owner mark, stable across re-creations. */
    mac?: pulumi.Input<string>;
    /**
     * Limits on this end's container's traffic over the link: `egressRate`
     * caps what it sends (a tbf on this end), `ingressRate` what it receives
     * (a tbf on the other end; not with the other end's `egressRate`), in bits
     * per second or as "10mbit"; `burst` in bytes or "64kb". Changed in place,
     * read back with `tc -j`. Default: no limit.
     */
    bandwidth?: pulumi.Input<Bandwidth>;
}

export interface VethLinkArgs {
    a: VethLinkEndArgs;
    b: VethLinkEndArgs;
    /** MTU of both ends. Changed in place. */
    mtu?: pulumi.Input<number>;
    /**
     * The host it lives on: a Host, or `{ name?, ssh: { host, port?, user?, privateKeyPath?, knownHostsPath? } }`.
     * Both containers are on it. Default: the nearest Host among its parents, else the containers' host (Containers), else this machine. Changing it replaces the resource.
     */
    host?: HostRef;
}

/** A veth pair between two containers, each end named and optionally addressed: no bridge in between. */
export class VethLink extends pulumi.CustomResource {
    declare readonly a: pulumi.Output<VethLinkEnd>;
    declare readonly b: pulumi.Output<VethLinkEnd>;
    declare readonly owner: pulumi.Output<string>;

    constructor(name: string, args: VethLinkArgs, opts?: pulumi.CustomResourceOptions) {
        const host = resolveHost(`VethLink "${name}"`, args.host, opts, [
            { field: "a.container", value: args.a?.container },
            { field: "b.container", value: args.b?.container },
        ]);
        const owner = ownerOf("VethLink", name, host?.name);
        const end = (side: "a" | "b", e: VethLinkEndArgs) => ({
            ...e,
            mac: e.mac ?? defaultMac(owner, side),
            container: containerIdOf(`VethLink "${name}"`, `${side}.container`, e.container, "vethLink"),
        });
        const inputs = { a: end("a", args.a), b: end("b", args.b), mtu: args.mtu, owner, ...(host ? { host: host.input } : {}) };
        checkPromptly(`VethLink "${name}"`, inputs, checkVethLinkInputs);
        super(...engineResource("VethLink", name, { aContainerId: undefined, bContainerId: undefined, ...inputs }, opts));
        rememberHost(this, host);
        // A link's traffic never crosses the host (a Policy cannot filter it): its addresses are not declared for Policies.
        declareForContainer(args.a.container, this, inputs);
        declareForContainer(args.b.container, this, inputs);
    }
}
