// Prompt validation in resource constructors: the values known when the
// program runs are checked at once (the preview fails before any resource is
// registered); values that are still Outputs are left to the provider's
// `check`, which sees them resolved.
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { ownerMark } from "../common/naming";
import { InputFailure, throwIfFailures } from "../common/validation";

/** The owner mark of a resource of this library's `type`, in the running stack. */
export function ownerOf(type: string, name: string): string {
    return ownerMark({ project: pulumi.getProject(), stack: pulumi.getStack(), type, name });
}

export function checkPromptly(
    what: string,
    inputs: Record<string, unknown>,
    check: (known: Record<string, unknown>) => InputFailure[],
): void {
    const known = Object.fromEntries(Object.entries(inputs).filter(([, v]) => !containsOutput(v)));
    throwIfFailures(
        what,
        check(known).filter((f) => f.property in known),
    );
}

function containsOutput(value: unknown): boolean {
    if (pulumi.Output.isInstance(value) || value instanceof Promise) return true;
    if (Array.isArray(value)) return value.some(containsOutput);
    if (typeof value === "object" && value !== null && !pulumi.Resource.isInstance(value)) {
        return Object.values(value).some(containsOutput);
    }
    return false;
}
