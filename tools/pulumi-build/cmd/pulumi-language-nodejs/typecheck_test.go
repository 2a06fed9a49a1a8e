package main

import (
	"os"
	"path/filepath"
	"testing"
)

// project makes a project folder under a scratch root: Pulumi.yaml, a
// program, a tsconfig, an npm node_modules with its record and a package, and
// a linked workspace package beside the project. Returns the scratch root and
// the project folder.
func project(t *testing.T) (string, string) {
	t.Helper()
	top := t.TempDir()
	dir := filepath.Join(top, "repo", "stack")
	write(t, filepath.Join(dir, "Pulumi.yaml"), "name: p\nruntime: nodejs\n")
	write(t, filepath.Join(dir, "index.ts"), "export const n: number = 1;\n")
	write(t, filepath.Join(dir, "lib", "net.ts"), "export const m = 2;\n")
	write(t, filepath.Join(dir, "tsconfig.json"), `{"extends": "../tsconfig.base.json"}`)
	write(t, filepath.Join(dir, "package.json"), `{"name": "p"}`)
	write(t, filepath.Join(dir, "README.md"), "notes\n")
	write(t, filepath.Join(dir, "Pulumi.dev.yaml"), "config: {}\n")
	write(t, filepath.Join(top, "repo", "tsconfig.base.json"), `{"compilerOptions": {"strict": true}}`)
	write(t, filepath.Join(dir, "node_modules", ".package-lock.json"), `{"packages": {"node_modules/@types/node": {"version": "20.0.0"}}}`)
	write(t, filepath.Join(dir, "node_modules", "@types", "node", "index.d.ts"), "declare const x: number;\n")
	write(t, filepath.Join(top, "repo", "lib", "index.d.ts"), "export declare const y: string;\n")
	if err := os.Symlink(filepath.Join(top, "repo", "lib"), filepath.Join(dir, "node_modules", "mylib")); err != nil {
		t.Fatal(err)
	}
	return top, dir
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

var ts = nodeOptions{typescript: true}

func key(t *testing.T, dir string, opts nodeOptions, environ []string) string {
	t.Helper()
	k, why := checkKey(dir, dir, opts, environ)
	if k == "" {
		t.Fatalf("no key: %s", why)
	}
	return k
}

func TestCheckKeyChangesWithWhatTheCheckReads(t *testing.T) {
	changes := []struct {
		name   string
		change func(top, dir string)
	}{
		{"the program", func(_, dir string) { write(t, filepath.Join(dir, "index.ts"), "export const n: number = 'x';\n") }},
		{"a module of the project", func(_, dir string) { write(t, filepath.Join(dir, "lib", "net.ts"), "export const m = 3;\n") }},
		{"a new file of the project", func(_, dir string) { write(t, filepath.Join(dir, "lib", "more.ts"), "export {};\n") }},
		{"a removed file of the project", func(_, dir string) { os.Remove(filepath.Join(dir, "lib", "net.ts")) }},
		{"the tsconfig", func(_, dir string) { write(t, filepath.Join(dir, "tsconfig.json"), `{}`) }},
		{"a tsconfig it extends, above the project", func(top, _ string) {
			write(t, filepath.Join(top, "repo", "tsconfig.base.json"), `{"compilerOptions": {"strict": false}}`)
		}},
		{"npm's record of the packages", func(_, dir string) {
			write(t, filepath.Join(dir, "node_modules", ".package-lock.json"), `{"packages": {"node_modules/@types/node": {"version": "20.1.0"}}}`)
		}},
		{"a file of a linked package", func(top, _ string) {
			write(t, filepath.Join(top, "repo", "lib", "index.d.ts"), "export declare const y: number;\n")
		}},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			top, dir := project(t)
			before := key(t, dir, ts, nil)
			if again := key(t, dir, ts, nil); again != before {
				t.Fatalf("the key is not stable: %s then %s", before, again)
			}
			c.change(top, dir)
			if after := key(t, dir, ts, nil); after == before {
				t.Errorf("the key did not change")
			}
		})
	}
}

func TestCheckKeyIgnoresWhatTheCheckDoesNotRead(t *testing.T) {
	changes := []struct {
		name   string
		change func(dir string)
	}{
		{"a Markdown file", func(dir string) { write(t, filepath.Join(dir, "README.md"), "other notes\n") }},
		{"the stack's settings", func(dir string) { write(t, filepath.Join(dir, "Pulumi.dev.yaml"), "config: {a: 1}\n") }},
		{"a file in a dot-folder (a state backend)", func(dir string) {
			write(t, filepath.Join(dir, ".pulumi-state", ".pulumi", "stacks", "p", "dev.json"), `{"v": 2}`)
		}},
		{"an installed package's file (npm's record stands for it)", func(dir string) {
			write(t, filepath.Join(dir, "node_modules", "@types", "node", "index.d.ts"), "declare const x: string;\n")
		}},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			_, dir := project(t)
			before := key(t, dir, ts, nil)
			c.change(dir)
			if after := key(t, dir, ts, nil); after != before {
				t.Errorf("the key changed")
			}
		})
	}
}

func TestCheckKeyChangesWithHowTheProgramRuns(t *testing.T) {
	_, dir := project(t)
	base := key(t, dir, ts, []string{"HOME=/root"})
	for name, k := range map[string]string{
		"a TS_NODE_ variable":      key(t, dir, ts, []string{"HOME=/root", "TS_NODE_COMPILER_OPTIONS={}"}),
		"runtime.options.tsconfig": key(t, dir, nodeOptions{typescript: true, tsconfig: "tsconfig.json"}, nil),
		"runtime.options.nodeargs": key(t, dir, nodeOptions{typescript: true, nodeargs: []string{"--inspect"}}, nil),
	} {
		if k == base {
			t.Errorf("%s: the key did not change", name)
		}
	}
	if k := key(t, dir, ts, []string{"HOME=/elsewhere"}); k != base {
		t.Errorf("an unrelated variable changed the key")
	}
}

func TestCheckKeyRefusesWhatItCannotVouchFor(t *testing.T) {
	cases := []struct {
		name    string
		opts    nodeOptions
		environ []string
		change  func(dir string)
	}{
		{name: "JavaScript programs", opts: nodeOptions{typescript: false}},
		{name: "an explicit PULUMI_NODEJS_TRANSPILE_ONLY=false", opts: ts, environ: []string{"PULUMI_NODEJS_TRANSPILE_ONLY=false"}},
		{name: "an explicit PULUMI_NODEJS_TRANSPILE_ONLY=true", opts: ts, environ: []string{"PULUMI_NODEJS_TRANSPILE_ONLY=true"}},
		{name: "an ES module", opts: ts, change: func(dir string) {
			write(t, filepath.Join(dir, "package.json"), `{"name": "p", "type": "module"}`)
		}},
		{name: "a node_modules with no record of its packages", opts: ts, change: func(dir string) {
			os.Remove(filepath.Join(dir, "node_modules", ".package-lock.json"))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, dir := project(t)
			if c.change != nil {
				c.change(dir)
			}
			if k, why := checkKey(dir, dir, c.opts, c.environ); k != "" || why == "" {
				t.Errorf("got key %q (reason %q); want none, with a reason", k, why)
			}
		})
	}
}

func TestRememberedCheckComparesTheFilesLoadedFromOutside(t *testing.T) {
	top, _ := project(t)
	memory := filepath.Join(top, "memory")
	outside := filepath.Join(top, "shared", "net.ts")
	write(t, outside, "export const z = 1;\n")
	record := filepath.Join(top, "record.txt")
	write(t, record, outside+"\n")

	if rememberedCheck(memory, "k1") {
		t.Fatal("a check nobody made is remembered")
	}
	if err := rememberCheck(memory, "k1", record); err != nil {
		t.Fatal(err)
	}
	if !rememberedCheck(memory, "k1") {
		t.Fatal("the check made is not remembered")
	}
	if rememberedCheck(memory, "k2") {
		t.Fatal("another key is remembered")
	}
	write(t, outside, "export const z = 2;\n")
	if rememberedCheck(memory, "k1") {
		t.Error("a check is remembered after a file it loaded from outside the project changed")
	}
	os.Remove(outside)
	if rememberedCheck(memory, "k1") {
		t.Error("a check is remembered after a file it loaded from outside the project was removed")
	}
}

func TestTypecheckMemoryCanBeTurnedOff(t *testing.T) {
	if got := typecheckMemory([]string{"HOSTNET_TYPECHECK_CACHE=off"}); got != "" {
		t.Errorf("off: got %q", got)
	}
	if got := typecheckMemory([]string{"HOSTNET_TYPECHECK_CACHE=/tmp/x"}); got != "/tmp/x" {
		t.Errorf("a folder: got %q", got)
	}
}
