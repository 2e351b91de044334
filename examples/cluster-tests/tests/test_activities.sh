#!/usr/bin/env bash
# ActivityTest suite: each activity of a workflow appends to a log record in the same
# commit as its journal entry; replaying an execution returns the journaled result and
# runs nothing again; concurrent executions writing one log lose no entry and duplicate
# none. Against the cluster at BASE_URL.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/helpers.sh"
require_tools

# Executions started at once against one log.
PARALLEL_RUNS="${PARALLEL_RUNS:-5}"
a="act-$RUN_ID"
TMPDIR_ACT="$(mktemp -d)"
trap 'rm -rf "$TMPDIR_ACT"' EXIT
actions='["reserve","charge","ship"]'

section "one execution"
expect "run x1 answers its actions" 200 "$actions" POST "/activity/$a/run" '{"exec_id": "x1"}'
api GET "/activity/$a/log"
assert_eq "GET log is 200" 200 "$STATUS"
assert_json "the log has one entry per activity, in order" 'map(.action)' "$actions"
assert_json "entries name their execution" 'map(.id)' '["x1:reserve","x1:charge","x1:ship"]'
assert_json "entries carry a timestamp" 'map(.timestamp | type == "number" and . > 0) | all' true

section "replay runs nothing again"
expect "run x1 again answers the journaled actions" 200 "$actions" POST "/activity/$a/run" '{"exec_id": "x1"}'
api GET "/activity/$a/log"
assert_json "the log still has 3 entries" 'length' 3
expect "run x2 (a new execution)" 200 "$actions" POST "/activity/$a/run" '{"exec_id": "x2"}'
api GET "/activity/$a/log"
assert_json "x2 appended its 3 entries" 'map(.id) | .[3:]' '["x2:reserve","x2:charge","x2:ship"]'

section "$PARALLEL_RUNS executions at once on one log"
pids=()
for n in $(seq 1 "$PARALLEL_RUNS"); do
  curl -sS -m "$CURL_TIMEOUT_S" -o /dev/null -w '%{http_code}\n' -X POST -H 'content-type: application/json' --data "{\"exec_id\": \"p$n\"}" "$BASE_URL/activity/$a/run" >"$TMPDIR_ACT/run.$n" 2>&1 &
  pids+=($!)
done 2>/dev/null
codes=""
for n in $(seq 1 "$PARALLEL_RUNS"); do
  wait "${pids[$((n - 1))]}" 2>/dev/null
  codes="$codes$(cat "$TMPDIR_ACT/run.$n" 2>/dev/null)"
  rm -f "$TMPDIR_ACT/run.$n"
done
assert_eq "every parallel run answered 200" "$(printf '200%.0s' $(seq 1 "$PARALLEL_RUNS"))" "$codes"
api GET "/activity/$a/log"
total=$((6 + 3 * PARALLEL_RUNS))
assert_json "no entry lost: $total entries" 'length' "$total"
assert_json "no entry twice" 'map(.id) | unique | length' "$total"

section "bad input"
expect_error "a body without exec_id is 400" 400 POST "/activity/$a/run" '{}'
expect_error "a non-object body is 400" 400 POST "/activity/$a/run" '"x1"'
expect "an unknown log is empty" 200 '[]' GET "/activity/nobody-$RUN_ID/log"

summary test_activities
