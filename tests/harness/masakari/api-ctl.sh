#!/bin/bash
# api-ctl.sh stop|start - take the masakari-api of a running stack (same BASE
# as start.sh) down and bring it back, to test delivery across a Masakari
# outage. Keystone, the engine and the databases stay up.
set -euo pipefail
BASE=${BASE:-${MASAKARI_BASE:-${TMPDIR:-/tmp}/mimamori-masakari-$(id -un)}}
HERE=$(cd "$(dirname "$0")" && pwd)
PIDFILE=$BASE/run/masakari-api.pid
PY=/usr/bin/python3
[ -f "$BASE/env.sh" ] || { echo "api-ctl.sh: no $BASE/env.sh: run start.sh first" >&2; exit 1; }
. "$BASE/env.sh"
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1; [[ $s != Z* ]]; }
case ${1:-} in
stop)
    pid=$(cat "$PIDFILE" 2>/dev/null || true)
    [ -n "$pid" ] && alive "$pid" || { echo "api-ctl.sh: masakari-api is not running" >&2; exit 0; }
    kill -TERM "$pid"
    for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.05; done
    alive "$pid" && kill -KILL "$pid"
    # the port must be free before we report the API down
    port=${MASAKARI_URL#*://*:}; port=${port%%/*}
    for _ in $(seq 1 100); do ss -Hltn "sport = :$port" | grep -q . || break; sleep 0.05; done
    echo "masakari-api stopped" >&2 ;;
start)
    pid=$(cat "$PIDFILE" 2>/dev/null || true)
    if [ -n "$pid" ] && alive "$pid"; then echo "api-ctl.sh: already running" >&2; exit 0; fi
    setsid "$PY" "$HERE/masakari-compat.py" api --config-file "$BASE/etc/masakari.conf" \
        --log-file "$BASE/log/masakari-api.log" >> "$BASE/log/masakari-api.out" 2>&1 < /dev/null &
    echo $! > "$PIDFILE"
    for _ in $(seq 1 600); do
        curl -s -o /dev/null --max-time 2 "${MASAKARI_URL%/v1*}/" && { echo "masakari-api started" >&2; exit 0; }
        sleep 0.1
    done
    echo "api-ctl.sh: step 'masakari-api restart' did not answer within 60s (log: $BASE/log/masakari-api.log)" >&2
    tail -n 15 "$BASE/log/masakari-api.log" 2>/dev/null | sed 's/^/    | /' >&2; exit 1 ;;
*)  echo "usage: api-ctl.sh stop|start" >&2; exit 2 ;;
esac
