/*
 * users.c - Redis first, PostgreSQL for the misses.
 */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "users.h"

int users_resolve(rpc_call *call, int64_t *ids, const char *const *names, size_t n, int *found,
                  char (*out_names)[USER_NAME_MAX], rk_status *st) {
    if (call->ra) return RPC_SLOW; /* the directory is a round trip away */
    int rc = rstore_resolve_users(call->w->redis, ids, names, n, found, out_names, st);
    int redis_ok = rc == RK_OK;
    if (rc == RK_UNAVAILABLE) {
        /* Without Redis, PostgreSQL knows every player. */
        for (size_t i = 0; i < n; i++) found[i] = 0;
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
        mids[m] = mids[j];
        fill[m++] = mout[j];
    }
    rk_status ignore;
    if (redis_ok) rstore_set_names(call->w->redis, mids, fill, m, &ignore);
    return RK_OK;
}
