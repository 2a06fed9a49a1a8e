// The DockerContainer provider's methods against the real Docker engine,
// read back with `docker inspect`. Every test sits in a nested suite so that
// they run in the order written.

import * as assert from "node:assert/strict";
import { DockerContainerInputs, DockerContainerOutputs } from "../../components/src/common/specs/dockerContainer";
import { dockerContainerProvider } from "../../components/src/engine/providers/dockerContainer";
import { dockerInspect, freePort, RUN, RUN_OWNER, sh, startTestContainer, sweepRun, uniqueSuffix } from "../helpers/host";
import { forTests } from "../helpers/providers";
const provider = forTests(dockerContainerProvider);

describe("DockerContainer provider on the real Docker engine", function () {
    const sfx = uniqueSuffix();
    const inputs = (over: Partial<DockerContainerInputs> = {}): DockerContainerInputs => ({
        name: `hnt-dc-${sfx}`,
        image: "hostnet/busybox:1",
        command: ["sleep", "2147483647"],
        env: ["GREETING=hello"],
        networkMode: "none",
        labels: { team: "net" },
        owner: `${RUN_OWNER}dc-${sfx}`,
        ...over,
    });

    after(async () => {
        await sweepRun();
    });

    describe("create -> read -> stopped by hand -> update -> delete", () => {
        let outs: DockerContainerOutputs;
        let id: string;

        it("create runs the container with --net=none, the user's env and labels, and the owner mark", async () => {
            const created = await provider.create!(inputs());
            id = created.id;
            outs = created.outs;
            const c = await dockerInspect(id);
            assert.equal(c.Name, `/hnt-dc-${sfx}`);
            assert.equal(c.State.Running, true);
            assert.equal(c.HostConfig.NetworkMode, "none");
            assert.deepEqual(c.Config.Cmd, ["sleep", "2147483647"]);
            assert.ok(c.Config.Env.includes("GREETING=hello"));
            assert.equal(c.Config.Labels.team, "net");
            assert.equal(c.Config.Labels["io.hostnet.owner"], `${RUN_OWNER}dc-${sfx}`);
            assert.equal((await sh(["docker", "exec", id, "sh", "-c", "echo $GREETING"])).stdout.trim(), "hello");
        });

        it("read matches create when nothing drifted, though Docker adds the image's labels", async () => {
            assert.equal((await dockerInspect(id)).Config.Labels["io.hostnet.owned"], "true", "the image's own label is there");
            const read = await provider.read!(id, outs);
            assert.deepEqual(read, { id, props: outs });
            assert.equal((await provider.diff!(id, read.props, inputs())).changes, false);
        });

        it("a container stopped by hand is seen by read and started again by update, keeping its id", async () => {
            await sh(["docker", "kill", id]);
            const read = await provider.read!(id, outs);
            assert.equal(read.props.running, false);
            const diff = await provider.diff!(id, read.props, inputs());
            assert.deepEqual([diff.changes, diff.replaces], [true, []]);
            await provider.update!(id, read.props, inputs());
            const c = await dockerInspect(id);
            assert.equal(c.State.Running, true);
            assert.equal(c.Id, id);
        });

        it("image, command, env, network mode, ports and labels replace", async () => {
            const cases: [keyof DockerContainerInputs, unknown][] = [
                ["image", "hostnet/other:1"],
                ["command", ["sleep", "1"]],
                ["env", ["GREETING=bye"]],
                ["networkMode", "host"],
                ["ports", ["8080:80"]],
                ["labels", { team: "other" }],
            ];
            for (const [field, value] of cases) {
                const diff = await provider.diff!(id, outs, { ...inputs(), [field]: value });
                assert.deepEqual(diff.replaces, [field], String(field));
            }
        });

        it("a new address or aliases on the first network replace; that network found disconnected is joined in place", async () => {
            const net = "hnt-net-diff";
            const first = { network: net, ipv4Address: "10.199.0.5", aliases: ["api"] };
            const olds = { ...outs, networkMode: net, networks: [first, { network: "other", ipv4Address: "10.198.0.5" }] };
            const news = (over: object) => ({ ...inputs(), networkMode: net, networks: [{ ...first, ...over }, olds.networks[1]] });
            assert.deepEqual((await provider.diff!(id, olds, news({ ipv4Address: "10.199.0.6" }))).replaces, ["networks"]);
            assert.deepEqual((await provider.diff!(id, olds, news({ aliases: ["api", "www"] }))).replaces, ["networks"]);
            const later = await provider.diff!(id, olds, {
                ...news({}),
                networks: [first, { network: "other", ipv4Address: "10.198.0.6" }],
            });
            assert.deepEqual([later.changes, later.replaces], [true, []], "a later network changes in place");
            const disconnected = await provider.diff!(id, { ...olds, networks: [olds.networks[1]] }, news({}));
            assert.deepEqual(
                [disconnected.changes, disconnected.replaces],
                [true, []],
                "a disconnected first network is joined again in place",
            );
        });

        it("delete removes it; deleting again succeeds; read reports it gone", async () => {
            await provider.delete!(id, outs);
            assert.equal(await dockerInspect(id), undefined);
            await provider.delete!(id, outs);
            assert.deepEqual(await provider.read!(id, outs), {});
        });
    });

    describe("container:<name> and refusals", () => {
        it("container:<name> is not drift once Docker stores the target's id; a new target is", async () => {
            const target = `hnt-dt-${sfx}`;
            await startTestContainer(target);
            const created = await provider.create!(inputs({ name: `hnt-ds-${sfx}`, networkMode: `container:${target}` }));
            const stored = (await dockerInspect(created.id)).HostConfig.NetworkMode;
            assert.match(stored, /^container:[0-9a-f]{64}$/, "Docker stores the id");
            assert.equal((await provider.read!(created.id, created.outs)).props.networkMode, `container:${target}`);
            await sh(["docker", "rm", "-f", target]);
            await startTestContainer(target);
            assert.equal(
                (await provider.read!(created.id, created.outs)).props.networkMode,
                stored,
                "the name now means another container",
            );
            await provider.delete!(created.id, created.outs);
        });

        it("never removes a container it did not make", async () => {
            const foreign = `hnt-fc-${sfx}`;
            const id = await startTestContainer(foreign);
            const props = { ...inputs(), containerId: id, running: true };
            await provider.delete!(id, props);
            assert.equal((await dockerInspect(id))?.State.Running, true);
            assert.deepEqual(await provider.read!(id, props), {});
        });

        it("refuses a missing image and a taken name, creating nothing", async () => {
            await assert.rejects(provider.create!(inputs({ image: "hostnet/absent:1" })), {
                message: `failed to create container "hnt-dc-${sfx}":\n  - \`image\` "hostnet/absent:1" is not present locally and no registry is used; build or import it first (the project's scripts/make-image.sh makes hostnet/busybox:1)`,
            });
            assert.equal(await dockerInspect(`hnt-dc-${sfx}`), undefined);
            await assert.rejects(provider.create!(inputs({ name: `hnt-fc-${sfx}` })), {
                message: `failed to create container "hnt-fc-${sfx}":\n  - \`name\` "hnt-fc-${sfx}" is taken by another container (not made by this library); choose another \`name\``,
            });
        });

        it("the preview refuses the same problems, with the field named, before anything is made", async () => {
            const checked = await provider.check(
                {},
                inputs({ name: `hnt-fc-${sfx}`, image: "hostnet/absent:1", owner: `${RUN_OWNER}pv-${sfx}` }),
            );
            assert.deepEqual(
                checked.failures?.map((f) => f.property),
                ["name", "image"],
            );
        });

        it("a container marked as this resource's (left by an interrupted run) is made again, not refused", async () => {
            const owner = `${RUN_OWNER}lo-${sfx}`;
            await sh([
                "docker",
                "create",
                "--name",
                `hnt-lo-${sfx}`,
                "--net",
                "none",
                "--label",
                `io.hostnet.owner=${owner}`,
                "hostnet/busybox:1",
                "sleep",
                "1",
            ]);
            const stale = (await dockerInspect(`hnt-lo-${sfx}`)).Id;
            const created = await provider.create(inputs({ name: `hnt-lo-${sfx}`, owner }));
            const c = await dockerInspect(`hnt-lo-${sfx}`);
            assert.notEqual(c.Id, stale, "the leftover was replaced");
            assert.equal(c.Id, created.id);
            assert.equal(c.State.Running, true);
            await provider.delete(created.id, created.outs);
        });

        it("a container that cannot start (its port is taken) is removed, not left behind", async () => {
            const port = await freePort();
            const holder = `hnt-ph-${sfx}`;
            await sh([
                "docker",
                "run",
                "-d",
                "--name",
                holder,
                "--label",
                `io.hostnet.test=${RUN}`,
                "-p",
                `127.0.0.1:${port}:80`,
                "hostnet/busybox:1",
                "sleep",
                "2147483647",
            ]);
            await assert.rejects(
                provider.create!(inputs({ name: `hnt-pt-${sfx}`, networkMode: "bridge", ports: [`127.0.0.1:${port}:80`] })),
                /failed to start container/,
            );
            assert.equal(await dockerInspect(`hnt-pt-${sfx}`), undefined);
        });
    });
});
