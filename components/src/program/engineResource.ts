// How each resource of this library reaches its provider: a Pulumi dynamic
// resource (type `pulumi-nodejs:dynamic/hostnet:<Kind>`) whose stored
// provider (`__provider`) is one constant line per kind that `require`s the
// engine module by the package's name when the engine runs it.
//
// Pulumi's `dynamic.Resource` would serialize a provider function into that
// text with its closure serializer, once per program run: a 2 KB stub before
// 0.3 (tens of kilobytes, the whole library, before 0.2), stored twice with
// every resource (inputs and outputs). The text here is under 100 bytes, is
// the same in every program and version, and costs no serialization. The
// dynamic-provider host runs it as it runs any serialized provider
// (`require-from-string`, then `handler()`), so deletes and refreshes run the
// installed package's code. Resources stored with another text are updated
// in place once, changing nothing on the host (engine/index.ts).
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { ENGINE_MODULE } from "../common/package";
import { programFramesOnly } from "./declarationSite";

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

/** The key Pulumi's dynamic-provider host reads a resource's provider from. */
const PROVIDER_KEY = "__provider";

/** The provider text stored with every resource of a kind. */
export function providerText(kind: ResourceKind): string {
    return `exports.handler = () => require(${JSON.stringify(ENGINE_MODULE)}).provider(${JSON.stringify(kind)});\n`;
}

/** The Pulumi type of a kind, as `pulumi.dynamic.Resource` names it (`module` hostnet). */
export function dynamicType(kind: ResourceKind): string {
    return `pulumi-nodejs:dynamic/hostnet:${kind}`;
}

/**
 * The arguments of `pulumi.CustomResource`'s constructor for a resource of
 * `kind`: its dynamic type, and `props` with the kind's provider text. A
 * resource class calls `super(...engineResource(kind, name, props, opts))`;
 * the engine records it as declared by the program's own lines
 * (declarationSite.ts).
 */
export function engineResource(
    kind: ResourceKind,
    name: string,
    props: pulumi.Inputs,
    opts: pulumi.CustomResourceOptions | undefined,
): [string, string, pulumi.Inputs, pulumi.CustomResourceOptions | undefined] {
    if (PROVIDER_KEY in props)
        throw new Error(`failed to register ${kind} "${name}": \`${PROVIDER_KEY}\` is reserved; this is a bug, please report it`);
    programFramesOnly();
    return [dynamicType(kind), name, { ...props, [PROVIDER_KEY]: providerText(kind) }, opts];
}
