/* Unit tests of the built-in watch list (core/watchlist.c): the kernel's
 * name table the probe loader copies into the BPF program is made of the
 * table's lines (and the configured names), compared the way
 * bpf/exitwatch.bpf.c compares; where each built-in's death goes (the guest
 * path, the mesh) and what the correlator then decides for it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/correlate.h"
#include "core/watchlist.h"

/* bpf/exitwatch.bpf.c's name_watched() over the rodata the loader writes:
 * the first unused slot ends the search. */
static bool kernel_watches(const struct watch_kernel_table *t, const char *comm)
{
	char c[WATCHLIST_COMM_LEN] = { 0 };

	size_t n = strnlen(comm, WATCHLIST_NAME_MAX);

	memcpy(c, comm, n); /* the kernel truncates comm to 15 chars */
	for (size_t i = 0; i < WATCHLIST_MAX_NAMES; i++) {
		uint32_t len = t->cmp_len[i];

		if (len == 0)
			break;
		if (len <= WATCHLIST_COMM_LEN && memcmp(c, t->names[i], len) == 0)
			return true;
	}
	return false;
}

static const char extras[3][WATCHLIST_COMM_LEN] = { "nova-compute", "libvirtd",
						     "fifteen-chars-x" };

static void test_kernel_table_is_the_builtins_then_the_extras(void **state)
{
	static struct watch_kernel_table t;
	size_t n;
	const struct watch_entry *b = watchlist_builtins(&n);
	char err[128] = "";

	(void)state;
	assert_int_equal(watchlist_kernel_table(extras, 3, &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, n + 3);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(b[i].comm);

		assert_true(len > 0 && len <= WATCHLIST_NAME_MAX);
		assert_string_equal(t.names[i], b[i].comm);
		assert_int_equal(t.cmp_len[i], b[i].match == WATCH_PREFIX ? len : len + 1);
	}
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(t.names[n + i], extras[i]);
		assert_int_equal(t.cmp_len[n + i], strlen(extras[i]) + 1);
	}
	for (size_t i = n + 3; i < WATCHLIST_MAX_NAMES; i++)
		assert_int_equal(t.cmp_len[i], 0);
}

/* What the probe watches, by comm, with the built-ins of today. */
static void test_kernel_table_watches_these_comms(void **state)
{
	static struct watch_kernel_table t, none;
	char err[128] = "";

	(void)state;
	assert_int_equal(watchlist_kernel_table(extras, 3, &t, err, sizeof(err)), 0);
	assert_int_equal(watchlist_kernel_table(NULL, 0, &none, err, sizeof(err)), 0);
	static const char *const builtin_comms[] = {
		"qemu-system-x86", "qemu-system-aar", "qemu-kvm", "pacemaker-remot",
		"pacemaker_remot",
	};
	for (size_t i = 0; i < sizeof(builtin_comms) / sizeof(builtin_comms[0]); i++) {
		assert_true(kernel_watches(&t, builtin_comms[i]));
		assert_true(kernel_watches(&none, builtin_comms[i]));
	}
	/* the longer names the kernel cuts to 15 chars */
	assert_true(kernel_watches(&none, "pacemaker-remoted"));
	assert_true(kernel_watches(&none, "pacemaker_remoted"));
	/* exact names stay exact */
	assert_false(kernel_watches(&none, "qemu-kvm2"));
	assert_false(kernel_watches(&none, "qemu-img"));
	assert_false(kernel_watches(&none, "pacemaker-contr"));
	assert_false(kernel_watches(&none, "nova-compute"));
	assert_true(kernel_watches(&t, "nova-compute"));
	assert_false(kernel_watches(&t, "nova-compute-x"));
	assert_true(kernel_watches(&t, "libvirtd"));
	assert_true(kernel_watches(&t, "fifteen-chars-x"));
	assert_false(kernel_watches(&t, "bash"));
}

static void test_kernel_table_refuses(void **state)
{
	static struct watch_kernel_table t;
	static char many[WATCHLIST_MAX_NAMES][WATCHLIST_COMM_LEN];
	const char empty[1][WATCHLIST_COMM_LEN] = { "" };
	char err[128] = "";
	size_t n;

	(void)state;
	(void)watchlist_builtins(&n);
	for (size_t i = 0; i < WATCHLIST_MAX_NAMES; i++)
		snprintf(many[i], sizeof(many[i]), "p%zu", i);
	assert_int_equal(watchlist_kernel_table(empty, 1, &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty"));
	assert_int_equal(watchlist_kernel_table(many, WATCHLIST_MAX_NAMES - n + 1, &t, err,
						sizeof(err)),
			 -E2BIG);
	/* every [process] watched name fits beside the built-ins */
	assert_int_equal(watchlist_kernel_table(many, CORRELATE_MAX_PROCESS_NAMES, &t, err,
						sizeof(err)),
			 0);
	assert_int_equal(t.n, n + CORRELATE_MAX_PROCESS_NAMES);
}

/* Where each built-in's death goes. */
static void test_death_routes(void **state)
{
	const struct watch_entry *e;

	(void)state;
	e = watchlist_match("qemu-system-x86");
	assert_non_null(e);
	assert_int_equal(e->death, WATCH_DEATH_GUEST);
	assert_string_equal(e->process, "qemu");
	e = watchlist_match("qemu-kvm");
	assert_non_null(e);
	assert_int_equal(e->death, WATCH_DEATH_GUEST);
	assert_null(watchlist_match("qemu-kvm2"));
	assert_null(watchlist_match("nova-compute"));
	for (int i = 0; i < 2; i++) {
		const char *comm = i ? "pacemaker_remot" : "pacemaker-remot";

		e = watchlist_match(comm);
		assert_non_null(e);
		assert_int_equal(e->death, WATCH_DEATH_MESH);
		e = watchlist_failure_to_mesh(comm, true);
		assert_non_null(e);
		assert_string_equal(e->process, "pacemaker_remoted");
		/* without the mesh: Masakari, from here */
		assert_null(watchlist_failure_to_mesh(comm, false));
	}
	assert_null(watchlist_failure_to_mesh("nova-compute", true));
	assert_null(watchlist_failure_to_mesh("qemu-kvm", true));
}

/* The /proc scans take every name as a prefix (the libvirt watcher looks
 * for a guest's qemu among the GUEST built-ins). */
static void test_prefix_scans(void **state)
{
	const char *p[WATCHLIST_MAX_NAMES];
	size_t n, nb;
	const struct watch_entry *b = watchlist_builtins(&nb);

	(void)state;
	n = watchlist_scan_prefixes(extras, 3, p, WATCHLIST_MAX_NAMES);
	assert_int_equal(n, nb + 3);
	for (size_t i = 0; i < nb; i++)
		assert_string_equal(p[i], b[i].comm);
	assert_string_equal(p[nb], "nova-compute");
	assert_int_equal(watchlist_scan_prefixes(extras, 3, p, 2), 2);
	assert_true(watchlist_prefix_of("qemu-system-x86", WATCH_DEATH_GUEST));
	assert_true(watchlist_prefix_of("qemu-kvm", WATCH_DEATH_GUEST));
	assert_false(watchlist_prefix_of("qemu-img", WATCH_DEATH_GUEST));
	assert_false(watchlist_prefix_of("pacemaker-remot", WATCH_DEATH_GUEST));
	assert_true(watchlist_prefix_of("pacemaker-remot", WATCH_DEATH_MESH));
}

static size_t feed_kill(const struct correlate_config *cc, const char *comm, struct verdict *v)
{
	struct correlator *c = correlator_new(cc);
	struct verdict out[CORRELATE_MAX_VERDICTS];
	struct fact f = {
		.kind = FACT_PROC_EXIT,
		.exit = { .ts_ns = 100, .source = EXIT_SOURCE_EBPF, .tgid = 5000,
			  .status_known = true, .wait_status = SIGKILL,
			  .has_fatal_signal = true,
			  .fatal_signal = { .ts_ns = 90, .sig = SIGKILL, .sender_tgid = 4242,
					    .sender_comm = "bash", .sender_leader_comm = "bash" } },
	};
	size_t n;

	assert_non_null(c);
	snprintf(f.exit.comm, sizeof(f.exit.comm), "%s", comm);
	n = correlator_feed(c, &f, out);
	assert_true(n >= 1);
	*v = out[0];
	correlator_free(c);
	return n;
}

/* With the mesh, a killed pacemaker-remoted is a process failure the
 * correlator reports (mimamorid hands it to the peers); without it, an
 * unmapped exit that is only recorded. */
static void test_mesh_processes_reach_the_correlator(void **state)
{
	struct correlate_config cc = { 0 };
	struct verdict v;
	bool full = true;

	(void)state;
	cc.n_process_names = watchlist_process_names(NULL, 0, true, cc.process_names,
						     CORRELATE_MAX_PROCESS_NAMES, &full);
	assert_false(full);
	assert_int_equal(cc.n_process_names, 2);
	assert_string_equal(cc.process_names[0], "pacemaker-remot");
	assert_string_equal(cc.process_names[1], "pacemaker_remot");
	feed_kill(&cc, "pacemaker_remot", &v);
	assert_int_equal(v.kind, VERDICT_PROCESS_FAILED);
	assert_true(v.notify);
	assert_non_null(watchlist_failure_to_mesh(v.name, true));

	memset(&cc, 0, sizeof(cc));
	cc.n_process_names = watchlist_process_names(NULL, 0, false, cc.process_names,
						     CORRELATE_MAX_PROCESS_NAMES, &full);
	assert_int_equal(cc.n_process_names, 0);
	feed_kill(&cc, "pacemaker_remot", &v);
	assert_int_equal(v.kind, VERDICT_UNMAPPED_EXIT);
	assert_false(v.notify);
}

/* Configured names come first; a mesh process configured under one of its
 * names is not added again; a full list says so. */
static void test_process_names_with_configured(void **state)
{
	static const char one[2][WATCHLIST_COMM_LEN] = { "nova-compute", "pacemaker-remot" };
	static char full16[CORRELATE_MAX_PROCESS_NAMES][WATCHLIST_COMM_LEN];
	char out[CORRELATE_MAX_PROCESS_NAMES][WATCHLIST_COMM_LEN];
	bool full = true;
	size_t n;

	(void)state;
	n = watchlist_process_names(one, 1, true, out, CORRELATE_MAX_PROCESS_NAMES, &full);
	assert_false(full);
	assert_int_equal(n, 3);
	assert_string_equal(out[0], "nova-compute");
	assert_string_equal(out[1], "pacemaker-remot");
	n = watchlist_process_names(one, 2, true, out, CORRELATE_MAX_PROCESS_NAMES, &full);
	assert_false(full);
	assert_int_equal(n, 2);
	assert_string_equal(out[1], "pacemaker-remot");
	for (size_t i = 0; i < CORRELATE_MAX_PROCESS_NAMES; i++)
		snprintf(full16[i], sizeof(full16[i]), "proc%zu", i);
	n = watchlist_process_names(full16, CORRELATE_MAX_PROCESS_NAMES, true, out,
				    CORRELATE_MAX_PROCESS_NAMES, &full);
	assert_true(full);
	assert_int_equal(n, CORRELATE_MAX_PROCESS_NAMES);
	n = watchlist_process_names(full16, CORRELATE_MAX_PROCESS_NAMES, false, out,
				    CORRELATE_MAX_PROCESS_NAMES, &full);
	assert_false(full);
}

/* The built-in managers: their signals to a guest's qemu are requests. */
static void test_managers(void **state)
{
	char out[CORRELATE_MAX_MANAGERS][WATCHLIST_COMM_LEN];

	(void)state;
	assert_int_equal(watchlist_managers(out, CORRELATE_MAX_MANAGERS), 2);
	assert_string_equal(out[0], "libvirtd");
	assert_string_equal(out[1], "virtqemud");
	assert_int_equal(watchlist_managers(out, 1), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_table_is_the_builtins_then_the_extras),
		cmocka_unit_test(test_kernel_table_watches_these_comms),
		cmocka_unit_test(test_kernel_table_refuses),
		cmocka_unit_test(test_death_routes),
		cmocka_unit_test(test_prefix_scans),
		cmocka_unit_test(test_mesh_processes_reach_the_correlator),
		cmocka_unit_test(test_process_names_with_configured),
		cmocka_unit_test(test_managers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
