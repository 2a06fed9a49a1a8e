// The one place where the library starts host commands. Every `ip`/`nsenter`
// call goes through `runHost`, with an argument array and never a shell, so
// that the whole host surface can later be pointed at a remote host by
// replacing this module alone.
//
// No Pulumi imports here: this module is loaded by dynamic providers in the
// engine's plain Node process.

/** A host command that exited non-zero, with what it printed. */
export interface HostCommandError extends Error {
    readonly argv: readonly string[];
    readonly exitCode: number | undefined;
    readonly stderr: string;
}

export function isHostCommandError(err: unknown): err is HostCommandError {
    return err instanceof Error && Array.isArray((err as Partial<HostCommandError>).argv);
}

/**
 * Runs `argv[0]` with the remaining arguments and returns its standard output.
 * Throws a `HostCommandError` whose message is
 * "failed to <what>: `<command line>`: <stderr>".
 */
export async function runHost(what: string, argv: readonly string[], input?: string): Promise<string> {
    // Loaded here, not at module scope: dynamic providers are serialized and a
    // captured top-level import of an ESM package breaks when it is reloaded.
    const { execa } = await import("execa");
    const result = await execa(argv[0], argv.slice(1), {
        reject: false,
        input,
        stripFinalNewline: true,
        env: { LC_ALL: "C" },
    });
    if (result.exitCode === 0 && !result.failed) {
        return result.stdout;
    }
    const stderr = (result.stderr || result.stdout || result.shortMessage || "").trim();
    const err = new Error(`failed to ${what}: \`${argv.join(" ")}\`: ${stderr}`) as Error & {
        argv: readonly string[];
        exitCode: number | undefined;
        stderr: string;
    };
    err.argv = [...argv];
    err.exitCode = result.exitCode;
    err.stderr = stderr;
    throw err;
}

/** Runs a command inside the network namespace of process `pid`. */
export function inNetns(pid: number, argv: readonly string[]): string[] {
    return ["nsenter", "--target", String(pid), "--net", "--", ...argv];
}
