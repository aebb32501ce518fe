#!/usr/bin/env bash
# make test: one debug build with tests (no release build), then every test. Integration suites
# start their own nginx, responder and companion on temporary dirs and free ports.
#
# A whole-run watchdog bounds it: past AUTHGATE_TEST_TIMEOUT seconds (default 1200) the test
# process group is stopped and the tests still running are named. Every run ends with its wall
# time and its slowest tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Cheap password hashing for tests (one test sets the defaults explicitly).
export AUTH_SCRYPT="${AUTH_SCRYPT:-ln=4,r=8,p=1}"
limit="${AUTHGATE_TEST_TIMEOUT:-1200}"

swift build --build-tests

log="$(mktemp "${TMPDIR:-/tmp}/authgate-test-log.XXXXXX")"
trap 'rm -f "$log"' EXIT
started=$(date +%s)
set +e
# timeout runs the tests in their own process group and signals the whole group: the test
# binary and every nginx/responder/companion it started.
timeout --kill-after=20 "$limit" stdbuf -oL -eL swift test --skip-build "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
elapsed=$(( $(date +%s) - started ))

# Swift Testing prints "◇ Test NAME started." and "✔/✘ Test NAME passed/failed after S seconds."
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "make test: WATCHDOG fired after ${limit} s; tests still running:" >&2
    awk '
        /^◇ Test .* started\.$/ { name = $0; sub(/^◇ Test /, "", name); sub(/ started\.$/, "", name); running[name] = 1 }
        /^(✔|✘) Test .* (passed|failed)/ { name = $0; sub(/^[^ ]+ Test /, "", name); sub(/ (passed|failed).*$/, "", name); delete running[name] }
        END { for (n in running) print "  still running: " n }
    ' "$log" >&2
fi
echo "make test: tests took ${elapsed} s (exit ${rc}); slowest:"
# (Times include waiting for a thread of the test pool: tests start together and queue.)
grep -E '^✔ Test .*\) passed after [0-9.]+ seconds' "$log" \
    | sed -E 's/^✔ Test (.*) passed after ([0-9.]+) seconds.*/\2 \1/' | sort -rn | head -n 8 | sed 's/^/  /' || true
exit "$rc"
