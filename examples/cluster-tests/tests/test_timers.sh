#!/usr/bin/env bash
# TimerTest suite: a timer fires once and not before its delay; a cancelled one never
# fires; many timers at once each fire once; fires can be cleared. Against the cluster at
# BASE_URL. (That a pending timer survives a crash of every runner is checked by
# test_workflows.sh, which runs its own cluster.)
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/helpers.sh"
require_tools

# How many timers the many-timers section schedules, and how many requests fly at once.
MANY_TIMERS="${MANY_TIMERS:-50}"
TIMER_PARALLEL="${TIMER_PARALLEL:-16}"
t="timer-$RUN_ID"

fired() {
  api GET "/timer/$t/fires"
  [ "$STATUS" == 200 ] && jq -e --arg id "$1" 'any(.[]; .timer_id == $id)' <<<"$BODY" >/dev/null 2>&1
}

section "schedule, fire once, not early"
expect "schedule a in 300 ms" 200 null POST "/timer/$t/schedule" '{"timer_id": "a", "delay_ms": 300}'
# b is due late enough that the cancel surely comes first, even on a loaded machine.
expect "schedule b in 5 s" 200 null POST "/timer/$t/schedule" '{"timer_id": "b", "delay_ms": 5000}'
expect "cancel b -> true" 200 true POST "/timer/$t/cancel" '{"timer_id": "b"}'
expect "cancel b again -> false" 200 false POST "/timer/$t/cancel" '{"timer_id": "b"}'
expect "cancel a timer never scheduled -> false" 200 false POST "/timer/$t/cancel" '{"timer_id": "nobody"}'
wait_until "a fired" 60 fired a
api GET "/timer/$t/fires"
assert_json "a fired at or after its due time" 'map(select(.timer_id == "a")) | .[0] | .fired_at >= .scheduled_at + 300' true
# c shares b's partition and is due after b: once c fired, b's due time has passed too.
expect "schedule c in 5.5 s (after b's due time)" 200 null POST "/timer/$t/schedule" '{"timer_id": "c", "delay_ms": 5500}'
wait_until "c fired" 60 fired c
api GET "/timer/$t/fires"
assert_json "the cancelled b never fired, a and c fired once each" 'map(.timer_id) | sort' '["a","c"]'

section "$MANY_TIMERS timers at once"
m="many-$RUN_ID"
seq 1 "$MANY_TIMERS" | xargs -P "$TIMER_PARALLEL" -I{} sh -c \
  "curl -sf -m $CURL_TIMEOUT_S -o /dev/null -X POST -H 'content-type: application/json' --data '{\"timer_id\": \"m{}\", \"delay_ms\": '\$(( ({} * 37) % 1000 + 100 ))'}' '$BASE_URL/timer/$m/schedule'" \
  && pass "scheduled $MANY_TIMERS timers" || fail "scheduled $MANY_TIMERS timers"
many_fired() {
  api GET "/timer/$m/fires"
  [ "$STATUS" == 200 ] && [ "$(jq 'length' <<<"$BODY")" -ge "$MANY_TIMERS" ]
}
wait_until "all $MANY_TIMERS fired" 120 many_fired
api GET "/timer/$m/fires"
assert_json "each fired once" 'map(.timer_id) | unique | length' "$MANY_TIMERS"
assert_json "and only once" 'length' "$MANY_TIMERS"
assert_json "none fired before its due time" 'map(.fired_at >= .scheduled_at + ((.timer_id[1:] | tonumber) * 37 % 1000 + 100)) | all' true

section "clear-fires"
expect "clear-fires -> null" 200 null POST "/timer/$t/clear-fires"
expect "no fires after clearing" 200 '[]' GET "/timer/$t/fires"
expect "a fresh id has no fires" 200 '[]' GET "/timer/nobody-$RUN_ID/fires"

section "bad input"
expect_error "schedule without timer_id is 400" 400 POST "/timer/$t/schedule" '{"delay_ms": 10}'
expect_error "a negative delay is 400" 400 POST "/timer/$t/schedule" '{"timer_id": "x", "delay_ms": -1}'
expect_error "a delay that is not a number is 400" 400 POST "/timer/$t/schedule" '{"timer_id": "x", "delay_ms": "soon"}'
expect_error "cancel without timer_id is 400" 400 POST "/timer/$t/cancel" '{}'

summary test_timers
