/* Unit tests of the correlation core (core/correlate.c). Most cases are
 * scenarios: a sequence of facts, the exact verdict each one must produce
 * and how many notifications the whole sequence may send (exactly-once is
 * a property of the sequence, not of one fact). The rest cover the table
 * bounds, the tgid listing, the kind names and determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <libvirt/libvirt.h>

#include "core/correlate.h"

#define U1 "6f1c2a9e-1d3b-4c5e-9f70-0a1b2c3d4e5f"
#define N1 "instance-00000001"
#define QEMU 4100u
#define QEMU2 4200u
#define LIBVIRTD 812u
#define BASH 4242u
#define NOVA 3000u

/* wait(2) encodings, as the probe reports them. */
#define EXITED(code) ((code) << 8)
#define SIGNALED(sig) (sig)

#define SI_USER_CODE 0
#define SI_TKILL_CODE (-6)
#define SI_KERNEL_CODE 0x80
#define SEGV_MAPERR_CODE 1

/* ---- facts ---- */

#define SENDER(sig_, code_, pid_, comm_, leader_)                                       \
	{ .ts_ns = 1, .sig = (sig_), .si_code = (code_), .sender_tgid = (pid_),        \
	  .sender_comm = comm_, .sender_leader_comm = leader_ }
#define FROM_BASH(sig_) SENDER(sig_, SI_USER_CODE, BASH, "bash", "bash")
#define FROM_LIBVIRTD(sig_) SENDER(sig_, SI_USER_CODE, LIBVIRTD, "rpc-libvirtd", "libvirtd")
#define FROM_SYSTEMD(sig_) SENDER(sig_, SI_USER_CODE, 1, "systemd", "systemd")

#define KILLER(rec) .has_fatal_signal = true, .fatal_signal = rec
#define STOPREQ(rec) .has_stop_request = true, .stop_request = rec
#define NOSIG .oom_killed = false

#define F_RUNNING(ts, tgid_)                                                           \
	{ .kind = FACT_GUEST_RUNNING,                                                  \
	  .guest = { .ts_ns = (ts), .tgid = (tgid_), .uuid = U1, .name = N1 } }
#define F_RUNNING_INCOMING(ts, tgid_)                                                  \
	{ .kind = FACT_GUEST_RUNNING,                                                  \
	  .guest = { .ts_ns = (ts), .tgid = (tgid_), .uuid = U1, .name = N1,           \
		     .incoming_migration = true } }
/* found by the watcher's scan at (re)connection, crashed_: in a CRASHED state */
#define F_RUNNING_SCANNED(ts, tgid_, crashed_)                                         \
	{ .kind = FACT_GUEST_RUNNING,                                                  \
	  .guest = { .ts_ns = (ts), .tgid = (tgid_), .uuid = U1, .name = N1,           \
		     .scanned = true, .crashed = (crashed_) } }
#define F_EXIT(ts, tgid_, comm_, status_, ...)                                         \
	{ .kind = FACT_PROC_EXIT,                                                      \
	  .exit = { .ts_ns = (ts), .source = EXIT_SOURCE_EBPF, .tgid = (tgid_),        \
		    .comm = comm_, .status_known = true, .wait_status = (status_),     \
		    __VA_ARGS__ } }
#define F_QEMU_EXIT(ts, tgid_, status_, ...) F_EXIT(ts, tgid_, "qemu-kvm", status_, __VA_ARGS__)
#define F_PIDFD(ts, tgid_, comm_)                                                      \
	{ .kind = FACT_PROC_EXIT,                                                      \
	  .exit = { .ts_ns = (ts), .source = EXIT_SOURCE_PIDFD, .tgid = (tgid_),       \
		    .comm = comm_ } }
#define F_LIFE(ts, ev, det)                                                            \
	{ .kind = FACT_LIBVIRT_LIFECYCLE,                                              \
	  .lifecycle = { .ts_ns = (ts), .uuid = U1, .name = N1,                        \
			 .event = VIR_DOMAIN_EVENT_##ev,                               \
			 .detail = VIR_DOMAIN_EVENT_##ev##_##det } }
#define F_IOERR(ts, act, reason_)                                                      \
	{ .kind = FACT_LIBVIRT_IO_ERROR,                                               \
	  .io_error = { .ts_ns = (ts), .uuid = U1, .name = N1,                         \
			.action = VIR_DOMAIN_EVENT_IO_ERROR_##act, .reason = reason_ } }
#define F_STATE(ts, st, rs)                                                            \
	{ .kind = FACT_LIBVIRT_STATE,                                                  \
	  .state = { .ts_ns = (ts), .uuid = U1, .name = N1, .found = true,             \
		     .state = VIR_DOMAIN_##st, .reason = VIR_DOMAIN_##st##_##rs } }
#define F_CONN(ts, up_)                                                                \
	{ .kind = FACT_LIBVIRT_CONNECTION, .connection = { .ts_ns = (ts), .up = (up_) } }

/* ---- expected verdicts (every field, so payloads are checked exactly) ---- */

#define V_GUEST(kind_, src_, notify_, ev_, vde_, tgid_, ts_, cause_)                   \
	{ .kind = (kind_), .source = (src_), .notify = (notify_), .event = ev_,        \
	  .vir_domain_event = vde_, .instance_uuid = U1, .name = N1, .tgid = (tgid_),  \
	  .failure_ts_ns = (ts_), .cause = cause_ }
#define K_FAILED(tgid, ts, cause)                                                      \
	V_GUEST(VERDICT_GUEST_FAILED, VERDICT_FROM_KERNEL, true, "LIFECYCLE",          \
		"STOPPED_FAILED", tgid, ts, cause)
#define K_STOPPED(tgid, ts, cause)                                                     \
	V_GUEST(VERDICT_GUEST_STOPPED, VERDICT_FROM_KERNEL, false, "", "", tgid, ts, cause)
/* libvirt's own kill, its STOPPED not seen yet: the shell asks its state later */
#define K_STOPPED_BY_LIBVIRT(tgid_, ts_, cause_)                                       \
	{ .kind = VERDICT_GUEST_STOPPED, .source = VERDICT_FROM_KERNEL, .event = "",   \
	  .vir_domain_event = "", .instance_uuid = U1, .name = N1, .tgid = (tgid_),    \
	  .failure_ts_ns = (ts_), .cause = cause_, .check_libvirt_state = true }
#define K_MERGED(tgid, ts, cause)                                                      \
	V_GUEST(VERDICT_GUEST_MERGED, VERDICT_FROM_KERNEL, false, "", "", tgid, ts, cause)
#define L_VERDICT(kind, notify, vde, tgid, ts, cause)                                  \
	V_GUEST(kind, VERDICT_FROM_LIBVIRT, notify, "LIFECYCLE", vde, tgid, ts, cause)
#define L_FAILED(tgid, ts, cause)                                                      \
	L_VERDICT(VERDICT_GUEST_FAILED, true, "STOPPED_FAILED", tgid, ts, cause)
#define L_MERGED(vde, tgid, ts, cause) L_VERDICT(VERDICT_GUEST_MERGED, false, vde, tgid, ts, cause)
#define L_STOPPED(vde, tgid, ts, cause)                                                \
	L_VERDICT(VERDICT_GUEST_STOPPED, false, vde, tgid, ts, cause)
#define L_FORWARDED(vde, tgid, ts, cause)                                              \
	L_VERDICT(VERDICT_GUEST_FORWARDED, true, vde, tgid, ts, cause)
#define L_INFO(vde, tgid, ts, cause) L_VERDICT(VERDICT_INFO, false, vde, tgid, ts, cause)
#define IO_VERDICT(kind_, notify_, vde, ts_, cause_)                                   \
	V_GUEST(kind_, VERDICT_FROM_LIBVIRT, notify_, "IO_ERROR", vde, QEMU, ts_, cause_)
#define PROC(kind_, src_, notify_, tgid_, ts_, cause_)                                 \
	{ .kind = (kind_), .source = (src_), .notify = (notify_), .is_process = true,  \
	  .event = "STOPPED", .name = "nova-compute", .tgid = (tgid_),                 \
	  .failure_ts_ns = (ts_), .cause = cause_ }
#define P_FAILED(ts, cause) PROC(VERDICT_PROCESS_FAILED, VERDICT_FROM_KERNEL, true, NOVA, ts, cause)
#define P_STOPPED(ts, cause)                                                           \
	PROC(VERDICT_PROCESS_STOPPED, VERDICT_FROM_KERNEL, false, NOVA, ts, cause)

/* ---- scenarios ---- */

struct step {
	struct fact fact;
	size_t n; /* verdicts expected: 0 or 1 */
	struct verdict want;
};

#define NONE(f) { .fact = f, .n = 0 }
#define ONE(f, ...) { .fact = f, .n = 1, .want = __VA_ARGS__ }

struct scenario {
	const char *name;
	bool forward_all;
	const struct step *steps;
	size_t n_steps;
	size_t want_notify; /* notifications over the whole sequence */
};

#define STEPS(...)                                                                     \
	.steps = (const struct step[]){ __VA_ARGS__ },                                 \
	.n_steps = sizeof((const struct step[]){ __VA_ARGS__ }) / sizeof(struct step)

static const struct scenario scenarios[] = {
	/* ---- kernel verdicts on a guest's qemu ---- */
	{ "operator SIGKILL, then libvirt STOPPED/FAILED merged", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), KILLER(FROM_BASH(SIGKILL))),
		    K_FAILED(QEMU, 200, "SIGKILL from bash[4242]")),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU, 300,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  1 },
	{ "SIGSEGV crash", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGSEGV),
				KILLER(SENDER(SIGSEGV, SEGV_MAPERR_CODE, QEMU, "CPU 0/KVM",
					      "qemu-kvm"))),
		    K_FAILED(QEMU, 200, "SIGSEGV (crash)")),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU, 300,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  1 },
	{ "SIGABRT (abort, self-sent)", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGABRT),
				KILLER(SENDER(SIGABRT, SI_TKILL_CODE, QEMU, "qemu-kvm", "qemu-kvm"))),
		    K_FAILED(QEMU, 200, "SIGABRT (crash)"))),
	  1 },
	{ "OOM kill", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), .oom_killed = true,
				KILLER(SENDER(SIGKILL, SI_KERNEL_CODE, 0, "", ""))),
		    K_FAILED(QEMU, 200, "OOM kill"))),
	  1 },
	{ "exit code 3", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, EXITED(3), NOSIG), K_FAILED(QEMU, 200, "exit code 3")),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU, 300,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  1 },
	{ "killed by a signal nobody was seen sending", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), NOSIG),
		    K_FAILED(QEMU, 200, "killed by SIGKILL (sender unknown)"))),
	  1 },
	{ "exit code 1 after libvirt's SIGTERM is a stop", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, EXITED(1), STOPREQ(FROM_LIBVIRTD(SIGTERM))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200,
			      "libvirt requested stop (SIGTERM from libvirtd[812]), exit code 1"))),
	  0 },
	/* ---- intentional stops ---- */
	{ "virsh destroy: libvirt SIGTERM, exit 0, STOPPED/DESTROYED", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, EXITED(0), STOPREQ(FROM_LIBVIRTD(SIGTERM)),
				KILLER(FROM_LIBVIRTD(SIGTERM))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200, "libvirt requested stop (SIGTERM from libvirtd[812])")),
		ONE(F_LIFE(300, STOPPED, DESTROYED),
		    L_MERGED("STOPPED_DESTROYED", QEMU, 300,
			     "libvirt STOPPED/DESTROYED confirmed earlier verdict"))),
	  0 },
	{ "virsh destroy with forward_all_events: forwarded once", true,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, EXITED(0), STOPREQ(FROM_LIBVIRTD(SIGTERM)),
				KILLER(FROM_LIBVIRTD(SIGTERM))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200, "libvirt requested stop (SIGTERM from libvirtd[812])")),
		ONE(F_LIFE(300, STOPPED, DESTROYED),
		    L_FORWARDED("STOPPED_DESTROYED", QEMU, 300,
				"forwarded libvirt STOPPED/DESTROYED"))),
	  1 },
	{ "libvirtd SIGKILL after its own SIGTERM", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), STOPREQ(FROM_LIBVIRTD(SIGTERM)),
				KILLER(FROM_LIBVIRTD(SIGKILL))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200,
			      "virsh destroy / libvirt stop (SIGKILL from libvirtd[812])")),
		ONE(F_LIFE(300, STOPPED, DESTROYED),
		    L_MERGED("STOPPED_DESTROYED", QEMU, 300,
			     "libvirt STOPPED/DESTROYED confirmed earlier verdict"))),
	  0 },
	{ "SIGKILL unrecorded after libvirtd's SIGTERM: escalation", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), STOPREQ(FROM_LIBVIRTD(SIGTERM))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200,
			      "libvirt stop escalated to SIGKILL (after SIGTERM from libvirtd[812])"))),
	  0 },
	{ "manager matched on the thread comm when the leader's is unknown", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL),
				KILLER(SENDER(SIGKILL, SI_USER_CODE, 900, "virtqemud", ""))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200,
			      "virsh destroy / libvirt stop (SIGKILL from virtqemud[900])"))),
	  0 },
	{ "a thread named like libvirtd in another process is no manager", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL),
				KILLER(SENDER(SIGKILL, SI_USER_CODE, 901, "libvirtd", "python3"))),
		    K_FAILED(QEMU, 200, "SIGKILL from python3[901]"))),
	  1 },
	{ "guest poweroff: SHUTDOWN/FINISHED, exit 0, STOPPED/SHUTDOWN", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_LIFE(150, SHUTDOWN, FINISHED),
		    L_STOPPED("SHUTDOWN_FINISHED", QEMU, 150, "libvirt SHUTDOWN/FINISHED")),
		ONE(F_QEMU_EXIT(200, QEMU, EXITED(0), NOSIG),
		    K_STOPPED(QEMU, 200, "guest powered off / qemu exited 0")),
		ONE(F_LIFE(300, STOPPED, SHUTDOWN),
		    L_MERGED("STOPPED_SHUTDOWN", QEMU, 300,
			     "libvirt STOPPED/SHUTDOWN confirmed earlier verdict"))),
	  0 },
	{ "guest poweroff with forward_all_events: both events forwarded", true,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_LIFE(150, SHUTDOWN, FINISHED),
		    L_FORWARDED("SHUTDOWN_FINISHED", QEMU, 150,
				"forwarded libvirt SHUTDOWN/FINISHED")),
		ONE(F_QEMU_EXIT(200, QEMU, EXITED(0), NOSIG),
		    K_STOPPED(QEMU, 200, "guest powered off / qemu exited 0")),
		ONE(F_LIFE(300, STOPPED, SHUTDOWN),
		    L_FORWARDED("STOPPED_SHUTDOWN", QEMU, 300,
				"forwarded libvirt STOPPED/SHUTDOWN"))),
	  2 },
	{ "SIGTERM from an operator, qemu exits 0: recorded, not notified", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, EXITED(0), STOPREQ(FROM_BASH(SIGTERM)),
				KILLER(FROM_BASH(SIGTERM))),
		    K_STOPPED(QEMU, 200, "terminated by SIGTERM from bash[4242]")),
		ONE(F_LIFE(300, STOPPED, SHUTDOWN),
		    L_MERGED("STOPPED_SHUTDOWN", QEMU, 300,
			     "libvirt STOPPED/SHUTDOWN confirmed earlier verdict"))),
	  0 },
	/* ---- libvirt alone ---- */
	{ "libvirt-only STOPPED/FAILED of an unknown guest", false,
	  STEPS(ONE(F_LIFE(300, STOPPED, FAILED),
		    L_FAILED(0, 300, "qemu failed (libvirt STOPPED/FAILED)")),
		ONE(F_LIFE(310, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", 0, 310,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  1 },
	{ "libvirt STOPPED/FAILED of a mapped guest the probe missed", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_FAILED(QEMU, 300, "qemu failed (libvirt STOPPED/FAILED)"))),
	  1 },
	{ "libvirt STOPPED/DESTROYED alone: stopped", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_LIFE(300, STOPPED, DESTROYED),
		    L_STOPPED("STOPPED_DESTROYED", QEMU, 300, "libvirt STOPPED/DESTROYED"))),
	  0 },
	{ "libvirt STOPPED/SAVED and MIGRATED are stops, never forwarded", true,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_LIFE(300, STOPPED, SAVED),
		    L_STOPPED("STOPPED_SAVED", QEMU, 300, "libvirt STOPPED/SAVED")),
		ONE(F_LIFE(310, STARTED, RESTORED),
		    L_INFO("STARTED_RESTORED", QEMU, 310,
			   "libvirt STARTED/RESTORED: new incarnation")),
		ONE(F_LIFE(320, STOPPED, MIGRATED),
		    L_STOPPED("STOPPED_MIGRATED", QEMU, 320, "libvirt STOPPED/MIGRATED"))),
	  0 },
	/* ---- guest panic ---- */
	{ "panic: CRASHED/PANICKED, libvirtd kills qemu, STOPPED/CRASHED", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_LIFE(150, CRASHED, PANICKED),
		    L_FAILED(QEMU, 150, "guest panic (libvirt CRASHED/PANICKED)")),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), STOPREQ(FROM_LIBVIRTD(SIGTERM)),
				KILLER(FROM_LIBVIRTD(SIGKILL))),
		    K_MERGED(QEMU, 200,
			     "virsh destroy / libvirt stop (SIGKILL from libvirtd[812]); "
			     "already decided")),
		ONE(F_LIFE(300, STOPPED, CRASHED),
		    L_MERGED("STOPPED_CRASHED", QEMU, 300,
			     "libvirt STOPPED/CRASHED confirmed earlier verdict"))),
	  1 },
	{ "panic: the kernel sees libvirtd's kill before libvirt's CRASHED", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, EXITED(0), STOPREQ(FROM_LIBVIRTD(SIGTERM)),
				KILLER(FROM_LIBVIRTD(SIGTERM))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200, "libvirt requested stop (SIGTERM from libvirtd[812])")),
		ONE(F_LIFE(250, CRASHED, PANICKED),
		    L_FAILED(QEMU, 250, "guest panic (libvirt CRASHED/PANICKED)")),
		ONE(F_LIFE(300, STOPPED, CRASHED),
		    L_MERGED("STOPPED_CRASHED", QEMU, 300,
			     "libvirt STOPPED/CRASHED confirmed earlier verdict"))),
	  1 },
	{ "panic seen only as STOPPED/CRASHED after a kernel stop", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), KILLER(FROM_LIBVIRTD(SIGKILL))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200,
			      "virsh destroy / libvirt stop (SIGKILL from libvirtd[812])")),
		ONE(F_LIFE(300, STOPPED, CRASHED),
		    L_FAILED(QEMU, 300, "guest panic (libvirt STOPPED/CRASHED)"))),
	  1 },
	/* ---- an operator's crash dump (virsh dump --crash): libvirt pauses the
	 * guest, dumps it, kills qemu and says STOPPED/CRASHED, with no
	 * CRASHED/PANICKED before it (a panic always has one) ---- */
	{ "virsh dump --crash: STOPPED/CRASHED without CRASHED is a stop", false,
	  STEPS(ONE(F_LIFE(100, STARTED, BOOTED),
		    L_INFO("STARTED_BOOTED", 0, 100, "libvirt STARTED/BOOTED: new incarnation")),
		NONE(F_RUNNING(110, QEMU)),
		ONE(F_LIFE(200, SUSPENDED, PAUSED),
		    L_INFO("SUSPENDED_PAUSED", QEMU, 200, "libvirt SUSPENDED/PAUSED")),
		ONE(F_QEMU_EXIT(300, QEMU, EXITED(0), STOPREQ(FROM_LIBVIRTD(SIGTERM)),
				KILLER(FROM_LIBVIRTD(SIGTERM))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 300, "libvirt requested stop (SIGTERM from libvirtd[812])")),
		ONE(F_LIFE(310, STOPPED, CRASHED),
		    L_MERGED("STOPPED_CRASHED", QEMU, 310,
			     "libvirt STOPPED/CRASHED (an operator's crash dump: no CRASHED "
			     "before it) confirmed earlier verdict"))),
	  0 },
	{ "virsh dump --crash: libvirt's STOPPED/CRASHED before the kernel's exit", false,
	  STEPS(NONE(F_RUNNING_SCANNED(100, QEMU, false)),
		ONE(F_LIFE(310, STOPPED, CRASHED),
		    L_STOPPED("STOPPED_CRASHED", QEMU, 310,
			      "libvirt STOPPED/CRASHED without a CRASHED before it: an operator's "
			      "crash dump (virsh dump --crash)")),
		ONE(F_QEMU_EXIT(320, QEMU, EXITED(0), STOPREQ(FROM_LIBVIRTD(SIGTERM)),
				KILLER(FROM_LIBVIRTD(SIGTERM))),
		    K_MERGED(QEMU, 320,
			     "libvirt requested stop (SIGTERM from libvirtd[812]); already decided"))),
	  0 },
	{ "STOPPED/CRASHED after a reconnection without a scan: may be a panic", false,
	  STEPS(ONE(F_LIFE(100, STARTED, BOOTED),
		    L_INFO("STARTED_BOOTED", 0, 100, "libvirt STARTED/BOOTED: new incarnation")),
		NONE(F_RUNNING(110, QEMU)),
		ONE(F_CONN(150, false),
		    { .kind = VERDICT_INFO, .source = VERDICT_FROM_LIBVIRT, .failure_ts_ns = 150,
		      .cause = "libvirt connection down: kernel facts still decide known guests" }),
		ONE(F_CONN(160, true),
		    { .kind = VERDICT_INFO, .source = VERDICT_FROM_LIBVIRT, .failure_ts_ns = 160,
		      .cause = "libvirt connection up" }),
		ONE(F_QEMU_EXIT(300, QEMU, EXITED(0), STOPREQ(FROM_LIBVIRTD(SIGTERM)),
				KILLER(FROM_LIBVIRTD(SIGTERM))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 300, "libvirt requested stop (SIGTERM from libvirtd[812])")),
		ONE(F_LIFE(310, STOPPED, CRASHED),
		    L_FAILED(QEMU, 310, "guest panic (libvirt STOPPED/CRASHED)"))),
	  1 },
	{ "the scan at reconnection vouches for the events: a dump is a stop", false,
	  STEPS(ONE(F_LIFE(100, STARTED, BOOTED),
		    L_INFO("STARTED_BOOTED", 0, 100, "libvirt STARTED/BOOTED: new incarnation")),
		NONE(F_RUNNING(110, QEMU)),
		ONE(F_CONN(150, false),
		    { .kind = VERDICT_INFO, .source = VERDICT_FROM_LIBVIRT, .failure_ts_ns = 150,
		      .cause = "libvirt connection down: kernel facts still decide known guests" }),
		ONE(F_CONN(160, true),
		    { .kind = VERDICT_INFO, .source = VERDICT_FROM_LIBVIRT, .failure_ts_ns = 160,
		      .cause = "libvirt connection up" }),
		NONE(F_RUNNING_SCANNED(170, QEMU, false)),
		ONE(F_LIFE(310, STOPPED, CRASHED),
		    L_STOPPED("STOPPED_CRASHED", QEMU, 310,
			      "libvirt STOPPED/CRASHED without a CRASHED before it: an operator's "
			      "crash dump (virsh dump --crash)"))),
	  0 },
	{ "the scan found the guest crashed: its STOPPED/CRASHED is the panic", false,
	  STEPS(NONE(F_RUNNING_SCANNED(100, QEMU, true)),
		ONE(F_LIFE(310, STOPPED, CRASHED),
		    L_FAILED(QEMU, 310, "guest panic (libvirt STOPPED/CRASHED)"))),
	  1 },
	{ "a panic on a fully watched run: CRASHED, then STOPPED/CRASHED merged", false,
	  STEPS(ONE(F_LIFE(100, STARTED, BOOTED),
		    L_INFO("STARTED_BOOTED", 0, 100, "libvirt STARTED/BOOTED: new incarnation")),
		NONE(F_RUNNING(110, QEMU)),
		ONE(F_LIFE(150, CRASHED, PANICKED),
		    L_FAILED(QEMU, 150, "guest panic (libvirt CRASHED/PANICKED)")),
		ONE(F_LIFE(300, STOPPED, CRASHED),
		    L_MERGED("STOPPED_CRASHED", QEMU, 300,
			     "libvirt STOPPED/CRASHED confirmed earlier verdict"))),
	  1 },
	/* ---- libvirt's kill without a STOPPED: its state, asked later, tells
	 * (a restarted libvirtd that cannot reconnect to qemu kills it with no
	 * event, shutoff reason CRASHED, DAEMON or UNKNOWN) ---- */
	{ "libvirtd's failed reconnection: silent kill, shut off CRASHED: a failure", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_CONN(150, false),
		    { .kind = VERDICT_INFO, .source = VERDICT_FROM_LIBVIRT, .failure_ts_ns = 150,
		      .cause = "libvirt connection down: kernel facts still decide known guests" }),
		ONE(F_QEMU_EXIT(200, QEMU, EXITED(0), STOPREQ(FROM_LIBVIRTD(SIGTERM)),
				KILLER(FROM_LIBVIRTD(SIGTERM))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200,
					 "libvirt requested stop (SIGTERM from libvirtd[812])")),
		ONE(F_CONN(300, true),
		    { .kind = VERDICT_INFO, .source = VERDICT_FROM_LIBVIRT, .failure_ts_ns = 300,
		      .cause = "libvirt connection up" }),
		ONE(F_STATE(2300, SHUTOFF, CRASHED),
		    L_FAILED(QEMU, 2300,
			     "libvirt killed qemu and sent no STOPPED; shut off, reason CRASHED: "
			     "libvirtd lost the guest (a failed reconnection after its restart)")),
		ONE(F_STATE(2400, SHUTOFF, CRASHED),
		    L_INFO("", 0, 2400, "libvirt: shut off, reason CRASHED (no stop awaiting its word)"))),
	  1 },
	{ "silent kill, shut off DAEMON (a later reconnection step failed): a failure", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), STOPREQ(FROM_LIBVIRTD(SIGTERM)),
				KILLER(FROM_LIBVIRTD(SIGKILL))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200,
					 "virsh destroy / libvirt stop (SIGKILL from libvirtd[812])")),
		ONE(F_STATE(2200, SHUTOFF, DAEMON),
		    L_FAILED(QEMU, 2200,
			     "libvirt killed qemu and sent no STOPPED; shut off, reason DAEMON: "
			     "libvirtd lost the guest (a failed reconnection after its restart)"))),
	  1 },
	{ "virsh destroy: its STOPPED came, the state check that follows records", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, EXITED(0), STOPREQ(FROM_LIBVIRTD(SIGTERM)),
				KILLER(FROM_LIBVIRTD(SIGTERM))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200,
					 "libvirt requested stop (SIGTERM from libvirtd[812])")),
		ONE(F_LIFE(300, STOPPED, DESTROYED),
		    L_MERGED("STOPPED_DESTROYED", QEMU, 300,
			     "libvirt STOPPED/DESTROYED confirmed earlier verdict")),
		ONE(F_STATE(2200, SHUTOFF, DESTROYED),
		    L_INFO("", 0, 2200,
			   "libvirt: shut off, reason DESTROYED (no stop awaiting its word)"))),
	  0 },
	{ "a crash dump's STOPPED/CRASHED came: its shutoff reason CRASHED is no failure", false,
	  STEPS(ONE(F_LIFE(100, STARTED, BOOTED),
		    L_INFO("STARTED_BOOTED", 0, 100, "libvirt STARTED/BOOTED: new incarnation")),
		NONE(F_RUNNING(110, QEMU)),
		ONE(F_QEMU_EXIT(300, QEMU, EXITED(0), STOPREQ(FROM_LIBVIRTD(SIGTERM)),
				KILLER(FROM_LIBVIRTD(SIGTERM))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 300,
					 "libvirt requested stop (SIGTERM from libvirtd[812])")),
		ONE(F_LIFE(310, STOPPED, CRASHED),
		    L_MERGED("STOPPED_CRASHED", QEMU, 310,
			     "libvirt STOPPED/CRASHED (an operator's crash dump: no CRASHED "
			     "before it) confirmed earlier verdict")),
		ONE(F_STATE(2300, SHUTOFF, CRASHED),
		    L_INFO("", 0, 2300,
			   "libvirt: shut off, reason CRASHED (no stop awaiting its word)"))),
	  0 },
	{ "a STOPPED lost across a reconnection: shut off DESTROYED is a stop", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, EXITED(0), STOPREQ(FROM_LIBVIRTD(SIGTERM)),
				KILLER(FROM_LIBVIRTD(SIGTERM))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200,
					 "libvirt requested stop (SIGTERM from libvirtd[812])")),
		ONE(F_STATE(2200, SHUTOFF, DESTROYED),
		    L_INFO("", QEMU, 2200,
			   "libvirt: shut off, reason DESTROYED after its stop (no STOPPED "
			   "received)"))),
	  0 },
	{ "running again when asked (restarted by its owner): no failure", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, EXITED(0), STOPREQ(FROM_LIBVIRTD(SIGTERM)),
				KILLER(FROM_LIBVIRTD(SIGTERM))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200,
					 "libvirt requested stop (SIGTERM from libvirtd[812])")),
		ONE(F_STATE(6200, RUNNING, BOOTED),
		    L_INFO("", QEMU, 6200,
			   "libvirt: state 1 reason 1 after its stop (no STOPPED received)"))),
	  0 },
	{ "a kill by someone else is judged at once: no state check", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, EXITED(0), KILLER(FROM_BASH(SIGTERM))),
		    K_STOPPED(QEMU, 200, "terminated by SIGTERM from bash[4242]")),
		ONE(F_STATE(2200, SHUTOFF, CRASHED),
		    L_INFO("", 0, 2200, "libvirt: shut off, reason CRASHED (no stop awaiting its word)"))),
	  0 },
	/* ---- I/O errors ---- */
	{ "I/O error report notified once per incarnation", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_IOERR(200, REPORT, "eio"),
		    IO_VERDICT(VERDICT_GUEST_IO_ERROR, true, "IO_ERROR_REPORT", 200,
			       "disk I/O error (REPORT): eio")),
		ONE(F_IOERR(210, REPORT, "eio"),
		    IO_VERDICT(VERDICT_GUEST_MERGED, false, "IO_ERROR_REPORT", 210,
			       "disk I/O error (REPORT) already notified: eio"))),
	  1 },
	{ "I/O error pause without forward_all_events: recorded", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_IOERR(200, PAUSE, "enospc"),
		    IO_VERDICT(VERDICT_INFO, false, "IO_ERROR_PAUSE", 200,
			       "disk I/O error (PAUSE): enospc")),
		ONE(F_IOERR(210, NONE, "enospc"),
		    IO_VERDICT(VERDICT_INFO, false, "IO_ERROR_NONE", 210,
			       "disk I/O error (NONE): enospc"))),
	  0 },
	{ "I/O error pause with forward_all_events: forwarded, REPORT still sent", true,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_IOERR(200, PAUSE, "enospc"),
		    IO_VERDICT(VERDICT_GUEST_FORWARDED, true, "IO_ERROR_PAUSE", 200,
			       "forwarded disk I/O error (PAUSE): enospc")),
		ONE(F_IOERR(210, PAUSE, "enospc"),
		    IO_VERDICT(VERDICT_GUEST_MERGED, false, "IO_ERROR_PAUSE", 210,
			       "disk I/O error (PAUSE) already notified: enospc")),
		ONE(F_IOERR(220, REPORT, "eio"),
		    IO_VERDICT(VERDICT_GUEST_IO_ERROR, true, "IO_ERROR_REPORT", 220,
			       "disk I/O error (REPORT): eio"))),
	  2 },
	{ "I/O error dedupe resets with a new incarnation", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_IOERR(200, REPORT, "eio"),
		    IO_VERDICT(VERDICT_GUEST_IO_ERROR, true, "IO_ERROR_REPORT", 200,
			       "disk I/O error (REPORT): eio")),
		ONE(F_LIFE(300, STOPPED, DESTROYED),
		    L_STOPPED("STOPPED_DESTROYED", QEMU, 300, "libvirt STOPPED/DESTROYED")),
		ONE(F_LIFE(400, STARTED, BOOTED),
		    L_INFO("STARTED_BOOTED", QEMU, 400, "libvirt STARTED/BOOTED: new incarnation")),
		ONE(F_IOERR(500, REPORT, "eio"),
		    IO_VERDICT(VERDICT_GUEST_IO_ERROR, true, "IO_ERROR_REPORT", 500,
			       "disk I/O error (REPORT): eio"))),
	  2 },
	/* ---- forward_all_events ---- */
	{ "SUSPENDED/IOERROR without forward_all_events: recorded", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_LIFE(200, SUSPENDED, IOERROR),
		    L_INFO("SUSPENDED_IOERROR", QEMU, 200, "libvirt SUSPENDED/IOERROR"))),
	  0 },
	{ "forward_all_events: instance-monitor's list only", true,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_LIFE(200, SUSPENDED, IOERROR),
		    L_FORWARDED("SUSPENDED_IOERROR", QEMU, 200,
				"forwarded libvirt SUSPENDED/IOERROR")),
		ONE(F_LIFE(210, SUSPENDED, WATCHDOG),
		    L_FORWARDED("SUSPENDED_WATCHDOG", QEMU, 210,
				"forwarded libvirt SUSPENDED/WATCHDOG")),
		ONE(F_LIFE(220, SUSPENDED, API_ERROR),
		    L_FORWARDED("SUSPENDED_API_ERROR", QEMU, 220,
				"forwarded libvirt SUSPENDED/API_ERROR")),
		ONE(F_LIFE(230, SUSPENDED, PAUSED),
		    L_INFO("SUSPENDED_PAUSED", QEMU, 230, "libvirt SUSPENDED/PAUSED")),
		ONE(F_LIFE(240, RESUMED, UNPAUSED),
		    L_INFO("RESUMED_UNPAUSED", QEMU, 240, "libvirt RESUMED/UNPAUSED"))),
	  3 },
	{ "forward_all_events: a notified failure is not forwarded again", true,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), KILLER(FROM_BASH(SIGKILL))),
		    K_FAILED(QEMU, 200, "SIGKILL from bash[4242]")),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU, 300,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  1 },
	{ "forward_all_events: libvirt-only STOPPED/FAILED is the failure itself", true,
	  STEPS(ONE(F_LIFE(300, STOPPED, FAILED),
		    L_FAILED(0, 300, "qemu failed (libvirt STOPPED/FAILED)"))),
	  1 },
	{ "STOPPED/FAILED after a libvirt kill: merged", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), KILLER(FROM_LIBVIRTD(SIGKILL))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200,
			      "virsh destroy / libvirt stop (SIGKILL from libvirtd[812])")),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU, 300,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  0 },
	/* forward_all_events adds only what Masakari's engine ignores: the
	 * STOPPED_FAILED it acts on is never forwarded, only judged, so both
	 * modes recover the same guests (issue 10, item 7). */
	{ "STOPPED/FAILED after a libvirt kill, forward_all_events: merged too", true,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), KILLER(FROM_LIBVIRTD(SIGKILL))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200,
			      "virsh destroy / libvirt stop (SIGKILL from libvirtd[812])")),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU, 300,
			     "libvirt STOPPED/FAILED confirmed earlier verdict")),
		ONE(F_LIFE(310, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU, 310,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  0 },
	{ "libvirt's escalated stop, then STOPPED/FAILED, forward_all_events: merged", true,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), STOPREQ(FROM_LIBVIRTD(SIGTERM)),
				KILLER(FROM_LIBVIRTD(SIGKILL))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200,
			      "virsh destroy / libvirt stop (SIGKILL from libvirtd[812])")),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU, 300,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  0 },
	/* ---- a crash or a kill while the guest is being stopped (item 7) ---- */
	{ "SIGSEGV while libvirt stops the guest (virsh destroy): a stop", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGSEGV), STOPREQ(FROM_LIBVIRTD(SIGTERM)),
				KILLER(SENDER(SIGSEGV, SEGV_MAPERR_CODE, QEMU, "qemu-kvm",
					      "qemu-kvm"))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200,
			      "SIGSEGV (crash) while libvirt stopped the guest (SIGTERM from "
			      "libvirtd[812])")),
		ONE(F_LIFE(300, STOPPED, DESTROYED),
		    L_MERGED("STOPPED_DESTROYED", QEMU, 300,
			     "libvirt STOPPED/DESTROYED confirmed earlier verdict"))),
	  0 },
	{ "SIGABRT while libvirt stops the guest, forward_all_events: STOPPED/FAILED merged",
	  true,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGABRT), STOPREQ(FROM_LIBVIRTD(SIGTERM)),
				KILLER(SENDER(SIGABRT, SI_TKILL_CODE, QEMU, "qemu-kvm",
					      "qemu-kvm"))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200,
			      "SIGABRT (crash) while libvirt stopped the guest (SIGTERM from "
			      "libvirtd[812])")),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU, 300,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  0 },
	{ "host shutdown: systemd's SIGTERM then its SIGKILL is a stop", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), STOPREQ(FROM_SYSTEMD(SIGTERM)),
				KILLER(FROM_SYSTEMD(SIGKILL))),
		    K_STOPPED(QEMU, 200, "stop escalated to SIGKILL by systemd[1]")),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU, 300,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  0 },
	{ "host shutdown, forward_all_events: systemd's escalation is a stop too", true,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), STOPREQ(FROM_SYSTEMD(SIGTERM)),
				KILLER(FROM_SYSTEMD(SIGKILL))),
		    K_STOPPED(QEMU, 200, "stop escalated to SIGKILL by systemd[1]")),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU, 300,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  0 },
	{ "a crash during an operator's SIGTERM is a stop", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGSEGV), STOPREQ(FROM_BASH(SIGTERM)),
				KILLER(SENDER(SIGSEGV, SEGV_MAPERR_CODE, QEMU, "qemu-kvm",
					      "qemu-kvm"))),
		    K_STOPPED(QEMU, 200, "SIGSEGV (crash) during stop (SIGTERM from bash[4242])"))),
	  0 },
	{ "another sender's SIGKILL during an operator's stop is a failure", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), STOPREQ(FROM_SYSTEMD(SIGTERM)),
				KILLER(FROM_BASH(SIGKILL))),
		    K_FAILED(QEMU, 200,
			     "SIGKILL from bash[4242] during stop (SIGTERM from systemd[1])"))),
	  1 },
	{ "an OOM kill during an operator's stop is a failure", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), .oom_killed = true,
				STOPREQ(FROM_SYSTEMD(SIGTERM)),
				KILLER(SENDER(SIGKILL, SI_KERNEL_CODE, 0, "", ""))),
		    K_FAILED(QEMU, 200, "OOM kill"))),
	  1 },
	/* ---- live migration, the destination's side (item 6) ---- */
	{ "incoming migration fails (qemu exits 1): no notification", false,
	  STEPS(ONE(F_LIFE(100, STARTED, MIGRATED),
		    L_INFO("STARTED_MIGRATED", 0, 100,
			   "libvirt STARTED/MIGRATED: new incarnation (incoming migration)")),
		NONE(F_RUNNING(110, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, EXITED(1), NOSIG),
		    V_GUEST(VERDICT_GUEST_MIGRATION_FAILED, VERDICT_FROM_KERNEL, false, "", "",
			    QEMU, 200,
			    "incoming migration failed: exit code 1 (the guest runs on the "
			    "source)")),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU, 300,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  0 },
	{ "incoming migration fails, forward_all_events: STOPPED/FAILED not forwarded", true,
	  STEPS(ONE(F_LIFE(100, STARTED, MIGRATED),
		    L_INFO("STARTED_MIGRATED", 0, 100,
			   "libvirt STARTED/MIGRATED: new incarnation (incoming migration)")),
		NONE(F_RUNNING(110, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, EXITED(1), NOSIG),
		    V_GUEST(VERDICT_GUEST_MIGRATION_FAILED, VERDICT_FROM_KERNEL, false, "", "",
			    QEMU, 200,
			    "incoming migration failed: exit code 1 (the guest runs on the "
			    "source)")),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU, 300,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  0 },
	{ "incoming migration: the destination's qemu killed by anyone is no guest failure",
	  false,
	  STEPS(ONE(F_LIFE(100, STARTED, MIGRATED),
		    L_INFO("STARTED_MIGRATED", 0, 100,
			   "libvirt STARTED/MIGRATED: new incarnation (incoming migration)")),
		NONE(F_RUNNING(110, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), KILLER(FROM_BASH(SIGKILL))),
		    V_GUEST(VERDICT_GUEST_MIGRATION_FAILED, VERDICT_FROM_KERNEL, false, "", "",
			    QEMU, 200,
			    "incoming migration failed: SIGKILL from bash[4242] (the guest runs "
			    "on the source)"))),
	  0 },
	{ "incoming migration fails, libvirt's word only (pidfd): no notification", false,
	  STEPS(ONE(F_LIFE(100, STARTED, MIGRATED),
		    L_INFO("STARTED_MIGRATED", 0, 100,
			   "libvirt STARTED/MIGRATED: new incarnation (incoming migration)")),
		NONE(F_RUNNING(110, QEMU)),
		ONE(F_PIDFD(200, QEMU, "qemu-kvm"),
		    V_GUEST(VERDICT_INFO, VERDICT_FROM_PIDFD, false, "", "", QEMU, 200,
			    "qemu exited (cause unknown: pidfd fallback), waiting for libvirt")),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_VERDICT(VERDICT_GUEST_MIGRATION_FAILED, false, "STOPPED_FAILED", QEMU, 300,
			      "incoming migration failed: libvirt STOPPED/FAILED (the guest "
			      "runs on the source)"))),
	  0 },
	{ "daemon started during an incoming migration (the scan says so): no notification",
	  false,
	  STEPS(NONE(F_RUNNING_INCOMING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, EXITED(1), NOSIG),
		    V_GUEST(VERDICT_GUEST_MIGRATION_FAILED, VERDICT_FROM_KERNEL, false, "", "",
			    QEMU, 200,
			    "incoming migration failed: exit code 1 (the guest runs on the source)")),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU, 300,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  0 },
	{ "daemon started during an incoming migration that then completes: a crash is a failure",
	  false,
	  STEPS(NONE(F_RUNNING_INCOMING(100, QEMU)),
		ONE(F_LIFE(150, RESUMED, MIGRATED),
		    L_INFO("RESUMED_MIGRATED", QEMU, 150,
			   "libvirt RESUMED/MIGRATED: incoming migration completed")),
		NONE(F_RUNNING(160, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), KILLER(FROM_BASH(SIGKILL))),
		    K_FAILED(QEMU, 200, "SIGKILL from bash[4242]"))),
	  1 },
	{ "migration completed (RESUMED/MIGRATED): a later crash is a failure", false,
	  STEPS(ONE(F_LIFE(100, STARTED, MIGRATED),
		    L_INFO("STARTED_MIGRATED", 0, 100,
			   "libvirt STARTED/MIGRATED: new incarnation (incoming migration)")),
		NONE(F_RUNNING(110, QEMU)),
		ONE(F_LIFE(150, RESUMED, MIGRATED),
		    L_INFO("RESUMED_MIGRATED", QEMU, 150,
			   "libvirt RESUMED/MIGRATED: incoming migration completed")),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), KILLER(FROM_BASH(SIGKILL))),
		    K_FAILED(QEMU, 200, "SIGKILL from bash[4242]")),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU, 300,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  1 },
	{ "post-copy (RESUMED/POSTCOPY): the guest runs here, a crash is a failure", false,
	  STEPS(ONE(F_LIFE(100, STARTED, MIGRATED),
		    L_INFO("STARTED_MIGRATED", 0, 100,
			   "libvirt STARTED/MIGRATED: new incarnation (incoming migration)")),
		NONE(F_RUNNING(110, QEMU)),
		ONE(F_LIFE(150, RESUMED, POSTCOPY),
		    L_INFO("RESUMED_POSTCOPY", QEMU, 150,
			   "libvirt RESUMED/POSTCOPY: incoming migration completed")),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGSEGV),
				KILLER(SENDER(SIGSEGV, SEGV_MAPERR_CODE, QEMU, "qemu-kvm",
					      "qemu-kvm"))),
		    K_FAILED(QEMU, 200, "SIGSEGV (crash)"))),
	  1 },
	{ "migrated paused (SUSPENDED/PAUSED at the end): a later crash is a failure", false,
	  STEPS(ONE(F_LIFE(100, STARTED, MIGRATED),
		    L_INFO("STARTED_MIGRATED", 0, 100,
			   "libvirt STARTED/MIGRATED: new incarnation (incoming migration)")),
		NONE(F_RUNNING(110, QEMU)),
		ONE(F_LIFE(150, SUSPENDED, PAUSED),
		    L_INFO("SUSPENDED_PAUSED", QEMU, 150,
			   "libvirt SUSPENDED/PAUSED: incoming migration completed")),
		ONE(F_QEMU_EXIT(200, QEMU, EXITED(1), NOSIG), K_FAILED(QEMU, 200, "exit code 1"))),
	  1 },
	{ "the source's side: a crash during an outgoing migration is a failure", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_LIFE(110, STARTED, BOOTED),
		    L_INFO("STARTED_BOOTED", QEMU, 110, "libvirt STARTED/BOOTED: new incarnation")),
		ONE(F_LIFE(150, SUSPENDED, MIGRATED),
		    L_INFO("SUSPENDED_MIGRATED", QEMU, 150, "libvirt SUSPENDED/MIGRATED")),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), KILLER(FROM_BASH(SIGKILL))),
		    K_FAILED(QEMU, 200, "SIGKILL from bash[4242]"))),
	  1 },
	{ "the source's side: a completed migration is a stop", true,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_LIFE(150, SUSPENDED, MIGRATED),
		    L_INFO("SUSPENDED_MIGRATED", QEMU, 150, "libvirt SUSPENDED/MIGRATED")),
		ONE(F_QEMU_EXIT(200, QEMU, EXITED(0), STOPREQ(FROM_LIBVIRTD(SIGTERM)),
				KILLER(FROM_LIBVIRTD(SIGTERM))),
		    K_STOPPED_BY_LIBVIRT(QEMU, 200, "libvirt requested stop (SIGTERM from libvirtd[812])")),
		ONE(F_LIFE(300, STOPPED, MIGRATED),
		    L_MERGED("STOPPED_MIGRATED", QEMU, 300,
			     "libvirt STOPPED/MIGRATED confirmed earlier verdict"))),
	  0 },
	/* ---- incarnations ---- */
	{ "restart with a new tgid: the second failure is notified again", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_LIFE(110, STARTED, BOOTED),
		    L_INFO("STARTED_BOOTED", QEMU, 110, "libvirt STARTED/BOOTED: new incarnation")),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), KILLER(FROM_BASH(SIGKILL))),
		    K_FAILED(QEMU, 200, "SIGKILL from bash[4242]")),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU, 300,
			     "libvirt STOPPED/FAILED confirmed earlier verdict")),
		ONE(F_LIFE(400, STARTED, BOOTED),
		    L_INFO("STARTED_BOOTED", 0, 400, "libvirt STARTED/BOOTED: new incarnation")),
		NONE(F_RUNNING(410, QEMU2)), NONE(F_RUNNING(420, QEMU2)),
		ONE(F_QEMU_EXIT(500, QEMU2, SIGNALED(SIGKILL), KILLER(FROM_BASH(SIGKILL))),
		    K_FAILED(QEMU2, 500, "SIGKILL from bash[4242]")),
		ONE(F_LIFE(600, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU2, 600,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  2 },
	{ "fast restart: libvirt's late STOPPED/FAILED belongs to the old run", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), KILLER(FROM_BASH(SIGKILL))),
		    K_FAILED(QEMU, 200, "SIGKILL from bash[4242]")),
		NONE(F_RUNNING(250, QEMU2)),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU, 300,
			     "libvirt STOPPED/FAILED confirmed earlier verdict")),
		ONE(F_LIFE(400, STARTED, BOOTED),
		    L_INFO("STARTED_BOOTED", QEMU2, 400,
			   "libvirt STARTED/BOOTED: new incarnation")),
		ONE(F_QEMU_EXIT(500, QEMU2, EXITED(3), NOSIG), K_FAILED(QEMU2, 500, "exit code 3")),
		ONE(F_LIFE(600, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU2, 600,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  2 },
	{ "fast restart: a crash before libvirt's STARTED is not reset away", false,
	  STEPS(NONE(F_RUNNING(100, QEMU2)),
		ONE(F_QEMU_EXIT(150, QEMU2, SIGNALED(SIGSEGV),
				KILLER(SENDER(SIGSEGV, SEGV_MAPERR_CODE, QEMU2, "qemu-kvm",
					      "qemu-kvm"))),
		    K_FAILED(QEMU2, 150, "SIGSEGV (crash)")),
		ONE(F_LIFE(300, STARTED, BOOTED),
		    L_INFO("STARTED_BOOTED", QEMU2, 300,
			   "libvirt STARTED/BOOTED: new incarnation")),
		ONE(F_LIFE(400, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU2, 400,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  1 },
	/* ---- pidfd fallback ---- */
	{ "pidfd exit (cause unknown), then libvirt STOPPED/FAILED", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_PIDFD(200, QEMU, "qemu-kvm"),
		    V_GUEST(VERDICT_INFO, VERDICT_FROM_PIDFD, false, "", "", QEMU, 200,
			    "qemu exited (cause unknown: pidfd fallback), waiting for libvirt")),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_FAILED(QEMU, 300, "qemu failed (libvirt STOPPED/FAILED)"))),
	  1 },
	{ "pidfd exit, then libvirt STOPPED/DESTROYED", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_PIDFD(200, QEMU, "qemu-kvm"),
		    V_GUEST(VERDICT_INFO, VERDICT_FROM_PIDFD, false, "", "", QEMU, 200,
			    "qemu exited (cause unknown: pidfd fallback), waiting for libvirt")),
		ONE(F_LIFE(300, STOPPED, DESTROYED),
		    L_STOPPED("STOPPED_DESTROYED", QEMU, 300, "libvirt STOPPED/DESTROYED"))),
	  0 },
	{ "pidfd then eBPF report of the same exit: the kernel decides", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_PIDFD(200, QEMU, "qemu-kvm"),
		    V_GUEST(VERDICT_INFO, VERDICT_FROM_PIDFD, false, "", "", QEMU, 200,
			    "qemu exited (cause unknown: pidfd fallback), waiting for libvirt")),
		ONE(F_QEMU_EXIT(201, QEMU, SIGNALED(SIGKILL), KILLER(FROM_BASH(SIGKILL))),
		    K_FAILED(QEMU, 201, "SIGKILL from bash[4242]")),
		ONE(F_PIDFD(202, QEMU, "qemu-kvm"),
		    V_GUEST(VERDICT_GUEST_MERGED, VERDICT_FROM_PIDFD, false, "", "", QEMU, 202,
			    "qemu exited (cause unknown: pidfd fallback); already decided")),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_MERGED("STOPPED_FAILED", QEMU, 300,
			     "libvirt STOPPED/FAILED confirmed earlier verdict"))),
	  1 },
	{ "fast restart after a pidfd exit: the old failure is still notified", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_PIDFD(200, QEMU, "qemu-kvm"),
		    V_GUEST(VERDICT_INFO, VERDICT_FROM_PIDFD, false, "", "", QEMU, 200,
			    "qemu exited (cause unknown: pidfd fallback), waiting for libvirt")),
		NONE(F_RUNNING(250, QEMU2)),
		ONE(F_LIFE(300, STOPPED, FAILED),
		    L_FAILED(QEMU, 300, "qemu failed (libvirt STOPPED/FAILED)")),
		ONE(F_LIFE(400, STARTED, BOOTED),
		    L_INFO("STARTED_BOOTED", QEMU2, 400,
			   "libvirt STARTED/BOOTED: new incarnation"))),
	  1 },
	/* ---- exits that are no guest's ---- */
	{ "unmapped qemu exit: recorded", false,
	  STEPS(ONE(F_QEMU_EXIT(200, 5555, SIGNALED(SIGKILL), KILLER(FROM_BASH(SIGKILL))),
		    { .kind = VERDICT_UNMAPPED_EXIT, .source = VERDICT_FROM_KERNEL,
		      .name = "qemu-kvm", .tgid = 5555, .failure_ts_ns = 200,
		      .cause = "qemu-kvm[5555] exited, no guest mapped: SIGKILL from bash[4242]" })),
	  0 },
	{ "pacemaker-remoted is not watched unless configured", false,
	  STEPS(ONE(F_EXIT(200, 700, "pacemaker-remot", EXITED(1), NOSIG),
		    { .kind = VERDICT_UNMAPPED_EXIT, .source = VERDICT_FROM_KERNEL,
		      .name = "pacemaker-remot", .tgid = 700, .failure_ts_ns = 200,
		      .cause = "pacemaker-remot[700] exited, no guest mapped: exit code 1" })),
	  0 },
	/* ---- watched host processes ---- */
	{ "watched process kill -9", false,
	  STEPS(ONE(F_EXIT(200, NOVA, "nova-compute", SIGNALED(SIGKILL), KILLER(FROM_BASH(SIGKILL))),
		    P_FAILED(200, "SIGKILL from bash[4242]"))),
	  1 },
	{ "watched process SIGTERM then exit 0", false,
	  STEPS(ONE(F_EXIT(200, NOVA, "nova-compute", EXITED(0), STOPREQ(FROM_SYSTEMD(SIGTERM)),
			   KILLER(FROM_SYSTEMD(SIGTERM))),
		    P_STOPPED(200, "exit code 0 after stop request (SIGTERM from systemd[1])"))),
	  0 },
	{ "watched process killed by SIGTERM", false,
	  STEPS(ONE(F_EXIT(200, NOVA, "nova-compute", SIGNALED(SIGTERM),
			   STOPREQ(FROM_SYSTEMD(SIGTERM)), KILLER(FROM_SYSTEMD(SIGTERM))),
		    P_STOPPED(200, "terminated by SIGTERM from systemd[1]"))),
	  0 },
	{ "watched process: SIGTERM then SIGKILL from the same sender", false,
	  STEPS(ONE(F_EXIT(200, NOVA, "nova-compute", SIGNALED(SIGKILL),
			   STOPREQ(FROM_SYSTEMD(SIGTERM)), KILLER(FROM_SYSTEMD(SIGKILL))),
		    P_STOPPED(200, "stop escalated to SIGKILL by systemd[1]"))),
	  0 },
	{ "watched process: SIGKILL from another sender during a stop", false,
	  STEPS(ONE(F_EXIT(200, NOVA, "nova-compute", SIGNALED(SIGKILL),
			   STOPREQ(FROM_SYSTEMD(SIGTERM)), KILLER(FROM_BASH(SIGKILL))),
		    P_FAILED(200, "SIGKILL from bash[4242] during stop (SIGTERM from systemd[1])"))),
	  1 },
	{ "watched process: crash during a stop is orderly", false,
	  STEPS(ONE(F_EXIT(200, NOVA, "nova-compute", SIGNALED(SIGSEGV),
			   STOPREQ(FROM_SYSTEMD(SIGTERM)),
			   KILLER(SENDER(SIGSEGV, SEGV_MAPERR_CODE, NOVA, "nova-compute",
					 "nova-compute"))),
		    P_STOPPED(200, "SIGSEGV (crash) during stop (SIGTERM from systemd[1])"))),
	  0 },
	{ "watched process crash", false,
	  STEPS(ONE(F_EXIT(200, NOVA, "nova-compute", SIGNALED(SIGSEGV),
			   KILLER(SENDER(SIGSEGV, SEGV_MAPERR_CODE, NOVA, "nova-compute",
					 "nova-compute"))),
		    P_FAILED(200, "SIGSEGV (crash)"))),
	  1 },
	{ "watched process exit 1 without stop request", false,
	  STEPS(ONE(F_EXIT(200, NOVA, "nova-compute", EXITED(1), NOSIG),
		    P_FAILED(200, "exit code 1"))),
	  1 },
	{ "watched process exit 0 without stop request", false,
	  STEPS(ONE(F_EXIT(200, NOVA, "nova-compute", EXITED(0), NOSIG),
		    P_STOPPED(200, "exit code 0"))),
	  0 },
	{ "watched process OOM kill", false,
	  STEPS(ONE(F_EXIT(200, NOVA, "nova-compute", SIGNALED(SIGKILL), .oom_killed = true),
		    P_FAILED(200, "OOM kill"))),
	  1 },
	{ "watched process pidfd exit: unknown counts as failed", false,
	  STEPS(ONE(F_PIDFD(200, NOVA, "nova-compute"),
		    PROC(VERDICT_PROCESS_FAILED, VERDICT_FROM_PIDFD, true, NOVA, 200,
			 "exited, cause unknown (pidfd fallback)"))),
	  1 },
	/* ---- libvirt connection ---- */
	{ "libvirt down: the kernel still decides for mapped guests", false,
	  STEPS(NONE(F_RUNNING(100, QEMU)),
		ONE(F_CONN(150, false),
		    { .kind = VERDICT_INFO, .source = VERDICT_FROM_LIBVIRT, .failure_ts_ns = 150,
		      .cause = "libvirt connection down: kernel facts still decide known guests" }),
		ONE(F_QEMU_EXIT(200, QEMU, SIGNALED(SIGKILL), KILLER(FROM_BASH(SIGKILL))),
		    K_FAILED(QEMU, 200, "SIGKILL from bash[4242]")),
		ONE(F_CONN(300, true),
		    { .kind = VERDICT_INFO, .source = VERDICT_FROM_LIBVIRT, .failure_ts_ns = 300,
		      .cause = "libvirt connection up" })),
	  1 },
};

static struct correlator *new_correlator(bool forward_all)
{
	struct correlate_config cfg = {
		.forward_all_events = forward_all,
		.n_process_names = 2,
		.process_names = { "nova-compute", "libvirtd" },
		.n_managers = 2,
		.managers = { "libvirtd", "virtqemud" },
	};
	struct correlator *c = correlator_new(&cfg);
	assert_non_null(c);
	return c;
}

/* Compares every field; on a mismatch names the scenario, step and field. */
static void check_verdict(const char *scen, size_t step, const struct verdict *got,
			  const struct verdict *want)
{
	bool ok = got->kind == want->kind && got->source == want->source &&
		  got->notify == want->notify && got->is_process == want->is_process &&
		  strcmp(got->event, want->event) == 0 &&
		  strcmp(got->vir_domain_event, want->vir_domain_event) == 0 &&
		  strcmp(got->instance_uuid, want->instance_uuid) == 0 &&
		  strcmp(got->name, want->name) == 0 && got->tgid == want->tgid &&
		  got->failure_ts_ns == want->failure_ts_ns && strcmp(got->cause, want->cause) == 0 &&
		  got->check_libvirt_state == want->check_libvirt_state;
	if (ok)
		return;
	print_error("%s: step %zu\n"
		    "  got:  %s src=%d notify=%d proc=%d event=%s vde=%s uuid=%s name=%s tgid=%u "
		    "ts=%llu check=%d cause=\"%s\"\n"
		    "  want: %s src=%d notify=%d proc=%d event=%s vde=%s uuid=%s name=%s tgid=%u "
		    "ts=%llu check=%d cause=\"%s\"\n",
		    scen, step, verdict_kind_name(got->kind), got->source, got->notify,
		    got->is_process, got->event, got->vir_domain_event, got->instance_uuid,
		    got->name, got->tgid, (unsigned long long)got->failure_ts_ns,
		    got->check_libvirt_state, got->cause, verdict_kind_name(want->kind),
		    want->source, want->notify, want->is_process, want->event,
		    want->vir_domain_event, want->instance_uuid, want->name, want->tgid,
		    (unsigned long long)want->failure_ts_ns, want->check_libvirt_state, want->cause);
	fail();
}

static void run_scenario(void **state)
{
	const struct scenario *s = *state;
	struct correlator *c = new_correlator(s->forward_all);
	struct verdict out[CORRELATE_MAX_VERDICTS];
	size_t notified = 0;

	for (size_t i = 0; i < s->n_steps; i++) {
		const struct step *st = &s->steps[i];
		size_t n = correlator_feed(c, &st->fact, out);
		if (n != st->n) {
			print_error("%s: step %zu: %zu verdicts, want %zu\n", s->name, i, n, st->n);
			fail();
		}
		for (size_t k = 0; k < n; k++) {
			check_verdict(s->name, i, &out[k], &st->want);
			notified += out[k].notify;
		}
	}
	if (notified != s->want_notify) {
		print_error("%s: %zu notifications, want %zu\n", s->name, notified, s->want_notify);
		fail();
	}
	correlator_free(c);
}

/* ---- bounds ---- */

static struct fact running_fact(uint64_t ts, const char *uuid, uint32_t tgid)
{
	struct fact f = { .kind = FACT_GUEST_RUNNING, .guest = { .ts_ns = ts, .tgid = tgid } };
	snprintf(f.guest.uuid, sizeof(f.guest.uuid), "%s", uuid);
	snprintf(f.guest.name, sizeof(f.guest.name), "vm-%u", tgid);
	return f;
}

static struct fact failed_fact(uint64_t ts, const char *uuid)
{
	struct fact f = { .kind = FACT_LIBVIRT_LIFECYCLE,
			  .lifecycle = { .ts_ns = ts,
					 .event = VIR_DOMAIN_EVENT_STOPPED,
					 .detail = VIR_DOMAIN_EVENT_STOPPED_FAILED } };
	snprintf(f.lifecycle.uuid, sizeof(f.lifecycle.uuid), "%s", uuid);
	return f;
}

static struct fact kill_fact(uint64_t ts, uint32_t tgid)
{
	struct fact f = F_QEMU_EXIT(ts, tgid, SIGNALED(SIGKILL), KILLER(FROM_BASH(SIGKILL)));
	return f;
}

static void uuid_of(char out[FACT_UUID_LEN], unsigned i)
{
	snprintf(out, FACT_UUID_LEN, "00000000-0000-0000-0000-%012u", i);
}

static bool has_tgid(const struct correlator *c, uint32_t tgid)
{
	static uint32_t tgids[CORRELATE_MAX_GUESTS];
	size_t n = correlator_guest_tgids(c, tgids, CORRELATE_MAX_GUESTS);
	for (size_t i = 0; i < n; i++)
		if (tgids[i] == tgid)
			return true;
	return false;
}

static void test_capacity_eviction(void **state)
{
	(void)state;
	struct correlator *c = new_correlator(false);
	struct verdict out[CORRELATE_MAX_VERDICTS];
	static uint32_t tgids[CORRELATE_MAX_GUESTS + 1];
	char uuid[FACT_UUID_LEN], extra[FACT_UUID_LEN], gone[FACT_UUID_LEN];
	struct fact f;
	uint64_t ts = 1;

	for (unsigned i = 0; i < CORRELATE_MAX_GUESTS; i++) {
		uuid_of(uuid, i);
		f = running_fact(ts++, uuid, 10000 + i);
		assert_int_equal(correlator_feed(c, &f, out), 0);
	}
	assert_int_equal(correlator_guest_tgids(c, tgids, CORRELATE_MAX_GUESTS + 1),
			 CORRELATE_MAX_GUESTS);

	/* Full of running guests: a new one is refused, not crashed on. */
	uuid_of(extra, 99999);
	f = running_fact(ts++, extra, 20000);
	assert_int_equal(correlator_feed(c, &f, out), 1);
	assert_int_equal(out[0].kind, VERDICT_INFO);
	assert_false(out[0].notify);
	assert_string_equal(out[0].cause, "guest table full (1024 running guests): qemu not tracked");
	assert_false(has_tgid(c, 20000));

	/* A libvirt failure of an untracked guest is still notified. */
	uuid_of(gone, 88888);
	f = failed_fact(ts++, gone);
	assert_int_equal(correlator_feed(c, &f, out), 1);
	assert_int_equal(out[0].kind, VERDICT_GUEST_FAILED);
	assert_true(out[0].notify);
	assert_string_equal(out[0].instance_uuid, gone);

	/* Guests 5 then 3 stop; the new guest evicts the older stop (5). */
	f = kill_fact(ts++, 10005);
	assert_int_equal(correlator_feed(c, &f, out), 1);
	assert_int_equal(out[0].kind, VERDICT_GUEST_FAILED);
	f = kill_fact(ts++, 10003);
	assert_int_equal(correlator_feed(c, &f, out), 1);
	assert_int_equal(out[0].kind, VERDICT_GUEST_FAILED);
	f = running_fact(ts++, extra, 20000);
	assert_int_equal(correlator_feed(c, &f, out), 0);
	assert_true(has_tgid(c, 20000));
	assert_false(has_tgid(c, 10005));
	assert_false(has_tgid(c, 10003));
	assert_true(has_tgid(c, 10004));

	/* Guest 3 kept its state: libvirt's confirmation merges. */
	uuid_of(uuid, 3);
	f = failed_fact(ts++, uuid);
	assert_int_equal(correlator_feed(c, &f, out), 1);
	assert_int_equal(out[0].kind, VERDICT_GUEST_MERGED);
	assert_false(out[0].notify);
	/* Guest 5 was forgotten: libvirt's word alone decides again. */
	uuid_of(uuid, 5);
	f = failed_fact(ts++, uuid);
	assert_int_equal(correlator_feed(c, &f, out), 1);
	assert_int_equal(out[0].kind, VERDICT_GUEST_FAILED);
	assert_true(out[0].notify);

	assert_int_equal(correlator_guest_tgids(c, tgids, CORRELATE_MAX_GUESTS + 1),
			 CORRELATE_MAX_GUESTS - 1);
	correlator_free(c);
}

static void test_guest_tgids(void **state)
{
	(void)state;
	struct correlator *c = new_correlator(false);
	struct verdict out[CORRELATE_MAX_VERDICTS];
	uint32_t tgids[4] = { 0 };
	struct fact f;

	assert_int_equal(correlator_guest_tgids(c, tgids, 4), 0);
	f = running_fact(1, "aaaaaaaa-0000-0000-0000-000000000001", 101);
	assert_int_equal(correlator_feed(c, &f, out), 0);
	f = running_fact(2, "aaaaaaaa-0000-0000-0000-000000000002", 102);
	assert_int_equal(correlator_feed(c, &f, out), 0);
	f = running_fact(3, "aaaaaaaa-0000-0000-0000-000000000003", 103);
	assert_int_equal(correlator_feed(c, &f, out), 0);
	f = running_fact(4, "aaaaaaaa-0000-0000-0000-000000000003", 103); /* idempotent */
	assert_int_equal(correlator_feed(c, &f, out), 0);

	assert_int_equal(correlator_guest_tgids(c, tgids, 4), 3);
	assert_int_equal(tgids[0], 101);
	assert_int_equal(tgids[1], 102);
	assert_int_equal(tgids[2], 103);
	assert_int_equal(correlator_guest_tgids(c, tgids, 2), 2); /* bounded by max */

	/* A reused pid leaves its old guest. */
	f = running_fact(5, "aaaaaaaa-0000-0000-0000-000000000004", 101);
	assert_int_equal(correlator_feed(c, &f, out), 0);
	assert_int_equal(correlator_guest_tgids(c, tgids, 4), 3);

	/* An exit unmaps; a racing scan re-announcing it is ignored. */
	f = kill_fact(6, 102);
	assert_int_equal(correlator_feed(c, &f, out), 1);
	assert_int_equal(correlator_guest_tgids(c, tgids, 4), 2);
	f = running_fact(7, "aaaaaaaa-0000-0000-0000-000000000002", 102);
	assert_int_equal(correlator_feed(c, &f, out), 1);
	assert_int_equal(out[0].kind, VERDICT_INFO);
	assert_string_equal(out[0].cause, "stale qemu mapping ignored: tgid 102 already exited");
	assert_int_equal(correlator_guest_tgids(c, tgids, 4), 2);
	correlator_free(c);
}

static void test_kind_names(void **state)
{
	(void)state;
	static const struct {
		enum verdict_kind kind;
		const char *name;
	} names[] = {
		{ VERDICT_GUEST_FAILED, "guest_failed" },
		{ VERDICT_GUEST_IO_ERROR, "guest_io_error" },
		{ VERDICT_GUEST_FORWARDED, "guest_forwarded" },
		{ VERDICT_GUEST_STOPPED, "guest_stopped" },
		{ VERDICT_GUEST_MERGED, "guest_merged" },
		{ VERDICT_PROCESS_FAILED, "process_failed" },
		{ VERDICT_PROCESS_STOPPED, "process_stopped" },
		{ VERDICT_UNMAPPED_EXIT, "unmapped_exit" },
		{ VERDICT_GUEST_MIGRATION_FAILED, "guest_migration_failed" },
		{ VERDICT_INFO, "info" },
		{ (enum verdict_kind)0, "unknown" },
		{ (enum verdict_kind)99, "unknown" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_string_equal(verdict_kind_name(names[i].kind), names[i].name);
}

/* Same facts, same verdicts, byte for byte. */
static void test_deterministic(void **state)
{
	(void)state;
	struct correlator *a = new_correlator(true), *b = new_correlator(true);
	for (size_t s = 0; s < sizeof(scenarios) / sizeof(scenarios[0]); s++) {
		for (size_t i = 0; i < scenarios[s].n_steps; i++) {
			struct verdict va[CORRELATE_MAX_VERDICTS], vb[CORRELATE_MAX_VERDICTS];
			size_t na = correlator_feed(a, &scenarios[s].steps[i].fact, va);
			size_t nb = correlator_feed(b, &scenarios[s].steps[i].fact, vb);
			assert_int_equal(na, nb);
			assert_memory_equal(va, vb, na * sizeof(va[0]));
		}
	}
	correlator_free(a);
	correlator_free(b);
}

/* Garbage from the shell is recorded, never fatal. */
static void test_odd_facts(void **state)
{
	(void)state;
	struct correlator *c = new_correlator(false);
	struct verdict out[CORRELATE_MAX_VERDICTS];
	struct fact f;

	memset(&f, 0, sizeof(f));
	f.kind = (enum fact_kind)77;
	assert_int_equal(correlator_feed(c, &f, out), 1);
	assert_int_equal(out[0].kind, VERDICT_INFO);
	assert_string_equal(out[0].cause, "unknown fact kind 77");

	f = running_fact(1, "", 0);
	assert_int_equal(correlator_feed(c, &f, out), 1);
	assert_int_equal(out[0].kind, VERDICT_INFO);

	/* Unterminated strings are bounded. */
	memset(&f, 'x', sizeof(f));
	f.kind = FACT_LIBVIRT_LIFECYCLE;
	f.lifecycle.event = 42;
	f.lifecycle.detail = -7;
	assert_int_equal(correlator_feed(c, &f, out), 1);
	assert_int_equal(out[0].kind, VERDICT_INFO);
	assert_string_equal(out[0].vir_domain_event, "EVENT42_-7");
	assert_int_equal(strlen(out[0].instance_uuid), FACT_UUID_LEN - 1);

	memset(&f, 'y', sizeof(f));
	f.kind = FACT_PROC_EXIT;
	f.exit.source = EXIT_SOURCE_EBPF;
	f.exit.status_known = true;
	f.exit.wait_status = SIGNALED(SIGKILL);
	f.exit.oom_killed = false;
	f.exit.has_fatal_signal = true;
	f.exit.fatal_signal.sig = SIGKILL;
	f.exit.fatal_signal.si_code = 0;
	f.exit.has_stop_request = false;
	assert_int_equal(correlator_feed(c, &f, out), 1);
	assert_int_equal(out[0].kind, VERDICT_UNMAPPED_EXIT);
	assert_true(strlen(out[0].cause) < VERDICT_CAUSE_LEN);
	correlator_free(c);
}

int main(void)
{
	enum { N = sizeof(scenarios) / sizeof(scenarios[0]) };
	struct CMUnitTest tests[N + 5];
	for (size_t i = 0; i < N; i++)
		tests[i] = (struct CMUnitTest){ .name = scenarios[i].name,
						.test_func = run_scenario,
						.initial_state = (void *)&scenarios[i] };
	tests[N + 0] = (struct CMUnitTest)cmocka_unit_test(test_capacity_eviction);
	tests[N + 1] = (struct CMUnitTest)cmocka_unit_test(test_guest_tgids);
	tests[N + 2] = (struct CMUnitTest)cmocka_unit_test(test_kind_names);
	tests[N + 3] = (struct CMUnitTest)cmocka_unit_test(test_deterministic);
	tests[N + 4] = (struct CMUnitTest)cmocka_unit_test(test_odd_facts);
	return cmocka_run_group_tests_name("correlate", tests, NULL, NULL);
}
