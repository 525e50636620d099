/* mimamori-sim: a simulated daemon, see node.h. */
#include "tools/sim/node.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/sim/sim.h"
#include "tools/sim/wire.h"

#define NAME_PREFIX "compute-"

void sim_node_name(uint32_t id, char *buf, size_t len)
{
	snprintf(buf, len, NAME_PREFIX "%05u", id);
}

void sim_node_addr(uint32_t id, char *buf, size_t len)
{
	uint32_t h = id + 1;
	snprintf(buf, len, "tls+tcp://10.%u.%u.%u:7947", (h >> 16) & 255u, (h >> 8) & 255u,
		 h & 255u);
}

uint32_t sim_node_of_name(const struct sim *s, const char *name)
{
	const size_t pl = sizeof(NAME_PREFIX) - 1;
	uint32_t id = 0;
	const char *p;

	if (name == NULL || strncmp(name, NAME_PREFIX, pl) != 0)
		return UINT32_MAX;
	for (p = name + pl; *p >= '0' && *p <= '9' && p - name < 16; p++)
		id = id * 10 + (uint32_t)(*p - '0');
	if (*p != '\0' || p - name != (long)pl + 5 || id >= s->n)
		return UINT32_MAX;
	return id;
}

uint32_t sim_node_of_addr(const struct sim *s, const char *addr)
{
	unsigned a, b, c;
	int end = 0;

	if (sscanf(addr, "tls+tcp://10.%u.%u.%u:7947%n", &a, &b, &c, &end) != 3 ||
	    addr[end] != '\0' || a > 255 || b > 255 || c > 255)
		return UINT32_MAX;
	uint32_t h = (a << 16) | (b << 8) | c;
	if (h == 0 || h - 1 >= s->n)
		return UINT32_MAX;
	return h - 1;
}

/* The names and addresses of all nodes, once for all cores (built by the
 * first node_init): copied per node they were ~256 bytes x N x N. */
static int dir_ensure(struct sim *s)
{
	if (s->dir != NULL)
		return 0;
	char (*addrs)[MESH_ADDR_MAX] = calloc(s->n, sizeof(*addrs));
	const char **aptr = calloc(s->n, sizeof(*aptr));

	for (uint32_t i = 0; addrs && aptr && i < s->n; i++) {
		sim_node_addr(i, addrs[i], sizeof(addrs[i]));
		aptr[i] = addrs[i];
	}
	if (addrs && aptr)
		s->dir = mesh_directory_new(s->name_ptrs, aptr, s->n);
	free(addrs);
	free(aptr);
	if (s->dir == NULL) {
		fprintf(stderr, "mimamori-sim: mesh_directory_new: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int node_init(struct sim *s, struct node *nd, uint32_t id)
{
	struct membership_config mc = s->cfg.mcfg;
	struct agreement_config ac = s->cfg.acfg;
	char addr[MESH_ADDR_MAX], err[256] = "";

	memset(nd, 0, sizeof(*nd));
	nd->id = id;
	nd->up = true;
	nd->armed = SIM_NEVER;
	nd->last_tick = SIM_NEVER;
	nd->mem_dirty = nd->agr_dirty = true;
	if (dir_ensure(s) != 0)
		return -1;
	mc.directory = s->dir;
	mc.foreign_members = 4; /* every name is in the directory */
	mc.max_members = s->n;
	mc.seed = s->cfg.seed * UINT64_C(1000003) + id + 1;
	sim_node_addr(id, addr, sizeof(addr));
	nd->m = membership_create(&mc, s->names[id], addr);
	if (nd->m == NULL) {
		fprintf(stderr, "mimamori-sim: membership_create(%s): %s\n", s->names[id],
			strerror(errno));
		return -1;
	}
	ac.self = s->names[id];
	ac.members = s->name_ptrs;
	ac.n_members = s->n;
	ac.members_borrowed = true; /* s->name_ptrs and s->names outlive the node */
	nd->a = agreement_new(&ac, err, sizeof(err));
	if (nd->a == NULL) {
		fprintf(stderr, "mimamori-sim: agreement_new(%s): %s\n", s->names[id], err);
		return -1;
	}
	nd->view = calloc(s->n, 1);
	if (nd->view == NULL) {
		fprintf(stderr, "mimamori-sim: out of memory\n");
		return -1;
	}
	return 0;
}

void node_free(struct node *nd)
{
	membership_destroy(nd->m);
	agreement_free(nd->a);
	free(nd->view);
	memset(nd, 0, sizeof(*nd));
}

/* ---- outputs ----------------------------------------------------------- */

static void core_error(struct sim *s, const struct node *nd, const char *what, int rc)
{
	s->st.core_errors++;
	sim_trace(s, "%s: %s returned %d (%s)", s->names[nd->id], what, rc, strerror(-rc));
}

static void send_agr(struct sim *s, struct node *nd, uint32_t to, struct sim_msg *sm)
{
	if (to == UINT32_MAX || to == nd->id) {
		core_error(s, nd, "agreement action to an unknown or own name", -EINVAL);
		return;
	}
	sim_send(s, nd->id, to, sm);
}

/* To each destination the core listed. */
static void send_list(struct sim *s, struct node *nd, const struct agr_action *act,
		      struct sim_msg *sm)
{
	for (uint32_t i = 0; i < act->n_dest; i++)
		send_agr(s, nd, sim_node_of_name(s, act->dest[i]), sm);
}

/* To every member the local membership holds alive or suspect. */
static void broadcast(struct sim *s, struct node *nd, struct sim_msg *sm)
{
	for (uint32_t j = 0; j < s->n; j++)
		if (j != nd->id && (nd->view[j] == MESH_ALIVE || nd->view[j] == MESH_SUSPECT))
			sim_send(s, nd->id, j, sm);
}

static void drain_agreement(struct sim *s, struct node *nd)
{
	size_t k;

	nd->agr_dirty = true;
	while ((k = agreement_poll_actions(nd->a, s->actbuf,
					   sizeof(s->actbuf) / sizeof(s->actbuf[0]))) > 0) {
		for (size_t i = 0; i < k; i++) {
			const struct agr_action *act = &s->actbuf[i];
			struct sim_msg *sm = NULL;
			uint32_t subj = sim_node_of_name(s, act->subject);

			switch (act->kind) {
			case AGR_ACT_SEND_PROBE:
			case AGR_ACT_SEND_PROBE_ACK: {
				bool probe = act->kind == AGR_ACT_SEND_PROBE;
				sm = wire_agr_new(nd->id, probe ? SIM_MSG_PROBE : SIM_MSG_PROBE_ACK);
				sm->nonce = act->nonce;
				sm->bytes = wire_agr_bytes(sm, s->names[nd->id]);
				send_agr(s, nd, probe ? subj : sim_node_of_name(s, act->peer), sm);
				break;
			}
			case AGR_ACT_SEND_OBSERVATION:
				sm = wire_agr_new(nd->id, SIM_MSG_OBSERVATION);
				agreement_action_observation(nd->a, act, &sm->agr.obs);
				sm->bytes = wire_agr_bytes(sm, s->names[nd->id]);
				send_list(s, nd, act, sm);
				if (s->cfg.trace)
					sim_trace(s, "%s: observed %s unreachable, told %u", s->names[nd->id],
						  act->subject, act->n_dest);
				break;
			case AGR_ACT_SEND_COMPLETION:
				sm = wire_agr_new(nd->id, SIM_MSG_COMPLETION);
				agreement_action_completion(nd->a, act, &sm->agr.comp);
				sm->bytes = wire_agr_bytes(sm, s->names[nd->id]);
				send_list(s, nd, act, sm);
				if (s->cfg.trace)
					sim_trace(s, "%s: sent %s %s to %u", s->names[nd->id],
						  agr_stage_name(act->stage), act->subject, act->n_dest);
				break;
			case AGR_ACT_BROADCAST_PROCESS_REPORT:
				sm = wire_agr_new(nd->id, SIM_MSG_PROCESS);
				agreement_action_process_report(nd->a, act, &sm->agr.proc);
				sm->bytes = wire_agr_bytes(sm, s->names[nd->id]);
				broadcast(s, nd, sm);
				break;
			case AGR_ACT_FENCE:
				if (subj == UINT32_MAX) {
					core_error(s, nd, "FENCE of an unknown name", -EINVAL);
					break;
				}
				stats_fence(s, nd->id, subj);
				services_fence(s, nd->id, act);
				break;
			case AGR_ACT_NOTIFY_HOST:
			case AGR_ACT_NOTIFY_PROCESS:
				if (subj == UINT32_MAX) {
					core_error(s, nd, "NOTIFY of an unknown name", -EINVAL);
					break;
				}
				services_post(s, nd->id, act);
				break;
			case AGR_ACT_LOG:
				if (subj != UINT32_MAX && strcmp(act->event, "declared") == 0)
					stats_verdict(s, nd->id, subj);
				if (s->cfg.trace && act->level <= AGR_LOG_INFO)
					sim_trace(s, "%s: [%s] %s", s->names[nd->id], act->event,
						  act->text);
				break;
			}
			wire_unref(sm);
		}
	}
}

static void on_event(struct sim *s, struct node *nd, const struct mesh_event *ev)
{
	uint32_t subj = sim_node_of_name(s, ev->name);
	int rc;

	if (subj == UINT32_MAX || subj == nd->id) {
		core_error(s, nd, "membership event about an unknown or own name", -EINVAL);
		return;
	}
	nd->view[subj] = (uint8_t)ev->new_state;
	stats_member_event(s, nd->id, subj, ev->new_state, ev->incarnation);
	if (s->cfg.trace && ev->old_state != MESH_STATE_NONE)
		sim_trace(s, "%s: membership: %s %s (incarnation %llu%s%s)", s->names[nd->id],
			  ev->name, mesh_state_name(ev->new_state),
			  (unsigned long long)ev->incarnation, ev->by[0] ? ", by " : "", ev->by);
	rc = agreement_on_member_state(nd->a, ev->name, (enum agr_member_state)ev->new_state,
				       ev->incarnation, s->now);
	if (rc != 0)
		core_error(s, nd, "agreement_on_member_state", rc);
	drain_agreement(s, nd);
}

static void send_mesh(struct sim *s, struct node *nd, const struct mesh_send *snd)
{
	uint32_t to = sim_node_of_addr(s, snd->to_addr);

	if (to == UINT32_MAX || to == nd->id) {
		core_error(s, nd, "membership send to an unknown or own address", -EINVAL);
		return;
	}
	if (s->warming && snd->msg.type != MESH_MSG_SYNC) {
		for (uint32_t i = 0; i < snd->msg.n_updates; i++)
			if (snd->msg.updates[i].state == MESH_ALIVE &&
			    snd->msg.updates[i].incarnation == 0)
				s->warm_window_alive++;
	}
	struct sim_msg *sm = wire_mesh_new(nd->id, &snd->msg);
	sim_send(s, nd->id, to, sm);
	wire_unref(sm);
}

static void drain(struct sim *s, struct node *nd)
{
	size_t k;

	nd->mem_dirty = true;
	while ((k = membership_poll_output(nd->m, s->outbuf,
					   sizeof(s->outbuf) / sizeof(s->outbuf[0]))) > 0) {
		for (size_t i = 0; i < k; i++) {
			if (s->outbuf[i].kind == MESH_OUT_EVENT)
				on_event(s, nd, &s->outbuf[i].event);
			else
				send_mesh(s, nd, &s->outbuf[i].send);
		}
	}
	drain_agreement(s, nd);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void refresh_deadlines(struct node *nd)
{
	if (nd->mem_dirty) {
		nd->mem_deadline = membership_next_deadline(nd->m);
		nd->mem_dirty = false;
	}
	if (nd->agr_dirty) {
		nd->agr_deadline = agreement_next_deadline(nd->a);
		nd->agr_dirty = false;
	}
}

static void rearm(struct sim *s, struct node *nd)
{
	refresh_deadlines(nd);
	uint64_t d = min_u64(nd->mem_deadline, nd->agr_deadline);

	if (d == SIM_NEVER)
		return;
	if (d < nd->start_at)
		d = nd->start_at;
	if (d <= s->now) {
		d = s->now;
		/* the cores say work is due right after a tick at this very
		 * instant: guard against a livelock (counted, reported) */
		if (nd->last_tick == s->now && nd->spins > 64) {
			s->st.tick_spins++;
			nd->spins = 0;
			d = s->now + 1000;
		}
	}
	if (d != nd->armed) {
		nd->armed = d;
		sim_schedule(s, d, EV_TIMER, nd->id, NULL, 0);
	}
}

/* ---- inputs ------------------------------------------------------------- */

void node_warm_start(struct sim *s, struct node *nd, uint64_t now)
{
	struct mesh_msg *msg = &s->scratch;
	uint32_t peer = (nd->id + 1) % s->n, j = 0;
	int rc;

	rc = membership_join(nd->m, NULL, 0, now);
	if (rc != 0)
		core_error(s, nd, "membership_join", rc);
	while (j < s->n) {
		memset(msg, 0, sizeof(*msg));
		msg->type = MESH_MSG_SYNC;
		snprintf(msg->sender.name, sizeof(msg->sender.name), "%s", s->names[peer]);
		sim_node_addr(peer, msg->sender.addr, sizeof(msg->sender.addr));
		msg->sender.state = MESH_ALIVE;
		for (; j < s->n && msg->n_updates < MESH_MAX_UPDATES; j++) {
			if (j == nd->id || j == peer)
				continue;
			struct mesh_update *u = &msg->updates[msg->n_updates++];
			snprintf(u->name, sizeof(u->name), "%s", s->names[j]);
			sim_node_addr(j, u->addr, sizeof(u->addr));
			u->state = MESH_ALIVE;
		}
		if (j >= s->n)
			msg->flags = MESH_FLAG_SYNC_LAST;
		rc = membership_handle_message(nd->m, msg, now);
		if (rc != 0)
			core_error(s, nd, "membership_handle_message (warm start)", rc);
		drain(s, nd);
	}
	if (s->cfg.converged)
		membership_drop_broadcasts(nd->m);
	rearm(s, nd);
}

void node_on_timer(struct sim *s, struct node *nd)
{
	int rc;

	nd->armed = SIM_NEVER;
	if (nd->last_tick == s->now)
		nd->spins++;
	else
		nd->spins = 0;
	nd->last_tick = s->now;
	refresh_deadlines(nd);
	if (nd->mem_deadline <= s->now) {
		membership_tick(nd->m, s->now);
		drain(s, nd);
		refresh_deadlines(nd);
	}
	if (nd->agr_deadline <= s->now) {
		rc = agreement_tick(nd->a, s->now);
		if (rc != 0)
			core_error(s, nd, "agreement_tick", rc);
		drain_agreement(s, nd);
	}
	rearm(s, nd);
}

static void agr_rc(struct sim *s, struct node *nd, const char *what, int rc)
{
	if (rc != 0 && rc != -ENOENT)
		core_error(s, nd, what, rc);
}

void node_on_msg(struct sim *s, struct node *nd, const struct sim_msg *sm)
{
	const char *from = s->names[sm->from];
	int rc;

	switch (sm->kind) {
	case SIM_MSG_MESH:
		wire_mesh_unpack(sm, &s->scratch);
		rc = membership_handle_message(nd->m, &s->scratch, s->now);
		if (rc != 0)
			core_error(s, nd, "membership_handle_message", rc);
		drain(s, nd);
		break;
	case SIM_MSG_PROBE:
		agr_rc(s, nd, "agreement_on_probe", agreement_on_probe(nd->a, from, sm->nonce, s->now));
		drain_agreement(s, nd);
		break;
	case SIM_MSG_PROBE_ACK:
		agr_rc(s, nd, "agreement_on_probe_ack",
		       agreement_on_probe_ack(nd->a, from, sm->nonce, s->now));
		drain_agreement(s, nd);
		break;
	case SIM_MSG_OBSERVATION:
		agr_rc(s, nd, "agreement_on_observation",
		       agreement_on_observation(nd->a, &sm->agr.obs, s->now));
		drain_agreement(s, nd);
		break;
	case SIM_MSG_COMPLETION:
		agr_rc(s, nd, "agreement_on_completion",
		       agreement_on_completion(nd->a, &sm->agr.comp, s->now));
		drain_agreement(s, nd);
		break;
	case SIM_MSG_PROCESS:
		agr_rc(s, nd, "agreement_on_process_report",
		       agreement_on_process_report(nd->a, &sm->agr.proc, s->now));
		drain_agreement(s, nd);
		break;
	default:
		core_error(s, nd, "unknown simulated message", -EINVAL);
		break;
	}
	rearm(s, nd);
}

void node_on_fence_result(struct sim *s, struct node *nd, uint32_t subject, uint64_t inc,
			  enum agr_fence_result result)
{
	agr_rc(s, nd, "agreement_on_fence_result",
	       agreement_on_fence_result(nd->a, s->names[subject], inc, result, s->now));
	drain_agreement(s, nd);
	rearm(s, nd);
}

void node_on_notify_result(struct sim *s, struct node *nd, enum agr_incident_kind kind,
			   uint32_t subject, uint64_t inc, int http)
{
	agr_rc(s, nd, "agreement_on_notify_result",
	       agreement_on_notify_result(nd->a, kind, s->names[subject], inc, http, s->now));
	drain_agreement(s, nd);
	rearm(s, nd);
}

/* ---- footprint ------------------------------------------------------------ */

static uint64_t rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t node_footprint(uint32_t n)
{
	struct sim_config cfg;
	struct sim *s;
	uint64_t before, after;

	/* A one-node "world" that knows n names; only node 0 is built. */
	memset(&cfg, 0, sizeof(cfg));
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return 0;
	s->n = n;
	s->names = calloc(n, sizeof(*s->names));
	s->name_ptrs = calloc(n, sizeof(*s->name_ptrs));
	if (s->names == NULL || s->name_ptrs == NULL) {
		free(s->names);
		free(s->name_ptrs);
		free(s);
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		sim_node_name(i, s->names[i], sizeof(s->names[i]));
		s->name_ptrs[i] = s->names[i];
	}
	membership_config_default(&s->cfg.mcfg);
	agreement_config_default(&s->cfg.acfg);
	s->cfg.seed = 1;
	/* the shared directory is built first: one per simulation, not per node */
	(void)dir_ensure(s); /* on failure node_init fails too: 0 */
	before = rss_bytes();
	struct node nd;
	if (node_init(s, &nd, 0) == 0) {
		/* fill the table without a network: sends are not routed */
		struct mesh_msg *msg = &s->scratch;
		uint32_t j = 1;
		membership_join(nd.m, NULL, 0, 0);
		while (j < n) {
			memset(msg, 0, sizeof(*msg));
			msg->type = MESH_MSG_SYNC;
			snprintf(msg->sender.name, sizeof(msg->sender.name), "%s", s->names[1]);
			sim_node_addr(1, msg->sender.addr, sizeof(msg->sender.addr));
			msg->sender.state = MESH_ALIVE;
			for (j = j == 1 ? 2 : j; j < n && msg->n_updates < MESH_MAX_UPDATES; j++) {
				struct mesh_update *u = &msg->updates[msg->n_updates++];
				snprintf(u->name, sizeof(u->name), "%s", s->names[j]);
				sim_node_addr(j, u->addr, sizeof(u->addr));
				u->state = MESH_ALIVE;
			}
			membership_handle_message(nd.m, msg, 0);
			size_t k;
			while ((k = membership_poll_output(nd.m, s->outbuf, 8)) > 0)
				for (size_t i = 0; i < k; i++)
					if (s->outbuf[i].kind == MESH_OUT_EVENT) {
						agreement_on_member_state(
							nd.a, s->outbuf[i].event.name,
							(enum agr_member_state)s->outbuf[i].event.new_state,
							0, 0);
						while (agreement_poll_actions(nd.a, s->actbuf, 16) > 0)
							;
					}
		}
		after = rss_bytes();
		node_free(&nd);
	} else {
		after = before;
	}
	mesh_directory_free(s->dir);
	free(s->names);
	free(s->name_ptrs);
	free(s);
	return after > before ? after - before : 0;
}
