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
export AUTH_SECRETS_FILE="${AUTH_SECRETS_FILE:-$VAR/secrets}"
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
# The keep-alive HTTP verify door (/demo/gated-http, /demo/echo-http; README "Choosing a door").
export AUTH_VERIFY_HTTP_SOCKET="${AUTH_VERIFY_HTTP_SOCKET:-$RUNDIR/authgate-verify-http.sock}"
export AUTH_WS_METRICS_SOCKET="${AUTH_WS_METRICS_SOCKET:-$RUNDIR/authgate-ws-metrics.sock}"
if [ "$is_root" -eq 1 ]; then export AUTH_SOCKET_GROUP="${AUTH_SOCKET_GROUP:-$group}"; fi
UPSTREAM_SOCKET="$RUNDIR/demo-upstream.sock"
# TODO(companion owner): confirm the variable the companion reads for its upstream.
export AUTH_WS_UPSTREAM="${AUTH_WS_UPSTREAM:-unix:$UPSTREAM_SOCKET}"
# Verify micro-cache: it holds bearer tokens in clear, so never in a world-writable place like
# /dev/shm. As root: /run/authgate-$PORT (tmpfs, root-owned, 0750, nginx's group), the cache in it
# 0700 owned by nginx's user; otherwise in our own runtime dir. An existing cache dir with another
# owner or any group/other permission (someone made it first) refuses the start.
if [ "$is_root" -eq 1 ]; then
    CACHE_PARENT="/run/authgate-$PORT"
    CACHE_USER="$NGINX_USER"
else
    CACHE_PARENT="$RUNDIR"
    CACHE_USER="$(id -un)"
fi
made_cache_parent=""
[ -e "$CACHE_PARENT" ] || made_cache_parent="$CACHE_PARENT"
CACHE_DIR="$CACHE_PARENT/verify-cache"
if ! "$root/scripts/prepare-cache-dir.sh" "$CACHE_DIR" "$CACHE_USER" "$group"; then
    loud "not starting: the verify cache dir $CACHE_DIR is not safe (see the message above)"
    exit 1
fi

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

# Secrets file (mode 0600): the AES-256-GCM key that seals TOTP seeds at rest (second factor).
if [ ! -s "$AUTH_SECRETS_FILE" ]; then
    "$BIN/authgate" secrets rotate >/dev/null || loud "cannot create the secrets file $AUTH_SECRETS_FILE"
    log "created secrets file $AUTH_SECRETS_FILE"
fi

# The demo's settings as a config file, for the CLI and `authgate doctor` (which recognises this
# layout by $VAR/demo-credentials and $VAR/nginx/nginx.conf): AUTH_CONFIG=$VAR/authgate.conf.
(
    umask 077
    {
        echo "# make run demo (scripts/run.sh): AUTH_CONFIG=$VAR/authgate.conf authgate doctor"
        for k in AUTH_DB_PATH AUTH_KEYS_FILE AUTH_SECRETS_FILE AUTH_SOCKET AUTH_WS_SOCKET AUTH_WS_METRICS_SOCKET AUTH_API_PROFILE \
                 AUTH_WS_UPSTREAM AUTH_SOCKET_GROUP; do
            if [ -n "${!k:-}" ]; then printf '%s=%s\n' "$k" "${!k}"; fi
        done
        printf 'AUTH_NGINX_USER=%s\n' "$NGINX_USER"
    } > "$VAR/authgate.conf.tmp"
    mv -f "$VAR/authgate.conf.tmp" "$VAR/authgate.conf"
)

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
NGINX_WORKERS="${NGINX_WORKERS:-auto}" AUTH_SOCKET="$AUTH_SOCKET" AUTH_WS_SOCKET="$AUTH_WS_SOCKET" AUTH_WS_METRICS_SOCKET="$AUTH_WS_METRICS_SOCKET" \
UPSTREAM_SOCKET="$UPSTREAM_SOCKET" VERIFY_CACHE_DIR="$CACHE_DIR" VERIFY_CACHE_ZONE="$cache_zone" \
VERIFY_CACHE_SECONDS="$cache_seconds" CERT="$CERT" CERT_KEY="$CERT_KEY" DEMO_ROOT="$RUNDIR/demo" \
DEMO_FASTCGI_SOCKET="$RUNDIR/demo-fastcgi.sock" AUTH_API_PROFILE="$AUTH_API_PROFILE" LOGIN_RATE="${AUTH_LOGIN_RATE:-10r/s}" \
LOGIN_BURST="${AUTH_LOGIN_BURST:-20}" PASSWORD_RATE="${AUTH_PASSWORD_RATE:-1r/s}" \
PASSWORD_BURST="${AUTH_PASSWORD_BURST:-5}" \
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
        # --hold-socket: the socket outlives a crashed responder (restarted by the holder), so
        # nginx's connections wait in its backlog instead of turning into 502/500 answers.
        authgate-fcgi) start authgate-fcgi "$BIN/authgate-fcgi" --hold-socket ;;
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
    if [ -n "$made_cache_parent" ] && [ -d "$made_cache_parent" ]; then rmdir -- "$made_cache_parent" 2>/dev/null || true; fi
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

# ---- DEMO DATA HOOK (lead): demo tenant, users, a project with an API key and a node, all made
# with the CLI. Passwords and keys are generated once and kept in $VAR/demo-credentials (0600),
# so re-runs reuse them; anything missing from the database (e.g. a deleted DB) is made again.
CREDS="$VAR/demo-credentials"
ag() { "$BIN/authgate" "$@"; }
declare -A demo_password=()
DEMO_PROJECT_ID="" DEMO_API_KEY="" DEMO_NODE_ID="" DEMO_NODE_KEY=""
if [ -s "$CREDS" ]; then
    while IFS='=' read -r k v; do
        case "$k" in
            password:*) demo_password[${k#password:}]="$v" ;;
            DEMO_PROJECT_ID|DEMO_API_KEY|DEMO_NODE_ID|DEMO_NODE_KEY) printf -v "$k" '%s' "$v" ;;
        esac
    done < "$CREDS"
fi
new_password() { printf 'demo-%s' "$(openssl rand -base64 18 | tr -d '/+=\n')"; }
demo_users=("alice@demo.local demo.local agent" "sam@demo.local demo.local supervisor"
            "admin@demo.local demo.local admin" "root@platform.local platform.local platform_admin")
demo_ok=1
ag init >/dev/null || demo_ok=0
has() { [[ "$1" == *"\"$2\""* ]]; }   # has JSON-TEXT VALUE (no grep -q in a pipefail pipeline)
has "$(ag tenant list --json)" demo.local || ag tenant create --name "Demo" --domain demo.local >/dev/null || demo_ok=0
for entry in "${demo_users[@]}"; do
    read -r email tenant role <<<"$entry"
    [ -n "${demo_password[$email]:-}" ] || demo_password[$email]="$(new_password)"
    if ! has "$(ag user list --tenant "$tenant" --json)" "$email"; then
        printf '%s\n' "${demo_password[$email]}" \
            | ag user create --tenant "$tenant" --email "$email" --role "$role" --password-stdin >/dev/null || demo_ok=0
    fi
done
if [ -z "$DEMO_PROJECT_ID" ] || ! has "$(ag project list --tenant demo.local --json)" "$DEMO_PROJECT_ID"; then
    DEMO_PROJECT_ID="$(ag project create --tenant demo.local --name "Demo project")" || demo_ok=0
    DEMO_API_KEY=""
fi
if [ -z "$DEMO_API_KEY" ] && [ -n "$DEMO_PROJECT_ID" ]; then
    DEMO_API_KEY="$(ag apikey create --project "$DEMO_PROJECT_ID" --name demo | sed -n 2p)" || demo_ok=0
fi
if [ -z "$DEMO_NODE_ID" ] || ! has "$(ag node list --tenant demo.local --json)" "$DEMO_NODE_ID"; then
    node_out="$(ag node create --tenant demo.local --name demo-edge)" || demo_ok=0
    DEMO_NODE_ID="$(sed -n 1p <<<"$node_out")" DEMO_NODE_KEY="$(sed -n 2p <<<"$node_out")"
fi
(
    umask 077
    {
        echo "# Authgate demo credentials (make run). Delete this file to get new ones."
        for entry in "${demo_users[@]}"; do read -r email _ <<<"$entry"; echo "password:$email=${demo_password[$email]}"; done
        echo "DEMO_PROJECT_ID=$DEMO_PROJECT_ID"
        echo "DEMO_API_KEY=$DEMO_API_KEY"
        echo "DEMO_NODE_ID=$DEMO_NODE_ID"
        echo "DEMO_NODE_KEY=$DEMO_NODE_KEY"
    } > "$CREDS.tmp"
    chmod 0600 "$CREDS.tmp"
    mv -f "$CREDS.tmp" "$CREDS"
)
[ "$demo_ok" -eq 1 ] || loud "creating the demo data failed (see the messages above)"
url="https://localhost:$PORT"
token_field=access_token
[ "$AUTH_API_PROFILE" = get2dial ] && token_field=token
demo_credentials="Demo tenant:           demo.local (platform tenant: platform.local)
  Demo users (email / password / role), kept in $CREDS:"
for entry in "${demo_users[@]}"; do
    read -r email _ role <<<"$entry"
    demo_credentials+="
      $email  ${demo_password[$email]}  ($role)"
done
demo_credentials+="
  Project:               $DEMO_PROJECT_ID
  API key:               $DEMO_API_KEY   (/demo/ingest)
  Node key:              $DEMO_NODE_KEY   (/demo/node, /api/v1/nodes/me)
  Try:
    export CURL_CA_BUNDLE=$CERT
    TOKEN=\$(curl -s $url/api/v1/auth/login -H 'Content-Type: application/json' \\
        -d '{\"email\":\"alice@demo.local\",\"password\":\"${demo_password[alice@demo.local]}\"}' | jq -r .data.$token_field)
    curl -s $url/api/v1/auth/me -H \"Authorization: Bearer \$TOKEN\"
    curl -s $url/demo/echo -H \"Authorization: Bearer \$TOKEN\"
    curl -s $url/demo/ingest -H 'Authorization: Bearer $DEMO_API_KEY'
    curl -s $url/api/v1/nodes/me -H 'Authorization: Bearer $DEMO_NODE_KEY'"

cat >&2 <<EOF

  Authgate is running:   https://127.0.0.1:$PORT/   (profile $AUTH_API_PROFILE)
  Health:                curl --cacert $CERT https://localhost:$PORT/api/v1/health
  Clients that verify:   export SSL_CERT_FILE=$CERT CURL_CA_BUNDLE=$CERT
  Demo paths:            /demo/plain /demo/gated /demo/echo /demo/ingest /demo/admin /demo/node
                         /demo/fcgi-echo /ws/agent /ws/supervisor
  Second factor:         $url/demo/mfa   (level 2 required: enrol at $url/auth/mfa, then sign in with the code)
  Browser demo:          $url/demo/dashboard/   (sign in as a demo user below; cookie session)
  $demo_credentials
  State: $VAR   Runtime: $RUNDIR   Logs: $VAR/log/
  Check the layout:      AUTH_CONFIG=$VAR/authgate.conf $BIN/authgate doctor
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
