package main

// The type-check a TypeScript program passed, remembered: `pulumi up` runs the
// program twice (preview, then update) and every preview runs it again, and
// ts-node's type-check costs about 2 s of CPU each time on a small program.
// When everything the check reads is as it was at a run that type-checked and
// succeeded, this run transpiles only (PULUMI_NODEJS_TRANSPILE_ONLY=true, for
// this run alone); any change, and the program is checked again. So a type
// error is always reported, by the first run that sees it, and a program
// that does not change is checked once.
//
// What a check depends on, and how each is covered by the key:
//   - the project's sources and settings: every .ts/.tsx/.mts/.cts/.js/.jsx/
//     .mjs/.cjs/.json file under the project's root and the program's folder
//     (node_modules and dot-folders aside), by content; tsconfig*.json and
//     package.json in the folders above (an `extends` of a parent config);
//   - the installed packages (their .d.ts files, TypeScript and ts-node
//     themselves): the package manager's record in every node_modules from
//     the program's folder up (npm's .package-lock.json, yarn's, pnpm's), and
//     the files of each package linked into one (a workspace, `npm link`),
//     by content; a node_modules with no such record is not remembered;
//   - sources outside the project that the program loaded (`../lib/x.ts`):
//     listed by the run that passed (hostnet-typecheck-record.js, preloaded
//     through NODE_OPTIONS) and compared by content;
//   - how the program is run: runtime.options, and TS_NODE_* and the
//     PULUMI_NODEJS_* variables that ts-node reads.
// Not covered: a file edited by hand inside an installed package (npm's
// record does not change), and type-only imports of files outside the
// project (they are never loaded). `HOSTNET_TYPECHECK_CACHE=off` turns the
// memory off; an explicit PULUMI_NODEJS_TRANSPILE_ONLY, an ES-module program
// or `typescript: false` is left as it is.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// Bounds on what is hashed: a tree larger than this is checked every time.
const (
	maxHashedFiles = 20000
	maxHashedBytes = 128 << 20
	// Remembered checks older than this are forgotten when another is written.
	stampLifetime = 14 * 24 * time.Hour
)

var sourceExtensions = []string{".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs", ".json"}

// Records of the installed packages, by package manager.
var installRecords = []string{".package-lock.json", ".yarn-state.yml", ".yarn-integrity", ".modules.yaml"}

// typecheckMemory is where remembered checks live, or "" when turned off.
func typecheckMemory(environ []string) string {
	if v, _ := lookupEnv(environ, "HOSTNET_TYPECHECK_CACHE"); v != "" {
		if v == "off" {
			return ""
		}
		return v
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "hostnet", "typecheck")
}

// lookupEnv reads key from environ as exec would: the last entry wins.
func lookupEnv(environ []string, key string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(environ[i], key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// checkKey is the key of everything a type-check of the program depends on,
// or "" (with the reason) when this run's check cannot be remembered.
func checkKey(root, programDir string, opts nodeOptions, environ []string) (key string, why string) {
	if !opts.typescript {
		return "", "not TypeScript"
	}
	if v, _ := lookupEnv(environ, "PULUMI_NODEJS_TRANSPILE_ONLY"); v != "" {
		return "", "PULUMI_NODEJS_TRANSPILE_ONLY is set"
	}
	if isESModule(programDir) {
		return "", "an ES module"
	}
	h := &hasher{h: sha256.New()}
	fmt.Fprintf(h.h, "hostnet-typecheck/1\x00%s\x00%s\x00%v\x00%q\x00", root, programDir, opts.typescript, opts.tsconfig)
	fmt.Fprintf(h.h, "%q\x00", opts.nodeargs)
	var vars []string
	for _, kv := range environ {
		if strings.HasPrefix(kv, "TS_NODE_") || strings.HasPrefix(kv, "PULUMI_NODEJS_") {
			vars = append(vars, kv)
		}
	}
	sort.Strings(vars)
	fmt.Fprintf(h.h, "%q\x00", vars)

	for _, t := range projectTrees(root, programDir) {
		if err := h.tree(t); err != nil {
			return "", err.Error()
		}
	}
	for d := filepath.Dir(root); ; d = filepath.Dir(d) {
		for _, name := range []string{"package.json", "tsconfig.json"} {
			h.fileIfAny(filepath.Join(d, name))
		}
		if matches, _ := filepath.Glob(filepath.Join(d, "tsconfig*.json")); len(matches) > 0 {
			for _, m := range matches {
				h.fileIfAny(m)
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if opts.tsconfig != "" {
		h.fileIfAny(filepath.Join(programDir, opts.tsconfig))
	}
	for d := programDir; ; d = filepath.Dir(d) {
		modules := filepath.Join(d, "node_modules")
		if info, err := os.Stat(modules); err == nil && info.IsDir() {
			if err := h.nodeModules(modules); err != nil {
				return "", err.Error()
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if h.err != nil {
		return "", h.err.Error()
	}
	return hex.EncodeToString(h.h.Sum(nil)), ""
}

// projectTrees are the folders whose sources the key hashes whole: the
// project's root, and the program's folder when it lies outside it.
func projectTrees(root, programDir string) []string {
	if rel, err := filepath.Rel(root, programDir); err != nil || strings.HasPrefix(rel, "..") {
		return []string{root, programDir}
	}
	return []string{root}
}

func isESModule(programDir string) bool {
	b, err := os.ReadFile(filepath.Join(programDir, "package.json"))
	if err != nil {
		return false
	}
	var pkg struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(b, &pkg) == nil && pkg.Type == "module"
}

type hasher struct {
	h            hash.Hash
	files, bytes int
	err          error
}

// file hashes a file's path and content.
func (h *hasher) file(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(h.h, "%s\x00", path)
	n, err := io.Copy(h.h, f)
	h.files++
	h.bytes += int(n)
	if h.files > maxHashedFiles || h.bytes > maxHashedBytes {
		return errors.New("too many files to remember its check")
	}
	h.h.Write([]byte{0})
	return err
}

// fileIfAny hashes a file if it exists, and its absence otherwise.
func (h *hasher) fileIfAny(path string) {
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(h.h, "-%s\x00", path)
		return
	}
	if err := h.file(path); err != nil && h.err == nil {
		h.err = err
	}
}

// tree hashes the source files under dir, node_modules and dot-folders aside.
func (h *hasher) tree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		if !slices.Contains(sourceExtensions, filepath.Ext(path)) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			// A linked file counts by what it points to; a link to a folder is not followed.
			if info, err := os.Stat(path); err != nil || !info.Mode().IsRegular() {
				return nil
			}
		}
		return h.file(path)
	})
}

// nodeModules hashes the package manager's record of a node_modules and the
// files of each package linked into it; a node_modules without a record
// cannot be trusted to show a change.
func (h *hasher) nodeModules(dir string) error {
	recorded := false
	for _, name := range installRecords {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			if err := h.file(filepath.Join(dir, name)); err != nil {
				return err
			}
			recorded = true
		}
	}
	if !recorded {
		return fmt.Errorf("%s has no record of its packages (%s)", dir, strings.Join(installRecords, ", "))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var linked []string
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), "@") && e.IsDir() {
			scoped, err := os.ReadDir(path)
			if err != nil {
				return err
			}
			for _, s := range scoped {
				if s.Type()&fs.ModeSymlink != 0 {
					linked = append(linked, filepath.Join(path, s.Name()))
				}
			}
			continue
		}
		if e.Type()&fs.ModeSymlink != 0 {
			linked = append(linked, path)
		}
	}
	for _, l := range linked {
		target, err := filepath.EvalSymlinks(l)
		if err != nil {
			continue // a dangling link: nothing there to read
		}
		fmt.Fprintf(h.h, "link %s -> %s\x00", l, target)
		if info, err := os.Stat(target); err == nil && info.IsDir() {
			if err := h.tree(target); err != nil {
				return err
			}
		}
	}
	return nil
}

// stamp is a remembered check: the files outside the project that the
// program loaded, with their content's hash.
type stamp struct {
	Loaded map[string]string `json:"loaded"`
}

// rememberedCheck reports whether a run with key passed the type-check and
// nothing it loaded from outside the project has changed since.
func rememberedCheck(memory, key string) bool {
	b, err := os.ReadFile(filepath.Join(memory, key+".json"))
	if err != nil {
		return false
	}
	var s stamp
	if json.Unmarshal(b, &s) != nil {
		return false
	}
	for path, sum := range s.Loaded {
		if got, err := fileSum(path); err != nil || got != sum {
			return false
		}
	}
	return true
}

// rememberCheck records that the run with key type-checked and succeeded,
// with the files outside the project it loaded (listed in record, one path a
// line, by hostnet-typecheck-record.js), and forgets checks not used for
// stampLifetime.
func rememberCheck(memory, key, record string) error {
	s := stamp{Loaded: map[string]string{}}
	b, err := os.ReadFile(record)
	if err != nil {
		return fmt.Errorf("the run left no record of what it loaded: %w", err)
	}
	for _, path := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if path == "" {
			continue
		}
		sum, err := fileSum(path)
		if err != nil {
			return err
		}
		s.Loaded[path] = sum
	}
	if err := os.MkdirAll(memory, 0o700); err != nil {
		return err
	}
	out, _ := json.Marshal(s)
	tmp, err := os.CreateTemp(memory, key+".*.tmp")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	tmp.Close()
	if err := os.Rename(tmp.Name(), filepath.Join(memory, key+".json")); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	forgetOld(memory)
	return nil
}

func forgetOld(memory string) {
	entries, err := os.ReadDir(memory)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > stampLifetime {
			os.Remove(filepath.Join(memory, e.Name()))
		}
	}
}

// touch marks a remembered check as used (its lifetime starts again).
func touch(memory, key string) {
	now := time.Now()
	_ = os.Chtimes(filepath.Join(memory, key+".json"), now, now)
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
