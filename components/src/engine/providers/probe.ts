// Probe, engine side: an assertion about the network, evaluated on the host.
// It makes nothing: `create` and `update` run the probe and fail the up,
// naming the probe, when the path does not behave as expected; `read` (a
// refresh) runs it again and records what it found as `expect`, so that a
// path broken by hand shows as drift in `preview --refresh` and the CI
// report, and the next `up` runs it once more (after the resources it
// depends on have been repaired). Traffic goes only to addresses of this
// host's own networks (reached without a gateway, from the container or from
// the host), never off the machine.
//
// Engine side: loaded by the dynamic-provider process, by package name.

import type * as pulumi from "@pulumi/pulumi";
import { contains, parseAddress, parsePrefix, reachableAddresses } from "../../common/addresses";
import { checkProbeInputs, ProbeInputs, ProbeOutputs, probeText } from "../../common/specs/probe";
import { failuresError, InputFailure, isKnown } from "../../common/validation";
import { containerUsable, push, RuleName } from "../rules";
import * as docker from "../../host/docker";
import { HostCommandError, ToolMissingError } from "../../host/errors";
import * as ip from "../../host/ip";
import * as probe from "../../host/probe";
import type { Measured } from "../drift";
import { callStep, describe, Plan } from "../plan";
import { isClaimedAddress } from "../registry";
import { definedOnly, sameValue, storedProps } from "./props";

/** The inputs whose change runs the probe again. */
const RERUN_ON = ["from", "to", "protocol", "port", "expect", "family", "timeoutSeconds", "network"] as const;

/** For the preview report: the probe runs (nothing on the host changes). */
export function planRun(inputs: ProbeInputs, address?: string): Plan {
    const text = `run the probe: ${probeText(inputs, address)}, expecting ${inputs.expect} (the up fails, naming the probe, if not)`;
    return { steps: [callStep(text, async () => undefined)] };
}

export function describeChange(op: "create" | "update" | "delete", olds?: ProbeOutputs, news?: ProbeInputs): string[] {
    if (op === "delete") return [];
    const lines = describe(planRun(news!, op === "update" && sameValue(olds!.to, news!.to) ? olds!.address : undefined));
    if (op === "update" && olds!.outcome !== undefined && olds!.expect !== news!.expect && olds!.expect === olds!.outcome) {
        lines.push(`last seen ${olds!.outcome}: ${olds!.detail}`);
    }
    return lines;
}

async function runningPid(container: string): Promise<number | undefined> {
    const c = await docker.inspectContainer(container);
    return c?.State.Running && c.State.Pid ? c.State.Pid : undefined;
}

/** A container target's address: one on a subnet the source shares (a neighbour), else its first, in the family asked. */
async function containerAddress(inputs: Pick<ProbeInputs, "to" | "family">, sourcePid: number): Promise<string | undefined> {
    const pid = await runningPid(inputs.to.container!);
    if (pid === undefined) return undefined;
    const theirs = (await ip.listLinksWithAddresses(pid)).flatMap((l) => l.addr_info ?? []);
    const mine = (await ip.listLinksWithAddresses(sourcePid)).flatMap((l) => l.addr_info ?? []);
    const candidates = reachableAddresses(theirs);
    const family = inputs.family ?? (candidates.some((a) => parseAddress(a)?.family === 4) ? 4 : 6);
    const ofFamily = candidates.filter((a) => parseAddress(a)?.family === family);
    const subnets = mine.map((m) => parsePrefix(`${m.local}/${m.prefixlen}`)).filter((p) => p !== undefined);
    const neighbour = ofFamily.find((a) => subnets.some((net) => contains(net, parseAddress(a)!)));
    return neighbour ?? ofFamily[0];
}

/** The route to `address` from a namespace (`pid`, or the host's): undefined when there is none. */
async function route(address: string, pid?: number): Promise<Awaited<ReturnType<typeof ip.routeTo>>> {
    try {
        return await ip.routeTo(address, pid);
    } catch (err) {
        if (err instanceof HostCommandError && !(err instanceof ToolMissingError)) return undefined; // Network is unreachable
        throw err;
    }
}

/**
 * Why a probe may not go to `address`, or undefined when it may: an address
 * that neither the container nor the host reaches without a gateway is off
 * this machine's own networks.
 */
async function offHost(address: string, pid: number): Promise<string | undefined> {
    const fromContainer = await route(address, pid);
    if (fromContainer && !fromContainer.gateway) return undefined;
    const fromHost = await route(address);
    if (fromHost && !fromHost.gateway) return undefined;
    return offHostText(address, fromHost?.gateway ?? fromContainer?.gateway);
}

/** The refusal of a target off this host's networks (`via`: the gateway it would leave through), with what to do. */
export function offHostText(address: string, via: string | undefined): string {
    return `${address} is not on this host's own networks (${via ? `it is routed via the gateway ${via}` : "there is no route to it"}): a probe sends traffic only between this host's containers and addresses; point \`to\` at an address of this host's containers, bridges or networks`;
}

/** The shared host rules (engine/rules.ts) that `hostFailures` runs, for `check` and `create` alike. */
export const hostRules: readonly RuleName[] = ["container-usable"];

/**
 * What the host says against these inputs, before anything is touched: the
 * containers exist (or the stack makes them), and an address target is on
 * this host's own networks.
 */
async function hostFailures(inputs: ProbeInputs, olds?: Partial<ProbeInputs>): Promise<InputFailure[]> {
    const failures: InputFailure[] = [];
    if (olds && Object.keys(olds).length > 0 && sameValue(olds.from, inputs.from) && sameValue(olds.to, inputs.to)) return failures;
    let pid: number | undefined;
    if (isKnown(inputs.from)) {
        const c = await docker.inspectContainer(inputs.from);
        const failure = containerUsable("from", "from", inputs.from, c, { use: "probe", running: true, owner: inputs.owner });
        push(failures, failure);
        if (!failure && c?.State.Running && c.State.Pid) pid = c.State.Pid;
    }
    if (isKnown(inputs.to) && inputs.to.container !== undefined) {
        const c = await docker.inspectContainer(inputs.to.container);
        push(failures, containerUsable("to", "to.container", inputs.to.container, c, { use: "probe", running: false }));
    }
    // An address the stack gives an interface counts before it exists (a link made in the same up); any other must be on this host's networks now.
    if (pid !== undefined && isKnown(inputs.to) && inputs.to.address !== undefined && !isClaimedAddress(inputs.to.address)) {
        const why = await offHost(inputs.to.address, pid);
        if (why) failures.push({ property: "to", reason: `\`to\` ${why}` });
    }
    return failures;
}

interface Ran {
    address: string;
    outcome: ProbeOutputs["outcome"];
    detail: string;
}

/**
 * Runs the probe once; twice when a path thought reachable (`confirm`) did
 * not answer: the first packets may race a neighbour lookup or a service
 * starting.
 */
async function run(inputs: Omit<ProbeInputs, "expect">, confirm: boolean): Promise<Ran> {
    const what = `run Probe ${probeText(inputs)}`;
    const pid = await runningPid(inputs.from);
    if (pid === undefined)
        return {
            address: inputs.to.address ?? "",
            outcome: "blocked",
            detail: `container "${inputs.fromName ?? inputs.from}" is not running`,
        };
    const address = inputs.to.address ?? (await containerAddress(inputs, pid));
    if (address === undefined) {
        return {
            address: "",
            outcome: "blocked",
            detail: `container "${inputs.to.name ?? inputs.to.container}" is not running, or has no IPv${inputs.family ?? 4} address`,
        };
    }
    // A path that would leave the machine (the container's route goes through the host, which sends it on via a gateway) is not tried.
    const why = await offHost(address, pid);
    if (why) return { address, outcome: "blocked", detail: `not sent: ${why.replace(/: a probe sends traffic only between .*$/, "")}` };
    const once = async (): Promise<probe.ProbeResult> => {
        try {
            if (inputs.protocol === "icmp") return await probe.probeIcmp(what, pid, address, inputs.timeoutSeconds);
            if (inputs.protocol === "tcp") return await probe.probeTcp(what, pid, address, inputs.port!, inputs.timeoutSeconds);
            return await probe.probeUdp(what, pid, address, inputs.port!, inputs.timeoutSeconds);
        } catch (err) {
            if (err instanceof ToolMissingError) {
                throw new Error(`failed to ${what}: ${probe.PROBE_TOOLS[inputs.protocol]} is not installed on this host; install it`, {
                    cause: err,
                });
            }
            throw err;
        }
    };
    let result = await once();
    if (result.outcome !== "reachable" && confirm) {
        await new Promise((r) => setTimeout(r, 1000));
        result = await once();
    }
    return { address, ...result };
}

/** Runs the probe; an expectation that does not hold fails, naming the probe and what it found. */
async function assertProbe(inputs: ProbeInputs): Promise<ProbeOutputs> {
    const ran = await run(inputs, inputs.expect === "reachable");
    if (ran.outcome !== inputs.expect) {
        const name = inputs.owner.split("/").pop();
        const hint =
            ran.outcome === "refused"
                ? "the path is open but nothing answers on that port: start the service, or point the probe at one that answers"
                : inputs.expect === "reachable"
                  ? 'check the path (the containers\' attachments and routes) and the Policy rules, or set `expect: "blocked"` if that is intended'
                  : 'something lets it through: check the Policy rules (and the host\'s other firewall rules), or set `expect: "reachable"`';
        throw new Error(
            `failed to check Probe "${name}": expected ${probeText(inputs, ran.address || undefined)} to be ${inputs.expect}, but it is ${ran.outcome} (${ran.detail}); ${hint}`,
        );
    }
    return definedOnly({ ...inputs, ...ran });
}

/**
 * What a probe's path goes between, for the drift read of a plain diff
 * (engine/drift.ts): its containers and addresses. A plan that repairs a
 * resource naming one of them runs the probe again; nothing else does.
 */
export const measured: Measured = {
    pathOf(props) {
        const p = props as Partial<ProbeOutputs>;
        const to = (p.to ?? {}) as Partial<ProbeInputs["to"]>;
        return {
            containers: [p.from, to.container].filter((c): c is string => typeof c === "string" && c !== ""),
            addresses: [to.address, p.address].filter((a): a is string => typeof a === "string" && a !== ""),
        };
    },
};

export const probeProvider: pulumi.dynamic.ResourceProvider<ProbeInputs, ProbeOutputs> = {
    async check(olds, news) {
        const failures = checkProbeInputs({ ...news });
        if (failures.length === 0) failures.push(...(await hostFailures(news, olds)));
        return { inputs: news, failures };
    },

    async diff(_id, olds, news) {
        const replaces = olds.owner !== news.owner ? ["owner"] : [];
        const changes = replaces.length > 0 || RERUN_ON.some((k) => !sameValue(olds[k], news[k]));
        return { changes, replaces, deleteBeforeReplace: true };
    },

    async create(inputs) {
        const failures = await hostFailures(inputs);
        if (failures.length > 0) throw failuresError(`run Probe ${probeText(inputs)}`, failures);
        return { id: inputs.owner, outs: await assertProbe(inputs) };
    },

    async read(id, stored) {
        const props = storedProps(stored);
        let ran: Ran;
        try {
            ran = await run(props, props.outcome === "reachable");
        } catch (err) {
            // A container that went away while it ran: the path is broken, which is what a refresh reports.
            if (!(err instanceof HostCommandError) || err instanceof ToolMissingError) throw err;
            ran = { address: props.address, outcome: "blocked", detail: err.message };
        }
        // What the path does now, in `expect` (reachable, blocked or refused): against the program's expectation, a difference is drift.
        return { id, props: definedOnly({ ...props, ...ran, expect: ran.outcome }) };
    },

    async update(_id, _olds, news) {
        return { outs: await assertProbe(news) };
    },

    async delete() {
        // A probe makes nothing on the host.
    },
};
