// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel side of mimamori's exit watch: one record per death of a watched
 * thread group (qemu, pacemaker remote, configured extras, allowlisted
 * tgids), carrying what killed it. Fatal signals and OOM selection are
 * remembered per tgid in maps and folded into the exit record, so user space
 * receives nothing but exits. All policy (which names: core/watchlist.c's,
 * which variant) is set by daemon/loop/probe.c before load.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "exitwatch.h"

char LICENSE[] SEC("license") = "GPL";

#define SIGNAL_GROUP_EXIT 0x00000004 /* include/linux/sched/signal.h */
#define SI_USER   0
#define SI_KERNEL 0x80
#define SIGHUP  1
#define SIGINT  2
#define SIGQUIT 3
#define SIGTERM 15

/* Signals whose default action kills the process, minus SIGUSR1/SIGUSR2
 * (QEMU kicks vCPU threads with SIGUSR1 at a high rate), SIGPROF,
 * SIGVTALRM, SIGIO, SIGPWR, SIGSTKFLT (frequent where used, and only
 * used with a handler) and real-time signals (glibc and QEMU internals). */
#define FATAL_SIG_MASK                                                       \
	((1ULL << 1) | (1ULL << 2) | (1ULL << 3) | (1ULL << 4) | (1ULL << 5) |  \
	 (1ULL << 6) | (1ULL << 7) | (1ULL << 8) | (1ULL << 9) | (1ULL << 11) | \
	 (1ULL << 13) | (1ULL << 14) | (1ULL << 15) | (1ULL << 24) |           \
	 (1ULL << 25) | (1ULL << 31))

/* Per-tgid state lives at most this long: LRU maps bound stale entries
 * left by processes that stopped matching (renamed) before they died. */
#define TRACK_MAX 4096

/* rodata, filled in by the loader before load, from slot 0 on (frozen:
 * the verifier sees constants). watch_cmp_len[i] is the number of bytes of
 * watch_names[i] to compare with the leader's comm: the prefix length for a
 * prefix, strlen + 1 (the NUL) for an exact name; 0 = unused, and so are
 * all slots after it. */
const volatile char watch_names[EXITWATCH_MAX_NAMES][EXITWATCH_COMM_LEN] = {};
const volatile __u32 watch_cmp_len[EXITWATCH_MAX_NAMES] = {};
/* Set when the kernel's mark_victim passes only a pid (6.1): OOM
 * marks then cannot be filtered or tied to a process start time. */
const volatile __u32 oom_keyed_by_pid = 0;

/* Reserve failures; user space reads it through the skeleton's bss. */
__u64 rb_drops = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} records SEC(".maps");

/* Watched whatever their name (probe_allow_tgid); removed at death. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TRACK_MAX);
	__type(key, __u32);
	__type(value, __u8);
} allow_tgid SEC(".maps");

/* A remembered signal, valid only for the process that started at
 * leader_start (a tgid can be reused after a stale entry was left). */
struct sig_slot {
	__u64 leader_start;
	struct exitwatch_sig s;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TRACK_MAX);
	__type(key, __u32); /* target tgid */
	__type(value, struct sig_slot);
} fatal_sig SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TRACK_MAX);
	__type(key, __u32); /* target tgid */
	__type(value, struct sig_slot);
} stop_sig SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TRACK_MAX);
	__type(key, __u32);   /* victim tgid (pid with oom_keyed_by_pid) */
	__type(value, __u64); /* leader start_time, 0 when unknown */
} oom_mark SEC(".maps");

/* Live-count variant only: tgids already reported, so two threads that
 * both see signal->live == 0 do not report the death twice. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TRACK_MAX);
	__type(key, __u32);   /* tgid */
	__type(value, __u64); /* leader start_time */
} reported SEC(".maps");

static __always_inline bool name_watched(const char *comm)
{
	for (int i = 0; i < EXITWATCH_MAX_NAMES; i++) {
		__u32 len = watch_cmp_len[i];
		int j;

		if (len == 0)
			break; /* the rest is unused: spare slots cost nothing */
		if (len > EXITWATCH_COMM_LEN)
			continue;
		for (j = 0; j < EXITWATCH_COMM_LEN; j++) {
			if ((__u32)j >= len || comm[j] != watch_names[i][j])
				break;
		}
		if ((__u32)j >= len)
			return true;
	}
	return false;
}

/* Whether task's process is watched: by its leader's comm (threads have
 * their own names, e.g. "CPU 0/KVM") or by tgid. */
static __always_inline bool process_watched(struct task_struct *task, __u32 tgid)
{
	char comm[EXITWATCH_COMM_LEN] = {};

	BPF_CORE_READ_STR_INTO(&comm, task, group_leader, comm);
	if (name_watched(comm))
		return true;
	return bpf_map_lookup_elem(&allow_tgid, &tgid) != NULL;
}

static __always_inline void copy_slot(struct exitwatch_sig *dst, struct sig_slot *src,
				      __u64 leader_start, __u32 *flags, __u32 flag)
{
	if (!src || src->leader_start != leader_start)
		return;
	*dst = src->s;
	*flags |= flag;
}

static __always_inline void forget_tgid(__u32 tgid)
{
	bpf_map_delete_elem(&fatal_sig, &tgid);
	bpf_map_delete_elem(&stop_sig, &tgid);
	bpf_map_delete_elem(&oom_mark, &tgid);
	bpf_map_delete_elem(&allow_tgid, &tgid);
}

/* p is the last thread of its group (current, in do_exit). */
static __always_inline int report_death(struct task_struct *p, bool dedup)
{
	struct exitwatch_record *r;
	char comm[EXITWATCH_COMM_LEN] = {};
	__u32 tgid = BPF_CORE_READ(p, tgid);
	__u64 leader_start, *oom;
	unsigned int sflags;
	__u32 flags = 0;

	BPF_CORE_READ_STR_INTO(&comm, p, group_leader, comm);
	if (!name_watched(comm) && !bpf_map_lookup_elem(&allow_tgid, &tgid)) {
		if (oom_keyed_by_pid) /* unfiltered marks: drop them here */
			bpf_map_delete_elem(&oom_mark, &tgid);
		return 0;
	}
	leader_start = BPF_CORE_READ(p, group_leader, start_time);
	if (dedup) {
		__u64 *seen = bpf_map_lookup_elem(&reported, &tgid);

		if (seen && *seen == leader_start)
			return 0;
		/* NOEXIST: of two racing last threads only one inserts */
		if (seen)
			bpf_map_delete_elem(&reported, &tgid);
		if (bpf_map_update_elem(&reported, &tgid, &leader_start, BPF_NOEXIST))
			return 0;
	}

	r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&rb_drops, 1);
		forget_tgid(tgid);
		return 0;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->ts_ns = bpf_ktime_get_ns();
	r->tgid = tgid;
	/* the status a parent's wait() would see (wait_task_zombie()) */
	sflags = BPF_CORE_READ(p, signal, flags);
	if (sflags & SIGNAL_GROUP_EXIT)
		r->wait_status = BPF_CORE_READ(p, signal, group_exit_code);
	else
		r->wait_status = BPF_CORE_READ(p, exit_code);
	__builtin_memcpy(r->comm, comm, sizeof(comm));
	copy_slot(&r->fatal_sig, bpf_map_lookup_elem(&fatal_sig, &tgid), leader_start,
		  &flags, EXITWATCH_F_FATAL_SIG);
	copy_slot(&r->stop_sig, bpf_map_lookup_elem(&stop_sig, &tgid), leader_start,
		  &flags, EXITWATCH_F_STOP_SIG);
	oom = bpf_map_lookup_elem(&oom_mark, &tgid);
	if (oom && (*oom == leader_start || *oom == 0))
		flags |= EXITWATCH_F_OOM;
	r->flags = flags;
	forget_tgid(tgid);
	bpf_ringbuf_submit(r, 0);
	return 0;
}

/* Kernels whose tracepoint passes group_dead (6.18 does, 6.1 does not). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(exit_group_dead, struct task_struct *p, bool group_dead)
{
	if (!group_dead)
		return 0;
	return report_death(p, false);
}

/* Older kernels pass only p; live has already been decremented by then, but
 * two threads exiting together can both read 0, hence the dedup. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(exit_live_count, struct task_struct *p)
{
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	return report_death(p, true);
}

SEC("tp_btf/signal_generate")
int BPF_PROG(signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	struct task_struct *cur;
	struct sig_slot slot = {};
	__u64 id;
	__u32 tgid;

	/* cheap tests first: this fires for every signal on the host */
	if (result != TRACE_SIGNAL_DELIVERED || sig <= 0 || sig >= 64 ||
	    !(FATAL_SIG_MASK & (1ULL << sig)))
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	if (!process_watched(task, tgid))
		return 0;

	id = bpf_get_current_pid_tgid();
	cur = bpf_get_current_task_btf();
	slot.leader_start = BPF_CORE_READ(task, group_leader, start_time);
	slot.s.ts_ns = bpf_ktime_get_ns();
	slot.s.sig = sig;
	/* info may be SEND_SIG_NOINFO (0) or SEND_SIG_PRIV (1), not pointers */
	if ((unsigned long)info == 0)
		slot.s.si_code = SI_USER;
	else if ((unsigned long)info == 1)
		slot.s.si_code = SI_KERNEL;
	else
		slot.s.si_code = BPF_CORE_READ(info, si_code);
	slot.s.sender_tgid = id >> 32;
	bpf_get_current_comm(slot.s.sender_comm, sizeof(slot.s.sender_comm));
	BPF_CORE_READ_STR_INTO(&slot.s.sender_leader_comm, cur, group_leader, comm);

	bpf_map_update_elem(&fatal_sig, &tgid, &slot, BPF_ANY);
	if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT) {
		struct sig_slot *first = bpf_map_lookup_elem(&stop_sig, &tgid);

		/* keep the first request of this process, replace a stale one */
		if (!first || first->leader_start != slot.leader_start)
			bpf_map_update_elem(&stop_sig, &tgid, &slot, BPF_ANY);
	}
	return 0;
}

/* Kernels with mark_victim(task, uid). */
SEC("tp_btf/mark_victim")
int BPF_PROG(mark_victim_task, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u64 leader_start;

	if (!process_watched(task, tgid))
		return 0;
	leader_start = BPF_CORE_READ(task, group_leader, start_time);
	bpf_map_update_elem(&oom_mark, &tgid, &leader_start, BPF_ANY);
	return 0;
}

/* Kernels with mark_victim(int pid): no task to filter on. The victim is
 * normally the leader, so its pid is the tgid; OOM kills are rare, so
 * every mark is kept and dropped again at that tgid's death. */
SEC("tp_btf/mark_victim")
int BPF_PROG(mark_victim_pid, int pid)
{
	__u32 tgid = (__u32)pid;
	__u64 unknown = 0;

	bpf_map_update_elem(&oom_mark, &tgid, &unknown, BPF_ANY);
	return 0;
}
