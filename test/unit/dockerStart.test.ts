// Starting a container through the host layer (host/docker.ts) when a swarm
// manager races the attachment to an overlay: the engine's answers that a
// second try gets past are tried again (the start then succeeds, once), and
// every other failure is reported at once, with the engine's words. Served
// by the fake Docker Engine API with injected answers; the real race is met
// by test/multihost/swarm.test.ts.

import * as assert from "node:assert/strict";
import { createContainer, inspectContainer, startContainer } from "../../components/src/host/docker";
import { DockerApiError } from "../../components/src/host/errors";
import type { Operation } from "../fakes/faults";
import { FakeHost, World } from "../fakes/world";

const isStart = (op: Operation) => op.layer === "docker" && op.method === "POST" && /^\/containers\/[^/]+\/start$/.test(op.path ?? "");

describe("host layer: a container start racing a swarm overlay's attachment", function () {
    this.timeout(20000);
    let host: FakeHost;
    let world: World;

    before(async () => {
        host = await FakeHost.start();
    });
    after(async () => {
        await host.stop();
    });

    async function created(name: string): Promise<string> {
        world = host.world();
        return createContainer({ name, image: "hostnet/busybox:1", command: ["sleep", "3600"], labels: {}, networkMode: "none" });
    }

    const starts = () => world.faults.log.filter(isStart).length;

    for (const [why, status, message] of [
        ["the engine had not made the overlay yet: 404 network <id> not found", 404, "network 996pptwsp6ur4zg8zmkj37nr6 not found"],
        [
            "the manager did not hand out the attachment in time: 500 context deadline exceeded",
            500,
            "attaching to network failed, make sure your network options are correct and check manager logs: context deadline exceeded",
        ],
    ] as const) {
        it(`${why}: tried again, the container runs after the second start`, async () => {
            const id = await created(`race-${status}`);
            world.faults.where(isStart, { kind: "fail", status, message });
            await startContainer(id);
            assert.equal(starts(), 2, "two starts");
            assert.equal((await inspectContainer(id))?.State.Running, true);
        });
    }

    it("the race every time: three starts, then the engine's words", async () => {
        const id = await created("race-always");
        world.faults.where(isStart, { kind: "fail", status: 404, message: "network 996pptwsp6ur4zg8zmkj37nr6 not found" }, false);
        await assert.rejects(startContainer(id), (err: Error) => {
            assert.ok(err instanceof DockerApiError, err.constructor.name);
            assert.match(err.message, /start container .*network 996pptwsp6ur4zg8zmkj37nr6 not found/);
            return true;
        });
        assert.equal(starts(), 3);
        assert.equal((await inspectContainer(id))?.State.Running, false);
    });

    for (const [what, status, message] of [
        ["no such container", 404, "No such container: abc"],
        ["another 500", 500, "driver failed programming external connectivity on endpoint x: port is already allocated"],
    ] as const) {
        it(`${what}: reported after one start, not tried again`, async () => {
            const id = await created(`other-${status}-${what.length}`);
            world.faults.where(isStart, { kind: "fail", status, message });
            await assert.rejects(startContainer(id), new RegExp(message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
            assert.equal(starts(), 1);
        });
    }
});
