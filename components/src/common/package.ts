// The package's own name, as other code loads it.
//
// Common: pure, used by both the program and the engine.

/** The npm name of this package. */
export const PACKAGE_NAME = "pulumi-hostnet";

/**
 * The module the engine's dynamic-provider process loads, by name, for every
 * resource of this library: what each resource's stored `__provider` requires.
 */
export const ENGINE_MODULE = `${PACKAGE_NAME}/engine`;
