/* UTF-8 checks for text that crossed the network: protobuf-c does not
 * validate string fields, and what we print or log must be sane. */
#ifndef MIMAMORI_RPC_UTF8_H
#define MIMAMORI_RPC_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the well-formed UTF-8 character at s, which has avail
 * bytes; 0 when it is malformed, overlong, a surrogate or above U+10FFFF. */
size_t rpc_utf8_char_len(const uint8_t *s, size_t avail);

/* True when the len bytes at s are well-formed UTF-8. */
bool rpc_utf8_valid(const uint8_t *s, size_t len);

/* Copies the first srclen bytes of src (fewer if a NUL comes first) into
 * dst (dstsz > 0) as well-formed UTF-8 without control characters (each
 * bad byte or control becomes '?'), cut at a character boundary, always
 * NUL-terminated; the copy is never longer than the source. src may be
 * NULL. Returns the length. */
size_t rpc_text_sanitize(char *dst, size_t dstsz, const char *src, size_t srclen);

#endif
