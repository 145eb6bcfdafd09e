/*
 * boards.h - the in-memory cache of board definitions.
 *
 * Every submission and query needs its board's order, policy, windows and
 * bounds; reading them from PostgreSQL each time would double the cost of
 * a query. The cache is loaded at start and updated by this process's
 * creates and deletes; a board it does not know is looked up in PostgreSQL
 * once (so a board created by another rankd process is found). A board
 * deleted through another process stays cached here until restart; delete
 * boards through one process or restart the others.
 */
#ifndef RANKD_BOARDS_H
#define RANKD_BOARDS_H

#include <stddef.h>

#include <rankd/status.h>

#include "board.h"
#include "store_pg.h"

typedef struct boards_cache boards_cache;

int boards_open(boards_cache **out, rk_status *st);
void boards_close(boards_cache *c);
int boards_load(boards_cache *c, pgstore *pg, rk_status *st);

/* Copies the board into *out; RK_NOT_FOUND when it exists nowhere. With
 * pg NULL only memory is asked: a miss (or a stale board) is RK_WOULD_BLOCK
 * (st untouched). */
#define RK_WOULD_BLOCK (-2)
int boards_get(boards_cache *c, pgstore *pg, const char *id, board *out, rk_status *st);
void boards_put(boards_cache *c, const board *b);
void boards_remove(boards_cache *c, const char *id);
/* The cached board is out of date (Redis said so): lookups with pg read
 * it again, those without answer RK_WOULD_BLOCK until one has. */
void boards_stale(boards_cache *c, const char *id);

/* A malloc'ed snapshot of the boards of `game` ("" or NULL: all), sorted by id. */
int boards_list(boards_cache *c, const char *game, board **out, size_t *n, rk_status *st);

#endif
