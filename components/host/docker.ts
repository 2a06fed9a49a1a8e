// A small Docker Engine API client over the daemon's Unix socket, with Node's
// own http module. Why not the docker CLI: one HTTP request costs well under a
// millisecond of CPU where a CLI process costs tens, and the API gives exact
// status codes (404 gone, 409 conflict) instead of text to parse. Why not
// dockerode: it pulls in ssh2 and a dozen packages for the five calls used here.
//
// No Pulumi imports here: this module is loaded by dynamic providers.

/** The fields of `GET /containers/{id}/json` this library reads. */
export interface ContainerInspect {
    Id: string;
    Name: string;
    State: { Running: boolean; Pid: number; Status: string };
    Config: { Image: string; Cmd: string[] | null; Labels: Record<string, string> | null; Env: string[] | null };
    HostConfig: { NetworkMode: string };
    NetworkSettings: { SandboxKey: string };
}

export interface DockerError extends Error {
    readonly statusCode: number;
}

function socketPath(): string {
    // Read per call, never at module scope: a captured value would be frozen
    // into the state of every dynamic resource.
    const host = process.env.DOCKER_HOST;
    if (host && host.startsWith("unix://")) {
        return host.slice("unix://".length);
    }
    return "/var/run/docker.sock";
}

interface ApiResponse {
    statusCode: number;
    body: unknown;
}

async function request(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const http = await import("node:http");
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
        const req = http.request(
            {
                socketPath: socketPath(),
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
            reject(
                new Error(
                    `failed to reach the Docker engine at ${socketPath()}: ${err.message}` +
                        " (is dockerd running? `scripts/start-docker.sh` starts it)",
                ),
            );
        });
        if (payload) req.write(payload);
        req.end();
    });
}

function apiError(what: string, res: ApiResponse): DockerError {
    const message =
        typeof res.body === "object" && res.body !== null && "message" in res.body
            ? String((res.body as { message: unknown }).message)
            : String(res.body);
    const err = new Error(`failed to ${what}: Docker engine answered ${res.statusCode}: ${message}`) as Error & {
        statusCode: number;
    };
    err.statusCode = res.statusCode;
    return err;
}

export function isDockerNotFound(err: unknown): boolean {
    return err instanceof Error && (err as Partial<DockerError>).statusCode === 404;
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
    networkMode: string;
}

/** Creates a container and returns its id. */
export async function createContainer(spec: ContainerCreateSpec): Promise<string> {
    const res = await request("POST", `/containers/create?name=${encodeURIComponent(spec.name)}`, {
        Image: spec.image,
        Cmd: spec.command,
        Env: spec.env,
        Labels: spec.labels,
        HostConfig: { NetworkMode: spec.networkMode },
    });
    if (res.statusCode !== 201) throw apiError(`create container "${spec.name}"`, res);
    return (res.body as { Id: string }).Id;
}

export async function startContainer(id: string): Promise<void> {
    const res = await request("POST", `/containers/${encodeURIComponent(id)}/start`);
    // 304: already running.
    if (res.statusCode !== 204 && res.statusCode !== 304) throw apiError(`start container "${id}"`, res);
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
