// Probes: one kind of traffic sent from a process's network namespace, with
// the host's own tools run there through nsenter (nothing is needed in the
// container's image): `ping` (iputils) for icmp, OpenBSD netcat (Debian's
// netcat-openbsd, `nc.openbsd`) for tcp and udp. Each function owns its argv
// and turns what the tool says into an outcome:
//   reachable  an echo reply, an accepted connection, a datagram answered;
//   refused    a tcp reset, or an ICMP error answering a udp datagram: the
//              packet got there, nothing listens;
//   blocked    no answer within the timeout (dropped on the way, or no route).
//
// Engine side, host layer: no Pulumi imports.

import { inNetns, runHostAnswer } from "./run";

export type Outcome = "reachable" | "blocked" | "refused";

export interface ProbeResult {
    outcome: Outcome;
    /** What the tool said, one line, for people. */
    detail: string;
}

/** The tool of each protocol, for messages. */
export const PROBE_TOOLS = { icmp: "ping (iputils-ping)", tcp: "nc.openbsd (netcat-openbsd)", udp: "nc.openbsd (netcat-openbsd)" } as const;

/** What udp probes send: a service that answers it makes the path `reachable`. */
export const UDP_PAYLOAD = "hostnet probe\n";

export function pingArgv(pid: number, address: string, timeout: number): string[] {
    // One reply is enough; re-sent every 0.2 s until it comes or the deadline passes (an ARP resolution may eat the first).
    return inNetns(pid, ["ping", "-n", "-c", "1", "-i", "0.2", "-w", String(timeout), address]);
}

export function tcpArgv(pid: number, address: string, port: number, timeout: number): string[] {
    return inNetns(pid, ["nc.openbsd", "-v", "-z", "-n", "-w", String(timeout), address, String(port)]);
}

export function udpArgv(pid: number, address: string, port: number, timeout: number): string[] {
    // -v: without it, nc exits 0 even when an ICMP error answers the datagram.
    return inNetns(pid, ["nc.openbsd", "-v", "-u", "-n", "-w", String(timeout), address, String(port)]);
}

function lastLine(text: string): string {
    return (
        text
            .split("\n")
            .map((l) => l.trim())
            .filter(Boolean)
            .pop() ?? ""
    );
}

/** Runs argv: a non-zero exit is an answer (no reply, refused), not an error. */
async function attempt(
    what: string,
    argv: string[],
    input?: string,
): Promise<{ ok: boolean; stdout: string; stderr: string; exitCode?: number }> {
    const r = await runHostAnswer(what, argv, input);
    return { ok: r.exitCode === 0, stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
}

export async function probeIcmp(what: string, pid: number, address: string, timeout: number): Promise<ProbeResult> {
    const r = await attempt(what, pingArgv(pid, address, timeout));
    // Details are the same from run to run (no times, no sequence numbers): a refresh that finds the same stores the same.
    if (r.ok) return { outcome: "reachable", detail: `echo reply from ${address}` };
    // 1: no reply (ping prints any ICMP error it got on stdout: "From 10.0.0.1 icmp_seq=1 Destination Host Unreachable"); 2: an error on stderr (no route).
    const error = /^From (\S+) icmp_seq=\d+ (.+)$/m.exec(r.stdout);
    if (error) return { outcome: "blocked", detail: `${error[2].trim()} (from ${error[1]})` };
    return { outcome: "blocked", detail: lastLine(r.stderr).replace(/^ping: /, "") || `no echo reply within ${timeout} s` };
}

export async function probeTcp(what: string, pid: number, address: string, port: number, timeout: number): Promise<ProbeResult> {
    const r = await attempt(what, tcpArgv(pid, address, port, timeout));
    if (r.ok) return { outcome: "reachable", detail: "connection accepted" };
    const said = lastLine(r.stderr);
    if (/Connection refused/.test(said)) return { outcome: "refused", detail: said };
    return { outcome: "blocked", detail: said || "no answer" };
}

export async function probeUdp(what: string, pid: number, address: string, port: number, timeout: number): Promise<ProbeResult> {
    const r = await attempt(what, udpArgv(pid, address, port, timeout), UDP_PAYLOAD);
    if (r.stdout.length > 0) return { outcome: "reachable", detail: "the datagram was answered" };
    // nc -v exits 1 without a word when an ICMP error answered the datagram (port unreachable).
    if (!r.ok && r.exitCode === 1 && lastLine(r.stderr) === "")
        return { outcome: "refused", detail: "an ICMP error answered the datagram (port unreachable: nothing listens)" };
    return { outcome: "blocked", detail: r.ok ? `no answer within ${timeout} s` : lastLine(r.stderr) || `exit code ${r.exitCode}` };
}
