#!/usr/bin/env bash
# make bench: build release, start a real stack (nginx with one worker, responder, companion,
# demo upstream) in a temp dir on free ports, and measure. Every figure comes from this one run;
# each gated wrk run is preceded by its own plain run (alternated, medians over the rounds).
# Prints a table and writes var/bench/last.json (raw wrk outputs next to it in var/bench/raw/).
#   BENCH_QUICK=1   1 round, 2 s runs, 2,000 idle WebSockets (< 2 min)
#   BENCH_DUR=5 BENCH_ROUNDS=3 BENCH_IDLE=10000   (full defaults, < 10 min)
#   BENCH_BUILD_DIR=.build  (scratch path; default .build = plain `swift build -c release`)
#   BENCH_NO_BUILD=1        (use the binaries already in $BENCH_BUILD_DIR/release)
#   BENCH_BIN_DIR=DIR       (prebuilt binaries, nothing is built)
#   BENCH_PAIRS="user1 nocred"  (only those wrk pairs; BENCH_SKIP="login refresh core mfa ws idle pg revocation memory" skips sections)
#   BENCH_PG_TRIALS=200     (revocation propagation trials between the two PostgreSQL hosts)
#                               user1 vs user1nometrics: the verify counters' cost (AUTH_METRICS=on/off)
#   BENCH_PEERS_DIR=DIR  (../shared/peers: bench-all.sh's rows in the same table; BENCH_SKIP="peers" leaves
#                          them out; BENCH_PEER_LIST="c-http c-nokeep ceiling" which of its peers)
#   BENCH_PERF="user1 nocred"  (perf record -g the responder, or nginx with BENCH_PERF_TARGET=nginx,
#                               during round 1's gated run of those pairs)
set -eu

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
quick="${BENCH_QUICK:-0}"
if [ "$quick" = 1 ]; then d_dur=2; d_rounds=1; d_idle=2000; else d_dur=5; d_rounds=3; d_idle=10000; fi
DUR="${BENCH_DUR:-$d_dur}"
ROUNDS="${BENCH_ROUNDS:-$d_rounds}"
IDLE="${BENCH_IDLE:-$d_idle}"
BUILD_DIR="${BENCH_BUILD_DIR:-.build}"
NGINX="${NGINX:-/usr/sbin/nginx}"
NGINX_USER="${NGINX_USER:-www-data}"
OUT="$root/var/bench"
log() { printf '[bench] %s\n' "$*" >&2; }

# ---- build and tools ----
if [ -z "${BENCH_NO_BUILD:-}" ] && [ -z "${BENCH_BIN_DIR:-}" ]; then
    log "building release ($BUILD_DIR)..."
    if [ "$BUILD_DIR" = .build ]; then swift build -c release >&2; else swift build -c release --scratch-path "$BUILD_DIR" >&2; fi
fi
case "$BUILD_DIR" in /*) BIN="$BUILD_DIR/release" ;; *) BIN="$root/$BUILD_DIR/release" ;; esac
BIN="${BENCH_BIN_DIR:-$BIN}"
for p in authgate-fcgi authgate-ws authgate authgate-demo-upstream authgate-bench; do
    [ -x "$BIN/$p" ] || { log "missing $BIN/$p"; exit 1; }
done
apt_install() { apt-get install -y "$@" >&2 || { apt-get update >&2 && apt-get install -y "$@" >&2; }; }
if ! command -v wrk >/dev/null; then log "installing wrk"; apt_install wrk; fi
if ! command -v python3 >/dev/null; then log "installing python3"; apt_install python3-minimal; fi

# ---- limits: a proxied idle WebSocket costs the companion two fds ----
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
hard="$(ulimit -Hn)"
if [ "$hard" != unlimited ] && [ "$IDLE" -gt $(( (hard - 200) / 2 )) ]; then
    IDLE=$(( (hard - 200) / 2 ))
    log "fd hard limit $hard: idle WebSockets capped at $IDLE (two companion fds each)"
fi

# ---- temp stack dir, reachable by nginx's worker user ----
T="$(mktemp -d /tmp/authgate-bench.XXXXXX)"
chmod 0755 "$T"
mkdir -p "$T/run" "$T/log" "$T/demo" "$T/tls" "$T/nginx/snippets" "$T/wrk"
group="$(id -gn "$NGINX_USER")"
chgrp "$group" "$T/run"; chmod 0750 "$T/run"
printf 'ok\n' > "$T/demo/plain.txt"; chmod 0644 "$T/demo/plain.txt"
CACHE_DIR="$T/run/verify-cache"   # inside the 0750 run dir, never world-writable /dev/shm
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 0.3
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf -- "$T" "$CACHE_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT="$(free_port)"; TLSPORT="$(free_port)"
APORT="$(free_port)"; LPORT="$(free_port)"; TCPPORT="$(free_port)"
# Apache's mod_authnz_fcgi reaches the responder over loopback TCP only (issue 15).
export AUTH_LISTEN_TCP="127.0.0.1:$TCPPORT"
(umask 077; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$T/tls/key.pem" -out "$T/tls/cert.pem" 2>/dev/null)

export AUTH_DB_PATH="$T/authgate.db" AUTH_KEYS_FILE="$T/keys" AUTH_API_PROFILE=2signal
export AUTH_SOCKET="$T/run/authgate.sock" AUTH_WS_SOCKET="$T/run/authgate-ws.sock" AUTH_SOCKET_GROUP="$group"
# The keep-alive HTTP verify door (issue 20; pairs http*: /gated-http, /gated-http-cache).
export AUTH_VERIFY_HTTP_SOCKET="$T/run/authgate-verify-http.sock"
UPSTREAM_SOCKET="$T/run/demo-upstream.sock"; IDLE_UPSTREAM="$T/run/idle-upstream.sock"
export AUTH_WS_ROUTES="/ws/agent=unix:$UPSTREAM_SOCKET;/ws/idle=unix:$IDLE_UPSTREAM"
# Bench traffic must not hit the login limiter (nginx's, below, nor the responder's own
# AUTH_RATE_LIMIT); everything else stays at its defaults.
export AUTH_RATE_LIMIT=off
CLI() { "$BIN/authgate" "$@" --db "$AUTH_DB_PATH"; }   # options follow the command words

# ---- data via the CLI ----
CLI keys rotate >/dev/null
CLI init >/dev/null
CLI tenant create --name Bench --domain bench.local >/dev/null
PASSWORD="bench-password-$(openssl rand -hex 8)"
printf '%s' "$PASSWORD" | CLI user create --tenant bench.local --email agent@bench.local --role agent --password-stdin >/dev/null
project_id="$(CLI project create --tenant bench.local --name bench --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("id") or d["data"]["id"])')"
CLI apikey create --project "$project_id" --name bench --json > "$T/apikey.json"
CLI node create --tenant bench.local --name edge1 --json > "$T/node.json"
python3 - "$T" <<'EOF'
import json, sys, re
t = sys.argv[1]
def raw(path):
    text = open(path).read()
    m = re.search(r'"((?:2s_live_|node_)[A-Za-z0-9_-]+)"', text)
    return m.group(1)
open(f"{t}/apikey.txt", "w").write(raw(f"{t}/apikey.json") + "\n")
open(f"{t}/node.txt", "w").write(raw(f"{t}/node.json") + "\n")
EOF
mint() { "$BIN/authgate-bench" tokens --db "$AUTH_DB_PATH" --keys "$AUTH_KEYS_FILE" --tenant bench.local --email agent@bench.local "$@"; }
mint --count 1 > "$T/token1.txt"
mint --count 1000 > "$T/token1000.txt"
TOKEN="$(head -1 "$T/token1.txt")"

# ---- nginx config: the project's snippets + scripts/bench/nginx-bench.conf ----
NOFILE="$hard"; [ "$NOFILE" = unlimited ] && NOFILE=65536
subst="s|@T@|$T|g;s|@PORT@|$PORT|g;s|@TLSPORT@|$TLSPORT|g;s|@NGINX_USER@|$NGINX_USER|g;s|@NOFILE@|$NOFILE|g"
subst="$subst;s|@AUTH_SOCKET@|$AUTH_SOCKET|g;s|@AUTH_WS_SOCKET@|$AUTH_WS_SOCKET|g;s|@UPSTREAM_SOCKET@|$UPSTREAM_SOCKET|g"
subst="$subst;s|@CACHE_DIR@|$CACHE_DIR|g;s|@VERIFY_CACHE_ZONE@|authgate_verify|g;s|@VERIFY_CACHE_SECONDS@|1|g"
subst="$subst;s|@LOGIN_RATE@|1000000r/s|g;s|@LOGIN_BURST@|100000|g;s|@AUTH_API_PROFILE@|2signal|g"
subst="$subst;s|@PASSWORD_RATE@|1000000r/s|g;s|@PASSWORD_BURST@|100000|g"
subst="$subst;s|@COOKIE_NAME_RE@|__Host-authgate|g;s|@REFRESH_COOKIE_NAME_RE@|__Host-authgate-refresh|g"
subst="$subst;s|@AUTH_VERIFY_HTTP_SOCKET@|$AUTH_VERIFY_HTTP_SOCKET|g;s|@VERIFY_HTTP_CACHE_ZONE@|authgate_verify_http|g"
subst="$subst;s|@VERIFY_HTTP_CACHE_DIR@|$CACHE_DIR-http|g"
subst="$subst;s|@METRICS_ALLOW@|allow 127.0.0.1; allow ::1;|g;s|@AUTH_WS_METRICS_SOCKET@|$T/run/authgate-ws-metrics.sock|g"
for f in nginx/snippets/*.conf; do sed -e "$subst" "$f" > "$T/nginx/snippets/$(basename "$f")"; done
sed -e "$subst" scripts/bench/nginx-bench.conf > "$T/nginx/nginx.conf"
if grep -n '@[A-Z_][A-Z_]*@' "$T/nginx/nginx.conf" "$T"/nginx/snippets/authgate-{http,api,verify,verify-cache,fastcgi-params,errors-2signal,browser,protect-browser}.conf >&2; then
    log "unreplaced placeholder in the bench nginx config"; exit 1
fi
"$NGINX" -t -q -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/log/nginx-error.log"

# ---- processes ----
"$BIN/authgate-fcgi" >> "$T/log/fcgi.log" 2>&1 & fcgi=$!; pids+=("$fcgi")
# The same responder with AUTH_METRICS=off on its own socket (pair user1nometrics: what the verify
# counters cost, measured against user1 in the same rounds). No TCP listener.
AUTH_METRICS=off AUTH_LISTEN_TCP="" AUTH_VERIFY_HTTP_SOCKET="" AUTH_SOCKET="$T/run/authgate-nometrics.sock" \
    "$BIN/authgate-fcgi" >> "$T/log/fcgi-nometrics.log" 2>&1 & fcgi_off=$!; pids+=("$fcgi_off")
"$BIN/authgate-ws" >> "$T/log/ws.log" 2>&1 & ws=$!; pids+=("$ws")
"$BIN/authgate-demo-upstream" --socket "$UPSTREAM_SOCKET" >> "$T/log/upstream.log" 2>&1 & up=$!; pids+=("$up")
"$BIN/authgate-bench" ws-upstream --socket "$IDLE_UPSTREAM" >> "$T/log/idle-upstream.log" 2>&1 & iup=$!; pids+=("$iup")
for s in "$AUTH_SOCKET" "$AUTH_VERIFY_HTTP_SOCKET" "$T/run/authgate-nometrics.sock" "$AUTH_WS_SOCKET" "$UPSTREAM_SOCKET" "$IDLE_UPSTREAM"; do
    for _ in $(seq 100); do [ -S "$s" ] && break; sleep 0.1; done
    [ -S "$s" ] || { log "no socket $s (see $T/log)"; cat "$T"/log/*.log >&2; exit 1; }
done
"$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/log/nginx-error.log" & ngx=$!; pids+=("$ngx")
for _ in $(seq 50); do [ -s "$T/nginx.pid" ] && break; sleep 0.1; done
sleep 0.3
ngw="$(pgrep -P "$ngx" | head -1)"
URL="http://127.0.0.1:$PORT"

# ---- checks before timing ----
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
APIKEY="$(cat "$T/apikey.txt")"; NODEKEY="$(cat "$T/node.txt")"
checks="plain=$(code "$URL/plain") gated=$(code -H "Authorization: Bearer $TOKEN" "$URL/gated")"
checks="$checks gated_tampered=$(code -H "Authorization: Bearer ${TOKEN}x" "$URL/gated") gated_none=$(code "$URL/gated")"
checks="$checks cache=$(code -H "Authorization: Bearer $TOKEN" "$URL/gated-cache") apikey=$(code -H "Authorization: Bearer $APIKEY" "$URL/gated-apikey")"
checks="$checks node=$(code -H "Authorization: Bearer $NODEKEY" "$URL/gated-node") tls=$(code -k -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$TLSPORT/gated")"
checks="$checks cookie=$(code -H "Cookie: __Host-authgate=$TOKEN" "$URL/gated-cookie") cookie_cache=$(code -H "Cookie: __Host-authgate=$TOKEN" "$URL/gated-cookie-cache")"
checks="$checks nometrics=$(code -H "Authorization: Bearer $TOKEN" "$URL/gated-nometrics")/$(code "$URL/gated-nometrics")"
checks="$checks http=$(code -H "Authorization: Bearer $TOKEN" "$URL/gated-http")/$(code "$URL/gated-http")/$(code -H "Authorization: Bearer $TOKEN" "$URL/gated-http-cache")"
log "checks: $checks"
case "$checks" in
    "plain=200 gated=200 gated_tampered=401 gated_none=401 cache=200 apikey=200 node=200 tls=200 cookie=200 cookie_cache=200 nometrics=200/401 http=200/401/200") ;;
    *) log "a check failed; see $T/log"; tail -5 "$T/log/nginx-error.log" "$T/log/fcgi.log" >&2; exit 1 ;;
esac
. scripts/bench/servers.sh   # Apache httpd and lighttpd in front of the same responder (AURL, LURL)

# ---- wrk runs: one line per run in $T/runs.tsv ----
ticks() { local s=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && s=$((s + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$s"; }
n=0
run() { # pair label url tokens-file conns [lua]
    local pair="$1" label="$2" url="$3" tokens="$4" conns="$5" lua="${6:-scripts/bench/tokens.lua}"
    if [ -n "${BENCH_PAIRS:-}" ] && [[ " $BENCH_PAIRS " != *" $pair "* ]]; then return 0; fi
    n=$((n + 1))
    local f="$T/wrk/$n.txt" n0 r0 n1 r1
    local web="${WEB_PIDS:-$ngw}"
    # shellcheck disable=SC2086  # WEB_PIDS: the pids of the web server under test
    local resp="${RESP_PID:-$fcgi}"   # the responder under test (user1nometrics: the AUTH_METRICS=off one)
    n0="$(ticks $web)"; r0="$(ticks "$resp")"
    if [ -n "${BENCH_PERF:-}" ] && [ "$label" = gated ] && [ "$round" = 1 ] && [[ " $BENCH_PERF " == *" $pair "* ]]; then
        mkdir -p "$OUT"   # BENCH_PERF="user1 nocred": perf-record the responder during those gated runs
        local target="$fcgi"; [ "${BENCH_PERF_TARGET:-}" = nginx ] && target="$ngw"
        perf record -g -p "$target" -o "$OUT/perf-$pair.data" -- sleep $((DUR > 2 ? DUR - 1 : 1)) >/dev/null 2>&1 &
    fi
    if [ -n "${BENCH_STRACE:-}" ] && [ "$label" = gated ] && [ "$round" = 1 ] && [[ " $BENCH_STRACE " == *" $pair "* ]]; then
        mkdir -p "$OUT"   # BENCH_STRACE="user1 nocred": syscall counts of the responder during those gated runs
        timeout -s INT $((DUR > 2 ? DUR - 1 : 1)) strace -f -c -o "$OUT/strace-$pair.txt" -p "$fcgi" >/dev/null 2>&1 &
    fi
    BENCH_TOKENS="$tokens" wrk -t1 -c"$conns" -d"${DUR}s" --latency -s "$lua" "$url" > "$f" 2>&1 || true
    # shellcheck disable=SC2086
    n1="$(ticks $web)"; r1="$(ticks "$resp")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$pair" "$label" "$f" $((n1 - n0)) $((r1 - r0)) >> "$T/runs.tsv"
}
: > "$T/none.txt"   # empty: no Authorization header (the 401 floor)
: > "$T/runs.tsv"
round=0
log "warm-up"
for u in plain gated gated-cache; do BENCH_TOKENS="$T/token1.txt" wrk -t1 -c32 -d1s -s scripts/bench/tokens.lua "$URL/$u" >/dev/null; done
TLS="https://127.0.0.1:$TLSPORT"
for round in $(seq "$ROUNDS"); do
    log "round $round/$ROUNDS (${DUR}s runs)"
    run ceiling plain "$URL/plain" "$T/token1.txt" 32;          run ceiling gated "$URL/ceiling" "$T/token1.txt" 32
    run user1 plain "$URL/plain" "$T/token1.txt" 32;            run user1 gated "$URL/gated" "$T/token1.txt" 32
    RESP_PID="$fcgi_off" run user1nometrics plain "$URL/plain" "$T/token1.txt" 32
    RESP_PID="$fcgi_off" run user1nometrics gated "$URL/gated-nometrics" "$T/token1.txt" 32
    run nocred plain "$URL/plain" "$T/none.txt" 32;             run nocred gated "$URL/gated" "$T/none.txt" 32
    run user1cache plain "$URL/plain" "$T/token1.txt" 32;       run user1cache gated "$URL/gated-cache" "$T/token1.txt" 32
    # The keep-alive HTTP door (issue 20): user token cache off / on, and its 401 floor.
    run httpuser1 plain "$URL/plain" "$T/token1.txt" 32;        run httpuser1 gated "$URL/gated-http" "$T/token1.txt" 32
    run httpnocred plain "$URL/plain" "$T/none.txt" 32;         run httpnocred gated "$URL/gated-http" "$T/none.txt" 32
    run httpuser1cache plain "$URL/plain" "$T/token1.txt" 32;   run httpuser1cache gated "$URL/gated-http-cache" "$T/token1.txt" 32
    run cookie1 plain "$URL/plain" "$T/token1.txt" 32 scripts/bench/cookie.lua
    run cookie1 gated "$URL/gated-cookie" "$T/token1.txt" 32 scripts/bench/cookie.lua
    run cookie1cache plain "$URL/plain" "$T/token1.txt" 32 scripts/bench/cookie.lua
    run cookie1cache gated "$URL/gated-cookie-cache" "$T/token1.txt" 32 scripts/bench/cookie.lua
    run user1000 plain "$URL/plain" "$T/token1000.txt" 32;      run user1000 gated "$URL/gated" "$T/token1000.txt" 32
    run user1000cache plain "$URL/plain" "$T/token1000.txt" 32; run user1000cache gated "$URL/gated-cache" "$T/token1000.txt" 32
    run apikey plain "$URL/plain" "$T/apikey.txt" 32;           run apikey gated "$URL/gated-apikey" "$T/apikey.txt" 32
    run node plain "$URL/plain" "$T/node.txt" 32;               run node gated "$URL/gated-node" "$T/node.txt" 32
    run tls1 plain "$TLS/plain" "$T/token1.txt" 32;             run tls1 gated "$TLS/gated" "$T/token1.txt" 32
    run tls1cache plain "$TLS/plain" "$T/token1.txt" 32;        run tls1cache gated "$TLS/gated-cache" "$T/token1.txt" 32
    run light plain "$URL/plain" "$T/token1.txt" 4;             run light gated "$URL/gated" "$T/token1.txt" 4
    if [ -n "$AURL" ]; then WEB_PIDS="$apache_pids"
        run apache_user1 plain "$AURL/plain.txt" "$T/token1.txt" 32;  run apache_user1 gated "$AURL/gated/plain.txt" "$T/token1.txt" 32
        run apache_apikey plain "$AURL/plain.txt" "$T/apikey.txt" 32; run apache_apikey gated "$AURL/gated-any/plain.txt" "$T/apikey.txt" 32
        run apache_nocred plain "$AURL/plain.txt" "$T/none.txt" 32;   run apache_nocred gated "$AURL/gated/plain.txt" "$T/none.txt" 32
        unset WEB_PIDS; fi
    if [ -n "$LURL" ]; then WEB_PIDS="$lighttpd_pid"
        run lighttpd_user1 plain "$LURL/plain.txt" "$T/token1.txt" 32;  run lighttpd_user1 gated "$LURL/gated/plain.txt" "$T/token1.txt" 32
        run lighttpd_apikey plain "$LURL/plain.txt" "$T/apikey.txt" 32; run lighttpd_apikey gated "$LURL/gated-any/plain.txt" "$T/apikey.txt" 32
        run lighttpd_nocred plain "$LURL/plain.txt" "$T/none.txt" 32;   run lighttpd_nocred gated "$LURL/gated/plain.txt" "$T/none.txt" 32
        unset WEB_PIDS; fi
done
round=0
skip() { [[ " ${BENCH_SKIP:-} " == *" $1 "* ]]; }
# ---- the peers (../shared/peers/bench-all.sh), right after the rounds above, same machine ----
# Optional: run when the peers' script is there (BENCH_PEERS_DIR, default ../shared/peers) and
# BENCH_SKIP has no "peers". Its own nginx (port 18092, /tmp/peerall) and verifiers, the same
# DUR and ROUNDS, the peers in BENCH_PEER_LIST; its summary lands in raw/peers.txt and its
# rows are printed beside ours (summarize.py). A failure there is reported, never fatal.
PEERS_DIR="${BENCH_PEERS_DIR:-$root/../shared/peers}"
: > "$T/peers.txt"
if ! skip peers && [ -x "$PEERS_DIR/bench-all.sh" ]; then
    log "peers: $PEERS_DIR/bench-all.sh (${BENCH_PEER_LIST:-c-http c-nokeep ceiling})"
    if ! DUR="$DUR" ROUNDS="$ROUNDS" PEERS="${BENCH_PEER_LIST:-c-http c-nokeep ceiling}" OUT="$T/peers-raw.txt" \
            "$PEERS_DIR/bench-all.sh" > "$T/peers.txt" 2> "$T/peers-err.txt"; then
        log "peers: bench-all.sh failed (rows left out): $(tail -3 "$T/peers-err.txt" | tr '\n' ' ')"
        : > "$T/peers.txt"
    fi
elif ! skip peers; then
    log "peers: no $PEERS_DIR/bench-all.sh; their rows are left out"
fi
# ---- PostgreSQL: the same gate and two hosts on one PostgreSQL (scripts/bench/postgres.sh) ----
. scripts/bench/postgres.sh
if ! skip pg; then pg_bench; fi
cgi_bench   # plain CGI mode: per-request cost (scripts/bench/servers.sh)
round=0

# ---- revocation through the CLI (another process): cache OFF must deny at once, cache ON within 1 s ----
mint --count 1 > "$T/revoke.txt"
RTOK="$(head -1 "$T/revoke.txt")"
rsid="$(python3 -c 'import base64,json,sys; p=sys.argv[1].split(".")[1]; print(json.loads(base64.urlsafe_b64decode(p+"="*(-len(p)%4)))["sid"])' "$RTOK")"
before="$(code -H "Authorization: Bearer $RTOK" "$URL/gated")/$(code -H "Authorization: Bearer $RTOK" "$URL/gated-cache")"
CLI session revoke --session "$rsid" >/dev/null
r0="$(date +%s%N)"
# Another process revoked: the responder's verify state applies it within its 10 ms poll.
nocache_after="$(code -H "Authorization: Bearer $RTOK" "$URL/gated")"
nocache_ms=-1
while [ $(( ($(date +%s%N) - r0) / 1000000 )) -lt 3000 ]; do
    if [ "$(code -H "Authorization: Bearer $RTOK" "$URL/gated")" = 401 ]; then nocache_ms=$(( ($(date +%s%N) - r0) / 1000000 )); break; fi
done
cache_ms=-1
while [ $(( ($(date +%s%N) - r0) / 1000000 )) -lt 3000 ]; do
    if [ "$(code -H "Authorization: Bearer $RTOK" "$URL/gated-cache")" = 401 ]; then cache_ms=$(( ($(date +%s%N) - r0) / 1000000 )); break; fi
    sleep 0.01
done
echo "before=$before nocache_after=$nocache_after nocache_denied_after_ms=$nocache_ms cache_denied_after_ms=$cache_ms" > "$T/revocation.txt"
log "revocation: $(cat "$T/revocation.txt")"

: > "$T/ws.tsv"; echo '{}' > "$T/core.json"; echo '{}' > "$T/idle.json"; echo '{}' > "$T/hash.json"; echo '{}' > "$T/mfa.json"; : > "$T/conc-codes.txt"; echo "0 0" > "$T/conc-time.txt"

# ---- revocation load: gated/plain while sessions are logged out at 10/s, with 0 and then with
# 1,000,000 revoked sessions in the database (revoked_at spread over the 30 days rows are kept) ----
: > "$T/revload.tsv"
health_state() { curl -s "$URL/api/v1/health" | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("data", d); v=d["verify_state"]; print(v["revoked_sessions"], v["fresh"])'; }
rev_phase() { # label
    local label="$1" per=$(( DUR * 10 + 10 )) r lg
    for r in $(seq "$ROUNDS"); do
        round="$r"
        for lg in plain gated; do
            mint --count "$per" > "$T/rev-$label-$r-$lg.txt"
            python3 scripts/bench/revocation.py "$URL" "$T/rev-$label-$r-$lg.txt" "$DUR" 10 "$T/rev-$label-$r-$lg.json" &
            local streamer=$!
            if [ "$lg" = plain ]; then run "rev$label" plain "$URL/plain" "$T/token1.txt" 32
            else run "rev$label" gated "$URL/gated" "$T/token1.txt" 32; fi
            wait "$streamer"
        done
    done
    round=0
    printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$(rssKiB "$fcgi")" "$(rssKiB "$ws")" "$(health_state)" \
        "$(sqlite3 "$AUTH_DB_PATH" "SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL")" >> "$T/revload.tsv"
}
rssKiB() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
if ! skip revocation; then
    log "revocation load: 0 revoked sessions, logouts at 10/s"
    rev_phase 0
    count="${BENCH_REVOKED:-1000000}"
    log "inserting $count revoked sessions (revoked_at over the last 30 days)..."
    now_s="$(date +%s)"
    sqlite3 "$AUTH_DB_PATH" >&2 <<SQL
PRAGMA busy_timeout = 60000;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $count)
INSERT INTO sessions(id, user_id, created_at, refreshed_at, revoked_at, revoked_reason, counter, rotated_at)
SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
             || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
       'bench-user-' || (i % 5000), $now_s - 2592000, $now_s - 2592000,
       $now_s - (i * 2592000 / $count), 'logout', 1, $now_s - 2592000
FROM n;
SQL
    for _ in $(seq 600); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/health")" = 200 ] && break; sleep 0.1
    done
    log "revocation load: $count revoked sessions (state: $(health_state)), logouts at 10/s"
    rev_phase 1M
    python3 - "$T" > "$T/revload-latency.json" <<'PY'
import glob, json, sys
t = sys.argv[1]
out = {}
for label in ("0", "1M"):
    runs = [json.load(open(p)) for p in sorted(glob.glob(f"{t}/rev-{label}-*.json"))]
    out[label] = {k: [r.get(k) for r in runs] for k in runs[0]} if runs else {}
print(json.dumps(out))
PY
fi

# ---- the verify state's memory with 1,000,000 sessions revoked within the last minute (issue 24):
# peak RSS (VmHWM) of a responder and a companion of their own, SQLite and PostgreSQL ----
if ! skip memory; then
    log "verify state memory: ${BENCH_REVOKED_MEMORY:-1000000} revocations arriving, then loaded at start"
    scripts/bench/revoked-memory.sh "$BIN" "$T/revoked-memory.json" "${BENCH_REVOKED_MEMORY:-1000000}" >&2 || log "revoked-memory failed"
fi

# ---- login: latency (one client), then all cores busy ----
if ! skip login; then
    log "login"
    export BENCH_LOGIN_BODY="{\"email\":\"agent@bench.local\",\"password\":\"$PASSWORD\"}"
    "$BIN/authgate-bench" hash --runs 5 > "$T/hash.json"   # the hash alone, right beside the login runs
    run login1 gated "$URL/api/v1/auth/login" "$T/token1.txt" 1 scripts/bench/login.lua
    run loginN gated "$URL/api/v1/auth/login" "$T/token1.txt" 8 scripts/bench/login.lua
fi

# ---- refresh: a pool of fresh sessions, one rotation each ----
if ! skip refresh; then
    log "refresh"
    pool=$(( quick == 1 ? 20000 : 60000 ))
    mint --count "$pool" --refresh > "$T/refresh.txt"
    run refresh gated "$URL/api/v1/auth/refresh" "$T/refresh.txt" 32 scripts/bench/refresh.lua
    mint --count 1 --refresh > "$T/refresh1.txt"
    RT="$(head -1 "$T/refresh1.txt")"
    t0="$(date +%s.%N)"
    for i in $(seq 16); do
        curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
            --data "{\"refresh_token\":\"$RT\"}" "$URL/api/v1/auth/refresh" > "$T/c16-$i.txt" &
    done
    for i in $(seq 16); do while [ ! -s "$T/c16-$i.txt" ]; do sleep 0.01; done; done
    t1="$(date +%s.%N)"
    cat "$T"/c16-*.txt | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}' > "$T/conc-codes.txt"
    echo "$t0 $t1" > "$T/conc-time.txt"
fi

# ---- core alone, in process ----
if ! skip core; then
    log "core (in process)"
    "$BIN/authgate-bench" core --secs "$([ "$quick" = 1 ] && echo 1 || echo 3)" > "$T/core.json"
fi
# ---- second factor (issue 21), in process: login (password step) + verify (code step) of MFA users ----
if ! skip mfa; then
    log "second factor (in process, default scrypt)"
    AUTH_SCRYPT= "$BIN/authgate-bench" mfa --users "$([ "$quick" = 1 ] && echo 3 || echo 7)" > "$T/mfa.json"
fi

# ---- WebSocket: companion vs nginx direct, alternated ----
if ! skip ws; then
    log "websocket relay"
    wsdur=$([ "$quick" = 1 ] && echo 2 || echo 3)
    for round in $(seq "$ROUNDS"); do
        for c in 1 8; do
            for v in direct companion; do
                if [ "$v" = direct ]; then p="/ws-direct"; else p="/ws/agent?token=$TOKEN"; fi
                "$BIN/authgate-bench" ws-echo --port "$PORT" --path "$p" --conns "$c" --secs "$wsdur" --size 128 > "$T/ws.out"
                printf '%s\t%s\t%s\t%s\n' "$round" "$c" "$v" "$(cat "$T/ws.out")" >> "$T/ws.tsv"
            done
        done
    done
fi
if ! skip idle; then
    log "idle websockets ($IDLE on the companion's socket)"
    "$BIN/authgate-bench" ws-idle --socket "$AUTH_WS_SOCKET" --path "/ws/idle?token=$TOKEN" --count "$IDLE" --pid "$ws" > "$T/idle.json" || true
fi

# ---- report ----
mkdir -p "$OUT/raw"
rm -f "$OUT"/raw/*.txt
cp "$T"/wrk/*.txt "$OUT/raw/" 2>/dev/null || true
sed "s|$T/wrk/|$OUT/raw/|" "$T/runs.tsv" > "$OUT/raw/runs.tsv"
cp "$T/ws.tsv" "$T/core.json" "$T/idle.json" "$T/hash.json" "$T/mfa.json" "$OUT/raw/"
cp "$T/conc-codes.txt" "$T/conc-time.txt" "$T/revocation.txt" "$T/servers.txt" "$T/cgi.json" "$OUT/raw/"
cp "$T/revload.tsv" "$OUT/raw/" 2>/dev/null || true
cp "$T/peers.txt" "$OUT/raw/" 2>/dev/null || true
cp "$T/pg-propagation.json" "$T/pg-meta.txt" "$OUT/raw/" 2>/dev/null || true
cp "$T/revload-latency.json" "$OUT/raw/" 2>/dev/null || true
cp "$T/revoked-memory.json" "$OUT/raw/" 2>/dev/null || true
echo "$checks" > "$OUT/raw/checks.txt"
{
    echo "date=$(date -u +%FT%TZ) quick=$quick dur=$DUR rounds=$ROUNDS nproc=$(nproc) clk_tck=$(getconf CLK_TCK)"
    echo "nginx=$("$NGINX" -v 2>&1 | sed 's/.*: //') wrk=$(dpkg-query -W -f '${Version}' wrk 2>/dev/null || echo ?) threads=${AUTH_THREADS:-64}"
    echo "nginx_errors=$(grep -vc 'signal process started' "$T/log/nginx-error.log" || true) fcgi_errors=$(grep -ci error "$T/log/fcgi.log" || true)"
} > "$OUT/raw/meta.txt"
python3 scripts/bench/summarize.py "$OUT/raw" "$OUT/last.json"
