/*
 * h_admin.c - server status and roles, and the method table itself.
 */
#include <string.h>
#include <time.h>

#include "audit.h"
#include "boards.h"
#include "degraded.h"
#include "auth.h"
#include "handlers.h"
#include "metrics.h"
#include "rebuild.h"
#include "recovery.h"
#include "topcache.h"
#include "validate.h"
#include "wire.h"
#include "store_streams.h"

#ifndef RANKD_VERSION
#define RANKD_VERSION "0.1.0"
#endif

/* ---------------------------------------------------------------- request bounds
 *
 * Each method's largest legitimate request, computed from the schema's
 * limits: every field present and at its longest (strings at their
 * maximum length, varints at 10 bytes, repeated fields at their maximum
 * count). Ids are at most BOARD_ID_MAX (64) bytes, usernames USERNAME_MAX
 * (32), passwords PASSWORD_MAX (128), titles and labels BOARD_TITLE_MAX
 * (128), idempotency keys IDEMPOTENCY_KEY_MAX (128). */
#define ID_F WIRE_LEN_FIELD(BOARD_ID_MAX)
#define USER_F WIRE_LEN_FIELD(USERNAME_MAX)
#define INT_F WIRE_INT_FIELD
/* "2026-11-23", "2026-W45", "2026-11": 32 is generous. */
#define LABEL_F WIRE_LEN_FIELD(32)

/* A season schedule (field 15); a board's season, start and end (16-18)
 * have two-byte tags, counted where they are used. */
#define SEASON_F WIRE_LEN_FIELD(SEASON_SCHEDULE_MAX)
/* An admin request's reason, field 30: a two-byte tag. */
#define REASON_F (1 + WIRE_LEN_FIELD(REASON_MAX))

#define SIGN_UP_MAX (USER_F + WIRE_LEN_FIELD(PASSWORD_MAX))
#define API_KEY_MAX (ID_F + WIRE_LEN_FIELD(BOARD_TITLE_MAX) + REASON_F)
/* id, game, title, order, policy, each window once, bounds, player_submit,
 * created_at, rate_limit, max_step, max_rate. */
#define BOARD_MSG                                                                                            \
    (2 * ID_F + WIRE_LEN_FIELD(BOARD_TITLE_MAX) + 2 * INT_F + WINDOW_KINDS * INT_F + 4 * INT_F + 3 * INT_F + \
     SEASON_F + 3 * (1 + INT_F))
#define CREATE_BOARD_MAX (WIRE_MSG_FIELD(BOARD_MSG) + REASON_F)
/* board_id, title, bounds, player_submit, each window once, the three
 * anti-cheat settings, order, policy, a reason. */
#define UPDATE_BOARD_MAX \
    (ID_F + WIRE_LEN_FIELD(BOARD_TITLE_MAX) + 3 * INT_F + WINDOW_KINDS * INT_F + 5 * INT_F + SEASON_F + REASON_F)
#define SUBMIT_MAX (ID_F + INT_F + USER_F + INT_F)
/* Record metadata, field 20: a two-byte tag. A Submit may carry it on top
 * of SUBMIT_MAX; a SubmitBatch's entries share the batch's bound with it
 * (docs/PROTOCOL.md, Limits). */
#define META_F (1 + WIRE_LEN_FIELD(META_MAX))
/* board_id, user_id, username, score, idempotency_key: 255 bytes. */
#define BATCH_ENTRY (SUBMIT_MAX + WIRE_LEN_FIELD(IDEMPOTENCY_KEY_MAX))
/* 1000 entries: 259,000 bytes, the largest request of all. */
#define SUBMIT_BATCH_BOUND (SUBMIT_BATCH_MAX * WIRE_MSG_FIELD(BATCH_ENTRY))
#define TOP_MAX_REQ (ID_F + 4 * INT_F)
#define RANK_MAX_REQ (ID_F + 3 * INT_F + USER_F)
#define AROUND_MAX_REQ (ID_F + 5 * INT_F + USER_F)
/* 1000 players, each an id (11 bytes) or a username (35): 35,089 bytes. */
#define RANKS_OF_BOUND (ID_F + 2 * INT_F + RANKS_OF_MAX * USER_F)
/* board_id, window, and the score bounds of a range count. */
#define COUNT_MAX_REQ (ID_F + 3 * INT_F)
#define SNAPSHOT_MAX_REQ (ID_F + INT_F)
/* board_id, window, bounds, offset, limit, rank_mode. */
#define SCORE_RANGE_MAX_REQ (ID_F + 6 * INT_F)
/* board_id, window, a percentile (a double: tag and 8 bytes), a score. */
#define PERCENTILE_MAX_REQ (ID_F + INT_F + 9 + INT_F)
/* board_id, window, buckets, bounds, the player to mark. */
#define DISTRIBUTION_MAX_REQ (ID_F + 4 * INT_F + INT_F + USER_F)
/* user_id, username, window, offset, limit, rank_mode, game. */
#define STANDING_MAX_REQ (INT_F + USER_F + 4 * INT_F + ID_F)
#define HISTORY_MAX_REQ (ID_F + 5 * INT_F + USER_F)
#define REPORT_MAX_REQ (ID_F + 5 * INT_F)
#define STANDINGS_MAX_REQ (ID_F + INT_F + LABEL_F)
#define SET_ROLE_MAX (USER_F + INT_F + REASON_F)
#define ID_REASON_MAX (ID_F + REASON_F)
/* before_id, limit, action and target (at most 64 bytes each). */
#define AUDIT_MAX_REQ (2 * INT_F + 2 * WIRE_LEN_FIELD(64))
/* board_id, user_id, username, reason (field 4: a one-byte tag). */
#define REMOVE_ENTRY_MAX (ID_F + INT_F + USER_F + WIRE_LEN_FIELD(REASON_MAX))
/* user_id, username, reason. */
#define BAN_MAX (INT_F + USER_F + WIRE_LEN_FIELD(REASON_MAX))
/* An entry id (at most 64 bytes), approve, reason. */
#define REVIEW_MAX (WIRE_LEN_FIELD(64) + INT_F + WIRE_LEN_FIELD(REASON_MAX))
/* game, name, shards, stale_ms, created_at */
#define CREATE_COUNTER_MAX WIRE_MSG_FIELD(2 * ID_F + 3 * INT_F)
#define COUNTER_REQ_MAX (2 * ID_F + INT_F)

/* Adding a method to the schema means adding its row here; rankd refuses
 * to start if the schema has a method this table lacks, or names another
 * input type (see main.c). A row with .fast runs on the event loops (its
 * common case never blocks) and falls back to .fn on the worker pool;
 * the others run on the worker pool only. */
const rpc_method rankd_methods[] = {
    {.name = "rankd.Auth/SignUp",
     .input = &rankd__sign_up_request__descriptor,
     .fn = h_sign_up,
     .access = ACCESS_ANYONE,
     .max_request = SIGN_UP_MAX},
    {.name = "rankd.Auth/Login",
     .input = &rankd__login_request__descriptor,
     .fn = h_login,
     .access = ACCESS_ANYONE,
     .max_request = SIGN_UP_MAX},
    {.name = "rankd.Auth/Logout",
     .input = &rankd__empty__descriptor,
     .fn = h_logout,
     .access = ACCESS_AUTHED,
     .max_request = 0},
    {.name = "rankd.Auth/WhoAmI",
     .input = &rankd__empty__descriptor,
     .fn = h_who_am_i,
     .access = ACCESS_AUTHED,
     .max_request = 0},
    {.name = "rankd.Auth/CreateApiKey",
     .input = &rankd__create_api_key_request__descriptor,
     .fn = h_create_api_key,
     .access = ACCESS_ADMIN,
     .max_request = API_KEY_MAX},
    {.name = "rankd.Auth/ListApiKeys",
     .input = &rankd__list_api_keys_request__descriptor,
     .fn = h_list_api_keys,
     .access = ACCESS_ADMIN,
     .max_request = ID_F},
    {.name = "rankd.Auth/RevokeApiKey",
     .input = &rankd__revoke_api_key_request__descriptor,
     .fn = h_revoke_api_key,
     .access = ACCESS_ADMIN,
     .max_request = INT_F + REASON_F},
    {.name = "rankd.Boards/CreateBoard",
     .input = &rankd__create_board_request__descriptor,
     .fn = h_create_board,
     .access = ACCESS_ADMIN,
     .max_request = CREATE_BOARD_MAX},
    {.name = "rankd.Boards/UpdateBoard",
     .input = &rankd__update_board_request__descriptor,
     .fn = h_update_board,
     .access = ACCESS_ADMIN,
     .max_request = UPDATE_BOARD_MAX},
    {.name = "rankd.Boards/GetBoard",
     .input = &rankd__get_board_request__descriptor,
     .fn = h_get_board,
     .access = ACCESS_ANYONE,
     .max_request = ID_F},
    {.name = "rankd.Boards/ListBoards",
     .input = &rankd__list_boards_request__descriptor,
     .fn = h_list_boards,
     .access = ACCESS_ANYONE,
     .max_request = ID_F},
    {.name = "rankd.Boards/DeleteBoard",
     .input = &rankd__delete_board_request__descriptor,
     .fn = h_delete_board,
     .access = ACCESS_ADMIN,
     .max_request = ID_REASON_MAX},
    {.name = "rankd.Scores/Submit",
     .input = &rankd__submit_request__descriptor,
     .fn = h_submit,
     .access = ACCESS_AUTHED,
     .max_request = SUBMIT_MAX + META_F},
    {.name = "rankd.Scores/SubmitBatch",
     .input = &rankd__submit_batch_request__descriptor,
     .fn = h_submit_batch,
     .access = ACCESS_AUTHED,
     .max_request = SUBMIT_BATCH_BOUND},
    {.name = "rankd.Ranking/Top",
     .input = &rankd__top_request__descriptor,
     .fn = h_top,
     .fast = f_top,
     .access = ACCESS_ANYONE,
     .max_request = TOP_MAX_REQ},
    {.name = "rankd.Ranking/Rank",
     .input = &rankd__rank_request__descriptor,
     .fn = h_rank,
     .fast = f_rank,
     .access = ACCESS_ANYONE,
     .max_request = RANK_MAX_REQ},
    {.name = "rankd.Ranking/Around",
     .input = &rankd__around_request__descriptor,
     .fn = h_around,
     .fast = f_around,
     .access = ACCESS_ANYONE,
     .max_request = AROUND_MAX_REQ},
    {.name = "rankd.Ranking/RanksOf",
     .input = &rankd__ranks_of_request__descriptor,
     .fn = h_ranks_of,
     .fast = f_ranks_of,
     .access = ACCESS_ANYONE,
     .max_request = RANKS_OF_BOUND},
    {.name = "rankd.Ranking/Count",
     .input = &rankd__count_request__descriptor,
     .fn = h_count,
     .fast = f_count,
     .access = ACCESS_ANYONE,
     .max_request = COUNT_MAX_REQ},
    {.name = "rankd.Ranking/ScoreRange",
     .input = &rankd__score_range_request__descriptor,
     .fn = h_score_range,
     .fast = f_score_range,
     .access = ACCESS_ANYONE,
     .max_request = SCORE_RANGE_MAX_REQ},
    {.name = "rankd.Ranking/Percentile",
     .input = &rankd__percentile_request__descriptor,
     .fn = h_percentile,
     .fast = f_percentile,
     .access = ACCESS_ANYONE,
     .max_request = PERCENTILE_MAX_REQ},
    {.name = "rankd.Ranking/Distribution",
     .input = &rankd__distribution_request__descriptor,
     .fn = h_distribution,
     .fast = f_distribution,
     .access = ACCESS_ANYONE,
     .max_request = DISTRIBUTION_MAX_REQ},
    /* One read per board: the workers take it (the loops would hold a turn). */
    {.name = "rankd.Ranking/Standing",
     .input = &rankd__standing_request__descriptor,
     .fn = h_standing,
     .access = ACCESS_ANYONE,
     .max_request = STANDING_MAX_REQ},
    {.name = "rankd.History/History",
     .input = &rankd__history_request__descriptor,
     .fn = h_history,
     .access = ACCESS_ANYONE,
     .max_request = HISTORY_MAX_REQ},
    {.name = "rankd.History/Report",
     .input = &rankd__report_request__descriptor,
     .fn = h_report,
     .access = ACCESS_ANYONE,
     .max_request = REPORT_MAX_REQ},
    {.name = "rankd.History/Standings",
     .input = &rankd__standings_request__descriptor,
     .fn = h_standings,
     .access = ACCESS_ANYONE,
     .max_request = STANDINGS_MAX_REQ},
    {.name = "rankd.History/Snapshot",
     .input = &rankd__snapshot_request__descriptor,
     .fn = h_snapshot,
     .access = ACCESS_ANYONE,
     .max_request = SNAPSHOT_MAX_REQ},
    {.name = "rankd.Admin/Status",
     .input = &rankd__empty__descriptor,
     .fn = h_status,
     .access = ACCESS_ANYONE,
     .max_request = 0},
    {.name = "rankd.Admin/SetRole",
     .input = &rankd__set_role_request__descriptor,
     .fn = h_set_role,
     .access = ACCESS_ADMIN,
     .max_request = SET_ROLE_MAX},
    {.name = "rankd.Admin/Rebuild",
     .input = &rankd__rebuild_request__descriptor,
     .fn = h_rebuild,
     .access = ACCESS_ADMIN,
     .max_request = ID_REASON_MAX},
    {.name = "rankd.Admin/DeadLetters",
     .input = &rankd__dead_letters_request__descriptor,
     .fn = h_dead_letters,
     .access = ACCESS_ADMIN,
     .max_request = INT_F},
    {.name = "rankd.Counters/CreateCounter",
     .input = &rankd__create_counter_request__descriptor,
     .fn = h_create_counter,
     .access = ACCESS_ADMIN,
     .max_request = CREATE_COUNTER_MAX},
    {.name = "rankd.Counters/ListCounters",
     .input = &rankd__list_counters_request__descriptor,
     .fn = h_list_counters,
     .access = ACCESS_ANYONE,
     .max_request = ID_F},
    {.name = "rankd.Counters/Incr",
     .input = &rankd__incr_request__descriptor,
     .fn = h_incr,
     .fast = f_incr,
     .access = ACCESS_AUTHED,
     .max_request = COUNTER_REQ_MAX},
    {.name = "rankd.Counters/GetCounter",
     .input = &rankd__get_counter_request__descriptor,
     .fn = h_get_counter,
     .fast = f_get_counter,
     .access = ACCESS_ANYONE,
     .max_request = COUNTER_REQ_MAX},
    {.name = "rankd.Moderation/Audit",
     .input = &rankd__audit_request__descriptor,
     .fn = h_audit,
     .access = ACCESS_ADMIN,
     .max_request = AUDIT_MAX_REQ},
    {.name = "rankd.Moderation/Held",
     .input = &rankd__held_request__descriptor,
     .fn = h_held,
     .access = ACCESS_ADMIN,
     .max_request = ID_F + INT_F},
    {.name = "rankd.Moderation/Review",
     .input = &rankd__review_request__descriptor,
     .fn = h_review,
     .access = ACCESS_ADMIN,
     .max_request = REVIEW_MAX},
    {.name = "rankd.Moderation/RemoveEntry",
     .input = &rankd__remove_entry_request__descriptor,
     .fn = h_remove_entry,
     .access = ACCESS_ADMIN,
     .max_request = REMOVE_ENTRY_MAX},
    {.name = "rankd.Moderation/Ban",
     .input = &rankd__ban_request__descriptor,
     .fn = h_ban,
     .access = ACCESS_ADMIN,
     .max_request = BAN_MAX},
    {.name = "rankd.Moderation/Unban",
     .input = &rankd__unban_request__descriptor,
     .fn = h_unban,
     .access = ACCESS_ADMIN,
     .max_request = BAN_MAX},
    {.name = "rankd.Seasons/EndSeason",
     .input = &rankd__end_season_request__descriptor,
     .fn = h_end_season,
     .access = ACCESS_ADMIN,
     .max_request = ID_F + INT_F + REASON_F},
    {.name = "rankd.Seasons/ListSeasons",
     .input = &rankd__list_seasons_request__descriptor,
     .fn = h_list_seasons,
     .access = ACCESS_ANYONE,
     .max_request = ID_F + 2 * INT_F},
    {.name = "rankd.Seasons/GetSeason",
     .input = &rankd__get_season_request__descriptor,
     .fn = h_get_season,
     .access = ACCESS_ANYONE,
     .max_request = ID_F + 3 * INT_F},
};
const size_t rankd_nmethods = sizeof(rankd_methods) / sizeof(rankd_methods[0]);

const ProtobufCServiceDescriptor *const rankd_services[] = {
    &rankd__auth__descriptor,       &rankd__boards__descriptor,   &rankd__scores__descriptor,
    &rankd__ranking__descriptor,    &rankd__history__descriptor,  &rankd__admin__descriptor,
    &rankd__moderation__descriptor, &rankd__counters__descriptor, &rankd__seasons__descriptor,
};
const size_t rankd_nservices = sizeof(rankd_services) / sizeof(rankd_services[0]);

int h_status(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    (void)m;
    rk_status ignore;
    int64_t backlog = 0;
    NEW(call, rep, Rankd__ServerStatus, rankd__server_status__init);
    rep->version = RANKD_VERSION;
    rep->has_redis_ok = rep->has_postgres_ok = rep->has_uptime_s = rep->has_requests_total = 1;
    /* While the recovery job finds Redis away or loading, asking it again
     * could only wait: on a cluster, behind the retries of calls already
     * sent to a master that answers CLUSTERDOWN while it loads. */
    recovery_state rs = recovery_get(call->srv->recovery);
    rep->redis_ok = rs != RECOVERY_DOWN && rs != RECOVERY_LOADING && rstore_ping(call->w->redis, &ignore) == RK_OK;
    rep->postgres_ok = pgstore_ping(call->w->pg, &ignore) == RK_OK;
    rep->uptime_s = (int64_t)(server_time() - call->srv->started);
    rep->requests_total = atomic_load(&call->srv->requests);
    rep->has_now = 1;
    rep->now = (int64_t)server_time();
    int64_t first = 0;
    if (rep->redis_ok && rstore_backlog(call->w->redis, &backlog, &first, &ignore) == RK_OK) {
        rep->has_writebehind_backlog = 1;
        rep->writebehind_backlog = backlog;
        /* The lag as the health check measures it: the age of the oldest
         * entry by the wall clock, 0 with nothing waiting. */
        rep->has_writebehind_lag_ms = 1;
        if (backlog > 0 && first > 0) rep->writebehind_lag_ms = server_wall_us() / 1000 - first;
        if (rep->writebehind_lag_ms < 0) rep->writebehind_lag_ms = 0;
    }
    int64_t unapplied = 0;
    if (rep->redis_ok && rstore_get_layout() == RSTORE_SPLIT &&
        rstore_applier_backlog(call->w->redis, &unapplied, &ignore) == RK_OK) {
        rep->has_applier_backlog = 1;
        rep->applier_backlog = unapplied;
    }
    metrics_latency lat;
    metrics_request_latency(&lat);
    rep->has_latency_count = rep->has_latency_sum_us = 1;
    rep->latency_count = lat.count;
    rep->latency_sum_us = lat.sum_us;
    rep->n_latency_le_us = rep->n_latency_le_count = METRICS_LATENCY_BOUNDS;
    rep->latency_le_us = ARENA_ARRAY(call, int64_t, METRICS_LATENCY_BOUNDS);
    rep->latency_le_count = ARENA_ARRAY(call, int64_t, METRICS_LATENCY_BOUNDS);
    if (rep->latency_le_us == NULL || rep->latency_le_count == NULL)
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    memcpy(rep->latency_le_us, lat.le_us, sizeof(lat.le_us));
    memcpy(rep->latency_le_count, lat.le_count, sizeof(lat.le_count));
    rep->has_degraded = 1;
    rep->degraded = !rep->redis_ok || recovery_degraded(call->srv->recovery);
    rep->redis_state = (char *)recovery_state_name(recovery_get(call->srv->recovery));
    if (rep->postgres_ok && degraded_backlog_size(call->w->pg, &backlog, &ignore) == RK_OK) {
        rep->has_redis_backlog = 1;
        rep->redis_backlog = backlog;
    }
    if (rep->postgres_ok && pgstore_dead_letter_count(call->w->pg, &backlog, &ignore) == RK_OK) {
        rep->has_dead_letters = 1;
        rep->dead_letters = backlog;
    }
    *out = &rep->base;
    return RK_OK;
}

int h_set_role(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__SetRoleRequest *req = (const Rankd__SetRoleRequest *)m;
    int rc;
    if ((rc = validate_username(req->username, st)) != RK_OK) return rc;
    if ((rc = validate_reason(req->reason, st)) != RK_OK) return rc;
    if (!req->has_role || (req->role != RANKD__ROLE__ROLE_PLAYER && req->role != RANKD__ROLE__ROLE_ADMIN))
        return rk_status_set(st, RK_INVALID_ARGUMENT, "role must be player or admin (game servers use API keys)");
    int64_t uid = 0, gen = 0;
    if ((rc = pgstore_user_set_role(call->w->pg, req->username, req->role, &uid, &gen, st)) != RK_OK) return rc;
    /* PostgreSQL has the new generation; every rankd's memory is what
     * token checks read, and auth_raised_gen tells them all. Even an
     * unchanged role is published: a retry after a failure here then
     * reaches everyone. */
    if ((rc = auth_raised_gen(call, uid, gen, st)) != RK_OK) return rc;
    if ((rc = audit_record(call, AUDIT_ROLE_SET, req->username, req->reason, st, "role %s",
                           req->role == RANKD__ROLE__ROLE_ADMIN ? "admin" : "player")) != RK_OK)
        return rc;
    NEW(call, rep, Rankd__Empty, rankd__empty__init);
    *out = &rep->base;
    return RK_OK;
}

int h_rebuild(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__RebuildRequest *req = (const Rankd__RebuildRequest *)m;
    int64_t boards = 0, entries = 0;
    int rc;
    if ((rc = validate_reason(req->reason, st)) != RK_OK) return rc;
    if (req->board_id && req->board_id[0]) {
        board b;
        if ((rc = validate_id("board_id", req->board_id, st)) != RK_OK) return rc;
        if (strcmp(req->board_id, BOARD_GLOBAL_ID) == 0) {
            rc = rebuild_global(call->w->redis, call->w->pg, call->deadline_us, &entries, st);
        } else {
            if ((rc = boards_get(call->srv->boards, call->w->pg, req->board_id, &b, st)) != RK_OK) return rc;
            /* The board's totals feed the global board: rebuild both. */
            if ((rc = rebuild_board(call->w->redis, call->w->pg, &b, call->srv->cfg.window_retention, call->deadline_us,
                                    &entries, st)) == RK_OK &&
                (rc = rebuild_global(call->w->redis, call->w->pg, call->deadline_us, &entries, st)) ==
                    RK_DEADLINE_EXCEEDED)
                rk_status_set(st, rc, "deadline exceeded after board %s was rebuilt; rebuild %s for the global board",
                              b.id, BOARD_GLOBAL_ID);
        }
        boards = 1;
    } else {
        rc = rebuild_all(call->w->redis, call->w->pg, call->srv->boards, call->srv->cfg.window_retention,
                         call->deadline_us, &boards, &entries, st);
    }
    topcache_invalidate_all(call->srv->tops); /* boards were swapped in under the cache */
    if (rc != RK_OK) return rc;
    if ((rc = audit_record(call, AUDIT_REBUILD, req->board_id && req->board_id[0] ? req->board_id : "every board",
                           req->reason, st, "%lld boards, %lld entries", (long long)boards, (long long)entries)) !=
        RK_OK)
        return rc;
    NEW(call, rep, Rankd__RebuildReply, rankd__rebuild_reply__init);
    rep->has_boards = rep->has_entries = 1;
    rep->boards = boards;
    rep->entries = entries;
    *out = &rep->base;
    return RK_OK;
}

/* ---------------------------------------------------------------- dead letters */

#define DEAD_LETTERS_DEFAULT 50
#define DEAD_LETTERS_MAX 1000

typedef struct dead_list {
    rpc_call *call;
    Rankd__DeadLetter **items; /* cap slots in the call's arena */
    size_t n, cap;
    rk_status *st;
} dead_list;

/* Copies one row into the call's arena: the store's pointers die with
 * the callback. */
static int dead_copy(void *arg, const pg_dead_letter *d) {
    dead_list *l = arg;
    rpc_call *call = l->call;
    rk_status *st = l->st;
    if (l->n >= l->cap) return RK_OK; /* the query's LIMIT already says so */
    NEW(call, m, Rankd__DeadLetter, rankd__dead_letter__init);
    size_t il = strlen(d->entry_id) + 1, rl = strlen(d->reason) + 1;
    char *id = arena_alloc(&call->w->arena, il), *why = arena_alloc(&call->w->arena, rl);
    uint8_t *bytes = arena_alloc(&call->w->arena, d->len ? d->len : 1);
    if (id == NULL || why == NULL || bytes == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    memcpy(id, d->entry_id, il);
    memcpy(why, d->reason, rl);
    if (d->len) memcpy(bytes, d->fields, d->len);
    m->entry_id = id;
    m->reason = why;
    m->has_fields = 1;
    m->fields.data = bytes;
    m->fields.len = d->len;
    m->has_dead_at = 1;
    m->dead_at = d->dead_at;
    l->items[l->n++] = m;
    return RK_OK;
}

int h_dead_letters(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__DeadLettersRequest *req = (const Rankd__DeadLettersRequest *)m;
    int64_t limit = DEAD_LETTERS_DEFAULT, total = 0;
    int rc;
    if (req->has_limit) {
        if (req->limit < 1 || req->limit > DEAD_LETTERS_MAX)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "limit must be 1 to %d, not %u", DEAD_LETTERS_MAX,
                                 req->limit);
        limit = req->limit;
    }
    NEW(call, rep, Rankd__DeadLettersReply, rankd__dead_letters_reply__init);
    dead_list l = {
        .call = call, .items = ARENA_ARRAY(call, Rankd__DeadLetter *, limit), .cap = (size_t)limit, .st = st};
    if (l.items == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    if ((rc = pgstore_dead_letter_count(call->w->pg, &total, st)) != RK_OK) return rc;
    if ((rc = pgstore_dead_letters_each(call->w->pg, limit, dead_copy, &l, st)) != RK_OK) return rc;
    rep->letters = l.items;
    rep->n_letters = l.n;
    rep->has_total = 1;
    rep->total = total > (int64_t)l.n ? total : (int64_t)l.n; /* a row added between the two */
    *out = &rep->base;
    return RK_OK;
}
