/*
 * rmap.c - a Redis Cluster's slot map; see rmap.h.
 *
 * CLUSTER SLOTS answers one entry per range of slots:
 *   [start, end, [host, port, id, ...] (the master), [host, port, ...]...]
 * Only the master is kept: rankd reads what it writes, and a replica may
 * lag behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "rmap.h"

void rmap_init(rmap *m) {
    m->nnodes = 0;
    memset(m->owner, -1, sizeof(m->owner));
    memset(m->nslots, 0, sizeof(m->nslots));
}

static int node_index(rmap *m, const rnode *n) {
    for (int i = 0; i < m->nnodes; i++)
        if (rnode_same(&m->nodes[i], n)) return i;
    if (m->nnodes == RMAP_NODES_MAX) return -1;
    m->nodes[m->nnodes] = *n;
    return m->nnodes++;
}

/* A node's address in an entry: [host, port, ...]. */
static int entry_node(const redisReply *e, const rnode *from, rnode *out) {
    if (e == NULL || e->type != REDIS_REPLY_ARRAY || e->elements < 2) return 0;
    const redisReply *h = e->element[0], *p = e->element[1];
    if (h->type != REDIS_REPLY_STRING || p->type != REDIS_REPLY_INTEGER) return 0;
    if (p->integer <= 0 || p->integer > 65535 || h->len >= sizeof(out->host)) return 0;
    if (h->len == 0 || (h->len == 1 && h->str[0] == '?'))
        snprintf(out->host, sizeof(out->host), "%s", from->host);
    else
        snprintf(out->host, sizeof(out->host), "%.*s", (int)h->len, h->str);
    out->port = (int)p->integer;
    return 1;
}

int rmap_parse_slots(rmap *m, const redisReply *rep, const rnode *from, rk_status *st) {
    rmap *next = malloc(sizeof(*next));
    if (next == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    rmap_init(next);
    int rc = RK_OK;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
        rc = rk_status_set(st, RK_INTERNAL, "CLUSTER SLOTS: not an array");
        goto done;
    }
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *e = rep->element[i];
        rnode n;
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 || e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER || !entry_node(e->element[2], from, &n)) {
            rc = rk_status_set(st, RK_INTERNAL, "CLUSTER SLOTS: entry %zu is not [start, end, [host, port]...]", i);
            goto done;
        }
        long long lo = e->element[0]->integer, hi = e->element[1]->integer;
        if (lo < 0 || hi >= RSLOT_COUNT || lo > hi) {
            rc = rk_status_set(st, RK_INTERNAL, "CLUSTER SLOTS: entry %zu has slots %lld-%lld", i, lo, hi);
            goto done;
        }
        int at = node_index(next, &n);
        for (long long s = lo; at >= 0 && s <= hi; s++) {
            if (next->owner[s] >= 0) next->nslots[next->owner[s]]--; /* listed twice: the last entry wins */
            next->owner[s] = (int8_t)at;
            next->nslots[at]++;
        }
    }
    memcpy(m, next, sizeof(*m));
done:
    free(next);
    return rc;
}

const rnode *rmap_owner(const rmap *m, int slot) {
    if (slot < 0 || slot >= RSLOT_COUNT || m->owner[slot] < 0) return NULL;
    return &m->nodes[m->owner[slot]];
}

int rmap_set(rmap *m, int slot, const rnode *node) {
    if (slot < 0 || slot >= RSLOT_COUNT) return 0;
    int at = node_index(m, node);
    if (m->owner[slot] >= 0) m->nslots[m->owner[slot]]--;
    m->owner[slot] = (int8_t)at;
    if (at >= 0) m->nslots[at]++;
    return at >= 0;
}

size_t rmap_masters(const rmap *m, rnode *out, size_t cap) {
    size_t n = 0;
    /* Only the masters that serve a slot: one that lost all of them to
     * a failover is a replica now, or gone. */
    for (int i = 0; i < m->nnodes && n < cap; i++)
        if (m->nslots[i] > 0) out[n++] = m->nodes[i];
    return n;
}

static const struct {
    const char *word;
    rmap_redirect_kind kind;
} redirects[] = {
    {.word = "MOVED ", .kind = RMAP_MOVED},
    {.word = "ASK ", .kind = RMAP_ASK},
};

void rmap_parse_redirect(const char *text, size_t len, const rnode *from, rmap_redirect *out) {
    char buf[RNODE_HOST_MAX + 32];
    out->kind = RMAP_NONE;
    if (len >= sizeof(buf)) return;
    memcpy(buf, text, len);
    buf[len] = '\0';
    for (size_t i = 0; i < sizeof(redirects) / sizeof(redirects[0]); i++) {
        size_t wl = strlen(redirects[i].word);
        if (strncmp(buf, redirects[i].word, wl) != 0) continue;
        char *end = NULL;
        long slot = strtol(buf + wl, &end, 10);
        if (end == buf + wl || *end != ' ' || slot < 0 || slot >= RSLOT_COUNT) return;
        const char *addr = end + 1;
        rk_status ignore;
        if (addr[0] == ':') {
            /* ":6380": the node does not know its own host. */
            char full[sizeof(buf) + RNODE_HOST_MAX];
            snprintf(full, sizeof(full), "%s%s", from->host, addr);
            if (rnode_parse(full, strlen(full), &out->to, &ignore) != RK_OK) return;
        } else if (rnode_parse(addr, strlen(addr), &out->to, &ignore) != RK_OK) {
            return;
        }
        out->slot = (int)slot;
        out->kind = redirects[i].kind;
        return;
    }
}
