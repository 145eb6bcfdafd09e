/* The Redis layout of a board's views (rankd.lua, "Member hashes"): a
 * member is a 9-byte tie key and the user id; a player's tie key is found
 * in the bucket hash of 64 players that holds them, which stays a
 * listpack; a rebuild's swap leaves no bucket of the old view behind; and
 * a view written in the older layout (one hash of every player, 14 hex
 * digits of tie key) is rebuilt from PostgreSQL when a rankd starts. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

#define BOARD "ly"
#define ALL "rk:{" BOARD "}:all"

static rk_client *c;
static char *admin, *key;
static int64_t p1, p2;

static void redis(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void redis(char *out, size_t cap, const char *fmt, ...) {
    char args[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    CHECK_INT(it_redis_cli(args, out, cap), 0);
}

static void submit(int64_t user, int64_t score) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(key, NULL);
    req.board_id = BOARD;
    req.has_user_id = req.has_score = 1;
    req.user_id = user;
    req.score = score;
    CHECK_INT(rk_scores_submit(c, &req, &rep, &o, &st), RK_OK);
    rk_reply_free(rep);
}

/* The board's top two through via: user ids and scores in order. */
static void top2(rk_client *via, int64_t *u, int64_t *s) {
    Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    rk_status st;
    req.board_id = BOARD;
    req.has_limit = 1;
    req.limit = 2;
    u[0] = u[1] = s[0] = s[1] = -1;
    CHECK_INT(rk_ranking_top(via, &req, &rep, NULL, &st), RK_OK);
    for (size_t i = 0; rep && i < rep->n_entries && i < 2; i++) {
        u[i] = rep->entries[i]->user_id;
        s[i] = rep->entries[i]->score;
    }
    rk_reply_free(rep);
}

static void expect_board(rk_client *via) {
    int64_t u[2], s[2];
    top2(via, u, s);
    /* Equal scores: p1 reached 10 first. */
    CHECK_INT(u[0], p1);
    CHECK_INT(s[0], 10);
    CHECK_INT(u[1], p2);
    CHECK_INT(s[1], 10);
}

static void members_are_compact(void) {
    char out[256], uid[32];
    submit(p1, 10);
    submit(p2, 10);
    submit(p1, 10); /* a repeat: its time goes to the t field */
    expect_board(c);

    /* The first member: 9 bytes of tie key, then the user id. */
    redis(out, sizeof(out), "ZRANGE " ALL " -1 -1");
    snprintf(uid, sizeof(uid), "%" PRId64, p1);
    CHECK_INT((long)strlen(out), 9 + (long)strlen(uid));
    CHECK_STR(out + 9, uid);
    /* The player's bucket has their tie key, which is the member's. */
    char tie[64];
    redis(tie, sizeof(tie), "HGET " ALL ":m:%" PRId64 " %" PRId64, p1 / 64, p1 % 64);
    CHECK(strncmp(out, tie, 9) == 0 && strlen(tie) == 9);
    redis(out, sizeof(out), "OBJECT ENCODING " ALL ":m:%" PRId64, p1 / 64);
    CHECK_STR(out, "listpack");
    redis(out, sizeof(out), "HEXISTS " ALL ":m:%" PRId64 " t%" PRId64, p1 / 64, p1 % 64);
    CHECK_STR(out, "1");
    /* mkey itself names the buckets in use. */
    int64_t hi = (p1 > p2 ? p1 : p2) / 64, lo = (p1 < p2 ? p1 : p2) / 64;
    CHECK_INT(it_redis_int("HGET " ALL ":m hi"), hi);
    CHECK_INT(it_redis_int("HGET " ALL ":m lo"), lo);
}

static void rebuild_leaves_no_stale_bucket(void) {
    char out[256];
    /* A bucket the history knows nothing of (as a player removed since
     * would leave), recorded as in use. (The swap walks every bucket up
     * to it in one script: 20,000 is some ms, where 10^6 took seconds, and
     * past 5 s a loaded machine's Redis answers everyone BUSY.) */
    redis(out, sizeof(out), "HSET " ALL ":m:20000 5 ---------");
    redis(out, sizeof(out), "HSET " ALL ":m hi 20000");
    Rankd__RebuildRequest rb = RANKD__REBUILD_REQUEST__INIT;
    Rankd__RebuildReply *rbr = NULL;
    rk_status st;
    rk_call_opts o = it_opts(admin, NULL);
    rb.board_id = BOARD;
    CHECK_INT(rk_admin_rebuild(c, &rb, &rbr, &o, &st), RK_OK);
    rk_reply_free(rbr);
    CHECK_INT(it_redis_int("EXISTS " ALL ":m:20000"), 0);
    CHECK_INT(it_redis_int("HGET " ALL ":m hi"), (p1 > p2 ? p1 : p2) / 64);
    /* The repeat's time came back from the history too. */
    redis(out, sizeof(out), "HEXISTS " ALL ":m:%" PRId64 " t%" PRId64, p1 / 64, p1 % 64);
    CHECK_STR(out, "1");
    expect_board(c);
}

static void older_layout_is_rebuilt_at_start(void) {
    char out[256];
    /* The all-time view as an older release wrote it, with a wrong score:
     * one hash of uid -> member, 14 hex digits of tie key. */
    redis(out, sizeof(out), "DEL " ALL " " ALL ":m " ALL ":m:%" PRId64 " " ALL ":m:%" PRId64, p1 / 64, p2 / 64);
    redis(out, sizeof(out), "ZADD " ALL " 1 00000000000001%" PRId64, p1);
    redis(out, sizeof(out), "HSET " ALL ":m %" PRId64 " 00000000000001%" PRId64, p1, p1);
    it_rankd fresh;
    if (it_rankd_spawn(&fresh, "layout", NULL) != 0) {
        CHECK(!"a rankd started on the older layout");
        return;
    }
    expect_board(fresh.client);
    CHECK_INT(it_redis_int("ZCARD " ALL), 2);
    CHECK_INT(it_redis_int("HEXISTS " ALL ":m %" PRId64, p1), 0);
    CHECK_INT(it_redis_int("HGET " ALL ":m hi"), (p1 > p2 ? p1 : p2) / 64);
    CHECK_INT(it_rankd_stop(&fresh), 0);
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    CHECK_INT(it_create_board(c, admin, BOARD, "ly", 0, RANKD__POLICY__POLICY_LATEST, 0, 0), RK_OK);
    key = it_api_key(c, admin, "ly");
    p1 = it_sign_up(c, "ly-one", "password-123");
    p2 = it_sign_up(c, "ly-two", "password-123");
    RUN(members_are_compact);
    RUN(rebuild_leaves_no_stale_bucket);
    RUN(older_layout_is_rebuilt_at_start);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
