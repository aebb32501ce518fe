#!/usr/bin/env bash
# Renders nginx/authgate.conf.template and nginx/snippets/* into OUTDIR (nginx.conf +
# snippets/), replacing every @NAME@ with the environment variable NAME.
# usage: render-nginx.sh OUTDIR       (variables: see the list below; all required except NOFILE,
# DEMO_FASTCGI_SOCKET (default $RUNDIR/demo-fastcgi.sock), VERIFY_CACHE_DIR (default
# $RUNDIR/verify-cache), PASSWORD_RATE / PASSWORD_BURST (default LOGIN_RATE / LOGIN_BURST) and
# AUTH_COOKIE_NAME (default __Host-authgate, the browser access cookie the verify cache keys on)
# and AUTH_REFRESH_COOKIE_NAME (default __Host-authgate-refresh; the protect snippets strip both)).
# The verify micro-cache holds bearer tokens: its directory is always VERIFY_CACHE_DIR, never a
# CACHE_DIR inherited from the environment, and never inside a group/other-writable directory.
#
# Snippets only (behind an existing nginx): render-nginx.sh --snippets OUTDIR renders just
# nginx/snippets/*.conf into OUTDIR (e.g. /etc/nginx/snippets). Its inputs, all optional:
#   AUTH_SOCKET            /run/authgate/authgate.sock      the responder's socket
#   AUTH_WS_SOCKET         /run/authgate/authgate-ws.sock   the companion's socket
#   AUTH_WS_METRICS_SOCKET <dir of AUTH_WS_SOCKET>/authgate-ws-metrics.sock   the companion's metrics socket
#   METRICS_ALLOW          "127.0.0.1 ::1"                  addresses/CIDRs allowed to scrape both metrics locations
#   VERIFY_CACHE_DIR       /run/nginx-authgate-cache        verify micro-cache (tmpfs; nginx creates it)
#   VERIFY_CACHE_SECONDS   1                                0 turns the micro-cache off
#   AUTH_VERIFY_HTTP_SOCKET <dir of AUTH_SOCKET>/authgate-verify-http.sock   the HTTP verify door
#   LOGIN_RATE / LOGIN_BURST        10r/s / 20              limit_req on login, refresh, logout
#   PASSWORD_RATE / PASSWORD_BURST  1r/s / 5                limit_req on password changes
set -euo pipefail

snippets_only=0
if [ "${1:-}" = --snippets ]; then snippets_only=1; shift; fi
out="${1:?usage: render-nginx.sh [--snippets] OUTDIR}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Installed layout: the templates sit beside scripts/ under share/authgate.
[ -d "$root/nginx/snippets" ] || { echo "render-nginx.sh: no nginx/snippets under $root" >&2; exit 1; }

names=(PORT VAR RUNDIR LOGDIR NGINX_USER NGINX_WORKERS AUTH_SOCKET AUTH_WS_SOCKET AUTH_WS_METRICS_SOCKET UPSTREAM_SOCKET
       CACHE_DIR VERIFY_CACHE_ZONE VERIFY_CACHE_SECONDS CERT CERT_KEY DEMO_ROOT AUTH_API_PROFILE
       LOGIN_RATE LOGIN_BURST PASSWORD_RATE PASSWORD_BURST NOFILE DEMO_FASTCGI_SOCKET COOKIE_NAME_RE
       REFRESH_COOKIE_NAME_RE AUTH_VERIFY_HTTP_SOCKET VERIFY_HTTP_CACHE_ZONE VERIFY_HTTP_CACHE_DIR)
if [ "$snippets_only" -eq 1 ]; then
    names=(AUTH_SOCKET AUTH_WS_SOCKET AUTH_WS_METRICS_SOCKET CACHE_DIR VERIFY_CACHE_ZONE VERIFY_CACHE_SECONDS
           LOGIN_RATE LOGIN_BURST PASSWORD_RATE PASSWORD_BURST COOKIE_NAME_RE REFRESH_COOKIE_NAME_RE
           AUTH_VERIFY_HTTP_SOCKET VERIFY_HTTP_CACHE_ZONE VERIFY_HTTP_CACHE_DIR)
    AUTH_SOCKET="${AUTH_SOCKET:-/run/authgate/authgate.sock}"
    AUTH_WS_SOCKET="${AUTH_WS_SOCKET:-/run/authgate/authgate-ws.sock}"
    VERIFY_CACHE_DIR="${VERIFY_CACHE_DIR:-/run/nginx-authgate-cache}"
    VERIFY_CACHE_SECONDS="${VERIFY_CACHE_SECONDS:-1}"
    VERIFY_CACHE_ZONE=authgate_verify
    if [ "$VERIFY_CACHE_SECONDS" = 0 ]; then VERIFY_CACHE_ZONE=off; VERIFY_CACHE_SECONDS=1; fi
    LOGIN_RATE="${LOGIN_RATE:-10r/s}" LOGIN_BURST="${LOGIN_BURST:-20}"
    RUNDIR="${RUNDIR:-/run/authgate}"
fi

# The companion's metrics socket (authgate-ws.socket's second ListenStream; AUTH_WS_METRICS_SOCKET).
if [ -n "${AUTH_WS_SOCKET:-}" ]; then
    AUTH_WS_METRICS_SOCKET="${AUTH_WS_METRICS_SOCKET:-$(dirname -- "$AUTH_WS_SOCKET")/authgate-ws-metrics.sock}"
fi
# Who may scrape /api/v1/metrics and /api/v1/ws-metrics: nginx `allow` lines, then `deny all`.
METRICS_ALLOW="${METRICS_ALLOW-127.0.0.1 ::1}"
metrics_allow=""
for a in $METRICS_ALLOW; do
    case "$a" in
        *[!0-9A-Fa-f.:/]*) echo "render-nginx.sh: METRICS_ALLOW holds addresses or CIDRs only (e.g. '127.0.0.1 ::1 10.0.0.0/8'): '$a'" >&2; exit 1 ;;
    esac
    metrics_allow+="allow $a; "
done

# Optional: the demo's FastCGI echo socket (authgate-demo-upstream --fastcgi-socket).
DEMO_FASTCGI_SOCKET="${DEMO_FASTCGI_SOCKET:-${RUNDIR:-}/demo-fastcgi.sock}"
PASSWORD_RATE="${PASSWORD_RATE:-${LOGIN_RATE:-}}"
# The access cookie's name (AUTH_COOKIE_NAME) as a regex for the cache-key map: dots escaped.
COOKIE_NAME="${AUTH_COOKIE_NAME:-__Host-authgate}"
case "$COOKIE_NAME" in
    *[!A-Za-z0-9._-]*) echo "render-nginx.sh: AUTH_COOKIE_NAME may hold only letters, digits and . _ -: '$COOKIE_NAME'" >&2; exit 1 ;;
esac
COOKIE_NAME_RE="${COOKIE_NAME//./\\.}"
# The refresh cookie's name (AUTH_REFRESH_COOKIE_NAME): the protect snippets strip both cookies.
REFRESH_COOKIE_NAME="${AUTH_REFRESH_COOKIE_NAME:-__Host-authgate-refresh}"
case "$REFRESH_COOKIE_NAME" in
    *[!A-Za-z0-9._-]*) echo "render-nginx.sh: AUTH_REFRESH_COOKIE_NAME may hold only letters, digits and . _ -: '$REFRESH_COOKIE_NAME'" >&2; exit 1 ;;
esac
REFRESH_COOKIE_NAME_RE="${REFRESH_COOKIE_NAME//./\\.}"
PASSWORD_BURST="${PASSWORD_BURST:-${LOGIN_BURST:-}}"

# The cache dir: derived, not inherited (an old caller's CACHE_DIR=/dev/shm/... is ignored).
CACHE_DIR="${VERIFY_CACHE_DIR:-${RUNDIR:?render-nginx.sh: RUNDIR is not set}/verify-cache}"
case "$CACHE_DIR" in
    /*) ;;
    *) echo "render-nginx.sh: VERIFY_CACHE_DIR must be an absolute path: '$CACHE_DIR'" >&2; exit 1 ;;
esac
cache_parent="$(dirname -- "$CACHE_DIR")"
if [ -d "$cache_parent" ]; then
    parent_mode="$(stat -L -c %a -- "$cache_parent")"
    if [ $(( 8#$parent_mode & 8#022 )) -ne 0 ]; then
        echo "render-nginx.sh: the verify cache's parent $cache_parent is group/other-writable (mode $parent_mode):" \
             "another local user could plant cache entries there; use a root-owned runtime dir (VERIFY_CACHE_DIR)" >&2
        exit 1
    fi
fi

# The HTTP verify door (optional; nginx connects only when a location uses it): its socket beside
# AUTH_SOCKET unless given; its micro-cache is a zone of its own (proxy_cache cannot share the
# FastCGI zone) in a sibling directory of the FastCGI one, on or off with it.
if [ -n "${AUTH_SOCKET:-}" ]; then
    AUTH_VERIFY_HTTP_SOCKET="${AUTH_VERIFY_HTTP_SOCKET:-$(dirname -- "$AUTH_SOCKET")/authgate-verify-http.sock}"
fi
VERIFY_HTTP_CACHE_DIR="$CACHE_DIR-http"
if [ "${VERIFY_CACHE_ZONE:-}" = off ]; then VERIFY_HTTP_CACHE_ZONE=off; else VERIFY_HTTP_CACHE_ZONE=authgate_verify_http; fi

# sed script: one s|@NAME@|value|g per variable, value escaped for sed's replacement side.
# nginx cannot raise its fd limit above the hard limit (no CAP_SYS_RESOURCE in containers).
if [ -z "${NOFILE:-}" ]; then
    hard="$(ulimit -Hn)"
    if [ "$hard" = unlimited ] || [ "$hard" -ge 65536 ]; then NOFILE=65536; else NOFILE="$hard"; fi
fi

script=""
for name in "${names[@]}"; do
    value="${!name:?render-nginx.sh: $name is not set}"
    case "$value" in
        *[[:cntrl:]]* | *\;* | *\"* | *\'* | *\{* | *\}* | *' '*)
            echo "render-nginx.sh: $name contains characters that do not belong in an nginx path/value: '$value'" >&2
            exit 1 ;;
    esac
    escaped="$(printf '%s' "$value" | sed -e 's/[\\|&]/\\&/g')"
    script+="s|@${name}@|${escaped}|g;"
done

script+="s|@METRICS_ALLOW@|${metrics_allow}|g;"

snippet_dir="$out/snippets"
[ "$snippets_only" -eq 1 ] && snippet_dir="$out"
mkdir -p "$snippet_dir"
render() { # src dst
    sed -e "$script" "$1" > "$2.tmp"
    if grep -n '@[A-Z_][A-Z_]*@' "$2.tmp" >&2; then
        echo "render-nginx.sh: unreplaced placeholder in $1" >&2
        exit 1
    fi
    mv -f "$2.tmp" "$2"
}
[ "$snippets_only" -eq 1 ] || render "$root/nginx/authgate.conf.template" "$out/nginx.conf"
for f in "$root"/nginx/snippets/*.conf; do
    render "$f" "$snippet_dir/$(basename "$f")"
done
