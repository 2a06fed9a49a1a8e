// How the host layer finds and talks to the netlink helper, without root:
// a missing binary falls back to commands and says so once; a helper of
// another protocol, or one that cannot start, fails with a message saying
// what to do; HOSTNET_HELPER takes only its three values. (The helper's
// operations on the real kernel: test/host/netlinkHelper.test.ts.)

import * as assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostCommandError } from "../../components/src/host/errors";
import { helperMode, setHelperTransport, stopHelper } from "../../components/src/host/helper";
import * as ip from "../../components/src/host/ip";
import { CommandRunner, setCommandRunner } from "../../components/src/host/run";

describe("the netlink helper: finding it, falling back, refusing a stranger", () => {
    const saved = { path: process.env.HOSTNET_HELPER_PATH, mode: process.env.HOSTNET_HELPER };
    let scratch: string;
    let previousTransport: ReturnType<typeof setHelperTransport>;

    before(() => {
        scratch = mkdtempSync(join(tmpdir(), "hostnet-helper-unit-"));
        previousTransport = setHelperTransport(undefined);
    });
    afterEach(() => {
        stopHelper();
        for (const [k, v] of [
            ["HOSTNET_HELPER_PATH", saved.path],
            ["HOSTNET_HELPER", saved.mode],
        ] as const) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    });
    after(() => {
        setHelperTransport(previousTransport);
        rmSync(scratch, { recursive: true, force: true });
    });

    it("a missing binary: host work runs as ip commands instead, and the warning is printed once", async () => {
        process.env.HOSTNET_HELPER_PATH = join(scratch, "no-such-helper");
        delete process.env.HOSTNET_HELPER;
        const ran: string[] = [];
        const runner: CommandRunner = async (argv) => (ran.push(argv.join(" ")), { exitCode: 0, stdout: "[]", stderr: "" });
        const previous = setCommandRunner(runner);
        stopHelper();
        const errors: string[] = [];
        const error = console.error;
        console.error = (m: string) => errors.push(m);
        try {
            await ip.getLink("x0");
            await ip.getLink("x1");
        } finally {
            console.error = error;
            setCommandRunner(previous);
        }
        assert.deepEqual(ran, ["ip -j -d link show dev x0", "ip -j -d link show dev x1"]);
        assert.equal(errors.length, 1, "said once");
        assert.match(errors[0], /the netlink helper is missing \(.*no-such-helper: ENOENT\).*npm run setup/);
    });

    it("a helper speaking another protocol is refused, saying to reinstall", async () => {
        const fake = join(scratch, "old-helper");
        writeFileSync(fake, '#!/bin/sh\necho \'{"hello":"hostnet-netlink","protocol":99}\'\ncat >/dev/null\n');
        chmodSync(fake, 0o755);
        process.env.HOSTNET_HELPER_PATH = fake;
        const err = await ip.getLink("x0").then(
            () => assert.fail("no error"),
            (e: unknown) => e,
        );
        assert.ok(err instanceof HostCommandError, String(err));
        assert.match((err as Error).message, /speaks protocol 99, this engine 3; reinstall pulumi-hostnet/);
    });

    it("a helper that exits at once fails the operation under way with its exit and stderr", async () => {
        const fake = join(scratch, "dying-helper");
        writeFileSync(fake, "#!/bin/sh\necho 'cannot run here' >&2\nexit 7\n");
        chmodSync(fake, 0o755);
        process.env.HOSTNET_HELPER_PATH = fake;
        await assert.rejects(
            ip.getLink("x0"),
            (e: Error) => e instanceof HostCommandError && /exited \(code 7\): cannot run here/.test(e.message),
        );
    });

    it("HOSTNET_HELPER takes netlink, exec or off, and names them when it is anything else", () => {
        for (const mode of ["netlink", "exec", "off"]) {
            process.env.HOSTNET_HELPER = mode;
            assert.equal(helperMode(), mode);
        }
        delete process.env.HOSTNET_HELPER;
        assert.equal(helperMode(), "netlink");
        process.env.HOSTNET_HELPER = "fast";
        assert.throws(() => helperMode(), /HOSTNET_HELPER is "fast": set netlink \(the default\), exec or off/);
    });
});
