#!/bin/sh
# Fixed-seed scenarios of tools/mimamori-sim (suite 'sim'): N daemons' mesh
# cores (membership + agreement) on a simulated network. Each case checks
# the fields of the simulator's per-run lines ("run ... key=value ...", each
# field checked must be there), and every run must pass the simulator's own
# judgement: exit 0 (4 is a VIOLATION: a false verdict, fence or POST, an
# action without a majority, a duplicate or missing POST, a core error), and
# core_errors=0 (a core returned an unexpected error) and tick_spins=0 (the
# tick loop's livelock guard fired) in every run line.
# A failing run line names its seed: replay it with
#   mimamori-sim <same options> --seed S --runs 1 --trace
# usage: sim_test.sh MIMAMORI_SIM CASE
set -u
sim=$1
case_name=$2
out=$(mktemp "${TMPDIR:-/tmp}/mimamori-sim-test.XXXXXX") || exit 1
trap 'rm -f "$out" "$out".*' EXIT
# nemesis_clean WHY SEED/N...: each schedule (a seed found red by the random
# campaign, kept with its fix) runs without a safety violation or livelock.
nemesis_clean() {
	local why=$1 sn rc
	shift
	for sn in "$@"; do
		"$sim" nemesis --schedules 1 --seed "${sn%/*}" --nodes "${sn#*/}" --quiet >"$out.seed" 2>"$out.err"
		rc=$?
		if [ "$rc" -ne 0 ] || ! grep -q '^safety violations (fence, POST, unfenced, missed): 0; core errors / livelocks: 0$' "$out.seed"; then
			echo "FAIL: nemesis seed ${sn%/*} at N = ${sn#*/} exited $rc ($why)"
			cat "$out.seed"
			exit 1
		fi
	done
}

# mimamorid runs the agreement with the core's defaults (mesh/agreement.h:
# probe every 200 ms from suspicion, 1.2 s unreachable window, 100 ms claim
# settle); the simulator does too. Set DAEMON_ARGS here if the daemon ever
# overrides them, so the simulator judges the daemon's settings.
DAEMON_ARGS=""
run() {
	echo "# mimamori-sim $* $DAEMON_ARGS"
	# shellcheck disable=SC2086
	sim_ok "$out" "$@" $DAEMON_ARGS
	expect core_errors 0 tick_spins 0
}

# sim_ok FILE ARGS...: runs the simulator into FILE; fails the test unless it
# exits 0 with no VIOLATION in its report
sim_ok() {
	f=$1
	shift
	"$sim" "$@" >"$f" 2>"$out.err"
	rc=$?
	if [ "$rc" -ne 0 ] || grep -q VIOLATION "$f"; then
		case $rc in
		0) why="a VIOLATION in its report" ;;
		4) why="a run violated a rule (VIOLATION)" ;;
		*) why="an error" ;;
		esac
		echo "FAIL: mimamori-sim $* exited $rc: $why"
		grep VIOLATION "$f"
		cat "$f"
		tail -n 5 "$out.err"
		exit 1
	fi
}

# expect_max FIELD BOUND: every run line has FIELD <= BOUND (a number).
expect_max() {
	awk -v f="$1" -v bound="$2" '
		/^run / {
			runs++
			seen = 0
			for (i = 1; i <= NF; i++) {
				split($i, kv, "=")
				if (kv[1] == f) {
					seen = 1
					if (kv[2] + 0 > bound + 0) {
						printf "FAIL %s: %s=%s, bound %s\n", $4, f, kv[2], bound
						bad = 1
					}
				}
			}
			if (!seen) {
				printf "FAIL %s: no field %s\n", $4, f
				bad = 1
			}
		}
		END { if (runs == 0) { print "FAIL: no run line"; bad = 1 } exit bad }' "$out" || {
		cat "$out"
		exit 1
	}
}

# expect FIELD VALUE ...: every run line has FIELD=VALUE.
expect() {
	awk -v spec="$*" '
		BEGIN { n = split(spec, a, " "); for (i = 1; i < n; i += 2) want[a[i]] = a[i + 1] }
		/^run / {
			runs++
			split("", seen)
			for (i = 1; i <= NF; i++) {
				split($i, kv, "=")
				if (kv[1] in want) {
					seen[kv[1]] = 1
					if (kv[2] != want[kv[1]]) {
						printf "FAIL %s: %s=%s, expected %s\n", $4, kv[1], kv[2], want[kv[1]]
						bad = 1
					}
				}
			}
			for (k in want)
				if (!(k in seen)) {
					printf "FAIL %s: no field %s\n", $4, k
					bad = 1
				}
		}
		END { if (runs == 0) { print "FAIL: no run line"; bad = 1 } exit bad }' "$out" || {
		cat "$out"
		exit 1
	}
}

case "$case_name" in
crash)
	# one crash among 20: dead at every live member, one NOTIFY_HOST
	# (202), no false declaration of any kind
	run --nodes 20 --scenario crash --seed 1 --runs 10 --duration 20
	expect failures 1 all_dead 1 notified 1 posts 1 dup_posts 0 \
		false_deaths 0 false_verdicts 0 false_fences 0 false_posts 0 \
		no_majority_verdicts 0 no_majority_posts 0
	;;
crash_fast)
	# detection bound with the defaults: one crash among 20 at 5% loss, a
	# fence command that takes 10 ms (like the real mesh's): crash ->
	# COMPUTE_HOST stored within 3 s in every run (p50 ~1.6 s: suspicion
	# ~0.3-0.5 s + 1.2 s window + 0.1 s settle; the tail is membership's
	# late suspicion); exactly one POST
	run --nodes 20 --scenario crash --loss 0.05 --fence-delay 0.01 --seed 1 --runs 20 --duration 20
	expect failures 1 all_dead 1 notified 1 posts 1 dup_posts 0 \
		false_verdicts 0 false_fences 0 false_posts 0 no_majority_posts 0
	expect_max notify_max 3.0
	;;
crash_claims)
	# two deciders with different evidence (one observation missing at
	# one of them) both rank themselves 0 for the same crash and claim;
	# the better one's CLAIMED to the other was lost (a claim goes to a
	# subset, sent once per resend_interval), and hearing the weaker claim
	# it did nothing: before the fix, both fenced after the settle and both
	# POSTed (duplicate-POST in 6 of seeds 1..300 at N=20, 5 at N=50,
	# mimamori-sim --scenario crash --loss 0.05 --fence-delay 0.01). A claimer
	# now answers a weaker competing claim directly and re-tells its own
	# half-way through the settle, so the weaker one yields before it
	# fences (agreement.h, Who notifies): exactly one fence and one POST.
	# The seeds below were all red.
	for seed in 55 101 128 137 259 300; do
		run --nodes 20 --scenario crash --loss 0.05 --fence-delay 0.01 --seed "$seed" --runs 1
		expect failures 1 notified 1 posts 1 dup_posts 0 posts_per_failure 1..1 \
			false_verdicts 0 false_fences 0 false_posts 0
	done
	for seed in 120 190 229 234 279; do
		run --nodes 50 --scenario crash --loss 0.05 --fence-delay 0.01 --seed "$seed" --runs 1
		expect failures 1 notified 1 posts 1 dup_posts 0 posts_per_failure 1..1 \
			false_verdicts 0 false_fences 0 false_posts 0
	done
	;;
stall_1s)
	# SIGSTOP-like stalls of 1-1.1 s, again and again, at 5% loss: membership
	# may declare the node dead, the agreement must not (its window counts
	# from the suspicion, >= ~0.1 s into the stall): no verdict, fence, POST.
	# N=5 (every other member probes) and N=20.
	run --nodes 5 --scenario starved --loss 0.05 --stall 1-1.1 --stall-gap 1-3 --seed 1 --runs 10 --duration 60
	expect verdicts 0 false_verdicts 0 false_fences 0 posts 0
	run --nodes 20 --scenario starved --loss 0.05 --stall 1-1.1 --stall-gap 1-3 --seed 1 --runs 4 --duration 60
	expect verdicts 0 false_verdicts 0 false_fences 0 posts 0
	;;
stall_long)
	# a daemon hung for 2-3 s (longer than the window) on a running kernel,
	# again and again, at 5% loss: its kernel completes its peers' connects
	# (mimamorid's refusal probe), so the host is up, never fenced (issue 10,
	# item 2: a hung monitor is reported, not fenced). Red before: 5 fences
	# and 5 POSTs of the healthy host over these runs.
	run --nodes 5 --scenario starved --loss 0.05 --stall 2-3 --stall-gap 1-3 --seed 1 --runs 5 --duration 60
	expect verdicts 0 false_verdicts 0 false_fences 0 posts 0
	;;
partition)
	# N=5 cut 2|3: the minority never declares nor notifies; the majority
	# declares both minority hosts (agreement.h: a host a majority cannot
	# reach is failed) and each gets exactly one POST
	run --nodes 5 --scenario partition --minority 2 --seed 1 --runs 10 --duration 30
	expect failures 2 all_dead 2 notified 2 posts 2 dup_posts 0 posts_per_failure 1..1 \
		no_majority_verdicts 0 no_majority_posts 0 \
		false_verdicts 0 false_fences 0 false_posts 0
	;;
partition_lossy)
	# the 2|3 cut again at 5% loss over tcp-like links: every observation
	# is re-sent on its own timer (200 ms after the first, then every 1 s),
	# not only when the observer's next probe times out, so a lost or early
	# one cannot hold the majority side's verdict for a resend / TTL period
	# (seen on the real mesh: ~25 s); each minority host stored within 6 s
	run --nodes 5 --scenario partition --minority 2 --loss 0.05 --transport tcp --seed 1 --runs 20 --duration 30
	expect failures 2 all_dead 2 notified 2 posts 2 dup_posts 0 posts_per_failure 1..1 \
		no_majority_verdicts 0 no_majority_posts 0 false_verdicts 0 false_fences 0 false_posts 0
	expect_max notify_max 6.0
	;;
starved)
	# 5% loss and one CPU-starved node (stalls of 0.5-1.1 s) for 60 s:
	# membership may declare it dead (membership.h: a stall >= 1.2 s is),
	# the agreement must not: no verdict, no fence, no POST. (Stalls longer
	# than the window, >= ~1.3 s, ARE declared: agreement.h.)
	run --nodes 20 --scenario starved --loss 0.05 --stall 0.5-1.1 --seed 1 --runs 5 --duration 60
	expect verdicts 0 false_fences 0 posts 0
	;;
starved_short)
	# the same with stalls of 0.5-1 s
	run --nodes 20 --scenario starved --loss 0.05 --stall 0.5-1 --seed 1 --runs 5 --duration 60
	expect verdicts 0 false_fences 0 posts 0
	;;
flapping)
	# a node unreachable 0.5-1 s, reachable 1-3 s, for 60 s: no false
	# POST, and no fence of it while it is reachable (unreachable from
	# everyone for longer than the window, ~1.3 s, it is declared)
	run --nodes 20 --scenario flapping --flap-down 0.5-1 --seed 1 --runs 5 --duration 60
	expect false_posts 0 false_fences 0 no_majority_posts 0
	;;
flapping_short)
	# the same with unreachable periods of 0.5-0.8 s
	run --nodes 20 --scenario flapping --flap-down 0.5-0.8 --seed 1 --runs 5 --duration 60
	expect false_posts 0 false_fences 0 posts 0
	;;
staggered_heal)
	# a switch reload (issue 10, item 1): every link down 4-10 s, so no
	# side has a majority and nodes hold each other dead; then a bare
	# majority back at once and each other node 0.3 s / 0.8 s later (inside
	# the 1.2 s window). Nobody failed: no verdict, no fence, no POST. The
	# observations made while cut off are stale: a node that regains a
	# majority, or hears a peer after a silence, restarts them
	# (agreement.h). Before that fix, 51 of 200 seeds at N=5 declared a
	# late node and 38 POSTed it.
	run --nodes 5 --scenario staggered-heal --seed 1 --runs 40 --duration 30
	expect verdicts 0 posts 0 false_fences 0 no_majority_verdicts 0
	run --nodes 7 --scenario staggered-heal --seed 1 --runs 10 --duration 30
	expect verdicts 0 posts 0 false_fences 0 no_majority_verdicts 0
	;;
daemon_kill)
	# a healthy host's daemon SIGKILLed (issue 10, item 2): its kernel
	# refuses the peers' connections, which the agreement takes as "host
	# up, monitor down" (agreement_on_peer_refused). Restarted 1.45 s later
	# (RestartSec=1s + start-up) or left down for the whole 30 s: no
	# verdict, fence or POST. Before that input, daemon-down fenced and
	# POSTed the host in 100 of 100 seeds at N=5.
	run --nodes 5 --scenario daemon-restart --seed 1 --runs 40 --duration 30
	expect verdicts 0 posts 0 false_fences 0
	run --nodes 5 --scenario daemon-down --seed 1 --runs 40 --duration 30
	expect verdicts 0 posts 0 false_fences 0
	run --nodes 20 --scenario daemon-down --seed 1 --runs 10 --duration 30
	expect verdicts 0 posts 0 false_fences 0
	;;
nemesis)
	# random fault schedules (tools/sim/nemesis.h: partitions, splits, full
	# outages healed at once or one by one, power losses, flapping, loss
	# bursts, delay spikes, stalls, daemon SIGKILL + restart, daemon down
	# with its kernel answering, one-way blocks, inbound cuts, member-file
	# drift) judged against the ground truth: no fence or COMPUTE_HOST of a
	# host that was not impaired for a whole window, every power loss
	# notified (202) after its fence. A fixed set of seeds at N = 5..20
	# that pass on this tree, every fault kind at least once. The random
	# campaign (docs/BENCHMARKS.md, Safety in the simulator) still finds
	# violations on other seeds; add a seed here with its fix.
	seeds=1000,1001,1002,1003,1005,1007,1011,1013,1017,1019,1021,1024,1026,1029
	echo "# mimamori-sim nemesis --seeds $seeds --nodes 5..20 --quiet"
	"$sim" nemesis --seeds "$seeds" --nodes 5..20 --quiet >"$out" 2>"$out.err"
	rc=$?
	if [ "$rc" -ne 0 ] || ! grep -q '^safety violations (fence, POST, unfenced, missed): 0; core errors / livelocks: 0$' "$out"; then
		echo "FAIL: nemesis exited $rc"
		cat "$out"
		tail -n 5 "$out.err"
		exit 1
	fi
	# every fault kind injected, every power loss notified
	awk -F'|' '
		/^\| fault \| injected/ { t = 1; next }
		t && /^\|---/ { next }
		t && /^\| / { kinds++; if ($3 + 0 < 1) { print "FAIL: fault never injected:" $2; bad = 1 } next }
		t { t = 0 }
		/^\| [0-9]+ \| / { if ($5 + 0 != $6 + 0 || $5 + 0 < 1) { print "FAIL: power losses" $5 "notified" $6; bad = 1 } }
		END { if (kinds != 14) { print "FAIL: " kinds " fault kinds in the table, expected 14"; bad = 1 } exit bad }' "$out" || {
		cat "$out"
		exit 1
	}
	# power losses never notified the campaign found: two claimers that
	# both fenced, each yielded to the other (2/30); a DEAD at a newer
	# incarnation ignored by members holding the older one, designated
	# observers of the host among them (96/25)
	nemesis_clean "a power loss never notified?" 2/30 96/25
	# seed 11 at N = 46: a refusal held a run past its window while the
	# agreement offered the window's end as its deadline, already past: the
	# mesh thread spun until the hold ended (a livelock the campaign found)
	nemesis_clean "livelock after a refusal?" 11/46
	# fences of healthy hosts the campaign found: a split the deciders' live
	# count never noticed, both sides' observations counted at its heal
	# (111/19, 99/50, 117/41, 201/33); a daemon-down host whose outage-made
	# observations, delivered at the heal, joined a later split's (163/24,
	# 332/16, 365/17)
	nemesis_clean "a healthy host fenced?" 111/19 99/50 117/41 201/33 163/24 332/16 365/17
	# fences of hosts cut off from a bare majority or across outages, counted
	# with observations of members that could not hear (mesh/agreement.c
	# deaf()): a member receiving nothing (an inbound cut, the first
	# seconds of a full outage) finds every member unreachable, and its
	# observation was the n/2 + 1-th (136/41, 1410/29, 2098/20: an inbound
	# cut inside a bare majority; 125/16, 1960/25, 3836/18, 2120/7, 4724/9,
	# 4873/10: outages)
	nemesis_clean "an observer that could not hear counted?" 136/41 1410/29 2098/20 125/16 \
		1960/25 3836/18 2120/7 4724/9 4873/10
	# a flapping member of a bare majority deaf for part of its run (its run
	# began before an isolation and ended after it): only what follows the
	# gap counts (3096/11, 1646/5); isolated in the last 0.36-0.55 s of its
	# run, not deaf yet: no peer heard in the run's last two probe
	# intervals, no observation (228/40, 5220/23)
	nemesis_clean "an observer deaf for part of its run counted?" 3096/11 1646/5 228/40 \
		5220/23
	# power losses never notified after an outage: every member held every
	# other dead and nobody probes or gossips to the dead, so the mesh
	# merged only at the next anti-entropy (15-45 s) and no majority was
	# live anywhere meanwhile (3940/5, 508/6, 1958/5, 8133/6, 9038/5,
	# 9127/5); members held the powered-off host dead at an older
	# incarnation than its other observers (the newer dead record was
	# gossiped in the outage and lost) and never observed the incident
	# (4647/6, 4316/5, 4922/7, 350/22, 2797/7); 2577/26: a power loss in a
	# full outage first observed 8 s after the staggered heal, the run
	# ended before the POST (red on b12e68b, clean since 3901dd0 withdrew
	# cf8388d's rules 2 and 3)
	nemesis_clean "a power loss never notified after an outage?" 3940/5 508/6 1958/5 8133/6 \
		9038/5 9127/5 4647/6 4316/5 4922/7 350/22 2797/7 2577/26
	# the notifier's daemon killed after its FENCE, before its POST: the
	# backup takes over a takeover step (90 s) later; the checker runs
	# such a schedule again with a quiet phase that much longer (2798/5;
	# 6164/14: the notifier's daemon restarted by a drift's heal)
	nemesis_clean "a fenced host left unnotified after its notifier died?" 2798/5 6164/14
	# the checker can fail: the cores with a 0.4 s window (the checker
	# keeps the daemon's 1.2 s) fence hosts that were cut off for less
	"$sim" nemesis --schedules 6 --seed 1000 --nodes 5..12 --agr-window 400 --quiet >"$out.2" 2>"$out.err"
	rc=$?
	if [ "$rc" -ne 4 ] || ! grep -Eq '^\| fence of a host not legitimately declared \| [1-9]' "$out.2"; then
		echo "FAIL: nemesis --agr-window 400 exited $rc without a fence violation: the checker is blind"
		cat "$out.2"
		exit 1
	fi
	grep -E '^\| [0-9]+ \| |^safety' "$out"
	echo "ok: $case_name"
	exit 0
	;;
determinism)
	# the same seed gives the same bytes; another seed does not (loss last:
	# seed 8 is compared with its seed 7). Stalls shorter than the window:
	# the default 0.5-2 s has longer ones, which the agreement declares by
	# design and the simulator judges false verdicts (a VIOLATION).
	for scen in "starved --stall 0.5-1.1" partition loss; do
		# shellcheck disable=SC2086
		sim_ok "$out" --nodes 20 --scenario $scen --seed 7 --runs 2 --duration 20
		# shellcheck disable=SC2086
		sim_ok "$out.2" --nodes 20 --scenario $scen --seed 7 --runs 2 --duration 20
		if ! cmp -s "$out" "$out.2"; then
			echo "FAIL: $scen, seed 7: two runs differ"
			diff "$out" "$out.2" | head -20
			exit 1
		fi
		grep -q 'seed=7 ' "$out" || { echo "FAIL: the report does not name seed 7"; exit 1; }
	done
	sim_ok "$out.2" --nodes 20 --scenario loss --seed 8 --runs 2 --duration 20
	if cmp -s "$out" "$out.2"; then
		echo "FAIL: loss, seeds 7 and 8 gave the same report"
		exit 1
	fi
	;;
*)
	echo "unknown case $case_name"
	exit 2
	;;
esac
grep '^run ' "$out"
echo "ok: $case_name"
