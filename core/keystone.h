/* Keystone v3 answers, parsed without I/O: the token's expiry and the
 * service catalog lookup (service type, interface, region). The HTTP part
 * lives in masakari_client.c. */
#ifndef MIMAMORI_KEYSTONE_H
#define MIMAMORI_KEYSTONE_H

#include <stddef.h>
#include <stdint.h>

#define KEYSTONE_URL_LEN 512

struct keystone_token_info {
	int64_t expires_realtime_ns; /* token.expires_at */
	char endpoint[KEYSTONE_URL_LEN]; /* from the catalog, "" if not asked/found */
};

/* Parses the body of POST /v3/auth/tokens. When service_type is non-NULL,
 * looks up the endpoint of that type with the given interface ("public",
 * "internal", "admin") and region (NULL or "" = any). Returns 0, or -1 with
 * a clear message in err (bad JSON, no expires_at, service not in catalog). */
int keystone_parse_token_response(const char *body, size_t len, const char *service_type,
				  const char *interface, const char *region,
				  struct keystone_token_info *out, char *err, size_t errlen);

/* Parses an ISO 8601 time as Keystone writes expires_at
 * ("2026-11-27T20:55:45.000000Z"): fraction optional (up to ns), zone "Z",
 * "+hh:mm"/"-hh:mm" or none (= UTC). Returns 0, or -1 if malformed or
 * outside what int64 nanoseconds since 1970 can hold. */
int keystone_parse_time(const char *s, int64_t *realtime_ns);

/* The JSON body for a v3 password-scoped token request; malloc'd (free()),
 * NULL on allocation failure or non-UTF-8 input. Empty or NULL domain names
 * mean "Default", as in a stock Keystone. */
char *keystone_password_auth_body(const char *username, const char *password,
				  const char *user_domain_name, const char *project_name,
				  const char *project_domain_name);

#endif
