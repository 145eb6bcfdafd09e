/*
 * rankctl_seasons.c - `season end|list|show`: ending a board's season and
 * reading the ended ones back (rankd.Seasons).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "rankctl_cmds.h"

/* Who ended a season, as a column shows it. */
static const char *show_by(const Rankd__Season *s) { return s->ended_by && *s->ended_by ? s->ended_by : "-"; }

static const char *show_start(const Rankd__Season *s, char *buf, size_t n) {
    return s->started_us ? ctl_show_time_us(s->started_us, buf, n) : "(the board's creation)";
}

static int human_end(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx;
    (void)arg;
    const Rankd__EndSeasonReply *r = (const void *)m;
    const Rankd__Season *s = r->ended;
    char eb[48];
    if (s == NULL) return rk_status_set(&cx->st, RK_INTERNAL, "rankd sent no season");
    printf("Season %u of %s ended at %s: %" PRId64 " player%s ranked, final standings kept. Season %u has begun.\n",
           s->season, s->board_id, ctl_show_time_us(s->ended_us, eb, sizeof(eb)), s->board_size,
           s->board_size == 1 ? "" : "s", r->current);
    return RK_OK;
}

int cmd_season_end(ctl_ctx *cx, const ctl_args *a) {
    Rankd__EndSeasonRequest req = RANKD__END_SEASON_REQUEST__INIT;
    Rankd__EndSeasonReply *reply = NULL;
    int code;
    req.board_id = a->pos[0];
    req.reason = (char *)ctl_opt(a, "--reason");
    if ((code = ctl_opt_u32(cx, a, "--season", &req.has_season, &req.season)) != RK_OK) return code;
    code = rk_seasons_end_season(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_end, NULL);
}

static int human_list(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    const Rankd__ListSeasonsReply *r = (const void *)m;
    const char *board = arg;
    ctl_tbl t = {.ncols = 5, .right = 1u << 0 | 1u << 3};
    char nb[16], sb[48], eb[48], pb[24];
    int code = ctl_tbl_add(cx, &t, "SEASON", "STARTED", "ENDED", "PLAYERS", "ENDED BY");
    for (size_t i = 0; code == RK_OK && i < r->n_seasons; i++) {
        const Rankd__Season *s = r->seasons[i];
        snprintf(nb, sizeof(nb), "%u", s->season);
        code = ctl_tbl_add(cx, &t, nb, show_start(s, sb, sizeof(sb)), ctl_show_time_us(s->ended_us, eb, sizeof(eb)),
                           ctl_show_i64(s->board_size, pb, sizeof(pb)), show_by(s));
    }
    if (code == RK_OK) {
        ctl_tbl_print(&t);
        printf("(%" PRId64 " ended season%s of %s; season %u is under way)\n", r->total, r->total == 1 ? "" : "s",
               board, r->current);
    }
    ctl_tbl_free(&t);
    return code;
}

int cmd_season_list(ctl_ctx *cx, const ctl_args *a) {
    Rankd__ListSeasonsRequest req = RANKD__LIST_SEASONS_REQUEST__INIT;
    Rankd__ListSeasonsReply *reply = NULL;
    int code;
    req.board_id = a->pos[0];
    if ((code = ctl_opt_u32(cx, a, "--offset", &req.has_offset, &req.offset)) != RK_OK ||
        (code = ctl_opt_u32(cx, a, "--limit", &req.has_limit, &req.limit)) != RK_OK)
        return code;
    code = rk_seasons_list_seasons(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_list, a->pos[0]);
}

static int human_show(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)arg;
    const Rankd__GetSeasonReply *r = (const void *)m;
    const Rankd__Season *s = r->season;
    char sb[48], eb[48];
    if (s == NULL) return rk_status_set(&cx->st, RK_INTERNAL, "rankd sent no season");
    ctl_tbl t = {.ncols = 3, .right = 1u << 0 | 1u << 2};
    char rb[24], pb[32], vb[24];
    int code = ctl_tbl_add(cx, &t, "RANK", "PLAYER", "SCORE");
    for (size_t i = 0; code == RK_OK && i < r->n_entries; i++) {
        const Rankd__RankEntry *e = r->entries[i];
        code = ctl_tbl_add(cx, &t, ctl_show_i64(e->rank, rb, sizeof(rb)),
                           ctl_show_player(e->user_id, e->username, pb, sizeof(pb)),
                           ctl_show_i64(e->score, vb, sizeof(vb)));
    }
    if (code == RK_OK) {
        printf("Season %u of %s: %s to %s, ended by %s%s%s\n", s->season, s->board_id, show_start(s, sb, sizeof(sb)),
               ctl_show_time_us(s->ended_us, eb, sizeof(eb)), show_by(s), s->reason && *s->reason ? ": " : "",
               s->reason ? s->reason : "");
        ctl_tbl_print(&t);
        printf("(%" PRId64 " player%s ranked at the end; %" PRId64 " kept in the final standings)\n", s->board_size,
               s->board_size == 1 ? "" : "s", r->total);
    }
    ctl_tbl_free(&t);
    return code;
}

int cmd_season_show(ctl_ctx *cx, const ctl_args *a) {
    Rankd__GetSeasonRequest req = RANKD__GET_SEASON_REQUEST__INIT;
    Rankd__GetSeasonReply *reply = NULL;
    int code;
    req.board_id = a->pos[0];
    if ((code = ctl_parse_u32(cx, "N", a->pos[1], &req.season)) != RK_OK) return code;
    req.has_season = 1;
    if ((code = ctl_opt_u32(cx, a, "--offset", &req.has_offset, &req.offset)) != RK_OK ||
        (code = ctl_opt_u32(cx, a, "--limit", &req.has_limit, &req.limit)) != RK_OK)
        return code;
    code = rk_seasons_get_season(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_show, NULL);
}
