/* Several mesh/node compositions (struct mnode) on tests/support/vnet, as
 * mimamorid's mesh thread drives one: every output drained the way the
 * shell does it (sends, broadcasts to the reachable, fences and Masakari
 * notifications recorded and answered as results posted back after a
 * delay), with fake time. Used by tests/mesh/test_node.c and
 * tests/mesh/test_config_drift.c.
 *
 * Each node has its own members file (node ids in file order): its mnode's
 * member index m is node id file[i].id_of[m]. Records and hooks speak node
 * ids. The tests' own rules stay theirs, as explicit hooks:
 *   drop    a message the network would deliver is lost (true);
 *   admit   the receiving shell's filter on a copy it may edit (false:
 *           refused), as mesh_node.c on_deliver does;
 *   member  an MNODE_OUT_MEMBER output (o->self: about itself);
 *   log     an MNODE_OUT_LOG output.
 *
 *   struct mnode_net_config c = { .n = 5, .name_prefix = "n", ... };
 *   mnode_net_init(&w, &c);
 *   mnode_net_start(&w, 0, ids, 5, MNODE_NONE, 1000);
 *   mnode_net_run_until(&w, 5 * NS_PER_S);
 */
#ifndef MIMAMORI_TESTS_SUPPORT_MNODE_NET_H
#define MIMAMORI_TESTS_SUPPORT_MNODE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mesh/node.h"
#include "tests/support/vnet.h"

#define MNODE_NET_MAX 8
#define MNODE_NET_MAX_RECS 64
#define MNODE_NET_LATENCY_NS 1000000ULL /* every link, fence and notification: 1 ms */

/* A fence or a notification the shell was asked for. */
struct mnode_net_rec {
	uint32_t by, subject; /* node ids */
	uint64_t at, incarnation;
	uint64_t failed_at_mono_ns; /* notifications */
	enum agr_action_kind kind;
	enum agr_host_status host_status;
};

/* A node's members file: node ids in file order, names and URLs as its
 * agreement sees them. */
struct mnode_net_file {
	uint32_t n_members;
	uint32_t id_of[MNODE_NET_MAX];
	const char *names[MNODE_NET_MAX];
	const char *urls[MNODE_NET_MAX];
};

struct mnode_net;

struct mnode_net_hooks {
	bool (*drop)(struct mnode_net *w, uint32_t from, uint32_t to,
		     const struct mesh_wire_msg *m);
	bool (*admit)(struct mnode_net *w, uint32_t from, uint32_t to, struct mesh_wire_msg *m);
	void (*member)(struct mnode_net *w, uint32_t node, const struct mnode_out *o);
	void (*log)(struct mnode_net *w, uint32_t node, const struct mnode_out *o);
};

struct mnode_net_config {
	uint32_t n;
	/* node i is <name_prefix><i + first_number>, at
	 * <addr_scheme>://10.0.0.<i + 1>:7947 */
	const char *name_prefix;
	uint32_t first_number;
	const char *addr_scheme;
	/* false: no vnet; nodes are fed by hand and their messages and
	 * results go nowhere */
	bool network;
	uint64_t vnet_seed, max_steps;
	/* each node carries its file's digest, as the daemon computes it at
	 * load, and holds on a peer's unknown one (hold_on_unknown_digest) */
	bool digests;
	/* every deadline is exactly the earlier of the two cores' (nothing
	 * else, e.g. a digest hold, may set it) and every fence and notify
	 * result is taken (0) */
	bool strict;
	struct mnode_net_hooks hooks;
	void *ctx; /* the test's, for its hooks */
};

struct mnode_net {
	struct mnode_net_config cfg;
	uint32_t n;
	struct vnet *vn; /* NULL without network */
	char names[MNODE_NET_MAX][MESH_NAME_MAX];
	char addrs[MNODE_NET_MAX][MESH_ADDR_MAX];
	struct mnode_net_file file[MNODE_NET_MAX];
	struct mnode *mn[MNODE_NET_MAX]; /* NULL: not running */
	struct mnode_out out[8];          /* scratch, also for tests that poll by hand */
	struct mnode_net_rec fences[MNODE_NET_MAX_RECS], notifies[MNODE_NET_MAX_RECS];
	size_t n_fences, n_notifies;
	uint32_t reports_sent; /* broadcasts of a process report */
	/* the answers: fences fence_result (0: AGR_FENCE_OK) after
	 * fence_delay_ns; node i's Masakari notify_http[i] after 1 ms */
	enum agr_fence_result fence_result;
	uint64_t fence_delay_ns;
	int notify_http[MNODE_NET_MAX];
};

/* Names, addresses and the vnet (every node up); no mnode yet. Answers
 * AGR_FENCE_OK and 202 after 1 ms. */
void mnode_net_init(struct mnode_net *w, const struct mnode_net_config *cfg);
void mnode_net_free(struct mnode_net *w);

/* Node i's mnode, as a fresh daemon creates it from a file listing
 * ids[0..k), with membership seed `seed`; a running one is freed first.
 * Not joined. */
struct mnode *mnode_net_create(struct mnode_net *w, uint32_t i, const uint32_t *ids, uint32_t k,
			       uint64_t seed);
/* Node i up on the vnet, joining through node `through` (MNODE_NONE:
 * none) now, drained. */
void mnode_net_join(struct mnode_net *w, uint32_t i, uint32_t through);
/* Both. */
void mnode_net_start(struct mnode_net *w, uint32_t i, const uint32_t *ids, uint32_t k,
		     uint32_t through, uint64_t seed);

/* Everything node i's composition asks for, as the shell does it. */
void mnode_net_drain(struct mnode_net *w, uint32_t i);
void mnode_net_run_until(struct mnode_net *w, uint64_t until_ns);

uint32_t mnode_net_id_of_name(const struct mnode_net *w, const char *name);

#endif
