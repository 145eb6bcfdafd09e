/*
 * request_check.c - the server's request checks without a server; see
 * request_check.h.
 *
 * Beyond not crashing, the checks assert what the handlers rely on: a
 * message that passed wire_check_strings unpacks to strings that are
 * valid UTF-8 without a NUL (so strlen sees all of each), and a board
 * that validate_board accepted converts back without surprises.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rankd/rankd.pb-c.h>
#include <rankd/status.h>

#include "request_check.h"
#include "rk_gen_services.h" /* RK_GEN_SERVICES */
#include "validate.h"
#include "window.h"
#include "wire.h"

static const struct {
    const ProtobufCServiceDescriptor *desc;
    const char *symbol;
} services[] = {RK_GEN_SERVICES};

static fuzz_method methods[256];
static size_t nmethods;

const fuzz_method *fuzz_methods(size_t *n) {
    if (nmethods == 0)
        for (size_t s = 0; s < sizeof(services) / sizeof(services[0]); s++)
            for (unsigned m = 0; m < services[s].desc->n_methods && nmethods < 256; m++) {
                fuzz_method *f = &methods[nmethods++];
                snprintf(f->name, sizeof(f->name), "%s/%s", services[s].desc->name, services[s].desc->methods[m].name);
                f->input = services[s].desc->methods[m].input;
            }
    *n = nmethods;
    return methods;
}

const ProtobufCMessageDescriptor *fuzz_method_input(const char *name) {
    size_t n;
    const fuzz_method *m = fuzz_methods(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].name, name) == 0) return m[i].input;
    return NULL;
}

/* ---------------------------------------------------------------- field rules */

/* A board with the defaults, for the score bounds. */
static board default_board(void) {
    Rankd__Board in = RANKD__BOARD__INIT;
    board b;
    rk_status st = {0};
    in.id = "fuzz";
    in.game = "fuzz";
    if (validate_board(&in, &b, &st) != RK_OK) abort();
    return b;
}

static void check_string(const ProtobufCFieldDescriptor *f, const char *s) {
    rk_status st = {0};
    /* What wire_check_strings let through is whole and UTF-8. */
    if (!wire_text_ok((const uint8_t *)s, strlen(s))) abort();
    if (strcmp(f->name, "board_id") == 0 || strcmp(f->name, "game") == 0) {
        if (s[0]) validate_id(f->name, s, &st);
    } else if (strcmp(f->name, "username") == 0) {
        validate_username(s, &st);
    } else if (strcmp(f->name, "password") == 0) {
        validate_password(s, &st);
    }
}

static void check_board(const Rankd__Board *in) {
    board b;
    rk_status st = {0};
    if (validate_board(in, &b, &st) != RK_OK) {
        if (st.code != RK_INVALID_ARGUMENT) abort();
        return;
    }
    Rankd__Board out;
    Rankd__Window windows[WINDOW_KINDS];
    char *names[2 * BOARD_AGG_MAX];
    board_to_message(&b, &out, windows, names);
    if (out.n_windows > WINDOW_KINDS) abort();
    /* What validate_board accepted, it accepts again. */
    board again;
    if (validate_board(&out, &again, &st) != RK_OK) abort();
}

static void check_message(const ProtobufCMessage *msg, int depth) {
    static board defaults;
    static int have_defaults;
    if (!have_defaults) defaults = default_board(), have_defaults = 1;
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    if (depth > WIRE_DEPTH_MAX) abort(); /* wire_check_strings refuses deeper */
    if (d == &rankd__board__descriptor) check_board((const Rankd__Board *)msg);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)msg;
        const void *member = base + f->offset;
        size_t count = 1;
        const void *items = member;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *)(const void *)(base + f->quantifier_offset) != f->id) continue;
        } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            count = *(const size_t *)(const void *)(base + f->quantifier_offset);
            items = *(void *const *)member;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset && f->type != PROTOBUF_C_TYPE_STRING &&
                   f->type != PROTOBUF_C_TYPE_MESSAGE &&
                   !*(const protobuf_c_boolean *)(const void *)(base + f->quantifier_offset)) {
            continue; /* absent */
        }
        for (size_t k = 0; k < count; k++) {
            rk_status st = {0};
            switch (f->type) {
                case PROTOBUF_C_TYPE_STRING: {
                    const char *s = ((char *const *)items)[k];
                    if (s) check_string(f, s);
                    break;
                }
                case PROTOBUF_C_TYPE_MESSAGE: {
                    const ProtobufCMessage *m = ((ProtobufCMessage *const *)items)[k];
                    if (m) check_message(m, depth + 1);
                    break;
                }
                case PROTOBUF_C_TYPE_INT64: {
                    int64_t v = ((const int64_t *)items)[k];
                    if (strcmp(f->name, "from") == 0 || strcmp(f->name, "to") == 0 || strcmp(f->name, "at") == 0)
                        validate_time(f->name, v, &st);
                    else if (strcmp(f->name, "score") == 0)
                        validate_score(&defaults, v, &st);
                    break;
                }
                default: break;
            }
        }
    }
}

/* ---------------------------------------------------------------- entry points */

void fuzz_check_payload(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len) {
    rk_status st = {0};
    if (wire_check_strings(desc, data, len, &st) != RK_OK) {
        if (st.code != RK_INVALID_ARGUMENT) abort();
        return;
    }
    ProtobufCMessage *req = protobuf_c_message_unpack(desc, NULL, len, data);
    if (req == NULL) return;
    check_message(req, 0);
    protobuf_c_message_free_unpacked(req, NULL);
}

void fuzz_check_envelope(const uint8_t *data, size_t len) {
    rk_status st = {0};
    if (wire_check_strings(&rankd__request_envelope__descriptor, data, len, &st) != RK_OK) {
        if (st.code != RK_INVALID_ARGUMENT) abort();
        return;
    }
    Rankd__RequestEnvelope *env = rankd__request_envelope__unpack(NULL, len, data);
    if (env == NULL) return;
    const ProtobufCMessageDescriptor *input = env->method ? fuzz_method_input(env->method) : NULL;
    /* The envelope's own limits, as prepare() applies them. */
    int key_ok = !(env->idempotency_key && strlen(env->idempotency_key) > 128);
    if (input && key_ok) {
        if (env->payload.len && env->payload.data == NULL) abort();
        fuzz_check_payload(input, env->payload.data, env->payload.len);
    }
    rankd__request_envelope__free_unpacked(env, NULL);
}
