#!/bin/bash
# ks-stress.sh [N] - N fresh starts of the harness's Keystone (keystone-uwsgi.sh,
# the set-up start.sh runs) on a loaded machine; after each start PAR token
# requests at once, each bounded by TMO s.  Exit 1 if any request got no
# answer: the stacks of Keystone's threads (uwsgi's tracebacker), their kernel
# wait channels and uwsgi's log are kept in the run's directory and summarised.
# Shows the deadlock keystone-wsgi.py removes (see there):
#   ks-stress.sh 20                                         -> hung 0/20
#   KEYSTONE_WSGI=/usr/bin/keystone-wsgi-public ks-stress.sh 20   -> hangs
# Env knobs: LOAD [2] busy loops (nice 0) while it runs, PAR [4], TMO [20],
#   KEYSTONE_WSGI [keystone-wsgi.py], WORK [mktemp -d under ${TMPDIR:-/tmp}]
#   (kept when something hung or KEEP=1).  Run it under the machine lock:
#   flock /tmp/mimamori-integration.lock tests/harness/masakari/ks-stress.sh
set -u
N=${1:-10} LOAD=${LOAD:-2} PAR=${PAR:-4} TMO=${TMO:-20} KEEP=${KEEP:-0}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/mimamori-ks-stress.XXXXXX")}
PY=/usr/bin/python3
sec() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}'; }
LOOPS=() KP=""
cleanup() {
    local p
    for p in "${LOOPS[@]}"; do kill "$p" 2>/dev/null; done
    [ -n "$KP" ] && stop_keystone
    BASE=$WORK/stack "$HERE/stop.sh" > /dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM
stop_keystone() { # the uwsgi master and its worker, by PID
    local w; w=$(pgrep -P "$KP")
    kill -INT "$KP" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$KP" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$KP" $w 2>/dev/null; wait "$KP" 2>/dev/null; KP=""; }

# a bootstrapped, registered Keystone (start.sh; its DB cache makes this quick)
echo "preparing Keystone in $WORK/stack" >&2
env -u KEYSTONE_WSGI BASE="$WORK/stack" MODE=keystone ENGINE=none NOVA_STUB=0 "$HERE/start.sh" > "$WORK/stack.out" 2>&1 ||
    { echo "ks-stress: start.sh failed (log: $WORK/stack.out)" >&2; tail -n 20 "$WORK/stack.out" >&2; exit 1; }
PORT=$(. "$WORK/stack/env.sh"; echo "$KS_PORT")
BASE=$WORK/stack "$HERE/stop.sh" > /dev/null 2>&1
BODY=$($PY -c 'import json; print(json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": "admin", "domain": {"id": "default"}, "password": "adminpass"}}},
    "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}))')

for ((i = 0; i < LOAD; i++)); do nice -n 0 bash -c 'while :; do :; done' & LOOPS+=($!); done
echo "wsgi=${KEYSTONE_WSGI:-$HERE/keystone-wsgi.py} load=$LOAD busy loops, $PAR token requests at once, ${TMO}s each" >&2
hung=0 lat=()
for ((r = 1; r <= N; r++)); do
    R=$WORK/run$r
    mkdir -p "$R/etc/keystone" "$R/data" "$R/log" "$R/run"
    cp -a "$WORK/stack/data/keystone" "$R/data/"
    sed "s#$WORK/stack#$R#g" "$WORK/stack/etc/keystone/keystone.conf" > "$R/etc/keystone/keystone.conf"
    t0=$EPOCHREALTIME
    setsid "$HERE/keystone-uwsgi.sh" "$PORT" "$R/etc/keystone" "$R/run" > "$R/log/keystone.out" 2>&1 < /dev/null &
    KP=$!
    up=""
    for _ in $(seq 1 1200); do   # <= 120 s
        curl -s -o /dev/null --connect-timeout 2 --max-time 5 "http://127.0.0.1:$PORT/v3" && { up=$(sec "$t0"); break; }
        kill -0 "$KP" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$up" ] || { echo "run $r: Keystone did not answer GET /v3 (log: $R/log/keystone.out)"; hung=$((hung + 1)); stop_keystone; continue; }
    pids=()
    for ((k = 1; k <= PAR; k++)); do
        curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time "$TMO" -H 'Content-Type: application/json' \
            -d "$BODY" "http://127.0.0.1:$PORT/v3/auth/tokens" > "$R/token$k" 2>&1 &
        pids+=($!)
    done
    # evidence while the requests are still waiting: at TMO - 3 s
    sleep $((TMO - 3)) & SP=$!
    while kill -0 "$SP" 2>/dev/null; do
        left=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && left=1; done
        [ $left = 0 ] && { kill "$SP" 2>/dev/null; break; }
        sleep 0.1
    done
    wait "$SP" 2>/dev/null
    left=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && left=1; done
    if [ $left = 1 ]; then
        { for tb in "$R"/run/keystone-tb*; do echo "== python stacks ($tb)"; timeout -k 1 5 uwsgi-core --connect-and-read "$tb" 2>&1; done
          for p in $KP $(pgrep -P "$KP"); do
              echo "== kernel wait channels of pid $p"
              for t in /proc/"$p"/task/*; do echo "${t##*/} $(cat "$t/comm") $(cat "$t/wchan" 2>/dev/null) $(cut -d' ' -f3 "$t/stat")"; done
          done; } > "$R/hang.txt" 2>&1
    fi
    wait "${pids[@]}"
    line="run $r: up ${up}s tokens:" bad=0
    for ((k = 1; k <= PAR; k++)); do
        read -r code t < "$R/token$k"
        line="$line $code/${t}s"
        if [ "$code" = 201 ]; then lat+=("$t"); else bad=1; fi
    done
    echo "$line"
    if [ $bad = 1 ]; then
        hung=$((hung + 1))
        echo "  evidence: $R/hang.txt, $R/log/keystone.out"
        grep -m1 'greenlet.error' "$R/log/keystone.out" | sed 's/^/  uwsgi log: /'
        grep -B1 -A3 'acquire\|_acquireLock\|pipe_mutex\|green' "$R/hang.txt" | head -20 | sed 's/^/  | /'
    fi
    stop_keystone
    [ $bad = 0 ] && rm -rf "$R"
done
printf '%s\n' "${lat[@]}" | sort -n | awk -v n="$N" -v h="$hung" '{a[NR]=$1} END {
    if (NR) printf "hung %d/%d runs; answered token requests: %d, latency p50 %.2fs max %.2fs\n", h, n, NR, a[int((NR+1)/2)], a[NR];
    else printf "hung %d/%d runs; no token request answered\n", h, n }'
[ "$hung" = 0 ] && [ "$KEEP" != 1 ] && rm -rf "$WORK"
[ "$hung" = 0 ]
