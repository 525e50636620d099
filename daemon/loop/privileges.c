/* See privileges.h. */
#include "daemon/loop/privileges.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

int privileges_drop_all(char *err, size_t errlen)
{
	cap_t none;

	/* The bounding set can only be shrunk while CAP_SETPCAP is held, so it
	 * goes first; a cap the kernel does not know ends the loop. */
	for (int c = 0; c <= CAP_LAST_CAP; c++) {
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) <= 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) {
			snprintf(err, errlen, "cannot drop capability %d from the bounding set: %s", c,
				 strerror(errno));
			return -1;
		}
	}
	if (cap_reset_ambient() < 0 && errno != EINVAL) {
		snprintf(err, errlen, "cannot clear ambient capabilities: %s", strerror(errno));
		return -1;
	}
	none = cap_init();
	if (!none) {
		snprintf(err, errlen, "cap_init: %s", strerror(errno));
		return -1;
	}
	if (cap_set_proc(none) < 0) {
		snprintf(err, errlen, "cannot drop capabilities: %s", strerror(errno));
		cap_free(none);
		return -1;
	}
	cap_free(none);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void privileges_describe(char *out, size_t len)
{
	cap_t now = cap_get_proc();
	char *text = now ? cap_to_text(now, NULL) : NULL;

	snprintf(out, len, "%s", text ? text : "unknown");
	cap_free(text);
	cap_free(now);
}
