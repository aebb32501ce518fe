#!/usr/bin/env bash
# make run: the whole demo stack in the foreground (responder, WebSocket companion, sample
# upstream, nginx on https://127.0.0.1:$PORT). Ctrl-C / SIGTERM stops everything it started.
# Honours PORT, VAR, AUTH_API_PROFILE and every AUTH_* variable, so stacks can run side by side.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

PORT="${PORT:-8443}"
VAR="${VAR:-./var}"
mkdir -p "$VAR"
VAR="$(cd "$VAR" && pwd)"
BIN="${AUTHGATE_BIN_DIR:-$root/.build/release}"
NGINX="${NGINX:-/usr/sbin/nginx}"
NGINX_USER="${NGINX_USER:-www-data}"

log() { printf '[run] %s\n' "$*" >&2; }
loud() { printf '\n[run] !!!!!!!! %s !!!!!!!!\n\n' "$*" >&2; }

# ---- build only when needed (an up-to-date build starts in well under 10 s) ----
products=(authgate-fcgi authgate-ws authgate authgate-demo-upstream)
needs_build=0
[ -n "${AUTHGATE_BIN_DIR:-}" ] && needs_build=-1   # prebuilt binaries given: never build here
for p in "${products[@]}"; do [ -x "$BIN/$p" ] || [ "$needs_build" -eq -1 ] || needs_build=1; done
if [ "$needs_build" -eq 0 ] && [ -n "$(find Sources Package.swift -newer "$BIN/authgate-fcgi" -print -quit)" ]; then
    needs_build=1
fi
if [ "$needs_build" -eq -1 ]; then
    :
elif [ "$needs_build" -eq 1 ]; then
    log "building (release)..."
    swift build -c release
fi

# ---- state in $VAR: secrets stay root-only, the runtime dir must be reachable by nginx ----
chmod 0711 "$VAR"
mkdir -p "$VAR/log" "$VAR/tls"
chmod 0700 "$VAR/tls"

export AUTH_DB_PATH="${AUTH_DB_PATH:-$VAR/authgate.db}"
export AUTH_KEYS_FILE="${AUTH_KEYS_FILE:-$VAR/keys}"
export AUTH_API_PROFILE="${AUTH_API_PROFILE:-2signal}"

is_root=0
[ "$(id -u)" -eq 0 ] && is_root=1
group=""
if [ "$is_root" -eq 1 ]; then
    group="$(id -gn "$NGINX_USER")"
fi

reachable() { # dir: can nginx's worker user enter it?
    [ "$is_root" -eq 0 ] && return 0   # workers run as us
    runuser -u "$NGINX_USER" -- test -x "$1" 2>/dev/null
}

# Runtime dir: sockets, demo files, nginx temp files. $VAR/run when nginx's user can reach it
# (a checkout under /root cannot be), otherwise /run/authgate-$PORT.
made_rundir=""
RUNDIR="$VAR/run"
mkdir -p "$RUNDIR"
if [ "$is_root" -eq 1 ]; then chgrp "$group" "$RUNDIR"; fi
chmod 0750 "$RUNDIR"
if ! reachable "$RUNDIR"; then
    RUNDIR="/run/authgate-$PORT"
    mkdir -p "$RUNDIR"
    chgrp "$group" "$RUNDIR"
    chmod 0750 "$RUNDIR"
    made_rundir="$RUNDIR"
    log "$VAR is not reachable by nginx's user $NGINX_USER: sockets and demo files go to $RUNDIR"
fi
export AUTH_SOCKET="${AUTH_SOCKET:-$RUNDIR/authgate.sock}"
export AUTH_WS_SOCKET="${AUTH_WS_SOCKET:-$RUNDIR/authgate-ws.sock}"
if [ "$is_root" -eq 1 ]; then export AUTH_SOCKET_GROUP="${AUTH_SOCKET_GROUP:-$group}"; fi
UPSTREAM_SOCKET="$RUNDIR/demo-upstream.sock"
# TODO(companion owner): confirm the variable the companion reads for its upstream.
export AUTH_WS_UPSTREAM="${AUTH_WS_UPSTREAM:-unix:$UPSTREAM_SOCKET}"
CACHE_DIR="/dev/shm/authgate-$PORT-verify-cache"

# Key ring (mode 0600): one random 32-byte key if none exists.
if [ ! -s "$AUTH_KEYS_FILE" ]; then
    if ! "$BIN/authgate" keys rotate >/dev/null 2>&1 || [ ! -s "$AUTH_KEYS_FILE" ]; then
        # TODO: drop this fallback once `authgate keys rotate` (the CLI) exists everywhere.
        (umask 077; printf '%s:%s\n' "k$(date +%Y%m%d)$(openssl rand -hex 4)" \
            "$(openssl rand 32 | basenc --base64url | tr -d '=\n')" > "$AUTH_KEYS_FILE")
    fi
    chmod 0600 "$AUTH_KEYS_FILE"
    log "created key ring $AUTH_KEYS_FILE"
fi

# Self-signed certificate for localhost and 127.0.0.1.
CERT="$VAR/tls/cert.pem"
CERT_KEY="$VAR/tls/key.pem"
if [ ! -s "$CERT" ] || [ ! -s "$CERT_KEY" ]; then
    (umask 077; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
        -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$CERT_KEY" -out "$CERT" 2>/dev/null)
    chmod 0644 "$CERT"
    log "created self-signed certificate $CERT"
fi

# Demo files served by nginx itself.
mkdir -p "$RUNDIR/demo"
printf 'Hello from Authgate: a plain static file.\n' > "$RUNDIR/demo/plain.txt"
chmod 0755 "$RUNDIR/demo"
chmod 0644 "$RUNDIR/demo/plain.txt"

# nginx config.
cache_seconds="${AUTH_VERIFY_CACHE_SECONDS:-1}"
cache_zone=authgate_verify
if [ "$cache_seconds" = 0 ]; then cache_zone=off; cache_seconds=1; fi
PORT="$PORT" VAR="$VAR" RUNDIR="$RUNDIR" LOGDIR="$VAR/log" NGINX_USER="$NGINX_USER" \
NGINX_WORKERS="${NGINX_WORKERS:-auto}" AUTH_SOCKET="$AUTH_SOCKET" AUTH_WS_SOCKET="$AUTH_WS_SOCKET" \
UPSTREAM_SOCKET="$UPSTREAM_SOCKET" CACHE_DIR="$CACHE_DIR" VERIFY_CACHE_ZONE="$cache_zone" \
VERIFY_CACHE_SECONDS="$cache_seconds" CERT="$CERT" CERT_KEY="$CERT_KEY" DEMO_ROOT="$RUNDIR/demo" \
DEMO_FASTCGI_SOCKET="$RUNDIR/demo-fastcgi.sock" AUTH_API_PROFILE="$AUTH_API_PROFILE" LOGIN_RATE="${AUTH_LOGIN_RATE:-10r/s}" \
LOGIN_BURST="${AUTH_LOGIN_BURST:-20}" \
    scripts/render-nginx.sh "$VAR/nginx"
"$NGINX" -t -q -p "$VAR/nginx" -c "$VAR/nginx/nginx.conf" -e "$VAR/log/nginx-error.log"

# ---- processes ----
declare -A pid_of=()      # name -> pid
declare -A name_of=()     # pid -> name
declare -A starts=()      # name -> recent quick restarts
declare -A started_at=()  # name -> $SECONDS at the last start
stopping=0

start() { # name command...
    local name="$1"; shift
    "$@" >>"$VAR/log/$name.log" 2>&1 &
    pid_of[$name]=$!
    name_of[$!]="$name"
    started_at[$name]=$SECONDS
}
start_named() {
    case "$1" in
        authgate-fcgi) start authgate-fcgi "$BIN/authgate-fcgi" ;;
        authgate-ws) start authgate-ws "$BIN/authgate-ws" ;;
        demo-upstream) start demo-upstream "$BIN/authgate-demo-upstream" --socket "$UPSTREAM_SOCKET" \
                           --fastcgi-socket "$RUNDIR/demo-fastcgi.sock" ;;
        nginx) start nginx "$NGINX" -p "$VAR/nginx" -c "$VAR/nginx/nginx.conf" -e "$VAR/log/nginx-error.log" ;;
    esac
}

stop_all() {
    stopping=1
    trap '' INT TERM
    log "stopping..."
    local pid
    for pid in "${!name_of[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
        local alive=0
        for pid in "${!name_of[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" -eq 0 ] && break
        sleep 0.1
    done
    for pid in "${!name_of[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf -- "${CACHE_DIR:?}"
    if [ -n "$made_rundir" ]; then rm -rf -- "${made_rundir:?}"; fi
    log "stopped"
    exit 0
}
trap stop_all INT TERM

start_named authgate-fcgi
start_named authgate-ws
start_named demo-upstream
start_named nginx

# Ready when health answers through nginx.
ready=0
for _ in $(seq 100); do
    code="$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CERT" "https://127.0.0.1:$PORT/api/v1/health" || true)"
    if [ "$code" = 200 ]; then ready=1; break; fi
    sleep 0.1
done
if [ "$ready" -eq 0 ]; then
    loud "health did not answer 200 within 10 s (see $VAR/log/)"
fi

# ---- DEMO DATA HOOK (lead): create the demo tenant and users via the CLI here, e.g.
#   "$BIN/authgate" init
#   "$BIN/authgate" tenant create --name Demo --domain demo.local
#   printf '%s' "$password" | "$BIN/authgate" user create --tenant demo.local --email ... --role admin --password-stdin
# and set demo_credentials to the lines to print below.
demo_credentials="(demo users: not created yet)"

cat >&2 <<EOF

  Authgate is running:   https://127.0.0.1:$PORT/   (profile $AUTH_API_PROFILE)
  Health:                curl --cacert $CERT https://localhost:$PORT/api/v1/health
  Clients that verify:   export SSL_CERT_FILE=$CERT CURL_CA_BUNDLE=$CERT
  Demo paths:            /demo/plain /demo/gated /demo/echo /demo/ingest /demo/admin /ws/agent
  $demo_credentials
  State: $VAR   Runtime: $RUNDIR   Logs: $VAR/log/
  Ctrl-C stops everything.

EOF

# ---- supervise: restart what crashes, loudly; give up on something that cannot stay up ----
while true; do
    exited=""
    status=0
    wait -n -p exited || status=$?
    [ "$stopping" -eq 1 ] && break
    [ -z "$exited" ] && continue
    name="${name_of[$exited]:-}"
    unset "name_of[$exited]"
    [ -z "$name" ] && continue
    loud "$name (pid $exited) exited with status $status; restarting (log: $VAR/log/$name.log)"
    if [ $((SECONDS - ${started_at[$name]:-0})) -lt 5 ]; then
        starts[$name]=$(( ${starts[$name]:-0} + 1 ))
    else
        starts[$name]=0
    fi
    if [ "${starts[$name]}" -ge 5 ]; then
        loud "$name keeps crashing at start; not restarting it (see $VAR/log/$name.log)"
        if [ "$name" = nginx ] || [ "$name" = authgate-fcgi ]; then stop_all; fi
        continue
    fi
    sleep 0.2
    start_named "$name"
done
