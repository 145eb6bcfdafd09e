/*
 * counter.h - a counter's definition, as rankd keeps it in memory.
 *
 * A counter is a named total of a game ("matches-played"), with an
 * all-time, a daily, a weekly and a monthly value. Increments are spread
 * over `shards` sub-keys so a hot counter does not make one Redis key (or,
 * on a cluster, one node) the bottleneck; a read sums them.
 */
#ifndef RANKD_COUNTER_H
#define RANKD_COUNTER_H

#include <stdint.h>

#include "board.h"

#define COUNTER_SHARDS_MAX 64
#define COUNTER_STALE_MS_MAX 60000
#define COUNTER_STALE_MS_DEFAULT 1000

typedef struct counter {
    char game[BOARD_ID_MAX + 1];
    char name[BOARD_ID_MAX + 1];
    int shards;         /* 1..COUNTER_SHARDS_MAX */
    int stale_ms;       /* 0..COUNTER_STALE_MS_MAX */
    int64_t created_at; /* Unix seconds */
} counter;

#endif
