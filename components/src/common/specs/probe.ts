// Probe as the engine receives it, and its checks. A probe sends one kind of
// traffic (icmp echo, a tcp connect, a udp datagram) from a container's
// network namespace to an address of this host's networks, and expects it to
// get through (`reachable`) or not (`blocked`).
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`). No Pulumi, no host access.

import { formatAddress, parseAddress } from "../addresses";
import { checkContainerRef, containsUnknown, InputFailure } from "../validation";

export type ProbeProtocol = "icmp" | "tcp" | "udp";
export type ProbeExpectation = "reachable" | "blocked";
/** What a run found: `refused` is a tcp reset or an ICMP error from the target: the path is open, nothing answers there. */
export type ProbeOutcome = ProbeExpectation | "refused";

/** Where the probe goes: an address, or a container (one of its addresses, found when it runs). */
export interface ProbeTarget {
    address?: string;
    container?: string;
    /** For people: the target resource's name. */
    name?: string;
}

export interface ProbeInputs {
    /** The container whose network namespace the probe runs in (name or id). */
    from: string;
    /** For people: the source resource's name. */
    fromName?: string;
    to: ProbeTarget;
    protocol: ProbeProtocol;
    /** tcp and udp: the destination port. */
    port?: number;
    expect: ProbeExpectation;
    /** A container target: the family of the address to probe (default: IPv4 when it has one). */
    family?: 4 | 6;
    /** How long to wait for an answer. */
    timeoutSeconds: number;
    /** A digest of what the probe checks (the program's Policies, the containers' attachments): when it changes, the probe runs again, after them. */
    network?: string;
    owner: string;
}

export interface ProbeOutputs extends Omit<ProbeInputs, "expect"> {
    /** The expectation; after a refresh, what the path does now (a `refused` path is neither). */
    expect: ProbeOutcome;
    /** The address the probe went to. */
    address: string;
    /** What the last run found. */
    outcome: ProbeOutcome;
    /** What the probe's tool said, for people. */
    detail: string;
}

function show(value: unknown): string {
    return JSON.stringify(value) ?? String(value);
}

/**
 * `10.0.0.5`, `10.0.0.5:80`, `fd00::5`, `[fd00::5]:80`: the address
 * (canonical) and the port, or undefined when it is none of these.
 */
export function parseHostPort(text: string): { address: string; port?: number } | undefined {
    const bracketed = /^\[([^\]]+)\](?::([0-9]{1,5}))?$/.exec(text);
    const v4port = /^([0-9.]+):([0-9]{1,5})$/.exec(text);
    const [host, port] = bracketed ? [bracketed[1], bracketed[2]] : v4port ? [v4port[1], v4port[2]] : [text, undefined];
    const a = parseAddress(host);
    if (!a || (bracketed && a.family !== 6)) return undefined;
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return undefined;
    return { address: formatAddress(a), ...(port !== undefined ? { port: Number(port) } : {}) };
}

export function checkProbeInputs(inputs: Record<string, unknown>): InputFailure[] {
    const failures: InputFailure[] = [];
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    const known = (k: string) => inputs[k] !== undefined && !containsUnknown(inputs[k]);
    if (known("from")) {
        const r = checkContainerRef("from", inputs.from);
        if (r) fail("from", r);
    } else if (inputs.from === undefined) fail("from", "`from` is required: the container the probe runs in");
    const to = inputs.to as ProbeTarget | undefined;
    if (to === undefined) fail("to", "`to` is required: an address, `address:port`, or a container");
    else if (!containsUnknown(to)) {
        if (typeof to !== "object" || to === null || (to.address === undefined) === (to.container === undefined)) {
            fail("to", `\`to\` must be an address ("10.10.0.5", "fd00::5"), "address:port", or a container; got ${show(to)}`);
        } else if (to.address !== undefined && !parseAddress(to.address)) {
            fail("to", `\`to\` must be an IPv4 or IPv6 address (without prefix length), or "address:port"; got ${show(to.address)}`);
        } else if (to.container !== undefined) {
            const r = checkContainerRef("to", to.container);
            if (r) fail("to", r);
        }
    }
    const protocol = inputs.protocol;
    if (known("protocol") && !["icmp", "tcp", "udp"].includes(protocol as string)) {
        fail("protocol", `\`protocol\` must be "icmp", "tcp" or "udp"; got ${show(protocol)}`);
    }
    if (known("port")) {
        const port = inputs.port;
        if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
            fail("port", `\`port\` must be a port from 1 to 65535; got ${show(port)}`);
        } else if (protocol === "icmp") {
            fail("port", "`port` goes with tcp or udp; icmp has no ports (set `protocol`, or drop the port)");
        }
    } else if (known("protocol") && (protocol === "tcp" || protocol === "udp") && inputs.port === undefined) {
        fail("port", `\`port\` is required with ${protocol}: the port the probe connects to (or "address:port" in \`to\`)`);
    }
    if (known("expect") && inputs.expect !== "reachable" && inputs.expect !== "blocked") {
        fail("expect", `\`expect\` must be "reachable" or "blocked"; got ${show(inputs.expect)}`);
    }
    if (known("family") && inputs.family !== 4 && inputs.family !== 6)
        fail("family", `\`family\` must be 4 or 6; got ${show(inputs.family)}`);
    if (known("timeoutSeconds")) {
        const t = inputs.timeoutSeconds;
        if (typeof t !== "number" || !Number.isInteger(t) || t < 1 || t > 60) {
            fail("timeoutSeconds", `\`timeoutSeconds\` must be a whole number of seconds from 1 to 60; got ${show(t)}`);
        }
    }
    return failures;
}

/** The probe in words: `tcp from container "cli" to 10.10.0.20:80 (container "web")`; a value not known yet shows as such. */
export function probeText(p: Pick<ProbeInputs, "protocol" | "from" | "fromName" | "to" | "port">, address?: string): string {
    const to: ProbeTarget = typeof p.to === "object" && p.to !== null ? p.to : { address: String(p.to) };
    const where = address ?? to.address ?? `the address of container "${to.name ?? to.container}"`;
    const shown = where.includes(":") && p.port !== undefined ? `[${where}]` : where;
    const target = `${shown}${p.port !== undefined ? `:${p.port}` : ""}`;
    const named = to.container !== undefined && address !== undefined ? ` (container "${to.name ?? to.container}")` : "";
    return `${p.protocol} from container "${p.fromName ?? p.from}" to ${target}${named}`;
}
