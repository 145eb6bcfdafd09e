/*
 * clock.c - see clock.h.
 */
#include "clock.h"

int64_t server_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Set once before any thread starts, read-only afterwards. */
static int64_t clock_offset_us;

static int64_t system_wall_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void server_clock_start(int64_t at_s) { clock_offset_us = at_s > 0 ? at_s * 1000000 - system_wall_us() : 0; }

int64_t server_wall_us(void) { return system_wall_us() + clock_offset_us; }

time_t server_time(void) { return (time_t)(server_wall_us() / 1000000); }
