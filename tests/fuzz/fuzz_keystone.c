/* libFuzzer target: Keystone's POST /v3/auth/tokens answer, as any body
 * a server or a man in the middle could send. The body is passed with its
 * exact length and no terminator, so reading past len is caught by ASan.
 * Every failure says why; a catalog lookup that succeeds found a non-empty
 * endpoint, and agrees with the token-only parse on the expiry (a lookup
 * is never looser than the token alone). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/keystone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(buf) (memchr((buf), '\0', sizeof(buf)) != NULL)

/* Returns 0 and the expiry on success. */
static int parse(const uint8_t *data, size_t size, const char *service_type,
		 const char *interface, const char *region, int64_t *expires)
{
	struct keystone_token_info info;
	char err[256];

	memset(&info, 0x7f, sizeof(info));
	memset(err, 0x7f, sizeof(err));
	if (keystone_parse_token_response((const char *)data, size, service_type, interface,
					  region, &info, err, sizeof(err)) == 0) {
		if (!TERMINATED(info.endpoint))
			abort();
		if (service_type != NULL && info.endpoint[0] == '\0')
			abort(); /* "found" an empty endpoint */
		*expires = info.expires_realtime_ns;
		return 0;
	}
	if (err[0] == '\0' || !TERMINATED(err))
		abort(); /* every failure must say why */
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	int64_t ns;

	/* Token only, then the catalog lookups the client makes. */
	int64_t token_expires = 0, expires = 0;
	int token_ok = parse(data, size, NULL, NULL, NULL, &token_expires) == 0;
	static const char *const lookups[][2] = {
		{ "public", "RegionOne" }, { "internal", "" }, { "admin", NULL }
	};
	for (size_t i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++)
		if (parse(data, size, "instance-ha", lookups[i][0], lookups[i][1], &expires) == 0 &&
		    (!token_ok || expires != token_expires))
			abort();

	/* The expires_at parser on its own, NUL-terminated as it expects. */
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)keystone_parse_time(s, &ns);
	free(s);
	return 0;
}
