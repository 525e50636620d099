/* The libvirt side: a thread that runs libvirt's event loop, keeps a
 * connection (reconnecting with backoff when libvirtd dies or hangs),
 * subscribes to lifecycle and I/O error events, and learns which qemu
 * process runs which guest (qemu's -uuid argument, confirmed through the
 * libvirt API). Everything it learns leaves as struct fact records written
 * whole to a pipe, so the main thread owns all state. */
#ifndef MIMAMORI_LIBVIRT_WATCH_H
#define MIMAMORI_LIBVIRT_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "core/facts.h"

struct libvirt_watch;

struct libvirt_watch_status {
	bool connected;
	char uri[512];
	unsigned reconnects;
	char last_error[256];
};

/* Starts the thread. Facts are readable from libvirt_watch_fd() as
 * sizeof(struct fact) records. */
struct libvirt_watch *libvirt_watch_start(const char *uri, char *err, size_t errlen);
void libvirt_watch_stop(struct libvirt_watch *w);
int libvirt_watch_fd(const struct libvirt_watch *w);
/* Reads one fact; returns 1, 0 when none is waiting, -errno on error. */
int libvirt_watch_read(struct libvirt_watch *w, struct fact *out);
void libvirt_watch_get_status(struct libvirt_watch *w, struct libvirt_watch_status *out);

/* libvirt reports its own stop of a guest ~200 ms after qemu died (it polls
 * every 200 ms for the death): its STOPPED is overdue after this. */
#define LIBVIRT_STOPPED_OVERDUE_MS 2000

/* Asks libvirt for the state of domain uuid (virDomainGetState) delay_ms
 * from now, once connected, and again while the domain is still active, a
 * few times; the answer arrives as a FACT_LIBVIRT_STATE. For a qemu libvirt
 * killed without a STOPPED (verdict.check_libvirt_state). Thread-safe.
 * Returns 0, or -ENOSPC when too many checks are pending. */
int libvirt_watch_check_state(struct libvirt_watch *w, const char *uuid, unsigned delay_ms);

/* Helpers shared with the /proc scan: parse qemu's command line (NUL-
 * separated) for -uuid and -name guest=NAME. Pure; returns 0 when a uuid
 * was found. */
int qemu_cmdline_parse(const char *cmdline, size_t len, char uuid[FACT_UUID_LEN],
		       char name[FACT_NAME_LEN]);

#endif
