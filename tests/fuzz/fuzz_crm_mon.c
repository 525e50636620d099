/* libFuzzer target: crm_mon output, as any bytes a broken, hostile or
 * half-written crm_mon could print. The input is passed with its exact
 * length and no terminator (ASan catches any read past it), with exit code
 * 0 and 102. Whatever comes in: a view with a reason unless it is CRM_MON_OK,
 * or an error with a reason; every string terminated; bounds respected;
 * nodes only in an OK view. Seeds: tests/fixtures/crm_mon/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/crm_mon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(buf) (memchr((buf), '\0', sizeof(buf)) != NULL)

static struct crm_mon_view view;

static void check(const uint8_t *data, size_t size, int exit_code)
{
	char err[256];
	memset(err, 0x7f, sizeof(err));
	int rc = crm_mon_parse((const char *)data, size, exit_code, &view, err, sizeof(err));
	if (!TERMINATED(view.reason) || !TERMINATED(view.version) || !TERMINATED(view.dc_name))
		abort();
	if (rc == 0) {
		if (view.status != CRM_MON_OK && view.reason[0] == '\0')
			abort(); /* "no information" must say why */
		if (exit_code != 0 && view.status != CRM_MON_NO_INFO)
			abort(); /* a failed crm_mon is never a view */
	} else {
		if (rc != -1 || !TERMINATED(err) || err[0] == '\0' || view.status != CRM_MON_NO_INFO)
			abort(); /* every failure says why */
	}
	if (view.status != CRM_MON_OK && view.n_nodes != 0)
		abort();
	if (view.n_nodes > CRM_MON_MAX_NODES || view.n_fence > CRM_MON_MAX_FENCE)
		abort();
	for (size_t i = 0; i < view.n_nodes; i++) {
		const struct crm_mon_node *n = &view.nodes[i];
		if (!TERMINATED(n->name) || n->name[0] == '\0' || !TERMINATED(n->remote_role))
			abort();
		if (crm_mon_find_node(&view, n->name) == NULL)
			abort();
	}
	for (size_t i = 0; i < view.n_fence; i++) {
		const struct crm_mon_fence_event *f = &view.fence[i];
		if (!TERMINATED(f->target) || !TERMINATED(f->action) || !TERMINATED(f->completed) ||
		    !TERMINATED(f->delegate) || !TERMINATED(f->origin) || !TERMINATED(f->status_text))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	if (!initialised) {
		crm_mon_init();
		initialised = 1;
	}
	/* A private copy of exactly size bytes: no terminator in reach. */
	uint8_t *copy = malloc(size > 0 ? size : 1);
	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	check(copy, size, 0);
	check(copy, size, 102);
	free(copy);
	return 0;
}
