// Shared settings; the suites are listed in package.json ("test": unit first,
// fast and host-free, then providers on the real host, then the real engine).
// Tests are transpiled only, for speed; `tsc -p .` type-checks in `npm test`.
module.exports = {
    require: ["ts-node/register/transpile-only", "test/helpers/hooks.ts"],
    extension: ["ts"],
    timeout: 600000,
    slow: 10000,
    reporter: "./test/helpers/reporter.js",
};
