/* The notifier: a thread that drains the outbox into Masakari. The main
 * loop hands it a notification with notifier_submit(), which returns only
 * once the notification is durable on disk; from then on it is delivered
 * with retries until Masakari accepts it, rejects it for good (kept as
 * failed with the reason), or it outlives the configured age. */
#ifndef MIMAMORI_NOTIFIER_H
#define MIMAMORI_NOTIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "delivery_policy.h"
#include "event_log.h"
#include "masakari_client.h"
#include "outbox.h"

struct notifier;

struct notifier_status {
	size_t pending;
	size_t failed;
	int64_t oldest_pending_realtime_ns; /* 0 when none */
	uint64_t accepted;
	uint64_t retries;
	struct masakari_client_status masakari;
};

/* Takes ownership of ob (the notifier closes it). */
struct notifier *notifier_start(const struct masakari_client_config *mcfg,
				const struct delivery_policy_config *policy, struct outbox *ob,
				struct event_log *events, char *err, size_t errlen);
void notifier_stop(struct notifier *n);

/* Appends body to the outbox (fsync'd) and wakes the sender. failure_ns is
 * the failure's wall-clock time (the body's generated_time). */
int notifier_submit(struct notifier *n, const char *body, int64_t failure_realtime_ns,
		    uint64_t *id_out);
int notifier_retry(struct notifier *n, uint64_t id);
/* A configuration reload: the sender thread switches to a new Masakari
 * client and policy between two requests (never during one). */
void notifier_reconfigure(struct notifier *n, const struct masakari_client_config *mcfg,
			  const struct delivery_policy_config *policy);
void notifier_get_status(struct notifier *n, struct notifier_status *out);

#endif
