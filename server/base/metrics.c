/*
 * metrics.c - atomics in, Prometheus text out.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rankd/status.h>

#include "metrics.h"

#define CODES 17 /* canonical codes 0..16 */

static const double bucket_s[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                  0.05,   0.1,     0.25,   0.5,   1,      2.5,   5};
#define BUCKETS (sizeof(bucket_s) / sizeof(bucket_s[0]))

typedef struct histogram {
    atomic_llong le[BUCKETS + 1]; /* last: +Inf */
    atomic_llong sum_us;
    atomic_llong count;
} histogram;

static struct {
    const char *const *names;
    size_t nmethods;
    atomic_llong requests[METRICS_MAX_METHODS + 1][CODES]; /* last row: unknown method */
    atomic_llong to_workers[METRICS_MAX_METHODS];          /* fast-lane calls the workers took over */
    histogram latency[METRICS_MAX_METHODS + 1];
    histogram redis, pg;
    atomic_llong events[METRICS_EV_KINDS];
    atomic_llong coalesced;
    atomic_llong subscribers;
    atomic_llong boards_watched;
    atomic_llong wb_backlog, wb_lag_ms, wb_dead;
    _Atomic(const char *) redis_state;
} m;

void metrics_init(const char *const *method_names, size_t n) {
    m.names = method_names;
    m.nmethods = n < METRICS_MAX_METHODS ? n : METRICS_MAX_METHODS;
}

static void observe(histogram *h, int64_t us) {
    size_t i = 0;
    while (i < BUCKETS && (double)us > bucket_s[i] * 1e6) i++;
    atomic_fetch_add(&h->le[i], 1);
    atomic_fetch_add(&h->sum_us, us);
    atomic_fetch_add(&h->count, 1);
}

void metrics_request(int method, int code, int64_t micros) {
    size_t row = method >= 0 && (size_t)method < m.nmethods ? (size_t)method : METRICS_MAX_METHODS;
    if (code < 0 || code >= CODES) code = RK_UNKNOWN;
    atomic_fetch_add(&m.requests[row][code], 1);
    observe(&m.latency[row], micros);
}

void metrics_to_workers(int method) {
    if (method >= 0 && (size_t)method < m.nmethods) atomic_fetch_add(&m.to_workers[method], 1);
}

void metrics_redis_call(int64_t micros) { observe(&m.redis, micros); }
void metrics_pg_call(int64_t micros) { observe(&m.pg, micros); }
void metrics_event_published(metrics_event kind) { atomic_fetch_add(&m.events[kind], 1); }
void metrics_event_coalesced(void) { atomic_fetch_add(&m.coalesced, 1); }
void metrics_subscribers_add(int delta) { atomic_fetch_add(&m.subscribers, delta); }

void metrics_set_dead_letters(int64_t n) { atomic_store(&m.wb_dead, n); }
void metrics_set_redis_state(const char *name) { atomic_store(&m.redis_state, name); }
void metrics_set_boards_watched(int64_t n) { atomic_store(&m.boards_watched, n); }

void metrics_set_writebehind(int64_t backlog, int64_t lag_ms) {
    atomic_store(&m.wb_backlog, backlog);
    atomic_store(&m.wb_lag_ms, lag_ms);
}

_Static_assert(BUCKETS + 1 == METRICS_LATENCY_BOUNDS, "metrics.h names one bound per bucket, and +Inf");

void metrics_request_latency(metrics_latency *out) {
    memset(out, 0, sizeof(*out));
    /* Each row is read bucket by bucket while others add to it, so the
     * totals may disagree by the calls answered meanwhile; a caller that
     * takes differences over a second does not see it. */
    for (size_t row = 0; row <= METRICS_MAX_METHODS; row++) {
        histogram *h = &m.latency[row];
        int64_t cum = 0;
        for (size_t i = 0; i <= BUCKETS; i++) {
            cum += atomic_load(&h->le[i]);
            out->le_count[i] += cum;
        }
        out->count += atomic_load(&h->count);
        out->sum_us += atomic_load(&h->sum_us);
    }
    for (size_t i = 0; i < BUCKETS; i++) out->le_us[i] = (int64_t)(bucket_s[i] * 1e6 + 0.5);
    out->le_us[BUCKETS] = -1;
}

/* ---------------------------------------------------------------- rendering */

typedef struct out {
    char *s;
    size_t len, cap;
    int oom;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...) {
    if (o->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->s + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->oom = 1;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap * 2 + (size_t)n;
        char *s = realloc(o->s, cap);
        if (s == NULL) {
            o->oom = 1;
            return;
        }
        o->s = s;
        o->cap = cap;
    }
}

static void put_histogram(out *o, const char *name, const char *labels, histogram *h) {
    long long cum = 0;
    const char *sep = labels[0] ? "," : "";
    for (size_t i = 0; i <= BUCKETS; i++) {
        cum += atomic_load(&h->le[i]);
        if (i < BUCKETS)
            put(o, "%s_bucket{%s%sle=\"%g\"} %lld\n", name, labels, sep, bucket_s[i], cum);
        else
            put(o, "%s_bucket{%s%sle=\"+Inf\"} %lld\n", name, labels, sep, cum);
    }
    put(o, "%s_sum{%s} %.6f\n", name, labels, (double)atomic_load(&h->sum_us) / 1e6);
    put(o, "%s_count{%s} %lld\n", name, labels, (long long)atomic_load(&h->count));
}

int metrics_render(char **text, size_t *len) {
    out o = {.s = malloc(16384), .cap = 16384};
    if (o.s == NULL) return -1;
    o.s[0] = '\0';
    put(&o, "# HELP rankd_requests_total RPCs answered, by method and status code.\n"
            "# TYPE rankd_requests_total counter\n");
    for (size_t i = 0; i <= METRICS_MAX_METHODS; i++) {
        if (i >= m.nmethods && i != METRICS_MAX_METHODS) continue;
        const char *name = i < m.nmethods ? m.names[i] : "unknown";
        for (int c = 0; c < CODES; c++) {
            long long n = atomic_load(&m.requests[i][c]);
            if (n) put(&o, "rankd_requests_total{method=\"%s\",code=\"%s\"} %lld\n", name, rk_code_name(c), n);
        }
    }
    put(&o, "# HELP rankd_requests_to_workers_total Calls of methods with a fast-lane handler that the worker pool "
            "answered (they had to block), by method.\n"
            "# TYPE rankd_requests_to_workers_total counter\n");
    for (size_t i = 0; i < m.nmethods; i++) {
        long long n = atomic_load(&m.to_workers[i]);
        if (n) put(&o, "rankd_requests_to_workers_total{method=\"%s\"} %lld\n", m.names[i], n);
    }
    put(&o, "# HELP rankd_request_duration_seconds RPC latency from receipt to reply, by method.\n"
            "# TYPE rankd_request_duration_seconds histogram\n");
    for (size_t i = 0; i < m.nmethods; i++) {
        if (atomic_load(&m.latency[i].count) == 0) continue;
        char labels[128];
        snprintf(labels, sizeof(labels), "method=\"%s\"", m.names[i]);
        put_histogram(&o, "rankd_request_duration_seconds", labels, &m.latency[i]);
    }
    put(&o, "# HELP rankd_redis_call_duration_seconds Round trips to Redis from request handlers.\n"
            "# TYPE rankd_redis_call_duration_seconds histogram\n");
    put_histogram(&o, "rankd_redis_call_duration_seconds", "", &m.redis);
    put(&o, "# HELP rankd_postgres_call_duration_seconds Round trips to PostgreSQL.\n"
            "# TYPE rankd_postgres_call_duration_seconds histogram\n");
    put_histogram(&o, "rankd_postgres_call_duration_seconds", "", &m.pg);
    put(&o,
        "# HELP rankd_writebehind_backlog Accepted submissions not yet in PostgreSQL.\n"
        "# TYPE rankd_writebehind_backlog gauge\nrankd_writebehind_backlog %lld\n",
        (long long)atomic_load(&m.wb_backlog));
    put(&o,
        "# HELP rankd_writebehind_dead_letters Accepted submissions PostgreSQL refused, kept in scores_dead_letter.\n"
        "# TYPE rankd_writebehind_dead_letters gauge\nrankd_writebehind_dead_letters %lld\n",
        (long long)atomic_load(&m.wb_dead));
    put(&o,
        "# HELP rankd_writebehind_lag_seconds Age of the oldest submission not yet in PostgreSQL.\n"
        "# TYPE rankd_writebehind_lag_seconds gauge\nrankd_writebehind_lag_seconds %.3f\n",
        (double)atomic_load(&m.wb_lag_ms) / 1000.0);
    const char *state = atomic_load(&m.redis_state);
    if (state)
        put(&o,
            "# HELP rankd_redis_state Redis as this rankd sees it: up, down, loading, restoring or catching-up.\n"
            "# TYPE rankd_redis_state gauge\nrankd_redis_state{state=\"%s\"} 1\n",
            state);
    put(&o,
        "# HELP rankd_event_subscribers Connected event subscribers (nng and WebSocket).\n"
        "# TYPE rankd_event_subscribers gauge\nrankd_event_subscribers %lld\n",
        (long long)atomic_load(&m.subscribers));
    static const char *const kinds[METRICS_EV_KINDS] = {"top", "rank", "window", "counter"};
    put(&o, "# HELP rankd_events_published_total Events published, by kind.\n"
            "# TYPE rankd_events_published_total counter\n");
    for (int k = 0; k < METRICS_EV_KINDS; k++)
        put(&o, "rankd_events_published_total{kind=\"%s\"} %lld\n", kinds[k], (long long)atomic_load(&m.events[k]));
    put(&o,
        "# HELP rankd_events_coalesced_total Board changes folded into a later top-N event.\n"
        "# TYPE rankd_events_coalesced_total counter\nrankd_events_coalesced_total %lld\n",
        (long long)atomic_load(&m.coalesced));
    put(&o,
        "# HELP rankd_events_boards_watched Boards the events thread keeps coalescing state for (bounded).\n"
        "# TYPE rankd_events_boards_watched gauge\nrankd_events_boards_watched %lld\n",
        (long long)atomic_load(&m.boards_watched));
    if (o.oom) {
        free(o.s);
        return -1;
    }
    *text = o.s;
    *len = o.len;
    return 0;
}
