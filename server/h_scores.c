/*
 * h_scores.c - score submission, one or a batch of up to SUBMIT_BATCH_MAX.
 *
 * A batch is validated item by item (each item gets its own status), the
 * players of all items are resolved in one PostgreSQL query, and the valid
 * items go to Redis in one pipelined round trip. Nothing is written for an
 * item that fails validation, and one bad item never fails the others.
 */
#include <string.h>

#include "auth.h"
#include "boards.h"
#include "degraded.h"
#include "handlers.h"
#include "topcache.h"
#include "users.h"
#include "validate.h"

#define SUBMIT_BATCH_MAX 1000

/* One item on its way through validation and Redis. */
typedef struct item {
    const char *board_id;
    int64_t user_id;
    const char *username;
    int has_score;
    int64_t score;
    const char *idem_key;
    board b;
    rk_status st;
} item;

/* rk_submit answers "no such user" for an id missing from Redis's user
 * directory. The directory can lag PostgreSQL (a Redis that lost it), so
 * ask PostgreSQL before saying so; users_resolve puts those it finds back
 * into Redis, and their submissions are sent again. */
static void recheck_unknown(rpc_call *call, item *items, rstore_submit_out *outs, rstore_submit_in *in,
                            const size_t *idx, size_t m, rstore_submit_out *res, rk_status *st) {
    size_t k = 0;
    for (size_t j = 0; j < m; j++)
        if (res[j].status.code == RK_NOT_FOUND) k++;
    if (k == 0) return;
    int64_t *ids = ARENA_ARRAY(call, int64_t, k);
    const char **names = ARENA_ARRAY(call, const char *, k);
    int *found = ARENA_ARRAY(call, int, k);
    size_t *at = ARENA_ARRAY(call, size_t, k);
    user_name *resolved = arena_alloc(&call->w->arena, USER_NAME_MAX * k);
    rstore_submit_in *again = ARENA_ARRAY(call, rstore_submit_in, k);
    rstore_submit_out *out2 = ARENA_ARRAY(call, rstore_submit_out, k);
    if (!ids || !names || !found || !at || !resolved || !again || !out2) return;
    k = 0;
    for (size_t j = 0; j < m; j++)
        if (res[j].status.code == RK_NOT_FOUND) {
            ids[k] = in[j].user_id;
            at[k++] = j;
        }
    rk_status ignore;
    if (users_resolve(call, ids, names, k, found, resolved, &ignore) != RK_OK) return;
    size_t r = 0;
    for (size_t j = 0; j < k; j++) {
        item *it = &items[idx[at[j]]];
        if (!found[j]) {
            rk_status_set(&it->st, RK_NOT_FOUND, "user %lld not found", (long long)it->user_id);
            continue;
        }
        again[r] = in[at[j]];
        at[r++] = at[j];
    }
    if (r == 0 || rstore_submit(call->w->redis, again, r, call->srv->cfg.idempotency_ttl,
                                call->srv->cfg.window_retention, out2, st) != RK_OK)
        return;
    for (size_t j = 0; j < r; j++) {
        outs[idx[at[j]]] = out2[j];
        items[idx[at[j]]].st = out2[j].status;
    }
}

static void submit_items(rpc_call *call, item *items, size_t n, rstore_submit_out *outs, rk_status *st) {
    int *found = ARENA_ARRAY(call, int, n);
    int64_t *ids = ARENA_ARRAY(call, int64_t, n);
    const char **names = ARENA_ARRAY(call, const char *, n);
    user_name *resolved = arena_alloc(&call->w->arena, USER_NAME_MAX * (n ? n : 1));
    rstore_submit_in *in = ARENA_ARRAY(call, rstore_submit_in, n);
    size_t *idx = ARENA_ARRAY(call, size_t, n);
    if (!found || !ids || !names || !resolved || !in || !idx) {
        rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }

    /* Shape and board checks, item by item. */
    for (size_t i = 0; i < n; i++) {
        item *it = &items[i];
        rk_status_clear(&it->st);
        ids[i] = it->user_id;
        names[i] = it->username;
        if (validate_id("board_id", it->board_id, &it->st) != RK_OK) continue;
        if (!it->has_score) {
            rk_status_set(&it->st, RK_INVALID_ARGUMENT, "score is required");
            continue;
        }
        if (it->user_id <= 0 && (it->username == NULL || it->username[0] == '\0')) {
            rk_status_set(&it->st, RK_INVALID_ARGUMENT, "user_id or username is required");
            continue;
        }
        if (it->idem_key && strlen(it->idem_key) > 128) {
            rk_status_set(&it->st, RK_INVALID_ARGUMENT, "idempotency key is longer than 128 bytes");
            continue;
        }
        if (strcmp(it->board_id, BOARD_GLOBAL_ID) == 0) {
            rk_status_set(&it->st, RK_INVALID_ARGUMENT, "the global board is computed; submit to a game's board");
            continue;
        }
        if (boards_get(call->srv->boards, call->w->pg, it->board_id, &it->b, &it->st) != RK_OK) continue;
        validate_score(&it->b, it->score, &it->st);
    }

    /* Players named by name: every one of the batch in one look-up. Players
     * named by id need none: rk_submit checks them in the same round trip. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        found[i] = items[i].user_id > 0;
        if (items[i].st.code == RK_OK && items[i].user_id <= 0) {
            ids[k] = 0;
            names[k] = items[i].username;
            idx[k++] = i;
        }
    }
    if (k > 0) {
        int *f = ARENA_ARRAY(call, int, k);
        if (f == NULL) {
            rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
            return;
        }
        if (users_resolve(call, ids, names, k, f, resolved, st) != RK_OK) return;
        for (size_t j = 0; j < k; j++) {
            found[idx[j]] = f[j];
            items[idx[j]].user_id = ids[j];
        }
    }

    size_t m = 0;
    int64_t now = server_wall_us();
    for (size_t i = 0; i < n; i++) {
        item *it = &items[i];
        if (it->st.code != RK_OK) continue;
        if (!found[i]) {
            if (it->user_id > 0)
                rk_status_set(&it->st, RK_NOT_FOUND, "user %lld not found", (long long)it->user_id);
            else
                rk_status_set(&it->st, RK_NOT_FOUND, "user %s not found", it->username);
            continue;
        }
        if (auth_can_submit(&call->who, &it->b, it->user_id, &it->st) != RK_OK) continue;
        /* One microsecond apart, so equal scores in a batch keep the batch's order. */
        in[m] = (rstore_submit_in){.b = &it->b,
                                   .user_id = it->user_id,
                                   .score = it->score,
                                   .ts_us = now + (int64_t)m,
                                   .idem_key = it->idem_key};
        idx[m++] = i;
    }
    if (m == 0) return;
    if (server_check_deadline(call, st) != RK_OK) return;
    rstore_submit_out *res = ARENA_ARRAY(call, rstore_submit_out, m);
    if (res == NULL) {
        rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    /* While submissions taken without Redis are being replayed, new ones
     * queue behind them, so every board sees them in the order they came. */
    pthread_rwlock_rdlock(&call->srv->handover);
    int rc = atomic_load(&call->srv->catching_up) ? RK_UNAVAILABLE
                                                  : rstore_submit(call->w->redis, in, m, call->srv->cfg.idempotency_ttl,
                                                                  call->srv->cfg.window_retention, res, st);
    if (rc == RK_UNAVAILABLE) {
        /* Redis is away: PostgreSQL records the submissions durably. */
        rk_status_clear(st);
        call->degraded = 1;
        rc = degraded_submit(call->w->pg, in, m, res, st);
        if (rc == RK_OK) atomic_store(&call->srv->catching_up, 1);
    }
    pthread_rwlock_unlock(&call->srv->handover);
    if (rc != RK_OK) return;
    for (size_t j = 0; j < m; j++) {
        outs[idx[j]] = res[j];
        items[idx[j]].st = res[j].status;
        /* Before the acknowledgement: a read through this rankd sees it. */
        topcache_invalidate(call->srv->tops, in[j].b->id);
        if (in[j].b->higher_is_better) topcache_invalidate(call->srv->tops, BOARD_GLOBAL_ID);
    }
    if (!call->degraded) recheck_unknown(call, items, outs, in, idx, m, res, st);
}

static Rankd__SubmitReply *reply_of(rpc_call *call, const item *it, const rstore_submit_out *o) {
    Rankd__SubmitReply *r = arena_alloc(&call->w->arena, sizeof(*r));
    if (r == NULL) return NULL;
    rankd__submit_reply__init(r);
    r->has_score = r->has_rank = r->has_personal_best = r->has_board_size = r->has_replayed = 1;
    r->has_user_id = 1;
    r->score = o->score;
    r->rank = o->rank;
    r->personal_best = o->personal_best;
    r->board_size = o->board_size;
    r->replayed = o->replayed;
    r->user_id = it->user_id;
    return r;
}

int h_submit(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__SubmitRequest *req = (const Rankd__SubmitRequest *)m;
    item it = {.board_id = req->board_id,
               .user_id = req->has_user_id ? req->user_id : 0,
               .username = req->username,
               .has_score = req->has_score,
               .score = req->score,
               .idem_key = call->idempotency_key};
    rstore_submit_out o;
    memset(&o, 0, sizeof(o));
    submit_items(call, &it, 1, &o, st);
    if (st->code != RK_OK) return st->code;
    if (it.st.code != RK_OK) {
        *st = it.st;
        return st->code;
    }
    Rankd__SubmitReply *rep = reply_of(call, &it, &o);
    if (rep == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    *out = &rep->base;
    return RK_OK;
}

int h_submit_batch(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__SubmitBatchRequest *req = (const Rankd__SubmitBatchRequest *)m;
    size_t n = req->n_entries;
    if (n == 0) return rk_status_set(st, RK_INVALID_ARGUMENT, "batch is empty");
    if (n > SUBMIT_BATCH_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "batch has %zu entries; the limit is %d", n, SUBMIT_BATCH_MAX);
    item *items = ARENA_ARRAY(call, item, n);
    rstore_submit_out *outs = ARENA_ARRAY(call, rstore_submit_out, n);
    Rankd__SubmitBatchReply *rep = arena_alloc(&call->w->arena, sizeof(*rep));
    Rankd__BatchResult **results = ARENA_ARRAY(call, Rankd__BatchResult *, n);
    if (!items || !outs || !rep || !results) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const Rankd__BatchEntry *e = req->entries[i];
        items[i] = (item){.board_id = e->board_id,
                          .user_id = e->has_user_id ? e->user_id : 0,
                          .username = e->username,
                          .has_score = e->has_score,
                          .score = e->score,
                          .idem_key = e->idempotency_key && e->idempotency_key[0] ? e->idempotency_key : NULL};
    }
    submit_items(call, items, n, outs, st);
    if (st->code != RK_OK) return st->code;

    rankd__submit_batch_reply__init(rep);
    for (size_t i = 0; i < n; i++) {
        Rankd__BatchResult *r = arena_alloc(&call->w->arena, sizeof(*r));
        if (r == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        rankd__batch_result__init(r);
        r->has_code = 1;
        r->code = items[i].st.code;
        if (r->code != RK_OK)
            r->message = arena_strdup(&call->w->arena, items[i].st.message);
        else if ((r->reply = reply_of(call, &items[i], &outs[i])) == NULL)
            return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        results[i] = r;
    }
    rep->n_results = n;
    rep->results = results;
    *out = &rep->base;
    return RK_OK;
}
