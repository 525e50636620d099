/* Least privilege: mimamorid needs CAP_BPF and CAP_PERFMON (and CAP_SYS_NICE
 * for its real-time event loop, CAP_CHOWN for the control socket's group)
 * only while starting. Once the probe is attached and the sockets exist it
 * drops every capability, for good: the parts that parse input from the
 * network (Masakari's answers, RPC) then run with none. */
#ifndef MIMAMORI_PRIVILEGES_H
#define MIMAMORI_PRIVILEGES_H

#include <stddef.h>

/* Clears the effective, permitted, inheritable, ambient and bounding sets
 * and sets no_new_privs. Returns 0, or -1 with the reason in err. */
int privileges_drop_all(char *err, size_t errlen);

/* The effective capabilities in cap_to_text(3) form ("=" when none). */
void privileges_describe(char *out, size_t len);

#endif
