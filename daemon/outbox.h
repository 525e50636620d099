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

#define OUTBOX_MAX_BODY (64 * 1024)
#define OUTBOX_MAX_ENTRIES 4096
#define OUTBOX_REASON_LEN 256

enum outbox_state { OUTBOX_PENDING = 1, OUTBOX_DELIVERED, OUTBOX_FAILED };

struct outbox_entry {
	uint64_t id;              /* monotonically increasing, never reused */
	enum outbox_state state;
	int64_t created_realtime_ns;
	uint32_t attempts;
	int64_t next_attempt_realtime_ns;
	char last_error[OUTBOX_REASON_LEN];
	size_t body_len;
	char *body;               /* NUL-terminated JSON */
};

struct outbox;

struct outbox_open_report {
	size_t pending;
	size_t failed;
	bool torn_tail;        /* a partial last record was found and cut off */
	size_t corrupt_records;/* records with a bad checksum that were skipped */
};

/* Opens (creating if needed) DIR/outbox.log. On error returns NULL and
 * writes a message into err. */
struct outbox *outbox_open(const char *dir, struct outbox_open_report *report,
			   char *err, size_t errlen);
void outbox_close(struct outbox *ob);

/* Appends a pending notification and fsyncs it. Returns 0 and the new id,
 * or -errno. */
int outbox_append(struct outbox *ob, const char *body, size_t len,
		  int64_t created_realtime_ns, uint64_t *id_out);
/* Records an attempt's outcome (durably). */
int outbox_record_attempt(struct outbox *ob, uint64_t id, const char *error,
			  int64_t next_attempt_realtime_ns);
int outbox_mark_delivered(struct outbox *ob, uint64_t id);
int outbox_mark_failed(struct outbox *ob, uint64_t id, const char *reason);
/* Puts a failed entry back to pending (operator's `outbox retry ID`). */
int outbox_retry(struct outbox *ob, uint64_t id, int64_t now_realtime_ns);

/* The pending entry due soonest, or NULL. Pointer valid until the next
 * mutating call. */
const struct outbox_entry *outbox_next_due(const struct outbox *ob);
const struct outbox_entry *outbox_find(const struct outbox *ob, uint64_t id);
size_t outbox_count(const struct outbox *ob, enum outbox_state state);
/* Iterates entries that are pending or failed (not delivered), oldest first. */
size_t outbox_list(const struct outbox *ob, const struct outbox_entry **out, size_t max);

#endif
