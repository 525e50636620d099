/* mimamorid's configuration. inih does the ini syntax; this file maps keys
 * onto struct mimamori_config and checks every value.
 *
 * Line numbers: Debian's libinih is built with INI_HANDLER_LINENO=0, and
 * that macro changes the handler's signature, so defining it here would
 * make the shared library call our handler with the wrong prototype.
 * Instead we parse with ini_parse_stream() and our own reader: inih calls
 * the reader exactly once per line, so the reader's line counter is the
 * line of the key being handled. The reader also catches what inih would
 * otherwise do silently: a line longer than inih's buffer is split into
 * two "lines" (the tail parsed as a separate line), and a NUL byte ends
 * the line early. We flag the first and reject the second.
 *
 * Only inih's public API and its default options are used (no Debian-only
 * runtime switches), so the semantics are upstream inih's: ';' after
 * whitespace starts an inline comment, values are otherwise literal
 * (quotes included). */
#include "daemon/common/config.h"

#include "base/errbuf.h"
#include "base/text.h"
#include "core/watchlist.h"
#include "daemon/common/metrics.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

/* Sanity bounds, in seconds. A request timeout beyond 5 minutes would
 * stall every queued notification behind one dead connection; a max_age
 * under a minute would expire notifications before backoff even gets
 * a few retries in. */
#define TIMEOUT_MIN_S 1
#define TIMEOUT_MAX_S 300
#define MAX_AGE_MIN_S 60
#define MAX_AGE_MAX_S (366L * 86400)

#define PROCESS_NAME_MAX WATCHLIST_NAME_MAX /* kernel TASK_COMM_LEN - 1 (bpf/exitwatch.h) */

/* Longer than any line inih hands us (its buffer is INI_MAX_LINE). */
#define RAW_LINE_MAX 1024

enum config_format { FORMAT_MIMAMORI, FORMAT_MASAKARI_MONITORS };

enum key_kind {
	K_STRING,    /* any text that fits */
	K_SECRET,    /* like K_STRING, never echoed in messages */
	K_URL,       /* empty, or http(s)://... without spaces */
	K_PATH,      /* empty, or an absolute path */
	K_BOOL,
	K_SECONDS,   /* decimal integer in [min, max], stored as long * scale */
	K_MILLISECONDS, /* the same, in milliseconds */
	K_ENUM,      /* one of choices */
	K_VERSION,   /* a Masakari microversion, "1.0" */
	K_PROCESSES, /* [process] watched */
};

struct key_spec {
	const char *section;
	const char *name;
	enum key_kind kind;
	size_t offset;             /* of the field in struct mimamori_config */
	size_t size;               /* of the field (char buffers: capacity) */
	bool nonempty;
	long min, max, scale;      /* K_SECONDS, K_MILLISECONDS */
	const char *const *choices; /* K_ENUM, NULL-terminated */
};

#define FIELD(m) \
	.offset = offsetof(struct mimamori_config, m), \
	.size = sizeof(((struct mimamori_config *)0)->m)

static const char *const interface_choices[] = { "public", "internal", "admin", NULL };
static const char *const probe_choices[] = { "auto", "ebpf", "pidfd", NULL };
static const char *const fencing_choices[] = { "pacemaker", "command", "none", NULL };

static const char *const mimamori_sections[] = {
	"node", "masakari", "instance", "process", "probe", "delivery", "control", "metrics",
	"mesh", "fencing", "pacemaker", NULL,
};

static const struct key_spec mimamori_keys[] = {
	{ "node", "hostname", K_STRING, FIELD(hostname), .nonempty = true },
	{ "node", "state_dir", K_PATH, FIELD(state_dir), .nonempty = true },
	{ "masakari", "auth_url", K_URL, FIELD(masakari.auth_url) },
	{ "masakari", "username", K_STRING, FIELD(masakari.username) },
	{ "masakari", "password", K_SECRET, FIELD(masakari.password) },
	{ "masakari", "project_name", K_STRING, FIELD(masakari.project_name) },
	{ "masakari", "user_domain_name", K_STRING, FIELD(masakari.user_domain_name),
	  .nonempty = true },
	{ "masakari", "project_domain_name", K_STRING, FIELD(masakari.project_domain_name),
	  .nonempty = true },
	/* Empty region is allowed: the catalog lookup then takes any region. */
	{ "masakari", "region", K_STRING, FIELD(masakari.region) },
	{ "masakari", "interface", K_ENUM, FIELD(masakari.interface),
	  .choices = interface_choices },
	{ "masakari", "endpoint_override", K_URL, FIELD(masakari.endpoint_override) },
	{ "masakari", "cafile", K_PATH, FIELD(masakari.cafile) },
	{ "masakari", "insecure", K_BOOL, FIELD(masakari.insecure) },
	{ "masakari", "timeout", K_SECONDS, FIELD(masakari.timeout_ms), .min = TIMEOUT_MIN_S,
	  .max = TIMEOUT_MAX_S, .scale = 1000 },
	{ "masakari", "api_version", K_VERSION, FIELD(masakari.api_version) },
	{ "instance", "libvirt_uri", K_STRING, FIELD(libvirt_uri), .nonempty = true },
	{ "instance", "forward_all_events", K_BOOL, FIELD(forward_all_events) },
	{ "process", "watched", K_PROCESSES, FIELD(process_names) },
	{ "probe", "mode", K_ENUM, FIELD(probe_mode), .choices = probe_choices },
	{ "delivery", "max_age", K_SECONDS, FIELD(delivery_max_age_s), .min = MAX_AGE_MIN_S,
	  .max = MAX_AGE_MAX_S, .scale = 1 },
	{ "control", "socket", K_PATH, FIELD(control_socket), .nonempty = true },
	{ "control", "group", K_STRING, FIELD(control_group) },
	{ "metrics", "listen", K_STRING, FIELD(metrics_listen) },
	{ "mesh", "enabled", K_BOOL, FIELD(mesh_enabled) },
	{ "mesh", "listen", K_STRING, FIELD(mesh_listen), .nonempty = true },
	{ "mesh", "advertise", K_STRING, FIELD(mesh_advertise) },
	{ "mesh", "members_file", K_PATH, FIELD(mesh_members_file), .nonempty = true },
	{ "mesh", "ca_file", K_PATH, FIELD(mesh_ca_file) },
	{ "mesh", "cert_file", K_PATH, FIELD(mesh_cert_file) },
	{ "mesh", "unreachable_window_ms", K_MILLISECONDS, FIELD(mesh_unreachable_window_ms),
	  .min = 400, .max = 30000, .scale = 1 },
	{ "mesh", "refused_means_alive", K_BOOL, FIELD(mesh_refused_means_alive) },
	{ "mesh", "allow_insecure_tcp", K_BOOL, FIELD(mesh_allow_insecure_tcp) },
	{ "fencing", "method", K_ENUM, FIELD(fencing_method), .choices = fencing_choices },
	{ "fencing", "command", K_PATH, FIELD(fencing_command) },
	{ "fencing", "timeout", K_SECONDS, FIELD(fencing_timeout_s), .min = 1, .max = 3600,
	  .scale = 1 },
	{ "pacemaker", "crm_mon", K_PATH, FIELD(crm_mon_path), .nonempty = true },
	{ "pacemaker", "interval", K_SECONDS, FIELD(crm_mon_interval_s), .min = 0, .max = 3600,
	  .scale = 1 },
};
#define N_MIMAMORI_KEYS (sizeof(mimamori_keys) / sizeof(mimamori_keys[0]))

/* masakarimonitors.conf [api]: oslo.config options registered by
 * masakari-monitors (region, api_interface, api_version) and by
 * keystoneauth1 (password plugin and session options). */
static const struct key_spec mm_api_keys[] = {
	{ "api", "auth_url", K_URL, FIELD(masakari.auth_url) },
	{ "api", "username", K_STRING, FIELD(masakari.username) },
	{ "api", "password", K_SECRET, FIELD(masakari.password) },
	{ "api", "project_name", K_STRING, FIELD(masakari.project_name) },
	{ "api", "user_domain_name", K_STRING, FIELD(masakari.user_domain_name),
	  .nonempty = true },
	{ "api", "project_domain_name", K_STRING, FIELD(masakari.project_domain_name),
	  .nonempty = true },
	{ "api", "region", K_STRING, FIELD(masakari.region) },
	{ "api", "api_interface", K_ENUM, FIELD(masakari.interface),
	  .choices = interface_choices },
	{ "api", "cafile", K_PATH, FIELD(masakari.cafile) },
	{ "api", "insecure", K_BOOL, FIELD(masakari.insecure) },
	{ "api", "timeout", K_SECONDS, FIELD(masakari.timeout_ms), .min = TIMEOUT_MIN_S,
	  .max = TIMEOUT_MAX_S, .scale = 1000 },
};
#define N_MM_API_KEYS (sizeof(mm_api_keys) / sizeof(mm_api_keys[0]))

/* keystoneauth options that select a different identity, scope or TLS
 * client certificate than the fields we have. Ignoring them would
 * authenticate as someone else, so they are refused. */
static const char *const mm_unsupported[] = {
	"user_id", "project_id", "domain_id", "domain_name", "trust_id", "system_scope",
	"certfile", "keyfile", "auth_section", NULL,
};

/* Where the bytes come from: a FILE or a memory buffer. */
struct line_source {
	FILE *fp;
	const char *data;
	size_t len, pos;
};

struct parse_ctx {
	struct mimamori_config cfg; /* working copy: the caller's is replaced only on success */
	enum config_format format;
	const char *name;           /* file name for messages */
	char *err;
	size_t errlen;
	int failed_line;            /* line of the first error (-1: not line-bound), 0: none */
	struct line_source src;
	/* The line inih is working on. */
	int lineno;
	bool line_truncated;
	/* A cut line inih may reject without calling us (a long section
	 * header, no '=' in the part it saw): its line, until the handler
	 * shows it was a key after all. */
	int truncated_unhandled;
	bool line_indented;
	int line_max;               /* inih's line capacity, for messages */
	char raw[RAW_LINE_MAX];     /* the line as read (masakari-monitors checks) */
	/* mimamori.conf: line each key was first set on, to refuse duplicates. */
	int first_line[N_MIMAMORI_KEYS];
	/* masakarimonitors.conf: resolved after the whole file is read, since
	 * oslo.config lets a later line override an earlier one. */
	bool mm_hostname_set, mm_host_set;
	char mm_host[sizeof(((struct mimamori_config *)0)->hostname)];
	bool mm_user_domain_set, mm_project_domain_set, mm_default_domain_set;
	char mm_default_domain[sizeof(((struct masakari_client_config *)0)->user_domain_name)];
};

static void assert_config_invariants(const struct mimamori_config *cfg);

void config_defaults(struct mimamori_config *cfg)
{
	assert(cfg);
	memset(cfg, 0, sizeof(*cfg));
	/* gethostname() may leave the buffer unterminated on truncation; on
	 * failure the empty name is caught by config_validate(). */
	if (gethostname(cfg->hostname, sizeof(cfg->hostname) - 1) < 0)
		cfg->hostname[0] = '\0';
	cfg->hostname[sizeof(cfg->hostname) - 1] = '\0';
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", "/var/lib/mimamori");

	struct masakari_client_config *m = &cfg->masakari;
	m->noauth = true; /* no auth_url yet */
	snprintf(m->user_domain_name, sizeof(m->user_domain_name), "%s", "Default");
	snprintf(m->project_domain_name, sizeof(m->project_domain_name), "%s", "Default");
	snprintf(m->region, sizeof(m->region), "%s", "RegionOne");
	snprintf(m->interface, sizeof(m->interface), "%s", "public");
	m->insecure = false;
	m->timeout_ms = 10 * 1000L;
	snprintf(m->api_version, sizeof(m->api_version), "%s", "1.0");

	snprintf(cfg->libvirt_uri, sizeof(cfg->libvirt_uri), "%s", "qemu:///system");
	cfg->forward_all_events = false;
	cfg->n_process_names = 0;
	snprintf(cfg->probe_mode, sizeof(cfg->probe_mode), "%s", "auto");
	cfg->delivery_max_age_s = 86400;
	snprintf(cfg->control_socket, sizeof(cfg->control_socket), "%s",
		 "/run/mimamori/control.sock");
	snprintf(cfg->metrics_listen, sizeof(cfg->metrics_listen), "%s", "127.0.0.1:9877");
	snprintf(cfg->mesh_listen, sizeof(cfg->mesh_listen), "%s", "tls+tcp://0.0.0.0:7947");
	snprintf(cfg->mesh_members_file, sizeof(cfg->mesh_members_file), "%s",
		 "/etc/mimamori/members");
	snprintf(cfg->mesh_ca_file, sizeof(cfg->mesh_ca_file), "%s", "/etc/mimamori/ca.pem");
	snprintf(cfg->mesh_cert_file, sizeof(cfg->mesh_cert_file), "%s", "/etc/mimamori/node.pem");
	snprintf(cfg->fencing_method, sizeof(cfg->fencing_method), "%s", "pacemaker");
	cfg->fencing_timeout_s = 60;
	cfg->mesh_unreachable_window_ms = 1200;
	cfg->mesh_refused_means_alive = true;
	snprintf(cfg->crm_mon_path, sizeof(cfg->crm_mon_path), "%s", "/usr/sbin/crm_mon");
	cfg->crm_mon_interval_s = 2;
	assert_config_invariants(cfg); /* the defaults obey the key table */
}

/* ---- messages ---- */

/* Section and key names come from the file: keep messages printable and
 * short so a hostile or binary file cannot mangle the log. */
static void printable(char *out, size_t outlen, const char *in)
{
	size_t n = 0;

	for (; *in && n + 1 < outlen; in++) {
		unsigned char c = (unsigned char)*in;

		out[n++] = text_is_control(c) || c > 0x7f ? '?' : (char)c;
	}
	out[n] = '\0';
}

/* Records the first error only: later ones are usually consequences. */
static int line_error(struct parse_ctx *ctx, int line, const char *section, const char *key,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int line_error(struct parse_ctx *ctx, int line, const char *section, const char *key,
		      const char *fmt, ...)
{
	char sec[65], name[65], msg[CONFIG_ERR_LEN];
	va_list ap;

	if (ctx->failed_line)
		return -1;
	ctx->failed_line = line;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (section) {
		printable(sec, sizeof(sec), section);
		printable(name, sizeof(name), key);
		errbuf_set(ctx->err, ctx->errlen, "%s:%d: [%s] %s: %s", ctx->name, line, sec, name,
			msg);
	} else {
		errbuf_set(ctx->err, ctx->errlen, "%s:%d: %s", ctx->name, line, msg);
	}
	return -1;
}

#define key_error(ctx, section, key, ...) \
	line_error((ctx), (ctx)->lineno, (section), (key), __VA_ARGS__)

/* ---- value parsers ---- */

static bool parse_bool(const char *v, enum config_format format, bool *out)
{
	/* oslo.config also takes on/off; ours keeps to the documented set. */
	static const char *const yes[] = { "true", "yes", "1", "on", NULL };
	static const char *const no[] = { "false", "no", "0", "off", NULL };
	size_t n = format == FORMAT_MASAKARI_MONITORS ? 4 : 3;

	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* 0, or -1 when v is not a plain decimal number, -2 when out of range. */
static int parse_long(const char *v, long min, long max, long *out)
{
	char *end;
	long x;

	if (!*v)
		return -1;
	for (const char *p = v; *p; p++)
		if (!isdigit((unsigned char)*p))
			return -1;
	errno = 0;
	x = strtol(v, &end, 10);
	if (*end)
		return -1;
	if (errno == ERANGE || x < min || x > max)
		return -2;
	*out = x;
	return 0;
}

static bool is_url(const char *v)
{
	size_t scheme;

	if (strncasecmp(v, "https://", 8) == 0)
		scheme = 8;
	else if (strncasecmp(v, "http://", 7) == 0)
		scheme = 7;
	else
		return false;
	if (v[scheme] == '\0' || v[scheme] == '/')
		return false; /* no host */
	return strchr(v, ' ') == NULL && !text_has_control(v);
}

/* "1.0", "1.2": what the OpenStack-API-Version header carries. */
static bool is_microversion(const char *v)
{
	const char *p = v;

	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p++ != '.' || !isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	return *p == '\0';
}

/* Comma-separated comm names into cfg, all or nothing. */
static int apply_processes(struct parse_ctx *ctx, const char *section, const char *key,
			   const char *v)
{
	char names[CORRELATE_MAX_PROCESS_NAMES][sizeof(ctx->cfg.process_names[0])];
	size_t n = 0;
	const char *p = v;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		goto done; /* "watched =" explicitly watches nothing */
	for (;;) {
		const char *start = p, *end;
		size_t len;

		while (*p && *p != ',')
			p++;
		end = p;
		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		len = (size_t)(end - start);
		if (len == 0)
			return key_error(ctx, section, key, "empty process name in the list");
		if (len > PROCESS_NAME_MAX)
			return key_error(ctx, section, key,
					 "process name '%.*s' is longer than %d characters "
					 "(the kernel's comm limit)",
					 (int)(len > 64 ? 64 : len), start, PROCESS_NAME_MAX);
		if (text_has_control_n(start, len))
			return key_error(ctx, section, key, "control character in a process name");
		if (n == CORRELATE_MAX_PROCESS_NAMES)
			return key_error(ctx, section, key, "more than %d process names",
					 CORRELATE_MAX_PROCESS_NAMES);
		memcpy(names[n], start, len);
		names[n][len] = '\0';
		for (size_t i = 0; i < n; i++)
			if (strcmp(names[i], names[n]) == 0)
				return key_error(ctx, section, key,
						 "process name '%s' is listed twice", names[n]);
		n++;
		if (*p == '\0')
			break;
		p++; /* the comma */
	}
done:
	memcpy(ctx->cfg.process_names, names, n * sizeof(names[0]));
	ctx->cfg.n_process_names = n;
	return 0;
}

/* Checks v against spec and stores it. Values of non-secret kinds are
 * echoed (shortened) in messages to show what was read. */
static int apply_value(struct parse_ctx *ctx, const struct key_spec *spec, const char *section,
		       const char *key, const char *v)
{
	char *field = (char *)&ctx->cfg + spec->offset;
	size_t len = strlen(v);

	switch (spec->kind) {
	case K_STRING:
	case K_SECRET:
	case K_URL:
	case K_PATH:
		if (len >= spec->size)
			return key_error(ctx, section, key, "value too long (%zu bytes, max %zu)",
					 len, spec->size - 1);
		if (spec->nonempty && len == 0)
			return key_error(ctx, section, key, "must not be empty");
		if (spec->kind == K_URL && len > 0 && !is_url(v))
			return key_error(ctx, section, key,
					 "'%.64s' is not an http:// or https:// URL", v);
		if (spec->kind == K_PATH && len > 0 && v[0] != '/')
			return key_error(ctx, section, key, "'%.64s' is not an absolute path", v);
		memcpy(field, v, len + 1);
		return 0;
	case K_BOOL: {
		bool b;

		if (!parse_bool(v, ctx->format, &b))
			return key_error(ctx, section, key,
					 "'%.64s' is not a boolean (true/false, yes/no, 1/0)", v);
		*(bool *)field = b;
		return 0;
	}
	case K_SECONDS:
	case K_MILLISECONDS: {
		const char *unit = spec->kind == K_SECONDS ? "seconds" : "milliseconds";
		long x = 0;
		int rc = parse_long(v, spec->min, spec->max, &x);

		if (rc == -1)
			return key_error(ctx, section, key, "'%.64s' is not a whole number of %s",
					 v, unit);
		if (rc == -2)
			return key_error(ctx, section, key, "%.64s is out of range (%ld to %ld %s)",
					 v, spec->min, spec->max, unit);
		assert(spec->scale >= 1 && spec->max <= LONG_MAX / spec->scale); /* the table's */
		*(long *)field = x * spec->scale;
		return 0;
	}
	case K_ENUM:
		for (const char *const *c = spec->choices; *c; c++) {
			if (strcmp(v, *c) == 0) {
				if (len >= spec->size) /* a table error, but never overflow */
					return key_error(ctx, section, key, "value too long");
				memcpy(field, v, len + 1);
				return 0;
			}
		}
		{
			char list[128] = "";
			size_t used = 0;

			for (const char *const *c = spec->choices; *c; c++) {
				int w = snprintf(list + used, sizeof(list) - used, "%s%s",
						 c == spec->choices ? "" : ", ", *c);
				if (w < 0 || (size_t)w >= sizeof(list) - used)
					break;
				used += (size_t)w;
			}
			return key_error(ctx, section, key, "'%.64s' is not one of: %s", v, list);
		}
	case K_VERSION:
		if (!is_microversion(v))
			return key_error(ctx, section, key,
					 "'%.64s' is not an API microversion like 1.0", v);
		if (len >= spec->size)
			return key_error(ctx, section, key, "value too long (%zu bytes, max %zu)",
					 len, spec->size - 1);
		memcpy(field, v, len + 1);
		return 0;
	case K_PROCESSES:
		return apply_processes(ctx, section, key, v);
	}
	return key_error(ctx, section, key, "internal error: unknown value kind");
}

/* ---- the reader inih pulls lines from ---- */

static int src_getc(struct line_source *s)
{
	if (s->fp)
		return getc(s->fp);
	if (s->pos >= s->len)
		return EOF;
	return (unsigned char)s->data[s->pos++];
}

/* Called before the next line is read and at the end: inih did not hand
 * the cut line to the handler, so it was (or became) a syntax error. */
static void check_truncated_unhandled(struct parse_ctx *ctx)
{
	if (ctx->truncated_unhandled)
		line_error(ctx, ctx->truncated_unhandled, NULL, NULL,
			   "line too long (max %d characters)", ctx->line_max);
	ctx->truncated_unhandled = 0;
}

/* fgets-like, one physical line per call (so inih's line count is ours).
 * A line that does not fit is cut, flagged, and its tail swallowed, so
 * the tail never reaches inih as a line of its own. In mimamori.conf
 * leading blanks are dropped: indentation is not significant there,
 * where inih would otherwise read an indented line as a continuation of
 * the previous value. */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_ctx *ctx = stream;
	size_t cap, n = 0, raw_n = 0;
	bool any = false, leading = true;
	int first = 0; /* first non-blank character */
	int c;

	check_truncated_unhandled(ctx);
	if (ctx->failed_line || num < 2)
		return NULL;
	cap = (size_t)num - 1;
	ctx->line_truncated = false;
	ctx->line_indented = false;
	ctx->line_max = num - 1;
	while ((c = src_getc(&ctx->src)) != EOF) {
		if (!any) {
			any = true;
			ctx->lineno++;
		}
		if (c == '\0') {
			line_error(ctx, ctx->lineno, NULL, NULL, "NUL byte in the file");
			return NULL;
		}
		if (raw_n + 1 < sizeof(ctx->raw))
			ctx->raw[raw_n++] = (char)c;
		if (leading && (c == ' ' || c == '\t')) {
			ctx->line_indented = true;
			if (ctx->format == FORMAT_MIMAMORI)
				continue;
		} else {
			if (leading && c != '\n' && c != '\r')
				first = c;
			leading = false;
		}
		if (c == '\n') {
			if (n < cap)
				str[n++] = '\n';
			break;
		}
		if (n < cap)
			str[n++] = (char)c;
		else
			ctx->line_truncated = true;
	}
	if (!any)
		return NULL;
	str[n] = '\0';
	ctx->raw[raw_n] = '\0';
	/* A cut comment or blank line is harmless; anything else must reach
	 * the handler, which then reports it with its section and key. */
	if (ctx->line_truncated && first != 0 && first != ';' && first != '#')
		ctx->truncated_unhandled = ctx->lineno;
	return str;
}

/* ---- mimamori.conf ---- */

static int mimamori_key(struct parse_ctx *ctx, const char *section, const char *name,
			const char *value)
{
	bool known_section = false;

	if (section[0] == '\0')
		return key_error(ctx, section, name, "key outside any [section]");
	for (const char *const *s = mimamori_sections; *s; s++)
		if (strcmp(section, *s) == 0)
			known_section = true;
	if (!known_section)
		return key_error(ctx, section, name, "unknown section");
	if (ctx->line_truncated)
		return key_error(ctx, section, name, "line too long (max %d characters)",
				 ctx->line_max);
	for (size_t i = 0; i < N_MIMAMORI_KEYS; i++) {
		const struct key_spec *spec = &mimamori_keys[i];

		if (strcmp(spec->section, section) != 0 || strcmp(spec->name, name) != 0)
			continue;
		if (ctx->first_line[i])
			return key_error(ctx, section, name, "duplicate key (first set on line %d)",
					 ctx->first_line[i]);
		ctx->first_line[i] = ctx->lineno;
		return apply_value(ctx, spec, section, name, value);
	}
	return key_error(ctx, section, name, "unknown key");
}

/* ---- masakarimonitors.conf ---- */

/* oslo.config's iniparser drops one pair of matching surrounding quotes. */
static void oslo_unquote(char *v)
{
	size_t len = strlen(v);

	if (len > 0 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
		if (len == 1) {
			v[0] = '\0';
			return;
		}
		memmove(v, v + 1, len - 2);
		v[len - 2] = '\0';
	}
}

/* inih cuts "value ;text" at the ';', oslo.config keeps it: refuse rather
 * than import a different password than masakari-monitors uses. */
static bool raw_has_inline_comment(const char *raw)
{
	const char *p = raw + strcspn(raw, "=:");

	if (*p == '\0')
		return false; /* a continuation line: no separator */
	for (p++; *p; p++)
		if (*p == ';' && (p[-1] == ' ' || p[-1] == '\t'))
			return true;
	return false;
}

/* Line-level checks for a key we are going to use. */
static int mm_check_line(struct parse_ctx *ctx, const char *section, const char *name)
{
	if (ctx->line_indented)
		return key_error(ctx, section, name,
				 "multi-line values are not supported (indented line)");
	if (ctx->line_truncated)
		return key_error(ctx, section, name, "line too long (max %d characters)",
				 ctx->line_max);
	if (raw_has_inline_comment(ctx->raw))
		return key_error(ctx, section, name,
				 "' ;' in the value: inih reads it as a comment, oslo.config "
				 "does not; remove it");
	return 0;
}

static int mm_default_key(struct parse_ctx *ctx, const char *section, const char *name,
			  char *v)
{
	/* masakari-monitors' hostname option, deprecated name "host";
	 * the new name wins when both are set. */
	bool is_hostname = strcmp(name, "hostname") == 0;

	if (!is_hostname && strcmp(name, "host") != 0)
		return 0;
	if (mm_check_line(ctx, section, name) < 0)
		return -1;
	oslo_unquote(v);
	if (v[0] == '\0')
		return key_error(ctx, section, name, "must not be empty");
	if (strlen(v) >= sizeof(ctx->cfg.hostname))
		return key_error(ctx, section, name, "value too long (%zu bytes, max %zu)",
				 strlen(v), sizeof(ctx->cfg.hostname) - 1);
	if (is_hostname) {
		memcpy(ctx->cfg.hostname, v, strlen(v) + 1);
		ctx->mm_hostname_set = true;
	} else {
		memcpy(ctx->mm_host, v, strlen(v) + 1);
		ctx->mm_host_set = true;
	}
	return 0;
}

static int mm_api_key(struct parse_ctx *ctx, const char *section, const char *name, char *v)
{
	struct masakari_client_config *m = &ctx->cfg.masakari;

	for (size_t i = 0; i < N_MM_API_KEYS; i++) {
		const struct key_spec *spec = &mm_api_keys[i];

		if (strcmp(spec->name, name) != 0)
			continue;
		if (mm_check_line(ctx, section, name) < 0)
			return -1;
		oslo_unquote(v);
		if (apply_value(ctx, spec, section, name, v) < 0)
			return -1;
		if (strcmp(name, "user_domain_name") == 0)
			ctx->mm_user_domain_set = true;
		else if (strcmp(name, "project_domain_name") == 0)
			ctx->mm_project_domain_set = true;
		return 0;
	}
	for (const char *const *u = mm_unsupported; *u; u++)
		if (strcmp(name, *u) == 0)
			return key_error(ctx, section, name,
					 "not supported by mimamori (it would change who "
					 "authenticates); use names in mimamori.conf");

	if (strcmp(name, "api_version") == 0) {
		if (mm_check_line(ctx, section, name) < 0)
			return -1;
		oslo_unquote(v);
		/* masakari-monitors' default "v1" names the API, not a
		 * microversion: v1 at microversion 1.0 is our default. */
		if (strcmp(v, "v1") == 0)
			return 0;
		if (!is_microversion(v))
			return key_error(ctx, section, name,
					 "'%.64s' is neither v1 nor a microversion like 1.0", v);
		if (strlen(v) >= sizeof(m->api_version))
			return key_error(ctx, section, name, "value too long");
		memcpy(m->api_version, v, strlen(v) + 1);
		return 0;
	}
	if (strcmp(name, "auth_type") == 0) {
		if (mm_check_line(ctx, section, name) < 0)
			return -1;
		oslo_unquote(v);
		if (strcmp(v, "password") != 0 && strcmp(v, "v3password") != 0)
			return key_error(ctx, section, name,
					 "'%.64s' is not supported (only password, v3password)", v);
		return 0;
	}
	if (strcmp(name, "user_domain_id") == 0 || strcmp(name, "project_domain_id") == 0 ||
	    strcmp(name, "default_domain_id") == 0) {
		/* The install guide's "user_domain_id = default": the ID of
		 * Keystone's Default domain, whose name is our default. Other
		 * IDs cannot be turned into names offline. */
		if (mm_check_line(ctx, section, name) < 0)
			return -1;
		oslo_unquote(v);
		if (strcmp(v, "default") != 0)
			return key_error(ctx, section, name,
					 "only 'default' can be imported; set the domain's name "
					 "in mimamori.conf instead");
		return 0;
	}
	if (strcmp(name, "default_domain_name") == 0) {
		/* keystoneauth's fallback for both user and project domain. */
		if (mm_check_line(ctx, section, name) < 0)
			return -1;
		oslo_unquote(v);
		if (v[0] == '\0')
			return key_error(ctx, section, name, "must not be empty");
		if (strlen(v) >= sizeof(ctx->mm_default_domain))
			return key_error(ctx, section, name, "value too long (%zu bytes, max %zu)",
					 strlen(v), sizeof(ctx->mm_default_domain) - 1);
		memcpy(ctx->mm_default_domain, v, strlen(v) + 1);
		ctx->mm_default_domain_set = true;
		return 0;
	}
	/* Everything else (api_retry_max, api_retry_interval, which
	 * masakari-monitors actually reads from [host]/[process]/[callback],
	 * www_authenticate_uri, collect_timing, split_loggers, options of
	 * other plugins): irrelevant to how we talk to Masakari. oslo.config
	 * ignores unregistered options too. */
	return 0;
}

static int mm_key(struct parse_ctx *ctx, const char *section, const char *name, const char *value)
{
	char v[RAW_LINE_MAX];
	size_t len = strlen(value);

	/* oslo.config lower-cases group names except DEFAULT; the rest of
	 * the file belongs to other monitors and is none of our business. */
	bool is_default = strcmp(section, "DEFAULT") == 0;
	bool is_api = strcasecmp(section, "api") == 0;

	if (!is_default && !is_api)
		return 0;
	if (len >= sizeof(v)) /* cannot happen: inih's lines are shorter */
		return key_error(ctx, section, name, "value too long");
	memcpy(v, value, len + 1);
	return is_default ? mm_default_key(ctx, section, name, v) : mm_api_key(ctx, section, name, v);
}

/* ---- driver ---- */

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;
	int rc;

	ctx->truncated_unhandled = 0; /* it was a key: the checks below judge it */
	if (ctx->failed_line)
		return 0;
	if (!value) /* only with INI_ALLOW_NO_VALUE, which is off; be safe */
		value = "";
	rc = ctx->format == FORMAT_MIMAMORI ? mimamori_key(ctx, section, name, value)
					    : mm_key(ctx, section, name, value);
	return rc == 0;
}

static void mm_finish(struct parse_ctx *ctx)
{
	struct masakari_client_config *m = &ctx->cfg.masakari;

	if (!ctx->mm_hostname_set && ctx->mm_host_set)
		memcpy(ctx->cfg.hostname, ctx->mm_host, sizeof(ctx->cfg.hostname));
	if (ctx->mm_default_domain_set) {
		if (!ctx->mm_user_domain_set)
			memcpy(m->user_domain_name, ctx->mm_default_domain,
			       sizeof(m->user_domain_name));
		if (!ctx->mm_project_domain_set)
			memcpy(m->project_domain_name, ctx->mm_default_domain,
			       sizeof(m->project_domain_name));
	}
}

static int parse(struct mimamori_config *cfg, enum config_format format, const char *name,
		 struct line_source *src, char *err, size_t errlen)
{
	struct parse_ctx *ctx = calloc(1, sizeof(*ctx)); /* a few KB: keep it off the stack */
	int rc, ret = -1;

	/* The contract: cfg holds config_defaults() or an earlier load. */
	assert_config_invariants(cfg);
	if (!ctx) {
		errbuf_set(err, errlen, "%s: out of memory", name);
		return -1;
	}
	ctx->cfg = *cfg;
	ctx->format = format;
	ctx->name = name;
	ctx->err = err;
	ctx->errlen = errlen;
	ctx->src = *src;

	rc = ini_parse_stream(read_line, ctx, on_key, ctx);
	check_truncated_unhandled(ctx); /* the last line */
	if (ctx->src.fp && ferror(ctx->src.fp)) {
		errbuf_set(err, errlen, "%s: read error: %s", name, strerror(errno));
		goto out;
	}
	if (rc == -2) {
		errbuf_set(err, errlen, "%s: out of memory", name);
		goto out;
	}
	/* inih returns the first line it disliked; report whichever of its
	 * error and ours comes first in the file. Its line numbers equal
	 * ours: one reader call per line. */
	if (rc > 0 && (!ctx->failed_line || rc < ctx->failed_line)) {
		errbuf_set(err, errlen,
			"%s:%d: syntax error (expected [section], key = value or a comment)",
			name, rc);
		goto out;
	}
	if (ctx->failed_line)
		goto out;
	if (rc != 0) {
		errbuf_set(err, errlen, "%s: parse error (%d)", name, rc);
		goto out;
	}
	if (format == FORMAT_MASAKARI_MONITORS)
		mm_finish(ctx);
	ctx->cfg.masakari.noauth = ctx->cfg.masakari.auth_url[0] == '\0';
	assert_config_invariants(&ctx->cfg);
	*cfg = ctx->cfg;
	ret = 0;
out:
	/* The working copy may hold a password. */
	explicit_bzero(ctx, sizeof(*ctx));
	free(ctx);
	return ret;
}

static int load_file(struct mimamori_config *cfg, enum config_format format, const char *path,
		     char *err, size_t errlen)
{
	struct line_source src = { 0 };
	int ret;

	src.fp = fopen(path, "re");
	if (!src.fp) {
		errbuf_set(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	ret = parse(cfg, format, path, &src, err, errlen);
	if (fclose(src.fp) != 0 && ret == 0) {
		errbuf_set(err, errlen, "%s: close: %s", path, strerror(errno));
		ret = -1;
	}
	return ret;
}

static int load_buffer(struct mimamori_config *cfg, enum config_format format, const char *name,
		       const char *data, size_t len, char *err, size_t errlen)
{
	struct line_source src = { .data = data, .len = data ? len : 0 };

	return parse(cfg, format, name ? name : "<buffer>", &src, err, errlen);
}

int config_load(struct mimamori_config *cfg, const char *path, char *err, size_t errlen)
{
	return load_file(cfg, FORMAT_MIMAMORI, path, err, errlen);
}

int config_load_buffer(struct mimamori_config *cfg, const char *name, const char *data,
		       size_t len, char *err, size_t errlen)
{
	return load_buffer(cfg, FORMAT_MIMAMORI, name, data, len, err, errlen);
}

int config_load_masakari_monitors(struct mimamori_config *cfg, const char *path, char *err,
				  size_t errlen)
{
	return load_file(cfg, FORMAT_MASAKARI_MONITORS, path, err, errlen);
}

int config_load_masakari_monitors_buffer(struct mimamori_config *cfg, const char *name,
					 const char *data, size_t len, char *err, size_t errlen)
{
	return load_buffer(cfg, FORMAT_MASAKARI_MONITORS, name, data, len, err, errlen);
}

/* ---- cross-field checks ---- */

static bool one_of(const char *v, const char *const *choices)
{
	for (; *choices; choices++)
		if (strcmp(v, *choices) == 0)
			return true;
	return false;
}

/* What every loaded configuration holds, by the key table: strings end
 * within their buffers, URLs and paths are empty or well-formed, enums
 * are one of their choices, numbers are within their keys' bounds (later
 * code multiplies them into nanoseconds and sizes its buffers by them),
 * process names fit the kernel's comm, noauth follows auth_url. The
 * loader checks each value as it reads it; this holds it to that. */
static void assert_config_invariants(const struct mimamori_config *cfg)
{
	assert(cfg);
	for (size_t i = 0; i < N_MIMAMORI_KEYS; i++) {
		const struct key_spec *spec = &mimamori_keys[i];
		const char *field = (const char *)cfg + spec->offset;

		switch (spec->kind) {
		case K_STRING:
		case K_SECRET:
			assert(memchr(field, '\0', spec->size));
			break;
		case K_URL:
			assert(memchr(field, '\0', spec->size));
			assert(field[0] == '\0' || is_url(field));
			break;
		case K_PATH:
			assert(memchr(field, '\0', spec->size));
			assert(field[0] == '\0' || field[0] == '/');
			break;
		case K_ENUM:
			assert(memchr(field, '\0', spec->size) && one_of(field, spec->choices));
			break;
		case K_VERSION:
			assert(memchr(field, '\0', spec->size) && is_microversion(field));
			break;
		case K_SECONDS:
		case K_MILLISECONDS: {
			long x = *(const long *)(const void *)field;

			assert(x >= spec->min * spec->scale && x <= spec->max * spec->scale);
			break;
		}
		case K_BOOL:
			break;
		case K_PROCESSES:
			assert(cfg->n_process_names <= CORRELATE_MAX_PROCESS_NAMES);
			for (size_t k = 0; k < cfg->n_process_names; k++) {
				size_t n = strnlen(cfg->process_names[k],
						   sizeof(cfg->process_names[k]));

				assert(n >= 1 && n <= PROCESS_NAME_MAX);
				assert(!text_has_control(cfg->process_names[k]));
			}
			break;
		}
	}
	assert(cfg->masakari.noauth == (cfg->masakari.auth_url[0] == '\0'));
}

int config_validate(const struct mimamori_config *cfg, char *err, size_t errlen)
{
	const struct masakari_client_config *m = &cfg->masakari;

	if (cfg->hostname[0] == '\0') {
		errbuf_set(err, errlen, "[node] hostname: empty (set it, gethostname() gave nothing)");
		return -1;
	}
	if (cfg->state_dir[0] != '/') {
		errbuf_set(err, errlen, "[node] state_dir: must be an absolute path");
		return -1;
	}
	if (cfg->metrics_listen[0] != '\0') {
		char url[METRICS_LISTEN_MAX + 16], why[CONFIG_ERR_LEN];

		if (metrics_listen_url(cfg->metrics_listen, url, sizeof(url), why, sizeof(why)) < 0) {
			errbuf_set(err, errlen, "[metrics] listen: %s", why);
			return -1;
		}
	}
	if (cfg->mesh_enabled && strncmp(cfg->mesh_listen, "tls+tcp://", 10) != 0 &&
	    strncmp(cfg->mesh_listen, "tcp://", 6) != 0) {
		errbuf_set(err, errlen, "[mesh] listen: must be tls+tcp://HOST:PORT (or tcp:// for tests)");
		return -1;
	}
	/* Without TLS any host that reaches the port speaks for any member:
	 * it may report hosts dead (fencing them) or switch failover off. */
	if (cfg->mesh_enabled && strncmp(cfg->mesh_listen, "tcp://", 6) == 0 &&
	    !cfg->mesh_allow_insecure_tcp) {
		errbuf_set(err, errlen,
			   "[mesh] listen: tcp:// has no authentication (anyone reaching the port "
			   "can speak for any member): use tls+tcp://, or set allow_insecure_tcp = "
			   "true (tests only)");
		return -1;
	}
	if (strcmp(cfg->fencing_method, "command") == 0 && cfg->fencing_command[0] == '\0') {
		errbuf_set(err, errlen, "[fencing] command: required with method = command");
		return -1;
	}
	/* noauth is derived from auth_url, not trusted as given. */
	if (m->auth_url[0] == '\0') {
		if (m->endpoint_override[0] == '\0') {
			errbuf_set(err, errlen,
				"[masakari] endpoint_override: required without auth_url "
				"(noauth mode has no catalog to find Masakari in)");
			return -1;
		}
	} else {
		static const struct {
			const char *name;
			size_t offset;
		} required[] = {
			{ "username", offsetof(struct masakari_client_config, username) },
			{ "password", offsetof(struct masakari_client_config, password) },
			{ "project_name", offsetof(struct masakari_client_config, project_name) },
		};
		for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
			if (((const char *)m + required[i].offset)[0] == '\0') {
				errbuf_set(err, errlen,
					"[masakari] %s: required when auth_url is set (Keystone "
					"password auth)",
					required[i].name);
				return -1;
			}
		}
	}
	if (m->noauth != (m->auth_url[0] == '\0')) {
		errbuf_set(err, errlen, "[masakari] auth_url: noauth flag disagrees with auth_url");
		return -1;
	}
	if (!one_of(m->interface, interface_choices)) {
		errbuf_set(err, errlen, "[masakari] interface: must be public, internal or admin");
		return -1;
	}
	if (m->timeout_ms < TIMEOUT_MIN_S * 1000L || m->timeout_ms > TIMEOUT_MAX_S * 1000L) {
		errbuf_set(err, errlen, "[masakari] timeout: out of range (%d to %d seconds)",
			TIMEOUT_MIN_S, TIMEOUT_MAX_S);
		return -1;
	}
	if (!is_microversion(m->api_version)) {
		errbuf_set(err, errlen, "[masakari] api_version: not a microversion like 1.0");
		return -1;
	}
	if (cfg->libvirt_uri[0] == '\0') {
		errbuf_set(err, errlen, "[instance] libvirt_uri: must not be empty");
		return -1;
	}
	if (cfg->n_process_names > CORRELATE_MAX_PROCESS_NAMES) {
		errbuf_set(err, errlen, "[process] watched: more than %d process names",
			CORRELATE_MAX_PROCESS_NAMES);
		return -1;
	}
	if (!one_of(cfg->probe_mode, probe_choices)) {
		errbuf_set(err, errlen, "[probe] mode: must be auto, ebpf or pidfd");
		return -1;
	}
	if (cfg->delivery_max_age_s < MAX_AGE_MIN_S || cfg->delivery_max_age_s > MAX_AGE_MAX_S) {
		errbuf_set(err, errlen, "[delivery] max_age: out of range (%d to %ld seconds)",
			MAX_AGE_MIN_S, MAX_AGE_MAX_S);
		return -1;
	}
	return 0;
}
