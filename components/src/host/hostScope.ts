// Which host the code running now acts on. The engine enters a host's scope
// around every provider method (engine/index.ts, from the resource's `host`),
// and `runHost` (run.ts) and `request` (docker.ts) take the current host's
// command runner and Docker transport from it, so that no function below the
// providers needs a host argument. Outside any scope: this machine, by the
// same code paths as before hosts existed.
//
// Engine side, host layer: no Pulumi imports.

import { AsyncLocalStorage } from "node:async_hooks";
import type * as http from "node:http";
import type { CommandRunner } from "./run";

/** A host other than this machine, as the host layer reaches it. */
export interface HostConnection {
    /** The host's name in the stack (`b`): in messages, owner marks and claim spaces. */
    readonly name: string;
    /** Runs argv on the host (quoted for its shell); throws HostUnreachableError when the host cannot be reached. */
    readonly runner: CommandRunner;
    /** The Engine API of the host's Docker, as an http agent (keep-alive). */
    readonly dockerAgent: http.Agent;
    /** Resolves once the host answers; throws HostUnreachableError otherwise. Cheap once connected. */
    ensure(): Promise<void>;
}

// Made when a first host other than this machine is used: a process that only
// ever acts on this machine never has one (nor the async tracking it costs).
let scope: AsyncLocalStorage<HostConnection | undefined> | undefined;

/** The host the current call acts on, or undefined for this machine. */
export function currentHost(): HostConnection | undefined {
    return scope?.getStore();
}

/** The key of the current host in per-host tables (claims, caches): "" for this machine. */
export function currentHostKey(): string {
    return scope?.getStore()?.name ?? "";
}

/** Runs `fn` on `host` (undefined: this machine), and everything it awaits. */
export function withHost<T>(host: HostConnection | undefined, fn: () => T): T {
    // This machine costs nothing extra: no scope is entered unless one is open.
    if (host === undefined && scope?.getStore() === undefined) return fn();
    scope ??= new AsyncLocalStorage<HostConnection | undefined>();
    return scope.run(host, fn);
}
