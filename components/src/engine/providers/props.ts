// Small helpers on provider property bags, shared by every provider.
//
// Engine side: loaded by the dynamic-provider process.

/** Deep equality of plain JSON-like values; undefined and absent are equal. */
export function sameValue(a: unknown, b: unknown): boolean {
    return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * A copy without undefined values, at any depth. The engine's wire format
 * (protobuf Struct) has no undefined: `read` results holding one fail the
 * whole refresh with "Unexpected struct type".
 */
export function definedOnly<T>(value: T): T {
    if (Array.isArray(value)) return value.map(definedOnly) as T;
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(
            Object.entries(value)
                .filter(([, v]) => v !== undefined)
                .map(([k, v]) => [k, definedOnly(v)]),
        ) as T;
    }
    return value;
}

/** The stored outputs the engine passes to `read`; it always passes them for a resource in state. */
export function storedProps<T>(props: T | undefined): T {
    if (props === undefined)
        throw new Error("failed to read a resource: the engine passed no stored state; refresh it with `pulumi refresh`");
    return props;
}

/** The key under which the engine stores a dynamic resource's provider code with its outputs. */
export const PROVIDER_KEY = "__provider";

/** The recorded outputs without the stored provider code. */
export function withoutProvider(props: Record<string, unknown>): Record<string, unknown> {
    const { [PROVIDER_KEY]: _, ...rest } = props;
    return rest;
}
