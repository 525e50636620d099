/* The Masakari notification body: byte-exact JSON for VM and PROCESS, and
 * generated_time in masakari-monitors' format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/notification.h"

/* 2026-11-26T20:55:45.123456789Z */
#define T_FAILURE INT64_C(1795726545123456789)

static struct verdict vm_verdict(void)
{
	struct verdict v;
	memset(&v, 0, sizeof(v));
	v.kind = VERDICT_GUEST_FAILED;
	v.notify = true;
	v.is_process = false;
	strcpy(v.event, "LIFECYCLE");
	strcpy(v.vir_domain_event, "STOPPED_FAILED");
	strcpy(v.instance_uuid, "11111111-2222-3333-4444-555555555555");
	strcpy(v.name, "instance-00000001");
	return v;
}

static struct verdict process_verdict(const char *name)
{
	struct verdict v;
	memset(&v, 0, sizeof(v));
	v.kind = VERDICT_PROCESS_FAILED;
	v.notify = true;
	v.is_process = true;
	strcpy(v.event, "STOPPED");
	snprintf(v.name, sizeof(v.name), "%s", name);
	return v;
}

static void test_vm_exact(void **state)
{
	(void)state;
	struct verdict v = vm_verdict();
	char *body = notification_body_from_verdict(&v, "compute1", T_FAILURE);
	assert_non_null(body);
	assert_string_equal(body,
			    "{\"notification\":{\"type\":\"VM\",\"hostname\":\"compute1\","
			    "\"generated_time\":\"2026-11-26T20:55:45.123456\",\"payload\":{"
			    "\"event\":\"LIFECYCLE\",\"instance_uuid\":"
			    "\"11111111-2222-3333-4444-555555555555\","
			    "\"vir_domain_event\":\"STOPPED_FAILED\"}}}");
	free(body);
}

static void test_vm_io_error(void **state)
{
	(void)state;
	struct verdict v = vm_verdict();
	strcpy(v.event, "IO_ERROR");
	strcpy(v.vir_domain_event, "IO_ERROR_REPORT");
	char *body = notification_body_from_verdict(&v, "compute-2.example", 0);
	assert_non_null(body);
	assert_string_equal(body,
			    "{\"notification\":{\"type\":\"VM\",\"hostname\":\"compute-2.example\","
			    "\"generated_time\":\"1970-01-01T00:00:00.000000\",\"payload\":{"
			    "\"event\":\"IO_ERROR\",\"instance_uuid\":"
			    "\"11111111-2222-3333-4444-555555555555\","
			    "\"vir_domain_event\":\"IO_ERROR_REPORT\"}}}");
	free(body);
}

static void test_process_exact(void **state)
{
	(void)state;
	struct verdict v = process_verdict("nova-compute");
	/* The payload event is STOPPED whatever the verdict says. */
	strcpy(v.event, "ignored");
	char *body = notification_body_from_verdict(&v, "compute3", T_FAILURE);
	assert_non_null(body);
	assert_string_equal(body,
			    "{\"notification\":{\"type\":\"PROCESS\",\"hostname\":\"compute3\","
			    "\"generated_time\":\"2026-11-26T20:55:45.123456\",\"payload\":{"
			    "\"event\":\"STOPPED\",\"process_name\":\"nova-compute\"}}}");
	free(body);
}

/* The mesh's bodies (daemon/mesh): the exact bytes Masakari has always
 * been sent, fenced or not. */
static void test_compute_host_exact(void **state)
{
	(void)state;
	char *body = notification_body_compute_host("compute-7", true, T_FAILURE);
	assert_non_null(body);
	assert_string_equal(body,
			    "{\"notification\":{\"type\":\"COMPUTE_HOST\",\"hostname\":\"compute-7\","
			    "\"generated_time\":\"2026-11-26T20:55:45.123456\",\"payload\":{"
			    "\"event\":\"STOPPED\",\"cluster_status\":\"OFFLINE\","
			    "\"host_status\":\"NORMAL\"}}}");
	free(body);
	body = notification_body_compute_host("compute-7", false, T_FAILURE);
	assert_non_null(body);
	assert_non_null(strstr(body, "\"host_status\":\"UNKNOWN\"}}}"));
	free(body);
	assert_null(notification_body_compute_host(NULL, true, 0));
	assert_null(notification_body_compute_host("", true, 0));
}

static void test_mesh_process_exact(void **state)
{
	(void)state;
	char *body = notification_body_process("compute-7", "pacemaker-remoted", T_FAILURE);
	assert_non_null(body);
	assert_string_equal(body,
			    "{\"notification\":{\"type\":\"PROCESS\",\"hostname\":\"compute-7\","
			    "\"generated_time\":\"2026-11-26T20:55:45.123456\",\"payload\":{"
			    "\"event\":\"STOPPED\",\"process_name\":\"pacemaker-remoted\"}}}");
	free(body);
	assert_null(notification_body_process("compute-7", "", 0));
	assert_null(notification_body_process("", "x", 0));
}

static void test_escaping_and_bad_utf8(void **state)
{
	(void)state;
	struct verdict v = process_verdict("");
	/* A comm cut in the middle of a UTF-8 character, plus a quote. */
	memcpy(v.name, "a\"b\xc3", 5);
	char *body = notification_body_from_verdict(&v, "h", 0);
	assert_non_null(body);
	json_error_t e;
	json_t *root = json_loads(body, 0, &e);
	assert_non_null(root);
	const char *pn = json_string_value(
		json_object_get(json_object_get(json_object_get(root, "notification"), "payload"),
				"process_name"));
	assert_string_equal(pn, "a\"b?");
	json_decref(root);
	free(body);
}

static void test_unterminated_field(void **state)
{
	(void)state;
	struct verdict v = process_verdict("");
	memset(v.name, 'p', sizeof(v.name)); /* no NUL at all */
	char *body = notification_body_from_verdict(&v, "h", 0);
	assert_non_null(body);
	char expect[sizeof(v.name) + 1];
	memset(expect, 'p', sizeof(v.name));
	expect[sizeof(v.name)] = '\0';
	assert_non_null(strstr(body, expect));
	assert_null(strstr(body, "ppp\xff"));
	free(body);
}

static void test_no_hostname(void **state)
{
	(void)state;
	struct verdict v = vm_verdict();
	assert_null(notification_body_from_verdict(&v, NULL, 0));
	assert_null(notification_body_from_verdict(&v, "", 0));
}

static void test_time_format(void **state)
{
	(void)state;
	char out[32];
	notification_format_time(T_FAILURE, out);
	assert_string_equal(out, "2026-11-26T20:55:45.123456");
	notification_format_time(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00.000000");
	/* Microseconds are truncated, not rounded: never a time in the future. */
	notification_format_time(INT64_C(999999999), out);
	assert_string_equal(out, "1970-01-01T00:00:00.999999");
	notification_format_time(-1, out);
	assert_string_equal(out, "1969-12-31T23:59:59.999999");
	/* Leap day and end of year. */
	notification_format_time(INT64_C(1709164800) * 1000000000 + 1000, out);
	assert_string_equal(out, "2024-02-29T00:00:00.000001");
	notification_format_time(INT64_C(1767225599) * 1000000000, out);
	assert_string_equal(out, "2025-12-31T23:59:59.000000");
	/* The extremes of int64 nanoseconds stay well-formed. */
	notification_format_time(INT64_MAX, out);
	assert_string_equal(out, "2262-04-11T23:47:16.854775");
	notification_format_time(INT64_MIN, out);
	assert_string_equal(out, "1677-09-21T00:12:43.145224");
	assert_int_equal(strlen(out), 26);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vm_exact),
		cmocka_unit_test(test_vm_io_error),
		cmocka_unit_test(test_process_exact),
		cmocka_unit_test(test_compute_host_exact),
		cmocka_unit_test(test_mesh_process_exact),
		cmocka_unit_test(test_escaping_and_bad_utf8),
		cmocka_unit_test(test_unterminated_field),
		cmocka_unit_test(test_no_hostname),
		cmocka_unit_test(test_time_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
