/* mimamori-sim: statistics and the report, see stats.h. */
#include "tools/sim/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tools/sim/sim.h"

#define STALL_MEMORY (5 * NS_PER_S)

static void *grow(void *p, size_t *cap, size_t len, size_t size)
{
	if (len < *cap)
		return p;
	size_t c = *cap ? 2 * *cap : 16;
	void *q = realloc(p, c * size);
	if (q == NULL) {
		fprintf(stderr, "mimamori-sim: out of memory (statistics)\n");
		abort();
	}
	*cap = c;
	return q;
}

int stats_init(struct stats *st, uint32_t n)
{
	memset(st, 0, sizeof(*st));
	st->failure_of = malloc(n * sizeof(*st->failure_of));
	st->false_dead_inc = calloc(n, sizeof(*st->false_dead_inc));
	if (st->failure_of == NULL || st->false_dead_inc == NULL)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		st->failure_of[i] = -1;
	return 0;
}

void stats_free(struct stats *st)
{
	for (size_t i = 0; i < st->n_f; i++)
		free(st->f[i].holds);
	free(st->f);
	free(st->v);
	free(st->failure_of);
	free(st->false_dead_inc);
	memset(st, 0, sizeof(*st));
}

static uint32_t live_others(const struct sim *s, uint32_t node)
{
	return s->n_healthy - (s->healthy[node] ? 1u : 0u);
}

static void check_all(struct sim *s, struct failure *f)
{
	uint32_t live = live_others(s, f->node);
	if (f->all_dead_at == SIM_NEVER && live > 0 && f->holders >= live)
		f->all_dead_at = s->now;
}

static void recount(struct sim *s, struct failure *f)
{
	f->holders = 0;
	for (uint32_t o = 0; o < s->n; o++)
		if (o != f->node && s->healthy[o] && f->holds[o])
			f->holders++;
	if (f->first_dead_at == SIM_NEVER && f->holders > 0)
		f->first_dead_at = s->now;
	check_all(s, f);
}

void stats_failure(struct sim *s, uint32_t node, const char *cause)
{
	struct stats *st = &s->st;

	if (st->failure_of[node] >= 0)
		return;
	st->f = grow(st->f, &st->cap_f, st->n_f, sizeof(*st->f));
	struct failure *f = &st->f[st->n_f];
	memset(f, 0, sizeof(*f));
	f->node = node;
	f->cause = cause;
	f->at = s->now;
	f->first_dead_at = f->all_dead_at = f->notified_at = SIM_NEVER;
	f->holds = calloc(s->n, 1);
	if (f->holds == NULL) {
		fprintf(stderr, "mimamori-sim: out of memory (statistics)\n");
		abort();
	}
	for (uint32_t o = 0; o < s->n; o++)
		f->holds[o] = o != node && node_view(&s->nodes[o], node) == MESH_DEAD;
	st->failure_of[node] = (int32_t)st->n_f++;
	recount(s, f);
	sim_trace(s, "failure: %s (%s)", s->names[node], cause);
}

void stats_health_changed(struct sim *s)
{
	for (size_t i = 0; i < s->st.n_f; i++)
		recount(s, &s->st.f[i]);
}

void stats_member_event(struct sim *s, uint32_t observer, uint32_t subject, uint32_t new_state,
			uint64_t incarnation)
{
	struct stats *st = &s->st;
	bool dead = new_state == MESH_DEAD;

	if (dead && s->warming) {
		if (s->healthy[observer] && s->healthy[subject] &&
		    st->false_dead_inc[subject] != incarnation + 1) {
			st->false_dead_inc[subject] = incarnation + 1;
			st->false_deaths_warmup++;
			sim_trace(s, "warm-up: %s holds %s dead (incarnation %llu)", s->names[observer],
				  s->names[subject], (unsigned long long)incarnation);
		}
	} else if (dead) {
		st->dead_events++;
		if (s->healthy[observer] && s->healthy[subject]) {
			const struct node *nd = &s->nodes[subject];
			st->false_dead++;
			if (st->false_dead_inc[subject] != incarnation + 1) {
				st->false_dead_inc[subject] = incarnation + 1;
				st->false_deaths++;
			}
			if (nd->last_stall_end != 0 && s->now < nd->last_stall_end + STALL_MEMORY)
				st->false_dead_stalled++;
		}
	}
	if (st->failure_of[subject] < 0)
		return;
	struct failure *f = &st->f[st->failure_of[subject]];
	if (dead && !f->holds[observer]) {
		f->holds[observer] = 1;
		if (s->healthy[observer]) {
			f->holders++;
			if (f->first_dead_at == SIM_NEVER)
				f->first_dead_at = s->now;
		}
	} else if (!dead && f->holds[observer]) {
		f->holds[observer] = 0;
		if (s->healthy[observer])
			f->holders--;
	}
	check_all(s, f);
}

void stats_verdict(struct sim *s, uint32_t node, uint32_t subject)
{
	struct stats *st = &s->st;

	st->v = grow(st->v, &st->cap_v, st->n_v, sizeof(*st->v));
	st->v[st->n_v++] = (struct verdict){ .node = node, .subject = subject, .at = s->now,
					     .subject_healthy = s->healthy[subject] };
	st->verdicts++;
	if (s->healthy[subject])
		st->false_verdicts++;
	if (!s->healthy[node])
		st->verdicts_no_majority++;
	if (st->failure_of[subject] >= 0)
		st->f[st->failure_of[subject]].verdicts++;
	sim_trace(s, "%s: VERDICT %s failed%s", s->names[node], s->names[subject],
		  s->healthy[subject] ? " (FALSE: it is healthy)" : "");
}

void stats_fence(struct sim *s, uint32_t node, uint32_t subject)
{
	struct stats *st = &s->st;

	st->fences++;
	if (s->healthy[subject])
		st->false_fences++;
	if (st->failure_of[subject] >= 0)
		st->f[st->failure_of[subject]].fences++;
	(void)node;
}

void stats_post(struct sim *s, uint32_t node, uint32_t subject, uint64_t decided_at, int http,
		uint64_t stored_at)
{
	struct stats *st = &s->st;
	const struct verdict *v = NULL;
	bool false_verdict;

	st->posts++;
	if (http == 409)
		st->posts_409++;
	if (!s->healthy[node])
		st->posts_no_majority++;
	for (size_t i = st->n_v; i-- > 0 && v == NULL;)
		if (st->v[i].node == node && st->v[i].subject == subject && st->v[i].at == decided_at)
			v = &st->v[i];
	false_verdict = v != NULL ? v->subject_healthy : s->healthy[subject];
	if (false_verdict)
		st->false_posts++;
	if (st->failure_of[subject] >= 0) {
		struct failure *f = &st->f[st->failure_of[subject]];
		f->posts++;
		if (http == 409)
			f->posts_409++;
		if (http == 202 && f->notified_at == SIM_NEVER)
			f->notified_at = stored_at;
	} else if (!false_verdict) {
		st->posts_unregistered++;
	}
}

/* ---- results -------------------------------------------------------------- */

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

static double since(uint64_t t, uint64_t from)
{
	return t == SIM_NEVER ? NAN : secs(t - from);
}

static struct traffic diff(const struct traffic *a, const struct traffic *b)
{
	struct traffic d = { .msgs_mesh = a->msgs_mesh - b->msgs_mesh,
			     .bytes_mesh = a->bytes_mesh - b->bytes_mesh,
			     .msgs_agr = a->msgs_agr - b->msgs_agr,
			     .bytes_agr = a->bytes_agr - b->bytes_agr };
	for (int i = 0; i <= MESH_MSG_TYPE_MAX; i++) {
		d.mesh_by_type[i] = a->mesh_by_type[i] - b->mesh_by_type[i];
		d.updates_by_type[i] = a->updates_by_type[i] - b->updates_by_type[i];
	}
	return d;
}

void stats_result(const struct sim *s, struct run_result *r)
{
	const struct stats *st = &s->st;
	size_t nf = st->n_f;

	memset(r, 0, sizeof(*r));
	r->seed = s->cfg.seed;
	r->n = s->n;
	r->warmup_s = secs(st->t0);
	r->window_s = secs(st->end - st->t0);
	r->steady_s = secs(st->first_event - st->t0);
	r->window = diff(&st->sent, &st->at_t0);
	r->steady = diff(&st->at_event, &st->at_t0);
	r->failures = (uint32_t)nf;
	r->first = calloc(nf + 1, sizeof(double));
	r->all = calloc(nf + 1, sizeof(double));
	r->notify = calloc(nf + 1, sizeof(double));
	if (r->first == NULL || r->all == NULL || r->notify == NULL) {
		fprintf(stderr, "mimamori-sim: out of memory (results)\n");
		abort();
	}
	r->posts_min = nf > 0 ? UINT32_MAX : 0;
	for (size_t i = 0; i < nf; i++) {
		const struct failure *f = &st->f[i];
		r->first[i] = since(f->first_dead_at, f->at);
		r->all[i] = since(f->all_dead_at, f->at);
		r->notify[i] = since(f->notified_at, f->at);
		r->detected_all += f->all_dead_at != SIM_NEVER;
		r->notified += f->notified_at != SIM_NEVER;
		r->multi_post += f->posts > 1;
		r->no_post += f->posts == 0;
		if (f->posts < r->posts_min)
			r->posts_min = f->posts;
		if (f->posts > r->posts_max)
			r->posts_max = f->posts;
	}
	r->lost_random = st->lost_random;
	r->lost_cut = st->lost_cut;
	r->retransmits = st->retransmits;
	r->lost_giveup = st->lost_giveup;
	r->dead_events = st->dead_events;
	r->false_dead = st->false_dead;
	r->false_dead_stalled = st->false_dead_stalled;
	r->false_deaths = st->false_deaths;
	r->false_deaths_warmup = st->false_deaths_warmup;
	r->verdicts = st->verdicts;
	r->false_verdicts = st->false_verdicts;
	r->verdicts_no_majority = st->verdicts_no_majority;
	r->fences = st->fences;
	r->false_fences = st->false_fences;
	r->posts = st->posts;
	r->posts_409 = st->posts_409;
	r->false_posts = st->false_posts;
	r->posts_unregistered = st->posts_unregistered;
	r->posts_no_majority = st->posts_no_majority;
	r->core_errors = st->core_errors;
	r->tick_spins = st->tick_spins;
	r->suspicions = st->suspicions;
	r->refutations = st->refutations;
	r->evq_peak = s->q.peak;
}

void stats_result_free(struct run_result *r)
{
	free(r->first);
	free(r->all);
	free(r->notify);
	r->first = r->all = r->notify = NULL;
}

static double per_node_s(uint64_t v, uint32_t n, double s)
{
	return s > 0 && n > 0 ? (double)v / ((double)n * s) : 0.0;
}

static bool violation(const struct run_result *r)
{
	return r->false_verdicts || r->false_fences || r->false_posts || r->verdicts_no_majority ||
	       r->posts_no_majority || r->multi_post || r->no_post || r->core_errors;
}

/* Slowest failure -> NOTIFY stored of the run (s); 0 without failures,
 * 999 if one was never notified (fails any bound). */
static double notify_max(const struct run_result *r)
{
	double m = 0;
	for (uint32_t i = 0; i < r->failures; i++) {
		double v = isnan(r->notify[i]) ? 999.0 : r->notify[i];
		if (v > m)
			m = v;
	}
	return m;
}

void stats_print_run(FILE *out, const struct run_result *r, const char *scenario)
{
	fprintf(out,
		"run scenario=%s n=%u seed=%llu warmup=%.1fs false_deaths_warmup=%llu failures=%u "
		"all_dead=%u notified=%u "
		"posts=%llu dup_posts=%llu false_deaths=%llu false_dead=%llu false_dead_stalled=%llu "
		"verdicts=%llu false_verdicts=%llu false_fences=%llu false_posts=%llu "
		"no_majority_verdicts=%llu no_majority_posts=%llu posts_per_failure=%u..%u "
		"msgs_node_s=%.1f bytes_node_s=%.0f notify_max=%.3f core_errors=%llu tick_spins=%llu",
		scenario, r->n, (unsigned long long)r->seed, r->warmup_s,
		(unsigned long long)r->false_deaths_warmup, r->failures,
		r->detected_all, r->notified, (unsigned long long)r->posts,
		(unsigned long long)r->posts_409, (unsigned long long)r->false_deaths,
		(unsigned long long)r->false_dead,
		(unsigned long long)r->false_dead_stalled, (unsigned long long)r->verdicts,
		(unsigned long long)r->false_verdicts, (unsigned long long)r->false_fences,
		(unsigned long long)r->false_posts, (unsigned long long)r->verdicts_no_majority,
		(unsigned long long)r->posts_no_majority, r->posts_min, r->posts_max,
		per_node_s(r->window.msgs_mesh + r->window.msgs_agr, r->n, r->window_s),
		per_node_s(r->window.bytes_mesh + r->window.bytes_agr, r->n, r->window_s),
		notify_max(r), (unsigned long long)r->core_errors, (unsigned long long)r->tick_spins);
	if (violation(r)) {
		fprintf(out, " VIOLATION:");
		if (r->false_verdicts)
			fprintf(out, " false-verdict");
		if (r->false_fences)
			fprintf(out, " false-fence");
		if (r->false_posts)
			fprintf(out, " false-POST");
		if (r->verdicts_no_majority || r->posts_no_majority)
			fprintf(out, " acted-without-majority");
		if (r->multi_post)
			fprintf(out, " duplicate-POST");
		if (r->no_post)
			fprintf(out, " failure-not-notified");
		if (r->core_errors)
			fprintf(out, " core-error");
		fprintf(out, " (replay: --seed %llu --runs 1)", (unsigned long long)r->seed);
	}
	fputc('\n', out);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y ? 1 : 0;
}

/* Nearest rank over the finite samples; NAN when none. */
static double pct(const double *sorted, size_t n, double p)
{
	if (n == 0)
		return NAN;
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	return sorted[rank - 1];
}

struct samples {
	double *v;
	size_t n;
};

static struct samples gather(const struct run_result *runs, size_t k, int which)
{
	struct samples sa = { NULL, 0 };
	size_t total = 0;

	for (size_t i = 0; i < k; i++)
		total += runs[i].failures;
	sa.v = calloc(total + 1, sizeof(double));
	if (sa.v == NULL)
		abort();
	for (size_t i = 0; i < k; i++) {
		const double *src = which == 0 ? runs[i].first : which == 1 ? runs[i].all :
									     runs[i].notify;
		for (size_t j = 0; j < runs[i].failures; j++)
			if (!isnan(src[j]))
				sa.v[sa.n++] = src[j];
	}
	qsort(sa.v, sa.n, sizeof(double), cmp_double);
	return sa;
}

void stats_summarize(const struct run_result *runs, size_t k, struct summary *out)
{
	struct samples sa[3];
	double node_s = 0, steady_node_s = 0;
	uint64_t msgs = 0, bytes = 0, smsgs = 0, sbytes = 0;

	memset(out, 0, sizeof(*out));
	out->posts_min = UINT32_MAX;
	for (int w = 0; w < 3; w++)
		sa[w] = gather(runs, k, w);
	out->first_p50 = pct(sa[0].v, sa[0].n, 50);
	out->first_p99 = pct(sa[0].v, sa[0].n, 99);
	out->all_p50 = pct(sa[1].v, sa[1].n, 50);
	out->all_p99 = pct(sa[1].v, sa[1].n, 99);
	out->notify_p50 = pct(sa[2].v, sa[2].n, 50);
	out->notify_p99 = pct(sa[2].v, sa[2].n, 99);
	for (int w = 0; w < 3; w++)
		free(sa[w].v);
	for (size_t i = 0; i < k; i++) {
		const struct run_result *r = &runs[i];
		out->failures += r->failures;
		out->detected_all += r->detected_all;
		out->notified += r->notified;
		out->false_dead += r->false_dead;
		out->false_dead_stalled += r->false_dead_stalled;
		out->false_deaths += r->false_deaths;
		out->false_deaths_warmup += r->false_deaths_warmup;
		out->false_fences += r->false_fences;
		out->false_verdicts += r->false_verdicts;
		out->false_posts += r->false_posts;
		out->posts += r->posts;
		out->posts_409 += r->posts_409;
		if (r->failures > 0) {
			if (r->posts_min < out->posts_min)
				out->posts_min = r->posts_min;
			if (r->posts_max > out->posts_max)
				out->posts_max = r->posts_max;
		}
		msgs += r->window.msgs_mesh + r->window.msgs_agr;
		bytes += r->window.bytes_mesh + r->window.bytes_agr;
		smsgs += r->steady.msgs_mesh + r->steady.msgs_agr;
		sbytes += r->steady.bytes_mesh + r->steady.bytes_agr;
		node_s += (double)r->n * r->window_s;
		steady_node_s += (double)r->n * r->steady_s;
		out->violation |= violation(r);
	}
	if (out->posts_min == UINT32_MAX)
		out->posts_min = 0;
	out->msgs_node_s = node_s > 0 ? (double)msgs / node_s : 0;
	out->bytes_node_s = node_s > 0 ? (double)bytes / node_s : 0;
	out->steady_msgs_node_s = steady_node_s > 0 ? (double)smsgs / steady_node_s : 0;
	out->steady_bytes_node_s = steady_node_s > 0 ? (double)sbytes / steady_node_s : 0;
}

static void print_row(FILE *out, const char *label, const struct samples *sa)
{
	if (sa->n == 0) {
		fprintf(out, "  %-38s %6zu       -       -       -\n", label, sa->n);
		return;
	}
	fprintf(out, "  %-38s %6zu %7.3f %7.3f %7.3f\n", label, sa->n, pct(sa->v, sa->n, 50),
		pct(sa->v, sa->n, 99), sa->v[sa->n - 1]);
}

void stats_print_report(FILE *out, const struct run_result *runs, size_t k, const char *scenario)
{
	struct summary sum;
	struct run_result t;
	double node_s = 0, steady_node_s = 0;

	if (k == 0)
		return;
	stats_summarize(runs, k, &sum);
	memset(&t, 0, sizeof(t));
	for (size_t i = 0; i < k; i++) {
		const struct run_result *r = &runs[i];
		t.dead_events += r->dead_events;
		t.verdicts += r->verdicts;
		t.fences += r->fences;
		t.false_fences += r->false_fences;
		t.verdicts_no_majority += r->verdicts_no_majority;
		t.posts_no_majority += r->posts_no_majority;
		t.posts_unregistered += r->posts_unregistered;
		t.core_errors += r->core_errors;
		t.tick_spins += r->tick_spins;
		t.suspicions += r->suspicions;
		t.refutations += r->refutations;
		t.lost_random += r->lost_random;
		t.lost_cut += r->lost_cut;
		t.retransmits += r->retransmits;
		t.lost_giveup += r->lost_giveup;
		t.multi_post += r->multi_post;
		t.no_post += r->no_post;
		t.window.msgs_mesh += r->window.msgs_mesh;
		t.window.msgs_agr += r->window.msgs_agr;
		t.window.bytes_mesh += r->window.bytes_mesh;
		t.window.bytes_agr += r->window.bytes_agr;
		for (int j = 0; j <= MESH_MSG_TYPE_MAX; j++) {
			t.steady.mesh_by_type[j] += r->steady.mesh_by_type[j];
			t.steady.updates_by_type[j] += r->steady.updates_by_type[j];
		}
		node_s += (double)r->n * r->window_s;
		steady_node_s += (double)r->n * r->steady_s;
	}
	fprintf(out, "== scenario %s, N=%u, seeds %llu..%llu (%zu run%s), window %.1f s after "
		     "warm-up ==\n",
		scenario, runs[0].n, (unsigned long long)runs[0].seed,
		(unsigned long long)runs[k - 1].seed, k, k == 1 ? "" : "s", runs[0].window_s);
	fprintf(out, "detection (s)                          samples     p50     p99     max\n");
	struct samples sa[3];
	for (int w = 0; w < 3; w++)
		sa[w] = gather(runs, k, w);
	print_row(out, "failure -> first live member: dead", &sa[0]);
	print_row(out, "failure -> all live members: dead", &sa[1]);
	print_row(out, "failure -> NOTIFY_HOST stored (202)", &sa[2]);
	for (int w = 0; w < 3; w++)
		free(sa[w].v);
	fprintf(out, "failures: %zu; dead at all live members: %zu; notified: %zu\n", sum.failures,
		sum.detected_all, sum.notified);
	fprintf(out, "POSTs per failure: min %u, max %u; POSTs %llu (409 duplicates %llu); failures "
		     "with >1 POST %u, with none %u\n",
		sum.posts_min, sum.posts_max, (unsigned long long)sum.posts,
		(unsigned long long)sum.posts_409, t.multi_post, t.no_post);
	fprintf(out, "false declarations: membership deaths %llu (DEAD events at observers %llu, "
		     "subject stalled <5 s ago: %llu); verdicts %llu; fences %llu; POSTs %llu; during the "
		     "warm-up: membership deaths %llu\n",
		(unsigned long long)sum.false_deaths, (unsigned long long)sum.false_dead,
		(unsigned long long)sum.false_dead_stalled,
		(unsigned long long)sum.false_verdicts, (unsigned long long)t.false_fences,
		(unsigned long long)sum.false_posts, (unsigned long long)sum.false_deaths_warmup);
	fprintf(out, "decisions: dead events %llu, verdicts %llu, fences %llu; by nodes without a "
		     "majority: verdicts %llu, POSTs %llu; POSTs about unreachable non-failures %llu\n",
		(unsigned long long)t.dead_events, (unsigned long long)t.verdicts,
		(unsigned long long)t.fences, (unsigned long long)t.verdicts_no_majority,
		(unsigned long long)t.posts_no_majority, (unsigned long long)t.posts_unregistered);
	fprintf(out, "membership: suspicions raised %llu, refutations %llu; network: lost at random "
		     "%llu, cut %llu; tcp retransmissions %llu, given up %llu\n",
		(unsigned long long)t.suspicions, (unsigned long long)t.refutations,
		(unsigned long long)t.lost_random, (unsigned long long)t.lost_cut,
		(unsigned long long)t.retransmits, (unsigned long long)t.lost_giveup);
	fprintf(out, "load per node per second: window %.1f msgs (membership %.1f, agreement %.1f), "
		     "%.0f bytes (membership %.0f, agreement %.0f); steady %.1f msgs, %.0f bytes\n",
		sum.msgs_node_s, node_s > 0 ? (double)t.window.msgs_mesh / node_s : 0,
		node_s > 0 ? (double)t.window.msgs_agr / node_s : 0, sum.bytes_node_s,
		node_s > 0 ? (double)t.window.bytes_mesh / node_s : 0,
		node_s > 0 ? (double)t.window.bytes_agr / node_s : 0, sum.steady_msgs_node_s,
		sum.steady_bytes_node_s);
	fprintf(out, "steady membership msgs per node per second by type (updates carried per msg):");
	for (int j = MESH_MSG_PING; j <= MESH_MSG_TYPE_MAX; j++) {
		double per = steady_node_s > 0 ? (double)t.steady.mesh_by_type[j] / steady_node_s : 0;
		double upm = t.steady.mesh_by_type[j] > 0 ? (double)t.steady.updates_by_type[j] /
								  (double)t.steady.mesh_by_type[j] :
							  0;
		fprintf(out, "%s %s %.1f (%.1f)", j == MESH_MSG_PING ? "" : ",", mesh_msg_type_name((uint32_t)j),
			per, upm);
	}
	fprintf(out, "\n");
	if (t.core_errors || t.tick_spins)
		fprintf(out, "core anomalies: unexpected return codes %llu, tick livelock guards %llu\n",
			(unsigned long long)t.core_errors, (unsigned long long)t.tick_spins);
	fprintf(out, "verdict: %s\n", sum.violation ? "VIOLATION (see the run lines)" : "ok");
}
