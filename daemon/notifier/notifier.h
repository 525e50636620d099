/* The notifier: a thread that drains the outbox into Masakari. The main
 * loop hands it a notification with notifier_submit(), which returns only
 * once the notification is durable on disk; from then on it is delivered
 * with retries until Masakari accepts it, rejects it for good (kept as
 * failed with the reason), or it outlives the configured age.
 *
 * Timing (next attempt, backoff, max_age, the Keystone token's renewal) runs
 * on CLOCK_MONOTONIC: a wall-clock step neither delays nor hastens a retry
 * nor expires a notification. The outbox stores wall-clock times (they
 * survive a reboot, monotonic time does not); at start each pending entry's
 * remaining wait and age are converted once, the wait capped at
 * max_backoff (core/delivery_policy.h delivery_schedule_restore). */
#ifndef MIMAMORI_NOTIFIER_H
#define MIMAMORI_NOTIFIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/delivery_policy.h"
#include "daemon/common/event_log.h"
#include "daemon/notifier/masakari_client.h"
#include "daemon/common/metrics.h"
#include "daemon/notifier/outbox.h"

struct notifier;

struct notifier_status {
	size_t pending;
	size_t failed;
	int64_t oldest_pending_realtime_ns; /* 0 when none */
	uint64_t accepted;
	uint64_t retries;
	struct masakari_client_status masakari;
};

/* Takes ownership of ob (the notifier closes it). metrics may be NULL. */
struct notifier *notifier_start(const struct masakari_client_config *mcfg,
				const struct delivery_policy_config *policy, struct outbox *ob,
				struct event_log *events, struct metrics *metrics, char *err,
				size_t errlen);
void notifier_stop(struct notifier *n);

/* Appends body to the outbox (fsync'd) and wakes the sender. failure_ns is
 * the failure's wall-clock time (the body's generated_time). */
int notifier_submit(struct notifier *n, const char *body, int64_t failure_realtime_ns,
		    uint64_t *id_out);
/* A COMPUTE_HOST about host for the failure the mesh knew at incarnation:
 * as notifier_submit, and remembered (in memory) for notifier_cancel_host.
 * If host was already seen alive at a newer incarnation, the entry is
 * superseded at once (kept, never sent; see below). */
int notifier_submit_host(struct notifier *n, const char *body, int64_t failure_realtime_ns,
			 const char *host, uint64_t incarnation, uint64_t *id_out);

/* The mesh sees host ALIVE at incarnation (it rebooted or refuted: it is
 * up). A COMPUTE_HOST for it still pending, notified at a lower
 * incarnation or loaded from the outbox at start (incarnation unknown),
 * would evacuate a host that is running, perhaps with its guests resumed
 * or new ones placed on it: it is not sent. It is kept as failed with the
 * reason "superseded: <reason>" (`mimamorictl outbox` shows it, `outbox
 * retry ID` sends it after all), logged as an error, recorded in the event
 * log (result "superseded") and told to the delivery callback as given up.
 * Later notifier_submit_host calls for host below incarnation are
 * superseded the same way. Returns how many entries were superseded. */
size_t notifier_cancel_host(struct notifier *n, const char *host, uint64_t incarnation,
			    const char *reason);

/* A peer's notification of host's failure at incarnation was accepted by
 * Masakari (the mesh took its NOTIFIED). Masakari checks maintenance
 * before duplicates, and the first notification put the host on
 * maintenance: our COMPUTE_HOST for the same failure (queued with
 * notifier_submit_host at that incarnation) that Masakari refuses "on
 * maintenance" is our duplicate, not a refusal (issue 10, item 8). Such
 * an answer after this call is recorded as a duplicate (delivered, no
 * conflict alert); an entry already failed for it is settled now. Returns
 * how many entries were settled. Entries loaded from before a restart
 * (incarnation unknown) are never matched. */
size_t notifier_peer_notified(struct notifier *n, const char *host, uint64_t incarnation);

/* An outbox entry as mimamorictl shows it (copied out under the lock). */
struct notifier_entry {
	uint64_t id;
	enum outbox_state state;
	int64_t created_realtime_ns;
	int64_t next_attempt_realtime_ns;
	int64_t retried_realtime_ns;
	uint32_t attempts;
	char last_error[OUTBOX_REASON_LEN];
	char body_excerpt[256];
	size_t body_len;
};

/* Entries with id > after_id in state (0: pending and failed), oldest
 * first, at most max; *total counts all that match. */
size_t notifier_list(struct notifier *n, enum outbox_state state, uint64_t after_id,
		     struct notifier_entry *out, size_t max, size_t *total);
/* Puts a failed entry back to pending: 0, -ENOENT, or -EINVAL (not failed). */
int notifier_retry(struct notifier *n, uint64_t id);
int notifier_get_entry(struct notifier *n, uint64_t id, struct notifier_entry *entry);
/* A configuration reload: the sender thread switches to a new Masakari
 * client and policy between two requests (never during one). */
void notifier_reconfigure(struct notifier *n, const struct masakari_client_config *mcfg,
			  const struct delivery_policy_config *policy);
void notifier_get_status(struct notifier *n, struct notifier_status *out);

/* Told once per outbox entry when its delivery ends: delivered (Masakari
 * answered 2xx, or 409 duplicate; http_status says which) or given up
 * (a 409 for a host on maintenance or unrecognised, rejected for
 * good or expired: delivered false, http_status the last HTTP status or
 * 0). Runs on the notifier thread with its lock held: it must not block
 * or call the notifier. fn NULL unregisters; once this returns, the old
 * callback is not running and never runs again. Entries from before a
 * restart are told too (ids the caller may not know). */
typedef void (*notifier_delivery_fn)(void *ctx, uint64_t outbox_id, bool delivered,
				     long http_status);
void notifier_set_delivery_callback(struct notifier *n, notifier_delivery_fn fn, void *ctx);

#endif
