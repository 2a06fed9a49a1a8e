#!/usr/bin/env node
// `hostnet`: the library's command line (the package's `bin`).
//
//   hostnet watch --stack NAME [...]   keep a stack's attachments across container restarts
//
// Each command is a module of this folder exporting `run<Command>(argv)`,
// which resolves with the process's exit code.
//
// CLI side: runs in its own process, next to the user's project.

import { runWatch } from "./watch";

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; summary: string }> = {
    watch: { run: runWatch, summary: "re-attach a stack's containers when they restart (follows Docker events)" },
};

const USAGE = `usage: hostnet <command> [options]   (hostnet <command> --help for its options)

${Object.entries(COMMANDS)
    .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
    .join("\n")}`;

async function main(argv: string[]): Promise<number> {
    const [name, ...rest] = argv;
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
        console.log(USAGE);
        return name === undefined ? 2 : 0;
    }
    const command = COMMANDS[name];
    if (!command) {
        console.error(`hostnet: unknown command "${name}"\n\n${USAGE}`);
        return 2;
    }
    return command.run(rest);
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
        console.error(`hostnet: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
    },
);
