// The one place an argument array becomes a command line. Over SSH the
// remote side runs the command through the user's login shell (`sh -c`, `bash
// -c`, ...), so every argument is quoted for a POSIX shell here and nowhere
// else: nothing the library is given ever reaches a shell unquoted.
//
// Engine side, host layer: no Pulumi imports.

/**
 * `argv` as one POSIX shell command line that runs exactly that argv: each
 * argument in single quotes (inside which a POSIX shell expands nothing:
 * `$`, backticks, `;`, `*`, newlines and backslashes stay literal), with each
 * embedded single quote written as `'\''` (close, escaped quote, reopen). An
 * empty argument stays an argument (`''`). A NUL byte cannot be passed in any
 * argument and is refused. Not for csh or fish as the login shell.
 */
export function shellQuote(argv: readonly string[]): string {
    if (argv.length === 0) throw new Error("failed to quote a command: it is empty; this is a bug, please report it");
    return argv
        .map((arg) => {
            if (arg.includes("\0")) {
                throw new Error(`failed to quote argument ${JSON.stringify(arg)}: it holds a NUL byte, which no command line can carry`);
            }
            return `'${arg.replace(/'/g, `'\\''`)}'`;
        })
        .join(" ");
}
