/* See ctl_fmt.h. */
#include "tools/ctl_fmt.h"

#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "base/text.h"
#include "base/units.h"
#include "os/clock.h"

static bool utf8_out;
static bool width_locale; /* wcwidth() reads UTF-8 code points */
static bool color;

void ctl_fmt_init(void)
{
	if (setlocale(LC_CTYPE, "") != NULL)
		utf8_out = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	/* Widths are measured on the daemon's text, which is always UTF-8
	 * whatever the terminal's locale says; only LC_CTYPE changes (times
	 * and numbers keep the C locale's format). */
	width_locale = utf8_out || setlocale(LC_CTYPE, "C.UTF-8") != NULL;
}

bool ctl_fmt_utf8(void)
{
	return utf8_out;
}

char *ctl_fmt_age_ms(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;
	if (ms < 1000)
		snprintf(buf, len, "%llums", (unsigned long long)ms);
	else if (s < 60)
		snprintf(buf, len, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%llud%02lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
	return buf;
}

char *ctl_fmt_latency_us(uint64_t us, char *buf, size_t len)
{
	if (us < 1000)
		snprintf(buf, len, "%llu%s", (unsigned long long)us, utf8_out ? "µs" : "us");
	else if (us < 10000)
		snprintf(buf, len, "%.2fms", (double)us / 1e3);
	else if (us < 1000000)
		snprintf(buf, len, "%.0fms", (double)us / 1e3);
	else
		snprintf(buf, len, "%.2fs", (double)us / 1e6);
	return buf;
}

char *ctl_fmt_time_ms(int64_t unix_ms, enum ctl_time_style style, char *buf, size_t len)
{
	/* Floor division: a time before 1970 still gets its own second. */
	time_t secs = (time_t)(unix_ms / 1000);
	int64_t frac = unix_ms % 1000;
	if (frac < 0) {
		frac += 1000;
		secs--;
	}
	struct tm tm;
	if (localtime_r(&secs, &tm) == NULL) {
		snprintf(buf, len, "@%lld", (long long)unix_ms);
		return buf;
	}
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	switch (style) {
	case CTL_TIME_SECONDS:
		snprintf(buf, len, "%s", base);
		break;
	case CTL_TIME_MILLIS:
		snprintf(buf, len, "%s.%03lld", base, (long long)frac);
		break;
	case CTL_TIME_WITH_OFFSET: {
		long off = tm.tm_gmtoff / 60;
		char sign = off < 0 ? '-' : '+';
		if (off < 0)
			off = -off;
		snprintf(buf, len, "%s%c%02ld:%02ld", base, sign, off / 60, off % 60);
		break;
	}
	}
	return buf;
}

char *ctl_fmt_relative_ms(int64_t unix_ms, int64_t now_ms, char *buf, size_t len)
{
	char age[CTL_FMT_LEN];
	int64_t d = unix_ms - now_ms;
	/* Within a second either way: the daemon is about to act, or just did. */
	if (d > -1000 && d < 1000)
		snprintf(buf, len, "now");
	else if (d > 0)
		snprintf(buf, len, "in %s", ctl_fmt_age_ms((uint64_t)d, age, sizeof(age)));
	else
		snprintf(buf, len, "%s ago", ctl_fmt_age_ms((uint64_t)-d, age, sizeof(age)));
	return buf;
}

int64_t ctl_now_ms(void)
{
	return realtime_ns() / (int64_t)NS_PER_MS;
}

char *ctl_sanitize(const char *s)
{
	char *out = strdup(s != NULL ? s : "");
	if (out == NULL) {
		fputs("mimamorictl: out of memory\n", stderr);
		exit(1);
	}
	for (unsigned char *p = (unsigned char *)out; *p != '\0'; p++)
		if (text_is_control(*p))
			*p = '?';
	return out;
}

/* Decodes one UTF-8 sequence at s (the RPC layer validated it; a broken
 * byte counts as one column of its own). Returns its length. */
static size_t utf8_next(const char *s, wchar_t *wc)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;
	uint32_t c;
	if (p[0] < 0x80) {
		*wc = p[0];
		return 1;
	} else if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		c = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		c = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		c = p[0] & 0x07;
	} else {
		*wc = L'?';
		return 1;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*wc = L'?';
			return 1;
		}
		c = (c << 6) | (p[i] & 0x3f);
	}
	*wc = (wchar_t)c;
	return n;
}

static size_t char_width(wchar_t wc)
{
	if (!width_locale)
		return 1;
	int w = wcwidth(wc);
	return w < 0 ? 1 : (size_t)w;
}

/* An SGR escape ("\033[1;31m") at s: its length, else 0. Only our own
 * highlighting puts one there (daemon text is sanitized). */
static size_t escape_len(const char *s)
{
	if (s[0] != '\033' || s[1] != '[')
		return 0;
	size_t i = 2;
	while (s[i] != '\0' && s[i] != 'm')
		i++;
	return s[i] == 'm' ? i + 1 : 0;
}

size_t ctl_text_width(const char *s)
{
	size_t w = 0;
	while (*s != '\0') {
		size_t e = escape_len(s);
		if (e != 0) {
			s += e;
			continue;
		}
		wchar_t wc;
		s += utf8_next(s, &wc);
		w += char_width(wc);
	}
	return w;
}

char *ctl_text_truncate(const char *s, size_t max)
{
	const char *ell = utf8_out ? "…" : "...";
	size_t ell_w = utf8_out ? 1 : 3;
	size_t len = strlen(s);
	char *out = malloc(len + 4);
	if (out == NULL) {
		fputs("mimamorictl: out of memory\n", stderr);
		exit(1);
	}
	if (ctl_text_width(s) <= max) {
		memcpy(out, s, len + 1);
		return out;
	}
	bool with_ell = max > ell_w;
	size_t room = with_ell ? max - ell_w : max;
	size_t w = 0, i = 0;
	while (s[i] != '\0') {
		wchar_t wc;
		size_t n = utf8_next(s + i, &wc);
		size_t cw = char_width(wc);
		if (w + cw > room)
			break;
		w += cw;
		i += n;
	}
	memcpy(out, s, i);
	out[i] = '\0';
	if (with_ell)
		strcat(out, ell);
	return out;
}

void ctl_fmt_set_color(bool on)
{
	color = on;
}

const char *ctl_hl_on(void)
{
	return color ? "\033[1;31m" : "";
}

const char *ctl_hl_off(void)
{
	return color ? "\033[0m" : "";
}
