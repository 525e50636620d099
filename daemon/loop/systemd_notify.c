/* See systemd_notify.h. */
#include "daemon/loop/systemd_notify.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <systemd/sd-daemon.h>

#include "base/units.h"
#include "os/clock.h"

void systemd_notify_ready(const char *status)
{
	if (status)
		sd_notifyf(0, "READY=1\nSTATUS=%s", status);
	else
		sd_notify(0, "READY=1");
}

void systemd_notify_reloading(void)
{
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)(mono_ns() / NS_PER_US));
}

void systemd_notify_stopping(void) { sd_notify(0, "STOPPING=1"); }

void systemd_notify_watchdog(void)
{
	static bool checked;
	static uint64_t interval_us, last_us;
	uint64_t now = mono_ns() / NS_PER_US;

	if (!checked) {
		checked = true;
		if (sd_watchdog_enabled(0, &interval_us) <= 0)
			interval_us = 0;
	}
	if (interval_us == 0 || now - last_us < interval_us / 2)
		return;
	last_us = now;
	sd_notify(0, "WATCHDOG=1");
}
