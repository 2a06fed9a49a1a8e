// VethAttachment: a container's network interface on a host bridge (the
// seed's procedure as desired state). The resource class and its arguments;
// the engine side is engine/providers/vethAttachment.ts.
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { defaultHostIfName, defaultMac } from "../common/naming";
import { Bandwidth } from "../common/specs/bandwidth";
import { checkVethAttachmentInputs } from "../common/specs/vethAttachment";
import { declaredBridgeAddresses } from "./bridge";
import { engineResource } from "./engineResource";
import { HostRef, hostSetOf, rememberHost, resolveHost } from "./host";
import { declaredSubnetOf } from "./network";
import { checkPromptly, ownerOf, refuse } from "./promptCheck";
import { declareForContainer } from "./declared";
import { containerIdOf, ContainerRef, DockerNetworkResource } from "./refs";

/** A Linux bridge: its name, a `Bridge`, a `Network` (its bridge), or @pulumi/docker's `docker.Network`. */
export type BridgeRef =
    | pulumi.Input<string>
    | { readonly bridge: pulumi.Output<string> }
    | { readonly name: pulumi.Output<string>; readonly adopted: pulumi.Output<boolean> }
    | (DockerNetworkResource & { readonly options: pulumi.Output<Record<string, string> | undefined> });

export interface VethAttachmentArgs {
    /**
     * The container to attach: a Container (replacing it replaces the attachment;
     * modes host and container are refused at preview) or a name or id. It needs
     * a network namespace of its own. Changing it replaces the attachment.
     */
    container: ContainerRef;
    /**
     * The Linux bridge the host end joins: a name (docker0, a Bridge's `name`),
     * a Bridge, a Network (its bridge), or @pulumi/docker's docker.Network.
     * Default `docker0`. Changing it replaces the attachment.
     */
    bridge?: BridgeRef;
    /**
     * The container-side address with its prefix length, IPv4 or IPv6, e.g.
     * `172.17.0.3/16` or `fd17:ac11::3/64`. For both (dual-stack), use
     * `addresses` instead: give one of the two, not both (the preview refuses
     * both at once). Changed in place.
     */
    address?: pulumi.Input<string>;
    /**
     * The container-side addresses, IPv4 and IPv6, each with its prefix
     * length, e.g. `["172.17.0.3/16", "fd17:ac11::3/64"]` (dual-stack): the
     * interface has exactly these (link-local IPv6 addresses, which the kernel
     * makes by itself, aside). Instead of `address`, not with it; a stack made
     * with `address` moves to `addresses` in place, and an address added to
     * the list is added in place. IPv6 addresses are waited for (duplicate
     * address detection) before the create or update reports success; a
     * duplicate on the bridge fails it, leaving nothing behind. Changed in place.
     */
    addresses?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * The container's IPv4 default gateway. Default: the bridge's IPv4 address
     * in the subnet of the attachment's IPv4 address. Must lie in that subnet.
     * Only with an IPv4 address. Changed in place.
     */
    gateway?: pulumi.Input<string>;
    /**
     * The container's IPv6 default gateway (route `::/0`), e.g. `fd17:ac11::1`,
     * or a link-local one such as `fe80::1`. Default: the bridge's IPv6
     * address in the subnet of the attachment's IPv6 address. Only with an
     * IPv6 address. Changed in place.
     */
    ipv6Gateway?: pulumi.Input<string>;
    /**
     * Set the container's default routes through the gateways: one per family
     * the attachment has an address of (`default` and `::/0`). Default true.
     * Set false for a second attachment, or a container that has its default
     * routes elsewhere. Changed in place.
     */
    defaultRoute?: pulumi.Input<boolean>;
    /** The interface name inside the container. Default `eth0`. Changing it replaces the attachment. */
    containerIfName?: pulumi.Input<string>;
    /**
     * The host-side interface name, at most 15 characters. Default: derived from
     * the stack and resource name, `hn-<name>-<hash>`, stable across runs.
     * Changing it replaces the attachment.
     */
    hostIfName?: pulumi.Input<string>;
    /** MTU of both ends, 68-65535. Default: the kernel's (1500). Changed in place. */
    mtu?: pulumi.Input<number>;
    /**
     * MAC address of the container-side interface. Default: derived from the
     * owner mark, stable across re-creations (`02:...`). Changing it replaces the attachment.
     */
    mac?: pulumi.Input<string>;
    /**
     * Limits on the container's traffic through this interface, applied on the
     * host end (the container cannot lift them): `ingressRate` caps what comes
     * in (a tbf on the host end), `egressRate` what goes out (through an ifb
     * device, `hn-ifb-...`), both in bits per second or as "10mbit"; `burst`
     * in bytes or as "64kb" (default: 10 ms at the rate, at least 16 kb).
     * Changed in place; read back with `tc -j` (a limit removed by hand is
     * drift that `up` puts back). `delay`/`loss` (netem) are refused at
     * preview on a kernel without sch_netem. Default: no limit.
     */
    bandwidth?: pulumi.Input<Bandwidth>;
    /**
     * The host it lives on: a Host, or `{ name?, ssh: { host, port?, user?, privateKeyPath?, knownHostsPath? } }`.
     * Default: the nearest Host among its parents, else the host of the container or bridge (a Container, Bridge or Network), else this machine. Changing it replaces the resource.
     */
    host?: HostRef;
}

/**
 * A veth pair joining a running container to a Linux bridge: the host end on
 * the bridge, the peer inside the container's network namespace, addressed,
 * with a default route. `pulumi refresh` reads it back from the kernel;
 * `pulumi destroy` removes both ends (and only interfaces it made).
 */
export class VethAttachment extends pulumi.CustomResource {
    declare readonly container: pulumi.Output<string>;
    declare readonly containerId: pulumi.Output<string>;
    declare readonly bridge: pulumi.Output<string>;
    /** The one address, when given as `address`. */
    declare readonly address: pulumi.Output<string | undefined>;
    /** The addresses, when given as `addresses`. */
    declare readonly addresses: pulumi.Output<string[] | undefined>;
    /** The IPv4 default gateway in effect ("" without one). */
    declare readonly effectiveGateway: pulumi.Output<string>;
    /** The IPv6 default gateway in effect ("" without one; absent without an IPv6 address). */
    declare readonly effectiveIpv6Gateway: pulumi.Output<string | undefined>;
    declare readonly containerIfName: pulumi.Output<string>;
    declare readonly hostIfName: pulumi.Output<string>;
    declare readonly owner: pulumi.Output<string>;

    constructor(name: string, args: VethAttachmentArgs, opts?: pulumi.CustomResourceOptions) {
        refuseOverlayBridge(`VethAttachment "${name}"`, "bridge", args.bridge);
        const host = resolveHost(`VethAttachment "${name}"`, args.host, opts, [
            { field: "container", value: args.container },
            { field: "bridge", value: args.bridge },
        ]);
        const onNetwork = declaredSubnetOf(args.bridge);
        if (onNetwork && onNetwork.driver !== "bridge") {
            refuse(`VethAttachment "${name}"`, [
                `\`bridge\` is Network "${onNetwork.name}" of driver ${onNetwork.driver}, which has no Linux bridge; give the container a MacvlanAttachment on the same parent, or connect it with a NetworkAttachment`,
            ]);
        }
        const owner = ownerOf("VethAttachment", name, host?.name);
        const bridge = bridgeNameOf(args.bridge ?? "docker0");
        const inputs = {
            container: containerIdOf(`VethAttachment "${name}"`, "container", args.container, "vethAttachment"),
            bridge,
            bridgeAddresses: declaredBridgeAddresses(host?.name, bridge),
            address: args.address,
            addresses: args.addresses,
            gateway: args.gateway,
            ipv6Gateway: args.ipv6Gateway,
            defaultRoute: args.defaultRoute ?? true,
            containerIfName: args.containerIfName ?? "eth0",
            hostIfName: args.hostIfName ?? defaultHostIfName(owner, name),
            mtu: args.mtu,
            mac: args.mac ?? defaultMac(owner, "peer"),
            bandwidth: args.bandwidth,
            owner,
            ...(host ? { host: host.input } : {}),
        };
        checkPromptly(`VethAttachment "${name}"`, inputs, checkVethAttachmentInputs);
        super(
            ...engineResource(
                "VethAttachment",
                name,
                {
                    containerId: undefined,
                    effectiveGateway: undefined,
                    effectiveIpv6Gateway: undefined,
                    bridgeAddress: undefined,
                    bridgeIpv6Address: undefined,
                    up: undefined,
                    ...inputs,
                },
                opts,
            ),
        );
        rememberHost(this, host);
        declareForContainer(args.container, this, inputs, args.address, args.addresses);
        declaredOf.set(this, { address: args.address, addresses: args.addresses });
    }
}

// What each attachment was declared with: its addresses as the program gives them.
const declaredOf = new WeakMap<VethAttachment, Pick<VethAttachmentArgs, "address" | "addresses">>();

/**
 * The container-side addresses (with prefix length) `attachment` is declared
 * with, `address` or `addresses`. Unlike its outputs, known at preview: the
 * output of the one it was not given (`address` beside `addresses`) is absent,
 * which a preview takes for unknown. Carries no dependency on the attachment.
 */
export function attachmentAddresses(attachment: VethAttachment): pulumi.Output<string[]> {
    const d = declaredOf.get(attachment) ?? {};
    return pulumi
        .all([d.address, d.addresses])
        .apply(([a, list]) => [a, ...(list ?? [])].filter((x): x is string => typeof x === "string"));
}

const DOCKER_BRIDGE_NAME_OPTION = "com.docker.network.bridge.name";

/** Refuses an overlay Network where a bridge is wanted: its bridge is in Docker's own namespace on each node, not the host's. */
export function refuseOverlayBridge(what: string, field: string, ref: unknown): void {
    const set = hostSetOf(ref);
    if (set) {
        refuse(what, [
            `\`${field}\` is ${set.what}: an overlay has no bridge on the host (Docker keeps it in a namespace of its own); connect containers to it as a Container's \`networks\` or with a NetworkAttachment`,
        ]);
    }
}

/** The bridge's name; an Output of a resource carries the dependency. */
export function bridgeNameOf(ref: BridgeRef): pulumi.Input<string> {
    if (typeof ref !== "object" || ref === null || pulumi.Output.isInstance(ref)) return ref as pulumi.Input<string>;
    if ("bridge" in ref && pulumi.Output.isInstance(ref.bridge)) return ref.bridge;
    if ("adopted" in ref && pulumi.Output.isInstance(ref.name)) return ref.name;
    if ("driver" in ref && pulumi.Output.isInstance(ref.id)) {
        // Docker names a network's bridge after the network's id unless told otherwise.
        const options = "options" in ref ? ref.options : undefined;
        return pulumi.all([ref.id, options]).apply(([id, o]) => o?.[DOCKER_BRIDGE_NAME_OPTION] ?? `br-${id.slice(0, 12)}`);
    }
    return ref as unknown as pulumi.Input<string>;
}
