/* mimamori-sim: the engine. N nodes (node.h) on a simulated network
 * (net.h), driven by one event queue (evq.h) in virtual time: nothing
 * depends on the wall clock or on memory addresses, so the same
 * configuration and seed give the same run, byte for byte.
 *
 * A run: every node starts at t = 0 with a full, alive view (warm start,
 * node_warm_start) and its first timer at a random phase; the warm-up
 * lasts until the resulting dissemination of "alive" records has died
 * down (no ALIVE record at incarnation 0 gossiped for 100 ms, at least
 * 1 s; or --warmup); then the scenario starts (t0) and runs for
 * --duration. Events of a crashed node are dropped; events of a stalled
 * node wait until the stall ends. */
#ifndef MIMAMORI_SIM_SIM_H
#define MIMAMORI_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/units.h"
#include "tools/sim/evq.h"
#include "mesh/agreement.h"
#include "mesh/membership.h"
#include "tools/sim/nemesis.h"
#include "tools/sim/net.h"
#include "tools/sim/node.h"
#include "tools/sim/rng.h"
#include "tools/sim/scenario.h"
#include "tools/sim/services.h"
#include "tools/sim/stats.h"

enum sim_ev_kind {
	EV_TIMER = 1,      /* node: its cores' next deadline */
	EV_MSG,            /* node: data.ptr = struct sim_msg * */
	EV_FENCE_DONE,     /* node: data.ptr = services request */
	EV_MASAKARI_REPLY, /* node: data.ptr = services request */
	EV_SCENARIO,       /* data.u = scenario code */
	EV_MSG_RETRY,      /* tcp: retransmission of data.ptr to node, attempt aux */
};

/* datagram: a lost or cut message is gone. tcp: it is retransmitted by
 * the sender's kernel after rto, 2 rto, 4 rto, ... until the link works
 * (TCP_MAX_RETRIES attempts, ~12.6 s at rto 200 ms, then dropped: the
 * connection breaks); order between messages is not enforced (no
 * head-of-line blocking). */
enum transport { TRANSPORT_DATAGRAM = 0, TRANSPORT_TCP = 1 };
#define TCP_MAX_RETRIES 6

struct sim_config {
	uint32_t n;
	uint64_t seed;
	struct net_config net;
	enum transport transport;
	uint64_t rto_ns;
	enum fence_mode fence_mode;
	uint64_t fence_delay_ns;
	uint64_t masakari_rtt_ns;
	uint64_t warmup_ns;   /* 0: automatic */
	uint64_t duration_ns; /* after the warm-up */
	bool trace;           /* decisions on stderr */
	bool converged;       /* warm start drops the queued "alive" gossip */
	const struct scenario *scenario;
	struct scenario_knobs knobs;
	struct membership_config mcfg; /* max_members and seed set per node */
	struct agreement_config acfg;  /* self and members set per node */
};

/* Scenario state (scenario.c). */
struct scenario_state {
	struct sim_rng rng;
	uint32_t target;   /* stalled / flapping / cut node */
	uint32_t target2;  /* asym: the other end */
	uint16_t *plan;    /* partition / split: group of every node */
	uint64_t end;
};

struct sim {
	struct sim_config cfg;
	uint32_t n;
	uint64_t now;
	struct evq q;
	struct net net;
	struct node *nodes;
	char (*names)[MESH_NAME_MAX];
	const char **name_ptrs;
	/* every node's name and address, stored once and shared read-only
	 * by all membership cores (built by the first node_init) */
	struct mesh_directory *dir;
	struct mnode_names *mnames; /* likewise the nodes' name -> index table */
	bool *up;
	bool *healthy;
	uint32_t *bidir;
	uint32_t n_healthy;
	struct services svc;
	struct stats st;
	struct scenario_state scn;
	struct sim_rng start_rng;
	/* scratch buffers for draining the nodes and feeding them */
	struct mnode_out outbuf[8];
	struct mesh_wire_msg scratch;
	bool warming;
	uint64_t warm_window_start, warm_window_alive;
	/* per node: the members digest its daemon starts with (0: its
	 * list's own); another value models an edited members file */
	uint64_t *digest_of;
	struct nemesis *nem; /* nemesis.h: the ground-truth checker, or NULL */
};

/* NULL on error (message on stderr). */
struct sim *sim_new(const struct sim_config *cfg);
void sim_free(struct sim *s);
/* Warm-up, scenario, until t0 + duration. */
void sim_run(struct sim *s);

void sim_schedule(struct sim *s, uint64_t at, uint32_t kind, uint32_t node, void *ptr,
		  uint64_t u);
/* One message from -> to over the network (takes a reference of sm). */
void sim_send(struct sim *s, uint32_t from, uint32_t to, struct sim_msg *sm);
/* Crash or fence: the node stops; its pending events are dropped. */
void sim_power_off(struct sim *s, uint32_t node);
/* The node's daemon dies / starts again with empty state (a new
 * incarnation of its cores, joined as after a push-pull); its host stays up. */
void sim_daemon_kill(struct sim *s, uint32_t node);
void sim_daemon_start(struct sim *s, uint32_t node);
/* After any change of power or reachability. */
void sim_health_update(struct sim *s);
/* Trace line on stderr (with --trace). */
void sim_trace(const struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
