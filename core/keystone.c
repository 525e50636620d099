/* See keystone.h. Everything here takes bytes and returns values: the
 * token response may be any bytes (a fuzzer feeds it), so every field is
 * type-checked before use and errors say what was missing. */
#include "core/keystone.h"

#include "base/civil_time.h"
#include "base/errbuf.h"
#include "base/units.h"

#include <assert.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends to a bounded list used in error messages ("a, b, c"). */
static void list_add(char *buf, size_t size, const char *item)
{
	size_t n = strnlen(buf, size);
	if (n + 1 >= size)
		return;
	snprintf(buf + n, size - n, "%s%s", n > 0 ? ", " : "", item);
}

/* ---------------------------------------------------------------- time */

int keystone_parse_time(const char *s, int64_t *realtime_ns)
{
	int year, mon, day, hour, min, sec;
	int64_t frac_ns = 0;
	int offset_s = 0;

	if (s == NULL || realtime_ns == NULL)
		return -1;
	size_t len = strlen(s);
	if (len < 19 || !civil_digits(s, 4, &year) || s[4] != '-' ||
	    !civil_digits(s + 5, 2, &mon) || s[7] != '-' || !civil_digits(s + 8, 2, &day) ||
	    (s[10] != 'T' && s[10] != 't') || !civil_digits(s + 11, 2, &hour) || s[13] != ':' ||
	    !civil_digits(s + 14, 2, &min) || s[16] != ':' || !civil_digits(s + 17, 2, &sec))
		return -1;
	if (!civil_valid(year, mon, day, hour, min, sec, false))
		return -1;

	const char *p = s + 19;
	if (*p == '.') {
		p++;
		int64_t scale = (int64_t)NS_PER_S / 10;
		size_t nd = 0;
		for (; *p >= '0' && *p <= '9'; p++, nd++) {
			/* Digits beyond nanoseconds carry no meaning for us. */
			if (scale > 0) {
				frac_ns += (*p - '0') * scale;
				scale /= 10;
			}
		}
		if (nd == 0)
			return -1;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		int sign = *p == '-' ? -1 : 1;
		if (strlen(p) != 6 || !civil_digits(p + 1, 2, &oh) || p[3] != ':' ||
		    !civil_digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		offset_s = sign * (oh * 3600 + om * 60);
		p += 6;
	}
	if (*p != '\0')
		return -1;

	int64_t secs = civil_epoch_seconds(year, mon, day, hour, min, sec) - offset_s;
	int64_t ns;
	if (__builtin_mul_overflow(secs, (int64_t)NS_PER_S, &ns) ||
	    __builtin_add_overflow(ns, frac_ns, &ns))
		return -1;
	*realtime_ns = ns;
	return 0;
}

/* ---------------------------------------------------------------- catalog */

static const char *str_member(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Looks the endpoint up in token.catalog; 0 or -1 with err set. */
static int find_endpoint(const json_t *token, const char *service_type, const char *interface,
			 const char *region, struct keystone_token_info *out, char *err,
			 size_t errlen)
{
	const json_t *catalog = json_object_get(token, "catalog");
	if (!json_is_array(catalog)) {
		errbuf_set(err, errlen,
			"keystone token has no service catalog (unscoped token, or nocatalog)");
		return -1;
	}
	if (interface == NULL || interface[0] == '\0')
		interface = "public";
	bool any_region = region == NULL || region[0] == '\0';

	char types[256] = "";
	char seen[256] = "";
	bool service_found = false;
	size_t i;
	const json_t *svc;
	json_array_foreach(catalog, i, svc) {
		const char *type = str_member(svc, "type");
		if (type == NULL)
			continue;
		if (strcmp(type, service_type) != 0) {
			list_add(types, sizeof(types), type);
			continue;
		}
		service_found = true;
		const json_t *eps = json_object_get(svc, "endpoints");
		size_t j;
		const json_t *ep;
		json_array_foreach(eps, j, ep) {
			const char *ifc = str_member(ep, "interface");
			const char *url = str_member(ep, "url");
			/* region_id is the v3 field; region is its older alias. */
			const char *rid = str_member(ep, "region_id");
			const char *rname = str_member(ep, "region");
			if (ifc == NULL || url == NULL)
				continue;
			char item[96];
			snprintf(item, sizeof(item), "%s/%s", ifc,
				 rid != NULL ? rid : rname != NULL ? rname : "-");
			list_add(seen, sizeof(seen), item);
			if (strcmp(ifc, interface) != 0)
				continue;
			if (!any_region && !(rid != NULL && strcmp(rid, region) == 0) &&
			    !(rname != NULL && strcmp(rname, region) == 0))
				continue;
			if (url[0] == '\0') {
				errbuf_set(err, errlen, "catalog endpoint for %s (%s) has an empty url",
					service_type, interface);
				return -1;
			}
			if (strlen(url) >= sizeof(out->endpoint)) {
				errbuf_set(err, errlen,
					"catalog endpoint for %s (%s) is longer than %zu bytes",
					service_type, interface, sizeof(out->endpoint) - 1);
				return -1;
			}
			snprintf(out->endpoint, sizeof(out->endpoint), "%s", url);
			return 0;
		}
	}
	if (!service_found) {
		errbuf_set(err, errlen,
			"service type '%s' is not in the keystone catalog (present: %s); is "
			"Masakari registered, and does the user have a role on the project?",
			service_type, types[0] != '\0' ? types : "none");
		return -1;
	}
	errbuf_set(err, errlen,
		"service type '%s' has no '%s' endpoint in region '%s' (available "
		"interface/region: %s)",
		service_type, interface, any_region ? "any" : region,
		seen[0] != '\0' ? seen : "none");
	return -1;
}

int keystone_parse_token_response(const char *body, size_t len, const char *service_type,
				  const char *interface, const char *region,
				  struct keystone_token_info *out, char *err, size_t errlen)
{
	if (out == NULL || (body == NULL && len > 0)) {
		errbuf_set(err, errlen, "keystone: invalid arguments");
		return -1;
	}
	memset(out, 0, sizeof(*out));

	json_error_t jerr;
	json_t *root = json_loadb(body != NULL ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		errbuf_set(err, errlen, "keystone token response is not valid JSON (line %d: %s)",
			jerr.line, jerr.text);
		return -1;
	}
	int rc = -1;
	const json_t *token = json_object_get(root, "token");
	if (!json_is_object(token)) {
		errbuf_set(err, errlen, "keystone token response has no \"token\" object");
		goto out;
	}
	const char *expires = str_member(token, "expires_at");
	if (expires == NULL) {
		errbuf_set(err, errlen, "keystone token has no expires_at");
		goto out;
	}
	if (keystone_parse_time(expires, &out->expires_realtime_ns) != 0) {
		errbuf_set(err, errlen, "keystone token expires_at \"%.64s\" is not an ISO 8601 time",
			expires);
		goto out;
	}
	if (service_type != NULL &&
	    find_endpoint(token, service_type, interface, region, out, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* ---------------------------------------------------------------- auth body */

char *keystone_password_auth_body(const char *username, const char *password,
				  const char *user_domain_name, const char *project_name,
				  const char *project_domain_name)
{
	if (username == NULL || password == NULL || project_name == NULL)
		return NULL;
	if (user_domain_name == NULL || user_domain_name[0] == '\0')
		user_domain_name = "Default";
	if (project_domain_name == NULL || project_domain_name[0] == '\0')
		project_domain_name = "Default";

	json_t *root = json_pack("{s:{s:{s:[s], s:{s:{s:s, s:{s:s}, s:s}}}, s:{s:{s:s, s:{s:s}}}}}",
				 "auth", "identity", "methods", "password", "password", "user",
				 "name", username, "domain", "name", user_domain_name, "password",
				 password, "scope", "project", "name", project_name, "domain",
				 "name", project_domain_name);
	if (root == NULL)
		return NULL;
	char *body = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	return body;
}
