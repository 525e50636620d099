/* Facts: what the daemon's sensors observed, in the form the pure
 * correlation core consumes. The shell (probe loader, pidfd fallback,
 * libvirt watcher) turns kernel records and libvirt callbacks into these;
 * nothing here refers to a socket, a file or a clock. Timestamps are
 * CLOCK_MONOTONIC nanoseconds, the clock the kernel probe stamps with. */
#ifndef MIMAMORI_FACTS_H
#define MIMAMORI_FACTS_H

#include <stdbool.h>
#include <stdint.h>

#include "bpf/exitwatch.h"

#define FACT_COMM_LEN EXITWATCH_COMM_LEN /* kernel TASK_COMM_LEN */
#define FACT_UUID_LEN 37     /* 36 chars + NUL */
#define FACT_NAME_LEN 64     /* libvirt domain name, truncated */
#define FACT_REASON_LEN 64

enum fact_kind {
	FACT_PROC_EXIT = 1,     /* a watched process (thread group) died */
	FACT_GUEST_RUNNING,     /* qemu tgid <-> domain mapping learned */
	FACT_LIBVIRT_LIFECYCLE, /* libvirt VIR_DOMAIN_EVENT_ID_LIFECYCLE */
	FACT_LIBVIRT_IO_ERROR,  /* libvirt VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON */
	FACT_LIBVIRT_CONNECTION,/* libvirt connection up or down */
	FACT_LIBVIRT_STATE,     /* a domain's state, asked of libvirt (virDomainGetState) */
};

/* Where an exit fact came from: the eBPF probe knows the cause, the pidfd
 * fallback only knows that the process is gone. */
enum exit_source { EXIT_SOURCE_EBPF = 1, EXIT_SOURCE_PIDFD };

struct signal_fact {
	uint64_t ts_ns;
	int32_t sig;
	int32_t si_code;
	uint32_t sender_tgid;
	char sender_comm[FACT_COMM_LEN];        /* sending thread, e.g. rpc-libvirtd */
	char sender_leader_comm[FACT_COMM_LEN]; /* its process, e.g. libvirtd */
};

struct proc_exit_fact {
	uint64_t ts_ns;
	enum exit_source source;
	uint32_t tgid;
	char comm[FACT_COMM_LEN];   /* thread-group leader's comm */
	bool status_known;          /* false for the pidfd fallback */
	int32_t wait_status;        /* wait(2) encoding when status_known */
	bool oom_killed;
	/* Last default-fatal signal generated for the process (the one that
	 * killed it, or the SIGTERM qemu turned into exit 0). */
	bool has_fatal_signal;
	struct signal_fact fatal_signal;
	/* First stop request (SIGTERM/SIGINT/SIGHUP/SIGQUIT) seen for the
	 * process: a later SIGKILL from the same sender is an escalation of an
	 * orderly stop, not a crash. */
	bool has_stop_request;
	struct signal_fact stop_request;
};

struct guest_running_fact {
	uint64_t ts_ns;
	uint32_t tgid;
	char uuid[FACT_UUID_LEN];
	char name[FACT_NAME_LEN];
	/* Found, when (re)connecting, as the destination of a live migration
	 * still loading (libvirt's STARTED/MIGRATED came before we listened). */
	bool incoming_migration;
	/* Found by the scan at (re)connection, made after subscribing to
	 * events: every later lifecycle event of this run reaches us. */
	bool scanned;
	/* ... and that scan found the guest panicked (CRASHED, or PAUSED/
	 * CRASHED): its CRASHED event came before we listened. */
	bool crashed;
};

struct libvirt_lifecycle_fact {
	uint64_t ts_ns;
	char uuid[FACT_UUID_LEN];
	char name[FACT_NAME_LEN];
	int32_t event;  /* virDomainEventType */
	int32_t detail; /* virDomainEvent*DetailType for that event */
};

struct libvirt_io_error_fact {
	uint64_t ts_ns;
	char uuid[FACT_UUID_LEN];
	char name[FACT_NAME_LEN];
	int32_t action; /* virDomainEventIOErrorAction */
	char reason[FACT_REASON_LEN];
};

/* What libvirt says of a domain when asked (virDomainGetState): the core
 * asks after libvirt killed a guest's qemu and said nothing of it. */
struct libvirt_state_fact {
	uint64_t ts_ns;
	char uuid[FACT_UUID_LEN];
	char name[FACT_NAME_LEN];
	bool found;     /* false: libvirt has no such domain (any more) */
	int32_t state;  /* virDomainState */
	int32_t reason; /* virDomain<State>Reason of that state */
};

struct libvirt_connection_fact {
	uint64_t ts_ns;
	bool up;
};

struct fact {
	enum fact_kind kind;
	union {
		struct proc_exit_fact exit;
		struct guest_running_fact guest;
		struct libvirt_lifecycle_fact lifecycle;
		struct libvirt_io_error_fact io_error;
		struct libvirt_connection_fact connection;
		struct libvirt_state_fact state;
	};
};

#endif
