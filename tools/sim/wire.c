/* mimamori-sim: wire payloads and size estimates, see wire.h. */
#include "tools/sim/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xcalloc(size_t size)
{
	void *p = calloc(1, size);
	if (p == NULL) {
		fprintf(stderr, "mimamori-sim: out of memory (message of %zu bytes)\n", size);
		abort();
	}
	return p;
}

struct sim_msg *wire_mesh_new(uint32_t from, const struct mesh_msg *m)
{
	size_t len = offsetof(struct mesh_msg, updates) +
		     (size_t)m->n_updates * sizeof(struct mesh_update);
	struct sim_msg *sm = xcalloc(sizeof(*sm) + len);
	sm->refs = 1;
	sm->kind = SIM_MSG_MESH;
	sm->from = from;
	sm->bytes = wire_mesh_bytes(m);
	sm->mesh_len = len;
	memcpy(sm->mesh, m, len);
	return sm;
}

struct sim_msg *wire_agr_new(uint32_t from, uint32_t kind)
{
	struct sim_msg *sm = xcalloc(sizeof(*sm));
	sm->refs = 1;
	sm->kind = kind;
	sm->from = from;
	return sm;
}

void wire_mesh_unpack(const struct sim_msg *sm, struct mesh_msg *out)
{
	memcpy(out, sm->mesh, sm->mesh_len);
	if (sm->mesh_len < sizeof(*out))
		memset((unsigned char *)out + sm->mesh_len, 0, sizeof(*out) - sm->mesh_len);
}

void wire_ref(struct sim_msg *sm)
{
	sm->refs++;
}

void wire_unref(struct sim_msg *sm)
{
	if (sm != NULL && --sm->refs == 0)
		free(sm);
}

static uint32_t update_bytes(const struct mesh_update *u)
{
	return MESH_UPDATE_OVERHEAD + (uint32_t)(strlen(u->name) + strlen(u->addr) + strlen(u->by));
}

uint32_t wire_mesh_bytes(const struct mesh_msg *m)
{
	uint32_t b = WIRE_FRAME + update_bytes(&m->sender);
	switch (m->type) {
	case MESH_MSG_PING:
		b += (uint32_t)strlen(m->target);
		break;
	case MESH_MSG_PING_REQ:
		b += (uint32_t)(strlen(m->target) + strlen(m->target_addr)) + 8;
		break;
	default:
		break;
	}
	for (uint32_t i = 0; i < m->n_updates && i < MESH_MAX_UPDATES; i++)
		b += update_bytes(&m->updates[i]);
	return b;
}

uint32_t wire_agr_bytes(const struct sim_msg *sm, const char *from_name)
{
	switch (sm->kind) {
	case SIM_MSG_PROBE:
	case SIM_MSG_PROBE_ACK:
		return WIRE_FRAME + (uint32_t)strlen(from_name) + 8;
	case SIM_MSG_OBSERVATION:
		return WIRE_FRAME + (uint32_t)(strlen(sm->agr.obs.observer) +
					       strlen(sm->agr.obs.subject)) + 8;
	case SIM_MSG_COMPLETION:
		return WIRE_FRAME + (uint32_t)(strlen(sm->agr.comp.from) +
					       strlen(sm->agr.comp.notifier) +
					       strlen(sm->agr.comp.subject)) + 8 + 4 * 4;
	case SIM_MSG_PROCESS:
		return WIRE_FRAME + (uint32_t)(strlen(sm->agr.proc.reporter) +
					       strlen(sm->agr.proc.process)) + 8;
	default:
		return WIRE_FRAME;
	}
}
