/* See utf8.h. */
#include "base/text.h"

#include <assert.h>

size_t utf8_char_len(const uint8_t *s, size_t avail)
{
	assert(s != NULL);
	if (avail == 0)
		return 0;
	uint8_t c = s[0];
	size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
		: (c & 0xF8) == 0xF0 ? 4 : 0;
	if (n == 0 || n > avail)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	uint32_t cp;
	switch (n) {
	case 1:
		return 1;
	case 2:
		return c >= 0xC2 ? 2 : 0; /* 0xC0, 0xC1: overlong */
	case 3:
		cp = ((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
		return cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF) ? 3 : 0;
	default:
		cp = ((c & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) |
		     (s[3] & 0x3Fu);
		return cp >= 0x10000 && cp <= 0x10FFFF ? 4 : 0;
	}
}

bool utf8_valid(const uint8_t *s, size_t len)
{
	assert(s != NULL || len == 0);
	size_t i = 0;
	while (i < len) {
		size_t n = utf8_char_len(s + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

size_t text_sanitize(char *dst, size_t dstsz, const char *src, size_t srclen)
{
	assert(dst != NULL && dstsz > 0);
	const uint8_t *s = (const uint8_t *)(src != NULL ? src : "");
	size_t o = 0;
	size_t left = 0;
	while (src != NULL && left < srclen && s[left] != '\0')
		left++;
	while (left > 0) {
		size_t n = utf8_char_len(s, left);
		bool ok = n > 0 && !text_is_control(s[0]);
		if (n == 0)
			n = 1;
		size_t out = ok ? n : 1;
		if (o + out > dstsz - 1)
			break;
		if (ok)
			for (size_t i = 0; i < n; i++)
				dst[o++] = (char)s[i];
		else
			dst[o++] = '?';
		s += n;
		left -= n;
	}
	dst[o] = '\0';
	return o;
}
