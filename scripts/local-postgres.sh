#!/usr/bin/env bash
# A throwaway PostgreSQL as a plain process (no Docker): Debian's packages, a fresh cluster in a temporary
# directory (removed at exit; --data-dir DIR keeps it there instead), on 127.0.0.1:--port (55432) with a database
# `broker` owned by user `broker` (password `broker`; fsync off: test data only). Prints
#   postgres ready: DATABASE_URL=postgres://broker:broker@127.0.0.1:<port>/broker (server pid <pid>)
# then stays in the foreground until Ctrl-C or SIGTERM, and stops the server. Installs the packages with apt
# when they are missing and it runs as root. PostgreSQL refuses to run as root, so as root it runs as `postgres`.
set -euo pipefail

PORT=55432
KEEP_DIR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT=$2; shift 2 ;;
    --data-dir) KEEP_DIR=$2; shift 2 ;;
    -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "local-postgres: unknown argument $1" >&2; exit 2 ;;
  esac
done
say() { printf 'local-postgres: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(bin_dir)" ]; then
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed: apt-get install postgresql"
  say "installing Debian's postgresql"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
BIN=$(bin_dir)

as_owner() { # runs a PostgreSQL program as the cluster's owner
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
# Made by the owner itself, so it can reach it whatever the caller's umask and temporary directories.
# --data-dir keeps the cluster there across runs (the outage tests stop and restart one); otherwise it is removed.
if [ -n "$KEEP_DIR" ]; then
  as_owner mkdir -p "$KEEP_DIR"
  DATA_DIR=$KEEP_DIR
else
  DATA_DIR=$(as_owner mktemp -d "${TMPDIR:-/tmp}/access-broker-postgres.XXXXXX")
fi
CLUSTER="$DATA_DIR/cluster"
FRESH=""
if [ ! -f "$CLUSTER/PG_VERSION" ]; then
  as_owner "$BIN/initdb" --pgdata="$CLUSTER" --auth=trust --username=postgres --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  FRESH=yes
fi
SOCKET_DIR="$DATA_DIR"
stop() {
  trap - INT TERM EXIT
  as_owner "$BIN/pg_ctl" --pgdata="$CLUSTER" --mode=fast --wait stop >/dev/null 2>&1 || true
  if [ -z "$KEEP_DIR" ]; then rm -rf "$DATA_DIR"; fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
as_owner "$BIN/pg_ctl" --pgdata="$CLUSTER" --log="$DATA_DIR/postgres.log" --wait --timeout=60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$SOCKET_DIR -c fsync=off" start >/dev/null ||
  { cat "$DATA_DIR/postgres.log" >&2; die "PostgreSQL did not start on 127.0.0.1:$PORT"; }

psql_admin() { as_owner "$BIN/psql" --host="$SOCKET_DIR" --port="$PORT" --username=postgres --quiet --no-psqlrc --set=ON_ERROR_STOP=1 "$@"; }
if [ -n "$FRESH" ]; then
  psql_admin --dbname=postgres --command="create role broker login password 'broker' createdb"
  psql_admin --dbname=postgres --command="create database broker owner broker"
fi

printf 'postgres ready: DATABASE_URL=postgres://broker:broker@127.0.0.1:%s/broker (server pid %s)\n' "$PORT" "$(head -1 "$CLUSTER/postmaster.pid")"
# Foreground until stopped, or until the server stops by itself.
while as_owner "$BIN/pg_ctl" --pgdata="$CLUSTER" status >/dev/null 2>&1; do sleep 2; done
cat "$DATA_DIR/postgres.log" >&2
die "PostgreSQL stopped by itself"
