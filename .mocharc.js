// Unit tests first (fast, no host changes), then provider tests on the real
// host, then end-to-end runs of the real engine. Type checking is `npm run
// typecheck`; tests are transpiled only, for speed.
module.exports = {
    require: ["ts-node/register/transpile-only"],
    extension: ["ts"],
    spec: ["test/unit/**/*.test.ts", "test/host/**/*.test.ts", "test/e2e/**/*.test.ts"],
    timeout: 600000,
    slow: 10000,
    reporter: "spec",
};
