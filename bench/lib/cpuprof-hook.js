// Preloaded into every Node.js process of a profiled Pulumi command
// (NODE_OPTIONS="--require <this file>", HOSTNET_BENCH_PROFILE_DIR=<dir>): the
// program, the dynamic provider, and the `node -e` that
// pulumi-resource-pulumi-nodejs runs to find it. It records a CPU profile
// from the moment it loads and writes it when the process ends, whether it
// exits or the engine stops it with SIGINT/SIGTERM (Node's own --cpu-prof
// writes nothing then), with a sidecar of wall-clock stamps to line the
// processes up: <dir>/<pid>.cpuprofile and <dir>/<pid>.json. The sidecar also
// holds the time spent loading modules (require: resolve, read, compile, run
// the module's body), exclusive of the modules each one loads, per file.
"use strict";

const dir = process.env.HOSTNET_BENCH_PROFILE_DIR;
if (dir) {
    const fs = require("node:fs");
    const path = require("node:path");
    const inspector = require("node:inspector");
    const Module = require("node:module");
    const loadedAt = Date.now();
    const bootMs = process.uptime() * 1000;

    // Time spent in require, per module file, exclusive of its own requires.
    const requireMs = new Map();
    const frames = [];
    let requireTotalMs = 0;
    const originalLoad = Module._load;
    Module._load = function (request, parent, isMain) {
        let file;
        try {
            file = Module._resolveFilename(request, parent, isMain);
        } catch {
            file = undefined;
        }
        if (file === undefined || Module._cache[file] || !file.startsWith("/")) return originalLoad.apply(this, arguments);
        const start = performance.now();
        frames.push({ file, childMs: 0 });
        try {
            return originalLoad.apply(this, arguments);
        } finally {
            const frame = frames.pop();
            const ms = performance.now() - start;
            requireMs.set(frame.file, (requireMs.get(frame.file) || 0) + ms - frame.childMs);
            if (frames.length > 0) frames[frames.length - 1].childMs += ms;
            else requireTotalMs += ms;
        }
    };
    const session = new inspector.Session();
    session.connect();
    session.post("Profiler.enable");
    session.post("Profiler.setSamplingInterval", { interval: Number(process.env.HOSTNET_BENCH_PROFILE_INTERVAL_US) || 500 });
    session.post("Profiler.start");
    let written = false;
    const write = (how) => {
        if (written) return;
        written = true;
        // An in-process session answers synchronously: the callback runs before post returns.
        session.post("Profiler.stop", (err, result) => {
            if (err) return;
            fs.writeFileSync(path.join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
            fs.writeFileSync(
                path.join(dir, `${process.pid}.json`),
                JSON.stringify({
                    pid: process.pid,
                    ppid: process.ppid,
                    argv: process.argv,
                    bootMs,
                    loadedAt,
                    endedAt: Date.now(),
                    how,
                    requireTotalMs,
                    requireMs: Object.fromEntries(requireMs),
                }),
            );
        });
    };
    process.on("exit", () => write("exit"));
    for (const signal of ["SIGINT", "SIGTERM"]) {
        process.on(signal, () => {
            write(signal);
            process.exit(128 + (signal === "SIGINT" ? 2 : 15));
        });
    }
}
