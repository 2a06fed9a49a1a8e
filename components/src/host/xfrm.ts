// Whether a host's kernel can carry Docker's encrypted overlay networks.
//
// `docker network create --opt encrypted` succeeds on any kernel; Docker then
// programs IPsec (ESP, transport mode, AEAD rfc4106(gcm(aes)) with a 64-bit
// ICV) between the nodes, and where the kernel lacks ESP or AES-GCM it only
// logs a warning and the containers' traffic is dropped. So the kernel is
// asked directly, the way Docker will ask it: the same security association is
// added in a network namespace made for the probe and gone with it (`unshare
// --net`), so nothing of the host is touched.
//
// Host layer: no Pulumi imports.

import { HostCommandError } from "./errors";
import { runHost } from "./run";

export interface EspSupport {
    ok: boolean;
    /** What the kernel lacks, for people, when not ok. */
    missing?: string;
    /** The kernel's own words. */
    detail?: string;
}

const KEY = `0x${"01".repeat(20)}`; // 16 bytes of AES key and 4 of salt, as rfc4106 takes it

function probeArgv(algorithm: string[]): string[] {
    return [
        "unshare",
        "--net",
        "--",
        "ip",
        "xfrm",
        "state",
        "add",
        "src",
        "192.0.2.1",
        "dst",
        "192.0.2.2",
        "proto",
        "esp",
        "spi",
        "0x100",
        "reqid",
        "1",
        "mode",
        "transport",
        ...algorithm,
    ];
}

async function probe(algorithm: string[]): Promise<string | undefined> {
    try {
        await runHost("probe the kernel's IPsec support", probeArgv(algorithm));
        return undefined;
    } catch (err) {
        if (err instanceof HostCommandError) return err.stderr;
        throw err;
    }
}

const cache = new Map<string, Promise<EspSupport>>();

/** Whether the current host's kernel takes the IPsec state Docker's encrypted overlay uses; one probe per host and process. */
export function espSupport(hostKey: string): Promise<EspSupport> {
    let p = cache.get(hostKey);
    if (!p) {
        p = check();
        cache.set(hostKey, p);
        p.catch(() => cache.get(hostKey) === p && cache.delete(hostKey));
    }
    return p;
}

async function check(): Promise<EspSupport> {
    const docker = await probe(["aead", "rfc4106(gcm(aes))", KEY, "64"]);
    if (docker === undefined) return { ok: true };
    if (/unshare: .*(not permitted|Permission denied)/i.test(docker)) {
        return { ok: false, missing: "a way to probe it (unshare --net was refused: not root?)", detail: docker };
    }
    // Which part is missing: ESP itself, or only the AEAD cipher.
    const esp = await probe(["enc", "cbc(aes)", `0x${"01".repeat(16)}`, "auth-trunc", "hmac(sha256)", `0x${"01".repeat(32)}`, "128"]);
    const noEsp = esp !== undefined && /Requested type not found|Protocol not supported/i.test(esp);
    const noGcm = /AEAD algorithm not found|algorithm not found/i.test(docker);
    const parts = [noEsp ? "IPsec ESP (CONFIG_INET_ESP)" : "", noGcm ? "AES-GCM (CONFIG_CRYPTO_GCM)" : ""].filter(Boolean);
    return {
        ok: false,
        missing: parts.length > 0 ? parts.join(" and ") : "the IPsec state Docker's encrypted overlay needs",
        detail: [docker, noEsp ? esp : ""].filter(Boolean).join(" / "),
    };
}
