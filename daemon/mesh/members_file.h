/* The mesh's members file ([mesh] members_file): the configured members of
 * one failover segment, the same file on every node.
 *
 *   # comment
 *   compute-01  tls+tcp://10.0.0.11:7947
 *   compute-02  tls+tcp://10.0.0.12:7947   # trailing comment
 *
 * One member per line: NAME, blanks (spaces or tabs), URL, optionally
 * blanks and a comment. NAME is the host name as Masakari and Nova know
 * it and the common name of the node's TLS certificate: 1 to 63 bytes of
 * [A-Za-z0-9._-] (what rpc/tls.h accepts as a peer name). URL is
 * tls+tcp://HOST:PORT (or tcp://HOST:PORT, tests only), at most 127
 * bytes, no blank or control character; every line uses the same scheme.
 * Names and URLs are unique. Blank lines and lines whose first non-blank
 * character is '#' are ignored.
 *
 * Bounded: at most MEMBERS_FILE_MAX_MEMBERS members, MEMBERS_FILE_MAX_LINE
 * bytes per line and MEMBERS_FILE_MAX_BYTES per file; a NUL byte is an
 * error. Every error names the file and the line: "FILE:LINE: what". Pure
 * (members_file_parse) plus one read (members_file_load). */
#ifndef MIMAMORI_MEMBERS_FILE_H
#define MIMAMORI_MEMBERS_FILE_H

#include <stddef.h>

#include "mesh/membership.h"

#define MEMBERS_FILE_MAX_MEMBERS 16384 /* = MESH_MAX_MEMBERS */
#define MEMBERS_FILE_MAX_LINE 1024
#define MEMBERS_FILE_MAX_BYTES (4u << 20)
#define MEMBERS_NAME_MAX MESH_NAME_MAX /* 64, NUL included */
#define MEMBERS_URL_MAX MESH_ADDR_MAX  /* 128, NUL included */

struct members_entry {
	char name[MEMBERS_NAME_MAX];
	char url[MEMBERS_URL_MAX];
};

struct members_list {
	size_t n;
	struct members_entry *v; /* n entries, in file order */
};

/* Parses len bytes (no terminator needed); name stands for the file in
 * messages. Returns 0 with *out filled (free with members_list_free), or
 * -1 with "NAME:LINE: what" in err and *out empty. An empty list (no
 * member line) is an error. */
int members_file_parse(const char *name, const char *data, size_t len, struct members_list *out,
		       char *err, size_t errlen);
/* Reads path and parses it. */
int members_file_load(const char *path, struct members_list *out, char *err, size_t errlen);
void members_list_free(struct members_list *l);

/* Index of the member called name, or -1. Linear: for start-up. */
long members_find(const struct members_list *l, const char *name);
/* Index of the member whose URL is url, or -1. */
long members_find_url(const struct members_list *l, const char *url);

#endif
