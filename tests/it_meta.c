/* Record metadata (journey: a racing game's server attaches
 * {"car":"rx7","replay":"r-8812"} to a lap time, and the top 10 shows each
 * time with its car). Against real Redis and PostgreSQL:
 *   - Top, Rank, Around, RanksOf and ScoreRange return each all-time
 *     entry's metadata; daily windows return none;
 *   - a best board keeps the submission that set the best (a worse or an
 *     equal one leaves it), a latest board the last one, a sum board the
 *     last one taken; a record without metadata has none;
 *   - metadata that is not a JSON object, or is larger than 1 KiB, is
 *     INVALID_ARGUMENT and changes nothing, and in a batch only that entry
 *     fails;
 *   - an idempotent retry gets the first answer and keeps the first meta;
 *   - History returns every submission's metadata;
 *   - a rebuild from the history, and a restore after Redis lost its data,
 *     give the same entries with the same metadata;
 *   - without Redis the submission keeps its metadata, in the history and
 *     after its replay into Redis, and reads answered from the history
 *     return the same metadata as Redis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

#define PLAYERS 4
#define WINDOWS_ALL_DAILY ((1u << RANKD__WINDOW__WINDOW_ALL_TIME) | (1u << RANKD__WINDOW__WINDOW_DAILY))

static rk_client *c;
static char *admin, *key;
static int64_t uid[PLAYERS];

static int submit(const char *board, int p, int64_t score, const char *meta, const char *idem, rk_status *st) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    req.board_id = (char *)board;
    req.has_user_id = req.has_score = 1;
    req.user_id = uid[p];
    req.score = score;
    req.meta = (char *)meta;
    rk_call_opts o = it_opts(key, idem);
    int rc = rk_scores_submit(c, &req, &rep, &o, st);
    rk_reply_free(rep);
    return rc;
}

/* "" for none, so a check can compare it with a string. */
static const char *meta_of(const Rankd__RankEntry *e) { return e && e->meta ? e->meta : ""; }

static Rankd__RankListReply *top(const char *board, Rankd__Window w) {
    Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    req.has_window = 1;
    req.window = w;
    req.has_limit = 1;
    req.limit = 10;
    CHECK_INT(rk_ranking_top(c, &req, &rep, NULL, &st), RK_OK);
    return rep;
}

static const Rankd__RankEntry *find(const Rankd__RankListReply *r, int p) {
    for (size_t i = 0; r && i < r->n_entries; i++)
        if (r->entries[i]->user_id == uid[p]) return r->entries[i];
    return NULL;
}

/* The player's entry on the all-time board by Rank: its meta ("" none). */
static void rank_meta(const char *board, int p, char *out, size_t cap) {
    Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    req.has_user_id = 1;
    req.user_id = uid[p];
    out[0] = '\0';
    if (rk_ranking_rank(c, &req, &rep, NULL, &st) == RK_OK && rep->entry)
        snprintf(out, cap, "%s", meta_of(rep->entry));
    else
        snprintf(out, cap, "(no entry: %s)", st.message);
    rk_reply_free(rep);
}

static void check_rank_meta(const char *board, int p, const char *want) {
    char got[1200];
    rank_meta(board, p, got, sizeof(got));
    CHECK_STR(got, want);
}

static void every_read_returns_the_meta(void) {
    rk_status st;
    CHECK_INT(submit("mt-best", 0, 100, "{\"car\":\"rx7\",\"replay\":\"r-8812\"}", NULL, &st), RK_OK);
    CHECK_INT(submit("mt-best", 1, 90, "{\"car\": \"supra\", \"laps\": [61.2, 60.9]}", NULL, &st), RK_OK);
    CHECK_INT(submit("mt-best", 2, 80, NULL, NULL, &st), RK_OK);

    Rankd__RankListReply *t = top("mt-best", RANKD__WINDOW__WINDOW_ALL_TIME);
    CHECK(t && t->n_entries == 3);
    CHECK_STR(meta_of(find(t, 0)), "{\"car\":\"rx7\",\"replay\":\"r-8812\"}");
    /* Kept byte for byte as sent, spaces included. */
    CHECK_STR(meta_of(find(t, 1)), "{\"car\": \"supra\", \"laps\": [61.2, 60.9]}");
    CHECK(find(t, 2) && find(t, 2)->meta == NULL);
    rk_reply_free(t);

    check_rank_meta("mt-best", 0, "{\"car\":\"rx7\",\"replay\":\"r-8812\"}");
    check_rank_meta("mt-best", 2, "");

    Rankd__AroundRequest ar = RANKD__AROUND_REQUEST__INIT;
    Rankd__RankListReply *a = NULL;
    ar.board_id = "mt-best";
    ar.has_user_id = 1;
    ar.user_id = uid[1];
    CHECK_INT(rk_ranking_around(c, &ar, &a, NULL, &st), RK_OK);
    CHECK_STR(meta_of(find(a, 0)), "{\"car\":\"rx7\",\"replay\":\"r-8812\"}");
    CHECK_STR(meta_of(find(a, 1)), "{\"car\": \"supra\", \"laps\": [61.2, 60.9]}");
    rk_reply_free(a);

    Rankd__RanksOfRequest ro = RANKD__RANKS_OF_REQUEST__INIT;
    Rankd__RankListReply *r = NULL;
    int64_t ids[] = {uid[2], uid[0], uid[3]}; /* player 3 has no score */
    ro.board_id = "mt-best";
    ro.n_user_ids = 3;
    ro.user_ids = ids;
    CHECK_INT(rk_ranking_ranks_of(c, &ro, &r, NULL, &st), RK_OK);
    CHECK(find(r, 2) && find(r, 2)->meta == NULL);
    CHECK_STR(meta_of(find(r, 0)), "{\"car\":\"rx7\",\"replay\":\"r-8812\"}");
    CHECK(find(r, 3) == NULL || find(r, 3)->meta == NULL);
    rk_reply_free(r);

    Rankd__ScoreRangeRequest sr = RANKD__SCORE_RANGE_REQUEST__INIT;
    Rankd__RankListReply *s = NULL;
    sr.board_id = "mt-best";
    sr.has_min_score = sr.has_max_score = 1;
    sr.min_score = 85;
    sr.max_score = 95;
    CHECK_INT(rk_ranking_score_range(c, &sr, &s, NULL, &st), RK_OK);
    CHECK(s && s->n_entries == 1);
    CHECK_STR(meta_of(find(s, 1)), "{\"car\": \"supra\", \"laps\": [61.2, 60.9]}");
    rk_reply_free(s);

    /* The metadata belongs to the all-time record: a day's entries carry none. */
    Rankd__RankListReply *d = top("mt-best", RANKD__WINDOW__WINDOW_DAILY);
    CHECK(d && d->n_entries == 3);
    for (size_t i = 0; d && i < d->n_entries; i++) CHECK(d->entries[i]->meta == NULL);
    rk_reply_free(d);
}

static void best_board_keeps_the_best_submissions_meta(void) {
    rk_status st;
    CHECK_INT(submit("mt-best", 0, 50, "{\"car\":\"mini\"}", NULL, &st), RK_OK); /* worse */
    check_rank_meta("mt-best", 0, "{\"car\":\"rx7\",\"replay\":\"r-8812\"}");
    CHECK_INT(submit("mt-best", 0, 120, "{\"car\":\"gtr\"}", NULL, &st), RK_OK); /* better */
    check_rank_meta("mt-best", 0, "{\"car\":\"gtr\"}");
    CHECK_INT(submit("mt-best", 0, 120, "{\"car\":\"equal\"}", NULL, &st), RK_OK); /* equal: the first keeps it */
    check_rank_meta("mt-best", 0, "{\"car\":\"gtr\"}");
    CHECK_INT(submit("mt-best", 0, 130, NULL, NULL, &st), RK_OK); /* better, without any */
    check_rank_meta("mt-best", 0, "");
    CHECK_INT(submit("mt-best", 0, 140, "{\"car\":\"rx7\",\"replay\":\"r-9001\"}", NULL, &st), RK_OK);
    check_rank_meta("mt-best", 0, "{\"car\":\"rx7\",\"replay\":\"r-9001\"}");
}

static void latest_and_sum_keep_the_last(void) {
    rk_status st;
    CHECK_INT(submit("mt-latest", 0, 100, "{\"lap\":1}", NULL, &st), RK_OK);
    CHECK_INT(submit("mt-latest", 0, 50, "{\"lap\":2}", NULL, &st), RK_OK);
    check_rank_meta("mt-latest", 0, "{\"lap\":2}");
    CHECK_INT(submit("mt-latest", 0, 50, "{\"lap\":3}", NULL, &st), RK_OK); /* a repeat is the last one too */
    check_rank_meta("mt-latest", 0, "{\"lap\":3}");
    CHECK_INT(submit("mt-latest", 1, 70, "{\"lap\":9}", NULL, &st), RK_OK);
    CHECK_INT(submit("mt-latest", 1, 75, NULL, NULL, &st), RK_OK);
    check_rank_meta("mt-latest", 1, "");

    CHECK_INT(submit("mt-sum", 0, 10, "{\"match\":1}", NULL, &st), RK_OK);
    CHECK_INT(submit("mt-sum", 0, 5, "{\"match\":2}", NULL, &st), RK_OK);
    check_rank_meta("mt-sum", 0, "{\"match\":2}");
    CHECK_INT(submit("mt-sum", 0, 0, "{\"match\":3}", NULL, &st), RK_OK); /* changes no value, still the last */
    check_rank_meta("mt-sum", 0, "{\"match\":3}");
    CHECK_INT(submit("mt-sum", 1, 7, "{\"match\":4}", NULL, &st), RK_OK);
    Rankd__RankListReply *t = top("mt-sum", RANKD__WINDOW__WINDOW_ALL_TIME);
    CHECK(find(t, 0) && find(t, 0)->score == 15);
    CHECK_STR(meta_of(find(t, 0)), "{\"match\":3}");
    CHECK_STR(meta_of(find(t, 1)), "{\"match\":4}");
    rk_reply_free(t);
}

static void bad_meta_is_refused_and_changes_nothing(void) {
    rk_status st;
    static char big[1100];
    memset(big, ' ', sizeof(big) - 1);
    big[0] = '{';
    big[1025] = '}'; /* 1026 bytes: a valid object, too large */
    big[1026] = '\0';
    static char edge[1100];
    memset(edge, ' ', 1024);
    edge[0] = '{';
    edge[1023] = '}'; /* exactly 1024 bytes */
    edge[1024] = '\0';

    CHECK_INT(submit("mt-best", 1, 500, "not json", NULL, &st), RK_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "meta must be a JSON object") != NULL);
    CHECK_INT(submit("mt-best", 1, 500, "[1,2]", NULL, &st), RK_INVALID_ARGUMENT);
    CHECK_INT(submit("mt-best", 1, 500, "{\"a\":1,}", NULL, &st), RK_INVALID_ARGUMENT);
    CHECK_INT(submit("mt-best", 1, 500, big, NULL, &st), RK_INVALID_ARGUMENT);
    CHECK_STR(st.message, "meta must be at most 1024 bytes");
    /* Nothing was written: the score and the meta are the old ones. */
    Rankd__RankListReply *t = top("mt-best", RANKD__WINDOW__WINDOW_ALL_TIME);
    CHECK(find(t, 1) && find(t, 1)->score == 90);
    CHECK_STR(meta_of(find(t, 1)), "{\"car\": \"supra\", \"laps\": [61.2, 60.9]}");
    rk_reply_free(t);

    /* In a batch only the bad entries fail. */
    Rankd__SubmitBatchRequest req = RANKD__SUBMIT_BATCH_REQUEST__INIT;
    Rankd__BatchEntry e[5], *ep[5];
    const char *metas[5] = {"{\"car\":\"ae86\"}", "car=ae86", big, edge, "{\"a\":{\"b\":[true,false,null]}}"};
    int players[5] = {3, 1, 1, 2, 1};
    int want[5] = {RK_OK, RK_INVALID_ARGUMENT, RK_INVALID_ARGUMENT, RK_OK, RK_OK};
    for (int i = 0; i < 5; i++) {
        rankd__batch_entry__init(&e[i]);
        e[i].board_id = "mt-best";
        e[i].has_user_id = e[i].has_score = 1;
        e[i].user_id = uid[players[i]];
        e[i].score = 1000 + i;
        e[i].meta = (char *)metas[i];
        ep[i] = &e[i];
    }
    req.n_entries = 5;
    req.entries = ep;
    Rankd__SubmitBatchReply *rep = NULL;
    rk_call_opts o = it_opts(key, NULL);
    CHECK_INT(rk_scores_submit_batch(c, &req, &rep, &o, &st), RK_OK);
    CHECK(rep && rep->n_results == 5);
    for (size_t i = 0; rep && i < rep->n_results && i < 5; i++) CHECK_INT(rep->results[i]->code, want[i]);
    rk_reply_free(rep);
    check_rank_meta("mt-best", 3, "{\"car\":\"ae86\"}");
    check_rank_meta("mt-best", 2, edge);
    check_rank_meta("mt-best", 1, "{\"a\":{\"b\":[true,false,null]}}");
}

static void a_retry_keeps_the_first_answer_and_meta(void) {
    rk_status st;
    CHECK_INT(submit("mt-latest", 2, 42, "{\"try\":1}", "lap-42", &st), RK_OK);
    CHECK_INT(submit("mt-latest", 2, 42, "{\"try\":2}", "lap-42", &st), RK_OK);
    check_rank_meta("mt-latest", 2, "{\"try\":1}");
}

static void history_returns_each_submissions_meta(void) {
    CHECK(it_drained(c, admin));
    Rankd__HistoryRequest req = RANKD__HISTORY_REQUEST__INIT;
    Rankd__HistoryReply *rep = NULL;
    rk_status st;
    req.board_id = "mt-best";
    req.has_user_id = 1;
    req.user_id = uid[0];
    CHECK_INT(rk_history_history(c, &req, &rep, NULL, &st), RK_OK);
    /* Newest first: 140 r-9001, 130 none, 120 equal, 120 gtr, 50 mini, 100 rx7. */
    const char *want[] = {
        "{\"car\":\"rx7\",\"replay\":\"r-9001\"}", "", "{\"car\":\"equal\"}", "{\"car\":\"gtr\"}", "{\"car\":\"mini\"}",
        "{\"car\":\"rx7\",\"replay\":\"r-8812\"}"};
    CHECK(rep && rep->n_entries == 6);
    for (size_t i = 0; rep && i < rep->n_entries && i < 6; i++)
        CHECK_STR(rep->entries[i]->meta ? rep->entries[i]->meta : "", want[i]);
    rk_reply_free(rep);
}

/* Every board's all-time entries as "user score meta" lines, to compare;
 * by RanksOf, which no page cache answers. */
static void snapshot(char *out, size_t cap) {
    const char *boards[] = {"mt-best", "mt-latest", "mt-sum"};
    size_t n = 0;
    out[0] = '\0';
    for (int b = 0; b < 3; b++) {
        Rankd__RanksOfRequest req = RANKD__RANKS_OF_REQUEST__INIT;
        Rankd__RankListReply *t = NULL;
        rk_status st;
        req.board_id = (char *)boards[b];
        req.n_user_ids = PLAYERS;
        req.user_ids = uid;
        CHECK_INT(rk_ranking_ranks_of(c, &req, &t, NULL, &st), RK_OK);
        for (size_t i = 0; t && i < t->n_entries; i++)
            n += (size_t)snprintf(out + n, cap - n, "%s %lld %lld %s\n", boards[b], (long long)t->entries[i]->user_id,
                                  (long long)t->entries[i]->score, meta_of(t->entries[i]));
        rk_reply_free(t);
    }
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

static void a_rebuild_and_a_restore_give_the_same_meta(void) {
    static char before[8192], after[8192];
    CHECK(it_drained(c, admin));
    snapshot(before, sizeof(before));
    CHECK(strstr(before, "r-9001") != NULL && strstr(before, "{\"match\":3}") != NULL);
    /* A rebuild writes the metadata from the history, not from what Redis
     * holds: spoil it first. */
    char cmd[160], out[64];
    snprintf(cmd, sizeof(cmd), "HSET rk:{mt-best}:meta %lld {\"stale\":1}", (long long)uid[0]);
    CHECK_INT(it_redis_cli(cmd, out, sizeof(out)), 0);
    CHECK_INT(it_redis_cli("DEL rk:{mt-sum}:meta", out, sizeof(out)), 0);
    rebuild("mt-best");
    rebuild("mt-latest");
    rebuild("mt-sum");
    snapshot(after, sizeof(after));
    CHECK_STR(after, before);

    /* Redis loses everything; rankd restores the boards from the history. */
    CHECK_INT(it_redis_cli("FLUSHALL", out, sizeof(out)), 0);
    CHECK_STR(out, "OK");
    CHECK_INT(it_redis_cli("EXISTS rk:{mt-best}:meta", out, sizeof(out)), 0);
    CHECK_STR(out, "0");
    CHECK(it_drained(c, admin));
    int same = 0;
    for (int i = 0; i < 100 && !same; i++) {
        snapshot(after, sizeof(after));
        same = strcmp(after, before) == 0;
        if (!same) usleep(100000);
    }
    CHECK_STR(after, before);
}

static void without_redis_the_meta_is_kept(void) {
    rk_status st;
    CHECK(it_drained(c, admin));
    CHECK_INT(system("rk-redis-stop >/dev/null"), 0);
    CHECK_INT(submit("mt-best", 2, 5000, "{\"car\":\"degraded\"}", "dg-1", &st), RK_OK);
    CHECK_INT(st.degraded, 1);
    /* The history has it at once. */
    Rankd__HistoryRequest req = RANKD__HISTORY_REQUEST__INIT;
    Rankd__HistoryReply *rep = NULL;
    req.board_id = "mt-best";
    req.has_user_id = 1;
    req.user_id = uid[2];
    req.has_limit = 1;
    req.limit = 1;
    CHECK_INT(rk_history_history(c, &req, &rep, NULL, &st), RK_OK);
    CHECK(rep && rep->n_entries == 1);
    if (rep && rep->n_entries == 1) CHECK_STR(rep->entries[0]->meta, "{\"car\":\"degraded\"}");
    rk_reply_free(rep);
    /* Reads answered from the history carry the record's metadata too. */
    Rankd__RankListReply *t = top("mt-best", RANKD__WINDOW__WINDOW_ALL_TIME);
    CHECK_STR(meta_of(find(t, 2)), "{\"car\":\"degraded\"}");
    CHECK_STR(meta_of(find(t, 0)), "{\"car\":\"rx7\",\"replay\":\"r-9001\"}");
    CHECK_STR(meta_of(find(t, 1)), "{\"a\":{\"b\":[true,false,null]}}");
    rk_reply_free(t);
    check_rank_meta("mt-best", 3, "{\"car\":\"ae86\"}");
    check_rank_meta("mt-latest", 0, "{\"lap\":3}");
    check_rank_meta("mt-sum", 1, "{\"match\":4}");
    Rankd__RankListReply *d = top("mt-best", RANKD__WINDOW__WINDOW_DAILY);
    for (size_t i = 0; d && i < d->n_entries; i++) CHECK(d->entries[i]->meta == NULL);
    rk_reply_free(d);
    CHECK_INT(system("rk-redis-start >/dev/null"), 0);
    CHECK(it_drained(c, admin));
    /* Replayed into Redis with its metadata. */
    check_rank_meta("mt-best", 2, "{\"car\":\"degraded\"}");
}

int main(void) {
    c = it_client();
    rk_client_set_deadline(c, 15000);
    admin = it_admin_token(c);
    it_create_board(c, admin, "mt-best", "mt", 0, RANKD__POLICY__POLICY_BEST, WINDOWS_ALL_DAILY, 0);
    it_create_board(c, admin, "mt-latest", "mt", 0, RANKD__POLICY__POLICY_LATEST, 0, 0);
    it_create_board(c, admin, "mt-sum", "mt", 0, RANKD__POLICY__POLICY_SUM, 0, 0);
    key = it_api_key(c, admin, "mt");
    for (int p = 0; p < PLAYERS; p++) {
        char name[16];
        snprintf(name, sizeof(name), "mt-%d", p);
        uid[p] = it_sign_up(c, name, "password-123");
    }
    RUN(every_read_returns_the_meta);
    RUN(best_board_keeps_the_best_submissions_meta);
    RUN(latest_and_sum_keep_the_last);
    RUN(bad_meta_is_refused_and_changes_nothing);
    RUN(a_retry_keeps_the_first_answer_and_meta);
    RUN(history_returns_each_submissions_meta);
    RUN(a_rebuild_and_a_restore_give_the_same_meta);
    RUN(without_redis_the_meta_is_kept);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
