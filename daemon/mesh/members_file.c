/* See members_file.h. */
#include "daemon/mesh/members_file.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errbuf.h"
#include "base/text.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* The scheme's length when url starts with a supported one, else 0. */
static size_t scheme_len(const char *url, size_t n)
{
	if (n >= 10 && memcmp(url, "tls+tcp://", 10) == 0)
		return 10;
	if (n >= 6 && memcmp(url, "tcp://", 6) == 0)
		return 6;
	return 0;
}

/* HOST:PORT after the scheme: a non-empty host (an IPv6 one in brackets)
 * and a port 1..65535. */
static const char *check_hostport(const char *s, size_t n)
{
	const char *colon;
	unsigned long port = 0;

	if (n == 0)
		return "the URL has no host";
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close || close == s + 1)
			return "an IPv6 host is written [ADDRESS]";
		colon = close + 1;
		if (colon >= s + n || *colon != ':')
			return "the URL has no :PORT";
	} else {
		colon = memchr(s, ':', n);
		if (!colon)
			return "the URL has no :PORT";
		if (colon == s)
			return "the URL has no host";
		if (memchr(colon + 1, ':', (size_t)(s + n - colon - 1)))
			return "write an IPv6 host in brackets";
	}
	if (colon + 1 == s + n)
		return "the URL has no port";
	for (const char *p = colon + 1; p < s + n; p++) {
		if (*p < '0' || *p > '9')
			return "the port is not a number";
		port = port * 10 + (unsigned long)(*p - '0');
		if (port > 65535)
			return "the port is above 65535";
	}
	if (port == 0)
		return "the port is 0";
	return NULL;
}

static long find_in(const struct members_entry *v, size_t n, const char *s, bool url)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(url ? v[i].url : v[i].name, s) == 0)
			return (long)i;
	return -1;
}

/* One line (without its newline). Returns 1 with *e filled when the line
 * names a member, 0 for a blank or comment line, -1 with err. *scheme is
 * the first member's scheme length (0 before it). */
static int parse_line(const char *file, size_t lineno, const char *line, size_t n,
		      struct members_entry *e, size_t *scheme, char *err, size_t errlen)
{
	size_t i = 0, name_start, name_end, url_start, url_end, slen;
	const char *why;

	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)line[k];

		/* Blanks may be tabs; a CRLF file's CR ends the line. */
		if (text_is_control(c) && c != '\t' && !(c == '\r' && k == n - 1)) {
			errbuf_set(err, errlen, "%s:%zu: control character (byte 0x%02x) in the line",
				file, lineno, c);
			return -1;
		}
	}
	if (n > 0 && line[n - 1] == '\r')
		n--; /* CRLF files */
	while (i < n && is_blank(line[i]))
		i++;
	if (i == n || line[i] == '#')
		return 0;
	name_start = i;
	while (i < n && !is_blank(line[i]) && line[i] != '#')
		i++;
	name_end = i;
	while (i < n && is_blank(line[i]))
		i++;
	url_start = i;
	while (i < n && !is_blank(line[i]) && line[i] != '#')
		i++;
	url_end = i;
	while (i < n && is_blank(line[i]))
		i++;
	if (i < n && line[i] != '#') {
		errbuf_set(err, errlen, "%s:%zu: unexpected text after the URL (expected \"NAME URL\")",
			file, lineno);
		return -1;
	}
	if (url_start == url_end) {
		errbuf_set(err, errlen, "%s:%zu: no URL after the name (expected \"NAME URL\")", file,
			lineno);
		return -1;
	}
	if (name_end - name_start >= MEMBERS_NAME_MAX) {
		errbuf_set(err, errlen, "%s:%zu: the name is longer than %d bytes", file, lineno,
			MEMBERS_NAME_MAX - 1);
		return -1;
	}
	/* The name becomes an argument of stonith_admin or the fence command:
	 * a leading '-' would be read as an option, so names start like host
	 * names do. */
	if (!((line[name_start] >= 'A' && line[name_start] <= 'Z') ||
	      (line[name_start] >= 'a' && line[name_start] <= 'z') ||
	      (line[name_start] >= '0' && line[name_start] <= '9')) &&
	    name_char(line[name_start])) {
		errbuf_set(err, errlen, "%s:%zu: the name '%.*s' must start with a letter or a digit",
			file, lineno, (int)(name_end - name_start), line + name_start);
		return -1;
	}
	for (size_t k = name_start; k < name_end; k++) {
		if (!name_char(line[k])) {
			errbuf_set(err, errlen,
				"%s:%zu: the name '%.*s' may hold only letters, digits, '.', '_' and "
				"'-' (it is the certificate's common name)",
				file, lineno, (int)(name_end - name_start), line + name_start);
			return -1;
		}
	}
	if (url_end - url_start >= MEMBERS_URL_MAX) {
		errbuf_set(err, errlen, "%s:%zu: the URL is longer than %d bytes", file, lineno,
			MEMBERS_URL_MAX - 1);
		return -1;
	}
	slen = scheme_len(line + url_start, url_end - url_start);
	if (slen == 0) {
		errbuf_set(err, errlen,
			"%s:%zu: the URL '%.*s' must be tls+tcp://HOST:PORT (or tcp:// for tests)",
			file, lineno, (int)(url_end - url_start), line + url_start);
		return -1;
	}
	if ((why = check_hostport(line + url_start + slen, url_end - url_start - slen))) {
		errbuf_set(err, errlen, "%s:%zu: '%.*s': %s", file, lineno, (int)(url_end - url_start),
			line + url_start, why);
		return -1;
	}
	if (*scheme == 0) {
		*scheme = slen;
	} else if (slen != *scheme) {
		errbuf_set(err, errlen,
			"%s:%zu: every member must use the same scheme (tls+tcp:// or tcp://)", file,
			lineno);
		return -1;
	}
	assert(name_end > name_start && name_end - name_start < sizeof(e->name));
	assert(url_end - url_start < sizeof(e->url));
	memcpy(e->name, line + name_start, name_end - name_start);
	e->name[name_end - name_start] = '\0';
	memcpy(e->url, line + url_start, url_end - url_start);
	e->url[url_end - url_start] = '\0';
	return 1;
}

/* Duplicate detection in O(n log n): entries sorted by name (then URL),
 * with their line numbers, so the message names the later line. */
struct sort_item {
	const struct members_entry *e;
	size_t lineno;
};

static int by_name(const void *a, const void *b)
{
	const struct sort_item *x = a, *y = b;
	int c = strcmp(x->e->name, y->e->name);

	return c ? c : (x->lineno > y->lineno) - (x->lineno < y->lineno);
}

static int by_url(const void *a, const void *b)
{
	const struct sort_item *x = a, *y = b;
	int c = strcmp(x->e->url, y->e->url);

	return c ? c : (x->lineno > y->lineno) - (x->lineno < y->lineno);
}

static int check_unique(const char *file, const struct members_entry *v, const size_t *lines,
			size_t n, char *err, size_t errlen)
{
	struct sort_item *items = calloc(n, sizeof(*items));
	int rc = 0;

	if (!items) {
		errbuf_set(err, errlen, "%s: out of memory", file);
		return -1;
	}
	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		for (size_t i = 0; i < n; i++)
			items[i] = (struct sort_item){ &v[i], lines[i] };
		qsort(items, n, sizeof(*items), pass == 0 ? by_name : by_url);
		for (size_t i = 1; i < n; i++) {
			const struct sort_item *a = &items[i - 1], *b = &items[i];

			if (pass == 0 && strcmp(a->e->name, b->e->name) == 0) {
				errbuf_set(err, errlen, "%s:%zu: member '%s' is already listed on line %zu",
					file, b->lineno, b->e->name, a->lineno);
				rc = -1;
				break;
			}
			if (pass == 1 && strcmp(a->e->url, b->e->url) == 0) {
				errbuf_set(err, errlen,
					"%s:%zu: URL %s is already member '%s''s (line %zu)", file,
					b->lineno, b->e->url, a->e->name, a->lineno);
				rc = -1;
				break;
			}
		}
	}
	free(items);
	return rc;
}

/* What a parsed list guarantees to the mesh (names index its tables and
 * are TLS peer names, URLs are dialled): 1..MAX members, every name and
 * URL terminated within its array, names non-empty of [A-Za-z0-9._-]
 * starting with a letter or a digit,
 * URLs non-empty. Uniqueness is check_unique()'s (O(n log n); the fuzzer
 * checks it again). */
static void assert_list(const struct members_list *l)
{
	assert(l->n >= 1 && l->n <= MEMBERS_FILE_MAX_MEMBERS && l->v);
	for (size_t i = 0; i < l->n; i++) {
		const struct members_entry *e = &l->v[i];

		assert(memchr(e->name, '\0', sizeof(e->name)) && e->name[0] != '\0');
		assert(e->name[0] != '-' && e->name[0] != '.' && e->name[0] != '_');
		assert(memchr(e->url, '\0', sizeof(e->url)) && e->url[0] != '\0');
		for (const char *c = e->name; *c; c++)
			assert(name_char(*c));
	}
}

int members_file_parse(const char *name, const char *data, size_t len, struct members_list *out,
		       char *err, size_t errlen)
{
	size_t cap = 0, count = 0, lineno = 0, scheme = 0, pos = 0;
	struct members_entry *v = NULL, e;
	size_t *lines = NULL;

	assert(name && out && (data || len == 0));
	memset(out, 0, sizeof(*out));
	if (len > MEMBERS_FILE_MAX_BYTES) {
		errbuf_set(err, errlen, "%s: larger than %u bytes", name, MEMBERS_FILE_MAX_BYTES);
		return -1;
	}
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (data + pos)) : len - pos;
		int rc;

		lineno++;
		if (memchr(data + pos, '\0', n)) {
			errbuf_set(err, errlen, "%s:%zu: NUL byte in the line", name, lineno);
			goto fail;
		}
		if (n > MEMBERS_FILE_MAX_LINE) {
			errbuf_set(err, errlen, "%s:%zu: line longer than %d bytes", name, lineno,
				MEMBERS_FILE_MAX_LINE);
			goto fail;
		}
		rc = parse_line(name, lineno, data + pos, n, &e, &scheme, err, errlen);
		if (rc < 0)
			goto fail;
		if (rc == 1) {
			if (count == MEMBERS_FILE_MAX_MEMBERS) {
				errbuf_set(err, errlen, "%s:%zu: more than %d members", name, lineno,
					MEMBERS_FILE_MAX_MEMBERS);
				goto fail;
			}
			if (count == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				struct members_entry *nv;
				size_t *nl2;

				if (ncap > MEMBERS_FILE_MAX_MEMBERS)
					ncap = MEMBERS_FILE_MAX_MEMBERS;
				nv = realloc(v, ncap * sizeof(*v));
				if (nv)
					v = nv;
				nl2 = nv ? realloc(lines, ncap * sizeof(*lines)) : NULL;
				if (!nv || !nl2) {
					errbuf_set(err, errlen, "%s: out of memory", name);
					goto fail;
				}
				lines = nl2;
				cap = ncap;
			}
			v[count] = e;
			lines[count++] = lineno;
		}
		pos += n + (nl ? 1 : 0);
	}
	if (count == 0) {
		errbuf_set(err, errlen, "%s: no member (expected \"NAME URL\" lines)", name);
		goto fail;
	}
	if (check_unique(name, v, lines, count, err, errlen) < 0)
		goto fail;
	free(lines);
	out->n = count;
	out->v = v;
	assert_list(out);
	return 0;
fail:
	free(lines);
	free(v);
	return -1;
}

int members_file_load(const char *path, struct members_list *out, char *err, size_t errlen)
{
	int fd;
	struct stat st;
	char *buf;
	size_t len = 0;
	int rc;

	assert(path && out);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	memset(out, 0, sizeof(*out));
	if (fd < 0) {
		errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		errbuf_set(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_size > (off_t)MEMBERS_FILE_MAX_BYTES) {
		errbuf_set(err, errlen, "%s: larger than %u bytes", path, MEMBERS_FILE_MAX_BYTES);
		close(fd);
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		errbuf_set(err, errlen, "%s: out of memory", path);
		close(fd);
		return -1;
	}
	/* Read to EOF, one byte beyond the bound to notice a growing file. */
	for (;;) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size + 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == (size_t)st.st_size + 1) {
			errbuf_set(err, errlen, "%s: changed while being read", path);
			free(buf);
			close(fd);
			return -1;
		}
	}
	close(fd);
	rc = members_file_parse(path, buf, len, out, err, errlen);
	free(buf);
	return rc;
}

void members_list_free(struct members_list *l)
{
	if (!l)
		return;
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

long members_find(const struct members_list *l, const char *name)
{
	assert(l && name && (l->v || l->n == 0));
	return find_in(l->v, l->n, name, false);
}

long members_find_url(const struct members_list *l, const char *url)
{
	assert(l && url && (l->v || l->n == 0));
	return find_in(l->v, l->n, url, true);
}
