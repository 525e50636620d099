/* See correlate.h. A pure state machine: no sockets, files, clocks or
 * threads; every timestamp comes from a fact. Same facts in, same verdicts
 * out (eviction order uses a fact counter, not a clock).
 *
 * State
 * -----
 * Per guest (uuid): its name, the tgid of its running qemu (0 when none or
 * unknown) and the incident state of the current incarnation (one qemu
 * run): decided (a terminal verdict was reached), notified (a failure was
 * notified), which I/O error actions were notified, whether the kernel or
 * pidfd saw its qemu exit and whether libvirt said STOPPED for it.
 *
 * libvirt's event stream lags the kernel (~200 ms) and is ordered. When a
 * guest restarts before libvirt reported the old qemu's STOPPED, the old
 * incarnation is kept as "prev" and libvirt's events are attributed to it
 * until its STOPPED (or the new STARTED, or a connection change) arrives.
 * Without this a fast restart would turn the old failure's STOPPED/FAILED
 * into a second notification against a running guest.
 *
 * Guests (FACT_GUEST_RUNNING, FACT_PROC_EXIT of a mapped tgid)
 * ------------------------------------------------------------
 * - RUNNING maps tgid -> guest. Same tgid again: idempotent, no verdict.
 *   A new tgid starts a new incarnation (unless the current one was opened
 *   by libvirt's STARTED and has no qemu yet: then it is adopted).
 * - eBPF exit, status known (the verdict also removes the tgid mapping):
 *   - OOM kill                                   -> GUEST_FAILED "OOM kill"
 *   - killed by a signal whose recorded sender is a manager (cfg.managers,
 *     matched on the sender's process comm, the thread comm only when that
 *     is unknown)                                -> GUEST_STOPPED
 *   - SIGKILL after a manager's stop request (libvirt escalating its own
 *     stop, whoever delivered the KILL)           -> GUEST_STOPPED
 *   - any other death after a manager's stop request (a crash while
 *     libvirt stops the guest: virsh destroy/shutdown) -> GUEST_STOPPED
 *   - after anyone else's stop request (systemd at host shutdown, an
 *     operator's kill): a SIGKILL from that same sender (escalation), a
 *     crash or any exit                           -> GUEST_STOPPED;
 *     a SIGKILL from another or unknown sender, OOM -> GUEST_FAILED
 *   - any other signal                            -> GUEST_FAILED, cause
 *     "SIGKILL from bash[4242]", "SIGSEGV (crash)" (kernel-generated or
 *     self-sent) or "killed by SIGKILL (sender unknown)"
 *   - exit code != 0: manager stop request        -> GUEST_STOPPED
 *                     otherwise                   -> GUEST_FAILED "exit code N"
 *   - exit code 0 (qemu turns SIGTERM into exit 0): manager -> GUEST_STOPPED
 *     "libvirt requested stop (...)"; SIGTERM/INT/HUP from someone else ->
 *     GUEST_STOPPED "terminated by ..." (libvirt reports that as
 *     STOPPED_SHUTDOWN, which Masakari's engine ignores: record only);
 *     no signal -> GUEST_STOPPED "guest powered off / qemu exited 0".
 *   Only GUEST_FAILED notifies. A kernel exit for an incarnation already
 *   decided or notified is GUEST_MERGED.
 * - Incoming live migration: libvirt's STARTED/MIGRATED opens an incarnation
 *   that is the destination of a migration until RESUMED (any detail: the
 *   guest runs here, post-copy included) or SUSPENDED/PAUSED (migrated
 *   paused). Its qemu's death before that, whatever the cause (the stream
 *   broken: qemu exits 1; a kill; the source's abort), is
 *   GUEST_MIGRATION_FAILED: recorded and counted, never notified, since the
 *   guest still runs on the source. The source's side is judged as any
 *   guest: its own crash during a migration is a failure.
 * - pidfd exit (status unknown): VERDICT_INFO, the mapping is removed but
 *   the incarnation stays undecided: libvirt's event decides.
 * - A duplicate report of an exit already seen (pidfd then eBPF, matched by
 *   tgid and comm) applies to that incarnation: eBPF still decides after a
 *   pidfd INFO; anything else is GUEST_MERGED.
 *
 * Host processes (FACT_PROC_EXIT of an unmapped tgid whose comm is in
 * cfg.process_names; pacemaker-remoted only if configured there)
 * ------------------------------------------------------------------
 * Orderly -> PROCESS_STOPPED (recorded): exit 0; death by SIGTERM, SIGINT,
 * SIGHUP or SIGQUIT; any exit or signal after a stop request, except a
 * SIGKILL from someone other than the stop request's sender.
 * Unexpected -> PROCESS_FAILED (notify PROCESS "STOPPED"): OOM; SIGKILL or
 * crash without a prior stop request; SIGKILL from another (or unknown)
 * sender than the stop request's; non-zero exit without a stop request;
 * and a pidfd exit, whose cause is unknown: a missed host process failure
 * costs more than a spurious one, so unknown counts as failed.
 * Any other unmapped exit -> UNMAPPED_EXIT (recorded, not notified).
 *
 * libvirt (FACT_LIBVIRT_LIFECYCLE, FACT_LIBVIRT_IO_ERROR; an unknown uuid
 * creates a guest record)
 * ------------------------------------------------------------------
 * - STARTED (any detail): new incarnation (the tgid mapping is kept), INFO. If RUNNING
 *   already opened this run, libvirt is only catching up: nothing is reset.
 *   STARTED/MIGRATED marks it an incoming migration (above), and so does a
 *   RUNNING fact that says so (the watcher's scan at (re)connection finds a
 *   domain paused for an incoming migration).
 * - STOPPED/FAILED: decided already -> GUEST_MERGED, else GUEST_FAILED
 *   (GUEST_MIGRATION_FAILED during an incoming migration).
 * - CRASHED (any detail): guest panic, GUEST_FAILED unless a failure was
 *   already notified (then MERGED). A kernel GUEST_STOPPED (libvirt killing
 *   the crashed guest, on_crash=destroy) does not count.
 * - STOPPED/CRASHED: libvirt sends it after a panic (always after its
 *   CRASHED/PANICKED, on one ordered stream) and after an operator's crash
 *   dump (`virsh dump --crash`: SUSPENDED/PAUSED and a dump job, no
 *   CRASHED). Without a CRASHED before it, on a run whose events reached us
 *   in full (see events_complete), it is the operator's dump: GUEST_STOPPED
 *   (MERGED when decided). Otherwise (a CRASHED seen, or events possibly
 *   lost across a reconnection) it counts as a panic, as the rule above.
 * - STOPPED/{SHUTDOWN,DESTROYED,SAVED,MIGRATED,FROM_SNAPSHOT}, SHUTDOWN (any):
 *   GUEST_STOPPED, or MERGED when already decided. SHUTDOWN does not
 *   decide: qemu is still alive and its exit still gets its own verdict.
 * - Everything else: INFO.
 * - forward_all_events also forwards (GUEST_FORWARDED, notify, event
 *   LIFECYCLE, vir_domain_event "<EVENT>_<DETAIL>") exactly what
 *   masakari-instance-monitor forwards: STOPPED_SHUTDOWN, STOPPED_DESTROYED,
 *   STOPPED_FAILED, SUSPENDED_IOERROR, SUSPENDED_WATCHDOG,
 *   SUSPENDED_API_ERROR, SHUTDOWN_FINISHED, but never STOPPED_FAILED: that
 *   one is what Masakari's engine recovers, so it goes out only as the
 *   GUEST_FAILED notification of the rules above, and both modes recover
 *   the same guests (a libvirt kill, an escalated stop or a failed incoming
 *   migration followed by STOPPED/FAILED is MERGED in both). Once a failure
 *   is notified in an incarnation nothing more is forwarded for it (MERGED).
 * - I/O error: action REPORT -> GUEST_IO_ERROR (notify IO_ERROR/
 *   IO_ERROR_REPORT); NONE/PAUSE -> INFO, or with forward_all_events
 *   GUEST_FORWARDED IO_ERROR/IO_ERROR_NONE|PAUSE. At most one notification
 *   per action per incarnation (repeats are MERGED), so a forwarded PAUSE
 *   can never swallow the REPORT the engine acts on.
 * - Connection up/down: INFO. Kernel facts keep deciding for mapped tgids
 *   while libvirt is down. Pending "prev" attributions are dropped, since
 *   the events they wait for may have been lost.
 *
 * Payloads: every failure notification is event LIFECYCLE, vir_domain_event
 * STOPPED_FAILED (the only lifecycle event Masakari's engine acts on).
 * Other libvirt-sourced verdicts carry the libvirt event name for the
 * record; other kernel-sourced guest verdicts carry none. failure_ts_ns is
 * the fact's timestamp. Verdicts derived from RUNNING facts (learned from
 * libvirt's API or qemu's command line) have source VERDICT_FROM_LIBVIRT.
 *
 * Bounds: CORRELATE_MAX_GUESTS records. When full, the least recently
 * touched guest that is not running (no tgid, or decided) is evicted. When
 * every record is a running guest, a RUNNING fact is refused (INFO) and
 * libvirt facts are judged against a throwaway record, so a failure is
 * still notified, only without dedup state. */
#include "core/correlate.h"

#include <assert.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <libvirt/libvirt.h>

/* Bits of incarnation.io_notified, one per virDomainEventIOErrorAction. */
#define IO_ACTION_MAX 3

struct incarnation {
	uint32_t qemu_tgid;           /* 0 until RUNNING names it */
	char exit_comm[FACT_COMM_LEN]; /* comm of the first exit report */
	bool qemu_exited;     /* kernel or pidfd saw qemu exit */
	bool decided;         /* terminal verdict reached */
	bool notified;        /* failure notified (GUEST_FAILED) */
	bool libvirt_started; /* libvirt's STARTED seen for it */
	bool libvirt_stopped; /* libvirt's STOPPED seen for it */
	/* libvirt's STARTED/MIGRATED and no RESUMED or SUSPENDED/PAUSED yet:
	 * the destination of a live migration still loading the guest, which
	 * runs on the source until then. */
	bool incoming_migration;
	/* libvirt's lifecycle events of this run reach us in full: it began
	 * with a STARTED on the live connection, or the scan at the latest
	 * (re)connection found it. A lost connection clears it. */
	bool events_complete;
	bool panicked;        /* libvirt's CRASHED (or a scan found it crashed) */
	/* libvirt killed qemu (its signal, per the kernel) and has sent no
	 * STOPPED since: its state, asked later, says whether it lost the
	 * guest (a failed reconnection after libvirtd's restart). */
	bool awaiting_libvirt_word;
	uint8_t io_notified;  /* bit per I/O error action notified */
};

struct guest {
	bool used;
	char uuid[FACT_UUID_LEN];
	char name[FACT_NAME_LEN];
	uint32_t tgid;   /* running qemu; when set, equals cur.qemu_tgid */
	uint64_t touched; /* fact sequence number of last use */
	struct incarnation cur;
	bool has_prev;   /* prev awaits libvirt's STOPPED */
	struct incarnation prev;
};

struct correlator {
	struct correlate_config cfg;
	uint64_t seq;
	struct guest guests[CORRELATE_MAX_GUESTS];
};

/* ---- small string helpers (facts' char arrays may lack a NUL) ---- */

static void copy_str(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	assert(dst && src && dstlen > 0);
	size_t n = strnlen(src, srclen);
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

#define COPY(dst, src) copy_str((dst), sizeof(dst), (src), sizeof(src))

__attribute__((format(printf, 3, 4))) static void fmt(char *buf, size_t len, const char *f, ...)
{
	assert(buf && len > 0);
	va_list ap;
	va_start(ap, f);
	int r = vsnprintf(buf, len, f, ap);
	va_end(ap);
	if (r < 0)
		buf[0] = '\0';
}

static bool comm_eq(const char *a, const char *b)
{
	return a[0] != '\0' && strncmp(a, b, FACT_COMM_LEN) == 0;
}

static const char *const signal_names[] = {
	[SIGHUP] = "SIGHUP",	 [SIGINT] = "SIGINT",	  [SIGQUIT] = "SIGQUIT",
	[SIGILL] = "SIGILL",	 [SIGTRAP] = "SIGTRAP",	  [SIGABRT] = "SIGABRT",
	[SIGBUS] = "SIGBUS",	 [SIGFPE] = "SIGFPE",	  [SIGKILL] = "SIGKILL",
	[SIGUSR1] = "SIGUSR1",	 [SIGSEGV] = "SIGSEGV",	  [SIGUSR2] = "SIGUSR2",
	[SIGPIPE] = "SIGPIPE",	 [SIGALRM] = "SIGALRM",	  [SIGTERM] = "SIGTERM",
	[SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT",
	[SIGSTOP] = "SIGSTOP",	 [SIGTSTP] = "SIGTSTP",	  [SIGTTIN] = "SIGTTIN",
	[SIGTTOU] = "SIGTTOU",	 [SIGURG] = "SIGURG",	  [SIGXCPU] = "SIGXCPU",
	[SIGXFSZ] = "SIGXFSZ",	 [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",
	[SIGWINCH] = "SIGWINCH", [SIGIO] = "SIGIO",	  [SIGPWR] = "SIGPWR",
	[SIGSYS] = "SIGSYS",
};

struct name_buf {
	char s[24];
};

static struct name_buf sig_name(int sig)
{
	struct name_buf b;
	if (sig > 0 && (size_t)sig < sizeof(signal_names) / sizeof(signal_names[0]) &&
	    signal_names[sig])
		fmt(b.s, sizeof(b.s), "%s", signal_names[sig]);
	else
		fmt(b.s, sizeof(b.s), "signal %d", sig);
	return b;
}

/* Signals that ask a process to stop (what service managers send first). */
static bool is_stop_signal(int sig)
{
	return sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT;
}

/* "bash[4242]": the sender's process comm, its thread comm when unknown. */
struct who_buf {
	char s[FACT_COMM_LEN + 16];
};

static struct who_buf sender_name(const struct signal_fact *s)
{
	struct who_buf b;
	const char *comm = s->sender_leader_comm[0] ? s->sender_leader_comm : s->sender_comm;
	int n = (int)strnlen(comm, FACT_COMM_LEN);
	if (n == 0)
		fmt(b.s, sizeof(b.s), "pid %u", s->sender_tgid);
	else
		fmt(b.s, sizeof(b.s), "%.*s[%u]", n, comm, s->sender_tgid);
	return b;
}

static bool in_list(const char (*list)[FACT_COMM_LEN], size_t n, const char *comm)
{
	for (size_t i = 0; i < n; i++)
		if (comm_eq(list[i], comm))
			return true;
	return false;
}

/* Matched on the process comm ("libvirtd"), not the sending thread's
 * ("rpc-libvirtd"); the thread comm is the fallback when the probe could
 * not read the leader's. */
static bool is_manager(const struct correlator *c, const struct signal_fact *s)
{
	const char *comm = s->sender_leader_comm[0] ? s->sender_leader_comm : s->sender_comm;
	return in_list(c->cfg.managers, c->cfg.n_managers, comm);
}

/* The record of the signal that killed the process, if the probe saw it. */
static const struct signal_fact *killing_record(const struct proc_exit_fact *e, int sig)
{
	if (e->has_fatal_signal && e->fatal_signal.sig == sig)
		return &e->fatal_signal;
	if (e->has_stop_request && e->stop_request.sig == sig)
		return &e->stop_request;
	return NULL;
}

/* Kernel-generated (si_code > 0, SI_KERNEL included) or sent by the
 * process to itself (abort()): a crash, not somebody's kill. */
static bool self_inflicted(const struct signal_fact *s, uint32_t tgid)
{
	return s->si_code > 0 || s->sender_tgid == tgid;
}

/* "SIGKILL from bash[4242]", "SIGSEGV (crash)", "killed by SIGKILL
 * (sender unknown)". */
static void describe_signal(char *buf, size_t len, const struct proc_exit_fact *e, int sig)
{
	const struct signal_fact *rec = killing_record(e, sig);
	if (!rec)
		fmt(buf, len, "killed by %s (sender unknown)", sig_name(sig).s);
	else if (self_inflicted(rec, e->tgid))
		fmt(buf, len, "%s (crash)", sig_name(sig).s);
	else
		fmt(buf, len, "%s from %s", sig_name(sig).s, sender_name(rec).s);
}

static bool status_unknown(const struct proc_exit_fact *e)
{
	return !e->status_known || e->source == EXIT_SOURCE_PIDFD;
}

/* Cause of an exit with no judgement attached, for unmapped exits. */
static void describe_exit(char *buf, size_t len, const struct proc_exit_fact *e)
{
	int ws = e->wait_status;
	if (status_unknown(e))
		fmt(buf, len, "cause unknown (pidfd fallback)");
	else if (e->oom_killed)
		fmt(buf, len, "OOM kill");
	else if (WIFSIGNALED(ws))
		describe_signal(buf, len, e, WTERMSIG(ws));
	else if (WIFEXITED(ws))
		fmt(buf, len, "exit code %d", WEXITSTATUS(ws));
	else
		fmt(buf, len, "wait status 0x%x", (unsigned)ws);
}

/* ---- libvirt event names ("STOPPED", "FAILED") ---- */

static const char *const event_names[] = {
	[VIR_DOMAIN_EVENT_DEFINED] = "DEFINED",	    [VIR_DOMAIN_EVENT_UNDEFINED] = "UNDEFINED",
	[VIR_DOMAIN_EVENT_STARTED] = "STARTED",	    [VIR_DOMAIN_EVENT_SUSPENDED] = "SUSPENDED",
	[VIR_DOMAIN_EVENT_RESUMED] = "RESUMED",	    [VIR_DOMAIN_EVENT_STOPPED] = "STOPPED",
	[VIR_DOMAIN_EVENT_SHUTDOWN] = "SHUTDOWN",   [VIR_DOMAIN_EVENT_PMSUSPENDED] = "PMSUSPENDED",
	[VIR_DOMAIN_EVENT_CRASHED] = "CRASHED",
};

static const char *const defined_details[] = {
	[VIR_DOMAIN_EVENT_DEFINED_ADDED] = "ADDED",
	[VIR_DOMAIN_EVENT_DEFINED_UPDATED] = "UPDATED",
	[VIR_DOMAIN_EVENT_DEFINED_RENAMED] = "RENAMED",
	[VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
};
static const char *const undefined_details[] = {
	[VIR_DOMAIN_EVENT_UNDEFINED_REMOVED] = "REMOVED",
	[VIR_DOMAIN_EVENT_UNDEFINED_RENAMED] = "RENAMED",
};
static const char *const started_details[] = {
	[VIR_DOMAIN_EVENT_STARTED_BOOTED] = "BOOTED",
	[VIR_DOMAIN_EVENT_STARTED_MIGRATED] = "MIGRATED",
	[VIR_DOMAIN_EVENT_STARTED_RESTORED] = "RESTORED",
	[VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
	[VIR_DOMAIN_EVENT_STARTED_WAKEUP] = "WAKEUP",
};
static const char *const suspended_details[] = {
	[VIR_DOMAIN_EVENT_SUSPENDED_PAUSED] = "PAUSED",
	[VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED] = "MIGRATED",
	[VIR_DOMAIN_EVENT_SUSPENDED_IOERROR] = "IOERROR",
	[VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG] = "WATCHDOG",
	[VIR_DOMAIN_EVENT_SUSPENDED_RESTORED] = "RESTORED",
	[VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
	[VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR] = "API_ERROR",
	[VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY] = "POSTCOPY",
	[VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED] = "POSTCOPY_FAILED",
};
static const char *const resumed_details[] = {
	[VIR_DOMAIN_EVENT_RESUMED_UNPAUSED] = "UNPAUSED",
	[VIR_DOMAIN_EVENT_RESUMED_MIGRATED] = "MIGRATED",
	[VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
	[VIR_DOMAIN_EVENT_RESUMED_POSTCOPY] = "POSTCOPY",
	[VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED] = "POSTCOPY_FAILED",
};
static const char *const stopped_details[] = {
	[VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN] = "SHUTDOWN",
	[VIR_DOMAIN_EVENT_STOPPED_DESTROYED] = "DESTROYED",
	[VIR_DOMAIN_EVENT_STOPPED_CRASHED] = "CRASHED",
	[VIR_DOMAIN_EVENT_STOPPED_MIGRATED] = "MIGRATED",
	[VIR_DOMAIN_EVENT_STOPPED_SAVED] = "SAVED",
	[VIR_DOMAIN_EVENT_STOPPED_FAILED] = "FAILED",
	[VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
};
static const char *const shutdown_details[] = {
	[VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED] = "FINISHED",
	[VIR_DOMAIN_EVENT_SHUTDOWN_GUEST] = "GUEST",
	[VIR_DOMAIN_EVENT_SHUTDOWN_HOST] = "HOST",
};
static const char *const pmsuspended_details[] = {
	[VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY] = "MEMORY",
	[VIR_DOMAIN_EVENT_PMSUSPENDED_DISK] = "DISK",
};
static const char *const crashed_details[] = {
	[VIR_DOMAIN_EVENT_CRASHED_PANICKED] = "PANICKED",
	[VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED] = "CRASHLOADED",
};

#define TABLE(t) { t, sizeof(t) / sizeof(t[0]) }
static const struct {
	const char *const *names;
	size_t n;
} detail_tables[] = {
	[VIR_DOMAIN_EVENT_DEFINED] = TABLE(defined_details),
	[VIR_DOMAIN_EVENT_UNDEFINED] = TABLE(undefined_details),
	[VIR_DOMAIN_EVENT_STARTED] = TABLE(started_details),
	[VIR_DOMAIN_EVENT_SUSPENDED] = TABLE(suspended_details),
	[VIR_DOMAIN_EVENT_RESUMED] = TABLE(resumed_details),
	[VIR_DOMAIN_EVENT_STOPPED] = TABLE(stopped_details),
	[VIR_DOMAIN_EVENT_SHUTDOWN] = TABLE(shutdown_details),
	[VIR_DOMAIN_EVENT_PMSUSPENDED] = TABLE(pmsuspended_details),
	[VIR_DOMAIN_EVENT_CRASHED] = TABLE(crashed_details),
};
#undef TABLE

/* Numbers stand in for names a newer libvirt may add. */
static struct name_buf event_name(int32_t event)
{
	struct name_buf b;
	if (event >= 0 && (size_t)event < sizeof(event_names) / sizeof(event_names[0]) &&
	    event_names[event])
		fmt(b.s, sizeof(b.s), "%s", event_names[event]);
	else
		fmt(b.s, sizeof(b.s), "EVENT%d", (int)event);
	return b;
}

static struct name_buf detail_name(int32_t event, int32_t detail)
{
	struct name_buf b;
	if (event >= 0 && (size_t)event < sizeof(detail_tables) / sizeof(detail_tables[0]) &&
	    detail >= 0 && (size_t)detail < detail_tables[event].n &&
	    detail_tables[event].names[detail])
		fmt(b.s, sizeof(b.s), "%s", detail_tables[event].names[detail]);
	else
		fmt(b.s, sizeof(b.s), "%d", (int)detail);
	return b;
}

static const char *io_action_name(int32_t action)
{
	switch (action) {
	case VIR_DOMAIN_EVENT_IO_ERROR_NONE:
		return "NONE";
	case VIR_DOMAIN_EVENT_IO_ERROR_PAUSE:
		return "PAUSE";
	case VIR_DOMAIN_EVENT_IO_ERROR_REPORT:
		return "REPORT";
	default:
		return NULL;
	}
}

/* ---- verdict construction ---- */

struct out {
	struct verdict *v;
	size_t n;
};

static struct verdict *emit(struct out *o, enum verdict_kind kind, enum verdict_source source,
			    uint64_t ts)
{
	assert(o->n < CORRELATE_MAX_VERDICTS);
	struct verdict *v = &o->v[o->n++];
	memset(v, 0, sizeof(*v));
	v->kind = kind;
	v->source = source;
	v->failure_ts_ns = ts;
	return v;
}

static void set_guest(struct verdict *v, const struct guest *g, uint32_t tgid)
{
	COPY(v->instance_uuid, g->uuid);
	COPY(v->name, g->name);
	v->tgid = tgid;
}

/* The one payload Masakari's engine acts on for a dead guest. */
static void set_failed_payload(struct verdict *v)
{
	v->notify = true;
	fmt(v->event, sizeof(v->event), "LIFECYCLE");
	fmt(v->vir_domain_event, sizeof(v->vir_domain_event), "STOPPED_FAILED");
}

/* ---- guest table ---- */

static void touch(struct correlator *c, struct guest *g)
{
	g->touched = c->seq;
}

static struct guest *find_uuid(struct correlator *c, const char *uuid)
{
	for (size_t i = 0; i < CORRELATE_MAX_GUESTS; i++) {
		struct guest *g = &c->guests[i];
		if (g->used && strncmp(g->uuid, uuid, FACT_UUID_LEN) == 0)
			return g;
	}
	return NULL;
}

/* Not running as far as we know: safe to forget. */
static bool evictable(const struct guest *g)
{
	return g->tgid == 0 || g->cur.decided;
}

static void guest_init(struct guest *g, const char *uuid, const char *name)
{
	memset(g, 0, sizeof(*g));
	g->used = true;
	copy_str(g->uuid, sizeof(g->uuid), uuid, FACT_UUID_LEN);
	copy_str(g->name, sizeof(g->name), name, FACT_NAME_LEN);
}

/* Finds or creates the record; NULL when the table is full of running
 * guests. */
static struct guest *get_guest(struct correlator *c, const char *uuid, const char *name)
{
	struct guest *g = find_uuid(c, uuid);
	if (g) {
		if (name[0])
			copy_str(g->name, sizeof(g->name), name, FACT_NAME_LEN);
		touch(c, g);
		return g;
	}
	struct guest *free_slot = NULL, *victim = NULL;
	for (size_t i = 0; i < CORRELATE_MAX_GUESTS && !free_slot; i++) {
		struct guest *s = &c->guests[i];
		if (!s->used)
			free_slot = s;
		else if (evictable(s) && (!victim || s->touched < victim->touched))
			victim = s;
	}
	g = free_slot ? free_slot : victim;
	if (!g)
		return NULL;
	guest_init(g, uuid, name);
	touch(c, g);
	return g;
}

static void fresh_incarnation(struct incarnation *inc, uint32_t tgid)
{
	memset(inc, 0, sizeof(*inc));
	inc->qemu_tgid = tgid;
}

/* libvirt's events describe prev until it has reported prev's STOPPED. */
static struct incarnation *libvirt_target(struct guest *g)
{
	return g->has_prev ? &g->prev : &g->cur;
}

/* ---- FACT_GUEST_RUNNING ---- */

/* The scan at (re)connection runs after the event subscription: from it on,
 * every lifecycle event of the run reaches us, and a panic before it shows
 * in the state it read. */
static void note_scan(struct incarnation *inc, const struct guest_running_fact *r)
{
	if (!r->scanned)
		return;
	inc->events_complete = true;
	if (r->crashed)
		inc->panicked = true;
}

static void on_running(struct correlator *c, const struct fact *f, struct out *o)
{
	const struct guest_running_fact *r = &f->guest;
	struct verdict *v;

	if (r->tgid == 0 || r->uuid[0] == '\0') {
		v = emit(o, VERDICT_INFO, VERDICT_FROM_LIBVIRT, r->ts_ns);
		v->tgid = r->tgid;
		COPY(v->instance_uuid, r->uuid);
		fmt(v->cause, sizeof(v->cause), "ignored qemu mapping without tgid or uuid");
		return;
	}
	struct guest *g = get_guest(c, r->uuid, r->name);
	if (!g) {
		v = emit(o, VERDICT_INFO, VERDICT_FROM_LIBVIRT, r->ts_ns);
		v->tgid = r->tgid;
		COPY(v->instance_uuid, r->uuid);
		COPY(v->name, r->name);
		fmt(v->cause, sizeof(v->cause),
		    "guest table full (%d running guests): qemu not tracked", CORRELATE_MAX_GUESTS);
		return;
	}
	if (g->tgid == r->tgid) {
		/* rescans repeat what we know, and may vouch for the events */
		note_scan(&g->cur, r);
		return;
	}
	if (g->cur.qemu_exited && g->cur.qemu_tgid == r->tgid) {
		/* A scan raced with the exit we already judged. */
		v = emit(o, VERDICT_INFO, VERDICT_FROM_LIBVIRT, r->ts_ns);
		set_guest(v, g, r->tgid);
		fmt(v->cause, sizeof(v->cause), "stale qemu mapping ignored: tgid %u already exited",
		    r->tgid);
		return;
	}
	/* A tgid names one live process: a reused pid leaves its old guest. */
	for (size_t i = 0; i < CORRELATE_MAX_GUESTS; i++) {
		struct guest *other = &c->guests[i];
		if (other != g && other->used && other->tgid == r->tgid)
			other->tgid = 0;
	}
	struct incarnation *cur = &g->cur;
	bool opened_by_libvirt = cur->qemu_tgid == 0 && !cur->decided && !cur->notified &&
				 !cur->qemu_exited;
	bool incoming = r->incoming_migration;
	if (opened_by_libvirt) {
		cur->qemu_tgid = r->tgid;
	} else {
		/* Keep the old run while libvirt still owes its STOPPED. */
		g->has_prev = (cur->qemu_exited || cur->decided) && !cur->libvirt_stopped;
		if (g->has_prev)
			g->prev = *cur;
		fresh_incarnation(cur, r->tgid);
	}
	if (incoming)
		cur->incoming_migration = true;
	note_scan(cur, r);
	g->tgid = r->tgid;
}

/* ---- FACT_PROC_EXIT ---- */

/* Judges a dead qemu from the kernel's record. */
static enum verdict_kind classify_guest_exit(const struct correlator *c,
					     const struct proc_exit_fact *e, char *cause,
					     size_t len, bool *by_libvirt)
{
	int ws = e->wait_status;
	const struct signal_fact *stop = e->has_stop_request ? &e->stop_request : NULL;
	bool stop_by_mgr = stop && is_manager(c, stop);

	if (e->oom_killed) {
		fmt(cause, len, "OOM kill");
		return VERDICT_GUEST_FAILED;
	}
	if (WIFSIGNALED(ws)) {
		int sig = WTERMSIG(ws);
		const struct signal_fact *rec = killing_record(e, sig);
		char what[VERDICT_CAUSE_LEN];
		*by_libvirt = stop_by_mgr || (rec && is_manager(c, rec));
		if (rec && is_manager(c, rec)) {
			fmt(cause, len, "virsh destroy / libvirt stop (%s from %s)", sig_name(sig).s,
			    sender_name(rec).s);
			return VERDICT_GUEST_STOPPED;
		}
		if (sig == SIGKILL && stop_by_mgr) {
			/* libvirt escalates its own SIGTERM; whoever delivered
			 * the KILL, libvirt was already stopping the guest. */
			fmt(cause, len, "libvirt stop escalated to SIGKILL (after %s from %s)",
			    sig_name(stop->sig).s, sender_name(stop).s);
			return VERDICT_GUEST_STOPPED;
		}
		describe_signal(what, sizeof(what), e, sig);
		if (stop_by_mgr) {
			/* A crash while libvirt stops the guest (virsh destroy,
			 * shutdown, a completed migration's source) ends a stop
			 * someone asked for: nothing to recover. */
			fmt(cause, len, "%s while libvirt stopped the guest (%s from %s)", what,
			    sig_name(stop->sig).s, sender_name(stop).s);
			return VERDICT_GUEST_STOPPED;
		}
		if (stop && sig == SIGKILL) {
			/* A service manager (systemd at host shutdown) escalating
			 * its own stop sends both; a SIGKILL from anyone else is
			 * a kill of its own. */
			if (rec && rec->sender_tgid == stop->sender_tgid) {
				fmt(cause, len, "stop escalated to SIGKILL by %s", sender_name(rec).s);
				return VERDICT_GUEST_STOPPED;
			}
			fmt(cause, len, "%s during stop (%s from %s)", what, sig_name(stop->sig).s,
			    sender_name(stop).s);
			return VERDICT_GUEST_FAILED;
		}
		if (stop) {
			fmt(cause, len, "%s during stop (%s from %s)", what, sig_name(stop->sig).s,
			    sender_name(stop).s);
			return VERDICT_GUEST_STOPPED;
		}
		copy_str(cause, len, what, sizeof(what));
		return VERDICT_GUEST_FAILED;
	}
	if (!WIFEXITED(ws)) {
		/* Not a death wait(2) can report: never swallow it. */
		fmt(cause, len, "wait status 0x%x", (unsigned)ws);
		return VERDICT_GUEST_FAILED;
	}
	int code = WEXITSTATUS(ws);
	const struct signal_fact *mgr = stop_by_mgr ? stop
				       : (e->has_fatal_signal && is_manager(c, &e->fatal_signal))
					       ? &e->fatal_signal
					       : NULL;
	if (mgr) {
		*by_libvirt = true;
		if (code == 0)
			fmt(cause, len, "libvirt requested stop (%s from %s)", sig_name(mgr->sig).s,
			    sender_name(mgr).s);
		else
			fmt(cause, len, "libvirt requested stop (%s from %s), exit code %d",
			    sig_name(mgr->sig).s, sender_name(mgr).s, code);
		return VERDICT_GUEST_STOPPED;
	}
	if (code != 0 && stop) {
		fmt(cause, len, "exit code %d during stop (%s from %s)", code, sig_name(stop->sig).s,
		    sender_name(stop).s);
		return VERDICT_GUEST_STOPPED;
	}
	if (code != 0) {
		fmt(cause, len, "exit code %d", code);
		return VERDICT_GUEST_FAILED;
	}
	const struct signal_fact *term = stop ? stop
					 : (e->has_fatal_signal && is_stop_signal(e->fatal_signal.sig))
						 ? &e->fatal_signal
						 : NULL;
	if (term) {
		/* qemu shut down on someone's SIGTERM: libvirt reports that as
		 * STOPPED_SHUTDOWN, which Masakari's engine ignores; record it,
		 * do not notify. */
		fmt(cause, len, "terminated by %s from %s", sig_name(term->sig).s,
		    sender_name(term).s);
		return VERDICT_GUEST_STOPPED;
	}
	fmt(cause, len, "guest powered off / qemu exited 0");
	return VERDICT_GUEST_STOPPED;
}

static void guest_exit(struct correlator *c, struct guest *g, struct incarnation *inc,
		       const struct proc_exit_fact *e, struct out *o)
{
	bool pidfd = e->source == EXIT_SOURCE_PIDFD;
	struct verdict *v = emit(o, VERDICT_INFO, pidfd ? VERDICT_FROM_PIDFD : VERDICT_FROM_KERNEL,
				 e->ts_ns);
	set_guest(v, g, e->tgid);

	if (!inc->qemu_exited) {
		inc->qemu_exited = true;
		COPY(inc->exit_comm, e->comm);
	}
	if (g->tgid == e->tgid) {
		assert(inc == &g->cur);
		g->tgid = 0; /* qemu is gone: the pid may be reused */
	}
	touch(c, g);

	if (status_unknown(e)) {
		if (inc->decided) {
			v->kind = VERDICT_GUEST_MERGED;
			fmt(v->cause, sizeof(v->cause),
			    "qemu exited (cause unknown: pidfd fallback); already decided");
		} else {
			fmt(v->cause, sizeof(v->cause),
			    "qemu exited (cause unknown: pidfd fallback), waiting for libvirt");
		}
		return;
	}
	char cause[VERDICT_CAUSE_LEN];
	bool by_libvirt = false;
	enum verdict_kind kind = classify_guest_exit(c, e, cause, sizeof(cause), &by_libvirt);
	if (inc->decided || inc->notified) {
		v->kind = VERDICT_GUEST_MERGED;
		fmt(v->cause, sizeof(v->cause), "%s; already decided", cause);
		return;
	}
	v->kind = kind;
	COPY(v->cause, cause);
	inc->decided = true;
	if (inc->incoming_migration) {
		/* Whatever ended it, the guest never ran here. */
		v->kind = VERDICT_GUEST_MIGRATION_FAILED;
		fmt(v->cause, sizeof(v->cause),
		    "incoming migration failed: %s (the guest runs on the source)", cause);
		return;
	}
	if (kind == VERDICT_GUEST_FAILED) {
		set_failed_payload(v);
		inc->notified = true;
	} else if (by_libvirt && !inc->libvirt_stopped) {
		/* Every stop libvirt makes of a running guest ends in a STOPPED
		 * event, save one: a libvirtd that restarted and cannot
		 * reconnect to qemu kills it silently. */
		inc->awaiting_libvirt_word = true;
		v->check_libvirt_state = true;
	}
}

static void process_exit(const struct correlator *c, size_t idx, const struct proc_exit_fact *e,
			 struct out *o)
{
	assert(idx < c->cfg.n_process_names);
	bool pidfd = e->source == EXIT_SOURCE_PIDFD;
	struct verdict *v = emit(o, VERDICT_PROCESS_FAILED,
				 pidfd ? VERDICT_FROM_PIDFD : VERDICT_FROM_KERNEL, e->ts_ns);
	v->is_process = true;
	fmt(v->event, sizeof(v->event), "STOPPED");
	COPY(v->name, c->cfg.process_names[idx]);
	v->tgid = e->tgid;

	int ws = e->wait_status;
	const struct signal_fact *stop = e->has_stop_request ? &e->stop_request : NULL;
	bool orderly = false;
	char what[VERDICT_CAUSE_LEN];

	if (status_unknown(e)) {
		/* Unknown counts as failed: a missed host process failure costs
		 * more than a spurious notification. */
		fmt(v->cause, sizeof(v->cause), "exited, cause unknown (pidfd fallback)");
	} else if (e->oom_killed) {
		fmt(v->cause, sizeof(v->cause), "OOM kill");
	} else if (WIFSIGNALED(ws)) {
		int sig = WTERMSIG(ws);
		const struct signal_fact *rec = killing_record(e, sig);
		describe_signal(what, sizeof(what), e, sig);
		if (is_stop_signal(sig)) {
			orderly = true;
			if (rec)
				fmt(v->cause, sizeof(v->cause), "terminated by %s from %s",
				    sig_name(sig).s, sender_name(rec).s);
			else
				fmt(v->cause, sizeof(v->cause), "terminated by %s (sender unknown)",
				    sig_name(sig).s);
		} else if (stop && sig == SIGKILL) {
			/* A service manager escalating its own stop sends both. */
			orderly = rec && rec->sender_tgid == stop->sender_tgid;
			if (orderly)
				fmt(v->cause, sizeof(v->cause), "stop escalated to SIGKILL by %s",
				    sender_name(rec).s);
			else
				fmt(v->cause, sizeof(v->cause), "%s during stop (%s from %s)", what,
				    sig_name(stop->sig).s, sender_name(stop).s);
		} else if (stop) {
			orderly = true;
			fmt(v->cause, sizeof(v->cause), "%s during stop (%s from %s)", what,
			    sig_name(stop->sig).s, sender_name(stop).s);
		} else {
			COPY(v->cause, what);
		}
	} else if (WIFEXITED(ws)) {
		int code = WEXITSTATUS(ws);
		orderly = code == 0 || stop != NULL;
		if (stop)
			fmt(v->cause, sizeof(v->cause), "exit code %d after stop request (%s from %s)",
			    code, sig_name(stop->sig).s, sender_name(stop).s);
		else
			fmt(v->cause, sizeof(v->cause), "exit code %d", code);
	} else {
		fmt(v->cause, sizeof(v->cause), "wait status 0x%x", (unsigned)ws);
	}
	if (orderly)
		v->kind = VERDICT_PROCESS_STOPPED;
	else
		v->notify = true;
}

static bool find_process(const struct correlator *c, const char *comm, size_t *idx)
{
	for (size_t i = 0; i < c->cfg.n_process_names; i++) {
		if (comm_eq(c->cfg.process_names[i], comm)) {
			*idx = i;
			return true;
		}
	}
	return false;
}

static void on_exit_fact(struct correlator *c, const struct fact *f, struct out *o)
{
	const struct proc_exit_fact *e = &f->exit;
	char comm[FACT_COMM_LEN];
	size_t pidx = 0;
	COPY(comm, e->comm);
	bool watched = find_process(c, comm, &pidx);

	if (e->tgid != 0) {
		/* 1. The running qemu of a guest. A decided guest whose pid now
		 * names a watched process lost it to pid reuse. */
		for (size_t i = 0; i < CORRELATE_MAX_GUESTS; i++) {
			struct guest *g = &c->guests[i];
			if (!g->used || g->tgid != e->tgid)
				continue;
			assert(g->cur.qemu_tgid == g->tgid);
			if (g->cur.decided && watched) {
				g->tgid = 0;
				break;
			}
			guest_exit(c, g, &g->cur, e, o);
			return;
		}
		/* 2. A second report of a qemu exit already seen (pidfd and
		 * eBPF both watching). */
		for (size_t i = 0; i < CORRELATE_MAX_GUESTS && !watched; i++) {
			struct guest *g = &c->guests[i];
			if (!g->used)
				continue;
			struct incarnation *incs[2] = { &g->cur, g->has_prev ? &g->prev : NULL };
			for (size_t k = 0; k < 2; k++) {
				struct incarnation *inc = incs[k];
				if (inc && inc->qemu_exited && inc->qemu_tgid == e->tgid &&
				    comm_eq(inc->exit_comm, comm)) {
					guest_exit(c, g, inc, e, o);
					return;
				}
			}
		}
	}
	if (watched) {
		process_exit(c, pidx, e, o);
		return;
	}
	struct verdict *v = emit(o, VERDICT_UNMAPPED_EXIT,
				 e->source == EXIT_SOURCE_PIDFD ? VERDICT_FROM_PIDFD
								: VERDICT_FROM_KERNEL,
				 e->ts_ns);
	v->tgid = e->tgid;
	COPY(v->name, comm);
	char what[VERDICT_CAUSE_LEN];
	describe_exit(what, sizeof(what), e);
	fmt(v->cause, sizeof(v->cause), "%s[%u] exited, no guest mapped: %s", comm, e->tgid, what);
}

/* ---- FACT_LIBVIRT_LIFECYCLE ---- */

/* What masakari-instance-monitor forwards (its eventfilter_table). */
static bool instance_monitor_forwards(int32_t event, int32_t detail)
{
	switch (event) {
	case VIR_DOMAIN_EVENT_SUSPENDED:
		return detail == VIR_DOMAIN_EVENT_SUSPENDED_IOERROR ||
		       detail == VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG ||
		       detail == VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR;
	case VIR_DOMAIN_EVENT_STOPPED:
		return detail == VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN ||
		       detail == VIR_DOMAIN_EVENT_STOPPED_DESTROYED ||
		       detail == VIR_DOMAIN_EVENT_STOPPED_FAILED;
	case VIR_DOMAIN_EVENT_SHUTDOWN:
		return detail == VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED;
	default:
		return false;
	}
}

static void judge_lifecycle(const struct correlator *c, struct guest *g, struct incarnation *inc,
			    const struct libvirt_lifecycle_fact *l, struct verdict *v)
{
	struct name_buf evb = event_name(l->event), detb = detail_name(l->event, l->detail);
	const char *ev = evb.s, *det = detb.s;
	bool stopped = l->event == VIR_DOMAIN_EVENT_STOPPED;
	bool failed = stopped && l->detail == VIR_DOMAIN_EVENT_STOPPED_FAILED;
	/* STOPPED_FAILED is what Masakari's engine recovers: judged, never
	 * forwarded, so forward_all_events adds only what the engine ignores
	 * and both modes recover the same guests. */
	bool forward = c->cfg.forward_all_events && !failed &&
		       instance_monitor_forwards(l->event, l->detail);
	/* The guest runs here from the destination's RESUMED (MIGRATED, or
	 * POSTCOPY once post-copy starts) or, migrated paused, SUSPENDED/PAUSED. */
	bool incoming_done = inc->incoming_migration &&
			     (l->event == VIR_DOMAIN_EVENT_RESUMED ||
			      (l->event == VIR_DOMAIN_EVENT_SUSPENDED &&
			       l->detail == VIR_DOMAIN_EVENT_SUSPENDED_PAUSED));
	bool crashed_event = l->event == VIR_DOMAIN_EVENT_CRASHED;
	bool stopped_crashed = stopped && l->detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED;
	/* libvirt reports a panic as CRASHED/PANICKED before its STOPPED/
	 * CRASHED; an operator's `virsh dump --crash` has no CRASHED. */
	bool dump_crash = stopped_crashed && !inc->panicked && inc->events_complete;
	bool panic = crashed_event || (stopped_crashed && !dump_crash);
	bool merged = false;

	set_guest(v, g, inc->qemu_tgid);
	fmt(v->event, sizeof(v->event), "LIFECYCLE");
	fmt(v->vir_domain_event, sizeof(v->vir_domain_event), "%s_%s", ev, det);

	if (crashed_event)
		inc->panicked = true;
	if (panic) {
		/* A kernel GUEST_STOPPED before this is libvirt destroying the
		 * crashed guest (on_crash=destroy): the panic still counts. */
		merged = inc->notified;
		if (!merged) {
			v->kind = VERDICT_GUEST_FAILED;
			fmt(v->cause, sizeof(v->cause), "guest panic (libvirt %s/%s)", ev, det);
		}
	} else if (dump_crash) {
		merged = inc->decided;
		if (!merged) {
			v->kind = VERDICT_GUEST_STOPPED;
			fmt(v->cause, sizeof(v->cause),
			    "libvirt %s/%s without a CRASHED before it: an operator's crash dump "
			    "(virsh dump --crash)",
			    ev, det);
		}
	} else if (failed && !inc->decided && inc->incoming_migration) {
		v->kind = VERDICT_GUEST_MIGRATION_FAILED;
		fmt(v->cause, sizeof(v->cause),
		    "incoming migration failed: libvirt %s/%s (the guest runs on the source)", ev,
		    det);
	} else if (failed && !inc->decided) {
		v->kind = VERDICT_GUEST_FAILED;
		fmt(v->cause, sizeof(v->cause), "qemu failed (libvirt %s/%s)", ev, det);
	} else if (incoming_done) {
		inc->incoming_migration = false;
		fmt(v->cause, sizeof(v->cause), "libvirt %s/%s: incoming migration completed", ev,
		    det);
	} else if (forward) {
		/* What masakari-instance-monitor would send, but never a
		 * second word on a failure already notified. */
		merged = inc->notified;
		if (!merged) {
			v->kind = VERDICT_GUEST_FORWARDED;
			v->notify = true;
			inc->notified = failed;
			fmt(v->cause, sizeof(v->cause), "forwarded libvirt %s/%s", ev, det);
		}
	} else if (stopped || l->event == VIR_DOMAIN_EVENT_SHUTDOWN) {
		merged = inc->decided;
		if (!merged) {
			v->kind = VERDICT_GUEST_STOPPED;
			fmt(v->cause, sizeof(v->cause), "libvirt %s/%s", ev, det);
		}
	} else {
		v->kind = VERDICT_INFO;
		fmt(v->cause, sizeof(v->cause), "libvirt %s/%s", ev, det);
	}

	if (merged) {
		v->kind = VERDICT_GUEST_MERGED;
		fmt(v->cause, sizeof(v->cause), "libvirt %s/%s%s confirmed earlier verdict", ev, det,
		    dump_crash ? " (an operator's crash dump: no CRASHED before it)" : "");
	}
	if (v->kind == VERDICT_GUEST_FAILED) {
		set_failed_payload(v);
		inc->notified = true;
		inc->decided = true;
	}
	if (stopped) {
		inc->decided = true;
		inc->libvirt_stopped = true;
		inc->awaiting_libvirt_word = false;
	}
}

static void on_lifecycle(struct correlator *c, const struct fact *f, struct out *o)
{
	const struct libvirt_lifecycle_fact *l = &f->lifecycle;
	struct verdict *v = emit(o, VERDICT_INFO, VERDICT_FROM_LIBVIRT, l->ts_ns);
	struct guest scratch;
	struct guest *g = get_guest(c, l->uuid, l->name);
	bool tracked = g != NULL;
	if (!g) {
		/* Full of running guests: judge without memory rather than drop. */
		guest_init(&scratch, l->uuid, l->name);
		g = &scratch;
	}

	if (l->event == VIR_DOMAIN_EVENT_STARTED) {
		struct incarnation *cur = &g->cur;
		/* RUNNING may have opened this run before libvirt told us. */
		bool catching_up = cur->qemu_tgid != 0 && !cur->libvirt_started &&
				   !cur->libvirt_stopped;
		/* The mapping stays: STARTED/WAKEUP (and an in-place snapshot
		 * revert) keep the same qemu, and RUNNING replaces it otherwise. */
		if (!catching_up)
			fresh_incarnation(cur, g->tgid);
		cur->libvirt_started = true;
		cur->events_complete = true;
		cur->incoming_migration = l->detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED;
		g->has_prev = false; /* libvirt's stream has moved past prev */
		set_guest(v, g, cur->qemu_tgid);
		fmt(v->event, sizeof(v->event), "LIFECYCLE");
		fmt(v->vir_domain_event, sizeof(v->vir_domain_event), "STARTED_%s",
		    detail_name(l->event, l->detail).s);
		fmt(v->cause, sizeof(v->cause), "libvirt STARTED/%s: new incarnation%s",
		    detail_name(l->event, l->detail).s,
		    cur->incoming_migration ? " (incoming migration)" : "");
		return;
	}

	bool on_prev = g->has_prev;
	struct incarnation *inc = libvirt_target(g);
	judge_lifecycle(c, g, inc, l, v);
	if (on_prev && inc->libvirt_stopped)
		g->has_prev = false;
	if (tracked && l->event == VIR_DOMAIN_EVENT_UNDEFINED && evictable(g) && !g->has_prev)
		memset(g, 0, sizeof(*g)); /* the domain is gone for good */
}

/* ---- FACT_LIBVIRT_IO_ERROR ---- */

static void on_io_error(struct correlator *c, const struct fact *f, struct out *o)
{
	const struct libvirt_io_error_fact *io = &f->io_error;
	struct verdict *v = emit(o, VERDICT_INFO, VERDICT_FROM_LIBVIRT, io->ts_ns);
	struct guest scratch;
	struct guest *g = get_guest(c, io->uuid, io->name);
	if (!g) {
		guest_init(&scratch, io->uuid, io->name);
		g = &scratch;
	}
	struct incarnation *inc = libvirt_target(g);
	const char *action = io_action_name(io->action);
	char reason[FACT_REASON_LEN];
	COPY(reason, io->reason);

	set_guest(v, g, inc->qemu_tgid);
	fmt(v->event, sizeof(v->event), "IO_ERROR");
	if (!action) {
		fmt(v->vir_domain_event, sizeof(v->vir_domain_event), "IO_ERROR_%d", (int)io->action);
		fmt(v->cause, sizeof(v->cause), "disk I/O error (action %d): %s", (int)io->action,
		    reason);
		return;
	}
	fmt(v->vir_domain_event, sizeof(v->vir_domain_event), "IO_ERROR_%s", action);
	assert(io->action >= 0 && io->action < IO_ACTION_MAX);
	uint8_t bit = (uint8_t)(1u << io->action);
	bool report = io->action == VIR_DOMAIN_EVENT_IO_ERROR_REPORT;

	if (!report && !c->cfg.forward_all_events) {
		fmt(v->cause, sizeof(v->cause), "disk I/O error (%s): %s", action, reason);
	} else if (inc->io_notified & bit) {
		v->kind = VERDICT_GUEST_MERGED;
		fmt(v->cause, sizeof(v->cause), "disk I/O error (%s) already notified: %s", action,
		    reason);
	} else {
		v->kind = report ? VERDICT_GUEST_IO_ERROR : VERDICT_GUEST_FORWARDED;
		v->notify = true;
		inc->io_notified |= bit;
		fmt(v->cause, sizeof(v->cause), "%sdisk I/O error (%s): %s",
		    report ? "" : "forwarded ", action, reason);
	}
}

/* ---- FACT_LIBVIRT_STATE ---- */

static const char *shutoff_reason_name(int32_t reason)
{
	switch (reason) {
	case VIR_DOMAIN_SHUTOFF_UNKNOWN: return "UNKNOWN";
	case VIR_DOMAIN_SHUTOFF_SHUTDOWN: return "SHUTDOWN";
	case VIR_DOMAIN_SHUTOFF_DESTROYED: return "DESTROYED";
	case VIR_DOMAIN_SHUTOFF_CRASHED: return "CRASHED";
	case VIR_DOMAIN_SHUTOFF_MIGRATED: return "MIGRATED";
	case VIR_DOMAIN_SHUTOFF_SAVED: return "SAVED";
	case VIR_DOMAIN_SHUTOFF_FAILED: return "FAILED";
	case VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT: return "FROM_SNAPSHOT";
	case VIR_DOMAIN_SHUTOFF_DAEMON: return "DAEMON";
	default: return NULL;
	}
}

/* libvirt's answer about a guest whose qemu it killed without a STOPPED.
 * Shut off for CRASHED, DAEMON or UNKNOWN with no event: what
 * qemuProcessReconnect leaves when a restarted libvirtd cannot reach qemu's
 * monitor (CRASHED when qemu runs with -no-shutdown, as libvirt 9.0 starts
 * it; DAEMON after a later step failed; UNKNOWN otherwise). No operator
 * asked for it: a failure. Any other answer (a STOPPED reason whose event
 * we lost, running again, unknown domain) is recorded only. */
static void on_state(struct correlator *c, const struct fact *f, struct out *o)
{
	const struct libvirt_state_fact *st = &f->state;
	struct verdict *v = emit(o, VERDICT_INFO, VERDICT_FROM_LIBVIRT, st->ts_ns);
	struct guest *g = find_uuid(c, st->uuid);
	struct incarnation *inc = !g			       ? NULL
				  : g->cur.awaiting_libvirt_word ? &g->cur
				  : g->has_prev && g->prev.awaiting_libvirt_word ? &g->prev
										 : NULL;
	const char *reason = shutoff_reason_name(st->reason);
	bool shutoff = st->found && st->state == VIR_DOMAIN_SHUTOFF;
	char said[48];

	if (!st->found)
		fmt(said, sizeof(said), "no such domain");
	else if (shutoff && reason)
		fmt(said, sizeof(said), "shut off, reason %s", reason);
	else
		fmt(said, sizeof(said), "state %d reason %d", (int)st->state, (int)st->reason);
	if (g) {
		touch(c, g);
		set_guest(v, g, inc ? inc->qemu_tgid : g->tgid);
	} else {
		COPY(v->instance_uuid, st->uuid);
		COPY(v->name, st->name);
	}
	fmt(v->event, sizeof(v->event), "LIFECYCLE");
	if (!inc) {
		fmt(v->cause, sizeof(v->cause), "libvirt: %s (no stop awaiting its word)", said);
		return;
	}
	inc->awaiting_libvirt_word = false;
	if (shutoff && (st->reason == VIR_DOMAIN_SHUTOFF_CRASHED ||
			st->reason == VIR_DOMAIN_SHUTOFF_DAEMON ||
			st->reason == VIR_DOMAIN_SHUTOFF_UNKNOWN) &&
	    !inc->notified) {
		v->kind = VERDICT_GUEST_FAILED;
		set_failed_payload(v);
		inc->notified = true;
		inc->decided = true;
		fmt(v->cause, sizeof(v->cause),
		    "libvirt killed qemu and sent no STOPPED; %s: libvirtd lost the guest "
		    "(a failed reconnection after its restart)",
		    said);
		return;
	}
	fmt(v->cause, sizeof(v->cause), "libvirt: %s after its stop (no STOPPED received)", said);
}

/* ---- FACT_LIBVIRT_CONNECTION ---- */

static void on_connection(struct correlator *c, const struct fact *f, struct out *o)
{
	const struct libvirt_connection_fact *cn = &f->connection;
	/* Events may be lost across the gap: stop waiting for prev's STOPPED
	 * so it cannot be matched against the next incarnation's. */
	for (size_t i = 0; i < CORRELATE_MAX_GUESTS; i++) {
		c->guests[i].has_prev = false;
		c->guests[i].cur.events_complete = false;
	}
	struct verdict *v = emit(o, VERDICT_INFO, VERDICT_FROM_LIBVIRT, cn->ts_ns);
	fmt(v->cause, sizeof(v->cause), "%s",
	    cn->up ? "libvirt connection up"
		   : "libvirt connection down: kernel facts still decide known guests");
}

/* ---- API ---- */

struct correlator *correlator_new(const struct correlate_config *cfg)
{
	assert(cfg);
	assert(cfg->n_process_names <= CORRELATE_MAX_PROCESS_NAMES);
	assert(cfg->n_managers <= CORRELATE_MAX_MANAGERS);
	struct correlator *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cfg.forward_all_events = cfg->forward_all_events;
	c->cfg.n_process_names = cfg->n_process_names;
	for (size_t i = 0; i < cfg->n_process_names; i++)
		COPY(c->cfg.process_names[i], cfg->process_names[i]);
	c->cfg.n_managers = cfg->n_managers;
	for (size_t i = 0; i < cfg->n_managers; i++)
		COPY(c->cfg.managers[i], cfg->managers[i]);
	return c;
}

void correlator_free(struct correlator *c)
{
	free(c);
}

size_t correlator_feed(struct correlator *c, const struct fact *f,
		       struct verdict out[CORRELATE_MAX_VERDICTS])
{
	assert(c && f && out);
	struct out o = { .v = out, .n = 0 };
	c->seq++;
	switch (f->kind) {
	case FACT_PROC_EXIT:
		on_exit_fact(c, f, &o);
		break;
	case FACT_GUEST_RUNNING:
		on_running(c, f, &o);
		break;
	case FACT_LIBVIRT_LIFECYCLE:
		on_lifecycle(c, f, &o);
		break;
	case FACT_LIBVIRT_IO_ERROR:
		on_io_error(c, f, &o);
		break;
	case FACT_LIBVIRT_CONNECTION:
		on_connection(c, f, &o);
		break;
	case FACT_LIBVIRT_STATE:
		on_state(c, f, &o);
		break;
	default: {
		struct verdict *v = emit(&o, VERDICT_INFO, VERDICT_FROM_KERNEL, 0);
		fmt(v->cause, sizeof(v->cause), "unknown fact kind %d", (int)f->kind);
		break;
	}
	}
	assert(o.n <= CORRELATE_MAX_VERDICTS);
	return o.n;
}

size_t correlator_guest_tgids(const struct correlator *c, uint32_t *tgids, size_t max)
{
	assert(c && (tgids || max == 0));
	size_t n = 0;
	for (size_t i = 0; i < CORRELATE_MAX_GUESTS && n < max; i++)
		if (c->guests[i].used && c->guests[i].tgid != 0)
			tgids[n++] = c->guests[i].tgid;
	return n;
}

size_t correlator_running_guests(const struct correlator *c, struct correlate_guest_info *out,
				 size_t max)
{
	assert(c && (out || max == 0));
	size_t n = 0;
	for (size_t i = 0; i < CORRELATE_MAX_GUESTS && n < max; i++) {
		const struct guest *g = &c->guests[i];
		if (!g->used || g->tgid == 0)
			continue;
		memcpy(out[n].uuid, g->uuid, sizeof(out[n].uuid));
		memcpy(out[n].name, g->name, sizeof(out[n].name));
		out[n].tgid = g->tgid;
		n++;
	}
	return n;
}

const char *verdict_kind_name(enum verdict_kind kind)
{
	switch (kind) {
	case VERDICT_GUEST_FAILED:
		return "guest_failed";
	case VERDICT_GUEST_IO_ERROR:
		return "guest_io_error";
	case VERDICT_GUEST_FORWARDED:
		return "guest_forwarded";
	case VERDICT_GUEST_STOPPED:
		return "guest_stopped";
	case VERDICT_GUEST_MERGED:
		return "guest_merged";
	case VERDICT_PROCESS_FAILED:
		return "process_failed";
	case VERDICT_PROCESS_STOPPED:
		return "process_stopped";
	case VERDICT_UNMAPPED_EXIT:
		return "unmapped_exit";
	case VERDICT_GUEST_MIGRATION_FAILED:
		return "guest_migration_failed";
	case VERDICT_INFO:
		return "info";
	}
	return "unknown";
}

void correlator_set_forward_all_events(struct correlator *c, bool on)
{
	assert(c);
	c->cfg.forward_all_events = on;
}
