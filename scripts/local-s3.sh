#!/usr/bin/env bash
# A local S3 for development (`npm run s3`) and for CI (.ci/run): starts one
# engine on 127.0.0.1, creates the development bucket with the browser CORS,
# prints one "local S3 ready: ..." line, then stays in the foreground until
# Ctrl-C (or SIGTERM) and stops what it started.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/access-broker"

LOCALSTACK_VERSION=4.14.0 # the last release that starts without an account token
LOCALSTACK_IMAGE="localstack/localstack:$LOCALSTACK_VERSION"
LOCALSTACK_REQUIREMENTS="$ROOT/.ci/localstack-requirements.txt"
# Shared with .ci/run's cache: same path, same requirements comparison.
LOCALSTACK_VENV="$CACHE/localstack-$LOCALSTACK_VERSION-py313"
VERSITYGW_VERSION=v1.7.0
VERSITYGW_BIN_DIR="$CACHE/versitygw-$VERSITYGW_VERSION"

usage() {
  cat <<EOF
Usage: npm run s3 -- [--engine docker|localstack|versitygw] [--port N] [--data-dir DIR]
       bash scripts/local-s3.sh [same options]

Starts a local S3 on 127.0.0.1 (port 4566 unless --port or S3_PORT), creates the
development bucket (S3_BUCKET, default access-broker-dev) with the CORS a browser
upload needs, prints "local S3 ready: S3_ENDPOINT=... bucket ... (engine: ...)"
and runs in the foreground until Ctrl-C.

Engines, tried in this order unless --engine picks one:
  docker      $LOCALSTACK_IMAGE on a running Docker engine
  localstack  LocalStack $LOCALSTACK_VERSION from PyPI on Python 3.13, in a venv under
              $CACHE
  versitygw   versitygw $VERSITYGW_VERSION built with \`go install\` into that cache, posix backend
              (data in ./data/versitygw unless --data-dir), a stricter S3 than LocalStack

Options:
  --engine E      docker, localstack or versitygw
  --port N        listen on 127.0.0.1:N (default: \$S3_PORT, else 4566)
  --data-dir DIR  versitygw: the bucket root (default ./data/versitygw, kept);
                  LocalStack: its volume directory (default: a temporary one, removed on exit)
  -h, --help      this text

Environment:
  S3_PORT, S3_BUCKET, AWS_REGION (default us-east-1)
  LOCALSTACK_SERVICES      LocalStack services (default: s3,secretsmanager,sqs)
  ROOT_ACCESS_KEY, ROOT_SECRET_KEY
                           versitygw's root credentials (default: test / test, the broker's
                           development defaults; LocalStack takes any access key with secret test)
  LOCAL_S3_TIMEOUT         seconds to wait for the endpoint to answer (default 180)
EOF
}

die() { printf 'local-s3: %s\n' "$*" >&2; exit 1; }
say() { printf 'local-s3: %s\n' "$*" >&2; }

ENGINE=""
PORT="${S3_PORT:-4566}"
DATA_DIR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --engine) [ $# -ge 2 ] || die "--engine needs a value"; ENGINE=$2; shift 2 ;;
    --engine=*) ENGINE=${1#*=}; shift ;;
    --port) [ $# -ge 2 ] || die "--port needs a value"; PORT=$2; shift 2 ;;
    --port=*) PORT=${1#*=}; shift ;;
    --data-dir) [ $# -ge 2 ] || die "--data-dir needs a value"; DATA_DIR=$2; shift 2 ;;
    --data-dir=*) DATA_DIR=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
case "$ENGINE" in "" | docker | localstack | versitygw) ;; *) die "--engine must be docker, localstack or versitygw (got '$ENGINE')" ;; esac
if ! [[ "$PORT" =~ ^[0-9]+$ ]] || [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then die "--port must be a TCP port number (got '$PORT')"; fi

BUCKET="${S3_BUCKET:-access-broker-dev}"
REGION="${AWS_REGION:-us-east-1}"
SERVICES="${LOCALSTACK_SERVICES:-s3,secretsmanager,sqs}"
TIMEOUT="${LOCAL_S3_TIMEOUT:-180}"
ENDPOINT="http://127.0.0.1:$PORT"
command -v curl >/dev/null || die "curl is needed to wait for the endpoint; install it (apt-get install curl)"

# --- engine availability ---------------------------------------------------------
docker_running() {
  command -v docker >/dev/null || return 1
  if command -v timeout >/dev/null; then timeout 20 docker info >/dev/null 2>&1; else docker info >/dev/null 2>&1; fi
}

find_python313() {
  # pyenv's shims only answer for the selected version, so look in its versions directory first.
  local root candidate
  root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  for candidate in "$root"/versions/3.13*/bin/python3.13 "$(command -v python3.13 || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" --version >/dev/null 2>&1; then echo "$candidate"; return 0; fi
  done
  return 1
}

have_versitygw() { [ -x "$VERSITYGW_BIN_DIR/versitygw" ] || command -v go >/dev/null; }

NO_ENGINE="Install one of:
  - Docker, with its engine running (\`docker info\` must succeed), for $LOCALSTACK_IMAGE;
  - Python 3.13 with its venv module (pyenv install 3.13, or apt-get install python3.13 python3.13-venv), for LocalStack natively;
  - Go 1.25 or newer (https://go.dev/dl/), for versitygw $VERSITYGW_VERSION."

case "$ENGINE" in
  docker) docker_running || die "--engine docker: no running Docker engine (\`docker info\` fails). Start it, or pick another engine." ;;
  localstack) find_python313 >/dev/null || die "--engine localstack: LocalStack $LOCALSTACK_VERSION needs Python 3.13, and none was found (python3.13 on PATH or under pyenv). Install it: pyenv install 3.13, or apt-get install python3.13 python3.13-venv." ;;
  versitygw) have_versitygw || die "--engine versitygw: needs Go to build versitygw $VERSITYGW_VERSION, and \`go\` is not on PATH. Install Go 1.25 or newer (https://go.dev/dl/)." ;;
  "")
    if docker_running; then ENGINE=docker
    elif find_python313 >/dev/null; then ENGINE=localstack
    elif have_versitygw; then ENGINE=versitygw
    else die "no way to run a local S3 here. $NO_ENGINE"
    fi ;;
esac

# Something already listening there would answer our health checks and fool us.
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  die "127.0.0.1:$PORT is already in use (another local S3?). Stop it, or pick another port with --port N."
fi
if [ ! -d "$ROOT/node_modules/tsx" ] || [ ! -d "$ROOT/node_modules/@aws-sdk/client-s3" ]; then
  die "node_modules is missing (the bucket step needs tsx and @aws-sdk/client-s3): run npm ci first."
fi

# --- process handling: one child at a time, in its own session so we stop all of it --
CHILD_PID=""
CHILD_GROUP=false
DOCKER_NAME=""
TEMP_DIR=""
start_child() { # command...; output goes to our stdout/stderr
  if command -v setsid >/dev/null; then
    setsid "$@" </dev/null & CHILD_GROUP=true
  else
    "$@" </dev/null & CHILD_GROUP=false
  fi
  CHILD_PID=$!
}
# shellcheck disable=SC2317 # reached from the traps below
signal_child() { # signal
  if $CHILD_GROUP; then kill "-$1" -- "-$CHILD_PID" 2>/dev/null || true; fi
  kill "-$1" "$CHILD_PID" 2>/dev/null || true
}
# shellcheck disable=SC2317
stop_child() {
  [ -n "$CHILD_PID" ] || return 0
  if [ -n "$DOCKER_NAME" ]; then docker stop -t 10 "$DOCKER_NAME" >/dev/null 2>&1 || true; fi
  signal_child TERM
  local waited=0
  while kill -0 "$CHILD_PID" 2>/dev/null && [ "$waited" -lt 100 ]; do sleep 0.2; waited=$((waited + 1)); done
  if kill -0 "$CHILD_PID" 2>/dev/null; then say "still running after 20 s, killing it"; fi
  signal_child KILL # also whatever it left behind in its process group
  wait "$CHILD_PID" 2>/dev/null || true
  CHILD_PID=""
}
# shellcheck disable=SC2317
cleanup() {
  trap - INT TERM EXIT
  stop_child
  if [ -n "$TEMP_DIR" ]; then rm -rf "$TEMP_DIR"; fi
}
trap cleanup EXIT
trap 'say "stopping (${LABEL:-${ENGINE:-local S3}})"; exit 130' INT
trap 'say "stopping (${LABEL:-${ENGINE:-local S3}})"; exit 143' TERM
# Long installs run as children too, so Ctrl-C or SIGTERM interrupts them at once.
run_child() { start_child "$@"; local rc=0; wait "$CHILD_PID" || rc=$?; CHILD_PID=""; return "$rc"; }

# Serialises installs when CI starts two of these at once with an empty cache.
lock_cache() { mkdir -p "$CACHE"; if command -v flock >/dev/null; then exec 9>"$CACHE/.install-$1.lock"; flock 9; fi; }
unlock_cache() { if command -v flock >/dev/null; then exec 9>&-; fi; }

# --- install what the engine needs (into the cache, once) -------------------------
install_localstack() {
  local python
  python=$(find_python313)
  lock_cache localstack
  if [ ! -x "$LOCALSTACK_VENV/bin/python" ] || ! cmp -s "$LOCALSTACK_REQUIREMENTS" "$LOCALSTACK_VENV/requirements.txt"; then
    say "installing LocalStack $LOCALSTACK_VERSION into $LOCALSTACK_VENV with $python (a few minutes, once)"
    rm -rf "$LOCALSTACK_VENV"
    "$python" -m venv "$LOCALSTACK_VENV" || die "$python cannot create a venv: install its venv module (apt-get install python3.13-venv)"
    run_child "$LOCALSTACK_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$LOCALSTACK_REQUIREMENTS"
    cp "$LOCALSTACK_REQUIREMENTS" "$LOCALSTACK_VENV/requirements.txt"
  fi
  unlock_cache
  if [ "$SERVICES" != s3 ] && ! "$LOCALSTACK_VENV/bin/python" -c 'import moto' 2>/dev/null; then
    say "warning: LOCALSTACK_SERVICES=$SERVICES, but only S3 works with the base-runtime extra; the others need moto-ext[all]>=5.1.22 in .ci/localstack-requirements.txt"
  fi
}

install_versitygw() {
  lock_cache versitygw
  if [ ! -x "$VERSITYGW_BIN_DIR/versitygw" ]; then
    command -v go >/dev/null || die "building versitygw $VERSITYGW_VERSION needs Go 1.25 or newer (https://go.dev/dl/)"
    say "building versitygw $VERSITYGW_VERSION into $VERSITYGW_BIN_DIR (a few minutes, once)"
    run_child env GOBIN="$VERSITYGW_BIN_DIR" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
  fi
  unlock_cache
}

# --- start the engine ----------------------------------------------------------------
ACCESS_KEY='test' # LocalStack: any access key, secret test
SECRET_KEY='test'
case "$ENGINE" in
  docker)
    LABEL=localstack-docker
    if ! docker image inspect "$LOCALSTACK_IMAGE" >/dev/null 2>&1; then
      say "pulling $LOCALSTACK_IMAGE"
      run_child docker pull "$LOCALSTACK_IMAGE"
    fi
    DOCKER_NAME="access-broker-s3-$PORT"
    docker rm -f "$DOCKER_NAME" >/dev/null 2>&1 || true # a leftover from a killed run
    volume=()
    if [ -n "$DATA_DIR" ]; then mkdir -p "$DATA_DIR"; volume=(-v "$(cd "$DATA_DIR" && pwd):/var/lib/localstack"); fi
    say "starting $LOCALSTACK_IMAGE on $ENDPOINT (services: $SERVICES)"
    start_child docker run --rm --name "$DOCKER_NAME" -p "127.0.0.1:$PORT:4566" \
      -e "SERVICES=$SERVICES" -e S3_SKIP_SIGNATURE_VALIDATION=0 ${volume[@]+"${volume[@]}"} "$LOCALSTACK_IMAGE"
    ;;
  localstack)
    LABEL=localstack-native
    install_localstack
    if [ -z "$DATA_DIR" ]; then TEMP_DIR=$(mktemp -d); DATA_DIR="$TEMP_DIR"; fi
    mkdir -p "$DATA_DIR"
    DATA_DIR=$(cd "$DATA_DIR" && pwd)
    say "starting LocalStack $LOCALSTACK_VERSION natively on $ENDPOINT (services: $SERVICES, volume $DATA_DIR)"
    cd "$DATA_DIR" # it writes next to its working directory
    start_child env SERVICES="$SERVICES" S3_SKIP_SIGNATURE_VALIDATION=0 GATEWAY_LISTEN="127.0.0.1:$PORT" \
      DNS_ADDRESS=0 SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 LOCALSTACK_VOLUME_DIR="$DATA_DIR/volume" \
      "$LOCALSTACK_VENV/bin/python" -m localstack.runtime.main
    ;;
  versitygw)
    LABEL=versitygw
    install_versitygw
    ACCESS_KEY="${ROOT_ACCESS_KEY:-test}"
    SECRET_KEY="${ROOT_SECRET_KEY:-test}"
    DATA_DIR="${DATA_DIR:-$ROOT/data/versitygw}"
    mkdir -p "$DATA_DIR"
    DATA_DIR=$(cd "$DATA_DIR" && pwd)
    say "starting versitygw $VERSITYGW_VERSION on $ENDPOINT (posix backend in $DATA_DIR)"
    start_child env ROOT_ACCESS_KEY="$ACCESS_KEY" ROOT_SECRET_KEY="$SECRET_KEY" \
      "$VERSITYGW_BIN_DIR/versitygw" --port "127.0.0.1:$PORT" posix "$DATA_DIR"
    ;;
esac
SERVER_PID=$CHILD_PID

# --- wait until it answers ------------------------------------------------------------
ready() {
  if [ "$ENGINE" = versitygw ]; then
    curl -s -o /dev/null --max-time 2 "$ENDPOINT/" # any HTTP answer (an S3 error is one)
  else
    local health service
    health=$(curl -fsS --max-time 2 "$ENDPOINT/_localstack/health" 2>/dev/null) || return 1
    for service in ${SERVICES//,/ }; do
      grep -q "\"$service\": \"\(available\|running\)\"" <<<"$health" || return 1
    done
  fi
}
deadline=$((SECONDS + TIMEOUT))
until ready; do
  kill -0 "$SERVER_PID" 2>/dev/null || die "$LABEL exited before answering on $ENDPOINT (its output is above)"
  [ "$SECONDS" -lt "$deadline" ] || die "$LABEL did not answer on $ENDPOINT within $TIMEOUT s (LOCAL_S3_TIMEOUT raises that)"
  sleep 1
done

# --- the development bucket, with its browser CORS ------------------------------------
# The bucket step runs in the foreground; CHILD_PID stays the server's so a signal stops it.
(cd "$ROOT" && S3_ENDPOINT="$ENDPOINT" S3_BUCKET="$BUCKET" AWS_REGION="$REGION" \
  AWS_ACCESS_KEY_ID="$ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$SECRET_KEY" \
  node --import tsx scripts/create-bucket.ts) || die "could not create bucket $BUCKET on $ENDPOINT"

if [ "$ACCESS_KEY/$SECRET_KEY" != test/test ]; then say "credentials: AWS_ACCESS_KEY_ID=$ACCESS_KEY AWS_SECRET_ACCESS_KEY=$SECRET_KEY"; fi
printf 'local S3 ready: S3_ENDPOINT=%s bucket %s (engine: %s)\n' "$ENDPOINT" "$BUCKET" "$LABEL"

# --- foreground until Ctrl-C, SIGTERM, or the engine stops by itself ------------------
rc=0
wait "$SERVER_PID" || rc=$?
CHILD_PID=""
die "$LABEL stopped by itself (exit status $rc)"
