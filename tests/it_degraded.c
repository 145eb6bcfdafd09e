/* Journey 9, Redis down: rankd keeps answering from PostgreSQL and says it
 * is degraded; submissions keep being accepted (and a retried one is still
 * counted once); when Redis returns rankd replays them by itself, in
 * order with what arrives meanwhile, and the best, sum and latest boards
 * equal a reference computed from everything acknowledged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

#define PLAYERS 12

static rk_client *c;
static char *admin, *key;
static int64_t uid[PLAYERS];
static int64_t best[PLAYERS], total[PLAYERS], last[PLAYERS]; /* reference: best, sum and latest boards */

/* Submits one score to the three boards; updates the reference when
 * acknowledged (and not a retry answered from its first answer). */
static int submit(int p, int64_t score, const char *idem, rk_status *st) {
    Rankd__SubmitBatchRequest req = RANKD__SUBMIT_BATCH_REQUEST__INIT;
    Rankd__BatchEntry e[3], *ep[3] = {&e[0], &e[1], &e[2]};
    char k[3][64];
    const char *boards[] = {"dg-best", "dg-sum", "dg-latest"};
    for (int i = 0; i < 3; i++) {
        snprintf(k[i], sizeof(k[i]), "%s-%d-%s", idem, p, boards[i]);
        rankd__batch_entry__init(&e[i]);
        e[i].board_id = (char *)boards[i];
        e[i].has_user_id = e[i].has_score = 1;
        e[i].user_id = uid[p];
        e[i].score = score;
        e[i].idempotency_key = k[i];
    }
    req.n_entries = 3;
    req.entries = ep;
    Rankd__SubmitBatchReply *rep = NULL;
    rk_call_opts o = it_opts(key, NULL);
    int rc = rk_scores_submit_batch(c, &req, &rep, &o, st);
    for (int i = 0; rc == RK_OK && i < 3; i++) rc = (int)rep->results[i]->code;
    if (rc == RK_OK) {
        if (!rep->results[0]->reply->replayed && score > best[p]) best[p] = score;
        if (!rep->results[1]->reply->replayed) total[p] += score;
        if (!rep->results[2]->reply->replayed) last[p] = score;
    }
    rk_reply_free(rep);
    return rc;
}

/* The board must hold exactly the reference's scores, ranked by them. */
static void check_board(const char *board, const int64_t *ref, int want_degraded) {
    Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    req.has_limit = 1;
    req.limit = 100;
    CHECK_INT(rk_ranking_top(c, &req, &rep, NULL, &st), RK_OK);
    CHECK_INT(st.degraded, want_degraded);
    if (rep == NULL) return;
    int ranked = 0;
    for (int p = 0; p < PLAYERS; p++) ranked += ref[p] > 0;
    CHECK_INT(ranked, PLAYERS);
    CHECK_INT(rep->n_entries, ranked);
    CHECK_INT(rep->board_size, ranked);
    for (size_t i = 0; i < rep->n_entries; i++) {
        int p = 0;
        while (p < PLAYERS && uid[p] != rep->entries[i]->user_id) p++;
        if (p == PLAYERS) {
            CHECK(!"unknown player listed");
            continue;
        }
        CHECK_INT(rep->entries[i]->score, ref[p]);
        int64_t better = 0;
        for (int q = 0; q < PLAYERS; q++) better += ref[q] > ref[p];
        CHECK_INT(rep->entries[i]->rank, better + 1);
    }
    rk_reply_free(rep);
}

/* A page read from PostgreSQL is exactly that slice of the whole ranking
 * (each page is ranked on its own), in every rank mode, and Count agrees. */
static void check_page(const char *board, uint32_t offset, uint32_t limit) {
    static const Rankd__RankMode modes[] = {RANKD__RANK_MODE__RANK_COMPETITION, RANKD__RANK_MODE__RANK_DENSE,
                                            RANKD__RANK_MODE__RANK_UNIQUE};
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
        Rankd__RankListReply *all = NULL, *page = NULL;
        rk_status st;
        req.board_id = (char *)board;
        req.has_limit = req.has_rank_mode = 1;
        req.rank_mode = modes[m];
        req.limit = 100;
        CHECK_INT(rk_ranking_top(c, &req, &all, NULL, &st), RK_OK);
        req.has_offset = 1;
        req.offset = offset;
        req.limit = limit;
        CHECK_INT(rk_ranking_top(c, &req, &page, NULL, &st), RK_OK);
        CHECK_INT(st.degraded, 1);
        if (all && page) {
            CHECK_INT(page->board_size, all->board_size);
            size_t want = offset >= all->n_entries ? 0 : all->n_entries - offset;
            if (want > limit) want = limit;
            CHECK_INT(page->n_entries, want);
            for (size_t i = 0; i < page->n_entries && i < want; i++) {
                CHECK_INT(page->entries[i]->user_id, all->entries[offset + i]->user_id);
                CHECK_INT(page->entries[i]->score, all->entries[offset + i]->score);
                CHECK_INT(page->entries[i]->rank, all->entries[offset + i]->rank);
            }
        }
        rk_reply_free(all);
        rk_reply_free(page);
    }
    Rankd__CountRequest cr = RANKD__COUNT_REQUEST__INIT;
    Rankd__CountReply *count = NULL;
    rk_status st;
    cr.board_id = (char *)board;
    CHECK_INT(rk_ranking_count(c, &cr, &count, NULL, &st), RK_OK);
    if (count) CHECK_INT(count->count, PLAYERS);
    rk_reply_free(count);
}

static int64_t status_field(int which) {
    Rankd__Empty e = RANKD__EMPTY__INIT;
    Rankd__ServerStatus *s = NULL;
    rk_status st;
    int64_t v = -1;
    if (rk_admin_status(c, &e, &s, NULL, &st) == RK_OK) {
        v = which == 0   ? (s->has_writebehind_backlog ? s->writebehind_backlog : -1)
            : which == 1 ? s->degraded
                         : (s->has_redis_backlog ? s->redis_backlog : -1);
    }
    rk_reply_free(s);
    return v;
}

static void redis_down_then_back(void) {
    rk_status st;
    for (int p = 0; p < PLAYERS; p++) CHECK_INT(submit(p, 100 + p * 10, "a", &st), RK_OK);
    for (int i = 0; i < 100 && status_field(0) != 0; i++) usleep(100000); /* history written */
    CHECK_INT(status_field(0), 0);

    CHECK_INT(system("rk-redis-stop >/dev/null"), 0);
    /* Accepted without Redis, and said so; a lower score after a higher
     * one sets the latest board apart from the best. */
    for (int p = 0; p < PLAYERS; p += 2) {
        CHECK_INT(submit(p, 500 + p, "b", &st), RK_OK);
        CHECK_INT(st.degraded, 1);
        CHECK_INT(submit(p, 50 + p, "d", &st), RK_OK);
    }
    /* A retry of the same submissions counts once. */
    CHECK_INT(submit(0, 500, "b", &st), RK_OK);
    /* Queries come from PostgreSQL, and they already see the new scores. */
    check_board("dg-best", best, 1);
    check_board("dg-sum", total, 1);
    check_board("dg-latest", last, 1);
    check_page("dg-best", 3, 4);
    check_page("dg-sum", 0, 5);
    check_page("dg-latest", 10, 10); /* runs past the end */
    check_page("dg-best", 50, 3);    /* starts past the end */
    CHECK_INT(status_field(1), 1);
    CHECK(status_field(2) > 0);
    /* Reads of other kinds work too. */
    Rankd__RankRequest rr = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rank = NULL;
    rr.board_id = "dg-best";
    rr.has_user_id = 1;
    rr.user_id = uid[2];
    CHECK_INT(rk_ranking_rank(c, &rr, &rank, NULL, &st), RK_OK);
    if (rank) CHECK_INT(rank->entry->score, best[2]);
    rk_reply_free(rank);

    CHECK_INT(system("rk-redis-start >/dev/null"), 0);
    /* Submitted while rankd catches up: they come after the replayed ones. */
    for (int p = 0; p < PLAYERS; p += 4) CHECK_INT(submit(p, 7 + p, "e", &st), RK_OK);
    /* rankd catches up by itself. */
    int caught_up = 0;
    for (int i = 0; i < 300 && !caught_up; i++) {
        caught_up = status_field(1) == 0 && status_field(2) == 0;
        if (!caught_up) usleep(100000);
    }
    CHECK(caught_up);
    for (int p = 1; p < PLAYERS; p += 2) CHECK_INT(submit(p, 900 + p, "c", &st), RK_OK);
    check_board("dg-best", best, 0);
    check_board("dg-sum", total, 0);
    check_board("dg-latest", last, 0);
}

int main(void) {
    c = it_client();
    rk_client_set_deadline(c, 15000);
    admin = it_admin_token(c);
    it_create_board(c, admin, "dg-best", "dg", 0, RANKD__POLICY__POLICY_BEST, 0, 0);
    it_create_board(c, admin, "dg-sum", "dg", 0, RANKD__POLICY__POLICY_SUM, 0, 0);
    it_create_board(c, admin, "dg-latest", "dg", 0, RANKD__POLICY__POLICY_LATEST, 0, 0);
    key = it_api_key(c, admin, "dg");
    for (int p = 0; p < PLAYERS; p++) {
        char name[16];
        snprintf(name, sizeof(name), "dg-%d", p);
        uid[p] = it_sign_up(c, name, "password-123");
    }
    RUN(redis_down_then_back);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
