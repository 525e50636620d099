/* Keystone v3 token responses: catalog lookup by interface and region,
 * clear errors for a missing service or bad JSON, expires_at parsing, the
 * password auth body. Fixtures: $FIXTURES/keystone/ (token_keystone22_real
 * is a verbatim answer of Debian 12's Keystone 22; token_catalog is the
 * same with more endpoints). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keystone.h"

#define S INT64_C(1000000000)
#define PROJ "3743d2d497c044779f0b2b9e71e952c4"
#define EXPIRES_NS (INT64_C(1795812945) * S) /* 2026-11-27T20:55:45Z */

static char *read_fixture(const char *name, size_t *len)
{
	const char *dir = getenv("FIXTURES");
	char path[1024];
	snprintf(path, sizeof(path), "%s/keystone/%s", dir != NULL ? dir : "tests/fixtures",
		 name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open fixture %s", path);
	char *buf = malloc(1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

struct lookup {
	const char *interface;
	const char *region;
	const char *want_url;
};

static void test_catalog_pick(void **state)
{
	(void)state;
	size_t len;
	char *body = read_fixture("token_catalog.json", &len);
	static const struct lookup cases[] = {
		{ "public", "RegionOne", "http://masakari.public.example:15868/v1/" PROJ },
		{ "public", "RegionTwo", "http://masakari.region2.example:15868/v1/" PROJ },
		{ "internal", "RegionOne", "http://10.0.0.11:15868/v1/" PROJ },
		{ "internal", "RegionTwo", "http://10.2.0.11:15868/v1/" PROJ },
		{ "admin", "RegionOne", "http://192.168.0.11:15868/v1/" PROJ },
		/* no region: the first endpoint with that interface */
		{ "internal", "", "http://10.2.0.11:15868/v1/" PROJ },
		{ "internal", NULL, "http://10.2.0.11:15868/v1/" PROJ },
		/* no interface: public */
		{ NULL, "RegionTwo", "http://masakari.region2.example:15868/v1/" PROJ },
		{ "", NULL, "http://masakari.public.example:15868/v1/" PROJ },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct keystone_token_info info;
		char err[512] = "";
		int rc = keystone_parse_token_response(body, len, "instance-ha", cases[i].interface,
						       cases[i].region, &info, err, sizeof(err));
		if (rc != 0)
			fail_msg("case %zu: %s", i, err);
		assert_string_equal(info.endpoint, cases[i].want_url);
		assert_int_equal(info.expires_realtime_ns, EXPIRES_NS);
	}
	/* Other services are found the same way. */
	struct keystone_token_info info;
	char err[512];
	assert_int_equal(keystone_parse_token_response(body, len, "identity", "public", "RegionOne",
						       &info, err, sizeof(err)),
			 0);
	assert_string_equal(info.endpoint, "http://127.0.0.1:15500/v3/");
	free(body);
}

static void test_real_keystone_answer(void **state)
{
	(void)state;
	size_t len;
	char *body = read_fixture("token_keystone22_real.json", &len);
	struct keystone_token_info info;
	char err[512] = "";
	assert_int_equal(keystone_parse_token_response(body, len, "instance-ha", "public",
						       "RegionOne", &info, err, sizeof(err)),
			 0);
	assert_string_equal(info.endpoint, "http://127.0.0.1:15870/v1/" PROJ);
	int64_t want;
	assert_int_equal(keystone_parse_time("2026-11-27T21:03:33.000000Z", &want), 0);
	assert_int_equal(info.expires_realtime_ns, want);
	free(body);
}

static void test_no_service_type_asked(void **state)
{
	(void)state;
	size_t len;
	char *body = read_fixture("token_no_catalog.json", &len);
	struct keystone_token_info info;
	char err[512] = "";
	assert_int_equal(keystone_parse_token_response(body, len, NULL, NULL, NULL, &info, err,
						       sizeof(err)),
			 0);
	assert_string_equal(info.endpoint, "");
	assert_int_equal(info.expires_realtime_ns, EXPIRES_NS);
	/* ...but asking the catalog of a token without one is an error. */
	assert_int_equal(keystone_parse_token_response(body, len, "instance-ha", "public", NULL,
						       &info, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "catalog"));
	free(body);
}

static void test_missing_service(void **state)
{
	(void)state;
	size_t len;
	char *body = read_fixture("token_no_masakari.json", &len);
	struct keystone_token_info info;
	char err[512] = "";
	assert_int_equal(keystone_parse_token_response(body, len, "instance-ha", "public",
						       "RegionOne", &info, err, sizeof(err)),
			 -1);
	/* names what is missing and what is there */
	assert_non_null(strstr(err, "'instance-ha' is not in the keystone catalog"));
	assert_non_null(strstr(err, "identity"));
	assert_non_null(strstr(err, "compute"));
	free(body);
}

static void test_no_matching_endpoint(void **state)
{
	(void)state;
	size_t len;
	char *body = read_fixture("token_catalog.json", &len);
	struct keystone_token_info info;
	char err[512] = "";
	assert_int_equal(keystone_parse_token_response(body, len, "instance-ha", "admin",
						       "RegionTwo", &info, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "no 'admin' endpoint in region 'RegionTwo'"));
	assert_non_null(strstr(err, "public/RegionTwo")); /* what exists */
	assert_int_equal(keystone_parse_token_response(body, len, "instance-ha", "public",
						       "RegionThree", &info, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "RegionThree"));
	assert_string_equal(info.endpoint, "");
	free(body);
}

static void test_bad_json(void **state)
{
	(void)state;
	size_t len;
	char *body = read_fixture("not_json.html", &len);
	struct keystone_token_info info;
	char err[512] = "";
	assert_int_equal(keystone_parse_token_response(body, len, "instance-ha", "public", NULL,
						       &info, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "not valid JSON"));
	free(body);

	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"{\"token\": 5}",
		"{\"token\": {}}",
		"{\"token\": {\"expires_at\": 12}}",
		"{\"token\": {\"expires_at\": \"tomorrow\"}}",
		"{\"token\": {\"expires_at\": \"2026-11-27T20:55:45Z\", \"catalog\": {}}}",
		"{\"token\": {\"expires_at\": \"2026-11-27T20:55:45Z\", \"catalog\": [1, null, "
		"{\"type\": 3}, {\"type\": \"instance-ha\", \"endpoints\": 7}]}}",
		"{\"token\": {\"expires_at\": \"2026-11-27T20:55:45Z\", \"catalog\": [{\"type\": "
		"\"instance-ha\", \"endpoints\": [{\"interface\": \"public\"}, {\"url\": \"x\"}, "
		"{\"interface\": \"public\", \"url\": 5}]}]}}",
		"{\"token\": {\"expires_at\": \"a\", \"expires_at\": \"b\"}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (keystone_parse_token_response(bad[i], strlen(bad[i]), "instance-ha", "public",
						  NULL, &info, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_true(err[0] != '\0');
	}
	/* NUL bytes inside the buffer are data, not an end. */
	const char nul[] = "{\"token\"\0: {}}";
	assert_int_equal(keystone_parse_token_response(nul, sizeof(nul) - 1, NULL, NULL, NULL,
						       &info, err, sizeof(err)),
			 -1);
	/* A small err buffer is fine, and so is none. */
	char tiny[8];
	assert_int_equal(keystone_parse_token_response("{", 1, NULL, NULL, NULL, &info, tiny,
						       sizeof(tiny)),
			 -1);
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
	assert_int_equal(keystone_parse_token_response("{", 1, NULL, NULL, NULL, &info, NULL, 0),
			 -1);
	assert_int_equal(keystone_parse_token_response(NULL, 0, NULL, NULL, NULL, &info, err,
						       sizeof(err)),
			 -1);
}

static void test_region_alias_and_long_url(void **state)
{
	(void)state;
	/* Older answers carry only "region"; an over-long url is refused. */
	const char *alias = "{\"token\": {\"expires_at\": \"2026-11-27T20:55:45Z\", \"catalog\": "
			    "[{\"type\": \"instance-ha\", \"endpoints\": [{\"interface\": "
			    "\"public\", \"region\": \"R1\", \"url\": \"http://m:1/v1\"}]}]}}";
	struct keystone_token_info info;
	char err[512];
	assert_int_equal(keystone_parse_token_response(alias, strlen(alias), "instance-ha",
						       "public", "R1", &info, err, sizeof(err)),
			 0);
	assert_string_equal(info.endpoint, "http://m:1/v1");

	char url[KEYSTONE_URL_LEN + 10];
	memset(url, 'a', sizeof(url) - 1);
	url[sizeof(url) - 1] = '\0';
	char *body = NULL;
	assert_true(asprintf(&body,
			     "{\"token\": {\"expires_at\": \"2026-11-27T20:55:45Z\", \"catalog\": "
			     "[{\"type\": \"instance-ha\", \"endpoints\": [{\"interface\": "
			     "\"public\", \"url\": \"%s\"}]}]}}",
			     url) > 0);
	assert_int_equal(keystone_parse_token_response(body, strlen(body), "instance-ha",
						       "public", NULL, &info, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "longer than"));
	free(body);
}

static void test_truncations_never_crash(void **state)
{
	(void)state;
	size_t len;
	char *body = read_fixture("token_catalog.json", &len);
	struct keystone_token_info info;
	char err[256];
	/* Every prefix is invalid JSON except the whole (trailing newline
	 * aside); with ASan this proves no read past the given length. */
	for (size_t n = 0; n < len; n++) {
		char *copy = malloc(n > 0 ? n : 1);
		assert_non_null(copy);
		memcpy(copy, body, n);
		int rc = keystone_parse_token_response(copy, n, "instance-ha", "public", NULL, &info,
						       err, sizeof(err));
		assert_true(rc == -1 || n >= len - 2);
		free(copy);
	}
	/* Flip every byte in turn: any result is fine, a crash is not. */
	for (size_t i = 0; i < len; i++) {
		char saved = body[i];
		body[i] = (char)(saved ^ 0x5a);
		(void)keystone_parse_token_response(body, len, "instance-ha", "internal",
						    "RegionOne", &info, err, sizeof(err));
		body[i] = saved;
	}
	free(body);
}

static void test_parse_time(void **state)
{
	(void)state;
	int64_t t;
	assert_int_equal(keystone_parse_time("2026-11-27T20:55:45.000000Z", &t), 0);
	assert_int_equal(t, EXPIRES_NS);
	assert_int_equal(keystone_parse_time("2026-11-27T20:55:45Z", &t), 0);
	assert_int_equal(t, EXPIRES_NS);
	assert_int_equal(keystone_parse_time("2026-11-27T20:55:45", &t), 0);
	assert_int_equal(t, EXPIRES_NS);
	assert_int_equal(keystone_parse_time("2026-11-27T20:55:45.123456Z", &t), 0);
	assert_int_equal(t, EXPIRES_NS + 123456000);
	assert_int_equal(keystone_parse_time("2026-11-27T20:55:45.123456789123Z", &t), 0);
	assert_int_equal(t, EXPIRES_NS + 123456789);
	assert_int_equal(keystone_parse_time("2026-11-27T22:55:45+02:00", &t), 0);
	assert_int_equal(t, EXPIRES_NS);
	assert_int_equal(keystone_parse_time("2026-11-27T15:25:45.5-05:30", &t), 0);
	assert_int_equal(t, EXPIRES_NS + 500000000);
	assert_int_equal(keystone_parse_time("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(keystone_parse_time("2024-02-29T00:00:00Z", &t), 0);
	assert_int_equal(t, INT64_C(1709164800) * S);
	assert_int_equal(keystone_parse_time("1969-12-31T23:59:59Z", &t), 0);
	assert_int_equal(t, -S);

	static const char *const bad[] = {
		"",
		"2026-11-27",
		"2026-11-27 20:55:45Z",
		"2026-11-27T20:55:45.Z",
		"2026-11-27T20:55:45ZZ",
		"2026-11-27T20:55:45+0200",
		"2026-11-27T20:55:45+24:00",
		"2026-13-27T20:55:45Z",
		"2026-00-27T20:55:45Z",
		"2025-02-29T20:55:45Z",
		"2026-11-31T20:55:45Z",
		"2026-11-27T24:00:00Z",
		"2026-11-27T20:60:45Z",
		"2026-11-27T20:55:60Z",
		"2026-11-2xT20:55:45Z",
		"+026-11-27T20:55:45Z",
		"0000-01-01T00:00:00Z",
		"9999-12-31T23:59:59Z", /* beyond int64 ns */
		"1600-01-01T00:00:00Z",
		"2026-11-27T20:55:45 ",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (keystone_parse_time(bad[i], &t) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(keystone_parse_time(NULL, &t), -1);
}

static void test_password_body(void **state)
{
	(void)state;
	char *body = keystone_password_auth_body("masakari", "s3cr\"et", "Default", "service",
						 "Default");
	assert_non_null(body);
	assert_string_equal(body,
			    "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{"
			    "\"user\":{\"name\":\"masakari\",\"domain\":{\"name\":\"Default\"},"
			    "\"password\":\"s3cr\\\"et\"}}},\"scope\":{\"project\":{\"name\":"
			    "\"service\",\"domain\":{\"name\":\"Default\"}}}}}");
	free(body);

	/* Empty domains default to "Default"; the body is valid JSON. */
	body = keystone_password_auth_body("u", "p", "", "proj", NULL);
	assert_non_null(body);
	json_error_t e;
	json_t *root = json_loads(body, 0, &e);
	assert_non_null(root);
	json_t *user = json_object_get(json_object_get(json_object_get(json_object_get(root, "auth"),
								       "identity"),
						       "password"),
				       "user");
	assert_string_equal(json_string_value(json_object_get(json_object_get(user, "domain"),
							      "name")),
			    "Default");
	json_t *project = json_object_get(json_object_get(json_object_get(root, "auth"), "scope"),
					  "project");
	assert_string_equal(json_string_value(json_object_get(project, "name")), "proj");
	assert_string_equal(json_string_value(json_object_get(json_object_get(project, "domain"),
							      "name")),
			    "Default");
	json_decref(root);
	free(body);

	assert_null(keystone_password_auth_body(NULL, "p", "d", "p", "d"));
	assert_null(keystone_password_auth_body("u", "bad\xff", "d", "p", "d"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalog_pick),
		cmocka_unit_test(test_real_keystone_answer),
		cmocka_unit_test(test_no_service_type_asked),
		cmocka_unit_test(test_missing_service),
		cmocka_unit_test(test_no_matching_endpoint),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_region_alias_and_long_url),
		cmocka_unit_test(test_truncations_never_crash),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_password_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
