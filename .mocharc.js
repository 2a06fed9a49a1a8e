// Shared settings of every mocha run: `npm test` runs scripts/test.js, which
// finds the test files and runs them in parallel workers (and the few marked
// `// @serial:` alone, after them); `npx mocha <file>` runs one file.
// Tests are transpiled only, for speed; `tsc -p .` type-checks in `npm test`.
module.exports = {
    require: ["ts-node/register/transpile-only", "test/helpers/hooks.ts"],
    extension: ["ts"],
    timeout: 600000,
    slow: 10000,
    reporter: "./test/helpers/reporter.js",
};
