/* The durable outbox: replay across reopen, settling, failure reasons,
 * operator retry, torn tails at every byte of the last record, damage in
 * the middle, compaction (ids, pending state, next id) and the bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os/log.h"
#include "daemon/notifier/outbox.h"

#define S INT64_C(1000000000)
#define T0 (INT64_C(1795726545) * S)

struct fx {
	char dir[256];
	char log[300];
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");
	snprintf(fx->dir, sizeof(fx->dir), "%s/test_outbox.XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->log, sizeof(fx->log), "%s/outbox.log", fx->dir);
	/* Warnings about torn tails are expected here; keep output readable. */
	log_set_level(LOG_LEVEL_ERROR);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	nftw(fx->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static struct outbox *open_ok(struct fx *fx, struct outbox_open_report *rep)
{
	char err[512] = "";
	struct outbox *ob = outbox_open(fx->dir, rep, err, sizeof(err));
	if (ob == NULL)
		fail_msg("outbox_open: %s", err);
	return ob;
}

static uint64_t append_ok(struct outbox *ob, const char *body, int64_t created)
{
	uint64_t id = 0;
	int rc = outbox_append(ob, body, strlen(body), created, &id);
	if (rc != 0)
		fail_msg("outbox_append: %s", strerror(-rc));
	return id;
}

static unsigned char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void write_all(const char *path, const unsigned char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

static off_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* ---------------------------------------------------------------- basics */

static void test_append_replay(void **state)
{
	struct fx *fx = *state;
	struct outbox_open_report rep;
	struct outbox *ob = open_ok(fx, &rep);
	assert_int_equal(rep.pending, 0);
	assert_false(rep.torn_tail);
	assert_null(outbox_next_due(ob));

	assert_int_equal(append_ok(ob, "{\"n\":1}", T0), 1);
	assert_int_equal(append_ok(ob, "{\"n\":2}", T0 + 1), 2);
	assert_int_equal(append_ok(ob, "{\"n\":3}", T0 + 2), 3);
	assert_int_equal(outbox_count(ob, OUTBOX_PENDING), 3);
	outbox_close(ob);

	ob = open_ok(fx, &rep);
	assert_int_equal(rep.pending, 3);
	assert_int_equal(rep.failed, 0);
	assert_false(rep.torn_tail);
	assert_int_equal(rep.corrupt_records, 0);
	const struct outbox_entry *e = outbox_find(ob, 2);
	assert_non_null(e);
	assert_string_equal(e->body, "{\"n\":2}");
	assert_int_equal(e->body_len, 7);
	assert_int_equal(e->state, OUTBOX_PENDING);
	assert_int_equal(e->created_realtime_ns, T0 + 1);
	assert_int_equal(e->next_attempt_realtime_ns, T0 + 1); /* due at once */
	assert_int_equal(e->attempts, 0);
	assert_string_equal(e->last_error, "");
	/* ids continue after the replayed ones */
	assert_int_equal(append_ok(ob, "{\"n\":4}", T0 + 3), 4);
	const struct outbox_entry *list[8];
	assert_int_equal(outbox_list(ob, list, 8), 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(list[i]->id, i + 1); /* oldest first */
	assert_int_equal(outbox_list(ob, list, 2), 2);
	outbox_close(ob);
}

static void test_delivered_removed(void **state)
{
	struct fx *fx = *state;
	struct outbox *ob = open_ok(fx, NULL);
	uint64_t a = append_ok(ob, "{\"a\":1}", T0);
	uint64_t b = append_ok(ob, "{\"b\":1}", T0);
	assert_int_equal(outbox_mark_delivered(ob, a), 0);
	assert_null(outbox_find(ob, a));
	assert_int_equal(outbox_count(ob, OUTBOX_PENDING), 1);
	assert_int_equal(outbox_count(ob, OUTBOX_DELIVERED), 1);
	assert_int_equal(outbox_mark_delivered(ob, a), -ENOENT);
	outbox_close(ob);

	struct outbox_open_report rep;
	ob = open_ok(fx, &rep);
	assert_int_equal(rep.pending, 1);
	assert_null(outbox_find(ob, a));
	assert_non_null(outbox_find(ob, b));
	assert_int_equal(outbox_count(ob, OUTBOX_DELIVERED), 0); /* since open */
	/* a settled id is never handed out again */
	assert_int_equal(append_ok(ob, "{\"c\":1}", T0), 3);
	outbox_close(ob);
}

static void test_attempts_and_failed_kept(void **state)
{
	struct fx *fx = *state;
	struct outbox *ob = open_ok(fx, NULL);
	uint64_t a = append_ok(ob, "{\"a\":1}", T0);
	uint64_t b = append_ok(ob, "{\"b\":1}", T0);
	assert_int_equal(outbox_record_attempt(ob, a, "connect refused", T0 + 2 * S), 0);
	assert_int_equal(outbox_record_attempt(ob, a, "HTTP 503: busy", T0 + 5 * S), 0);
	assert_int_equal(outbox_record_attempt(ob, b, NULL, T0 + 1 * S), 0);
	assert_int_equal(outbox_mark_failed(ob, b, "HTTP 400: Host with name x could not be found."),
			 0);
	/* state rules */
	assert_int_equal(outbox_mark_failed(ob, b, "again"), -EINVAL);
	assert_int_equal(outbox_record_attempt(ob, b, "x", T0), -EINVAL);
	assert_int_equal(outbox_record_attempt(ob, 99, "x", T0), -ENOENT);
	assert_int_equal(outbox_mark_failed(ob, 99, "x"), -ENOENT);
	assert_int_equal(outbox_retry(ob, a, T0), -EINVAL);
	assert_int_equal(outbox_retry(ob, 99, T0), -ENOENT);
	/* a failed entry is never due */
	assert_int_equal(outbox_next_due(ob)->id, a);
	outbox_close(ob);

	struct outbox_open_report rep;
	ob = open_ok(fx, &rep);
	assert_int_equal(rep.pending, 1);
	assert_int_equal(rep.failed, 1);
	const struct outbox_entry *e = outbox_find(ob, a);
	assert_int_equal(e->attempts, 2);
	assert_int_equal(e->next_attempt_realtime_ns, T0 + 5 * S);
	assert_string_equal(e->last_error, "HTTP 503: busy");
	e = outbox_find(ob, b);
	assert_int_equal(e->state, OUTBOX_FAILED);
	assert_int_equal(e->attempts, 1);
	assert_string_equal(e->last_error, "HTTP 400: Host with name x could not be found.");
	assert_int_equal(outbox_count(ob, OUTBOX_FAILED), 1);
	/* failed entries are listed, and can still be settled */
	const struct outbox_entry *list[4];
	assert_int_equal(outbox_list(ob, list, 4), 2);
	assert_int_equal(outbox_mark_delivered(ob, b), 0);
	outbox_close(ob);
}

static void test_retry_failed(void **state)
{
	struct fx *fx = *state;
	struct outbox *ob = open_ok(fx, NULL);
	uint64_t a = append_ok(ob, "{\"a\":1}", T0);
	assert_int_equal(outbox_record_attempt(ob, a, "HTTP 400: unknown host", T0 + S), 0);
	assert_int_equal(outbox_mark_failed(ob, a, "HTTP 400: unknown host"), 0);
	assert_null(outbox_next_due(ob));
	assert_int_equal(outbox_retry(ob, a, T0 + 3600 * S), 0);
	const struct outbox_entry *e = outbox_next_due(ob);
	assert_non_null(e);
	assert_int_equal(e->id, a);
	assert_int_equal(e->state, OUTBOX_PENDING);
	assert_int_equal(e->attempts, 0);
	assert_int_equal(e->next_attempt_realtime_ns, T0 + 3600 * S);
	assert_int_equal(e->retried_realtime_ns, T0 + 3600 * S);
	assert_int_equal(e->created_realtime_ns, T0);
	assert_string_equal(e->last_error, "HTTP 400: unknown host");
	outbox_close(ob);

	ob = open_ok(fx, NULL);
	e = outbox_find(ob, a);
	assert_int_equal(e->state, OUTBOX_PENDING);
	assert_int_equal(e->attempts, 0);
	assert_int_equal(e->retried_realtime_ns, T0 + 3600 * S);
	assert_int_equal(e->next_attempt_realtime_ns, T0 + 3600 * S);
	assert_int_equal(outbox_mark_delivered(ob, a), 0);
	outbox_close(ob);
}

static void test_next_due_order(void **state)
{
	struct fx *fx = *state;
	struct outbox *ob = open_ok(fx, NULL);
	uint64_t a = append_ok(ob, "{\"a\":1}", T0);
	uint64_t b = append_ok(ob, "{\"b\":1}", T0);
	uint64_t c = append_ok(ob, "{\"c\":1}", T0 + 5);
	assert_int_equal(outbox_next_due(ob)->id, a); /* oldest of equals */
	assert_int_equal(outbox_record_attempt(ob, a, "x", T0 + 100 * S), 0);
	assert_int_equal(outbox_next_due(ob)->id, b);
	assert_int_equal(outbox_record_attempt(ob, b, "x", T0 + 10 * S), 0);
	assert_int_equal(outbox_next_due(ob)->id, c);
	assert_int_equal(outbox_mark_delivered(ob, c), 0);
	assert_int_equal(outbox_next_due(ob)->id, b);
	outbox_close(ob);
}

static void test_text_sanitized(void **state)
{
	struct fx *fx = *state;
	struct outbox *ob = open_ok(fx, NULL);
	uint64_t a = append_ok(ob, "{}", T0);
	assert_int_equal(outbox_record_attempt(ob, a, "line1\nline2\t\x1d\x0b\xff end", T0), 0);
	assert_string_equal(outbox_find(ob, a)->last_error, "line1?line2???? end");
	/* 300 two-byte characters: cut to <= 255 bytes on a character boundary */
	char big[700] = "";
	for (int i = 0; i < 300; i++)
		strcat(big, "\xc3\xa9");
	assert_int_equal(outbox_mark_failed(ob, a, big), 0);
	const char *r = outbox_find(ob, a)->last_error;
	assert_int_equal(strlen(r), 254);
	assert_int_equal((unsigned char)r[253], 0xa9);
	outbox_close(ob);
	ob = open_ok(fx, NULL);
	assert_int_equal(strlen(outbox_find(ob, a)->last_error), 254);
	outbox_close(ob);
}

static void test_bounds(void **state)
{
	struct fx *fx = *state;
	struct outbox *ob = open_ok(fx, NULL);
	char *body = malloc(OUTBOX_MAX_BODY + 2);
	assert_non_null(body);
	memset(body, 'x', OUTBOX_MAX_BODY + 1);
	body[0] = '"';
	body[OUTBOX_MAX_BODY - 1] = '"';
	body[OUTBOX_MAX_BODY + 1] = '\0';
	uint64_t id = 0;
	assert_int_equal(outbox_append(ob, body, OUTBOX_MAX_BODY + 1, T0, &id), -EMSGSIZE);
	assert_int_equal(outbox_append(ob, body, OUTBOX_MAX_BODY, T0, &id), 0);
	assert_int_equal(outbox_append(ob, body, 0, T0, &id), -EINVAL);
	assert_int_equal(outbox_append(ob, NULL, 3, T0, &id), -EINVAL);
	assert_int_equal(outbox_append(ob, "a\0b", 3, T0, &id), -EINVAL);
	assert_int_equal(outbox_append(NULL, "a", 1, T0, &id), -EINVAL);
	outbox_close(ob);

	struct outbox_open_report rep;
	ob = open_ok(fx, &rep);
	assert_int_equal(rep.pending, 1);
	const struct outbox_entry *e = outbox_find(ob, id);
	assert_int_equal(e->body_len, OUTBOX_MAX_BODY);
	assert_memory_equal(e->body, body, OUTBOX_MAX_BODY);
	assert_int_equal(e->body[OUTBOX_MAX_BODY], '\0');
	outbox_close(ob);
	free(body);
}

/* An independent encoder for the on-disk format (bitwise crc32c), so tests
 * can build logs without thousands of fsyncs and check the format itself. */
static uint32_t crc32c_bits(uint32_t crc, const unsigned char *p, size_t n)
{
	crc = ~crc;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static void le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Writes header + payload at out; returns the record length. */
static size_t put_record(unsigned char *out, uint8_t type, const unsigned char *payload,
			 size_t plen)
{
	le(out, 0x6D0B1DA7u, 4);
	out[4] = type;
	le(out + 5, plen, 4);
	memcpy(out + 13, payload, plen);
	uint32_t crc = crc32c_bits(0, out, 9);
	crc = crc32c_bits(crc, out + 13, plen);
	le(out + 9, crc, 4);
	return 13 + plen;
}

static size_t put_add(unsigned char *out, uint64_t id, int64_t created, const char *body)
{
	unsigned char p[256];
	size_t bl = strlen(body);
	le(p, id, 8);
	le(p + 8, (uint64_t)created, 8);
	memcpy(p + 16, body, bl);
	return put_record(out, 1, p, 16 + bl);
}

static void test_format_is_as_documented(void **state)
{
	struct fx *fx = *state;
	struct outbox *ob = open_ok(fx, NULL);
	append_ok(ob, "{\"a\":1}", -5);
	outbox_close(ob);
	size_t len;
	unsigned char *d = read_all(fx->log, &len);
	unsigned char want[128];
	unsigned char meta[12];
	le(meta, 1, 4);     /* format version */
	le(meta + 4, 1, 8); /* next id of a new log */
	size_t n = put_record(want, 6, meta, sizeof(meta));
	n += put_add(want + n, 1, -5, "{\"a\":1}");
	assert_int_equal(len, n);
	assert_memory_equal(d, want, n);
	free(d);
	/* crc32c check value */
	assert_int_equal(crc32c_bits(0, (const unsigned char *)"123456789", 9), 0xE3069283u);
}

static void test_max_entries(void **state)
{
	struct fx *fx = *state;
	/* A log holding OUTBOX_MAX_ENTRIES pending entries, built directly. */
	size_t cap = (OUTBOX_MAX_ENTRIES + 2) * 64;
	unsigned char *img = malloc(cap);
	size_t n = 0;
	for (uint64_t id = 1; id <= OUTBOX_MAX_ENTRIES; id++)
		n += put_add(img + n, id, T0, "{}");
	write_all(fx->log, img, n);

	struct outbox_open_report rep;
	struct outbox *ob = open_ok(fx, &rep);
	assert_int_equal(rep.pending, OUTBOX_MAX_ENTRIES);
	uint64_t id;
	assert_int_equal(outbox_append(ob, "{}", 2, T0, &id), -ENOSPC);
	/* failed ones still count as live; settling one makes room */
	assert_int_equal(outbox_mark_failed(ob, 1, "x"), 0);
	assert_int_equal(outbox_append(ob, "{}", 2, T0, &id), -ENOSPC);
	assert_int_equal(outbox_mark_delivered(ob, 2), 0);
	assert_int_equal(outbox_append(ob, "{}", 2, T0, &id), 0);
	assert_int_equal(id, OUTBOX_MAX_ENTRIES + 1);
	outbox_close(ob);
	ob = open_ok(fx, &rep);
	assert_int_equal(rep.pending + rep.failed, OUTBOX_MAX_ENTRIES);
	outbox_close(ob);

	/* One live entry too many (only a crafted file can hold that): open
	 * refuses rather than dropping a notification. */
	n += put_add(img + n, OUTBOX_MAX_ENTRIES + 1, T0, "{}");
	write_all(fx->log, img, n);
	char err[512] = "";
	assert_null(outbox_open(fx->dir, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "OUTBOX_MAX_ENTRIES"));
	assert_int_equal(outbox_replay_memory(img, n, NULL, NULL), -EOVERFLOW);
	free(img);
}

static void test_semantic_garbage_skipped(void **state)
{
	(void)state;
	/* Checksummed records with meaningless content are counted and
	 * skipped; records about unknown ids are ignored. */
	unsigned char img[1024], p[64];
	size_t n = 0;
	n += put_add(img + n, 5, T0, "{\"ok\":5}");
	n += put_add(img + n, 5, T0, "{\"dup\":5}");  /* id not increasing */
	n += put_add(img + n, 0, T0, "{\"zero\":0}"); /* id 0 */
	n += put_record(img + n, 1, (const unsigned char *)"short", 5);
	n += put_record(img + n, 3, (const unsigned char *)"12345", 5); /* DELIVERED len */
	le(p, 77, 8);
	n += put_record(img + n, 3, p, 8);              /* DELIVERED unknown id: ignored */
	le(p, 5, 8);
	memcpy(p + 8, "a\0b", 3);
	n += put_record(img + n, 4, p, 11);             /* FAILED reason with NUL */
	n += put_record(img + n, 6, p, 3);              /* META short */
	n += put_add(img + n, 6, T0, "{\"ok\":6}");
	struct outbox_open_report rep;
	size_t valid;
	assert_int_equal(outbox_replay_memory(img, n, &rep, &valid), 0);
	assert_int_equal(valid, n);
	assert_false(rep.torn_tail);
	assert_int_equal(rep.corrupt_records, 6);
	assert_int_equal(rep.pending, 2);
	assert_int_equal(rep.failed, 0);
}

static void test_exclusive_lock(void **state)
{
	struct fx *fx = *state;
	struct outbox *ob = open_ok(fx, NULL);
	char err[512] = "";
	assert_null(outbox_open(fx->dir, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "in use"));
	outbox_close(ob);
	ob = open_ok(fx, NULL);
	outbox_close(ob);
}

static void test_creates_dir_and_errors(void **state)
{
	struct fx *fx = *state;
	char sub[400];
	snprintf(sub, sizeof(sub), "%s/state", fx->dir);
	char err[512] = "";
	struct outbox *ob = outbox_open(sub, NULL, err, sizeof(err));
	assert_non_null(ob);
	outbox_close(ob);
	struct stat st;
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	snprintf(sub, sizeof(sub), "%s/no/such/parent", fx->dir);
	assert_null(outbox_open(sub, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, sub));
	assert_null(outbox_open("", NULL, err, sizeof(err)));

	/* a leftover tmp from an interrupted compaction is removed */
	char tmp[400];
	snprintf(tmp, sizeof(tmp), "%s/outbox.log.tmp", fx->dir);
	write_all(tmp, (const unsigned char *)"junk", 4);
	ob = open_ok(fx, NULL);
	assert_int_equal(access(tmp, F_OK), -1);
	outbox_close(ob);
}

/* ---------------------------------------------------------------- damage */

/* Builds a log whose last record is produced by last(); returns the file
 * size before that record. */
static off_t build_with_last(struct fx *fx, void (*last)(struct outbox *))
{
	struct outbox *ob = open_ok(fx, NULL);
	append_ok(ob, "{\"n\":1}", T0);
	append_ok(ob, "{\"n\":2}", T0 + 1);
	assert_int_equal(outbox_record_attempt(ob, 1, "timeout", T0 + S), 0);
	off_t before = (off_t)outbox_log_size(ob);
	last(ob);
	assert_true((off_t)outbox_log_size(ob) > before);
	outbox_close(ob);
	return before;
}

static void last_add(struct outbox *ob) { append_ok(ob, "{\"n\":3, \"pad\":\"abcdef\"}", T0 + 2); }
static void last_delivered(struct outbox *ob) { assert_int_equal(outbox_mark_delivered(ob, 2), 0); }
static void last_failed(struct outbox *ob)
{
	assert_int_equal(outbox_mark_failed(ob, 1, "HTTP 400: bad"), 0);
}

static void check_prefix_intact(struct outbox *ob)
{
	const struct outbox_entry *e1 = outbox_find(ob, 1);
	const struct outbox_entry *e2 = outbox_find(ob, 2);
	assert_non_null(e1);
	assert_non_null(e2);
	assert_string_equal(e1->body, "{\"n\":1}");
	assert_string_equal(e2->body, "{\"n\":2}");
	assert_int_equal(e1->state, OUTBOX_PENDING);
	assert_int_equal(e1->attempts, 1);
	assert_string_equal(e1->last_error, "timeout");
	assert_int_equal(e2->state, OUTBOX_PENDING);
}

static void torn_at_every_offset(struct fx *fx, void (*last)(struct outbox *))
{
	off_t before = build_with_last(fx, last);
	size_t len;
	unsigned char *full = read_all(fx->log, &len);
	for (size_t cut = (size_t)before + 1; cut < len; cut++) {
		write_all(fx->log, full, cut);
		struct outbox_open_report rep;
		struct outbox *ob = open_ok(fx, &rep);
		if (!rep.torn_tail)
			fail_msg("cut at %zu of %zu not reported", cut, len);
		assert_int_equal(rep.corrupt_records, 0);
		assert_int_equal(rep.pending, 2); /* the torn record had no effect */
		assert_int_equal(rep.failed, 0);
		check_prefix_intact(ob);
		assert_null(outbox_find(ob, 3));
		/* cut away on disk, and the log is usable afterwards */
		assert_int_equal(file_size(fx->log), before);
		uint64_t id = append_ok(ob, "{\"after\":1}", T0);
		assert_true(id >= 3);
		outbox_close(ob);
		struct outbox_open_report rep2;
		ob = open_ok(fx, &rep2);
		assert_false(rep2.torn_tail);
		assert_int_equal(rep2.pending, 3);
		outbox_close(ob);
	}
	/* The whole last record is applied. */
	write_all(fx->log, full, len);
	struct outbox_open_report rep;
	struct outbox *ob = open_ok(fx, &rep);
	assert_false(rep.torn_tail);
	outbox_close(ob);
	free(full);
}

static void test_torn_tail_add(void **state) { torn_at_every_offset(*state, last_add); }
static void test_torn_tail_delivered(void **state) { torn_at_every_offset(*state, last_delivered); }
static void test_torn_tail_failed(void **state) { torn_at_every_offset(*state, last_failed); }

static void test_bad_crc_at_end_and_garbage_tail(void **state)
{
	struct fx *fx = *state;
	off_t before = build_with_last(fx, last_add);
	size_t len;
	unsigned char *full = read_all(fx->log, &len);

	/* A complete last record with a flipped payload byte: torn. */
	full[len - 3] ^= 0x01;
	write_all(fx->log, full, len);
	struct outbox_open_report rep;
	struct outbox *ob = open_ok(fx, &rep);
	assert_true(rep.torn_tail);
	assert_int_equal(rep.corrupt_records, 0);
	check_prefix_intact(ob);
	assert_null(outbox_find(ob, 3));
	assert_int_equal(file_size(fx->log), before);
	outbox_close(ob);

	/* Zeros after a good log (a crash after the size grew but before
	 * the data landed): torn, all records kept. */
	full[len - 3] ^= 0x01;
	unsigned char *z = calloc(len + 4096, 1);
	memcpy(z, full, len);
	write_all(fx->log, z, len + 4096);
	ob = open_ok(fx, &rep);
	assert_true(rep.torn_tail);
	assert_int_equal(rep.pending, 3);
	assert_int_equal(file_size(fx->log), (off_t)len);
	outbox_close(ob);
	free(z);
	free(full);
}

/* Offsets of each record in the log, found by walking the lengths. */
static size_t record_offsets(const unsigned char *d, size_t len, size_t *offs, size_t max)
{
	size_t n = 0, pos = 0;
	while (pos + 13 <= len && n < max) {
		offs[n++] = pos;
		uint32_t plen = (uint32_t)d[pos + 5] | (uint32_t)d[pos + 6] << 8 |
				(uint32_t)d[pos + 7] << 16 | (uint32_t)d[pos + 8] << 24;
		pos += 13 + plen;
	}
	return n;
}

static void build_five(struct fx *fx)
{
	struct outbox *ob = open_ok(fx, NULL);
	for (int i = 1; i <= 5; i++) {
		char body[32];
		snprintf(body, sizeof(body), "{\"n\":%d}", i);
		append_ok(ob, body, T0 + i);
	}
	outbox_close(ob);
}

static void check_all_but(struct outbox *ob, uint64_t missing)
{
	for (uint64_t id = 1; id <= 5; id++) {
		const struct outbox_entry *e = outbox_find(ob, id);
		if (id == missing) {
			assert_null(e);
			continue;
		}
		assert_non_null(e);
		char body[32];
		snprintf(body, sizeof(body), "{\"n\":%d}", (int)id);
		assert_string_equal(e->body, body);
	}
}

static void corrupt_middle(struct fx *fx, size_t field_off, unsigned char xor_with)
{
	build_five(fx);
	size_t len, offs[16];
	unsigned char *d = read_all(fx->log, &len);
	/* records: META, ADD1..ADD5; damage ADD3 */
	assert_int_equal(record_offsets(d, len, offs, 16), 6);
	d[offs[3] + field_off] ^= xor_with;
	write_all(fx->log, d, len);

	struct outbox_open_report rep;
	struct outbox *ob = open_ok(fx, &rep);
	assert_false(rep.torn_tail);
	assert_int_equal(rep.corrupt_records, 1);
	assert_int_equal(rep.pending, 4);
	check_all_but(ob, 3);
	/* the damaged file is kept aside, the log rewritten clean */
	char keep[400];
	snprintf(keep, sizeof(keep), "%s/outbox.log.corrupt", fx->dir);
	assert_int_equal(file_size(keep), (off_t)len);
	assert_int_equal(append_ok(ob, "{\"n\":6}", T0), 6);
	outbox_close(ob);
	ob = open_ok(fx, &rep);
	assert_int_equal(rep.corrupt_records, 0);
	assert_int_equal(rep.pending, 5);
	outbox_close(ob);
	free(d);
}

/* bad crc, sane length: that record is skipped */
static void test_mid_corrupt_payload(void **state) { corrupt_middle(*state, 20, 0x10); }
/* a damaged length or magic: resynchronised at the next good record */
static void test_mid_corrupt_length(void **state) { corrupt_middle(*state, 8, 0x40); }
static void test_mid_corrupt_magic(void **state) { corrupt_middle(*state, 0, 0xff); }
static void test_mid_corrupt_crc(void **state) { corrupt_middle(*state, 10, 0x01); }

static void test_unknown_version_refused(void **state)
{
	struct fx *fx = *state;
	/* A META record claiming format 2 (with a valid crc) must not be
	 * "repaired" by an older daemon. */
	struct outbox *ob = open_ok(fx, NULL);
	outbox_close(ob);
	size_t len;
	unsigned char *d = read_all(fx->log, &len);
	assert_int_equal(len, 13 + 12);
	unsigned char meta[12];
	memcpy(meta, d + 13, 12);
	meta[0] = 2;
	assert_int_equal(put_record(d, 6, meta, 12), len);
	write_all(fx->log, d, len);
	char err[512] = "";
	assert_null(outbox_open(fx->dir, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "newer"));
	assert_int_equal(outbox_replay_memory(d, len, NULL, NULL), -EPROTONOSUPPORT);
	free(d);
}

/* ---------------------------------------------------------------- compaction */

static void test_compaction_preserves(void **state)
{
	struct fx *fx = *state;
	struct outbox *ob = open_ok(fx, NULL);
	for (int i = 0; i < 8; i++)
		append_ok(ob, "{\"k\":\"v\"}", T0 + i);
	assert_int_equal(outbox_record_attempt(ob, 1, "HTTP 503", T0 + 9 * S), 0);
	assert_int_equal(outbox_record_attempt(ob, 1, "HTTP 502", T0 + 19 * S), 0);
	assert_int_equal(outbox_mark_failed(ob, 2, "HTTP 400: no host"), 0);
	assert_int_equal(outbox_mark_failed(ob, 3, "expired"), 0);
	assert_int_equal(outbox_retry(ob, 3, T0 + 100 * S), 0);
	assert_int_equal(outbox_record_attempt(ob, 3, "HTTP 500", T0 + 110 * S), 0);
	assert_int_equal(outbox_mark_failed(ob, 4, "x"), 0);
	assert_int_equal(outbox_retry(ob, 4, T0 + 200 * S), 0); /* retried, no attempt yet */
	for (uint64_t id = 5; id <= 8; id++)
		assert_int_equal(outbox_mark_delivered(ob, id), 0);
	uint64_t before = outbox_log_size(ob);
	assert_int_equal(outbox_compact(ob), 0);
	assert_true(outbox_log_size(ob) < before);
	assert_int_equal((uint64_t)file_size(fx->log), outbox_log_size(ob));

	/* reopen a second handle on the compacted file and compare */
	size_t len;
	unsigned char *d = read_all(fx->log, &len);
	struct outbox_open_report mrep;
	size_t valid;
	assert_int_equal(outbox_replay_memory(d, len, &mrep, &valid), 0);
	assert_int_equal(valid, len);
	assert_int_equal(mrep.pending, 3);
	assert_int_equal(mrep.failed, 1);
	free(d);

	/* appends after compaction go to the new file */
	assert_int_equal(append_ok(ob, "{\"n\":9}", T0), 9);
	outbox_close(ob);

	struct outbox_open_report rep;
	ob = open_ok(fx, &rep);
	assert_int_equal(rep.pending, 4);
	assert_int_equal(rep.failed, 1);
	assert_false(rep.torn_tail);
	const struct outbox_entry *e = outbox_find(ob, 1);
	assert_int_equal(e->attempts, 2);
	assert_int_equal(e->next_attempt_realtime_ns, T0 + 19 * S);
	assert_string_equal(e->last_error, "HTTP 502");
	e = outbox_find(ob, 2);
	assert_int_equal(e->state, OUTBOX_FAILED);
	assert_string_equal(e->last_error, "HTTP 400: no host");
	e = outbox_find(ob, 3);
	assert_int_equal(e->state, OUTBOX_PENDING);
	assert_int_equal(e->attempts, 1);
	assert_int_equal(e->retried_realtime_ns, T0 + 100 * S);
	assert_int_equal(e->next_attempt_realtime_ns, T0 + 110 * S);
	e = outbox_find(ob, 4);
	assert_int_equal(e->state, OUTBOX_PENDING);
	assert_int_equal(e->attempts, 0);
	assert_int_equal(e->next_attempt_realtime_ns, T0 + 200 * S);
	assert_string_equal(e->last_error, "x");
	assert_null(outbox_find(ob, 5));
	assert_non_null(outbox_find(ob, 9));

	/* compacting twice changes nothing */
	assert_int_equal(outbox_compact(ob), 0);
	outbox_close(ob);
	struct outbox *o1 = open_ok(fx, NULL);
	d = read_all(fx->log, &len);
	outbox_close(o1);
	o1 = open_ok(fx, NULL);
	assert_int_equal(outbox_compact(o1), 0);
	size_t len2;
	unsigned char *d2 = read_all(fx->log, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(d, d2, len);
	outbox_close(o1);
	free(d);
	free(d2);
}

static void test_compaction_keeps_next_id(void **state)
{
	struct fx *fx = *state;
	struct outbox *ob = open_ok(fx, NULL);
	for (int i = 0; i < 5; i++)
		append_ok(ob, "{}", T0);
	for (uint64_t id = 1; id <= 5; id++)
		assert_int_equal(outbox_mark_delivered(ob, id), 0);
	assert_int_equal(outbox_compact(ob), 0);
	/* nothing live: only the META record remains, carrying next id */
	assert_int_equal(outbox_log_size(ob), 13 + 12);
	outbox_close(ob);
	ob = open_ok(fx, NULL);
	assert_int_equal(append_ok(ob, "{}", T0), 6);
	outbox_close(ob);
}

static void test_auto_compaction(void **state)
{
	struct fx *fx = *state;
	struct outbox *ob = open_ok(fx, NULL);
	char *body = malloc(60 * 1024 + 1);
	memset(body, 'b', 60 * 1024);
	body[60 * 1024] = '\0';
	uint64_t max_size = 0;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 20; i++) {
			uint64_t id = append_ok(ob, body, T0);
			assert_int_equal(outbox_mark_delivered(ob, id), 0);
			if (outbox_log_size(ob) > max_size)
				max_size = outbox_log_size(ob);
		}
	}
	uint64_t keep = append_ok(ob, "{\"keep\":1}", T0);
	/* 60 x 60 KiB went through, but the log stayed bounded. */
	assert_true(max_size <= OUTBOX_COMPACT_MIN_BYTES + 2 * (60 * 1024 + 64));
	assert_true(outbox_log_size(ob) < OUTBOX_COMPACT_MIN_BYTES);
	outbox_close(ob);
	free(body);
	struct outbox_open_report rep;
	ob = open_ok(fx, &rep);
	assert_int_equal(rep.pending, 1);
	assert_int_equal(keep, 61);
	assert_int_equal(append_ok(ob, "{}", T0), 62);
	outbox_close(ob);
}

/* ---------------------------------------------------------------- robustness */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_replay_any_bytes(void **state)
{
	struct fx *fx = *state;
	/* random garbage */
	unsigned char buf[4096];
	for (int iter = 0; iter < 2000; iter++) {
		size_t n = rnd() % sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = (unsigned char)rnd();
		struct outbox_open_report rep;
		size_t valid;
		int rc = outbox_replay_memory(buf, n, &rep, &valid);
		assert_true(rc == 0 || rc == -EPROTONOSUPPORT);
		if (rc == 0)
			assert_true(valid <= n);
	}
	/* mutations of a real log: flips, cuts, splices */
	struct outbox *ob = open_ok(fx, NULL);
	for (int i = 0; i < 6; i++)
		append_ok(ob, "{\"notification\":{\"type\":\"VM\"}}", T0 + i);
	assert_int_equal(outbox_record_attempt(ob, 2, "HTTP 503", T0), 0);
	assert_int_equal(outbox_mark_failed(ob, 3, "HTTP 400"), 0);
	assert_int_equal(outbox_retry(ob, 3, T0), 0);
	assert_int_equal(outbox_mark_delivered(ob, 4), 0);
	outbox_close(ob);
	size_t len;
	unsigned char *d = read_all(fx->log, &len);
	unsigned char *m = malloc(len * 2);
	for (int iter = 0; iter < 20000; iter++) {
		memcpy(m, d, len);
		size_t n = len;
		int flips = 1 + (int)(rnd() % 4);
		for (int k = 0; k < flips; k++)
			m[rnd() % n] ^= (unsigned char)(1u << (rnd() % 8));
		if (rnd() % 4 == 0)
			n = rnd() % (len + 1);
		if (rnd() % 8 == 0 && n > 20) { /* duplicate a slice */
			size_t a = rnd() % n, b = rnd() % (n - a) + 1;
			memcpy(m + n, m + a, b < len ? b : len);
			n += b < len ? b : len;
		}
		struct outbox_open_report rep;
		size_t valid;
		int rc = outbox_replay_memory(m, n, &rep, &valid);
		assert_true(rc == 0 || rc == -EPROTONOSUPPORT);
		if (rc == 0) {
			assert_true(valid <= n);
			assert_true(rep.pending + rep.failed <= 6);
		}
	}
	free(m);
	free(d);
	assert_int_equal(outbox_replay_memory(NULL, 0, NULL, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delivered_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attempts_and_failed_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_failed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_due_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_sanitized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_format_is_as_documented, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_semantic_garbage_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exclusive_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_creates_dir_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_delivered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_failed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_crc_at_end_and_garbage_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mid_corrupt_payload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mid_corrupt_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mid_corrupt_magic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mid_corrupt_crc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_version_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_preserves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_keeps_next_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_any_bytes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
