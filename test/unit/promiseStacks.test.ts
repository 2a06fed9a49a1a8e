// The stacks Pulumi's SDK records with its promises (debuggablePromise) are
// formatted by V8, not by the installed source-map formatter; every other
// stack still goes to that formatter (components/src/program/promiseStacks.ts).
// Through the SDK's own debuggablePromise.

import * as assert from "node:assert/strict";
import { sdkPromiseStacksPlain, v8Format } from "../../components/src/program/promiseStacks";

const { debuggablePromise } = require("@pulumi/pulumi/runtime/debuggable") as {
    debuggablePromise<T>(p: Promise<T>, ctx: string): Promise<T>;
};

type Prepare = (err: Error, sites: NodeJS.CallSite[]) => unknown;
const hook = Error as { prepareStackTrace?: Prepare };

/** What the SDK keeps, for its leak report, of the stack where it was given a promise (on that promise). */
function recorded(): string {
    const given = Promise.resolve(1);
    void debuggablePromise(given, "test");
    return (given as unknown as { _debugStackTrace: string })._debugStackTrace;
}

describe("the SDK's promise stacks, formatted by V8", () => {
    let saved: Prepare | undefined;
    let calls: number;
    /** A formatter such as source-map-support: counts its calls and marks its text. */
    const formatter: Prepare = (err, sites) => {
        calls++;
        return `FORMATTED ${v8Format(err, sites)}`;
    };

    beforeEach(() => {
        saved = hook.prepareStackTrace;
        calls = 0;
        hook.prepareStackTrace = formatter;
    });
    afterEach(() => {
        hook.prepareStackTrace = saved;
    });

    it("before: the installed formatter formats every promise stack of the SDK", () => {
        const text = recorded();
        assert.equal(calls, 1);
        assert.match(text, /^FORMATTED Error\n {4}at debuggablePromise \(.*@pulumi\/pulumi\/runtime\/debuggable\.js:\d+:\d+\)\n/);
    });

    it("after: the SDK's promise stacks skip the formatter and read as V8 writes them; other stacks still go to it", () => {
        sdkPromiseStacksPlain();
        const text = recorded();
        assert.equal(calls, 0, "the formatter is not called for the SDK's promise stack");
        assert.match(text, /^Error\n {4}at debuggablePromise \(.*@pulumi\/pulumi\/runtime\/debuggable\.js:\d+:\d+\)\n {4}at /);
        assert.match(text, /promiseStacks\.test\.ts:\d+:\d+\)/, "the caller's frame is there");
        assert.match(new Error("other").stack!, /^FORMATTED Error: other\n/);
        assert.equal(calls, 1);
    });

    it("wraps once: a second call leaves the same formatter in place", () => {
        sdkPromiseStacksPlain();
        const wrapped = hook.prepareStackTrace;
        assert.notEqual(wrapped, formatter);
        sdkPromiseStacksPlain();
        assert.equal(hook.prepareStackTrace, wrapped);
    });

    it("with no formatter installed (a JavaScript program) installs nothing", () => {
        hook.prepareStackTrace = undefined;
        sdkPromiseStacksPlain();
        assert.equal(hook.prepareStackTrace, undefined);
    });

    it("v8Format writes exactly what V8 writes without a formatter", () => {
        const errors: Error[] = [];
        for (let i = 0; i < 2; i++) errors.push(new TypeError(`same site`));
        hook.prepareStackTrace = undefined;
        const native = errors[0].stack;
        hook.prepareStackTrace = (err, sites) => v8Format(err, sites);
        assert.equal(errors[1].stack, native);
    });
});
