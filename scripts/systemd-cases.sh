#!/usr/bin/env bash
# The .deb under a real systemd as PID 1: TEST_SCRIPT of ../shared/tools/systemd-boot.sh, run by
# scripts/test-systemd.sh inside a booted Debian 12 container that has nginx-light (running, stock
# default site) and PostgreSQL (installed, disabled). /project is the project (read-only), the
# .deb its dist/. Every case is timed; the table goes to $SDBOOT_OUT/cases.txt.
#   systemd-cases.sh full|short DEB
# short (make test): install, sockets, first request, login/401/200, restart under load, remove, purge.
set -euo pipefail
mode="${1:?usage: systemd-cases.sh full|short DEB}"
deb_in="${2:?usage: systemd-cases.sh full|short DEB}"
out="${SDBOOT_OUT:-/tmp}"
here="${SDBOOT_PROJECT:+$SDBOOT_PROJECT/scripts}"
here="${here:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
# shellcheck source=scripts/systemd-lib.sh
. "$here/systemd-lib.sh"

echo "PID 1: $(cat /proc/1/comm); $(systemctl --version | head -n 1); state $(systemctl is-system-running || true)"
deb=/tmp/$(basename "$deb_in")
cp "$deb_in" "$deb"
chmod 0644 "$deb"

case_install() {
    systemctl is-active --quiet nginx || fail "nginx is not running before the install"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb"
    dpkg -L authgate | grep -qx /usr/bin/authgate-fcgi || fail "dpkg -L lists no /usr/bin/authgate-fcgi"
    [ "$(stat -c '%U %a' /var/lib/authgate)" = "authgate 700" ] || fail "/var/lib/authgate: $(stat -c '%U %a' /var/lib/authgate)"
    for f in /var/lib/authgate/keys /var/lib/authgate/authgate.db; do
        [ "$(stat -c '%U %a' "$f")" = "authgate 600" ] || fail "$f: $(stat -c '%U %a' "$f")"
    done
    id -nG www-data | tr ' ' '\n' | grep -qx authgate-web || fail "www-data is not in authgate-web"
    # Nothing but what the package enables: the two sockets, no service yet.
    local active
    active="$(systemctl list-units --no-legend --plain --state=active 'authgate*' | awk '{print $1}' | sort | tr '\n' ' ')"
    [ "$active" = "authgate-ws.socket authgate.socket " ] || fail "active authgate units after install: '$active'"
    [ "$(systemctl is-enabled authgate.service)" != enabled ] || fail "authgate.service is enabled"
}

case_sockets() {
    systemctl is-active authgate.socket authgate-ws.socket
    for s in /run/authgate/authgate.sock /run/authgate/authgate-ws.sock /run/authgate/authgate-ws-metrics.sock; do
        [ "$(stat -c '%a %U %G' "$s")" = "660 authgate authgate-web" ] || fail "$s: $(stat -c '%a %U %G' "$s")"
    done
}

case_first_request() {
    setup_nginx
    [ "$(systemctl is-active authgate.service)" = inactive ] || fail "authgate.service runs before any request"
    code="$(curl -s -o /dev/null -w '%{http_code}' "$URL/dashboard/")"
    [ "$code" = 401 ] || fail "first gated request: $code, not 401"
    [ "$(systemctl is-active authgate.service)" = active ] || fail "the first request did not start authgate.service"
    echo "authgate.service started by the first request, MainPID $(mainpid)"
}

case_login() {
    authgate tenant create --name Acme --domain acme.example
    printf '%s\n' "$PASSWORD" | authgate user create --tenant acme.example --email you@acme.example --role admin --password-stdin
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/dashboard/")" = 401 ] || fail "no 401 without a token"
    login_token > /tmp/token
    [ -s /tmp/token ] || fail "login returned no access token"
    body="$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $(cat /tmp/token)" "$URL/dashboard/")"
    [ "$body" = "the dashboard
 200" ] || fail "with the token: '$body'"
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' "$URL/dashboard/")" = 401 ] || fail "a bad token is not 401"
}

case_reload() {
    local pid before after
    pid="$(mainpid)"
    big="$(head -c 3000 /dev/zero | tr '\0' a)"
    before="$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/auth/login" -H 'Content-Type: application/json' -d "{\"email\":\"$big\"}")"
    echo 'AUTH_MAX_BODY=1024' >> /etc/authgate/authgate.conf
    systemctl reload authgate
    wait_for "the reload's log line" 20 journal_has 'reload'
    after="$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/auth/login" -H 'Content-Type: application/json' -d "{\"email\":\"$big\"}")"
    echo "a 3000-byte login body: $before before, $after after AUTH_MAX_BODY=1024 and systemctl reload"
    [ "$before" != 413 ] && [ "$after" = 413 ] || fail "AUTH_MAX_BODY did not apply live ($before -> $after)"
    [ "$(mainpid)" = "$pid" ] || fail "reload replaced the process ($pid -> $(mainpid))"
    sed -i '/^AUTH_MAX_BODY=1024$/d' /etc/authgate/authgate.conf
    systemctl reload authgate
}

case_restart() {
    local n="${1:-3}" i pid
    loop_start
    for i in $(seq "$n"); do
        pid="$(mainpid)"
        systemctl restart authgate
        wait_for "a new MainPID after restart $i" 30 new_mainpid "$pid"
        wait_for "requests after restart $i" 30 loop_advanced
    done
    loop_stop
    loop_report "systemctl restart x$n" || fail "requests failed across the restarts"
}

case_kill9() {
    local n="${1:-3}" i pid
    loop_start
    wait_for "the loop's first requests" 30 loop_advanced
    for i in $(seq "$n"); do
        pid="$(mainpid)"
        kill -9 "$pid"
        wait_for "systemd to restart authgate after kill -9 of $pid" 30 new_mainpid "$pid"
        wait_for "requests after the restart" 30 loop_advanced
    done
    loop_stop
    echo "NRestarts=$(systemctl show -P NRestarts authgate)"
    loop_report "kill -9 x$n" || fail "requests failed across the kills"
}

case_journal() {
    journalctl -u authgate --no-pager -n 5 -o cat
    journalctl -u authgate --no-pager -o cat | grep -Eq '/_authgate/verify/user.*401' || fail "no 401 verify line in the journal"
    journalctl -u authgate --no-pager -o cat | grep -Eq '/_authgate/verify/user.*204' || fail "no 204 (allowed) verify line in the journal"
    journalctl -u authgate --no-pager -o cat | grep -q 'request_id\|[0-9a-f]\{32\}' || fail "no nginx request id in the journal lines"
}

case_security() {
    systemd-analyze security --no-pager authgate.service > "$out/security-authgate.txt" || true
    systemd-analyze security --no-pager authgate-ws.service > "$out/security-authgate-ws.txt" || true
    tail -n 1 "$out/security-authgate.txt" "$out/security-authgate-ws.txt"
    # Still working under every directive: database writes (a login), key-ring reads (a rotation
    # picked up by the running service), and the TCP listener through the documented drop-ins.
    login_token > /tmp/token && [ -s /tmp/token ] || fail "login (a database write) failed"
    old_kid="$(jwt_kid "$(cat /tmp/token)")"
    authgate keys rotate
    systemctl reload authgate
    wait_for "a token signed by the new key" 30 token_kid_differs "$old_kid"
    tcp_dropins
    systemctl daemon-reload
    systemctl restart authgate.socket authgate.service
    wait_for "the loopback listener" 30 tcp_health
    echo "FastCGI over 127.0.0.1:900: $(tcp_health_body)"
    systemd-analyze security --no-pager authgate.service | tail -n 1
    [ "$(gated_with_login)" = 200 ] || fail "the Unix socket stopped serving with the TCP drop-in"
    rm -rf /etc/systemd/system/authgate.socket.d /etc/systemd/system/authgate.service.d /etc/nginx/conf.d/authgate-tcp.conf
    systemctl daemon-reload
    systemctl restart authgate.socket authgate.service
    systemctl reload nginx
}

case_postgres() {
    systemctl start postgresql
    wait_for "PostgreSQL" 60 pg_up
    runuser -u postgres -- psql -q -c "CREATE ROLE authgate LOGIN PASSWORD 'pg-secret-in-test'" \
        -c "CREATE DATABASE authgate OWNER authgate"
    postgres_dropins
    systemctl daemon-reload
    PGPASSFILE=/etc/authgate/pgpass authgate init
    systemctl restart authgate.service authgate-ws.service
    PGPASSFILE=/etc/authgate/pgpass authgate tenant create --name Acme --domain acme.example
    printf '%s\n' "$PASSWORD" | PGPASSFILE=/etc/authgate/pgpass authgate user create --tenant acme.example \
        --email you@acme.example --role admin --password-stdin
    [ "$(gated_with_login)" = 200 ] || fail "login + gated request on PostgreSQL"
    n="$(runuser -u postgres -- psql -At -d authgate -c 'SELECT count(*) FROM sessions')"
    echo "sessions in PostgreSQL: $n"
    [ "$n" -ge 1 ] || fail "no session row in PostgreSQL"
    rm -rf /etc/systemd/system/authgate.service.d /etc/systemd/system/authgate-ws.service.d /etc/authgate/pgpass
    sed -i '/^AUTH_DB_URL=/d' /etc/authgate/authgate.conf
    systemctl daemon-reload
    systemctl restart authgate.service
    systemctl stop authgate-ws.service postgresql
}

case_upgrade() {
    # The same package as version 0.1.0+upgrade: prerm/postinst run as on an upgrade, under a loop.
    local d=/tmp/upgrade v
    v="$(dpkg-deb -f "$deb" Version)+upgrade"
    rm -rf "$d"; mkdir -p "$d"
    dpkg-deb -R "$deb" "$d/pkg"
    sed -i "s/^Version: .*/Version: $v/" "$d/pkg/DEBIAN/control"
    dpkg-deb -b -Zgzip -z1 "$d/pkg" "$d/authgate_${v}_amd64.deb" >/dev/null
    login_token > /tmp/token
    loop_start
    wait_for "the loop's first requests" 30 loop_advanced
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$d/authgate_${v}_amd64.deb"
    wait_for "requests after the upgrade" 30 loop_advanced
    loop_stop
    [ "$(dpkg-query -W -f='${Version}' authgate)" = "$v" ] || fail "not upgraded"
    [ "$(gated_with_login)" = 200 ] || fail "the old user cannot log in after the upgrade"
    loop_report "upgrade to $v" || fail "requests failed across the upgrade"
}

case_remove() {
    DEBIAN_FRONTEND=noninteractive apt-get remove -y -q authgate
    for u in authgate.socket authgate-ws.socket authgate.service; do
        [ "$(systemctl is-active "$u")" = inactive ] || fail "$u still $(systemctl is-active "$u") after remove"
    done
    for f in /var/lib/authgate/keys /var/lib/authgate/authgate.db /etc/authgate/authgate.conf; do
        [ -e "$f" ] || fail "$f gone after apt remove"
    done
    [ ! -e /usr/bin/authgate-fcgi ] || fail "the binary is still there"
    echo "removed: units inactive, data and config kept"
}

case_purge() {
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q authgate
    [ ! -e /var/lib/authgate ] || fail "/var/lib/authgate left after purge"
    [ ! -e /etc/authgate ] || fail "/etc/authgate left after purge"
    [ ! -e /etc/nginx/snippets/authgate-api.conf ] || fail "snippets left after purge"
    [ ! -e /etc/systemd/system/sockets.target.wants/authgate.socket ] || fail "the socket is still enabled"
    if id -nG www-data | tr ' ' '\n' | grep -qx authgate-web; then fail "www-data still in authgate-web"; fi
    echo "purged: data, config, snippets and enablement gone (user and group kept)"
}

run_case install case_install
run_case "is-active sockets" case_sockets
run_case "first gated request starts the service" case_first_request
run_case "login, 401, 200 through nginx" case_login
if [ "$mode" = full ]; then
    run_case "reload applies AUTH_MAX_BODY live" case_reload
    run_case "restart x3 under a request loop" case_restart 3
    run_case "kill -9 x3 of the main pid under a request loop" case_kill9 3
    run_case "journal lines" case_journal
    run_case "security score + DB/key ring/TCP under it" case_security
    run_case "PostgreSQL drop-in (README)" case_postgres
    run_case "upgrade under a request loop" case_upgrade
else
    run_case "restart x1 under a request loop" case_restart 1
fi
run_case "apt remove keeps data" case_remove
run_case "apt purge removes it" case_purge
summary
