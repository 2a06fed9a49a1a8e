// The library's public surface.
export { Container, ContainerArgs, ContainerNetwork, networkModeOf } from "./container";
export { DockerContainer, DockerContainerArgs } from "./providers/dockerContainer";
export { VethAttachment, VethAttachmentArgs } from "./providers/vethAttachment";
export { defaultDockerName, defaultHostIfName, ownerMark, OWNER_LABEL } from "./naming";
