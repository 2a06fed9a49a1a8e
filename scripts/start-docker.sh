#!/usr/bin/env bash
# Starts Debian's dockerd when no Docker engine answers, and waits until it does.
# No init system runs on these machines, so dockerd is started directly, in
# the background, logging to $HOSTNET_CACHE/dockerd.log.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/toolchain.env.sh"

if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  echo "    already running"
  exit 0
fi
command -v dockerd >/dev/null || { echo "start-docker: dockerd is not installed (Debian package docker.io)" >&2; exit 1; }
mkdir -p "$HOSTNET_CACHE"
log=$HOSTNET_CACHE/dockerd.log
echo "    starting dockerd (log: $log)"
# setsid: dockerd must outlive this script and the terminal that ran it.
setsid dockerd >>"$log" 2>&1 </dev/null &
for _ in $(seq 1 120); do
  if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then exit 0; fi
  sleep 0.5
done
tail -n 20 "$log" >&2
echo "start-docker: dockerd did not answer on /var/run/docker.sock within 60s; its log is above" >&2
exit 1
