/*
 * subscriber.c - an nng SUB socket and a thread receiving from it.
 *
 * Filtering is nng's (prefix match on the message start, which is the
 * topic). One thread of ours receives with a short timeout and calls the
 * callback; a slow callback only delays this subscriber, and nng drops
 * what it cannot buffer. A plain receive loop rather than an aio callback:
 * nng 1.5 can hang closing a SUB socket whose receive aio is re-armed
 * while messages keep arriving; with no receive pending, close is clean.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include <rankd/subscriber.h>

#include "dial.h"

#define RECVBUF 1024
#define POLL_MS 100 /* how soon close is noticed */

#define MAX_DIALERS 16

struct rk_subscriber {
    nng_socket sock;
    nng_dialer dialers[MAX_DIALERS];
    int ndialers;
    pthread_t thread;
    atomic_int stop;
    rk_event_cb cb;
    void *arg;
};

static const char *const window_names[] = {"all", "daily", "weekly", "monthly"};

int rk_topic_top(char *out, size_t cap, const char *game, const char *board, int window) {
    const char *w = window >= 0 && window < 4 ? window_names[window] : "all";
    return snprintf(out, cap, "%s/%s/top/%s/", game, board, w);
}

int rk_topic_player(char *out, size_t cap, const char *game, const char *board, int64_t user_id) {
    return snprintf(out, cap, "%s/%s/player/%lld/", game, board, (long long)user_id);
}

int rk_topic_window(char *out, size_t cap, const char *game, const char *board) {
    return snprintf(out, cap, "%s/%s/window/", game, board);
}

int rk_event_decode(const void *msg, size_t len, const char **topic, Rankd__Event **ev) {
    const char *body = msg;
    const char *nul = len ? memchr(body, '\0', len) : NULL;
    if (nul == NULL) return -1; /* not ours */
    size_t tl = (size_t)(nul - body) + 1;
    Rankd__Event *e = rankd__event__unpack(NULL, len - tl, (const uint8_t *)body + tl);
    if (e == NULL) return -1;
    *topic = body;
    *ev = e;
    return 0;
}

static void deliver(rk_subscriber *s, nng_msg *m) {
    const char *topic;
    Rankd__Event *ev;
    if (rk_event_decode(nng_msg_body(m), nng_msg_len(m), &topic, &ev) != 0) return;
    s->cb(topic, ev, s->arg);
    rankd__event__free_unpacked(ev, NULL);
}

static void *recv_main(void *arg) {
    rk_subscriber *s = arg;
    while (!atomic_load(&s->stop)) {
        nng_msg *m = NULL;
        int rv = nng_recvmsg(s->sock, &m, 0);
        if (rv == NNG_ETIMEDOUT) continue;
        if (rv != 0) break; /* closed */
        deliver(s, m);
        nng_msg_free(m);
    }
    return NULL;
}

int rk_subscriber_open(rk_subscriber **out, const char *urls, rk_event_cb cb, void *arg, rk_status *st) {
    return rk_subscriber_open_tls(out, urls, NULL, cb, arg, st);
}

int rk_subscriber_open_tls(rk_subscriber **out, const char *urls, const rk_tls_opts *tls, rk_event_cb cb, void *arg,
                           rk_status *st) {
    int rv;
    char *list = NULL, *save = NULL;
    rk_subscriber *s = calloc(1, sizeof(*s));
    if (s == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    s->cb = cb;
    s->arg = arg;
    if ((rv = nng_sub0_open(&s->sock)) != 0) {
        free(s);
        return rk_status_set(st, RK_INTERNAL, "cannot open SUB socket: %s", nng_strerror(rv));
    }
    nng_socket_set_int(s->sock, NNG_OPT_RECVBUF, RECVBUF);
    nng_socket_set_ms(s->sock, NNG_OPT_RECONNMINT, 100);
    nng_socket_set_ms(s->sock, NNG_OPT_RECONNMAXT, 2000);
    nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO, POLL_MS);
    if ((list = strdup(urls ? urls : "")) == NULL) {
        rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto fail;
    }
    int dialed = 0;
    for (char *u = strtok_r(list, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
        while (*u == ' ') u++;
        if (*u == '\0') continue;
        if (s->ndialers == MAX_DIALERS) {
            rk_status_set(st, RK_INVALID_ARGUMENT, "at most %d event addresses", MAX_DIALERS);
            goto fail;
        }
        if (dial_start(s->sock, u, tls, &s->dialers[s->ndialers], st) != RK_OK) goto fail;
        dialed++;
        s->ndialers++;
    }
    if (!dialed) {
        rk_status_set(st, RK_INVALID_ARGUMENT, "no event address given");
        goto fail;
    }
    if (pthread_create(&s->thread, NULL, recv_main, s) != 0) {
        rk_status_set(st, RK_RESOURCE_EXHAUSTED, "cannot start the subscriber thread");
        goto fail;
    }
    free(list);
    *out = s;
    rk_status_clear(st);
    return RK_OK;
fail:
    free(list);
    nng_close(s->sock);
    free(s);
    return st ? st->code : RK_INTERNAL;
}

static int set_sub(rk_subscriber *s, const char *opt, const char *prefix, rk_status *st) {
    int rv = nng_socket_set(s->sock, opt, prefix, strlen(prefix));
    if (rv != 0) return rk_status_set(st, RK_INVALID_ARGUMENT, "cannot change subscription: %s", nng_strerror(rv));
    rk_status_clear(st);
    return RK_OK;
}

int rk_subscriber_subscribe(rk_subscriber *s, const char *prefix, rk_status *st) {
    return set_sub(s, NNG_OPT_SUB_SUBSCRIBE, prefix ? prefix : "", st);
}

int rk_subscriber_unsubscribe(rk_subscriber *s, const char *prefix, rk_status *st) {
    return set_sub(s, NNG_OPT_SUB_UNSUBSCRIBE, prefix ? prefix : "", st);
}

/* nng 1.5.2 can wait forever in nng_close on a SUB socket whose peer keeps
 * publishing (a pipe teardown race, fixed upstream after 1.5.2). The close
 * therefore runs on a detached thread of its own: the caller never waits
 * for it, and once the receive thread is joined nothing of ours touches
 * the socket again. At worst that thread and the socket outlive the
 * subscriber until the process exits. */
static void *close_socket(void *arg) {
    nng_socket *sock = arg;
    nng_close(*sock);
    free(sock);
    return NULL;
}

void rk_subscriber_close(rk_subscriber *s) {
    if (s == NULL) return;
    /* Stop receiving first (within POLL_MS): no callback runs after this. */
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    for (int i = 0; i < s->ndialers; i++) nng_dialer_close(s->dialers[i]);
    nng_socket *sock = malloc(sizeof(*sock));
    pthread_t t;
    pthread_attr_t attr;
    if (sock && pthread_attr_init(&attr) == 0) {
        *sock = s->sock;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, close_socket, sock) != 0) close_socket(sock);
        pthread_attr_destroy(&attr);
    } else {
        free(sock);
        nng_close(s->sock);
    }
    free(s);
}
