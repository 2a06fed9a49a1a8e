#!/usr/bin/env bash
# Starts Debian's dockerd with the project's settings when no Docker engine
# answers, and waits until it does. No init system runs on these machines, so
# dockerd is started directly, in the background, logging to
# $HOSTNET_CACHE/dockerd.log.
#
# A dockerd that runs already is left alone, even when its settings differ
# from the project's (restarting it stops every container without a restart
# policy, other people's included): the script says what differs and how to
# restart it, which it does only when told:
#
#   scripts/start-docker.sh --restart        (or HOSTNET_DOCKERD_RESTART=1)
#
# restarts a dockerd this script can restart (one started by hand or by this
# script: not one an init system runs) when its settings differ.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/toolchain.env.sh"

restart=${HOSTNET_DOCKERD_RESTART:-0}
for arg in "$@"; do
  case "$arg" in
    --restart) restart=1 ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "start-docker: unknown argument \"$arg\"; see --help" >&2; exit 2 ;;
  esac
done

# The project's settings of docker0 (the default `--net=bridge` network).
#
# IPv4: docker0 keeps Docker's usual 172.17.0.1/16, but Docker hands
# addresses to --net=bridge containers only from its upper half
# (--fixed-cidr), so that the lower half (172.17.0.2-172.17.127.254) is free
# for addresses the library sets by hand (VethAttachment): Docker's allocator
# knows nothing of those and would otherwise give one of them to the next
# `docker run`.
#
# IPv6, as Docker 20.10 documents it (`--ipv6 --fixed-cidr-v6`): docker0 gets
# fd17:ac11::1/64 in a unique local (ULA, fd00::/8) prefix, never routed
# beyond this machine. With a prefix of /80 or shorter, Docker 20.10 derives a
# container's IPv6 address from its MAC, which it derives from its IPv4
# address (02:42:ac:11:80:02 -> fd17:ac11::242:ac11:8002): Docker's containers
# only ever get addresses under fd17:ac11::242:0:0/96, so the rest of the /64
# (fd17:ac11::2 - fd17:ac11::ffff, say) is free for addresses set by hand,
# as the lower half of the IPv4 subnet is.
# (Docker sets net.ipv6.conf.all.forwarding=1 when IPv6 is on; 20.10 leaves
# ip6tables alone.)
DOCKER_BIP=172.17.0.1/16
DOCKER_FIXED_CIDR=172.17.128.0/17
DOCKER_FIXED_CIDR_V6=fd17:ac11::/64
dockerd_args=(--bip "$DOCKER_BIP" --fixed-cidr "$DOCKER_FIXED_CIDR" --ipv6 --fixed-cidr-v6 "$DOCKER_FIXED_CIDR_V6")
# What `docker network inspect bridge` says of a dockerd run with these settings.
want_ipam="true [172.17.0.0/16 $DOCKER_FIXED_CIDR][$DOCKER_FIXED_CIDR_V6 ]"

# EnableIPv6, then each IPAM config's [subnet range].
live_ipam() {
  docker network inspect bridge --format '{{.EnableIPv6}} {{range .IPAM.Config}}[{{.Subnet}} {{.IPRange}}]{{end}}' 2>/dev/null
}

wait_for_engine() { # pid of the dockerd started
  local pid=$1
  for _ in $(seq 1 120); do
    if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  tail -n 20 "$log" >&2
  echo "start-docker: dockerd did not come up on /var/run/docker.sock (within 60s); the end of its log is above" >&2
  return 1
}

mkdir -p "$HOSTNET_CACHE"
log=$HOSTNET_CACHE/dockerd.log

if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  live=$(live_ipam || true)
  if [ "$live" = "$want_ipam" ]; then
    echo "    already running (docker0: $DOCKER_BIP, ${DOCKER_FIXED_CIDR_V6%::/*}::1/${DOCKER_FIXED_CIDR_V6#*/}; Docker hands out $DOCKER_FIXED_CIDR and MAC-derived IPv6 addresses)"
    exit 0
  fi
  pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  running=$( [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  echo "    already running, with other settings of docker0 than the project's:"
  echo "      dockerd:  ${running:-(command line unknown)}"
  echo "      docker0:  EnableIPv6, subnets and ranges: $live"
  echo "      wanted:   dockerd ${dockerd_args[*]} (EnableIPv6, subnets and ranges: $want_ipam)"
  if [ "$restart" != 1 ]; then
    echo "    left as it is: IPv6 on docker0 (the example stack's dual-stack seed) needs the project's settings."
    echo "    To restart it with them (this stops every container that has no restart policy):"
    echo "      scripts/start-docker.sh --restart"
    exit 0
  fi
  if [ -d /run/systemd/system ] || [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    echo "start-docker: this dockerd is not one this script can restart (an init system runs it, or its pid is unknown);" >&2
    echo "  give it the settings above in /etc/docker/daemon.json (\"ipv6\": true, \"fixed-cidr-v6\": \"$DOCKER_FIXED_CIDR_V6\", \"bip\", \"fixed-cidr\") and restart it with its init system" >&2
    exit 1
  fi
  echo "    restarting dockerd (pid $pid) with the project's settings"
  kill -TERM "$pid"
  # dockerd stops its containers first (up to 15 s each by default), then containerd.
  for _ in $(seq 1 240); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "start-docker: dockerd (pid $pid) did not stop within 120 s; nothing else was done" >&2
    exit 1
  fi
fi

command -v dockerd >/dev/null || { echo "start-docker: dockerd is not installed (Debian package docker.io)" >&2; exit 1; }
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

echo "    starting dockerd ${dockerd_args[*]} (log: $log)"
# setsid: dockerd must outlive this script and the terminal that ran it. It
# must not inherit this script's other open files either: run under
# `flock /tmp/hostnet-host.lock ...`, it would otherwise hold flock(1)'s lock
# (and containerd with it) for as long as it runs.
(
  for fd in /proc/$BASHPID/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-"; fi
  done
  exec setsid dockerd "${dockerd_args[@]}" >"$log" 2>&1 </dev/null
) &
wait_for_engine $!
live=$(live_ipam || true)
if [ "$live" != "$want_ipam" ]; then
  echo "start-docker: dockerd runs, but docker0 is not as asked: EnableIPv6, subnets and ranges: $live (wanted: $want_ipam); see $log" >&2
  exit 1
fi
