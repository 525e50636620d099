/* The durable outbox: every notification is appended (and fsync'd) before
 * the first delivery attempt and leaves the pending set only when Masakari
 * accepted it (202) or already had it (409). A permanent rejection (400)
 * is kept with its reason. The file is an append-only log of checksummed
 * records; opening it replays the log, and a torn last record (crash in
 * the middle of a write) is detected, reported and cut off. The log is
 * compacted when it holds mostly settled records.
 *
 * Not thread-safe: one owner. */
#ifndef MIMAMORI_OUTBOX_H
#define MIMAMORI_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/delivery_policy.h"

#define OUTBOX_MAX_BODY (64 * 1024)
#define OUTBOX_MAX_ENTRIES 4096
#define OUTBOX_REASON_LEN 256
/* Compaction runs once the log exceeds this size and less than half of it
 * describes entries still pending or failed. */
#define OUTBOX_COMPACT_MIN_BYTES (1024 * 1024)

enum outbox_state { OUTBOX_PENDING = 1, OUTBOX_DELIVERED, OUTBOX_FAILED };

struct outbox_entry {
	uint64_t id;              /* monotonically increasing, never reused */
	enum outbox_state state;
	int64_t created_realtime_ns;
	uint32_t attempts;
	int64_t next_attempt_realtime_ns;
	char last_error[OUTBOX_REASON_LEN];
	/* When an operator last put it back from failed (outbox_retry), 0 if
	 * never: the age for max_age can count from there instead of from
	 * created, or an old notification would expire again at once. */
	int64_t retried_realtime_ns;
	size_t body_len;
	char *body;               /* NUL-terminated JSON */
	/* In memory only, never stored, zero after open and append: the
	 * notifier's schedule on the monotonic clock (delivery_policy.h) and,
	 * for a COMPUTE_HOST it queued itself, the incarnation notified (0:
	 * unknown, e.g. loaded from the log). Set through outbox_find_mutable. */
	struct delivery_schedule sched;
	uint64_t host_incarnation;
	bool host_known; /* host_incarnation was set (it may be 0) */
	bool refused_maintenance; /* failed on a 409 "host on maintenance" */
};

struct outbox;

struct outbox_open_report {
	size_t pending;
	size_t failed;
	bool torn_tail;        /* a partial last record was found and cut off */
	size_t corrupt_records;/* damaged records (bad checksum, or bytes up to the
				* next good record) or meaningless ones, skipped;
				* the damaged log is kept as outbox.log.corrupt
				* and the log rewritten without them */
};

/* Opens (creating if needed) DIR/outbox.log; DIR itself is created (0700)
 * when missing but its parent must exist. Takes an exclusive lock on DIR
 * (flock) so a second daemon or tool cannot write the same log. On error
 * returns NULL and writes a message into err. report may be NULL.
 *
 * All mutating calls below write one record and fdatasync it before
 * changing memory: on error (-errno) memory is unchanged. After an fsync
 * failure the outbox refuses further writes (-EIO) because the state of
 * the page cache is unknown; it must be reopened. */
struct outbox *outbox_open(const char *dir, struct outbox_open_report *report,
			   char *err, size_t errlen);
void outbox_close(struct outbox *ob);

/* Appends a pending notification and fsyncs it. Returns 0 and the new id,
 * or -errno: -EINVAL (empty, NUL inside), -EMSGSIZE (> OUTBOX_MAX_BODY),
 * -ENOSPC (OUTBOX_MAX_ENTRIES pending + failed). The entry is due at once
 * (next_attempt = created). */
int outbox_append(struct outbox *ob, const char *body, size_t len,
		  int64_t created_realtime_ns, uint64_t *id_out);
/* Records an attempt's outcome (durably): attempts + 1, the error (NULL =
 * none) and when to try next. Pending entries only (-ENOENT, -EINVAL).
 * Errors and reasons longer than OUTBOX_REASON_LEN - 1 are cut at a UTF-8
 * boundary; control characters become '?'. */
int outbox_record_attempt(struct outbox *ob, uint64_t id, const char *error,
			  int64_t next_attempt_realtime_ns);
/* Settles an entry (pending or failed) and drops it from memory. */
int outbox_mark_delivered(struct outbox *ob, uint64_t id);
/* Pending -> failed, kept with its reason. */
int outbox_mark_failed(struct outbox *ob, uint64_t id, const char *reason);
/* Puts a failed entry back to pending (operator's `outbox retry ID`):
 * attempts = 0, due at now, retried_realtime_ns = now; last_error kept. */
int outbox_retry(struct outbox *ob, uint64_t id, int64_t now_realtime_ns);

/* The pending entry due soonest by its stored wall-clock time, or NULL.
 * Pointer valid until the next mutating call. (The notifier orders by its
 * in-memory monotonic schedule, sched.due_mono_ns, instead.) */
const struct outbox_entry *outbox_next_due(const struct outbox *ob);
const struct outbox_entry *outbox_find(const struct outbox *ob, uint64_t id);
/* The same entry, for its in-memory fields only (sched, host_incarnation):
 * everything else changes only through the calls above, which log it. */
struct outbox_entry *outbox_find_mutable(struct outbox *ob, uint64_t id);
/* For OUTBOX_DELIVERED: entries marked delivered since open (they are not
 * kept). */
size_t outbox_count(const struct outbox *ob, enum outbox_state state);
/* Iterates entries that are pending or failed (not delivered), oldest first. */
size_t outbox_list(const struct outbox *ob, const struct outbox_entry **out, size_t max);

/* Rewrites the log with only the live entries (tmp file, fsync, rename,
 * fsync dir). Runs by itself when due; exposed for tools and tests.
 * Returns 0 or -errno (the old log stays in use on failure). */
int outbox_compact(struct outbox *ob);
/* Current size of the log in bytes (for status and tests). */
uint64_t outbox_log_size(const struct outbox *ob);

/* Replays a log image held in memory, as outbox_open would, into a
 * throwaway outbox: no file is touched. For the fuzzer and tests; any
 * bytes are accepted. Returns 0, or -errno when open would refuse the
 * image (-EOVERFLOW: more than OUTBOX_MAX_ENTRIES live entries,
 * -EPROTONOSUPPORT: written by a newer format, -ENOMEM). valid_len (may be
 * NULL) receives where the torn tail starts. */
int outbox_replay_memory(const void *data, size_t len, struct outbox_open_report *report,
			 size_t *valid_len);

#endif
