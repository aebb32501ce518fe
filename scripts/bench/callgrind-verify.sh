#!/usr/bin/env bash
# Instructions per verify in the responder, counted by valgrind's callgrind (reproducible, unlike
# wall time on a shared 2-core machine). Starts authgate-fcgi under callgrind with 2 worker
# threads in a temp dir, sends WARM verifies, zeroes the counters, sends N more (one FastCGI
# connection each, nginx's params: scripts/bench/fcgi-verify-load.py), dumps, and prints the
# transport and worker threads' instructions divided by N (the connection reader, which accepts
# and parses, and the workers; libfcgi builds: the threads that ran FCGX_Accept_r; the verify-state
# refresher thread and the main thread are left out), for AUTH_METRICS=on and off; then the same
# for N requests without any credential (the 401 the issue-20 ratio compares an allow with).
#   usage: scripts/bench/callgrind-verify.sh [BIN_DIR=.build/release]   env: N=2000 WARM=200
#   REVOKED=100000: that many other sessions revoked within the last minute first (issue 24: the
#   lookup in a loaded revoked-session table, not an empty one)
#   CALLGRIND_KEEP=DIR keeps the callgrind.out files (callgrind_annotate them)
#   DOOR=http: the same through the HTTP verify door (AUTH_VERIFY_HTTP_SOCKET) instead: kept-alive
#   connections, one request at a time, nginx's proxy headers (scripts/bench/http-verify-load.py);
#   counted on the door threads (connection readers that answer on their own thread) and workers
set -eu
root="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${1:-$root/.build/release}"
N="${N:-2000}"
WARM="${WARM:-200}"
DOOR="${DOOR:-fastcgi}"
case "$DOOR" in fastcgi|http) ;; *) echo "callgrind-verify: DOOR is fastcgi or http, not '$DOOR'" >&2; exit 2 ;; esac
command -v valgrind >/dev/null || { echo "callgrind-verify: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
T="$(mktemp -d /tmp/authgate-callgrind.XXXXXX)"
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf -- "$T"
}
trap cleanup EXIT
export AUTH_DB_PATH="$T/authgate.db" AUTH_KEYS_FILE="$T/keys" AUTH_SOCKET="$T/authgate.sock"
export AUTH_THREADS=2 AUTH_SCRYPT="ln=4,r=8,p=1" AUTH_CONFIG="$T/authgate.conf"
if [ "$DOOR" = http ]; then
    export AUTH_VERIFY_HTTP_SOCKET="$T/authgate-verify-http.sock"
    sock="$AUTH_VERIFY_HTTP_SOCKET"; load="$root/scripts/bench/http-verify-load.py"
else
    sock="$AUTH_SOCKET"; load="$root/scripts/bench/fcgi-verify-load.py"
fi
: > "$AUTH_CONFIG"
CLI() { "$BIN/authgate" "$@" --db "$AUTH_DB_PATH"; }
CLI keys rotate >/dev/null
CLI init >/dev/null
CLI tenant create --name Bench --domain bench.local >/dev/null
printf 'bench-password-0123456789' | CLI user create --tenant bench.local --email agent@bench.local --role agent --password-stdin >/dev/null
if [ "${REVOKED:-0}" -gt 0 ]; then
    python3 - "$AUTH_DB_PATH" "$REVOKED" "$(date +%s)" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=60)
n, now = int(sys.argv[2]), int(sys.argv[3])
db.execute(f"""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
INSERT INTO sessions(id, user_id, created_at, refreshed_at, revoked_at, revoked_reason, counter, rotated_at)
SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
             || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
       'bench-user', {now} - 60, {now} - 60, {now} - (i * 60 / {n}), 'logout', 1, {now} - 60 FROM n""")
db.commit()
PY
fi
TOKEN="$("$BIN/authgate-bench" tokens --db "$AUTH_DB_PATH" --keys "$AUTH_KEYS_FILE" --tenant bench.local --email agent@bench.local --count 1)"

for metrics in on off; do
    out="$T/cg-$metrics"
    mkdir -p "$out"
    AUTH_METRICS="$metrics" valgrind --tool=callgrind --separate-threads=yes --collect-atstart=yes \
        --callgrind-out-file="$out/callgrind.out.%p" "$BIN/authgate-fcgi" 2> "$T/fcgi-$metrics.log" &
    pid=$!
    for _ in $(seq 600); do [ -S "$sock" ] && break; sleep 0.1; done
    [ -S "$sock" ] || { cat "$T/fcgi-$metrics.log" >&2; exit 1; }
    python3 "$load" "$sock" "$TOKEN" "$WARM" >/dev/null
    callgrind_control -z "$pid" >/dev/null
    python3 "$load" "$sock" "$TOKEN" "$N" >&2
    callgrind_control -d "$pid" >/dev/null
    callgrind_control -z "$pid" >/dev/null
    python3 "$load" "$sock" - "$N" 401 >&2
    callgrind_control -d "$pid" >/dev/null
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    # Each dump after -z: one file per thread (*.D-NN, D the dump's number); the transport and
    # worker threads are the ones that ran the connection reader or a FastCGI exchange
    # (FCGX_Accept_r before issue 19).
    for dump in 1 2; do
        total=0
        for f in "$out"/callgrind.out.*."$dump"-*; do
            [ -e "$f" ] || continue
            if grep -qE "FCGX_Accept_r|ConnectionReader|FastCGIExchange" "$f"; then
                ir="$(awk '/^summary:/ {print $2}' "$f")"
                total=$((total + ${ir:-0}))
            fi
        done
        if [ "$dump" = 1 ]; then what="allowed verify (204)"; allowed=$((total / N)); else what="no-credential verify (401)"; fi
        printf '%s door, AUTH_METRICS=%s: %s instructions per %s (reader + workers, %s verifies)\n' "$DOOR" "$metrics" "$((total / N))" "$what" "$N"
    done
    printf '%s door, AUTH_METRICS=%s: allowed / no-credential = %s\n' "$DOOR" "$metrics" \
        "$(awk -v a="$allowed" -v b="$((total / N))" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')"
    if [ -n "${CALLGRIND_KEEP:-}" ]; then mkdir -p "$CALLGRIND_KEEP/$metrics"; cp "$out"/callgrind.out.* "$CALLGRIND_KEEP/$metrics/"; fi
done
