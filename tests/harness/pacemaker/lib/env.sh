# shellcheck shell=bash
# Shared settings for the test cluster (sourced by start/stop/pcmk-exec/...).
# HERE = this harness folder; BASE = state dir (written).  See ../README.md.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE=${BASE:-${TMPDIR:-/tmp}/pcmk-cluster-$(id -un)}   # nodes/
NS_PREFIX=${NS_PREFIX:-pcmkp}          # the netns this harness creates are named pcmkp-RUNID-*
SUBNET=${SUBNET:-10.213.0}              # /24 that exists only inside our netns
CLUSTER_NODES=${CLUSTER_NODES:-1}       # 1 or 2 full cluster nodes (c1, c2)
CLUSTER_IP_OFFSET=${CLUSTER_IP_OFFSET:-0}   # cN gets SUBNET.(OFFSET + N)
REMOTES=${REMOTES:-3}                   # number of pacemaker-remote nodes (rn1..)
REMOTE_NAMES=${REMOTE_NAMES:-}          # their names instead of rn1..rnREMOTES
# Attach to an existing network instead of building one:
#   SW_NS      netns holding the bridge BRIDGE (default: create NS_PREFIX-sw with br0)
#   REMOTE_NETNS "NAME=NETNS ...": remote NAME lives in that existing netns (its
#              address: the netns' eth0 address); neither created nor deleted here
#   REMOTE_PIDNS "NAME=PID ...": remote NAME boots inside the PID namespace of
#              process PID (e.g. the mimamorid of that host, so that its probe sees
#              pacemaker-remoted; when PID dies, the remote dies with it)
SW_NS=${SW_NS:-}
BRIDGE=${BRIDGE:-br0}
REMOTE_NETNS=${REMOTE_NETNS:-}
REMOTE_PIDNS=${REMOTE_PIDNS:-}
MONITOR_INTERVAL=${MONITOR_INTERVAL:-30s}     # op monitor interval of ocf:pacemaker:remote
MONITOR_TIMEOUT=${MONITOR_TIMEOUT:-20s}
RECONNECT_INTERVAL=${RECONNECT_INTERVAL:-60s}
STONITH=${STONITH:-none}                # none | dummy (stonith:fence_dummy)
# pacemaker-remote conflicts with pacemaker in Debian: extracted (dpkg -x) into
# a cache shared by runs, keyed by the installed pacemaker version
REMOTE_CACHE=${REMOTE_CACHE:-${TMPDIR:-/tmp}/mimamori-pacemaker-remote-$(dpkg-query -W -f='${Version}' pacemaker 2>/dev/null | tr -c 'A-Za-z0-9.+\n-' _)}
REMOTED=${REMOTED:-$REMOTE_CACHE/usr/sbin/pacemaker-remoted}
# The run's netns prefix NS_PREFIX-RUNID (../run-id.sh: pid and start time of
# RUN_OWNER [the caller]), so that two runs never share a netns name; chosen by
# start-cluster.sh and kept in BASE/netns-prefix for the other scripts.
. "$HERE/../run-id.sh"
if [ -z "${PCMK_NETNS_PREFIX:-}" ]; then
  if [ "${_PCMK_STARTING:-0}" != 1 ] && [ -s "$BASE/netns-prefix" ]; then PCMK_NETNS_PREFIX=$(cat "$BASE/netns-prefix")
  else PCMK_NETNS_PREFIX=$NS_PREFIX-$(run_id "${RUN_OWNER:-$PPID}"); fi
fi
export BASE NS_PREFIX PCMK_NETNS_PREFIX SUBNET CLUSTER_NODES REMOTES REMOTED   # host-boot.sh runs in other namespaces

cluster_names() { local i; for i in $(seq 1 "$CLUSTER_NODES"); do echo "c$i"; done; }
remote_names()  {
  if [ -n "$REMOTE_NAMES" ]; then printf '%s\n' $REMOTE_NAMES
  else local i; for i in $(seq 1 "$REMOTES"); do echo "rn$i"; done; fi; }
map_get() { # "K=V K=V" KEY -> V
  local kv; for kv in $1; do [ "${kv%%=*}" = "$2" ] && { echo "${kv#*=}"; return 0; }; done; return 1; }
sw_ns() { echo "${SW_NS:-$PCMK_NETNS_PREFIX-sw}"; }
attached() { map_get "$REMOTE_NETNS" "$1" > /dev/null; }   # NAME: lives in a netns not ours
host_ns() { map_get "$REMOTE_NETNS" "$1" || echo "$PCMK_NETNS_PREFIX-$1"; }
node_ip() {  # c1 -> .OFFSET+1; a remote: its attached netns' address, else .11, .12 ... in list order
  local ns i=0 n
  case $1 in c[0-9]*) echo "$SUBNET.$((CLUSTER_IP_OFFSET + ${1#c}))"; return 0;; esac
  if ns=$(map_get "$REMOTE_NETNS" "$1"); then
    ip -n "$ns" -4 -o addr show dev eth0 | awk '{ sub(/\/.*/, "", $4); print $4; exit }'; return 0
  fi
  for n in $(remote_names); do i=$((i + 1)); [ "$n" = "$1" ] && { echo "$SUBNET.$((10 + i))"; return 0; }; done
  return 1; }
anchor_pid() { cat "$BASE/nodes/$1/anchor.pid" 2>/dev/null; }
