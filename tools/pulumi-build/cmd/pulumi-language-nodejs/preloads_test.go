package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sources are the repository's files build-pulumi.sh installs as each preload.
var sources = map[preload]string{
	codeCache: filepath.Join("..", "..", "..", "codecache", "preload.js"),
	sdkDefer:  filepath.Join("..", "..", "..", "sdkdefer", "preload.js"),
}

// binWithPreloads is a toolchain folder holding the given preloads (the
// repository's own files, as build-pulumi.sh installs them), its path with a
// space in it.
func binWithPreloads(t *testing.T, ps ...preload) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tool chain", "bin")
	for _, p := range ps {
		text, err := os.ReadFile(sources[p])
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(bin, p.script), string(text))
	}
	return bin
}

func TestPreloadsAreAppendedToNodeOptionsInOrder(t *testing.T) {
	bin := binWithPreloads(t, codeCache, sdkDefer)
	both := `--require "` + filepath.Join(bin, codeCache.script) + `" --require "` + filepath.Join(bin, sdkDefer.script) + `"`
	for _, c := range []struct {
		name        string
		environ     []string
		nodeOptions string
	}{
		{"alone", []string{"PATH=/usr/bin"}, both},
		{"after the user's options", []string{"NODE_OPTIONS=--max-old-space-size=4096"}, "--max-old-space-size=4096 " + both},
		{"after the type-check recorder", []string{`NODE_OPTIONS=--require "/t/hostnet-typecheck-record.js"`}, `--require "/t/hostnet-typecheck-record.js" ` + both},
		{"when the settings say on", []string{"HOSTNET_CODE_CACHE=1", "HOSTNET_SDK_DEFER=yes"}, both},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := withPreloads(c.environ, bin)
			if got, _ := lookup(env, "NODE_OPTIONS"); got != c.nodeOptions {
				t.Errorf("NODE_OPTIONS = %q, want %q", got, c.nodeOptions)
			}
			n := 0
			for _, kv := range env {
				if strings.HasPrefix(kv, "NODE_OPTIONS=") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d NODE_OPTIONS entries in %q, want one", n, env)
			}
		})
	}
}

func TestEachPreloadIsLeftOutWhenOffOrNotInstalled(t *testing.T) {
	for _, p := range programPreloads {
		other := codeCache
		if p == codeCache {
			other = sdkDefer
		}
		bin := binWithPreloads(t, p, other)
		otherOnly := `--trace-warnings --require "` + filepath.Join(bin, other.script) + `"`
		for _, off := range []string{"0", "off", "OFF", "false", "no", " 0 "} {
			environ := []string{"NODE_OPTIONS=--trace-warnings", p.offVar + "=" + off}
			if got, _ := lookup(withPreloads(environ, bin), "NODE_OPTIONS"); got != otherOnly {
				t.Errorf("%s=%q: NODE_OPTIONS = %q, want %q", p.offVar, off, got, otherOnly)
			}
		}
		environ := []string{"NODE_OPTIONS=--trace-warnings"}
		if env := withPreload(environ, t.TempDir(), p); !slices.Equal(env, environ) {
			t.Errorf("without %s installed, the environment became %q", p.script, env)
		}
	}
}

// Each preload removes exactly what the language host appended, so that the
// Node.js processes the program starts do not load it; read back by node itself.
func TestPreloadsRemoveThemselvesFromNodeOptions(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not on PATH")
	}
	bin := binWithPreloads(t, codeCache, sdkDefer)
	for _, user := range []string{"", "--max-old-space-size=4096"} {
		environ := []string{"PATH=" + os.Getenv("PATH"), "HOSTNET_CODE_CACHE_DIR=" + t.TempDir()}
		if user != "" {
			environ = append(environ, "NODE_OPTIONS="+user)
		}
		cmd := exec.Command("node", "-e", `
			const loaded = (name) => Object.keys(require.cache).some((f) => f.endsWith(name));
			console.log(JSON.stringify({
				cache: loaded("hostnet-code-cache.js"),
				defer: loaded("hostnet-sdk-defer.js"),
				options: process.env.NODE_OPTIONS ?? "<unset>",
			}));`)
		cmd.Env = withPreloads(environ, bin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("node: %v\n%s", err, out)
		}
		wantOptions := user
		if wantOptions == "" {
			wantOptions = "<unset>"
		}
		want := `{"cache":true,"defer":true,"options":"` + wantOptions + `"}`
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("with NODE_OPTIONS %q: node saw %s, want %s", user, got, want)
		}
	}
}
