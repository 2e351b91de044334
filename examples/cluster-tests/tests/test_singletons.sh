#!/usr/bin/env bash
# Singletons suite. Against the cluster at BASE_URL: SingletonTest runs on exactly one
# runner (every runner names the same), its sequence never repeats (also under concurrent
# calls from every runner), its history shows the running leadership, and the resets work.
# Then, on a cluster of its own (ports CLUSTER_HTTP_BASE.. and CLUSTER_PORT_BASE..; SQLite,
# or PostgreSQL at SUITE_POSTGRES_URL): the runner leading it is killed with kill -9; the
# singleton runs again on another runner within SINGLETON_FAILOVER_MAX_S of the kill, no
# sequence value repeats, and the history records the change.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/helpers.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/cluster.sh"
require_tools node

# Failure detection scaled down (SWIM settings), as in the persistence suite.
export SWIM_OVERRIDES="${SWIM_OVERRIDES-probeIntervalMs=500,probeTimeoutMs=250,suspicionMult=2}"
# How long after the kill the singleton must run elsewhere, s.
SINGLETON_FAILOVER_MAX_S="${SINGLETON_FAILOVER_MAX_S:-5}"
# Concurrent next-sequence calls per runner.
SEQ_PARALLEL="${SEQ_PARALLEL:-10}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"; cleanup_cluster' EXIT

# Sends SEQ_PARALLEL concurrent next-sequence calls to each URL given; the values go to $TMP/seq-*.out.
draw_parallel() {
  local url i n=0 pids=()
  rm -f "$TMP"/seq-*
  for url in "$@"; do
    for i in $(seq 1 "$SEQ_PARALLEL"); do
      n=$((n + 1))
      curl -sS -m "$CURL_TIMEOUT_S" -o "$TMP/seq-$n.out" -w '%{http_code}\n' -X POST "$url/singleton/next-sequence" >"$TMP/seq-$n.status" 2>/dev/null &
      pids+=($!)
    done
  done
  # Only the curls: a plain `wait` would also wait for the suite's own runners.
  wait "${pids[@]}"
  DRAWN=$n
}

drawn_ok() { cat "$TMP"/seq-*.status 2>/dev/null | grep -c '^200$'; }
drawn_values() { for f in "$TMP"/seq-*.out; do cat "$f"; echo; done | grep -E '^[0-9]+$'; }

section "one instance, one sequence (cluster at $BASE_URL)"
api GET /singleton/current-runner
assert_eq "current-runner answers 200" 200 "$STATUS"
runner="$(jq -r . <<<"$BODY" 2>/dev/null)"
if [ -n "$runner" ] && [ "$runner" != null ]; then pass "it runs on $runner"; else fail "it runs somewhere" "body: $(clip "$BODY")"; fi
for i in 1 2 3; do
  api GET /singleton/current-runner
  assert_eq "asked again ($i), the same runner answers" "\"$runner\"" "$BODY"
done
api POST /singleton/next-sequence
assert_eq "next-sequence answers 200" 200 "$STATUS"
first="$BODY"
api POST /singleton/next-sequence
assert_eq "the next value is one more" "$((first + 1))" "$BODY"
draw_parallel "$BASE_URL"
assert_eq "$DRAWN concurrent calls answered 200" "$DRAWN" "$(drawn_ok)"
assert_eq "each concurrent call got a distinct value" "$DRAWN" "$(drawn_values | sort -n | uniq | wc -l | tr -d ' ')"
assert_eq "all above the earlier values" 0 "$(drawn_values | awk -v f="$((first + 1))" '$1 <= f' | wc -l | tr -d ' ')"
api GET /singleton/leader-history
assert_eq "leader-history answers 200" 200 "$STATUS"
assert_json "the last leadership is the current runner's, still open" '.[-1] | {runner_id, lost: .lost_leadership_at}' "{\"runner_id\": \"$runner\", \"lost\": null}"
assert_json "every leadership has a start time" 'all(.[]; .became_leader_at | type == "number")' true
assert_json "exactly one leadership is open" '[.[] | select(.lost_leadership_at == null)] | length' 1
expect "clear-history -> null" 200 null POST /singleton/clear-history
api GET /singleton/leader-history
assert_json "after clearing, only the running leadership is left" '[.[].runner_id]' "[\"$runner\"]"
expect "reset-sequence -> null" 200 null POST /singleton/reset-sequence
expect "after a reset the sequence starts at 1" 200 1 POST /singleton/next-sequence
expect "then 2" 200 2 POST /singleton/next-sequence
expect_error "unknown singleton route -> 404" 404 GET /singleton/nope

# The suite's own cluster keeps its data apart from the cluster at BASE_URL: in its own
# PostgreSQL database when SUITE_POSTGRES_URL is set, else in SQLite in its data directory.
if [ -n "${SUITE_POSTGRES_URL:-}" ]; then export POSTGRES_URL="$SUITE_POSTGRES_URL"; else unset POSTGRES_URL; fi

section "kill -9 of the runner leading it (a cluster of $CLUSTER_NODES runners, data in $CLUSTER_DIR)"
if start_cluster; then pass "cluster started and settled"; else fail "cluster started and settled"; summary test_singletons; exit 1; fi
BASE_URL="$(runner_url 1)"
api GET /singleton/current-runner
leader="$(jq -r . <<<"$BODY" 2>/dev/null)"
if [ "$STATUS" == 200 ] && [ -n "$leader" ]; then pass "SingletonTest runs on $leader"; else fail "SingletonTest runs somewhere" "status $STATUS: $(clip "$BODY")"; summary test_singletons; exit 1; fi
urls=()
for i in $(seq 1 "$CLUSTER_NODES"); do urls+=("$(runner_url "$i")"); done
draw_parallel "${urls[@]}"
assert_eq "$DRAWN concurrent calls through every runner answered 200" "$DRAWN" "$(drawn_ok)"
drawn_values >"$TMP/before.txt"
assert_eq "each got a distinct value" "$DRAWN" "$(sort -n "$TMP/before.txt" | uniq | wc -l | tr -d ' ')"
victim="$(runner_of_node "$leader")"
survivor=1
[ "$victim" == 1 ] && survivor=2
killed_at_ms=$(($(date +%s%N) / 1000000))
kill9_runner "$victim"
pass "kill -9 $leader"
# Poll with a short per-call timeout: the first answers may wait on the dead leader.
new_leader=""
deadline=$((SECONDS + 120))
while [ "$SECONDS" -lt "$deadline" ]; do
  body="$(curl -sf -m 2 "$(runner_url "$survivor")/singleton/current-runner" 2>/dev/null)" || body=""
  name="$(jq -r . <<<"$body" 2>/dev/null)"
  if [ -n "$name" ] && [ "$name" != null ] && [ "$name" != "$leader" ]; then
    new_leader="$name"
    break
  fi
  sleep 0.1
done
if [ -n "$new_leader" ]; then pass "it runs again on $new_leader"; else fail "it runs again on another runner" "not within 120 s"; fi
BASE_URL="$(runner_url "$survivor")"
live=()
for i in $(seq 1 "$CLUSTER_NODES"); do [ "$i" != "$victim" ] && live+=("$(runner_url "$i")"); done
draw_parallel "${live[@]}"
assert_eq "$DRAWN concurrent calls after the failover answered 200" "$DRAWN" "$(drawn_ok)"
drawn_values >"$TMP/after.txt"
max_before="$(sort -n "$TMP/before.txt" | tail -n 1)"
min_after="$(sort -n "$TMP/after.txt" | head -n 1)"
assert_eq "every value after the failover is above every value before (max before $max_before)" 1 "$([ "${min_after:-0}" -gt "${max_before:-0}" ] && echo 1 || echo 0)"
assert_eq "no value repeats across the failover" "$(cat "$TMP/before.txt" "$TMP/after.txt" | wc -l | tr -d ' ')" "$(cat "$TMP/before.txt" "$TMP/after.txt" | sort -n | uniq | wc -l | tr -d ' ')"
api GET /singleton/leader-history
assert_json "the history ends with the killed leader, then the new one" '[.[-2:][] | .runner_id]' "[\"$leader\", \"$new_leader\"]"
assert_json "the killed leader's leadership is closed" '.[-2].lost_leadership_at | type' '"number"'
assert_json "the new leadership is open" '.[-1].lost_leadership_at' null
assert_json "the new one began no earlier than the old one ended" '.[-1].became_leader_at >= .[-2].lost_leadership_at' true
# The new leadership's start (the runners' clock, this host's) against the moment of the kill.
taken_ms="$(jq -r '.[-1].became_leader_at' <<<"$BODY" 2>/dev/null)"
[[ "$taken_ms" =~ ^[0-9]+$ ]] || taken_ms=0
elapsed_ms=$((taken_ms - killed_at_ms))
if [ "$elapsed_ms" -ge 0 ] && [ "$elapsed_ms" -le $((SINGLETON_FAILOVER_MAX_S * 1000)) ]; then
  pass "it ran again ${elapsed_ms} ms after the kill (at most ${SINGLETON_FAILOVER_MAX_S}s)"
else
  fail "it ran again within ${SINGLETON_FAILOVER_MAX_S}s of the kill" "took ${elapsed_ms} ms"
fi

summary "test_singletons"
