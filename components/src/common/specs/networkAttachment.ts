// NetworkAttachment (`docker network connect`) as the engine receives it, and its checks.
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import { checkContainerRef, checkFields, checkHostNames, checkIPv4, checkIPv6, checkUserNetwork, InputFailure } from "../validation";

export interface NetworkAttachmentInputs {
    container: string;
    network: string;
    ipv4Address?: string;
    /** Static IPv6 address (`docker network connect --ip6`); the network needs an IPv6 subnet. */
    ipv6Address?: string;
    aliases?: string[];
    /** Ownership mark; the connection carries it as an extra alias (see connectionMark). Absent before 0.2. */
    owner?: string;
}

export interface NetworkAttachmentOutputs extends NetworkAttachmentInputs {
    containerId: string;
    networkId: string;
    /** The (IPv4) address the container has on the network. */
    address: string;
    /** The IPv6 address the container has on the network, when it has IPv6 (Docker's GlobalIPv6Address). */
    globalIpv6Address?: string;
    /** Docker's id of the connection this attachment made: its ownership mark. */
    endpointId: string;
}

export function checkNetworkAttachmentInputs(inputs: Record<string, unknown>): InputFailure[] {
    return checkFields(inputs, {
        container: { check: checkContainerRef, required: true },
        network: { check: checkUserNetwork, required: true },
        ipv4Address: { check: checkIPv4 },
        ipv6Address: { check: checkIPv6 },
        aliases: { check: checkHostNames },
    });
}
