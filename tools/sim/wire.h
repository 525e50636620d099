/* mimamori-sim: messages on the simulated wire and their size estimate.
 *
 * A mesh (membership) message is stored compactly: the struct mesh_msg
 * header and its n_updates updates only, copied back into a full struct
 * before the core sees it. Agreement messages carry the structs of
 * agreement.h. One payload may be shared by the copies of a broadcast
 * (reference counted); each copy still has its own fate on the network.
 *
 * Bytes are estimated as the header's wire estimate does: per update
 * MESH_UPDATE_OVERHEAD + its strings (name, addr, by), plus a frame of
 * WIRE_FRAME bytes (type, flags, seq, lengths) and the strings and
 * numbers of the message itself. TLS and TCP overhead are not counted
 * (there is no protobuf schema for the mesh yet to pack). */
#ifndef MIMAMORI_SIM_WIRE_H
#define MIMAMORI_SIM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "mesh/agreement.h"
#include "mesh/membership.h"

#define WIRE_FRAME 16

enum sim_msg_kind {
	SIM_MSG_MESH = 1,
	SIM_MSG_PROBE,       /* agreement PROBE {from, nonce} */
	SIM_MSG_PROBE_ACK,   /* agreement PROBE_ACK {from, nonce} */
	SIM_MSG_OBSERVATION, /* struct agr_observation */
	SIM_MSG_COMPLETION,  /* struct agr_completion */
	SIM_MSG_PROCESS,     /* struct agr_process_report */
};

struct sim_msg {
	uint32_t refs;
	uint32_t kind;  /* enum sim_msg_kind */
	uint32_t from;  /* sending node */
	uint32_t bytes; /* wire estimate */
	uint64_t nonce; /* PROBE, PROBE_ACK */
	union {
		struct agr_observation obs;
		struct agr_completion comp;
		struct agr_process_report proc;
	} agr;
	size_t mesh_len;
	unsigned char mesh[]; /* MESH: the first mesh_len bytes of a struct mesh_msg */
};

/* Both abort on out of memory. refs = 1. */
struct sim_msg *wire_mesh_new(uint32_t from, const struct mesh_msg *m);
struct sim_msg *wire_agr_new(uint32_t from, uint32_t kind);
/* Fills the whole of out (updates past n_updates zeroed). */
void wire_mesh_unpack(const struct sim_msg *sm, struct mesh_msg *out);
void wire_ref(struct sim_msg *sm);
void wire_unref(struct sim_msg *sm);

uint32_t wire_mesh_bytes(const struct mesh_msg *m);
/* Agreement messages: call after filling the payload. */
uint32_t wire_agr_bytes(const struct sim_msg *sm, const char *from_name);

#endif
