/* See probe.h. Loads bpf/exitwatch.bpf.c through its skeleton: fills the
 * watched-name table in rodata, picks the program variants matching this
 * kernel's tracepoint signatures (read from its BTF), attaches, and turns
 * each ring-buffer record into one FACT_PROC_EXIT fact. */
#include "daemon/loop/probe.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf/exitwatch.h"
#include "bpf/exitwatch.skel.h"
#include "core/watchlist.h"
#include "os/log.h"

struct probe {
	struct exitwatch_bpf *skel;
	struct ring_buffer *rb;
	enum probe_exit_variant exit_variant;
	uint64_t events;
	uint64_t malformed;
	/* valid only while probe_consume runs */
	probe_fact_cb cb;
	void *cb_ctx;
	int delivered;
};

/* libbpf's debug chatter is silenced; warnings (including verifier logs,
 * whose decisive line is the last) go to the log line by line. */
#define LIBBPF_LOG_MAX_LINES 60

/* libbpf hands us its own format strings: the format is not ours to check. */
__attribute__((format(printf, 2, 0)))
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *text = NULL, *line, *save = NULL;
	size_t lines = 0, skip, i = 0;

	if (level == LIBBPF_DEBUG)
		return 0;
	if (level == LIBBPF_INFO && !log_enabled(LOG_LEVEL_DEBUG))
		return 0;
	if (vasprintf(&text, fmt, ap) < 0)
		return 0;
	for (const char *c = text; *c; c++)
		lines += *c == '\n';
	skip = lines > LIBBPF_LOG_MAX_LINES ? lines - LIBBPF_LOG_MAX_LINES : 0;
	if (skip)
		log_warn("libbpf: ... (%zu lines skipped)", skip);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
		if (i < skip)
			continue;
		/* most libbpf messages carry their own "libbpf: " */
		const char *tag = strncmp(line, "libbpf: ", 8) == 0 ? "" : "libbpf: ";

		if (level == LIBBPF_WARN)
			log_warn("%s%s", tag, line);
		else
			log_debug("%s%s", tag, line);
	}
	free(text);
	return 0;
}

/* Function prototype behind the tracepoint's btf_trace_<name> typedef, or
 * NULL when this kernel has no such tracepoint. */
static const struct btf_type *tracepoint_proto(const struct btf *btf, const char *tp)
{
	char name[96];
	const struct btf_type *t;
	int id;

	if (snprintf(name, sizeof(name), "btf_trace_%s", tp) >= (int)sizeof(name))
		return NULL;
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id < 0)
		return NULL;
	t = btf__type_by_id(btf, id);
	t = t ? btf__type_by_id(btf, t->type) : NULL;
	if (!t || !btf_is_ptr(t))
		return NULL;
	t = btf__type_by_id(btf, t->type);
	return t && btf_is_func_proto(t) ? t : NULL;
}

/* Kind of the proto's parameter idx with typedefs and qualifiers peeled. */
static int param_kind(const struct btf *btf, const struct btf_type *proto, unsigned idx)
{
	const struct btf_type *t;

	if (idx >= btf_vlen(proto))
		return -1;
	t = btf__type_by_id(btf, btf_params(proto)[idx].type);
	for (int depth = 0; t && depth < 16; depth++) {
		if (!btf_is_typedef(t) && !btf_is_const(t) && !btf_is_volatile(t))
			return btf_kind(t);
		t = btf__type_by_id(btf, t->type);
	}
	return -1;
}

struct variants {
	enum probe_exit_variant exit;
	bool oom;        /* mark_victim exists */
	bool oom_by_pid; /* mark_victim(int pid) rather than (task, uid) */
};

/* Reads the running kernel's tracepoint signatures. The protos include the
 * leading void *ctx: sched_process_exit is (ctx, p[, group_dead]). */
static int choose_variants(enum probe_exit_variant forced, struct variants *v, char *err,
			   size_t errlen)
{
	const struct btf_type *proto;
	struct btf *btf;
	unsigned nargs;

	btf = btf__load_vmlinux_btf();
	if (!btf) {
		snprintf(err, errlen, "kernel BTF not available (/sys/kernel/btf/vmlinux): %s",
			 strerror(errno));
		return -1;
	}
	proto = tracepoint_proto(btf, "sched_process_exit");
	if (!proto || btf_vlen(proto) < 2) {
		snprintf(err, errlen, "kernel has no usable sched_process_exit tracepoint");
		btf__free(btf);
		return -1;
	}
	nargs = btf_vlen(proto);
	v->exit = nargs >= 3 ? PROBE_EXIT_GROUP_DEAD : PROBE_EXIT_LIVE_COUNT;
	if (forced == PROBE_EXIT_GROUP_DEAD && v->exit != PROBE_EXIT_GROUP_DEAD) {
		snprintf(err, errlen, "sched_process_exit has no group_dead argument here");
		btf__free(btf);
		return -1;
	}
	if (forced != PROBE_EXIT_AUTO)
		v->exit = forced;

	if (!tracepoint_proto(btf, "signal_generate")) {
		snprintf(err, errlen, "kernel has no signal_generate tracepoint");
		btf__free(btf);
		return -1;
	}
	proto = tracepoint_proto(btf, "mark_victim");
	v->oom = proto != NULL && param_kind(btf, proto, 1) >= 0;
	v->oom_by_pid = v->oom && param_kind(btf, proto, 1) == BTF_KIND_INT;
	if (v->oom && !v->oom_by_pid && param_kind(btf, proto, 1) != BTF_KIND_PTR)
		v->oom = false; /* a signature we do not know: no OOM flag */
	btf__free(btf);
	if (!v->oom)
		log_warn("probe: no usable mark_victim tracepoint, OOM kills will not be flagged");
	return 0;
}

/* The kernel's name table, as core/watchlist.c lays it out. */
static int fill_names(struct exitwatch_bpf *skel, const struct probe_config *cfg, char *err,
		      size_t errlen)
{
	static struct watch_kernel_table t; /* start-up only, one thread */

	_Static_assert(sizeof(t.names) == sizeof(skel->rodata->watch_names), "name table");
	_Static_assert(sizeof(t.cmp_len) == sizeof(skel->rodata->watch_cmp_len), "cmp table");
	if (watchlist_kernel_table(cfg ? cfg->extra_names : NULL, cfg ? cfg->n_extra_names : 0,
				   &t, err, errlen) < 0)
		return -1;
	memcpy((void *)skel->rodata->watch_names, t.names, sizeof(t.names));
	memcpy((void *)skel->rodata->watch_cmp_len, t.cmp_len, sizeof(t.cmp_len));
	return 0;
}

static void explain_load_error(int rc, char *err, size_t errlen)
{
	if (rc == -EPERM)
		snprintf(err, errlen, "eBPF load not permitted (needs CAP_BPF and CAP_PERFMON)");
	else if (rc == -EACCES || rc == -EINVAL || rc == -E2BIG)
		snprintf(err, errlen, "eBPF verifier refused the exit probe (%s; see libbpf warnings)",
			 strerror(-rc));
	else
		snprintf(err, errlen, "eBPF load failed: %s", strerror(-rc));
}

static void record_to_fact(const struct exitwatch_record *r, struct fact *f);

static int on_record(void *ctx, void *data, size_t size)
{
	struct probe *p = ctx;
	struct fact f;

	assert(p->cb);
	if (size < sizeof(struct exitwatch_record)) {
		/* a kernel side out of step with this loader: say so once */
		if (p->malformed++ == 0)
			log_warn("probe: dropping short record (%zu bytes, want %zu)", size,
				 sizeof(struct exitwatch_record));
		return 0;
	}
	record_to_fact(data, &f);
	p->events++;
	p->delivered++;
	p->cb(&f, p->cb_ctx);
	return 0;
}

struct probe *probe_open_variant(const struct probe_config *cfg, enum probe_exit_variant variant,
				 char *err, size_t errlen)
{
	struct variants v = { 0 };
	struct probe *p;
	int rc;

	assert(err && errlen > 0);
	err[0] = '\0';
	libbpf_set_print(libbpf_log);
	if (choose_variants(variant, &v, err, errlen))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->exit_variant = v.exit;
	p->skel = exitwatch_bpf__open();
	if (!p->skel) {
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	if (fill_names(p->skel, cfg, err, errlen))
		goto fail;
	p->skel->rodata->oom_keyed_by_pid = v.oom_by_pid;
	/* exactly one program per tracepoint; a signature the kernel lacks
	 * must not be loaded at all (its attach would fail) */
	bpf_program__set_autoload(p->skel->progs.exit_group_dead, v.exit == PROBE_EXIT_GROUP_DEAD);
	bpf_program__set_autoload(p->skel->progs.exit_live_count, v.exit == PROBE_EXIT_LIVE_COUNT);
	bpf_program__set_autoload(p->skel->progs.mark_victim_task, v.oom && !v.oom_by_pid);
	bpf_program__set_autoload(p->skel->progs.mark_victim_pid, v.oom && v.oom_by_pid);
	/* only the live-count variant dedups: spare the preallocated map */
	if (bpf_map__set_autocreate(p->skel->maps.reported, v.exit == PROBE_EXIT_LIVE_COUNT)) {
		snprintf(err, errlen, "cannot configure the BPF maps");
		goto fail;
	}

	rc = exitwatch_bpf__load(p->skel);
	if (rc) {
		explain_load_error(rc, err, errlen);
		goto fail;
	}
	rc = exitwatch_bpf__attach(p->skel);
	if (rc) {
		snprintf(err, errlen, "cannot attach the exit probe: %s", strerror(-rc));
		goto fail;
	}
	p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.records), on_record, p, NULL);
	if (!p->rb) {
		snprintf(err, errlen, "cannot set up the ring buffer: %s", strerror(errno));
		goto fail;
	}
	log_info("probe: exit watch attached (%s exit variant, OOM flag %s)",
		 v.exit == PROBE_EXIT_GROUP_DEAD ? "group_dead" : "live-count",
		 !v.oom ? "unavailable" : v.oom_by_pid ? "by pid" : "by task");
	return p;
fail:
	probe_close(p);
	return NULL;
}

struct probe *probe_open(const struct probe_config *cfg, char *err, size_t errlen)
{
	return probe_open_variant(cfg, PROBE_EXIT_AUTO, err, errlen);
}

void probe_close(struct probe *p)
{
	if (!p)
		return;
	ring_buffer__free(p->rb);
	exitwatch_bpf__destroy(p->skel);
	free(p);
}

enum probe_exit_variant probe_exit_variant(const struct probe *p)
{
	assert(p);
	return p->exit_variant;
}

int probe_fd(const struct probe *p)
{
	assert(p && p->rb);
	return ring_buffer__epoll_fd(p->rb);
}

int probe_allow_tgid(struct probe *p, uint32_t tgid)
{
	struct pollfd pfd = { .events = POLLIN };
	__u8 one = 1;
	int map, rc;

	assert(p && p->skel);
	map = bpf_map__fd(p->skel->maps.allow_tgid);
	if (tgid == 0)
		return -EINVAL;
	if (bpf_map_update_elem(map, &tgid, &one, BPF_ANY))
		return -errno;
	/* A process that died before the entry existed would never remove it,
	 * leaving its tgid watched for a later process: check it is alive
	 * (a pidfd is readable once the thread group has exited). */
	pfd.fd = (int)syscall(SYS_pidfd_open, (pid_t)tgid, 0u);
	if (pfd.fd < 0) {
		rc = -errno; /* ESRCH: gone; EINVAL: a thread id, not a tgid */
		bpf_map_delete_elem(map, &tgid);
		return rc;
	}
	rc = poll(&pfd, 1, 0);
	close(pfd.fd);
	if (rc != 0) {
		rc = rc > 0 ? -ESRCH : -errno;
		bpf_map_delete_elem(map, &tgid);
		return rc;
	}
	return 0;
}

static void copy_comm(char dst[FACT_COMM_LEN], const char src[EXITWATCH_COMM_LEN])
{
	memcpy(dst, src, FACT_COMM_LEN - 1);
	dst[FACT_COMM_LEN - 1] = '\0'; /* never trust the kernel's terminator */
}

static void sig_to_fact(const struct exitwatch_sig *s, struct signal_fact *out)
{
	out->ts_ns = s->ts_ns;
	out->sig = s->sig;
	out->si_code = s->si_code;
	out->sender_tgid = s->sender_tgid;
	copy_comm(out->sender_comm, s->sender_comm);
	copy_comm(out->sender_leader_comm, s->sender_leader_comm);
}

static void record_to_fact(const struct exitwatch_record *r, struct fact *f)
{
	struct proc_exit_fact *e = &f->exit;

	memset(f, 0, sizeof(*f));
	f->kind = FACT_PROC_EXIT;
	e->ts_ns = r->ts_ns;
	e->source = EXIT_SOURCE_EBPF;
	e->tgid = r->tgid;
	copy_comm(e->comm, r->comm);
	e->status_known = true;
	e->wait_status = r->wait_status;
	e->oom_killed = (r->flags & EXITWATCH_F_OOM) != 0;
	e->has_fatal_signal = (r->flags & EXITWATCH_F_FATAL_SIG) != 0;
	if (e->has_fatal_signal)
		sig_to_fact(&r->fatal_sig, &e->fatal_signal);
	e->has_stop_request = (r->flags & EXITWATCH_F_STOP_SIG) != 0;
	if (e->has_stop_request)
		sig_to_fact(&r->stop_sig, &e->stop_request);
}

int probe_consume(struct probe *p, probe_fact_cb cb, void *ctx)
{
	int rc;

	assert(p && cb);
	assert(!p->cb); /* not re-entrant: cb must not call probe_consume */
	p->cb = cb;
	p->cb_ctx = ctx;
	p->delivered = 0;
	rc = ring_buffer__consume(p->rb);
	p->cb = NULL;
	p->cb_ctx = NULL;
	if (rc < 0)
		return rc;
	return p->delivered;
}

void probe_get_stats(const struct probe *p, struct probe_stats *out)
{
	assert(p && out);
	out->events = p->events;
	/* the kernel increments it concurrently through the mmap'ed bss */
	out->ringbuf_drops = __atomic_load_n(&p->skel->bss->rb_drops, __ATOMIC_RELAXED);
}
