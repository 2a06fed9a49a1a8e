// Bridge: a plain Linux bridge, created by the stack or adopted when it
// already exists (docker0 included; adopted ones are never deleted). The
// resource class and its arguments; the engine side is engine/providers/bridge.ts.
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { defaultHostIfName, defaultMac } from "../common/naming";
import { checkBridgeInputs } from "../common/specs/bridge";
import { engineResource } from "./engineResource";
import { HostRef, rememberHost, resolveHost } from "./host";
import { checkPromptly, ownerOf } from "./promptCheck";

export interface BridgeArgs {
    /**
     * Interface name, at most 15 characters. Default: derived from the stack
     * and resource name, `hn-<name>-<hash>`. Changing it replaces the resource.
     */
    name?: pulumi.Input<string>;
    /**
     * Use a bridge that already exists (docker0, a Docker network's bridge, one
     * made by hand or by another stack) instead of creating it. An adopted
     * bridge is never deleted; destroy takes back only the addresses this
     * resource added. Default false: the stack creates the bridge, and the
     * preview fails if the name is taken. Ownership is explicit so that two
     * stacks sharing a bridge cannot race: one creates it, the others adopt it.
     */
    adopt?: boolean;
    /**
     * MAC of a created bridge. Default: derived from the owner mark, stable
     * across re-creations (`02:...`), so neighbours' ARP caches stay right.
     * Ignored with `adopt`. Changed in place.
     */
    mac?: pulumi.Input<string>;
    /**
     * The bridge's own addresses, IPv4 and IPv6, with prefix lengths, e.g.
     * `["10.20.0.1/24", "fd17:20::1/64"]`: attachments on the bridge take their
     * default gateway of each family from these. Link-local IPv6 addresses
     * (the kernel's) are left alone. New IPv6 addresses are waited for
     * (duplicate address detection) while the bridge has carrier. Changed in
     * place. On an adopted bridge, only these are managed.
     */
    addresses?: pulumi.Input<pulumi.Input<string>[]>;
    /** MTU. Changed in place. Default: the kernel's. */
    mtu?: pulumi.Input<number>;
    /** Spanning tree on. Changed in place. Default: the kernel's (off). */
    stp?: pulumi.Input<boolean>;
    /** VLAN filtering on. Changed in place. Default: the kernel's (off). */
    vlanFiltering?: pulumi.Input<boolean>;
    /** Administratively up. Changed in place. Default true. */
    up?: pulumi.Input<boolean>;
    /**
     * Let the bridge's ports reach each other through it. Docker sets the
     * host's FORWARD policy to DROP and has bridged traffic filtered by
     * iptables, accepting it only on its own bridges; so a created bridge gets
     * one rule, `-i <bridge> -o <bridge> -j ACCEPT`, in Docker's DOCKER-USER
     * chain (FORWARD where Docker is not running), commented with the owner
     * mark and removed on destroy. Nothing else of the firewall is touched.
     * Default: true for a created bridge, false for an adopted one (Docker's
     * bridges have their own rule). Changed in place.
     */
    forward?: pulumi.Input<boolean>;
    /**
     * The host it lives on: a Host, or `{ name?, ssh: { host, port?, user?, privateKeyPath?, knownHostsPath? } }`.
     * Default: the nearest Host among its parents, else this machine. Changing it replaces the resource.
     */
    host?: HostRef;
}

/** The addresses declared for the bridges this program creates, by host and bridge name. */
const declaredAddresses = new Map<string, pulumi.Input<pulumi.Input<string>[]>>();

function bridgeKey(hostName: string | undefined, bridge: string): string {
    return `${hostName ?? ""}/${bridge}`;
}

/**
 * The addresses this program declares for the bridge named `bridge` (on
 * `hostName`, or this machine), when it is a Bridge the program creates; else
 * undefined. An attachment on it carries them, so that a change of the
 * bridge's addresses shows as a change of the attachment's default route in
 * the same preview and up.
 */
export function declaredBridgeAddresses(hostName: string | undefined, bridge: pulumi.Input<string>): pulumi.Output<string[] | undefined> {
    return pulumi.output(bridge).apply((name) => pulumi.output(declaredAddresses.get(bridgeKey(hostName, name))));
}

/**
 * A Linux bridge: created by the stack (and deleted on destroy, unless other
 * stacks still have ports on it), or adopted with `adopt: true` (`docker0`
 * included), and then never deleted.
 */
export class Bridge extends pulumi.CustomResource {
    declare readonly name: pulumi.Output<string>;
    declare readonly adopted: pulumi.Output<boolean>;
    declare readonly addresses: pulumi.Output<string[] | undefined>;

    constructor(name: string, args: BridgeArgs = {}, opts?: pulumi.CustomResourceOptions) {
        const host = resolveHost(`Bridge "${name}"`, args.host, opts);
        const owner = ownerOf("Bridge", name, host?.name);
        const inputs = {
            name: args.name ?? defaultHostIfName(owner, name),
            addresses: args.addresses,
            mtu: args.mtu,
            stp: args.stp,
            vlanFiltering: args.vlanFiltering,
            up: args.up ?? true,
            adopt: args.adopt ?? false,
            mac: args.adopt ? undefined : (args.mac ?? defaultMac(owner, "bridge")),
            forward: args.forward ?? !args.adopt,
            owner,
            ...(host ? { host: host.input } : {}),
        };
        checkPromptly(`Bridge "${name}"`, inputs, checkBridgeInputs);
        if (!inputs.adopt && typeof inputs.name === "string" && args.addresses !== undefined) {
            declaredAddresses.set(bridgeKey(host?.name, inputs.name), args.addresses);
        }
        super(
            ...engineResource("Bridge", name, { adopted: undefined, addedAddresses: undefined, forwardChain: undefined, ...inputs }, opts),
        );
        rememberHost(this, host);
    }
}
