// Nothing is left behind, and what a killed run leaves is found: through the
// real engine on the real host (the project's Pulumi CLI as a user runs it,
// real containers, bridges, veths, firewall rules), read back with the
// system's own tools (ip, docker inspect, iptables, readlink), and
// `hostnet gc` run as a user runs it.
//
//   (a) a created Bridge deleted by hand, then refreshed (the state keeps it,
//       gone, since its firewall rule is left) and removed from the program:
//       the next up takes the rule back; kept in the program, up makes the
//       bridge again with one rule;
//   (b) `pulumi up` of one resource of every marked kind, killed with SIGKILL
//       (the whole process tree) at every step, the program then emptied and
//       the interrupted creates cleared: `hostnet gc` lists exactly the
//       objects carrying the stack's marks that its state does not account
//       for, `--delete` removes them and nothing else (another stack's
//       object, unmarked objects of each kind the test made - an interface,
//       a Docker network, a container and its connection - and the adopted
//       bridge's own address stay), the next up leaves nothing;
//   (c) two stacks, one creating a bridge and the other adopting it (and
//       adding an address to it), `up` at the same time, 20 times: every up
//       succeeds, the bridge is never deleted or made again, each stack's
//       attachments and addresses are as its program says, gc finds nothing
//       of either, and the adopter's destroy leaves the bridge;
//   (d) a resource dropped from the state: `hostnet preview-report` warns
//       about its objects, `hostnet gc --delete` removes them.

import * as assert from "node:assert/strict";
import { CliStack, killTree } from "../helpers/cliStack";
import {
    addressRecords,
    dockerInspect,
    firewallRules,
    ipLinks,
    ipv4Of,
    makeForeignLink,
    makeTestBridge,
    markedObjects,
    ping,
    RUN,
    sh,
    startTestContainer,
    sweepRun,
    TEST_ALIAS,
    TEST_LABEL,
    uniqueSuffix,
    unusedSlash16,
} from "../helpers/host";

/** An object carrying an owner mark, as the system's tools show it. */
interface Seen {
    what: string;
    mark: string;
}

/**
 * Everything on the host carrying a mark under `prefix`, read with the system's tools: containers and networks
 * (labels), host interfaces and interfaces in the containers named `containers` (aliases), firewall rules
 * (comments), address records (readlink) and connections (Docker driver options).
 */
async function seen(prefix: string, containers: string[]): Promise<Seen[]> {
    const found: Seen[] = [];
    for (const id of (await sh(["docker", "ps", "-aq"])).stdout.split("\n").filter(Boolean)) {
        const c = await dockerInspect(id);
        const mark = c?.Config?.Labels?.["io.hostnet.owner"];
        if (mark?.startsWith(prefix)) found.push({ what: `container ${c.Name.slice(1)}`, mark });
        for (const [net, ep] of Object.entries<any>(c?.NetworkSettings?.Networks ?? {})) {
            const m = ep?.DriverOpts?.["io.hostnet.owner"];
            if (m?.startsWith(prefix)) found.push({ what: `connection ${c.Name.slice(1)} ${net}`, mark: m });
        }
    }
    for (const n of (await sh(["docker", "network", "ls", "-q"])).stdout.split("\n").filter(Boolean)) {
        const r = await sh(["docker", "network", "inspect", n], { reject: false });
        const net = r.exitCode === 0 ? JSON.parse(r.stdout)[0] : undefined;
        const mark = net?.Labels?.["io.hostnet.owner"];
        if (mark?.startsWith(prefix)) found.push({ what: `network ${net.Name}`, mark });
    }
    for (const l of await ipLinks()) if (l.ifalias?.startsWith(prefix)) found.push({ what: `link ${l.ifname}`, mark: l.ifalias });
    for (const name of containers) {
        const c = await dockerInspect(name);
        if (!c?.State?.Running) continue;
        for (const l of await ipLinks(c.State.Pid))
            if (l.ifalias?.startsWith(prefix)) found.push({ what: `link ${l.ifname} in ${name}`, mark: l.ifalias });
    }
    for (const r of await firewallRules()) if (r.mark.startsWith(prefix)) found.push({ what: `rule ${r.chain} ${r.bridge}`, mark: r.mark });
    for (const r of await addressRecords())
        if (r.owner.startsWith(prefix)) found.push({ what: `record ${r.cidr} on ${r.bridge}`, mark: r.owner });
    return found.sort((x, y) => x.what.localeCompare(y.what));
}

/** How many of the stack's objects exist, cheaply (to catch an up at the k-th): host links, containers named `tag-*`, rules, records. */
async function quickCount(prefix: string, tag: string): Promise<number> {
    const links = JSON.parse((await sh(["ip", "-j", "link", "show"])).stdout) as { ifalias?: string }[];
    const containers = (await sh(["docker", "ps", "-aq", "--filter", `name=^${tag}-`, "--filter", "label=io.hostnet.owner"])).stdout
        .split("\n")
        .filter(Boolean);
    return (
        links.filter((l) => l.ifalias?.startsWith(prefix)).length +
        containers.length +
        (await firewallRules()).filter((r) => r.mark.startsWith(prefix)).length +
        (await addressRecords()).filter((r) => r.owner.startsWith(prefix)).length
    );
}

/** The owner marks the stack's state holds (its resources' `owner` outputs). */
function stateOwners(stack: CliStack): Set<string> {
    const resources: any[] = stack.checkpoint().checkpoint?.latest?.resources ?? [];
    return new Set(resources.map((r) => r.outputs?.owner).filter((o): o is string => typeof o === "string"));
}

describe("leftovers: what a killed run or a hand-deleted bridge leaves is found and taken back (real engine, real host)", function () {
    const cleanups: (() => Promise<void>)[] = [];
    const figures: string[] = [];

    after(async () => {
        for (const c of cleanups.reverse()) await c().catch((err) => console.error(`cleanup: ${err.message}`));
        await sweepRun();
        console.log(figures.map((f) => `      ${f}`).join("\n"));
    });

    /** A stack of `program` to destroy and remove after the tests, whatever happens. */
    function stackFor(suffix: string, program: string): CliStack {
        const s = new CliStack(`e2e-${RUN}-${suffix}`, {}, program);
        cleanups.push(async () => {
            if ((await s.run(["destroy", "--yes", "--skip-preview"])).exitCode !== 0) {
                await s.run(["cancel", "--yes"]);
                await s.run(["destroy", "--yes", "--skip-preview"]);
            }
            await sweepRun(s.ownerPrefix);
            s.dispose();
        });
        return s;
    }

    it("(a) a created Bridge deleted by hand: refresh keeps it (its rule is left); up makes it again with one rule; removed from the program, the next up takes the rule back", async () => {
        const tag = `hla${uniqueSuffix()}`;
        const stack = stackFor("rule", "leftovers.ts");
        await stack.init({ tag, net: await unusedSlash16(), shared: "-", keep: "bridge" });
        await stack.ok(["up", "--yes", "--skip-preview"]);
        const bridge = `${tag}-br`;
        const rules = async () => (await firewallRules()).filter((r) => r.mark === `${stack.ownerPrefix}Bridge/lan`);
        assert.equal((await rules()).length, 1, "the created bridge has its forwarding rule");

        await sh(["ip", "link", "del", "dev", bridge]);
        await stack.ok(["refresh", "--yes", "--skip-preview"]);
        const lan = stack.checkpoint().checkpoint.latest.resources.find((r: any) => r.urn.endsWith("::lan"));
        assert.equal(lan?.outputs?.gone, true, "refresh keeps the Bridge, as gone, while its rule is left");
        await stack.ok(["up", "--yes", "--skip-preview"]);
        assert.equal((await ipLinks()).find((l) => l.ifname === bridge)?.ifalias, `${stack.ownerPrefix}Bridge/lan`, "made again");
        assert.equal((await rules()).length, 1, "one rule");

        await sh(["ip", "link", "del", "dev", bridge]);
        await stack.ok(["refresh", "--yes", "--skip-preview"]);
        await stack.ok(["config", "set", "keep", "none"]);
        await stack.ok(["up", "--yes", "--skip-preview"]);
        assert.deepEqual(await rules(), [], "the rule went with the Bridge removed from the program");
        assert.deepEqual(stack.checkpoint().checkpoint.latest.resources?.filter((r: any) => r.urn.endsWith("::lan")) ?? [], []);
        assert.equal((await stack.gc()).report.leftovers.length, 0);
    });

    it("(b) up killed (SIGKILL to the process tree) at every step of making one object of each marked kind, the program emptied, the interrupted creates cleared: gc lists exactly what the state does not account for, --delete removes only that (unmarked objects of each kind and another stack's stay), and up leaves nothing", async function () {
        // Up to a dozen kills, each with a recovery through the engine: long on a loaded machine.
        this.timeout(3600000);
        const tag = `hlb${uniqueSuffix()}`;
        const net = await unusedSlash16();
        const shared = `${tag}-sh`;
        await makeTestBridge(shared, `${net}.2.1/24`);
        // Objects gc must never touch: an unmarked interface named like the stack's, and another stack's marked one.
        const foreign = `${tag}-fx`;
        await makeForeignLink(foreign);
        const otherStack = `${tag}-ox`;
        await sh(["ip", "link", "add", "name", otherStack, "type", "bridge"]);
        cleanups.push(async () => void (await sh(["ip", "link", "del", "dev", otherStack], { reject: false })));
        await sh(["ip", "link", "set", "dev", otherStack, "alias", `hostnet/hostnet/e2e-${RUN}-other/Bridge/x`]);
        // Unmarked objects of the stack's other kinds, named like its own: a Docker network (with its bridge), and a
        // container joined to it (a connection, and interfaces in the container and on the host).
        const plainNet = `${tag}-un`;
        const plainBox = `${tag}-ux`;
        cleanups.push(async () => {
            await sh(["docker", "rm", "-f", plainBox], { reject: false });
            await sh(["docker", "network", "rm", plainNet], { reject: false });
        });
        await sh([
            "docker",
            "network",
            "create",
            "--label",
            `${TEST_LABEL}=${RUN}`,
            "--subnet",
            `${net}.9.0/24`,
            "-o",
            `com.docker.network.bridge.name=${plainNet}`,
            plainNet,
        ]);
        await startTestContainer(plainBox, plainNet);
        const plainBefore = await dockerInspect(plainBox);

        const stack = stackFor("killed", "leftovers.ts");
        await stack.init({ tag, net, shared, keep: "all" });
        const containers = [`${tag}-box`, `${tag}-peer`, `${tag}-web`];
        const untouched = async () => {
            const links = await ipLinks();
            assert.ok(
                links.some((l) => l.ifname === foreign && l.ifalias === TEST_ALIAS),
                "the unmarked interface stays",
            );
            assert.ok(
                links.some((l) => l.ifname === otherStack),
                "the other stack's interface stays",
            );
            assert.ok(ipv4Of(links.find((l) => l.ifname === shared)).includes(`${net}.2.1/24`), "the adopted bridge keeps its own address");
            assert.ok(
                links.some((l) => l.ifname === plainNet),
                "the unmarked network's bridge stays",
            );
            const box = await dockerInspect(plainBox);
            assert.equal(box?.Id, plainBefore.Id, "the unmarked container stays (the same one)");
            assert.equal(box.State.Running, true, "and runs");
            const ep = box.NetworkSettings.Networks[plainNet];
            assert.equal(
                ep?.EndpointID,
                plainBefore.NetworkSettings.Networks[plainNet].EndpointID,
                "its connection to the unmarked network stays",
            );
            assert.equal((await ipLinks(box.State.Pid)).filter((l) => l.ifname === "eth0").length, 1, "with its interface");
            const nets = JSON.parse((await sh(["docker", "network", "inspect", plainNet])).stdout);
            assert.equal(nets[0]?.Labels?.["io.hostnet.owner"], undefined, "the unmarked network stays");
        };

        let complete = 0;
        const rows: string[] = [];
        for (let k = 1; ; k++) {
            const cli = stack.startUp();
            let output = "";
            cli.stdout!.on("data", (c: Buffer) => (output += c.toString()));
            cli.stderr!.on("data", (c: Buffer) => (output += c.toString()));
            let exited = false;
            const exit = new Promise((r) => cli.once("exit", r));
            void exit.then(() => (exited = true));
            let atKill = 0;
            const end = Date.now() + 300000;
            for (;;) {
                const n = await quickCount(stack.ownerPrefix, tag);
                if (n >= k && !exited) {
                    killTree(cli.pid!);
                    atKill = n;
                    break;
                }
                if (exited || Date.now() > end) break;
                await new Promise((r) => setTimeout(r, 25));
            }
            await exit;
            if (atKill === 0) {
                assert.match(output, /Resources:/, `the up that was not killed finished:\n${output}`);
                complete = (await seen(stack.ownerPrefix, containers)).length;
                rows.push(`k=${k}: the up finished before ${k} objects existed (${complete} in all)`);
                await stack.ok(["destroy", "--yes", "--skip-preview"]);
                break;
            }
            // What a user does when the program no longer has what the killed run was making.
            await stack.ok(["cancel", "--yes"]);
            await stack.ok(["config", "set", "keep", "none"]);
            await stack.ok(["refresh", "--yes", "--skip-preview", "--clear-pending-creates"]);
            const objects = await seen(stack.ownerPrefix, containers);
            const owners = stateOwners(stack);
            const expected = objects.filter((o) => !owners.has(o.mark));
            const listed = await stack.gc();
            assert.equal(listed.exitCode, expected.length > 0 ? 2 : 0, listed.stdout + listed.stderr);
            assert.deepEqual(
                listed.report.leftovers.map((l) => l.mark).sort(),
                expected.map((o) => o.mark).sort(),
                `k=${k}: on the host ${objects.map((o) => `${o.what} (${o.mark.slice(stack.ownerPrefix.length)})`).join(", ")}; ` +
                    `in the state ${[...owners].map((o) => o.slice(stack.ownerPrefix.length)).join(", ")}; gc listed ${listed.report.leftovers.map((l) => l.text).join(", ")}`,
            );
            assert.ok(
                listed.report.leftovers.every((l) => !l.pending),
                "no pending operation is left after the refresh",
            );
            const removed = await stack.gc(["--delete"]);
            assert.equal(removed.exitCode, 0, removed.stdout + removed.stderr);
            assert.deepEqual(
                (removed.report.removed ?? []).map((l) => l.mark).sort(),
                expected.map((o) => o.mark).sort(),
                "gc --delete says it removed what it listed",
            );
            assert.deepEqual(
                (await seen(stack.ownerPrefix, containers)).map((o) => o.what),
                objects.filter((o) => owners.has(o.mark)).map((o) => o.what),
                "gc --delete removed exactly the leftovers",
            );
            await untouched();
            await stack.ok(["up", "--yes", "--skip-preview"]);
            assert.deepEqual(await seen(stack.ownerPrefix, containers), [], "the emptied program's up leaves nothing");
            assert.deepEqual(
                ipv4Of((await ipLinks()).find((l) => l.ifname === shared)),
                [`${net}.2.1/24`],
                "the adopted bridge is left with its own address only",
            );
            assert.deepEqual(
                (await ipLinks())
                    .filter((l) => l.ifname.startsWith(`${tag}-`) && ![shared, foreign, otherStack, plainNet].includes(l.ifname))
                    .map((l) => l.ifname),
                [],
                "no interface of the stack's names is left, marked or not",
            );
            assert.equal((await stack.gc()).report.leftovers.length, 0);
            rows.push(
                `k=${k}: killed with ${atKill} objects on the host (${objects.length} marked in all after the refresh); ${owners.size} resources in the state; gc found ${listed.report.leftovers.length}, removed ${removed.report.removed?.length ?? 0}`,
            );
            console.log(`      ${rows[rows.length - 1]}`);
            await stack.ok(["config", "set", "keep", "all"]);
        }
        await untouched();
        figures.push(`(b) ${rows.length - 1} kills:`, ...rows.map((r) => `    ${r}`));
        assert.ok(complete >= 10, `the program makes an object of each kind (${complete})`);
        assert.ok(rows.length > 5, "killed at several steps");
    });

    it("(c) two stacks, one creating a bridge and one adopting it with an address of its own, `up` at the same time 20 times: no failure, no collision, no leftover; the bridge is never made again, and the adopter's destroy leaves it", async function () {
        this.timeout(5400000);
        const rounds = Number(process.env.HOSTNET_CONCURRENT_ROUNDS ?? 20);
        const sfx = uniqueSuffix();
        const bridge = `hnlc-${sfx}`;
        const net = await unusedSlash16();
        const prefix = `${net}.1`;
        const ca = Array.from({ length: 3 }, (_, i) => `hnlc-${sfx}-a${i}`);
        const cb = Array.from({ length: 3 }, (_, i) => `hnlc-${sfx}-b${i}`);
        for (const c of [...ca, ...cb]) await startTestContainer(c);
        const creator = stackFor("creator", "attachments.ts");
        const adopter = stackFor("adopter", "attachments.ts");
        const adopted = `${net}.2.1/24`;
        await creator.init({ containers: JSON.stringify(ca), bridge, prefix, bridgeMode: "create" });
        await adopter.init({ containers: "[]", bridge, prefix, bridgeMode: "adopt", first: "30" });
        // A stack cannot adopt what does not exist yet: the bridge is made first.
        await creator.ok(["up", "--yes", "--skip-preview"]);
        const ifindex = (await ipLinks()).find((l) => l.ifname === bridge)!.ifindex;

        const hostEnds = async (stack: CliStack) =>
            (await ipLinks()).filter((l) => l.ifalias?.startsWith(`${stack.ownerPrefix}VethAttachment/`));
        const times: number[] = [];
        let ups = 0;
        for (let r = 0; r < rounds; r++) {
            const nA = 1 + (r % 3);
            const nB = 3 - (r % 3);
            const withAddress = r % 2 === 0;
            await creator.ok(["config", "set", "containers", JSON.stringify(ca.slice(0, nA))]);
            await adopter.ok(["config", "set", "containers", JSON.stringify(cb.slice(0, nB))]);
            await adopter.ok(["config", "set", "adoptAddress", withAddress ? adopted : "none"]);
            const t0 = Date.now();
            const [a, b] = await Promise.all([
                creator.run(["up", "--yes", "--skip-preview"]),
                adopter.run(["up", "--yes", "--skip-preview"]),
            ]);
            times.push(Date.now() - t0);
            ups += 2;
            assert.equal(a.exitCode, 0, `round ${r}, creator:\n${a.stdout}\n${a.stderr}`);
            assert.equal(b.exitCode, 0, `round ${r}, adopter:\n${b.stdout}\n${b.stderr}`);
            const link = (await ipLinks()).find((l) => l.ifname === bridge);
            assert.equal(link?.ifindex, ifindex, `round ${r}: the same bridge, never deleted or made again`);
            assert.deepEqual(
                ipv4Of(link).sort(),
                [`${prefix}.1/24`, ...(withAddress ? [adopted] : [])].sort(),
                `round ${r}: the creator's address, and the adopter's as its program says`,
            );
            const records = (await addressRecords()).filter((x) => x.bridge === bridge);
            assert.deepEqual(
                records.map((x) => [x.cidr, x.ifindex, x.owner]),
                withAddress ? [[adopted, ifindex, `${adopter.ownerPrefix}Bridge/lan`]] : [],
                `round ${r}: the adopter's address has its record, and only while it is there`,
            );
            const [endsA, endsB] = [await hostEnds(creator), await hostEnds(adopter)];
            assert.equal(endsA.length, nA, `round ${r}: the creator's attachments`);
            assert.equal(endsB.length, nB, `round ${r}: the adopter's attachments`);
            assert.ok(
                [...endsA, ...endsB].every((l) => l.master === bridge),
                `round ${r}: every host end on the bridge`,
            );
            for (const s of [creator, adopter])
                assert.deepEqual((await s.gc()).report.leftovers, [], `round ${r}: gc finds nothing of ${s.name}`);
            if (r % 5 === 4) assert.ok(await ping(`${prefix}.30`), `round ${r}: the adopter's first container answers`);
        }

        await adopter.ok(["destroy", "--yes", "--skip-preview"]);
        const link = (await ipLinks()).find((l) => l.ifname === bridge);
        assert.equal(link?.ifindex, ifindex, "the adopter's destroy leaves the bridge");
        assert.deepEqual(ipv4Of(link), [`${prefix}.1/24`], "and takes back only its own address");
        assert.deepEqual(
            (await addressRecords()).filter((x) => x.bridge === bridge),
            [],
        );
        await creator.ok(["destroy", "--yes", "--skip-preview"]);
        assert.ok(!(await ipLinks()).some((l) => l.ifname === bridge), "its creator deleted it");
        for (const s of [creator, adopter]) {
            assert.deepEqual(await markedObjects(s.ownerPrefix), []);
            assert.deepEqual((await s.gc()).report.leftovers, []);
        }
        const sorted = [...times].sort((x, y) => x - y);
        figures.push(
            `(c) ${rounds} rounds, ${ups} ups two at a time: all succeeded, the bridge kept ifindex ${ifindex}; gc found 0 leftovers after every round; ` +
                `a round's two ups took ${(sorted[Math.floor(sorted.length / 2)] / 1000).toFixed(1)} s (median), ${(sorted[sorted.length - 1] / 1000).toFixed(1)} s (max)`,
        );
    });

    it("(d) a Bridge dropped from the state (`pulumi state delete`): `hostnet preview-report` warns about its bridge and rule, `hostnet gc --delete` removes them, then the report is clean", async () => {
        const tag = `hld${uniqueSuffix()}`;
        const stack = stackFor("report", "leftovers.ts");
        await stack.init({ tag, net: await unusedSlash16(), shared: "-", keep: "bridge" });
        await stack.ok(["up", "--yes", "--skip-preview"]);
        const urn = stack.checkpoint().checkpoint.latest.resources.find((r: any) => r.type.endsWith(":Bridge")).urn;
        await stack.ok(["state", "delete", urn, "--yes"]);
        const report = async () => {
            const r = await stack.previewReport();
            return { exitCode: r.exitCode, leftovers: r.json.leftovers as { text: string; resource: string }[], markdown: r.markdown };
        };
        const before = await report();
        assert.equal(before.exitCode, 2, "the Bridge is in the program, not in the state: a create");
        assert.deepEqual(
            before.leftovers.map((l) => [l.text, l.resource]).sort(),
            [
                [`bridge ${tag}-br (host)`, `Bridge "lan" of stack hostnet/${stack.name}`],
                [`firewall rule in DOCKER-USER accepting forwarding on bridge ${tag}-br`, `Bridge "lan" of stack hostnet/${stack.name}`],
            ].sort(),
        );
        assert.match(
            before.markdown,
            /> \*\*Warning:\*\* 2 object\(s\) on this machine carry this stack's marks, but no resource of its state accounts for them/,
        );
        const gc = await stack.gc(["--delete"]);
        assert.equal(gc.exitCode, 0, gc.stdout + gc.stderr);
        assert.equal(gc.report.removed?.length, 2);
        const after = await report();
        assert.deepEqual(after.leftovers, []);
        assert.doesNotMatch(after.markdown, /carry this stack's marks/);
        assert.deepEqual(await firewallRules().then((rs) => rs.filter((r) => r.mark.startsWith(stack.ownerPrefix))), []);
    });
});
