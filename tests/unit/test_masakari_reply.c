/* Masakari's and Keystone's answers as the client reports them
 * (core/masakari_reply.c): the message of each error body Masakari
 * 14.0.2 and Keystone 22 really send (recorded from the harness's stack,
 * verbatim), a proxy's HTML page, empty and binary bodies, and the
 * notification_uuid of a 202. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/masakari_reply.h"

static const char *error_of(const char *body, size_t len)
{
	static char out[256];

	memset(out, 0x55, sizeof(out));
	masakari_reply_error_message(body, len, out, sizeof(out));
	return out;
}

#define ERROR_OF(lit) error_of((lit), sizeof(lit) - 1)

static void real_error_bodies(void **state)
{
	(void)state;
	assert_string_equal(
		ERROR_OF("{\"conflictingRequest\": {\"code\": 409, \"message\": \"Notification "
			 "received from host cn1 of type VM is duplicate.\"}}"),
		"Notification received from host cn1 of type VM is duplicate.");
	assert_string_equal(ERROR_OF("{\"badRequest\": {\"code\": 400, \"message\": \"Host with "
				     "name nosuchhost could not be found.\"}}"),
			    "Host with name nosuchhost could not be found.");
	assert_string_equal(ERROR_OF("{\"badRequest\": {\"code\": 400, \"message\": \"Malformed "
				     "request body\"}}"),
			    "Malformed request body");
	assert_string_equal(
		ERROR_OF("{\"masakariFault\": {\"code\": 406, \"message\": \"Version 9.9 is not "
			 "supported by the API. Minimum is 1.0 and maximum is 1.2.\"}}"),
		"Version 9.9 is not supported by the API. Minimum is 1.0 and maximum is 1.2.");
	/* keystonemiddleware in front of Masakari, and Keystone itself. */
	assert_string_equal(ERROR_OF("{\"error\": {\"code\": 401, \"title\": \"Unauthorized\", "
				     "\"message\": \"The request you have made requires "
				     "authentication.\"}}"),
			    "The request you have made requires authentication.");
	assert_string_equal(ERROR_OF("{\"error\":{\"code\":401,\"message\":\"The request you have "
				     "made requires authentication.\",\"title\":\"Unauthorized\"}}\n"),
			    "The request you have made requires authentication.");
}

static void other_bodies(void **state)
{
	(void)state;
	/* haproxy's default 503 page: the body itself, newlines blanked. */
	assert_string_equal(ERROR_OF("<html><body><h1>503 Service Unavailable</h1>\nNo server is "
				     "available to handle this request.\n</body></html>\n"),
			    "<html><body><h1>503 Service Unavailable</h1> No server is available "
			    "to handle this request. </body></html> ");
	assert_string_equal(error_of("", 0), "(empty body)");
	assert_string_equal(error_of(NULL, 0), "(empty body)");
	/* The first string "message" of an object member wins. */
	assert_string_equal(ERROR_OF("{\"a\": 1, \"b\": {\"message\": 5}, \"c\": {\"message\": "
				     "\"third\"}}"),
			    "third");
	/* An empty message says nothing: the body instead. */
	assert_string_equal(ERROR_OF("{\"e\": {\"message\": \"\"}}"), "{\"e\": {\"message\": \"\"}}");
	/* Only len bytes are read: no terminator needed. */
	assert_string_equal(error_of("oops!trailing", 4), "oops");
	/* Raw bodies are cut at 200 bytes. */
	char big[300];
	memset(big, 'x', sizeof(big));
	assert_int_equal(strlen(error_of(big, sizeof(big))), 200);
}

static void printable_utf8(void **state)
{
	(void)state;
	/* Control characters, from JSON escapes or raw, become blanks;
	 * malformed UTF-8 (a Latin-1 page) becomes '?'; NUL bytes too are
	 * blanked, not an early end. */
	assert_string_equal(ERROR_OF("{\"x\": {\"message\": \"line1\\nline2\\u0007\"}}"),
			    "line1 line2 ");
	assert_string_equal(ERROR_OF("Fehler: \xe4nderung\r\n"), "Fehler: ?nderung  ");
	assert_string_equal(ERROR_OF("\0\0ab"), "  ab");
	assert_string_equal(ERROR_OF("{\"x\": {\"message\": \"\xe8\xa6\x8b\xe5\xae\x88\"}}"),
			    "\xe8\xa6\x8b\xe5\xae\x88");
	/* Cut at a character boundary: 100 three-byte characters into 256. */
	char body[400] = "{\"x\": {\"message\": \"";
	for (int i = 0; i < 100; i++)
		strcat(body, "\xe8\xa6\x8b");
	strcat(body, "\"}}");
	assert_int_equal(strlen(error_of(body, strlen(body))), 255);
	/* The smallest buffer still says something. */
	char small[5];
	masakari_reply_error_message("\xe8\xa6\x8b\xe5\xae\x88", 6, small, sizeof(small));
	assert_string_equal(small, "\xe8\xa6\x8b");
}

static void notification_uuid(void **state)
{
	static const char accepted[] =
		"{\"notification\": {\"id\": 1, \"notification_uuid\": "
		"\"58747d8a-1198-4d21-a08f-8af89aa49ded\", \"generated_time\": "
		"\"2026-12-07T05:42:45.000000\", \"source_host_uuid\": "
		"\"bbd825c2-8856-42dd-a20b-c9c4034cf04d\", \"type\": \"VM\", \"payload\": "
		"{\"event\": \"LIFECYCLE\", \"instance_uuid\": "
		"\"5f1c4f38-1c1b-4c43-9a3e-2f1d7e0c9a11\", \"vir_domain_event\": "
		"\"STOPPED_FAILED\"}, \"status\": \"new\", \"created_at\": "
		"\"2026-12-07T05:42:45.000000\", \"updated_at\": null, \"deleted_at\": null, "
		"\"deleted\": false}}";
	char out[64];

	(void)state;
	masakari_reply_notification_uuid(accepted, sizeof(accepted) - 1, out, sizeof(out));
	assert_string_equal(out, "58747d8a-1198-4d21-a08f-8af89aa49ded");
	masakari_reply_notification_uuid(accepted, 20, out, sizeof(out));
	assert_string_equal(out, ""); /* cut short: not JSON */
	static const char number[] = "{\"notification\": {\"notification_uuid\": 7}}";
	masakari_reply_notification_uuid(number, sizeof(number) - 1, out, sizeof(out));
	assert_string_equal(out, "");
	masakari_reply_notification_uuid("", 0, out, sizeof(out));
	assert_string_equal(out, "");
	masakari_reply_notification_uuid(NULL, 0, out, sizeof(out));
	assert_string_equal(out, "");
	static const char tab[] = "{\"notification\": {\"notification_uuid\": \"a\\tb\"}}";
	masakari_reply_notification_uuid(tab, sizeof(tab) - 1, out, sizeof(out));
	assert_string_equal(out, "a b");
	/* Cut to the buffer, as last_uuid[64] does. */
	char small[8];
	masakari_reply_notification_uuid(accepted, sizeof(accepted) - 1, small, sizeof(small));
	assert_string_equal(small, "58747d8");
}

/* The two 409s of Masakari 14 (ha/api.py, as masakari-api sends them):
 * only the duplicate means Masakari has the notification (issue 10,
 * item 8). */
static void conflicts(void **state)
{
	static const char maintenance[] =
		"{\"conflict\": {\"code\": 409, \"message\": \"Notification received from "
		"host mesh-n2 of type 'COMPUTE_HOST' is ignored as the host is already under "
		"maintenance.\"}}";
	static const char duplicate[] =
		"{\"conflict\": {\"code\": 409, \"message\": \"Notification received from "
		"host mesh-n2 of type COMPUTE_HOST is duplicate.\"}}";
	static const char proxy[] = "<html><body>409 Conflict</body></html>";
	static const char other[] = "{\"conflict\": {\"code\": 409, \"message\": "
				    "\"Conflict\"}}";
	/* a host named like the other message does not fool it */
	static const char tricky[] =
		"{\"conflict\": {\"code\": 409, \"message\": \"Notification received from "
		"host is-duplicate. of type 'PROCESS' is ignored as the host is already under "
		"maintenance.\"}}";

	(void)state;
	assert_int_equal(masakari_reply_conflict(maintenance, sizeof(maintenance) - 1),
			 MASAKARI_CONFLICT_HOST_ON_MAINTENANCE);
	assert_int_equal(masakari_reply_conflict(duplicate, sizeof(duplicate) - 1),
			 MASAKARI_CONFLICT_DUPLICATE);
	assert_int_equal(masakari_reply_conflict(tricky, sizeof(tricky) - 1),
			 MASAKARI_CONFLICT_HOST_ON_MAINTENANCE);
	assert_int_equal(masakari_reply_conflict(proxy, sizeof(proxy) - 1),
			 MASAKARI_CONFLICT_UNRECOGNISED);
	assert_int_equal(masakari_reply_conflict(other, sizeof(other) - 1),
			 MASAKARI_CONFLICT_UNRECOGNISED);
	assert_int_equal(masakari_reply_conflict("", 0), MASAKARI_CONFLICT_UNRECOGNISED);
	assert_int_equal(masakari_reply_conflict(NULL, 0), MASAKARI_CONFLICT_UNRECOGNISED);
	/* cut short (not JSON, the sentence incomplete): not proof either */
	assert_int_equal(masakari_reply_conflict(duplicate, 60), MASAKARI_CONFLICT_UNRECOGNISED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(real_error_bodies),
		cmocka_unit_test(other_bodies),
		cmocka_unit_test(printable_utf8),
		cmocka_unit_test(notification_uuid),
		cmocka_unit_test(conflicts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
