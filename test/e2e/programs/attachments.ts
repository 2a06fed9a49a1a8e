// The program of the crash and concurrency tests (test/e2e/crash.test.ts): N
// VethAttachments of existing --net=none containers onto one bridge, which the
// stack names (made by someone else), creates, or adopts. Configuration:
//   containers  JSON list of container names (one attachment each, `a0`, `a1`, ...)
//   bridge      the bridge's name
//   bridgeMode  "name" (default: a bridge made outside the stack), "create", "adopt"
//   prefix      the /24's first three octets: the bridge is <prefix>.1, attachment i <prefix>.<first + i>
//   first       the host number of the first attachment (default 10)
//   adoptAddress  with bridgeMode "adopt": an address the stack adds to the adopted bridge ("none", the default: none)

import * as pulumi from "@pulumi/pulumi";
import { Bridge, VethAttachment } from "pulumi-hostnet";

const config = new pulumi.Config();
const containers = config.requireObject<string[]>("containers");
const prefix = config.require("prefix");
const first = config.getNumber("first") ?? 10;
const name = config.require("bridge");
const mode = config.get("bridgeMode") ?? "name";

const bridge =
    mode === "name"
        ? name
        : new Bridge("lan", {
              name,
              adopt: mode === "adopt",
              addresses:
                  mode === "create"
                      ? [`${prefix}.1/24`]
                      : (config.get("adoptAddress") ?? "none") !== "none"
                        ? [config.require("adoptAddress")]
                        : undefined,
          });

export const hostIfNames = containers.map(
    (container, i) => new VethAttachment(`a${i}`, { container, bridge, address: `${prefix}.${first + i}/24` }).hostIfName,
);
