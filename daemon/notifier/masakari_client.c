/* See masakari_client.h. One curl easy handle for both Keystone and
 * Masakari, reset (not recreated) between requests so its connection
 * cache keeps the TCP/TLS sessions alive. Parsing lives in keystone.c and
 * masakari_reply.c; here is only HTTP and the token's life cycle. */
#include "daemon/notifier/masakari_client.h"

#include <assert.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/errbuf.h"
#include "base/units.h"
#include "core/keystone.h"
#include "core/masakari_reply.h"
#include "os/clock.h"
#include "os/log.h"

/* Signed like the token times it is compared with (a life may be < 0). */
#define RENEW_MARGIN_NS (300 * (int64_t)NS_PER_S) /* renew 5 min before expiry... */
#define RENEW_FRACTION 10                /* ...or at 90% of a shorter life */
#define DEFAULT_TIMEOUT_MS 10000L
#define MAX_RESPONSE (4u * 1024 * 1024)  /* catalogs of big clouds fit */
#define MAX_TOKEN_LEN 16384u             /* fernet ~200 bytes; bound anyway */
#define URL_LEN 1024
#define SERVICE_TYPE "instance-ha"
#ifndef MIMAMORI_VERSION
#define MIMAMORI_VERSION "0"
#endif

struct response {
	char *data;
	size_t len, cap;
	bool too_large;
};

struct masakari_client {
	struct masakari_client_config cfg;
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
	struct response resp;
	char *subject_token; /* X-Subject-Token of the last response */
	char *token;
	/* The token's life on the monotonic clock, so a wall-clock step
	 * neither renews it early nor keeps it past its end; Keystone's
	 * expires_at (its wall clock) is kept only to show. */
	int64_t token_obtained_mono_ns;
	int64_t token_expires_mono_ns;
	int64_t token_expires_realtime_ns;
	enum token_state state;
	char endpoint[512];
	char last_error[256];
	char last_uuid[64];
};

static void forget_token(struct masakari_client *mc)
{
	if (mc->token != NULL) {
		explicit_bzero(mc->token, strlen(mc->token));
		free(mc->token);
		mc->token = NULL;
	}
	mc->token_expires_mono_ns = 0;
	mc->token_obtained_mono_ns = 0;
	mc->token_expires_realtime_ns = 0;
}

/* Keeps the start of msg for the status output; truncation is expected
 * (the full text went to the caller). */
static void record_error(struct masakari_client *mc, const char *msg)
{
	size_t n = strnlen(msg, sizeof(mc->last_error) - 1);
	memcpy(mc->last_error, msg, n);
	mc->last_error[n] = '\0';
}

/* ---------------------------------------------------------------- curl glue */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct response *r = userdata;
	size_t n = size * nmemb;
	if (r->too_large || n > MAX_RESPONSE - r->len) {
		r->too_large = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap > 0 ? r->cap : 4096;
		while (cap < r->len + n + 1)
			cap *= 2;
		char *d = realloc(r->data, cap);
		if (d == NULL)
			return 0;
		r->data = d;
		r->cap = cap;
	}
	memcpy(r->data + r->len, ptr, n);
	r->len += n;
	r->data[r->len] = '\0';
	return n;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct masakari_client *mc = userdata;
	size_t n = size * nitems;
	static const char name[] = "x-subject-token:";
	if (n > sizeof(name) - 1 && strncasecmp(buf, name, sizeof(name) - 1) == 0) {
		const char *v = buf + sizeof(name) - 1;
		size_t vl = n - (sizeof(name) - 1);
		while (vl > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vl--;
		}
		while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		if (vl > 0 && vl <= MAX_TOKEN_LEN) {
			char *t = strndup(v, vl);
			if (t == NULL)
				return 0;
			free(mc->subject_token);
			mc->subject_token = t;
		}
	}
	return n;
}

/* Options shared by every request; the handle is reset first so nothing
 * from the previous request (body, headers) leaks into this one. */
static void prepare(struct masakari_client *mc, const char *url, const char *body,
		    struct curl_slist *headers)
{
	CURL *c = mc->curl;
	curl_easy_reset(c);
	mc->resp.len = 0;
	mc->resp.too_large = false;
	if (mc->resp.data != NULL)
		mc->resp.data[0] = '\0';
	free(mc->subject_token);
	mc->subject_token = NULL;
	mc->errbuf[0] = '\0';

	long timeout = mc->cfg.timeout_ms > 0 ? mc->cfg.timeout_ms : DEFAULT_TIMEOUT_MS;
	/* Return codes of setopt are only "unknown option" or OOM for
	 * strings; perform() reports whatever went wrong. */
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &mc->resp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, mc);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, mc->errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout);
	/* No SIGALRM for DNS timeouts: we run in a thread. */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mimamori/" MIMAMORI_VERSION);
	/* A redirect would turn the POST into a GET elsewhere: report it. */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (mc->cfg.cafile[0] != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, mc->cfg.cafile);
	if (mc->cfg.insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

/* Builds the header list; NULL on allocation failure. */
static struct curl_slist *header_list(const char *const *lines, size_t n)
{
	struct curl_slist *h = NULL;
	for (size_t i = 0; i < n; i++) {
		struct curl_slist *t = curl_slist_append(h, lines[i]);
		if (t == NULL) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = t;
	}
	return h;
}

/* Joins base and suffix with exactly one '/'. */
static int join_url(char *out, size_t outlen, const char *base, const char *suffix)
{
	size_t bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	int n = snprintf(out, outlen, "%.*s/%s", (int)bl, base, suffix);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

/* ---------------------------------------------------------------- keystone */

/* A token is renewed min(RENEW_MARGIN, lifetime / RENEW_FRACTION) before
 * it expires, so a request never races the expiry. */
static int64_t token_renew_at(const struct masakari_client *mc)
{
	int64_t life = mc->token_expires_mono_ns - mc->token_obtained_mono_ns;
	int64_t margin = life > 0 ? life / RENEW_FRACTION : 0;
	if (margin > RENEW_MARGIN_NS)
		margin = RENEW_MARGIN_NS;
	return mc->token_expires_mono_ns - margin;
}

static bool token_fresh(const struct masakari_client *mc, int64_t now_mono)
{
	return mc->token != NULL && now_mono < token_renew_at(mc);
}

static int authenticate(struct masakari_client *mc, char *err, size_t errlen)
{
	char url[URL_LEN];
	const struct masakari_client_config *cfg = &mc->cfg;
	if (cfg->auth_url[0] == '\0') {
		errbuf_set(err, errlen, "keystone: auth_url is empty (set it, or use noauth with "
				     "endpoint_override)");
		return -1;
	}
	/* auth_url as clouds.yaml and masakarimonitors.conf write it, with or
	 * without the version: .../v3 or just host:port. */
	size_t al = strlen(cfg->auth_url);
	while (al > 0 && cfg->auth_url[al - 1] == '/')
		al--;
	bool has_v3 = al >= 3 && strncmp(cfg->auth_url + al - 3, "/v3", 3) == 0;
	int n = snprintf(url, sizeof(url), "%.*s%s", (int)al, cfg->auth_url,
			 has_v3 ? "/auth/tokens" : "/v3/auth/tokens");
	if (n < 0 || (size_t)n >= sizeof(url)) {
		errbuf_set(err, errlen, "keystone: auth_url too long");
		return -1;
	}

	char *body = keystone_password_auth_body(cfg->username, cfg->password,
						 cfg->user_domain_name, cfg->project_name,
						 cfg->project_domain_name);
	if (body == NULL) {
		errbuf_set(err, errlen, "keystone: cannot build the auth request (non-UTF-8 credentials?)");
		return -1;
	}
	static const char *const lines[] = { "Content-Type: application/json",
					     "Accept: application/json", "Expect:" };
	struct curl_slist *headers = header_list(lines, sizeof(lines) / sizeof(lines[0]));
	if (headers == NULL) {
		explicit_bzero(body, strlen(body));
		free(body);
		errbuf_set(err, errlen, "keystone: out of memory");
		return -1;
	}
	prepare(mc, url, body, headers);
	int64_t started = realtime_ns();
	int64_t started_mono = (int64_t)mono_ns();
	CURLcode cc = curl_easy_perform(mc->curl);
	curl_slist_free_all(headers);
	explicit_bzero(body, strlen(body)); /* it holds the password */
	free(body);

	if (cc != CURLE_OK) {
		errbuf_set(err, errlen, "keystone: POST %s: %s%s%s", url, curl_easy_strerror(cc),
			mc->errbuf[0] != '\0' ? ": " : "", mc->errbuf);
		return -1;
	}
	long status = 0;
	curl_easy_getinfo(mc->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		char msg[256];
		masakari_reply_error_message(mc->resp.data, mc->resp.len, msg, sizeof(msg));
		errbuf_set(err, errlen, "keystone: HTTP %ld from POST %s: %s", status, url, msg);
		return -1;
	}
	if (mc->subject_token == NULL) {
		errbuf_set(err, errlen, "keystone: HTTP %ld from POST %s without X-Subject-Token",
			status, url);
		return -1;
	}
	struct keystone_token_info info;
	char perr[384];
	bool want_catalog = cfg->endpoint_override[0] == '\0';
	if (keystone_parse_token_response(mc->resp.data, mc->resp.len,
					  want_catalog ? SERVICE_TYPE : NULL, cfg->interface,
					  cfg->region, &info, perr, sizeof(perr)) != 0) {
		errbuf_set(err, errlen, "keystone: %s", perr);
		return -1;
	}
	forget_token(mc);
	mc->token = mc->subject_token;
	mc->subject_token = NULL;
	/* The life Keystone grants, by our wall clock at the request: read
	 * once, then counted on the monotonic clock. */
	int64_t life;
	if (__builtin_sub_overflow(info.expires_realtime_ns, started, &life))
		life = info.expires_realtime_ns > started ? INT64_MAX / 2 : 0;
	if (life > INT64_MAX / 2)
		life = INT64_MAX / 2;
	mc->token_obtained_mono_ns = started_mono;
	mc->token_expires_mono_ns = started_mono + life;
	mc->token_expires_realtime_ns = info.expires_realtime_ns;
	snprintf(mc->endpoint, sizeof(mc->endpoint), "%s",
		 want_catalog ? info.endpoint : cfg->endpoint_override);
	mc->state = TOKEN_VALID;
	if (info.expires_realtime_ns <= started + 60 * (int64_t)NS_PER_S)
		log_warn("keystone: token expires at once or in the past: is this host's clock "
			 "in sync with Keystone's?");
	log_info("keystone: token obtained for %s@%s, expires in %llds; Masakari endpoint %s",
		 cfg->username, cfg->project_name,
		 (long long)((info.expires_realtime_ns - started) / (int64_t)NS_PER_S), mc->endpoint);
	return 0;
}

/* ---------------------------------------------------------------- public */

struct masakari_client *masakari_client_new(const struct masakari_client_config *cfg)
{
	assert(cfg != NULL);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return NULL;
	struct masakari_client *mc = calloc(1, sizeof(*mc));
	if (mc == NULL) {
		curl_global_cleanup();
		return NULL;
	}
	mc->cfg = *cfg;
	/* Bound every string: cfg may come from anywhere. */
	mc->cfg.auth_url[sizeof(mc->cfg.auth_url) - 1] = '\0';
	mc->cfg.username[sizeof(mc->cfg.username) - 1] = '\0';
	mc->cfg.password[sizeof(mc->cfg.password) - 1] = '\0';
	mc->cfg.project_name[sizeof(mc->cfg.project_name) - 1] = '\0';
	mc->cfg.user_domain_name[sizeof(mc->cfg.user_domain_name) - 1] = '\0';
	mc->cfg.project_domain_name[sizeof(mc->cfg.project_domain_name) - 1] = '\0';
	mc->cfg.region[sizeof(mc->cfg.region) - 1] = '\0';
	mc->cfg.interface[sizeof(mc->cfg.interface) - 1] = '\0';
	mc->cfg.endpoint_override[sizeof(mc->cfg.endpoint_override) - 1] = '\0';
	mc->cfg.cafile[sizeof(mc->cfg.cafile) - 1] = '\0';
	mc->cfg.api_version[sizeof(mc->cfg.api_version) - 1] = '\0';
	if (mc->cfg.interface[0] == '\0')
		snprintf(mc->cfg.interface, sizeof(mc->cfg.interface), "public");
	if (mc->cfg.api_version[0] == '\0')
		snprintf(mc->cfg.api_version, sizeof(mc->cfg.api_version), "1.0");
	mc->curl = curl_easy_init();
	if (mc->curl == NULL) {
		masakari_client_free(mc);
		return NULL;
	}
	if (mc->cfg.noauth) {
		mc->state = TOKEN_NOAUTH;
		snprintf(mc->endpoint, sizeof(mc->endpoint), "%s", mc->cfg.endpoint_override);
	} else if (mc->cfg.endpoint_override[0] != '\0') {
		snprintf(mc->endpoint, sizeof(mc->endpoint), "%s", mc->cfg.endpoint_override);
	}
	if (mc->cfg.insecure)
		log_warn("masakari: TLS certificate verification is disabled (insecure = true)");
	return mc;
}

void masakari_client_free(struct masakari_client *mc)
{
	if (mc == NULL)
		return;
	forget_token(mc);
	if (mc->curl != NULL)
		curl_easy_cleanup(mc->curl);
	free(mc->resp.data);
	free(mc->subject_token);
	explicit_bzero(&mc->cfg, sizeof(mc->cfg));
	free(mc);
	curl_global_cleanup();
}

void masakari_client_invalidate_token(struct masakari_client *mc)
{
	if (mc == NULL || mc->cfg.noauth)
		return;
	forget_token(mc);
	mc->state = TOKEN_NONE;
}

int masakari_client_refresh_token(struct masakari_client *mc, char *err, size_t errlen)
{
	assert(mc != NULL);
	errbuf_set(err, errlen, "%s", "");
	if (mc->cfg.noauth || token_fresh(mc, (int64_t)mono_ns()))
		return 0;
	if (authenticate(mc, err, errlen) != 0) {
		forget_token(mc);
		mc->state = TOKEN_ERROR;
		record_error(mc, err);
		return -1;
	}
	return 0;
}

int64_t masakari_client_token_renew_at(const struct masakari_client *mc)
{
	if (mc->cfg.noauth || mc->token == NULL)
		return 0;
	return token_renew_at(mc);
}

struct attempt_outcome masakari_client_post_notification(struct masakari_client *mc,
							 const char *body, char *err,
							 size_t errlen)
{
	struct attempt_outcome out = { .kind = ATTEMPT_NO_ENDPOINT, .http_status = 0 };
	char msg[512];
	assert(mc != NULL && body != NULL);
	errbuf_set(err, errlen, "%s", "");

	if (mc->cfg.noauth) {
		if (mc->cfg.endpoint_override[0] == '\0') {
			errbuf_set(msg, sizeof(msg), "masakari: noauth needs endpoint_override");
			goto fail;
		}
	} else if (!token_fresh(mc, (int64_t)mono_ns())) {
		if (authenticate(mc, msg, sizeof(msg)) != 0) {
			forget_token(mc);
			mc->state = TOKEN_ERROR;
			goto fail;
		}
	}
	if (mc->endpoint[0] == '\0') {
		errbuf_set(msg, sizeof(msg), "masakari: no endpoint");
		goto fail;
	}

	char url[URL_LEN];
	if (join_url(url, sizeof(url), mc->endpoint, "notifications") != 0) {
		errbuf_set(msg, sizeof(msg), "masakari: endpoint too long");
		goto fail;
	}
	char version[64], auth[MAX_TOKEN_LEN + 32];
	snprintf(version, sizeof(version), "OpenStack-API-Version: instance-ha %s",
		 mc->cfg.api_version);
	const char *lines[5] = { "Content-Type: application/json", "Accept: application/json",
				 version, "Expect:", NULL };
	size_t nlines = 4;
	if (!mc->cfg.noauth) {
		snprintf(auth, sizeof(auth), "X-Auth-Token: %s", mc->token);
		lines[nlines++] = auth;
	}
	struct curl_slist *headers = header_list(lines, nlines);
	if (!mc->cfg.noauth)
		explicit_bzero(auth, sizeof(auth));
	if (headers == NULL) {
		errbuf_set(msg, sizeof(msg), "masakari: out of memory");
		out.kind = ATTEMPT_TRANSPORT;
		goto fail;
	}
	prepare(mc, url, body, headers);
	CURLcode cc = curl_easy_perform(mc->curl);
	curl_slist_free_all(headers);
	if (cc != CURLE_OK) {
		out.kind = ATTEMPT_TRANSPORT;
		errbuf_set(msg, sizeof(msg), "POST %s: %s%s%s", url,
			mc->resp.too_large ? "response too large" : curl_easy_strerror(cc),
			mc->errbuf[0] != '\0' ? ": " : "", mc->errbuf);
		goto fail;
	}
	out.kind = ATTEMPT_HTTP;
	curl_easy_getinfo(mc->curl, CURLINFO_RESPONSE_CODE, &out.http_status);
	if (out.http_status >= 200 && out.http_status <= 299) {
		/* Keep Masakari's id for the notification so logs on both sides
		 * can be joined. */
		masakari_reply_notification_uuid(mc->resp.data, mc->resp.len, mc->last_uuid,
						 sizeof(mc->last_uuid));
		mc->last_error[0] = '\0';
		return out;
	}
	char reason[256];
	masakari_reply_error_message(mc->resp.data, mc->resp.len, reason, sizeof(reason));
	errbuf_set(msg, sizeof(msg), "HTTP %ld from POST %s: %s", out.http_status, url, reason);
	if (out.http_status == 409)
		out.conflict = masakari_reply_conflict(mc->resp.data, mc->resp.len);
	if (out.http_status == 401) {
		/* The token is no good whatever the policy decides next: never
		 * send it again. */
		masakari_client_invalidate_token(mc);
	}
fail:
	record_error(mc, msg);
	errbuf_set(err, errlen, "%s", msg);
	return out;
}

void masakari_client_get_status(const struct masakari_client *mc,
				struct masakari_client_status *out)
{
	assert(out != NULL);
	memset(out, 0, sizeof(*out));
	if (mc == NULL)
		return;
	out->token = mc->state;
	out->token_expires_realtime_ns = mc->token != NULL ? mc->token_expires_realtime_ns : 0;
	snprintf(out->endpoint, sizeof(out->endpoint), "%s", mc->endpoint);
	snprintf(out->last_error, sizeof(out->last_error), "%s", mc->last_error);
	snprintf(out->last_notification_uuid, sizeof(out->last_notification_uuid), "%s",
		 mc->last_uuid);
}
