#!/usr/bin/env bash
# Basic suite: every Counter and KVStore route as the API spec lists it, serialized
# concurrent increments, independent ids, a 1 MB value, 10,000 keys, bad bodies (400
# with a code) and unknown routes (404), against the cluster at BASE_URL.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/helpers.sh"
require_tools

# How many keys the many-keys test writes, and how many requests curl keeps in flight.
KV_KEYS="${KV_KEYS:-10000}"
KV_PARALLEL="${KV_PARALLEL:-32}"
# How many parallel increments the concurrency test sends.
INCREMENTS="${INCREMENTS:-50}"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

c="basic-counter-$RUN_ID"
kv="basic-kv-$RUN_ID"

section "health"
api GET /health
assert_eq "GET /health is 200" 200 "$STATUS"
assert_json "GET /health says ok" .status '"ok"'

section "counter"
expect "new counter reads 0" 200 0 GET "/counter/$c"
expect "increment 5 -> 5" 200 5 POST "/counter/$c/increment" 5
expect "increment 3 -> 8" 200 8 POST "/counter/$c/increment" 3
expect "decrement 2 -> 6" 200 6 POST "/counter/$c/decrement" 2
expect "get -> 6" 200 6 GET "/counter/$c"
expect "decrement below zero -> -4" 200 -4 POST "/counter/$c/decrement" 10
expect "increment by a negative amount -> -5" 200 -5 POST "/counter/$c/increment" -1
expect "reset -> null" 200 null POST "/counter/$c/reset"
expect "get after reset -> 0" 200 0 GET "/counter/$c"
expect "reset ignores a body" 200 null POST "/counter/$c/reset" '{"anything": [1, 2]}'
expect "large values stay exact" 200 9007199254740991 POST "/counter/$c/increment" 9007199254740991
expect "reset again" 200 null POST "/counter/$c/reset"

section "counter: ids are independent"
a="basic-a-$RUN_ID"
b="basic-b-$RUN_ID"
expect "a += 10" 200 10 POST "/counter/$a/increment" 10
expect "b += 20" 200 20 POST "/counter/$b/increment" 20
expect "a still 10" 200 10 GET "/counter/$a"
expect "b still 20" 200 20 GET "/counter/$b"
expect "an id with spaces and slashes is its own counter" 200 1 POST "/counter/$(jq -rn --arg s "x y/z-$RUN_ID" '$s|@uri')/increment" 1

section "counter: $INCREMENTS concurrent increments are serialized"
p="basic-par-$RUN_ID"
for i in $(seq 1 "$INCREMENTS"); do
  curl -sS -m "$CURL_TIMEOUT_S" -o "$TMP/inc-$i.out" -w '%{http_code}' -X POST -H 'content-type: application/json' --data-binary 1 "$BASE_URL/counter/$p/increment" >"$TMP/inc-$i.status" 2>/dev/null &
done
wait
ok=0
for i in $(seq 1 "$INCREMENTS"); do [ "$(cat "$TMP/inc-$i.status" 2>/dev/null)" == 200 ] && ok=$((ok + 1)); done
assert_eq "every increment answered 200" "$INCREMENTS" "$ok"
expect "total is exactly $INCREMENTS" 200 "$INCREMENTS" GET "/counter/$p"
distinct="$(for i in $(seq 1 "$INCREMENTS"); do cat "$TMP/inc-$i.out"; echo; done | sort -n | uniq | wc -l | tr -d ' ')"
assert_eq "each increment saw a distinct value" "$INCREMENTS" "$distinct"

section "kv"
expect "get of a missing key -> null" 200 null GET "/kv/$kv/get/nothing"
expect "keys of a new store -> []" 200 '[]' GET "/kv/$kv/keys"
expect "set a string" 200 null POST "/kv/$kv/set" '{"key": "name", "value": "flotilla"}'
expect "get it back" 200 '"flotilla"' GET "/kv/$kv/get/name"
expect "set an object" 200 null POST "/kv/$kv/set" '{"key": "obj", "value": {"a": [1, 2, {"b": null}], "c": true}}'
expect "get the object back" 200 '{"a": [1, 2, {"b": null}], "c": true}' GET "/kv/$kv/get/obj"
expect "set a number" 200 null POST "/kv/$kv/set" '{"key": "n", "value": 42.5}'
expect "get the number" 200 42.5 GET "/kv/$kv/get/n"
expect "overwrite" 200 null POST "/kv/$kv/set" '{"key": "n", "value": 7}'
expect "get the new value" 200 7 GET "/kv/$kv/get/n"
expect "a key with a slash and spaces" 200 null POST "/kv/$kv/set" '{"key": "a/b c", "value": 1}'
expect "read it URL-encoded" 200 1 GET "/kv/$kv/get/a%2Fb%20c"
api GET "/kv/$kv/keys"
assert_json "keys lists every key" 'sort' '["a/b c", "n", "name", "obj"]'
expect "delete an existing key -> true" 200 true DELETE "/kv/$kv/delete/name"
expect "delete it again -> false" 200 false DELETE "/kv/$kv/delete/name"
expect "deleted key reads null" 200 null GET "/kv/$kv/get/name"
expect "other stores are independent" 200 null GET "/kv/other-$kv/get/n"
expect "clear -> null" 200 null POST "/kv/$kv/clear"
expect "keys after clear -> []" 200 '[]' GET "/kv/$kv/keys"

section "kv: a 1 MB value"
big="basic-big-$RUN_ID"
head -c 786432 /dev/urandom | base64 -w0 >"$TMP/big.txt"
jq -Rn --rawfile v "$TMP/big.txt" '{key: "blob", value: ($v | rtrimstr("\n"))}' >"$TMP/big.json"
req_file POST "$BASE_URL/kv/$big/set" "$TMP/big.json"
assert_eq "set a 1 MB value -> 200" 200 "$STATUS"
api GET "/kv/$big/get/blob"
assert_eq "get returns 200" 200 "$STATUS"
assert_eq "the 1 MB value comes back byte for byte" "$(jq -c .value "$TMP/big.json" | md5sum)" "$(jq -c . <<<"$BODY" | md5sum)"
expect "clear the big store" 200 null POST "/kv/$big/clear"

section "kv: $KV_KEYS keys"
many="basic-many-$RUN_ID"
# KV_PARALLEL curl processes, each sending its share of the sets one after another over
# one kept-alive connection (curl's own --parallel mode drops transfers under load).
for c in $(seq 0 $((KV_PARALLEL - 1))); do
  for i in $(seq $((c + 1)) "$KV_PARALLEL" "$KV_KEYS"); do
    [ "$i" -gt "$KV_PARALLEL" ] && echo next
    printf 'url = "%s/kv/%s/set"\nrequest = "POST"\nheader = "content-type: application/json"\ndata = "{\\"key\\": \\"k%d\\", \\"value\\": %d}"\nsilent\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nmax-time = %d\n' \
      "$BASE_URL" "$many" "$i" "$i" "$CURL_TIMEOUT_S"
  done >"$TMP/many-$c.cfg"
done
started=$SECONDS
for c in $(seq 0 $((KV_PARALLEL - 1))); do curl -K "$TMP/many-$c.cfg" >"$TMP/many-$c.status" 2>/dev/null & done
wait
ok="$(cat "$TMP"/many-*.status | grep -c '^200$')"
assert_eq "$KV_KEYS sets answered 200 (in $((SECONDS - started))s)" "$KV_KEYS" "$ok"
api GET "/kv/$many/keys"
assert_json "keys lists all $KV_KEYS keys" 'length' "$KV_KEYS"
assert_json "keys has no duplicates" 'unique | length' "$KV_KEYS"
expect "a key from the middle reads back" 200 "$((KV_KEYS / 2))" GET "/kv/$many/get/k$((KV_KEYS / 2))"
expect "clear the many-keys store" 200 null POST "/kv/$many/clear"

section "bad requests"
expect_error "increment with malformed JSON -> 400" 400 POST "/counter/$c/increment" '{not json'
expect_error "increment with a string -> 400" 400 POST "/counter/$c/increment" '"five"'
expect_error "increment with an object -> 400" 400 POST "/counter/$c/increment" '{"n": 5}'
expect_error "increment with a fraction -> 400" 400 POST "/counter/$c/increment" '1.5'
expect_error "increment without a body -> 400" 400 POST "/counter/$c/increment"
expect_error "decrement with null -> 400" 400 POST "/counter/$c/decrement" 'null'
expect_error "kv set with malformed JSON -> 400" 400 POST "/kv/$kv/set" '{"key": '
expect_error "kv set with an array -> 400" 400 POST "/kv/$kv/set" '[1, 2]'
expect_error "kv set without a key -> 400" 400 POST "/kv/$kv/set" '{"value": 1}'
expect_error "kv set with a numeric key -> 400" 400 POST "/kv/$kv/set" '{"key": 1, "value": 1}'
expect_error "kv set without a value -> 400" 400 POST "/kv/$kv/set" '{"key": "k"}'
expect "bad calls changed nothing" 200 0 GET "/counter/$c"

section "unknown routes"
expect_error "unknown path -> 404" 404 GET /nope
expect_error "unknown counter action -> 404" 404 POST "/counter/$c/multiply" 2
expect_error "too many segments -> 404" 404 GET "/kv/$kv/get/a/b"
expect_error "root -> 404" 404 GET /

summary "test_basic"
