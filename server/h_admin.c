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
 * to start if the schema has a method this table lacks (see main.c). */
const rpc_method rankd_methods[] = {
    {"rankd.Auth/SignUp", h_sign_up, ACCESS_ANYONE},
    {"rankd.Auth/Login", h_login, ACCESS_ANYONE},
    {"rankd.Auth/Logout", h_logout, ACCESS_AUTHED},
    {"rankd.Auth/WhoAmI", h_who_am_i, ACCESS_AUTHED},
    {"rankd.Auth/CreateApiKey", h_create_api_key, ACCESS_ADMIN},
    {"rankd.Auth/ListApiKeys", h_list_api_keys, ACCESS_ADMIN},
    {"rankd.Auth/RevokeApiKey", h_revoke_api_key, ACCESS_ADMIN},
    {"rankd.Boards/CreateBoard", h_create_board, ACCESS_ADMIN},
    {"rankd.Boards/GetBoard", h_get_board, ACCESS_ANYONE},
    {"rankd.Boards/ListBoards", h_list_boards, ACCESS_ANYONE},
    {"rankd.Boards/DeleteBoard", h_delete_board, ACCESS_ADMIN},
    {"rankd.Scores/Submit", h_submit, ACCESS_AUTHED},
    {"rankd.Scores/SubmitBatch", h_submit_batch, ACCESS_AUTHED},
    {"rankd.Ranking/Top", h_top, ACCESS_ANYONE},
    {"rankd.Ranking/Rank", h_rank, ACCESS_ANYONE},
    {"rankd.Ranking/Around", h_around, ACCESS_ANYONE},
    {"rankd.Ranking/RanksOf", h_ranks_of, ACCESS_ANYONE},
    {"rankd.Ranking/Count", h_count, ACCESS_ANYONE},
    {"rankd.History/History", h_history, ACCESS_ANYONE},
    {"rankd.History/Report", h_report, ACCESS_ANYONE},
    {"rankd.History/Standings", h_standings, ACCESS_ANYONE},
    {"rankd.History/Snapshot", h_snapshot, ACCESS_ANYONE},
    {"rankd.Admin/Status", h_status, ACCESS_ANYONE},
    {"rankd.Admin/SetRole", h_set_role, ACCESS_ADMIN},
    {"rankd.Admin/Rebuild", h_rebuild, ACCESS_ADMIN},
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
            rc = rebuild_global(call->w->redis, call->w->pg, &entries, st);
        } else {
            if ((rc = boards_get(call->srv->boards, call->w->pg, req->board_id, &b, st)) != RK_OK) return rc;
            /* The board's totals feed the global board: rebuild both. */
            if ((rc = rebuild_board(call->w->redis, call->w->pg, &b, call->srv->cfg.window_retention, &entries, st)) ==
                RK_OK)
                rc = rebuild_global(call->w->redis, call->w->pg, &entries, st);
        }
        boards = 1;
    } else {
        rc = rebuild_all(call->w->redis, call->w->pg, call->srv->boards, call->srv->cfg.window_retention, &boards,
                         &entries, st);
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
