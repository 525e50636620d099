/* libFuzzer target: the members file ([mesh] members_file), as any bytes an
 * operator's editor or a broken deployment tool could write. Either an
 * error "NAME:LINE: what", or a non-empty list of unique, terminated,
 * well-formed names and URLs that members_find() finds again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/mesh/members_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(buf) (memchr((buf), '\0', sizeof(buf)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct members_list l;
	char err[256];
	/* A private copy of exactly size bytes: no terminator in reach. */
	char *copy = malloc(size > 0 ? size : 1);

	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	memset(err, 0x7f, sizeof(err));
	if (members_file_parse("members", copy, size, &l, err, sizeof(err)) != 0) {
		if (!TERMINATED(err) || strncmp(err, "members:", 8) != 0 || l.n != 0)
			abort();
		free(copy);
		return 0;
	}
	if (l.n == 0 || l.n > MEMBERS_FILE_MAX_MEMBERS)
		abort();
	for (size_t i = 0; i < l.n; i++) {
		const struct members_entry *e = &l.v[i];

		if (!TERMINATED(e->name) || !TERMINATED(e->url) || e->name[0] == '\0')
			abort();
		for (const char *c = e->name; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-'))
				abort();
		if (members_find(&l, e->name) != (long)i || members_find_url(&l, e->url) != (long)i)
			abort(); /* duplicates were let through */
	}
	members_list_free(&l);
	free(copy);
	return 0;
}
