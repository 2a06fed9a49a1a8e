// The stacks Pulumi's SDK records with its promises, formatted by V8 itself.
//
// Every promise the SDK makes for a resource's outputs and inputs goes through
// its `debuggablePromise` (runtime/debuggable.js), which reads
// `new Error().stack` at once and keeps the text, for one use only: the report
// of promises still pending when the program exits. That is ~100 stacks per
// resource of this library. A TypeScript program runs under ts-node, whose
// source-map-support (and the one Pulumi's run script installs) formats every
// stack through `Error.prepareStackTrace` by cloning each call site and
// looking it up in source maps: measured at ~5 ms of CPU per resource, in
// every program run (twice per `pulumi up`).
//
// `sdkPromiseStacksPlain()` wraps the installed formatter once: a stack whose
// first frame is the SDK's debuggablePromise is formatted as V8 formats it
// when no formatter is installed (positions in the code Node runs, which for
// a .ts file is ts-node's JavaScript); every other stack goes to the
// formatter as before. Without a formatter (a JavaScript program) V8's own
// formatting is already the cheap one and nothing is installed.
//
// Program side: runs in the user's Pulumi program.

import * as path from "node:path";

type Prepare = (err: Error, sites: NodeJS.CallSite[]) => unknown;

/** Marks a wrapper, across copies of this package loaded by one program. */
const WRAPPED = Symbol.for("pulumi-hostnet.sdkPromiseStacksPlain");
const DEBUGGABLE = `${path.sep}@pulumi${path.sep}pulumi${path.sep}runtime${path.sep}debuggable.`;

/** Whether `sites` is the stack the SDK's debuggablePromise reads for its leak report. */
function isSdkPromiseStack(sites: NodeJS.CallSite[]): boolean {
    return (
        sites.length > 0 && sites[0].getFunctionName() === "debuggablePromise" && (sites[0].getFileName()?.includes(DEBUGGABLE) ?? false)
    );
}

/** V8's formatting of a stack when `Error.prepareStackTrace` is not set. */
export function v8Format(err: Error, sites: NodeJS.CallSite[]): string {
    let text = Error.prototype.toString.call(err);
    for (const site of sites) text += `\n    at ${site}`;
    return text;
}

/** Formats the SDK's promise stacks with V8's formatting from now on (see the top of this file); idempotent. */
export function sdkPromiseStacksPlain(): void {
    const hook = Error as { prepareStackTrace?: Prepare };
    const installed = hook.prepareStackTrace;
    if (!installed || (installed as unknown as Record<symbol, boolean>)[WRAPPED]) return;
    const wrapper: Prepare = (err, sites) => (isSdkPromiseStack(sites) ? v8Format(err, sites) : installed(err, sites));
    Object.defineProperty(wrapper, WRAPPED, { value: true });
    hook.prepareStackTrace = wrapper;
}
