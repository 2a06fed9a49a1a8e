// What IPv6 adds to giving an interface its addresses, for every resource
// that does (VethAttachment, VethLink, Bridge):
//
// - IPv6 on the interface: Docker 20.10 turns IPv6 off in the namespace of a
//   container without an IPv6 network (`--net=none` ones), so an interface
//   the library makes there refuses IPv6 addresses until it is turned on.
// - Duplicate address detection (RFC 4862): an IPv6 address added to an
//   interface is "tentative" until the kernel has asked the link whether
//   anyone else has it (about a second), and unusable meanwhile. A create or
//   update that adds IPv6 addresses reports success only once they are valid;
//   a duplicate (`dadfailed`) is an error naming it, and the address is taken
//   back (it does not work, and would only confuse the next run).
//
// Engine side: loaded by the dynamic-provider process.

import { familyOf } from "../common/address";
import { DuplicateAddressError } from "../host/errors";
import * as ip from "../host/ip";
import * as sysctl from "../host/sysctl";
import { callStep, HOST, Netns, Step } from "./plan";

/** True when any of the CIDRs (or addresses) is IPv6. */
export function hasIPv6(cidrs: readonly string[]): boolean {
    return cidrs.some((c) => familyOf(c) === 6);
}

/**
 * The step that turns IPv6 on for `dev`, an interface the resource made, when
 * any of `cidrs` is IPv6; undefined otherwise (an IPv4-only interface is left
 * as the namespace makes it).
 */
export function enableIPv6Step(netns: Netns, dev: string, cidrs: readonly string[]): Step | undefined {
    if (!hasIPv6(cidrs)) return undefined;
    const text = `enable IPv6 on ${dev}${where(netns)}`;
    return callStep(text, () => sysctl.enableIPv6(text, dev, netns.pid));
}

/** How long detection may take: the kernel's default is one probe, a second apart, after up to a second of delay. */
const DAD_TIMEOUT_MS = 10000;
const POLL_MS = 150;

function where(netns: Netns): string {
    return netns === HOST || netns.label === "host" ? "" : ` (in ${netns.label})`;
}

/**
 * The step that waits until duplicate address detection of `cidrs`' IPv6
 * addresses on `dev` has finished; undefined when none is IPv6. `link` names
 * the link for the message (`bridge docker0`, `the link to container "b"`).
 * Detection runs only while the interface has carrier: a veth end without it
 * (its peer down) fails the wait, as it should not be; with `untilCarrier`,
 * an interface without carrier ends the wait at once (a bridge without
 * ports, or one made with a fixed MAC before its first port joins: detection
 * runs when one does, and a duplicate shows at the next refresh).
 */
export function dadStep(netns: Netns, dev: string, cidrs: readonly string[], link: string, untilCarrier = false): Step | undefined {
    const six = cidrs.filter((c) => familyOf(c) === 6);
    if (six.length === 0) return undefined;
    const text = `wait for duplicate address detection of ${six.map((c) => c.split("/")[0]).join(", ")} on ${dev}${where(netns)}`;
    return callStep(text, () => waitForDad(netns, dev, six, link, untilCarrier));
}

async function waitForDad(netns: Netns, dev: string, cidrs: readonly string[], link: string, untilCarrier: boolean): Promise<void> {
    const addresses = cidrs.map((c) => c.split("/")[0]);
    const until = Date.now() + DAD_TIMEOUT_MS;
    for (;;) {
        if (untilCarrier) {
            const l = await ip.getLink(dev, netns.pid);
            if (l && !l.flags.includes("LOWER_UP")) return;
        }
        const status = await ip.dadStatus(dev, addresses, netns.pid);
        if (status.failed.length > 0) {
            // Taken back: a duplicate address does not work, and the next run adds it again once it is free.
            const failed = cidrs.filter((c) => status.failed.includes(c.split("/")[0]));
            await ip.runIp(
                `remove ${failed.join(", ")} from ${dev}`,
                failed.map((c) => ip.deleteAddress(dev, c)),
                netns.pid,
            );
            const list = status.failed.join(", ");
            throw new DuplicateAddressError(
                `${list} ${status.failed.length === 1 ? "is" : "are"} already used on ${link}: duplicate address detection failed (another interface answers for ${status.failed.length === 1 ? "it" : "them"}); choose another address`,
                status.failed,
                dev,
            );
        }
        if (status.missing.length > 0) {
            throw new Error(
                `${status.missing.join(", ")} vanished from ${dev} while its duplicate address detection ran; run \`pulumi up\` again`,
            );
        }
        if (status.pending.length === 0) return;
        if (Date.now() > until) {
            throw new Error(
                `${status.pending.join(", ")} on ${dev} ${status.pending.length === 1 ? "is" : "are"} still tentative after ${DAD_TIMEOUT_MS / 1000} s: duplicate address detection did not finish (is ${link} down, or without carrier?)`,
            );
        }
        await new Promise((r) => setTimeout(r, POLL_MS));
    }
}
