// What the program declares around each container, for the resources that
// reason about a container as a whole: the addresses its VethAttachments give
// it (a Policy's sets count them before they exist, so that a rule holds from
// the first up on), and the resources that make its network (a Probe runs
// after them). Filled by the constructors of VethAttachment, VethLink and
// NetworkAttachment; read lazily, once the program's body has run, so that
// the order of declarations does not matter.
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";

interface Declared {
    /** Interface addresses (with prefix length) the program gives the container. */
    addresses: (pulumi.Input<string | undefined> | pulumi.Input<pulumi.Input<string>[] | undefined>)[];
    /** Resources that make the container's network (attachments, links). */
    resources: pulumi.Resource[];
    /** What those resources were declared with, for digests of the network. */
    inputs: unknown[];
}

// Keyed by the container as the program names it: a resource (this library's Container, @pulumi/docker's) or a name.
const byObject = new WeakMap<object, Declared>();
const byName = new Map<string, Declared>();

function entry(container: unknown, create: boolean): Declared | undefined {
    const table = typeof container === "string" ? byName : typeof container === "object" && container !== null ? byObject : undefined;
    if (!table) return undefined;
    const key = container as string & object;
    let d = table.get(key);
    if (!d && create) {
        d = { addresses: [], resources: [], inputs: [] };
        table.set(key, d);
    }
    return d;
}

/** Records that `resource` makes part of `container`'s network, giving it `addresses` (interface addresses, either family) if any. */
export function declareForContainer(
    container: unknown,
    resource: pulumi.Resource,
    inputs: unknown,
    ...addresses: (pulumi.Input<string | undefined> | pulumi.Input<pulumi.Input<string>[] | undefined>)[]
): void {
    const d = entry(container, true);
    if (!d) return;
    d.resources.push(resource);
    d.inputs.push(inputs);
    for (const a of addresses) if (a !== undefined) d.addresses.push(a);
}

/**
 * `read()`, once the program's body has run (at the next turn of the event
 * loop: what a program declares synchronously, in any order, is all there).
 */
export function afterProgram<T>(read: () => T): Promise<T> {
    return new Promise((resolve) => setImmediate(() => resolve(read())));
}

/** What the program declares for `container`, once its body has run. */
export function declaredFor(container: unknown): Promise<Declared> {
    return afterProgram(() => entry(container, false) ?? { addresses: [], resources: [], inputs: [] });
}

/** The interface addresses the program gives `container`, once known. */
export function declaredAddresses(container: unknown): pulumi.Output<string[]> {
    return pulumi
        .output(declaredFor(container).then((d) => d.addresses))
        .apply((a) => pulumi.all(a.map((x) => pulumi.output(x))))
        .apply((a) => (a as (string | string[] | undefined)[]).flat().filter((x): x is string => typeof x === "string"));
}

/** `dependsOn` of the options, with `more` (resources found once the program's body has run) added. */
export function withDependencies(
    dependsOn: pulumi.Input<pulumi.Input<pulumi.Resource>[]> | pulumi.Input<pulumi.Resource> | undefined,
    more: Promise<pulumi.Resource[]>,
): pulumi.Input<pulumi.Input<pulumi.Resource>[]> {
    return pulumi
        .output(more)
        .apply((found) =>
            pulumi
                .output(dependsOn as pulumi.Input<pulumi.Resource | pulumi.Resource[]> | undefined)
                .apply((given) => [...(Array.isArray(given) ? given : given ? [given] : []), ...found]),
        );
}

/**
 * The value of `o`, known or not (at a preview), without the resources it
 * came from: for an input whose resources are already in `dependsOn`, so
 * that the state does not list them a second time as the input's property
 * dependencies. Reads the Output's value and knownness as the SDK's own
 * `output()` does (its `promise(withUnknowns)` and `isKnown`).
 */
export function withoutPropertyDependencies<T>(o: pulumi.Output<T>): pulumi.Output<T> {
    const inner = o as unknown as { promise(withUnknowns: boolean): Promise<T>; isKnown: Promise<boolean> };
    return pulumi.output(
        Promise.all([inner.promise(true), inner.isKnown]).then(([value, known]) => (known ? value : pulumi.unknown)),
    ) as pulumi.Output<T>;
}
