// Where the engine records a resource as declared: the program's own lines.
//
// Pulumi's SDK captures, in every resource's constructor, the whole stack of
// the program at that moment (`Error.stackTraceLimit = Infinity`), sends it to
// the engine, which stores it with the resource (`stackTrace` in the state,
// its first frame as the resource's source position). Under a constructor of
// this library that stack is the program's line, then the library's frames,
// then ts-node's, Pulumi's run.ts's and Node's module loader's: ~30 frames,
// ~500 B of every resource's state, each frame looked up in source maps. Only
// the program's lines say anything about the declaration.
//
// `programFramesOnly()` is called right before a constructor of this library
// calls Pulumi's: the next stack Pulumi's SDK captures keeps the SDK's own
// leading frames and the first frame after them (the SDK skips exactly those
// when it records), then only frames of the program: files in the program's
// folder (the working directory Pulumi runs it in), outside any node_modules
// and outside this package. Any other stack is formatted as before; the hook
// is removed at its first use.
//
// Program side: runs in the user's Pulumi program.

import * as path from "node:path";
import { sdkPromiseStacksPlain, v8Format } from "./promiseStacks";

/** The folder of this package's code (dist/ when installed). */
const PACKAGE_ROOT = path.resolve(__dirname, "..");
const SDK_FOLDER = `${path.sep}@pulumi${path.sep}pulumi${path.sep}`;
const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

type Prepare = (err: Error, sites: NodeJS.CallSite[]) => unknown;

function inSdk(site: NodeJS.CallSite): boolean {
    return site.getFileName()?.includes(SDK_FOLDER) ?? false;
}

/** Node's internals, and frames without a file. */
function internal(file: string | null | undefined): boolean {
    return !file || file.startsWith("node:") || !path.isAbsolute(file.replace(/^file:\/\//, ""));
}

function inside(folder: string, file: string): boolean {
    const relative = path.relative(folder, file.replace(/^file:\/\//, ""));
    return !relative.startsWith("..") && !path.isAbsolute(relative);
}

const ours = (file: string) => inside(PACKAGE_ROOT, file);

/** Whether `sites` is the stack Pulumi's SDK captures to record a resource (Resource.callsites). */
function isSdkCapture(sites: NodeJS.CallSite[]): boolean {
    return sites.length > 0 && sites[0].getFunctionName() === "callsites" && inSdk(sites[0]);
}

/**
 * The SDK's leading frames and the constructor that called it (what the SDK
 * skips), then the program's frames; when none is in the program's folder,
 * the first frame outside this package and Node's internals.
 */
function programFrames(sites: NodeJS.CallSite[]): NodeJS.CallSite[] {
    const firstOutside = sites.findIndex((s) => !inSdk(s));
    if (firstOutside < 0) return sites;
    const rest = sites.slice(firstOutside + 1);
    const folder = process.cwd();
    const program = rest.filter((s) => {
        const file = s.getFileName();
        return !internal(file) && inside(folder, file!) && !file!.includes(NODE_MODULES) && !ours(file!);
    });
    const kept = program.length > 0 ? program : rest.filter((s) => !internal(s.getFileName()) && !ours(s.getFileName()!)).slice(0, 1);
    return [...sites.slice(0, firstOutside + 1), ...kept];
}

/** Trims the next resource stack Pulumi's SDK captures to the program's frames (see the top of this file). */
export function programFramesOnly(): void {
    const hook = Error as { prepareStackTrace?: Prepare };
    // The SDK's promise stacks skip the source-map formatter (promiseStacks.ts); wrapped under this hook, never
    // around one still waiting (a constructor that threw before Pulumi's).
    if (!hook.prepareStackTrace || !pending.has(hook.prepareStackTrace)) sdkPromiseStacksPlain();
    const previous = hook.prepareStackTrace;
    const once: Prepare = (err, sites) => {
        if (hook.prepareStackTrace === once) hook.prepareStackTrace = previous;
        pending.delete(once);
        return (previous ?? v8Format)(err, isSdkCapture(sites) ? programFrames(sites) : sites);
    };
    pending.add(once);
    hook.prepareStackTrace = once;
}

/** The hooks set and not yet used. */
const pending = new WeakSet<Prepare>();
