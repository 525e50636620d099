/* mimamori-sim: the network model. Every message gets its own fate:
 * lost with probability `loss`, else delivered after latency + a uniform
 * jitter in [0, jitter). Reachability: partitions as sets (a message
 * crosses only between nodes of the same group), isolated nodes (nothing
 * in or out), per-node inbound / outbound cuts, and per-direction blocks
 * (A -> B cut while B -> A works). Reachability is checked when a message
 * is sent and again when it arrives (a cut catches messages in flight). */
#ifndef MIMAMORI_SIM_NET_H
#define MIMAMORI_SIM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/sim/rng.h"

struct net_config {
	uint64_t latency_ns; /* base one-way latency */
	uint64_t jitter_ns;  /* + uniform [0, jitter) */
	double loss;         /* 0..1 per message */
};

enum {
	NET_ISOLATED = 1u << 0, /* no message in or out */
	NET_IN_CUT = 1u << 1,   /* nothing reaches it; it can still send */
	NET_OUT_CUT = 1u << 2,  /* nothing it sends leaves; it still receives */
};

struct net_block {
	uint32_t from, to;
};

struct net {
	uint32_t n;
	struct net_config cfg;
	uint64_t loss_threshold; /* loss * 2^32 */
	struct sim_rng rng;
	uint16_t *group;
	uint8_t *flags;
	struct net_block *blocks;
	size_t n_blocks, cap_blocks;
};

/* 0 or -ENOMEM. */
int net_init(struct net *net, uint32_t n, const struct net_config *cfg, uint64_t seed);
void net_free(struct net *net);

/* Can a message from -> to get through the cuts right now? */
bool net_link_ok(const struct net *net, uint32_t from, uint32_t to);
/* Random loss and delay of one message: false when lost. */
bool net_transmit(struct net *net, uint64_t *delay_ns);

void net_set_group(struct net *net, uint32_t node, uint16_t group);
void net_set_flag(struct net *net, uint32_t node, uint8_t flag, bool on);
/* Per-direction block from -> to (idempotent). */
void net_block(struct net *net, uint32_t from, uint32_t to);
void net_unblock(struct net *net, uint32_t from, uint32_t to);
/* One group, no flags, no blocks. */
void net_heal(struct net *net);

/* For each node, how many live nodes it can exchange messages with in
 * both directions, itself included (up[] says who is powered on; a down
 * node gets 0). O(n + blocks). */
void net_bidir_counts(const struct net *net, const bool *up, uint32_t *out);

#endif
