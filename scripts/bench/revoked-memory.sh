#!/usr/bin/env bash
# The verify state's memory with many live revocations (issue 24): for each store (SQLite, then a
# PostgreSQL server of its own), starts a responder and a companion, inserts COUNT sessions revoked
# within the last minute (one statement; the change log hands them to both daemons in batches),
# waits until both hold them all, and reads each daemon's peak (VmHWM) and current (VmRSS) resident
# size from /proc; then restarts both (the full load at start) and reads them again.
#   usage: scripts/bench/revoked-memory.sh BIN_DIR OUT_JSON [COUNT=1000000] [STORES="sqlite postgres"]
# One JSON object per store in OUT_JSON (a list); a line per store on stderr.
set -eu
root="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="$1"; OUT="$2"; COUNT="${3:-1000000}"; STORES="${4:-sqlite postgres}"
log() { printf '[revoked-memory] %s\n' "$*" >&2; }
T="$(mktemp -d /tmp/authgate-revmem.XXXXXX)"
chmod 0755 "$T"
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf -- "$T"
}
trap cleanup EXIT
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Revoked sessions each daemon holds: the responder's /api/v1/health over FastCGI, the
# companion's metrics socket.
held_fcgi() { python3 "$root/scripts/bench/fcgi-get.py" "$1" /api/v1/health 2>/dev/null \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("data", d); print(d["verify_state"]["revoked_sessions"])' 2>/dev/null || echo -1; }
held_ws() { curl -s --unix-socket "$1" http://x/metrics 2>/dev/null | awk '/^authgate_verify_state_revoked_sessions / {print $2}' || echo -1; }
# A companion without that gauge (before issue 24): done when its RSS held still for 3 s.
steady_ws() {
    local now; now="$(kib "$wpid" VmRSS)"
    if [ "$now" != "${ws_last:-}" ]; then ws_last="$now"; ws_since="$(date +%s)"; return 1; fi
    [ $(( $(date +%s) - ws_since )) -ge 3 ]
}
wait_held() { # fcgi_sock ws_metrics_sock count what
    local deadline=$(( $(date +%s) + 600 )) a b
    ws_last=""
    while :; do
        a="$(held_fcgi "$1")"; b="$(held_ws "$2")"
        [ "${a:-x}" = "$3" ] && [ "${b:-x}" = "$3" ] && return 0
        [ "${a:-x}" = "$3" ] && [ -z "$b" ] && steady_ws && return 0
        if [ "$(date +%s)" -gt "$deadline" ]; then log "timed out waiting for $4 (responder $a, companion $b of $3)"; return 1; fi
        sleep 0.2
    done
}

PGBIN=""
for v in $(ls /usr/lib/postgresql 2>/dev/null | sort -rn); do
    if [ -x "/usr/lib/postgresql/$v/bin/initdb" ]; then PGBIN="/usr/lib/postgresql/$v/bin"; break; fi
done
as_pg=()
echo "[" > "$OUT"
first=1
for store in $STORES; do
    D="$T/$store"; mkdir -p "$D/run"
    export AUTH_KEYS_FILE="$D/keys" AUTH_CONFIG="$D/authgate.conf" AUTH_SCRYPT="ln=4,r=8,p=1"
    export AUTH_SOCKET="$D/run/fcgi.sock" AUTH_WS_SOCKET="$D/run/ws.sock" AUTH_WS_METRICS_SOCKET="$D/run/ws-metrics.sock"
    export AUTH_WS_UPSTREAM="unix:$D/run/upstream.sock" AUTH_DB_PATH="$D/authgate.db"
    unset AUTH_DB_URL AUTH_LISTEN_TCP AUTH_VERIFY_HTTP_SOCKET AUTH_SOCKET_GROUP AUTH_WS_ROUTES AUTH_SECRETS_FILE
    : > "$AUTH_CONFIG"
    if [ "$store" = postgres ]; then
        [ -n "$PGBIN" ] || { log "PostgreSQL server not installed: skipped"; continue; }
        PGH="$D/pg"; mkdir -p "$PGH"
        if [ "$(id -u)" -eq 0 ]; then
            acct=postgres; id -u "$acct" >/dev/null 2>&1 || acct=nobody
            as_pg=(setpriv --reuid="$(id -u "$acct")" --regid="$(id -g "$acct")" --clear-groups --)
            chown "$acct:" "$PGH"
        fi
        chmod 0700 "$PGH"
        "${as_pg[@]}" "$PGBIN/initdb" -D "$PGH/data" -U authgate --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
            --no-instructions > "$D/initdb.log" 2>&1
        pgport="$(free_port)"
        "${as_pg[@]}" "$PGBIN/postgres" -D "$PGH/data" -k "$PGH" -p "$pgport" -c listen_addresses='' \
            > "$PGH/postgres.log" 2>&1 & pids+=("$!")
        for _ in $(seq 300); do "$PGBIN/pg_isready" -q -h "$PGH" -p "$pgport" && break; sleep 0.1; done
        psql -q -h "$PGH" -p "$pgport" -U authgate -d postgres -c "CREATE DATABASE authgate" >&2
        export AUTH_DB_URL="host=$PGH port=$pgport user=authgate dbname=authgate"
    fi
    "$BIN/authgate" keys rotate >/dev/null
    "$BIN/authgate" init >/dev/null
    start() {
        "$BIN/authgate-fcgi" >> "$D/fcgi.log" 2>&1 & fpid=$!; pids+=("$fpid")
        "$BIN/authgate-ws" >> "$D/ws.log" 2>&1 & wpid=$!; pids+=("$wpid")
        for _ in $(seq 300); do [ -S "$AUTH_SOCKET" ] && [ -S "$AUTH_WS_METRICS_SOCKET" ] && break; sleep 0.1; done
        wait_held "$AUTH_SOCKET" "$AUTH_WS_METRICS_SOCKET" "$1" "the daemons to start"
    }
    start 0
    base_f="$(kib "$fpid" VmRSS)"; base_w="$(kib "$wpid" VmRSS)"
    now="$(date +%s)"
    log "$store: inserting $COUNT sessions revoked within the last minute"
    t0="$(date +%s%N)"
    if [ "$store" = postgres ]; then
        # What the change-log trigger writes, in bulk: through the trigger, a million rows in
        # one statement update the one-row counter a million times in one transaction, each
        # update walking the row's growing chain of versions (hours). The same rows, the same
        # numbers, one NOTIFY: the daemons cannot tell the difference.
        psql -q -v ON_ERROR_STOP=1 -h "$PGH" -p "$pgport" -U authgate -d authgate >&2 <<SQL
BEGIN;
SET LOCAL session_replication_role = replica;
CREATE TEMP TABLE bulk ON COMMIT DROP AS
SELECT row_number() OVER () AS n, gen_random_uuid()::text AS id, $now - (i * 60 / $COUNT) AS at
FROM generate_series(1, $COUNT) AS g(i);
INSERT INTO sessions(id, user_id, created_at, refreshed_at, revoked_at, revoked_reason, counter, rotated_at)
SELECT id, 'bench-user', $now - 60, $now - 60, at, 'logout', 1, $now - 60 FROM bulk;
INSERT INTO verify_changes(seq, kind, ref, at) SELECT (SELECT seq FROM verify_seq) + n, 1, id, at FROM bulk;
UPDATE verify_seq SET seq = seq + $COUNT;
NOTIFY authgate_verify;
COMMIT;
SQL
    else
        python3 - "$AUTH_DB_PATH" "$COUNT" "$now" <<'PY'
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
    wait_held "$AUTH_SOCKET" "$AUTH_WS_METRICS_SOCKET" "$COUNT" "the $COUNT revocations to arrive"
    arrive_s="$(( ($(date +%s%N) - t0) / 1000000 ))"
    a_peak_f="$(kib "$fpid" VmHWM)"; a_peak_w="$(kib "$wpid" VmHWM)"
    a_rss_f="$(kib "$fpid" VmRSS)"; a_rss_w="$(kib "$wpid" VmRSS)"
    log "$store arrival: responder peak $((a_peak_f / 1024)) MiB (now $((a_rss_f / 1024))), companion peak $((a_peak_w / 1024)) MiB (now $((a_rss_w / 1024))), in $arrive_s ms"
    kill -TERM "$fpid" "$wpid"; wait "$fpid" "$wpid" 2>/dev/null || true
    t0="$(date +%s%N)"
    start "$COUNT"
    load_ms="$(( ($(date +%s%N) - t0) / 1000000 ))"
    s_peak_f="$(kib "$fpid" VmHWM)"; s_peak_w="$(kib "$wpid" VmHWM)"
    s_rss_f="$(kib "$fpid" VmRSS)"; s_rss_w="$(kib "$wpid" VmRSS)"
    log "$store start: responder peak $((s_peak_f / 1024)) MiB (now $((s_rss_f / 1024))), companion peak $((s_peak_w / 1024)) MiB (now $((s_rss_w / 1024))), loaded in $load_ms ms"
    kill -TERM "$fpid" "$wpid"; wait "$fpid" "$wpid" 2>/dev/null || true
    [ "$first" = 1 ] || echo "," >> "$OUT"
    first=0
    printf '{"store":"%s","count":%s,"idle_rss_kib":{"fcgi":%s,"ws":%s},"arrival":{"ms":%s,"peak_kib":{"fcgi":%s,"ws":%s},"rss_kib":{"fcgi":%s,"ws":%s}},"start":{"ms":%s,"peak_kib":{"fcgi":%s,"ws":%s},"rss_kib":{"fcgi":%s,"ws":%s}}}\n' \
        "$store" "$COUNT" "$base_f" "$base_w" "$arrive_s" "$a_peak_f" "$a_peak_w" "$a_rss_f" "$a_rss_w" \
        "$load_ms" "$s_peak_f" "$s_peak_w" "$s_rss_f" "$s_rss_w" >> "$OUT"
    unset AUTH_DB_URL
done
echo "]" >> "$OUT"
