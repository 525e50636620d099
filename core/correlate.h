/* The correlation core: a pure state machine that turns facts (facts.h)
 * into verdicts. It decides whether a dead qemu is a failed guest or an
 * intentional stop, merges the kernel's early word with libvirt's later
 * one so a failure is notified once, and classifies watched host
 * processes. No I/O, no clock: time arrives inside the facts. */
#ifndef MIMAMORI_CORRELATE_H
#define MIMAMORI_CORRELATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/facts.h"

#define CORRELATE_MAX_GUESTS 1024
#define CORRELATE_MAX_PROCESS_NAMES 16
#define CORRELATE_MAX_MANAGERS 8
#define CORRELATE_MAX_VERDICTS 4 /* most verdicts one fact can produce */
#define VERDICT_EVENT_LEN 32
#define VERDICT_CAUSE_LEN 160

struct correlate_config {
	/* [instance] forward_all_events: also notify what masakari-instance-
	 * monitor forwards but Masakari's engine ignores. */
	bool forward_all_events;
	/* [process] watched host processes, by comm (15 chars max). */
	size_t n_process_names;
	char process_names[CORRELATE_MAX_PROCESS_NAMES][FACT_COMM_LEN];
	/* Processes whose signals to qemu are requests, not failures
	 * (libvirtd, virtqemud), matched on the sender's process comm. */
	size_t n_managers;
	char managers[CORRELATE_MAX_MANAGERS][FACT_COMM_LEN];
};

enum verdict_kind {
	VERDICT_GUEST_FAILED = 1,   /* notify VM LIFECYCLE/STOPPED_FAILED */
	VERDICT_GUEST_IO_ERROR,     /* notify VM IO_ERROR/IO_ERROR_REPORT */
	VERDICT_GUEST_FORWARDED,    /* forward_all_events: notify as-is */
	VERDICT_GUEST_STOPPED,      /* intentional: recorded, not notified */
	VERDICT_GUEST_MERGED,       /* later word on an already-decided failure */
	VERDICT_PROCESS_FAILED,     /* notify PROCESS STOPPED */
	VERDICT_PROCESS_STOPPED,    /* orderly stop: recorded */
	VERDICT_UNMAPPED_EXIT,      /* a watched comm died, belongs to no guest */
	/* The destination's qemu of an incoming live migration died before the
	 * guest ran here: the guest still runs on the source. Recorded and
	 * counted, never notified (Masakari would restart a healthy guest). */
	VERDICT_GUEST_MIGRATION_FAILED,
	VERDICT_INFO,               /* anything else worth recording */
};

enum verdict_source { VERDICT_FROM_KERNEL = 1, VERDICT_FROM_PIDFD, VERDICT_FROM_LIBVIRT };

/* What the shell needs to record an event and, when notify is set, to
 * build and send the Masakari notification. */
struct verdict {
	enum verdict_kind kind;
	enum verdict_source source;
	bool notify;
	/* Masakari notification fields (type VM or PROCESS). */
	bool is_process;
	char event[VERDICT_EVENT_LEN];            /* LIFECYCLE, IO_ERROR, STOPPED */
	char vir_domain_event[VERDICT_EVENT_LEN]; /* STOPPED_FAILED, IO_ERROR_REPORT */
	char instance_uuid[FACT_UUID_LEN];
	char name[FACT_NAME_LEN];                 /* domain or process name */
	uint32_t tgid;
	/* CLOCK_MONOTONIC time of the failure itself (kernel exit or libvirt
	 * event), which becomes the notification's generated_time. */
	uint64_t failure_ts_ns;
	/* Human-readable cause: "SIGKILL from bash[4242] (pid 4242)", "OOM kill",
	 * "exit code 3", "guest panic", "virsh destroy (libvirtd SIGTERM)". */
	char cause[VERDICT_CAUSE_LEN];
	/* libvirt killed this guest's qemu and has not said why (no STOPPED
	 * yet): the shell asks libvirt for the domain's state once its STOPPED
	 * is overdue and feeds the answer back (FACT_LIBVIRT_STATE). A libvirtd
	 * that restarts and cannot reconnect to a qemu kills it without any
	 * event; only the shutoff reason tells. */
	bool check_libvirt_state;
};

struct correlator;

/* Returns NULL only on allocation failure. cfg is copied. */
struct correlator *correlator_new(const struct correlate_config *cfg);
void correlator_free(struct correlator *c);

/* A configuration reload may switch forward_all_events on a running core;
 * it applies to facts fed from now on. */
void correlator_set_forward_all_events(struct correlator *c, bool on);

/* Feed one fact; writes up to CORRELATE_MAX_VERDICTS verdicts into out and
 * returns how many. Deterministic: same facts in, same verdicts out. */
size_t correlator_feed(struct correlator *c, const struct fact *f,
		       struct verdict out[CORRELATE_MAX_VERDICTS]);

/* tgids of qemu processes the core currently maps to guests, for the
 * pidfd fallback; returns how many were written (<= max). */
size_t correlator_guest_tgids(const struct correlator *c, uint32_t *tgids, size_t max);

/* A running guest as the core maps it (for status). */
struct correlate_guest_info {
	char uuid[FACT_UUID_LEN];
	char name[FACT_NAME_LEN];
	uint32_t tgid;
};
/* Guests with a running qemu; returns how many were written (<= max). */
size_t correlator_running_guests(const struct correlator *c, struct correlate_guest_info *out,
				 size_t max);

const char *verdict_kind_name(enum verdict_kind kind);

#endif
