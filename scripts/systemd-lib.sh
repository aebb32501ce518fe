# Helpers of scripts/systemd-cases.sh (sourced): timed cases, waits with deadlines, the nginx site,
# a request loop, the documented drop-ins.
PASSWORD="systemd-case-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
URL=http://127.0.0.1
CASES=()
failed=0

fail() { echo "FAIL: $*" >&2; exit 1; }   # ends the case (each runs in a subshell)

# run_case NAME FUNCTION [ARG...]: runs it with -e semantics in a subshell, records time and result.
run_case() {
    local name="$1" t0 t rc=0
    shift
    printf '\n==== case: %s\n' "$name"
    if [ "$failed" -ne 0 ]; then CASES+=("SKIP  -       $name (an earlier case failed)"); return 0; fi
    t0=$(date +%s.%N)
    # Not in an || list: there set -e would be off inside the subshell.
    set +e
    ( set -e; "$@" )
    rc=$?
    set -e
    t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
    if [ "$rc" -eq 0 ]; then
        CASES+=("$(printf 'PASS  %6ss  %s' "$t" "$name")")
    else
        CASES+=("$(printf 'FAIL  %6ss  %s' "$t" "$name")")
        failed=1
        journalctl -u authgate -u authgate-ws -u authgate.socket --no-pager -n 40 -o short-monotonic || true
    fi
}

summary() {
    { printf '\nsystemd cases (%s):\n' "$mode"; printf '  %s\n' "${CASES[@]}"; } | tee "$out/cases.txt"
    [ "$failed" -eq 0 ]
}

# wait_for WHAT SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds or the deadline.
wait_for() {
    local what="$1" secs="$2" deadline
    shift 2
    deadline=$(( $(date +%s) + secs ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "waited ${secs} s for $what"
        sleep 0.1
    done
}

mainpid() { systemctl show -P MainPID authgate.service; }
new_mainpid() { local p; p="$(mainpid)"; [ "$p" != 0 ] && [ "$p" != "$1" ]; }
journal_has() { journalctl -u authgate --no-pager -o cat --since "-60s" | grep -qi "$1"; }

# Debian's stock default site with the README's lines inside its server { } block, and the app
# behind /dashboard/ (a static file server, a transient unit).
setup_nginx() {
    mkdir -p /srv/dash/dashboard
    echo "the dashboard" > /srv/dash/dashboard/index.html
    systemd-run --unit=dash-app --property=DynamicUser=yes python3 -m http.server 3000 --bind 127.0.0.1 --directory /srv/dash
    cat > /etc/nginx/conf.d/authgate.conf <<'NGINX'
include snippets/authgate-http.conf;
access_log /var/log/nginx/access.log authgate;
NGINX
    python3 - /etc/nginx/sites-enabled/default <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
lines = """
    include snippets/authgate-errors-2signal.conf;
    include snippets/authgate-api.conf;
    include snippets/authgate-verify.conf;
    location /dashboard/ {
        auth_request /_authgate/verify/user;
        include snippets/authgate-protect-proxy.conf;
        proxy_pass http://127.0.0.1:3000;
    }
    location = /test-config-loaded { return 204; }
"""
i = text.index("server {") + len("server {")
open(path, "w").write(text[:i] + lines + text[i:])
PY
    nginx -t
    systemctl reload nginx
    wait_for "the app on :3000" 20 curl -sf http://127.0.0.1:3000/dashboard/
    wait_for "nginx serving the authgate locations" 20 nginx_has_authgate
}
# (not an Authgate route: that would start authgate.service before the case looks)
nginx_has_authgate() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/test-config-loaded")" = 204 ]; }

login_token() {
    curl -s "$URL/api/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"email\":\"you@acme.example\",\"password\":\"$PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["access_token"])'
}
gated_with_login() {
    local t
    t="$(login_token)" || { echo "login failed"; return 0; }
    curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $t" "$URL/dashboard/"
}
jwt_kid() { python3 -c 'import base64,json,sys; h=sys.argv[1].split(".")[0]; print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4)))["kid"])' "$1"; }
token_kid_differs() { local t; t="$(login_token)" && [ "$(jwt_kid "$t")" != "$1" ]; }

# A request loop: each client alternately the gated location with /tmp/token (the verify micro-cache may
# answer it) and /api/v1/health (always the responder). One status code per line in /tmp/loop.codes.
LOOP_PIDS=()
loop_start() {   # two clients at once, so that restarts and kills meet requests in flight
    : > /tmp/loop.codes
    LOOP_SEEN=0
    local c
    for c in 1 2; do
        (
            trap 'exit 0' TERM
            while :; do
                curl -s -o /dev/null -w '%{http_code} gated\n' --max-time 30 -H "Authorization: Bearer $(cat /tmp/token)" "$URL/dashboard/" >> /tmp/loop.codes || echo "curl-error gated" >> /tmp/loop.codes
                curl -s -o /dev/null -w '%{http_code} health\n' --max-time 30 "$URL/api/v1/health" >> /tmp/loop.codes || echo "curl-error health" >> /tmp/loop.codes
            done
        ) &
        LOOP_PIDS+=("$!")
    done
}
loop_advanced() {   # at least 60 more answers since the last call
    local n
    n=$(wc -l < /tmp/loop.codes)
    if [ "$n" -ge $(( LOOP_SEEN + 60 )) ]; then LOOP_SEEN=$n; return 0; fi
    return 1
}
loop_stop() {
    local p
    for p in "${LOOP_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${LOOP_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    LOOP_PIDS=()
}
loop_report() {
    local total bad
    total=$(wc -l < /tmp/loop.codes)
    bad=$(grep -vc '^200 ' /tmp/loop.codes || true)
    echo "$1: $total requests, $bad failed"
    [ "$bad" -eq 0 ] || { sort /tmp/loop.codes | uniq -c; return 1; }
}

# The TCP listener as the README documents it: authgate.socket's ListenStream=127.0.0.1:900 and
# Environment=AUTH_LISTEN_TCP=127.0.0.1:900 in authgate.service, both as drop-ins; nginx reaches it
# through a server of its own on 127.0.0.1:8900 (the way Apache would, over FastCGI on TCP).
tcp_dropins() {
    mkdir -p /etc/systemd/system/authgate.socket.d /etc/systemd/system/authgate.service.d
    printf '[Socket]\nListenStream=127.0.0.1:900\nNoDelay=yes\n' > /etc/systemd/system/authgate.socket.d/tcp.conf
    printf '[Service]\nEnvironment=AUTH_LISTEN_TCP=127.0.0.1:900\n' > /etc/systemd/system/authgate.service.d/tcp.conf
    cat > /etc/nginx/conf.d/authgate-tcp.conf <<'NGINX'
server {
    listen 127.0.0.1:8900;
    location /api/ { include snippets/authgate-fastcgi-params.conf; fastcgi_pass 127.0.0.1:900; }
}
NGINX
    nginx -t
    systemctl reload nginx
}
tcp_health_body() { curl -s --max-time 5 http://127.0.0.1:8900/api/v1/health; }
tcp_health() { tcp_health_body | grep -q '"status":"ok"'; }

# README "Several hosts": AUTH_DB_URL in the config without a password, the password in a libpq
# password file named by PGPASSFILE in both services' drop-ins, IPAddressAllow= the server's
# address and network-online.target (here the server is this host's 127.0.0.1).
postgres_dropins() {
    echo 'AUTH_DB_URL=postgresql://authgate@127.0.0.1:5432/authgate' >> /etc/authgate/authgate.conf
    printf '127.0.0.1:5432:authgate:authgate:pg-secret-in-test\n' > /etc/authgate/pgpass
    chown authgate:authgate /etc/authgate/pgpass
    chmod 0600 /etc/authgate/pgpass
    local u
    for u in authgate authgate-ws; do
        mkdir -p "/etc/systemd/system/$u.service.d"
        printf '[Unit]\nWants=network-online.target\nAfter=network-online.target\n[Service]\nIPAddressAllow=127.0.0.1\nEnvironment=PGPASSFILE=/etc/authgate/pgpass\n' \
            > "/etc/systemd/system/$u.service.d/postgres.conf"
    done
}
pg_up() { runuser -u postgres -- psql -Atc 'SELECT 1' | grep -qx 1; }
