// Sandbox: a network namespace that outlives the containers using it (what
// Kubernetes does with its pause container).
//
// A veth dies with the namespace it is in, and a container's namespace dies
// with the container: every restart of an application container attached
// directly loses its interfaces until something re-attaches them. A Sandbox
// holds the namespace in a long-lived `--net=none` container that does
// nothing but sleep, carries the veth attachments itself, and lets
// application containers join it with `--net=container:<holder>`. An
// application restart then re-joins the same namespace: its interfaces,
// addresses and routes are all still there, with nothing to repair.
//
// Only a restart of the holder itself (rare: it runs `sleep`) loses the
// attachments; `hostnet watch` re-attaches them, and reports the members left
// in the old namespace (restart them to join again).
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { NetMode } from "../common/modes";
import { Container, ContainerArgs } from "./container";
import { ContainerLike } from "./refs";
import { VethAttachment, VethAttachmentArgs } from "./vethAttachment";
import { programFramesOnly } from "./declarationSite";

/** A veth attachment of the sandbox's namespace: VethAttachment's arguments, without `container` (the sandbox is it). */
export type SandboxAttachmentArgs = Omit<VethAttachmentArgs, "container">;

/** An application container in the sandbox: Container's arguments, without `network` (it is the sandbox's) and `ports`. */
export type SandboxMemberArgs = Omit<ContainerArgs, "network" | "ports">;

export interface SandboxArgs {
    /**
     * Image of the holder container, present locally; it must have a `sleep`
     * command unless `command` is given (busybox has one). Changing it replaces
     * the holder, and with it every attachment and member.
     */
    image: pulumi.Input<string>;
    /** Docker name of the holder. Default `hn-<stack>-<name>`. Changing it replaces the holder. */
    name?: pulumi.Input<string>;
    /**
     * The holder's command: anything that runs forever and does nothing.
     * Default `["sleep", "2147483647"]`. Changing it replaces the holder.
     */
    command?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Restart policy of the holder: `no`, `always`, `unless-stopped`,
     * `on-failure[:N]`. Default `unless-stopped`, so that Docker starts it
     * again after a reboot (then `hostnet watch` re-attaches it). Changed in place.
     */
    restartPolicy?: pulumi.Input<string>;
    /** Labels of the holder (names under `io.hostnet.` are reserved). Changing them replaces the holder. */
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * The namespace's veth attachments, by interface: each key names a
     * VethAttachment `<name>-<key>`, and is its interface name in the
     * namespace unless `containerIfName` says otherwise. E.g.
     * `{ eth0: { bridge: "docker0", address: "172.17.0.9/16" } }`.
     */
    attachments?: Record<string, SandboxAttachmentArgs>;
}

/**
 * A long-lived `--net=none` container holding a network namespace, the veth
 * attachments on it, and application containers sharing it
 * (`--net=container:`), which keep their network across their restarts.
 * It is a container reference itself: pass it as `container` to a
 * VethAttachment or a VethLink end, or as the target of a Container's
 * `{ mode: "container", container: sandbox }`.
 */
export class Sandbox extends pulumi.ComponentResource implements ContainerLike {
    /** Full Docker id of the holder. */
    public readonly containerId: pulumi.Output<string>;
    /** Docker name of the holder. */
    public readonly containerName: pulumi.Output<string>;
    /** The holder's network mode: `none` (its interfaces are the sandbox's attachments). */
    public readonly networkMode: NetMode = "none";
    /** The attachments, by the keys of `args.attachments`. */
    public readonly attachments: Record<string, VethAttachment>;

    private readonly sandboxName: string;

    constructor(name: string, args: SandboxArgs, opts?: pulumi.ComponentResourceOptions) {
        programFramesOnly();
        super("hostnet:index:Sandbox", name, {}, opts);
        this.sandboxName = name;
        const holder = new Container(
            name,
            {
                image: args.image,
                name: args.name,
                command: args.command ?? ["sleep", "2147483647"],
                network: { mode: "none" },
                restartPolicy: args.restartPolicy ?? "unless-stopped",
                labels: args.labels,
            },
            { parent: this },
        );
        this.containerId = holder.containerId;
        this.containerName = holder.containerName;
        this.attachments = {};
        for (const [key, a] of Object.entries(args.attachments ?? {})) {
            this.attachments[key] = new VethAttachment(
                `${name}-${key}`,
                { ...a, container: holder, containerIfName: a.containerIfName ?? key },
                { parent: this },
            );
        }
        this.registerOutputs({ containerId: this.containerId, containerName: this.containerName });
    }

    /**
     * Adds an application container to the sandbox: `--net=container:<holder>`.
     * It is created after the attachments, so its network is ready when it
     * starts; restarting it keeps that network. Replacing the holder replaces it.
     * Its resources are named `name`, as a Container's; `opts.parent` defaults
     * to the sandbox.
     */
    public addContainer(name: string, args: SandboxMemberArgs, opts?: pulumi.ComponentResourceOptions): Container {
        const given = args as ContainerArgs;
        const refusals = [
            given.network !== undefined &&
                "`network` cannot be set: a member uses the sandbox's network namespace; add attachments to the sandbox instead",
            given.ports !== undefined &&
                "`ports` cannot be set: a member uses the sandbox's network namespace, where Docker publishes no ports; reach it at the sandbox's attachment addresses",
        ].filter((r): r is string => typeof r === "string");
        if (refusals.length > 0) {
            throw new Error(`invalid Sandbox "${this.sandboxName}" member "${name}":\n${refusals.map((r) => `  - ${r}`).join("\n")}`);
        }
        return new Container(
            name,
            { ...args, network: { mode: "container", container: this } },
            { parent: this, ...opts, dependsOn: withDependencies(Object.values(this.attachments), opts?.dependsOn) },
        );
    }
}

/** `dependsOn` with `first` added, whatever shape the user's `dependsOn` has. */
function withDependencies(
    first: pulumi.Resource[],
    more: pulumi.ComponentResourceOptions["dependsOn"],
): pulumi.Input<pulumi.Input<pulumi.Resource>[]> {
    if (more === undefined) return first;
    if (Array.isArray(more)) return [...first, ...more];
    // A resource, or an Output/Promise of one or of a list (resources are not unwrapped by pulumi.output).
    return pulumi
        .output(more as pulumi.Input<pulumi.Resource | pulumi.Resource[]>)
        .apply((m) => [...first, ...(Array.isArray(m) ? m : [m])]);
}
