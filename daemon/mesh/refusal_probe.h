/* Refusal probes: one direct, non-blocking TCP connect() to a suspected
 * member's mesh port (the members file's URL), to tell a host whose daemon
 * is down from a host that is down (issue 10, item 2).
 *
 *   refused (ECONNREFUSED): the host's kernel answered the SYN with a reset
 *     (or an ICMP port unreachable): the host is up, only its mimamorid is
 *     not listening. mesh_node.c feeds it to mnode_on_peer_refused.
 *   accepted: the host's kernel completed the handshake (the listening
 *     socket is the kernel's): the host is up too. mesh_node.c feeds it
 *     like a refusal: a suspected member whose port accepts has a daemon
 *     that is hung or starved, or a link that flaps faster than TCP's
 *     retransmissions of the mesh's own connection; never a dead host.
 *   no answer: our timeout, or any other error. EHOSTUNREACH in particular
 *     is NOT a sign of life: a powered-off host on our own segment gives it
 *     (ARP fails), and so does a router's ICMP host unreachable.
 *
 * Caveat: a firewall that REJECTs the mesh port (tcp-reset or the
 * default icmp-port-unreachable) on the way to a dead host forges a
 * refusal; [mesh] refused_means_alive = false ignores refusals.
 *
 * The mesh thread owns it (no locking). Its fd is an epoll set of the
 * connects in flight, readable when one finished: add it to the loop's
 * epoll, call refusal_probe_poll when it is readable or at
 * refusal_probe_next_deadline. Addresses are resolved once, at
 * refusal_probe_new (numeric first; a name through getaddrinfo, which may
 * block: start-up only); a member whose URL does not resolve is never
 * probed (the mesh then works as without refusals, logged at start). */
#ifndef MIMAMORI_DAEMON_MESH_REFUSAL_PROBE_H
#define MIMAMORI_DAEMON_MESH_REFUSAL_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/mesh/members_file.h"

/* Connects in flight at once; a start beyond it is -EBUSY. */
#define REFUSAL_PROBE_MAX_INFLIGHT 64

enum refusal_outcome {
	REFUSAL_REFUSED = 1, /* ECONNREFUSED: the host's kernel answers */
	REFUSAL_ACCEPTED,    /* connected: something listens */
	REFUSAL_NO_ANSWER,   /* timeout or another error (err) */
};

struct refusal_result {
	uint32_t member; /* index in the members list */
	enum refusal_outcome outcome;
	int err; /* NO_ANSWER: the errno (ETIMEDOUT for our timeout); else 0 */
};

struct refusal_probe;

/* For the members of l (l must outlive it), never self; timeout_ns bounds
 * each connect. NULL with errno set (ENOMEM, or an epoll error). Members
 * whose URL does not resolve are logged once and left out. */
struct refusal_probe *refusal_probe_new(const struct members_list *l, uint32_t self,
					uint64_t timeout_ns);
void refusal_probe_free(struct refusal_probe *p);
int refusal_probe_fd(const struct refusal_probe *p);
/* Whether member has an address to probe. */
bool refusal_probe_has_address(const struct refusal_probe *p, uint32_t member);
/* Starts one connect to member at now. 0, or -EALREADY (one in flight
 * for it), -ENOENT (no address, or self), -EBUSY (too many in flight),
 * or a socket error. A connect that finishes at once is reported by the
 * next poll like the others. */
int refusal_probe_start(struct refusal_probe *p, uint32_t member, uint64_t now);
bool refusal_probe_running(const struct refusal_probe *p, uint32_t member);
/* Finished connects (and those past their timeout at now), at most max. */
size_t refusal_probe_poll(struct refusal_probe *p, uint64_t now, struct refusal_result *out,
			  size_t max);
/* The earliest timeout of a connect in flight; UINT64_MAX with none. */
uint64_t refusal_probe_next_deadline(const struct refusal_probe *p);
const char *refusal_outcome_name(enum refusal_outcome o);

#endif
