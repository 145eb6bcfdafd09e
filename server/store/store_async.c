/*
 * store_async.c - hiredis's async API on a libuv loop; see store_async.h.
 *
 * hiredis 0.14 has no timeouts in its async API, so the connection keeps
 * its commands in flight in a FIFO (Redis answers in order): a timer
 * looks at the oldest every STALL_TICK_MS and drops the connection when it
 * is older than the stall limit. The same timer reconnects.
 *
 * The libuv binding is ours, not hiredis's adapters/libuv.h: on a socket
 * error libuv calls the poll callback with a negative status and stops
 * polling, and that adapter ignores such calls, so a Redis that went away
 * left the connection looking up, its commands unanswered until the stall
 * limit. Here an error is handed to hiredis as readable: its read finds
 * the error and drops the connection at once.
 *
 * On a Redis Cluster (the first connection's INFO says cluster_enabled:1)
 * that connection only reads the slot map (CLUSTER SLOTS), and each
 * command goes to its slot's master on a connection of its own per
 * master: one loop turn still leaves in one write per master. -MOVED
 * updates the map and -ASK sends ASKING first; the command is sent again
 * at once when the right master's connection is up, else the reply is
 * handed over as it is (the caller's worker path then routes it, waiting
 * when it must: a loop never waits). Replies are handed over in the
 * order the commands were sent, as on one connection: callers count on
 * it, so a reply that overtakes an earlier one on another master is
 * copied and held until the earlier one is in.
 */
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <uv.h>

#include "log.h"
#include "clock.h"
#include "rmap.h"
#include "rnode.h"
#include "rslot.h"
#include "store_async.h"

#define STALL_TICK_MS 50
#define RECONNECT_MS 200
#define REDIRECTS_MAX 8

struct alink;

typedef struct pending {
    struct pending *next; /* in flight on the same connection, oldest first */
    rasync *a;
    rasync_cb cb;
    void *arg;
    int64_t sent_us;
    /* On a cluster only: */
    struct alink *link;
    struct pending *next_sent; /* every command in the order sent */
    int answered;
    redisReply *held; /* a copy, until the commands sent before are answered */
    int redirects;
    int argc;
    char **argv; /* kept to send again after a redirection */
    size_t *lens;
} pending;

/* One master's connection on a cluster. */
typedef struct alink {
    rasync *a;
    rnode node;
    redisAsyncContext *ac;
    int up;
    int64_t next_try_us;
    pending *head, *tail;
} alink;

typedef struct acluster {
    rmap map;
    alink links[RMAP_NODES_MAX];
    int nlinks;
    int reading; /* a CLUSTER SLOTS is in flight */
    int64_t reading_since_us;
    int stale; /* read the map again when the first connection is up */
    pending *sent_head, *sent_tail;
} acluster;

struct rasync {
    uv_loop_t *loop;
    redisAsyncContext *ac;
    int up;
    rnode seeds[RNODE_SEEDS_MAX];
    size_t nseeds;
    size_t cur; /* the seed connected to; the next one is tried after a failure */
    int64_t stall_us;
    int64_t next_try_us;
    uv_timer_t timer;
    pending *head, *tail; /* commands in flight, oldest first */
    int closing;
    int asked;    /* INFO cluster answered once */
    acluster *cl; /* a Redis Cluster: commands go by slot */
};

/* ---------------------------------------------------------------- hiredis on libuv */

typedef struct uv_binding {
    redisAsyncContext *ac; /* NULL once hiredis has cleaned up */
    uv_poll_t poll;
    int events;
} uv_binding;

static void on_poll(uv_poll_t *h, int status, int events) {
    uv_binding *b = h->data;
    if (status < 0) events = UV_READABLE; /* libuv stopped polling: let hiredis read the error */
    if (b->ac && (events & UV_READABLE)) redisAsyncHandleRead(b->ac);
    if (b->ac && (events & UV_WRITABLE)) redisAsyncHandleWrite(b->ac);
}

static void watch(uv_binding *b, int add, int remove) {
    b->events = (b->events | add) & ~remove;
    if (b->events)
        uv_poll_start(&b->poll, b->events, on_poll);
    else
        uv_poll_stop(&b->poll);
}

static void add_read(void *p) { watch(p, UV_READABLE, 0); }
static void del_read(void *p) { watch(p, 0, UV_READABLE); }
static void add_write(void *p) { watch(p, UV_WRITABLE, 0); }
static void del_write(void *p) { watch(p, 0, UV_WRITABLE); }

static void binding_closed(uv_handle_t *h) { free(h->data); }

static void cleanup(void *p) {
    uv_binding *b = p;
    b->ac = NULL;
    uv_close((uv_handle_t *)&b->poll, binding_closed);
}

static int bind_loop(redisAsyncContext *ac, uv_loop_t *loop) {
    uv_binding *b = calloc(1, sizeof(*b));
    if (b == NULL) return REDIS_ERR;
    if (uv_poll_init(loop, &b->poll, ac->c.fd) != 0) {
        free(b);
        return REDIS_ERR;
    }
    b->ac = ac;
    b->poll.data = b;
    ac->ev.data = b;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    return REDIS_OK;
}

static void ask_cluster(rasync *a);
static void read_map(rasync *a);

static void on_connect(const redisAsyncContext *ac, int status) {
    rasync *a = ac->data;
    if (status != REDIS_OK) {
        a->ac = NULL; /* hiredis frees it */
        a->up = 0;
        a->cur = (a->cur + 1) % a->nseeds;
        return;
    }
    if (!a->asked) {
        ask_cluster(a);
        return;
    }
    a->up = 1;
    if (a->cl) read_map(a);
    log_debug("event loop connected to Redis", "host=%s port=%d", a->seeds[a->cur].host, a->seeds[a->cur].port);
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
    (void)status;
    rasync *a = ac->data;
    if (a->ac == ac) a->ac = NULL;
    a->up = 0;
}

static void try_connect(rasync *a) {
    const rnode *n = &a->seeds[a->cur];
    redisAsyncContext *ac = redisAsyncConnect(n->host, n->port);
    if (ac == NULL) return;
    if (ac->err) {
        redisAsyncFree(ac);
        a->cur = (a->cur + 1) % a->nseeds;
        return;
    }
    ac->data = a;
    if (bind_loop(ac, a->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    a->ac = ac;
}

/* Drops the connection: every command in flight is answered NULL. */
static void drop(rasync *a) {
    redisAsyncContext *ac = a->ac;
    if (ac == NULL) return;
    a->up = 0;
    redisAsyncFree(ac);
    a->ac = NULL;
}

/* ---------------------------------------------------------------- a Redis Cluster */

static redisReply *reply_copy(const redisReply *r) {
    redisReply *c = calloc(1, sizeof(*c));
    if (c == NULL) return NULL;
    c->type = r->type;
    c->integer = r->integer;
    if (r->str) {
        if ((c->str = malloc(r->len + 1)) == NULL) goto oom;
        memcpy(c->str, r->str, r->len);
        c->str[r->len] = '\0';
        c->len = r->len;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements) {
        if ((c->element = calloc(r->elements, sizeof(*c->element))) == NULL) goto oom;
        c->elements = r->elements;
        for (size_t i = 0; i < r->elements; i++)
            if ((c->element[i] = reply_copy(r->element[i])) == NULL) goto oom;
    }
    return c;
oom:
    freeReplyObject(c);
    return NULL;
}

static void pending_free(pending *p) {
    free(p->argv);
    free(p);
}

/* Hands over every reply whose predecessors are all in, in the order sent. */
static void deliver(rasync *a) {
    acluster *cl = a->cl;
    while (cl->sent_head && cl->sent_head->answered) {
        pending *p = cl->sent_head;
        cl->sent_head = p->next_sent;
        if (cl->sent_head == NULL) cl->sent_tail = NULL;
        p->cb(p->arg, p->held);
        if (p->held) freeReplyObject(p->held);
        pending_free(p);
    }
}

static void link_unqueue(alink *l, pending *p) {
    pending **pp = &l->head, *prev = NULL;
    while (*pp && *pp != p) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp == NULL) return;
    *pp = p->next;
    if (l->tail == p) l->tail = prev;
    p->next = NULL;
}

static void link_queue(alink *l, pending *p) {
    p->link = l;
    p->next = NULL;
    if (l->tail)
        l->tail->next = p;
    else
        l->head = p;
    l->tail = p;
}

static void on_link_connect(const redisAsyncContext *ac, int status) {
    alink *l = ac->data;
    if (status != REDIS_OK) {
        l->ac = NULL; /* hiredis frees it */
        l->up = 0;
        l->a->cl->stale = 1; /* gone, or failed over: ask the map */
        return;
    }
    l->up = 1;
    log_debug("event loop connected to a Redis Cluster master", "host=%s port=%d", l->node.host, l->node.port);
}

static void on_link_disconnect(const redisAsyncContext *ac, int status) {
    (void)status;
    alink *l = ac->data;
    if (l->ac == ac) l->ac = NULL;
    l->up = 0;
    l->a->cl->stale = 1;
}

static void link_connect(alink *l) {
    int64_t now = server_now_us();
    if (l->ac || now < l->next_try_us) return;
    l->next_try_us = now + RECONNECT_MS * 1000;
    redisAsyncContext *ac = redisAsyncConnect(l->node.host, l->node.port);
    if (ac == NULL) return;
    if (ac->err) {
        redisAsyncFree(ac);
        return;
    }
    ac->data = l;
    if (bind_loop(ac, l->a->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_link_connect);
    redisAsyncSetDisconnectCallback(ac, on_link_disconnect);
    l->ac = ac;
}

static void link_drop(alink *l) {
    redisAsyncContext *ac = l->ac;
    if (ac == NULL) return;
    l->up = 0;
    l->ac = NULL;
    redisAsyncFree(ac);
}

static alink *link_for(acluster *cl, rasync *a, const rnode *n) {
    for (int i = 0; i < cl->nlinks; i++)
        if (rnode_same(&cl->links[i].node, n)) return &cl->links[i];
    if (cl->nlinks == RMAP_NODES_MAX) return NULL;
    alink *l = &cl->links[cl->nlinks++];
    *l = (alink){.a = a, .node = *n};
    return l;
}

static void on_cluster_reply(redisAsyncContext *ac, void *reply, void *privdata);

static int link_send(alink *l, pending *p, int asking) {
    if (asking && redisAsyncCommand(l->ac, NULL, NULL, "ASKING") != REDIS_OK) return REDIS_ERR;
    if (redisAsyncCommandArgv(l->ac, on_cluster_reply, p, p->argc, (const char **)p->argv, p->lens) != REDIS_OK)
        return REDIS_ERR;
    p->sent_us = server_now_us();
    link_queue(l, p);
    return REDIS_OK;
}

static void on_cluster_reply(redisAsyncContext *ac, void *reply, void *privdata) {
    (void)ac;
    pending *p = privdata;
    rasync *a = p->a;
    acluster *cl = a->cl;
    const redisReply *rep = reply;
    link_unqueue(p->link, p);
    if (rep && rep->type == REDIS_REPLY_ERROR && p->redirects < REDIRECTS_MAX) {
        rmap_redirect rd;
        rmap_parse_redirect(rep->str, rep->len, &p->link->node, &rd);
        if (rd.kind == RMAP_MOVED) rmap_set(&cl->map, rd.slot, &rd.to);
        alink *to = rd.kind != RMAP_NONE ? link_for(cl, a, &rd.to) : NULL;
        if (to && to->up && to->ac) {
            p->redirects++;
            if (link_send(to, p, rd.kind == RMAP_ASK) == REDIS_OK) return;
        } else if (to) {
            link_connect(to); /* for the next command; this one goes back as it is */
        }
    }
    if (rep == NULL) cl->stale = 1;
    p->answered = 1;
    p->held = rep ? reply_copy(rep) : NULL;
    deliver(a);
}

static void on_slots(redisAsyncContext *ac, void *reply, void *privdata) {
    (void)ac;
    rasync *a = privdata;
    acluster *cl = a->cl;
    cl->reading = 0;
    rk_status st;
    if (reply == NULL || rmap_parse_slots(&cl->map, reply, &a->seeds[a->cur], &st) != RK_OK) {
        cl->stale = 1;
        return;
    }
    rnode masters[RMAP_NODES_MAX];
    size_t n = rmap_masters(&cl->map, masters, RMAP_NODES_MAX);
    for (size_t i = 0; i < n; i++) {
        alink *l = link_for(cl, a, &masters[i]);
        if (l) link_connect(l);
    }
}

static void read_map(rasync *a) {
    acluster *cl = a->cl;
    if (cl->reading || !a->up || a->ac == NULL) return;
    if (redisAsyncCommand(a->ac, on_slots, a, "CLUSTER SLOTS") != REDIS_OK) return;
    cl->reading = 1;
    cl->reading_since_us = server_now_us();
    cl->stale = 0;
}

static void on_info(redisAsyncContext *ac, void *reply, void *privdata) {
    (void)ac;
    rasync *a = privdata;
    const redisReply *rep = reply;
    if (rep == NULL || rep->type != REDIS_REPLY_STRING) return; /* asked again at the next connection */
    a->asked = 1;
    if (strstr(rep->str, "cluster_enabled:1") && (a->cl = calloc(1, sizeof(*a->cl))) != NULL) {
        rmap_init(&a->cl->map);
        log_debug("event loop routes over a Redis Cluster", "seed=%s:%d", a->seeds[a->cur].host, a->seeds[a->cur].port);
    }
    a->up = 1;
    if (a->cl) read_map(a);
}

static void ask_cluster(rasync *a) {
    if (redisAsyncCommand(a->ac, on_info, a, "INFO cluster") != REDIS_OK) drop(a);
}

/* The timer's turn for the masters' connections. */
static void cluster_tick(rasync *a, int64_t now) {
    acluster *cl = a->cl;
    rnode masters[RMAP_NODES_MAX];
    size_t n = rmap_masters(&cl->map, masters, RMAP_NODES_MAX);
    for (int i = 0; i < cl->nlinks; i++) {
        alink *l = &cl->links[i];
        if (l->head && now - l->head->sent_us > a->stall_us) {
            log_warn("a Redis Cluster master does not answer; dropping the event loop's connection",
                     "host=%s port=%d waited_ms=%lld", l->node.host, l->node.port,
                     (long long)((now - l->head->sent_us) / 1000));
            link_drop(l);
        }
    }
    for (size_t i = 0; i < n; i++) {
        alink *l = link_for(cl, a, &masters[i]);
        if (l && l->ac == NULL) link_connect(l);
    }
    /* A seed that does not answer the map's question is dropped like
     * one that does not answer a command (on_slots then sees NULL). */
    if (cl->reading && now - cl->reading_since_us > a->stall_us) drop(a);
    if (cl->stale) read_map(a);
}

static int cluster_up(const rasync *a) {
    const acluster *cl = a->cl;
    rnode masters[RMAP_NODES_MAX];
    size_t n = rmap_masters(&cl->map, masters, RMAP_NODES_MAX);
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        int up = 0;
        for (int k = 0; k < cl->nlinks; k++)
            if (rnode_same(&cl->links[k].node, &masters[i])) up = cl->links[k].up && cl->links[k].ac;
        if (!up) return 0;
    }
    return 1;
}

static int cluster_command(rasync *a, int argc, const char *const *argv, rasync_cb cb, void *arg, rk_status *st) {
    acluster *cl = a->cl;
    int slot = rslot_of_command(argc, argv, NULL);
    const rnode *owner = NULL;
    rnode any[1];
    if (slot >= 0)
        owner = rmap_owner(&cl->map, slot);
    else if (rmap_masters(&cl->map, any, 1) == 1)
        owner = &any[0];
    alink *l = owner ? link_for(cl, a, owner) : NULL;
    if (l == NULL || !l->up || l->ac == NULL) {
        if (l) link_connect(l);
        return rk_status_set(st, RK_UNAVAILABLE, "Redis Cluster master for slot %d is not connected", slot);
    }
    /* One block: the pointers, the lengths, then the bytes. */
    size_t bytes = 0;
    for (int i = 0; i < argc; i++) bytes += strlen(argv[i]) + 1;
    pending *p = calloc(1, sizeof(*p));
    char *block = malloc((size_t)argc * (sizeof(char *) + sizeof(size_t)) + bytes);
    if (p == NULL || block == NULL) {
        free(p);
        free(block);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    p->argv = (char **)block;
    p->lens = (size_t *)(block + (size_t)argc * sizeof(char *));
    char *text = block + (size_t)argc * (sizeof(char *) + sizeof(size_t));
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);
        memcpy(text, argv[i], n + 1);
        p->argv[i] = text;
        p->lens[i] = n;
        text += n + 1;
    }
    p->argc = argc;
    p->a = a;
    p->cb = cb;
    p->arg = arg;
    if (link_send(l, p, 0) != REDIS_OK) {
        pending_free(p);
        return rk_status_set(st, RK_UNAVAILABLE, "Redis is not connected");
    }
    if (cl->sent_tail)
        cl->sent_tail->next_sent = p;
    else
        cl->sent_head = p;
    cl->sent_tail = p;
    return RK_OK;
}

/* ---------------------------------------------------------------- the connection */

static void tick(uv_timer_t *t) {
    rasync *a = t->data;
    int64_t now = server_now_us();
    if (a->head && now - a->head->sent_us > a->stall_us) {
        log_warn("Redis does not answer; dropping the event loop's connection", "waited_ms=%lld",
                 (long long)((now - a->head->sent_us) / 1000));
        drop(a);
    }
    if (a->ac == NULL && !a->closing && now >= a->next_try_us) {
        a->next_try_us = now + RECONNECT_MS * 1000;
        try_connect(a);
    }
    if (a->cl && !a->closing) cluster_tick(a, now);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata) {
    (void)ac;
    pending *p = privdata;
    rasync *a = p->a;
    /* Replies come in order: p is the oldest, but be safe. */
    if (a->head == p) {
        a->head = p->next;
        if (a->head == NULL) a->tail = NULL;
    } else {
        pending *q = a->head;
        while (q && q->next != p) q = q->next;
        if (q) {
            q->next = p->next;
            if (a->tail == p) a->tail = q;
        }
    }
    p->cb(p->arg, reply);
    free(p);
}

int rasync_open(rasync **out, uv_loop_t *loop, const char *addr, int64_t stall_ms, rk_status *st) {
    rasync *a = calloc(1, sizeof(*a));
    if (a == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    int rc = rnode_parse_list(addr, a->seeds, &a->nseeds, st);
    if (rc != RK_OK) {
        free(a);
        return rc;
    }
    a->loop = loop;
    a->stall_us = stall_ms * 1000;
    uv_timer_init(loop, &a->timer);
    a->timer.data = a;
    uv_timer_start(&a->timer, tick, STALL_TICK_MS, STALL_TICK_MS);
    try_connect(a);
    *out = a;
    return RK_OK;
}

static void timer_closed(uv_handle_t *h) {
    rasync *a = h->data;
    free(a->cl);
    free(a);
}

void rasync_close(rasync *a) {
    if (a == NULL) return;
    a->closing = 1;
    drop(a);
    for (int i = 0; a->cl && i < a->cl->nlinks; i++) link_drop(&a->cl->links[i]);
    uv_close((uv_handle_t *)&a->timer, timer_closed);
}

int rasync_up(const rasync *a) { return a->cl ? cluster_up(a) : a->up && a->ac != NULL; }

int rasync_command(rasync *a, int argc, const char *const *argv, rasync_cb cb, void *arg, rk_status *st) {
    if (a->cl) return cluster_command(a, argc, argv, cb, arg, st);
    if (!rasync_up(a)) return rk_status_set(st, RK_UNAVAILABLE, "Redis is not connected");
    pending *p = malloc(sizeof(*p));
    if (p == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    *p = (pending){.a = a, .cb = cb, .arg = arg, .sent_us = server_now_us()};
    if (redisAsyncCommandArgv(a->ac, on_reply, p, argc, (const char **)argv, NULL) != REDIS_OK) {
        free(p);
        return rk_status_set(st, RK_UNAVAILABLE, "Redis is not connected");
    }
    if (a->tail)
        a->tail->next = p;
    else
        a->head = p;
    a->tail = p;
    return RK_OK;
}
