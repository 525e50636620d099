#!/bin/bash
# Runs as the "init" of one emulated host, already inside its own network
# namespace (ip netns exec) and a fresh private mount + UTS namespace (unshare).
# Usage: host-boot.sh cluster|remote NAME
# Stays alive (wait) as the namespace anchor; its PID is nodes/NAME/anchor.pid.
set -e
. "$(dirname "$(readlink -f "$0")")/env.sh"
role=$1 name=$2 root=$BASE/nodes/$2
hostname "$name"
# Private /run (pid files, /run/crm, /run/resource-agents) and /dev/shm (libqb IPC)
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/crm /run/resource-agents /run/lock
chown hacluster:haclient /run/crm; chmod 0750 /run/crm
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
for d in etc/corosync etc/pacemaker var/lib/pacemaker var/lib/corosync var/log/pacemaker var/log/corosync; do
  mount --bind "$root/$d" "/$d"
done
ip link set lo up
export PCMK_logfile=/var/log/pacemaker/pacemaker.log PCMK_logfacility=none
# pids as the root PID namespace numbers them (this host may boot inside
# another PID namespace, REMOTE_PIDNS; /proc here is still the root one's)
read -r gpid _ < /proc/self/stat
echo "$gpid" > "$root/anchor.pid"
echo $$ > "$root/anchor.localpid"
gchild() { # comm prefix -> global pid of our child with that comm
  local c i
  for i in $(seq 50); do
    for c in $(pgrep -P "$gpid"); do
      case $(cat "/proc/$c/comm" 2>/dev/null) in "$1"*) echo "$c"; return 0;; esac
    done
    sleep 0.02
  done
  echo "$2"; }
if [ "$role" = cluster ]; then
  corosync -f >"/var/log/corosync/stdout.log" 2>&1 &
  gchild corosync $! > "$root/daemon-corosync.pid"
  for i in $(seq 100); do corosync-cfgtool -s >/dev/null 2>&1 && break; sleep 0.1; done
  pacemakerd >"/var/log/pacemaker/pacemakerd.stdout" 2>&1 &
  gchild pacemakerd $! > "$root/daemon-pacemakerd.pid"
else
  "$REMOTED" >"/var/log/pacemaker/remoted.stdout" 2>&1 &
  gchild pacemaker-remot $! > "$root/daemon-remoted.pid"
fi
# Stay alive as the namespace anchor even after the daemons die (e.g. a test
# SIGKILLs pacemaker-remoted), reaping children; stop-cluster.sh kills us by PID.
trap - TERM INT
while :; do wait || true; sleep 1; done
