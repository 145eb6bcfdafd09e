/*
 * rankctl_live.c - `events` and `watch`: rankd's live events at a terminal.
 *
 * Design. The subscriber's callback runs on a library thread, where it
 * must neither print nor call rankd; it only copies each event (packed
 * again, with its topic) onto a queue. The command's own thread takes
 * events off the queue, prints them and, for `watch`, calls rankd when it
 * must: a jump in TopChanged.seq means an event was lost, and the top is
 * fetched again with Ranking/Top. The top is also fetched once at start,
 * after subscribing, so no change between the two goes unseen.
 *
 * A live command ends after --count events, after --timeout seconds or on
 * SIGINT, and all three are a normal end (exit status 0). Waiting wakes up
 * every FEED_TICK_MS to notice SIGINT, since the signal may land on any
 * thread.
 *
 * The subscriber is not closed at the end, only muted: with nng 1.5,
 * nng_close() can wait forever when a message arrives while the socket
 * closes (nanomsg/nng#1543 and #1813, fixed in later nng), and under a
 * steady stream of events that happened to one `events` run in a few dozen.
 * rankctl exits right after the command, which takes the socket down
 * safely. So the queue lives in static storage, the callback drops
 * everything once `closed` is set, and the socket stays reachable for
 * leak checkers.
 *
 * What it must never do: block the subscriber's thread, or let the queue
 * grow without bound; a stalled reader drops events (FEED_MAX), which
 * `watch` notices through seq and repairs like any other gap.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "json_out.h"
#include "rankctl_cmds.h"

#define FEED_MAX 4096    /* events queued before new ones are dropped */
#define FEED_TICK_MS 100 /* longest sleep between looks at SIGINT */
#define WATCH_LIMIT 10   /* rows `watch` shows without --limit */
#define GLOBAL_BOARD "global"
#define GLOBAL_GAME "@global"

/* ---------------------------------------------------------------- the queue */

/* One event as received: the packed rankd.Event, then the topic. */
typedef struct feed_msg {
    struct feed_msg *next;
    const char *topic; /* points into data, after the event */
    size_t len;        /* bytes of the packed event */
    uint8_t data[];
} feed_msg;

/* A live command's state: the subscriber, the queue it fills and the
 * limits that end the command. */
typedef struct live {
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* signalled when an event is queued */
    feed_msg *head, *tail; /* owned */
    size_t n;
    rk_subscriber *sub;
    int64_t count; /* stop after this many; 0: no limit */
    int has_deadline;
    struct timespec deadline; /* CLOCK_MONOTONIC */
    struct sigaction old_int;
    int sigint_set;
    int closed; /* the command is over: drop what still arrives */
} live;

/* The one live command of a process; static because the subscriber's
 * thread may call back after the command has returned (see the top). */
static live live_state;

enum { LIVE_EVENT, LIVE_END };

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

/* The subscriber's callback: copy and queue, nothing else. */
static void feed_cb(const char *topic, const Rankd__Event *ev, void *arg) {
    live *lv = arg;
    size_t len = rankd__event__get_packed_size(ev), tl = strlen(topic) + 1;
    feed_msg *m = malloc(sizeof(*m) + len + tl);
    if (m) {
        m->next = NULL;
        m->len = rankd__event__pack(ev, m->data);
        memcpy(m->data + len, topic, tl);
        m->topic = (const char *)m->data + len;
    }
    pthread_mutex_lock(&lv->mu);
    if (lv->closed || m == NULL || lv->n >= FEED_MAX) {
        free(m); /* over, or full: dropped, as nng itself would */
    } else {
        if (lv->tail)
            lv->tail->next = m;
        else
            lv->head = m;
        lv->tail = m;
        lv->n++;
        pthread_cond_signal(&lv->cv);
    }
    pthread_mutex_unlock(&lv->mu);
}

static void ts_add_ms(struct timespec *t, int64_t ms) {
    t->tv_sec += (time_t)(ms / 1000);
    t->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

static int ts_before(const struct timespec *a, const struct timespec *b) {
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* The next event into *out (the caller frees it), or LIVE_END when the
 * time is up or SIGINT came. */
static int live_next(live *lv, feed_msg **out) {
    int r = LIVE_END;
    pthread_mutex_lock(&lv->mu);
    for (;;) {
        struct timespec now, wake;
        if (interrupted) break;
        if (lv->head) {
            *out = lv->head;
            if ((lv->head = lv->head->next) == NULL) lv->tail = NULL;
            lv->n--;
            r = LIVE_EVENT;
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (lv->has_deadline && !ts_before(&now, &lv->deadline)) break;
        wake = now;
        ts_add_ms(&wake, FEED_TICK_MS);
        if (lv->has_deadline && ts_before(&lv->deadline, &wake)) wake = lv->deadline;
        pthread_cond_timedwait(&lv->cv, &lv->mu, &wake);
    }
    pthread_mutex_unlock(&lv->mu);
    return r;
}

/* --timeout S: seconds, fractions allowed. */
static int parse_seconds(ctl_ctx *cx, const char *what, const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || end == s || *end != '\0' || !(*s >= '0' && *s <= '9') || errno || !isfinite(v))
        return ctl_usage(cx, "%s: '%s' is not a number of seconds", what, s);
    if (v <= 0 || v > 31536000) return ctl_usage(cx, "%s: %s is out of range (above 0, at most a year)", what, s);
    *out = v;
    return RK_OK;
}

/* Parses --events-url, --count and --timeout, then opens the subscriber
 * into live_state (nothing arrives before live_subscribe). live_close()
 * ends it, also after a failure. */
static int live_open(ctl_ctx *cx, const ctl_args *a, live **out) {
    live *lv = *out = &live_state;
    const char *url = ctl_opt(a, "--events-url"), *count = ctl_opt(a, "--count");
    const char *timeout = ctl_opt(a, "--timeout");
    double secs = 0;
    int code;
    pthread_condattr_t ca;
    struct sigaction sa;

    memset(lv, 0, sizeof(*lv));
    pthread_mutex_init(&lv->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&lv->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (count && (code = ctl_parse_i64(cx, "--count", count, 1, INT64_MAX, &lv->count)) != RK_OK) return code;
    if (timeout && (code = parse_seconds(cx, "--timeout", timeout, &secs)) != RK_OK) return code;
    if (url == NULL) url = getenv("RANKD_EVENTS_URL");
    if (url == NULL || *url == '\0') url = CTL_DEFAULT_EVENTS_URL;

    interrupted = 0;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    lv->sigint_set = sigaction(SIGINT, &sa, &lv->old_int) == 0;
    if (timeout) {
        clock_gettime(CLOCK_MONOTONIC, &lv->deadline);
        ts_add_ms(&lv->deadline, (int64_t)(secs * 1000 + 0.5));
        lv->has_deadline = 1;
    }
    return rk_subscriber_open_tls(&lv->sub, url, &cx->tls, feed_cb, lv, &cx->st);
}

static int live_subscribe(ctl_ctx *cx, live *lv, const char *prefix) {
    return rk_subscriber_subscribe(lv->sub, prefix, &cx->st);
}

/* Mutes the subscriber and empties the queue; the socket and the lock stay
 * for the process's exit to take down (see the top). */
static void live_close(live *lv) {
    feed_msg *m, *next;
    pthread_mutex_lock(&lv->mu);
    lv->closed = 1;
    m = lv->head;
    lv->head = lv->tail = NULL;
    lv->n = 0;
    pthread_mutex_unlock(&lv->mu);
    for (; m; m = next) {
        next = m->next;
        free(m);
    }
    if (lv->sigint_set) sigaction(SIGINT, &lv->old_int, NULL);
}

/* ---------------------------------------------------------------- events */

/* {"topic": "...", "top": {...}}: the topic, then the Event's fields. */
static int print_event_line(ctl_ctx *cx, const char *topic, const Rankd__Event *ev) {
    cJSON *doc = NULL, *line = cJSON_CreateObject();
    char *text = NULL;
    int code = RK_RESOURCE_EXHAUSTED;
    if (line == NULL || cJSON_AddStringToObject(line, "topic", topic) == NULL) goto out;
    if ((code = json_out_message(&ev->base, &doc, &cx->st)) != RK_OK) goto out;
    while (doc->child) {
        cJSON *item = cJSON_DetachItemViaPointer(doc, doc->child);
        cJSON_AddItemToObject(line, item->string, item); /* copies the name first */
    }
    if ((text = cJSON_PrintUnformatted(line)) == NULL) {
        code = RK_RESOURCE_EXHAUSTED;
        goto out;
    }
    printf("%s\n", text);
    fflush(stdout);
out:
    if (code == RK_RESOURCE_EXHAUSTED) rk_status_set(&cx->st, code, "out of memory");
    free(text);
    cJSON_Delete(doc);
    cJSON_Delete(line);
    return code;
}

int cmd_events(ctl_ctx *cx, const ctl_args *a) {
    live *lv;
    const char *topic;
    int code, it = 0, subscribed = 0;
    if ((code = live_open(cx, a, &lv)) != RK_OK) goto out;
    while (code == RK_OK && (topic = ctl_opt_next(a, "--topic", &it)) != NULL) {
        code = live_subscribe(cx, lv, topic);
        subscribed++;
    }
    if (code == RK_OK && subscribed == 0) code = live_subscribe(cx, lv, "");
    for (int64_t seen = 0; code == RK_OK && (lv->count == 0 || seen < lv->count);) {
        feed_msg *m = NULL;
        if (live_next(lv, &m) == LIVE_END) break;
        Rankd__Event *ev = rankd__event__unpack(NULL, m->len, m->data);
        if (ev) {
            code = print_event_line(cx, m->topic, ev);
            rankd__event__free_unpacked(ev, NULL);
            seen++;
        }
        free(m);
    }
out:
    live_close(lv);
    return code;
}

/* ---------------------------------------------------------------- watch */

/* One shown state of the top. */
typedef struct top_state {
    Rankd__RankEntry *rows; /* owned, usernames too */
    size_t n;
    int64_t board_size;
    int64_t at_us;
    uint64_t seq;
    int has_seq;
} top_state;

typedef struct watch {
    ctl_ctx *cx;
    Rankd__TopRequest top; /* board, window and limit, for re-syncs */
    char game[80];
    int tty;    /* redraw in place */
    int frames; /* drawn so far */
    top_state prev, cur;
} watch;

static void state_free(top_state *s) {
    for (size_t i = 0; i < s->n; i++) free(s->rows[i].username);
    free(s->rows);
    memset(s, 0, sizeof(*s));
}

static int64_t now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* Makes `entries` (at most `limit` of them) the current state; the old
 * current one becomes the previous one. */
static int state_push(watch *w, Rankd__RankEntry *const *entries, size_t n, int64_t size, int64_t at_us) {
    top_state s = {.board_size = size, .at_us = at_us ? at_us : now_us()};
    if (n > w->top.limit) n = w->top.limit;
    if ((s.rows = calloc(n ? n : 1, sizeof(*s.rows))) == NULL)
        return rk_status_set(&w->cx->st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < n; i++, s.n++) {
        Rankd__RankEntry *e = &s.rows[i];
        rankd__rank_entry__init(e);
        e->has_user_id = e->has_score = e->has_rank = 1;
        e->user_id = entries[i]->user_id;
        e->score = entries[i]->score;
        e->rank = entries[i]->rank;
        if ((e->username = strdup(entries[i]->username ? entries[i]->username : "")) == NULL) {
            state_free(&s);
            return rk_status_set(&w->cx->st, RK_RESOURCE_EXHAUSTED, "out of memory");
        }
    }
    state_free(&w->prev);
    w->prev = w->cur;
    w->cur = s;
    return RK_OK;
}

/* The current top from Ranking/Top. */
static int watch_fetch(watch *w) {
    Rankd__RankListReply *r = NULL;
    int code = rk_ranking_top(w->cx->client, &w->top, &r, NULL, &w->cx->st);
    if (code == RK_OK) code = state_push(w, r->entries, r->n_entries, r->board_size, 0);
    rk_reply_free(r);
    return code;
}

/* "▲2", "▼1", "new" or "" against the previous state. */
static const char *movement(const watch *w, const Rankd__RankEntry *e, char *buf, size_t n) {
    if (w->frames == 0) return "";
    for (size_t i = 0; i < w->prev.n; i++) {
        if (w->prev.rows[i].user_id != e->user_id) continue;
        int64_t d = w->prev.rows[i].rank - e->rank;
        if (d == 0) return "";
        snprintf(buf, n, "%s%" PRId64, d > 0 ? "\u25b2" : "\u25bc", d > 0 ? d : -d);
        return buf;
    }
    return "new";
}

/* The current state as one JSON line: a TopChanged, seq only when it
 * came from an event. */
static int draw_json(watch *w) {
    Rankd__TopChanged tc = RANKD__TOP_CHANGED__INIT;
    Rankd__RankEntry **list = calloc(w->cur.n ? w->cur.n : 1, sizeof(*list));
    cJSON *doc = NULL;
    char *text = NULL;
    int code;
    if (list == NULL) return rk_status_set(&w->cx->st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < w->cur.n; i++) list[i] = &w->cur.rows[i];
    tc.board_id = w->top.board_id;
    tc.game = w->game;
    tc.has_window = 1;
    tc.window = w->top.window;
    tc.has_seq = w->cur.has_seq;
    tc.seq = w->cur.seq;
    tc.entries = list;
    tc.n_entries = w->cur.n;
    tc.has_board_size = tc.has_at_us = 1;
    tc.board_size = w->cur.board_size;
    tc.at_us = w->cur.at_us;
    if ((code = json_out_message(&tc.base, &doc, &w->cx->st)) == RK_OK) {
        if ((text = cJSON_PrintUnformatted(doc)) != NULL)
            printf("%s\n", text);
        else
            code = rk_status_set(&w->cx->st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    free(text);
    cJSON_Delete(doc);
    free(list);
    return code;
}

/* One frame: a title line, then RANK PLAYER SCORE MOVE. `note` says why
 * it was fetched rather than taken from an event ("" when it was not). */
static int draw(watch *w, const char *note) {
    ctl_tbl t = {.ncols = 4, .right = 1u << 0 | 1u << 2};
    char wb[16], tb[48], rb[24], pb[32], sb[24], mb[32];
    int code = RK_OK;
    if (w->cx->json) {
        code = draw_json(w);
    } else {
        code = ctl_tbl_add(w->cx, &t, "RANK", "PLAYER", "SCORE", "MOVE");
        for (size_t i = 0; code == RK_OK && i < w->cur.n; i++) {
            const Rankd__RankEntry *e = &w->cur.rows[i];
            code = ctl_tbl_add(w->cx, &t, ctl_show_i64(e->rank, rb, sizeof(rb)),
                               ctl_show_player(e->user_id, e->username, pb, sizeof(pb)),
                               ctl_show_i64(e->score, sb, sizeof(sb)), movement(w, e, mb, sizeof(mb)));
        }
        if (code == RK_OK) {
            if (w->tty)
                fputs("\033[H\033[2J", stdout); /* cursor home, clear the screen */
            else if (w->frames > 0)
                putchar('\n');
            printf("%s (%s): %" PRId64 " player%s at %s%s\n", w->top.board_id,
                   ctl_show_window(w->top.window, wb, sizeof(wb)), w->cur.board_size, w->cur.board_size == 1 ? "" : "s",
                   ctl_show_time_us(w->cur.at_us, tb, sizeof(tb)), note);
            ctl_tbl_print(&t);
        }
        ctl_tbl_free(&t);
    }
    fflush(stdout);
    w->frames++;
    return code;
}

/* A TopChanged of our board and window: take its top, or fetch the top
 * when an event was missed or the event shows fewer rows than wanted. */
static int watch_apply(watch *w, const Rankd__TopChanged *tc) {
    int gap = w->cur.has_seq && tc->seq != w->cur.seq + 1;
    int short_top = tc->n_entries < w->top.limit && (int64_t)tc->n_entries < tc->board_size;
    int code = gap || short_top ? watch_fetch(w) : state_push(w, tc->entries, tc->n_entries, tc->board_size, tc->at_us);
    if (code != RK_OK) return code;
    w->cur.has_seq = 1;
    w->cur.seq = tc->seq;
    return draw(w, gap ? " (re-synced after a missed update)" : "");
}

/* The game a board belongs to, which starts its topics. */
static int watch_game(watch *w) {
    Rankd__GetBoardRequest req = RANKD__GET_BOARD_REQUEST__INIT;
    Rankd__BoardReply *r = NULL;
    if (strcmp(w->top.board_id, GLOBAL_BOARD) == 0) {
        snprintf(w->game, sizeof(w->game), "%s", GLOBAL_GAME);
        return RK_OK;
    }
    req.board_id = w->top.board_id;
    int code = rk_boards_get_board(w->cx->client, &req, &r, NULL, &w->cx->st);
    if (code == RK_OK && (r->board == NULL || r->board->game == NULL))
        code = rk_status_set(&w->cx->st, RK_INTERNAL, "rankd sent no board");
    if (code == RK_OK) snprintf(w->game, sizeof(w->game), "%s", r->board->game);
    rk_reply_free(r);
    return code;
}

int cmd_watch(ctl_ctx *cx, const ctl_args *a) {
    watch w = {.cx = cx, .top = RANKD__TOP_REQUEST__INIT};
    live *lv = NULL;
    char topic[256];
    int code;

    w.top.board_id = a->pos[0];
    if ((code = ctl_opt_window(cx, a, &w.top.has_window, &w.top.window)) != RK_OK ||
        (code = ctl_opt_u32(cx, a, "--limit", &w.top.has_limit, &w.top.limit)) != RK_OK)
        return code;
    if (!w.top.has_limit) w.top.limit = WATCH_LIMIT;
    if (w.top.limit == 0) return ctl_usage(cx, "--limit: must be at least 1");
    w.top.has_limit = 1;
    w.tty = isatty(STDOUT_FILENO) && !cx->json;

    if ((code = watch_game(&w)) != RK_OK || (code = live_open(cx, a, &lv)) != RK_OK) goto out;
    if (rk_topic_top(topic, sizeof(topic), w.game, w.top.board_id, w.top.window) >= (int)sizeof(topic)) {
        code = rk_status_set(&cx->st, RK_INVALID_ARGUMENT, "board id too long for a topic");
        goto out;
    }
    if ((code = live_subscribe(cx, lv, topic)) != RK_OK) goto out;
    if ((code = watch_fetch(&w)) != RK_OK || (code = draw(&w, "")) != RK_OK) goto out;
    for (int64_t seen = 0; lv->count == 0 || seen < lv->count;) {
        feed_msg *m = NULL;
        if (live_next(lv, &m) == LIVE_END) break;
        Rankd__Event *ev = rankd__event__unpack(NULL, m->len, m->data);
        free(m);
        if (ev && ev->kind_case == RANKD__EVENT__KIND_TOP && ev->top->board_id &&
            strcmp(ev->top->board_id, w.top.board_id) == 0 && ev->top->window == w.top.window) {
            code = watch_apply(&w, ev->top);
            seen++;
        }
        rankd__event__free_unpacked(ev, NULL);
        if (code != RK_OK) break;
    }
out:
    if (lv) live_close(lv);
    state_free(&w.prev);
    state_free(&w.cur);
    return code;
}
