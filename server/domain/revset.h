/*
 * revset.h - what voids a login token, held in memory: the ids (jti) of
 * logged-out tokens until they would have expired, and the token
 * generation of every user whose generation is above 0 (a role change
 * raises it; tokens signed under an older one are void).
 *
 * PostgreSQL is the record (revoked_tokens, users.token_gen). Each rankd
 * fills its set from there at start, applies the "x" and "g" lines every
 * rankd publishes on rk:ev (events.c), and re-reads PostgreSQL whenever it
 * may have missed one (docs/ARCHITECTURE.md, "Revocation"). Both halves
 * only grow (a revocation is never undone, a generation never lowered), so
 * a re-read merges into what is here and cannot race with a message.
 *
 * Every function is memory-only: no I/O, safe from any thread, never
 * blocks beyond a short lock.
 */
#ifndef RANKD_REVSET_H
#define RANKD_REVSET_H

#include <stddef.h>
#include <stdint.h>

#include <rankd/status.h>

typedef struct revset revset;

int revset_open(revset **out, rk_status *st);
void revset_close(revset *r);

/* jti (at most 64 bytes) is void until expires_at (Unix seconds).
 * RK_RESOURCE_EXHAUSTED when the set cannot grow. */
int revset_revoke(revset *r, const char *jti, int64_t expires_at, rk_status *st);

/* Raises user_id's generation to gen; a lower or equal gen changes
 * nothing, so messages and re-reads may arrive in any order. */
int revset_raise_gen(revset *r, int64_t user_id, int64_t gen, rk_status *st);

/* The token check: *revoked is 1 when jti was revoked, *gen the user's
 * generation (0 when none was raised). */
void revset_check(revset *r, const char *jti, int64_t user_id, int *revoked, int64_t *gen);

/* Forgets the revocations that expired at or before now (Unix seconds). */
void revset_prune(revset *r, int64_t now);

/* How many revocations and generations are held. */
void revset_counts(revset *r, size_t *revoked, size_t *gens);

#endif
