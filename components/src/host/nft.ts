// nftables, as the Policy uses it: one table (family inet) per resource, read
// with `nft list table` and replaced whole with `nft -f -` (one transaction:
// a failure changes nothing). Each function runs one `nft` command and owns
// its argv; failures are the typed errors of errors.ts (a table that is not
// there is a NotFoundError, nft not installed a ToolMissingError). Nothing
// here reads or changes any other table of the ruleset.
//
// Engine side: loaded by the dynamic-provider process. No Pulumi imports.

import { NotFoundError, ToolMissingError } from "./errors";
import { runHost } from "./run";

/** A set of the table, as nft lists it. */
export interface NftSet {
    name: string;
    /** `ipv4_addr`, `ipv6_addr`, ... */
    type: string;
    /** `interval`, ... (comma-separated, as listed). */
    flags?: string;
    elements: string[];
}

/** A chain of the table: its header (`type filter hook ...;` for a base chain) and its rules, counters zeroed. */
export interface NftChain {
    name: string;
    header?: string;
    rules: string[];
}

export interface NftTable {
    /** The table's comment: the owner mark of the table the library made. */
    comment?: string;
    sets: NftSet[];
    chains: NftChain[];
}

/** `nft list table inet <name>`: the argv, for the fake kernel and tests. */
export function listTableArgv(table: string): string[] {
    return ["nft", "list", "table", "inet", table];
}

/** `nft list tables inet`: the argv, for the fake kernel and tests. */
export const LIST_TABLES_ARGV: readonly string[] = ["nft", "list", "tables", "inet"];

/** `nft -f -`: reads a script on standard input and applies it as one transaction. */
export const APPLY_ARGV: readonly string[] = ["nft", "-f", "-"];

const COUNTER = /\bcounter packets \d+ bytes \d+\b/g;

function unquote(text: string): string {
    const m = /^"(.*)"$/.exec(text.trim());
    return m ? m[1] : text.trim();
}

/**
 * Reads the text `nft list table` prints. Rules keep nft's own wording, with
 * `counter packets N bytes M` reduced to `counter` (counts are not state).
 */
export function parseTable(text: string): NftTable {
    const table: NftTable = { sets: [], chains: [] };
    const lines = text.split("\n");
    let set: NftSet | undefined;
    let chain: NftChain | undefined;
    let elements: string | undefined; // an `elements = { ...` still open over several lines
    for (const raw of lines) {
        const line = raw.trim();
        if (line === "") continue;
        if (elements !== undefined) {
            elements += ` ${line}`;
            if (line.endsWith("}")) {
                set!.elements = splitElements(elements);
                elements = undefined;
            }
            continue;
        }
        if (set) {
            if (line === "}") set = undefined;
            else if (line.startsWith("type ")) set.type = line.slice(5).trim();
            else if (line.startsWith("flags ")) set.flags = line.slice(6).trim();
            else if (line.startsWith("elements = {")) {
                const rest = line.slice("elements = {".length);
                if (rest.trimEnd().endsWith("}")) set.elements = splitElements(`{${rest}`);
                else elements = `{${rest}`;
            }
            continue;
        }
        if (chain) {
            if (line === "}") chain = undefined;
            else if (/^type \S+ hook /.test(line)) chain.header = line;
            else if (!line.startsWith("comment ")) chain.rules.push(line.replace(COUNTER, "counter"));
            continue;
        }
        let m: RegExpExecArray | null;
        if ((m = /^set (\S+) \{$/.exec(line))) {
            set = { name: m[1], type: "", elements: [] };
            table.sets.push(set);
        } else if ((m = /^chain (\S+) \{$/.exec(line))) {
            chain = { name: m[1], rules: [] };
            table.chains.push(chain);
        } else if (line.startsWith("comment ")) {
            table.comment = unquote(line.slice("comment ".length));
        }
    }
    return table;
}

function splitElements(text: string): string[] {
    const inner = text.trim().replace(/^\{/, "").replace(/\}$/, "");
    return inner
        .split(",")
        .map((e) => e.trim())
        .filter(Boolean);
}

/**
 * The table as a listing: one line per set (name, type, flags), then per
 * chain its header line and its rules. The form the Policy compares and
 * reports (common/policyTable.ts's tableListing writes the same).
 */
export function listingOf(table: NftTable): string[] {
    const out = table.sets.map((s) => `set ${s.name} { type ${s.type}${s.flags ? `; flags ${s.flags}` : ""} }`);
    for (const c of table.chains) out.push(`chain ${c.name} { ${c.header ?? ""} }`.replace("{  }", "{ }"), ...c.rules);
    return out;
}

/** The table `inet <name>`, or undefined when there is none. */
export async function readTable(table: string): Promise<NftTable | undefined> {
    try {
        return parseTable(await runHost(`read nftables table inet ${table}`, listTableArgv(table)));
    } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
    }
}

/** The names of the host's inet tables (none when nft is not installed: nobody can have made one through it). */
export async function listTables(): Promise<string[]> {
    try {
        const text = await runHost("list nftables tables (inet)", LIST_TABLES_ARGV);
        return text
            .split("\n")
            .map((l) => /^table inet (\S+)$/.exec(l.trim())?.[1])
            .filter((n): n is string => n !== undefined);
    } catch (err) {
        if (err instanceof ToolMissingError) return [];
        throw err;
    }
}

/** Applies `script` with `nft -f -`, as one transaction. */
export async function applyScript(what: string, script: string): Promise<void> {
    await runHost(what, APPLY_ARGV, script);
}

/** `nft --version`: whether nft is installed (a ToolMissingError otherwise). */
export async function nftVersion(): Promise<string> {
    return (await runHost("run nft", ["nft", "--version"])).trim();
}
