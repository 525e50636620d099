#!/bin/bash
# stop.sh - stop what start.sh started (same BASE), strictly by recorded PIDs:
# destroy running guests, SIGTERM libvirtd + virtlogd, SIGKILL leftover qemu
# from run-libvirt/qemu/*.pid, then whatever is still a child of our reaper
# (every orphan below it is re-parented to it, so those are ours by
# construction); the reaper then exits by itself.  The private mount namespace
# dies with its last process: checked, and so is the root namespace (no mount
# under $BASE).  Safe to run twice or after a failed start.
#   --purge  also delete $BASE
# Exit 1 if something could not be stopped or a mount leaked.
BASE=${BASE:-${LIBVIRT_BASE:-${TMPDIR:-/tmp}/mimamori-libvirt-$(id -un)}}
URI="qemu:///system?socket=$BASE/run-libvirt/libvirt-sock"
rc=0
is() { [ -n "$2" ] && [ "$(cat /proc/"$2"/comm 2>/dev/null)" = "$1" ]; }   # comm pid
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$s" ] && [[ $s != Z* ]]; }
gone() { # pid tenths-of-seconds
  local i; for ((i = 0; i < $2; i++)); do alive "$1" || return 0; sleep 0.1; done; return 1; }

R=$(cat "$BASE/reaper.pid" 2>/dev/null)
is reaper "$R" || R=""
D=$(cat "$BASE/libvirtd.pid" 2>/dev/null)
if is libvirtd "$D"; then
  for d in $(timeout 10 virsh -c "$URI" list --name 2>/dev/null); do
    timeout 20 virsh -c "$URI" destroy "$d" > /dev/null 2>&1 && echo "destroyed $d"
  done
fi
for n in libvirtd virtlogd; do
  p=$(cat "$BASE/$n.pid" 2>/dev/null)
  if is "$n" "$p"; then
    kill -TERM "$p"; gone "$p" 100 || { kill -KILL "$p"; echo "SIGKILL $n $p"; }
    echo "stopped $n $p"
  fi
  rm -f "$BASE/$n.pid"
done
for f in "$BASE"/run-libvirt/qemu/*.pid; do
  [ -f "$f" ] || continue
  p=$(cat "$f" 2>/dev/null)
  case $(cat /proc/"$p"/comm 2>/dev/null) in qemu-system-*|qemu-kvm)
    kill -KILL "$p" && echo "killed leftover qemu $p ($(basename "$f" .pid))";; esac
done
if [ -n "$R" ]; then
  if ! gone "$R" 30; then
    for p in $(pgrep -P "$R"); do
      echo "leftover child of the reaper: $p $(cat /proc/"$p"/comm 2>/dev/null), SIGKILL"; kill -KILL "$p" 2>/dev/null
    done
    gone "$R" 30 || { kill -TERM "$R"; echo "reaper $R did not exit; SIGTERM"; rc=1; }
  fi
  echo "reaper $R exited"
fi
rm -f "$BASE/reaper.pid" "$BASE"/run-libvirt/*-sock*

# ---- nothing left behind: the namespace and the mounts it held
if [ -s "$BASE/mntns" ]; then
  NS=$(cat "$BASE/mntns")
  for i in $(seq 1 20); do
    LEFT=$(for p in /proc/[0-9]*; do [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$NS" ] && echo "${p#/proc/}"; done)
    [ -z "$LEFT" ] && break; sleep 0.1
  done
  if [ -n "$LEFT" ]; then echo "WARNING: processes still in the test mount namespace $NS: $LEFT" >&2; rc=1
  else rm -f "$BASE/mntns"; fi
fi
LEAK=$(findmnt -rn -o TARGET | awk -v b="$BASE" '$0 == b || index($0, b "/") == 1')
if [ -n "$LEAK" ]; then
  echo "WARNING: mounts under $BASE in the root mount namespace:" >&2; echo "$LEAK" >&2; rc=1
fi
if [ "${1:-}" = --purge ] && [ $rc = 0 ]; then rm -rf "$BASE"; echo "purged $BASE"; fi
exit $rc
