#!/usr/bin/env bash
# Builds the Pulumi CLI and this project's Node.js language host from Go
# modules (no release download is reachable here) into $HOSTNET_TOOLCHAIN/bin,
# next to the dynamic-provider host script that ships in @pulumi/pulumi.
# Cached by a key over the pinned version and the build module's files, so a
# second run on the same machine costs a hash.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/toolchain.env.sh"
build_dir=$root/tools/pulumi-build
bin=$HOSTNET_TOOLCHAIN/bin

# The key covers every source that goes into the binaries, the language host's
# included, so that a changed host is rebuilt and reaches users; tests are not
# built into them (scripts/test-go.sh runs those).
key=$( (echo "$PULUMI_VERSION"; go version; cd "$build_dir" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) ! -name '*_test.go' | sort | xargs sha256sum) | sha256sum | cut -c1-16)
if [ -x "$bin/pulumi" ] && [ -x "$bin/pulumi-language-nodejs" ] && [ "$(cat "$bin/.key" 2>/dev/null)" = "$key" ]; then
  echo "    cached (key $key)"
else
  mkdir -p "$bin"
  log=$HOSTNET_CACHE/build-pulumi.log
  echo "    cold build: downloading about 300 Go modules and compiling on $(nproc) cores; this takes minutes. Log: $log"
  ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION -X main.version=$PULUMI_VERSION"
  (
    cd "$build_dir"
    export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
    go build -v -trimpath -tags osusergo,grpcnotrace -ldflags "$ldflags" -o "$bin/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    go build -v -trimpath -tags osusergo,grpcnotrace -ldflags "$ldflags" -o "$bin/pulumi-language-nodejs.tmp" ./cmd/pulumi-language-nodejs
  ) >"$log" 2>&1 &
  builder=$!
  started=$(date +%s)
  while kill -0 "$builder" 2>/dev/null; do
    sleep 15
    kill -0 "$builder" 2>/dev/null || break
    echo "    ... still building: $(( $(date +%s) - started ))s, $(grep -c . "$log" 2>/dev/null || echo 0) packages compiled so far"
  done
  if ! wait "$builder"; then
    tail -n 30 "$log" >&2
    echo "build-pulumi: go build failed; full log in $log" >&2
    exit 1
  fi
  mv "$bin/pulumi.tmp" "$bin/pulumi"
  mv "$bin/pulumi-language-nodejs.tmp" "$bin/pulumi-language-nodejs"
  echo "$key" >"$bin/.key"
fi

# The engine looks for the dynamic-provider plugin next to the CLI: the
# project's launcher and server (tools/dynamic-provider/), which serve as
# @pulumi/pulumi's own host does without loading its SDK runtime, and run
# that host when they cannot vouch for matching it.
install -m 0644 "$root/tools/dynamic-provider/server.js" "$bin/hostnet-dynamic-provider.js"
# What the language host preloads into a TypeScript program's run whose type-check it remembers.
install -m 0644 "$root/tools/typecheck/record.js" "$bin/hostnet-typecheck-record.js"
# The V8 code cache preloaded into the programs the language host runs and into
# the dynamic-provider plugin (entries in $HOSTNET_TOOLCHAIN/code-cache unless
# HOSTNET_CODE_CACHE_DIR says otherwise; HOSTNET_CODE_CACHE=0 turns it off).
install -m 0644 "$root/tools/codecache/preload.js" "$bin/hostnet-code-cache.js"
# What the language host also preloads into programs: @pulumi/pulumi's function
# serialization loads TypeScript and npm's Arborist at its first use, not with
# the SDK (HOSTNET_SDK_DEFER=0 turns it off).
install -m 0644 "$root/tools/sdkdefer/preload.js" "$bin/hostnet-sdk-defer.js"
install -m 0755 "$root/tools/dynamic-provider/pulumi-resource-pulumi-nodejs" "$bin/pulumi-resource-pulumi-nodejs"

stamped=$("$bin/pulumi" version)
[ "$stamped" = "v$PULUMI_VERSION" ] || { echo "build-pulumi: the CLI reports '$stamped', expected v$PULUMI_VERSION (unstamped build?)" >&2; exit 1; }
