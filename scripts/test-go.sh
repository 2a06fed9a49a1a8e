#!/usr/bin/env bash
# Runs the Go unit tests of the project's own Node.js language host
# (tools/pulumi-build/cmd/pulumi-language-nodejs) and of the netlink helper
# (components/netlink), offline: the modules come from the Go module cache
# that scripts/build-pulumi.sh and scripts/build-helper.sh filled, go.mod is
# read-only, and nothing is downloaded.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root/tools/pulumi-build"
# The build's own settings, so that the test reuses its compiled packages.
export CGO_ENABLED=0 GOPROXY=off GOFLAGS="-mod=readonly -buildvcs=false"
if ! out=$(go list -deps -test ./cmd/pulumi-language-nodejs/... 2>&1); then
  grep -v '^go: downloading' <<<"$out" | tail -n 5 >&2
  echo "test-go: failed to load the language host's Go modules from the cache (above); run \`npm run setup\` first, which downloads them" >&2
  exit 1
fi
go test -count=1 -tags osusergo,grpcnotrace "$@" ./cmd/pulumi-language-nodejs/...
cd "$root/components/netlink"
exec go test -count=1 "$@" .
