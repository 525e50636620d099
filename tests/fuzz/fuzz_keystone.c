/* libFuzzer target: Keystone's POST /v3/auth/tokens answer, as any body
 * a server or a man in the middle could send. The body is passed with its
 * exact length and no terminator, so reading past len is caught by ASan. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keystone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(buf) (memchr((buf), '\0', sizeof(buf)) != NULL)

static void parse(const uint8_t *data, size_t size, const char *service_type,
		  const char *interface, const char *region)
{
	struct keystone_token_info info;
	char err[256];

	memset(&info, 0, sizeof(info));
	memset(err, 0, sizeof(err));
	if (keystone_parse_token_response((const char *)data, size, service_type, interface,
					  region, &info, err, sizeof(err)) == 0) {
		if (!TERMINATED(info.endpoint))
			abort();
	} else if (err[0] == '\0' || !TERMINATED(err)) {
		abort(); /* every failure must say why */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	int64_t ns;

	/* Token only, then the catalog lookups the client makes. */
	parse(data, size, NULL, NULL, NULL);
	parse(data, size, "instance-ha", "public", "RegionOne");
	parse(data, size, "instance-ha", "internal", "");
	parse(data, size, "instance-ha", "admin", NULL);

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
