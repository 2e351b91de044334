#!/usr/bin/env bash
# Traits suite: TraitTest composes Auditable and Versioned; each update is recorded in the
# audit log and counted by the version, both persist with the entity, ids are independent,
# and bad bodies are refused (400) without changing anything. Against the cluster at BASE_URL.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/helpers.sh"
require_tools

t="trait-$RUN_ID"
u="trait-other-$RUN_ID"

section "a new TraitTest"
expect "data of a new entity is empty" 200 '""' GET "/trait/$t"
expect "version of a new entity is 0" 200 0 GET "/trait/$t/version"
expect "audit log of a new entity is empty" 200 '[]' GET "/trait/$t/audit-log"

section "updates are audited and counted"
expect "update 1" 200 null POST "/trait/$t/update" '{"data": "first"}'
expect "update 2" 200 null POST "/trait/$t/update" '{"data": "second"}'
expect "update 3 repeats the data" 200 null POST "/trait/$t/update" '{"data": "second"}'
expect "the data is the last update" 200 '"second"' GET "/trait/$t"
expect "version counts every update" 200 3 GET "/trait/$t/version"
api GET "/trait/$t/audit-log"
assert_eq "audit-log answers 200" 200 "$STATUS"
assert_json "one record per update, in order" '[.[] | {action, data}]' '[{"action": "update", "data": "first"}, {"action": "update", "data": "second"}, {"action": "update", "data": "second"}]'
assert_json "every record has a numeric timestamp" 'all(.[]; .timestamp | type == "number" and . > 0)' true
assert_json "timestamps never go back" '[.[].timestamp] | . == sort' true
expect "reads are not audited" 200 3 GET "/trait/$t/version"

section "ids are independent"
expect "update another id" 200 null POST "/trait/$u/update" '{"data": "x"}'
expect "its version is 1" 200 1 GET "/trait/$u/version"
expect "the first is still at 3" 200 3 GET "/trait/$t/version"

section "bad bodies change nothing"
expect_error "update without data -> 400" 400 POST "/trait/$t/update" '{}'
expect_error "update with numeric data -> 400" 400 POST "/trait/$t/update" '{"data": 5}'
expect_error "update with an array -> 400" 400 POST "/trait/$t/update" '["a"]'
expect_error "update with malformed JSON -> 400" 400 POST "/trait/$t/update" '{"data": '
expect "version unchanged by bad bodies" 200 3 GET "/trait/$t/version"
expect_error "unknown trait route -> 404" 404 GET "/trait/$t/nope"

summary "test_traits"
