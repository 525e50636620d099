#!/bin/bash
# machine-state.sh - what a test run must not leave behind or change on the
# machine, recorded before the run and compared after it.
#   machine-state.sh save FILE      record the state into FILE
#   machine-state.sh compare FILE   the state now against FILE: prints every
#                                   difference; exit 1 when the run left or
#                                   changed something, 0 otherwise
# Recorded (each a section of FILE):
#   kvm          /dev/kvm: absent, or its type and device numbers (a probe
#                must never create it)
#   cgroup       the root cgroup's cgroup.subtree_control (v2, or the unified
#                hierarchy of a hybrid set-up) and every cgroup named like ours
#                (mimamori-*) or libvirt's (machine*, *qemu*, *libvirt*)
#   netns        every network namespace
#   links        bridges and veths of the root network namespace
#   procs        our kinds of processes (libvirtd, virtlogd, qemu, keystone,
#                uwsgi, masakari, nova-stub, rabbitmq, mimamorid, pacemaker,
#                corosync, prometheus), by pid and start time: one that runs at
#                compare and did not at save was left behind by the run
#   iptables     the root namespace's rules (iptables-save, ip6tables-save;
#                counters dropped)
#   tmp          files in TMPDIR [/tmp] named mimamori*, mimt*, pcmk-*,
#                rpc-test.*, bench-rpc.*, except the caches the harness keeps
#                on purpose (CACHES below)
#   mounts       mount points whose path names one of those
# A process that ran at save and is gone at compare is reported, not counted
# as a change (an earlier run's leftover that STALE=clean removed, say).
set -u
TMP=${TMPDIR:-/tmp}
# Kept between runs on purpose (documented in their scripts): Masakari's DB
# cache, libvirt's qemu capabilities, the extracted pacemaker-remote, apt's
# log of tools/deps, the machine lock of the integration tests.
CACHES='mimamori-masakari-cache-*|mimamori-libvirt-cache-*|mimamori-pacemaker-remote-*|mimamori-deps-apt.log|mimamori-integration.lock'
PROC_RE='^(libvirtd|virtlogd|qemu-system-.*|qemu-kvm|uwsgi|keystone.*|masakari.*|mimamorid|pacemaker.*|corosync|beam\.smp|epmd|prometheus)$'
ARGS_RE='(masakari|keystone|nova-stub|crm-mon-proxy)'

section() { echo "[$1]"; }
kvm_state() {
    if [ -e /dev/kvm ] || [ -L /dev/kvm ]; then stat -c '%F %t:%T %a' /dev/kvm; else echo absent; fi; }
cgroup_state() {
    local f
    for f in /sys/fs/cgroup/cgroup.subtree_control /sys/fs/cgroup/unified/cgroup.subtree_control; do
        [ -r "$f" ] && echo "$f: $(cat "$f")"
    done
    find /sys/fs/cgroup -type d \( -name 'mimamori*' -o -name 'machine*' -o -name '*qemu*' -o -name '*libvirt*' \) \
        2> /dev/null | sort; }
netns_state() { ip netns list 2> /dev/null | awk '{ print $1 }' | sort; }
links_state() { ip -o link show type bridge 2> /dev/null | awk -F': ' '{ print "bridge " $2 }'
    ip -o link show type veth 2> /dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print "veth " $2 }'; }
# "PID STARTTIME COMM ARGS": start time tells a reused pid apart; zombies
# (PID 1 here reaps late) are gone already
procs_state() {
    PROC_RE=$PROC_RE ARGS_RE=$ARGS_RE /usr/bin/python3 - <<'PYEOF'
import os, re
proc_re, args_re = re.compile(os.environ["PROC_RE"]), re.compile(os.environ["ARGS_RE"])
out = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = " ".join(f.read().replace(b"\0", b" ").decode(errors="replace").split())
    except OSError:
        continue
    comm, rest = st[st.index("(") + 1:st.rindex(")")], st[st.rindex(")") + 2:].split()
    if rest[0] == "Z":
        continue
    if proc_re.search(comm) or (comm.startswith("python3") and args_re.search(args)):
        out.append((int(pid), f"{pid} {rest[19]} {comm} {args[:160]}"))
print("\n".join(l for _, l in sorted(out)))
PYEOF
}
iptables_state() {
    local t
    for t in iptables-save ip6tables-save; do
        command -v "$t" > /dev/null || continue
        timeout 10 "$t" 2> /dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//' | sed "s/^/$t: /"
    done; }
tmp_state() {
    local f b
    for f in "$TMP"/mimamori* "$TMP"/mimt* "$TMP"/pcmk-* "$TMP"/rpc-test.* "$TMP"/bench-rpc.*; do
        [ -e "$f" ] || [ -L "$f" ] || continue
        b=${f##*/}
        # shellcheck disable=SC2053
        [[ $b == @($CACHES) ]] && continue
        echo "$f"
    done | sort; }
mounts_state() { awk '$2 ~ /mimamori|mimt|pcmk-|rpc-test\.|bench-rpc\./ { print $2 }' /proc/self/mounts | sort; }

shopt -s extglob
state() {
    section kvm; kvm_state
    section cgroup; cgroup_state
    section netns; netns_state
    section links; links_state
    section procs; procs_state
    section iptables; iptables_state
    section tmp; tmp_state
    section mounts; mounts_state; }

# the lines of section NAME in file FILE
lines_of() { awk -v s="[$1]" '/^\[[a-z0-9]+\]$/ { on = ($0 == s); next } on' "$2"; }

compare() {
    local saved=$1 now rc=0 s added removed
    now=$(mktemp "$TMP/machine-state.XXXXXX") || exit 2
    state > "$now"
    for s in kvm cgroup netns links iptables tmp mounts procs; do
        added=$(comm -13 <(lines_of "$s" "$saved" | sort) <(lines_of "$s" "$now" | sort))
        removed=$(comm -23 <(lines_of "$s" "$saved" | sort) <(lines_of "$s" "$now" | sort))
        if [ "$s" = procs ]; then
            [ -n "$added" ] && { echo "machine state: procs: left running by the run:"; echo "$added" | sed 's/^/  + /'; rc=1; }
            [ -n "$removed" ] && { echo "machine state: procs: ran before, gone now (not counted):"; echo "$removed" | sed 's/^/  - /'; }
            continue
        fi
        [ -z "$added$removed" ] && continue
        echo "machine state: $s changed:"
        [ -n "$removed" ] && echo "$removed" | sed 's/^/  - /'
        [ -n "$added" ] && echo "$added" | sed 's/^/  + /'
        rc=1
    done
    rm -f "$now"
    [ $rc = 0 ] && echo "machine state: unchanged (kvm, cgroup, netns, links, iptables, tmp, mounts, procs)"
    return $rc; }

case ${1:-} in
save) [ $# = 2 ] || { echo "usage: $0 save FILE" >&2; exit 2; }
    state > "$2" ;;
compare) [ $# = 2 ] || { echo "usage: $0 compare FILE" >&2; exit 2; }
    [ -r "$2" ] || { echo "machine-state: no saved state $2" >&2; exit 2; }
    compare "$2" ;;
*) sed -n '2,8s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
