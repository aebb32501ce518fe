# Sourced by scripts/bench.sh after the SQLite rounds (BENCH_SKIP="pg" skips it): the same gate on a
# PostgreSQL store, as two hosts. A PostgreSQL server of its own in $T/pg (Unix socket only; as root
# it runs as the postgres account; durable: Debian's defaults, fsync on), the SQLite bench data copied into it with `authgate migrate
# --from-sqlite` (the same users, keys and sessions), then host A and host B: one responder and one
# nginx each (the bench nginx config with its own ports, pid, logs and cache), both on that database.
# Measured in this run next to the SQLite rows: gated/plain cache off and on, login and refresh
# throughput and p99, and revocation propagation from a logout on A to B's first 401.
pg_bench() {
    echo '{}' > "$T/pg-propagation.json"
    local pgbin="" v account="" as_pg=()
    for v in $(ls /usr/lib/postgresql 2>/dev/null | sort -rn); do
        if [ -x "/usr/lib/postgresql/$v/bin/initdb" ]; then pgbin="/usr/lib/postgresql/$v/bin"; break; fi
    done
    if [ -z "$pgbin" ]; then log "PostgreSQL server not installed: the pg rows are skipped (make deps installs it)"; return 0; fi
    local PGH="$T/pg"
    mkdir -p "$PGH"
    if [ "$(id -u)" -eq 0 ]; then
        account=postgres; id -u "$account" >/dev/null 2>&1 || account=nobody
        as_pg=(setpriv --reuid="$(id -u "$account")" --regid="$(id -g "$account")" --clear-groups --)
        chown "$account:" "$PGH"
    fi
    chmod 0700 "$PGH"
    log "pg: initdb + start ($pgbin)"
    "${as_pg[@]}" "$pgbin/initdb" -D "$PGH/data" -U authgate --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
        --no-instructions > "$T/log/pg-initdb.log" 2>&1 || { cat "$T/log/pg-initdb.log" >&2; return 1; }
    local pgport; pgport="$(free_port)"
    "${as_pg[@]}" "$pgbin/postgres" -D "$PGH/data" -k "$PGH" -p "$pgport" -c listen_addresses='' \
        -c max_connections=200 > "$PGH/postgres.log" 2>&1 & local pgpid=$!; pids+=("$pgpid")
    for _ in $(seq 300); do "$pgbin/pg_isready" -q -h "$PGH" -p "$pgport" && break; sleep 0.1; done
    "$pgbin/pg_isready" -q -h "$PGH" -p "$pgport" || { log "pg did not start"; tail -5 "$PGH/postgres.log" >&2; return 1; }
    psql -q -h "$PGH" -p "$pgport" -U authgate -d postgres -c "CREATE DATABASE authgate" >&2
    PGURL="host=$PGH port=$pgport user=authgate dbname=authgate"
    AUTH_DB_URL="$PGURL" "$BIN/authgate" migrate --from-sqlite "$AUTH_DB_PATH" >&2 2>/dev/null

    # Host A and host B: a responder and an nginx each, on the one database.
    local h ports=() urls=() fpids=() npids=()
    for h in a b; do
        local sock="$T/run/pg-$h.sock" p tp
        p="$(free_port)"; tp="$(free_port)"
        AUTH_DB_URL="$PGURL" AUTH_SOCKET="$sock" AUTH_LISTEN_TCP="" AUTH_VERIFY_HTTP_SOCKET="" "$BIN/authgate-fcgi" >> "$T/log/fcgi-pg-$h.log" 2>&1 &
        fpids+=("$!"); pids+=("$!")
        for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
        local d="$T/nginx-pg-$h" s
        mkdir -p "$d/snippets"
        s="s|@T@/nginx.pid|$T/nginx-pg-$h.pid|g;s|@T@/log/nginx-error.log|$T/log/nginx-pg-$h-error.log|g"
        s="$s;s|@AUTH_SOCKET@|$sock|g;s|@CACHE_DIR@|$T/run/verify-cache-pg-$h|g;s|@PORT@|$p|g;s|@TLSPORT@|$tp|g"
        for f in nginx/snippets/*.conf; do sed -e "$s" -e "$subst" "$f" > "$d/snippets/$(basename "$f")"; done
        sed -e "$s" -e "$subst" scripts/bench/nginx-bench.conf > "$d/nginx.conf"
        "$NGINX" -p "$d" -c "$d/nginx.conf" -e "$T/log/nginx-pg-$h-error.log" & npids+=("$!"); pids+=("$!")
        for _ in $(seq 50); do [ -s "$T/nginx-pg-$h.pid" ] && break; sleep 0.1; done
        ports+=("$p"); urls+=("http://127.0.0.1:$p")
    done
    sleep 0.3
    local URLA="${urls[0]}" URLB="${urls[1]}" ngwA
    ngwA="$(pgrep -P "${npids[0]}" | head -1)"
    local pgchecks="a=$(code -H "Authorization: Bearer $TOKEN" "$URLA/gated") b=$(code -H "Authorization: Bearer $TOKEN" "$URLB/gated")"
    log "pg checks: $pgchecks"
    [ "$pgchecks" = "a=200 b=200" ] || { log "pg: a check failed"; tail -n 3 "$T"/log/fcgi-pg-*.log >&2; return 1; }

    # Gate on host A, the same pairs as the SQLite rows; this process's CPU columns are A's.
    local fcgi_sqlite="$fcgi"; fcgi="${fpids[0]}"; WEB_PIDS="$ngwA"
    for round in $(seq "$ROUNDS"); do
        log "pg round $round/$ROUNDS"
        run pg_user1 plain "$URLA/plain" "$T/token1.txt" 32;      run pg_user1 gated "$URLA/gated" "$T/token1.txt" 32
        run pg_user1cache plain "$URLA/plain" "$T/token1.txt" 32; run pg_user1cache gated "$URLA/gated-cache" "$T/token1.txt" 32
        run pg_apikey plain "$URLA/plain" "$T/apikey.txt" 32;     run pg_apikey gated "$URLA/gated-apikey" "$T/apikey.txt" 32
    done
    round=0
    if ! skip login; then
        export BENCH_LOGIN_BODY="{\"email\":\"agent@bench.local\",\"password\":\"$PASSWORD\"}"
        run pg_login1 gated "$URLA/api/v1/auth/login" "$T/token1.txt" 1 scripts/bench/login.lua
        run pg_loginN gated "$URLA/api/v1/auth/login" "$T/token1.txt" 8 scripts/bench/login.lua
    fi
    if ! skip refresh; then
        "$BIN/authgate-bench" tokens --db "$PGURL" --keys "$AUTH_KEYS_FILE" --tenant bench.local --email agent@bench.local \
            --count $(( quick == 1 ? 20000 : 60000 )) --refresh > "$T/pg-refresh.txt"
        run pg_refresh gated "$URLA/api/v1/auth/refresh" "$T/pg-refresh.txt" 32 scripts/bench/refresh.lua
    fi
    fcgi="$fcgi_sqlite"; unset WEB_PIDS

    log "pg: revocation propagation, logout on host A -> first 401 on host B (${BENCH_PG_TRIALS:-200} trials)"
    "$BIN/authgate-bench" tokens --db "$PGURL" --keys "$AUTH_KEYS_FILE" --tenant bench.local --email agent@bench.local \
        --count "${BENCH_PG_TRIALS:-200}" > "$T/pg-propagation-tokens.txt"
    python3 scripts/bench/propagation.py "$URLA" "$URLB" "$T/pg-propagation-tokens.txt" "$T/pg-propagation.json"
    log "pg propagation: $(cat "$T/pg-propagation.json")"
    echo "pg_errors=$(cat "$T"/log/fcgi-pg-*.log | grep -ci error || true)" > "$T/pg-meta.txt"
}
