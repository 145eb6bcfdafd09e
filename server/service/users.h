/*
 * users.h - resolving the players a request names.
 *
 * Requests name players by id or by username. A username this process has
 * resolved before is answered from memory (namecache.h: usernames never
 * change), so a request naming a known player by username costs no extra
 * Redis round trip. Otherwise the hot path asks Redis's user directory
 * (store_redis.h) and falls back to PostgreSQL only for players Redis does
 * not know, copying what it finds back into Redis. So a submission or a
 * query touches PostgreSQL only for a player the directory lost, and keeps
 * working while PostgreSQL is down. Unknown names are never cached.
 */
#ifndef RANKD_USERS_H
#define RANKD_USERS_H

#include "server.h"

#define USER_NAME_MAX RSTORE_NAME_MAX

typedef char user_name[USER_NAME_MAX];

/* ids[i] > 0 names a player by id, else names[i] by name. Sets found[i],
 * and for found players ids[i] and out_names[i]. */
/* The memory-only part, for callers that must not block (an event loop):
 * answers the entries named by username that the cache holds (found[i],
 * ids[i], out_names[i]), and those named by id whose name it holds, and
 * leaves the others found[i] = 0. Returns 1 when every entry was
 * answered. Safe from any thread; no I/O. */
int users_cached(server *srv, int64_t *ids, const char *const *names, size_t n, int *found,
                 char (*out_names)[USER_NAME_MAX]);

/* The split layout's ranked rows come without names (store_redis.h,
 * rstore_fill_names). 1 when the name of every row that lacks one is in
 * this process's memory (then filled in), else 0. Memory only. */
int users_cached_names(server *srv, rank_row *rows, size_t n);
/* Remembers, by id, the names rows carry. */
void users_remember_names(server *srv, const rank_row *rows, size_t n);

int users_resolve(rpc_call *call, int64_t *ids, const char *const *names, size_t n, int *found,
                  char (*out_names)[USER_NAME_MAX], rk_status *st);

#endif
