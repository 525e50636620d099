/* Pacemaker's view of the cluster, parsed from crm_mon's XML output
 * (libxml2 + XPath, no I/O): quorum, nodes and fence history, bounded.
 *
 * Both flavours are accepted:
 *   crm_mon -X                      root <crm_mon version="...">
 *   crm_mon -1 --output-as=xml      root <pacemaker-result api-version="...">
 *                                   with <status code="N" message="...">
 * Their children are the same (summary, nodes, resources, fence_history).
 *
 * What the view says is graded by `status`, and only CRM_MON_OK says
 * anything about nodes:
 *
 *   CRM_MON_NO_INFO    crm_mon failed or has no cluster connection: exit
 *                      code != 0 (102 "Not connected" prints
 *                      <crm_mon version=.../> all the same), <status
 *                      code != 0>, an empty document (a remote node whose
 *                      pacemaker-remoted has no cluster connection exits 0
 *                      with an empty <crm_mon/>), or no DC elected yet
 *                      (current_dc present="false": quorum unknown).
 *   CRM_MON_NO_QUORUM  connected, but this partition has no quorum. With
 *                      no-quorum-policy=stop Pacemaker stops every remote
 *                      connection, so every remote shows online="false":
 *                      that is "no information", never "offline". nodes[]
 *                      is left empty so no caller can mistake it.
 *   CRM_MON_OK         a DC with quorum: nodes[] is Pacemaker's opinion,
 *                      which lags the truth (a dead remote shows
 *                      online="true" for ~20 s while Pacemaker retries the
 *                      connection: see `reconnecting`).
 *
 * fence_history is filled whatever the status when crm_mon could read it
 * (fence events are records, not opinions about the present).
 *
 * Errors: crm_mon_parse() returns -1 for input it cannot understand (not
 * XML, a DTD, an unexpected root or attribute value, too large) with the
 * reason in err; `out` is then a zeroed CRM_MON_NO_INFO view carrying the
 * same reason, so a caller that ignores the return value still reads "no
 * information". A crm_mon failure (exit code != 0, with or without
 * output) is not a parse error: it returns 0 with CRM_MON_NO_INFO.
 *
 * XML safety: the network is never used (XML_PARSE_NONET), entities are
 * not substituted (no XML_PARSE_NOENT), a document with a DOCTYPE is
 * rejected as soon as the parser meets it, documents above
 * CRM_MON_MAX_DOC bytes are refused, and libxml2's default depth and
 * size limits stay on (no XML_PARSE_HUGE).
 *
 * Thread safety: libxml2 must be initialised once before threads use it:
 * call crm_mon_init() (or xmlInitParser()) from the main thread at
 * startup. struct crm_mon_view is large (~420 KiB): allocate it on the
 * heap. */
#ifndef MIMAMORI_CRM_MON_H
#define MIMAMORI_CRM_MON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mesh/pacemaker_view.h"

#define CRM_MON_MAX_DOC (16u << 20)   /* bytes of XML accepted */
#define CRM_MON_MAX_NODES 1024        /* more: nodes_truncated */
#define CRM_MON_MAX_FENCE 128         /* more: fence_truncated */
#define CRM_MON_NAME_LEN 256          /* node name, NUL included */
#define CRM_MON_SHORT_LEN 64          /* roles, actions, versions, times */
#define CRM_MON_REASON_LEN 256

enum crm_mon_status {
	CRM_MON_NO_INFO = 0,
	CRM_MON_NO_QUORUM = 1,
	CRM_MON_OK = 2,
};

enum crm_mon_format {
	CRM_MON_FORMAT_UNKNOWN = 0,
	CRM_MON_FORMAT_LEGACY = 1, /* crm_mon -X: root <crm_mon> */
	CRM_MON_FORMAT_RESULT = 2, /* --output-as=xml: root <pacemaker-result> */
};

enum crm_mon_node_type {
	CRM_MON_NODE_UNKNOWN = 0,
	CRM_MON_NODE_MEMBER = 1, /* corosync cluster node */
	CRM_MON_NODE_REMOTE = 2, /* pacemaker_remote (or guest) node */
	CRM_MON_NODE_PING = 3,
};

struct crm_mon_node {
	char name[CRM_MON_NAME_LEN];
	enum crm_mon_node_type type;
	bool online;
	bool unclean;     /* Pacemaker wants it fenced */
	bool shutdown;
	bool pending;
	bool standby;
	bool maintenance;
	/* Remote nodes: the ocf:pacemaker:remote resource whose id is the
	 * node's name, when listed. */
	bool has_remote_resource;
	char remote_role[CRM_MON_SHORT_LEN]; /* "Started", "Starting", "Stopped"... */
	bool remote_failed;
	/* The connection is being (re)established or has failed: role
	 * Starting, or failed="true". `online` is then not to be trusted:
	 * Pacemaker shows a dead remote online="true" while it retries. */
	bool reconnecting;
};

enum crm_mon_fence_status {
	CRM_MON_FENCE_UNKNOWN = 0,
	CRM_MON_FENCE_SUCCESS = 1,
	CRM_MON_FENCE_FAILED = 2,
	CRM_MON_FENCE_PENDING = 3,
};

struct crm_mon_fence_event {
	char target[CRM_MON_NAME_LEN];
	char action[CRM_MON_SHORT_LEN];       /* "reboot", "off", "on" */
	enum crm_mon_fence_status status;
	char status_text[CRM_MON_SHORT_LEN];  /* as written */
	char delegate[CRM_MON_SHORT_LEN];     /* who fenced ("" when absent) */
	char origin[CRM_MON_SHORT_LEN];       /* who asked */
	char completed[CRM_MON_SHORT_LEN];    /* "2026-11-26 19:39:55Z", "" if pending */
	/* completed as seconds since 1970 (UTC) when it parsed. */
	bool has_completed_epoch;
	int64_t completed_epoch;
};

struct crm_mon_view {
	enum crm_mon_status status;
	/* Why status is not CRM_MON_OK ("" when OK), for operators. */
	char reason[CRM_MON_REASON_LEN];
	enum crm_mon_format format;
	int exit_code;    /* as passed in */
	int result_code;  /* <status code=> of pacemaker-result; -1 if none */
	char version[CRM_MON_SHORT_LEN]; /* crm_mon@version or api-version */

	bool dc_present;
	bool quorum_known;  /* with_quorum was present on a present DC */
	bool with_quorum;
	char dc_name[CRM_MON_NAME_LEN];
	bool stonith_known;
	bool stonith_enabled;

	/* Only when status == CRM_MON_OK. */
	size_t n_nodes;
	bool nodes_truncated;
	struct crm_mon_node nodes[CRM_MON_MAX_NODES];

	bool fence_history_known; /* <fence_history> present and readable */
	size_t n_fence;
	bool fence_truncated;
	struct crm_mon_fence_event fence[CRM_MON_MAX_FENCE];
};

/* Initialises libxml2 (idempotent). Call once from the main thread before
 * other threads parse. */
void crm_mon_init(void);

/* Parses len bytes of crm_mon output (no terminator needed) that the
 * command produced with exit status exit_code. Returns 0 (out->status
 * says what the view is worth) or -1 with a reason in err (and in
 * out->reason, status CRM_MON_NO_INFO). Never reads beyond len. */
int crm_mon_parse(const char *xml, size_t len, int exit_code, struct crm_mon_view *out,
		  char *err, size_t errlen);

/* The node called name in an OK view, or NULL. */
const struct crm_mon_node *crm_mon_find_node(const struct crm_mon_view *v, const char *name);

/* What the mesh's agreement reads of v (mesh/pacemaker_view.h): status,
 * reason, the DC, each node's name and state, and the targets of
 * successful fences. A name that does not fit the mesh's bound (no member
 * has it) becomes "" in nodes[] and is left out of fenced[]. out is
 * ~78 KiB. */
void crm_mon_pacemaker_view(const struct crm_mon_view *v, struct pacemaker_view *out);

const char *crm_mon_status_name(enum crm_mon_status s);
const char *crm_mon_node_type_name(enum crm_mon_node_type t);

#endif
