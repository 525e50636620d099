/* mimamori-sim: one simulated daemon. The SAME composition of the cores as
 * mimamorid (mesh/node.h: membership + agreement, the glue between them,
 * the failure time, the broadcast rule), in a shell that does what the
 * daemon's mesh thread does, on the simulated world:
 *   - SEND -> a message on the simulated network to each destination;
 *     BROADCAST -> one to every member mnode_reachable() holds (not DEAD
 *     nor LEFT here; never heard of counts, as in the daemon);
 *   - FENCE -> the simulated fence agent; NOTIFY -> a POST to the
 *     simulated Masakari;
 *   - MEMBER -> statistics; LOG -> statistics (verdicts) and --trace;
 *   - one timer per node at mnode_next_deadline(); outputs drained after
 *     every call.
 * Names are "compute-NNNNN", addresses "tls+tcp://10.a.b.c:7947". */
#ifndef MIMAMORI_SIM_NODE_H
#define MIMAMORI_SIM_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mesh/agreement.h"
#include "mesh/membership.h"
#include "mesh/node.h"

struct sim;
struct sim_msg;

#define SIM_NEVER UINT64_MAX

struct node {
	uint32_t id;
	bool up;              /* powered on (false: crashed or fenced) */
	uint64_t start_at;    /* first timer: processes do not start in lockstep */
	uint64_t stall_until; /* CPU-starved: inputs and timers wait until then */
	uint64_t last_stall_end;
	uint64_t armed;       /* time of the live timer event, SIM_NEVER if none */
	uint64_t last_tick;
	uint32_t spins;       /* consecutive ticks at one instant (livelock guard) */
	struct mnode *mn;     /* the daemon's composition of the cores */
};

void sim_node_name(uint32_t id, char *buf, size_t len);
void sim_node_addr(uint32_t id, char *buf, size_t len);
/* UINT32_MAX when not one of ours. */
uint32_t sim_node_of_name(const struct sim *s, const char *name);
uint32_t sim_node_of_addr(const struct sim *s, const char *addr);
/* enum mesh_state of member `of` in node nd's view (MESH_STATE_NONE: never
 * heard of). */
uint32_t node_view(const struct node *nd, uint32_t of);

/* Creates the node's cores; 0 or -1 (message on stderr). */
int node_init(struct sim *s, struct node *nd, uint32_t id);
void node_free(struct node *nd);

/* Warm start: the node learns every member alive (as from a completed
 * push-pull) at time now; its first timer runs at start_at. */
void node_warm_start(struct sim *s, struct node *nd, uint64_t now);

/* Inputs; each drains every output and re-arms the timer. */
void node_on_timer(struct sim *s, struct node *nd);
void node_on_msg(struct sim *s, struct node *nd, const struct sim_msg *sm);
/* A message of nd to peer was refused by peer's kernel (its daemon down). */
void node_on_refused(struct sim *s, struct node *nd, uint32_t peer);
void node_on_fence_result(struct sim *s, struct node *nd, uint32_t subject, uint64_t inc,
			  enum agr_fence_result result);
void node_on_notify_result(struct sim *s, struct node *nd, enum agr_incident_kind kind,
			   uint32_t subject, uint64_t inc, int http);

/* Bytes this node's cores hold, measured: one node with a full table of
 * n members (RSS delta; 0 if /proc is unreadable). */
uint64_t node_footprint(uint32_t n);

#endif
