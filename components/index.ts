// The library's public surface.
export { Container, ContainerArgs, ContainerNetwork, EndpointArgs, NetworkRef, resolveNetwork } from "./container";
export { Bridge, BridgeArgs } from "./providers/bridge";
export { DockerContainer, DockerContainerArgs } from "./providers/dockerContainer";
export { Network, NetworkArgs } from "./providers/dockerNetwork";
export { NetworkAttachment, NetworkAttachmentArgs } from "./providers/networkAttachment";
export { VethAttachment, VethAttachmentArgs } from "./providers/vethAttachment";
export { VethLink, VethLinkArgs, VethLinkEndArgs } from "./providers/vethLink";
export { defaultDockerName, defaultHostIfName, ownerMark, OWNER_LABEL } from "./naming";
