/* The split layout (redis-layout split, what a Redis Cluster needs; here on
 * one Redis, which takes the same calls): a submission changes only its
 * board's slot, and the global board and the aggregates follow from the
 * board's stream, each change applied once, by however many rankd, through
 * a rebuild of the target; the write-behind drains every board's stream,
 * and a stream keeps what a target has not applied yet. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "check.h"
#include "it_common.h"

#define PLAYERS 5

static rk_client *c;
static char *admin, *key;
static int64_t uid[PLAYERS];
static const char *const names[PLAYERS] = {"sp-ann", "sp-bob", "sp-cat", "sp-dan", "sp-eve"};

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int submit_to(rk_client *to, const char *board, int who, int64_t score, const char *idem, rk_status *st) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    rk_call_opts o = it_opts(key, idem);
    req.board_id = (char *)board;
    req.has_user_id = req.has_score = 1;
    req.user_id = uid[who];
    req.score = score;
    int rc = rk_scores_submit(to, &req, &rep, &o, st);
    rk_reply_free(rep);
    return rc;
}

static int submit(const char *board, int who, int64_t score) {
    rk_status st;
    int rc = submit_to(c, board, who, score, NULL, &st);
    if (rc != RK_OK) fprintf(stderr, "  submit %s %s %lld: %s\n", board, names[who], (long long)score, st.message);
    return rc;
}

/* The top of a board as "name=score@rank ...". */
static void top_line(const char *board, char *out, size_t cap) {
    Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    req.has_limit = 1;
    req.limit = 100;
    out[0] = '\0';
    if (rk_ranking_top(c, &req, &rep, NULL, &st) != RK_OK) {
        snprintf(out, cap, "error: %s", st.message);
        return;
    }
    size_t at = 0;
    for (size_t i = 0; i < rep->n_entries && at < cap; i++)
        at += (size_t)snprintf(out + at, cap - at, "%s%s=%lld@%lld", i ? " " : "", rep->entries[i]->username,
                               (long long)rep->entries[i]->score, (long long)rep->entries[i]->rank);
    rk_reply_free(rep);
}

/* Until a board's top is `want` (the applier is asynchronous), at most
 * 5 s; returns the ms it took, or -1. */
static int64_t wait_top(const char *board, const char *want) {
    char got[2048];
    int64_t t0 = now_ms();
    while (now_ms() - t0 < 5000) {
        top_line(board, got, sizeof(got));
        if (strcmp(got, want) == 0) return now_ms() - t0;
        usleep(5000);
    }
    fprintf(stderr, "  %s:\n    got  %s\n    want %s\n", board, got, want);
    return -1;
}

/* Status until both the write-behind and the applier have nothing left. */
static int caught_up(void) {
    for (int i = 0; i < 300; i++) {
        Rankd__Empty e = RANKD__EMPTY__INIT;
        Rankd__ServerStatus *s = NULL;
        rk_status st;
        int done = rk_admin_status(c, &e, &s, NULL, &st) == RK_OK && s->has_applier_backlog &&
                   s->applier_backlog == 0 && s->writebehind_backlog == 0;
        rk_reply_free(s);
        if (done) return 1;
        usleep(20000);
    }
    return 0;
}

static long pg_long(const char *sql) {
    PGconn *pg = PQconnectdb(getenv("RANKD_POSTGRES"));
    long v = -1;
    PGresult *r = PQexec(pg, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(pg);
    return v;
}

static int create_aggregate(const char *id, const char *const *sources, size_t n) {
    Rankd__CreateBoardRequest req = RANKD__CREATE_BOARD_REQUEST__INIT;
    Rankd__Board b = RANKD__BOARD__INIT;
    Rankd__BoardReply *rep = NULL;
    rk_call_opts o = it_opts(admin, NULL);
    rk_status st;
    b.id = (char *)id;
    b.game = "sp";
    b.title = "both";
    b.sources = (char **)sources;
    b.n_sources = n;
    req.board = &b;
    int rc = rk_boards_create_board(c, &req, &rep, &o, &st);
    if (rc != RK_OK) fprintf(stderr, "  create %s: %s\n", id, st.message);
    rk_reply_free(rep);
    return rc;
}

static int rebuild(const char *board) {
    Rankd__RebuildRequest req = RANKD__REBUILD_REQUEST__INIT;
    Rankd__RebuildReply *rep = NULL;
    rk_call_opts o = it_opts(admin, NULL);
    rk_status st;
    o.deadline_ms = 30000;
    req.board_id = (char *)board;
    req.reason = "test";
    int rc = rk_admin_rebuild(c, &req, &rep, &o, &st);
    if (rc != RK_OK) fprintf(stderr, "  rebuild %s: %s\n", board, st.message);
    rk_reply_free(rep);
    return rc;
}

/* ---------------------------------------------------------------- tests */

static void global_and_aggregate_follow_the_boards(void) {
    /* Before the aggregate: best and sum boards, and one that is lower
     * is better (in no total). */
    CHECK_INT(submit("sp-best", 0, 50), RK_OK);
    CHECK_INT(submit("sp-best", 0, 40), RK_OK); /* not a best: nothing moves */
    CHECK_INT(submit("sp-sum", 0, 10), RK_OK);
    CHECK_INT(submit("sp-sum", 1, 30), RK_OK);
    CHECK_INT(submit("sp-time", 2, 99), RK_OK);
    int64_t ms = wait_top("global", "sp-ann=60@1 sp-bob=30@2");
    CHECK(ms >= 0);
    fprintf(stderr, "  the global board had the submissions within %lld ms\n", (long long)ms);
    /* The aggregate is built from the history, then follows. */
    static const char *const both[] = {"sp-best", "sp-sum"};
    CHECK_INT(create_aggregate("sp-both", both, 2), RK_OK);
    CHECK(wait_top("sp-both", "sp-ann=60@1 sp-bob=30@2") >= 0);
    CHECK_INT(submit("sp-best", 1, 45), RK_OK);
    CHECK_INT(submit("sp-sum", 0, 5), RK_OK);
    CHECK(wait_top("sp-both", "sp-bob=75@1 sp-ann=65@2") >= 0);
    CHECK(wait_top("global", "sp-bob=75@1 sp-ann=65@2") >= 0);
    /* The board itself answers at once, as in the one-key layout. */
    char got[512];
    top_line("sp-sum", got, sizeof(got));
    CHECK_STR(got, "sp-bob=30@1 sp-ann=15@2");
}

static void the_history_has_every_board_stream(void) {
    CHECK(caught_up());
    /* Each entry once, its id qualified by its board. */
    CHECK_INT(pg_long("SELECT count(*) FROM scores WHERE board_id LIKE 'sp-%'"), 7);
    CHECK_INT(pg_long("SELECT count(*) FROM scores WHERE board_id LIKE 'sp-%' AND entry_id LIKE board_id || '/%'"), 7);
    /* Every stream is empty once written and applied. */
    CHECK_INT(it_redis_int("XLEN rk:{sp-best}:wb"), 0);
    CHECK_INT(it_redis_int("XLEN rk:{sp-sum}:wb"), 0);
}

static void a_stream_keeps_what_a_target_has_not_applied(void) {
    /* The global board "rebuilding" (a flag by hand): its applier waits. */
    char out[256];
    CHECK_INT(it_redis_cli("SET rk:{global}:rebuilding by-hand EX 60", out, sizeof(out)), 0);
    for (int i = 0; i < 20; i++) CHECK_INT(submit("sp-sum", 2, 1), RK_OK);
    /* The write-behind has them all; the stream still keeps them. */
    for (int i = 0; i < 200 && pg_long("SELECT count(*) FROM scores WHERE board_id LIKE 'sp-%'") < 27; i++)
        usleep(20000);
    CHECK_INT(pg_long("SELECT count(*) FROM scores WHERE board_id LIKE 'sp-%'"), 27);
    usleep(200000);
    CHECK_INT(it_redis_int("XLEN rk:{sp-sum}:wb"), 20);
    /* Not on the global board in Redis yet (a read now would be answered
     * from the history, which has them). */
    CHECK_INT(it_redis_int("ZCARD rk:{global}:all"), 2);
    CHECK_INT(it_redis_cli("DEL rk:{global}:rebuilding", out, sizeof(out)), 0);
    CHECK(wait_top("global", "sp-bob=75@1 sp-ann=65@2 sp-cat=20@3") >= 0);
    CHECK(caught_up());
    CHECK_INT(it_redis_int("XLEN rk:{sp-sum}:wb"), 0);
}

/* Two rankd's appliers may write a board's mirror in either order (on a
 * cluster the apply and the mirror are on different masters), so the
 * mirror can end behind what its target has applied. A quiet board then
 * has nothing new to apply, and the mirror must still catch up: else the
 * trim keeps those entries and the applier's backlog never reaches 0. */
static void a_mirror_left_behind_catches_up(void) {
    char out[256], old[128] = "", cmd[320];
    CHECK(caught_up());
    CHECK_INT(it_redis_cli("HGET rk:{sp-sum}:mirror global", old, sizeof(old)), 0);
    long before = pg_long("SELECT count(*) FROM scores WHERE board_id = 'sp-sum'");
    /* Without PostgreSQL the entries stay in the stream once applied. */
    CHECK_INT(system("rk-pg-stop >/dev/null"), 0);
    for (int i = 0; i < 5; i++) CHECK_INT(submit("sp-sum", 2, 1), RK_OK);
    for (int i = 0; i < 300; i++) {
        if (it_redis_cli("HGET rk:{sp-sum}:mirror global", out, sizeof(out)) == 0 && strcmp(out, old) != 0) break;
        usleep(20000);
    }
    CHECK(strcmp(out, old) != 0);
    /* The late write of another rankd's applier, then the write-behind's
     * trim, which keeps what the mirror says is not applied. */
    snprintf(cmd, sizeof(cmd), "HSET rk:{sp-sum}:mirror global %s", old);
    CHECK_INT(it_redis_cli(cmd, out, sizeof(out)), 0);
    CHECK_INT(system("rk-pg-start >/dev/null"), 0);
    for (int i = 0; i < 500 && pg_long("SELECT count(*) FROM scores WHERE board_id = 'sp-sum'") < before + 5; i++)
        usleep(20000);
    CHECK_INT(pg_long("SELECT count(*) FROM scores WHERE board_id = 'sp-sum'"), before + 5);
    /* Nothing new to apply on this quiet board, and still the backlog
     * ends, the mirror catches up and the trim takes the entries. */
    CHECK(caught_up());
    CHECK(it_redis_cli("HGET rk:{sp-sum}:mirror global", out, sizeof(out)) == 0 && strcmp(out, old) != 0);
    CHECK_INT(it_redis_int("XLEN rk:{sp-sum}:wb"), 0);
}

/* ---- two rankd, and rebuilds of the targets, under a writer */

typedef struct writer {
    rk_client *to[2];
    int n;
    atomic_int acked;
    atomic_int stop;
} writer;

/* +1 on sp-sum for dan, each with its own key, every one sent to both
 * rankd in turn (a retry that reaches the other one), until stopped. */
static void *write_ones(void *arg) {
    writer *w = arg;
    for (int i = 0; !atomic_load(&w->stop) && i < w->n; i++) {
        char idem[32];
        snprintf(idem, sizeof(idem), "sp-w%d", i);
        int ok = 0;
        for (int tries = 0; tries < 200 && !ok; tries++) {
            rk_status st;
            int rc = submit_to(w->to[(i + tries) % 2], "sp-sum", 3, 1, idem, &st);
            if (rc == RK_OK) {
                ok = 1;
            } else if (rc != RK_UNAVAILABLE && rc != RK_DEADLINE_EXCEEDED) {
                fprintf(stderr, "  writer %s: %s\n", idem, st.message);
                break;
            } else {
                usleep(20000);
            }
        }
        if (ok) {
            /* The same key again, on the other rankd: answered, not counted. */
            rk_status st;
            submit_to(w->to[(i + 1) % 2], "sp-sum", 3, 1, idem, &st);
            atomic_fetch_add(&w->acked, 1);
        }
    }
    return NULL;
}

static void two_rankd_and_rebuilds_count_each_change_once(void) {
    it_rankd other;
    if (it_rankd_spawn(&other, "sp-other", NULL) != 0) {
        CHECK(!"the second rankd did not start");
        return;
    }
    writer w = {.to = {c, other.client}, .n = 300};
    pthread_t t;
    pthread_create(&t, NULL, write_ones, &w);
    /* Both rankd apply the same streams meanwhile; the targets are rebuilt
     * from the history under the writer. */
    usleep(200000);
    CHECK_INT(rebuild("global"), RK_OK);
    CHECK_INT(rebuild("sp-both"), RK_OK);
    CHECK_INT(rebuild("global"), RK_OK);
    pthread_join(t, NULL);
    int acked = atomic_load(&w.acked);
    CHECK_INT(acked, 300);
    char want[256];
    snprintf(want, sizeof(want), "sp-dan=%d@1 sp-bob=75@2 sp-ann=65@3 sp-cat=20@4", acked);
    CHECK(wait_top("global", want) >= 0);
    snprintf(want, sizeof(want), "sp-dan=%d@1 sp-bob=75@2 sp-ann=65@3 sp-cat=20@4", acked);
    CHECK(wait_top("sp-both", want) >= 0);
    CHECK(caught_up());
    CHECK_INT(pg_long("SELECT count(*) FROM scores WHERE board_id = 'sp-sum' AND user_id = (SELECT id FROM users "
                      "WHERE username = 'sp-dan')"),
              acked);
    /* A rebuild from the history agrees with what was applied. */
    CHECK_INT(rebuild("global"), RK_OK);
    CHECK(wait_top("global", want) >= 0);
    it_rankd_stop(&other);
}

/* A player's total on the global board, read through Rank (-1: none). */
static int64_t global_of(const char *name) {
    Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rep = NULL;
    rk_status st;
    req.board_id = "global";
    req.username = (char *)name;
    int64_t v = rk_ranking_rank(c, &req, &rep, NULL, &st) == RK_OK && rep->entry ? rep->entry->score : -1;
    rk_reply_free(rep);
    return v;
}

static void a_global_total_beyond_the_range_is_kept_exactly(void) {
    /* Each board takes its value (neither leaves +-2^53); the global total
     * of both does, which in this layout cannot refuse the submission (the
     * board took it first) and which another order of the same changes
     * might not pass at all: it is kept exactly, ranked at 2^53 meanwhile,
     * and counted. */
    const int64_t limit = 9007199254740992LL; /* 2^53 */
    long before = it_redis_int("HGET rk:{global}:applied out_of_range");
    CHECK_INT(submit("sp-best", 4, limit - 10), RK_OK);
    CHECK(caught_up());
    CHECK_INT(global_of("sp-eve"), limit - 10);
    CHECK_INT(submit("sp-sum", 4, 100), RK_OK);
    CHECK(caught_up());
    CHECK_INT(global_of("sp-eve"), limit);
    CHECK_INT(it_redis_int("HGET rk:{global}:applied out_of_range"), before + 1);
    /* Back within the range: exact again, nothing lost on the way. */
    CHECK_INT(submit("sp-sum", 4, -200), RK_OK);
    CHECK(caught_up());
    CHECK_INT(global_of("sp-eve"), limit - 110);
    CHECK_INT(it_redis_int("HEXISTS rk:{global}:exact %lld", (long long)uid[4]), 0);
}

static void an_admin_change_reaches_the_global_board(void) {
    /* A removal leaves no stream entry: the global board is built again
     * from the history (rebuild_global_after). bob: sp-best 45 + sp-sum 30. */
    Rankd__RemoveEntryRequest rm = RANKD__REMOVE_ENTRY_REQUEST__INIT;
    Rankd__RemoveEntryReply *rmr = NULL;
    rk_call_opts o = it_opts(admin, NULL);
    rk_status st;
    o.deadline_ms = 30000;
    rm.board_id = "sp-best";
    rm.username = "sp-bob";
    rm.reason = "test";
    CHECK_INT(rk_moderation_remove_entry(c, &rm, &rmr, &o, &st), RK_OK);
    rk_reply_free(rmr);
    CHECK_INT(global_of("sp-bob"), 30);
    /* Deleting the aggregate frees its sources' streams from waiting for
     * it; deleting a board takes its values off the global board. */
    Rankd__DeleteBoardRequest del = RANKD__DELETE_BOARD_REQUEST__INIT;
    Rankd__Empty *e = NULL;
    del.board_id = "sp-both";
    del.reason = "test";
    CHECK_INT(rk_boards_delete_board(c, &del, &e, &o, &st), RK_OK);
    rk_reply_free(e);
    CHECK_INT(it_redis_int("HEXISTS rk:{sp-sum}:mirror sp-both"), 0);
    del.board_id = "sp-best";
    CHECK_INT(rk_boards_delete_board(c, &del, &e, &o, &st), RK_OK);
    rk_reply_free(e);
    CHECK_INT(global_of("sp-ann"), 15);   /* sp-sum's 15 */
    CHECK_INT(global_of("sp-eve"), -100); /* sp-sum's 100 - 200 */
    /* And the applier goes on from there. */
    CHECK_INT(submit("sp-sum", 0, 5), RK_OK);
    CHECK(caught_up());
    CHECK_INT(global_of("sp-ann"), 20);
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    it_create_board(c, admin, "sp-best", "sp", 0, RANKD__POLICY__POLICY_BEST, 0, 0);
    it_create_board(c, admin, "sp-sum", "sp", 0, RANKD__POLICY__POLICY_SUM, 0, 0);
    it_create_board(c, admin, "sp-time", "sp", 1, RANKD__POLICY__POLICY_BEST, 0, 0);
    key = it_api_key(c, admin, "sp");
    for (int i = 0; i < PLAYERS; i++) uid[i] = it_sign_up(c, names[i], "password-123");
    RUN(global_and_aggregate_follow_the_boards);
    RUN(the_history_has_every_board_stream);
    RUN(a_stream_keeps_what_a_target_has_not_applied);
    RUN(two_rankd_and_rebuilds_count_each_change_once);
    RUN(a_global_total_beyond_the_range_is_kept_exactly);
    RUN(an_admin_change_reaches_the_global_board);
    RUN(a_mirror_left_behind_catches_up);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
