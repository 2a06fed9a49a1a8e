// The netlink helper: one small long-lived process per engine process
// (`hostnet-netlink`, Go, components/netlink/), started on first use, that
// does this machine's host work: links, addresses and routes over netlink,
// in a container's namespace entered with setns on a locked thread, and
// the few programs the library still runs (iptables), forked from it rather
// than from this ~150 MB Node process (a fork of which blocks the event loop
// for milliseconds). Requests go over its standard input as JSON lines, one
// per namespace, and are answered in any order by id (helper.go's protocol).
//
// HOSTNET_HELPER chooses how host work is done on this machine:
//   netlink (default)  the helper's netlink operations; programs forked by the helper
//   exec               `ip`/`nsenter`/`iptables` processes as before, forked by the helper
//   off                `ip`/`nsenter`/`iptables` processes forked by this process
// A helper binary that is missing (a platform it is not built for) falls back
// to `off`, and says so once on standard error. Hosts reached over SSH never
// use it: their commands run in shell sessions there (ssh.ts).
//
// Engine side, host layer: no Pulumi imports.

import { ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { currentHost } from "./hostScope";

/** One operation of the helper (components/netlink/ops.go `Op`); built only by ip.ts, netns.ts and run.ts. */
export interface HelperOp {
    op: string;
    [field: string]: unknown;
}

/** Why an operation failed, at the level of the kernel's errno. */
export interface HelperError {
    /** Index of the failed operation in the request. */
    index: number;
    /** Symbolic errno: "EEXIST", "ENODEV", ... (none for a request the helper could not read). */
    errno?: string;
    /** The kernel's words. */
    message: string;
    /** The request's namespace could not be entered (its process is gone). */
    netns?: boolean;
}

export type HelperAnswer = { results: unknown[]; error?: undefined } | { error: HelperError; results?: undefined };

/** Runs `ops` in order in the network namespace of process `ns` (undefined: the host's), up to the first failure. */
export type HelperTransport = (ns: number | undefined, ops: readonly HelperOp[]) => Promise<HelperAnswer>;

export type HelperMode = "netlink" | "exec" | "off";

/** The protocol version this engine speaks (components/netlink/main.go `Protocol`). */
export const HELPER_PROTOCOL = 3;

/** How host work is done on this machine (HOSTNET_HELPER). */
export function helperMode(): HelperMode {
    const mode = process.env.HOSTNET_HELPER ?? "netlink";
    if (mode === "netlink" || mode === "exec" || mode === "off") return mode;
    throw new Error(`HOSTNET_HELPER is "${mode}": set netlink (the default), exec or off`);
}

/** Where the helper is: shipped in the package for each Linux architecture, found relative to this module. */
export function helperPath(): string {
    return process.env.HOSTNET_HELPER_PATH ?? join(__dirname, "..", "..", "native", `linux-${process.arch}`, "hostnet-netlink");
}

let injected: HelperTransport | undefined;
let live: HelperProcess | undefined;
let missingSaid = false;

/** Replaces the helper (tests serve it from a fake kernel); undefined goes back to the real one. Returns the previous. */
export function setHelperTransport(next: HelperTransport | undefined): HelperTransport | undefined {
    const previous = injected;
    injected = next;
    return previous;
}

/**
 * The helper when its netlink operations do this host work: on this machine
 * (not a host over SSH) with HOSTNET_HELPER=netlink; undefined when the work
 * is a command (`ip`, `nsenter`, `sysctl`) instead.
 */
export function netlinkHelper(): HelperTransport | undefined {
    return currentHost() || helperMode() !== "netlink" ? undefined : localHelper();
}

/**
 * The helper for this machine's work, or undefined when host work runs as
 * processes of this one (HOSTNET_HELPER=off, or the binary is missing).
 */
export function localHelper(): HelperTransport | undefined {
    if (injected) return injected;
    if (helperMode() === "off") return undefined;
    if (live) return live.transport;
    const path = helperPath();
    try {
        accessSync(path, constants.X_OK);
    } catch (err) {
        if (!missingSaid) {
            missingSaid = true;
            console.error(
                `hostnet: the netlink helper is missing (${path}: ${(err as NodeJS.ErrnoException).code}); ` +
                    `host commands run as ip/nsenter processes of this one instead, which is slower per attachment. ` +
                    `Reinstall pulumi-hostnet, or run \`npm run setup\` in its repository (it builds the helper with Go); HOSTNET_HELPER=off silences this`,
            );
        }
        return undefined;
    }
    live = new HelperProcess(path);
    return live.transport;
}

/** The process id of this process's running helper, if one runs (diagnostics, tests). */
export function helperPid(): number | undefined {
    return live?.pid;
}

/** Stops the helper (it also stops by itself when this process exits); the next use starts another, and says again if it is missing. */
export function stopHelper(): void {
    live?.stop();
    live = undefined;
    missingSaid = false;
}

class HelperProcess {
    private readonly child: ChildProcessWithoutNullStreams;
    private readonly pending = new Map<number, { resolve: (a: HelperAnswer) => void; reject: (e: Error) => void }>();
    private nextId = 1;
    private buffered = "";
    private greeted = false;
    private failure: Error | undefined;

    constructor(readonly path: string) {
        this.child = spawn(path, [], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
        this.child.stdout.setEncoding("utf8");
        this.child.stdout.on("data", (chunk: string) => this.read(chunk));
        let stderr = "";
        this.child.stderr.setEncoding("utf8");
        this.child.stderr.on("data", (c: string) => (stderr = (stderr + c).slice(-2000)));
        this.child.on("error", (err) => this.fail(new Error(`failed to start the netlink helper ${path}: ${err.message}`, { cause: err })));
        // "close": after its output and stderr are read to the end (its last words are in the message).
        this.child.on("close", (code, signal) => {
            if (live === this) live = undefined;
            this.fail(new Error(`the netlink helper ${path} exited (${signal ?? `code ${code}`})${stderr ? `: ${stderr.trim()}` : ""}`));
        });
        this.child.stdin.on("error", () => undefined);
        this.idle();
    }

    readonly transport: HelperTransport = (ns, ops) =>
        new Promise((resolve, reject) => {
            if (this.failure) return reject(this.failure);
            const id = this.nextId++;
            if (this.pending.size === 0) this.busy();
            this.pending.set(id, { resolve, reject });
            this.child.stdin.write(JSON.stringify({ id, ns: ns ?? 0, ops }) + "\n");
        });

    stop(): void {
        this.child.stdin.end();
    }

    get pid(): number | undefined {
        return this.child.pid;
    }

    private read(chunk: string): void {
        this.buffered += chunk;
        let nl: number;
        while ((nl = this.buffered.indexOf("\n")) >= 0) {
            const line = this.buffered.slice(0, nl);
            this.buffered = this.buffered.slice(nl + 1);
            let message: { id?: number; hello?: string; protocol?: number; results?: unknown[]; error?: HelperError };
            try {
                message = JSON.parse(line);
            } catch {
                this.fail(new Error(`the netlink helper ${this.path} answered something unreadable: ${line.slice(0, 200)}`));
                return;
            }
            if (!this.greeted) {
                this.greeted = true;
                if (message.hello !== "hostnet-netlink" || message.protocol !== HELPER_PROTOCOL) {
                    this.fail(
                        new Error(
                            `the netlink helper ${this.path} speaks protocol ${message.protocol}, this engine ${HELPER_PROTOCOL}; reinstall pulumi-hostnet (the helper ships with it)`,
                        ),
                    );
                    this.stop();
                }
                continue;
            }
            const waiter = message.id === undefined ? undefined : this.pending.get(message.id);
            if (!waiter) continue;
            this.pending.delete(message.id!);
            if (this.pending.size === 0) this.idle();
            waiter.resolve(message.error ? { error: message.error } : { results: message.results ?? [] });
        }
    }

    private fail(err: Error): void {
        this.failure ??= err;
        for (const w of this.pending.values()) w.reject(this.failure);
        this.pending.clear();
        this.idle();
    }

    // While a request is open, the helper's pipe keeps this process alive; when idle, it does not.
    private busy(): void {
        this.child.ref();
        (this.child.stdout as unknown as { ref?: () => void }).ref?.();
    }

    private idle(): void {
        this.child.unref();
        (this.child.stdout as unknown as { unref?: () => void }).unref?.();
        (this.child.stdin as unknown as { unref?: () => void }).unref?.();
        (this.child.stderr as unknown as { unref?: () => void }).unref?.();
    }
}
