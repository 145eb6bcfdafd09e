/*
 * store_shards.c - reads of one shard of a hot board (store_shards.h),
 * through rk_shard_rows, rk_shard_places and rk_shard_ahead (rankd.lua).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "redis_exec.h"
#include "store_shards.h"

typedef char num_text[24];

void rshard_page_free(rshard_page *p) {
    for (size_t i = 0; p->rows && i < p->n; i++) free(p->rows[i].meta);
    free(p->rows);
    memset(p, 0, sizeof(*p));
}

int rshard_before(int desc, const rshard_row *a, const rshard_row *b) {
    if (a->score != b->score) return desc ? a->score > b->score : a->score < b->score;
    int c = strcmp(a->member, b->member); /* as unsigned bytes, as Redis orders them */
    return desc ? c > 0 : c < 0;
}

static int64_t int_of(const redisReply *e) {
    if (e == NULL) return 0;
    if (e->type == REDIS_REPLY_INTEGER) return e->integer;
    if (e->type == REDIS_REPLY_STRING) return strtoll(e->str, NULL, 10);
    return 0;
}

static int bad_reply(redisReply *rep, rk_status *st) {
    freeReplyObject(rep);
    return rk_status_set(st, RK_INTERNAL, "unexpected reply from a hot board's shard");
}

/* A row's member, score and metadata from three elements of a reply. */
static int fill_row(rshard_row *row, redisReply *const *e, rk_status *st) {
    if (e[0]->type != REDIS_REPLY_STRING || e[0]->len >= RSHARD_MEMBER_MAX || e[0]->len <= 9)
        return rk_status_set(st, RK_INTERNAL, "unexpected member on a hot board's shard");
    memcpy(row->member, e[0]->str, e[0]->len);
    row->member[e[0]->len] = '\0';
    row->user_id = strtoll(row->member + 9, NULL, 10); /* after the tie key */
    row->score = int_of(e[1]);
    row->found = 1;
    if (e[2]->type == REDIS_REPLY_STRING && e[2]->len > 0) {
        if ((row->meta = malloc(e[2]->len + 1)) == NULL)
            return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        memcpy(row->meta, e[2]->str, e[2]->len);
        row->meta[e[2]->len] = '\0';
    }
    return RK_OK;
}

int rshard_rows(rstore *r, const rview *v, int64_t offset, int64_t count, rshard_page *out, rk_status *st) {
    char live[RSTORE_KEY_MAX];
    num_text off, cnt;
    memset(out, 0, sizeof(*out));
    rstore_view_live(v, live, sizeof(live));
    snprintf(off, sizeof(off), "%" PRId64, offset);
    snprintf(cnt, sizeof(cnt), "%" PRId64, count);
    int meta = v->xkey[0] != '\0';
    const char *argv[] = {"FCALL_RO", "rk_shard_rows",       meta ? "4" : "3",    v->zkey, v->flag,
                          live,       meta ? v->xkey : NULL, v->desc ? "1" : "0", off,     cnt};
    const char *args[10];
    int argc = 0;
    for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++)
        if (argv[i]) args[argc++] = argv[i];
    redisReply *rep = NULL;
    int rc = rstore_read_command(r, argc, args, &rep, st);
    if (rc != RK_OK) return rc;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 || (rep->elements - 1) % 3 != 0) return bad_reply(rep, st);
    out->size = int_of(rep->element[0]);
    size_t n = (rep->elements - 1) / 3;
    out->rows = calloc(n ? n : 1, sizeof(*out->rows));
    if (out->rows == NULL) {
        freeReplyObject(rep);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        rc = fill_row(&out->rows[i], rep->element + 1 + 3 * i, st);
        out->rows[i].position = offset + (int64_t)i;
        out->n = i + 1;
    }
    freeReplyObject(rep);
    if (rc != RK_OK) rshard_page_free(out);
    return rc;
}

int rshard_places(rstore *r, const rview *v, const int64_t *uids, size_t n, rshard_page *out, rk_status *st) {
    char live[RSTORE_KEY_MAX];
    memset(out, 0, sizeof(*out));
    rstore_view_live(v, live, sizeof(live));
    const char **argv = calloc(n + 10, sizeof(*argv));
    num_text *nums = calloc(n ? n : 1, sizeof(*nums));
    out->rows = calloc(n ? n : 1, sizeof(*out->rows));
    int rc = argv && nums && out->rows ? RK_OK : rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    int argc = 0, meta = v->xkey[0] != '\0';
    redisReply *rep = NULL;
    if (rc == RK_OK) {
        argv[argc++] = "FCALL_RO";
        argv[argc++] = "rk_shard_places";
        argv[argc++] = meta ? "5" : "4";
        argv[argc++] = v->zkey;
        argv[argc++] = v->mkey;
        argv[argc++] = v->flag;
        argv[argc++] = live;
        if (meta) argv[argc++] = v->xkey;
        argv[argc++] = v->desc ? "1" : "0";
        for (size_t i = 0; i < n; i++) {
            snprintf(nums[i], sizeof(nums[i]), "%" PRId64, uids[i]);
            argv[argc++] = nums[i];
        }
        rc = rstore_read_command(r, argc, argv, &rep, st);
    }
    if (rc == RK_OK && (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1 + 4 * n)) {
        rc = bad_reply(rep, st);
        rep = NULL;
    }
    if (rc == RK_OK) out->size = int_of(rep->element[0]);
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        redisReply *const *e = rep->element + 1 + 4 * i;
        rshard_row *row = &out->rows[i];
        out->n = i + 1;
        row->user_id = uids[i];
        if (e[0]->type != REDIS_REPLY_STRING) continue; /* not on the shard */
        redisReply *const trio[] = {e[0], e[1], e[3]};
        rc = fill_row(row, trio, st);
        row->user_id = uids[i];
        row->position = int_of(e[2]);
    }
    if (rep) freeReplyObject(rep);
    free(argv);
    free(nums);
    if (rc != RK_OK) rshard_page_free(out);
    return rc;
}

int rshard_ahead(rstore *r, const rview *v, const rshard_probe *probes, size_t n, int64_t *better, int64_t *ahead,
                 int64_t *size, rk_status *st) {
    char live[RSTORE_KEY_MAX];
    rstore_view_live(v, live, sizeof(live));
    const char **argv = calloc(2 * n + 8, sizeof(*argv));
    num_text *nums = calloc(n ? n : 1, sizeof(*nums));
    int rc = argv && nums ? RK_OK : rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    int argc = 0;
    redisReply *rep = NULL;
    if (rc == RK_OK) {
        argv[argc++] = "FCALL_RO";
        argv[argc++] = "rk_shard_ahead";
        argv[argc++] = "3";
        argv[argc++] = v->zkey;
        argv[argc++] = v->flag;
        argv[argc++] = live;
        argv[argc++] = v->desc ? "1" : "0";
        for (size_t i = 0; i < n; i++) {
            snprintf(nums[i], sizeof(nums[i]), "%" PRId64, probes[i].score);
            argv[argc++] = nums[i];
            argv[argc++] = probes[i].member ? probes[i].member : "";
        }
        rc = rstore_read_command(r, argc, argv, &rep, st);
    }
    if (rc == RK_OK && (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1 + 2 * n)) {
        rc = bad_reply(rep, st);
        rep = NULL;
    }
    if (rc == RK_OK) {
        *size = int_of(rep->element[0]);
        for (size_t i = 0; i < n; i++) {
            better[i] = int_of(rep->element[1 + 2 * i]);
            ahead[i] = int_of(rep->element[2 + 2 * i]);
        }
    }
    if (rep) freeReplyObject(rep);
    free(argv);
    free(nums);
    return rc;
}
