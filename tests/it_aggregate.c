/* Aggregate boards: a board defined as the sum of chosen boards (a game's
 * modes, a tournament's rounds), filled from their history when it is
 * created, moved by every submission to them, ranked like any board, the
 * same after a rebuild and without Redis; what may and may not be one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

#define PLAYERS 6

static rk_client *c;
static char *admin, *key;
static int64_t uid[PLAYERS];
static const char *const names[PLAYERS] = {"ag-ann", "ag-bob", "ag-cat", "ag-dan", "ag-eve", "ag-fay"};

static int submit_via(rk_client *to, const char *board, int who, int64_t score, const char *idem, rk_status *st) {
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
    int rc = submit_via(c, board, who, score, NULL, &st);
    if (rc != RK_OK) fprintf(stderr, "  submit %s %s %lld: %s\n", board, names[who], (long long)score, st.message);
    return rc;
}

static int create_aggregate(const char *id, const char *const *sources, size_t n, rk_status *st) {
    Rankd__CreateBoardRequest req = RANKD__CREATE_BOARD_REQUEST__INIT;
    Rankd__Board b = RANKD__BOARD__INIT;
    Rankd__BoardReply *rep = NULL;
    rk_call_opts o = it_opts(admin, NULL);
    b.id = (char *)id;
    b.game = "agg";
    b.title = "all modes";
    b.sources = (char **)sources;
    b.n_sources = n;
    req.board = &b;
    int rc = rk_boards_create_board(c, &req, &rep, &o, st);
    rk_reply_free(rep);
    return rc;
}

static Rankd__Board *get_board(const char *id) {
    Rankd__GetBoardRequest req = RANKD__GET_BOARD_REQUEST__INIT;
    Rankd__BoardReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)id;
    if (rk_boards_get_board(c, &req, &rep, NULL, &st) != RK_OK) return NULL;
    Rankd__Board *b = rep->board;
    rep->board = NULL;
    rk_reply_free(rep);
    return b;
}

/* The top of a board as "name=score@rank name=score@rank ..." (once the
 * applier has caught up: aggregates follow their sources a moment later
 * in the split layout). */
static int top_line(const char *board, char *out, size_t cap, int *degraded) {
    Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    rk_status st;
    it_settled(c);
    req.board_id = (char *)board;
    req.has_limit = 1;
    req.limit = 100;
    out[0] = '\0';
    if (rk_ranking_top(c, &req, &rep, NULL, &st) != RK_OK) {
        snprintf(out, cap, "error: %s", st.message);
        return -1;
    }
    if (degraded) *degraded = st.degraded;
    size_t at = 0;
    for (size_t i = 0; i < rep->n_entries && at < cap; i++)
        at += (size_t)snprintf(out + at, cap - at, "%s%s=%lld@%lld", i ? " " : "", rep->entries[i]->username,
                               (long long)rep->entries[i]->score, (long long)rep->entries[i]->rank);
    rk_reply_free(rep);
    return 0;
}

static int64_t score_on(const char *board, int who, int *found) {
    Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rep = NULL;
    rk_status st;
    it_settled(c);
    req.board_id = (char *)board;
    req.has_user_id = 1;
    req.user_id = uid[who];
    *found = rk_ranking_rank(c, &req, &rep, NULL, &st) == RK_OK && rep->entry;
    int64_t s = *found ? rep->entry->score : 0;
    rk_reply_free(rep);
    return s;
}

static void expect_top(const char *board, const char *want) {
    char got[2048];
    top_line(board, got, sizeof(got), NULL);
    if (strcmp(got, want) != 0) fprintf(stderr, "  %s:\n    got  %s\n    want %s\n", board, got, want);
    CHECK_STR(got, want);
}

/* ---------------------------------------------------------------- tests */

static const char *const modes[] = {"ag-duel", "ag-team", "ag-race"};

static void created_from_history_then_live(void) {
    /* Before the aggregate exists: duel is best, team is sum, race latest. */
    CHECK_INT(submit("ag-duel", 0, 50), RK_OK);
    CHECK_INT(submit("ag-duel", 0, 40), RK_OK); /* not a best: duel stays 50 */
    CHECK_INT(submit("ag-team", 0, 10), RK_OK);
    CHECK_INT(submit("ag-team", 0, 15), RK_OK); /* team 25 */
    CHECK_INT(submit("ag-duel", 1, 70), RK_OK);
    CHECK_INT(submit("ag-race", 2, 30), RK_OK);
    CHECK_INT(submit("ag-race", 2, 20), RK_OK); /* latest: 20 */
    rk_status st;
    CHECK_INT(create_aggregate("ag-all", modes, 3, &st), RK_OK);
    /* ann 50 + 25, bob 70, cat 20: filled from the history at once. */
    expect_top("ag-all", "ag-ann=75@1 ag-bob=70@2 ag-cat=20@3");
    /* Live from now on, every policy moving the total by its change. */
    CHECK_INT(submit("ag-race", 1, 10), RK_OK); /* bob 80 */
    CHECK_INT(submit("ag-duel", 2, 60), RK_OK); /* cat 80, reached later than bob */
    CHECK_INT(submit("ag-race", 2, 5), RK_OK);  /* cat 65 */
    CHECK_INT(submit("ag-team", 3, 0), RK_OK);  /* dan: a 0 places him */
    CHECK_INT(submit("ag-duel", 0, 45), RK_OK); /* no change */
    expect_top("ag-all", "ag-bob=80@1 ag-ann=75@2 ag-cat=65@3 ag-dan=0@4");
    /* Reads of one player and the board's description. */
    int found = 0;
    CHECK_INT(score_on("ag-all", 0, &found), 75);
    CHECK(found);
    Rankd__Board *b = get_board("ag-all");
    CHECK(b != NULL);
    if (b) {
        CHECK_INT(b->n_sources, 3);
        CHECK_INT(b->policy, RANKD__POLICY__POLICY_SUM);
        CHECK_INT(b->n_windows, 1);
        rankd__board__free_unpacked(b, NULL);
    }
    b = get_board("ag-duel");
    CHECK(b != NULL);
    if (b) {
        CHECK_INT(b->n_feeds, 1);
        if (b->n_feeds == 1) CHECK_STR(b->feeds[0], "ag-all");
        rankd__board__free_unpacked(b, NULL);
    }
}

static void the_global_board_counts_each_point_once(void) {
    /* The global board sums the modes; the aggregate is not a mode. */
    int found = 0;
    CHECK_INT(score_on("global", 1, &found), 80);
    CHECK(found);
    CHECK_INT(score_on("global", 0, &found), 75);
}

static void ties_and_ranks_survive_a_rebuild(void) {
    /* eve and fay reach 30 each, eve first: eve ahead, as on any board. */
    CHECK_INT(submit("ag-duel", 4, 30), RK_OK);
    usleep(2000);
    CHECK_INT(submit("ag-team", 5, 30), RK_OK);
    char live[2048], rebuilt[2048];
    top_line("ag-all", live, sizeof(live), NULL);
    CHECK(strstr(live, "ag-eve=30@4 ag-fay=30@4") != NULL);
    Rankd__RebuildRequest req = RANKD__REBUILD_REQUEST__INIT;
    Rankd__RebuildReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(admin, NULL);
    req.board_id = "ag-all";
    CHECK_INT(rk_admin_rebuild(c, &req, &rep, &o, &st), RK_OK);
    rk_reply_free(rep);
    top_line("ag-all", rebuilt, sizeof(rebuilt), NULL);
    CHECK_STR(rebuilt, live);
}

static void a_removal_leaves_the_aggregate_too(void) {
    Rankd__RemoveEntryRequest req = RANKD__REMOVE_ENTRY_REQUEST__INIT;
    Rankd__RemoveEntryReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(admin, NULL);
    req.board_id = "ag-duel";
    req.has_user_id = 1;
    req.user_id = uid[2]; /* cat's 60 on duel */
    req.reason = "test";
    CHECK_INT(rk_moderation_remove_entry(c, &req, &rep, &o, &st), RK_OK);
    rk_reply_free(rep);
    int found = 0;
    CHECK_INT(score_on("ag-all", 2, &found), 5); /* race only */
    CHECK(found);
}

static void what_cannot_be_an_aggregate(void) {
    rk_status st;
    const char *unknown[] = {"ag-duel", "ag-nope"};
    CHECK_INT(create_aggregate("ag-bad", unknown, 2, &st), RK_NOT_FOUND);
    const char *lower[] = {"ag-duel", "ag-time"};
    CHECK_INT(create_aggregate("ag-bad", lower, 2, &st), RK_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "lower-is-better") != NULL);
    const char *nested[] = {"ag-all"};
    CHECK_INT(create_aggregate("ag-bad", nested, 1, &st), RK_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "aggregate itself") != NULL);
    const char *twice[] = {"ag-duel", "ag-duel"};
    CHECK_INT(create_aggregate("ag-bad", twice, 2, &st), RK_INVALID_ARGUMENT);
    const char *self[] = {"ag-bad"};
    CHECK_INT(create_aggregate("ag-bad", self, 1, &st), RK_INVALID_ARGUMENT);
    const char *glob[] = {"global"};
    CHECK_INT(create_aggregate("ag-bad", glob, 1, &st), RK_INVALID_ARGUMENT);
    const char *many[] = {"ag-duel", "ag-team", "ag-race", "a4", "a5", "a6", "a7", "a8", "a9"};
    CHECK_INT(create_aggregate("ag-bad", many, 9, &st), RK_INVALID_ARGUMENT);
    /* With windows of its own. */
    {
        Rankd__CreateBoardRequest req = RANKD__CREATE_BOARD_REQUEST__INIT;
        Rankd__Board b = RANKD__BOARD__INIT;
        Rankd__BoardReply *rep = NULL;
        rk_call_opts o = it_opts(admin, NULL);
        Rankd__Window w[] = {RANKD__WINDOW__WINDOW_DAILY};
        b.id = "ag-bad";
        b.game = "agg";
        b.sources = (char **)modes;
        b.n_sources = 3;
        b.windows = w;
        b.n_windows = 1;
        req.board = &b;
        CHECK_INT(rk_boards_create_board(c, &req, &rep, &o, &st), RK_INVALID_ARGUMENT);
        CHECK(strstr(st.message, "all time only") != NULL);
        rk_reply_free(rep);
    }
    CHECK(get_board("ag-bad") == NULL);
    /* Submitting to it, deleting a source, changing its windows. */
    CHECK_INT(submit_via(c, "ag-all", 0, 10, NULL, &st), RK_FAILED_PRECONDITION);
    CHECK(strstr(st.message, "aggregate") != NULL);
    {
        Rankd__DeleteBoardRequest req = RANKD__DELETE_BOARD_REQUEST__INIT;
        Rankd__Empty *rep = NULL;
        rk_call_opts o = it_opts(admin, NULL);
        req.board_id = "ag-team";
        CHECK_INT(rk_boards_delete_board(c, &req, &rep, &o, &st), RK_FAILED_PRECONDITION);
        CHECK(strstr(st.message, "ag-all") != NULL);
        rk_reply_free(rep);
    }
    {
        Rankd__UpdateBoardRequest req = RANKD__UPDATE_BOARD_REQUEST__INIT;
        Rankd__BoardReply *rep = NULL;
        rk_call_opts o = it_opts(admin, NULL);
        Rankd__Window w[] = {RANKD__WINDOW__WINDOW_WEEKLY};
        req.board_id = "ag-all";
        req.add_windows = w;
        req.n_add_windows = 1;
        CHECK_INT(rk_boards_update_board(c, &req, &rep, &o, &st), RK_INVALID_ARGUMENT);
        rk_reply_free(rep);
    }
    /* Not an admin. */
    {
        Rankd__CreateBoardRequest req = RANKD__CREATE_BOARD_REQUEST__INIT;
        Rankd__Board b = RANKD__BOARD__INIT;
        Rankd__BoardReply *rep = NULL;
        rk_call_opts o = it_opts(key, NULL);
        b.id = "ag-bad";
        b.game = "agg";
        b.sources = (char **)modes;
        b.n_sources = 3;
        req.board = &b;
        CHECK_INT(rk_boards_create_board(c, &req, &rep, &o, &st), RK_PERMISSION_DENIED);
        rk_reply_free(rep);
    }
}

/* A second rankd read ag-duel before ag-pair existed: its next submission
 * still counts on ag-pair (it is refused once, reads the board again and
 * the retry goes through). */
static void another_rankd_learns_of_a_new_aggregate(void) {
    it_rankd other;
    rk_status st;
    CHECK_INT(it_rankd_spawn(&other, "ag-2", NULL), 0);
    CHECK_INT(submit_via(other.client, "ag-duel", 3, 20, NULL, &st), RK_OK); /* dan: duel 20 */
    const char *pair[] = {"ag-duel", "ag-race"};
    CHECK_INT(create_aggregate("ag-pair", pair, 2, &st), RK_OK);
    int rc = RK_UNAVAILABLE, tries = 0;
    for (; rc == RK_UNAVAILABLE && tries < 50; tries++) {
        rc = submit_via(other.client, "ag-duel", 3, 90, "ag-pair-1", &st); /* dan: duel 90 */
        if (rc == RK_UNAVAILABLE) usleep(50000);
    }
    CHECK_CODE(st, RK_OK);
    printf("  the other rankd's submission went through after %d tries\n", tries);
    int found = 0;
    CHECK_INT(score_on("ag-pair", 3, &found), 90);
    CHECK(found);
    CHECK_INT(score_on("ag-all", 3, &found), 90);
    CHECK_INT(it_rankd_stop(&other), 0);
}

/* A rankd whose copy of the board names other aggregates than Redis's
 * rk:{b}:agg is refused before anything is written, and says why. */
static void a_stale_list_of_aggregates_is_refused(void) {
    char out[256], cmd[256];
    rk_status st;
    CHECK_INT(it_redis_cli("SET rk:{ag-team}:agg ag-all,ag-ghost", out, sizeof(out)), 0);
    CHECK_INT(submit_via(c, "ag-team", 5, 7, NULL, &st), RK_UNAVAILABLE);
    CHECK(strstr(st.message, "aggregates changed") != NULL);
    int found = 0;
    CHECK_INT(score_on("ag-team", 5, &found), 30); /* fay's 7 was not taken */
    snprintf(cmd, sizeof(cmd), "SET rk:{ag-team}:agg ag-all");
    CHECK_INT(it_redis_cli(cmd, out, sizeof(out)), 0);
    CHECK_INT(submit_via(c, "ag-team", 5, 7, NULL, &st), RK_OK);
    CHECK_INT(score_on("ag-team", 5, &found), 37);
}

static void deleting_an_aggregate_frees_its_sources(void) {
    Rankd__DeleteBoardRequest req = RANKD__DELETE_BOARD_REQUEST__INIT;
    Rankd__Empty *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(admin, NULL);
    req.board_id = "ag-pair";
    CHECK_INT(rk_boards_delete_board(c, &req, &rep, &o, &st), RK_OK);
    rk_reply_free(rep);
    Rankd__Board *b = get_board("ag-race");
    CHECK(b != NULL);
    if (b) {
        CHECK_INT(b->n_feeds, 1); /* ag-all only */
        rankd__board__free_unpacked(b, NULL);
    }
    CHECK_INT(submit("ag-race", 3, 1), RK_OK);
    int found = 0;
    score_on("ag-pair", 3, &found);
    CHECK(!found);
    CHECK_INT(score_on("ag-all", 3, &found), 91); /* duel 90 + race 1 + team 0 */
}

static int end_season(const char *board, rk_status *st) {
    Rankd__EndSeasonRequest req = RANKD__END_SEASON_REQUEST__INIT;
    Rankd__EndSeasonReply *rep = NULL;
    rk_call_opts o = it_opts(admin, NULL);
    req.board_id = (char *)board;
    req.reason = "test";
    int rc = rk_seasons_end_season(c, &req, &rep, &o, st);
    rk_reply_free(rep);
    return rc;
}

/* An aggregate sums its sources' current seasons: a source's season end
 * takes that source's points out of it; its own seasons are its sources'. */
static void a_season_end_on_a_source_moves_the_aggregate(void) {
    rk_status st;
    int found = 0;
    int64_t before = score_on("ag-all", 0, &found); /* ann: duel 50 + team 25 + 5 */
    CHECK(found);
    int64_t team = score_on("ag-team", 0, &found);
    CHECK(found);
    CHECK_INT(end_season("ag-team", &st), RK_OK);
    CHECK_INT(score_on("ag-all", 0, &found), before - team);
    CHECK(found);
    CHECK_INT(submit("ag-team", 0, 3), RK_OK); /* the new season's first */
    CHECK_INT(score_on("ag-all", 0, &found), before - team + 3);
    CHECK_INT(end_season("ag-all", &st), RK_FAILED_PRECONDITION);
    CHECK(strstr(st.message, "aggregate") != NULL);
    /* And a rebuild agrees with the live sums. */
    char live[2048], rebuilt[2048];
    top_line("ag-all", live, sizeof(live), NULL);
    Rankd__RebuildRequest req = RANKD__REBUILD_REQUEST__INIT;
    Rankd__RebuildReply *rep = NULL;
    rk_call_opts o = it_opts(admin, NULL);
    req.board_id = "ag-all";
    CHECK_INT(rk_admin_rebuild(c, &req, &rep, &o, &st), RK_OK);
    rk_reply_free(rep);
    top_line("ag-all", rebuilt, sizeof(rebuilt), NULL);
    CHECK_STR(rebuilt, live);
}

/* Waits until the write-behind has copied every accepted submission. */
static void wait_drained(void) {
    int drained = 0;
    for (int i = 0; i < 300 && !drained; i++) {
        Rankd__Empty req = RANKD__EMPTY__INIT;
        Rankd__ServerStatus *s = NULL;
        rk_status st;
        rk_call_opts o = it_opts(admin, NULL);
        if (rk_admin_status(c, &req, &s, &o, &st) == RK_OK)
            drained = s->has_writebehind_backlog && s->writebehind_backlog == 0;
        rk_reply_free(s);
        if (!drained) usleep(100000);
    }
    CHECK(drained);
}

/* Every player's place on a board as "name=score@rank ..." (a Rank call
 * each, never a cached page); *degraded: every answer came from the
 * history. */
static void ranks_line(const char *board, char *out, size_t cap, int *degraded) {
    size_t at = 0;
    out[0] = '\0';
    *degraded = 1;
    for (int i = 0; i < PLAYERS && at < cap; i++) {
        Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
        Rankd__RankReply *rep = NULL;
        rk_status st;
        req.board_id = (char *)board;
        req.has_user_id = 1;
        req.user_id = uid[i];
        if (rk_ranking_rank(c, &req, &rep, NULL, &st) == RK_OK && rep->entry)
            at += (size_t)snprintf(out + at, cap - at, "%s=%lld@%lld ", names[i], (long long)rep->entry->score,
                                   (long long)rep->entry->rank);
        else
            at += (size_t)snprintf(out + at, cap - at, "%s:%s ", names[i], rk_code_name(st.code));
        *degraded &= st.degraded;
        rk_reply_free(rep);
    }
}

static void without_redis_the_history_agrees(void) {
    char live[2048], history[2048];
    int degraded = 0;
    top_line("ag-all", live, sizeof(live), NULL);
    char live_ranks[1024], history_ranks[1024];
    ranks_line("ag-all", live_ranks, sizeof(live_ranks), &degraded);
    CHECK(!degraded);
    wait_drained();
    CHECK_INT(system("rk-redis-stop >/dev/null"), 0);
    ranks_line("ag-all", history_ranks, sizeof(history_ranks), &degraded);
    CHECK(degraded);
    CHECK_STR(history_ranks, live_ranks);
    top_line("ag-all", history, sizeof(history), NULL);
    CHECK_STR(history, live);
    CHECK_INT(system("rk-redis-start >/dev/null"), 0);
    /* Back, and then emptied: the restore builds the aggregate again. */
    for (int i = 0; i < 100 && (top_line("ag-all", history, sizeof(history), &degraded) != 0 || degraded); i++)
        usleep(100000);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "redis-cli -p %s FLUSHALL >/dev/null", getenv("RANKD_REDIS_PORT"));
    CHECK_INT(system(cmd), 0);
    int same = 0;
    for (int i = 0; i < 300 && !same; i++) {
        same = top_line("ag-all", history, sizeof(history), &degraded) == 0 && !degraded && strcmp(history, live) == 0;
        if (!same) usleep(100000);
    }
    if (!same) fprintf(stderr, "  after the restore: %s\n  before: %s\n", history, live);
    CHECK(same);
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    it_create_board(c, admin, "ag-duel", "agg", 0, RANKD__POLICY__POLICY_BEST, 0, 0);
    it_create_board(c, admin, "ag-team", "agg", 0, RANKD__POLICY__POLICY_SUM, 0, 0);
    it_create_board(c, admin, "ag-race", "agg", 0, RANKD__POLICY__POLICY_LATEST, 0, 0);
    it_create_board(c, admin, "ag-time", "agg", 1, RANKD__POLICY__POLICY_BEST, 0, 0);
    key = it_api_key(c, admin, "agg");
    for (int i = 0; i < PLAYERS; i++) uid[i] = it_sign_up(c, names[i], "password-123");
    RUN(created_from_history_then_live);
    RUN(the_global_board_counts_each_point_once);
    RUN(ties_and_ranks_survive_a_rebuild);
    RUN(a_removal_leaves_the_aggregate_too);
    RUN(what_cannot_be_an_aggregate);
    RUN(another_rankd_learns_of_a_new_aggregate);
    RUN(a_stale_list_of_aggregates_is_refused);
    RUN(deleting_an_aggregate_frees_its_sources);
    RUN(a_season_end_on_a_source_moves_the_aggregate);
    RUN(without_redis_the_history_agrees);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
