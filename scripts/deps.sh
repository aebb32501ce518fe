#!/usr/bin/env bash
# Installs the Debian packages Authgate needs, only when one is missing (make deps).
# nginx is installed without starting a system nginx: a temporary policy-rc.d refuses every
# service start during the install and is removed afterwards.
set -euo pipefail

packages=(libfcgi-dev libssl-dev libsqlite3-dev sqlite3 openssl curl jq python3-httpx)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
need_nginx=0
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    need_nginx=1
    missing+=(nginx-light)
elif ! /usr/sbin/nginx -V 2>&1 | grep -q -- '--with-http_auth_request_module'; then
    echo "deps: the installed nginx has no http_auth_request_module; install nginx-light or nginx" >&2
    exit 1
fi
# systemd-analyze checks the units in make test (the package is installed, never started:
# the policy-rc.d below refuses service starts; in a container systemd is not PID 1 anyway).
if ! command -v systemd-analyze >/dev/null 2>&1; then
    need_nginx=1   # same policy-rc.d guard as for nginx
    missing+=(systemd)
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
if [ "$need_nginx" -eq 1 ] && [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# authgate make deps: no service starts while nginx is installed\nexit 101\n' \
        | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 0755 "$policy"
    created_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
