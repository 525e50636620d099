#!/bin/bash
# Fault injection on the test cluster.
# Usage: node-ctl.sh rnN kill        SIGKILL pacemaker-remoted (process death)
#        node-ctl.sh rnN stop        SIGTERM pacemaker-remoted (clean stop)
#        node-ctl.sh rnN start       (re)start pacemaker-remoted in rnN's namespaces
#        node-ctl.sh HOST netdown    unplug HOST's cable (veth down on the bridge side)
#        node-ctl.sh HOST netup      plug it back
#        node-ctl.sh cN stop-cluster stop pacemaker then corosync on cN (quorum tests)
set -eu
. "$(dirname "$(readlink -f "$0")")/lib/env.sh"     # HERE, BASE (state), knobs
h=$1 r=$BASE/nodes/$1
case $2 in
  kill) kill -KILL "$(cat "$r/daemon-remoted.pid")";;
  stop) kill -TERM "$(cat "$r/daemon-remoted.pid")";;
  start)
    "$HERE/pcmk-exec" "$h" env PCMK_logfile=/var/log/pacemaker/pacemaker.log PCMK_logfacility=none \
       "$REMOTED" >>"$r/var/log/pacemaker/remoted.stdout" 2>&1 < /dev/null &
    w=$!; sleep 0.3
    c=$(pgrep -P "$w" | head -1)   # pcmk-exec's nsenter forks into the host's PID namespace
    echo "${c:-$w}" > "$r/daemon-remoted.pid"
    [ "$(cat "/proc/${c:-$w}/comm")" = pacemaker-remot ] || echo "warning: pid ${c:-$w} is $(cat "/proc/${c:-$w}/comm")" >&2;;
  netdown) ip -n "$(sw_ns)" link set "$h" down;;   # not for REMOTE_NETNS hosts: their cable is not ours
  netup)   ip -n "$(sw_ns)" link set "$h" up;;
  stop-cluster)
    p=$(cat "$r/daemon-pacemakerd.pid"); kill -TERM "$p"; while kill -0 "$p" 2>/dev/null; do sleep 0.2; done
    p=$(cat "$r/daemon-corosync.pid"); kill -TERM "$p"; while kill -0 "$p" 2>/dev/null; do sleep 0.2; done;;
  *) echo "bad action" >&2; exit 2;;
esac
