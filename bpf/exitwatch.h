/* The record bpf/exitwatch.bpf.c hands to user space when a watched thread
 * group dies, and the sizes of the tables the loader fills in before load.
 * Included by the BPF side (vmlinux.h types) and by user space (linux/types.h:
 * daemon/loop/probe.c, core/watchlist.h), so only fixed-size __u32-style
 * fields, laid out without implicit padding. */
#ifndef MIMAMORI_EXITWATCH_H
#define MIMAMORI_EXITWATCH_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* The one bound of a process name: every comm user space keeps derives
 * from it (core/watchlist.h, core/facts.h). */
#define EXITWATCH_COMM_LEN 16 /* kernel TASK_COMM_LEN: 15 chars + NUL */
/* Name table slots, filled from slot 0 on: core/watchlist.c's built-ins,
 * then [process] watched (at most 16). The first unused slot ends the
 * kernel's search, so the spare ones cost nothing; watchlist.c asserts
 * that the built-ins and 16 configured names fit. */
#define EXITWATCH_MAX_NAMES 24

/* A default-fatal signal generated for the watched process. */
struct exitwatch_sig {
	__u64 ts_ns;       /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__s32 sig;
	__s32 si_code;     /* SI_USER for SEND_SIG_NOINFO, SI_KERNEL for SEND_SIG_PRIV */
	__u32 sender_tgid; /* process of the task that generated it */
	__u32 pad;
	char sender_comm[EXITWATCH_COMM_LEN];        /* sending thread */
	char sender_leader_comm[EXITWATCH_COMM_LEN]; /* its thread-group leader */
};

#define EXITWATCH_F_OOM        0x1u /* the OOM killer chose this process */
#define EXITWATCH_F_FATAL_SIG  0x2u /* fatal_sig is valid */
#define EXITWATCH_F_STOP_SIG   0x4u /* stop_sig is valid */

/* One per death of a watched thread group (emitted at group_dead). */
struct exitwatch_record {
	__u64 ts_ns;
	__u32 tgid;
	__s32 wait_status; /* wait(2) encoding, as wait_task_zombie() computes it */
	__u32 flags;       /* EXITWATCH_F_* */
	__u32 pad;
	char comm[EXITWATCH_COMM_LEN]; /* thread-group leader's comm */
	struct exitwatch_sig fatal_sig; /* last default-fatal signal */
	struct exitwatch_sig stop_sig;  /* first SIGTERM/SIGINT/SIGHUP/SIGQUIT */
};

/* Same layout for clang -target bpf and the host compiler. */
_Static_assert(sizeof(struct exitwatch_sig) == 56, "exitwatch_sig has padding");
_Static_assert(sizeof(struct exitwatch_record) == 152, "exitwatch_record has padding");

#endif
