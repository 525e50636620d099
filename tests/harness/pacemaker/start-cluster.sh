#!/bin/bash
# Build a throw-away Pacemaker test cluster on ONE Debian 12 machine, no systemd
# (adapted from the team's recipe; this copy is what the project runs):
#   c1[,c2]      full corosync(knet)+pacemaker nodes, each in netns pcmkp-RUNID-cN
#   rn1..rnN     pacemaker-remoted "compute nodes", each in netns pcmkp-RUNID-rnN
#                (or named REMOTE_NAMES, in existing netns: REMOTE_NETNS)
#   pcmkp-RUNID-sw  netns holding bridge br0 = the LAN (SUBNET.0/24), or SW_NS;
#                RUNID: lib/env.sh (the caller's pid and start time, RUN_OWNER)
#                nothing in the root netns is touched except /run/netns entries.
# Every host also gets a private mount+UTS namespace whose /etc/corosync,
# /etc/pacemaker, /var/lib/{pacemaker,corosync}, /var/log/{pacemaker,corosync}
# are bind mounts of $BASE/nodes/<host>/..., and /run, /dev/shm are tmpfs.
# Run commands on a host with:  ./pcmk-exec c1 crm_mon -1   (same BASE)
# Tunables (env, lib/env.sh): BASE=${TMPDIR:-/tmp}/pcmk-cluster-$(id -un)
#   CLUSTER_NODES=1|2 REMOTES=3 REMOTE_NAMES= MONITOR_INTERVAL=30s
#   MONITOR_TIMEOUT=20s RECONNECT_INTERVAL=60s STONITH=none|dummy DC_DEADTIME=2s
#   SUBNET=10.213.0 NS_PREFIX=pcmkp CLUSTER_IP_OFFSET=0 SW_NS= BRIDGE=br0
#   REMOTE_NETNS= REMOTE_PIDNS= REMOTED=path REMOTE_DEB=local .deb
#   REMOTE_CACHE=where pacemaker-remote is extracted (shared by runs)
# Packages are never installed here: missing ones are named, exit 3 (tools/deps:
# pacemaker pacemaker-cli-utils corosync; fence-agents for STONITH=dummy).  pacemaker-remote, which
# conflicts with pacemaker, is extracted from REMOTE_DEB, apt's cache, or
# `apt-get download` of the installed pacemaker's version.
set -euo pipefail
if [ -n "${BASE:-}" ]; then mkdir -p "$BASE" && BASE=$(cd "$BASE" && pwd); fi   # absolute
_PCMK_STARTING=1 PCMK_NETNS_PREFIX=    # a new run: a new netns prefix
. "$(dirname "$(readlink -f "$0")")/lib/env.sh"     # sets HERE and BASE (state)
mkdir -p "$BASE"
echo "$PCMK_NETNS_PREFIX" > "$BASE/netns-prefix"
[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }
t0=$(date +%s.%N)
STARTED=0
trap 'rc=$?; [ $STARTED = 1 ] || [ $rc = 3 ] || { echo "start-cluster.sh failed (rc=$rc): stopping" >&2; "$HERE/stop-cluster.sh" >&2 || true; }' EXIT
ts() { printf '[pcmk %6.2fs] %s\n' "$(echo "$(date +%s.%N) - $t0" | bc)" "$*" >&2; }

# ---- 1. packages --------------------------------------------------------
need=""
for p in pacemaker pacemaker-cli-utils corosync iproute2 util-linux bc python3 $([ "$STONITH" = dummy ] && echo fence-agents); do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need="$need $p"
done
[ -z "$need" ] || { echo "missing Debian package(s):$need -- install them with tools/deps (as root)" >&2; exit 3; }
if [ ! -x "$REMOTED" ]; then
  v=$(dpkg-query -W -f='${Version}' pacemaker)
  if [ -z "${REMOTE_DEB:-}" ]; then
    REMOTE_DEB=$(ls /var/cache/apt/archives/pacemaker-remote_"$(echo "$v" | sed 's/:/%3a/')"_*.deb 2>/dev/null | head -1 || true)
  fi
  tmp=$(mktemp -d "${REMOTE_CACHE}.tmp.XXXXXX")
  if [ -z "${REMOTE_DEB:-}" ]; then
    ts "fetching pacemaker-remote=$v (conflicts with pacemaker -> extract only)"
    ( cd "$tmp" && apt-get download "pacemaker-remote=$v" > apt-download.log 2>&1 ) ||
      { cat "$tmp/apt-download.log" >&2; rm -rf "$tmp"; echo "cannot fetch pacemaker-remote (apt-get update first?)" >&2; exit 3; }
    REMOTE_DEB=$(ls "$tmp"/pacemaker-remote_*.deb)
  fi
  ts "extracting $REMOTE_DEB into $REMOTE_CACHE"
  dpkg -x "$REMOTE_DEB" "$tmp/x" && rm -rf "$REMOTE_CACHE" && mv "$tmp/x" "$REMOTE_CACHE"
  rm -rf "$tmp"
fi
[ -x "$REMOTED" ] || { echo "no pacemaker-remoted at $REMOTED" >&2; exit 3; }

# ---- 2. refuse to double-start --------------------------------------------
for h in $(cluster_names) $(remote_names); do
  p=$(anchor_pid "$h" || true)
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then echo "$h already running (pid $p); run stop-cluster.sh" >&2; exit 1; fi
done
for h in $(cluster_names) $(remote_names); do
  attached "$h" && continue
  if ip netns list | grep -q "^$PCMK_NETNS_PREFIX-$h\b"; then echo "$PCMK_NETNS_PREFIX-$h netns exists (this owner's run); run stop-cluster.sh first" >&2; exit 1; fi
done

# ---- 3. network: bridge netns + one netns per host --------------------------
sw=$(sw_ns)
if [ -z "$SW_NS" ]; then
  ip netns add "$sw"
  ip -n "$sw" link add "$BRIDGE" type bridge
  ip -n "$sw" link set "$BRIDGE" up
  ip -n "$sw" link set lo up
fi
for h in $(cluster_names) $(remote_names); do
  attached "$h" && continue
  ns=$PCMK_NETNS_PREFIX-$h
  ip netns add "$ns"
  ip -n "$sw" link add "$h" type veth peer name eth0 netns "$ns"
  ip -n "$sw" link set "$h" master "$BRIDGE" up
  ip -n "$ns" addr add "$(node_ip "$h")/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
done
ts "network namespaces up"

# ---- 4. per-host state dirs, authkey, corosync.conf -----------------------
rm -rf "$BASE/nodes"; mkdir -p "$BASE/nodes"
dd if=/dev/urandom of="$BASE/nodes/authkey" bs=4096 count=1 status=none
for h in $(cluster_names) $(remote_names); do
  r=$BASE/nodes/$h
  mkdir -p "$r"/etc/{corosync,pacemaker} "$r"/var/lib/corosync "$r"/var/log/corosync \
           "$r"/var/lib/pacemaker/{cib,pengine,blackbox,cores} "$r"/var/log/pacemaker
  install -m 0640 -o root -g haclient "$BASE/nodes/authkey" "$r/etc/pacemaker/authkey"
  chown -R hacluster:haclient "$r"/var/lib/pacemaker "$r"/var/log/pacemaker
  chmod 0750 "$r"/var/lib/pacemaker/*
done
{
  cat <<EOC
totem {
    version: 2
    cluster_name: pcmkprobe
    transport: knet
    crypto_cipher: none
    crypto_hash: none
}
logging {
    to_logfile: yes
    logfile: /var/log/corosync/corosync.log
    to_syslog: no
    to_stderr: no
    timestamp: on
}
quorum {
    provider: corosync_votequorum
EOC
  [ "$CLUSTER_NODES" = 2 ] && [ "${TWO_NODE:-1}" = 1 ] && echo "    two_node: 1"
  echo "}"
  echo "nodelist {"
  for h in $(cluster_names); do
    printf '    node {\n        name: %s\n        nodeid: %s\n        ring0_addr: %s\n    }\n' "$h" "${h#c}" "$(node_ip "$h")"
  done
  echo "}"
} > "$BASE/nodes/corosync.conf"
for h in $(cluster_names); do cp "$BASE/nodes/corosync.conf" "$BASE/nodes/$h/etc/corosync/"; done

# ---- 5. initial CIB, built offline with CIB_file= (no running cluster needed)
cib=$BASE/nodes/cib.xml
cibadmin --empty > "$cib"
X() { CIB_file=$cib "$@"; }
X crm_attribute --type crm_config --name dc-deadtime --update "${DC_DEADTIME:-2s}"
[ "$CLUSTER_NODES" = 2 ] && X crm_attribute --type crm_config --name no-quorum-policy --update "${NO_QUORUM_POLICY:-stop}"
if [ "$STONITH" = dummy ]; then
  X crm_attribute --type crm_config --name stonith-enabled --update true
  hosts="$(echo $(cluster_names) $(remote_names))"
  X cibadmin --create -o resources -X "<primitive id=\"fence-dummy\" class=\"stonith\" type=\"fence_dummy\">
     <instance_attributes id=\"fence-dummy-ia\">
       <nvpair id=\"fd-hl\" name=\"pcmk_host_list\" value=\"$hosts\"/>
       <nvpair id=\"fd-hc\" name=\"pcmk_host_check\" value=\"static-list\"/>
       <nvpair id=\"fd-sf\" name=\"status_file\" value=\"$BASE/nodes/fence_dummy.status\"/>
     </instance_attributes>
     <operations><op id=\"fence-dummy-mon\" name=\"monitor\" interval=\"60s\"/></operations>
   </primitive>"
else
  X crm_attribute --type crm_config --name stonith-enabled --update false
fi
for h in $(remote_names); do
  X cibadmin --create -o resources -X "<primitive id=\"$h\" class=\"ocf\" provider=\"pacemaker\" type=\"remote\">
     <instance_attributes id=\"$h-ia\">
       <nvpair id=\"$h-server\" name=\"server\" value=\"$(node_ip "$h")\"/>
       <nvpair id=\"$h-reconnect\" name=\"reconnect_interval\" value=\"$RECONNECT_INTERVAL\"/>
     </instance_attributes>
     <operations>
       <op id=\"$h-monitor\" name=\"monitor\" interval=\"$MONITOR_INTERVAL\" timeout=\"$MONITOR_TIMEOUT\"/>
     </operations>
   </primitive>"
done
crm_verify --xml-file "$cib" >"$BASE/nodes/crm_verify.log" 2>&1 || true  # warns: offline CIB has no quorum
for h in $(cluster_names); do
  install -m 0600 -o hacluster -g haclient "$cib" "$BASE/nodes/$h/var/lib/pacemaker/cib/cib.xml"
done
ts "initial CIB written (dc-deadtime=${DC_DEADTIME:-2s}, $(remote_names | wc -l) remotes, monitor=$MONITOR_INTERVAL, stonith=$STONITH)"

# ---- 6. boot cluster nodes and remotes ------------------------------------
boot() {  # role host
  local pidns=() p
  if p=$(map_get "$REMOTE_PIDNS" "$2"); then pidns=(nsenter --pid="/proc/$p/ns/pid" --); fi
  setsid "${pidns[@]}" ip netns exec "$(host_ns "$2")" unshare --mount --uts --propagation private \
      "$HERE/lib/host-boot.sh" "$1" "$2" >"$BASE/nodes/$2/boot.log" 2>&1 < /dev/null &
}
for h in $(cluster_names); do boot cluster "$h"; done
for h in $(remote_names); do boot remote "$h"; done
ts "daemons spawned"
c1=$(cluster_names | sed -n 1p)
ok=0
# Wall-clock deadlines (each crm_mon may itself take up to 5 s on a loaded machine).
deadline() { echo $(( ${EPOCHREALTIME/./} + $1 * 1000000 )); }
before() { (( ${EPOCHREALTIME/./} < $1 )); }
end=$(deadline 60)
while before "$end"; do
  [ -s "$BASE/nodes/$c1/anchor.pid" ] && timeout 5 "$HERE/pcmk-exec" "$c1" crm_mon -1 --output-as=xml 2>/dev/null \
     | grep -q "<node name=\"$c1\"[^>]* online=\"true\"" && { ok=1; break; }
  sleep 0.1
done
[ $ok = 1 ] || { echo "$c1 not online after 60 s (logs: $BASE/nodes/$c1/var/log)" >&2; exit 1; }
ts "$c1 online in crm_mon (DC elected)"
X() { "$HERE/pcmk-exec" "$c1" "$@"; }
nr=$(remote_names | wc -l) ok=0 end=$(deadline 60)
while before "$end"; do
  x=$(timeout 5 "$HERE/pcmk-exec" "$c1" crm_mon -1 --output-as=xml 2>/dev/null || true)
  n=$(grep -c '<node [^>]*online="true"[^>]*type="remote"' <<<"$x" || true)
  s=$(grep -c '<resource id="[^"]*" resource_agent="ocf:pacemaker:remote" role="Started"' <<<"$x" || true)
  [ "$n" -ge "$nr" ] && [ "$s" -ge "$nr" ] && { ok=1; break; }
  sleep 0.1
done
[ $ok = 1 ] || { echo "remote nodes not all online after 60 s (logs: $BASE/nodes/*/boot.log, $BASE/nodes/*/var/log)" >&2; timeout 10 "$HERE/pcmk-exec" "$c1" crm_mon -1 -r >&2; exit 1; }
ts "all $nr remote nodes online, connections Started"
timeout 10 "$HERE/pcmk-exec" "$c1" crm_mon -1 -r >&2
STARTED=1
