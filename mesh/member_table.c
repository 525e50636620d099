/* See member_table.h: the member slots, their strings (directory
 * references or own blocks) and the open-addressing name index. */
#include "mesh/member_table.h"

#include <errno.h>
#include <stdlib.h>

#include "base/hash.h"
#include "base/text.h"

/* An immutable name -> address table shared by many cores (the
 * simulator's N nodes): open addressing, entry + 1 in index[]. */
struct mesh_directory {
	uint32_t n, mask;
	uint32_t *index; /* open addressing: entry + 1, 0 = empty */
	uint64_t *hash;
	const char **name, **addr;
	char *strings;
};

static uint32_t dir_find(const struct mesh_directory *d, const char *name, uint64_t h)
{
	uint32_t i = (uint32_t)h & d->mask;

	for (;;) {
		uint32_t v = d->index[i];
		if (v == 0)
			return MT_NIL;
		if (d->hash[v - 1] == h && strcmp(d->name[v - 1], name) == 0)
			return v - 1;
		i = (i + 1) & d->mask;
	}
}

struct mesh_directory *mesh_directory_new(const char *const *names, const char *const *addrs,
					  uint32_t n)
{
	struct mesh_directory *d;
	size_t total = 0;
	uint32_t cap = 1;
	char *p;

	if (!names || !addrs || n == 0 || n > MESH_MAX_MEMBERS) {
		errno = EINVAL;
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (!names[i] || !addrs[i] || strlen(names[i]) >= MESH_NAME_MAX ||
		    strlen(addrs[i]) >= MESH_ADDR_MAX ||
		    names[i][0] == '\0' || addrs[i][0] == '\0' || text_has_control(names[i]) ||
		    text_has_control(addrs[i])) {
			errno = EINVAL;
			return NULL;
		}
		total += strlen(names[i]) + strlen(addrs[i]) + 2;
	}
	while (cap < 2 * n)
		cap <<= 1;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->index = calloc(cap, sizeof(*d->index));
	d->hash = calloc(n, sizeof(*d->hash));
	d->name = calloc(n, sizeof(*d->name));
	d->addr = calloc(n, sizeof(*d->addr));
	d->strings = malloc(total);
	if (!d->index || !d->hash || !d->name || !d->addr || !d->strings) {
		mesh_directory_free(d);
		errno = ENOMEM;
		return NULL;
	}
	d->mask = cap - 1;
	p = d->strings;
	for (uint32_t i = 0; i < n; i++) {
		size_t ln = strlen(names[i]) + 1, la = strlen(addrs[i]) + 1;
		uint64_t h = fnv1a64(names[i]);
		uint32_t j = (uint32_t)h & d->mask;

		if (dir_find(d, names[i], h) != MT_NIL) {
			mesh_directory_free(d);
			errno = EINVAL; /* a name twice */
			return NULL;
		}
		memcpy(p, names[i], ln);
		d->name[i] = p;
		p += ln;
		memcpy(p, addrs[i], la);
		d->addr[i] = p;
		p += la;
		d->hash[i] = h;
		while (d->index[j] != 0)
			j = (j + 1) & d->mask;
		d->index[j] = i + 1;
		d->n = i + 1;
	}
	return d;
}

void mesh_directory_free(struct mesh_directory *d)
{
	if (!d)
		return;
	free(d->index);
	free(d->hash);
	free(d->name);
	free(d->addr);
	free(d->strings);
	free(d);
}

uint32_t member_update_wire_size(const char *name, const char *addr, const char *by)
{
	size_t n = strlen(name) + strlen(addr) + strlen(by) + MESH_UPDATE_OVERHEAD;

	assert(n <= MESH_UPDATE_MAX_WIRE);
	return (uint32_t)n;
}

/* ---- lifecycle ------------------------------------------------------------ */

int member_table_init(struct member_table *t, uint32_t cap, uint32_t n_own,
		      const struct mesh_directory *dir)
{
	uint32_t index_cap = 1;

	assert(t && cap >= 1 && n_own >= 1);
	memset(t, 0, sizeof(*t));
	while (index_cap < cap + cap / 2)
		index_cap <<= 1;
	t->cap = cap;
	t->dir = dir;
	t->members = calloc(cap, sizeof(*t->members));
	t->free_stack = calloc(cap, sizeof(*t->free_stack));
	t->index = calloc(index_cap, sizeof(*t->index));
	/* own string blocks are used from the bottom (a stack): pages beyond
	 * the high-water mark of what is in use stay untouched (calloc) */
	t->n_own = n_own;
	t->own = calloc(n_own, sizeof(*t->own));
	t->own_free = calloc(n_own, sizeof(*t->own_free));
	if (!t->members || !t->free_stack || !t->index || !t->own || !t->own_free) {
		member_table_fini(t);
		return -ENOMEM;
	}
	t->index_mask = index_cap - 1;
	for (uint32_t i = 0; i < cap; i++) {
		t->members[i].suspect_pos = t->members[i].bq_prev = t->members[i].bq_next = MT_NIL;
		t->members[i].own = MT_NIL;
	}
	t->n_free = cap - 1;
	t->next_fresh = 1; /* slot 0 is us */
	for (uint32_t i = 0; i < n_own; i++)
		t->own_free[t->n_own_free++] = n_own - 1 - i; /* pops 0 first */
	return 0;
}

void member_table_fini(struct member_table *t)
{
	if (!t)
		return;
	free(t->members);
	free(t->free_stack);
	free(t->index);
	free(t->own);
	free(t->own_free);
	memset(t, 0, sizeof(*t));
}

void member_table_add_self(struct member_table *t, const char *name, const char *addr)
{
	struct member *self = &t->members[MT_SELF];

	assert(self->state == MESH_STATE_NONE);
	self->by_ref = REF_NONE;
	if (!member_set_strings(t, self, name, addr, "")) /* n_own >= 1 */
		assert(!"no own block for ourselves");
	self->state = MESH_ALIVE;
	member_index_insert(t, MT_SELF);
	assert(t->n_free + 1 == t->cap);
	assert(member_find(t, name) == MT_SELF);
}

/* ---- strings -------------------------------------------------------------- */

const char *member_name(const struct member_table *t, const struct member *mb)
{
	if (mb->name_ref == REF_OWN)
		return t->own[mb->own].name;
	return t->dir->name[mb->name_ref];
}

const char *member_addr(const struct member_table *t, const struct member *mb)
{
	if (mb->addr_own)
		return t->own[mb->own].addr;
	return t->dir->addr[mb->name_ref];
}

const char *member_by(const struct member_table *t, const struct member *mb)
{
	switch (mb->by_ref) {
	case REF_NONE: return "";
	case REF_SELF: return member_name(t, &t->members[MT_SELF]);
	case REF_NAME: return member_name(t, mb);
	case REF_OWN: return t->own[mb->own].by;
	default: return t->dir->name[mb->by_ref];
	}
}

/* The references name, addr and by would take in mb (NULL: unchanged). */
static void strings_refs(const struct member_table *t, const struct member *mb,
			 const char *name, const char *addr, const char *by, uint32_t ref[3])
{
	const struct mesh_directory *d = t->dir;

	ref[0] = mb->name_ref;
	if (name)
		ref[0] = d ? dir_find(d, name, fnv1a64(name)) : MT_NIL;
	if (ref[0] == MT_NIL)
		ref[0] = REF_OWN;
	ref[1] = mb->addr_own ? REF_OWN : mb->name_ref;
	if (addr)
		ref[1] = ref[0] != REF_OWN && strcmp(d->addr[ref[0]], addr) == 0 ? ref[0] :
										  REF_OWN;
	ref[2] = mb->by_ref;
	if (by) {
		const char *nm = name ? name : member_name(t, mb);
		if (by[0] == '\0')
			ref[2] = REF_NONE;
		else if (mb != &t->members[MT_SELF] &&
			 strcmp(by, member_name(t, &t->members[MT_SELF])) == 0)
			ref[2] = REF_SELF;
		else if (strcmp(by, nm) == 0)
			ref[2] = REF_NAME;
		else if (d && (ref[2] = dir_find(d, by, fnv1a64(by))) != MT_NIL)
			;
		else
			ref[2] = REF_OWN;
	}
}

bool member_strings_fit(const struct member_table *t, const struct member *mb,
			const char *name, const char *addr, const char *by)
{
	uint32_t ref[3];

	strings_refs(t, mb, name, addr, by, ref);
	if (ref[0] != REF_OWN && ref[1] != REF_OWN && ref[2] != REF_OWN)
		return true;
	return mb->own != MT_NIL || t->n_own_free > 0;
}

static void own_copy(char *dst, size_t cap, const char *src)
{
	if (dst != src)
		copy_str(dst, cap, src);
}

bool member_set_strings(struct member_table *t, struct member *mb, const char *name,
			const char *addr, const char *by)
{
	uint32_t ref[3];
	bool need;

	strings_refs(t, mb, name, addr, by, ref);
	need = ref[0] == REF_OWN || ref[1] == REF_OWN || ref[2] == REF_OWN;
	if (need && mb->own == MT_NIL) {
		if (t->n_own_free == 0)
			return false;
		mb->own = t->own_free[--t->n_own_free];
	}
	if (need) {
		struct own_strings *o = &t->own[mb->own];
		/* by first: it may name the member, whose name is copied next */
		if (ref[2] == REF_OWN && by)
			own_copy(o->by, sizeof(o->by), by);
		if (ref[0] == REF_OWN && name)
			own_copy(o->name, sizeof(o->name), name);
		if (ref[1] == REF_OWN && addr)
			own_copy(o->addr, sizeof(o->addr), addr);
	}
	assert(ref[1] == REF_OWN || ref[1] == ref[0]);
	mb->name_ref = ref[0];
	mb->addr_own = ref[1] == REF_OWN;
	mb->by_ref = ref[2];
	if (!need && mb->own != MT_NIL) {
		t->own_free[t->n_own_free++] = mb->own;
		mb->own = MT_NIL;
	}
	if (name)
		mb->name_hash = (uint32_t)fnv1a64(name);
	mb->wire = (uint16_t)member_update_wire_size(member_name(t, mb), member_addr(t, mb),
						     member_by(t, mb));
	assert(t->n_own_free <= t->n_own);
	return true;
}

/* ---- the name index ------------------------------------------------------- */

static uint32_t index_find(const struct member_table *t, const char *name, uint64_t h64)
{
	uint32_t h = (uint32_t)h64;
	uint32_t i = h & t->index_mask;

	assert(name && t->index);
	for (uint32_t probes = 0; probes <= t->index_mask; probes++) {
		uint32_t v = t->index[i];
		if (v == 0)
			return MT_NIL;
		const struct member *mb = &t->members[v - 1];
		if (mb->name_hash == h && strcmp(member_name(t, mb), name) == 0)
			return v - 1;
		i = (i + 1) & t->index_mask;
	}
	assert(!"name index full"); /* capacity is >= 1.5 x cap */
	return MT_NIL;
}

uint32_t member_find(const struct member_table *t, const char *name)
{
	return index_find(t, name, fnv1a64(name));
}

void member_index_insert(struct member_table *t, uint32_t idx)
{
	uint32_t i = t->members[idx].name_hash & t->index_mask;

	assert(idx < t->cap && t->members[idx].state != MESH_STATE_NONE);
	while (t->index[i] != 0) {
		assert(t->index[i] != idx + 1);
		i = (i + 1) & t->index_mask;
	}
	t->index[i] = idx + 1;
}

/* Linear-probing deletion by backward shift: later entries of the same
 * cluster move into the hole when their home slot allows it. */
static void index_remove(struct member_table *t, uint32_t idx)
{
	uint32_t mask = t->index_mask;
	uint32_t i = t->members[idx].name_hash & mask;
	uint32_t j;

	while (t->index[i] != idx + 1) {
		assert(t->index[i] != 0); /* present */
		i = (i + 1) & mask;
	}
	j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (t->index[j] == 0)
			break;
		uint32_t home = t->members[t->index[j] - 1].name_hash & mask;
		/* the entry at j may fill the hole at i unless its home lies
		 * cyclically in (i, j] */
		bool home_between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
		if (!home_between) {
			t->index[i] = t->index[j];
			i = j;
		}
	}
	t->index[i] = 0;
	assert(t->index[i] == 0);
}

/* ---- slots ---------------------------------------------------------------- */

uint32_t member_slot_take(struct member_table *t)
{
	if (t->n_free == 0)
		return MT_NIL;
	uint32_t idx = t->n_stack > 0 ? t->free_stack[--t->n_stack] : t->next_fresh++;
	t->n_free--;
	assert(t->next_fresh <= t->cap);
	assert(idx != MT_SELF && t->members[idx].state == MESH_STATE_NONE);
	return idx;
}

void member_slot_untake(struct member_table *t, uint32_t idx)
{
	assert(idx != MT_SELF && t->members[idx].state == MESH_STATE_NONE);
	t->free_stack[t->n_stack++] = idx;
	t->n_free++;
}

void member_slot_release(struct member_table *t, uint32_t idx)
{
	struct member *mb = &t->members[idx];

	assert(idx != MT_SELF && mb->state != MESH_STATE_NONE);
	index_remove(t, idx);
	if (mb->own != MT_NIL)
		t->own_free[t->n_own_free++] = mb->own;
	memset(mb, 0, sizeof(*mb));
	mb->suspect_pos = mb->bq_prev = mb->bq_next = mb->own = MT_NIL;
	t->free_stack[t->n_stack++] = idx;
	t->n_free++;
	assert(t->n_free < t->cap && t->n_stack <= t->n_free);
}

