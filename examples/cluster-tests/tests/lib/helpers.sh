#!/usr/bin/env bash
# Shared helpers of the cluster-tests suites: HTTP calls with timeouts against BASE_URL,
# assertions that count passes and failures, polling with deadlines, and the summary.
# Source it; it defines functions and counters only.

BASE_URL="${BASE_URL:-http://127.0.0.1:8080}"
# Longest one HTTP call may take, in seconds: above the runner's own request deadline
# (45 s), so a slow answer shows up as the runner's 504 rather than a curl timeout.
CURL_TIMEOUT_S="${CURL_TIMEOUT_S:-60}"
# Longest a poll (wait_until) may take by default, in seconds.
WAIT_TIMEOUT_S="${WAIT_TIMEOUT_S:-60}"

TESTS_PASSED=0
TESTS_FAILED=0
FAILED_NAMES=()
# Set by every request: the HTTP status (000 when curl itself failed) and the body.
STATUS=""
BODY=""

require_tools() {
  local tool
  for tool in curl jq "$@"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "error: '$tool' is required but not installed" >&2
      exit 2
    fi
  done
}

section() {
  printf '\n== %s\n' "$*"
}

pass() {
  TESTS_PASSED=$((TESTS_PASSED + 1))
  printf '  ok    %s\n' "$1"
}

fail() {
  TESTS_FAILED=$((TESTS_FAILED + 1))
  FAILED_NAMES+=("$1")
  printf '  FAIL  %s\n' "$1"
  if [ $# -gt 1 ]; then printf '        %s\n' "${@:2}"; fi
}

# Splits curl's output (body, newline, status) into BODY and STATUS.
_split_response() {
  STATUS="${1##*$'\n'}"
  BODY="${1%$'\n'*}"
}

# req METHOD URL [BODY]: one request; the body (if any) goes through stdin, so its size
# is not bound by the argument length limit. Sets STATUS and BODY.
req() {
  local method="$1" url="$2" out
  if [ $# -ge 3 ]; then
    out="$(printf '%s' "$3" | curl -sS -m "$CURL_TIMEOUT_S" -X "$method" -H 'content-type: application/json' --data-binary @- -w '\n%{http_code}' "$url" 2>&1)" || { STATUS=000; BODY="curl failed: $out"; return 0; }
  else
    out="$(curl -sS -m "$CURL_TIMEOUT_S" -X "$method" -w '\n%{http_code}' "$url" 2>&1)" || { STATUS=000; BODY="curl failed: $out"; return 0; }
  fi
  _split_response "$out"
}

# req_file METHOD URL FILE: like req, with the body read from FILE.
req_file() {
  local out
  out="$(curl -sS -m "$CURL_TIMEOUT_S" -X "$1" -H 'content-type: application/json' --data-binary @"$3" -w '\n%{http_code}' "$2" 2>&1)" || { STATUS=000; BODY="curl failed: $out"; return 0; }
  _split_response "$out"
}

# api METHOD PATH [BODY]: req against BASE_URL.
api() {
  req "$1" "$BASE_URL$2" "${@:3}"
}

# JSON normal form (sorted keys, compact) of $1; the text itself when it is not JSON.
json_norm() {
  jq -cS . <<<"$1" 2>/dev/null || printf '%s' "$1"
}

# Shortens a body for a failure message.
clip() {
  local text="$1"
  if [ "${#text}" -gt 300 ]; then printf '%s... (%d chars)' "${text:0:300}" "${#text}"; else printf '%s' "$text"; fi
}

assert_eq() {
  local name="$1" expected="$2" actual="$3"
  if [ "$expected" == "$actual" ]; then pass "$name"; else fail "$name" "expected: $(clip "$expected")" "actual:   $(clip "$actual")"; fi
}

# assert_json NAME FILTER EXPECTED: jq FILTER applied to BODY equals EXPECTED (as JSON).
assert_json() {
  local name="$1" filter="$2" expected="$3" actual
  actual="$(jq -cS "$filter" <<<"$BODY" 2>/dev/null)" || actual="(not JSON: $(clip "$BODY"))"
  assert_eq "$name" "$(json_norm "$expected")" "$actual"
}

# expect NAME STATUS EXPECTED_JSON METHOD PATH [BODY]: one call; status and body must match.
expect() {
  local name="$1" status="$2" expected="$3"
  api "${@:4}"
  if [ "$STATUS" != "$status" ]; then
    fail "$name" "expected status $status, got $STATUS" "body: $(clip "$BODY")"
    return 0
  fi
  assert_eq "$name" "$(json_norm "$expected")" "$(json_norm "$BODY")"
}

# expect_error NAME STATUS METHOD PATH [BODY]: an error answer {error, code} with STATUS.
expect_error() {
  local name="$1" status="$2"
  api "${@:3}"
  if [ "$STATUS" != "$status" ]; then
    fail "$name" "expected status $status, got $STATUS" "body: $(clip "$BODY")"
  elif ! jq -e '(.error | type == "string") and (.code | type == "string" and startswith("FLO_"))' <<<"$BODY" >/dev/null 2>&1; then
    fail "$name" "expected {error, code}, got $(clip "$BODY")"
  else
    pass "$name ($(jq -r .code <<<"$BODY"))"
  fi
}

# wait_until DESCRIPTION TIMEOUT_S COMMAND...: polls COMMAND until it succeeds; returns 1
# (and reports the failure) once TIMEOUT_S seconds have passed.
wait_until() {
  local what="$1" timeout_s="$2" deadline
  shift 2
  deadline=$((SECONDS + timeout_s))
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      fail "$what" "not true within ${timeout_s}s"
      return 1
    fi
    sleep 0.2
  done
  pass "$what"
}

# A unique suffix for entity ids, so reruns against one cluster do not see old state.
RUN_ID="${RUN_ID:-$(date +%s)-$$}"

# summary SUITE: prints the counts and the failures; returns 1 when anything failed.
summary() {
  printf '\n%s: %d passed, %d failed\n' "$1" "$TESTS_PASSED" "$TESTS_FAILED"
  if [ "$TESTS_FAILED" -gt 0 ]; then
    local name
    for name in "${FAILED_NAMES[@]}"; do printf '  failed: %s\n' "$name"; done
    return 1
  fi
  return 0
}
