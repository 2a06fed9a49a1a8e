// A Pulumi program for the Sandbox e2e test (test/e2e/sandbox.test.ts): a
// sandbox on docker0 with one attachment, and an application container in it
// serving HTTP on port 8080 of the sandbox's address.

import * as pulumi from "@pulumi/pulumi";
import { Sandbox } from "pulumi-hostnet";

const config = new pulumi.Config();
const image = "hostnet/busybox:1";

const pod = new Sandbox("pod", {
    image,
    attachments: { eth0: { bridge: "docker0", address: config.require("address") } },
});
const app = pod.addContainer("app", {
    image,
    command: ["sh", "-c", "echo sandboxed > /tmp/index.html && exec httpd -f -p 8080 -h /tmp"],
    restartPolicy: "unless-stopped",
});

export const holder = pod.containerName;
export const application = app.containerName;
export const hostInterface = pod.attachments.eth0.hostIfName;
