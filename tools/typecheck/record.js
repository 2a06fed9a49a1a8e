// @ts-check
// Preloaded by the project's language host (NODE_OPTIONS=--require) into a
// TypeScript program's run whose passing type-check it will remember
// (tools/pulumi-build/cmd/pulumi-language-nodejs/typecheck.go): when the
// program ends well, it writes to $HOSTNET_TYPECHECK_RECORD the files it
// loaded from outside the project's folders ($HOSTNET_TYPECHECK_TREES) and
// outside any node_modules, one a line, so that a change in one of them
// makes the next run check again. Processes the program starts do not load it.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const record = process.env.HOSTNET_TYPECHECK_RECORD;
const trees = (process.env.HOSTNET_TYPECHECK_TREES || "").split(path.delimiter).filter(Boolean);
delete process.env.HOSTNET_TYPECHECK_RECORD;
delete process.env.HOSTNET_TYPECHECK_TREES;
// The language host appended exactly this (preloadOption in preloads.go): %q of the path, as Go quotes it.
const option = `--require ${JSON.stringify(__filename)}`;
if (process.env.NODE_OPTIONS !== undefined) {
    const rest = process.env.NODE_OPTIONS.replace(option, "").trim();
    if (rest) process.env.NODE_OPTIONS = rest;
    else delete process.env.NODE_OPTIONS;
}

if (record) {
    process.on("exit", (code) => {
        if (code !== 0) return;
        const inside = (/** @type {string} */ file) => trees.some((t) => !path.relative(t, file).startsWith(".."));
        const loaded = Object.keys(require.cache).filter(
            (f) => path.isAbsolute(f) && f !== __filename && !f.split(path.sep).includes("node_modules") && !inside(f),
        );
        fs.writeFileSync(record, loaded.join("\n"));
    });
}
