/* The wire checks: which byte strings are UTF-8 text, and that every
 * string field is found in encoded messages, nested ones included, while
 * bytes fields, numbers and unknown fields are left alone. */
#include <stdint.h>
#include <string.h>

#include <rankd/rankd.pb-c.h>

#include "check.h"
#include "wire.h"

#define TEXT(lit) wire_text_ok((const uint8_t *)(lit), sizeof(lit) - 1)

static void utf8_text(void) {
    CHECK_INT(TEXT(""), 1);
    CHECK_INT(TEXT("plain ascii"), 1);
    CHECK_INT(TEXT("\xc3\xa9t\xc3\xa9"), 1);    /* été */
    CHECK_INT(TEXT("\xe2\x82\xac"), 1);         /* € */
    CHECK_INT(TEXT("\xf0\x9f\x8f\x86"), 1);     /* 🏆 */
    CHECK_INT(TEXT("\xf4\x8f\xbf\xbf"), 1);     /* U+10FFFF, the last */
    CHECK_INT(TEXT("a\0b"), 0);                 /* NUL */
    CHECK_INT(TEXT("\xff"), 0);                 /* never in UTF-8 */
    CHECK_INT(TEXT("\xe9t\xe9"), 0);            /* Latin-1 */
    CHECK_INT(TEXT("\x80"), 0);                 /* lone continuation */
    CHECK_INT(TEXT("\xc3"), 0);                 /* truncated */
    CHECK_INT(TEXT("\xe2\x82"), 0);             /* truncated */
    CHECK_INT(TEXT("\xc3("), 0);                /* bad continuation */
    CHECK_INT(TEXT("\xc0\x80"), 0);             /* overlong NUL */
    CHECK_INT(TEXT("\xe0\x80\xaf"), 0);         /* overlong '/' */
    CHECK_INT(TEXT("\xf0\x80\x80\xaf"), 0);     /* overlong '/' */
    CHECK_INT(TEXT("\xed\xa0\x80"), 0);         /* surrogate U+D800 */
    CHECK_INT(TEXT("\xf4\x90\x80\x80"), 0);     /* above U+10FFFF */
    CHECK_INT(TEXT("\xf8\x88\x80\x80\x80"), 0); /* 5-byte form */
}

typedef struct buf {
    uint8_t b[512];
    size_t n;
} buf;

static void put_varint(buf *o, uint64_t v) {
    do {
        uint8_t byte = v & 0x7F;
        v >>= 7;
        o->b[o->n++] = byte | (v ? 0x80 : 0);
    } while (v);
}

static void put_len(buf *o, unsigned field, const void *p, size_t len) {
    put_varint(o, (uint64_t)field << 3 | 2);
    put_varint(o, len);
    memcpy(o->b + o->n, p, len);
    o->n += len;
}

static int check(const ProtobufCMessageDescriptor *d, const buf *b, rk_status *st) {
    return wire_check_strings(d, b->b, b->n, st);
}

static void envelope_strings(void) {
    rk_status st;
    buf b = {.n = 0};
    put_len(&b, 1, "rankd.Ranking/Top", 17);
    put_len(&b, 5, "\xff\x00\xfe", 3); /* payload is bytes: anything goes */
    CHECK_INT(check(&rankd__request_envelope__descriptor, &b, &st), RK_OK);

    put_len(&b, 4, "key\xff", 4);
    CHECK_INT(check(&rankd__request_envelope__descriptor, &b, &st), RK_INVALID_ARGUMENT);
    CHECK_STR(st.message, "field idempotency_key of rankd.RequestEnvelope is not valid UTF-8");

    b.n = 0;
    put_len(&b, 3, "tok\0junk", 8);
    CHECK_INT(check(&rankd__request_envelope__descriptor, &b, &st), RK_INVALID_ARGUMENT);
    CHECK_STR(st.message, "field auth_token of rankd.RequestEnvelope contains a NUL byte");

    /* An unknown field is the decoder's business, not a string's. */
    b.n = 0;
    put_len(&b, 99, "\xff", 1);
    put_varint(&b, 2 << 3); /* deadline_ms, a varint */
    put_varint(&b, 300);
    CHECK_INT(check(&rankd__request_envelope__descriptor, &b, &st), RK_OK);
}

static void nested_and_repeated(void) {
    rk_status st;
    buf item = {.n = 0}, bad = {.n = 0}, batch = {.n = 0};
    put_len(&item, 1, "tetris", 6);
    put_varint(&item, 4 << 3); /* score */
    put_varint(&item, 9000);
    put_len(&item, 5, "match-1", 7);
    put_len(&bad, 1, "tetris", 6);
    put_len(&bad, 5, "m\xc0\x80", 3);

    put_len(&batch, 1, item.b, item.n);
    put_len(&batch, 1, item.b, item.n);
    CHECK_INT(check(&rankd__submit_batch_request__descriptor, &batch, &st), RK_OK);
    put_len(&batch, 1, bad.b, bad.n); /* the third entry */
    CHECK_INT(check(&rankd__submit_batch_request__descriptor, &batch, &st), RK_INVALID_ARGUMENT);
    CHECK_STR(st.message, "field idempotency_key of rankd.BatchEntry is not valid UTF-8");

    /* A repeated string field: every element is checked. */
    buf names = {.n = 0};
    put_len(&names, 1, "tetris", 6);
    put_len(&names, 4, "ann", 3);
    put_len(&names, 4, "b\0b", 3);
    CHECK_INT(check(&rankd__ranks_of_request__descriptor, &names, &st), RK_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "NUL") != NULL);
}

static void malformed_bytes(void) {
    rk_status st;
    buf b = {.n = 0};
    put_varint(&b, 1 << 3 | 2);
    put_varint(&b, 50); /* longer than what follows */
    put_len(&b, 2, "x", 1);
    CHECK_INT(check(&rankd__request_envelope__descriptor, &b, &st), RK_INVALID_ARGUMENT);
    CHECK_STR(st.message, "request is not a valid rankd.RequestEnvelope");

    const uint8_t endless[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK_INT(wire_check_strings(&rankd__request_envelope__descriptor, endless, sizeof(endless), &st),
              RK_INVALID_ARGUMENT);
    const uint8_t group[] = {0x0b, 0x0c}; /* start and end of a group */
    CHECK_INT(wire_check_strings(&rankd__request_envelope__descriptor, group, sizeof(group), &st), RK_INVALID_ARGUMENT);
    const uint8_t short64[] = {0x09, 0x01, 0x02}; /* fixed64 cut short */
    CHECK_INT(wire_check_strings(&rankd__request_envelope__descriptor, short64, sizeof(short64), &st),
              RK_INVALID_ARGUMENT);
    CHECK_INT(wire_check_strings(&rankd__request_envelope__descriptor, NULL, 0, &st), RK_OK);
}

/* The method name is read from the wire, before anything is decoded. */
static void find_the_method_field(void) {
    Rankd__RequestEnvelope env = RANKD__REQUEST_ENVELOPE__INIT;
    uint8_t b[256], payload[40];
    memset(payload, 0x0a, sizeof(payload)); /* looks like field 1 inside */
    env.has_deadline_ms = 1;
    env.deadline_ms = 4000000000u;
    env.auth_token = "tok";
    env.has_payload = 1;
    env.payload.data = payload;
    env.payload.len = sizeof(payload);
    env.method = "rankd.Ranking/Top";
    size_t n = rankd__request_envelope__pack(&env, b), len = 0;
    const uint8_t *p = NULL;
    CHECK_INT(wire_find_len_field(b, n, 1, &p, &len), 1);
    CHECK(len == 17 && p && memcmp(p, "rankd.Ranking/Top", 17) == 0);
    CHECK_INT(wire_find_len_field(b, n, 5, &p, &len), 1);
    CHECK_INT(len, sizeof(payload));
    CHECK_INT(wire_find_len_field(b, n, 4, &p, &len), 0);
    CHECK_INT(wire_find_len_field(b, n - 1, 1, &p, &len), -1); /* payload cut short */
    /* A repeated field: the last one counts, as when decoding. */
    buf o = {.n = 0};
    put_len(&o, 1, "first", 5);
    put_len(&o, 1, "second", 6);
    CHECK_INT(wire_find_len_field(o.b, o.n, 1, &p, &len), 1);
    CHECK(len == 6 && memcmp(p, "second", 6) == 0);
    CHECK_INT(wire_find_len_field(NULL, 0, 1, &p, &len), 0);
}

int main(void) {
    RUN(find_the_method_field);
    RUN(utf8_text);
    RUN(envelope_strings);
    RUN(nested_and_repeated);
    RUN(malformed_bytes);
    return CHECK_SUMMARY();
}
