#!/usr/bin/env bash
# The program's preloads measured in one run: the V8 code cache
# (tools/codecache/preload.js, the toolchain's hostnet-code-cache.js) and the
# SDK's deferred loading (tools/sdkdefer/preload.js, hostnet-sdk-defer.js).
# CPU time (user+sys of the whole process tree, /usr/bin/time) of
#   require  node --require hostnet-code-cache.js --require hostnet-sdk-defer.js
#            -e 'require("@pulumi/pulumi")'
#   js, ts   a real `pulumi preview` of a small hostnet program (two Bridges,
#            a new stack: the engine, the language host, the program and the
#            dynamic-provider plugin run), as JavaScript and as TypeScript
#            (ts-node, PULUMI_NODEJS_TRANSPILE_ONLY=true)
# each with the cache off (HOSTNET_CODE_CACHE=0), cold (its folder emptied
# just before) and warm (right after the cold run), all three with the
# deferred loading off (HOSTNET_SDK_DEFER=0), then defer: the cache warm and
# the deferred loading on (what a user's run is); RUNS rounds, alternating.
# Prints every sample, then medians and ratios against "off" of this run.
# Preview only: nothing is created on the host.
#
#   HOSTNET_CACHE=/var/cache/hostnet-codecache flock -s /tmp/hostnet-host.lock bash bench/codecache.sh [RUNS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/toolchain.env.sh"
runs=${1:-5}
bin=$HOSTNET_TOOLCHAIN/bin
preload=$bin/hostnet-code-cache.js
defer=$bin/hostnet-sdk-defer.js
for f in "$preload" "$defer"; do
  [ -f "$f" ] || { echo "codecache bench: $f is missing; run scripts/setup.sh with this HOSTNET_CACHE first" >&2; exit 1; }
done

work=$(mktemp -d /tmp/hostnet-ccbench-XXXXXX)
trap 'rm -rf "$work"' EXIT
cache=$work/code-cache
export HOSTNET_CODE_CACHE_DIR=$cache PULUMI_CONFIG_PASSPHRASE= PULUMI_SKIP_UPDATE_CHECK=true PULUMI_HOME=$work/home
export PATH=$bin:$PATH PULUMI_BACKEND_URL=file://$work/state PULUMI_NODEJS_TRANSPILE_ONLY=true
mkdir -p "$work/state" "$work/home"
suffix=$(printf '%04x' $((RANDOM % 65536)))

for lang in js ts; do
  p=$work/$lang
  mkdir -p "$p"
  ln -s "$root/node_modules" "$p/node_modules"
  if [ "$lang" = ts ]; then main=index.ts; ts=true; else main=index.js; ts=false; fi
  printf 'name: ccbench-%s\nruntime:\n  name: nodejs\n  options:\n    typescript: %s\nmain: %s\n' "$lang" "$ts" "$main" >"$p/Pulumi.yaml"
  printf 'const { Bridge } = require("pulumi-hostnet");\nnew Bridge("a", { name: "hncc%sa" });\nnew Bridge("b", { name: "hncc%sb" });\n' "$suffix" "$suffix" >"$p/$main"
  (cd "$p" && pulumi stack init dev >/dev/null)
done

samples=$work/samples
: >"$samples"
measure() { # measure TARGET MODE
  local target=$1 mode=$2 dir=$root cmd
  case $mode in
    off) export HOSTNET_CODE_CACHE=0 HOSTNET_SDK_DEFER=0 ;;
    cold) rm -rf "$cache"; export HOSTNET_CODE_CACHE=1 HOSTNET_SDK_DEFER=0 ;;
    warm) export HOSTNET_CODE_CACHE=1 HOSTNET_SDK_DEFER=0 ;;
    defer) export HOSTNET_CODE_CACHE=1 HOSTNET_SDK_DEFER=1 ;;
  esac
  if [ "$target" = require ]; then cmd=(node --require "$preload" --require "$defer" -e 'require("@pulumi/pulumi")')
  else dir=$work/$target; cmd=(pulumi preview --non-interactive); fi
  if ! (cd "$dir" && /usr/bin/time -o "$work/time" -f '%U %S' "${cmd[@]}" >"$work/out" 2>&1); then
    cat "$work/out" >&2; echo "codecache bench: failed: ${cmd[*]}" >&2; exit 1
  fi
  local s; s=$(awk '{printf "%.2f", $1 + $2}' "$work/time")
  echo "$target $mode $s" >>"$samples"
  printf '  %-8s %-5s %5s s CPU\n' "$target" "$mode" "$s"
}

for ((r = 1; r <= runs; r++)); do
  echo "round $r/$runs"
  for target in require js ts; do
    for mode in off cold warm defer; do measure "$target" "$mode"; done
  done
done

echo
echo "medians of $runs (CPU seconds, user+sys of every process), ratio to off:"
for target in require js ts; do
  off=""
  for mode in off cold warm defer; do
    m=$(awk -v t="$target" -v m="$mode" '$1 == t && $2 == m {print $3}' "$samples" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
    [ "$mode" = off ] && off=$m
    printf '  %-8s %-5s %5.2f  x%.2f\n' "$target" "$mode" "$m" "$(awk -v a="$m" -v b="$off" 'BEGIN {print a / b}')"
  done
done
du -sh "$cache" | awk '{print "  code cache folder after the last warm run: " $1}'
