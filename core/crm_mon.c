/* See crm_mon.h. libxml2 parses; fixed XPath expressions select; every
 * attribute is copied into a bounded field or the document is refused.
 * The input may be any bytes (a fuzzer feeds it): nothing here trusts the
 * shape of the tree beyond what it checked. */
#include "core/crm_mon.h"

#include "base/civil_time.h"
#include "base/errbuf.h"
#include "base/text.h"

#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

static void set_reason(struct crm_mon_view *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_reason(struct crm_mon_view *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
}

void crm_mon_init(void)
{
	xmlInitParser();
}

const char *crm_mon_status_name(enum crm_mon_status s)
{
	switch (s) {
	case CRM_MON_NO_INFO:
		return "no information";
	case CRM_MON_NO_QUORUM:
		return "no quorum";
	case CRM_MON_OK:
		return "ok";
	}
	return "?";
}

_Static_assert(PCMK_VIEW_MAX_NODES >= CRM_MON_MAX_NODES, "every node fits the mesh's view");
_Static_assert(PCMK_VIEW_MAX_FENCED >= CRM_MON_MAX_FENCE, "every fence fits the mesh's view");
_Static_assert(PCMK_VIEW_REASON_LEN == CRM_MON_REASON_LEN, "the reason is kept whole");
_Static_assert(PCMK_VIEW_DC_LEN == CRM_MON_NAME_LEN, "the DC's name is kept whole");
_Static_assert((int)PACEMAKER_NO_INFO == (int)CRM_MON_NO_INFO &&
		       (int)PACEMAKER_NO_QUORUM == (int)CRM_MON_NO_QUORUM &&
		       (int)PACEMAKER_OK == (int)CRM_MON_OK,
	       "the same three grades");

/* Copies src into dst[len] when it fits; false (dst "") when it does not. */
static bool copy_name(char *dst, size_t len, const char *src)
{
	size_t l = strnlen(src, len);
	if (l == len) {
		dst[0] = '\0';
		return false;
	}
	memcpy(dst, src, l + 1);
	return true;
}

void crm_mon_pacemaker_view(const struct crm_mon_view *v, struct pacemaker_view *out)
{
	assert(v != NULL && out != NULL);
	assert(v->n_nodes <= CRM_MON_MAX_NODES && v->n_fence <= CRM_MON_MAX_FENCE);
	out->status = (enum pacemaker_status)v->status;
	snprintf(out->reason, sizeof(out->reason), "%s", v->reason);
	snprintf(out->dc, sizeof(out->dc), "%s", v->dc_name);
	out->n_nodes = v->n_nodes;
	for (size_t k = 0; k < v->n_nodes; k++) {
		const struct crm_mon_node *nd = &v->nodes[k];
		struct pacemaker_node *pn = &out->nodes[k];
		copy_name(pn->name, sizeof(pn->name), nd->name);
		pn->online = nd->online;
		pn->unclean = nd->unclean;
		pn->reconnecting = nd->reconnecting;
		pn->shutdown = nd->shutdown;
	}
	out->n_fenced = 0;
	for (size_t k = 0; k < v->n_fence; k++)
		if (v->fence[k].status == CRM_MON_FENCE_SUCCESS &&
		    copy_name(out->fenced[out->n_fenced], PCMK_VIEW_NAME_LEN, v->fence[k].target))
			out->n_fenced++;
}

const char *crm_mon_node_type_name(enum crm_mon_node_type t)
{
	switch (t) {
	case CRM_MON_NODE_UNKNOWN:
		return "unknown";
	case CRM_MON_NODE_MEMBER:
		return "member";
	case CRM_MON_NODE_REMOTE:
		return "remote";
	case CRM_MON_NODE_PING:
		return "ping";
	}
	return "?";
}

const struct crm_mon_node *crm_mon_find_node(const struct crm_mon_view *v, const char *name)
{
	assert(v != NULL && name != NULL);
	if (v->status != CRM_MON_OK)
		return NULL;
	assert(v->n_nodes <= CRM_MON_MAX_NODES);
	for (size_t i = 0; i < v->n_nodes; i++)
		if (strcmp(v->nodes[i].name, name) == 0)
			return &v->nodes[i];
	return NULL;
}

/* ------------------------------------------------------------ XML parse */

/* SAX hook called when the parser meets <!DOCTYPE: crm_mon never writes
 * one, and a DTD is where entity tricks live. Stop right there. */
static void reject_dtd(void *ctx, const xmlChar *name, const xmlChar *external_id,
		       const xmlChar *system_id)
{
	(void)name;
	(void)external_id;
	(void)system_id;
	xmlParserCtxtPtr ctxt = ctx;
	xmlStopParser(ctxt);
	ctxt->wellFormed = 0;
}

static xmlDocPtr parse_doc(const char *xml, size_t len, char *err, size_t errlen)
{
	assert(len > 0 && len <= CRM_MON_MAX_DOC && len <= INT_MAX);
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	if (ctxt == NULL) {
		errbuf_set(err, errlen, "out of memory");
		return NULL;
	}
	ctxt->sax->internalSubset = reject_dtd;
	ctxt->sax->externalSubset = reject_dtd;
	/* NONET: never fetch anything. No NOENT (entities stay references),
	 * no DTDLOAD/DTDATTR/DTDVALID, no HUGE (default limits apply). */
	xmlDocPtr doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "crm_mon.xml", NULL,
					  XML_PARSE_NONET | XML_PARSE_NOERROR |
						  XML_PARSE_NOWARNING);
	if (ctxt->errNo == XML_ERR_USER_STOP) {
		errbuf_set(err, errlen, "not crm_mon output: document has a DOCTYPE");
		xmlFreeDoc(doc);
		doc = NULL;
	} else if (doc == NULL) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[160] = "unknown error";
		int line = 0;
		if (e != NULL && e->message != NULL) {
			snprintf(msg, sizeof(msg), "%s", e->message);
			size_t n = strlen(msg);
			while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
				msg[--n] = '\0';
			line = e->line;
		}
		errbuf_set(err, errlen, "not well-formed XML (line %d): %s", line, msg);
	}
	xmlFreeParserCtxt(ctxt);
	return doc;
}

/* ------------------------------------------------------------- helpers */

enum attr_rc { ATTR_OK = 0, ATTR_MISSING = 1, ATTR_TOO_LONG = 2, ATTR_BAD = 3 };

/* Copies attribute `name` of n into buf (NUL-terminated). Control
 * characters are refused: these strings end up in logs. */
static enum attr_rc attr_copy(xmlNodePtr n, const char *name, char *buf, size_t len)
{
	assert(n != NULL && name != NULL && buf != NULL && len > 0);
	buf[0] = '\0';
	xmlChar *val = xmlGetNoNsProp(n, BAD_CAST name);
	if (val == NULL)
		return ATTR_MISSING;
	size_t vlen = strlen((const char *)val);
	enum attr_rc rc = ATTR_OK;
	if (vlen >= len) {
		rc = ATTR_TOO_LONG;
	} else if (text_has_control_n((const char *)val, vlen)) {
		rc = ATTR_BAD;
	} else {
		memcpy(buf, val, vlen + 1);
	}
	xmlFree(val);
	return rc;
}

/* A string attribute that must be there and fit. */
static int attr_required(xmlNodePtr n, const char *elem, const char *name, char *buf,
			 size_t len, char *err, size_t errlen)
{
	switch (attr_copy(n, name, buf, len)) {
	case ATTR_OK:
		if (buf[0] != '\0')
			return 0;
		errbuf_set(err, errlen, "<%s> has an empty %s", elem, name);
		return -1;
	case ATTR_MISSING:
		errbuf_set(err, errlen, "<%s> has no %s attribute", elem, name);
		return -1;
	case ATTR_TOO_LONG:
		errbuf_set(err, errlen, "<%s> %s longer than %zu bytes", elem, name, len - 1);
		return -1;
	case ATTR_BAD:
		errbuf_set(err, errlen, "<%s> %s holds control characters", elem, name);
		return -1;
	}
	return -1;
}

/* An informational string attribute: missing = "", too long = cut. */
static void attr_optional(xmlNodePtr n, const char *name, char *buf, size_t len)
{
	enum attr_rc rc = attr_copy(n, name, buf, len);
	if (rc != ATTR_OK)
		buf[0] = '\0';
}

/* "true"/"false" as Pacemaker writes them. A missing attribute is false
 * unless required; any other value is an error. */
static int attr_bool(xmlNodePtr n, const char *elem, const char *name, bool required,
		     bool *out, char *err, size_t errlen)
{
	char buf[8];
	enum attr_rc rc = attr_copy(n, name, buf, sizeof(buf));
	*out = false;
	if (rc == ATTR_MISSING && !required)
		return 0;
	if (rc == ATTR_MISSING) {
		errbuf_set(err, errlen, "<%s> has no %s attribute", elem, name);
		return -1;
	}
	if (rc == ATTR_OK && strcmp(buf, "true") == 0) {
		*out = true;
		return 0;
	}
	if (rc == ATTR_OK && strcmp(buf, "false") == 0)
		return 0;
	errbuf_set(err, errlen, "<%s> %s is not true/false", elem, name);
	return -1;
}

/* Evaluates expr relative to node; NULL on error or empty result. The
 * caller frees a non-NULL result with xmlXPathFreeObject. */
static xmlXPathObjectPtr xp_eval(xmlXPathContextPtr xc, xmlNodePtr node, const char *expr)
{
	xc->node = node;
	xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, xc);
	if (o == NULL)
		return NULL;
	if (o->type != XPATH_NODESET || o->nodesetval == NULL || o->nodesetval->nodeNr <= 0) {
		xmlXPathFreeObject(o);
		return NULL;
	}
	return o;
}

static xmlNodePtr xp_first(xmlXPathContextPtr xc, xmlNodePtr node, const char *expr)
{
	xmlXPathObjectPtr o = xp_eval(xc, node, expr);
	if (o == NULL)
		return NULL;
	xmlNodePtr first = o->nodesetval->nodeTab[0];
	xmlXPathFreeObject(o);
	return first;
}

static bool parse_int(const char *s, int *out)
{
	long v = 0;
	bool neg = false;
	size_t i = 0;
	if (s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (s[i] == '\0')
		return false;
	for (; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || v > 100000000)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = (int)(neg ? -v : v);
	return true;
}

/* fence_event@completed: "2026-11-26 19:39:55Z" (UTC). */
static bool parse_completed(const char *s, int64_t *epoch)
{
	int y, mo, d, h, mi, se;
	if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' ||
	    s[16] != ':' || s[19] != 'Z')
		return false;
	if (!civil_digits(s, 4, &y) || !civil_digits(s + 5, 2, &mo) ||
	    !civil_digits(s + 8, 2, &d) || !civil_digits(s + 11, 2, &h) ||
	    !civil_digits(s + 14, 2, &mi) || !civil_digits(s + 17, 2, &se))
		return false;
	if (!civil_valid(y, mo, d, h, mi, se, true))
		return false;
	*epoch = civil_epoch_seconds(y, mo, d, h, mi, se);
	return true;
}

/* ------------------------------------------------------------- sections */

/* <pacemaker-result>: <status code= message=> and its first <error>. */
static int parse_result_status(xmlXPathContextPtr xc, xmlNodePtr root, struct crm_mon_view *v,
			       char *first_error, size_t first_error_len, char *err,
			       size_t errlen)
{
	first_error[0] = '\0';
	xmlNodePtr st = xp_first(xc, root, "status");
	if (st == NULL) {
		errbuf_set(err, errlen, "<pacemaker-result> without <status>");
		return -1;
	}
	char code[16];
	if (attr_required(st, "status", "code", code, sizeof(code), err, errlen) < 0)
		return -1;
	if (!parse_int(code, &v->result_code)) {
		errbuf_set(err, errlen, "<status> code is not a number");
		return -1;
	}
	char message[96];
	attr_optional(st, "message", message, sizeof(message));
	xmlNodePtr e = xp_first(xc, st, "errors/error");
	if (e != NULL) {
		xmlChar *text = xmlNodeGetContent(e);
		if (text != NULL) {
			snprintf(first_error, first_error_len, "%s", (const char *)text);
			xmlFree(text);
			for (char *p = first_error; *p != '\0'; p++)
				if (text_is_control((unsigned char)*p))
					*p = ' ';
		}
	}
	if (v->result_code != 0)
		set_reason(v, "crm_mon status %d (%s)%s%s", v->result_code,
			   message[0] != '\0' ? message : "?", first_error[0] ? ": " : "",
			   first_error);
	return 0;
}

/* summary/current_dc and summary/cluster_options; decides the status. */
static int parse_summary(xmlXPathContextPtr xc, xmlNodePtr summary, struct crm_mon_view *v,
			 char *err, size_t errlen)
{
	xmlNodePtr dc = xp_first(xc, summary, "current_dc");
	if (dc == NULL) {
		set_reason(v, "no current_dc in summary: quorum unknown");
		return 0;
	}
	if (attr_bool(dc, "current_dc", "present", true, &v->dc_present, err, errlen) < 0)
		return -1;
	xmlNodePtr opts = xp_first(xc, summary, "cluster_options");
	if (opts != NULL && xmlHasProp(opts, BAD_CAST "stonith-enabled") != NULL) {
		if (attr_bool(opts, "cluster_options", "stonith-enabled", true,
			      &v->stonith_enabled, err, errlen) < 0)
			return -1;
		v->stonith_known = true;
	}
	if (!v->dc_present) {
		set_reason(v, "no DC elected yet: quorum unknown");
		return 0;
	}
	attr_optional(dc, "name", v->dc_name, sizeof(v->dc_name));
	if (xmlHasProp(dc, BAD_CAST "with_quorum") == NULL) {
		set_reason(v, "DC %s without with_quorum: quorum unknown", v->dc_name);
		return 0;
	}
	if (attr_bool(dc, "current_dc", "with_quorum", true, &v->with_quorum, err, errlen) < 0)
		return -1;
	v->quorum_known = true;
	if (!v->with_quorum) {
		v->status = CRM_MON_NO_QUORUM;
		set_reason(v, "no quorum: no information (partition of DC %s)", v->dc_name);
		return 0;
	}
	v->status = CRM_MON_OK;
	v->reason[0] = '\0';
	return 0;
}

static int parse_node_type(xmlNodePtr n, enum crm_mon_node_type *t, char *err, size_t errlen)
{
	char buf[16];
	switch (attr_copy(n, "type", buf, sizeof(buf))) {
	case ATTR_MISSING:
		*t = CRM_MON_NODE_UNKNOWN;
		return 0;
	case ATTR_OK:
		break;
	default:
		errbuf_set(err, errlen, "<node> type is not member/remote/ping");
		return -1;
	}
	if (strcmp(buf, "member") == 0)
		*t = CRM_MON_NODE_MEMBER;
	else if (strcmp(buf, "remote") == 0)
		*t = CRM_MON_NODE_REMOTE;
	else if (strcmp(buf, "ping") == 0)
		*t = CRM_MON_NODE_PING;
	else if (strcmp(buf, "unknown") == 0)
		*t = CRM_MON_NODE_UNKNOWN;
	else {
		errbuf_set(err, errlen, "<node> type is not member/remote/ping");
		return -1;
	}
	return 0;
}

static int parse_node(xmlNodePtr n, struct crm_mon_node *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (attr_required(n, "node", "name", out->name, sizeof(out->name), err, errlen) < 0)
		return -1;
	if (parse_node_type(n, &out->type, err, errlen) < 0 ||
	    attr_bool(n, "node", "online", true, &out->online, err, errlen) < 0 ||
	    attr_bool(n, "node", "unclean", true, &out->unclean, err, errlen) < 0 ||
	    attr_bool(n, "node", "shutdown", false, &out->shutdown, err, errlen) < 0 ||
	    attr_bool(n, "node", "pending", false, &out->pending, err, errlen) < 0 ||
	    attr_bool(n, "node", "standby", false, &out->standby, err, errlen) < 0 ||
	    attr_bool(n, "node", "maintenance", false, &out->maintenance, err, errlen) < 0) {
		size_t l = strlen(err != NULL ? err : "");
		if (err != NULL && l + 1 < errlen)
			snprintf(err + l, errlen - l, " (node %s)", out->name);
		return -1;
	}
	return 0;
}

/* Remote connection resources (anywhere under <resources>, groups and
 * clones included) give each remote node its role and failed flag.
 * Matched in C by id == node name: no document string is ever pasted
 * into an XPath expression. */
static int apply_remote_resources(xmlXPathContextPtr xc, xmlNodePtr root,
				  struct crm_mon_view *v, char *err, size_t errlen)
{
	xmlXPathObjectPtr o =
		xp_eval(xc, root, "resources//resource[@resource_agent='ocf:pacemaker:remote']");
	if (o == NULL)
		return 0;
	int rc = 0;
	for (int i = 0; i < o->nodesetval->nodeNr; i++) {
		xmlNodePtr r = o->nodesetval->nodeTab[i];
		if (r == NULL || r->type != XML_ELEMENT_NODE)
			continue;
		char id[CRM_MON_NAME_LEN];
		if (attr_copy(r, "id", id, sizeof(id)) != ATTR_OK)
			continue;
		struct crm_mon_node *node = NULL;
		for (size_t k = 0; k < v->n_nodes; k++)
			if (strcmp(v->nodes[k].name, id) == 0)
				node = &v->nodes[k];
		if (node == NULL || node->has_remote_resource)
			continue;
		node->has_remote_resource = true;
		attr_optional(r, "role", node->remote_role, sizeof(node->remote_role));
		if (attr_bool(r, "resource", "failed", false, &node->remote_failed, err,
			      errlen) < 0) {
			rc = -1;
			break;
		}
		node->reconnecting =
			strcmp(node->remote_role, "Starting") == 0 || node->remote_failed;
	}
	xmlXPathFreeObject(o);
	return rc;
}

static int parse_nodes(xmlXPathContextPtr xc, xmlNodePtr root, struct crm_mon_view *v,
		       char *err, size_t errlen)
{
	xmlXPathObjectPtr o = xp_eval(xc, root, "nodes/node");
	if (o == NULL)
		return 0;
	int rc = 0;
	for (int i = 0; i < o->nodesetval->nodeNr; i++) {
		xmlNodePtr n = o->nodesetval->nodeTab[i];
		if (v->n_nodes == CRM_MON_MAX_NODES) {
			v->nodes_truncated = true;
			break;
		}
		struct crm_mon_node *node = &v->nodes[v->n_nodes];
		if (parse_node(n, node, err, errlen) < 0) {
			rc = -1;
			break;
		}
		for (size_t k = 0; k < v->n_nodes; k++) {
			if (strcmp(v->nodes[k].name, node->name) == 0) {
				errbuf_set(err, errlen, "node %s listed twice", node->name);
				rc = -1;
				break;
			}
		}
		if (rc < 0)
			break;
		v->n_nodes++;
	}
	xmlXPathFreeObject(o);
	if (rc == 0)
		rc = apply_remote_resources(xc, root, v, err, errlen);
	return rc;
}

static enum crm_mon_fence_status fence_status(const char *s)
{
	if (strcmp(s, "success") == 0)
		return CRM_MON_FENCE_SUCCESS;
	if (strcmp(s, "failed") == 0)
		return CRM_MON_FENCE_FAILED;
	if (strcmp(s, "pending") == 0)
		return CRM_MON_FENCE_PENDING;
	return CRM_MON_FENCE_UNKNOWN;
}

/* <fence_history status="102"/> means the fencer could not be asked. */
static int parse_fence_history(xmlXPathContextPtr xc, xmlNodePtr root, struct crm_mon_view *v,
			       char *err, size_t errlen)
{
	xmlNodePtr fh = xp_first(xc, root, "fence_history");
	if (fh == NULL)
		return 0;
	char st[16];
	if (attr_copy(fh, "status", st, sizeof(st)) == ATTR_OK && strcmp(st, "0") != 0)
		return 0;
	v->fence_history_known = true;
	xmlXPathObjectPtr o = xp_eval(xc, fh, "fence_event");
	if (o == NULL)
		return 0;
	int rc = 0;
	for (int i = 0; i < o->nodesetval->nodeNr; i++) {
		if (v->n_fence == CRM_MON_MAX_FENCE) {
			v->fence_truncated = true;
			break;
		}
		xmlNodePtr e = o->nodesetval->nodeTab[i];
		struct crm_mon_fence_event *f = &v->fence[v->n_fence];
		memset(f, 0, sizeof(*f));
		if (attr_required(e, "fence_event", "target", f->target, sizeof(f->target), err,
				  errlen) < 0) {
			rc = -1;
			break;
		}
		attr_optional(e, "action", f->action, sizeof(f->action));
		attr_optional(e, "status", f->status_text, sizeof(f->status_text));
		f->status = fence_status(f->status_text);
		attr_optional(e, "delegate", f->delegate, sizeof(f->delegate));
		attr_optional(e, "origin", f->origin, sizeof(f->origin));
		attr_optional(e, "completed", f->completed, sizeof(f->completed));
		f->has_completed_epoch = parse_completed(f->completed, &f->completed_epoch);
		v->n_fence++;
	}
	xmlXPathFreeObject(o);
	return rc;
}

/* ------------------------------------------------------------------ API */

static void reset_view(struct crm_mon_view *v, int exit_code)
{
	/* Only the header: the arrays are bounded by n_nodes / n_fence. */
	memset(v, 0, offsetof(struct crm_mon_view, nodes));
	v->n_fence = 0;
	v->fence_truncated = false;
	v->fence_history_known = false;
	v->status = CRM_MON_NO_INFO;
	v->exit_code = exit_code;
	v->result_code = -1;
}

static int fail(struct crm_mon_view *v, int exit_code, const char *why, char *err,
		size_t errlen)
{
	reset_view(v, exit_code);
	set_reason(v, "%s", why);
	if (err != NULL && errlen > 0 && err != why)
		errbuf_set(err, errlen, "%s", why);
	return -1;
}

static int parse_tree(xmlDocPtr doc, struct crm_mon_view *v, char *err, size_t errlen)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (root == NULL || root->name == NULL) {
		errbuf_set(err, errlen, "no root element");
		return -1;
	}
	const char *rname = (const char *)root->name;
	if (strcmp(rname, "crm_mon") == 0) {
		v->format = CRM_MON_FORMAT_LEGACY;
		attr_optional(root, "version", v->version, sizeof(v->version));
	} else if (strcmp(rname, "pacemaker-result") == 0) {
		v->format = CRM_MON_FORMAT_RESULT;
		attr_optional(root, "api-version", v->version, sizeof(v->version));
	} else {
		errbuf_set(err, errlen, "unexpected root element <%.40s>", rname);
		return -1;
	}
	if (root->ns != NULL) {
		errbuf_set(err, errlen, "unexpected XML namespace on <%s>", rname);
		return -1;
	}

	xmlXPathContextPtr xc = xmlXPathNewContext(doc);
	if (xc == NULL) {
		errbuf_set(err, errlen, "out of memory");
		return -1;
	}
	int rc = 0;
	char first_error[128] = "";
	if (v->format == CRM_MON_FORMAT_RESULT)
		rc = parse_result_status(xc, root, v, first_error, sizeof(first_error), err,
					 errlen);
	if (v->exit_code != 0) {
		/* crm_mon failed: whatever it printed is not a view. */
		rc = 0;
		if (v->result_code > 0)
			set_reason(v, "crm_mon exited %d, status %d%s%s", v->exit_code,
				   v->result_code, first_error[0] ? ": " : "", first_error);
		else
			set_reason(v, "crm_mon exited %d%s%s", v->exit_code,
				   first_error[0] ? ": " : "", first_error);
		goto out;
	}
	if (rc == 0 && v->result_code > 0)
		goto out; /* reason set by parse_result_status */

	xmlNodePtr summary = rc == 0 ? xp_first(xc, root, "summary") : NULL;
	if (rc == 0 && summary == NULL) {
		set_reason(v, "empty document: crm_mon has no cluster connection%s%s",
			   first_error[0] ? ": " : "", first_error);
		goto out;
	}
	if (rc == 0)
		rc = parse_summary(xc, summary, v, err, errlen);
	if (rc == 0)
		rc = parse_fence_history(xc, root, v, err, errlen);
	if (rc == 0 && v->status == CRM_MON_OK)
		rc = parse_nodes(xc, root, v, err, errlen);
out:
	xmlXPathFreeContext(xc);
	return rc;
}

int crm_mon_parse(const char *xml, size_t len, int exit_code, struct crm_mon_view *out,
		  char *err, size_t errlen)
{
	assert(out != NULL);
	assert(xml != NULL || len == 0);
	char why[CRM_MON_REASON_LEN];

	reset_view(out, exit_code);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len > CRM_MON_MAX_DOC) {
		snprintf(why, sizeof(why), "crm_mon output too large (%zu bytes, limit %u)", len,
			 CRM_MON_MAX_DOC);
		return fail(out, exit_code, why, err, errlen);
	}
	if (len == 0) {
		if (exit_code != 0) {
			set_reason(out, "crm_mon exited %d with no output", exit_code);
			return 0;
		}
		return fail(out, exit_code, "crm_mon printed nothing (exit 0)", err, errlen);
	}

	crm_mon_init();
	xmlDocPtr doc = parse_doc(xml, len, why, sizeof(why));
	if (doc == NULL) {
		if (exit_code != 0) {
			set_reason(out, "crm_mon exited %d; output unreadable: %s", exit_code,
				   why);
			return 0;
		}
		return fail(out, exit_code, why, err, errlen);
	}
	int rc = parse_tree(doc, out, why, sizeof(why));
	xmlFreeDoc(doc);
	if (rc < 0 && exit_code != 0) {
		reset_view(out, exit_code);
		set_reason(out, "crm_mon exited %d; output unreadable: %s", exit_code, why);
		return 0;
	}
	if (rc < 0)
		return fail(out, exit_code, why, err, errlen);
	if (out->status != CRM_MON_OK) {
		/* Belt and braces: nothing about nodes escapes a non-OK view. */
		out->n_nodes = 0;
		out->nodes_truncated = false;
	}
	assert(out->n_nodes <= CRM_MON_MAX_NODES && out->n_fence <= CRM_MON_MAX_FENCE);
	assert(out->status == CRM_MON_OK || out->reason[0] != '\0');
	return 0;
}
