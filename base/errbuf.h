/* The "char *err, size_t errlen" convention of the parsers and cores: a
 * reason for the caller, formatted into its buffer. */
#ifndef MIMAMORI_ERRBUF_H
#define MIMAMORI_ERRBUF_H

#include <stddef.h>

/* printf into err (errlen bytes, always terminated); nothing when err is
 * NULL or errlen 0. */
void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
