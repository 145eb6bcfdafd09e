/*
 * rankctl_top.c - `status --watch`: one server's health and load, refreshed
 * like top(1).
 *
 * Design. Each refresh is one Admin/Status call and nothing else, so the
 * view needs no access to /metrics and costs the server one call per
 * interval. Status carries totals since the server started (requests, and
 * the count, sum and histogram of their latencies); the rates and
 * latencies shown are the differences between two answers, divided by the
 * time between them on this machine's monotonic clock. The first refresh
 * has nothing to subtract from, so its rates are absent ("-", or left out
 * of the JSON line). The Status calls themselves are among the requests
 * counted, so the total grows by at least one per refresh.
 *
 * Latency percentiles come from the server's histogram buckets, so they are
 * bounds: "p99 <= 2.5 ms" means 99% of the calls in the interval took at
 * most the 2.5 ms bucket's bound. A percentile beyond the last bound (5 s)
 * is shown as "> 5000 ms" and written as -1 in JSON.
 *
 * It ends after --count refreshes or at SIGINT, both a normal end (exit 0).
 * A refresh whose call fails prints the error and the view goes on, since
 * an operator watching a server wants to see it come back; the exit status
 * is then the last refresh's.
 *
 * What it must never do: sleep through SIGINT for longer than TOP_TICK_MS.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "json_out.h"
#include "rankctl_cmds.h"

#define TOP_TICK_MS 100      /* longest sleep between looks at SIGINT */
#define TOP_MIN_INTERVAL 0.1 /* seconds; faster would mostly measure itself */
#define TOP_MAX_INTERVAL 3600.0
#define TOP_BOUNDS 32 /* latency bounds kept from a reply; the server sends 16 */

/* What one refresh keeps of its reply for the next: the totals. */
typedef struct top_sample {
    int have;
    double at;        /* monotonic seconds when the reply came */
    int64_t requests; /* requests_total */
    int64_t lat_count, lat_sum_us;
    size_t nbounds;
    int64_t le_us[TOP_BOUNDS];
    int64_t le_count[TOP_BOUNDS];
} top_sample;

/* Rates over one interval; has = 0 on the first refresh or when the
 * server restarted in between (its totals went down). */
typedef struct top_rates {
    int has;
    double seconds, per_s;
    int has_latency;                /* some calls were answered in the interval */
    double mean_ms, p50_ms, p99_ms; /* p50/p99: bucket bounds, -1 beyond the last */
} top_rates;

static volatile sig_atomic_t top_interrupted;

static void top_on_sigint(int sig) {
    (void)sig;
    top_interrupted = 1;
}

static double mono_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Sleeps until `until` (monotonic seconds) or SIGINT. */
static void sleep_until(double until) {
    for (;;) {
        if (top_interrupted) return;
        double left = until - mono_now();
        if (left <= 0) return;
        if (left > TOP_TICK_MS / 1000.0) left = TOP_TICK_MS / 1000.0;
        struct timespec ts = {.tv_sec = (time_t)left, .tv_nsec = (long)((left - (double)(time_t)left) * 1e9)};
        nanosleep(&ts, NULL); /* EINTR: looked at above */
    }
}

/* --interval S: seconds, fractions allowed. */
static int parse_interval(ctl_ctx *cx, const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || end == s || *end != '\0' || !(*s >= '0' && *s <= '9') || errno || !isfinite(v))
        return ctl_usage(cx, "--interval: '%s' is not a number of seconds", s);
    if (v < TOP_MIN_INTERVAL || v > TOP_MAX_INTERVAL)
        return ctl_usage(cx, "--interval: %s is out of range (%.1f to %.0f seconds)", s, TOP_MIN_INTERVAL,
                         TOP_MAX_INTERVAL);
    *out = v;
    return RK_OK;
}

static void sample_take(top_sample *s, const Rankd__ServerStatus *r, double at) {
    s->have = 1;
    s->at = at;
    s->requests = r->requests_total;
    s->lat_count = r->latency_count;
    s->lat_sum_us = r->latency_sum_us;
    s->nbounds = r->n_latency_le_us < r->n_latency_le_count ? r->n_latency_le_us : r->n_latency_le_count;
    if (s->nbounds > TOP_BOUNDS) s->nbounds = TOP_BOUNDS;
    for (size_t i = 0; i < s->nbounds; i++) {
        s->le_us[i] = r->latency_le_us[i];
        s->le_count[i] = r->latency_le_count[i];
    }
}

/* The bound of the first bucket that holds the q-th fraction of the
 * interval's calls: differences of the cumulative counts. */
static double percentile_ms(const top_sample *a, const top_sample *b, int64_t n, double q) {
    double want = q * (double)n;
    for (size_t i = 0; i < b->nbounds; i++) {
        if ((double)(b->le_count[i] - a->le_count[i]) >= want) return b->le_us[i] < 0 ? -1 : (double)b->le_us[i] / 1e3;
    }
    return -1;
}

static void rates_between(const top_sample *a, const top_sample *b, top_rates *out) {
    memset(out, 0, sizeof(*out));
    if (!a->have || b->requests < a->requests || b->lat_count < a->lat_count || b->at <= a->at) return;
    out->has = 1;
    out->seconds = b->at - a->at;
    out->per_s = (double)(b->requests - a->requests) / out->seconds;
    int64_t n = b->lat_count - a->lat_count;
    /* The histograms must describe the same buckets to be subtracted. */
    if (n <= 0 || a->nbounds != b->nbounds || memcmp(a->le_us, b->le_us, sizeof(a->le_us[0]) * a->nbounds) != 0) return;
    out->has_latency = 1;
    out->mean_ms = (double)(b->lat_sum_us - a->lat_sum_us) / (double)n / 1e3;
    out->p50_ms = percentile_ms(a, b, n, 0.50);
    out->p99_ms = percentile_ms(a, b, n, 0.99);
}

/* ---------------------------------------------------------------- output */

static const char *show_ms(double ms, char *buf, size_t n) {
    if (ms < 0) return "> 5000 ms";
    snprintf(buf, n, ms < 10 ? "%.2f ms" : "%.0f ms", ms);
    return buf;
}

static void print_human(const Rankd__ServerStatus *s, const top_rates *r, double interval, int tty) {
    char at[40], b1[32], b2[32], b3[32];
    int64_t u = s->uptime_s;
    /* On a terminal the view replaces itself; into a pipe or a file each
     * refresh is a block of its own, separated by a blank line. */
    if (tty)
        fputs("\033[H\033[2J", stdout);
    else
        fputs("\n", stdout);
    ctl_kv("rankd", "%s, up %" PRId64 "d %02d:%02d:%02d, clock %s, every %gs", s->version ? s->version : "?", u / 86400,
           (int)(u % 86400 / 3600), (int)(u % 3600 / 60), (int)(u % 60),
           s->has_now ? ctl_show_time(s->now, at, sizeof(at)) : "-", interval);
    ctl_kv("redis", "%s (%s)", s->redis_ok ? "ok" : "DOWN", s->redis_state ? s->redis_state : "?");
    ctl_kv("postgres", "%s", s->postgres_ok ? "ok" : "DOWN");
    ctl_kv("degraded", "%s", s->degraded ? "YES: answering from PostgreSQL or waiting for Redis" : "no");
    if (r->has)
        ctl_kv("requests", "%.1f/s (%" PRId64 " in all)", r->per_s, s->requests_total);
    else
        ctl_kv("requests", "- (%" PRId64 " in all)", s->requests_total);
    if (r->has_latency)
        ctl_kv("latency", "mean %s, p50 <= %s, p99 <= %s", show_ms(r->mean_ms, b1, sizeof(b1)),
               show_ms(r->p50_ms, b2, sizeof(b2)), show_ms(r->p99_ms, b3, sizeof(b3)));
    else
        ctl_kv("latency", "-");
    if (s->has_writebehind_backlog)
        ctl_kv("write-behind", "%" PRId64 " not yet in PostgreSQL, lag %.3f s", s->writebehind_backlog,
               (double)s->writebehind_lag_ms / 1e3);
    else
        ctl_kv("write-behind", "unknown (Redis does not answer)");
    ctl_kv("redis backlog", "%" PRId64 " not yet applied to Redis", s->redis_backlog);
    ctl_kv("dead letters", "%" PRId64 "%s", s->dead_letters, s->dead_letters ? " (table scores_dead_letter)" : "");
    fflush(stdout);
}

/* The reply's own fields (json_out.h), then the interval's rates. */
static int print_json_line(ctl_ctx *cx, const Rankd__ServerStatus *s, const top_rates *r) {
    cJSON *doc = NULL;
    char *text = NULL;
    int code;
    if ((code = json_out_message(&s->base, &doc, &cx->st)) != RK_OK) return code;
    int ok = 1;
    if (r->has) {
        ok = ok && cJSON_AddNumberToObject(doc, "interval_s", round(r->seconds * 1e3) / 1e3) &&
             cJSON_AddNumberToObject(doc, "requests_per_s", round(r->per_s * 10) / 10);
    }
    if (r->has_latency) {
        ok = ok && cJSON_AddNumberToObject(doc, "latency_mean_ms", round(r->mean_ms * 1e3) / 1e3) &&
             cJSON_AddNumberToObject(doc, "latency_p50_le_ms", r->p50_ms) &&
             cJSON_AddNumberToObject(doc, "latency_p99_le_ms", r->p99_ms);
    }
    if (ok) text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (text == NULL) return rk_status_set(&cx->st, RK_RESOURCE_EXHAUSTED, "out of memory");
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    return RK_OK;
}

/* A refresh that failed: the error in rankctl's usual words, on stderr,
 * and with --json also as the line of this refresh. */
static void print_failure(ctl_ctx *cx, int code) {
    fprintf(stderr, "rankctl: %s: %s\n", rk_code_name(code), cx->st.message);
    if (!cx->json) return;
    cJSON *doc = cJSON_CreateObject();
    char *text = NULL;
    if (doc && cJSON_AddNumberToObject(doc, "code", code) &&
        cJSON_AddStringToObject(doc, "code_name", rk_code_name(code)) &&
        cJSON_AddStringToObject(doc, "message", cx->st.message))
        text = cJSON_PrintUnformatted(doc);
    if (text) printf("%s\n", text);
    fflush(stdout);
    free(text);
    cJSON_Delete(doc);
}

/* ---------------------------------------------------------------- the command */

int ctl_status_watch(ctl_ctx *cx, const ctl_args *a) {
    const char *interval_s = ctl_opt(a, "--interval"), *count_s = ctl_opt(a, "--count");
    double interval = 1.0;
    int64_t count = 0;
    int code = RK_OK;
    if (interval_s && (code = parse_interval(cx, interval_s, &interval)) != RK_OK) return code;
    if (count_s && (code = ctl_parse_i64(cx, "--count", count_s, 1, INT64_MAX, &count)) != RK_OK) return code;

    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = top_on_sigint;
    sigemptyset(&sa.sa_mask);
    top_interrupted = 0;
    int restore = sigaction(SIGINT, &sa, &old) == 0;
    int tty = !cx->json && isatty(STDOUT_FILENO);

    top_sample prev = {0}, cur = {0};
    double next = mono_now();
    for (int64_t done = 0; !top_interrupted && (count == 0 || done < count); done++) {
        if (done > 0) sleep_until(next);
        if (top_interrupted) break;
        next = mono_now() + interval; /* from the start of this refresh: a slow call does not drift the rhythm */
        Rankd__Empty req = RANKD__EMPTY__INIT;
        Rankd__ServerStatus *reply = NULL;
        rk_status_clear(&cx->st);
        code = rk_admin_status(cx->client, &req, &reply, NULL, &cx->st);
        if (code != RK_OK) {
            print_failure(cx, code);
            continue;
        }
        top_rates r;
        sample_take(&cur, reply, mono_now());
        rates_between(&prev, &cur, &r);
        prev = cur;
        if (cx->json)
            code = print_json_line(cx, reply, &r);
        else
            print_human(reply, &r, interval, tty);
        rk_reply_free(reply);
        if (code != RK_OK) break; /* out of memory: nothing more will print */
    }
    if (restore) sigaction(SIGINT, &old, NULL);
    if (code == RK_OK) return RK_OK;
    /* The failure was printed where it happened (and in the JSON line);
     * the driver adds one closing line and exits 1. */
    rk_status_set(&cx->st, code, "the last refresh failed (%s)", rk_code_name(code));
    return CTL_PRINTED_FAILURE;
}
