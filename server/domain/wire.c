/*
 * wire.c - a descriptor-guided walk over protobuf bytes; see wire.h.
 *
 * The encoding is a sequence of (tag, value) records, tag = field number
 * << 3 | wire type. Only length-delimited records (wire type 2) can hold a
 * string or a nested message; the other types are stepped over.
 */
#include <string.h>

#include "wire.h"

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_FIXED32 = 5 };

int wire_text_ok(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == 0) return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return 0; /* a continuation byte first, or 0xF8.. */
        }
        if (n - i < len) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

/* Reads a varint at *p (below end); 0 on success. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

static int malformed(const ProtobufCMessageDescriptor *top, rk_status *st) {
    return rk_status_set(st, RK_INVALID_ARGUMENT, "request is not a valid %s", top->name);
}

static int walk(const ProtobufCMessageDescriptor *top, const ProtobufCMessageDescriptor *desc, const uint8_t *p,
                const uint8_t *end, int depth, rk_status *st) {
    if (depth > WIRE_DEPTH_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "%s nests messages deeper than %d", top->name, WIRE_DEPTH_MAX);
    while (p < end) {
        uint64_t tag, n;
        if (varint(&p, end, &tag) != 0) return malformed(top, st);
        switch (tag & 7) {
            case WT_VARINT:
                if (varint(&p, end, &n) != 0) return malformed(top, st);
                continue;
            case WT_FIXED64:
                if (end - p < 8) return malformed(top, st);
                p += 8;
                continue;
            case WT_FIXED32:
                if (end - p < 4) return malformed(top, st);
                p += 4;
                continue;
            case WT_LEN: break;
            default: return malformed(top, st); /* groups: protobuf-c has none */
        }
        if (varint(&p, end, &n) != 0 || n > (uint64_t)(end - p)) return malformed(top, st);
        const uint8_t *v = p;
        p += n;
        if (tag >> 3 > UINT32_MAX) continue;
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(desc, (unsigned)(tag >> 3));
        if (f == NULL) continue; /* unknown: protobuf-c keeps it aside, unread */
        if (f->type == PROTOBUF_C_TYPE_STRING) {
            if (memchr(v, 0, n))
                return rk_status_set(st, RK_INVALID_ARGUMENT, "field %s of %s contains a NUL byte", f->name,
                                     desc->name);
            if (!wire_text_ok(v, n))
                return rk_status_set(st, RK_INVALID_ARGUMENT, "field %s of %s is not valid UTF-8", f->name, desc->name);
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            int rc = walk(top, f->descriptor, v, v + n, depth + 1, st);
            if (rc != RK_OK) return rc;
        }
    }
    return RK_OK;
}

int wire_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, rk_status *st) {
    if (len == 0) return RK_OK;
    return walk(desc, desc, data, data + len, 0, st);
}

int wire_find_len_field(const uint8_t *data, size_t len, uint32_t field, const uint8_t **out, size_t *n) {
    const uint8_t *p = data, *end = data + len;
    int found = 0;
    while (p < end) {
        uint64_t tag, v;
        if (varint(&p, end, &tag) != 0) return -1;
        switch (tag & 7) {
            case WT_VARINT:
                if (varint(&p, end, &v) != 0) return -1;
                continue;
            case WT_FIXED64:
                if (end - p < 8) return -1;
                p += 8;
                continue;
            case WT_FIXED32:
                if (end - p < 4) return -1;
                p += 4;
                continue;
            case WT_LEN: break;
            default: return -1;
        }
        if (varint(&p, end, &v) != 0 || v > (uint64_t)(end - p)) return -1;
        if (tag >> 3 == field) {
            *out = p;
            *n = (size_t)v;
            found = 1;
        }
        p += v;
    }
    return found;
}
