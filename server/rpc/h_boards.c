/*
 * h_boards.c - create, get, list and delete boards (admins create and
 * delete; anyone reads).
 */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "boards.h"
#include "handlers.h"
#include "log.h"
#include "validate.h"
#include "window.h"

static Rankd__Board *board_message(rpc_call *call, const board *b) {
    Rankd__Board *m = arena_alloc(&call->w->arena, sizeof(*m));
    board *copy = arena_alloc(&call->w->arena, sizeof(*copy));
    Rankd__Window *wins = ARENA_ARRAY(call, Rankd__Window, WINDOW_KINDS);
    if (m == NULL || copy == NULL || wins == NULL) return NULL;
    *copy = *b; /* the message points into this copy, which lives as long as the reply */
    board_to_message(copy, m, wins);
    return m;
}

static int board_reply(rpc_call *call, const board *b, ProtobufCMessage **out, rk_status *st) {
    NEW(call, rep, Rankd__BoardReply, rankd__board_reply__init);
    if ((rep->board = board_message(call, b)) == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    *out = &rep->base;
    return RK_OK;
}

int h_create_board(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__CreateBoardRequest *req = (const Rankd__CreateBoardRequest *)m;
    board b;
    int rc;
    if ((rc = validate_board(req->board, &b, st)) != RK_OK) return rc;
    if ((rc = validate_reason(req->reason, st)) != RK_OK) return rc;
    if ((rc = pgstore_board_create(call->w->pg, &b, st)) != RK_OK) return rc;
    boards_put(call->srv->boards, &b);
    log_info("board created", "board=%s game=%s", b.id, b.game);
    if ((rc = audit_record(
             call, AUDIT_BOARD_CREATE, b.id, req->reason, st, "game %s, %s is better, policy %s, scores %lld to %lld%s",
             b.game, b.higher_is_better ? "higher" : "lower",
             b.policy == POLICY_SUM      ? "sum"
             : b.policy == POLICY_LATEST ? "latest"
                                         : "best",
             (long long)b.min_score, (long long)b.max_score, b.player_submit ? ", players may submit" : "")) != RK_OK)
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
    if ((rc = boards_get(call->srv->boards, call->w->pg, req->board_id, &b, st)) != RK_OK) return rc;
    /* Redis first: if it fails, the board still exists everywhere. */
    if ((rc = rstore_drop_board(call->w->redis, &b, st)) != RK_OK) return rc;
    if ((rc = pgstore_board_delete(call->w->pg, b.id, st)) != RK_OK) return rc;
    boards_remove(call->srv->boards, b.id);
    log_info("board deleted", "board=%s", b.id);
    if ((rc = audit_record(call, AUDIT_BOARD_DELETE, b.id, req->reason, st, "game %s", b.game)) != RK_OK) return rc;
    NEW(call, rep, Rankd__Empty, rankd__empty__init);
    *out = &rep->base;
    return RK_OK;
}
