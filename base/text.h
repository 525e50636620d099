/* Checks for text that crossed a trust boundary (the network, a file, a
 * child's output): UTF-8 (protobuf-c does not validate string fields) and
 * control characters (what we print or log must be sane). One copy each. */
#ifndef MIMAMORI_BASE_TEXT_H
#define MIMAMORI_BASE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the well-formed UTF-8 character at s, which has avail
 * bytes; 0 when it is malformed, overlong, a surrogate or above U+10FFFF. */
size_t utf8_char_len(const uint8_t *s, size_t avail);

/* True when the len bytes at s are well-formed UTF-8. */
bool utf8_valid(const uint8_t *s, size_t len);

/* Copies the first srclen bytes of src (fewer if a NUL comes first) into
 * dst (dstsz > 0) as well-formed UTF-8 without control characters (each
 * bad byte or control becomes '?'), cut at a character boundary, always
 * NUL-terminated; the copy is never longer than the source. src may be
 * NULL. Returns the length. */
size_t text_sanitize(char *dst, size_t dstsz, const char *src, size_t srclen);

/* An ASCII control character: C0 (0x00-0x1f) or DEL (0x7f). */
static inline bool text_is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* True when one of the len bytes at s is a control character. */
static inline bool text_has_control_n(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (text_is_control((unsigned char)s[i]))
			return true;
	return false;
}

/* The same for a NUL-terminated string. */
static inline bool text_has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if (text_is_control((unsigned char)*s))
			return true;
	return false;
}

#endif
