// The bench stack: N VethAttachments of pre-made, running `--net=none`
// containers onto a bridge (docker0), each with its own address and the
// bridge's address as default gateway. A user's stack, consuming
// "pulumi-hostnet" by name; the bench copies this file into a project folder
// of its own and sets the stack's configuration:
//   containers     the containers' names, in order
//   firstAddress   container 0's address; container i gets the i-th after it, /<prefixLength>
//   prefixLength   default 16 (docker0's)
//   bridge         the bridge (default docker0)

import * as pulumi from "@pulumi/pulumi";
import { VethAttachment } from "pulumi-hostnet";

const config = new pulumi.Config();
const containers = config.requireObject<string[]>("containers");
const first = config
    .require("firstAddress")
    .split(".")
    .reduce((n, o) => n * 256 + Number(o), 0);
const nth = (i: number) => [24, 16, 8, 0].map((shift) => ((first + i) >>> shift) & 255).join(".");
const prefixLength = config.getNumber("prefixLength") ?? 16;
const bridge = config.get("bridge") ?? "docker0";

containers.forEach((container, i) => new VethAttachment(`a${i}`, { container, bridge, address: `${nth(i)}/${prefixLength}` }));
