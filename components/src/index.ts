// pulumi-hostnet: Docker container networking on a Linux host, as Pulumi
// resources. This is the public surface, all of it program side (it runs in
// the user's Pulumi program). The engine loads `pulumi-hostnet/engine` by
// name (src/engine/), never this module.

export { Bridge, BridgeArgs } from "./program/bridge";
export { Container, ContainerArgs, ContainerNetwork, EndpointArgs, resolveNetwork } from "./program/container";
export { DockerContainer, DockerContainerArgs } from "./program/dockerContainer";
export { MacvlanAttachment, MacvlanAttachmentArgs, ParentRef, SublinkMode } from "./program/macvlanAttachment";
export { Network, NetworkArgs } from "./program/network";
export { NetworkAttachment, NetworkAttachmentArgs } from "./program/networkAttachment";
export { Policy, PolicyArgs, PolicyEndpointArgs, PolicyRuleArgs } from "./program/policy";
export { Probe, ProbeArgs } from "./program/probe";
export { BridgeRef, VethAttachment, VethAttachmentArgs } from "./program/vethAttachment";
export { VethLink, VethLinkArgs, VethLinkEndArgs } from "./program/vethLink";
export { VxlanLink, VxlanLinkArgs, VxlanLinkEndArgs } from "./program/vxlanLink";
export { Host, HostArgs, HostRef, SshArgs } from "./program/host";
export { Swarm, SwarmArgs, SwarmCluster, SwarmNode, SwarmNodeArgs } from "./program/swarm";
export { SwarmAvailability, SwarmRole } from "./common/specs/swarm";
export { Sandbox, SandboxArgs, SandboxAttachmentArgs, SandboxMemberArgs } from "./program/sandbox";
export { ContainerLike, ContainerRef, DockerContainerResource, DockerNetworkResource, NetworkRef } from "./program/refs";
export { NetMode } from "./common/modes";
export { Bandwidth } from "./common/specs/bandwidth";
export { SublinkKind } from "./common/specs/macvlanAttachment";
export { defaultDockerName, defaultHostIfName, ownerMark, OWNER_LABEL } from "./common/naming";
export {
    checkTopology,
    Topology,
    TopologyArgs,
    TopologyAttachment,
    TopologyBridge,
    TopologyDefaults,
    TopologyLink,
    TopologyNetwork,
    TopologyNode,
    TopologySpec,
    topologyNames,
} from "./program/topology";
