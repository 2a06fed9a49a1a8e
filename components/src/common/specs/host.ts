// The host a resource lives on, as the engine receives it, and its checks.
// Absent: this machine (the local host layer, unchanged). Present: another
// machine reached over SSH, with the OpenSSH client.
//
// Common: pure, used by both the program (prompt checks) and the engine
// (`check`, the host scope). No Pulumi, no host access.

import { InputFailure } from "../validation";

/**
 * How to reach a host over SSH: the one description of it. The program takes
 * it with each field a `pulumi.Input` (`SshArgs`), the engine receives it
 * resolved, and the host layer connects with it. Files are read by the engine
 * when it connects, not when the program runs.
 */
export interface SshSpec {
    /** The host's address or DNS name, as ssh takes it. */
    host: string;
    /** SSH port. Default 22. */
    port?: number;
    /** User to log in as. Default `root` (links and namespaces need it, or CAP_NET_ADMIN and access to Docker). */
    user?: string;
    /**
     * Private key file on the machine that runs Pulumi (read when the engine
     * connects, never stored). Preferred over `privateKey`. Default: ssh's own
     * keys and agent.
     */
    privateKeyPath?: string;
    /**
     * The private key itself, e.g. `config.requireSecret("sshKey")`. Stored in
     * the stack's state as a secret (encrypted), and written only to a private
     * folder of the engine's process while it runs. Prefer `privateKeyPath`.
     */
    privateKey?: string;
    /**
     * known_hosts file that holds the host's key: the connection is refused if
     * the host's key is not there or differs (strict host key checking).
     * Default: ssh's own (~/.ssh/known_hosts).
     */
    knownHostsPath?: string;
    /** known_hosts lines themselves, instead of a file. */
    knownHosts?: string;
}

/** A host as the engine receives it in a resource's `host` input, and as the host layer connects to it. */
export interface HostSpec {
    /**
     * The host's name in this stack: part of every owner mark made there and of
     * the resource's identity (changing it replaces the resource). Connection
     * details may change without replacing anything.
     */
    name: string;
    ssh: SshSpec;
}

const HOST_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/i;
// A DNS name, an IPv4 address, or a bracket-less IPv6 address; never starting with '-' (it would read as an ssh option).
const SSH_HOST = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,252}$/;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/** True when `host` names another machine (undefined, null: this one). */
export function isRemote(host: unknown): host is HostSpec {
    return typeof host === "object" && host !== null;
}

/** The host's name for people and messages: `host b`, or `this machine`. */
export function hostLabel(host: HostSpec | undefined): string {
    return host ? `host ${host.name}` : "this machine";
}

function show(value: unknown): string {
    return JSON.stringify(value) ?? String(value);
}

/** The failures of a `host` input (`field` is where it sits, e.g. `host` or `a.host`); values not known yet pass. */
export function checkHost(field: string, value: unknown, isUnknown: (v: unknown) => boolean): InputFailure[] {
    if (value === undefined || value === null || isUnknown(value)) return [];
    // No property: the engine would print the input's value with the message, and `host` may hold a key.
    const fail = (reason: string): InputFailure => ({ property: "", reason });
    if (typeof value !== "object" || Array.isArray(value)) {
        return [fail(`\`${field}\` must be { name, ssh: { host, port?, user?, privateKeyPath?, knownHostsPath? } }; got ${show(value)}`)];
    }
    const { name, ssh } = value as Record<string, unknown>;
    const failures: InputFailure[] = [];
    if (!isUnknown(name) && (typeof name !== "string" || !HOST_NAME.test(name))) {
        failures.push(
            fail(
                `\`${field}.name\` must be a short name: letters, digits, '_', '.', '-' (at most 63), like "b" or "edge-1"; got ${show(name)}`,
            ),
        );
    }
    if (isUnknown(ssh)) return failures;
    if (typeof ssh !== "object" || ssh === null || Array.isArray(ssh)) {
        failures.push(fail(`\`${field}.ssh\` must be { host, port?, user?, privateKeyPath?, knownHostsPath? }; got ${show(ssh)}`));
        return failures;
    }
    const s = ssh as Record<string, unknown>;
    const known = (k: string) => s[k] !== undefined && s[k] !== null && !isUnknown(s[k]);
    if (s.host === undefined || s.host === null) failures.push(fail(`\`${field}.ssh.host\` is required: the host's address or DNS name`));
    else if (known("host") && (typeof s.host !== "string" || !SSH_HOST.test(s.host))) {
        failures.push(
            fail(`\`${field}.ssh.host\` must be an address or DNS name (letters, digits, '.', ':', '-', '_'); got ${show(s.host)}`),
        );
    }
    if (known("port") && (typeof s.port !== "number" || !Number.isInteger(s.port) || s.port < 1 || s.port > 65535)) {
        failures.push(fail(`\`${field}.ssh.port\` must be a TCP port, 1-65535; got ${show(s.port)}`));
    }
    if (known("user") && (typeof s.user !== "string" || !USER.test(s.user))) {
        failures.push(fail(`\`${field}.ssh.user\` must be a user name like root (lower case, digits, '_', '-'); got ${show(s.user)}`));
    }
    for (const k of ["privateKeyPath", "knownHostsPath"]) {
        if (known(k) && (typeof s[k] !== "string" || !(s[k] as string).startsWith("/") || (s[k] as string).includes("\0"))) {
            failures.push(fail(`\`${field}.ssh.${k}\` must be an absolute file path on the machine that runs Pulumi; got ${show(s[k])}`));
        }
    }
    if (known("privateKey") && (typeof s.privateKey !== "string" || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(s.privateKey))) {
        failures.push(fail(`\`${field}.ssh.privateKey\` must be a private key in PEM or OpenSSH format (-----BEGIN ... PRIVATE KEY-----)`));
    }
    if (known("knownHosts") && typeof s.knownHosts !== "string") {
        failures.push(fail(`\`${field}.ssh.knownHosts\` must be known_hosts lines (a string); got ${show(s.knownHosts)}`));
    }
    if (known("privateKey") && known("privateKeyPath")) {
        failures.push(fail(`\`${field}.ssh\`: give \`privateKeyPath\` or \`privateKey\`, not both`));
    }
    if (known("knownHosts") && known("knownHostsPath")) {
        failures.push(fail(`\`${field}.ssh\`: give \`knownHostsPath\` or \`knownHosts\`, not both`));
    }
    return failures;
}

/** True when both name the same host (the identity: its name); undefined is this machine. */
export function sameHost(a: HostSpec | undefined, b: HostSpec | undefined): boolean {
    return (a?.name ?? "") === (b?.name ?? "");
}
