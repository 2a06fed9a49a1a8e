// Docker's event stream (`GET /events`, what `docker events` prints) and the
// container listing, over the Engine API socket (see docker.ts); inside a
// host's scope (hostScope.ts), that host's engine over SSH.
//
// Host layer: no Pulumi imports. Used by the `hostnet watch` command.

import * as http from "node:http";
import { apiError, request, socketPath } from "./docker";
import { DockerUnreachableError } from "./errors";
import { currentHost } from "./hostScope";

/** The fields of a container event this library reads (API 1.41, Docker 20.10). */
export interface ContainerEvent {
    /** `start`, `restart`, `die`, `stop`, ... */
    Action: string;
    Actor: { ID: string; Attributes: Record<string, string> };
    /** Seconds since the epoch, and the same in nanoseconds. */
    time: number;
    timeNano: number;
}

export interface EventStream {
    /** Stops following; `onEnd` is not called for a close asked for. */
    close(): void;
}

export interface FollowOptions {
    /** Container actions to follow, e.g. `["start", "restart", "die"]`. */
    actions: string[];
    /** Only containers that carry this label (any value). */
    label?: string;
    /** Replay events since this time (seconds since the epoch): none are lost across a reconnect. */
    since?: number;
    onEvent: (event: ContainerEvent) => void;
    /** The stream ended (dockerd stopped or restarted) or could not start. */
    onEnd: (err?: Error) => void;
}

/** Follows container events, as `docker events --filter type=container --filter event=...`, of the current host's engine. */
export function followContainerEvents(opts: FollowOptions): EventStream {
    const host = currentHost();
    const where = host ? `the Docker engine of host ${host.name}` : socketPath();
    const filters: Record<string, string[]> = { type: ["container"], event: opts.actions };
    if (opts.label) filters.label = [opts.label];
    const query = new URLSearchParams({ filters: JSON.stringify(filters) });
    if (opts.since !== undefined) query.set("since", String(opts.since));
    let closed = false;
    let ended = false;
    const end = (err?: Error) => {
        if (closed || ended) return;
        ended = true;
        opts.onEnd(err);
    };
    let req: http.ClientRequest | undefined;
    const open = () => {
        req = http.request(
            {
                ...(host ? { agent: host.dockerAgent, host: "docker" } : { socketPath: socketPath() }),
                method: "GET",
                path: `/events?${query}`,
            },
            onResponse,
        );
        req.on("error", (err) =>
            end(
                new DockerUnreachableError(
                    `failed to follow Docker events at ${where}: ${err.message}; ${host ? "check that its dockerd runs" : "start dockerd, or set DOCKER_HOST=unix://<socket>"}`,
                    { cause: err },
                ),
            ),
        );
        req.end();
    };
    const onResponse = (res: http.IncomingMessage) => {
        if (res.statusCode !== 200) {
            end(new Error(`failed to follow Docker events: the Docker engine answered ${res.statusCode}`));
            res.resume();
            return;
        }
        let buffered = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
            buffered += chunk;
            // One JSON object per line.
            let newline: number;
            while ((newline = buffered.indexOf("\n")) >= 0) {
                const line = buffered.slice(0, newline).trim();
                buffered = buffered.slice(newline + 1);
                if (line) opts.onEvent(JSON.parse(line) as ContainerEvent);
            }
        });
        res.on("end", () => end());
        res.on("error", (err) => end(err));
    };
    // Another host: its SSH connection first (a host that cannot be reached ends the stream with its reason).
    if (host)
        host.ensure().then(
            () => !closed && open(),
            (err: Error) => end(err),
        );
    else open();
    return {
        close() {
            closed = true;
            req?.destroy();
        },
    };
}

/** The fields of `GET /containers/json` this library reads. */
export interface ContainerSummary {
    Id: string;
    Names: string[];
    Labels: Record<string, string> | null;
    State: string;
    HostConfig: { NetworkMode: string };
}

/** Containers carrying `label` (any value), running ones only unless `all`. */
export async function listContainers(label: string, all = false): Promise<ContainerSummary[]> {
    const query = new URLSearchParams({ filters: JSON.stringify({ label: [label] }), all: String(all) });
    const res = await request("GET", `/containers/json?${query}`);
    if (res.statusCode !== 200) throw apiError(`list containers labelled "${label}"`, res);
    return res.body as ContainerSummary[];
}
