#!/bin/bash
# tools/check's count (tools/check_count.py) over crafted meson test logs
# (TAP): every way a test can skip a part of itself is counted as a skip and
# fails the run unless MIMAMORI_ALLOW_SKIP names the test; failures, missing
# logs and silent meson errors are failures; the last line is the count.
# usage: check_count_test.sh [SOURCE_ROOT]
set -u
src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
count=$src/tools/check_count.py
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mimamori-check-count.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
unset MIMAMORI_ALLOW_SKIP

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; printf '# %s\n' "$@"; }

# log FILE NAME RESULT RC STDOUT [STDERR]: one testlog.json line
log() {
    /usr/bin/python3 -c 'import json, sys
d = {"name": sys.argv[2], "result": sys.argv[3], "returncode": int(sys.argv[4]), "stdout": sys.argv[5]}
if len(sys.argv) > 6: d["stderr"] = sys.argv[6]
open(sys.argv[1], "a").write(json.dumps(d) + "\n")' "$@"
}

# (no hash sign in a DESC: meson's TAP parser would take it for a directive)
# expect DESC WANT_RC WANT_LAST_LINE [GREP_PATTERN...] -- ARGS...: runs the
# counter; its exit status, its last line and each pattern must match
expect() {
    local desc=$1 want_rc=$2 want_last=$3 pats=() out rc last p bad=()
    shift 3
    while [ $# -gt 0 ] && [ "$1" != -- ]; do pats+=("$1"); shift; done
    shift
    out=$(/usr/bin/python3 "$count" "$@" 2>&1); rc=$?
    last=$(printf '%s\n' "$out" | tail -n 1)
    [ "$rc" = "$want_rc" ] || bad+=("exit status $rc, want $want_rc")
    [ "$last" = "$want_last" ] || bad+=("last line '$last', want '$want_last'")
    for p in "${pats[@]}"; do
        printf '%s\n' "$out" | grep -qE -- "$p" || bad+=("no line matches /$p/")
    done
    if [ ${#bad[@]} = 0 ]; then ok "$desc"; else not_ok "$desc" "${bad[@]}" "output:" "$out"; fi
}

TAP_OK=$'1..3\nok 1 - first\nok 2 - issue #8 is fixed\nok 3 - third'
L=$tmp/pass.json
log "$L" "mimamori:unit / correlate" OK 0 $'[==========] Running 2 test(s).\n[  PASSED  ] 2 test(s).'
log "$L" "mimamori:unit / man-pages" OK 0 "$TAP_OK"
expect "all passed: exit 0, no skip (a hash sign in a description is no directive)" 0 "2 passed, 0 failed, 0 skipped" \
    -- --run test 0 "$L"

L=$tmp/tap-subtest.json
log "$L" "mimamori:integration+mesh-netns / mesh" OK 0 \
    $'1..3\nok 1 - up\nok 2 - pacemaker: view # SKIP needs Debian package corosync (tools/deps)\nok 3 - down'
expect "a TAP subtest with a SKIP directive in a test meson calls OK is a skip, and fails the run" 1 "0 passed, 0 failed, 1 skipped" \
    '^SKIPPED mimamori:integration\+mesh-netns / mesh$' 'ok 2 - pacemaker: view # SKIP needs Debian package corosync' \
    'not allowed' -- --run test 0 "$L"

L=$tmp/tap-all.json
log "$L" "mimamori:integration / probe" SKIP 0 $'1..0 # SKIP needs root (CAP_BPF, CAP_PERFMON, cgroups)'
expect "a TAP plan 1..0 with SKIP is a skip, with its reason" 1 "0 passed, 0 failed, 1 skipped" \
    '^SKIPPED mimamori:integration / probe$' '1\.\.0 # SKIP needs root' -- --run test 0 "$L"

L=$tmp/cmocka.json
log "$L" "mimamori:unit / metrics" OK 0 \
    $'[==========] Running 2 test(s).\n[ RUN      ] a\n[       OK ] a\n[  SKIPPED ] test_promtool_accepts\n[==========] 2 test(s) run.\n[  PASSED  ] 1 test(s).\n[  SKIPPED ] 1 test(s), listed below:\n[  SKIPPED ] test_promtool_accepts\n\n 1 SKIPPED TEST(S)'
expect "cmocka's [  SKIPPED ] in a test meson calls OK is a skip" 1 "0 passed, 0 failed, 1 skipped" \
    '^SKIPPED mimamori:unit / metrics$' 'SKIPPED \] test_promtool_accepts' -- --run test 0 "$L"

L=$tmp/cmocka-stderr.json
log "$L" "mimamori:rpc / rpc_tls" OK 0 "[  PASSED  ] 1 test(s)." "[  SKIPPED ] test_x"
expect "a skip on the test's separate stderr counts too" 1 "0 passed, 0 failed, 1 skipped" \
    '^SKIPPED mimamori:rpc / rpc_tls$' -- --run test 0 "$L"

L=$tmp/exit77.json
log "$L" "mimamori:model / agreement_model" SKIP 77 "SKIP: spin not installed"
log "$L" "mimamori:unit / tap77" FAIL 77 $'1..0'
expect "exit 77 is a skip (meson's SKIP, and a TAP test's FAIL with status 77)" 1 "0 passed, 0 failed, 2 skipped" \
    '^SKIPPED mimamori:model / agreement_model$' 'spin not installed' '^SKIPPED mimamori:unit / tap77$' \
    -- --run test 0 "$L"

L=$tmp/todo.json
log "$L" "mimamori:unit / t1" OK 0 $'1..2\nok 1 - a\nnot ok 2 - b # TODO later'
log "$L" "mimamori:unit / t2" OK 0 $'1..2\nok 1 - a\nok 2 - b # skipped: no tool'
expect "TAP TODO and a lower-case 'skipped' directive are skips" 1 "0 passed, 0 failed, 2 skipped" \
    'not ok 2 - b # TODO later' 'ok 2 - b # skipped: no tool' -- --run test 0 "$L"

L=$tmp/fail.json
log "$L" "mimamori:unit / a" OK 0 "$TAP_OK"
log "$L" "mimamori:unit / b" FAIL 1 $'1..2\nok 1 - x\nnot ok 2 - y\n# got 1'
log "$L" "mimamori:integration / c" TIMEOUT -15 $'# step 3: waiting\n# still waiting'
log "$L" "mimamori:unit / d" ERROR 1 $'1..2\nBail out! no stack'
expect "FAIL, TIMEOUT and ERROR are failures, with their reasons" 1 "1 passed, 3 failed, 0 skipped" \
    '^FAILED  mimamori:unit / b$' 'not ok 2 - y' '^FAILED  mimamori:integration / c$' 'result TIMEOUT' \
    'still waiting' 'Bail out! no stack' -- --run test 1 "$L"

L=$tmp/why.json
log "$L" "mimamori:unit / metrics" FAIL 1 \
    $'[ RUN      ] test_promtool_accepts\nERROR: promtool not found on PATH: tools/deps installs it\n[  FAILED  ] test_promtool_accepts'
log "$L" "mimamori:rpc / rpc_server" FAIL 1 "[  PASSED  ] 9 test(s)." \
    $'\n=================================================================\n==4242==ERROR: LeakSanitizer: detected memory leaks\n\nDirect leak of 64 byte(s) in 1 object(s) allocated from:'
expect "a failure's reason: cmocka's fail_msg line, the sanitizer's report" 1 "0 passed, 2 failed, 0 skipped" \
    '^        ERROR: promtool not found on PATH' '^        ==4242==ERROR: LeakSanitizer: detected memory leaks' \
    -- --run test 1 "$L"

L=$tmp/both.json
log "$L" "mimamori:unit / e" FAIL 1 $'1..2\nok 1 - x # SKIP why\nnot ok 2 - y'
expect "a test with a failure and a skip counts once, as failed" 1 "0 passed, 1 failed, 0 skipped" \
    '^FAILED  mimamori:unit / e$' -- --run test 1 "$L"

L=$tmp/allow.json
log "$L" "mimamori:integration / probe" SKIP 0 $'1..0 # SKIP needs root'
log "$L" "mimamori:unit / metrics" OK 0 "[  SKIPPED ] test_promtool_accepts"
log "$L" "mimamori:integration / metrics" SKIP 0 $'1..0 # SKIP needs promtool'
log "$L" "mimamori:unit / a" OK 0 "$TAP_OK"
MIMAMORI_ALLOW_SKIP="probe unit/metrics integration/metrics" \
    expect "MIMAMORI_ALLOW_SKIP allows the skips it names (bare name or suite/name), still counted" 0 \
    "1 passed, 0 failed, 3 skipped" 'SKIPPED mimamori:integration / probe \(allowed' \
    'allowance MIMAMORI_ALLOW_SKIP: ' -- --run test 0 "$L"
MIMAMORI_ALLOW_SKIP="probe integration/metrics nosuch" \
    expect "a skip the allowance does not name fails the run; unknown names are reported" 1 \
    "1 passed, 0 failed, 3 skipped" '^SKIPPED mimamori:unit / metrics$' 'names no test of this run: nosuch' \
    '1 skipped test\(s\) not allowed' -- --run test 0 "$L"
MIMAMORI_ALLOW_SKIP="metrics" \
    expect "a bare name allows the test of that name in every suite" 1 "1 passed, 0 failed, 3 skipped" \
    '1 skipped test\(s\) not allowed' -- --run test 0 "$L"

L=$tmp/fuzz.json
log "$L" "mimamori:fuzz / fuzz_config" OK 0 "INFO: done 12345 runs"
expect "two runs (the ASan build's tests and the fuzz build's) are summed" 1 "2 passed, 3 failed, 0 skipped" \
    -- --run test 1 "$tmp/fail.json" --run fuzz 0 "$L"
expect "a run without a test log is a failure naming its step" 1 "2 passed, 1 failed, 0 skipped" \
    '^FAILED  step fuzz$' 'left no test log' -- --run test 0 "$tmp/pass.json" --run fuzz 1 "$tmp/none.json"
: > "$tmp/empty.json"
expect "a run that ran no test is a failure" 1 "0 passed, 1 failed, 0 skipped" 'no test ran' \
    -- --run test 0 "$tmp/empty.json"
expect "meson exiting non-zero with no failed test in its log is a failure" 1 "2 passed, 1 failed, 0 skipped" \
    'exited 1 although no test' -- --run test 1 "$tmp/pass.json"
expect "a failed step without tests (deps) counts as one failure" 1 "2 passed, 1 failed, 0 skipped" \
    '^FAILED  step deps: ./tools/deps' -- --failed-step "deps: ./tools/deps (exit 1)" --run test 0 "$tmp/pass.json"
printf '%s\n' '{"name": "x", "result": "OK"' >> "$tmp/broken.json"
log "$tmp/broken.json" "mimamori:unit / a" OK 0 "$TAP_OK"
expect "an unreadable log line is a failure" 1 "1 passed, 1 failed, 0 skipped" 'broken.json:1: unreadable' \
    -- --run test 0 "$tmp/broken.json"
expect "bad usage: exit 2" 2 "check_count.py: bad argument '--nosuch' (see its header)" -- --nosuch

echo "1..$n"
[ "$failed" = 0 ]
