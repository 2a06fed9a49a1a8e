// The library packed as npm would publish it (scripts/pack.sh), into a
// scratch folder, once per test process; and npm installs of it.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { projectRoot } from "./pulumi";

let packed: Promise<string> | undefined;

/** The path of the packed tarball (`pulumi-hostnet-<version>.tgz`), made by `npm run pack` into a scratch folder. */
export function packLibrary(): Promise<string> {
    packed ??= (async () => {
        const out = mkdtempSync(join(tmpdir(), "hostnet-pack-"));
        process.on("exit", () => rmSync(out, { recursive: true, force: true }));
        const r = await execa("bash", [join(projectRoot, "scripts", "pack.sh")], {
            env: { HOSTNET_PACK_DIR: out },
            reject: false,
        });
        if (r.exitCode !== 0) throw new Error(`failed to pack the library: scripts/pack.sh exited ${r.exitCode}: ${r.stderr}`);
        return r.stdout.trim().split("\n").pop()!;
    })();
    return packed;
}

/** `npm install` in `dir` with the given arguments, from npm's cache where it can. */
export async function npmInstall(dir: string, args: string[] = []): Promise<void> {
    const r = await execa("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", ...args], {
        cwd: dir,
        reject: false,
    });
    if (r.exitCode !== 0) {
        throw new Error(`failed to npm install in ${dir}: exit ${r.exitCode}: ${r.stderr || r.stdout}; is the npm registry reachable?`);
    }
}
