#!/bin/bash
# tests/fuzz/run.sh NAME FLOOR EXE [libFuzzer args...]
# Runs one libFuzzer target and judges the run by what it did, not only by
# its exit status: libFuzzer exits 0 after a run of 0 inputs too (a seed
# directory that vanished, a flag it ignored, a time budget eaten by a
# stalled machine). Prints one line
#   fuzz NAME: RUNS inputs in SECS s (RATE/s), cov COV ft FT, corpus N
# and fails when the target crashed, or ran fewer than FLOOR inputs.
# The log of the run is kept next to the corpus (NAME.log in the cwd).
set -u
name=${1:?usage: run.sh NAME FLOOR EXE [args...]}
floor=${2:?floor}
exe=${3:?exe}
shift 3
# meson passes the target as a path relative to the test's workdir.
case $exe in */*) ;; *) exe=./$exe ;; esac
log=$PWD/fuzz-$name.log

t0=$EPOCHREALTIME
"$exe" -print_final_stats=1 "$@" >"$log" 2>&1
rc=$?
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b - a}')

stat() { sed -n "s/^stat::$1: *\([0-9]*\)\$/\1/p" "$log" | tail -1; }
runs=$(stat number_of_executed_units)
rate=$(stat average_exec_per_sec)
# The last status line ("#N DONE cov: X ft: Y corp: C/S ...") has the
# coverage at the end; INITED is all a run that stopped early printed.
last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED|NEW|REDUCE|pulse)' "$log" | tail -1)
field() { sed -n "s/.* $1: \([0-9]*\).*/\1/p" <<<"$last"; }
echo "fuzz $name: ${runs:-?} inputs in $secs s (${rate:-?}/s), cov $(field cov) ft $(field ft), corpus $(field corp)"

if [ "$rc" != 0 ]; then
    echo "fuzz $name: FAILED: the target exited $rc (log: $log):"
    grep -E 'ERROR|SUMMARY|Test unit written|runtime error|==[0-9]+==' "$log" | head -20
    exit 1
fi
if [ -z "$runs" ]; then
    echo "fuzz $name: FAILED: no stat::number_of_executed_units in $log"
    tail -20 "$log"
    exit 1
fi
if [ "$runs" -lt "$floor" ]; then
    echo "fuzz $name: FAILED: $runs inputs, fewer than the floor $floor (log: $log)"
    tail -20 "$log"
    exit 1
fi
exit 0
