# Sourced by scripts/bench.sh after nginx is up: Apache httpd (prefork, mod_authnz_fcgi over the
# responder's loopback TCP port) and lighttpd (mod_fastcgi authorizer on the Unix socket) in
# front of the same responder, rendered by scripts/render-servers.sh, plus the plain CGI mode.
# Sets AURL / LURL (empty when that server is not installed), apache_pids, lighttpd_pid, and
# defines cgi_bench. Every process it starts is added to pids (bench.sh's cleanup stops them).
AURL=""; LURL=""; apache_pids=""; lighttpd_pid=""
mkdir -p "$T/srv/www" "$T/srv/cgi" "$T/srv/log" "$T/srv/bin"
cp "$T/demo/plain.txt" "$T/srv/www/plain.txt"
printf '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\nok\\n"\n' > "$T/srv/cgi/echo.sh"
cp "$BIN/authgate-fcgi" "$T/srv/bin/authgate-fcgi"
chmod 0755 "$T/srv" "$T/srv/www" "$T/srv/cgi" "$T/srv/bin" "$T/srv/cgi/echo.sh" "$T/srv/bin/authgate-fcgi"
chmod 0644 "$T/srv/www/plain.txt"
chown "$NGINX_USER" "$T/srv/log"
# The CGI mode runs as the server's user: it must own the database and the key ring (the root
# responder keeps its access; SQLite gives files it creates as root the database's owner).
chown "$NGINX_USER" "$AUTH_DB_PATH" "$AUTH_DB_PATH-wal" "$AUTH_DB_PATH-shm" "$AUTH_KEYS_FILE" 2>/dev/null || true
chmod 0755 "$T"
apache_ok=0; lighttpd_ok=0
[ -x /usr/sbin/apache2 ] && apache_ok=1
[ -x /usr/sbin/lighttpd ] && lighttpd_ok=1
APACHE_PORT="$([ "$apache_ok" = 1 ] && echo "$APORT" || true)" LIGHTTPD_PORT="$([ "$lighttpd_ok" = 1 ] && echo "$LPORT" || true)" \
AUTH_TCP="$AUTH_LISTEN_TCP" DOCROOT="$T/srv/www" CGI_DIR="$T/srv/cgi" LOGDIR="$T/log" SERVER_LOGDIR="$T/srv/log" \
SERVER_USER="$NGINX_USER" PROFILE=2signal PROCESSES=40 CGI_BIN="$T/srv/bin/authgate-fcgi" \
CGI_DB="$AUTH_DB_PATH" CGI_KEYS="$AUTH_KEYS_FILE" CGI_SCRYPT="${AUTH_SCRYPT:-ln=15,r=8,p=3}" \
    scripts/render-servers.sh "$T/srv/conf" >&2
if [ "$apache_ok" = 1 ]; then
    # Its own session: on shutdown prefork signals its whole process group (it would hit bench.sh).
    setsid /usr/sbin/apache2 -f "$T/srv/conf/apache/httpd.conf" -DFOREGROUND >> "$T/log/apache.log" 2>&1 & apache=$!; pids+=("$apache")
    for _ in $(seq 100); do [ "$(code "http://127.0.0.1:$APORT/plain.txt")" = 200 ] && break; sleep 0.1; done
    apache_pids="$apache $(pgrep -P "$apache" | tr '\n' ' ')"
    AURL="http://127.0.0.1:$APORT"
fi
if [ "$lighttpd_ok" = 1 ]; then
    /usr/sbin/lighttpd -D -f "$T/srv/conf/lighttpd/lighttpd.conf" >> "$T/log/lighttpd.log" 2>&1 & lighttpd_pid=$!; pids+=("$lighttpd_pid")
    for _ in $(seq 100); do [ "$(code "http://127.0.0.1:$LPORT/plain.txt")" = 200 ] && break; sleep 0.1; done
    LURL="http://127.0.0.1:$LPORT"
fi
srv_checks=""
for u in "$AURL" "$LURL"; do
    [ -n "$u" ] || continue
    srv_checks="$srv_checks ${u##*:}:plain=$(code "$u/plain.txt"),gated=$(code -H "Authorization: Bearer $TOKEN" "$u/gated/plain.txt"),none=$(code "$u/gated/plain.txt"),apikey=$(code -H "Authorization: Bearer $APIKEY" "$u/gated-any/plain.txt")"
done
echo "apache=$(/usr/sbin/apache2 -v 2>/dev/null | sed -n 's/^Server version: //p' | tr ' ' _) lighttpd=$(/usr/sbin/lighttpd -v 2>/dev/null | head -1 | cut -d' ' -f1) checks=${srv_checks# }" > "$T/servers.txt"
log "servers: $(cat "$T/servers.txt")"
case "$srv_checks" in *gated=200,none=401,apikey=200*) ;; "") ;; *) log "a server check failed"; tail -5 "$T/log/apache-error.log" >&2 || true ;; esac

# Plain CGI mode: one process per request. Direct runs (what a CGI request costs the host beyond
# the web server's fork/exec), then through Apache's mod_cgi with wrk.
cgi_bench() {
    local n=$(( quick == 1 ? 30 : 100 )) t0 t1 i true_ms verify_ms me_ms f
    log "plain CGI mode ($n runs each)"
    t0="$(date +%s%N)"; for i in $(seq "$n"); do /bin/true; done; t1="$(date +%s%N)"
    true_ms="$(python3 -c "print(round(($t1-$t0)/1e6/$n, 3))")"
    t0="$(date +%s%N)"
    for i in $(seq "$n"); do
        env -u AUTH_LISTEN_TCP GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET REQUEST_URI=/app AUTH_VERIFY=1 \
            HTTP_AUTHORIZATION="Bearer $TOKEN" "$BIN/authgate-fcgi" < /dev/null > "$T/cgi-verify.out" 2>/dev/null
    done
    t1="$(date +%s%N)"; verify_ms="$(python3 -c "print(round(($t1-$t0)/1e6/$n, 3))")"
    t0="$(date +%s%N)"
    for i in $(seq "$n"); do
        env -u AUTH_LISTEN_TCP GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET PATH_INFO=/api/v1/auth/me \
            HTTP_AUTHORIZATION="Bearer $TOKEN" "$BIN/authgate-fcgi" < /dev/null > "$T/cgi-me.out" 2>/dev/null
    done
    t1="$(date +%s%N)"; me_ms="$(python3 -c "print(round(($t1-$t0)/1e6/$n, 3))")"
    local vs ms; vs="$(head -1 "$T/cgi-verify.out" | tr -d '\r')"; ms="$(head -1 "$T/cgi-me.out" | tr -d '\r')"
    f="$T/wrk/cgi-apache.txt"; : > "$f"
    if [ -n "$AURL" ]; then
        BENCH_TOKENS="$T/token1.txt" wrk -t1 -c4 -d"${DUR}s" --latency -s scripts/bench/tokens.lua "$AURL/auth-cgi/api/v1/auth/me" > "$f" 2>&1 || true
    fi
    python3 - "$T" "$n" "$true_ms" "$verify_ms" "$me_ms" "$vs" "$ms" > "$T/cgi.json" <<'PY'
import json, re, sys
t, n, true_ms, verify_ms, me_ms, vs, ms = sys.argv[1:8]
w = open(f"{t}/wrk/cgi-apache.txt").read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", w)
p50 = re.search(r"^\s+50%\s+(\S+)", w, re.M)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", w)
print(json.dumps({"runs": int(n), "exec_true_ms": float(true_ms), "verify_ms": float(verify_ms), "me_ms": float(me_ms),
                  "verify_status": vs, "me_status": ms, "apache_mod_cgi_me_rps": float(rps.group(1)) if rps else None,
                  "apache_mod_cgi_me_p50": p50.group(1) if p50 else None,
                  "apache_mod_cgi_non2xx": int(non2xx.group(1)) if non2xx else 0}))
PY
    log "cgi: $(cat "$T/cgi.json")"
}
