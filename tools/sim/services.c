/* mimamori-sim: simulated fence agent and Masakari, see services.h. */
#include "tools/sim/services.h"

#include <stdio.h>
#include <stdlib.h>

#include "tools/sim/sim.h"

struct svc_req {
	uint32_t subject;
	uint32_t kind; /* enum agr_incident_kind */
	uint64_t inc;
	int http;
};

int services_init(struct services *svc, uint32_t n)
{
	svc->posted = calloc(n, 1);
	return svc->posted != NULL ? 0 : -1;
}

void services_free(struct services *svc)
{
	free(svc->posted);
	svc->posted = NULL;
}

static struct svc_req *req_new(uint32_t subject, uint32_t kind, uint64_t inc, int http)
{
	struct svc_req *r = malloc(sizeof(*r));
	if (r == NULL) {
		fprintf(stderr, "mimamori-sim: out of memory\n");
		abort();
	}
	r->subject = subject;
	r->kind = kind;
	r->inc = inc;
	r->http = http;
	return r;
}

void services_fence(struct sim *s, uint32_t node, const struct agr_action *act)
{
	uint32_t subj = sim_node_of_name(s, act->subject);
	sim_trace(s, "%s: FENCE %s (incarnation %llu, attempt %u)", s->names[node], act->subject,
		  (unsigned long long)act->incarnation, act->attempt);
	nemesis_on_fence(s, node, subj);
	sim_schedule(s, s->now + s->cfg.fence_delay_ns, EV_FENCE_DONE, node,
		     req_new(subj, AGR_INCIDENT_HOST, act->incarnation, 0), 0);
}

void services_fence_done(struct sim *s, const struct sim_event *ev)
{
	const struct svc_req *r = ev->data.ptr;
	enum agr_fence_result result;

	if (s->cfg.fence_mode == FENCE_POWEROFF) {
		if (s->up[r->subject])
			sim_power_off(s, r->subject);
		result = AGR_FENCE_OK;
	} else {
		result = s->up[r->subject] ? AGR_FENCE_FAILED : AGR_FENCE_OK;
	}
	if (result == AGR_FENCE_OK)
		nemesis_on_fence_ok(s, r->subject);
	sim_trace(s, "%s: fence of %s: %s", s->names[ev->node], s->names[r->subject],
		  result == AGR_FENCE_OK ? "ok" : "failed");
	node_on_fence_result(s, &s->nodes[ev->node], r->subject, r->inc, result);
	free(ev->data.ptr);
}

void services_post(struct sim *s, uint32_t node, const struct agr_action *act)
{
	uint32_t subj = sim_node_of_name(s, act->subject);
	uint8_t bit = act->kind == AGR_ACT_NOTIFY_HOST ? 1u : 2u;
	int http = (s->svc.posted[subj] & bit) ? 409 : 202;
	uint32_t kind = act->kind == AGR_ACT_NOTIFY_HOST ? AGR_INCIDENT_HOST : AGR_INCIDENT_PROCESS;

	s->svc.posted[subj] |= bit;
	sim_trace(s, "%s: POST %s %s -> %d", s->names[node],
		  kind == AGR_INCIDENT_HOST ? "COMPUTE_HOST" : "PROCESS", act->subject, http);
	if (kind == AGR_INCIDENT_HOST) {
		stats_post(s, node, subj, act->decided_at, http, s->now + s->cfg.masakari_rtt_ns / 2);
		nemesis_on_post(s, node, subj, http);
	}
	sim_schedule(s, s->now + s->cfg.masakari_rtt_ns, EV_MASAKARI_REPLY, node,
		     req_new(subj, kind, act->incarnation, http), 0);
}

void services_reply(struct sim *s, const struct sim_event *ev)
{
	const struct svc_req *r = ev->data.ptr;
	node_on_notify_result(s, &s->nodes[ev->node], (enum agr_incident_kind)r->kind, r->subject,
			      r->inc, r->http);
	free(ev->data.ptr);
}

void services_drop(const struct sim_event *ev)
{
	free(ev->data.ptr);
}
