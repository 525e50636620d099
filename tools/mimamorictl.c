/* mimamorictl: what the local mimamorid sees and decided, asked over its
 * control socket (proto/control.proto), for an operator at a terminal
 * (aligned blocks and tables, like crm_mon -1 or bgpctl show) or a script
 * (--json: the reply messages as JSON, proto field names).
 *
 * Exit status: 0 ok; 1 the daemon answered with an error; 2 usage; 3 the
 * daemon cannot be reached (not running, permission denied, gone). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <nng/nng.h>

#include "proto/control.pb-c.h"
#include "tools/ctl_fmt.h"
#include "tools/ctl_json.h"
#include "tools/ctl_table.h"
#include "rpc/client.h"
#include "rpc/message.h"
#include "rpc/status.h"

#ifndef MIMAMORI_VERSION
#define MIMAMORI_VERSION "unknown"
#endif

#define PROG "mimamorictl"
#define DEFAULT_SOCKET "/run/mimamori/control.sock"
#define DEFAULT_TIMEOUT_MS 2000u
#define FOLLOW_INTERVAL_MS 200
#define FOLLOW_DEFAULT_LIMIT 10u /* like tail -f */
/* Last-column width when stdout is not a terminal. */
#define PIPE_CELL_WIDTH 60
/* Rows fetched per call when paging (the daemon may cap it further). */
#define PAGE_ROWS 256u
/* Pages followed for one listing: a bound against a daemon that keeps
 * answering "truncated" (the event ring holds 1024). */
#define MAX_PAGES 1000

enum exit_code {
	EXIT_OK = 0,
	EXIT_DAEMON_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,
};

#define SVC (&mimamori__control__descriptor)

struct opts {
	bool json;
	const char *socket;
	uint32_t timeout_ms;
	bool follow;
	bool has_limit;
	uint32_t limit;
	bool has_since;
	uint64_t since;
	bool has_state;
	Mimamori__OutboxState state;
	/* which of the command-specific options were given, for checking */
	const char *events_opt;
	const char *outbox_opt;
};

struct ctl {
	struct opts o;
	struct rpc_client *client;
	size_t term_width; /* 0 when stdout is not a terminal */
};

/* ------------------------------------------------------------ messages */

__attribute__((format(printf, 1, 2))) static void errmsg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void usage(FILE *f)
{
	fputs("Usage: " PROG " [OPTIONS] COMMAND [ARGS]\n"
	      "\n"
	      "Ask the local mimamorid what it watches, what it saw and what it decided.\n"
	      "\n"
	      "Commands:\n"
	      "  status             the daemon: probe mode, libvirt, Masakari, outbox,\n"
	      "                     watched guests and processes, counters, capabilities\n"
	      "  events [-f] [-n N] [--since SEQ]\n"
	      "                     recent events: what was seen, the verdict, whether a\n"
	      "                     notification was queued, detection latency, cause\n"
	      "  outbox [--state pending|failed|delivered]\n"
	      "                     notifications for Masakari (default: pending and failed)\n"
	      "  outbox retry ID    queue a failed notification again\n"
	      "  members            the nodes this one knows, * marking itself\n"
	      "\n"
	      "Options:\n"
	      "      --json         print the reply as JSON (proto field names); with\n"
	      "                     events --follow, one event object per line\n"
	      "      --socket PATH  the daemon's control socket (default " DEFAULT_SOCKET ")\n"
	      "      --timeout MS   how long to wait for an answer (default 2000)\n"
	      "  -f, --follow       events: print new events as they come, until interrupted\n"
	      "  -n, --limit N      events: the last N (default: all the daemon keeps;\n"
	      "                     10 with --follow); with --since, the first N after SEQ\n"
	      "      --since SEQ    events: only those after sequence number SEQ\n"
	      "      --state STATE  outbox: only entries in STATE\n"
	      "  -h, --help         show this help\n"
	      "      --version      show the version\n"
	      "\n"
	      "Exit status: 0 ok, 1 the daemon answered with an error, 2 usage error,\n"
	      "3 the daemon cannot be reached (not running, or permission denied).\n",
	      f);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n\n", stderr);
	usage(stderr);
	return EXIT_USAGE;
}

/* ------------------------------------------------------------ options */

static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (s == NULL || s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

enum {
	OPT_JSON = 256,
	OPT_SOCKET,
	OPT_TIMEOUT,
	OPT_SINCE,
	OPT_STATE,
	OPT_VERSION,
};

/* Returns -1 to go on, or an exit code (help, version, usage error). */
static int parse_options(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, OPT_JSON},
		{"socket", required_argument, NULL, OPT_SOCKET},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"follow", no_argument, NULL, 'f'},
		{"limit", required_argument, NULL, 'n'},
		{"since", required_argument, NULL, OPT_SINCE},
		{"state", required_argument, NULL, OPT_STATE},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	*o = (struct opts){.socket = DEFAULT_SOCKET, .timeout_ms = DEFAULT_TIMEOUT_MS};
	opterr = 0;
	int c;
	uint64_t v;
	/* GNU getopt permutes: options may follow the command
	 * ("mimamorictl status --json"). */
	while ((c = getopt_long(argc, argv, ":fn:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_SOCKET:
			if (optarg[0] == '\0')
				return usage_error("--socket needs a path");
			o->socket = optarg;
			break;
		case OPT_TIMEOUT:
			if (!parse_u64(optarg, 1, RPC_MAX_DEADLINE_MS, &v))
				return usage_error("--timeout takes milliseconds, 1 to 600000: '%s'",
						   optarg);
			o->timeout_ms = (uint32_t)v;
			break;
		case 'f':
			o->follow = true;
			o->events_opt = "--follow";
			break;
		case 'n':
			if (!parse_u64(optarg, 1, UINT32_MAX, &v))
				return usage_error("--limit takes a positive number: '%s'", optarg);
			o->has_limit = true;
			o->limit = (uint32_t)v;
			o->events_opt = "--limit";
			break;
		case OPT_SINCE:
			if (!parse_u64(optarg, 0, UINT64_MAX, &v))
				return usage_error("--since takes a sequence number: '%s'", optarg);
			o->has_since = true;
			o->since = v;
			o->events_opt = "--since";
			break;
		case OPT_STATE:
			if (strcmp(optarg, "pending") == 0)
				o->state = MIMAMORI__OUTBOX_STATE__OUTBOX_STATE_PENDING;
			else if (strcmp(optarg, "failed") == 0)
				o->state = MIMAMORI__OUTBOX_STATE__OUTBOX_STATE_FAILED;
			else if (strcmp(optarg, "delivered") == 0)
				o->state = MIMAMORI__OUTBOX_STATE__OUTBOX_STATE_DELIVERED;
			else
				return usage_error("--state is pending, failed or delivered: '%s'",
						   optarg);
			o->has_state = true;
			o->outbox_opt = "--state";
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case OPT_VERSION:
			printf(PROG " %s\n", MIMAMORI_VERSION);
			return EXIT_OK;
		case ':':
			if (optopt != 0)
				return usage_error("-%c needs an argument", optopt);
			return usage_error("%s needs an argument", argv[optind - 1]);
		default:
			if (optopt != 0)
				return usage_error("unknown option '-%c'", optopt);
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	return -1;
}

/* ------------------------------------------------------------ connecting */

/* "root:mimamori 0660" for the hint. */
static void describe_owner(const struct stat *st, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(st->st_uid);
	struct group *gr = getgrgid(st->st_gid);
	char u[32], g[32];
	snprintf(u, sizeof(u), "%u", (unsigned)st->st_uid);
	snprintf(g, sizeof(g), "%u", (unsigned)st->st_gid);
	snprintf(buf, len, "%s:%s %04o", pw != NULL ? pw->pw_name : u, gr != NULL ? gr->gr_name : g,
		 (unsigned)(st->st_mode & 07777));
}

static int not_running(const char *path, const char *what)
{
	errmsg("mimamorid is not running: %s %s (check `systemctl status mimamorid`; "
	       "if it listens elsewhere, use --socket PATH)",
	       what, path);
	return EXIT_UNREACHABLE;
}

static int permission_denied(const char *path, const struct stat *st)
{
	char owner[96] = "";
	if (st != NULL) {
		char d[80];
		describe_owner(st, d, sizeof(d));
		snprintf(owner, sizeof(owner), "; the socket is %s", d);
	}
	errmsg("permission denied: %s (you need root or membership in the control group%s)", path,
	       owner);
	return EXIT_UNREACHABLE;
}

/* nng reports a missing socket and a refused one with less detail than
 * the file system does: look at the path first, so the operator is told
 * whether the daemon is down or the door is closed to them. */
static int preflight(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return not_running(path, "no such socket");
		if (errno == EACCES)
			return permission_denied(path, NULL);
		errmsg("cannot connect to mimamorid: %s: %s", path, strerror(errno));
		return EXIT_UNREACHABLE;
	}
	if (!S_ISSOCK(st.st_mode)) {
		errmsg("cannot connect to mimamorid: %s is not a socket (--socket PATH)", path);
		return EXIT_UNREACHABLE;
	}
	/* Connecting to a unix socket takes write permission on it; check with
	 * the effective ids, which are the ones connect(2) uses. */
	if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) != 0 && errno == EACCES)
		return permission_denied(path, &st);
	return EXIT_OK;
}

static int ctl_connect(struct ctl *c)
{
	int rc = preflight(c->o.socket);
	if (rc != EXIT_OK)
		return rc;
	char url[4200];
	if ((size_t)snprintf(url, sizeof(url), "ipc://%s", c->o.socket) >= sizeof(url)) {
		errmsg("socket path too long: %s", c->o.socket);
		return EXIT_USAGE;
	}
	char err[256] = "";
	struct rpc_client_opts co = {.wait_connected = true};
	int rv = rpc_client_new(&c->client, url, &co, err, sizeof(err));
	switch (rv) {
	case 0:
		return EXIT_OK;
	case NNG_ECONNREFUSED:
		/* A socket file nobody listens on: the daemon died without
		 * removing it. */
		return not_running(c->o.socket, "nothing listens on");
	case NNG_ENOENT:
		return not_running(c->o.socket, "no such socket");
	case NNG_EPERM:
		return permission_denied(c->o.socket, NULL);
	default:
		errmsg("cannot connect to mimamorid on %s: %s", c->o.socket,
		       err[0] != '\0' ? err : nng_strerror(rv));
		return EXIT_UNREACHABLE;
	}
}

/* One call. Returns EXIT_OK with *reply, or prints why not and returns the
 * exit code; st (may be NULL) receives the status for callers that explain
 * some codes themselves (they pass quiet). */
static int call(struct ctl *c, const char *method, const ProtobufCMessage *req,
		ProtobufCMessage **reply, struct rpc_status *st_out, bool quiet)
{
	struct rpc_status st;
	*reply = NULL;
	uint32_t code = rpc_call(c->client, SVC, method, req, reply, c->o.timeout_ms, &st);
	if (st_out != NULL)
		*st_out = st;
	if (code == RPC_OK)
		return EXIT_OK;
	/* UNAVAILABLE without a connection is the client's own verdict: the
	 * daemon went away (or restarts) between connecting and answering. */
	if (code == RPC_UNAVAILABLE && !rpc_client_connected(c->client)) {
		if (!quiet)
			errmsg("lost the connection to mimamorid on %s (%s)", c->o.socket,
			       st.message);
		return EXIT_UNREACHABLE;
	}
	if (quiet)
		return EXIT_DAEMON_ERROR;
	switch (code) {
	case RPC_DEADLINE_EXCEEDED:
		errmsg("%s: DEADLINE_EXCEEDED: no answer within %" PRIu32 " ms (--timeout MS)%s%s",
		       method, c->o.timeout_ms, st.message[0] != '\0' ? ": " : "", st.message);
		break;
	case RPC_UNIMPLEMENTED:
		errmsg("%s: UNIMPLEMENTED: this mimamorid does not offer %s yet%s%s", method,
		       method, st.message[0] != '\0' ? ": " : "", st.message);
		break;
	default:
		errmsg("%s: %s%s%s", method, rpc_status_name(code),
		       st.message[0] != '\0' ? ": " : "", st.message);
	}
	return EXIT_DAEMON_ERROR;
}

/* ------------------------------------------------------------ output helpers */

static int print_json(json_t *j, bool line)
{
	if (j == NULL) {
		errmsg("cannot build JSON (out of memory)");
		return EXIT_DAEMON_ERROR;
	}
	size_t flags = line ? JSON_COMPACT : JSON_INDENT(2);
	json_dumpf(j, stdout, flags | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(j);
	return EXIT_OK;
}

static int print_reply_json(const ProtobufCMessage *m)
{
	return print_json(ctl_json_from_message(m), false);
}

/* "key:" padded so that values line up within a block. */
#define KEY_WIDTH 22

static void kv(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void kv(const char *key, const char *fmt, ...)
{
	char k[64];
	snprintf(k, sizeof(k), "%s:", key);
	printf("  %-*s ", KEY_WIDTH, k);
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

/* kv with a value from the daemon, sanitized; "-" when absent. */
static void kv_text(const char *key, const char *s)
{
	char *t = ctl_sanitize(s != NULL && s[0] != '\0' ? s : "-");
	kv(key, "%s", t);
	free(t);
}

static void kv_hl(const char *key, const char *s)
{
	char *t = ctl_sanitize(s);
	kv(key, "%s%s%s", ctl_hl_on(), t, ctl_hl_off());
	free(t);
}

static const char *enum_short(const ProtobufCEnumDescriptor *d, int v, const char *prefix,
			      char *buf, size_t len)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
	if (ev == NULL) {
		snprintf(buf, len, "%d", v);
		return buf;
	}
	const char *n = ev->name;
	size_t pl = strlen(prefix);
	if (strncmp(n, prefix, pl) == 0)
		n += pl;
	size_t i = 0;
	for (; n[i] != '\0' && i + 1 < len; i++)
		buf[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] - 'A' + 'a' : n[i]);
	buf[i] = '\0';
	return buf;
}

static const char *u64str(bool has, uint64_t v, char *buf, size_t len)
{
	if (!has)
		return "-";
	snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

/* ------------------------------------------------------------ status */

static const char *probe_mode_name(Mimamori__ProbeMode m)
{
	switch (m) {
	case MIMAMORI__PROBE_MODE__PROBE_MODE_EBPF:
		return "ebpf";
	case MIMAMORI__PROBE_MODE__PROBE_MODE_PIDFD:
		return "pidfd fallback";
	case MIMAMORI__PROBE_MODE__PROBE_MODE_NONE:
		return "none (libvirt events only)";
	default:
		return "unknown";
	}
}

static void status_probe(const Mimamori__ProbeStatus *p)
{
	char b[32];
	printf("Probe\n");
	if (p == NULL) {
		kv("mode", "unknown");
		return;
	}
	const char *mode = probe_mode_name(p->has_mode ? p->mode : 0);
	if (p->degraded_reason != NULL && p->degraded_reason[0] != '\0') {
		char *why = ctl_sanitize(p->degraded_reason);
		kv("mode", "%s  %sDEGRADED: %s%s", mode, ctl_hl_on(), why, ctl_hl_off());
		free(why);
	} else {
		kv("mode", "%s", mode);
	}
	kv("exit records", "%s", u64str(p->has_events, p->events, b, sizeof(b)));
	if (p->has_ringbuf_drops && p->ringbuf_drops > 0)
		kv("ring buffer drops", "%s%" PRIu64 "%s", ctl_hl_on(), p->ringbuf_drops,
		   ctl_hl_off());
	else
		kv("ring buffer drops", "%s", u64str(p->has_ringbuf_drops, p->ringbuf_drops, b,
						     sizeof(b)));
	if (p->has_pidfd_watched)
		kv("pidfd watched", "%" PRIu32, p->pidfd_watched);
}

static void status_libvirt(const Mimamori__LibvirtStatus *l)
{
	printf("Libvirt\n");
	if (l == NULL) {
		kv("connection", "unknown");
		return;
	}
	if (!l->has_connected)
		kv("connection", "unknown");
	else if (l->connected)
		kv("connection", "connected");
	else
		kv_hl("connection", "DISCONNECTED");
	kv_text("uri", l->uri);
	if (l->has_reconnects)
		kv("reconnects", "%" PRIu32, l->reconnects);
	if (l->last_error != NULL && l->last_error[0] != '\0')
		kv_text("last error", l->last_error);
}

static void status_masakari(const Mimamori__MasakariStatus *m, int64_t now)
{
	char t[CTL_FMT_LEN], r[CTL_FMT_LEN];
	printf("Masakari\n");
	if (m == NULL) {
		kv("token", "unknown");
		return;
	}
	kv_text("endpoint", m->endpoint);
	switch (m->has_token_state ? m->token_state : MIMAMORI__TOKEN_STATE__TOKEN_STATE_UNKNOWN) {
	case MIMAMORI__TOKEN_STATE__TOKEN_STATE_VALID:
		if (m->has_token_expires_unix_ms)
			kv("token", "valid, expires %s (%s)",
			   ctl_fmt_time_ms(m->token_expires_unix_ms, CTL_TIME_WITH_OFFSET, t,
					   sizeof(t)),
			   ctl_fmt_relative_ms(m->token_expires_unix_ms, now, r, sizeof(r)));
		else
			kv("token", "valid");
		break;
	case MIMAMORI__TOKEN_STATE__TOKEN_STATE_NONE:
		kv("token", "none yet (fetched with the first notification)");
		break;
	case MIMAMORI__TOKEN_STATE__TOKEN_STATE_NOAUTH:
		kv("token", "noauth (authentication disabled)");
		break;
	case MIMAMORI__TOKEN_STATE__TOKEN_STATE_ERROR:
		kv_hl("token", "ERROR (see last error)");
		break;
	default:
		kv("token", "unknown");
	}
	if (m->last_error != NULL && m->last_error[0] != '\0')
		kv_text("last error", m->last_error);
}

static void status_outbox(const Mimamori__OutboxSummary *o)
{
	char b[32], age[CTL_FMT_LEN];
	printf("Outbox\n");
	if (o == NULL) {
		kv("pending", "unknown");
		return;
	}
	if (o->has_pending && o->pending > 0 && o->has_oldest_pending_age_ms)
		kv("pending", "%" PRIu32 " (oldest %s)", o->pending,
		   ctl_fmt_age_ms(o->oldest_pending_age_ms, age, sizeof(age)));
	else
		kv("pending", "%s", u64str(o->has_pending, o->pending, b, sizeof(b)));
	if (o->has_failed && o->failed > 0)
		kv("failed", "%s%" PRIu32 " (given up: mimamorictl outbox --state failed)%s",
		   ctl_hl_on(), o->failed, ctl_hl_off());
	else
		kv("failed", "%s", u64str(o->has_failed, o->failed, b, sizeof(b)));
	kv("accepted", "%s", u64str(o->has_accepted, o->accepted, b, sizeof(b)));
	kv("retries", "%s", u64str(o->has_retries, o->retries, b, sizeof(b)));
}

static void status_counters(const Mimamori__Counters *k)
{
	char b[32];
	printf("Counters\n");
	if (k == NULL) {
		kv("verdicts", "-");
		return;
	}
	kv("verdicts", "%s", u64str(k->has_verdicts, k->verdicts, b, sizeof(b)));
	kv("notifications", "%s", u64str(k->has_notifications, k->notifications, b, sizeof(b)));
	kv("notifications failed", "%s",
	   u64str(k->has_notifications_failed, k->notifications_failed, b, sizeof(b)));
}

static void status_guests(const Mimamori__StatusReply *s)
{
	printf("Guests (%zu%s)\n", s->n_guests, s->has_guests_truncated && s->guests_truncated
							 ? ", list cut to fit the reply"
							 : "");
	if (s->n_guests == 0) {
		printf("  none running\n");
		return;
	}
	static const char *const hdr[] = {"NAME", "PID", "UUID"};
	struct ctl_table *t = ctl_table_new(3, hdr);
	ctl_table_indent(t, 2);
	ctl_table_align_right(t, 1);
	for (size_t i = 0; i < s->n_guests; i++) {
		const Mimamori__WatchedGuest *g = s->guests[i];
		char pid[16];
		const char *row[] = {g->name, u64str(g->has_pid, g->pid, pid, sizeof(pid)), g->uuid};
		ctl_table_add(t, row, 0);
	}
	ctl_table_print(t, stdout, false);
	ctl_table_free(t);
}

static void status_processes(const Mimamori__StatusReply *s)
{
	printf("Processes (%zu)\n", s->n_processes);
	if (s->n_processes == 0) {
		printf("  none configured ([process] watched)\n");
		return;
	}
	/* PID left-aligned: "not running" stands in for it. */
	static const char *const hdr[] = {"NAME", "PID"};
	struct ctl_table *t = ctl_table_new(2, hdr);
	ctl_table_indent(t, 2);
	for (size_t i = 0; i < s->n_processes; i++) {
		const Mimamori__WatchedProcess *p = s->processes[i];
		char pid[16];
		const char *row[] = {p->name, p->has_pid ? u64str(true, p->pid, pid, sizeof(pid))
							 : "not running"};
		ctl_table_add(t, row, p->has_pid ? 0 : 1u << 1);
	}
	ctl_table_print(t, stdout, false);
	ctl_table_free(t);
}

static void status_human(const Mimamori__StatusReply *s)
{
	int64_t now = ctl_now_ms();
	char t[CTL_FMT_LEN], age[CTL_FMT_LEN];

	printf("Node\n");
	kv_text("name", s->node_name);
	kv_text("version", s->version);
	if (s->has_pid)
		kv("pid", "%" PRIu32, s->pid);
	if (s->has_started_unix_ms && s->has_uptime_s)
		kv("started", "%s (up %s)",
		   ctl_fmt_time_ms(s->started_unix_ms, CTL_TIME_WITH_OFFSET, t, sizeof(t)),
		   ctl_fmt_age_ms(s->uptime_s * 1000, age, sizeof(age)));
	else if (s->has_started_unix_ms)
		kv("started", "%s", ctl_fmt_time_ms(s->started_unix_ms, CTL_TIME_WITH_OFFSET, t,
						    sizeof(t)));
	else if (s->has_uptime_s)
		kv("uptime", "%s", ctl_fmt_age_ms(s->uptime_s * 1000, age, sizeof(age)));
	if (s->n_capabilities == 0) {
		kv("capabilities", "none");
	} else {
		printf("  %-*s ", KEY_WIDTH, "capabilities:");
		for (size_t i = 0; i < s->n_capabilities; i++) {
			char *cap = ctl_sanitize(s->capabilities[i]);
			printf("%s%s", i > 0 ? " " : "", cap);
			free(cap);
		}
		fputc('\n', stdout);
	}
	fputc('\n', stdout);
	status_probe(s->probe);
	fputc('\n', stdout);
	status_libvirt(s->libvirt);
	fputc('\n', stdout);
	status_masakari(s->masakari, now);
	fputc('\n', stdout);
	status_outbox(s->outbox);
	fputc('\n', stdout);
	status_counters(s->counters);
	fputc('\n', stdout);
	status_guests(s);
	fputc('\n', stdout);
	status_processes(s);
}

static int cmd_status(struct ctl *c)
{
	Mimamori__StatusRequest req = MIMAMORI__STATUS_REQUEST__INIT;
	ProtobufCMessage *m;
	int rc = call(c, "Status", &req.base, &m, NULL, false);
	if (rc != EXIT_OK)
		return rc;
	if (c->o.json)
		rc = print_reply_json(m);
	else
		status_human((const Mimamori__StatusReply *)m);
	rpc_message_free(m);
	return rc;
}

/* ------------------------------------------------------------ events */

static volatile sig_atomic_t stop_signal;

static struct ctl_table *events_table(const struct ctl *c)
{
	static const char *const hdr[] = {"SEQ",    "TIME",   "KIND",    "SUBJECT", "VERDICT",
					  "NOTIFY", "OUTBOX", "LATENCY", "CAUSE"};
	struct ctl_table *t = ctl_table_new(9, hdr);
	ctl_table_align_right(t, 0);
	ctl_table_align_right(t, 6);
	ctl_table_align_right(t, 7);
	ctl_table_fit(t, c->term_width, c->term_width != 0 ? 20 : PIPE_CELL_WIDTH);
	return t;
}

static void events_add(struct ctl_table *t, const Mimamori__Event *e)
{
	char seq[24], tm[CTL_FMT_LEN], lat[CTL_FMT_LEN], ob[24];
	const char *subject = e->subject_name != NULL && e->subject_name[0] != '\0'
				      ? e->subject_name
				      : e->subject;
	const char *row[] = {
		u64str(e->has_seq, e->seq, seq, sizeof(seq)),
		e->has_time_unix_ms ? ctl_fmt_time_ms(e->time_unix_ms, CTL_TIME_MILLIS, tm, sizeof(tm))
				    : "-",
		e->kind,
		subject,
		e->verdict != NULL && e->verdict[0] != '\0' ? e->verdict : "-",
		e->has_notify && e->notify ? "yes" : "-",
		e->has_outbox_id ? (snprintf(ob, sizeof(ob), "%" PRIu64, e->outbox_id), ob) : "-",
		e->has_detect_latency_us ? ctl_fmt_latency_us(e->detect_latency_us, lat, sizeof(lat))
					 : "-",
		e->cause != NULL && e->cause[0] != '\0' ? e->cause : "-",
	};
	ctl_table_add(t, row, 0);
}

/* One Events call. */
static int events_call(struct ctl *c, bool has_since, uint64_t since, uint32_t max,
		       Mimamori__EventsReply **out, bool quiet)
{
	Mimamori__EventsRequest req = MIMAMORI__EVENTS_REQUEST__INIT;
	req.has_since_seq = has_since;
	req.since_seq = since;
	req.has_max_count = max != 0;
	req.max_count = max;
	ProtobufCMessage *m;
	int rc = call(c, "Events", &req.base, &m, NULL, quiet);
	*out = (Mimamori__EventsReply *)m;
	return rc;
}

static void warn_dropped(uint64_t since, uint64_t first)
{
	if (first > since + 1)
		errmsg("warning: events %" PRIu64 "..%" PRIu64
		       " are no longer held by the daemon (dropped)",
		       since + 1, first - 1);
}

/* Where a listing starts: after --since, or (for the last N) N before the
 * newest. *has_since false = from the oldest held. */
static int events_start(struct ctl *c, uint32_t limit, bool *has_since, uint64_t *since)
{
	if (c->o.has_since) {
		*has_since = true;
		*since = c->o.since;
		return EXIT_OK;
	}
	*has_since = false;
	*since = 0;
	if (limit == 0)
		return EXIT_OK;
	/* Ask for one event to learn the newest seq, then back off N. */
	Mimamori__EventsReply *r;
	int rc = events_call(c, false, 0, 1, &r, false);
	if (rc != EXIT_OK)
		return rc;
	if (r->has_last_seq && r->last_seq > limit) {
		*has_since = true;
		*since = r->last_seq - limit;
	}
	rpc_message_free(&r->base);
	return EXIT_OK;
}

/* Where a listing goes: rows into a table, the replies merged into one
 * EventsReply-shaped JSON object, or one JSON line per event. */
struct events_sink {
	struct ctl_table *table;
	json_t *json;
	bool json_lines;
};

/* The listing: pages from the start until the daemon has no more or the
 * limit is reached. *last_seen: the newest seq seen (where --follow goes
 * on from). */
static int events_list(struct ctl *c, uint32_t limit, struct events_sink *sink,
		       uint64_t *last_seen)
{
	bool has_since;
	uint64_t since;
	int rc = events_start(c, limit, &has_since, &since);
	if (rc != EXIT_OK)
		return rc;
	uint32_t left = limit; /* 0 = no limit */
	*last_seen = since;
	for (int page = 0; page < MAX_PAGES; page++) {
		uint32_t max = left != 0 && left < PAGE_ROWS ? left : PAGE_ROWS;
		Mimamori__EventsReply *r;
		rc = events_call(c, has_since, since, max, &r, false);
		if (rc != EXIT_OK)
			return rc;
		if (page == 0 && c->o.has_since && r->has_first_seq && r->n_events > 0)
			warn_dropped(c->o.since, r->first_seq);
		size_t n = r->n_events;
		if (left != 0 && n > left)
			n = left;
		for (size_t i = 0; i < n; i++) {
			const Mimamori__Event *e = r->events[i];
			if (sink->table != NULL)
				events_add(sink->table, e);
			if (sink->json_lines)
				print_json(ctl_json_from_message(&e->base), true);
			if (e->has_seq && e->seq > *last_seen)
				*last_seen = e->seq;
		}
		if (!sink->json_lines && sink->table == NULL) {
			json_t *j = ctl_json_from_message(&r->base);
			if (j == NULL) {
				rpc_message_free(&r->base);
				return print_json(NULL, false);
			}
			if (sink->json == NULL) {
				sink->json = j;
			} else {
				json_array_extend(json_object_get(sink->json, "events"),
						  json_object_get(j, "events"));
				json_t *v;
				if ((v = json_object_get(j, "last_seq")) != NULL)
					json_object_set(sink->json, "last_seq", v);
				if ((v = json_object_get(j, "truncated")) != NULL)
					json_object_set(sink->json, "truncated", v);
				json_decref(j);
			}
		}
		bool more = r->has_truncated && r->truncated && r->n_events > 0;
		rpc_message_free(&r->base);
		if (left != 0) {
			left -= (uint32_t)n;
			if (left == 0)
				break;
		}
		if (!more)
			break;
		has_since = true;
		since = *last_seen;
	}
	return EXIT_OK;
}

static void on_stop(int sig)
{
	stop_signal = sig;
}

/* Sleeps ms, or less when SIGINT/SIGTERM came. */
static void follow_sleep(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	while (!stop_signal && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Polls every 200 ms for events after the newest seen, until a signal. A
 * daemon that goes away is waited for (the client redials); one that
 * restarted starts its sequence again at 1, and so do we. */
static int events_follow(struct ctl *c, struct ctl_table *t, uint64_t since)
{
	bool lost = false;
	while (!stop_signal) {
		Mimamori__EventsReply *r;
		struct rpc_status st;
		Mimamori__EventsRequest req = MIMAMORI__EVENTS_REQUEST__INIT;
		req.has_since_seq = true;
		req.since_seq = since;
		req.has_max_count = true;
		req.max_count = PAGE_ROWS;
		ProtobufCMessage *m;
		int rc = call(c, "Events", &req.base, &m, &st, true);
		if (stop_signal) {
			rpc_message_free(m);
			break;
		}
		if (rc != EXIT_OK) {
			if (st.code == RPC_UNAVAILABLE || st.code == RPC_DEADLINE_EXCEEDED) {
				if (!lost)
					errmsg("warning: no answer from mimamorid (%s: %s); "
					       "still trying",
					       rpc_status_name(st.code), st.message);
				lost = true;
				follow_sleep(FOLLOW_INTERVAL_MS);
				continue;
			}
			errmsg("Events: %s%s%s", rpc_status_name(st.code),
			       st.message[0] != '\0' ? ": " : "", st.message);
			return EXIT_DAEMON_ERROR;
		}
		if (lost) {
			errmsg("mimamorid answers again");
			lost = false;
		}
		r = (Mimamori__EventsReply *)m;
		if (r->has_last_seq && r->last_seq < since) {
			errmsg("warning: mimamorid restarted (its newest event is %" PRIu64
			       ", we had seen %" PRIu64 "): following from its oldest",
			       r->last_seq, since);
			since = 0;
			rpc_message_free(m);
			continue;
		}
		if (r->has_first_seq && r->n_events > 0)
			warn_dropped(since, r->first_seq);
		for (size_t i = 0; i < r->n_events; i++) {
			const Mimamori__Event *e = r->events[i];
			if (c->o.json)
				print_json(ctl_json_from_message(&e->base), true);
			else
				events_add(t, e);
			if (e->has_seq && e->seq > since)
				since = e->seq;
		}
		if (!c->o.json)
			ctl_table_print(t, stdout, true);
		fflush(stdout);
		bool more = r->has_truncated && r->truncated && r->n_events > 0;
		rpc_message_free(m);
		if (!more)
			follow_sleep(FOLLOW_INTERVAL_MS);
	}
	return EXIT_OK;
}

static int cmd_events(struct ctl *c)
{
	uint32_t limit = c->o.has_limit ? c->o.limit : c->o.follow ? FOLLOW_DEFAULT_LIMIT : 0;
	/* --follow --json streams one event per line, the listing included. */
	struct events_sink sink = {
		.table = c->o.json ? NULL : events_table(c),
		.json_lines = c->o.json && c->o.follow,
	};
	uint64_t last_seen = 0;
	int rc = events_list(c, limit, &sink, &last_seen);
	if (rc != EXIT_OK)
		goto out;
	if (!c->o.follow) {
		if (c->o.json) {
			rc = print_json(sink.json != NULL ? sink.json : json_object(), false);
			sink.json = NULL;
		} else if (ctl_table_rows(sink.table) == 0) {
			printf("no events%s\n", c->o.has_since ? " after that sequence number" : "");
		} else {
			ctl_table_print(sink.table, stdout, false);
		}
		goto out;
	}
	if (sink.table != NULL) {
		/* Room for what is yet to come: the longest kinds, names. */
		ctl_table_min_width(sink.table, 0, 5);
		ctl_table_min_width(sink.table, 2, 17);
		ctl_table_min_width(sink.table, 3, 18);
		ctl_table_min_width(sink.table, 4, 15);
		ctl_table_min_width(sink.table, 7, 7);
		ctl_table_print(sink.table, stdout, true);
	}
	fflush(stdout);
	rc = events_follow(c, sink.table, last_seen);
out:
	json_decref(sink.json);
	ctl_table_free(sink.table);
	return rc;
}

/* ------------------------------------------------------------ outbox */

/* What a notification is about, from the start of its JSON body:
 * {"notification":{"type":"PROCESS",...,"payload":{"process_name":...}}}.
 * The excerpt may be cut, so a cut body is searched as text. */
static void body_find(const char *body, const char *key, char *out, size_t len)
{
	out[0] = '\0';
	if (body == NULL)
		return;
	char pat[48];
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	const char *p = strstr(body, pat);
	if (p == NULL)
		return;
	p += strlen(pat);
	while (*p == ' ' || *p == ':')
		p++;
	if (*p != '"')
		return;
	p++;
	size_t i = 0;
	while (p[i] != '\0' && p[i] != '"' && p[i] != '\\' && i + 1 < len) {
		out[i] = p[i];
		i++;
	}
	out[i] = '\0';
	/* Cut with the excerpt: say so. */
	if (p[i] == '\0' && i > 0)
		snprintf(out + (i + 4 < len ? i : len - 4), 4, "%s", ctl_fmt_utf8() ? "…" : "...");
}

static void body_summary(const char *body, char *type, size_t tlen, char *what, size_t wlen)
{
	json_t *j = body != NULL ? json_loads(body, 0, NULL) : NULL;
	json_t *n = json_object_get(j, "notification");
	if (n != NULL) {
		const char *s = json_string_value(json_object_get(n, "type"));
		snprintf(type, tlen, "%s", s != NULL ? s : "");
		json_t *pl = json_object_get(n, "payload");
		s = json_string_value(json_object_get(pl, "process_name"));
		if (s == NULL)
			s = json_string_value(json_object_get(pl, "instance_uuid"));
		if (s == NULL)
			s = json_string_value(json_object_get(pl, "host_status"));
		snprintf(what, wlen, "%s", s != NULL ? s : "");
	} else {
		body_find(body, "type", type, tlen);
		body_find(body, "process_name", what, wlen);
		if (what[0] == '\0')
			body_find(body, "instance_uuid", what, wlen);
	}
	json_decref(j);
}

static const char *outbox_state_name(bool has, Mimamori__OutboxState s, char *buf, size_t len)
{
	if (!has)
		return "-";
	return enum_short(&mimamori__outbox_state__descriptor, (int)s, "OUTBOX_STATE_", buf, len);
}

static void outbox_add(struct ctl_table *t, const Mimamori__OutboxEntry *e, int64_t now)
{
	char id[24], state[24], created[CTL_FMT_LEN], att[16], next[CTL_FMT_LEN];
	char type[32], what[80];
	body_summary(e->body_excerpt, type, sizeof(type), what, sizeof(what));
	bool pending = e->has_state && e->state == MIMAMORI__OUTBOX_STATE__OUTBOX_STATE_PENDING;
	const char *row[] = {
		u64str(e->has_id, e->id, id, sizeof(id)),
		outbox_state_name(e->has_state, e->state, state, sizeof(state)),
		e->has_created_unix_ms
			? ctl_fmt_time_ms(e->created_unix_ms, CTL_TIME_SECONDS, created, sizeof(created))
			: "-",
		u64str(e->has_attempts, e->attempts, att, sizeof(att)),
		pending && e->has_next_attempt_unix_ms
			? ctl_fmt_relative_ms(e->next_attempt_unix_ms, now, next, sizeof(next))
			: "-",
		type[0] != '\0' ? type : "?",
		what[0] != '\0' ? what : "-",
		e->last_error != NULL && e->last_error[0] != '\0' ? e->last_error : "-",
	};
	bool failed = e->has_state && e->state == MIMAMORI__OUTBOX_STATE__OUTBOX_STATE_FAILED;
	ctl_table_add(t, row, failed ? 1u << 1 : 0);
}

static int cmd_outbox_list(struct ctl *c)
{
	static const char *const hdr[] = {"ID",   "STATE", "CREATED", "ATTEMPTS",
					  "NEXT", "TYPE",  "SUBJECT", "LAST ERROR"};
	struct ctl_table *t = ctl_table_new(8, hdr);
	ctl_table_align_right(t, 0);
	ctl_table_align_right(t, 3);
	ctl_table_fit(t, c->term_width, c->term_width != 0 ? 20 : PIPE_CELL_WIDTH);
	json_t *json = NULL;
	int64_t now = ctl_now_ms();
	uint64_t after = 0;
	int rc = EXIT_OK;
	for (int page = 0; page < MAX_PAGES; page++) {
		Mimamori__OutboxRequest req = MIMAMORI__OUTBOX_REQUEST__INIT;
		req.has_state = c->o.has_state;
		req.state = c->o.state;
		req.has_after_id = page > 0;
		req.after_id = after;
		req.has_max_count = true;
		req.max_count = PAGE_ROWS;
		ProtobufCMessage *m;
		rc = call(c, "Outbox", &req.base, &m, NULL, false);
		if (rc != EXIT_OK)
			break;
		const Mimamori__OutboxReply *r = (const Mimamori__OutboxReply *)m;
		for (size_t i = 0; i < r->n_entries; i++) {
			outbox_add(t, r->entries[i], now);
			if (r->entries[i]->has_id && r->entries[i]->id > after)
				after = r->entries[i]->id;
		}
		if (c->o.json) {
			json_t *j = ctl_json_from_message(m);
			if (j == NULL) {
				rpc_message_free(m);
				rc = print_json(NULL, false);
				break;
			}
			if (json == NULL) {
				json = j;
			} else {
				json_array_extend(json_object_get(json, "entries"),
						  json_object_get(j, "entries"));
				json_t *v = json_object_get(j, "truncated");
				if (v != NULL)
					json_object_set(json, "truncated", v);
				json_decref(j);
			}
		}
		bool more = r->has_truncated && r->truncated && r->n_entries > 0;
		rpc_message_free(m);
		if (!more)
			break;
	}
	if (rc == EXIT_OK) {
		if (c->o.json) {
			rc = print_json(json, false);
			json = NULL;
		} else if (ctl_table_rows(t) == 0) {
			char st[24];
			printf("no %s notifications\n",
			       c->o.has_state ? outbox_state_name(true, c->o.state, st, sizeof(st))
					      : "pending or failed");
		} else {
			ctl_table_print(t, stdout, false);
		}
	}
	json_decref(json);
	ctl_table_free(t);
	return rc;
}

static void outbox_entry_human(const Mimamori__OutboxEntry *e)
{
	int64_t now = ctl_now_ms();
	char b[CTL_FMT_LEN], r[CTL_FMT_LEN], st[24], type[32], what[80], both[120];
	body_summary(e->body_excerpt, type, sizeof(type), what, sizeof(what));
	printf("Outbox entry %s\n", u64str(e->has_id, e->id, b, sizeof(b)));
	kv("state", "%s", outbox_state_name(e->has_state, e->state, st, sizeof(st)));
	if (type[0] != '\0') {
		snprintf(both, sizeof(both), "%s%s%s", type, what[0] != '\0' ? " " : "", what);
		kv_text("notification", both);
	}
	if (e->has_created_unix_ms)
		kv("created", "%s (%s)",
		   ctl_fmt_time_ms(e->created_unix_ms, CTL_TIME_WITH_OFFSET, b, sizeof(b)),
		   ctl_fmt_relative_ms(e->created_unix_ms, now, r, sizeof(r)));
	if (e->has_attempts)
		kv("attempts", "%" PRIu32, e->attempts);
	if (e->has_next_attempt_unix_ms &&
	    e->state == MIMAMORI__OUTBOX_STATE__OUTBOX_STATE_PENDING)
		kv("next attempt", "%s (%s)",
		   ctl_fmt_time_ms(e->next_attempt_unix_ms, CTL_TIME_WITH_OFFSET, b, sizeof(b)),
		   ctl_fmt_relative_ms(e->next_attempt_unix_ms, now, r, sizeof(r)));
	if (e->has_retried_unix_ms)
		kv("retried by operator", "%s",
		   ctl_fmt_time_ms(e->retried_unix_ms, CTL_TIME_WITH_OFFSET, b, sizeof(b)));
	if (e->last_error != NULL && e->last_error[0] != '\0')
		kv_text("last error", e->last_error);
	if (e->has_body_len)
		kv("body", "%" PRIu32 " bytes", e->body_len);
}

static int cmd_outbox_retry(struct ctl *c, uint64_t id)
{
	Mimamori__OutboxRetryRequest req = MIMAMORI__OUTBOX_RETRY_REQUEST__INIT;
	req.has_id = true;
	req.id = id;
	ProtobufCMessage *m;
	struct rpc_status st;
	int rc = call(c, "OutboxRetry", &req.base, &m, &st, true);
	if (rc == EXIT_UNREACHABLE) {
		errmsg("lost the connection to mimamorid on %s (%s)", c->o.socket, st.message);
		return rc;
	}
	if (rc != EXIT_OK) {
		const char *sep = st.message[0] != '\0' ? ": " : "";
		switch (st.code) {
		case RPC_NOT_FOUND:
			errmsg("no outbox entry %" PRIu64 " (NOT_FOUND%s%s)", id, sep, st.message);
			break;
		case RPC_FAILED_PRECONDITION:
			errmsg("outbox entry %" PRIu64 " is not failed: only failed notifications "
			       "can be retried, pending ones are retried by the daemon itself "
			       "(FAILED_PRECONDITION%s%s)",
			       id, sep, st.message);
			break;
		case RPC_DEADLINE_EXCEEDED:
			errmsg("OutboxRetry: DEADLINE_EXCEEDED: no answer within %" PRIu32
			       " ms (--timeout MS)%s%s",
			       c->o.timeout_ms, sep, st.message);
			break;
		default:
			errmsg("OutboxRetry: %s%s%s", rpc_status_name(st.code), sep, st.message);
		}
		return rc;
	}
	const Mimamori__OutboxRetryReply *r = (const Mimamori__OutboxRetryReply *)m;
	if (c->o.json) {
		rc = print_reply_json(m);
	} else {
		printf("queued outbox entry %" PRIu64 " for delivery again\n\n", id);
		if (r->entry != NULL)
			outbox_entry_human(r->entry);
	}
	rpc_message_free(m);
	return rc;
}

/* ------------------------------------------------------------ members */

static int cmd_members(struct ctl *c)
{
	Mimamori__MembersRequest req = MIMAMORI__MEMBERS_REQUEST__INIT;
	ProtobufCMessage *m;
	int rc = call(c, "Members", &req.base, &m, NULL, false);
	if (rc != EXIT_OK)
		return rc;
	if (c->o.json) {
		rc = print_reply_json(m);
		rpc_message_free(m);
		return rc;
	}
	const Mimamori__MembersReply *r = (const Mimamori__MembersReply *)m;
	static const char *const hdr[] = {"", "NAME", "ADDRESS", "STATE", "INCARNATION", "RTT",
					  "SINCE"};
	struct ctl_table *t = ctl_table_new(7, hdr);
	ctl_table_align_right(t, 4);
	ctl_table_align_right(t, 5);
	int64_t now = ctl_now_ms();
	for (size_t i = 0; i < r->n_members; i++) {
		const Mimamori__Member *mb = r->members[i];
		char state[24], inc[24], rtt[CTL_FMT_LEN], since[CTL_FMT_LEN];
		const char *row[] = {
			mb->has_self && mb->self ? "*" : "",
			mb->name,
			mb->address,
			mb->has_state ? enum_short(&mimamori__member_state__descriptor, (int)mb->state,
						   "MEMBER_STATE_", state, sizeof(state))
				      : "-",
			u64str(mb->has_incarnation, mb->incarnation, inc, sizeof(inc)),
			mb->has_last_rtt_us ? ctl_fmt_latency_us(mb->last_rtt_us, rtt, sizeof(rtt))
					    : "-",
			mb->has_state_since_unix_ms
				? ctl_fmt_age_ms(now > mb->state_since_unix_ms
							 ? (uint64_t)(now - mb->state_since_unix_ms)
							 : 0,
						 since, sizeof(since))
				: "-",
		};
		bool bad = mb->has_state && (mb->state == MIMAMORI__MEMBER_STATE__MEMBER_STATE_SUSPECT ||
					     mb->state == MIMAMORI__MEMBER_STATE__MEMBER_STATE_DEAD);
		ctl_table_add(t, row, bad ? 1u << 3 : 0);
	}
	if (r->n_members == 0)
		printf("no members known\n");
	else
		ctl_table_print(t, stdout, false);
	if (r->has_truncated && r->truncated)
		printf("(%zu of %u members shown: the reply is cut at its size limit)\n",
		       r->n_members, r->has_total ? r->total : 0);
	ctl_table_free(t);
	rpc_message_free(m);
	return EXIT_OK;
}

/* ------------------------------------------------------------ main */

static size_t terminal_width(void)
{
	if (!isatty(STDOUT_FILENO))
		return 0;
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	const char *cols = getenv("COLUMNS");
	uint64_t v;
	if (cols != NULL && parse_u64(cols, 20, 1000, &v))
		return (size_t)v;
	return 80;
}

static bool want_color(void)
{
	const char *term = getenv("TERM");
	return isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL && term != NULL &&
	       strcmp(term, "dumb") != 0;
}

int main(int argc, char **argv)
{
	struct ctl c = {0};
	int rc = parse_options(argc, argv, &c.o);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return usage_error("which command?");
	const char *cmd = argv[optind++];
	char **args = argv + optind;
	int nargs = argc - optind;

	enum { STATUS, EVENTS, OUTBOX, RETRY, MEMBERS } which;
	uint64_t retry_id = 0;
	if (strcmp(cmd, "status") == 0) {
		which = STATUS;
	} else if (strcmp(cmd, "events") == 0) {
		which = EVENTS;
	} else if (strcmp(cmd, "outbox") == 0) {
		which = OUTBOX;
		if (nargs > 0 && strcmp(args[0], "retry") == 0) {
			which = RETRY;
			if (nargs != 2)
				return usage_error("outbox retry takes one outbox entry id");
			if (!parse_u64(args[1], 1, UINT64_MAX, &retry_id))
				return usage_error("not an outbox entry id: '%s'", args[1]);
			nargs = 0;
		}
	} else if (strcmp(cmd, "members") == 0) {
		which = MEMBERS;
	} else if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	} else {
		return usage_error("unknown command '%s'", cmd);
	}
	if (nargs > 0)
		return usage_error("unexpected argument '%s'", args[0]);
	if (which != EVENTS && c.o.events_opt != NULL)
		return usage_error("%s applies to events only", c.o.events_opt);
	if (which != OUTBOX && c.o.outbox_opt != NULL)
		return usage_error("%s applies to outbox (the listing) only", c.o.outbox_opt);

	ctl_fmt_init();
	ctl_fmt_set_color(!c.o.json && want_color());
	c.term_width = terminal_width();

	/* --follow ends on SIGINT/SIGTERM with status 0: the handlers only
	 * set a flag, and interrupt the 200 ms sleep (no SA_RESTART). */
	if (which == EVENTS && c.o.follow) {
		struct sigaction sa = {.sa_handler = on_stop};
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}

	rc = ctl_connect(&c);
	if (rc != EXIT_OK)
		return rc;
	switch (which) {
	case STATUS:
		rc = cmd_status(&c);
		break;
	case EVENTS:
		rc = cmd_events(&c);
		break;
	case OUTBOX:
		rc = cmd_outbox_list(&c);
		break;
	case RETRY:
		rc = cmd_outbox_retry(&c, retry_id);
		break;
	case MEMBERS:
		rc = cmd_members(&c);
		break;
	}
	rpc_client_close(c.client);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		errmsg("cannot write the output: %s", strerror(errno));
		if (rc == EXIT_OK)
			rc = EXIT_DAEMON_ERROR;
	}
	return rc;
}
