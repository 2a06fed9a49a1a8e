// Starting a container (components/src/host/docker.ts startContainer) against
// the fake Docker Engine API: the answers a settling swarm gives (a manager's
// attachment deadline, a worker that has not yet got the overlay) are tried
// again and get past; anything else fails at the first answer; a settling
// answer that lasts fails with the engine's own message after four starts.
// The real case, a worker that joined moments before, is in
// test/multihost/swarm.test.ts.

import * as assert from "node:assert/strict";
import { DockerApiError } from "../../components/src/host/errors";
import { startContainer } from "../../components/src/host/docker";
import { FakeHost, World } from "../fakes/world";

describe("starting a container while a swarm settles (fake Docker Engine API)", function () {
    this.timeout(20_000);
    let host: FakeHost;
    let w: World;
    let id: string;

    before(async () => {
        host = await FakeHost.start();
    });
    after(async () => {
        await host.stop();
    });
    beforeEach(() => {
        w = host.world();
        id = w.docker.run("starter").Id;
        w.faults.resetLog();
    });

    const starts = () => w.faults.log.filter((op) => op.text === `POST /containers/${id}/start`).length;

    for (const [what, status, message] of [
        ["a worker that has not yet got the overlay", 404, "network 8as4wnvmfkcb6jo32mbo790wl not found"],
        [
            "a manager past its attachment deadline",
            500,
            "attaching to network failed, make sure your network options are correct and check manager logs: context deadline exceeded",
        ],
    ] as const) {
        it(`${what}: started at the next try`, async () => {
            w.faults.where((op) => op.text === `POST /containers/${id}/start`, { kind: "fail", status, message });
            await startContainer(id);
            assert.equal(starts(), 2);
        });

        it(`${what}, lasting: fails with the engine's message after four starts`, async () => {
            w.faults.where((op) => op.text === `POST /containers/${id}/start`, { kind: "fail", status, message }, false);
            await assert.rejects(startContainer(id), (err: unknown) => {
                assert.ok(err instanceof DockerApiError, String(err));
                assert.match(String((err as Error).message), new RegExp(`failed to start container "${id}"`));
                assert.ok(String((err as Error).message).includes(message), String((err as Error).message));
                return true;
            });
            assert.equal(starts(), 4);
        });
    }

    for (const [what, status, message] of [
        ["no such container", 404, "No such container: starter"],
        [
            "a port taken",
            500,
            "driver failed programming external connectivity on endpoint starter: Bind for 0.0.0.0:80 failed: port is already allocated",
        ],
    ] as const) {
        it(`${what}: fails at the first answer`, async () => {
            w.faults.where((op) => op.text === `POST /containers/${id}/start`, { kind: "fail", status, message });
            await assert.rejects(startContainer(id), DockerApiError);
            assert.equal(starts(), 1);
        });
    }
});
