#!/usr/bin/env bash
# make crash / make soak: the long versions of two integration tests, one debug build with tests.
#   crash: CrashSafetyTests + CrashCompanionTests with AUTHGATE_CRASH_KILLS kills (default 60;
#          make test runs the same tests with 20).
#   soak:  SoakTests for SOAK_SECONDS (default 600): 200 clients of mixed traffic through nginx,
#          a 500-login burst halfway, the table of counts, p99s, RSS and fds at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
what="${1:?usage: scripts/reliability.sh crash|soak}"
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
    *) echo "reliability: crash or soak, not $what" >&2; exit 2 ;;
esac
