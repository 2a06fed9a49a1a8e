// NetworkAttachment: `docker network connect` of a running container,
// without recreating it. The resource class and its arguments; the engine
// side is engine/providers/networkAttachment.ts.
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { checkNetworkAttachmentInputs } from "../common/specs/networkAttachment";
import { engineResource } from "./engineResource";
import { HostRef, hostSetMembers, rememberHost, resolveHost } from "./host";
import { declaredAddressFailures } from "./network";
import { checkPromptly, ownerOf, refuse } from "./promptCheck";
import { declareForContainer } from "./declared";
import { containerIdOf, ContainerRef, networkIdOf, NetworkRef } from "./refs";

export interface NetworkAttachmentArgs {
    /** The container: a Container or a name or id. Changing it replaces the attachment, not the container. */
    container: ContainerRef;
    /** The user-defined network: a Network or a name or id. Changing it replaces the attachment. */
    network: NetworkRef;
    /** Static IPv4 address on the network. Changed in place (reconnect). Default: Docker's IPAM picks one. */
    ipv4Address?: pulumi.Input<string>;
    /**
     * Static IPv6 address on the network (`docker network connect --ip6`); the
     * network needs an IPv6 subnet. Changed in place (reconnect). Default:
     * Docker's IPAM picks one when the network has IPv6.
     */
    ipv6Address?: pulumi.Input<string>;
    /** DNS aliases on the network. Changed in place (reconnect). */
    aliases?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * The host it lives on: a Host, or `{ name?, ssh: { host, port?, user?, privateKeyPath?, knownHostsPath? } }`.
     * Default: the nearest Host among its parents, else the container's host (a Container), else this machine. Changing it replaces the resource.
     */
    host?: HostRef;
}

/** A running container's connection to a user-defined network, made and changed without recreating the container. */
export class NetworkAttachment extends pulumi.CustomResource {
    declare readonly containerId: pulumi.Output<string>;
    declare readonly networkId: pulumi.Output<string>;
    /** The container's IPv4 address on the network. */
    declare readonly address: pulumi.Output<string>;
    /** The container's IPv6 address on the network, when it has IPv6. */
    declare readonly globalIpv6Address: pulumi.Output<string | undefined>;

    constructor(name: string, args: NetworkAttachmentArgs, opts?: pulumi.CustomResourceOptions) {
        const what = `NetworkAttachment "${name}"`;
        const host = resolveHost(what, args.host, opts, [
            { field: "container", value: args.container },
            { field: "network", value: args.network },
        ]);
        const inputs = {
            container: containerIdOf(what, "container", args.container, "networkAttachment"),
            network: networkIdOf(args.network),
            ipv4Address: args.ipv4Address,
            ipv6Address: args.ipv6Address,
            aliases: args.aliases,
            owner: ownerOf("NetworkAttachment", name, host?.name),
            ...(host ? { host: host.input } : {}),
        };
        checkPromptly(what, inputs, checkNetworkAttachmentInputs);
        // A static address on a Network of this program is checked against its declared subnet now, in the preview.
        const failures = declaredAddressFailures(args.network, "", args.ipv4Address, args.ipv6Address);
        if (failures.length > 0) refuse(what, failures);
        // On a swarm's overlay: made once its host's engine joined the swarm, removed before it leaves.
        const members = hostSetMembers(host, [args.network]);
        super(
            ...engineResource(
                "NetworkAttachment",
                name,
                {
                    containerId: undefined,
                    networkId: undefined,
                    address: undefined,
                    globalIpv6Address: undefined,
                    endpointId: undefined,
                    ...inputs,
                },
                members.length === 0 ? opts : pulumi.mergeOptions(opts, { dependsOn: members }),
            ),
        );
        rememberHost(this, host);
        // A Policy counts the address before the connection is made (and the new one when it changes).
        declareForContainer(args.container, this, inputs, args.ipv4Address, args.ipv6Address);
    }
}
