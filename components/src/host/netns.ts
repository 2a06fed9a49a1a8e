// Which network namespace a process is in, as the kernel names it
// (`net:[4026532412]`, the target of /proc/<pid>/ns/net). Two processes share
// a namespace exactly when the names are equal. Read through the runner, so
// that it reads the host the resource lives on.
//
// Host layer: no Pulumi imports.

import { NotFoundError } from "./errors";
import { runHost } from "./run";

/** The network namespace of process `pid`, or undefined when the process is gone. */
export async function netnsOf(pid: number): Promise<string | undefined> {
    try {
        return (await runHost(`read the network namespace of process ${pid}`, ["readlink", `/proc/${pid}/ns/net`])).trim() || undefined;
    } catch (err) {
        // readlink prints nothing and exits 1 for a missing link.
        if (err instanceof NotFoundError || (err as { exitCode?: number }).exitCode === 1) return undefined;
        throw err;
    }
}
