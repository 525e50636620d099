/* The event log: one JSON object per line in STATE_DIR/events.jsonl, for
 * every fact that led to a verdict and every delivery outcome, so an
 * operator (and mimamorictl) can see what was seen, what was decided, why
 * and how fast. Rotated at a size bound. Safe to call from any thread. */
#ifndef MIMAMORI_EVENT_LOG_H
#define MIMAMORI_EVENT_LOG_H

#include <stdint.h>

#include "core/correlate.h"
#include "core/facts.h"

#define EVENT_LOG_MAX_BYTES (8 * 1024 * 1024)
#define EVENT_RING_SIZE 1024 /* recent events kept in memory for mimamorictl */
/* A mesh decision record (observers, majority, notifier) is up to ~500
 * bytes: mimamorictl events must show it whole, as events.jsonl does. */
#define EVENT_CAUSE_LEN 512

/* One event as mimamorictl shows it. */
struct event_record {
	uint64_t seq;           /* 1, 2, ... since start */
	int64_t realtime_ns;
	char kind[24];          /* proc_exit, libvirt_lifecycle, delivery, note, ... */
	char subject[64];       /* guest uuid, process name, outbox id */
	char subject_name[64];  /* guest name */
	char cause[EVENT_CAUSE_LEN];
	char verdict[24];       /* verdict kind name, delivery result */
	bool notify;
	uint64_t detect_us;
	uint64_t outbox_id;
	char source[8];         /* kernel, pidfd, libvirt */
};

struct event_log;

struct event_log *event_log_open(const char *dir, char *err, size_t errlen);
void event_log_close(struct event_log *el);

/* CLOCK_MONOTONIC stamps of one decision: the fact as stamped at its
 * source (the kernel's exit, libvirt's callback), when the main loop read
 * it, and when the verdict was reached. Benchmarks compare them with their
 * own kill time on the same clock. */
struct verdict_timing {
	uint64_t fact_mono_ns;
	uint64_t received_mono_ns;
	uint64_t verdict_mono_ns;
	uint64_t durable_mono_ns; /* notification fsync'd in the outbox; 0 if none */
	int64_t verdict_realtime_ns;
};

/* A verdict and the fact that produced it; outbox_id is 0 when nothing is
 * notified. */
void event_log_verdict(struct event_log *el, const struct fact *trigger,
		       const struct verdict *v, const struct verdict_timing *t,
		       uint64_t outbox_id);

struct delivery_record {
	uint64_t outbox_id;
	const char *result;   /* accepted, duplicate, retry, failed, expired */
	long http_status;     /* 0 when no HTTP answer */
	uint32_t attempts;
	int64_t realtime_ns;  /* when the answer came */
	uint64_t since_failure_ns; /* failure -> this answer */
	const char *error;    /* NULL when none */
};

void event_log_delivery(struct event_log *el, const struct delivery_record *r);
/* Free-form daemon events (probe mode, libvirt connection, start/stop). */
void event_log_note(struct event_log *el, const char *what, const char *detail);

/* Copies up to max events with seq > since_seq, oldest first; *first_seq
 * and *last_seq tell which seqs the ring still holds (0 when empty).
 * Returns how many were copied. */
size_t event_log_since(struct event_log *el, uint64_t since_seq, struct event_record *out,
		       size_t max, uint64_t *first_seq, uint64_t *last_seq);

#endif
