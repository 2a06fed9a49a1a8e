package main

// What Run starts, worked out from the request and the host's environment
// alone so that it can be table-tested: node's arguments and environment.
//
// It does what Pulumi's own language host does (sdk/nodejs/cmd/pulumi-language-nodejs:
// parseOptions and the start of the node process, alike in the 3.x releases
// around 3.248.0), for what `@pulumi/pulumi/cmd/run` 3.248.0 reads:
//
//   - runtime.options.typescript (default true): true sets PULUMI_NODEJS_TYPESCRIPT=true
//     and run loads the program through ts-node; false leaves the variable alone,
//     and the program must then be JavaScript.
//   - runtime.options.tsconfig: PULUMI_NODEJS_TSCONFIG_PATH, as written; run reads
//     it from the program directory.
//   - runtime.options.nodeargs: split as a shell would (no expansion), put before
//     the run script on node's command line.
//   - PULUMI_NODEJS_TRANSPILE_ONLY and everything else in the environment pass
//     through untouched. ts-node then type-checks unless that variable is "true",
//     or, when it is unset or empty, unless the tsconfig sets compilerOptions.noCheck.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/shlex"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// nodeOptions are the `runtime.options` of Pulumi.yaml that change how the
// program runs. (`packagemanager` only matters to `pulumi install`, which this
// host does not implement.)
type nodeOptions struct {
	typescript bool
	tsconfig   string
	nodeargs   []string
}

func parseOptions(options map[string]any) (nodeOptions, error) {
	opts := nodeOptions{typescript: true}
	if v, set := options["typescript"]; set {
		b, ok := v.(bool)
		if !ok {
			return opts, optionError("typescript", v, "true or false")
		}
		opts.typescript = b
	}
	if v, set := options["tsconfig"]; set {
		s, ok := v.(string)
		if !ok {
			return opts, optionError("tsconfig", v, "the path of a tsconfig file, relative to the program")
		}
		opts.tsconfig = s
	}
	if v, set := options["nodeargs"]; set {
		s, ok := v.(string)
		if !ok {
			return opts, optionError("nodeargs", v, `one string of node arguments, such as "--max-old-space-size=4096"`)
		}
		args, err := shlex.Split(s)
		if err != nil {
			return opts, fmt.Errorf("failed to read runtime.options.nodeargs in Pulumi.yaml: %v; quote it as a shell would", err)
		}
		opts.nodeargs = args
	}
	return opts, nil
}

func optionError(name string, got any, want string) error {
	return fmt.Errorf("failed to read runtime.options.%s in Pulumi.yaml: it is %#v; make it %s", name, got, want)
}

// programCommand returns node's arguments and environment for running the
// program of req with `@pulumi/pulumi/cmd/run` (runScript), given the host's
// own environment.
func programCommand(req *pulumirpc.RunRequest, engineAddress, runScript string, environ []string) (args, env []string, err error) {
	info := req.GetInfo()
	opts, err := parseOptions(info.GetOptions().AsMap())
	if err != nil {
		return nil, nil, err
	}

	args = append(slices.Clone(opts.nodeargs), runScript)
	flag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flag("monitor", req.GetMonitorAddress())
	flag("engine", engineAddress)
	flag("organization", req.GetOrganization())
	flag("project", req.GetProject())
	flag("root-directory", info.GetRootDirectory())
	flag("stack", req.GetStack())
	flag("pwd", info.GetProgramDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flag("parallel", strconv.Itoa(int(req.GetParallel())))
	// Relative to --pwd; "." lets run take package.json's `main` or `exports`.
	args = append(args, info.GetEntryPoint())
	args = append(args, req.GetArgs()...)

	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	env = withEnv(environ, "PULUMI_CONFIG", jsonText(config))
	env = withEnv(env, "PULUMI_CONFIG_SECRET_KEYS", jsonText(secretKeys))
	if opts.typescript {
		env = withEnv(env, "PULUMI_NODEJS_TYPESCRIPT", "true")
	}
	if opts.tsconfig != "" {
		env = withEnv(env, "PULUMI_NODEJS_TSCONFIG_PATH", opts.tsconfig)
	}
	return args, env, nil
}

// withEnv returns a copy of env with key set to value, in place of any
// inherited value (exec would take the last one; one entry per key reads better).
func withEnv(env []string, key, value string) []string {
	out := slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, key+"=") })
	return append(out, key+"="+value)
}

// jsonText encodes strings, maps and lists of strings, which cannot fail.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
