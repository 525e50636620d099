#!/bin/bash
# restart.sh - restart the libvirtd that start.sh started (same BASE), leaving
# its guests' qemu running, as a package upgrade or `systemctl restart
# libvirtd` does: SIGTERM libvirtd (by its pid file), wait for it to exit,
# optionally run a command inside the private mount namespace while no
# libvirtd runs (BETWEEN, e.g. to break a guest's monitor socket), then start a
# new libvirtd in that namespace under a new child subreaper (reaper.c; the
# guests' qemu stay below the first one) and wait until it answers.
# Env: BASE [${LIBVIRT_BASE}]  BETWEEN [none]  START_TIMEOUT [30]
# Prints the new libvirtd's pid.  Exit 1, naming the step, on any failure.
set -uo pipefail
BASE=${BASE:-${LIBVIRT_BASE:?BASE or LIBVIRT_BASE must name the running instance}}
START_TIMEOUT=${START_TIMEOUT:-30}
URI="qemu:///system?socket=$BASE/run-libvirt/libvirt-sock"
die() { echo "restart.sh: ERROR: $*" >&2; exit 1; }
is() { [ -n "$2" ] && [ "$(cat /proc/"$2"/comm 2>/dev/null)" = "$1" ]; }   # comm pid

OLD=$(cat "$BASE/libvirtd.pid" 2>/dev/null)
is libvirtd "$OLD" || die "step 'find libvirtd': no libvirtd at the pid in $BASE/libvirtd.pid"
LOGD=$(cat "$BASE/virtlogd.pid" 2>/dev/null)
is virtlogd "$LOGD" || die "step 'find virtlogd': no virtlogd at the pid in $BASE/virtlogd.pid"
# virtlogd lives on in the namespace: the new libvirtd joins it through it
[ "$(readlink "/proc/$LOGD/ns/mnt")" = "$(cat "$BASE/mntns")" ] ||
    die "step 'find namespace': virtlogd $LOGD is not in the namespace recorded in $BASE/mntns"

kill -TERM "$OLD"
for _ in $(seq 1 100); do is libvirtd "$OLD" || break; sleep 0.1; done
is libvirtd "$OLD" && die "step 'stop libvirtd': $OLD still runs 10 s after SIGTERM"
rm -f "$BASE/libvirtd.pid" "$BASE"/run-libvirt/libvirt-sock*

if [ -n "${BETWEEN:-}" ]; then
    nsenter -t "$LOGD" -m -- /bin/sh -c "$BETWEEN" ||
        die "step 'between': '$BETWEEN' failed inside the namespace"
fi

setsid "$BASE/reaper" nsenter -t "$LOGD" -m -- libvirtd -d -p "$BASE/libvirtd.pid" -f "$BASE/libvirtd.conf" \
    < /dev/null >> "$BASE/logs/reaper.log" 2>&1 &
end=$(( ${EPOCHREALTIME%.*} + START_TIMEOUT ))
while (( ${EPOCHREALTIME%.*} < end )); do
    if [ -S "$BASE/run-libvirt/libvirt-sock" ] && [ -s "$BASE/libvirtd.pid" ] &&
       timeout 10 virsh -q -c "$URI" version > /dev/null 2>&1; then
        cat "$BASE/libvirtd.pid"; exit 0
    fi
    sleep 0.05
done
die "step 'start libvirtd': no answer within ${START_TIMEOUT}s (logs: $BASE/logs/libvirtd.log, $BASE/logs/reaper.log)"
