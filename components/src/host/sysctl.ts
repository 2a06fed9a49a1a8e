// Kernel settings the library reads (never writes: the host's sysctls are
// the machine owner's). Read through the runner, so that it reads the host a
// resource lives on.
//
// Engine side, host layer: no Pulumi imports.

import { runHost } from "./run";

/** A sysctl's value (`net.bridge.bridge-nf-call-iptables` -> "1"), or undefined when the kernel has no such setting. */
export async function readSysctl(name: string): Promise<string | undefined> {
    const path = `/proc/sys/${name.replace(/\./g, "/")}`;
    try {
        return (await runHost(`read the kernel setting ${name}`, ["cat", path])).trim();
    } catch (err) {
        // cat exits 1 for a missing file (a module not loaded: br_netfilter's settings exist only with it).
        if ((err as { exitCode?: number }).exitCode === 1) return undefined;
        throw err;
    }
}
