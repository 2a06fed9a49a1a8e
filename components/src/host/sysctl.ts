// Kernel settings, through the runner (so that they are those of the host a
// resource lives on). Read: any setting the library depends on (the
// br_netfilter settings a Policy needs); never written host-wide (the host's
// sysctls are the machine owner's).
//
// Written: per-interface settings that `ip` cannot change: on this machine the
// netlink helper writes /proc/sys/net in the interface's namespace (the
// `ipv6Enable` operation); over SSH and with HOSTNET_HELPER=exec|off, procps'
// `sysctl` runs there (/proc/sys/net is the namespace's own). The one setting the library changes: IPv6 on an
// interface it made. Docker 20.10 turns IPv6 off in the namespace of a
// container that has no IPv6 network (`--net=none` among them:
// net.ipv6.conf.default.disable_ipv6=1), so an interface made there has IPv6
// off and refuses IPv6 addresses ("IPv6 is disabled on this device").
// Nothing host-wide, and nothing of an interface the library did not make,
// is ever changed.
//
// Engine side: loaded by the dynamic-provider process. No Pulumi imports.

import { classifyErrno } from "./errors";
import { netlinkHelper } from "./helper";
import { inNetns, onCurrentHost, runHost } from "./run";

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

/**
 * The key of a per-interface IPv6 setting, in sysctl's slash form: a dot in an
 * interface name (`eth0.100`) is part of the name there, not a separator.
 */
function ipv6Key(dev: string, setting: string): string {
    return `net/ipv6/conf/${dev}/${setting}`;
}

/** The argv that turns IPv6 on for interface `dev` in the namespace of process `pid` (the host's without one). */
export function enableIPv6Argv(dev: string, pid?: number): string[] {
    const argv = ["sysctl", "-q", "-w", `${ipv6Key(dev, "disable_ipv6")}=0`];
    return pid === undefined ? argv : inNetns(pid, argv);
}

/** Turns IPv6 on for interface `dev` (already on: nothing changes). */
export async function enableIPv6(what: string, dev: string, pid?: number): Promise<void> {
    const helper = netlinkHelper();
    if (!helper) {
        await runHost(what, enableIPv6Argv(dev, pid));
        return;
    }
    const answer = await helper(pid, [{ op: "ipv6Enable", name: dev }]).catch((err: Error) => ({
        error: { index: 0, message: err.message },
    }));
    if (answer.error) throw classifyErrno(onCurrentHost(what), enableIPv6Argv(dev, pid), answer.error);
}
