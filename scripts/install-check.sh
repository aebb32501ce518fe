#!/usr/bin/env bash
# make install-check: follows the README's "Install on a server" section step by step, as root, on
# the Debian 12 host it runs on, and checks the result the way step 5 does: 401 without a token,
# 200 with one, both metrics locations from loopback. It CHANGES THE HOST (installs into
# /usr/local, creates the `authgate` user, installs nginx and writes /etc/nginx/...): run it in a
# throwaway root, e.g.
#     ../shared/tools/fresh-debian.sh . ../shared 'AUTHGATE_INSTALL_CHECK=yes scripts/install-check.sh'
# Without systemd as PID 1 (a chroot or container), step 3 starts the processes the way the units
# would (the README's "Without systemd"): as the `authgate` user, the responder under
# `authgate-fcgi --hold-socket`, sockets in the setgid directory /run/authgate (group authgate-web, which www-data joins).
# With systemd as PID 1, step 3 is `systemctl enable --now` as written.
set -eu

[ "${AUTHGATE_INSTALL_CHECK:-}" = yes ] || {
    echo "install-check: this changes the host (make install, a system user, nginx config); set AUTHGATE_INSTALL_CHECK=yes in a throwaway root" >&2
    exit 2
}
[ "$(id -u)" -eq 0 ] || { echo "install-check: run as root (the README's steps are)" >&2; exit 2; }
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
PREFIX=/usr/local
step() { printf '\n[install-check] ---- %s\n' "$*" >&2; }
fail() { printf '[install-check] FAILED: %s\n' "$*" >&2; exit 1; }
started=()
cleanup() {
    local p
    for p in "${started[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${started[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -s /run/nginx.pid ]; then
        /usr/sbin/nginx -s stop 2>/dev/null || true
        for _ in $(seq 50); do [ -e /run/nginx.pid ] || break; sleep 0.1; done   # nginx removes it on exit
    fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
systemd_pid1=0
[ -d /run/systemd/system ] && systemd_pid1=1

step "0. the host's packages: nginx (the README assumes it runs already), systemd (systemd-sysusers), curl, jq"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# Like a Debian server: nginx and systemd installed. Without systemd as PID 1 nothing may start
# them during the install here (policy-rc.d), nginx is started by hand below.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ "$systemd_pid1" -eq 0 ] && [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 0755 "$policy"; made_policy=1
fi
apt-get install -y -q --no-install-recommends nginx systemd curl jq python3 >&2
[ "$made_policy" -eq 1 ] && rm -f "$policy"

step "1. make install (PREFIX=$PREFIX)"
make install >&2
for b in authgate authgate-fcgi authgate-ws; do [ -x "$PREFIX/bin/$b" ] || fail "no $PREFIX/bin/$b"; done
ldd "$PREFIX/bin/authgate-fcgi" | grep -q 'libswift' && fail "authgate-fcgi links a Swift runtime library"
"$PREFIX/bin/authgate-fcgi" --version

step "2. the service user, state and config"
systemd-sysusers
getent passwd authgate >/dev/null || fail "systemd-sysusers did not create the user authgate"
getent group authgate-web >/dev/null || fail "systemd-sysusers did not create the group authgate-web"
usermod -aG authgate-web www-data   # nginx's worker user, the one member of the sockets' group
if [ "$systemd_pid1" -eq 1 ]; then systemctl daemon-reload; fi
# editor /etc/authgate/authgate.conf: set AUTH_ISSUER and AUTH_AUDIENCE
[ -f /etc/authgate/authgate.conf ] || fail "make install wrote no /etc/authgate/authgate.conf"
grep -q '^AUTH_ISSUER=' /etc/authgate/authgate.conf && grep -q '^AUTH_AUDIENCE=' /etc/authgate/authgate.conf \
    || fail "the example config has no AUTH_ISSUER/AUTH_AUDIENCE lines to edit"
sed -i -e 's|^AUTH_ISSUER=.*|AUTH_ISSUER=https://auth.install-check.test|' \
    -e 's|^AUTH_AUDIENCE=.*|AUTH_AUDIENCE=install-check|' /etc/authgate/authgate.conf
install -d -o authgate -g authgate -m 0700 /var/lib/authgate
authgate init
authgate config | grep -q 'AUTH_ISSUER=https://auth.install-check.test' || fail "authgate config does not show the file's AUTH_ISSUER"
[ "$(stat -c %U /var/lib/authgate/keys)" = authgate ] || fail "the key ring is not owned by authgate"

step "3. start it"
if [ "$systemd_pid1" -eq 1 ]; then
    systemctl enable --now authgate.socket authgate-ws.socket
    systemctl start authgate.service authgate-ws.service
else
    # What authgate.socket / authgate-ws.socket and the services do, without systemd (README:
    # "Without systemd"): a setgid socket directory of nginx's group, the processes as authgate.
    install -d -o authgate -g authgate-web -m 2750 /run/authgate
    # setpriv and env exec: $! is the daemon's own pid (a shell function here would leave a
    # subshell in between, and the cleanup would signal the subshell instead of the daemon).
    touch /var/log/authgate.log /var/log/authgate-ws.log
    chown authgate:authgate /var/log/authgate.log /var/log/authgate-ws.log
    setpriv --reuid=authgate --regid=authgate --init-groups env AUTH_CONFIG=/etc/authgate/authgate.conf \
        "$PREFIX/bin/authgate-fcgi" --hold-socket >> /var/log/authgate.log 2>&1 &
    started+=("$!")
    setpriv --reuid=authgate --regid=authgate --init-groups env AUTH_CONFIG=/etc/authgate/authgate.conf \
        AUTH_WS_METRICS_SOCKET=/run/authgate/authgate-ws-metrics.sock "$PREFIX/bin/authgate-ws" >> /var/log/authgate-ws.log 2>&1 &
    started+=("$!")
fi
for s in /run/authgate/authgate.sock /run/authgate/authgate-ws.sock /run/authgate/authgate-ws-metrics.sock; do
    for _ in $(seq 200); do [ -S "$s" ] && break; sleep 0.1; done
    [ -S "$s" ] || { cat /var/log/authgate*.log >&2 || true; fail "no socket $s"; }
    ls -l "$s" >&2
    [ "$(stat -c '%a %G' "$s")" = "660 authgate-web" ] || fail "$s is not mode 0660 group authgate-web"
done

step "4. nginx: render the snippets, include them, protect one location"
"$PREFIX/share/authgate/scripts/render-nginx.sh" --snippets /etc/nginx/snippets
cat > /etc/nginx/conf.d/authgate.conf <<'NGINX'
include snippets/authgate-http.conf;
access_log /var/log/nginx/access.log authgate;
NGINX
# The app behind /dashboard/ (the README's 127.0.0.1:3000): a static file server on a free port.
APP_PORT="$(free_port)"
mkdir -p /srv/install-check/dashboard
echo "the dashboard" > /srv/install-check/dashboard/index.html
python3 -m http.server "$APP_PORT" --bind 127.0.0.1 --directory /srv/install-check >/dev/null 2>&1 &
started+=("$!")
# Debian's stock default site, with the README's lines added inside its server { } block. It listens
# on port 80 (here a free port: a chroot shares the host's network).
site=/etc/nginx/sites-enabled/default
[ -f "$site" ] || fail "no stock $site"
PORT="$(free_port)"
python3 - "$site" "$PORT" "$APP_PORT" <<'PY'
import re, sys
path, port, app = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read()
text = re.sub(r"listen 80 default_server;", f"listen 127.0.0.1:{port} default_server;", text, count=1)
text = re.sub(r"\n\s*listen \[::\]:80 default_server;", "", text, count=1)
lines = f"""
    include snippets/authgate-errors-2signal.conf;
    include snippets/authgate-api.conf;
    include snippets/authgate-verify.conf;
    location /dashboard/ {{
        auth_request /_authgate/verify/user;
        include snippets/authgate-protect-proxy.conf;
        proxy_pass http://127.0.0.1:{app};
    }}
"""
i = text.index("server {") + len("server {")
open(path, "w").write(text[:i] + lines + text[i:])
PY
nginx -t
if [ "$systemd_pid1" -eq 1 ]; then systemctl reload nginx || systemctl start nginx; else /usr/sbin/nginx; fi
for _ in $(seq 100); do [ -s /run/nginx.pid ] && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT"

step "5. check it works"
doctor=0
authgate doctor || doctor=$?
health="$(curl -s "$URL/api/v1/health")"
echo "health: $health"
echo "$health" | jq -e '.data.status == "ok"' >/dev/null || fail "health is not ok"
code="$(curl -s -o /dev/null -w '%{http_code}' "$URL/dashboard/")"
[ "$code" = 401 ] || fail "GET /dashboard/ without a token answered $code, not 401"
authgate tenant create --name Acme --domain acme.example
password="install-check-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$password" | authgate user create --tenant acme.example --email you@acme.example --role admin --password-stdin
TOKEN="$(curl -s "$URL/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"you@acme.example\",\"password\":\"$password\"}" | jq -r .data.access_token)"
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || fail "login returned no access token"
body="$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/dashboard/")"
[ "$body" = "the dashboard
 200" ] || fail "GET /dashboard/ with the token: '$body'"
for m in /api/v1/metrics /api/v1/ws-metrics; do
    mcode="$(curl -s -o /tmp/install-check-metrics -w '%{http_code}' "$URL$m")"
    [ "$mcode" = 200 ] && grep -q '^authgate_build_info' /tmp/install-check-metrics || fail "$m from loopback: $mcode"
done
curl -s "$URL/api/v1/metrics" | grep -q '^authgate_verify_decisions_total{kind="user",outcome="allow"} 1$' \
    || fail "the responder's metrics do not count the one allowed verify"
grep -q ' /dashboard/ ' /var/log/nginx/access.log || fail "no /dashboard/ line in nginx's access log (authgate format)"
for p in "${started[@]}"; do
    [ -r "/proc/$p/comm" ] || fail "process $p that this script started is gone"
done
echo "install-check: authgate doctor exit $doctor"
[ "$doctor" -eq 0 ] || fail "authgate doctor found problems (above)"
echo "install-check: OK (401 without a token, 200 with one, metrics from loopback; systemd as PID 1: $([ "$systemd_pid1" -eq 1 ] && echo yes || echo no))"
