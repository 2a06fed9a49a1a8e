// What each `docker run --net` mode refuses: the one table. The program side
// reads it to fail a preview at once when a Container component is passed to
// something its mode cannot take; the engine side reads it against the mode a
// running container really has.
//
// Common: pure, used by both the program and the engine.

/** A container's network mode, as the library's Container declares it. */
export type NetMode = "none" | "bridge" | "host" | "container" | "networks";

/** What a container, by its mode, may be asked to take part in. */
export type ModeUse =
    "ports" | "vethAttachment" | "macvlanAttachment" | "vethLink" | "networkAttachment" | "containerTarget" | "policyEndpoint" | "probe";

const NO_NAMESPACE = "it has no network namespace of its own: its interfaces are the host's";
const SHARED_NAMESPACE = "it shares another container's network namespace";

/** Why a mode cannot take a use; absent means it can. */
const REFUSALS: Record<ModeUse, Partial<Record<NetMode, string>>> = {
    ports: {
        host: "the container uses the host's ports directly",
        container: `${SHARED_NAMESPACE}; publish the ports on that container`,
    },
    vethAttachment: {
        host: NO_NAMESPACE,
        container: `${SHARED_NAMESPACE}; attach to that container instead`,
    },
    macvlanAttachment: {
        host: NO_NAMESPACE,
        container: `${SHARED_NAMESPACE}; attach to that container instead`,
    },
    vethLink: {
        host: NO_NAMESPACE,
        container: `${SHARED_NAMESPACE}; link that container instead`,
    },
    networkAttachment: {
        host: NO_NAMESPACE,
        container: `${SHARED_NAMESPACE}; connect that container instead`,
        none: "Docker does not connect a --net=none container to networks; give it a VethAttachment instead",
    },
    containerTarget: {
        host: "it has no network namespace of its own to share; use network mode host instead",
        container: `${SHARED_NAMESPACE}; share the namespace of the container it names instead`,
    },
    policyEndpoint: {
        host: `${NO_NAMESPACE}, so the host does not forward its traffic and a Policy cannot filter it; name the host's addresses (a CIDR) or a bridge instead`,
    },
    // A probe runs in whatever namespace the container has: the host's for --net=host, the target's for container:.
    probe: {},
};

/** The reason `mode` cannot take `use`, or undefined when it can. */
export function modeRefusal(use: ModeUse, mode: NetMode): string | undefined {
    return REFUSALS[use][mode];
}

/**
 * The mode of a Docker `HostConfig.NetworkMode` value: `container:<id>` is
 * container, `default` is bridge, a network's name is networks.
 */
export function netModeOf(dockerMode: string): NetMode {
    if (dockerMode === "none" || dockerMode === "host" || dockerMode === "bridge") return dockerMode;
    if (dockerMode === "default") return "bridge";
    if (dockerMode.startsWith("container:")) return "container";
    return "networks";
}

/**
 * The message for published ports on a mode that cannot take them, or
 * undefined. `shown` is the mode as the user wrote it (e.g. `container:db`).
 */
export function portsRefusal(mode: NetMode, shown: string = mode): string | undefined {
    const why = modeRefusal("ports", mode);
    return why && `\`ports\` cannot be published with network mode ${shown}: ${why}; remove \`ports\``;
}

/**
 * The one wording of a container, given in `field`, whose network mode
 * cannot take `use` (by the table above), on both sides: the program's check
 * of a Container it declares (no `name`: "the container") and the engine's
 * of a container as Docker reports it (`shown`: the mode as Docker shows it,
 * e.g. `container:<id>`; `name`: the container's). Undefined when it can:
 * "`container`: container "web" uses network mode host: <why>".
 */
export function containerModeRefusal(use: ModeUse, field: string, mode: NetMode, shown: string = mode, name?: string): string | undefined {
    const why = modeRefusal(use, mode);
    return why && `\`${field}\`: ${name === undefined ? "the container" : `container "${name}"`} uses network mode ${shown}: ${why}`;
}
