#!/bin/sh
# Model-checks tests/model/agreement.pml with spin: generates the verifier
# (spin -a), compiles it (gcc), runs an exhaustive safety search (assertions
# P1, P2, P3 and invalid end states), for several sizes and environments.
# Prints the states explored and the time of each run; exits non-zero on
# any error (or if the NAIVE negative control is NOT refuted), and when
# spin or a C compiler is missing (tools/deps installs both); 77 (skip)
# instead only under a developer's MIMAMORI_ALLOW_SKIP (tools/check).
# Works in a temporary directory: the source tree is never written.
#
#   tests/model/run-spin.sh           default suite (~3 min on 2 vCPUs)
#   tests/model/run-spin.sh --full    also the larger runs (~30 min under load)
#
# On a failure, the counterexample is replayed (spin -t) into the output.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
model="$here/agreement.pml"
full=0
for arg in "$@"; do
	case "$arg" in
	--full) full=1 ;;
	*) echo "usage: $0 [--full]" >&2; exit 2 ;;
	esac
done

# missing TOOL: fails (a skip, exit 77, only under MIMAMORI_ALLOW_SKIP)
missing() {
	echo "$1 not found on PATH: tools/deps installs it"
	[ -n "${MIMAMORI_ALLOW_SKIP:-}" ] && exit 77
	exit 1
}
command -v spin >/dev/null 2>&1 || missing spin
cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || missing "the C compiler $cc"

work=$(mktemp -d "${TMPDIR:-/tmp}/mimamori-spin.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cp "$model" "$work/agreement.pml"
cd "$work"

failures=0
total_states=0

# check EXPECT OPT NAME -D...: EXPECT is "pass" (no error) or "refuted"
# (spin must find a counterexample: the negative control); OPT is the C
# optimisation level of the verifier (-O0 compiles fast, -O2 runs fast).
check() {
	expect=$1
	opt=$2
	name=$3
	shift 3
	rm -f pan pan.* agreement.pml.trail
	if ! spin -a "$@" agreement.pml >spin.log 2>&1; then
		echo "FAIL  $name: spin -a failed"
		cat spin.log
		failures=$((failures + 1))
		return
	fi
	# pan.c is generated code: its warnings are not ours.
	if ! "$cc" "$opt" -w -DSAFETY -o pan pan.c >cc.log 2>&1; then
		echo "FAIL  $name: compiling the verifier failed"
		cat cc.log
		failures=$((failures + 1))
		return
	fi
	start=$(date +%s.%N)
	./pan -m3000000 >pan.out 2>&1 || true
	end=$(date +%s.%N)
	secs=$(echo "$start $end" | awk '{ printf "%.1f", $2 - $1 }')
	errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' pan.out | head -1)
	states=$(sed -n 's/^ *\([0-9][0-9]*\) states, stored.*/\1/p' pan.out | head -1)
	incomplete=0
	if grep -q -e "max search depth too small" -e "out of memory" -e "Search not completed" pan.out &&
		[ "${errors:-1}" = 0 ]; then
		incomplete=1
	fi
	what=$(grep -o -m1 -e "assertion violated.*" -e "invalid end state.*" pan.out || true)
	if [ -z "$errors" ] || [ -z "$states" ] || [ "$incomplete" = 1 ]; then
		echo "FAIL  $name: verifier did not complete"
		tail -30 pan.out
		failures=$((failures + 1))
		return
	fi
	total_states=$((total_states + states))
	if [ "$expect" = pass ] && [ "$errors" = 0 ]; then
		printf 'ok    %-58s %10s states %6s s\n' "$name" "$states" "$secs"
	elif [ "$expect" = refuted ] && [ "$errors" != 0 ]; then
		printf 'ok    %-58s refuted as expected (%s) %6s s\n' "$name" "$what" "$secs"
	elif [ "$expect" = refuted ]; then
		echo "FAIL  $name: the negative control was not refuted ($states states)"
		failures=$((failures + 1))
	else
		echo "FAIL  $name: $what"
		echo "----- counterexample (spin -t -p), statements only:"
		spin -t -p "$@" agreement.pml 2>&1 | grep -E '^ *[0-9]+:' | grep -v ':init:' | tail -80
		echo "-----"
		failures=$((failures + 1))
	fi
}

echo "spin $(spin -V | sed -n 's/^Spin Version \([^ ]*\).*/\1/p'): $model"
# N = members (H + N-1 deciders). Non-FIFO delivery unless -DFIFO.
check pass -O0 "N=3 crash+hang, partition+heal, refutation" -DN=3
check pass -O0 "N=3 same, plus one lost message" -DN=3 -DMAXLOSS=1
check pass -O0 "N=3 same, fencing method none" -DN=3 -DFENCE_NONE
check pass -O2 "N=3 handover, overdue notifier (issue 10, item 9)" -DN=3 -DHANDOVER
check pass -O2 "N=3 handover, no crash (P3: the next rank notifies)" -DN=3 -DHANDOVER -DMAXCRASH=0
check refuted -O0 "N=3 NAIVE rule (negative control: heal race)" -DN=3 -DNAIVE
check pass -O2 "N=4 crash+hang, partition+heal (FIFO)" -DN=4 -DFIFO -DNOREFUTE
check pass -O2 "N=5 partitions+heal, no crash" -DN=5 -DNOHCRASH -DMAXCRASH=0 -DNOREFUTE
check pass -O0 "N=5 H down, divergent views (yield, lead)" -DN=5 -DHSTART -DNOPARTITION -DNOREFUTE -DMAXCRASH=0
# issue 10: a decider restarted with empty state after its crash; H's
# daemon down with its kernel answering (and the control without the
# refusal rule); H's observer ring smaller than the other members (K < N-1)
check pass -O0 "N=3 decider crash + restart with empty state" -DN=3 -DMAXRESTART=1
check pass -O0 "N=3 H's daemon down, its kernel refusing" -DN=3 -DHDAEMON
check refuted -O0 "N=3 refused probe as unanswered (negative control)" -DN=3 -DHDAEMON -DNOREFUSAL
check pass -O2 "N=5 observer ring K=2, partitions+heal, no crash" -DN=5 -DK=2 -DNOHCRASH -DMAXCRASH=0 -DNOREFUTE
# issue 10, the code's rules since (agreement.pml, -DVIEWS, -DOUTAGE):
# have_majority, may_observe and restart_observations (reconnection,
# silence, a member held DEAD heard again: ad884a1), probe acks; a full
# outage healed one member at a time, with its control (no restart and no
# deaf rule, cf8388d: spin finds the fence of a healthy host after a
# staggered heal), and with H's daemon down; H's daemon
# stopped then running again (2094cb6), with membership's DEAD at a newer
# incarnation (d9491b7) and its control (the old "already dead: ignore":
# a power loss never notified). The deaf-gap restart of a run (856189f)
# and a063480's "a peer heard at the run's end" are in every -DVIEWS run
# (-DNODEAFGAP removes the first: nothing changes at N = 3), give_way
# (f521790) in the -DHANDOVER runs (-DNOGIVEWAY: nothing changes). -O0: compiling pan.c at -O2 costs more
# than it saves on these small runs.
check pass -O0 "N=3 views: majority, silence, restarts; partition+heal" -DN=3 -DVIEWS
check pass -O0 "N=3 full outage, staggered heal, no crash" -DN=3 -DOUTAGE -DNOPARTITION -DMAXCRASH=0
check refuted -O0 "N=3 outage without restarts nor deaf rule (control)" -DN=3 -DOUTAGE -DNOPARTITION -DMAXCRASH=0 -DNORESTART -DNODEAF
check pass -O0 "N=3 outage, H's daemon down (refusals, holds)" -DN=3 -DOUTAGE -DNOPARTITION -DMAXCRASH=0 -DHDAEMON
check refuted -O0 "N=3 same without the deaf rule (control: cf8388d)" -DN=3 -DOUTAGE -DNOPARTITION -DMAXCRASH=0 -DHDAEMON -DNODEAF
check pass -O0 "N=3 H's daemon stopped, then running (refutes)" -DN=3 -DHDAEMON -DHSTALL
check refuted -O0 "N=3 same, DEAD at a newer incarnation ignored (control)" -DN=3 -DHDAEMON -DHSTALL -DNODEADNEWER
if [ "$full" = 1 ]; then
	# ~45 M states, ~2.5 min and ~5 GB here since observing from SUSPECT on.
	check pass -O2 "N=4 crash+hang, partition+heal, refutation (FIFO)" -DN=4 -DFIFO
	check pass -O2 "N=3 two lost messages" -DN=3 -DMAXLOSS=2
	check pass -O2 "N=4 fencing method none (FIFO)" -DN=4 -DFIFO -DFENCE_NONE
	check pass -O2 "N=4 one lost message, no crash (FIFO)" -DN=4 -DFIFO -DMAXLOSS=1 -DMAXCRASH=0
	check pass -O2 "N=5 H down, notifier crash or hang (FIFO)" -DN=5 -DFIFO -DHSTART -DNOPARTITION -DNOREFUTE
	# ~30 M states since the refusal is its own step (was 9.2 M)
	check pass -O2 "N=4 H's daemon down, crash+hang, partition+heal (FIFO)" -DN=4 -DFIFO -DNOREFUTE -DHDAEMON
	check pass -O0 "N=3 restart and H's daemon down" -DN=3 -DMAXRESTART=1 -DHDAEMON
	# ~9 M states, ~3 min: an outage and a partition in the same run
	check pass -O2 "N=3 full outage and a partition, no crash" -DN=3 -DOUTAGE -DMAXCRASH=0
	# 2.4 M states: an outage and a decider's crash or hang
	check pass -O2 "N=3 full outage, decider crash+hang" -DN=3 -DOUTAGE -DNOPARTITION
fi

echo "states explored in total: $total_states"
if [ "$failures" -ne 0 ]; then
	echo "$failures model check(s) FAILED"
	exit 1
fi
echo "all model checks passed"
