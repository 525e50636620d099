/* The membership core's member table (mesh/membership.c's state, internal
 * to mesh/): fixed slots, each member's strings, and a name index.
 *
 * - members[]: cap slots, slot 0 is us (MT_SELF). A slot's state is the
 *   protocol's (enum mesh_state); MESH_STATE_NONE marks a free slot.
 *   Free slots: the never used ones in order, then a stack of freed ones
 *   (filled by frees, not at init, so its pages are touched only by
 *   frees). Evicting a member to make room is the protocol's choice.
 * - Strings are references, not copies (N members x N simulated nodes
 *   made ~256 bytes of strings per member the bulk of the simulator's
 *   memory): an entry of the shared immutable directory
 *   (membership_config.directory), one of the REF_* below, or the
 *   member's own string block (a bounded pool).
 * - The name index: open addressing, linear probing, backward-shift
 *   deletion (no tombstones); capacity a power of two >= 1.5 x cap.
 *
 * The SWIM + Lifeguard fields of a slot (suspicion, broadcast queue, RTT)
 * live in struct member too, so one slot stays 56 bytes (N x N of them in
 * the simulator); the table initialises them to "none" and clears them on
 * release, but never reads them. Not thread-safe: one owner. */
#ifndef MIMAMORI_MESH_MEMBER_TABLE_H
#define MIMAMORI_MESH_MEMBER_TABLE_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "mesh/membership.h"

#define MT_NIL UINT32_MAX
#define MT_SELF 0u

/* Where a string of a member is, when not in the directory. */
#define REF_OWN (MT_NIL - 1)  /* in the member's own string block */
#define REF_NONE (MT_NIL - 2) /* by: "" */
#define REF_SELF (MT_NIL - 3) /* by: our own name */
#define REF_NAME (MT_NIL - 4) /* by: the member's own name (left) */

/* 56 bytes, no padding: one per member per core, N x N in the simulator. */
struct member {
	uint64_t incarnation;
	/* protocol: the highest incarnation it sent us itself (0: none) */
	uint64_t heard_inc;
	uint64_t state_since_ns;
	uint32_t name_hash;   /* low 32 bits of fnv1a64(): index home and check */
	uint32_t last_rtt_us; /* our last direct ping -> ack, rounded up; 0 = none */
	uint32_t name_ref, by_ref; /* directory entry or REF_* */
	uint32_t own;         /* own string block (own[]) or MT_NIL */
	uint32_t suspect_pos; /* protocol: index in suspects[] and susp[] or MT_NIL */
	/* protocol: broadcast queue */
	uint32_t bq_prev, bq_next;
	uint16_t wire; /* member_update_wire_size() of name, addr, by */
	uint8_t bq_transmits; /* < MESH_MAX_RETRANSMITS */
	bool bq_queued;
	uint8_t state; /* enum mesh_state; MESH_STATE_NONE: free slot */
	/* the address: in the own block, else the directory entry of the name */
	bool addr_own;
};
_Static_assert(MESH_MAX_RETRANSMITS <= UINT8_MAX, "bq_transmits is a byte");
_Static_assert(sizeof(struct member) == 64, "struct member grew");

/* Strings not found in the directory (all of them without one). */
struct own_strings {
	char name[MESH_NAME_MAX];
	char addr[MESH_ADDR_MAX];
	char by[MESH_NAME_MAX];
};

struct member_table {
	struct member *members;
	uint32_t cap; /* slots, ours included */
	const struct mesh_directory *dir; /* NULL: every string is own */
	/* Free slots: never used ones are next_fresh..cap - 1 (taken in
	 * order), freed ones are on free_stack (taken first, last freed
	 * first); n_free counts both. */
	uint32_t *free_stack;
	uint32_t n_free, n_stack, next_fresh;
	uint32_t *index; /* member slot + 1, 0 = empty */
	uint32_t index_mask;
	struct own_strings *own;
	uint32_t *own_free;
	uint32_t n_own, n_own_free;
};

/* Copies a string known to fit (checked by validation or at create). */
static inline void copy_str(char *dst, size_t cap, const char *src)
{
	size_t len = strlen(src);

	assert(dst && src && cap > 0);
	assert(len < cap);
	memcpy(dst, src, len + 1);
}

/* Bytes one update with these strings takes on the wire (<=
 * MESH_UPDATE_MAX_WIRE). */
uint32_t member_update_wire_size(const char *name, const char *addr, const char *by);

/* An empty table of cap (>= 1) slots with n_own own string blocks (>= 1),
 * strings looked up in dir (may be NULL). 0 or -ENOMEM (t is then empty
 * and member_table_fini() is still safe). */
int member_table_init(struct member_table *t, uint32_t cap, uint32_t n_own,
		      const struct mesh_directory *dir);
void member_table_fini(struct member_table *t);

/* Our slot: takes the name and address, ALIVE, indexed. */
void member_table_add_self(struct member_table *t, const char *name, const char *addr);

/* ---- strings ---- */
const char *member_name(const struct member_table *t, const struct member *mb);
const char *member_addr(const struct member_table *t, const struct member *mb);
const char *member_by(const struct member_table *t, const struct member *mb);
/* Whether mb may take these strings (NULL: unchanged): all references,
 * or an own block it has or can get. */
bool member_strings_fit(const struct member_table *t, const struct member *mb,
			const char *name, const char *addr, const char *by);
/* Sets mb's strings (NULL: unchanged); false, and nothing changed, when
 * an own block is needed and none is free. */
bool member_set_strings(struct member_table *t, struct member *mb, const char *name,
			const char *addr, const char *by);

/* ---- the name index ---- */
/* The slot of name, or MT_NIL. */
uint32_t member_find(const struct member_table *t, const char *name);
/* Indexes slot idx under its name (the slot is in use, its name set). */
void member_index_insert(struct member_table *t, uint32_t idx);

/* ---- slots ---- */
/* A free slot, its fields "none" (MESH_STATE_NONE, no strings), not yet
 * indexed; MT_NIL when the table is full. */
uint32_t member_slot_take(struct member_table *t);
/* Gives back a slot just taken and never indexed (its strings could not
 * be set): it is the next one taken. */
void member_slot_untake(struct member_table *t, uint32_t idx);
/* Frees slot idx (not ours, in use, indexed): out of the index, its own
 * block back to the pool, the slot cleared. The protocol's own
 * bookkeeping of it must be undone first. */
void member_slot_release(struct member_table *t, uint32_t idx);

#endif
