/*
 * handlers.h - one function per RPC method, and the method table.
 *
 * Each handler validates its request, calls the stores, and builds its
 * reply in the worker's arena (NEW below). Handlers never see bytes or
 * sockets; rpc.c has already decoded, authenticated and checked access.
 */
#ifndef RANKD_HANDLERS_H
#define RANKD_HANDLERS_H

#include <stddef.h>

#include <rankd/rankd.pb-c.h>

#include "server.h"

/* Allocates and initialises a message of type T (e.g. Rankd__Empty) in
 * the call's arena; returns RK_RESOURCE_EXHAUSTED from the handler when
 * memory runs out. */
#define NEW(call, var, T, init)                                                        \
    T *var = arena_alloc(&(call)->w->arena, sizeof(T));                                \
    if (var == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory"); \
    init(var)

/* The method table: every method of the schema, with its access rule. */
extern const rpc_method rankd_methods[];
extern const size_t rankd_nmethods;

/* Every service of the schema. */
extern const ProtobufCServiceDescriptor *const rankd_services[];
extern const size_t rankd_nservices;

/* Auth */
/* Makes the decoy hash unknown usernames are checked against, with the
 * current scrypt parameters; before the first request. */
int h_auth_init(const server *srv, rk_status *st);
int h_sign_up(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_login(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_logout(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_who_am_i(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_create_api_key(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_list_api_keys(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_revoke_api_key(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
/* Boards */
int h_create_board(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_get_board(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_list_boards(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_delete_board(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_update_board(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
/* Scores */
int h_submit(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_submit_batch(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int f_submit(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int f_submit_batch(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
/* Ranking: h_ on the worker pool, f_ on the event loops */
int h_top(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_rank(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_around(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_ranks_of(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_count(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_score_range(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_percentile(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_distribution(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_standing(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int f_top(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int f_rank(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int f_around(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int f_ranks_of(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int f_count(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int f_score_range(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int f_percentile(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int f_distribution(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
/* History */
int h_history(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_report(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_standings(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_snapshot(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
/* Stored standings (competition ranks of a board of `size`) as RankEntry
 * messages in the call's arena, percentiles included; -1 when out of
 * memory (h_history.c). */
int rank_entries(rpc_call *call, const pg_rank_row *rows, size_t n, int64_t size, Rankd__RankEntry ***out);
/* Counters */
int h_create_counter(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_list_counters(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_incr(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_get_counter(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int f_incr(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int f_get_counter(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
/* Admin */
int h_status(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_set_role(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_rebuild(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_dead_letters(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
/* Moderation */
int h_audit(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_remove_entry(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_ban(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_unban(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_held(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_review(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
/* Seasons */
int h_end_season(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_list_seasons(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);
int h_get_season(rpc_call *, const ProtobufCMessage *, ProtobufCMessage **, rk_status *);

#endif
