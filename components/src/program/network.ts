// Network: a user-defined Docker network of driver bridge. The resource class
// and its arguments; the engine side is engine/providers/network.ts.
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { defaultDockerName } from "../common/naming";
import { checkNetworkInputs } from "../common/specs/network";
import { engineProvider } from "./engineProvider";
import { HostRef, rememberHost, resolveHost } from "./host";
import { checkPromptly, ownerOf } from "./promptCheck";

export interface NetworkArgs {
    /** Docker network name. Default `hn-<stack>-<resource name>`. */
    name?: pulumi.Input<string>;
    /** IPv4 subnet, e.g. `10.10.0.0/24`. Default: Docker picks a free one. */
    subnet?: pulumi.Input<string>;
    /** Gateway address (the bridge's), inside `subnet`. Default: the subnet's first address. */
    gateway?: pulumi.Input<string>;
    /** Range inside `subnet` for Docker's automatic addresses, e.g. `10.10.0.128/25`; static ones may lie outside. */
    ipRange?: pulumi.Input<string>;
    /**
     * IPv6 on the network (`docker network create --ipv6`): containers get an
     * IPv6 address (and default route) beside their IPv4 one. Default: on
     * when `ipv6Subnet` is given. Docker 20.10 has no pool of IPv6 subnets to
     * pick from unless its daemon was given one (`default-address-pools`):
     * give `ipv6Subnet`. Changing it replaces the network.
     */
    enableIpv6?: pulumi.Input<boolean>;
    /**
     * IPv6 subnet, e.g. a unique local `fd17:10::/64` (host bits zero, up to
     * /126). Implies `enableIpv6`. Changing it replaces the network.
     */
    ipv6Subnet?: pulumi.Input<string>;
    /** IPv6 gateway (the bridge's IPv6 address), inside `ipv6Subnet`. Default: its first address (`fd17:10::1`). */
    ipv6Gateway?: pulumi.Input<string>;
    /**
     * Range inside `ipv6Subnet` for Docker's automatic IPv6 addresses, e.g.
     * `fd17:10::100/120`; static ones (`ipv6Address` of a container) may lie
     * outside, as may VethAttachments on the network's bridge.
     */
    ipv6Range?: pulumi.Input<string>;
    /** Name of the Linux bridge (`com.docker.network.bridge.name`), at most 15 characters. Default: Docker's `br-<id>`. */
    bridgeName?: pulumi.Input<string>;
    /** No route out of the network (`--internal`). Default false. */
    internal?: pulumi.Input<boolean>;
    /** Containers on the network may talk to each other (`enable_icc`). Default true. */
    icc?: pulumi.Input<boolean>;
    /** Masquerade traffic leaving the network (`enable_ip_masquerade`). Default true. */
    masquerade?: pulumi.Input<boolean>;
    /** MTU of the network's interfaces (`com.docker.network.driver.mtu`). */
    mtu?: pulumi.Input<number>;
    /** Labels; names under `io.hostnet.` are reserved. */
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * The host it lives on: a Host, or `{ name?, ssh: { host, port?, user?, privateKeyPath?, knownHostsPath? } }`.
     * Default: the nearest Host among its parents, else this machine. Changing it replaces the resource.
     */
    host?: HostRef;
}

/** A user-defined Docker network (driver bridge), marked as this stack's with a label. */
/** The subnets and gateways each Network of this program was declared with. */
const declared = new WeakMap<object, DeclaredSubnet>();

interface DeclaredSubnet {
    /** The Network's resource name. */
    name: string;
    subnet?: pulumi.Input<string>;
    gateway?: pulumi.Input<string>;
    ipv6Subnet?: pulumi.Input<string>;
    ipv6Gateway?: pulumi.Input<string>;
    /** IPv6 on: given, or implied by `ipv6Subnet`. */
    enableIpv6?: pulumi.Input<boolean>;
}

/** The subnet and gateway `ref` was declared with, when it is a Network of this program. */
export function declaredSubnetOf(ref: unknown): DeclaredSubnet | undefined {
    return typeof ref === "object" && ref !== null ? declared.get(ref) : undefined;
}

export class Network extends pulumi.dynamic.Resource {
    declare readonly networkId: pulumi.Output<string>;
    declare readonly name: pulumi.Output<string>;
    /** The Linux bridge behind the network: pass it to a VethAttachment's `bridge`. */
    declare readonly bridge: pulumi.Output<string>;
    declare readonly subnet: pulumi.Output<string | undefined>;
    declare readonly ipv6Subnet: pulumi.Output<string | undefined>;
    declare readonly owner: pulumi.Output<string>;

    constructor(name: string, args: NetworkArgs = {}, opts?: pulumi.CustomResourceOptions) {
        const host = resolveHost(`Network "${name}"`, args.host, opts);
        const inputs = {
            name: args.name ?? defaultDockerName(pulumi.getStack(), name),
            subnet: args.subnet,
            gateway: args.gateway,
            ipRange: args.ipRange,
            // Absent unless IPv6 is asked for: networks made before it have no such input, and must not differ.
            ...(args.enableIpv6 !== undefined ? { enableIpv6: args.enableIpv6 } : {}),
            ipv6Subnet: args.ipv6Subnet,
            ipv6Gateway: args.ipv6Gateway,
            ipv6Range: args.ipv6Range,
            bridgeName: args.bridgeName,
            internal: args.internal ?? false,
            icc: args.icc ?? true,
            masquerade: args.masquerade ?? true,
            mtu: args.mtu,
            labels: args.labels ?? {},
            owner: ownerOf("Network", name, host?.name),
            ...(host ? { host: host.input } : {}),
        };
        checkPromptly(`Network "${name}"`, inputs, checkNetworkInputs);
        super(engineProvider("Network"), name, { networkId: undefined, bridge: undefined, ...inputs }, opts, "hostnet", "Network");
        declared.set(this, {
            name,
            subnet: args.subnet,
            gateway: args.gateway,
            ipv6Subnet: args.ipv6Subnet,
            ipv6Gateway: args.ipv6Gateway,
            enableIpv6: args.enableIpv6,
        });
        rememberHost(this, host);
    }
}
