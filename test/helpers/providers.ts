// The providers as tests call them: the engine always passes stored outputs
// to read, and create/update always return outputs; the SDK's types leave
// both optional. This view says so once, instead of a `!` at every call.

import type * as pulumi from "@pulumi/pulumi";

export interface TestProvider<I, O> {
    check(olds: Partial<I>, news: I): Promise<{ inputs: I; failures?: pulumi.dynamic.CheckFailure[] }>;
    diff(id: string, olds: O, news: I): Promise<pulumi.dynamic.DiffResult>;
    create(inputs: I): Promise<{ id: string; outs: O }>;
    /** `props` is undefined (and `id` empty) when the object is gone. */
    read(id: string, props: O): Promise<{ id?: string; props: O }>;
    update(id: string, olds: O, news: I): Promise<{ outs: O }>;
    delete(id: string, props: O): Promise<void>;
}

export function forTests<I, O>(provider: pulumi.dynamic.ResourceProvider<I, O>): TestProvider<I, O> {
    return provider as unknown as TestProvider<I, O>;
}
