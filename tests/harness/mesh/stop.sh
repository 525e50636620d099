#!/bin/bash
# stop.sh - tear down what start.sh built (same BASE): the daemons (SIGCONT +
# SIGTERM by recorded pid, checked against its command line; SIGKILL after
# GRACE [10] s), Masakari (its stop.sh), any process still inside one of the
# run's namespaces (fence scripts, crm_mon wrappers...), then the namespaces
# themselves (their iptables rules and veths go with them).  Safe to run twice
# or after a failed start.
#   --purge            also delete BASE
#   --namespaces-only  only the last two steps, for the namespaces listed in
#                      NAMESPACES (start.sh STALE=clean)
set -u
. "$(dirname "$(readlink -f "$0")")/common.sh"
GRACE=${GRACE:-10}

ns_procs_kill() { # NETNS...: every process inside, TERM then KILL
    local ns p pids=() t
    for ns; do for p in $(ip netns pids "$ns" 2>/dev/null); do pids+=("$p"); done; done
    [ ${#pids[@]} = 0 ] && return 0
    for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
    for ((t = 0; t < 40; t++)); do
        local left=0
        for p in "${pids[@]}"; do mesh_alive "$p" && left=1 && break; done
        [ $left = 0 ] && return 0
        sleep 0.05
    done
    for p in "${pids[@]}"; do
        mesh_alive "$p" && { echo "SIGKILL leftover $p ($(cat "/proc/$p/comm" 2>/dev/null))"; kill -KILL "$p" 2>/dev/null; }
    done
    return 0; }
ns_del() { local ns; for ns; do ip netns del "$ns" 2>/dev/null && echo "deleted netns $ns"; done; return 0; }

if [ "${1:-}" = --namespaces-only ]; then
    # shellcheck disable=SC2086
    ns_procs_kill ${NAMESPACES:-}; ns_del ${NAMESPACES:-}
    exit 0
fi

[ -d "$BASE" ] || exit 0
BASE=$(cd "$BASE" && pwd)
NAMESPACES=""
if [ -f "$BASE/nodes.list" ]; then
    pids=() names=()
    while read -r name ip ns veth; do
        NAMESPACES="$NAMESPACES $ns"
        p=$(mesh_daemon_pid "$name") || continue
        kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null
        pids+=("$p") names+=("$name")
    done < "$BASE/nodes.list"
    for ((t = 0; t < GRACE * 20; t++)); do
        left=0
        for p in "${pids[@]}"; do mesh_alive "$p" && left=1 && break; done
        [ $left = 0 ] && break
        sleep 0.05
    done
    for i in "${!pids[@]}"; do
        if mesh_alive "${pids[i]}"; then kill -KILL "${pids[i]}" 2>/dev/null; echo "killed -9 mimamorid ${names[i]} (${pids[i]})"
        else echo "stopped mimamorid ${names[i]} (${pids[i]})"; fi
    done
fi
[ -d "$BASE/masakari/run" ] && BASE=$BASE/masakari "$MESH_REPO/tests/harness/masakari/stop.sh"
if [ -f "$BASE/env.sh" ]; then
    # shellcheck source=/dev/null
    . "$BASE/env.sh"
    NAMESPACES="$NAMESPACES $MESH_API_NS $MESH_HUB_NS"
elif [ -f "$BASE/nodes.list" ]; then   # start failed before env.sh: derive the names
    pfx=$(awk 'NR == 1 { sub(/-n[0-9]+$/, "", $3); print $3 }' "$BASE/nodes.list")
    [ -n "$pfx" ] && NAMESPACES="$NAMESPACES $pfx-api $pfx-hub"
fi
# shellcheck disable=SC2086
ns_procs_kill $NAMESPACES
# shellcheck disable=SC2086
ns_del $NAMESPACES
rm -f "$BASE/nodes.list"
if [ "${1:-}" = --purge ]; then rm -rf "$BASE"; echo "purged $BASE"; fi
exit 0
