/* mimamorid: the per-compute-node daemon. A thin shell around the pure
 * correlation core: it owns the epoll loop, feeds the core with facts from
 * the eBPF probe (or the pidfd fallback) and the libvirt watcher thread,
 * and hands every verdict that must be notified to the notifier thread
 * through the durable outbox. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon/common/config.h"
#include "daemon/serve/control_service.h"
#include "core/correlate.h"
#include "core/delivery_policy.h"
#include "daemon/common/event_log.h"
#include "daemon/loop/libvirt_watch.h"
#include "os/log.h"
#include "daemon/mesh/mesh_node.h"
#include "daemon/common/metrics.h"
#include "daemon/serve/metrics_http.h"
#include "core/notification.h"
#include "core/watchlist.h"
#include "daemon/notifier/notifier.h"
#include "daemon/notifier/outbox.h"
#include "daemon/loop/pidfd_watch.h"
#include "daemon/loop/privileges.h"
#include "daemon/loop/probe.h"
#include "daemon/loop/status_file.h"
#include "daemon/loop/systemd_notify.h"
#include "base/units.h"
#include "os/clock.h"
#include "os/threads.h"

#define EXIT_CONFIG 2
#define TICK_MS 1000
#define EVENT_LOOP_RT_PRIORITY 10

enum probe_mode { PROBE_EBPF = 1, PROBE_PIDFD };

struct daemon {
	struct mimamori_config cfg;
	struct correlator *core;
	struct probe *probe;
	struct pidfd_watch *pidfd;
	enum probe_mode mode;
	char degraded_reason[512];
	struct libvirt_watch *libvirt;
	struct notifier *notifier;
	struct event_log *events;
	struct metrics *metrics;
	struct metrics_http *metrics_http;
	struct control_service *control;
	struct mesh_node *mesh; /* [mesh] enabled: the peer mesh thread */
	char control_url[CONFIG_PATH_LEN + 8];
	bool snapshot_dirty; /* the control service's copy is out of date */
	int epfd, sigfd, timerfd;
	int64_t started_realtime_ns;
	const char *config_path, *masakari_conf; /* re-read on SIGHUP */
	char capabilities[256];    /* after the drop, for status */
	uint64_t received_mono_ns; /* when the fact being handled was read */
	uint64_t verdicts, notifications;
	bool stopping;
};

static void handle_verdict(struct daemon *d, const struct fact *f, const struct verdict *v)
{
	struct verdict_timing t = {
		.fact_mono_ns = v->failure_ts_ns,
		.received_mono_ns = d->received_mono_ns,
		.verdict_mono_ns = mono_ns(),
		.verdict_realtime_ns = realtime_ns(),
	};
	uint64_t outbox_id = 0;

	d->verdicts++;
	metrics_verdict(d->metrics, v->kind);
	/* First decisions only: a merged or informational verdict carries an
	 * earlier event's failure time. */
	if (v->kind != VERDICT_GUEST_MERGED && v->kind != VERDICT_INFO &&
	    t.verdict_mono_ns >= v->failure_ts_ns)
		metrics_observe_detection_latency_ns(d->metrics, t.verdict_mono_ns - v->failure_ts_ns);
	if (v->notify) {
		/* kernel stamps are CLOCK_MONOTONIC; Masakari wants wall-clock time */
		int64_t failure_rt = mono_to_realtime(v->failure_ts_ns);
		char *body = notification_body_from_verdict(v, d->cfg.hostname, failure_rt);
		int rc = body ? notifier_submit(d->notifier, body, failure_rt, &outbox_id) : -ENOMEM;

		/* A notification that cannot be made durable is still logged with
		 * everything needed to send it by hand. */
		if (rc < 0)
			log_error("cannot store notification for %s in the outbox: %s; body: %s",
				  v->name, strerror(-rc), body ? body : "(none)");
		else
			d->notifications++;
		t.durable_mono_ns = mono_ns();
		free(body);
	}
	if (v->notify || log_enabled(LOG_LEVEL_DEBUG) || v->kind != VERDICT_INFO)
		log_info("%s: %s%s%s (%s)%s", verdict_kind_name(v->kind), v->name,
			 v->instance_uuid[0] ? " " : "", v->instance_uuid, v->cause,
			 v->notify ? ", notifying Masakari" : "");
	event_log_verdict(d->events, f, v, &t, outbox_id);
}

static void handle_fact(const struct fact *f, void *ctx)
{
	struct daemon *d = ctx;
	struct verdict out[CORRELATE_MAX_VERDICTS];
	size_t n;

	if (f->kind == FACT_PROC_EXIT)
		metrics_probe_event(d->metrics, metrics_exit_cause_of(&f->exit));
	n = correlator_feed(d->core, f, out);
	for (size_t i = 0; i < n; i++) {
		struct verdict v = out[i];

		/* With the mesh, a failed pacemaker-remoted (core/watchlist.c says
		 * which processes) is the peers' to judge: a process failure if
		 * this host stays reachable, else theirs to report as a host
		 * failure. An orderly stop (maintenance) is only recorded, as for
		 * any watched process. */
		const struct watch_entry *to_mesh =
			v.kind == VERDICT_PROCESS_FAILED ? watchlist_failure_to_mesh(v.name, d->mesh)
							 : NULL;
		/* So is a [process] watched failure (nova-compute) when the mesh
		 * detects host failures (issue 10, item 8): Masakari's engine puts
		 * a host on maintenance on a PROCESS STOPPED and its API then
		 * refuses the host's COMPUTE_HOST with a 409, so the death of a
		 * process on a host that is dying (Pacemaker's STONITH after
		 * pacemaker-remoted died too, a power loss under way) must not
		 * reach Masakari first. The peers post the PROCESS after
		 * process_grace if this host is still reachable, and drop it when
		 * the host is declared failed (fence, then one COMPUTE_HOST). */
		const char *mesh_process =
			to_mesh ? to_mesh->process
			: v.kind == VERDICT_PROCESS_FAILED && v.notify && d->mesh ? v.name
										: NULL;

		if (mesh_process) {
			int mrc = mesh_node_local_process_failed(d->mesh, mesh_process,
								 v.failure_ts_ns);

			if (mrc < 0) {
				log_error("mesh: cannot report %s's failure to the peers (%s): "
					  "notifying Masakari from here", mesh_process,
					  strerror(-mrc));
			} else {
				v.notify = false;
				snprintf(v.cause + strnlen(v.cause, sizeof(v.cause)),
					 sizeof(v.cause) - strnlen(v.cause, sizeof(v.cause)),
					 "; reported to the mesh");
			}
		}
		handle_verdict(d, f, &v);
		/* libvirt killed this qemu and has not said why: its state will
		 * (issue 10, item 7: a failed reconnection after its restart) */
		if (v.check_libvirt_state &&
		    libvirt_watch_check_state(d->libvirt, v.instance_uuid,
					      LIBVIRT_STOPPED_OVERDUE_MS) < 0)
			log_warn("libvirt: too many state checks pending; %s %s not checked",
				 v.name, v.instance_uuid);
	}
	/* Without eBPF, the qemu processes libvirt tells us about are what the
	 * pidfd fallback must watch. */
	if (f->kind == FACT_GUEST_RUNNING && d->pidfd) {
		int rc = pidfd_watch_add(d->pidfd, f->guest.tgid, "qemu");

		if (rc < 0 && rc != -ESRCH)
			log_warn("pidfd: cannot watch qemu %u: %s", f->guest.tgid, strerror(-rc));
	}
}

static void pidfd_rescan(struct daemon *d)
{
	const char *prefixes[WATCHLIST_MAX_NAMES];
	size_t n = watchlist_scan_prefixes(d->cfg.process_names, d->cfg.n_process_names, prefixes,
					   WATCHLIST_MAX_NAMES);

	pidfd_watch_scan(d->pidfd, prefixes, n);
}

static int open_probe(struct daemon *d)
{
	char err[512] = "";
	const char *mode = d->cfg.probe_mode;

	if (strcmp(mode, "pidfd") != 0) {
		struct probe_config pc = { 0 };

		for (size_t i = 0; i < d->cfg.n_process_names && i < PROBE_MAX_EXTRA_NAMES; i++) {
			snprintf(pc.extra_names[i], sizeof(pc.extra_names[i]), "%s",
				 d->cfg.process_names[i]);
			pc.n_extra_names++;
		}
		d->probe = probe_open(&pc, err, sizeof(err));
		if (d->probe) {
			d->mode = PROBE_EBPF;
			log_info("probe: eBPF exit probe loaded (sched_process_exit, signal_generate, "
				 "mark_victim)");
			event_log_note(d->events, "probe", "ebpf");
			return 0;
		}
		if (strcmp(mode, "ebpf") == 0) {
			log_error("probe: eBPF is required ([probe] mode = ebpf) but cannot load: %s",
				  err);
			return -1;
		}
	} else {
		snprintf(err, sizeof(err), "[probe] mode = pidfd");
	}
	d->pidfd = pidfd_watch_new();
	if (!d->pidfd) {
		log_error("probe: neither eBPF nor the pidfd fallback is available");
		return -1;
	}
	d->mode = PROBE_PIDFD;
	snprintf(d->degraded_reason, sizeof(d->degraded_reason), "%s", err);
	log_error("probe: DEGRADED MODE: eBPF unavailable (%s); watching known PIDs with pidfd: "
		  "no exit cause, no signal sender, no OOM flag; guest verdicts wait for libvirt",
		  err);
	event_log_note(d->events, "probe", "pidfd fallback (degraded)");
	pidfd_rescan(d);
	return 0;
}

static void fill_status(struct daemon *d, struct daemon_status *s)
{
	memset(s, 0, sizeof(*s));
	s->hostname = d->cfg.hostname;
	s->pid = getpid();
	s->started_realtime_ns = d->started_realtime_ns;
	s->probe_mode = d->mode == PROBE_EBPF ? "ebpf" : "pidfd";
	s->degraded_reason = d->degraded_reason;
	if (d->probe)
		probe_get_stats(d->probe, &s->probe_stats);
	if (d->pidfd)
		s->pidfd_watched = pidfd_watch_count(d->pidfd);
	libvirt_watch_get_status(d->libvirt, &s->libvirt);
	notifier_get_status(d->notifier, &s->notifier);
	s->n_guests = correlator_guest_tgids(d->core, s->guest_tgids, STATUS_MAX_GUESTS);
	s->verdicts = d->verdicts;
	s->notifications = d->notifications;
	s->process_names = (const char(*)[FACT_COMM_LEN])d->cfg.process_names;
	s->capabilities = d->capabilities;
	s->n_process_names = d->cfg.n_process_names;
}

static void publish_snapshot(struct daemon *d)
{
	static struct control_snapshot snap; /* event loop thread only */
	size_t n;

	if (!d->control)
		return;
	memset(&snap, 0, sizeof(snap));
	snap.probe_mode = d->mode == PROBE_EBPF ? "ebpf" : "pidfd";
	snprintf(snap.degraded_reason, sizeof(snap.degraded_reason), "%s", d->degraded_reason);
	if (d->probe)
		probe_get_stats(d->probe, &snap.probe_stats);
	if (d->pidfd)
		snap.pidfd_watched = pidfd_watch_count(d->pidfd);
	static uint32_t all[CORRELATE_MAX_GUESTS];
	n = correlator_running_guests(d->core, snap.guests, CONTROL_MAX_GUESTS);
	snap.n_guests = n;
	snap.guests_truncated = correlator_guest_tgids(d->core, all, CORRELATE_MAX_GUESTS) > n;
	snap.verdicts = d->verdicts;
	snap.notifications = d->notifications;
	control_service_publish(d->control, &snap);
	d->snapshot_dirty = false;
}

static void write_status(struct daemon *d)
{
	struct daemon_status s;
	char err[256];

	fill_status(d, &s);
	metrics_set_counter(d->metrics, METRICS_PROBE_RINGBUF_DROPS, s.probe_stats.ringbuf_drops);
	if (status_file_write(d->cfg.state_dir, &s, err, sizeof(err)) < 0)
		log_warn("status: %s", err);
}

/* Runs on the metrics server's thread before each scrape: only status
 * calls that take their owner's lock (the probe and the core belong to
 * the main thread; their metrics are updated there). */
static void refresh_metrics(void *ctx)
{
	struct daemon *d = ctx;
	struct notifier_status ns;
	struct libvirt_watch_status ls;
	int64_t age = 0;

	notifier_get_status(d->notifier, &ns);
	libvirt_watch_get_status(d->libvirt, &ls);
	if (ns.oldest_pending_realtime_ns > 0 && realtime_ns() > ns.oldest_pending_realtime_ns)
		age = realtime_ns() - ns.oldest_pending_realtime_ns;
	metrics_set_gauge(d->metrics, METRICS_OUTBOX_PENDING, (int64_t)ns.pending);
	metrics_set_gauge(d->metrics, METRICS_OUTBOX_FAILED, (int64_t)ns.failed);
	metrics_set_gauge(d->metrics, METRICS_OUTBOX_OLDEST_AGE_NS, age);
	metrics_set_gauge(d->metrics, METRICS_LIBVIRT_CONNECTED, ls.connected);
	metrics_set_counter(d->metrics, METRICS_LIBVIRT_RECONNECTS, ls.reconnects);
	metrics_set_gauge(d->metrics, METRICS_MASAKARI_TOKEN_VALID,
			  ns.masakari.token == TOKEN_VALID || ns.masakari.token == TOKEN_NOAUTH);
}

static int add_fd(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int setup_loop(struct daemon *d)
{
	sigset_t mask;
	struct itimerspec tick = {
		.it_interval = { .tv_sec = TICK_MS / 1000, .tv_nsec = (TICK_MS % 1000) * 1000000L },
		.it_value = { .tv_sec = TICK_MS / 1000, .tv_nsec = (TICK_MS % 1000) * 1000000L },
	};

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0)
		return -1;
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sigfd < 0 || d->timerfd < 0 || d->epfd < 0)
		return -1;
	if (timerfd_settime(d->timerfd, 0, &tick, NULL) < 0)
		return -1;
	if (add_fd(d->epfd, d->sigfd) < 0 || add_fd(d->epfd, d->timerfd) < 0)
		return -1;
	return 0;
}

/* Scheduling latency dominates kill -> verdict on a busy host (field
 * measurements: p99 0.7-2.3 ms at normal priority, 0.3-0.6 ms with
 * SCHED_FIFO). The loop only wakes for events, so a modest real-time
 * priority cannot starve the host. It is raised while CAP_SYS_NICE is still
 * held; every other thread is created with normal priority (threads.h). */
static void raise_priority(void)
{
	struct sched_param sp = { .sched_priority = EVENT_LOOP_RT_PRIORITY };
	int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);

	if (rc != 0)
		log_warn("cannot use SCHED_FIFO for the event loop (%s): detection latency "
			 "will follow the host's load", strerror(rc));
}

static int read_config(struct mimamori_config *cfg, const char *config_path,
		       const char *masakari_conf, char *err, size_t errlen);

/* What a running daemon can take over from a new configuration file; the
 * rest needs a restart (and is said so, key by key). */
static void warn_if_changed(const char *key, bool changed)
{
	if (changed)
		log_warn("reload: %s changed; it takes effect only after a restart", key);
}

static void reload(struct daemon *d)
{
	struct mimamori_config next;
	struct delivery_policy_config policy;
	char err[CONFIG_ERR_LEN];
	const struct mimamori_config *cur = &d->cfg;

	systemd_notify_reloading();
	if (read_config(&next, d->config_path, d->masakari_conf, err, sizeof(err)) < 0) {
		log_error("reload: new configuration rejected, the running one stays in force: %s",
			  err);
		event_log_note(d->events, "reload", "rejected");
		systemd_notify_ready(NULL);
		return;
	}
	warn_if_changed("[node] hostname", strcmp(next.hostname, cur->hostname) != 0);
	warn_if_changed("[node] state_dir", strcmp(next.state_dir, cur->state_dir) != 0);
	warn_if_changed("[instance] libvirt_uri", strcmp(next.libvirt_uri, cur->libvirt_uri) != 0);
	warn_if_changed("[process] watched",
			next.n_process_names != cur->n_process_names ||
				memcmp(next.process_names, cur->process_names,
				       sizeof(next.process_names)) != 0);
	warn_if_changed("[probe] mode", strcmp(next.probe_mode, cur->probe_mode) != 0);
	warn_if_changed("[control] socket/group",
			strcmp(next.control_socket, cur->control_socket) != 0 ||
				strcmp(next.control_group, cur->control_group) != 0);
	warn_if_changed("[metrics] listen", strcmp(next.metrics_listen, cur->metrics_listen) != 0);

	delivery_policy_defaults(&policy);
	policy.max_age_ns = (int64_t)next.delivery_max_age_s * (int64_t)NS_PER_S;
	notifier_reconfigure(d->notifier, &next.masakari, &policy);
	correlator_set_forward_all_events(d->core, next.forward_all_events);
	d->cfg.masakari = next.masakari;
	d->cfg.forward_all_events = next.forward_all_events;
	d->cfg.delivery_max_age_s = next.delivery_max_age_s;
	log_info("reload: configuration applied ([masakari], [instance] forward_all_events, "
		 "[delivery])");
	event_log_note(d->events, "reload", "applied");
	systemd_notify_ready(NULL);
}

static void handle_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: reloading the configuration");
			reload(d);
			continue;
		}
		log_info("signal %u: stopping", si.ssi_signo);
		systemd_notify_stopping();
		d->stopping = true;
	}
}

static void drain_libvirt(struct daemon *d)
{
	struct fact f;
	int rc;

	while ((rc = libvirt_watch_read(d->libvirt, &f)) == 1) {
		d->received_mono_ns = mono_ns();
		handle_fact(&f, d);
	}
	if (rc < 0)
		log_error("libvirt: reading facts: %s", strerror(-rc));
}

static int run(struct daemon *d)
{
	int watch_fd = d->probe ? probe_fd(d->probe) : pidfd_watch_fd(d->pidfd);
	int libvirt_fd = libvirt_watch_fd(d->libvirt);

	if (add_fd(d->epfd, watch_fd) < 0 || add_fd(d->epfd, libvirt_fd) < 0) {
		log_error("epoll: %s", strerror(errno));
		return 1;
	}
	while (!d->stopping) {
		struct epoll_event evs[8];
		int n = epoll_wait(d->epfd, evs, 8, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait: %s", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			d->received_mono_ns = mono_ns();
			if (fd == watch_fd && d->probe) {
				int rc = probe_consume(d->probe, handle_fact, d);

				if (rc < 0)
					log_error("probe: %s", strerror(-rc));
			} else if (fd == watch_fd) {
				pidfd_watch_consume(d->pidfd, d->received_mono_ns, handle_fact, d);
			} else if (fd == libvirt_fd) {
				drain_libvirt(d);
			} else if (fd == d->sigfd) {
				handle_signal(d);
			} else if (fd == d->timerfd) {
				uint64_t expirations;

				if (read(d->timerfd, &expirations, sizeof(expirations)) < 0 &&
				    errno != EAGAIN)
					log_warn("timerfd: %s", strerror(errno));
				if (d->pidfd)
					pidfd_rescan(d);
				write_status(d);
				publish_snapshot(d);
				systemd_notify_watchdog();
			}
		}
		if (d->snapshot_dirty)
			publish_snapshot(d);
	}
	return 0;
}

/* nng creates its thread pool on first use, and threads inherit their
 * creator's scheduling policy: so nng is first used from a helper thread at
 * normal priority (the event loop is SCHED_FIFO by now), after the
 * capability drop. */
static void *network_services_thread(void *arg)
{
	struct daemon *d = arg;
	char err[512];
	struct control_context cc = {
		.hostname = d->cfg.hostname,
		.pid = getpid(),
		.started_realtime_ns = d->started_realtime_ns,
		.capabilities = d->capabilities,
		.process_names = (const char(*)[FACT_COMM_LEN])d->cfg.process_names,
		.n_process_names = d->cfg.n_process_names,
		.events = d->events,
		.notifier = d->notifier,
		.libvirt = d->libvirt,
		.metrics = d->metrics,
		.mesh = d->mesh,
	};

	/* Not fatal either: without it mimamorictl cannot answer, but
	 * failures are still detected and notified. */
	snprintf(d->control_url, sizeof(d->control_url), "ipc://%s", d->cfg.control_socket);
	d->control = control_service_start(d->cfg.control_socket, &cc, err, sizeof(err));
	if (d->control)
		log_info("control: listening on %s", d->control_url);
	else
		log_error("control: %s; mimamorictl will not reach this daemon", err);

	/* Not fatal: failure detection matters more than its metrics, and
	 * Prometheus reports the target down (MimamoriDown). */
	if (d->cfg.metrics_listen[0]) {
		d->metrics_http = metrics_http_start(d->cfg.metrics_listen, d->metrics,
						     refresh_metrics, d, err, sizeof(err));
		if (d->metrics_http)
			log_info("metrics: http://%s/metrics", d->cfg.metrics_listen);
		else
			log_error("metrics: %s; running without /metrics", err);
	}
	return NULL;
}

static void start_network_services(struct daemon *d)
{
	pthread_t t;
	int rc = thread_start_normal_priority(&t, network_services_thread, d);

	if (rc != 0) {
		log_error("cannot start the network services: %s", strerror(rc));
		return;
	}
	pthread_join(t, NULL);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mimamorid [--config FILE] [--masakari-conf FILE] [--check-config] [-v]\n"
		"  --config FILE         mimamori.conf (ini); default /etc/mimamori/mimamori.conf\n"
		"  --masakari-conf FILE  read Masakari credentials from masakarimonitors.conf [api]\n"
		"  --check-config        validate the configuration and exit\n"
		"  -v, --verbose         debug logging\n");
}

static int read_config(struct mimamori_config *cfg, const char *config_path,
		       const char *masakari_conf, char *err, size_t errlen)
{
	char why[CONFIG_ERR_LEN];

	config_defaults(cfg);
	if (config_path && config_load(cfg, config_path, err, errlen) < 0)
		return -1;
	if (masakari_conf && config_load_masakari_monitors(cfg, masakari_conf, err, errlen) < 0)
		return -1;
	if (config_validate(cfg, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s%s%.*s", config_path ? config_path : "",
			 config_path ? ": " : "", (int)(errlen > 16 ? errlen - 16 : 0), why);
		return -1;
	}
	return 0;
}

static int load_configuration(struct daemon *d, int argc, char **argv, bool *check_only)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "masakari-conf", required_argument, NULL, 'm' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *masakari_conf = NULL;
	char err[CONFIG_ERR_LEN];
	int c;

	while ((c = getopt_long(argc, argv, "c:m:kvh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'm': masakari_conf = optarg; break;
		case 'k': *check_only = true; break;
		case 'v': log_set_level(LOG_LEVEL_DEBUG); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mimamorid: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	if (!config_path && access("/etc/mimamori/mimamori.conf", F_OK) == 0)
		config_path = "/etc/mimamori/mimamori.conf";
	d->config_path = config_path;
	d->masakari_conf = masakari_conf;
	if (read_config(&d->cfg, config_path, masakari_conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "mimamorid: %s\n", err);
		return -1;
	}
	return 0;
}

static int open_outbox_and_notifier(struct daemon *d)
{
	struct outbox_open_report rep = { 0 };
	struct delivery_policy_config policy;
	char err[512];
	struct outbox *ob = outbox_open(d->cfg.state_dir, &rep, err, sizeof(err));

	if (!ob) {
		log_error("outbox: %s", err);
		return -1;
	}
	/* The outbox's lock is ours: so is the state directory. */
	int src = status_file_remove(d->cfg.state_dir);

	if (src < 0)
		log_warn("cannot remove the previous daemon's status.json: %s", strerror(-src));
	if (rep.torn_tail)
		log_warn("outbox: a torn last record (crash during a write) was cut off");
	if (rep.corrupt_records)
		log_warn("outbox: %zu corrupt record(s) skipped", rep.corrupt_records);
	if (rep.pending || rep.failed)
		log_info("outbox: %zu pending and %zu failed notification(s) from before", rep.pending,
			 rep.failed);
	delivery_policy_defaults(&policy);
	policy.max_age_ns = (int64_t)d->cfg.delivery_max_age_s * (int64_t)NS_PER_S;
	d->notifier = notifier_start(&d->cfg.masakari, &policy, ob, d->events, d->metrics, err,
				     sizeof(err));
	if (!d->notifier) {
		outbox_close(ob);
		log_error("notifier: %s", err);
		return -1;
	}
	return 0;
}

static struct correlator *make_core(const struct mimamori_config *cfg)
{
	struct correlate_config cc = { .forward_all_events = cfg->forward_all_events };
	bool full = false;

	/* The mesh always watches its processes (core/watchlist.c), with the
	 * same orderly-stop rules as any watched process. */
	cc.n_process_names = watchlist_process_names(cfg->process_names, cfg->n_process_names,
						     cfg->mesh_enabled, cc.process_names,
						     CORRELATE_MAX_PROCESS_NAMES, &full);
	if (full)
		log_error("[process] watched is full: the mesh's processes (pacemaker-remoted) "
			  "are not all watched, their failures are not reported to the mesh");
	cc.n_managers = watchlist_managers(cc.managers, CORRELATE_MAX_MANAGERS);
	return correlator_new(&cc);
}

int main(int argc, char **argv)
{
	static struct daemon d; /* large; lives for the whole process */
	bool check_only = false;
	char err[512];
	int rc = 1;

	/* Stack size and malloc arenas of every thread, the libraries' too:
	 * before any starts (os/threads.h; issue 12). */
	if ((rc = threads_init_process()) != 0) {
		log_error("thread defaults: %s", strerror(rc));
		return 1;
	}
	rc = 1;
	if (load_configuration(&d, argc, argv, &check_only) < 0)
		return EXIT_CONFIG;
	if (check_only) {
		printf("configuration OK\n");
		return 0;
	}
	d.started_realtime_ns = realtime_ns();
	d.epfd = d.sigfd = d.timerfd = -1;
	if (mkdir(d.cfg.state_dir, 0750) < 0 && errno != EEXIST) {
		log_error("state_dir %s: %s", d.cfg.state_dir, strerror(errno));
		return 1;
	}
	/* Signals are blocked before any thread starts so that they all
	 * inherit the mask and only the signalfd sees them. */
	if (setup_loop(&d) < 0) {
		log_error("event loop setup: %s", strerror(errno));
		return 1;
	}
	d.events = event_log_open(d.cfg.state_dir, err, sizeof(err));
	d.core = make_core(&d.cfg);
	d.metrics = metrics_new();
	if (!d.events || !d.core || !d.metrics) {
		log_error("startup: %s", d.events ? "out of memory" : err);
		goto out;
	}
	log_info("mimamorid %s starting on %s (state in %s, Masakari %s)", MIMAMORI_VERSION,
		 d.cfg.hostname, d.cfg.state_dir,
		 d.cfg.masakari.noauth ? d.cfg.masakari.endpoint_override : d.cfg.masakari.auth_url);
	/* Everything that needs a capability happens while this is the only
	 * thread: capabilities are per thread, and threads created after the
	 * drop inherit none. */
	if (open_probe(&d) < 0)
		goto out;
	metrics_set_probe_mode(d.metrics, d.mode == PROBE_EBPF ? METRICS_PROBE_EBPF : METRICS_PROBE_PIDFD);
	metrics_set_gauge(d.metrics, METRICS_PROBE_DEGRADED, d.mode == PROBE_PIDFD);
	if (control_prepare_socket_dir(d.cfg.control_socket, d.cfg.control_group, err,
				       sizeof(err)) < 0) {
		log_error("%s", err);
		goto out;
	}
	raise_priority();
	if (privileges_drop_all(err, sizeof(err)) < 0) {
		log_error("privileges: %s", err);
		goto out;
	}
	privileges_describe(d.capabilities, sizeof(d.capabilities));
	log_info("privileges: all capabilities dropped (%s)", d.capabilities);
	if (open_outbox_and_notifier(&d) < 0)
		goto out;
	d.libvirt = libvirt_watch_start(d.cfg.libvirt_uri, err, sizeof(err));
	if (!d.libvirt) {
		log_error("libvirt: %s", err);
		goto out;
	}
	/* ---- mesh: the peer mesh, from its own normal-priority thread (begin) */
	if (d.cfg.mesh_enabled) {
		d.mesh = mesh_node_start(&d.cfg, d.notifier, d.events, d.metrics, err, sizeof(err));
		if (!d.mesh) {
			log_error("mesh: %s", err);
			goto out;
		}
	}
	/* ---- mesh (end) */
	start_network_services(&d);
	publish_snapshot(&d);
	write_status(&d);
	event_log_note(d.events, "start", d.cfg.hostname);
	log_info("ready");
	systemd_notify_ready(d.mode == PROBE_EBPF ? "watching (eBPF probe)"
						  : "watching (DEGRADED: pidfd fallback, no eBPF)");
	rc = run(&d);
	event_log_note(d.events, "stop", d.cfg.hostname);
out:
	control_service_stop(d.control); /* its handlers read the notifier and libvirt */
	metrics_http_stop(d.metrics_http); /* its refresh reads the notifier and libvirt */
	/* ---- mesh: leave the mesh before the notifier goes (begin) */
	mesh_node_stop(d.mesh);
	/* ---- mesh (end) */
	libvirt_watch_stop(d.libvirt);
	notifier_stop(d.notifier);
	probe_close(d.probe);
	pidfd_watch_free(d.pidfd);
	correlator_free(d.core);
	event_log_close(d.events);
	metrics_free(d.metrics);
	return rc;
}
