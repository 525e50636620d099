/* See mesh_wire.h. */
#include "mesh/wire.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "base/text.h"

/* A string field of a core struct: terminated within its array. */
#define TERMINATED(arr) (memchr((arr), '\0', sizeof(arr)) != NULL)

/* ---- encoding ---------------------------------------------------------- */

/* protobuf-c packs a NULL string as absent; an empty one as "". The cores'
 * empty strings mean "none", so they travel as absent. */
static char *str(const char *s)
{
	return s[0] ? (char *)s : NULL;
}

static void update_to_pb(const struct mesh_update *u, Mimamori__MeshUpdate *pb)
{
	assert(TERMINATED(u->name) && TERMINATED(u->addr) && TERMINATED(u->by));
	*pb = (Mimamori__MeshUpdate)MIMAMORI__MESH_UPDATE__INIT;
	pb->name = str(u->name);
	pb->addr = str(u->addr);
	pb->by = str(u->by);
	pb->has_incarnation = true;
	pb->incarnation = u->incarnation;
	pb->has_state = true;
	pb->state = u->state;
}

const Mimamori__MeshEnvelope *mesh_wire_to_pb(const struct mesh_wire_msg *m,
					       struct mesh_wire_pb *pb)
{
	Mimamori__MeshEnvelope *env = &pb->env;

	/* The contract (m is this node's): a known kind and strings that end
	 * within their arrays, since protobuf-c reads each to its NUL. What
	 * the values mean is the decoder's to judge (the unit test encodes
	 * out-of-range values on purpose to see them rejected). */
	assert(m && pb);
	assert(m->kind >= MESH_WIRE_SWIM && m->kind <= MESH_WIRE_KIND_MAX);
	assert(TERMINATED(m->from));
	*env = (Mimamori__MeshEnvelope)MIMAMORI__MESH_ENVELOPE__INIT;
	env->from = str(m->from);
	/* 0: no digest (what an older peer sends: no field at all). */
	env->has_members_digest = m->members_digest != 0;
	env->members_digest = m->members_digest;
	env->has_members_differ = m->members_differ;
	env->members_differ = m->members_differ;
	switch (m->kind) {
	case MESH_WIRE_SWIM: {
		const struct mesh_msg *s = &m->swim;
		uint32_t n = s->n_updates;

		assert(n <= MESH_MAX_UPDATES);
		assert(TERMINATED(s->target) && TERMINATED(s->target_addr));
		pb->swim = (Mimamori__SwimMessage)MIMAMORI__SWIM_MESSAGE__INIT;
		pb->swim.has_type = true;
		pb->swim.type = s->type;
		pb->swim.has_flags = s->flags != 0;
		pb->swim.flags = s->flags;
		update_to_pb(&s->sender, &pb->sender);
		pb->swim.sender = &pb->sender;
		pb->swim.has_seq = s->seq != 0;
		pb->swim.seq = s->seq;
		pb->swim.target = str(s->target);
		pb->swim.target_addr = str(s->target_addr);
		pb->swim.has_timeout_ns = s->timeout_ns != 0;
		pb->swim.timeout_ns = s->timeout_ns;
		for (uint32_t i = 0; i < n; i++) {
			update_to_pb(&s->updates[i], &pb->updates[i]);
			pb->update_ptrs[i] = &pb->updates[i];
		}
		pb->swim.n_updates = n;
		pb->swim.updates = n ? pb->update_ptrs : NULL;
		env->body_case = MIMAMORI__MESH_ENVELOPE__BODY_SWIM;
		env->swim = &pb->swim;
		break;
	}
	case MESH_WIRE_PROBE:
	case MESH_WIRE_PROBE_ACK:
		pb->probe = (Mimamori__AgreementProbe)MIMAMORI__AGREEMENT_PROBE__INIT;
		pb->probe.has_nonce = true;
		pb->probe.nonce = m->nonce;
		if (m->kind == MESH_WIRE_PROBE) {
			env->body_case = MIMAMORI__MESH_ENVELOPE__BODY_PROBE;
			env->probe = &pb->probe;
		} else {
			env->body_case = MIMAMORI__MESH_ENVELOPE__BODY_PROBE_ACK;
			env->probe_ack = &pb->probe;
		}
		break;
	case MESH_WIRE_OBSERVATION:
		assert(TERMINATED(m->observation.observer) && TERMINATED(m->observation.subject));
		pb->observation =
			(Mimamori__AgreementObservation)MIMAMORI__AGREEMENT_OBSERVATION__INIT;
		pb->observation.observer = str(m->observation.observer);
		pb->observation.subject = str(m->observation.subject);
		pb->observation.has_incarnation = true;
		pb->observation.incarnation = m->observation.incarnation;
		env->body_case = MIMAMORI__MESH_ENVELOPE__BODY_OBSERVATION;
		env->observation = &pb->observation;
		break;
	case MESH_WIRE_COMPLETION: {
		const struct agr_completion *c = &m->completion;

		assert(TERMINATED(c->from) && TERMINATED(c->notifier) && TERMINATED(c->subject));
		pb->completion = (Mimamori__AgreementCompletion)MIMAMORI__AGREEMENT_COMPLETION__INIT;
		pb->completion.from = str(c->from);
		pb->completion.notifier = str(c->notifier);
		pb->completion.subject = str(c->subject);
		pb->completion.has_incarnation = true;
		pb->completion.incarnation = c->incarnation;
		pb->completion.has_kind = true;
		pb->completion.kind = c->kind;
		pb->completion.has_stage = true;
		pb->completion.stage = c->stage;
		pb->completion.has_host_status = c->host_status != 0;
		pb->completion.host_status = c->host_status;
		pb->completion.has_http_status = c->http_status != 0;
		pb->completion.http_status = c->http_status;
		pb->completion.has_report_seq = c->report_seq != 0;
		pb->completion.report_seq = c->report_seq;
		env->body_case = MIMAMORI__MESH_ENVELOPE__BODY_COMPLETION;
		env->completion = &pb->completion;
		break;
	}
	case MESH_WIRE_PROCESS_REPORT:
		assert(TERMINATED(m->report.reporter) && TERMINATED(m->report.process));
		pb->report =
			(Mimamori__AgreementProcessReport)MIMAMORI__AGREEMENT_PROCESS_REPORT__INIT;
		pb->report.reporter = str(m->report.reporter);
		pb->report.has_incarnation = true;
		pb->report.incarnation = m->report.incarnation;
		pb->report.process = str(m->report.process);
		if (m->report.failed_at_unix_ns > 0) {
			pb->report.has_failed_at_unix_ns = true;
			pb->report.failed_at_unix_ns = m->report.failed_at_unix_ns;
		}
		pb->report.has_seq = m->report.seq != 0;
		pb->report.seq = m->report.seq;
		env->body_case = MIMAMORI__MESH_ENVELOPE__BODY_PROCESS_REPORT;
		env->process_report = &pb->report;
		break;
	default:
		assert(!"unknown kind"); /* excluded above */
		break;
	}
	return env;
}

int mesh_wire_pack(const struct mesh_wire_msg *m, uint8_t *buf, size_t cap)
{
	static _Thread_local struct mesh_wire_pb pb;
	const Mimamori__MeshEnvelope *env = mesh_wire_to_pb(m, &pb);
	size_t len = protobuf_c_message_get_packed_size(&env->base), packed;

	assert(buf || cap == 0);
	if (len > cap || len > (size_t)INT32_MAX)
		return -ENOSPC;
	packed = protobuf_c_message_pack(&env->base, buf);
	assert(packed == len); /* what was sized is what was written */
	return (int)packed;
}

/* ---- decoding ---------------------------------------------------------- */

/* Copies s (NULL: "") into dst[cap]: false when it does not fit with its
 * NUL, is empty while required, or holds a control character. */
static bool copy_str(char *dst, size_t cap, const char *s, bool nonempty)
{
	size_t n;

	if (!s)
		s = "";
	n = strnlen(s, cap);
	if (n >= cap || (nonempty && n == 0) || text_has_control_n(s, n))
		return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

static const char *update_from_pb(const Mimamori__MeshUpdate *pb, struct mesh_update *u)
{
	memset(u, 0, sizeof(*u));
	if (!pb)
		return "update missing";
	if (!copy_str(u->name, sizeof(u->name), pb->name, true))
		return "update name empty, too long or with control characters";
	if (!copy_str(u->addr, sizeof(u->addr), pb->addr, true))
		return "update addr empty, too long or with control characters";
	if (!copy_str(u->by, sizeof(u->by), pb->by, false))
		return "update by too long or with control characters";
	if (!pb->has_state || pb->state < MESH_ALIVE || pb->state > MESH_LEFT)
		return "update state missing or out of range";
	if (pb->incarnation > MESH_INCARNATION_MAX)
		return "update incarnation out of range";
	u->incarnation = pb->incarnation;
	u->state = pb->state;
	return NULL;
}

static const char *swim_from_pb(const Mimamori__SwimMessage *pb, const char *from,
				struct mesh_msg *s)
{
	const char *bad;

	memset(s, 0, offsetof(struct mesh_msg, updates));
	if (!pb)
		return "swim body missing";
	if (!pb->has_type || pb->type < MESH_MSG_PING || pb->type > MESH_MSG_TYPE_MAX)
		return "swim type missing or unknown";
	if (pb->flags & ~MESH_FLAGS_ALL)
		return "swim flags unknown";
	if (pb->n_updates > MESH_MAX_UPDATES)
		return "too many updates";
	s->type = pb->type;
	s->flags = pb->flags;
	s->seq = pb->seq;
	s->timeout_ns = pb->timeout_ns;
	if (!copy_str(s->target, sizeof(s->target), pb->target, false))
		return "swim target too long or with control characters";
	if (!copy_str(s->target_addr, sizeof(s->target_addr), pb->target_addr, false))
		return "swim target_addr too long or with control characters";
	if (!pb->sender)
		return "swim sender missing";
	if ((bad = update_from_pb(pb->sender, &s->sender)))
		return bad;
	if (strcmp(s->sender.name, from) != 0)
		return "swim sender is not the envelope's sender";
	for (size_t i = 0; i < pb->n_updates; i++)
		if ((bad = update_from_pb(pb->updates[i], &s->updates[i])))
			return bad;
	s->n_updates = (uint32_t)pb->n_updates;
	if (mesh_msg_validate(s, &bad) < 0)
		return bad;
	return NULL;
}

static const char *completion_from_pb(const Mimamori__AgreementCompletion *pb, const char *from,
				      struct agr_completion *c)
{
	memset(c, 0, sizeof(*c));
	if (!pb)
		return "completion body missing";
	if (!copy_str(c->from, sizeof(c->from), pb->from, true) || strcmp(c->from, from) != 0)
		return "completion from is not the envelope's sender";
	if (!copy_str(c->notifier, sizeof(c->notifier), pb->notifier, true))
		return "completion notifier empty, too long or with control characters";
	if (!copy_str(c->subject, sizeof(c->subject), pb->subject, true))
		return "completion subject empty, too long or with control characters";
	if (pb->incarnation > AGR_INCARNATION_MAX)
		return "completion incarnation out of range";
	if (pb->kind != AGR_INCIDENT_HOST && pb->kind != AGR_INCIDENT_PROCESS)
		return "completion kind unknown";
	if (pb->stage < AGR_STAGE_CLAIMED || pb->stage > MESH_WIRE_MAX_STAGE)
		return "completion stage unknown";
	if (pb->host_status > AGR_HOST_UNKNOWN)
		return "completion host_status unknown";
	c->incarnation = pb->incarnation;
	c->kind = pb->kind;
	c->stage = pb->stage;
	c->host_status = pb->host_status;
	c->http_status = pb->http_status;
	c->report_seq = pb->has_report_seq ? pb->report_seq : 0;
	return NULL;
}

static const char *decode(const Mimamori__MeshEnvelope *env, struct mesh_wire_msg *out)
{
	memset(out, 0, offsetof(struct mesh_wire_msg, swim));
	if (!env)
		return "no message";
	if (!copy_str(out->from, sizeof(out->from), env->from, true))
		return "sender name empty, too long or with control characters";
	/* Any value is valid; absent (an older peer) reads as 0, unknown. */
	out->members_digest = env->has_members_digest ? env->members_digest : 0;
	out->members_differ = env->has_members_differ && env->members_differ;
	switch (env->body_case) {
	case MIMAMORI__MESH_ENVELOPE__BODY_SWIM:
		out->kind = MESH_WIRE_SWIM;
		return swim_from_pb(env->swim, out->from, &out->swim);
	case MIMAMORI__MESH_ENVELOPE__BODY_PROBE:
	case MIMAMORI__MESH_ENVELOPE__BODY_PROBE_ACK: {
		const Mimamori__AgreementProbe *p =
			env->body_case == MIMAMORI__MESH_ENVELOPE__BODY_PROBE ? env->probe
									       : env->probe_ack;

		out->kind = env->body_case == MIMAMORI__MESH_ENVELOPE__BODY_PROBE
				    ? MESH_WIRE_PROBE
				    : MESH_WIRE_PROBE_ACK;
		if (!p || !p->has_nonce || p->nonce == 0)
			return "probe without nonce";
		out->nonce = p->nonce;
		return NULL;
	}
	case MIMAMORI__MESH_ENVELOPE__BODY_OBSERVATION: {
		const Mimamori__AgreementObservation *o = env->observation;
		struct agr_observation *ob = &out->observation;

		out->kind = MESH_WIRE_OBSERVATION;
		memset(ob, 0, sizeof(*ob));
		if (!o)
			return "observation body missing";
		if (!copy_str(ob->observer, sizeof(ob->observer), o->observer, true) ||
		    strcmp(ob->observer, out->from) != 0)
			return "observer is not the envelope's sender";
		if (!copy_str(ob->subject, sizeof(ob->subject), o->subject, true))
			return "observation subject empty, too long or with control characters";
		if (o->incarnation > AGR_INCARNATION_MAX)
			return "observation incarnation out of range";
		ob->incarnation = o->incarnation;
		return NULL;
	}
	case MIMAMORI__MESH_ENVELOPE__BODY_COMPLETION:
		out->kind = MESH_WIRE_COMPLETION;
		return completion_from_pb(env->completion, out->from, &out->completion);
	case MIMAMORI__MESH_ENVELOPE__BODY_PROCESS_REPORT: {
		const Mimamori__AgreementProcessReport *r = env->process_report;
		struct agr_process_report *rp = &out->report;

		out->kind = MESH_WIRE_PROCESS_REPORT;
		memset(rp, 0, sizeof(*rp));
		if (!r)
			return "process report body missing";
		if (!copy_str(rp->reporter, sizeof(rp->reporter), r->reporter, true) ||
		    strcmp(rp->reporter, out->from) != 0)
			return "reporter is not the envelope's sender";
		if (!copy_str(rp->process, sizeof(rp->process), r->process, true))
			return "process name empty, too long or with control characters";
		if (r->incarnation > AGR_INCARNATION_MAX)
			return "process report incarnation out of range";
		rp->incarnation = r->incarnation;
		if (r->has_failed_at_unix_ns) {
			if (r->failed_at_unix_ns <= 0)
				return "process failure time not after the epoch";
			rp->failed_at_unix_ns = r->failed_at_unix_ns;
		}
		rp->seq = r->has_seq ? r->seq : 0;
		return NULL;
	}
	default:
		return "message without a known body";
	}
}

/* What decode() guarantees of an accepted message, whatever the peer
 * sent: a known kind, the sender's name, and every string of the body
 * terminated within its array, the counts within theirs. */
static void assert_decoded(const struct mesh_wire_msg *m)
{
	assert(m->kind >= MESH_WIRE_SWIM && m->kind <= MESH_WIRE_KIND_MAX);
	assert(TERMINATED(m->from) && m->from[0] != '\0');
	switch (m->kind) {
	case MESH_WIRE_SWIM:
		assert(m->swim.n_updates <= MESH_MAX_UPDATES);
		assert(TERMINATED(m->swim.target) && TERMINATED(m->swim.target_addr));
		assert(strcmp(m->swim.sender.name, m->from) == 0);
		for (uint32_t i = 0; i < m->swim.n_updates; i++)
			assert(TERMINATED(m->swim.updates[i].name) &&
			       TERMINATED(m->swim.updates[i].addr) &&
			       TERMINATED(m->swim.updates[i].by));
		break;
	case MESH_WIRE_PROBE:
	case MESH_WIRE_PROBE_ACK:
		assert(m->nonce != 0);
		break;
	case MESH_WIRE_OBSERVATION:
		assert(TERMINATED(m->observation.subject));
		assert(strcmp(m->observation.observer, m->from) == 0);
		break;
	case MESH_WIRE_COMPLETION:
		assert(TERMINATED(m->completion.notifier) && TERMINATED(m->completion.subject));
		assert(strcmp(m->completion.from, m->from) == 0);
		assert(m->completion.stage <= MESH_WIRE_MAX_STAGE);
		break;
	case MESH_WIRE_PROCESS_REPORT:
		assert(TERMINATED(m->report.process));
		assert(strcmp(m->report.reporter, m->from) == 0);
		break;
	}
}

int mesh_wire_from_pb(const Mimamori__MeshEnvelope *env, struct mesh_wire_msg *out,
		      const char **why)
{
	const char *bad;

	assert(out);
	bad = decode(env, out);
	if (why)
		*why = bad;
	assert(bad == NULL || bad[0] != '\0'); /* a rejection says why */
	if (!bad)
		assert_decoded(out);
	return bad ? -EINVAL : 0;
}

int mesh_wire_unpack(const uint8_t *data, size_t len, struct mesh_wire_msg *out,
		     const char **why)
{
	Mimamori__MeshEnvelope *env;
	int rc;

	if (len > MESH_WIRE_MAX_MSG) {
		if (why)
			*why = "message too large";
		return -EINVAL;
	}
	env = mimamori__mesh_envelope__unpack(NULL, len, data);
	if (!env) {
		if (why)
			*why = "not a MeshEnvelope";
		return -EINVAL;
	}
	rc = mesh_wire_from_pb(env, out, why);
	mimamori__mesh_envelope__free_unpacked(env, NULL);
	return rc;
}

const char *mesh_wire_kind_name(uint32_t kind)
{
	static const char *const names[] = {
		[MESH_WIRE_SWIM] = "swim",
		[MESH_WIRE_PROBE] = "probe",
		[MESH_WIRE_PROBE_ACK] = "probe_ack",
		[MESH_WIRE_OBSERVATION] = "observation",
		[MESH_WIRE_COMPLETION] = "completion",
		[MESH_WIRE_PROCESS_REPORT] = "process_report",
	};

	return kind >= 1 && kind <= MESH_WIRE_KIND_MAX ? names[kind] : "unknown";
}
