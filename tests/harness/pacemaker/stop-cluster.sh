#!/bin/bash
# Tear down what start-cluster.sh built (same BASE and knobs): graceful
# pacemaker shutdown, then corosync, then the hosts' anchors (by pid file),
# then any leftover process inside the netns this harness created, then those
# netns.  Netns it did not create (SW_NS, REMOTE_NETNS) are left alone, and so
# is every other process in them.  $BASE/nodes is kept for its logs
# (start-cluster.sh wipes it); --purge also removes it.
set -u
. "$(dirname "$(readlink -f "$0")")/lib/env.sh"     # HERE, BASE, knobs
waitgone() { local i; for i in $(seq "$2"); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; return 1; }
stop_pid() {  # pidfile timeout(0.1s ticks)
  local p; p=$(cat "$1" 2>/dev/null) || return 0
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p"; waitgone "$p" "$2" || { echo "SIGKILL $p ($1)"; kill -KILL "$p"; }
}
if [ -d "$BASE/nodes" ]; then
  for r in "$BASE"/nodes/*/; do
    stop_pid "$r/daemon-remoted.pid" 100
    stop_pid "$r/daemon-pacemakerd.pid" 1200   # pacemakerd stops its children first
  done
  for r in "$BASE"/nodes/*/; do stop_pid "$r/daemon-corosync.pid" 300; done
  for r in "$BASE"/nodes/*/; do stop_pid "$r/anchor.pid" 20; done
fi
ours=""
for h in $(cluster_names) $(remote_names); do attached "$h" || ours="$ours $PCMK_NETNS_PREFIX-$h"; done
[ -z "$SW_NS" ] && ours="$ours $PCMK_NETNS_PREFIX-sw"
for ns in $ours; do
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$p" 2>/dev/null; done   # leftovers
done
sleep 0.3
for ns in $ours; do
  ip netns list | grep -q "^$ns\b" || continue
  for p in $(ip netns pids "$ns" 2>/dev/null); do echo "SIGKILL leftover $p $(cat "/proc/$p/comm" 2>/dev/null)"; kill -KILL "$p"; done
  ip netns del "$ns"
done
if [ -n "$SW_NS" ]; then   # our cluster nodes' cables on a bridge we do not own
  for h in $(cluster_names); do ip -n "$SW_NS" link del "$h" 2>/dev/null; done
fi
rm -f "$BASE"/nodes/*/anchor.pid "$BASE"/nodes/*/anchor.localpid "$BASE"/nodes/*/daemon-*.pid
[ "${1:-}" = --purge ] && rm -rf "$BASE/nodes"
echo "stopped"
exit 0
