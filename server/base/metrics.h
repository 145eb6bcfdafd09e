/*
 * metrics.h - what rankd counts, for GET /metrics (Prometheus text).
 *
 * One process-wide registry, like the logger: every counter is an atomic,
 * so recording costs a few nanoseconds on any thread and never takes a
 * lock. Latencies go into fixed-bucket histograms (Prometheus "le" buckets
 * from 100 µs to 5 s).
 */
#ifndef RANKD_METRICS_H
#define RANKD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_METHODS 40

/* Names the methods (full names) once at start; index i is method i. */
void metrics_init(const char *const *method_names, size_t n);

/* One finished RPC: method index (-1: unknown method), status, latency. */
void metrics_request(int method, int code, int64_t micros);
/* A call of a method with a fast-lane handler went to the worker pool. */
void metrics_to_workers(int method);
void metrics_redis_call(int64_t micros);
void metrics_pg_call(int64_t micros);

typedef enum metrics_event {
    METRICS_EV_TOP = 0,
    METRICS_EV_RANK,
    METRICS_EV_WINDOW,
    METRICS_EV_COUNTER,
    METRICS_EV_KINDS
} metrics_event;
void metrics_event_published(metrics_event kind);
/* A change folded into a later top-N event instead of getting its own. */
void metrics_event_coalesced(void);
void metrics_subscribers_add(int delta);
/* Boards with a coalescing state in the events thread (events.c bounds it). */
void metrics_set_boards_watched(int64_t n);

/* Gauges set by the health checker. */
void metrics_set_writebehind(int64_t backlog, int64_t lag_ms);
/* Entries the write-behind set aside (scores_dead_letter). */
void metrics_set_dead_letters(int64_t n);
/* Redis's state as the recovery module sees it (recovery.h): a static
 * name, shown as rankd_redis_state{state="<name>"} 1. */
void metrics_set_redis_state(const char *name);

/* Every RPC answered so far, all methods together: how many, the sum of
 * their latencies, and how many took at most each histogram bound
 * (cumulative; le_us of the last is -1, +Inf). For the Status RPC, whose
 * caller takes the difference of two answers. */
#define METRICS_LATENCY_BOUNDS 16
typedef struct metrics_latency {
    int64_t count, sum_us;
    int64_t le_us[METRICS_LATENCY_BOUNDS];
    int64_t le_count[METRICS_LATENCY_BOUNDS];
} metrics_latency;
void metrics_request_latency(metrics_latency *out);

/* Renders everything; *out is malloc'ed (caller frees). 0 or -1. */
int metrics_render(char **out, size_t *len);

#endif
