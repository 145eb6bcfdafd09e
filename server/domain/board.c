/*
 * board.c - what a board's definition says beyond its fields: the name its
 * Redis keys carry.
 */
#include <stdio.h>

#include "board.h"

void board_tag(const board *b, char *out, size_t cap) {
    if (b->shards > 1)
        snprintf(out, cap, "%s~%d", b->id, b->shard);
    else
        snprintf(out, cap, "%s", b->id);
}
