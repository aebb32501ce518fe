#!/usr/bin/env bash
# Renders the Apache httpd and lighttpd configs (apache/, lighttpd/) into OUTDIR/apache and
# OUTDIR/lighttpd, from environment variables (tests and make bench use it; the shipped
# apache/authgate*.conf and lighttpd/authgate*.conf are the parts to copy into your own config):
#   AUTH_SOCKET (required)  AUTH_TCP (127.0.0.1:PORT, the responder's AUTH_LISTEN_TCP; Apache only)
#   APACHE_PORT LIGHTTPD_PORT (either may be empty: that server's config is not rendered)
#   DOCROOT (plain.txt lives there)  CGI_DIR (the echo app)  LOGDIR  SERVER_LOGDIR (lighttpd: writable by SERVER_USER)
#   SERVER_USER / SERVER_GROUP (default www-data)  PROFILE (2signal)  PROCESSES (Apache prefork children, 4)
#   CGI_BIN (authgate-fcgi for /auth-cgi)  CGI_DB CGI_KEYS CGI_SCRYPT CGI_MIN_PASSWORD (its settings)
set -eu
out="${1:?usage: render-servers.sh OUTDIR}"
root="$(cd "$(dirname "$0")/.." && pwd)"
: "${AUTH_SOCKET:?}"
SERVER_USER="${SERVER_USER:-www-data}"
SERVER_GROUP="${SERVER_GROUP:-$(id -gn "$SERVER_USER")}"
PROFILE="${PROFILE:-2signal}"
CGI_BIN="${CGI_BIN:-/nonexistent/authgate-fcgi}"
sub() { # file -> stdout, every @NAME@ replaced; a placeholder left over is an error
    sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@AUTH_SOCKET@|$AUTH_SOCKET|g" \
        -e "s|@AUTH_TCP@|${AUTH_TCP:-127.0.0.1:0}|g" -e "s|@AUTHGATE_DIR@|$dir|g" \
        -e "s|@DOCROOT@|${DOCROOT:?}|g" -e "s|@CGI_DIR@|${CGI_DIR:?}|g" -e "s|@LOGDIR@|${LOGDIR:?}|g" \
        -e "s|@SERVER_LOGDIR@|${SERVER_LOGDIR:-$LOGDIR}|g" -e "s|@SERVER_USER@|$SERVER_USER|g" \
        -e "s|@SERVER_GROUP@|$SERVER_GROUP|g" -e "s|@PROFILE@|$PROFILE|g" -e "s|@PROCESSES@|${PROCESSES:-4}|g" \
        -e "s|@CGI_BIN@|$CGI_BIN|g" -e "s|@CGI_BIN_DIR@|$(dirname "$CGI_BIN")|g" \
        -e "s|@CGI_DB@|${CGI_DB:-}|g" -e "s|@CGI_KEYS@|${CGI_KEYS:-}|g" \
        -e "s|@CGI_SCRYPT@|${CGI_SCRYPT:-ln=15,r=8,p=3}|g" -e "s|@CGI_MIN_PASSWORD@|${CGI_MIN_PASSWORD:-12}|g" "$1"
}
render() { # template-dir files...
    local src="$1" f; shift
    mkdir -p "$dir"
    for f in "$@"; do sub "$root/$src/$f" > "$dir/${f%.template}"; done
    sub "$root/$src/$src-demo.conf.template" > "$dir/$main"
    if grep -n '@[A-Z_][A-Z_]*@' "$dir"/*.conf >&2; then echo "render-servers: unreplaced placeholder" >&2; exit 1; fi
}
if [ -n "${APACHE_PORT:-}" ]; then
    dir="$out/apache"; port="$APACHE_PORT"; main=httpd.conf
    render apache authgate.conf authgate-protect.conf authgate-errors-2signal.conf authgate-errors-get2dial.conf
fi
if [ -n "${LIGHTTPD_PORT:-}" ]; then
    dir="$out/lighttpd"; port="$LIGHTTPD_PORT"; main=lighttpd.conf
    render lighttpd authgate.conf authgate-underscores.conf
fi
