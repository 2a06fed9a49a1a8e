// The provider object each dynamic resource of this library hands to Pulumi.
//
// Pulumi serializes a dynamic resource's provider into the state of every
// resource (`__provider`) and later runs that text in the engine's
// dynamic-provider process. Modules a provider captures are copied into that
// text by value unless they are found under node_modules, so capturing the
// real providers would store the whole library with each resource. These
// stubs capture only two strings; each method `require`s the engine module by
// the package's name when it runs, from the stack's own node_modules. The text
// stored per resource is a few hundred bytes whatever the library's size.
//
// Program side: runs in the user's Pulumi program.

import type * as pulumi from "@pulumi/pulumi";
import { ENGINE_MODULE } from "../common/package";

/** The kinds of dynamic resource this library registers. */
export type ResourceKind =
    | "Bridge"
    | "DockerContainer"
    | "MacvlanAttachment"
    | "Network"
    | "NetworkAttachment"
    | "Policy"
    | "Probe"
    | "SwarmCluster"
    | "SwarmNode"
    | "VethAttachment"
    | "VethLink"
    | "VxlanLink";

// Copied into a local so that the serialized closures capture a string, not the module.
const engineModule: string = ENGINE_MODULE;

function stub(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
    // `require` is never captured by Pulumi's serializer: it resolves when the method runs.
    const load = (): pulumi.dynamic.ResourceProvider => require(engineModule).provider(kind);
    return {
        check: (olds, news) => load().check!(olds, news),
        diff: (id, olds, news) => load().diff!(id, olds, news),
        create: (inputs) => load().create(inputs),
        read: (id, props) => load().read!(id, props),
        update: (id, olds, news) => load().update!(id, olds, news),
        delete: (id, props) => load().delete!(id, props),
    };
}

const stubs = new Map<ResourceKind, pulumi.dynamic.ResourceProvider>();

/**
 * The stub provider of a kind: one object per kind, so that Pulumi serializes
 * it once per program (it caches by object), not once per resource.
 */
export function engineProvider(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
    let p = stubs.get(kind);
    if (!p) {
        p = stub(kind);
        stubs.set(kind, p);
    }
    return p;
}
