/*
 * store_streams.h - the write-behind's streams and the split layout's
 * applier: accepted submissions waiting for PostgreSQL, read through the
 * consumer group "rankd" (writebehind.h), and in the split layout each
 * board's stream applied to the global board and the aggregates
 * (applier.h; docs/ARCHITECTURE.md, Layouts).
 */
#ifndef RANKD_STORE_STREAMS_H
#define RANKD_STORE_STREAMS_H

#include <stddef.h>
#include <stdint.h>

#include "store_redis.h"

/* Submissions accepted but not yet written to PostgreSQL, in every
 * stream known (rstore_streams), and the Unix ms of the oldest of them
 * (0: none; oldest_ms may be NULL). */
int rstore_backlog(rstore *r, int64_t *n, int64_t *oldest_ms, rk_status *st);

/* rk:wb, and in the split layout one stream per board (per shard of a
 * hot board). */

/* Makes b's stream (each of a hot board's shards') one of those
 * rstore_streams lists (the boards cache tells the store of every board it
 * learns). Any thread. */
void rstore_streams_note(const board *b);
/* A write-behind stream: its key, and the board it is the stream of
 * ("" for rk:wb). */
typedef struct rstore_stream {
    char key[RSTORE_KEY_MAX];
    char board[BOARD_TAG_MAX + 1]; /* its tag: a hot board's shards have a stream each */
} rstore_stream;
/* The streams to drain: rk:wb first (what the one-key layout, or an older
 * release, wrote), then in the split layout each noted board's. *out is
 * malloc'ed. */
int rstore_streams(rstore_stream **out, size_t *n, rk_status *st);
/* Changes whenever a stream is added to the list: a reader lists again. */
unsigned long rstore_streams_gen(void);
/* Where target board t (the global board, an aggregate) records what it
 * applied of each stream, and where board b keeps a copy of that for its
 * stream's trim (the split layout, rankd.lua "rk_apply"). */
void rstore_applied_key(const char *target, char *out, size_t cap);
void rstore_mirror_key(const char *board_id, char *out, size_t cap);
/* A target's totals beyond +-2^53, kept exactly (rankd.lua, rk_apply);
 * a rebuild of the target drops it. */
void rstore_exact_key(const char *target, char *out, size_t cap);
/* Board board_id's stream no longer feeds target (an aggregate deleted):
 * its trim stops waiting for it. */
int rstore_mirror_forget(rstore *r, const char *board_id, const char *target, rk_status *st);

typedef struct rstore_wb_entry {
    const char *id;                     /* the stream's id, for XACK */
    char entry_id[RSTORE_ENTRY_ID_MAX]; /* the submission's id (a board stream's are qualified by the board) */
    /* The fields rk_submit wrote; NULL when missing (a malformed entry). */
    const char *board, *user, *score, *ts, *key;
    const char *held; /* the rule that held it for review (rk_submit's "h"); NULL: it counts */
    const char *meta; /* record metadata (rk_submit's "x"); NULL: none */
    /* The split layout's all-time change, for rk_apply: the previous value
     * ("" none), the new one, and the targets ("global,agg,..."); NULL: none. */
    const char *prev, *next, *targets;
    int replay; /* "r": in PostgreSQL's history already, only for the targets */
    int gone;   /* deleted from the stream meanwhile: only to be acknowledged */
    const struct redisReply *fields_;
} rstore_wb_entry;

typedef struct rstore_wb_batch {
    rstore_wb_entry *entries;
    size_t n;
    struct redisReply *reply_;
} rstore_wb_batch;

/* Creates the consumer group (from the stream's start) unless it exists. */
int rstore_wb_group(rstore *r, const rstore_stream *stream, rk_status *st);
/* Up to 1000 entries for node: with pending, those it read before and
 * never acknowledged, else new ones (waiting up to block_ms; 0: not). */
int rstore_wb_read(rstore *r, const rstore_stream *stream, const char *node, int pending, int block_ms,
                   rstore_wb_batch *b, rk_status *st);
/* Entries another consumer read and left unacknowledged for 30 s. */
int rstore_wb_claim(rstore *r, const rstore_stream *stream, const char *node, rstore_wb_batch *b, rk_status *st);
/* Up to count entries after id `after` ("0-0": from the start), outside
 * any group (the applier's read). */
int rstore_wb_range(rstore *r, const rstore_stream *stream, const char *after, int count, rstore_wb_batch *b,
                    rk_status *st);
/* An entry's fields as they came, "name=value\n" each, byte for byte
 * (for the dead letter); *out is malloc'ed. */
int rstore_wb_entry_bytes(const rstore_wb_entry *e, uint8_t **out, size_t *len, rk_status *st);
void rstore_wb_free(rstore_wb_batch *b);
/* Acknowledges n entries and drops from the stream every entry no
 * consumer still needs (these, and older ones already acknowledged), in
 * one round trip. */
int rstore_wb_ack(rstore *r, const rstore_stream *stream, const char *const *ids, size_t n, rk_status *st);

/* The targets board_id's stream has fed (its rk:{b}:mirror's fields), at
 * most cap of them, and in low (RSTORE_ENTRY_ID_MAX bytes) the least of
 * what the mirror says any of them has applied ("" when it names none). */
int rstore_mirror_targets(rstore *r, const char *board_id, char (*out)[BOARD_ID_MAX + 1], size_t cap, size_t *n,
                          char *low, rk_status *st);
/* Whether stream entry id a ("<ms>-<seq>") comes before b. */
int rstore_entry_before(const char *a, const char *b);
/* Entries of the board streams some target has not applied yet (each
 * stream counted up to 1000), by their mirrors. */
int rstore_applier_backlog(rstore *r, int64_t *n, rk_status *st);
/* One target's share of a stream's entries (the split layout): applies
 * the n entries, all after the target's last applied, through `last` (the
 * last entry read, which they may not reach), exactly once each
 * (rankd.lua, rk_apply), then copies what the target has applied into
 * the board's mirror. *applied: the last entry the target has applied
 * (RSTORE_ENTRY_ID_MAX bytes). RK_UNAVAILABLE while the target is rebuilt. */
int rstore_apply(rstore *r, const char *target, const rstore_stream *stream, const rstore_wb_entry *const *entries,
                 size_t n, const char *last, char *applied, rk_status *st);

#endif
