#!/usr/bin/env bash
# A throwaway PostgreSQL as a plain process (no Docker): Debian's packages, a fresh cluster in --data-dir,
# listening on 127.0.0.1:--port with a database `broker` owned by user `broker` (password `broker`). Prints
#   postgres ready: DATABASE_URL=postgres://broker:broker@127.0.0.1:<port>/broker
# then stays in the foreground until Ctrl-C or SIGTERM, and stops the server. Installs the packages with apt
# when they are missing and it runs as root. PostgreSQL refuses to run as root, so as root it runs as `postgres`.
set -euo pipefail

PORT=55432
DATA_DIR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT=$2; shift 2 ;;
    --data-dir) DATA_DIR=$2; shift 2 ;;
    -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
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

TEMP_DIR=""
if [ -z "$DATA_DIR" ]; then TEMP_DIR=$(mktemp -d); DATA_DIR=$TEMP_DIR; fi
mkdir -p "$DATA_DIR"
as_owner() { # runs a PostgreSQL program as the data directory's owner
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown postgres: "$DATA_DIR"

CLUSTER="$DATA_DIR/cluster"
if [ ! -f "$CLUSTER/PG_VERSION" ]; then
  as_owner "$BIN/initdb" --pgdata="$CLUSTER" --auth=trust --username=postgres --encoding=UTF8 --locale=C.UTF-8 >/dev/null
fi
SOCKET_DIR="$DATA_DIR"
as_owner "$BIN/pg_ctl" --pgdata="$CLUSTER" --log="$DATA_DIR/postgres.log" --wait --timeout=60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$SOCKET_DIR -c fsync=off" start >/dev/null ||
  { cat "$DATA_DIR/postgres.log" >&2; die "PostgreSQL did not start on 127.0.0.1:$PORT"; }

stop() {
  trap - INT TERM EXIT
  as_owner "$BIN/pg_ctl" --pgdata="$CLUSTER" --mode=fast --wait stop >/dev/null 2>&1 || true
  if [ -n "$TEMP_DIR" ]; then rm -rf "$TEMP_DIR"; fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

psql_admin() { as_owner "$BIN/psql" --host="$SOCKET_DIR" --port="$PORT" --username=postgres --quiet --no-psqlrc --set=ON_ERROR_STOP=1 "$@"; }
if ! psql_admin --dbname=postgres --tuples-only --command="select 1 from pg_roles where rolname = 'broker'" | grep -q 1; then
  psql_admin --dbname=postgres --command="create role broker login password 'broker' createdb"
  psql_admin --dbname=postgres --command="create database broker owner broker"
fi

printf 'postgres ready: DATABASE_URL=postgres://broker:broker@127.0.0.1:%s/broker\n' "$PORT"
# Foreground until stopped, or until the server stops by itself.
while as_owner "$BIN/pg_ctl" --pgdata="$CLUSTER" status >/dev/null 2>&1; do sleep 2; done
die "PostgreSQL stopped by itself (see $DATA_DIR/postgres.log)"
