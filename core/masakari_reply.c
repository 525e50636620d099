/* See masakari_reply.h. */
#include "core/masakari_reply.h"

#include <assert.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "base/text.h"

#define MAX_RAW_EXCERPT 200 /* bytes of a non-JSON body worth showing */

/* Copies the n bytes at src into out as printable text (see the header);
 * returns the length written. */
static size_t printable(char *out, size_t outlen, const char *src, size_t n)
{
	const uint8_t *s = (const uint8_t *)src;
	size_t o = 0;

	assert(outlen > 0);
	while (n > 0) {
		size_t c = utf8_char_len(s, n);
		size_t step = c > 0 ? c : 1;

		if (o + step > outlen - 1)
			break;
		if (c == 0)
			out[o++] = '?';
		else if (c == 1 && text_is_control(s[0]))
			out[o++] = ' ';
		else {
			memcpy(out + o, s, c);
			o += c;
		}
		s += step;
		n -= step;
	}
	out[o] = '\0';
	return o;
}

void masakari_reply_error_message(const char *body, size_t len, char *out, size_t outlen)
{
	assert(outlen >= 5);
	out[0] = '\0';
	if (len == 0) {
		printable(out, outlen, "(empty body)", strlen("(empty body)"));
		return;
	}
	json_t *root = json_loadb(body, len, 0, NULL);
	if (json_is_object(root)) {
		const char *key;
		json_t *val;
		json_object_foreach(root, key, val) {
			json_t *m = json_object_get(val, "message");
			if (json_is_string(m)) {
				printable(out, outlen, json_string_value(m), json_string_length(m));
				break;
			}
		}
	}
	json_decref(root);
	if (out[0] != '\0')
		return;
	/* Never empty: outlen >= 5 holds any one character. */
	printable(out, outlen, body, len < MAX_RAW_EXCERPT ? len : MAX_RAW_EXCERPT);
}

void masakari_reply_notification_uuid(const char *body, size_t len, char *out, size_t outlen)
{
	assert(outlen > 0);
	out[0] = '\0';
	if (body == NULL || len == 0)
		return;
	json_t *root = json_loadb(body, len, 0, NULL);
	json_t *uuid = json_object_get(json_object_get(root, "notification"), "notification_uuid");
	if (json_is_string(uuid))
		printable(out, outlen, json_string_value(uuid), json_string_length(uuid));
	json_decref(root);
}

enum masakari_conflict masakari_reply_conflict(const char *body, size_t len)
{
	char msg[512];

	if (body == NULL || len == 0)
		return MASAKARI_CONFLICT_UNRECOGNISED;
	masakari_reply_error_message(body, len, msg, sizeof(msg));
	/* Maintenance first: its text cannot be mistaken for a duplicate's,
	 * and it is the one that must never pass for delivered. */
	if (strstr(msg, "is ignored as the host is already under maintenance"))
		return MASAKARI_CONFLICT_HOST_ON_MAINTENANCE;
	if (strstr(msg, "Notification received from host ") && strstr(msg, " is duplicate."))
		return MASAKARI_CONFLICT_DUPLICATE;
	return MASAKARI_CONFLICT_UNRECOGNISED;
}
