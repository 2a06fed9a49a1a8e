package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// binWithPreload is a toolchain folder holding the code cache's preload (the
// repository's own file, as build-pulumi.sh installs it), its path with a
// space in it.
func binWithPreload(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tool chain", "bin")
	text, err := os.ReadFile(filepath.Join("..", "..", "..", "codecache", "preload.js"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(bin, codeCacheScript), string(text))
	return bin
}

func TestCodeCacheIsPreloadedThroughNodeOptions(t *testing.T) {
	bin := binWithPreload(t)
	want := `--require "` + filepath.Join(bin, codeCacheScript) + `"`
	for _, c := range []struct {
		name        string
		environ     []string
		nodeOptions string
	}{
		{"alone", []string{"PATH=/usr/bin"}, want},
		{"after the user's options", []string{"NODE_OPTIONS=--max-old-space-size=4096"}, "--max-old-space-size=4096 " + want},
		{"after the type-check recorder", []string{`NODE_OPTIONS=--require "/t/hostnet-typecheck-record.js"`}, `--require "/t/hostnet-typecheck-record.js" ` + want},
		{"when the setting says on", []string{"HOSTNET_CODE_CACHE=1"}, want},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := withCodeCache(c.environ, bin)
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

func TestCodeCacheIsLeftOutWhenOffOrNotInstalled(t *testing.T) {
	bin := binWithPreload(t)
	for _, off := range []string{"0", "off", "OFF", "false", "no", " 0 "} {
		environ := []string{"NODE_OPTIONS=--trace-warnings", "HOSTNET_CODE_CACHE=" + off}
		if env := withCodeCache(environ, bin); !slices.Equal(env, environ) {
			t.Errorf("HOSTNET_CODE_CACHE=%q: the environment became %q", off, env)
		}
	}
	environ := []string{"NODE_OPTIONS=--trace-warnings"}
	if env := withCodeCache(environ, t.TempDir()); !slices.Equal(env, environ) {
		t.Errorf("without the preload installed, the environment became %q", env)
	}
}

// The preload removes exactly what the language host appended, so that the
// Node.js processes the program starts do not load it; read back by node itself.
func TestCodeCachePreloadRemovesItselfFromNodeOptions(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not on PATH")
	}
	bin := binWithPreload(t)
	for _, user := range []string{"", "--max-old-space-size=4096"} {
		environ := []string{"PATH=" + os.Getenv("PATH"), "HOSTNET_CODE_CACHE_DIR=" + t.TempDir()}
		if user != "" {
			environ = append(environ, "NODE_OPTIONS="+user)
		}
		cmd := exec.Command("node", "-e", `
			const loaded = Object.keys(require.cache).some((f) => f.endsWith("hostnet-code-cache.js"));
			console.log(JSON.stringify({ loaded, options: process.env.NODE_OPTIONS ?? "<unset>" }));`)
		cmd.Env = withCodeCache(environ, bin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("node: %v\n%s", err, out)
		}
		wantOptions := user
		if wantOptions == "" {
			wantOptions = "<unset>"
		}
		want := `{"loaded":true,"options":"` + wantOptions + `"}`
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("with NODE_OPTIONS %q: node saw %s, want %s", user, got, want)
		}
	}
}
