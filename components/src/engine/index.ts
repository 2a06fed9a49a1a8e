// The entry point the engine loads: `require("pulumi-hostnet/engine")` from
// the one line of provider text stored with each resource (see
// program/engineResource.ts). It maps a resource kind to its provider.
//
// Engine side: loaded by the dynamic-provider process, by package name, from
// the stack's installed node_modules. Deletes and refreshes of resources made
// by an older version therefore run this (the installed) version's code.

import type * as pulumi from "@pulumi/pulumi";
import { PACKAGE_NAME } from "../common/package";
import { checkHost, HostSpec, sameHost } from "../common/specs/host";
import { containsUnknown } from "../common/validation";
import { HostUnreachableError } from "../host/errors";
import { onHost, sshConnection } from "../host/ssh";
import { Measured, seeingDrift } from "./drift";
import { PROVIDER_KEY, withoutProvider } from "./providers/props";
import * as bridge from "./providers/bridge";
import * as dockerContainer from "./providers/dockerContainer";
import * as macvlanAttachment from "./providers/macvlanAttachment";
import * as network from "./providers/network";
import * as networkAttachment from "./providers/networkAttachment";
import * as policy from "./providers/policy";
import * as probe from "./providers/probe";
import * as swarmCluster from "./providers/swarmCluster";
import * as swarmNode from "./providers/swarmNode";
import * as vethAttachment from "./providers/vethAttachment";
import * as vethLink from "./providers/vethLink";
import * as vxlanLink from "./providers/vxlanLink";

type AnyProvider = pulumi.dynamic.ResourceProvider<any, any>;

type Describe = (op: "create" | "update" | "delete", olds?: any, news?: any) => string[];

const KINDS: Record<string, { provider: AnyProvider; describeChange: Describe; measured?: Measured }> = {
    Bridge: { provider: bridge.bridgeProvider, describeChange: bridge.describeChange },
    DockerContainer: { provider: dockerContainer.dockerContainerProvider, describeChange: dockerContainer.describeChange },
    MacvlanAttachment: { provider: macvlanAttachment.macvlanAttachmentProvider, describeChange: macvlanAttachment.describeChange },
    Network: { provider: network.networkProvider, describeChange: network.describeChange },
    NetworkAttachment: { provider: networkAttachment.networkAttachmentProvider, describeChange: networkAttachment.describeChange },
    Policy: { provider: policy.policyProvider, describeChange: policy.describeChange },
    Probe: { provider: probe.probeProvider, describeChange: probe.describeChange, measured: probe.measured },
    SwarmCluster: { provider: swarmCluster.swarmClusterProvider, describeChange: swarmCluster.describeChange },
    SwarmNode: { provider: swarmNode.swarmNodeProvider, describeChange: swarmNode.describeChange },
    VethAttachment: { provider: vethAttachment.vethAttachmentProvider, describeChange: vethAttachment.describeChange },
    VethLink: { provider: vethLink.vethLinkProvider, describeChange: vethLink.describeChange },
    VxlanLink: { provider: vxlanLink.vxlanLinkProvider, describeChange: vxlanLink.describeChange },
};

/** The resource kinds this version serves. */
export const RESOURCE_KINDS = Object.keys(KINDS);

/**
 * True when a resource's stored provider text (its old outputs' `__provider`)
 * is not the one the program now sends: code by value (versions before 0.2
 * stored the whole library, tens of kilobytes), the 2 KB serialized stub of
 * 0.2, or any other version's text.
 */
export function storedProviderDiffers(olds: Record<string, unknown> | undefined, news: Record<string, unknown> | undefined): boolean {
    const stored = olds?.[PROVIDER_KEY];
    const sent = news?.[PROVIDER_KEY];
    return typeof stored === "string" && typeof sent === "string" && stored !== sent;
}

/**
 * A resource whose stored provider text differs from the program's, and that
 * has nothing else to change, is updated in place once, changing nothing on
 * the host: the engine then stores the program's text with it (inputs and
 * outputs), and later deletes and refreshes run the installed code.
 */
function migrating(inner: AnyProvider): AnyProvider {
    return {
        ...inner,
        async diff(id, olds, news) {
            const result = inner.diff ? await inner.diff(id, olds, news) : { changes: false };
            return !result.changes && storedProviderDiffers(olds, news) ? { ...result, changes: true } : result;
        },
        async update(id, olds, news) {
            const result = inner.diff ? await inner.diff(id, olds, news) : { changes: false };
            // Nothing to change: the outputs stay as they were (the engine stores the new provider with them).
            if (!result.changes) return { outs: withoutProvider(olds) };
            if (!inner.update)
                throw new Error(
                    `failed to update a ${PACKAGE_NAME} resource in place: its provider has no update; this is a bug, please report it`,
                );
            return inner.update(id, olds, news);
        },
    };
}

/** The host a resource lives on (its `host` input or output), or undefined for this machine. */
function hostOfProps(props: unknown): HostSpec | undefined {
    const host = (props as { host?: unknown } | undefined)?.host;
    return typeof host === "object" && host !== null ? (host as HostSpec) : undefined;
}

/**
 * Runs every method of a provider on the resource's host: inside the host's
 * scope, `runHost` and the Docker client act on that host (host/
 * hostScope.ts). A resource of this machine (no `host`) runs as before, with
 * no scope at all. A host that cannot be reached fails the preview's `check`
 * of its own resources only, with a message naming it. Changing the host (its
 * name) replaces the resource; changing how it is reached (address, port,
 * user, keys) updates the stored details and touches nothing.
 */
function onItsHost(inner: AnyProvider): AnyProvider {
    return {
        ...inner,
        async check(olds, news) {
            const host = hostOfProps(news);
            if (!host) return inner.check!(olds, news);
            const failures = checkHost("host", host, containsUnknown);
            if (failures.length > 0) return { inputs: news, failures };
            // Not known yet (an output of another resource): checked at create.
            if (containsUnknown(host)) return { inputs: news, failures: [] };
            try {
                return await onHost(host, async () => {
                    await sshConnection(host).ensure();
                    return inner.check!(olds, news);
                });
            } catch (err) {
                // No property: the engine would print the value of `host` with it.
                if (err instanceof HostUnreachableError) return { inputs: news, failures: [{ property: "", reason: err.message }] };
                throw err;
            }
        },
        async diff(id, olds, news) {
            const result = inner.diff ? await inner.diff(id, olds, news) : { changes: false };
            if (!sameHost(hostOfProps(olds), hostOfProps(news))) {
                return { ...result, changes: true, replaces: [...(result.replaces ?? []), "host"] };
            }
            return JSON.stringify(olds.host ?? null) === JSON.stringify(news.host ?? null) ? result : { ...result, changes: true };
        },
        create: (inputs) => onHost(hostOfProps(inputs), () => inner.create(inputs)),
        read: (id, props) => onHost(hostOfProps(props), () => inner.read!(id, props)),
        update: (id, olds, news) =>
            onHost(hostOfProps(news), async () => {
                // Only how the host is reached changed: store it, touch nothing. (An update with the same
                // inputs and host is the provider's own: a Probe run again after a repair on its path.)
                const reached = JSON.stringify(olds.host ?? null) !== JSON.stringify(news.host ?? null);
                const result = reached && inner.diff ? await inner.diff(id, olds, news) : { changes: true };
                if (!result.changes) return { outs: { ...withoutProvider(olds), host: news.host } };
                return inner.update!(id, olds, news);
            }),
        delete: (id, props) => onHost(hostOfProps(props), () => inner.delete!(id, props)),
    };
}

const cache = new Map<string, AnyProvider>();

/** The provider of one resource kind, e.g. `VethAttachment`. */
export function provider(kind: string): AnyProvider {
    let p = cache.get(kind);
    if (!p) {
        const inner = KINDS[kind]?.provider;
        if (!inner) {
            throw new Error(
                `failed to load the provider of a "${kind}" resource: the installed ${PACKAGE_NAME} has no such resource kind ` +
                    `(it serves ${RESOURCE_KINDS.join(", ")}); install the ${PACKAGE_NAME} version that created it`,
            );
        }
        p = migrating(seeingDrift(kind, onItsHost(inner), KINDS[kind].measured));
        cache.set(kind, p);
    }
    return p;
}

/**
 * The host operations a change of one resource will run, one line each, for
 * people (the CI preview report): computed by the same plan functions the
 * provider executes, with nothing read from the host. `kind` is the resource
 * type's last part (`VethAttachment`); a replacement is a delete of `olds`
 * and a create of `news`, in the order the engine runs them.
 */
export function describeChange(
    kind: string,
    op: "create" | "update" | "replace" | "delete",
    olds?: Record<string, unknown>,
    news?: Record<string, unknown>,
): string[] {
    const k = KINDS[kind];
    if (!k) return [];
    if (op === "replace") return [...k.describeChange("delete", olds), ...k.describeChange("create", undefined, news)];
    return k.describeChange(op, olds, news);
}
