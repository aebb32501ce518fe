#!/usr/bin/env bash
# make test: one debug build with tests (no release build), then every test. Integration suites
# start their own nginx + responder on temporary dirs and free ports.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Cheap password hashing for tests (one test sets the defaults explicitly).
export AUTH_SCRYPT="${AUTH_SCRYPT:-ln=4,r=8,p=1}"

swift build --build-tests
swift test --skip-build

# Seed-flow scripts (python/curl clients of the two documented APIs), when present.
shopt -s nullglob
for flow in scripts/flows/*.sh; do
    echo "== $flow"
    "$flow"
done
