/* Small aligned tables for mimamorictl: a header row in capitals, columns
 * two spaces apart and as wide as their widest cell, numbers right-aligned,
 * the last column cut to what the terminal has left (or to a fixed width
 * when stdout is not a terminal) so a long error never wraps the table.
 *
 * For a stream (events --follow) the widths can be frozen after the first
 * print: later rows are padded to them, and a longer cell overflows rather
 * than shifting the columns already on screen. */
#ifndef MIMAMORI_CTL_TABLE_H
#define MIMAMORI_CTL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CTL_TABLE_MAX_COLS 12

struct ctl_table;

/* headers: ncols column titles. Exits on allocation failure (a tool). */
struct ctl_table *ctl_table_new(size_t ncols, const char *const *headers);
void ctl_table_free(struct ctl_table *t);

void ctl_table_align_right(struct ctl_table *t, size_t col);
/* Widths no smaller than this (for a stream whose later rows are unknown). */
void ctl_table_min_width(struct ctl_table *t, size_t col, size_t width);
/* Indentation of every line. */
void ctl_table_indent(struct ctl_table *t, size_t indent);
/* The last column's width: what is left of width columns (a terminal's),
 * at least min; 0 = fixed at min. */
void ctl_table_fit(struct ctl_table *t, size_t width, size_t min);

/* Appends a row of ncols cells; each is copied and sanitized (NULL = "-").
 * Cells whose bit is set in highlight (1u << column) are printed with
 * ctl_hl_on/off around them. */
void ctl_table_add(struct ctl_table *t, const char *const *cells, unsigned highlight);
size_t ctl_table_rows(const struct ctl_table *t);

/* Prints the header (unless it was printed before) and the rows added
 * since the last print, then forgets those rows. The first print fixes
 * the widths when freeze is set. */
void ctl_table_print(struct ctl_table *t, FILE *f, bool freeze);

#endif
