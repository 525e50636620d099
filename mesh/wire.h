/* The mesh's messages on the wire (proto/mesh.proto): the cores' structs
 * (struct mesh_msg of mesh/membership.h; probes, struct agr_observation,
 * agr_completion and agr_process_report of mesh/agreement.h) to and from
 * the protobuf-c messages the RPC layer packs. Pure: no I/O, no
 * allocation when encoding (the protobuf-c tree points into the source
 * struct and a caller-provided scratch area), and only protobuf-c's when
 * decoding bytes (mesh_wire_unpack, for tests and fuzzing; the daemon
 * decodes the already unpacked and budget-bounded request of the RPC
 * layer with mesh_wire_from_pb).
 *
 * Decoding is validation: every string must fit its core's array with
 * its NUL and hold no control character, every state, kind, stage and
 * type must be one the cores know, counts and incarnations within the
 * cores' bounds, and the sender named in the inner message (SWIM sender,
 * observer, completion `from`, reporter) must be MeshEnvelope.from. A
 * SWIM message is then checked with mesh_msg_validate(). Anything else is
 * rejected whole with a static reason: a peer's message is never
 * half-applied. Unknown fields (a newer peer's) are ignored. */
#ifndef MIMAMORI_MESH_WIRE_H
#define MIMAMORI_MESH_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mesh/agreement.h"
#include "mesh/membership.h"
#include "proto/mesh.pb-c.h"

/* Largest packed MeshEnvelope: a SYNC with MESH_MAX_UPDATES full-size
 * updates is ~9.3 KiB; the rest is headroom for fields a newer peer adds.
 * The mesh's RPC endpoints use this as their max_msg (nng RECVMAXSZ). */
#define MESH_WIRE_MAX_MSG (32 * 1024)

/* The largest enum agr_stage (mesh/agreement.h) a completion may carry:
 * raise it with the enum (a newer stage from a newer peer is rejected, as
 * the core itself would). */
#define MESH_WIRE_MAX_STAGE AGR_STAGE_HANDED_OVER

enum mesh_wire_kind {
	MESH_WIRE_SWIM = 1,       /* membership_handle_message */
	MESH_WIRE_PROBE,          /* agreement_on_probe(from, nonce) */
	MESH_WIRE_PROBE_ACK,      /* agreement_on_probe_ack(from, nonce) */
	MESH_WIRE_OBSERVATION,    /* agreement_on_observation */
	MESH_WIRE_COMPLETION,     /* agreement_on_completion */
	MESH_WIRE_PROCESS_REPORT, /* agreement_on_process_report */
	MESH_WIRE_KIND_MAX = MESH_WIRE_PROCESS_REPORT,
};

/* One message between two mesh nodes, decoded. */
struct mesh_wire_msg {
	uint32_t kind; /* enum mesh_wire_kind */
	char from[MESH_NAME_MAX];
	/* The sender's members digest (mnode_members_digest); 0: none sent
	 * (an older peer), unknown. Before the union: the mesh thread's
	 * receive queue copies only the used part of a message. */
	uint64_t members_digest;
	/* The sender hears a member whose digest differs from its own. */
	bool members_differ;
	union {
		struct mesh_msg swim;
		uint64_t nonce; /* PROBE, PROBE_ACK */
		struct agr_observation observation;
		struct agr_completion completion;
		struct agr_process_report report;
	};
};

_Static_assert(MESH_NAME_MAX == AGR_NAME_MAX, "one name size for both cores");

/* Storage for the protobuf-c tree of one message (~3 KiB: stack is fine). */
struct mesh_wire_pb {
	Mimamori__MeshEnvelope env;
	Mimamori__SwimMessage swim;
	Mimamori__MeshUpdate sender;
	Mimamori__MeshUpdate updates[MESH_MAX_UPDATES];
	Mimamori__MeshUpdate *update_ptrs[MESH_MAX_UPDATES];
	Mimamori__AgreementProbe probe;
	Mimamori__AgreementObservation observation;
	Mimamori__AgreementCompletion completion;
	Mimamori__AgreementProcessReport report;
};

/* Fills pb from m and returns &pb->env, ready for rpc_call_async or
 * protobuf_c_message_pack. The tree points into m's strings: keep m alive
 * and unchanged until it is packed. m is trusted (built by this node):
 * its values are not validated, but its kind must be a known one, its
 * strings terminated within their arrays and a SWIM message's n_updates
 * at most MESH_MAX_UPDATES (asserted: a bug here, not a peer's input). */
const Mimamori__MeshEnvelope *mesh_wire_to_pb(const struct mesh_wire_msg *m,
					       struct mesh_wire_pb *pb);

/* Decodes and validates env into out. Returns 0, or -EINVAL with a static
 * reason in *why (why may be NULL); out is then unspecified. */
int mesh_wire_from_pb(const Mimamori__MeshEnvelope *env, struct mesh_wire_msg *out,
		      const char **why);

/* Packs m into buf (at most cap bytes). Returns the length, or -ENOSPC. */
int mesh_wire_pack(const struct mesh_wire_msg *m, uint8_t *buf, size_t cap);

/* Unpacks len bytes (at most MESH_WIRE_MAX_MSG) and validates them as
 * mesh_wire_from_pb does. Returns 0, or -EINVAL with a static reason. */
int mesh_wire_unpack(const uint8_t *data, size_t len, struct mesh_wire_msg *out,
		     const char **why);

/* "swim", "probe", ...; "unknown" otherwise. */
const char *mesh_wire_kind_name(uint32_t kind);

#endif
