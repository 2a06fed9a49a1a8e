// Docker networks, containers on them, and connect/disconnect without
// recreation: the Network, DockerContainer and NetworkAttachment providers
// against the real Docker engine, read back with `docker inspect` and ping.

import * as assert from "node:assert/strict";
import { DockerContainerInputs } from "../../components/src/common/specs/dockerContainer";
import { dockerContainerProvider } from "../../components/src/engine/providers/dockerContainer";
import { NetworkInputs } from "../../components/src/common/specs/network";
import { networkProvider } from "../../components/src/engine/providers/network";
import { NetworkAttachmentOutputs } from "../../components/src/common/specs/networkAttachment";
import { networkAttachmentProvider } from "../../components/src/engine/providers/networkAttachment";
import { vethAttachmentProvider } from "../../components/src/engine/providers/vethAttachment";
import { dockerInspect, execPing, freePort, ipLink, ping, runByte, RUN_OWNER, sh, sweepRun, uniqueSuffix } from "../helpers/host";
import { forTests } from "../helpers/providers";
const containers = forTests(dockerContainerProvider);
const networks = forTests(networkProvider);
const attachments = forTests(networkAttachmentProvider);
const veths = forTests(vethAttachmentProvider);

async function networkInspect(id: string): Promise<any | undefined> {
    const r = await sh(["docker", "network", "inspect", id], { reject: false });
    return r.exitCode === 0 ? JSON.parse(r.stdout)[0] : undefined;
}

describe("Docker networks, containers on them, and attachments", function () {
    const sfx = uniqueSuffix();
    const net = runByte(3);
    const subnet = `10.241.${net}.0/24`;
    const at = (host: number) => `10.241.${net}.${host}`;
    let networkId: string;
    const netInputs = (over: Partial<NetworkInputs> = {}): NetworkInputs => ({
        name: `hnt-n-${sfx}`,
        subnet,
        gateway: at(1),
        bridgeName: `hnt-nb-${sfx}`,
        internal: false,
        icc: true,
        masquerade: true,
        mtu: 1450,
        labels: { purpose: "test" },
        owner: `${RUN_OWNER}net-${sfx}`,
        ...over,
    });
    const ctr = (name: string, over: Partial<DockerContainerInputs> = {}): DockerContainerInputs => ({
        name: `hnt-${name}-${sfx}`,
        image: "hostnet/busybox:1",
        command: ["sleep", "2147483647"],
        networkMode: networkId,
        labels: {},
        owner: `${RUN_OWNER}${name}-${sfx}`,
        ...over,
    });

    after(async () => {
        await sweepRun();
    });

    it("Network creates a labelled bridge network with the given subnet, bridge name and options", async () => {
        const created = await networks.create!(netInputs());
        networkId = created.id;
        const n = await networkInspect(networkId);
        assert.equal(n.Driver, "bridge");
        assert.deepEqual(n.IPAM.Config, [{ Subnet: subnet, Gateway: at(1) }]);
        assert.equal(n.Options["com.docker.network.bridge.name"], `hnt-nb-${sfx}`);
        assert.equal(n.Options["com.docker.network.driver.mtu"], "1450");
        assert.equal(n.Labels["io.hostnet.owner"], `${RUN_OWNER}net-${sfx}`);
        assert.equal(n.Labels.purpose, "test");
        assert.equal(n.Internal, false);
        assert.equal(n.Options["com.docker.network.bridge.enable_icc"], "true");
        assert.equal(n.Options["com.docker.network.bridge.enable_ip_masquerade"], "true");
        assert.equal(created.outs.bridge, `hnt-nb-${sfx}`);
        const bridge = await ipLink(`hnt-nb-${sfx}`);
        assert.equal(bridge?.linkinfo?.info_kind, "bridge", "Docker made the Linux bridge under the given name");
        assert.deepEqual((await networks.read!(networkId, created.outs)).props, created.outs);
        const diff = await networks.diff!(networkId, created.outs, netInputs({ subnet: `10.242.${net}.0/24`, gateway: `10.242.${net}.1` }));
        assert.deepEqual(diff.replaces, ["subnet", "gateway"]);
    });

    it("containers on it get their static addresses and reach each other by name and alias", async () => {
        await containers.create!(ctr("api", { networks: [{ network: networkId, ipv4Address: at(10), aliases: ["api"] }] }));
        await containers.create!(ctr("cli", { networks: [{ network: networkId, ipv4Address: at(11) }] }));
        const api = await dockerInspect(`hnt-api-${sfx}`);
        assert.equal(Object.values<any>(api.NetworkSettings.Networks)[0].IPAddress, at(10));
        assert.ok(await execPing(`hnt-cli-${sfx}`, "api"), "cli resolves and reaches api by alias");
        assert.ok(await execPing(`hnt-cli-${sfx}`, `hnt-api-${sfx}`), "and by container name");
    });

    it("a container on it is isolated from docker0's containers", async () => {
        const onDefault = await containers.create!(ctr("dflt", { networkMode: "bridge" }));
        const address = (await dockerInspect(onDefault.id)).NetworkSettings.Networks.bridge.IPAddress;
        assert.match(address, /^172\.17\./);
        assert.ok(await ping(address), "the docker0 container is up and answers the host");
        assert.ok(await execPing(`hnt-cli-${sfx}`, at(10)), "cli itself can ping (its own network)");
        assert.ok(!(await execPing(`hnt-cli-${sfx}`, address)), `cli must not reach ${address} on docker0`);
    });

    it("a VethAttachment can put a --net=none container on the network's Linux bridge", async () => {
        await containers.create!(ctr("veth", { networkMode: "none" }));
        const attached = await veths.create!({
            container: `hnt-veth-${sfx}`,
            bridge: `hnt-nb-${sfx}`,
            address: `${at(40)}/24`,
            defaultRoute: true,
            containerIfName: "eth0",
            hostIfName: `hnt-nv-${sfx}`,
            owner: `${RUN_OWNER}nveth-${sfx}`,
        });
        try {
            assert.equal((await ipLink(`hnt-nv-${sfx}`))?.master, `hnt-nb-${sfx}`);
            assert.equal(attached.outs.effectiveGateway, at(1), "the network's gateway is its bridge's address");
            assert.ok(await execPing(`hnt-cli-${sfx}`, at(40)), "a container on the network reaches it");
        } finally {
            await veths.delete!(attached.id, attached.outs);
        }
    });

    // Mocha runs a suite's own tests before its nested suites: this file stays flat, in order.
    let attachment: NetworkAttachmentOutputs;
    let attachmentId: string;
    let dfltId: string;

    it("NetworkAttachment connects a running docker0 container; its id and start time stay the same", async () => {
        const before = await dockerInspect(`hnt-dflt-${sfx}`);
        dfltId = before.Id;
        const created = await attachments.create!({
            container: `hnt-dflt-${sfx}`,
            network: networkId,
            ipv4Address: at(20),
            aliases: ["www"],
        });
        ({ id: attachmentId, outs: attachment } = created);
        const after = await dockerInspect(`hnt-dflt-${sfx}`);
        assert.equal(after.Id, dfltId);
        assert.equal(after.State.StartedAt, before.State.StartedAt);
        assert.equal(after.NetworkSettings.Networks[`hnt-n-${sfx}`].IPAddress, at(20));
        assert.ok(await execPing(`hnt-cli-${sfx}`, "www"));
        assert.deepEqual((await attachments.read!(attachmentId, attachment)).props, attachment);
    });

    it("NetworkAttachment: a new address is an in-place reconnect, same container", async () => {
        const next = { container: `hnt-dflt-${sfx}`, network: networkId, ipv4Address: at(21), aliases: ["www"] };
        const diff = await attachments.diff!(attachmentId, attachment, next);
        assert.deepEqual([diff.changes, diff.replaces], [true, []]);
        attachment = (await attachments.update!(attachmentId, attachment, next)).outs;
        const after = await dockerInspect(`hnt-dflt-${sfx}`);
        assert.equal(after.Id, dfltId);
        assert.equal(after.NetworkSettings.Networks[`hnt-n-${sfx}`].IPAddress, at(21));
    });

    it("NetworkAttachment: aliases change in place too", async () => {
        const next = { container: `hnt-dflt-${sfx}`, network: networkId, ipv4Address: at(21), aliases: ["web"] };
        attachment = (await attachments.update!(attachmentId, attachment, next)).outs;
        assert.ok(await execPing(`hnt-cli-${sfx}`, "web"));
        assert.ok(!(await execPing(`hnt-cli-${sfx}`, "www")), "the old alias is gone");
        assert.equal((await dockerInspect(`hnt-dflt-${sfx}`)).Id, dfltId);
    });

    it("NetworkAttachment: delete disconnects its own connection, and is idempotent", async () => {
        await attachments.delete!(attachmentId, attachment);
        const after = await dockerInspect(`hnt-dflt-${sfx}`);
        assert.equal(after.NetworkSettings.Networks[`hnt-n-${sfx}`], undefined);
        assert.equal(after.Id, dfltId);
        await attachments.delete!(attachmentId, attachment);
    });

    it("NetworkAttachment: a connection re-made by hand is not its own: refresh drops it, delete leaves it", async () => {
        const created = await attachments.create!({ container: `hnt-dflt-${sfx}`, network: networkId, ipv4Address: at(22) });
        await sh(["docker", "network", "disconnect", networkId, `hnt-dflt-${sfx}`]);
        await sh(["docker", "network", "connect", "--ip", at(22), networkId, `hnt-dflt-${sfx}`]);
        assert.deepEqual(await attachments.read!(created.id, created.outs), {});
        await attachments.delete!(created.id, created.outs);
        const after = await dockerInspect(`hnt-dflt-${sfx}`);
        assert.equal(after.NetworkSettings.Networks[`hnt-n-${sfx}`]?.IPAddress, at(22), "the hand-made connection stays");
        await sh(["docker", "network", "disconnect", networkId, `hnt-dflt-${sfx}`]);
    });

    it("NetworkAttachment refuses a connection that already exists, a none-mode container, a missing network", async () => {
        await assert.rejects(attachments.create!({ container: `hnt-api-${sfx}`, network: networkId }), {
            message: `failed to connect container "hnt-api-${sfx}" to network "${networkId}":\n  - container "hnt-api-${sfx}" is already connected to network hnt-n-${sfx} (not by this attachment); disconnect it first, or drop this attachment`,
        });
        await containers.create!(ctr("none", { networkMode: "none" }));
        await assert.rejects(attachments.create!({ container: `hnt-none-${sfx}`, network: networkId }), {
            message: `failed to connect container "hnt-none-${sfx}" to network "${networkId}":\n  - \`container\`: container "hnt-none-${sfx}" uses network mode none: Docker does not connect a --net=none container to networks; give it a VethAttachment instead`,
        });
        await assert.rejects(attachments.create!({ container: `hnt-api-${sfx}`, network: `hnt-absent-${sfx}` }), {
            message: `failed to connect container "hnt-api-${sfx}" to network "hnt-absent-${sfx}":\n  - \`network\` "hnt-absent-${sfx}" does not exist; create it first, or pass the Network resource that makes it`,
        });
    });

    it("Network refuses a name that is taken; with icc off, its containers cannot talk to each other", async () => {
        await assert.rejects(networks.create!(netInputs({ owner: `${RUN_OWNER}net2-${sfx}`, subnet: undefined, gateway: undefined })), {
            message: `failed to create network "hnt-n-${sfx}":\n  - \`name\` "hnt-n-${sfx}" is taken by another Docker network (owned by "${RUN_OWNER}net-${sfx}"); choose another \`name\``,
        });
        const quiet = await networks.create!(
            netInputs({
                name: `hnt-q-${sfx}`,
                subnet: `10.243.${net}.0/24`,
                gateway: `10.243.${net}.1`,
                bridgeName: `hnt-qb-${sfx}`,
                icc: false,
                mtu: undefined,
            }),
        );
        await containers.create!(ctr("q1", { networkMode: quiet.id, networks: [{ network: quiet.id, ipv4Address: `10.243.${net}.10` }] }));
        await containers.create!(ctr("q2", { networkMode: quiet.id, networks: [{ network: quiet.id, ipv4Address: `10.243.${net}.11` }] }));
        assert.ok(await execPing(`hnt-q1-${sfx}`, `10.243.${net}.1`), "q1 reaches its gateway");
        assert.ok(!(await execPing(`hnt-q1-${sfx}`, `10.243.${net}.11`)), "q1 cannot reach q2 with icc off");
    });

    it("DockerContainer joins and leaves extra networks in place, keeping its id", async () => {
        const second = await networks.create!(
            netInputs({
                name: `hnt-s-${sfx}`,
                subnet: `10.244.${net}.0/24`,
                gateway: `10.244.${net}.1`,
                bridgeName: `hnt-sb-${sfx}`,
                mtu: undefined,
            }),
        );
        const first = { network: networkId, ipv4Address: at(30) };
        const created = await containers.create!(
            ctr("two", { networks: [first, { network: second.id, ipv4Address: `10.244.${net}.30` }] }),
        );
        let c = await dockerInspect(created.id);
        assert.deepEqual(
            Object.values<any>(c.NetworkSettings.Networks)
                .map((e) => e.IPAddress)
                .sort(),
            [at(30), `10.244.${net}.30`].sort(),
        );
        const fewer = ctr("two", { networks: [first] });
        const diff = await containers.diff!(created.id, created.outs, fewer);
        assert.deepEqual([diff.changes, diff.replaces], [true, []]);
        const updated = await containers.update!(created.id, created.outs, fewer);
        c = await dockerInspect(created.id);
        assert.deepEqual(
            Object.values<any>(c.NetworkSettings.Networks).map((e) => e.IPAddress),
            [at(30)],
        );
        assert.equal(c.Id, created.id);
        assert.equal((await containers.diff!(created.id, (await containers.read!(created.id, updated.outs)).props, fewer)).changes, false);
        const diffUnknown = await containers.diff!(
            created.id,
            updated.outs,
            ctr("two", { networks: [first, { network: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }] }),
        );
        assert.deepEqual(diffUnknown.replaces, ["networks"], "a network being replaced takes its containers along");
        await containers.delete!(created.id, updated.outs);
        await networks.delete!(second.id, second.outs);
    });

    it("DockerContainer changes its restart policy in place, without a restart", async () => {
        const created = await containers.create!(ctr("multi", { networkMode: "bridge", restartPolicy: "no" }));
        const before = await dockerInspect(created.id);
        const next = ctr("multi", { networkMode: "bridge", restartPolicy: "on-failure:3" });
        let diff = await containers.diff!(created.id, created.outs, next);
        assert.deepEqual([diff.changes, diff.replaces], [true, []]);
        const updated = await containers.update!(created.id, created.outs, next);
        const after = await dockerInspect(created.id);
        assert.deepEqual(after.HostConfig.RestartPolicy, { Name: "on-failure", MaximumRetryCount: 3 });
        assert.equal(after.State.StartedAt, before.State.StartedAt, "not restarted");
        diff = await containers.diff!(created.id, (await containers.read!(created.id, updated.outs)).props, next);
        assert.equal(diff.changes, false, "no perpetual diff after refresh");
    });

    it("published ports answer on 127.0.0.1, and ports cannot be combined with host mode", async () => {
        const port = await freePort();
        await containers.create!(
            ctr("web", {
                networkMode: "bridge",
                command: ["sh", "-c", "echo hello-from-web > /var/www/index.html && exec httpd -f -p 80 -h /var/www"],
                ports: [`127.0.0.1:${port}:80/tcp`],
            }),
        );
        let body = "";
        for (let i = 0; i < 20 && !body.includes("hello-from-web"); i++) {
            body = await fetch(`http://127.0.0.1:${port}/`)
                .then((r) => r.text())
                .catch(() => "");
            if (!body) await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(body.trim(), "hello-from-web");
        const check = await containers.check!({}, ctr("hostweb", { networkMode: "host", ports: ["8080:80"] }));
        assert.deepEqual(check.failures, [
            {
                property: "ports",
                reason: "`ports` cannot be published with network mode host: the container uses the host's ports directly; remove `ports`",
            },
        ]);
    });

    it("a Network still in use is not removed behind its containers' backs; once free, delete removes it", async () => {
        const outs = { ...netInputs(), networkId, bridge: `hnt-nb-${sfx}` };
        await assert.rejects(networks.delete!(networkId, outs), {
            message: `failed to remove Docker network "hnt-n-${sfx}" (and its bridge hnt-nb-${sfx}): containers "hnt-api-${sfx}", "hnt-cli-${sfx}" are still connected; disconnect them (or remove the resources that connected them) first`,
        });
        await sh(["docker", "rm", "-f", `hnt-api-${sfx}`, `hnt-cli-${sfx}`]);
        await networks.delete!(networkId, outs);
        assert.equal(await networkInspect(networkId), undefined);
        await networks.delete!(networkId, outs);
    });
});
