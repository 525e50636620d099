/* sd_notify(3) for Type=notify units: READY once watching, RELOADING
 * around SIGHUP, STOPPING, and the watchdog keep-alive from the event
 * loop's tick (so a hung loop gets the daemon restarted). No-ops when not
 * started by systemd. */
#ifndef MIMAMORI_SYSTEMD_NOTIFY_H
#define MIMAMORI_SYSTEMD_NOTIFY_H

void systemd_notify_ready(const char *status);
void systemd_notify_reloading(void);
void systemd_notify_stopping(void);
/* Sends WATCHDOG=1 when the unit has WatchdogSec= and half of it passed. */
void systemd_notify_watchdog(void);

#endif
