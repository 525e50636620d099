/* The daemon's Prometheus metrics: a fixed registry of counters, gauges and
 * histograms, updated lock-free (C11 atomics) from the main loop, the
 * notifier and the RPC workers, and rendered in the text exposition
 * format 0.0.4. Labels are small enums, so the hot path never allocates
 * and the series set is bounded; the one free-form family (RPC method and
 * code) lives in a fixed table. No sockets here: metrics_http.c serves it.
 *
 * The peer mesh's mimamori_mesh_* families appear once metrics_mesh_enable()
 * was called (a node without the mesh exposes none). */
#ifndef MIMAMORI_METRICS_H
#define MIMAMORI_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/correlate.h"
#include "core/delivery_policy.h"
#include "core/facts.h"

/* (method, code) series of mimamori_rpc_requests_total. Beyond them, calls
 * count as method="other" (per code, up to METRICS_RPC_MAX_OTHER codes,
 * then code="other" too). */
#define METRICS_RPC_MAX_SERIES 64
#define METRICS_RPC_MAX_OTHER 16
#define METRICS_RPC_METHOD_LEN 64 /* longer names count as "other" */
#define METRICS_RPC_CODE_LEN 32

/* mimamori_probe_events_total{cause} */
enum metrics_exit_cause {
	METRICS_EXIT_SIGNAL = 0, /* killed by a signal */
	METRICS_EXIT_EXIT,       /* exit(2), any status */
	METRICS_EXIT_OOM,        /* chosen by the OOM killer */
	METRICS_EXIT_PIDFD,      /* pidfd fallback: the cause is unknown */
	METRICS_EXIT_CAUSES
};

/* mimamori_probe_mode{mode} */
enum metrics_probe_mode { METRICS_PROBE_EBPF = 0, METRICS_PROBE_PIDFD, METRICS_PROBE_MODES };

/* mimamori_notifications_total{type,result} */
enum metrics_notification_type {
	METRICS_NOTIFY_VM = 0,
	METRICS_NOTIFY_PROCESS,
	METRICS_NOTIFY_COMPUTE_HOST,
	METRICS_NOTIFY_TYPES
};
enum metrics_notification_result {
	METRICS_RESULT_ACCEPTED = 0, /* 2xx */
	METRICS_RESULT_DUPLICATE,    /* 409: Masakari already had it */
	METRICS_RESULT_RETRY,        /* not delivered, will retry (incl. re-auth) */
	METRICS_RESULT_FAILED,       /* rejected for good, kept as failed */
	METRICS_RESULT_EXPIRED,      /* outlived [delivery] max_age */
	METRICS_NOTIFY_RESULTS
};

/* Gauges that mirror daemon state (set from the refresh callback or where
 * the state changes). Values are plain integers except where the name
 * says _NS: stored in nanoseconds, rendered in seconds. */
enum metrics_gauge {
	METRICS_PROBE_DEGRADED = 0,       /* mimamori_probe_degraded: 0/1 */
	METRICS_OUTBOX_PENDING,           /* mimamori_outbox_pending */
	METRICS_OUTBOX_FAILED,            /* mimamori_outbox_failed */
	METRICS_OUTBOX_OLDEST_AGE_NS,     /* mimamori_outbox_oldest_age_seconds; 0: none */
	METRICS_LIBVIRT_CONNECTED,        /* mimamori_libvirt_connected: 0/1 */
	METRICS_MASAKARI_REACHABLE,       /* mimamori_masakari_reachable: 0/1 */
	METRICS_MASAKARI_TOKEN_VALID,     /* mimamori_masakari_token_valid: 0/1 */
	METRICS_GAUGES
};

/* Counters whose total is kept elsewhere (the kernel's ring-buffer drop
 * count, the libvirt watcher's reconnects) and copied in. */
enum metrics_mirrored_counter {
	METRICS_PROBE_RINGBUF_DROPS = 0, /* mimamori_probe_ringbuf_drops_total */
	METRICS_LIBVIRT_RECONNECTS,      /* mimamori_libvirt_reconnects_total */
	METRICS_MIRRORED_COUNTERS
};

struct metrics;

/* All series at zero, build_info set. NULL on allocation failure. */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* ---- updates: thread-safe, lock-free, never allocate (except the first
 * sighting of an RPC (method, code) pair, which takes a small lock). */

void metrics_probe_event(struct metrics *m, enum metrics_exit_cause cause);
/* Out-of-range kinds count as verdict="unknown". */
void metrics_verdict(struct metrics *m, enum verdict_kind kind);
void metrics_notification(struct metrics *m, enum metrics_notification_type type,
			  enum metrics_notification_result result);
/* mimamori_masakari_conflicts_total{reason}: Masakari's 409s by what they
 * say (core/masakari_reply.h); out-of-range counts as "unrecognised". */
void metrics_masakari_conflict(struct metrics *m, enum masakari_conflict reason);
/* Kernel exit (or libvirt event) -> verdict. */
void metrics_observe_detection_latency_ns(struct metrics *m, uint64_t ns);
/* Verdict -> accepted by Masakari. */
void metrics_observe_notification_latency_ns(struct metrics *m, uint64_t ns);
void metrics_set_gauge(struct metrics *m, enum metrics_gauge g, int64_t value);
/* The active probe; the other mode's series reads 0. */
void metrics_set_probe_mode(struct metrics *m, enum metrics_probe_mode mode);
/* Copies an external total; a smaller value than the one held is ignored,
 * so the counter never goes backwards. */
void metrics_set_counter(struct metrics *m, enum metrics_mirrored_counter c, uint64_t total);
/* One RPC call and its status code name ("OK", "NOT_FOUND"). NULL or
 * over-long names count as "other". */
void metrics_rpc_request(struct metrics *m, const char *method, const char *code);

/* ---- the peer mesh (daemon/mesh/mesh_node.c) */

/* mimamori_mesh_members{state}: other members by state in our view. */
enum metrics_mesh_state {
	METRICS_MESH_ALIVE = 0,
	METRICS_MESH_SUSPECT,
	METRICS_MESH_DEAD,
	METRICS_MESH_LEFT,
	METRICS_MESH_STATES
};

enum metrics_mesh_counter {
	METRICS_MESH_SENT = 0,       /* mimamori_mesh_messages_total{direction="sent"} */
	METRICS_MESH_RECEIVED,       /* ...{direction="received"} */
	METRICS_MESH_DROPPED,        /* mimamori_mesh_messages_dropped_total: queue full,
					not sent, invalid */
	METRICS_MESH_PEERS_REJECTED, /* mimamori_mesh_peers_rejected_total: name != certificate */
	METRICS_MESH_PEER_QUEUE_DROPPED, /* mimamori_mesh_peer_queue_dropped_total: a peer's
					    receive queue was full (it floods) */
	METRICS_MESH_HEARSAY_REFUSED, /* mimamori_mesh_hearsay_refused_total: records a
					 third party may not give (membership.h) */
	METRICS_MESH_SUSPICIONS,     /* mimamori_mesh_suspicions_total: our probes accused */
	METRICS_MESH_REFUTATIONS,    /* mimamori_mesh_refutations_total: we refuted */
	METRICS_MESH_DECLARATIONS,   /* mimamori_mesh_declarations_total: failures declared */
	METRICS_MESH_FENCES_OK,      /* mimamori_mesh_fences_total{result="ok"} */
	METRICS_MESH_FENCES_FAILED,  /* ...{result="failed"} (failed or timed out) */
	METRICS_MESH_PEER_REFUSALS,  /* mimamori_mesh_peer_refusals_total: a suspected
					member's host refused our connect */
	/* mimamori_mesh_untrusted_dropped_total{reason=...}: peers' completions
	 * the agreement did not take (agreement.h, Trust) */
	METRICS_MESH_UNTRUSTED_UNCONFIRMED,      /* a NOTIFIED awaiting a second word */
	METRICS_MESH_UNTRUSTED_NO_HONEST_SENDER, /* what no honest member sends */
	METRICS_MESH_HANDOVERS,      /* mimamori_mesh_handovers_total: incidents we handed
					to the next notifier */
	METRICS_MESH_HANDOVERS_EXHAUSTED, /* mimamori_mesh_handovers_exhausted_total:
					     incidents every rank handed over */
	METRICS_MESH_COUNTERS
};

/* Starts exposing the mesh's families (all at zero until updated). */
void metrics_mesh_enable(struct metrics *m);
/* mimamori_mesh_insecure_transport: 1 while the mesh runs on tcp://
 * without TLS ([mesh] allow_insecure_tcp). */
void metrics_mesh_set_insecure(struct metrics *m, bool insecure);
void metrics_mesh_add(struct metrics *m, enum metrics_mesh_counter c, uint64_t n);
void metrics_mesh_set_members(struct metrics *m, enum metrics_mesh_state s, int64_t n);
/* mimamori_mesh_probe_rtt_seconds: one direct probe's ping -> ack. */
void metrics_mesh_observe_rtt_ns(struct metrics *m, uint64_t ns);
/* mimamori_mesh_members_file_mismatch: members whose last message carried
 * another members digest (mesh/node.h); mimamori_mesh_verdicts_held: 1
 * while this node holds its verdicts for it. */
void metrics_mesh_set_members_file(struct metrics *m, int64_t mismatched, bool held);
/* mimamori_mesh_monitor_down: members whose host refuses connections
 * while they are suspected: host up, mimamorid down. */
void metrics_mesh_set_monitor_down(struct metrics *m, int64_t n);

/* ---- classification helpers for the call sites (pure) */

/* The cause label of a FACT_PROC_EXIT: pidfd for the fallback, then oom,
 * then signal (WIFSIGNALED), else exit. */
enum metrics_exit_cause metrics_exit_cause_of(const struct proc_exit_fact *e);
/* The result label of a delivery decision (a 409 that is DONE is a
 * duplicate; any other 409 is FAILED). */
enum metrics_notification_result metrics_notification_result_of(enum delivery_action_kind kind,
								long http_status);
/* The type label of an outbox body ({"notification": {"type": "VM"|"PROCESS"}}).
 * Returns 0, or -EINVAL when the body says neither. */
int metrics_notification_type_of(const char *body, enum metrics_notification_type *out);

/* ---- the endpoint's address ([metrics] listen) */

#define METRICS_LISTEN_MAX 127 /* fits a char[128] config field */

/* listen is HOST:PORT: "127.0.0.1:9877", "[::]:9877", "localhost:9877"
 * (IPv6 in brackets; port 0 to 65535). Writes the http:// URL the server
 * binds into url and returns 0, or -1 with the reason in err. Pure, so
 * that --check-config can reject a bad address. */
int metrics_listen_url(const char *listen, char *url, size_t urllen, char *err, size_t errlen);

/* ---- exposition */

/* The whole registry in Prometheus text format 0.0.4, NUL-terminated, in
 * malloc'd memory the caller frees; *len (may be NULL) gets its length
 * without the NUL. NULL when out of memory. Safe to call while other
 * threads update: each sample is read atomically, and a histogram's
 * _count is its +Inf bucket as rendered. */
char *metrics_render(const struct metrics *m, size_t *len);

#endif
