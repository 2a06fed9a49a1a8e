// The fault plan shared by the fake kernel and the fake Docker Engine API:
// every operation either fake serves (an `ip` command, one line of an
// `ip -batch`, an API request) gets a sequence number in one log, so that a
// test can fail "the k-th operation" or "the first one matching" across both,
// or kill the caller there (a crash: nothing it does afterwards takes effect).

export interface Operation {
    /** 1-based position in the log, across both fakes. */
    seq: number;
    layer: "ip" | "iptables" | "nft" | "tc" | "sysctl" | "file" | "docker";
    /** True for what changes the host (an `ip` mutation, an iptables `-I`/`-D`, an `nft -f`, a tc replace/del, a record written or removed, a POST or DELETE). */
    mutating: boolean;
    /** `ip link add ...` (in `host` or a namespace label), or `POST /containers/create`. */
    text: string;
    /** For `ip`: the arguments after `ip` (a batch line's words; for a helper operation, the `ip` arguments that do the same). */
    args?: string[];
    /** For a netlink helper operation: the operation as the host layer sent it. */
    op?: { op: string; [field: string]: unknown };
    /** For `ip`: the namespace's label ("host", or what the fake Docker named it), and the PID that entered it. */
    ns?: string;
    pid?: number;
    method?: string;
    path?: string;
}

/** Fail the operation as the real tool would report a failure. */
export interface FailFault {
    kind: "fail";
    /** For `ip`: what it prints (default: EBUSY, a failure no provider treats as success). */
    stderr?: string;
    /** For a netlink helper operation: the errno (default EBUSY; the message is `stderr`). */
    errno?: string;
    exitCode?: number;
    /** For Docker: the status code and the `message` of the answer. */
    status?: number;
    message?: string;
}

/** The calling process dies right before this operation: it and everything after it have no effect. */
export interface CrashFault {
    kind: "crash";
}

export type Fault = FailFault | CrashFault;

export const INJECTED_STDERR = "RTNETLINK answers: Device or resource busy";
export const INJECTED_DOCKER_MESSAGE = "injected fault: the engine failed this request";

interface Rule {
    match: (op: Operation) => boolean;
    fault: Fault;
    once: boolean;
    used: boolean;
}

export class Faults {
    readonly log: Operation[] = [];
    private rules: Rule[] = [];
    /** Set by a crash: the caller is gone, nothing takes effect until revive(). */
    dead = false;

    /** Fails (or crashes at) the operation with this sequence number. */
    at(seq: number, fault: Fault): this {
        return this.where((op) => op.seq === seq, fault);
    }

    /** Fails (or crashes at) the first operation matching `match` (every match unless `once` is false). */
    where(match: (op: Operation) => boolean, fault: Fault, once = true): this {
        this.rules.push({ match, fault, once, used: false });
        return this;
    }

    clear(): void {
        this.rules = [];
    }

    /** A new process: the crash is over (what it did stays done). */
    revive(): void {
        this.dead = false;
        this.clear();
    }

    /** Starts a new log (the sequence numbers start again at 1). */
    resetLog(): void {
        this.log.length = 0;
    }

    /**
     * Called by a fake for each operation before it takes effect: records it
     * and says what to do. `"dead"`: the caller has crashed (here or earlier):
     * do nothing.
     */
    next(op: Omit<Operation, "seq">): FailFault | "dead" | undefined {
        if (this.dead) return "dead";
        const full: Operation = { ...op, seq: this.log.length + 1 };
        this.log.push(full);
        const rule = this.rules.find((r) => !(r.once && r.used) && r.match(full));
        if (!rule) return undefined;
        rule.used = true;
        if (rule.fault.kind === "crash") {
            this.dead = true;
            return "dead";
        }
        return rule.fault;
    }
}
