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
 * first node_init): copied per node they were ~256 bytes x N x N. The
 * nodes' name -> index table is shared the same way. */
static int dir_ensure(struct sim *s)
{
	if (s->dir != NULL && s->mnames != NULL)
		return 0;
	char (*addrs)[MESH_ADDR_MAX] = calloc(s->n, sizeof(*addrs));
	const char **aptr = calloc(s->n, sizeof(*aptr));

	for (uint32_t i = 0; addrs && aptr && i < s->n; i++) {
		sim_node_addr(i, addrs[i], sizeof(addrs[i]));
		aptr[i] = addrs[i];
	}
	if (addrs && aptr && s->dir == NULL)
		s->dir = mesh_directory_new(s->name_ptrs, aptr, s->n);
	free(addrs);
	free(aptr);
	if (s->dir == NULL) {
		fprintf(stderr, "mimamori-sim: mesh_directory_new: %s\n", strerror(errno));
		return -1;
	}
	if (s->mnames == NULL)
		s->mnames = mnode_names_new(s->name_ptrs, s->n);
	if (s->mnames == NULL) {
		fprintf(stderr, "mimamori-sim: mnode_names_new: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int node_init(struct sim *s, struct node *nd, uint32_t id)
{
	struct mnode_config nc = { .membership = s->cfg.mcfg, .agreement = s->cfg.acfg };
	char addr[MESH_ADDR_MAX], err[256] = "";

	memset(nd, 0, sizeof(*nd));
	nd->id = id;
	nd->up = true;
	nd->armed = SIM_NEVER;
	nd->last_tick = SIM_NEVER;
	if (dir_ensure(s) != 0)
		return -1;
	nc.membership.directory = s->dir;
	nc.membership.foreign_members = 4; /* every name is in the directory */
	nc.membership.max_members = s->n;
	nc.membership.seed = s->cfg.seed * UINT64_C(1000003) + id + 1;
	sim_node_addr(id, addr, sizeof(addr));
	nc.self_addr = addr;
	nc.agreement.self = s->names[id];
	nc.agreement.members = s->name_ptrs;
	nc.agreement.n_members = s->n;
	nc.agreement.members_borrowed = true; /* s->name_ptrs and s->names outlive the node */
	nc.names = s->mnames;
	nc.members_digest = s->digest_of[id];
	nd->mn = mnode_new(&nc, err, sizeof(err));
	if (nd->mn == NULL) {
		fprintf(stderr, "mimamori-sim: mnode_new(%s): %s\n", s->names[id], err);
		return -1;
	}
	return 0;
}

void node_free(struct node *nd)
{
	mnode_free(nd->mn);
	memset(nd, 0, sizeof(*nd));
}

uint32_t node_view(const struct node *nd, uint32_t of)
{
	struct mnode_member m;

	return mnode_member(nd->mn, of, &m) == 0 ? m.state : MESH_STATE_NONE;
}

/* ---- outputs ----------------------------------------------------------- */

static void core_error(struct sim *s, const struct node *nd, const char *what, int rc)
{
	s->st.core_errors++;
	sim_trace(s, "%s: %s returned %d (%s)", s->names[nd->id], what, rc, strerror(-rc));
}

/* The simulated wire's form of an agreement message. */
static struct sim_msg *agr_msg(struct sim *s, const struct node *nd, const struct mesh_wire_msg *m)
{
	static const uint32_t kinds[] = {
		[MESH_WIRE_PROBE] = SIM_MSG_PROBE,
		[MESH_WIRE_PROBE_ACK] = SIM_MSG_PROBE_ACK,
		[MESH_WIRE_OBSERVATION] = SIM_MSG_OBSERVATION,
		[MESH_WIRE_COMPLETION] = SIM_MSG_COMPLETION,
		[MESH_WIRE_PROCESS_REPORT] = SIM_MSG_PROCESS,
	};
	struct sim_msg *sm = wire_agr_new(nd->id, kinds[m->kind]);

	switch (m->kind) {
	case MESH_WIRE_PROBE:
	case MESH_WIRE_PROBE_ACK:
		sm->nonce = m->nonce;
		break;
	case MESH_WIRE_OBSERVATION:
		sm->agr.obs = m->observation;
		break;
	case MESH_WIRE_COMPLETION:
		sm->agr.comp = m->completion;
		break;
	case MESH_WIRE_PROCESS_REPORT:
		sm->agr.proc = m->report;
		break;
	}
	sm->bytes = wire_agr_bytes(sm, s->names[nd->id]);
	return sm;
}

static void send_swim(struct sim *s, struct node *nd, const struct mnode_out *o)
{
	const struct mesh_msg *msg = &o->msg.swim;
	uint32_t to = o->to[0] != MNODE_NONE ? o->to[0] : sim_node_of_addr(s, o->to_addr);

	if (to == UINT32_MAX || to == nd->id) {
		core_error(s, nd, "membership send to an unknown or own address", -EINVAL);
		return;
	}
	if (s->warming && msg->type != MESH_MSG_SYNC) {
		for (uint32_t i = 0; i < msg->n_updates; i++)
			if (msg->updates[i].state == MESH_ALIVE && msg->updates[i].incarnation == 0)
				s->warm_window_alive++;
	}
	struct sim_msg *sm = wire_mesh_new(nd->id, msg);
	sim_send(s, nd->id, to, sm);
	wire_unref(sm);
}

static void send_agr(struct sim *s, struct node *nd, const struct mnode_out *o)
{
	struct sim_msg *sm = agr_msg(s, nd, &o->msg);

	for (uint32_t i = 0; i < o->n_to; i++) {
		if (o->to[i] == MNODE_NONE || o->to[i] == nd->id)
			core_error(s, nd, "agreement action to an unknown or own name", -EINVAL);
		else
			sim_send(s, nd->id, o->to[i], sm);
	}
	if (s->cfg.trace && o->msg.kind == MESH_WIRE_OBSERVATION)
		sim_trace(s, "%s: observed %s unreachable, told %u", s->names[nd->id],
			  o->act.subject, o->act.n_dest);
	else if (s->cfg.trace && o->msg.kind == MESH_WIRE_COMPLETION)
		sim_trace(s, "%s: sent %s %s to %u", s->names[nd->id], agr_stage_name(o->act.stage),
			  o->act.subject, o->act.n_dest);
	wire_unref(sm);
}

/* To every member the node holds reachable: the daemon's rule. */
static void broadcast(struct sim *s, struct node *nd, const struct mnode_out *o)
{
	struct sim_msg *sm = agr_msg(s, nd, &o->msg);

	for (uint32_t j = 0; j < s->n; j++)
		if (mnode_reachable(nd->mn, j))
			sim_send(s, nd->id, j, sm);
	wire_unref(sm);
}

static void on_member(struct sim *s, struct node *nd, const struct mnode_out *o)
{
	const struct mesh_event *ev = &o->event;

	if (o->subject == MNODE_NONE || o->self) {
		core_error(s, nd, "membership event about an unknown or own name", -EINVAL);
		return;
	}
	stats_member_event(s, nd->id, o->subject, ev->new_state, ev->incarnation);
	if (s->cfg.trace && ev->old_state != MESH_STATE_NONE)
		sim_trace(s, "%s: membership: %s %s (incarnation %llu%s%s)", s->names[nd->id],
			  ev->name, mesh_state_name(ev->new_state),
			  (unsigned long long)ev->incarnation, ev->by[0] ? ", by " : "", ev->by);
}

/* After every input: everything the node asks for. */
static void drain(struct sim *s, struct node *nd)
{
	size_t k;

	while ((k = mnode_poll(nd->mn, s->outbuf, sizeof(s->outbuf) / sizeof(s->outbuf[0]))) > 0) {
		for (size_t i = 0; i < k; i++) {
			const struct mnode_out *o = &s->outbuf[i];
			const struct agr_action *act = &o->act;

			switch (o->kind) {
			case MNODE_OUT_SEND:
				if (o->msg.kind == MESH_WIRE_SWIM)
					send_swim(s, nd, o);
				else
					send_agr(s, nd, o);
				break;
			case MNODE_OUT_BROADCAST:
				broadcast(s, nd, o);
				break;
			case MNODE_OUT_FENCE:
				if (o->subject == MNODE_NONE) {
					core_error(s, nd, "FENCE of an unknown name", -EINVAL);
					break;
				}
				stats_fence(s, nd->id, o->subject);
				services_fence(s, nd->id, act);
				break;
			case MNODE_OUT_NOTIFY:
				if (o->subject == MNODE_NONE) {
					core_error(s, nd, "NOTIFY of an unknown name", -EINVAL);
					break;
				}
				services_post(s, nd->id, act);
				break;
			case MNODE_OUT_MEMBER:
				on_member(s, nd, o);
				break;
			case MNODE_OUT_LOG:
				if (o->subject != MNODE_NONE && strcmp(act->event, "declared") == 0)
					stats_verdict(s, nd->id, o->subject);
				if (s->cfg.trace && act->level <= AGR_LOG_INFO)
					sim_trace(s, "%s: [%s] %s", s->names[nd->id], act->event,
						  act->text);
				break;
			}
		}
	}
}

static void rearm(struct sim *s, struct node *nd)
{
	uint64_t d = mnode_next_deadline(nd->mn);

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
			if (s->st.tick_spins <= 3)
				sim_trace(s, "%s: livelock guard: the cores' deadline stays at %.6f",
					  s->names[nd->id], (double)d / 1e9);
			nd->spins = 0;
			d = s->now + 10 * NS_PER_MS; /* a livelock is a violation anyway: move on */
		}
	}
	if (d != nd->armed) {
		nd->armed = d;
		sim_schedule(s, d, EV_TIMER, nd->id, NULL, 0);
	}
}

/* ---- inputs ------------------------------------------------------------- */

/* A SYNC from `peer` listing every member from *j on (a chunk), as a
 * completed push-pull would bring. */
static void sync_chunk(struct sim *s, uint32_t self, uint32_t peer, uint32_t *j)
{
	struct mesh_wire_msg *w = &s->scratch;
	struct mesh_msg *msg = &w->swim;

	memset(w, 0, offsetof(struct mesh_wire_msg, swim) + sizeof(*msg));
	w->kind = MESH_WIRE_SWIM;
	snprintf(w->from, sizeof(w->from), "%s", s->names[peer]);
	msg->type = MESH_MSG_SYNC;
	snprintf(msg->sender.name, sizeof(msg->sender.name), "%s", s->names[peer]);
	sim_node_addr(peer, msg->sender.addr, sizeof(msg->sender.addr));
	msg->sender.state = MESH_ALIVE;
	for (; *j < s->n && msg->n_updates < MESH_MAX_UPDATES; (*j)++) {
		if (*j == self || *j == peer)
			continue;
		struct mesh_update *u = &msg->updates[msg->n_updates++];
		snprintf(u->name, sizeof(u->name), "%s", s->names[*j]);
		sim_node_addr(*j, u->addr, sizeof(u->addr));
		u->state = MESH_ALIVE;
	}
	if (*j >= s->n)
		msg->flags = MESH_FLAG_SYNC_LAST;
}

void node_warm_start(struct sim *s, struct node *nd, uint64_t now)
{
	uint32_t peer = (nd->id + 1) % s->n, j = 0;
	int rc;

	rc = mnode_join(nd->mn, NULL, 0, now);
	if (rc != 0)
		core_error(s, nd, "membership_join", rc);
	while (j < s->n) {
		sync_chunk(s, nd->id, peer, &j);
		rc = mnode_on_message(nd->mn, &s->scratch, now);
		if (rc != 0)
			core_error(s, nd, "membership_handle_message (warm start)", rc);
		drain(s, nd);
	}
	if (s->cfg.converged)
		mnode_drop_broadcasts(nd->mn);
	rearm(s, nd);
}

void node_on_timer(struct sim *s, struct node *nd)
{
	nd->armed = SIM_NEVER;
	if (nd->last_tick == s->now)
		nd->spins++;
	else
		nd->spins = 0;
	nd->last_tick = s->now;
	if (mnode_next_deadline(nd->mn) <= s->now) {
		mnode_tick(nd->mn, s->now);
		drain(s, nd);
	}
	rearm(s, nd);
}

void node_on_refused(struct sim *s, struct node *nd, uint32_t peer)
{
	int rc = mnode_on_peer_refused(nd->mn, peer, s->now);

	if (rc != 0 && rc != -ENOENT)
		core_error(s, nd, "mnode_on_peer_refused", rc);
	drain(s, nd);
	rearm(s, nd);
}

void node_on_msg(struct sim *s, struct node *nd, const struct sim_msg *sm)
{
	struct mesh_wire_msg *w = &s->scratch;
	int rc;

	w->kind = 0;
	snprintf(w->from, sizeof(w->from), "%s", s->names[sm->from]);
	switch (sm->kind) {
	case SIM_MSG_MESH:
		w->kind = MESH_WIRE_SWIM;
		wire_mesh_unpack(sm, &w->swim);
		break;
	case SIM_MSG_PROBE:
	case SIM_MSG_PROBE_ACK:
		w->kind = sm->kind == SIM_MSG_PROBE ? MESH_WIRE_PROBE : MESH_WIRE_PROBE_ACK;
		w->nonce = sm->nonce;
		break;
	case SIM_MSG_OBSERVATION:
		w->kind = MESH_WIRE_OBSERVATION;
		w->observation = sm->agr.obs;
		break;
	case SIM_MSG_COMPLETION:
		w->kind = MESH_WIRE_COMPLETION;
		w->completion = sm->agr.comp;
		break;
	case SIM_MSG_PROCESS:
		w->kind = MESH_WIRE_PROCESS_REPORT;
		w->report = sm->agr.proc;
		break;
	default:
		core_error(s, nd, "unknown simulated message", -EINVAL);
		rearm(s, nd);
		return;
	}
	rc = mnode_on_message(nd->mn, w, s->now);
	/* -ENOENT: an unknown member or incident, which the agreement ignores */
	if (rc != 0 && (w->kind == MESH_WIRE_SWIM || rc != -ENOENT))
		core_error(s, nd, mesh_wire_kind_name(w->kind), rc);
	drain(s, nd);
	rearm(s, nd);
}

void node_on_fence_result(struct sim *s, struct node *nd, uint32_t subject, uint64_t inc,
			  enum agr_fence_result result)
{
	int rc = mnode_on_fence_result(nd->mn, s->names[subject], inc, result, s->now);

	if (rc != 0 && rc != -ENOENT)
		core_error(s, nd, "agreement_on_fence_result", rc);
	drain(s, nd);
	rearm(s, nd);
}

void node_on_notify_result(struct sim *s, struct node *nd, enum agr_incident_kind kind,
			   uint32_t subject, uint64_t inc, int http)
{
	int rc = mnode_on_notify_result(nd->mn, kind, s->names[subject], inc, http, s->now);

	if (rc != 0 && rc != -ENOENT)
		core_error(s, nd, "agreement_on_notify_result", rc);
	drain(s, nd);
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
		/* fill the table without a network: outputs are dropped */
		uint32_t j = 0;
		mnode_join(nd.mn, NULL, 0, 0);
		while (j < n) {
			sync_chunk(s, 0, 1, &j);
			mnode_on_message(nd.mn, &s->scratch, 0);
			while (mnode_poll(nd.mn, s->outbuf, 8) > 0)
				;
		}
		after = rss_bytes();
		node_free(&nd);
	} else {
		after = before;
	}
	mesh_directory_free(s->dir);
	mnode_names_free(s->mnames);
	free(s->names);
	free(s->name_ptrs);
	free(s);
	return after > before ? after - before : 0;
}
