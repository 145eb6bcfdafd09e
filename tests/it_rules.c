/* The ranking rules of docs/ARCHITECTURE.md at their edges, each checked
 * three ways: on the live board (Top, Rank), in a report PostgreSQL
 * computes from the history, and after Admin/Rebuild. All three must give
 * the same players in the same order with the same values.
 *   - A latest board: a repeat of the same score keeps the tie time of
 *     the first submission of that score; a different score resets it. A
 *     submission older than a repeat is recorded but changes nothing,
 *     before and after a rebuild.
 *   - Sums are checked exactly at +-2^53 (one past it is refused, on a
 *     board and on the global board), not on a total already rounded.
 *   - The global board: a player's first 0 on another board leaves their
 *     total, and so their place, as it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

#define MAX_ROWS 64
#define LIMIT 9007199254740992LL /* 2^53 */

static rk_client *c;
static char *admin, *key;

typedef struct listing {
    size_t n;
    int64_t size;
    int64_t user[MAX_ROWS], score[MAX_ROWS], rank[MAX_ROWS];
} listing;

static int submit_via(rk_client *via, const char *board, int64_t user, int64_t score, int64_t *now) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(key, NULL);
    req.board_id = (char *)board;
    req.has_user_id = req.has_score = 1;
    req.user_id = user;
    req.score = score;
    int rc = rk_scores_submit(via, &req, &rep, &o, &st);
    if (now) *now = rep ? rep->score : -1;
    rk_reply_free(rep);
    return rc;
}

static int submit(const char *board, int64_t user, int64_t score) { return submit_via(c, board, user, score, NULL); }

static void live_top(const char *board, Rankd__Window w, listing *out) {
    Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    req.has_window = req.has_limit = 1;
    req.window = w;
    req.limit = MAX_ROWS;
    memset(out, 0, sizeof(*out));
    CHECK_INT(rk_ranking_top(c, &req, &rep, NULL, &st), RK_OK);
    if (rep == NULL) return;
    out->size = rep->board_size;
    for (size_t i = 0; i < rep->n_entries && i < MAX_ROWS; i++, out->n++) {
        out->user[i] = rep->entries[i]->user_id;
        out->score[i] = rep->entries[i]->score;
        out->rank[i] = rep->entries[i]->rank;
    }
    rk_reply_free(rep);
}

/* The player's all-time score and rank on the live board. */
static void live_rank(rk_client *via, const char *board, int64_t user, int64_t *score, int64_t *rank) {
    Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    req.has_user_id = 1;
    req.user_id = user;
    *score = *rank = -1;
    CHECK_INT(rk_ranking_rank(via, &req, &rep, NULL, &st), RK_OK);
    if (rep && rep->entry) {
        *score = rep->entry->score;
        *rank = rep->entry->rank;
    }
    rk_reply_free(rep);
}

/* Waits until every accepted submission is in PostgreSQL. */
static void wait_written(void) {
    for (int i = 0; i < 200; i++) {
        Rankd__Empty e = RANKD__EMPTY__INIT;
        Rankd__ServerStatus *s = NULL;
        rk_status st;
        int64_t backlog = -1;
        if (rk_admin_status(c, &e, &s, NULL, &st) == RK_OK && s->has_writebehind_backlog)
            backlog = s->writebehind_backlog;
        rk_reply_free(s);
        if (backlog == 0) return;
        usleep(100000);
    }
    CHECK(!"write-behind did not drain");
}

/* All time from PostgreSQL: a period that is no window. */
static void history_report(const char *board, listing *out) {
    Rankd__ReportRequest req = RANKD__REPORT_REQUEST__INIT;
    Rankd__ReportReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    req.has_from = req.has_to = req.has_limit = 1;
    req.from = 1;
    req.to = (int64_t)time(NULL) + 86400;
    req.limit = MAX_ROWS;
    memset(out, 0, sizeof(*out));
    wait_written();
    CHECK_INT(rk_history_report(c, &req, &rep, NULL, &st), RK_OK);
    if (rep == NULL) return;
    CHECK_STR(rep->source, "postgres");
    out->size = rep->board_size;
    for (size_t i = 0; i < rep->n_entries && i < MAX_ROWS; i++, out->n++) {
        out->user[i] = rep->entries[i]->user_id;
        out->score[i] = rep->entries[i]->score;
        out->rank[i] = rep->entries[i]->rank;
    }
    rk_reply_free(rep);
}

static void rebuild(const char *board) {
    Rankd__RebuildRequest req = RANKD__REBUILD_REQUEST__INIT;
    Rankd__RebuildReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(admin, NULL);
    req.board_id = (char *)board;
    CHECK_INT(rk_admin_rebuild(c, &req, &rep, &o, &st), RK_OK);
    rk_reply_free(rep);
}

static int same(const listing *want, const listing *got, const char *what) {
    if (want->n != got->n || want->size != got->size) {
        fprintf(stderr, "  %s: %zu of %lld, expected %zu of %lld\n", what, got->n, (long long)got->size, want->n,
                (long long)want->size);
        return 0;
    }
    for (size_t i = 0; i < want->n; i++)
        if (want->user[i] != got->user[i] || want->score[i] != got->score[i] || want->rank[i] != got->rank[i]) {
            fprintf(stderr, "  %s: place %zu is %lld/%lld/%lld, expected %lld/%lld/%lld\n", what, i + 1,
                    (long long)got->user[i], (long long)got->score[i], (long long)got->rank[i],
                    (long long)want->user[i], (long long)want->score[i], (long long)want->rank[i]);
            return 0;
        }
    return 1;
}

/* The live all-time board, the history's report and the rebuilt board
 * agree. */
static void history_and_rebuild_agree(const char *board) {
    listing live, hist, rebuilt;
    char what[96];
    live_top(board, RANKD__WINDOW__WINDOW_ALL_TIME, &live);
    history_report(board, &hist);
    snprintf(what, sizeof(what), "%s: report from the history", board);
    CHECK(same(&live, &hist, what));
    rebuild(board);
    live_top(board, RANKD__WINDOW__WINDOW_ALL_TIME, &rebuilt);
    snprintf(what, sizeof(what), "%s: after a rebuild", board);
    CHECK(same(&live, &rebuilt, what));
}

/* The place (0-based) of user in a listing, or -1. */
static int place_of(const listing *l, int64_t user) {
    for (size_t i = 0; i < l->n; i++)
        if (l->user[i] == user) return (int)i;
    return -1;
}

/* ------------------------------------------------------------------ tests */

static void latest_repeat_keeps_tie_time(void) {
    const char *b = "ru-latest";
    int64_t a = it_sign_up(c, "ru-lat-a", "password-123"), z = it_sign_up(c, "ru-lat-b", "password-123");
    listing l;
    int64_t score, rank;

    CHECK_INT(submit(b, a, 10), RK_OK);
    CHECK_INT(submit(b, z, 10), RK_OK);
    CHECK_INT(submit(b, a, 10), RK_OK); /* a repeat: a reached 10 first */
    live_top(b, RANKD__WINDOW__WINDOW_ALL_TIME, &l);
    CHECK_INT(l.n, 2);
    CHECK_INT(l.user[0], a);
    CHECK_INT(l.user[1], z);
    live_top(b, RANKD__WINDOW__WINDOW_DAILY, &l);
    CHECK_INT(l.n, 2);
    CHECK_INT(l.user[0], a);
    live_rank(c, b, a, &score, &rank);
    CHECK_INT(score, 10);
    CHECK_INT(rank, 1);
    history_and_rebuild_agree(b);
    /* The rebuilt board still keeps the tie time through a repeat. */
    CHECK_INT(submit(b, a, 10), RK_OK);
    live_top(b, RANKD__WINDOW__WINDOW_ALL_TIME, &l);
    CHECK_INT(l.user[0], a);

    /* A different score resets it: a reaches 10 again, after z. */
    CHECK_INT(submit(b, a, 20), RK_OK);
    CHECK_INT(submit(b, a, 10), RK_OK);
    live_top(b, RANKD__WINDOW__WINDOW_ALL_TIME, &l);
    CHECK_INT(l.n, 2);
    CHECK_INT(l.user[0], z);
    CHECK_INT(l.user[1], a);
    live_top(b, RANKD__WINDOW__WINDOW_DAILY, &l);
    CHECK_INT(l.user[0], z);
    history_and_rebuild_agree(b);
}

/* "Latest" is by submit time, not by tie time: after a repeat, a
 * submission older than the repeat (from a rankd whose clock is behind)
 * changes nothing, live and on a board rebuilt from the history. */
static void older_than_a_repeat_changes_nothing(void) {
    const char *live = "ru-latest2", *rebuilt = "ru-latest3";
    int64_t a = it_sign_up(c, "ru-late-a", "password-123");
    int64_t now, score, rank;
    it_rankd ahead;
    char arg[48];
    snprintf(arg, sizeof(arg), "--clock-start=%lld", (long long)time(NULL) + 6);
    if (it_rankd_spawn(&ahead, "ahead", arg) != 0) {
        CHECK(!"the second rankd started");
        return;
    }
    CHECK_INT(submit_via(ahead.client, live, a, 20, &now), RK_OK);
    CHECK_INT(submit_via(ahead.client, rebuilt, a, 20, &now), RK_OK);
    sleep(7); /* this rankd's clock passes the first 20s, not the repeats */
    CHECK_INT(submit_via(ahead.client, live, a, 20, &now), RK_OK);
    CHECK_INT(submit_via(ahead.client, rebuilt, a, 20, &now), RK_OK);

    CHECK_INT(submit_via(c, live, a, 15, &now), RK_OK);
    CHECK_INT(now, 20);
    live_rank(c, live, a, &score, &rank);
    CHECK_INT(score, 20);

    history_and_rebuild_agree(rebuilt);
    CHECK_INT(submit_via(c, rebuilt, a, 15, &now), RK_OK);
    CHECK_INT(now, 20);
    live_rank(c, rebuilt, a, &score, &rank);
    CHECK_INT(score, 20);
    CHECK_INT(it_rankd_stop(&ahead), 0);
}

static void sums_are_checked_exactly_at_the_limit(void) {
    const char *b = "ru-sum", *b2 = "ru-sum2";
    int64_t a = it_sign_up(c, "ru-sum-a", "password-123"), z = it_sign_up(c, "ru-sum-b", "password-123"),
            n = it_sign_up(c, "ru-sum-n", "password-123");
    int64_t now, score, rank;

    /* 2^53 - 1 + 2 is one past the limit. */
    CHECK_INT(submit_via(c, b, a, LIMIT - 1, &now), RK_OK);
    CHECK_INT(now, LIMIT - 1);
    CHECK_INT(submit(b, a, 2), RK_OUT_OF_RANGE);
    live_rank(c, b, a, &score, &rank);
    CHECK_INT(score, LIMIT - 1);
    /* Down from the limit and back up to it is fine. */
    CHECK_INT(submit_via(c, b, z, LIMIT, &now), RK_OK);
    CHECK_INT(submit_via(c, b, z, -1, &now), RK_OK);
    CHECK_INT(now, LIMIT - 1);
    CHECK_INT(submit_via(c, b, z, 1, &now), RK_OK);
    CHECK_INT(now, LIMIT);
    /* The negative side: -(2^53 - 1) - 2. */
    CHECK_INT(submit_via(c, b, n, -(LIMIT - 1), &now), RK_OK);
    CHECK_INT(submit(b, n, -2), RK_OUT_OF_RANGE);
    live_rank(c, b, n, &score, &rank);
    CHECK_INT(score, -(LIMIT - 1));

    /* The global board: each board's total is fine, the sum is not. The
     * split layout (a cluster's) cannot refuse for the global total: the
     * board takes the submission before the global board hears of it, and
     * the global board keeps such a total exactly, ranked at +-2^53
     * (ARCHITECTURE.md, Layouts; tests/it_split.c checks that). There the
     * sums that pass the limit are not sent, and the rest is the same. */
    int split = it_split_layout();
    if (!split) {
        CHECK_INT(submit(b2, z, 1), RK_OUT_OF_RANGE);
        CHECK_INT(submit(b2, n, -2), RK_OUT_OF_RANGE);
    }
    CHECK_INT(submit(b2, a, 1), RK_OK);
    CHECK(it_settled(c));
    live_rank(c, "global", a, &score, &rank);
    CHECK_INT(score, LIMIT);
    live_rank(c, "global", z, &score, &rank);
    CHECK_INT(score, LIMIT);
    live_rank(c, "global", n, &score, &rank);
    CHECK_INT(score, -(LIMIT - 1));
    if (!split) CHECK_INT(submit(b2, a, 1), RK_OUT_OF_RANGE);

    history_and_rebuild_agree(b);
    history_and_rebuild_agree(b2);
    history_and_rebuild_agree("global");
}

static void first_zero_elsewhere_keeps_global_place(void) {
    int64_t a = it_sign_up(c, "ru-g-a", "password-123"), z = it_sign_up(c, "ru-g-b", "password-123");
    listing l;

    CHECK_INT(submit("ru-g-best", a, 10), RK_OK);
    CHECK_INT(submit("ru-g-best", z, 10), RK_OK);
    /* a's first score on each other kind of board is 0: the total stays
     * 10, reached before z's. */
    CHECK_INT(submit("ru-g-sum", a, 0), RK_OK);
    CHECK_INT(submit("ru-g-latest", a, 0), RK_OK);
    CHECK_INT(submit("ru-g-best2", a, 0), RK_OK);
    CHECK(it_settled(c)); /* the split layout applies the global board a moment later */
    live_top("global", RANKD__WINDOW__WINDOW_ALL_TIME, &l);
    CHECK(place_of(&l, a) >= 0 && place_of(&l, a) < place_of(&l, z));
    history_and_rebuild_agree("global");

    /* A 0 that changes a board's value does change the total's time: 5
     * then 0 on the latest board, and a reaches 10 again after z. */
    CHECK_INT(submit("ru-g-latest", a, 5), RK_OK);
    CHECK_INT(submit("ru-g-latest", a, 0), RK_OK);
    CHECK(it_settled(c)); /* the split layout applies the global board a moment later */
    live_top("global", RANKD__WINDOW__WINDOW_ALL_TIME, &l);
    CHECK(place_of(&l, z) >= 0 && place_of(&l, z) < place_of(&l, a));
    history_and_rebuild_agree("global");
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    const unsigned day = 1u << RANKD__WINDOW__WINDOW_DAILY;
    CHECK_INT(it_create_board(c, admin, "ru-latest", "ru", 0, RANKD__POLICY__POLICY_LATEST, day, 0), RK_OK);
    CHECK_INT(it_create_board(c, admin, "ru-latest2", "ru", 0, RANKD__POLICY__POLICY_LATEST, 0, 0), RK_OK);
    CHECK_INT(it_create_board(c, admin, "ru-latest3", "ru", 0, RANKD__POLICY__POLICY_LATEST, 0, 0), RK_OK);
    CHECK_INT(it_create_board(c, admin, "ru-sum", "ru", 0, RANKD__POLICY__POLICY_SUM, 0, 0), RK_OK);
    CHECK_INT(it_create_board(c, admin, "ru-sum2", "ru", 0, RANKD__POLICY__POLICY_SUM, 0, 0), RK_OK);
    CHECK_INT(it_create_board(c, admin, "ru-g-best", "ru", 0, RANKD__POLICY__POLICY_BEST, 0, 0), RK_OK);
    CHECK_INT(it_create_board(c, admin, "ru-g-best2", "ru", 0, RANKD__POLICY__POLICY_BEST, 0, 0), RK_OK);
    CHECK_INT(it_create_board(c, admin, "ru-g-sum", "ru", 0, RANKD__POLICY__POLICY_SUM, 0, 0), RK_OK);
    CHECK_INT(it_create_board(c, admin, "ru-g-latest", "ru", 0, RANKD__POLICY__POLICY_LATEST, 0, 0), RK_OK);
    key = it_api_key(c, admin, "ru");
    RUN(first_zero_elsewhere_keeps_global_place);
    RUN(latest_repeat_keeps_tie_time);
    RUN(older_than_a_repeat_changes_nothing);
    RUN(sums_are_checked_exactly_at_the_limit);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
