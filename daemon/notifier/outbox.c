/* See outbox.h.
 *
 * On-disk format (all integers little-endian, written byte by byte so the
 * layout does not depend on struct packing or host endianness):
 *
 *   record  := header payload
 *   header  := magic u32 | type u8 | payload_len u32 | crc32c u32
 *   crc32c  covers the first 9 header bytes and the payload.
 *
 *   META      version u32 | next_id u64         (first record of a file)
 *   ADD       id u64 | created_ns i64 | body    (body: 1..OUTBOX_MAX_BODY)
 *   ATTEMPT   id u64 | attempts u32 | next_attempt_ns i64 | error
 *   DELIVERED id u64
 *   FAILED    id u64 | reason
 *   RETRY     id u64 | retried_ns i64
 *
 * Records carry absolute values (attempts, not "one more"), so replay is
 * idempotent and compaction can describe an entry with the same record
 * types. The magic's bytes 0x1D and 0x0B never occur in what we store as
 * text (JSON escapes control characters, reasons are sanitized), so a
 * resynchronising scan after damage cannot mistake text for a header. */
#include "daemon/notifier/outbox.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errbuf.h"
#include "os/log.h"
#include "base/text.h"

#define LOG_NAME "outbox.log"
#define TMP_NAME "outbox.log.tmp"
#define CORRUPT_NAME "outbox.log.corrupt"

#define REC_MAGIC UINT32_C(0x6D0B1DA7)
#define REC_HDR_LEN 13u
#define REC_CRC_SPAN 9u /* header bytes covered by the crc */
#define FORMAT_VERSION 1u

enum rec_type {
	REC_ADD = 1,
	REC_ATTEMPT = 2,
	REC_DELIVERED = 3,
	REC_FAILED = 4,
	REC_RETRY = 5,
	REC_META = 6,
};

#define ADD_FIXED 16u
#define ATTEMPT_FIXED 20u
#define DELIVERED_LEN 8u
#define FAILED_FIXED 8u
#define RETRY_LEN 16u
#define META_LEN 12u
#define MAX_PAYLOAD (ADD_FIXED + OUTBOX_MAX_BODY)
#define MAX_RECORD (REC_HDR_LEN + MAX_PAYLOAD)

struct outbox {
	int dirfd;            /* -1 for an in-memory replay */
	int fd;
	uint64_t size;        /* bytes of the log known to be good */
	uint64_t next_id;
	uint64_t last_add_id; /* ids in one file only grow: replay check */
	struct outbox_entry *entries; /* sorted by id */
	size_t n, cap;
	size_t delivered;     /* since open */
	bool broken;          /* an fsync failed: refuse writes */
	bool dir_sync_pending;/* a rename whose dir fsync failed */
	uint8_t *rec;         /* MAX_RECORD bytes, for encoding */
};

/* ---------------------------------------------------------------- crc32c */

/* Castagnoli polynomial (reflected 0x82F63B78), the one iSCSI, ext4 and
 * btrfs use; table generated once and pasted so no init race exists. */
static const uint32_t crc32c_table[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c,
	0x26a1e7e8, 0xd4ca64eb, 0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
	0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24, 0x105ec76f, 0xe235446c,
	0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
	0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc,
	0xbc267848, 0x4e4dfb4b, 0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
	0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35, 0xaa64d611, 0x580f5512,
	0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
	0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad,
	0x1642ae59, 0xe4292d5a, 0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
	0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595, 0x417b1dbc, 0xb3109ebf,
	0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
	0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f,
	0xed03a29b, 0x1f682198, 0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
	0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38, 0xdbfc821c, 0x2997011f,
	0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
	0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e,
	0x4767748a, 0xb50cf789, 0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
	0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46, 0x7198540d, 0x83f3d70e,
	0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de,
	0xdde0eb2a, 0x2f8b6829, 0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
	0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93, 0x082f63b7, 0xfa44e0b4,
	0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
	0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b,
	0xb4091bff, 0x466298fc, 0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
	0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033, 0xa24bb5a6, 0x502036a5,
	0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
	0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975,
	0x0e330a81, 0xfc588982, 0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
	0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622, 0x38cc2a06, 0xcaa7a905,
	0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
	0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8,
	0xe52cc12c, 0x1747422f, 0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
	0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0, 0xd3d3e1ab, 0x21b862a8,
	0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
	0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78,
	0x7fab5e8c, 0x8dc0dd8f, 0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
	0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1, 0x69e9f0d5, 0x9b8273d6,
	0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69,
	0xd5cf889d, 0x27a40b9e, 0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
	0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

static uint32_t crc32c_update(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = crc32c_table[(crc ^ p[i]) & 0xffu] ^ (crc >> 8);
	return ~crc;
}

/* ---------------------------------------------------------------- bytes */

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Two's complement round trip without implementation-defined casts. */
static void put_i64(uint8_t *p, int64_t v) { put_u64(p, (uint64_t)v); }

static int64_t get_i64(const uint8_t *p)
{
	uint64_t u = get_u64(p);
	return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}

/* Masakari's and curl's texts as valid UTF-8 without control characters,
 * cut at a character boundary: keeps log lines and JSON status output sane
 * and the record magic's bytes out of stored text. */
static size_t sanitize_text(char dst[OUTBOX_REASON_LEN], const char *src)
{
	return text_sanitize(dst, OUTBOX_REASON_LEN, src, src != NULL ? strlen(src) : 0);
}

/* Text fields read back from a record: bounded and NUL-free. */
static bool text_ok(const uint8_t *p, size_t n)
{
	return n <= OUTBOX_REASON_LEN - 1 && memchr(p, '\0', n) == NULL;
}

/* ---------------------------------------------------------------- memory */

static struct outbox *outbox_alloc(void)
{
	struct outbox *ob = calloc(1, sizeof(*ob));
	if (ob == NULL)
		return NULL;
	ob->dirfd = -1;
	ob->fd = -1;
	ob->next_id = 1;
	ob->rec = malloc(MAX_RECORD);
	if (ob->rec == NULL) {
		free(ob);
		return NULL;
	}
	return ob;
}

static void outbox_free(struct outbox *ob)
{
	for (size_t i = 0; i < ob->n; i++)
		free(ob->entries[i].body);
	free(ob->entries);
	free(ob->rec);
	free(ob);
}

static int ensure_cap(struct outbox *ob, size_t want)
{
	if (want <= ob->cap)
		return 0;
	size_t cap = ob->cap > 0 ? ob->cap * 2 : 16;
	while (cap < want)
		cap *= 2;
	if (cap > OUTBOX_MAX_ENTRIES)
		cap = OUTBOX_MAX_ENTRIES;
	if (cap < want)
		return -EOVERFLOW;
	struct outbox_entry *e = realloc(ob->entries, cap * sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	ob->entries = e;
	ob->cap = cap;
	return 0;
}

static ssize_t index_of(const struct outbox *ob, uint64_t id)
{
	size_t lo = 0, hi = ob->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ob->entries[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ob->n && ob->entries[lo].id == id ? (ssize_t)lo : -1;
}

static struct outbox_entry *entry_of(struct outbox *ob, uint64_t id)
{
	ssize_t i = index_of(ob, id);
	return i >= 0 ? &ob->entries[i] : NULL;
}

/* ---------------------------------------------------------------- state changes
 * Each do_* applies one record's meaning; replay and the live write path
 * both go through them, so what is replayed is what was done. */

/* copy: malloc'd body (blen + 1, NUL-terminated), owned by the entry from
 * here on; the caller has reserved room in entries. */
static void do_add(struct outbox *ob, uint64_t id, int64_t created, char *copy, size_t blen)
{
	assert(ob->n < ob->cap);
	assert(ob->n == 0 || ob->entries[ob->n - 1].id < id);
	struct outbox_entry *e = &ob->entries[ob->n++];
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->state = OUTBOX_PENDING;
	e->created_realtime_ns = created;
	e->next_attempt_realtime_ns = created;
	e->body = copy;
	e->body_len = blen;
	if (id >= ob->next_id)
		ob->next_id = id + 1;
	ob->last_add_id = id;
}

static void copy_text(char dst[OUTBOX_REASON_LEN], const uint8_t *p, size_t n)
{
	assert(n <= OUTBOX_REASON_LEN - 1);
	memcpy(dst, p, n);
	dst[n] = '\0';
}

static void do_attempt(struct outbox_entry *e, uint32_t attempts, int64_t next,
		       const uint8_t *err, size_t elen)
{
	e->attempts = attempts;
	e->next_attempt_realtime_ns = next;
	copy_text(e->last_error, err, elen);
}

static void do_delivered(struct outbox *ob, uint64_t id)
{
	ssize_t i = index_of(ob, id);
	if (i < 0)
		return;
	free(ob->entries[i].body);
	memmove(&ob->entries[i], &ob->entries[i + 1],
		(ob->n - (size_t)i - 1) * sizeof(ob->entries[0]));
	ob->n--;
}

static void do_failed(struct outbox_entry *e, const uint8_t *reason, size_t rlen)
{
	e->state = OUTBOX_FAILED;
	copy_text(e->last_error, reason, rlen);
}

static void do_retry(struct outbox_entry *e, int64_t when)
{
	e->state = OUTBOX_PENDING;
	e->attempts = 0;
	e->next_attempt_realtime_ns = when;
	e->retried_realtime_ns = when;
}

/* ---------------------------------------------------------------- replay */

struct rec_view {
	uint8_t type;
	const uint8_t *p;
	uint32_t len;
};

/* Is there a whole, checksummed record at pos? Structural checks only. */
static bool record_at(const uint8_t *d, size_t len, size_t pos, struct rec_view *r,
		      size_t *rec_len)
{
	if (pos > len || len - pos < REC_HDR_LEN)
		return false;
	const uint8_t *h = d + pos;
	if (get_u32(h) != REC_MAGIC)
		return false;
	uint8_t type = h[4];
	uint32_t plen = get_u32(h + 5);
	if (type < REC_ADD || type > REC_META || plen > MAX_PAYLOAD ||
	    plen > len - pos - REC_HDR_LEN)
		return false;
	uint32_t crc = crc32c_update(0, h, REC_CRC_SPAN);
	crc = crc32c_update(crc, h + REC_HDR_LEN, plen);
	if (crc != get_u32(h + REC_CRC_SPAN))
		return false;
	r->type = type;
	r->p = h + REC_HDR_LEN;
	r->len = plen;
	*rec_len = REC_HDR_LEN + plen;
	return true;
}

/* Applies a checksummed record. Returns 0, 1 when its content is not
 * meaningful (counted as corrupt and skipped), or -errno when the log
 * cannot be loaded at all. Records about unknown ids are ignored: they
 * follow an entry already settled or an ADD lost to damage. */
static int apply_record(struct outbox *ob, const struct rec_view *r)
{
	const uint8_t *p = r->p;
	size_t n = r->len;
	struct outbox_entry *e;

	switch (r->type) {
	case REC_META: {
		if (n != META_LEN)
			return 1;
		uint32_t version = get_u32(p);
		if (version != FORMAT_VERSION)
			return -EPROTONOSUPPORT;
		uint64_t next = get_u64(p + 4);
		if (next == 0)
			return 1;
		if (next > ob->next_id)
			ob->next_id = next;
		return 0;
	}
	case REC_ADD: {
		if (n <= ADD_FIXED || n - ADD_FIXED > OUTBOX_MAX_BODY)
			return 1;
		uint64_t id = get_u64(p);
		size_t blen = n - ADD_FIXED;
		const uint8_t *body = p + ADD_FIXED;
		if (id == 0 || id == UINT64_MAX || id <= ob->last_add_id ||
		    memchr(body, '\0', blen) != NULL)
			return 1;
		if (ob->n >= OUTBOX_MAX_ENTRIES)
			return -EOVERFLOW;
		int rc = ensure_cap(ob, ob->n + 1);
		if (rc != 0)
			return rc;
		char *copy = malloc(blen + 1);
		if (copy == NULL)
			return -ENOMEM;
		memcpy(copy, body, blen);
		copy[blen] = '\0';
		do_add(ob, id, get_i64(p + 8), copy, blen);
		return 0;
	}
	case REC_ATTEMPT:
		if (n < ATTEMPT_FIXED || !text_ok(p + ATTEMPT_FIXED, n - ATTEMPT_FIXED))
			return 1;
		e = entry_of(ob, get_u64(p));
		if (e != NULL && e->state == OUTBOX_PENDING)
			do_attempt(e, get_u32(p + 8), get_i64(p + 12), p + ATTEMPT_FIXED,
				   n - ATTEMPT_FIXED);
		return 0;
	case REC_DELIVERED:
		if (n != DELIVERED_LEN)
			return 1;
		do_delivered(ob, get_u64(p));
		return 0;
	case REC_FAILED:
		if (n < FAILED_FIXED || !text_ok(p + FAILED_FIXED, n - FAILED_FIXED))
			return 1;
		e = entry_of(ob, get_u64(p));
		if (e != NULL && e->state == OUTBOX_PENDING)
			do_failed(e, p + FAILED_FIXED, n - FAILED_FIXED);
		return 0;
	case REC_RETRY:
		if (n != RETRY_LEN)
			return 1;
		e = entry_of(ob, get_u64(p));
		if (e != NULL)
			do_retry(e, get_i64(p + 8));
		return 0;
	default:
		return 1;
	}
}

/* Replays an image. *valid_len is where the torn tail (if any) starts. A
 * damaged region followed by a good record is skipped and counted; damage
 * with nothing good after it is the torn tail of an interrupted append. */
static int replay(struct outbox *ob, const uint8_t *d, size_t len,
		  struct outbox_open_report *rep, size_t *valid_len)
{
	size_t pos = 0;
	*valid_len = len;
	while (pos < len) {
		struct rec_view r;
		size_t rl;
		if (record_at(d, len, pos, &r, &rl)) {
			int rc = apply_record(ob, &r);
			if (rc < 0)
				return rc;
			if (rc > 0) {
				rep->corrupt_records++;
				log_warn("outbox: record at offset %zu (type %u) has invalid content, skipped",
					 pos, r.type);
			}
			pos += rl;
			continue;
		}
		/* Look for the next good record: the magic is rare and the crc
		 * must match, so a false start is practically impossible. */
		size_t next = pos + 1;
		for (; next + REC_HDR_LEN <= len; next++) {
			if (d[next] == (uint8_t)(REC_MAGIC & 0xff) && record_at(d, len, next, &r, &rl))
				break;
		}
		if (next + REC_HDR_LEN > len) {
			rep->torn_tail = true;
			*valid_len = pos;
			break;
		}
		rep->corrupt_records++;
		log_warn("outbox: damaged bytes %zu..%zu skipped", pos, next);
		pos = next;
	}
	return 0;
}

static void fill_counts(const struct outbox *ob, struct outbox_open_report *rep)
{
	rep->pending = outbox_count(ob, OUTBOX_PENDING);
	rep->failed = outbox_count(ob, OUTBOX_FAILED);
}

int outbox_replay_memory(const void *data, size_t len, struct outbox_open_report *report,
			 size_t *valid_len)
{
	struct outbox_open_report local;
	size_t vl;
	if (report == NULL)
		report = &local;
	memset(report, 0, sizeof(*report));
	if (data == NULL && len > 0)
		return -EINVAL;
	struct outbox *ob = outbox_alloc();
	if (ob == NULL)
		return -ENOMEM;
	int rc = replay(ob, data, len, report, &vl);
	if (rc == 0) {
		fill_counts(ob, report);
		/* Invariants the fuzzer should be able to rely on. */
		for (size_t i = 0; i < ob->n; i++) {
			assert(i == 0 || ob->entries[i - 1].id < ob->entries[i].id);
			assert(ob->entries[i].id < ob->next_id);
			assert(strlen(ob->entries[i].body) == ob->entries[i].body_len);
		}
		if (valid_len != NULL)
			*valid_len = vl;
	}
	outbox_free(ob);
	return rc;
}

/* ---------------------------------------------------------------- writing */

static size_t encode(uint8_t *out, enum rec_type type, const uint8_t *fixed, size_t fixed_len,
		     const void *tail, size_t tail_len)
{
	size_t plen = fixed_len + tail_len;
	assert(plen <= MAX_PAYLOAD);
	put_u32(out, REC_MAGIC);
	out[4] = (uint8_t)type;
	put_u32(out + 5, (uint32_t)plen);
	if (fixed_len > 0)
		memcpy(out + REC_HDR_LEN, fixed, fixed_len);
	if (tail_len > 0)
		memcpy(out + REC_HDR_LEN + fixed_len, tail, tail_len);
	uint32_t crc = crc32c_update(0, out, REC_CRC_SPAN);
	crc = crc32c_update(crc, out + REC_HDR_LEN, plen);
	put_u32(out + REC_CRC_SPAN, crc);
	return REC_HDR_LEN + plen;
}

static int pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n > 0) {
		if (off > (uint64_t)INT64_MAX)
			return -EFBIG;
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* Appends one encoded record (in ob->rec) durably. On failure the partial
 * record is cut off so later appends do not follow garbage. */
static int log_append(struct outbox *ob, size_t rec_len)
{
	if (ob->fd < 0)
		return -EBADF;
	if (ob->broken)
		return -EIO;
	if (ob->dir_sync_pending) {
		if (fsync(ob->dirfd) != 0)
			return -errno;
		ob->dir_sync_pending = false;
	}
	int rc = pwrite_all(ob->fd, ob->rec, rec_len, ob->size);
	bool sync_failed = false;
	/* fdatasync: the data and the new size, which is all a reader needs. */
	if (rc == 0 && fdatasync(ob->fd) != 0) {
		rc = -errno;
		sync_failed = true;
	}
	if (rc == 0) {
		ob->size += rec_len;
		return 0;
	}
	if (ftruncate(ob->fd, (off_t)ob->size) != 0 || fdatasync(ob->fd) != 0 || sync_failed) {
		/* After a failed fsync the kernel may have dropped dirty pages:
		 * nothing written from here on could be trusted. */
		ob->broken = true;
		log_error("outbox: write failed (%s); refusing further writes until reopened",
			  strerror(-rc));
	}
	return rc;
}

static int write_meta(struct outbox *ob, int fd, uint64_t *off)
{
	uint8_t fixed[META_LEN];
	put_u32(fixed, FORMAT_VERSION);
	put_u64(fixed + 4, ob->next_id);
	size_t n = encode(ob->rec, REC_META, fixed, sizeof(fixed), NULL, 0);
	int rc = pwrite_all(fd, ob->rec, n, *off);
	if (rc == 0)
		*off += n;
	return rc;
}

/* Bytes a compacted log needs for the live entries (see compact_into). */
static uint64_t live_bytes(const struct outbox *ob)
{
	uint64_t total = REC_HDR_LEN + META_LEN;
	for (size_t i = 0; i < ob->n; i++) {
		const struct outbox_entry *e = &ob->entries[i];
		size_t el = strlen(e->last_error);
		total += REC_HDR_LEN + ADD_FIXED + e->body_len;
		total += REC_HDR_LEN + ATTEMPT_FIXED + el;
		if (e->retried_realtime_ns != 0)
			total += REC_HDR_LEN + RETRY_LEN;
		if (e->state == OUTBOX_FAILED)
			total += REC_HDR_LEN + FAILED_FIXED + el;
	}
	return total;
}

/* Writes the live state as records: META, then per entry ADD, RETRY (if
 * ever retried), ATTEMPT (absolute attempts, next time, last error) and
 * FAILED. Replaying it yields exactly the current memory state. */
static int compact_into(struct outbox *ob, int fd, uint64_t *off)
{
	int rc = write_meta(ob, fd, off);
	for (size_t i = 0; rc == 0 && i < ob->n; i++) {
		const struct outbox_entry *e = &ob->entries[i];
		uint8_t fixed[ATTEMPT_FIXED];
		size_t el = strlen(e->last_error);
		size_t n;

		put_u64(fixed, e->id);
		put_i64(fixed + 8, e->created_realtime_ns);
		n = encode(ob->rec, REC_ADD, fixed, ADD_FIXED, e->body, e->body_len);
		if ((rc = pwrite_all(fd, ob->rec, n, *off)) != 0)
			break;
		*off += n;
		if (e->retried_realtime_ns != 0) {
			put_i64(fixed + 8, e->retried_realtime_ns);
			n = encode(ob->rec, REC_RETRY, fixed, RETRY_LEN, NULL, 0);
			if ((rc = pwrite_all(fd, ob->rec, n, *off)) != 0)
				break;
			*off += n;
		}
		put_u32(fixed + 8, e->attempts);
		put_i64(fixed + 12, e->next_attempt_realtime_ns);
		n = encode(ob->rec, REC_ATTEMPT, fixed, ATTEMPT_FIXED, e->last_error, el);
		if ((rc = pwrite_all(fd, ob->rec, n, *off)) != 0)
			break;
		*off += n;
		if (e->state == OUTBOX_FAILED) {
			n = encode(ob->rec, REC_FAILED, fixed, FAILED_FIXED, e->last_error, el);
			if ((rc = pwrite_all(fd, ob->rec, n, *off)) != 0)
				break;
			*off += n;
		}
	}
	return rc;
}

int outbox_compact(struct outbox *ob)
{
	if (ob == NULL)
		return -EINVAL;
	if (ob->fd < 0)
		return -EBADF;
	if (ob->broken)
		return -EIO;

	int tfd = openat(ob->dirfd, TMP_NAME, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
			 0600);
	if (tfd < 0)
		return -errno;
	uint64_t off = 0;
	int rc = compact_into(ob, tfd, &off);
	if (rc == 0 && fdatasync(tfd) != 0)
		rc = -errno;
	/* rename is the commit point: before it the old log is complete. */
	if (rc == 0 && renameat(ob->dirfd, TMP_NAME, ob->dirfd, LOG_NAME) != 0)
		rc = -errno;
	if (rc != 0) {
		close(tfd);
		unlinkat(ob->dirfd, TMP_NAME, 0);
		log_warn("outbox: compaction failed: %s (still using the old log)", strerror(-rc));
		return rc;
	}
	uint64_t old = ob->size;
	close(ob->fd);
	ob->fd = tfd;
	ob->size = off;
	if (fsync(ob->dirfd) != 0) {
		/* Until the rename is durable a crash may bring back the old
		 * log; later appends must not land only in the new one. */
		rc = -errno;
		ob->dir_sync_pending = true;
		log_warn("outbox: fsync of the directory after compaction failed: %s",
			 strerror(-rc));
		return rc;
	}
	log_info("outbox: compacted %llu -> %llu bytes (%zu live entries)",
		 (unsigned long long)old, (unsigned long long)off, ob->n);
	return 0;
}

static void maybe_compact(struct outbox *ob)
{
	if (ob->size <= OUTBOX_COMPACT_MIN_BYTES)
		return;
	if (live_bytes(ob) * 2 >= ob->size)
		return;
	/* Failure is logged; the log stays valid, only larger. */
	(void)outbox_compact(ob);
}

/* ---------------------------------------------------------------- open/close */

static int fsync_parent_of(const char *dir)
{
	char parent[PATH_MAX];
	if (snprintf(parent, sizeof(parent), "%s", dir) >= (int)sizeof(parent))
		return -ENAMETOOLONG;
	size_t n = strlen(parent);
	while (n > 1 && parent[n - 1] == '/')
		parent[--n] = '\0';
	char *slash = strrchr(parent, '/');
	if (slash == NULL)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) != 0 ? -errno : 0;
	close(fd);
	return rc;
}

static int open_dir_locked(const char *dir, char *err, size_t errlen)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 && errno == ENOENT) {
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			errbuf_set(err, errlen, "outbox: cannot create %s: %s", dir, strerror(errno));
			return -1;
		}
		int rc = fsync_parent_of(dir);
		if (rc != 0) {
			errbuf_set(err, errlen, "outbox: fsync of the parent of %s: %s", dir,
				strerror(-rc));
			return -1;
		}
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (dfd < 0) {
		errbuf_set(err, errlen, "outbox: cannot open directory %s: %s", dir, strerror(errno));
		return -1;
	}
	/* The directory, not the log, is locked: compaction replaces the
	 * log's inode, and a lock on the old one would protect nothing. */
	if (flock(dfd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		if (e == EWOULDBLOCK)
			errbuf_set(err, errlen,
				"outbox: %s is in use by another process (mimamorid running?)", dir);
		else
			errbuf_set(err, errlen, "outbox: cannot lock %s: %s", dir, strerror(e));
		close(dfd);
		return -1;
	}
	return dfd;
}

/* Keeps the damaged log for inspection before compaction replaces it. */
static void keep_corrupt_copy(struct outbox *ob, const char *dir)
{
	unlinkat(ob->dirfd, CORRUPT_NAME, 0);
	if (linkat(ob->dirfd, LOG_NAME, ob->dirfd, CORRUPT_NAME, 0) != 0)
		log_warn("outbox: could not keep a copy of the damaged log: %s", strerror(errno));
	else
		log_warn("outbox: damaged log kept as %s/%s", dir, CORRUPT_NAME);
}

static int load(struct outbox *ob, const char *dir, struct outbox_open_report *rep, char *err,
		size_t errlen)
{
	struct stat st;
	if (fstat(ob->fd, &st) != 0) {
		errbuf_set(err, errlen, "outbox: stat %s/%s: %s", dir, LOG_NAME, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		errbuf_set(err, errlen, "outbox: %s/%s is not a regular file", dir, LOG_NAME);
		return -1;
	}
	size_t len = (size_t)st.st_size;
	size_t valid = 0;
	if (len > 0) {
		void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, ob->fd, 0);
		if (map == MAP_FAILED) {
			errbuf_set(err, errlen, "outbox: mmap %s/%s: %s", dir, LOG_NAME,
				strerror(errno));
			return -1;
		}
		int rc = replay(ob, map, len, rep, &valid);
		munmap(map, len);
		if (rc != 0) {
			errbuf_set(err, errlen, "outbox: cannot load %s/%s: %s", dir, LOG_NAME,
				rc == -EOVERFLOW ? "more live entries than OUTBOX_MAX_ENTRIES"
				: rc == -EPROTONOSUPPORT ? "written by a newer, unknown format"
							 : strerror(-rc));
			return -1;
		}
	}
	if (rep->torn_tail) {
		log_warn("outbox: torn record at the end of %s/%s (offset %zu of %zu), cut off",
			 dir, LOG_NAME, valid, len);
		if (ftruncate(ob->fd, (off_t)valid) != 0 || fdatasync(ob->fd) != 0) {
			errbuf_set(err, errlen, "outbox: cannot cut the torn tail of %s/%s: %s", dir,
				LOG_NAME, strerror(errno));
			return -1;
		}
	}
	ob->size = valid;
	return 0;
}

struct outbox *outbox_open(const char *dir, struct outbox_open_report *report, char *err,
			   size_t errlen)
{
	struct outbox_open_report local;
	if (report == NULL)
		report = &local;
	memset(report, 0, sizeof(*report));
	if (dir == NULL || dir[0] == '\0') {
		errbuf_set(err, errlen, "outbox: no directory given");
		return NULL;
	}
	struct outbox *ob = outbox_alloc();
	if (ob == NULL) {
		errbuf_set(err, errlen, "outbox: out of memory");
		return NULL;
	}
	ob->dirfd = open_dir_locked(dir, err, errlen);
	if (ob->dirfd < 0)
		goto fail;
	/* A leftover tmp is an unfinished compaction: the log is complete. */
	unlinkat(ob->dirfd, TMP_NAME, 0);

	ob->fd = openat(ob->dirfd, LOG_NAME, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (ob->fd < 0 && errno == ENOENT)
		ob->fd = openat(ob->dirfd, LOG_NAME,
				O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (ob->fd < 0) {
		errbuf_set(err, errlen, "outbox: cannot open %s/%s: %s", dir, LOG_NAME,
			strerror(errno));
		goto fail;
	}
	if (load(ob, dir, report, err, errlen) != 0)
		goto fail;
	if (ob->size == 0) {
		uint64_t off = 0;
		int rc = write_meta(ob, ob->fd, &off);
		if (rc == 0 && fdatasync(ob->fd) != 0)
			rc = -errno;
		if (rc != 0) {
			errbuf_set(err, errlen, "outbox: cannot initialise %s/%s: %s", dir, LOG_NAME,
				strerror(-rc));
			goto fail;
		}
		ob->size = off;
	}
	/* Always, not only when we created it: a previous run may have died
	 * between creating the file and syncing its directory entry, and
	 * records appended to an unreachable inode would be lost. */
	if (fsync(ob->dirfd) != 0) {
		errbuf_set(err, errlen, "outbox: fsync %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (report->corrupt_records > 0) {
		/* Rewrite from what was readable so the damage is not met (and
		 * reported) again on every start. */
		keep_corrupt_copy(ob, dir);
		(void)outbox_compact(ob);
	} else {
		maybe_compact(ob);
	}
	fill_counts(ob, report);
	return ob;
fail:
	outbox_close(ob);
	return NULL;
}

void outbox_close(struct outbox *ob)
{
	if (ob == NULL)
		return;
	if (ob->fd >= 0)
		close(ob->fd);
	if (ob->dirfd >= 0)
		close(ob->dirfd); /* releases the lock */
	outbox_free(ob);
}

/* ---------------------------------------------------------------- mutations */

int outbox_append(struct outbox *ob, const char *body, size_t len,
		  int64_t created_realtime_ns, uint64_t *id_out)
{
	if (ob == NULL || body == NULL || len == 0 || memchr(body, '\0', len) != NULL)
		return -EINVAL;
	if (len > OUTBOX_MAX_BODY)
		return -EMSGSIZE;
	if (ob->n >= OUTBOX_MAX_ENTRIES)
		return -ENOSPC;
	if (ob->next_id == UINT64_MAX)
		return -EOVERFLOW;
	/* Everything that can fail in memory happens before the write, so a
	 * durable record is always reflected in memory. */
	int rc = ensure_cap(ob, ob->n + 1);
	if (rc != 0)
		return rc;
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, body, len);
	copy[len] = '\0';

	uint64_t id = ob->next_id;
	uint8_t fixed[ADD_FIXED];
	put_u64(fixed, id);
	put_i64(fixed + 8, created_realtime_ns);
	size_t n = encode(ob->rec, REC_ADD, fixed, sizeof(fixed), body, len);
	rc = log_append(ob, n);
	if (rc != 0) {
		/* The record may have reached the disk before the error: never
		 * hand this id out again. */
		ob->next_id = id + 1;
		free(copy);
		return rc;
	}
	do_add(ob, id, created_realtime_ns, copy, len);
	if (id_out != NULL)
		*id_out = id;
	maybe_compact(ob);
	return 0;
}

int outbox_record_attempt(struct outbox *ob, uint64_t id, const char *error,
			  int64_t next_attempt_realtime_ns)
{
	if (ob == NULL)
		return -EINVAL;
	struct outbox_entry *e = entry_of(ob, id);
	if (e == NULL)
		return -ENOENT;
	if (e->state != OUTBOX_PENDING)
		return -EINVAL;
	char text[OUTBOX_REASON_LEN];
	size_t tl = sanitize_text(text, error);
	uint32_t attempts = e->attempts < UINT32_MAX ? e->attempts + 1 : UINT32_MAX;
	uint8_t fixed[ATTEMPT_FIXED];
	put_u64(fixed, id);
	put_u32(fixed + 8, attempts);
	put_i64(fixed + 12, next_attempt_realtime_ns);
	size_t n = encode(ob->rec, REC_ATTEMPT, fixed, sizeof(fixed), text, tl);
	int rc = log_append(ob, n);
	if (rc != 0)
		return rc;
	do_attempt(e, attempts, next_attempt_realtime_ns, (const uint8_t *)text, tl);
	maybe_compact(ob);
	return 0;
}

int outbox_mark_delivered(struct outbox *ob, uint64_t id)
{
	if (ob == NULL)
		return -EINVAL;
	if (entry_of(ob, id) == NULL)
		return -ENOENT;
	uint8_t fixed[DELIVERED_LEN];
	put_u64(fixed, id);
	int rc = log_append(ob, encode(ob->rec, REC_DELIVERED, fixed, sizeof(fixed), NULL, 0));
	if (rc != 0)
		return rc;
	do_delivered(ob, id);
	ob->delivered++;
	maybe_compact(ob);
	return 0;
}

int outbox_mark_failed(struct outbox *ob, uint64_t id, const char *reason)
{
	if (ob == NULL)
		return -EINVAL;
	struct outbox_entry *e = entry_of(ob, id);
	if (e == NULL)
		return -ENOENT;
	if (e->state != OUTBOX_PENDING)
		return -EINVAL;
	char text[OUTBOX_REASON_LEN];
	size_t tl = sanitize_text(text, reason);
	uint8_t fixed[FAILED_FIXED];
	put_u64(fixed, id);
	int rc = log_append(ob, encode(ob->rec, REC_FAILED, fixed, sizeof(fixed), text, tl));
	if (rc != 0)
		return rc;
	do_failed(e, (const uint8_t *)text, tl);
	maybe_compact(ob);
	return 0;
}

int outbox_retry(struct outbox *ob, uint64_t id, int64_t now_realtime_ns)
{
	if (ob == NULL)
		return -EINVAL;
	struct outbox_entry *e = entry_of(ob, id);
	if (e == NULL)
		return -ENOENT;
	if (e->state != OUTBOX_FAILED)
		return -EINVAL;
	uint8_t fixed[RETRY_LEN];
	put_u64(fixed, id);
	put_i64(fixed + 8, now_realtime_ns);
	int rc = log_append(ob, encode(ob->rec, REC_RETRY, fixed, sizeof(fixed), NULL, 0));
	if (rc != 0)
		return rc;
	do_retry(e, now_realtime_ns);
	maybe_compact(ob);
	return 0;
}

/* ---------------------------------------------------------------- queries */

const struct outbox_entry *outbox_next_due(const struct outbox *ob)
{
	const struct outbox_entry *best = NULL;
	if (ob == NULL)
		return NULL;
	/* Entries are in id order, so "<" keeps the oldest among equals. */
	for (size_t i = 0; i < ob->n; i++) {
		const struct outbox_entry *e = &ob->entries[i];
		if (e->state == OUTBOX_PENDING &&
		    (best == NULL || e->next_attempt_realtime_ns < best->next_attempt_realtime_ns))
			best = e;
	}
	return best;
}

const struct outbox_entry *outbox_find(const struct outbox *ob, uint64_t id)
{
	if (ob == NULL)
		return NULL;
	ssize_t i = index_of(ob, id);
	return i >= 0 ? &ob->entries[i] : NULL;
}

struct outbox_entry *outbox_find_mutable(struct outbox *ob, uint64_t id)
{
	return ob != NULL ? entry_of(ob, id) : NULL;
}

size_t outbox_count(const struct outbox *ob, enum outbox_state state)
{
	if (ob == NULL)
		return 0;
	if (state == OUTBOX_DELIVERED)
		return ob->delivered;
	size_t c = 0;
	for (size_t i = 0; i < ob->n; i++)
		c += ob->entries[i].state == state;
	return c;
}

size_t outbox_list(const struct outbox *ob, const struct outbox_entry **out, size_t max)
{
	if (ob == NULL || (out == NULL && max > 0))
		return 0;
	size_t n = ob->n < max ? ob->n : max;
	for (size_t i = 0; i < n; i++)
		out[i] = &ob->entries[i];
	return n;
}

uint64_t outbox_log_size(const struct outbox *ob)
{
	return ob != NULL ? ob->size : 0;
}
