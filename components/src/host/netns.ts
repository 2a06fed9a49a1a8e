// Which network namespace a process is in, as the kernel names it
// (`net:[4026532412]`, the target of /proc/<pid>/ns/net). Two processes share
// a namespace exactly when the names are equal. Read through the runner, so
// that it reads the host the resource lives on.
//
// Host layer: no Pulumi imports.

import { classifyErrno, NotFoundError } from "./errors";
import { netlinkHelper } from "./helper";
import { onCurrentHost, runHost } from "./run";

/** The network namespace of process `pid`, or undefined when the process is gone. */
export async function netnsOf(pid: number): Promise<string | undefined> {
    const what = `read the network namespace of process ${pid}`;
    const argv = ["readlink", `/proc/${pid}/ns/net`];
    const helper = netlinkHelper();
    if (helper) {
        const answer = await helper(undefined, [{ op: "netnsOf", pid }]).catch((err: Error) => ({
            error: { index: 0, message: err.message },
        }));
        if (answer.error) throw classifyErrno(onCurrentHost(what), argv, answer.error);
        return (answer.results[0] as string) || undefined;
    }
    try {
        return (await runHost(what, argv)).trim() || undefined;
    } catch (err) {
        // readlink prints nothing and exits 1 for a missing link.
        if (err instanceof NotFoundError || (err as { exitCode?: number }).exitCode === 1) return undefined;
        throw err;
    }
}
