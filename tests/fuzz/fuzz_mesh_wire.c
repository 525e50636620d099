/* libFuzzer target: a mesh peer's message (proto/mesh.proto), as any bytes
 * a broken, hostile or newer peer could send. Whatever comes in: either a
 * rejection with a reason, or a message the cores accept whose strings are
 * terminated, and which packs and decodes again to the same message, field
 * for field (what we forward is what we understood: comparing only the
 * bytes of two packings would miss a field that packing drops, since it is
 * dropped from both). Seeds: tests/fuzz/corpus/mesh_wire/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mesh/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(buf) (memchr((buf), '\0', sizeof(buf)) != NULL)

static uint8_t packed1[MESH_WIRE_MAX_MSG], packed2[MESH_WIRE_MAX_MSG];
/* Static: a SWIM message carries MESH_MAX_UPDATES updates. */
static struct mesh_wire_msg first, second;

static void check_strings(const struct mesh_wire_msg *m)
{
	if (!TERMINATED(m->from) || m->from[0] == '\0')
		abort();
	switch (m->kind) {
	case MESH_WIRE_OBSERVATION:
		if (!TERMINATED(m->observation.observer) || !TERMINATED(m->observation.subject))
			abort();
		break;
	case MESH_WIRE_COMPLETION:
		if (!TERMINATED(m->completion.from) || !TERMINATED(m->completion.notifier) ||
		    !TERMINATED(m->completion.subject))
			abort();
		break;
	case MESH_WIRE_PROCESS_REPORT:
		if (!TERMINATED(m->report.reporter) || !TERMINATED(m->report.process))
			abort();
		break;
	case MESH_WIRE_SWIM:
		if (m->swim.n_updates > MESH_MAX_UPDATES)
			abort();
		break;
	case MESH_WIRE_PROBE:
	case MESH_WIRE_PROBE_ACK:
		break;
	default:
		abort(); /* an unknown kind was accepted */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	int len1, len2;

	/* Zeroed first, so that what decoding leaves alone (the rest of the
	 * union, updates past n_updates) compares equal below. */
	memset(&first, 0, sizeof(first));
	memset(&second, 0, sizeof(second));
	if (mesh_wire_unpack(data, size, &first, &why) != 0) {
		if (why == NULL || why[0] == '\0')
			abort(); /* every rejection says why */
		return 0;
	}
	check_strings(&first);
	len1 = mesh_wire_pack(&first, packed1, sizeof(packed1));
	if (len1 < 0)
		abort(); /* accepted, so it fits */
	if (mesh_wire_unpack(packed1, (size_t)len1, &second, &why) != 0)
		abort(); /* we would send what we cannot read */
	if (memcmp(&first, &second, sizeof(first)) != 0)
		abort(); /* packing lost or changed a field */
	len2 = mesh_wire_pack(&second, packed2, sizeof(packed2));
	if (len2 != len1 || memcmp(packed1, packed2, (size_t)len1) != 0)
		abort(); /* decoding lost or changed something */
	return 0;
}
