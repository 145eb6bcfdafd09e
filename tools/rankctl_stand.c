/*
 * rankctl_stand.c - where a player stands: the players in a score range,
 * percentiles, the spread of a board's scores, and one player on every
 * board.
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
#include <stdlib.h>
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

/* ---------------------------------------------------------------- percentile */

static int human_percentile(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx, (void)arg;
    const Rankd__PercentileReply *r = (const void *)m;
    ctl_kv("score", "%" PRId64, r->score);
    ctl_kv("rank", "%" PRId64 " of %" PRId64, r->rank, r->board_size);
    ctl_kv("percentile", "top %.4g%%", r->percentile);
    return RK_OK;
}

int cmd_percentile(ctl_ctx *cx, const ctl_args *a) {
    Rankd__PercentileRequest req = RANKD__PERCENTILE_REQUEST__INIT;
    Rankd__PercentileReply *reply = NULL;
    const char *top = ctl_opt(a, "--top");
    int code;
    req.board_id = a->pos[0];
    if ((code = ctl_opt_window(cx, a, &req.has_window, &req.window)) != RK_OK ||
        (code = ctl_opt_score(cx, a, "--score", &req.has_score, &req.score)) != RK_OK)
        return code;
    if ((top == NULL) == !req.has_score) return ctl_usage(cx, "percentile: give exactly one of --top and --score");
    if (top) {
        char *end;
        req.percentile = strtod(top, &end);
        if (*top == '\0' || *end != '\0' || !(req.percentile > 0 && req.percentile <= 100))
            return ctl_usage(cx, "--top: '%s' is not a percentage in (0, 100]", top);
        req.has_percentile = 1;
    }
    code = rk_ranking_percentile(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_percentile, NULL);
}

/* ---------------------------------------------------------------- distribution */

/* A bar of up to 40 characters, scaled to the fullest bucket. */
static void bar(char *buf, size_t cap, int64_t count, int64_t most) {
    size_t n = most > 0 ? (size_t)((count * 40 + most - 1) / most) : 0;
    if (n >= cap) n = cap - 1;
    memset(buf, '#', n);
    buf[n] = '\0';
}

static int human_distribution(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)arg;
    const Rankd__DistributionReply *r = (const void *)m;
    ctl_tbl t = {.ncols = 4, .right = 1u << 0 | 1u << 1 | 1u << 2};
    char lb[24], hb[24], cb[24], bb[48];
    int64_t most = 0;
    for (size_t i = 0; i < r->n_buckets; i++)
        if (r->buckets[i]->count > most) most = r->buckets[i]->count;
    int code = ctl_tbl_add(cx, &t, "FROM", "TO", "PLAYERS", "");
    for (size_t i = 0; code == RK_OK && i < r->n_buckets; i++) {
        const Rankd__Bucket *b = r->buckets[i];
        bar(bb, sizeof(bb), b->count, most);
        if (r->player && r->has_player_bucket && r->player_bucket == (int32_t)i) {
            /* The player asked for with --user: marked on their bucket. */
            size_t used = strlen(bb);
            snprintf(bb + used, sizeof(bb) - used, "%s<", used ? " " : "");
        }
        code = ctl_tbl_add(cx, &t, ctl_show_i64(b->min_score, lb, sizeof(lb)),
                           ctl_show_i64(b->max_score, hb, sizeof(hb)), ctl_show_i64(b->count, cb, sizeof(cb)), bb);
    }
    if (code == RK_OK) {
        ctl_tbl_print(&t);
        printf("(%" PRId64 " player%s on the board)\n", r->board_size, r->board_size == 1 ? "" : "s");
        if (r->player)
            printf("(<: the player, score %" PRId64 ", rank %" PRId64 ", top %.4g%%)\n", r->player->score,
                   r->player->rank, r->player->percentile);
    }
    ctl_tbl_free(&t);
    return code;
}

int cmd_distribution(ctl_ctx *cx, const ctl_args *a) {
    Rankd__DistributionRequest req = RANKD__DISTRIBUTION_REQUEST__INIT;
    Rankd__DistributionReply *reply = NULL;
    int code;
    const char *user = ctl_opt(a, "--user"), *name = NULL;
    req.board_id = a->pos[0];
    if (user && (code = ctl_parse_user(cx, "--user", user, &req.user_id, &name)) != RK_OK) return code;
    req.has_user_id = req.user_id != 0;
    req.username = (char *)name;
    if ((code = ctl_opt_window(cx, a, &req.has_window, &req.window)) != RK_OK ||
        (code = ctl_opt_u32(cx, a, "--buckets", &req.has_buckets, &req.buckets)) != RK_OK ||
        (code = ctl_opt_bounds(cx, a, &req.has_min_score, &req.min_score, &req.has_max_score, &req.max_score)) != RK_OK)
        return code;
    code = rk_ranking_distribution(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_distribution, NULL);
}

/* ---------------------------------------------------------------- standing */

static int human_standing(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)arg;
    const Rankd__StandingReply *r = (const void *)m;
    ctl_tbl t = {.ncols = 5, .right = 1u << 1 | 1u << 2 | 1u << 3 | 1u << 4};
    char rb[24], sb[24], pb[24], nb[24];
    int code = ctl_tbl_add(cx, &t, "BOARD", "RANK", "SCORE", "TOP %", "PLAYERS");
    for (size_t i = 0; code == RK_OK && i < r->n_boards; i++) {
        const Rankd__BoardStanding *b = r->boards[i];
        const Rankd__RankEntry *e = b->entry;
        snprintf(pb, sizeof(pb), "%.4g", e ? e->percentile : 0.0);
        code = ctl_tbl_add(cx, &t, b->board_id, e ? ctl_show_i64(e->rank, rb, sizeof(rb)) : "-",
                           e ? ctl_show_i64(e->score, sb, sizeof(sb)) : "-", pb,
                           ctl_show_i64(b->board_size, nb, sizeof(nb)));
    }
    if (code == RK_OK) {
        ctl_tbl_print(&t);
        printf("(on %" PRId64 " board%s)\n", r->total, r->total == 1 ? "" : "s");
    }
    ctl_tbl_free(&t);
    return code;
}

int cmd_standing(ctl_ctx *cx, const ctl_args *a) {
    Rankd__StandingRequest req = RANKD__STANDING_REQUEST__INIT;
    Rankd__StandingReply *reply = NULL;
    const char *name;
    int code;
    if ((code = ctl_parse_user(cx, "USER", a->pos[0], &req.user_id, &name)) != RK_OK ||
        (code = ctl_opt_window(cx, a, &req.has_window, &req.window)) != RK_OK ||
        (code = ctl_opt_rank_mode(cx, a, &req.has_rank_mode, &req.rank_mode)) != RK_OK ||
        (code = ctl_opt_u32(cx, a, "--offset", &req.has_offset, &req.offset)) != RK_OK ||
        (code = ctl_opt_u32(cx, a, "--limit", &req.has_limit, &req.limit)) != RK_OK)
        return code;
    req.has_user_id = req.user_id != 0;
    req.username = (char *)name;
    req.game = (char *)ctl_opt(a, "--game");
    code = rk_ranking_standing(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_standing, NULL);
}
