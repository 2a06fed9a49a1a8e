// Names and ownership marks of what the library creates on the host.
//
// Everything carries two marks: a name prefix (`hn-`) a person can see in
// `ip link` or `docker ps`, and an exact owner mark (the interface alias, the
// container label) that names the stack and resource. Delete and refresh act
// only on objects whose owner mark matches, never on a name alone.
//
// Common: pure, used by both the program and the engine.

import { createHash } from "node:crypto";

/** Prefix of every interface and container name the library derives. */
export const NAME_PREFIX = "hn-";
/** Docker label holding the owner mark of containers and networks. */
export const OWNER_LABEL = "io.hostnet.owner";
/** Kernel limit on interface names (IFNAMSIZ - 1). */
export const MAX_IFNAME_LENGTH = 15;

/** Who a resource is: its project, stack, resource type and name, and the host it lives on. */
export interface ResourceIdentity {
    project: string;
    stack: string;
    type: string;
    name: string;
    /** The host's name for a resource on another machine; absent for this machine. */
    host?: string;
}

/**
 * The owner mark of a resource: `hostnet/<project>/<stack>/<type>/<name>`, e.g.
 * `hostnet/hostnet/dev/VethAttachment/seed-eth0`, and for a resource on
 * another host `hostnet@<host>/<project>/...` (marks of this machine's
 * resources are unchanged, so existing stacks see no replacement). Stored as
 * interface aliases and as Docker labels; an alias holds at most 255 bytes,
 * so very long marks are shortened to a hash. The type keeps a Bridge and a
 * VethAttachment of the same name apart.
 */
export function ownerMark(id: ResourceIdentity): string {
    const root = id.host === undefined ? "hostnet" : `hostnet@${id.host}`;
    const mark = `${root}/${id.project}/${id.stack}/${id.type}/${id.name}`;
    return Buffer.byteLength(mark) <= 255 ? mark : `${root}/sha256:${shortHash(mark, 40)}`;
}

/**
 * The default host-side veth name: stable for a given owner mark, at most 15
 * characters, readable where possible: `hn-<up to 5 chars of name>-<6 hex>`,
 * e.g. owner `.../seed-eth0` -> `hn-seede-1a2b3c`.
 */
export function defaultHostIfName(owner: string, name: string): string {
    const readable = name
        .toLowerCase()
        .replace(/[^a-z0-9]/g, "")
        .slice(0, 5);
    if (readable === "") {
        return NAME_PREFIX + shortHash(owner, MAX_IFNAME_LENGTH - NAME_PREFIX.length);
    }
    return `${NAME_PREFIX}${readable}-${shortHash(owner, 6)}`;
}

/**
 * The owner mark as an nftables comment (a table's), which holds at most 128
 * bytes and no quotes: the mark itself when it fits, else
 * `hostnet/sha256:<40 hex>` of it (still exactly one resource's).
 */
export function nftMark(owner: string): string {
    return Buffer.byteLength(owner) <= 128 && !/["\\\n]/.test(owner) ? owner : `hostnet/sha256:${shortHash(owner, 40)}`;
}

/**
 * The default nftables table of a resource: `hn_<stack>_<name>_<6 hex>`,
 * letters, digits and `_` only (readable in `nft list tables`; the hash of the
 * owner mark keeps two projects' tables apart), at most 64 characters.
 */
export function defaultTableName(owner: string, stack: string, name: string): string {
    const part = (t: string, n: number) =>
        t
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, "_")
            .replace(/^_+|_+$/g, "")
            .slice(0, n);
    return ["hn", part(stack, 24), part(name, 24), shortHash(owner, 6)].filter(Boolean).join("_");
}

/**
 * The name a link is made under before it is renamed to its final one in a
 * container's namespace: stable for the owner mark, so that one left by an
 * interrupted run is known as this resource's (nobody else derives it), and
 * unlike any name a person gives: `hn-t<11 hex>`. Kernels before 6.14 look
 * the new link's name up in the namespace the request comes from (the
 * host's), so making a macvlan straight under the name `eth0` fails there
 * whenever the host has an `eth0` (the CNI macvlan plugin does the same).
 */
export function temporaryIfName(owner: string): string {
    return `${NAME_PREFIX}t${shortHash(`${owner}#temporary`, MAX_IFNAME_LENGTH - NAME_PREFIX.length - 1)}`;
}

/**
 * The default Docker container or network name: `hn-<stack>-<name>`, with characters
 * Docker refuses replaced by `-`. e.g. stack `dev`, name `seed` -> `hn-dev-seed`.
 * Short on purpose (people type it in `docker exec`); two projects with the same
 * stack and resource names collide, and the second is refused with a message
 * naming the first's owner: set `name` then.
 */
export function defaultDockerName(stack: string, name: string): string {
    return `${NAME_PREFIX}${stack}-${name}`.replace(/[^a-zA-Z0-9_.-]/g, "-");
}

/**
 * The default MAC of an interface the library puts in a container: stable for
 * the owner mark and role (locally administered, unicast: `02:...`). A pair
 * recreated after a container restart keeps its MAC, so neighbours' ARP
 * caches stay right and traffic resumes at once.
 */
export function defaultMac(owner: string, role: string): string {
    const hex = shortHash(`${owner}#${role}`, 10);
    return `02:${hex.match(/../g)!.join(":")}`;
}

/**
 * The ifb device of a resource's bandwidth limit on what a container sends:
 * `hn-ifb-<8 hex>` (15 characters), from the MAC derived from the owner mark
 * for the role `ifb` (so that one made and not marked yet is known as the
 * resource's too).
 */
export function ifbName(owner: string): string {
    return `hn-ifb-${defaultMac(owner, "ifb").replace(/:/g, "").slice(2, 10)}`;
}

/**
 * True when an interface carries no owner mark but the MAC the library derives
 * from `owner` for `role`: this resource made it and was stopped before it
 * marked it. The MAC is set by the same kernel operation that makes the
 * interface; the alias (the mark) takes a second one, and a run killed in
 * between leaves such an interface, which is then as much this resource's as
 * a marked one (nobody else derives that MAC).
 */
export function markedByMac(link: { ifalias?: string; address?: string }, owner: string | undefined, role: string): boolean {
    return (
        typeof owner === "string" &&
        owner.startsWith("hostnet/") &&
        !link.ifalias &&
        link.address?.toLowerCase() === defaultMac(owner, role)
    );
}

/**
 * The mark of a Docker network connection, which carries no label: an extra
 * DNS alias on the connection, `hn-<12 hex>`, derived from the owner mark.
 */
export function connectionMark(owner: string): string {
    return `${NAME_PREFIX}${shortHash(owner, 12)}`;
}

function shortHash(text: string, length: number): string {
    return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/**
 * The refusal of a name that is taken: the one wording for interfaces,
 * containers and networks, at preview and at the start of create. `field`
 * is the input that chose the name (`hostIfName`, `a.ifName`); `where` what
 * holds it, e.g. `on the host`, `in container "web"`, `by another
 * container`; `mark` the holder's ownership mark when it was read (null: it
 * has none, not made by this library; undefined: not told).
 */
export function nameTakenMessage(field: string, name: string, where: string, mark?: string | null): string {
    const whose = mark === undefined ? "" : mark ? ` (owned by ${describeOwner(mark)})` : " (not made by this library)";
    const leaf = field.slice(field.lastIndexOf(".") + 1);
    return `\`${field}\` "${name}" is taken ${where}${whose}; choose another \`${leaf}\``;
}

/**
 * True when an object's mark (an interface alias, a container or network
 * label) is exactly this resource's owner mark. Never true for an unmarked
 * object, even when the owner is missing too: nothing unmarked is ours.
 */
export function isOwnedBy(mark: string | null | undefined, owner: string | undefined): boolean {
    // `hostnet/...` on this machine, `hostnet@<host>/...` on another.
    return typeof owner === "string" && /^hostnet(@[^/]+)?\//.test(owner) && mark === owner;
}

/** The parts of an owner mark, or undefined for a hashed or foreign mark. */
export function parseOwnerMark(mark: string | undefined): ResourceIdentity | undefined {
    const m = /^hostnet(?:@([^/]+))?\/([^/]+)\/([^/]+)\/([^/]+)\/(.+)$/.exec(mark ?? "");
    if (!m) return undefined;
    const id: ResourceIdentity = { project: m[2], stack: m[3], type: m[4], name: m[5] };
    if (m[1] !== undefined) id.host = m[1];
    return id;
}

/** True when both marks name resources of the same project and stack. */
export function sameStack(a: string | undefined, b: string | undefined): boolean {
    const x = parseOwnerMark(a);
    const y = parseOwnerMark(b);
    return x !== undefined && y !== undefined && x.project === y.project && x.stack === y.stack;
}

/** For people: `VethAttachment "seed-eth0" of stack dev` from an owner mark (or the mark itself). */
export function describeOwner(mark: string): string {
    const id = parseOwnerMark(mark);
    if (!id) return `"${mark}"`;
    return `${id.type} "${id.name}"${id.host === undefined ? "" : ` on host ${id.host}`} of stack ${id.project}/${id.stack}`;
}
