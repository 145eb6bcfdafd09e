/*
 * store_streams.c - the write-behind's streams and the split layout's
 * applier (store_streams.h): reading them through the consumer group,
 * trimming them, and applying board streams to their targets.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "redis_exec.h"
#include "store_streams.h"

typedef char num_text[24]; /* an int64 in decimal */

static int simple(rstore *r, int argc, const char **argv, rk_status *st) {
    redisReply *rep = NULL;
    int rc = rstore_command(r, argc, argv, NULL, &rep, st);
    if (rep) freeReplyObject(rep);
    return rc;
}

/* ---------------------------------------------------------------- the write-behind's stream */

#define WB_GROUP "rankd"
#define WB_BATCH "1000"
#define WB_CLAIM_IDLE_MS "30000"

/* The boards whose streams exist (the split layout): noted by the boards
 * cache, never forgotten while the process runs (a deleted board's stream
 * is drained, then empty). */
static pthread_mutex_t streams_mu = PTHREAD_MUTEX_INITIALIZER;
static char (*stream_boards)[BOARD_TAG_MAX + 1];
static size_t nstream_boards, stream_boards_cap;
static atomic_ulong streams_gen = 1;

unsigned long rstore_streams_gen(void) { return atomic_load(&streams_gen); }

static void note_stream(const char *board_id);

void rstore_streams_note(const board *b) {
    char tag[BOARD_TAG_MAX + 1];
    for (int k = 0; k < board_shards(b); k++) {
        board at = board_at_shard(b, k);
        board_tag(&at, tag, sizeof(tag));
        note_stream(tag);
    }
}

static void note_stream(const char *board_id) {
    pthread_mutex_lock(&streams_mu);
    size_t i = 0;
    while (i < nstream_boards && strcmp(stream_boards[i], board_id) != 0) i++;
    if (i == nstream_boards) {
        if (nstream_boards == stream_boards_cap) {
            size_t cap = stream_boards_cap ? 2 * stream_boards_cap : 16;
            void *p = realloc(stream_boards, cap * sizeof(*stream_boards));
            if (p) {
                stream_boards = p;
                stream_boards_cap = cap;
            }
        }
        if (nstream_boards < stream_boards_cap) {
            snprintf(stream_boards[nstream_boards++], BOARD_TAG_MAX + 1, "%s", board_id);
            atomic_fetch_add(&streams_gen, 1);
        }
    }
    pthread_mutex_unlock(&streams_mu);
}

int rstore_streams(rstore_stream **out, size_t *n, rk_status *st) {
    pthread_mutex_lock(&streams_mu);
    size_t nb = rstore_get_layout() == RSTORE_SPLIT ? nstream_boards : 0;
    rstore_stream *s = calloc(nb + 1, sizeof(*s));
    if (s) {
        rstore_stream_key(NULL, s[0].key, sizeof(s[0].key));
        for (size_t i = 0; i < nb; i++) {
            rstore_stream_key(stream_boards[i], s[i + 1].key, sizeof(s[i + 1].key));
            snprintf(s[i + 1].board, sizeof(s[i + 1].board), "%s", stream_boards[i]);
        }
    }
    pthread_mutex_unlock(&streams_mu);
    if (s == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    *out = s;
    *n = nb + 1;
    return RK_OK;
}

void rstore_applied_key(const char *target, char *out, size_t cap) { snprintf(out, cap, "rk:{%s}:applied", target); }

void rstore_exact_key(const char *target, char *out, size_t cap) { snprintf(out, cap, "rk:{%s}:exact", target); }

void rstore_mirror_key(const char *board_id, char *out, size_t cap) { snprintf(out, cap, "rk:{%s}:mirror", board_id); }

int rstore_wb_group(rstore *r, const rstore_stream *stream, rk_status *st) {
    /* From id 0: entries written before the group existed are not skipped. */
    const char *argv[] = {"XGROUP", "CREATE", stream->key, WB_GROUP, "0", "MKSTREAM"};
    int rc = simple(r, 6, argv, st);
    if (rc == RK_INTERNAL && strstr(st->message, "BUSYGROUP")) {
        rk_status_clear(st);
        return RK_OK;
    }
    return rc;
}

static const char *wb_field(const redisReply *kv, const char *name) {
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && strcmp(kv->element[i]->str, name) == 0 &&
            kv->element[i + 1]->type == REDIS_REPLY_STRING)
            return kv->element[i + 1]->str;
    return NULL;
}

/* An array of [id, [field, value...]] entries of stream -> b (which takes
 * rep). A board's own stream qualifies its ids by the board, as
 * rk_submit does in its reply. */
static int wb_batch(const rstore_stream *stream, redisReply *rep, redisReply *entries, rstore_wb_batch *b,
                    rk_status *st) {
    memset(b, 0, sizeof(*b));
    b->reply_ = rep;
    size_t n = entries ? entries->elements : 0;
    int qualify = stream->board[0] != '\0';
    b->entries = calloc(n ? n : 1, sizeof(*b->entries));
    if (b->entries == NULL) {
        rstore_wb_free(b);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING) continue;
        rstore_wb_entry *w = &b->entries[b->n++];
        redisReply *kv = e->element[1];
        w->id = e->element[0]->str;
        snprintf(w->entry_id, sizeof(w->entry_id), "%s", w->id);
        if (kv->type != REDIS_REPLY_ARRAY) {
            w->gone = 1;
            continue;
        }
        w->fields_ = kv;
        w->board = wb_field(kv, "b");
        w->user = wb_field(kv, "u");
        w->score = wb_field(kv, "s");
        w->ts = wb_field(kv, "t");
        w->key = wb_field(kv, "k");
        w->held = wb_field(kv, "h");
        w->meta = wb_field(kv, "x");
        w->prev = wb_field(kv, "p");
        w->next = wb_field(kv, "n");
        w->targets = wb_field(kv, "g");
        w->replay = wb_field(kv, "r") != NULL;
        if (qualify && w->board) snprintf(w->entry_id, sizeof(w->entry_id), "%s/%s", w->board, w->id);
    }
    return RK_OK;
}

int rstore_wb_read(rstore *r, const rstore_stream *stream, const char *node, int pending, int block_ms,
                   rstore_wb_batch *b, rk_status *st) {
    num_text block;
    snprintf(block, sizeof(block), "%d", block_ms);
    const char *argv[] = {"XREADGROUP", "GROUP",     WB_GROUP,           node, "COUNT", WB_BATCH, "BLOCK", block,
                          "STREAMS",    stream->key, pending ? "0" : ">"};
    const char *noblock[] = {"XREADGROUP", "GROUP",     WB_GROUP,           node, "COUNT", WB_BATCH,
                             "STREAMS",    stream->key, pending ? "0" : ">"};
    redisReply *rep = NULL;
    memset(b, 0, sizeof(*b));
    int rc = block_ms > 0 ? rstore_command(r, 11, argv, NULL, &rep, st) : rstore_command(r, 9, noblock, NULL, &rep, st);
    if (rc != RK_OK) return rc;
    /* [[stream, entries]], or nil when nothing came in the wait. */
    redisReply *entries = NULL;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1) {
        redisReply *s0 = rep->element[0];
        if (s0->type == REDIS_REPLY_ARRAY && s0->elements == 2 && s0->element[1]->type == REDIS_REPLY_ARRAY)
            entries = s0->element[1];
    }
    return wb_batch(stream, rep, entries, b, st);
}

int rstore_wb_claim(rstore *r, const rstore_stream *stream, const char *node, rstore_wb_batch *b, rk_status *st) {
    const char *argv[] = {"XAUTOCLAIM", stream->key, WB_GROUP, node, WB_CLAIM_IDLE_MS, "0-0", "COUNT", WB_BATCH};
    redisReply *rep = NULL;
    memset(b, 0, sizeof(*b));
    int rc = rstore_command(r, 8, argv, NULL, &rep, st);
    if (rc != RK_OK) return rc;
    redisReply *entries =
        rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2 && rep->element[1]->type == REDIS_REPLY_ARRAY
            ? rep->element[1]
            : NULL;
    return wb_batch(stream, rep, entries, b, st);
}

int rstore_wb_range(rstore *r, const rstore_stream *stream, const char *after, int count, rstore_wb_batch *b,
                    rk_status *st) {
    char from[RSTORE_ENTRY_ID_MAX + 1];
    num_text cnt;
    snprintf(from, sizeof(from), "(%s", after);
    snprintf(cnt, sizeof(cnt), "%d", count);
    const char *argv[] = {"XRANGE", stream->key, from, "+", "COUNT", cnt};
    redisReply *rep = NULL;
    memset(b, 0, sizeof(*b));
    int rc = rstore_command(r, 6, argv, NULL, &rep, st);
    if (rc != RK_OK) return rc;
    return wb_batch(stream, rep, rep->type == REDIS_REPLY_ARRAY ? rep : NULL, b, st);
}

int rstore_wb_entry_bytes(const rstore_wb_entry *e, uint8_t **out, size_t *len, rk_status *st) {
    const redisReply *kv = e->fields_;
    size_t n = 0, m = kv ? kv->elements : 0;
    for (size_t i = 0; i < m; i++)
        if (kv->element[i]->type == REDIS_REPLY_STRING) n += kv->element[i]->len + 1;
    uint8_t *buf = malloc(n ? n : 1), *p = buf;
    if (buf == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < m; i++) {
        const redisReply *f = kv->element[i];
        if (f->type != REDIS_REPLY_STRING) continue;
        memcpy(p, f->str, f->len);
        p += f->len;
        *p++ = i % 2 ? '\n' : '=';
    }
    *out = buf;
    *len = n;
    return RK_OK;
}

void rstore_wb_free(rstore_wb_batch *b) {
    if (b->reply_) freeReplyObject(b->reply_);
    free(b->entries);
    memset(b, 0, sizeof(*b));
}

/* XACK of the entries, then rk_wb_trim (rankd.lua), which drops every
 * entry no consumer still needs: cheaper than XDEL of each id, and it also
 * drops what a consumer acknowledged but could not delete before it died.
 * A board's stream is trimmed no further than its targets have applied
 * (its mirror, rk:{b}:mirror). */
typedef struct wb_trim_cmd {
    const char *argv[5];
    int argc;
    char mirror[RSTORE_KEY_MAX];
} wb_trim_cmd;

static void wb_trim_build(const rstore_stream *stream, wb_trim_cmd *t) {
    t->argv[0] = "FCALL";
    t->argv[1] = "rk_wb_trim";
    t->argv[3] = stream->key;
    t->argc = 4;
    t->argv[2] = "1";
    if (stream->board[0]) {
        rstore_mirror_key(stream->board, t->mirror, sizeof(t->mirror));
        t->argv[2] = "2";
        t->argv[4] = t->mirror;
        t->argc = 5;
    }
}

int rstore_wb_ack(rstore *r, const rstore_stream *stream, const char *const *ids, size_t n, rk_status *st) {
    if (n == 0) return RK_OK;
    const char **argv = calloc(n + 3, sizeof(*argv));
    if (argv == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    wb_trim_cmd t;
    wb_trim_build(stream, &t);
    argv[0] = "XACK";
    argv[1] = stream->key;
    argv[2] = WB_GROUP;
    memcpy(argv + 3, ids, n * sizeof(*ids));
    /* Both in the stream's slot. */
    int rc = rstore_pair(r, (int)(3 + n), argv, t.argc, t.argv, st);
    free(argv);
    return rc;
}

/* ---------------------------------------------------------------- the split layout's applier */

int rstore_mirror_forget(rstore *r, const char *board_id, const char *target, rk_status *st) {
    char mirror[RSTORE_KEY_MAX];
    rstore_mirror_key(board_id, mirror, sizeof(mirror));
    const char *argv[] = {"HDEL", mirror, target};
    return simple(r, 3, argv, st);
}

int rstore_mirror_targets(rstore *r, const char *board_id, char (*out)[BOARD_ID_MAX + 1], size_t cap, size_t *n,
                          char *low, rk_status *st) {
    char mirror[RSTORE_KEY_MAX];
    rstore_mirror_key(board_id, mirror, sizeof(mirror));
    const char *argv[] = {"HGETALL", mirror};
    redisReply *rep = NULL;
    *n = 0;
    low[0] = '\0';
    int rc = rstore_command(r, 2, argv, NULL, &rep, st);
    if (rc != RK_OK) return rc;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2) {
        const redisReply *k = rep->element[i], *v = rep->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || k->len > BOARD_ID_MAX || v->type != REDIS_REPLY_STRING) continue;
        if (*n < cap) snprintf(out[(*n)++], BOARD_ID_MAX + 1, "%s", k->str);
        if (!low[0] || rstore_entry_before(v->str, low)) snprintf(low, RSTORE_ENTRY_ID_MAX, "%s", v->str);
    }
    freeReplyObject(rep);
    return RK_OK;
}

int rstore_entry_before(const char *a, const char *b) {
    unsigned long long am = 0, as = 0, bm = 0, bs = 0;
    sscanf(a, "%llu-%llu", &am, &as);
    sscanf(b, "%llu-%llu", &bm, &bs);
    return am < bm || (am == bm && as < bs);
}

int rstore_applier_backlog(rstore *r, int64_t *n, rk_status *st) {
    rstore_stream *s = NULL;
    size_t ns = 0;
    *n = 0;
    int rc = rstore_streams(&s, &ns, st);
    for (size_t i = 1; rc == RK_OK && i < ns; i++) {
        char low[RSTORE_ENTRY_ID_MAX], targets[1][BOARD_ID_MAX + 1];
        size_t nt = 0;
        if ((rc = rstore_mirror_targets(r, s[i].board, targets, 1, &nt, low, st)) != RK_OK) break;
        if (!low[0]) continue; /* it has fed no target */
        rstore_wb_batch b;
        if ((rc = rstore_wb_range(r, &s[i], low, 1000, &b, st)) != RK_OK) break;
        *n += (int64_t)b.n;
        rstore_wb_free(&b);
    }
    free(s);
    return rc;
}

int rstore_apply(rstore *r, const char *target, const rstore_stream *stream, const rstore_wb_entry *const *entries,
                 size_t n, const char *last, char *applied, rk_status *st) {
    board t = {.higher_is_better = 1};
    snprintf(t.id, sizeof(t.id), "%s", target);
    rview v;
    rstore_view(&t, WINDOW_ALL, 0, &v);
    char ap[RSTORE_KEY_MAX];
    rstore_applied_key(target, ap, sizeof(ap));
    size_t argc = 11 + 5 * n;
    const char **argv = calloc(argc, sizeof(*argv));
    if (argv == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    size_t k = 0;
    argv[k++] = "FCALL";
    argv[k++] = "rk_apply";
    char exact[RSTORE_KEY_MAX];
    rstore_exact_key(target, exact, sizeof(exact));
    argv[k++] = "5";
    argv[k++] = v.zkey;
    argv[k++] = v.mkey;
    argv[k++] = ap;
    argv[k++] = v.flag;
    argv[k++] = exact;
    argv[k++] = stream->key;
    argv[k++] = last;
    argv[k++] = target;
    for (size_t i = 0; i < n; i++) {
        argv[k++] = entries[i]->id;
        argv[k++] = entries[i]->user;
        argv[k++] = entries[i]->prev ? entries[i]->prev : "";
        argv[k++] = entries[i]->next;
        argv[k++] = entries[i]->ts;
    }
    redisReply *rep = NULL;
    int rc = rstore_command(r, (int)argc, argv, NULL, &rep, st);
    free(argv);
    if (rc != RK_OK) return rc;
    if (rep->type != REDIS_REPLY_STRING) {
        freeReplyObject(rep);
        return rk_status_set(st, RK_INTERNAL, "unexpected reply from rk_apply");
    }
    snprintf(applied, RSTORE_ENTRY_ID_MAX, "%s", rep->str);
    freeReplyObject(rep);
    /* The copy for the trim, in the board's slot (one that lags only
     * keeps entries longer), then the trim: what the write-behind had
     * already written goes once its targets have it. */
    char mirror[RSTORE_KEY_MAX];
    rstore_mirror_key(stream->board, mirror, sizeof(mirror));
    const char *hset[] = {"HSET", mirror, target, applied};
    wb_trim_cmd trim;
    wb_trim_build(stream, &trim);
    /* Both in the board's slot: one round trip, the copy first. */
    return rstore_pair(r, 4, hset, trim.argc, trim.argv, st);
}

/* The stream's length and the id of the last entry it was given ("0-0"
 * when none; XINFO STREAM); *len -1: no such stream. */
static int stream_info(rstore *r, const char *stream, int64_t *len, char *last, rk_status *st) {
    const char *argv[] = {"XINFO", "STREAM", stream};
    redisReply *rep = NULL;
    *len = -1;
    snprintf(last, RSTORE_ENTRY_ID_MAX, "0-0");
    int rc = rstore_command(r, 3, argv, NULL, &rep, st);
    if (rc == RK_INTERNAL && strstr(st->message, "no such key")) {
        rk_status_clear(st);
        return RK_OK;
    }
    if (rc != RK_OK) return rc;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2) {
        const redisReply *k = rep->element[i], *v = rep->element[i + 1];
        if (k->type != REDIS_REPLY_STRING) continue;
        if (strcmp(k->str, "length") == 0 && v->type == REDIS_REPLY_INTEGER) *len = v->integer;
        if (strcmp(k->str, "last-generated-id") == 0 && v->type == REDIS_REPLY_STRING)
            snprintf(last, RSTORE_ENTRY_ID_MAX, "%s", v->str);
    }
    freeReplyObject(rep);
    return RK_OK;
}

/* One stream's entries not yet in PostgreSQL: those the group has handed
 * out and not had acknowledged, and those it has not handed out yet. The
 * second is the group's lag (XINFO GROUPS), but a Redis that loaded the
 * stream from disk may report a lag that is not there any more: none is
 * counted when the group has been handed the stream's last entry, and
 * never more than the stream holds. The whole stream before the group
 * exists. */
static int stream_backlog(rstore *r, const char *stream, int64_t *n, int64_t *oldest_ms, rk_status *st) {
    int64_t len;
    char newest[RSTORE_ENTRY_ID_MAX];
    *n = 0;
    *oldest_ms = 0;
    int rc = stream_info(r, stream, &len, newest, st);
    if (rc != RK_OK || len <= 0) return rc;
    const char *argv[] = {"XINFO", "GROUPS", stream};
    redisReply *rep = NULL;
    if ((rc = rstore_command(r, 3, argv, NULL, &rep, st)) != RK_OK) return rc;
    long long pending = -1, lag = -1;
    char last[RSTORE_ENTRY_ID_MAX] = "0-0";
    for (size_t g = 0; rep->type == REDIS_REPLY_ARRAY && g < rep->elements; g++) {
        const redisReply *kv = rep->element[g];
        if (kv->type != REDIS_REPLY_ARRAY) continue;
        const char *name = wb_field(kv, "name");
        if (name == NULL || strcmp(name, WB_GROUP) != 0) continue;
        for (size_t i = 0; i + 1 < kv->elements; i += 2) {
            const redisReply *k = kv->element[i], *v = kv->element[i + 1];
            if (k->type != REDIS_REPLY_STRING) continue;
            if (strcmp(k->str, "pending") == 0 && v->type == REDIS_REPLY_INTEGER) pending = v->integer;
            if (strcmp(k->str, "lag") == 0 && v->type == REDIS_REPLY_INTEGER) lag = v->integer;
            if (strcmp(k->str, "last-delivered-id") == 0 && v->type == REDIS_REPLY_STRING)
                snprintf(last, sizeof(last), "%s", v->str);
        }
    }
    freeReplyObject(rep);
    int grouped = pending >= 0;
    if (!grouped) {
        *n = len;
    } else {
        int64_t undelivered = rstore_entry_before(last, newest) ? (lag >= 0 ? lag : len) : 0;
        *n = pending + undelivered;
        if (*n > len) *n = len;
    }
    if (*n == 0) return RK_OK;
    /* The oldest waiting entry: the first pending one, else the first not
     * handed out. An entry id starts with its Unix ms. */
    if (pending > 0) {
        const char *xp[] = {"XPENDING", stream, WB_GROUP};
        if ((rc = rstore_command(r, 3, xp, NULL, &rep, st)) != RK_OK) return rc;
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2 && rep->element[1]->type == REDIS_REPLY_STRING)
            *oldest_ms = strtoll(rep->element[1]->str, NULL, 10);
        freeReplyObject(rep);
        return RK_OK;
    }
    char after[RSTORE_ENTRY_ID_MAX + 1];
    snprintf(after, sizeof(after), "%s%s", grouped ? "(" : "", grouped ? last : "-");
    const char *xr[] = {"XRANGE", stream, after, "+", "COUNT", "1"};
    if ((rc = rstore_command(r, 6, xr, NULL, &rep, st)) != RK_OK) return rc;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 && rep->element[0]->type == REDIS_REPLY_ARRAY &&
        rep->element[0]->elements >= 1 && rep->element[0]->element[0]->type == REDIS_REPLY_STRING)
        *oldest_ms = strtoll(rep->element[0]->element[0]->str, NULL, 10);
    freeReplyObject(rep);
    return RK_OK;
}

int rstore_backlog(rstore *r, int64_t *n, int64_t *oldest_ms, rk_status *st) {
    rstore_stream *s = NULL;
    size_t ns = 0;
    *n = 0;
    if (oldest_ms) *oldest_ms = 0;
    int rc = rstore_streams(&s, &ns, st);
    for (size_t i = 0; rc == RK_OK && i < ns; i++) {
        int64_t k = 0, ms = 0;
        if ((rc = stream_backlog(r, s[i].key, &k, &ms, st)) != RK_OK) break;
        *n += k;
        if (oldest_ms && ms > 0 && (*oldest_ms == 0 || ms < *oldest_ms)) *oldest_ms = ms;
    }
    free(s);
    return rc;
}
