/* See ctl_table.h. */
#include "tools/ctl_table.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ctl_fmt.h"

struct ctl_table {
	size_t ncols;
	char *headers[CTL_TABLE_MAX_COLS];
	bool right[CTL_TABLE_MAX_COLS];
	size_t width[CTL_TABLE_MAX_COLS];
	size_t indent;
	size_t fit_width, fit_min;
	bool header_done, frozen;
	char **cells; /* nrows x ncols */
	unsigned *hl; /* per row */
	size_t nrows, cap;
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL) {
		fputs("mimamorictl: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

struct ctl_table *ctl_table_new(size_t ncols, const char *const *headers)
{
	assert(ncols > 0 && ncols <= CTL_TABLE_MAX_COLS);
	struct ctl_table *t = xrealloc(NULL, sizeof(*t));
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	for (size_t i = 0; i < ncols; i++)
		t->headers[i] = ctl_sanitize(headers[i]);
	return t;
}

void ctl_table_free(struct ctl_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->hl);
	for (size_t i = 0; i < t->ncols; i++)
		free(t->headers[i]);
	free(t);
}

void ctl_table_align_right(struct ctl_table *t, size_t col)
{
	assert(col < t->ncols);
	t->right[col] = true;
}

void ctl_table_min_width(struct ctl_table *t, size_t col, size_t width)
{
	assert(col < t->ncols);
	if (t->width[col] < width)
		t->width[col] = width;
}

void ctl_table_indent(struct ctl_table *t, size_t indent)
{
	t->indent = indent;
}

void ctl_table_fit(struct ctl_table *t, size_t width, size_t min)
{
	t->fit_width = width;
	t->fit_min = min;
}

void ctl_table_add(struct ctl_table *t, const char *const *cells, unsigned highlight)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap != 0 ? t->cap * 2 : 16;
		t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof(*t->cells));
		t->hl = xrealloc(t->hl, t->cap * sizeof(*t->hl));
	}
	char **row = t->cells + t->nrows * t->ncols;
	for (size_t i = 0; i < t->ncols; i++)
		row[i] = ctl_sanitize(cells[i] != NULL ? cells[i] : "-");
	t->hl[t->nrows] = highlight;
	t->nrows++;
}

size_t ctl_table_rows(const struct ctl_table *t)
{
	return t->nrows;
}

static void pad(FILE *f, size_t n)
{
	while (n-- > 0)
		fputc(' ', f);
}

/* The last cell as printed: cut to the room the other columns leave. */
static char *last_cell(const struct ctl_table *t, const char *cell)
{
	size_t used = t->indent;
	for (size_t i = 0; i + 1 < t->ncols; i++)
		used += t->width[i] + 2;
	size_t room = t->fit_min;
	if (t->fit_width > used && t->fit_width - used > room)
		room = t->fit_width - used;
	return room != 0 ? ctl_text_truncate(cell, room) : ctl_sanitize(cell);
}

static void print_row(const struct ctl_table *t, FILE *f, char *const *row, unsigned hl)
{
	pad(f, t->indent);
	for (size_t i = 0; i < t->ncols; i++) {
		bool last = i + 1 == t->ncols;
		const char *on = hl & (1u << i) ? ctl_hl_on() : "";
		const char *off = hl & (1u << i) ? ctl_hl_off() : "";
		if (last && (t->fit_min != 0 || t->fit_width != 0)) {
			char *c = last_cell(t, row[i]);
			fprintf(f, "%s%s%s", on, c, off);
			free(c);
			break;
		}
		size_t w = ctl_text_width(row[i]);
		size_t fill = w < t->width[i] ? t->width[i] - w : 0;
		if (t->right[i])
			pad(f, fill);
		fprintf(f, "%s%s%s", on, row[i], off);
		/* No trailing blanks after the last column. */
		if (!t->right[i] && !last)
			pad(f, fill);
		if (!last)
			pad(f, 2);
	}
	fputc('\n', f);
}

void ctl_table_print(struct ctl_table *t, FILE *f, bool freeze)
{
	if (!t->frozen) {
		for (size_t i = 0; i < t->ncols; i++) {
			size_t w = ctl_text_width(t->headers[i]);
			if (t->width[i] < w)
				t->width[i] = w;
			for (size_t r = 0; r < t->nrows; r++) {
				w = ctl_text_width(t->cells[r * t->ncols + i]);
				if (t->width[i] < w)
					t->width[i] = w;
			}
		}
		t->frozen = freeze;
	}
	if (!t->header_done) {
		print_row(t, f, t->headers, 0);
		t->header_done = true;
	}
	for (size_t r = 0; r < t->nrows; r++)
		print_row(t, f, t->cells + r * t->ncols, t->hl[r]);
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	t->nrows = 0;
}
