/*
 * namecache.h - a bounded, process-local map username -> (id, canonical
 * name).
 *
 * Usernames never change, so an entry never goes stale: a player named by
 * username costs Redis nothing once this process has resolved them. The
 * table has a fixed number of entries chosen at open; when it is full the
 * clock hand evicts an entry not used since its last sweep. Only names that
 * exist are ever put here (a name that is unknown now may sign up a moment
 * later).
 *
 * Every function is memory-only: no I/O, never blocks beyond a short
 * mutex, safe from any thread. The refill path (Redis, then PostgreSQL) is
 * the caller's (users.c).
 */
#ifndef RANKD_NAMECACHE_H
#define RANKD_NAMECACHE_H

#include <stddef.h>
#include <stdint.h>

#include <rankd/status.h>

#define NAMECACHE_NAME_MAX 40 /* bytes of a name, NUL included */

typedef struct namecache namecache;

/* A table of `capacity` entries (at least 1). *out is the caller's, freed
 * with namecache_close. */
int namecache_open(namecache **out, size_t capacity, rk_status *st);
void namecache_close(namecache *c);

/* 1 and *id, canon (NAMECACHE_NAME_MAX bytes; may be NULL) when `name` is
 * cached, else 0. c == NULL: always 0. */
int namecache_get(namecache *c, const char *name, int64_t *id, char *canon);

/* Remembers name -> (id, canon), evicting an entry when the table is full.
 * Names too long to keep are ignored. c == NULL: nothing. */
void namecache_put(namecache *c, const char *name, int64_t id, const char *canon);

/* Entries held now (never more than the capacity). */
size_t namecache_size(namecache *c);

#endif
