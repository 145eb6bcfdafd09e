/*
 * validate.c - the input rules, one function each.
 */
#include <string.h>

#include "json.h"
#include "validate.h"
#include "wire.h"
#include "window.h"

static int id_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; }

int validate_id(const char *field, const char *id, rk_status *st) {
    if (id == NULL || id[0] == '\0') return rk_status_set(st, RK_INVALID_ARGUMENT, "%s is required", field);
    size_t n = strlen(id);
    if (n > BOARD_ID_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "%s is longer than %d characters", field, BOARD_ID_MAX);
    for (size_t i = 0; i < n; i++)
        if (!id_char(id[i]))
            return rk_status_set(st, RK_INVALID_ARGUMENT, "%s may contain only a-z, 0-9, '_' and '-'", field);
    return RK_OK;
}

int validate_username(const char *name, rk_status *st) {
    if (name == NULL || name[0] == '\0') return rk_status_set(st, RK_INVALID_ARGUMENT, "username is required");
    size_t n = strlen(name);
    if (n < USERNAME_MIN || n > USERNAME_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "username must be %d to %d characters", USERNAME_MIN,
                             USERNAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-'))
            return rk_status_set(st, RK_INVALID_ARGUMENT,
                                 "username may contain only letters, digits, '_', '.' and '-'");
    }
    return RK_OK;
}

int validate_password(const char *pw, rk_status *st) {
    size_t n = pw ? strlen(pw) : 0;
    if (n < PASSWORD_MIN)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "password must be at least %d characters", PASSWORD_MIN);
    if (n > PASSWORD_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "password must be at most %d characters", PASSWORD_MAX);
    return RK_OK;
}

int validate_reason(const char *reason, rk_status *st) {
    size_t n = reason ? strlen(reason) : 0;
    if (n > REASON_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "reason must be at most %d bytes, not %zu", REASON_MAX, n);
    return RK_OK;
}

int validate_meta(const char *meta, rk_status *st) {
    if (meta == NULL || meta[0] == '\0') return RK_OK;
    /* The size first, looking at no more than one byte past the limit, so
     * an oversized text costs nothing to refuse. */
    size_t n = strnlen(meta, META_MAX + 1);
    if (n > META_MAX) return rk_status_set(st, RK_INVALID_ARGUMENT, "meta must be at most %d bytes", META_MAX);
    if (!wire_text_ok((const uint8_t *)meta, n))
        return rk_status_set(st, RK_INVALID_ARGUMENT, "meta is not valid UTF-8");
    const char *why = NULL;
    size_t at = 0;
    if (!json_is_object(meta, n, &why, &at))
        return rk_status_set(st, RK_INVALID_ARGUMENT, "meta must be a JSON object: %s at byte %zu", why, at);
    return RK_OK;
}

int validate_time(const char *field, int64_t s, rk_status *st) {
    if (s < 0 || s > TIME_MAX_S)
        return rk_status_set(st, RK_INVALID_ARGUMENT,
                             "%s must be Unix seconds from 0 (1970) to %lld (the end of 9999), not %lld", field,
                             (long long)TIME_MAX_S, (long long)s);
    return RK_OK;
}

int validate_score(const board *b, int64_t score, rk_status *st) {
    if (score < b->min_score)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "score %lld is below board %s's minimum %lld", (long long)score,
                             b->id, (long long)b->min_score);
    if (score > b->max_score)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "score %lld is above board %s's maximum %lld", (long long)score,
                             b->id, (long long)b->max_score);
    return RK_OK;
}

int validate_board(const Rankd__Board *in, board *out, rk_status *st) {
    int rc;
    if (in == NULL) return rk_status_set(st, RK_INVALID_ARGUMENT, "board is required");
    memset(out, 0, sizeof(*out));
    if ((rc = validate_id("board id", in->id, st)) != RK_OK) return rc;
    if (strcmp(in->id, BOARD_GLOBAL_ID) == 0)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "board id \"global\" is reserved for the global board");
    if ((rc = validate_id("game", in->game, st)) != RK_OK) return rc;
    if (in->title && strlen(in->title) > BOARD_TITLE_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "title is longer than %d bytes", BOARD_TITLE_MAX);
    strcpy(out->id, in->id);
    strcpy(out->game, in->game);
    strcpy(out->title, in->title ? in->title : "");

    out->higher_is_better = 1;
    if (in->has_order && in->order == RANKD__ORDER__ORDER_LOWER_IS_BETTER)
        out->higher_is_better = 0;
    else if (in->has_order && in->order != RANKD__ORDER__ORDER_HIGHER_IS_BETTER &&
             in->order != RANKD__ORDER__ORDER_UNSPECIFIED)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "order must be higher or lower is better");

    out->policy = POLICY_BEST;
    if (in->has_policy && in->policy != RANKD__POLICY__POLICY_UNSPECIFIED) {
        if (in->policy < RANKD__POLICY__POLICY_BEST || in->policy > RANKD__POLICY__POLICY_SUM)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "policy must be best, latest or sum");
        out->policy = (board_policy)in->policy;
    }

    out->windows = WINDOW_BIT(WINDOW_ALL);
    for (size_t i = 0; i < in->n_windows; i++) {
        if ((int)in->windows[i] < 0 || in->windows[i] >= WINDOW_KINDS)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "unknown window %d", (int)in->windows[i]);
        out->windows |= WINDOW_BIT(in->windows[i]);
    }

    out->min_score = in->has_min_score ? in->min_score : -SCORE_LIMIT;
    out->max_score = in->has_max_score ? in->max_score : SCORE_LIMIT;
    if (out->min_score < -SCORE_LIMIT || out->max_score > SCORE_LIMIT)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "score bounds must lie within -2^53..2^53 (exact in Redis)");
    if (out->min_score > out->max_score)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "min_score %lld is above max_score %lld",
                             (long long)out->min_score, (long long)out->max_score);
    out->player_submit = in->has_player_submit && in->player_submit;
    if ((rc = validate_board_sources(in, out, st)) != RK_OK) return rc;
    out->season = 1;
    if ((rc = validate_season_schedule(in->season_schedule, out, st)) != RK_OK) return rc;
    if ((rc = validate_board_shards(in, out, st)) != RK_OK) return rc;
    return validate_board_limits(in, out, st);
}

/* An aggregate's own settings: what it keeps follows from its sources,
 * so it may only say what it sums. Whether the sources exist and may be
 * summed is for the caller, which can look them up. */
int validate_board_sources(const Rankd__Board *in, board *out, rk_status *st) {
    int rc;
    if (in->n_sources == 0) return RK_OK;
    if (in->n_sources > BOARD_AGG_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "an aggregate board sums 1 to %d boards, not %zu", BOARD_AGG_MAX,
                             in->n_sources);
    for (size_t i = 0; i < in->n_sources; i++) {
        if ((rc = validate_id("source board", in->sources[i], st)) != RK_OK) return rc;
        if (strcmp(in->sources[i], BOARD_GLOBAL_ID) == 0 || strcmp(in->sources[i], out->id) == 0)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "an aggregate board cannot sum %s",
                                 strcmp(in->sources[i], out->id) == 0 ? "itself" : "the global board");
        for (size_t j = 0; j < i; j++)
            if (strcmp(in->sources[i], in->sources[j]) == 0)
                return rk_status_set(st, RK_INVALID_ARGUMENT, "source board %s is named twice", in->sources[i]);
        strcpy(out->sources[i], in->sources[i]);
    }
    out->nsources = (int)in->n_sources;
    if (!out->higher_is_better)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "an aggregate board is higher-is-better (it sums points)");
    if (in->has_policy && in->policy != RANKD__POLICY__POLICY_UNSPECIFIED && in->policy != RANKD__POLICY__POLICY_SUM)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "an aggregate board's policy is sum");
    if (out->windows != WINDOW_BIT(WINDOW_ALL))
        return rk_status_set(st, RK_INVALID_ARGUMENT,
                             "an aggregate board keeps all time only (its sources' all-time values)");
    /* Each may be given as an aggregate has it (a board read back and sent
     * again), not otherwise. */
    if (out->player_submit || (in->has_rate_limit && in->rate_limit) || (in->has_max_step && in->max_step) ||
        (in->has_max_rate && in->max_rate) || (in->has_min_score && in->min_score != -SCORE_LIMIT) ||
        (in->has_max_score && in->max_score != SCORE_LIMIT) || (in->season_schedule && in->season_schedule[0]))
        return rk_status_set(st, RK_INVALID_ARGUMENT,
                             "an aggregate board takes no submissions: bounds, player_submit, seasons and the "
                             "anti-cheat settings belong on its sources (it sums their current seasons)");
    out->policy = POLICY_SUM;
    return RK_OK;
}

int validate_board_shards(const Rankd__Board *in, board *out, rk_status *st) {
    out->shards = 1;
    out->shard = 0;
    if (!in->has_shards || in->shards <= 1) return RK_OK;
    if (in->shards > BOARD_SHARDS_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "shards must be 1 to %d, not %u", BOARD_SHARDS_MAX, in->shards);
    /* What a hot board does not do yet (docs/ARCHITECTURE.md, Hot boards):
     * an aggregate sums its sources into one sorted set. */
    if (out->nsources > 0)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "an aggregate board cannot be sharded (shards 1)");
    out->shards = (int)in->shards;
    return RK_OK;
}

int validate_board_limits(const Rankd__Board *in, board *out, rk_status *st) {
    if (in->has_rate_limit) {
        if (in->rate_limit > BOARD_RATE_LIMIT_MAX)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "rate_limit must be 0 (none) to %d a minute, not %u",
                                 BOARD_RATE_LIMIT_MAX, in->rate_limit);
        out->rate_limit = in->rate_limit;
    }
    if (in->has_max_step) {
        if (in->max_step < 0 || in->max_step > 2 * SCORE_LIMIT)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "max_step must be 0 (none) to 2^54, not %lld",
                                 (long long)in->max_step);
        out->max_step = in->max_step;
    }
    if (in->has_max_rate) {
        if (in->max_rate < 0 || in->max_rate > 2 * SCORE_LIMIT)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "max_rate must be 0 (none) to 2^54 a second, not %lld",
                                 (long long)in->max_rate);
        out->max_rate = in->max_rate;
    }
    return RK_OK;
}

int validate_season_schedule(const char *text, board *out, rk_status *st) {
    season_schedule s;
    int rc;
    if ((rc = season_parse(text, &s, st)) != RK_OK) return rc;
    season_format(&s, out->season_schedule);
    return RK_OK;
}

int64_t board_season_ends_at(const board *b) {
    season_schedule s;
    rk_status ignore;
    if (season_parse(b->season_schedule, &s, &ignore) != RK_OK) return 0;
    int64_t began = b->season_started_us > 0 ? b->season_started_us / 1000000 : b->created_at;
    return season_next_end(&s, began);
}

void board_to_message(const board *b, Rankd__Board *out, Rankd__Window *windows_buf, char **sources_buf) {
    rankd__board__init(out);
    out->id = (char *)b->id;
    out->game = (char *)b->game;
    out->title = (char *)b->title;
    out->has_order = 1;
    out->order = b->higher_is_better ? RANKD__ORDER__ORDER_HIGHER_IS_BETTER : RANKD__ORDER__ORDER_LOWER_IS_BETTER;
    out->has_policy = 1;
    out->policy = (Rankd__Policy)b->policy;
    size_t n = 0;
    for (int k = 0; k < WINDOW_KINDS; k++)
        if (b->windows & WINDOW_BIT(k)) windows_buf[n++] = (Rankd__Window)k;
    out->n_windows = n;
    out->windows = windows_buf;
    out->has_min_score = out->has_max_score = 1;
    out->min_score = b->min_score;
    out->max_score = b->max_score;
    out->has_player_submit = 1;
    out->player_submit = b->player_submit;
    out->has_created_at = 1;
    out->created_at = b->created_at;
    out->has_rate_limit = out->has_max_step = out->has_max_rate = 1;
    out->rate_limit = (uint32_t)b->rate_limit;
    out->max_step = b->max_step;
    out->max_rate = b->max_rate;
    for (int i = 0; i < b->nsources; i++) sources_buf[i] = (char *)b->sources[i];
    out->n_sources = (size_t)b->nsources;
    out->sources = sources_buf;
    for (int i = 0; i < b->nfeeds; i++) sources_buf[b->nsources + i] = (char *)b->feeds[i];
    out->n_feeds = (size_t)b->nfeeds;
    out->feeds = sources_buf + b->nsources;
    out->season_schedule = (char *)b->season_schedule;
    out->has_season = out->has_season_started_us = out->has_season_ends_at = 1;
    out->season = (uint32_t)b->season;
    out->season_started_us = b->season_started_us;
    out->season_ends_at = board_season_ends_at(b);
    out->has_shards = 1;
    out->shards = (uint32_t)(b->shards > 1 ? b->shards : 1);
}
