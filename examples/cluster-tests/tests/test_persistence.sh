#!/usr/bin/env bash
# Persistence suite: entity state survives passivation and reload, a restart of the whole
# cluster, and kill -9 of the entity's owner (the next call, through another runner, lands
# on the new owner and sees the last acknowledged value). It runs its own cluster of
# runner processes (ports CLUSTER_HTTP_BASE.. and CLUSTER_PORT_BASE..) with a temporary
# data directory and a short passivation time, so it does not touch the cluster at BASE_URL.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/helpers.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/cluster.sh"
require_tools node

# Idle time before the suite's runners passivate an entity, ms: short, so passivation
# is quick to observe, long enough that a just-called entity is still listed.
export ENTITY_PASSIVATE_AFTER_MS="${ENTITY_PASSIVATE_AFTER_MS:-3000}"
# Failure detection scaled down (SWIM settings) so the kill -9 part takes seconds, not tens.
export SWIM_OVERRIDES="${SWIM_OVERRIDES-probeIntervalMs=500,probeTimeoutMs=250,suspicionMult=2}"
# How long a call may take to ride out the owner's death (detection, then failover), s.
FAILOVER_TIMEOUT_S="${FAILOVER_TIMEOUT_S:-120}"
trap cleanup_cluster EXIT

# The node id that has TYPE/ID active, as runner I's cluster-wide /debug/entities says; empty if none.
active_on() {
  req GET "$(runner_url "$1")/debug/entities"
  [ "$STATUS" == 200 ] || return 0
  jq -r --arg t "$2" --arg id "$3" 'map(select(.type == $t and .id == $id)) | .[0].node // empty' <<<"$BODY"
}

# The node holding Counter ID: a read activates it on its owner; a partition move in
# between passivates it there, so read and look again a few times.
counter_owner() {
  local attempt node=""
  for attempt in 1 2 3 4 5; do
    api GET "/counter/$1"
    node="$(active_on 1 Counter "$1")"
    [ -n "$node" ] && break
  done
  printf '%s' "$node"
}

not_active() {
  [ -z "$(active_on 1 "$1" "$2")" ]
}

section "start a $CLUSTER_NODES-runner cluster (passivation after ${ENTITY_PASSIVATE_AFTER_MS} ms, data in $CLUSTER_DIR)"
if start_cluster; then pass "cluster started and settled"; else fail "cluster started and settled"; summary test_persistence; exit 1; fi
BASE_URL="$(runner_url 1)"

c="persist-counter-$RUN_ID"
kv="persist-kv-$RUN_ID"

section "passivation and reload"
expect "increment 7" 200 7 POST "/counter/$c/increment" 7
expect "kv set" 200 null POST "/kv/$kv/set" '{"key": "color", "value": {"name": "teal", "rgb": [0, 128, 128]}}'
owner="$(counter_owner "$c")"
if [ -n "$owner" ]; then pass "Counter $c is active (on $owner)"; else fail "Counter $c is active" "not listed by /debug/entities: $(clip "$BODY")"; fi
wait_until "Counter $c is passivated" 60 not_active Counter "$c"
wait_until "KVStore $kv is passivated" 60 not_active KVStore "$kv"
expect "the counter reloads with 7" 200 7 GET "/counter/$c"
expect "the kv value reloads" 200 '{"name": "teal", "rgb": [0, 128, 128]}' GET "/kv/$kv/get/color"
expect "the reloaded counter keeps counting" 200 10 POST "/counter/$c/increment" 3

section "restart of the whole cluster"
stop_cluster
pass "every runner stopped"
if start_cluster; then pass "cluster restarted on the same data"; else fail "cluster restarted on the same data"; summary test_persistence; exit 1; fi
expect "the counter survived the restart" 200 10 GET "/counter/$c"
expect "the kv value survived the restart" 200 '{"name": "teal", "rgb": [0, 128, 128]}' GET "/kv/$kv/get/color"
for i in $(seq 2 "$CLUSTER_NODES"); do
  req GET "$(runner_url "$i")/counter/$c"
  assert_eq "runner $i reads the same counter" "200 10" "$STATUS $BODY"
done

section "kill -9 of the owner"
k="persist-kill-$RUN_ID"
for n in 1 2 3 4 5; do expect "increment $n of 5 (by 3)" 200 $((n * 3)) POST "/counter/$k/increment" 3; done
owner="$(counter_owner "$k")"
if [ -z "$owner" ]; then
  fail "find the owner of Counter $k" "not listed by /debug/entities"
else
  pass "Counter $k is active on $owner"
  victim="$(runner_of_node "$owner")"
  survivor=1
  [ "$victim" == 1 ] && survivor=2
  kill9_runner "$victim"
  pass "kill -9 $owner"
  # Every answer until failover completes may be an error (the runner's deadline, a
  # retryable code), but no answer may ever be a wrong value.
  deadline=$((SECONDS + FAILOVER_TIMEOUT_S))
  seen=""
  while [ "$SECONDS" -lt "$deadline" ]; do
    req GET "$(runner_url "$survivor")/counter/$k"
    if [ "$STATUS" == 200 ]; then seen="$BODY"; break; fi
    sleep 0.5
  done
  assert_eq "through runner $survivor, the counter still reads 15 after failover" 15 "$seen"
  BASE_URL="$(runner_url "$survivor")"
  expect "and increments from there" 200 16 POST "/counter/$k/increment" 1
  new_owner="$(active_on "$survivor" Counter "$k")"
  if [ -n "$new_owner" ] && [ "$new_owner" != "$owner" ]; then pass "Counter $k now lives on $new_owner"; else fail "Counter $k moved off $owner" "listed on: ${new_owner:-nothing}"; fi
fi

summary test_persistence
