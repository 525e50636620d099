#!/bin/bash
# Live migration between two real libvirtd (issue 10, item 6): a healthy guest
# must not be restarted because a migration failed.  Two instances of the
# libvirt harness on this machine stand for two hosts (distinct host_uuid),
# one mimamorid watches each ("src", "dst"), the real Masakari API stores what
# they send.  The guest (guests/migrate.xml: 64 MiB, RAMDATA_MIB of random
# bytes in its RAM) migrates with `virsh migrate --live --p2p --bandwidth 2`,
# so the stream lasts ~RAMDATA_MIB/2 s: a window to break it in.
#   1. the migration stream cut (ss -K) mid-way: the destination's qemu exits
#      1 ("load of migration failed"), libvirt says STOPPED/FAILED there; the
#      guest keeps running on the source: no notification, the destination
#      records guest_migration_failed (event + metric);
#   1b. the same with the destination's mimamorid started while the stream
#      runs (it learns of the incoming migration from libvirt's state, not
#      from the STARTED/MIGRATED event it missed);
#   2. the same with [instance] forward_all_events = true on both;
#   3. the source's qemu SIGKILLed during a migration: a real failure,
#      notified once, by the source; the destination's side is no failure;
#   4. a completed migration, then the guest's qemu SIGKILLed on the
#      destination: notified once, by the destination.
#   migration_test.sh MIMAMORID
. "$(dirname "$0")/../harness/lib.sh"
set -u

MIMAMORID=$1
SRC_HOST=compute-src DST_HOST=compute-dst
RAMDATA_MIB=${RAMDATA_MIB:-12}
BANDWIDTH=2          # MiB/s: the migration lasts ~RAMDATA_MIB/BANDWIDTH s
CUT_AFTER=${CUT_AFTER:-2}   # s of streaming before the cut

require_root
require_cmd virsh ss curl
[ -x "$MIMAMORID" ] || tap_bail "no mimamorid at $MIMAMORID"
tap_plan 22

state_dir migration
masakari_start "$STATE_DIR/masakari" MODE=noauth ENGINE=none DEDUP_WINDOW=0 ||
    tap_bail "Masakari did not start"
for h in "$SRC_HOST" "$DST_HOST"; do
    BASE=$STATE_DIR/masakari "$MASAKARI_HARNESS/add-host.sh" seg-test "$h" > /dev/null ||
        tap_bail "cannot add $h to a segment"
done
VM1=$(cat /proc/sys/kernel/random/uuid)
# two "hosts": the guest is defined on the source only (p2p migration sends
# its XML); the destination's paths (kernel, initrd, serial log) are the
# source's, visible from both mount namespaces
libvirt_start "$STATE_DIR/src" GUESTS="vm1:migrate:$VM1" RAMDATA_MIB="$RAMDATA_MIB" \
    HOST_UUID=5a1e0000-0000-4000-8000-00000000000a || tap_bail "the source's libvirtd did not start"
SRC_URI=$LIBVIRT_DEFAULT_URI SRC_PIDDIR=$LIBVIRT_QEMU_PIDDIR
libvirt_start "$STATE_DIR/dst" GUESTS="" \
    HOST_UUID=5a1e0000-0000-4000-8000-00000000000b || tap_bail "the destination's libvirtd did not start"
DST_URI=$LIBVIRT_DEFAULT_URI DST_PIDDIR=$LIBVIRT_QEMU_PIDDIR
unset LIBVIRT_DEFAULT_URI
# what the source's libvirtd dials (p2p): the destination's socket
DST_DCONN="qemu+unix:///system?socket=$STATE_DIR/dst/run-libvirt/libvirt-sock"

# ---- two mimamorid
declare -A DPID CONF
write_conf() { # NAME HOST URI FORWARD_ALL
    mkdir -p "$STATE_DIR/d-$1"
    CONF[$1]=$STATE_DIR/d-$1/mimamori.conf
    {
        printf '[node]\nhostname = %s\nstate_dir = %s\n' "$2" "$STATE_DIR/d-$1"
        printf '[masakari]\nendpoint_override = %s\n' "$MASAKARI_URL"
        printf '[instance]\nlibvirt_uri = %s\nforward_all_events = %s\n' "$3" "$4"
        printf '[probe]\nmode = ebpf\n'
        printf '[control]\nsocket = %s/control.sock\n' "$STATE_DIR/d-$1"
        printf '[metrics]\nlisten = 127.0.0.1:%s\n' "$(free_port)"
    } > "${CONF[$1]}"
}
start_daemon() { # NAME
    rm -f "$STATE_DIR/d-$1/status.json"
    "$MIMAMORID" --config "${CONF[$1]}" >> "$STATE_DIR/d-$1/mimamorid.log" 2>&1 &
    DPID[$1]=$!
    wait_for "[ \"\$(json_get libvirt.connected '$STATE_DIR/d-$1/status.json')\" = true ]" 20
}
stop_daemon() { # NAME
    [ -n "${DPID[$1]:-}" ] || return 0
    kill -TERM "${DPID[$1]}" 2>/dev/null
    wait "${DPID[$1]}" 2>/dev/null
    DAEMON_RC=$?
    DPID[$1]=""
}
start_daemons() { # FORWARD_ALL
    write_conf src "$SRC_HOST" "$SRC_URI" "$1"
    write_conf dst "$DST_HOST" "$DST_URI" "$1"
    start_daemon src || tap_bail "step 'start mimamorid src' failed (log: $STATE_DIR/d-src/mimamorid.log)"
    start_daemon dst || tap_bail "step 'start mimamorid dst' failed (log: $STATE_DIR/d-dst/mimamorid.log)"
}
on_cleanup 'stop_daemon src; stop_daemon dst'
for d in src dst; do
    on_cleanup "tap_diag '--- mimamorid $d log (tail)'; tail -n 25 '$STATE_DIR/d-$d/mimamorid.log' 2>/dev/null | while IFS= read -r l; do tap_diag \"\$l\"; done"
done

# ---- observations
notifications() { BASE=$STATE_DIR/masakari "$MASAKARI_HARNESS/list-notifications.sh"; }
count_vm() { # -> VM notifications Masakari stored for vm1
    notifications | json_eval "sum(1 for n in d['notifications'] if n['type'] == 'VM' and n['payload'].get('instance_uuid') == '$VM1')"
}
events_count() { # NAME PYEXPR -> lines of that daemon's event log matching
    "$PY" - "$STATE_DIR/d-$1/events.jsonl" "$2" <<'PYEOF'
import json, sys
n = 0
try:
    lines = open(sys.argv[1]).readlines()
except FileNotFoundError:
    lines = []
for line in lines:
    e = json.loads(line)
    n += bool(eval(sys.argv[2], {"e": e}))
print(n)
PYEOF
}
verdicts() { # NAME VERDICT -> how many for vm1
    events_count "$1" "e.get('verdict') == '$2' and e.get('instance_uuid') == '$VM1'"
}
libvirt_said() { # NAME EVENT DETAIL -> that daemon's facts of that lifecycle event for vm1
    events_count "$1" "e.get('fact', {}).get('kind') == 'libvirt_lifecycle' and e['fact']['uuid'] == '$VM1' and e['fact']['event'] == $2 and e['fact']['detail'] == $3"
}
metric() { # NAME SAMPLE -> its value on that daemon's /metrics
    local port; port=$(sed -n 's/^listen = 127.0.0.1://p' "${CONF[$1]}")
    curl -s --max-time 5 "http://127.0.0.1:$port/metrics" | awk -v s="$2" '$1 == s { print $2 }'
}
domstate() { # URI -> vm1's state there ("" when not there)
    timeout 10 virsh -q -c "$1" domstate vm1 2>/dev/null | head -1
}
qemu_pid_in() { cat "$1/vm1.pid" 2>/dev/null; }
mapped_by() { # NAME PID -> that daemon maps PID
    json_eval "$2 in d['guest_pids']" "$STATE_DIR/d-$1/status.json" | grep -qx true
}
# virDomainEventType / details
STARTED=2 RESUMED=4 STOPPED=5 STARTED_MIGRATED=1 RESUMED_MIGRATED=1 STOPPED_FAILED=5

# ---- one migration of vm1 from the source to the destination, in the
# background; MIG_PID, MIG_LOG
PORT=$(free_port)
MIG_N=0
migrate_start() { # BANDWIDTH_MIB_S
    MIG_N=$((MIG_N + 1)); MIG_LOG=$STATE_DIR/migrate-$MIG_N.log
    timeout 90 virsh -c "$SRC_URI" migrate --live --p2p --verbose --bandwidth "$1" vm1 "$DST_DCONN" \
        --migrateuri "tcp://127.0.0.1:$PORT" > "$MIG_LOG" 2>&1 &
    MIG_PID=$!
}
migrate_wait() { # -> virsh's exit status
    local rc; wait "$MIG_PID"; rc=$?; MIG_PID=""; return $rc
}
stream_up() { ss -tnH state established "( dport = :$PORT )" | grep -q .; }
source_running() { [ "$(domstate "$SRC_URI")" = running ]; }
start_vm1_on_source() {
    [ -n "$(domstate "$SRC_URI")" ] && [ "$(domstate "$SRC_URI")" != "shut off" ] && return 0
    timeout 30 virsh -q -c "$SRC_URI" start vm1 > /dev/null || return 1
    wait_for "mapped_by src \$(qemu_pid_in '$SRC_PIDDIR')" 10
}
cut_migration() { # CASE: wait for the stream, CUT_AFTER s of it, then cut it
    wait_for stream_up 30 0.05 ||
        tap_bail "step '$1: migration stream up' did not happen within 30s ($MIG_LOG)"
    sleep "$CUT_AFTER"
    stream_up || tap_bail "step '$1: cut': the migration ended within ${CUT_AFTER}s; raise RAMDATA_MIB ($MIG_LOG)"
    ss -K "( sport = :$PORT or dport = :$PORT )" > /dev/null 2>&1
}

T_ALL=$EPOCHREALTIME
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# ==== 1. the stream cut mid-way, default settings
start_daemons false
start_vm1_on_source || tap_bail "step 'start vm1 on the source' failed or took over 40s"
SRC_QEMU=$(qemu_pid_in "$SRC_PIDDIR")
T=$EPOCHREALTIME
migrate_start $BANDWIDTH
cut_migration "case 1"
migrate_wait && tap_bail "step 'case 1': virsh migrate succeeded although its stream was cut ($MIG_LOG)"
wait_for "[ \$(libvirt_said dst $STOPPED $STOPPED_FAILED) -ge 1 ]" 15 ||
    tap_bail "step 'case 1': the destination's libvirt never reported STOPPED/FAILED"
tap_diag "case 1: migration cut after ${CUT_AFTER}s of streaming; $(tail -c 200 "$MIG_LOG" | tr '\r\n' '  ')"
tap_check "the destination's qemu failed to load the migration (its qemu log)" \
    grep -q "load of migration failed" "$STATE_DIR/dst/logs/qemu/vm1.log"
tap_check "the guest keeps running on the source, on the same qemu" \
    eval 'source_running && [ "$(qemu_pid_in "$SRC_PIDDIR")" = "$SRC_QEMU" ]'
tap_is "$(verdicts dst guest_migration_failed)" 1 \
    "the destination records guest_migration_failed (once)"
tap_is "$(metric dst 'mimamori_verdicts_total{verdict="guest_migration_failed"}')" 1 \
    "... counted in mimamori_verdicts_total{verdict=\"guest_migration_failed\"}"
sleep 1   # a late word would come within libvirt's ~0.2 s
tap_is "$(count_vm)" 0 "no notification for the healthy guest (Masakari stores none)"
tap_diag "case 1 took $(elapsed "$T") s"

# ==== 1b. the destination's daemon started in the middle of the migration
stop_daemon dst
SRC_QEMU=$(qemu_pid_in "$SRC_PIDDIR")
T=$EPOCHREALTIME
MF0=$(verdicts dst guest_migration_failed)   # the event log outlives a restart
migrate_start $BANDWIDTH
wait_for stream_up 30 0.05 || tap_bail "step 'case 1b: migration stream up' did not happen within 30s ($MIG_LOG)"
start_daemon dst || tap_bail "step 'case 1b: start mimamorid dst' failed (log: $STATE_DIR/d-dst/mimamorid.log)"
wait_for "mapped_by dst \$(qemu_pid_in '$DST_PIDDIR')" 5 ||
    tap_bail "step 'case 1b': the destination's daemon does not map the incoming qemu"
stream_up || tap_bail "step 'case 1b: cut': the migration ended before the daemon was up; raise RAMDATA_MIB ($MIG_LOG)"
tap_check "the restarted daemon found vm1 to be an incoming migration (libvirt's state, at its connection)" \
    grep -q "guest vm1 ($VM1) is the destination of an incoming migration" "$STATE_DIR/d-dst/mimamorid.log"
ss -K "( sport = :$PORT or dport = :$PORT )" > /dev/null 2>&1
migrate_wait && tap_bail "step 'case 1b': virsh migrate succeeded although its stream was cut ($MIG_LOG)"
wait_for "[ \$(verdicts dst guest_migration_failed) -gt $MF0 ]" 10
tap_is "$(verdicts dst guest_migration_failed)" $((MF0 + 1)) \
    "daemon started mid-migration: the destination still records guest_migration_failed"
sleep 1
tap_is "$(count_vm)" 0 "... and notifies nothing"
tap_check "the guest keeps running on the source" source_running
tap_diag "case 1b took $(elapsed "$T") s"

# ==== 2. the same with forward_all_events = true on both daemons
stop_daemon src; stop_daemon dst
start_daemons true
SRC_QEMU=$(qemu_pid_in "$SRC_PIDDIR")
wait_for "mapped_by src $SRC_QEMU" 10 || tap_bail "step 'case 2': the source's daemon does not map vm1's qemu"
T=$EPOCHREALTIME
LS0=$(libvirt_said dst $STOPPED $STOPPED_FAILED)
MF0=$(verdicts dst guest_migration_failed)   # the event log outlives a restart
migrate_start $BANDWIDTH
cut_migration "case 2"
migrate_wait && tap_bail "step 'case 2': virsh migrate succeeded although its stream was cut ($MIG_LOG)"
wait_for "[ \$(libvirt_said dst $STOPPED $STOPPED_FAILED) -gt $LS0 ]" 15 ||
    tap_bail "step 'case 2': the destination's libvirt never reported STOPPED/FAILED"
sleep 1
tap_is "$(verdicts dst guest_migration_failed)" $((MF0 + 1)) \
    "forward_all_events: the destination records guest_migration_failed"
tap_is "$(count_vm)" 0 "forward_all_events: libvirt's STOPPED/FAILED is not forwarded either"
tap_check "the guest keeps running on the source" source_running
tap_diag "case 2 took $(elapsed "$T") s"

# ==== 3. the source's qemu SIGKILLed during a migration: notified by the source
stop_daemon src; stop_daemon dst
start_daemons false
SRC_QEMU=$(qemu_pid_in "$SRC_PIDDIR")
wait_for "mapped_by src $SRC_QEMU" 10 || tap_bail "step 'case 3': the source's daemon does not map vm1's qemu"
T=$EPOCHREALTIME
migrate_start $BANDWIDTH
wait_for stream_up 30 0.05 || tap_bail "step 'case 3: migration stream up' did not happen within 30s ($MIG_LOG)"
sleep "$CUT_AFTER"
kill -KILL "$SRC_QEMU"
migrate_wait && tap_bail "step 'case 3': virsh migrate succeeded although the source's qemu was killed ($MIG_LOG)"
tap_check "SIGKILL of the source's qemu mid-migration: Masakari stores one VM notification" \
    wait_for "[ \$(count_vm) -ge 1 ]" 10
tap_is "$(verdicts src guest_failed)" 1 "... decided by the source's daemon"
wait_for "[ \"\$(domstate '$DST_URI')\" = '' ] || [ \"\$(domstate '$DST_URI')\" = 'shut off' ]" 15 ||
    tap_bail "step 'case 3': the destination's half-migrated vm1 never went away"
sleep 1
tap_is "$(verdicts dst guest_failed)" 0 "the destination's side of it is no guest failure"
tap_is "$(count_vm)" 1 "exactly one notification"
tap_diag "case 3 took $(elapsed "$T") s"

# ==== 4. a completed migration, then the guest fails on the destination
BEFORE=$(count_vm)
start_vm1_on_source || tap_bail "step 'case 4: restart vm1 on the source' failed"
T=$EPOCHREALTIME
migrate_start 1000
migrate_wait || tap_bail "step 'case 4': the migration failed ($MIG_LOG)"
tap_check "the migration completes: vm1 runs on the destination" \
    wait_for "[ \"\$(domstate '$DST_URI')\" = running ]" 10
tap_is "$(count_vm)" "$BEFORE" "a completed migration notifies nothing (the source's qemu stopped by libvirt)"
DST_QEMU=$(qemu_pid_in "$DST_PIDDIR")
wait_for "mapped_by dst $DST_QEMU" 10 || tap_bail "step 'case 4': the destination's daemon does not map vm1's qemu $DST_QEMU"
kill -KILL "$DST_QEMU"
tap_check "SIGKILL of vm1's qemu on the destination after the migration: one notification" \
    wait_for "[ \$(count_vm) -ge $((BEFORE + 1)) ]" 10
tap_is "$(verdicts dst guest_failed)" 1 "... decided by the destination's daemon"
sleep 1
tap_is "$(count_vm)" $((BEFORE + 1)) "exactly one"
tap_diag "case 4 took $(elapsed "$T") s; all cases $(elapsed "$T_ALL") s"

stop_daemon src; tap_is "$DAEMON_RC" 0 "the source's mimamorid stops cleanly"
stop_daemon dst
tap_done
