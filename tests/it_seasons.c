/* Journey 14, seasons: an admin ends a board's season (its final
 * standings are kept and readable, the board and its part of the global
 * board start empty, new submissions count in the new season, a retry of
 * an old one counts in the old one only); the errors; a rebuild from the
 * history after an end gives the current season only; and a schedule
 * ends a season by itself, exactly once with three rankd processes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "check.h"
#include "it_common.h"

static rk_client *c;
static char *admin, *key, *player_token;
static int64_t p1, p2, p3;

static int submit(const char *board, int64_t uid, int64_t score, const char *idem, Rankd__SubmitReply **out) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    req.has_user_id = req.has_score = 1;
    req.user_id = uid;
    req.score = score;
    rk_call_opts o = it_opts(key, idem);
    int rc = rk_scores_submit(c, &req, &rep, &o, &st);
    if (rc != RK_OK) fprintf(stderr, "  submit %s %" PRId64 " %" PRId64 ": %s\n", board, uid, score, st.message);
    if (out)
        *out = rep;
    else
        rk_reply_free(rep);
    return rc;
}

/* The board's top (window), as "uid:score,uid:score" and its size. */
static int64_t top(rk_client *cl, const char *board, Rankd__Window w, char *out, size_t cap) {
    Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    req.has_window = 1;
    req.window = w;
    req.has_limit = 1;
    req.limit = 100;
    out[0] = '\0';
    if (rk_ranking_top(cl, &req, &rep, NULL, &st) != RK_OK) {
        fprintf(stderr, "  top %s: %s\n", board, st.message);
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < rep->n_entries && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%" PRId64 ":%" PRId64, i ? "," : "", rep->entries[i]->user_id,
                              rep->entries[i]->score);
    int64_t size = rep->board_size;
    rk_reply_free(rep);
    return size;
}

static int end_season(const char *token, const char *board, int has_season, uint32_t season, const char *reason,
                      Rankd__EndSeasonReply **out, rk_status *st) {
    Rankd__EndSeasonRequest req = RANKD__END_SEASON_REQUEST__INIT;
    Rankd__EndSeasonReply *rep = NULL;
    req.board_id = (char *)board;
    req.has_season = has_season;
    req.season = season;
    req.reason = (char *)reason;
    rk_call_opts o = it_opts(token, NULL);
    o.deadline_ms = 30000;
    int rc = rk_seasons_end_season(c, &req, &rep, &o, st);
    if (out)
        *out = rep;
    else
        rk_reply_free(rep);
    return rc;
}

static int get_season(const char *board, uint32_t season, uint32_t offset, uint32_t limit, Rankd__GetSeasonReply **out,
                      rk_status *st) {
    Rankd__GetSeasonRequest req = RANKD__GET_SEASON_REQUEST__INIT;
    req.board_id = (char *)board;
    req.has_season = 1;
    req.season = season;
    req.has_offset = offset > 0;
    req.offset = offset;
    req.has_limit = limit > 0;
    req.limit = limit;
    return rk_seasons_get_season(c, &req, out, NULL, st);
}

static int list_seasons(rk_client *cl, const char *board, Rankd__ListSeasonsReply **out, rk_status *st) {
    Rankd__ListSeasonsRequest req = RANKD__LIST_SEASONS_REQUEST__INIT;
    req.board_id = (char *)board;
    return rk_seasons_list_seasons(cl, &req, out, NULL, st);
}

static int create_board(const char *id, const char *schedule, Rankd__BoardReply **out, rk_status *st) {
    Rankd__CreateBoardRequest req = RANKD__CREATE_BOARD_REQUEST__INIT;
    Rankd__Board b = RANKD__BOARD__INIT;
    Rankd__Window wins[] = {RANKD__WINDOW__WINDOW_DAILY, RANKD__WINDOW__WINDOW_WEEKLY, RANKD__WINDOW__WINDOW_MONTHLY};
    b.id = (char *)id;
    b.game = "arena-game";
    b.windows = wins;
    b.n_windows = 3;
    b.season_schedule = (char *)schedule;
    req.board = &b;
    rk_call_opts o = it_opts(admin, NULL);
    Rankd__BoardReply *rep = NULL;
    int rc = rk_boards_create_board(c, &req, &rep, &o, st);
    if (out)
        *out = rep;
    else
        rk_reply_free(rep);
    return rc;
}

static Rankd__Board *get_board(rk_client *cl, const char *id, Rankd__BoardReply **keep) {
    Rankd__GetBoardRequest req = RANKD__GET_BOARD_REQUEST__INIT;
    rk_status st;
    req.board_id = (char *)id;
    *keep = NULL;
    if (rk_boards_get_board(cl, &req, keep, NULL, &st) != RK_OK) return NULL;
    return (*keep)->board;
}

/* ---------------------------------------------------------------- a manual end */

static void manual_end_keeps_standings_and_starts_empty(void) {
    char buf[512];
    rk_status st;
    CHECK_INT(create_board("arena", NULL, NULL, &st), RK_OK);
    CHECK_INT(create_board("other", NULL, NULL, &st), RK_OK);
    CHECK_INT(submit("arena", p1, 100, NULL, NULL), RK_OK);
    CHECK_INT(submit("arena", p2, 300, "before-end", NULL), RK_OK);
    CHECK_INT(submit("arena", p3, 200, NULL, NULL), RK_OK);
    CHECK_INT(submit("other", p1, 50, NULL, NULL), RK_OK);
    CHECK(it_settled(c));
    CHECK_INT(top(c, "global", RANKD__WINDOW__WINDOW_ALL_TIME, buf, sizeof(buf)), 3);

    Rankd__EndSeasonReply *end = NULL;
    CHECK_INT(end_season(admin, "arena", 1, 1, "weekly reset", &end, &st), RK_OK);
    if (end) {
        CHECK_INT(end->ended->season, 1);
        CHECK_INT(end->ended->board_size, 3);
        CHECK_INT(end->ended->started_us, 0);
        CHECK(end->ended->ended_us > 0);
        CHECK_STR(end->ended->ended_by, getenv("RANKD_ADMIN_USER"));
        CHECK_STR(end->ended->reason, "weekly reset");
        CHECK_INT(end->current, 2);
    }
    int64_t ended_us = end ? end->ended->ended_us : 0;
    rk_reply_free(end);

    /* The board starts empty in every window; the global board keeps
     * only what other boards give. */
    CHECK_INT(top(c, "arena", RANKD__WINDOW__WINDOW_ALL_TIME, buf, sizeof(buf)), 0);
    CHECK_INT(top(c, "arena", RANKD__WINDOW__WINDOW_DAILY, buf, sizeof(buf)), 0);
    CHECK_INT(top(c, "arena", RANKD__WINDOW__WINDOW_WEEKLY, buf, sizeof(buf)), 0);
    CHECK_INT(top(c, "arena", RANKD__WINDOW__WINDOW_MONTHLY, buf, sizeof(buf)), 0);
    CHECK(it_settled(c));
    CHECK_INT(top(c, "global", RANKD__WINDOW__WINDOW_ALL_TIME, buf, sizeof(buf)), 1);
    char want[128];
    snprintf(want, sizeof(want), "%" PRId64 ":50", p1);
    CHECK_STR(buf, want);

    /* The final standings are kept and readable, paged. */
    Rankd__GetSeasonReply *gs = NULL;
    CHECK_INT(get_season("arena", 1, 0, 0, &gs, &st), RK_OK);
    if (gs) {
        CHECK_INT(gs->total, 3);
        CHECK_INT(gs->n_entries, 3);
        CHECK_INT(gs->season->board_size, 3);
        CHECK_INT(gs->season->ended_us, ended_us);
        if (gs->n_entries == 3) {
            CHECK_INT(gs->entries[0]->user_id, p2);
            CHECK_INT(gs->entries[0]->score, 300);
            CHECK_INT(gs->entries[0]->rank, 1);
            CHECK_STR(gs->entries[0]->username, "season-p2");
            CHECK_INT(gs->entries[1]->user_id, p3);
            CHECK_INT(gs->entries[2]->user_id, p1);
            CHECK_INT(gs->entries[2]->rank, 3);
            CHECK(gs->entries[2]->percentile == 100.0);
        }
    }
    rk_reply_free(gs);
    gs = NULL;
    CHECK_INT(get_season("arena", 1, 1, 1, &gs, &st), RK_OK);
    if (gs) {
        CHECK_INT(gs->n_entries, 1);
        CHECK_INT(gs->total, 3);
        if (gs->n_entries == 1) CHECK_INT(gs->entries[0]->user_id, p3);
    }
    rk_reply_free(gs);

    /* Listed with the past seasons. */
    Rankd__ListSeasonsReply *ls = NULL;
    CHECK_INT(list_seasons(c, "arena", &ls, &st), RK_OK);
    if (ls) {
        CHECK_INT(ls->total, 1);
        CHECK_INT(ls->n_seasons, 1);
        CHECK_INT(ls->current, 2);
        if (ls->n_seasons == 1) CHECK_INT(ls->seasons[0]->season, 1);
    }
    rk_reply_free(ls);
    Rankd__BoardReply *br = NULL;
    Rankd__Board *b = get_board(c, "arena", &br);
    CHECK(b != NULL);
    if (b) {
        CHECK_INT(b->season, 2);
        CHECK_INT(b->season_started_us, ended_us);
        CHECK_INT(b->season_ends_at, 0);
    }
    rk_reply_free(br);

    /* New submissions count in the new season, and are personal bests
     * again; a retry of one made before the end is answered from its
     * record and counts in the old season only. */
    Rankd__SubmitReply *sr = NULL;
    CHECK_INT(submit("arena", p1, 10, NULL, &sr), RK_OK);
    if (sr) {
        CHECK_INT(sr->rank, 1);
        CHECK_INT(sr->board_size, 1);
        CHECK(sr->personal_best);
        CHECK(!sr->has_previous_rank);
    }
    rk_reply_free(sr);
    sr = NULL;
    CHECK_INT(submit("arena", p2, 300, "before-end", &sr), RK_OK);
    if (sr) CHECK(sr->replayed);
    rk_reply_free(sr);
    CHECK_INT(top(c, "arena", RANKD__WINDOW__WINDOW_ALL_TIME, buf, sizeof(buf)), 1);
    snprintf(want, sizeof(want), "%" PRId64 ":10", p1);
    CHECK_STR(buf, want);
    CHECK_INT(top(c, "arena", RANKD__WINDOW__WINDOW_DAILY, buf, sizeof(buf)), 1);
    CHECK_STR(buf, want);
    CHECK(it_settled(c));
    CHECK_INT(top(c, "global", RANKD__WINDOW__WINDOW_ALL_TIME, buf, sizeof(buf)), 1);
    snprintf(want, sizeof(want), "%" PRId64 ":60", p1);
    CHECK_STR(buf, want);

    /* The same end again is refused, not a second end. */
    st.code = RK_OK;
    CHECK_INT(end_season(admin, "arena", 1, 1, NULL, NULL, &st), RK_FAILED_PRECONDITION);
    CHECK(strstr(st.message, "season 2") != NULL);

    /* The audit log has it. */
    Rankd__AuditRequest aq = RANKD__AUDIT_REQUEST__INIT;
    Rankd__AuditReply *ar = NULL;
    aq.action = "season.end";
    rk_call_opts o = it_opts(admin, NULL);
    CHECK_INT(rk_moderation_audit(c, &aq, &ar, &o, &st), RK_OK);
    if (ar) {
        CHECK_INT(ar->n_entries, 1);
        if (ar->n_entries == 1) {
            CHECK_STR(ar->entries[0]->target, "arena");
            CHECK_STR(ar->entries[0]->reason, "weekly reset");
        }
    }
    rk_reply_free(ar);
}

/* ---------------------------------------------------------------- errors */

static void errors_name_what_is_wrong(void) {
    rk_status st;
    Rankd__GetSeasonReply *gs = NULL;
    Rankd__ListSeasonsReply *ls = NULL;
    CHECK_INT(end_season(admin, "no-such-board", 0, 0, NULL, NULL, &st), RK_NOT_FOUND);
    CHECK_INT(list_seasons(c, "no-such-board", &ls, &st), RK_NOT_FOUND);
    CHECK_INT(get_season("no-such-board", 1, 0, 0, &gs, &st), RK_NOT_FOUND);
    /* Not an admin: a player, and nobody at all. */
    CHECK_INT(end_season(player_token, "arena", 0, 0, NULL, NULL, &st), RK_PERMISSION_DENIED);
    CHECK_INT(end_season(NULL, "arena", 0, 0, NULL, NULL, &st), RK_UNAUTHENTICATED);
    /* Unknown seasons: one that never was, and the current one. */
    CHECK_INT(get_season("arena", 7, 0, 0, &gs, &st), RK_NOT_FOUND);
    CHECK_INT(get_season("arena", 2, 0, 0, &gs, &st), RK_NOT_FOUND);
    CHECK(strstr(st.message, "has not ended") != NULL);
    CHECK_INT(get_season("arena", 0, 0, 0, &gs, &st), RK_INVALID_ARGUMENT);
    CHECK_INT(get_season("arena", 1, 0, 5000, &gs, &st), RK_INVALID_ARGUMENT);
    CHECK_INT(end_season(admin, "arena", 1, 0, NULL, NULL, &st), RK_INVALID_ARGUMENT);
    CHECK_INT(end_season(admin, "global", 0, 0, NULL, NULL, &st), RK_INVALID_ARGUMENT);
    /* A schedule that is not one. */
    CHECK_INT(create_board("bad-schedule", "weekly funday 00:00", NULL, &st), RK_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "season_schedule") != NULL);
    CHECK_INT(create_board("bad-schedule", "every 0s", NULL, &st), RK_INVALID_ARGUMENT);
    Rankd__BoardReply *br = NULL;
    CHECK_INT(create_board("good-schedule", "Weekly MON 00:00", &br, &st), RK_OK);
    if (br) {
        CHECK_STR(br->board->season_schedule, "weekly mon 00:00");
        CHECK(br->board->season_ends_at > br->board->created_at);
        CHECK_INT((br->board->season_ends_at / 86400 + 3) % 7, 0); /* a Monday */
        CHECK_INT(br->board->season_ends_at % 86400, 0);
    }
    rk_reply_free(br);
}

/* ---------------------------------------------------------------- rebuilds */

static void rebuild_after_end_gives_current_season(void) {
    char buf[512], want[128];
    rk_status st;
    Rankd__RebuildRequest req = RANKD__REBUILD_REQUEST__INIT;
    Rankd__RebuildReply *rep = NULL;
    rk_call_opts o = it_opts(admin, NULL);
    o.deadline_ms = 30000;
    /* Every board and the global board, from PostgreSQL's history, which
     * holds season 1's rows as well. */
    CHECK_INT(rk_admin_rebuild(c, &req, &rep, &o, &st), RK_OK);
    rk_reply_free(rep);
    snprintf(want, sizeof(want), "%" PRId64 ":10", p1);
    CHECK_INT(top(c, "arena", RANKD__WINDOW__WINDOW_ALL_TIME, buf, sizeof(buf)), 1);
    CHECK_STR(buf, want);
    CHECK_INT(top(c, "arena", RANKD__WINDOW__WINDOW_DAILY, buf, sizeof(buf)), 1);
    CHECK_STR(buf, want);
    CHECK_INT(top(c, "arena", RANKD__WINDOW__WINDOW_WEEKLY, buf, sizeof(buf)), 1);
    CHECK_STR(buf, want);
    CHECK(it_settled(c));
    CHECK_INT(top(c, "global", RANKD__WINDOW__WINDOW_ALL_TIME, buf, sizeof(buf)), 1);
    snprintf(want, sizeof(want), "%" PRId64 ":60", p1);
    CHECK_STR(buf, want);
    /* A report of all time from the history is the current season too;
     * the season's final standings stay as they were. */
    Rankd__ReportRequest rq = RANKD__REPORT_REQUEST__INIT;
    Rankd__ReportReply *rr = NULL;
    rq.board_id = "arena";
    rq.has_from = rq.has_to = 1;
    rq.from = 0;
    rq.to = (int64_t)time(NULL) + 3600;
    CHECK_INT(rk_history_report(c, &rq, &rr, NULL, &st), RK_OK);
    if (rr) {
        CHECK_INT(rr->board_size, 1);
        if (rr->n_entries == 1) CHECK_INT(rr->entries[0]->score, 10);
    }
    rk_reply_free(rr);
    Rankd__GetSeasonReply *gs = NULL;
    CHECK_INT(get_season("arena", 1, 0, 0, &gs, &st), RK_OK);
    if (gs) CHECK_INT(gs->total, 3);
    rk_reply_free(gs);

    /* rk_submit refuses a submission timed before the season began (a
     * rankd whose clock is behind): put the start an hour ahead. The
     * rebuild gives the start back from PostgreSQL. */
    Rankd__BoardReply *br = NULL;
    Rankd__Board *b = get_board(c, "arena", &br);
    int64_t since = b ? b->season_started_us : 0;
    rk_reply_free(br);
    char cmd[128], out[64];
    snprintf(cmd, sizeof(cmd), "SET rk:{arena}:season %" PRId64,
             (int64_t)((int64_t)time(NULL) * 1000000 + 3600000000LL));
    CHECK_INT(it_redis_cli(cmd, out, sizeof(out)), 0);
    Rankd__SubmitRequest sq = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *sr = NULL;
    sq.board_id = "arena";
    sq.has_user_id = sq.has_score = 1;
    sq.user_id = p3;
    sq.score = 5;
    rk_call_opts ko = it_opts(key, NULL);
    ko.deadline_ms = 1500;
    CHECK_INT(rk_scores_submit(c, &sq, &sr, &ko, &st), RK_UNAVAILABLE);
    CHECK(strstr(st.message, "season began after") != NULL);
    rk_reply_free(sr);
    req.board_id = "arena";
    CHECK_INT(rk_admin_rebuild(c, &req, &rep, &o, &st), RK_OK);
    rk_reply_free(rep);
    CHECK_INT(it_redis_cli("GET rk:{arena}:season", out, sizeof(out)), 0);
    CHECK_INT(strtoll(out, NULL, 10), since);
    CHECK_INT(submit("arena", p3, 5, NULL, NULL), RK_OK);
    CHECK_INT(top(c, "arena", RANKD__WINDOW__WINDOW_ALL_TIME, buf, sizeof(buf)), 2);

    /* Redis loses everything: rankd restores the board from the history,
     * the current season only, and its season key with it. */
    CHECK_INT(it_redis_cli("FLUSHALL", out, sizeof(out)), 0);
    int restored = 0;
    for (int i = 0; i < 100 && !restored; i++) {
        usleep(100000);
        restored = it_redis_cli("GET rk:{arena}:season", out, sizeof(out)) == 0 && strtoll(out, NULL, 10) == since;
    }
    CHECK(restored);
    snprintf(want, sizeof(want), "%" PRId64 ":10,%" PRId64 ":5", p1, p3);
    CHECK_INT(top(c, "arena", RANKD__WINDOW__WINDOW_ALL_TIME, buf, sizeof(buf)), 2);
    CHECK_STR(buf, want);
    CHECK(it_settled(c));
    CHECK_INT(top(c, "global", RANKD__WINDOW__WINDOW_ALL_TIME, buf, sizeof(buf)), 2);
    snprintf(want, sizeof(want), "%" PRId64 ":60,%" PRId64 ":5", p1, p3);
    CHECK_STR(buf, want);
}

/* ---------------------------------------------------------------- a schedule, three rankd */

#define EVERY_S 4

static void scheduled_end_once_with_three_rankd(void) {
    it_rankd second = {0}, third = {0};
    rk_status st;
    char buf[256];
    CHECK_INT(it_rankd_spawn(&second, "second", NULL), 0);
    CHECK_INT(it_rankd_spawn(&third, "third", NULL), 0);
    Rankd__BoardReply *br = NULL;
    CHECK_INT(create_board("weekly-arena", "every 4s", &br, &st), RK_OK);
    int64_t created = br ? br->board->created_at : 0;
    rk_reply_free(br);
    CHECK_INT(submit("weekly-arena", p1, 500, NULL, NULL), RK_OK);
    CHECK_INT(submit("weekly-arena", p2, 400, NULL, NULL), RK_OK);

    /* Season 1 ends by itself at created + 4 s. */
    Rankd__ListSeasonsReply *ls = NULL;
    int64_t total = 0;
    for (int i = 0; i < 150 && total < 1; i++) {
        usleep(100000);
        rk_reply_free(ls);
        ls = NULL;
        if (list_seasons(c, "weekly-arena", &ls, &st) == RK_OK) total = ls->total;
    }
    CHECK_INT(total, 1);
    rk_reply_free(ls);
    ls = NULL;
    /* Season 2 gets p3 only; after its end the schedule is turned off. */
    /* Keyed: a submission that meets an end under way is refused for the
     * moment and sent again by the library. */
    CHECK_INT(submit("weekly-arena", p3, 700, "season-2-p3", NULL), RK_OK);
    for (int i = 0; i < 150 && total < 2; i++) {
        usleep(100000);
        rk_reply_free(ls);
        ls = NULL;
        if (list_seasons(c, "weekly-arena", &ls, &st) == RK_OK) total = ls->total;
    }
    rk_reply_free(ls);
    ls = NULL;
    Rankd__UpdateBoardRequest up = RANKD__UPDATE_BOARD_REQUEST__INIT;
    Rankd__BoardReply *ur = NULL;
    up.board_id = "weekly-arena";
    up.season_schedule = "";
    rk_call_opts o = it_opts(admin, NULL);
    CHECK_INT(rk_boards_update_board(c, &up, &ur, &o, &st), RK_OK);
    if (ur) CHECK_STR(ur->board->season_schedule, "");
    rk_reply_free(ur);
    sleep(1); /* an end under way when the schedule went finishes */

    /* Each due instant was ended once: seasons numbered without gaps,
     * each exactly EVERY_S long, each starting where the last ended. */
    CHECK_INT(list_seasons(c, "weekly-arena", &ls, &st), RK_OK);
    CHECK(ls != NULL && ls->total >= 2);
    if (ls && ls->n_seasons >= 2) {
        size_t n = ls->n_seasons;
        fprintf(stderr, "  %zu seasons ended by the schedule\n", n);
        for (size_t i = 0; i < n; i++) {
            const Rankd__Season *s = ls->seasons[n - 1 - i]; /* oldest first */
            CHECK_INT(s->season, i + 1);
            CHECK_STR(s->ended_by, "schedule");
            if (i == 0) {
                CHECK_INT(s->started_us, 0);
                CHECK_INT(s->ended_us, (created + EVERY_S) * 1000000LL);
            } else {
                CHECK_INT(s->started_us, ls->seasons[n - i]->ended_us);
                CHECK_INT(s->ended_us - s->started_us, EVERY_S * 1000000LL);
            }
        }
        CHECK_INT(ls->current, n + 1);
    }
    rk_reply_free(ls);
    ls = NULL;
    /* PostgreSQL holds one row per season and no more. */
    PGconn *pg = PQconnectdb(getenv("RANKD_POSTGRES"));
    PGresult *r = PQexec(pg, "SELECT count(*), count(DISTINCT ended_at), max(season) FROM seasons "
                             "WHERE board_id = 'weekly-arena'");
    CHECK_INT(PQresultStatus(r), PGRES_TUPLES_OK);
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        CHECK_STR(PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
        CHECK_STR(PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    PQfinish(pg);

    /* Season 1's standings: p1 and p2; season 2's: p3. */
    Rankd__GetSeasonReply *gs = NULL;
    CHECK_INT(get_season("weekly-arena", 1, 0, 0, &gs, &st), RK_OK);
    if (gs) {
        CHECK_INT(gs->total, 2);
        if (gs->n_entries == 2) {
            CHECK_INT(gs->entries[0]->user_id, p1);
            CHECK_INT(gs->entries[1]->user_id, p2);
        }
    }
    rk_reply_free(gs);
    gs = NULL;
    CHECK_INT(get_season("weekly-arena", 2, 0, 0, &gs, &st), RK_OK);
    if (gs) {
        CHECK_INT(gs->total, 1);
        if (gs->n_entries == 1) CHECK_INT(gs->entries[0]->user_id, p3);
    }
    rk_reply_free(gs);
    /* Every rankd knows the board's current season and shows it empty. */
    Rankd__BoardReply *keep = NULL;
    Rankd__Board *here = get_board(c, "weekly-arena", &keep);
    int64_t season = here ? (int64_t)here->season : -1;
    rk_reply_free(keep);
    it_rankd *others[] = {&second, &third};
    for (int k = 0; k < 2; k++) {
        Rankd__Board *b = get_board(others[k]->client, "weekly-arena", &keep);
        CHECK(b != NULL);
        if (b) CHECK_INT(b->season, season);
        rk_reply_free(keep);
        CHECK_INT(top(others[k]->client, "weekly-arena", RANKD__WINDOW__WINDOW_ALL_TIME, buf, sizeof(buf)), 0);
    }
    CHECK_INT(it_rankd_stop(&second), 0);
    CHECK_INT(it_rankd_stop(&third), 0);
}

/* ---------------------------------------------------------------- journey 14 */

/* Three rankd whose clocks stand a few seconds before Monday 2027-01-04
 * 00:00 UTC (the harness's own rankd, on today's clock, sees nothing
 * due): the weekly season of a board ends by itself at that instant,
 * once, its standings kept, the board empty. */
static void weekly_season_ends_at_monday_midnight(void) {
    struct tm mon = {.tm_year = 2027 - 1900, .tm_mon = 0, .tm_mday = 4};
    int64_t monday = (int64_t)timegm(&mon);
    char arg[64], buf[256];
    rk_status st;
    snprintf(arg, sizeof(arg), "--clock-start=%" PRId64, monday - 8);
    it_rankd r[3] = {0};
    static const char *const names[] = {"mon-a", "mon-b", "mon-c"};
    for (int i = 0; i < 3; i++) CHECK_INT(it_rankd_spawn(&r[i], names[i], arg), 0);
    if (!r[0].client || !r[1].client || !r[2].client) return;

    Rankd__CreateBoardRequest cq = RANKD__CREATE_BOARD_REQUEST__INIT;
    Rankd__Board b = RANKD__BOARD__INIT;
    Rankd__BoardReply *br = NULL;
    b.id = "arena-weekly";
    b.game = "arena-game";
    b.season_schedule = "weekly mon 00:00";
    Rankd__Window weekly[] = {RANKD__WINDOW__WINDOW_WEEKLY};
    b.windows = weekly;
    b.n_windows = 1;
    cq.board = &b;
    /* A token of the moved clock: today's expired a month before it. */
    char *moved_admin = it_admin_token(r[2].client);
    rk_call_opts o = it_opts(moved_admin, NULL);
    CHECK_INT(rk_boards_create_board(r[2].client, &cq, &br, &o, &st), RK_OK);
    free(moved_admin);
    if (br) CHECK_INT(br->board->season_ends_at, monday);
    rk_reply_free(br);
    Rankd__SubmitRequest sq = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *sr = NULL;
    sq.board_id = "arena-weekly";
    sq.has_user_id = sq.has_score = 1;
    rk_call_opts ko = it_opts(key, NULL);
    sq.user_id = p1, sq.score = 900;
    CHECK_INT(rk_scores_submit(r[0].client, &sq, &sr, &ko, &st), RK_OK);
    rk_reply_free(sr);
    sr = NULL;
    sq.user_id = p2, sq.score = 800;
    CHECK_INT(rk_scores_submit(r[1].client, &sq, &sr, &ko, &st), RK_OK);
    rk_reply_free(sr);
    sr = NULL;

    Rankd__ListSeasonsReply *ls = NULL;
    int64_t total = 0;
    for (int i = 0; i < 250 && total < 1; i++) {
        usleep(100000);
        rk_reply_free(ls);
        ls = NULL;
        if (list_seasons(r[1].client, "arena-weekly", &ls, &st) == RK_OK) total = ls->total;
    }
    CHECK_INT(total, 1);
    if (ls && ls->n_seasons == 1) {
        CHECK_INT(ls->seasons[0]->ended_us, monday * 1000000);
        CHECK_STR(ls->seasons[0]->ended_by, "schedule");
        CHECK_INT(ls->seasons[0]->board_size, 2);
    }
    rk_reply_free(ls);
    ls = NULL;
    Rankd__GetSeasonReply *gs = NULL;
    CHECK_INT(get_season("arena-weekly", 1, 0, 0, &gs, &st), RK_OK);
    if (gs && gs->n_entries == 2) {
        CHECK_INT(gs->entries[0]->user_id, p1);
        CHECK_INT(gs->entries[1]->user_id, p2);
    }
    rk_reply_free(gs);
    /* A submission after it counts in the new season, through any rankd
     * (one whose clock is still before Monday is refused until it is past
     * it; the library retries a keyed submission meanwhile). */
    sq.user_id = p3, sq.score = 100;
    rk_call_opts late = it_opts(key, "after-monday");
    late.deadline_ms = 15000;
    CHECK_INT(rk_scores_submit(r[2].client, &sq, &sr, &late, &st), RK_OK);
    if (sr) CHECK_INT(sr->board_size, 1);
    rk_reply_free(sr);
    sleep(2);
    for (int i = 0; i < 3; i++) {
        char want[64];
        snprintf(want, sizeof(want), "%" PRId64 ":100", p3);
        CHECK_INT(top(r[i].client, "arena-weekly", RANKD__WINDOW__WINDOW_ALL_TIME, buf, sizeof(buf)), 1);
        CHECK_STR(buf, want);
        CHECK_INT(top(r[i].client, "arena-weekly", RANKD__WINDOW__WINDOW_WEEKLY, buf, sizeof(buf)), 1);
    }
    /* Once, by one of the three. */
    CHECK_INT(list_seasons(r[0].client, "arena-weekly", &ls, &st), RK_OK);
    if (ls) {
        CHECK_INT(ls->total, 1);
        CHECK_INT(ls->current, 2);
    }
    rk_reply_free(ls);
    for (int i = 0; i < 3; i++) CHECK_INT(it_rankd_stop(&r[i]), 0);
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    if (admin == NULL) return 1;
    key = it_api_key(c, admin, "arena-game");
    p1 = it_sign_up(c, "season-p1", "season-password");
    p2 = it_sign_up(c, "season-p2", "season-password");
    p3 = it_sign_up(c, "season-p3", "season-password");
    player_token = it_login(c, "season-p1", "season-password");
    if (!key || p1 < 0 || p2 < 0 || p3 < 0 || !player_token) return 1;
    RUN(manual_end_keeps_standings_and_starts_empty);
    RUN(errors_name_what_is_wrong);
    RUN(rebuild_after_end_gives_current_season);
    RUN(scheduled_end_once_with_three_rankd);
    RUN(weekly_season_ends_at_monday_midnight);
    return CHECK_SUMMARY();
}
