// Hosts other than this machine, without a network: the one quoting function
// (run through real shells), the host scope (which runner and which claim
// space a call gets), owner marks with a host, the checks of `host` and of a
// VxlanLink, the engine's handling of a host change, and the components under
// Pulumi mocks (where a resource's host comes from). The real SSH path is
// test/multihost/remote.test.ts.

import * as assert from "node:assert/strict";
import * as http from "node:http";
import * as pulumi from "@pulumi/pulumi";
import { describeOwner, isOwnedBy, ownerMark, parseOwnerMark, sameStack } from "../../components/src/common/naming";
import { checkHost } from "../../components/src/common/specs/host";
import { checkVxlanLinkInputs } from "../../components/src/common/specs/vxlanLink";
import { containsUnknown, UNKNOWN } from "../../components/src/common/validation";
import { describeChange, provider } from "../../components/src/engine";
import { HostUnreachableError } from "../../components/src/host/errors";
import { currentHostKey, HostConnection, withHost } from "../../components/src/host/hostScope";
import { shellQuote } from "../../components/src/host/quote";
import { ShellSession, ShellSessionError } from "../../components/src/host/shellSession";
import { setHelperTransport } from "../../components/src/host/helper";
import { CommandRunner, runHost, setCommandRunner } from "../../components/src/host/run";
import { claim, claimsIn, isClaimed } from "../../components/src/engine/registry";
import { RUN, sh } from "../helpers/host";

/** Arguments a shell would mangle if any reached it unquoted. */
const NASTY: [string, string][] = [
    ["plain", "eth0"],
    ["empty", ""],
    ["space", "a b"],
    ["semicolon", `x; touch /tmp/hostnet-pwned-${RUN}`],
    ["command substitution", `$(touch /tmp/hostnet-pwned-${RUN})`],
    ["backticks", `\`touch /tmp/hostnet-pwned-${RUN}\``],
    ["variable", "$HOME ${PATH} $1 $@ $$"],
    ["single quote", "it's"],
    ["only quotes", "'''"],
    ["quote at the ends", "'x'"],
    ["double quotes", '"a" "b"'],
    ["backslashes", "a\\b\\\\c\\'d\\"],
    ["newline", "line1\nline2\n"],
    ["tab and CR", "a\tb\rc"],
    ["glob", "*"],
    ["glob with path", "/etc/*.conf [a-z]? {a,b}"],
    ["tilde", "~ ~root"],
    ["history", "!! !$"],
    ["pipes and redirections", `| cat > /tmp/hostnet-pwned-${RUN} 2>&1 < /dev/null && || &`],
    ["comment", "# not a comment"],
    ["leading dash", "--help"],
    ["equals", "A=B"],
    ["unicode", "héllo ✓"],
    ["long", "x".repeat(10000)],
];

describe("shellQuote: the one way an argv becomes a remote command line", () => {
    it("writes each argument in single quotes, an embedded quote as '\\''", () => {
        assert.equal(shellQuote(["ip", "link"]), "'ip' 'link'");
        assert.equal(shellQuote(["it's"]), "'it'\\''s'");
        assert.equal(shellQuote([""]), "''");
        assert.equal(shellQuote(["a", "", "b"]), "'a' '' 'b'");
    });

    for (const shell of ["sh", "dash", "bash"]) {
        it(`${shell} -c runs the quoted line as exactly that argv, metacharacters and all (${NASTY.length} cases)`, async () => {
            await sh(["rm", "-f", `/tmp/hostnet-pwned-${RUN}`]);
            // printf '%s\0' prints each argument as it arrived, NUL-terminated.
            const line = shellQuote(["printf", "%s\\0", ...NASTY.map(([, v]) => v)]);
            const { stdout } = await sh([shell, "-c", line]);
            const got = stdout.split("\0").slice(0, -1);
            for (const [i, [name, value]] of NASTY.entries()) assert.equal(got[i], value, name);
            assert.equal(got.length, NASTY.length);
            assert.equal((await sh(["test", "-e", `/tmp/hostnet-pwned-${RUN}`], { reject: false })).exitCode, 1, "nothing was run");
        });
    }

    it("keeps the command name quoted too: a name with a space is one word", async () => {
        const r = await sh(["sh", "-c", shellQuote(["no such command"])], { reject: false });
        assert.equal(r.exitCode, 127);
        assert.match(r.stderr, /no such command: not found/);
    });

    it("refuses a NUL byte and an empty command", () => {
        assert.throws(() => shellQuote(["a\0b"]), /NUL byte/);
        assert.throws(() => shellQuote([]), /empty/);
    });
});

/** A host whose commands are answered by `runner`: what the scope hands to runHost. */
function fakeHost(name: string, runner: CommandRunner): HostConnection {
    return { name, runner, dockerAgent: new http.Agent(), ensure: async () => undefined };
}

describe("host scope", () => {
    const seen: string[] = [];
    const local: CommandRunner = async (argv) => (seen.push(`local ${argv.join(" ")}`), { exitCode: 0, stdout: "local", stderr: "" });
    let previous: CommandRunner;
    beforeEach(() => {
        seen.length = 0;
        previous = setCommandRunner(local);
    });
    afterEach(() => setCommandRunner(previous));

    it("runs on this machine outside any scope, and on the host inside its scope, across awaits", async () => {
        const b = fakeHost("b", async (argv) => (seen.push(`b ${argv.join(" ")}`), { exitCode: 0, stdout: "on b", stderr: "" }));
        assert.equal(await runHost("list", ["ip", "link"]), "local");
        const out = await withHost(b, async () => {
            await new Promise((r) => setTimeout(r, 5));
            const first = await runHost("list", ["ip", "link"]);
            // Something started inside the scope stays there, even when it runs later.
            const later = await new Promise<string>((resolve) => setImmediate(() => resolve(runHost("list", ["ip", "addr"]))));
            return [first, later];
        });
        assert.deepEqual(out, ["on b", "on b"]);
        assert.deepEqual(seen, ["local ip link", "b ip link", "b ip addr"]);
    });

    it("two hosts at once each get their own runner", async () => {
        const hosts = ["b", "c"].map((n) => fakeHost(n, async () => ({ exitCode: 0, stdout: n, stderr: "" })));
        const got = await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
                withHost(hosts[i % 2], async () => {
                    await new Promise((r) => setTimeout(r, Math.random() * 5));
                    return runHost("who", ["hostname"]);
                }),
            ),
        );
        assert.deepEqual(
            got,
            Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? "b" : "c")),
        );
    });

    it("undefined inside a host's scope is this machine again", async () => {
        const b = fakeHost("b", async () => ({ exitCode: 0, stdout: "b", stderr: "" }));
        assert.equal(await withHost(b, () => withHost(undefined, () => runHost("who", ["hostname"]))), "local");
    });

    it("a failed command names the host; an unreachable host's error passes through as it is", async () => {
        const b = fakeHost("b", async () => ({ exitCode: 2, stdout: "", stderr: 'Cannot find device "x"' }));
        await assert.rejects(
            withHost(b, () => runHost('read link "x"', ["ip", "link", "show", "x"])),
            /failed to read link "x" on host b: `ip link show x`: Cannot find device "x"/,
        );
        const down = fakeHost("c", async () => {
            throw new HostUnreachableError("failed to reach host c over SSH: refused; check", "c");
        });
        await assert.rejects(
            withHost(down, () => runHost("x", ["true"])),
            HostUnreachableError,
        );
    });

    it("claims are per host: the same name on two hosts is no conflict, twice on one host is", () => {
        const b = fakeHost("b", local);
        const c = fakeHost("c", local);
        assert.equal(
            withHost(b, () => claim("ifname@host", ["vx0"], "one")),
            undefined,
        );
        assert.equal(
            withHost(c, () => claim("ifname@host", ["vx0"], "two")),
            undefined,
        );
        assert.equal(
            withHost(b, () => claim("ifname@host", ["vx0"], "three")),
            "one",
        );
        assert.equal(isClaimed("ifname@host", "vx0"), false, "this machine's space is apart");
        assert.equal(claim("ifname@host", ["vx0"], "four"), undefined);
        assert.deepEqual(claimsIn("ifname@host"), [["vx0", "four"]], "this machine's spaces keep their names");
        assert.equal(
            withHost(c, () => currentHostKey()),
            "c",
        );
        assert.equal(currentHostKey(), "");
    });
});

describe("owner marks with a host", () => {
    const id = { project: "p", stack: "s", type: "Bridge", name: "br" };

    it("keeps this machine's marks as they were, and puts the host in the others", () => {
        assert.equal(ownerMark(id), "hostnet/p/s/Bridge/br");
        assert.equal(ownerMark({ ...id, host: "b" }), "hostnet@b/p/s/Bridge/br");
        assert.deepEqual(parseOwnerMark("hostnet@b/p/s/Bridge/br"), { ...id, host: "b" });
        assert.deepEqual(parseOwnerMark("hostnet/p/s/Bridge/br"), id);
        assert.equal(describeOwner("hostnet@b/p/s/Bridge/br"), 'Bridge "br" on host b of stack p/s');
        assert.ok(sameStack("hostnet@b/p/s/Bridge/br", "hostnet/p/s/VethAttachment/x"));
        assert.equal(isOwnedBy("hostnet@b/p/s/Bridge/br", "hostnet@b/p/s/Bridge/br"), true, "a host's objects are its resources'");
        assert.equal(isOwnedBy("hostnet@c/p/s/Bridge/br", "hostnet@b/p/s/Bridge/br"), false, "not another host's");
        assert.equal(isOwnedBy(undefined, undefined), false);
        assert.match(ownerMark({ ...id, name: "x".repeat(300), host: "b" }), /^hostnet@b\/sha256:[0-9a-f]{40}$/);
    });
});

describe("checks of `host` and of a VxlanLink", () => {
    const ok = { name: "b", ssh: { host: "10.0.0.2", port: 22, user: "root", privateKeyPath: "/k", knownHostsPath: "/kh" } };
    const reasons = (v: unknown) => checkHost("host", v, containsUnknown).map((f) => f.reason);

    it("accepts a host, and this machine (absent)", () => {
        assert.deepEqual(reasons(ok), []);
        assert.deepEqual(reasons(undefined), []);
        assert.deepEqual(reasons({ name: "b", ssh: { host: UNKNOWN } }), [], "not known yet: checked later");
    });

    const bad: [string, unknown, RegExp][] = [
        [
            "an ssh host that reads as an option",
            { ...ok, ssh: { ...ok.ssh, host: "-oProxyCommand=x" } },
            /`host.ssh.host` must be an address/,
        ],
        ["a host with a space", { ...ok, ssh: { ...ok.ssh, host: "a b" } }, /`host.ssh.host`/],
        ["no address", { name: "b", ssh: {} }, /`host.ssh.host` is required/],
        ["a port out of range", { ...ok, ssh: { ...ok.ssh, port: 70000 } }, /`host.ssh.port` must be a TCP port/],
        ["a user with a shell character", { ...ok, ssh: { ...ok.ssh, user: "root;id" } }, /`host.ssh.user`/],
        ["a relative key path", { ...ok, ssh: { ...ok.ssh, privateKeyPath: "id_ed25519" } }, /absolute file path/],
        ["a key that is no key", { name: "b", ssh: { host: "h", privateKey: "hunter2" } }, /`host.ssh.privateKey` must be a private key/],
        [
            "both key forms",
            { name: "b", ssh: { host: "h", privateKeyPath: "/k", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" } },
            /not both/,
        ],
        ["a name with a slash", { ...ok, name: "a/b" }, /`host.name` must be a short name/],
    ];
    for (const [what, value, pattern] of bad) {
        it(`refuses ${what}, with no property (the engine would print the value, key and all)`, () => {
            const failures = checkHost("host", value, containsUnknown);
            assert.equal(failures.length, 1, JSON.stringify(failures));
            assert.match(failures[0].reason, pattern);
            assert.equal(failures[0].property, "");
        });
    }

    const end = (host: string | undefined, underlay: string) => ({
        bridge: "br0",
        underlay,
        ifName: "vx0",
        owner: "o",
        ...(host ? { host: { name: host, ssh: { host: underlay } } } : {}),
    });
    it("a VxlanLink: VNI, port, MTU, two sides on two hosts with two underlay addresses", () => {
        const r = (v: Record<string, unknown>) => checkVxlanLinkInputs(v).map((f) => f.reason);
        const good = { a: end("b", "10.0.0.2"), b: end("c", "10.0.0.3"), vni: 42, port: 4789, owner: "o" };
        assert.deepEqual(r(good), []);
        assert.deepEqual(r({ ...good, a: end(undefined, "10.0.0.1") }), [], "this machine and a host");
        assert.match(r({ ...good, vni: 0 })[0], /`vni` must be an integer from 1 to 16777215/);
        assert.match(r({ ...good, vni: 2 ** 24 })[0], /`vni`/);
        assert.match(r({ ...good, port: 0 })[0], /`port` must be a UDP port/);
        assert.match(r({ ...good, mtu: 10 })[0], /`mtu`/);
        assert.match(r({ ...good, b: end("b", "10.0.0.3") })[0], /both on host b: a VxlanLink joins bridges on two hosts/);
        assert.match(r({ ...good, b: end("c", "10.0.0.2") })[0], /same address/);
        assert.match(r({ ...good, a: { ...end("b", "10.0.0.2"), underlay: "10.0.0.0/24" } })[0], /`a.underlay` must be an IPv4 address/);
        assert.match(r({ ...good, b: { ...end("c", "10.0.0.3"), ifName: "x".repeat(16) } })[0], /`b.ifName`/);
    });
});

describe("the engine and a resource's host", () => {
    // The plan of a diff alone: the drift read (engine/drift.ts: a diff reads the resource back from its host) is off here.
    const savedDrift = process.env.HOSTNET_DRIFT;
    before(() => void (process.env.HOSTNET_DRIFT = "off"));
    after(() => void (savedDrift === undefined ? delete process.env.HOSTNET_DRIFT : (process.env.HOSTNET_DRIFT = savedDrift)));
    const bridge = (host?: object) => ({
        name: "br0",
        up: true,
        adopt: false,
        owner: "o",
        adopted: false,
        addedAddresses: [],
        ...(host ? { host } : {}),
    });
    const b = { name: "b", ssh: { host: "10.0.0.2" } };

    it("replaces a resource whose host changes, to or from this machine or between hosts", async () => {
        const p = provider("Bridge");
        for (const [olds, news] of [
            [bridge(), bridge(b)],
            [bridge(b), bridge()],
            [bridge(b), bridge({ name: "c", ssh: { host: "10.0.0.2" } })],
        ]) {
            const d = await p.diff!("br0", olds, news);
            assert.ok(d.changes);
            assert.ok(d.replaces?.includes("host"), JSON.stringify(d));
        }
    });

    it("only stores new connection details (address, port, key) of the same host: no replacement, nothing run", async () => {
        const p = provider("Bridge");
        const moved = bridge({ name: "b", ssh: { host: "10.0.0.9", port: 2222 } });
        const d = await p.diff!("br0", bridge(b), moved);
        assert.deepEqual([d.changes, d.replaces ?? []], [true, []]);
        const previous = setCommandRunner(async (argv) => assert.fail(`ran ${argv.join(" ")}`));
        const previousHelper = setHelperTransport(async (_ns, ops) => assert.fail(`asked the netlink helper ${JSON.stringify(ops)}`));
        try {
            // Nothing is run on the host (a command would fail the test, and no connection is made).
            const u = await p.update!("br0", bridge(b), moved);
            assert.deepEqual((u.outs as any).host, moved.host);
        } finally {
            setCommandRunner(previous);
            setHelperTransport(previousHelper);
        }
        assert.deepEqual((await p.diff!("br0", bridge(b), bridge(b))).changes, false, "the same host: no change");
    });

    it("fails the check of a resource whose host is unreachable with the host's name, and no property", async () => {
        const p = provider("Bridge");
        // Port 1 on loopback: refused at once, no traffic anywhere else.
        const dead = { name: "gone", ssh: { host: "127.0.0.1", port: 1, knownHostsPath: "/dev/null" } };
        const r = await p.check!({}, { ...bridge(dead), mac: "02:00:00:00:00:01" });
        assert.equal(r.failures?.length, 1);
        assert.equal(r.failures![0].property, "");
        assert.match(
            r.failures![0].reason,
            /^failed to reach host gone over SSH: .*Connection refused; check that root@127\.0\.0\.1:1 is up/,
        );
    });
});

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
}

describe("components on hosts, under mocks", () => {
    const registered: Registered[] = [];
    let lib: typeof import("../../components/src");
    const ssh = { host: "10.0.0.2", privateKeyPath: "/root/.ssh/id_ed25519", knownHostsPath: "/root/.ssh/known_hosts" };
    const find = (type: string, name: string) => registered.find((r) => r.type.endsWith(`:${type}`) && r.name === name)!;
    const settle = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply((v) => resolve(v)));

    before(async () => {
        await pulumi.runtime.setMocks(
            {
                newResource(args) {
                    registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                    return { id: `${args.name}-id`, state: { ...args.inputs, containerId: `${args.name}-cid` } };
                },
                call: (args) => args.inputs,
            },
            "proj",
            "stk",
        );
        lib = await import("../../components/src");
    });

    it("children of a Host live there: `host` input, owner marks and names with the host", async () => {
        const b = new lib.Host("hb", { name: "b", ssh });
        const br = new lib.Bridge("hb-br", {}, { parent: b });
        const c = new lib.Container("hb-web", { image: "hostnet/busybox:1" }, { parent: b });
        await settle(br.name);
        await settle(c.containerId);
        const bridge = find("Bridge", "hb-br");
        assert.equal(bridge.inputs.owner, "hostnet@b/proj/stk/Bridge/hb-br");
        assert.deepEqual(bridge.inputs.host, { name: "b", ssh });
        const container = find("DockerContainer", "hb-web");
        assert.equal(container.inputs.owner, "hostnet@b/proj/stk/DockerContainer/hb-web", "the Container's part follows it");
        assert.equal(container.inputs.host.name, "b");
    });

    it("resources of this machine register no `host` and the marks they always had", async () => {
        const br = new lib.Bridge("here-br");
        await settle(br.name);
        const bridge = find("Bridge", "here-br");
        assert.equal("host" in bridge.inputs, false);
        assert.equal(bridge.inputs.owner, "hostnet/proj/stk/Bridge/here-br");
    });

    it("an attachment follows its Container to its host, and is refused on another one", async () => {
        const c = new lib.Container("hc-web", { image: "hostnet/busybox:1", host: { name: "c", ssh } });
        const a = new lib.VethAttachment("hc-web-eth0", { container: c, bridge: "br0", address: "10.9.0.2/24" });
        await settle(a.owner);
        assert.equal(find("VethAttachment", "hc-web-eth0").inputs.host.name, "c");
        assert.throws(
            () => new lib.VethAttachment("hc-wrong", { container: c, address: "10.9.0.3/24", host: { name: "d", ssh } }),
            /`container` is on host c, but this resource is on host d/,
        );
        assert.throws(
            () => new lib.VethAttachment("hc-local", { container: c, bridge: new lib.Bridge("local-br"), address: "10.9.0.4/24" }),
            /`bridge` is on this machine/,
        );
    });

    it("an inline private key is registered as a secret", async () => {
        const h = new lib.Host("hk", {
            name: "k",
            ssh: { host: "10.0.0.5", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----" },
        });
        const br = new lib.Bridge("hk-br", {}, { parent: h });
        await settle(br.name);
        const key = (h.resolved.input.ssh as Record<string, unknown>).privateKey;
        assert.ok(pulumi.Output.isInstance(key));
        assert.equal(await pulumi.isSecret(key as pulumi.Output<string>), true);
    });

    it("a VxlanLink's sides follow their Bridges' hosts, and two sides on one host are refused", async () => {
        const b = new lib.Host("vb", { name: "vb", ssh });
        const c = new lib.Host("vc", { name: "vc", ssh: { ...ssh, host: "10.0.0.3" } });
        const brB = new lib.Bridge("vb-br", {}, { parent: b });
        const brC = new lib.Bridge("vc-br", {}, { parent: c });
        const link = new lib.VxlanLink("vb-vc", {
            vni: 7,
            a: { bridge: brB, underlay: "10.0.0.2" },
            b: { bridge: brC, underlay: "10.0.0.3" },
        });
        await settle(link.vni);
        const inputs = find("VxlanLink", "vb-vc").inputs;
        assert.equal(inputs.a.host.name, "vb");
        assert.equal(inputs.b.host.name, "vc");
        assert.equal(inputs.a.owner, "hostnet@vb/proj/stk/VxlanLink/vb-vc");
        assert.equal(inputs.b.owner, "hostnet@vc/proj/stk/VxlanLink/vb-vc");
        assert.equal(inputs.port, 4789);
        assert.notEqual(inputs.a.mac, inputs.b.mac);
        assert.throws(
            () =>
                new lib.VxlanLink("vb-vb", {
                    vni: 8,
                    a: { bridge: brB, underlay: "10.0.0.2" },
                    b: { bridge: "br1", host: b, underlay: "10.0.0.3" },
                }),
            /both on host vb/,
        );
    });
});

describe("shell session: commands one after another in one remote sh", () => {
    // The session's transport run locally: `sh -c <command>` instead of `ssh HOST <command>`.
    const local = (command: string) => ["sh", "-c", command];
    let session: ShellSession;
    beforeEach(async () => {
        session = new ShellSession(local, "test");
        await session.ready;
    });
    afterEach(() => session.close());

    it("returns each command's output, error output and exit code, however they look", async () => {
        assert.deepEqual(await session.run(["printf", "%s", "no newline"]), { exitCode: 0, stdout: "no newline", stderr: "" });
        // Output that looks like the session's own frame is just output.
        const tricky = `HN 0000 0 0 0\nHN x\n\n${"y".repeat(100000)}\n`;
        assert.equal((await session.run(["printf", "%s", tricky])).stdout, tricky.replace(/\n$/, ""));
        assert.deepEqual(await session.run(["sh", "-c", "echo out; echo err >&2; exit 3"]), { exitCode: 3, stdout: "out", stderr: "err" });
        const missing = await session.run(["no-such-command-hn"]);
        assert.equal(missing.exitCode, 127);
        assert.match(missing.stderr, /no-such-command-hn: not found/);
        assert.equal((await session.run(["sh", "-c", "echo $LC_ALL"])).stdout, "C");
    });

    it("gives a command its input, and /dev/null without one: never the session's own", async () => {
        const input = "line 1\n'quoted' $(not run) `nor this`\n\nlast, no newline";
        assert.equal((await session.run(["cat"], input)).stdout, input);
        assert.equal((await session.run(["cat"])).stdout, "", "cat reads /dev/null, not the next command line");
        assert.equal((await session.run(["echo", "still here"])).stdout, "still here");
    });

    it("runs commands queued at once in order, each with its own result", async () => {
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => session.run(["sh", "-c", `echo ${i}; exit ${i % 7}`])));
        assert.deepEqual(
            results.map((r) => [r.stdout, r.exitCode]),
            Array.from({ length: 50 }, (_, i) => [String(i), i % 7]),
        );
    });

    it("rejects the command it was running when the session dies, and every later one", async () => {
        const dying = session.run(["sh", "-c", "kill -9 $PPID"]);
        await assert.rejects(
            dying,
            (err: ShellSessionError) => err.notRun === false && /lost the shell session on host test/.test(err.message),
        );
        assert.equal(session.dead, true);
        await assert.rejects(session.run(["true"]), (err: ShellSessionError) => err.notRun);
    });
});

describe("VxlanLink plans (nothing run)", () => {
    // The plan of a diff alone: the drift read (engine/drift.ts: a diff reads the resource back from its host) is off here.
    const savedDrift = process.env.HOSTNET_DRIFT;
    before(() => void (process.env.HOSTNET_DRIFT = "off"));
    after(() => void (savedDrift === undefined ? delete process.env.HOSTNET_DRIFT : (process.env.HOSTNET_DRIFT = savedDrift)));
    const end = (host: string, underlay: string, ifName: string) => ({
        host: { name: host, ssh: { host: underlay } },
        bridge: "br0",
        underlay,
        ifName,
        mac: "02:00:00:00:00:0" + host.length,
        owner: `hostnet@${host}/p/s/VxlanLink/l`,
    });
    const inputs = {
        a: end("b", "10.0.0.2", "vxb"),
        b: end("c", "10.0.0.3", "vxc"),
        vni: 42,
        port: 4789,
        owner: "hostnet/p/s/VxlanLink/l",
    };
    const outputs = { ...inputs, effectiveMtu: 1450, autoMtu: 1450 };

    it("creates one device per side, each on its own host, towards the other", () => {
        assert.deepEqual(describeChange("VxlanLink", "create", undefined, inputs), [
            "create VXLAN device vxb (VNI 42, UDP 4789, 10.0.0.2 -> 10.0.0.3) on host b",
            "mark vxb as hostnet@b/p/s/VxlanLink/l, attach it to bridge br0, bring it up on host b",
            "create VXLAN device vxc (VNI 42, UDP 4789, 10.0.0.3 -> 10.0.0.2) on host c",
            "mark vxc as hostnet@c/p/s/VxlanLink/l, attach it to bridge br0, bring it up on host c",
        ]);
        assert.deepEqual(describeChange("VxlanLink", "delete", outputs), [
            "delete VXLAN device vxb on host b",
            "delete VXLAN device vxc on host c",
        ]);
    });

    it("changes MTU, bridges and underlay addresses in place; VNI, port, names and hosts replace", async () => {
        const p = provider("VxlanLink");
        const diff = (news: object) => p.diff!("id", outputs, { ...inputs, ...news });
        for (const news of [{ mtu: 1400 }, { a: { ...inputs.a, bridge: "br1" } }, { b: { ...inputs.b, underlay: "10.0.0.9" } }]) {
            const d = await diff(news);
            assert.deepEqual([d.changes, d.replaces], [true, []], JSON.stringify(news));
        }
        for (const [news, field] of [
            [{ vni: 43 }, "vni"],
            [{ port: 8472 }, "port"],
            [{ a: { ...inputs.a, ifName: "vx1" } }, "a.ifName"],
            [{ b: { ...inputs.b, host: { name: "d", ssh: { host: "10.0.0.3" } } } }, "b.host"],
        ] as const) {
            assert.ok((await diff(news)).replaces?.includes(field), field);
        }
        assert.equal((await diff({})).changes, false);
        assert.deepEqual(describeChange("VxlanLink", "update", outputs, { ...inputs, b: { ...inputs.b, underlay: "10.0.0.9" } }), [
            "set the underlay of vxb to 10.0.0.2 -> 10.0.0.9 on host b",
            "bring vxb up on host b",
            "set the underlay of vxc to 10.0.0.9 -> 10.0.0.2 on host c",
            "bring vxc up on host c",
        ]);
    });
});
