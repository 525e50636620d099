#!/bin/bash
# mimamorictl against a real mimamorid over its control socket: status
# (human and JSON), a watched process killed and seen in events, its
# notification waiting in the outbox (Masakari is a closed port), retry
# refused for a pending entry and an unknown one, members, events --follow
# seeing a new failure and ending cleanly on SIGTERM, and the exit status 3
# with the right words when the daemon is not running or the socket is
# closed to the caller.
#   ctl_test.sh MIMAMORID MIMAMORICTL
# libvirt is absent (a missing socket): the daemon runs and answers anyway.
. "$(dirname "$0")/../harness/lib.sh"
set -u

MIMAMORID=$1
MIMAMORICTL=$2
NODE=ctl-test

require_root
require_cmd setpriv
[ -x "$MIMAMORID" ] || tap_bail "no mimamorid at $MIMAMORID"
[ -x "$MIMAMORICTL" ] || tap_bail "no mimamorictl at $MIMAMORICTL"

tap_plan 28
state_dir ctl

DSTATE=$STATE_DIR/mimamorid
CONF=$STATE_DIR/mimamori.conf
SOCK=$STATE_DIR/control.sock
mkdir -p "$DSTATE" "$STATE_DIR/bin"
{
    printf '[node]\nhostname = %s\nstate_dir = %s\n' "$NODE" "$DSTATE"
    printf '[masakari]\nendpoint_override = http://127.0.0.1:1/v1\n'
    printf '[instance]\nlibvirt_uri = qemu+unix:///system?socket=%s/no-libvirtd.sock\n' "$STATE_DIR"
    # ebpf, not auto: the pidfd fallback would miss the short-lived victims
    printf '[probe]\nmode = ebpf\n[process]\nwatched = nova-compute\n'
    printf '[control]\nsocket = %s\n' "$SOCK"
    printf '[metrics]\nlisten =\n'
} > "$CONF"

ctl() { "$MIMAMORICTL" --socket "$SOCK" "$@"; }
# ctl_run OUT ERR ARGS...: output and errors in files, the exit status in RC
ctl_run() { local out=$1 err=$2; shift 2; ctl "$@" > "$out" 2> "$err"; RC=$?; }
OUT=$STATE_DIR/out.txt
ERR=$STATE_DIR/err.txt
show() { tap_diag "rc=$RC" "--- stdout" "$(cat "$OUT")" "--- stderr" "$(cat "$ERR")"; }

tap_check "mimamorid accepts [control] socket" "$MIMAMORID" --config "$CONF" --check-config ||
    tap_bail "[control] socket is not understood by this mimamorid"

DAEMON_PID="" DAEMON_RC=""
stop_daemon() {
    [ -n "$DAEMON_PID" ] || return 0
    kill -TERM "$DAEMON_PID" 2>/dev/null
    wait "$DAEMON_PID" 2>/dev/null
    DAEMON_RC=$?
    DAEMON_PID=""
}
on_cleanup stop_daemon
on_cleanup 'tap_diag "--- mimamorid log (tail)"; tail -n 30 "$STATE_DIR/mimamorid.log" | while IFS= read -r l; do tap_diag "$l"; done'
"$MIMAMORID" --config "$CONF" >> "$STATE_DIR/mimamorid.log" 2>&1 &
DAEMON_PID=$!
if wait_for "ctl status" 20; then tap_ok "mimamorictl status answers once mimamorid is up"
else tap_bail "mimamorictl status got no answer from mimamorid"; fi

# ---- status
ctl_run "$OUT" "$ERR" status
tap_is "$RC" 0 "status: exit 0" || show
tap_check "status shows the node name" grep -Eq "^ +name: +$NODE\$" "$OUT" || show
tap_check "status shows the probe mode ebpf" grep -Eq '^ +mode: +ebpf$' "$OUT" || show
tap_check "status lists the watched process nova-compute" grep -Eq '^ +nova-compute ' "$OUT" || show

ctl_run "$OUT" "$ERR" status --json
tap_check "status --json is JSON" json_eval 'True' "$OUT" || show
tap_is "$(json_get node_name "$OUT")" "$NODE" "status --json: node_name is the configured hostname"
tap_is "$(json_get probe.mode "$OUT")" PROBE_MODE_EBPF "status --json: probe.mode"

# ---- a watched process dies: a verdict, a notification in the outbox
start_victim() { # sets VICTIM: a sleep named nova-compute, running
    cp /bin/sleep "$STATE_DIR/bin/nova-compute"
    "$STATE_DIR/bin/nova-compute" 600 &
    VICTIM=$!
    on_cleanup "kill -KILL $VICTIM 2>/dev/null || :"
    # SIGKILL before the exec would kill a bash the probe does not watch.
    wait_for "[ \"\$(cat /proc/$VICTIM/comm)\" = nova-compute ]" 5 ||
        tap_bail "the nova-compute victim did not start"
}
kill_victim() { kill -KILL "$VICTIM"; wait "$VICTIM" 2>/dev/null; }
# The outbox id of the newest process_failed event with a notification.
failed_outbox_id() {
    ctl events --json | json_eval 'next((str(e["outbox_id"]) for e in reversed(d["events"])
        if e.get("verdict") == "process_failed" and e.get("subject") == "nova-compute"
        and e.get("notify") is True and "outbox_id" in e), "")'
}
start_victim
kill_victim
tap_check "events --json: a process_failed verdict for nova-compute, notified, with an outbox id" \
    wait_for '[ -n "$(failed_outbox_id)" ]' 10
OID=$(failed_outbox_id)
tap_diag "outbox id: ${OID:-none}"

ctl_run "$OUT" "$ERR" events
tap_check "events (human) shows the verdict" grep -Eq ' proc_exit +nova-compute +process_failed +yes ' "$OUT" || show

outbox_entry() { # PYEXPR on the entry OID as e ("" when absent)
    ctl outbox --json | json_eval "next(($1 for e in d['entries'] if str(e['id']) == '$OID'), '')"
}
tap_is "$(outbox_entry 'e["state"]')" OUTBOX_STATE_PENDING "outbox --json: the entry is pending"
tap_check "outbox --json: attempted at least once" \
    wait_for "[ \"\$(outbox_entry 'e.get(\"attempts\", 0) >= 1')\" = true ]" 10
tap_check "outbox --json: the last error says the connection failed" \
    wait_for "[ \"\$(outbox_entry '\"connect\" in e.get(\"last_error\", \"\").lower()')\" = true ]" 10 ||
    tap_diag "entry: $(outbox_entry 'e')"
ctl_run "$OUT" "$ERR" outbox
tap_check "outbox (human) lists it: id, pending, PROCESS nova-compute" \
    grep -Eq "^ *$OID +pending .* PROCESS +nova-compute " "$OUT" || show

# ---- retry: only failed entries
ctl_run "$OUT" "$ERR" outbox retry "$OID"
tap_is "$RC" 1 "outbox retry of a pending entry: exit 1"
tap_check "... saying it is not failed (FAILED_PRECONDITION)" \
    grep -q "^mimamorictl: .*not failed.*FAILED_PRECONDITION" "$ERR" || show
ctl_run "$OUT" "$ERR" outbox retry 999999
tap_is "$RC" 1 "outbox retry 999999: exit 1"
tap_check "... NOT_FOUND" grep -q "^mimamorictl: .*999999.*NOT_FOUND" "$ERR" || show

# ---- members: the mesh is off here, so there is no view to list (an
# error, never a made-up list of this node alone)
ctl_run "$OUT" "$ERR" members
tap_check "members without the mesh: exit 1, FAILED_PRECONDITION, nothing listed" \
    eval '[ "$RC" = 1 ] && grep -q "^mimamorictl: .*FAILED_PRECONDITION.*mesh is not enabled" "$ERR" && ! [ -s "$OUT" ]' || show

# ---- events --follow sees the next failure
FOLLOW_OUT=$STATE_DIR/follow.out
FOLLOW_PID=""
# Not through ctl(): $! must be mimamorictl itself, not a subshell.
"$MIMAMORICTL" --socket "$SOCK" events --follow > "$FOLLOW_OUT" 2> "$STATE_DIR/follow.err" &
FOLLOW_PID=$!
on_cleanup "kill -KILL $FOLLOW_PID 2>/dev/null || :"
wait_for "grep -q '^ *SEQ ' '$FOLLOW_OUT'" 5 || tap_diag "events --follow printed no header"
BEFORE=$(grep -c process_failed "$FOLLOW_OUT")
start_victim
kill_victim
tap_check "events --follow prints the new failure within 2 s" \
    wait_for "[ \$(grep -c process_failed '$FOLLOW_OUT') -gt $BEFORE ]" 2 ||
    tap_diag "$(cat "$FOLLOW_OUT" "$STATE_DIR/follow.err")"
kill -TERM "$FOLLOW_PID"
wait "$FOLLOW_PID"
tap_is "$?" 0 "events --follow ends with exit 0 on SIGTERM"

# ---- a socket closed to the caller (0600 root; nobody may reach the
# directory, so the socket's own mode is what refuses)
chmod 0755 "$STATE_DIR"
chmod 0600 "$SOCK"
tap_is "$(stat -c '%a %U' "$SOCK")" "600 root" "the control socket is 0600 root"
setpriv --reuid=65534 --regid=65534 --clear-groups "$MIMAMORICTL" --socket "$SOCK" status \
    > "$OUT" 2> "$ERR"
RC=$?
tap_is "$RC" 3 "as nobody: exit 3" || show
tap_check "... permission denied" grep -q "^mimamorictl: permission denied" "$ERR" || show

# ---- the daemon stopped
stop_daemon
tap_is "$DAEMON_RC" 0 "mimamorid stops cleanly on SIGTERM"
ctl_run "$OUT" "$ERR" status
tap_is "$RC" 3 "status with the daemon stopped: exit 3"
tap_check "... saying it is not running" grep -q "^mimamorictl: mimamorid is not running" "$ERR" || show

tap_done
