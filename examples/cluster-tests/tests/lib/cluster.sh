#!/usr/bin/env bash
# Process control for suites that run their own cluster of runner processes (restarts,
# kill -9): start, health-wait, stop and kill runners on fixed loopback ports with a
# temporary data directory. Source it after helpers.sh.

CLUSTER_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="${REPO_ROOT:-$(cd "$CLUSTER_LIB_DIR/../../../.." && pwd)}"
# Runners of the suite's own cluster, and the first HTTP and cluster ports (runner i
# uses base + i - 1). Chosen away from the local cluster's 8080.. and 7946...
CLUSTER_NODES="${CLUSTER_NODES:-3}"
CLUSTER_HTTP_BASE="${CLUSTER_HTTP_BASE:-18080}"
CLUSTER_PORT_BASE="${CLUSTER_PORT_BASE:-17946}"
# How long a runner gets to become healthy, and to exit after SIGTERM, in seconds.
CLUSTER_START_TIMEOUT_S="${CLUSTER_START_TIMEOUT_S:-120}"
CLUSTER_STOP_TIMEOUT_S="${CLUSTER_STOP_TIMEOUT_S:-60}"
CLUSTER_DIR="${CLUSTER_DIR:-$(mktemp -d -t flotilla-cluster-tests.XXXXXX)}"
declare -a RUNNER_PIDS=()

# The command that runs one runner: RUNNER_CMD when set; else the TypeScript source
# through tsx when it is installed (always current), else the build in dist/.
runner_cmd() {
  if [ -n "${RUNNER_CMD:-}" ]; then
    printf '%s' "$RUNNER_CMD"
  elif [ -f "$REPO_ROOT/node_modules/tsx/package.json" ]; then
    printf 'node --import tsx %s' "$REPO_ROOT/examples/cluster-tests/src/main.ts"
  else
    printf 'node %s' "$REPO_ROOT/dist/examples/cluster-tests/src/main.js"
  fi
}

runner_http() { printf '127.0.0.1:%d' $((CLUSTER_HTTP_BASE + $1 - 1)); }
runner_url() { printf 'http://%s' "$(runner_http "$1")"; }
runner_node_id() { printf 'runner-%d' "$1"; }
runner_log() { printf '%s/runner-%d.log' "$CLUSTER_DIR" "$1"; }

runner_alive() {
  local pid="${RUNNER_PIDS[$1]:-}"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

runner_healthy() {
  curl -sf -m 2 "$(runner_url "$1")/health" >/dev/null 2>&1
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start_runner I [form]: spawns runner I in the background (its log in CLUSTER_DIR); with
# "form" it may form a new cluster over an existing data directory (FORCE_FORM=1). In etcd
# mode (ETCD_ENDPOINTS set) the suite's cluster gets its own etcd prefix, so its runners
# never find the local cluster's runners there.
start_runner() {
  local i="$1" form="${2:-}" cmd
  cmd="$(runner_cmd)"
  # shellcheck disable=SC2086 # the command is words on purpose
  (cd "$REPO_ROOT" && exec env ${form:+FORCE_FORM=1} NODE_ID="$(runner_node_id "$i")" LISTEN_ADDR="$(runner_http "$i")" \
    RUNNER_ADDRESS="127.0.0.1:$((CLUSTER_PORT_BASE + i - 1))" SEEDS="127.0.0.1:$CLUSTER_PORT_BASE" \
    DATA_DIR="$CLUSTER_DIR/data" ${ETCD_ENDPOINTS:+ETCD_PREFIX="/flotilla-suite/$(basename "$CLUSTER_DIR")/"} $cmd >>"$(runner_log "$i")" 2>&1) &
  RUNNER_PIDS[$i]=$!
}

# wait_healthy I: waits for runner I's /health; returns 1 if it exits or the time runs out.
wait_healthy() {
  local i="$1" deadline=$((SECONDS + CLUSTER_START_TIMEOUT_S))
  until runner_healthy "$i"; do
    if ! runner_alive "$i"; then
      echo "  runner $i exited before it was healthy; last log lines:" >&2
      tail -n 20 "$(runner_log "$i")" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "  runner $i not healthy within ${CLUSTER_START_TIMEOUT_S}s; last log lines:" >&2
      tail -n 20 "$(runner_log "$i")" >&2
      return 1
    fi
    sleep 0.2
  done
}

# True once runner 1's table is balanced over every runner (each owns at least
# floor(partitions / runners)): owners change as migrations finish, so the moves that
# follow a start are done by then.
cluster_settled() {
  local body
  body="$(curl -sf -m 5 "$(runner_url 1)/debug/shards")" || return 1
  jq -e --argjson n "$CLUSTER_NODES" '
    length as $p | [group_by(.owner)[] | length] as $counts
    | $p > 0 and ($counts | length) == $n and ($counts | min) >= (($p / $n) | floor)' <<<"$body" >/dev/null 2>&1
}

# start_cluster: runner 1 first (the others join through it), then the rest; waits until
# every runner is healthy and the partition table spans them all.
start_cluster() {
  local i port
  mkdir -p "$CLUSTER_DIR/data"
  for i in $(seq 1 "$CLUSTER_NODES"); do
    for port in $((CLUSTER_HTTP_BASE + i - 1)) $((CLUSTER_PORT_BASE + i - 1)); do
      if port_in_use "$port"; then
        echo "  port $port is in use: set CLUSTER_HTTP_BASE / CLUSTER_PORT_BASE" >&2
        return 1
      fi
    done
  done
  # The first runner starts alone and the others only once it is healthy: it may form a
  # cluster over data of an earlier one (a former member otherwise waits for its peers).
  start_runner 1 form
  wait_healthy 1 || return 1
  for i in $(seq 2 "$CLUSTER_NODES"); do start_runner "$i"; done
  for i in $(seq 2 "$CLUSTER_NODES"); do wait_healthy "$i" || return 1; done
  local deadline=$((SECONDS + CLUSTER_START_TIMEOUT_S))
  until cluster_settled; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "  the partition table did not span all $CLUSTER_NODES runners within ${CLUSTER_START_TIMEOUT_S}s" >&2
      return 1
    fi
    sleep 0.2
  done
}

# stop_cluster: SIGTERM to every live runner (a graceful leave), SIGKILL past the timeout.
stop_cluster() {
  local i pid deadline
  for i in "${!RUNNER_PIDS[@]}"; do runner_alive "$i" && kill -TERM "${RUNNER_PIDS[$i]}" 2>/dev/null; done
  deadline=$((SECONDS + CLUSTER_STOP_TIMEOUT_S))
  for i in "${!RUNNER_PIDS[@]}"; do
    while runner_alive "$i" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    if runner_alive "$i"; then
      echo "  runner $i did not stop within ${CLUSTER_STOP_TIMEOUT_S}s; killing it" >&2
      kill -KILL "${RUNNER_PIDS[$i]}" 2>/dev/null
    fi
    pid="${RUNNER_PIDS[$i]}"
    wait "$pid" 2>/dev/null
  done
  RUNNER_PIDS=()
}

# kill9_runner I: kill -9, and reap it.
kill9_runner() {
  local pid="${RUNNER_PIDS[$1]}"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  unset 'RUNNER_PIDS[$1]'
}

# The runner number of a node id (runner-2 -> 2).
runner_of_node() { printf '%s' "${1#runner-}"; }

# Stops whatever is still running and removes the data directory (logs are kept and
# their path printed when KEEP_CLUSTER_DIR=1 or the suite failed).
cleanup_cluster() {
  stop_cluster
  if [ "${KEEP_CLUSTER_DIR:-0}" == 1 ] || [ "$TESTS_FAILED" -gt 0 ]; then
    echo "runner logs kept in $CLUSTER_DIR" >&2
  else
    rm -rf "$CLUSTER_DIR"
  fi
}
