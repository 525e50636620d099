/* See metrics.h. Every sample is one _Atomic uint64_t/int64_t updated with
 * relaxed ordering: the samples are independent, so a scrape needs no
 * snapshot consistency across them. Histograms keep per-bucket (not
 * cumulative) counts so an observation is a single increment; the renderer
 * accumulates them and derives _count from the same reads, so _count
 * always equals the +Inf bucket. */
#include "daemon/common/metrics.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <jansson.h>

#include "base/text.h"
#include "base/units.h"

#define MAX_BUCKETS 16
/* A clock step must not wrap a histogram's _sum: one observation adds at
 * most a day (it still lands in the +Inf bucket). */
#define MAX_OBSERVATION_NS (UINT64_C(86400) * NS_PER_S)

struct histogram_spec {
	const char *name;
	const char *help;
	size_t n;
	uint64_t bounds_ns[MAX_BUCKETS];
};

/* 50 us .. 1 s: eBPF detection is sub-millisecond, libvirt's word (pidfd
 * fallback) arrives in tens or hundreds of milliseconds. */
static const struct histogram_spec detection_spec = {
	.name = "mimamori_detection_latency_seconds",
	.help = "Time from a failure (kernel exit or libvirt event) to the daemon's verdict.",
	.n = 14,
	.bounds_ns = { 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
		       25000000, 50000000, 100000000, 250000000, 500000000, 1000000000 },
};

/* 5 ms .. 60 s: a healthy Masakari answers in milliseconds; retries with
 * backoff take seconds. */
static const struct histogram_spec notification_spec = {
	.name = "mimamori_notification_latency_seconds",
	.help = "Time from a verdict to Masakari accepting its notification.",
	.n = 13,
	.bounds_ns = { 5000000, 10000000, 25000000, 50000000, 100000000, 250000000, 500000000,
		       1000000000, 2500000000ull, 5000000000ull, 10000000000ull, 30000000000ull,
		       60000000000ull },
};

/* 100 us .. 1 s: LAN round trips over TLS are ~0.5-2 ms; the direct probe
 * window is 100 ms (longer under the local health multiplier). */
static const struct histogram_spec mesh_rtt_spec = {
	.name = "mimamori_mesh_probe_rtt_seconds",
	.help = "Round trip of the mesh's direct probes (ping to ack).",
	.n = 13,
	.bounds_ns = { 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000,
		       50000000, 100000000, 250000000, 500000000, 1000000000 },
};

struct histogram {
	const struct histogram_spec *spec;
	_Atomic uint64_t buckets[MAX_BUCKETS + 1]; /* [spec->n]: above the last bound */
	_Atomic uint64_t sum_ns;
};

struct rpc_series {
	char method[METRICS_RPC_METHOD_LEN];
	char code[METRICS_RPC_CODE_LEN];
	_Atomic uint64_t count;
};

/* A table of series filled under rpc_lock and read without it: a slot is
 * written whole before n is raised (release), readers load n (acquire). */
struct rpc_table {
	size_t cap;
	_Atomic size_t n;
	struct rpc_series *slots;
};

struct metrics {
	_Atomic uint64_t probe_events[METRICS_EXIT_CAUSES];
	/* [0] counts kinds this build does not know */
	_Atomic uint64_t verdicts[VERDICT_INFO + 1];
	_Atomic uint64_t notifications[METRICS_NOTIFY_TYPES][METRICS_NOTIFY_RESULTS];
	_Atomic uint64_t conflicts[MASAKARI_CONFLICT_KINDS];
	_Atomic uint64_t mirrored[METRICS_MIRRORED_COUNTERS];
	_Atomic int64_t gauges[METRICS_GAUGES];
	_Atomic int probe_mode; /* enum metrics_probe_mode, -1 before it is known */
	struct histogram detection, notification;

	pthread_mutex_t rpc_lock; /* serialises inserts only */
	struct rpc_table rpc, rpc_other;
	struct rpc_series rpc_slots[METRICS_RPC_MAX_SERIES];
	struct rpc_series rpc_other_slots[METRICS_RPC_MAX_OTHER];
	_Atomic uint64_t rpc_other_other;

	_Atomic bool mesh_enabled, mesh_insecure;
	_Atomic uint64_t mesh[METRICS_MESH_COUNTERS];
	_Atomic int64_t mesh_members[METRICS_MESH_STATES];
	_Atomic int64_t mesh_file_mismatch, mesh_verdicts_held, mesh_monitor_down;
	struct histogram mesh_rtt;
};

static const char *const cause_names[METRICS_EXIT_CAUSES] = { "signal", "exit", "oom", "pidfd" };
static const char *const mode_names[METRICS_PROBE_MODES] = { "ebpf", "pidfd" };
static const char *const type_names[METRICS_NOTIFY_TYPES] = { "VM", "PROCESS",
								"COMPUTE_HOST" };
static const char *const conflict_names[MASAKARI_CONFLICT_KINDS] = {
	[MASAKARI_CONFLICT_UNRECOGNISED] = "unrecognised",
	[MASAKARI_CONFLICT_DUPLICATE] = "duplicate",
	[MASAKARI_CONFLICT_HOST_ON_MAINTENANCE] = "host_on_maintenance",
};
static const char *const result_names[METRICS_NOTIFY_RESULTS] = { "accepted", "duplicate", "retry",
								  "failed", "expired" };

struct metrics *metrics_new(void)
{
	/* calloc's zero bytes are a valid initial value for these lock-free
	 * atomic integers (C17 7.17.2.1 only requires an initialisation). */
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	if (pthread_mutex_init(&m->rpc_lock, NULL) != 0) {
		free(m);
		return NULL;
	}
	atomic_init(&m->probe_mode, -1);
	m->detection.spec = &detection_spec;
	m->notification.spec = &notification_spec;
	m->mesh_rtt.spec = &mesh_rtt_spec;
	m->rpc.cap = METRICS_RPC_MAX_SERIES;
	m->rpc.slots = m->rpc_slots;
	m->rpc_other.cap = METRICS_RPC_MAX_OTHER;
	m->rpc_other.slots = m->rpc_other_slots;
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->rpc_lock);
	free(m);
}

/* ---- updates. A NULL registry is "metrics disabled": call sites need no
 * condition. */

static void inc(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

void metrics_probe_event(struct metrics *m, enum metrics_exit_cause cause)
{
	if (m && (unsigned)cause < METRICS_EXIT_CAUSES)
		inc(&m->probe_events[cause]);
}

void metrics_verdict(struct metrics *m, enum verdict_kind kind)
{
	if (!m)
		return;
	inc(&m->verdicts[kind >= VERDICT_GUEST_FAILED && kind <= VERDICT_INFO ? kind : 0]);
}

void metrics_notification(struct metrics *m, enum metrics_notification_type type,
			  enum metrics_notification_result result)
{
	if (m && (unsigned)type < METRICS_NOTIFY_TYPES && (unsigned)result < METRICS_NOTIFY_RESULTS)
		inc(&m->notifications[type][result]);
}

void metrics_masakari_conflict(struct metrics *m, enum masakari_conflict reason)
{
	if (m)
		inc(&m->conflicts[(unsigned)reason < MASAKARI_CONFLICT_KINDS
					  ? reason
					  : MASAKARI_CONFLICT_UNRECOGNISED]);
}

static void observe(struct histogram *h, uint64_t ns)
{
	size_t i = 0;

	/* le is inclusive: an observation equal to a bound belongs to it. */
	while (i < h->spec->n && ns > h->spec->bounds_ns[i])
		i++;
	inc(&h->buckets[i]);
	atomic_fetch_add_explicit(&h->sum_ns, ns < MAX_OBSERVATION_NS ? ns : MAX_OBSERVATION_NS,
				  memory_order_relaxed);
}

void metrics_observe_detection_latency_ns(struct metrics *m, uint64_t ns)
{
	if (m)
		observe(&m->detection, ns);
}

void metrics_observe_notification_latency_ns(struct metrics *m, uint64_t ns)
{
	if (m)
		observe(&m->notification, ns);
}

void metrics_set_gauge(struct metrics *m, enum metrics_gauge g, int64_t value)
{
	if (m && (unsigned)g < METRICS_GAUGES)
		atomic_store_explicit(&m->gauges[g], value, memory_order_relaxed);
}

void metrics_set_probe_mode(struct metrics *m, enum metrics_probe_mode mode)
{
	if (m && (unsigned)mode < METRICS_PROBE_MODES)
		atomic_store_explicit(&m->probe_mode, (int)mode, memory_order_relaxed);
}

void metrics_set_counter(struct metrics *m, enum metrics_mirrored_counter c, uint64_t total)
{
	if (!m || (unsigned)c >= METRICS_MIRRORED_COUNTERS)
		return;
	_Atomic uint64_t *p = &m->mirrored[c];
	uint64_t cur = atomic_load_explicit(p, memory_order_relaxed);

	/* Two setters may race: only a larger total may win. */
	while (total > cur &&
	       !atomic_compare_exchange_weak_explicit(p, &cur, total, memory_order_relaxed,
						      memory_order_relaxed))
		;
}

static bool name_fits(const char *s, size_t cap)
{
	return s && s[0] && strnlen(s, cap) < cap;
}

static _Atomic uint64_t *rpc_find(struct rpc_table *t, const char *method, const char *code)
{
	size_t n = atomic_load_explicit(&t->n, memory_order_acquire);

	for (size_t i = 0; i < n; i++)
		if (strcmp(t->slots[i].method, method) == 0 && strcmp(t->slots[i].code, code) == 0)
			return &t->slots[i].count;
	return NULL;
}

/* The pair's counter, inserting it when there is room; NULL when full. */
static _Atomic uint64_t *rpc_series(struct metrics *m, struct rpc_table *t, const char *method,
				     const char *code)
{
	_Atomic uint64_t *c = rpc_find(t, method, code);

	if (c)
		return c;
	pthread_mutex_lock(&m->rpc_lock);
	c = rpc_find(t, method, code); /* another thread may have added it */
	if (!c) {
		size_t n = atomic_load_explicit(&t->n, memory_order_relaxed);

		if (n < t->cap) {
			struct rpc_series *s = &t->slots[n];

			snprintf(s->method, sizeof(s->method), "%s", method);
			snprintf(s->code, sizeof(s->code), "%s", code);
			atomic_store_explicit(&s->count, 0, memory_order_relaxed);
			atomic_store_explicit(&t->n, n + 1, memory_order_release);
			c = &s->count;
		}
	}
	pthread_mutex_unlock(&m->rpc_lock);
	return c;
}

void metrics_rpc_request(struct metrics *m, const char *method, const char *code)
{
	_Atomic uint64_t *c = NULL;

	if (!m)
		return;
	if (!name_fits(code, METRICS_RPC_CODE_LEN))
		code = "other";
	/* A method literally named "other" joins the overflow, or its series
	 * would be exposed twice. */
	if (name_fits(method, METRICS_RPC_METHOD_LEN) && strcmp(method, "other") != 0)
		c = rpc_series(m, &m->rpc, method, code);
	if (!c && strcmp(code, "other") != 0)
		c = rpc_series(m, &m->rpc_other, "other", code);
	inc(c ? c : &m->rpc_other_other);
}

void metrics_mesh_enable(struct metrics *m)
{
	if (m)
		atomic_store_explicit(&m->mesh_enabled, true, memory_order_relaxed);
}

void metrics_mesh_set_insecure(struct metrics *m, bool insecure)
{
	if (m)
		atomic_store_explicit(&m->mesh_insecure, insecure, memory_order_relaxed);
}

void metrics_mesh_add(struct metrics *m, enum metrics_mesh_counter c, uint64_t n)
{
	if (m && (unsigned)c < METRICS_MESH_COUNTERS)
		atomic_fetch_add_explicit(&m->mesh[c], n, memory_order_relaxed);
}

void metrics_mesh_set_members(struct metrics *m, enum metrics_mesh_state s, int64_t n)
{
	if (m && (unsigned)s < METRICS_MESH_STATES)
		atomic_store_explicit(&m->mesh_members[s], n, memory_order_relaxed);
}

void metrics_mesh_set_members_file(struct metrics *m, int64_t mismatched, bool held)
{
	if (!m)
		return;
	atomic_store_explicit(&m->mesh_file_mismatch, mismatched, memory_order_relaxed);
	atomic_store_explicit(&m->mesh_verdicts_held, held ? 1 : 0, memory_order_relaxed);
}

void metrics_mesh_set_monitor_down(struct metrics *m, int64_t n)
{
	if (m)
		atomic_store_explicit(&m->mesh_monitor_down, n, memory_order_relaxed);
}

void metrics_mesh_observe_rtt_ns(struct metrics *m, uint64_t ns)
{
	if (m)
		observe(&m->mesh_rtt, ns);
}

/* ---- classification helpers */

enum metrics_exit_cause metrics_exit_cause_of(const struct proc_exit_fact *e)
{
	if (e->source == EXIT_SOURCE_PIDFD)
		return METRICS_EXIT_PIDFD;
	if (e->oom_killed)
		return METRICS_EXIT_OOM;
	if (e->status_known && WIFSIGNALED(e->wait_status))
		return METRICS_EXIT_SIGNAL;
	return METRICS_EXIT_EXIT;
}

enum metrics_notification_result metrics_notification_result_of(enum delivery_action_kind kind,
								long http_status)
{
	switch (kind) {
	case DELIVERY_DONE:
		return http_status == 409 ? METRICS_RESULT_DUPLICATE : METRICS_RESULT_ACCEPTED;
	case DELIVERY_RETRY:
	case DELIVERY_REAUTH_RETRY:
		return METRICS_RESULT_RETRY;
	case DELIVERY_PERMANENT_FAIL:
		return METRICS_RESULT_FAILED;
	case DELIVERY_EXPIRED:
		return METRICS_RESULT_EXPIRED;
	}
	/* Not a delivery_policy answer: it did not deliver anything. */
	return METRICS_RESULT_FAILED;
}

int metrics_notification_type_of(const char *body, enum metrics_notification_type *out)
{
	json_t *root = body ? json_loads(body, 0, NULL) : NULL;
	const char *type = json_string_value(json_object_get(json_object_get(root, "notification"),
							     "type"));
	int rc = 0;

	if (type && strcmp(type, "VM") == 0)
		*out = METRICS_NOTIFY_VM;
	else if (type && strcmp(type, "PROCESS") == 0)
		*out = METRICS_NOTIFY_PROCESS;
	else if (type && strcmp(type, "COMPUTE_HOST") == 0)
		*out = METRICS_NOTIFY_COMPUTE_HOST;
	else
		rc = -EINVAL;
	json_decref(root);
	return rc;
}

/* ---- the endpoint's address */

static bool valid_port(const char *p)
{
	size_t n = strlen(p);
	unsigned long v;

	if (n == 0 || n > 5 || strspn(p, "0123456789") != n)
		return false;
	v = strtoul(p, NULL, 10);
	return v <= 65535;
}

int metrics_listen_url(const char *listen, char *url, size_t urllen, char *err, size_t errlen)
{
	const char *port;
	size_t n = listen ? strnlen(listen, METRICS_LISTEN_MAX + 1) : 0;
	bool host_ok = true;

	if (n == 0 || n > METRICS_LISTEN_MAX) {
		snprintf(err, errlen, "listen address must be HOST:PORT (1 to %d characters)",
			 METRICS_LISTEN_MAX);
		return -1;
	}
	if (listen[0] == '[') {
		const char *end = strchr(listen, ']');

		if (!end || end == listen + 1 || end[1] != ':') {
			snprintf(err, errlen, "'%s': an IPv6 address is [ADDRESS]:PORT", listen);
			return -1;
		}
		for (const char *s = listen + 1; s < end; s++)
			host_ok &= isxdigit((unsigned char)*s) || *s == ':' || *s == '.';
		port = end + 2;
	} else {
		port = strrchr(listen, ':');
		if (!port || port == listen) {
			snprintf(err, errlen, "'%s' is not HOST:PORT", listen);
			return -1;
		}
		for (const char *s = listen; s < port; s++)
			host_ok &= isalnum((unsigned char)*s) || *s == '.' || *s == '-';
		if (memchr(listen, ':', (size_t)(port - listen))) {
			snprintf(err, errlen, "'%s': write an IPv6 address in brackets: [::1]:9877",
				 listen);
			return -1;
		}
		port++;
	}
	if (!host_ok) {
		snprintf(err, errlen, "'%s': the host is not an address or a host name", listen);
		return -1;
	}
	if (!valid_port(port)) {
		snprintf(err, errlen, "'%s': the port must be a number from 0 to 65535", listen);
		return -1;
	}
	if ((size_t)snprintf(url, urllen, "http://%s", listen) >= urllen) {
		snprintf(err, errlen, "'%s': too long", listen);
		return -1;
	}
	return 0;
}

/* ---- exposition */

static uint64_t load(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void put_header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values are identifiers here (versions, RPC method and code
 * names): the format's three escapes, and anything that is not printable
 * ASCII becomes '?' so a stray byte cannot make the page invalid UTF-8. */
static void put_label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			fputs("\\\\", f);
		else if (c == '"')
			fputs("\\\"", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (text_is_control(c) || c >= 0x80)
			fputc('?', f);
		else
			fputc(c, f);
	}
}

/* Nanoseconds as decimal seconds, exactly (no float rounding), without
 * trailing zeros: 50000 -> 0.00005, 2500000000 -> 2.5. */
static void put_seconds(FILE *f, int64_t ns)
{
	uint64_t abs_ns = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;
	uint64_t frac = abs_ns % NS_PER_S;
	char digits[16];
	size_t len;

	fprintf(f, "%s%" PRIu64, ns < 0 ? "-" : "", abs_ns / NS_PER_S);
	if (frac == 0)
		return;
	len = (size_t)snprintf(digits, sizeof(digits), "%09" PRIu64, frac);
	while (len > 0 && digits[len - 1] == '0')
		len--;
	fprintf(f, ".%.*s", (int)len, digits);
}

static void put_counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	put_header(f, name, "counter", help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

static void put_gauge(FILE *f, const struct metrics *m, const char *name, const char *help,
		      enum metrics_gauge g)
{
	int64_t v = atomic_load_explicit(&m->gauges[g], memory_order_relaxed);

	put_header(f, name, "gauge", help);
	fprintf(f, "%s ", name);
	if (g == METRICS_OUTBOX_OLDEST_AGE_NS)
		put_seconds(f, v);
	else
		fprintf(f, "%" PRId64, v);
	fputc('\n', f);
}

static void put_histogram(FILE *f, const struct histogram *h)
{
	const struct histogram_spec *s = h->spec;
	uint64_t cumulative = 0;

	put_header(f, s->name, "histogram", s->help);
	for (size_t i = 0; i < s->n; i++) {
		cumulative += load(&h->buckets[i]);
		fprintf(f, "%s_bucket{le=\"", s->name);
		put_seconds(f, (int64_t)s->bounds_ns[i]);
		fprintf(f, "\"} %" PRIu64 "\n", cumulative);
	}
	cumulative += load(&h->buckets[s->n]);
	fprintf(f, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum ", s->name, cumulative, s->name);
	put_seconds(f, (int64_t)load(&h->sum_ns));
	fprintf(f, "\n%s_count %" PRIu64 "\n", s->name, cumulative);
}

static void put_rpc_table(FILE *f, const struct rpc_table *t)
{
	size_t n = atomic_load_explicit(&t->n, memory_order_acquire);

	for (size_t i = 0; i < n; i++) {
		fputs("mimamori_rpc_requests_total{method=\"", f);
		put_label_value(f, t->slots[i].method);
		fputs("\",code=\"", f);
		put_label_value(f, t->slots[i].code);
		fprintf(f, "\"} %" PRIu64 "\n", load(&t->slots[i].count));
	}
}

static void render_mesh(FILE *f, const struct metrics *m)
{
	static const char *const states[METRICS_MESH_STATES] = { "alive", "suspect", "dead", "left" };

	put_header(f, "mimamori_mesh_members", "gauge",
		   "Other members of the peer mesh, by state in this node's view.");
	for (int s = 0; s < METRICS_MESH_STATES; s++)
		fprintf(f, "mimamori_mesh_members{state=\"%s\"} %" PRId64 "\n", states[s],
			atomic_load_explicit(&m->mesh_members[s], memory_order_relaxed));
	put_header(f, "mimamori_mesh_members_file_mismatch", "gauge",
		   "Members whose last message carried a members digest other than this "
		   "node's: their members file differs (or they run an older version).");
	fprintf(f, "mimamori_mesh_members_file_mismatch %" PRId64 "\n",
		atomic_load_explicit(&m->mesh_file_mismatch, memory_order_relaxed));
	put_header(f, "mimamori_mesh_verdicts_held", "gauge",
		   "1 while this node holds its failure verdicts (no declaration, fence or "
		   "notification) because the members files differ in the segment.");
	fprintf(f, "mimamori_mesh_verdicts_held %" PRId64 "\n",
		atomic_load_explicit(&m->mesh_verdicts_held, memory_order_relaxed));
	put_header(f, "mimamori_mesh_monitor_down", "gauge",
		   "Suspected members whose host's kernel answers connects to the mesh port "
		   "(refuses them, or accepts them while mimamorid does not answer the mesh): the "
		   "host is up, its mimamorid is down or hung; reported, never fenced for it.");
	fprintf(f, "mimamori_mesh_monitor_down %" PRId64 "\n",
		atomic_load_explicit(&m->mesh_monitor_down, memory_order_relaxed));
	put_histogram(f, &m->mesh_rtt);
	put_header(f, "mimamori_mesh_messages_total", "counter",
		   "Mesh messages sent to and received from peers.");
	fprintf(f, "mimamori_mesh_messages_total{direction=\"sent\"} %" PRIu64 "\n",
		load(&m->mesh[METRICS_MESH_SENT]));
	fprintf(f, "mimamori_mesh_messages_total{direction=\"received\"} %" PRIu64 "\n",
		load(&m->mesh[METRICS_MESH_RECEIVED]));
	put_counter(f, "mimamori_mesh_messages_dropped_total",
		    "Mesh messages lost here: receive queue full, send not started, or invalid.",
		    load(&m->mesh[METRICS_MESH_DROPPED]));
	put_counter(f, "mimamori_mesh_peers_rejected_total",
		    "Mesh calls refused: sender not a member, or its name is not its certificate's.",
		    load(&m->mesh[METRICS_MESH_PEERS_REJECTED]));
	put_counter(f, "mimamori_mesh_peer_queue_dropped_total",
		    "Mesh messages dropped because their sender's own receive queue was full: "
		    "that peer sends faster than this node handles (a flood costs its sender only).",
		    load(&m->mesh[METRICS_MESH_PEER_QUEUE_DROPPED]));
	put_counter(f, "mimamori_mesh_hearsay_refused_total",
		    "Membership records about a member refused because only that member may give "
		    "them: a LEFT from a third party, an incarnation far above the member's own.",
		    load(&m->mesh[METRICS_MESH_HEARSAY_REFUSED]));
	put_header(f, "mimamori_mesh_insecure_transport", "gauge",
		   "1 when the mesh runs on tcp:// without TLS ([mesh] allow_insecure_tcp): "
		   "anyone reaching the port can speak for any member.");
	fprintf(f, "mimamori_mesh_insecure_transport %d\n",
		atomic_load_explicit(&m->mesh_insecure, memory_order_relaxed) ? 1 : 0);
	put_counter(f, "mimamori_mesh_suspicions_total",
		    "Members this node's probes accused (new suspicions and confirmations).",
		    load(&m->mesh[METRICS_MESH_SUSPICIONS]));
	put_counter(f, "mimamori_mesh_refutations_total",
		    "Suspicions of this node that it refuted.",
		    load(&m->mesh[METRICS_MESH_REFUTATIONS]));
	put_counter(f, "mimamori_mesh_declarations_total",
		    "Failures (hosts, and processes of reachable hosts) this node's agreement declared.",
		    load(&m->mesh[METRICS_MESH_DECLARATIONS]));
	put_counter(f, "mimamori_mesh_peer_refusals_total",
		    "Connects to a suspected member's mesh port that its host's kernel answered "
		    "(refused with a TCP reset, or accepted while its mimamorid does not answer "
		    "the mesh): evidence that the host is up and only its monitor is down or hung.",
		    load(&m->mesh[METRICS_MESH_PEER_REFUSALS]));
	put_header(f, "mimamori_mesh_untrusted_dropped_total", "counter",
		   "Peers' completions this node's agreement did not take. "
		   "reason=\"unconfirmed\": a NOTIFIED from a member that did not claim the "
		   "incident, waiting for a second member's word (a late node's first echo, "
		   "routine); reason=\"no_honest_sender\": what no honest member sends (progress "
		   "about another member's work, a NOTIFIED naming this node, an ABANDONED or "
		   "HANDED_OVER from a non-claimer): a compromised or misconfigured member.");
	fprintf(f, "mimamori_mesh_untrusted_dropped_total{reason=\"unconfirmed\"} %" PRIu64 "\n",
		load(&m->mesh[METRICS_MESH_UNTRUSTED_UNCONFIRMED]));
	fprintf(f, "mimamori_mesh_untrusted_dropped_total{reason=\"no_honest_sender\"} %" PRIu64
		   "\n",
		load(&m->mesh[METRICS_MESH_UNTRUSTED_NO_HONEST_SENDER]));
	put_counter(f, "mimamori_mesh_handovers_total",
		    "Incidents this node handed to the next notifier after its own delivery failed "
		    "for good (a final 4xx, the outbox gave up or could not store it): "
		    "HANDED_OVER, with the fence's outcome.",
		    load(&m->mesh[METRICS_MESH_HANDOVERS]));
	put_counter(f, "mimamori_mesh_handovers_exhausted_total",
		    "Declared host failures that every notifier candidate this node knows handed "
		    "over (each one's delivery failed for good): nobody is left to notify Masakari "
		    "until the incident expires or the host fails again (event handovers_exhausted).",
		    load(&m->mesh[METRICS_MESH_HANDOVERS_EXHAUSTED]));
	put_header(f, "mimamori_mesh_fences_total", "counter",
		   "Fence attempts run by this node, by result.");
	fprintf(f, "mimamori_mesh_fences_total{result=\"ok\"} %" PRIu64 "\n",
		load(&m->mesh[METRICS_MESH_FENCES_OK]));
	fprintf(f, "mimamori_mesh_fences_total{result=\"failed\"} %" PRIu64 "\n",
		load(&m->mesh[METRICS_MESH_FENCES_FAILED]));
}

static void render(FILE *f, const struct metrics *m)
{
	int mode = atomic_load_explicit(&m->probe_mode, memory_order_relaxed);

	put_header(f, "mimamori_build_info", "gauge", "mimamorid's version; always 1.");
	fputs("mimamori_build_info{version=\"", f);
	put_label_value(f, MIMAMORI_VERSION);
	fputs("\"} 1\n", f);

	put_header(f, "mimamori_probe_events_total", "counter",
		   "Exits of watched processes reported by the probe, by cause.");
	for (int c = 0; c < METRICS_EXIT_CAUSES; c++)
		fprintf(f, "mimamori_probe_events_total{cause=\"%s\"} %" PRIu64 "\n", cause_names[c],
			load(&m->probe_events[c]));
	put_counter(f, "mimamori_probe_ringbuf_drops_total",
		    "Exit records the kernel could not queue to the daemon (ring buffer full).",
		    load(&m->mirrored[METRICS_PROBE_RINGBUF_DROPS]));
	put_header(f, "mimamori_probe_mode", "gauge", "The exit probe in use (1) and the other (0).");
	for (int i = 0; i < METRICS_PROBE_MODES; i++)
		fprintf(f, "mimamori_probe_mode{mode=\"%s\"} %d\n", mode_names[i], mode == i);
	put_gauge(f, m, "mimamori_probe_degraded",
		  "1 when eBPF is unavailable and the pidfd fallback watches known PIDs only.",
		  METRICS_PROBE_DEGRADED);

	put_histogram(f, &m->detection);
	put_histogram(f, &m->notification);

	put_header(f, "mimamori_verdicts_total", "counter",
		   "Verdicts of the correlation core, by kind.");
	for (int k = VERDICT_GUEST_FAILED; k <= VERDICT_INFO; k++)
		fprintf(f, "mimamori_verdicts_total{verdict=\"%s\"} %" PRIu64 "\n",
			verdict_kind_name((enum verdict_kind)k), load(&m->verdicts[k]));
	if (load(&m->verdicts[0]))
		fprintf(f, "mimamori_verdicts_total{verdict=\"unknown\"} %" PRIu64 "\n",
			load(&m->verdicts[0]));
	put_header(f, "mimamori_notifications_total", "counter",
		   "Delivery attempts of Masakari notifications, by type and outcome.");
	for (int t = 0; t < METRICS_NOTIFY_TYPES; t++)
		for (int r = 0; r < METRICS_NOTIFY_RESULTS; r++)
			fprintf(f,
				"mimamori_notifications_total{type=\"%s\",result=\"%s\"} %" PRIu64 "\n",
				type_names[t], result_names[r], load(&m->notifications[t][r]));
	put_header(f, "mimamori_masakari_conflicts_total", "counter",
		   "Masakari's HTTP 409 answers by reason: duplicate (it has the notification), "
		   "host_on_maintenance (it ignored it: nothing recovered), unrecognised.");
	for (int c = 0; c < MASAKARI_CONFLICT_KINDS; c++)
		fprintf(f, "mimamori_masakari_conflicts_total{reason=\"%s\"} %" PRIu64 "\n",
			conflict_names[c], load(&m->conflicts[c]));

	put_gauge(f, m, "mimamori_outbox_pending",
		  "Notifications in the outbox not yet accepted by Masakari.", METRICS_OUTBOX_PENDING);
	put_gauge(f, m, "mimamori_outbox_failed",
		  "Notifications kept as failed (rejected or expired) until an operator retries them.",
		  METRICS_OUTBOX_FAILED);
	put_gauge(f, m, "mimamori_outbox_oldest_age_seconds",
		  "Age of the oldest pending notification; 0 when none is pending.",
		  METRICS_OUTBOX_OLDEST_AGE_NS);
	put_gauge(f, m, "mimamori_libvirt_connected", "1 while the libvirt connection is up.",
		  METRICS_LIBVIRT_CONNECTED);
	put_counter(f, "mimamori_libvirt_reconnects_total", "Reconnections to libvirt.",
		    load(&m->mirrored[METRICS_LIBVIRT_RECONNECTS]));
	put_gauge(f, m, "mimamori_masakari_reachable",
		  "1 when the last request to Masakari got an HTTP answer.",
		  METRICS_MASAKARI_REACHABLE);
	put_gauge(f, m, "mimamori_masakari_token_valid",
		  "1 while a Keystone token is held (or none is needed: noauth).",
		  METRICS_MASAKARI_TOKEN_VALID);

	put_header(f, "mimamori_rpc_requests_total", "counter",
		   "Control RPC calls, by method and status code.");
	put_rpc_table(f, &m->rpc);
	put_rpc_table(f, &m->rpc_other);
	if (load(&m->rpc_other_other))
		fprintf(f, "mimamori_rpc_requests_total{method=\"other\",code=\"other\"} %" PRIu64 "\n",
			load(&m->rpc_other_other));
	if (atomic_load_explicit(&m->mesh_enabled, memory_order_relaxed))
		render_mesh(f, m);
}

char *metrics_render(const struct metrics *m, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	bool failed;

	if (!f)
		return NULL;
	render(f, m);
	failed = ferror(f) != 0;
	/* fclose flushes into buf: only then are buf and size final. */
	if (fclose(f) != 0 || failed) {
		free(buf);
		return NULL;
	}
	if (len)
		*len = size;
	return buf;
}
