// Prompt validation in resource constructors: the values known when the
// program runs are checked at once (the preview fails before any resource is
// registered); values that are still Outputs are left to the provider's
// `check`, which sees them resolved.
//
// Program side: runs in the user's Pulumi program.

import * as pulumi from "@pulumi/pulumi";
import { ownerMark } from "../common/naming";
import { InputFailure } from "../common/validation";

/** The owner mark of a resource of this library's `type`, in the running stack, on `host` (undefined: this machine). */
export function ownerOf(type: string, name: string, host?: string): string {
    return ownerMark({ project: pulumi.getProject(), stack: pulumi.getStack(), type, name, host });
}

/**
 * Refuses a resource's arguments: one message naming the resource and every
 * bad field, shown by the CLI without a stack trace (it is the user's input,
 * not a bug). e.g. `invalid VethAttachment "seed-eth0":\n  - \`address\` ...`.
 */
export function refuse(what: string, reasons: string[]): never {
    throw new pulumi.RunError(`invalid ${what}:\n${reasons.map((r) => `  - ${r}`).join("\n")}`);
}

/** Checks the inputs that are plain values now; the rest are checked by the provider once known. */
export function checkPromptly(
    what: string,
    inputs: Record<string, unknown>,
    check: (known: Record<string, unknown>) => InputFailure[],
): void {
    const known = Object.fromEntries(Object.entries(inputs).filter(([, v]) => !containsOutput(v)));
    const failures = check(known).filter((f) => f.property in known);
    if (failures.length > 0)
        refuse(
            what,
            failures.map((f) => f.reason),
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
