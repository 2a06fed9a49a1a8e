// Graphviz, for the command-line tool's diagrams: `dot` lays a graph out and
// writes it as SVG. Debian's Graphviz (package `graphviz`), run through the
// host layer's runner like every other command (argument array, no shell).
//
// Used by the `hostnet` command-line tool only; the providers never load it.

import { HostCommandError } from "./errors";
import { runHost } from "./run";

/** Lays out a graph written in the DOT language and returns it as SVG. */
export async function renderSvg(dot: string): Promise<string> {
    try {
        return await runHost("lay out the diagram with Graphviz", ["dot", "-Tsvg"], dot);
    } catch (err) {
        if (err instanceof HostCommandError && (err.cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT") {
            throw new Error(
                "failed to lay out the diagram: Graphviz's `dot` could not be run; install Graphviz (Debian: `apt-get install graphviz`), or write the DOT source with `--dot` and render it elsewhere",
                { cause: err },
            );
        }
        throw err;
    }
}
