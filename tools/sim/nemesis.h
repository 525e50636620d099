/* mimamori-sim nemesis: random fault schedules against the production
 * composition of the cores (mesh/node, driven by tools/sim's nodes), with
 * a checker that knows the ground truth (issue 10, "Proof, beyond
 * examples").
 *
 * A schedule (one seed): N members, a base network (datagrams or tcp-like
 * retransmission, 0-3% loss, 0.2-5 ms latency + jitter), 2 s of steady
 * state, a fault phase of 10-20 s, then a quiet phase of 12 s (25 s in the
 * third of the schedules that may drift a members file) in which
 * every fault is healed (links, stalls, daemons restarted with the right
 * members file; powered-off hosts stay off). In the fault phase:
 *   - network faults, one after the other: a partition cutting off a
 *     random minority (1..(N-1)/2 nodes: a small minority or a bare
 *     majority left), a split where no side has a majority, a full
 *     outage healed at once, a full outage healed one by one (a majority
 *     at once, each other node 0-2.5 s later);
 *   - node faults, overlapping: a real power loss (crash; at most
 *     max(1, (N-1)/4)), a flapping node (isolated 0.2-2.5 s, reachable
 *     0.2-3 s, for 3-15 s), a loss burst (every link 2-20% for 1-6 s), a
 *     delay spike (every link 10-250 ms for 1-6 s), stalls (SIGSTOP-like,
 *     0.1-3 s, 1-4 times), a daemon SIGKILLed and restarted 0.3-5 s later
 *     with empty state, a daemon SIGKILLed and down until the quiet
 *     phase (its kernel answers), a one-way block between two nodes,
 *     a node that receives nothing (1-10 s), member-file drift (a daemon
 *     restarted with another members digest for 2-10 s).
 * Not modelled: clock steps (the cores take CLOCK_MONOTONIC time as an
 * input; the simulator has one virtual monotonic clock), and member files
 * listing different members (the drift here changes the digest, so it
 * checks the hold; tests/mesh/test_config_drift.c covers different lists).
 *
 * The ground truth (W = the daemon's unreachable window, agreement.h's
 * default 1.2 s, whatever window the cores run with: --agr-window):
 *   majority component: the graph of links that work both ways between
 *     present nodes (powered on, or powered off less than 2 W ago: no
 *     failure detector knows of a crash sooner), split into connected
 *     components (SWIM's indirect probes carry a missing direct link or a
 *     one-way block); one with more than half of the configured members.
 *   impaired(h, t): h is powered off; or its daemon is stalled (SIGSTOP,
 *     CPU starvation: silent to everyone); or a fault of its own cuts it
 *     off (flapping isolation, inbound cut); or a majority component
 *     exists and h is not in it (cut off by a partition, a split, the
 *     tail of a staggered heal). A network-wide fault with no majority
 *     anywhere (a split, a full outage) impairs nobody: nobody can tell
 *     who was cut off (issue 10 item 1). A daemon that is down on a
 *     running host is NOT an impairment: its kernel answers.
 *   legitimate(h, t): h has been impaired without a break for at least W
 *     up to t, or such a stretch (>= W) ended at most GRACE = 2 s before
 *     t (a verdict made during it is still being carried out: the claim's
 *     settle; the report gives the longest such lag seen).
 * So a healthy host reachable by a majority throughout is never
 * legitimately fenced; a host cut off from the majority, stalled or
 * flapping down for longer than W may be (agreement.h says so).
 * Violations:
 *   fence:     a FENCE of h issued at t while not legitimate(h, t) (P1,
 *              checked at FENCE, not at the verdict);
 *   post:      a COMPUTE_HOST POST of h at t while not legitimate(h, t),
 *              unless a FENCE issued while legitimate powered it off;
 *   unfenced:  a COMPUTE_HOST POST of h before a fence of h succeeded;
 *   missed:    a host powered off (crash or fence) with no COMPUTE_HOST
 *              stored (202) by the end, while a majority of the members
 *              is powered on at the end (the quiet phase gives it 12 s, 25).
 *              One legitimate path takes longer: the member that fenced
 *              it has its daemon killed (SIGKILL, down, a drift restart)
 *              before a 202 for it. Its peers cannot tell whether that
 *              fence hit or whether the claimer is just slow, so backup
 *              rank 1 takes over only a takeover step (claim_settle +
 *              fence_timeout + notify_timeout, 90.1 s) after the
 *              claimer's last progress (agreement.h, "Rank r takes over
 *              at"); a restarted daemon has forgotten its claim. Such a
 *              schedule is run again with its quiet phase a takeover step
 *              longer (same seed, same faults), and only that run counts:
 *              the host must still be notified by its end (seed 2798 at
 *              N = 5: the fence hit at 20.5 s, the notifier's daemon was
 *              killed at 20.1 s, the backup's POST came at 110.7 s);
 *   core:      a core returned an unexpected error or the tick loop's
 *              livelock guard fired.
 * A second POST for a host is answered 409 by Masakari: counted (dup),
 * not a violation (Masakari stores one notification). */
#ifndef MIMAMORI_SIM_NEMESIS_H
#define MIMAMORI_SIM_NEMESIS_H

#include <stdint.h>

struct sim;

/* `mimamori-sim nemesis ...`: the campaign; exit status as main's. */
int nemesis_main(int argc, char **argv);

/* Hooks (no-ops unless the run is a nemesis schedule). */
void nemesis_step(struct sim *s, uint64_t code);
void nemesis_observe(struct sim *s);
void nemesis_on_fence(struct sim *s, uint32_t fencer, uint32_t subject);
void nemesis_on_fence_ok(struct sim *s, uint32_t subject);
void nemesis_on_post(struct sim *s, uint32_t node, uint32_t subject, int http);

#endif
