/* The wire: malformed bytes, unknown methods and bad payloads get a clear
 * status and never hurt the server; one client serves many threads; the
 * asynchronous form delivers every reply once; an unreachable server is
 * UNAVAILABLE. Raw requests here use a bare nng REQ socket, as any
 * implementation following docs/PROTOCOL.md would. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "check.h"
#include "it_common.h"

static rk_client *c;

/* Sends raw bytes; returns the decoded reply envelope (NULL if none). */
static Rankd__ReplyEnvelope *raw(const void *bytes, size_t len) {
    nng_socket s;
    nng_msg *msg = NULL;
    Rankd__ReplyEnvelope *env = NULL;
    if (nng_req0_open(&s) != 0) return NULL;
    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
    nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    if (nng_dial(s, getenv("RANKD_URL"), NULL, 0) == 0 && nng_msg_alloc(&msg, len) == 0) {
        memcpy(nng_msg_body(msg), bytes, len);
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

static Rankd__ReplyEnvelope *raw_envelope(const char *method, const void *payload, size_t len) {
    Rankd__RequestEnvelope env = RANKD__REQUEST_ENVELOPE__INIT;
    env.method = (char *)method;
    env.has_payload = payload != NULL;
    env.payload.data = (uint8_t *)payload;
    env.payload.len = len;
    uint8_t buf[512];
    size_t n = rankd__request_envelope__pack(&env, buf);
    return raw(buf, n);
}

static void garbage_bytes_are_invalid_argument(void) {
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99, 0x00};
    Rankd__ReplyEnvelope *r = raw(junk, sizeof(junk));
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->code, RK_INVALID_ARGUMENT);
        CHECK(strstr(r->message, "RequestEnvelope") != NULL);
    }
    rankd__reply_envelope__free_unpacked(r, NULL);
    r = raw("", 0); /* empty request: no method */
    if (r) CHECK_INT(r->code, RK_INVALID_ARGUMENT);
    rankd__reply_envelope__free_unpacked(r, NULL);
}

static void unknown_method_is_unimplemented(void) {
    Rankd__ReplyEnvelope *r = raw_envelope("rankd.Ranking/Teleport", NULL, 0);
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->code, RK_UNIMPLEMENTED);
        CHECK(strstr(r->message, "Teleport") != NULL);
    }
    rankd__reply_envelope__free_unpacked(r, NULL);
    r = raw_envelope("Top", NULL, 0); /* a short name is not a full name */
    if (r) CHECK_INT(r->code, RK_UNIMPLEMENTED);
    rankd__reply_envelope__free_unpacked(r, NULL);
}

static void bad_payload_is_invalid_argument(void) {
    const uint8_t junk[] = {0x0a, 0xff, 0x01}; /* field 1, length past the end */
    Rankd__ReplyEnvelope *r = raw_envelope("rankd.Ranking/Top", junk, sizeof(junk));
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->code, RK_INVALID_ARGUMENT);
        CHECK(strstr(r->message, "rankd.TopRequest") != NULL);
    }
    rankd__reply_envelope__free_unpacked(r, NULL);
}

static void server_survives_and_answers(void) {
    Rankd__Empty e = RANKD__EMPTY__INIT;
    Rankd__ServerStatus *s = NULL;
    rk_status st;
    CHECK_INT(rk_admin_status(c, &e, &s, NULL, &st), RK_OK);
    if (s) {
        CHECK(s->redis_ok);
        CHECK(s->postgres_ok);
        CHECK(s->requests_total >= 5);
    }
    rk_reply_free(s);
}

static atomic_int thread_ok;

static void *hammer(void *arg) {
    (void)arg;
    for (int i = 0; i < 50; i++) {
        Rankd__ListBoardsRequest req = RANKD__LIST_BOARDS_REQUEST__INIT;
        Rankd__ListBoardsReply *rep = NULL;
        rk_status st;
        if (rk_boards_list_boards(c, &req, &rep, NULL, &st) == RK_OK) atomic_fetch_add(&thread_ok, 1);
        rk_reply_free(rep);
    }
    return NULL;
}

static void one_client_many_threads(void) {
    pthread_t t[8];
    atomic_store(&thread_ok, 0);
    for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, hammer, NULL);
    for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
    CHECK_INT(atomic_load(&thread_ok), 8 * 50);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int async_done, async_ok;

static void on_count(const rk_status *st, Rankd__CountReply *reply, void *arg) {
    (void)arg;
    pthread_mutex_lock(&mu);
    async_done++;
    if (st->code == RK_FAILED_PRECONDITION || st->code == RK_NOT_FOUND || (st->code == RK_OK && reply)) async_ok++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    rk_reply_free(reply);
}

static void async_calls_complete_once(void) {
    Rankd__CountRequest req = RANKD__COUNT_REQUEST__INIT;
    req.board_id = "global";
    for (int i = 0; i < 200; i++) CHECK_INT(rk_ranking_count_async(c, &req, NULL, on_count, NULL), RK_OK);
    pthread_mutex_lock(&mu);
    while (async_done < 200) pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    CHECK_INT(async_done, 200);
    CHECK_INT(async_ok, 200);
}

static void unreachable_server_is_unavailable(void) {
    rk_client *dead = NULL;
    rk_status st;
    CHECK_INT(rk_client_open(&dead, "tcp://127.0.0.1:1", &st), RK_OK);
    rk_client_set_deadline(dead, 300);
    Rankd__Empty e = RANKD__EMPTY__INIT;
    Rankd__ServerStatus *s = NULL;
    CHECK_INT(rk_admin_status(dead, &e, &s, NULL, &st), RK_UNAVAILABLE);
    rk_client_close(dead);
    CHECK_INT(rk_client_open(&dead, "bogus://x", &st), RK_INVALID_ARGUMENT);
}

int main(void) {
    c = it_client();
    RUN(garbage_bytes_are_invalid_argument);
    RUN(unknown_method_is_unimplemented);
    RUN(bad_payload_is_invalid_argument);
    RUN(server_survives_and_answers);
    RUN(one_client_many_threads);
    RUN(async_calls_complete_once);
    RUN(unreachable_server_is_unavailable);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
