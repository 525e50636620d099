/* The Masakari API client (libcurl): Keystone v3 password auth with the
 * token cached and renewed before expiry, endpoint from the catalog or an
 * explicit override, or no auth for development. Blocking; owned by the
 * notifier thread. */
#ifndef MIMAMORI_MASAKARI_CLIENT_H
#define MIMAMORI_MASAKARI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/delivery_policy.h"
#include "daemon/common/config.h"

enum token_state { TOKEN_NONE = 0, TOKEN_VALID, TOKEN_NOAUTH, TOKEN_ERROR };

struct masakari_client_status {
	enum token_state token;
	int64_t token_expires_realtime_ns;
	char endpoint[512];
	char last_error[256];
	/* notification_uuid of the last notification Masakari accepted. */
	char last_notification_uuid[64];
};

struct masakari_client;

struct masakari_client *masakari_client_new(const struct masakari_client_config *cfg);
void masakari_client_free(struct masakari_client *mc);

/* POSTs body to {endpoint}/notifications, authenticating first when
 * needed. Returns the outcome for delivery_policy_decide(); on failure
 * err says why (HTTP status and Masakari's message, or curl's error).
 * On a 2xx err is "" and Masakari's notification_uuid is in the status
 * (last_notification_uuid), to join logs. Keystone failures (bad credentials, service missing from the
 * catalog, Keystone unreachable) are ATTEMPT_NO_ENDPOINT: the notification
 * itself is fine and must not be failed for them. A 401 from Masakari
 * drops the cached token here already. A 409's message is classified
 * (outcome.conflict: duplicate, host on maintenance, unrecognised). */
struct attempt_outcome masakari_client_post_notification(struct masakari_client *mc,
							 const char *body, char *err,
							 size_t errlen);
/* Authenticates now unless the cached token is still fresh (or noauth),
 * so the first notification does not pay for Keystone. Returns 0, or -1
 * with the reason in err. */
int masakari_client_refresh_token(struct masakari_client *mc, char *err, size_t errlen);
/* CLOCK_MONOTONIC instant (os/clock.h mono_ns) at which the cached token
 * should be renewed; 0 when there is none (noauth, or not authenticated). */
int64_t masakari_client_token_renew_at(const struct masakari_client *mc);
/* Forget the cached token (after a 401). */
void masakari_client_invalidate_token(struct masakari_client *mc);
void masakari_client_get_status(const struct masakari_client *mc,
				struct masakari_client_status *out);

#endif
