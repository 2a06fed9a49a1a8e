// Lint rules, including the layering of the library (see components/README.md):
//   common/   pure: imports neither Pulumi, nor the engine, nor the program side
//   engine/   loaded by the engine by package name: no runtime Pulumi import (types only), no program side
//   host/     the host layer, used by the engine and the command line: nothing of Pulumi, nothing above it but common/
//   program/  runs in the user's program: never the engine or the host layer
import tseslint from "typescript-eslint";

const src = "components/src";
const noPulumiAtRuntime = {
    name: "@pulumi/pulumi",
    message: "engine-side code may import Pulumi's types only (import type)",
    allowTypeImports: true,
};

export default tseslint.config(
    {
        ignores: [
            "**/node_modules/**",
            "**/dist/**",
            ".pulumi-state/**",
            ".pulumi-home/**",
            "tools/pulumi-build/**",
            "examples/**/node_modules/**",
        ],
    },
    ...tseslint.configs.recommended,
    {
        rules: {
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-unused-vars": [
                "error",
                { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
            ],
        },
    },
    {
        files: [`${src}/common/**/*.ts`],
        rules: {
            "no-restricted-imports": [
                "error",
                {
                    patterns: [
                        { group: ["@pulumi/*"], message: "common/ is pure: no Pulumi" },
                        {
                            group: ["**/engine/**", "**/program/**", "../engine", "../program"],
                            message: "common/ imports neither the engine nor the program side",
                        },
                    ],
                },
            ],
        },
    },
    {
        files: [`${src}/engine/**/*.ts`],
        rules: {
            "no-restricted-imports": [
                "error",
                {
                    paths: [noPulumiAtRuntime],
                    patterns: [
                        { group: ["**/program/**", "../program", "../../program"], message: "the engine never loads program-side code" },
                    ],
                },
            ],
        },
    },
    {
        files: [`${src}/host/**/*.ts`],
        rules: {
            "no-restricted-imports": [
                "error",
                {
                    patterns: [
                        { group: ["@pulumi/*"], message: "the host layer imports nothing of Pulumi" },
                        { regex: "^\\.\\./(?!common/)", message: "the host layer imports nothing above it (common/, pure, it may)" },
                    ],
                },
            ],
        },
    },
    {
        files: [`${src}/program/**/*.ts`, `${src}/index.ts`],
        rules: {
            "no-restricted-imports": [
                "error",
                {
                    patterns: [
                        {
                            group: ["**/engine/**", "../engine", "./engine", "../host/*", "../../host/*"],
                            message:
                                "program-side code never imports the engine or the host layer (the engine is loaded by name, at call time)",
                        },
                    ],
                },
            ],
        },
    },
    {
        files: [`${src}/cli/**/*.ts`],
        rules: {
            "no-restricted-imports": [
                "error",
                {
                    paths: [
                        {
                            name: "@pulumi/pulumi",
                            message: "the command-line tool runs outside a Pulumi program: import @pulumi/pulumi/automation only",
                        },
                    ],
                    patterns: [
                        {
                            // Only the Automation API (watch drives the engine with it); never the resource SDK.
                            group: ["@pulumi/*", "!@pulumi/pulumi", "@pulumi/pulumi/*", "!@pulumi/pulumi/automation"],
                            message: "the command-line tool runs outside a Pulumi program: the Automation API only, never the resource SDK",
                        },

                        { group: ["**/program/**", "../program"], message: "the command-line tool never loads program-side code" },
                    ],
                },
            ],
        },
    },
    {
        files: ["test/**/*.ts", "**/*.js", "**/*.cjs"],
        rules: { "@typescript-eslint/no-require-imports": "off", "@typescript-eslint/no-unused-expressions": "off" },
    },
);
