/* Pacemaker's opinion of the cluster, as the agreement reads it
 * (agreement_on_pacemaker_view(); agreement.h says why it is
 * corroboration only: never a veto, never a verdict). The mesh owns this
 * type so its pure cores do not depend on a parser: mimamorid fills it
 * from crm_mon's XML (core/crm_mon.h, crm_mon_pacemaker_view()), a test
 * or the simulator may fill it directly.
 *
 * A plain bounded value (no pointers, ~78 KiB): every string is
 * NUL-terminated within its array; the agreement refuses counts above
 * the bounds and reads the strings only up to their array's end. */
#ifndef MIMAMORI_MESH_PACEMAKER_VIEW_H
#define MIMAMORI_MESH_PACEMAKER_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#define PCMK_VIEW_MAX_NODES 1024   /* nodes[]; crm_mon's own bound */
#define PCMK_VIEW_MAX_FENCED 128   /* fenced[]; crm_mon's fence history bound */
/* A node's name, NUL included: the member names' bound (AGR_NAME_MAX,
 * MESH_NAME_MAX): a longer name cannot be a member's. */
#define PCMK_VIEW_NAME_LEN 64
#define PCMK_VIEW_DC_LEN 256       /* the DC's name, for the record only */
#define PCMK_VIEW_REASON_LEN 256

/* What the view is worth. Only PACEMAKER_OK says anything about nodes. */
enum pacemaker_status {
	PACEMAKER_NO_INFO = 0,   /* no cluster connection, no DC, crm_mon failed */
	PACEMAKER_NO_QUORUM = 1, /* this partition has no quorum: every remote
				    shows offline, which means nothing */
	PACEMAKER_OK = 2,        /* a DC with quorum */
};

struct pacemaker_node {
	/* "" when Pacemaker's name does not fit: no member has it. */
	char name[PCMK_VIEW_NAME_LEN];
	bool online;
	bool unclean;      /* Pacemaker wants it fenced */
	bool reconnecting; /* connection being (re)established: online untrusted */
	bool shutdown;
};

struct pacemaker_view {
	enum pacemaker_status status;
	char reason[PCMK_VIEW_REASON_LEN]; /* why not OK ("" when OK) */
	char dc[PCMK_VIEW_DC_LEN];         /* the DC's name ("" when none) */
	/* Only when status == PACEMAKER_OK. */
	size_t n_nodes;
	struct pacemaker_node nodes[PCMK_VIEW_MAX_NODES];
	/* Whatever the status (fence events are records, not opinions): the
	 * targets of successful fences in Pacemaker's fence history. */
	size_t n_fenced;
	char fenced[PCMK_VIEW_MAX_FENCED][PCMK_VIEW_NAME_LEN];
};

static inline const char *pacemaker_status_name(enum pacemaker_status s)
{
	switch (s) {
	case PACEMAKER_NO_INFO:
		return "no information";
	case PACEMAKER_NO_QUORUM:
		return "no quorum";
	case PACEMAKER_OK:
		return "ok";
	}
	return "?";
}

#endif
