/* See ctl_json.h. */
#include "tools/ctl_json.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Our schemas have no cycles (control.proto says so) and the RPC layer
 * refuses nesting deeper than RPC_MAX_NESTING; this only guards the
 * recursion against a message built by hand. */
#define MAX_DEPTH 32

static json_t *from_message(const ProtobufCMessage *m, unsigned depth);

static json_t *base64(const uint8_t *data, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + 1);
	if (out == NULL)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)data[i + 1] << 8;
		if (i + 2 < len)
			v |= data[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < len ? tab[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	json_t *j = json_string(out);
	free(out);
	return j;
}

static json_t *from_u64(uint64_t v)
{
	if (v <= (uint64_t)INT64_MAX)
		return json_integer((json_int_t)v);
	char buf[24];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return json_string(buf);
}

/* One value of field f stored at p (an element, for repeated fields). */
static json_t *from_value(const ProtobufCFieldDescriptor *f, const void *p, unsigned depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return json_integer(*(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return from_u64(*(const uint64_t *)p);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_real(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_real(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int *)p;
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, v);
		return ev != NULL ? json_string(ev->name) : json_integer(v);
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		/* The RPC layer validated UTF-8; jansson checks again and
		 * would give NULL for a string built by hand that is not. */
		return s != NULL ? json_string(s) : json_string("");
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		return base64(b->data, b->len);
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
		return sub != NULL ? from_message(sub, depth + 1) : json_null();
	}
	}
	return json_null();
}

/* Whether a non-repeated field is present, as protobuf-c packs it. */
static bool present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;
	const void *member = base + f->offset;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
	bool pointer = f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE;
	switch (f->label) {
	case PROTOBUF_C_LABEL_REQUIRED:
		return true;
	case PROTOBUF_C_LABEL_OPTIONAL:
		if (pointer) {
			const void *ptr = *(const void *const *)member;
			return ptr != NULL && ptr != f->default_value;
		}
		return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
	case PROTOBUF_C_LABEL_NONE: /* proto3: present unless zero */
		switch (f->type) {
		case PROTOBUF_C_TYPE_STRING: {
			const char *s = *(char *const *)member;
			return s != NULL && s[0] != '\0';
		}
		case PROTOBUF_C_TYPE_MESSAGE:
			return *(const void *const *)member != NULL;
		case PROTOBUF_C_TYPE_BYTES:
			return ((const ProtobufCBinaryData *)member)->len != 0;
		case PROTOBUF_C_TYPE_INT64:
		case PROTOBUF_C_TYPE_SINT64:
		case PROTOBUF_C_TYPE_SFIXED64:
		case PROTOBUF_C_TYPE_UINT64:
		case PROTOBUF_C_TYPE_FIXED64:
		case PROTOBUF_C_TYPE_DOUBLE:
			return memcmp(member, &(uint64_t){0}, 8) != 0;
		default: /* 32-bit scalars, bool and enum */
			return memcmp(member, &(uint32_t){0}, 4) != 0;
		}
	case PROTOBUF_C_LABEL_REPEATED:
		break;
	}
	return false;
}

static size_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default: /* 32-bit scalars and enums */
		return 4;
	}
}

static json_t *from_message(const ProtobufCMessage *m, unsigned depth)
{
	if (depth > MAX_DEPTH)
		return NULL;
	const ProtobufCMessageDescriptor *d = m->descriptor;
	json_t *obj = json_object();
	if (obj == NULL)
		return NULL;
	const char *base = (const char *)m;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		json_t *v;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const char *arr = *(const char *const *)(base + f->offset);
			v = json_array();
			for (size_t k = 0; v != NULL && k < n; k++) {
				json_t *e = from_value(f, arr + k * elem_size(f->type), depth);
				if (e == NULL || json_array_append_new(v, e) != 0) {
					json_decref(v);
					v = NULL;
				}
			}
		} else {
			if (!present(m, f))
				continue;
			v = from_value(f, base + f->offset, depth);
		}
		if (v == NULL || json_object_set_new(obj, f->name, v) != 0) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

json_t *ctl_json_from_message(const ProtobufCMessage *m)
{
	return m != NULL ? from_message(m, 0) : NULL;
}
