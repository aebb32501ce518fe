# make bench, the PostgreSQL column (issue 14). Sourced by scripts/bench.sh after its SQLite runs;
# uses its T, BIN, NGINX, NGINX_USER, group, subst, PORT, TLSPORT, URL, PASSWORD, DUR, ROUNDS, quick,
# run(), code(), free_port(), pids and cleanup().
#
# A PostgreSQL server of the bench's own in $T/pg (Debian defaults: fsync and synchronous_commit
# on; Unix socket only) holding the same tenant and user, made with the CLI (not copied with
# `authgate migrate --from-sqlite`: the SQLite database holds the revocation load's 1,000,000
# sessions by now), tokens minted on it, the same key ring, and two hosts on it, A and B: a
# responder and an nginx each (nginx-bench.conf on their own ports). In this same run:
#   pg_user1 / pg_user1cache     gated/plain on host A, cache off / on, each beside the same pair
#   sq_user1 / sq_user1cache     on the SQLite stack (alternated, same rounds)
#   pg_login1 / pg_loginN        logins on A (1 and 8 clients), default scrypt
#   pg_refresh                   refreshes on A (a pool of fresh sessions, one rotation each)
#   propagation                  host A logout -> host B's first denial, $PG_TRIALS trials, cache
#                                off and on; the same on the SQLite stack (one host) for reference
# BENCH_SKIP="pg" skips all of it.

PG_TRIALS="${BENCH_PG_TRIALS:-$([ "$quick" = 1 ] && echo 100 || echo 200)}"
pgbin=""
for v in $(ls /usr/lib/postgresql 2>/dev/null | sort -rn); do
    if [ -x "/usr/lib/postgresql/$v/bin/initdb" ]; then pgbin="/usr/lib/postgresql/$v/bin"; break; fi
done
if [ -z "$pgbin" ]; then
    log "PostgreSQL column skipped: no server binaries (make deps installs postgresql)"
    echo '{"skipped": "no PostgreSQL server binaries"}' > "$T/pg.json"
    return 0
fi
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    pg_account=postgres
    id -u "$pg_account" >/dev/null 2>&1 || pg_account=nobody
    as_pg=(setpriv --reuid="$(id -u "$pg_account")" --regid="$(id -g "$pg_account")" --clear-groups --)
fi
PGDIR="$T/pg"
mkdir -p "$PGDIR"
[ "${#as_pg[@]}" -eq 0 ] || chown "$pg_account:" "$PGDIR"
chmod 0700 "$PGDIR"
"${as_pg[@]}" "$pgbin/initdb" -D "$PGDIR/data" -U authgate --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    --no-instructions > "$T/log/pg-initdb.log" 2>&1 || { cat "$T/log/pg-initdb.log" >&2; exit 1; }
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/postgres.log" -w -t 60 \
    -o "-k '$PGDIR' -p 5432 -c listen_addresses='' -c max_connections=200" start >/dev/null
pg_stop() { "${as_pg[@]}" "$pgbin/pg_ctl" -D "$PGDIR/data" -m fast -w -t 20 stop >/dev/null 2>&1 || true; }
# The bench's own cleanup (processes, then rm -rf $T) runs after the server stopped.
eval "$(declare -f cleanup | sed '1s/^cleanup/bench_cleanup_without_pg/')"
cleanup() { pg_stop; bench_cleanup_without_pg; }
"$pgbin/psql" -X -q -h "$PGDIR" -p 5432 -U authgate -d postgres -c "CREATE DATABASE authgate" >&2
PGURL="postgresql:///authgate?host=$PGDIR&port=5432&user=authgate"
PGCLI() { AUTH_DB_URL="$PGURL" "$BIN/authgate" "$@"; }
PGCLI init >/dev/null
PGCLI tenant create --name Bench --domain bench.local >/dev/null
printf '%s' "$PASSWORD" | PGCLI user create --tenant bench.local --email agent@bench.local --role agent --password-stdin >/dev/null
pg_mint() { "$BIN/authgate-bench" tokens --db "$PGURL" --keys "$AUTH_KEYS_FILE" --tenant bench.local --email agent@bench.local "$@"; }
pg_mint --count 1 > "$T/pg-token1.txt"
PGTOKEN="$(head -1 "$T/pg-token1.txt")"

pg_host() { # NAME: responder + nginx on $PGURL; sets pg_url_NAME, pg_fcgi_NAME, pg_ngw_NAME
    local name="$1" dir="$T/pg-$1" port tlsport s
    mkdir -p "$dir/run" "$dir/log" "$dir/nginx/snippets" "$dir/demo" "$dir/tls"
    chgrp "$group" "$dir/run"; chmod 0750 "$dir/run"
    cp "$T/demo/plain.txt" "$dir/demo/"; chmod 0644 "$dir/demo/plain.txt"
    cp "$T/tls/cert.pem" "$T/tls/key.pem" "$dir/tls/"
    port="$(free_port)"; tlsport="$(free_port)"
    s="${subst//$T/$dir}"
    s="${s//@PORT@|$PORT|/@PORT@|$port|}"
    s="${s//@TLSPORT@|$TLSPORT|/@TLSPORT@|$tlsport|}"
    for f in nginx/snippets/*.conf; do sed -e "$s" "$f" > "$dir/nginx/snippets/$(basename "$f")"; done
    sed -e "$s" scripts/bench/nginx-bench.conf > "$dir/nginx/nginx.conf"
    # The Apache bench's loopback TCP listener belongs to the SQLite responder.
    env -u AUTH_LISTEN_TCP AUTH_DB_URL="$PGURL" AUTH_SOCKET="$dir/run/authgate.sock" \
        AUTH_WS_SOCKET="$dir/run/authgate-ws.sock" "$BIN/authgate-fcgi" >> "$dir/log/fcgi.log" 2>&1 &
    local fp=$!; pids+=("$fp")
    for _ in $(seq 100); do [ -S "$dir/run/authgate.sock" ] && break; sleep 0.1; done
    [ -S "$dir/run/authgate.sock" ] || { log "PostgreSQL host $name: no responder socket"; cat "$dir/log/fcgi.log" >&2; exit 1; }
    "$NGINX" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e "$dir/log/nginx-error.log" &
    local np=$!; pids+=("$np")
    for _ in $(seq 50); do [ -s "$dir/nginx.pid" ] && break; sleep 0.1; done
    sleep 0.3
    printf -v "pg_url_$name" '%s' "http://127.0.0.1:$port"
    printf -v "pg_fcgi_$name" '%s' "$fp"
    printf -v "pg_ngw_$name" '%s' "$(pgrep -P "$np" | head -1)"
}
pg_host A
pg_host B
# shellcheck disable=SC2154  # set by pg_host
PGA="$pg_url_A" PGB="$pg_url_B"
pg_checks="A_plain=$(code "$PGA/plain") A_gated=$(code -H "Authorization: Bearer $PGTOKEN" "$PGA/gated")"
pg_checks="$pg_checks B_gated=$(code -H "Authorization: Bearer $PGTOKEN" "$PGB/gated") B_cache=$(code -H "Authorization: Bearer $PGTOKEN" "$PGB/gated-cache")"
pg_checks="$pg_checks tampered=$(code -H "Authorization: Bearer ${PGTOKEN}x" "$PGB/gated")"
log "PostgreSQL checks: $pg_checks"
[ "$pg_checks" = "A_plain=200 A_gated=200 B_gated=200 B_cache=200 tampered=401" ] \
    || { log "a PostgreSQL check failed; see $T/pg-*/log"; tail -5 "$T"/pg-*/log/*.log >&2; exit 1; }

sqlite_fcgi="$fcgi"
for round in $(seq "$ROUNDS"); do
    log "PostgreSQL round $round/$ROUNDS (${DUR}s runs, each pair beside the SQLite one)"
    fcgi="$sqlite_fcgi"
    run sq_user1 plain "$URL/plain" "$T/token1.txt" 32;       run sq_user1 gated "$URL/gated" "$T/token1.txt" 32
    fcgi="$pg_fcgi_A"; WEB_PIDS="$pg_ngw_A"
    run pg_user1 plain "$PGA/plain" "$T/pg-token1.txt" 32;    run pg_user1 gated "$PGA/gated" "$T/pg-token1.txt" 32
    unset WEB_PIDS; fcgi="$sqlite_fcgi"
    run sq_user1cache plain "$URL/plain" "$T/token1.txt" 32;  run sq_user1cache gated "$URL/gated-cache" "$T/token1.txt" 32
    fcgi="$pg_fcgi_A"; WEB_PIDS="$pg_ngw_A"
    run pg_user1cache plain "$PGA/plain" "$T/pg-token1.txt" 32;  run pg_user1cache gated "$PGA/gated-cache" "$T/pg-token1.txt" 32
    unset WEB_PIDS
done
round=0
fcgi="$pg_fcgi_A"; WEB_PIDS="$pg_ngw_A"
if ! skip login; then
    log "PostgreSQL login"
    export BENCH_LOGIN_BODY="{\"email\":\"agent@bench.local\",\"password\":\"$PASSWORD\"}"
    run pg_login1 gated "$PGA/api/v1/auth/login" "$T/token1.txt" 1 scripts/bench/login.lua
    run pg_loginN gated "$PGA/api/v1/auth/login" "$T/token1.txt" 8 scripts/bench/login.lua
fi
if ! skip refresh; then
    log "PostgreSQL refresh"
    pg_mint --count $(( quick == 1 ? 20000 : 60000 )) --refresh > "$T/pg-refresh.txt"
    run pg_refresh gated "$PGA/api/v1/auth/refresh" "$T/pg-refresh.txt" 32 scripts/bench/refresh.lua
fi
unset WEB_PIDS; fcgi="$sqlite_fcgi"
log "revocation propagation: $PG_TRIALS logouts on host A, each timed to host B's first denial"
pg_mint --count "$PG_TRIALS" > "$T/pg-prop-tokens.txt"
python3 scripts/bench/propagation.py "$PGA" "$PGB" "$T/pg-prop-tokens.txt" "$PG_TRIALS" "$T/pg-propagation.json"
mint --count "$PG_TRIALS" > "$T/sq-prop-tokens.txt"
python3 scripts/bench/propagation.py "$URL" "$URL" "$T/sq-prop-tokens.txt" "$PG_TRIALS" "$T/sqlite-propagation.json"
python3 - "$T" "$pg_checks" "$("$pgbin/postgres" --version)" > "$T/pg.json" <<'PY'
import json, sys
t, checks, version = sys.argv[1:4]
print(json.dumps({"checks": checks, "server": version, "settings": "Debian defaults (fsync, synchronous_commit on), Unix socket",
                  "propagation": json.load(open(f"{t}/pg-propagation.json")),
                  "sqlite_propagation_one_host": json.load(open(f"{t}/sqlite-propagation.json")),
                  "errors_A": sum(1 for l in open(f"{t}/pg-A/log/fcgi.log") if "error" in l),
                  "errors_B": sum(1 for l in open(f"{t}/pg-B/log/fcgi.log") if "error" in l)}))
PY
log "PostgreSQL propagation: $(cat "$T/pg-propagation.json")"
