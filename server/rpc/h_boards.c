/*
 * h_boards.c - create, get, list and delete boards (admins create and
 * delete; anyone reads).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "boards.h"
#include "rebuild.h"
#include "topcache.h"
#include "handlers.h"
#include "log.h"
#include "validate.h"
#include "window.h"
#include "store_streams.h"

static Rankd__Board *board_message(rpc_call *call, const board *b) {
    Rankd__Board *m = arena_alloc(&call->w->arena, sizeof(*m));
    board *copy = arena_alloc(&call->w->arena, sizeof(*copy));
    Rankd__Window *wins = ARENA_ARRAY(call, Rankd__Window, WINDOW_KINDS);
    char **names = ARENA_ARRAY(call, char *, 2 * BOARD_AGG_MAX);
    if (m == NULL || copy == NULL || wins == NULL || names == NULL) return NULL;
    *copy = *b; /* the message points into this copy, which lives as long as the reply */
    board_to_message(copy, m, wins, names);
    return m;
}

static int board_reply(rpc_call *call, const board *b, ProtobufCMessage **out, rk_status *st) {
    NEW(call, rep, Rankd__BoardReply, rankd__board_reply__init);
    if ((rep->board = board_message(call, b)) == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    *out = &rep->base;
    return RK_OK;
}

/* An aggregate's sources must exist, be plain higher-is-better boards and
 * have room for one more aggregate. */
static int check_sources(rpc_call *call, const board *b, rk_status *st) {
    for (int i = 0; i < b->nsources; i++) {
        board src;
        int rc = pgstore_board_get(call->w->pg, b->sources[i], &src, st);
        if (rc == RK_NOT_FOUND) return rk_status_set(st, RK_NOT_FOUND, "source board %s not found", b->sources[i]);
        if (rc != RK_OK) return rc;
        if (src.nsources > 0)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "board %s is an aggregate itself; name its sources", src.id);
        if (src.shards > 1)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "board %s is sharded; an aggregate sums plain boards (yet)",
                                 src.id);
        if (!src.higher_is_better)
            return rk_status_set(st, RK_INVALID_ARGUMENT,
                                 "board %s is lower-is-better; an aggregate sums higher-is-better boards", src.id);
        if (src.nfeeds >= BOARD_AGG_MAX)
            return rk_status_set(st, RK_FAILED_PRECONDITION, "board %s counts toward %d aggregates already", src.id,
                                 BOARD_AGG_MAX);
    }
    return RK_OK;
}

/* After an aggregate came or went: this rankd's copies of its sources
 * learn their new lists of aggregates, and the other rankd processes read
 * them again. */
static void sources_changed(rpc_call *call, const board *b) {
    for (int i = 0; i < b->nsources; i++) {
        board src;
        rk_status ignore;
        char line[16 + BOARD_ID_MAX];
        if (pgstore_board_get(call->w->pg, b->sources[i], &src, &ignore) == RK_OK) boards_put(call->srv->boards, &src);
        snprintf(line, sizeof(line), "c\t%s", b->sources[i]);
        rstore_publish(call->w->redis, line, &ignore);
    }
}

int h_create_board(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__CreateBoardRequest *req = (const Rankd__CreateBoardRequest *)m;
    board b;
    int rc;
    if ((rc = validate_board(req->board, &b, st)) != RK_OK) return rc;
    if ((rc = validate_reason(req->reason, st)) != RK_OK) return rc;
    if ((rc = check_sources(call, &b, st)) != RK_OK) return rc;
    b.created_at = (int64_t)server_time(); /* rankd's clock, which its windows and seasons follow */
    if ((rc = pgstore_board_create(call->w->pg, &b, st)) != RK_OK) return rc;
    boards_put(call->srv->boards, &b);
    rk_status live;
    if (rstore_set_board_live(call->w->redis, &b, &live) != RK_OK)
        log_warn("a new board's live marker (split layout) is not in Redis; it is set at the next start or restore",
                 "board=%s error=\"%s\"", b.id, live.message);
    /* A hot board's shards say with their season keys that Redis holds
     * them (rebuild_missing); without them a restart rebuilds it. */
    if (b.shards > 1 && rstore_set_season(call->w->redis, &b, 0, &live) != RK_OK)
        log_warn("a new hot board's season keys are not in Redis; a restart rebuilds it", "board=%s error=\"%s\"", b.id,
                 live.message);
    if (b.season_schedule[0]) {
        /* Every rankd's seasons job looks at the boards it knows: "c"
         * makes the others read this one now, not at its first use. */
        char line[16 + BOARD_ID_MAX];
        rk_status ignore;
        snprintf(line, sizeof(line), "c\t%s", b.id);
        rstore_publish(call->w->redis, line, &ignore);
    }
    log_info("board created", "board=%s game=%s sources=%d", b.id, b.game, b.nsources);
    if (b.nsources > 0) {
        /* The aggregate starts from its sources' history, and from then on
         * every submission to them moves it (rebuild.c, write_feeds). */
        int64_t entries = 0;
        rc = rebuild_board(call->w->redis, call->w->pg, &b, call->srv->cfg.window_retention, call->deadline_us,
                           &entries, st);
        sources_changed(call, &b);
        if (rc != RK_OK)
            return rk_status_set(st, rc,
                                 "aggregate board %s was created, but filling it from its sources' history failed "
                                 "(%s); rebuild the board",
                                 b.id, st->message);
    }
    char limits[128] = "";
    if (b.rate_limit || b.max_step || b.max_rate)
        snprintf(limits, sizeof(limits), ", rate_limit %lld, max_step %lld, max_rate %lld", (long long)b.rate_limit,
                 (long long)b.max_step, (long long)b.max_rate);
    char sums[BOARD_AGG_MAX * (BOARD_ID_MAX + 2) + 16] = "";
    for (int i = 0, at = 0; i < b.nsources; i++)
        at += snprintf(sums + at, sizeof(sums) - (size_t)at, "%s%s", i ? "," : ", sums ", b.sources[i]);
    if (b.season_schedule[0]) {
        size_t used = strlen(limits);
        snprintf(limits + used, sizeof(limits) - used, ", seasons end %s", b.season_schedule);
    }
    if ((rc = audit_record(call, AUDIT_BOARD_CREATE, b.id, req->reason, st,
                           "game %s, %s is better, policy %s, scores %lld to %lld%s%s%s", b.game,
                           b.higher_is_better ? "higher" : "lower",
                           b.policy == POLICY_SUM      ? "sum"
                           : b.policy == POLICY_LATEST ? "latest"
                                                       : "best",
                           (long long)b.min_score, (long long)b.max_score,
                           b.player_submit ? ", players may submit" : "", limits, sums)) != RK_OK)
        return rc;
    return board_reply(call, &b, out, st);
}

int h_get_board(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__GetBoardRequest *req = (const Rankd__GetBoardRequest *)m;
    board b;
    int rc;
    if ((rc = validate_id("board_id", req->board_id, st)) != RK_OK) return rc;
    if ((rc = boards_get(call->srv->boards, call->w->pg, req->board_id, &b, st)) != RK_OK) return rc;
    return board_reply(call, &b, out, st);
}

int h_list_boards(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__ListBoardsRequest *req = (const Rankd__ListBoardsRequest *)m;
    board *all = NULL;
    size_t n = 0;
    int rc;
    if (req->game && req->game[0] && (rc = validate_id("game", req->game, st)) != RK_OK) return rc;
    if ((rc = boards_list(call->srv->boards, req->game, &all, &n, st)) != RK_OK) return rc;
    Rankd__ListBoardsReply *rep = arena_alloc(&call->w->arena, sizeof(*rep));
    Rankd__Board **list = ARENA_ARRAY(call, Rankd__Board *, n);
    rc = RK_OK;
    if (rep == NULL || list == NULL) rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; rc == RK_OK && i < n; i++)
        if ((list[i] = board_message(call, &all[i])) == NULL)
            rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    free(all);
    if (rc != RK_OK) return rc;
    rankd__list_boards_reply__init(rep);
    rep->n_boards = n;
    rep->boards = list;
    *out = &rep->base;
    return RK_OK;
}

int h_delete_board(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__DeleteBoardRequest *req = (const Rankd__DeleteBoardRequest *)m;
    board b;
    int rc;
    if ((rc = validate_id("board_id", req->board_id, st)) != RK_OK) return rc;
    if ((rc = validate_reason(req->reason, st)) != RK_OK) return rc;
    if ((rc = pgstore_board_get(call->w->pg, req->board_id, &b, st)) != RK_OK) return rc;
    if (b.nfeeds > 0)
        return rk_status_set(st, RK_FAILED_PRECONDITION,
                             "board %s counts toward aggregate board %s%s; delete the aggregate first", b.id,
                             b.feeds[0], b.nfeeds > 1 ? " and others" : "");
    if (b.nsources > 0) {
        /* PostgreSQL first: its sources stop naming it (and a rankd that
         * still does is refused, see rankd.lua), then its keys go. */
        if ((rc = pgstore_board_delete(call->w->pg, b.id, st)) != RK_OK) return rc;
        for (int i = 0; rc == RK_OK && i < b.nsources; i++) {
            board src;
            if ((rc = pgstore_board_get(call->w->pg, b.sources[i], &src, st)) == RK_OK)
                rc = rstore_set_feeds(call->w->redis, &src, st);
            /* Its sources' streams need not wait for it any more. */
            if (rc == RK_OK) rc = rstore_mirror_forget(call->w->redis, b.sources[i], b.id, st);
        }
        sources_changed(call, &b);
        if (rc == RK_OK) rc = rstore_drop_board(call->w->redis, &b, st);
        if (rc != RK_OK)
            return rk_status_set(st, rc,
                                 "aggregate board %s was deleted, but Redis still holds it (%s); rebuild its "
                                 "sources",
                                 b.id, st->message);
    } else {
        /* Redis first: if it fails, the board still exists everywhere. */
        if ((rc = rstore_drop_board(call->w->redis, &b, st)) != RK_OK) return rc;
        if ((rc = pgstore_board_delete(call->w->pg, b.id, st)) != RK_OK) return rc;
        if ((rc = rebuild_global_after(call->w->redis, call->w->pg, &b, call->deadline_us, st)) != RK_OK)
            return rk_status_set(st, rc, "board %s was deleted, but the global board still counts it (%s); rebuild it",
                                 b.id, st->message);
    }
    boards_remove(call->srv->boards, b.id);
    log_info("board deleted", "board=%s", b.id);
    if ((rc = audit_record(call, AUDIT_BOARD_DELETE, b.id, req->reason, st, "game %s", b.game)) != RK_OK) return rc;
    NEW(call, rep, Rankd__Empty, rankd__empty__init);
    *out = &rep->base;
    return RK_OK;
}

/* ---------------------------------------------------------------- updating */

/* Appends ", what" to the detail of an update. */
static void said(char *buf, size_t cap, const char *what) {
    size_t n = strlen(buf);
    if (n + 3 < cap) snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", what);
}

int h_update_board(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__UpdateBoardRequest *req = (const Rankd__UpdateBoardRequest *)m;
    board b;
    char detail[400] = "";
    int rc;
    if ((rc = validate_id("board_id", req->board_id, st)) != RK_OK) return rc;
    if ((rc = validate_reason(req->reason, st)) != RK_OK) return rc;
    if (req->title && strlen(req->title) > BOARD_TITLE_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "title is longer than %d bytes", BOARD_TITLE_MAX);
    if ((rc = pgstore_board_get(call->w->pg, req->board_id, &b, st)) != RK_OK) return rc;
    if (b.nsources > 0 && (req->n_add_windows > 0 || req->has_min_score || req->has_max_score ||
                           req->has_player_submit || req->has_rate_limit || req->has_max_step || req->has_max_rate ||
                           (req->season_schedule && req->season_schedule[0])))
        return rk_status_set(st, RK_INVALID_ARGUMENT,
                             "board %s is an aggregate: only its title can change (windows, bounds, seasons and "
                             "the anti-cheat settings belong on its sources)",
                             b.id);
    /* Every stored score was ranked under the board's order and policy,
     * and rebuilds, reports and standings would rank it under the new
     * ones: a different board, which is a new board. */
    if (req->has_order && req->order != RANKD__ORDER__ORDER_UNSPECIFIED &&
        (req->order == RANKD__ORDER__ORDER_HIGHER_IS_BETTER) != b.higher_is_better)
        return rk_status_set(st, RK_FAILED_PRECONDITION,
                             "board %s is %s is better; its scores were ranked so, and the order cannot change "
                             "(create a new board)",
                             b.id, b.higher_is_better ? "higher" : "lower");
    if (req->has_policy && req->policy != RANKD__POLICY__POLICY_UNSPECIFIED && (int)req->policy != (int)b.policy)
        return rk_status_set(st, RK_FAILED_PRECONDITION,
                             "board %s keeps each player's %s; its scores were ranked so, and the policy cannot "
                             "change (create a new board)",
                             b.id,
                             b.policy == POLICY_SUM      ? "sum"
                             : b.policy == POLICY_LATEST ? "latest"
                                                         : "best");
    unsigned windows = b.windows;
    for (size_t i = 0; i < req->n_add_windows; i++) {
        if ((int)req->add_windows[i] < 0 || req->add_windows[i] >= WINDOW_KINDS)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "unknown window %d", (int)req->add_windows[i]);
        windows |= WINDOW_BIT(req->add_windows[i]);
    }
    int64_t mn = req->has_min_score ? req->min_score : b.min_score;
    int64_t mx = req->has_max_score ? req->max_score : b.max_score;
    if (mn < -SCORE_LIMIT || mx > SCORE_LIMIT)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "score bounds must lie within -2^53..2^53 (exact in Redis)");
    if (mn > mx)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "min_score %lld is above max_score %lld", (long long)mn,
                             (long long)mx);
    Rankd__Board limits = RANKD__BOARD__INIT;
    limits.has_rate_limit = req->has_rate_limit;
    limits.rate_limit = req->rate_limit;
    limits.has_max_step = req->has_max_step;
    limits.max_step = req->max_step;
    limits.has_max_rate = req->has_max_rate;
    limits.max_rate = req->max_rate;
    board nb = b;
    if ((rc = validate_board_limits(&limits, &nb, st)) != RK_OK) return rc;
    if (req->title) snprintf(nb.title, sizeof(nb.title), "%s", req->title);
    nb.windows = windows;
    nb.min_score = mn;
    nb.max_score = mx;
    if (req->has_player_submit) nb.player_submit = req->player_submit;
    if (req->season_schedule && (rc = validate_season_schedule(req->season_schedule, &nb, st)) != RK_OK) return rc;

    char what[BOARD_TITLE_MAX + 32];
    if (strcmp(nb.title, b.title) != 0) {
        snprintf(what, sizeof(what), "title \"%s\"", nb.title);
        said(detail, sizeof(detail), what);
    }
    if (nb.min_score != b.min_score || nb.max_score != b.max_score) {
        snprintf(what, sizeof(what), "scores %lld to %lld", (long long)nb.min_score, (long long)nb.max_score);
        said(detail, sizeof(detail), what);
    }
    if (nb.player_submit != b.player_submit)
        said(detail, sizeof(detail), nb.player_submit ? "players may submit" : "players may not submit");
    for (int k = 1; k < WINDOW_KINDS; k++)
        if ((nb.windows & ~b.windows) & WINDOW_BIT(k)) {
            static const char *const names[WINDOW_KINDS] = {"all-time", "daily", "weekly", "monthly"};
            snprintf(what, sizeof(what), "%s window added", names[k]);
            said(detail, sizeof(detail), what);
        }
    if (nb.rate_limit != b.rate_limit) {
        snprintf(what, sizeof(what), "rate_limit %lld", (long long)nb.rate_limit);
        said(detail, sizeof(detail), what);
    }
    if (nb.max_step != b.max_step) {
        snprintf(what, sizeof(what), "max_step %lld", (long long)nb.max_step);
        said(detail, sizeof(detail), what);
    }
    if (nb.max_rate != b.max_rate) {
        snprintf(what, sizeof(what), "max_rate %lld", (long long)nb.max_rate);
        said(detail, sizeof(detail), what);
    }
    if (strcmp(nb.season_schedule, b.season_schedule) != 0) {
        snprintf(what, sizeof(what), "season schedule \"%s\"", nb.season_schedule);
        said(detail, sizeof(detail), what);
    }

    if ((rc = pgstore_board_update(call->w->pg, &nb, st)) != RK_OK) return rc;
    boards_put(call->srv->boards, &nb);
    rk_status ignore;
    char line[16 + BOARD_ID_MAX];
    snprintf(line, sizeof(line), "c\t%s", nb.id);
    /* The other rankd processes read the board again; without Redis they
     * do at their next start (docs/ARCHITECTURE.md, Known limits). */
    rstore_publish(call->w->redis, line, &ignore);
    if (nb.windows != b.windows) {
        /* A new window starts from the history, not empty: this period's
         * submissions are in it at once. */
        int64_t entries = 0;
        if ((rc = rebuild_board(call->w->redis, call->w->pg, &nb, call->srv->cfg.window_retention, call->deadline_us,
                                &entries, st)) != RK_OK)
            return rk_status_set(st, rc,
                                 "board %s now keeps the new windows, but filling them from the history failed (%s); "
                                 "rebuild the board",
                                 nb.id, st->message);
        topcache_invalidate(call->srv->tops, nb.id);
    }
    log_info("board updated", "board=%s", nb.id);
    if ((rc = audit_record(call, AUDIT_BOARD_UPDATE, nb.id, req->reason, st, "%s",
                           detail[0] ? detail : "nothing changed")) != RK_OK)
        return rc;
    return board_reply(call, &nb, out, st);
}
