/*
 * users.c - this process's name cache first, then Redis, then PostgreSQL
 * for the misses; what is found by name goes into the cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "namecache.h"
#include "users.h"

_Static_assert(NAMECACHE_NAME_MAX == USER_NAME_MAX, "cached names are copied whole into user_name");

/* A user id as the id cache's key. */
typedef struct id_key {
    char s[24];
} id_key;

static id_key id_text(int64_t id) {
    id_key k;
    snprintf(k.s, sizeof(k.s), "%lld", (long long)id);
    return k;
}

int users_cached(server *srv, int64_t *ids, const char *const *names, size_t n, int *found,
                 char (*out_names)[USER_NAME_MAX]) {
    int all = 1;
    for (size_t i = 0; i < n; i++) {
        found[i] = 0;
        if (ids[i] <= 0 && names[i] && names[i][0]) {
            found[i] = namecache_get(srv->names, names[i], &ids[i], out_names[i]);
        } else if (ids[i] > 0) {
            int64_t same;
            found[i] = namecache_get(srv->ids, id_text(ids[i]).s, &same, out_names[i]);
        }
        all &= found[i];
    }
    return all;
}

int users_cached_names(server *srv, rank_row *rows, size_t n) {
    int all = 1;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].username[0] || rows[i].user_id <= 0) continue;
        int64_t same;
        all &= namecache_get(srv->ids, id_text(rows[i].user_id).s, &same, rows[i].username);
    }
    return all;
}

void users_remember_names(server *srv, const rank_row *rows, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (rows[i].username[0] && rows[i].user_id > 0)
            namecache_put(srv->ids, id_text(rows[i].user_id).s, rows[i].user_id, rows[i].username);
}

/* Remembers what was found, by name and by id. */
static void remember(server *srv, int by_name, const char *name, int64_t id, const char *canon) {
    if (by_name) namecache_put(srv->names, name, id, canon);
    namecache_put(srv->ids, id_text(id).s, id, canon);
}

int users_resolve(rpc_call *call, int64_t *ids, const char *const *names, size_t n, int *found,
                  char (*out_names)[USER_NAME_MAX], rk_status *st) {
    if (users_cached(call->srv, ids, names, n, found, out_names)) return RK_OK;
    if (call->ra) return RPC_SLOW; /* the directory is a round trip away */

    /* Redis gets what the cache did not answer (entries it answered are
     * blanked out of the question), then the answers are merged back. */
    int64_t *rids = ARENA_ARRAY(call, int64_t, n);
    const char **rnames = ARENA_ARRAY(call, const char *, n);
    int *rfound = ARENA_ARRAY(call, int, n), *by_name = ARENA_ARRAY(call, int, n);
    if (!rids || !rnames || !rfound || !by_name) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < n; i++) {
        by_name[i] = ids[i] <= 0 && names[i] && names[i][0];
        rids[i] = found[i] ? 0 : ids[i];
        rnames[i] = found[i] ? NULL : names[i];
    }
    int rc = rstore_resolve_users(call->w->redis, rids, rnames, n, rfound, out_names, st);
    if (rc == RK_OK)
        for (size_t i = 0; i < n; i++)
            if (rfound[i]) {
                found[i] = 1;
                ids[i] = rids[i];
                remember(call->srv, by_name[i], names[i], ids[i], out_names[i]);
            }
    int redis_ok = rc == RK_OK;
    if (rc == RK_UNAVAILABLE) {
        /* Without Redis, PostgreSQL knows every player. */
        rk_status_clear(st);
    } else if (rc != RK_OK) {
        return rc;
    }

    size_t misses = 0;
    for (size_t i = 0; i < n; i++) misses += !found[i];
    if (misses == 0) return RK_OK;

    /* Ask PostgreSQL about the rest only. */
    int64_t *mids = ARENA_ARRAY(call, int64_t, misses);
    const char **mnames = ARENA_ARRAY(call, const char *, misses);
    int *mfound = ARENA_ARRAY(call, int, misses);
    size_t *at = ARENA_ARRAY(call, size_t, misses);
    pg_name *mout = arena_alloc(&call->w->arena, PG_NAME_MAX * misses);
    char **fill = ARENA_ARRAY(call, char *, misses);
    if (!mids || !mnames || !mfound || !at || !mout || !fill)
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (found[i]) continue;
        mids[k] = ids[i];
        mnames[k] = names[i];
        at[k++] = i;
    }
    if ((rc = pgstore_users_resolve(call->w->pg, mids, mnames, misses, mfound, mout, st)) != RK_OK) return rc;
    size_t m = 0;
    for (size_t j = 0; j < misses; j++) {
        if (!mfound[j]) continue;
        size_t i = at[j];
        found[i] = 1;
        ids[i] = mids[j];
        snprintf(out_names[i], USER_NAME_MAX, "%s", mout[j]);
        remember(call->srv, by_name[i], names[i], ids[i], out_names[i]);
        mids[m] = mids[j];
        fill[m++] = mout[j];
    }
    rk_status ignore;
    if (redis_ok) rstore_set_names(call->w->redis, mids, fill, m, &ignore);
    return RK_OK;
}
