// `hostnet topology` (what `npm run topology` runs), run as a user runs it, in
// its own process: against the example stack deployed through the real engine
// (every object named with its mode and address, in the text view and in the
// SVG), against an empty host (a fresh network namespace and a Docker engine
// with nothing in it), without a Docker engine, and against 100 attachments
// the test makes itself (grouped by bridge). Expected values come from the
// test's own configuration and from `docker inspect` / `ip -j`, never from
// the command under test.

import * as assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
    containerPid,
    dockerInspect,
    freePort,
    ipLinks,
    RUN,
    RUN_OWNER,
    runByte,
    sh,
    sweepRun,
    TEST_LABEL,
    unusedIpv6Subnets,
} from "../helpers/host";
import { exampleStack, tearDown, projectRoot, TestStack } from "../helpers/pulumi";

const CLI = join(projectRoot, "components", "dist", "cli", "index.js");

interface Output {
    exitCode: number;
    stderr: string;
    text: string;
    svg: string;
    dot: string;
}

/** The text of an SVG's <text> elements, one string per element. */
function svgTexts(svg: string): string[] {
    return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) =>
        m[1]
            .replace(/&lt;/g, "<")
            .replace(/&gt;/g, ">")
            .replace(/&quot;/g, '"')
            .replace(/&#45;/g, "-")
            .replace(/&amp;/g, "&"),
    );
}

/** The DOT source's clusters: for each, the node ids it holds. */
function clusters(dot: string): string[][] {
    return [...dot.matchAll(/subgraph cluster_\d+ \{([\s\S]*?)\n {2}\}/g)].map((m) =>
        [...m[1].matchAll(/^ {4}"([^"]+)" \[/gm)].map((x) => x[1]),
    );
}

describe("hostnet topology: a picture of the host's network", function () {
    let out: string;
    /** Runs the command (optionally under a prefix such as `unshare --net --`) and reads what it wrote. */
    async function topology(args: string[], prefix: string[] = [], env: string[] = []): Promise<Output> {
        const dir = mkdtempSync(join(out, "run-"));
        const files = { text: join(dir, "t.txt"), svg: join(dir, "t.svg"), dot: join(dir, "t.dot") };
        const r = await sh(
            [...prefix, "env", ...env, "node", CLI, "topology", ...args, "--text", files.text, "--svg", files.svg, "--dot", files.dot],
            { reject: false },
        );
        const read = (f: string) => {
            try {
                return readFileSync(f, "utf8");
            } catch {
                return "";
            }
        };
        return { exitCode: r.exitCode, stderr: r.stderr, text: read(files.text), svg: read(files.svg), dot: read(files.dot) };
    }

    before(() => {
        out = mkdtempSync(join(tmpdir(), "hostnet-topology-"));
    });
    after(() => rmSync(out, { recursive: true, force: true }));

    describe("the example stack", function () {
        const n = runByte(9);
        const stackName = `e2e-${RUN}-topology`;
        const ownerPrefix = `hostnet/hostnet/${stackName}/`;
        const cname = (name: string) => `hn-${stackName}-${name}`;
        const mark = (type: string, name: string) => `[${stackName}/${type}/${name}]`;
        const seedAddress = `172.17.${200 + (n % 50)}.${((n + 60) % 250) + 2}/16`;
        const seed6 = `fd17:ac11::${(200 + (n % 50)).toString(16)}:${(((n + 60) % 250) + 2).toString(16)}`;
        let lab6 = "";
        let lan6 = "";
        const config: Record<string, string> = {
            "hostnet:address": seedAddress,
            "hostnet:labSubnet": `10.214.${n}.0/24`,
            "hostnet:lanAddress": `10.224.${n}.1/24`,
        };
        let t: TestStack;
        let webPort: number;
        /** Every container of the example: mode as `docker run --net` says it, and addresses per interface or network. */
        let expected: { name: string; mode: string; addresses: string[]; owner: string }[];
        let lanName: string;
        let hostEnds: { seed: string; isolated: string };
        let all: Output;
        let mine: Output;

        before(async () => {
            webPort = await freePort();
            config["hostnet:webPort"] = String(webPort);
            [lab6, lan6] = (await unusedIpv6Subnets(2)).map((c) => c.split("/")[0]);
            config["hostnet:address6"] = `${seed6}/64`;
            config["hostnet:labSubnet6"] = `${lab6}/64`;
            config["hostnet:lanAddress6"] = `${lan6}1/64`;
            t = await exampleStack(stackName, config);
            assert.equal((await t.stack.up()).summary.result, "succeeded");
            const web = await dockerInspect(cname("web"));
            const lab = `${cname("lab")}`;
            const labNet = `10.214.${n}`;
            const web6 = web.NetworkSettings.Networks.bridge.GlobalIPv6Address;
            expected = [
                {
                    name: "seed",
                    mode: "none",
                    addresses: [`${seedAddress} (eth0)`, `${seed6}/64 (eth0)`, "10.30.0.1/30 (eth1)", "fd17:30::1/64 (eth1)"],
                },
                {
                    name: "web",
                    mode: "bridge",
                    addresses: [
                        `${web.NetworkSettings.Networks.bridge.IPAddress}/16 (bridge)`,
                        `${web6}/64 (bridge)`,
                        `${labNet}.20/24 (${lab})`,
                        `${lab6}20/64 (${lab})`,
                    ],
                },
                { name: "hostns", mode: "host", addresses: [] },
                { name: "sidecar", mode: `container:${cname("web")}`, addresses: [] },
                { name: "api", mode: lab, addresses: [`${labNet}.10/24 (${lab})`, `${lab6}10/64 (${lab})`] },
                { name: "cli", mode: lab, addresses: [`${labNet}.11/24 (${lab})`, `${lab6}11/64 (${lab})`] },
                {
                    name: "isolated",
                    mode: "none",
                    addresses: [`10.224.${n}.2/24 (eth0)`, `${lan6}2/64 (eth0)`, "10.30.0.2/30 (eth1)", "fd17:30::2/64 (eth1)"],
                },
            ].map((c) => ({ ...c, name: cname(c.name), owner: mark("DockerContainer", c.name) }));
            const links = await ipLinks();
            const byAlias = (alias: string) => links.find((l) => l.ifalias === `${ownerPrefix}${alias}`)!.ifname;
            lanName = byAlias("Bridge/lan");
            hostEnds = { seed: byAlias("VethAttachment/seed-eth0"), isolated: byAlias("VethAttachment/isolated-eth0") };
            all = await topology([]);
            mine = await topology(["--stack", stackName]);
        });

        after(() => tearDown(t, ownerPrefix));

        for (const view of ["the whole host", "--stack"] as const) {
            it(`text view (${view}): every container with its --net mode, addresses, port and owner`, () => {
                const o = view === "--stack" ? mine : all;
                assert.equal(o.exitCode, 0, o.stderr);
                const lines = o.text.split("\n");
                for (const c of expected) {
                    const row = lines.find((l) => l.startsWith(`${c.name} `) && l.includes(c.owner));
                    assert.ok(row, `a row for ${c.name} in:\n${o.text}`);
                    assert.match(row, new RegExp(`^${c.name}\\s+${c.mode.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s+running\\s`));
                    for (const a of c.addresses) assert.ok(row.includes(a), `${c.name}: ${a} in ${row}`);
                }
                assert.ok(lines.find((l) => l.startsWith(cname("web")))!.includes(`127.0.0.1:${webPort}->80/tcp`));
            });
        }

        it("text view: bridges with their ports and peers, the Docker network, the veth link, each namespace's addresses", () => {
            const text = mine.text;
            const has = (re: RegExp) => assert.match(text, re);
            const q = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
            has(
                new RegExp(
                    `^${q(lanName)}\\s+10\\.224\\.${n}\\.1/24 ${q(lan6)}1/64\\s+UP\\s+${q(hostEnds.isolated)}\\s+-> ${q(cname("isolated"))}:eth0 10\\.224\\.${n}\\.2/24 ${q(lan6)}2/64\\s+${q(mark("VethAttachment", "isolated-eth0"))} ${q(mark("Bridge", "lan"))}$`,
                    "m",
                ),
            );
            const seedPort = text.split("\n").find((l) => l.includes(` ${hostEnds.seed} `));
            assert.match(
                seedPort ?? "",
                new RegExp(
                    `\\s${q(hostEnds.seed)}\\s+-> ${q(cname("seed"))}:eth0 ${q(seedAddress)} ${q(seed6)}/64\\s+${q(mark("VethAttachment", "seed-eth0"))}`,
                ),
            );
            has(
                new RegExp(
                    `^[0-9a-f]{12}\\s+${q(cname("lab"))}\\s+bridge\\s+10\\.214\\.${n}\\.0/24 ${q(lab6)}/64\\s+br-[0-9a-f]{12}\\s+` +
                        `${q(cname("api"))} 10\\.214\\.${n}\\.10/24 ${q(lab6)}10/64, ${q(cname("cli"))} 10\\.214\\.${n}\\.11/24 ${q(lab6)}11/64, ` +
                        `${q(cname("web"))} 10\\.214\\.${n}\\.20/24 ${q(lab6)}20/64\\s+${q(mark("Network", "lab"))}$`,
                    "m",
                ),
            );
            has(
                new RegExp(
                    `^${q(cname("isolated"))}:eth1 10\\.30\\.0\\.2/30 fd17:30::2/64 <-> ${q(cname("seed"))}:eth1 10\\.30\\.0\\.1/30 fd17:30::1/64 ${q(mark("VethLink", "seed-isolated"))}$`,
                    "m",
                ),
            );
            has(
                new RegExp(
                    `^${q(cname("seed"))} \\(--net=none, pid \\d+\\)\\n\\s+lo\\s+UNKNOWN\\s+127\\.0\\.0\\.1/8\\n\\s+eth0@${q(hostEnds.seed)}\\s+UP\\s+${q(seedAddress)}`,
                    "m",
                ),
            );
            has(new RegExp(`^${q(cname("sidecar"))} \\(--net=container:${q(cname("web"))}\\): ${q(cname("web"))}'s namespace$`, "m"));
            has(new RegExp(`^${q(cname("hostns"))} \\(--net=host\\): the host's namespace, above$`, "m"));
        });

        it("the SVG names every container with its mode and addresses, the bridges and the network, and marks the stack's objects", async () => {
            assert.equal(mine.exitCode, 0, mine.stderr);
            assert.match(mine.svg, /^<\?xml[\s\S]*<svg[\s\S]*<\/svg>\s*$/);
            const texts = svgTexts(mine.svg);
            const shows = (s: string) =>
                assert.ok(
                    texts.some((x) => x.includes(s)),
                    `the SVG shows ${s}`,
                );
            for (const c of expected) {
                shows(c.name);
                shows(`--net=${c.mode}`);
                shows(c.owner);
                for (const a of c.addresses) shows(a.split(" ")[0]);
            }
            shows(`port 127.0.0.1:${webPort}->80/tcp`);
            for (const s of [
                lanName,
                `10.224.${n}.1/24`,
                mark("Bridge", "lan"),
                "docker0",
                `Docker network ${cname("lab")}`,
                hostEnds.seed,
                hostEnds.isolated,
            ]) {
                shows(s);
            }
            // Grouped by bridge: the stack's bridge with isolated, docker0 with the seed (its first attachment).
            const groups = clusters(mine.dot);
            assert.ok(groups.some((g) => g.includes(`bridge:${lanName}`) && g.includes(`container:${cname("isolated")}`)));
            assert.ok(groups.some((g) => g.includes("bridge:docker0") && g.includes(`container:${cname("seed")}`)));
            const titles = [...mine.svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1].replace(/&#45;/g, "-").replace(/&gt;/g, ">"));
            for (const c of expected) assert.ok(titles.includes(`container:${c.name}`), `a node for ${c.name}`);
            assert.ok(
                titles.includes(`container:${cname("sidecar")}->container:${cname("web")}`),
                "the sidecar's shared namespace is drawn",
            );
        });
    });

    describe("hosts with nothing, or no Docker engine", function () {
        let server: Server;
        let socket: string;
        before(async () => {
            socket = join(out, "empty-docker.sock");
            // A Docker engine with nothing in it, for a host with nothing on it: the two listings the command reads.
            server = createServer((req, res) => {
                const empty = req.method === "GET" && /^\/(containers\/json|networks)(\?|$)/.test(req.url ?? "");
                res.writeHead(empty ? 200 : 404, { "Content-Type": "application/json" });
                res.end(empty ? "[]" : JSON.stringify({ message: "not here" }));
            });
            await new Promise<void>((resolve) => server.listen(socket, resolve));
        });
        after(() => new Promise<void>((resolve) => server.close(() => resolve())));

        it("an empty host (fresh network namespace, empty Docker engine): only lo, and both views say there is nothing", async () => {
            const o = await topology([], ["unshare", "--net", "--"], [`DOCKER_HOST=unix://${socket}`]);
            assert.equal(o.exitCode, 0, o.stderr);
            assert.match(o.text, /: 0 bridges, 0 containers, 0 Docker networks, 0 veth links between containers\n/);
            for (const s of ["(no bridges)", "(no networks)", "(no containers)"]) assert.ok(o.text.includes(s), s);
            assert.match(o.text, /== Addresses per namespace \(ip -br addr\) ==\nhost\n {2}lo {2}DOWN {2}-\n$/);
            assert.match(o.svg, /<svg[\s\S]*hostnet topology of[\s\S]*<\/svg>/);
            assert.equal(clusters(o.dot).length, 0);
        });

        it("no Docker engine: the kernel's objects still, and why Docker was not read", async () => {
            const o = await topology([], ["unshare", "--net", "--"], [`DOCKER_HOST=unix://${join(out, "no-such.sock")}`]);
            assert.equal(o.exitCode, 0, o.stderr);
            assert.match(o.text, /Docker engine not read: failed to reach the Docker engine at .*no-such\.sock/);
            assert.match(o.text, /== Containers \(docker ps -a\) ==\n\(not read\)/);
        });
    });

    describe("100 attachments on 4 bridges", function () {
        const n = runByte(11);
        const bridges = [0, 1, 2, 3].map((j) => ({ name: `hnt${RUN}b${j}`, subnet: `10.${244 + j}.${n}` }));
        const containers = Array.from({ length: 100 }, (_, i) => ({
            name: `hnt-${RUN}-c${i}`,
            hostEnd: `hnt${RUN}v${i}`,
            bridge: bridges[i % 4],
            address: `${bridges[i % 4].subnet}.${Math.floor(i / 4) + 2}/24`,
        }));
        let o: Output;

        before(async function () {
            // Marked as this run's (test label, owner marks under hostnet/test/<run>/): swept after, whatever happens.
            for (const b of bridges) {
                await sh(["ip", "link", "add", "name", b.name, "type", "bridge"]);
                await sh(["ip", "link", "set", "dev", b.name, "alias", `${RUN_OWNER}Bridge/${b.name}`, "up"]);
                await sh(["ip", "addr", "add", `${b.subnet}.1/24`, "dev", b.name]);
            }
            for (let k = 0; k < containers.length; k += 5) {
                await Promise.all(
                    containers.slice(k, k + 5).map(async (c, m) => {
                        const i = k + m;
                        await sh([
                            "docker",
                            "run",
                            "-d",
                            "--name",
                            c.name,
                            "--net",
                            "none",
                            "--label",
                            `${TEST_LABEL}=${RUN}`,
                            "--label",
                            `io.hostnet.owner=${RUN_OWNER}DockerContainer/c${i}`,
                            "hostnet/busybox:1",
                            "sleep",
                            "2147483647",
                        ]);
                        const pid = String(await containerPid(c.name));
                        await sh(["ip", "link", "add", "name", c.hostEnd, "type", "veth", "peer", "name", "eth0", "netns", pid]);
                        await sh([
                            "ip",
                            "link",
                            "set",
                            "dev",
                            c.hostEnd,
                            "alias",
                            `${RUN_OWNER}VethAttachment/c${i}-eth0`,
                            "master",
                            c.bridge.name,
                            "up",
                        ]);
                        await sh(["nsenter", "--target", pid, "--net", "--", "ip", "addr", "add", c.address, "dev", "eth0"]);
                        await sh(["nsenter", "--target", pid, "--net", "--", "ip", "link", "set", "dev", "eth0", "up"]);
                    }),
                );
            }
            o = await topology(["--stack", RUN]);
        });
        after(() => sweepRun());

        it("the text lists each bridge with exactly its 25 ports, each to its container's eth0 and address", () => {
            assert.equal(o.exitCode, 0, o.stderr);
            const section = o.text.split("== Bridges (brctl show) ==\n")[1].split("\n\n")[0].split("\n").slice(1);
            for (const b of bridges) {
                const start = section.findIndex((l) => l.startsWith(`${b.name} `));
                assert.ok(start >= 0, b.name);
                const rows = section.slice(start, start + 25);
                const mineOnly = containers.filter((c) => c.bridge === b);
                assert.deepEqual(
                    rows.map((l) => /(hnt\w+v\d+)\s+-> (\S+):eth0 (\S+)/.exec(l)?.slice(1)),
                    mineOnly.map((c) => [c.hostEnd, c.name, c.address]).sort((x, y) => x[0].localeCompare(y[0], "en", { numeric: true })),
                );
                assert.ok(!section[start + 25] || !section[start + 25].startsWith(" "), "no 26th port");
            }
        });

        it("the diagram groups by bridge: 4 groups of a bridge and its 25 containers in columns, every one drawn, at a legible size", () => {
            const groups = clusters(o.dot);
            assert.equal(groups.length, 4);
            for (const b of bridges) {
                const g = groups.find((x) => x.includes(`bridge:${b.name}`));
                assert.deepEqual(
                    g?.filter((x) => x.startsWith("container:")).sort(),
                    containers
                        .filter((c) => c.bridge === b)
                        .map((c) => `container:${c.name}`)
                        .sort(),
                );
            }
            const texts = svgTexts(o.svg);
            for (const c of containers) assert.ok(texts.includes(c.name) && texts.includes(c.address), c.name);
            // Columns per bridge, not a strip of a hundred: measured 854 x 3763 pt here.
            const [width, height] = (/<svg width="(\d+)pt" height="(\d+)pt"/.exec(o.svg) ?? []).slice(1).map(Number);
            assert.ok(width > 0 && width <= 1200, `the diagram is ${width}pt wide`);
            assert.ok(height <= 5000, `the diagram is ${height}pt high`);
        });
    });
});
