/* Model of mesh/agreement.c: host-failure verdict, notifier election,
 * backups and completion, for ONE subject host H (node 0) watched by
 * N-1 deciders (nodes 1..N-1). Checked by spin (tests/model/run-spin.sh).
 *
 * What is modelled
 * ----------------
 * - Environment (nondeterministic, any order, and it may stop at any
 *   point so that runs end): H crashes (once); one network partition
 *   (any split, H on side 0) and its heal; up to MAXCRASH decider
 *   crashes, each either noticed by membership or a "hang" membership
 *   never notices; up to MAXLOSS lost messages. H's refutation is a
 *   membership event (-DNOREFUTE removes it, and with it incarnations).
 *   -DNOPARTITION, -DNOHCRASH, -DHSTART (H down from the start) narrow
 *   the environment for N=5. -DMAXRESTART=1: a crashed decider starts
 *   again with empty state. -DHDAEMON: H's daemon dies while its host
 *   and kernel run on (refused connections; -DNOREFUSAL, the negative
 *   control, takes a refused probe as unanswered and must be refuted).
 *   -DK=k: H's observer ring is k < N-1 deciders.
 * - Membership (SWIM, abstracted, asynchronous): a decider holds H dead
 *   when it cannot reach H (first hand), or when a reachable peer gossips
 *   "H dead" at an incarnation >= the one it knows (SWIM lets DEAD at
 *   incarnation i override ALIVE at i: after a heal the majority can hold
 *   a healthy H dead until H refutes). H refutes (incarnation 0 -> 1) when
 *   a rumour of its death reaches it; deciders that reach H then learn it
 *   alive at 1. Deciders eventually learn which peers crashed (not hung).
 * - Agreement: a decider that suspects H or holds it dead (suspicion is
 *   not modelled: any time) probes it and observes (and sends the
 *   observation, with H's incarnation) only if the probe fails (H crashed
 *   or unreachable). Sends are broadcasts here: the core routes them to
 *   a subset (agreement.h, Routing), which is a subset of these
 *   deliveries for P1/P2 (the same as losing the others). Verdict (DECLARED) needs H dead
 *   here at incarnation i and observations at i from >= N/2+1 members
 *   and >= a quorum of H's observers (K = N-1). Candidates = members with
 *   an observation or a claim heard, minus those known dead; a claim
 *   heard leads; rendezvous order = node id (lower is better). Rank 0
 *   claims (CLAIMED broadcast), waits the settle time (yielding to a
 *   stronger claim: a committed one (FENCED/NOTIFYING) beats an
 *   uncommitted one, then the better score; a claimer, or a notifier,
 *   that hears a weaker uncommitted claim answers its sender with its
 *   own progress), fences (which kills H),
 *   notifies and broadcasts that it committed, and broadcasts NOTIFIED
 *   once Masakari answered. Backups take over on the takeover timer. A
 *   NOTIFIED heard ends the incident. Stale messages (incarnation below
 *   the one known) are dropped. When H is back at incarnation 1: an
 *   incident nobody claimed is reset; an incident whose claimer went
 *   silent is carried on (fenced again, then notified) unless, when a
 *   decider would fence (its takeover, or its settle expiring), its view
 *   holds H alive at the newer incarnation and it heard no FENCED: then it
 *   abandons (issue 10, item 3: the claimer's ABANDONED may be lost; this
 *   model sends none at all, so every backup relies on this rule).
 * - Messages: each one is delivered on its own, in any order, or (with
 *   -DFIFO, a state-space reduction used for N >= 4) everything a sender
 *   has in flight for a receiver at once, in sending order.
 * - -DNAIVE: the rule as first specified (an observation = "my view holds
 *   H dead", no probe; verdict = quorum of observers + my view holds a
 *   majority alive, computed exactly from current reachability). Spin
 *   must find a P1 counterexample (the heal race): run-spin.sh checks it.
 * - -DFENCE_NONE: fencing method "none" (notify right after the settle).
 * - Trust (issue 10, item 5): a FENCED is believed, and a NOTIFIED taken,
 *   only from a member already heard claiming the incident.
 * - -DHANDOVER (issue 10, item 9): a notifier's delivery may fail for
 *   good (once per run): it hands the incident over with its fence's
 *   outcome and is no longer a candidate; a backup may stop waiting for a
 *   claimer still fencing or notifying (progress_bound overrun). A
 *   declared incident with no candidate left gives way to H's DEAD at a
 *   newer incarnation (agreement.c give_way, f521790; -DNOGIVEWAY).
 *
 * - -DVIEWS: each decider's view of its own connectivity, as
 *   mesh/agreement.c keeps it: have_majority (live_count: members its
 *   membership does not hold DEAD, itself and H included; every
 *   declare, claim, fence and notify waits for it), may_observe (a
 *   majority, not silent(): no message from any peer for 2W, and not
 *   deaf(): cf8388d's first rule, the only one 3901dd0 kept: no run
 *   completes into an observation, and none is re-told, without a
 *   message from some peer within W/2; tick_incident (a063480): within
 *   2P of the run's end; here, j hears a live peer when it observes (a
 *   run is one step); -DNODEAF removes it), a run that went deaf
 *   restarts from the gap's end (856189f, agreement_on_heard's
 *   deaf_until: here dgap, set at any step of a run where j hears
 *   nobody, cleared when it hears a peer; no observation while set;
 *   -DNODEAFGAP removes it), and
 *   restart_observations (every HOST incident still observing drops what
 *   it gathered and its run starts over) when the majority comes back
 *   (majority_update), when a peer is heard after a silence
 *   (agreement_on_heard), and when a member held DEAD is heard again
 *   (agreement_on_heard_from, ad884a1; -DNOHEARDDEAD removes it). Each
 *   delivery calls it first, as mnode_on_message does. Membership holds
 *   a peer dead when it crashed or cannot be reached, alive again when
 *   heard. A probe answered withdraws the prober's own observation
 *   (agreement_on_probe_ack). With -DHDAEMON, H's kernel refusing a
 *   connect is an explicit step (agreement_on_peer_refused): the run
 *   ends, its own observation is withdrawn, every observation received
 *   is void while still observing (ad884a1; -DNOREFVOID keeps them) and,
 *   with -DVIEWS, the run is held for 2W (refused_hold_ns; 4a50e2d made
 *   the next deadline the hold's end: a timer fix, the model has no
 *   timers, only the hold). -DOUTAGE (implies -DVIEWS): every link down
 *   at once, back one member at a time in any order; see "olong" below.
 *   -DNORESTART removes restart_observations. At N = 3 either the
 *   restarts or the deaf rule keeps the staggered heal from fencing H;
 *   without both (-DNORESTART -DNODEAF, the control) spin finds it: a
 *   member cut off by the outage observes H before its silence, its link
 *   comes back last, and its observation and a peer's made in the outage
 *   (withdrawn by the peer when H answered it, but already sent) make a
 *   verdict on a host whose links are all up.
 * - Membership takes a DEAD at a newer incarnation over the DEAD it holds
 *   (membership.c apply_update, d9491b7; -DNODEADNEWER, the control,
 *   ignores it as memberlist did). -DHSTALL: H's daemon, down with its
 *   kernel answering, runs again once (SIGSTOP/SIGCONT, a starved daemon:
 *   2094cb6 counts an accepted connect as the kernel answering, which is
 *   this model's refusal step) and then refutes.
 * - Not modelled: a claimer that yielded while its fence ran on claiming
 *   again when the fence completes (d9491b7, agreement.c fence_result):
 *   here a yield during the fence drops the fence; the code's fix is a
 *   liveness one (both claimers waited for a takeover step), and the
 *   model's takeover step has no duration.
 *
 * Timing assumptions of -DVIEWS / -DOUTAGE (the model has no clock):
 * - olong, an environment step: the outage has lasted 2W. Before it,
 *   membership holds nothing dead that it could not reach (SWIM's
 *   suspicion timeout is longer than 2W) and nobody is silent; at it,
 *   whoever hears no peer is silent, refusal holds are over, and a probe
 *   of H that can be answered has been (a resend interval < 2W).
 * - A decider that learns H dead first-hand while it hears no peer is
 *   silent (it has been cut off since H went quiet: with one outage and
 *   one partition, any peer it heard since was in a majority component
 *   at N = 3).
 * - Messages held up by the outage are delivered at the heal (TCP keeps
 *   what was written; the Deliver call's 1 s deadline does not take it
 *   back); -DOUTDROP loses them at olong instead.
 * - Found by spin before cf8388d's deaf rule, closed by it (-DNODEAF
 *   brings them back): (1) -DOUTAGE -DHDAEMON: a decider that observed H
 *   while cut off in an outage shorter than 2W gets a peer's observation
 *   made in the outage at the heal and declares before its own refusal
 *   probe is answered: H fenced while its kernel is up (run-spin.sh);
 *   (2) -DOUTAGE with the partition: an observation by a member isolated
 *   by the outage and kept isolated by the partition, before its silence,
 *   combined at the partition's heal with a peer's made in the outage
 *   (run-spin.sh --full, ~9 M states).
 *
 * Timing assumptions, as guards (the real timers are long compared with
 * message delays and local processing):
 * - claim_settle, and the fence that follows it, end only when no
 *   deliverable message is in flight (NET_QUIET): both take far longer
 *   than a message;
 * - the takeover step (settle + fence + notify timeouts) expires only
 *   when no deliverable message is in flight, no decider has a fast step
 *   to take (observe, decide, claim, settle, fence, notify), and no live
 *   claimer the backup can reach is still working (it renews its lease
 *   with progress messages);
 * - observations older than observation_ttl are forgotten: the model
 *   allows one partition (and its heal), so stale observations from
 *   earlier partitions never accumulate and forgetting is not modelled.
 * Membership events are not constrained: they can happen at any time.
 *
 * Properties
 * ----------
 * P1 (assert at every FENCE, and at the NOTIFY with fencing "none"; not
 *    at the verdict, which the code may hold): a decider acts on H at
 *    incarnation i only if H is down, or was at some point, while at
 *    incarnation i (or at H's current one: a decider that never heard
 *    H's refutation acts on the older), not connected to a majority of
 *    the N members (H plus the live deciders it could reach) - "never a
 *    healthy host fenced": up, connected to a majority, its daemon
 *    possibly down. With -DVIEWS the simulator's stricter ground truth:
 *    H down, or outside a majority component that exists (an outage
 *    leaves none: every member cut off is no licence to fence H).
 * P2 (assert at every NOTIFY): at most one NOTIFY per incident unless
 *    the run was disrupted: a message was lost, a notifier crashed
 *    between its NOTIFY and its NOTIFIED broadcast, or a decider's timer
 *    (settle, takeover) fired while a message addressed to it was held
 *    up by the partition, or while the claimer it waited for was alive
 *    but cut off from it. I.e. with every message delivered before the
 *    timers fire, exactly one POST; a second one only after a timer that
 *    a lost (or held up) completion let fire.
 * P3 (assert in every terminal state, via spin's timeout): if H crashed,
 *    the run was not disrupted, the network is whole (never split or
 *    healed), and either a majority of members are live deciders or some
 *    live decider reached a verdict, then H's incident was notified: no
 *    lost notification (the field guide's "lowest id notifies" bug).
 *    Notified under an older incarnation after H went down counts (a
 *    decider that missed H's refutation). With -DVIEWS a verdict alone
 *    does not oblige (its decider may have lost its majority since: the
 *    code holds it).
 * Plus spin's own checks: no invalid end state (deadlock), no assertion
 * failure. */

#ifndef N
#define N 4
#endif
#ifdef OUTAGE
#define VIEWS
#endif
#ifndef MAXCRASH
#define MAXCRASH 1
#endif
#ifndef MAXLOSS
#define MAXLOSS 0
#endif

#define MAXN 5
#define ALL ((1 << N) - 1)
#define DEC (ALL - 1)
#define B(i) (1 << (i))
#define HAS(m, i) (((m) >> (i)) & 1)
#define POP(x) (HAS(x, 0) + HAS(x, 1) + HAS(x, 2) + HAS(x, 3) + HAS(x, 4))
#define NEED (N / 2 + 1)            /* observations: a majority of N */
/* H's observer ring: K of the N-1 deciders (agreement.h: K = min(5,
 * N-1) observers by rendezvous rank; -DK=2 with N=5 is a ring with
 * K < N-1). The model's ring is deciders 1..K (the rank order is the id
 * order); the others still probe and observe, and count for NEED. */
#ifndef K
#define K (N - 1)
#endif
#define OBSV ((1 << (K + 1)) - 2)   /* deciders 1..K */
#define QUORUM (K / 2 + 1)          /* of H's K observers */

#define S_OBS 0
#define S_DECLARED 1
#define S_CLAIMED 2
#define S_FENCING 3
#define S_NOTIFYING 4
#define S_DONE 5

/* environment */
bit h_crashed, partitioned, healed, disrupted;
bit env_done;    /* the environment stopped acting (so runs can end) */
byte h_cut;      /* ghost, bit i: H at incarnation i crashed or lost its majority */
byte crash_inc;  /* ghost: incarnation at which H went down */
byte side;       /* deciders cut off from H's side; bit 0 never set */
byte hinc;       /* H's incarnation: 0, or 1 once it refuted */
byte crashed, hung, crashes, losses;
byte restarts;   /* -DMAXRESTART: crashed deciders started again, empty */
bit hdown;       /* -DHDAEMON: H's daemon is down, its kernel answers */
#ifdef HSTALL
bit hstalled;    /* -DHSTALL: H's daemon was stopped and ran again (once) */
#endif
#ifdef VIEWS
/* -DOUTAGE: every link down at once (a switch reload), then back one
 * member at a time, in any order (a staggered heal; all at once is the
 * order with nothing in between). olong: the outage has lasted two
 * unreachable windows (2W): every member cut off since it began is
 * silent, its refusal holds have ended, and membership may hold a member
 * it cannot reach dead (SWIM's suspicion timeout is longer than 2W;
 * before olong only what was dead before). */
byte cut;        /* members whose link is down */
bit outage, outaged, olong;
bit hpre;        /* H was down (or its daemon) when the outage began */
/* the agreement's view of its connectivity (agreement.c: may_observe,
 * have_majority, restart_observations) */
byte sil;        /* silent(): no message from any peer for 2W */
byte rhold;      /* a refusal by H's kernel holds the probing run (2W) */
byte dgap;       /* its run went deaf, no peer heard since (856189f) */
#endif
byte notifies[2];/* ghost: NOTIFY actions per incident (incarnation) */
bit notified_down; /* ghost: a NOTIFY made while H was down (any incarnation) */

/* deciders' state; per-decider bits packed in bytes */
byte vdead;      /* membership holds H dead */
byte vinc;       /* membership knows H at incarnation 1 */
byte iinc;       /* the incident is about incarnation 1 */
byte observed;   /* broadcast its observation for the incident */
byte done, done1;/* knows the incident (done1: incarnation 1) notified */
byte pfenced;    /* heard a FENCED / committed progress about its incident */
byte obs[MAXN], stage[MAXN], claimers[MAXN], known_dead[MAXN];

/* messages in flight: receivers still to get them (and incarnation bit) */
byte opend[MAXN], cpend[MAXN], dpend[MAXN];
byte opend1, cpend1, dpend1;
byte cpendf;     /* sender's progress says FENCED (it committed) */
#ifdef HANDOVER
/* -DHANDOVER (issue 10, item 9): a notifier whose delivery failed for good
 * hands the incident over (HANDED_OVER, with its fence's outcome) and is
 * no longer a candidate, at most once per run (one failing Masakari
 * answer: a second would leave a decider of N=3 nobody to hand to); a
 * backup stops waiting for a claimer that overran progress_bound (still
 * fencing, or still waiting on Masakari): a duplicate, so disrupted.
 * excl[j]: the members j no longer waits for (itself once it handed over). */
#ifdef MAXRESTART
#error "HANDOVER does not model a restart's empty excl[]"
#endif
byte excl[MAXN];
byte cpendh;     /* sender's progress is HANDED_OVER */
bit handed;
#define EXCL(j) excl[j]
#define HANDED(i) HAS(cpendh, i)
#define EXCL_ADD(j, i) excl[j] = excl[j] | B(i)
#else
#define EXCL(j) 0
#define HANDED(i) 0
#define EXCL_ADD(j, i) skip
#endif

#define LIVE(k) (!HAS(crashed, k))
#define SIDE(i) HAS(side, i)
#ifdef VIEWS
#define REACH(a, b) ((a) == (b) || (!HAS(cut, a) && !HAS(cut, b) && \
			(!partitioned || SIDE(a) == SIDE(b))))
#define RMASK(i) (HAS(cut, i) -> B(i) : \
		  ((partitioned -> (SIDE(i) -> side : (ALL - side)) : ALL) & (ALL - cut)))
#else
#define REACH(a, b) (!partitioned || SIDE(a) == SIDE(b))
#define RMASK(i) (partitioned -> (SIDE(i) -> side : (ALL - side)) : ALL)
#endif
#define LIVEDEC (DEC - crashed)
#define PEND(i) ((opend[i] | cpend[i] | dpend[i]) & LIVEDEC)
#define NQ(i) ((PEND(i) & RMASK(i)) == 0)
#define NET_QUIET (NQ(1) && NQ(2) && NQ(3) && NQ(4))
/* a message to j held up by the partition */
#define BL(i, j) (i != j && HAS(PEND(i), j) && !REACH(i, j))
#define BLOCKED_TO(j) (BL(1, j) || BL(2, j) || BL(3, j) || BL(4, j))

#define VINC(j) HAS(vinc, j)
#define IINC(j) HAS(iinc, j)
#define NOT_DEAD(j) (ALL - known_dead[j])

#ifdef VIEWS
/* have_majority (live_count): members j's view holds live, itself and H
 * included; every irreversible step (declare, claim, fence, notify) waits
 * for it. may_observe: a majority here and not silent. */
/* deciders up in the mesh: live, or hung (a hang membership never
 * notices: its SWIM still answers) */
#define UPDEC (DEC - (crashed & (ALL - hung)))
#define LIVECOUNT(j) (N - POP(known_dead[j] & DEC & (ALL - B(j))) - HAS(vdead, j))
#define MAJ(j) (LIVECOUNT(j) * 2 > N)
#ifdef NODEAF
#define HEARS_NOW(j) 1
#else
/* agreement.c tick_incident (a063480): a due run becomes an observation
 * only if j heard a peer within 2P of its end (and may_observe()'s deaf(),
 * cf8388d rule 1: within W/2): j hears a peer now */
#define HEARS_NOW(j) SPEAKS_TO(j)
#endif
#ifdef NODEAFGAP
#define GAPPED(j) 0
#else
/* agreement.c agreement_on_heard / tick_incident (856189f): a run during
 * which j was deaf (a gap of W/2 or more) counts only from the gap's end.
 * dgap, bit j: j's run went deaf (any step where it heard nobody) and j
 * has not heard a peer since; its run restarts when it does. */
#define GAPPED(j) HAS(dgap, j)
#endif
#define MAYOBS(j) (MAJ(j) && !HAS(sil, j) && !HAS(rhold, j) && HEARS_NOW(j) && !GAPPED(j))
#define EARLY (outage && !olong)  /* within 2W of the outage's start */
/* no live member whose daemon runs is reachable: j hears nothing */
#define SPEAKS_TO(j) ((RMASK(j) & UPDEC & (ALL - B(j))) != 0 || \
		      (REACH(j, 0) && !h_crashed && !hdown))
#else
#define MAJ(j) 1
#define MAYOBS(j) 1
#endif
#define CAND(j) ((obs[j] | claimers[j]) & NOT_DEAD(j) & DEC & (ALL - EXCL(j)))
#define LEAD(j) ((claimers[j] & NOT_DEAD(j) & (ALL - B(j)) & (ALL - EXCL(j))) != 0)
#define RANK0(j) (HAS(CAND(j), j) && !LEAD(j) && (CAND(j) & (B(j) - 1) & DEC) == 0)

#ifdef NAIVE
#define PROBE_FAILS(j) 1
#define HMASK(j) ((h_crashed || HAS(vdead, j)) -> 0 : 1)
#define LOCAL_MAJ(j) (POP(RMASK(j) & (LIVEDEC | HMASK(j))) * 2 > N)
#define DECIDE_OK(j) (stage[j] == S_OBS && HAS(vdead, j) && VINC(j) == IINC(j) && \
		      POP(obs[j]) >= QUORUM && LOCAL_MAJ(j))
#else
#ifdef NOREFUSAL
/* negative control of -DHDAEMON: a refused probe taken as unanswered */
#define PROBE_FAILS(j) (h_crashed || !REACH(j, 0) || hdown)
#else
#define PROBE_FAILS(j) (h_crashed || !REACH(j, 0))
#endif
#define DECIDE_OK(j) (stage[j] == S_OBS && HAS(vdead, j) && VINC(j) == IINC(j) && \
		      POP(obs[j]) >= NEED && POP(obs[j] & OBSV) >= QUORUM && MAJ(j))
#endif

/* No "holds H dead" guard: the agreement probes from SUSPECT on and may
 * observe before its view says DEAD (membership may suspect at any time,
 * so this is the superset); the verdict still needs DEAD (DECIDE_OK). */
#define OBSERVE_EN(j) (VINC(j) == IINC(j) && !HAS(observed, j) && \
		       stage[j] < S_DONE && PROBE_FAILS(j) && MAYOBS(j))
#define CLAIM_EN(j) (stage[j] == S_DECLARED && RANK0(j) && !HAS(done, j) && MAJ(j))
#define ACTING(k) (stage[k] == S_CLAIMED || stage[k] == S_FENCING || stage[k] == S_NOTIFYING)
#define FAST(k) (k < N && LIVE(k) && (OBSERVE_EN(k) || DECIDE_OK(k) || CLAIM_EN(k) || ACTING(k)))
#define FAST_ANY (FAST(1) || FAST(2) || FAST(3) || FAST(4))
#define LEASE1(j, k) (k < N && k != j && LIVE(k) && REACH(k, j) && ACTING(k) && !HAS(EXCL(j), k))
#define LEASE(j) (LEASE1(j, 1) || LEASE1(j, 2) || LEASE1(j, 3) || LEASE1(j, 4))
#define CUTOFF1(j, k) (k < N && k != j && LIVE(k) && !REACH(k, j) && ACTING(k))
#define CUTOFF(j) (CUTOFF1(j, 1) || CUTOFF1(j, 2) || CUTOFF1(j, 3) || CUTOFF1(j, 4))
#define TAKEOVER_EN(j) (stage[j] == S_DECLARED && HAS(CAND(j), j) && !RANK0(j) && \
			!HAS(done, j) && NET_QUIET && !FAST_ANY && !LEASE(j) && MAJ(j))

#define SETBIT(v, j, on) if :: (on) -> v = v | B(j) :: else -> v = v & (ALL - B(j)) fi

/* j's view holds H alive at an incarnation above its incident's and no
 * fence of it is known to j: j must not fence it (refuse_fencing_live_host). */
#define LIVE_UNFENCED(j) (VINC(j) > IINC(j) && !HAS(vdead, j) && !HAS(pfenced, j))

#ifdef VIEWS
/* The simulator's ground truth (tools/sim/nemesis.h): H may be acted on
 * only if it is down or outside a majority component that exists: live
 * deciders connected together, H not among them, more than N/2. An
 * outage leaves none (no member has a majority); H cut off while the
 * others heal is outside theirs. */
#define MAJC(i) (i < N && HAS(UPDEC, i) && !REACH(i, 0) && POP(RMASK(i) & UPDEC) * 2 > N)
#define UPDATE_CUT \
	if \
	:: h_crashed || MAJC(1) || MAJC(2) || MAJC(3) || MAJC(4) -> h_cut = h_cut | B(hinc) \
	:: else -> skip \
	fi
#else
#define UPDATE_CUT \
	if \
	:: h_crashed || POP(RMASK(0) & (ALL - crashed)) * 2 <= N -> h_cut = h_cut | B(hinc) \
	:: else -> skip \
	fi
#endif

/* A fresh incident about the incarnation the view knows. */
inline reset_incident(j)
{
#ifdef HANDOVER
	excl[j] = 0;
#endif
	stage[j] = S_OBS;
	obs[j] = 0;
	claimers[j] = 0;
	observed = observed & (ALL - B(j));
	SETBIT(iinc, j, VINC(j));
	done = done & (ALL - B(j));
	pfenced = pfenced & (ALL - B(j));
	if
	:: VINC(j) && HAS(done1, j) -> stage[j] = S_DONE; done = done | B(j)
	:: else -> skip
	fi
}

/* restart_observations: every HOST incident still observing drops its
 * observations (its own and those received) and its run starts over; a
 * verdict needs observations made after this. -DNORESTART (a negative
 * control) removes it. */
inline restart_obs(j)
{
#ifndef NORESTART
	if
	:: stage[j] == S_OBS -> obs[j] = 0; observed = observed & (ALL - B(j))
	:: else -> skip
	fi
#else
	skip
#endif
}

#define ACK(j) obs[j] = obs[j] & (ALL - B(j)); observed = observed & (ALL - B(j))

#ifdef VIEWS
/* mnode_on_message -> agreement_on_heard_from(i), before the message
 * acts: heard after a silence (agreement_on_heard), or from a member this
 * view holds DEAD (ad884a1: a split the live count never noticed has
 * healed; -DNOHEARDDEAD removes this one); membership then holds i alive
 * again, and a majority regained restarts too (majority_update). */
inline heard_from(i, j)
{
	if
	:: HAS(sil, j) -> sil = sil & (ALL - B(j)); restart_obs(j)
	:: else -> skip
	fi;
	if
	:: i != 0 && HAS(known_dead[j], i) ->
		mj = MAJ(j);
		known_dead[j] = known_dead[j] & (ALL - B(i));
		if
		:: !mj && MAJ(j) -> restart_obs(j)
		:: else ->
#ifndef NOHEARDDEAD
			restart_obs(j)
#else
			skip
#endif
		fi
	:: i == 0 && HAS(vdead, j) ->
#ifndef NOHEARDDEAD
		restart_obs(j)
#else
		skip
#endif
	:: else -> skip
	fi
}
#define HEARD_FROM(i, j) heard_from(i, j);
#else
#define HEARD_FROM(i, j)
#endif

#ifdef HDAEMON
#ifdef NOREFVOID
#define VOIDS(j) HAS(obs[j], j)
#else
#define VOIDS(j) (stage[j] == S_OBS -> obs[j] != 0 : HAS(obs[j], j))
#endif
#ifdef VIEWS
#define REFUSAL_CHANGES(j) (HAS(observed, j) || VOIDS(j) || !HAS(rhold, j))
#else
#define REFUSAL_CHANGES(j) (HAS(observed, j) || VOIDS(j))
#endif
/* agreement_on_peer_refused: H's kernel refused (or, 2094cb6, completed)
 * our connect to its daemon's port: the host is up. The run ends, our
 * observation is withdrawn and, while still observing, every one we
 * received is void too (ad884a1: made in an outage, delivered at its
 * heal, they counted; -DNOREFVOID keeps them, as before); the run is held
 * for 2W (refused_hold_ns; 4a50e2d: the next deadline is the hold's end). */
inline refused(j)
{
	observed = observed & (ALL - B(j));
#ifndef NOREFVOID
	if
	:: stage[j] == S_OBS -> obs[j] = 0
	:: else -> obs[j] = obs[j] & (ALL - B(j))
	fi;
#else
	obs[j] = obs[j] & (ALL - B(j));
#endif
#ifdef VIEWS
	rhold = rhold | B(j)
#else
	skip
#endif
}
#endif

inline progress(j, fenced)
{
	cpend[j] = DEC - B(j);
#ifdef HANDOVER
	cpendh = cpendh & (ALL - B(j));
#endif
	SETBIT(cpend1, j, IINC(j));
	SETBIT(cpendf, j, fenced)
}

inline observe(j)
{
	observed = observed | B(j);
	obs[j] = obs[j] | B(j);
	opend[j] = DEC - B(j);
	SETBIT(opend1, j, IINC(j))
}

inline claim(j)
{
	stage[j] = S_CLAIMED;
	progress(j, 0)
}

inline notify(j)
{
	stage[j] = S_NOTIFYING;
	progress(j, 1); /* committed: FENCED / NOTIFYING */
	notifies[IINC(j)]++;
	if :: h_crashed -> notified_down = 1 :: else -> skip fi;
	assert(notifies[IINC(j)] <= 1 || disrupted) /* P2 */
}

inline go_down(inc)
{
	if
	:: !h_crashed -> crash_inc = inc
	:: else -> skip
	fi;
	h_crashed = 1;
	h_cut = h_cut | B(inc);
	h_cut = h_cut | B(hinc)
}

/* H is alive at incarnation 1 in j's view. */
inline learn_alive(j)
{
	vinc = vinc | B(j);
	vdead = vdead & (ALL - B(j));
	if
	:: stage[j] == S_OBS || ((stage[j] == S_DECLARED || stage[j] == S_CLAIMED) && claimers[j] == 0) ->
		reset_incident(j)        /* cancelled / abandoned: nobody fenced */
	:: else -> skip                  /* fenced, or a claimer may have: carry on */
	fi
}

inline recv_obs(i, j)
{
	m = HAS(opend1, i);
	if
	:: m < VINC(j) -> skip /* stale */
	:: m >= VINC(j) && stage[j] == S_OBS && m > IINC(j) ->
		iinc = iinc | B(j); obs[j] = B(i); claimers[j] = 0;
		observed = observed & (ALL - B(j))
	:: m >= VINC(j) && m == IINC(j) -> obs[j] = obs[j] | B(i)
	:: else -> skip
	fi
}

/* Progress about the incident's own incarnation is taken even when the
 * view has moved on (H came back): as agreement_on_completion() does. */
inline recv_claim(i, j)
{
	m = HAS(cpend1, i);
	if
	:: m == IINC(j) && (HAS(EXCL(j), i) || HANDED(i)) ->
		/* handing over, or no longer waited for: its fence counts if it
		 * claimed; it holds nobody back (no claim, no yield) */
		if :: HAS(cpendf, i) && HAS(claimers[j], i) -> pfenced = pfenced | B(j) :: else -> skip fi;
		if :: HANDED(i) && HAS(claimers[j], i) -> EXCL_ADD(j, i) :: else -> skip fi
	:: m == IINC(j) && !HAS(EXCL(j), i) && !HANDED(i) ->
		/* a fence is believed only from a member already heard claiming
		 * (agreement.h, Trust; issue 10, item 5) */
		if :: HAS(cpendf, i) && HAS(claimers[j], i) -> pfenced = pfenced | B(j) :: else -> skip fi;
		claimers[j] = claimers[j] | B(i);
		if
		:: (stage[j] == S_CLAIMED || stage[j] == S_FENCING) && (HAS(cpendf, i) || i < j) ->
			stage[j] = S_DECLARED  /* yield to a stronger claim */
		:: (stage[j] == S_CLAIMED || stage[j] == S_FENCING || stage[j] == S_NOTIFYING) &&
		   !HAS(cpendf, i) ->
			cpend[j] = cpend[j] | B(i) /* answer a weaker claim: i yields */
		:: else -> skip
		fi
	:: m > IINC(j) && m >= VINC(j) && stage[j] == S_OBS ->
		iinc = iinc | B(j); obs[j] = 0; claimers[j] = B(i);
		observed = observed & (ALL - B(j))
	:: else -> skip /* stale */
	fi
}

/* A NOTIFIED is taken only from a member heard claiming the incident, at
 * the incident's own incarnation (agreement.h, Trust; issue 10, item 5).
 * DELIVER holds it while that member's claim to j is still in flight (the
 * code's NOTIFIED is re-sent, and echoed to late nodes). */
inline recv_done(i, j)
{
	m = HAS(dpend1, i);
	if
	:: m == IINC(j) && HAS(claimers[j], i) ->
		if :: m -> done1 = done1 | B(j) :: else -> skip fi;
		done = done | B(j);
		if
		:: stage[j] != S_NOTIFYING && stage[j] != S_DONE -> stage[j] = S_DONE
		:: else -> skip
		fi
	:: else -> skip
	fi
}

#ifdef NODEADNEWER
/* negative control of d9491b7: memberlist's "already dead: ignore" */
#define DEAD_TAKEN(j, k) (!HAS(vdead, j) && VINC(k) >= VINC(j))
#else
/* membership.c apply_update: a DEAD at a newer incarnation than the DEAD
 * held is taken too (d9491b7: it came back, we missed its ALIVE, and it
 * failed again) */
#define DEAD_TAKEN(j, k) ((!HAS(vdead, j) && VINC(k) >= VINC(j)) || VINC(k) > VINC(j))
#endif
#define ECHO(k) \
	:: d_step { k < N && k != j && LIVE(j) && LIVE(k) && HAS(vdead, k) && \
		    REACH(k, j) && DEAD_TAKEN(j, k) -> \
		vdead = vdead | B(j); \
		if \
		:: VINC(k) > VINC(j) -> vinc = vinc | B(j); \
			if :: stage[j] == S_OBS -> reset_incident(j) :: else -> skip fi \
		:: else -> skip \
		fi }

#ifdef VIEWS
/* membership holds a peer dead: it crashed, or j cannot reach it (not
 * within 2W of an outage's start: SWIM's suspicion takes longer); heard
 * again, it is alive (heard_from) */
#define LEARN(k) \
	:: d_step { k < N && k != j && LIVE(j) && !HAS(known_dead[j], k) && \
		    ((HAS(crashed, k) && !HAS(hung, k)) || (LIVE(k) && !REACH(j, k) && !EARLY)) -> \
		known_dead[j] = known_dead[j] | B(k) } \
	:: d_step { k < N && k != j && LIVE(j) && LIVE(k) && REACH(j, k) && \
		    (HAS(known_dead[j], k) || HAS(sil, j)) -> heard_from(k, j) }
#else
#define LEARN(k) \
	:: d_step { k < N && k != j && LIVE(j) && HAS(crashed, k) && !HAS(hung, k) && \
		    !HAS(known_dead[j], k) -> known_dead[j] = known_dead[j] | B(k) }
#endif

#ifdef FIFO
/* Everything i has in flight for j, in the order i sent it (one TCP
 * connection per peer): observation, then progress, then NOTIFIED. A
 * state-space reduction for N=5: resends and relays need not keep that
 * order, so the default delivers each message on its own. */
#define DELIVER(i) \
	:: d_step { i < N && i != j && LIVE(j) && HAS(opend[i] | cpend[i] | dpend[i], j) && \
		    REACH(i, j) -> \
		HEARD_FROM(i, j) \
		if \
		:: HAS(opend[i], j) -> opend[i] = opend[i] & (ALL - B(j)); recv_obs(i, j) \
		:: else -> skip \
		fi; \
		if \
		:: HAS(cpend[i], j) -> cpend[i] = cpend[i] & (ALL - B(j)); recv_claim(i, j) \
		:: else -> skip \
		fi; \
		if \
		:: HAS(dpend[i], j) -> dpend[i] = dpend[i] & (ALL - B(j)); recv_done(i, j) \
		:: else -> skip \
		fi }
#else
#define DELIVER(i) \
	:: d_step { i < N && i != j && LIVE(j) && HAS(opend[i], j) && REACH(i, j) -> \
		HEARD_FROM(i, j) opend[i] = opend[i] & (ALL - B(j)); recv_obs(i, j) } \
	:: d_step { i < N && i != j && LIVE(j) && HAS(cpend[i], j) && REACH(i, j) -> \
		HEARD_FROM(i, j) cpend[i] = cpend[i] & (ALL - B(j)); recv_claim(i, j) } \
	:: d_step { i < N && i != j && LIVE(j) && HAS(dpend[i], j) && REACH(i, j) && \
		    (HAS(claimers[j], i) || !HAS(cpend[i], j)) -> \
		HEARD_FROM(i, j) dpend[i] = dpend[i] & (ALL - B(j)); recv_done(i, j) }
#endif

#ifdef HANDOVER
/* j stops waiting for claimer k, which overran progress_bound still
 * fencing or notifying (no NOTIFIED): a duplicate is allowed */
#define OVERDUE(k) \
	:: d_step { k < N && k != j && LIVE(j) && stage[j] == S_DECLARED && HAS(CAND(j), j) && \
		    !HAS(done, j) && HAS(claimers[j], k) && LEASE1(j, k) && \
		    (stage[k] == S_FENCING || stage[k] == S_NOTIFYING) -> \
		disrupted = 1; excl[j] = excl[j] | B(k) }
#endif

#ifdef VIEWS
#define EARLY_DEAD(j) (EARLY && !hpre)
/* Timing: j hears nobody when it learns H dead first-hand (SWIM's
 * suspicion timeout > 2W after H went silent): j has been cut off at
 * least since H went silent (in this environment, one outage and one
 * partition, j could only have heard a peer later in a component that
 * was a majority at N = 3): it is silent. */
#define ISOLATED_DEAD(j) if :: !h_crashed && !hdown && !SPEAKS_TO(j) -> sil = sil | B(j) \
			 :: else -> skip fi
#else
#define EARLY_DEAD(j) 0
#define ISOLATED_DEAD(j) skip
#endif

proctype node(byte j)
{
	bit m, mj;
end:
	do
	/* membership: first-hand detection (the probe that follows fails too) */
	:: d_step { LIVE(j) && !HAS(vdead, j) && (h_crashed || !REACH(j, 0) || hdown) &&
		    !EARLY_DEAD(j) ->
		vdead = vdead | B(j);
		ISOLATED_DEAD(j);
		if
		:: OBSERVE_EN(j) -> observe(j)
		:: else -> skip
		fi }
	/* membership: a peer's DEAD rumour */
	ECHO(1) ECHO(2) ECHO(3) ECHO(4)
#ifdef VIEWS
	/* silent: j hears no peer (not within 2W of an outage's start) */
	:: d_step { LIVE(j) && !HAS(sil, j) && !SPEAKS_TO(j) && !EARLY -> sil = sil | B(j) }
	/* heard H (its SWIM traffic) after a silence, or while held DEAD */
	:: d_step { LIVE(j) && REACH(j, 0) && !h_crashed && !hdown &&
		    (HAS(sil, j) || (HAS(vdead, j) && stage[j] == S_OBS && obs[j] != 0)) ->
		heard_from(0, j) }
	/* agreement_on_probe_ack: j's probe of H is answered: its run ends,
	 * its own observation is withdrawn */
	:: d_step { LIVE(j) && REACH(j, 0) && !h_crashed && !hdown && HAS(obs[j], j) -> ACK(j) }
#ifndef NODEAFGAP
	/* deaf during its run (856189f: a gap of W/2 or more, at any time,
	 * within 2W of an outage too), then a peer heard: the run restarts
	 * from the gap's end (deaf_until) */
	:: d_step { LIVE(j) && !HAS(dgap, j) && !SPEAKS_TO(j) && stage[j] == S_OBS &&
		    !HAS(observed, j) -> dgap = dgap | B(j) }
	:: d_step { LIVE(j) && HAS(dgap, j) && SPEAKS_TO(j) -> dgap = dgap & (ALL - B(j)) }
#endif
	/* the refusal hold ends */
	:: d_step { LIVE(j) && HAS(rhold, j) && !EARLY -> rhold = rhold & (ALL - B(j)) }
#endif
#ifdef HDAEMON
	/* H's kernel answers j's connect: refused (agreement_on_peer_refused) */
	:: d_step { LIVE(j) && hdown && !h_crashed && REACH(j, 0) && stage[j] < S_DONE &&
		    REFUSAL_CHANGES(j) -> refused(j) }
#endif
	/* membership: H refuted; j reaches it */
	:: d_step { LIVE(j) && VINC(j) < hinc && !h_crashed && REACH(j, 0) -> learn_alive(j) }
	/* membership: a crashed peer is noticed */
	LEARN(1) LEARN(2) LEARN(3) LEARN(4)
	/* a finished incident gives way to the newer incarnation */
	:: d_step { LIVE(j) && stage[j] == S_DONE && VINC(j) > IINC(j) -> reset_incident(j) }
	/* the probe of H failed: observe and broadcast */
	:: d_step { LIVE(j) && OBSERVE_EN(j) -> observe(j) }
	/* verdict */
	:: d_step { LIVE(j) && DECIDE_OK(j) -> stage[j] = S_DECLARED }
	/* rank 0 claims */
	:: d_step { LIVE(j) && CLAIM_EN(j) -> claim(j) }
	/* a backup's takeover timer */
	:: d_step { LIVE(j) && TAKEOVER_EN(j) ->
		if
		:: BLOCKED_TO(j) || CUTOFF(j) -> disrupted = 1
		:: else -> skip
		fi;
		if
		:: LIVE_UNFENCED(j) -> reset_incident(j) /* abandoned, loudly */
		:: else -> claim(j)
		fi }
	/* settle expired: fence (or notify with fencing "none") */
	:: d_step { LIVE(j) && stage[j] == S_CLAIMED && NET_QUIET && MAJ(j) ->
		if
		:: BLOCKED_TO(j) -> disrupted = 1
		:: else -> skip
		fi;
		if
		:: LIVE_UNFENCED(j) -> reset_incident(j) /* abandoned, loudly */
		:: else ->
			/* P1, at the FENCE (or the NOTIFY without fencing): a
			 * verdict may be held (monitor down, members digests
			 * differ), acting on it is what must never hit a host
			 * that is up and connected to a majority */
			assert(h_crashed || HAS(h_cut, IINC(j)) || HAS(h_cut, hinc));
#ifdef FENCE_NONE
			notify(j)
#else
			stage[j] = S_FENCING
#endif
		fi
	   }
	/* fence confirmed: H is off; notify */
	:: d_step { LIVE(j) && stage[j] == S_FENCING && NET_QUIET && MAJ(j) ->
		go_down(IINC(j)); notify(j) }
#ifdef HANDOVER
	/* Masakari refused it for good: handed to the next rank with the
	 * fence's outcome; the failed NOTIFY is no notification */
	:: d_step { LIVE(j) && stage[j] == S_NOTIFYING && !handed ->
		/* P3 holds it to the next rank only where no decider may be
		 * lost (nobody left to hand to: the operator's, loudly) */
		if
		:: crashes < MAXCRASH || crashed != 0 -> disrupted = 1
		:: else -> skip
		fi;
		handed = 1; notifies[IINC(j)]--;
		excl[j] = excl[j] | B(j); stage[j] = S_DECLARED;
		cpend[j] = DEC - B(j); SETBIT(cpend1, j, IINC(j));
		cpendh = cpendh | B(j);
#ifdef FENCE_NONE
		cpendf = cpendf & (ALL - B(j))
#else
		cpendf = cpendf | B(j)
#endif
	}
	OVERDUE(1) OVERDUE(2) OVERDUE(3) OVERDUE(4)
	/* agreement.c give_way (f521790): a declared incident nobody here
	 * can act on (no candidate: every rank handed over or known dead)
	 * gives way to H's failure at a newer incarnation; -DNOGIVEWAY
	 * removes it */
#ifndef NOGIVEWAY
	:: d_step { LIVE(j) && stage[j] == S_DECLARED && CAND(j) == 0 && HAS(vdead, j) &&
		    VINC(j) > IINC(j) -> reset_incident(j) }
#endif
#endif
	/* Masakari answered: NOTIFIED */
	:: d_step { LIVE(j) && stage[j] == S_NOTIFYING ->
		stage[j] = S_DONE; done = done | B(j);
		if :: IINC(j) -> done1 = done1 | B(j) :: else -> skip fi;
		dpend[j] = DEC - B(j); SETBIT(dpend1, j, IINC(j)) }
	DELIVER(1) DELIVER(2) DELIVER(3) DELIVER(4)
	od
}

#define HEARS(k) (k < N && LIVE(k) && HAS(vdead, k) && !VINC(k) && REACH(k, 0))

#define CRASH(k) \
	:: atomic { !env_done && k < N && crashes < MAXCRASH && LIVE(k) -> \
		crashed = crashed | B(k); crashes++; \
		if :: hung = hung | B(k) :: skip fi; \
		if :: stage[k] == S_NOTIFYING -> disrupted = 1 :: else -> skip fi; \
		UPDATE_CUT }

/* A crashed decider's daemon starts again with empty state (systemd's
 * restart after a crash): a new process that knows nothing of the
 * incident (no observations, claims, completions; H as membership's
 * push-pull gives it, alive at incarnation 0 until it learns more); what
 * it had in flight is gone; its peers learn it is alive again. It may
 * notify again (Masakari answers 409): a disruption for P2/P3, never
 * for P1. */
#ifdef VIEWS
#define FORGET(x, k) skip /* heard again: heard_from (LEARN) */
#else
#define FORGET(x, k) known_dead[x] = known_dead[x] & (ALL - B(k))
#endif
#ifdef VIEWS
#define RESTART_VIEW(k) sil = sil & (ALL - B(k)); rhold = rhold & (ALL - B(k)); \
	dgap = dgap & (ALL - B(k)); UPDATE_CUT
#else
#define RESTART_VIEW(k) skip
#endif
#define RESTART(k) \
	:: atomic { !env_done && k < N && restarts < MAXRESTART && HAS(crashed, k) -> \
		restarts++; disrupted = 1; \
		crashed = crashed & (ALL - B(k)); hung = hung & (ALL - B(k)); \
		opend[k] = 0; cpend[k] = 0; dpend[k] = 0; \
		vdead = vdead & (ALL - B(k)); vinc = vinc & (ALL - B(k)); \
		iinc = iinc & (ALL - B(k)); observed = observed & (ALL - B(k)); \
		done = done & (ALL - B(k)); done1 = done1 & (ALL - B(k)); \
		pfenced = pfenced & (ALL - B(k)); \
		obs[k] = 0; claimers[k] = 0; known_dead[k] = 0; stage[k] = S_OBS; \
		FORGET(1, k); FORGET(2, k); FORGET(3, k); FORGET(4, k); \
		RESTART_VIEW(k) }

#define LOSE(i, j) \
	:: atomic { !env_done && i < N && j < N && i != j && losses < MAXLOSS && \
		    HAS(opend[i] | cpend[i] | dpend[i], j) -> \
		losses++; disrupted = 1; \
		if \
		:: HAS(opend[i], j) -> opend[i] = opend[i] & (ALL - B(j)) \
		:: HAS(cpend[i], j) -> cpend[i] = cpend[i] & (ALL - B(j)) \
		:: HAS(dpend[i], j) -> dpend[i] = dpend[i] & (ALL - B(j)) \
		fi }
#define LOSE_FROM(i) LOSE(i, 1) LOSE(i, 2) LOSE(i, 3) LOSE(i, 4)

#ifdef VIEWS
#define HEAL_CUT UPDATE_CUT
/* an ack comes within a resend interval (< 2W) of reaching H again */
#define ACKED(k) if :: k < N && LIVE(k) && REACH(k, 0) && !h_crashed && !hdown -> ACK(k) \
		 :: else -> skip fi
#define SILENCE(k) if :: k < N && LIVE(k) && !SPEAKS_TO(k) -> sil = sil | B(k) :: else -> skip fi
#ifdef OUTDROP
#define DROPCUT(i) opend[i] = opend[i] & RMASK(i); cpend[i] = cpend[i] & RMASK(i); \
	dpend[i] = dpend[i] & RMASK(i)
#else
#define DROPCUT(i) skip
#endif
#define HEAL(k) \
	:: atomic { !env_done && k < N && HAS(cut, k) -> \
		cut = cut & (ALL - B(k)); \
		if :: cut == 0 -> outage = 0 :: else -> skip fi; \
		UPDATE_CUT }
#else
#define HEAL_CUT skip
#endif

#ifdef HSTALL
#define HSTALL_ONCE && !hstalled
#else
#define HSTALL_ONCE
#endif

proctype env()
{
	byte s;
end:
	do
	:: atomic { !env_done -> env_done = 1 }
#ifndef NOHCRASH
	:: atomic { !env_done && !h_crashed -> go_down(hinc) }
#endif
#ifndef NOPARTITION
	:: atomic { !env_done && !partitioned && !healed ->
		select (s : 1 .. (ALL >> 1));
		side = s << 1;
		partitioned = 1;
		UPDATE_CUT }
	:: atomic { !env_done && partitioned -> partitioned = 0; healed = 1; HEAL_CUT }
#endif
#ifdef OUTAGE
	/* every link down at once */
	:: atomic { !env_done && !outaged ->
		outaged = 1; outage = 1; cut = ALL; healed = 1; disrupted = 1;
		hpre = h_crashed || hdown; UPDATE_CUT }
	/* 2W into the outage: whoever is still cut off from everyone is
	 * silent; refusal holds are over; an answerable probe of H has been
	 * answered; with -DOUTDROP, what the outage held up is lost */
	:: atomic { !env_done && outage && !olong ->
		olong = 1; rhold = 0;
		SILENCE(1); SILENCE(2); SILENCE(3); SILENCE(4);
		ACKED(1); ACKED(2); ACKED(3); ACKED(4);
		DROPCUT(1); DROPCUT(2); DROPCUT(3); DROPCUT(4) }
	/* one member's link comes back */
	HEAL(0) HEAL(1) HEAL(2) HEAL(3) HEAL(4)
#endif
#ifndef NOREFUTE
	/* H hears the rumour of its death and refutes */
	:: atomic { !env_done && !h_crashed && !hdown && hinc == 0 && (HEARS(1) || HEARS(2) || HEARS(3) || HEARS(4)) ->
		hinc = 1; UPDATE_CUT }
#endif
	CRASH(1) CRASH(2) CRASH(3) CRASH(4)
#ifdef HDAEMON
	/* H's daemon dies (SIGKILL, OOM, assert) and stays down; the host
	 * runs on and its kernel refuses connections to the daemon's port
	 * (issue 10, item 2). Membership stops hearing H (it may hold H
	 * dead, and gossips it; H cannot refute), but a probe that is
	 * refused is not an unanswered probe: agreement_on_peer_refused
	 * ends the run, so PROBE_FAILS is unchanged (H reachable: refused). */
	:: atomic { !env_done && !h_crashed && !hdown HSTALL_ONCE -> hdown = 1 }
#ifdef HSTALL
	/* 2094cb6: a stopped or hung daemon (SIGSTOP, starved) whose kernel
	 * completes connects (refusal_probe: "accepted" = the kernel
	 * answered) runs again; once */
	:: atomic { !env_done && hdown && !h_crashed && !hstalled -> hdown = 0; hstalled = 1 }
#endif
#endif
#ifdef MAXRESTART
	RESTART(1) RESTART(2) RESTART(3) RESTART(4)
#endif
	LOSE_FROM(1) LOSE_FROM(2) LOSE_FROM(3) LOSE_FROM(4)
	od
}

#define VERDICT(k) (k < N && LIVE(k) && stage[k] >= S_DECLARED)

/* P3, in terminal states only (timeout: nothing else can move). */
active proctype monitor()
{
	timeout ->
	if
	:: h_crashed && !disrupted && !partitioned && !healed &&
#ifdef VIEWS
	   /* with have_majority modelled, a verdict whose decider then lost
	    * its majority (the others crashed) is held, as the code does */
	   POP(LIVEDEC) >= NEED ->
#else
	   (POP(LIVEDEC) >= NEED || VERDICT(1) || VERDICT(2) || VERDICT(3) || VERDICT(4)) ->
#endif
		/* a decider still on the older incarnation (it never heard H's
		 * refutation) notifies H's failure under it: H is notified */
		assert(notifies[crash_inc] >= 1 || notified_down)
	:: else -> skip
	fi
}

init
{
	atomic {
#ifdef HSTART
		go_down(0); /* H is already down: the protocol after a crash */
#endif
		byte k = 1;
		do
		:: k < N -> run node(k); k++
		:: else -> break
		od;
		run env()
	}
}
