/* crm_mon XML (core/crm_mon.h): every captured fixture in both flavours
 * (crm_mon -X and --output-as=xml), the traps (exit 102 with a document,
 * an empty document with exit 0, no quorum, no DC, a dead remote online
 * while reconnecting), and garbage: truncations at every length, a DTD,
 * external entities, wrong roots, bad values, oversize. Fixtures:
 * $FIXTURES/crm_mon/ (captured from Pacemaker 2.1.5; see its README). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crm_mon.h"

static char *read_file(const char *name, size_t *len)
{
	const char *dir = getenv("FIXTURES");
	char path[1024];
	snprintf(path, sizeof(path), "%s/crm_mon/%s", dir != NULL ? dir : "tests/fixtures", name);
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

static int read_rc(const char *name)
{
	size_t len;
	char *s = read_file(name, &len);
	int rc = atoi(s);
	free(s);
	return rc;
}

static struct crm_mon_view *new_view(void)
{
	struct crm_mon_view *v = malloc(sizeof(*v));
	assert_non_null(v);
	memset(v, 0x5a, sizeof(*v)); /* garbage: the parser must reset it */
	return v;
}

/* Parses a fixture; returns the view (caller frees). */
static struct crm_mon_view *parse_fixture(const char *name, int exit_code, int want_rc)
{
	size_t len;
	char *xml = read_file(name, &len);
	struct crm_mon_view *v = new_view();
	char err[256] = "";
	int rc = crm_mon_parse(xml, len, exit_code, v, err, sizeof(err));
	if (rc != want_rc)
		fail_msg("%s: rc %d (want %d): %s", name, rc, want_rc, err);
	free(xml);
	return v;
}

static const struct crm_mon_node *node(const struct crm_mon_view *v, const char *name)
{
	const struct crm_mon_node *n = crm_mon_find_node(v, name);
	if (n == NULL)
		fail_msg("node %s missing", name);
	return n;
}

struct node_expect {
	const char *name;
	enum crm_mon_node_type type;
	bool online, unclean, shutdown, reconnecting;
	const char *role; /* remote resource role, NULL for a member */
};

struct fixture_expect {
	const char *file;
	enum crm_mon_status status;
	enum crm_mon_format format;
	size_t n_nodes;
	const char *reason; /* substring, NULL when OK */
	size_t n_fence;
	const struct node_expect *rn1; /* NULL: not checked */
};

#define MEMBER(n) { n, CRM_MON_NODE_MEMBER, true, false, false, false, NULL }
static const struct node_expect rn1_online = { "rn1", CRM_MON_NODE_REMOTE, true, false, false, false, "Started" };
static const struct node_expect rn1_stopped = { "rn1", CRM_MON_NODE_REMOTE, false, false, false, false, "Stopped" };
static const struct node_expect rn1_killed = { "rn1", CRM_MON_NODE_REMOTE, false, false, false, true, "Stopped" };
static const struct node_expect rn1_transient = { "rn1", CRM_MON_NODE_REMOTE, false, false, true, true, "Started" };
static const struct node_expect rn1_starting = { "rn1", CRM_MON_NODE_REMOTE, true, false, false, true, "Starting" };
static const struct node_expect rn1_reconnect_failed = { "rn1", CRM_MON_NODE_REMOTE, false, false, false, true, "Started" };
static const struct node_expect rn1_unclean = { "rn1", CRM_MON_NODE_REMOTE, false, true, false, true, "Stopped" };

static const struct fixture_expect fixtures[] = {
	{ "X-all-online.xml", CRM_MON_OK, CRM_MON_FORMAT_LEGACY, 4, NULL, 0, &rn1_online },
	{ "X-all-online-as-seen-from-remote-rn1.xml", CRM_MON_OK, CRM_MON_FORMAT_LEGACY, 4, NULL, 0, &rn1_online },
	{ "xml-all-online.xml", CRM_MON_OK, CRM_MON_FORMAT_RESULT, 4, NULL, 0, &rn1_online },
	{ "offline-X-from-cib-all-online.xml", CRM_MON_OK, CRM_MON_FORMAT_LEGACY, 4, NULL, 0, &rn1_online },
	{ "offline-xml-from-cib-all-online.xml", CRM_MON_OK, CRM_MON_FORMAT_RESULT, 4, NULL, 0, &rn1_online },
	{ "xml-remote-killed-transient-shutdown.xml", CRM_MON_OK, CRM_MON_FORMAT_RESULT, 4, NULL, 0, &rn1_transient },
	{ "xml-remote-killed-offline.xml", CRM_MON_OK, CRM_MON_FORMAT_RESULT, 4, NULL, 0, &rn1_killed },
	{ "xml-remote-reconnect-attempt-online-starting.xml", CRM_MON_OK, CRM_MON_FORMAT_RESULT, 4, NULL, 0, &rn1_starting },
	{ "xml-remote-reconnect-failed.xml", CRM_MON_OK, CRM_MON_FORMAT_RESULT, 4, NULL, 0, &rn1_reconnect_failed },
	{ "X-remote-offline-after-failed-reconnect.xml", CRM_MON_OK, CRM_MON_FORMAT_LEGACY, 4, NULL, 0, &rn1_stopped },
	{ "xml-remote-offline-after-failed-reconnect.xml", CRM_MON_OK, CRM_MON_FORMAT_RESULT, 4, NULL, 0, &rn1_stopped },
	{ "offline-X-from-cib-remote-offline.xml", CRM_MON_OK, CRM_MON_FORMAT_LEGACY, 4, NULL, 0, &rn1_stopped },
	{ "offline-xml-from-cib-remote-offline.xml", CRM_MON_OK, CRM_MON_FORMAT_RESULT, 4, NULL, 0, &rn1_stopped },
	{ "xml-remote-network-lost-monitor-timeout.xml", CRM_MON_OK, CRM_MON_FORMAT_RESULT, 4, NULL, 0, &rn1_online },
	{ "xml-stonith-remote-killed-unclean.xml", CRM_MON_OK, CRM_MON_FORMAT_RESULT, 5, NULL, 1, &rn1_unclean },
	{ "xml-stonith-remote-fenced-offline.xml", CRM_MON_OK, CRM_MON_FORMAT_RESULT, 5, NULL, 1, &rn1_killed },
	/* no quorum: every remote shows offline; that is no information */
	{ "X-no-quorum-remotes-stopped.xml", CRM_MON_NO_QUORUM, CRM_MON_FORMAT_LEGACY, 0, "no quorum", 1, NULL },
	{ "xml-no-quorum-remotes-stopped.xml", CRM_MON_NO_QUORUM, CRM_MON_FORMAT_RESULT, 0, "no quorum", 1, NULL },
	{ "offline-X-from-cib-no-quorum.xml", CRM_MON_NO_QUORUM, CRM_MON_FORMAT_LEGACY, 0, "no quorum", 0, NULL },
	{ "offline-xml-from-cib-no-quorum.xml", CRM_MON_NO_QUORUM, CRM_MON_FORMAT_RESULT, 0, "no quorum", 0, NULL },
	/* first seconds: no DC, no quorum information */
	{ "X-startup-no-dc.xml", CRM_MON_NO_INFO, CRM_MON_FORMAT_LEGACY, 0, "no DC", 0, NULL },
	{ "X-startup-no-dc-c1-joining.xml", CRM_MON_NO_INFO, CRM_MON_FORMAT_LEGACY, 0, "no DC", 0, NULL },
};

static void check_node(const struct crm_mon_view *v, const struct node_expect *e, const char *file)
{
	const struct crm_mon_node *n = node(v, e->name);
	if (n->type != e->type || n->online != e->online || n->unclean != e->unclean ||
	    n->shutdown != e->shutdown || n->reconnecting != e->reconnecting)
		fail_msg("%s: %s type %d online %d unclean %d shutdown %d reconnecting %d", file,
			 e->name, n->type, n->online, n->unclean, n->shutdown, n->reconnecting);
	if (e->role != NULL) {
		assert_true(n->has_remote_resource);
		assert_string_equal(n->remote_role, e->role);
	}
}

static void test_fixtures(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(fixtures) / sizeof(fixtures[0]); k++) {
		const struct fixture_expect *e = &fixtures[k];
		struct crm_mon_view *v = parse_fixture(e->file, 0, 0);
		if (v->status != e->status || v->format != e->format || v->n_nodes != e->n_nodes ||
		    v->n_fence != e->n_fence)
			fail_msg("%s: status %d format %d nodes %zu fence %zu (%s)", e->file, v->status,
				 v->format, v->n_nodes, v->n_fence, v->reason);
		assert_int_equal(v->exit_code, 0);
		assert_false(v->nodes_truncated);
		if (e->reason == NULL) {
			assert_string_equal(v->reason, "");
			assert_true(v->dc_present && v->quorum_known && v->with_quorum);
		} else if (strstr(v->reason, e->reason) == NULL) {
			fail_msg("%s: reason '%s' lacks '%s'", e->file, v->reason, e->reason);
		}
		if (e->status == CRM_MON_OK) {
			const struct crm_mon_node *c1 = node(v, "c1");
			assert_int_equal(c1->type, CRM_MON_NODE_MEMBER);
			assert_true(c1->online);
			assert_false(c1->has_remote_resource);
			assert_false(c1->reconnecting);
			assert_string_equal(v->version, e->format == CRM_MON_FORMAT_LEGACY ? "2.1.5" : "2.25");
			assert_int_equal(v->result_code, e->format == CRM_MON_FORMAT_RESULT ? 0 : -1);
			assert_true(v->stonith_known);
		} else {
			assert_null(crm_mon_find_node(v, "rn1"));
		}
		if (e->rn1 != NULL)
			check_node(v, e->rn1, e->file);
		free(v);
	}
}

/* The rn2 network loss: rn2 offline with a failed monitor, others fine. */
static void test_network_lost(void **state)
{
	(void)state;
	struct crm_mon_view *v = parse_fixture("xml-remote-network-lost-monitor-timeout.xml", 0, 0);
	const struct crm_mon_node *rn2 = node(v, "rn2");
	assert_false(rn2->online);
	assert_true(rn2->remote_failed);
	assert_true(rn2->reconnecting);
	assert_true(node(v, "rn3")->online);
	assert_false(node(v, "rn3")->reconnecting);
	free(v);
}

static void test_fence_history(void **state)
{
	(void)state;
	struct crm_mon_view *v = parse_fixture("xml-stonith-remote-fenced-offline.xml", 0, 0);
	assert_true(v->fence_history_known);
	assert_true(v->stonith_known && v->stonith_enabled);
	assert_string_equal(v->fence[0].target, "rn1");
	assert_string_equal(v->fence[0].action, "reboot");
	assert_int_equal(v->fence[0].status, CRM_MON_FENCE_SUCCESS);
	assert_string_equal(v->fence[0].delegate, "c2");
	assert_string_equal(v->fence[0].origin, "c2");
	assert_string_equal(v->fence[0].completed, "2026-11-26 19:39:55Z");
	assert_true(v->fence[0].has_completed_epoch);
	assert_true(v->fence[0].completed_epoch == INT64_C(1795721995));
	assert_string_equal(v->dc_name, "c2");
	free(v);

	v = parse_fixture("xml-stonith-remote-killed-unclean.xml", 0, 0);
	assert_int_equal(v->fence[0].status, CRM_MON_FENCE_PENDING);
	assert_false(v->fence[0].has_completed_epoch);
	free(v);

	/* <fence_history status="102"/>: the fencer could not be asked */
	v = parse_fixture("X-startup-no-dc.xml", 0, 0);
	assert_false(v->fence_history_known);
	assert_false(v->dc_present);
	assert_false(v->quorum_known);
	free(v);

	/* no quorum: fence records still come through */
	v = parse_fixture("X-no-quorum-remotes-stopped.xml", 0, 0);
	assert_true(v->fence_history_known);
	assert_int_equal(v->n_fence, 1);
	assert_true(v->quorum_known);
	assert_false(v->with_quorum);
	free(v);
}

/* crm_mon failing: exit 102 still prints <crm_mon version=.../>; a remote
 * without a cluster connection exits 0 with an empty document. Never an
 * error, never a view. */
static void test_crm_mon_failures(void **state)
{
	(void)state;
	static const struct {
		const char *base;
		const char *reason;
	} cases[] = {
		{ "fail-X-c2", "exited 102" },
		{ "fail-X-rn1", "exited 102" },
		{ "fail-X-rn2", "empty document" },
		{ "fail-xml-c2", "Could not connect to launcher" },
		{ "fail-xml-rn1", "status 102" },
		{ "fail-xml-rn2", "Could not connect to the CIB" },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char name[64];
		snprintf(name, sizeof(name), "%s.rc", cases[k].base);
		int rc = read_rc(name);
		snprintf(name, sizeof(name), "%s.stdout", cases[k].base);
		struct crm_mon_view *v = parse_fixture(name, rc, 0);
		assert_int_equal(v->status, CRM_MON_NO_INFO);
		assert_int_equal(v->exit_code, rc);
		assert_int_equal(v->n_nodes, 0);
		if (strstr(v->reason, cases[k].reason) == NULL)
			fail_msg("%s: reason '%s' lacks '%s'", name, v->reason, cases[k].reason);
		free(v);
	}
	/* the rc=0 -X case: root with no children */
	struct crm_mon_view *v = parse_fixture("fail-X-rn2.stdout", 0, 0);
	assert_int_equal(v->format, CRM_MON_FORMAT_LEGACY);
	free(v);

	/* A complete, healthy document with a non-zero exit code is still
	 * not trusted. */
	v = parse_fixture("X-all-online.xml", 1, 0);
	assert_int_equal(v->status, CRM_MON_NO_INFO);
	assert_non_null(strstr(v->reason, "exited 1"));
	assert_int_equal(v->n_nodes, 0);
	free(v);

	/* Exit 124 (timeout killed it) with nothing or half a document. */
	v = new_view();
	char err[256];
	assert_int_equal(crm_mon_parse("", 0, 124, v, err, sizeof(err)), 0);
	assert_int_equal(v->status, CRM_MON_NO_INFO);
	assert_non_null(strstr(v->reason, "124"));
	assert_int_equal(crm_mon_parse("<crm_mon><summ", 14, 124, v, err, sizeof(err)), 0);
	assert_int_equal(v->status, CRM_MON_NO_INFO);
	assert_non_null(strstr(v->reason, "unreadable"));
	free(v);
}

static void expect_error(const char *xml, size_t len, const char *why)
{
	struct crm_mon_view *v = new_view();
	char err[256] = "";
	int rc = crm_mon_parse(xml, len, 0, v, err, sizeof(err));
	if (rc != -1)
		fail_msg("accepted (%s): %.80s", crm_mon_status_name(v->status), xml);
	if (strstr(err, why) == NULL)
		fail_msg("error '%s' lacks '%s'", err, why);
	assert_int_equal(v->status, CRM_MON_NO_INFO);
	assert_string_equal(v->reason, err);
	assert_int_equal(v->n_nodes, 0);
	assert_int_equal(v->n_fence, 0);
	free(v);
}

#define ERR(xml, why) expect_error(xml, strlen(xml), why)
#define HEAD "<crm_mon version=\"2.1.5\"><summary><current_dc present=\"true\" name=\"c1\" with_quorum=\"true\"/></summary>"

static void test_garbage(void **state)
{
	(void)state;
	size_t len;
	char *text = read_file("text-all-online.txt", &len);
	expect_error(text, len, "not well-formed");
	free(text);
	/* cibadmin -Q output and crm_mon's text output are not crm_mon XML */
	static const char *const cibs[] = { "cib-all-online.xml", "cib-no-quorum.xml",
					    "cib-remote-offline.xml" };
	for (size_t k = 0; k < 3; k++) {
		char *cib = read_file(cibs[k], &len);
		expect_error(cib, len, "unexpected root element <cib>");
		free(cib);
	}
	static const char *const texts[] = { "text-no-quorum.txt", "text-remote-offline.txt" };
	for (size_t k = 0; k < 2; k++) {
		char *t = read_file(texts[k], &len);
		expect_error(t, len, "not well-formed");
		free(t);
	}
	expect_error("", 0, "printed nothing");
	expect_error("\0\0\0\0", 4, "not well-formed");
	ERR("<crm_mon", "not well-formed");
	ERR("<?xml version=\"1.0\"?>", "not well-formed");
	ERR("<html><body/></html>", "unexpected root element <html>");
	ERR("<crm_mon xmlns=\"http://example.com/x\"/>", "namespace");
	/* a DTD, entity expansion, external entities: refused at <!DOCTYPE */
	ERR("<!DOCTYPE crm_mon [<!ENTITY a \"aaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;\">]>"
	    "<crm_mon version=\"&b;\"/>",
	    "DOCTYPE");
	ERR("<?xml version=\"1.0\"?><!DOCTYPE crm_mon [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
	    "<crm_mon><summary>&x;</summary></crm_mon>",
	    "DOCTYPE");
	ERR("<!DOCTYPE crm_mon SYSTEM \"http://127.0.0.1:1/x.dtd\"><crm_mon/>", "DOCTYPE");
	/* bad values */
	ERR(HEAD "<nodes><node name=\"a\" online=\"yes\" unclean=\"false\"/></nodes></crm_mon>",
	    "online is not true/false (node a)");
	ERR(HEAD "<nodes><node name=\"a\" unclean=\"false\"/></nodes></crm_mon>",
	    "no online attribute");
	ERR(HEAD "<nodes><node online=\"true\" unclean=\"false\"/></nodes></crm_mon>",
	    "no name attribute");
	ERR(HEAD "<nodes><node name=\"\" online=\"true\" unclean=\"false\"/></nodes></crm_mon>",
	    "empty name");
	ERR(HEAD "<nodes><node name=\"a&#9;b\" online=\"true\" unclean=\"false\"/></nodes></crm_mon>",
	    "control characters");
	ERR(HEAD "<nodes><node name=\"a\" online=\"true\" unclean=\"false\" type=\"alien\"/></nodes></crm_mon>",
	    "type is not");
	ERR(HEAD "<nodes><node name=\"a\" online=\"true\" unclean=\"false\"/>"
		 "<node name=\"a\" online=\"false\" unclean=\"false\"/></nodes></crm_mon>",
	    "listed twice");
	ERR("<crm_mon><summary><current_dc present=\"maybe\"/></summary></crm_mon>",
	    "present is not true/false");
	ERR("<crm_mon><summary><current_dc present=\"true\" with_quorum=\"1\"/></summary></crm_mon>",
	    "with_quorum is not true/false");
	ERR("<pacemaker-result api-version=\"2.25\"><summary/></pacemaker-result>", "without <status>");
	ERR("<pacemaker-result><status code=\"zero\"/></pacemaker-result>", "not a number");
	ERR("<pacemaker-result><status/></pacemaker-result>", "no code attribute");
	/* a name longer than the field */
	char big[600];
	char name[300];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(big, sizeof(big),
		 HEAD "<nodes><node name=\"%s\" online=\"true\" unclean=\"false\"/></nodes></crm_mon>",
		 name);
	ERR(big, "longer than 255 bytes");
	/* too large: refused before parsing */
	char *huge = malloc(CRM_MON_MAX_DOC + 1);
	assert_non_null(huge);
	memset(huge, ' ', CRM_MON_MAX_DOC + 1);
	expect_error(huge, CRM_MON_MAX_DOC + 1, "too large");
	free(huge);
	/* a NULL err buffer is fine */
	struct crm_mon_view *v = new_view();
	assert_int_equal(crm_mon_parse("<x/>", 4, 0, v, NULL, 0), -1);
	assert_non_null(strstr(v->reason, "unexpected root"));
	free(v);
}

/* Optional fields absent, unknown elements ignored, deep nesting bounded
 * by libxml2, a remote resource inside a group. */
static void test_lenient_where_harmless(void **state)
{
	(void)state;
	const char *xml = HEAD "<unknown_section><x/></unknown_section>"
			       "<nodes><node name=\"a\" online=\"true\" unclean=\"false\"/>"
			       "<node name=\"r\" online=\"true\" unclean=\"false\" type=\"remote\"/></nodes>"
			       "<resources><group id=\"g\"><resource id=\"r\" resource_agent=\"ocf:pacemaker:remote\" "
			       "role=\"Starting\" failed=\"false\"/></group>"
			       "<resource id=\"a\" resource_agent=\"ocf:heartbeat:Dummy\" role=\"Starting\"/></resources>"
			       "</crm_mon>";
	struct crm_mon_view *v = new_view();
	char err[256] = "";
	assert_int_equal(crm_mon_parse(xml, strlen(xml), 0, v, err, sizeof(err)), 0);
	assert_int_equal(v->status, CRM_MON_OK);
	assert_int_equal(v->n_nodes, 2);
	assert_int_equal(node(v, "a")->type, CRM_MON_NODE_UNKNOWN);
	assert_false(node(v, "a")->reconnecting); /* not a remote connection */
	assert_false(node(v, "a")->standby);
	assert_true(node(v, "r")->reconnecting);
	assert_false(v->stonith_known);
	assert_false(v->fence_history_known);

	/* DC present without with_quorum: quorum unknown, no information */
	const char *noq = "<crm_mon><summary><current_dc present=\"true\" name=\"c1\"/></summary></crm_mon>";
	assert_int_equal(crm_mon_parse(noq, strlen(noq), 0, v, err, sizeof(err)), 0);
	assert_int_equal(v->status, CRM_MON_NO_INFO);
	assert_false(v->quorum_known);
	/* summary without current_dc */
	const char *nodc = "<crm_mon><summary/></crm_mon>";
	assert_int_equal(crm_mon_parse(nodc, strlen(nodc), 0, v, err, sizeof(err)), 0);
	assert_int_equal(v->status, CRM_MON_NO_INFO);

	/* 2000 levels of nesting: libxml2's depth limit says no, cleanly */
	size_t n = 2000, cap = n * 7 + 64;
	char *deep = malloc(cap);
	assert_non_null(deep);
	size_t used = 0;
	used += (size_t)snprintf(deep + used, cap - used, "<crm_mon>");
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(deep + used, cap - used, "<a>");
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(deep + used, cap - used, "</a>");
	used += (size_t)snprintf(deep + used, cap - used, "</crm_mon>");
	assert_int_equal(crm_mon_parse(deep, used, 0, v, err, sizeof(err)), -1);
	free(deep);
	free(v);
}

/* More nodes than the view holds: the first CRM_MON_MAX_NODES, flagged. */
static void test_node_limit(void **state)
{
	(void)state;
	size_t n = CRM_MON_MAX_NODES + 10, cap = n * 80 + 256;
	char *xml = malloc(cap);
	assert_non_null(xml);
	size_t used = (size_t)snprintf(xml, cap, HEAD "<nodes>");
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(xml + used, cap - used,
					 "<node name=\"n%zu\" online=\"true\" unclean=\"false\"/>", i);
	used += (size_t)snprintf(xml + used, cap - used, "</nodes></crm_mon>");
	struct crm_mon_view *v = new_view();
	char err[256] = "";
	assert_int_equal(crm_mon_parse(xml, used, 0, v, err, sizeof(err)), 0);
	assert_int_equal(v->n_nodes, CRM_MON_MAX_NODES);
	assert_true(v->nodes_truncated);
	assert_string_equal(v->nodes[CRM_MON_MAX_NODES - 1].name, "n1023");
	free(xml);
	free(v);
}

/* Every prefix and a byte-flipped copy of real documents: either a view
 * or an error with a reason, never a crash (run under ASan). */
static void test_truncations_never_crash(void **state)
{
	(void)state;
	static const char *const files[] = { "xml-stonith-remote-fenced-offline.xml",
					     "X-no-quorum-remotes-stopped.xml" };
	struct crm_mon_view *v = new_view();
	for (size_t f = 0; f < 2; f++) {
		size_t len;
		char *xml = read_file(files[f], &len);
		for (size_t cut = 0; cut <= len; cut++) {
			/* exact length, no terminator within reach of the parser */
			char *copy = malloc(cut > 0 ? cut : 1);
			assert_non_null(copy);
			memcpy(copy, xml, cut);
			char err[256] = "";
			int rc = crm_mon_parse(copy, cut, 0, v, err, sizeof(err));
			if (rc == 0)
				assert_true(v->status == CRM_MON_OK || v->reason[0] != '\0');
			else
				assert_true(err[0] != '\0' && v->status == CRM_MON_NO_INFO);
			free(copy);
		}
		for (size_t i = 0; i < len; i += 7) {
			char saved = xml[i];
			xml[i] = (char)(xml[i] ^ 0x20);
			char err[256] = "";
			(void)crm_mon_parse(xml, len, 0, v, err, sizeof(err));
			xml[i] = saved;
		}
		free(xml);
	}
	free(v);
}

/* The conversion to the mesh's view: what the agreement reads, nothing
 * lost that it could match, nothing kept that no member could have. */
static void test_pacemaker_view(void **state)
{
	(void)state;
	struct pacemaker_view *pv = malloc(sizeof(*pv));
	assert_non_null(pv);

	/* rn1 fenced (success in the history), offline */
	struct crm_mon_view *v = parse_fixture("xml-stonith-remote-fenced-offline.xml", 0, 0);
	crm_mon_pacemaker_view(v, pv);
	assert_int_equal(pv->status, PACEMAKER_OK);
	assert_string_equal(pv->reason, "");
	assert_string_equal(pv->dc, "c2");
	assert_int_equal(pv->n_nodes, v->n_nodes);
	for (size_t k = 0; k < v->n_nodes; k++) {
		assert_string_equal(pv->nodes[k].name, v->nodes[k].name);
		assert_int_equal(pv->nodes[k].online, v->nodes[k].online);
		assert_int_equal(pv->nodes[k].unclean, v->nodes[k].unclean);
		assert_int_equal(pv->nodes[k].reconnecting, v->nodes[k].reconnecting);
		assert_int_equal(pv->nodes[k].shutdown, v->nodes[k].shutdown);
	}
	assert_int_equal(pv->n_fenced, 1);
	assert_string_equal(pv->fenced[0], "rn1");
	free(v);

	/* a pending fence is no fence; a node with a name no member can have
	 * keeps its place but no name */
	v = parse_fixture("xml-stonith-remote-killed-unclean.xml", 0, 0);
	assert_int_equal(v->fence[0].status, CRM_MON_FENCE_PENDING);
	assert_true(v->n_nodes >= 2);
	memset(v->nodes[1].name, 'x', PCMK_VIEW_NAME_LEN);
	v->nodes[1].name[PCMK_VIEW_NAME_LEN] = '\0';
	v->fence[0].status = CRM_MON_FENCE_SUCCESS;
	memcpy(v->fence[0].target, v->nodes[1].name, PCMK_VIEW_NAME_LEN + 1);
	crm_mon_pacemaker_view(v, pv);
	assert_int_equal(pv->n_nodes, v->n_nodes);
	assert_string_equal(pv->nodes[0].name, v->nodes[0].name);
	assert_string_equal(pv->nodes[1].name, "");
	assert_int_equal(pv->n_fenced, 0);
	free(v);

	/* no quorum: the grade and its reason, no nodes */
	v = parse_fixture("X-no-quorum-remotes-stopped.xml", 0, 0);
	crm_mon_pacemaker_view(v, pv);
	assert_int_equal(pv->status, PACEMAKER_NO_QUORUM);
	assert_string_equal(pv->reason, v->reason);
	assert_true(pv->reason[0] != '\0');
	assert_int_equal(pv->n_nodes, 0);
	assert_string_equal(pacemaker_status_name(pv->status), crm_mon_status_name(v->status));
	free(v);
	free(pv);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(crm_mon_status_name(CRM_MON_NO_QUORUM), "no quorum");
	assert_string_equal(crm_mon_node_type_name(CRM_MON_NODE_REMOTE), "remote");
}

int main(void)
{
	crm_mon_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_network_lost),
		cmocka_unit_test(test_fence_history),
		cmocka_unit_test(test_crm_mon_failures),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_lenient_where_harmless),
		cmocka_unit_test(test_node_limit),
		cmocka_unit_test(test_truncations_never_crash),
		cmocka_unit_test(test_pacemaker_view),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
