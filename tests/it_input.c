/* Strings at the boundary: a string field that is not UTF-8 or holds a NUL
 * byte, in the envelope or anywhere in a method's payload, is refused with
 * INVALID_ARGUMENT naming the field, before anything is done with it; an
 * idempotency key that PostgreSQL could not store is never acknowledged.
 * The requests are encoded by hand (protobuf-c would stop at the NUL), as
 * a hostile caller would. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "check.h"
#include "it_common.h"

static rk_client *c;
static char *admin, *key;

/* ---------------------------------------------------------------- encoding by hand */

typedef struct buf {
    uint8_t b[4096];
    size_t n;
} buf;

static void put_varint(buf *o, uint64_t v) {
    do {
        uint8_t byte = v & 0x7F;
        v >>= 7;
        o->b[o->n++] = byte | (v ? 0x80 : 0);
    } while (v);
}

static void put_bytes(buf *o, unsigned field, const void *p, size_t len) {
    put_varint(o, (uint64_t)field << 3 | 2);
    put_varint(o, len);
    memcpy(o->b + o->n, p, len);
    o->n += len;
}

static void put_int(buf *o, unsigned field, int64_t v) {
    put_varint(o, (uint64_t)field << 3);
    put_varint(o, (uint64_t)v);
}

/* An envelope around payload; each string is (bytes, length). */
static void envelope(buf *o, const char *method, const char *tok, size_t tok_len, const char *idem, size_t idem_len,
                     const buf *payload) {
    o->n = 0;
    put_bytes(o, 1, method, strlen(method));
    if (tok) put_bytes(o, 3, tok, tok_len);
    if (idem) put_bytes(o, 4, idem, idem_len);
    put_bytes(o, 5, payload->b, payload->n);
}

static Rankd__ReplyEnvelope *send_raw(const buf *req) {
    nng_socket s;
    nng_msg *msg = NULL;
    Rankd__ReplyEnvelope *env = NULL;
    if (nng_req0_open(&s) != 0) return NULL;
    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10000);
    nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    if (nng_dial(s, getenv("RANKD_URL"), NULL, 0) == 0 && nng_msg_alloc(&msg, req->n) == 0) {
        memcpy(nng_msg_body(msg), req->b, req->n);
        if (nng_sendmsg(s, msg, 0) != 0)
            nng_msg_free(msg);
        else if (nng_recvmsg(s, &msg, 0) == 0) {
            env = rankd__reply_envelope__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
            nng_msg_free(msg);
        }
    }
    nng_close(s);
    return env;
}

/* The reply's code; *message gets a copy of its message. */
static int call_raw(const buf *req, char *message, size_t cap) {
    Rankd__ReplyEnvelope *r = send_raw(req);
    int code = r ? (int)r->code : -1;
    snprintf(message, cap, "%s", r && r->message ? r->message : "");
    rankd__reply_envelope__free_unpacked(r, NULL);
    return code;
}

#define CHECK_REFUSED(req, field_name)                                                                      \
    do {                                                                                                    \
        char msg_[256];                                                                                     \
        CHECK_INT(call_raw(req, msg_, sizeof(msg_)), RK_INVALID_ARGUMENT);                                  \
        if (strstr(msg_, field_name) == NULL) {                                                             \
            fprintf(stderr, "  %s:%d: message \"%s\" names no %s\n", __FILE__, __LINE__, msg_, field_name); \
            check_failures_in_test++;                                                                       \
        }                                                                                                   \
    } while (0)

static int64_t history_count(const char *board, int64_t user) {
    Rankd__HistoryRequest req = RANKD__HISTORY_REQUEST__INIT;
    Rankd__HistoryReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    req.has_user_id = 1;
    req.user_id = user;
    req.has_limit = 1;
    req.limit = 100;
    int64_t n = -1;
    if (rk_history_history(c, &req, &rep, NULL, &st) == RK_OK) n = (int64_t)rep->n_entries;
    rk_reply_free(rep);
    return n;
}

/* ---------------------------------------------------------------- tests */

/* The write-behind could not store such a key, and stopped for good. */
static void submission_with_a_key_that_is_not_utf8_is_refused(void) {
    int64_t uid = it_sign_up(c, "in-ann", "password-123");
    buf p = {.n = 0}, req;
    put_bytes(&p, 1, "in-b", 4);
    put_int(&p, 2, uid);
    put_int(&p, 4, 42);
    envelope(&req, "rankd.Scores/Submit", key, strlen(key), "k\xff\xfe", 3, &p);
    CHECK_REFUSED(&req, "idempotency_key");
    /* A key cut short by a NUL would be another caller's key. */
    envelope(&req, "rankd.Scores/Submit", key, strlen(key), "k\0x", 3, &p);
    CHECK_REFUSED(&req, "idempotency_key");

    /* The same in a batch item: nothing of the batch is applied. */
    buf item = {.n = 0}, batch = {.n = 0};
    put_bytes(&item, 1, "in-b", 4);
    put_int(&item, 2, uid);
    put_int(&item, 4, 7);
    put_bytes(&item, 5, "\xc0\x80", 2); /* an overlong NUL */
    put_bytes(&batch, 1, item.b, item.n);
    envelope(&req, "rankd.Scores/SubmitBatch", key, strlen(key), NULL, 0, &batch);
    CHECK_REFUSED(&req, "idempotency_key");
    CHECK_INT(history_count("in-b", uid), 0);

    /* A good submission goes through and reaches the history. */
    envelope(&req, "rankd.Scores/Submit", key, strlen(key), "good-1", 6, &p);
    char msg[256];
    CHECK_INT(call_raw(&req, msg, sizeof(msg)), RK_OK);
    int64_t n = 0;
    for (int i = 0; i < 100 && (n = history_count("in-b", uid)) < 1; i++) usleep(50000);
    CHECK_INT(n, 1);
}

/* "x\0evil" would create x; "admin\0junk" would log in as admin. */
static void strings_with_a_nul_are_refused(void) {
    buf p = {.n = 0}, req;
    put_bytes(&p, 1, "in-x\0evil", 9);
    put_bytes(&p, 2, "password-123", 12);
    envelope(&req, "rankd.Auth/SignUp", NULL, 0, NULL, 0, &p);
    CHECK_REFUSED(&req, "username");

    const char *user = getenv("RANKD_ADMIN_USER"), *pw = getenv("RANKD_ADMIN_PASSWORD");
    char name[64];
    size_t len = (size_t)snprintf(name, sizeof(name), "%s", user) + 1;
    memcpy(name + len, "junk", 4);
    p.n = 0;
    put_bytes(&p, 1, name, len + 4);
    put_bytes(&p, 2, pw, strlen(pw));
    envelope(&req, "rankd.Auth/Login", NULL, 0, NULL, 0, &p);
    CHECK_REFUSED(&req, "username");

    /* A valid token followed by garbage is not that token. */
    char tok[512];
    len = (size_t)snprintf(tok, sizeof(tok), "%s", admin) + 1;
    memcpy(tok + len, "garbage", 7);
    p.n = 0;
    envelope(&req, "rankd.Auth/WhoAmI", tok, len + 7, NULL, 0, &p);
    CHECK_REFUSED(&req, "auth_token");
}

/* Not INTERNAL with PostgreSQL's words, and not a warning in the log. */
static void names_that_are_not_utf8_are_invalid_argument(void) {
    buf p = {.n = 0}, req;
    put_bytes(&p, 1, "in-b", 4);
    put_bytes(&p, 4, "in-\xe9t\xe9", 6); /* Latin-1 */
    envelope(&req, "rankd.Ranking/Rank", NULL, 0, NULL, 0, &p);
    CHECK_REFUSED(&req, "username");
    p.n = 0;
    put_bytes(&p, 1, "in-b\xed\xa0\x80", 7); /* a UTF-16 surrogate */
    envelope(&req, "rankd.Ranking/Top", NULL, 0, NULL, 0, &p);
    CHECK_REFUSED(&req, "board_id");
    /* The method name is a string too. */
    p.n = 0;
    envelope(&req, "rankd.Ranking/Top\xff", NULL, 0, NULL, 0, &p);
    CHECK_REFUSED(&req, "method");
    /* Valid UTF-8 that breaks a handler's own rule still gets that rule. */
    p.n = 0;
    put_bytes(&p, 1, "in-b", 4);
    put_bytes(&p, 4, "\xc3\xa9t\xc3\xa9", 6);
    envelope(&req, "rankd.Ranking/Rank", NULL, 0, NULL, 0, &p);
    CHECK_REFUSED(&req, "username");
}

/* What a rankd before the boundary check acknowledged, and what a stream
 * written by hand may hold: rows PostgreSQL refuses. They are set aside
 * with the reason, counted, and the history goes on. */
static void rows_postgresql_refuses_do_not_stop_the_history(void) {
    int64_t uid = it_sign_up(c, "in-bob", "password-123");
    char cmd[512];
    const char *host = getenv("RANKD_REDIS_HOST"), *port = getenv("RANKD_REDIS_PORT");
    /* A key that is not UTF-8, and an entry that lacks its score. */
    snprintf(cmd, sizeof(cmd),
             "printf 'k\\377' | redis-cli -h %s -p %s -x XADD rk:wb '*' b in-b u %lld s 5 t 1764547200000000 k "
             ">/dev/null && redis-cli -h %s -p %s XADD rk:wb '*' b in-b u %lld t 1764547200000000 >/dev/null",
             host, port, (long long)uid, host, port, (long long)uid);
    CHECK_INT(system(cmd), 0);

    rk_status st;
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    req.board_id = "in-b";
    req.has_user_id = req.has_score = 1;
    req.user_id = uid;
    req.score = 9;
    rk_call_opts o = it_opts(key, "after-the-bad-ones");
    CHECK_INT(rk_scores_submit(c, &req, &rep, &o, &st), RK_OK);
    rk_reply_free(rep);
    int64_t n = 0;
    for (int i = 0; i < 100 && (n = history_count("in-b", uid)) < 1; i++) usleep(50000);
    CHECK_INT(n, 1);

    Rankd__Empty e = RANKD__EMPTY__INIT;
    Rankd__ServerStatus *s = NULL;
    rk_call_opts ao = it_opts(admin, NULL);
    /* The good one may reach the history first: in the split layout it is
     * on its board's stream, and the write-behind drains rk:wb beside it. */
    for (int i = 0; i < 100; i++) {
        CHECK_INT(rk_admin_status(c, &e, &s, &ao, &st), RK_OK);
        if (s == NULL || (s->writebehind_backlog == 0 && s->dead_letters == 2)) break;
        rk_reply_free(s);
        s = NULL;
        usleep(50000);
    }
    if (s == NULL) CHECK_INT(rk_admin_status(c, &e, &s, &ao, &st), RK_OK);
    if (s) {
        CHECK_INT(s->writebehind_backlog, 0);
        CHECK(s->has_dead_letters);
        CHECK_INT(s->dead_letters, 2);
    }
    rk_reply_free(s);
    /* /metrics says so too, within the health thread's second (bash's
     * /dev/tcp, so the test needs no HTTP client). */
    const char *http = getenv("RANKD_HTTP_URL") + strlen("http://");
    char hostport[64];
    snprintf(hostport, sizeof(hostport), "%.*s", (int)strcspn(http, "/"), http);
    hostport[strcspn(hostport, ":")] = '/';
    snprintf(cmd, sizeof(cmd),
             "bash -c 'for i in $(seq 50); do exec 3<>/dev/tcp/%s || exit 1; "
             "printf \"GET /metrics HTTP/1.0\\r\\n\\r\\n\" >&3; "
             "grep -qx \"rankd_writebehind_dead_letters 2\" <&3 && exit 0; exec 3>&-; sleep 0.1; done; exit 1'",
             hostport);
    CHECK_INT(system(cmd), 0);
}

int main(void) {
    c = it_client();
    rk_client_set_deadline(c, 10000);
    admin = it_admin_token(c);
    CHECK(admin != NULL);
    it_create_board(c, admin, "in-b", "in", 0, RANKD__POLICY__POLICY_SUM, 0, 0);
    key = it_api_key(c, admin, "in");
    CHECK(key != NULL);
    if (admin == NULL || key == NULL) return CHECK_SUMMARY();
    RUN(submission_with_a_key_that_is_not_utf8_is_refused);
    RUN(strings_with_a_nul_are_refused);
    RUN(names_that_are_not_utf8_are_invalid_argument);
    RUN(rows_postgresql_refuses_do_not_stop_the_history);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
