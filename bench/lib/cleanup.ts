// Cleanup on every way out: a normal end, a failure, Ctrl-C, SIGTERM, SIGHUP.
// Steps run once, last registered first; each step's failure is reported and
// the others still run.

import { stopAll } from "./proc";

type Step = { what: string; fn: () => Promise<void> | void };

const steps: Step[] = [];
let running: Promise<void> | undefined;

/** Registers a cleanup step; it runs at exit whatever happens. */
export function onCleanup(what: string, fn: () => Promise<void> | void): void {
    steps.push({ what, fn });
}

/** Stops the children still running, then runs the cleanup steps (once). */
export function cleanup(log: (line: string) => void): Promise<void> {
    running ??= (async () => {
        await stopAll();
        while (steps.length > 0) {
            const step = steps.pop()!;
            try {
                await step.fn();
            } catch (err) {
                log(`cleanup: failed to ${step.what}: ${(err as Error).message}`);
            }
        }
    })();
    return running;
}

/** Installs the signal and error handlers that clean up before the process ends. */
export function cleanupOnExit(log: (line: string) => void): void {
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(signal, () => {
            log(`\n${signal}: stopping; cleaning up what the bench made (a second ${signal} kills it now)`);
            process.once(signal, () => process.exit(130));
            void cleanup(log).finally(() => {
                log("cleaned up");
                process.exit(130);
            });
        });
    }
}
