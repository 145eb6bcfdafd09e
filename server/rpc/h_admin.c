/*
 * h_admin.c - server status and roles, and the method table itself.
 */
#include <string.h>
#include <time.h>

#include "boards.h"
#include "degraded.h"
#include "auth.h"
#include "handlers.h"
#include "rebuild.h"
#include "topcache.h"
#include "validate.h"

#ifndef RANKD_VERSION
#define RANKD_VERSION "0.1.0"
#endif

/* Adding a method to the schema means adding its row here; rankd refuses
 * to start if the schema has a method this table lacks, or names another
 * input type (see main.c). A row with .fast runs on the event loops (its
 * common case never blocks) and falls back to .fn on the worker pool;
 * the others run on the worker pool only. */
const rpc_method rankd_methods[] = {
    {.name = "rankd.Auth/SignUp",
     .input = &rankd__sign_up_request__descriptor,
     .fn = h_sign_up,
     .access = ACCESS_ANYONE},
    {.name = "rankd.Auth/Login", .input = &rankd__login_request__descriptor, .fn = h_login, .access = ACCESS_ANYONE},
    {.name = "rankd.Auth/Logout", .input = &rankd__empty__descriptor, .fn = h_logout, .access = ACCESS_AUTHED},
    {.name = "rankd.Auth/WhoAmI", .input = &rankd__empty__descriptor, .fn = h_who_am_i, .access = ACCESS_AUTHED},
    {.name = "rankd.Auth/CreateApiKey",
     .input = &rankd__create_api_key_request__descriptor,
     .fn = h_create_api_key,
     .access = ACCESS_ADMIN},
    {.name = "rankd.Auth/ListApiKeys",
     .input = &rankd__list_api_keys_request__descriptor,
     .fn = h_list_api_keys,
     .access = ACCESS_ADMIN},
    {.name = "rankd.Auth/RevokeApiKey",
     .input = &rankd__revoke_api_key_request__descriptor,
     .fn = h_revoke_api_key,
     .access = ACCESS_ADMIN},
    {.name = "rankd.Boards/CreateBoard",
     .input = &rankd__create_board_request__descriptor,
     .fn = h_create_board,
     .access = ACCESS_ADMIN},
    {.name = "rankd.Boards/GetBoard",
     .input = &rankd__get_board_request__descriptor,
     .fn = h_get_board,
     .access = ACCESS_ANYONE},
    {.name = "rankd.Boards/ListBoards",
     .input = &rankd__list_boards_request__descriptor,
     .fn = h_list_boards,
     .access = ACCESS_ANYONE},
    {.name = "rankd.Boards/DeleteBoard",
     .input = &rankd__delete_board_request__descriptor,
     .fn = h_delete_board,
     .access = ACCESS_ADMIN},
    {.name = "rankd.Scores/Submit",
     .input = &rankd__submit_request__descriptor,
     .fn = h_submit,
     .access = ACCESS_AUTHED},
    {.name = "rankd.Scores/SubmitBatch",
     .input = &rankd__submit_batch_request__descriptor,
     .fn = h_submit_batch,
     .access = ACCESS_AUTHED},
    {.name = "rankd.Ranking/Top",
     .input = &rankd__top_request__descriptor,
     .fn = h_top,
     .fast = f_top,
     .access = ACCESS_ANYONE},
    {.name = "rankd.Ranking/Rank",
     .input = &rankd__rank_request__descriptor,
     .fn = h_rank,
     .fast = f_rank,
     .access = ACCESS_ANYONE},
    {.name = "rankd.Ranking/Around",
     .input = &rankd__around_request__descriptor,
     .fn = h_around,
     .fast = f_around,
     .access = ACCESS_ANYONE},
    {.name = "rankd.Ranking/RanksOf",
     .input = &rankd__ranks_of_request__descriptor,
     .fn = h_ranks_of,
     .fast = f_ranks_of,
     .access = ACCESS_ANYONE},
    {.name = "rankd.Ranking/Count",
     .input = &rankd__count_request__descriptor,
     .fn = h_count,
     .fast = f_count,
     .access = ACCESS_ANYONE},
    {.name = "rankd.History/History",
     .input = &rankd__history_request__descriptor,
     .fn = h_history,
     .access = ACCESS_ANYONE},
    {.name = "rankd.History/Report",
     .input = &rankd__report_request__descriptor,
     .fn = h_report,
     .access = ACCESS_ANYONE},
    {.name = "rankd.History/Standings",
     .input = &rankd__standings_request__descriptor,
     .fn = h_standings,
     .access = ACCESS_ANYONE},
    {.name = "rankd.History/Snapshot",
     .input = &rankd__snapshot_request__descriptor,
     .fn = h_snapshot,
     .access = ACCESS_ANYONE},
    {.name = "rankd.Admin/Status", .input = &rankd__empty__descriptor, .fn = h_status, .access = ACCESS_ANYONE},
    {.name = "rankd.Admin/SetRole",
     .input = &rankd__set_role_request__descriptor,
     .fn = h_set_role,
     .access = ACCESS_ADMIN},
    {.name = "rankd.Admin/Rebuild",
     .input = &rankd__rebuild_request__descriptor,
     .fn = h_rebuild,
     .access = ACCESS_ADMIN},
};
const size_t rankd_nmethods = sizeof(rankd_methods) / sizeof(rankd_methods[0]);

const ProtobufCServiceDescriptor *const rankd_services[] = {
    &rankd__auth__descriptor,    &rankd__boards__descriptor,  &rankd__scores__descriptor,
    &rankd__ranking__descriptor, &rankd__history__descriptor, &rankd__admin__descriptor,
};
const size_t rankd_nservices = sizeof(rankd_services) / sizeof(rankd_services[0]);

int h_status(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    (void)m;
    rk_status ignore;
    int64_t backlog = 0;
    NEW(call, rep, Rankd__ServerStatus, rankd__server_status__init);
    rep->version = RANKD_VERSION;
    rep->has_redis_ok = rep->has_postgres_ok = rep->has_uptime_s = rep->has_requests_total = 1;
    rep->redis_ok = rstore_ping(call->w->redis, &ignore) == RK_OK;
    rep->postgres_ok = pgstore_ping(call->w->pg, &ignore) == RK_OK;
    rep->uptime_s = (int64_t)(server_time() - call->srv->started);
    rep->requests_total = atomic_load(&call->srv->requests);
    rep->has_now = 1;
    rep->now = (int64_t)server_time();
    if (rep->redis_ok && rstore_backlog(call->w->redis, &backlog, &ignore) == RK_OK) {
        rep->has_writebehind_backlog = 1;
        rep->writebehind_backlog = backlog;
    }
    rep->has_degraded = 1;
    rep->degraded = !rep->redis_ok;
    atomic_store(&call->srv->redis_down, !rep->redis_ok); /* fresher than the health thread's */
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
    if (!req->has_role || (req->role != RANKD__ROLE__ROLE_PLAYER && req->role != RANKD__ROLE__ROLE_ADMIN))
        return rk_status_set(st, RK_INVALID_ARGUMENT, "role must be player or admin (game servers use API keys)");
    int64_t uid = 0, gen = 0;
    if ((rc = pgstore_user_set_role(call->w->pg, req->username, req->role, &uid, &gen, st)) != RK_OK) return rc;
    /* PostgreSQL has the new generation; every rankd's memory is what
     * token checks read, and auth_raised_gen tells them all. Even an
     * unchanged role is published: a retry after a failure here then
     * reaches everyone. */
    if ((rc = auth_raised_gen(call, uid, gen, st)) != RK_OK) return rc;
    NEW(call, rep, Rankd__Empty, rankd__empty__init);
    *out = &rep->base;
    return RK_OK;
}

int h_rebuild(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__RebuildRequest *req = (const Rankd__RebuildRequest *)m;
    int64_t boards = 0, entries = 0;
    int rc;
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
    NEW(call, rep, Rankd__RebuildReply, rankd__rebuild_reply__init);
    rep->has_boards = rep->has_entries = 1;
    rep->boards = boards;
    rep->entries = entries;
    *out = &rep->base;
    return RK_OK;
}
