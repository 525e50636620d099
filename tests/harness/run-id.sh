# shellcheck shell=bash
# tests/harness/run-id.sh - per-run names and free ports, so that two runs on
# one machine neither collide nor clean up each other.  Sourced by lib.sh,
# mesh/common.sh, pacemaker/lib/env.sh and masakari/start.sh (one copy of
# each helper).
#
#   run_id [PID]        the run id of process PID [$$]: "<pid>x<start>" in hex,
#                       <start> its start time (clock ticks since boot), so a
#                       reused PID gives another id.  At most 17 characters.
#   run_id_alive ID     exit 0 when the process that ID names still runs (same
#                       PID, same start time): the run is not provably gone
#   free_port           a TCP port of 127.0.0.1 that is free now (bound, then
#                       released), picked at random in 20000-31999: below the
#                       kernel's ephemeral range, so no outgoing connection
#                       takes it meanwhile.
#                       Pick it just before starting what binds it.
[ -n "${_MIMAMORI_RUN_ID_SH:-}" ] && return 0
_MIMAMORI_RUN_ID_SH=1

# /proc/PID/stat field 22 (starttime); the comm in field 2 may hold blanks
# and parentheses, so count the fields after its last ')'.
_run_start_ticks() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }; set -- $s; [ -n "${20:-}" ] && echo "${20}"; }
run_id() {
    local pid=${1:-$$} st
    st=$(_run_start_ticks "$pid") || { echo "run_id: no process $pid" >&2; return 1; }
    printf '%xx%x\n' "$pid" "$st"; }
run_id_alive() {
    local id=$1 pid st
    [[ $id =~ ^([0-9a-f]+)x([0-9a-f]+)$ ]] || return 1
    pid=$((16#${BASH_REMATCH[1]})) st=$((16#${BASH_REMATCH[2]}))
    [ "$(_run_start_ticks "$pid")" = "$st" ]; }
free_port() {
    /usr/bin/python3 -c 'import random, socket, sys
for _ in range(200):
    p = random.randrange(20000, 32000)
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", p))
    except OSError:
        continue
    print(p)
    sys.exit(0)
sys.exit("free_port: no free port in 20000-31999")'; }
