#!/usr/bin/env bash
# Builds the library from a clean dist/ and packs it the way npm publishes it:
# .packs/pulumi-hostnet-<version>.tgz (git-ignored). Prints the tarball's path
# on the last line of stdout; everything else goes to stderr.
#
#   npm run pack                      -> .packs/pulumi-hostnet-0.2.0.tgz
#   HOSTNET_PACK_DIR=/tmp/x npm run pack
#
# Another stack installs it with `npm install <path to the .tgz>` (see
# examples/lab/). The package's own `prepack` script cleans and builds dist/.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pkg="$root/components"
out=${HOSTNET_PACK_DIR:-$root/.packs}

fail() { printf 'pack: FAILED: %s\n' "$*" >&2; exit 1; }

[ -x "$root/node_modules/.bin/tsc" ] || fail "TypeScript is not installed: run \`npm run setup\` (or \`npm ci\`) in $root first"
mkdir -p "$out"

# The netlink helper for both Linux architectures Node runs on (static Go binaries).
"$root/scripts/build-helper.sh" x64 arm64 >&2 || fail "building the netlink helper failed (see the output above)"

# npm runs the package's prepack (clean, then tsc) before packing.
json=$(cd "$root" && npm pack --workspace components --pack-destination "$out" --json --loglevel=error) \
  || fail "npm pack failed (see the output above): does the library compile? (\`npm run build\`)"
file=$(node -e 'const r = JSON.parse(process.argv[1]); process.stdout.write(r[0].filename)' "$json")
tgz="$out/$file"
[ -f "$tgz" ] || fail "npm pack reported $file but $tgz does not exist"

# The build above removed setup's up-to-date mark; put it back so that
# scripts/setup.sh does not compile the same sources again.
src_hash=$(cd "$pkg" && find src package.json tsconfig.json -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
touch "$pkg/dist/.built-$src_hash"

count=$(node -e 'const r = JSON.parse(process.argv[1]); process.stdout.write(`${r[0].entryCount} files, ${r[0].size} bytes`)' "$json")
echo "packed $(basename "$tgz") ($count)" >&2
echo "$tgz"
