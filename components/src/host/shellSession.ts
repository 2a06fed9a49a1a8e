// A shell session on another host that runs one command after another: a
// POSIX `sh` reading command lines on its standard input, over one SSH
// session, so that a command costs a fork on the host instead of a new SSH
// session (which runs the user's login shell and its start-up files each
// time: 0.3 s on the test bed's hosts, whose root runs pyenv's init).
//
// Each command line is written from the argv by quote.ts's shellQuote and
// nothing else, with its standard input from the given text (quoted too) or
// /dev/null (never the session's own input). Its output, error output and
// exit code come back framed by byte counts, so no output can be mistaken
// for the frame:
//
//   '<argv>'... </dev/null >"$T/o" 2>"$T/e"; hn_rc=$?;
//   printf 'HN <nonce> %s %s %s\n' "$hn_rc" "$(wc -c <"$T/o")" "$(wc -c <"$T/e")"; cat "$T/o" "$T/e"
//
// `$T` is a private folder (mktemp -d) that the session removes when it ends.
//
// Engine side, host layer: no Pulumi imports.

import { ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { shellQuote } from "./quote";
import type { CommandResult } from "./run";

interface Pending {
    resolve: (r: CommandResult) => void;
    reject: (err: Error) => void;
    header?: { exitCode: number; out: number; err: number };
}

export class ShellSessionError extends Error {
    constructor(
        message: string,
        /** True when the session died before it took the command: running it elsewhere is safe. */
        readonly notRun: boolean,
        /** What the session's ssh printed on its error output. */
        readonly stderr: string,
        readonly exitCode: number | null,
    ) {
        super(message);
        this.name = new.target.name;
    }
}

export class ShellSession {
    private readonly child: ChildProcess;
    private readonly nonce = randomBytes(8).toString("hex");
    private buffer = Buffer.alloc(0);
    private queue: Pending[] = [];
    private stderr = "";
    private ended?: ShellSessionError;
    /** Resolves when the session is ready for commands. */
    readonly ready: Promise<void>;

    /** `sshArgv(command)` is the argv that runs `command` on the host. */
    constructor(
        sshArgv: (command: string) => string[],
        private readonly host: string,
    ) {
        const argv = sshArgv(shellQuote(["sh"]));
        this.child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
        this.child.stdout!.on("data", (chunk: Buffer) => this.onData(chunk));
        this.child.stderr!.on("data", (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString("utf8")).slice(-4000)));
        this.child.stdin!.on("error", () => undefined); // the exit reports it
        this.child.on("error", (err) => this.fail(err.message, null));
        this.child.on("close", (code) => this.fail(`the session ended (exit code ${code})`, code));
        // Set-up: a private folder for outputs, the C locale; then an empty frame says it is ready.
        this.ready = this.send(
            `hn_t=$(mktemp -d) || exit 97; trap 'rm -rf "$hn_t"' EXIT; trap 'exit 129' HUP; trap 'exit 143' TERM; trap 'exit 141' PIPE; ` +
                `LC_ALL=C; export LC_ALL; printf 'HN %s 0 0 0\\n' ${shellQuote([this.nonce])}\n`,
        ).then(() => undefined);
        this.ready.catch(() => undefined);
    }

    /** True once the session can take no more commands. */
    get dead(): boolean {
        return this.ended !== undefined;
    }

    /** Runs argv on the host; resolves with what it printed and its exit code. One command at a time. */
    run(argv: readonly string[], input?: string): Promise<CommandResult> {
        const stdin = input === undefined ? " </dev/null" : "";
        const feed = input === undefined ? "" : `printf '%s' ${shellQuote([input])} | `;
        return this.send(
            `${feed}${shellQuote(argv)}${stdin} >"$hn_t/o" 2>"$hn_t/e"; hn_rc=$?; ` +
                `printf 'HN %s %s %s %s\\n' ${shellQuote([this.nonce])} "$hn_rc" "$(wc -c <"$hn_t/o")" "$(wc -c <"$hn_t/e")"; cat "$hn_t/o" "$hn_t/e"\n`,
        );
    }

    /** Ends the session (its folder goes with it). */
    close(): void {
        this.child.stdin!.end();
        setTimeout(() => this.child.exitCode === null && this.child.kill(), 2000).unref();
    }

    private send(line: string): Promise<CommandResult> {
        if (this.ended) return Promise.reject(new ShellSessionError(this.ended.message, true, this.ended.stderr, this.ended.exitCode));
        return new Promise((resolve, reject) => {
            this.queue.push({ resolve, reject });
            this.hold(true);
            this.child.stdin!.write(line);
        });
    }

    /** An idle session does not keep the process alive (the process closes it on exit). */
    private hold(busy: boolean): void {
        const method = busy ? "ref" : "unref";
        this.child[method]();
        for (const s of [this.child.stdin, this.child.stdout, this.child.stderr])
            (s as unknown as Record<string, () => void>)?.[method]?.();
    }

    private onData(chunk: Buffer): void {
        this.buffer = Buffer.concat([this.buffer, chunk]);
        for (;;) {
            const head = this.queue[0];
            if (!head) {
                if (this.buffer.length > 0) this.protocolError("output no command asked for");
                return;
            }
            if (!head.header) {
                const nl = this.buffer.indexOf(10);
                if (nl < 0) return;
                const line = this.buffer.subarray(0, nl).toString("utf8");
                const m = /^HN (\S+) (\d+) +(\d+) +(\d+)$/.exec(line.trim());
                if (!m || m[1] !== this.nonce) return this.protocolError(`an unexpected line ${JSON.stringify(line.slice(0, 200))}`);
                head.header = { exitCode: Number(m[2]), out: Number(m[3]), err: Number(m[4]) };
                this.buffer = this.buffer.subarray(nl + 1);
            }
            const { exitCode, out, err } = head.header;
            if (this.buffer.length < out + err) return;
            const stdout = this.buffer.subarray(0, out).toString("utf8").replace(/\n$/, "");
            const stderr = this.buffer
                .subarray(out, out + err)
                .toString("utf8")
                .trim();
            this.buffer = this.buffer.subarray(out + err);
            this.queue.shift();
            if (this.queue.length === 0) this.hold(false);
            head.resolve({ exitCode, stdout, stderr });
        }
    }

    private protocolError(what: string): void {
        this.fail(`the session printed ${what}`, null);
        this.child.kill();
    }

    private fail(why: string, exitCode: number | null): void {
        if (this.ended) return;
        const stderr = this.stderr.trim();
        this.ended = new ShellSessionError(
            `lost the shell session on host ${this.host}: ${why}${stderr ? `: ${stderr}` : ""}`,
            false,
            stderr,
            exitCode,
        );
        for (const [i, p] of this.queue.entries()) {
            // Only the first command can have run; those behind it were never taken.
            p.reject(new ShellSessionError(this.ended.message, i > 0, stderr, exitCode));
        }
        this.queue = [];
    }
}
