// A fake host for unit tests: the fake kernel behind the host layer's runner
// and the fake Docker Engine API behind DOCKER_HOST, sharing one fault plan.
// `snapshot()` is what a person would compare with `ip -j` and `docker
// inspect`: objects by name, without what the kernel or Docker pick at random
// (ifindexes, unset MACs, ids, PIDs).

import { HelperTransport, setHelperTransport } from "../../components/src/host/helper";
import { forgetLinkKinds } from "../../components/src/host/linkKinds";
import { setCommandRunner } from "../../components/src/host/run";
import { forgetObservations } from "../../components/src/engine/observe";
import { resetClaims } from "../../components/src/engine/registry";
import { FakeDocker, FakeDockerApi, startFakeDockerApi } from "./dockerApi";
import { Faults } from "./faults";
import { FakeKernel } from "./kernel";

export interface Snapshot {
    kernel: Record<string, { links: Record<string, unknown>; routes: string[]; rules?: string[]; tables?: Record<string, unknown> }>;
    docker: { containers: Record<string, unknown>; networks: Record<string, unknown> };
    /** The host's records (symbolic links by path, with their targets); folders are left out. */
    files?: Record<string, string>;
}

export class World {
    readonly faults = new Faults();
    readonly kernel: FakeKernel;
    readonly docker: FakeDocker;

    /** `kinds`: the kinds of link its kernel makes (default: this machine's). */
    constructor(opts: { kinds?: readonly string[] } = {}) {
        this.kernel = new FakeKernel(this.faults, { kinds: opts.kinds });
        this.docker = new FakeDocker(this.kernel, this.faults);
    }

    /** What the fakes could not read, across both: a test failure when not empty. */
    unknown(): string[] {
        return [...this.kernel.unknown.map((u) => `ip: ${u}`), ...this.docker.unknown.map((u) => `docker: ${u}`)];
    }

    /**
     * A new engine process, as the next `pulumi up` starts: no claims, no
     * cached observations, no crash in effect; the log starts again.
     */
    newProcess(): void {
        resetClaims();
        forgetObservations();
        forgetLinkKinds();
        this.faults.revive();
        this.faults.resetLog();
    }

    snapshot(): Snapshot {
        const kernel: Snapshot["kernel"] = {};
        for (const ns of this.kernel.namespaces()) {
            const links: Record<string, unknown> = {};
            for (const l of ns.links.values()) {
                const peer = l.peer && l.peer.ns.links.get(l.peer.ifindex);
                links[l.name] = {
                    kind: l.kind,
                    alias: l.alias,
                    master: l.master === undefined ? undefined : ns.links.get(l.master)?.name,
                    mtu: l.mtu,
                    up: l.up,
                    mac: l.macSet ? l.mac : "(kernel's)",
                    addrs: l.addrs.map((a) => `${a.local}/${a.prefixlen}`).sort(),
                    peer: peer ? `${l.peer!.ns.label}/${peer.name}` : undefined,
                    ...(l.lower ? { parent: `${l.lower.ns.label}/${l.lower.ns.links.get(l.lower.ifindex)?.name}`, mode: l.mode } : {}),
                    stp: l.stp,
                    ...(l.tbf ? { tbf: { rate: l.tbf.rate, burst: l.tbf.burst } } : {}),
                    ...(l.ingress ? { ingress: true, redirect: l.redirect } : {}),
                };
            }
            const rules = [...ns.chains].flatMap(([chain, rs]) => rs.map((r) => `${chain} ${r.join(" ")}`));
            kernel[ns.label] = {
                links,
                routes: ns.routes.map((r) => `default via ${r.gateway} dev ${ns.links.get(r.dev)?.name}`).sort(),
                ...(rules.length > 0 ? { rules } : {}),
                ...(ns.tables.size > 0 ? { tables: Object.fromEntries([...ns.tables].map(([k, t]) => [k, structuredClone(t)])) } : {}),
            };
        }
        const containers: Record<string, unknown> = {};
        const nameOf = (id: string) => this.docker.containers.get(id)?.Name ?? id;
        for (const c of this.docker.containers.values()) {
            const networks: Record<string, unknown> = {};
            for (const [name, ep] of c.endpoints) {
                networks[name] = {
                    address: ep.IPAddress,
                    static: ep.IPAMConfig?.IPv4Address,
                    aliases: (ep.Aliases ?? []).filter((a) => a !== c.Id.slice(0, 12)).sort(),
                    ...(ep.DriverOpts ? { driverOpts: ep.DriverOpts } : {}),
                };
            }
            containers[c.Name] = {
                image: c.Image,
                cmd: c.Cmd,
                env: c.Env,
                labels: c.Labels,
                networkMode: c.NetworkMode.startsWith("container:") ? `container:${nameOf(c.NetworkMode.slice(10))}` : c.NetworkMode,
                restart: c.RestartPolicy,
                ports: c.PortBindings,
                status: c.status,
                networks,
            };
        }
        const networks: Record<string, unknown> = {};
        for (const n of this.docker.networks.values()) {
            networks[n.Name] = {
                driver: n.Driver,
                subnet: n.Subnet,
                gateway: n.Gateway,
                ipRange: n.IPRange,
                internal: n.Internal,
                options: n.Options,
                labels: n.Labels,
            };
        }
        const files = Object.fromEntries([...this.kernel.files].filter(([, t]) => typeof t === "string").sort()) as Record<string, string>;
        return { kernel, docker: { containers, networks }, ...(Object.keys(files).length > 0 ? { files } : {}) };
    }
}

/** Object names in a snapshot, as `ns/link`, `ns/rule CHAIN ARGV`, `container:name`, `network:name`: what exists, whatever its settings. */
export function objectsOf(s: Snapshot): Set<string> {
    const names = new Set<string>();
    for (const [ns, { links, rules, tables }] of Object.entries(s.kernel)) {
        for (const l of Object.keys(links)) names.add(`${ns}/${l}`);
        for (const r of rules ?? []) names.add(`${ns}/rule ${r}`);
        for (const t of Object.keys(tables ?? {})) names.add(`${ns}/nft table ${t}`);
    }
    for (const c of Object.keys(s.docker.containers)) names.add(`container:${c}`);
    for (const n of Object.keys(s.docker.networks)) names.add(`network:${n}`);
    for (const f of Object.keys(s.files ?? {})) names.add(`file:${f}`);
    return names;
}

/** Points the host layer at a world: its runner and netlink helper, and DOCKER_HOST at the shared fake API serving its engine. */
export class FakeHost {
    private previousRunner: ReturnType<typeof setCommandRunner> | undefined;
    private previousHelper: HelperTransport | undefined;
    private helperSet = false;
    private previousDockerHost: string | undefined;

    private constructor(private readonly api: FakeDockerApi) {}

    static async start(): Promise<FakeHost> {
        const host = new FakeHost(await startFakeDockerApi());
        host.previousDockerHost = process.env.DOCKER_HOST;
        process.env.DOCKER_HOST = host.api.dockerHost;
        return host;
    }

    /**
     * A fresh world, served from now on: through the netlink helper (the
     * default), or, with `helper: false`, through `ip`/`nsenter` commands only;
     * `kinds`: the kinds of link its kernel makes (default: this machine's).
     */
    world(opts: { helper?: boolean; kinds?: readonly string[] } = {}): World {
        const w = new World({ kinds: opts.kinds });
        this.api.docker = w.docker;
        const previous = setCommandRunner(w.kernel.runner);
        this.previousRunner ??= previous;
        const previousHelper = setHelperTransport(opts.helper === false ? undefined : w.kernel.helper);
        if (!this.helperSet) [this.previousHelper, this.helperSet] = [previousHelper, true];
        w.newProcess();
        return w;
    }

    async stop(): Promise<void> {
        if (this.previousRunner) setCommandRunner(this.previousRunner);
        if (this.helperSet) setHelperTransport(this.previousHelper);
        if (this.previousDockerHost === undefined) delete process.env.DOCKER_HOST;
        else process.env.DOCKER_HOST = this.previousDockerHost;
        await this.api.close();
    }
}

export type { FakeDocker };
