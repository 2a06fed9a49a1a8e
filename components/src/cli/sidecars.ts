// `container:` sidecars left in an orphaned network namespace.
//
// A container run with `--net=container:<target>` joins the target's network
// namespace when it starts, and keeps that namespace for its whole life. When
// the target restarts, the target gets a NEW namespace; the sidecar stays in
// the old one, which lives on only because the sidecar holds it: whatever the
// target's interfaces now are (a re-made veth attachment, Docker's endpoints),
// the sidecar does not see them. Docker still shows `container:<target id>`
// and reports nothing. Restarting the sidecar makes it join the target again.
//
// CLI side: reads the host through the host layer; changes nothing.

import { OWNER_LABEL } from "../common/naming";
import { inspectContainer } from "../host/docker";
import { listContainers } from "../host/dockerEvents";
import { netnsOf } from "../host/netns";

export interface OrphanedSidecar {
    /** The sidecar's Docker name and id. */
    name: string;
    id: string;
    /** Its owner mark (`hostnet/<project>/<stack>/DockerContainer/<name>`). */
    owner: string;
    /** The container whose namespace it was started in. */
    target: { name: string; id: string; running: boolean };
    /** The namespace the sidecar is in, and the target's now (undefined when the target is not running). */
    sidecarNetns: string;
    targetNetns?: string;
}

const name = (n: string) => n.replace(/^\//, "");

/**
 * The running containers whose owner mark starts with `ownerPrefix`, run with
 * `--net=container:<target>`, that are not in their target's network
 * namespace any more (the target restarted, or is stopped).
 */
export async function orphanedSidecars(ownerPrefix: string): Promise<OrphanedSidecar[]> {
    const orphans: OrphanedSidecar[] = [];
    for (const s of await listContainers(OWNER_LABEL)) {
        const owner = s.Labels?.[OWNER_LABEL] ?? "";
        if (!owner.startsWith(ownerPrefix) || !s.HostConfig.NetworkMode.startsWith("container:")) continue;
        const sidecar = await inspectContainer(s.Id);
        if (!sidecar?.State.Running) continue;
        const sidecarNetns = await netnsOf(sidecar.State.Pid);
        if (!sidecarNetns) continue; // exited meanwhile
        const targetRef = sidecar.HostConfig.NetworkMode.slice("container:".length);
        const target = await inspectContainer(targetRef);
        const targetNetns = target?.State.Running ? await netnsOf(target.State.Pid) : undefined;
        if (targetNetns === sidecarNetns) continue;
        orphans.push({
            name: name(sidecar.Name),
            id: sidecar.Id,
            owner,
            target: { name: target ? name(target.Name) : targetRef, id: target?.Id ?? targetRef, running: !!target?.State.Running },
            sidecarNetns,
            targetNetns,
        });
    }
    return orphans;
}

/** One line saying what is wrong with an orphaned sidecar and what to do. */
export function describeOrphan(o: OrphanedSidecar): string {
    const why = o.target.running
        ? `its target "${o.target.name}" restarted, so it is left in the target's old network namespace (${o.sidecarNetns}, the target is in ${o.targetNetns})`
        : `its target "${o.target.name}" is not running, so it is left alone in the target's old network namespace (${o.sidecarNetns})`;
    const fix = o.target.running
        ? `restart it to join the target again: \`docker restart ${o.name}\``
        : `start "${o.target.name}", then restart the sidecar: \`docker restart ${o.name}\``;
    return `container:-sidecar "${o.name}" (${o.owner}) has lost its network: ${why}; ${fix}`;
}
