// Which network namespace a process is in, as the kernel names it
// (`net:[4026532412]`, the target of /proc/<pid>/ns/net). Two processes share
// a namespace exactly when the names are equal.
//
// Host layer: no Pulumi imports.

import { readlink } from "node:fs/promises";

/** The network namespace of process `pid`, or undefined when the process is gone. */
export async function netnsOf(pid: number): Promise<string | undefined> {
    try {
        return await readlink(`/proc/${pid}/ns/net`);
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ESRCH") return undefined;
        throw new Error(`failed to read the network namespace of process ${pid}: ${(err as Error).message}`, { cause: err });
    }
}
