/*
 * subscriber.c - an nng SUB socket and a thread receiving from it.
 *
 * Filtering is nng's (prefix match on the message start, which is the
 * topic). One thread of ours receives with a short timeout and calls the
 * callback; a slow callback only delays this subscriber, and nng drops
 * what it cannot buffer. A plain receive loop rather than an aio callback:
 * nng 1.5 can hang closing a SUB socket whose receive aio is re-armed
 * while messages keep arriving; with no receive pending, close is clean.
 * Closing has a second hazard of the same release; see end_connections.
 */
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include <rankd/subscriber.h>

#include "dial.h"

#define RECVBUF 1024
#define POLL_MS 100 /* how soon close is noticed */

#define MAX_DIALERS 16
#define MAX_PIPES 64       /* connections tracked; see end_connections */
#define PIPES_GONE_MS 2000 /* how long close waits for them to end */

struct rk_subscriber {
    nng_socket sock;
    nng_dialer dialers[MAX_DIALERS];
    int ndialers;
    pthread_t thread;
    atomic_int stop;
    rk_event_cb cb;
    void *arg;
    /* The connections nng has now (pipe callbacks run on nng's threads). */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    nng_pipe pipes[MAX_PIPES];
    int npipes;
    int untracked; /* pipes that did not fit in pipes[] */
    int closing;   /* see end_connections */
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

static void subscriber_free(rk_subscriber *s) {
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

static int shut_pipe_fd(nng_pipe p);

/* Runs on nng's threads. While closing (see end_connections), a new pipe
 * is ended at once, and a pipe that is gone takes its dialer with it: nng
 * would redial straight away otherwise, before the socket is closed. */
static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg) {
    rk_subscriber *s = arg;
    pthread_mutex_lock(&s->mu);
    int closing = s->closing;
    if (ev == NNG_PIPE_EV_ADD_POST) {
        if (s->npipes < MAX_PIPES)
            s->pipes[s->npipes++] = p;
        else
            s->untracked++;
    } else {
        int i = 0;
        while (i < s->npipes && nng_pipe_id(s->pipes[i]) != nng_pipe_id(p)) i++;
        if (i < s->npipes)
            s->pipes[i] = s->pipes[--s->npipes];
        else if (s->untracked > 0)
            s->untracked--;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    if (closing && ev == NNG_PIPE_EV_ADD_POST) shut_pipe_fd(p);
    if (closing && ev == NNG_PIPE_EV_REM_POST) nng_dialer_close(nng_pipe_dialer(p));
}

/* Whether an nng address and a kernel one are the same TCP endpoint. */
static int same_addr(const nng_sockaddr *a, const struct sockaddr_storage *b) {
    if (a->s_family == NNG_AF_INET && b->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)b;
        return a->s_in.sa_port == in->sin_port && a->s_in.sa_addr == in->sin_addr.s_addr;
    }
    if (a->s_family == NNG_AF_INET6 && b->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)b;
        return a->s_in6.sa_port == in6->sin6_port && memcmp(a->s_in6.sa_addr, &in6->sin6_addr, 16) == 0;
    }
    return 0;
}

/* Drops the TCP connection under the pipe, found as the descriptor whose
 * two ends are the pipe's; 0 when it was found. Linux: the descriptors are
 * those listed in /proc/self/fd. */
static int shut_pipe_fd(nng_pipe p) {
    nng_sockaddr local, remote;
    if (nng_pipe_get_addr(p, NNG_OPT_LOCADDR, &local) != 0 || nng_pipe_get_addr(p, NNG_OPT_REMADDR, &remote) != 0)
        return -1;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) return -1;
    int found = -1;
    struct dirent *e;
    while (found != 0 && (e = readdir(d)) != NULL) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end != '\0' || end == e->d_name || fd == dirfd(d)) continue;
        struct sockaddr_storage la, ra;
        socklen_t ll = sizeof(la), rl = sizeof(ra);
        if (getsockname((int)fd, (struct sockaddr *)&la, &ll) != 0 || !same_addr(&local, &la)) continue;
        if (getpeername((int)fd, (struct sockaddr *)&ra, &rl) != 0 || !same_addr(&remote, &ra)) continue;
        /* Connecting to AF_UNSPEC drops the connection at once (the peer
         * gets a reset; unread data is discarded) and keeps the descriptor,
         * which is nng's to close. */
        struct sockaddr unspec = {.sa_family = AF_UNSPEC};
        found = connect((int)fd, &unspec, sizeof(unspec));
    }
    closedir(d);
    return found;
}

/* nng 1.5.2 can hang for ever closing a pipe that is receiving: if a read
 * completes just as the pipe is closed, the TCP transport's callback
 * re-arms the read on its already closed aio, which then never completes;
 * the reaper thread waits for it, and from then on every nng_close in the
 * process waits too, including nng's own at exit (fixed upstream after
 * 1.5.2). A subscriber is exactly such a pipe while rankd publishes, and
 * each pipe a close tears down is a chance to lose that race.
 * So nng never closes a live connection of ours: we drop each one under
 * it, nng's read fails, and its error path tears the pipe down with no
 * read pending (on_pipe keeps the dialers from redialing meanwhile).
 * 1 when every connection is gone, so that nng_close has no pipe left to
 * race with. */
static int end_connections(rk_subscriber *s) {
    nng_pipe pipes[MAX_PIPES];
    pthread_mutex_lock(&s->mu);
    s->closing = 1;
    int n = s->npipes, ok = s->untracked == 0;
    memcpy(pipes, s->pipes, sizeof(pipes[0]) * (size_t)n);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; ok && i < n; i++) ok = shut_pipe_fd(pipes[i]) == 0;
    if (!ok) return 0;

    struct timespec by;
    clock_gettime(CLOCK_REALTIME, &by);
    by.tv_sec += PIPES_GONE_MS / 1000;
    by.tv_nsec += (long)(PIPES_GONE_MS % 1000) * 1000000L;
    if (by.tv_nsec >= 1000000000L) by.tv_sec++, by.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&s->mu);
    int rv = 0;
    while ((s->npipes > 0 || s->untracked > 0) && rv == 0) rv = pthread_cond_timedwait(&s->cv, &s->mu, &by);
    int gone = s->npipes == 0 && s->untracked == 0;
    pthread_mutex_unlock(&s->mu);
    return gone;
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
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if ((rv = nng_sub0_open(&s->sock)) != 0) {
        subscriber_free(s);
        return rk_status_set(st, RK_INTERNAL, "cannot open SUB socket: %s", nng_strerror(rv));
    }
    nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_POST, on_pipe, s);
    nng_pipe_notify(s->sock, NNG_PIPE_EV_REM_POST, on_pipe, s);
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
    subscriber_free(s);
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

/* The fallback when a connection could not be ended first: the close
 * may hang (see end_connections), so it runs on a detached thread of its
 * own, which owns the subscriber from then on (pipe callbacks may still
 * come); the caller never waits for it. */
static void *close_socket(void *arg) {
    rk_subscriber *s = arg;
    nng_close(s->sock);
    subscriber_free(s);
    return NULL;
}

void rk_subscriber_close(rk_subscriber *s) {
    if (s == NULL) return;
    /* Stop receiving first (within POLL_MS): no callback runs after this. */
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    if (end_connections(s)) {
        nng_close(s->sock);
        subscriber_free(s);
        return;
    }
    pthread_t t;
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rv = pthread_create(&t, &attr, close_socket, s);
        pthread_attr_destroy(&attr);
        if (rv == 0) return;
    }
    close_socket(s);
}
