#!/usr/bin/env bash
# make crash / make soak: the long versions of two integration tests, one debug build with tests.
#   crash: CrashSafetyTests + CrashCompanionTests with AUTHGATE_CRASH_KILLS kills (default 60;
#          make test runs the same tests with 20).
#   soak:  SoakTests for SOAK_SECONDS (default 600): 200 clients of mixed traffic through nginx,
#          a 500-login burst halfway, the table of counts, p99s, RSS and fds at the end.
#   clock: ClockStepTests with AUTHGATE_CLOCK_ROUNDS rounds (default 6) of four wall-clock steps
#          (-1 h, back, +1 day, back), AUTHGATE_CLOCK_PHASE_SECONDS of traffic after each (default
#          10); make test runs one round of 1 s phases.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
what="${1:?usage: scripts/reliability.sh crash|soak|clock}"
export AUTH_SCRYPT="${AUTH_SCRYPT:-ln=4,r=8,p=1}"
timeout 1200 swift build --build-tests
case "$what" in
    crash)
        export AUTHGATE_CRASH_KILLS="${AUTHGATE_CRASH_KILLS:-60}"
        timeout 1800 swift test --skip-build --filter 'CrashSafetyTests|CrashCompanionTests' 2>&1 | grep -vE '^(◇|↳)'
        ;;
    soak)
        seconds="${SOAK_SECONDS:-600}"
        export AUTHGATE_SOAK_SECONDS="$seconds"
        timeout "$((seconds + 600))" swift test --skip-build --filter SoakTests 2>&1 | grep -vE '^(◇|↳)'
        ;;
    clock)
        export AUTHGATE_CLOCK_ROUNDS="${AUTHGATE_CLOCK_ROUNDS:-6}"
        export AUTHGATE_CLOCK_PHASE_SECONDS="${AUTHGATE_CLOCK_PHASE_SECONDS:-10}"
        timeout "$(( AUTHGATE_CLOCK_ROUNDS * 4 * (AUTHGATE_CLOCK_PHASE_SECONDS + 30) + 300 ))" \
            swift test --skip-build --filter ClockStepTests 2>&1 | grep -vE '^(◇|↳)'
        ;;
    *) echo "reliability: crash, soak or clock, not $what" >&2; exit 2 ;;
esac
