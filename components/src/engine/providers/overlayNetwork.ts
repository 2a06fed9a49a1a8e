// The overlay driver of the Network provider (network.ts): what differs from
// a bridge network. It is made on a manager of its swarm (the resource's
// host), spans every node, and holds no bridge on any host (Docker keeps the
// bridge and the VXLAN device in a namespace of its own per network and node).
//
// Checked before anything is touched: the host manages the swarm, and with
// `encrypted`, every node's kernel takes the IPsec state Docker will program
// (Docker itself makes the network on any kernel and drops the traffic).
//
// Engine side: loaded by the dynamic-provider process.

import { hostLabel } from "../../common/specs/host";
import { NetworkInputs, NetworkOutputs } from "../../common/specs/network";
import { containsUnknown, InputFailure, isKnown } from "../../common/validation";
import { NetworkInspect } from "../../host/dockerNetworks";
import { currentHost, currentHostKey } from "../../host/hostScope";
import { onHost } from "../../host/ssh";
import * as swarm from "../../host/swarm";
import { espSupport } from "../../host/xfrm";
import { declareSwarmNetwork } from "../registry";

/** Docker's option names for an overlay. */
const OPT_ENCRYPTED = "encrypted";
const OPT_MTU = "com.docker.network.driver.mtu";
const OPT_VNI = "com.docker.network.driver.overlay.vxlanid_list";

export function isOverlay(i: Pick<NetworkInputs, "driver">): boolean {
    return i.driver === "overlay";
}

export function overlayOptions(i: NetworkInputs): Record<string, string> {
    const o: Record<string, string> = {};
    if (i.encrypted) o[OPT_ENCRYPTED] = "";
    if (i.mtu !== undefined) o[OPT_MTU] = String(i.mtu);
    return o;
}

/** For the step's text: `overlay on swarm <id>, attachable, encrypted`. */
export function overlayText(i: NetworkInputs): string[] {
    return [
        `on swarm ${i.swarm?.clusterId ?? "(new)"}`,
        i.attachable === false ? "" : "attachable",
        i.encrypted ? "encrypted (IPsec)" : "",
    ].filter(Boolean);
}

/** The overlay's VXLAN id, as Docker chose it (the first of its list). */
export function vniOf(n: NetworkInspect): number | undefined {
    const first = n.Options?.[OPT_VNI]?.split(",")[0];
    return first ? Number(first) : undefined;
}

/** The overlay's live values of what the user set. */
export function liveOverlay(n: NetworkInspect, props: NetworkOutputs): Partial<NetworkOutputs> {
    const opts = n.Options ?? {};
    return {
        driver: n.Driver === "overlay" ? "overlay" : (n.Driver as NetworkOutputs["driver"]),
        attachable: props.attachable === undefined ? undefined : n.Attachable === true,
        encrypted: props.encrypted === undefined ? undefined : OPT_ENCRYPTED in opts,
        vni: vniOf(n) ?? props.vni,
    };
}

/** Records the overlay for the checks of containers on any node (they may not see it before they join it). */
export function declareOverlay(i: NetworkInputs, id?: string): void {
    if (isKnown(i.name) && isKnown(i.swarm?.clusterId)) declareSwarmNetwork({ clusterId: i.swarm!.clusterId, name: i.name, id });
}

/** What the hosts say against an overlay's inputs: its host manages the swarm; every node can encrypt when asked to. */
export async function overlayFailures(i: NetworkInputs): Promise<InputFailure[]> {
    const failures: InputFailure[] = [];
    const host = currentHost();
    const here = host ? `host ${host.name}` : "this machine";
    if (isKnown(i.swarm?.clusterId)) {
        const info = await swarm.swarmInfo();
        if (!swarm.inSwarm(info) || !info.ControlAvailable || info.Cluster?.ID !== i.swarm!.clusterId) {
            failures.push({
                property: "swarm",
                reason: `${here} is no manager of swarm ${i.swarm!.clusterId} (its engine is ${swarm.inSwarm(info) ? `${info.ControlAvailable ? "a manager" : "a worker"} of ${info.Cluster?.ID ?? "another swarm"}` : "in no swarm"}); an overlay network is made on a manager of its swarm: refresh the Swarm, then up makes it again`,
            });
        }
    }
    if (i.encrypted === true && !containsUnknown(i.swarm?.nodes)) {
        for (const node of i.swarm?.nodes ?? []) {
            const support = await onHost(node.host, () => espSupport(currentHostKey()));
            if (!support.ok) {
                failures.push({
                    property: "encrypted",
                    reason: `\`encrypted\`: the kernel of ${hostLabel(node.host)} lacks ${support.missing}, which Docker's encrypted overlay needs: Docker would make the network and drop its traffic (the kernel said: ${support.detail}); set \`encrypted: false\` and encrypt on the underlay, or run the nodes on a kernel with CONFIG_INET_ESP and CONFIG_CRYPTO_GCM`,
                });
                break;
            }
        }
    }
    return failures;
}
