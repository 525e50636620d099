/* See fair_queue.h. Slots are linked into per-sender FIFOs through
 * next[]; free slots form a stack. Senders with items of a class wait in
 * that class's ring (each sender at most once), served head first and
 * re-appended while they still have items: round robin with a quantum of
 * one item. */
#include "rpc/fair_queue.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

enum { URGENT = 0, BULK = 1, CLASSES = 2 };

struct fifo {
	uint32_t head, tail, len;
};

struct sender {
	struct fifo q[CLASSES];
	bool in_ring[CLASSES];
	uint64_t dropped;
};

struct ring {
	uint32_t *v; /* n_senders entries */
	uint32_t head, len;
};

struct fair_queue {
	struct fair_queue_config cfg;
	unsigned char *items; /* slots * item_size */
	uint32_t *next;       /* slots: FIFO link, or free-stack link */
	uint32_t free_top, used;
	struct sender *senders;
	struct ring ring[CLASSES];
};

struct fair_queue *fair_queue_new(const struct fair_queue_config *cfg)
{
	struct fair_queue *q;

	if (!cfg || cfg->n_senders == 0 || cfg->slots == 0 || cfg->slots == NIL ||
	    cfg->reserve >= cfg->slots || cfg->per_sender_urgent == 0 ||
	    cfg->per_sender_bulk == 0 || cfg->item_size == 0 ||
	    cfg->item_size > SIZE_MAX / cfg->slots) {
		errno = EINVAL;
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->cfg = *cfg;
	q->items = malloc(cfg->slots * cfg->item_size);
	q->next = calloc(cfg->slots, sizeof(*q->next));
	q->senders = calloc(cfg->n_senders, sizeof(*q->senders));
	q->ring[URGENT].v = calloc(cfg->n_senders, sizeof(uint32_t));
	q->ring[BULK].v = calloc(cfg->n_senders, sizeof(uint32_t));
	if (!q->items || !q->next || !q->senders || !q->ring[URGENT].v || !q->ring[BULK].v) {
		fair_queue_free(q);
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < cfg->slots; i++)
		q->next[i] = i + 1 < cfg->slots ? i + 1 : NIL;
	q->free_top = 0;
	for (uint32_t s = 0; s < cfg->n_senders; s++)
		for (int c = 0; c < CLASSES; c++)
			q->senders[s].q[c].head = q->senders[s].q[c].tail = NIL;
	return q;
}

void fair_queue_free(struct fair_queue *q)
{
	if (!q)
		return;
	free(q->items);
	free(q->next);
	free(q->senders);
	free(q->ring[URGENT].v);
	free(q->ring[BULK].v);
	free(q);
}

static void ring_append(struct fair_queue *q, int c, uint32_t sender)
{
	struct ring *r = &q->ring[c];

	assert(r->len < q->cfg.n_senders && !q->senders[sender].in_ring[c]);
	r->v[(r->head + r->len) % q->cfg.n_senders] = sender;
	r->len++;
	q->senders[sender].in_ring[c] = true;
}

int fair_queue_push(struct fair_queue *q, uint32_t sender, bool urgent, const void *item,
		    size_t len)
{
	int c = urgent ? URGENT : BULK;
	struct sender *s;
	struct fifo *f;
	uint32_t cap, room, slot;

	assert(q);
	if (sender >= q->cfg.n_senders || len > q->cfg.item_size || (len > 0 && !item))
		return -EINVAL;
	s = &q->senders[sender];
	f = &s->q[c];
	cap = urgent ? q->cfg.per_sender_urgent : q->cfg.per_sender_bulk;
	room = urgent ? q->cfg.slots : q->cfg.slots - q->cfg.reserve;
	if (f->len >= cap || q->used >= room) {
		s->dropped++;
		return -ENOBUFS;
	}
	assert(q->free_top != NIL);
	slot = q->free_top;
	q->free_top = q->next[slot];
	q->used++;
	memcpy(q->items + (size_t)slot * q->cfg.item_size, item, len);
	q->next[slot] = NIL;
	if (f->tail == NIL)
		f->head = slot;
	else
		q->next[f->tail] = slot;
	f->tail = slot;
	f->len++;
	if (!s->in_ring[c])
		ring_append(q, c, sender);
	return 0;
}

bool fair_queue_pop(struct fair_queue *q, void *out, uint32_t *sender)
{
	assert(q && out);
	for (int c = 0; c < CLASSES; c++) {
		struct ring *r = &q->ring[c];
		uint32_t who, slot;
		struct fifo *f;

		if (r->len == 0)
			continue;
		who = r->v[r->head];
		r->head = (r->head + 1) % q->cfg.n_senders;
		r->len--;
		q->senders[who].in_ring[c] = false;
		f = &q->senders[who].q[c];
		assert(f->len > 0 && f->head != NIL);
		slot = f->head;
		f->head = q->next[slot];
		if (f->head == NIL)
			f->tail = NIL;
		f->len--;
		if (f->len > 0)
			ring_append(q, c, who);
		memcpy(out, q->items + (size_t)slot * q->cfg.item_size, q->cfg.item_size);
		q->next[slot] = q->free_top;
		q->free_top = slot;
		q->used--;
		if (sender)
			*sender = who;
		return true;
	}
	assert(q->used == 0);
	return false;
}

uint32_t fair_queue_len(const struct fair_queue *q)
{
	return q ? q->used : 0;
}

uint64_t fair_queue_dropped(const struct fair_queue *q, uint32_t sender)
{
	return q && sender < q->cfg.n_senders ? q->senders[sender].dropped : 0;
}
