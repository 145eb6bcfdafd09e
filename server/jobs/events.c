/*
 * events.c - Redis pub/sub in, nng PUB out; see events.h.
 *
 * The loop: read whatever rk:ev delivered (never blocking longer than a
 * tick), publish RankChanged events and mark boards dirty, then send a
 * TopChanged for every dirty board and window whose last one is older than
 * the coalescing interval, then look for windows that rolled over. Dirty
 * state is per process: two rankd processes each coalesce for their own
 * subscribers.
 *
 * The watched boards (watchset.h) are only boards that exist: GET
 * /api/top is anonymous, so an id asked for is checked against the board
 * cache before it gets a state, and the table is bounded both ways. A
 * state with nothing owed is dropped after WATCH_IDLE_INTERVALS coalescing
 * intervals untouched (60 s at the default coalesce-ms), and at WATCH_MAX
 * the least recently used one makes room. A board's seq never decreases
 * across that (the table keeps a floor), and a gap after a quiet spell
 * just makes a subscriber re-read the top, as any gap does.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>

#include <rankd/rankd.pb-c.h>

#include "auth.h"
#include "boards.h"
#include "conns.h"
#include "counters.h"
#include "events.h"
#include "log.h"
#include "ranking.h"
#include "recovery.h"
#include "metrics.h"
#include "tlsconf.h"
#include "topcache.h"
#include "watchset.h"

#define TICK_MS 20
#define GLOBAL_GAME "@global"
#define PASSED_MAX 10
#define SENDBUF 1024
/* A subscriber sends no messages; this bounds what a peer that does can hold. */
#define SUBSCRIBER_MAX_MESSAGE 1024
/* Boards with a coalescing state at most; beyond, the least recently used goes. */
#define WATCH_MAX 4096
/* A state owing nothing and untouched for this many coalescing intervals
 * is dropped: long enough that a board with any traffic keeps its state
 * (and its seq), short enough to forget a burst of asks soon. */
#define WATCH_IDLE_INTERVALS 600

static const char *const window_names[WINDOW_KINDS] = {"all", "daily", "weekly", "monthly"};

#define RANK_BATCH 256
typedef struct rank_change {
    board b;
    int64_t ids[1 + PASSED_MAX]; /* the player, then those they passed */
    size_t n;
    int64_t old_rank, new_rank, old_score, new_score, at_us;
    int has_old_score;
} rank_change;

struct events {
    server *srv;
    nng_socket pub;
    conns *conns;  /* the cap on subscribers */
    rstore *sub;   /* subscribed connection: SUBSCRIBE only */
    rstore *redis; /* queries: top N, names */
    pgstore *pg;   /* board definitions the cache lacks */
    pthread_t thread;
    int thread_started;
    int publishing;       /* cfg.events is set: there are subscribers to feed */
    int64_t next_sync_us; /* when auth_sync is due (0: now) */
    atomic_int stop;
    watchset *watched; /* boards with coalescing state (watchset.h) */
    char labels[WINDOW_KINDS][WINDOW_LABEL_MAX];

    /* The rank changes of the burst being read, and the look-up of their
     * players' names (publish_ranks). */
    rank_change *ranks;
    size_t nranks;
    struct {
        int64_t ids[RANK_BATCH * (1 + PASSED_MAX)];
        const char *none[RANK_BATCH * (1 + PASSED_MAX)];
        int found[RANK_BATCH * (1 + PASSED_MAX)];
        char names[RANK_BATCH * (1 + PASSED_MAX)][RSTORE_NAME_MAX];
    } look;
    int64_t burst_us;    /* when the burst being read was read */
    int64_t counters_us; /* when the counters were last read */

    /* Requests from other threads (events_request_top), drained each tick. */
    pthread_mutex_t mu;
    struct {
        char id[BOARD_ID_MAX + 1];
        int window;
    } asks[64];
    int nasks;
};

/* ---------------------------------------------------------------- topics */

void events_topic_top(char *out, size_t cap, const char *game, const char *board, int window) {
    snprintf(out, cap, "%s/%s/top/%s/", game, board, window_names[window]);
}

void events_topic_player(char *out, size_t cap, const char *game, const char *board, int64_t uid) {
    snprintf(out, cap, "%s/%s/player/%lld/", game, board, (long long)uid);
}

void events_topic_counter(char *out, size_t cap, const char *game, const char *name) {
    snprintf(out, cap, "%s/#counter/%s/", game, name);
}

void events_topic_window(char *out, size_t cap, const char *game, const char *board) {
    snprintf(out, cap, "%s/%s/window/", game, board);
}

static const metrics_event kind_metric[] = {
    [RANKD__EVENT__KIND_TOP] = METRICS_EV_TOP,
    [RANKD__EVENT__KIND_RANK] = METRICS_EV_RANK,
    [RANKD__EVENT__KIND_ROLLED] = METRICS_EV_WINDOW,
    [RANKD__EVENT__KIND_COUNTER] = METRICS_EV_COUNTER,
};

/* Every published message is made here and nowhere else, so that the
 * sanitizer build can name it (tests/lsan.supp): nng 1.5.2 loses a
 * message it has taken when the subscriber's connection closes just as
 * the message is handed to it (the pipe's send is re-armed on an aio
 * already closed; fixed upstream after 1.5.2). A few hundred bytes per
 * subscriber that leaves during a flood; nothing of ours to free. */
static __attribute__((noinline)) nng_msg *pub_msg_alloc(size_t len) {
    nng_msg *m = NULL;
    return nng_msg_alloc(&m, len) == 0 ? m : NULL;
}

static void publish(events *ev, const char *topic, const Rankd__Event *e) {
    size_t tl = strlen(topic) + 1, n = rankd__event__get_packed_size(e);
    nng_msg *m = pub_msg_alloc(tl + n);
    if (m == NULL) return;
    memcpy(nng_msg_body(m), topic, tl);
    rankd__event__pack(e, (uint8_t *)nng_msg_body(m) + tl);
    if (nng_sendmsg(ev->pub, m, 0) != 0)
        nng_msg_free(m);
    else
        metrics_event_published(kind_metric[e->kind_case]);
}

/* ---------------------------------------------------------------- dirty boards */

/* The state of an existing board (the callers checked), made if needed. */
static watch_state *state_of(events *ev, const char *id, int64_t now) {
    watch_state *s = watchset_get(ev->watched, id, now);
    metrics_set_boards_watched((int64_t)watchset_count(ev->watched));
    return s;
}

static void drop_state(events *ev, size_t i) {
    watchset_drop(ev->watched, i);
    metrics_set_boards_watched((int64_t)watchset_count(ev->watched));
}

/* Drops the states that owe nothing and have been quiet for
 * WATCH_IDLE_INTERVALS coalescing intervals. */
static void expire_states(events *ev, int64_t now) {
    watchset_expire(ev->watched, now, WATCH_IDLE_INTERVALS * ev->srv->cfg.coalesce_ms * 1000);
    metrics_set_boards_watched((int64_t)watchset_count(ev->watched));
}

static void mark(events *ev, const char *id, unsigned windows, int64_t now) {
    watch_state *s = state_of(ev, id, now);
    if (s == NULL) return;
    if (s->dirty & windows) metrics_event_coalesced(); /* folded into the pending one */
    s->dirty |= windows;
}

void events_request_top(events *ev, const char *board_id, int window) {
    pthread_mutex_lock(&ev->mu);
    if (ev->nasks < (int)(sizeof(ev->asks) / sizeof(ev->asks[0]))) {
        snprintf(ev->asks[ev->nasks].id, sizeof(ev->asks[0].id), "%s", board_id);
        ev->asks[ev->nasks++].window = window;
    }
    pthread_mutex_unlock(&ev->mu);
}

static void take_asks(events *ev, int64_t now) {
    pthread_mutex_lock(&ev->mu);
    for (int i = 0; i < ev->nasks; i++) {
        board b;
        rk_status st;
        /* http.c checked too, but the board may have gone since; memory
         * only, as there: an id is never looked up for an anonymous ask. */
        if (strcmp(ev->asks[i].id, BOARD_GLOBAL_ID) != 0 &&
            boards_get(ev->srv->boards, NULL, ev->asks[i].id, &b, &st) != RK_OK)
            continue;
        watch_state *s = state_of(ev, ev->asks[i].id, now);
        if (s == NULL) continue;
        s->dirty |= WINDOW_BIT(ev->asks[i].window);
        s->last_us[ev->asks[i].window] = 0; /* asked for: send now */
    }
    ev->nasks = 0;
    pthread_mutex_unlock(&ev->mu);
}

/* ---------------------------------------------------------------- rank changes */

/* Splits a tab-separated line in place; returns the field count. */
static int split(char *line, char **f, int max) {
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == '\t') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

/* Rank changes are published a burst at a time: the players of every
 * change a read from the channel brought are looked up in one round trip,
 * so the thread keeps pace with Redis's pub/sub output however fast
 * changes come (one look-up per change made it fall behind, and Redis
 * dropped the subscription). */
static void queue_rank(events *ev, const board *b, char **f, int64_t now);
static void publish_ranks(events *ev);

static void queue_rank(events *ev, const board *b, char **f, int64_t now) {
    rank_change *c = &ev->ranks[ev->nranks++];
    c->b = *b;
    c->n = 0;
    c->ids[c->n++] = strtoll(f[2], NULL, 10);
    for (char *p = f[7]; *p && c->n < 1 + PASSED_MAX;) {
        c->ids[c->n++] = strtoll(p, &p, 10);
        if (*p == ',') p++;
    }
    c->old_rank = strtoll(f[5], NULL, 10);
    c->new_rank = strtoll(f[6], NULL, 10);
    c->has_old_score = f[3][0] != '\0';
    c->old_score = strtoll(f[3], NULL, 10);
    c->new_score = strtoll(f[4], NULL, 10);
    c->at_us = now;
    if (ev->nranks == RANK_BATCH) publish_ranks(ev);
}

static void publish_rank(events *ev, const rank_change *c, char (*names)[RSTORE_NAME_MAX]) {
    Rankd__RankChanged rc = RANKD__RANK_CHANGED__INIT;
    Rankd__RankEntry passed[PASSED_MAX], *pp[PASSED_MAX];
    rc.board_id = (char *)c->b.id;
    rc.game = (char *)c->b.game;
    rc.has_user_id = rc.has_old_rank = rc.has_new_rank = rc.has_new_score = rc.has_at_us = 1;
    rc.user_id = c->ids[0];
    rc.username = names[0];
    rc.old_rank = c->old_rank;
    rc.new_rank = c->new_rank;
    rc.has_old_score = c->has_old_score;
    rc.old_score = c->old_score;
    rc.new_score = c->new_score;
    rc.at_us = c->at_us;
    for (size_t i = 1; i < c->n; i++) {
        rankd__rank_entry__init(&passed[i - 1]);
        passed[i - 1].has_user_id = 1;
        passed[i - 1].user_id = c->ids[i];
        passed[i - 1].username = names[i];
        pp[i - 1] = &passed[i - 1];
    }
    rc.n_passed = c->n - 1;
    rc.passed = pp;

    Rankd__Event e = RANKD__EVENT__INIT;
    e.kind_case = RANKD__EVENT__KIND_RANK;
    e.rank = &rc;
    char topic[256];
    events_topic_player(topic, sizeof(topic), c->b.game, c->b.id, c->ids[0]);
    publish(ev, topic, &e);
}

static void publish_ranks(events *ev) {
    if (ev->nranks == 0) return;
    size_t n = 0;
    for (size_t i = 0; i < ev->nranks; i++)
        for (size_t j = 0; j < ev->ranks[i].n; j++) {
            ev->look.ids[n] = ev->ranks[i].ids[j];
            ev->look.none[n] = NULL;
            ev->look.names[n][0] = '\0';
            n++;
        }
    rk_status st;
    /* Names that cannot be had now (Redis away) go out empty. */
    rstore_resolve_users(ev->redis, ev->look.ids, ev->look.none, n, ev->look.found, ev->look.names, &st);
    for (size_t i = 0, at = 0; i < ev->nranks; at += ev->ranks[i].n, i++)
        publish_rank(ev, &ev->ranks[i], ev->look.names + at);
    ev->nranks = 0;
}

static void on_message(events *ev, char *line, int64_t now) {
    char *f[8];
    int nf = split(line, f, 8);
    board b;
    rk_status st;
    if (auth_apply_line(ev->srv, f, nf)) return;
    if (f[0][0] == 'c' && nf == 2) {
        /* A board's settings changed through some rankd: this one reads
         * them again, so its checks follow at once. */
        board nb;
        if (pgstore_board_get(ev->pg, f[1], &nb, &st) == RK_OK) boards_put(ev->srv->boards, &nb);
    }
    if (f[0][0] == 'a' && nf == 2) {
        /* The split layout's applier moved a target's totals (the global
         * board, an aggregate), after the submissions' own lines. */
        topcache_invalidate(ev->srv->tops, f[1]);
        if (ev->publishing) mark(ev, f[1], WINDOW_BIT(WINDOW_ALL), now);
        return;
    }
    if (nf < 2 || boards_get(ev->srv->boards, ev->pg, f[1], &b, &st) != RK_OK) return;
    /* A change made through any rankd: cached pages of the board are stale. */
    topcache_invalidate(ev->srv->tops, b.id);
    if (board_in_global(&b)) topcache_invalidate(ev->srv->tops, BOARD_GLOBAL_ID);
    /* 'c' too: a board's settings changed, or its season ended (the board
     * then starts empty), and its watchers must see the board as it is. */
    int all_time = f[0][0] == 'r' || f[0][0] == 'd' || f[0][0] == 'c';
    for (int i = 0; all_time && i < b.nfeeds; i++) topcache_invalidate(ev->srv->tops, b.feeds[i]);
    if (!ev->publishing) return;
    if (f[0][0] == 'r' && nf == 8) {
        queue_rank(ev, &b, f, now);
        mark(ev, b.id, b.windows, now);
    } else if (f[0][0] == 'w') {
        mark(ev, b.id, b.windows & ~WINDOW_BIT(WINDOW_ALL), now);
    } else if (f[0][0] == 'd' || f[0][0] == 'c') {
        /* An entry removed (or put back), or the board changed: every
         * window. */
        mark(ev, b.id, b.windows, now);
    }
    /* An all-time change moves the global total and every aggregate's. */
    if (all_time && board_in_global(&b)) mark(ev, BOARD_GLOBAL_ID, WINDOW_BIT(WINDOW_ALL), now);
    for (int i = 0; all_time && i < b.nfeeds; i++) mark(ev, b.feeds[i], WINDOW_BIT(WINDOW_ALL), now);
}

/* ---------------------------------------------------------------- top N */

static void send_top(events *ev, const board *b, watch_state *s, int k, int64_t now) {
    rview v;
    rread q;
    rread_result res;
    rk_status st;
    int history = 0;
    time_t at = (time_t)(now / 1000000);
    rstore_view(b, (window_kind)k, at, &v);
    rread_top(&q, &v, 0, ev->srv->cfg.top_n, RANK_COMPETITION);
    if (ranking_read(ev->redis, ev->pg, ev->srv->recovery, b, (window_kind)k, at, &q, 0, &res, &history, &st) != RK_OK)
        return; /* stays dirty: retried next tick */
    rank_row *rows = res.rows;
    size_t n = res.n;
    int64_t size = res.size;

    Rankd__TopChanged tc = RANKD__TOP_CHANGED__INIT;
    Rankd__RankEntry *entries = calloc(n ? n : 1, sizeof(*entries));
    Rankd__RankEntry **ep = calloc(n ? n : 1, sizeof(*ep));
    if (entries && ep) {
        for (size_t i = 0; i < n; i++) {
            rankd__rank_entry__init(&entries[i]);
            entries[i].has_user_id = entries[i].has_score = entries[i].has_rank = 1;
            entries[i].user_id = rows[i].user_id;
            entries[i].username = rows[i].username;
            entries[i].score = rows[i].score;
            entries[i].rank = rows[i].rank;
            entries[i].meta = (char *)rows[i].meta; /* NULL: none; packed before rows are freed */
            ep[i] = &entries[i];
        }
        s->seq[k]++;
        tc.board_id = (char *)(b ? b->id : BOARD_GLOBAL_ID);
        tc.game = (char *)(b ? b->game : GLOBAL_GAME);
        tc.has_window = tc.has_seq = tc.has_board_size = tc.has_at_us = 1;
        tc.window = (Rankd__Window)k;
        tc.seq = s->seq[k];
        tc.n_entries = n;
        tc.entries = ep;
        tc.board_size = size;
        tc.at_us = now;
        Rankd__Event e = RANKD__EVENT__INIT;
        e.kind_case = RANKD__EVENT__KIND_TOP;
        e.top = &tc;
        char topic[256];
        events_topic_top(topic, sizeof(topic), tc.game, tc.board_id, k);
        publish(ev, topic, &e);
        s->dirty &= ~WINDOW_BIT(k);
        s->last_us[k] = now;
    }
    free(entries);
    free(ep);
    free(rows);
}

static void flush(events *ev, int64_t now) {
    int64_t interval = ev->srv->cfg.coalesce_ms * 1000;
    for (size_t i = 0; i < watchset_count(ev->watched);) {
        watch_state *s = watchset_at(ev->watched, i);
        board b;
        rk_status st;
        int global = strcmp(s->id, BOARD_GLOBAL_ID) == 0;
        if (s->dirty && !global && boards_get(ev->srv->boards, ev->pg, s->id, &b, &st) != RK_OK) {
            drop_state(ev, i); /* deleted; the last state moved to i: look at i again */
            continue;
        }
        for (int k = 0; s->dirty && k < WINDOW_KINDS; k++)
            if ((s->dirty & WINDOW_BIT(k)) && now - s->last_us[k] >= interval)
                send_top(ev, global ? NULL : &b, s, k, now);
        i++;
    }
}

/* ---------------------------------------------------------------- counters */

/* Increments publish nothing (a hot counter would flood rk:ev): every
 * coalesce-ms the totals are read and what changed is published, so a
 * subscriber sees at most one CounterChanged per counter per interval. */
static void on_counter(void *arg, const counter *c, const counter_totals *t) {
    events *ev = arg;
    Rankd__CounterValue values[WINDOW_KINDS], *vp[WINDOW_KINDS];
    char labels[WINDOW_KINDS][WINDOW_LABEL_MAX];
    counter copy = *c;
    for (int k = 0; k < WINDOW_KINDS; k++) {
        rankd__counter_value__init(&values[k]);
        memcpy(labels[k], t->label[k], WINDOW_LABEL_MAX);
        values[k].game = copy.game;
        values[k].name = copy.name;
        values[k].has_window = values[k].has_total = values[k].has_read_at_us = 1;
        values[k].window = (Rankd__Window)k;
        values[k].label = labels[k];
        values[k].total = t->total[k];
        values[k].read_at_us = t->read_at_us;
        vp[k] = &values[k];
    }
    Rankd__CounterChanged cc = RANKD__COUNTER_CHANGED__INIT;
    cc.game = copy.game;
    cc.name = copy.name;
    cc.n_values = WINDOW_KINDS;
    cc.values = vp;
    cc.has_at_us = 1;
    cc.at_us = t->read_at_us;
    Rankd__Event e = RANKD__EVENT__INIT;
    e.kind_case = RANKD__EVENT__KIND_COUNTER;
    e.counter = &cc;
    char topic[2 * BOARD_ID_MAX + 16];
    events_topic_counter(topic, sizeof(topic), copy.game, copy.name);
    publish(ev, topic, &e);
}

static void publish_counters(events *ev, int64_t now) {
    if (now - ev->counters_us < ev->srv->cfg.coalesce_ms * 1000) return;
    ev->counters_us = now;
    if (recovery_reads(ev->srv->recovery) != RECOVERY_TO_REDIS) return;
    rk_status st;
    counters_changed(ev->srv->counters, ev->redis, on_counter, ev, &st);
}

/* ---------------------------------------------------------------- rollover */

static void check_rollover(events *ev, int64_t now) {
    for (int k = WINDOW_DAY; k < WINDOW_KINDS; k++) {
        char label[WINDOW_LABEL_MAX];
        window_label((window_kind)k, (time_t)(now / 1000000), label);
        if (strcmp(label, ev->labels[k]) == 0) continue;
        if (ev->labels[k][0]) {
            board *all = NULL;
            size_t n = 0;
            rk_status st;
            if (boards_list(ev->srv->boards, NULL, &all, &n, &st) == RK_OK) {
                for (size_t i = 0; i < n; i++) {
                    if (!(all[i].windows & WINDOW_BIT(k))) continue;
                    Rankd__WindowRolled wr = RANKD__WINDOW_ROLLED__INIT;
                    wr.board_id = all[i].id;
                    wr.game = all[i].game;
                    wr.has_window = wr.has_at_us = 1;
                    wr.window = (Rankd__Window)k;
                    wr.closed = strchr(ev->labels[k], ':') + 1;
                    wr.opened = strchr(label, ':') + 1;
                    wr.at_us = now;
                    Rankd__Event e = RANKD__EVENT__INIT;
                    e.kind_case = RANKD__EVENT__KIND_ROLLED;
                    e.rolled = &wr;
                    char topic[256];
                    events_topic_window(topic, sizeof(topic), all[i].game, all[i].id);
                    publish(ev, topic, &e);
                    mark(ev, all[i].id, WINDOW_BIT(k), now); /* the new window starts empty */
                }
                free(all);
            }
        }
        memcpy(ev->labels[k], label, WINDOW_LABEL_MAX);
    }
}

/* ---------------------------------------------------------------- the thread */

/* Re-reads the revocations when due; a failure (PostgreSQL away) is
 * retried a second later. */
static void sync_revocations(events *ev, int subscribed) {
    int64_t now = server_now_us();
    if (now < ev->next_sync_us) return;
    rk_status st;
    if (auth_sync(ev->srv, ev->pg, &st) != RK_OK) {
        log_debug("cannot re-read revocations yet", "error=\"%s\"", st.message);
        ev->next_sync_us = now + 1000000;
        return;
    }
    ev->next_sync_us = now + (subscribed ? AUTH_SYNC_S : AUTH_SYNC_AWAY_S) * 1000000LL;
}

static void on_line(void *arg, int subscribed, char *line) {
    events *ev = arg;
    if (subscribed)
        ev->next_sync_us = 0; /* from here on no line is missed: catch up on those that were */
    else
        on_message(ev, line, ev->burst_us);
}

static void *events_main(void *arg) {
    events *ev = arg;
    int subscribed = 0;
    while (!atomic_load(&ev->stop)) {
        rk_status st;
        if (!subscribed && rstore_sub_open(ev->sub, &st) != RK_OK) {
            /* Redis is away: what is dirty waits; try again shortly. No
             * line reaches us meanwhile, so PostgreSQL is asked instead. */
            if (ev->next_sync_us > server_now_us() + AUTH_SYNC_AWAY_S * 1000000LL)
                ev->next_sync_us = server_now_us(); /* just lost: re-read now, then every AUTH_SYNC_AWAY_S */
            sync_revocations(ev, 0);
            usleep(500 * 1000);
            continue;
        }
        subscribed = 1;
        ev->burst_us = server_wall_us();
        if (rstore_sub_poll(ev->sub, TICK_MS, on_line, ev, &st) != RK_OK) {
            log_warn("event subscription lost", "error=\"%s\"", st.message);
            subscribed = 0;
        }
        publish_ranks(ev); /* what the burst brought, lost or not */
        if (!subscribed) continue;
        sync_revocations(ev, 1);
        if (!ev->publishing) continue;
        int64_t now = server_wall_us();
        take_asks(ev, now);
        flush(ev, now);
        publish_counters(ev, now);
        expire_states(ev, now);
        check_rollover(ev, now);
    }
    return NULL;
}

int events_start(events **out, server *srv, rk_status *st) {
    int rv, rc;
    *out = NULL;
    events *ev = calloc(1, sizeof(*ev));
    if (ev == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    if ((ev->ranks = calloc(RANK_BATCH, sizeof(*ev->ranks))) == NULL) {
        free(ev);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    ev->srv = srv;
    ev->publishing = srv->cfg.events[0] != '\0';
    /* main.c has just read the revocations: the first subscription's
     * confirmation brings the next read forward. */
    ev->next_sync_us = server_now_us() + AUTH_SYNC_S * 1000000LL;
    pthread_mutex_init(&ev->mu, NULL);
    *out = ev;
    if ((rc = watchset_open(&ev->watched, WATCH_MAX, st)) != RK_OK) return rc;
    if ((rv = nng_pub0_open(&ev->pub)) != 0)
        return rk_status_set(st, RK_INTERNAL, "cannot open PUB socket: %s", nng_strerror(rv));
    nng_socket_set_int(ev->pub, NNG_OPT_SENDBUF, SENDBUF);
    /* Subscribers never send: any message from one is refused. */
    nng_socket_set_size(ev->pub, NNG_OPT_RECVMAXSZ, SUBSCRIBER_MAX_MESSAGE);
    /* Subscribers are quiet by design: capped, never closed for idling. */
    if ((rc = conns_start(&ev->conns, ev->pub, "events", srv->cfg.max_connections, 0, metrics_subscribers_add, st)) !=
        RK_OK)
        return rc;

    rk_status ignore;
    rstore_open(&ev->sub, srv->cfg.redis, &ignore);
    rstore_open(&ev->redis, srv->cfg.redis, &ignore);
    pgstore_open(&ev->pg, srv->cfg.postgres, &ignore);
    if (!ev->sub || !ev->redis || !ev->pg) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    int64_t now = server_wall_us();
    for (int k = WINDOW_DAY; k < WINDOW_KINDS; k++)
        window_label((window_kind)k, (time_t)(now / 1000000), ev->labels[k]);
    if (pthread_create(&ev->thread, NULL, events_main, ev) != 0)
        return rk_status_set(st, RK_INTERNAL, "cannot start the events thread");
    ev->thread_started = 1;
    return RK_OK;
}

int events_listen(events *ev, rk_status *st) {
    int rv;
    if (ev == NULL) return RK_OK;
    char *list = strdup(ev->srv->cfg.events), *save = NULL;
    if (list == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (char *u = strtok_r(list, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
        while (*u == ' ') u++;
        if (*u == '\0') continue;
        nng_listener l;
        int tls = tlsconf_url_is_tls(u);
        if (tls && ev->srv->tls == NULL) {
            free(list);
            return rk_status_set(st, RK_INVALID_ARGUMENT, "%s needs tls-cert and tls-key", u);
        }
        if ((rv = nng_listener_create(&l, ev->pub, u)) == 0 && tls) {
            /* A wss:// address on the https:// port shares http.c's
             * server, which has this configuration already and, started,
             * refuses another (NNG_EBUSY): that is fine. */
            rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, ev->srv->tls);
            if (rv == NNG_EBUSY) rv = 0;
        }
        if (rv == 0) rv = nng_listener_start(l, 0);
        if (rv != 0) {
            rk_status_set(st, RK_UNAVAILABLE, "cannot publish events on %s: %s", u, nng_strerror(rv));
            free(list);
            return st->code;
        }
        log_info("publishing events", "url=%s", u);
    }
    free(list);
    return RK_OK;
}

void events_stop(events *ev) {
    if (ev == NULL) return;
    atomic_store(&ev->stop, 1);
    if (ev->thread_started) pthread_join(ev->thread, NULL);
    nng_close(ev->pub);
    conns_stop(ev->conns);
    rstore_close(ev->sub);
    rstore_close(ev->redis);
    pgstore_close(ev->pg);
    free(ev->ranks);
    watchset_close(ev->watched);
    pthread_mutex_destroy(&ev->mu);
    free(ev);
}
