#!/usr/bin/env node
// `hostnet`: the library's command-line tool (the package's `bin`).
//
//   hostnet preview-report [--stack S] [--cwd DIR] [--pulumi CLI] [--refresh] [--md FILE] [--json FILE]
//   hostnet topology [--stack S] [--host NAME=[USER@]ADDRESS[:PORT] ...] [--text FILE] [--svg FILE] [--dot FILE]
//   hostnet watch --stack S [...]  (hostnet watch --help)
//   hostnet gc --stack S [--delete] [...]  (hostnet gc --help)
//
// Runs as a command-line tool, neither in a Pulumi program nor in the engine's
// provider process. It reads the host through the library's host layer
// (host/*), which owns every command line. `watch` changes the host only
// through the engine (a targeted \`pulumi up\`); `gc --delete` removes what
// carries a stack's marks and no resource of its state accounts for.

import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { runGc } from "./gc";
import { hostSpecOf, parseHostArgs } from "./hostArgs";
import { previewReport, writeReport } from "./previewReport";
import { topology, writeTopology } from "./topology";
import { hostsTopology, writeHostsTopology } from "./topologyHosts";
import { runWatch } from "./watch";

const USAGE = `usage:
  hostnet preview-report [options]   run \`pulumi preview\` and report what it will do
      --stack NAME     the stack (default: the selected one)
      --cwd DIR        the Pulumi project's folder (default: the current one)
      --pulumi PATH    the Pulumi CLI to run (default: pulumi)
      --refresh        refresh the state from the host first
      --host NAME      only the changes on host NAME (as the stack names it; local: this machine);
                       repeat it for several
      --md FILE        write the Markdown there (default: standard output)
      --json FILE      also write the report as JSON
    exit code: 0 no change, 2 changes, 1 the preview failed (the error is in the report)

  hostnet topology [options]         draw the host's container networking (or several hosts')
      --stack NAME     only what that stack owns, and what it is attached to
      --host H         read host H instead of this machine; repeat it for several (they are drawn
                       together, with the VXLAN tunnels and swarm overlays between them):
                       NAME=[USER@]ADDRESS[:PORT] over SSH, or local for this machine
      --ssh-key FILE   the private key for the hosts (default: ssh's own)
      --known-hosts FILE  the known_hosts file that holds their keys (default: ssh's own)
      --text FILE      write the text view there (default: standard output)
      --svg FILE       write the diagram as SVG (needs Graphviz's \`dot\`)
      --dot FILE       write the diagram's Graphviz source

  hostnet watch --stack NAME [options] re-attach a stack's containers when they restart
                                     (follows Docker events; hostnet watch --help)

  hostnet gc --stack NAME [--delete]   list (and remove) what carries the stack's marks on this
                                     machine but no resource of its state accounts for
                                     (a killed up's leftovers; hostnet gc --help)
`;

/** `--ssh-key` and `--known-hosts`, as absolute paths (the host layer reads them when it connects). */
function sshDefaults(values: { "ssh-key"?: string; "known-hosts"?: string }): { privateKeyPath?: string; knownHostsPath?: string } {
    return {
        ...(values["ssh-key"] ? { privateKeyPath: resolve(values["ssh-key"]) } : {}),
        ...(values["known-hosts"] ? { knownHostsPath: resolve(values["known-hosts"]) } : {}),
    };
}

async function main(argv: string[]): Promise<number> {
    const [command, ...rest] = argv;
    if (command === "preview-report") {
        const { values } = parseArgs({
            args: rest,
            options: {
                stack: { type: "string" },
                cwd: { type: "string" },
                pulumi: { type: "string" },
                refresh: { type: "boolean" },
                md: { type: "string" },
                json: { type: "string" },
                host: { type: "string", multiple: true },
            },
        });
        const hosts = parseHostArgs(values.host).map((h) => h.name);
        const report = await previewReport({
            stack: values.stack,
            cwd: values.cwd,
            pulumi: values.pulumi,
            refresh: values.refresh,
            ...(hosts.length > 0 ? { hosts } : {}),
        });
        writeReport(report, { markdown: values.md, json: values.json });
        const s = report.summary;
        process.stderr.write(
            report.exitCode === 1
                ? `hostnet preview-report: the preview failed: ${report.errors[0] ?? "see the report"}\n`
                : `hostnet preview-report: ${s.create} to create, ${s.update} to update, ${s.replace} to replace, ${s.delete} to delete\n`,
        );
        return report.exitCode;
    }
    if (command === "topology") {
        const { values } = parseArgs({
            args: rest,
            options: {
                stack: { type: "string" },
                text: { type: "string" },
                svg: { type: "string" },
                dot: { type: "string" },
                host: { type: "string", multiple: true },
                "ssh-key": { type: "string" },
                "known-hosts": { type: "string" },
            },
        });
        const files = { text: values.text, svg: values.svg, dot: values.dot };
        const hosts = parseHostArgs(values.host, sshDefaults(values));
        if (hosts.length === 0) {
            await writeTopology(await topology({ stack: values.stack }), files);
            return 0;
        }
        const m = await hostsTopology(
            hosts.map((h) => ({ name: h.name, spec: hostSpecOf(h) })),
            { stack: values.stack },
        );
        await writeHostsTopology(m, files);
        return 0;
    }
    if (command === "watch") return runWatch(rest);
    if (command === "gc") return runGc(rest);
    if (command === undefined || command === "help" || command === "--help" || command === "-h") {
        process.stdout.write(USAGE);
        return command === undefined ? 1 : 0;
    }
    process.stderr.write(`hostnet: unknown command ${JSON.stringify(command)}\n${USAGE}`);
    return 1;
}

main(process.argv.slice(2)).then(
    (code) => {
        process.exitCode = code;
    },
    (err: Error) => {
        process.stderr.write(`hostnet: ${err.message}\n`);
        process.exitCode = 1;
    },
);
