// Command pulumi-language-nodejs is this project's own Node.js language host
// for the Pulumi engine.
//
// Why it exists: Pulumi's own language host lives in a Go module that Pulumi
// never tags, and the Go module proxy reachable here does not serve it. The
// engine only needs a small gRPC contract from a language host: answer the
// handshake, report no plugins (every resource here is a dynamic one), and run
// the program. Running the program means starting Node.js on
// `@pulumi/pulumi/cmd/run` (shipped in the npm package) with the monitor and
// engine addresses, exactly the interface that script documents, with the
// arguments and environment Pulumi's own host gives it: TypeScript programs are
// type-checked unless the project opts out as Pulumi allows (command.go).
//
// What it does not do: `pulumi new`, `pulumi install`, code generation and
// `pulumi about` program dependencies answer "unimplemented".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is stamped at build time to the Pulumi release it is built against.
var version = "dev"

// exitLoggedError is the exit code `@pulumi/pulumi/cmd/run` uses when it has
// already reported the error to the engine: the engine must not report it again.
const exitLoggedError = 32

type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
}

func main() {
	flag.String("tracing", "", "ignored: tracing endpoint")
	flag.String("root", "", "ignored: project root (taken from each request instead)")
	flag.Parse()

	host := &languageHost{}
	if flag.NArg() > 0 {
		host.engineAddress = flag.Arg(0)
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: failed to start the gRPC server: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from our first line of output.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: gRPC server stopped: %v\n", err)
		os.Exit(1)
	}
}

func (h *languageHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.engineAddress = req.GetEngineAddress()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *languageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// Dynamic providers are served by the engine's bundled
// pulumi-resource-pulumi-nodejs, so no plugin ever has to be downloaded.
func (h *languageHost) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *languageHost) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	runScript, err := findRunScript(req.GetInfo().GetProgramDirectory())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	args, env, err := programCommand(req, h.engineAddress, runScript, os.Environ())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	env, remember := checkOnce(req, env)
	if exe, err := os.Executable(); err == nil {
		env = withPreloads(env, filepath.Dir(exe))
	}
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = req.GetPwd()
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err = cmd.Run()
	if remember != nil {
		remember(err == nil)
	}
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == exitLoggedError {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("the Node.js program exited with code %d", exitErr.ExitCode()),
			}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("failed to start node: %v", err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// checkOnce returns the program's environment with the type-check turned
// off when an earlier run checked the same inputs (typecheck.go), or set up
// to record what this run loads, with a function to call when it has ended
// that remembers the check if the run succeeded. Any failure here only means
// the check runs as usual.
func checkOnce(req *pulumirpc.RunRequest, env []string) ([]string, func(succeeded bool)) {
	memory := typecheckMemory(env)
	exe, err := os.Executable()
	if memory == "" || err != nil {
		return env, nil
	}
	recorder := filepath.Join(filepath.Dir(exe), "hostnet-typecheck-record.js")
	if _, err := os.Stat(recorder); err != nil {
		return env, nil
	}
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return env, nil
	}
	root, programDir := req.GetInfo().GetRootDirectory(), req.GetInfo().GetProgramDirectory()
	key, _ := checkKey(root, programDir, opts, env)
	if key == "" {
		return env, nil
	}
	if rememberedCheck(memory, key) {
		touch(memory, key)
		return withEnv(env, "PULUMI_NODEJS_TRANSPILE_ONLY", "true"), nil
	}
	record, err := os.CreateTemp("", "hostnet-typecheck-*.txt")
	if err != nil {
		return env, nil
	}
	record.Close()
	nodeOptions, _ := lookupEnv(env, "NODE_OPTIONS")
	env = withEnv(env, "NODE_OPTIONS", strings.TrimSpace(nodeOptions+" "+preloadOption(recorder)))
	env = withEnv(env, "HOSTNET_TYPECHECK_RECORD", record.Name())
	env = withEnv(env, "HOSTNET_TYPECHECK_TREES", strings.Join(projectTrees(root, programDir), string(os.PathListSeparator)))
	return env, func(succeeded bool) {
		defer os.Remove(record.Name())
		if succeeded {
			if err := rememberCheck(memory, key, record.Name()); err != nil {
				fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: failed to remember the type-check: %v; the next run checks again\n", err)
			}
		}
	}
}

// findRunScript walks up from the program's folder to the nearest
// node_modules/@pulumi/pulumi/cmd/run, as Node's own resolution would.
func findRunScript(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, "node_modules", "@pulumi", "pulumi", "cmd", "run")
		if _, err := os.Stat(filepath.Join(candidate, "index.js")); err == nil {
			return candidate, nil
		}
		if parent := filepath.Dir(d); parent == d {
			break
		}
	}
	return "", fmt.Errorf("failed to find @pulumi/pulumi/cmd/run above %q: no node_modules holds it; run `npm install` in the project first", dir)
}
