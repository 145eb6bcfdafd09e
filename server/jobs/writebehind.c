/*
 * writebehind.c - the stream consumer. One thread per consumer
 * (writebehind-consumers), each with its own connections and its own name
 * in the group, so that PostgreSQL writes batches on several backends at
 * once: the group hands each entry to one consumer, and the insert skips
 * an entry already written, so order between consumers does not matter.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "writebehind.h"
#include "store_streams.h"

#define CLAIM_EVERY_US (10 * 1000000LL)
#define RETRY_MS 1000
/* PostgreSQL refused or was away: try again soon, so that the stream
 * starts draining within a fraction of a second of its return. */
#define PG_RETRY_MS 200

/* One stream's reading state. */
typedef struct wb_stream {
    rstore_stream stream;
    int pending; /* re-read what this node took but never acked first */
    int grouped; /* the consumer group was there at the last read */
} wb_stream;

typedef struct writebehind {
    server *srv;
    rstore *redis;
    pgstore *pg;
    wb_stream *streams; /* rk:wb, then each board's (split layout) */
    size_t nstreams;
    size_t next; /* the stream the next tick starts with */
    int64_t last_claim;
    unsigned long listed; /* rstore_streams_gen when last listed */
    char consumer[96];    /* node, then node.2, node.3... */
} writebehind;

/* Consumers started in this process: the first keeps the plain node name,
 * so the entries it took before a restart are its own again. */
static atomic_int consumers_started;

/* Sets one entry aside for good: PostgreSQL will never take it, and
 * retrying it would hold back every entry behind it. */
static int dead_letter(writebehind *wb, const rstore_wb_entry *e, const char *reason, rk_status *st) {
    uint8_t *bytes = NULL;
    size_t n = 0;
    int rc = rstore_wb_entry_bytes(e, &bytes, &n, st);
    if (rc != RK_OK) return rc;
    rc = pgstore_dead_letter_add(wb->pg, e->entry_id, bytes, n, reason, st);
    free(bytes);
    if (rc == RK_OK)
        log_warn("submission set aside: PostgreSQL will not take it", "id=%s reason=\"%s\"", e->entry_id, reason);
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
static int flush(writebehind *wb, const rstore_stream *stream, const rstore_wb_batch *b) {
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
        /* Deleted meanwhile, or a replay that is only the global board's
         * and the aggregates' (the history has it): just ack. */
        if (e->gone || e->replay) continue;
        if (!e->board || !e->user || !e->score || !e->ts) {
            rc = dead_letter(wb, e, "malformed entry: a field is missing", &st);
            continue;
        }
        src[k] = e;
        rows[k++] = (pg_score){.entry_id = e->entry_id,
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
    if (rc == RK_OK && rstore_wb_ack(wb->redis, stream, ids, n, &st) != RK_OK) {
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
static int64_t claim(writebehind *wb, wb_stream *s, const char *node) {
    rk_status st;
    rstore_wb_batch b;
    if (rstore_wb_claim(wb->redis, &s->stream, node, &b, &st) != RK_OK) return RETRY_MS;
    int64_t wait = flush(wb, &s->stream, &b) < 0 ? RETRY_MS : 0;
    rstore_wb_free(&b);
    return wait;
}

/* Reads and writes one batch of stream s: first what this node took but
 * never acked (s->pending), then new entries, waiting up to block_ms for
 * them. Returns the wait before the next tick (-1: nothing came, no wait
 * of its own), and *done the entries handled. */
static int64_t consume(writebehind *wb, wb_stream *s, const char *node, int block_ms, int *done) {
    rk_status st;
    rstore_wb_batch b;
    *done = 0;
    /* Redis answers and the consumer group exists: not while Redis is
     * away, nor while a restarted Redis is still loading its data. Asked
     * again only after a read failed (a Redis that restarted empty lost
     * the group), not once per batch. */
    if (!s->grouped && rstore_wb_group(wb->redis, &s->stream, &st) != RK_OK) {
        s->pending = 1;
        return RETRY_MS;
    }
    s->grouped = 1;
    if (rstore_wb_read(wb->redis, &s->stream, node, s->pending, s->pending ? 0 : block_ms, &b, &st) != RK_OK) {
        /* Gone, or not serving (LOADING): our pending entries are read
         * again once it is back. */
        s->pending = 1;
        s->grouped = 0;
        return RETRY_MS;
    }
    int n = flush(wb, &s->stream, &b);
    int64_t wait = -1;
    if (n < 0) {
        s->pending = 1;
        wait = PG_RETRY_MS;
    } else if (s->pending && n == 0) {
        s->pending = 0; /* our backlog is empty: read new entries from now on */
        wait = 0;
    }
    *done = n > 0 ? n : 0;
    rstore_wb_free(&b);
    return wait;
}

/* The streams to read, from the store's list, keeping the state of those
 * already known. */
static void list_streams(writebehind *wb) {
    rstore_stream *keys = NULL;
    size_t n = 0;
    rk_status st;
    if (rstore_streams(&keys, &n, &st) != RK_OK) return;
    wb_stream *s = calloc(n, sizeof(*s));
    if (s == NULL) {
        free(keys);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        s[i].stream = keys[i];
        s[i].pending = 1;
        for (size_t j = 0; j < wb->nstreams; j++)
            if (strcmp(wb->streams[j].stream.key, keys[i].key) == 0) s[i] = wb->streams[j];
    }
    free(keys);
    free(wb->streams);
    wb->streams = s;
    wb->nstreams = n;
    if (wb->next >= n) wb->next = 0;
}

/* One stream (the one-key layout) is read with a blocking read; many are
 * read in turn without one, and a round that found nothing in any waits
 * this long. */
#define WB_BLOCK_MS 500
#define WB_IDLE_MS 20

static int64_t wb_tick(void *state, job *self) {
    (void)self;
    writebehind *wb = state;
    const char *node = wb->consumer;
    int64_t now = server_now_us();
    if (wb->listed != rstore_streams_gen()) {
        wb->listed = rstore_streams_gen();
        list_streams(wb);
    }
    if (wb->nstreams == 0) return RETRY_MS;
    if (now - wb->last_claim > CLAIM_EVERY_US) {
        wb->last_claim = now;
        int64_t wait = 0;
        for (size_t i = 0; i < wb->nstreams; i++) {
            wb_stream *s = &wb->streams[i];
            rk_status st;
            /* A stream without its group yet has nothing to claim. */
            if (!s->grouped && rstore_wb_group(wb->redis, &s->stream, &st) == RK_OK) s->grouped = 1;
            int64_t w = s->grouped ? claim(wb, s, node) : RETRY_MS;
            if (w > wait) wait = w;
        }
        return wait;
    }
    int block = wb->nstreams == 1 ? WB_BLOCK_MS : 0;
    int64_t wait = -1;
    int total = 0;
    for (size_t k = 0; k < wb->nstreams; k++) {
        wb_stream *s = &wb->streams[(wb->next + k) % wb->nstreams];
        int done = 0;
        int64_t w = consume(wb, s, node, block, &done);
        total += done;
        if (w > wait) wait = w;
    }
    wb->next = (wb->next + 1) % wb->nstreams;
    if (wait >= 0) return wait;
    return total > 0 || block ? 0 : WB_IDLE_MS;
}

static void wb_close(void *state) {
    writebehind *wb = state;
    rstore_close(wb->redis);
    pgstore_close(wb->pg);
    free(wb->streams);
    free(wb);
}

static int wb_open(void **out, server *srv, rk_status *st) {
    writebehind *wb = calloc(1, sizeof(*wb));
    if (wb == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    wb->srv = srv;
    int index = atomic_fetch_add(&consumers_started, 1) + 1;
    if (index == 1)
        snprintf(wb->consumer, sizeof(wb->consumer), "%s", srv->cfg.node);
    else
        snprintf(wb->consumer, sizeof(wb->consumer), "%s.%d", srv->cfg.node, index);
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
