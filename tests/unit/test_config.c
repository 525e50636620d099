/* config.c: mimamori.conf and masakarimonitors.conf loading, every error
 * class with its exact "FILE:LINE: [section] key:" prefix, validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/common/config.h"

static char fixture_buf[CONFIG_PATH_LEN];

/* Fixture paths come from $FIXTURES (set by meson) so the test runs
 * from any working directory. */
static const char *fixture(const char *name)
{
	const char *dir = getenv("FIXTURES");
	int n;

	if (!dir)
		dir = "tests/fixtures";
	n = snprintf(fixture_buf, sizeof(fixture_buf), "%s/config/%s", dir, name);
	assert_true(n > 0 && (size_t)n < sizeof(fixture_buf));
	return fixture_buf;
}

/* err must start with "FIXTURE:suffix". */
static void assert_err_prefix(const char *err, const char *path, const char *suffix)
{
	char want[CONFIG_ERR_LEN * 2];

	snprintf(want, sizeof(want), "%s:%s", path, suffix);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("error\n  got:  %s\n  want: %s...", err, want);
}

static void assert_starts_with(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)) != 0)
		fail_msg("\n  got:  %s\n  want: %s...", s, prefix);
}

static int load_str(struct mimamori_config *cfg, const char *text, char *err, size_t errlen)
{
	return config_load_buffer(cfg, "t.conf", text, strlen(text), err, errlen);
}

static int load_mm_str(struct mimamori_config *cfg, const char *text, char *err, size_t errlen)
{
	return config_load_masakari_monitors_buffer(cfg, "mm.conf", text, strlen(text), err,
						    errlen);
}

/* ---- mimamori.conf ---- */

static void test_defaults(void **state)
{
	struct mimamori_config cfg;
	char host[256] = "";
	char err[CONFIG_ERR_LEN] = "";

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	assert_string_equal(cfg.hostname, host);
	assert_string_equal(cfg.state_dir, "/var/lib/mimamori");
	assert_true(cfg.masakari.noauth);
	assert_string_equal(cfg.masakari.auth_url, "");
	assert_string_equal(cfg.masakari.user_domain_name, "Default");
	assert_string_equal(cfg.masakari.project_domain_name, "Default");
	assert_string_equal(cfg.masakari.region, "RegionOne");
	assert_string_equal(cfg.masakari.interface, "public");
	assert_false(cfg.masakari.insecure);
	assert_int_equal(cfg.masakari.timeout_ms, 10000);
	assert_string_equal(cfg.masakari.api_version, "1.0");
	assert_string_equal(cfg.libvirt_uri, "qemu:///system");
	assert_false(cfg.forward_all_events);
	assert_int_equal(cfg.n_process_names, 0);
	assert_string_equal(cfg.probe_mode, "auto");
	assert_int_equal(cfg.delivery_max_age_s, 86400);

	/* A file of comments changes nothing. */
	struct mimamori_config loaded;

	config_defaults(&loaded);
	assert_int_equal(config_load(&loaded, fixture("empty.conf"), err, sizeof(err)), 0);
	assert_memory_equal(&loaded, &cfg, sizeof(cfg));
}

static void test_full(void **state)
{
	struct mimamori_config cfg;
	char err[CONFIG_ERR_LEN] = "";

	(void)state;
	config_defaults(&cfg);
	if (config_load(&cfg, fixture("full.conf"), err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(cfg.hostname, "compute-7.example.org");
	assert_string_equal(cfg.state_dir, "/srv/mimamori");
	assert_false(cfg.masakari.noauth);
	assert_string_equal(cfg.masakari.auth_url, "https://keystone.example.org:5000/v3");
	assert_string_equal(cfg.masakari.username, "masakari");
	/* ';' not preceded by whitespace is part of the value. */
	assert_string_equal(cfg.masakari.password, "s3cr;et pass");
	assert_string_equal(cfg.masakari.project_name, "service");
	assert_string_equal(cfg.masakari.user_domain_name, "Users");
	assert_string_equal(cfg.masakari.project_domain_name, "Projects");
	assert_string_equal(cfg.masakari.region, "RegionTwo");
	assert_string_equal(cfg.masakari.interface, "internal");
	assert_string_equal(cfg.masakari.endpoint_override, "http://masakari.example.org:15868/v1");
	assert_string_equal(cfg.masakari.cafile, "/etc/ssl/certs/openstack-ca.pem");
	assert_true(cfg.masakari.insecure);
	assert_int_equal(cfg.masakari.timeout_ms, 25000);
	assert_string_equal(cfg.masakari.api_version, "1.2");
	assert_string_equal(cfg.libvirt_uri,
			    "qemu+unix:///system?socket=/run/libvirt/virtqemud-sock");
	assert_true(cfg.forward_all_events);
	assert_int_equal(cfg.n_process_names, 4);
	assert_string_equal(cfg.process_names[0], "libvirtd");
	assert_string_equal(cfg.process_names[1], "nova-compute");
	assert_string_equal(cfg.process_names[2], "virtqemud");
	assert_string_equal(cfg.process_names[3], "ovs-vswitchd");
	assert_string_equal(cfg.probe_mode, "pidfd");
	assert_int_equal(cfg.delivery_max_age_s, 3600);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
}

static void test_noauth(void **state)
{
	struct mimamori_config cfg;
	char err[CONFIG_ERR_LEN] = "";

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_load(&cfg, fixture("noauth.conf"), err, sizeof(err)), 0);
	assert_true(cfg.masakari.noauth);
	assert_string_equal(cfg.masakari.endpoint_override, "http://127.0.0.1:15868/v1");
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
}

static void test_missing_file(void **state)
{
	struct mimamori_config cfg;
	char err[CONFIG_ERR_LEN] = "";
	const char *path = fixture("does-not-exist.conf");
	char want[CONFIG_ERR_LEN * 2];

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	assert_string_equal(err, want);
	assert_int_equal(config_load_masakari_monitors(&cfg, path, err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

/* One fixture per error class, with the exact prefix each must produce. */
static const struct {
	const char *file;
	const char *want; /* after "PATH:" */
} error_cases[] = {
	{ "bad_unknown_section.conf", "6: [nodes] state_dir: unknown section" },
	{ "bad_unknown_key.conf", "3: [masakari] usrname: unknown key" },
	{ "bad_number.conf", "2: [masakari] timeout: '10s' is not a whole number of seconds" },
	{ "bad_range.conf", "3: [delivery] max_age: 59 is out of range (60 to " },
	{ "bad_enum.conf", "2: [probe] mode: 'kprobe' is not one of: auto, ebpf, pidfd" },
	{ "bad_bool.conf", "3: [instance] forward_all_events: 'maybe' is not a boolean" },
	{ "bad_too_long.conf", "2: [masakari] region: value too long (66 bytes, max 63)" },
	{ "bad_duplicate.conf", "9: [masakari] password: duplicate key (first set on line 3)" },
	{ "bad_process_name.conf",
	  "2: [process] watched: process name 'neutron-openvswitch-agent' is longer than 15 "
	  "characters" },
	{ "bad_syntax.conf", "2: syntax error" },
	{ "bad_no_section.conf", "1: [] hostname: key outside any [section]" },
	{ "bad_long_line.conf", "2: [masakari] password: line too long (max " },
};

static void test_error_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		struct mimamori_config cfg, before;
		char err[CONFIG_ERR_LEN] = "";
		const char *path = fixture(error_cases[i].file);

		config_defaults(&cfg);
		before = cfg;
		if (config_load(&cfg, path, err, sizeof(err)) != -1)
			fail_msg("%s: loaded without error", error_cases[i].file);
		assert_err_prefix(err, path, error_cases[i].want);
		/* All or nothing: a failed load leaves cfg alone. */
		assert_memory_equal(&cfg, &before, sizeof(cfg));
	}
}

/* Smaller error cases straight from memory. */
static const struct {
	const char *text;
	const char *want; /* after "t.conf:" */
} buffer_error_cases[] = {
	{ "[masakari]\ntimeout = 0\n", "2: [masakari] timeout: 0 is out of range (1 to 300" },
	{ "[masakari]\ntimeout = 301\n", "2: [masakari] timeout: 301 is out of range" },
	{ "[masakari]\ntimeout = 99999999999999999999999\n",
	  "2: [masakari] timeout: 99999999999999999999999 is out of range" },
	{ "[masakari]\ntimeout = -5\n", "2: [masakari] timeout: '-5' is not a whole number" },
	{ "[masakari]\ntimeout =\n", "2: [masakari] timeout: '' is not a whole number" },
	{ "[masakari]\ntimeout = 10 # seconds\n",
	  "2: [masakari] timeout: '10 # seconds' is not a whole number" },
	{ "[masakari]\ninsecure = on\n", "2: [masakari] insecure: 'on' is not a boolean" },
	{ "[masakari]\ninterface = publicURL\n",
	  "2: [masakari] interface: 'publicURL' is not one of: public, internal, admin" },
	{ "[masakari]\nauth_url = keystone:5000\n",
	  "2: [masakari] auth_url: 'keystone:5000' is not an http:// or https:// URL" },
	{ "[masakari]\nendpoint_override = http://\n",
	  "2: [masakari] endpoint_override: 'http://' is not an http:// or https:// URL" },
	{ "[masakari]\ncafile = ca.pem\n",
	  "2: [masakari] cafile: 'ca.pem' is not an absolute path" },
	{ "[masakari]\napi_version = latest\n",
	  "2: [masakari] api_version: 'latest' is not an API microversion like 1.0" },
	{ "[masakari]\napi_version = 1.00000000000000000\n",
	  "2: [masakari] api_version: value too long (19 bytes, max 15)" },
	{ "[masakari]\nuser_domain_name =\n", "2: [masakari] user_domain_name: must not be empty" },
	{ "[node]\nstate_dir = var/lib/mimamori\n",
	  "2: [node] state_dir: 'var/lib/mimamori' is not an absolute path" },
	{ "[instance]\nlibvirt_uri =\n", "2: [instance] libvirt_uri: must not be empty" },
	{ "[process]\nwatched = a,,b\n", "2: [process] watched: empty process name in the list" },
	{ "[process]\nwatched = a, b,\n", "2: [process] watched: empty process name in the list" },
	{ "[process]\nwatched = a, b, a\n",
	  "2: [process] watched: process name 'a' is listed twice" },
	{ "[process]\nwatched = a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\n",
	  "2: [process] watched: more than 16 process names" },
	{ "[Node]\nhostname = x\n", "2: [Node] hostname: unknown section" },
	{ "[node]\nHostname = x\n", "2: [node] Hostname: unknown key" },
	/* Indentation is insignificant: this is a key, not a continuation. */
	{ "[node]\nhostname = x\n  hostname = y\n",
	  "3: [node] hostname: duplicate key (first set on line 2)" },
	{ "[node]\nhostname = x\n   continued\n", "3: syntax error" },
	{ "[node\nhostname = x\n", "1: syntax error" },
	/* The first error in file order wins, inih's or ours. */
	{ "[node]\nbogus line\n[nodes]\nx = 1\n", "2: syntax error" },
	{ "[nodes]\nx = 1\nbogus line\n", "2: [nodes] x: unknown section" },
	/* Names from the file are printed safely. */
	{ "[no\x01" "de]\nx = 1\n", "2: [no?de] x: unknown section" },
	/* CRLF line ends count as one line each. */
	{ "[node]\r\nhostname = x\r\n\r\nbad = 1\r\n", "4: [node] bad: unknown key" },
};

static void test_error_buffers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(buffer_error_cases) / sizeof(buffer_error_cases[0]); i++) {
		struct mimamori_config cfg;
		char err[CONFIG_ERR_LEN] = "";

		config_defaults(&cfg);
		if (load_str(&cfg, buffer_error_cases[i].text, err, sizeof(err)) != -1)
			fail_msg("case %zu loaded without error", i);
		assert_err_prefix(err, "t.conf", buffer_error_cases[i].want);
	}
}

static void test_nul_byte(void **state)
{
	static const char text[] = "[node]\nhostname = a\0b\n";
	struct mimamori_config cfg;
	char err[CONFIG_ERR_LEN] = "";

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_load_buffer(&cfg, "t.conf", text, sizeof(text) - 1, err,
					    sizeof(err)),
			 -1);
	assert_string_equal(err, "t.conf:2: NUL byte in the file");
}

static void test_long_comment_is_fine(void **state)
{
	char text[1024];
	struct mimamori_config cfg;
	char err[CONFIG_ERR_LEN] = "";
	int n;

	(void)state;
	/* A long comment is cut by inih's buffer but never used: no error,
	 * and its tail is not parsed as a line of its own. */
	n = snprintf(text, sizeof(text), "# %0600d = x\n[node]\nhostname = h\n", 0);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	config_defaults(&cfg);
	if (load_str(&cfg, text, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(cfg.hostname, "h");
}

/* Lines longer than inih's buffer: reported on their own line whether
 * or not inih passes them to us, ignored where they cannot matter. */
static void test_long_lines(void **state)
{
	char text[2048], err[CONFIG_ERR_LEN] = "";
	struct mimamori_config cfg;
	char pad[301];

	(void)state;
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	config_defaults(&cfg);

	/* A section header cut before its ']'. */
	snprintf(text, sizeof(text), "[node]\nhostname = h\n[%s]\nx = 1\n", pad);
	assert_int_equal(load_str(&cfg, text, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:3: line too long (max 199 characters)");

	/* A key whose '=' is beyond the cut. */
	snprintf(text, sizeof(text), "[node]\n%s = 1\n", pad);
	assert_int_equal(load_str(&cfg, text, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:2: line too long (max 199 characters)");

	/* The last line, without a newline. */
	snprintf(text, sizeof(text), "[node]\nhostname = %s", pad);
	assert_int_equal(load_str(&cfg, text, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:2: [node] hostname: line too long (max 199 characters)");

	/* Exactly 199 characters fit. */
	snprintf(text, sizeof(text), "[node]\nhostname = %.188s\n", pad);
	assert_int_equal(strlen(strchr(text, '\n') + 1), 200);
	if (load_str(&cfg, text, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(strlen(cfg.hostname), 188);

	/* masakarimonitors.conf: long lines elsewhere are not our business,
	 * in [api] they are. */
	config_defaults(&cfg);
	snprintf(text, sizeof(text), "[host]\nlist = %s\n%s\n[api]\nregion = R\n", pad, pad);
	assert_int_equal(load_mm_str(&cfg, text, err, sizeof(err)), -1);
	assert_string_equal(err, "mm.conf:3: line too long (max 199 characters)");
	snprintf(text, sizeof(text), "[host]\nlist = %s\n[api]\nregion = R\n", pad);
	if (load_mm_str(&cfg, text, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(cfg.masakari.region, "R");
	snprintf(text, sizeof(text), "[api]\npassword = %s\n", pad);
	assert_int_equal(load_mm_str(&cfg, text, err, sizeof(err)), -1);
	assert_string_equal(err, "mm.conf:2: [api] password: line too long (max 199 characters)");
	/* Blank padding is just a blank line. */
	snprintf(text, sizeof(text), "[api]\n%300s\nregion = S\n", "");
	if (load_mm_str(&cfg, text, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(cfg.masakari.region, "S");
}

static void test_syntax_details(void **state)
{
	struct mimamori_config cfg;
	char err[CONFIG_ERR_LEN] = "";

	(void)state;
	config_defaults(&cfg);
	/* BOM, blank lines, ';' and '#' comments, inline "; comment", colon
	 * separator, case-insensitive booleans, empty watched list, values
	 * keep their quotes. */
	if (load_str(&cfg,
		     "\xef\xbb\xbf; mimamori\n\n"
		     "[masakari]\n"
		     "timeout = 12 ; seconds\n"
		     "insecure: TRUE\n"
		     "password = \"quoted\"\n"
		     "region =\n"
		     "[process]\n"
		     "watched =\n"
		     "  [instance]\n"
		     "\tforward_all_events = No\n",
		     err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.masakari.timeout_ms, 12000);
	assert_true(cfg.masakari.insecure);
	assert_string_equal(cfg.masakari.password, "\"quoted\"");
	assert_string_equal(cfg.masakari.region, "");
	assert_int_equal(cfg.n_process_names, 0);
	assert_false(cfg.forward_all_events);

	/* Fifteen characters is the limit, not sixteen. */
	assert_int_equal(load_str(&cfg, "[process]\nwatched = abcdefghijklmno\n", err,
				  sizeof(err)),
			 0);
	assert_string_equal(cfg.process_names[0], "abcdefghijklmno");
	assert_int_equal(load_str(&cfg, "[process]\nwatched = abcdefghijklmnop\n", err,
				  sizeof(err)),
			 -1);
	assert_starts_with(err, "t.conf:2: [process] watched: process name 'abcdefghijklmnop'");

	/* Sixteen names fit. */
	assert_int_equal(load_str(&cfg, "[process]\nwatched = a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p\n",
				  err, sizeof(err)),
			 0);
	assert_int_equal(cfg.n_process_names, 16);
	assert_string_equal(cfg.process_names[15], "p");

	/* Each load starts a fresh duplicate check, on top of earlier values. */
	assert_int_equal(load_str(&cfg, "[delivery]\nmax_age = 60\n", err, sizeof(err)), 0);
	assert_int_equal(load_str(&cfg, "[delivery]\nmax_age = 120\n", err, sizeof(err)), 0);
	assert_int_equal(cfg.delivery_max_age_s, 120);
	assert_int_equal(cfg.n_process_names, 16);
}

static void test_small_err_buffer(void **state)
{
	struct mimamori_config cfg;
	char err[8];

	(void)state;
	config_defaults(&cfg);
	memset(err, 'z', sizeof(err));
	assert_int_equal(load_str(&cfg, "[x]\ny = 1\n", err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:");
	assert_int_equal(load_str(&cfg, "[x]\ny = 1\n", NULL, 0), -1);
}

/* ---- masakarimonitors.conf ---- */

static void test_masakari_monitors(void **state)
{
	struct mimamori_config cfg;
	char err[CONFIG_ERR_LEN] = "";

	(void)state;
	config_defaults(&cfg);
	if (config_load_masakari_monitors(&cfg, fixture("masakarimonitors.conf"), err,
					  sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(cfg.hostname, "compute-3"); /* hostname beats deprecated host */
	assert_false(cfg.masakari.noauth);
	assert_string_equal(cfg.masakari.auth_url, "http://controller:5000");
	assert_string_equal(cfg.masakari.username, "masakari");
	assert_string_equal(cfg.masakari.password, "MASAKARI_PASS"); /* quotes dropped */
	assert_string_equal(cfg.masakari.project_name, "service");
	assert_string_equal(cfg.masakari.user_domain_name, "Default");
	assert_string_equal(cfg.masakari.project_domain_name, "Default");
	assert_string_equal(cfg.masakari.region, "RegionThree");
	assert_string_equal(cfg.masakari.interface, "internal");
	assert_string_equal(cfg.masakari.api_version, "1.0"); /* "v1" */
	assert_string_equal(cfg.masakari.cafile, "/etc/ssl/ca.pem");
	assert_false(cfg.masakari.insecure);
	assert_int_equal(cfg.masakari.timeout_ms, 30000);
	/* Not touched: it has no such settings. */
	assert_string_equal(cfg.state_dir, "/var/lib/mimamori");
	assert_string_equal(cfg.libvirt_uri, "qemu:///system");
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
}

static void test_masakari_monitors_on_top(void **state)
{
	struct mimamori_config cfg;
	char err[CONFIG_ERR_LEN] = "";

	(void)state;
	/* mimamorid loads mimamori.conf first, then this on top. */
	config_defaults(&cfg);
	assert_int_equal(config_load(&cfg, fixture("full.conf"), err, sizeof(err)), 0);
	if (load_mm_str(&cfg,
			"[DEFAULT]\nhost = legacy\n"
			"[API]\n"
			"auth_url = http://k:5000/v3\n"
			"password = 'a b'\n"
			"password = last-wins\n"
			"default_domain_name = Corp\n"
			"user_domain_name = Staff\n"
			"api_version = 1.1\n"
			"unknown_option = whatever\n",
			err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(cfg.hostname, "legacy");
	assert_string_equal(cfg.masakari.auth_url, "http://k:5000/v3");
	assert_string_equal(cfg.masakari.password, "last-wins");
	assert_string_equal(cfg.masakari.user_domain_name, "Staff");
	assert_string_equal(cfg.masakari.project_domain_name, "Corp");
	assert_string_equal(cfg.masakari.api_version, "1.1");
	/* Untouched keys keep mimamori.conf's values. */
	assert_string_equal(cfg.masakari.username, "masakari");
	assert_string_equal(cfg.masakari.region, "RegionTwo");
	assert_int_equal(cfg.n_process_names, 4);

	/* Quote edge cases as oslo.config: one pair only, a lone quote
	 * becomes empty. */
	assert_int_equal(load_mm_str(&cfg, "[api]\npassword = \"\"x\"\"\nusername = \"\n", err,
				     sizeof(err)),
			 0);
	assert_string_equal(cfg.masakari.password, "\"x\"");
	assert_string_equal(cfg.masakari.username, "");
}

static const struct {
	const char *text;
	const char *want; /* after "mm.conf:" */
} mm_error_cases[] = {
	{ "[api]\nuser_id = 123\n", "2: [api] user_id: not supported by mimamori" },
	{ "[api]\nauth_type = token\n", "2: [api] auth_type: 'token' is not supported" },
	{ "[api]\nuser_domain_id = 3f4e\n", "2: [api] user_domain_id: only 'default' can be" },
	{ "[api]\napi_version = v2\n", "2: [api] api_version: 'v2' is neither v1 nor" },
	{ "[api]\ninsecure = maybe\n", "2: [api] insecure: 'maybe' is not a boolean" },
	{ "[api]\napi_interface = publicURL\n", "2: [api] api_interface: 'publicURL' is not one" },
	{ "[api]\ntimeout = 0\n", "2: [api] timeout: 0 is out of range" },
	{ "[api]\npassword = abc ;def\n", "2: [api] password: ' ;' in the value" },
	{ "[api]\npassword = abc\n  def\n", "3: [api] password: multi-line values are not" },
	{ "[DEFAULT]\nhostname =\n", "2: [DEFAULT] hostname: must not be empty" },
	{ "[libvirt]\nconnection_uri = x\nnot an assignment\n", "3: syntax error" },
};

static void test_masakari_monitors_errors(void **state)
{
	struct mimamori_config cfg, before;
	char err[CONFIG_ERR_LEN] = "";
	const char *path = fixture("masakarimonitors_bad.conf");

	(void)state;
	config_defaults(&cfg);
	before = cfg;
	assert_int_equal(config_load_masakari_monitors(&cfg, path, err, sizeof(err)), -1);
	assert_err_prefix(err, path, "6: [api] user_id: not supported by mimamori");
	assert_memory_equal(&cfg, &before, sizeof(cfg));

	for (size_t i = 0; i < sizeof(mm_error_cases) / sizeof(mm_error_cases[0]); i++) {
		config_defaults(&cfg);
		if (load_mm_str(&cfg, mm_error_cases[i].text, err, sizeof(err)) != -1)
			fail_msg("case %zu loaded without error", i);
		assert_err_prefix(err, "mm.conf", mm_error_cases[i].want);
	}

	/* Other monitors' sections may hold anything ini-shaped, including
	 * values we would reject and continuation lines. */
	config_defaults(&cfg);
	if (load_mm_str(&cfg,
			"[host]\ntimeout = forever ;x\nlist = a,\n  b\n[process]\nuser_id = 1\n", err,
			sizeof(err)) != 0)
		fail_msg("%s", err);
}

/* The example must stay loadable: uncomment every "#key = value" line
 * (prose comments have a space after '#') and load the result. */
static void test_example(void **state)
{
	const char *dir = getenv("FIXTURES");
	char path[CONFIG_PATH_LEN], line[512], text[16384];
	size_t used = 0, keys = 0;
	struct mimamori_config cfg;
	char err[CONFIG_ERR_LEN] = "";
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/../../etc/mimamori.conf.example",
		 dir ? dir : "tests/fixtures");
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: cannot open", path);
	while (fgets(line, sizeof(line), f)) {
		const char *p = line;
		size_t len;

		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z') {
			p = line + 1;
			keys++;
		}
		len = strlen(p);
		assert_true(used + len < sizeof(text));
		memcpy(text + used, p, len);
		used += len;
	}
	assert_false(ferror(f));
	fclose(f);
	assert_int_equal(keys, 37); /* every key of every section, once */
	config_defaults(&cfg);
	if (config_load_buffer(&cfg, "example", text, used, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	if (config_validate(&cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	/* The documented defaults are the real ones. */
	assert_string_equal(cfg.state_dir, "/var/lib/mimamori");
	assert_int_equal(cfg.masakari.timeout_ms, 10000);
	assert_int_equal(cfg.delivery_max_age_s, 86400);
	assert_string_equal(cfg.probe_mode, "auto");
	assert_string_equal(cfg.control_socket, "/run/mimamori/control.sock");
	assert_string_equal(cfg.control_group, "");
	assert_string_equal(cfg.metrics_listen, "127.0.0.1:9877");
	assert_false(cfg.mesh_enabled);
	assert_true(cfg.mesh_refused_means_alive);
	assert_false(cfg.mesh_allow_insecure_tcp);
	assert_string_equal(cfg.fencing_method, "pacemaker");
	assert_int_equal(cfg.fencing_timeout_s, 60);
	assert_int_equal(cfg.crm_mon_interval_s, 2);
}

/* ---- validation ---- */

/* tcp:// (no TLS) lets anyone who reaches the port speak for any member:
 * refused unless [mesh] allow_insecure_tcp says so (issue 10, item 5). */
static void test_mesh_insecure_tcp(void **state)
{
	struct mimamori_config cfg;
	char err[CONFIG_ERR_LEN] = "";
	static const char base[] = "[masakari]\nendpoint_override = http://m:15868/v1\n"
				   "[mesh]\nenabled = true\n";

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(load_str(&cfg, base, err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0); /* tls+tcp:// default */
	assert_int_equal(load_str(&cfg, "[mesh]\nlisten = tcp://0.0.0.0:7947\n", err, sizeof(err)),
			 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_starts_with(err, "[mesh] listen: tcp:// has no authentication");
	assert_int_equal(load_str(&cfg, "[mesh]\nallow_insecure_tcp = true\n", err, sizeof(err)),
			 0);
	assert_true(cfg.mesh_allow_insecure_tcp);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
	/* without the mesh the listen URL is not used */
	config_defaults(&cfg);
	assert_int_equal(load_str(&cfg, "[masakari]\nendpoint_override = http://m:15868/v1\n"
					"[mesh]\nlisten = tcp://0.0.0.0:7947\n",
				  err, sizeof(err)),
			 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
}

static void test_validate(void **state)
{
	struct mimamori_config cfg;
	char err[CONFIG_ERR_LEN] = "";

	(void)state;
	/* Defaults: noauth without an endpoint. */
	config_defaults(&cfg);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_starts_with(err, "[masakari] endpoint_override: required without auth_url");

	/* Keystone mode needs username, password and project_name, in that order. */
	config_defaults(&cfg);
	assert_int_equal(load_str(&cfg, "[masakari]\nauth_url = http://k:5000/v3\n", err,
				  sizeof(err)),
			 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_starts_with(err, "[masakari] username: required when auth_url is set");
	assert_int_equal(load_str(&cfg, "[masakari]\nusername = u\n", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_starts_with(err, "[masakari] password: required");
	assert_int_equal(load_str(&cfg, "[masakari]\npassword = p\n", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_starts_with(err, "[masakari] project_name: required");
	assert_int_equal(load_str(&cfg, "[masakari]\nproject_name = service\n", err, sizeof(err)),
			 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);

	/* Keystone mode does not need endpoint_override (the catalog has it). */
	assert_string_equal(cfg.masakari.endpoint_override, "");

	/* hostname: empty. */
	assert_int_equal(load_str(&cfg, "[node]\nhostname =\n", err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:2: [node] hostname: must not be empty");
	cfg.hostname[0] = '\0';
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_starts_with(err, "[node] hostname: empty");
	snprintf(cfg.hostname, sizeof(cfg.hostname), "%s", "h");

	/* state_dir: relative (only reachable by setting the struct). */
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", "state");
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "[node] state_dir: must be an absolute path");
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", "/var/lib/mimamori");

	/* Fields a caller set by hand are checked too. */
	snprintf(cfg.probe_mode, sizeof(cfg.probe_mode), "%s", "bpf");
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_starts_with(err, "[probe] mode:");
	snprintf(cfg.probe_mode, sizeof(cfg.probe_mode), "%s", "auto");
	cfg.masakari.timeout_ms = 0;
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_starts_with(err, "[masakari] timeout:");
	cfg.masakari.timeout_ms = 10000;
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_noauth),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_error_fixtures),
		cmocka_unit_test(test_error_buffers),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_long_comment_is_fine),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_syntax_details),
		cmocka_unit_test(test_small_err_buffer),
		cmocka_unit_test(test_masakari_monitors),
		cmocka_unit_test(test_masakari_monitors_on_top),
		cmocka_unit_test(test_masakari_monitors_errors),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_mesh_insecure_tcp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
