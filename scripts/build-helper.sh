#!/usr/bin/env bash
# Builds the netlink helper (components/netlink, Go, github.com/vishvananda/netlink)
# into components/native/linux-<arch>/hostnet-netlink, where the engine finds
# it (components/src/host/helper.ts). Static (CGO off), for this machine's
# architecture, or for each one given (x64, arm64: Node's names); cached in
# $HOSTNET_CACHE/netlink-<key> by a key over the Go version and the sources,
# so a second run costs a hash.
#
#   scripts/build-helper.sh              this machine's architecture
#   scripts/build-helper.sh x64 arm64    both (what `npm run pack` ships)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/toolchain.env.sh"
src=$root/components/netlink
out=$root/components/native

archs=("$@")
if [ ${#archs[@]} -eq 0 ]; then
  case "$(uname -m)" in
    x86_64) archs=(x64) ;;
    aarch64) archs=(arm64) ;;
    *) echo "build-helper: no helper for $(uname -m); the engine runs ip/nsenter itself there" >&2; exit 0 ;;
  esac
fi

key=$( (go version; cd "$src" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) ! -name '*_test.go' | sort | xargs sha256sum) | sha256sum | cut -c1-16)
cache=$HOSTNET_CACHE/netlink-$key
for arch in "${archs[@]}"; do
  case "$arch" in
    x64) goarch=amd64 ;;
    arm64) goarch=arm64 ;;
    *) echo "build-helper: unknown architecture $arch (x64, arm64)" >&2; exit 2 ;;
  esac
  bin=$cache/linux-$arch/hostnet-netlink
  if [ ! -x "$bin" ]; then
    mkdir -p "$cache/linux-$arch"
    (cd "$src" && CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOFLAGS=-buildvcs=false go build -trimpath -ldflags "-s -w" -o "$bin.tmp" .)
    mv "$bin.tmp" "$bin"
    echo "    built linux-$arch (key $key)"
  else
    echo "    cached linux-$arch (key $key)"
  fi
  mkdir -p "$out/linux-$arch"
  if ! cmp -s "$bin" "$out/linux-$arch/hostnet-netlink"; then
    install -m 0755 "$bin" "$out/linux-$arch/hostnet-netlink"
  fi
done
