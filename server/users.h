/*
 * users.h - resolving the players a request names.
 *
 * Requests name players by id or by username. The hot path asks Redis's
 * user directory (store_redis.h) and falls back to PostgreSQL only for
 * players Redis does not know, copying what it finds back into Redis. So a
 * submission or a query touches PostgreSQL only for a player the directory
 * lost, and keeps working while PostgreSQL is down.
 */
#ifndef RANKD_USERS_H
#define RANKD_USERS_H

#include "server.h"

#define USER_NAME_MAX RSTORE_NAME_MAX

typedef char user_name[USER_NAME_MAX];

/* ids[i] > 0 names a player by id, else names[i] by name. Sets found[i],
 * and for found players ids[i] and out_names[i]. */
int users_resolve(rpc_call *call, int64_t *ids, const char *const *names, size_t n, int *found,
                  char (*out_names)[USER_NAME_MAX], rk_status *st);

#endif
