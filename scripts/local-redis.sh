#!/usr/bin/env bash
# A throwaway Redis as a plain process (no Docker): Debian's redis-server on 127.0.0.1:--port (56379), nothing
# persisted. Prints
#   redis ready: REDIS_URL=redis://127.0.0.1:<port>
# then stays in the foreground until Ctrl-C or SIGTERM. Installs the package with apt when it is missing and it
# runs as root.
set -euo pipefail

PORT=56379
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT=$2; shift 2 ;;
    -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "local-redis: unknown argument $1" >&2; exit 2 ;;
  esac
done
die() { printf 'local-redis: %s\n' "$*" >&2; exit 1; }

if ! command -v redis-server >/dev/null; then
  [ "$(id -u)" = 0 ] || die "Redis is not installed: apt-get install redis-server"
  printf 'local-redis: installing Debian'"'"'s redis-server\n' >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

DIR=$(mktemp -d)
redis-server --bind 127.0.0.1 --port "$PORT" --save '' --appendonly no --dir "$DIR" --daemonize no >"$DIR/redis.log" 2>&1 &
SERVER=$!
stop() {
  trap - INT TERM EXIT
  kill -TERM "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$DIR"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq 1 50); do
  if redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null | grep -q PONG; then break; fi
  kill -0 "$SERVER" 2>/dev/null || { cat "$DIR/redis.log" >&2; die "redis-server exited"; }
  sleep 0.1
done
redis-cli -h 127.0.0.1 -p "$PORT" ping | grep -q PONG || { cat "$DIR/redis.log" >&2; die "redis-server did not answer on 127.0.0.1:$PORT"; }
printf 'redis ready: REDIS_URL=redis://127.0.0.1:%s\n' "$PORT"
wait "$SERVER" || true
cat "$DIR/redis.log" >&2
die "redis-server stopped by itself"
