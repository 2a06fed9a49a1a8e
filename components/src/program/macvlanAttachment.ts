// MacvlanAttachment: a container's interface straight on the wire of a host
// interface (a macvlan, or with `kind: "ipvlan"` an ipvlan): the container
// is one more host on that LAN, with an address of the LAN's. The resource
// class and its arguments; the engine side is
// engine/providers/macvlanAttachment.ts.
//
// Why a resource of its own, rather than a `kind` on VethAttachment: the two
// own different objects and are checked against different things. A
// VethAttachment owns a pair whose host end joins a bridge the stack can
// address (its mark is on the host end; its gateway defaults to the bridge's
// address; its checks read the bridge's subnet and who holds addresses on
// it). A MacvlanAttachment owns one interface inside the container, bound to
// a parent it does not own (its mark is on that interface; there is no host
// address to default a gateway to; its checks read the parent: Ethernet, no
// bridge port, what else sits on it, passthru, the kernel's kinds). A kind
// would make half of each one's fields meaningless for the other (`bridge`,
// `hostIfName` / `parent`, `mode`) and every rule branch on it, and would add
// an input to every deployed VethAttachment. What they share is shared
// code: the ownership marks (isOwnedBy, markedByMac), plans with their
// undo, the stack's claims, the container checks and the address checks.
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { defaultMac } from "../common/naming";
import { checkMacvlanAttachmentInputs, SUBLINK_MODES, SublinkKind } from "../common/specs/macvlanAttachment";
import { engineResource } from "./engineResource";
import { HostRef, rememberHost, resolveHost } from "./host";
import { checkPromptly, ownerOf, refuse } from "./promptCheck";
import { containerIdOf, ContainerRef } from "./refs";

/** A host interface to sit on: its name (`eth0`), or a Bridge (its `name`). */
export type ParentRef = pulumi.Input<string> | { readonly name: pulumi.Output<string>; readonly adopted: pulumi.Output<boolean> };

/** The modes of a macvlan (`bridge`, the default: its macvlans reach each other) and of an ipvlan (`l2`, the default). */
export type SublinkMode = "bridge" | "private" | "vepa" | "passthru" | "l2" | "l3" | "l3s";

export interface MacvlanAttachmentArgs {
    /**
     * The container to attach: a Container (replacing it replaces the attachment;
     * modes host and container are refused at preview) or a name or id. It needs
     * a network namespace of its own. Changing it replaces the attachment.
     */
    container: ContainerRef;
    /**
     * The host interface whose wire the container joins: a name (`eth0`), or a
     * Bridge (its `name`). It must be an Ethernet interface, no port of a bridge,
     * not itself a macvlan. Changing it replaces the attachment.
     *
     * The host itself cannot reach the container through this parent (the kernel
     * does not pass frames between a parent and its macvlans); other hosts on
     * the wire, and other macvlans on the same parent (mode bridge), can.
     */
    parent: ParentRef;
    /**
     * `macvlan` (default): the interface has a MAC of its own, so the LAN sees
     * one more host. `ipvlan`: it shares the parent's MAC (for networks that
     * allow one MAC per port); refused at preview on a kernel without ipvlan.
     * Changing it replaces the attachment.
     */
    kind?: SublinkKind;
    /**
     * macvlan: `bridge` (default; macvlans on one parent reach each other
     * directly), `private` (they never do), `vepa` (only through the switch,
     * which must hairpin), `passthru` (one macvlan takes the parent for itself,
     * with its MAC). ipvlan: `l2` (default), `l3`, `l3s`. Changing it replaces
     * the attachment.
     */
    mode?: SublinkMode;
    /** The container-side address with its prefix length, e.g. `192.168.1.50/24` (or IPv6, `fd00:1::50/64`): one, as shorthand for `addresses`. Changed in place. */
    address?: pulumi.Input<string>;
    /**
     * The container-side addresses with their prefix lengths, IPv4 and IPv6
     * (dual-stack: `["192.168.1.50/24", "fd00:1::50/64"]`; IPv6 is turned on
     * for the link, and an IPv6 address is there and valid, past duplicate
     * address detection, when the attachment is made while the parent has
     * carrier). `[]` leaves addressing to the container (a DHCP client in it,
     * say); give either this or `address`. Changed in place.
     */
    addresses?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * The container's IPv4 default gateway through this interface: the LAN's
     * router, on the subnet of one of the IPv4 addresses. Default: none, no
     * default route is set (the container reaches its addresses' subnets
     * only). Changed in place.
     */
    gateway?: pulumi.Input<string>;
    /**
     * The container's IPv6 default gateway (route `::/0`) through this
     * interface: the LAN's router, by its link-local address (`fe80::1`, as
     * its advertisements name it) or by one on the subnet of one of the IPv6
     * addresses; needs an IPv6 address in `addresses`. Default: none is set
     * by this resource, and a default route a router's advertisements give the
     * container (IPv6 autoconfiguration, on by default) is left to the kernel.
     * Changed in place.
     */
    ipv6Gateway?: pulumi.Input<string>;
    /** The interface name inside the container. Default `eth0`. Changing it replaces the attachment. */
    containerIfName?: pulumi.Input<string>;
    /** MTU, 68 up to the parent's. Default: the parent's. Changed in place. */
    mtu?: pulumi.Input<number>;
    /**
     * MAC address of a macvlan (not passthru: that takes the parent's; not an
     * ipvlan: it has the parent's). Default: derived from the owner mark, stable
     * across re-creations (`02:...`), so that the LAN's ARP caches stay right.
     * Changing it replaces the attachment.
     */
    mac?: pulumi.Input<string>;
    /**
     * The host it lives on: a Host, or `{ name?, ssh: { host, port?, user?, privateKeyPath?, knownHostsPath? } }`.
     * Default: the nearest Host among its parents, else the host of the container or parent (a Container or Bridge), else this machine. Changing it replaces the resource.
     */
    host?: HostRef;
}

/**
 * A macvlan (or ipvlan) of a host interface inside a running container,
 * addressed, with an optional default route: the container on the LAN.
 * `pulumi refresh` reads it back from the kernel; `pulumi destroy` removes it
 * (and only an interface it made).
 */
export class MacvlanAttachment extends pulumi.CustomResource {
    declare readonly container: pulumi.Output<string>;
    declare readonly containerId: pulumi.Output<string>;
    declare readonly parent: pulumi.Output<string>;
    declare readonly kind: pulumi.Output<SublinkKind>;
    declare readonly mode: pulumi.Output<string>;
    declare readonly addresses: pulumi.Output<string[]>;
    declare readonly effectiveGateway: pulumi.Output<string>;
    /** The IPv6 default gateway in effect through this interface ("" for none); absent without `ipv6Gateway`. */
    declare readonly effectiveIpv6Gateway: pulumi.Output<string | undefined>;
    declare readonly containerIfName: pulumi.Output<string>;
    declare readonly owner: pulumi.Output<string>;

    constructor(name: string, args: MacvlanAttachmentArgs, opts?: pulumi.CustomResourceOptions) {
        const what = `MacvlanAttachment "${name}"`;
        const host = resolveHost(what, args.host, opts, [
            { field: "container", value: args.container },
            { field: "parent", value: args.parent },
        ]);
        const owner = ownerOf("MacvlanAttachment", name, host?.name);
        const kind = args.kind ?? "macvlan";
        const mode = args.mode ?? SUBLINK_MODES[kind]?.[0];
        if (args.address !== undefined && args.addresses !== undefined) {
            refuse(what, ["give `address` or `addresses`, not both (`address: x` is `addresses: [x]`)"]);
        }
        if (args.address === undefined && args.addresses === undefined) {
            refuse(what, [
                "`addresses` is required: the container's addresses on the parent's LAN, like [\"192.168.1.50/24\"] (or `address`); `[]` leaves addressing to the container",
            ]);
        }
        const ownMac = kind === "macvlan" && mode !== "passthru";
        const inputs = {
            container: containerIdOf(what, "container", args.container, "macvlanAttachment"),
            parent: parentNameOf(args.parent),
            kind,
            mode,
            addresses:
                args.address === undefined
                    ? args.addresses
                    : typeof args.address === "string"
                      ? [args.address]
                      : pulumi.output(args.address).apply((a) => [a]),
            gateway: args.gateway,
            ipv6Gateway: args.ipv6Gateway,
            containerIfName: args.containerIfName ?? "eth0",
            mtu: args.mtu,
            mac: args.mac ?? (ownMac ? defaultMac(owner, "macvlan") : undefined),
            owner,
            ...(host ? { host: host.input } : {}),
        };
        // A plain `address` is checked as the list it stands for, under its own name.
        checkPromptly(what, inputs, (known) =>
            checkMacvlanAttachmentInputs(known).map((f) =>
                args.address !== undefined && f.property === "addresses"
                    ? { ...f, reason: f.reason.replace("`addresses[0]`", "`address`").replace("`addresses`", "`address`") }
                    : f,
            ),
        );
        super(
            ...engineResource(
                "MacvlanAttachment",
                name,
                { containerId: undefined, effectiveGateway: undefined, effectiveIpv6Gateway: undefined, up: undefined, ...inputs },
                opts,
            ),
        );
        rememberHost(this, host);
    }
}

/** The parent's name; a Bridge's Output carries the dependency. */
export function parentNameOf(ref: ParentRef): pulumi.Input<string> {
    if (
        typeof ref === "object" &&
        ref !== null &&
        !pulumi.Output.isInstance(ref) &&
        "adopted" in ref &&
        pulumi.Output.isInstance(ref.name)
    ) {
        return ref.name;
    }
    return ref as pulumi.Input<string>;
}
