/* Any protobuf-c message as JSON, by walking its descriptor, so every
 * reply of the control service (and any field added to it later) prints
 * without code of its own:
 *   - keys are the .proto field names ("node_name");
 *   - a proto2 optional field that is absent is left out (presence is
 *     information: "no expiry known" is not 0); repeated fields are always
 *     there, [] when empty;
 *   - bools as true/false, integers as JSON integers (a uint64 above
 *     INT64_MAX, which jansson cannot hold, as a decimal string), floats as
 *     numbers, enums as their value names ("PROBE_MODE_EBPF", or the number
 *     for a value this build does not know), bytes as base64 (the proto3
 *     JSON mapping), messages as objects. */
#ifndef MIMAMORI_CTL_JSON_H
#define MIMAMORI_CTL_JSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/* A new object (the caller decrefs it), or NULL when out of memory. */
json_t *ctl_json_from_message(const ProtobufCMessage *m);

#endif
