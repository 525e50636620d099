/* How mimamorictl writes times, ages, latencies and daemon-supplied text
 * for a person: ages as "3m12s", wall-clock times in local ISO 8601,
 * detection latencies in µs/ms/s, control characters never reaching the
 * terminal. Every function writes a NUL-terminated string into buf and
 * returns buf. */
#ifndef MIMAMORI_CTL_FMT_H
#define MIMAMORI_CTL_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_FMT_LEN 64 /* enough for any of the formats below */

/* Chooses the character set once, from the locale (LC_CTYPE): UTF-8 gives
 * "µs" and "…", anything else "us" and "...". Call before the others. */
void ctl_fmt_init(void);
bool ctl_fmt_utf8(void);

/* "850ms", "12s", "3m12s", "2h05m", "3d04h". */
char *ctl_fmt_age_ms(uint64_t ms, char *buf, size_t len);
/* "850µs", "1.25ms", "125ms", "1.25s". */
char *ctl_fmt_latency_us(uint64_t us, char *buf, size_t len);

enum ctl_time_style {
	CTL_TIME_SECONDS,     /* 2026-11-26T22:30:48 */
	CTL_TIME_MILLIS,      /* 2026-11-26T22:30:48.123 */
	CTL_TIME_WITH_OFFSET, /* 2026-11-26T22:30:48+01:00 */
};
/* Local time of a Unix millisecond timestamp. */
char *ctl_fmt_time_ms(int64_t unix_ms, enum ctl_time_style style, char *buf, size_t len);
/* A moment relative to now_ms: "in 4s", "now", "12s ago". */
char *ctl_fmt_relative_ms(int64_t unix_ms, int64_t now_ms, char *buf, size_t len);

/* Wall clock in Unix milliseconds. */
int64_t ctl_now_ms(void);

/* A copy of s with control characters (C0, DEL) turned into '?', so that
 * text from the daemon cannot move the cursor or change colours. NULL
 * gives "". Returns a malloc'd string (exits on allocation failure). */
char *ctl_sanitize(const char *s);

/* Columns text takes on a terminal (UTF-8 aware; East Asian wide
 * characters count two). */
size_t ctl_text_width(const char *s);
/* A malloc'd copy of s cut to at most max columns, ending in an ellipsis
 * when cut (exits on allocation failure). */
char *ctl_text_truncate(const char *s, size_t max);

/* Emphasis for what an operator must notice (a degraded probe, a lost
 * connection): bold red on a terminal that takes colours (not with
 * NO_COLOR or TERM=dumb), nothing otherwise. Pairs of strings to wrap
 * text in. */
void ctl_fmt_set_color(bool on);
const char *ctl_hl_on(void);
const char *ctl_hl_off(void);

#endif
