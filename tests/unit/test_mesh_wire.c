/* The mesh's wire format (mesh/wire.c): every message kind round
 * trips through protobuf bytes field for field; what a peer could send
 * wrong (names that do not fit or hold control characters, unknown types,
 * states, kinds and stages, a sender that is not the envelope's, too many
 * updates, garbage bytes, oversize input) is rejected whole; unknown
 * fields from a newer peer are ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mesh/wire.h"

static uint8_t buf[MESH_WIRE_MAX_MSG];

static void set_update(struct mesh_update *u, const char *name, uint32_t state, const char *by,
		       uint64_t inc)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->name, sizeof(u->name), "%s", name);
	snprintf(u->addr, sizeof(u->addr), "tls+tcp://%s:7947", name);
	snprintf(u->by, sizeof(u->by), "%s", by);
	u->state = state;
	u->incarnation = inc;
}

static struct mesh_wire_msg *swim_msg(uint32_t type, uint32_t n_updates)
{
	struct mesh_wire_msg *m = calloc(1, sizeof(*m));

	m->kind = MESH_WIRE_SWIM;
	snprintf(m->from, sizeof(m->from), "compute-1");
	m->swim.type = type;
	set_update(&m->swim.sender, "compute-1", MESH_ALIVE, "", 7);
	m->swim.seq = 42;
	if (type == MESH_MSG_PING || type == MESH_MSG_PING_REQ)
		snprintf(m->swim.target, sizeof(m->swim.target), "compute-2");
	if (type == MESH_MSG_PING_REQ) {
		snprintf(m->swim.target_addr, sizeof(m->swim.target_addr), "tls+tcp://c2:7947");
		m->swim.timeout_ns = 100000000;
		m->swim.flags = MESH_FLAG_WANT_NACK;
	}
	for (uint32_t i = 0; i < n_updates; i++) {
		char name[MESH_NAME_MAX];

		snprintf(name, sizeof(name), "compute-%u", 100 + i);
		set_update(&m->swim.updates[i], name, 1 + i % 4, i % 4 == 1 || i % 4 == 2 ? "compute-9" : "",
			   i);
	}
	m->swim.n_updates = n_updates;
	return m;
}

/* Packs m, unpacks it into out; asserts success. */
static void round_trip(const struct mesh_wire_msg *m, struct mesh_wire_msg *out)
{
	const char *why = NULL;
	int len = mesh_wire_pack(m, buf, sizeof(buf));

	assert_true(len > 0);
	memset(out, 0xa5, sizeof(*out));
	if (mesh_wire_unpack(buf, (size_t)len, out, &why) != 0)
		fail_msg("unpack: %s", why);
	assert_int_equal(out->kind, m->kind);
	assert_string_equal(out->from, m->from);
}

static void assert_update_equal(const struct mesh_update *a, const struct mesh_update *b)
{
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->addr, b->addr);
	assert_string_equal(a->by, b->by);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->incarnation, b->incarnation);
}

static void test_swim_round_trip(void **state)
{
	(void)state;
	for (uint32_t type = MESH_MSG_PING; type <= MESH_MSG_TYPE_MAX; type++) {
		struct mesh_wire_msg *m = swim_msg(type, type == MESH_MSG_SYNC ? MESH_MAX_UPDATES : 3);
		struct mesh_wire_msg *out = malloc(sizeof(*out));

		if (type == MESH_MSG_SYNC)
			m->swim.flags = MESH_FLAG_SYNC_LAST;
		round_trip(m, out);
		assert_int_equal(out->swim.type, type);
		assert_int_equal(out->swim.flags, m->swim.flags);
		assert_int_equal(out->swim.seq, 42);
		assert_string_equal(out->swim.target, m->swim.target);
		assert_string_equal(out->swim.target_addr, m->swim.target_addr);
		assert_int_equal(out->swim.timeout_ns, m->swim.timeout_ns);
		assert_update_equal(&out->swim.sender, &m->swim.sender);
		assert_int_equal(out->swim.n_updates, m->swim.n_updates);
		for (uint32_t i = 0; i < m->swim.n_updates; i++)
			assert_update_equal(&out->swim.updates[i], &m->swim.updates[i]);
		free(m);
		free(out);
	}
}

static void test_full_sync_fits(void **state)
{
	struct mesh_wire_msg *m = swim_msg(MESH_MSG_SYNC, MESH_MAX_UPDATES);
	char longname[MESH_NAME_MAX], longaddr[MESH_ADDR_MAX];
	int len;

	(void)state;
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	snprintf(m->swim.sender.addr, sizeof(m->swim.sender.addr), "%s", longaddr);
	for (uint32_t i = 0; i < MESH_MAX_UPDATES; i++) {
		struct mesh_update *u = &m->swim.updates[i];

		memcpy(u->name, longname, sizeof(longname));
		u->name[0] = (char)('A' + i % 26);
		u->name[1] = (char)('A' + i / 26);
		memcpy(u->addr, longaddr, sizeof(longaddr));
		memcpy(u->by, longname, sizeof(longname));
		u->state = MESH_DEAD;
		u->incarnation = MESH_INCARNATION_MAX;
	}
	len = mesh_wire_pack(m, buf, sizeof(buf));
	assert_true(len > 0);
	/* The worst case stays well inside the bound (headroom for newer
	 * peers' fields). */
	assert_true(len < MESH_WIRE_MAX_MSG / 2);
	free(m);
}

static void test_agreement_round_trips(void **state)
{
	struct mesh_wire_msg m, out;

	(void)state;
	memset(&m, 0, sizeof(m));
	snprintf(m.from, sizeof(m.from), "compute-3");

	m.kind = MESH_WIRE_PROBE;
	m.nonce = 0x123456789abcdefull;
	round_trip(&m, &out);
	assert_int_equal(out.nonce, m.nonce);
	m.kind = MESH_WIRE_PROBE_ACK;
	round_trip(&m, &out);
	assert_int_equal(out.nonce, m.nonce);

	m.kind = MESH_WIRE_OBSERVATION;
	snprintf(m.observation.observer, AGR_NAME_MAX, "compute-3");
	snprintf(m.observation.subject, AGR_NAME_MAX, "compute-7");
	m.observation.incarnation = 12;
	round_trip(&m, &out);
	assert_string_equal(out.observation.observer, "compute-3");
	assert_string_equal(out.observation.subject, "compute-7");
	assert_int_equal(out.observation.incarnation, 12);

	for (uint32_t stage = AGR_STAGE_CLAIMED; stage <= MESH_WIRE_MAX_STAGE; stage++) {
		memset(&m.completion, 0, sizeof(m.completion));
		m.kind = MESH_WIRE_COMPLETION;
		snprintf(m.completion.from, AGR_NAME_MAX, "compute-3");
		snprintf(m.completion.notifier, AGR_NAME_MAX, "compute-4");
		snprintf(m.completion.subject, AGR_NAME_MAX, "compute-7");
		m.completion.incarnation = 3;
		m.completion.kind = stage % 2 ? AGR_INCIDENT_HOST : AGR_INCIDENT_PROCESS;
		m.completion.stage = stage;
		m.completion.host_status = stage == AGR_STAGE_NOTIFIED ? AGR_HOST_UNKNOWN : 0;
		m.completion.http_status = stage == AGR_STAGE_NOTIFIED ? 409 : 0;
		m.completion.report_seq = m.completion.kind == AGR_INCIDENT_PROCESS ? 77 : 0;
		round_trip(&m, &out);
		assert_int_equal(out.completion.report_seq, m.completion.report_seq);
		assert_string_equal(out.completion.from, "compute-3");
		assert_string_equal(out.completion.notifier, "compute-4");
		assert_string_equal(out.completion.subject, "compute-7");
		assert_int_equal(out.completion.incarnation, 3);
		assert_int_equal(out.completion.kind, m.completion.kind);
		assert_int_equal(out.completion.stage, stage);
		assert_int_equal(out.completion.host_status, m.completion.host_status);
		assert_int_equal(out.completion.http_status, m.completion.http_status);
	}
	/* A negative status (the outbox gave up without an HTTP answer). */
	m.completion.http_status = -1;
	round_trip(&m, &out);
	assert_int_equal(out.completion.http_status, -1);

	memset(&m.report, 0, sizeof(m.report));
	m.kind = MESH_WIRE_PROCESS_REPORT;
	snprintf(m.report.reporter, AGR_NAME_MAX, "compute-3");
	snprintf(m.report.process, AGR_PROCESS_MAX, "pacemaker_remoted");
	m.report.incarnation = 5;
	round_trip(&m, &out);
	assert_string_equal(out.report.reporter, "compute-3");
	assert_string_equal(out.report.process, "pacemaker_remoted");
	assert_int_equal(out.report.incarnation, 5);
	assert_int_equal(out.report.seq, 0); /* an older peer's: none */
	m.report.seq = UINT64_C(1795694400500000000);
	round_trip(&m, &out);
	assert_true(out.report.seq == m.report.seq);
}

/* Packs m and expects unpacking to fail with a reason containing want. */
static void expect_rejected(const struct mesh_wire_msg *m, const char *want)
{
	struct mesh_wire_msg *out = malloc(sizeof(*out));
	const char *why = NULL;
	int len = mesh_wire_pack(m, buf, sizeof(buf));

	assert_true(len > 0);
	assert_int_equal(mesh_wire_unpack(buf, (size_t)len, out, &why), -EINVAL);
	assert_non_null(why);
	if (!strstr(why, want))
		fail_msg("reason '%s' does not mention '%s'", why, want);
	free(out);
}

/* Builds the envelope by hand (the encoder would not produce these). */
static void expect_pb_rejected(const Mimamori__MeshEnvelope *env, const char *want)
{
	struct mesh_wire_msg *out = malloc(sizeof(*out));
	const char *why = NULL;
	size_t len = protobuf_c_message_get_packed_size(&env->base);

	assert_true(len <= sizeof(buf));
	protobuf_c_message_pack(&env->base, buf);
	assert_int_equal(mesh_wire_unpack(buf, len, out, &why), -EINVAL);
	if (!why || !strstr(why, want))
		fail_msg("reason '%s' does not mention '%s'", why ? why : "(none)", want);
	assert_int_equal(mesh_wire_from_pb(env, out, &why), -EINVAL);
	free(out);
}

static void test_swim_rejects(void **state)
{
	struct mesh_wire_msg *m = swim_msg(MESH_MSG_PING, 2);

	(void)state;
	/* Sender is not the envelope's. */
	snprintf(m->from, sizeof(m->from), "compute-9");
	expect_rejected(m, "sender");
	snprintf(m->from, sizeof(m->from), "compute-1");
	/* Control character in a name. */
	m->swim.updates[1].name[3] = '\n';
	expect_rejected(m, "control");
	m->swim.updates[1].name[3] = 'p';
	/* Unknown type, flags, state; dead without by; sender suspect. */
	m->swim.type = 99;
	expect_rejected(m, "type");
	m->swim.type = MESH_MSG_PING;
	m->swim.flags = 0x80;
	expect_rejected(m, "flags");
	m->swim.flags = 0;
	m->swim.updates[0].state = 9;
	expect_rejected(m, "state");
	m->swim.updates[0].state = MESH_DEAD;
	m->swim.updates[0].by[0] = '\0';
	expect_rejected(m, "by");
	m->swim.updates[0].state = MESH_ALIVE;
	m->swim.sender.state = MESH_SUSPECT;
	expect_rejected(m, "sender");
	m->swim.sender.state = MESH_ALIVE;
	/* Incarnation beyond the bound. */
	m->swim.updates[0].incarnation = MESH_INCARNATION_MAX + 1;
	expect_rejected(m, "incarnation");
	m->swim.updates[0].incarnation = 1;
	/* A ping without target; a ping-req without timeout. */
	m->swim.target[0] = '\0';
	expect_rejected(m, "target");
	free(m);
	m = swim_msg(MESH_MSG_PING_REQ, 0);
	m->swim.timeout_ns = 0;
	expect_rejected(m, "timeout");
	free(m);
}

static void test_pb_rejects(void **state)
{
	Mimamori__MeshEnvelope env = MIMAMORI__MESH_ENVELOPE__INIT;
	Mimamori__SwimMessage swim = MIMAMORI__SWIM_MESSAGE__INIT;
	Mimamori__MeshUpdate sender = MIMAMORI__MESH_UPDATE__INIT;
	Mimamori__MeshUpdate *ups[MESH_MAX_UPDATES + 1];
	Mimamori__MeshUpdate up = MIMAMORI__MESH_UPDATE__INIT;
	Mimamori__AgreementCompletion c = MIMAMORI__AGREEMENT_COMPLETION__INIT;
	Mimamori__AgreementProbe p = MIMAMORI__AGREEMENT_PROBE__INIT;
	Mimamori__AgreementObservation o = MIMAMORI__AGREEMENT_OBSERVATION__INIT;
	Mimamori__AgreementProcessReport r = MIMAMORI__AGREEMENT_PROCESS_REPORT__INIT;
	char longname[MESH_NAME_MAX + 1];

	(void)state;
	memset(longname, 'x', MESH_NAME_MAX);
	longname[MESH_NAME_MAX] = '\0';

	/* No sender name; a name one byte too long; no body. */
	expect_pb_rejected(&env, "sender name");
	env.from = longname;
	expect_pb_rejected(&env, "sender name");
	env.from = "compute-1";
	expect_pb_rejected(&env, "body");

	/* SWIM: no sender record; no type; too many updates. */
	env.body_case = MIMAMORI__MESH_ENVELOPE__BODY_SWIM;
	env.swim = &swim;
	swim.has_type = true;
	swim.type = MESH_MSG_GOSSIP;
	expect_pb_rejected(&env, "sender missing");
	sender.name = "compute-1";
	sender.addr = "tcp://a:1";
	sender.has_state = true;
	sender.state = MESH_ALIVE;
	swim.sender = &sender;
	swim.has_type = false;
	expect_pb_rejected(&env, "type");
	swim.has_type = true;
	up = sender;
	for (size_t i = 0; i <= MESH_MAX_UPDATES; i++)
		ups[i] = &up;
	swim.updates = ups;
	swim.n_updates = MESH_MAX_UPDATES + 1;
	expect_pb_rejected(&env, "too many");
	swim.n_updates = 1;
	up.addr = NULL; /* an update needs its address */
	expect_pb_rejected(&env, "addr");

	/* Probes need a nonce. */
	env.body_case = MIMAMORI__MESH_ENVELOPE__BODY_PROBE;
	env.probe = &p;
	expect_pb_rejected(&env, "nonce");

	/* Observation from someone else. */
	env.body_case = MIMAMORI__MESH_ENVELOPE__BODY_OBSERVATION;
	env.observation = &o;
	o.observer = "compute-2";
	o.subject = "compute-7";
	expect_pb_rejected(&env, "observer");

	/* Completions: another sender, unknown kind, stage, host status. */
	env.body_case = MIMAMORI__MESH_ENVELOPE__BODY_COMPLETION;
	env.completion = &c;
	c.from = "compute-2";
	c.notifier = "compute-2";
	c.subject = "compute-7";
	c.has_kind = c.has_stage = true;
	c.kind = AGR_INCIDENT_HOST;
	c.stage = AGR_STAGE_CLAIMED;
	expect_pb_rejected(&env, "from");
	c.from = "compute-1";
	c.kind = 3;
	expect_pb_rejected(&env, "kind");
	c.kind = AGR_INCIDENT_PROCESS;
	c.stage = 0;
	expect_pb_rejected(&env, "stage");
	c.stage = MESH_WIRE_MAX_STAGE + 1;
	expect_pb_rejected(&env, "stage");
	c.stage = AGR_STAGE_NOTIFIED;
	c.has_host_status = true;
	c.host_status = 3;
	expect_pb_rejected(&env, "host_status");

	/* Process report: empty process name, someone else's report. */
	env.body_case = MIMAMORI__MESH_ENVELOPE__BODY_PROCESS_REPORT;
	env.process_report = &r;
	r.reporter = "compute-1";
	expect_pb_rejected(&env, "process");
	r.process = "pacemaker_remoted";
	r.reporter = "compute-2";
	expect_pb_rejected(&env, "reporter");
}

static void test_garbage_and_bounds(void **state)
{
	struct mesh_wire_msg *out = malloc(sizeof(*out));
	static uint8_t big[MESH_WIRE_MAX_MSG + 1];
	const uint8_t junk[] = { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01 };
	const char *why = NULL;

	(void)state;
	assert_int_equal(mesh_wire_unpack(junk, sizeof(junk), out, &why), -EINVAL);
	assert_non_null(why);
	assert_int_equal(mesh_wire_unpack(big, sizeof(big), out, &why), -EINVAL);
	assert_string_equal(why, "message too large");
	/* Empty input: an envelope without sender. */
	assert_int_equal(mesh_wire_unpack(big, 0, out, &why), -EINVAL);
	assert_int_equal(mesh_wire_pack(&(struct mesh_wire_msg){ .kind = MESH_WIRE_PROBE,
								 .from = "x", .nonce = 1 },
					 buf, 2),
			 -ENOSPC);
	free(out);
}

/* A newer peer's unknown field (number 15 in the envelope, 20 in a
 * completion) is skipped. */
static void test_unknown_fields_ignored(void **state)
{
	struct mesh_wire_msg m, out;
	const char *why = NULL;
	int len;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.kind = MESH_WIRE_PROBE_ACK;
	snprintf(m.from, sizeof(m.from), "compute-3");
	m.nonce = 9;
	len = mesh_wire_pack(&m, buf, sizeof(buf));
	assert_true(len > 0);
	/* field 15, varint: tag (15 << 3) | 0 = 0x78, value 1 */
	buf[len++] = 0x78;
	buf[len++] = 0x01;
	assert_int_equal(mesh_wire_unpack(buf, (size_t)len, &out, &why), 0);
	assert_int_equal(out.kind, MESH_WIRE_PROBE_ACK);
	assert_int_equal(out.nonce, 9);
}

/* The members digest (mnode_members_digest) travels in every envelope,
 * any 64-bit value; an older peer's message, without the field, and an
 * explicit 0 both read as 0: unknown. */
static void test_members_digest(void **state)
{
	const uint64_t values[] = { 1, UINT64_C(0x8000000000000000), UINT64_MAX,
				    UINT64_C(0x0123456789abcdef) };
	struct mesh_wire_msg m, out;
	struct mesh_wire_pb pb;
	const Mimamori__MeshEnvelope *env;
	const char *why = NULL;
	size_t len;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.kind = MESH_WIRE_PROBE;
	snprintf(m.from, sizeof(m.from), "compute-3");
	m.nonce = 5;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		m.members_digest = values[i];
		round_trip(&m, &out);
		assert_int_equal(out.members_digest, values[i]);
		assert_int_equal(out.nonce, 5);
	}
	/* An older peer: no field at all. */
	m.members_digest = 0;
	env = mesh_wire_to_pb(&m, &pb);
	assert_false(env->has_members_digest);
	m.members_digest = 77;
	env = mesh_wire_to_pb(&m, &pb);
	assert_true(env->has_members_digest);
	pb.env.has_members_digest = false;
	len = protobuf_c_message_pack(&env->base, buf);
	memset(&out, 0xa5, sizeof(out));
	assert_int_equal(mesh_wire_unpack(buf, len, &out, &why), 0);
	assert_int_equal(out.members_digest, 0);
	/* A field present with 0 is unknown too. */
	pb.env.has_members_digest = true;
	pb.env.members_digest = 0;
	len = protobuf_c_message_pack(&env->base, buf);
	memset(&out, 0xa5, sizeof(out));
	assert_int_equal(mesh_wire_unpack(buf, len, &out, &why), 0);
	assert_int_equal(out.members_digest, 0);
	assert_int_equal(out.kind, MESH_WIRE_PROBE);
}

static void test_kind_names(void **state)
{
	(void)state;
	assert_string_equal(mesh_wire_kind_name(MESH_WIRE_SWIM), "swim");
	assert_string_equal(mesh_wire_kind_name(MESH_WIRE_PROCESS_REPORT), "process_report");
	assert_string_equal(mesh_wire_kind_name(0), "unknown");
	assert_string_equal(mesh_wire_kind_name(99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swim_round_trip),
		cmocka_unit_test(test_full_sync_fits),
		cmocka_unit_test(test_agreement_round_trips),
		cmocka_unit_test(test_swim_rejects),
		cmocka_unit_test(test_pb_rejects),
		cmocka_unit_test(test_garbage_and_bounds),
		cmocka_unit_test(test_unknown_fields_ignored),
		cmocka_unit_test(test_members_digest),
		cmocka_unit_test(test_kind_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
