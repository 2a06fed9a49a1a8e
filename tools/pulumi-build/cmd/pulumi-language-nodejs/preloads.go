package main

// The scripts the language host preloads into the program's node through
// NODE_OPTIONS (as it preloads the type-check recorder), each installed next
// to this binary by scripts/build-pulumi.sh, each removing its own
// `--require` from NODE_OPTIONS again so that processes the program starts do
// not load it:
//
//   - hostnet-code-cache.js (tools/codecache/preload.js), the V8 code cache of
//     the program's modules: every program run compiles @pulumi/pulumi's ~770
//     modules (and a TypeScript program's compiler) from source again, about
//     0.6 s of CPU; the preload compiles each CommonJS module with the cached
//     data V8 produced for the same path and text at an earlier run.
//     HOSTNET_CODE_CACHE=0 (or off) turns it off; HOSTNET_CODE_CACHE_DIR says
//     where the entries live (default: $HOSTNET_TOOLCHAIN/code-cache).
//   - hostnet-sdk-defer.js (tools/sdkdefer/preload.js): what only
//     @pulumi/pulumi's function serialization uses (TypeScript's compiler,
//     npm's Arborist) is loaded at its first use, not with the SDK: ~470
//     modules, about 0.7 s of CPU per run of a program that serializes
//     nothing. HOSTNET_SDK_DEFER=0 (or off) turns it off.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// preload is a script preloaded into the program and the variable that turns it off.
type preload struct {
	script string // its name next to the language host
	offVar string // the environment variable that turns it off (see preloadOff)
}

var (
	codeCache = preload{"hostnet-code-cache.js", "HOSTNET_CODE_CACHE"}
	sdkDefer  = preload{"hostnet-sdk-defer.js", "HOSTNET_SDK_DEFER"}
)

// programPreloads are the scripts preloaded into every program run, in order.
var programPreloads = []preload{codeCache, sdkDefer}

// withPreloads returns the program's environment with each of programPreloads
// appended to NODE_OPTIONS that is installed in binDir and not turned off.
func withPreloads(env []string, binDir string) []string {
	for _, p := range programPreloads {
		env = withPreload(env, binDir, p)
	}
	return env
}

// withPreload returns env with p's script appended to NODE_OPTIONS, when it is
// installed in binDir and not turned off; else env unchanged.
func withPreload(env []string, binDir string, p preload) []string {
	if v, _ := lookupEnv(env, p.offVar); preloadOff(v) {
		return env
	}
	script := filepath.Join(binDir, p.script)
	if st, err := os.Stat(script); err != nil || !st.Mode().IsRegular() {
		return env
	}
	nodeOptions, _ := lookupEnv(env, "NODE_OPTIONS")
	return withEnv(env, "NODE_OPTIONS", strings.TrimSpace(nodeOptions+" "+preloadOption(script)))
}

// preloadOff is true for the values of a preload's variable that turn it off
// (the preloads read the same ones).
func preloadOff(v string) bool {
	return slices.Contains([]string{"0", "off", "false", "no"}, strings.ToLower(strings.TrimSpace(v)))
}

// preloadOption is how NODE_OPTIONS preloads a script (which removes exactly
// this text again, so that processes the program starts do not load it).
func preloadOption(script string) string {
	return fmt.Sprintf("--require %q", script)
}
