// A fake Docker Engine API on a unix socket (node:http on a temp path; point
// DOCKER_HOST=unix://<path> at it). It serves the routes the host layer calls
// (host/docker.ts, dockerNetworks.ts) with the status codes and message
// bodies of Debian's docker.io 20.10.24 (API 1.41), each checked against the
// real engine here: containers (create/start/inspect/list/update/remove,
// labels, image labels merged in, NetworkMode with `container:<name>` stored
// as the full id, restart policy, State.Pid mapped to a fake kernel
// namespace), networks (create/inspect/list/remove/connect/disconnect, IPAM
// with static and allocated addresses, endpoints with fresh ids per
// connection, the short-id alias on user-defined networks), images
// (present/absent). A route it does not know is answered 404 "page not found"
// (what the engine says) and recorded in `unknown`, a test failure.
//
// Networks of driver macvlan too (parent and macvlan_mode options, checked
// as Docker 20.10 checks them: a valid mode, one macvlan network per parent,
// a parent that exists, or else Docker's dummy or 802.1Q VLAN parent, which
// fail on a kernel without those kinds), and `GET /version`.
//
// Docker's own veths and macvlans are not modelled in the fake kernel: a
// container on a Docker network has its endpoint here, and its namespace
// holds only `lo`. A bridge network's Linux bridge is made in the fake
// kernel, with the gateway.

import { createHash, randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Faults, INJECTED_DOCKER_MESSAGE } from "./faults";
import { FakeKernel, FakeNetns } from "./kernel";

export interface FakeEndpoint {
    NetworkID: string;
    EndpointID: string;
    IPAddress: string;
    IPPrefixLen: number;
    Gateway: string;
    Aliases: string[] | null;
    IPAMConfig: { IPv4Address?: string } | null;
    MacAddress: string;
    DriverOpts: Record<string, string> | null;
}

export interface FakeContainer {
    Id: string;
    Name: string;
    Image: string;
    Cmd: string[] | null;
    Env: string[] | null;
    Labels: Record<string, string>;
    NetworkMode: string;
    RestartPolicy: { Name: string; MaximumRetryCount: number };
    PortBindings: Record<string, { HostIp: string; HostPort: string }[]> | null;
    status: "created" | "running" | "exited";
    pid: number;
    error: string;
    /** Endpoints by network name: configured ones (not started: empty ids) or live ones. */
    endpoints: Map<string, FakeEndpoint>;
    /** Stopped by the user (`docker stop`): unless-stopped does not bring it back. */
    stoppedByUser: boolean;
}

export interface FakeNetwork {
    Id: string;
    Name: string;
    Driver: "bridge" | "host" | "null" | "macvlan";
    Internal: boolean;
    Subnet?: string;
    Gateway?: string;
    IPRange?: string;
    /** The IPv6 subnet (docker0 of the project's dockerd only: this fake gives containers no IPv6 addresses). */
    Subnet6?: string;
    /** The subnet was given by the user (static addresses are allowed only then). */
    userSubnet: boolean;
    /** The gateway was given by the user: the engine lists a user's subnet without the gateway it picked. */
    userGateway?: boolean;
    Options: Record<string, string>;
    Labels: Record<string, string>;
    builtin: boolean;
}

interface Answer {
    status: number;
    body?: unknown;
}

const BUSYBOX = "hostnet/busybox:1";

function ipToInt(a: string): number {
    return a.split(".").reduce((n, o) => n * 256 + Number(o), 0) >>> 0;
}

function intToIp(n: number): string {
    return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}

function subnetRange(cidr: string): { base: number; size: number; prefix: number } {
    const [a, p] = cidr.split("/");
    const prefix = Number(p);
    const size = 2 ** (32 - prefix);
    return { base: ipToInt(a) - (ipToInt(a) % size), size, prefix };
}

function overlaps(a: string, b: string): boolean {
    const x = subnetRange(a);
    const y = subnetRange(b);
    return x.base < y.base + y.size && y.base < x.base + x.size;
}

function inSubnet(ip: string, cidr: string): boolean {
    const r = subnetRange(cidr);
    const n = ipToInt(ip);
    return n >= r.base && n < r.base + r.size;
}

const notFound = (message: string): Answer => ({ status: 404, body: { message } });

/** The engine's state and its answers; served by startFakeDockerApi. */
export class FakeDocker {
    readonly containers = new Map<string, FakeContainer>();
    readonly networks = new Map<string, FakeNetwork>();
    /** Present images and their labels. */
    readonly images = new Map<string, Record<string, string>>([[BUSYBOX, { "io.hostnet.owned": "true" }]]);
    /** Routes it could not serve: a test failure. */
    readonly unknown: string[] = [];
    private nextPool = 18;
    private ids = 0;

    constructor(
        readonly kernel: FakeKernel,
        readonly faults: Faults = kernel.faults,
    ) {
        this.addNetwork(
            // As the project's dockerd makes it (scripts/start-docker.sh: --bip 172.17.0.1/16 --fixed-cidr 172.17.128.0/17
            // --ipv6 --fixed-cidr-v6 fd17:ac11::/64).
            {
                Name: "bridge",
                Driver: "bridge",
                Subnet: "172.17.0.0/16",
                Gateway: "172.17.0.1",
                IPRange: "172.17.128.0/17",
                Subnet6: "fd17:ac11::/64",
                builtin: true,
                userSubnet: false,
            },
            {
                "com.docker.network.bridge.default_bridge": "true",
                "com.docker.network.bridge.enable_icc": "true",
                "com.docker.network.bridge.enable_ip_masquerade": "true",
                "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                "com.docker.network.bridge.name": "docker0",
                "com.docker.network.driver.mtu": "1500",
            },
        );
        this.addNetwork({ Name: "host", Driver: "host", builtin: true, userSubnet: false }, {});
        this.addNetwork({ Name: "none", Driver: "null", builtin: true, userSubnet: false }, {});
    }

    /** Ids as the engine's (64 hex), but the same in every world that does the same things: runs are repeatable. */
    private hexId(): string {
        return createHash("sha256").update(`fake-docker-${++this.ids}`).digest("hex");
    }

    // ---- direct API for tests (not logged, no faults) ----

    /** `docker run -d` of a test fixture: created and started; returns the container. */
    run(name: string, opts: { networkMode?: string; labels?: Record<string, string>; restart?: string } = {}): FakeContainer {
        const res = this.createContainer(name, {
            Image: BUSYBOX,
            Cmd: ["sleep", "2147483647"],
            Labels: opts.labels ?? {},
            HostConfig: { NetworkMode: opts.networkMode ?? "none", RestartPolicy: opts.restart ? { Name: opts.restart } : undefined },
        });
        if (res.status !== 201) throw new Error(`fake docker run ${name}: ${JSON.stringify(res.body)}`);
        const c = this.containers.get((res.body as { Id: string }).Id)!;
        const started = this.start(c);
        if (started.status !== 204) throw new Error(`fake docker start ${name}: ${JSON.stringify(started.body)}`);
        return c;
    }

    /** `docker network create` by hand. */
    network(name: string, subnet: string, opts: { labels?: Record<string, string>; bridgeName?: string } = {}): FakeNetwork {
        const res = this.createNetwork({
            Name: name,
            Driver: "bridge",
            CheckDuplicate: true,
            IPAM: { Config: [{ Subnet: subnet }] },
            Options: opts.bridgeName ? { "com.docker.network.bridge.name": opts.bridgeName } : {},
            Labels: opts.labels ?? {},
        });
        if (res.status !== 201) throw new Error(`fake docker network create ${name}: ${JSON.stringify(res.body)}`);
        return this.networks.get((res.body as { Id: string }).Id)!;
    }

    /** `docker network create -d macvlan -o parent=<parent>` by hand. */
    macvlanNetwork(
        name: string,
        subnet: string,
        parent: string,
        opts: { labels?: Record<string, string>; mode?: string } = {},
    ): FakeNetwork {
        const res = this.createNetwork({
            Name: name,
            Driver: "macvlan",
            CheckDuplicate: true,
            IPAM: { Config: [{ Subnet: subnet }] },
            Options: { parent, ...(opts.mode ? { macvlan_mode: opts.mode } : {}) },
            Labels: opts.labels ?? {},
        });
        if (res.status !== 201) throw new Error(`fake docker network create ${name}: ${JSON.stringify(res.body)}`);
        return this.networks.get((res.body as { Id: string }).Id)!;
    }

    /** `docker rm -f` by hand. */
    remove(ref: string): void {
        const c = this.findContainer(ref)!;
        this.halt(c);
        this.containers.delete(c.Id);
    }

    /** `docker network rm` by hand. */
    removeNetwork(ref: string): void {
        const res = this.dropNetwork(this.findNetwork(ref)!);
        if (res.status !== 204) throw new Error(`fake docker network rm ${ref}: ${JSON.stringify(res.body)}`);
    }

    /** `docker network connect` by hand. */
    connectByHand(
        network: string,
        container: string,
        endpoint: { IPAMConfig?: { IPv4Address?: string }; Aliases?: string[]; DriverOpts?: Record<string, string> } = {},
    ): void {
        const res = this.connect(network, { Container: container, EndpointConfig: endpoint });
        if (res.status !== 200) throw new Error(`fake docker network connect: ${JSON.stringify(res.body)}`);
    }

    /** `docker network disconnect` by hand. */
    disconnectByHand(network: string, container: string): void {
        const res = this.disconnect(network, { Container: container, Force: true });
        if (res.status !== 200) throw new Error(`fake docker network disconnect: ${JSON.stringify(res.body)}`);
    }

    container(ref: string): FakeContainer | undefined {
        return this.findContainer(ref);
    }

    /** `docker stop`: the process ends, its namespace (and every veth in it) goes. */
    stop(ref: string, byUser = true): void {
        const c = this.findContainer(ref)!;
        this.halt(c);
        c.stoppedByUser = byUser;
    }

    /** `docker restart`: a new process, a new (empty) namespace. */
    restart(ref: string): void {
        const c = this.findContainer(ref)!;
        this.halt(c);
        this.start(c);
    }

    /** dockerd restarted: every container stops; those whose restart policy says so start again, in new namespaces. */
    restartDaemon(): void {
        const wasRunning = [...this.containers.values()].filter((c) => c.status === "running");
        for (const c of wasRunning) this.halt(c);
        for (const c of wasRunning) {
            const policy = c.RestartPolicy.Name;
            if (policy === "always" || (policy === "unless-stopped" && !c.stoppedByUser)) this.start(c);
        }
    }

    // ---- the API ----

    handle(method: string, url: string, body: any): Answer {
        const u = new URL(url, "http://docker");
        const path = u.pathname;
        const verdict = this.faults.next({ layer: "docker", mutating: method !== "GET", text: `${method} ${path}`, method, path });
        if (verdict === "dead") return { status: 500, body: { message: "fake docker: the calling process was killed (fault injection)" } };
        const answer = this.route(method, path, u.searchParams, body);
        if (answer === undefined) {
            this.unknown.push(`${method} ${url}`);
            return notFound("page not found");
        }
        if (verdict?.kind === "fail")
            return { status: verdict.status ?? 500, body: { message: verdict.message ?? INJECTED_DOCKER_MESSAGE } };
        return answer();
    }

    /** The handler of a route, not yet run (so that an injected failure changes nothing), or undefined for an unknown route. */
    private route(method: string, path: string, q: URLSearchParams, body: any): (() => Answer) | undefined {
        let m: RegExpExecArray | null;
        const ref = (s: string) => decodeURIComponent(s);
        if (method === "GET" && path === "/containers/json") {
            if ([...q.keys()].some((k) => k !== "all")) return undefined;
            return () => this.listContainers(q.get("all") === "1" || q.get("all") === "true");
        }
        if (method === "POST" && path === "/containers/create") {
            if ([...q.keys()].some((k) => k !== "name")) return undefined;
            return () => this.createContainer(q.get("name") ?? "", body);
        }
        if ((m = /^\/containers\/([^/]+)\/json$/.exec(path)) && method === "GET") {
            return () => {
                const c = this.findContainer(ref(m![1]));
                return c ? { status: 200, body: this.inspectContainer(c) } : notFound(`No such container: ${ref(m![1])}`);
            };
        }
        if ((m = /^\/containers\/([^/]+)\/start$/.exec(path)) && method === "POST") {
            return () => {
                const c = this.findContainer(ref(m![1]));
                if (!c) return notFound(`No such container: ${ref(m![1])}`);
                if (c.status === "running") return { status: 304 };
                return this.start(c);
            };
        }
        if ((m = /^\/containers\/([^/]+)\/update$/.exec(path)) && method === "POST") {
            return () => {
                const c = this.findContainer(ref(m![1]));
                if (!c) return notFound(`No such container: ${ref(m![1])}`);
                if (body?.RestartPolicy)
                    c.RestartPolicy = { Name: body.RestartPolicy.Name ?? "", MaximumRetryCount: body.RestartPolicy.MaximumRetryCount ?? 0 };
                return { status: 200, body: { Warnings: null } };
            };
        }
        if ((m = /^\/containers\/([^/]+)$/.exec(path)) && method === "DELETE") {
            if ([...q.keys()].some((k) => k !== "force" && k !== "v")) return undefined;
            return () => {
                const c = this.findContainer(ref(m![1]));
                if (!c) return notFound(`No such container: ${ref(m![1])}`);
                if (c.status === "running" && q.get("force") !== "true" && q.get("force") !== "1") {
                    return {
                        status: 409,
                        body: {
                            message: `You cannot remove a running container ${c.Id}. Stop the container before attempting removal or force remove`,
                        },
                    };
                }
                this.halt(c);
                this.containers.delete(c.Id);
                return { status: 204 };
            };
        }
        if ((m = /^\/images\/(.+)\/json$/.exec(path)) && method === "GET") {
            const image = ref(m[1]);
            return () =>
                this.images.has(image)
                    ? {
                          status: 200,
                          body: {
                              Id: `sha256:${createHash("sha256").update(image).digest("hex")}`,
                              RepoTags: [image],
                              Config: { Labels: this.images.get(image) },
                          },
                      }
                    : notFound(`no such image: ${image}: No such image: ${image}`);
        }
        if (method === "GET" && path === "/version") {
            return () => ({ status: 200, body: { Version: "20.10.24+dfsg1", ApiVersion: "1.41", MinAPIVersion: "1.12", Os: "linux" } });
        }
        if (method === "GET" && path === "/networks") {
            if ([...q.keys()].length > 0) return undefined;
            return () => ({ status: 200, body: [...this.networks.values()].map((n) => this.inspectNetwork(n, false)) });
        }
        if (method === "POST" && path === "/networks/create") return () => this.createNetwork(body);
        if ((m = /^\/networks\/([^/]+)$/.exec(path)) && (method === "GET" || method === "DELETE")) {
            return () => {
                const n = this.findNetwork(ref(m![1]));
                if (!n) return notFound(`network ${ref(m![1])} not found`);
                return method === "GET" ? { status: 200, body: this.inspectNetwork(n, true) } : this.dropNetwork(n);
            };
        }
        if ((m = /^\/networks\/([^/]+)\/(connect|disconnect)$/.exec(path)) && method === "POST") {
            return () => (m![2] === "connect" ? this.connect(ref(m![1]), body) : this.disconnect(ref(m![1]), body));
        }
        return undefined;
    }

    // ---- containers ----

    private findContainer(ref: string): FakeContainer | undefined {
        const name = ref.replace(/^\//, "");
        const all = [...this.containers.values()];
        return (
            this.containers.get(ref) ??
            all.find((c) => c.Name === name) ??
            (ref.length >= 1
                ? all.filter((c) => c.Id.startsWith(ref)).length === 1
                    ? all.find((c) => c.Id.startsWith(ref))
                    : undefined
                : undefined)
        );
    }

    private createContainer(name: string, body: any): Answer {
        if (!/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) {
            return { status: 400, body: { message: `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed` } };
        }
        const taken = this.findContainer(name);
        if (taken && taken.Name === name.replace(/^\//, "")) {
            return {
                status: 409,
                body: {
                    message: `Conflict. The container name "/${taken.Name}" is already in use by container "${taken.Id}". You have to remove (or rename) that container to be able to reuse that name.`,
                },
            };
        }
        const image: string = body?.Image ?? "";
        if (!this.images.has(image)) return notFound(`No such image: ${image}`);
        let mode: string = body?.HostConfig?.NetworkMode || "default";
        if (mode === "default") mode = "bridge";
        if (mode.startsWith("container:")) {
            const target = this.findContainer(mode.slice("container:".length));
            if (!target) return notFound(`No such container: ${mode.slice("container:".length)}`);
            mode = `container:${target.Id}`;
        }
        const id = this.hexId();
        const endpoints = new Map<string, FakeEndpoint>();
        if (!mode.startsWith("container:")) {
            const configured = body?.NetworkingConfig?.EndpointsConfig?.[body?.HostConfig?.NetworkMode] ?? {};
            endpoints.set(mode, this.configuredEndpoint(id, mode, configured));
        }
        const bindings: FakeContainer["PortBindings"] = body?.HostConfig?.PortBindings ?? null;
        this.containers.set(id, {
            Id: id,
            Name: name.replace(/^\//, ""),
            Image: image,
            Cmd: body?.Cmd ?? ["/bin/sh"],
            Env: ["PATH=/bin", ...(body?.Env ?? [])],
            Labels: { ...this.images.get(image), ...(body?.Labels ?? {}) },
            NetworkMode: mode,
            RestartPolicy: {
                Name: body?.HostConfig?.RestartPolicy?.Name ?? "",
                MaximumRetryCount: body?.HostConfig?.RestartPolicy?.MaximumRetryCount ?? 0,
            },
            PortBindings: bindings,
            status: "created",
            pid: 0,
            error: "",
            endpoints,
            stoppedByUser: false,
        });
        return { status: 201, body: { Id: id, Warnings: [] } };
    }

    private configuredEndpoint(
        containerId: string,
        network: string,
        config: { IPAMConfig?: { IPv4Address?: string }; Aliases?: string[]; DriverOpts?: Record<string, string> },
    ): FakeEndpoint {
        const n = this.findNetwork(network);
        const userDefined = n ? !n.builtin : true;
        const aliases = [...(config.Aliases ?? [])];
        if (userDefined && !aliases.includes(containerId.slice(0, 12))) aliases.push(containerId.slice(0, 12));
        return {
            NetworkID: "",
            EndpointID: "",
            IPAddress: "",
            IPPrefixLen: 0,
            Gateway: "",
            Aliases: aliases.length > 0 ? aliases : null,
            IPAMConfig: config.IPAMConfig?.IPv4Address ? { IPv4Address: config.IPAMConfig.IPv4Address } : null,
            MacAddress: "",
            DriverOpts: config.DriverOpts && Object.keys(config.DriverOpts).length > 0 ? { ...config.DriverOpts } : null,
        };
    }

    /** Starts a created or stopped container: a process, a namespace, live endpoints. */
    private start(c: FakeContainer): Answer {
        let ns: FakeNetns | undefined;
        if (c.NetworkMode.startsWith("container:")) {
            const target = this.containers.get(c.NetworkMode.slice("container:".length));
            if (!target || target.status !== "running") {
                return {
                    status: 409,
                    body: { message: `cannot join network of a non running container: ${c.NetworkMode.slice("container:".length)}` },
                };
            }
            c.pid = this.kernel.sharePid(this.kernel.namespaceOf(target.pid)!);
        } else {
            // Endpoints first: a failure leaves the container created, with the error recorded (as the engine does).
            for (const [name, ep] of c.endpoints) {
                const n = this.findNetwork(name);
                if (!n) return this.startFailed(c, 404, `network ${name} not found`);
                const why = this.allocate(c, n, ep);
                if (why) return this.startFailed(c, why.status, why.message);
            }
            if (c.NetworkMode === "host") c.pid = this.kernel.sharePid(this.kernel.host);
            else {
                ns = this.kernel.addNamespace(c.Name);
                c.pid = ns.pid;
            }
        }
        c.status = "running";
        c.error = "";
        c.stoppedByUser = false;
        return { status: 204 };
    }

    private startFailed(c: FakeContainer, status: number, message: string): Answer {
        for (const ep of c.endpoints.values())
            Object.assign(ep, { NetworkID: "", EndpointID: "", IPAddress: "", IPPrefixLen: 0, Gateway: "", MacAddress: "" });
        c.error = message;
        return { status, body: { message } };
    }

    /** Makes an endpoint live on `n`: its address (static or the next free one), a new endpoint id. */
    private allocate(c: FakeContainer, n: FakeNetwork, ep: FakeEndpoint): { status: number; message: string } | undefined {
        ep.NetworkID = n.Id;
        ep.EndpointID = this.hexId();
        if (!n.Subnet) return undefined;
        const want = ep.IPAMConfig?.IPv4Address;
        const used = this.usedAddresses(n, c);
        let address: string | undefined;
        if (want) {
            if (!n.userSubnet)
                return {
                    status: 400,
                    message: "user specified IP address is supported only when connecting to networks with user configured subnets",
                };
            if (!inSubnet(want, n.Subnet))
                return { status: 400, message: `Invalid address ${want}: It does not belong to any of this network's subnets` };
            if (used.has(want)) return { status: 403, message: "Address already in use" };
            address = want;
        } else {
            const r = subnetRange(n.IPRange ?? n.Subnet);
            for (let i = 1; i < r.size - 1 && !address; i++) {
                const candidate = intToIp(r.base + i);
                if (!used.has(candidate)) address = candidate;
            }
            if (!address) return { status: 500, message: "no available IPv4 addresses on this network's address pools" };
        }
        ep.IPAddress = address;
        ep.IPPrefixLen = subnetRange(n.Subnet).prefix;
        ep.Gateway = n.Gateway ?? "";
        ep.MacAddress = `02:42:${address
            .split(".")
            .map((o) => Number(o).toString(16).padStart(2, "0"))
            .join(":")}`;
        return undefined;
    }

    private usedAddresses(n: FakeNetwork, except: FakeContainer): Set<string> {
        const used = new Set<string>(n.Gateway ? [n.Gateway] : []);
        for (const c of this.containers.values()) {
            if (c === except) continue;
            for (const ep of c.endpoints.values()) if (ep.NetworkID === n.Id && ep.IPAddress) used.add(ep.IPAddress);
        }
        return used;
    }

    /** The process ends: its namespace goes (with its veths), its endpoints lose their ids and addresses. */
    private halt(c: FakeContainer): void {
        if (c.status !== "running") return;
        this.kernel.dropPid(c.pid);
        // Containers sharing this one's namespace lose it too.
        c.pid = 0;
        c.status = "exited";
        for (const ep of c.endpoints.values())
            Object.assign(ep, { NetworkID: "", EndpointID: "", IPAddress: "", IPPrefixLen: 0, Gateway: "", MacAddress: "" });
    }

    private inspectContainer(c: FakeContainer): Record<string, unknown> {
        const networks: Record<string, unknown> = {};
        for (const [name, ep] of c.endpoints) {
            networks[name] = {
                IPAMConfig: ep.IPAMConfig,
                Links: null,
                Aliases: ep.Aliases,
                NetworkID: ep.NetworkID || (c.status === "running" ? (this.findNetwork(name)?.Id ?? "") : ""),
                EndpointID: ep.EndpointID,
                Gateway: ep.Gateway,
                IPAddress: ep.IPAddress,
                IPPrefixLen: ep.IPPrefixLen,
                IPv6Gateway: "",
                GlobalIPv6Address: "",
                GlobalIPv6PrefixLen: 0,
                MacAddress: ep.MacAddress,
                DriverOpts: ep.DriverOpts,
            };
        }
        const running = c.status === "running";
        return {
            Id: c.Id,
            Created: "2026-01-01T00:00:00.000000000Z",
            Path: (c.Cmd ?? [])[0] ?? "",
            Args: (c.Cmd ?? []).slice(1),
            State: {
                Status: c.status,
                Running: running,
                Paused: false,
                Restarting: false,
                OOMKilled: false,
                Dead: false,
                Pid: running ? c.pid : 0,
                ExitCode: c.status === "exited" ? 137 : c.error ? 128 : 0,
                Error: c.error,
                StartedAt: "2026-01-01T00:00:00.000000000Z",
                FinishedAt: "0001-01-01T00:00:00Z",
            },
            Image: `sha256:${"0".repeat(64)}`,
            Name: `/${c.Name}`,
            RestartCount: 0,
            HostConfig: { NetworkMode: c.NetworkMode, RestartPolicy: c.RestartPolicy, PortBindings: c.PortBindings, AutoRemove: false },
            Config: { Hostname: c.Id.slice(0, 12), Env: c.Env, Cmd: c.Cmd, Image: c.Image, Labels: c.Labels },
            NetworkSettings: {
                Bridge: "",
                SandboxID: running ? c.Id.slice(0, 64) : "",
                SandboxKey: running ? `/var/run/docker/netns/${c.Id.slice(0, 12)}` : "",
                Ports: {},
                Networks: networks,
            },
        };
    }

    private listContainers(all: boolean): Answer {
        const list = [...this.containers.values()]
            .filter((c) => all || c.status === "running")
            .map((c) => ({
                Id: c.Id,
                Names: [`/${c.Name}`],
                Image: c.Image,
                Command: (c.Cmd ?? []).join(" "),
                Labels: c.Labels,
                State: c.status,
                Status: c.status === "running" ? "Up 1 second" : c.status === "created" ? "Created" : "Exited (137) 1 second ago",
                HostConfig: { NetworkMode: c.NetworkMode },
                NetworkSettings: { Networks: (this.inspectContainer(c).NetworkSettings as { Networks: unknown }).Networks },
                Mounts: [],
            }));
        return { status: 200, body: list };
    }

    // ---- networks ----

    private findNetwork(ref: string): FakeNetwork | undefined {
        const all = [...this.networks.values()];
        const byPrefix = all.filter((n) => n.Id.startsWith(ref));
        return this.networks.get(ref) ?? all.find((n) => n.Name === ref) ?? (byPrefix.length === 1 ? byPrefix[0] : undefined);
    }

    private addNetwork(
        n: Omit<FakeNetwork, "Id" | "Internal" | "Options" | "Labels"> & Partial<FakeNetwork>,
        options: Record<string, string>,
    ): FakeNetwork {
        const full: FakeNetwork = { Id: this.hexId(), Internal: false, Labels: {}, ...n, Options: options };
        this.networks.set(full.Id, full);
        if (full.Driver === "bridge") {
            const prefix = full.Subnet!.split("/")[1];
            this.kernel.addBridge(this.bridgeName(full), { addrs: full.Gateway ? [`${full.Gateway}/${prefix}`] : [], up: true });
        }
        return full;
    }

    private bridgeName(n: FakeNetwork): string {
        return n.Options["com.docker.network.bridge.name"] ?? `br-${n.Id.slice(0, 12)}`;
    }

    private createNetwork(body: any): Answer {
        const name: string = body?.Name ?? "";
        if (body?.CheckDuplicate && [...this.networks.values()].some((n) => n.Name === name)) {
            return { status: 409, body: { message: `network with name ${name} already exists` } };
        }
        const driver = body?.Driver ?? "bridge";
        if (driver !== "bridge" && driver !== "macvlan")
            return { status: 400, body: { message: `fake docker: driver ${body.Driver} is not modelled` } };
        const config = body?.IPAM?.Config?.[0] as { Subnet?: string; Gateway?: string; IPRange?: string } | undefined;
        const taken = [...this.networks.values()].map((n) => n.Subnet).filter((s): s is string => !!s);
        let subnet = config?.Subnet;
        if (subnet && taken.some((s) => overlaps(s, subnet!)))
            return { status: 403, body: { message: "Pool overlaps with other one on this address space" } };
        if (driver === "macvlan") {
            const why = this.macvlanRefusal(body?.Options ?? {});
            if (why) return { status: 500, body: { message: why } };
        }
        if (!subnet) {
            while (taken.some((s) => overlaps(s, `172.${this.nextPool}.0.0/16`))) this.nextPool++;
            subnet = `172.${this.nextPool++}.0.0/16`;
        }
        const r = subnetRange(subnet);
        const n = this.addNetwork(
            {
                Name: name,
                Driver: driver,
                Subnet: `${intToIp(r.base)}/${r.prefix}`,
                Gateway: config?.Gateway ?? intToIp(r.base + 1),
                IPRange: config?.IPRange,
                userSubnet: !!config?.Subnet,
                userGateway: !!config?.Gateway,
                builtin: false,
                Internal: !!body?.Internal,
                Labels: body?.Labels ?? {},
            },
            body?.Options ?? {},
        );
        return { status: 201, body: { Id: n.Id, Warning: "" } };
    }

    /** What Docker 20.10's macvlan driver refuses of a network's options, in its words (status 500). */
    private macvlanRefusal(options: Record<string, string>): string | undefined {
        const mode = options.macvlan_mode;
        if (mode !== undefined && !["bridge", "private", "vepa", "passthru"].includes(mode))
            return `requested macvlan mode '${mode}' is not valid, 'bridge' mode is the macvlan driver default`;
        const parent = options.parent;
        // Without a parent, Docker makes a dummy link as the parent.
        if (!parent) return this.kernel.kinds.includes("dummy") ? "fake docker: dummy parents are not modelled" : "operation not supported";
        const same = [...this.networks.values()].find((n) => n.Driver === "macvlan" && n.Options.parent === parent);
        if (same) return `network dm-${same.Id.slice(0, 12)} is already using parent interface ${parent}`;
        if (!this.kernel.host.byName(parent)) {
            if (!/^.+\.\d+$/.test(parent)) return `invalid subinterface vlan name ${parent}, example formatting is eth0.10`;
            return this.kernel.kinds.includes("vlan")
                ? "fake docker: VLAN parents are not modelled"
                : `failed to create ${parent} vlan link: operation not supported`;
        }
        return undefined;
    }

    private inspectNetwork(n: FakeNetwork, withContainers: boolean): Record<string, unknown> {
        const containers: Record<string, unknown> = {};
        if (withContainers) {
            for (const c of this.containers.values()) {
                const ep = [...c.endpoints.values()].find((e) => e.NetworkID === n.Id && e.EndpointID);
                if (!ep) continue;
                containers[c.Id] = {
                    Name: c.Name,
                    EndpointID: ep.EndpointID,
                    MacAddress: ep.MacAddress,
                    IPv4Address: ep.IPAddress ? `${ep.IPAddress}/${ep.IPPrefixLen}` : "",
                    IPv6Address: "",
                };
            }
        }
        // The engine lists the gateway it picked only for a subnet it picked too, or the daemon's --bip for the default bridge.
        const showGateway = n.Gateway && (n.builtin || !n.userSubnet || n.userGateway);
        const config: { Subnet: string; Gateway?: string; IPRange?: string }[] =
            n.Subnet && !(n.builtin && n.Driver !== "bridge")
                ? n.builtin
                    ? [{ Subnet: n.Subnet, ...(n.IPRange ? { IPRange: n.IPRange } : {}), ...(showGateway ? { Gateway: n.Gateway } : {}) }]
                    : [{ Subnet: n.Subnet, ...(showGateway ? { Gateway: n.Gateway } : {}), ...(n.IPRange ? { IPRange: n.IPRange } : {}) }]
                : [];
        // The IPv6 subnet is listed after the IPv4 one, without the gateway the engine picked (as `docker network inspect bridge` shows it).
        if (n.Subnet6) config.push({ Subnet: n.Subnet6 });
        return {
            Name: n.Name,
            Id: n.Id,
            Created: "2026-01-01T00:00:00.000000000Z",
            Scope: "local",
            Driver: n.Driver,
            EnableIPv6: n.Subnet6 !== undefined,
            IPAM: { Driver: "default", Options: null, Config: config },
            Internal: n.Internal,
            Attachable: false,
            Ingress: false,
            ConfigFrom: { Network: "" },
            ConfigOnly: false,
            Containers: containers,
            Options: n.Options,
            Labels: n.Labels,
        };
    }

    private dropNetwork(n: FakeNetwork): Answer {
        if (n.builtin) return { status: 403, body: { message: `${n.Name} is a pre-defined network and cannot be removed` } };
        const active = [...this.containers.values()].some((c) =>
            [...c.endpoints.values()].some((e) => e.NetworkID === n.Id && e.EndpointID),
        );
        if (active)
            return { status: 403, body: { message: `error while removing network: network ${n.Name} id ${n.Id} has active endpoints` } };
        this.networks.delete(n.Id);
        if (n.Driver === "bridge") this.kernel.removeLink(this.kernel.host, this.bridgeName(n));
        // Configured endpoints of stopped containers stay (the engine keeps them, and fails their start).
        return { status: 204 };
    }

    private connect(netRef: string, body: any): Answer {
        const n = this.findNetwork(netRef);
        if (!n) return notFound(`network ${netRef} not found`);
        const c = this.findContainer(body?.Container ?? "");
        if (!c) return notFound(`No such container: ${body?.Container}`);
        if (c.NetworkMode === "none")
            return {
                status: 400,
                body: { message: "container cannot be connected to multiple networks with one of the networks in private (none) mode" },
            };
        if (c.NetworkMode === "host" || n.Driver === "host")
            return { status: 400, body: { message: "container cannot be disconnected from host network or connected to host network" } };
        if (c.NetworkMode.startsWith("container:")) {
            return {
                status: 400,
                body: {
                    message: "container sharing network namespace with another container or host cannot be connected to any other network",
                },
            };
        }
        if (c.endpoints.has(n.Name))
            return { status: 403, body: { message: `endpoint with name ${c.Name} already exists in network ${n.Name}` } };
        const ep = this.configuredEndpoint(c.Id, n.Name, body?.EndpointConfig ?? {});
        if (c.status === "running") {
            const why = this.allocate(c, n, ep);
            if (why) return { status: why.status, body: { message: why.message } };
        }
        c.endpoints.set(n.Name, ep);
        return { status: 200 };
    }

    private disconnect(netRef: string, body: any): Answer {
        const n = this.findNetwork(netRef);
        const c = this.findContainer(body?.Container ?? "");
        if (!c) return n ? notFound(`endpoint ${body?.Container} not found`) : notFound(`network ${netRef} not found`);
        if (!n) return { status: 500, body: { message: `container ${c.Id} is not connected to the network ${netRef}` } };
        if (!c.endpoints.has(n.Name)) return { status: 500, body: { message: `container ${c.Id} is not connected to network ${n.Name}` } };
        c.endpoints.delete(n.Name);
        return { status: 200 };
    }
}

export interface FakeDockerApi {
    /** `unix://<path>`: the value for DOCKER_HOST. */
    dockerHost: string;
    /** The engine whose state the socket serves (replace it for a fresh world). */
    docker: FakeDocker | undefined;
    close(): Promise<void>;
}

/** Serves `api.docker` on a fresh unix socket under the temp folder. */
export async function startFakeDockerApi(): Promise<FakeDockerApi> {
    const socketPath = join(tmpdir(), `hostnet-fake-docker-${randomBytes(4).toString("hex")}.sock`);
    const api: FakeDockerApi = {
        dockerHost: `unix://${socketPath}`,
        docker: undefined,
        close: async () => {
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
            rmSync(socketPath, { force: true });
        },
    };
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let body: unknown;
            try {
                body = text ? JSON.parse(text) : undefined;
            } catch {
                res.writeHead(400, { "Content-Type": "application/json" }).end(JSON.stringify({ message: "invalid JSON" }));
                return;
            }
            const docker = api.docker;
            const answer: Answer = docker
                ? docker.handle(req.method ?? "GET", req.url ?? "/", body)
                : { status: 500, body: { message: "fake docker: no engine state" } };
            const payload = answer.body === undefined ? "" : JSON.stringify(answer.body) + "\n";
            res.writeHead(answer.status, {
                "Content-Type": "application/json",
                "Api-Version": "1.41",
                Server: "Docker/20.10.24+dfsg1 (linux)",
            });
            res.end(payload);
        });
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(socketPath, () => resolve());
    });
    return api;
}
