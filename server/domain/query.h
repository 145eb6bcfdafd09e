/*
 * query.h - reading a value from a URI's query string.
 *
 * The HTTP handlers take their few parameters ("?board=tetris&window=daily")
 * through here. Pure and allocation-free, so it is fuzzed on its own.
 */
#ifndef RANKD_QUERY_H
#define RANKD_QUERY_H

#include <stddef.h>

/* Copies the value of `key` in uri's query string ("a=1&b=2", after the
 * first '?') into out, cut to cap - 1 bytes and NUL-terminated; the first
 * occurrence wins. No percent-decoding: the values rankd reads are plain
 * [a-z0-9_-]. A missing key, or a URI without '?', gives "". cap > 0. */
void query_value(const char *uri, const char *key, char *out, size_t cap);

#endif
