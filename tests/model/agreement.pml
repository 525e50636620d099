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
 *   claimer still fencing or notifying (progress_bound overrun).
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
 *    incarnation i, not connected to a majority of the N members (H plus
 *    the live deciders it could reach) - "never a healthy host fenced":
 *    up, connected to a majority, its daemon possibly down.
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
 * Plus spin's own checks: no invalid end state (deadlock), no assertion
 * failure. */

#ifndef N
#define N 4
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
byte notifies[2];/* ghost: NOTIFY actions per incident (incarnation) */

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
#define REACH(a, b) (!partitioned || SIDE(a) == SIDE(b))
#define RMASK(i) (partitioned -> (SIDE(i) -> side : (ALL - side)) : ALL)
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
		      POP(obs[j]) >= NEED && POP(obs[j] & OBSV) >= QUORUM)
#endif

/* No "holds H dead" guard: the agreement probes from SUSPECT on and may
 * observe before its view says DEAD (membership may suspect at any time,
 * so this is the superset); the verdict still needs DEAD (DECIDE_OK). */
#define OBSERVE_EN(j) (VINC(j) == IINC(j) && !HAS(observed, j) && \
		       stage[j] < S_DONE && PROBE_FAILS(j))
#define CLAIM_EN(j) (stage[j] == S_DECLARED && RANK0(j) && !HAS(done, j))
#define ACTING(k) (stage[k] == S_CLAIMED || stage[k] == S_FENCING || stage[k] == S_NOTIFYING)
#define FAST(k) (k < N && LIVE(k) && (OBSERVE_EN(k) || DECIDE_OK(k) || CLAIM_EN(k) || ACTING(k)))
#define FAST_ANY (FAST(1) || FAST(2) || FAST(3) || FAST(4))
#define LEASE1(j, k) (k < N && k != j && LIVE(k) && REACH(k, j) && ACTING(k) && !HAS(EXCL(j), k))
#define LEASE(j) (LEASE1(j, 1) || LEASE1(j, 2) || LEASE1(j, 3) || LEASE1(j, 4))
#define CUTOFF1(j, k) (k < N && k != j && LIVE(k) && !REACH(k, j) && ACTING(k))
#define CUTOFF(j) (CUTOFF1(j, 1) || CUTOFF1(j, 2) || CUTOFF1(j, 3) || CUTOFF1(j, 4))
#define TAKEOVER_EN(j) (stage[j] == S_DECLARED && HAS(CAND(j), j) && !RANK0(j) && \
			!HAS(done, j) && NET_QUIET && !FAST_ANY && !LEASE(j))

#define SETBIT(v, j, on) if :: (on) -> v = v | B(j) :: else -> v = v & (ALL - B(j)) fi

/* j's view holds H alive at an incarnation above its incident's and no
 * fence of it is known to j: j must not fence it (refuse_fencing_live_host). */
#define LIVE_UNFENCED(j) (VINC(j) > IINC(j) && !HAS(vdead, j) && !HAS(pfenced, j))

#define UPDATE_CUT \
	if \
	:: h_crashed || POP(RMASK(0) & (ALL - crashed)) * 2 <= N -> h_cut = h_cut | B(hinc) \
	:: else -> skip \
	fi

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

#define ECHO(k) \
	:: d_step { k < N && k != j && LIVE(j) && LIVE(k) && !HAS(vdead, j) && HAS(vdead, k) && \
		    REACH(k, j) && VINC(k) >= VINC(j) -> \
		vdead = vdead | B(j); \
		if \
		:: VINC(k) > VINC(j) -> vinc = vinc | B(j); \
			if :: stage[j] == S_OBS -> reset_incident(j) :: else -> skip fi \
		:: else -> skip \
		fi }

#define LEARN(k) \
	:: d_step { k < N && k != j && LIVE(j) && HAS(crashed, k) && !HAS(hung, k) && \
		    !HAS(known_dead[j], k) -> known_dead[j] = known_dead[j] | B(k) }

#ifdef FIFO
/* Everything i has in flight for j, in the order i sent it (one TCP
 * connection per peer): observation, then progress, then NOTIFIED. A
 * state-space reduction for N=5: resends and relays need not keep that
 * order, so the default delivers each message on its own. */
#define DELIVER(i) \
	:: d_step { i < N && i != j && LIVE(j) && HAS(opend[i] | cpend[i] | dpend[i], j) && \
		    REACH(i, j) -> \
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
		opend[i] = opend[i] & (ALL - B(j)); recv_obs(i, j) } \
	:: d_step { i < N && i != j && LIVE(j) && HAS(cpend[i], j) && REACH(i, j) -> \
		cpend[i] = cpend[i] & (ALL - B(j)); recv_claim(i, j) } \
	:: d_step { i < N && i != j && LIVE(j) && HAS(dpend[i], j) && REACH(i, j) && \
		    (HAS(claimers[j], i) || !HAS(cpend[i], j)) -> \
		dpend[i] = dpend[i] & (ALL - B(j)); recv_done(i, j) }
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

proctype node(byte j)
{
	bit m;
end:
	do
	/* membership: first-hand detection (the probe that follows fails too) */
	:: d_step { LIVE(j) && !HAS(vdead, j) && (h_crashed || !REACH(j, 0) || hdown) ->
		vdead = vdead | B(j);
		if
		:: OBSERVE_EN(j) -> observe(j)
		:: else -> skip
		fi }
	/* membership: a peer's DEAD rumour */
	ECHO(1) ECHO(2) ECHO(3) ECHO(4)
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
	:: d_step { LIVE(j) && stage[j] == S_CLAIMED && NET_QUIET ->
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
			assert(h_crashed || HAS(h_cut, IINC(j)));
#ifdef FENCE_NONE
			notify(j)
#else
			stage[j] = S_FENCING
#endif
		fi
	   }
	/* fence confirmed: H is off; notify */
	:: d_step { LIVE(j) && stage[j] == S_FENCING && NET_QUIET ->
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
#define FORGET(x, k) known_dead[x] = known_dead[x] & (ALL - B(k))
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
		FORGET(1, k); FORGET(2, k); FORGET(3, k); FORGET(4, k) }

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
	:: atomic { !env_done && partitioned -> partitioned = 0; healed = 1 }
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
	:: atomic { !env_done && !h_crashed && !hdown -> hdown = 1 }
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
	   (POP(LIVEDEC) >= NEED || VERDICT(1) || VERDICT(2) || VERDICT(3) || VERDICT(4)) ->
		assert(notifies[crash_inc] >= 1)
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
