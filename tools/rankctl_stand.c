/*
 * rankctl_stand.c - where a player stands: the players in a score range.
 *
 * Design. Like every command file: build the request from already-split
 * arguments, make the call, hand the reply to ctl_emit() with a printer
 * for people (--json prints the reply as it is). Score bounds (--min,
 * --max) are inclusive and either may be left out, as in the schema.
 *
 * What it must never do: exit, or print an error (see rankctl_cmds.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "rankctl_cmds.h"

/* Scores are exact within +-2^53; the server refuses anything beyond. */
#define SCORE_ABS_MAX 9007199254740992LL

int ctl_opt_score(ctl_ctx *cx, const ctl_args *a, const char *opt, protobuf_c_boolean *has, int64_t *out) {
    const char *s = ctl_opt(a, opt);
    if (s == NULL) return RK_OK;
    *has = 1;
    return ctl_parse_i64(cx, opt, s, -SCORE_ABS_MAX, SCORE_ABS_MAX, out);
}

/* --min and --max into a request's bounds; min must not be above max. */
int ctl_opt_bounds(ctl_ctx *cx, const ctl_args *a, protobuf_c_boolean *has_min, int64_t *min,
                   protobuf_c_boolean *has_max, int64_t *max) {
    int code;
    if ((code = ctl_opt_score(cx, a, "--min", has_min, min)) != RK_OK ||
        (code = ctl_opt_score(cx, a, "--max", has_max, max)) != RK_OK)
        return code;
    if (*has_min && *has_max && *min > *max) return ctl_usage(cx, "--min must not be above --max");
    return RK_OK;
}

/* ---------------------------------------------------------------- score-range */

static int human_range(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)arg;
    const Rankd__RankListReply *r = (const void *)m;
    ctl_tbl t = {.ncols = 3, .right = 1u << 0 | 1u << 2};
    char rb[24], pb[32], sb[24];
    int code = ctl_tbl_add(cx, &t, "RANK", "PLAYER", "SCORE");
    for (size_t i = 0; code == RK_OK && i < r->n_entries; i++) {
        const Rankd__RankEntry *e = r->entries[i];
        code = ctl_tbl_add(cx, &t, ctl_show_i64(e->rank, rb, sizeof(rb)),
                           ctl_show_player(e->user_id, e->username, pb, sizeof(pb)),
                           ctl_show_i64(e->score, sb, sizeof(sb)));
    }
    if (code == RK_OK) {
        ctl_tbl_print(&t);
        printf("(%" PRId64 " player%s in the range, %" PRId64 " on the board)\n", r->total, r->total == 1 ? "" : "s",
               r->board_size);
    }
    ctl_tbl_free(&t);
    return code;
}

int cmd_score_range(ctl_ctx *cx, const ctl_args *a) {
    Rankd__ScoreRangeRequest req = RANKD__SCORE_RANGE_REQUEST__INIT;
    Rankd__RankListReply *reply = NULL;
    int code;
    req.board_id = a->pos[0];
    if ((code = ctl_opt_bounds(cx, a, &req.has_min_score, &req.min_score, &req.has_max_score, &req.max_score)) !=
            RK_OK ||
        (code = ctl_opt_window(cx, a, &req.has_window, &req.window)) != RK_OK ||
        (code = ctl_opt_rank_mode(cx, a, &req.has_rank_mode, &req.rank_mode)) != RK_OK ||
        (code = ctl_opt_u32(cx, a, "--offset", &req.has_offset, &req.offset)) != RK_OK ||
        (code = ctl_opt_u32(cx, a, "--limit", &req.has_limit, &req.limit)) != RK_OK)
        return code;
    code = rk_ranking_score_range(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_range, NULL);
}
