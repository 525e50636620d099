/* The peer mesh in mimamorid: one thread that owns the mesh node
 * (mesh/node.h: the one composition of the two pure cores,
 * mesh/membership.h: SWIM + Lifeguard failure detection, and
 * mesh/agreement.h: multi-observer agreement, fencing and notifier
 * election; the simulator drives the same) and connects it to the world:
 *
 *   peers --Deliver RPC--> server workers --queue+eventfd--> mesh thread
 *   mesh thread --rpc_call_async (mesh_peers.h cache)--> peers
 *   mesh thread --FENCE--> fence_runner.h (stonith_admin or a command)
 *   mesh thread --NOTIFY--> notifier_submit (durable outbox) --delivery
 *                            callback--> mesh thread --> agreement
 *   mesh thread --every [pacemaker] interval--> crm_mon -X (child with a
 *                            timeout) --> crm_mon_parse --> agreement
 *   mesh thread --suspected member: TCP connect to its mesh port
 *                            (refusal_probe.h)--> refused: its host is up,
 *                            its daemon down --> mnode_on_peer_refused
 *
 * Members are the members file's ("NAME URL" lines, members_file.h); this
 * node is the line whose NAME is [node] hostname. Messages go to the URL
 * the file gives for a name, never to an address a peer gossiped; a
 * message from a sender that is not a member, or (tls+tcp://) whose
 * claimed name is not the common name of its verified certificate, is
 * refused with PERMISSION_DENIED and counted; gossip about non-members is
 * dropped. tcp:// (tests only) cannot authenticate senders: the mesh then
 * says so loudly at start.
 *
 * Logs (stderr, "mesh: ..." lines; the event log gets the same as notes
 * with what = "mesh"): membership changes (joined, suspected by, alive
 * again, declared dead by, left), first-hand observations ("does not
 * answer our probe"), the agreement core's decision records ("mesh
 * agreement [declared] ...", [notifier], [fence], [fenced], [notify],
 * [completed], [takeover], [cancelled] ...), the fence command run and
 * its result, the notification queued (outbox id) and its delivery.
 *
 * Timing (the cores' defaults, except the agreement's probe timeout: 500
 * ms here, since its probe only confirms what SWIM found and LAN round
 * trips are milliseconds): a crashed member is suspected ~0.2-0.5 s after
 * the crash, dead 0.4 s later, observed unreachable 0.5 s later, declared
 * as soon as a majority's observations are in, and fenced after the
 * notifier's 0.5 s claim settle. Measured with 3 and 5 daemons on
 * loopback (tcp:// and tls+tcp://): fence command started 1.6-1.9 s after
 * SIGKILL, notification queued 1-10 ms later.
 *
 * With Masakari unreachable, the notifier's outbox keeps retrying; after
 * the agreement's takeover step (claim settle + fence timeout + 30 s
 * notify timeout) a backup queues the same notification too: Masakari's
 * 409 (same host, type and payload within 180 s) absorbs it. */
#ifndef MIMAMORI_DAEMON_MESH_MESH_NODE_H
#define MIMAMORI_DAEMON_MESH_MESH_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/common/config.h"
#include "daemon/common/event_log.h"
#include "mesh/agreement.h"
#include "mesh/membership.h"
#include "daemon/common/metrics.h"
#include "daemon/notifier/notifier.h"

#define MESH_NODE_MAX_OBSERVERS AGR_MAX_OBSERVERS

/* One member as mimamorictl shows it (a snapshot). */
struct mesh_node_member {
	char name[MESH_NAME_MAX];
	char addr[MESH_ADDR_MAX];     /* its URL in the members file */
	/* enum mesh_state: ALIVE..LEFT; MESH_STATE_NONE when configured but
	 * never heard of (yet). */
	uint32_t state;
	uint64_t incarnation;
	uint32_t last_rtt_us;         /* our last direct probe; 0: none yet */
	int64_t state_since_realtime_ns; /* 0: unknown */
	bool self;
	/* Its designated observers in our view (agreement_observers). */
	uint32_t n_observers;
	char observers[MESH_NODE_MAX_OBSERVERS][MESH_NAME_MAX];
};

struct mesh_node;

/* Loads the members file, creates the cores, starts the mesh thread (at
 * normal priority, whatever the caller's) and, from it, the RPC server on
 * [mesh] listen; then joins the mesh in the background. Returns NULL with
 * the reason in err when anything fails (bad members file, this host not
 * in it, certificates, address in use). notifier, events and metrics must
 * outlive the node (metrics may be NULL). Call from the main thread: it
 * also initialises libxml2 for crm_mon_parse. */
struct mesh_node *mesh_node_start(const struct mimamori_config *cfg, struct notifier *notifier,
				  struct event_log *events, struct metrics *metrics, char *err,
				  size_t errlen);

/* Leaves the mesh gracefully (membership_leave, then up to ~1 s for the
 * news to spread), stops the server, kills a fence or crm_mon still
 * running, and frees. Call before notifier_stop(). NULL is a no-op. */
void mesh_node_stop(struct mesh_node *n);

/* Our own probe saw `process` (e.g. "pacemaker_remoted") die at ts_ns
 * (CLOCK_MONOTONIC): the agreement core reports it to the peers, which
 * send the PROCESS notification if this host stays reachable. Thread-safe
 * and non-blocking (queued for the mesh thread). Returns 0, -EAGAIN when
 * the queue is full, -EINVAL for a bad name; NULL n: 0 (mesh disabled). */
int mesh_node_local_process_failed(struct mesh_node *n, const char *process, uint64_t ts_ns);

/* Every configured member (members file order, this node included) as the
 * mesh thread last published them (after any member's news, else at least
 * every 0.5 s); returns how many were written (at most max), -ETIMEDOUT
 * when the published view is over 1 s old and no newer one comes within
 * timeout_ms (the mesh thread is stuck: a loop turn normally takes
 * microseconds), -EINVAL for a NULL n. Thread-safe; never waits for the
 * mesh thread's work, only for a stale view's replacement. */
long mesh_node_members(struct mesh_node *n, struct mesh_node_member *out, size_t max,
		       uint32_t timeout_ms);
/* Configured members (the size mesh_node_members needs). */
size_t mesh_node_member_count(const struct mesh_node *n);

#endif
