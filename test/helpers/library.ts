// The library as an older commit had it, put into a test's project folder the
// way that version was consumed, and the switch to this version as a user
// makes it (`npm install` of the new package): for the upgrade and state-size
// tests, which deploy with the old one and then run the new one.
//
// Two eras: before the package (commit 7b01f5e and its time), `components/`
// was the library's TypeScript source, imported as "./components"; since
// then it is the npm package pulumi-hostnet, which the test builds from that
// commit's sources with the repository's TypeScript and installs into the
// project's node_modules.

import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { sh } from "./host";
import { projectRoot } from "./pulumi";

/** Fails with what to do when the repository lacks `commit` (a shallow clone). */
export async function requireCommit(commit: string): Promise<void> {
    const has = await sh(["git", "-C", projectRoot, "cat-file", "-e", `${commit}^{commit}`], { reject: false });
    if (has.exitCode === 0) return;
    const shallow = (await sh(["git", "-C", projectRoot, "rev-parse", "--is-shallow-repository"], { reject: false })).stdout.trim();
    throw new Error(
        `failed to check out the library as it was at commit ${commit}: ${projectRoot} ` +
            `${shallow === "true" ? "is a shallow clone" : "does not have that commit"} (${has.stderr.trim() || "git cat-file failed"}); ` +
            "this test needs the repository's history: run `git fetch --unshallow` (or clone without --depth)",
    );
}

/** True when `components/` at `commit` is the npm package (else it is the library's source, before the package). */
export async function isPackageAt(commit: string): Promise<boolean> {
    const r = await sh(["git", "-C", projectRoot, "cat-file", "-e", `${commit}:components/package.json`], { reject: false });
    return r.exitCode === 0;
}

/**
 * Makes `workDir/node_modules` a folder of links to the repository's packages,
 * without pulumi-hostnet (installed next by `installOldLibrary` or
 * `installThisLibrary`), so that the package can be swapped as npm would.
 */
export function linkNodeModules(workDir: string): void {
    const modules = join(workDir, "node_modules");
    mkdirSync(modules);
    for (const entry of readdirSync(join(projectRoot, "node_modules"))) {
        if (entry !== "pulumi-hostnet" && entry !== ".bin") symlinkSync(join(projectRoot, "node_modules", entry), join(modules, entry));
    }
}

/**
 * Puts the library as it was at `commit` into `workDir` (whose node_modules
 * `linkNodeModules` made) and returns the module a program imports it by:
 * "./components" before the package, "pulumi-hostnet" since. `scratch` holds
 * the build.
 */
export async function installOldLibrary(commit: string, workDir: string, scratch: string): Promise<string> {
    await requireCommit(commit);
    const tar = join(scratch, `components-${commit}.tar`);
    await sh(["git", "-C", projectRoot, "archive", "--format=tar", "-o", tar, commit, "components"]);
    if (!(await isPackageAt(commit))) {
        await sh(["tar", "-xf", tar, "-C", workDir]);
        return "./components";
    }
    const build = mkdtempSync(join(scratch, `build-${commit}-`));
    await sh(["tar", "-xf", tar, "-C", build]);
    // Its sources resolve @pulumi/pulumi, yaml and @types/node from the repository's packages.
    symlinkSync(join(projectRoot, "node_modules"), join(build, "node_modules"));
    const tsc = await sh(
        ["node", join(projectRoot, "node_modules", "typescript", "bin", "tsc"), "-p", join(build, "components", "tsconfig.json")],
        {
            reject: false,
        },
    );
    if (tsc.exitCode !== 0)
        throw new Error(`failed to build the library at commit ${commit}: tsc exited ${tsc.exitCode}: ${tsc.stdout} ${tsc.stderr}`);
    installPackage(join(build, "components"), workDir);
    return "pulumi-hostnet";
}

/** Installs this version (the repository's build, components/dist) as workDir/node_modules/pulumi-hostnet, replacing any other. */
export function installThisLibrary(workDir: string): void {
    if (!existsSync(join(projectRoot, "components", "dist", "engine", "index.js")))
        throw new Error("failed to install this version of pulumi-hostnet: components/dist is not built; run `npm run setup`");
    installPackage(join(projectRoot, "components"), workDir);
}

/**
 * What npm leaves in node_modules for a package: its package.json, its built
 * files and its native helpers when it has them (since the netlink helper),
 * copied (not linked).
 */
function installPackage(from: string, workDir: string): void {
    const to = join(workDir, "node_modules", "pulumi-hostnet");
    rmSync(to, { recursive: true, force: true });
    mkdirSync(to);
    cpSync(join(from, "package.json"), join(to, "package.json"));
    cpSync(join(from, "dist"), join(to, "dist"), { recursive: true });
    if (existsSync(join(from, "native"))) cpSync(join(from, "native"), join(to, "native"), { recursive: true });
    const name = JSON.parse(readFileSync(join(to, "package.json"), "utf8")).name;
    if (name !== "pulumi-hostnet") throw new Error(`failed to install pulumi-hostnet from ${from}: its package.json names "${name}"`);
}
