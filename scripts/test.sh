#!/usr/bin/env bash
# make test: one debug build with tests (no release build), then every test. Integration suites
# start their own nginx, responder and companion on temporary dirs and free ports.
#
# Then the storage, API, session/revocation and CLI suites run once more on PostgreSQL
# (AUTHGATE_TEST_DB=postgres: a fresh database per test or stack on a server the tests start in a
# temp dir; one set of tests, two backends). AUTHGATE_TEST_PG=0 skips that pass; arguments (e.g. --filter X) apply to the first
# pass only, and skip the second one.
#
# A whole-run watchdog bounds it: past AUTHGATE_TEST_TIMEOUT seconds (default 1200) the test
# process group is stopped and the tests still running are named. Every run ends with its wall
# time and its slowest tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Cheap password hashing for tests (one test sets the defaults explicitly).
export AUTH_SCRYPT="${AUTH_SCRYPT:-ln=4,r=8,p=1}"
limit="${AUTHGATE_TEST_TIMEOUT:-1200}"
# The suites that run on both stores: in process, storage and routes; through real processes,
# the seeds' example clients, sessions, lockout, revocation (gate and WebSocket), credentials and
# tenant rules at the gate, key rotation, the micro-cache, browser sessions (and their renewal
# rules), clock steps and the CLI. The rest are transport, crypto,
# parsers, or SQLite machinery (VerifyStateTests drives the SQLite verify store itself; backups).
# The two-host suite runs on PostgreSQL in the first pass already.
pg_suites='AuthCoreTests\.(Storage[A-Za-z]*Tests|VerifyCompactStateTests|VerifyBulkRevocationTests|API[A-Za-z]*Tests|MaintenanceTests|VerifyFastPathTests|AtomicWriteTests|BrowserRenewalRulesTests|MFAFlowTests)'
pg_suites+='|IntegrationTests\.(GateRevocationTests|APIRefreshLockoutTests|APISessionTests|WebSocketStackTests|CLITests'
pg_suites+='|CLIHardeningTests|APISeedFlowTests|GateCredentialTests|GateTenantTests|GateKeyRotationTests|GateCacheTests|GateCacheKeyTests|BrowserSessionTests'
pg_suites+='|GateBrowserHardeningTests|ClockStepTests|MFAGateTests|MFASecretsTests|PasskeyGateTests|PasskeyAccountTests|MailFlowTests|MailFailureTests|GateAALDoorTests|HTTPDoorThreadTests)'

swift build --build-tests

log="$(mktemp "${TMPDIR:-/tmp}/authgate-test-log.XXXXXX")"
trap 'rm -f "$log"' EXIT
started=$(date +%s)
set +e
# timeout runs the tests in their own process group and signals the whole group: the test
# binary and every nginx/responder/companion it started (a PostgreSQL server the tests started
# sits in a group of its own; its watchdog kills it when the test binary dies).
timeout --kill-after=20 "$limit" stdbuf -oL -eL swift test --skip-build "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
pg_rc=0
if [ "$#" -eq 0 ] && [ "${AUTHGATE_TEST_PG:-1}" != 0 ] && { [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]; }; then
    left=$(( limit - ($(date +%s) - started) ))
    if [ "$left" -lt 60 ]; then
        echo "make test: no time left for the PostgreSQL pass (${left} s of ${limit} s)" >&2
        pg_rc=124
    else
        echo "make test: the storage, API, session and CLI suites again, on PostgreSQL (AUTHGATE_TEST_DB=postgres)"
        AUTHGATE_TEST_DB=postgres timeout --kill-after=20 "$left" stdbuf -oL -eL swift test --skip-build \
            --filter "$pg_suites" 2>&1 | tee -a "$log"
        pg_rc=${PIPESTATUS[0]}
    fi
fi
set -e
elapsed=$(( $(date +%s) - started ))
if [ "$rc" -eq 0 ] && [ "$pg_rc" -ne 0 ]; then rc=$pg_rc; fi

# The .deb under a real systemd as PID 1, short form (README "Install on a server"; make
# test-systemd runs every case): make deb when the package is missing or older than its inputs
# (lintian left to make deb), a container booted from the cached root, then install, sockets,
# first request, login/401/200, a restart under a request loop, remove, purge. On a machine that
# cannot boot the container it says why and goes on. AUTHGATE_SYSTEMD=0 leaves it out.
sd_rc=0
if [ "${AUTHGATE_SYSTEMD:-short}" = 0 ]; then
    echo "make test: the systemd short form NOT RUN (AUTHGATE_SYSTEMD=0)"
elif [ "$#" -ne 0 ]; then
    echo "make test: the systemd short form NOT RUN (test arguments given: $*)"
else
    sd_started=$(date +%s)
    AUTHGATE_DEB_LINTIAN=0 scripts/test-systemd.sh short || sd_rc=$?
    echo "make test: the systemd short form took $(( $(date +%s) - sd_started )) s (exit ${sd_rc})"
fi
if [ "$rc" -eq 0 ] && [ "$sd_rc" -ne 0 ]; then rc=$sd_rc; fi

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
