// VxlanLink: a VXLAN tunnel that joins a bridge on one host and a bridge on
// another, so that containers attached to either share one L2 segment. The
// resource class and its arguments; the engine side is
// engine/providers/vxlanLink.ts.
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { defaultHostIfName, defaultMac } from "../common/naming";
import { checkVxlanLinkInputs, VXLAN_PORT } from "../common/specs/vxlanLink";
import { engineResource } from "./engineResource";
import { HostRef, resolveHost } from "./host";
import { checkPromptly, ownerOf, refuse } from "./promptCheck";
import { BridgeRef, bridgeNameOf, refuseOverlayBridge } from "./vethAttachment";

export interface VxlanLinkEndArgs {
    /**
     * The bridge this side's VXLAN device joins: a Bridge (its host is then
     * this side's host), a Network (its bridge), or a bridge's name.
     * Changed in place.
     */
    bridge: BridgeRef;
    /**
     * The host of this side: a Host, or `{ name?, ssh }`. Default: the host of
     * `bridge` when it is a Bridge or Network of this library, else this
     * machine. Changing it replaces the link.
     */
    host?: HostRef;
    /**
     * This host's underlay address, IPv4 or IPv6 (the two sides' of one
     * family): the address the other side sends the tunnel's UDP datagrams to
     * (an address of this host, reachable from the other). Changed in place
     * (moving to the other family replaces the link).
     */
    underlay: pulumi.Input<string>;
    /** The VXLAN device's name. Default: derived from the owner mark, `hn-<name>-<hash>`. Changing it replaces the link. */
    ifName?: pulumi.Input<string>;
    /** The VXLAN device's MAC. Default: derived from the owner mark, stable across re-creations. Changing it replaces the link. */
    mac?: pulumi.Input<string>;
}

export interface VxlanLinkArgs {
    /** One side: a bridge on one host. */
    a: VxlanLinkEndArgs;
    /** The other side: a bridge on another host. */
    b: VxlanLinkEndArgs;
    /** VXLAN network identifier, 1-16777215; both sides use it. Changing it replaces the link. */
    vni: pulumi.Input<number>;
    /** UDP port of the tunnel on both sides. Default 4789 (IANA's). Changing it replaces the link. */
    port?: pulumi.Input<number>;
    /**
     * MTU of both VXLAN devices. Default: the smaller MTU of the two underlay
     * devices minus 50 (VXLAN's encapsulation over IPv4; 70 over IPv6), so that the underlay
     * never fragments. Give the interfaces of containers on the bridges this
     * MTU too (the `effectiveMtu` output). Changed in place.
     */
    mtu?: pulumi.Input<number>;
}

/**
 * A point-to-point VXLAN tunnel between a bridge on host A and a bridge on
 * host B: everything attached to either bridge is on one L2 segment. Created
 * and deleted as one; `pulumi refresh` sees either side deleted by hand, and
 * `pulumi up` makes it again.
 *
 * ```ts
 * new VxlanLink("b-c", {
 *     vni: 42,
 *     a: { bridge: brOnB, underlay: "10.0.0.2" },
 *     b: { bridge: brOnC, underlay: "10.0.0.3" },
 * });
 * ```
 */
export class VxlanLink extends pulumi.CustomResource {
    declare readonly a: pulumi.Output<{ bridge: string; underlay: string; ifName: string; mac?: string; owner: string }>;
    declare readonly b: pulumi.Output<{ bridge: string; underlay: string; ifName: string; mac?: string; owner: string }>;
    declare readonly vni: pulumi.Output<number>;
    declare readonly port: pulumi.Output<number>;
    /** The MTU both VXLAN devices have: give it to the interfaces of containers on the two bridges. */
    declare readonly effectiveMtu: pulumi.Output<number>;
    declare readonly owner: pulumi.Output<string>;

    constructor(name: string, args: VxlanLinkArgs, opts?: pulumi.CustomResourceOptions) {
        const what = `VxlanLink "${name}"`;
        const hosts: (string | undefined)[] = [];
        const end = (side: "a" | "b", e: VxlanLinkEndArgs) => {
            refuseOverlayBridge(what, `${side}.bridge`, e?.bridge);
            // A side on no Host of its own follows its Bridge (not the link's parent: the link spans two hosts).
            const host = resolveHost(`${what} (side ${side})`, e.host, undefined, [{ field: `${side}.bridge`, value: e.bridge }]);
            hosts.push(host?.name);
            const owner = ownerOf("VxlanLink", name, host?.name);
            return {
                bridge: bridgeNameOf(e.bridge),
                underlay: e.underlay,
                ifName: e.ifName ?? defaultHostIfName(owner, name),
                mac: e.mac ?? defaultMac(owner, `vxlan-${side}`),
                owner,
                ...(host ? { host: host.input } : {}),
            };
        };
        const inputs = {
            a: end("a", args.a ?? ({} as VxlanLinkEndArgs)),
            b: end("b", args.b ?? ({} as VxlanLinkEndArgs)),
            vni: args.vni,
            port: args.port ?? VXLAN_PORT,
            mtu: args.mtu,
            owner: ownerOf("VxlanLink", name),
        };
        if (hosts[0] === hosts[1]) {
            refuse(what, [
                `\`a\` and \`b\` are both on ${hosts[0] === undefined ? "this machine" : `host ${hosts[0]}`}: a VxlanLink joins bridges on two hosts (set each side's \`host\`, or pass Bridges of two hosts)`,
            ]);
        }
        checkPromptly(what, inputs, checkVxlanLinkInputs);
        super(...engineResource("VxlanLink", name, { effectiveMtu: undefined, autoMtu: undefined, ...inputs }, opts));
    }
}
