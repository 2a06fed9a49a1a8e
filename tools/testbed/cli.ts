// scripts/testbed.sh: several simulated Docker hosts on this machine.
//
//   scripts/testbed.sh up     [--hosts N] [--id ID] [--image IMAGE]
//   scripts/testbed.sh down   [--id ID]
//   scripts/testbed.sh status [--json]
//   scripts/testbed.sh docker-stop|docker-start|docker-restart --host H [--id ID]
//
// See testbed.ts for the layout. ID defaults to "tb" (HOSTNET_TESTBED_ID).

import {
    DEFAULT_HOSTS,
    DEFAULT_ID,
    DEFAULT_IMAGE,
    down,
    interruptUp,
    startDocker,
    status,
    stopDocker,
    TestbedInfo,
    up,
    validateId,
} from "./testbed";

const USAGE = `usage:
  scripts/testbed.sh up     [--hosts N] [--id ID] [--image IMAGE]   N simulated hosts (default ${DEFAULT_HOSTS}); this machine is host A
  scripts/testbed.sh down   [--id ID]                               remove test bed ID completely (idempotent)
  scripts/testbed.sh status [--json]                                every test bed on this machine
  scripts/testbed.sh docker-stop|docker-start|docker-restart --host H [--id ID]
                                                                    stop, start or restart host H's dockerd (as its init would)
ID: 1-8 of a-z0-9, default ${DEFAULT_ID} (or HOSTNET_TESTBED_ID).`;

function parse(argv: string[]): { cmd: string; id: string; hosts: number; image: string; json: boolean; host?: string } {
    const [cmd, ...rest] = argv;
    const out: ReturnType<typeof parse> = {
        cmd: cmd ?? "",
        id: process.env.HOSTNET_TESTBED_ID || DEFAULT_ID,
        hosts: DEFAULT_HOSTS,
        image: DEFAULT_IMAGE,
        json: false,
    };
    for (let i = 0; i < rest.length; i++) {
        const flag = rest[i];
        const value = () => {
            const v = rest[++i];
            if (v === undefined) throw new Error(`failed to read ${flag}: it needs a value\n${USAGE}`);
            return v;
        };
        if (flag === "--id") out.id = value();
        else if (flag === "--hosts") out.hosts = Number(value());
        else if (flag === "--image") out.image = value();
        else if (flag === "--json") out.json = true;
        else if (flag === "--host") out.host = value();
        else throw new Error(`failed to read the arguments: unknown ${flag}\n${USAGE}`);
    }
    return out;
}

function describe(info: TestbedInfo): string {
    const lines = [
        `test bed ${info.id}: ${info.hosts.length} simulated host(s) on underlay ${info.subnet} (bridge ${info.underlay.bridge} in namespace ${info.underlay.netns}), up in ${info.upSeconds}s`,
        `  a  controller: this machine, ${info.controller.cidr} on ${info.controller.interface}; DOCKER_HOST=${info.controller.dockerHost}`,
    ];
    for (const h of info.hosts) {
        lines.push(
            `  ${h.name}  ${h.address}`,
            `       ssh:    ${h.ssh.configArgv.join(" ")}`,
            `               ${h.ssh.argv.join(" ")}`,
            `       docker: DOCKER_HOST=${h.dockerHost} docker ps     (bridge ${h.dockerBridge.name} ${h.dockerBridge.cidr}; ssh sessions get this DOCKER_HOST)`,
            `       shell:  ${h.nsenter.join(" ")} -- <command>`,
        );
    }
    lines.push(`JSON: ${info.runDir}/testbed.json`, `remove: scripts/testbed.sh down --id ${info.id}`);
    return lines.join("\n");
}

async function main(): Promise<number> {
    const args = parse(process.argv.slice(2));
    const log = (line: string) => process.stderr.write(`    ${line}\n`);
    switch (args.cmd) {
        case "up": {
            validateId(args.id);
            // Ctrl-C or SIGTERM during up: up stops at its next step and removes what it made.
            for (const sig of ["SIGINT", "SIGTERM"] as const) {
                process.on(sig, () => {
                    process.stderr.write(`\n${sig}: stopping; test bed ${args.id} is being removed\n`);
                    interruptUp();
                });
            }
            process.stderr.write(`==> test bed ${args.id}: up, ${args.hosts} simulated host(s)\n`);
            const info = await up({ id: args.id, hosts: args.hosts, image: args.image, log });
            process.stdout.write(`${describe(info)}\n`);
            return 0;
        }
        case "down": {
            const t = Date.now();
            process.stderr.write(`==> test bed ${args.id}: down\n`);
            await down(args.id, { log });
            process.stdout.write(`test bed ${args.id}: nothing left (down in ${((Date.now() - t) / 1000).toFixed(1)}s)\n`);
            return 0;
        }
        case "status": {
            const beds = await status();
            if (args.json) {
                process.stdout.write(`${JSON.stringify(beds, null, 2)}\n`);
                return 0;
            }
            if (beds.length === 0) process.stdout.write("no test bed on this machine\n");
            for (const b of beds) {
                process.stdout.write(
                    `test bed ${b.id}: ${b.complete ? "up" : "INCOMPLETE (run down)"}, underlay ${b.subnet ?? "?"}, namespaces ${b.namespaces.join(" ") || "none"}\n`,
                );
                for (const h of b.hosts) {
                    const st = (ok: boolean) => (ok ? "running" : "STOPPED");
                    process.stdout.write(
                        `  ${h.name} ${h.address ?? ""}  sshd ${st(h.sshd)}, containerd ${st(h.containerd)}, dockerd ${st(h.dockerd)}${h.docker ? ", engine answers" : ""}\n`,
                    );
                }
            }
            return 0;
        }
        case "docker-stop":
        case "docker-start":
        case "docker-restart": {
            validateId(args.id);
            if (!args.host) throw new Error(`failed to read the arguments: ${args.cmd} needs --host\n${USAGE}`);
            const t = Date.now();
            if (args.cmd !== "docker-start") await stopDocker(args.id, args.host);
            if (args.cmd !== "docker-stop") await startDocker(args.id, args.host);
            process.stdout.write(
                `test bed ${args.id}: host ${args.host}'s dockerd ${{ "docker-stop": "stopped", "docker-start": "started", "docker-restart": "restarted" }[args.cmd]} in ${((Date.now() - t) / 1000).toFixed(1)}s\n`,
            );
            return 0;
        }
        default:
            process.stderr.write(`${USAGE}\n`);
            return args.cmd === "" || args.cmd === "help" || args.cmd === "--help" ? 0 : 2;
    }
}

main().then(
    (code) => process.exit(code),
    (err) => {
        process.stderr.write(`testbed: ${(err as Error).message}\n`);
        process.exit(1);
    },
);
