/*
 * bench_report.c - rank-bench's statistics, the progress line and the
 * final report (a table for people, one JSON object for scripts).
 *
 * Latencies are recorded in nanoseconds and reported in milliseconds in
 * the table and in microseconds in JSON. Only calls that returned OK go
 * into the latency histograms; failed calls are counted by status code, so
 * a fast stream of errors cannot make the percentiles look good.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "bench.h"

static const double pct_points[] = {50.0, 90.0, 99.0, 99.9};
static const char *const pct_names[] = {"p50", "p90", "p99", "p99.9"};
#define NPCT (sizeof(pct_points) / sizeof(pct_points[0]))

/* ---------------------------------------------------------------- stats */

void bench_stats_init(bench_stats *s) {
    for (int op = 0; op < BW_NOPS; op++) {
        hdr_init(&s->lat[op]);
        atomic_init(&s->done[op], 0);
        atomic_init(&s->items[op], 0);
        for (int c = 0; c < BENCH_CODES; c++) atomic_init(&s->codes[op][c], 0);
    }
}

void bench_stats_merge(bench_stats *into, const bench_stats *from) {
    for (int op = 0; op < BW_NOPS; op++) {
        hdr_merge(&into->lat[op], &from->lat[op]);
        atomic_fetch_add(&into->done[op], atomic_load(&from->done[op]));
        atomic_fetch_add(&into->items[op], atomic_load(&from->items[op]));
        for (int c = 0; c < BENCH_CODES; c++) atomic_fetch_add(&into->codes[op][c], atomic_load(&from->codes[op][c]));
    }
}

static uint64_t errors_of(const bench_stats *s, int op) {
    uint64_t bad = 0;
    for (int c = 1; c < BENCH_CODES; c++) bad += atomic_load(&s->codes[op][c]);
    return bad;
}

static double ms(uint64_t ns) { return (double)ns / 1e6; }

/* ---------------------------------------------------------------- progress */

void bench_progress(double t, double interval_rate, uint64_t done, uint64_t errors, const bench_stats *sofar) {
    static hdr all; /* only the reporting thread calls this */
    hdr_init(&all);
    for (int op = 0; op < BW_NOPS; op++) hdr_merge(&all, &sofar->lat[op]);
    if (t <= 0) {
        fprintf(stderr, "rank-bench: warm-up    %8.0f req/s\n", interval_rate);
        return;
    }
    fprintf(stderr,
            "rank-bench: %6.1fs  %8.0f req/s  %10" PRIu64 " done  %6" PRIu64 " errors  p50 %.3f ms  p99 %.3f ms\n", t,
            interval_rate, done, errors, ms(hdr_percentile(&all, 50.0)), ms(hdr_percentile(&all, 99.0)));
}

/* ---------------------------------------------------------------- final report */

static cJSON *latency_json(const hdr *h) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "min", (double)hdr_min(h) / 1e3);
    cJSON_AddNumberToObject(o, "mean", hdr_mean(h) / 1e3);
    for (size_t i = 0; i < NPCT; i++)
        cJSON_AddNumberToObject(o, pct_names[i], (double)hdr_percentile(h, pct_points[i]) / 1e3);
    cJSON_AddNumberToObject(o, "max", (double)hdr_max(h) / 1e3);
    return o;
}

static cJSON *codes_json(const bench_stats *s, int only_op) {
    cJSON *o = cJSON_CreateObject();
    for (int c = 1; c < BENCH_CODES; c++) {
        uint64_t n = 0;
        for (int op = 0; op < BW_NOPS; op++)
            if (only_op < 0 || op == only_op) n += atomic_load(&s->codes[op][c]);
        if (n) cJSON_AddNumberToObject(o, rk_code_name(c), (double)n);
    }
    return o;
}

static void print_json(const bench_cfg *cfg, const bench_stats *s, const hdr *all, double elapsed, uint64_t total,
                       uint64_t errors, uint64_t items, uint64_t all_calls, const bench_server_use *server) {
    char mix[256];
    bw_mix_format(&cfg->mix, mix, sizeof(mix));
    cJSON *root = cJSON_CreateObject();
    cJSON *c = cJSON_AddObjectToObject(root, "config");
    cJSON_AddNumberToObject(c, "threads", cfg->threads);
    cJSON_AddNumberToObject(c, "inflight", cfg->inflight);
    cJSON_AddNumberToObject(c, "concurrency", (double)cfg->threads * cfg->inflight);
    cJSON_AddNumberToObject(c, "duration_s", cfg->requests ? 0 : cfg->duration_s);
    cJSON_AddNumberToObject(c, "requests", (double)cfg->requests);
    cJSON_AddNumberToObject(c, "warmup_s", cfg->warmup_s);
    cJSON_AddNumberToObject(c, "rate", cfg->rate);
    cJSON_AddStringToObject(c, "mix", mix);
    cJSON_AddNumberToObject(c, "batch_size", cfg->batch_size);
    if (cfg->mix.weight[BW_PSUBMIT]) cJSON_AddNumberToObject(c, "token_players", cfg->token_players);
    cJSON_AddNumberToObject(c, "players", (double)cfg->players);
    cJSON_AddNumberToObject(c, "boards", cfg->boards);
    cJSON_AddNumberToObject(c, "zipf", cfg->zipf);
    cJSON_AddBoolToObject(c, "by_id", cfg->ids != NULL);

    cJSON_AddNumberToObject(root, "requests", (double)total);
    cJSON_AddNumberToObject(root, "all_requests", (double)all_calls);
    cJSON_AddNumberToObject(root, "ok", (double)(total - errors));
    cJSON_AddNumberToObject(root, "errors", (double)errors);
    cJSON_AddNumberToObject(root, "error_ratio", total ? (double)errors / (double)total : 0.0);
    cJSON_AddNumberToObject(root, "elapsed_s", elapsed);
    cJSON_AddNumberToObject(root, "throughput", elapsed > 0 ? (double)total / elapsed : 0.0);
    cJSON_AddNumberToObject(root, "scores", (double)items);
    cJSON_AddNumberToObject(root, "scores_per_s", elapsed > 0 ? (double)items / elapsed : 0.0);
    cJSON_AddItemToObject(root, "latency_us", latency_json(all));
    cJSON_AddItemToObject(root, "errors_by_code", codes_json(s, -1));
    if (server->valid) {
        cJSON *sv = cJSON_AddObjectToObject(root, "server");
        cJSON_AddNumberToObject(sv, "pid", (double)cfg->server_pid);
        cJSON_AddNumberToObject(sv, "cpu_s", server->cpu_s);
        cJSON_AddNumberToObject(sv, "ctxt_switches", (double)server->switches);
        cJSON_AddNumberToObject(sv, "cpu_us_per_request", all_calls ? 1e6 * server->cpu_s / (double)all_calls : 0.0);
        cJSON_AddNumberToObject(sv, "switches_per_request",
                                all_calls ? (double)server->switches / (double)all_calls : 0.0);
    }
    cJSON *ops = cJSON_AddObjectToObject(root, "ops");
    for (int op = 0; op < BW_NOPS; op++) {
        uint64_t n = atomic_load(&s->done[op]);
        if (n == 0 && cfg->mix.weight[op] == 0) continue;
        cJSON *o = cJSON_AddObjectToObject(ops, bw_op_name((bw_op)op));
        uint64_t bad = errors_of(s, op);
        cJSON_AddNumberToObject(o, "requests", (double)n);
        cJSON_AddNumberToObject(o, "ok", (double)(n - bad));
        cJSON_AddNumberToObject(o, "errors", (double)bad);
        cJSON_AddNumberToObject(o, "throughput", elapsed > 0 ? (double)n / elapsed : 0.0);
        if (op == BW_SUBMIT || op == BW_PSUBMIT || op == BW_BATCH) {
            uint64_t items_op = atomic_load(&s->items[op]);
            cJSON_AddNumberToObject(o, "scores", (double)items_op);
            cJSON_AddNumberToObject(o, "scores_per_s", elapsed > 0 ? (double)items_op / elapsed : 0.0);
        }
        cJSON_AddItemToObject(o, "latency_us", latency_json(&s->lat[op]));
        cJSON_AddItemToObject(o, "errors_by_code", codes_json(s, op));
    }
    char *text = cJSON_PrintUnformatted(root);
    if (text) printf("%s\n", text);
    free(text);
    cJSON_Delete(root);
}

static void print_row(const char *name, uint64_t n, double elapsed, uint64_t bad, const hdr *h) {
    printf("%-8s %10" PRIu64 " %10.1f %8" PRIu64, name, n, elapsed > 0 ? (double)n / elapsed : 0.0, bad);
    for (size_t i = 0; i < NPCT; i++) printf(" %9.3f", ms(hdr_percentile(h, pct_points[i])));
    printf(" %9.3f\n", ms(hdr_max(h)));
}

static void print_table(const bench_cfg *cfg, const bench_stats *s, const hdr *all, double elapsed, uint64_t total,
                        uint64_t errors, uint64_t items) {
    char mix[256];
    bw_mix_format(&cfg->mix, mix, sizeof(mix));
    printf("rank-bench: %u threads x %u in flight, %s, mix %s\n", cfg->threads, cfg->inflight,
           cfg->rate > 0 ? "open loop" : "closed loop", mix);
    if (cfg->rate > 0) printf("target rate %.0f req/s (latency from the intended send time)\n", cfg->rate);
    printf("%" PRIu64 " players on %u boards, zipf %.2f, batch %u\n\n", cfg->players, cfg->boards, cfg->zipf,
           cfg->batch_size);
    printf("requests   %" PRIu64 " in %.2f s = %.1f req/s", total, elapsed,
           elapsed > 0 ? (double)total / elapsed : 0.0);
    if (items) printf(" (%.1f scores/s)", elapsed > 0 ? (double)items / elapsed : 0.0);
    printf("\nerrors     %" PRIu64 " (%.3f%%)", errors, total ? 100.0 * (double)errors / (double)total : 0.0);
    for (int c = 1; c < BENCH_CODES; c++) {
        uint64_t n = 0;
        for (int op = 0; op < BW_NOPS; op++) n += atomic_load(&s->codes[op][c]);
        if (n) printf("  %s %" PRIu64, rk_code_name(c), n);
    }
    printf("\nlatency    p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms\n\n",
           ms(hdr_percentile(all, 50)), ms(hdr_percentile(all, 90)), ms(hdr_percentile(all, 99)),
           ms(hdr_percentile(all, 99.9)), ms(hdr_max(all)));
    printf("%-8s %10s %10s %8s %9s %9s %9s %9s %9s\n", "op", "requests", "req/s", "errors", "p50 ms", "p90 ms",
           "p99 ms", "p99.9 ms", "max ms");
    for (int op = 0; op < BW_NOPS; op++) {
        uint64_t n = atomic_load(&s->done[op]);
        if (n == 0 && cfg->mix.weight[op] == 0) continue;
        print_row(bw_op_name((bw_op)op), n, elapsed, errors_of(s, op), &s->lat[op]);
    }
    print_row("all", total, elapsed, errors, all);
}

double bench_report(const bench_cfg *cfg, const bench_stats *total, double elapsed_s, uint64_t all_calls,
                    const bench_server_use *server) {
    hdr *all = malloc(sizeof(*all));
    uint64_t n = 0, errors = 0, items = 0;
    if (all == NULL) {
        fprintf(stderr, "rank-bench: out of memory\n");
        return 1.0;
    }
    hdr_init(all);
    for (int op = 0; op < BW_NOPS; op++) {
        hdr_merge(all, &total->lat[op]);
        n += atomic_load(&total->done[op]);
        errors += errors_of(total, op);
        items += atomic_load(&total->items[op]);
    }
    if (cfg->json)
        print_json(cfg, total, all, elapsed_s, n, errors, items, all_calls, server);
    else
        print_table(cfg, total, all, elapsed_s, n, errors, items);
    if (!cfg->json && server->valid && all_calls)
        printf("\nserver pid %ld: %.1f us CPU and %.2f context switches per request (%" PRIu64 " requests)\n",
               cfg->server_pid, 1e6 * server->cpu_s / (double)all_calls, (double)server->switches / (double)all_calls,
               all_calls);
    free(all);
    return n ? (double)errors / (double)n : 1.0;
}
