/* What Masakari (and Keystone, for errors) answered to a POST, as text for
 * logs, the status file and the Control RPC: pure, so the unit test and
 * the fuzzer reach it without curl. The body is any bytes a server or a
 * proxy in between could send (HTML error pages, Latin-1, NULs). */
#ifndef MIMAMORI_MASAKARI_REPLY_H
#define MIMAMORI_MASAKARI_REPLY_H

#include <stddef.h>

/* The "message" of an OpenStack error body ({"badRequest": {"message":
 * ..}}, {"conflict": {...}}, Keystone's {"error": {...}}), else the start
 * of the body (200 bytes at most), else "(empty body)". Written to out
 * (outlen >= 5) as printable UTF-8: control bytes become ' ', malformed
 * UTF-8 '?', cut at a character boundary; never empty. body needs no
 * terminator (len bytes are read) and may be NULL when len is 0. */
void masakari_reply_error_message(const char *body, size_t len, char *out, size_t outlen);

/* The notification_uuid of a 2xx answer to POST /notifications
 * ({"notification": {"notification_uuid": ...}}), printable as above and
 * cut to outlen - 1 bytes; "" when the body has none. */
void masakari_reply_notification_uuid(const char *body, size_t len, char *out, size_t outlen);

/* What a 409 to POST /notifications says. Masakari answers 409 for two
 * exceptions (masakari/ha/api.py, API 14.0): DuplicateNotification,
 * "Notification received from host H of type T is duplicate." (the same
 * host, type and payload within duplicate_notification_detection_interval:
 * Masakari has it), and HostOnMaintenanceError, "Notification received from
 * host H of type 'T' is ignored as the host is already under maintenance."
 * (Masakari stored nothing and will recover nothing: a PROCESS STOPPED, an
 * earlier host recovery or an operator put H on maintenance). Only the
 * first is "delivered". */
enum masakari_conflict {
	MASAKARI_CONFLICT_UNRECOGNISED = 0, /* another text (a proxy, a new
					     * release): no proof Masakari has it */
	MASAKARI_CONFLICT_DUPLICATE,
	MASAKARI_CONFLICT_HOST_ON_MAINTENANCE,
	MASAKARI_CONFLICT_KINDS
};

/* Classifies a 409's body by its message (masakari_reply_error_message). */
enum masakari_conflict masakari_reply_conflict(const char *body, size_t len);

#endif
