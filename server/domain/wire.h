/*
 * wire.h - checks on a protobuf message's bytes before it is decoded.
 *
 * protobuf-c hands a string field back as a NUL-terminated C string and
 * checks nothing about it: a string that is not UTF-8 reaches PostgreSQL
 * (which refuses it, possibly long after the caller was told "accepted"),
 * and an embedded NUL silently cuts the string short ("admin\0junk" is
 * "admin"). Both are only visible in the encoded bytes, where each string
 * still has its length, so the rules are enforced here, on the wire form,
 * guided by the message's descriptor: every string field of the message
 * and of every message nested in it, at any depth up to WIRE_DEPTH_MAX.
 *
 * The walk does not allocate and reads each byte once. Bytes that are not
 * a well-formed protobuf encoding are left to the decoder to refuse; only
 * string contents are judged here.
 */
#ifndef RANKD_WIRE_H
#define RANKD_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>
#include <rankd/status.h>

/* Deeper nesting than any rankd message has is refused outright. */
#define WIRE_DEPTH_MAX 8

/* 1 when s[0..n) is well-formed UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF) without a NUL byte, else 0. */
int wire_text_ok(const uint8_t *s, size_t n);

/* Checks every string field in the encoded message `data` of type `desc`.
 * RK_OK, or RK_INVALID_ARGUMENT naming the field ("field auth_token of
 * rankd.RequestEnvelope is not valid UTF-8"). */
int wire_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, rk_status *st);

/* Finds the length-delimited field number `field` (a string, bytes or
 * message) at the top level of the encoded message `data`, without
 * decoding or copying anything: *out and *n point at its contents inside
 * data. When the field occurs more than once the last occurrence counts,
 * as in decoding. 1 if found, 0 if absent, -1 if the bytes up to it are
 * not a protobuf encoding. */
int wire_find_len_field(const uint8_t *data, size_t len, uint32_t field, const uint8_t **out, size_t *n);

/* The longest encodings of one field, for bounding a message's size from
 * its schema's limits (field numbers below 16: a one-byte tag). */
#define WIRE_INT_FIELD (1 + 10)         /* a varint: a negative int64 takes 10 bytes */
#define WIRE_LEN_FIELD(n) (1 + 2 + (n)) /* a string of up to n bytes (n < 16384) */
#define WIRE_MSG_FIELD(n) (1 + 3 + (n)) /* a nested message of up to n bytes (n < 2 MiB) */

#endif
