// The DockerContainer provider's methods against the real Docker engine,
// read back with `docker inspect`.

import * as assert from "node:assert/strict";
import {
    DockerContainerInputs,
    DockerContainerOutputs,
    dockerContainerProvider as provider,
} from "../../components/providers/dockerContainer";
import { dockerInspect, RUN_OWNER, sh, startTestContainer, sweepRun, uniqueSuffix } from "../helpers/host";

describe("DockerContainer provider on the real Docker engine", function () {
    const sfx = uniqueSuffix();
    const inputs = (over: Partial<DockerContainerInputs> = {}): DockerContainerInputs => ({
        name: `hnt-dc-${sfx}`,
        image: "hostnet/busybox:1",
        command: ["sleep", "2147483647"],
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

        it("create runs the container with --net=none, the user's labels and the owner mark", async () => {
            const created = await provider.create!(inputs());
            id = created.id;
            outs = created.outs;
            const c = await dockerInspect(id);
            assert.equal(c.Name, `/hnt-dc-${sfx}`);
            assert.equal(c.State.Running, true);
            assert.equal(c.HostConfig.NetworkMode, "none");
            assert.deepEqual(c.Config.Cmd, ["sleep", "2147483647"]);
            assert.equal(c.Config.Labels.team, "net");
            assert.equal(c.Config.Labels["io.hostnet.owner"], `${RUN_OWNER}dc-${sfx}`);
        });

        it("read matches create when nothing drifted", async () => {
            const read = await provider.read!(id, outs);
            assert.deepEqual(read, { id, props: outs });
            assert.equal((await provider.diff!(id, read.props, inputs())).changes, false);
        });

        it("a container stopped by hand is seen by read and started again by update, keeping its id", async () => {
            await sh(["docker", "kill", id]);
            const read = await provider.read!(id, outs);
            assert.equal(read.props.running, false);
            const diff = await provider.diff!(id, read.props, inputs());
            assert.equal(diff.changes, true);
            assert.deepEqual(diff.replaces, []);
            await provider.update!(id, read.props, inputs());
            const c = await dockerInspect(id);
            assert.equal(c.State.Running, true);
            assert.equal(c.Id, id);
        });

        it("image, command, network mode and labels replace", async () => {
            const cases: [keyof DockerContainerInputs, unknown][] = [
                ["image", "hostnet/other:1"],
                ["command", ["sleep", "1"]],
                ["networkMode", "host"],
                ["labels", { team: "other" }],
            ];
            for (const [field, value] of cases) {
                const diff = await provider.diff!(id, outs, { ...inputs(), [field]: value });
                assert.deepEqual(diff.replaces, [field], String(field));
            }
        });

        it("delete removes it; deleting again succeeds; read reports it gone", async () => {
            await provider.delete!(id, outs);
            assert.equal(await dockerInspect(id), undefined);
            await provider.delete!(id, outs);
            assert.deepEqual(await provider.read!(id, outs), {});
        });
    });

    it("never removes a container it did not make", async () => {
        const foreign = `hnt-fc-${sfx}`;
        const id = await startTestContainer(foreign);
        await provider.delete!(id, { ...inputs(), containerId: id, running: true });
        assert.equal((await dockerInspect(id))?.State.Running, true);
        assert.deepEqual(await provider.read!(id, { ...inputs(), containerId: id, running: true }), {});
    });

    it("refuses a missing image and a taken name, creating nothing", async () => {
        await assert.rejects(provider.create!(inputs({ image: "hostnet/absent:1" })), {
            message: `failed to create container "hnt-dc-${sfx}": image "hostnet/absent:1" is not present locally and no registry is used; build or import it first (scripts/make-image.sh makes hostnet/busybox:1)`,
        });
        assert.equal(await dockerInspect(`hnt-dc-${sfx}`), undefined);
        await assert.rejects(provider.create!(inputs({ name: `hnt-fc-${sfx}` })), {
            message: `failed to create container "hnt-fc-${sfx}": a container of that name already exists (not made by this library); choose another \`name\``,
        });
    });
});
