// Team state in PostgreSQL (the `postgres://` backend of the Pulumi CLI):
// two checkouts of one small project run `pulumi up` of the same stack at
// once against one throw-away server (scripts/postgres.sh), the way two team
// members would. Read back with the CLI's own `pulumi stack export`, with
// psql on the server, and with a journal the program's provider appends to
// on every create (the only thing it touches: a file in the test's folder).

import * as assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { RUN, sh } from "../helpers/host";
import { projectRoot, toolchainRoot } from "../helpers/pulumi";

const PG = join(projectRoot, "scripts", "postgres.sh");
const PROJECT = "hostnet-pgstate";
const ITEMS = 5;
const LOCKED = /the stack is currently locked by (\d+) lock\(s\)/;
// Pulumi 3.248.0's PostgreSQL driver lists keys, then reads each key's size in a second
// query (pkg/backend/diy/postgres/bucket.go:197 and :269-273): when the other process
// deletes its lock in between, the lock check fails with this instead of LOCKED.
const LIST_RACE = /could not list bucket: blob \(code=NotFound\): sql: no rows in result set/;

const PROGRAM = `import * as pulumi from "@pulumi/pulumi";

// A resource that lives in memory only: create appends its key to a journal
// file (so a test can count creates), delete does nothing on the host.
const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: any) {
        await new Promise((r) => setTimeout(r, inputs.delayMs));
        require("fs").appendFileSync(inputs.journal, inputs.key + "\\n");
        return { id: inputs.key, outs: inputs };
    },
    async diff(_id: string, olds: any, news: any) {
        const replaces = ["key", "journal"].filter((k) => olds[k] !== news[k]);
        return { changes: replaces.length > 0 || olds.delayMs !== news.delayMs, replaces };
    },
    async update(_id: string, _olds: any, news: any) {
        return { outs: news };
    },
    async delete() {},
};

class Item extends pulumi.dynamic.Resource {
    constructor(name: string, props: { key: string; journal: string; delayMs: number }) {
        super(provider, name, props, undefined, "pgstate", "Item");
    }
}

const config = new pulumi.Config();
const journal = config.require("journal");
const delayMs = config.requireNumber("delayMs");
export const keys = Array.from({ length: config.requireNumber("items") }, (_, i) =>
    new Item("item-" + i, { key: "item-" + i, journal, delayMs }).id);
`;

interface Result {
    exitCode: number;
    output: string;
    pid: number;
    seconds: number;
}

describe("team state in PostgreSQL: two checkouts, one stack, one server", function () {
    const server = `p${RUN}`;
    const stack = `team-${RUN}`;
    let scratch: string;
    let url: string;
    let password: string;
    let journal: string;
    const checkouts: { dir: string; env: NodeJS.ProcessEnv }[] = [];

    function pulumi(c: { dir: string; env: NodeJS.ProcessEnv }, args: string[]): Promise<Result> {
        const t = Date.now();
        const child = execa(join(toolchainRoot(), "bin", "pulumi"), args, {
            cwd: c.dir,
            env: c.env,
            reject: false,
            all: true,
            timeout: 300000,
        });
        const pid = child.pid!;
        return child.then((r) => ({ exitCode: r.exitCode ?? -1, output: String(r.all ?? ""), pid, seconds: (Date.now() - t) / 1000 }));
    }

    function journalLines(): string[] {
        return existsSync(journal) ? readFileSync(journal, "utf8").split("\n").filter(Boolean) : [];
    }

    async function psql(sql: string): Promise<string[]> {
        const { stdout } = await sh(["psql", url, "-qAt", "-c", sql]);
        return stdout.split("\n").filter(Boolean);
    }

    async function exportStack(c: { dir: string; env: NodeJS.ProcessEnv }): Promise<any> {
        const r = await pulumi(c, ["stack", "export", "--stack", stack]);
        assert.equal(r.exitCode, 0, r.output);
        return JSON.parse(r.output);
    }

    before(async function () {
        const t = Date.now();
        url = (await sh(["bash", PG, "start", server])).stdout.trim();
        console.log(`      postgres.sh start: ${((Date.now() - t) / 1000).toFixed(1)}s`);
        password = new URL(url).password;
        scratch = mkdtempSync(join(tmpdir(), "hostnet-pgstate-"));
        journal = join(scratch, "journal");
        const bin = join(toolchainRoot(), "bin");
        for (const n of [1, 2]) {
            const dir = join(scratch, `checkout-${n}`);
            mkdirSync(dir);
            writeFileSync(
                join(dir, "Pulumi.yaml"),
                `name: ${PROJECT}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: index.ts\n`,
            );
            writeFileSync(join(dir, "index.ts"), PROGRAM);
            writeFileSync(join(dir, "package.json"), JSON.stringify({ name: PROJECT, private: true, main: "index.ts" }));
            writeFileSync(
                join(dir, "tsconfig.json"),
                JSON.stringify({
                    compilerOptions: {
                        target: "ES2022",
                        module: "commonjs",
                        moduleResolution: "node10",
                        types: ["node"],
                        strict: true,
                        esModuleInterop: true,
                        skipLibCheck: true,
                    },
                }),
            );
            symlinkSync(join(projectRoot, "node_modules"), join(dir, "node_modules"));
            const env: NodeJS.ProcessEnv = {
                ...process.env,
                PATH: `${bin}:${process.env.PATH}`,
                PULUMI_HOME: join(scratch, `home-${n}`),
                PULUMI_CONFIG_PASSPHRASE: "",
                PULUMI_SKIP_UPDATE_CHECK: "true",
                PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            };
            // The first team member puts the password in the URL; the second keeps it out, in PGPASSWORD.
            if (n === 1) env.PULUMI_BACKEND_URL = url;
            else {
                const u = new URL(url);
                u.password = "";
                env.PULUMI_BACKEND_URL = u.toString();
                env.PGPASSWORD = password;
            }
            checkouts.push({ dir, env });
        }
        const [one, two] = checkouts;
        assert.ok(!checkouts[1].env.PULUMI_BACKEND_URL!.includes(password));
        for (const args of [
            ["stack", "init"],
            ["config", "set", "journal", journal],
            ["config", "set", "delayMs", "3000"],
            ["config", "set", "items", String(ITEMS)],
        ]) {
            const r = await pulumi(one, [...args, "--stack", stack]);
            assert.equal(r.exitCode, 0, r.output);
        }
        // The stack's settings file (passphrase salt, config) is what a team commits with the project.
        copyFileSync(join(one.dir, `Pulumi.${stack}.yaml`), join(two.dir, `Pulumi.${stack}.yaml`));
        const seen = await pulumi(two, ["stack", "ls"]);
        assert.equal(seen.exitCode, 0, seen.output);
        assert.ok(seen.output.includes(stack), `the second checkout sees the stack made by the first:\n${seen.output}`);
    });

    after(async function () {
        await sh(["bash", PG, "stop", server], { reject: false });
        if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    let winner: number;
    let pairSeconds: number;

    it("runs on Debian's PostgreSQL 15, and the CLI keeps its state in the server's table", async () => {
        assert.match((await psql("show server_version"))[0], /^15\./);
        const keys = await psql("select key from pulumi_state order by key");
        assert.ok(
            keys.some((k) => k.endsWith(`/.pulumi/stacks/${PROJECT}/${stack}.json`)),
            keys.join("\n"),
        );
    });

    it("two `pulumi up` at once: one deploys, the other is refused with Pulumi's lock message naming the first; each resource is created once", async () => {
        const attempts: string[] = [];
        for (let attempt = 1; attempt <= 5; attempt++) {
            const t = Date.now();
            const runs = await Promise.all(checkouts.map((c) => pulumi(c, ["up", "--yes", "--stack", stack])));
            pairSeconds = (Date.now() - t) / 1000;
            const ok = runs.map((r, i) => (r.exitCode === 0 ? i : -1)).filter((i) => i >= 0);
            const why = runs.map((r) =>
                r.exitCode === 0
                    ? "deployed"
                    : LOCKED.test(r.output)
                      ? "refused (locked)"
                      : LIST_RACE.test(r.output)
                        ? "failed (list race)"
                        : "failed",
            );
            for (const r of runs.filter((x) => x.exitCode !== 0)) assert.ok(LOCKED.test(r.output) || LIST_RACE.test(r.output), r.output);
            assert.ok(ok.length <= 1, "never both at once");
            attempts.push(`checkout 1 ${why[0]}, checkout 2 ${why[1]}`);
            if (ok.length === 1 && LOCKED.test(runs[1 - ok[0]].output)) {
                winner = ok[0];
                const loser = runs[1 - winner];
                assert.ok(
                    loser.output.includes(`(pid ${runs[winner].pid})`),
                    `the refusal names the running update's process:\n${loser.output}`,
                );
                assert.ok(loser.seconds < runs[winner].seconds, "the refused one stopped at once, without waiting");
                const message = loser.output.split("\n").filter((l) => LOCKED.test(l) || l.includes(`(pid ${runs[winner].pid})`));
                console.log(
                    `      refused after ${loser.seconds.toFixed(1)}s (the deploying up took ${runs[winner].seconds.toFixed(1)}s):\n${message.map((l) => `        ${l.trim()}`).join("\n")}`,
                );
                break;
            }
            // Not the case under test, but no loss either: neither deployed (both saw the other's
            // lock: Pulumi's DIY lock is check, write, check again, pkg/backend/diy/lock.go:129-153,
            // not atomic; or one tripped over the list race), or one deployed while the other
            // tripped over the list race. No lock is left; start over, as a team member would.
            assert.deepEqual(await psql("select key from pulumi_state where key like '%/.pulumi/locks/%'"), [], "no lock left behind");
            if (ok.length === 0) assert.deepEqual(journalLines(), [], "a refused up creates nothing");
            if (ok.length === 1) {
                assert.deepEqual(
                    journalLines().sort(),
                    Array.from({ length: ITEMS }, (_, i) => `item-${i}`).sort(),
                    "every item created exactly once",
                );
                const destroy = await pulumi(checkouts[ok[0]], ["destroy", "--yes", "--stack", stack]);
                assert.equal(destroy.exitCode, 0, destroy.output);
                rmSync(journal, { force: true });
            }
        }
        console.log(`      concurrent ups: ${attempts.join("; ")}; the pair took ${pairSeconds.toFixed(1)}s`);
        assert.notEqual(winner, undefined, attempts.join("; "));
        assert.deepEqual(
            journalLines().sort(),
            Array.from({ length: ITEMS }, (_, i) => `item-${i}`).sort(),
            "every item created exactly once",
        );
    });

    it("`pulumi stack export` from either checkout has every resource once and nothing pending; the server holds no lock", async () => {
        const exports = [await exportStack(checkouts[0]), await exportStack(checkouts[1])];
        assert.deepEqual(exports[0], exports[1], "both checkouts read the same state");
        const deployment = exports[0].deployment;
        const urns: string[] = deployment.resources.map((r: { urn: string }) => r.urn);
        assert.equal(new Set(urns).size, urns.length, "no resource twice");
        const items = deployment.resources.filter((r: { type: string }) => r.type === "pulumi-nodejs:dynamic/pgstate:Item");
        assert.deepEqual(items.map((r: { id: string }) => r.id).sort(), Array.from({ length: ITEMS }, (_, i) => `item-${i}`).sort());
        assert.equal(deployment.resources.filter((r: { type: string }) => r.type === "pulumi:pulumi:Stack").length, 1);
        assert.deepEqual(deployment.pending_operations ?? [], []);
        assert.deepEqual(await psql("select key from pulumi_state where key like '%/.pulumi/locks/%'"), []);
    });

    it("the refused checkout's `up` afterwards is a no-op, and so is a third from the other", async () => {
        const before = await exportStack(checkouts[0]);
        for (const c of [checkouts[1 - winner], checkouts[winner]]) {
            const r = await pulumi(c, ["up", "--yes", "--expect-no-changes", "--stack", stack]);
            assert.equal(r.exitCode, 0, r.output);
            assert.match(r.output, new RegExp(`${ITEMS + 1} unchanged`));
        }
        assert.equal(journalLines().length, ITEMS, "nothing created again");
        const after = await exportStack(checkouts[1]);
        const urns = (e: any) => e.deployment.resources.map((r: { urn: string }) => r.urn).sort();
        assert.deepEqual(urns(after), urns(before));
    });
});
