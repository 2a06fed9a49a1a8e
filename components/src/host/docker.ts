// A small Docker Engine API client over the daemon's Unix socket, with Node's
// own http module; inside a host's scope (hostScope.ts), over that host's
// `docker system dial-stdio` streams (ssh.ts), as the docker CLI does. Why not the docker CLI: one HTTP request costs well under a
// millisecond of CPU where a CLI process costs tens, and the API gives exact
// status codes (404 gone, 409 conflict) instead of text to parse. Why not
// dockerode: it pulls in ssh2 and a dozen packages for the five calls used here.
//
// Engine side: loaded by the dynamic-provider process. No Pulumi imports.

import * as http from "node:http";
import { DockerApiError, DockerConflictError, DockerNotFoundError, DockerUnreachableError } from "./errors";
import { currentHost } from "./hostScope";

/** The fields of `GET /containers/{id}/json` this library reads. */
export interface ContainerInspect {
    Id: string;
    Name: string;
    State: { Running: boolean; Pid: number; Status: string };
    Config: { Image: string; Cmd: string[] | null; Labels: Record<string, string> | null; Env: string[] | null };
    HostConfig: {
        NetworkMode: string;
        RestartPolicy: { Name: string; MaximumRetryCount: number };
        PortBindings: Record<string, { HostIp: string; HostPort: string }[] | null> | null;
    };
    NetworkSettings: {
        SandboxKey: string;
        Networks: Record<string, EndpointInspect>;
    };
}

export interface EndpointInspect {
    NetworkID: string;
    /** Unique per connection: a reconnect, even by hand, gets a new one. */
    EndpointID: string;
    IPAddress: string;
    IPPrefixLen: number;
    /** The container's IPv6 address on the network ("" without one). */
    GlobalIPv6Address?: string;
    GlobalIPv6PrefixLen?: number;
    Aliases: string[] | null;
    IPAMConfig: { IPv4Address?: string; IPv6Address?: string } | null;
    /** Options given at connect; the library's own carries its owner mark (OWNER_LABEL). */
    DriverOpts?: Record<string, string> | null;
}

/** An endpoint as `docker run --network NAME --ip IP --ip6 IP6 --network-alias A` sets it. */
export interface EndpointSpec {
    ipv4Address?: string;
    ipv6Address?: string;
    aliases?: string[];
    /** Kept with the connection (and shown by `docker inspect`) across restarts: where a connection's owner mark goes. */
    driverOpts?: Record<string, string>;
}

export interface PortBinding {
    hostIp: string;
    hostPort: number;
    containerPort: number;
    protocol: "tcp" | "udp" | "sctp";
}

export interface RestartPolicy {
    name: "no" | "always" | "unless-stopped" | "on-failure";
    maximumRetryCount?: number;
}

function endpointConfig(spec: EndpointSpec): Record<string, unknown> {
    const ipam = {
        ...(spec.ipv4Address ? { IPv4Address: spec.ipv4Address } : {}),
        ...(spec.ipv6Address ? { IPv6Address: spec.ipv6Address } : {}),
    };
    return {
        IPAMConfig: Object.keys(ipam).length > 0 ? ipam : undefined,
        Aliases: spec.aliases,
        DriverOpts: spec.driverOpts,
    };
}

export function socketPath(): string {
    // Read per call, never at module scope: a captured value would be frozen
    // into the state of every dynamic resource.
    const host = process.env.DOCKER_HOST;
    if (host && host.startsWith("unix://")) {
        return host.slice("unix://".length);
    }
    return "/var/run/docker.sock";
}

export interface ApiResponse {
    statusCode: number;
    body: unknown;
}

// One keep-alive agent per process: the engine runs many calls at once, and a
// new connection per request costs more than the request.
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

export async function request(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const host = currentHost();
    // A host that cannot be reached fails here with its own message, before any stream is opened.
    if (host) await host.ensure();
    return new Promise((resolve, reject) => {
        const req = http.request(
            {
                ...(host ? { agent: host.dockerAgent, host: "docker" } : { socketPath: socketPath(), agent }),
                method,
                path,
                headers: payload ? { "Content-Type": "application/json", "Content-Length": payload.length } : {},
            },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => {
                    const text = Buffer.concat(chunks).toString("utf8");
                    let parsed: unknown = text;
                    try {
                        parsed = text ? JSON.parse(text) : undefined;
                    } catch {
                        // Plain-text error bodies stay text.
                    }
                    resolve({ statusCode: res.statusCode ?? 0, body: parsed });
                });
                res.on("error", reject);
            },
        );
        req.on("error", (err: NodeJS.ErrnoException) => {
            if (host) {
                reject(
                    new DockerUnreachableError(
                        `failed to reach the Docker engine of host ${host.name}: ${err.message}; check that its dockerd runs (\`docker info\` there)`,
                        { cause: err },
                    ),
                );
                return;
            }
            reject(
                new DockerUnreachableError(
                    `failed to reach the Docker engine at ${socketPath()}: ${err.message}; ` +
                        "start dockerd (the project's `scripts/start-docker.sh` does), or set DOCKER_HOST=unix://<socket>",
                    { cause: err },
                ),
            );
        });
        if (payload) req.write(payload);
        req.end();
    });
}

/** The Docker engine's own message in an error answer. */
export function apiMessage(res: ApiResponse): string {
    return typeof res.body === "object" && res.body !== null && "message" in res.body
        ? String((res.body as { message: unknown }).message)
        : String(res.body ?? "");
}

/** The typed error for an unexpected answer: 404 and 409 get classes of their own. */
export function apiError(what: string, res: ApiResponse): DockerApiError {
    const message = `failed to ${what}: Docker engine answered ${res.statusCode}: ${apiMessage(res)}`;
    const Class = res.statusCode === 404 ? DockerNotFoundError : res.statusCode === 409 ? DockerConflictError : DockerApiError;
    return new Class(message, res.statusCode, res.body);
}

/** The Docker engine's version (`GET /version`), e.g. `20.10.24+dfsg1`, as major and minor numbers with the text. */
export async function engineVersion(): Promise<{ text: string; major: number; minor: number }> {
    const res = await request("GET", "/version");
    if (res.statusCode !== 200) throw apiError("read the Docker engine's version", res);
    const text = String((res.body as { Version?: unknown }).Version ?? "");
    const m = /^(\d+)\.(\d+)/.exec(text);
    return { text, major: m ? Number(m[1]) : 0, minor: m ? Number(m[2]) : 0 };
}

/** The container's state, or undefined when no container has this name or id. */
export async function inspectContainer(nameOrId: string): Promise<ContainerInspect | undefined> {
    const res = await request("GET", `/containers/${encodeURIComponent(nameOrId)}/json`);
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) throw apiError(`inspect container "${nameOrId}"`, res);
    return res.body as ContainerInspect;
}

export interface ContainerCreateSpec {
    name: string;
    image: string;
    command?: string[];
    env?: string[];
    labels: Record<string, string>;
    /** `docker run --net`: a mode or the first network to join. */
    networkMode: string;
    /** The endpoint on `networkMode` when it names a user-defined network. */
    endpoint?: EndpointSpec;
    ports?: PortBinding[];
    restartPolicy?: RestartPolicy;
}

/** Creates a container (not started) and returns its id. */
export async function createContainer(spec: ContainerCreateSpec): Promise<string> {
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of spec.ports ?? []) {
        const key = `${p.containerPort}/${p.protocol}`;
        exposed[key] = {};
        (bindings[key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
    }
    const res = await request("POST", `/containers/create?name=${encodeURIComponent(spec.name)}`, {
        Image: spec.image,
        Cmd: spec.command,
        Env: spec.env,
        Labels: spec.labels,
        ExposedPorts: exposed,
        HostConfig: {
            NetworkMode: spec.networkMode,
            PortBindings: bindings,
            RestartPolicy: spec.restartPolicy
                ? { Name: spec.restartPolicy.name, MaximumRetryCount: spec.restartPolicy.maximumRetryCount ?? 0 }
                : undefined,
        },
        NetworkingConfig: spec.endpoint ? { EndpointsConfig: { [spec.networkMode]: endpointConfig(spec.endpoint) } } : undefined,
    });
    if (res.statusCode !== 201) throw apiError(`create container "${spec.name}"`, res);
    return (res.body as { Id: string }).Id;
}

/** Changes a container's restart policy in place (`docker update --restart`). */
export async function updateRestartPolicy(id: string, policy: RestartPolicy): Promise<void> {
    const res = await request("POST", `/containers/${encodeURIComponent(id)}/update`, {
        RestartPolicy: { Name: policy.name, MaximumRetryCount: policy.maximumRetryCount ?? 0 },
    });
    if (res.statusCode !== 200) throw apiError(`update restart policy of container "${id}"`, res);
}

/** `docker network connect`: joins a container (running or not) to a network. */
export async function connectNetwork(network: string, container: string, endpoint: EndpointSpec): Promise<void> {
    const res = await request("POST", `/networks/${encodeURIComponent(network)}/connect`, {
        Container: container,
        EndpointConfig: endpointConfig(endpoint),
    });
    if (res.statusCode !== 200) throw apiError(`connect container "${container}" to network "${network}"`, res);
}

/** `docker network disconnect --force`. Already disconnected (or gone) is success. */
export async function disconnectNetwork(network: string, container: string): Promise<void> {
    const res = await request("POST", `/networks/${encodeURIComponent(network)}/disconnect`, { Container: container, Force: true });
    if (res.statusCode === 200 || res.statusCode === 404) return;
    if (res.statusCode === 500 && /is not connected/.test(apiMessage(res))) return;
    throw apiError(`disconnect container "${container}" from network "${network}"`, res);
}

/**
 * Answers of a start that a swarm gives while it is still settling, and that a
 * later start of the same container gets past:
 * - a manager that did not hand out the container's attachment to an overlay
 *   within its 20 s (a busy manager, a node joining meanwhile);
 * - a worker that joined moments ago and has the attachment but not yet the
 *   overlay itself (404 "network <id> not found").
 * Anything else (no such container, a port taken, a network really removed
 * once the attempts are spent) is the caller's error at once or in ~3.5 s.
 */
const SETTLING: { status: number; message: RegExp }[] = [
    {
        status: 500,
        message: /attaching to network failed.*context deadline exceeded|could not attach to network .*context deadline exceeded/i,
    },
    { status: 404, message: /^network \S+ not found$/i },
];
/** Pauses before each further start of a settling swarm. */
const SETTLING_PAUSES_MS = [500, 1000, 2000];

export async function startContainer(id: string): Promise<void> {
    let res = await request("POST", `/containers/${encodeURIComponent(id)}/start`);
    for (const pause of SETTLING_PAUSES_MS) {
        if (!SETTLING.some((s) => s.status === res.statusCode && s.message.test(apiMessage(res)))) break;
        await new Promise((resolve) => setTimeout(resolve, pause));
        res = await request("POST", `/containers/${encodeURIComponent(id)}/start`);
    }
    // 304: already running.
    if (res.statusCode !== 204 && res.statusCode !== 304) throw apiError(`start container "${id}"`, res);
}

/** `docker restart`: stops (at once) and starts a container again. */
export async function restartContainer(id: string): Promise<void> {
    const res = await request("POST", `/containers/${encodeURIComponent(id)}/restart?t=0`);
    if (res.statusCode !== 204) throw apiError(`restart container "${id}"`, res);
}

/** Removes a container, running or not. Already gone is success. */
export async function removeContainer(id: string): Promise<void> {
    const res = await request("DELETE", `/containers/${encodeURIComponent(id)}?force=true&v=true`);
    if (res.statusCode !== 204 && res.statusCode !== 404) throw apiError(`remove container "${id}"`, res);
}

export async function imageExists(image: string): Promise<boolean> {
    const res = await request("GET", `/images/${image}/json`);
    if (res.statusCode === 404) return false;
    if (res.statusCode !== 200) throw apiError(`inspect image "${image}"`, res);
    return true;
}

/** The fields of `GET /containers/json` this library reads. */
export interface ContainerSummary {
    Id: string;
    Names: string[];
    State: string;
    Labels: Record<string, string> | null;
    HostConfig: { NetworkMode: string };
}

/** Every container (running or not, with `all`), as `docker ps` lists them. */
export async function listContainers(all = false): Promise<ContainerSummary[]> {
    const res = await request("GET", `/containers/json${all ? "?all=1" : ""}`);
    if (res.statusCode !== 200) throw apiError("list containers", res);
    return res.body as ContainerSummary[];
}
