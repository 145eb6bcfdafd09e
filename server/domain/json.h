/*
 * json.h - a strict check that a text is one JSON object (RFC 8259).
 *
 * Record metadata (validate_meta) is stored and handed back as the text
 * the game sent, never rebuilt, so all rankd needs is a yes or no with
 * the place of the first fault: no tree is built and nothing is
 * allocated. The grammar is JSON's, with no extensions: no comments, no
 * trailing commas, no single quotes, no NaN; strings are UTF-8 already
 * (the wire checks that), their escapes are checked, control characters
 * must be escaped; numbers follow JSON's form exactly. Nesting deeper
 * than JSON_DEPTH_MAX is refused, so a hostile text cannot run the
 * checker (or any reader later) out of stack.
 */
#ifndef RANKD_JSON_H
#define RANKD_JSON_H

#include <stddef.h>

/* Objects and arrays nested deeper than this are refused. */
#define JSON_DEPTH_MAX 16

/* 1 when s[0..n) is exactly one JSON object, surrounded by nothing but
 * whitespace, else 0 with *why set to a static message and *at to the
 * byte offset of the fault (both may be NULL). */
int json_is_object(const char *s, size_t n, const char **why, size_t *at);

#endif
