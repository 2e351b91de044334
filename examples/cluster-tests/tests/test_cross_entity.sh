#!/usr/bin/env bash
# Cross-entity suite: a CrossEntity calls another (send -> receive), messages keep their
# sender and order, a circular rally A -> B -> A -> ... completes, calls reach entities on
# other partitions and nodes, and bad bodies are refused. Against the cluster at BASE_URL.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/helpers.sh"
require_tools

a="cross-a-$RUN_ID"
b="cross-b-$RUN_ID"

section "send and receive"
expect "a new entity has no messages" 200 '[]' GET "/cross/$b/messages"
expect "a sends b a message" 200 null POST "/cross/$a/send" "{\"target_type\": \"CrossEntity\", \"target_id\": \"$b\", \"message\": \"hello\"}"
expect "a sends b another" 200 null POST "/cross/$a/send" "{\"target_type\": \"CrossEntity\", \"target_id\": \"$b\", \"message\": \"again\"}"
api GET "/cross/$b/messages"
assert_json "b received both, in order, from a" '[.[] | {from_entity, content}]' "[{\"from_entity\": \"$a\", \"content\": \"hello\"}, {\"from_entity\": \"$a\", \"content\": \"again\"}]"
assert_json "each message has a timestamp" 'all(.[]; .timestamp | type == "number" and . > 0)' true
expect "the sender received nothing" 200 '[]' GET "/cross/$a/messages"
expect "receive directly" 200 null POST "/cross/$a/receive" '{"from": "outside", "message": "hi a"}'
api GET "/cross/$a/messages"
assert_json "a lists the direct message" '[.[] | {from_entity, content}]' '[{"from_entity": "outside", "content": "hi a"}]'
expect "an entity can message itself" 200 null POST "/cross/$a/send" "{\"target_type\": \"CrossEntity\", \"target_id\": \"$a\", \"message\": \"note to self\"}"
api GET "/cross/$a/messages"
assert_json "a received its own message" '.[-1] | {from_entity, content}' "{\"from_entity\": \"$a\", \"content\": \"note to self\"}"

section "circular calls (A -> B -> A -> ...)"
expect "ping-pong of 1 exchange" 200 1 POST "/cross/$a/ping-pong" "{\"partner_id\": \"$b\", \"count\": 1}"
expect "ping-pong of 2 (A -> B -> A) re-enters A" 200 2 POST "/cross/$a/ping-pong" "{\"partner_id\": \"$b\", \"count\": 2}"
expect "ping-pong of 20" 200 20 POST "/cross/$a/ping-pong" "{\"partner_id\": \"$b\", \"count\": 20}"
expect "ping-pong of 0" 200 0 POST "/cross/$a/ping-pong" "{\"partner_id\": \"$b\", \"count\": 0}"

section "across partitions and nodes"
# Ten targets spread over partitions (and so over the runners); one sender reaches them all.
for i in $(seq 1 10); do
  api POST "/cross/$a/send" "{\"target_type\": \"CrossEntity\", \"target_id\": \"cross-t$i-$RUN_ID\", \"message\": \"m$i\"}"
  [ "$STATUS" == 200 ] || fail "send to target $i" "status $STATUS: $(clip "$BODY")"
done
ok=0
for i in $(seq 1 10); do
  api GET "/cross/cross-t$i-$RUN_ID/messages"
  [ "$(jq -c '[.[] | .content]' <<<"$BODY" 2>/dev/null)" == "[\"m$i\"]" ] && ok=$((ok + 1))
done
assert_eq "every target received its message" 10 "$ok"
api GET /debug/entities
assert_json "the targets live on more than one node" "[.[] | select(.type == \"CrossEntity\" and (.id | startswith(\"cross-t\")) and (.id | endswith(\"-$RUN_ID\"))) | .node] | unique | length > 1" true
expect "ping-pong with a partner on another node" 200 10 POST "/cross/cross-t1-$RUN_ID/ping-pong" "{\"partner_id\": \"cross-t2-$RUN_ID\", \"count\": 10}"

section "bad bodies"
expect_error "send to an unknown type -> 400" 400 POST "/cross/$a/send" "{\"target_type\": \"Nope\", \"target_id\": \"$b\", \"message\": \"x\"}"
expect_error "send without a target id -> 400" 400 POST "/cross/$a/send" '{"target_type": "CrossEntity", "message": "x"}'
expect_error "send with a numeric message -> 400" 400 POST "/cross/$a/send" "{\"target_type\": \"CrossEntity\", \"target_id\": \"$b\", \"message\": 1}"
expect_error "receive without from -> 400" 400 POST "/cross/$a/receive" '{"message": "x"}'
expect_error "ping-pong with a negative count -> 400" 400 POST "/cross/$a/ping-pong" "{\"partner_id\": \"$b\", \"count\": -1}"
expect_error "ping-pong past the chain limit -> 400" 400 POST "/cross/$a/ping-pong" "{\"partner_id\": \"$b\", \"count\": 1000}"
expect_error "malformed JSON -> 400" 400 POST "/cross/$a/send" '{"target_type": '
api GET "/cross/$b/messages"
assert_json "bad bodies delivered nothing" 'length' 2

summary "test_cross_entity"
