// Hosts reached over SSH, with the OpenSSH client (`ssh`), as the docker CLI
// does for `DOCKER_HOST=ssh://...`:
//
// - one master connection per host per provider process (ControlMaster, a
//   socket in a folder of this process), shared by every command and every
//   Docker stream: the cost of connecting is paid once, not per command;
// - commands: the argv quoted for the remote shell by quote.ts, run by a few
//   long-lived shell sessions on the host (shellSession.ts), opened through
//   the master: a command costs a fork there, not a new SSH session with the
//   user's login shell; `LC_ALL=C` as locally, standard input passed as is;
// - Docker: `docker system dial-stdio` on the host is the stream Node's http
//   speaks the Engine API over (what the docker CLI runs), kept alive and
//   reused by an http agent;
// - BatchMode (never a prompt), strict host key checking against the
//   known_hosts the user gives, the user's key file or an inline key (written
//   to this process's private folder for the time ssh takes to connect, then
//   removed: the master connection needs it no more).
//
// The engine ends its provider process with SIGINT (then SIGKILL): masters
// are closed then, and a folder left by a process killed outright is removed
// by the next process that connects anywhere.
//
// A host that cannot be reached is a HostUnreachableError naming it.
//
// Engine side, host layer: no Pulumi imports.

import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { accessSync, constants, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Duplex } from "node:stream";
import type { HostSpec } from "../common/specs/host";
import { HostUnreachableError } from "./errors";
import { HostConnection, withHost } from "./hostScope";
import { shellQuote } from "./quote";
import { ShellSession, ShellSessionError } from "./shellSession";
import { CommandResult, CommandRunner, localRunner } from "./run";

/** Seconds an idle master connection stays after its last use (a backstop: the process closes its masters on exit). */
const CONTROL_PERSIST_S = 60;
const CONNECT_TIMEOUT_S = 10;
/** A failed connection attempt is remembered this long, so that one preview does not wait for each resource in turn. */
const FAILURE_MEMO_MS = 10_000;
/** Docker streams (ssh sessions) per host at once. */
const DOCKER_STREAMS = 4;
/** Shell sessions per host, each running one command at a time. */
const SHELL_SESSIONS = 4;

// ssh's own failures (exit code 255), as opposed to the remote command's.
const SSH_FAILURE =
    /^(ssh: |kex_exchange_identification|Connection (closed|reset|timed out)|Host key verification failed|.*Permission denied \(|.*REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known for|Control socket connect|mux_client_)/m;

const FOLDER_PREFIX = "hostnet-ssh-";
let folder: string | undefined;

/** This process's private folder: control sockets, and inline keys while ssh connects. Removed on exit. */
function processFolder(): string {
    if (!folder) {
        removeStaleFolders();
        folder = mkdtempSync(join(tmpdir(), `${FOLDER_PREFIX}${process.pid}-`)); // mode 0700
        process.once("exit", closeAll);
        for (const signal of ["SIGINT", "SIGTERM"] as const) {
            const onSignal = () => {
                closeAll();
                // Then die of the signal, as without this handler.
                process.removeListener(signal, onSignal);
                process.kill(process.pid, signal);
            };
            process.once(signal, onSignal);
        }
    }
    return folder;
}

/** Folders of provider processes that are gone (killed outright). */
function removeStaleFolders(): void {
    for (const entry of readdirSync(tmpdir())) {
        const pid = /^hostnet-ssh-(\d+)-/.exec(entry)?.[1];
        if (pid === undefined || Number(pid) === process.pid) continue;
        try {
            process.kill(Number(pid), 0);
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ESRCH") rmSync(join(tmpdir(), entry), { recursive: true, force: true });
        }
    }
}

const connections = new Map<string, SshConnection>();

// Tests only: connections that answer for a host by name instead of SSH (a fake kernel's runner).
const standIns = new Map<string, HostConnection>();

/** Tests: `connection` answers for the host named `name` instead of SSH; undefined: SSH again. */
export function standInForHost(name: string, connection: HostConnection | undefined): void {
    if (connection) standIns.set(name, connection);
    else standIns.delete(name);
}

/** The connection to `host`, shared by every resource of this process that names the same host the same way. */
export function sshConnection(host: HostSpec): HostConnection {
    const standIn = standIns.get(host.name);
    if (standIn) return standIn;
    const s = host.ssh;
    const key = JSON.stringify([
        host.name,
        s.host,
        s.port,
        s.user,
        s.privateKeyPath,
        s.knownHostsPath,
        hash(s.privateKey ?? ""),
        hash(s.knownHosts ?? ""),
    ]);
    let c = connections.get(key);
    if (!c) {
        c = new SshConnection(host);
        connections.set(key, c);
    }
    return c;
}

/** Runs `fn` on `host` (undefined: this machine): commands and Docker calls inside it go there. */
export function onHost<T>(host: HostSpec | undefined, fn: () => T): T {
    return withHost(host ? sshConnection(host) : undefined, fn);
}

function hash(text: string): string {
    return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** What to check, for people, from what ssh said. */
function advice(stderr: string, c: SshConnection): string {
    const s = c.host.ssh;
    const where = `${s.user ?? "root"}@${s.host}:${s.port ?? 22}`;
    if (/Host key verification failed|HOST IDENTIFICATION HAS CHANGED|No .* host key is known/.test(stderr)) {
        return `check that the host's key is in ${s.knownHostsPath ?? (s.knownHosts ? "`knownHosts`" : "~/.ssh/known_hosts")} (ssh-keyscan -p ${s.port ?? 22} ${s.host}, after comparing its fingerprint with the host's own)`;
    }
    if (/Permission denied/.test(stderr)) {
        return `check \`user\` and the private key (${s.privateKeyPath ?? (s.privateKey ? "`privateKey`" : "ssh's default keys")}), and that its public key is in the authorized_keys of ${where}`;
    }
    if (/Could not resolve hostname/.test(stderr)) return `check the host's name \`${s.host}\` (DNS or /etc/hosts of this machine)`;
    return `check that ${where} is up, that its sshd runs, and that this machine reaches it`;
}

export class SshConnection implements HostConnection {
    readonly name: string;
    readonly runner: CommandRunner;
    readonly dockerAgent: http.Agent;
    private ready?: Promise<void>;
    private sessions: ShellSession[] = [];
    private idle: ShellSession[] = [];
    private waiting: { resolve: (s: ShellSession) => void; reject: (err: unknown) => void }[] = [];
    private files?: { key?: string; knownHosts?: string };
    private master = false;

    constructor(readonly host: HostSpec) {
        this.name = host.name;
        this.runner = (argv, input) => this.run(argv, input);
        this.dockerAgent = new DialStdioAgent(this);
    }

    private get controlPath(): string {
        return join(processFolder(), `cm-${hash(JSON.stringify([this.host.name, this.host.ssh]))}`);
    }

    /** Options of every ssh invocation for this host (the destination and command come after them). */
    private options(controlMaster: "no" | "yes" = "no"): string[] {
        const s = this.host.ssh;
        const files = this.files ?? {};
        const opts = [
            "-T",
            ...["-o", "BatchMode=yes"],
            ...["-o", "StrictHostKeyChecking=yes"],
            ...["-o", `ConnectTimeout=${CONNECT_TIMEOUT_S}`],
            ...["-o", "ServerAliveInterval=15"],
            ...["-o", "ServerAliveCountMax=3"],
            ...["-o", "LogLevel=ERROR"],
            ...["-o", `ControlPath=${this.controlPath}`],
            ...["-o", `ControlMaster=${controlMaster}`],
            ...["-o", `ControlPersist=${CONTROL_PERSIST_S}`],
            ...["-p", String(s.port ?? 22)],
            ...["-l", s.user ?? "root"],
        ];
        const knownHosts = s.knownHostsPath ?? files.knownHosts;
        if (knownHosts) opts.push("-o", `UserKnownHostsFile=${knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null");
        const key = s.privateKeyPath ?? files.key;
        if (key) opts.push("-i", key, "-o", "IdentitiesOnly=yes");
        return opts;
    }

    /** The argv of `ssh` running `command` (a quoted command line) on the host. */
    sshArgv(command: string): string[] {
        return ["ssh", ...this.options(), "--", this.host.ssh.host, command];
    }

    private unreachable(cause: string, err?: unknown): HostUnreachableError {
        return new HostUnreachableError(
            // ssh's lines on one line: the message is one sentence, "failed to ...: <why>; <what to check>".
            `failed to reach host ${this.name} over SSH: ${cause.trim().replace(/\s*\n\s*/g, " ") || "ssh failed"}; ${advice(cause, this)}`,
            this.name,
            { cause: err },
        );
    }

    /** Writes inline keys to this process's folder (until the master is up), and checks that key files can be read. */
    private prepareFiles(): void {
        const s = this.host.ssh;
        const files: { key?: string; knownHosts?: string } = {};
        if (s.privateKey !== undefined) {
            // One file per connection attempt: two hosts with the same key connect at once, and each removes its own.
            files.key = join(processFolder(), `key-${randomBytes(8).toString("hex")}`);
            writeFileSync(files.key, s.privateKey.endsWith("\n") ? s.privateKey : `${s.privateKey}\n`, { mode: 0o600 });
        }
        if (s.knownHosts !== undefined) {
            files.knownHosts = join(processFolder(), `known_hosts-${randomBytes(8).toString("hex")}`);
            writeFileSync(files.knownHosts, s.knownHosts.endsWith("\n") ? s.knownHosts : `${s.knownHosts}\n`, { mode: 0o600 });
        }
        for (const [what, path] of [
            ["private key file (`privateKeyPath`)", s.privateKeyPath],
            ["known_hosts file (`knownHostsPath`)", s.knownHostsPath],
        ] as const) {
            if (path === undefined) continue;
            try {
                accessSync(path, constants.R_OK);
            } catch (err) {
                throw new HostUnreachableError(
                    `failed to reach host ${this.name} over SSH: cannot read the ${what} ${path}: ${(err as Error).message}; check the path on the machine that runs Pulumi`,
                    this.name,
                    { cause: err },
                );
            }
        }
        this.files = files;
    }

    ensure(): Promise<void> {
        if (!this.ready) {
            const attempt = this.connect();
            this.ready = attempt;
            attempt.catch(() => setTimeout(() => this.ready === attempt && (this.ready = undefined), FAILURE_MEMO_MS).unref());
        }
        return this.ready;
    }

    /** Starts the master connection: ssh authenticates, then stays in the background serving this process's commands. */
    private async connect(): Promise<void> {
        this.prepareFiles();
        const argv = ["ssh", ...this.options("yes"), "-N", "-f", "--", this.host.ssh.host];
        const r = await localRunner(argv).finally(() => {
            // The master has authenticated (or failed): the key is not needed on disk any more.
            for (const f of Object.values(this.files ?? {})) rmSync(f, { force: true });
            this.files = {};
        });
        if (r.spawnError) {
            throw this.unreachable(
                `cannot start ssh: ${r.spawnError.message} (install the OpenSSH client, Debian's openssh-client)`,
                r.spawnError,
            );
        }
        if (r.exitCode !== 0) throw this.unreachable(r.stderr || `ssh exited with ${r.exitCode}`);
        this.master = true;
    }

    /** An idle shell session, a new one (up to SHELL_SESSIONS), or the next one released. */
    private async acquire(): Promise<ShellSession> {
        for (let s = this.idle.pop(); s; s = this.idle.pop()) if (!s.dead) return s;
        if (this.sessions.length >= SHELL_SESSIONS) return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
        const session = new ShellSession((command) => this.sshArgv(command), this.name);
        this.sessions.push(session);
        try {
            await session.ready;
        } catch (err) {
            this.release(session);
            throw err;
        }
        return session;
    }

    private release(session: ShellSession): void {
        if (session.dead) {
            this.sessions = this.sessions.filter((s) => s !== session);
            const next = this.waiting.shift();
            if (next) this.acquire().then(next.resolve, next.reject);
            return;
        }
        const next = this.waiting.shift();
        if (next) next.resolve(session);
        else this.idle.push(session);
    }

    private async run(argv: readonly string[], input?: string, retry = true): Promise<CommandResult> {
        await this.ensure();
        let session: ShellSession;
        try {
            session = await this.acquire();
        } catch (err) {
            // The master may have gone (killed, network dropped): connect again, once.
            if (retry) {
                this.ready = undefined;
                return this.run(argv, input, false);
            }
            const stderr = err instanceof ShellSessionError ? err.stderr : String(err);
            throw SSH_FAILURE.test(stderr) ? this.unreachable(stderr, err) : err;
        }
        try {
            return await session.run(argv, input);
        } catch (err) {
            if (err instanceof ShellSessionError && err.notRun && retry) return this.run(argv, input, false);
            if (err instanceof ShellSessionError && SSH_FAILURE.test(err.stderr)) throw this.unreachable(err.stderr, err);
            throw err;
        } finally {
            this.release(session);
        }
    }

    /** Closes the master connection (at process exit). */
    close(): void {
        for (const s of this.sessions) s.close();
        this.sessions = [];
        this.idle = [];
        if (!this.master) return;
        this.master = false;
        spawnSync("ssh", [...this.options(), "-O", "exit", "--", this.host.ssh.host], { stdio: "ignore", timeout: 5000 });
    }
}

function closeAll(): void {
    for (const c of connections.values()) c.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
}

/**
 * An http agent whose sockets are `ssh HOST docker system dial-stdio`
 * processes: each is one connection to the host's Docker engine, through the
 * master connection; idle ones are kept for the next request.
 */
class DialStdioAgent extends http.Agent {
    constructor(private readonly connection: SshConnection) {
        super({ keepAlive: true, maxSockets: DOCKER_STREAMS });
    }

    createConnection(): Duplex {
        const child = spawn("ssh", this.connection.sshArgv(shellQuote(["docker", "system", "dial-stdio"])).slice(1), {
            stdio: ["pipe", "pipe", "pipe"],
        });
        return new StdioSocket(child, this.connection.name);
    }
}

/** A child process's standard input and output as the socket Node's http client and agent expect. */
class StdioSocket extends Duplex {
    private stderr = "";

    constructor(
        private readonly child: ChildProcess,
        private readonly host: string,
    ) {
        super();
        child.stdout!.on("data", (chunk: Buffer) => {
            if (!this.push(chunk)) child.stdout!.pause();
        });
        child.stdout!.on("end", () => this.push(null));
        child.stderr!.on("data", (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString("utf8")).slice(-2000)));
        child.stdin!.on("error", () => undefined); // the child's exit reports the failure
        child.on("error", (err) => this.destroy(err));
        child.on("exit", (code) => {
            if (code !== 0 && !this.destroyed) {
                const why = this.stderr.trim() || `exit code ${code}`;
                this.destroy(
                    new Error(
                        `\`docker system dial-stdio\` on host ${this.host} ended: ${why}; check that the docker CLI is installed there and reaches its engine`,
                    ),
                );
            }
        });
    }

    _read(): void {
        this.child.stdout!.resume();
    }

    _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
        this.child.stdin!.write(chunk, callback);
    }

    _final(callback: (err?: Error | null) => void): void {
        this.child.stdin!.end(callback);
    }

    _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
        if (this.child.exitCode === null) this.child.kill();
        callback(err);
    }

    // What http.Agent calls on its sockets: keep-alive, timeouts and (un)ref.
    setKeepAlive(): this {
        return this;
    }

    setNoDelay(): this {
        return this;
    }

    setTimeout(_ms: number, callback?: () => void): this {
        if (callback) this.once("timeout", callback);
        return this;
    }

    ref(): this {
        this.child.ref();
        for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as { ref?: () => void })?.ref?.();
        return this;
    }

    unref(): this {
        this.child.unref();
        for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as { unref?: () => void })?.unref?.();
        return this;
    }
}
