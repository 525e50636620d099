/* The mesh's members file (daemon/mesh/members_file.c): "NAME URL" lines with
 * comments and blank lines, CRLF; every error names the file and line
 * (bad names, schemes, ports, duplicates, junk after the URL, control
 * characters, NUL, long lines); the bounds (members, line, file size);
 * and loading from disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/mesh/members_file.h"

static int parse(const char *text, struct members_list *l, char *err, size_t errlen)
{
	return members_file_parse("members", text, strlen(text), l, err, errlen);
}

static void expect_error(const char *text, const char *want)
{
	struct members_list l;
	char err[512] = "";

	assert_int_equal(parse(text, &l, err, sizeof(err)), -1);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s' (input: %s)", err, want, text);
}

static void test_parses_members(void **state)
{
	struct members_list l;
	char err[256] = "";
	const char *text = "# the segment\n"
			   "\n"
			   "compute-01 tls+tcp://10.0.0.11:7947\n"
			   "  compute-02\ttls+tcp://10.0.0.12:7947   # rack 2\n"
			   "compute-03.example.org tls+tcp://[fd00::13]:7947\r\n"
			   "   # indented comment\n"
			   "c_4 tls+tcp://c4.example.org:1"; /* no final newline */

	(void)state;
	assert_int_equal(parse(text, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0].name, "compute-01");
	assert_string_equal(l.v[0].url, "tls+tcp://10.0.0.11:7947");
	assert_string_equal(l.v[1].name, "compute-02");
	assert_string_equal(l.v[1].url, "tls+tcp://10.0.0.12:7947");
	assert_string_equal(l.v[2].name, "compute-03.example.org");
	assert_string_equal(l.v[2].url, "tls+tcp://[fd00::13]:7947");
	assert_string_equal(l.v[3].name, "c_4");
	assert_string_equal(l.v[3].url, "tls+tcp://c4.example.org:1");
	assert_int_equal(members_find(&l, "compute-02"), 1);
	assert_int_equal(members_find(&l, "compute-2"), -1);
	assert_int_equal(members_find(&l, ""), -1);
	assert_int_equal(members_find_url(&l, "tls+tcp://[fd00::13]:7947"), 2);
	assert_int_equal(members_find_url(&l, "tcp://[fd00::13]:7947"), -1);
	members_list_free(&l);
	assert_null(l.v);
	members_list_free(&l); /* twice is fine */
	members_list_free(NULL);
}

static void test_tcp_for_tests(void **state)
{
	struct members_list l;
	char err[256];

	(void)state;
	assert_int_equal(parse("a tcp://127.0.0.1:7001\nb tcp://127.0.0.1:7002\n", &l, err,
			       sizeof(err)), 0);
	assert_int_equal(l.n, 2);
	members_list_free(&l);
}

static void test_errors_name_file_and_line(void **state)
{
	(void)state;
	expect_error("", "members: no member");
	expect_error("# only comments\n\n", "members: no member");
	expect_error("a tls+tcp://h:1\nb\n", "members:2: no URL");
	expect_error("a tls+tcp://h:1 extra\n", "members:1: unexpected text after the URL");
	expect_error("a b tls+tcp://h:1\n", "members:1: unexpected text after the URL");
	expect_error("a b\n", "members:1: the URL 'b' must be tls+tcp://");
	expect_error("a http://h:1\n", "members:1: the URL 'http://h:1' must be");
	expect_error("a tls+tcp://h\n", "members:1: 'tls+tcp://h': the URL has no :PORT");
	expect_error("a tls+tcp://:1\n", "no host");
	expect_error("a tls+tcp://h:\n", "no port");
	expect_error("a tls+tcp://h:0\n", "the port is 0");
	expect_error("a tls+tcp://h:65536\n", "above 65535");
	expect_error("a tls+tcp://h:7x\n", "not a number");
	expect_error("a tls+tcp://fd00::1:7\n", "brackets");
	expect_error("a tls+tcp://[]:7\n", "[ADDRESS]");
	expect_error("a tls+tcp://[::1]7\n", "no :PORT");
	expect_error("a/b tls+tcp://h:1\n", "members:1: the name 'a/b' may hold only");
	expect_error("ä tls+tcp://h:1\n", "may hold only");
	/* the name becomes an argument of stonith_admin or the fence command:
	 * a leading '-' would be read as an option */
	expect_error("-x tls+tcp://h:1\n", "members:1: the name '-x' must start with a letter or a digit");
	expect_error("a tls+tcp://h:1\n.b tls+tcp://h:2\n", "members:2: the name '.b' must start");
	expect_error("a tls+tcp://h:1\n\nb tcp://h:2\n", "members:3: every member must use the same");
	expect_error("a tls+tcp://h:1\nb tls+tcp://h:2\na tls+tcp://h:3\n",
		     "members:3: member 'a' is already listed on line 1");
	expect_error("a tls+tcp://h:1\nb tls+tcp://h:2\nc tls+tcp://h:1\n",
		     "members:3: URL tls+tcp://h:1 is already member 'a''s (line 1)");
	expect_error("a tls+tcp://h:1\nb\x01 tls+tcp://h:2\n", "members:2: control character");
	expect_error("a tls+tcp://h:1\rb tls+tcp://h:2\n", "members:1: control character");
}

static void test_nul_byte(void **state)
{
	struct members_list l;
	char err[256] = "";
	const char text[] = "a tls+tcp://h:1\nb tls+tcp://h:2\0\n";

	(void)state;
	assert_int_equal(members_file_parse("m", text, sizeof(text) - 1, &l, err, sizeof(err)), -1);
	assert_string_equal(err, "m:2: NUL byte in the line");
}

static void test_length_bounds(void **state)
{
	char name[MEMBERS_NAME_MAX + 1], url[MEMBERS_URL_MAX + 40], line[2 * MEMBERS_FILE_MAX_LINE];
	struct members_list l;
	char err[512];

	(void)state;
	/* 63 bytes: fine; 64: too long. */
	memset(name, 'n', MEMBERS_NAME_MAX - 1);
	name[MEMBERS_NAME_MAX - 1] = '\0';
	snprintf(line, sizeof(line), "%s tls+tcp://h:1\n", name);
	assert_int_equal(parse(line, &l, err, sizeof(err)), 0);
	assert_string_equal(l.v[0].name, name);
	members_list_free(&l);
	name[MEMBERS_NAME_MAX - 1] = 'n';
	name[MEMBERS_NAME_MAX] = '\0';
	snprintf(line, sizeof(line), "%s tls+tcp://h:1\n", name);
	expect_error(line, "members:1: the name is longer than 63 bytes");

	/* A URL of 127 bytes: fine; 128: too long. */
	memset(url, 'u', sizeof(url));
	memcpy(url, "tls+tcp://", 10);
	memcpy(url + MEMBERS_URL_MAX - 1 - 5, ":7947", 5);
	url[MEMBERS_URL_MAX - 1] = '\0';
	snprintf(line, sizeof(line), "a %s\n", url);
	assert_int_equal(parse(line, &l, err, sizeof(err)), 0);
	assert_int_equal(strlen(l.v[0].url), MEMBERS_URL_MAX - 1);
	members_list_free(&l);
	memset(url, 'u', sizeof(url));
	memcpy(url, "tls+tcp://", 10);
	memcpy(url + MEMBERS_URL_MAX - 5, ":7947", 5);
	url[MEMBERS_URL_MAX] = '\0';
	snprintf(line, sizeof(line), "a %s\n", url);
	expect_error(line, "members:1: the URL is longer than 127 bytes");

	/* A comment line longer than the line bound. */
	memset(line, '#', MEMBERS_FILE_MAX_LINE + 1);
	line[MEMBERS_FILE_MAX_LINE + 1] = '\0';
	expect_error(line, "members:1: line longer than 1024 bytes");
}

static void test_member_bound(void **state)
{
	size_t cap = (MEMBERS_FILE_MAX_MEMBERS + 2) * 48;
	char *text = malloc(cap);
	size_t len = 0;
	struct members_list l;
	char err[256] = "";

	(void)state;
	for (int i = 0; i < MEMBERS_FILE_MAX_MEMBERS; i++)
		len += (size_t)snprintf(text + len, cap - len, "compute-%05d tls+tcp://10.%d.%d.%d:7947\n",
					i, i >> 16, (i >> 8) & 255, i & 255);
	assert_int_equal(members_file_parse("m", text, len, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, MEMBERS_FILE_MAX_MEMBERS);
	assert_int_equal(members_find(&l, "compute-16383"), 16383);
	members_list_free(&l);
	/* Comments after the last allowed member are fine, one more member is not. */
	len += (size_t)snprintf(text + len, cap - len, "# end\n");
	assert_int_equal(members_file_parse("m", text, len, &l, err, sizeof(err)), 0);
	members_list_free(&l);
	len += (size_t)snprintf(text + len, cap - len, "one-more tls+tcp://h:1\n");
	assert_int_equal(members_file_parse("m", text, len, &l, err, sizeof(err)), -1);
	assert_string_equal(err, "m:16386: more than 16384 members");
	/* Beyond the file size bound. */
	assert_int_equal(members_file_parse("m", text, MEMBERS_FILE_MAX_BYTES + 1, &l, err,
					    sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than"));
	free(text);
}

static void test_load(void **state)
{
	const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[256];
	int fd;
	const char *text = "x tls+tcp://h:1\ny tls+tcp://h:2\n";
	struct members_list l;
	char err[512] = "";

	(void)state;
	assert_true(snprintf(path, sizeof(path), "%s/test_members_XXXXXX", tmp) < (int)sizeof(path));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(members_file_load(path, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[1].name, "y");
	members_list_free(&l);
	unlink(path);
	assert_int_equal(members_file_load(path, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(members_file_load(tmp, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parses_members),
		cmocka_unit_test(test_tcp_for_tests),
		cmocka_unit_test(test_errors_name_file_and_line),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_length_bounds),
		cmocka_unit_test(test_member_bound),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
