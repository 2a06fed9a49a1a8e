#!/usr/bin/env bash
# The seed's manual procedure (../shared/seed/README.md, section 4) as a serial
# script, one attachment after another, as a person would script it. Every
# value comes from argv and is passed on as one argument; nothing is built
# into a shell string.
#
#   seed.sh attach BRIDGE [CONTAINER CIDR HOSTIF PEERIF NETNS]...
#   seed.sh detach [HOSTIF NETNS]...
#
# attach: docker inspect for the PID, name its netns in /var/run/netns, read
# the bridge's address (the gateway), create the veth pair, host end on the
# bridge and up, peer into the netns, renamed eth0, up, addressed, default
# route via the bridge. detach: delete the host end (the peer goes with it)
# and the netns link.
set -euo pipefail
cmd=${1:?usage: seed.sh attach BRIDGE [CONTAINER CIDR HOSTIF PEERIF NETNS]... | seed.sh detach [HOSTIF NETNS]...}
shift
case $cmd in
attach)
  bridge=$1
  shift
  while [ $# -gt 0 ]; do
    container=$1 cidr=$2 a=$3 b=$4 ns=$5
    shift 5
    pid=$(docker inspect -f '{{.State.Pid}}' "$container")
    mkdir -p /var/run/netns
    ln -s "/proc/$pid/ns/net" "/var/run/netns/$ns"
    # `ip addr show docker0 | grep inet`: the bridge's address is the gateway.
    inet=$(ip -4 -o addr show dev "$bridge")
    gw=${inet#* inet }
    gw=${gw%%/*}
    ip link add "$a" type veth peer name "$b"
    ip link set "$a" master "$bridge"
    ip link set "$a" up
    ip link set "$b" netns "$ns"
    ip netns exec "$ns" ip link set dev "$b" name eth0
    ip netns exec "$ns" ip link set eth0 up
    ip netns exec "$ns" ip addr add "$cidr" dev eth0
    ip netns exec "$ns" ip route add default via "$gw"
  done
  ;;
detach)
  while [ $# -gt 0 ]; do
    a=$1 ns=$2
    shift 2
    ip link del "$a"
    rm -f "/var/run/netns/$ns"
  done
  ;;
*)
  echo "seed.sh: unknown command '$cmd' (attach or detach)" >&2
  exit 2
  ;;
esac
