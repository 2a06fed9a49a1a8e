// `--host` on the command line: which hosts a `hostnet` command reads or
// follows, as the resources name them (`host: { name, ssh }`).
//
//   --host NAME=[USER@]ADDRESS[:PORT]   another machine, over SSH (IPv6: [ADDRESS]:PORT)
//   --host local                        this machine
//   --host NAME                         a host known otherwise (preview-report: by name;
//                                       watch: its SSH details from the stack's state)
//   --ssh-key FILE, --known-hosts FILE  for every host given with an address
//
// Runs in the `hostnet` command-line tool. Pure.

import { checkHost, HostSpec } from "../common/specs/host";

/** One `--host`: `local` (this machine), a name alone, or a name with how to reach it. */
export interface HostArg {
    name: string;
    /** This machine. */
    local: boolean;
    /** How to reach it, when given. */
    ssh?: HostSpec["ssh"];
}

/** The name this machine goes by in `--host`. */
export const LOCAL_HOST = "local";

/** Parses one `--host` value; throws naming the value and the accepted forms. */
export function parseHostArg(text: string, defaults: { privateKeyPath?: string; knownHostsPath?: string } = {}): HostArg {
    const usage = `\`--host\` takes NAME=[USER@]ADDRESS[:PORT], NAME, or ${LOCAL_HOST} (this machine); got ${JSON.stringify(text)}`;
    const eq = text.indexOf("=");
    const name = eq < 0 ? text : text.slice(0, eq);
    if (name === LOCAL_HOST) {
        if (eq >= 0) throw new Error(`\`--host ${LOCAL_HOST}\` is this machine: it takes no address; got ${JSON.stringify(text)}`);
        return { name, local: true };
    }
    if (eq < 0) {
        const failures = checkHost("--host", { name, ssh: { host: "x" } }, () => false);
        if (failures.length > 0) throw new Error(`${usage}: ${failures[0].reason}`);
        return { name, local: false };
    }
    const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:[\]]+)(?::(\d+))?$/.exec(text.slice(eq + 1));
    if (!m) throw new Error(usage);
    const ssh = Object.fromEntries(
        Object.entries({
            host: m[2].replace(/^\[|\]$/g, ""),
            user: m[1],
            port: m[3] === undefined ? undefined : Number(m[3]),
            privateKeyPath: defaults.privateKeyPath,
            knownHostsPath: defaults.knownHostsPath,
        }).filter(([, v]) => v !== undefined),
    ) as unknown as HostSpec["ssh"];
    const failures = checkHost("--host", { name, ssh }, () => false);
    if (failures.length > 0)
        throw new Error(`${usage}: ${failures.map((f) => f.reason.replace(/`--host\.ssh\.(\w+)`/, "its $1")).join("; ")}`);
    return { name, local: false, ssh };
}

/** Parses every `--host`; refuses a name given twice. */
export function parseHostArgs(
    values: string[] | undefined,
    defaults: { privateKeyPath?: string; knownHostsPath?: string } = {},
): HostArg[] {
    const out: HostArg[] = [];
    for (const v of values ?? []) {
        const h = parseHostArg(v, defaults);
        if (out.some((o) => o.name === h.name)) throw new Error(`\`--host ${h.name}\` is given twice; give each host once`);
        out.push(h);
    }
    return out;
}

/** The host to read for an argument: undefined is this machine; a name without an address cannot be read. */
export function hostSpecOf(arg: HostArg): HostSpec | undefined {
    if (arg.local) return undefined;
    if (!arg.ssh) {
        throw new Error(`\`--host ${arg.name}\` gives no address: write it as ${arg.name}=[USER@]ADDRESS[:PORT]`);
    }
    return { name: arg.name, ssh: arg.ssh };
}
