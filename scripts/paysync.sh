#!/usr/bin/env bash
# The top-level commands: root `npm test`, `npm start`, `npm run demo`, `npm run bench`,
# `npm run infra -- <cmd>`.
#
#   scripts/paysync.sh test          install deps if needed, start the local servers, run the checks
#   scripts/paysync.sh start         the whole stack locally against the WeChat Pay sandbox
#   scripts/paysync.sh demo          a scripted stream of orders against it, ending with the invariants
#   scripts/paysync.sh bench [name]  the benchmark scenarios (bench/results/<scenario>.json)
#   scripts/paysync.sh infra <cmd>   scripts/infra.ts <cmd> with Node 24 on PATH
#
# Environment: PAYSYNC_KEEP_INFRA=1 leaves servers that `test` started running afterwards;
# MYSQL_URL and KAFKA_BROKERS both set means "use those servers" (no local MariaDB/Kafka started).
set -euo pipefail

# shellcheck source=scripts/node-env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/node-env.sh"
cd "$PAYSYNC_ROOT"

export TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1 DO_NOT_TRACK=1

say() { printf 'paysync: %s\n' "$*" >&2 || true; }
infra() { node scripts/infra.ts "$@"; }

# npm ci only when node_modules is missing or package-lock.json (or the Node version) changed since
# the last successful install; the hash of what was installed is kept in .cache.
ensure_deps() {
  local stamp="$PAYSYNC_CACHE/npm-ci.sha256" want
  want="$( (sha256sum package-lock.json; node --version) | sha256sum | cut -d' ' -f1)"
  if [ -d node_modules ] && [ "$(cat "$stamp" 2>/dev/null || true)" = "$want" ]; then
    return 0
  fi
  say "installing npm dependencies (npm ci)…"
  mkdir -p "$PAYSYNC_CACHE"
  rm -f "$stamp"
  # Serialized with any other install in this checkout (the same lock `npm install` users take).
  flock "$PAYSYNC_CACHE/npm.lock" npm ci --no-audit --no-fund
  echo "$want" >"$stamp"
}

# Servers that are not running now and that `infra up` is about to start: ours to stop on exit.
STARTED_SERVERS=()
servers_not_running() {
  infra status --json | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      for (const x of JSON.parse(s)) if (x.state !== "running") console.log(x.name);
    });'
}

stop_started_servers() {
  local code=$?
  trap - EXIT INT TERM
  if [ "${#STARTED_SERVERS[@]}" -gt 0 ]; then
    if [ "${PAYSYNC_KEEP_INFRA:-0}" = 1 ]; then
      say "PAYSYNC_KEEP_INFRA=1: leaving ${STARTED_SERVERS[*]} running (stop with: npm run infra -- down)"
    else
      say "stopping the servers this run started: ${STARTED_SERVERS[*]}"
      if ! infra down "${STARTED_SERVERS[@]}" >&2; then
        say "ERROR: infra down failed"
        [ "$code" -eq 0 ] && code=1
      fi
      if ! infra leftovers "${STARTED_SERVERS[@]}"; then
        say "ERROR: processes of ours are still running after infra down (listed above)"
        [ "$code" -eq 0 ] && code=1
      fi
    fi
  fi
  exit "$code"
}

# Brings up toolchain, dependencies and (unless external servers are given) the local servers,
# and exports MYSQL_URL / KAFKA_BROKERS for what runs next.
prepare() {
  paysync_ensure_node
  ensure_deps
  # The real kube-apiserver the chart and operator tests use is built from source (10-25 minutes
  # on a cold 2-core machine, seconds once cached): start it now, in the background, so it is ready
  # by the time the integration tests need it. Those tests wait on the build's lock.
  if [ "${1:-}" = with-k8s ]; then
    mkdir -p "$PAYSYNC_CACHE/logs"
    say "building kube-apiserver in the background (log: .cache/logs/k8s-build.out)"
    node scripts/k8s/apiserver.ts build >"$PAYSYNC_CACHE/logs/k8s-build.out" 2>&1 &
  fi
  if [ -n "${MYSQL_URL:-}" ] && [ -n "${KAFKA_BROKERS:-}" ]; then
    say "using MYSQL_URL and KAFKA_BROKERS from the environment; local servers not started"
    infra tools
    return 0
  fi
  mapfile -t STARTED_SERVERS < <(servers_not_running)
  trap stop_started_servers EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  infra up
  eval "$(infra env)"
  export MYSQL_URL KAFKA_BROKERS
}

# Every step runs even when an earlier one failed (and turbo --continue runs every package), so one
# run reports everything that is wrong; the exit code is non-zero when anything failed.
FAILED_STEPS=()
FAILED_LOGS=()
STEP_NO=0
step() {
  local name="$1" log
  shift
  STEP_NO=$((STEP_NO + 1))
  log="$PAYSYNC_CACHE/logs/test-step-$STEP_NO.log"
  mkdir -p "$PAYSYNC_CACHE/logs"
  say "▶ $name: $*"
  if ! "$@" 2>&1 | tee "$log"; then
    FAILED_STEPS+=("$name")
    FAILED_LOGS+=("$log")
  fi
}

# The end of a long run is what a CI summary shows: repeat there which tests failed and why (the
# failing tests' names and the first lines of each failure), from the failed steps' logs.
failure_digest() {
  local log
  say "what failed (full logs: ${FAILED_LOGS[*]#"$PAYSYNC_ROOT"/}):"
  for log in "${FAILED_LOGS[@]}"; do
    # Jest's "●" blocks (test name, then the assertion and the code around it), tsc/biome errors,
    # turbo's failed-task lines; ANSI colours stripped.
    sed -e 's/\x1b\[[0-9;]*m//g' "$log" |
      awk '/●/ { n = 14 } /error TS|✖|ERROR|Failed:/ { print; next } n > 0 { print; n-- }' |
      head -n 150 >&2
  done
}

run_tests() {
  prepare with-k8s
  # Two at a time: on a 2-core machine more parallel tsc/jest processes only thrash.
  step "typecheck + unit tests" npx turbo run typecheck test:unit --env-mode=loose --concurrency=2 --continue
  step "typecheck scripts" npx tsc -p scripts/tsconfig.json
  step "lint (biome)" npx biome check --error-on-warnings .
  step "integration tests" npx turbo run test:integration --env-mode=loose --concurrency=1 --continue
  # Fault suites restart the shared MariaDB and Kafka: they run last, alone, one package at a time.
  step "fault tests" npx turbo run test:faults --env-mode=loose --concurrency=1 --continue
  if [ "${#FAILED_STEPS[@]}" -gt 0 ]; then
    failure_digest
    say "FAILED: ${FAILED_STEPS[*]}"
    return 1
  fi
  say "all checks passed"
}

not_yet() {
  prepare
  say "the $1 arrives in a later issue: toolchain, dependencies and local servers are ready, nothing else to run yet"
  return 1
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  test) run_tests ;;
  start | demo)
    prepare
    # The stack runs in the background so that this shell passes SIGINT/SIGTERM on to it and waits
    # for its clean stop (a shell waiting on a foreground command runs its traps only after it ended);
    # then the EXIT trap stops the servers `prepare` started.
    node "scripts/$cmd.ts" "$@" &
    stack_pid=$!
    trap 'kill -TERM "$stack_pid" 2>/dev/null || true' INT TERM HUP
    stack_code=0
    while :; do
      wait "$stack_pid" && stack_code=0 || stack_code=$?
      kill -0 "$stack_pid" 2>/dev/null || break
    done
    # When the terminal is gone (npm killed, window closed), writing to it fails: the EXIT trap must
    # still get to stop the servers, so output goes nowhere from here on.
    printf '\n' >&2 2>/dev/null || exec >/dev/null 2>&1
    exit "$stack_code"
    ;;
  bench)
    prepare
    node bench/run.ts "$@"
    ;;
  infra)
    paysync_ensure_node
    infra "$@"
    ;;
  *)
    echo "usage: scripts/paysync.sh <test|start|demo|bench [scenario]|infra <up|down|status|env|tools>>" >&2
    exit 2
    ;;
esac
