// The stack Pulumi's SDK records with a resource, trimmed to the program's
// own frames by programFramesOnly (components/src/program/declarationSite.ts),
// through the SDK's own capture (Resource.stackTrace, what every resource's
// constructor calls). The example stack's recorded traces, through the real
// engine, are checked by test/e2e/stateSize.test.ts.

import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { programFramesOnly } from "../../components/src/program/declarationSite";
import { sdkPromiseStacksPlain } from "../../components/src/program/promiseStacks";

interface Frame {
    uri: string;
    line: number;
    column: number;
}

/** What the SDK records for a resource declared by the caller of `declare`: it skips its own frames and `declare`'s. */
const sdkTrace = (): Frame[] =>
    (pulumi.Resource as unknown as { stackTrace(skip: number): (Frame | undefined)[] }).stackTrace(1) as Frame[];

function declare(trim: boolean): Frame[] {
    if (trim) programFramesOnly();
    return sdkTrace();
}

const THIS_FILE = `file://${__filename}`;

describe("the declaration site Pulumi records with a resource", () => {
    it("untrimmed, the SDK records the whole stack: this file's frames, then mocha's and Node's", () => {
        const frames = declare(false).filter((f) => f !== undefined);
        assert.ok(
            frames.some((f) => f.uri.includes("/node_modules/mocha/")),
            JSON.stringify(frames.map((f) => f.uri)),
        );
        assert.ok(frames.length > 5, `${frames.length} frames`);
    });

    it("trimmed, it records only the program's frames: the declaring line first, nothing from node_modules or Node's internals", () => {
        const frames = declare(true);
        assert.ok(frames.length >= 1);
        for (const f of frames) assert.equal(f?.uri, THIS_FILE, JSON.stringify(frames));
        // The first frame (the engine's source position) is `declare`'s own line in this file, as untrimmed.
        assert.deepEqual(frames[0], declare(false)[0]);
    });

    it("trims one capture only: the next one is whole again", () => {
        programFramesOnly();
        const first = sdkTrace();
        const second = sdkTrace();
        assert.ok(first.every((f) => f?.uri === THIS_FILE));
        assert.ok(second.some((f) => f?.uri.includes("/node_modules/")));
    });

    it("leaves any other stack as it was, and is gone after it", () => {
        // The formatter in place once the SDK's promise stacks have their own path (promiseStacks.ts).
        sdkPromiseStacksPlain();
        const before = Error.prepareStackTrace;
        programFramesOnly();
        const stack = new Error("boom").stack!;
        assert.match(stack, /^Error: boom\n/);
        assert.match(stack, /node_modules\/mocha\//, "a stack that is not the SDK's capture keeps every frame");
        assert.equal(Error.prepareStackTrace, before, "the hook removed itself");
    });
});
