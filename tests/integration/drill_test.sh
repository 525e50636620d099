#!/bin/bash
# The seed's own drill, end to end (issue 10, item 8): on a compute node of a
# Pacemaker cluster with STONITH, kill -9 of nova-compute and of
# pacemaker-remoted. Pacemaker fences the node; the operator expects Masakari
# to evacuate its guests.
#   drill_test.sh MIMAMORID MIMAMORICTL
# Real components: 3 mimamorid in network + PID namespaces (tests/harness/mesh/,
# [process] watched = nova-compute, their own fence command taking 2 s, as an
# IPMI fence takes seconds), the real Masakari API *and engine*
# (MASAKARI_ENGINE=fake: the engine polls the DB every second, so a PROCESS
# STOPPED puts the host on maintenance as in production and Masakari then
# refuses the host's COMPUTE_HOST with 409), a real Pacemaker cluster (c1 +
# one pacemaker-remoted per host, inside that host's namespaces,
# tests/harness/pacemaker/) with STONITH enabled: its fence device
# (fence_mimamori_test mode=command) powers the host off the mesh harness's
# way (node-ctl.sh poweroff: link cut, then the host's PID namespace killed).
# The victim's nova-compute is a stand-in (a sleep named nova-compute) in the
# host's namespaces.
#  1. set-up: mesh alive, cluster with the 3 remotes online and the fence
#     device registered, the daemon of the victim watching its nova-compute
#  2. kill -9 nova-compute + pacemaker-remoted: Pacemaker fences the host;
#     Masakari stores exactly one notification, COMPUTE_HOST host_status
#     NORMAL for the victim, after the mesh's fence, queued by the node that
#     fenced (incident.py, judged after a backup's takeover window); stored
#     after Pacemaker's fence too; no PROCESS stored; the notifier logged it
#     accepted with HTTP 202; no daemon logged a 409
#  3. a host already on maintenance in Masakari (set through its API), its
#     nova-compute killed: the peer's PROCESS gets 409 "ignored as the host is
#     already under maintenance": logged as REFUSED, kept failed in the
#     outbox, mimamori_masakari_conflicts_total{reason="host_on_maintenance"}
#     counts it; never "delivered"
# Before the fix the victim posted PROCESS nova-compute at once (202), the
# engine put the host on maintenance, and the COMPUTE_HOST after the fence
# got 409 "ignored as the host is already under maintenance", logged as
# delivered: the guests were never evacuated.
# Every step has a deadline and names what hung. Env: T_DRILL_SUBNET [10.77.16].
. "$(dirname "$0")/../harness/lib.sh"
set -u

MIMAMORID=$1
MIMAMORICTL=$2
H=$HARNESS_DIR/mesh
PH=$HARNESS_DIR/pacemaker

require_root
require_cmd ip nsenter unshare openssl curl stonith_admin cibadmin crm_mon crm_attribute
[ -x "$MIMAMORID" ] || tap_bail "no mimamorid at $MIMAMORID"
[ -x "$MIMAMORICTL" ] || tap_bail "no mimamorictl at $MIMAMORICTL"
tap_plan 18

state_dir drill
export BASE=$STATE_DIR/mesh
on_cleanup "BASE=$(printf %q "$BASE") $(printf %q "$H/stop.sh") > /dev/null"

# ---- the mesh: 3 daemons watching nova-compute, Masakari with its engine
BASE=$BASE N=3 NS_PREFIX=mimd SUBNET=${T_DRILL_SUBNET:-10.77.16} STALE=clean DAEMONS=0 FENCE_TIMEOUT=5 METRICS=1 \
    MASAKARI_ENGINE=fake MIMAMORID="$MIMAMORID" MIMAMORICTL="$MIMAMORICTL" \
    timeout 180 "$H/start.sh" > "$STATE_DIR/mesh-start.log" 2>&1 ||
    tap_bail "the mesh harness did not start ($STATE_DIR/mesh-start.log): $(tail -n 3 "$STATE_DIR/mesh-start.log" | tr '\n' ' ')"
# shellcheck source=/dev/null
. "$BASE/env.sh"
NAMES=($MESH_NAMES)
V=${NAMES[2]}
for n in "${NAMES[@]}"; do
    printf '[process]\nwatched = nova-compute\n' >> "$BASE/nodes/$n/mimamori.conf"
    timeout 40 "$H/node-ctl.sh" "$n" start > /dev/null 2>&1 || tap_bail "mimamorid of $n did not start ($BASE/nodes/$n/daemon.log)"
done
echo 2 > "$BASE/fence.delay"   # the mesh's own fence takes 2 s (fence.sh)
tap_check "every daemon sees all 3 members alive" timeout 40 "$H/query.py" wait-alive 30

# ---- the cluster: c1 + one pacemaker-remoted per host, in the host's
# network namespace and in its mimamorid's PID namespace (a power-off takes
# it down with the daemon)
pidns="" netns=""
for n in $MESH_NAMES; do
    pidns="$pidns $n=$("$H/node-ctl.sh" "$n" pid)" netns="$netns $n=$(awk -v n="$n" '$1 == n { print $3 }' "$BASE/nodes.list")"
done
PCMK_ENV="BASE=$STATE_DIR/pcmk NS_PREFIX=mimdp SUBNET=$MESH_SUBNET CLUSTER_IP_OFFSET=200 SW_NS=$MESH_HUB_NS"
pcmk() { env $PCMK_ENV REMOTE_NAMES="$MESH_NAMES" REMOTE_NETNS="$netns" REMOTE_PIDNS="$pidns" "$@"; }
on_cleanup 'pcmk "$PH/stop-cluster.sh" > /dev/null'
pcmk MONITOR_INTERVAL=2s MONITOR_TIMEOUT=5s STONITH=none timeout 120 "$PH/start-cluster.sh" > /dev/null 2> "$STATE_DIR/pcmk-start.log"
rc=$?
[ $rc = 0 ] || tap_bail "the Pacemaker cluster did not start (rc=$rc$([ $rc = 124 ] && echo ': hung 120 s')$([ $rc = 3 ] && echo ': packages missing, tools/deps'); $STATE_DIR/pcmk-start.log): $(tail -n 3 "$STATE_DIR/pcmk-start.log" | tr '\n' ' ')"
PBASE=$STATE_DIR/pcmk
on_c1() { # DEADLINE_S CMD...: run on c1, bounded (cluster tools can hang)
    local d=$1; shift
    timeout "$d" env $PCMK_ENV "$PH/pcmk-exec" c1 "$@"; }
diagnostics() {
    [ "$_tap_failed" = 0 ] && return 0
    tap_diag "--- fence-agent.log" "$(cat "$PBASE/fence-agent.log" 2>/dev/null)" \
        "--- mesh fence.log" "$(cat "$BASE/fence.log" 2>/dev/null)" \
        "--- stored by Masakari" "$("$H/api.sh" stored 2>&1)" \
        "--- crm_mon" "$(on_c1 10 crm_mon -1 2>&1)"
    local n
    for n in $MESH_NAMES; do
        tap_diag "--- $n: daemon.log (notifications, mesh)" \
            "$(grep -E 'notification|Masakari|mesh: (PROCESS|COMPUTE)' "$BASE/nodes/$n/daemon.log" 2>/dev/null | tail -n 12)"
    done
}
on_cleanup diagnostics

# the power switch: the test agent on c1's /usr/sbin (an overlay in c1's
# mount namespace only), one device for the 3 hosts running POWEROFF
mkdir -p "$PBASE/agents" && cp "$PH/fence_mimamori_test" "$PBASE/agents/" ||
    tap_bail "cannot copy the test fence agent"
POWEROFF=$STATE_DIR/poweroff
# (run by c1's fencer, whose /run is private: it enters this test's mount
# and network namespaces, where /run/netns is, first)
printf '#!/bin/sh\n# the fence device'"'"'s power switch: HOST loses its power\nBASE=%q exec nsenter -t %d -m -n -- %q "$1" poweroff\n' \
    "$BASE" "$$" "$H/node-ctl.sh" > "$POWEROFF" && chmod 755 "$POWEROFF" || tap_bail "cannot write $POWEROFF"
on_c1 10 mount -t overlay overlay -o "lowerdir=$PBASE/agents:/usr/sbin" /usr/sbin ||
    tap_bail "cannot overlay the test fence agent on c1's /usr/sbin"
on_c1 20 cibadmin --create -o resources -X "<primitive id=\"fence-power\" class=\"stonith\" type=\"fence_mimamori_test\">
  <instance_attributes id=\"fence-power-ia\">
    <nvpair id=\"fence-power-hl\" name=\"pcmk_host_list\" value=\"$MESH_NAMES\"/>
    <nvpair id=\"fence-power-hc\" name=\"pcmk_host_check\" value=\"static-list\"/>
    <nvpair id=\"fence-power-mode\" name=\"mode\" value=\"command\"/>
    <nvpair id=\"fence-power-cmd\" name=\"command\" value=\"$POWEROFF\"/>
    <nvpair id=\"fence-power-sd\" name=\"state_dir\" value=\"$PBASE\"/>
  </instance_attributes></primitive>" || tap_bail "cannot add the fence device (cibadmin on c1)"
on_c1 20 crm_attribute --type crm_config --name stonith-enabled --update true ||
    tap_bail "cannot enable STONITH (crm_attribute on c1)"
online() { # HOST...: crm_mon shows each online
    local x h
    x=$(on_c1 10 crm_mon -1 --output-as=xml 2>/dev/null) || return 1
    for h; do grep -q "<node name=\"$h\"[^>]* online=\"true\"" <<< "$x" || return 1; done; }
tap_check "Pacemaker: the 3 remote hosts online, STONITH on, the fence device registered" \
    wait_for "online $MESH_NAMES && on_c1 10 stonith_admin --list-registered 2>/dev/null | grep -q fence-power" 60 0.5

# ---- a host's nova-compute (a stand-in: a sleep of that name), in its
# network and PID namespaces
mkdir -p "$STATE_DIR/bin" && cp /bin/sleep "$STATE_DIR/bin/nova-compute" || tap_bail "cannot make the stand-in"
in_host() { # PID HOST: PID lives in HOST's PID namespace
    [ "$(readlink "/proc/$1/ns/pid")" = "$(readlink "/proc/$("$H/node-ctl.sh" "$2" pid)/ns/pid")" ]; }
nova_pid() { # HOST
    local p; for p in $(pgrep -x nova-compute); do in_host "$p" "$1" && { echo "$p"; return 0; }; done; return 1; }
watching() { "$H/node-ctl.sh" "$1" ctl status 2>/dev/null | grep -Eq '^ +nova-compute +[0-9]+'; }
start_nova() { # HOST
    setsid nsenter -t "$("$H/node-ctl.sh" "$1" pid)" -p -n -- "$STATE_DIR/bin/nova-compute" 600 \
        > /dev/null 2>&1 < /dev/null &
    disown   # its death is the test's doing, not news for this shell
    tap_check "$1's mimamorid watches its nova-compute" wait_for "nova_pid $1 > /dev/null && watching $1" 20 0.2; }
start_nova "$V"
REMOTED=$(cat "$PBASE/nodes/$V/daemon-remoted.pid" 2>/dev/null)
tap_check "$V's pacemaker-remoted runs in $V's PID namespace" in_host "${REMOTED:-0}" "$V"
tap_is "$("$H/api.sh" stored | json_len .)" 0 "nothing notified before the drill"

# ---- the drill
NPID=$(nova_pid "$V") || tap_bail "the nova-compute stand-in is gone"
TK=$EPOCHREALTIME
kill -KILL "$NPID" "$REMOTED" || tap_bail "cannot kill nova-compute $NPID and pacemaker-remoted $REMOTED"
fenced_by_pacemaker() { grep -q "target=$V mode=command command exited 0" "$PBASE/fence-agent.log" 2>/dev/null; }
tap_check "Pacemaker fenced $V (its fence device powered it off) within 20 s" wait_for fenced_by_pacemaker 20 0.2
# exactly one COMPUTE_HOST for V and nothing else, after one fence by the
# mesh, by the node that fenced; judged after a backup's takeover window
out=$(timeout 120 "$H/incident.py" "$V" "$TK" 30 2>&1); rc=$?
tap_diag "$out"
tap_is "$rc" 0 "incident.py: exactly one COMPUTE_HOST (host_status NORMAL) for $V, none for any other host, after the mesh's one fence, queued by the node that fenced"
rows=$("$H/api.sh" stored)
tap_is "$(json_eval "[(r['host'], r['type']) for r in d]" <<< "$rows")" "[[\"$V\", \"COMPUTE_HOST\"]]" \
    "Masakari stored one notification in all: COMPUTE_HOST for $V (no PROCESS: it would have put $V on maintenance)"
pcmk_fence=$(awk -v v="target=$V" '$0 ~ v && /command exited 0/ { print $1; exit }' "$PBASE/fence-agent.log")
tap_check "... stored after Pacemaker's fence ($(json_eval "[round(r['unix'] - $TK, 2) for r in d]" <<< "$rows") s after the kill; Pacemaker's fence done at $("$PY" -c "print(round(${pcmk_fence:-0} - $TK, 2))") s)" \
    "$PY" -c "import sys, json; r = json.loads(sys.argv[1]); sys.exit(not (len(r) == 1 and r[0]['unix'] > float(sys.argv[2] or 9e99)))" "$rows" "$pcmk_fence"
tap_check "the notifier logged it accepted with HTTP 202" \
    grep -hq "accepted by Masakari (HTTP 202)" $(for n in "${NAMES[@]:0:2}"; do echo "$BASE/nodes/$n/daemon.log"; done)
tap_is "$(cat "$BASE"/nodes/*/daemon.log | grep -c 'HTTP 409')" 0 "no daemon was answered 409"
tap_is "$(grep -cE 'notifying Masakari|by Masakari \(HTTP' "$BASE/nodes/$V/daemon.log")" 0 \
    "$V itself sent Masakari nothing (its nova-compute's death went to the peers, not a PROCESS from there)"

# ---- a host already on maintenance in Masakari: a PROCESS for it is refused
# (409 "... is ignored as the host is already under maintenance"). That is an
# error (log, outbox failed, metric by reason), never "delivered". The host
# stays up, so its nova-compute's death is posted by a peer after
# process_grace (10 s).
A=${NAMES[0]} B=${NAMES[1]}
SEG=$(cat "$BASE/segment.uuid")
api() { "$H/api.sh" exec curl -sf --max-time 20 -H 'Content-Type: application/json' "$@"; }
A_UUID=$(api "$MESH_MASAKARI_URL/segments/$SEG/hosts" | json_eval "[h['uuid'] for h in d['hosts'] if h['name'] == '$A'][0]") ||
    tap_bail "cannot find $A in Masakari's segment"
api -X PUT -d '{"host": {"on_maintenance": true}}' "$MESH_MASAKARI_URL/segments/$SEG/hosts/$A_UUID" > /dev/null ||
    tap_bail "cannot put $A on maintenance in Masakari"
start_nova "$A"
s0=$("$H/api.sh" stored | json_len .)
kill -KILL "$(nova_pid "$A")" || tap_bail "cannot kill $A's nova-compute"
refused() { grep -q "REFUSED by Masakari: the host is on maintenance" "$BASE/nodes/$B/daemon.log"; }
tap_check "$A on maintenance, its nova-compute killed: $B's PROCESS refused with 409, logged as an error (within 30 s)" \
    wait_for refused 30 0.2
tap_check "... kept in $B's outbox as failed, with the reason" \
    wait_for "'$H/node-ctl.sh' $B ctl outbox --json | grep -q '409 host on maintenance'" 5 0.2
tap_check "... counted: mimamori_masakari_conflicts_total{reason=\"host_on_maintenance\"} 1 on $B" \
    wait_for "'$H/node-ctl.sh' $B exec curl -sf --max-time 5 http://$(awk -v n="$B" '$1 == n { print $2 }' "$BASE/nodes.list"):9877/metrics | grep -qx 'mimamori_masakari_conflicts_total{reason=\"host_on_maintenance\"} 1'" 5 0.2
tap_is "$(grep -c "by Masakari (HTTP 409)\|delivered (HTTP 409)" "$BASE/nodes/$B/daemon.log")" 0 "... never logged as delivered or duplicate"
tap_is "$("$H/api.sh" stored | json_len .)" "$s0" "... and Masakari stored nothing"
tap_done
