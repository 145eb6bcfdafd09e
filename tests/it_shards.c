/* Hot boards: a board created with shards = 4 spreads its players over
 * four sorted sets, and its ranks stay those of a plain board. Each
 * board has a plain twin fed the same submissions in the same order (the
 * hot one first, so the ties' times are in the same order on both): the
 * submissions' replies, Top pages (every rank mode), Rank, RanksOf,
 * Around and Count must agree, on a higher-is-better and a lower-is-better
 * pair, and again after the hot boards are rebuilt from the history,
 * after Redis lost everything, and in a new season. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

#define GAME "hs"
#define PLAYERS 37 /* not a multiple of 4: the shards differ in size */
#define SHARDS 4

static rk_client *c;
static char *admin, *key;
static int64_t uids[PLAYERS];

static const struct pair {
    const char *hot, *plain;
    int lower;
} pairs[] = {
    {.hot = "hs-hot", .plain = "hs-plain", .lower = 0},
    {.hot = "hs-hot-low", .plain = "hs-plain-low", .lower = 1},
};

static int create(const char *id, int lower, uint32_t shards) {
    Rankd__CreateBoardRequest req = RANKD__CREATE_BOARD_REQUEST__INIT;
    Rankd__Board b = RANKD__BOARD__INIT;
    Rankd__Window wins[] = {RANKD__WINDOW__WINDOW_DAILY};
    Rankd__BoardReply *rep = NULL;
    rk_status st;
    b.id = (char *)id;
    b.game = GAME;
    b.has_order = b.has_policy = 1;
    b.order = lower ? RANKD__ORDER__ORDER_LOWER_IS_BETTER : RANKD__ORDER__ORDER_HIGHER_IS_BETTER;
    b.policy = RANKD__POLICY__POLICY_BEST;
    b.n_windows = 1;
    b.windows = wins;
    b.has_shards = shards > 0;
    b.shards = shards;
    req.board = &b;
    rk_call_opts o = it_opts(admin, NULL);
    int rc = rk_boards_create_board(c, &req, &rep, &o, &st);
    if (rc == RK_OK) CHECK_INT(rep->board->shards, shards ? shards : 1);
    rk_reply_free(rep);
    return rc;
}

static void submit(const char *board, int64_t uid, int64_t score, int64_t *rank, int64_t *size, int64_t *prev) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(key, NULL);
    req.board_id = (char *)board;
    req.has_user_id = req.has_score = 1;
    req.user_id = uid;
    req.score = score;
    *rank = *size = *prev = -1;
    CHECK_INT(rk_scores_submit(c, &req, &rep, &o, &st), RK_OK);
    if (rep) {
        *rank = rep->rank;
        *size = rep->board_size;
        *prev = rep->has_previous_rank ? rep->previous_rank : 0;
    }
    rk_reply_free(rep);
}

/* Scores from a few values, so many players tie and their order is the
 * time each reached the score. */
static int64_t score_of(int round, int i) { return ((int64_t)(i * 7 + round * 3) % 9) * 10; }

static void feed(const struct pair *p) {
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < PLAYERS; i++) {
            int j = (i * 11 + round) % PLAYERS; /* an order unlike the ids' */
            int64_t hr, hs, hp, pr, ps, pp;
            int64_t s = score_of(round, j);
            submit(p->hot, uids[j], s, &hr, &hs, &hp);
            submit(p->plain, uids[j], s, &pr, &ps, &pp);
            CHECK_INT(hr, pr);
            CHECK_INT(hs, ps);
            CHECK_INT(hp, pp);
        }
}

static Rankd__RankListReply *top(const char *board, uint32_t offset, uint32_t limit, Rankd__RankMode mode, int window) {
    Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    req.has_offset = req.has_limit = req.has_rank_mode = 1;
    req.offset = offset;
    req.limit = limit;
    req.rank_mode = mode;
    req.has_window = window;
    req.window = RANKD__WINDOW__WINDOW_DAILY;
    CHECK_INT(rk_ranking_top(c, &req, &rep, NULL, &st), RK_OK);
    return rep;
}

/* Two lists of entries are the same: players, names, scores, ranks. */
static void same_list(const Rankd__RankListReply *a, const Rankd__RankListReply *b, const char *what) {
    CHECK(a && b);
    if (!a || !b) return;
    CHECK_INT(a->board_size, b->board_size);
    CHECK_INT((int64_t)a->n_entries, (int64_t)b->n_entries);
    for (size_t i = 0; i < a->n_entries && i < b->n_entries; i++) {
        const Rankd__RankEntry *x = a->entries[i], *y = b->entries[i];
        if (x->user_id != y->user_id || x->score != y->score || x->rank != y->rank ||
            strcmp(x->username ? x->username : "", y->username ? y->username : "") != 0)
            fprintf(stderr, "  %s, entry %zu: %lld %lld #%lld vs %lld %lld #%lld\n", what, i, (long long)x->user_id,
                    (long long)x->score, (long long)x->rank, (long long)y->user_id, (long long)y->score,
                    (long long)y->rank);
        CHECK_INT(x->user_id, y->user_id);
        CHECK_INT(x->score, y->score);
        CHECK_INT(x->rank, y->rank);
        CHECK_STR(x->username ? x->username : "", y->username ? y->username : "");
    }
}

static void same_tops(const struct pair *p) {
    static const Rankd__RankMode modes[] = {RANKD__RANK_MODE__RANK_COMPETITION, RANKD__RANK_MODE__RANK_DENSE,
                                            RANKD__RANK_MODE__RANK_UNIQUE};
    static const uint32_t pages[][2] = {{0, 100}, {0, 1}, {5, 7}, {30, 10}, {40, 5}};
    for (int w = 0; w < 2; w++)
        for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
            for (size_t g = 0; g < sizeof(pages) / sizeof(pages[0]); g++) {
                Rankd__RankListReply *a = top(p->hot, pages[g][0], pages[g][1], modes[m], w);
                Rankd__RankListReply *b = top(p->plain, pages[g][0], pages[g][1], modes[m], w);
                same_list(a, b, "top");
                rk_reply_free(a);
                rk_reply_free(b);
            }
}

static void same_ranks(const struct pair *p) {
    for (int i = 0; i < PLAYERS; i++)
        for (int m = 0; m < 2; m++) {
            Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
            Rankd__RankReply *a = NULL, *b = NULL;
            rk_status st;
            req.has_user_id = req.has_rank_mode = 1;
            req.user_id = uids[i];
            req.rank_mode = m ? RANKD__RANK_MODE__RANK_UNIQUE : RANKD__RANK_MODE__RANK_COMPETITION;
            req.board_id = (char *)p->hot;
            CHECK_INT(rk_ranking_rank(c, &req, &a, NULL, &st), RK_OK);
            req.board_id = (char *)p->plain;
            CHECK_INT(rk_ranking_rank(c, &req, &b, NULL, &st), RK_OK);
            CHECK(a && b && a->entry && b->entry);
            if (a && b && a->entry && b->entry) {
                CHECK_INT(a->entry->rank, b->entry->rank);
                CHECK_INT(a->entry->score, b->entry->score);
                CHECK_INT(a->board_size, b->board_size);
            }
            rk_reply_free(a);
            rk_reply_free(b);
        }
}

static void same_ranks_of(const struct pair *p) {
    int64_t ids[PLAYERS + 1];
    for (int i = 0; i < PLAYERS; i++) ids[i] = uids[(i * 5) % PLAYERS];
    ids[PLAYERS] = 999999; /* no such player: unranked on both */
    for (int m = 0; m < 2; m++) {
        Rankd__RanksOfRequest req = RANKD__RANKS_OF_REQUEST__INIT;
        Rankd__RankListReply *a = NULL, *b = NULL;
        rk_status st;
        req.n_user_ids = PLAYERS + 1;
        req.user_ids = ids;
        req.has_rank_mode = 1;
        req.rank_mode = m ? RANKD__RANK_MODE__RANK_UNIQUE : RANKD__RANK_MODE__RANK_COMPETITION;
        req.board_id = (char *)p->hot;
        CHECK_INT(rk_ranking_ranks_of(c, &req, &a, NULL, &st), RK_OK);
        req.board_id = (char *)p->plain;
        CHECK_INT(rk_ranking_ranks_of(c, &req, &b, NULL, &st), RK_OK);
        same_list(a, b, "ranks of");
        rk_reply_free(a);
        rk_reply_free(b);
    }
}

static void same_around(const struct pair *p) {
    static const uint32_t sides[][2] = {{3, 3}, {0, 5}, {10, 0}, {5, 5}};
    for (int i = 0; i < PLAYERS; i += 3)
        for (size_t s = 0; s < sizeof(sides) / sizeof(sides[0]); s++) {
            Rankd__AroundRequest req = RANKD__AROUND_REQUEST__INIT;
            Rankd__RankListReply *a = NULL, *b = NULL;
            rk_status st;
            req.has_user_id = req.has_above = req.has_below = req.has_rank_mode = 1;
            req.user_id = uids[i];
            req.above = sides[s][0];
            req.below = sides[s][1];
            req.rank_mode = s % 2 ? RANKD__RANK_MODE__RANK_UNIQUE : RANKD__RANK_MODE__RANK_COMPETITION;
            req.board_id = (char *)p->hot;
            CHECK_INT(rk_ranking_around(c, &req, &a, NULL, &st), RK_OK);
            req.board_id = (char *)p->plain;
            CHECK_INT(rk_ranking_around(c, &req, &b, NULL, &st), RK_OK);
            same_list(a, b, "around");
            rk_reply_free(a);
            rk_reply_free(b);
        }
}

static int64_t count(const char *board) {
    Rankd__CountRequest req = RANKD__COUNT_REQUEST__INIT;
    Rankd__CountReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    CHECK_INT(rk_ranking_count(c, &req, &rep, NULL, &st), RK_OK);
    int64_t n = rep ? rep->count : -1;
    rk_reply_free(rep);
    return n;
}

static void all_the_same(void) {
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        same_tops(&pairs[i]);
        same_ranks(&pairs[i]);
        same_ranks_of(&pairs[i]);
        same_around(&pairs[i]);
        CHECK_INT(count(pairs[i].hot), PLAYERS);
        CHECK_INT(count(pairs[i].plain), PLAYERS);
    }
}

static void a_hot_board_ranks_as_a_plain_one(void) {
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) feed(&pairs[i]);
    all_the_same();
    /* Every shard holds players: the board is spread, not in one set. */
    for (int k = 0; k < SHARDS; k++) {
        long n = it_redis_int("ZCARD rk:{hs-hot~%d}:all", k);
        CHECK(n > 0);
    }
    CHECK_INT(it_redis_int("EXISTS rk:{hs-hot}:all"), 0);
}

static void rebuilt_hot_boards_rank_the_same(void) {
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        Rankd__RebuildRequest req = RANKD__REBUILD_REQUEST__INIT;
        Rankd__RebuildReply *rep = NULL;
        rk_status st;
        rk_call_opts o = it_opts(admin, NULL);
        req.board_id = (char *)pairs[i].hot;
        CHECK_INT(rk_admin_rebuild(c, &req, &rep, &o, &st), RK_OK);
        rk_reply_free(rep);
    }
    all_the_same();
}

/* The entries of the hot board's shards in Redis itself (reads would be
 * answered from the history while it has none). */
static long in_redis(const char *board) {
    long n = 0;
    for (int k = 0; k < SHARDS; k++) {
        long one = it_redis_int("ZCARD rk:{%s~%d}:all", board, k);
        if (one <= 0) return -1; /* a shard not back yet */
        n += one;
    }
    return n;
}

static void an_emptied_redis_gives_the_hot_boards_back(void) {
    CHECK(it_drained(c, admin));
    /* On a cluster every master loses its data, so every shard. */
    CHECK_INT(it_redis_flushall(), 0);
    int back = 0;
    for (int i = 0; i < 200 && !back; i++) {
        back = in_redis("hs-hot") == PLAYERS && in_redis("hs-hot-low") == PLAYERS;
        if (!back) usleep(100000);
    }
    CHECK(back);
    CHECK(it_drained(c, admin));
    all_the_same();
}

/* A top page past the 10,000th entry would read that many entries from
 * every shard: the history answers it (the reply says so: degraded), a
 * plain board's comes from Redis. */
static void a_deep_top_page_comes_from_the_history(void) {
    CHECK(it_drained(c, admin));
    for (int hot = 0; hot < 2; hot++) {
        Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
        Rankd__RankListReply *rep = NULL;
        rk_status st;
        req.board_id = hot ? "hs-hot" : "hs-plain";
        req.has_offset = req.has_limit = 1;
        req.offset = 9995;
        req.limit = 10;
        CHECK_INT(rk_ranking_top(c, &req, &rep, NULL, &st), RK_OK);
        CHECK_INT(st.degraded, hot);
        CHECK(rep && rep->n_entries == 0 && rep->board_size == PLAYERS);
        rk_reply_free(rep);
    }
}

static Rankd__GetSeasonReply *final_standings(const char *board) {
    Rankd__GetSeasonRequest req = RANKD__GET_SEASON_REQUEST__INIT;
    Rankd__GetSeasonReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    req.has_season = req.has_limit = 1;
    req.season = 1;
    req.limit = 100;
    CHECK_INT(rk_seasons_get_season(c, &req, &rep, NULL, &st), RK_OK);
    return rep;
}

/* Ending a hot board's season keeps the same final standings as its
 * plain twin's, empties every shard, and the new season ranks the same. */
static void a_hot_boards_season_ends_as_a_plain_ones(void) {
    const struct pair *p = &pairs[0];
    for (int hot = 1; hot >= 0; hot--) {
        Rankd__EndSeasonRequest req = RANKD__END_SEASON_REQUEST__INIT;
        Rankd__EndSeasonReply *rep = NULL;
        rk_status st;
        rk_call_opts o = it_opts(admin, NULL);
        req.board_id = (char *)(hot ? p->hot : p->plain);
        CHECK_INT(rk_seasons_end_season(c, &req, &rep, &o, &st), RK_OK);
        CHECK(rep && rep->ended && rep->ended->board_size == PLAYERS && rep->current == 2);
        rk_reply_free(rep);
    }
    Rankd__GetSeasonReply *a = final_standings(p->hot), *b = final_standings(p->plain);
    CHECK(a && b && a->n_entries == PLAYERS && b->n_entries == PLAYERS);
    for (size_t i = 0; a && b && i < a->n_entries && i < b->n_entries; i++) {
        CHECK_INT(a->entries[i]->user_id, b->entries[i]->user_id);
        CHECK_INT(a->entries[i]->score, b->entries[i]->score);
        CHECK_INT(a->entries[i]->rank, b->entries[i]->rank);
    }
    rk_reply_free(a);
    rk_reply_free(b);
    /* Every shard starts the season empty, in Redis itself. */
    long left = 0;
    for (int k = 0; k < SHARDS; k++) left += it_redis_int("ZCARD rk:{%s~%d}:all", p->hot, k);
    CHECK_INT(left, 0);
    CHECK_INT(count(p->hot), 0);
    feed(p);
    same_tops(p);
    same_ranks(p);
    same_around(p);
    CHECK_INT(count(p->hot), PLAYERS);
}

static void a_hot_board_may_have_a_season_schedule(void) {
    Rankd__CreateBoardRequest req = RANKD__CREATE_BOARD_REQUEST__INIT;
    Rankd__Board b = RANKD__BOARD__INIT;
    Rankd__BoardReply *rep = NULL;
    rk_status st;
    b.id = "hs-weekly";
    b.game = GAME;
    b.has_shards = 1;
    b.shards = SHARDS;
    b.season_schedule = "weekly mon 00:00";
    req.board = &b;
    rk_call_opts o = it_opts(admin, NULL);
    CHECK_INT(rk_boards_create_board(c, &req, &rep, &o, &st), RK_OK);
    CHECK(rep && rep->board && rep->board->shards == SHARDS && rep->board->season_ends_at > 0);
    rk_reply_free(rep);
}

static void dense_around_is_refused_with_a_reason(void) {
    Rankd__AroundRequest req = RANKD__AROUND_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    rk_status st;
    req.board_id = "hs-hot";
    req.has_user_id = req.has_rank_mode = 1;
    req.user_id = uids[0];
    req.rank_mode = RANKD__RANK_MODE__RANK_DENSE;
    CHECK_INT(rk_ranking_around(c, &req, &rep, NULL, &st), RK_FAILED_PRECONDITION);
    CHECK(strstr(st.message, "sharded") != NULL);
    rk_reply_free(rep);
}

/* The player's all-time score on a board (-1: none). */
static int64_t score_on(const char *board, int64_t uid) {
    Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    req.has_user_id = 1;
    req.user_id = uid;
    int64_t s = -1;
    if (rk_ranking_rank(c, &req, &rep, NULL, &st) == RK_OK && rep && rep->entry) s = rep->entry->score;
    rk_reply_free(rep);
    return s;
}

/* hs-hot and hs-plain count toward the global board (the lower-is-better
 * pair does not): each player's total is twice their plain score, the
 * hot board's part summed from whichever shard holds them, also after
 * the global board is rebuilt from the history while the shards are
 * held. */
static void the_global_board_sums_a_hot_board_once(void) {
    for (int round = 0; round < 2; round++) {
        CHECK(it_settled(c));
        for (int i = 0; i < PLAYERS; i++) CHECK_INT(score_on("global", uids[i]), 2 * score_on("hs-plain", uids[i]));
        Rankd__RebuildRequest req = RANKD__REBUILD_REQUEST__INIT;
        Rankd__RebuildReply *rep = NULL;
        rk_status st;
        rk_call_opts o = it_opts(admin, NULL);
        req.board_id = "global";
        CHECK_INT(rk_admin_rebuild(c, &req, &rep, &o, &st), RK_OK);
        rk_reply_free(rep);
        /* New bests after the rebuild move the total once. */
        int64_t r1, s1, p1;
        submit("hs-hot", uids[round], 1000 + round, &r1, &s1, &p1);
        submit("hs-plain", uids[round], 1000 + round, &r1, &s1, &p1);
    }
    CHECK(it_settled(c));
    for (int i = 0; i < PLAYERS; i++) CHECK_INT(score_on("global", uids[i]), 2 * score_on("hs-plain", uids[i]));
}

static void what_a_hot_board_cannot_be_is_refused(void) {
    CHECK_INT(create("hs-too-many", 0, 17), RK_INVALID_ARGUMENT);
    /* An aggregate sums plain boards only (yet). */
    Rankd__CreateBoardRequest req = RANKD__CREATE_BOARD_REQUEST__INIT;
    Rankd__Board b = RANKD__BOARD__INIT;
    Rankd__BoardReply *rep = NULL;
    rk_status st;
    char *sources[] = {"hs-hot"};
    b.id = "hs-sum";
    b.game = GAME;
    b.n_sources = 1;
    b.sources = sources;
    req.board = &b;
    rk_call_opts o = it_opts(admin, NULL);
    CHECK_INT(rk_boards_create_board(c, &req, &rep, &o, &st), RK_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "sharded") != NULL);
    rk_reply_free(rep);
}

/* ------------------------------------------------------------------ rank changes */

#define MAX_CHANGES 64

/* The RankChanged events of one board, in the order they came. */
typedef struct changes {
    const char *board;
    int n;
    struct change {
        int64_t user, old_rank, new_rank, old_score, new_score;
        int has_old;
        char passed[128]; /* the ids passed, comma-separated */
    } c[MAX_CHANGES];
} changes;

static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static changes seen_hot = {.board = "hs-ev-hot"}, seen_plain = {.board = "hs-ev-plain"};

static void on_event(const char *topic, const Rankd__Event *ev, void *arg) {
    (void)topic;
    (void)arg;
    if (ev->kind_case != RANKD__EVENT__KIND_RANK) return;
    const Rankd__RankChanged *r = ev->rank;
    changes *to = strcmp(r->board_id, seen_hot.board) == 0     ? &seen_hot
                  : strcmp(r->board_id, seen_plain.board) == 0 ? &seen_plain
                                                               : NULL;
    pthread_mutex_lock(&seen_mu);
    if (to && to->n < MAX_CHANGES) {
        struct change *c = &to->c[to->n++];
        c->user = r->user_id;
        c->old_rank = r->old_rank;
        c->new_rank = r->new_rank;
        c->has_old = r->has_old_score;
        c->old_score = r->old_score;
        c->new_score = r->new_score;
        size_t used = 0;
        c->passed[0] = '\0';
        for (size_t i = 0; i < r->n_passed; i++)
            used += (size_t)snprintf(c->passed + used, sizeof(c->passed) - used, "%s%lld", i ? "," : "",
                                     (long long)r->passed[i]->user_id);
    }
    pthread_mutex_unlock(&seen_mu);
}

/* A hot board's rank changes are a plain board's: the same players, the
 * board's ranks before and after (not a shard's), the same scores and the
 * same players passed, nearest first. */
static void a_hot_boards_rank_changes_are_a_plain_ones(void) {
    CHECK_INT(create(seen_hot.board, 0, SHARDS), RK_OK);
    CHECK_INT(create(seen_plain.board, 0, 0), RK_OK);
    rk_subscriber *sub = NULL;
    rk_status st;
    CHECK_INT(rk_subscriber_open(&sub, getenv("RANKD_EVENTS_URL"), on_event, NULL, &st), RK_OK);
    if (sub == NULL) return;
    CHECK_INT(rk_subscriber_subscribe(sub, "", &st), RK_OK);
    usleep(300000); /* PUB drops what it sends before the connection is up */
    /* First scores, ties, passes across shards, a score no better (no
     * event), a player passing everyone. Players 0-7 are in shards 0-3
     * twice over. */
    static const struct {
        int who;
        int64_t score;
    } steps[] = {{0, 100}, {1, 200}, {2, 150}, {3, 150}, {0, 300}, {4, 50},
                 {1, 200}, {5, 400}, {2, 160}, {6, 150}, {7, 10},  {3, 500}};
    size_t nsteps = sizeof(steps) / sizeof(steps[0]);
    for (size_t i = 0; i < nsteps; i++) {
        int64_t hr, hs, hp, pr, ps, pp;
        submit(seen_hot.board, uids[steps[i].who], steps[i].score, &hr, &hs, &hp);
        submit(seen_plain.board, uids[steps[i].who], steps[i].score, &pr, &ps, &pp);
    }
    /* 11 changes each (player 1's 200 again changes nothing). */
    for (int i = 0; i < 300; i++) {
        pthread_mutex_lock(&seen_mu);
        int done = seen_hot.n >= 11 && seen_plain.n >= 11;
        pthread_mutex_unlock(&seen_mu);
        if (done) break;
        usleep(10000);
    }
    usleep(200000); /* and no more */
    rk_subscriber_close(sub);
    CHECK_INT(seen_plain.n, 11);
    CHECK_INT(seen_hot.n, seen_plain.n);
    for (int i = 0; i < seen_hot.n && i < seen_plain.n; i++) {
        const struct change *h = &seen_hot.c[i], *p = &seen_plain.c[i];
        if (h->user != p->user || h->old_rank != p->old_rank || h->new_rank != p->new_rank ||
            h->has_old != p->has_old || h->old_score != p->old_score || h->new_score != p->new_score ||
            strcmp(h->passed, p->passed) != 0)
            fprintf(stderr,
                    "  change %d: hot %lld #%lld->#%lld %lld->%lld passed [%s]; plain %lld #%lld->#%lld %lld->%lld "
                    "passed [%s]\n",
                    i, (long long)h->user, (long long)h->old_rank, (long long)h->new_rank, (long long)h->old_score,
                    (long long)h->new_score, h->passed, (long long)p->user, (long long)p->old_rank,
                    (long long)p->new_rank, (long long)p->old_score, (long long)p->new_score, p->passed);
        CHECK_INT(h->user, p->user);
        CHECK_INT(h->old_rank, p->old_rank);
        CHECK_INT(h->new_rank, p->new_rank);
        CHECK_INT(h->has_old, p->has_old);
        CHECK_INT(h->old_score, p->old_score);
        CHECK_INT(h->new_score, p->new_score);
        CHECK_STR(h->passed, p->passed);
    }
    /* The last one: player 3 passed everyone but nobody it was behind. */
    if (seen_plain.n == 11) CHECK_INT(seen_plain.c[10].new_rank, 1);
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        CHECK_INT(create(pairs[i].hot, pairs[i].lower, SHARDS), RK_OK);
        CHECK_INT(create(pairs[i].plain, pairs[i].lower, 0), RK_OK);
    }
    key = it_api_key(c, admin, GAME);
    for (int i = 0; i < PLAYERS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "hs-player-%02d", i);
        uids[i] = it_sign_up(c, name, "password-123");
    }
    RUN(a_hot_board_ranks_as_a_plain_one);
    RUN(rebuilt_hot_boards_rank_the_same);
    RUN(an_emptied_redis_gives_the_hot_boards_back);
    RUN(the_global_board_sums_a_hot_board_once);
    RUN(a_deep_top_page_comes_from_the_history);
    RUN(a_hot_boards_season_ends_as_a_plain_ones);
    RUN(a_hot_board_may_have_a_season_schedule);
    RUN(dense_around_is_refused_with_a_reason);
    RUN(what_a_hot_board_cannot_be_is_refused);
    RUN(a_hot_boards_rank_changes_are_a_plain_ones);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
