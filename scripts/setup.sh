#!/usr/bin/env bash
# Installs and starts everything the project needs on a fresh Debian 12 machine
# (root, Node 20, Go; only the npm registry, Debian's archive and the Go module
# proxy reachable). Every stage says what it does and how long it took; a
# stage that is already done costs a check, not a redo.
#
#   scripts/setup.sh            all stages
#   HOSTNET_CACHE=/path ...     where built tools are cached (default /var/cache/hostnet)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/toolchain.env.sh
source "$root/scripts/toolchain.env.sh"

fail() { printf '\nsetup: FAILED: %s\n' "$*" >&2; exit 1; }
stage_started=0
stage() { stage_started=$(date +%s.%N); printf '==> %s\n' "$*"; }
done_stage() {
  local took; took=$(awk -v a="$stage_started" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
  printf '    done in %ss%s\n' "$took" "${1:+ ($1)}"
}

stage "checking the machine"
[ "$(id -u)" = 0 ] || fail "must run as root: it installs Debian packages, starts dockerd and creates network interfaces. Re-run with sudo."
command -v node >/dev/null || fail "node is not on PATH: install Node.js 20 (Debian's nodejs or the machine's own)."
command -v npm >/dev/null || fail "npm is not on PATH: install npm next to Node.js."
command -v go >/dev/null || fail "go is not on PATH: the Pulumi CLI is built from Go modules; install Go 1.24 or newer."
# 20.19 is the first Node 20 that loads ES modules with require(), which the
# providers rely on when the engine reloads them.
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || fail "Node.js $(node --version) is too old: need 20.19 or newer."
done_stage "node $(node --version), $(go version | awk '{print $3}')"

stage "Debian packages (docker.io, iproute2, bridge-utils, busybox-static, iptables, nftables, nc, ping, nsenter, graphviz)"
wanted=(docker.io containerd runc iproute2 bridge-utils busybox-static iptables nftables netcat-openbsd iputils-ping util-linux ca-certificates graphviz)
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "    installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || fail "apt-get update failed: is Debian's archive reachable? (see the output above)"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || fail "apt-get install ${missing[*]} failed (see the output above)"
  done_stage "installed ${#missing[@]}"
else
  done_stage "all present"
fi

stage "npm dependencies"
lock_hash=$(sha256sum "$root/package-lock.json" | cut -c1-16)
if [ -f "$root/node_modules/.hostnet-lock-$lock_hash" ]; then
  done_stage "up to date"
else
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci failed: is the npm registry reachable? (see the output above)"
  touch "$root/node_modules/.hostnet-lock-$lock_hash"
  done_stage "installed from package-lock.json"
fi

stage "library pulumi-hostnet (components, TypeScript -> dist/)"
pkg="$root/components"
src_hash=$(cd "$pkg" && find src package.json tsconfig.json -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
if [ -f "$pkg/dist/.built-$src_hash" ]; then
  done_stage "up to date"
else
  rm -rf "$pkg/dist"
  (cd "$root" && node_modules/.bin/tsc -p "$pkg/tsconfig.json") || fail "the library does not compile (see tsc's output above)"
  touch "$pkg/dist/.built-$src_hash"
  done_stage "compiled"
fi

stage "netlink helper (components/netlink, Go -> components/native/, cached in $HOSTNET_CACHE)"
"$root/scripts/build-helper.sh" || fail "building the netlink helper failed (see the output above); is the Go module proxy reachable?"
done_stage

stage "Pulumi CLI $PULUMI_VERSION and language host (built from Go modules, cached in $HOSTNET_TOOLCHAIN)"
"$root/scripts/build-pulumi.sh" || fail "building the Pulumi CLI failed (see the output above); is the Go module proxy reachable?"
done_stage "$("$HOSTNET_TOOLCHAIN/bin/pulumi" version)"

stage "Docker engine"
# A CI run (CI=true) needs docker0 with the project's settings (IPv6 among
# them: the dual-stack tests depend on it), so a dockerd already running with
# other settings is restarted with them there; elsewhere it is left alone and
# described (start-docker.sh says how to restart it).
docker_args=()
if [ "${CI:-}" = true ]; then docker_args=(--restart); fi
"$root/scripts/start-docker.sh" "${docker_args[@]}" || fail "the Docker engine did not start (see the output above)"
done_stage "server $(docker version --format '{{.Server.Version}}')"

stage "local base image $HOSTNET_BASE_IMAGE (busybox-static, no registry)"
"$root/scripts/make-image.sh" || fail "could not build the base image (see the output above)"
done_stage
