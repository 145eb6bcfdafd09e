/*
 * base64.h - unpadded base64url (RFC 4648 section 5) for tokens.
 */
#ifndef RANKD_BASE64_H
#define RANKD_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Encoded length of n bytes, without the terminating NUL. */
size_t b64url_encoded_len(size_t n);

/* Writes b64url_encoded_len(n) + 1 bytes (NUL-terminated) to out. */
void b64url_encode(const uint8_t *in, size_t n, char *out);

/* Decodes `len` chars into out (capacity cap); returns the byte count,
 * or -1 on a character outside the alphabet, a bad length or overflow. */
long b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap);

#endif
