// Typed errors of the host layer. A failed command or API call is classified
// once, here, from what the kernel or the Docker engine said; providers branch
// on the class, never on stderr text. Every error keeps the command (or
// request) and the original output as its cause.

/** A host command that exited non-zero (or could not start). */
export class HostCommandError extends Error {
    constructor(
        message: string,
        readonly argv: readonly string[],
        readonly exitCode: number | undefined,
        readonly stderr: string,
        options?: { cause?: unknown; errno?: string },
    ) {
        super(message, options);
        this.name = new.target.name;
        this.errno = options?.errno;
    }

    /** The kernel's errno ("EEXIST"), when the operation went over netlink (the helper) rather than a command. */
    readonly errno?: string;
}

/** The named link, address, route or namespace does not exist. */
export class NotFoundError extends HostCommandError {}
/** The object to create exists already (a link name, an address, a route). */
export class ExistsError extends HostCommandError {}
/** The kernel lacks the feature (e.g. bridge VLAN filtering, or a kind of link: "Unknown device type"). */
export class NotSupportedError extends HostCommandError {}
/** The target process is gone: its network namespace cannot be entered. */
export class NamespaceGoneError extends HostCommandError {}
/** The command is not installed on the host (e.g. `nft` without Debian's nftables). */
export class ToolMissingError extends HostCommandError {}

type HostErrorClass = new (
    message: string,
    argv: readonly string[],
    exitCode: number | undefined,
    stderr: string,
    options?: { cause?: unknown; errno?: string },
) => HostCommandError;

// What iproute2, nsenter, iptables, nft, tc and the file tools (records.ts) print, mapped to a class. Order matters: the first match wins.
// Kernels with extended acks word address errors themselves: "Error: ipv4: Address not
// found." (EADDRNOTAVAIL) and "Error: ipv4: Address already assigned." (EEXIST).
const CLASSIFIERS: readonly [RegExp, HostErrorClass][] = [
    [/nsenter: (?:cannot open|reassociate to namespace).*No such (?:file|process)/, NamespaceGoneError],
    // Node's spawn of a missing program, nsenter's exec of one, a remote shell's "not found".
    [
        /^spawn \S+ ENOENT$|nsenter: failed to execute \S+: No such file|^(?:sh|bash|dash): (?:\d+: )?\S+: (?:command )?not found$/,
        ToolMissingError,
    ],
    [
        /does not exist|Cannot find device|No such device|Cannot assign requested address|Address not found|No such process|Bad rule \(does a matching rule exist|No chain\/target\/match by that name|No such file or directory|Cannot find specified qdisc|Cannot delete qdisc with handle of zero|^Error: Invalid handle\.$/,
        NotFoundError,
    ],
    [/File exists|already exists|Address already assigned/, ExistsError],
    [/Operation not supported|not supported|Unknown device type|Specified qdisc kind is unknown/, NotSupportedError],
];

/** The typed error for a command that failed with `stderr`. */
export function classifyHostError(
    what: string,
    argv: readonly string[],
    exitCode: number | undefined,
    stderr: string,
    cause?: unknown,
): HostCommandError {
    const message = `failed to ${what}: \`${argv.join(" ")}\`: ${stderr}`;
    const Class = CLASSIFIERS.find(([pattern]) => pattern.test(stderr))?.[1] ?? HostCommandError;
    return new Class(message, argv, exitCode, stderr, { cause });
}

// The same classes from the errno the netlink helper answers with (components/netlink/errors.go):
// what iproute2 prints above is these errnos' strerror. ESRCH: no such route (or a process gone).
const ERRNO_CLASSES: Readonly<Record<string, HostErrorClass>> = {
    ENODEV: NotFoundError,
    ENOENT: NotFoundError,
    ESRCH: NotFoundError,
    EADDRNOTAVAIL: NotFoundError,
    EEXIST: ExistsError,
    EOPNOTSUPP: NotSupportedError,
    ENOTSUP: NotSupportedError,
};

/**
 * The typed error for an operation the netlink helper failed. `argv` is the
 * equivalent command (what a person would type to do the same); the message
 * has the same shape as a command's: "failed to <what>: `<argv>`: <why>".
 */
export function classifyErrno(
    what: string,
    argv: readonly string[],
    failure: { errno?: string; message: string; netns?: boolean },
    cause?: unknown,
): HostCommandError {
    const why = `${failure.message}${failure.errno ? ` (netlink: ${failure.errno})` : ""}`;
    const message = `failed to ${what}: \`${argv.join(" ")}\`: ${why}`;
    const gone = failure.netns && (failure.errno === "ENOENT" || failure.errno === "ESRCH");
    const Class = gone ? NamespaceGoneError : ((failure.errno ? ERRNO_CLASSES[failure.errno] : undefined) ?? HostCommandError);
    return new Class(message, argv, undefined, why, { cause, errno: failure.errno });
}

/** An answer of the Docker Engine API other than the expected one. */
export class DockerApiError extends Error {
    constructor(
        message: string,
        readonly statusCode: number,
        readonly body: unknown,
    ) {
        super(message);
        this.name = new.target.name;
    }
}

/** 404: no such container, network or image. */
export class DockerNotFoundError extends DockerApiError {}
/** 409: a name in use, or a state that forbids the call. */
export class DockerConflictError extends DockerApiError {}

/** The Docker engine cannot be reached at all. */
export class DockerUnreachableError extends Error {
    constructor(message: string, options?: { cause?: unknown }) {
        super(message, options);
        this.name = new.target.name;
    }
}

/**
 * A host other than this machine cannot be reached over SSH (refused, timed
 * out, key refused, host key unknown or changed). Its message names the host
 * and says what to check; the resources of other hosts are not affected.
 */
export class HostUnreachableError extends Error {
    constructor(
        message: string,
        readonly host: string,
        options?: { cause?: unknown },
    ) {
        super(message, options);
        this.name = new.target.name;
    }
}

/**
 * IPv6 duplicate address detection found an address on another node of the
 * link (the kernel marks it `dadfailed`): it does not work, and another
 * interface already answers for it.
 */
export class DuplicateAddressError extends Error {
    constructor(
        message: string,
        readonly addresses: readonly string[],
        readonly dev: string,
    ) {
        super(message);
        this.name = new.target.name;
    }
}
