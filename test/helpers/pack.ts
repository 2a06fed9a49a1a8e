// The library packed as npm would publish it (scripts/pack.sh), into a
// scratch folder, once per run; and npm installs of it.
//
// Packing rebuilds components/dist from clean (the package's prepack), which
// every other test loads the library from: it must not happen while other
// files run. scripts/test.js (`npm test`) packs once, before any file runs,
// and hands the tarball to every process in HOSTNET_PACK_TGZ.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { projectRoot } from "./pulumi";

let packed: Promise<string> | undefined;

/** Packs the library into `dir` with scripts/pack.sh; returns the tarball's path. */
export async function packInto(dir: string): Promise<string> {
    const r = await execa("bash", [join(projectRoot, "scripts", "pack.sh")], { env: { HOSTNET_PACK_DIR: dir }, reject: false });
    if (r.exitCode !== 0) throw new Error(`failed to pack the library: scripts/pack.sh exited ${r.exitCode}: ${r.stderr}`);
    return r.stdout.trim().split("\n").pop()!;
}

/** The path of the packed tarball (`pulumi-hostnet-<version>.tgz`): HOSTNET_PACK_TGZ, or made by `npm run pack` into a scratch folder. */
export function packLibrary(): Promise<string> {
    packed ??= (async () => {
        const given = process.env.HOSTNET_PACK_TGZ;
        if (given) {
            if (!existsSync(given))
                throw new Error(`failed to find the packed library at HOSTNET_PACK_TGZ=${given}; unset it to pack here`);
            return given;
        }
        if (process.env.MOCHA_WORKER_ID !== undefined) {
            throw new Error(
                "failed to pack the library in a worker of mocha --parallel: packing rebuilds components/dist under the other workers' tests; " +
                    "run through `node scripts/test.js <files>`, which packs once before the workers start, or set HOSTNET_PACK_TGZ",
            );
        }
        const out = mkdtempSync(join(tmpdir(), "hostnet-pack-"));
        process.on("exit", () => rmSync(out, { recursive: true, force: true }));
        return packInto(out);
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
