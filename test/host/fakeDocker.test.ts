// The fake Docker Engine API (test/fakes/dockerApi.ts) against the real
// engine: the same script of requests, on objects of this run's own names
// (marked as test fixtures, removed afterwards), through the real socket and
// through the fake; each answer must have the same status code, the same
// message (ids left out), and the same fields the library reads.

import * as assert from "node:assert/strict";
import * as http from "node:http";
import { startFakeDockerApi } from "../fakes/dockerApi";
import { FakeKernel } from "../fakes/kernel";
import { FakeDocker } from "../fakes/dockerApi";
import { runByte, RUN, sh, TEST_ALIAS, TEST_LABEL, uniqueSuffix } from "../helpers/host";

interface Answer {
    status: number;
    body: any;
}

function call(socketPath: string, method: string, path: string, body?: unknown): Promise<Answer> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
        const req = http.request(
            { socketPath, method, path, headers: payload ? { "Content-Type": "application/json", "Content-Length": payload.length } : {} },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => {
                    const text = Buffer.concat(chunks).toString("utf8");
                    let parsed: unknown = text;
                    try {
                        parsed = text ? JSON.parse(text) : undefined;
                    } catch {
                        // text
                    }
                    resolve({ status: res.statusCode ?? 0, body: parsed });
                });
            },
        );
        req.on("error", reject);
        if (payload) req.write(payload);
        req.end();
    });
}

/** Ids differ between the engines; everything else must not. */
function withoutIds(text: string): string {
    return text.replace(/\b[0-9a-f]{64}\b/g, "<id>").replace(/\b[0-9a-f]{12}\b/g, "<short id>");
}

/** The fields of an answer the library reads; of a network's containers, only those named `ours...` (the engine is shared). */
function project(body: any, ours: string): unknown {
    if (body === undefined || body === null || typeof body !== "object") return body === undefined ? "" : withoutIds(String(body));
    if ("message" in body) return { message: withoutIds(body.message) };
    if ("State" in body) {
        const networks = Object.fromEntries(
            Object.entries(body.NetworkSettings.Networks ?? {}).map(([name, ep]: [string, any]) => [
                name,
                {
                    // docker0 is shared with every other test: which address it hands out next is not this script's.
                    IPAddress: name === "bridge" && ep.IPAddress ? "<docker0's next>" : ep.IPAddress,
                    IPPrefixLen: ep.IPPrefixLen,
                    IPAMConfig: ep.IPAMConfig,
                    Aliases: (ep.Aliases ?? []).map(withoutIds),
                    NetworkID: ep.NetworkID ? "<id>" : "",
                    EndpointID: ep.EndpointID ? "<id>" : "",
                    DriverOpts: ep.DriverOpts ?? null,
                },
            ]),
        );
        return {
            Name: body.Name,
            State: { Status: body.State.Status, Running: body.State.Running, Pid: body.State.Pid > 0 },
            Config: { Image: body.Config.Image, Cmd: body.Config.Cmd, Labels: body.Config.Labels, Env: body.Config.Env },
            HostConfig: { NetworkMode: withoutIds(body.HostConfig.NetworkMode), RestartPolicy: body.HostConfig.RestartPolicy },
            Networks: networks,
        };
    }
    if ("IPAM" in body) {
        return {
            Name: body.Name,
            Driver: body.Driver,
            Internal: body.Internal,
            // Docker 20.10 lists docker0's IPv6 gateway or not depending on how its daemon came up
            // (the same flags gave both); the library never reads it.
            IPAM:
                body.Name === "bridge"
                    ? (body.IPAM.Config ?? []).map((c: any) => (c.Subnet?.includes(":") ? { Subnet: c.Subnet, IPRange: c.IPRange } : c))
                    : body.IPAM.Config,
            Options: body.Options,
            Labels: body.Labels,
            Containers: Object.values(body.Containers ?? {})
                .filter((c: any) => c.Name.startsWith(ours))
                .map((c: any) => `${c.Name} ${c.IPv4Address}`)
                .sort(),
        };
    }
    if ("Id" in body && "Warnings" in body) return { Id: "<id>", Warnings: body.Warnings };
    if ("Id" in body && "Warning" in body) return { Id: "<id>", Warning: body.Warning };
    if ("RepoTags" in body) return { RepoTags: body.RepoTags };
    if ("ApiVersion" in body) return { Version: body.Version, ApiVersion: body.ApiVersion };
    if ("Warnings" in body) return { Warnings: body.Warnings };
    return body;
}

describe("fake Docker Engine API against the real engine: the same requests, the same answers", function () {
    const sfx = uniqueSuffix();
    const n = `hnfk-${sfx}`;
    const subnet = `10.238.${runByte(9)}`;
    const label = { [TEST_LABEL]: RUN };
    const ctr = (mode: string, extra: Record<string, unknown> = {}) => ({
        Image: "hostnet/busybox:1",
        Cmd: ["sleep", "2147483647"],
        Labels: label,
        HostConfig: { NetworkMode: mode },
        ...extra,
    });
    // Parents for macvlan networks, the same names on the real host and in the fake kernel (short: `<q>.10` must be a name).
    const parents = { p: `hp${sfx}`, q: `hq${sfx}` };
    const mvSubnet = (i: number) => `10.239.${(runByte(9) + i) % 250}.0/24`;
    const macvlanNet = (name: string, subnet: string, options: Record<string, string>) => ({
        Name: name,
        Driver: "macvlan",
        CheckDuplicate: true,
        IPAM: { Driver: "default", Config: [{ Subnet: subnet }] },
        Options: options,
        Labels: label,
    });
    const script: [string, string, unknown?][] = [
        ["GET", "/version"],
        ["GET", `/containers/${n}-absent/json`],
        ["POST", `/containers/create?name=${n}-c`, ctr("none")],
        ["POST", `/containers/create?name=${n}-c`, ctr("none")],
        ["POST", `/containers/create?name=${n}-d`, { ...ctr("none"), Image: "hostnet/absent:1" }],
        ["POST", `/containers/${n}-c/start`],
        ["POST", `/containers/${n}-c/start`],
        ["POST", `/containers/${n}-absent/start`],
        ["POST", `/containers/${n}-c/update`, { RestartPolicy: { Name: "always", MaximumRetryCount: 0 } }],
        ["POST", `/containers/${n}-absent/update`, { RestartPolicy: { Name: "always", MaximumRetryCount: 0 } }],
        ["GET", `/containers/${n}-c/json`],
        ["GET", "/images/hostnet/busybox:1/json"],
        ["GET", "/images/hostnet/absent:1/json"],
        ["GET", `/networks/${n}-absent`],
        ["GET", "/networks/bridge"],
        ["GET", "/networks/none"],
        [
            "POST",
            "/networks/create",
            {
                Name: `${n}-n`,
                Driver: "bridge",
                CheckDuplicate: true,
                IPAM: { Driver: "default", Config: [{ Subnet: `${subnet}.0/24` }] },
                Options: { "com.docker.network.bridge.name": `${n}-b` },
                Labels: label,
            },
        ],
        [
            "POST",
            "/networks/create",
            {
                Name: `${n}-n`,
                Driver: "bridge",
                CheckDuplicate: true,
                IPAM: { Driver: "default", Config: [{ Subnet: `${subnet}.0/25` }] },
                Labels: label,
            },
        ],
        [
            "POST",
            "/networks/create",
            {
                Name: `${n}-m`,
                Driver: "bridge",
                CheckDuplicate: true,
                IPAM: { Driver: "default", Config: [{ Subnet: `${subnet}.128/25` }] },
                Labels: label,
            },
        ],
        ["POST", `/networks/${n}-n/connect`, { Container: `${n}-c`, EndpointConfig: {} }],
        [
            "POST",
            `/containers/create?name=${n}-w`,
            ctr(`${n}-n`, {
                NetworkingConfig: { EndpointsConfig: { [`${n}-n`]: { IPAMConfig: { IPv4Address: `${subnet}.9` }, Aliases: ["www"] } } },
            }),
        ],
        ["POST", `/containers/${n}-w/start`],
        ["GET", `/containers/${n}-w/json`],
        [
            "POST",
            `/containers/create?name=${n}-x`,
            ctr(`${n}-n`, { NetworkingConfig: { EndpointsConfig: { [`${n}-n`]: { IPAMConfig: { IPv4Address: `${subnet}.9` } } } } }),
        ],
        ["POST", `/containers/${n}-x/start`],
        ["GET", `/containers/${n}-x/json`],
        ["POST", `/containers/create?name=${n}-f`, ctr("bridge")],
        ["POST", `/containers/${n}-f/start`],
        [
            "POST",
            `/networks/${n}-n/connect`,
            {
                Container: `${n}-f`,
                EndpointConfig: {
                    IPAMConfig: { IPv4Address: `${subnet}.20` },
                    Aliases: ["api"],
                    // Where a NetworkAttachment's owner mark goes: kept with the connection, shown by inspect.
                    DriverOpts: { "io.hostnet.owner": `hostnet/test/${RUN}/NetworkAttachment/f` },
                },
            },
        ],
        ["GET", `/containers/${n}-f/json`],
        ["POST", `/networks/${n}-n/connect`, { Container: `${n}-f`, EndpointConfig: {} }],
        ["POST", `/networks/${n}-n/connect`, { Container: `${n}-absent`, EndpointConfig: {} }],
        ["POST", `/networks/${n}-absent/connect`, { Container: `${n}-f`, EndpointConfig: {} }],
        ["GET", `/networks/${n}-n`],
        ["DELETE", `/networks/${n}-n`],
        ["POST", `/networks/${n}-n/disconnect`, { Container: `${n}-f`, Force: true }],
        ["POST", `/networks/${n}-n/disconnect`, { Container: `${n}-f`, Force: true }],
        ["POST", `/networks/${n}-n/disconnect`, { Container: `${n}-absent`, Force: true }],
        ["POST", `/networks/${n}-absent/disconnect`, { Container: `${n}-f`, Force: true }],
        ["POST", `/containers/create?name=${n}-s`, ctr(`container:${n}-w`)],
        ["POST", `/containers/create?name=${n}-t`, ctr(`container:${n}-x`)],
        ["POST", `/containers/${n}-t/start`],
        ["DELETE", `/containers/${n}-w`],
        ["DELETE", `/containers/${n}-w?force=true&v=true`],
        ["DELETE", `/containers/${n}-w?force=true&v=true`],
        ["DELETE", `/networks/${n}-n`],
        ["DELETE", `/networks/${n}-absent`],
        // macvlan networks: Docker 20.10's rules for the parent and the mode, and a container with a static address on one.
        ["POST", "/networks/create", macvlanNet(`${n}-v`, mvSubnet(0), { parent: parents.p })],
        ["POST", "/networks/create", macvlanNet(`${n}-v2`, mvSubnet(1), { parent: parents.p, macvlan_mode: "private" })],
        ["POST", "/networks/create", macvlanNet(`${n}-v3`, mvSubnet(2), { parent: parents.q, macvlan_mode: "loud" })],
        ["POST", "/networks/create", macvlanNet(`${n}-v4`, mvSubnet(3), { parent: `${parents.q}x` })],
        ["POST", "/networks/create", macvlanNet(`${n}-v5`, mvSubnet(4), { parent: `${parents.q}.10` })],
        ["POST", "/networks/create", macvlanNet(`${n}-v6`, mvSubnet(5), {})],
        ["POST", "/networks/create", macvlanNet(`${n}-v7`, mvSubnet(0).replace(".0/24", ".128/25"), { parent: parents.q })],
        ["GET", `/networks/${n}-v`],
        [
            "POST",
            `/containers/create?name=${n}-mv`,
            ctr(`${n}-v`, {
                NetworkingConfig: { EndpointsConfig: { [`${n}-v`]: { IPAMConfig: { IPv4Address: mvSubnet(0).replace(".0/24", ".9") } } } },
            }),
        ],
        ["POST", `/containers/${n}-mv/start`],
        ["GET", `/containers/${n}-mv/json`],
        ["GET", `/networks/${n}-v`],
        ["DELETE", `/networks/${n}-v`],
        ["DELETE", `/containers/${n}-mv?force=true&v=true`],
        ["DELETE", `/networks/${n}-v`],
    ];

    before(async () => {
        for (const parent of Object.values(parents)) {
            await sh(["ip", "link", "add", "name", parent, "type", "veth", "peer", "name", `${parent}y`]);
            await sh(["ip", "link", "set", "dev", parent, "alias", TEST_ALIAS, "up"]);
        }
    });

    after(async () => {
        const ids = (await sh(["docker", "ps", "-aq", "--filter", `label=${TEST_LABEL}=${RUN}`, "--filter", `name=${n}-`])).stdout
            .split("\n")
            .filter(Boolean);
        if (ids.length > 0) await sh(["docker", "rm", "-f", ...ids], { reject: false });
        for (const net of [`${n}-n`, `${n}-m`, `${n}-v`, `${n}-v2`, `${n}-v3`, `${n}-v4`, `${n}-v5`, `${n}-v6`, `${n}-v7`])
            await sh(["docker", "network", "rm", net], { reject: false });
        for (const parent of Object.values(parents)) await sh(["ip", "link", "del", parent], { reject: false });
    });

    it(`${script.length} requests: status codes, messages and the fields the library reads are the same`, async () => {
        const api = await startFakeDockerApi();
        const kernel = new FakeKernel();
        for (const parent of Object.values(parents)) kernel.addVeth(kernel.host, parent, kernel.host, `${parent}y`, { up: true });
        api.docker = new FakeDocker(kernel);
        const problems: string[] = [];
        try {
            for (const [method, path, body] of script) {
                const real = await call("/var/run/docker.sock", method, path, body);
                const fake = await call(api.dockerHost.slice("unix://".length), method, path, body);
                const where = `${method} ${path}`;
                if (real.status !== fake.status)
                    problems.push(`${where}: status real ${real.status}, fake ${fake.status} (${JSON.stringify(real.body)})`);
                try {
                    assert.deepEqual(project(fake.body, n), project(real.body, n));
                } catch {
                    problems.push(
                        `${where}: answer differs: real ${JSON.stringify(project(real.body, n))}, fake ${JSON.stringify(project(fake.body, n))}`,
                    );
                }
            }
            assert.deepEqual(api.docker.unknown, []);
        } finally {
            await api.close();
        }
        assert.deepEqual(problems, []);
    });
});
