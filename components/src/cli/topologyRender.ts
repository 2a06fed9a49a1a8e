// The host's topology (topology.ts) as a person reads it: a text view that
// puts together what `brctl show`, `docker network ls`, `docker ps` and
// `ip -br addr` in each namespace would say, and a Graphviz diagram grouped
// by bridge. Objects a hostnet stack owns are marked with their stack and
// resource; foreign ones are shown plainly.
//
// Pure. Runs in the `hostnet` command-line tool.

import type { Bridge, Container, Interface, Owner, PeerRef, Topology } from "./topology";

/** `[dev/VethAttachment/seed-eth0]` for an owned object, `` for a foreign one. */
export function ownerText(owner: Owner | undefined): string {
    if (!owner) return "";
    return `[${owner.stack}/${owner.type}/${owner.name}]`;
}

function peerText(p: PeerRef | undefined): string {
    if (!p) return "";
    const where = p.namespace === "host" ? p.ifname : `${p.namespace}:${p.ifname}`;
    return `-> ${where}${p.addresses.length ? ` ${p.addresses.join(" ")}` : ""}`;
}

/** Rows as aligned columns (two spaces between them), each line indented by `indent`. */
export function table(rows: string[][], indent = ""): string[] {
    const widths: number[] = [];
    for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
    return rows.map((r) => (indent + r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ")).trimEnd());
}

/** The text view. */
export function renderText(t: Topology): string {
    const out: string[] = [];
    const owned = (o: Owner | undefined) => (o ? 1 : 0);
    const nOwned =
        t.bridges.reduce((n, b) => n + owned(b.owner), 0) +
        t.containers.reduce((n, c) => n + owned(c.owner), 0) +
        t.networks.reduce((n, x) => n + owned(x.owner), 0);
    out.push(
        `hostnet topology of ${t.host}${t.stack ? `, stack ${t.stack} only` : ""}: ${t.bridges.length} bridges, ${t.containers.length} containers, ` +
            `${t.networks.length} Docker networks, ${t.links.length} veth links between containers`,
        `[stack/Type/name] marks what a hostnet stack owns (${nOwned} of those bridges, containers and networks); unmarked objects were not made by hostnet.`,
    );
    if (t.dockerError) out.push(`Docker engine not read: ${t.dockerError}`);

    out.push("", "== Bridges (brctl show) ==");
    if (t.bridges.length === 0) out.push("(no bridges)");
    const bridgeRows: string[][] = [["bridge", "addresses", "state", "interfaces", "peer", "owner"]];
    for (const b of t.bridges) {
        const head = [b.name, b.addresses.join(" ") || "-", b.state];
        const note = [ownerText(b.owner), b.dockerNetwork ? `(Docker network ${b.dockerNetwork})` : ""].filter(Boolean).join(" ");
        if (b.ports.length === 0) bridgeRows.push([...head, "-", "", note]);
        b.ports.forEach((p, i) => {
            const row = [p.name, peerText(p.peer), [ownerText(p.owner), i === 0 ? note : ""].filter(Boolean).join(" ")];
            bridgeRows.push(i === 0 ? [...head, ...row] : ["", "", "", ...row]);
        });
    }
    if (t.bridges.length > 0) out.push(...table(bridgeRows));

    out.push("", "== Docker networks (docker network ls) ==");
    if (t.networks.length === 0) out.push(t.dockerError ? "(not read)" : "(no networks)");
    else {
        const rows = [["network id", "name", "driver", "subnet", "bridge", "containers", "owner"]];
        for (const n of t.networks) {
            rows.push([
                n.id.slice(0, 12),
                n.name,
                n.driver,
                [n.subnet, n.subnet6].filter(Boolean).join(" ") || "-",
                n.bridge ?? "-",
                n.containers.map((c) => [c.name, c.address, c.address6 ?? ""].join(" ").trim()).join(", ") || "-",
                ownerText(n.owner),
            ]);
        }
        out.push(...table(rows));
    }

    out.push("", "== Containers (docker ps -a) ==");
    if (t.containers.length === 0) out.push(t.dockerError ? "(not read)" : "(no containers)");
    else {
        const rows = [["name", "--net", "state", "addresses", "ports", "owner"]];
        for (const c of t.containers) {
            const addresses = [
                ...c.networks.flatMap((n) => [n.address, n.address6 ?? ""].filter(Boolean).map((a) => `${a} (${n.name})`)),
                ...c.interfaces
                    .filter((i) => i.kind !== "loopback" && !isDockerEndpoint(c, i))
                    .flatMap((i) => i.addresses.map((a) => `${a} (${i.name})`)),
            ];
            rows.push([
                c.name,
                c.mode,
                c.running ? "running" : "stopped",
                addresses.join(", ") || "-",
                c.ports.join(", ") || "-",
                ownerText(c.owner),
            ]);
        }
        out.push(...table(rows));
    }

    out.push("", "== Veth links between containers ==");
    if (t.links.length === 0) out.push("(none)");
    for (const l of t.links) {
        out.push(
            `${l.a.namespace}:${l.a.ifname} ${l.a.addresses.join(" ")} <-> ${l.b.namespace}:${l.b.ifname} ${l.b.addresses.join(" ")} ${ownerText(l.owner)}`.trimEnd(),
        );
    }

    out.push("", "== Addresses per namespace (ip -br addr) ==");
    for (const ns of t.namespaces) {
        const c = t.containers.find((x) => x.name === ns.name);
        out.push(ns.name === "host" ? "host" : `${ns.name} (--net=${c?.mode ?? "?"}, pid ${ns.pid})`);
        const rows = ns.interfaces.map((i) => [
            i.peer ? `${i.name}@${i.peer.namespace === "host" ? i.peer.ifname : `${i.peer.namespace}:${i.peer.ifname}`}` : i.name,
            i.state,
            i.addresses.join(" ") || "-",
            ownerText(i.owner),
        ]);
        out.push(...(rows.length ? table(rows, "  ") : ["  (no interfaces)"]));
    }
    for (const c of t.containers) {
        if (c.netMode === "host") out.push(`${c.name} (--net=host): the host's namespace, above`);
        else if (c.netMode === "container") out.push(`${c.name} (--net=${c.mode}): ${c.mode.slice("container:".length)}'s namespace`);
        else if (!c.running) out.push(`${c.name}: stopped, no namespace`);
    }
    return `${out.join("\n")}\n`;
}

/** An interface Docker made for an endpoint (its address is listed with the network already). */
function isDockerEndpoint(c: Container, i: Interface): boolean {
    return i.addresses.length > 0 && i.addresses.every((a) => c.networks.some((n) => n.address === a || n.address6 === a));
}

// ---- Graphviz ----

function esc(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function id(text: string): string {
    return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

const OWNED_FILL = "#dbeafe";
const OWNED_EDGE = "#1d4ed8";
const FOREIGN_FILL = "#f3f4f6";
const FOREIGN_EDGE = "#6b7280";
const FONT = "DejaVu Sans";
/** More containers than this on one bridge are drawn in columns, without an edge each. */
const COMPACT_ABOVE = 12;

function ownerRow(owner: Owner | undefined, span = 2): string {
    return owner
        ? `<tr><td colspan="${span}" align="left"><font point-size="8" color="${OWNED_EDGE}">${esc(ownerText(owner))}</font></td></tr>`
        : "";
}

function bridgeNode(b: Bridge, scope = ""): string {
    const rows = [
        `<tr><td align="left"><b>${esc(b.name)}</b>  <font point-size="8">bridge, ${esc(b.state)}</font></td></tr>`,
        ...b.addresses.map((a) => `<tr><td align="left">${esc(a)}</td></tr>`),
        b.dockerNetwork ? `<tr><td align="left"><font point-size="8">Docker network ${esc(b.dockerNetwork)}</font></td></tr>` : "",
        ownerRow(b.owner, 1),
    ];
    const fill = b.owner ? OWNED_FILL : FOREIGN_FILL;
    return `${id(`${scope}bridge:${b.name}`)} [label=<<table border="1" cellborder="0" cellspacing="0" cellpadding="3" bgcolor="${fill}">${rows.join("")}</table>>];`;
}

function portId(ifname: string): string {
    return `p_${ifname.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

/** `via` maps an interface name to the host end it hangs on, written into the node where no edge label says it. */
function containerNode(c: Container, via: Map<string, string> = new Map(), scope = ""): string {
    const fill = c.owner ? OWNED_FILL : FOREIGN_FILL;
    const rows = [
        `<tr><td colspan="2" align="left"><b>${esc(c.name)}</b>${c.running ? "" : "  <i>stopped</i>"}</td></tr>`,
        `<tr><td colspan="2" align="left"><font point-size="8">--net=${esc(c.mode)}</font></td></tr>`,
        ...c.interfaces
            .filter((i) => i.kind !== "loopback")
            .map(
                (i) =>
                    `<tr><td port="${portId(i.name)}" align="left">${esc(i.name)}</td><td port="${portId(i.name)}_e" align="left">${esc(i.addresses.join(" ") || "-")}</td></tr>` +
                    (via.has(i.name)
                        ? `<tr><td colspan="2" align="left"><font point-size="8">${esc(i.name)} on ${esc(via.get(i.name)!)}</font></td></tr>`
                        : ""),
            ),
        ...c.ports.map((p) => `<tr><td colspan="2" align="left"><font point-size="8">port ${esc(p)}</font></td></tr>`),
        ownerRow(c.owner),
    ];
    return `${id(`${scope}container:${c.name}`)} [label=<<table border="1" cellborder="0" cellspacing="0" cellpadding="3" bgcolor="${fill}">${rows.join("")}</table>>];`;
}

/** The diagram in the DOT language: one cluster per bridge, holding the bridge and the containers attached to it first. */
export function renderDot(t: Topology): string {
    const out: string[] = [
        "digraph hostnet {",
        `  graph [rankdir=LR, fontname="${FONT}", fontsize=11, labelloc=t, labeljust=l, nodesep=0.12, ranksep=0.5, newrank=true,`,
        `         label=${id(`hostnet topology of ${t.host}${t.stack ? `, stack ${t.stack}` : ""}`)}+"\\lblue: owned by a hostnet stack; thick line: veth link between containers; dashed: shared namespace\\l"];`,
        `  node [shape=plain, fontname="${FONT}", fontsize=10];`,
        `  edge [fontname="${FONT}", fontsize=8, arrowhead=none];`,
        ...dotBody(t),
        "}",
    ];
    return `${out.join("\n")}\n`;
}

/**
 * The statements that draw one host: its clusters and nodes, then its edges.
 * `scope` names several hosts apart in one diagram: node ids and cluster
 * names start with it (nothing for a diagram of one host).
 */
export function dotBody(t: Topology, scope = ""): string[] {
    const out: string[] = [];
    const nid = (text: string) => id(`${scope}${text}`);
    const byName = new Map(t.containers.map((c) => [c.name, c]));
    // Each container sits in the cluster of the first bridge one of its interfaces is on.
    const home = new Map<string, string>();
    for (const b of t.bridges) {
        for (const p of b.ports) {
            if (p.peer && byName.has(p.peer.namespace) && !home.has(p.peer.namespace)) home.set(p.peer.namespace, b.name);
        }
    }
    // A bridge with many containers lays them out in columns, joined to it by invisible edges, and each
    // container names its host end itself: one column of a hundred would be a strip no one can read.
    const compact = new Map<string, Map<string, number>>();
    t.bridges.forEach((b, i) => {
        const members = t.containers.filter((c) => home.get(c.name) === b.name);
        out.push(
            `  subgraph cluster_${scope.replace(/[^A-Za-z0-9_]/g, "_")}${i} {`,
            `    style=rounded; color="#9ca3af"; label="";`,
            `    ${bridgeNode(b, scope)}`,
        );
        if (members.length > COMPACT_ABOVE) {
            const perColumn = Math.ceil(Math.sqrt(members.length) * 1.5);
            compact.set(b.name, new Map(members.map((c, k) => [c.name, 1 + Math.floor(k / perColumn)])));
        }
        // Graphviz stacks a column bottom-up in the order nodes are declared: declared last to first, it reads top-down.
        for (const c of compact.has(b.name) ? [...members].reverse() : members) {
            const via = new Map(
                compact.has(b.name)
                    ? b.ports.filter((p) => p.peer?.namespace === c.name).map((p) => [p.peer!.ifname, p.name] as const)
                    : [],
            );
            out.push(`    ${containerNode(c, via, scope)}`);
        }
        out.push("  }");
    });
    const hostMode = t.containers.filter((c) => c.netMode === "host");
    if (hostMode.length > 0) {
        out.push(
            `  ${nid("host-namespace")} [label=<<table border="1" cellborder="0" cellpadding="4" bgcolor="${FOREIGN_FILL}"><tr><td><b>host network namespace</b></td></tr></table>>];`,
        );
    }
    for (const c of t.containers) if (!home.has(c.name)) out.push(`  ${containerNode(c, new Map(), scope)}`);

    for (const b of t.bridges) {
        const column = compact.get(b.name);
        // Compact bridges: invisible edges in the containers' order, so that the columns read in that order.
        for (const [name, minlen] of column ?? [])
            out.push(`  ${nid(`bridge:${b.name}`)} -> ${nid(`container:${name}`)} [style=invis, minlen=${minlen}];`);
        for (const p of b.ports) {
            if (p.peer && column?.has(p.peer.namespace)) continue;
            const color = p.owner ? OWNED_EDGE : FOREIGN_EDGE;
            if (p.peer && byName.has(p.peer.namespace)) {
                out.push(
                    `  ${nid(`bridge:${b.name}`)} -> ${nid(`container:${p.peer.namespace}`)}:${portId(p.peer.ifname)}:w [color="${color}", fontcolor="${color}", label=${id(p.name)}];`,
                );
            }
        }
    }
    for (const l of t.links) {
        if (!byName.has(l.a.namespace) || !byName.has(l.b.namespace)) continue;
        const color = l.owner ? OWNED_EDGE : FOREIGN_EDGE;
        // Both ends leave eastwards, so a link loops beside the clusters instead of through them.
        out.push(
            `  ${nid(`container:${l.a.namespace}`)}:${portId(l.a.ifname)}_e:e -> ${nid(`container:${l.b.namespace}`)}:${portId(l.b.ifname)}_e:e [penwidth=2.5, color="${color}", constraint=false];`,
        );
    }
    for (const c of t.containers) {
        if (c.netMode === "container") {
            const target = c.mode.slice("container:".length);
            if (byName.has(target))
                out.push(
                    `  ${nid(`container:${c.name}`)} -> ${nid(`container:${target}`)} [style=dashed, label="shares netns", constraint=false];`,
                );
        } else if (c.netMode === "host") {
            out.push(`  ${nid(`container:${c.name}`)} -> ${nid("host-namespace")} [style=dashed, label="--net=host"];`);
        }
    }
    return out;
}
