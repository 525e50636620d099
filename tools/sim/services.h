/* mimamori-sim: the world outside the mesh that the agreement acts on.
 *  - Fence agent: FENCE(H) completes after fence_delay. Mode poweroff
 *    (default): H is powered off (if it was not already) and the result
 *    is FENCE_OK, as IPMI would do. Mode verify: FENCE_OK only if H is
 *    already powered off (crashed), else FENCE_FAILED.
 *  - Masakari: a POST (NOTIFY_HOST / NOTIFY_PROCESS) is stored rtt/2
 *    after it is sent: 202 the first time for that host (and kind), 409
 *    for every duplicate; the answer reaches the node after rtt. */
#ifndef MIMAMORI_SIM_SERVICES_H
#define MIMAMORI_SIM_SERVICES_H

#include <stdint.h>

#include "mesh/agreement.h"

struct sim;
struct sim_event;

enum fence_mode { FENCE_POWEROFF = 0, FENCE_VERIFY = 1 };

struct services {
	uint8_t *posted; /* per host: bit 0 HOST notified, bit 1 PROCESS */
};

int services_init(struct services *svc, uint32_t n);
void services_free(struct services *svc);

void services_fence(struct sim *s, uint32_t node, const struct agr_action *act);
void services_post(struct sim *s, uint32_t node, const struct agr_action *act);
/* EV_FENCE_DONE / EV_MASAKARI_REPLY due (the node is up and not stalled). */
void services_fence_done(struct sim *s, const struct sim_event *ev);
void services_reply(struct sim *s, const struct sim_event *ev);
/* Frees the payload of an event that will not run. */
void services_drop(const struct sim_event *ev);

#endif
