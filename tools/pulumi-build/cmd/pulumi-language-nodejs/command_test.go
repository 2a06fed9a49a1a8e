package main

import (
	"slices"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

const runScript = "/p/node_modules/@pulumi/pulumi/cmd/run"

// request is a preview of the program in /p, as the 3.248.0 engine sends it,
// with the given Pulumi.yaml runtime options.
func request(t *testing.T, options map[string]any) *pulumirpc.RunRequest {
	t.Helper()
	opts, err := structpb.NewStruct(options)
	if err != nil {
		t.Fatalf("bad options in the test: %v", err)
	}
	return &pulumirpc.RunRequest{
		MonitorAddress:   "127.0.0.1:4001",
		Pwd:              "/p",
		Program:          ".",
		Project:          "proj",
		Stack:            "dev",
		Organization:     "organization",
		DryRun:           true,
		Parallel:         16,
		Config:           map[string]string{"proj:address": "10.0.0.1/24"},
		ConfigSecretKeys: []string{"proj:token"},
		Info: &pulumirpc.ProgramInfo{
			RootDirectory:    "/p",
			ProgramDirectory: "/p",
			EntryPoint:       ".",
			Options:          opts,
		},
	}
}

// lookup reads key from env as exec would: the last entry wins.
func lookup(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v, true
		}
	}
	return "", false
}

const unset = "<unset>"

func TestProgramCommandTypeScriptSettings(t *testing.T) {
	tests := []struct {
		name    string
		options map[string]any
		environ []string
		// What node is given for each variable (unset: absent).
		typescript, transpileOnly, tsconfig string
		nodeargs                            []string
	}{
		{
			name:       "type-checked TypeScript by default",
			typescript: "true", transpileOnly: unset, tsconfig: unset,
		},
		{
			name:       "typescript: true is the default",
			options:    map[string]any{"typescript": true},
			typescript: "true", transpileOnly: unset, tsconfig: unset,
		},
		{
			name:       "typescript: false runs JavaScript with no ts-node",
			options:    map[string]any{"typescript": false},
			typescript: unset, transpileOnly: unset, tsconfig: unset,
		},
		{
			// Pulumi only ever sets the variable to true; an inherited one stays.
			name:       "typescript: false keeps an inherited PULUMI_NODEJS_TYPESCRIPT",
			options:    map[string]any{"typescript": false},
			environ:    []string{"PULUMI_NODEJS_TYPESCRIPT=true"},
			typescript: "true", transpileOnly: unset, tsconfig: unset,
		},
		{
			name:       "PULUMI_NODEJS_TRANSPILE_ONLY=true from the user opts out of type-checking",
			environ:    []string{"PULUMI_NODEJS_TRANSPILE_ONLY=true"},
			typescript: "true", transpileOnly: "true", tsconfig: unset,
		},
		{
			name:       "an explicit PULUMI_NODEJS_TRANSPILE_ONLY=false stays false",
			environ:    []string{"PULUMI_NODEJS_TRANSPILE_ONLY=false"},
			typescript: "true", transpileOnly: "false", tsconfig: unset,
		},
		{
			name:       "an inherited PULUMI_NODEJS_TYPESCRIPT=false is overridden by the default",
			environ:    []string{"PULUMI_NODEJS_TYPESCRIPT=false"},
			typescript: "true", transpileOnly: unset, tsconfig: unset,
		},
		{
			name:       "tsconfig names the TypeScript project file, as written",
			options:    map[string]any{"tsconfig": "tsconfig.pulumi.json"},
			typescript: "true", transpileOnly: unset, tsconfig: "tsconfig.pulumi.json",
		},
		{
			name:       "tsconfig wins over an inherited PULUMI_NODEJS_TSCONFIG_PATH",
			options:    map[string]any{"tsconfig": "config/tsconfig.json"},
			environ:    []string{"PULUMI_NODEJS_TSCONFIG_PATH=other.json"},
			typescript: "true", transpileOnly: unset, tsconfig: "config/tsconfig.json",
		},
		{
			name:       "an inherited PULUMI_NODEJS_TSCONFIG_PATH is kept without the option",
			environ:    []string{"PULUMI_NODEJS_TSCONFIG_PATH=other.json"},
			typescript: "true", transpileOnly: unset, tsconfig: "other.json",
		},
		{
			name:       "nodeargs are split as a shell would and come before the run script",
			options:    map[string]any{"nodeargs": `--max-old-space-size=4096  --require "./a b.js" --title='x y'`},
			typescript: "true", transpileOnly: unset, tsconfig: unset,
			nodeargs: []string{"--max-old-space-size=4096", "--require", "./a b.js", "--title=x y"},
		},
		{
			name:       "an empty nodeargs adds nothing",
			options:    map[string]any{"nodeargs": ""},
			typescript: "true", transpileOnly: unset, tsconfig: unset,
		},
		{
			name:       "everything together",
			options:    map[string]any{"typescript": false, "tsconfig": "tsconfig.build.json", "nodeargs": "--enable-source-maps"},
			environ:    []string{"PULUMI_NODEJS_TRANSPILE_ONLY=true"},
			typescript: unset, transpileOnly: "true", tsconfig: "tsconfig.build.json",
			nodeargs: []string{"--enable-source-maps"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			environ := append([]string{"PATH=/usr/bin", "HOME=/root"}, tt.environ...)
			args, env, err := programCommand(request(t, tt.options), "127.0.0.1:4002", runScript, environ)
			if err != nil {
				t.Fatalf("programCommand: %v", err)
			}
			for key, want := range map[string]string{
				"PULUMI_NODEJS_TYPESCRIPT":     tt.typescript,
				"PULUMI_NODEJS_TRANSPILE_ONLY": tt.transpileOnly,
				"PULUMI_NODEJS_TSCONFIG_PATH":  tt.tsconfig,
				"PATH":                         "/usr/bin",
			} {
				got, ok := lookup(env, key)
				if !ok {
					got = unset
				}
				if got != want {
					t.Errorf("%s = %q, want %q", key, got, want)
				}
			}
			i := slices.Index(args, runScript)
			if i < 0 {
				t.Fatalf("the run script is not on node's command line: %q", args)
			}
			if got := args[:i]; !slices.Equal(got, tt.nodeargs) {
				t.Errorf("node arguments before the run script = %q, want %q", got, tt.nodeargs)
			}
		})
	}
}

func TestProgramCommandRunFlags(t *testing.T) {
	req := request(t, nil)
	req.Args = []string{"extra", "--flag"}
	args, env, err := programCommand(req, "127.0.0.1:4002", runScript, nil)
	if err != nil {
		t.Fatalf("programCommand: %v", err)
	}
	want := []string{
		runScript,
		"--monitor", "127.0.0.1:4001",
		"--engine", "127.0.0.1:4002",
		"--organization", "organization",
		"--project", "proj",
		"--root-directory", "/p",
		"--stack", "dev",
		"--pwd", "/p",
		"--dry-run",
		"--parallel", "16",
		".", "extra", "--flag",
	}
	if !slices.Equal(args, want) {
		t.Errorf("node arguments:\n got %q\nwant %q", args, want)
	}
	if got, _ := lookup(env, "PULUMI_CONFIG"); got != `{"proj:address":"10.0.0.1/24"}` {
		t.Errorf("PULUMI_CONFIG = %s", got)
	}
	if got, _ := lookup(env, "PULUMI_CONFIG_SECRET_KEYS"); got != `["proj:token"]` {
		t.Errorf("PULUMI_CONFIG_SECRET_KEYS = %s", got)
	}

	// An update (not a preview) of a stack with no configuration.
	req.DryRun, req.Config, req.ConfigSecretKeys, req.Args = false, nil, nil, nil
	args, env, _ = programCommand(req, "", runScript, nil)
	if slices.Contains(args, "--dry-run") || slices.Contains(args, "--engine") {
		t.Errorf("an update without an engine address got %q", args)
	}
	if got, _ := lookup(env, "PULUMI_CONFIG"); got != "{}" {
		t.Errorf("PULUMI_CONFIG = %s, want {}", got)
	}
	if got, _ := lookup(env, "PULUMI_CONFIG_SECRET_KEYS"); got != "[]" {
		t.Errorf("PULUMI_CONFIG_SECRET_KEYS = %s, want []", got)
	}
}

func TestProgramCommandRefusesBadOptions(t *testing.T) {
	tests := []struct {
		options map[string]any
		want    string
	}{
		{map[string]any{"typescript": "false"}, `runtime.options.typescript in Pulumi.yaml: it is "false"; make it true or false`},
		{map[string]any{"typescript": nil}, `runtime.options.typescript in Pulumi.yaml: it is <nil>; make it true or false`},
		{map[string]any{"tsconfig": true}, `runtime.options.tsconfig in Pulumi.yaml: it is true; make it the path of a tsconfig file`},
		{map[string]any{"nodeargs": []any{"--inspect"}}, `runtime.options.nodeargs in Pulumi.yaml: it is []interface {}{"--inspect"}; make it one string`},
		{map[string]any{"nodeargs": `--require "./unclosed`}, `runtime.options.nodeargs in Pulumi.yaml: EOF found when expecting closing quote; quote it as a shell would`},
	}
	for _, tt := range tests {
		_, _, err := programCommand(request(t, tt.options), "", runScript, nil)
		if err == nil {
			t.Errorf("options %v: accepted, want an error containing %q", tt.options, tt.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), "failed to read ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("options %v: error %q, want one containing %q", tt.options, err, tt.want)
		}
	}
}
