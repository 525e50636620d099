# shellcheck shell=bash
# common.sh - sourced by the mesh harness scripts (not by tests): paths, the
# state of one mesh (BASE), and small helpers.  See README.md.
MESH_HARNESS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MESH_REPO=$(cd "$MESH_HARNESS/../../.." && pwd)
BASE=${BASE:-${MESH_BASE:-${TMPDIR:-/tmp}/mimamori-mesh-$(id -un)}}
PY=/usr/bin/python3
# shellcheck source=../run-id.sh
. "$MESH_HARNESS/../run-id.sh"     # run_id, run_id_alive, free_port

mesh_log() { printf '[mesh %s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
mesh_die() { mesh_log "ERROR: $*"; exit 1; }

# BASE/env.sh (written by start.sh) -> MESH_* variables
mesh_load() {
    [ -f "$BASE/env.sh" ] || mesh_die "no $BASE/env.sh: run tests/harness/mesh/start.sh first (same BASE)"
    # shellcheck source=/dev/null
    . "$BASE/env.sh"
}
# BASE/nodes.list: NAME IP NETNS HUB_VETH, one line per member
mesh_field() { # NAME COLUMN -> that column of NAME's line (exit 1: no such node)
    awk -v n="$1" -v c="$2" '$1 == n { print $c; f = 1 } END { exit !f }' "$BASE/nodes.list"; }
mesh_ip() { mesh_field "$1" 2; }
mesh_ns() { mesh_field "$1" 3; }
mesh_veth() { mesh_field "$1" 4; }
mesh_names() { awk '{ print $1 }' "$BASE/nodes.list"; }
mesh_node_dir() { echo "$BASE/nodes/$1"; }
# run CMD in network namespace NS only (no mount namespace games, unlike
# `ip netns exec`, which remounts /sys: the eBPF probe wants the real one);
# exec'ed, so a background job's $! is CMD's pid
mesh_nsx() { local ns=$1; shift; nsenter --net="/run/netns/$ns" -- "$@"; }
# alive = exists and is not a zombie (PID 1 here reaps orphans late)
mesh_alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$s" ] && [[ $s != Z* ]]; }
mesh_ours() { [ -n "$1" ] && tr '\0' ' ' 2>/dev/null < "/proc/$1/cmdline" | grep -q -- "$2"; } # PID PATTERN
mesh_daemon_pid() { # NAME -> pid of its running mimamorid (exit 1: none)
    local p
    p=$(cat "$BASE/nodes/$1/daemon.pid" 2>/dev/null) || return 1
    mesh_ours "$p" "$BASE/nodes/$1/mimamori.conf" && mesh_alive "$p" && echo "$p"; }
