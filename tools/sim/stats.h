/* mimamori-sim: what a run measured, and the report.
 *
 * Definitions
 * -----------
 * healthy(X): X is powered on and exchanges messages both ways with more
 *   than half of the configured members (itself included). A stalled
 *   (CPU-starved) node is healthy; a crashed, fenced, partitioned-away
 *   (minority side) or isolated node is not.
 * live members: the healthy nodes.
 * failure: a node the scenario made fail (crash, cut off in a minority,
 *   inbound cut) at time t. Detection times are measured from t:
 *     first: the first live member whose membership holds it DEAD;
 *     all:   every live member (but it) holds it DEAD;
 *     notify: Masakari stored the first NOTIFY_HOST about it (202).
 * false declarations:
 *   membership: a DEAD event, at a live member, about a healthy node,
 *     counted per observer (false_dead) and per (subject, incarnation)
 *     (false_deaths); reported apart when the subject was stalled in the
 *     last 5 s: membership.h says a stall >= 1.2 s is declared dead by
 *     design, the agreement is the layer that must not act on it); the
 *     membership counts cover the scenario window only, false deaths
 *     during the warm-up are reported apart (false_deaths_warmup); the
 *     agreement's verdicts, fences and POSTs are counted from t = 0;
 *   verdict: the agreement declared a host failed while it was healthy;
 *   fence: FENCE of a healthy host;
 *   POST: a NOTIFY_HOST whose verdict was false.
 * POSTs per failure: NOTIFY_HOSTs about that host (202 + 409 duplicates).
 * Load: messages (membership + agreement) sent per node per second and
 *   their estimated bytes (wire.h), over the scenario window [t0, end]
 *   and over the steady part [t0, first scenario event). */
#ifndef MIMAMORI_SIM_STATS_H
#define MIMAMORI_SIM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mesh/membership.h"

struct sim;

struct failure {
	uint32_t node;
	const char *cause;
	uint64_t at;
	uint64_t first_dead_at, all_dead_at, notified_at; /* SIM_NEVER: not (yet) */
	uint32_t holders; /* live members holding it DEAD */
	uint8_t *holds;   /* per observer */
	uint32_t posts, posts_409, verdicts, fences;
};

struct verdict {
	uint32_t node, subject;
	uint64_t at;
	bool subject_healthy;
};

struct traffic {
	uint64_t msgs_mesh, bytes_mesh, msgs_agr, bytes_agr;
	/* membership messages by type (index: enum mesh_msg_type), and the
	 * updates (piggybacked records) they carried, by type too */
	uint64_t mesh_by_type[MESH_MSG_TYPE_MAX + 1];
	uint64_t updates_by_type[MESH_MSG_TYPE_MAX + 1];
};

struct stats {
	struct failure *f;
	size_t n_f, cap_f;
	int32_t *failure_of; /* per node: index in f, -1 */
	uint64_t *false_dead_inc; /* per node: incarnation of its last false death + 1 */
	struct verdict *v;
	size_t n_v, cap_v;

	struct traffic sent;            /* running totals */
	struct traffic at_t0, at_event; /* snapshots */
	uint64_t t0, first_event, end;
	bool event_seen;
	uint64_t lost_random, lost_cut, lost_down, refused, retransmits, lost_giveup;
	uint64_t warm_alive_updates; /* ALIVE@0 records sent (warm-up detector) */

	uint64_t dead_events, false_dead, false_dead_stalled, false_deaths;
	uint64_t false_deaths_warmup; /* before t0: not in false_deaths */
	uint64_t verdicts, false_verdicts, verdicts_no_majority;
	uint64_t fences, false_fences;
	uint64_t posts, posts_409, false_posts, posts_unregistered, posts_no_majority;
	uint64_t core_errors, tick_spins;
	/* membership counters summed over the nodes at the end */
	uint64_t suspicions, refutations;
};

int stats_init(struct stats *st, uint32_t n);
void stats_free(struct stats *st);

/* Hooks called by the engine and the nodes. */
void stats_failure(struct sim *s, uint32_t node, const char *cause);
void stats_member_event(struct sim *s, uint32_t observer, uint32_t subject, uint32_t new_state,
			uint64_t incarnation);
void stats_verdict(struct sim *s, uint32_t node, uint32_t subject);
void stats_fence(struct sim *s, uint32_t node, uint32_t subject);
void stats_post(struct sim *s, uint32_t node, uint32_t subject, uint64_t decided_at, int http,
		uint64_t stored_at);
/* After health changed: recount holders among live members. */
void stats_health_changed(struct sim *s);

/* One run's result, kept for the aggregate over --runs. */
struct run_result {
	uint64_t seed;
	uint32_t n;
	double warmup_s, window_s, steady_s;
	uint32_t failures, detected_all, notified, multi_post, no_post;
	double *first, *all, *notify; /* seconds, one per failure (NAN: never) */
	struct traffic window, steady;
	uint64_t lost_random, lost_cut, retransmits, lost_giveup;
	uint64_t dead_events, false_dead, false_dead_stalled, false_deaths;
	uint64_t false_deaths_warmup;
	uint64_t verdicts, false_verdicts, verdicts_no_majority;
	uint64_t fences, false_fences;
	uint64_t posts, posts_409, false_posts, posts_unregistered, posts_no_majority;
	uint64_t core_errors, tick_spins, suspicions, refutations;
	uint32_t posts_min, posts_max; /* per failure */
	size_t evq_peak;
};

/* Fills r from the finished run s (allocates the sample arrays). */
void stats_result(const struct sim *s, struct run_result *r);
void stats_result_free(struct run_result *r);
/* One line per run, with its seed; violations named. */
void stats_print_run(FILE *out, const struct run_result *r, const char *scenario);
/* The report over runs[0..k). */
void stats_print_report(FILE *out, const struct run_result *runs, size_t k, const char *scenario);

/* Aggregate numbers for the --table row. */
struct summary {
	size_t failures, detected_all, notified;
	double first_p50, first_p99, all_p50, all_p99, notify_p50, notify_p99; /* NAN: none */
	uint64_t false_dead, false_dead_stalled, false_deaths, false_deaths_warmup;
	uint64_t false_verdicts, false_posts;
	uint64_t false_fences, posts, posts_409;
	uint32_t posts_min, posts_max;
	double msgs_node_s, bytes_node_s, steady_msgs_node_s, steady_bytes_node_s;
	bool violation;
};
void stats_summarize(const struct run_result *runs, size_t k, struct summary *out);

#endif
