/* See message.h. */
#include "rpc/message.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"

/* The allocator handed to protobuf-c: malloc with a running total, so the
 * result is freed with the default allocator (free). */
struct budget {
	size_t used;
	size_t limit;
	bool exhausted;
};

static void *budget_alloc(void *data, size_t size)
{
	struct budget *b = data;
	if (size > b->limit - b->used) {
		b->exhausted = true;
		return NULL;
	}
	b->used += size;
	return malloc(size);
}

static void budget_free(void *data, void *ptr)
{
	(void)data;
	free(ptr);
}

uint32_t rpc_message_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
			    size_t len, size_t budget, ProtobufCMessage **out,
			    struct rpc_status *st)
{
	assert(desc != NULL && desc->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
	assert(out != NULL && (data != NULL || len == 0));
	*out = NULL;
	struct budget b = {.used = 0, .limit = budget, .exhausted = false};
	ProtobufCAllocator a = {.alloc = budget_alloc, .free = budget_free, .allocator_data = &b};
	ProtobufCMessage *m = protobuf_c_message_unpack(desc, &a, len, data);
	if (m == NULL) {
		if (b.exhausted)
			return rpc_status_set(st, RPC_RESOURCE_EXHAUSTED,
					      "%s: unpacking needs more than %zu bytes", desc->name,
					      budget);
		return rpc_status_set(st, RPC_INVALID_ARGUMENT, "%zu bytes do not parse as %s", len,
				      desc->name);
	}
	assert(m->descriptor == desc);
	uint32_t code = rpc_message_validate(m, st);
	if (code != RPC_OK) {
		rpc_message_free(m);
		return code;
	}
	*out = m;
	return RPC_OK;
}

void rpc_message_free(ProtobufCMessage *m)
{
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
}

/* Where field f of m keeps its value(s): *count elements starting at the
 * returned address (an array for repeated fields, the field itself
 * otherwise; count 0 when an optional field is absent). */
static const void *field_values(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
				size_t *count)
{
	const char *base = (const char *)m;
	const void *value = base + f->offset;
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		*count = *(const size_t *)(base + f->quantifier_offset);
		return *(const void *const *)value;
	}
	bool present;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		present = *(const uint32_t *)(base + f->quantifier_offset) == f->id;
	else if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
		present = *(const void *const *)value != NULL;
	else if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
		present = *(const protobuf_c_boolean *)(base + f->quantifier_offset);
	else
		present = true; /* required, or proto3 without presence */
	*count = present ? 1 : 0;
	return value;
}

struct frame {
	const ProtobufCMessage *m;
	unsigned field; /* next field to look at */
	size_t elem;    /* next element of that field */
};

/* Unknown fields are kept (a newer peer's additions), but protobuf-c also
 * keeps field number 0 when written in a non-canonical form, and repacks
 * it as bytes it then refuses itself: such a message could not be
 * relayed. Field numbers above 2^29 - 1 do not exist either. */
static bool unknown_fields_valid(const ProtobufCMessage *m)
{
	for (unsigned i = 0; i < m->n_unknown_fields; i++)
		if (m->unknown_fields[i].tag == 0 || m->unknown_fields[i].tag > 0x1FFFFFFFu)
			return false;
	return true;
}

uint32_t rpc_message_validate(const ProtobufCMessage *root, struct rpc_status *st)
{
	assert(root != NULL && root->descriptor != NULL);
	struct frame stack[RPC_MAX_NESTING];
	size_t depth = 1;
	stack[0] = (struct frame){.m = root, .field = 0, .elem = 0};

	while (depth > 0) {
		struct frame *fr = &stack[depth - 1];
		const ProtobufCMessageDescriptor *d = fr->m->descriptor;
		assert(d->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
		if (fr->field == 0 && fr->elem == 0 && !unknown_fields_valid(fr->m))
			return rpc_status_set(st, RPC_INVALID_ARGUMENT, "%s: field number 0",
					      d->short_name);
		if (fr->field >= d->n_fields) {
			depth--;
			continue;
		}
		const ProtobufCFieldDescriptor *f = &d->fields[fr->field];
		size_t count = 0;
		const void *values = NULL;
		if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_ENUM ||
		    f->type == PROTOBUF_C_TYPE_MESSAGE)
			values = field_values(fr->m, f, &count);
		if (fr->elem >= count) {
			fr->field++;
			fr->elem = 0;
			continue;
		}
		size_t j = fr->elem++;
		assert(values != NULL);
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			const char *s = ((const char *const *)values)[j];
			if (s != NULL && !utf8_valid((const uint8_t *)s, strlen(s)))
				return rpc_status_set(st, RPC_INVALID_ARGUMENT,
						      "%s.%s: not UTF-8", d->short_name, f->name);
		} else if (f->type == PROTOBUF_C_TYPE_ENUM) {
			int v = ((const int *)values)[j];
			if (protobuf_c_enum_descriptor_get_value(f->descriptor, v) == NULL)
				return rpc_status_set(st, RPC_INVALID_ARGUMENT,
						      "%s.%s: unknown enum value %d", d->short_name,
						      f->name, v);
		} else {
			const ProtobufCMessage *sub = ((const ProtobufCMessage *const *)values)[j];
			if (sub == NULL)
				continue;
			if (depth == RPC_MAX_NESTING)
				return rpc_status_set(st, RPC_INVALID_ARGUMENT,
						      "%s.%s: nested deeper than %d", d->short_name,
						      f->name, RPC_MAX_NESTING);
			stack[depth++] = (struct frame){.m = sub, .field = 0, .elem = 0};
		}
	}
	return RPC_OK;
}
