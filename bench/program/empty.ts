// An empty Pulumi program in TypeScript: `pulumi preview` of it is the
// engine's own floor (CLI start, backend, language host, Node.js, ts-node,
// @pulumi/pulumi), which every command of every stack pays.

export {};
