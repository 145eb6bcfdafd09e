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

static int bad_reply(rk_status *st) {
    return rk_status_set(st, RK_INTERNAL, "unexpected reply from a hot board's shard");
}

static int oom(rk_status *st) { return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory"); }

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
        if ((row->meta = malloc(e[2]->len + 1)) == NULL) return oom(st);
        memcpy(row->meta, e[2]->str, e[2]->len);
        row->meta[e[2]->len] = '\0';
    }
    return RK_OK;
}

/* One shard's command: its arguments and the texts they point at. */
typedef struct cmd {
    int argc;
    const char **argv;
    num_text *nums;
    char live[RSTORE_KEY_MAX];
} cmd;

/* n commands of at most cap arguments and nnums numbers each, or NULL. */
static cmd *cmds_new(size_t n, size_t cap, size_t nnums) {
    cmd *c = calloc(n ? n : 1, sizeof(*c));
    for (size_t i = 0; c && i < n; i++) {
        c[i].argv = calloc(cap, sizeof(*c[i].argv));
        c[i].nums = calloc(nnums ? nnums : 1, sizeof(*c[i].nums));
        if (!c[i].argv || !c[i].nums) {
            for (size_t j = 0; j <= i; j++) {
                free(c[j].argv);
                free(c[j].nums);
            }
            free(c);
            return NULL;
        }
    }
    return c;
}

static void cmds_free(cmd *c, size_t n) {
    for (size_t i = 0; c && i < n; i++) {
        free(c[i].argv);
        free(c[i].nums);
    }
    free(c);
}

/* Sends the commands with an argc > 0 in one round trip; reps[i] is NULL
 * for the others. */
static int send_all(rstore *r, cmd *c, size_t n, redisReply **reps, rk_status *st) {
    int *argcs = calloc(n ? n : 1, sizeof(*argcs));
    const char *const **argvs = calloc(n ? n : 1, sizeof(*argvs));
    redisReply **got = calloc(n ? n : 1, sizeof(*got));
    size_t *at = calloc(n ? n : 1, sizeof(*at)), m = 0;
    int rc = argcs && argvs && got && at ? RK_OK : oom(st);
    for (size_t i = 0; i < n; i++) reps[i] = NULL;
    for (size_t i = 0; rc == RK_OK && i < n; i++)
        if (c[i].argc > 0) {
            argcs[m] = c[i].argc;
            argvs[m] = c[i].argv;
            at[m++] = i;
        }
    if (rc == RK_OK && m > 0 && (rc = rstore_read_many(r, m, argcs, argvs, got, st)) == RK_OK)
        for (size_t j = 0; j < m; j++) reps[at[j]] = got[j];
    free(argcs);
    free(argvs);
    free(got);
    free(at);
    return rc;
}

static void replies_free(redisReply **reps, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (reps[i]) freeReplyObject(reps[i]);
    free(reps);
}

static void pages_free(rshard_page *out, size_t n) {
    for (size_t i = 0; i < n; i++) rshard_page_free(&out[i]);
}

/* Rows from a reply of rk_shard_rows: {size, (member, score, meta)...}. */
static int parse_rows(const redisReply *rep, int64_t offset, rshard_page *out, rk_status *st) {
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 || (rep->elements - 1) % 3 != 0) return bad_reply(st);
    out->size = int_of(rep->element[0]);
    size_t n = (rep->elements - 1) / 3;
    if ((out->rows = calloc(n ? n : 1, sizeof(*out->rows))) == NULL) return oom(st);
    int rc = RK_OK;
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        rc = fill_row(&out->rows[i], rep->element + 1 + 3 * i, st);
        out->rows[i].position = offset + (int64_t)i;
        out->n = i + 1;
    }
    return rc;
}

int rshard_rows(rstore *r, const rview *views, size_t n, const int64_t *offsets, int64_t count, rshard_page *out,
                rk_status *st) {
    cmd *c = cmds_new(n, 12, 2);
    redisReply **reps = calloc(n ? n : 1, sizeof(*reps));
    int rc = c && reps ? RK_OK : oom(st);
    memset(out, 0, n * sizeof(*out));
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        const rview *v = &views[i];
        cmd *x = &c[i];
        rstore_view_live(v, x->live, sizeof(x->live));
        snprintf(x->nums[0], sizeof(x->nums[0]), "%" PRId64, offsets ? offsets[i] : 0);
        snprintf(x->nums[1], sizeof(x->nums[1]), "%" PRId64, count);
        int meta = v->xkey[0] != '\0';
        x->argv[x->argc++] = "FCALL_RO";
        x->argv[x->argc++] = "rk_shard_rows";
        x->argv[x->argc++] = meta ? "4" : "3";
        x->argv[x->argc++] = v->zkey;
        x->argv[x->argc++] = v->flag;
        x->argv[x->argc++] = x->live;
        if (meta) x->argv[x->argc++] = v->xkey;
        x->argv[x->argc++] = v->desc ? "1" : "0";
        x->argv[x->argc++] = x->nums[0];
        x->argv[x->argc++] = x->nums[1];
    }
    if (rc == RK_OK) rc = send_all(r, c, n, reps, st);
    for (size_t i = 0; rc == RK_OK && i < n; i++) rc = parse_rows(reps[i], offsets ? offsets[i] : 0, &out[i], st);
    if (rc != RK_OK) pages_free(out, n);
    if (reps) replies_free(reps, n);
    cmds_free(c, n);
    return rc;
}

/* Places from a reply of rk_shard_places: {size, (member|false, score,
 * position, meta)...}, one per uid. */
static int parse_places(const redisReply *rep, const int64_t *uids, size_t n, rshard_page *out, rk_status *st) {
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1 + 4 * n) return bad_reply(st);
    out->size = int_of(rep->element[0]);
    if ((out->rows = calloc(n ? n : 1, sizeof(*out->rows))) == NULL) return oom(st);
    int rc = RK_OK;
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
    return rc;
}

int rshard_places(rstore *r, const rview *views, size_t n, const int64_t *const *uids, const size_t *nuids,
                  rshard_page *out, rk_status *st) {
    size_t most = 0;
    for (size_t i = 0; i < n; i++) most = nuids[i] > most ? nuids[i] : most;
    cmd *c = cmds_new(n, most + 10, most);
    redisReply **reps = calloc(n ? n : 1, sizeof(*reps));
    int rc = c && reps ? RK_OK : oom(st);
    memset(out, 0, n * sizeof(*out));
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        if (nuids[i] == 0) continue;
        const rview *v = &views[i];
        cmd *x = &c[i];
        int meta = v->xkey[0] != '\0';
        rstore_view_live(v, x->live, sizeof(x->live));
        x->argv[x->argc++] = "FCALL_RO";
        x->argv[x->argc++] = "rk_shard_places";
        x->argv[x->argc++] = meta ? "5" : "4";
        x->argv[x->argc++] = v->zkey;
        x->argv[x->argc++] = v->mkey;
        x->argv[x->argc++] = v->flag;
        x->argv[x->argc++] = x->live;
        if (meta) x->argv[x->argc++] = v->xkey;
        x->argv[x->argc++] = v->desc ? "1" : "0";
        for (size_t j = 0; j < nuids[i]; j++) {
            snprintf(x->nums[j], sizeof(x->nums[j]), "%" PRId64, uids[i][j]);
            x->argv[x->argc++] = x->nums[j];
        }
    }
    if (rc == RK_OK) rc = send_all(r, c, n, reps, st);
    for (size_t i = 0; rc == RK_OK && i < n; i++)
        if (nuids[i] > 0) rc = parse_places(reps[i], uids[i], nuids[i], &out[i], st);
    if (rc != RK_OK) pages_free(out, n);
    if (reps) replies_free(reps, n);
    cmds_free(c, n);
    return rc;
}

int rshard_ahead(rstore *r, const rview *views, size_t n, const rshard_probe *const *probes, const size_t *nprobes,
                 int64_t *const *better, int64_t *const *ahead, int64_t *sizes, rk_status *st) {
    size_t most = 0;
    for (size_t i = 0; i < n; i++) most = nprobes[i] > most ? nprobes[i] : most;
    cmd *c = cmds_new(n, 2 * most + 8, most);
    redisReply **reps = calloc(n ? n : 1, sizeof(*reps));
    int rc = c && reps ? RK_OK : oom(st);
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        const rview *v = &views[i];
        cmd *x = &c[i];
        rstore_view_live(v, x->live, sizeof(x->live));
        x->argv[x->argc++] = "FCALL_RO";
        x->argv[x->argc++] = "rk_shard_ahead";
        x->argv[x->argc++] = "3";
        x->argv[x->argc++] = v->zkey;
        x->argv[x->argc++] = v->flag;
        x->argv[x->argc++] = x->live;
        x->argv[x->argc++] = v->desc ? "1" : "0";
        for (size_t j = 0; j < nprobes[i]; j++) {
            snprintf(x->nums[j], sizeof(x->nums[j]), "%" PRId64, probes[i][j].score);
            x->argv[x->argc++] = x->nums[j];
            x->argv[x->argc++] = probes[i][j].member ? probes[i][j].member : "";
        }
    }
    if (rc == RK_OK) rc = send_all(r, c, n, reps, st);
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        const redisReply *rep = reps[i];
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1 + 2 * nprobes[i]) {
            rc = bad_reply(st);
            break;
        }
        sizes[i] = int_of(rep->element[0]);
        for (size_t j = 0; j < nprobes[i]; j++) {
            better[i][j] = int_of(rep->element[1 + 2 * j]);
            ahead[i][j] = int_of(rep->element[2 + 2 * j]);
        }
    }
    if (reps) replies_free(reps, n);
    cmds_free(c, n);
    return rc;
}
