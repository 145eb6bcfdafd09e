/*
 * writebehind.c - the stream consumer. One thread, its own connections.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "writebehind.h"

#define CLAIM_EVERY_US (10 * 1000000LL)
#define RETRY_MS 1000
/* PostgreSQL refused or was away: try again soon, so that the stream
 * starts draining within a fraction of a second of its return. */
#define PG_RETRY_MS 200

typedef struct writebehind {
    server *srv;
    rstore *redis;
    pgstore *pg;
    int pending; /* re-read what this node took but never acked first */
    int grouped; /* the consumer group was there at the last read */
    int64_t last_claim;
} writebehind;

/* Sets one entry aside for good: PostgreSQL will never take it, and
 * retrying it would hold back every entry behind it. */
static int dead_letter(writebehind *wb, const rstore_wb_entry *e, const char *reason, rk_status *st) {
    uint8_t *bytes = NULL;
    size_t n = 0;
    int rc = rstore_wb_entry_bytes(e, &bytes, &n, st);
    if (rc != RK_OK) return rc;
    rc = pgstore_dead_letter_add(wb->pg, e->id, bytes, n, reason, st);
    free(bytes);
    if (rc == RK_OK)
        log_warn("submission set aside: PostgreSQL will not take it", "id=%s reason=\"%s\"", e->id, reason);
    return rc;
}

/* The batch was refused for the values of some row: writes the rows one
 * by one and sets aside those refused. 0, or -1 when PostgreSQL cannot be
 * asked (nothing is acknowledged then; rows written stay written, and the
 * retry skips them). */
static int isolate(writebehind *wb, const pg_score *rows, const rstore_wb_entry *const *src, size_t k) {
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

/* Writes a batch of stream entries to PostgreSQL, then acks and deletes
 * them. Returns the number handled, or -1 when it must be retried. */
static int flush(writebehind *wb, const rstore_wb_batch *b) {
    size_t n = b->n, k = 0;
    if (n == 0) return 0;
    pg_score *rows = calloc(n, sizeof(*rows));
    const rstore_wb_entry **src = calloc(n, sizeof(*src));
    const char **ids = calloc(n, sizeof(*ids));
    int rc = RK_OK, logged = 0;
    rk_status st;
    rk_status_clear(&st);
    if (!rows || !src || !ids) {
        rc = rk_status_set(&st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto out;
    }
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        const rstore_wb_entry *e = &b->entries[i];
        ids[i] = e->id;
        if (e->gone) continue; /* deleted meanwhile: just ack */
        if (!e->board || !e->user || !e->score || !e->ts) {
            rc = dead_letter(wb, e, "malformed entry: a field is missing", &st);
            continue;
        }
        src[k] = e;
        rows[k++] = (pg_score){.entry_id = e->id,
                               .board_id = e->board,
                               .user_id = strtoll(e->user, NULL, 10),
                               .score = strtoll(e->score, NULL, 10),
                               .ts_us = strtoll(e->ts, NULL, 10),
                               .idem_key = e->key ? e->key : "",
                               .held_rule = e->held ? e->held : "",
                               .meta = e->meta};
    }
    if (rc == RK_OK && k) rc = pgstore_scores_insert(wb->pg, rows, k, &st);
    if (rc == RK_INVALID_ARGUMENT) {
        rc = isolate(wb, rows, src, k) == 0 ? RK_OK : RK_UNAVAILABLE;
        logged = 1;
    }
    /* Committed: now the stream may forget them. If Redis went away
     * meanwhile they are read again, and the insert skips them. */
    if (rc == RK_OK && rstore_wb_ack(wb->redis, ids, n, &st) != RK_OK) {
        rc = RK_UNAVAILABLE;
        logged = 1;
    }
out:
    free(rows);
    free(src);
    free(ids);
    if (rc != RK_OK) {
        if (!logged) log_warn("write-behind waiting for PostgreSQL", "error=\"%s\" pending=%zu", st.message, n);
        return -1;
    }
    return (int)n;
}

/* ---------------------------------------------------------------- the job */

/* Entries a dead process read but never wrote. */
static int64_t claim(writebehind *wb, const char *node) {
    rk_status st;
    rstore_wb_batch b;
    if (rstore_wb_claim(wb->redis, node, &b, &st) != RK_OK) return RETRY_MS;
    int64_t wait = flush(wb, &b) < 0 ? RETRY_MS : 0;
    rstore_wb_free(&b);
    return wait;
}

/* Reads and writes one batch: first what this node took but never acked
 * (wb->pending), then new entries. Returns the wait before the next. */
static int64_t consume(writebehind *wb, const char *node) {
    rk_status st;
    rstore_wb_batch b;
    if (rstore_wb_read(wb->redis, node, wb->pending, &b, &st) != RK_OK) {
        /* Gone, or not serving (LOADING): our pending entries are read
         * again once it is back. */
        wb->pending = 1;
        wb->grouped = 0;
        return RETRY_MS;
    }
    int done = flush(wb, &b);
    int64_t wait = 0;
    if (done < 0) {
        wb->pending = 1;
        wait = PG_RETRY_MS;
    } else if (wb->pending && done == 0) {
        wb->pending = 0; /* our backlog is empty: read new entries from now on */
    }
    rstore_wb_free(&b);
    return wait;
}

static int64_t wb_tick(void *state, job *self) {
    (void)self;
    writebehind *wb = state;
    rk_status st;
    /* Redis answers and our consumer group exists: not while Redis is
     * away, nor while a restarted Redis is still loading its data. Asked
     * again only after a read failed (a Redis that restarted empty lost
     * the group), not once per batch. */
    if (!wb->grouped && rstore_wb_group(wb->redis, &st) != RK_OK) {
        wb->pending = 1;
        return RETRY_MS;
    }
    wb->grouped = 1;
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
