/*
 * h_seasons.c - the rankd.Seasons service: an admin ends a board's
 * season; anyone lists the ended seasons and reads one's final
 * standings. The rules of an end are in service/seasons.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "boards.h"
#include "handlers.h"
#include "seasons.h"
#include "validate.h"

#define LIST_DEFAULT 50
#define LIST_MAX 1000
#define STANDINGS_DEFAULT 100
#define STANDINGS_MAX 1000

/* A board a season call names: not the global board, which has no season
 * of its own (it sums the boards' current seasons). */
static int season_board(rpc_call *call, const char *id, board *b, rk_status *st) {
    int rc;
    if ((rc = validate_id("board_id", id, st)) != RK_OK) return rc;
    if (strcmp(id, BOARD_GLOBAL_ID) == 0)
        return rk_status_set(st, RK_INVALID_ARGUMENT,
                             "the global board has no seasons: it sums the current seasons of the other boards");
    return boards_get(call->srv->boards, call->w->pg, id, b, st);
}

static int page(const char *field, int has, uint32_t v, uint32_t def, uint32_t max, int64_t *out, rk_status *st) {
    if (!has) {
        *out = def;
        return RK_OK;
    }
    if (v < 1 || v > max) return rk_status_set(st, RK_INVALID_ARGUMENT, "%s must be 1 to %u, not %u", field, max, v);
    *out = v;
    return RK_OK;
}

static Rankd__Season *season_message(rpc_call *call, const pg_season *s) {
    Rankd__Season *m = arena_alloc(&call->w->arena, sizeof(*m));
    if (m == NULL) return NULL;
    rankd__season__init(m);
    m->board_id = arena_strdup(&call->w->arena, s->board_id);
    m->ended_by = arena_strdup(&call->w->arena, s->ended_by);
    m->reason = arena_strdup(&call->w->arena, s->reason);
    if (!m->board_id || !m->ended_by || !m->reason) return NULL;
    m->has_season = m->has_started_us = m->has_ended_us = m->has_board_size = 1;
    m->season = (uint32_t)s->season;
    m->started_us = s->started_us;
    m->ended_us = s->ended_us;
    m->board_size = s->board_size;
    return m;
}

int h_end_season(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__EndSeasonRequest *req = (const Rankd__EndSeasonRequest *)m;
    board b;
    pg_user admin;
    int rc;
    if ((rc = season_board(call, req->board_id, &b, st)) != RK_OK) return rc;
    if ((rc = validate_reason(req->reason, st)) != RK_OK) return rc;
    if (req->has_season && req->season < 1) return rk_status_set(st, RK_INVALID_ARGUMENT, "season must be 1 or more");
    /* PostgreSQL's board, not the cache's: another rankd may have ended a
     * season since. */
    if ((rc = pgstore_board_get(call->w->pg, b.id, &b, st)) != RK_OK) return rc;
    if (b.nsources > 0)
        return rk_status_set(st, RK_FAILED_PRECONDITION,
                             "board %s is an aggregate: it sums its sources' current seasons; end theirs", b.id);
    if (req->has_season && req->season != b.season)
        return rk_status_set(st, RK_FAILED_PRECONDITION, "board %s is in season %lld, not %u", b.id,
                             (long long)b.season, req->season);
    if ((rc = pgstore_user_by_id(call->w->pg, call->who.user_id, &admin, st)) != RK_OK) return rc;
    seasons_end_in in = {.b = &b,
                         .season = b.season,
                         .ended_us = server_wall_us(),
                         .ended_by = admin.username,
                         .reason = req->reason,
                         .deadline_us = call->deadline_us};
    rebuild_season_result res;
    if ((rc = seasons_end(call->srv, call->w->redis, call->w->pg, &in, &res, st)) != RK_OK) return rc;
    if (!res.ended)
        return rk_status_set(st, RK_FAILED_PRECONDITION, "season %lld of board %s was ended meanwhile; it is in %lld",
                             (long long)b.season, b.id, (long long)res.board.season);
    if ((rc = audit_record(call, AUDIT_SEASON_END, b.id, req->reason, st, "season %lld, %lld players ranked",
                           (long long)b.season, (long long)res.board_size)) != RK_OK)
        return rc;
    pg_season ended = {
        .season = b.season, .started_us = b.season_started_us, .ended_us = res.ended_us, .board_size = res.board_size};
    snprintf(ended.board_id, sizeof(ended.board_id), "%s", b.id);
    snprintf(ended.ended_by, sizeof(ended.ended_by), "%s", admin.username);
    snprintf(ended.reason, sizeof(ended.reason), "%s", req->reason ? req->reason : "");
    NEW(call, rep, Rankd__EndSeasonReply, rankd__end_season_reply__init);
    if ((rep->ended = season_message(call, &ended)) == NULL)
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    rep->has_current = 1;
    rep->current = (uint32_t)res.board.season;
    *out = &rep->base;
    return RK_OK;
}

int h_list_seasons(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__ListSeasonsRequest *req = (const Rankd__ListSeasonsRequest *)m;
    board b;
    int64_t limit = 0, total = 0;
    pg_season *rows = NULL;
    size_t n = 0;
    int rc;
    if ((rc = season_board(call, req->board_id, &b, st)) != RK_OK) return rc;
    if ((rc = page("limit", req->has_limit, req->limit, LIST_DEFAULT, LIST_MAX, &limit, st)) != RK_OK) return rc;
    if ((rc = pgstore_seasons_list(call->w->pg, b.id, req->has_offset ? req->offset : 0, limit, &rows, &n, &total,
                                   st)) != RK_OK)
        return rc;
    Rankd__ListSeasonsReply *rep = arena_alloc(&call->w->arena, sizeof(*rep));
    Rankd__Season **list = ARENA_ARRAY(call, Rankd__Season *, n);
    rc = rep && list ? RK_OK : rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; rc == RK_OK && i < n; i++)
        if ((list[i] = season_message(call, &rows[i])) == NULL)
            rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    free(rows);
    if (rc != RK_OK) return rc;
    rankd__list_seasons_reply__init(rep);
    rep->seasons = list;
    rep->n_seasons = n;
    rep->has_total = rep->has_current = 1;
    rep->total = total;
    /* Seasons are numbered without gaps, so the count of ended ones says
     * the current one even while this rankd's cache lags another's end. */
    rep->current = (uint32_t)(b.season > total ? b.season : total + 1);
    *out = &rep->base;
    return RK_OK;
}

int h_get_season(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__GetSeasonRequest *req = (const Rankd__GetSeasonRequest *)m;
    board b;
    int64_t limit = 0, total = 0;
    pg_season s;
    pg_rank_row *rows = NULL;
    size_t n = 0;
    int rc;
    if ((rc = season_board(call, req->board_id, &b, st)) != RK_OK) return rc;
    if (!req->has_season || req->season < 1)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "season is required (1 or more)");
    if ((rc = page("limit", req->has_limit, req->limit, STANDINGS_DEFAULT, STANDINGS_MAX, &limit, st)) != RK_OK)
        return rc;
    if ((rc = pgstore_season_get(call->w->pg, b.id, req->season, req->has_offset ? req->offset : 0, limit, &s, &rows,
                                 &n, &total, st)) != RK_OK) {
        if (rc == RK_NOT_FOUND && req->season >= b.season)
            rk_status_set(st, rc, "season %u of board %s has not ended (the board is in season %lld)", req->season,
                          b.id, (long long)b.season);
        return rc;
    }
    NEW(call, rep, Rankd__GetSeasonReply, rankd__get_season_reply__init);
    if ((rep->season = season_message(call, &s)) == NULL || rank_entries(call, rows, n, s.board_size, &rep->entries)) {
        free(rows);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    free(rows);
    rep->n_entries = n;
    rep->has_total = 1;
    rep->total = total;
    *out = &rep->base;
    return RK_OK;
}
