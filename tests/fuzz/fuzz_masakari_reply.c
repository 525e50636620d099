/* libFuzzer target: Masakari's (and Keystone's) answer to a POST, as any
 * body a server, a proxy's error page or a man in the middle could send:
 * the error message and the notification_uuid the client keeps
 * (core/masakari_reply.c). The body is passed with its exact length and
 * no terminator (ASan catches a read past it), into buffers of the sizes
 * the client uses and of the smallest sizes allowed. Whatever comes in:
 * terminated text within the buffer, printable (no control bytes),
 * well-formed UTF-8, and an error message that is never empty, since it is
 * all an operator sees of a refusal (logs, status file, Control RPC, the
 * outbox's last_error). Seeds: real answers of Masakari 14.0.2 and
 * Keystone 22, tests/fuzz/corpus/masakari_reply/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/masakari_reply.h"
#include "base/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* out[outlen] holds terminated, printable UTF-8; the bytes after it in the
 * guard were not touched. Returns its length. */
static size_t check_text(const char *out, size_t outlen, const char *guard_end)
{
	const char *nul = memchr(out, '\0', outlen);

	if (nul == NULL)
		abort(); /* not terminated within its buffer */
	size_t n = (size_t)(nul - out);
	if (!utf8_valid((const uint8_t *)out, n))
		abort(); /* malformed UTF-8 would break the status JSON and the RPC */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			abort(); /* a control byte in a log line */
	for (const char *g = out + outlen; g < guard_end; g++)
		if (*g != 0x55)
			abort(); /* wrote past outlen */
	return n;
}

static void one(const char *body, size_t len, size_t outlen)
{
	char buf[600];

	memset(buf, 0x55, sizeof(buf));
	masakari_reply_error_message(body, len, buf, outlen);
	if (check_text(buf, outlen, buf + sizeof(buf)) == 0)
		abort(); /* a refusal that says nothing */

	memset(buf, 0x55, sizeof(buf));
	masakari_reply_notification_uuid(body, len, buf, outlen);
	(void)check_text(buf, outlen, buf + sizeof(buf));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy of exactly size bytes: no terminator in reach. */
	char *copy = malloc(size > 0 ? size : 1);

	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	one(copy, size, 256); /* masakari_client.c: reason[256], msg[256] */
	one(copy, size, 64);  /* last_uuid[64] */
	one(copy, size, 5);   /* the smallest allowed */
	/* A 409's reading (the notifier's "delivered or not") is one of the
	 * kinds, whatever the body. */
	enum masakari_conflict c = masakari_reply_conflict(copy, size);
	if ((unsigned)c >= MASAKARI_CONFLICT_KINDS)
		abort();
	free(copy);
	return 0;
}
