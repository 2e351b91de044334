#!/usr/bin/env bash
# WorkflowTest suite: a simple workflow runs its 3 steps and answers the same stored
# result when run again; a failing one fails at fail_at and, run again with the same
# exec_id, continues from that step; a long one runs all its steps once; executions are
# listed. Then, on a cluster of its own (ports CLUSTER_HTTP_BASE.. and CLUSTER_PORT_BASE..):
# kill -9 of the runner owning a long workflow and a pending timer: the workflow completes
# on another runner with each step journaled once, and the timer fires there once; then a
# long workflow and a pending timer survive kill -9 of every runner: after the restart the
# workflow completes with each step journaled once, and the timer fires once.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/helpers.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/cluster.sh"
require_tools node

# Steps of the long workflow (against BASE_URL) and of the one interrupted by the crash.
LONG_STEPS="${LONG_STEPS:-100}"
CRASH_STEPS="${CRASH_STEPS:-2000}"
# How long the restarted cluster may take to finish the interrupted workflow, s.
RESUME_TIMEOUT_S="${RESUME_TIMEOUT_S:-180}"
export SWIM_OVERRIDES="${SWIM_OVERRIDES-probeIntervalMs=500,probeTimeoutMs=250,suspicionMult=2}"
trap cleanup_cluster EXIT

w="wf-$RUN_ID"
simple='"e1: step-1,step-2,step-3"'

section "simple workflow"
expect "run-simple e1 answers its result" 200 "$simple" POST "/workflow/$w/run-simple" '{"exec_id": "e1"}'
expect "run-simple e1 again answers the stored result" 200 "$simple" POST "/workflow/$w/run-simple" '{"exec_id": "e1"}'
expect "execution e1 lists its steps and result" 200 "{\"id\": \"e1\", \"steps_completed\": [\"step-1\", \"step-2\", \"step-3\"], \"result\": $simple}" GET "/workflow/$w/execution/e1"

section "failing workflow, retried with the same exec_id"
expect_error "run-failing f1 fails at step 3" 500 POST "/workflow/$w/run-failing" '{"exec_id": "f1", "fail_at": 3}'
expect "after the failure: steps 1 and 2 done, no result" 200 '{"id": "f1", "steps_completed": ["step-1", "step-2"], "result": null}' GET "/workflow/$w/execution/f1"
expect "run-failing f1 again continues from step 3 and completes" 200 '"f1: step-1,step-2,step-3,step-4,step-5"' POST "/workflow/$w/run-failing" '{"exec_id": "f1", "fail_at": 3}'
api GET "/workflow/$w/execution/f1"
assert_json "f1 has every step once" '.steps_completed' '["step-1","step-2","step-3","step-4","step-5"]'

section "long workflow ($LONG_STEPS steps)"
expect "run-long l1" 200 "\"l1: $LONG_STEPS steps\"" POST "/workflow/$w/run-long" "{\"exec_id\": \"l1\", \"steps\": $LONG_STEPS}"
api GET "/workflow/$w/execution/l1"
assert_json "l1 completed $LONG_STEPS steps" '.steps_completed | length' "$LONG_STEPS"
assert_json "each step once" '.steps_completed | unique | length' "$LONG_STEPS"

section "executions"
api GET "/workflow/$w/executions"
assert_eq "GET executions is 200" 200 "$STATUS"
assert_json "lists e1, f1 and l1" 'map(.id) | sort' '["e1","f1","l1"]'
expect "a workflow id never run has no executions" 200 '[]' GET "/workflow/nobody-$RUN_ID/executions"

section "bad input"
expect_error "run-simple without exec_id is 400" 400 POST "/workflow/$w/run-simple" '{}'
expect_error "run-long with steps that are not a number is 400" 400 POST "/workflow/$w/run-long" '{"exec_id": "x", "steps": "many"}'
expect_error "run-failing without fail_at is 400" 400 POST "/workflow/$w/run-failing" '{"exec_id": "x"}'
expect_error "an unknown execution is 404" 404 GET "/workflow/$w/execution/nope"

# The suite's own cluster must not share the database of the cluster at BASE_URL: it uses
# SUITE_POSTGRES_URL (another database) when set, else SQLite files in CLUSTER_DIR.
if [ -n "${SUITE_POSTGRES_URL:-}" ]; then export POSTGRES_URL="$SUITE_POSTGRES_URL"; else unset POSTGRES_URL; fi
section "kill -9 of the owner, then of every runner, mid-workflow ($CLUSTER_NODES runners, ${POSTGRES_URL:+PostgreSQL, }data in $CLUSTER_DIR)"
if start_cluster; then pass "cluster started and settled"; else fail "cluster started and settled"; summary test_workflows; exit 1; fi
BASE_URL="$(runner_url 1)"

# The partition of KEY (Flotilla's partitionOf, through node) and its owner by /debug/shards.
partition_of() {
  (cd "$REPO_ROOT" && node --import tsx --input-type=module -e "import { partitionOf } from './src/core/partition.ts'; console.log(partitionOf(process.argv[1]))" "$1")
}
owner_of() {
  req GET "$(runner_url "$2")/debug/shards"
  jq -r --argjson p "$1" 'map(select(.partition == $p)) | .[0].owner // empty' <<<"$BODY"
}

kw="kill-$RUN_ID"
kt="kill-timer-$RUN_ID"
wp="$(partition_of "workflow/$kw/k1")"
victim="$(runner_of_node "$(owner_of "$wp" 1)")"
survivor=1
[ "$victim" == 1 ] && survivor=2
if [ -z "$victim" ]; then fail "find the owner of the workflow's partition $wp"; else pass "workflow $kw/k1 lives in partition $wp on runner $victim"; fi
# A timer key in the same partition as the workflow, so the same runner owns both.
timer_key="$(cd "$REPO_ROOT" && node --import tsx --input-type=module -e "
import { partitionOf } from './src/core/partition.ts';
const [prefix, want] = [process.argv[1], Number(process.argv[2])];
for (let n = 1; n < 100000; n++) if (partitionOf('timer/' + prefix + '-' + n) === want) { console.log(prefix + '-' + n); break; }" "$kt" "$wp")"
BASE_URL="$(runner_url "$survivor")"
if [ -n "$timer_key" ]; then
  expect "schedule a timer (due in 6 s) owned by runner $victim" 200 null POST "/timer/$timer_key/schedule" '{"timer_id": "t", "delay_ms": 6000}'
fi
curl -sS -m "$CURL_TIMEOUT_S" -o /dev/null -X POST -H 'content-type: application/json' --data "{\"exec_id\": \"k1\", \"steps\": $CRASH_STEPS}" "$BASE_URL/workflow/$kw/run-long" >/dev/null 2>&1 &
kill_pid=$!
kill_steps() {
  api GET "/workflow/$kw/execution/k1"
  [ "$STATUS" == 200 ] && [ "$(jq '.steps_completed | length' <<<"$BODY")" -gt 0 ]
}
wait_until "the workflow is under way on runner $victim" 60 kill_steps
kill9_runner "$victim"
pass "kill -9 runner $victim (the owner)"
wait "$kill_pid" 2>/dev/null
kill_done() {
  api GET "/workflow/$kw/execution/k1"
  [ "$STATUS" == 200 ] && jq -e '.result != null' <<<"$BODY" >/dev/null 2>&1
}
wait_until "the workflow completed on another runner by itself" "$RESUME_TIMEOUT_S" kill_done
assert_json "with every step journaled once" '[(.steps_completed | length), (.steps_completed | unique | length)]' "[$CRASH_STEPS,$CRASH_STEPS]"
# The workflow may finish on the victim just before the kill lands, before the survivors
# hold it dead: the partition then moves only after failure detection, so wait for it.
moved_off() {
  local owner
  owner="$(owner_of "$wp" "$survivor")"
  [ -n "$owner" ] && [ "$owner" != "$(runner_node_id "$victim")" ]
}
wait_until "partition $wp moved off runner $victim" 60 moved_off
if [ -n "$timer_key" ]; then
  kill_timer_fired() {
    api GET "/timer/$timer_key/fires"
    [ "$STATUS" == 200 ] && [ "$(jq 'length' <<<"$BODY")" -ge 1 ]
  }
  wait_until "the dead owner's timer fired elsewhere" 120 kill_timer_fired
  assert_json "once" 'length' 1
else
  fail "find a timer key in partition $wp"
fi
start_runner "$victim"
if wait_healthy "$victim"; then pass "runner $victim restarted"; else fail "runner $victim restarted"; fi
BASE_URL="$(runner_url 1)"

cw="crash-$RUN_ID"
ct="crash-timer-$RUN_ID"
expect "schedule a timer due in 4 s" 200 null POST "/timer/$ct/schedule" '{"timer_id": "t", "delay_ms": 4000}'
curl -sS -m "$CURL_TIMEOUT_S" -o /dev/null -X POST -H 'content-type: application/json' --data "{\"exec_id\": \"c1\", \"steps\": $CRASH_STEPS}" "$BASE_URL/workflow/$cw/run-long" >/dev/null 2>&1 &
started_pid=$!
some_steps() {
  api GET "/workflow/$cw/execution/c1"
  [ "$STATUS" == 200 ] && [ "$(jq '.steps_completed | length' <<<"$BODY")" -gt 0 ]
}
wait_until "the long workflow is under way" 60 some_steps
for i in $(seq 1 "$CLUSTER_NODES"); do kill9_runner "$i"; done
wait "$started_pid" 2>/dev/null
req GET "$(runner_url 1)/health"
assert_eq "every runner is gone" 000 "$STATUS"
if start_cluster; then pass "cluster restarted on the same data"; else fail "cluster restarted on the same data"; summary test_workflows; exit 1; fi
completed() {
  api GET "/workflow/$cw/execution/c1"
  [ "$STATUS" == 200 ] && jq -e '.result != null' <<<"$BODY" >/dev/null 2>&1
}
wait_until "the interrupted workflow resumed and completed on its own" "$RESUME_TIMEOUT_S" completed
assert_json "its result" '.result' "\"c1: $CRASH_STEPS steps\""
assert_json "every step journaled once" '.steps_completed | unique | length' "$CRASH_STEPS"
assert_json "and no step twice" '.steps_completed | length' "$CRASH_STEPS"
timer_fired() {
  api GET "/timer/$ct/fires"
  [ "$STATUS" == 200 ] && [ "$(jq 'length' <<<"$BODY")" -ge 1 ]
}
wait_until "the pending timer fired after the restart" 120 timer_fired
expect "a later timer (300 ms)" 200 null POST "/timer/$ct/schedule" '{"timer_id": "later", "delay_ms": 300}'
later_fired() {
  api GET "/timer/$ct/fires"
  [ "$STATUS" == 200 ] && jq -e 'any(.[]; .timer_id == "later")' <<<"$BODY" >/dev/null 2>&1
}
wait_until "the later timer fired" 60 later_fired
api GET "/timer/$ct/fires"
assert_json "the crash-surviving timer fired once" 'map(select(.timer_id == "t")) | length' 1

summary test_workflows
