// Records of what the library adds to objects it does not own, kept on the
// host: an address added to an adopted bridge (docker0, a Docker network's,
// another stack's) carries no mark of its own. IPv4 addresses can carry a
// label (`<ifname>:<tag>`, at most 15 characters: no room on a 15-character
// bridge name like Docker's `br-<12 hex>`), IPv6 addresses none; the kernel
// keeps a one-byte `proto` for both families since 5.18, but iproute2 6.1
// can neither set nor show it, and a byte cannot say which stack. So, as
// CNI's host-local IPAM reserves an address in a file before it is used,
// the library writes a record before it adds the address, and takes the
// record back after it removes it: a run killed in between leaves a record
// that names the address's owner, by which the next run (or `hostnet gc`)
// recognises it; an address without a record of this resource's is never
// removed.
//
// A record is a symbolic link in /run/hostnet/addresses (run-time data: the
// FHS has /run cleared at boot, when the addresses go too), one per bridge
// and address, whose target says `<bridge ifindex> <bridge> <address> <owner
// mark>`. `ln -s` makes it in one step and fails when it exists: two
// stacks cannot both record one address. The ifindex tells a record of an
// earlier bridge of the same name (deleted and made again) from a live one.
//
// Engine side and command line: no Pulumi imports. Every argv is here, run
// through runHost (on the current host, over SSH for another); failures are
// the typed errors of errors.ts (a record that is not there is NotFoundError).

import { ExistsError, HostCommandError, NotFoundError } from "./errors";
import { runHost } from "./run";

/** Where the records of addresses added to adopted bridges are kept. */
export const RECORDS_DIR = "/run/hostnet/addresses";

export interface AddressRecord {
    bridge: string;
    /** The bridge's ifindex when the record was written: a record of an earlier bridge of that name is stale. */
    ifindex: number;
    /** The address with its prefix length, as the resource declares it. */
    cidr: string;
    /** The owner mark of the resource that adds it. */
    owner: string;
}

/** The record's path: one per bridge and address (interface names hold no `/`; addresses no `@`). */
export function recordPath(bridge: string, cidr: string): string {
    return `${RECORDS_DIR}/${bridge}@${cidr.replace("/", "_")}`;
}

/** What the record's link points at: everything about it, so that a listing needs no names. */
export function recordText(r: AddressRecord): string {
    return `${r.ifindex} ${r.bridge} ${r.cidr} ${r.owner}`;
}

/** A record from its link's target, or undefined for a target this library did not write. */
export function parseRecord(text: string): AddressRecord | undefined {
    const m = /^(\d+) (\S+) (\S+) (hostnet(?:@[^/\s]+)?\/.+)$/.exec(text);
    return m ? { ifindex: Number(m[1]), bridge: m[2], cidr: m[3], owner: m[4] } : undefined;
}

/** Every record on the host (none when the folder does not exist yet). */
export async function listAddressRecords(): Promise<AddressRecord[]> {
    let out = "";
    // A record another deployment takes back while `find` lists the folder makes `readlink` fail (exit code 1):
    // the listing is made again, a few times, before that is an error.
    for (let attempt = 1; ; attempt++) {
        try {
            out = await runHost("list the records of addresses added to adopted bridges", [
                "find",
                RECORDS_DIR,
                "-type",
                "l",
                "-exec",
                "readlink",
                "{}",
                "+",
            ]);
            break;
        } catch (err) {
            if (err instanceof NotFoundError) return [];
            if (!(err instanceof HostCommandError) || attempt >= 3) throw err;
        }
    }
    return out
        .split("\n")
        .map(parseRecord)
        .filter((r): r is AddressRecord => r !== undefined);
}

/**
 * Writes the record before the address is added. A record that is there
 * already is fine when it says the same (an interrupted run wrote it); one
 * that says otherwise (another resource records that address) is an
 * ExistsError naming its owner.
 */
export async function writeAddressRecord(what: string, r: AddressRecord): Promise<void> {
    if (/\s/.test(r.bridge) || /\s/.test(r.cidr) || /[\n\r]/.test(r.owner))
        throw new Error(
            `failed to ${what}: the record cannot hold a bridge, address or owner mark with line breaks or spaces in the wrong place`,
        );
    await runHost(what, ["mkdir", "-p", RECORDS_DIR]);
    try {
        await runHost(what, ["ln", "-s", recordText(r), recordPath(r.bridge, r.cidr)]);
    } catch (err) {
        if (!(err instanceof ExistsError)) throw err;
        const there = await readAddressRecord(r.bridge, r.cidr);
        if (there && recordText(there) === recordText(r)) return;
        throw new ExistsError(
            `failed to ${what}: ${there ? `the address is recorded as added by "${there.owner}"` : "another record of that address is in the way"} (${recordPath(r.bridge, r.cidr)})`,
            err.argv,
            err.exitCode,
            err.stderr,
            { cause: err },
        );
    }
}

/** The record of an address on a bridge, or undefined when there is none. */
export async function readAddressRecord(bridge: string, cidr: string): Promise<AddressRecord | undefined> {
    try {
        return parseRecord(
            await runHost(`read the record of address ${cidr} on bridge ${bridge}`, ["readlink", "-v", recordPath(bridge, cidr)]),
        );
    } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
    }
}

/** Takes a record back (after its address is removed, or when it is stale). Already gone is fine. */
export async function removeAddressRecord(what: string, bridge: string, cidr: string): Promise<void> {
    await runHost(what, ["rm", "-f", recordPath(bridge, cidr)]);
}
