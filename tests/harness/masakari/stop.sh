#!/bin/bash
# stop.sh - stop what start.sh started (same BASE), strictly by the PIDs
# recorded in $BASE/run/*.pid, each checked against its command line first so a
# recycled PID is never touched.  All get SIGTERM at once (and their direct
# children: masakari-api's worker, uwsgi's workers), SIGKILL after GRACE seconds.
# Safe to run twice or after a failed start.
#   --purge   also delete $BASE (state, logs)
#   BASE [$MASAKARI_BASE (set by env.sh), else ${TMPDIR:-/tmp}/mimamori-masakari-$(id -un)]
#   GRACE [10]
BASE=${BASE:-${MASAKARI_BASE:-${TMPDIR:-/tmp}/mimamori-masakari-$(id -un)}}
GRACE=${GRACE:-10}
RUN=$BASE/run

# alive = exists and is not a zombie (PID 1 here reaps orphans only every ~2 s,
# and kill -0 succeeds on a zombie)
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$s" ] && [[ $s != Z* ]]; }
ours() { [ -n "$2" ] && tr '\0' ' ' < "/proc/$2/cmdline" 2>/dev/null | grep -q -- "$1"; }  # pattern pid

NAMES=() PIDS=()
push() { case " ${PIDS[*]} " in *" $2 "*) ;; *) NAMES+=("$1") PIDS+=("$2") ;; esac; }
add() { # name cmdline-pattern [pidfile]
    local f=${3:-$RUN/$1.pid} p k
    [ -f "$f" ] || return 0
    p=$(cat "$f" 2>/dev/null)
    if ours "$2" "$p" && alive "$p"; then
        push "$1" "$p"
        for k in $(pgrep -P "$p" 2>/dev/null); do push "$1-child" "$k"; done
    fi
    rm -f "$f"
}
add masakari-api 'masakari-compat.py api'
add masakari-engine 'masakari-compat.py engine'
add nova-stub nova-stub.py
add keystone uwsgi       # keystone-uwsgi.sh, which execs uwsgi-core
# the Erlang VM: SIGTERM is a clean RabbitMQ shutdown (faster than rabbitmqctl stop);
# its helpers (erl_child_setup, inet_gethost) exit with it
add rabbitmq-beam beam "$RUN/rabbitmq-beam.pid"
add rabbitmq rabbitmq-server
add epmd epmd            # only recorded when start.sh started epmd itself

for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
for ((t = 0; t < GRACE * 20; t++)); do
    left=0
    for p in "${PIDS[@]}"; do alive "$p" && left=1 && break; done
    [ $left = 0 ] && break
    sleep 0.05
done
for i in "${!PIDS[@]}"; do
    if alive "${PIDS[i]}"; then kill -KILL "${PIDS[i]}" 2>/dev/null; echo "killed -9 ${NAMES[i]} (${PIDS[i]})"
    else echo "stopped ${NAMES[i]} (${PIDS[i]})"; fi
done
if [ "${1:-}" = --purge ]; then rm -rf "$BASE"; echo "purged $BASE"; fi
exit 0
