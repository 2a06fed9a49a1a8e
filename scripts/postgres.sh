#!/usr/bin/env bash
# A throw-away PostgreSQL 15 server (Debian's binaries) for Pulumi state, on
# 127.0.0.1 only, with a data folder of its own; for trying and testing team
# state (the `postgres://` backend of the Pulumi CLI). Not for real state: the
# folder lives under /run and `stop` deletes it.
#
#   scripts/postgres.sh start [NAME] [--port PORT]   prints the backend URL; idempotent
#   scripts/postgres.sh url   [NAME]                 prints the backend URL of a running one
#   scripts/postgres.sh stop  [NAME]                 stops it and deletes its folder; idempotent
#
# NAME (default dev, 1-16 of a-z0-9) picks the folder /run/hostnet-postgres/NAME/.
# The URL holds a password made for the server (database pulumi, user hostnet):
#   export PULUMI_BACKEND_URL=$(scripts/postgres.sh url)
set -euo pipefail

fail() { printf 'postgres: %s\n' "$*" >&2; exit 1; }

cmd=${1:-}
[ $# -gt 0 ] && shift
name=dev
port=
while [ $# -gt 0 ]; do
  case "$1" in
    --port) [ $# -ge 2 ] || fail "failed to read --port: it needs a value"; port=$2; shift 2 ;;
    -*) fail "failed to read the arguments: unknown $1; usage: scripts/postgres.sh start|url|stop [NAME] [--port PORT]" ;;
    *) name=$1; shift ;;
  esac
done
[[ "$name" =~ ^[a-z0-9]{1,16}$ ]] || fail "failed to use the name '$name': 1 to 16 of a-z and 0-9"
[ -z "$port" ] || [[ "$port" =~ ^[0-9]+$ ]] || fail "failed to use --port '$port': give a number"
[ "$(id -u)" = 0 ] || fail "failed to $cmd the server: run as root (the server runs as the user postgres); re-run with sudo"

dir=/run/hostnet-postgres/$name
data=$dir/data
pgbin=/usr/lib/postgresql/15/bin

as_postgres() { runuser -u postgres -- "$@"; }

running() { [ -f "$data/postmaster.pid" ] && as_postgres "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1; }

install_postgres() {
  [ -x "$pgbin/initdb" ] && [ -x "$pgbin/pg_ctl" ] && [ -x "$pgbin/postgres" ] && return 0
  echo "    installing Debian's postgresql (15)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || fail "failed to update the apt package lists: is Debian's archive reachable? (see above)"
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null || fail "failed to install postgresql (see above)"
  [ -x "$pgbin/initdb" ] || fail "failed to find $pgbin/initdb after installing postgresql: is this Debian 12 (PostgreSQL 15)?"
}

free_port() {
  local p
  for p in $(seq 55432 55631); do
    [ -z "$(ss -Hltn "sport = :$p")" ] && { echo "$p"; return 0; }
  done
  fail "failed to find a free port in 55432-55631; give one with --port"
}

case "$cmd" in
  start)
    if running; then cat "$dir/backend-url"; exit 0; fi
    started=$(date +%s.%N)
    install_postgres
    id postgres >/dev/null 2>&1 || fail "failed to find the user postgres: reinstall Debian's postgresql-common"
    # A folder left by a killed server or a failed start: begin afresh.
    rm -rf "$dir"
    mkdir -p /run/hostnet-postgres
    install -d -o postgres -g postgres -m 0700 "$dir"
    password=$(od -An -tx1 -N18 /dev/urandom | tr -d ' \n')
    install -o postgres -g postgres -m 0600 /dev/null "$dir/pwfile"
    printf '%s\n' "$password" >"$dir/pwfile"
    as_postgres "$pgbin/initdb" -D "$data" -U hostnet --pwfile="$dir/pwfile" -E UTF8 --locale=C \
      --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 \
      || fail "failed to create the database cluster in $data: $(tail -n 3 "$dir/initdb.log")"
    rm -f "$dir/pwfile"
    [ -n "$port" ] || port=$(free_port)
    # Only 127.0.0.1, the socket inside the folder (no /var/run/postgresql needed).
    cat >>"$data/postgresql.conf" <<EOF
# scripts/postgres.sh
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
EOF
    as_postgres "$pgbin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 start >/dev/null \
      || fail "failed to start PostgreSQL on 127.0.0.1:$port: $(tail -n 3 "$dir/postgres.log"); is the port taken? try --port"
    "$pgbin/psql" -h "$dir" -p "$port" -U hostnet -d postgres -qAt -c "CREATE DATABASE pulumi" >/dev/null \
      || fail "failed to create the database pulumi (see $dir/postgres.log)"
    url="postgres://hostnet:$password@127.0.0.1:$port/pulumi?sslmode=disable"
    install -m 0600 /dev/null "$dir/backend-url"
    printf '%s\n' "$url" >"$dir/backend-url"
    took=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
    echo "    PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data $data, started in ${took}s; stop: scripts/postgres.sh stop $name" >&2
    echo "$url"
    ;;
  url)
    running || fail "failed to find a running server $name; start it with scripts/postgres.sh start $name"
    cat "$dir/backend-url"
    ;;
  stop)
    if [ -f "$data/postmaster.pid" ]; then
      as_postgres "$pgbin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
      # Killed or stuck: the postmaster's pid, only if it is the server of this folder.
      pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
      if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$data"; then
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
    rm -rf "$dir"
    rmdir /run/hostnet-postgres 2>/dev/null || true
    echo "    PostgreSQL $name stopped, $dir removed" >&2
    ;;
  *)
    fail "usage: scripts/postgres.sh start|url|stop [NAME] [--port PORT]"
    ;;
esac
