// Test fixtures and read-backs on the real host, through the system's own
// tools (ip, nsenter, docker, ping): never through the library under test.
//
// Everything a test makes carries the test mark: containers the label
// `io.hostnet.test=1`, links the alias prefix `hostnet-test`. `sweepTestObjects`
// removes only objects with that mark (and links the library made for the
// test project, whose owner mark starts with `hostnet/test/`).

import { execa } from "execa";
import { randomBytes } from "node:crypto";

export const TEST_LABEL = "io.hostnet.test";
export const TEST_ALIAS = "hostnet-test";

export function uniqueSuffix(): string {
    return randomBytes(3).toString("hex");
}

export async function sh(argv: string[], opts: { reject?: boolean; input?: string } = {}): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const r = await execa(argv[0], argv.slice(1), { reject: opts.reject ?? true, input: opts.input });
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? -1 };
}

export interface IpLink {
    ifindex: number;
    ifname: string;
    flags: string[];
    mtu: number;
    address: string;
    master?: string;
    ifalias?: string;
    link_index?: number;
    linkinfo?: { info_kind?: string };
    addr_info?: { family: string; local: string; prefixlen: number }[];
}

function netns(pid: number | undefined, argv: string[]): string[] {
    return pid === undefined ? argv : ["nsenter", "--target", String(pid), "--net", "--", ...argv];
}

/** `ip -j -d addr show`, in the host or a container's namespace. */
export async function ipLinks(pid?: number): Promise<IpLink[]> {
    const { stdout } = await sh(netns(pid, ["ip", "-j", "-d", "addr", "show"]));
    return JSON.parse(stdout);
}

export async function ipLink(name: string, pid?: number): Promise<IpLink | undefined> {
    return (await ipLinks(pid)).find((l) => l.ifname === name);
}

export async function ipDefaultRoutes(pid?: number): Promise<{ dst: string; gateway?: string; dev: string }[]> {
    const { stdout } = await sh(netns(pid, ["ip", "-j", "-4", "route", "show", "default"]));
    return stdout.trim() ? JSON.parse(stdout) : [];
}

export function ipv4Of(link: IpLink | undefined): string[] {
    return (link?.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`);
}

export async function dockerInspect(nameOrId: string): Promise<any | undefined> {
    const r = await sh(["docker", "inspect", "--type", "container", nameOrId], { reject: false });
    return r.exitCode === 0 ? JSON.parse(r.stdout)[0] : undefined;
}

export async function containerPid(nameOrId: string): Promise<number> {
    const { stdout } = await sh(["docker", "inspect", "-f", "{{.State.Pid}}", nameOrId]);
    return Number(stdout.trim());
}

/** Starts a `--net=<mode>` busybox container marked as a test fixture. */
export async function startTestContainer(name: string, net = "none"): Promise<string> {
    const { stdout } = await sh([
        "docker", "run", "-d", "--name", name, "--net", net, "--label", `${TEST_LABEL}=1`,
        "hostnet/busybox:1", "sleep", "2147483647",
    ]);
    return stdout.trim();
}

/** Creates a Linux bridge with an address, marked as a test fixture. */
export async function makeTestBridge(name: string, cidr: string): Promise<void> {
    await sh(["ip", "link", "add", "name", name, "type", "bridge"]);
    await sh(["ip", "link", "set", "dev", name, "alias", TEST_ALIAS, "up"]);
    await sh(["ip", "addr", "add", cidr, "dev", name]);
}

export async function ping(address: string, pid?: number): Promise<boolean> {
    const r = await sh(netns(pid, ["ping", "-c", "1", "-W", "2", address]), { reject: false });
    return r.exitCode === 0;
}

/**
 * Removes what tests made: containers labelled as test fixtures or owned by
 * `ownerPrefix`, and links whose alias is the test mark or starts with
 * `ownerPrefix`. Nothing unmarked is touched.
 */
export async function sweepTestObjects(ownerPrefix = "hostnet/test/"): Promise<void> {
    const ids = (await sh(["docker", "ps", "-aq", "--filter", `label=${TEST_LABEL}`])).stdout.split("\n").filter(Boolean);
    const all = (await sh(["docker", "ps", "-aq", "--filter", "label=io.hostnet.owner"])).stdout.split("\n").filter(Boolean);
    for (const id of all) {
        const c = await dockerInspect(id);
        if (c?.Config?.Labels?.["io.hostnet.owner"]?.startsWith(ownerPrefix)) ids.push(id);
    }
    if (ids.length > 0) {
        await sh(["docker", "rm", "-f", ...new Set(ids)], { reject: false });
    }
    for (const link of await ipLinks()) {
        if (link.ifalias === TEST_ALIAS || link.ifalias?.startsWith(ownerPrefix)) {
            await sh(["ip", "link", "del", "dev", link.ifname], { reject: false });
        }
    }
}
