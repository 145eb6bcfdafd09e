/* Request sizes are bounded per method before anything is decoded: a
 * RanksOf carrying 1 MB of usernames is answered RESOURCE_EXHAUSTED
 * naming the method and both sizes, 64 of them at once leave rankd's
 * peak memory within a stated bound, and the largest legitimate
 * SubmitBatch (1000 entries, every field at its longest) and RanksOf
 * (1000 usernames of 32 characters) still work.
 *
 * rankd runs here with max-message 4 MiB (tests/CMakeLists.txt), so the
 * oversized requests reach the per-method check instead of being cut off
 * by the transport. Raw requests use bare nng REQ sockets. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "check.h"
#include "it_common.h"

#define BIG_NAMES 30000 /* 30000 x 32-byte usernames: about 1 MB */
#define CONCURRENT 64
/* Peak memory bound for 64 such requests at once: at worst all 64 of the
 * 1 MB messages are held at once before their answers (64 MB), and
 * nothing of them is decoded; 16 MB of slack. */
#define PEAK_GROWTH_KB (80 * 1024)

static rk_client *c;

/* VmHWM (peak resident set) or VmRSS of rankd, in kB. */
static long rankd_kb(const char *field) {
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof(path), "/proc/%s/status", getenv("RANKD_PID"));
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') kb = strtol(line + n + 1, NULL, 10);
    fclose(f);
    return kb;
}

/* A RanksOf envelope naming `n` usernames of 32 characters; malloc'ed. */
static uint8_t *ranks_of_envelope(size_t n, size_t *len) {
    Rankd__RanksOfRequest req = RANKD__RANKS_OF_REQUEST__INIT;
    char **names = malloc(n * sizeof(*names));
    char *store = malloc(n * 33);
    for (size_t i = 0; i < n; i++) {
        names[i] = store + i * 33;
        snprintf(names[i], 33, "player_%025zu", i);
    }
    req.board_id = "sized";
    req.n_usernames = n;
    req.usernames = names;
    Rankd__RequestEnvelope env = RANKD__REQUEST_ENVELOPE__INIT;
    env.method = "rankd.Ranking/RanksOf";
    env.has_payload = 1;
    env.payload.len = rankd__ranks_of_request__get_packed_size(&req);
    env.payload.data = malloc(env.payload.len);
    rankd__ranks_of_request__pack(&req, env.payload.data);
    *len = rankd__request_envelope__get_packed_size(&env);
    uint8_t *out = malloc(*len);
    rankd__request_envelope__pack(&env, out);
    free(env.payload.data);
    free(store);
    free(names);
    return out;
}

/* Sends bytes on a fresh REQ socket to url; returns the reply envelope or
 * NULL (no answer within timeout_ms). */
static Rankd__ReplyEnvelope *raw_to(const char *url, const uint8_t *bytes, size_t len, int timeout_ms) {
    nng_socket s;
    nng_msg *msg = NULL;
    Rankd__ReplyEnvelope *env = NULL;
    if (nng_req0_open(&s) != 0) return NULL;
    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, timeout_ms);
    nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    if (nng_dial(s, url, NULL, 0) == 0 && nng_msg_alloc(&msg, len) == 0) {
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

static Rankd__ReplyEnvelope *raw(const uint8_t *bytes, size_t len) {
    return raw_to(getenv("RANKD_URL"), bytes, len, 20000);
}

static void oversized_ranks_of_is_resource_exhausted(void) {
    size_t len;
    uint8_t *bytes = ranks_of_envelope(BIG_NAMES, &len);
    Rankd__ReplyEnvelope *r = raw(bytes, len);
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->code, RK_RESOURCE_EXHAUSTED);
        char size[32];
        snprintf(size, sizeof(size), "%zu", len);
        CHECK(r->message && strstr(r->message, "rankd.Ranking/RanksOf") != NULL);
        CHECK(r->message && strstr(r->message, size) != NULL);
        if (r->message) printf("  answer: %s\n", r->message);
    }
    rankd__reply_envelope__free_unpacked(r, NULL);
    free(bytes);
}

typedef struct shot {
    const uint8_t *bytes;
    size_t len;
    int code;
} shot;

static void *fire(void *arg) {
    shot *s = arg;
    Rankd__ReplyEnvelope *r = raw(s->bytes, s->len);
    s->code = r ? r->code : -1;
    rankd__reply_envelope__free_unpacked(r, NULL);
    return NULL;
}

static void many_oversized_at_once_stay_within_memory(void) {
    size_t len;
    uint8_t *bytes = ranks_of_envelope(BIG_NAMES, &len);
    pthread_t th[CONCURRENT];
    shot shots[CONCURRENT];
    long before = rankd_kb("VmHWM"), rss_before = rankd_kb("VmRSS");
    for (int i = 0; i < CONCURRENT; i++) {
        shots[i] = (shot){.bytes = bytes, .len = len, .code = -1};
        pthread_create(&th[i], NULL, fire, &shots[i]);
    }
    int exhausted = 0;
    for (int i = 0; i < CONCURRENT; i++) {
        pthread_join(th[i], NULL);
        exhausted += shots[i].code == RK_RESOURCE_EXHAUSTED;
    }
    long after = rankd_kb("VmHWM"), rss_after = rankd_kb("VmRSS");
    printf("  %d x %zu bytes: VmHWM %ld -> %ld kB (+%ld, bound +%d), VmRSS %ld -> %ld kB\n", CONCURRENT, len, before,
           after, after - before, PEAK_GROWTH_KB, rss_before, rss_after);
    CHECK_INT(exhausted, CONCURRENT);
    CHECK(before > 0 && after - before < PEAK_GROWTH_KB);
    free(bytes);
}

static void maximal_legitimate_requests_work(void) {
    rk_status st;
    char *admin = it_admin_token(c);
    /* Every field at its longest: 64-character board id, 32-character
     * username, 128-byte idempotency keys, 1000 entries. */
    char board[65], user[33];
    memset(board, 'b', 64);
    board[64] = '\0';
    snprintf(user, sizeof(user), "%s", "maximal_player_with_32_chars_xyz");
    CHECK_INT(strlen(user), 32);
    CHECK_INT(it_create_board(c, admin, board, "sized", 0, RANKD__POLICY__POLICY_SUM, 0, 0), RK_OK);
    CHECK(it_create_board(c, admin, "sized", "sized", 0, RANKD__POLICY__POLICY_BEST, 0, 0) == RK_OK);
    CHECK(it_sign_up(c, user, "password-1") > 0);
    char *key = it_api_key(c, admin, "sized");
    CHECK(key != NULL);

    Rankd__SubmitBatchRequest req = RANKD__SUBMIT_BATCH_REQUEST__INIT;
    Rankd__BatchEntry *entries = calloc(1000, sizeof(*entries)), **ptrs = calloc(1000, sizeof(*ptrs));
    char(*keys)[129] = calloc(1000, sizeof(*keys));
    for (int i = 0; i < 1000; i++) {
        rankd__batch_entry__init(&entries[i]);
        memset(keys[i], 'k', 128);
        snprintf(keys[i], 129, "%04d", i);
        keys[i][4] = 'k';
        entries[i].board_id = board;
        entries[i].username = user;
        entries[i].has_score = 1;
        entries[i].score = -1000000; /* negative: a 10-byte varint, the longest */
        entries[i].idempotency_key = keys[i];
        ptrs[i] = &entries[i];
    }
    req.n_entries = 1000;
    req.entries = ptrs;
    printf("  SubmitBatch payload: %zu bytes\n", rankd__submit_batch_request__get_packed_size(&req));
    Rankd__SubmitBatchReply *rep = NULL;
    rk_call_opts o = {.token = key, .deadline_ms = 30000};
    CHECK_CODE((rk_scores_submit_batch(c, &req, &rep, &o, &st), st), RK_OK);
    if (rep) {
        CHECK_INT(rep->n_results, 1000);
        int ok = 0;
        for (size_t i = 0; i < rep->n_results; i++) ok += rep->results[i]->code == RK_OK;
        CHECK_INT(ok, 1000);
    }
    rk_reply_free(rep);

    /* RanksOf with 1000 usernames of 32 characters, ours among them. */
    Rankd__RanksOfRequest rq = RANKD__RANKS_OF_REQUEST__INIT;
    char **names = calloc(1000, sizeof(*names));
    char(*store)[33] = calloc(1000, sizeof(*store));
    for (int i = 0; i < 1000; i++) {
        snprintf(store[i], 33, "somebody_else_%018d", i);
        names[i] = store[i];
    }
    names[999] = user;
    rq.board_id = board;
    rq.n_usernames = 1000;
    rq.usernames = names;
    Rankd__RankListReply *rl = NULL;
    rk_call_opts ro = {.deadline_ms = 30000};
    CHECK_CODE((rk_ranking_ranks_of(c, &rq, &rl, &ro, &st), st), RK_OK);
    if (rl) {
        CHECK_INT(rl->n_entries, 1);
        if (rl->n_entries == 1) CHECK_INT(rl->entries[0]->score, -1000000LL * 1000);
    }
    rk_reply_free(rl);
    free(names);
    free(store);
    free(entries);
    free(ptrs);
    free(keys);
    free(key);
    free(admin);
}

/* A Top envelope of exactly len bytes (its payload is filler); malloc'ed. */
static uint8_t *envelope_of(size_t len) {
    Rankd__RequestEnvelope env = RANKD__REQUEST_ENVELOPE__INIT;
    env.method = "rankd.Ranking/Top";
    env.has_payload = 1;
    uint8_t *filler = calloc(len, 1);
    env.payload.data = filler;
    for (env.payload.len = len; env.payload.len > 0 && rankd__request_envelope__get_packed_size(&env) > len;)
        env.payload.len--;
    if (rankd__request_envelope__get_packed_size(&env) != len) {
        free(filler);
        return NULL;
    }
    uint8_t *out = malloc(len);
    rankd__request_envelope__pack(&env, out);
    free(filler);
    return out;
}

/* max-message bounds the whole SP message, the 4-byte request id
 * included: with max-message 2048 an envelope of 2044 bytes is answered
 * (here RESOURCE_EXHAUSTED: far above Top's bound), one of 2045 bytes
 * loses its connection unanswered. */
static void max_message_counts_the_request_id(void) {
    it_rankd small;
    CHECK_INT(it_rankd_spawn(&small, "small", "--max-message=2048"), 0);
    if (small.client == NULL) return;
    uint8_t *fits = envelope_of(2044), *over = envelope_of(2045);
    CHECK(fits != NULL && over != NULL);
    if (fits && over) {
        Rankd__ReplyEnvelope *r = raw_to(small.listen, fits, 2044, 5000);
        CHECK(r != NULL);
        if (r) CHECK_INT(r->code, RK_RESOURCE_EXHAUSTED);
        rankd__reply_envelope__free_unpacked(r, NULL);
        r = raw_to(small.listen, over, 2045, 3000);
        CHECK(r == NULL);
        rankd__reply_envelope__free_unpacked(r, NULL);
    }
    free(fits);
    free(over);
    CHECK_INT(it_rankd_stop(&small), 0);
}

int main(void) {
    c = it_client();
    RUN(maximal_legitimate_requests_work);
    RUN(oversized_ranks_of_is_resource_exhausted);
    RUN(many_oversized_at_once_stay_within_memory);
    RUN(max_message_counts_the_request_id);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
