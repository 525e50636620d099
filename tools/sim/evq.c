/* mimamori-sim: binary heap of events, see evq.h. */
#include "tools/sim/evq.h"

#include <stdio.h>
#include <stdlib.h>

static bool before(const struct sim_event *a, const struct sim_event *b)
{
	return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

void evq_init(struct evq *q)
{
	q->heap = NULL;
	q->len = q->cap = 0;
	q->seq = 0;
	q->peak = 0;
}

void evq_free(struct evq *q)
{
	free(q->heap);
	evq_init(q);
}

void evq_push(struct evq *q, const struct sim_event *ev)
{
	if (q->len == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 4096;
		struct sim_event *h = realloc(q->heap, cap * sizeof(*h));
		if (h == NULL) {
			fprintf(stderr, "mimamori-sim: out of memory (event queue of %zu)\n", cap);
			abort();
		}
		q->heap = h;
		q->cap = cap;
	}
	struct sim_event it = *ev;
	it.seq = q->seq++;
	size_t i = q->len++;
	while (i > 0 && before(&it, &q->heap[(i - 1) / 2])) {
		q->heap[i] = q->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	q->heap[i] = it;
	if (q->len > q->peak)
		q->peak = q->len;
}

bool evq_pop(struct evq *q, struct sim_event *out)
{
	if (q->len == 0)
		return false;
	*out = q->heap[0];
	struct sim_event last = q->heap[--q->len];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= q->len)
			break;
		if (c + 1 < q->len && before(&q->heap[c + 1], &q->heap[c]))
			c++;
		if (!before(&q->heap[c], &last))
			break;
		q->heap[i] = q->heap[c];
		i = c;
	}
	if (q->len > 0)
		q->heap[i] = last;
	return true;
}

uint64_t evq_next_at(const struct evq *q)
{
	return q->len > 0 ? q->heap[0].at : UINT64_MAX;
}
