package main

// The V8 code cache of the program's modules: every program run compiles
// @pulumi/pulumi's ~770 modules (and a TypeScript program's compiler) from
// source again, about 0.6 s of CPU. The language host preloads
// hostnet-code-cache.js (tools/codecache/preload.js, installed next to this
// binary) into the program's node through NODE_OPTIONS, as it preloads the
// type-check recorder; the preload compiles each CommonJS module with the
// cached data V8 produced for the same path and text at an earlier run, and
// removes itself from NODE_OPTIONS so that processes the program starts do
// not load it.
//
// HOSTNET_CODE_CACHE=0 (or off) turns it off; HOSTNET_CODE_CACHE_DIR says
// where the entries live (the preload's default: $HOSTNET_TOOLCHAIN/code-cache).

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// codeCacheScript is the preload's name next to the language host.
const codeCacheScript = "hostnet-code-cache.js"

// withCodeCache returns the program's environment with the code cache's
// preload appended to NODE_OPTIONS, when it is installed in binDir and not
// turned off; else env unchanged.
func withCodeCache(env []string, binDir string) []string {
	if v, _ := lookupEnv(env, "HOSTNET_CODE_CACHE"); codeCacheOff(v) {
		return env
	}
	preload := filepath.Join(binDir, codeCacheScript)
	if st, err := os.Stat(preload); err != nil || !st.Mode().IsRegular() {
		return env
	}
	nodeOptions, _ := lookupEnv(env, "NODE_OPTIONS")
	return withEnv(env, "NODE_OPTIONS", strings.TrimSpace(nodeOptions+" "+preloadOption(preload)))
}

// codeCacheOff is true for the values of HOSTNET_CODE_CACHE that turn it off
// (the preload reads the same ones).
func codeCacheOff(v string) bool {
	return slices.Contains([]string{"0", "off", "false", "no"}, strings.ToLower(strings.TrimSpace(v)))
}

// preloadOption is how NODE_OPTIONS preloads a script (which removes exactly
// this text again, so that processes the program starts do not load it).
func preloadOption(script string) string {
	return fmt.Sprintf("--require %q", script)
}
