/* Several mnodes on a vnet, drained as the shell does (mnode_net.h). */
#include "tests/support/mnode_net.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* What travels on the virtual network: a peer message, or a result posted
 * back to the node that asked (a fence, Masakari's answer). */
enum item_kind { ITEM_MSG = 1, ITEM_FENCE_DONE, ITEM_NOTIFY_DONE };

struct item {
	enum item_kind kind;
	char subject[MESH_NAME_MAX];
	uint64_t incarnation;
	enum agr_incident_kind incident;
	struct mesh_wire_msg msg; /* ITEM_MSG */
};

/* Scratch: too large for the stack of a hook. */
static struct item scratch_item;
static struct mesh_wire_msg scratch_rx;

uint32_t mnode_net_id_of_name(const struct mnode_net *w, const char *name)
{
	for (uint32_t i = 0; i < w->n; i++)
		if (strcmp(w->names[i], name) == 0)
			return i;
	return MNODE_NONE;
}

static uint32_t id_of_addr(const struct mnode_net *w, const char *addr)
{
	for (uint32_t i = 0; i < w->n; i++)
		if (strcmp(w->addrs[i], addr) == 0)
			return i;
	fail_msg("no node has address %s", addr);
	return MNODE_NONE;
}

static void send_to(struct mnode_net *w, uint32_t from, uint32_t to,
		    const struct mesh_wire_msg *m)
{
	assert_int_not_equal(to, from);
	assert_true(to < w->n);
	if (w->vn == NULL)
		return; /* a node fed by hand: its messages go nowhere */
	scratch_item.kind = ITEM_MSG;
	scratch_item.msg = *m;
	vnet_send(w->vn, from, to, &scratch_item, sizeof(scratch_item));
}

static void post(struct mnode_net *w, uint32_t to, enum item_kind kind,
		 const struct agr_action *act, uint64_t delay_ns)
{
	if (w->vn == NULL)
		return;
	memset(&scratch_item, 0, offsetof(struct item, msg));
	scratch_item.kind = kind;
	snprintf(scratch_item.subject, sizeof(scratch_item.subject), "%s", act->subject);
	scratch_item.incarnation = act->incarnation;
	scratch_item.incident = act->incident;
	vnet_post(w->vn, to, delay_ns, &scratch_item, offsetof(struct item, msg));
}

void mnode_net_drain(struct mnode_net *w, uint32_t i)
{
	const struct mnode_net_file *f = &w->file[i];
	uint64_t now = w->vn != NULL ? w->vn->now : 0;
	size_t k;

	while ((k = mnode_poll(w->mn[i], w->out, 8)) > 0) {
		for (size_t j = 0; j < k; j++) {
			const struct mnode_out *o = &w->out[j];

			switch (o->kind) {
			case MNODE_OUT_SEND:
				/* MNODE_NONE with "": not a configured member, send nothing */
				for (uint32_t d = 0; d < o->n_to; d++) {
					if (o->to[d] != MNODE_NONE)
						send_to(w, i, f->id_of[o->to[d]], &o->msg);
					else if (o->to_addr[0])
						send_to(w, i, id_of_addr(w, o->to_addr), &o->msg);
				}
				break;
			case MNODE_OUT_BROADCAST:
				w->reports_sent += o->msg.kind == MESH_WIRE_PROCESS_REPORT;
				for (uint32_t d = 0; d < f->n_members; d++)
					if (mnode_reachable(w->mn[i], d))
						send_to(w, i, f->id_of[d], &o->msg);
				break;
			case MNODE_OUT_FENCE:
				assert_true(w->n_fences < MNODE_NET_MAX_RECS);
				w->fences[w->n_fences++] = (struct mnode_net_rec){
					.by = i, .subject = f->id_of[o->subject], .at = now,
					.incarnation = o->act.incarnation, .kind = o->act.kind };
				post(w, i, ITEM_FENCE_DONE, &o->act, w->fence_delay_ns);
				break;
			case MNODE_OUT_NOTIFY:
				assert_true(w->n_notifies < MNODE_NET_MAX_RECS);
				w->notifies[w->n_notifies++] = (struct mnode_net_rec){
					.by = i, .subject = f->id_of[o->subject], .at = now,
					.incarnation = o->act.incarnation,
					.failed_at_mono_ns = o->failed_at_mono_ns, .kind = o->act.kind,
					.host_status = o->act.host_status };
				post(w, i, ITEM_NOTIFY_DONE, &o->act, MNODE_NET_LATENCY_NS);
				break;
			case MNODE_OUT_MEMBER:
				if (w->cfg.hooks.member != NULL)
					w->cfg.hooks.member(w, i, o);
				break;
			case MNODE_OUT_LOG:
				if (w->cfg.hooks.log != NULL)
					w->cfg.hooks.log(w, i, o);
				break;
			}
		}
	}
}

static uint64_t hook_deadline(const struct vnet *vn, uint32_t i, void *ctx)
{
	struct mnode_net *w = ctx;
	uint64_t d;

	(void)vn;
	if (w->mn[i] == NULL)
		return VNET_NEVER;
	d = mnode_next_deadline(w->mn[i]);
	if (w->cfg.strict) {
		/* the one deadline is the earlier of the two cores' */
		uint64_t ms = membership_next_deadline(mnode_membership(w->mn[i]));
		uint64_t ag = agreement_next_deadline(mnode_agreement(w->mn[i]));

		assert_int_equal(d, ms < ag ? ms : ag);
	}
	return d;
}

static void hook_tick(struct vnet *vn, uint32_t i, void *ctx)
{
	struct mnode_net *w = ctx;

	assert_int_equal(mnode_tick(w->mn[i], vn->now), 0);
	mnode_net_drain(w, i);
}

static void hook_deliver(struct vnet *vn, uint32_t from, uint32_t to, const void *payload,
			 size_t len, void *ctx)
{
	struct mnode_net *w = ctx;
	const struct item *it = payload;
	struct mnode *nd = w->mn[to];
	int rc;

	(void)len;
	if (nd == NULL)
		return; /* stopped: nobody reads */
	if (it->kind == ITEM_MSG) {
		scratch_rx = it->msg;
		if (w->cfg.hooks.admit != NULL && !w->cfg.hooks.admit(w, from, to, &scratch_rx))
			return;
		(void)mnode_on_message(nd, &scratch_rx, vn->now);
	} else if (it->kind == ITEM_FENCE_DONE) {
		rc = mnode_on_fence_result(nd, it->subject, it->incarnation,
					   w->fence_result != 0 ? w->fence_result : AGR_FENCE_OK,
					   vn->now);
		if (w->cfg.strict)
			assert_int_equal(rc, 0);
	} else {
		rc = mnode_on_notify_result(nd, it->incident, it->subject, it->incarnation,
					    w->notify_http[to], vn->now);
		if (w->cfg.strict)
			assert_int_equal(rc, 0);
	}
	mnode_net_drain(w, to);
}

static bool hook_drop(const struct vnet *vn, uint32_t from, uint32_t to, const void *payload,
		      size_t len, void *ctx)
{
	struct mnode_net *w = ctx;
	const struct item *it = payload;

	(void)vn;
	(void)len;
	return it->kind == ITEM_MSG && w->cfg.hooks.drop(w, from, to, &it->msg);
}

void mnode_net_init(struct mnode_net *w, const struct mnode_net_config *cfg)
{
	assert_true(cfg->n <= MNODE_NET_MAX);
	memset(w, 0, sizeof(*w));
	w->cfg = *cfg;
	w->n = cfg->n;
	w->fence_delay_ns = MNODE_NET_LATENCY_NS;
	for (uint32_t i = 0; i < w->n; i++) {
		snprintf(w->names[i], sizeof(w->names[i]), "%s%u", cfg->name_prefix,
			 i + cfg->first_number);
		snprintf(w->addrs[i], sizeof(w->addrs[i]), "%s://10.0.0.%u:7947",
			 cfg->addr_scheme, i + 1);
		w->notify_http[i] = 202;
	}
	if (!cfg->network)
		return;
	struct vnet_config nc = { .n = w->n, .latency_ns = MNODE_NET_LATENCY_NS,
				  .seed = cfg->vnet_seed, .max_steps = cfg->max_steps };
	struct vnet_hooks hooks = { .ctx = w, .deliver = hook_deliver, .tick = hook_tick,
				    .deadline = hook_deadline,
				    .drop = cfg->hooks.drop != NULL ? hook_drop : NULL };

	w->vn = vnet_new(&nc, &hooks);
	assert_non_null(w->vn);
}

void mnode_net_free(struct mnode_net *w)
{
	vnet_free(w->vn);
	w->vn = NULL;
	for (uint32_t i = 0; i < w->n; i++) {
		mnode_free(w->mn[i]);
		w->mn[i] = NULL;
	}
}

struct mnode *mnode_net_create(struct mnode_net *w, uint32_t i, const uint32_t *ids, uint32_t k,
			       uint64_t seed)
{
	struct mnode_net_file *f = &w->file[i];
	struct mnode_config cfg = { .self_addr = w->addrs[i] };
	char err[256] = "";

	assert_true(i < w->n && k <= w->n);
	mnode_free(w->mn[i]);
	w->mn[i] = NULL;
	f->n_members = k;
	for (uint32_t m = 0; m < k; m++) {
		f->id_of[m] = ids[m];
		f->names[m] = w->names[ids[m]];
		f->urls[m] = w->addrs[ids[m]];
	}
	membership_config_default(&cfg.membership);
	cfg.membership.max_members = k;
	cfg.membership.seed = seed;
	agreement_config_default(&cfg.agreement);
	cfg.agreement.self = w->names[i];
	cfg.agreement.members = f->names;
	cfg.agreement.n_members = k;
	if (w->cfg.digests) {
		/* What the shell does at load: names and URLs of its file. */
		cfg.members_digest = mnode_members_digest(f->names, f->urls, k);
		cfg.hold_on_unknown_digest = true;
	}
	w->mn[i] = mnode_new(&cfg, err, sizeof(err));
	if (w->mn[i] == NULL)
		fail_msg("mnode_new(%s): %s", w->names[i], err);
	return w->mn[i];
}

void mnode_net_join(struct mnode_net *w, uint32_t i, uint32_t through)
{
	const char *seed_addr = through != MNODE_NONE ? w->addrs[through] : NULL;

	assert_non_null(w->vn);
	vnet_set_up(w->vn, i, true);
	assert_int_equal(mnode_join(w->mn[i], seed_addr ? &seed_addr : NULL, seed_addr ? 1 : 0,
				    w->vn->now),
			 0);
	mnode_net_drain(w, i);
}

void mnode_net_start(struct mnode_net *w, uint32_t i, const uint32_t *ids, uint32_t k,
		     uint32_t through, uint64_t seed)
{
	mnode_net_create(w, i, ids, k, seed);
	mnode_net_join(w, i, through);
}

void mnode_net_run_until(struct mnode_net *w, uint64_t until_ns)
{
	assert_int_equal(vnet_run_until(w->vn, until_ns), 0);
}
