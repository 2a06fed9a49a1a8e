// Pulumi mocks that also record what the mocks' `newResource` does not show:
// each registration's URN, parent and dependencies, read from the request the
// program sends to the (mock) resource monitor. Proof limit: mocks never run a
// provider; these tests say what the program registers, not what the host gets.

import * as pulumi from "@pulumi/pulumi";

export interface Registration {
    urn: string;
    type: string;
    name: string;
    parent: string;
    custom: boolean;
    /** Inputs as the program sent them (Outputs resolved). */
    inputs: Record<string, any>;
    /** URNs of the resources this one depends on. */
    dependencies: string[];
    /** Per input property, the URNs its value came from. */
    propertyDependencies: Record<string, string[]>;
    /** Outputs the resource asks to be kept as secrets (`additionalSecretOutputs`). */
    additionalSecretOutputs: string[];
    /** Top-level inputs the program sent as unknown (at a preview: computed from what is not known yet). */
    unknownInputs: string[];
}

/**
 * Sets mocks for `project`/`stack` and returns the list every registration is
 * appended to. `newResource` gives a resource's id and outputs (default: id
 * `<name>-id`; its inputs, plus `containerId`, `networkId` and `bridge`
 * derived from its name, and a VxlanLink's `effectiveMtu`). With `preview`,
 * the program runs as in `pulumi preview`: an output a resource's state does
 * not hold is unknown, as the engine makes it.
 */
export async function recordingMocks(
    project: string,
    stack: string,
    newResource: (args: pulumi.runtime.MockResourceArgs) => pulumi.runtime.MockResourceResult = defaultResource,
    preview = false,
): Promise<Registration[]> {
    const registered: Registration[] = [];
    await pulumi.runtime.setMocks({ newResource, call: (args) => args.inputs }, project, stack, preview);
    const monitor = pulumi.runtime.getMonitor() as any;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) => {
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
            propertyDependencies[key] = deps.getUrnsList();
        });
        const base = {
            type: req.getType(),
            name: req.getName(),
            parent: req.getParent(),
            custom: req.getCustom(),
            dependencies: req.getDependenciesList(),
            propertyDependencies,
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        };
        register(req, (err: any, resp: any) => {
            const raw = req.getObject().toJavaScript() as Record<string, unknown>;
            const unknownInputs = Object.keys(raw).filter((k) => raw[k] === pulumi.runtime.unknownValue);
            if (!err)
                registered.push({
                    ...base,
                    urn: resp.getUrn(),
                    inputs: pulumi.runtime.deserializeProperties(req.getObject()),
                    unknownInputs,
                });
            callback(err, resp);
        });
    };
    return registered;
}

function defaultResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
    const state = {
        ...args.inputs,
        containerId: `${args.name}-cid`,
        networkId: `${args.name}-nid`,
        bridge: `br-${args.name}`,
        // A VxlanLink's MTU, as its provider computes it (the underlay's 1500 minus 50).
        ...(args.type.endsWith(":VxlanLink") ? { effectiveMtu: args.inputs.mtu ?? 1450 } : {}),
    };
    return { id: `${args.name}-id`, state };
}

/** Resolves when an Output has a value (under mocks, when its resource is registered). */
export function settle<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((v) => resolve(v)));
}

/** Lets pending registrations finish. */
export async function drain(): Promise<void> {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** The registration of `resource` among `registered`, once the mocks have it. */
export async function registrationOf(registered: Registration[], resource: { urn: pulumi.Output<string> }): Promise<Registration> {
    const urn = await settle(resource.urn);
    await drain();
    const r = registered.find((x) => x.urn === urn);
    if (!r) throw new Error(`not registered: ${urn}`);
    return r;
}
