/* mimamori-sim: network model, see net.h. */
#include "tools/sim/net.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int net_init(struct net *net, uint32_t n, const struct net_config *cfg, uint64_t seed)
{
	memset(net, 0, sizeof(*net));
	net->n = n;
	net->cfg = *cfg;
	double l = cfg->loss < 0 ? 0 : cfg->loss > 1 ? 1 : cfg->loss;
	net->loss_threshold = (uint64_t)(l * 4294967296.0);
	rng_seed(&net->rng, seed, 1);
	net->group = calloc(n, sizeof(*net->group));
	net->flags = calloc(n, sizeof(*net->flags));
	if (net->group == NULL || net->flags == NULL) {
		net_free(net);
		return -ENOMEM;
	}
	return 0;
}

void net_free(struct net *net)
{
	free(net->group);
	free(net->flags);
	free(net->blocks);
	memset(net, 0, sizeof(*net));
}

static bool blocked(const struct net *net, uint32_t from, uint32_t to)
{
	for (size_t i = 0; i < net->n_blocks; i++)
		if (net->blocks[i].from == from && net->blocks[i].to == to)
			return true;
	return false;
}

bool net_link_ok(const struct net *net, uint32_t from, uint32_t to)
{
	if (net->group[from] != net->group[to])
		return false;
	if ((net->flags[from] & (NET_ISOLATED | NET_OUT_CUT)) ||
	    (net->flags[to] & (NET_ISOLATED | NET_IN_CUT)))
		return false;
	return net->n_blocks == 0 || !blocked(net, from, to);
}

bool net_transmit(struct net *net, uint64_t *delay_ns)
{
	if (net->loss_threshold > 0 && (rng_next(&net->rng) >> 32) < net->loss_threshold)
		return false;
	*delay_ns = net->cfg.latency_ns +
		    (net->cfg.jitter_ns > 0 ? rng_below(&net->rng, net->cfg.jitter_ns) : 0);
	if (*delay_ns == 0)
		*delay_ns = 1;
	return true;
}

void net_set_group(struct net *net, uint32_t node, uint16_t group)
{
	net->group[node] = group;
}

void net_set_flag(struct net *net, uint32_t node, uint8_t flag, bool on)
{
	if (on)
		net->flags[node] |= flag;
	else
		net->flags[node] &= (uint8_t)~flag;
}

void net_block(struct net *net, uint32_t from, uint32_t to)
{
	if (blocked(net, from, to))
		return;
	if (net->n_blocks == net->cap_blocks) {
		size_t cap = net->cap_blocks ? 2 * net->cap_blocks : 16;
		struct net_block *b = realloc(net->blocks, cap * sizeof(*b));
		if (b == NULL)
			abort();
		net->blocks = b;
		net->cap_blocks = cap;
	}
	net->blocks[net->n_blocks++] = (struct net_block){ .from = from, .to = to };
}

void net_unblock(struct net *net, uint32_t from, uint32_t to)
{
	for (size_t i = 0; i < net->n_blocks; i++) {
		if (net->blocks[i].from == from && net->blocks[i].to == to) {
			net->blocks[i] = net->blocks[--net->n_blocks];
			return;
		}
	}
}

void net_heal(struct net *net)
{
	memset(net->group, 0, net->n * sizeof(*net->group));
	memset(net->flags, 0, net->n * sizeof(*net->flags));
	net->n_blocks = 0;
}

/* Open: reachable both ways by the members of its group (no flag). */
static bool open_node(const struct net *net, const bool *up, uint32_t i)
{
	return up[i] && net->flags[i] == 0;
}

void net_bidir_counts(const struct net *net, const bool *up, uint32_t *out)
{
	uint32_t *per_group = calloc(65536, sizeof(*per_group));
	if (per_group == NULL)
		abort();
	for (uint32_t i = 0; i < net->n; i++)
		if (open_node(net, up, i))
			per_group[net->group[i]]++;
	for (uint32_t i = 0; i < net->n; i++)
		out[i] = !up[i] ? 0 : open_node(net, up, i) ? per_group[net->group[i]] : 1;
	/* A blocked pair (either direction) of open nodes in one group loses
	 * its two-way link: once per unordered pair. */
	for (size_t k = 0; k < net->n_blocks; k++) {
		uint32_t a = net->blocks[k].from, b = net->blocks[k].to;
		if (a == b || !open_node(net, up, a) || !open_node(net, up, b) ||
		    net->group[a] != net->group[b])
			continue;
		bool dup = false;
		for (size_t j = 0; j < k && !dup; j++)
			dup = (net->blocks[j].from == b && net->blocks[j].to == a) ||
			      (net->blocks[j].from == a && net->blocks[j].to == b);
		if (dup)
			continue;
		out[a]--;
		out[b]--;
	}
	free(per_group);
}
