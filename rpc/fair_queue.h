/* Per-sender fair receive queue: what one peer sends cannot crowd out
 * another peer's messages (issue 10: one flooding member, a stolen key or a
 * bug, starved every healthy host's acks through one shared FIFO).
 *
 * n_senders senders (a peer's index), items of item_size bytes in a pool
 * of `slots`. Each sender has two FIFOs: urgent (probes and acks: what a
 * failure detector times) and bulk (the rest), each capped per sender.
 * Bulk items may fill the pool only up to slots - reserve: the last
 * `reserve` slots are kept for urgent ones. Pop serves the senders in turn
 * (round robin, one item each), every urgent item before any bulk one. So
 * a flooding sender holds at most its caps, and another sender's ack waits
 * behind at most one item of each other sender with urgent items.
 *
 * No locking (the caller's), no allocation after fair_queue_new. */
#ifndef MIMAMORI_RPC_FAIR_QUEUE_H
#define MIMAMORI_RPC_FAIR_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fair_queue_config {
	uint32_t n_senders;         /* 1.. */
	uint32_t slots;             /* pool size, >= 1 */
	uint32_t reserve;           /* < slots: for urgent items only */
	uint32_t per_sender_urgent; /* >= 1 */
	uint32_t per_sender_bulk;   /* >= 1 */
	size_t item_size;           /* > 0 */
};

struct fair_queue;

/* NULL with errno EINVAL (bad config) or ENOMEM. */
struct fair_queue *fair_queue_new(const struct fair_queue_config *cfg);
void fair_queue_free(struct fair_queue *q);

/* Copies len (<= item_size) bytes of item. 0; -ENOBUFS when the sender's
 * share of its class, or the pool (for bulk: the pool minus the reserve),
 * is full: dropped, counted for that sender; -EINVAL for a bad sender or
 * length. */
int fair_queue_push(struct fair_queue *q, uint32_t sender, bool urgent, const void *item,
		    size_t len);
/* The next item (see above) into out (item_size bytes; only the pushed
 * length is meaningful) and its sender; false when empty. */
bool fair_queue_pop(struct fair_queue *q, void *out, uint32_t *sender);
uint32_t fair_queue_len(const struct fair_queue *q);
/* Items of sender dropped so far (0 for a bad sender). */
uint64_t fair_queue_dropped(const struct fair_queue *q, uint32_t sender);

#endif
