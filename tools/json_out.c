/*
 * json_out.c - protobuf-c messages to cJSON, by walking descriptors.
 *
 * Design. protobuf-c describes every field with a name, a type, a label and
 * byte offsets into the C struct, which is all a generic converter needs.
 * One row per ProtobufCType in `kinds` gives the size of a value of that
 * type (to step through repeated arrays) and the function that turns one
 * value into a cJSON node; a field is then "find where it lives, decide if
 * it is present, convert one value or each element of an array".
 *
 * What it must never do: know a rankd message by name. Anything specific to
 * one reply belongs to rankctl's human output, not here.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"

/* The schema has no recursive types; this only stops a corrupt descriptor
 * from running the stack out. */
#define JSON_OUT_MAX_DEPTH 64

static int message_to_json(const ProtobufCMessage *msg, int depth, cJSON **out, rk_status *st);

/* ---------------------------------------------------------------- one value */

/* Converts the value at `p` (the address of one C value of the field's
 * type) into a new node in *out. */
typedef int (*value_fn)(const ProtobufCFieldDescriptor *f, const void *p, int depth, cJSON **out, rk_status *st);

static int oom(rk_status *st) { return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory building JSON"); }

static int put(cJSON *node, cJSON **out, rk_status *st) {
    if (node == NULL) return oom(st);
    *out = node;
    return RK_OK;
}

static int v_int32(const ProtobufCFieldDescriptor *f, const void *p, int depth, cJSON **out, rk_status *st) {
    (void)f, (void)depth;
    int32_t v;
    memcpy(&v, p, sizeof(v));
    return put(cJSON_CreateNumber(v), out, st);
}

static int v_uint32(const ProtobufCFieldDescriptor *f, const void *p, int depth, cJSON **out, rk_status *st) {
    (void)f, (void)depth;
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return put(cJSON_CreateNumber(v), out, st);
}

/* A double holds integers exactly only up to 2^53; a raw node keeps every
 * digit and still prints as a JSON number. */
static int v_int64(const ProtobufCFieldDescriptor *f, const void *p, int depth, cJSON **out, rk_status *st) {
    (void)f, (void)depth;
    int64_t v;
    char buf[24];
    memcpy(&v, p, sizeof(v));
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return put(cJSON_CreateRaw(buf), out, st);
}

static int v_uint64(const ProtobufCFieldDescriptor *f, const void *p, int depth, cJSON **out, rk_status *st) {
    (void)f, (void)depth;
    uint64_t v;
    char buf[24];
    memcpy(&v, p, sizeof(v));
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return put(cJSON_CreateRaw(buf), out, st);
}

static int v_float(const ProtobufCFieldDescriptor *f, const void *p, int depth, cJSON **out, rk_status *st) {
    (void)f, (void)depth;
    float v;
    memcpy(&v, p, sizeof(v));
    return put(cJSON_CreateNumber(v), out, st);
}

static int v_double(const ProtobufCFieldDescriptor *f, const void *p, int depth, cJSON **out, rk_status *st) {
    (void)f, (void)depth;
    double v;
    memcpy(&v, p, sizeof(v));
    return put(cJSON_CreateNumber(v), out, st);
}

static int v_bool(const ProtobufCFieldDescriptor *f, const void *p, int depth, cJSON **out, rk_status *st) {
    (void)f, (void)depth;
    protobuf_c_boolean v;
    memcpy(&v, p, sizeof(v));
    return put(cJSON_CreateBool(v != 0), out, st);
}

static int v_enum(const ProtobufCFieldDescriptor *f, const void *p, int depth, cJSON **out, rk_status *st) {
    (void)depth;
    int v;
    memcpy(&v, p, sizeof(v));
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
    /* A newer server may send a value this build has never heard of. */
    if (ev == NULL) return put(cJSON_CreateNumber(v), out, st);
    return put(cJSON_CreateString(ev->name), out, st);
}

static int v_string(const ProtobufCFieldDescriptor *f, const void *p, int depth, cJSON **out, rk_status *st) {
    (void)f, (void)depth;
    const char *s;
    memcpy(&s, p, sizeof(s));
    return put(cJSON_CreateString(s ? s : ""), out, st);
}

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int v_bytes(const ProtobufCFieldDescriptor *f, const void *p, int depth, cJSON **out, rk_status *st) {
    (void)f, (void)depth;
    ProtobufCBinaryData b;
    memcpy(&b, p, sizeof(b));
    char *s = malloc((b.len + 2) / 3 * 4 + 1);
    if (s == NULL) return oom(st);
    size_t i = 0, o = 0;
    for (; i + 2 < b.len; i += 3) {
        uint32_t w = (uint32_t)b.data[i] << 16 | (uint32_t)b.data[i + 1] << 8 | b.data[i + 2];
        s[o++] = b64_alphabet[w >> 18 & 63];
        s[o++] = b64_alphabet[w >> 12 & 63];
        s[o++] = b64_alphabet[w >> 6 & 63];
        s[o++] = b64_alphabet[w & 63];
    }
    if (i < b.len) { /* one or two bytes left: pad to a full quantum */
        uint32_t w = (uint32_t)b.data[i] << 16;
        if (i + 1 < b.len) w |= (uint32_t)b.data[i + 1] << 8;
        s[o++] = b64_alphabet[w >> 18 & 63];
        s[o++] = b64_alphabet[w >> 12 & 63];
        s[o++] = i + 1 < b.len ? b64_alphabet[w >> 6 & 63] : '=';
        s[o++] = '=';
    }
    s[o] = '\0';
    cJSON *node = cJSON_CreateString(s);
    free(s);
    return put(node, out, st);
}

static int v_message(const ProtobufCFieldDescriptor *f, const void *p, int depth, cJSON **out, rk_status *st) {
    (void)f;
    const ProtobufCMessage *m;
    memcpy(&m, p, sizeof(m));
    /* A NULL element of a repeated message field is malformed, but an empty
     * object reads better than a crash. */
    if (m == NULL) return put(cJSON_CreateObject(), out, st);
    return message_to_json(m, depth + 1, out, st);
}

/* How each protobuf-c type is laid out and converted. */
static const struct {
    size_t size; /* bytes per value, the stride of a repeated array */
    value_fn conv;
} kinds[] = {
    [PROTOBUF_C_TYPE_INT32] = {sizeof(int32_t), v_int32},
    [PROTOBUF_C_TYPE_SINT32] = {sizeof(int32_t), v_int32},
    [PROTOBUF_C_TYPE_SFIXED32] = {sizeof(int32_t), v_int32},
    [PROTOBUF_C_TYPE_INT64] = {sizeof(int64_t), v_int64},
    [PROTOBUF_C_TYPE_SINT64] = {sizeof(int64_t), v_int64},
    [PROTOBUF_C_TYPE_SFIXED64] = {sizeof(int64_t), v_int64},
    [PROTOBUF_C_TYPE_UINT32] = {sizeof(uint32_t), v_uint32},
    [PROTOBUF_C_TYPE_FIXED32] = {sizeof(uint32_t), v_uint32},
    [PROTOBUF_C_TYPE_UINT64] = {sizeof(uint64_t), v_uint64},
    [PROTOBUF_C_TYPE_FIXED64] = {sizeof(uint64_t), v_uint64},
    [PROTOBUF_C_TYPE_FLOAT] = {sizeof(float), v_float},
    [PROTOBUF_C_TYPE_DOUBLE] = {sizeof(double), v_double},
    [PROTOBUF_C_TYPE_BOOL] = {sizeof(protobuf_c_boolean), v_bool},
    [PROTOBUF_C_TYPE_ENUM] = {sizeof(int), v_enum},
    [PROTOBUF_C_TYPE_STRING] = {sizeof(char *), v_string},
    [PROTOBUF_C_TYPE_BYTES] = {sizeof(ProtobufCBinaryData), v_bytes},
    [PROTOBUF_C_TYPE_MESSAGE] = {sizeof(ProtobufCMessage *), v_message},
};

/* ---------------------------------------------------------------- fields */

static const void *at(const ProtobufCMessage *msg, unsigned offset) { return (const char *)msg + offset; }

/* Is a singular field set? protobuf-c's own rules: a oneof member is set
 * when the case says so; strings and messages by a non-NULL pointer (a
 * string still pointing at its default counts as unset, as when packing);
 * every other optional type by its has_ flag. */
static int field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f) {
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t which;
        memcpy(&which, at(msg, f->quantifier_offset), sizeof(which));
        return which == f->id;
    }
    if (f->label == PROTOBUF_C_LABEL_REQUIRED || f->label == PROTOBUF_C_LABEL_NONE) return 1;
    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) {
        const void *ptr;
        memcpy(&ptr, at(msg, f->offset), sizeof(ptr));
        return ptr != NULL && ptr != f->default_value;
    }
    protobuf_c_boolean has;
    memcpy(&has, at(msg, f->quantifier_offset), sizeof(has));
    return has != 0;
}

static int repeated_to_json(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, int depth, cJSON **out,
                            rk_status *st) {
    size_t n;
    const char *elems;
    memcpy(&n, at(msg, f->quantifier_offset), sizeof(n));
    memcpy(&elems, at(msg, f->offset), sizeof(elems));
    cJSON *arr = cJSON_CreateArray();
    if (arr == NULL) return oom(st);
    for (size_t i = 0; i < n && elems != NULL; i++) {
        cJSON *item = NULL;
        int code = kinds[f->type].conv(f, elems + i * kinds[f->type].size, depth, &item, st);
        if (code != RK_OK) {
            cJSON_Delete(arr);
            return code;
        }
        cJSON_AddItemToArray(arr, item);
    }
    *out = arr;
    return RK_OK;
}

static int message_to_json(const ProtobufCMessage *msg, int depth, cJSON **out, rk_status *st) {
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    if (depth > JSON_OUT_MAX_DEPTH)
        return rk_status_set(st, RK_INTERNAL, "message nested deeper than %d levels", JSON_OUT_MAX_DEPTH);
    cJSON *obj = cJSON_CreateObject();
    if (obj == NULL) return oom(st);

    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        cJSON *node = NULL;
        int code;
        if ((size_t)f->type >= sizeof(kinds) / sizeof(kinds[0]) || kinds[f->type].conv == NULL) {
            cJSON_Delete(obj);
            return rk_status_set(st, RK_INTERNAL, "field %s.%s has unknown type %d", d->name, f->name, (int)f->type);
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED)
            code = repeated_to_json(msg, f, depth, &node, st);
        else if (!field_present(msg, f))
            continue;
        else
            code = kinds[f->type].conv(f, at(msg, f->offset), depth, &node, st);
        if (code != RK_OK) {
            cJSON_Delete(obj);
            return code;
        }
        cJSON_AddItemToObject(obj, f->name, node);
    }
    *out = obj;
    return RK_OK;
}

/* ---------------------------------------------------------------- public */

int json_out_message(const ProtobufCMessage *msg, cJSON **out, rk_status *st) {
    cJSON *obj = NULL;
    int code;
    if (msg == NULL || msg->descriptor == NULL) return rk_status_set(st, RK_INTERNAL, "no message to convert");
    if ((code = message_to_json(msg, 0, &obj, st)) != RK_OK) return code;
    *out = obj;
    rk_status_clear(st);
    return RK_OK;
}
