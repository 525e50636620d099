# shellcheck shell=bash
# tests/harness/lib.sh - small helpers for mimamori's bash integration tests.
#   . "$(dirname "$0")/../harness/lib.sh"
# Sourcing installs an EXIT/INT/TERM/HUP trap that runs the registered cleanups.
# Use `set -u` if you like, but not `set -e`: tap_check returns the command's
# status so that a test decides (`tap_check ... || tap_bail "..."`).
# TAP goes to stdout (meson: protocol 'tap'); everything else must go to stderr
# (the stack helpers below take care of that for start.sh/stop.sh).
#
# TAP       tap_plan N | tap_ok DESC | tap_not_ok DESC [DIAG...] | tap_check DESC CMD...
#           tap_is GOT WANT DESC | tap_same GOT WANT DESC (tap_is, and WANT must not be
#           empty: for two queries' outputs) | tap_skip DESC [REASON] | tap_skip_all REASON
#           tap_diag MSG... | tap_bail REASON | tap_done (exit status: 0 = all passed)
#           A skip is a failure: tap_skip is a `not ok`, tap_skip_all fails the whole
#           test, unless MIMAMORI_ALLOW_SKIP is set (a developer's partial run; CI
#           sets none): then they skip, and tools/check fails on the skip of any
#           test the allowance does not name.
# polling   wait_for 'SHELL CONDITION' TIMEOUT_S [INTERVAL_S]   (0 = met, 1 = timed out)
# cleanup   on_cleanup 'SHELL SNIPPET' | on_cleanup CMD ARG...  (run LIFO at exit)
# guards    require_root | require_cmd CMD...   (fail the whole test when unmet, naming
#           what is missing; tap_skip_all under MIMAMORI_ALLOW_SKIP)
# JSON      json_get PATH [FILE] | json_len PATH [FILE] | json_eval PYEXPR [FILE]
#           (document on stdin when FILE is omitted; PATH like notifications.0.status)
# stacks    state_dir NAME (sets STATE_DIR) | masakari_start BASE [VAR=VALUE...] | libvirt_start BASE [VAR=VALUE...]
#           now_iso
# runs      run_id [PID] | run_id_alive ID | free_port   (run-id.sh)
[ -n "${_MIMAMORI_LIB_SH:-}" ] && return 0
_MIMAMORI_LIB_SH=1

HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034  # for the tests that source this file
REPO_ROOT=$(cd "$HARNESS_DIR/../.." && pwd)
MASAKARI_HARNESS=$HARNESS_DIR/masakari
LIBVIRT_HARNESS=$HARNESS_DIR/libvirt
PY=/usr/bin/python3        # never a pyenv/venv shim
# shellcheck source=run-id.sh
. "$HARNESS_DIR/run-id.sh"   # run_id [PID], run_id_alive ID, free_port
WAIT_INTERVAL=${WAIT_INTERVAL:-0.05}

# ------------------------------------------------------------------ TAP
_tap_n=0 _tap_failed=0 _tap_planned=""
tap_plan() { _tap_planned=$1; echo "1..$1"; }
tap_diag() { local l; printf '%s\n' "$@" | while IFS= read -r l; do printf '# %s\n' "$l"; done; }
tap_ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1"; }
tap_not_ok() { # DESC [DIAG...]
    _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1))
    echo "not ok $_tap_n - $1"; shift
    [ $# -eq 0 ] || tap_diag "$@"
    return 0; }
tap_check() { # DESC CMD...  -> ok when CMD exits 0; its output becomes the diagnostics
    local desc=$1 out rc; shift
    out=$("$@" 2>&1); rc=$?
    if [ $rc = 0 ]; then tap_ok "$desc"; else tap_not_ok "$desc" "failed (rc=$rc): $*" "$out"; fi
    return $rc; }
tap_is() { # GOT WANT DESC
    if [ "$1" = "$2" ]; then tap_ok "$3"; return 0; fi
    tap_not_ok "$3" "got:  '$1'" "want: '$2'"; return 1; }
tap_same() { # GOT WANT DESC: tap_is where WANT is itself a query's output, so an
    # empty one ("", [], {}, null: the query failed or found nothing) fails
    case $2 in ''|'[]'|'{}'|null) tap_not_ok "$3" "want is empty ('$2'): nothing to compare (got: '$1')"; return 1 ;; esac
    tap_is "$@"; }
_skip_allowed() { [ -n "${MIMAMORI_ALLOW_SKIP:-}" ]; }
tap_skip() { # DESC [REASON]
    if _skip_allowed; then _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1 # SKIP ${2:-}"
    else tap_not_ok "$1" "not run: ${2:-no reason given} (a skip is a failure: MIMAMORI_ALLOW_SKIP, tools/check)"; fi; }
tap_skip_all() { # REASON: before tap_plan / any result
    if _skip_allowed; then echo "1..0 # SKIP $1"; exit 0; fi
    [ -z "$_tap_planned" ] && [ "$_tap_n" = 0 ] || tap_bail "not run: $1"
    echo "1..1"; echo "not ok 1 - not run: $1"
    tap_diag "a skip is a failure (MIMAMORI_ALLOW_SKIP allows named skips in a developer's run: tools/check)"
    exit 1; }
tap_bail() { echo "Bail out! $1"; exit 1; }
tap_done() {
    if [ -z "$_tap_planned" ]; then echo "1..$_tap_n"
    elif [ "$_tap_planned" != "$_tap_n" ]; then
        tap_diag "planned $_tap_planned tests, ran $_tap_n"; exit 1; fi
    [ "$_tap_failed" = 0 ] || { tap_diag "$_tap_failed of $_tap_n failed"; exit 1; }
    exit 0; }

# ------------------------------------------------------------------ polling
# For conditions that give no event to wait on.  The condition's output is
# discarded; on timeout a note goes to stderr.
wait_for() { # 'CONDITION' TIMEOUT_S [INTERVAL_S]
    local cond=$1 iv=${3:-$WAIT_INTERVAL} end
    end=$(( ${EPOCHREALTIME/./} + $(awk -v s="$2" 'BEGIN{printf "%d", s * 1000000}') ))
    while :; do
        eval "$cond" > /dev/null 2>&1 && return 0
        (( ${EPOCHREALTIME/./} >= end )) && break
        sleep "$iv"
    done
    echo "wait_for: not met within ${2}s: $cond" >&2
    return 1; }

# ------------------------------------------------------------------ cleanup
_cleanups=()
on_cleanup() { # 'SNIPPET' | CMD ARG...
    if [ $# -eq 1 ]; then _cleanups+=("$1"); else _cleanups+=("$(printf '%q ' "$@")"); fi; }
run_cleanups() { # LIFO, each once, output to stderr (stdout is TAP)
    local i c
    for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
        c=${_cleanups[i]}; unset '_cleanups[i]'
        eval "$c" >&2 || echo "cleanup failed: $c" >&2
    done
    _cleanups=(); }
_lib_on_exit() { local rc=$?; trap - EXIT; run_cleanups; exit $rc; }
trap _lib_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ------------------------------------------------------------------ guards
require_root() { [ "$(id -u)" = 0 ] || tap_skip_all "needs root"; }
require_cmd() { local c; for c; do command -v "$c" > /dev/null 2>&1 || tap_skip_all "needs $c, not found on PATH: tools/deps installs it"; done; }

# ------------------------------------------------------------------ JSON
# json_get: strings raw, numbers/bools/null/lists/objects as JSON; exit 1 when
# the path does not exist.  json_eval: d is the document, e.g.
#   list-notifications.sh | json_eval 'sum(n["type"] == "VM" for n in d["notifications"])'
_json_py='import json, sys
mode, arg = sys.argv[1], sys.argv[2]
d = json.load(open(sys.argv[3]) if len(sys.argv) > 3 else sys.stdin)
if mode == "eval":
    v = eval(arg, {"d": d, "json": json})
else:
    v = d
    for k in (arg.split(".") if arg not in ("", ".") else []):
        try:
            v = v[int(k)] if isinstance(v, list) else v[k]
        except (KeyError, IndexError, ValueError, TypeError):
            sys.exit(1)
    if mode == "len":
        v = len(v)
print(v if isinstance(v, str) else json.dumps(v))'
json_get() { "$PY" -c "$_json_py" get "$1" ${2:+"$2"}; }
json_len() { "$PY" -c "$_json_py" len "$1" ${2:+"$2"}; }
json_eval() { "$PY" -c "$_json_py" eval "$1" ${2:+"$2"}; }

# ------------------------------------------------------------------ stacks
now_iso() { date -u +%Y-%m-%dT%H:%M:%S.%6N; }
# state_dir NAME: sets STATE_DIR to a fresh directory (not a $(...): the cleanup
# must be registered in the test's shell), removed at exit unless KEEP_STATE=1,
# or KEEP_STATE=fail and a test failed.  Call it before starting the stacks that
# live in it (cleanups run LIFO: the stacks are stopped first).
state_dir() {
    STATE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mimamori-$1.XXXXXX") || return 1
    on_cleanup _state_dir_rm "$STATE_DIR"; }
_state_dir_rm() {
    case ${KEEP_STATE:-0} in
        1) echo "state kept in $1" >&2; return 0 ;;
        fail) [ "$_tap_failed" = 0 ] || { echo "state kept in $1" >&2; return 0; } ;;
    esac
    rm -rf "$1"; }
# masakari_start BASE [VAR=VALUE...]: start.sh with those knobs (MODE, ENGINE,
# DEDUP_WINDOW, *_PORT...), stop.sh registered as cleanup, $BASE/env.sh sourced.
masakari_start() {
    local base=$1; shift
    on_cleanup "BASE=$(printf %q "$base") $(printf %q "$MASAKARI_HARNESS/stop.sh")"
    env "$@" BASE="$base" "$MASAKARI_HARNESS/start.sh" >&2 || return 1
    # shellcheck source=/dev/null
    . "$base/env.sh"; }
# libvirt_start BASE [VAR=VALUE...]: same for libvirt (GUESTS, ACCEL...).
libvirt_start() {
    local base=$1; shift
    on_cleanup "BASE=$(printf %q "$base") $(printf %q "$LIBVIRT_HARNESS/stop.sh")"
    env "$@" BASE="$base" "$LIBVIRT_HARNESS/start.sh" >&2 || return 1
    # shellcheck source=/dev/null
    . "$base/env.sh"; }
