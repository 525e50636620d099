#!/bin/bash
# node-ctl.sh NAME ACTION [ARGS] - one member of the mesh of start.sh (same BASE)
#   start [--no-wait]  start its mimamorid (in its network namespace, own
#                      session, and with ISOLATE=1 its own PID namespace; pid
#                      in BASE/nodes/NAME/daemon.pid, output appended to
#                      daemon.log, "UNIX_TIME STATUS" appended to daemon.exit
#                      when it exits) and wait until its control socket answers
#   wait-ready [S]     wait up to S [30] s until its control socket answers
#   stop               SIGCONT + SIGTERM, SIGKILL after GRACE [10] s
#   kill               SIGKILL (no wait)
#   poweroff           power loss: its link cut (veth down on the bridge side),
#                      then SIGKILL; prints the unix time of the cut (s.us)
#   poweron            link back up, daemon started again (as start)
#   cut | uncut        link down / up only
#   pause | resume     SIGSTOP / SIGCONT
#   pid                its daemon's pid (exit 1: not running)
#   ctl ARGS...        mimamorictl --socket BASE/nodes/NAME/control.sock ARGS...
#   exec CMD...        CMD inside NAME's network namespace
set -uo pipefail
. "$(dirname "$(readlink -f "$0")")/common.sh"
[ $# -ge 2 ] || { sed -n '2,18s/^# \{0,1\}//p' "$0" >&2; exit 2; }
mesh_load
NAME=$1 ACTION=$2; shift 2
NS=$(mesh_ns "$NAME") || mesh_die "no member $NAME in $BASE/nodes.list"
D=$BASE/nodes/$NAME
GRACE=${GRACE:-10}

ready() { "$MESH_MIMAMORICTL" --socket "$D/control.sock" --timeout 1000 status > /dev/null 2>&1; }
wait_ready() { # S
    local end=$(( ${EPOCHREALTIME/./} + ${1:-30} * 1000000 ))
    while (( ${EPOCHREALTIME/./} < end )); do
        ready && return 0
        mesh_daemon_pid "$NAME" > /dev/null || { mesh_log "$NAME: mimamorid exited (see $D/daemon.log)"; return 1; }
        sleep 0.1
    done
    mesh_log "$NAME: control socket does not answer after ${1:-30}s"; return 1; }
# Appends "UNIX_TIME STATUS" to daemon.exit when the daemon started last
# exits (STATUS: its exit code, 128+N when killed by signal N): the tests
# read how each daemon ended.
exited() { echo "$EPOCHREALTIME $?" >> "$D/daemon.exit"; }
start() {
    local p v=()
    p=$(mesh_daemon_pid "$NAME") && mesh_die "$NAME: mimamorid already running (pid $p)"
    [ "${MESH_VERBOSE:-0}" = 1 ] && v=(-v)
    printf '=== %s start\n' "$(date -u +%FT%T.%6N)" >> "$D/daemon.log"
    if [ "${MESH_ISOLATE:-1}" = 1 ]; then
        # own PID namespace (+ its /proc): the daemon sees only its own
        # processes, not the pacemaker-remoted of other tests on the machine
        # (unshare --fork exits with the daemon's status, or dies of its signal)
        ( setsid nsenter --net="/run/netns/$NS" -- unshare --pid --fork --mount-proc --kill-child -- \
            "$MESH_MIMAMORID" "${v[@]}" --config "$D/mimamori.conf" >> "$D/daemon.log" 2>&1 < /dev/null
          exited ) > /dev/null 2>&1 < /dev/null &
        local w=$! t c="" u
        for ((t = 0; t < 100; t++)); do
            u=$(pgrep -P "$w" 2>/dev/null | head -1)
            c=$([ -n "$u" ] && pgrep -P "$u" 2>/dev/null | head -1)
            [ -n "$c" ] && mesh_ours "$c" "$D/mimamori.conf" && break
            c=""; sleep 0.02
        done
        [ -n "$c" ] || { kill -KILL ${u:-} "$w" 2>/dev/null; mesh_die "$NAME: mimamorid did not start under unshare, or exited at once (see $D/daemon.log)"; }
        echo "$c" > "$D/daemon.pid"
    else
        ( setsid nsenter --net="/run/netns/$NS" -- "$MESH_MIMAMORID" "${v[@]}" --config "$D/mimamori.conf" \
            >> "$D/daemon.log" 2>&1 < /dev/null
          exited ) > /dev/null 2>&1 < /dev/null &
        local w=$! t c=""
        for ((t = 0; t < 100; t++)); do
            c=$(pgrep -P "$w" 2>/dev/null | head -1)
            [ -n "$c" ] && mesh_ours "$c" "$D/mimamori.conf" && break
            c=""; sleep 0.02
        done
        [ -n "$c" ] || mesh_die "$NAME: mimamorid did not start, or exited at once (see $D/daemon.log)"
        echo "$c" > "$D/daemon.pid"
    fi
    [ "${1:-}" = --no-wait ] || wait_ready 30; }
link() { ip -n "$MESH_HUB_NS" link set "$(mesh_veth "$NAME")" "$1"; }
sig() { local p; p=$(mesh_daemon_pid "$NAME") || mesh_die "$NAME: mimamorid not running"; kill "-$1" "$p"; }

case $ACTION in
start) start "${1:-}" ;;
wait-ready) wait_ready "${1:-30}" ;;
stop)
    p=$(mesh_daemon_pid "$NAME") || exit 0
    kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null
    for ((t = 0; t < GRACE * 20; t++)); do mesh_alive "$p" || exit 0; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null; mesh_log "$NAME: killed -9 after ${GRACE}s" ;;
kill) sig KILL ;;
poweroff)
    p=$(mesh_daemon_pid "$NAME") || mesh_die "$NAME: mimamorid not running"
    t=$EPOCHREALTIME
    link down; kill -KILL "$p"
    echo "$t" ;;
poweron) link up; start "${1:-}" ;;
cut) link down ;;
uncut) link up ;;
pause) sig STOP ;;
resume) sig CONT ;;
pid) mesh_daemon_pid "$NAME" ;;
ctl) exec "$MESH_MIMAMORICTL" --socket "$D/control.sock" "$@" ;;
exec) exec nsenter --net="/run/netns/$NS" -- "$@" ;;
*) mesh_die "unknown action $ACTION" ;;
esac
