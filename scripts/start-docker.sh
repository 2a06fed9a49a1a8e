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
[ -f "$log" ] && mv -f "$log" "$log.1"

# A dockerd that was killed leaves its pid file; when that pid is gone or a
# zombie, the file is stale and would stop the new daemon from starting.
for pidfile in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile" 2>/dev/null || true)
  state=$(awk '/^State:/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
  if [ -z "$pid" ] || [ -z "$state" ] || [ "$state" = Z ]; then
    echo "    removing stale $pidfile (pid ${pid:-?} is not running)"
    rm -f "$pidfile"
  fi
done

echo "    starting dockerd (log: $log)"
# docker0 keeps Docker's usual 172.17.0.1/16, but Docker hands addresses to
# --net=bridge containers only from its upper half (--fixed-cidr), so that
# the lower half (172.17.0.2-172.17.127.254) is free for addresses the
# library sets by hand (VethAttachment): Docker's allocator knows nothing of
# those and would otherwise give one of them to the next `docker run`.
# setsid: dockerd must outlive this script and the terminal that ran it.
setsid dockerd --bip 172.17.0.1/16 --fixed-cidr 172.17.128.0/17 >"$log" 2>&1 </dev/null &
dockerd_pid=$!
for _ in $(seq 1 120); do
  if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then exit 0; fi
  if ! kill -0 "$dockerd_pid" 2>/dev/null; then break; fi
  sleep 0.5
done
tail -n 20 "$log" >&2
echo "start-docker: dockerd did not come up on /var/run/docker.sock (within 60s); the end of its log is above" >&2
exit 1
