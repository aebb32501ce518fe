#!/usr/bin/env bash
# Installs the Debian packages Authgate needs, only when one is missing (make deps).
# nginx, apache2, lighttpd and postgresql are installed without starting their system services: a temporary
# policy-rc.d refuses every service start during the install and is removed afterwards (their
# postinst scripts start the service only through invoke-rc.d / deb-systemd-invoke, which honour
# it). The tests and the bench start their own instances on temp configs (PostgreSQL: initdb in a
# temp dir, Tests/TestSupport/PostgresServer.swift; make run-pg: scripts/run-pg.sh). Nothing here or
# there needs the system cluster Debian's package creates, and nothing starts it.
set -euo pipefail

# chromium + chromium-driver: the real-browser test of the browser mode (BrowserFlowTests,
# driven over WebDriver by Tests/browser/browser_flow.py with Python's stdlib only: no venv).
# postgresql + libpq-dev (issue 14): libpq for the CLibpq target; the server for the two-host tests,
# the in-process suites' PostgreSQL pass and make run-pg.
# faketime (libfaketime): ClockStepTests step the servers' wall clock (make test, make clock).
# libqrencode-dev (issue 21): the CQREncode target, the enrolment page's QR code (runtime: libqrencode4).
# caddy (issue 20): CaddyGateTests put a real Caddy (forward_auth, caddy/authgate.caddy) in front
# of the HTTP verify door; like the web servers, its system service is never started. (Debian's
# package also adds its `caddy` user to www-data: the responder's socket-group warning says so.)
# pgbouncer (issue 24): PgBouncerTests start their own in transaction mode; its system service is
# never started (the policy-rc.d below), and one that runs anyway is stopped.
# libcurl4-openssl-dev (issue 23): the CCurl target, the mail outbox's SMTP transport (runtime: libcurl4).
# python3-aiosmtpd (issue 23): the mail tests' SMTP server (STARTTLS, Tests/mail/smtp_server.py).
packages=(libfcgi-dev libssl-dev libsqlite3-dev sqlite3 openssl curl jq python3-httpx python3 chromium chromium-driver
          postgresql libpq-dev pkg-config faketime libqrencode-dev caddy pgbouncer libcurl4-openssl-dev python3-aiosmtpd)
# deps.sh --build (make build-static, make install): only what compiling needs, nothing a server
# does not want (no browser, no web servers, no database server).
build_only=0
if [ "${1:-}" = --build ]; then build_only=1; packages=(libfcgi-dev libssl-dev libsqlite3-dev libpq-dev pkg-config libqrencode-dev libcurl4-openssl-dev); fi
# deps.sh --deb (make deb): the same, and Debian's packaging tools (dpkg-buildpackage, dh, lintian;
# build-essential: dpkg-checkbuilddeps requires it).
if [ "${1:-}" = --deb ]; then
    build_only=1
    packages=(libfcgi-dev libssl-dev libsqlite3-dev libpq-dev pkg-config libqrencode-dev libcurl4-openssl-dev build-essential dpkg-dev debhelper lintian)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
need_postgres=0
case " ${missing[*]} " in *" postgresql "*) need_postgres=1 ;; esac
need_caddy=0
case " ${missing[*]} " in *" caddy "*) need_caddy=1 ;; esac
case " ${missing[*]} " in *" pgbouncer "*) need_caddy=1 ;; esac   # (the same policy-rc.d guard)
need_nginx=0
need_servers=0
if [ "$build_only" -eq 0 ]; then
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    need_nginx=1
    missing+=(nginx-light)
elif ! /usr/sbin/nginx -V 2>&1 | grep -q -- '--with-http_auth_request_module'; then
    echo "deps: the installed nginx has no http_auth_request_module; install nginx-light or nginx" >&2
    exit 1
fi
# Apache httpd (mod_authnz_fcgi, mod_proxy_fcgi, mod_cgi ship in apache2-bin) and lighttpd
# (mod_fastcgi is built in) for the "behind any web server" tests and bench.
if [ ! -x /usr/sbin/apache2 ]; then need_servers=1; missing+=(apache2); fi
if [ ! -x /usr/sbin/lighttpd ]; then need_servers=1; missing+=(lighttpd); fi
# systemd-analyze checks the units in make test (the package is installed, never started:
# the policy-rc.d below refuses service starts; in a container systemd is not PID 1 anyway).
if ! command -v systemd-analyze >/dev/null 2>&1; then
    need_nginx=1   # same policy-rc.d guard as for nginx
    missing+=(systemd)
fi
fi
[ "${#missing[@]}" -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
fi
policy=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
    if [ "$created_policy" -eq 1 ]; then "${sudo[@]}" rm -f "$policy"; fi
}
trap cleanup EXIT
if { [ "$need_nginx" -eq 1 ] || [ "$need_servers" -eq 1 ] || [ "$need_postgres" -eq 1 ] || [ "$need_caddy" -eq 1 ]; } && [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# authgate make deps: no service starts while nginx/apache2/lighttpd/postgresql are installed\nexit 101\n' \
        | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 0755 "$policy"
    created_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
# Belt and braces: a service that started anyway (a policy-rc.d that existed before and allowed
# it, or a postinst that bypassed it) is stopped again, so no system web server is left running.
for svc in apache2 lighttpd; do
    case " ${missing[*]} " in *" $svc "*) ;; *) continue ;; esac
    pidfile=/run/$svc.pid
    [ "$svc" = apache2 ] && pidfile=/run/apache2/apache2.pid
    if [ -s "$pidfile" ]; then
        echo "deps: the $svc package started its system service; stopping it" >&2
        "${sudo[@]}" kill "$(cat "$pidfile")" 2>/dev/null || true
    fi
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        if systemctl is-active --quiet "$svc" 2>/dev/null; then "${sudo[@]}" systemctl stop "$svc" || true; fi
    fi
done
# caddy.service (the package enables it): stopped if a systemd started it anyway.
if [ "$need_caddy" -eq 1 ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    if systemctl is-active --quiet caddy 2>/dev/null; then "${sudo[@]}" systemctl stop caddy || true; fi
fi
# pgbouncer.service likewise.
if [[ " ${missing[*]} " == *" pgbouncer "* ]]; then
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        if systemctl is-active --quiet pgbouncer 2>/dev/null; then "${sudo[@]}" systemctl stop pgbouncer || true; fi
    fi
    if [ -s /run/postgresql/pgbouncer.pid ]; then
        echo "deps: the pgbouncer package started its system service; stopping it" >&2
        "${sudo[@]}" kill "$(cat /run/postgresql/pgbouncer.pid)" 2>/dev/null || true
    fi
fi
# postgresql's postinst makes a "main" cluster and asks invoke-rc.d to start it (refused above).
# One that runs anyway is stopped: the tests start their own servers and never use it.
if [ "$need_postgres" -eq 1 ] && command -v pg_lsclusters >/dev/null 2>&1; then
    clusters="$(pg_lsclusters --no-header 2>/dev/null || true)"
    while read -r version cluster _port status _rest; do
        case "$status" in online*)
            echo "deps: the postgresql package started cluster $version/$cluster; stopping it" >&2
            "${sudo[@]}" pg_ctlcluster "$version" "$cluster" stop -m fast || true ;;
        esac
    done <<<"$clusters"
fi
