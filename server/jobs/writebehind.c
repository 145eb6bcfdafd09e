/*
 * writebehind.c - the stream consumer. One thread, its own connections.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "writebehind.h"

#define STREAM "rk:wb"
#define GROUP "rankd"
#define BATCH "1000"
#define BLOCK_MS "500"
#define CLAIM_IDLE_MS "30000"
#define CLAIM_EVERY_US (10 * 1000000LL)
#define RETRY_MS 1000

typedef struct writebehind {
    server *srv;
    rstore *redis;
    pgstore *pg;
    int pending; /* re-read what this node took but never acked first */
    int64_t last_claim;
} writebehind;

static int ensure_group(redisContext *c) {
    /* From id 0: entries written before the group existed are not skipped. */
    redisReply *r = redisCommand(c, "XGROUP CREATE %s %s 0 MKSTREAM", STREAM, GROUP);
    if (r == NULL) return -1;
    int ok = r->type != REDIS_REPLY_ERROR || strncmp(r->str, "BUSYGROUP", 9) == 0;
    freeReplyObject(r);
    return ok ? 0 : -1;
}

static const char *field(redisReply *kv, const char *name) {
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && strcmp(kv->element[i]->str, name) == 0 &&
            kv->element[i + 1]->type == REDIS_REPLY_STRING)
            return kv->element[i + 1]->str;
    return NULL;
}

/* An entry's fields as they came, "name=value\n" each, for the dead
 * letter: byte for byte, whatever they hold. *out is malloc'ed. */
static size_t entry_bytes(redisReply *kv, uint8_t **out) {
    size_t n = 0;
    for (size_t i = 0; kv->type == REDIS_REPLY_ARRAY && i < kv->elements; i++)
        if (kv->element[i]->type == REDIS_REPLY_STRING) n += kv->element[i]->len + 1;
    uint8_t *b = malloc(n ? n : 1), *p = b;
    if (b == NULL) return (size_t)-1;
    for (size_t i = 0; kv->type == REDIS_REPLY_ARRAY && i < kv->elements; i++) {
        redisReply *f = kv->element[i];
        if (f->type != REDIS_REPLY_STRING) continue;
        memcpy(p, f->str, f->len);
        p += f->len;
        *p++ = i % 2 ? '\n' : '=';
    }
    *out = b;
    return n;
}

/* Sets one entry aside for good: PostgreSQL will never take it, and
 * retrying it would hold back every entry behind it. */
static int dead_letter(writebehind *wb, redisReply *e, const char *reason, rk_status *st) {
    uint8_t *bytes = NULL;
    size_t n = entry_bytes(e->element[1], &bytes);
    if (n == (size_t)-1) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    int rc = pgstore_dead_letter_add(wb->pg, e->element[0]->str, bytes, n, reason, st);
    free(bytes);
    if (rc == RK_OK)
        log_warn("submission set aside: PostgreSQL will not take it", "id=%s reason=\"%s\"", e->element[0]->str,
                 reason);
    return rc;
}

/* The batch was refused for the values of some row: writes the rows one
 * by one and sets aside those refused. 0, or -1 when PostgreSQL cannot be
 * asked (nothing is acknowledged then; rows written stay written, and the
 * retry skips them). */
static int isolate(writebehind *wb, const pg_score *rows, redisReply *const *src, size_t k) {
    for (size_t i = 0; i < k; i++) {
        rk_status st;
        int rc = pgstore_scores_insert(wb->pg, &rows[i], 1, &st);
        if (rc == RK_INVALID_ARGUMENT) rc = dead_letter(wb, src[i], st.message, &st);
        if (rc != RK_OK) {
            log_warn("write-behind waiting for PostgreSQL", "error=\"%s\"", st.message);
            return -1;
        }
    }
    return 0;
}

/* Writes one array of stream entries to PostgreSQL, then acks and deletes
 * them. Returns the number handled, or -1 when it must be retried. */
static int flush(writebehind *wb, redisContext *c, redisReply *entries) {
    size_t n = entries->elements, k = 0;
    if (n == 0) return 0;
    pg_score *rows = calloc(n, sizeof(*rows));
    redisReply **src = calloc(n, sizeof(*src));
    const char **argv = calloc(n + 3, sizeof(*argv));
    int rc = RK_OK, logged = 0;
    rk_status st;
    if (!rows || !src || !argv) {
        rc = rk_status_set(&st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto out;
    }
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING) continue;
        redisReply *kv = e->element[1];
        argv[3 + i] = e->element[0]->str;
        if (kv->type != REDIS_REPLY_ARRAY) continue; /* deleted meanwhile: just ack */
        const char *b = field(kv, "b"), *u = field(kv, "u"), *s = field(kv, "s"), *t = field(kv, "t");
        if (!b || !u || !s || !t) {
            rc = dead_letter(wb, e, "malformed entry: a field is missing", &st);
            continue;
        }
        const char *key = field(kv, "k");
        src[k] = e;
        rows[k++] = (pg_score){.entry_id = e->element[0]->str,
                               .board_id = b,
                               .user_id = strtoll(u, NULL, 10),
                               .score = strtoll(s, NULL, 10),
                               .ts_us = strtoll(t, NULL, 10),
                               .idem_key = key ? key : ""};
    }
    if (rc == RK_OK && k) rc = pgstore_scores_insert(wb->pg, rows, k, &st);
    if (rc == RK_INVALID_ARGUMENT) {
        rc = isolate(wb, rows, src, k) == 0 ? RK_OK : RK_UNAVAILABLE;
        logged = 1;
    }
out:
    free(rows);
    free(src);
    if (rc != RK_OK) {
        free(argv);
        if (!logged) log_warn("write-behind waiting for PostgreSQL", "error=\"%s\" pending=%zu", st.message, n);
        return -1;
    }
    /* Committed: now the stream may forget them. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (argv[3 + i]) argv[3 + m++] = argv[3 + i];
    argv[0] = "XACK";
    argv[1] = STREAM;
    argv[2] = GROUP;
    redisAppendCommandArgv(c, (int)(3 + m), argv, NULL);
    argv[1] = "XDEL";
    argv[2] = STREAM;
    redisAppendCommandArgv(c, (int)(2 + m), argv + 1, NULL);
    for (int i = 0; i < 2; i++) {
        void *r = NULL;
        if (redisGetReply(c, &r) != REDIS_OK) {
            free(argv);
            return -1;
        }
        freeReplyObject(r);
    }
    free(argv);
    return (int)n;
}

/* XREADGROUP reply -> the entries array of our one stream. */
static redisReply *entries_of(redisReply *r) {
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 1) return NULL;
    redisReply *s = r->element[0];
    if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 || s->element[1]->type != REDIS_REPLY_ARRAY) return NULL;
    return s->element[1];
}

/* ---------------------------------------------------------------- the job
 *
 * Each step below takes the connection itself (rstore_ctx) and uses it
 * only for its own commands: a call into wb->redis may find the
 * connection broken (Redis restarted) and reconnect, freeing the context
 * a caller still held. */

/* Redis answers and our consumer group exists. 0 while Redis is away,
 * including while a restarted Redis is still loading its data (it
 * answers LOADING). */
static int group_ready(writebehind *wb) {
    rk_status st;
    redisContext *c = rstore_ctx(wb->redis, &st);
    return c != NULL && ensure_group(c) == 0;
}

/* Entries a dead process read but never wrote. */
static int64_t claim(writebehind *wb, const char *node) {
    rk_status st;
    int64_t wait = 0;
    redisContext *c = rstore_ctx(wb->redis, &st);
    if (c == NULL) return RETRY_MS;
    redisReply *r = redisCommand(c, "XAUTOCLAIM %s %s %s %s 0-0 COUNT %s", STREAM, GROUP, node, CLAIM_IDLE_MS, BATCH);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 && r->element[1]->type == REDIS_REPLY_ARRAY &&
        r->element[1]->elements > 0) {
        if (flush(wb, c, r->element[1]) < 0) wait = RETRY_MS;
    }
    if (r) freeReplyObject(r);
    return wait;
}

/* Reads and writes one batch: first what this node took but never acked
 * (wb->pending), then new entries. Returns the wait before the next. */
static int64_t consume(writebehind *wb, const char *node) {
    rk_status st;
    redisContext *c = rstore_ctx(wb->redis, &st);
    if (c == NULL) return RETRY_MS;
    redisReply *r = redisCommand(c, "XREADGROUP GROUP %s %s COUNT %s BLOCK %s STREAMS %s %s", GROUP, node, BATCH,
                                 BLOCK_MS, STREAM, wb->pending ? "0" : ">");
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        /* Gone, or not serving (LOADING): our pending entries are read
         * again once it is back. */
        if (r) freeReplyObject(r);
        wb->pending = 1;
        return RETRY_MS;
    }
    redisReply *entries = entries_of(r);
    int done = entries ? flush(wb, c, entries) : 0;
    int64_t wait = 0;
    if (done < 0) {
        wb->pending = 1;
        wait = RETRY_MS;
    } else if (wb->pending && done == 0) {
        wb->pending = 0; /* our backlog is empty: read new entries from now on */
    }
    freeReplyObject(r);
    return wait;
}

static int64_t wb_tick(void *state, job *self) {
    (void)self;
    writebehind *wb = state;
    if (!group_ready(wb)) {
        wb->pending = 1;
        return RETRY_MS;
    }
    int64_t now = server_now_us();
    if (now - wb->last_claim > CLAIM_EVERY_US) {
        wb->last_claim = now;
        return claim(wb, wb->srv->cfg.node);
    }
    return consume(wb, wb->srv->cfg.node);
}

static void wb_close(void *state) {
    writebehind *wb = state;
    rstore_close(wb->redis);
    pgstore_close(wb->pg);
    free(wb);
}

static int wb_open(void **out, server *srv, rk_status *st) {
    writebehind *wb = calloc(1, sizeof(*wb));
    if (wb == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    wb->srv = srv;
    wb->pending = 1;
    rk_status ignore;
    rstore_open(&wb->redis, srv->cfg.redis, &ignore);
    pgstore_open(&wb->pg, srv->cfg.postgres, &ignore);
    if (wb->redis == NULL || wb->pg == NULL) {
        wb_close(wb);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    *out = wb;
    return RK_OK;
}

const job_ops wb_job = {.name = "write-behind", .start = wb_open, .tick = wb_tick, .stop = wb_close};
