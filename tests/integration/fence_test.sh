#!/bin/bash
# fencing_method = pacemaker (the default): stonith_admin --reboot HOST run by
# daemon/mesh/fence_runner.c, against a real Pacemaker cluster.
#   fence_test.sh FENCE_DRIVER
# tests/harness/pacemaker/: c1 (corosync + pacemaker) and 3 pacemaker-remote
# nodes, each in its own namespaces; fence devices of the harness's test agent
# (fence_mimamori_test): rn1 <- mode kill (SIGKILLs rn1's pacemaker-remoted),
# rn2 <- mode fail, rn3 <- mode hang. fence_driver (next to this file) runs the
# runner on c1 after the daemon's own privilege drop (privileges.c: uid 0, no
# capability, no_new_privs), as mimamorid's mesh thread does.
#  1. success: OK; rn1's pacemaker-remoted killed by the agent, the fencer's
#     history shows the reboot successful, crm_mon shows rn1 offline
#  2. a failing agent: FAILED with stonith_admin's reason; rn2 untouched
#  3. no device for the host: FAILED, "No such device"
#  4. an agent that hangs past the fence timeout: FAILED by the fencer's own
#     timeout ("Timer expired"), the agent killed, rn3 untouched
#  5. a frozen fencer (SIGSTOP): stonith_admin never answers; TIMEOUT at
#     timeout + FENCE_KILL_GRACE_S, and no stonith_admin left running
# Every step has a deadline and names what hung.
. "$(dirname "$0")/../harness/lib.sh"
set -u

DRIVER=$1
PH=$HARNESS_DIR/pacemaker
GRACE_S=10   # FENCE_KILL_GRACE_S of daemon/mesh/fence_runner.h

require_root
require_cmd ip nsenter unshare stonith_admin cibadmin crm_mon
[ -x "$DRIVER" ] || tap_bail "no fence_driver at $DRIVER"
tap_plan 20

state_dir fence
export BASE=$STATE_DIR/pcmk NS_PREFIX=mimf SUBNET=${T_FENCE_SUBNET:-10.213.42}
FENCED_PID=""
on_cleanup '[ -n "$FENCED_PID" ] && kill -CONT "$FENCED_PID" 2>/dev/null; "$PH/stop-cluster.sh" > /dev/null'
diagnostics() {
    [ "$_tap_failed" = 0 ] && return 0
    tap_diag "--- fence-agent.log" "$(cat "$BASE/fence-agent.log" 2>/dev/null)" \
        "--- crm_mon" "$(timeout 10 "$PH/pcmk-exec" c1 crm_mon -1 -r 2>&1)"
}
on_cleanup diagnostics

REMOTES=3 MONITOR_INTERVAL=2s MONITOR_TIMEOUT=5s STONITH=none \
    timeout 120 "$PH/start-cluster.sh" > /dev/null 2> "$STATE_DIR/pcmk-start.log"
rc=$?
[ $rc = 0 ] || tap_bail "the Pacemaker cluster did not start (rc=$rc$([ $rc = 124 ] && echo ': start-cluster.sh hung 120 s'); $STATE_DIR/pcmk-start.log): $(tail -n 3 "$STATE_DIR/pcmk-start.log" | tr '\n' ' ')"
on_c1() { # DEADLINE_S CMD...: run on c1, bounded (cluster tools can hang: field guide)
    local d=$1; shift
    timeout "$d" "$PH/pcmk-exec" c1 "$@"; }

# ---- the test fence agent, seen by c1's fencer (agents live in /usr/sbin:
# an overlay there, in c1's private mount namespace only) and three devices
mkdir -p "$BASE/agents" && cp "$PH/fence_mimamori_test" "$BASE/agents/" ||
    tap_bail "cannot copy the test fence agent"
on_c1 10 mount -t overlay overlay -o "lowerdir=$BASE/agents:/usr/sbin" /usr/sbin ||
    tap_bail "cannot overlay the test fence agent on c1's /usr/sbin"
device() { # MODE HOST
    on_c1 20 cibadmin --create -o resources -X "<primitive id=\"fence-$1\" class=\"stonith\" type=\"fence_mimamori_test\">
      <instance_attributes id=\"fence-$1-ia\">
        <nvpair id=\"fence-$1-hl\" name=\"pcmk_host_list\" value=\"$2\"/>
        <nvpair id=\"fence-$1-hc\" name=\"pcmk_host_check\" value=\"static-list\"/>
        <nvpair id=\"fence-$1-mode\" name=\"mode\" value=\"$1\"/>
        <nvpair id=\"fence-$1-sd\" name=\"state_dir\" value=\"$BASE\"/>
      </instance_attributes></primitive>"; }
device kill rn1 && device fail rn2 && device hang rn3 ||
    tap_bail "cannot add the fence devices (cibadmin on c1)"
on_c1 20 crm_attribute --type crm_config --name stonith-enabled --update true ||
    tap_bail "cannot enable STONITH (crm_attribute on c1)"
registered() { [ "$(on_c1 10 stonith_admin --list-registered 2>/dev/null | grep -c '^ *fence-')" = 3 ]; }
tap_check "c1's fencer registered the three test fence devices" wait_for registered 30 0.2 ||
    tap_bail "fence devices not registered within 30 s (stonith_admin --list-registered on c1)"

remoted_alive() { local p; p=$(cat "$BASE/nodes/$1/daemon-remoted.pid") && kill -0 "$p" 2>/dev/null &&
    [ "$(cat "/proc/$p/comm")" = pacemaker-remot ]; }
node_online() { # HOST true|false
    on_c1 10 crm_mon -1 --output-as=xml 2>/dev/null | grep -q "<node name=\"$1\"[^>]* online=\"$2\""; }
no_stonith_admin() { ! pgrep -x stonith_admin > /dev/null; }
LINE=""
# fence TIMEOUT_S HOST: the driver's line in LINE; its deadline: the
# runner's own kill deadline plus 20 s
fence() {
    local d=$(($1 + GRACE_S + 20)) rc
    LINE=$(on_c1 "$d" "$DRIVER" "$1" "$2" 2> "$STATE_DIR/driver-$2.err")
    rc=$?
    [ $rc = 0 ] && return 0
    [ $rc = 124 ] && tap_bail "fence_driver $1 $2 hung past ${d} s (the runner's kill deadline did not fire)"
    tap_bail "fence_driver $1 $2 failed (rc=$rc): $(cat "$STATE_DIR/driver-$2.err")"; }
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$LINE"; }
detail() { sed -n 's/.* detail=//p' <<<"$LINE"; }

# ---- 1. success
fence 20 rn1
tap_is "$(field caps)" "=" "the runner fences with no capability left (caps '=')"
tap_is "$(field outcome)" OK "fence of rn1 (device: kill): OK ($LINE)"
killed_by_agent() { ! remoted_alive "$1" && grep -q "target=$1 mode=kill killed pacemaker-remoted" "$BASE/fence-agent.log"; }
tap_check "rn1's pacemaker-remoted was killed by the fence agent" killed_by_agent rn1
history_ok() { on_c1 10 stonith_admin --history "$1" | grep -q "^reboot of $1 successful"; }
tap_check "the fencer's history shows rn1's reboot successful" history_ok rn1
tap_check "crm_mon shows rn1 offline within 15 s" wait_for 'node_online rn1 false' 15 0.2

# ---- 2. a failing agent
fence 20 rn2
tap_is "$(field outcome)" FAILED "fence of rn2 (device: fail): FAILED ($LINE)"
tap_check "the detail carries stonith_admin's exit status and reason" \
    grep -Eq '^exit [1-9][0-9]* after .*: "stonith_admin: Couldn.t fence rn2: .+"$' <<<"$(detail)"
untouched() { remoted_alive "$1" && node_online "$1" true; }
tap_check "rn2 untouched: pacemaker-remoted alive, online in crm_mon" untouched rn2

# ---- 3. no device can fence the host
fence 20 nosuchhost
tap_is "$(field outcome)" FAILED "fence of a host no device fences: FAILED ($LINE)"
tap_check "the detail says stonith_admin found no device" grep -q 'No such device' <<<"$(detail)"

# ---- 4. an agent hanging past the fence timeout
T=3
fence $T rn3
tap_is "$(field outcome)" FAILED "fence of rn3 (device: hang, timeout $T s): FAILED by the fencer's own timeout ($LINE)"
tap_check "the detail says the fencer's timer expired" grep -q 'Timer expired' <<<"$(detail)"
ms=$(field ms)
tap_check "it ended within the fence timeout + 2 s, not at the runner's kill (${ms} ms)" test "${ms:-999999}" -lt $(( (T + 2) * 1000 ))
tap_check "the fencer killed the hanging agent (no 'sleep 100000' left within 5 s)" \
    wait_for '! pgrep -fx "sleep 100000" > /dev/null' 5 0.2
tap_check "rn3 untouched: pacemaker-remoted alive, online in crm_mon" untouched rn3

# ---- 5. a frozen fencer: stonith_admin never answers
FENCED_PID=$(pgrep -P "$(cat "$BASE/nodes/c1/daemon-pacemakerd.pid")" -x pacemaker-fence) ||
    tap_bail "no pacemaker-fenced under c1's pacemakerd"
kill -STOP "$FENCED_PID" || tap_bail "cannot SIGSTOP pacemaker-fenced ($FENCED_PID)"
T=1
fence $T rn2
kill -CONT "$FENCED_PID"
tap_is "$(field outcome)" TIMEOUT "fence of rn2 with the fencer frozen (timeout $T s): TIMEOUT ($LINE)"
ms=$(field ms)
tap_check "killed at timeout + ${GRACE_S} s (${ms} ms)" \
    test "${ms:-0}" -ge $(( (T + GRACE_S) * 1000 )) -a "${ms:-0}" -lt $(( (T + GRACE_S + 3) * 1000 ))
tap_check "the detail says it timed out and was killed" grep -q '^timed out after .*(killed)' <<<"$(detail)"
tap_check "no stonith_admin left running" no_stonith_admin
tap_done
