#!/usr/bin/env bash
# Runs every test_*.sh suite next to this file (or those whose name contains one of the
# arguments) against the cluster at BASE_URL, reports each suite's verdict and time,
# and exits non-zero when any suite failed.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export BASE_URL="${BASE_URL:-http://127.0.0.1:8080}"

suites=()
for suite in "$here"/test_*.sh; do
  name="$(basename "$suite" .sh)"
  if [ $# -eq 0 ]; then
    suites+=("$suite")
  else
    for want in "$@"; do
      if [[ "$name" == *"$want"* ]]; then suites+=("$suite"); break; fi
    done
  fi
done
if [ "${#suites[@]}" -eq 0 ]; then
  echo "e2e: no suite matches: $*" >&2
  exit 2
fi

if ! curl -sf -m 10 "$BASE_URL/health" >/dev/null 2>&1; then
  echo "e2e: no healthy runner at $BASE_URL (start one with: npm start)" >&2
  exit 1
fi

results=()
failed=0
for suite in "${suites[@]}"; do
  name="$(basename "$suite" .sh)"
  printf '\n######## %s\n' "$name"
  started=$SECONDS
  if bash "$suite"; then
    results+=("PASS  $name ($((SECONDS - started))s)")
  else
    results+=("FAIL  $name ($((SECONDS - started))s)")
    failed=$((failed + 1))
  fi
done

printf '\n######## e2e summary (%s)\n' "$BASE_URL"
printf '  %s\n' "${results[@]}"
if [ "$failed" -gt 0 ]; then
  printf '%d of %d suites failed\n' "$failed" "${#suites[@]}"
  exit 1
fi
printf 'all %d suites passed\n' "${#suites[@]}"
