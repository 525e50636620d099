/* See watchlist.h. Adding a built-in watched process is one line in
 * builtins[]; the kernel's name table has room to spare (the static
 * assertion below says when it runs out). */
#include "core/watchlist.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/errbuf.h"
#include "core/correlate.h"

/* comm holds 15 chars: pacemaker-remoted (2.x) and pacemaker_remoted (1.x)
 * appear cut to 15; a longer name would never match. */
static const struct watch_entry builtins[] = {
	{ "qemu-system-", WATCH_PREFIX, WATCH_DEATH_GUEST, "qemu" },
	{ "qemu-kvm", WATCH_EXACT, WATCH_DEATH_GUEST, "qemu" },
	{ "pacemaker-remot", WATCH_EXACT, WATCH_DEATH_MESH, "pacemaker_remoted" },
	{ "pacemaker_remot", WATCH_EXACT, WATCH_DEATH_MESH, "pacemaker_remoted" },
};

#define N_BUILTINS (sizeof(builtins) / sizeof(builtins[0]))

/* Their signals to qemu are requests, matched on the sender's process comm. */
static const char *const managers[] = { "libvirtd", "virtqemud" };

/* Every [process] watched name must reach the kernel beside the built-ins. */
_Static_assert(N_BUILTINS + CORRELATE_MAX_PROCESS_NAMES <= WATCHLIST_MAX_NAMES,
	       "bpf/exitwatch.h's EXITWATCH_MAX_NAMES is too small for the built-ins");
_Static_assert(FACT_COMM_LEN == WATCHLIST_COMM_LEN, "comm sizes differ");

const struct watch_entry *watchlist_builtins(size_t *n)
{
	assert(n);
	*n = N_BUILTINS;
	return builtins;
}

bool watch_entry_matches(const struct watch_entry *e, const char *comm)
{
	size_t len = strnlen(e->comm, WATCHLIST_COMM_LEN);

	assert(len > 0 && len <= WATCHLIST_NAME_MAX);
	/* an exact name also compares its NUL, as the kernel side does */
	return strncmp(comm, e->comm, e->match == WATCH_PREFIX ? len : len + 1) == 0;
}

const struct watch_entry *watchlist_match(const char *comm)
{
	for (size_t i = 0; i < N_BUILTINS; i++)
		if (watch_entry_matches(&builtins[i], comm))
			return &builtins[i];
	return NULL;
}

bool watchlist_prefix_of(const char *comm, enum watch_death death)
{
	for (size_t i = 0; i < N_BUILTINS; i++)
		if (builtins[i].death == death &&
		    strncmp(comm, builtins[i].comm, strlen(builtins[i].comm)) == 0)
			return true;
	return false;
}

static void set_name(struct watch_kernel_table *t, const char *name, bool prefix)
{
	size_t len = strnlen(name, WATCHLIST_COMM_LEN);

	assert(t->n < WATCHLIST_MAX_NAMES && len > 0);
	if (len > WATCHLIST_NAME_MAX)
		len = WATCHLIST_NAME_MAX; /* the kernel keeps 15 chars of a name */
	memcpy(t->names[t->n], name, len);
	/* an exact name also compares its NUL; a 15-char one ends the comm */
	t->cmp_len[t->n] = (uint32_t)(prefix ? len : len + 1);
	t->n++;
}

int watchlist_kernel_table(const char (*extra)[WATCHLIST_COMM_LEN], size_t n_extra,
			   struct watch_kernel_table *out, char *err, size_t errlen)
{
	assert(out && (extra || n_extra == 0));
	memset(out, 0, sizeof(*out));
	if (n_extra > WATCHLIST_MAX_NAMES - N_BUILTINS) {
		errbuf_set(err, errlen, "%zu extra process names, at most %zu", n_extra,
			   WATCHLIST_MAX_NAMES - N_BUILTINS);
		return -E2BIG;
	}
	for (size_t i = 0; i < n_extra; i++) {
		if (extra[i][0] == '\0') {
			errbuf_set(err, errlen, "extra process name %zu is empty", i);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < N_BUILTINS; i++)
		set_name(out, builtins[i].comm, builtins[i].match == WATCH_PREFIX);
	for (size_t i = 0; i < n_extra; i++)
		set_name(out, extra[i], false);
	return 0;
}

size_t watchlist_scan_prefixes(const char (*extra)[WATCHLIST_COMM_LEN], size_t n_extra,
			       const char **out, size_t max)
{
	size_t n = 0;

	assert(out && (extra || n_extra == 0));
	for (size_t i = 0; i < N_BUILTINS && n < max; i++)
		out[n++] = builtins[i].comm;
	for (size_t i = 0; i < n_extra && n < max; i++)
		out[n++] = extra[i];
	return n;
}

/* Whether one of the configured names is process (under any of its
 * built-in names). */
static bool configured_process(const char (*configured)[WATCHLIST_COMM_LEN], size_t n,
			       const char *process)
{
	for (size_t i = 0; i < N_BUILTINS; i++) {
		if (strcmp(builtins[i].process, process) != 0)
			continue;
		for (size_t j = 0; j < n; j++)
			if (watch_entry_matches(&builtins[i], configured[j]))
				return true;
	}
	return false;
}

size_t watchlist_process_names(const char (*configured)[WATCHLIST_COMM_LEN], size_t n_configured,
			       bool mesh_enabled, char (*out)[WATCHLIST_COMM_LEN], size_t max,
			       bool *overflow)
{
	size_t n = 0;

	assert(out && overflow && (configured || n_configured == 0));
	*overflow = n_configured > max;
	for (size_t i = 0; i < n_configured && n < max; i++)
		snprintf(out[n++], WATCHLIST_COMM_LEN, "%s", configured[i]);
	if (!mesh_enabled)
		return n;
	for (size_t i = 0; i < N_BUILTINS; i++) {
		if (builtins[i].death != WATCH_DEATH_MESH ||
		    configured_process(configured, n_configured, builtins[i].process))
			continue;
		if (n == max) {
			*overflow = true;
			break;
		}
		snprintf(out[n++], WATCHLIST_COMM_LEN, "%s", builtins[i].comm);
	}
	return n;
}

const struct watch_entry *watchlist_failure_to_mesh(const char *name, bool mesh_enabled)
{
	const struct watch_entry *e = mesh_enabled ? watchlist_match(name) : NULL;

	return e && e->death == WATCH_DEATH_MESH ? e : NULL;
}

size_t watchlist_managers(char (*out)[WATCHLIST_COMM_LEN], size_t max)
{
	size_t n = 0;

	assert(out);
	for (size_t i = 0; i < sizeof(managers) / sizeof(managers[0]) && n < max; i++)
		snprintf(out[n++], WATCHLIST_COMM_LEN, "%s", managers[i]);
	return n;
}
