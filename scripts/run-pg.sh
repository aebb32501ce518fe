#!/usr/bin/env bash
# make run-pg: the demo stack of `make run` (scripts/run.sh) on a PostgreSQL server of its own,
# in $VAR/pg (data, socket, log), reached only through a Unix socket (no TCP listener, so no clash
# with a system cluster on 5432). The server is initdb'd on first use, started before the stack,
# and stopped (fast shutdown) when the stack stops. AUTH_DB_URL reaches the responder, companion
# and CLI through the environment. The data stays in $VAR/pg between runs, like $VAR/authgate.db.
#
# initdb and postgres refuse to run as root: as root they run as the `postgres` account (made by
# Debian's package; `nobody` without it). When that account cannot reach $VAR (a checkout under
# /root), the server's files go to /var/lib/authgate-demo/pg-$PORT instead, and that is said.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

PORT="${PORT:-8443}"
VAR="${VAR:-./var}"
mkdir -p "$VAR/log"
VAR="$(cd "$VAR" && pwd)"
# Only names the socket file (.s.PGSQL.<port>): the server listens on no TCP port.
PG_PORT="${PG_PORT:-5432}"
PG_DB="${PG_DB:-authgate}"
PG_USER=authgate

log() { printf '[run-pg] %s\n' "$*" >&2; }
die() { printf '[run-pg] %s\n' "$*" >&2; exit 1; }

pgbin="${AUTHGATE_PG_BIN:-}"
if [ -z "$pgbin" ]; then
    for v in $(ls /usr/lib/postgresql 2>/dev/null | sort -rn); do
        if [ -x "/usr/lib/postgresql/$v/bin/initdb" ]; then pgbin="/usr/lib/postgresql/$v/bin"; break; fi
    done
fi
[ -n "$pgbin" ] && [ -x "$pgbin/initdb" ] || die "PostgreSQL server binaries not found (make deps installs postgresql)"

as_pg=()
account=""
if [ "$(id -u)" -eq 0 ]; then
    account=postgres
    id -u "$account" >/dev/null 2>&1 || account=nobody
    as_pg=(setpriv --reuid="$(id -u "$account")" --regid="$(id -g "$account")" --clear-groups --)
fi

PGHOME="$VAR/pg"
if [ -n "$account" ]; then
    mkdir -p "$PGHOME"
    if ! "${as_pg[@]}" test -x "$VAR" 2>/dev/null; then
        PGHOME="/var/lib/authgate-demo/pg-$PORT"
        log "$VAR is not reachable by the $account account: the PostgreSQL files go to $PGHOME"
        mkdir -p "$(dirname "$PGHOME")"
        chmod 0755 "$(dirname "$PGHOME")"
        mkdir -p "$PGHOME"
    fi
    chown "$account:" "$PGHOME"
else
    mkdir -p "$PGHOME"
fi
chmod 0700 "$PGHOME"
data="$PGHOME/data"
sock="$PGHOME/run"
pglog="$PGHOME/postgres.log"
"${as_pg[@]}" mkdir -p "$sock"

if [ ! -s "$data/PG_VERSION" ]; then
    log "initdb $data (superuser $PG_USER, local trust: only $(id -un) and ${account:-$(id -un)} can reach $sock)"
    "${as_pg[@]}" "$pgbin/initdb" -D "$data" -U "$PG_USER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
        --no-instructions >"$PGHOME/initdb.log" 2>&1 || { cat "$PGHOME/initdb.log" >&2; die "initdb failed"; }
fi

pg_ctl() { "${as_pg[@]}" "$pgbin/pg_ctl" -D "$data" "$@"; }
started=0
if pg_ctl status >/dev/null 2>&1; then
    log "PostgreSQL is already running on $data (left by an earlier run): using it, stopping it at the end"
else
    pg_ctl -l "$pglog" -w -t 60 -o "-k '$sock' -p $PG_PORT -c listen_addresses=''" start >/dev/null \
        || { tail -n 20 "$pglog" >&2; die "PostgreSQL did not start (log: $pglog)"; }
fi
started=1
stop_pg() {
    [ "$started" -eq 1 ] || return 0
    started=0
    log "stopping PostgreSQL"
    pg_ctl -m fast -w -t 30 stop >/dev/null 2>&1 || log "PostgreSQL did not stop cleanly (log: $pglog)"
}
# Ctrl-C reaches run.sh too (same foreground process group; pg_ctl put the postmaster in a
# session of its own): run.sh stops its processes and returns, then EXIT stops the server.
trap stop_pg EXIT
trap 'exit 143' TERM

psql_pg() { "$pgbin/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$sock" -p "$PG_PORT" -U "$PG_USER" -d postgres "$@"; }
if [ "$(psql_pg -c "SELECT count(*) FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
    psql_pg -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
    log "created database $PG_DB"
fi

export AUTH_DB_URL="postgresql:///$PG_DB?host=$sock&port=$PG_PORT&user=$PG_USER"
log "AUTH_DB_URL=$AUTH_DB_URL (server log: $pglog)"
# Not exec: the EXIT trap must stop the server after the stack.
set +e
"$root/scripts/run.sh"
rc=$?
set -e
exit "$rc"
