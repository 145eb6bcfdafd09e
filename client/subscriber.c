/*
 * subscriber.c - an nng SUB socket with one receive aio in a loop.
 *
 * Filtering is nng's (prefix match on the message start, which is the
 * topic). The callback runs on nng's thread for the aio; a slow callback
 * only delays this subscriber, and nng drops what it cannot buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include <rankd/subscriber.h>

#define RECVBUF 1024

struct rk_subscriber {
    nng_socket sock;
    nng_aio *aio;
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

static void deliver(rk_subscriber *s, nng_msg *m) {
    const char *body = nng_msg_body(m);
    size_t len = nng_msg_len(m);
    const char *nul = memchr(body, '\0', len);
    if (nul == NULL) return; /* not ours */
    size_t tl = (size_t)(nul - body) + 1;
    Rankd__Event *ev = rankd__event__unpack(NULL, len - tl, (const uint8_t *)body + tl);
    if (ev == NULL) return;
    s->cb(body, ev, s->arg);
    rankd__event__free_unpacked(ev, NULL);
}

static void recv_cb(void *arg) {
    rk_subscriber *s = arg;
    int rv = nng_aio_result(s->aio);
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) return;
    if (rv == 0) {
        nng_msg *m = nng_aio_get_msg(s->aio);
        deliver(s, m);
        nng_msg_free(m);
    }
    nng_recv_aio(s->sock, s->aio);
}

int rk_subscriber_open(rk_subscriber **out, const char *urls, rk_event_cb cb, void *arg,
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
    if ((list = strdup(urls ? urls : "")) == NULL) {
        rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto fail;
    }
    int dialed = 0;
    for (char *u = strtok_r(list, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
        while (*u == ' ') u++;
        if (*u == '\0') continue;
        if ((rv = nng_dial(s->sock, u, NULL, NNG_FLAG_NONBLOCK)) != 0) {
            rk_status_set(st, RK_INVALID_ARGUMENT, "cannot dial %s: %s", u, nng_strerror(rv));
            goto fail;
        }
        dialed++;
    }
    if (!dialed) {
        rk_status_set(st, RK_INVALID_ARGUMENT, "no event address given");
        goto fail;
    }
    if ((rv = nng_aio_alloc(&s->aio, recv_cb, s)) != 0) {
        rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto fail;
    }
    free(list);
    nng_recv_aio(s->sock, s->aio);
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

void rk_subscriber_close(rk_subscriber *s) {
    if (s == NULL) return;
    nng_aio_stop(s->aio); /* waits for a callback in progress */
    nng_close(s->sock);
    nng_aio_free(s->aio);
    free(s);
}
