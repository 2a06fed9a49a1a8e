// Several hosts' topology (topologyHosts.ts) as a person reads it: what joins
// the hosts first (VXLAN tunnels between their bridges, swarms with their
// nodes and overlay networks), then each host as `hostnet topology` shows one;
// and one Graphviz diagram with a cluster per host, the tunnels and the
// overlays drawn between them.
//
// Pure. Runs in the `hostnet` command-line tool.

import type { HostsTopology, HostView, OverlayView, SwarmView, TunnelEnd } from "./topologyHosts";
import { dotBody, ownerText, renderText, table } from "./topologyRender";

function hostTitle(h: HostView): string {
    return h.name === "local" ? `this machine (${h.host})` : `host ${h.name}${h.address ? ` (${h.address})` : ""}`;
}

function endText(e: TunnelEnd): string {
    return `${e.host}: ${e.device}${e.bridge ? ` on ${e.bridge}` : ""}${e.local ? ` (${e.local})` : ""}`;
}

function members(o: OverlayView): string {
    return o.members.map((m) => `${m.host}: ${m.container}${m.address ? ` ${m.address}` : ""}`).join("; ") || "-";
}

function swarmTitle(s: SwarmView): string {
    return `swarm ${s.clusterId ?? "(id not known: none of its managers was read)"}${s.owner ? ` ${ownerText(s.owner)}` : ""}`;
}

function count(n: number, what: string): string {
    return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/** The text view of several hosts. */
export function renderHostsText(m: HostsTopology): string {
    const out: string[] = [];
    const overlays = m.swarms.reduce((n, s) => n + s.overlays.length, 0);
    out.push(
        `hostnet topology of ${m.hosts.length} hosts: ${m.hosts.map(hostTitle).join(", ")}${m.stack ? `, stack ${m.stack} only` : ""}`,
        `between them: ${count(m.tunnels.length, "VXLAN tunnel")}, ${count(m.swarms.length, "swarm")} (${count(overlays, "overlay network")})`,
    );
    for (const h of m.hosts) if (h.error) out.push(`${hostTitle(h)} not read: ${h.error}`);

    out.push("", "== VXLAN tunnels between hosts ==");
    if (m.tunnels.length === 0) out.push("(none)");
    const rows = m.tunnels.map((t) => [
        endText(t.a),
        "<->",
        t.b ? endText(t.b) : `${t.a.remote ?? "?"} (no host read there)`,
        `VNI ${t.vni ?? "?"}${t.port ? `, UDP ${t.port}` : ""}`,
        ownerText(t.a.owner ?? t.b?.owner),
    ]);
    if (rows.length > 0) out.push(...table(rows));

    for (const s of m.swarms) {
        out.push("", `== ${swarmTitle(s)} ==`);
        const nodeRows = [["node", "host", "role", "state", "availability", "address", "labels"]];
        for (const n of s.nodes) {
            const labels = Object.entries(n.labels).map(([k, v]) => `${k}=${v}`);
            nodeRows.push([
                n.id,
                n.host ?? "(not read)",
                `${n.role}${n.leader ? " (leader)" : ""}`,
                n.state,
                n.availability,
                n.address ?? "-",
                [...labels, ownerText(n.owner)].filter(Boolean).join(" ") || "-",
            ]);
        }
        out.push(...table(nodeRows));
        out.push("overlay networks:");
        if (s.overlays.length === 0) out.push("  (none)");
        else {
            const netRows = [["network id", "name", "subnet", "VNI", "containers (host: name address)", "owner"]];
            for (const o of s.overlays) {
                netRows.push([
                    o.id.slice(0, 12),
                    o.name,
                    o.subnet ?? "-",
                    o.vni === undefined ? "-" : String(o.vni),
                    members(o),
                    ownerText(o.owner),
                ]);
            }
            out.push(...table(netRows, "  "));
        }
    }
    for (const h of m.hosts) {
        if (h.error) continue;
        out.push("", `########## ${hostTitle(h)} ##########`, renderText(h).trimEnd());
    }
    return `${out.join("\n")}\n`;
}

// ---- Graphviz ----

const FONT = "DejaVu Sans";
const TUNNEL = "#b45309";
const OVERLAY = "#7c3aed";
const OVERLAY_FILL = "#ede9fe";

function esc(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function id(text: string): string {
    return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The scope of a host's node ids in the diagram. */
function scopeOf(h: string): string {
    return `${h}/`;
}

/** One diagram of several hosts: a cluster per host, VXLAN tunnels between bridges, overlays between containers. */
export function renderHostsDot(m: HostsTopology): string {
    const out: string[] = [
        "digraph hostnet {",
        `  graph [rankdir=LR, fontname="${FONT}", fontsize=11, labelloc=t, labeljust=l, nodesep=0.12, ranksep=0.6, newrank=true,`,
        `         label=${id(`hostnet topology of ${m.hosts.map(hostTitle).join(", ")}${m.stack ? `, stack ${m.stack}` : ""}`)}+"\\lblue: owned by a hostnet stack; orange: VXLAN tunnel between hosts; purple: a swarm's overlay network\\l"];`,
        `  node [shape=plain, fontname="${FONT}", fontsize=10];`,
        `  edge [fontname="${FONT}", fontsize=8, arrowhead=none];`,
    ];
    const bridges = new Set<string>();
    const containers = new Set<string>();
    m.hosts.forEach((h, i) => {
        const node = m.swarms.flatMap((s) => s.nodes).find((n) => n.host === h.name);
        const role = node ? `swarm ${node.role}${node.leader ? ", leader" : ""}, ${node.state}` : h.error ? "not read" : "";
        out.push(
            `  subgraph cluster_host_${i} {`,
            `    style="rounded,bold"; color="#374151"; fontsize=12;`,
            `    label=<<b>${esc(hostTitle(h))}</b>${role ? `<br/><font point-size="9">${esc(role)}</font>` : ""}>;`,
        );
        if (h.error || (h.bridges.length === 0 && h.containers.length === 0)) {
            out.push(`    ${id(`${scopeOf(h.name)}empty`)} [label=<<i>${esc(h.error ? "not read" : "nothing here")}</i>>];`);
        }
        for (const line of dotBody(h, scopeOf(h.name))) out.push(`  ${line}`);
        out.push("  }");
        for (const b of h.bridges) bridges.add(`${scopeOf(h.name)}bridge:${b.name}`);
        for (const c of h.containers) containers.add(`${scopeOf(h.name)}container:${c.name}`);
    });
    for (const t of m.tunnels) {
        if (!t.b || !t.a.bridge || !t.b.bridge) continue;
        const [a, b] = [`${scopeOf(t.a.host)}bridge:${t.a.bridge}`, `${scopeOf(t.b.host)}bridge:${t.b.bridge}`];
        if (!bridges.has(a) || !bridges.has(b)) continue;
        out.push(
            `  ${id(a)} -> ${id(b)} [penwidth=2.5, color="${TUNNEL}", fontcolor="${TUNNEL}", label=${id(`VXLAN ${t.vni ?? "?"}: ${t.a.device} - ${t.b.device}`)}];`,
        );
    }
    m.swarms.forEach((s, i) => {
        for (const o of s.overlays) {
            const node = `swarm${i}/overlay:${o.id}`;
            const rows = [
                `<tr><td align="left"><b>${esc(o.name)}</b>  <font point-size="8">overlay</font></td></tr>`,
                o.subnet ? `<tr><td align="left">${esc(o.subnet)}</td></tr>` : "",
                o.vni !== undefined
                    ? `<tr><td align="left"><font point-size="8">VXLAN ${o.vni}, swarm ${esc((s.clusterId ?? "?").slice(0, 12))}</font></td></tr>`
                    : "",
                o.owner ? `<tr><td align="left"><font point-size="8" color="#1d4ed8">${esc(ownerText(o.owner))}</font></td></tr>` : "",
            ];
            out.push(
                `  ${id(node)} [label=<<table border="1" cellborder="0" cellspacing="0" cellpadding="3" bgcolor="${OVERLAY_FILL}">${rows.join("")}</table>>];`,
            );
            for (const mbr of o.members) {
                const c = `${scopeOf(mbr.host)}container:${mbr.container}`;
                if (!containers.has(c)) continue;
                out.push(`  ${id(node)} -> ${id(c)} [penwidth=2, color="${OVERLAY}", fontcolor="${OVERLAY}", label=${id(mbr.address)}];`);
            }
        }
    });
    out.push("}");
    return `${out.join("\n")}\n`;
}
