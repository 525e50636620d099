#!/bin/bash
# mimamorid as a service: the sd_notify protocol a Type=notify unit relies on
# (READY, RELOADING, WATCHDOG, STOPPING, read from a real notify socket as
# systemd would), every capability dropped once the probe is attached, and
# SIGHUP: a bad new configuration is rejected with a clear log line and the
# running one stays in force; a good one is applied.
#   service_test.sh MIMAMORID MIMAMORICTL
. "$(dirname "$0")/../harness/lib.sh"
set -u
MIMAMORID=$1 CTL=$2
require_root
tap_plan 11
state_dir service

NOTIFY=$STATE_DIR/notify.sock
NOTES=$STATE_DIR/notify.log
# A stand-in for systemd's notify socket: one datagram per line in NOTES.
"$PY" - "$NOTIFY" "$NOTES" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode().replace("\n", " ") + "\n")
EOF
LISTENER=$!
on_cleanup "kill $LISTENER 2>/dev/null"
wait_for "[ -S '$NOTIFY' ]" 5 || tap_bail "notify socket listener did not start"

CONF=$STATE_DIR/mimamori.conf
write_conf() { # ENDPOINT_PORT [EXTRA LINE]
    printf '[node]\nhostname = svc-node\nstate_dir = %s/state\n' "$STATE_DIR" > "$CONF"
    printf '[masakari]\nendpoint_override = http://127.0.0.1:%s/v1\n' "$1" >> "$CONF"
    printf '[instance]\nlibvirt_uri = qemu:///system?socket=%s/none\n' "$STATE_DIR" >> "$CONF"
    printf '[control]\nsocket = %s/ctl/control.sock\n[metrics]\nlisten =\n' "$STATE_DIR" >> "$CONF"
    [ $# -lt 2 ] || printf '%s\n' "$2" >> "$CONF"
}
ctl() { "$CTL" --socket "$STATE_DIR/ctl/control.sock" "$@"; }
write_conf 1

NOTIFY_SOCKET=$NOTIFY WATCHDOG_USEC=2000000 "$MIMAMORID" --config "$CONF" > "$STATE_DIR/d.log" 2>&1 &
DAEMON=$!
on_cleanup "kill $DAEMON 2>/dev/null; wait $DAEMON 2>/dev/null"

tap_check "READY=1 reaches the notify socket once watching" wait_for "grep -q 'READY=1' '$NOTES'" 15
tap_check "the watchdog is fed (WATCHDOG=1 with WatchdogSec=2s)" wait_for "grep -q 'WATCHDOG=1' '$NOTES'" 5
tap_is "$(ctl --json status | json_eval "len(d['capabilities'])")" 0 \
    "status shows no capability left after start-up"
tap_is "$(grep CapEff "/proc/$DAEMON/status" | awk '{print $2}')" 0000000000000000 \
    "the kernel agrees: no effective capability"

# a bad file: rejected, the old configuration stays
write_conf 2 "[masakari]"$'\n'"timout = 5"
kill -HUP "$DAEMON"
tap_check "SIGHUP with a bad file: a clear log line names file, line and key" \
    wait_for "grep -q 'new configuration rejected.*mimamori.conf:[0-9]*: \[masakari\] timout' '$STATE_DIR/d.log'" 5
tap_is "$(ctl --json status | json_get masakari.endpoint)" "http://127.0.0.1:1/v1" \
    "the running configuration stays in force"
tap_check "the daemon still runs" kill -0 "$DAEMON"

# a good file: applied
write_conf 2
kill -HUP "$DAEMON"
tap_check "RELOADING=1 then READY=1 around the reload" \
    wait_for "grep -A5 'RELOADING=1' '$NOTES' | grep -q 'READY=1'" 5
tap_check "the new Masakari endpoint is in force" \
    wait_for "[ \"\$(ctl --json status | json_get masakari.endpoint)\" = http://127.0.0.1:2/v1 ]" 5

kill -TERM "$DAEMON"
wait "$DAEMON"; rc=$?
tap_is "$rc" 0 "SIGTERM: exit 0"
tap_check "STOPPING=1 was announced" grep -q 'STOPPING=1' "$NOTES"
tap_done
