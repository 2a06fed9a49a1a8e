import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(__dirname, "..", "..");

describe("toolchain pins", () => {
    it("pins the Pulumi CLI at exactly the @pulumi/pulumi version of package.json", () => {
        const env = readFileSync(join(root, "scripts", "toolchain.env.sh"), "utf8");
        const pinned = /^PULUMI_VERSION=(\S+)$/m.exec(env)?.[1];
        const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
        assert.equal(pkg.dependencies["@pulumi/pulumi"], pinned);
        const gomod = readFileSync(join(root, "tools", "pulumi-build", "go.mod"), "utf8");
        assert.match(gomod, new RegExp(`github.com/pulumi/pulumi/pkg/v3 v${pinned!.replace(/\./g, "\\.")}\\b`));
        assert.match(gomod, new RegExp(`github.com/pulumi/pulumi/sdk/v3 v${pinned!.replace(/\./g, "\\.")}\\b`));
    });
});
