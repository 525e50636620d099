#!/bin/bash
# start.sh - a mesh of N mimamorid on one machine, each in its own network
# namespace, with the real Masakari API in another, for the integration
# tests and tools/bench host.  Nothing is added to the root namespace:
#
#   netns PREFIX-hub   bridge br0 (the LAN, SUBNET.0/24), one veth per host
#   netns PREFIX-api   masakari-api (noauth, ENGINE=none) on SUBNET.254:MASAKARI_PORT
#   netns PREFIX-nI    mimamorid of member NAME_PREFIX I (I = 1..N) on SUBNET.I
# PREFIX is NS_PREFIX-RUNID, RUNID the run id of RUN_OWNER (run-id.sh: its pid
# and start time), so that two runs never share a name and a later run can
# tell whether the run that made a namespace is gone.  Interfaces, addresses
# and ports live inside the run's namespaces only: runs cannot collide there.
#
# Each daemon: [mesh] on tls+tcp://SUBNET.I:MESH_PORT with this run's CA and a
# certificate whose CN is its host name, the members file of all N, [fencing]
# method command = BASE/nodes/NAME/fence (tests/harness/mesh/fence.sh: appends
# "START END ACTOR TARGET RC" to BASE/fence.log), libvirt at a socket that does
# not exist (the daemon retries quietly), its own control socket
# BASE/nodes/NAME/control.sock and state dir BASE/nodes/NAME/state.  All hosts
# are registered in one Masakari segment; an SQLite trigger records when each
# notification was stored (table mesh_stored, unix seconds, millisecond clock:
# Masakari's created_at has whole seconds).
#
# Env knobs [defaults]:
#   BASE [${TMPDIR:-/tmp}/mimamori-mesh-$(id -un)]  state; pass the same BASE
#                 to stop.sh, node-ctl.sh, fault.sh, api.sh, query.py
#   N [5]  NAME_PREFIX [mesh-n]  NS_PREFIX [mimesh]  SUBNET [10.77.9]
#   RUN_OWNER [$PPID, the caller]  the process whose life is the run's: its
#                 namespaces count as stale once it is gone (quickstart --keep: 1)
#   MIMAMORID [build/daemon/mimamorid]  MIMAMORICTL [build/tools/mimamorictl]
#   MESH [1]        0: [mesh] enabled = false (plumbing without the mesh)
#   MESH_PORT [7947]  MASAKARI_PORT [15868]  SEGMENT [mesh-segment]
#   PROBE [pidfd]   [probe] mode (ebpf: every daemon loads its own probe, and
#                   sees every exit on the machine)
#   ISOLATE [1]     each daemon in its own PID namespace with its own /proc, so
#                   that (with PROBE=pidfd) it watches only its own processes:
#                   pacemaker-remoted is always watched, and one dying anywhere
#                   else on the machine (another test) would otherwise be
#                   reported by every daemon as its own PROCESS failure
#   METRICS [0]     1: [metrics] listen = SUBNET.I:9877 (inside its namespace)
#   FENCE_TIMEOUT [20]  [fencing] timeout
#   CRM_MON []      [pacemaker] crm_mon for every node: a path, or a command
#                   (with blanks; {name} and {i} replaced) written as a script
#                   BASE/nodes/NAME/crm_mon; empty: interval = 0 (not run).
#                   The daemon runs it without capabilities, inside its own
#                   PID namespace: see tests/harness/pacemaker/crm-mon-proxy.py
#   CRM_MON_INTERVAL [1]
#   MASAKARI [1]    0: no Masakari (endpoint_override still points at it)
#   MASAKARI_ENGINE [none]  fake: masakari-engine too, polling the DB every
#                   second (a PROCESS STOPPED puts the host on maintenance,
#                   as in production: drill_test.sh)
#   DAEMONS [1]     0: write everything, start no daemon (node-ctl.sh start)
#   WAIT_ALIVE [30] seconds to wait until every daemon sees all N alive
#                   (MESH=1); 0: do not wait
#   STALE [refuse]  clean: namespaces NS_PREFIX-RUNID-* whose RUN_OWNER is
#                   gone (provably: that pid with that start time no longer
#                   runs) are emptied (their processes killed) and deleted;
#                   refuse: stop with an error naming them.  A live run's
#                   namespaces are never touched.
#   VERBOSE [0]     1: mimamorid -v (debug log in BASE/nodes/NAME/daemon.log)
# Writes BASE/env.sh (MESH_*, MASAKARI_URL ...) and prints it.  A failed start
# stops what was started.  Needs root, iproute2 (ip, nsenter from util-linux),
# openssl, curl, the Masakari packages (tools/deps); iptables for fault.sh.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/common.sh"

N=${N:-5}
NAME_PREFIX=${NAME_PREFIX:-mesh-n}
NS_PREFIX=${NS_PREFIX:-mimesh}
SUBNET=${SUBNET:-10.77.9}
MIMAMORID=${MIMAMORID:-$MESH_REPO/build/daemon/mimamorid}
MIMAMORICTL=${MIMAMORICTL:-$MESH_REPO/build/tools/mimamorictl}
MESH=${MESH:-1}
MESH_PORT=${MESH_PORT:-7947}
MASAKARI_PORT=${MASAKARI_PORT:-15868}
SEGMENT=${SEGMENT:-mesh-segment}
PROBE=${PROBE:-pidfd}
METRICS=${METRICS:-0}
FENCE_TIMEOUT=${FENCE_TIMEOUT:-20}
CRM_MON=${CRM_MON:-}
CRM_MON_INTERVAL=${CRM_MON_INTERVAL:-1}
MASAKARI=${MASAKARI:-1}
MASAKARI_ENGINE=${MASAKARI_ENGINE:-none}
DAEMONS=${DAEMONS:-1}
WAIT_ALIVE=${WAIT_ALIVE:-30}
STALE=${STALE:-refuse}
RUN_OWNER=${RUN_OWNER:-$PPID}
RUN_ID=$(run_id "$RUN_OWNER") || mesh_die "RUN_OWNER=$RUN_OWNER: no such process"
NSP=$NS_PREFIX-$RUN_ID
HUB=$NSP-hub API_NS=$NSP-api API_IP=$SUBNET.254

[ "$(id -u)" = 0 ] || mesh_die "must run as root"
for c in ip nsenter openssl curl; do command -v "$c" > /dev/null || mesh_die "missing $c (tools/deps)"; done
[ -x "$MIMAMORID" ] || mesh_die "no mimamorid at $MIMAMORID (MIMAMORID=...)"
[ -x "$MIMAMORICTL" ] || mesh_die "no mimamorictl at $MIMAMORICTL (MIMAMORICTL=...)"
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 200 ] || mesh_die "N must be 1..200"
[[ $NS_PREFIX =~ ^[a-z][a-z0-9]{0,15}$ ]] || mesh_die "NS_PREFIX: 1-16 of [a-z0-9], a letter first"

# ------------------------------------------------------------------ earlier runs
mkdir -p "$BASE" && BASE=$(cd "$BASE" && pwd)
if [ -f "$BASE/nodes.list" ]; then
    mesh_log "previous run found in $BASE, stopping it"
    BASE=$BASE "$MESH_HARNESS/stop.sh" >&2 || true
fi
mine=$(ip netns list | awk '{print $1}' | grep -E "^$NSP-(hub|api|n[0-9]+)$" || true)
[ -z "$mine" ] || mesh_die "namespaces of this owner's run exist (pid $RUN_OWNER, still running): $(echo $mine) (stop.sh with its BASE)"
stale=""
for ns in $(ip netns list | awk '{print $1}' | grep -E "^$NS_PREFIX-[0-9a-f]+x[0-9a-f]+-(hub|api|n[0-9]+)$" || true); do
    id=${ns#"$NS_PREFIX-"}; id=${id%-*}
    run_id_alive "$id" || stale="$stale $ns"
done
if [ -n "$stale" ]; then
    [ "$STALE" = clean ] || mesh_die "namespaces of an earlier run whose owner is gone exist:$stale (stop.sh with its BASE, or STALE=clean)"
    mesh_log "removing namespaces of runs whose owner is gone:$stale"
    NAMESPACES="$stale" "$MESH_HARNESS/stop.sh" --namespaces-only >&2 || true
fi
rm -rf "$BASE/nodes" "$BASE/certs" "$BASE/masakari" "$BASE/fence.log" "$BASE/env.sh" "$BASE"/fence.{rc,delay}
mkdir -p "$BASE/nodes" "$BASE/certs"

STARTED=0
on_exit() {
    local rc=$?
    [ "$STARTED" = 1 ] && return 0
    mesh_log "start failed (rc=$rc): stopping what was started; logs in $BASE"
    BASE=$BASE "$MESH_HARNESS/stop.sh" >&2 || true
    exit $(( rc == 0 ? 1 : rc ))
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ network
: > "$BASE/nodes.list"
for i in $(seq 1 "$N"); do
    echo "$NAME_PREFIX$i $SUBNET.$i $NSP-n$i v$i" >> "$BASE/nodes.list"
done
ip netns add "$HUB"
ip -n "$HUB" link set lo up
ip -n "$HUB" link add br0 type bridge
ip -n "$HUB" link set br0 up
plug() { # NETNS HUB_VETH IP  (the veth is created inside the hub: nothing in the root namespace)
    ip netns add "$1"
    ip -n "$1" link set lo up
    ip -n "$HUB" link add "$2" type veth peer name eth0 netns "$1"
    ip -n "$HUB" link set "$2" master br0 up
    ip -n "$1" addr add "$3/24" dev eth0
    ip -n "$1" link set eth0 up
}
plug "$API_NS" vapi "$API_IP"
while read -r name ip ns veth; do plug "$ns" "$veth" "$ip"; done < "$BASE/nodes.list"
mesh_log "network: $N hosts + Masakari on bridge br0 in $HUB ($SUBNET.0/24)"

# ------------------------------------------------------------------ certificates, members
# shellcheck disable=SC2046
"$MESH_HARNESS/mkcerts.sh" "$BASE/certs" $(mesh_names) > /dev/null
while read -r name ip ns veth; do
    printf '%-16s tls+tcp://%s:%s\n' "$name" "$ip" "$MESH_PORT"
done < "$BASE/nodes.list" > "$BASE/members"

# ------------------------------------------------------------------ Masakari
MASAKARI_URL=http://$API_IP:$MASAKARI_PORT/v1
if [ "$MASAKARI" = 1 ]; then
    mesh_nsx "$API_NS" env BASE="$BASE/masakari" LISTEN_HOST="$API_IP" MASAKARI_PORT="$MASAKARI_PORT" \
        MODE=noauth ENGINE="$MASAKARI_ENGINE" ENGINE_POLL=1 DEDUP_WINDOW=0 "$MESH_REPO/tests/harness/masakari/start.sh" > /dev/null ||
        mesh_die "Masakari did not start (logs in $BASE/masakari/log)"
    # shellcheck disable=SC2046
    mesh_nsx "$API_NS" env BASE="$BASE/masakari" "$MESH_REPO/tests/harness/masakari/add-host.sh" \
        "$SEGMENT" $(mesh_names) > "$BASE/segment.uuid" 2> "$BASE/add-host.log" ||
        mesh_die "step 'register the hosts' failed (log: $BASE/add-host.log: $(tail -n 3 "$BASE/add-host.log" | tr '\n' ' '))"
    $PY - "$BASE/masakari/data/masakari.sqlite" <<'PYEOF'
import sqlite3, sys
with sqlite3.connect(sys.argv[1], timeout=30) as c:
    c.executescript("""
        CREATE TABLE IF NOT EXISTS mesh_stored (uuid TEXT, host_uuid TEXT, type TEXT, payload TEXT, unix REAL);
        CREATE TRIGGER IF NOT EXISTS mesh_stored_at AFTER INSERT ON notifications BEGIN
          INSERT INTO mesh_stored VALUES (NEW.notification_uuid, NEW.source_host_uuid, NEW.type,
            NEW.payload, (julianday('now') - 2440587.5) * 86400.0);
        END;""")
PYEOF
    mesh_log "Masakari (noauth) at $MASAKARI_URL in $API_NS, $N hosts in segment $SEGMENT"
fi

# ------------------------------------------------------------------ per-node files
i=0
while read -r name ip ns veth; do
    i=$((i + 1))
    d=$BASE/nodes/$name
    mkdir -p "$d/state"
    printf '#!/bin/sh\n# [fencing] command of %s: log the fence, exit as BASE/fence.rc says\nexec %q %q %q "$@"\n' \
        "$name" "$MESH_HARNESS/fence.sh" "$BASE" "$name" > "$d/fence"
    chmod 755 "$d/fence"
    crm=""
    if [ -n "$CRM_MON" ]; then
        if [[ $CRM_MON == *"{"* || $CRM_MON == *" "* ]]; then
            t=${CRM_MON//\{name\}/$name}; t=${t//\{i\}/$i}
            printf '#!/bin/sh\n# [pacemaker] crm_mon of %s\nexec %s "$@"\n' "$name" "$t" > "$d/crm_mon"
            chmod 755 "$d/crm_mon"; crm=$d/crm_mon
        else
            crm=$CRM_MON
        fi
    fi
    {
        printf '# written by tests/harness/mesh/start.sh\n'
        printf '[node]\nhostname = %s\nstate_dir = %s\n' "$name" "$d/state"
        printf '[masakari]\nendpoint_override = %s\ntimeout = 5\n' "$MASAKARI_URL"
        printf '[instance]\nlibvirt_uri = qemu:///system?socket=%s\n' "$d/no-libvirt.sock"
        printf '[probe]\nmode = %s\n' "$PROBE"
        printf '[control]\nsocket = %s\n' "$d/control.sock"
        printf '[metrics]\nlisten = %s\n' "$([ "$METRICS" = 1 ] && echo "$ip:9877")"
        printf '[mesh]\nenabled = %s\nlisten = tls+tcp://%s:%s\n' "$([ "$MESH" = 1 ] && echo true || echo false)" "$ip" "$MESH_PORT"
        printf 'members_file = %s\nca_file = %s\ncert_file = %s\n' "$BASE/members" "$BASE/certs/ca.crt" "$BASE/certs/$name.pem"
        printf '[fencing]\nmethod = command\ncommand = %s\ntimeout = %s\n' "$d/fence" "$FENCE_TIMEOUT"
        if [ -n "$crm" ]; then printf '[pacemaker]\ncrm_mon = %s\ninterval = %s\n' "$crm" "$CRM_MON_INTERVAL"
        else printf '[pacemaker]\ninterval = 0\n'; fi
    } > "$d/mimamori.conf"
    "$MIMAMORID" --check-config --config "$d/mimamori.conf" > "$d/check-config.out" 2>&1 ||
        mesh_die "config of $name rejected: $(cat "$d/check-config.out")"
done < "$BASE/nodes.list"

cat > "$BASE/env.sh" <<EOF
# written by tests/harness/mesh/start.sh; . this file
export MESH_BASE=$(printf %q "$BASE") MESH_N=$N MESH_ENABLED=$MESH
export MESH_NAMES="$(echo $(mesh_names))"
export MESH_NS_PREFIX=$NSP MESH_RUN_ID=$RUN_ID MESH_HUB_NS=$HUB MESH_API_NS=$API_NS MESH_API_IP=$API_IP MESH_SUBNET=$SUBNET
export MESH_PORT=$MESH_PORT MESH_METRICS=$METRICS MESH_SEGMENT=$SEGMENT MESH_VERBOSE=${VERBOSE:-0} MESH_ISOLATE=${ISOLATE:-1}
export MESH_MIMAMORID=$(printf %q "$MIMAMORID") MESH_MIMAMORICTL=$(printf %q "$MIMAMORICTL")
export MESH_MASAKARI_BASE=$(printf %q "$BASE/masakari") MESH_MASAKARI_URL=$MASAKARI_URL
export MESH_MASAKARI_DB=$(printf %q "$BASE/masakari/data/masakari.sqlite")
export MESH_FENCE_LOG=$(printf %q "$BASE/fence.log")
EOF
: > "$BASE/fence.log"

# ------------------------------------------------------------------ daemons
if [ "$DAEMONS" = 1 ]; then
    for name in $(mesh_names); do BASE=$BASE "$MESH_HARNESS/node-ctl.sh" "$name" start --no-wait; done
    for name in $(mesh_names); do BASE=$BASE "$MESH_HARNESS/node-ctl.sh" "$name" wait-ready 30 ||
        mesh_die "mimamorid of $name did not come up (BASE/nodes/$name/daemon.log)"; done
    mesh_log "$N daemons up (mesh: $([ "$MESH" = 1 ] && echo on || echo off))"
    if [ "$MESH" = 1 ] && [ "$WAIT_ALIVE" != 0 ]; then
        BASE=$BASE $PY "$MESH_HARNESS/query.py" wait-alive "$WAIT_ALIVE" ||
            mesh_die "the daemons do not all see each other alive within ${WAIT_ALIVE}s"
        mesh_log "every daemon sees all $N members alive"
    fi
fi
STARTED=1
cat "$BASE/env.sh"
